//! Past one machine, for a simulation: `recoup simulate --shard I/N`
//! projects only its share of the Monte Carlo runs (a block of run numbers)
//! and writes, beside today's comparison, its runs' weekly figures
//! (`runs.json`) and `shard.json` — what it is a shard of (the ledger's,
//! policies' and scenario's hashes, seed, runs, horizon) and the hash of
//! every file it wrote. [`merge`] puts the N shards' runs together into the
//! [`Forward`] of one unsharded simulation: every run's draws are keyed by
//! the seed and the run's number (`simulate::draw`), never by the machine
//! that made it, so the merged outputs are byte-identical to one machine's.
//! A merge refuses a missing, duplicated, changed or foreign shard, naming it.

use super::project::{Forward, Scenario};
use crate::output::{OutputError, OutputSet};
use crate::plan::shard::Shard;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A shard's description, beside its outputs.
pub const SHARD_FILE: &str = "shard.json";
/// A shard's runs: the [`Forward`] of its share of the runs.
pub const RUNS_FILE: &str = "runs.json";
/// `kind` in a simulation shard's shard.json (`recoup run --shard` writes none).
pub const KIND: &str = "simulation";

/// The runs shard `shard` projects of `runs`: a block of consecutive run
/// numbers, the first `runs % N` shards one run more than the others.
pub fn share(shard: Shard, runs: u32) -> Range<u32> {
    let n = shard.count.max(1);
    let (q, r) = (runs / n, runs % n);
    let start = shard.index * q + shard.index.min(r);
    start..start + q + u32::from(shard.index < r)
}

/// A policy of the simulation: its label and the BLAKE3 hash of its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyId {
    pub label: String,
    pub blake3: String,
}

/// What a simulation shard is a shard of: two shards merge only when all of
/// it agrees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub recoup_version: String,
    pub as_of: NaiveDate,
    /// BLAKE3 over the ledger's files' names and hashes.
    pub ledger: String,
    /// The baseline first, then the variants, as given.
    pub policies: Vec<PolicyId>,
    /// BLAKE3 of the scenario's settings (the defaults' when no file was given).
    pub scenario: String,
    pub seed: u64,
    /// Runs of the whole simulation (every shard's together).
    pub runs: u32,
    /// The horizon, in days.
    pub days: u32,
    pub every_day: bool,
}

impl Identity {
    /// The identity of a simulation of `policies` on a ledger whose files
    /// hash to `ledger_hashes` (file name, hash).
    #[expect(clippy::too_many_arguments, reason = "each is one setting of the simulation, named at the call")]
    pub fn new(
        as_of: NaiveDate,
        ledger_hashes: &[(String, String)],
        policies: Vec<PolicyId>,
        scenario: &Scenario,
        seed: u64,
        runs: u32,
        days: u32,
        every_day: bool,
    ) -> Identity {
        let scenario = serde_json::to_vec(scenario).unwrap_or_default();
        Identity {
            recoup_version: env!("CARGO_PKG_VERSION").to_string(),
            as_of,
            ledger: crate::plan::shard::ledger_id(ledger_hashes.iter().map(|(f, h)| (f.as_str(), h.as_str()))),
            policies,
            scenario: blake3::hash(&scenario).to_hex().to_string(),
            seed,
            runs,
            days,
            every_day,
        }
    }
}

/// One file a shard wrote: its size and BLAKE3 hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    pub file: String,
    pub bytes: u64,
    pub blake3: String,
}

/// shard.json of a simulation shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimShard {
    /// Always [`KIND`]: tells a simulation shard from a run's.
    pub kind: String,
    pub shard: Shard,
    /// The run numbers this shard projected: `first_run` to `end_run - 1`.
    pub first_run: u32,
    pub end_run: u32,
    pub identity: Identity,
    /// Every other file of the folder, as written.
    pub files: Vec<FileHash>,
}

/// Whether `dir` holds a simulation shard (its shard.json says so).
pub fn is_simulation_shard(dir: &Path) -> bool {
    std::fs::read(dir.join(SHARD_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some(KIND))
}

/// Write a shard's folder: today's comparison (`write_today`, the same
/// files as an unsharded simulation's), `runs.json` (its share of the
/// runs) and `shard.json`, as one output set.
pub fn write_shard(
    set: OutputSet,
    c: &super::Comparison,
    forward: &Forward,
    shard: Shard,
    identity: Identity,
) -> Result<(), OutputError> {
    super::write::write_today(&set, c)?;
    set.write(RUNS_FILE, |w| {
        serde_json::to_writer(&mut *w, forward)?;
        w.write_all(b"\n")
    })?;
    let files =
        set.written().into_iter().map(|f| FileHash { file: f.file, bytes: f.bytes, blake3: f.blake3 }).collect();
    let range = share(shard, identity.runs);
    let doc = SimShard { kind: KIND.to_string(), shard, first_run: range.start, end_run: range.end, identity, files };
    set.write(SHARD_FILE, |w| {
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        w.write_all(b"\n")
    })?;
    set.commit()
}

/// Why simulation shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum SimMergeError {
    #[error("{}: {message}", .path.display())]
    Read { path: PathBuf, message: String },
    #[error("no shard folders given")]
    Nothing,
    #[error("{}: not a simulation shard (its shard.json is `recoup run --shard`'s, or it has none): merge the folders of one `recoup simulate --shard I/N` job", .path.display())]
    NotSimulation { path: PathBuf },
    #[error("shard {} missing (have {have} of {count}); re-run it with `recoup simulate ... --shard {}` and merge again", .missing.iter().map(|i| format!("{i}/{count}")).collect::<Vec<_>>().join(", "), .missing.first().map(|i| format!("{i}/{count}")).unwrap_or_default())]
    Missing { missing: Vec<u32>, have: usize, count: u32 },
    #[error("shard {shard} given twice: {} and {}", .a.display(), .b.display())]
    Duplicate { shard: Shard, a: PathBuf, b: PathBuf },
    #[error(
        "{a} and {b} disagree on {what} (`{left}` vs `{right}`): they are not shards of one simulation; run every shard with the same ledger, policies, scenario, --as-of, --horizon, --runs and --seed"
    )]
    Mismatch { what: &'static str, left: String, right: String, a: DisplayPath, b: DisplayPath },
    #[error("{}: {message}; re-run shard {shard} with `recoup simulate ... --shard {shard}` and merge again", .path.display())]
    Inconsistent { path: PathBuf, shard: Shard, message: String },
}

/// A path in a message.
#[derive(Debug)]
pub struct DisplayPath(pub PathBuf);

impl fmt::Display for DisplayPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.display().fmt(f)
    }
}

/// One shard's folder, read and checked against its shard.json.
struct Part {
    dir: PathBuf,
    doc: SimShard,
}

fn read_part(dir: &Path) -> Result<Part, SimMergeError> {
    let path = dir.join(SHARD_FILE);
    if !is_simulation_shard(dir) {
        if !path.exists() && !dir.exists() {
            return Err(SimMergeError::Read { path: dir.to_path_buf(), message: "no such folder".into() });
        }
        return Err(SimMergeError::NotSimulation { path: dir.to_path_buf() });
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| SimMergeError::Read { path: path.clone(), message: format!("cannot read it: {e}") })?;
    let doc: SimShard = serde_json::from_str(&text).map_err(|e| SimMergeError::Read {
        path: path.clone(),
        message: format!("not a simulation shard's shard.json at line {} column {}: {e}", e.line(), e.column()),
    })?;
    let bad = |message: String| SimMergeError::Inconsistent { path: dir.to_path_buf(), shard: doc.shard, message };
    let expected = share(doc.shard, doc.identity.runs);
    if doc.shard.index >= doc.shard.count || (doc.first_run..doc.end_run) != expected {
        return Err(bad(format!(
            "shard.json gives runs {}..{} to shard {} of {} runs, not {}..{}",
            doc.first_run, doc.end_run, doc.shard, doc.identity.runs, expected.start, expected.end
        )));
    }
    for f in &doc.files {
        let bytes = std::fs::read(dir.join(&f.file))
            .map_err(|e| bad(format!("`{}` listed in shard.json cannot be read: {e}", f.file)))?;
        let differs = if bytes.len() as u64 != f.bytes {
            Some(format!("{} bytes, shard.json says {}", bytes.len(), f.bytes))
        } else if blake3::hash(&bytes).to_hex().as_str() != f.blake3 {
            Some("its BLAKE3 hash is not the one in shard.json".to_string())
        } else {
            None
        };
        if let Some(differs) = differs {
            return Err(bad(format!(
                "`{}` is not the file the shard wrote ({differs}): it was cut short or changed",
                f.file
            )));
        }
    }
    if !doc.files.iter().any(|f| f.file == RUNS_FILE) {
        return Err(bad(format!("shard.json lists no `{RUNS_FILE}`")));
    }
    Ok(Part { dir: dir.to_path_buf(), doc })
}

/// The outputs of an unsharded simulation, rebuilt from its shards.
#[derive(Debug)]
pub struct MergedSim {
    /// Every run of every policy, in run order.
    pub forward: Forward,
    /// Today's files (comparison.json, ...), as every shard wrote them.
    pub today: Vec<(String, Vec<u8>)>,
    pub shards: u32,
}

fn same<T: PartialEq + fmt::Debug>(
    what: &'static str,
    a: &Part,
    b: &Part,
    f: impl Fn(&Part) -> T,
) -> Result<(), SimMergeError> {
    let (l, r) = (f(a), f(b));
    if l == r {
        return Ok(());
    }
    let show = |x: T| format!("{x:?}").trim_matches('"').to_string();
    Err(SimMergeError::Mismatch {
        what,
        left: show(l),
        right: show(r),
        a: DisplayPath(a.dir.clone()),
        b: DisplayPath(b.dir.clone()),
    })
}

/// Merge the folders of shards 0..N of one simulation.
pub fn merge(dirs: &[PathBuf]) -> Result<MergedSim, SimMergeError> {
    let mut parts = dirs.iter().map(|d| read_part(d)).collect::<Result<Vec<_>, _>>()?;
    let Some(first) = parts.first() else { return Err(SimMergeError::Nothing) };
    let count = first.doc.shard.count;
    for p in &parts[1..] {
        let f = &parts[0];
        let id = |x: &Part| x.doc.identity.clone();
        same("the shard count", f, p, |x| x.doc.shard.count)?;
        same("the recoup version", f, p, |x| id(x).recoup_version)?;
        same("the as-of date", f, p, |x| id(x).as_of.to_string())?;
        same("the ledger (BLAKE3 of its files)", f, p, |x| id(x).ledger)?;
        same("the policies (labels)", f, p, |x| id(x).policies.iter().map(|q| q.label.clone()).collect::<Vec<_>>())?;
        same("the policies (BLAKE3 of their files)", f, p, |x| {
            id(x).policies.iter().map(|q| q.blake3.clone()).collect::<Vec<_>>()
        })?;
        same("the scenario (BLAKE3 of its settings)", f, p, |x| id(x).scenario)?;
        same("the seed (--seed)", f, p, |x| id(x).seed)?;
        same("the number of runs (--runs)", f, p, |x| id(x).runs)?;
        same("the horizon in days (--horizon)", f, p, |x| id(x).days)?;
        same("--every-day", f, p, |x| id(x).every_day)?;
    }
    parts.sort_by_key(|p| p.doc.shard.index);
    for w in parts.windows(2) {
        if w[0].doc.shard.index == w[1].doc.shard.index {
            return Err(SimMergeError::Duplicate { shard: w[0].doc.shard, a: w[0].dir.clone(), b: w[1].dir.clone() });
        }
    }
    let have: Vec<u32> = parts.iter().map(|p| p.doc.shard.index).collect();
    let missing: Vec<u32> = (0..count).filter(|i| !have.contains(i)).collect();
    if !missing.is_empty() {
        return Err(SimMergeError::Missing { missing, have: parts.len(), count });
    }
    // Today's comparison is the same computation in every shard: the same bytes.
    let today_files =
        |p: &Part| -> Vec<FileHash> { p.doc.files.iter().filter(|f| f.file != RUNS_FILE).cloned().collect() };
    for p in &parts[1..] {
        same("today's comparison (the hashes of comparison.json, diff.csv, ...)", &parts[0], p, |x| {
            today_files(x).into_iter().map(|f| format!("{} {}", f.file, f.blake3)).collect::<Vec<_>>()
        })?;
    }
    let mut today = Vec::new();
    for f in today_files(&parts[0]) {
        let path = parts[0].dir.join(&f.file);
        let bytes = std::fs::read(&path)
            .map_err(|e| SimMergeError::Read { path: path.clone(), message: format!("cannot read it: {e}") })?;
        today.push((f.file, bytes));
    }
    let mut forward: Option<Forward> = None;
    for p in &parts {
        let path = p.dir.join(RUNS_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SimMergeError::Read { path: path.clone(), message: format!("cannot read it: {e}") })?;
        let mut f: Forward = serde_json::from_str(&text).map_err(|e| SimMergeError::Read {
            path: path.clone(),
            message: format!("not a simulation shard's runs at line {} column {}: {e}", e.line(), e.column()),
        })?;
        let expected = (p.doc.end_run - p.doc.first_run) as usize;
        if f.policies.iter().any(|q| q.runs.len() != expected) {
            return Err(SimMergeError::Inconsistent {
                path: path.clone(),
                shard: p.doc.shard,
                message: format!("it does not hold {expected} runs of every policy, as shard.json says"),
            });
        }
        match &mut forward {
            None => forward = Some(f),
            Some(all) => {
                let mut head = f.clone();
                head.policies.iter_mut().for_each(|q| q.runs.clear());
                let mut all_head = all.clone();
                all_head.policies.iter_mut().for_each(|q| q.runs.clear());
                if head != all_head {
                    return Err(SimMergeError::Inconsistent {
                        path,
                        shard: p.doc.shard,
                        message: format!(
                            "its projection's settings (currencies, week ends, roll-rate check, scenario) differ from shard {}'s",
                            parts[0].doc.shard
                        ),
                    });
                }
                for (a, b) in all.policies.iter_mut().zip(&mut f.policies) {
                    a.runs.append(&mut b.runs);
                }
            }
        }
    }
    let forward = forward.ok_or(SimMergeError::Nothing)?;
    Ok(MergedSim { forward, today, shards: count })
}

/// Write the merged simulation into `set` (created with
/// [`crate::output::Kind::Simulation`]): today's files as the shards wrote
/// them and the projection's files, as one unsharded simulation writes them.
pub fn write_merged(set: OutputSet, m: &MergedSim) -> Result<(), OutputError> {
    for (name, bytes) in &m.today {
        set.write(name, |w| w.write_all(bytes))?;
    }
    super::write::write_forward(&set, &m.forward)?;
    set.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every run in exactly one shard, in order, the shares differing by
    /// one run at most.
    #[test]
    fn the_shares_cover_every_run_once_in_order() {
        for runs in [0, 1, 2, 7, 20, 200, 201] {
            for count in 1..=9 {
                let shares: Vec<Range<u32>> = (0..count).map(|index| share(Shard { index, count }, runs)).collect();
                let all: Vec<u32> = shares.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(all, (0..runs).collect::<Vec<_>>(), "{runs} runs, {count} shards");
                let (lo, hi) = (shares.iter().map(|r| r.len()).min(), shares.iter().map(|r| r.len()).max());
                assert!(hi.unwrap() - lo.unwrap() <= 1, "{runs} runs, {count} shards");
            }
        }
        assert_eq!(share(Shard { index: 0, count: 3 }, 20), 0..7);
        assert_eq!(share(Shard { index: 1, count: 3 }, 20), 7..14);
        assert_eq!(share(Shard { index: 2, count: 3 }, 20), 14..20);
    }

    /// A week's DSO reads back to the same bits.
    #[test]
    fn a_weeks_dso_reads_back_exactly() {
        use super::super::project::{Week, WeekMoney};
        for dso in [Some(31.470_000_000_000_004), Some(1.0 / 3.0), Some(0.1 + 0.2), None, Some(f64::MIN_POSITIVE)] {
            let w = Week { calls: 3, letters: 1, money: vec![WeekMoney { dso, ..WeekMoney::default() }] };
            let back: Week = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
            assert_eq!(back.money[0].dso.map(f64::to_bits), dso.map(f64::to_bits));
            assert_eq!(back, w);
        }
    }
}
