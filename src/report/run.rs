//! The run report: a `recoup run` output folder as one HTML page.

use super::html::{Cell, document, esc, facts, id, n, note, num, section, t, table, tiles};
use super::svg::{Bar, bar_chart};
use super::{ReportError, read_csv, read_json, require};
use crate::plan::summary::{Summary, Tally};
use crate::plan::write::Manifest;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// Worklist rows shown per owner.
pub const TOP_PER_OWNER: usize = 10;
/// Rows of a long list (account changes, rejected rows) put in the page;
/// the CSV file beside it has them all.
pub const MAX_ROWS: usize = 1000;

/// "(the first N of M; FILE has them all)" when a list is cut, else nothing.
fn cut_note(total: usize, file: &str) -> String {
    if total > MAX_ROWS {
        note(&format!("The first {MAX_ROWS} of {total} rows; {file} has them all."))
    } else {
        String::new()
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
    pub amount_due: String,
    pub reason: String,
}

/// One row of plan.csv (the columns the report shows).
#[derive(Debug, Clone, Deserialize)]
pub struct PlanRow {
    pub customer_id: String,
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

/// One row of rejects.csv.
#[derive(Debug, Clone, Deserialize)]
pub struct RejectRow {
    pub file: String,
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
}

/// Read a run's output folder.
pub fn load(dir: &Path) -> Result<RunInputs, ReportError> {
    const CMD: &str = "run";
    let summary = read_json(&require(dir, CMD, "summary.json")?)?;
    let manifest = read_json(&require(dir, CMD, "manifest.json")?)?;
    let plan = read_csv(&require(dir, CMD, "plan.csv")?)?;
    let worklist = read_csv(&require(dir, CMD, "worklist.csv")?)?;
    let rejects = dir.join("rejects.csv");
    let rejects = if rejects.is_file() { Some(read_csv(&rejects)?) } else { None };
    Ok(RunInputs { summary, manifest, plan, worklist, rejects })
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Actions that change an account: holds, limits, referrals.
fn is_account_change(r: &PlanRow) -> bool {
    matches!(r.action.as_str(), "credit_hold" | "release_hold" | "limit_change" | "refer_agency" | "refer_legal")
        || r.hold == "true"
}

fn tally_cells(name: &str, x: &Tally) -> Vec<Cell> {
    vec![t(name), n(num(&x.count)), n(num(&x.amount_due)), n(num(&x.fees)), n(num(&x.interest)), n(num(&x.cost))]
}

/// Render the run report.
pub fn render(dir: &Path, r: &RunInputs) -> String {
    let s = &r.summary;
    let k = &s.kpis;
    let as_of = s.as_of.unwrap_or(k.as_of);
    let mut body = String::new();

    // KPIs.
    let cei_note = format!("since {}", k.cei_from);
    let kpi = tiles(&[
        ("DSO", num(&k.dso), format!("{} days of sales", k.dso_days)),
        ("Best possible DSO", num(&k.best_possible_dso), "current AR only".to_string()),
        ("Average days delinquent", num(&k.average_days_delinquent), "DSO − best possible".to_string()),
        ("CEI %", num(&k.cei), if k.cei.is_some() { cei_note } else { "period not known".to_string() }),
    ]);
    let money = tiles(&[
        (
            "Open AR",
            num(&k.ar_total),
            format!("{} open invoices; net of unapplied cash and credit notes {}", k.open_invoices, num(&k.ar_net)),
        ),
        ("Overdue", num(&k.ar_overdue), format!("current {}", num(&k.ar_current))),
        ("Disputed", num(&k.ar_disputed), String::new()),
        (
            "Customers with actions",
            num(&s.customers_with_actions),
            format!("of {}; {} skipped", s.customers, s.customers_skipped),
        ),
    ]);
    body.push_str(&section(
        "kpis",
        &format!("Portfolio as of {as_of}"),
        &format!(
            "{kpi}<div style=\"height:10px\"></div>{money}{}",
            note(&format!(
                "DSO countback: {}. Credit sales of the last {} days: {}.",
                num(&k.dso_countback),
                k.dso_days,
                num(&k.sales_dso_period)
            ))
        ),
    ));

    // Aging.
    let bars: Vec<Bar> = k
        .aging
        .iter()
        .map(|b| Bar {
            category: b.bucket.clone(),
            value: f(b.amount),
            label: num(&b.amount),
            note: format!("{} invoices", b.count),
        })
        .collect();
    let aging_rows: Vec<Vec<Cell>> =
        k.aging.iter().map(|b| vec![t(&b.bucket), n(num(&b.count)), n(num(&b.amount))]).collect();
    body.push_str(&section(
        "aging",
        "Open AR by aging bucket",
        &format!(
            "{}{}",
            bar_chart("Open AR by days past due", &bars),
            table(" class=\"compact\"", &["bucket", "#invoices", "#open amount"], &aging_rows)
        ),
    ));

    // Actions by kind.
    let mut rows: Vec<Vec<Cell>> = s.by_action.iter().map(|(a, x)| tally_cells(a, x)).collect();
    let total = crate::report::html::row(&tally_cells("total", &s.actions), " class=\"total\"");
    let head = ["action", "#count", "#amount due", "#fees", "#interest", "#cost"];
    let mut actions = table("", &head, &rows);
    actions = actions.replace("</tbody>", &format!("{total}</tbody>"));
    rows = s.by_step.iter().map(|(a, x)| tally_cells(a, x)).collect();
    let steps = if rows.is_empty() {
        String::new()
    } else {
        format!(
            "<h3>By ladder step</h3>{}",
            table("", &["step", "#count", "#amount due", "#fees", "#interest", "#cost"], &rows)
        )
    };
    body.push_str(&section("actions", "Actions by kind", &format!("{actions}{steps}")));

    // Worklists.
    body.push_str(&section("worklist", "Worklists", &worklists(&r.worklist)));

    // Holds, limits, referrals.
    body.push_str(&section("account", "Holds, limit changes and referrals", &account_changes(r)));

    // Rejected rows.
    body.push_str(&section("rejects", "Rejected rows", &rejects(r)));

    // Manifest.
    body.push_str(&section("manifest", "Manifest", &manifest(&r.manifest)));

    let title = format!("recoup run: {} {}", s.policy, s.policy_version);
    let subtitle =
        format!("as of {as_of} · {} customers · {} actions · {}", s.customers, s.actions.count, dir.display());
    let nav = [
        ("kpis", "KPIs"),
        ("aging", "Aging"),
        ("actions", "Actions"),
        ("worklist", "Worklists"),
        ("account", "Holds, limits, referrals"),
        ("rejects", "Rejects"),
        ("manifest", "Manifest"),
    ];
    document(&title, &subtitle, &nav, &body, "")
}

fn worklists(rows: &[WorkRow]) -> String {
    if rows.is_empty() {
        return note("No tasks for people today: the worklist is empty.");
    }
    let mut by_owner: BTreeMap<&str, Vec<&WorkRow>> = BTreeMap::new();
    for w in rows {
        by_owner.entry(&w.owner).or_default().push(w);
    }
    let mut s = note(&format!(
        "Calls, reviews and other tasks per account owner, highest priority first (worklist.csv); the top {TOP_PER_OWNER} of each."
    ));
    for (owner, list) in by_owner {
        let shown: Vec<Vec<Cell>> = list
            .iter()
            .take(TOP_PER_OWNER)
            .map(|w| {
                vec![
                    n(w.rank.to_string()),
                    n(&w.priority),
                    id(&w.customer_id),
                    id(&w.action),
                    id(&w.rule_id),
                    n(&w.amount_due),
                    t(&w.reason),
                ]
            })
            .collect();
        let more = if list.len() > TOP_PER_OWNER {
            format!(" (top {TOP_PER_OWNER} of {} tasks)", list.len())
        } else {
            format!(" ({} task{})", list.len(), if list.len() == 1 { "" } else { "s" })
        };
        let _ = write!(
            s,
            "<h3>{}<span class=\"muted\">{}</span></h3>{}",
            esc(owner),
            esc(&more),
            table("", &["#rank", "#priority", "customer", "action", "rule", "#amount due", "reason"], &shown)
        );
    }
    s
}

fn account_changes(r: &RunInputs) -> String {
    let s = &r.summary;
    let mut out = facts(&[
        ("holds placed", format!("{} (amount on hold {})", s.holds_placed, num(&s.amount_on_hold))),
        ("holds released", num(&s.holds_released)),
        ("limit increases", format!("{} (total {})", s.limit_changes.increases, num(&s.limit_changes.increase_total))),
        ("limit decreases", format!("{} (total {})", s.limit_changes.decreases, num(&s.limit_changes.decrease_total))),
        ("discounts offered", format!("{} (cost if all taken {})", s.discounts.offered, num(&s.discounts.max_cost))),
        (
            "referrals",
            if s.referrals.is_empty() {
                "none".to_string()
            } else {
                s.referrals
                    .iter()
                    .map(|(k, x)| format!("{k} {} ({})", x.count, num(&x.amount_due)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
    ]);
    let changes: Vec<&PlanRow> = r.plan.iter().filter(|p| is_account_change(p)).collect();
    let rows: Vec<Vec<Cell>> = changes
        .iter()
        .take(MAX_ROWS)
        .map(|p| {
            let limit = if p.old_limit.is_empty() && p.new_limit.is_empty() {
                String::new()
            } else {
                format!("{} → {}", p.old_limit, p.new_limit)
            };
            vec![
                id(&p.customer_id),
                id(if p.hold == "true" && p.action != "credit_hold" {
                    format!("{} (hold)", p.action)
                } else {
                    p.action.clone()
                }),
                id(&p.rule_id),
                n(&p.amount_due),
                n(limit),
                t(&p.reason),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str(&note("No holds, limit changes or referrals in this plan."));
    } else {
        out.push_str("<div style=\"height:10px\"></div>");
        out.push_str(&table("", &["customer", "action", "rule", "#amount due", "#limit", "reason"], &rows));
        out.push_str(&cut_note(changes.len(), "plan.csv"));
    }
    out
}

fn rejects(r: &RunInputs) -> String {
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
    let mut s = table(" class=\"compact\"", &["file", "#read", "#loaded", "#rejected"], &counts);
    match &r.rejects {
        Some(list) if !list.is_empty() => {
            let shown: Vec<Vec<Cell>> = list
                .iter()
                .take(MAX_ROWS)
                .map(|x| {
                    vec![
                        t(&x.file),
                        n(&x.line),
                        t(&x.column),
                        Cell::Html(format!("<code>{}</code>", esc(&x.value))),
                        t(&x.reason),
                    ]
                })
                .collect();
            let _ = write!(
                s,
                "<h3>rejects.csv ({} row{})</h3>{}{}",
                list.len(),
                if list.len() == 1 { "" } else { "s" },
                table("", &["file", "#line", "column", "value", "reason"], &shown),
                cut_note(list.len(), "rejects.csv")
            );
        }
        _ => s.push_str(&note("No rows were rejected (the run wrote no rejects.csv).")),
    }
    if r.summary.warnings > 0 {
        s.push_str(&note(&format!("{} warning(s) while loading the ledger (printed by the run).", r.summary.warnings)));
    }
    s
}

fn manifest(m: &Manifest) -> String {
    let mut s = facts(&[
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
    ]);
    let rows: Vec<Vec<Cell>> = m
        .inputs
        .iter()
        .map(|i| {
            vec![
                t(&i.file),
                Cell::Html(format!("<span class=\"mono\">{}</span>", esc(&i.blake3))),
                n(num(&i.read)),
                n(num(&i.loaded)),
                n(num(&i.rejected)),
            ]
        })
        .collect();
    let _ = write!(s, "<h3>Inputs</h3>{}", table("", &["file", "blake3", "#read", "#loaded", "#rejected"], &rows));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_say_where_the_rest_is() {
        assert_eq!(cut_note(MAX_ROWS, "plan.csv"), "");
        assert_eq!(
            cut_note(MAX_ROWS + 1, "plan.csv"),
            "<p class=\"muted\">The first 1000 of 1001 rows; plan.csv has them all.</p>"
        );
    }
}
