//! The command line: clap arguments, then dispatch to the library. Exit codes
//! are documented in the README and defined by [`Exit`].

use crate::facts::registry::{Facts, Value};
use crate::facts::{Context, CustomerFacts, FactsConfig, InvoiceFacts, kpi, map_customers};
use crate::ledger::{self, Ledger, LoadError, LoadOptions};
use crate::output::{write_atomic, write_rejects};
use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Print a line to stderr; a closed stderr is not an error (never panics).
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// Exit codes of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// The run failed (I/O error, internal error).
    Failed = 1,
    /// Bad command-line usage.
    Usage = 2,
    /// The policy is invalid.
    PolicyInvalid = 3,
    /// The input ledger is invalid (bad rows without `--reject-bad-rows`, missing files or columns).
    InputInvalid = 4,
    /// Success, but rows were rejected (`--reject-bad-rows`).
    RowsRejected = 5,
}

/// An error that carries its exit code.
#[derive(Debug)]
pub struct ExitError {
    pub code: Exit,
    pub message: String,
}

impl std::fmt::Display for ExitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for ExitError {}

#[derive(Parser, Debug)]
#[command(name = "recoup", version, about = "A rules engine for credit and collections")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the facts rules will see, per customer or per invoice, and the portfolio KPIs.
    Facts(FactsArgs),
    /// Write a realistic synthetic ledger of any size, from a seed.
    Generate(GenerateArgs),
}

/// Arguments shared by commands that read a ledger.
#[derive(clap::Args, Debug)]
pub struct LedgerArgs {
    /// The ledger folder (customers.csv, invoices.csv, payments.csv, optional promises.csv and actions.csv).
    #[arg(long, value_name = "DIR")]
    pub ledger: PathBuf,
    /// The as-of date, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
    /// Reject bad rows (listed in rejects.csv) and go on, instead of refusing the ledger.
    #[arg(long)]
    pub reject_bad_rows: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Level {
    Customer,
    Invoice,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
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
    /// Write every row as CSV to this file (atomically) instead of a table.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Rows shown on the terminal.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Output format on the terminal.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Number of customers (about 10 invoices each over 12 months).
    #[arg(long)]
    pub customers: u64,
    /// Random seed; the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The ledger's as-of date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub as_of: NaiveDate,
    /// Months of history.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Parse arguments, run, print errors, and return the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Usage } else { Exit::Ok };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            let code = e.downcast_ref::<ExitError>().map_or(Exit::Failed, |x| x.code);
            if !is_broken_pipe(&e) {
                say!("error: {e:#}");
            }
            ExitCode::from(if is_broken_pipe(&e) { 0 } else { code as u8 })
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Facts(a) => facts(a),
        Command::Generate(_a) => anyhow::bail!("generate: pending"),
    }
}

/// The as-of date: given, or today (the only place recoup reads the clock).
pub fn as_of_or_today(d: Option<NaiveDate>) -> NaiveDate {
    d.unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// Load a ledger, printing its problems the one way they are rendered; a
/// refused ledger becomes an [`ExitError`] with [`Exit::InputInvalid`].
pub fn load_ledger(args: &LedgerArgs) -> anyhow::Result<Ledger> {
    let opts = LoadOptions { reject_bad_rows: args.reject_bad_rows };
    match ledger::load(&args.ledger, &opts) {
        Ok(l) => {
            report_problems(&l.report.warnings, "warning");
            Ok(l)
        }
        Err(LoadError::BadRows { rows, problems, report }) => {
            report_problems(&report.warnings, "warning");
            report_problems(&problems, "problem");
            let counts: Vec<String> = report
                .files()
                .iter()
                .filter(|(_, c)| c.read > 0)
                .map(|(k, c)| format!("{}: {} read, {} bad", k.file_name(), c.read, c.rejected))
                .collect();
            Err(ExitError {
                code: Exit::InputInvalid,
                message: format!(
                    "{rows} bad row(s) in `{}` ({}); nothing was written\n  = help: fix the rows above, or pass --reject-bad-rows to write them to rejects.csv and go on",
                    args.ledger.display(),
                    counts.join("; ")
                ),
            }
            .into())
        }
        Err(e) => {
            Err(ExitError { code: Exit::InputInvalid, message: format!("{e}\n  --> {}", args.ledger.display()) }.into())
        }
    }
}

const SHOWN: usize = 20;

fn report_problems(problems: &[ledger::Problem], what: &str) {
    for p in problems.iter().take(SHOWN) {
        say!("{p}");
    }
    if problems.len() > SHOWN {
        say!("... and {} more {what}s", problems.len() - SHOWN);
    }
}

fn facts(a: FactsArgs) -> anyhow::Result<Exit> {
    let as_of = as_of_or_today(a.ledger.as_of);
    let ledger = load_ledger(&a.ledger)?;
    let ctx = Context::new(as_of, FactsConfig::default());
    let only = match &a.customer {
        Some(id) => Some(ledger.customer_ix(id).ok_or_else(|| ExitError {
            code: Exit::InputInvalid,
            message: format!("unknown customer `{id}`: not in customers.csv"),
        })?),
        None => None,
    };
    let rows: Vec<Vec<String>> = map_customers(&ledger, &ctx, |cf, inv| {
        if only.is_some_and(|c| c != cf.ix) {
            return Vec::new();
        }
        match a.level {
            Level::Customer if only.is_none() => vec![cells(cf)],
            _ => inv
                .iter()
                .map(|f| {
                    let mut row = vec![cf.customer.id.to_string()];
                    row.extend(cells(f));
                    row
                })
                .collect(),
        }
    })
    .into_iter()
    .flatten()
    .collect();
    let header: Vec<&str> = match a.level {
        Level::Customer if only.is_none() => names::<CustomerFacts<'_>>(),
        _ => {
            let mut h = vec!["customer_id"];
            h.extend(names::<InvoiceFacts<'_>>());
            h
        }
    };
    let portfolio = kpi::portfolio(&ledger, &ctx);
    let mut out = std::io::stdout().lock();
    if let Some(c) = only {
        let mut buf = Vec::new();
        let cf = crate::facts::derive_customer(&ledger, c, &ctx, &mut buf);
        if a.format == Format::Json {
            serde_json::to_writer_pretty(&mut out, &json_of(&cf))?;
            writeln!(out)?;
        } else {
            print_vertical(&mut out, &cf)?;
            writeln!(out)?;
        }
    }
    if let Some(path) = &a.out {
        write_atomic(path, |w| write_csv(w, &header, &rows))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        say!("wrote {} rows to {}", rows.len(), path.display());
    } else if a.format == Format::Json && only.is_none() {
        serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "portfolio": portfolio }))?;
        writeln!(out)?;
    } else if only.is_none() || a.level == Level::Invoice || !rows.is_empty() {
        print_table(&mut out, &header, &rows, a.limit)?;
    }
    if only.is_none() && a.format == Format::Table {
        print_portfolio(&mut out, &portfolio)?;
    }
    rejects_beside(&a.out, &ledger)
}

fn rejects_beside(out: &Option<PathBuf>, ledger: &Ledger) -> anyhow::Result<Exit> {
    let rejects = &ledger.report.rejects;
    if rejects.is_empty() {
        return Ok(Exit::Ok);
    }
    report_problems(rejects, "rejected row");
    if let Some(dir) = out.as_ref().and_then(|p| p.parent()) {
        let path = dir.join("rejects.csv");
        write_atomic(&path, |w| write_rejects(w, rejects))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        say!("wrote {} problem(s) to {}", rejects.len(), path.display());
    }
    let r: u64 = ledger.report.files().iter().map(|(_, c)| c.rejected).sum();
    say!("{r} row(s) rejected; the rest were loaded");
    Ok(Exit::RowsRejected)
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

fn json_of<F: Facts>(f: &F) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = F::defs()
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.to_string(), serde_json::Value::String(cell(f.value(i)))))
        .collect();
    serde_json::Value::Object(map)
}

fn write_csv(w: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header)?;
    for r in rows {
        out.write_record(r)?;
    }
    out.flush()
}

/// Plain, column-aligned tables: a header, a rule, rows, no borders.
fn plain_table() -> comfy_table::Table {
    use comfy_table::{ContentLineStyle, LineStyle, TableStyle};
    const PLAIN: TableStyle = TableStyle::new()
        .header_lines(ContentLineStyle::none().junction(' '))
        .header_separator(LineStyle::none().fill('-').junction(' '))
        .content_lines(ContentLineStyle::none().junction(' '));
    let mut t = comfy_table::Table::new();
    t.load_style(PLAIN);
    t
}

fn print_vertical<F: Facts>(out: &mut dyn Write, f: &F) -> std::io::Result<()> {
    let mut t = plain_table();
    t.set_header(["fact", "value", "meaning"]);
    for (i, d) in F::defs().iter().enumerate() {
        t.add_row([format!("customer.{}", d.name), cell(f.value(i)), d.doc.to_string()]);
    }
    writeln!(out, "{t}")
}

fn print_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>], limit: usize) -> std::io::Result<()> {
    let mut t = plain_table();
    t.set_header(header.iter().copied());
    for r in rows.iter().take(limit) {
        t.add_row(r.iter());
    }
    writeln!(out, "{t}")?;
    if rows.len() > limit {
        writeln!(out, "... {} more rows; --out FILE writes them all as CSV", rows.len() - limit)?;
    }
    Ok(())
}

fn opt2(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.2}"))
}

fn print_portfolio(out: &mut dyn Write, p: &kpi::Portfolio) -> std::io::Result<()> {
    writeln!(out, "\nportfolio as of {} ({} customers, {} open invoices)", p.as_of, p.customers, p.open_invoices)?;
    writeln!(out, "  open AR            {:>16.2}", p.ar_total)?;
    writeln!(out, "  current            {:>16.2}", p.ar_current)?;
    writeln!(out, "  overdue            {:>16.2}", p.ar_overdue)?;
    writeln!(out, "  disputed           {:>16.2}", p.ar_disputed)?;
    writeln!(out, "  DSO ({} days)      {:>16}", p.dso_days, opt2(p.dso))?;
    writeln!(out, "  DSO countback      {:>16}", opt2(p.dso_countback))?;
    writeln!(out, "  best possible DSO  {:>16}", opt2(p.best_possible_dso))?;
    writeln!(out, "  avg days delinquent{:>16}", opt2(p.average_days_delinquent))?;
    writeln!(out, "  CEI since {}{:>10}%", p.cei_from, opt2(p.cei))?;
    writeln!(out, "  aging:")?;
    for b in &p.aging {
        writeln!(out, "    {:<10} {:>8} invoices {:>16.2}", b.bucket, b.count, b.amount)?;
    }
    Ok(())
}
