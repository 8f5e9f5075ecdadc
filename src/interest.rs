//! Statutory late-payment interest as the law computes it (`[interest]
//! reference_rates`): day by day on the balance actually outstanding (a part
//! payment after the due date reduces it from its date), at the reference
//! rate of the policy's dated table fixed per half-year plus the margin, and
//! the fixed compensation sized on the debt as it fell due. Every sum is
//! exact (`Decimal`) and rounded to cents once, at the end, half away from
//! zero (docs/policy.md, "Statutory interest").

use crate::policy::compile::Regime;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

/// The reference rates of a statutory regime: `(from, rate in percent)`, in
/// date order, each in force from its date until the next one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateTable {
    pub rates: Vec<(NaiveDate, Decimal)>,
    /// Points over the reference rate (8 by default).
    pub margin_pct: Decimal,
}

/// One late debt: an invoice's balance today and the payments made to it
/// after its due date.
#[derive(Debug, Clone)]
pub struct Debt {
    /// The due date; interest runs from the day after.
    pub due: NaiveDate,
    /// The as-of date: the last day counted.
    pub as_of: NaiveDate,
    /// What is owed on it today.
    pub open: Decimal,
    /// Payments to it dated after the due date and up to the as-of date.
    pub paid: Vec<(NaiveDate, Decimal)>,
}

impl Debt {
    /// The balance outstanding on `day`: today's balance plus every payment
    /// made after `day` (a payment counts from its own date).
    pub fn balance_on(&self, day: NaiveDate) -> Decimal {
        self.open + self.paid.iter().filter(|(d, _)| *d > day).map(|(_, a)| *a).sum::<Decimal>()
    }

    /// The debt as it fell due: the balance on the due date.
    pub fn at_due(&self) -> Decimal {
        self.balance_on(self.due)
    }
}

/// The first day of the half-year of `d` (1 January or 1 July).
fn half_start(d: NaiveDate) -> NaiveDate {
    let m = if d.month() <= 6 { 1 } else { 7 };
    NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d)
}

/// The first day of the next half-year after `d`'s.
fn next_half(d: NaiveDate) -> NaiveDate {
    let s = half_start(d);
    let next = if s.month() == 1 {
        NaiveDate::from_ymd_opt(s.year(), 7, 1)
    } else {
        NaiveDate::from_ymd_opt(s.year() + 1, 1, 1)
    };
    next.unwrap_or(NaiveDate::MAX)
}

impl RateTable {
    /// The reference rate in force on `d` (the table's first rate for a
    /// date before it).
    pub fn in_force(&self, d: NaiveDate) -> Decimal {
        let at = self.rates.partition_point(|(from, _)| *from <= d);
        self.rates.get(at.saturating_sub(1)).map_or(Decimal::ZERO, |x| x.1)
    }

    /// The reference rate `regime` applies to interest running on `day` of
    /// a debt whose interest starts running on `start`:
    /// - 2011/7/EU (art. 2(7)): the rate in force on the first day of the
    ///   half-year `day` is in (1 January / 1 July), changing each half-year;
    /// - UK Late Payment Act (SI 2002/1675, art. 4): the rate in force on
    ///   31 December (interest starting in January to June) or 30 June (July
    ///   to December) before `start`, fixed for the whole debt.
    pub fn reference(&self, regime: Regime, start: NaiveDate, day: NaiveDate) -> Decimal {
        match regime {
            Regime::UkLatePayment => self.in_force(half_start(start).pred_opt().unwrap_or(start)),
            Regime::Eu2011_7 | Regime::Simple => self.in_force(half_start(day)),
        }
    }

    /// The interest on `debt`, day by day from the day after the due date to
    /// the as-of date inclusive: Σ balance × (reference + margin) / 100 /
    /// `days_in_year`, summed exactly and rounded to cents once.
    pub fn accrued(&self, regime: Regime, days_in_year: u32, debt: &Debt) -> Decimal {
        let Some(start) = debt.due.succ_opt() else { return Decimal::ZERO };
        if debt.as_of < start || days_in_year == 0 {
            return Decimal::ZERO;
        }
        // Periods of one balance and one rate: cut at each payment date and
        // each half-year start.
        let mut cuts: Vec<NaiveDate> = debt.paid.iter().map(|(d, _)| *d).filter(|d| *d > start).collect();
        let mut h = next_half(start);
        while h <= debt.as_of {
            cuts.push(h);
            h = next_half(h);
        }
        cuts.push(debt.as_of.succ_opt().unwrap_or(NaiveDate::MAX));
        cuts.sort_unstable();
        cuts.dedup();
        let mut sum = Decimal::ZERO;
        let mut from = start;
        for to in cuts.into_iter().filter(|c| *c > start) {
            let days = Decimal::from((to - from).num_days());
            let rate = self.reference(regime, start, from) + self.margin_pct;
            sum += debt.balance_on(from) * rate * days;
            from = to;
        }
        crate::policy::compile::money(sum / Decimal::ONE_HUNDRED / Decimal::from(days_in_year))
    }
}

/// The fixed compensation the law gives for one late debt of `debt`:
/// UK 40 / 70 / 100 GBP (under 1,000 / under 10,000 / from 10,000), EU 40 EUR,
/// none under a contractual (`simple`) regime.
pub fn compensation(regime: Regime, debt: Decimal) -> Decimal {
    match regime {
        Regime::Simple => Decimal::ZERO,
        Regime::Eu2011_7 => Decimal::from(40),
        Regime::UkLatePayment if debt < Decimal::from(1000) => Decimal::from(40),
        Regime::UkLatePayment if debt < Decimal::from(10000) => Decimal::from(70),
        Regime::UkLatePayment => Decimal::from(100),
    }
}

/// Simple yearly interest at `rate_pct` on `open` for `days` late (a
/// ladder step's own `interest_rate_pct`, as ERPNext's dunning types):
/// open × rate / 100 / days_in_year × days, in cents.
pub fn simple(open: Decimal, rate_pct: Decimal, days_in_year: u32, days: i32) -> Decimal {
    if days <= 0 || days_in_year == 0 {
        return Decimal::ZERO;
    }
    crate::policy::compile::money(
        open * rate_pct * Decimal::from(days) / Decimal::ONE_HUNDRED / Decimal::from(days_in_year),
    )
}

#[cfg(test)]
mod tests;
