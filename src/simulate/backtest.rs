//! The back-test: pretend it is a past date, project from what was known
//! then, and compare with what the ledger says really came in.
//!
//! [`truncate`] cuts a ledger back to a past date: invoices issued after it,
//! and payments, promises and actions dated after it, are removed; each
//! remaining invoice's open amount and status are rebuilt from the payments
//! applied to it by that date. [`Backtest::of`] sets the projection's weekly
//! cash collected (P10, P50, P90 across runs) beside the payments the full
//! ledger records in each of those weeks.

use super::project::{Band, Forward};
use crate::ledger::{ActionRecord, InvIx, Invoice, InvoiceStatus, Ledger, LoadReport, Outcome, Payment, Promise};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

/// The last date the ledger records anything on (payments, issues,
/// promises made, actions decided or executed).
pub fn last_date(ledger: &Ledger) -> Option<NaiveDate> {
    let pay = ledger.payments.iter().map(|p| p.paid_on);
    let inv = ledger.invoices.iter().map(|i| i.issue_date);
    let pro = ledger.promises.iter().map(|p| p.made_on);
    let act = ledger.actions.iter().flat_map(|a| [Some(a.decided_on), a.executed_on]).flatten();
    pay.chain(inv).chain(pro).chain(act).max()
}

/// The ledger as it was known on `as_of`.
///
/// - Invoices issued after `as_of` are removed (with every row that refers
///   to them); payments dated after it, promises made after it and actions
///   decided after it are removed.
/// - An action decided by `as_of` but executed after it is kept as pending
///   (no execution date, outcome `pending`).
/// - Each invoice's open amount is its amount less the payments applied to
///   it by `as_of` (at least zero). Its status: `paid` when nothing is left;
///   `written_off` when it is written off today and was at least
///   `write_off_after_days` past due on `as_of` (the ledger records no
///   write-off date; the roll-rate model assumes the same); `disputed` when
///   it is disputed today and its dispute started by `as_of` (a dispute with
///   no start date is taken to have been there); else `open`.
/// - Customers are kept as they are today (credit limits, holds as flags:
///   the ledger keeps no history of them; holds placed by recorded actions
///   are seen through the kept actions).
pub fn truncate(ledger: &Ledger, as_of: NaiveDate, write_off_after_days: i64) -> Ledger {
    let mut map: Vec<Option<InvIx>> = vec![None; ledger.invoices.len()];
    let mut invoices: Vec<Invoice> = Vec::new();
    for (i, inv) in ledger.invoices.iter().enumerate() {
        if inv.issue_date > as_of {
            continue;
        }
        let paid: Decimal = ledger
            .payments_by_invoice
            .rows(i as InvIx)
            .iter()
            .map(|&p| &ledger.payments[p as usize])
            .filter(|p| p.paid_on <= as_of)
            .map(|p| p.amount)
            .sum();
        let open = (inv.amount - paid).max(Decimal::ZERO);
        let dpd = (as_of - inv.due_date).num_days();
        let disputed_then = inv.is_disputed() && inv.disputed_since.is_none_or(|d| d <= as_of);
        let status = if open.is_zero() {
            InvoiceStatus::Paid
        } else if inv.status == InvoiceStatus::WrittenOff && dpd >= write_off_after_days {
            InvoiceStatus::WrittenOff
        } else if disputed_then {
            InvoiceStatus::Disputed
        } else {
            InvoiceStatus::Open
        };
        map[i] = Some(invoices.len() as InvIx);
        invoices.push(Invoice {
            open_amount: if status == InvoiceStatus::WrittenOff { Decimal::ZERO } else { open },
            status,
            disputed_since: inv.disputed_since.filter(|_| disputed_then),
            dispute_reason: inv.dispute_reason.clone().filter(|_| disputed_then),
            ..inv.clone()
        });
    }
    // A row referring to a removed invoice goes too; one referring to none stays.
    let remap = |i: Option<InvIx>| -> Option<Option<InvIx>> {
        match i {
            None => Some(None),
            Some(i) => map.get(i as usize).copied().flatten().map(Some),
        }
    };
    let payments: Vec<Payment> = ledger
        .payments
        .iter()
        .filter(|p| p.paid_on <= as_of)
        .filter_map(|p| Some(Payment { invoice: remap(p.invoice)?, ..p.clone() }))
        .collect();
    let promises: Vec<Promise> = ledger
        .promises
        .iter()
        .filter(|p| p.made_on <= as_of)
        .filter_map(|p| Some(Promise { invoice: remap(p.invoice)?, ..p.clone() }))
        .collect();
    let actions: Vec<ActionRecord> = ledger
        .actions
        .iter()
        .filter(|a| a.decided_on <= as_of)
        .filter_map(|a| {
            let mut a = ActionRecord { invoice: remap(a.invoice)?, ..a.clone() };
            if a.executed_on.is_some_and(|d| d > as_of) {
                a.executed_on = None;
                a.outcome = Some(Outcome::Pending);
            }
            Some(a)
        })
        .collect();
    let mut out = Ledger {
        customers: ledger.customers.clone(),
        invoices,
        payments,
        promises,
        actions,
        report: LoadReport::default(),
        ..Ledger::default()
    };
    out.index();
    out
}

/// Cash the ledger records as received in each week after `as_of`: the
/// payments dated in `(previous week end, week end]`.
/// Only payments of customers in `currency` count (money is never added
/// across currencies).
pub fn actual_cash(ledger: &Ledger, as_of: NaiveDate, week_ends: &[NaiveDate], currency: &str) -> Vec<Decimal> {
    let mut out = vec![Decimal::ZERO; week_ends.len()];
    for p in ledger.payments.iter().filter(|p| p.paid_on > as_of && in_currency(ledger, p, currency)) {
        if let Some(w) = week_ends.iter().position(|&e| p.paid_on <= e) {
            out[w] += p.amount;
        }
    }
    out
}

/// A payment of a customer whose currency is `currency`.
fn in_currency(ledger: &Ledger, p: &crate::ledger::Payment, currency: &str) -> bool {
    ledger.customers.get(p.customer as usize).is_some_and(|c| c.currency == currency)
}

/// The weeks a naive forecast averages: the 13 before the as-of date.
pub const NAIVE_WEEKS: i64 = 13;

/// Naive forecast (b) of issue 21: each week of the horizon gets the mean
/// weekly cash of the [`NAIVE_WEEKS`] weeks before `as_of` (the payments
/// dated in `(as_of − 91 days, as_of]`, ÷ 13), rounded to cents; a last week
/// shorter than 7 days gets its share (days ÷ 7).
pub fn naive_trailing_mean(ledger: &Ledger, as_of: NaiveDate, week_ends: &[NaiveDate], currency: &str) -> Vec<Decimal> {
    let from = as_of - Duration::days(7 * NAIVE_WEEKS);
    let total: Decimal = ledger
        .payments
        .iter()
        .filter(|p| p.paid_on > from && p.paid_on <= as_of && in_currency(ledger, p, currency))
        .map(|p| p.amount)
        .sum();
    let mut start = as_of;
    week_ends
        .iter()
        .map(|&end| {
            let days = (end - start).num_days();
            start = end;
            (total * Decimal::from(days) / Decimal::from(7 * NAIVE_WEEKS)).round_dp(2)
        })
        .collect()
}

/// Mean absolute percentage error of `predicted` against `actual`, over the
/// weeks with cash (none without any).
pub fn mape_pct(predicted: &[Decimal], actual: &[Decimal]) -> Option<f64> {
    let errs: Vec<f64> = predicted
        .iter()
        .zip(actual)
        .filter(|(_, a)| **a > Decimal::ZERO)
        .filter_map(|(p, a)| ((*p - *a).abs() / *a * Decimal::from(100)).to_f64())
        .collect();
    (!errs.is_empty()).then(|| round4(errs.iter().sum::<f64>() / errs.len() as f64))
}

/// A naive forecast set beside the model's: what a spreadsheet would say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NaiveForecast {
    /// What it is, in words.
    pub name: String,
    /// Its cash per week of the horizon.
    pub weekly: Vec<Decimal>,
    /// Its mean absolute percentage error against the actual weeks.
    pub mape_pct: Option<f64>,
}

/// One week of the back-test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestWeek {
    pub week: usize,
    pub week_end: NaiveDate,
    /// Payments the ledger records in the week.
    pub actual: Decimal,
    /// The projection's cash collected in the week across runs.
    #[serde(flatten)]
    pub predicted: Band,
    /// |P50 − actual| ÷ actual, in percent (none when nothing came in).
    pub error_pct: Option<f64>,
    /// The actual is within [P10, P90].
    pub inside: bool,
}

/// The back-test of one policy's projection against the ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    pub as_of: NaiveDate,
    pub policy: String,
    /// The currency of every amount of this back-test (one per currency).
    pub currency: String,
    pub weeks: Vec<BacktestWeek>,
    /// Mean absolute percentage error of the weekly P50 (weeks with cash).
    pub mape_pct: Option<f64>,
    /// Share of weeks whose actual is within the P10–P90 band.
    pub coverage: f64,
    /// Over the horizon: actual total, and the band of the runs' totals.
    pub actual_total: Decimal,
    pub predicted_total: Band,
    /// Naive forecasts from the same data, to beat: the mean weekly cash of
    /// the 13 weeks before the as-of date.
    pub naive: Vec<NaiveForecast>,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

impl Backtest {
    /// Compare the first policy of `forward` with the payments of `full`
    /// (the ledger before truncation), one back-test per currency.
    pub fn all(forward: &Forward, full: &Ledger) -> Vec<Backtest> {
        (0..forward.currencies.len()).filter_map(|cx| Backtest::of(forward, full, cx)).collect()
    }

    /// [`Backtest::all`] for the currency `cx` of `forward.currencies`.
    pub fn of(forward: &Forward, full: &Ledger, cx: usize) -> Option<Backtest> {
        let p = forward.policies.first()?;
        let currency = forward.currencies.get(cx)?;
        let cash = |x: &crate::simulate::project::Week| x.money.get(cx).map_or(Decimal::ZERO, |m| m.cash_collected);
        let actual = actual_cash(full, forward.as_of, &forward.week_ends, currency);
        let mut weeks = Vec::new();
        for (w, (&end, &act)) in forward.week_ends.iter().zip(&actual).enumerate() {
            let mut vals: Vec<Decimal> = p.runs.iter().filter_map(|r| r.get(w)).map(cash).collect();
            let band = Band::of(&mut vals);
            let error_pct = (act > Decimal::ZERO)
                .then(|| ((band.p50 - act).abs() / act * Decimal::from(100)).to_f64().map(round4))
                .flatten();
            weeks.push(BacktestWeek {
                week: w + 1,
                week_end: end,
                actual: act,
                predicted: band,
                error_pct,
                inside: band.p10 <= act && act <= band.p90,
            });
        }
        let trailing = naive_trailing_mean(full, forward.as_of, &forward.week_ends, currency);
        let naive = vec![NaiveForecast {
            name: format!("mean weekly cash of the {NAIVE_WEEKS} weeks before"),
            mape_pct: mape_pct(&trailing, &actual),
            weekly: trailing,
        }];
        let errs: Vec<f64> = weeks.iter().filter_map(|w| w.error_pct).collect();
        let mape_pct = (!errs.is_empty()).then(|| round4(errs.iter().sum::<f64>() / errs.len() as f64));
        let coverage = if weeks.is_empty() {
            0.0
        } else {
            round4(weeks.iter().filter(|w| w.inside).count() as f64 / weeks.len() as f64)
        };
        let mut totals: Vec<Decimal> = p.runs.iter().map(|r| r.iter().map(cash).sum()).collect();
        Some(Backtest {
            as_of: forward.as_of,
            policy: p.label.clone(),
            currency: currency.clone(),
            weeks,
            mape_pct,
            coverage,
            actual_total: actual.iter().copied().sum(),
            predicted_total: Band::of(&mut totals),
            naive,
        })
    }
}

/// The horizon must end by the ledger's last date, or the actual weeks are
/// incomplete: the error says which dates would work.
pub fn check_horizon(full: &Ledger, as_of: NaiveDate, days: u32) -> Result<(), String> {
    let Some(last) = last_date(full) else { return Err("the ledger records nothing to back-test against".into()) };
    let end = as_of + Duration::days(i64::from(days));
    if end > last {
        let latest = last - Duration::days(i64::from(days));
        return Err(format!(
            "the back-test runs to {end}, but the ledger's history ends on {last}: use --as-of {latest} or earlier, or a shorter --horizon"
        ));
    }
    Ok(())
}
