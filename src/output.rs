//! Writing outputs safely: every file is written to a temporary name in the
//! same folder and renamed into place only when complete, so a failed run
//! never leaves a half-written file that looks finished.

use crate::ledger::Problem;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Write `path` atomically: `write` fills a temporary sibling file, which is
/// flushed, synced and renamed over `path`. On error the temporary file is
/// removed and `path` is untouched.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let file = fs::File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The temporary sibling used while writing `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Write rejected rows as CSV: file, line, column, value, reason.
pub fn write_rejects(w: &mut dyn Write, problems: &[Problem]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["file", "line", "column", "value", "reason"])?;
    for p in problems {
        out.write_record([
            p.file.file_name(),
            &p.line.to_string(),
            p.column.as_deref().unwrap_or(""),
            &p.value,
            &p.message(),
        ])?;
    }
    out.flush()
}
