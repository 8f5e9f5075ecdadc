//! Roll rates: the analytic model of where today's balances end up.
//!
//! The states are the aging buckets (transient) plus two absorbing states,
//! Paid and Bad debt. The monthly transition matrix is estimated from the
//! ledger's own history: each invoice's balance is reconstructed at every
//! month end from its issue and due dates, its payments and its status, and
//! the money that moves from state to state between consecutive month ends
//! is summed; each row divided by its total gives the probabilities
//! (balance-weighted). With the transient block Q and the absorbing block R,
//! the fundamental matrix N = (I − Q)⁻¹ gives the expected months spent in
//! each state, N·1 the expected months to absorption and N·R the eventual
//! split between Paid and Bad debt of a unit of balance in each bucket.
//!
//! The ledger records no write-off date: a `written_off` invoice is taken to
//! leave for Bad debt at the first month end it is at least
//! [`RollRateConfig::write_off_after_days`] past due (at the latest at the
//! last month end of the history).

use super::{SimError, cents, to_f64};
use crate::facts::FactsConfig;
use crate::ledger::{InvoiceStatus, Ledger};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

/// The absorbing states, in column order of R.
pub const ABSORBING: [&str; 2] = ["paid", "bad_debt"];

/// Settings of the estimate.
#[derive(Debug, Clone, Serialize)]
pub struct RollRateConfig {
    /// Upper edges of the overdue buckets, as in [`FactsConfig::bucket_edges`].
    pub bucket_edges: Vec<i32>,
    /// Months of history (month-to-month transitions) used, the latest first.
    pub months: u32,
    /// Days past due at which a written-off invoice is taken to leave for Bad debt.
    pub write_off_after_days: i32,
}

impl Default for RollRateConfig {
    fn default() -> Self {
        RollRateConfig { bucket_edges: FactsConfig::default().bucket_edges, months: 12, write_off_after_days: 180 }
    }
}

/// A monthly transition matrix between aging buckets and the absorbing states.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollRates {
    /// Transient states (bucket labels), in order.
    pub buckets: Vec<String>,
    /// Month ends of the history used: the first and the last.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Month-to-month transitions observed.
    pub transitions: u32,
    /// Money observed leaving each bucket over all transitions (row totals).
    pub observed: Vec<Decimal>,
    /// `p[i][j]`: the share of a bucket-`i` balance that is in state `j` one
    /// month later; `j` runs over the buckets, then Paid, then Bad debt. A
    /// bucket never observed has a row of zeros.
    pub p: Vec<Vec<f64>>,
}

/// What N = (I − Q)⁻¹ says about each bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Absorption {
    /// The fundamental matrix: expected months in bucket `j` starting from `i`.
    pub n: Vec<Vec<f64>>,
    /// N·R: eventual probability of Paid and of Bad debt, per bucket.
    pub b: Vec<[f64; 2]>,
    /// N·1: expected months until paid or written off, per bucket.
    pub months: Vec<f64>,
}

/// The eventual fate of one bucket's balance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketSplit {
    pub bucket: String,
    pub balance: Decimal,
    pub collected: Decimal,
    pub bad_debt: Decimal,
    /// Balance of a bucket never observed in the history: the model cannot say.
    pub unresolved: Decimal,
    /// Expected months until paid or written off.
    pub months_to_absorption: f64,
}

/// The eventual split of today's balances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    pub balance: Decimal,
    pub collected: Decimal,
    pub bad_debt: Decimal,
    pub unresolved: Decimal,
    pub by_bucket: Vec<BucketSplit>,
}

/// The last day of `d`'s month.
fn month_end(d: NaiveDate) -> NaiveDate {
    let first_next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    };
    first_next.and_then(|n| n.pred_opt()).unwrap_or(d)
}

/// Month ends from the month of `first` to the last one on or before `last`.
fn month_ends(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = month_end(first);
    while m <= last {
        out.push(m);
        match m.succ_opt() {
            Some(next) => m = month_end(next),
            None => break,
        }
    }
    out
}

fn bucket_of(edges: &[i32], dpd: i64) -> usize {
    if dpd <= 0 {
        return 0;
    }
    1 + edges.iter().take_while(|&&e| dpd > i64::from(e)).count()
}

impl RollRates {
    /// Each bucket's monthly rate into Paid (`p[i]` at the Paid column): what
    /// the Monte Carlo projection pays a stalled invoice of that bucket at.
    pub fn paid_rates(&self) -> Vec<f64> {
        self.p.iter().map(|row| row.get(self.buckets.len()).copied().unwrap_or(0.0)).collect()
    }

    /// A chain given directly: `q` transient to transient, `r` transient to
    /// (Paid, Bad debt), rows in bucket order.
    pub fn from_blocks(buckets: Vec<String>, q: &[Vec<f64>], r: &[[f64; 2]]) -> Self {
        let p = q
            .iter()
            .zip(r)
            .map(|(q, r)| {
                let mut row = q.clone();
                row.extend_from_slice(r);
                row
            })
            .collect();
        let k = buckets.len();
        RollRates { buckets, from: None, to: None, transitions: 0, observed: vec![Decimal::ZERO; k], p }
    }

    /// Estimate the monthly matrix from the history of `ledger` up to `as_of`.
    pub fn estimate(ledger: &Ledger, as_of: NaiveDate, cfg: &RollRateConfig) -> Self {
        let labels = FactsConfig { bucket_edges: cfg.bucket_edges.clone(), ..FactsConfig::default() }.bucket_labels();
        let k = labels.len();
        let first = ledger.invoices.iter().map(|i| i.issue_date).filter(|&d| d <= as_of).min();
        let mut ends = first.map(|f| month_ends(f, as_of)).unwrap_or_default();
        let keep = cfg.months as usize + 1;
        if ends.len() > keep {
            ends.drain(..ends.len() - keep);
        }
        let last_end = ends.last().copied();
        let mut flow = vec![vec![Decimal::ZERO; k + 2]; k];
        for (ix, inv) in ledger.invoices.iter().enumerate() {
            let pays: Vec<(NaiveDate, Decimal)> = ledger
                .payments_by_invoice
                .rows(ix as u32)
                .iter()
                .map(|&p| &ledger.payments[p as usize])
                .filter(|p| p.paid_on <= as_of)
                .map(|p| (p.paid_on, p.amount))
                .collect();
            let settled_on = (inv.status == InvoiceStatus::Paid).then(|| pays.iter().map(|p| p.0).max()).flatten();
            let written_off_on = (inv.status == InvoiceStatus::WrittenOff)
                .then(|| {
                    ends.iter()
                        .copied()
                        .find(|&m| (m - inv.due_date).num_days() >= i64::from(cfg.write_off_after_days))
                        .or(last_end)
                })
                .flatten();
            // Balance at the end of day `d`, and whether it has gone to bad debt.
            let balance = |d: NaiveDate| -> (Decimal, bool) {
                if written_off_on.is_some_and(|w| d >= w) {
                    return (Decimal::ZERO, true);
                }
                if settled_on.is_some_and(|s| d >= s) {
                    return (Decimal::ZERO, false);
                }
                let paid: Decimal = pays.iter().filter(|p| p.0 <= d).map(|p| p.1).sum();
                ((inv.amount - paid).clamp(Decimal::ZERO, inv.amount), false)
            };
            for w in ends.windows(2) {
                let (t0, t1) = (w[0], w[1]);
                if inv.issue_date > t0 {
                    continue;
                }
                let (b0, _) = balance(t0);
                if b0 <= Decimal::ZERO {
                    continue;
                }
                let from = bucket_of(&cfg.bucket_edges, (t0 - inv.due_date).num_days());
                let (b1, gone) = balance(t1);
                let row = &mut flow[from];
                if gone {
                    let before = balance(t1.pred_opt().unwrap_or(t1)).0.min(b0);
                    row[k + 1] += before;
                    row[k] += b0 - before;
                } else {
                    let b1 = b1.min(b0);
                    row[bucket_of(&cfg.bucket_edges, (t1 - inv.due_date).num_days())] += b1;
                    row[k] += b0 - b1;
                }
            }
        }
        let observed: Vec<Decimal> = flow.iter().map(|r| r.iter().copied().sum()).collect();
        let p = flow
            .iter()
            .zip(&observed)
            .map(|(row, &total)| {
                row.iter().map(|&x| if total.is_zero() { 0.0 } else { to_f64(x) / to_f64(total) }).collect()
            })
            .collect();
        RollRates {
            buckets: labels,
            from: ends.first().copied(),
            to: last_end,
            transitions: ends.len().saturating_sub(1) as u32,
            observed,
            p,
        }
    }

    /// N = (I − Q)⁻¹, N·R and N·1. Fails when some bucket never leaves
    /// (a row of Q summing to one).
    pub fn absorption(&self) -> Result<Absorption, SimError> {
        let k = self.buckets.len();
        let mut a: Vec<Vec<f64>> = (0..k)
            .map(|i| (0..k).map(|j| f64::from(u8::from(i == j)) - self.p[i].get(j).copied().unwrap_or(0.0)).collect())
            .collect();
        let n = invert(&mut a).ok_or_else(|| {
            SimError::Singular("some aging bucket is never paid or written off in the history".to_string())
        })?;
        let r = |i: usize, j: usize| self.p[i].get(k + j).copied().unwrap_or(0.0);
        let b = (0..k).map(|i| [0, 1].map(|j| (0..k).map(|m| n[i][m] * r(m, j)).sum::<f64>())).collect();
        let months = n.iter().map(|row| row.iter().sum()).collect();
        Ok(Absorption { n, b, months })
    }

    /// What of `balances` (one per bucket) is paid and written off within
    /// `months` months: the balances stepped through P that many times.
    pub fn within(&self, balances: &[Decimal], months: u32) -> (Decimal, Decimal) {
        let k = self.buckets.len();
        let mut v: Vec<f64> = (0..k).map(|i| to_f64(balances.get(i).copied().unwrap_or_default())).collect();
        let (mut paid, mut bad) = (0.0, 0.0);
        for _ in 0..months {
            let mut next = vec![0.0; k];
            for (i, &x) in v.iter().enumerate() {
                let row = &self.p[i];
                for (j, n) in next.iter_mut().enumerate() {
                    *n += x * row.get(j).copied().unwrap_or(0.0);
                }
                paid += x * row.get(k).copied().unwrap_or(0.0);
                bad += x * row.get(k + 1).copied().unwrap_or(0.0);
            }
            v = next;
        }
        (cents(paid), cents(bad))
    }

    /// The eventual split of `balances` (one per bucket).
    pub fn project(&self, balances: &[Decimal]) -> Result<Split, SimError> {
        let abs = self.absorption()?;
        let mut s = Split {
            balance: Decimal::ZERO,
            collected: Decimal::ZERO,
            bad_debt: Decimal::ZERO,
            unresolved: Decimal::ZERO,
            by_bucket: Vec::new(),
        };
        for (i, label) in self.buckets.iter().enumerate() {
            let balance = balances.get(i).copied().unwrap_or_default();
            let x = to_f64(balance);
            let collected = cents(x * abs.b[i][0]);
            let bad_debt = cents(x * abs.b[i][1]);
            let unresolved = (balance - collected - bad_debt).max(Decimal::ZERO);
            // Rounding leaves at most a cent either way: keep it in collected.
            let unresolved = if unresolved <= Decimal::new(1, 2) { Decimal::ZERO } else { unresolved };
            s.balance += balance;
            s.collected += collected;
            s.bad_debt += bad_debt;
            s.unresolved += unresolved;
            s.by_bucket.push(BucketSplit {
                bucket: label.clone(),
                balance,
                collected,
                bad_debt,
                unresolved,
                months_to_absorption: abs.months[i],
            });
        }
        Ok(s)
    }
}

/// Open balances by bucket as of `as_of` (open and disputed invoices).
pub fn balances(ledger: &Ledger, as_of: NaiveDate, edges: &[i32]) -> Vec<Decimal> {
    let mut out = vec![Decimal::ZERO; edges.len() + 2];
    for inv in ledger.invoices.iter().filter(|i| i.is_open() && i.issue_date <= as_of) {
        out[bucket_of(edges, (as_of - inv.due_date).num_days())] += inv.open_amount;
    }
    out
}

/// The roll-rate model as the simulation reports it: the estimated matrix,
/// expected months to absorption, and the eventual split of today's open
/// balances. It is estimated from the ledger's history, which no policy
/// changes, so it is the same under every policy today
/// (`policy_independent`); per-policy roll rates need the forward projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollRateReport {
    pub policy_independent: bool,
    pub matrix: RollRates,
    /// N·1 per bucket: expected months until paid or written off.
    pub months_to_absorption: Vec<f64>,
    /// N·R per bucket: eventual probability of Paid and of Bad debt.
    pub eventual: Vec<[f64; 2]>,
    pub projection: Split,
}

impl RollRateReport {
    /// Estimate the matrix from `ledger` up to `as_of` and project today's balances.
    pub fn build(ledger: &Ledger, as_of: NaiveDate, cfg: &RollRateConfig) -> Result<Self, SimError> {
        let matrix = RollRates::estimate(ledger, as_of, cfg);
        let abs = matrix.absorption()?;
        let projection = matrix.project(&balances(ledger, as_of, &cfg.bucket_edges))?;
        Ok(RollRateReport {
            policy_independent: true,
            matrix,
            months_to_absorption: abs.months,
            eventual: abs.b,
            projection,
        })
    }
}

/// Invert a small square matrix in place (Gauss-Jordan, partial pivoting).
fn invert(a: &mut [Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = a.len();
    let mut inv: Vec<Vec<f64>> = (0..k).map(|i| (0..k).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    for col in 0..k {
        let pivot = (col..k).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let d = a[col][col];
        for j in 0..k {
            a[col][j] /= d;
            inv[col][j] /= d;
        }
        for row in 0..k {
            if row != col {
                let f = a[row][col];
                if f != 0.0 {
                    for j in 0..k {
                        a[row][j] -= f * a[col][j];
                        inv[row][j] -= f * inv[col][j];
                    }
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textbook() -> RollRates {
        RollRates::from_blocks(
            vec!["0-30".into(), "31-90".into()],
            &[vec![0.3, 0.3], vec![0.3, 0.1]],
            &[[0.4, 0.0], [0.4, 0.2]],
        )
    }

    /// The monthly rates into Paid are R's first column, bucket by bucket.
    #[test]
    fn the_paid_rates_are_the_paid_column() {
        assert_eq!(textbook().paid_rates(), vec![0.4, 0.4]);
        let rr = RollRates::from_blocks(vec!["a".into()], &[vec![0.5]], &[[0.25, 0.25]]);
        assert_eq!(rr.paid_rates(), vec![0.25]);
    }

    #[test]
    fn textbook_example_splits_3000_into_2370_collected_and_630_bad_debt() {
        let rr = textbook();
        let abs = rr.absorption().unwrap();
        // N = (I − Q)⁻¹ = 1/0.54 · [[0.9, 0.3], [0.3, 0.7]].
        let n = [[0.9 / 0.54, 0.3 / 0.54], [0.3 / 0.54, 0.7 / 0.54]];
        for (got, want) in abs.n.iter().flatten().zip(n.iter().flatten()) {
            assert!((got - want).abs() < 1e-12);
        }
        assert_eq!(abs.months.iter().map(|m| (m * 100.0).round() / 100.0).collect::<Vec<_>>(), vec![2.22, 1.85]);
        let split = rr.project(&[Decimal::from(1000), Decimal::from(2000)]).unwrap();
        assert_eq!(split.collected.round(), Decimal::from(2370));
        assert_eq!(split.bad_debt.round(), Decimal::from(630));
        // To the cent: 1,000 × 8/9 + 2,000 × 20/27 and 1,000 × 1/9 + 2,000 × 7/27.
        assert_eq!(split.collected, Decimal::new(237037, 2));
        assert_eq!(split.bad_debt, Decimal::new(62963, 2));
        assert_eq!(split.unresolved, Decimal::ZERO);
        assert_eq!(split.collected + split.bad_debt, Decimal::from(3000));
        // Within one month: 1,000 × 0.4 + 2,000 × 0.4 paid, 2,000 × 0.2 bad.
        assert_eq!(
            rr.within(&[Decimal::from(1000), Decimal::from(2000)], 1),
            (Decimal::from(1200), Decimal::from(400))
        );
        // Many months: the eventual split.
        assert_eq!(rr.within(&[Decimal::from(1000), Decimal::from(2000)], 200), (split.collected, split.bad_debt));
    }

    #[test]
    fn a_bucket_that_never_leaves_is_an_error() {
        let rr = RollRates::from_blocks(vec!["a".into()], &[vec![1.0]], &[[0.0, 0.0]]);
        assert!(matches!(rr.absorption(), Err(SimError::Singular(_))));
    }

    #[test]
    fn an_unobserved_bucket_stays_unresolved() {
        let rr = RollRates::from_blocks(
            vec!["a".into(), "b".into()],
            &[vec![0.5, 0.0], vec![0.0, 0.0]],
            &[[0.5, 0.0], [0.0, 0.0]],
        );
        let s = rr.project(&[Decimal::from(10), Decimal::from(7)]).unwrap();
        assert_eq!((s.collected, s.bad_debt, s.unresolved), (Decimal::from(10), Decimal::ZERO, Decimal::from(7)));
    }

    #[test]
    fn month_ends_run_to_the_last_one_on_or_before_the_date() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(month_ends(d("2026-01-15"), d("2026-03-30")), vec![d("2026-01-31"), d("2026-02-28")]);
        assert_eq!(bucket_of(&[30, 60, 90], 0), 0);
        assert_eq!(bucket_of(&[30, 60, 90], 31), 2);
        assert_eq!(bucket_of(&[30, 60, 90], 91), 4);
    }
}
