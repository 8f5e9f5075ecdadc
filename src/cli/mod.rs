//! The command line: clap arguments, then dispatch to the library. Exit codes
//! are documented in the README and defined by [`Exit`]. One module per
//! command; this one holds what they share.

mod check;
mod convert;
mod explain;
mod facts;
mod generate;
mod init;
pub mod log;
mod merge;
mod pg;
mod preview;
mod report;
mod run;
mod schema;
pub use schema::{OUTPUTS, output_schema};
mod send;
mod shell;
mod simulate;
pub mod style;
mod test;

use crate::ledger::{self, Ledger, LoadError, LoadOptions};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Print a line to stderr; a closed stderr is not an error (never panics).
/// With `--log-format json`, one JSON object per message ([`log`]).
macro_rules! say {
    ($($t:tt)*) => {{
        $crate::cli::log::write(&format!($($t)*));
    }};
}
pub(crate) use say;

/// Run `f` on `threads` worker threads (default: rayon's, one per core).
pub fn with_threads<T>(threads: Option<usize>, f: impl FnOnce() -> anyhow::Result<T> + Send) -> anyhow::Result<T>
where
    T: Send,
{
    match threads {
        Some(n) => rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build()?.install(f),
        None => f(),
    }
}

/// A spinner on stderr naming the stage a long command is in — only when
/// stderr is a terminal and output is not quiet; otherwise nothing at all.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// Start the spinner (or nothing, when stderr is not a terminal or `quiet`).
    pub fn start(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        if quiet || log::json() || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// A bar counting `len` items of a stage (customers, runs), with the
    /// count, rate and time left — or nothing, like [`Progress::start`].
    pub fn bar(quiet: bool, len: u64, what: &'static str) -> Progress {
        use std::io::IsTerminal;
        if quiet || log::json() || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(s) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len} ({eta} left)")
        {
            bar.set_style(s.progress_chars("=> "));
        }
        bar.set_message(what);
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// Count `n` more items done (any thread).
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    /// Name the current stage.
    pub fn stage(&self, what: &'static str) {
        if let Some(b) = &self.0 {
            b.set_message(what);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
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
    /// `recoup test`: a policy test failed.
    TestsFailed = 6,
    /// Rules failed for more customers than the policy's `max_failed_share`: the run was stopped.
    TooManyFailed = 7,
    /// `recoup send`: some messages were not delivered this time (failed, or their fate unknown after a crash); send again.
    SendIncomplete = 8,
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

impl Exit {
    /// The exit code's name in `--format json` error objects (docs/output.md).
    pub fn kind(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Failed => "failed",
            Exit::Usage => "usage",
            Exit::PolicyInvalid => "policy_invalid",
            Exit::InputInvalid => "input_invalid",
            Exit::RowsRejected => "rows_rejected",
            Exit::TestsFailed => "tests_failed",
            Exit::TooManyFailed => "too_many_failed",
            Exit::SendIncomplete => "send_incomplete",
        }
    }
}

/// Where an error is: the first bad spot of a policy file or a ledger file,
/// for the `file`, `line` and `column` of a `--format json` error object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    pub file: Option<String>,
    pub line: Option<u64>,
    /// A character column in a policy file, or a column's name in a CSV file.
    pub column: Option<serde_json::Value>,
}

/// An [`ExitError`] with the place it is about.
#[derive(Debug)]
pub struct LocatedError {
    pub error: ExitError,
    pub at: Location,
}

impl std::fmt::Display for LocatedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}
impl std::error::Error for LocatedError {}

/// An error's exit code: its [`ExitError`]'s, else [`Exit::Failed`].
fn exit_code(e: &anyhow::Error) -> Exit {
    e.downcast_ref::<ExitError>()
        .map(|x| x.code)
        .or_else(|| e.downcast_ref::<LocatedError>().map(|x| x.error.code))
        .unwrap_or(Exit::Failed)
}

/// Whether the raw arguments ask for `--format json` (before clap has parsed them).
fn json_flag(args: &[std::ffi::OsString]) -> bool {
    let mut it = args.iter().filter_map(|a| a.to_str());
    let mut json = false;
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if let Some(v) = a.strip_prefix("--format=") {
            json = v.eq_ignore_ascii_case("json");
        } else if a == "--format" {
            json = it.next().is_some_and(|v| v.eq_ignore_ascii_case("json"));
        }
    }
    json
}

/// The `--format json` error object: `{"error": {code, kind, message, help,
/// file, line, column}}` (docs/output.md; docs/schemas/error.schema.json).
/// `text` is the error as stderr shows it: its first line is the message,
/// a `= help:` line the help, a `--> file:line` line the place when no
/// [`Location`] is given.
pub fn error_json(code: Exit, text: &str, at: Option<&Location>) -> serde_json::Value {
    let mut lines = text.lines();
    let message = lines.next().unwrap_or_default().trim().to_string();
    let mut help = None;
    let mut found = Location::default();
    for l in lines {
        let l = l.trim();
        if let Some(h) = l.strip_prefix("= help:").or_else(|| l.strip_prefix("tip:")) {
            help = Some(h.trim().to_string());
        } else if let Some(place) = l.strip_prefix("--> ") {
            found = parse_place(place);
        }
    }
    let at = at.cloned().unwrap_or(found);
    serde_json::json!({ "error": {
        "code": code as u8,
        "kind": code.kind(),
        "message": message,
        "help": help,
        "file": at.file,
        "line": at.line,
        "column": at.column,
    }})
}

/// `path:12:9`, `path:12` or `path` (a path may itself hold `:`).
pub(super) fn parse_place(place: &str) -> Location {
    let mut parts: Vec<&str> = place.rsplitn(3, ':').collect();
    parts.reverse();
    let num = |s: &str| s.parse::<u64>().ok();
    match parts.as_slice() {
        [f, l, c] if num(l).is_some() && num(c).is_some() => {
            Location { file: Some(f.to_string()), line: num(l), column: num(c).map(serde_json::Value::from) }
        }
        [f, l, c] if num(c).is_some() => Location { file: Some(format!("{f}:{l}")), line: num(c), column: None },
        [f, l] if num(l).is_some() => Location { file: Some(f.to_string()), line: num(l), column: None },
        _ => Location { file: Some(place.to_string()), line: None, column: None },
    }
}

/// Print the `--format json` error object on stdout (a closed stdout is not an error).
fn print_error_json(code: Exit, text: &str, at: Option<&Location>) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, &error_json(code, text, at));
    let _ = writeln!(out);
}

#[derive(Parser, Debug)]
#[command(name = "recoup", version, about = "A rules engine for credit and collections")]
pub struct Cli {
    /// When to colour the output: `auto` (a terminal, and NO_COLOR unset), `always`, `never`.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value_t = style::ColorChoice::Auto,
        display_order = 1000
    )]
    pub color: style::ColorChoice,
    /// How stderr is written: `text` for people, `json` for log collectors (one object per line:
    /// errors, warnings, and the stages of a run with counts and timings).
    #[arg(long, global = true, value_enum, value_name = "FORMAT", env = "RECOUP_LOG_FORMAT", default_value_t = log::LogFormat::Text)]
    pub log_format: log::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// `--format`: what a command prints on stdout. One vocabulary for every
/// command: `text` for people, `json` for tools (`table` is accepted for `text`).
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Text and tables for people.
    #[default]
    #[value(alias = "table")]
    Text,
    /// One JSON document on stdout.
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the facts rules will see, per customer or per invoice, and the portfolio KPIs.
    #[command(
        after_help = "Examples:\n  recoup facts --ledger fixtures/demo --as-of 2026-11-16\n  recoup facts --ledger fixtures/demo --as-of 2026-11-16 --customer C000117\n  recoup facts --ledger fixtures/demo --policy policies/standard --as-of 2026-11-16 --format json"
    )]
    Facts(facts::FactsArgs),
    /// Write a realistic synthetic ledger of any size, from a seed.
    #[command(
        after_help = "Examples:\n  recoup generate --customers 100000 --seed 7 --as-of 2026-11-16 --out /tmp/big"
    )]
    Generate(generate::GenerateArgs),
    /// Apply a policy to a ledger: write the action plan, worklist, summary and manifest.
    #[command(
        after_help = "Examples:\n  recoup run --ledger fixtures/demo --policy policies/standard --as-of 2026-11-16 --out out\n  recoup run --ledger /data/ar --policy policies/standard --as-of \"$(date -I)\" --out /data/plan --quiet"
    )]
    Run(run::RunArgs),
    /// One customer: its facts, every rule of its strategy, fired or not and why, and the final actions.
    #[command(
        after_help = "Examples:\n  recoup explain --ledger fixtures/demo --policy policies/standard --as-of 2026-11-16 --customer C000117"
    )]
    Explain(explain::ExplainArgs),
    /// One customer's messages of today, rendered from the policy's templates, as `run` writes them to the outbox.
    #[command(
        after_help = "Examples:\n  recoup preview --ledger fixtures/demo --policy policies/standard --as-of 2026-11-16 --customer C000117"
    )]
    Preview(preview::PreviewArgs),
    /// Parse and validate a policy: every problem with file:line:col, a caret and help.
    #[command(
        after_help = "Examples:\n  recoup check policies/standard\n  recoup check policies/standard --ledger fixtures/demo"
    )]
    Check(check::CheckArgs),
    /// Run a policy's own test cases (tests/*.toml): given ledger and date, expected actions.
    #[command(after_help = "Examples:\n  recoup test policies/standard")]
    Test(test::TestArgs),
    /// Print the JSON Schema of policy files, for editors.
    #[command(
        after_help = "Examples:\n  recoup schema > policy.schema.json\n  recoup schema --list-outputs\n  recoup schema --output summary"
    )]
    Schema(schema::SchemaArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:\n  recoup completions bash > /etc/bash_completion.d/recoup")]
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff).
    #[command(after_help = "Examples:\n  recoup man > recoup.1\n  recoup man --out /usr/local/share/man/man1")]
    Man(shell::ManArgs),
    /// Compare a baseline policy with variants on one ledger: side-by-side figures and a per-customer diff.
    #[command(
        after_help = "Examples:\n  recoup simulate --ledger fixtures/demo --as-of 2026-11-16 --baseline policies/standard --variant policies/strict --horizon 13w --runs 200 --out sim"
    )]
    Simulate(simulate::SimulateArgs),
    /// Write a self-contained HTML report of a run's or a simulation's output folder.
    #[command(after_help = "Examples:\n  recoup report --run out\n  recoup report --simulation sim")]
    Report(report::ReportArgs),
    /// Create a starter policy folder (policy, script, templates, tests) that passes check and test.
    #[command(
        after_help = "Examples:\n  recoup init policies/mine && recoup check policies/mine && recoup test policies/mine"
    )]
    Init(init::InitArgs),
    /// Combine the outputs of `recoup run --shard I/N` for every I into the outputs of one run.
    #[command(after_help = "Examples:\n  recoup merge --out out shard-0 shard-1 shard-2")]
    Merge(merge::MergeArgs),
    /// Partition a ledger folder by the shard of each row's customer, for shards that read only their rows.
    #[command(after_help = "Examples:\n  recoup split --ledger /data/ar --shards 4 --out /data/ar-split")]
    Split(merge::SplitArgs),
    /// Deliver a run's email outbox over SMTP, each message once; log each result in the output folder.
    #[command(after_help = "Examples:\n  recoup send --outbox out --smtp smtp://localhost:2525")]
    Send(send::SendArgs),
    /// Write a CSV ledger folder as Parquet files with typed columns (money DECIMAL, dates DATE).
    #[command(
        after_help = "Examples:\n  recoup convert --ledger fixtures/demo --out /tmp/demo-parquet\n  recoup run --ledger /tmp/demo-parquet --policy policies/standard --as-of 2026-11-16 --out out"
    )]
    Convert(convert::ConvertArgs),
}

/// The error for a `--customer` id the ledger does not hold, with the id
/// the user probably meant: the same id in another case or with other
/// zero padding (`c117` for `C000117`), else the closest id by spelling.
pub fn unknown_customer(ledger: &crate::ledger::Ledger, id: &str) -> ExitError {
    let ids = || ledger.customers.iter().map(|c| c.id.as_str());
    let trimmed = id.trim();
    let digits = |s: &str| -> (String, String) {
        let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
        let (head, tail) = s.split_at(split);
        (head.to_ascii_lowercase(), tail.trim_start_matches('0').to_string())
    };
    let typed = digits(trimmed);
    let suggestion = ids()
        .find(|c| c.eq_ignore_ascii_case(trimmed))
        .or_else(|| ids().find(|c| !typed.1.is_empty() && digits(c) == typed))
        // By spelling only for ids long enough that a near one is a likely typo.
        .or_else(|| if trimmed.chars().count() >= 4 { crate::policy::diag::closest(trimmed, ids()) } else { None });
    let hint = match suggestion {
        Some(c) => format!("; did you mean `{c}`?"),
        None => "; `recoup facts --ledger DIR` lists the customers".to_string(),
    };
    ExitError { code: Exit::InputInvalid, message: format!("unknown customer `{id}`: not in customers.csv{hint}") }
}

/// Arguments shared by commands that read a ledger.
#[derive(clap::Args, Debug)]
pub struct LedgerArgs {
    /// The ledger folder (customers.csv, invoices.csv, payments.csv, optional promises.csv and actions.csv;
    /// or the same as .parquet files), or a PostgreSQL URL `postgres://USER@HOST/DB` whose tables of those
    /// names are read (docs/postgres.md).
    #[arg(long, value_name = "DIR", env = "RECOUP_LEDGER")]
    pub ledger: PathBuf,
    /// With a PostgreSQL ledger: read FILE from another table or view, e.g. `invoices=erp.open_items`
    /// (repeatable).
    #[arg(long, value_name = "FILE=TABLE")]
    pub ledger_table: Vec<String>,
    /// The as-of date, YYYY-MM-DD (default: today). A scheduled job sets it from the scheduler's date.
    #[arg(long, value_name = "DATE", value_parser = parse_date, env = "RECOUP_AS_OF")]
    pub as_of: Option<NaiveDate>,
    /// Reject bad rows (listed in rejects.csv) and go on, instead of refusing the ledger.
    #[arg(long, env = "RECOUP_REJECT_BAD_ROWS")]
    pub reject_bad_rows: bool,
}

/// The `--color` value among raw arguments (before clap has parsed them).
fn color_flag(args: &[std::ffi::OsString]) -> Option<style::ColorChoice> {
    use clap::ValueEnum;
    let mut value = None;
    let mut it = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if let Some(v) = a.strip_prefix("--color=") {
            value = Some(v.to_string());
        } else if a == "--color" {
            value = it.next().map(str::to_string);
        }
    }
    value.and_then(|v| style::ColorChoice::from_str(&v, true).ok())
}

/// A date argument: `YYYY-MM-DD`, a real calendar day.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| format!("`{s}` is not a date ({e}); write it as YYYY-MM-DD, e.g. 2026-11-16"))
}

/// Parse arguments, run, print errors, and return the exit code.
pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // clap prints its own usage errors and help: give it the same colour choice.
    let colour = match color_flag(&args) {
        Some(style::ColorChoice::Always) => clap::ColorChoice::Always,
        Some(style::ColorChoice::Never) => clap::ColorChoice::Never,
        _ if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    };
    // With `--format json`, an error is also a JSON object on stdout.
    let json = json_flag(&args);
    let started = std::time::Instant::now();
    let mut command = String::new();
    let parsed = Cli::command().color(colour).try_get_matches_from(args).and_then(|m| {
        command = m.subcommand_name().unwrap_or_default().to_string();
        Cli::from_arg_matches(&m)
    });
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Usage } else { Exit::Ok };
            let _ = e.print();
            if json && e.use_stderr() {
                let text = e.render().to_string();
                let text = text.trim_start().strip_prefix("error:").unwrap_or(&text).trim_start();
                print_error_json(code, text, None);
            }
            return ExitCode::from(code as u8);
        }
    };
    log::init(cli.log_format);
    // JSON log lines carry no colour codes.
    style::init(if log::json() { style::ColorChoice::Never } else { cli.color });
    let code = run_and_report(cli, json);
    log::done(&command, code, started.elapsed().as_millis() as u64);
    ExitCode::from(code)
}

/// Run a parsed command line and print its error: the exit code.
fn run_and_report(cli: Cli, json: bool) -> u8 {
    match run(cli) {
        Ok(code) => code as u8,
        Err(e) => {
            let code = exit_code(&e);
            if !is_broken_pipe(&e) {
                let text = render_error(&e);
                say!("{} {text}", style::error_word("error:"));
                if json {
                    print_error_json(code, &text, e.downcast_ref::<LocatedError>().map(|l| &l.at));
                }
            }
            if is_broken_pipe(&e) { 0 } else { code as u8 }
        }
    }
}

/// An error and its causes on one line, the one way every command prints
/// them: each cause once (a message that already quotes its cause is not
/// followed by it again), operating-system errors in plain lowercase words.
pub fn render_error(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io_words(io),
            None => cause.to_string(),
        };
        let raw = cause.to_string();
        if out.contains(&raw) || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    clean_os_errors(&out)
}

/// An I/O error in words: `permission denied`, not `Permission denied (os error 13)`.
fn io_words(e: &std::io::Error) -> String {
    clean_os_errors(&e.to_string())
}

/// Drop ` (os error N)` and lowercase the word after it was capitalised by the OS.
fn clean_os_errors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (os error ") {
        let Some(end) = rest[at..].find(')') else { break };
        let before = &rest[..at];
        // The OS message runs from the last `: ` before the code.
        let start = before.rfind(": ").map_or(0, |i| i + 2);
        out.push_str(&before[..start]);
        let mut words = before[start..].chars();
        if let Some(first) = words.next() {
            out.extend(first.to_lowercase());
            out.push_str(words.as_str());
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// An output error as the command's error: a refused `--out` is exit 2
/// (usage) with what to do on a `= help:` line, anything else exit 1.
pub fn out_failed(e: crate::output::OutputError) -> anyhow::Error {
    let text = render_error(&anyhow::Error::msg(e.to_string()));
    let (code, message) = match &e {
        crate::output::OutputError::Refused { help, .. } => (Exit::Usage, format!("{text}\n  = help: {help}")),
        crate::output::OutputError::Locked { .. } | crate::output::OutputError::Stranded { .. } => (Exit::Failed, text),
        _ => (
            Exit::Failed,
            format!(
                "{text}\n  = help: --out must be a folder recoup can create or replace, inside a folder you can write"
            ),
        ),
    };
    ExitError { code, message }.into()
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Facts(a) => facts::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Run(a) => run::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Preview(a) => preview::run(a),
        Command::Check(a) => check::run(a),
        Command::Test(a) => test::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Report(a) => report::run(a),
        Command::Init(a) => init::run(a),
        Command::Merge(a) => merge::merge(a),
        Command::Split(a) => merge::split(a),
        Command::Send(a) => send::run(a),
        Command::Convert(a) => convert::run(a),
    }
}

/// The as-of date: given, or today (the only place recoup reads the clock).
pub fn as_of_or_today(d: Option<NaiveDate>) -> NaiveDate {
    d.unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// Load a ledger, printing its problems the one way they are rendered; a
/// refused ledger becomes an [`ExitError`] with [`Exit::InputInvalid`].
pub fn load_ledger(args: &LedgerArgs) -> anyhow::Result<Ledger> {
    if let Some(url) = pg::url_of(&args.ledger) {
        return pg::load(url, args);
    }
    if !args.ledger.is_dir() {
        let what = if args.ledger.exists() { "is not a folder" } else { "does not exist" };
        return Err(ExitError {
            code: Exit::InputInvalid,
            message: format!(
                "ledger folder `{}` {what}\n  = help: --ledger takes the folder holding customers.csv, invoices.csv and payments.csv",
                args.ledger.display()
            ),
        }
        .into());
    }
    let opts = LoadOptions { reject_bad_rows: args.reject_bad_rows };
    match ledger::load(&args.ledger, &opts) {
        Ok(l) => {
            report_problems(&l.report.warnings, &l.report, &args.ledger, "warning");
            Ok(l)
        }
        Err(LoadError::BadRows { rows, problems, report }) => {
            report_problems(&report.warnings, &report, &args.ledger, "warning");
            report_problems(&problems, &report, &args.ledger, "problem");
            let format = report.format;
            let counts: Vec<String> = report
                .files()
                .iter()
                .filter(|(_, c)| c.read > 0)
                .map(|(k, c)| match c.lines == c.read + 1 {
                    true => format!("{}: {} read, {} bad", format.file_name(*k), c.read, c.rejected),
                    // Rows on more lines than one each: say so, the counts must reconcile.
                    false => {
                        format!("{}: {} read on {} lines, {} bad", format.file_name(*k), c.read, c.lines, c.rejected)
                    }
                })
                .collect();
            let error = ExitError {
                code: Exit::InputInvalid,
                message: format!(
                    "{rows} bad row(s) in `{}` ({}); nothing was written\n  = help: fix the rows above, or pass --reject-bad-rows to write them to rejects.csv and go on",
                    args.ledger.display(),
                    counts.join("; ")
                ),
            };
            // The first bad row's place, for `--format json`.
            let at = problems
                .first()
                .map(|p| Location {
                    file: Some(args.ledger.join(format.file_name(p.file)).display().to_string()),
                    line: Some(format.number(p.line)),
                    column: p.column.clone().map(serde_json::Value::from),
                })
                .unwrap_or_default();
            Err(LocatedError { error, at }.into())
        }
        Err(e) => {
            let at = match e.location() {
                Some((file, line)) => format!("{}:{line}", args.ledger.join(file).display()),
                None => args.ledger.display().to_string(),
            };
            Err(ExitError { code: Exit::InputInvalid, message: format!("{e}\n  --> {at}") }.into())
        }
    }
}

const SHOWN: usize = 20;

/// Print the first problems of a list and count the rest: by file and line
/// in the ledger folder `dir`, or by table and primary key for a database
/// ledger (its `report` carries the places).
pub fn report_problems(problems: &[ledger::Problem], report: &ledger::LoadReport, dir: &std::path::Path, what: &str) {
    let format = ledger::parquet::format_of(dir).unwrap_or_default();
    for p in problems.iter().take(SHOWN) {
        match &report.places {
            Some(places) => say!("{}", places.render(p)),
            None => say!("{}", p.render_in(Some(dir), format)),
        }
    }
    if problems.len() > SHOWN {
        say!("... and {} more {what}s", problems.len() - SHOWN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every example in a subcommand's help parses as the command it shows
    /// (shell parts: `"$(date -I)"` is a date, `&& …` and `> file` end it).
    #[test]
    fn every_help_example_parses() {
        let cmd = Cli::command();
        let mut seen = 0;
        for sub in cmd.get_subcommands() {
            let help = sub.get_after_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(help.starts_with("Examples:"), "`recoup {}` has no examples", sub.get_name());
            for line in help.lines().filter_map(|l| l.trim().strip_prefix("recoup ")) {
                let line = line.split(" && ").next().unwrap_or(line);
                let line = line.split(" > ").next().unwrap_or(line);
                let args: Vec<String> = std::iter::once("recoup".to_string())
                    .chain(line.split_whitespace().map(|w| w.replace("\"$(date", "2026-11-16").replace("-I)\"", "")))
                    .filter(|w| !w.is_empty())
                    .collect();
                if let Err(e) = Cli::try_parse_from(&args) {
                    panic!("the example `recoup {line}` does not parse: {e}");
                }
                seen += 1;
            }
        }
        assert!(seen >= 17, "{seen} examples");
    }

    /// `--color` is listed after a command's own options, not first.
    #[test]
    fn a_commands_own_options_come_before_color() {
        let mut cmd = Cli::command();
        cmd.build();
        let help = cmd.find_subcommand_mut("run").expect("run").render_help().to_string();
        let (ledger, color) = (help.find("--ledger").expect("--ledger"), help.find("--color").expect("--color"));
        assert!(ledger < color, "{help}");
    }

    #[test]
    fn a_mistyped_customer_id_gets_a_suggestion() {
        let ledger = crate::ledger::load(std::path::Path::new("fixtures/demo"), &Default::default()).expect("demo");
        let first = ledger.customers[0].id.to_string();
        let lower = first.to_ascii_lowercase();
        assert!(unknown_customer(&ledger, &lower).message.contains(&format!("did you mean `{first}`?")));
        let digits = first.trim_start_matches(|c: char| !c.is_ascii_digit()).trim_start_matches('0');
        let short = format!("{}{digits}", &first[..1]);
        assert!(unknown_customer(&ledger, &short).message.contains(&format!("did you mean `{first}`?")), "{short}");
    }
}
