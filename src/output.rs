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
    let result = write_synced(&tmp, write).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Create `path`, fill it through a buffer, flush it and sync it to disk.
fn write_synced(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let file = fs::File::create(path)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write(&mut w)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
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

/// Why an output folder could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Another run holds the folder's lock.
    #[error("`{}` is being written by another recoup run (lock `{}` is held); wait for it to finish", dir.display(), lock.display())]
    Locked { dir: PathBuf, lock: PathBuf },
    /// A file or folder could not be created, written or renamed.
    #[error("cannot write `{}`: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// A set of output files that appears all at once, or not at all.
///
/// Files are written into a staging folder beside the output folder; on
/// [`OutputSet::commit`] the staging folder is swapped with the output folder
/// in one atomic `renameat2(RENAME_EXCHANGE)` (or, where the file system
/// cannot exchange, two renames), so the folder holds either the previous
/// complete outputs or the new complete ones, never a mix. An advisory lock
/// on a sibling `.NAME.lock` file keeps two runs off the same folder; the
/// operating system releases it if the process dies. Dropping an uncommitted
/// set removes the staging folder and leaves the previous outputs untouched.
pub struct OutputSet {
    dir: PathBuf,
    staging: PathBuf,
    _lock: fs::File,
    committed: bool,
}

impl OutputSet {
    /// Lock `dir` and start a staging folder for it.
    pub fn create(dir: &Path) -> Result<OutputSet, OutputError> {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io_at(&parent))?;
        let lock_path = parent.join(format!(".{name}.lock"));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_at(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(OutputError::Locked { dir: dir.to_path_buf(), lock: lock_path });
            }
            Err(fs::TryLockError::Error(e)) => return Err(OutputError::Io { path: lock_path, source: e }),
        }
        // With the lock held no other run writes here: staging folders left
        // by a run that was killed are stale and go (they would pile up).
        remove_stale(&parent, &name)?;
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        fs::create_dir_all(&staging).map_err(io_at(&staging))?;
        Ok(OutputSet { dir: dir.to_path_buf(), staging, _lock: lock, committed: false })
    }

    /// Write file `name` of the set (flushed and synced before returning).
    pub fn write(&self, name: &str, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), OutputError> {
        write_synced(&self.staging.join(name), write).map_err(io_at(&self.dir.join(name)))
    }

    /// Make the set visible: swap the staging folder in place of the output folder.
    pub fn commit(mut self) -> Result<(), OutputError> {
        if let Ok(d) = fs::File::open(&self.staging) {
            let _ = d.sync_all();
        }
        if self.dir.exists() {
            match exchange(&self.staging, &self.dir) {
                Ok(()) => {}
                Err(_) => {
                    // No atomic exchange here: move the old folder aside, then the new one in.
                    let old = self.staging.with_extension("old");
                    fs::rename(&self.dir, &old).map_err(io_at(&self.dir))?;
                    fs::rename(&self.staging, &self.dir).map_err(io_at(&self.dir))?;
                    let _ = fs::remove_dir_all(&old);
                    self.committed = true;
                    return Ok(());
                }
            }
            // The staging path now holds the previous outputs.
            let _ = fs::remove_dir_all(&self.staging);
        } else {
            fs::rename(&self.staging, &self.dir).map_err(io_at(&self.dir))?;
        }
        self.committed = true;
        Ok(())
    }
}

/// Remove `.NAME.staging-*` folders (and their `.old` leftovers) beside the
/// output folder `NAME` in `parent`.
fn remove_stale(parent: &Path, name: &str) -> Result<(), OutputError> {
    let prefix = format!(".{name}.staging-");
    let entries = fs::read_dir(parent).map_err(io_at(parent))?;
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let pid = rest.strip_suffix(".old").unwrap_or(rest);
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let path = e.path();
        fs::remove_dir_all(&path).map_err(io_at(&path))?;
    }
    Ok(())
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no atomic exchange"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_set_replaces_the_previous_one_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let set = OutputSet::create(&out).unwrap();
        set.write("plan.csv", |w| w.write_all(b"one")).unwrap();
        set.write("stale.csv", |w| w.write_all(b"x")).unwrap();
        set.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "one");
        let set = OutputSet::create(&out).unwrap();
        set.write("plan.csv", |w| w.write_all(b"two")).unwrap();
        set.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "two");
        assert!(!out.join("stale.csv").exists(), "files of the previous set do not linger");
        let left: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "only the folder and its lock remain: {left:?}");
    }

    #[test]
    fn an_abandoned_set_leaves_the_previous_outputs() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let set = OutputSet::create(&out).unwrap();
        set.write("plan.csv", |w| w.write_all(b"good")).unwrap();
        set.commit().unwrap();
        {
            let set = OutputSet::create(&out).unwrap();
            set.write("plan.csv", |w| w.write_all(b"half")).unwrap();
            let failed: io::Result<()> = Err(io::Error::other("disk full"));
            assert!(set.write("summary.json", |_| failed).is_err());
        }
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "good");
        assert!(!out.join("summary.json").exists());
    }

    #[test]
    fn staging_folders_of_killed_runs_are_removed_by_the_next_run() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        for stale in [".out.staging-12345", ".out.staging-777.old"] {
            fs::create_dir_all(tmp.path().join(stale).join("sub")).unwrap();
            fs::write(tmp.path().join(stale).join("plan.csv"), "half").unwrap();
        }
        fs::create_dir_all(tmp.path().join(".other.staging-1")).unwrap();
        let set = OutputSet::create(&out).unwrap();
        set.write("plan.csv", |w| w.write_all(b"one")).unwrap();
        set.commit().unwrap();
        let mut left: Vec<_> =
            fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, [".other.staging-1", ".out.lock", "out"], "another folder's staging is not touched");
    }

    #[test]
    fn a_second_run_on_the_same_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let first = OutputSet::create(&out).unwrap();
        // flock locks belong to the open file description: a second open in
        // the same process conflicts just as another process would.
        match OutputSet::create(&out) {
            Err(OutputError::Locked { .. }) => {}
            other => panic!("expected a lock error, got {:?}", other.err()),
        }
        drop(first);
        assert!(OutputSet::create(&out).is_ok(), "the lock is released with the set");
    }
}
