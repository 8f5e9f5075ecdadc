//! What a ladder step charges on one invoice besides its fee: the fixed
//! compensation (once per invoice) and late-payment interest, under the
//! policy's `[interest]` (today's balance at one rate, or as the law computes
//! it with `reference_rates`: `crate::interest`) or at the step's own
//! `interest_rate_pct`.

use super::{Eval, PlannedAction};
use crate::facts::InvoiceFacts;
use crate::interest::{Debt, compensation, simple};
use crate::policy::compile::Step;
use rust_decimal::Decimal;

impl Eval<'_, '_> {
    /// Add `step`'s compensation and interest on `inv` (owing `open`) to `a`;
    /// `claimed`: the compensation was already claimed on it.
    pub(super) fn charges(
        &self,
        step: &Step,
        inv: &InvoiceFacts<'_>,
        open: Decimal,
        claimed: bool,
        a: &mut PlannedAction,
    ) {
        let dpd = inv.days_past_due;
        if let Some(rate) = &self.r.interest {
            let debt = rate.exact.as_ref().filter(|_| step.interest || step.compensation).map(|_| self.debt(inv, open));
            if step.compensation && !claimed && dpd > 0 {
                a.compensation += match &debt {
                    Some(d) if rate.compensation.is_none() => compensation(rate.regime, d.at_due()),
                    _ => rate.compensation(open),
                };
            }
            if step.interest && step.interest_rate_pct.is_none() {
                a.interest += match (&rate.exact, &debt) {
                    (Some(t), Some(d)) => t.accrued(rate.regime, rate.days_in_year, d),
                    _ => rate.accrued(open, dpd),
                };
            }
        }
        if let Some(pct) = step.interest_rate_pct {
            let days_in_year = self.r.interest.as_ref().map_or(365, |i| i.days_in_year);
            a.interest += simple(open, pct, days_in_year, dpd);
        }
    }

    /// `inv` as a late debt: owing `open` today, and the payments made to
    /// it after its due date up to the as-of date.
    fn debt(&self, inv: &InvoiceFacts<'_>, open: Decimal) -> Debt {
        let due = inv.invoice.due_date;
        let as_of = self.cal.date;
        let paid = self
            .ledger
            .payments_by_invoice
            .rows(inv.ix)
            .iter()
            .map(|&p| &self.ledger.payments[p as usize])
            .filter(|p| p.paid_on > due && p.paid_on <= as_of)
            .map(|p| (p.paid_on, p.amount))
            .collect();
        Debt { due, as_of, open, paid }
    }
}
