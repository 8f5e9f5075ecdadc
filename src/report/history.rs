//! What the run report reads from the ledger itself (summary.json cannot
//! hold it): the portfolio KPIs at each of the last 12 month ends, the
//! simple 13-week receipts forecast, the largest overdue balances and the
//! risk lists.
//!
//! Nothing here has a formula of its own: a past month end is the ledger
//! cut back to that date ([`crate::simulate::backtest::truncate`]) put
//! through [`kpi::by_currency`], exactly as `recoup facts --as-of` does with
//! a ledger exported that day; the forecast and the lists read the customer
//! facts ([`crate::facts::map_customers`]) of the run's as-of date.

use crate::facts::kpi::{self, Portfolio};
use crate::facts::{Context, FactsConfig, map_customers, months_before, settled_on};
use crate::ledger::{InvoiceStatus, Ledger};
use crate::simulate::backtest::truncate;
use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Month ends in the trend.
pub const MONTHS: u32 = 12;
/// Weeks of the receipts forecast.
pub const WEEKS: i64 = 13;
/// Largest overdue balances listed (per currency).
pub const TOP_DEBTORS: usize = 20;
/// An invoice written off today counts as written off at a past month end
/// when it was this many days past due then (the ledger keeps no write-off
/// date; the simulation's roll rates assume the same).
pub const WRITE_OFF_AFTER_DAYS: i64 = 180;

/// The last `n` month ends before `as_of`, oldest first (for 2026-11-16:
/// 2025-11-30 … 2026-10-31).
pub fn month_ends(as_of: NaiveDate, n: u32) -> Vec<NaiveDate> {
    let first_of_month = as_of.with_day(1).unwrap_or(as_of);
    let mut out: Vec<NaiveDate> = (0..n).map(|k| months_before(first_of_month, k) - Duration::days(1)).collect();
    out.reverse();
    out
}

/// The portfolio KPIs at one past month end, per currency.
#[derive(Debug, Clone, Serialize)]
pub struct MonthEnd {
    pub date: NaiveDate,
    pub kpis: BTreeMap<String, Portfolio>,
}

/// The KPIs at each of the last [`MONTHS`] month ends before `as_of`, oldest
/// first: the ledger as it stood on each date (invoices issued by then,
/// payments, promises and actions dated by then, open amounts rebuilt from
/// the payments) through the same KPI code as `recoup run` and `recoup facts`.
///
/// A month end whose DSO period (or CEI period) starts before the ledger's
/// first invoice has no DSO, best possible DSO and ADD (or no CEI): the
/// sales of that period are not all in the ledger, and the ratio would be
/// too high.
pub fn trends(ledger: &Ledger, as_of: NaiveDate, config: &FactsConfig) -> Vec<MonthEnd> {
    use rayon::prelude::*;
    let first = ledger.invoices.iter().map(|i| i.issue_date).min();
    month_ends(as_of, MONTHS)
        .into_par_iter()
        .map(|date| {
            let then = truncate(ledger, date, WRITE_OFF_AFTER_DAYS);
            let ctx = Context::new(date, config.clone());
            let mut kpis = kpi::by_currency(&then, &ctx);
            let covered = |from: NaiveDate| first.is_some_and(|f| from >= f);
            let dso_known = covered(date - Duration::days(ctx.config.dso_days));
            let cei_known = covered(months_before(date, ctx.config.cei_months));
            for p in kpis.values_mut() {
                if !dso_known {
                    (p.dso, p.best_possible_dso, p.average_days_delinquent, p.dso_countback) = (None, None, None, None);
                }
                if !cei_known {
                    p.cei = None;
                }
            }
            MonthEnd { date, kpis }
        })
        .collect()
}

/// Where the simple forecast puts an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// Week 1 to [`WEEKS`] after the as-of date.
    Week(u32),
    /// Expected after the last week.
    After,
    /// Its expected date (due date + the customer's usual delay) has passed.
    PastExpected,
    /// Disputed: not expected before the dispute is settled.
    Disputed,
}

impl Slot {
    /// The week number, or `later` for every other slot (receipts.csv).
    pub fn week(self) -> Option<u32> {
        match self {
            Slot::Week(w) => Some(w),
            _ => None,
        }
    }
}

/// One week (or the `later` row) of one currency's forecast.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Week {
    /// The expected amount: each invoice on its due date + its customer's usual delay.
    pub expected: Decimal,
    /// The lowest and highest of the three placements (usual delay, one
    /// spread earlier, one spread later) in this week.
    pub low: Decimal,
    pub high: Decimal,
    pub invoices: u64,
}

/// One currency's 13-week forecast.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Receipts {
    pub weeks: Vec<Week>,
    /// Every invoice not in a week, with the parts of it below.
    pub later: Week,
    pub after: Week,
    pub past_expected: Week,
    pub disputed: Week,
}

impl Receipts {
    fn new() -> Self {
        Receipts { weeks: vec![Week::default(); WEEKS as usize], ..Receipts::default() }
    }
}

/// The week (1-based) a date after `as_of` falls in, if within the horizon.
fn week_of(as_of: NaiveDate, d: NaiveDate) -> Option<u32> {
    let days = (d - as_of).num_days();
    (1..=7 * WEEKS).contains(&days).then(|| ((days + 6) / 7) as u32)
}

/// The first and last day of week `w` (1-based) after `as_of`.
pub fn week_dates(as_of: NaiveDate, w: u32) -> (NaiveDate, NaiveDate) {
    let w = i64::from(w);
    (as_of + Duration::days(7 * (w - 1) + 1), as_of + Duration::days(7 * w))
}

/// A customer's usual delay (days after the due date, rounded) and its
/// spread (the standard deviation of the days late, rounded), from the
/// invoices it settled in the behaviour window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delay {
    pub usual: i64,
    pub spread: i64,
}

/// One customer with an overdue balance.
#[derive(Debug, Clone, Serialize)]
pub struct Debtor {
    pub customer_id: String,
    pub name: String,
    pub owner: String,
    pub currency: String,
    pub overdue: Decimal,
    pub max_days_past_due: i32,
    /// Days later than before (> 0 pays later), from the behaviour facts.
    pub trend: f64,
    /// Days since the last contact; `None` for never.
    pub days_since_contact: Option<i32>,
    pub promises_active: u32,
    pub promises_broken: u32,
    pub exposure: Decimal,
    pub credit_limit: Decimal,
}

/// One open disputed invoice.
#[derive(Debug, Clone, Serialize)]
pub struct Dispute {
    pub currency: String,
    /// Days since the dispute started (since the due date when it has no start date).
    pub days: i64,
    pub amount: Decimal,
}

/// Everything the report reads from the customer facts on the as-of date.
#[derive(Debug, Clone, Default)]
pub struct Today {
    pub receipts: BTreeMap<String, Receipts>,
    /// Customers with an overdue balance, largest first within each currency.
    pub debtors: BTreeMap<String, Vec<Debtor>>,
    /// Customers whose exposure is above their credit limit (limit > 0), by currency, largest excess first.
    pub over_limit: BTreeMap<String, Vec<Debtor>>,
    /// Customers with a broken promise in the behaviour window.
    pub broken_promises: BTreeMap<String, Vec<Debtor>>,
    pub disputes: Vec<Dispute>,
}

/// Read the customer facts on `as_of`.
pub fn today(ledger: &Ledger, as_of: NaiveDate, config: &FactsConfig) -> Today {
    let ctx = Context::new(as_of, config.clone());
    let behaviour_from = months_before(as_of, ctx.config.behaviour_months);
    struct One {
        currency: String,
        debtor: Option<Debtor>,
        /// (slot, early slot, late slot, open amount) per open invoice.
        placed: Vec<(Slot, Option<u32>, Option<u32>, Decimal)>,
        disputes: Vec<Dispute>,
    }
    let per: Vec<One> = map_customers(ledger, &ctx, |cf, inv| {
        let delay = delay_of(ledger, cf.ix, as_of, behaviour_from, cf.avg_days_late);
        let mut placed = Vec::with_capacity(inv.len());
        let mut disputes = Vec::new();
        for f in inv {
            let i = f.invoice;
            let amount = i.open_amount;
            if f.disputed {
                let since = i.disputed_since.unwrap_or(i.due_date);
                disputes.push(Dispute {
                    currency: cf.customer.currency.to_string(),
                    days: (as_of - since).num_days().max(0),
                    amount,
                });
                placed.push((Slot::Disputed, None, None, amount));
                continue;
            }
            let at = |days: i64| i.due_date + Duration::days(days);
            let expected = at(delay.usual);
            let slot = match week_of(as_of, expected) {
                Some(w) => Slot::Week(w),
                None if expected <= as_of => Slot::PastExpected,
                None => Slot::After,
            };
            // The band: one spread earlier (not before tomorrow) and one later.
            let (early, late) = if slot == Slot::PastExpected {
                (None, None)
            } else {
                let early = at(delay.usual - delay.spread).max(as_of + Duration::days(1));
                (week_of(as_of, early), week_of(as_of, at(delay.usual + delay.spread)))
            };
            placed.push((slot, early, late, amount));
        }
        let overdue = cf.overdue_total;
        let debtor = (overdue > Decimal::ZERO || cf.promises_broken > 0 || cf.utilization > 1.0).then(|| Debtor {
            customer_id: cf.customer.id.to_string(),
            name: cf.customer.name.to_string(),
            owner: cf.customer.account_owner.as_deref().unwrap_or("").to_string(),
            currency: cf.customer.currency.to_string(),
            overdue,
            max_days_past_due: cf.max_days_past_due,
            trend: cf.trend,
            days_since_contact: (cf.days_since_contact != crate::facts::NEVER).then_some(cf.days_since_contact),
            promises_active: cf.promises_active,
            promises_broken: cf.promises_broken,
            exposure: cf.exposure,
            // No limit (an empty cell): never over it.
            credit_limit: cf.customer.credit_limit.unwrap_or(Decimal::ZERO),
        });
        One { currency: cf.customer.currency.to_string(), debtor, placed, disputes }
    });
    let mut out = Today::default();
    for one in per {
        let r = out.receipts.entry(one.currency.clone()).or_insert_with(Receipts::new);
        for (slot, early, late, amount) in one.placed {
            let mid = slot.week();
            let bucket = match slot {
                Slot::Week(w) => &mut r.weeks[w as usize - 1],
                Slot::After => &mut r.after,
                Slot::PastExpected => &mut r.past_expected,
                Slot::Disputed => &mut r.disputed,
            };
            bucket.expected += amount;
            bucket.invoices += 1;
            if mid.is_none() {
                r.later.expected += amount;
                r.later.invoices += 1;
            }
            if slot == Slot::PastExpected || slot == Slot::Disputed {
                continue;
            }
            // The band of each week: the least and the most any of the three placements puts in it.
            let placements = [mid, early, late];
            for (k, wk) in r.weeks.iter_mut().enumerate() {
                let w = k as u32 + 1;
                let hits = placements.iter().filter(|p| **p == Some(w)).count();
                if hits > 0 {
                    wk.high += amount;
                }
                if hits == placements.len() {
                    wk.low += amount;
                }
            }
        }
        if let Some(d) = one.debtor {
            out.debtors.entry(d.currency.clone()).or_default().push(d);
        }
        out.disputes.extend(one.disputes);
    }
    for (code, list) in &mut out.debtors {
        let over: Vec<Debtor> =
            list.iter().filter(|d| d.credit_limit > Decimal::ZERO && d.exposure > d.credit_limit).cloned().collect();
        let broken: Vec<Debtor> = list.iter().filter(|d| d.promises_broken > 0).cloned().collect();
        list.retain(|d| d.overdue > Decimal::ZERO);
        list.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.customer_id.cmp(&b.customer_id)));
        let mut over = over;
        over.sort_by(|a, b| {
            (b.exposure - b.credit_limit)
                .cmp(&(a.exposure - a.credit_limit))
                .then_with(|| a.customer_id.cmp(&b.customer_id))
        });
        let mut broken = broken;
        broken.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.customer_id.cmp(&b.customer_id)));
        if !over.is_empty() {
            out.over_limit.insert(code.clone(), over);
        }
        if !broken.is_empty() {
            out.broken_promises.insert(code.clone(), broken);
        }
    }
    out
}

/// A customer's usual delay (the `avg_days_late` fact, rounded) and the
/// spread of the days late of the same settled invoices.
fn delay_of(ledger: &Ledger, c: u32, as_of: NaiveDate, from: NaiveDate, avg: f64) -> Delay {
    let mut n = 0u32;
    let mut sq = 0.0;
    for &i in ledger.invoices_by_customer.rows(c) {
        let inv = &ledger.invoices[i as usize];
        if inv.status != InvoiceStatus::Paid {
            continue;
        }
        if let Some(settled) = settled_on(ledger, i, as_of).filter(|&s| s > from) {
            let late = (settled - inv.due_date).num_days() as f64;
            n += 1;
            sq += (late - avg) * (late - avg);
        }
    }
    let spread = if n > 1 { (sq / f64::from(n)).sqrt() } else { 0.0 };
    Delay { usual: avg.round() as i64, spread: spread.round() as i64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn month_ends_are_the_twelve_before_the_as_of_month() {
        let m = month_ends(d("2026-11-16"), 12);
        assert_eq!(m.len(), 12);
        assert_eq!((m[0], m[11]), (d("2025-11-30"), d("2026-10-31")));
        assert_eq!(m[3], d("2026-02-28"));
        // On a month end itself, that month is today's, not a past one.
        assert_eq!(month_ends(d("2026-10-31"), 1), [d("2026-09-30")]);
    }

    #[test]
    fn weeks_start_the_day_after_the_as_of_date() {
        let a = d("2026-11-16");
        assert_eq!(week_of(a, a), None);
        assert_eq!(week_of(a, d("2026-11-17")), Some(1));
        assert_eq!(week_of(a, d("2026-11-23")), Some(1));
        assert_eq!(week_of(a, d("2026-11-24")), Some(2));
        assert_eq!(week_of(a, a + Duration::days(91)), Some(13));
        assert_eq!(week_of(a, a + Duration::days(92)), None);
        assert_eq!(week_dates(a, 2), (d("2026-11-24"), d("2026-11-30")));
    }
}
