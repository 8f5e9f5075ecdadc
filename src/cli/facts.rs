//! `recoup facts`: what the rules will see, per customer or per invoice, and
//! the portfolio KPIs.

use super::{Exit, ExitError, Format, LedgerArgs, as_of_or_today, load_ledger, report_problems, say, style};
use crate::facts::registry::{Facts, Value};
use crate::facts::{Context, CustomerFacts, FactsConfig, InvoiceFacts, kpi, map_customers};
use crate::ledger::Ledger;
use crate::output::{write_atomic, write_rejects};
use anyhow::Context as _;
use chrono::NaiveDate;
use clap::ValueEnum;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Level {
    Customer,
    Invoice,
}

#[derive(clap::Args, Debug)]
pub struct FactsArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// Only this customer: all its facts and its open invoices.
    #[arg(long, value_name = "ID")]
    pub customer: Option<String>,
    /// Facts per customer or per open invoice.
    #[arg(long, value_enum, default_value_t = Level::Customer)]
    pub level: Level,
    /// Write every row as CSV to this file (atomically) instead of a table: a new file, or one
    /// `recoup facts` wrote (never a ledger file or another file).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Rows shown on the terminal.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Upper edges of the aging buckets in days past due, e.g. 30,60,90 (default: the policy's
    /// `[kpis] bucket_edges`, else 30,60,90).
    #[arg(long, value_delimiter = ',', value_name = "DAYS")]
    pub bucket_edges: Vec<i32>,
    /// Derive the facts and KPIs with this policy's settings (`[kpis]`, `balance`, per-invoice
    /// steps): what its rules see. Without it, recoup's defaults.
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,
    /// Output format on the terminal.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `recoup facts`.
pub fn run(a: FactsArgs) -> anyhow::Result<Exit> {
    let as_of = as_of_or_today(a.ledger.as_of);
    if let Some(path) = &a.out {
        // Never over a ledger file, nor a file recoup did not write: refused before any work.
        let files: Vec<PathBuf> = crate::plan::shard::LEDGER_FILES.iter().map(|f| a.ledger.ledger.join(f)).collect();
        let inputs: Vec<crate::output::Input<'_>> = files.iter().map(|f| ("ledger file", f.as_path())).collect();
        crate::output::check_file(path, "recoup facts", &inputs, is_facts_csv).map_err(super::out_failed)?;
    }
    let policy = a.policy.as_deref().map(|p| super::run::compiled_policy(p, true)).transpose()?;
    let ledger = load_ledger(&a.ledger)?;
    if let Some(path) = rejects_path(&a.out).filter(|_| !ledger.report.rejects.is_empty()) {
        crate::output::check_file(&path, "recoup facts", &[], is_rejects_csv).map_err(super::out_failed)?;
    }
    let config = policy.as_ref().map_or_else(FactsConfig::default, |p| p.rules.kpis.clone());
    let mut edges = if a.bucket_edges.is_empty() { config.bucket_edges.clone() } else { a.bucket_edges.clone() };
    edges.sort_unstable();
    edges.dedup();
    if edges.first().is_some_and(|&e| e < 1) {
        return Err(ExitError {
            code: Exit::Usage,
            message: "--bucket-edges must be positive days, e.g. 30,60,90".into(),
        }
        .into());
    }
    let ctx = Context::new(as_of, FactsConfig { bucket_edges: edges, ..config });
    let ctx = match &policy {
        Some(p) => p.facts_context(&ctx).into_owned(),
        None => ctx,
    }
    .with_groups(&ledger);
    let only = match &a.customer {
        Some(id) => Some(ledger.customer_ix(id).ok_or_else(|| super::unknown_customer(&ledger, id))?),
        None => None,
    };
    let invoice_rows = |cf: &CustomerFacts<'_>, inv: &[InvoiceFacts<'_>]| -> Vec<Vec<String>> {
        inv.iter()
            .map(|f| {
                let mut row = vec![cf.customer.id.to_string(), cf.customer.currency.to_string()];
                row.extend(cells(f));
                row
            })
            .collect()
    };
    let mut out = std::io::stdout().lock();
    let text = a.format == Format::Text;
    if !text {
        // One JSON document holding everything the text shows (docs/output.md).
        let doc = match only {
            Some(c) => {
                let mut buf = Vec::new();
                let cf = crate::facts::derive_customer(&ledger, c, &ctx, &mut buf);
                let _scope = crate::money::Scope::enter(&cf.customer.currency);
                serde_json::json!({
                    "as_of": as_of.to_string(),
                    "customer": json_of(&cf),
                    "invoices": buf.iter().map(|f| invoice_json(&cf, f)).collect::<Vec<_>>(),
                })
            }
            None => {
                let rows: Vec<serde_json::Value> = map_customers(&ledger, &ctx, |cf, inv| {
                    let _scope = crate::money::Scope::enter(&cf.customer.currency);
                    match a.level {
                        Level::Customer => vec![json_of(cf)],
                        Level::Invoice => inv.iter().map(|f| invoice_json(cf, f)).collect(),
                    }
                })
                .into_iter()
                .flatten()
                .collect();
                let key = match a.level {
                    Level::Customer => "customers",
                    Level::Invoice => "invoices",
                };
                let mut doc = serde_json::Map::new();
                doc.insert("as_of".into(), as_of.to_string().into());
                doc.insert("level".into(), key.trim_end_matches('s').into());
                doc.insert(key.into(), rows.into());
                let portfolio = kpi::by_currency(&ledger, &ctx);
                let portfolio: serde_json::Map<String, serde_json::Value> = portfolio
                    .iter()
                    .map(|(code, k)| Ok((code.clone(), serde_json::to_value(crate::money::json::InCurrency(code, k))?)))
                    .collect::<Result<_, serde_json::Error>>()?;
                doc.insert("portfolio".into(), portfolio.into());
                serde_json::Value::Object(doc)
            }
        };
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        if a.out.is_none() {
            return rejects_beside(&a.out, &a.ledger.ledger, &ledger);
        }
    }
    // One customer: derive its facts once, list them, then its invoices.
    let rows: Vec<Vec<String>> = match only {
        Some(c) => {
            let mut buf = Vec::new();
            let cf = crate::facts::derive_customer(&ledger, c, &ctx, &mut buf);
            let _scope = crate::money::Scope::enter(&cf.customer.currency);
            if text {
                print_vertical(&mut out, &cf)?;
                writeln!(out)?;
            }
            invoice_rows(&cf, &buf)
        }
        None => map_customers(&ledger, &ctx, |cf, inv| {
            let _scope = crate::money::Scope::enter(&cf.customer.currency);
            match a.level {
                Level::Customer => vec![cells(cf)],
                Level::Invoice => invoice_rows(cf, inv),
            }
        })
        .into_iter()
        .flatten()
        .collect(),
    };
    let header: Vec<&str> = match a.level {
        Level::Customer if only.is_none() => names::<CustomerFacts<'_>>(),
        _ => {
            let mut h = vec!["customer_id", "currency"];
            h.extend(names::<InvoiceFacts<'_>>());
            h
        }
    };
    // The portfolio KPIs are shown only for the whole ledger, per currency.
    let portfolio = only.is_none().then(|| kpi::by_currency(&ledger, &ctx));
    if let Some(path) = &a.out {
        write_atomic(path, |w| write_csv(w, &header, &rows))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        say!("wrote {} rows to {}", rows.len(), path.display());
    } else if text && (only.is_none() || a.level == Level::Invoice || !rows.is_empty()) {
        let (header, rows) = terminal_columns(&header, rows, a.level == Level::Customer && only.is_none());
        print_table(&mut out, &header, &rows, a.limit)?;
    }
    if let (true, Some(p)) = (text, &portfolio) {
        for (code, k) in p {
            print_portfolio(&mut out, code, k)?;
        }
    }
    rejects_beside(&a.out, &a.ledger.ledger, &ledger)
}

/// The header rows `recoup facts --out` writes (per customer, per invoice).
fn facts_headers() -> [String; 2] {
    let mut invoice = vec!["customer_id"];
    invoice.extend(names::<InvoiceFacts<'_>>());
    [names::<CustomerFacts<'_>>().join(","), invoice.join(",")]
}

/// Whether a file starts with a header `recoup facts` writes.
fn is_facts_csv(bytes: &[u8]) -> bool {
    let first = crate::output::first_line(bytes);
    facts_headers().iter().any(|h| h.as_bytes() == first)
}

/// Whether a file is a rejects.csv recoup wrote (by its header).
fn is_rejects_csv(bytes: &[u8]) -> bool {
    let first = crate::output::first_line(bytes);
    first == b"file,line,column,value,reason" || first == crate::ledger::postgres::REJECTS_HEADER.join(",").as_bytes()
}

/// rejects.csv, beside the `--out` file.
fn rejects_path(out: &Option<PathBuf>) -> Option<PathBuf> {
    out.as_ref().and_then(|p| p.parent()).map(|d| d.join("rejects.csv"))
}

fn rejects_beside(out: &Option<PathBuf>, dir: &std::path::Path, ledger: &Ledger) -> anyhow::Result<Exit> {
    let rejects = &ledger.report.rejects;
    if rejects.is_empty() {
        return Ok(Exit::Ok);
    }
    report_problems(rejects, &ledger.report, dir, "rejected row");
    if let Some(path) = rejects_path(out) {
        write_atomic(&path, |w| write_rejects(w, &ledger.report))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        say!("wrote {} problem(s) to {}", rejects.len(), path.display());
    }
    let r: u64 = ledger.report.files().iter().map(|(_, c)| c.rejected).sum();
    say!("{r} row(s) rejected; the rest were loaded");
    Ok(Exit::RowsRejected)
}

/// Facts shown per customer on a terminal (CSV output has them all).
const TERMINAL_CUSTOMER_FACTS: &[&str] = &[
    "id",
    "segment",
    "currency",
    "open_total",
    "overdue_total",
    "max_days_past_due",
    "utilization",
    "avg_days_late",
    "days_since_payment",
    "contacts_30d",
    "promises_broken",
    "last_step",
    "on_hold",
];

/// Keep only the terminal columns of a customer table.
fn terminal_columns<'h>(header: &[&'h str], rows: Vec<Vec<String>>, narrow: bool) -> (Vec<&'h str>, Vec<Vec<String>>) {
    if !narrow {
        return (header.to_vec(), rows);
    }
    let keep: Vec<usize> = TERMINAL_CUSTOMER_FACTS.iter().filter_map(|n| header.iter().position(|h| h == n)).collect();
    let header = keep.iter().map(|&i| header[i]).collect();
    let rows = rows.into_iter().map(|r| keep.iter().map(|&i| r[i].clone()).collect()).collect();
    (header, rows)
}

fn names<F: Facts>() -> Vec<&'static str> {
    F::defs().iter().map(|d| d.name).collect()
}

fn cells<F: Facts>(f: &F) -> Vec<String> {
    (0..F::defs().len()).map(|i| cell(f.value(i))).collect()
}

fn cell(v: Value<'_>) -> String {
    match v {
        Value::Date(d) if d == NaiveDate::MIN => String::new(),
        v => v.to_string(),
    }
}

/// A set of facts as one JSON object: each fact by name, typed as the
/// machine contract says (docs/output.md).
fn json_of<F: Facts>(f: &F) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> =
        F::defs().iter().enumerate().map(|(i, d)| (d.name.to_string(), fact_json(f.value(i)))).collect();
    serde_json::Value::Object(map)
}

/// An open invoice's facts, with its customer's id and currency first (as
/// the invoice table shows them).
fn invoice_json(cf: &CustomerFacts<'_>, f: &InvoiceFacts<'_>) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    map.insert("customer_id".into(), cf.customer.id.to_string().into());
    map.insert("currency".into(), cf.customer.currency.to_string().into());
    if let serde_json::Value::Object(facts) = json_of(f) {
        map.extend(facts);
    }
    serde_json::Value::Object(map)
}

/// One fact's value in JSON: counts as integers, ratios as numbers (four
/// decimals, as the text shows them), money as a decimal string with the
/// minor units of the currency in scope (the customer's),
/// booleans as booleans, dates as `YYYY-MM-DD` or null when empty.
pub(super) fn fact_json(v: Value<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Int(i) => J::from(i),
        Value::Float(_) => {
            v.to_string().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(J::Null, J::Number)
        }
        Value::Money(d) => J::String(crate::money::json::text(d)),
        Value::Bool(b) => J::Bool(b),
        Value::Text(t) => J::String(t.to_string()),
        Value::Date(d) if d == NaiveDate::MIN => J::Null,
        Value::Date(d) => J::String(d.to_string()),
    }
}

fn write_csv(w: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header)?;
    for r in rows {
        out.write_record(r)?;
    }
    out.flush()
}

fn print_vertical<F: Facts>(out: &mut dyn Write, f: &F) -> std::io::Result<()> {
    let mut t = style::table(["fact", "value", "meaning"]);
    for (i, d) in F::defs().iter().enumerate() {
        // Numbers right-aligned, words and ids left.
        let value = cell(f.value(i));
        let align =
            if style::is_number(&value) { comfy_table::CellAlignment::Right } else { comfy_table::CellAlignment::Left };
        t.add_row(vec![
            comfy_table::Cell::new(format!("customer.{}", d.name)),
            comfy_table::Cell::new(value).set_alignment(align),
            comfy_table::Cell::new(d.doc),
        ]);
    }
    style::write_table(out, &t, "")
}

fn print_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>], limit: usize) -> std::io::Result<()> {
    let mut t = style::table(header.iter().copied());
    for r in rows.iter().take(limit) {
        t.add_row(r.iter());
    }
    style::right_align_numbers(&mut t, &rows[..rows.len().min(limit)]);
    style::write_table(out, &t, "")?;
    if rows.len() > limit {
        writeln!(out, "... {} more rows; --out FILE writes them all, with every fact, as CSV", rows.len() - limit)?;
    }
    Ok(())
}

fn opt2(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.2}"))
}

/// One currency's portfolio KPIs (money in that currency).
fn print_portfolio(out: &mut dyn Write, code: &str, p: &kpi::Portfolio) -> std::io::Result<()> {
    writeln!(
        out,
        "\nportfolio in {code} as of {} ({} customers, {} open invoices)",
        p.as_of, p.customers, p.open_invoices
    )?;
    let money = |d| format!("{code} {}", crate::engine::words::money_of(d, code));
    let lines = [
        ("open AR".to_string(), money(p.ar_total)),
        ("current".into(), money(p.ar_current)),
        ("overdue".into(), money(p.ar_overdue)),
        ("disputed".into(), money(p.ar_disputed)),
        ("unapplied cash".into(), money(p.unapplied_cash)),
        ("open credit notes".into(), money(p.credit_notes)),
        ("net AR (DSO, CEI)".into(), money(p.ar_net)),
        (format!("DSO ({} days)", p.dso_days), opt2(p.dso)),
        ("DSO countback".into(), opt2(p.dso_countback)),
        ("best possible DSO".into(), opt2(p.best_possible_dso)),
        ("avg days delinquent".into(), opt2(p.average_days_delinquent)),
        (format!("CEI % since {}", p.cei_from), opt2(p.cei)),
    ];
    for (label, value) in lines {
        writeln!(out, "  {label:<24}{value:>20}")?;
    }
    writeln!(out, "  aging:")?;
    for b in &p.aging {
        writeln!(out, "    {:<10}{:>8} invoices{:>22}", b.bucket, b.count, money(b.amount))?;
    }
    Ok(())
}
