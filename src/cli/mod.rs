//! The command line: clap arguments, then dispatch to the library. Exit codes
//! are documented in the README and defined by [`Exit`]. One module per
//! command; this one holds what they share.

mod check;
mod explain;
mod facts;
mod generate;
mod report;
mod run;
mod schema;
mod shell;
mod simulate;
mod test;

use crate::ledger::{self, Ledger, LoadError, LoadOptions};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Print a line to stderr; a closed stderr is not an error (never panics).
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($t)*);
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
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(bar))
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
    Facts(facts::FactsArgs),
    /// Write a realistic synthetic ledger of any size, from a seed.
    Generate(generate::GenerateArgs),
    /// Apply a policy to a ledger: write the action plan, worklist, summary and manifest.
    Run(run::RunArgs),
    /// One customer: its facts, every rule of its strategy, fired or not and why, and the final actions.
    Explain(explain::ExplainArgs),
    /// Parse and validate a policy: every problem with file:line:col, a caret and help.
    Check(check::CheckArgs),
    /// Run a policy's own test cases (tests/*.toml): given ledger and date, expected actions.
    Test(test::TestArgs),
    /// Print the JSON Schema of policy files, for editors.
    Schema(schema::SchemaArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff).
    Man,
    /// Compare a baseline policy with variants on one ledger: side-by-side figures and a per-customer diff.
    Simulate(simulate::SimulateArgs),
    /// Write a self-contained HTML report of a run's or a simulation's output folder.
    Report(report::ReportArgs),
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
        Command::Facts(a) => facts::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Run(a) => run::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Check(a) => check::run(a),
        Command::Test(a) => test::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Completions(a) => shell::completions(a),
        Command::Man => shell::man(),
        Command::Simulate(a) => simulate::run(a),
        Command::Report(a) => report::run(a),
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
            report_problems(&l.report.warnings, &args.ledger, "warning");
            Ok(l)
        }
        Err(LoadError::BadRows { rows, problems, report }) => {
            report_problems(&report.warnings, &args.ledger, "warning");
            report_problems(&problems, &args.ledger, "problem");
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
            let at = match e.location() {
                Some((file, line)) => format!("{}:{line}", args.ledger.join(file).display()),
                None => args.ledger.display().to_string(),
            };
            Err(ExitError { code: Exit::InputInvalid, message: format!("{e}\n  --> {at}") }.into())
        }
    }
}

const SHOWN: usize = 20;

/// Print the first problems of a list and count the rest.
pub fn report_problems(problems: &[ledger::Problem], dir: &std::path::Path, what: &str) {
    for p in problems.iter().take(SHOWN) {
        say!("{}", p.render(Some(dir)));
    }
    if problems.len() > SHOWN {
        say!("... and {} more {what}s", problems.len() - SHOWN);
    }
}
