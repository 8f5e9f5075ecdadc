//! The morning page: the sections of the run report a credit manager
//! reads first (issue 25) — the headline figures, the trends, the receipts
//! forecast and receipts.csv, the largest debtors, today's work and risk.
//! [`super::run`] reads the inputs and lays out the whole page.

use super::history::{self, Today};
use super::html::{
    Cell, Headline, cash, details, facts, headline_grid, id, n, note, num, t, table, table_with_totals, tiles,
};
use super::run::{History, LARGEST, PlanRow, RunInputs, cash_text, f, tally_rows};
use super::svg::{Axes, HBar, Series, hbars, line_chart, range_bars, sparkline, stacked_area};
use crate::facts::kpi::Portfolio;
use crate::plan::summary::{Summary, Tally};
use chrono::NaiveDate;
use maud::{Markup, html};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A month end as the trend charts label it: `Nov '25`.
fn month_label(d: NaiveDate) -> String {
    d.format("%b '%y").to_string()
}

/// The change of a figure since the last month end, and how it reads.
fn change(
    now: Option<f64>,
    then: Option<f64>,
    unit: &str,
    higher_is: Option<bool>,
    since: &str,
) -> (String, &'static str) {
    match (now, then) {
        (Some(a), Some(b)) => {
            let d = a - b;
            if d.abs() < 0.005 {
                return (format!("unchanged since {since}"), "");
            }
            let arrow = if d > 0.0 { "▲" } else { "▼" };
            let tone = match higher_is {
                Some(good) if (d > 0.0) == good => "better",
                Some(_) => "worse",
                None => "",
            };
            let word = match tone {
                "better" => " (better)",
                "worse" => " (worse)",
                _ => "",
            };
            (format!("{arrow} {:.2}{unit} since {since}{word}", d.abs()), tone)
        }
        _ => (format!("no figure at {since}"), ""),
    }
}

/// The change of an amount since the last month end.
fn change_cash(
    code: &str,
    now: Decimal,
    then: Option<Decimal>,
    higher_is_good: Option<bool>,
    since: &str,
) -> (String, &'static str) {
    match then {
        Some(b) => {
            let d = now - b;
            if d.is_zero() {
                return (format!("unchanged since {since}"), "");
            }
            let arrow = if d > Decimal::ZERO { "▲" } else { "▼" };
            let tone = match higher_is_good {
                Some(good) if (d > Decimal::ZERO) == good => "better",
                Some(_) => "worse",
                None => "",
            };
            let word = match tone {
                "better" => " (better)",
                "worse" => " (worse)",
                _ => "",
            };
            (format!("{arrow} {} since {since}{word}", cash(code, d.abs())), tone)
        }
        None => (format!("no figure at {since}"), ""),
    }
}

pub(super) fn headline(r: &RunInputs, hist: Option<&History>, as_of: NaiveDate) -> Markup {
    let s = &r.summary;
    let last = hist.and_then(|h| h.trends.last());
    let since = last.map(|m| m.date.format("%-d %b").to_string()).unwrap_or_else(|| "last month".to_string());
    let dso_days = s.kpis.values().next().map_or(90, |k| k.dso_days);
    let figures = [
        ("Open AR", "what customers owe today: open and disputed invoices".to_string()),
        ("Overdue", "the part of it past its due date".to_string()),
        ("DSO", format!("days of sales not yet collected: AR ÷ the last {dso_days} days' credit sales")),
        ("Best possible DSO", "the DSO if nothing were overdue: what the payment terms allow".to_string()),
        ("ADD", "average days delinquent: DSO − best possible DSO, the days lost to late payment".to_string()),
        ("CEI %", "collection effectiveness: the share of what could be collected in the last 3 months that was; 100 is perfect".to_string()),
    ];
    let gets: [&Get; 6] = [
        &|p| Some(f(p.ar_total)),
        &|p| Some(f(p.ar_overdue)),
        &|p| p.dso,
        &|p| p.best_possible_dso,
        &|p| p.average_days_delinquent,
        &|p| p.cei,
    ];
    let mut rows = Vec::new();
    for (code, k) in &s.kpis {
        let then = last.and_then(|m| m.kpis.get(code));
        let spark = |label: &str, get: &Get| {
            let Some(h) = hist else { return html! {} };
            let mut v: Vec<Option<f64>> = h.trends.iter().map(|m| m.kpis.get(code).and_then(get)).collect();
            v.push(get(k));
            sparkline(&format!("{label} in {code} at each of the last 12 month ends and on {as_of}"), &v)
        };
        let money = |i: usize, now: Decimal, then: Option<Decimal>, good: Option<bool>| {
            let (change, tone) = change_cash(code, now, then, good, &since);
            Headline { value: cash(code, now), change, tone, spark: spark(figures[i].0, gets[i]) }
        };
        let days = |i: usize, now: Option<f64>, then: Option<f64>, unit: &str, good: Option<bool>| {
            let (change, tone) = change(now, then, unit, good, &since);
            Headline { value: num(&now), change, tone, spark: spark(figures[i].0, gets[i]) }
        };
        let cells = vec![
            money(0, k.ar_total, then.map(|p| p.ar_total), None),
            money(1, k.ar_overdue, then.map(|p| p.ar_overdue), Some(false)),
            days(2, k.dso, then.and_then(|p| p.dso), " days", Some(false)),
            days(3, k.best_possible_dso, then.and_then(|p| p.best_possible_dso), " days", None),
            days(4, k.average_days_delinquent, then.and_then(|p| p.average_days_delinquent), " days", Some(false)),
            days(5, k.cei, then.and_then(|p| p.cei), " points", Some(true)),
        ];
        let detail = format!("{} customers, {} open invoices", num(&k.customers), num(&k.open_invoices));
        rows.push((code.clone(), detail, cells));
    }
    let figs: Vec<(&str, &str)> = figures.iter().map(|(l, m)| (*l, m.as_str())).collect();
    // Where the money is going, and what the team does today, in two lines.
    let expected = hist.map(|h| {
        h.today
            .receipts
            .iter()
            .map(|(code, r)| {
                let four: Decimal = r.weeks.iter().take(4).map(|w| w.expected).sum();
                let all: Decimal = r.weeks.iter().map(|w| w.expected).sum();
                format!("{} in 4 weeks, {} in 13", cash(code, four), cash(code, all))
            })
            .collect::<Vec<String>>()
            .join(" · ")
    });
    let today = format!(
        "{} actions for {} customers; {} tasks for people; holds: {} placed, {} released; limit changes: {}",
        num(&s.actions.count),
        num(&s.customers_with_actions),
        r.worklist.len(),
        num(&s.holds_placed),
        num(&s.holds_released),
        s.by_action.get("limit_change").map_or(0, |x| x.currencies.values().map(|m| m.count).sum::<u64>())
    );
    let lines: Vec<String> = s
        .kpis
        .iter()
        .map(|(code, k)| {
            format!(
                "{code}: disputed {}, countback DSO {}, AR net of cash on account and credit notes {} (the DSO and CEI read it), credit sales of the last {} days {}, CEI since {}.",
                cash(code, k.ar_disputed),
                num(&k.dso_countback),
                cash(code, k.ar_net),
                k.dso_days,
                cash(code, k.sales_dso_period),
                k.cei_from
            )
        })
        .collect();
    let more = html! { @for l in &lines { p class="muted" { (l) } } };
    html! {
        (headline_grid(&figs, &rows))
        @if let Some(weeks) = &expected {
            p class="lead" {
                b { "Expected in:" } " " (weeks) " "
                span class="muted" { "(the simple forecast: " a href="#receipts" { "receipts" } ")" }
            }
        }
        p class="lead" {
            b { "Today:" } " " (today) " "
            span class="muted" { "(" a href="#work" { "today's work" } ")" }
        }
        (note(&format!(
            "Per currency (the customer's), never added across. Changes are against the month end {since}, computed from the ledger's own history; the small lines are the last 12 month ends and today."
        )))
        (details("More figures per currency: disputed, countback DSO, net AR, credit sales", more))
        @if let Some(c) = &s.converted {
            @let rates: Vec<String> = c.rates.iter().map(|(k, r)| format!("1 {k} = {r} {}", c.currency)).collect();
            h3 {
                "All currencies, converted to " (c.currency)
                span class="muted" { " · at the policy's rates of " (c.rates_date) ": " (rates.join(", ")) }
            }
            (tiles(&[
                (
                    "Open AR (converted)",
                    cash(&c.currency, c.ar_total),
                    format!("current {}", cash(&c.currency, c.ar_current)),
                ),
                (
                    "Overdue (converted)",
                    cash(&c.currency, c.ar_overdue),
                    format!("disputed {}", cash(&c.currency, c.ar_disputed)),
                ),
                ("Exposure (converted)", cash(&c.currency, c.exposure), "covered by today's actions".to_string()),
                ("Cost (converted)", cash(&c.currency, c.cost), format!("fees {}", cash(&c.currency, c.fees))),
            ]))
            (note(&c.label))
        }
        @if s.customers_skipped > 0 {
            (note(&format!("{} customers skipped (see the run's output).", s.customers_skipped)))
        }
    }
}

/// Reads one figure of a portfolio's KPIs.
type Get = dyn Fn(&Portfolio) -> Option<f64>;

/// The CEI values the trend chart draws; others are listed under it.
const CEI_SCALE: (f64, f64) = (-25.0, 125.0);

pub(super) fn trends(s: &Summary, h: &History, as_of: NaiveDate) -> Markup {
    let mut labels: Vec<String> = h.trends.iter().map(|m| month_label(m.date)).collect();
    labels.push(as_of.format("%-d %b").to_string());
    let codes: Vec<&String> = s.kpis.keys().collect();
    let per_code = |get: &dyn Fn(&Portfolio) -> Option<f64>| -> Vec<Series> {
        codes
            .iter()
            .map(|code| {
                let mut values: Vec<Option<f64>> = h.trends.iter().map(|m| m.kpis.get(*code).and_then(get)).collect();
                values.push(s.kpis.get(*code).and_then(get));
                Series { label: code.to_string(), values }
            })
            .collect()
    };
    let first = h.trends.first().map(|m| m.date.to_string()).unwrap_or_default();
    let k = &s.kpi_settings;
    let intro = note(&format!(
        "Each month end is the ledger as it stood that day (invoices issued by then, payments, promises and actions dated by then) through the same KPI code and settings (the policy's [kpis]) as the run; the last point is today's run. DSO, best possible DSO and CEI are ratios, so the currencies share a chart; amounts never do. From {first}. A month end whose DSO period ({} days) or CEI period ({} months) starts before the ledger's first invoice has no such figure (a gap in the line): part of its sales are not in the ledger.",
        k.dso_days, k.cei_months
    ));
    let charts: [(&str, &str, &Get); 3] = [
        ("DSO", "days", &|p| p.dso),
        ("Best possible DSO", "days", &|p| p.best_possible_dso),
        ("CEI", "%", &|p| p.cei),
    ];
    let mut off_scale = Vec::new();
    let mut lines: Vec<Markup> = Vec::new();
    for (name, unit, get) in charts {
        let mut series = per_code(get);
        if unit == "%" {
            // A CEI far outside 0–100 comes from a tiny denominator (little
            // AR could be collected that period): listed, not drawn.
            for x in &mut series {
                for (i, v) in x.values.iter_mut().enumerate() {
                    if let Some(c) = v.filter(|c| !(CEI_SCALE.0..=CEI_SCALE.1).contains(c)) {
                        off_scale.push(format!("{} {} {c:.2}", x.label, labels[i]));
                        *v = None;
                    }
                }
            }
        }
        let title = format!("{name} at each month end, per currency");
        let desc = series
            .iter()
            .map(|x| {
                let known: Vec<f64> = x.values.iter().flatten().copied().collect();
                format!(
                    "{}: from {} to {}",
                    x.label,
                    known.first().map_or("—".into(), |v| format!("{v:.2}")),
                    known.last().map_or("—".into(), |v| format!("{v:.2}"))
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let chart = line_chart(
            &Axes {
                title: &title,
                desc: &format!("{title} ({unit}). {desc}."),
                y_name: &format!("{name} ({unit})"),
                x_name: "month end (the last point: the as-of date)",
                x_labels: &labels,
            },
            &series,
        );
        lines.push(html! { h3 { (title) } (chart) });
    }
    let off_scale = (!off_scale.is_empty()).then(|| {
        note(&format!(
            "Off the CEI chart's scale ({} to {}), so not drawn: {}. Such a CEI comes from a period in which little AR could be collected (a small denominator); the table below has every figure.",
            CEI_SCALE.0,
            CEI_SCALE.1,
            off_scale.join("; ")
        ))
    });
    let mut areas: Vec<Markup> = Vec::new();
    for code in &codes {
        let buckets: Vec<String> = s.kpis[*code].aging.iter().skip(1).map(|b| b.bucket.clone()).collect();
        let series: Vec<Series> = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let get = |p: &Portfolio| p.aging.get(i + 1).map(|x| f(x.amount));
                let mut values: Vec<Option<f64>> = h.trends.iter().map(|m| m.kpis.get(*code).and_then(get)).collect();
                values.push(s.kpis.get(*code).and_then(get));
                Series { label: format!("{b} days"), values }
            })
            .collect();
        let title = format!("Overdue AR in {code} by days past due, at each month end");
        let now = s.kpis[*code].ar_overdue;
        let chart = stacked_area(
            &Axes {
                title: &title,
                desc: &format!("{title}, stacked from the least overdue up; today {}.", cash(code, now)),
                y_name: &format!("overdue ({code})"),
                x_name: "month end (the last point: the as-of date)",
                x_labels: &labels,
            },
            &series,
        );
        areas.push(html! { h3 { (title) } (chart) });
    }
    // The figures behind the charts.
    let mut head: Vec<String> =
        ["month end", "currency", "#open AR", "#overdue", "#DSO", "#best possible DSO", "#ADD", "#CEI %"]
            .map(String::from)
            .to_vec();
    let buckets: Vec<String> = s
        .kpis
        .values()
        .next()
        .map(|k| k.aging.iter().skip(1).map(|b| format!("#{}", b.bucket)).collect())
        .unwrap_or_default();
    head.extend(buckets);
    let mut rows = Vec::new();
    let points = h.trends.iter().map(|m| (m.date, &m.kpis)).chain(std::iter::once((as_of, &s.kpis)));
    for (date, kpis) in points {
        for (code, p) in kpis {
            let mut row = vec![
                id(date.to_string()),
                id(code),
                n(cash(code, p.ar_total)),
                n(cash(code, p.ar_overdue)),
                n(num(&p.dso)),
                n(num(&p.best_possible_dso)),
                n(num(&p.average_days_delinquent)),
                n(num(&p.cei)),
            ];
            row.extend(p.aging.iter().skip(1).map(|b| n(cash(code, b.amount))));
            rows.push(row);
        }
    }
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    html! {
        (intro)
        @for m in &lines { (m) }
        @if let Some(n) = off_scale { (n) }
        @for m in &areas { (m) }
        (details(
            "The figures behind the charts, per month end and currency",
            html! { div id="trend-table" { (table(Some("wide"), &head, &rows)) } },
        ))
    }
}

/// The forecast of one currency as receipts.csv rows.
pub fn receipt_rows(today: &Today, as_of: NaiveDate) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (code, r) in &today.receipts {
        for (k, w) in r.weeks.iter().enumerate() {
            let (from, to) = history::week_dates(as_of, k as u32 + 1);
            rows.push(vec![
                code.clone(),
                (k + 1).to_string(),
                from.to_string(),
                to.to_string(),
                plain(code, w.expected),
                plain(code, w.low),
                plain(code, w.high),
                w.invoices.to_string(),
            ]);
        }
        let after = history::week_dates(as_of, history::WEEKS as u32 + 1).0;
        rows.push(vec![
            code.clone(),
            "later".to_string(),
            after.to_string(),
            String::new(),
            plain(code, r.later.expected),
            String::new(),
            String::new(),
            r.later.invoices.to_string(),
        ]);
    }
    rows
}

/// An amount as receipts.csv writes it: a decimal string with the
/// currency's minor units (`0.00`, `1234.50`).
fn plain(code: &str, d: Decimal) -> String {
    crate::money::json::text_in(d, crate::money::minor_units(code))
}

/// receipts.csv's header.
pub const RECEIPTS_HEADER: [&str; 8] = ["currency", "week", "from", "to", "expected", "low", "high", "invoices"];

/// receipts.csv: the forecast per currency and week, then `later`.
pub fn receipts_csv(today: &Today, as_of: NaiveDate) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(RECEIPTS_HEADER);
    for r in receipt_rows(today, as_of) {
        let _ = w.write_record(&r);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// All currencies' receipts converted at the policy's `[reporting]` rates
/// (summary.json's `converted`: each currency's weekly amount converted and
/// rounded to cents, then added, as the run converts its totals).
fn converted_receipts(today: &Today, c: &crate::plan::summary::Converted, labels: &[String]) -> Markup {
    let r = crate::policy::compile::Reporting {
        currency: c.currency.clone(),
        rates_date: c.rates_date,
        rates: c.rates.clone(),
    };
    let conv = |get: &dyn Fn(&history::Receipts) -> Decimal| -> Option<Decimal> {
        r.total(today.receipts.iter().map(|(code, x)| (code, get(x))))
    };
    let weeks = (0..history::WEEKS as usize)
        .map(|k| Some((conv(&|x| x.weeks[k].expected)?, conv(&|x| x.weeks[k].low)?, conv(&|x| x.weeks[k].high)?)))
        .collect::<Option<Vec<_>>>();
    let (Some(weeks), Some(later)) = (weeks, conv(&|x| x.later.expected)) else {
        return note("The policy's [reporting] rates do not cover every currency of the forecast: no converted total.");
    };
    let code = &c.currency;
    let total: Decimal = weeks.iter().map(|w| w.0).sum();
    let title = format!("Expected receipts, all currencies converted to {code}, per week (week ending)");
    let mid: Vec<f64> = weeks.iter().map(|w| f(w.0)).collect();
    let low: Vec<f64> = weeks.iter().map(|w| f(w.1)).collect();
    let high: Vec<f64> = weeks.iter().map(|w| f(w.2)).collect();
    let chart = range_bars(
        &Axes {
            title: &title,
            desc: &format!("{title}: {} expected over 13 weeks.", cash(code, total)),
            y_name: &format!("expected ({code}, converted)"),
            x_name: "week ending",
            x_labels: labels,
        },
        &mid,
        &low,
        &high,
    );
    html! {
        h3 {
            "All currencies, converted to " (code)
            span class="muted" {
                " · " (cash(code, total)) " in 13 weeks; later or not dated " (cash(code, later)) " · " (c.label)
            }
        }
        (chart)
    }
}

pub(super) fn receipts(today: &Today, as_of: NaiveDate, converted: Option<&crate::plan::summary::Converted>) -> Markup {
    let labels: Vec<String> =
        (1..=history::WEEKS as u32).map(|w| history::week_dates(as_of, w).1.format("%-d %b").to_string()).collect();
    let currency = |code: &str, r: &history::Receipts| -> Markup {
        let expected: Decimal = r.weeks.iter().map(|w| w.expected).sum();
        let title = format!("Expected receipts in {code} per week (week ending)");
        let mid: Vec<f64> = r.weeks.iter().map(|w| f(w.expected)).collect();
        let low: Vec<f64> = r.weeks.iter().map(|w| f(w.low)).collect();
        let high: Vec<f64> = r.weeks.iter().map(|w| f(w.high)).collect();
        let chart = range_bars(
            &Axes {
                title: &title,
                desc: &format!(
                    "{title}: {} expected over 13 weeks, the largest week {}.",
                    cash(code, expected),
                    r.weeks.iter().map(|w| w.expected).max().map_or("—".into(), |m| cash(code, m))
                ),
                y_name: &format!("expected ({code})"),
                x_name: "week ending",
                x_labels: &labels,
            },
            &mid,
            &low,
            &high,
        );
        let mut rows: Vec<Vec<Cell>> = r
            .weeks
            .iter()
            .enumerate()
            .map(|(k, w)| {
                let (from, to) = history::week_dates(as_of, k as u32 + 1);
                vec![
                    n((k + 1).to_string()),
                    id(format!("{from} – {to}")),
                    n(cash(code, w.expected)),
                    n(format!(
                        "{} – {}",
                        crate::engine::words::money_of(w.low, code),
                        crate::engine::words::money_of(w.high, code)
                    )),
                    n(num(&w.invoices)),
                ]
            })
            .collect();
        for (name, w) in [
            ("after week 13", &r.after),
            ("overdue past its usual payment date", &r.past_expected),
            ("disputed", &r.disputed),
        ] {
            rows.push(vec![t("later"), t(name), n(cash(code, w.expected)), n(""), n(num(&w.invoices))]);
        }
        html! {
            h3 {
                (code)
                span class="muted" {
                    " · " (cash(code, expected)) " in 13 weeks; later or not dated " (cash(code, r.later.expected))
                }
            }
            (chart)
            (details(
                &format!("The weeks of {code} in figures (and what is not in a week)"),
                table(Some("compact"), &["#week", "dates", "#expected", "#low – high", "#invoices"], &rows),
            ))
        }
    };
    html! {
        p class="lead" {
            "The simple forecast: each open invoice on its due date plus its customer's usual delay (the average days late of the invoices it settled in the last 12 months; none: on the due date), the band from one spread of that delay earlier to one later. It knows nothing of today's actions or of a policy: for that, run `recoup simulate`. The same figures are in receipts.csv beside this page."
        }
        @for (code, r) in &today.receipts { (currency(code, r)) }
        @if let Some(c) = converted { (converted_receipts(today, c, &labels)) }
        (note(
            "Not in a week: invoices expected after week 13; overdue invoices already past their customer's usual payment date (there is no date to expect them on: chase them); disputed invoices (not before the dispute is settled). Every open invoice is in exactly one week or in \"later\".",
        ))
    }
}

/// Today's actions of a customer, as `call, credit_hold`.
fn actions_of(plan: &[PlanRow]) -> BTreeMap<&str, Vec<&str>> {
    let mut m: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in plan {
        let v = m.entry(p.customer_id.as_str()).or_default();
        if !v.contains(&p.action.as_str()) {
            v.push(&p.action);
        }
    }
    m
}

fn debtor_row(d: &history::Debtor, actions: &BTreeMap<&str, Vec<&str>>) -> Vec<Cell> {
    let promise = match (d.promises_active, d.promises_broken) {
        (0, 0) => "—".to_string(),
        (a, 0) => format!("{a} active"),
        (0, b) => format!("{b} broken"),
        (a, b) => format!("{a} active, {b} broken"),
    };
    vec![
        id(&d.customer_id),
        t(&d.name),
        id(&d.owner),
        n(cash(&d.currency, d.overdue)),
        n(num(&d.max_days_past_due)),
        n(format!("{:+.1}", d.trend)),
        n(d.days_since_contact.map_or("never".to_string(), |x| format!("{x} days ago"))),
        t(promise),
        t(actions.get(d.customer_id.as_str()).map_or("—".to_string(), |v| v.join(", "))),
    ]
}

const DEBTOR_HEAD: [&str; 9] = [
    "customer",
    "name",
    "owner",
    "#overdue",
    "#oldest (days past due)",
    "#trend (days)",
    "#last contact",
    "promise",
    "today's actions",
];

pub(super) fn top_debtors(today: &Today, plan: &[PlanRow]) -> Markup {
    let actions = actions_of(plan);
    let currency = |code: &str, list: &[history::Debtor]| -> Markup {
        let total: Decimal = list.iter().map(|d| d.overdue).sum();
        let top: Decimal = list.iter().take(history::TOP_DEBTORS).map(|d| d.overdue).sum();
        let rows: Vec<Vec<Cell>> = list.iter().take(history::TOP_DEBTORS).map(|d| debtor_row(d, &actions)).collect();
        let (first, rest) = rows.split_at(rows.len().min(10));
        html! {
            h3 {
                (code)
                span class="muted" {
                    " · the top " (list.len().min(history::TOP_DEBTORS)) " hold " (cash(code, top)) " of "
                    (cash(code, total)) " overdue (" (list.len()) " customers)"
                }
            }
            (table(None, &DEBTOR_HEAD, first))
            @if !rest.is_empty() {
                (details(&format!("numbers 11 to {} of {code}", rows.len()), table(None, &DEBTOR_HEAD, rest)))
            }
        }
    };
    html! {
        (note(&format!(
            "The {} largest overdue balances per currency: the oldest invoice's days past due, the payment trend (days later, +, or earlier, −, than in the months before), the last contact, promises to pay and today's actions from the plan.",
            history::TOP_DEBTORS
        )))
        @for (code, list) in &today.debtors { (currency(code, list)) }
    }
}

pub(super) fn todays_work(r: &RunInputs) -> Markup {
    let s = &r.summary;
    let count = |x: &Tally| x.currencies.values().map(|m| m.count).sum::<u64>();
    let bars = |m: &BTreeMap<String, Tally>| -> Vec<HBar> {
        let mut v: Vec<HBar> = m
            .iter()
            .map(|(k, x)| HBar { name: k.clone(), values: vec![count(x) as f64], label: num(&count(x)) })
            .collect();
        v.sort_by(|a, b| b.values[0].total_cmp(&a.values[0]).then(a.name.cmp(&b.name)));
        v
    };
    let mut kinds = bars(&s.by_action);
    // A declared kind by its label (`[kinds.*] label`, summary.json's `kind_labels`).
    let label = |k: &str| s.kind_labels.get(k).map_or_else(|| k.to_string(), |l| format!("{l} ({k})"));
    for b in &mut kinds {
        b.name = label(&b.name);
    }
    let steps = bars(&s.by_step);
    let desc = |title: &str, rows: &[HBar]| {
        let list = rows.iter().map(|b| format!("{} {}", b.name, b.label)).collect::<Vec<_>>().join(", ");
        format!("{title}: {list}.")
    };
    // Workload per owner: the worklist's tasks by kind.
    let mut task_kinds: Vec<&str> = r.worklist.iter().map(|w| w.action.as_str()).collect();
    task_kinds.sort_unstable();
    task_kinds.dedup();
    let mut per: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for w in &r.worklist {
        let k = task_kinds.binary_search(&w.action.as_str()).unwrap_or(0);
        per.entry(w.owner.as_str()).or_insert_with(|| vec![0.0; task_kinds.len()])[k] += 1.0;
    }
    let owners: Vec<HBar> = per
        .iter()
        .map(|(o, v)| HBar {
            name: if o.is_empty() { "(no owner)".to_string() } else { o.to_string() },
            values: v.clone(),
            label: format!("{}", v.iter().sum::<f64>() as u64),
        })
        .collect();
    // The distinct exposure, holds and limit changes in short.
    let mut facts_list: Vec<(&str, String)> = Vec::new();
    let exposure: Vec<String> =
        s.exposure.iter().map(|(c, x)| format!("{} ({} customers)", cash(c, x.amount), num(&x.customers))).collect();
    facts_list.push(("distinct exposure", if exposure.is_empty() { "none".into() } else { exposure.join("; ") }));
    facts_list.push(("holds placed", num(&s.holds_placed)));
    facts_list.push(("holds released", num(&s.holds_released)));
    let limits: Vec<String> = s
        .limit_changes
        .iter()
        .map(|(c, l)| {
            format!(
                "{c}: {} up (+{}), {} down (−{})",
                l.increases,
                cash(c, l.increase_total),
                l.decreases,
                cash(c, l.decrease_total)
            )
        })
        .collect();
    facts_list.push(("limit changes", if limits.is_empty() { "none".into() } else { limits.join("; ") }));
    // The amounts by kind and step, per currency.
    let head = ["action", "currency", "#count", "#amount due", "#fees", "#interest", "#cost"];
    let rows: Vec<Vec<Cell>> = s.by_action.iter().flat_map(|(a, x)| tally_rows(&label(a), x)).collect();
    let exposure_rows: Vec<Vec<Cell>> =
        s.exposure.iter().map(|(code, x)| vec![id(code), n(num(&x.customers)), n(cash(code, x.amount))]).collect();
    let step_rows: Vec<Vec<Cell>> = s.by_step.iter().flat_map(|(a, x)| tally_rows(a, x)).collect();
    let tables = html! {
        (table_with_totals(None, &head, &rows, &tally_rows("all actions", &s.actions)))
        @if !exposure_rows.is_empty() {
            h3 { "Exposure covered by today's actions" }
            (table(Some("compact"), &["currency", "#customers", "#distinct exposure"], &exposure_rows))
        }
        @if !step_rows.is_empty() {
            h3 { "By ladder step" }
            (table(None, &["step", "currency", "#count", "#amount due", "#fees", "#interest", "#cost"], &step_rows))
        }
    };
    html! {
        @if s.actions.count == 0 {
            (note(s.why_no_actions.as_deref().unwrap_or("No actions today.")))
        }
        @if !kinds.is_empty() {
            @let title = "Today's actions by kind";
            h3 { (title) span class="muted" { " · " (num(&s.actions.count)) " actions" } }
            (hbars(title, &desc(title, &kinds), "actions (count)", &kinds, &[]))
        }
        @if !steps.is_empty() {
            @let title = "Today's actions by ladder step";
            h3 { (title) }
            (hbars(title, &desc(title, &steps), "actions (count)", &steps, &[]))
        }
        @if !r.worklist.is_empty() {
            @let title = "Tasks per account owner, by kind";
            h3 { (title) span class="muted" { " · " (r.worklist.len()) " tasks in worklist.csv" } }
            (hbars(title, &desc(title, &owners), "tasks (count)", &owners, &task_kinds))
        }
        h3 { "In short" }
        (facts(&facts_list))
        (note(
            "The distinct exposure is each customer's debt that today's actions concern, counted once (an amount due below counts once per action). The holds, limit changes and referrals are listed in full further down.",
        ))
        (details("Amounts due, fees, interest and cost by kind, step and currency", tables))
    }
}

/// Disputes by age: (label, upper bound in days).
const DISPUTE_AGES: [(&str, i64); 4] =
    [("0-30 days", 30), ("31-60 days", 60), ("61-90 days", 90), ("91+ days", i64::MAX)];

pub(super) fn risk(r: &RunInputs, hist: Option<&History>) -> Markup {
    let s = &r.summary;
    let short = |list: &[history::Debtor], head: &[&str], cells: &dyn Fn(&history::Debtor) -> Vec<Cell>, what: &str| {
        let rows: Vec<Vec<Cell>> = list.iter().map(cells).collect();
        let (first, rest) = rows.split_at(rows.len().min(LARGEST));
        html! {
            (table(None, head, first))
            @if !rest.is_empty() {
                (details(&format!("the other {} {what}", rest.len()), table(None, head, rest)))
            }
        }
    };
    let over_limit = |code: &str, list: &[history::Debtor]| -> Markup {
        let excess: Decimal = list.iter().map(|d| d.exposure - d.credit_limit).sum();
        html! {
            p class="lead" { (code) ": " (list.len()) " customers, " (cash(code, excess)) " above their limits in all" }
            (short(
                list,
                &["customer", "name", "owner", "#exposure", "#limit", "#above the limit"],
                &|d| {
                    vec![
                        id(&d.customer_id),
                        t(&d.name),
                        id(&d.owner),
                        n(cash(code, d.exposure)),
                        n(cash(code, d.credit_limit)),
                        n(cash(code, d.exposure - d.credit_limit)),
                    ]
                },
                &format!("customers over their limit in {code}"),
            ))
        }
    };
    let broken = |code: &str, list: &[history::Debtor]| -> Markup {
        let overdue: Decimal = list.iter().map(|d| d.overdue).sum();
        html! {
            p class="lead" {
                (code) ": " (list.len()) " customers with a broken promise, " (cash(code, overdue)) " overdue"
            }
            (short(
                list,
                &["customer", "name", "owner", "#broken", "#overdue"],
                &|d| {
                    vec![
                        id(&d.customer_id),
                        t(&d.name),
                        id(&d.owner),
                        n(num(&d.promises_broken)),
                        n(cash(code, d.overdue)),
                    ]
                },
                &format!("customers with a broken promise in {code}"),
            ))
        }
    };
    let disputes = |list: &[history::Dispute]| -> Markup {
        let mut by: BTreeMap<(&str, usize), (u64, Decimal)> = BTreeMap::new();
        for d in list {
            let k = DISPUTE_AGES.iter().position(|(_, hi)| d.days <= *hi).unwrap_or(DISPUTE_AGES.len() - 1);
            let e = by.entry((d.currency.as_str(), k)).or_default();
            e.0 += 1;
            e.1 += d.amount;
        }
        let rows: Vec<Vec<Cell>> = by
            .iter()
            .map(|((code, k), (c, a))| vec![id(*code), t(DISPUTE_AGES[*k].0), n(num(c)), n(cash(code, *a))])
            .collect();
        html! {
            (table(Some("compact"), &["currency", "disputed for", "#invoices", "#open amount"], &rows))
            (note("Age since the dispute started (since the due date when the ledger gives no start date)."))
        }
    };
    // Referrals today, from the plan.
    let refs: Vec<&PlanRow> =
        r.plan.iter().filter(|p| matches!(p.action.as_str(), "refer_agency" | "refer_legal")).collect();
    let referrals = || -> Markup {
        let totals: Vec<String> = s
            .referrals
            .iter()
            .map(|(k, x)| {
                let amounts: Vec<String> = x.currencies.iter().map(|(c, m)| cash(c, m.amount_due)).collect();
                format!("{k}: {} ({})", x.count, amounts.join(", "))
            })
            .collect();
        let rows: Vec<Vec<Cell>> = refs
            .iter()
            .map(|p| {
                vec![
                    id(&p.action),
                    id(&p.customer_id),
                    id(&p.owner),
                    n(cash_text(&p.currency, &p.amount_due)),
                    t(&p.reason),
                ]
            })
            .collect();
        let head = ["referral", "customer", "owner", "#amount due", "reason"];
        let (first, rest) = rows.split_at(rows.len().min(10));
        html! {
            p class="lead" { (totals.join("; ")) }
            (table(None, &head, first))
            @if !rest.is_empty() {
                (details(&format!("the other {} referrals", rest.len()), table(None, &head, rest)))
            }
        }
    };
    html! {
        @match hist {
            Some(h) => {
                @let t_ = &h.today;
                h3 { "Over their credit limit" }
                @if t_.over_limit.is_empty() {
                    (note("No customer's exposure is above its credit limit."))
                }
                @for (code, list) in &t_.over_limit { (over_limit(code, list)) }
                h3 { "Broken promises to pay" }
                @if t_.broken_promises.is_empty() {
                    (note("No promise to pay was broken in the last 12 months."))
                }
                @for (code, list) in &t_.broken_promises { (broken(code, list)) }
                h3 { "Open disputes by age" }
                @if t_.disputes.is_empty() {
                    (note("No open invoice is disputed."))
                } @else {
                    (disputes(&t_.disputes))
                }
            }
            None => {
                @if let Err(why) = &r.history {
                    (note(&format!("The over-limit, broken-promise and dispute lists need the ledger the run read: {why}.")))
                }
            }
        }
        h3 { "Referrals to agency and legal today" }
        @if refs.is_empty() {
            (note("No referral to an agency or to legal today."))
        } @else {
            (referrals())
        }
    }
}
