//! A customer's action history as the engine reads it: the executed rows of
//! actions.csv up to the as-of date, and which of them cover which invoice.
//! Pending, failed and cancelled rows were never done, so they are ignored.

use crate::facts::{InvoiceFacts, Messages, PerInvoiceRules};
use crate::ledger::{Act, ActionKind, ActionRecord, CustIx, Ledger};
use crate::policy::CompiledPolicy;
use crate::policy::compile::{NO_RULE, RuleIds};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The executed actions of one customer, each with the number of its rule
/// ([`RuleIds`]): matched to the policy's rules once, compared by number.
/// Read from the ledger's compact rows ([`crate::ledger::acts`]).
pub struct History<'a> {
    ledger: &'a Ledger,
    acts: &'a [Act],
    as_of: NaiveDate,
    per_invoice: &'a PerInvoiceRules,
    done: Vec<Done<'a>>,
}

/// One executed action record.
#[derive(Clone, Copy)]
pub struct Done<'a> {
    /// Its compact row (the full row: [`History::record`]).
    pub act: &'a Act,
    /// When it was executed.
    pub on: NaiveDate,
    /// The number of its rule id ([`NO_RULE`](crate::policy::compile::NO_RULE) for an id the policy does not have).
    pub rule: u32,
}

impl<'a> History<'a> {
    /// The history of customer `c` as of `as_of`, its rule ids numbered as
    /// `ids` numbers them; the rows of `per_invoice` rules are one message
    /// per invoice.
    pub fn new(
        ledger: &'a Ledger,
        c: CustIx,
        as_of: NaiveDate,
        per_invoice: &'a PerInvoiceRules,
        ids: &RuleIds,
    ) -> Self {
        let acts = if (c as usize) < ledger.customers.len() { ledger.acts.rows(c) } else { &[] };
        let mut done = Vec::with_capacity(acts.len());
        for a in acts {
            #[cfg(debug_assertions)]
            check(ledger, a);
            let Some(d) = a.executed_on else { continue };
            if a.was_executed() && d <= as_of && a.decided_on <= as_of {
                let rule = ids.number_act(a, &ledger.actions);
                #[cfg(debug_assertions)]
                if let Some(r) = a.record(&ledger.actions) {
                    assert_eq!(rule, ids.code(&r.rule_id), "rule `{}` numbered by its symbol", r.rule_id);
                }
                done.push(Done { act: a, on: d, rule });
            }
        }
        History { ledger, acts, as_of, per_invoice, done }
    }

    /// The full row of `d`.
    pub fn record(&self, d: &Done<'_>) -> Option<&'a ActionRecord> {
        d.act.record(&self.ledger.actions)
    }

    /// Executed records, in the order of actions.csv.
    pub fn executed(&self) -> &[Done<'a>] {
        &self.done
    }

    /// Messages executed in the `days` days up to the as-of date whose action
    /// `kind` accepts: a message recorded as one row per invoice counts once
    /// (a per-invoice rule's rows once per invoice:
    /// [`crate::facts::same_message`]), as the contact facts count them.
    pub fn messages_within(&self, days: i64, kind: impl Fn(ActionKind) -> bool) -> u32 {
        let as_of = self.as_of;
        let since = as_of - chrono::Duration::days(days);
        let keep =
            |a: &Act| kind(a.action) && a.decided_on <= as_of && a.executed_on.is_some_and(|d| d > since && d <= as_of);
        let mut messages = Messages::new(&self.ledger.actions, self.acts, as_of, self.per_invoice);
        let mut n = 0;
        for (pos, a) in self.acts.iter().enumerate() {
            if a.was_executed() && keep(a) && messages.is_first(pos, keep) {
                n += 1;
            }
        }
        n
    }

    /// Does record `a` cover invoice `inv`? A record for no invoice covers
    /// every invoice issued by the day it was decided.
    pub fn covers(a: &Act, inv: &InvoiceFacts<'_>) -> bool {
        match a.invoice() {
            Some(i) => i == inv.ix,
            None => a.decided_on >= inv.invoice.issue_date,
        }
    }

    /// When the rule numbered `rule` was last executed (any invoice).
    pub fn last_of_rule(&self, rule: u32) -> Option<NaiveDate> {
        self.done.iter().filter(|d| d.rule == rule).map(|d| d.on).max()
    }

    /// When an action of `kind` was last executed (any rule).
    pub fn last_of_kind(&self, kind: ActionKind) -> Option<NaiveDate> {
        self.done.iter().filter(|d| d.act.action == kind).map(|d| d.on).max()
    }

    /// Has the rule numbered `rule` been executed for invoice `inv`?
    pub fn done_for(&self, rule: u32, inv: &InvoiceFacts<'_>) -> bool {
        self.done.iter().any(|d| d.rule == rule && Self::covers(d.act, inv))
    }
}

/// The executed rows (as of `as_of`) of the customers `only` keeps (all for `None`) whose rule id
/// `policy` does not have, counted by id: their meaning as steps done is lost (a renamed step
/// starts again; a `replaces` on the new rule keeps it). Rows are still read by action kind
/// (contacts, holds, referrals); credit reviews are matched by kind when the policy has reviews,
/// so those rows are not counted.
pub fn unknown_rule_ids(
    ledger: &Ledger,
    policy: &CompiledPolicy,
    as_of: NaiveDate,
    only: Option<&[bool]>,
) -> BTreeMap<String, u64> {
    let reviews_by_kind = !policy.rules.reviews.is_empty();
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    // The compact rows (grouped by customer) when they cover every row, as
    // after a load: a sixth of the memory of the full rows to read.
    let acts = &ledger.acts;
    if acts.groups() == ledger.customers.len()
        && (0..acts.groups()).map(|c| acts.rows(c as u32).len()).sum::<usize>() == ledger.actions.len()
    {
        for c in 0..acts.groups() {
            if only.is_some_and(|m| !m.get(c).copied().unwrap_or(false)) {
                continue;
            }
            for a in acts.rows(c as u32) {
                if !a.was_executed()
                    || a.executed_on.is_none_or(|d| d > as_of)
                    || a.decided_on > as_of
                    || (reviews_by_kind && a.action == ActionKind::CreditReview)
                    || policy.ids.number_act(a, &ledger.actions) != NO_RULE
                {
                    continue;
                }
                if let Some(r) = a.record(&ledger.actions) {
                    *out.entry(r.rule_id.to_string()).or_default() += 1;
                }
            }
        }
        return out;
    }
    for r in &ledger.actions {
        if only.is_some_and(|m| !m.get(r.customer as usize).copied().unwrap_or(false))
            || !r.was_executed()
            || r.executed_on.is_none_or(|d| d > as_of)
            || r.decided_on > as_of
            || (reviews_by_kind && r.action == ActionKind::CreditReview)
            || policy.ids.number(&r.rule_id) != NO_RULE
        {
            continue;
        }
        *out.entry(r.rule_id.to_string()).or_default() += 1;
    }
    out
}

/// Panic unless `a` is the compact copy of its row (test builds: the ledger's
/// compact rows kept in step with its rows), and its symbol numbers its rule.
#[cfg(debug_assertions)]
fn check(ledger: &Ledger, a: &Act) {
    let row = a.record(&ledger.actions);
    assert_eq!(row.map(|r| Act::of(a.row, r)), Some(*a), "action row {} and its compact copy", a.row);
}
