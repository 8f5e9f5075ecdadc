//! Writing a simulation: comparison.json, comparison.csv, diff.csv and
//! diff.jsonl as one atomic output set, and the terminal table.

use super::backtest::Backtest;
use super::compare::{Comparison, CustomerDiff, MetricRow, PolicyRun};
use super::project::{Band, Forward, RollRateCheck, Scenario, SummaryBand, WeekBand};
use super::rollrate::{ABSORBING, RollRateReport};
use super::verdict::Verdict;
use crate::output::{OutputError, OutputSet};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The files of a simulation's output folder, in the order written.
pub const FILES: &[&str] = &["comparison.json", "comparison.csv", "diff.csv", "diff.jsonl", "rollrates.csv"];

/// One metric in comparison.json: its value per policy label and each
/// variant minus the baseline.
#[derive(Debug, Serialize)]
pub struct MetricJson<'a> {
    pub metric: &'a str,
    pub values: BTreeMap<&'a str, Decimal>,
    pub minus_baseline: BTreeMap<&'a str, Decimal>,
}

/// comparison.json.
#[derive(Debug, Serialize)]
pub struct ComparisonJson<'a> {
    pub as_of: chrono::NaiveDate,
    pub customers: u64,
    pub baseline: &'a str,
    pub policies: &'a [PolicyRun],
    /// Customers whose actions differ from the baseline's, per variant.
    pub customers_changed: BTreeMap<&'a str, u64>,
    pub metrics: Vec<MetricJson<'a>>,
    /// The roll-rate model: policy-independent today.
    pub roll_rates: Option<&'a RollRateReport>,
    /// Why the roll-rate model could not be built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roll_rates_problem: Option<&'a str>,
}

impl<'a> ComparisonJson<'a> {
    pub fn of(c: &'a Comparison) -> Self {
        let labels: Vec<&str> = c.runs.iter().map(|r| r.label.as_str()).collect();
        let metrics = c
            .rows
            .iter()
            .map(|row| MetricJson {
                metric: &row.metric,
                values: labels.iter().copied().zip(row.values.iter().copied()).collect(),
                minus_baseline: labels.iter().enumerate().skip(1).map(|(i, &l)| (l, row.delta(i))).collect(),
            })
            .collect();
        ComparisonJson {
            as_of: c.as_of,
            customers: c.customers,
            baseline: labels.first().copied().unwrap_or(""),
            policies: &c.runs,
            customers_changed: c.changed_customers(),
            metrics,
            roll_rates: c.roll_rates.as_ref().ok(),
            roll_rates_problem: c.roll_rates.as_ref().err().map(String::as_str),
        }
    }
}

fn value(row: &MetricRow, v: Decimal) -> String {
    if row.money { format!("{v:.2}") } else { v.normalize().to_string() }
}

/// comparison.csv: one row per metric; a column per policy, then one per
/// variant minus the baseline.
pub fn comparison_csv(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let base = c.baseline().map(|r| r.label.as_str()).unwrap_or("");
    let mut header = vec!["metric".to_string()];
    header.extend(c.runs.iter().map(|r| r.label.clone()));
    header.extend(c.runs.iter().skip(1).map(|r| format!("{} - {base}", r.label)));
    out.write_record(&header)?;
    for row in &c.rows {
        let mut rec = vec![row.metric.clone()];
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
        serde_json::to_writer(&mut *w, d)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// The files the forward projection adds.
pub const FORWARD_FILES: &[&str] = &["forward.json", "forward_weekly.csv", "forward_summary.csv"];

/// forward.json.
#[derive(Debug, Serialize)]
pub struct ForwardJson<'a> {
    pub as_of: chrono::NaiveDate,
    pub days: u32,
    pub runs: u32,
    pub seed: u64,
    pub scenario: &'a Scenario,
    pub week_ends: &'a [chrono::NaiveDate],
    /// Each variant against the baseline, metric by metric: the paired
    /// differences and whether they stand out from the noise (first: what
    /// a reader wants to know).
    pub verdicts: Vec<Verdict>,
    /// The roll-rate model over the same horizon, beside `opening_paid`.
    pub roll_rate_check: Option<&'a RollRateCheck>,
    pub summary: Vec<SummaryBand>,
    /// Cash collected since the as-of date by each week's end, P10/P50/P90
    /// of the runs' running totals.
    pub cumulative_cash: Vec<WeekBand>,
    pub weekly: Vec<WeekBand>,
}

impl<'a> ForwardJson<'a> {
    pub fn of(f: &'a Forward) -> Self {
        ForwardJson {
            as_of: f.as_of,
            days: f.days,
            runs: f.runs,
            seed: f.seed,
            scenario: &f.scenario,
            week_ends: &f.week_ends,
            verdicts: f.verdicts(),
            roll_rate_check: f.roll_rate_check.as_ref(),
            summary: f.summary(),
            cumulative_cash: f.cumulative_cash(),
            weekly: f.weekly(),
        }
    }
}

fn money_or_count(metric: &str, v: Decimal) -> String {
    if matches!(metric, "calls" | "letters") { v.normalize().to_string() } else { format!("{v:.2}") }
}

/// forward_weekly.csv: per policy, week and metric, P10/P50/P90 across runs.
pub fn forward_weekly_csv(w: &mut dyn Write, rows: &[WeekBand]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["policy", "week", "week_end", "metric", "p10", "p50", "p90"])?;
    for r in rows {
        let m = r.metric.as_str();
        out.write_record([
            r.policy.clone(),
            r.week.to_string(),
            r.week_end.to_string(),
            r.metric.clone(),
            money_or_count(m, r.band.p10),
            money_or_count(m, r.band.p50),
            money_or_count(m, r.band.p90),
        ])?;
    }
    out.flush()
}

/// forward_summary.csv: per metric and policy over the horizon (flows
/// summed, stocks at the end), and the paired variant-minus-baseline band.
///
/// The variants' rows end with the paired verdict's figures ([`Verdict`]):
/// the mean difference, the share of runs in which the variant is better,
/// whether the difference is distinguishable from the noise, and about how
/// many runs would tell when it is not.
pub fn forward_summary_csv(w: &mut dyn Write, rows: &[SummaryBand], verdicts: &[Verdict]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "metric",
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
        let m = r.metric.as_str();
        let d =
            |f: fn(&Band) -> Decimal| r.minus_baseline.as_ref().map(|b| money_or_count(m, f(b))).unwrap_or_default();
        let v = verdicts.iter().find(|v| v.metric == r.metric && v.variant == r.policy);
        let v_mean = v.map(|v| format!("{:.2}", v.mean)).unwrap_or_default();
        let v_share = v.and_then(|v| v.share_better).map(|s| format!("{s:.3}")).unwrap_or_default();
        let v_dist = v.map(|v| v.distinguishable.to_string()).unwrap_or_default();
        let v_runs = v.and_then(|v| v.runs_needed).map(|k| k.to_string()).unwrap_or_default();
        out.write_record([
            r.metric.clone(),
            r.policy.clone(),
            money_or_count(m, r.band.p10),
            money_or_count(m, r.band.p50),
            money_or_count(m, r.band.p90),
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
/// the paired difference of each variant with the baseline.
pub fn print_forward(out: &mut dyn Write, f: &Forward) -> io::Result<()> {
    let rows = f.summary();
    let labels: Vec<&str> = f.policies.iter().map(|p| p.label.as_str()).collect();
    let base = labels.first().copied().unwrap_or("");
    writeln!(
        out,
        "\n  forward: {} days from {}, {} runs, seed {}: P50 [P10, P90]; flows summed over the horizon, dso/ar/overdue at its end",
        f.days, f.as_of, f.runs, f.seed
    )?;
    print_verdicts(out, f, base)?;
    let metrics: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for r in &rows {
            if !v.contains(&r.metric.as_str()) {
                v.push(&r.metric);
            }
        }
        v
    };
    let band = |m: &str, b: &Band| {
        format!("{} [{}, {}]", money_or_count(m, b.p50), money_or_count(m, b.p10), money_or_count(m, b.p90))
    };
    let mut heads: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    heads.extend(labels.iter().skip(1).map(|l| format!("{l} - {base}")));
    let cells: Vec<Vec<String>> = metrics
        .iter()
        .map(|m| {
            let mine: Vec<&SummaryBand> = rows.iter().filter(|r| r.metric == *m).collect();
            let mut v: Vec<String> = mine.iter().map(|r| band(m, &r.band)).collect();
            v.extend(mine.iter().skip(1).map(|r| r.minus_baseline.as_ref().map(|b| band(m, b)).unwrap_or_default()));
            v
        })
        .collect();
    let first = metrics.iter().map(|m| m.len()).max().unwrap_or(6).max(6);
    let widths: Vec<usize> = (0..heads.len())
        .map(|j| cells.iter().filter_map(|r| r.get(j)).map(String::len).chain([heads[j].len()]).max().unwrap_or(8))
        .collect();
    write!(out, "  {:<first$}", "metric")?;
    for (h, w) in heads.iter().zip(&widths) {
        write!(out, "  {h:>w$}")?;
    }
    writeln!(out)?;
    for (m, cells) in metrics.iter().zip(&cells) {
        write!(out, "  {m:<first$}")?;
        for (cell, w) in cells.iter().zip(&widths) {
            write!(out, "  {cell:>w$}")?;
        }
        writeln!(out)?;
    }
    if let Some(c) = &f.roll_rate_check {
        let mc = |label: &str| {
            rows.iter()
                .find(|r| r.metric == "opening_paid" && r.policy == label)
                .map(|r| band("opening_paid", &r.band))
                .unwrap_or_default()
        };
        writeln!(
            out,
            "\n  check: of today's open AR {:.2}, paid within the horizon: Monte Carlo {} ({base}); roll rates {:.2} in {} month(s), {:.2} written off",
            c.opening_balance,
            mc(base),
            c.paid,
            c.months,
            c.written_off
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
    backtest: Option<&Backtest>,
    sweep: Option<&super::sweep::Sweep>,
) -> Result<(), OutputError> {
    if let Some(sw) = sweep {
        set.write("sweep.csv", |w| super::sweep::sweep_csv(w, c, forward, sw))?;
    }
    if let Some(b) = backtest {
        set.write("backtest.json", |w| {
            serde_json::to_writer_pretty(&mut *w, b)?;
            w.write_all(b"\n")
        })?;
        set.write("backtest.csv", |w| backtest_csv(w, b))?;
        if let Some(r) = &b.rolling {
            set.write("backtest_origins.csv", |w| backtest_origins_csv(w, r))?;
        }
    }
    if let Some(f) = forward {
        let json = ForwardJson::of(f);
        set.write("forward.json", |w| {
            serde_json::to_writer_pretty(&mut *w, &json)?;
            w.write_all(b"\n")
        })?;
        set.write("forward_weekly.csv", |w| forward_weekly_csv(w, &json.weekly))?;
        set.write("forward_summary.csv", |w| forward_summary_csv(w, &json.summary, &json.verdicts))?;
    }
    set.write("comparison.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &ComparisonJson::of(c))?;
        w.write_all(b"\n")
    })?;
    set.write("comparison.csv", |w| comparison_csv(w, c))?;
    set.write("diff.csv", |w| diff_csv(w, &c.diffs))?;
    set.write("diff.jsonl", |w| diff_jsonl(w, &c.diffs))?;
    set.write("rollrates.csv", |w| match &c.roll_rates {
        Ok(rr) => rollrates_csv(w, rr),
        Err(_) => rollrates_csv_header(w, &[]),
    })?;
    set.commit()
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
    let mut heads: Vec<String> = vec!["metric".to_string()];
    heads.extend(c.runs.iter().map(|r| r.label.clone()));
    heads.extend(c.runs.iter().skip(1).map(|r| format!("{} - {base}", r.label)));
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut v: Vec<String> = vec![row.metric.to_string()];
            v.extend(row.values.iter().map(|&x| value(row, x)));
            v.extend((1..c.runs.len()).map(|i| signed(&value(row, row.delta(i)), row.delta(i))));
            v
        })
        .collect();
    let after = c
        .changed_customers()
        .into_iter()
        .map(|(variant, n)| format!("{variant}: {n} customer(s) with different actions from `{base}`"))
        .collect();
    (title, heads, cells, after)
}

fn rollrates_header(buckets: &[String]) -> Vec<String> {
    let mut h = vec!["bucket".to_string()];
    h.extend(buckets.iter().map(|b| format!("to_{b}")));
    h.extend(ABSORBING.iter().map(|a| format!("to_{a}")));
    h.extend(
        [
            "observed",
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

/// rollrates.csv: one row per aging bucket — the monthly transition
/// probabilities to every state, the money observed leaving it, N·R, N·1, and
/// the eventual split of today's balance in it.
pub fn rollrates_csv(w: &mut dyn Write, rr: &RollRateReport) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let m = &rr.matrix;
    out.write_record(rollrates_header(&m.buckets))?;
    for (i, b) in m.buckets.iter().enumerate() {
        let mut rec = vec![b.clone()];
        rec.extend(m.p[i].iter().map(|p| format!("{p:.4}")));
        rec.push(format!("{:.2}", m.observed[i]));
        rec.extend(rr.eventual[i].iter().map(|p| format!("{p:.4}")));
        rec.push(format!("{:.2}", rr.months_to_absorption[i]));
        let s = &rr.projection.by_bucket[i];
        rec.extend([s.balance, s.collected, s.bad_debt, s.unresolved].map(|d| format!("{d:.2}")));
        out.write_record(&rec)?;
    }
    out.flush()
}

/// The roll-rate matrix and the eventual split, for the terminal.
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
    writeln!(out, "{:>10}{:>16}{:>16}{:>14}", "months", "balance", "collected", "bad debt")?;
    for (i, b) in m.buckets.iter().enumerate() {
        write!(out, "  {b:<10}")?;
        for p in &m.p[i] {
            write!(out, "{p:>10.3}")?;
        }
        let s = &rr.projection.by_bucket[i];
        // A space before each amount keeps columns apart when one outgrows its width.
        writeln!(
            out,
            "{:>10.2} {:>15.2} {:>15.2} {:>13.2}",
            rr.months_to_absorption[i], s.balance, s.collected, s.bad_debt
        )?;
    }
    let p = &rr.projection;
    writeln!(
        out,
        "  eventually: {:.2} of {:.2} collected, {:.2} bad debt{}",
        p.collected,
        p.balance,
        p.bad_debt,
        if p.unresolved.is_zero() { String::new() } else { format!(", {:.2} unresolved", p.unresolved) }
    )
}

fn signed(s: &str, d: Decimal) -> String {
    if d > Decimal::ZERO { format!("+{s}") } else { s.to_string() }
}

/// The back-test's files.
pub const BACKTEST_FILES: &[&str] = &["backtest.json", "backtest.csv"];

/// backtest.csv: one row per week, then a `total` row; the naive
/// forecasts' weekly cash in the last columns.
pub fn backtest_csv(w: &mut dyn Write, b: &Backtest) -> io::Result<()> {
    let naive = |id: &str| b.naive.iter().find(|n| n.id == id);
    let (na, nb) = (naive("a"), naive("b"));
    let at = |n: Option<&super::backtest::NaiveForecast>, k: usize| {
        n.and_then(|n| n.weekly.get(k)).map(|x| x.to_string()).unwrap_or_default()
    };
    let total = |n: Option<&super::backtest::NaiveForecast>| {
        n.map(|n| n.weekly.iter().copied().sum::<Decimal>().to_string()).unwrap_or_default()
    };
    writeln!(w, "week,week_end,actual,p10,p50,p90,error_pct,inside,naive_a,naive_b")?;
    for (k, x) in b.weeks.iter().enumerate() {
        let err = x.error_pct.map(|e| format!("{e:.2}")).unwrap_or_default();
        let (p10, p50, p90) = (x.predicted.p10, x.predicted.p50, x.predicted.p90);
        writeln!(
            w,
            "{},{},{},{p10},{p50},{p90},{err},{},{},{}",
            x.week,
            x.week_end,
            x.actual,
            x.inside,
            at(na, k),
            at(nb, k)
        )?;
    }
    let t = &b.predicted_total;
    let inside = t.p10 <= b.actual_total && b.actual_total <= t.p90;
    writeln!(w, "total,,{},{},{},{},,{inside},{},{}", b.actual_total, t.p10, t.p50, t.p90, total(na), total(nb))
}

/// backtest_origins.csv: the scores of each forecast from each as-of date
/// of a rolling back-test, then their means (`as_of` = `mean`).
pub fn backtest_origins_csv(w: &mut dyn Write, r: &super::backtest::Rolling) -> io::Result<()> {
    use super::backtest::Scores;
    let f = |x: Option<f64>| x.map(|x| format!("{x:.4}")).unwrap_or_default();
    writeln!(w, "as_of,forecast,mape_pct,pinball_pct,coverage")?;
    let mut row = |as_of: &str, s: [Scores; 3]| -> io::Result<()> {
        for (name, s) in ["model", "naive_a", "naive_b"].iter().zip(s) {
            writeln!(w, "{as_of},{name},{},{},{}", f(s.mape_pct), f(s.pinball_pct), f(s.coverage))?;
        }
        Ok(())
    };
    for o in &r.origins {
        row(&o.as_of.to_string(), [o.model, o.naive_a, o.naive_b])?;
    }
    row("mean", [r.mean.model, r.mean.naive_a, r.mean.naive_b])
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

/// The back-test in the terminal: week by week, then MAPE and coverage.
pub fn print_backtest(out: &mut dyn Write, b: &Backtest) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "  back-test of `{}` from {}: weekly cash collected, predicted against actual", b.policy, b.as_of)?;
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
            x.actual,
            x.predicted.p10,
            x.predicted.p50,
            x.predicted.p90,
            err,
            if x.inside { "yes" } else { "no" }
        )?;
    }
    let t = &b.predicted_total;
    writeln!(out, "  {:>4}  {:<10}  {:>14}  {:>14}  {:>14}  {:>14}", "all", "", b.actual_total, t.p10, t.p50, t.p90)?;
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
        "  scores over the {} weeks (lower is better; pinball loss in % of the mean actual week):",
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
            "  rolling back-test: {} as-of dates {} days apart, {} to {}, {} weeks each",
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
        writeln!(out, "  mean of the {} as-of dates:", r.origins.len())?;
        print_scores(
            out,
            [(FORECASTS[0], r.mean.model), (FORECASTS[1], r.mean.naive_a), (FORECASTS[2], r.mean.naive_b)],
        )?;
        print_noise(out, r.mean.noise_mape_pct)?;
    }
    Ok(())
}
