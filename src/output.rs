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

/// Write rejected rows as CSV: file, line, column, value, reason (for a
/// Parquet ledger: the .parquet file, and its row number in `line`).
pub fn write_rejects_in(
    w: &mut dyn Write,
    problems: &[Problem],
    format: crate::ledger::LedgerFormat,
) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["file", "line", "column", "value", "reason"])?;
    for p in problems {
        out.write_record([
            format.file_name(p.file),
            &format.number(p.line).to_string(),
            p.column.as_deref().unwrap_or(""),
            &p.value,
            &p.message_in(format),
        ])?;
    }
    out.flush()
}

/// rejects.csv of a loaded ledger's rejected rows: by file and line
/// ([`write_rejects_in`]), or for a database ledger by table, primary key
/// and column ([`Places::write_rejects`](crate::ledger::postgres::Places::write_rejects)).
pub fn write_rejects(w: &mut dyn Write, report: &crate::ledger::LoadReport) -> io::Result<()> {
    match &report.places {
        Some(places) => places.write_rejects(w, &report.rejects),
        None => write_rejects_in(w, &report.rejects, report.format),
    }
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
    /// The output path is not one recoup may create or replace; nothing was
    /// done (the user's files are untouched).
    #[error("refusing to write `{}`: {why}; nothing was written", path.display())]
    Refused { path: PathBuf, why: String, help: String },
    /// The commit moved the previous outputs aside but could not move the
    /// new ones in, nor the previous ones back.
    #[error("cannot write `{}`: {source}; the previous outputs are in `{}` and the next run on this folder puts them back", dir.display(), old.display())]
    Stranded { dir: PathBuf, old: PathBuf, source: io::Error },
}

impl OutputError {
    /// What to do about a refused output path (for the `= help:` line).
    pub fn help(&self) -> Option<&str> {
        match self {
            OutputError::Refused { help, .. } => Some(help),
            _ => None,
        }
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// The file recoup writes into every output folder it creates, naming the
/// tool and the kind of output: a folder is replaced only when it holds
/// this marker of the same kind (docs/reliability.md, "Output paths").
pub const MARKER: &str = ".recoup-output";

/// What an output folder holds. A folder of one kind is never replaced by
/// another kind (a run's outputs never replace a generated ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `recoup run` and `recoup merge`: plan, worklist, summary, manifest.
    Run,
    /// `recoup simulate`: the comparison (and projection, backtest, sweep).
    Simulation,
    /// `recoup simulate --arms`: arms.csv and arms.json.
    Arms,
    /// `recoup generate`: a synthetic ledger.
    Ledger,
    /// `recoup split`: shard-0 ... shard-(N-1), each a ledger folder.
    Split,
    /// `recoup init`: a starter policy (a new folder only, never replaced).
    Policy,
}

impl Kind {
    /// The name written in the marker.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Simulation => "simulation",
            Kind::Arms => "arms",
            Kind::Ledger => "ledger",
            Kind::Split => "split",
            Kind::Policy => "policy",
        }
    }

    /// The command that writes this kind.
    fn command(self) -> &'static str {
        match self {
            Kind::Run => "recoup run",
            Kind::Simulation => "recoup simulate",
            Kind::Arms => "recoup simulate --arms",
            Kind::Ledger => "recoup generate",
            Kind::Split => "recoup split",
            Kind::Policy => "recoup init",
        }
    }

    /// The files this kind wrote before recoup marked its folders: a folder
    /// holding only these (and at least one) is recognised as recoup's
    /// own. Ledgers, splits and policies are user data: never by names.
    fn legacy_names(self) -> &'static [&'static str] {
        match self {
            Kind::Run => &[
                "plan.csv",
                "plan.jsonl",
                "worklist.csv",
                "summary.json",
                "manifest.json",
                "rejects.csv",
                "shard.json",
                "report.html",
            ],
            Kind::Simulation => &[
                "comparison.json",
                "comparison.csv",
                "diff.csv",
                "diff.jsonl",
                "rollrates.csv",
                "forward.json",
                "forward_weekly.csv",
                "forward_summary.csv",
                "backtest.json",
                "backtest.csv",
                "backtest_origins.csv",
                "sweep.csv",
                "report.html",
            ],
            Kind::Arms => &["arms.csv", "arms.json"],
            Kind::Ledger | Kind::Split | Kind::Policy => &[],
        }
    }

    fn marker_text(self) -> String {
        format!(
            "{{\"tool\": \"recoup\", \"kind\": \"{}\", \"recoup_version\": \"{}\"}}\n",
            self.as_str(),
            env!("CARGO_PKG_VERSION")
        )
    }
}

/// The kind named by the marker in `dir`, if it holds one of recoup's.
pub(crate) fn marker_kind(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(MARKER)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    if v.get("tool").and_then(|t| t.as_str()) != Some("recoup") {
        return None;
    }
    v.get("kind").and_then(|k| k.as_str()).map(str::to_string)
}

/// What an existing folder is, to the output set that would replace it.
enum Found {
    /// Nothing there, or an empty folder.
    Free,
    /// recoup's own output of this kind.
    Ours,
    /// Anything else: why it may not be replaced.
    Foreign(String),
}

/// Whether `dir` may be replaced by an output set of `kind`.
/// The delivery log `recoup send` appends inside a run's folder
/// (`crate::send::LOG`): a folder holding one is never replaced.
const DELIVERY_LOG: &str = "delivery.csv";

fn inspect(dir: &Path, kind: Kind) -> Result<Found, OutputError> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Free),
        Err(e) => return Err(io_at(dir)(e)),
    };
    if meta.file_type().is_symlink() {
        return Ok(Found::Foreign(
            "it is a symbolic link (recoup replaces a folder whole, and will not replace a link with one)".into(),
        ));
    }
    if !meta.is_dir() {
        return Ok(Found::Foreign("it is a file, not a folder".into()));
    }
    if let Some(k) = marker_kind(dir) {
        if k == kind.as_str() && dir.join(DELIVERY_LOG).exists() {
            return Ok(Found::Foreign(format!(
                "it holds `{DELIVERY_LOG}`, the log of the messages `recoup send` delivered from it: replacing the \
                 folder would lose which messages were sent, and a later send could send them again"
            )));
        }
        if k == kind.as_str() {
            return Ok(Found::Ours);
        }
        return Ok(Found::Foreign(format!("it holds recoup's `{k}` outputs, not {} outputs", kind.as_str())));
    }
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(io_at(dir))? {
        let e = e.map_err(io_at(dir))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let Some(first_foreign) = names.iter().find(|n| !kind.legacy_names().contains(&n.as_str())) else {
        return Ok(if names.is_empty() { Found::Free } else { Found::Ours });
    };
    Ok(Found::Foreign(format!(
        "it is a folder recoup did not write (it holds `{first_foreign}`{})",
        if names.len() > 1 { format!(" and {} more", names.len() - 1) } else { String::new() }
    )))
}

/// Refuse `.`, `..` and paths ending in them (`dir/.`): they name a folder
/// that cannot be swapped (the current folder, a parent of it).
fn refuse_dots(dir: &Path) -> Result<(), OutputError> {
    let text = dir.as_os_str().to_string_lossy();
    let trimmed = text.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or("");
    if trimmed.is_empty() || last == "." || last == ".." || dir.file_name().is_none() {
        return Err(OutputError::Refused {
            path: dir.to_path_buf(),
            why: "it names the current folder, a parent of it or the root, which recoup cannot replace".into(),
            help: "give a new folder for the outputs, e.g. `--out out`".into(),
        });
    }
    Ok(())
}

/// The absolute, normalised form of `p` for comparing paths: the longest
/// existing prefix with its links resolved, and the rest joined to it with
/// `.` and `..` applied.
fn resolved(p: &Path) -> PathBuf {
    use std::path::Component;
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|c| c.join(p)).unwrap_or_else(|_| p.to_path_buf())
    };
    // `.` and `..` applied as written, then the links of what exists resolved.
    let mut abs = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                abs.pop();
            }
            Component::CurDir => {}
            other => abs.push(other),
        }
    }
    let mut base = abs.clone();
    let mut rest = Vec::new();
    let real = loop {
        if let Ok(r) = fs::canonicalize(&base) {
            break r;
        }
        match (base.file_name().map(|n| n.to_os_string()), base.parent()) {
            (Some(n), Some(parent)) => {
                rest.push(n);
                base = parent.to_path_buf();
            }
            _ => break base,
        }
    };
    let mut out = real;
    for n in rest.into_iter().rev() {
        out.push(n);
    }
    out
}

/// An input a command reads (a ledger, a policy, a run or shard folder),
/// named as the user would: `("ledger", path)`.
pub type Input<'a> = (&'a str, &'a Path);

/// Refuse an output `out` that is one of the `inputs`, lies inside one or
/// holds one: writing it would replace or mix with what the command reads.
pub fn refuse_overlap(out: &Path, inputs: &[Input<'_>]) -> Result<(), OutputError> {
    let o = resolved(out);
    for (what, input) in inputs {
        let i = resolved(input);
        let why = if o == i {
            format!("it is the {what} this command reads (`{}`)", input.display())
        } else if o.starts_with(&i) {
            format!("it is inside the {what} this command reads (`{}`)", input.display())
        } else if i.starts_with(&o) {
            format!("it holds the {what} this command reads (`{}`)", input.display())
        } else {
            continue;
        };
        return Err(OutputError::Refused {
            path: out.to_path_buf(),
            why,
            help: "write the outputs to a folder apart from every input, e.g. `--out out`".into(),
        });
    }
    Ok(())
}

/// Check that a single output file may be written: not a folder or a link,
/// not one of the command's input files, and, when it exists, a file this
/// command wrote before (`ours` recognises its content). Returns nothing
/// when `path` is new or recoup's own; a refusal otherwise.
pub fn check_file(
    path: &Path,
    command: &str,
    inputs: &[Input<'_>],
    ours: impl FnOnce(&[u8]) -> bool,
) -> Result<(), OutputError> {
    let refuse = |why: String| OutputError::Refused {
        path: path.to_path_buf(),
        why,
        help: format!("give a new file, or one `{command}` wrote before"),
    };
    let o = resolved(path);
    for (what, input) in inputs {
        if o == resolved(input) {
            return Err(refuse(format!("it is the {what} this command reads")));
        }
    }
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_at(path)(e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link".into()));
    }
    if meta.is_dir() {
        return Err(refuse("it is a folder, not a file".into()));
    }
    // The first MiB says whose the file is (a header line, a head tag, a schema).
    let mut head = Vec::new();
    {
        use std::io::Read;
        let f = fs::File::open(path).map_err(io_at(path))?;
        f.take(1 << 20).read_to_end(&mut head).map_err(io_at(path))?;
    }
    if ours(&head) {
        return Ok(());
    }
    Err(refuse(format!("it exists and was not written by `{command}`")))
}

/// The first line of `bytes`, without its line end.
pub fn first_line(bytes: &[u8]) -> &[u8] {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// One file of an output set as written: the manifest lists them, and
/// `recoup merge` checks a shard's files against it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Written {
    pub file: String,
    pub bytes: u64,
    pub blake3: String,
}

/// A writer that counts and hashes what passes through it. It sits under
/// the buffer, so the hash is fed whole buffers, not one per small write (a
/// row's fields were a tenth of the hashing's instructions).
struct Counted<W> {
    inner: W,
    bytes: u64,
    hash: blake3::Hasher,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A fault to inject into a commit, for tests of the recovery paths.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The file system cannot exchange two folders (NFS): two renames are used.
    NoExchange,
    /// As `NoExchange`, and the second rename (the new set in place) fails.
    SecondRenameFails,
    /// As `SecondRenameFails`, and putting the previous set back fails too.
    RestoreFails,
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
///
/// Every set holds [`MARKER`], naming its kind; an existing folder is
/// replaced only when it is recoup's own output of the same kind (or empty),
/// and a path that is a file, a link, `.` or `..` is refused before anything
/// is written.
pub struct OutputSet {
    dir: PathBuf,
    staging: PathBuf,
    _lock: fs::File,
    lock_path: PathBuf,
    committed: bool,
    /// Each file written: its name, size and BLAKE3 hash.
    written: std::sync::Mutex<Vec<Written>>,
    /// The marker stays in the committed folder (all kinds but a policy).
    marked: bool,
    fault: Option<Fault>,
}

impl OutputSet {
    /// Check that `dir` may hold an output set of `kind` apart from the
    /// command's `inputs`, lock it and start a staging folder for it.
    pub fn create(dir: &Path, kind: Kind, inputs: &[Input<'_>]) -> Result<OutputSet, OutputError> {
        OutputSet::start(dir, kind, inputs, true)
    }

    /// [`OutputSet::create`] for a set whose folder holds no marker (a
    /// policy made by `recoup init`, which is the user's from then on):
    /// only a new or empty folder is accepted.
    pub fn create_unmarked(dir: &Path, kind: Kind) -> Result<OutputSet, OutputError> {
        OutputSet::start(dir, kind, &[], false)
    }

    fn start(dir: &Path, kind: Kind, inputs: &[Input<'_>], marked: bool) -> Result<OutputSet, OutputError> {
        refuse_dots(dir)?;
        refuse_overlap(dir, inputs)?;
        let refuse = |why: String| OutputError::Refused {
            path: dir.to_path_buf(),
            why,
            help: format!(
                "give a new folder (or an empty one, or one `{}` wrote before): recoup replaces --out whole",
                kind.command()
            ),
        };
        let check = |found: Found| match found {
            Found::Free => Ok(()),
            Found::Ours if marked => Ok(()),
            Found::Ours => Err(refuse("it is not empty".into())),
            Found::Foreign(why) => Err(refuse(why)),
        };
        check(inspect(dir, kind)?)?;
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
        // With the lock held no other run writes here. A previous set left
        // aside by a commit that could not finish goes back first; then the
        // staging folders of runs that were killed go (they would pile up).
        if marked {
            recover_stranded(&parent, &name, dir, kind)?;
            check(inspect(dir, kind)?)?;
        }
        remove_stale(&parent, &name, kind)?;
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        fs::create_dir_all(&staging).map_err(io_at(&staging))?;
        let set = OutputSet {
            dir: dir.to_path_buf(),
            staging,
            _lock: lock,
            lock_path,
            committed: false,
            written: Default::default(),
            marked,
            fault: None,
        };
        // The staging folder is marked from the start, so that the leftovers
        // of a killed run are recognised as recoup's own.
        set.write(MARKER, |w| w.write_all(kind.marker_text().as_bytes()))?;
        Ok(set)
    }

    /// Inject a fault into this set's commit (tests of the recovery paths).
    #[doc(hidden)]
    pub fn inject(&mut self, fault: Fault) {
        self.fault = Some(fault);
    }

    /// Write file `name` of the set (flushed and synced before returning);
    /// `name` may hold `/` to write into a subfolder of the set.
    pub fn write(&self, name: &str, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), OutputError> {
        let path = self.staging.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_at(&self.dir.join(name)))?;
        }
        let stats = (|| -> io::Result<(u64, String)> {
            let file = fs::File::create(&path)?;
            let counted = Counted { inner: file, bytes: 0, hash: blake3::Hasher::new() };
            let mut w = BufWriter::with_capacity(1 << 20, counted);
            write(&mut w)?;
            let c = w.into_inner().map_err(|e| e.into_error())?;
            c.inner.sync_all()?;
            Ok((c.bytes, c.hash.finalize().to_hex().to_string()))
        })()
        .map_err(io_at(&self.dir.join(name)))?;
        if name != MARKER {
            let w = Written { file: name.to_string(), bytes: stats.0, blake3: stats.1 };
            if let Ok(mut all) = self.written.lock() {
                all.retain(|x| x.file != w.file);
                all.push(w);
            }
        }
        Ok(())
    }

    /// The staging folder, for a writer that streams several files at once
    /// (`recoup generate`); what it puts there is swapped in by
    /// [`OutputSet::commit`] like the files of [`OutputSet::write`].
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The files written so far, in name order: size and BLAKE3 hash.
    pub fn written(&self) -> Vec<Written> {
        let mut v = self.written.lock().map(|w| w.clone()).unwrap_or_default();
        v.sort_by(|a, b| a.file.cmp(&b.file));
        v
    }

    /// Make the set visible: swap the staging folder in place of the output folder.
    pub fn commit(mut self) -> Result<(), OutputError> {
        if !self.marked {
            let marker = self.staging.join(MARKER);
            fs::remove_file(&marker).map_err(io_at(&marker))?;
        }
        if let Ok(d) = fs::File::open(&self.staging) {
            let _ = d.sync_all();
        }
        if self.dir.exists() {
            let exchanged = match self.fault {
                Some(_) => Err(io::Error::new(io::ErrorKind::Unsupported, "no atomic exchange (injected)")),
                None => exchange(&self.staging, &self.dir),
            };
            if exchanged.is_err() {
                return self.commit_by_renames();
            }
            // The staging path now holds the previous outputs.
            let _ = remove_set(&self.staging);
        } else {
            fs::rename(&self.staging, &self.dir).map_err(io_at(&self.dir))?;
        }
        self.committed = true;
        if !self.marked {
            // A policy is never replaced by recoup: its lock would only litter the folder around it.
            let _ = fs::remove_file(&self.lock_path);
        }
        Ok(())
    }

    /// No atomic exchange here: move the old folder aside, then the new one
    /// in. Should the second rename fail, the old folder goes back; should
    /// that fail too, the error names where it is, and the next set created
    /// for this folder moves it back ([`recover_stranded`]).
    fn commit_by_renames(mut self) -> Result<(), OutputError> {
        let mut old = self.staging.clone().into_os_string();
        old.push(".old");
        let old = PathBuf::from(old);
        fs::rename(&self.dir, &old).map_err(io_at(&self.dir))?;
        let second = match self.fault {
            Some(Fault::SecondRenameFails | Fault::RestoreFails) => Err(io::Error::other("rename failed (injected)")),
            _ => fs::rename(&self.staging, &self.dir),
        };
        if let Err(source) = second {
            let restored = match self.fault {
                Some(Fault::RestoreFails) => Err(io::Error::other("rename failed (injected)")),
                _ => fs::rename(&old, &self.dir),
            };
            return Err(match restored {
                Ok(()) => OutputError::Io { path: self.dir.clone(), source },
                Err(_) => OutputError::Stranded { dir: self.dir.clone(), old, source },
            });
        }
        let _ = remove_set(&old);
        self.committed = true;
        Ok(())
    }
}

/// The `.NAME.staging-PID` / `.NAME.staging-PID.old` folders beside output
/// folder `NAME` in `parent`: (path, is an `.old` folder).
fn leftovers(parent: &Path, name: &str) -> Result<Vec<(PathBuf, bool)>, OutputError> {
    let prefix = format!(".{name}.staging-");
    let mut out = Vec::new();
    for e in fs::read_dir(parent).map_err(io_at(parent))?.flatten() {
        let file_name = e.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let (pid, old) = match rest.strip_suffix(".old") {
            Some(p) => (p, true),
            None => (rest, false),
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        out.push((e.path(), old));
    }
    out.sort();
    Ok(out)
}

/// Put back the previous set left in `.NAME.staging-PID.old` by a commit
/// whose second rename failed, when the output folder is missing.
fn recover_stranded(parent: &Path, name: &str, dir: &Path, kind: Kind) -> Result<(), OutputError> {
    if fs::symlink_metadata(dir).is_ok() {
        return Ok(());
    }
    for (path, old) in leftovers(parent, name)? {
        if old && matches!(inspect(&path, kind)?, Found::Ours) {
            return fs::rename(&path, dir).map_err(io_at(dir));
        }
    }
    Ok(())
}

/// Remove recoup's own `.NAME.staging-*` folders (and their `.old`
/// leftovers) beside the output folder `NAME` in `parent`: those holding
/// the marker of `kind` (or a previous version's outputs of that kind), or
/// nothing. Anything else under such a name is left alone.
fn remove_stale(parent: &Path, name: &str, kind: Kind) -> Result<(), OutputError> {
    for (path, _) in leftovers(parent, name)? {
        if matches!(fs::symlink_metadata(&path), Ok(m) if !m.is_dir()) {
            continue;
        }
        if matches!(inspect(&path, kind)?, Found::Free | Found::Ours) || marked_in_part(&path, kind) {
            remove_set(&path).map_err(io_at(&path))?;
        }
    }
    Ok(())
}

/// Remove a set's folder (a staging folder, or a previous set swapped out)
/// with its marker last: a run killed part way leaves a folder still marked
/// as recoup's, which the next run clears ([`remove_stale`]).
fn remove_set(dir: &Path) -> io::Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        if e.file_name() == MARKER {
            continue;
        }
        if e.file_type()?.is_dir() { fs::remove_dir_all(e.path())? } else { fs::remove_file(e.path())? }
    }
    fs::remove_dir_all(dir)
}

/// A staging folder whose marker a killed run had begun to write: the
/// marker holds a beginning of the marker text (empty, say), which only
/// recoup writes there.
fn marked_in_part(dir: &Path, kind: Kind) -> bool {
    fs::read(dir.join(MARKER)).is_ok_and(|b| kind.marker_text().as_bytes().starts_with(&b))
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_set(&self.staging);
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
        let set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.write("plan.csv", |w| w.write_all(b"one")).unwrap();
        set.write("stale.csv", |w| w.write_all(b"x")).unwrap();
        set.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "one");
        let set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.write("plan.csv", |w| w.write_all(b"two")).unwrap();
        set.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "two");
        assert!(!out.join("stale.csv").exists(), "files of the previous set do not linger");
        let left: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "only the folder and its lock remain: {left:?}");
        assert_eq!(marker_kind(&out).as_deref(), Some("run"), "the set carries recoup's marker");
    }

    /// A run's folder that `recoup send` delivered from holds the delivery
    /// log: the next run is refused, and the log and the outputs stay.
    #[test]
    fn a_folder_with_a_delivery_log_is_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.write("plan.csv", |w| w.write_all(b"one")).unwrap();
        set.commit().unwrap();
        fs::write(out.join(DELIVERY_LOG), "message_id\n<a@recoup>\n").unwrap();
        let refused = OutputSet::create(&out, Kind::Run, &[]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("delivery.csv"), "{refused}");
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "one");
        assert_eq!(fs::read_to_string(out.join(DELIVERY_LOG)).unwrap(), "message_id\n<a@recoup>\n");
        assert_eq!(crate::send::LOG, DELIVERY_LOG, "the name send writes is the name guarded here");
    }

    /// A run killed while it wrote its staging folder's marker leaves a
    /// marker cut short; the next run still clears that folder as its own,
    /// and leaves a look-alike folder whose marker is something else.
    #[test]
    fn a_staging_folder_with_a_marker_cut_short_is_cleared() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let text = Kind::Run.marker_text();
        for (pid, marker) in [("11", ""), ("12", &text[..10]), ("13", "not recoup's")] {
            let staging = tmp.path().join(format!(".out.staging-{pid}"));
            fs::create_dir_all(staging.join("outbox/email")).unwrap();
            fs::write(staging.join(MARKER), marker).unwrap();
            fs::write(staging.join("outbox/email/R1.eml"), "x").unwrap();
        }
        let set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.commit().unwrap();
        assert!(!tmp.path().join(".out.staging-11").exists());
        assert!(!tmp.path().join(".out.staging-12").exists());
        assert!(tmp.path().join(".out.staging-13").exists(), "a marker recoup did not write: left alone");
    }

    #[test]
    fn an_abandoned_set_leaves_the_previous_outputs() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.write("plan.csv", |w| w.write_all(b"good")).unwrap();
        set.commit().unwrap();
        {
            let set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
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
            fs::write(tmp.path().join(stale).join(MARKER), Kind::Run.marker_text()).unwrap();
        }
        fs::create_dir_all(tmp.path().join(".other.staging-1")).unwrap();
        // A folder of the user's under a name recoup would use is not recoup's: it stays.
        fs::create_dir_all(tmp.path().join(".out.staging-9.old")).unwrap();
        fs::write(tmp.path().join(".out.staging-9.old/thesis.txt"), "mine").unwrap();
        let set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.write("plan.csv", |w| w.write_all(b"one")).unwrap();
        set.commit().unwrap();
        let mut left: Vec<_> =
            fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(
            left,
            [".other.staging-1", ".out.lock", ".out.staging-9.old", "out"],
            "another folder's staging and the user's files are not touched"
        );
    }

    #[test]
    fn a_second_run_on_the_same_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let first = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        // flock locks belong to the open file description: a second open in
        // the same process conflicts just as another process would.
        match OutputSet::create(&out, Kind::Run, &[]) {
            Err(OutputError::Locked { .. }) => {}
            other => panic!("expected a lock error, got {:?}", other.err()),
        }
        drop(first);
        assert!(OutputSet::create(&out, Kind::Run, &[]).is_ok(), "the lock is released with the set");
    }

    fn refused(r: Result<OutputSet, OutputError>) -> String {
        match r {
            Err(e @ OutputError::Refused { .. }) => e.to_string(),
            Err(e) => panic!("expected a refusal, got {e}"),
            Ok(_) => panic!("expected a refusal, got a set"),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_folder_recoup_did_not_write_is_refused_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("docs");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join("thesis.txt"), "years of work").unwrap();
        let msg = refused(OutputSet::create(&out, Kind::Run, &[]));
        assert!(msg.contains("it is a folder recoup did not write (it holds `thesis.txt`)"), "{msg}");
        assert_eq!(fs::read_to_string(out.join("thesis.txt")).unwrap(), "years of work");
        assert_eq!(names(tmp.path()), ["docs"], "no lock, no staging left beside it");
    }

    #[test]
    fn another_kind_of_output_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("ledger");
        let set = OutputSet::create(&out, Kind::Ledger, &[]).unwrap();
        set.write("customers.csv", |w| w.write_all(b"customer_id\n")).unwrap();
        set.commit().unwrap();
        let msg = refused(OutputSet::create(&out, Kind::Run, &[]));
        assert!(msg.contains("it holds recoup's `ledger` outputs, not run outputs"), "{msg}");
        assert!(OutputSet::create(&out, Kind::Ledger, &[]).is_ok(), "the same kind replaces it");
    }

    #[test]
    fn a_run_folder_of_an_earlier_version_is_recognised_by_its_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        fs::create_dir_all(&out).unwrap();
        for f in ["plan.csv", "manifest.json", "report.html"] {
            fs::write(out.join(f), "x").unwrap();
        }
        assert!(OutputSet::create(&out, Kind::Run, &[]).is_ok());
        fs::write(out.join("notes.txt"), "mine").unwrap();
        refused(OutputSet::create(&out, Kind::Run, &[]));
    }

    #[test]
    fn files_links_and_dots_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plan");
        fs::write(&file, "mine").unwrap();
        assert!(refused(OutputSet::create(&file, Kind::Run, &[])).contains("it is a file, not a folder"));
        assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
        let real = tmp.path().join("real");
        fs::create_dir_all(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(refused(OutputSet::create(&link, Kind::Run, &[])).contains("symbolic link"));
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        for dots in [".", "..", "a/.", "a/..", "a/./", "/"] {
            let msg = refused(OutputSet::create(Path::new(dots), Kind::Run, &[]));
            assert!(msg.contains("names the current folder"), "{dots}: {msg}");
        }
    }

    #[test]
    fn an_output_overlapping_an_input_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let ledger = tmp.path().join("ledger");
        fs::create_dir_all(&ledger).unwrap();
        let inputs: [Input<'_>; 1] = [("ledger folder", &ledger)];
        for (out, word) in [
            (ledger.clone(), "it is the ledger folder"),
            (ledger.join("out"), "it is inside the ledger folder"),
            (tmp.path().to_path_buf(), "it holds the ledger folder"),
            (tmp.path().join("other/../ledger"), "it is the ledger folder"),
        ] {
            let msg = refused(OutputSet::create(&out, Kind::Run, &inputs));
            assert!(msg.contains(word), "{out:?}: {msg}");
        }
        // Relative and absolute spellings of one folder are one folder.
        let cwd = std::env::current_dir().unwrap();
        let rel = Path::new("src");
        let msg = refused(OutputSet::create(rel, Kind::Run, &[("policy", &cwd.join("src"))]));
        assert!(msg.contains("it is the policy"), "{msg}");
        assert!(OutputSet::create(&tmp.path().join("out"), Kind::Run, &inputs).is_ok());
    }

    fn committed(out: &Path, text: &str) {
        let set = OutputSet::create(out, Kind::Run, &[]).unwrap();
        set.write("plan.csv", |w| w.write_all(text.as_bytes())).unwrap();
        set.commit().unwrap();
    }

    #[test]
    fn the_two_rename_commit_puts_the_previous_set_back_when_the_second_rename_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        committed(&out, "one");
        let mut set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.inject(Fault::NoExchange);
        set.write("plan.csv", |w| w.write_all(b"two")).unwrap();
        set.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "two", "two renames commit too");
        let mut set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.inject(Fault::SecondRenameFails);
        set.write("plan.csv", |w| w.write_all(b"three")).unwrap();
        assert!(set.commit().is_err());
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "two", "the previous set is back");
        assert_eq!(names(tmp.path()), [".out.lock", "out"]);
    }

    #[test]
    fn a_stranded_previous_set_is_named_and_put_back_by_the_next_run() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        committed(&out, "one");
        let mut set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        set.inject(Fault::RestoreFails);
        set.write("plan.csv", |w| w.write_all(b"two")).unwrap();
        let msg = set.commit().err().map(|e| e.to_string()).unwrap_or_default();
        let old = format!(".out.staging-{}.old", std::process::id());
        assert!(msg.contains(&old) && msg.contains("the next run on this folder puts them back"), "{msg}");
        assert!(!out.exists());
        assert_eq!(fs::read_to_string(tmp.path().join(&old).join("plan.csv")).unwrap(), "one");
        // The next set finds the folder missing and its previous set aside: back it goes, then on.
        let set = OutputSet::create(&out, Kind::Run, &[]).unwrap();
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "one");
        set.write("plan.csv", |w| w.write_all(b"three")).unwrap();
        set.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("plan.csv")).unwrap(), "three");
        assert_eq!(names(tmp.path()), [".out.lock", "out"]);
    }

    #[test]
    fn an_unmarked_set_takes_only_a_new_or_empty_folder_and_leaves_no_marker() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("mine");
        fs::create_dir_all(&out).unwrap();
        let set = OutputSet::create_unmarked(&out, Kind::Policy).unwrap();
        set.write("scripts/a.rhai", |w| w.write_all(b"1")).unwrap();
        set.commit().unwrap();
        assert_eq!(names(&out), ["scripts"]);
        let msg = refused(OutputSet::create_unmarked(&out, Kind::Policy));
        assert!(msg.contains("folder recoup did not write"), "{msg}");
    }

    #[test]
    fn a_file_output_replaces_only_a_file_recoup_wrote() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("customers.csv");
        fs::write(&input, "customer_id,name\n").unwrap();
        let ours = |h: &[u8]| first_line(h) == b"customer_id,overdue";
        let err = check_file(&input, "recoup facts", &[("ledger file", &input)], ours).unwrap_err().to_string();
        assert!(err.contains("it is the ledger file this command reads"), "{err}");
        let other = tmp.path().join("notes.csv");
        fs::write(&other, "a,b\n").unwrap();
        let err = check_file(&other, "recoup facts", &[], ours).unwrap_err().to_string();
        assert!(err.contains("was not written by `recoup facts`"), "{err}");
        fs::write(&other, "customer_id,overdue\r\nC1,2\n").unwrap();
        assert!(check_file(&other, "recoup facts", &[], ours).is_ok());
        assert!(check_file(&tmp.path().join("new.csv"), "recoup facts", &[], ours).is_ok());
        assert!(check_file(tmp.path(), "recoup facts", &[], ours).is_err());
    }
}
