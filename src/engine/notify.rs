//! `[notify]`: the customer's sales representative told, in one message per
//! customer and run, of the actions of the kinds the policy lists (holds,
//! limit changes, referrals...) — a `notify` action after every other.

use super::{Eval, FactRead, Outcome, PlannedAction, RuleKind, RuleTrace};
use crate::ledger::{ActionKind, Channel};
use std::borrow::Cow;

impl Eval<'_, '_> {
    /// Plan the `notify` action of this customer's representative when an
    /// action of this evaluation is of a kind `[notify] sales_rep` lists. A
    /// policy without `[notify]` returns at once (no allocation, no look-up).
    pub(super) fn notify(&mut self) {
        let n = &self.r.notify;
        if n.sales_rep.is_empty() {
            return;
        }
        let told: Vec<usize> = (0..self.actions.len()).filter(|&i| n.tells(self.actions[i].action)).collect();
        if told.is_empty() {
            self.note(|| RuleTrace {
                kind: RuleKind::Notify,
                rule_id: n.id.clone(),
                outcome: Outcome::NotFired,
                detail: "no action of a kind the sales rep is told of".into(),
                guardrail: None,
                inputs: Vec::new(),
            });
            return;
        }
        let Some(rep) = self.cf.customer.sales_rep.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
            self.note(|| RuleTrace {
                kind: RuleKind::Notify,
                rule_id: n.id.clone(),
                outcome: Outcome::Skipped,
                detail: "the customer has no sales_rep: no one to tell".into(),
                guardrail: None,
                inputs: Vec::new(),
            });
            return;
        };
        let mut a = PlannedAction::new(self.cf, ActionKind::Notify, &n.id, RuleKind::Notify);
        a.channel = Some(Channel::Email);
        a.owner = Some(rep.to_string());
        a.strategy = self.strategy.map(|s| s.id.clone());
        a.arm = self.arm;
        a.priority = self.priority;
        for &i in &told {
            for id in &self.actions[i].invoice_ids {
                if !a.invoice_ids.contains(id) {
                    a.invoice_ids.push(id.clone());
                }
            }
        }
        let address = n.address_of(rep);
        if address.is_none() {
            a.undeliverable = Some(format!("sales rep `{rep}` has no e-mail address ([sales_reps] in the policy)"));
        }
        if self.words() {
            let what: Vec<String> = told
                .iter()
                .map(|&i| format!("{} (rule `{}`)", self.actions[i].action, self.actions[i].rule_id))
                .collect();
            a.reason = format!("tell sales rep {rep}: {}", what.join(", "));
            if let Some(why) = &a.undeliverable {
                a.reason.push_str("; undeliverable: ");
                a.reason.push_str(why);
            }
            // The fact it read; the actions told of are in the reason (facts are facts only).
            a.facts.push(FactRead { name: Cow::Borrowed("customer.sales_rep"), value: rep.to_string() });
        }
        if self.tracing() {
            let detail = format!("{}; to {}", a.reason, address.unwrap_or("no address"));
            let inputs = a.facts.clone();
            self.note(|| RuleTrace {
                kind: RuleKind::Notify,
                rule_id: n.id.clone(),
                outcome: Outcome::Fired,
                detail,
                guardrail: None,
                inputs,
            });
        }
        self.actions.push(a);
    }
}
