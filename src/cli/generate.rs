//! `recoup generate`: a realistic synthetic ledger of any size, from a seed.

use super::{Exit, ExitError, Format, say};
use crate::generate::{GenerateConfig, GenerateError, generate_with_progress};
use chrono::NaiveDate;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Number of customers (about 10 invoices each over 12 months).
    #[arg(long)]
    pub customers: u64,
    /// Random seed; the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The ledger's as-of date, YYYY-MM-DD: no invoice, payment or action is dated after it.
    #[arg(long, value_name = "DATE", value_parser = super::parse_date)]
    pub as_of: NaiveDate,
    /// Months of history.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Output folder: a new or empty folder, or one `recoup generate` wrote (the five files are replaced
    /// together, atomically; any other folder is refused).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// `text`: a line on stderr; `json`: the row counts on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `recoup generate`.
pub fn run(a: GenerateArgs) -> anyhow::Result<Exit> {
    let cfg = GenerateConfig { customers: a.customers, seed: a.seed, as_of: a.as_of, months: a.months };
    let progress = super::Progress::bar(false, a.customers, "generating customers");
    let stats = generate_with_progress(&cfg, &a.out, &|n| progress.inc(n)).map_err(|e| match e {
        GenerateError::Output(e) => super::out_failed(e),
        e => {
            let code = if matches!(e, GenerateError::Io { .. }) { Exit::Failed } else { Exit::Usage };
            ExitError { code, message: format!("cannot generate into `{}`: {}", a.out.display(), words(&e)) }.into()
        }
    })?;
    drop(progress);
    if a.format == Format::Json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &stats)?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    say!(
        "wrote {} customers, {} invoices, {} payments, {} promises, {} actions to {}",
        stats.customers,
        stats.invoices,
        stats.payments,
        stats.promises,
        stats.actions,
        a.out.display()
    );
    Ok(Exit::Ok)
}

/// The error in the words of the command line (`--customers`, not `customers`).
fn words(e: &GenerateError) -> String {
    match e {
        GenerateError::NoCustomers => "--customers must be at least 1".into(),
        GenerateError::NoMonths => "--months must be at least 1".into(),
        e => super::render_error(&anyhow::Error::msg(e.to_string())),
    }
}
