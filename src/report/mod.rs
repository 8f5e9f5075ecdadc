//! `recoup report`: one self-contained HTML page (inline CSS and SVG, no
//! network) from the files a run or a simulation already wrote.
//!
//! - [`run`]: a `recoup run` output folder (summary.json, manifest.json,
//!   plan.csv, worklist.csv, rejects.csv) → KPIs, aging, actions, worklists,
//!   holds/limits/referrals with reasons, rejected rows, the manifest; with
//!   the ledger the run read, the morning sections ([`morning`]: headline
//!   figures and their change, 12-month trends, the receipts forecast,
//!   debtors, today's work, risk) from [`history`].
//! - [`simulation`]: a `recoup simulate` folder (comparison.json,
//!   diff.jsonl, forward.json, sweep.csv when present) → weekly bands per
//!   policy, the comparison, sweep trade-offs, the per-customer diff.
//! - [`svg`] draws the charts; [`html`] escapes, formats and lays out.
//!
//! JSON files are read into the library's own serde types (`Summary`,
//! `Manifest`, `Figures`, `WeekBand`, ...), so a change of the output format
//! is a compile error or a failing test, not a silently wrong report. Numbers
//! are printed exactly as the JSON files hold them.

pub mod history;
pub mod html;
pub mod morning;
pub mod run;
pub mod simulation;
pub mod svg;

use std::io;
use std::path::{Path, PathBuf};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder does not look like the outputs of the command named.
    #[error(
        "`{}` is not the output folder of `recoup {command}`: `{file}` is missing\n  = help: pass the `--out` folder of `recoup {command}`",
        dir.display()
    )]
    NotAnOutput { dir: PathBuf, command: &'static str, file: &'static str },
    /// The folder holds another command's outputs (its marker says which).
    #[error(
        "`{}` holds the outputs of `{found}`, not of `recoup {command}`\n  = help: {help}",
        dir.display()
    )]
    OtherKind { dir: PathBuf, command: &'static str, found: String, help: String },
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// A file is not in the format this version of recoup writes.
    #[error(
        "`{}` cannot be read: {message}\n  --> {}{}\n  = help: the folder was written by another version of recoup; re-run the command that wrote it",
        path.display(),
        path.display(),
        at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default()
    )]
    Format { path: PathBuf, at: Option<(u64, u64)>, message: String },
    /// The report could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

impl ReportError {
    /// True when the input folder is at fault (not the disk).
    pub fn is_input(&self) -> bool {
        matches!(self, ReportError::NotAnOutput { .. } | ReportError::OtherKind { .. } | ReportError::Format { .. })
    }
}

/// Read a JSON file into `T`.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ReportError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| ReportError::Format {
        path: path.to_path_buf(),
        at: Some((e.line() as u64, e.column() as u64)),
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
    })
}

/// Read a file as text.
pub(crate) fn read_text(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Read { path: path.to_path_buf(), source })
}

/// Read a CSV file with a header row into rows of `T` (columns by name;
/// extra columns are ignored, a missing one is an error).
pub(crate) fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, ReportError> {
    let text = read_text(path)?;
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in r.deserialize() {
        let row: T = rec.map_err(|e| {
            let at = e.position().map(|p| (p.line(), 1));
            ReportError::Format { path: path.to_path_buf(), at, message: csv_message(&e) }
        })?;
        out.push(row);
    }
    Ok(out)
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(f) => format!("column {}: {}", f + 1, err.kind()),
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    }
}

/// Fail with [`ReportError::NotAnOutput`] unless `dir/file` exists.
pub(crate) fn require(dir: &Path, command: &'static str, file: &'static str) -> Result<PathBuf, ReportError> {
    let p = dir.join(file);
    if p.is_file() {
        return Ok(p);
    }
    // Another command's folder (its marker names the kind): say which report it takes.
    let (found, help) = match crate::output::marker_kind(dir).as_deref() {
        Some("run") => ("recoup run", format!("use `recoup report --run {}`", dir.display())),
        Some("simulation") => ("recoup simulate", format!("use `recoup report --simulation {}`", dir.display())),
        Some("arms") => {
            ("recoup simulate --arms", "arms.csv and arms.json are the whole output; open them directly".into())
        }
        Some("ledger") => (
            "recoup generate",
            "this is a ledger: `recoup run --ledger` it first, then report the run's --out folder".into(),
        ),
        Some("split") => {
            ("recoup split", "these are ledger shards: run and merge them, then report the merged folder".into())
        }
        Some("policy") => ("recoup init", "this is a policy folder: run it, then report the run's --out folder".into()),
        _ => return Err(ReportError::NotAnOutput { dir: dir.to_path_buf(), command, file }),
    };
    if found == format!("recoup {command}") {
        return Err(ReportError::NotAnOutput { dir: dir.to_path_buf(), command, file });
    }
    Err(ReportError::OtherKind { dir: dir.to_path_buf(), command, found: found.to_string(), help })
}

/// Write `html` to `path` atomically.
pub fn write(path: &Path, html: &str) -> Result<(), ReportError> {
    crate::output::write_atomic(path, |w| w.write_all(html.as_bytes()))
        .map_err(|source| ReportError::Write { path: path.to_path_buf(), source })
}
