//! Writing a simulation: comparison.json, comparison.csv, diff.csv and
//! diff.jsonl as one atomic output set, and the terminal table.

use super::backtest::Backtest;
use super::compare::{Comparison, CustomerDiff, MetricRow};
use super::project::{Band, Forward, SummaryBand, Unit, WeekBand};
use super::rollrate::{ABSORBING, RollRateReport, Split};
use super::verdict::Verdict;
use crate::output::{OutputError, OutputSet};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The files of a simulation's output folder, in the order written.
pub const FILES: &[&str] = &["comparison.json", "comparison.csv", "diff.csv", "diff.jsonl", "rollrates.csv"];

/// Money of `currency` as the machine outputs write it: a decimal string
/// with the currency's minor units (`"1250.00"`, `"1250"` for JPY).
pub fn money_str(d: Decimal, currency: &str) -> String {
    crate::money::json::text_in(d, crate::money::minor_units(currency))
}

/// A metric's value as JSON: money a decimal string with its currency's
/// minor units, a count a whole number, days a number.
fn typed(unit: Unit, currency: Option<&str>, d: Decimal) -> Value {
    match unit {
        Unit::Money => Value::String(money_str(d, currency.unwrap_or(""))),
        Unit::Count => Value::from(d.round().to_i64().unwrap_or(0)),
        Unit::Days => Value::from(d.to_f64().unwrap_or(0.0)),
    }
}

/// A metric's value as CSV text, as [`typed`] (no quotes).
fn plain(unit: Unit, currency: Option<&str>, d: Decimal) -> String {
    match unit {
        Unit::Money => money_str(d, currency.unwrap_or("")),
        Unit::Count => d.round().normalize().to_string(),
        Unit::Days => format!("{:.2}", d),
    }
}

fn band_json(unit: Unit, currency: Option<&str>, b: &Band) -> Value {
    json!({ "p10": typed(unit, currency, b.p10), "p50": typed(unit, currency, b.p50), "p90": typed(unit, currency, b.p90) })
}

/// Put `band`'s P10/P50/P90 into the object `o`.
fn put_band(o: &mut Map<String, Value>, unit: Unit, currency: Option<&str>, b: &Band) {
    o.insert("p10".into(), typed(unit, currency, b.p10));
    o.insert("p50".into(), typed(unit, currency, b.p50));
    o.insert("p90".into(), typed(unit, currency, b.p90));
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Money => "money",
        Unit::Count => "count",
        Unit::Days => "days",
    }
}

fn split_json(s: &Split, currency: &str) -> Value {
    let m = |d: Decimal| Value::String(money_str(d, currency));
    json!({
        "balance": m(s.balance),
        "collected": m(s.collected),
        "bad_debt": m(s.bad_debt),
        "unresolved": m(s.unresolved),
        "by_bucket": s.by_bucket.iter().map(|b| json!({
            "bucket": b.bucket,
            "balance": m(b.balance),
            "collected": m(b.collected),
            "bad_debt": m(b.bad_debt),
            "unresolved": m(b.unresolved),
            "months_to_absorption": b.months_to_absorption,
        })).collect::<Vec<_>>(),
    })
}

/// comparison.json: today's comparison in the machine contract
/// (docs/simulation.md, docs/schemas/comparison.schema.json): snake_case
/// metric ids, a currency on every money figure, money as decimal strings
/// with the currency's minor units, counts as numbers.
#[derive(Debug)]
pub struct ComparisonJson<'a> {
    pub c: &'a Comparison,
}

impl<'a> ComparisonJson<'a> {
    pub fn of(c: &'a Comparison) -> Self {
        ComparisonJson { c }
    }

    /// The document.
    pub fn value(&self) -> ComparisonDoc {
        let c = self.c;
        let labels: Vec<&str> = c.runs.iter().map(|r| r.label.as_str()).collect();
        let metrics: Vec<Value> = c
            .rows
            .iter()
            .map(|row| {
                let unit = if row.money { Unit::Money } else { Unit::Count };
                let cur = row.currency.as_deref();
                let values: Map<String, Value> =
                    labels.iter().zip(&row.values).map(|(l, &v)| (l.to_string(), typed(unit, cur, v))).collect();
                let minus: Map<String, Value> = labels
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(i, l)| (l.to_string(), typed(unit, cur, row.delta(i))))
                    .collect();
                json!({
                    "metric": row.metric,
                    "currency": row.currency,
                    "owner": row.owner,
                    "unit": unit_name(unit),
                    "values": values,
                    "minus_baseline": minus,
                })
            })
            .collect();
        let currencies: Vec<&String> = {
            let mut v: Vec<&String> = c.rows.iter().filter_map(|r| r.currency.as_ref()).collect();
            v.sort();
            v.dedup();
            v
        };
        let roll_rates = c.roll_rates.as_ref().ok().map(|rr| {
            let m = &rr.matrix;
            let projection: Map<String, Value> =
                c.roll_rate_split.iter().map(|(code, s)| (code.clone(), split_json(s, code))).collect();
            json!({
                "policy_independent": rr.policy_independent,
                "buckets": m.buckets,
                "from": m.from,
                "to": m.to,
                "transitions": m.transitions,
                "p": m.p,
                "months_to_absorption": rr.months_to_absorption,
                "eventual": rr.eventual,
                "projection": projection,
            })
        });
        ComparisonDoc {
            as_of: json!(c.as_of),
            customers: json!(c.customers),
            baseline: json!(labels.first().copied().unwrap_or("")),
            currencies: json!(currencies),
            policies: c
                .runs
                .iter()
                .map(|r| json!({ "label": r.label, "policy": r.policy, "version": r.version, "path": r.path }))
                .collect(),
            customers_changed: json!(c.changed_customers()),
            metrics,
            roll_rates: roll_rates.unwrap_or(Value::Null),
            roll_rates_problem: json!(c.roll_rates.as_ref().err()),
            converted: match (c.converted(), &c.reporting) {
                (Some(Ok(rows)), Some(r)) => {
                    let codes: Vec<&String> = c.rows.iter().filter_map(|x| x.currency.as_ref()).collect();
                    json!({
                        "label": r.label(),
                        "currency": r.currency,
                        "rates_date": r.rates_date,
                        "rates": r.rates_of(codes),
                        "metrics": rows.iter().map(|row| json!({
                            "metric": row.metric,
                            "values": labels.iter().zip(&row.values)
                                .map(|(l, &v)| (l.to_string(), Value::String(money_str(v, &r.currency))))
                                .collect::<Map<String, Value>>(),
                            "minus_baseline": labels.iter().enumerate().skip(1)
                                .map(|(i, l)| (l.to_string(), Value::String(money_str(row.delta(i), &r.currency))))
                                .collect::<Map<String, Value>>(),
                        })).collect::<Vec<_>>(),
                    })
                }
                _ => Value::Null,
            },
        }
    }
}

/// comparison.json's members in the order written (a reader's order).
#[derive(Debug, Serialize)]
pub struct ComparisonDoc {
    as_of: Value,
    customers: Value,
    baseline: Value,
    currencies: Value,
    policies: Vec<Value>,
    customers_changed: Value,
    metrics: Vec<Value>,
    roll_rates: Value,
    roll_rates_problem: Value,
    /// Money metrics' totals across currencies at the baseline's
    /// `[reporting]` rates, labelled as converted; null without them.
    converted: Value,
}

/// forward.json's members in the order written: the verdicts before the
/// figures behind them.
#[derive(Debug, Serialize)]
pub struct ForwardDoc {
    as_of: Value,
    days: Value,
    runs: Value,
    seed: Value,
    scenario: Value,
    currencies: Value,
    buckets: Value,
    week_ends: Value,
    verdicts: Vec<Value>,
    roll_rate_check: Vec<Value>,
    summary: Vec<Value>,
    cumulative_cash: Vec<Value>,
    weekly: Vec<Value>,
    /// Money metrics' horizon totals across currencies at the baseline's
    /// `[reporting]` rates, run by run, labelled as converted; null without them.
    converted: Value,
}

fn value(row: &MetricRow, v: Decimal) -> String {
    let unit = if row.money { Unit::Money } else { Unit::Count };
    plain(unit, row.currency.as_deref(), v)
}

/// comparison.csv: one row per metric (and currency, and handler); a
/// column per policy, then one per variant minus the baseline.
pub fn comparison_csv(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let base = c.baseline().map(|r| r.label.as_str()).unwrap_or("");
    let mut header = vec!["metric".to_string(), "currency".to_string(), "owner".to_string()];
    header.extend(c.runs.iter().map(|r| r.label.clone()));
    header.extend(c.runs.iter().skip(1).map(|r| format!("{} - {base}", r.label)));
    out.write_record(&header)?;
    for row in &c.rows {
        let mut rec =
            vec![row.metric.clone(), row.currency.clone().unwrap_or_default(), row.owner.clone().unwrap_or_default()];
        rec.extend(row.values.iter().map(|&v| value(row, v)));
        rec.extend((1..c.runs.len()).map(|i| value(row, row.delta(i))));
        out.write_record(&rec)?;
    }
    out.flush()
}

/// The columns of diff.csv.
pub const DIFF_COLUMNS: &[&str] = &[
    "variant",
    "customer_id",
    "customer_name",
    "account_owner",
    "change",
    "baseline_actions",
    "baseline_rules",
    "variant_actions",
    "variant_rules",
];

/// diff.csv: one row per variant and customer whose actions differ; actions
/// and their rules joined with ` | ` in plan order.
pub fn diff_csv(w: &mut dyn Write, diffs: &[CustomerDiff]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(DIFF_COLUMNS)?;
    for d in diffs {
        let words = |a: &[super::compare::ActionBrief]| a.iter().map(|a| a.words()).collect::<Vec<_>>().join(" | ");
        let rules = |a: &[super::compare::ActionBrief]| {
            a.iter().map(|a| format!("{} {}", a.rule_kind, a.rule_id)).collect::<Vec<_>>().join(" | ")
        };
        out.write_record([
            d.variant.as_str(),
            &d.customer_id,
            &d.customer_name,
            d.account_owner.as_deref().unwrap_or(""),
            d.change.as_str(),
            &words(&d.baseline),
            &rules(&d.baseline),
            &words(&d.variant_actions),
            &rules(&d.variant_actions),
        ])?;
    }
    out.flush()
}

/// diff.jsonl: one line per variant and customer, with every action's rule,
/// amounts and reason.
pub fn diff_jsonl(w: &mut dyn Write, diffs: &[CustomerDiff]) -> io::Result<()> {
    for d in diffs {
        // Money with the minor units of the customer's currency.
        let _scope = crate::money::Scope::enter(&d.currency);
        serde_json::to_writer(&mut *w, d)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// The files the forward projection adds.
pub const FORWARD_FILES: &[&str] = &["forward.json", "forward_weekly.csv", "forward_summary.csv"];

/// forward.json: the projection in the machine contract (docs/simulation.md,
/// docs/schemas/forward.schema.json). Holds the computed rows the CSV files
/// and the terminal also use.
#[derive(Debug)]
pub struct ForwardJson<'a> {
    pub f: &'a Forward,
    /// Each variant against the baseline, metric by metric (money metrics
    /// per currency): the paired differences and whether they stand out
    /// from the noise (first: what a reader wants to know).
    pub verdicts: Vec<Verdict>,
    pub summary: Vec<SummaryBand>,
    /// Cash collected since the as-of date by each week's end, per
    /// currency, P10/P50/P90 of the runs' running totals.
    pub cumulative_cash: Vec<WeekBand>,
    pub weekly: Vec<WeekBand>,
}

fn week_band_json(r: &WeekBand) -> Value {
    let unit = Unit::of(&r.metric);
    let mut o = Map::new();
    o.insert("policy".into(), json!(r.policy));
    o.insert("week".into(), json!(r.week));
    o.insert("week_end".into(), json!(r.week_end));
    o.insert("metric".into(), json!(r.metric));
    o.insert("currency".into(), json!(r.currency));
    o.insert("unit".into(), json!(unit_name(unit)));
    put_band(&mut o, unit, r.currency.as_deref(), &r.band);
    Value::Object(o)
}

impl<'a> ForwardJson<'a> {
    pub fn of(f: &'a Forward) -> Self {
        ForwardJson {
            f,
            verdicts: f.verdicts(),
            summary: f.summary(),
            cumulative_cash: f.cumulative_cash(),
            weekly: f.weekly(),
        }
    }

    /// The document.
    pub fn value(&self) -> ForwardDoc {
        let f = self.f;
        let verdicts: Vec<Value> = self
            .verdicts
            .iter()
            .map(|v| {
                let unit = Unit::of(&v.metric);
                let cur = v.currency.as_deref();
                let mut o = Map::new();
                o.insert("metric".into(), json!(v.metric));
                o.insert("currency".into(), json!(v.currency));
                o.insert("unit".into(), json!(unit_name(unit)));
                o.insert("variant".into(), json!(v.variant));
                o.insert("better".into(), json!(v.better));
                put_band(&mut o, unit, cur, &v.band);
                // The mean of counts is rarely whole: a count's mean is a number.
                let mean = if unit == Unit::Money { typed(unit, cur, v.mean) } else { typed(Unit::Days, cur, v.mean) };
                o.insert("mean".into(), mean);
                o.insert("share_better".into(), json!(v.share_better));
                o.insert("distinguishable".into(), json!(v.distinguishable));
                o.insert("identical".into(), json!(v.identical));
                o.insert("runs_needed".into(), json!(v.runs_needed));
                o.insert("text".into(), json!(v.text));
                Value::Object(o)
            })
            .collect();
        let summary: Vec<Value> = self
            .summary
            .iter()
            .map(|r| {
                let unit = Unit::of(&r.metric);
                let cur = r.currency.as_deref();
                let mut o = Map::new();
                o.insert("metric".into(), json!(r.metric));
                o.insert("currency".into(), json!(r.currency));
                o.insert("unit".into(), json!(unit_name(unit)));
                o.insert("policy".into(), json!(r.policy));
                put_band(&mut o, unit, cur, &r.band);
                o.insert(
                    "minus_baseline".into(),
                    r.minus_baseline.as_ref().map_or(Value::Null, |b| band_json(unit, cur, b)),
                );
                Value::Object(o)
            })
            .collect();
        let checks: Vec<Value> = f
            .roll_rate_check
            .iter()
            .map(|c| {
                let m = |d: Decimal| money_str(d, &c.currency);
                json!({
                    "currency": c.currency,
                    "months": c.months,
                    "opening_balance": m(c.opening_balance),
                    "paid": m(c.paid),
                    "written_off": m(c.written_off),
                })
            })
            .collect();
        ForwardDoc {
            as_of: json!(f.as_of),
            days: json!(f.days),
            runs: json!(f.runs),
            seed: json!(f.seed),
            scenario: json!(f.scenario),
            currencies: json!(f.currencies),
            buckets: json!(f.buckets),
            week_ends: json!(f.week_ends),
            verdicts,
            roll_rate_check: checks,
            summary,
            cumulative_cash: self.cumulative_cash.iter().map(week_band_json).collect(),
            weekly: self.weekly.iter().map(week_band_json).collect(),
            converted: match (f.converted_summary(), &f.reporting) {
                (Some(Ok(rows)), Some(r)) => json!({
                    "label": r.label(),
                    "currency": r.currency,
                    "rates_date": r.rates_date,
                    "rates": r.rates_of(&f.currencies),
                    "summary": rows.iter().map(|row| {
                        let cur = Some(r.currency.as_str());
                        let mut o = Map::new();
                        o.insert("metric".into(), json!(row.metric));
                        o.insert("policy".into(), json!(row.policy));
                        put_band(&mut o, Unit::Money, cur, &row.band);
                        o.insert(
                            "minus_baseline".into(),
                            row.minus_baseline.as_ref().map_or(Value::Null, |b| band_json(Unit::Money, cur, b)),
                        );
                        Value::Object(o)
                    }).collect::<Vec<_>>(),
                }),
                _ => Value::Null,
            },
        }
    }
}

/// forward_weekly.csv: per policy, week, metric and currency, P10/P50/P90 across runs.
pub fn forward_weekly_csv(w: &mut dyn Write, rows: &[WeekBand]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["policy", "week", "week_end", "metric", "currency", "p10", "p50", "p90"])?;
    for r in rows {
        let (unit, cur) = (Unit::of(&r.metric), r.currency.as_deref());
        out.write_record([
            r.policy.clone(),
            r.week.to_string(),
            r.week_end.to_string(),
            r.metric.clone(),
            r.currency.clone().unwrap_or_default(),
            plain(unit, cur, r.band.p10),
            plain(unit, cur, r.band.p50),
            plain(unit, cur, r.band.p90),
        ])?;
    }
    out.flush()
}

/// forward_summary.csv: per metric, currency and policy over the horizon
/// (flows summed, stocks at the end), and the paired variant-minus-baseline
/// band.
///
/// The variants' rows end with the paired verdict's figures ([`Verdict`]):
/// the mean difference, the share of runs in which the variant is better,
/// whether the difference is distinguishable from the noise, and about how
/// many runs would tell when it is not.
pub fn forward_summary_csv(w: &mut dyn Write, rows: &[SummaryBand], verdicts: &[Verdict]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "metric",
        "currency",
        "policy",
        "p10",
        "p50",
        "p90",
        "minus_baseline_p10",
        "minus_baseline_p50",
        "minus_baseline_p90",
        "minus_baseline_mean",
        "share_better",
        "distinguishable",
        "runs_needed",
    ])?;
    for r in rows {
        let (unit, cur) = (Unit::of(&r.metric), r.currency.as_deref());
        let d = |f: fn(&Band) -> Decimal| r.minus_baseline.as_ref().map(|b| plain(unit, cur, f(b))).unwrap_or_default();
        let v = verdicts.iter().find(|v| v.metric == r.metric && v.currency == r.currency && v.variant == r.policy);
        let v_mean = v.map(|v| format!("{:.2}", v.mean)).unwrap_or_default();
        let v_share = v.and_then(|v| v.share_better).map(|s| format!("{s:.3}")).unwrap_or_default();
        let v_dist = v.map(|v| v.distinguishable.to_string()).unwrap_or_default();
        let v_runs = v.and_then(|v| v.runs_needed).map(|k| k.to_string()).unwrap_or_default();
        out.write_record([
            r.metric.clone(),
            r.currency.clone().unwrap_or_default(),
            r.policy.clone(),
            plain(unit, cur, r.band.p10),
            plain(unit, cur, r.band.p50),
            plain(unit, cur, r.band.p90),
            d(|b| b.p10),
            d(|b| b.p50),
            d(|b| b.p90),
            v_mean,
            v_share,
            v_dist,
            v_runs,
        ])?;
    }
    out.flush()
}

/// The horizon summary for the terminal: P50 [P10, P90] per policy, then
/// the paired difference of each variant with the baseline; money metrics
/// one line per currency.
pub fn print_forward(out: &mut dyn Write, f: &Forward) -> io::Result<()> {
    let rows = f.summary();
    let labels: Vec<&str> = f.policies.iter().map(|p| p.label.as_str()).collect();
    let base = labels.first().copied().unwrap_or("");
    writeln!(
        out,
        "\n  forward: {} days from {}, {} runs, seed {}: P50 [P10, P90]; flows summed over the horizon, dso/ar/overdue at its end; money per currency, never added across currencies",
        f.days, f.as_of, f.runs, f.seed
    )?;
    print_verdicts(out, f, base)?;
    let metrics: Vec<(&str, Option<&str>)> = {
        let mut v: Vec<(&str, Option<&str>)> = Vec::new();
        for r in &rows {
            let k = (r.metric.as_str(), r.currency.as_deref());
            if !v.contains(&k) {
                v.push(k);
            }
        }
        v
    };
    let band = |m: &str, cur: Option<&str>, b: &Band| {
        let u = Unit::of(m);
        format!("{} [{}, {}]", plain(u, cur, b.p50), plain(u, cur, b.p10), plain(u, cur, b.p90))
    };
    let mut heads: Vec<String> = vec!["currency".to_string()];
    heads.extend(labels.iter().map(|l| l.to_string()));
    heads.extend(labels.iter().skip(1).map(|l| format!("{l} - {base}")));
    let cells: Vec<Vec<String>> = metrics
        .iter()
        .map(|&(m, cur)| {
            let mine: Vec<&SummaryBand> =
                rows.iter().filter(|r| r.metric == m && r.currency.as_deref() == cur).collect();
            let mut v: Vec<String> = vec![cur.unwrap_or("-").to_string()];
            v.extend(mine.iter().map(|r| band(m, cur, &r.band)));
            v.extend(
                mine.iter().skip(1).map(|r| r.minus_baseline.as_ref().map(|b| band(m, cur, b)).unwrap_or_default()),
            );
            v
        })
        .collect();
    let first = metrics.iter().map(|m| m.0.len()).max().unwrap_or(6).max(6);
    let widths: Vec<usize> = (0..heads.len())
        .map(|j| cells.iter().filter_map(|r| r.get(j)).map(String::len).chain([heads[j].len()]).max().unwrap_or(8))
        .collect();
    write!(out, "  {:<first$}", "metric")?;
    for (h, w) in heads.iter().zip(&widths) {
        write!(out, "  {h:>w$}")?;
    }
    writeln!(out)?;
    for (m, cells) in metrics.iter().zip(&cells) {
        write!(out, "  {:<first$}", m.0)?;
        for (cell, w) in cells.iter().zip(&widths) {
            write!(out, "  {cell:>w$}")?;
        }
        writeln!(out)?;
    }
    match (f.converted_summary(), &f.reporting) {
        (Some(Ok(rows)), Some(r)) => {
            let rates: Vec<String> = r.rates_of(&f.currencies).iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(
                out,
                "\n  totals {} ({}), P50 [P10, P90] of the runs' converted totals:",
                r.label(),
                rates.join(", ")
            )?;
            let cur = Some(r.currency.as_str());
            let mut names: Vec<&str> = Vec::new();
            for row in &rows {
                if !names.contains(&row.metric.as_str()) {
                    names.push(&row.metric);
                }
            }
            for name in names {
                let cells: Vec<String> = rows
                    .iter()
                    .filter(|x| x.metric == name)
                    .map(|x| format!("{} {}", x.policy, band(name, cur, &x.band)))
                    .collect();
                writeln!(out, "    {name} {}: {}", r.currency, cells.join(", "))?;
            }
        }
        (Some(Err(missing)), Some(r)) => writeln!(
            out,
            "\n  [reporting] gives no rate to {} for {}: no total across currencies is given",
            r.currency,
            missing.join(", ")
        )?,
        _ => {}
    }
    if !f.roll_rate_check.is_empty() {
        writeln!(out)?;
    }
    for c in &f.roll_rate_check {
        let cur = Some(c.currency.as_str());
        let mc = rows
            .iter()
            .find(|r| r.metric == "opening_paid" && r.currency.as_deref() == cur && r.policy == base)
            .map(|r| band("opening_paid", cur, &r.band))
            .unwrap_or_default();
        writeln!(
            out,
            "  check {}: of today's open AR {}, paid within the horizon: Monte Carlo {mc} ({base}); roll rates {} in {} month(s), {} written off",
            c.currency,
            money_str(c.opening_balance, &c.currency),
            money_str(c.paid, &c.currency),
            c.months,
            money_str(c.written_off, &c.currency)
        )?;
    }
    Ok(())
}

/// The verdicts, first: each variant's differences that stand out from the
/// noise, then those that do not, then the metrics identical in every run
/// (one line for them all).
fn print_verdicts(out: &mut dyn Write, f: &Forward, base: &str) -> io::Result<()> {
    let verdicts = f.verdicts();
    if verdicts.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n  verdicts against `{base}` (run-by-run differences on the same draws; distinguishable: the mean difference is 1.96 standard errors from zero):"
    )?;
    for v in verdicts.iter().filter(|v| v.distinguishable) {
        writeln!(out, "    {}", v.text)?;
    }
    let noise: Vec<_> = verdicts.iter().filter(|v| !v.distinguishable && !v.identical).collect();
    if (f.runs as usize) < super::verdict::MIN_RUNS {
        // One line, not one per metric: every difference is too few runs to judge.
        if !noise.is_empty() {
            writeln!(
                out,
                "    {} run(s) are too few for a verdict on any of the {} differences (forward_summary.csv has them): give --runs 40 or more",
                f.runs,
                noise.len()
            )?;
        }
    } else {
        for v in noise {
            writeln!(out, "    {}", v.text)?;
        }
    }
    let mut same: Vec<(&str, Vec<&str>)> = Vec::new();
    for v in verdicts.iter().filter(|v| v.identical) {
        match same.iter_mut().find(|(l, _)| *l == v.variant) {
            Some((_, ms)) => ms.push(&v.metric),
            None => same.push((&v.variant, vec![&v.metric])),
        }
    }
    for (variant, metrics) in same {
        writeln!(out, "    {variant}: identical in every run: {}", metrics.join(", "))?;
    }
    writeln!(out)
}

/// Write the output set (created with [`crate::output::Kind::Simulation`]
/// before the work began), replacing its folder as a whole: today's
/// comparison, and the forward projection when there is one.
pub fn write_simulation(
    set: OutputSet,
    c: &Comparison,
    forward: Option<&Forward>,
    backtest: &[Backtest],
    sweep: Option<&super::sweep::Sweep>,
) -> Result<(), OutputError> {
    if let Some(sw) = sweep {
        set.write("sweep.csv", |w| super::sweep::sweep_csv(w, c, forward, sw))?;
    }
    if !backtest.is_empty() {
        set.write("backtest.json", |w| {
            serde_json::to_writer_pretty(&mut *w, &backtest_json(backtest))?;
            w.write_all(b"\n")
        })?;
        set.write("backtest.csv", |w| backtest_csv(w, backtest))?;
        if backtest.iter().any(|b| b.rolling.is_some()) {
            set.write("backtest_origins.csv", |w| backtest_origins_csv(w, backtest))?;
        }
    }
    if let Some(f) = forward {
        write_forward(&set, f)?;
    }
    write_today(&set, c)?;
    set.commit()
}

/// The projection's files (forward.json, forward_weekly.csv,
/// forward_summary.csv) into `set`, uncommitted.
pub fn write_forward(set: &OutputSet, f: &Forward) -> Result<(), OutputError> {
    let json = ForwardJson::of(f);
    set.write("forward.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &json.value())?;
        w.write_all(b"\n")
    })?;
    set.write("forward_weekly.csv", |w| forward_weekly_csv(w, &json.weekly))?;
    set.write("forward_summary.csv", |w| forward_summary_csv(w, &json.summary, &json.verdicts))
}

/// Today's files ([`FILES`]: comparison.json, comparison.csv, diff.csv,
/// diff.jsonl, rollrates.csv) into `set`, uncommitted.
pub fn write_today(set: &OutputSet, c: &Comparison) -> Result<(), OutputError> {
    set.write("comparison.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &ComparisonJson::of(c).value())?;
        w.write_all(b"\n")
    })?;
    set.write("comparison.csv", |w| comparison_csv(w, c))?;
    set.write("diff.csv", |w| diff_csv(w, &c.diffs))?;
    set.write("diff.jsonl", |w| diff_jsonl(w, &c.diffs))?;
    set.write("rollrates.csv", |w| match &c.roll_rates {
        Ok(rr) => rollrates_csv(w, rr, &c.roll_rate_split),
        Err(_) => rollrates_csv_header(w, &[]),
    })
}

/// The terminal comparison as cells: the heading line, the column heads
/// (metric, each policy, each variant minus the baseline), one row per metric
/// that is non-zero under some policy, and the lines after the table. The
/// command line renders them as a table.
pub fn table_cells(c: &Comparison) -> (String, Vec<String>, Vec<Vec<String>>, Vec<String>) {
    let base = c.baseline().map(|r| r.label.as_str()).unwrap_or("");
    let title = format!(
        "recoup simulate: {} customers as of {}, baseline `{base}`, {} variant(s)",
        c.customers,
        c.as_of,
        c.runs.len().saturating_sub(1)
    );
    let rows: Vec<&MetricRow> = c.rows.iter().filter(|r| r.values.iter().any(|v| !v.is_zero())).collect();
    let mut heads: Vec<String> = vec!["metric".to_string(), "currency".to_string()];
    heads.extend(c.runs.iter().map(|r| r.label.clone()));
    heads.extend(c.runs.iter().skip(1).map(|r| format!("{} - {base}", r.label)));
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let metric = match &row.owner {
                Some(o) => format!("{} {o}", row.metric),
                None => row.metric.clone(),
            };
            let mut v: Vec<String> = vec![metric, row.currency.clone().unwrap_or_else(|| "-".into())];
            v.extend(row.values.iter().map(|&x| value(row, x)));
            v.extend((1..c.runs.len()).map(|i| signed(&value(row, row.delta(i)), row.delta(i))));
            v
        })
        .collect();
    let mut after: Vec<String> = c
        .changed_customers()
        .into_iter()
        .map(|(variant, n)| format!("{variant}: {n} customer(s) with different actions from `{base}`"))
        .collect();
    match (c.converted(), &c.reporting) {
        (Some(Ok(rows)), Some(r)) => {
            let codes: Vec<&String> = c.rows.iter().filter_map(|x| x.currency.as_ref()).collect();
            let rates: Vec<String> = r.rates_of(codes).iter().map(|(k, v)| format!("{k} {v}")).collect();
            after.push(format!("totals {} ({}):", r.label(), rates.join(", ")));
            for row in rows.iter().filter(|x| x.values.iter().any(|v| !v.is_zero())) {
                let m = |v: Decimal| crate::engine::words::money_of(v, &r.currency);
                let mut line: Vec<String> =
                    c.runs.iter().zip(&row.values).map(|(run, &v)| format!("{} {}", run.label, m(v))).collect();
                line.extend(
                    (1..c.runs.len())
                        .map(|i| format!("{} - {base} {}", c.runs[i].label, signed(&m(row.delta(i)), row.delta(i)))),
                );
                after.push(format!("  {} {}: {}", row.metric, r.currency, line.join(", ")));
            }
        }
        (Some(Err(missing)), Some(r)) => after.push(format!(
            "[reporting] gives no rate to {} for {}: no total across currencies is given",
            r.currency,
            missing.join(", ")
        )),
        _ => {}
    }
    (title, heads, cells, after)
}

fn rollrates_header(buckets: &[String]) -> Vec<String> {
    let mut h = vec!["currency".to_string(), "bucket".to_string()];
    h.extend(buckets.iter().map(|b| format!("to_{b}")));
    h.extend(ABSORBING.iter().map(|a| format!("to_{a}")));
    h.extend(
        [
            "eventually_paid",
            "eventually_bad_debt",
            "months_to_absorption",
            "balance",
            "collected",
            "bad_debt",
            "unresolved",
        ]
        .map(String::from),
    );
    h
}

fn rollrates_csv_header(w: &mut dyn Write, buckets: &[String]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(rollrates_header(buckets))?;
    out.flush()
}

/// rollrates.csv: one row per currency and aging bucket — the monthly
/// transition probabilities to every state (estimated on the whole ledger:
/// shares, not money), N·R, N·1, and the eventual split of that currency's
/// balance in the bucket today.
pub fn rollrates_csv(w: &mut dyn Write, rr: &RollRateReport, split: &BTreeMap<String, Split>) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let m = &rr.matrix;
    out.write_record(rollrates_header(&m.buckets))?;
    for (code, sp) in split {
        for (i, b) in m.buckets.iter().enumerate() {
            let mut rec = vec![code.clone(), b.clone()];
            rec.extend(m.p[i].iter().map(|p| format!("{p:.4}")));
            rec.extend(rr.eventual[i].iter().map(|p| format!("{p:.4}")));
            rec.push(format!("{:.2}", rr.months_to_absorption[i]));
            let Some(s) = sp.by_bucket.get(i) else { continue };
            rec.extend([s.balance, s.collected, s.bad_debt, s.unresolved].map(|d| money_str(d, code)));
            out.write_record(&rec)?;
        }
    }
    out.flush()
}

/// The roll-rate matrix and the eventual split, for the terminal: the
/// matrix once, the split per currency.
pub fn print_roll_rates(out: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    let rr = match &c.roll_rates {
        Ok(rr) => rr,
        Err(why) => return writeln!(out, "\n  roll rates: not available: {why}"),
    };
    let m = &rr.matrix;
    let (from, to) =
        (m.from.map(|d| d.to_string()).unwrap_or_default(), m.to.map(|d| d.to_string()).unwrap_or_default());
    writeln!(
        out,
        "\n  roll rates: monthly, {} transitions between month ends {from} and {to} (the same under every policy today)",
        m.transitions
    )?;
    write!(out, "  {:<10}", "from")?;
    for h in m.buckets.iter().map(String::as_str).chain(ABSORBING) {
        write!(out, "{h:>10}")?;
    }
    writeln!(out, "{:>10}", "months")?;
    for (i, b) in m.buckets.iter().enumerate() {
        write!(out, "  {b:<10}")?;
        for p in &m.p[i] {
            write!(out, "{p:>10.3}")?;
        }
        writeln!(out, "{:>10.2}", rr.months_to_absorption[i])?;
    }
    writeln!(out, "  eventually, of today's open AR of each currency:")?;
    for (code, p) in &c.roll_rate_split {
        let m = |d: Decimal| crate::engine::words::money_of(d, code);
        writeln!(
            out,
            "    {code}: {} of {} collected, {} bad debt{}",
            m(p.collected),
            m(p.balance),
            m(p.bad_debt),
            if p.unresolved.is_zero() { String::new() } else { format!(", {} unresolved", m(p.unresolved)) }
        )?;
    }
    Ok(())
}

fn signed(s: &str, d: Decimal) -> String {
    if d > Decimal::ZERO { format!("+{s}") } else { s.to_string() }
}

/// The back-test's files.
pub const BACKTEST_FILES: &[&str] = &["backtest.json", "backtest.csv"];

/// backtest.json: one back-test per currency, money as decimal strings
/// with the currency's minor units; scores (percentages, shares) as
/// numbers, `null` when they do not apply.
pub fn backtest_json(bs: &[Backtest]) -> Value {
    Value::Array(
        bs.iter()
            .map(|b| {
                let c = b.currency.as_str();
                let m = |d: Decimal| Value::String(money_str(d, c));
                let band = |x: &Band| json!({ "p10": m(x.p10), "p50": m(x.p50), "p90": m(x.p90) });
                json!({
                    "as_of": b.as_of,
                    "policy": b.policy,
                    "currency": b.currency,
                    "weeks": b.weeks.iter().map(|w| json!({
                        "week": w.week,
                        "week_end": w.week_end,
                        "actual": m(w.actual),
                        "predicted": band(&w.predicted),
                        "error_pct": w.error_pct,
                        "inside": w.inside,
                    })).collect::<Vec<_>>(),
                    "mape_pct": b.mape_pct,
                    "coverage": b.coverage,
                    "pinball_pct": b.pinball_pct,
                    "noise_mape_pct": b.noise_mape_pct,
                    "actual_total": m(b.actual_total),
                    "predicted_total": band(&b.predicted_total),
                    "naive": b.naive.iter().map(|n| json!({
                        "id": n.id,
                        "name": n.name,
                        "weekly": n.weekly.iter().map(|d| m(*d)).collect::<Vec<_>>(),
                        "band": n.band.as_ref().map(|band| band
                            .iter()
                            .map(|&(p10, p90)| json!({ "p10": m(p10), "p90": m(p90) }))
                            .collect::<Vec<_>>()),
                        "mape_pct": n.mape_pct,
                        "pinball_pct": n.pinball_pct,
                        "coverage": n.coverage,
                    })).collect::<Vec<_>>(),
                    "rolling": b.rolling,
                })
            })
            .collect(),
    )
}

/// backtest.csv: per currency, one row per week, then a `total` row; the
/// naive forecasts' weekly cash in the last columns.
pub fn backtest_csv(w: &mut dyn Write, bs: &[Backtest]) -> io::Result<()> {
    writeln!(w, "currency,week,week_end,actual,p10,p50,p90,error_pct,inside,naive_a,naive_b")?;
    for b in bs {
        let (c, m) = (b.currency.as_str(), |d: Decimal| money_str(d, &b.currency));
        let naive = |id: &str| b.naive.iter().find(|n| n.id == id);
        let (na, nb) = (naive("a"), naive("b"));
        let at = |n: Option<&super::backtest::NaiveForecast>, k: usize| {
            n.and_then(|n| n.weekly.get(k)).map(|x| m(*x)).unwrap_or_default()
        };
        let total = |n: Option<&super::backtest::NaiveForecast>| {
            n.map(|n| m(n.weekly.iter().copied().sum::<Decimal>())).unwrap_or_default()
        };
        for (k, x) in b.weeks.iter().enumerate() {
            let err = x.error_pct.map(|e| format!("{e:.2}")).unwrap_or_default();
            let (p10, p50, p90) = (m(x.predicted.p10), m(x.predicted.p50), m(x.predicted.p90));
            writeln!(
                w,
                "{c},{},{},{},{p10},{p50},{p90},{err},{},{},{}",
                x.week,
                x.week_end,
                m(x.actual),
                x.inside,
                at(na, k),
                at(nb, k)
            )?;
        }
        let t = &b.predicted_total;
        let inside = t.p10 <= b.actual_total && b.actual_total <= t.p90;
        writeln!(
            w,
            "{c},total,,{},{},{},{},,{inside},{},{}",
            m(b.actual_total),
            m(t.p10),
            m(t.p50),
            m(t.p90),
            total(na),
            total(nb)
        )?;
    }
    Ok(())
}

/// backtest_origins.csv: per currency, the scores of each forecast from
/// each as-of date of a rolling back-test, then their means (`as_of` =
/// `mean`).
pub fn backtest_origins_csv(w: &mut dyn Write, bs: &[Backtest]) -> io::Result<()> {
    use super::backtest::Scores;
    let f = |x: Option<f64>| x.map(|x| format!("{x:.4}")).unwrap_or_default();
    writeln!(w, "currency,as_of,forecast,mape_pct,pinball_pct,coverage")?;
    for b in bs {
        let Some(r) = &b.rolling else { continue };
        let c = b.currency.as_str();
        let mut row = |as_of: &str, s: [Scores; 3]| -> io::Result<()> {
            for (name, s) in ["model", "naive_a", "naive_b"].iter().zip(s) {
                writeln!(w, "{c},{as_of},{name},{},{},{}", f(s.mape_pct), f(s.pinball_pct), f(s.coverage))?;
            }
            Ok(())
        };
        for o in &r.origins {
            row(&o.as_of.to_string(), [o.model, o.naive_a, o.naive_b])?;
        }
        row("mean", [r.mean.model, r.mean.naive_a, r.mean.naive_b])?;
    }
    Ok(())
}

/// The scores table: the model against naive forecasts (a) and (b).
fn print_scores(out: &mut dyn Write, rows: [(&str, super::backtest::Scores); 3]) -> io::Result<()> {
    let pct = |x: Option<f64>| x.map(|m| format!("{m:.1} %")).unwrap_or_else(|| "-".into());
    let cov = |x: Option<f64>| x.map(|c| format!("{:.0} %", c * 100.0)).unwrap_or_else(|| "no band".into());
    writeln!(out, "  {:<52}  {:>8}  {:>9}  {:>14}", "forecast", "MAPE", "pinball", "inside P10-P90")?;
    for (name, s) in rows {
        writeln!(out, "  {:<52}  {:>8}  {:>9}  {:>14}", name, pct(s.mape_pct), pct(s.pinball_pct), cov(s.coverage))?;
    }
    Ok(())
}

/// The noise floor, in words.
fn print_noise(out: &mut dyn Write, noise: Option<f64>) -> io::Result<()> {
    match noise {
        Some(n) => writeln!(
            out,
            "  noise floor: were the world exactly as the model says, its P50 would still miss a week by {n:.1} % (MAPE against its own runs)"
        ),
        None => Ok(()),
    }
}

/// Names of the three forecasts in the terminal.
const FORECASTS: [&str; 3] = [
    "model: P50 and P10-P90 of the runs",
    "naive a: due date + customer's average delay",
    "naive b: mean (and P10-P90) of the 13 weeks before",
];

/// The back-test in the terminal, per currency: week by week, then MAPE
/// and coverage, the scores against the naive forecasts and, with several
/// as-of dates, the rolling scores.
pub fn print_backtest(out: &mut dyn Write, bs: &[Backtest]) -> io::Result<()> {
    for b in bs {
        print_one_backtest(out, b)?;
    }
    Ok(())
}

fn print_one_backtest(out: &mut dyn Write, b: &Backtest) -> io::Result<()> {
    let m = |d: Decimal| money_str(d, &b.currency);
    writeln!(out)?;
    writeln!(
        out,
        "  back-test of `{}` from {}, {}: weekly cash collected from {} customers, predicted against actual",
        b.policy, b.as_of, b.currency, b.currency
    )?;
    writeln!(
        out,
        "  {:>4}  {:<10}  {:>14}  {:>14}  {:>14}  {:>14}  {:>8}  inside",
        "week", "week end", "actual", "P10", "P50", "P90", "error %"
    )?;
    for x in &b.weeks {
        let err = x.error_pct.map(|e| format!("{e:.1}")).unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "  {:>4}  {:<10}  {:>14}  {:>14}  {:>14}  {:>14}  {:>8}  {}",
            x.week,
            x.week_end,
            m(x.actual),
            m(x.predicted.p10),
            m(x.predicted.p50),
            m(x.predicted.p90),
            err,
            if x.inside { "yes" } else { "no" }
        )?;
    }
    let t = &b.predicted_total;
    writeln!(
        out,
        "  {:>4}  {:<10}  {:>14}  {:>14}  {:>14}  {:>14}",
        "all",
        "",
        m(b.actual_total),
        m(t.p10),
        m(t.p50),
        m(t.p90)
    )?;
    let mape = b.mape_pct.map(|m| format!("{m:.1} %")).unwrap_or_else(|| "-".into());
    writeln!(
        out,
        "  MAPE of the weekly P50: {mape}; actual inside the P10-P90 band in {} of {} weeks ({:.0} %)",
        b.weeks.iter().filter(|w| w.inside).count(),
        b.weeks.len(),
        b.coverage * 100.0
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "  {} scores over the {} weeks (lower is better; pinball loss in % of the mean actual week):",
        b.currency,
        b.weeks.len()
    )?;
    let s = b.scores();
    print_scores(out, [(FORECASTS[0], s.model), (FORECASTS[1], s.naive_a), (FORECASTS[2], s.naive_b)])?;
    print_noise(out, b.noise_mape_pct)?;
    if let Some(r) = &b.rolling {
        let (first, last) = (r.origins.first().map(|o| o.as_of), r.origins.last().map(|o| o.as_of));
        writeln!(out)?;
        writeln!(
            out,
            "  {} rolling back-test: {} as-of dates {} days apart, {} to {}, {} weeks each",
            b.currency,
            r.origins.len(),
            r.every_days,
            first.map(|d| d.to_string()).unwrap_or_default(),
            last.map(|d| d.to_string()).unwrap_or_default(),
            b.weeks.len()
        )?;
        let pct = |x: Option<f64>| x.map(|m| format!("{m:.1}")).unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "  {:<10}  {:>13}  {:>13}  {:>13}  {:>9}  {:>9}  {:>9}  {:>9}",
            "as of", "MAPE model", "MAPE naive a", "MAPE naive b", "pinball m", "pinball a", "pinball b", "inside m"
        )?;
        for o in &r.origins {
            writeln!(
                out,
                "  {:<10}  {:>13}  {:>13}  {:>13}  {:>9}  {:>9}  {:>9}  {:>9}",
                o.as_of.to_string(),
                pct(o.model.mape_pct),
                pct(o.naive_a.mape_pct),
                pct(o.naive_b.mape_pct),
                pct(o.model.pinball_pct),
                pct(o.naive_a.pinball_pct),
                pct(o.naive_b.pinball_pct),
                o.model.coverage.map(|c| format!("{:.0} %", c * 100.0)).unwrap_or_else(|| "-".into())
            )?;
        }
        writeln!(out, "  {} mean of the {} as-of dates:", b.currency, r.origins.len())?;
        print_scores(
            out,
            [(FORECASTS[0], r.mean.model), (FORECASTS[1], r.mean.naive_a), (FORECASTS[2], r.mean.naive_b)],
        )?;
        print_noise(out, r.mean.noise_mape_pct)?;
    }
    Ok(())
}
