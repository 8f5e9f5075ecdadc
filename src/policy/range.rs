//! The supported range of the policy's money values and percentages
//! ([`crate::money`]): every amount (`min_overdue`, fees, costs,
//! compensation, limits, discounts' caps and floors, instalments) is below
//! 10^12 and every percentage below 10^4 %, so that nothing `check` accepts
//! can overflow the engine's arithmetic. Whether a value is plausible (a
//! sub-cent fee, an absurd rate) is [`super::validate`]'s business.

use super::raw::{CostValue, MoneyValue, Num, RawCosts, RawPolicy, Sp};
use crate::money::{self, RangeError};
use std::ops::Range;

/// One value outside the supported range: where, and the message.
pub struct OutOfRange {
    pub span: Range<usize>,
    pub message: String,
}

/// What a key holds.
#[derive(Clone, Copy)]
enum Kind {
    Amount,
    Percent,
}

/// Every money value and percentage of `raw` outside the supported range,
/// in file order.
pub fn out_of_range(raw: &RawPolicy) -> Vec<OutOfRange> {
    let mut c = Collect(Vec::new());
    use Kind::{Amount, Percent};
    if let Some(g) = &raw.guardrails {
        c.money(&g.min_overdue, "min_overdue");
    }
    if let Some(i) = &raw.interest {
        c.num(&i.rate_pct, "rate_pct", Percent);
        c.num(&i.reference_rate_pct, "reference_rate_pct", Percent);
        c.num(&i.margin_pct, "margin_pct", Percent);
        c.num(&i.compensation, "compensation", Amount);
    }
    if let Some(costs) = &raw.costs {
        c.costs(costs);
    }
    if let Some(t) = &raw.amounts {
        for (name, x) in &t.value {
            c.money(&Some(x.clone()), name);
        }
    }
    for ladder in &raw.ladder {
        for s in &ladder.step {
            c.money(&s.min_overdue, "min_overdue");
            c.money(&s.fee, "fee");
            c.num(&s.fee_pct, "fee_pct", Percent);
        }
    }
    for i in &raw.incentive {
        c.num(&i.discount_pct, "discount_pct", Percent);
        c.money(&i.max_discount, "max_discount");
        c.money(&i.min_invoice_amount, "min_invoice_amount");
    }
    for p in &raw.payment_plan {
        c.money(&p.min_instalment, "min_instalment");
    }
    for l in &raw.limit {
        c.num(&l.by_pct, "by_pct", Percent);
        for (v, key) in [(&l.by_amount, "by_amount"), (&l.to, "to"), (&l.floor, "floor"), (&l.cap, "cap")] {
            c.money(v, key);
        }
        c.num(&l.round_to, "round_to", Amount);
    }
    c.0.sort_by_key(|o| o.span.start);
    c.0
}

struct Collect(Vec<OutOfRange>);

impl Collect {
    fn check(&mut self, span: &Range<usize>, key: &str, value: rust_decimal::Decimal, kind: Kind) {
        let r = match kind {
            Kind::Amount => money::check_amount(value),
            Kind::Percent => money::check_percent(value),
        };
        if let Err(e) = r {
            let what = match e {
                RangeError::Percent => "percentages must be below 10,000",
                _ => "amounts must be below 1,000,000,000,000 (the largest is 999999999999.99)",
            };
            self.0.push(OutOfRange { span: span.clone(), message: format!("`{key}` is `{value}`: {what}") });
        }
    }

    /// A policy amount: one value, or each currency's.
    fn money(&mut self, v: &Option<Sp<MoneyValue>>, key: &str) {
        match v.as_ref().map(|v| (&v.span, &v.value)) {
            Some((span, MoneyValue::One(d))) => self.check(span, key, *d, Kind::Amount),
            Some((span, MoneyValue::PerCurrency(by))) => {
                for (code, d) in by {
                    self.check(span, &format!("{key}.{code}"), *d, Kind::Amount);
                }
            }
            None => {}
        }
    }

    fn num(&mut self, v: &Option<Sp<Num>>, key: &str, kind: Kind) {
        if let Some(v) = v {
            self.check(&v.span, key, v.value.0, kind);
        }
    }

    fn costs(&mut self, costs: &RawCosts) {
        for (key, v) in &costs.by_kind {
            let key = key.value.as_str();
            let span = &v.span;
            match &v.value {
                CostValue::Amount(a) => self.check(span, key, *a, Kind::Amount),
                CostValue::Percent(p) => self.check(span, key, *p, Kind::Percent),
                CostValue::PerCurrency(by) => {
                    for (code, d) in by {
                        self.check(span, &format!("{key}.{code}"), *d, Kind::Amount);
                    }
                }
            }
        }
    }
}
