//! The simulation report: a `recoup simulate` output folder as one HTML page.

use super::html::{Cell, cell, document, id, n, note, num, section, t, table};
use super::svg::{BandSeries, Reference, band_panels_in, curve_chart};
use super::{ReportError, read_json, read_text, require};
use crate::simulate::compare::{ActionBrief, CustomerDiff};
use crate::simulate::project::{Band, RollRateCheck, Scenario, SummaryBand, WeekBand};
use crate::simulate::verdict::Verdict;
use chrono::NaiveDate;
use maud::{Markup, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Rows of the per-customer diff shown in the page (the rest: diff.csv).
pub const MAX_DIFF_ROWS: usize = 5000;

/// One policy in comparison.json.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyJson {
    pub label: String,
    pub policy: String,
    pub version: String,
    pub path: String,
}

/// One metric row of comparison.json.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricJson {
    pub metric: String,
    /// The currency of a money metric; none for counts.
    #[serde(default)]
    pub currency: Option<String>,
    /// The handler of a `workload_*` metric.
    #[serde(default)]
    pub owner: Option<String>,
    pub values: BTreeMap<String, Decimal>,
    pub minus_baseline: BTreeMap<String, Decimal>,
}

/// comparison.json, as `simulate::write::ComparisonJson` writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct ComparisonFile {
    pub as_of: NaiveDate,
    pub customers: u64,
    pub baseline: String,
    pub policies: Vec<PolicyJson>,
    pub customers_changed: BTreeMap<String, u64>,
    pub metrics: Vec<MetricJson>,
    #[serde(default)]
    pub roll_rates_problem: Option<String>,
    /// Totals across currencies at the baseline's `[reporting]` rates.
    #[serde(default)]
    pub converted: Option<ConvertedJson>,
}

/// comparison.json's `converted`: money metrics' totals across currencies,
/// converted, with what they are in words.
#[derive(Debug, Clone, Deserialize)]
pub struct ConvertedJson {
    pub label: String,
    pub currency: String,
    pub metrics: Vec<ConvertedMetric>,
}

/// One converted total per policy (and variant minus baseline).
#[derive(Debug, Clone, Deserialize)]
pub struct ConvertedMetric {
    pub metric: String,
    pub values: BTreeMap<String, Decimal>,
    pub minus_baseline: BTreeMap<String, Decimal>,
}

/// forward.json, as `simulate::write::ForwardJson` writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct ForwardFile {
    pub as_of: NaiveDate,
    pub days: u32,
    pub runs: u32,
    pub seed: u64,
    pub scenario: Scenario,
    /// The customers' currencies: money is per currency.
    #[serde(default)]
    pub currencies: Vec<String>,
    pub week_ends: Vec<NaiveDate>,
    #[serde(default)]
    pub roll_rate_check: Vec<RollRateCheck>,
    /// Absent from simulations written before the verdicts.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    pub summary: Vec<SummaryBand>,
    #[serde(default)]
    pub cumulative_cash: Vec<WeekBand>,
    pub weekly: Vec<WeekBand>,
}

/// sweep.csv, when the simulation was a sweep: its header and rows as text
/// (the report draws every numeric column against the swept value).
#[derive(Debug, Clone)]
pub struct SweepFile {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Everything the simulation report reads.
#[derive(Debug, Clone)]
pub struct SimInputs {
    pub comparison: ComparisonFile,
    pub diffs: Vec<CustomerDiff>,
    pub forward: Option<ForwardFile>,
    pub sweep: Option<SweepFile>,
}

/// Read a simulation's output folder.
pub fn load(dir: &Path) -> Result<SimInputs, ReportError> {
    const CMD: &str = "simulate";
    let comparison = read_json(&require(dir, CMD, "comparison.json")?)?;
    let path = require(dir, CMD, "diff.jsonl")?;
    let text = read_text(&path)?;
    let mut diffs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let d: CustomerDiff = serde_json::from_str(line).map_err(|e| ReportError::Format {
            path: path.clone(),
            at: Some((i as u64 + 1, e.column() as u64)),
            message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
        })?;
        diffs.push(d);
    }
    let forward = dir.join("forward.json");
    let forward = if forward.is_file() { Some(read_json(&forward)?) } else { None };
    let sweep = dir.join("sweep.csv");
    let sweep = if sweep.is_file() { Some(read_sweep(&sweep)?) } else { None };
    Ok(SimInputs { comparison, diffs, forward, sweep })
}

fn read_sweep(path: &Path) -> Result<SweepFile, ReportError> {
    let text = read_text(path)?;
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let bad = |e: csv::Error| ReportError::Format {
        path: path.to_path_buf(),
        at: e.position().map(|p| (p.line(), 1)),
        message: e.to_string(),
    };
    let header = r.headers().map_err(bad)?.iter().map(String::from).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        rows.push(rec.map_err(bad)?.iter().map(String::from).collect());
    }
    Ok(SweepFile { header, rows })
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// A band in a table cell: P50, and P10 – P90 below it.
fn band_cell(b: Option<&Band>) -> Cell {
    match b {
        Some(b) => Cell::NumHtml(html! { (num(&b.p50)) br; span class="band" { (num(&b.p10)) " – " (num(&b.p90)) } }),
        None => n(""),
    }
}

/// Render the simulation report.
pub fn render(dir: &Path, s: &SimInputs) -> String {
    let c = &s.comparison;
    let labels: Vec<&str> = c.policies.iter().map(|p| p.label.as_str()).collect();
    let mut nav: Vec<(&str, &str)> = Vec::new();
    // What a reader wants first: the verdicts, then the cash each policy brings in.
    if s.forward.is_some() {
        nav.push(("verdicts", "Verdicts"));
        nav.push(("cash", "Cumulative cash"));
    }
    nav.push(("policies", "Policies"));
    if s.forward.is_some() {
        nav.push(("forward", "Forward"));
    }
    nav.push(("comparison", "Comparison"));
    if s.sweep.is_some() {
        nav.push(("sweep", "Sweep"));
    }
    nav.push(("diff", "Per-customer diff"));

    let rows: Vec<Vec<Cell>> = c
        .policies
        .iter()
        .map(|p| {
            vec![
                t(if p.label == c.baseline { format!("{} (baseline)", p.label) } else { p.label.clone() }),
                t(&p.policy),
                t(&p.version),
                t(&p.path),
                n(c.metrics
                    .iter()
                    .find(|m| m.metric == "actions" && m.currency.is_none())
                    .and_then(|m| m.values.get(&p.label))
                    .map(num)
                    .unwrap_or_else(|| "—".to_string())),
                n(c.customers_changed.get(&p.label).map(num).unwrap_or_else(|| "—".to_string())),
            ]
        })
        .collect();
    let policies = html! {
        (table(None, &["label", "policy", "version", "path", "#actions today", "#customers changed"], &rows))
        (note(&format!(
            "{} customers as of {}. Every policy ran through the same engine on the same ledger; a customer is changed when its actions differ from the baseline's.",
            c.customers, c.as_of
        )))
    };
    let body = html! {
        @if let Some(fw) = &s.forward {
            (section("verdicts", "Verdicts", verdicts(fw, &c.baseline, labels.len())))
            (section("cash", "Cash collected since the as-of date", cumulative_cash(fw, &labels)))
        }
        (section("policies", "Policies compared", policies))
        @if let Some(fw) = &s.forward {
            (section("forward", "Forward projection", forward(fw, &labels)))
        }
        (section("comparison", "Today's comparison", comparison(c, &labels)))
        @if let Some(sw) = &s.sweep {
            (section("sweep", "Sweep trade-offs", sweep(sw)))
        }
        (section("diff", "Per-customer diff", diff_table(&s.diffs, &labels)))
    };

    // A sweep's labels all repeat its key: the title names it once.
    let title = match (&s.sweep, labels.split_first()) {
        (Some(_), Some((base, swept))) if !swept.is_empty() && swept.iter().all(|l| l.contains('=')) => {
            let key = swept[0].rsplit_once('=').map_or("", |(k, _)| k);
            let values: Vec<&str> = swept.iter().map(|l| l.rsplit('=').next().unwrap_or(l)).collect();
            format!("recoup simulate: {base}, and {key} at {}", values.join(", "))
        }
        _ => format!("recoup simulate: {}", labels.join(" vs ")),
    };
    let subtitle = format!("as of {} · {} customers · {}", c.as_of, c.customers, dir.display());
    document(&title, &subtitle, &nav, body, SORT_FILTER)
}

fn weekly_series(fw: &ForwardFile, labels: &[&str], metric: &str, currency: &str) -> Vec<BandSeries> {
    labels
        .iter()
        .map(|l| {
            let mut p10 = vec![None; fw.week_ends.len()];
            let (mut p50, mut p90) = (p10.clone(), p10.clone());
            for w in fw
                .weekly
                .iter()
                .filter(|w| w.policy == *l && w.metric == metric && w.currency.as_deref() == Some(currency))
            {
                if let Some(i) = w.week.checked_sub(1).filter(|&i| i < p10.len()) {
                    p10[i] = Some(f(w.band.p10));
                    p50[i] = Some(f(w.band.p50));
                    p90[i] = Some(f(w.band.p90));
                }
            }
            BandSeries { label: l.to_string(), p10, p50, p90 }
        })
        .collect()
}

/// The verdicts: the differences that stand out from the noise, then those
/// that do not, then the metrics identical in every run; and the table of
/// paired differences behind them.
fn verdicts(fw: &ForwardFile, base: &str, policies: usize) -> Markup {
    if fw.verdicts.is_empty() {
        return note(if policies > 1 {
            "This simulation was written before verdicts were: run `recoup simulate` again to get them."
        } else {
            "One policy only: nothing to compare. Give a --variant to get verdicts."
        });
    }
    let (stand, rest): (Vec<&Verdict>, Vec<&Verdict>) = fw.verdicts.iter().partition(|v| v.distinguishable);
    let (same, noise): (Vec<&Verdict>, Vec<&Verdict>) = rest.into_iter().partition(|v| v.identical);
    // One line, not one per metric, when every difference is too few runs to judge.
    let too_few = (fw.runs as usize) < crate::simulate::verdict::MIN_RUNS;
    let mut variants: Vec<&str> = Vec::new();
    for v in &same {
        if !variants.contains(&v.variant.as_str()) {
            variants.push(&v.variant);
        }
    }
    let identical = |l: &str| {
        let ms: Vec<String> = same
            .iter()
            .filter(|v| v.variant == l)
            .map(|v| match &v.currency {
                Some(c) => format!("{} {c}", v.metric),
                None => v.metric.clone(),
            })
            .collect();
        ms.join(", ")
    };
    let rows: Vec<Vec<Cell>> = fw
        .verdicts
        .iter()
        .map(|v| {
            vec![
                id(&v.metric),
                t(v.currency.as_deref().unwrap_or("—")),
                id(&v.variant),
                n(num(&v.mean)),
                band_cell(Some(&v.band)),
                n(v.share_better.map(|x| format!("{:.0} %", x * 100.0)).unwrap_or_else(|| "—".into())),
                t(if v.distinguishable {
                    "yes".to_string()
                } else if v.identical {
                    "identical".to_string()
                } else {
                    v.runs_needed.map(|k| format!("no (about {k} runs)")).unwrap_or_else(|| "no".into())
                }),
            ]
        })
        .collect();
    html! {
        (note(&format!(
            "Each variant against the baseline `{base}`, run by run on the same random draws ({} runs of {} days). A difference is distinguishable when its mean is at least 1.96 standard errors from zero; otherwise the runs that would tell are estimated from the spread of the differences.",
            fw.runs, fw.days
        )))
        ul class="verdicts" {
            @for v in &stand { li { strong { (v.text) } } }
            @if too_few {
                @if !noise.is_empty() {
                    li {
                        (fw.runs) " run(s) are too few for a verdict on any of the " (noise.len())
                        " differences below: give --runs 40 or more"
                    }
                }
            } @else {
                @for v in &noise { li { (v.text) } }
            }
            @for l in &variants { li { (l) ": identical in every run: " (identical(l)) } }
        }
        h3 { "Paired differences, variant − baseline" }
        (table(
            Some("wide"),
            &["metric", "currency", "variant", "#mean", "#P50, P10 – P90", "#better in", "distinguishable"],
            &rows
        ))
    }
}

/// Cash collected since the as-of date, per currency and policy: the runs'
/// running totals, P50 with the P10–P90 band, one panel per policy on one
/// scale, one row of panels per currency (never added across currencies).
fn cumulative_cash(fw: &ForwardFile, labels: &[&str]) -> Markup {
    if fw.cumulative_cash.is_empty() {
        return note("This simulation was written before cumulative cash was: run `recoup simulate` again.");
    }
    let weeks: Vec<String> = fw.week_ends.iter().map(|d| d.format("%b %d").to_string()).collect();
    let last = fw.week_ends.len();
    let mut panels: Vec<Markup> = Vec::new();
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for code in &fw.currencies {
        let mine = |w: &&WeekBand| w.currency.as_deref() == Some(code.as_str());
        let series: Vec<BandSeries> = labels
            .iter()
            .map(|l| {
                let mut p10 = vec![None; fw.week_ends.len()];
                let (mut p50, mut p90) = (p10.clone(), p10.clone());
                for w in fw.cumulative_cash.iter().filter(mine).filter(|w| w.policy == *l) {
                    if let Some(i) = w.week.checked_sub(1).filter(|&i| i < p10.len()) {
                        p10[i] = Some(f(w.band.p10));
                        p50[i] = Some(f(w.band.p50));
                        p90[i] = Some(f(w.band.p90));
                    }
                }
                BandSeries { label: l.to_string(), p10, p50, p90 }
            })
            .collect();
        let chart = band_panels_in(
            &format!("Cash collected since the as-of date ({code}), P50 with P10–P90 band"),
            Some(code),
            &weeks,
            &series,
        );
        panels.push(html! { h3 { (code) } (chart) });
        for l in labels {
            let b = fw.cumulative_cash.iter().filter(mine).find(|w| w.policy == *l && w.week == last).map(|w| &w.band);
            rows.push(vec![t(code), id(*l), band_cell(b)]);
        }
    }
    html! {
        @for p in &panels { (p) }
        (table(None, &["currency", "policy", "#by the horizon's end: P50, P10 – P90"], &rows))
        (note("Each currency's customers apart: amounts in different currencies are never added. The band of each week is that of the runs' totals so far (not a sum of weekly bands); the grey line in a variant's panel is the baseline's median."))
    }
}

fn forward(fw: &ForwardFile, labels: &[&str]) -> Markup {
    let weeks: Vec<String> = fw.week_ends.iter().map(|d| d.format("%b %d").to_string()).collect();
    let charts = |code: &str| {
        html! {
            h3 { (code) ": cash collected per week" }
            (band_panels_in(
                &format!("Cash collected per week ({code}), P50 with P10–P90 band"),
                Some(code),
                &weeks,
                &weekly_series(fw, labels, "cash_collected", code)
            ))
            h3 { (code) ": DSO at each week's end (days)" }
            (band_panels_in(
                &format!("DSO at week end ({code} customers, days), P50 with P10–P90 band"),
                Some("days"),
                &weeks,
                &weekly_series(fw, labels, "dso", code)
            ))
        }
    };
    // The weekly figures behind the charts.
    let mut head: Vec<String> = vec!["#week".into(), "#week end".into()];
    head.extend(labels.iter().map(|l| format!("#{l}")));
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let weekly = |code: &str, m: &str| -> Vec<Vec<Cell>> {
        fw.week_ends
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut r = vec![n((i + 1).to_string()), n(d.to_string())];
                r.extend(labels.iter().map(|l| {
                    band_cell(
                        fw.weekly
                            .iter()
                            .find(|x| {
                                x.policy == *l
                                    && x.metric == m
                                    && x.currency.as_deref() == Some(code)
                                    && x.week == i + 1
                            })
                            .map(|x| &x.band),
                    )
                }));
                r
            })
            .collect()
    };
    let metrics = [("cash_collected", "cash collected per week"), ("dso", "DSO at each week's end (days)")];

    // Horizon summary.
    let base = labels.first().copied().unwrap_or("");
    let mut head: Vec<String> = vec!["metric".into(), "currency".into()];
    head.extend(labels.iter().map(|l| format!("#{l}")));
    head.extend(labels.iter().skip(1).map(|l| format!("#{l} − {base}")));
    let summary_head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut summary_metrics: Vec<(&str, Option<&str>)> = Vec::new();
    for r in &fw.summary {
        let k = (r.metric.as_str(), r.currency.as_deref());
        if !summary_metrics.contains(&k) {
            summary_metrics.push(k);
        }
    }
    let rows: Vec<Vec<Cell>> = summary_metrics
        .iter()
        .map(|&(m, cur)| {
            let mine =
                |l: &str| fw.summary.iter().find(|r| r.metric == m && r.currency.as_deref() == cur && r.policy == l);
            let mut r = vec![t(m), t(cur.unwrap_or("—"))];
            r.extend(labels.iter().map(|l| band_cell(mine(l).map(|x| &x.band))));
            r.extend(labels.iter().skip(1).map(|l| band_cell(mine(l).and_then(|x| x.minus_baseline.as_ref()))));
            r
        })
        .collect();
    html! {
        (note(&format!(
            "{} days from {}, {} Monte Carlo runs per policy, seed {}. One panel per policy on one scale: the line is the median (P50) across runs, the shaded band P10–P90; the grey line is the baseline's median.",
            fw.days, fw.as_of, fw.runs, fw.seed
        )))
        @for code in &fw.currencies { (charts(code)) }
        @for code in &fw.currencies {
            @for (m, title) in metrics {
                h3 { (code) ": " (title) ": P50, P10 – P90" }
                (table(None, &head_refs, &weekly(code, m)))
            }
        }
        h3 { "Over the horizon: P50, P10 – P90" }
        (table(Some("wide"), &summary_head, &rows))
        (note(
            "Flows are summed over the horizon; dso, ar_total and overdue are at its end. The difference columns are the band of the run-by-run differences with the baseline (common random numbers)."
        ))
        @for rc in &fw.roll_rate_check {
            (note(&format!(
                "Roll-rate check, {}: of today's open AR {}, the roll-rate model has {} paid and {} written off within {} month(s); compare opening_paid {} above.",
                rc.currency,
                num(&rc.opening_balance),
                num(&rc.paid),
                num(&rc.written_off),
                rc.months,
                rc.currency
            )))
        }
    }
}

fn comparison(c: &ComparisonFile, labels: &[&str]) -> Markup {
    let base = c.baseline.as_str();
    let mut head: Vec<String> = vec!["metric".into(), "currency".into()];
    head.extend(labels.iter().map(|l| format!("#{l}")));
    head.extend(labels.iter().skip(1).map(|l| format!("#{l} − {base}")));
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let rows: Vec<Vec<Cell>> = c
        .metrics
        .iter()
        .filter(|m| m.values.values().any(|v| !v.is_zero()))
        .map(|m| {
            let name = match &m.owner {
                Some(o) => format!("{} {o}", m.metric),
                None => m.metric.clone(),
            };
            let mut r = vec![t(name), t(m.currency.as_deref().unwrap_or("—"))];
            r.extend(labels.iter().map(|l| n(m.values.get(*l).map(num).unwrap_or_default())));
            r.extend(labels.iter().skip(1).map(|l| {
                n(m.minus_baseline
                    .get(*l)
                    .map(|v| if *v > Decimal::ZERO { format!("+{}", num(v)) } else { num(v) })
                    .unwrap_or_default())
            }));
            r
        })
        .collect();
    let converted = |cv: &ConvertedJson| -> Vec<Vec<Cell>> {
        let signed = |v: &Decimal| if *v > Decimal::ZERO { format!("+{}", num(v)) } else { num(v) };
        cv.metrics
            .iter()
            .filter(|m| m.values.values().any(|v| !v.is_zero()))
            .map(|m| {
                let mut r = vec![t(&m.metric), t(&cv.currency)];
                r.extend(labels.iter().map(|l| n(m.values.get(*l).map(num).unwrap_or_default())));
                r.extend(labels.iter().skip(1).map(|l| n(m.minus_baseline.get(*l).map(signed).unwrap_or_default())));
                r
            })
            .collect()
    };
    html! {
        (table(None, &head_refs, &rows))
        @if let Some(cv) = &c.converted {
            h3 { "Totals across currencies, converted" }
            (note(&cv.label))
            (table(None, &head_refs, &converted(cv)))
        }
        (note("Metrics that are zero under every policy are left out (comparison.csv has them all). Counts of actions and their amounts are today's plan of each policy; counts are for the whole portfolio, money per currency (never added across currencies)."))
        @if let Some(p) = &c.roll_rates_problem {
            (note(&format!("Roll rates not available: {p}")))
        }
    }
}

/// The swept value as a number: the cell itself, or what follows `=` in a
/// `KEY=V` label.
fn sweep_x(cell: &str) -> Option<f64> {
    let v = cell.rsplit('=').next().unwrap_or(cell).trim();
    v.trim_end_matches('%').parse::<f64>().ok()
}

fn sweep(sw: &SweepFile) -> Markup {
    let first = sw.header.first().map(String::as_str).unwrap_or("value");
    // `recoup simulate --sweep` writes `label,value,...` with `value` = `baseline` on the baseline's row: that row
    // has no swept value, so it is a reference line across each chart rather than a point on the curve.
    let value_col = sw.header.iter().position(|h| h == "value");
    let numeric: Vec<usize> = (1..sw.header.len())
        .filter(|&j| {
            Some(j) != value_col
                && sw.rows.iter().all(|r| r.get(j).is_some_and(|c| c.trim().parse::<f64>().is_ok()))
                && sw.rows.iter().any(|r| r.get(j).is_some_and(|c| c.trim().parse::<f64>().is_ok_and(|v| v != 0.0)))
        })
        .collect();
    let is_baseline = |r: &Vec<String>| value_col.is_some_and(|j| r.get(j).is_some_and(|c| c == "baseline"));
    let (base_rows, swept): (Vec<&Vec<String>>, Vec<&Vec<String>>) = sw.rows.iter().partition(|r| is_baseline(r));
    let base = base_rows.first();
    // The swept key: what precedes `=` in `KEY=V` labels, else the column name.
    let key = swept
        .first()
        .and_then(|r| r.first())
        .and_then(|l| l.rsplit_once('='))
        .map(|(k, _)| k.to_string())
        .unwrap_or_else(|| first.to_string());
    let intro = note(&format!(
        "One point per swept value of {key}; each chart is one metric of sweep.csv against it{}. The table below holds every column.",
        match base.and_then(|r| r.first()) {
            Some(b) => format!(", with the baseline ({b}) as a dashed grey line"),
            None => String::new(),
        }
    ));
    let mut charts: Vec<Markup> = Vec::new();
    for &j in &numeric {
        let cell = |r: &Vec<String>| r.get(j).and_then(|c| c.trim().parse::<f64>().ok()).unwrap_or(0.0);
        let pts: Vec<(String, Option<f64>, f64)> = swept
            .iter()
            .map(|r| {
                let label = r.first().cloned().unwrap_or_default();
                let x = value_col.and_then(|v| r.get(v)).and_then(|v| sweep_x(v)).or_else(|| sweep_x(&label));
                (label, x, cell(r))
            })
            .collect();
        let reference = base.map(|r| Reference {
            label: format!("{} (baseline)", r.first().map_or("", String::as_str)),
            value: cell(r),
        });
        let name = &sw.header[j];
        charts.push(curve_chart(&format!("{name} by {key}"), &key, name, &pts, reference.as_ref()));
    }
    // The table turned a quarter: a row per column of sweep.csv, a column
    // per swept value (a handful), so that it fits the page however many
    // metrics the file has.
    let head: Vec<String> = std::iter::once("metric".to_string())
        .chain(sw.rows.iter().map(|r| {
            let label = r.first().map_or("", String::as_str);
            if is_baseline(r) {
                format!("#{label} (baseline)")
            } else {
                format!("#{}", label.rsplit('=').next().unwrap_or(label))
            }
        }))
        .collect();
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let rows: Vec<Vec<Cell>> = (1..sw.header.len())
        .filter(|&j| Some(j) != value_col)
        .map(|j| {
            let cells = sw.rows.iter().map(|r| {
                let c = r.get(j).map_or("", String::as_str);
                if numeric.contains(&j) { n(c) } else { t(c) }
            });
            std::iter::once(t(&sw.header[j])).chain(cells).collect()
        })
        .collect();
    html! {
        (intro)
        div class="charts2" { @for c in &charts { (c) } }
        (table(Some("wide"), &head_refs, &rows))
        (note(&format!("A column per row of sweep.csv: the value of {key} (the labels there are `{key}=VALUE`).")))
    }
}

/// A diff cell's actions: each action in words (a line break allowed after
/// each `;`) with the rule behind it.
fn actions_cell(a: &[ActionBrief]) -> Cell {
    Cell::Html(html! {
        @if a.is_empty() {
            span class="muted" { "—" }
        }
        @for a in a {
            @let words = a.words();
            div {
                @for (i, part) in words.split(';').enumerate() {
                    @if i > 0 { ";" wbr; }
                    (part)
                }
                " "
                span class="muted" { (a.rule_kind) " " (a.rule_id) }
            }
        }
    })
}

fn diff_table(diffs: &[CustomerDiff], labels: &[&str]) -> Markup {
    if diffs.is_empty() {
        return note("No customer's actions differ from the baseline.");
    }
    let shown = diffs.len().min(MAX_DIFF_ROWS);
    let head = ["variant", "customer", "name", "owner", "change", "baseline actions", "variant actions"];
    html! {
        div class="controls" {
            label { "Filter " input id="diff-q" type="search" placeholder="customer, owner, action…"; }
            select id="diff-variant" {
                option value="" { "every variant" }
                @for l in labels.iter().skip(1) { option value=(l) { (l) } }
            }
            select id="diff-change" {
                option value="" { "every change" }
                option { "added" }
                option { "removed" }
                option { "changed" }
            }
            span id="diff-count" class="muted" {}
        }
        @if diffs.len() > MAX_DIFF_ROWS {
            (note(&format!("The first {MAX_DIFF_ROWS} of {} rows; diff.csv holds them all.", diffs.len())))
        }
        table id="diff-table" {
            thead { tr { @for (i, h) in head.iter().enumerate() { th data-sort=(i) { (h) } } } }
            tbody {
                @for d in &diffs[..shown] {
                    @let cells = [
                        t(&d.variant),
                        id(&d.customer_id),
                        t(&d.customer_name),
                        t(d.account_owner.clone().unwrap_or_default()),
                        t(d.change.as_str()),
                        actions_cell(&d.baseline),
                        actions_cell(&d.variant_actions),
                    ];
                    tr data-variant=(d.variant) data-change=(d.change.as_str()) { @for c in &cells { (cell(c)) } }
                }
            }
        }
    }
}

/// Sorting (click a header) and filtering of the diff table. The table is
/// complete and readable without it.
const SORT_FILTER: &str = r#"
(function () {
  var table = document.getElementById("diff-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var q = document.getElementById("diff-q"), v = document.getElementById("diff-variant"),
      ch = document.getElementById("diff-change"), count = document.getElementById("diff-count");
  function apply() {
    var text = q.value.toLowerCase(), shown = 0;
    rows.forEach(function (r) {
      var ok = (!v.value || r.dataset.variant === v.value) && (!ch.value || r.dataset.change === ch.value) &&
        (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.hidden = !ok;
      if (ok) { shown++; }
    });
    count.textContent = shown + " of " + rows.length + " rows";
  }
  [q, v, ch].forEach(function (el) { el.addEventListener("input", apply); });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.addEventListener("click", function () {
      var i = Number(th.dataset.sort), dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      rows.sort(function (a, b) {
        return dir * a.cells[i].textContent.localeCompare(b.cells[i].textContent, undefined, { numeric: true });
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  apply();
})();
"#;
