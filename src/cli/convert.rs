//! `recoup convert`: a CSV ledger folder written as Parquet files (the
//! columns typed as a warehouse exports them), to try the Parquet path or
//! compare it with the CSV one (docs/ledger.md, "Parquet").

use super::{Exit, ExitError, say};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// The CSV ledger folder (customers.csv, invoices.csv, payments.csv, optional promises.csv and actions.csv).
    #[arg(long, value_name = "DIR")]
    pub ledger: PathBuf,
    /// A new or empty folder for customers.parquet, invoices.parquet, … (a folder with files in it is refused).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Rows per Parquet row group (row groups are read in parallel).
    #[arg(long, value_name = "N", default_value_t = crate::ledger::parquet::ROWS_PER_GROUP)]
    pub rows_per_group: usize,
}

/// Run `recoup convert`.
pub fn run(a: ConvertArgs) -> anyhow::Result<Exit> {
    let usage = |message: String| -> anyhow::Error { ExitError { code: Exit::Usage, message }.into() };
    if !a.ledger.join("customers.csv").is_file() {
        return Err(usage(format!(
            "`{}` holds no customers.csv\n  = help: --ledger takes a CSV ledger folder",
            a.ledger.display()
        )));
    }
    if std::fs::read_dir(&a.out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(usage(format!(
            "`{}` is not empty; recoup convert writes only into a new or empty folder\n  = help: choose another --out",
            a.out.display()
        )));
    }
    let files = crate::ledger::parquet::write_ledger(&a.ledger, &a.out, a.rows_per_group)
        .map_err(|e| ExitError { code: Exit::Failed, message: super::render_error(&e.into()) })?;
    for f in &files {
        say!("wrote {}", f.display());
    }
    Ok(Exit::Ok)
}
