//! Paired comparison of each variant with the baseline, and a verdict per
//! metric: is the difference distinguishable from the simulation's noise
//! at this number of runs?
//!
//! Run `r` of every policy draws the same numbers for the same customer,
//! invoice, day and purpose ([`super::draw`]), so the run-by-run difference
//! variant − baseline is the effect of the policy plus what remains of the
//! noise. Per metric (flows summed over the horizon, stocks at its end):
//! the P10, P50 and P90 of those differences, their mean, and the share of
//! runs in which the variant is better (for the metrics that have a better
//! direction: [`better`]).
//!
//! The rule: the difference is *distinguishable* when the mean paired
//! difference is at least 1.96 standard errors from zero
//! (`|mean| ≥ 1.96 · sd / √runs`, `sd` the standard deviation of the paired
//! differences: a two-sided test at 5 %). When it is not, the runs that
//! would tell are estimated from the same figures: the number at which a
//! difference the size of this mean is found four times in five,
//! `((1.96 + 0.84) · sd / |mean|)²`. Differences that are zero in every run
//! are "identical", not "indistinguishable"; fewer than [`MIN_RUNS`] runs
//! give no verdict.

use super::project::{Band, Forward, SummaryBand, WeekBand};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// z of a two-sided test at 5 %.
const Z: f64 = 1.96;
/// z of a power of 80 %.
const POWER: f64 = 0.84;
/// Fewer runs give no verdict: the spread of so few differences is itself
/// too uncertain for the rule (and the percentiles are single runs).
pub const MIN_RUNS: usize = 10;
/// Past this many runs, "would tell" says the difference is too small to matter.
const MAX_RUNS: f64 = 100_000.0;

/// Which way is better for a metric: `Some(true)` higher, `Some(false)`
/// lower, `None` neither (`ar_total`: less AR may be fewer sales).
pub fn better(metric: &str) -> Option<bool> {
    match metric {
        "cash_collected" | "agency_recovered" | "fees_collected" | "new_sales" | "opening_paid" => Some(true),
        "ar_total" => None,
        _ => Some(false),
    }
}

/// The paired comparison of one metric of one variant with the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub metric: String,
    /// The currency of a money metric (and of `dso`); none for counts.
    pub currency: Option<String>,
    pub variant: String,
    /// `higher` or `lower` is better; none for a metric with no better way.
    pub better: Option<String>,
    /// The paired differences, variant − baseline, run by run: P10, P50, P90.
    #[serde(flatten)]
    pub band: Band,
    /// Their mean (2 decimals).
    pub mean: Decimal,
    /// The share of runs in which the variant is better (strictly), 0 to 1;
    /// none for a metric with no better way.
    pub share_better: Option<f64>,
    /// The mean is at least 1.96 standard errors from zero.
    pub distinguishable: bool,
    /// The difference is zero in every run.
    pub identical: bool,
    /// When not distinguishable: about how many runs would tell (none when
    /// the differences are all zero, or their mean is).
    pub runs_needed: Option<u64>,
    /// The verdict in words, for people.
    pub text: String,
}

/// A metric's name in a sentence, with its currency: `EUR cash collected`.
fn words(metric: &str, currency: Option<&str>) -> String {
    let what = match metric {
        "dso" => "DSO".into(),
        "ar_total" => "AR".into(),
        "opening_paid" => "today's open AR paid".into(),
        m => m
            .strip_prefix("overdue_")
            .map_or_else(|| m.replace('_', " "), |b| format!("overdue {}", b.replace("_plus", "+").replace('_', "-"))),
    };
    match currency {
        Some(c) => format!("{c} {what}"),
        None => what,
    }
}

/// A metric's value in a sentence: counts whole, money with its currency's
/// minor units, days with two decimals, and thousands separators; `signed` puts `+` before positive values.
fn figure(metric: &str, currency: Option<&str>, v: Decimal, signed: bool) -> String {
    let s = match (super::project::Unit::of(metric), currency) {
        (super::project::Unit::Count, _) => v.round().normalize().to_string(),
        (super::project::Unit::Money, Some(code)) => crate::engine::words::money_of(v, code),
        _ => crate::engine::words::money(v),
    };
    if signed && v > Decimal::ZERO { format!("+{s}") } else { s }
}

fn is_stock(metric: &str) -> bool {
    metric == "dso" || metric == "ar_total" || metric.starts_with("overdue")
}

/// The horizon in words: `13 weeks` or `30 days`.
fn span(days: u32) -> String {
    match days {
        7 => "1 week".into(),
        d if d % 7 == 0 => format!("{} weeks", d / 7),
        1 => "1 day".into(),
        d => format!("{d} days"),
    }
}

/// The verdict of `variant` on `metric` from its run-by-run differences
/// with the baseline, over a horizon of `days`.
pub fn verdict(metric: &str, currency: Option<&str>, variant: &str, diffs: &[Decimal], days: u32) -> Verdict {
    let n = diffs.len();
    let band = Band::of(&mut diffs.to_vec());
    let sum: Decimal = diffs.iter().sum();
    let mean = if n == 0 { Decimal::ZERO } else { (sum / Decimal::from(n as u64)).round_dp(2) };
    let xs: Vec<f64> = diffs.iter().map(|d| d.to_f64().unwrap_or(0.0)).collect();
    let m = if n == 0 { 0.0 } else { xs.iter().sum::<f64>() / n as f64 };
    let sd = if n < 2 { 0.0 } else { (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() };
    let up = better(metric);
    let share_better = up.filter(|_| n > 0).map(|up| {
        let k = diffs.iter().filter(|d| if up { **d > Decimal::ZERO } else { **d < Decimal::ZERO }).count();
        k as f64 / n as f64
    });
    let all_zero = diffs.iter().all(Decimal::is_zero);
    let enough = n >= MIN_RUNS;
    let distinguishable = enough && !all_zero && m != 0.0 && m.abs() >= Z * sd / (n as f64).sqrt();
    let runs_needed = (enough && !all_zero && !distinguishable && m != 0.0)
        .then(|| ((Z + POWER) * sd / m.abs()).powi(2).ceil().min(MAX_RUNS * 10.0) as u64);
    let what = words(metric, currency);
    let when = if is_stock(metric) { format!("at the end of {}", span(days)) } else { format!("over {}", span(days)) };
    let spread = format!(
        "80 % of runs between {} and {}",
        figure(metric, currency, band.p10, true),
        figure(metric, currency, band.p90, true)
    );
    let text = if n > 0 && all_zero {
        format!("{variant}: {what} identical in every run")
    } else if !enough {
        format!(
            "{variant}: {what} {} {when} on average, but {n} run(s) are too few for a verdict (give --runs 40 or more)",
            figure(metric, currency, mean, true)
        )
    } else if distinguishable {
        let side = match (up, share_better) {
            (Some(_), Some(s)) => format!("better in {:.0} % of runs; ", s * 100.0),
            _ => String::new(),
        };
        format!("{variant}: {what} {} {when} on average ({side}{spread})", figure(metric, currency, mean, true))
    } else {
        let tell = match runs_needed {
            Some(k) if (k as f64) <= MAX_RUNS => format!("; about {k} runs would tell"),
            Some(_) => "; too small a difference for any practical number of runs".to_string(),
            None => String::new(),
        };
        format!(
            "{variant}: no difference in {what} distinguishable at {n} runs (mean {}; {spread}){tell}",
            figure(metric, currency, mean, true)
        )
    };
    Verdict {
        metric: metric.to_string(),
        currency: currency.map(str::to_string),
        variant: variant.to_string(),
        better: up.map(|u| if u { "higher" } else { "lower" }.to_string()),
        band,
        mean,
        share_better,
        distinguishable,
        identical: n > 0 && all_zero,
        runs_needed,
        text,
    }
}

impl Forward {
    /// Cash collected since the as-of date, cumulated run by run, then its
    /// P10/P50/P90 per policy and week (metric `cash_collected_cumulative`):
    /// the band of what has come in by each week, not a sum of weekly bands.
    pub fn cumulative_cash(&self) -> Vec<WeekBand> {
        let mut out = Vec::new();
        for (cx, code) in self.currencies.iter().enumerate() {
            for p in &self.policies {
                let mut totals = vec![Decimal::ZERO; p.runs.len()];
                for (w, &end) in self.week_ends.iter().enumerate() {
                    for (t, run) in totals.iter_mut().zip(&p.runs) {
                        *t += run.get(w).and_then(|wk| wk.money.get(cx)).map_or(Decimal::ZERO, |m| m.cash_collected);
                    }
                    out.push(WeekBand {
                        policy: p.label.clone(),
                        week: w + 1,
                        week_end: end,
                        metric: "cash_collected_cumulative".into(),
                        currency: Some(code.clone()),
                        band: Band::of(&mut totals.clone()),
                    });
                }
            }
        }
        out
    }

    /// The horizon summary of each money metric (not DSO) converted to the
    /// `[reporting]` currency and added across currencies run by run (so
    /// the band is of the runs' converted totals, not a sum of bands): none
    /// without `[reporting]`, the currencies with no rate when some lack one.
    pub fn converted_summary(&self) -> Option<Result<Vec<SummaryBand>, Vec<String>>> {
        let r = self.reporting.as_ref()?;
        let missing: Vec<String> =
            self.currencies.iter().filter(|c| r.convert(c, Decimal::ZERO).is_none()).cloned().collect();
        if !missing.is_empty() {
            return Some(Err(missing));
        }
        let converted = |runs: &[Vec<super::project::Week>]| -> Vec<(String, Vec<Decimal>)> {
            let mut out: Vec<(String, Vec<Decimal>)> = Vec::new();
            for (mv, vals) in self.horizon(runs) {
                let Some(code) = mv.currency.as_deref().filter(|_| mv.metric != "dso") else { continue };
                let i = match out.iter().position(|o| o.0 == mv.metric) {
                    Some(i) => i,
                    None => {
                        out.push((mv.metric.clone(), vec![Decimal::ZERO; vals.len()]));
                        out.len() - 1
                    }
                };
                for (t, v) in out[i].1.iter_mut().zip(&vals) {
                    *t += r.convert(code, *v).unwrap_or_default();
                }
            }
            out
        };
        let all: Vec<Vec<(String, Vec<Decimal>)>> = self.policies.iter().map(|p| converted(&p.runs)).collect();
        let mut out = Vec::new();
        let Some(base) = all.first() else { return Some(Ok(out)) };
        for (m, (name, b)) in base.iter().enumerate() {
            for (pi, p) in self.policies.iter().enumerate() {
                let Some((_, vals)) = all[pi].get(m) else { continue };
                let minus_baseline = (pi > 0).then(|| {
                    let mut d: Vec<Decimal> = vals.iter().zip(b).map(|(v, b)| v - b).collect();
                    Band::of(&mut d)
                });
                out.push(SummaryBand {
                    metric: name.clone(),
                    currency: Some(r.currency.clone()),
                    policy: p.label.clone(),
                    band: Band::of(&mut vals.clone()),
                    minus_baseline,
                });
            }
        }
        Some(Ok(out))
    }

    /// Every variant's verdict on every metric (money metrics once per
    /// currency), in metric order then variant order.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let Some(base) = self.policies.first() else { return Vec::new() };
        let base_h = self.horizon(&base.runs);
        let variants: Vec<_> = self.policies.iter().skip(1).map(|p| (p, self.horizon(&p.runs))).collect();
        let mut out = Vec::new();
        for (m, (mv, b)) in base_h.iter().enumerate() {
            for (p, h) in &variants {
                let Some((_, v)) = h.get(m) else { continue };
                let diffs: Vec<Decimal> = v.iter().zip(b).map(|(v, b)| v - b).collect();
                out.push(verdict(&mv.metric, mv.currency.as_deref(), &p.label, &diffs, self.days));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(v: &[i64]) -> Vec<Decimal> {
        v.iter().map(|&x| Decimal::from(x)).collect()
    }

    /// Hand-computed: differences 1..=10 (×1,000): mean 5,500, sd 3,027.65,
    /// standard error 957.4; 5,500 ≥ 1.96 × 957.4: distinguishable; all
    /// ten runs better; P10 2,000 and P90 9,000 (nearest rank).
    #[test]
    fn a_consistent_difference_is_distinguishable() {
        let v = verdict(
            "cash_collected",
            Some("EUR"),
            "strict",
            &ds(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(|x| x * 1000)),
            91,
        );
        assert!(v.distinguishable);
        assert_eq!(v.mean, Decimal::from(5500));
        assert_eq!((v.band.p10, v.band.p90), (Decimal::from(2000), Decimal::from(9000)));
        assert_eq!(v.share_better, Some(1.0));
        assert_eq!(v.runs_needed, None);
        assert_eq!(
            v.text,
            "strict: EUR cash collected +5,500.00 over 13 weeks on average (better in 100 % of runs; 80 % of runs between +2,000.00 and +9,000.00)"
        );
    }

    /// Hand-computed: differences −10, +12 alternating over 10 runs: mean 1,
    /// sd 11.59 (√(10 · 121 / 9)), standard error 3.67 > 1/1.96: not
    /// distinguishable; runs that would tell ((2.8 × 11.595 / 1)² = 1,054.0)
    /// 1,055; for DSO lower is better: 5 runs of 10.
    #[test]
    fn a_difference_within_the_noise_says_how_many_runs_would_tell() {
        let v = verdict("dso", Some("EUR"), "strict", &ds(&[-10, 12, -10, 12, -10, 12, -10, 12, -10, 12]), 91);
        assert!(!v.distinguishable);
        assert_eq!(v.mean, Decimal::ONE);
        assert_eq!(v.share_better, Some(0.5));
        assert_eq!(v.runs_needed, Some(1055));
        assert_eq!(
            v.text,
            "strict: no difference in EUR DSO distinguishable at 10 runs (mean +1.00; 80 % of runs between -10.00 and +12.00); about 1055 runs would tell"
        );
    }

    #[test]
    fn identical_runs_and_a_single_run_are_said_as_such() {
        let v = verdict("new_sales", Some("USD"), "call-18", &ds(&[0, 0, 0]), 30);
        assert!(!v.distinguishable && v.runs_needed.is_none());
        assert_eq!(v.text, "call-18: USD new sales identical in every run");
        // Nine runs of a difference of 100 are too few for a verdict.
        let v = verdict("calls", None, "call-18", &ds(&[100; 9]), 30);
        assert!(!v.distinguishable && v.runs_needed.is_none());
        assert_eq!(
            v.text,
            "call-18: calls +100 over 30 days on average, but 9 run(s) are too few for a verdict (give --runs 40 or more)"
        );
        let v = verdict("ar_total", Some("GBP"), "x", &ds(&[5, 6, 7, 5, 6, 7, 5, 6, 7, 6]), 30);
        assert_eq!((v.better, v.share_better), (None, None));
        assert!(v.text.starts_with("x: GBP AR +6.00 at the end of 30 days on average (80 % of runs"), "{}", v.text);
    }
}
