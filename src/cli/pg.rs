//! `--ledger postgres://…`: the ledger read from PostgreSQL (docs/postgres.md),
//! its problems placed by table and primary key.

use super::{Exit, ExitError, LedgerArgs, LocatedError, Location, report_problems};
use crate::ledger::postgres::{self, PgLoadError, TableNames};
use crate::ledger::{Ledger, LoadError, LoadOptions};
use std::path::Path;

/// The `--ledger` value as a connection URL, when it is one.
pub fn url_of(ledger: &Path) -> Option<&str> {
    ledger.to_str().filter(|s| postgres::is_url(s))
}

/// The `--ledger-table` settings over the default table names.
pub fn table_names(args: &LedgerArgs) -> anyhow::Result<TableNames> {
    let mut names = TableNames::default();
    for s in &args.ledger_table {
        names
            .set(s)
            .map_err(|message| ExitError { code: Exit::Usage, message: format!("--ledger-table {message}") })?;
    }
    Ok(names)
}

/// Load the ledger from the database at `url`.
pub fn load(url: &str, args: &LedgerArgs) -> anyhow::Result<Ledger> {
    let names = table_names(args)?;
    let opts = LoadOptions { reject_bad_rows: args.reject_bad_rows };
    let shown = postgres::redact(url);
    match postgres::load_postgres(url, &names, &opts) {
        Ok(l) => {
            report_problems(&l.report.warnings, &l.report, &args.ledger, "warning");
            Ok(l)
        }
        Err(PgLoadError::Ledger { error: LoadError::BadRows { rows, problems, report }, places }) => {
            let at = problems
                .first()
                .map(|p| Location {
                    file: Some(format!("{shown} {}", places.place(p.file, p.line))),
                    line: None,
                    column: p.column.clone().map(serde_json::Value::from),
                })
                .unwrap_or_default();
            report_problems(&report.warnings, &report, &args.ledger, "warning");
            report_problems(&problems, &report, &args.ledger, "problem");
            let counts: Vec<String> = report
                .files()
                .iter()
                .filter(|(_, c)| c.read > 0)
                .map(|(k, c)| format!("{}: {} read, {} bad", postgres::table_word(*k), c.read, c.rejected))
                .collect();
            let error = ExitError {
                code: Exit::InputInvalid,
                message: format!(
                    "{rows} bad row(s) in `{shown}` ({}); nothing was written\n  = help: fix the rows above, or pass --reject-bad-rows to write them to rejects.csv and go on",
                    counts.join("; ")
                ),
            };
            Err(LocatedError { error, at }.into())
        }
        Err(PgLoadError::Ledger { error, places }) => {
            let message = match &error {
                LoadError::MissingColumn { file, column, did_you_mean } => format!(
                    "table `{}` has no column `{column}`{}\n  --> {shown}",
                    places.table(kind_of(file)),
                    did_you_mean.as_ref().map(|d| format!(" (found `{d}`: a typo?)")).unwrap_or_default()
                ),
                LoadError::DuplicateColumn { file, column, .. } => format!(
                    "table `{}` has the column `{column}` twice (give each column once, e.g. with a view)\n  --> {shown}",
                    places.table(kind_of(file))
                ),
                e => format!("{e}\n  --> {shown}"),
            };
            Err(ExitError { code: Exit::InputInvalid, message }.into())
        }
        Err(e @ PgLoadError::BadUrl { .. }) => Err(ExitError {
            code: Exit::InputInvalid,
            message: format!(
                "{e}\n  = help: check the host, port, database, user and password of the URL (docs/postgres.md, \"Connecting\")"
            ),
        }
        .into()),
        Err(PgLoadError::Connect { url, message, help }) => Err(ExitError {
            code: Exit::InputInvalid,
            message: format!("cannot connect to `{url}`: {message}\n  = help: {help}"),
        }
        .into()),
        Err(PgLoadError::Tls { url, message, help }) => Err(ExitError {
            code: Exit::InputInvalid,
            message: format!("cannot connect to `{url}`: {message}\n  = help: {help}"),
        }
        .into()),
        Err(e @ PgLoadError::MissingTable { .. }) => Err(ExitError {
            code: Exit::InputInvalid,
            message: format!(
                "{e}\n  = help: create the table or a view with its columns (docs/ledger.md), grant SELECT on it, or name another one with --ledger-table FILE=TABLE"
            ),
        }
        .into()),
        Err(e) => Err(ExitError { code: Exit::InputInvalid, message: e.to_string() }.into()),
    }
}

/// The ledger file a loader error names.
fn kind_of(file: &str) -> crate::ledger::FileKind {
    postgres::TABLES
        .iter()
        .map(|(k, _, _)| *k)
        .find(|k| k.file_name() == file)
        .unwrap_or(crate::ledger::FileKind::Customers)
}

/// The `--ledger` value as shown in messages and manifests: a URL without its password.
pub fn shown(ledger: &Path) -> String {
    match url_of(ledger) {
        Some(url) => postgres::redact(url),
        None => ledger.display().to_string(),
    }
}

/// Connect to the `--out-db` database and take the schema's advisory lock.
pub fn lock_out(url: &str, schema: &str) -> anyhow::Result<crate::pg_out::Session> {
    crate::pg_out::Session::lock(url, schema).map_err(out_failed)
}

/// A failed database output as an [`ExitError`]: a bad URL is a usage error
/// (exit 2); a held lock, a foreign schema or a failed write exit 1.
pub fn out_failed(e: crate::pg_out::PgOutError) -> anyhow::Error {
    use crate::pg_out::PgOutError as E;
    let (code, help) = match &e {
        E::BadUrl { .. } => (Exit::Usage, "give --out-db as postgres://USER@HOST:PORT/DB (docs/postgres.md)"),
        E::Locked { .. } => (Exit::Failed, "wait for the other run to finish, or give another --out-schema"),
        E::Foreign { .. } => (Exit::Failed, "give --out-schema a new schema, or one recoup wrote before"),
        E::Connect { help, .. } if !help.is_empty() => (Exit::Failed, help.as_str()),
        E::Connect { .. } => (Exit::Failed, "check the URL, that the server is up and that the role may log in"),
        E::Write { .. } | E::Io { .. } => {
            (Exit::Failed, "the output folder is complete; run again to fill the database")
        }
    };
    ExitError { code, message: format!("{e}\n  = help: {help}") }.into()
}
