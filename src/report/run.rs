//! The run report: a `recoup run` output folder as one HTML page.

use super::history::{self, MonthEnd, Today};
use super::html::{Cell, cash, document, facts, id, n, note, num, section, t, table};
use super::svg::{Bar, bar_chart};
use super::{ReportError, read_csv, read_json, require};
use crate::plan::summary::{Summary, Tally};
use crate::plan::write::Manifest;
use maud::{Markup, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Worklist rows shown per owner.
pub const TOP_PER_OWNER: usize = 10;
/// Worklist rows shown across owners, by priority.
pub const TOP_OVERALL: usize = 10;
/// Rows of each kind of account change shown before the rest are folded away.
pub const LARGEST: usize = 5;
/// Rows of a long list (account changes, rejected rows) put in the page;
/// the CSV file beside it has them all.
pub const MAX_ROWS: usize = 1000;

/// "(the first N of M; FILE has them all)" when a list is cut, else nothing.
fn cut_note(total: usize, file: &str) -> Markup {
    html! {
        @if total > MAX_ROWS {
            (note(&format!("The first {MAX_ROWS} of {total} rows; {file} has them all.")))
        }
    }
}

/// One row of worklist.csv (the columns the report shows).
#[derive(Debug, Clone, Deserialize)]
pub struct WorkRow {
    pub owner: String,
    pub rank: u64,
    pub priority: String,
    pub customer_id: String,
    pub action: String,
    pub rule_id: String,
    /// Empty in a worklist written before currencies were named.
    #[serde(default)]
    pub currency: String,
    pub amount_due: String,
    pub reason: String,
}

/// One row of plan.csv (the columns the report shows).
#[derive(Debug, Clone, Deserialize)]
pub struct PlanRow {
    pub customer_id: String,
    /// Empty in a plan written before currencies were named.
    #[serde(default)]
    pub currency: String,
    pub invoice_ids: String,
    pub action: String,
    pub rule_id: String,
    pub amount_due: String,
    pub old_limit: String,
    pub new_limit: String,
    pub hold: String,
    pub owner: String,
    pub reason: String,
}

/// One row of rejects.csv (a database ledger's names its `table` and the
/// row's `key` instead of the file and line).
#[derive(Debug, Clone, Deserialize)]
pub struct RejectRow {
    #[serde(alias = "table")]
    pub file: String,
    #[serde(alias = "key")]
    pub line: String,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// Everything the run report reads.
#[derive(Debug, Clone)]
pub struct RunInputs {
    pub summary: Summary,
    pub manifest: Manifest,
    pub plan: Vec<PlanRow>,
    pub worklist: Vec<WorkRow>,
    /// rejects.csv, when the run wrote one.
    pub rejects: Option<Vec<RejectRow>>,
    /// What the report reads from the ledger the run read, or why it could not.
    pub history: Result<History, String>,
}

/// What the report reads from the run's ledger (docs/report.md): the KPIs
/// at each past month end and the customer facts of the as-of date.
#[derive(Debug, Clone)]
pub struct History {
    pub trends: Vec<MonthEnd>,
    pub today: Today,
}

/// Read a run's output folder, and the ledger it read (`ledger`, else the
/// folder manifest.json names) for the trends, the receipts forecast and the
/// debtor and risk lists.
pub fn load(dir: &Path, ledger: Option<&Path>) -> Result<RunInputs, ReportError> {
    const CMD: &str = "run";
    let summary: Summary = read_json(&require(dir, CMD, "summary.json")?)?;
    let manifest = read_json(&require(dir, CMD, "manifest.json")?)?;
    let plan = read_csv(&require(dir, CMD, "plan.csv")?)?;
    let worklist = read_csv(&require(dir, CMD, "worklist.csv")?)?;
    let rejects = dir.join("rejects.csv");
    let rejects = if rejects.is_file() { Some(read_csv(&rejects)?) } else { None };
    // The kinds the run's policy declared (summary.json names them): its
    // ledger's history rows may carry them, and the ledger is read again.
    for name in summary.kind_labels.keys() {
        let _ = crate::ledger::ActionKind::declare(name);
    }
    let history = read_history(&manifest, ledger, &summary.kpi_settings);
    Ok(RunInputs { summary, manifest, plan, worklist, rejects, history })
}

/// Load the run's ledger, check it is the one the run read (every input
/// file's blake3 hash as manifest.json records it), and compute the history.
fn read_history(m: &Manifest, over: Option<&Path>, kpis: &crate::facts::FactsConfig) -> Result<History, String> {
    if let Some(shard) = &m.shard {
        return Err(format!(
            "this is shard {shard}'s run: the trends, the receipts forecast and the debtor lists need the whole \
             ledger (make the report of the merged run)"
        ));
    }
    let Some(as_of) = m.as_of else { return Err("manifest.json has no as-of date".to_string()) };
    let path = over.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(&m.ledger));
    let help = "give the ledger folder the run read with `recoup report --run OUT --ledger DIR`";
    if !path.is_dir() {
        return Err(format!("the ledger folder `{}` is not there; {help}", path.display()));
    }
    let opts = crate::ledger::LoadOptions { reject_bad_rows: m.inputs.iter().any(|i| i.rejected > 0) };
    let ledger = crate::ledger::load(&path, &opts)
        .map_err(|e| format!("cannot load the ledger `{}`: {e}; {help}", path.display()))?;
    let now = Manifest::inputs(&ledger.report);
    for i in &m.inputs {
        if !now.iter().any(|n| n.file == i.file && n.blake3 == i.blake3) {
            return Err(format!(
                "`{}` in `{}` is not the file the run read (its blake3 hash is not manifest.json's); {help}",
                i.file,
                path.display()
            ));
        }
    }
    // The month ends and today's lists with the settings the run's KPIs had (its policy's `[kpis]`).
    Ok(History { trends: history::trends(&ledger, as_of, kpis), today: history::today(&ledger, as_of, kpis) })
}

pub(super) fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Actions that change an account: holds, limits, referrals.
fn is_account_change(r: &PlanRow) -> bool {
    matches!(r.action.as_str(), "credit_hold" | "release_hold" | "limit_change" | "refer_agency" | "refer_legal")
        || r.hold == "true"
}

/// A plan.csv or worklist.csv amount as money with its currency (the text as
/// it is when it is not a number).
pub(super) fn cash_text(code: &str, amount: &str) -> String {
    match amount.parse::<Decimal>() {
        Ok(d) if !code.is_empty() => cash(code, d),
        Ok(d) => crate::engine::words::money(d),
        Err(_) => amount.to_string(),
    }
}

/// One row per currency of a group of actions (the name on the first only).
pub(super) fn tally_rows(name: &str, x: &Tally) -> Vec<Vec<Cell>> {
    x.currencies
        .iter()
        .enumerate()
        .map(|(k, (code, m))| {
            vec![
                t(if k == 0 { name } else { "" }),
                id(code),
                n(num(&m.count)),
                n(cash(code, m.amount_due)),
                n(cash(code, m.fees)),
                n(cash(code, m.interest)),
                n(cash(code, m.cost)),
            ]
        })
        .collect()
}

pub use super::morning::{RECEIPTS_HEADER, receipt_rows, receipts_csv};
use super::morning::{headline, receipts, risk, todays_work, top_debtors, trends};

/// Render the run report.
pub fn render(dir: &Path, r: &RunInputs) -> String {
    let s = &r.summary;
    let as_of = s.as_of.or_else(|| s.kpis.values().next().map(|k| k.as_of)).unwrap_or_default();
    let hist = r.history.as_ref().ok();
    let missing = |what: &str| match &r.history {
        Err(why) => note(&format!("{what} need the ledger the run read: {why}.")),
        Ok(_) => html! {},
    };
    let body = html! {
        // The headline figures, per currency, with their change since the last month end.
        (section("headline", &format!("This morning, as of {as_of}"), headline(r, hist, as_of)))
        // Trends over the last 12 month ends.
        (section("trends", "The last 12 months", match hist {
            Some(h) => trends(s, h, as_of),
            None => missing("The trends"),
        }))
        // Expected receipts.
        (section("receipts", "Expected receipts, the next 13 weeks", match hist {
            Some(h) => receipts(&h.today, as_of, s.converted.as_ref()),
            None => missing("The receipts forecast"),
        }))
        // Top debtors.
        (section("debtors", "Largest overdue balances", match hist {
            Some(h) => top_debtors(&h.today, &r.plan),
            None => missing("The largest debtors"),
        }))
        (section("work", "Today's work", todays_work(r)))
        (section("risk", "Risk", risk(r, hist)))
        (section("aging", "Open AR by aging bucket", aging(s)))
        (section("worklist", "Worklists", worklists(&r.worklist)))
        (section("account", "Holds, limit changes and referrals", account_changes(r)))
        (section("rejects", "Rejected rows", rejects(r)))
        (section("manifest", "Manifest", manifest(&r.manifest)))
    };
    let title = format!("recoup run: {} {}", s.policy, s.policy_version);
    let subtitle =
        format!("as of {as_of} · {} customers · {} actions · {}", s.customers, s.actions.count, dir.display());
    let nav = [
        ("headline", "Headline"),
        ("trends", "Trends"),
        ("receipts", "Receipts"),
        ("debtors", "Debtors"),
        ("work", "Today's work"),
        ("risk", "Risk"),
        ("aging", "Aging"),
        ("worklist", "Worklists"),
        ("account", "Holds, limits, referrals"),
        ("rejects", "Rejects"),
        ("manifest", "Manifest"),
    ];
    document(&title, &subtitle, &nav, body, "")
}

/// Open AR by aging bucket: a chart per currency, then one table.
fn aging(s: &Summary) -> Markup {
    let codes: Vec<&String> = s.kpis.keys().collect();
    let mut head = vec!["bucket".to_string()];
    for c in &codes {
        head.push(format!("#{c} invoices"));
        head.push(format!("#{c} open amount"));
    }
    let buckets = s.kpis.values().next().map(|k| k.aging.clone()).unwrap_or_default();
    let aging_rows: Vec<Vec<Cell>> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut row = vec![t(&b.bucket)];
            for (code, k) in &s.kpis {
                let x = k.aging.get(i);
                row.push(n(x.map_or("—".into(), |x| num(&x.count))));
                row.push(n(x.map_or("—".into(), |x| cash(code, x.amount))));
            }
            row
        })
        .collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    html! {
        @for (code, k) in &s.kpis {
            @let bars: Vec<Bar> = k
                .aging
                .iter()
                .map(|b| Bar {
                    category: b.bucket.clone(),
                    value: f(b.amount),
                    label: crate::engine::words::money_of(b.amount, code),
                    note: format!("{} invoices", b.count),
                })
                .collect();
            @let title = format!("Open AR in {code} by days past due");
            h3 { (title) }
            (bar_chart(&title, &bars))
        }
        (table(Some("compact"), &head, &aging_rows))
    }
}

fn worklists(rows: &[WorkRow]) -> Markup {
    if rows.is_empty() {
        return note("No tasks for people today: the worklist is empty.");
    }
    let mut by_owner: BTreeMap<&str, Vec<&WorkRow>> = BTreeMap::new();
    for w in rows {
        by_owner.entry(&w.owner).or_default().push(w);
    }
    let mut top: Vec<&WorkRow> = rows.iter().collect();
    let priority = |w: &WorkRow| w.priority.parse::<f64>().unwrap_or(0.0);
    top.sort_by(|a, b| priority(b).total_cmp(&priority(a)).then(a.customer_id.cmp(&b.customer_id)));
    let shown: Vec<Vec<Cell>> = top
        .iter()
        .take(TOP_OVERALL)
        .map(|w| {
            vec![
                n(&w.priority),
                id(&w.owner),
                id(&w.customer_id),
                id(&w.action),
                n(cash_text(&w.currency, &w.amount_due)),
                t(&w.reason),
            ]
        })
        .collect();
    let owner_rows = |list: &[&WorkRow]| -> Vec<Vec<Cell>> {
        list.iter()
            .take(TOP_PER_OWNER)
            .map(|w| {
                vec![
                    n(w.rank.to_string()),
                    n(&w.priority),
                    id(&w.customer_id),
                    id(&w.action),
                    id(&w.rule_id),
                    n(cash_text(&w.currency, &w.amount_due)),
                    t(&w.reason),
                ]
            })
            .collect()
    };
    let more = |list: &[&WorkRow]| {
        if list.len() > TOP_PER_OWNER {
            format!(" (top {TOP_PER_OWNER} of {} tasks)", list.len())
        } else {
            format!(" ({} task{})", list.len(), if list.len() == 1 { "" } else { "s" })
        }
    };
    html! {
        h3 {
            "Highest priority, all owners"
            span class="muted" { " (top " (shown.len()) " of " (rows.len()) " tasks)" }
        }
        (table(None, &["#priority", "owner", "customer", "action", "#amount due", "reason"], &shown))
        (note(&format!(
            "Calls, reviews and other tasks per account owner, highest priority first (worklist.csv); the top {TOP_PER_OWNER} of each."
        )))
        @for (owner, list) in &by_owner {
            h3 { (owner) span class="muted" { (more(list)) } }
            (table(None, &["#rank", "#priority", "customer", "action", "rule", "#amount due", "reason"], &owner_rows(list)))
        }
    }
}

fn account_changes(r: &RunInputs) -> Markup {
    let s = &r.summary;
    let per = |m: &mut dyn Iterator<Item = String>| {
        let v: Vec<String> = m.collect();
        if v.is_empty() { "none".to_string() } else { v.join("; ") }
    };
    let summary = facts(&[
        (
            "holds placed",
            format!(
                "{} (amount on hold {})",
                s.holds_placed,
                per(&mut s.amount_on_hold.iter().map(|(c, d)| cash(c, *d)))
            ),
        ),
        ("holds released", num(&s.holds_released)),
        (
            "limit changes",
            per(&mut s.limit_changes.iter().map(|(c, l)| {
                format!(
                    "{c}: {} raised (total +{}), {} lowered (total −{})",
                    l.increases,
                    cash(c, l.increase_total),
                    l.decreases,
                    cash(c, l.decrease_total)
                )
            })),
        ),
        (
            "discounts offered",
            per(&mut s
                .discounts
                .iter()
                .map(|(c, d)| format!("{c}: {} (cost if all taken {})", d.offered, cash(c, d.max_cost)))),
        ),
        (
            "referrals",
            per(&mut s.referrals.iter().map(|(k, x)| {
                let amounts: Vec<String> = x.currencies.iter().map(|(c, m)| cash(c, m.amount_due)).collect();
                format!("{k} {} ({})", x.count, amounts.join(", "))
            })),
        ),
    ]);
    let changes: Vec<&PlanRow> = r.plan.iter().filter(|p| is_account_change(p)).collect();
    if changes.is_empty() {
        return html! { (summary) (note("No holds, limit changes or referrals in this plan.")) };
    }
    // Grouped by kind and currency (amounts compare within one currency);
    // each group's largest amounts due first, the rest folded away.
    let mut by_kind: BTreeMap<(String, String), Vec<&PlanRow>> = BTreeMap::new();
    for p in changes.iter().take(MAX_ROWS) {
        let kind = if p.hold == "true" && p.action != "credit_hold" {
            format!("{} (hold)", p.action)
        } else {
            p.action.clone()
        };
        by_kind.entry((kind, p.currency.clone())).or_default().push(p);
    }
    let amount = |p: &PlanRow| p.amount_due.parse::<Decimal>().unwrap_or_default();
    let head = ["customer", "rule", "#amount due", "#limit", "reason"];
    let cells = |p: &&PlanRow| {
        let limit = if p.old_limit.is_empty() && p.new_limit.is_empty() {
            String::new()
        } else {
            format!("{} → {}", cash_text(&p.currency, &p.old_limit), cash_text(&p.currency, &p.new_limit))
        };
        vec![id(&p.customer_id), id(&p.rule_id), n(cash_text(&p.currency, &p.amount_due)), n(limit), t(&p.reason)]
    };
    let groups: Vec<(String, Vec<&PlanRow>)> = by_kind
        .into_iter()
        .map(|((kind, code), mut list)| {
            list.sort_by(|a, b| amount(b).cmp(&amount(a)).then(a.customer_id.cmp(&b.customer_id)));
            (if code.is_empty() { kind } else { format!("{kind} · {code}") }, list)
        })
        .collect();
    html! {
        (summary)
        @for (group, list) in &groups {
            @let first: Vec<Vec<Cell>> = list.iter().take(LARGEST).map(cells).collect();
            h3 {
                (group)
                span class="muted" {
                    " (" (list.len()) " row" @if list.len() != 1 { "s" }
                    @if list.len() > LARGEST { "; the " (LARGEST) " largest amounts due first" }
                    ")"
                }
            }
            (table(None, &head, &first))
            @if list.len() > LARGEST {
                @let rest: Vec<Vec<Cell>> = list.iter().skip(LARGEST).map(cells).collect();
                details {
                    summary { "the other " (rest.len()) " " (group) }
                    (table(None, &head, &rest))
                }
            }
        }
        (cut_note(changes.len(), "plan.csv"))
    }
}

fn rejects(r: &RunInputs) -> Markup {
    let rows = &r.summary.rows;
    let counts: Vec<Vec<Cell>> = [
        ("customers.csv", &rows.customers),
        ("invoices.csv", &rows.invoices),
        ("payments.csv", &rows.payments),
        ("promises.csv", &rows.promises),
        ("actions.csv", &rows.actions),
    ]
    .iter()
    .map(|(file, c)| vec![t(*file), n(num(&c.read)), n(num(&c.loaded)), n(num(&c.rejected))])
    .collect();
    html! {
        (table(Some("compact"), &["file", "#read", "#loaded", "#rejected"], &counts))
        @match &r.rejects {
            Some(list) if !list.is_empty() => {
                @let shown: Vec<Vec<Cell>> = list
                    .iter()
                    .take(MAX_ROWS)
                    .map(|x| {
                        vec![
                            t(&x.file),
                            n(&x.line),
                            t(&x.column),
                            Cell::Html(html! { code { (x.value) } }),
                            t(&x.reason),
                        ]
                    })
                    .collect();
                h3 { "rejects.csv (" (list.len()) " row" @if list.len() != 1 { "s" } ")" }
                (table(None, &["file", "#line", "column", "value", "reason"], &shown))
                (cut_note(list.len(), "rejects.csv"))
            }
            _ => { (note("No rows were rejected (the run wrote no rejects.csv).")) }
        }
        @if r.summary.warnings > 0 {
            (note(&format!("{} warning(s) while loading the ledger (printed by the run).", r.summary.warnings)))
        }
    }
}

fn manifest(m: &Manifest) -> Markup {
    let rows: Vec<Vec<Cell>> = m
        .inputs
        .iter()
        .map(|i| {
            vec![
                t(&i.file),
                Cell::Html(html! { span class="mono" { (i.blake3) } }),
                n(num(&i.read)),
                n(num(&i.loaded)),
                n(num(&i.rejected)),
            ]
        })
        .collect();
    html! {
        (facts(&[
            ("policy", format!("{} {}", m.policy, m.policy_version)),
            ("policy blake3", m.policy_blake3.clone()),
            ("as of", m.as_of.map(|d| d.to_string()).unwrap_or_else(|| "—".to_string())),
            ("ledger", m.ledger.clone()),
            ("recoup", m.recoup_version.clone()),
            ("actions", num(&m.actions)),
            ("customers skipped", num(&m.customers_skipped)),
            ("threads", num(&m.threads)),
            ("outputs", m.outputs.join(", ")),
            ("timings (ms)", m.timings_ms.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")),
        ]))
        h3 { "Inputs" }
        (table(None, &["file", "blake3", "#read", "#loaded", "#rejected"], &rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_say_where_the_rest_is() {
        assert_eq!(cut_note(MAX_ROWS, "plan.csv").into_string(), "");
        assert_eq!(
            cut_note(MAX_ROWS + 1, "plan.csv").into_string(),
            "<p class=\"muted\">The first 1000 of 1001 rows; plan.csv has them all.</p>"
        );
    }
}
