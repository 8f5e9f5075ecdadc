//! Offers to the customer: early-payment incentives and payment plans. At
//! most one of each per customer per run (by priority, then file order);
//! none to a customer referred to an agency or lawyer, or while a referral is
//! planned this run.

use super::words::{count, money};
use super::{Eval, EvalError, FactRead, Outcome, PlannedAction, RuleKind, RuleTrace};
use crate::facts::InvoiceFacts;
use crate::facts::registry::Scope;
use crate::ledger::ActionKind;
use crate::policy::compile::{Incentive, InvoiceSet, NO_RULE, money as cents};
use rust_decimal::Decimal;

/// The trace line of offer rule `id` of `kind`: its outcome, why, and the facts it read.
fn rule_trace(kind: RuleKind, id: &str) -> impl Fn(Outcome, String, Vec<FactRead>) -> RuleTrace + '_ {
    move |outcome, detail, inputs| RuleTrace { kind, rule_id: id.to_string(), outcome, detail, guardrail: None, inputs }
}

impl<'a> Eval<'a, '_> {
    fn referral_planned(&self) -> bool {
        self.actions.iter().any(|a| a.action.is_referral())
    }

    fn in_set(set: InvoiceSet, inv: &InvoiceFacts<'_>) -> bool {
        match set {
            InvoiceSet::Current => inv.days_past_due <= 0,
            InvoiceSet::Overdue => inv.days_past_due > 0,
            InvoiceSet::Open => true,
        }
    }

    /// The invoices incentive `x` covers, or why none.
    fn incentive_invoices(
        &self,
        x: &Incentive,
        code: u32,
    ) -> Result<Result<Vec<&'a InvoiceFacts<'a>>, String>, EvalError> {
        let per_invoice = x.when.as_ref().is_some_and(|w| w.reads.uses(Scope::Invoice));
        if !per_invoice && !self.cond(&x.when, None, RuleKind::Incentive, &x.id)? {
            let src = x.when.as_ref().map_or("", |w| w.src.as_str());
            return Ok(Err(self.why(|| format!("`{src}` is false"))));
        }
        let mut out = Vec::new();
        for inv in self.inv {
            if !Self::in_set(x.invoices, inv) || inv.disputed {
                continue;
            }
            if x.min_invoice_amount
                .as_ref()
                .and_then(|m| m.get(&self.cf.customer.currency))
                .is_some_and(|m| inv.invoice.open_amount < m)
            {
                continue;
            }
            if self.hist.done_for(code, inv) {
                continue;
            }
            if per_invoice && !self.cond(&x.when, Some(inv), RuleKind::Incentive, &x.id)? {
                continue;
            }
            out.push(inv);
        }
        if out.is_empty() {
            return Ok(Err(self.why(|| "no invoice qualifies (set, amount, disputes, offered before)".into())));
        }
        Ok(Ok(out))
    }

    pub(super) fn incentives(&mut self) -> Result<(), EvalError> {
        let mut winner: Option<String> = None;
        for (j, x) in self.r.incentives.iter().enumerate() {
            let code = self.p.ids.incentives.get(j).copied().unwrap_or(NO_RULE);
            let trace = rule_trace(RuleKind::Incentive, &x.id);
            let mut inputs = Vec::new();
            if self.tracing() {
                self.reads(&x.when, self.inv.first(), &mut inputs);
                self.amount_reads(&x.when, &mut inputs);
            }
            if !x.quarters.is_empty() && !x.quarters.contains(&self.cal.quarter) {
                let detail = self.why(|| {
                    let q: Vec<String> = x.quarters.iter().map(|q| format!("Q{q}")).collect();
                    format!("offered in {} only; the as-of date is in Q{}", q.join(", "), self.cal.quarter)
                });
                self.note(|| trace(Outcome::NotFired, detail, inputs));
                continue;
            }
            if self.cf.referred || self.referral_planned() {
                self.note(|| trace(Outcome::NotFired, "no offers to a referred account".into(), inputs));
                continue;
            }
            let invoices = match self.incentive_invoices(x, code)? {
                Ok(v) => v,
                Err(why) => {
                    self.note(|| trace(Outcome::NotFired, why, inputs));
                    continue;
                }
            };
            if let Some(w) = &winner {
                self.note(|| trace(Outcome::Overridden, format!("`{w}` is offered this run"), inputs));
                continue;
            }
            let mut a = PlannedAction::new(self.cf, ActionKind::DiscountOffer, &x.id, RuleKind::Incentive);
            a.channel = Some(x.channel);
            a.template = x.template.clone();
            a.discount_pct = Some(x.discount_pct);
            let mut discount = Decimal::ZERO;
            for inv in &invoices {
                a.invoice_ids.push(inv.invoice.id.to_string());
                a.amount_due += inv.invoice.open_amount;
                discount += cents(inv.invoice.open_amount * x.discount_pct / Decimal::ONE_HUNDRED);
            }
            if let Some(cap) = x.max_discount.as_ref().and_then(|m| m.get(&self.cf.customer.currency)) {
                discount = discount.min(cap);
            }
            a.discount = discount;
            a.discount_cost = discount;
            let pay_by = self.cal.date + chrono::Duration::days(i64::from(x.pay_within_days));
            a.pay_by = Some(pay_by);
            if self.words() {
                a.reason = format!(
                    "{}% off {} ({}) if paid by {pay_by}, up to {}: incentive {}",
                    x.discount_pct.normalize(),
                    count(invoices.len(), "invoice"),
                    money(a.amount_due),
                    money(discount),
                    x.id
                );
                let k = super::known();
                let mut facts = self.fact_reads(&[k.on_time_ratio, k.avg_days_late]);
                self.reads(&x.when, invoices.first().copied(), &mut facts);
                a.facts = facts;
            }
            self.deliver(&mut a, &x.fallback);
            if self.offer(a, |a| trace(Outcome::Fired, a.reason.clone(), inputs)) {
                winner = Some(x.id.clone());
            }
        }
        Ok(())
    }

    pub(super) fn plans(&mut self) -> Result<(), EvalError> {
        let mut winner: Option<String> = None;
        let overdue: Decimal = self
            .inv
            .iter()
            .filter(|i| i.days_past_due > 0 && !(self.r.guardrails.skip_disputed && i.disputed))
            .map(|i| i.invoice.open_amount)
            .sum();
        for (j, p) in self.r.plans.iter().enumerate() {
            let code = self.p.ids.plans.get(j).copied().unwrap_or(NO_RULE);
            let trace = rule_trace(RuleKind::PaymentPlan, &p.id);
            let mut inputs = Vec::new();
            if self.tracing() {
                self.reads(&p.when, None, &mut inputs);
                self.amount_reads(&p.when, &mut inputs);
            }
            if self.cf.referred || self.referral_planned() {
                self.note(|| trace(Outcome::NotFired, "no offers to a referred account".into(), inputs));
                continue;
            }
            if self.cf.plan_active || self.pause == Some(super::ladder::Pause::Plan) {
                self.note(|| trace(Outcome::NotFired, "a payment plan is already running".into(), inputs));
                continue;
            }
            if !self.cond(&p.when, None, RuleKind::PaymentPlan, &p.id)? {
                let src = p.when.as_ref().map_or("", |w| w.src.as_str());
                self.note(|| trace(Outcome::NotFired, format!("`{src}` is false"), inputs));
                continue;
            }
            if let Some(last) = self.hist.last_of_rule(code)
                && (self.cal.date - last).num_days() < i64::from(p.reoffer_after_days)
            {
                let detail = self
                    .why(|| format!("offered on {last}; again after {}", count(p.reoffer_after_days as usize, "day")));
                self.note(|| trace(Outcome::NotFired, detail, inputs));
                continue;
            }
            let mut n = p.instalments;
            if let Some(min) =
                p.min_instalment.as_ref().and_then(|m| m.get(&self.cf.customer.currency)).filter(|m| *m > Decimal::ZERO)
            {
                use rust_decimal::prelude::ToPrimitive;
                let fit = (overdue / min).floor().to_u32().unwrap_or(u32::MAX);
                n = n.min(fit);
            }
            if n < 2 {
                let detail = self.why(|| format!("{} overdue is too little for instalments", money(overdue)));
                self.note(|| trace(Outcome::NotFired, detail, inputs));
                continue;
            }
            if let Some(w) = &winner {
                self.note(|| trace(Outcome::Overridden, format!("`{w}` is offered this run"), inputs));
                continue;
            }
            let mut a = PlannedAction::new(self.cf, ActionKind::PaymentPlanOffer, &p.id, RuleKind::PaymentPlan);
            a.channel = Some(p.channel);
            a.template = p.template.clone();
            for inv in
                self.inv.iter().filter(|i| i.days_past_due > 0 && !(self.r.guardrails.skip_disputed && i.disputed))
            {
                a.invoice_ids.push(inv.invoice.id.to_string());
            }
            a.amount_due = overdue;
            a.instalments = Some(n);
            let each = cents(overdue / Decimal::from(n));
            a.instalment_amount = Some(each);
            if self.words() {
                a.reason = format!(
                    "{} overdue, {n} instalments of {} every {}: plan {}",
                    money(overdue),
                    money(each),
                    count(p.interval_days as usize, "day"),
                    p.id
                );
                let k = super::known();
                let mut facts = self.fact_reads(&[k.overdue_total, k.max_days_past_due, k.promises_broken]);
                self.reads(&p.when, None, &mut facts);
                a.facts = facts;
            }
            self.deliver(&mut a, &p.fallback);
            if self.offer(a, |a| trace(Outcome::Fired, a.reason.clone(), inputs)) {
                winner = Some(p.id.clone());
            }
        }
        Ok(())
    }
}
