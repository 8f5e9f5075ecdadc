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
/// - Credit notes issued by `as_of` are kept, with their status and unused
///   part of today (the ledger records no date of use: today's unused part
///   is what is certainly still unused then); those issued after it go.
///   Their amounts count in the net credit sales of the periods they fall in.
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
    let credit_notes = ledger.credit_notes.iter().filter(|n| n.issue_date <= as_of).cloned().collect();
    let mut out = Ledger {
        customers: ledger.customers.clone(),
        invoices,
        payments,
        promises,
        actions,
        credit_notes,
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

/// The days late naive forecast (a) gives each customer: the mean of
/// (settlement date − due date) over its invoices settled by `as_of`, whole
/// days (half away from zero); a customer with none gets the ledger's mean
/// over every settled invoice (0 when nothing was ever settled).
pub fn average_delays(known: &Ledger, as_of: NaiveDate) -> Vec<i64> {
    let mut all = (0i64, 0i64);
    let mut own: Vec<(i64, i64)> = vec![(0, 0); known.customers.len()];
    for (i, inv) in known.invoices.iter().enumerate() {
        if let Some(s) = crate::facts::settled_on(known, i as InvIx, as_of) {
            let late = (s - inv.due_date).num_days();
            if let Some(o) = own.get_mut(inv.customer as usize) {
                o.0 += late;
                o.1 += 1;
            }
            all.0 += late;
            all.1 += 1;
        }
    }
    let mean = |(sum, n): (i64, i64)| (n > 0).then(|| (sum as f64 / n as f64).round() as i64);
    let fallback = mean(all).unwrap_or(0);
    own.into_iter().map(|o| mean(o).unwrap_or(fallback)).collect()
}

/// Naive forecast (a) of issue 21, from `known` (the ledger as known on
/// `as_of`, [`truncate`]): each open invoice paid in full on its due date
/// plus its customer's average delay so far ([`average_delays`]), or on the
/// day after `as_of` when that date has passed; plus new invoices at the
/// customer's recent rate — the amounts it was invoiced in the
/// [`NAIVE_WEEKS`] weeks before `as_of` ÷ 91, every day of the horizon —
/// each paid on its issue day plus the customer's payment terms plus the
/// same delay. Only customers in `currency` count (money is never added
/// across currencies). Cash per week, rounded to cents.
pub fn naive_due_plus_delay(known: &Ledger, as_of: NaiveDate, week_ends: &[NaiveDate], currency: &str) -> Vec<Decimal> {
    let mut out = vec![Decimal::ZERO; week_ends.len()];
    let Some(&last) = week_ends.last() else { return out };
    let delay = average_delays(known, as_of);
    let mut put = |day: NaiveDate, amount: Decimal| {
        if let Some(w) = week_ends.iter().position(|&e| day <= e) {
            out[w] += amount;
        }
    };
    let from = as_of - Duration::days(7 * NAIVE_WEEKS);
    let mut recent = vec![Decimal::ZERO; known.customers.len()];
    let ours = |c: usize| known.customers.get(c).is_some_and(|k| k.currency == currency);
    for inv in &known.invoices {
        let c = inv.customer as usize;
        if !ours(c) {
            continue;
        }
        if inv.issue_date > from && inv.issue_date <= as_of {
            recent[c] += inv.amount;
        }
        if inv.is_open() {
            let day = inv.due_date + Duration::days(delay[c]);
            put(day.max(as_of + Duration::days(1)), inv.open_amount);
        }
    }
    let days = (last - as_of).num_days();
    for (c, cust) in known.customers.iter().enumerate() {
        if recent[c].is_zero() {
            continue;
        }
        let daily = recent[c] / Decimal::from(7 * NAIVE_WEEKS);
        let lag = i64::from(cust.terms.net_days) + delay[c];
        for t in 1..=days {
            let paid = as_of + Duration::days(t + lag);
            if paid > as_of && paid <= last {
                put(paid, daily);
            }
        }
    }
    out.iter().map(|x| x.round_dp(2)).collect()
}

/// Naive forecast (b)'s band: P10 and P90 (nearest rank) of the
/// [`NAIVE_WEEKS`] weekly totals before `as_of`, each horizon week scaled by
/// its days ÷ 7 as the mean is. Only payments of customers in `currency`
/// count.
pub fn naive_trailing_band(
    ledger: &Ledger,
    as_of: NaiveDate,
    week_ends: &[NaiveDate],
    currency: &str,
) -> Vec<(Decimal, Decimal)> {
    let from = as_of - Duration::days(7 * NAIVE_WEEKS);
    let mut weeks = vec![Decimal::ZERO; NAIVE_WEEKS as usize];
    for p in
        ledger.payments.iter().filter(|p| p.paid_on > from && p.paid_on <= as_of && in_currency(ledger, p, currency))
    {
        let w = ((p.paid_on - from).num_days() - 1) / 7;
        weeks[w as usize] += p.amount;
    }
    let band = Band::of(&mut weeks);
    let mut start = as_of;
    week_ends
        .iter()
        .map(|&end| {
            let share = Decimal::from((end - start).num_days()) / Decimal::from(7);
            start = end;
            ((band.p10 * share).round_dp(2), (band.p90 * share).round_dp(2))
        })
        .collect()
}

/// The quantiles a pinball loss is taken at.
pub const PINBALL_QUANTILES: [f64; 3] = [0.1, 0.5, 0.9];

/// Mean pinball (quantile) loss of the P10, P50 and P90 forecasts
/// (`bands[w]` = (p10, p50, p90)) against the actual weeks, over the three
/// quantiles and every week, as a percentage of the mean actual week (a
/// ratio: comparable across ledgers and currencies). A point forecast is
/// scored with its value as all three quantiles. Lower is better; none when
/// nothing came in.
pub fn pinball_pct(bands: &[(Decimal, Decimal, Decimal)], actual: &[Decimal]) -> Option<f64> {
    let mean_actual = actual.iter().filter_map(|a| a.to_f64()).sum::<f64>() / actual.len().max(1) as f64;
    if bands.is_empty() || mean_actual <= 0.0 {
        return None;
    }
    let mut loss = 0.0;
    for (&(p10, p50, p90), a) in bands.iter().zip(actual) {
        let y = a.to_f64().unwrap_or(0.0);
        for (q, f) in PINBALL_QUANTILES.iter().zip([p10, p50, p90]) {
            let f = f.to_f64().unwrap_or(0.0);
            loss += if y >= f { q * (y - f) } else { (1.0 - q) * (f - y) };
        }
    }
    let n = (bands.len() * PINBALL_QUANTILES.len()) as f64;
    Some(round4(loss / n / mean_actual * 100.0))
}

/// Share of weeks whose actual lies within [P10, P90].
pub fn coverage(bands: &[(Decimal, Decimal)], actual: &[Decimal]) -> f64 {
    if bands.is_empty() {
        return 0.0;
    }
    let inside = bands.iter().zip(actual).filter(|((lo, hi), a)| lo <= *a && *a <= hi).count();
    round4(inside as f64 / bands.len() as f64)
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
    /// `a` or `b` (issue 21's names).
    pub id: String,
    /// What it is, in words.
    pub name: String,
    /// Its cash per week of the horizon.
    pub weekly: Vec<Decimal>,
    /// Its P10 and P90 per week, when it has a band (naive b: the spread of
    /// the 13 weeks before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<Vec<(Decimal, Decimal)>>,
    /// Its mean absolute percentage error against the actual weeks.
    pub mape_pct: Option<f64>,
    /// Its mean pinball loss, % of the mean actual week ([`pinball_pct`]).
    pub pinball_pct: Option<f64>,
    /// Share of weeks inside its band (none without a band).
    pub coverage: Option<f64>,
}

impl NaiveForecast {
    fn of(
        id: &str,
        name: String,
        weekly: Vec<Decimal>,
        band: Option<Vec<(Decimal, Decimal)>>,
        actual: &[Decimal],
    ) -> Self {
        let quantiles: Vec<(Decimal, Decimal, Decimal)> = match &band {
            Some(b) => weekly.iter().zip(b).map(|(&m, &(lo, hi))| (lo, m, hi)).collect(),
            None => weekly.iter().map(|&m| (m, m, m)).collect(),
        };
        NaiveForecast {
            id: id.into(),
            name,
            mape_pct: mape_pct(&weekly, actual),
            pinball_pct: pinball_pct(&quantiles, actual),
            coverage: band.as_ref().map(|b| coverage(b, actual)),
            weekly,
            band,
        }
    }
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
    /// Mean pinball loss of P10, P50 and P90, % of the mean actual week.
    pub pinball_pct: Option<f64>,
    /// The noise floor: the MAPE the weekly P50 has against the model's own
    /// runs (the mean over runs), i.e. if the world behaved exactly as the
    /// model says. No point forecast of a week's cash can do much better.
    pub noise_mape_pct: Option<f64>,
    /// Over the horizon: actual total, and the band of the runs' totals.
    pub actual_total: Decimal,
    pub predicted_total: Band,
    /// Naive forecasts from the same data, to beat: (a) due date plus the
    /// customer's average delay, (b) the mean weekly cash of the 13 weeks
    /// before the as-of date.
    pub naive: Vec<NaiveForecast>,
    /// The same scores from several as-of dates (`--backtest-origins`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolling: Option<Rolling>,
}

/// The scores of one forecast from one as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub mape_pct: Option<f64>,
    pub pinball_pct: Option<f64>,
    pub coverage: Option<f64>,
}

/// The model's and the naive forecasts' scores from one as-of date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OriginScores {
    pub as_of: NaiveDate,
    /// The model's noise floor ([`Backtest::noise_mape_pct`]).
    pub noise_mape_pct: Option<f64>,
    pub model: Scores,
    pub naive_a: Scores,
    pub naive_b: Scores,
}

/// Back-tests from several as-of dates, and the means of their scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rolling {
    /// Days between two origins.
    pub every_days: i64,
    pub origins: Vec<OriginScores>,
    pub mean: OriginMeans,
}

/// The means over the origins (of those that have the score).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OriginMeans {
    pub noise_mape_pct: Option<f64>,
    pub model: Scores,
    pub naive_a: Scores,
    pub naive_b: Scores,
}

impl Backtest {
    /// The three forecasts' scores.
    pub fn scores(&self) -> OriginScores {
        let naive = |id: &str| {
            self.naive.iter().find(|n| n.id == id).map_or(
                Scores { mape_pct: None, pinball_pct: None, coverage: None },
                |n| Scores { mape_pct: n.mape_pct, pinball_pct: n.pinball_pct, coverage: n.coverage },
            )
        };
        OriginScores {
            as_of: self.as_of,
            noise_mape_pct: self.noise_mape_pct,
            model: Scores { mape_pct: self.mape_pct, pinball_pct: self.pinball_pct, coverage: Some(self.coverage) },
            naive_a: naive("a"),
            naive_b: naive("b"),
        }
    }
}

impl Rolling {
    /// The rolling back-test of the scores of `origins` (latest last).
    pub fn of(every_days: i64, origins: Vec<OriginScores>) -> Rolling {
        let mean_of = |get: &dyn Fn(&OriginScores) -> Scores| {
            let avg = |f: &dyn Fn(&Scores) -> Option<f64>| {
                let v: Vec<f64> = origins.iter().filter_map(|o| f(&get(o))).collect();
                (!v.is_empty()).then(|| round4(v.iter().sum::<f64>() / v.len() as f64))
            };
            Scores {
                mape_pct: avg(&|s| s.mape_pct),
                pinball_pct: avg(&|s| s.pinball_pct),
                coverage: avg(&|s| s.coverage),
            }
        };
        let noise: Vec<f64> = origins.iter().filter_map(|o| o.noise_mape_pct).collect();
        let mean = OriginMeans {
            noise_mape_pct: (!noise.is_empty()).then(|| round4(noise.iter().sum::<f64>() / noise.len() as f64)),
            model: mean_of(&|o| o.model),
            naive_a: mean_of(&|o| o.naive_a),
            naive_b: mean_of(&|o| o.naive_b),
        };
        Rolling { every_days, origins, mean }
    }
}

/// Days between two origins of a rolling back-test (4 weeks).
pub const ORIGIN_EVERY_DAYS: i64 = 28;

/// The as-of dates of a rolling back-test: `n` dates `every_days` apart,
/// the last one `latest`, earliest first.
pub fn origins(latest: NaiveDate, n: u32, every_days: i64) -> Vec<NaiveDate> {
    (0..i64::from(n.max(1))).rev().map(|k| latest - Duration::days(k * every_days)).collect()
}

/// Back-test `policy` from `as_of`: truncate `full` to it, learn, project
/// and score against the full ledger, one back-test per currency (what the
/// CLI does for each origin of a rolling back-test).
pub fn backtest_from(
    full: &Ledger,
    label: &str,
    policy: &crate::policy::CompiledPolicy,
    as_of: NaiveDate,
    p: &super::project::Projection,
) -> Result<Vec<Backtest>, super::SimError> {
    let cfg = super::RollRateConfig::default();
    let known = truncate(full, as_of, i64::from(cfg.write_off_after_days));
    let stall = super::rollrate::RollRateReport::build(&known, as_of, &cfg)
        .map(|rr| rr.matrix.paid_rates())
        .unwrap_or_default();
    let forward = super::project::project(&known, &[(label, policy)], as_of, p, &stall)?;
    let all = Backtest::all(&forward, &known, full);
    if all.is_empty() {
        return Err(super::SimError::NoHistory);
    }
    Ok(all)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

impl Backtest {
    /// Compare the first policy of `forward` with the payments of `full`
    /// (the ledger before truncation), one back-test per currency; `known`
    /// is the ledger as known on the as-of date (for naive forecast (a)).
    pub fn all(forward: &Forward, known: &Ledger, full: &Ledger) -> Vec<Backtest> {
        (0..forward.currencies.len()).filter_map(|cx| Backtest::of(forward, known, full, cx)).collect()
    }

    /// [`Backtest::all`] for the currency `cx` of `forward.currencies`:
    /// every amount and score (model, naive forecasts, noise floor) counts
    /// only the customers in that currency.
    pub fn of(forward: &Forward, known: &Ledger, full: &Ledger, cx: usize) -> Option<Backtest> {
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
        let trailing_band = naive_trailing_band(full, forward.as_of, &forward.week_ends, currency);
        let due = naive_due_plus_delay(known, forward.as_of, &forward.week_ends, currency);
        let naive = vec![
            NaiveForecast::of("a", "due date plus the customer's average delay".into(), due, None, &actual),
            NaiveForecast::of(
                "b",
                format!("mean weekly cash of the {NAIVE_WEEKS} weeks before"),
                trailing,
                Some(trailing_band),
                &actual,
            ),
        ];
        let quantiles: Vec<(Decimal, Decimal, Decimal)> =
            weeks.iter().map(|w| (w.predicted.p10, w.predicted.p50, w.predicted.p90)).collect();
        let pinball_pct = pinball_pct(&quantiles, &actual);
        let p50: Vec<Decimal> = weeks.iter().map(|w| w.predicted.p50).collect();
        let own: Vec<f64> =
            p.runs.iter().filter_map(|r| mape_pct(&p50, &r.iter().map(cash).collect::<Vec<_>>())).collect();
        let noise_mape_pct = (!own.is_empty()).then(|| round4(own.iter().sum::<f64>() / own.len() as f64));
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
            pinball_pct,
            noise_mape_pct,
            rolling: None,
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
