//! Past one machine: `recoup run --shard I/N` evaluates only the customers
//! whose stable hash falls in shard I of N and writes, beside its own
//! outputs, `shard.json` — the additive parts of the summary (counts, the
//! KPIs' ingredients). [`merge`] combines the N folders into exactly the
//! outputs of one unsharded run: the plans are merged in customer-id order
//! (the order every plan has), the worklist is rebuilt from the merged plan,
//! and the summary is recomputed from the merged plan and the summed parts.
//!
//! Shards either all read the whole ledger (their input hashes agree: the
//! row counts are the ledger's, taken once) or each read a partition of it
//! split by the same hash (`recoup split`; the counts are summed). A merge
//! refuses a missing, duplicated or foreign shard, naming it.

use super::summary::{Rows, Summary, summarize_parts};
use super::write::Manifest;
use super::{Plan, PlanEntry};
use crate::facts::kpi::PortfolioInputs;
use crate::facts::{Context, FactsConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Shard `index` of `count` (0-based, like a Kubernetes Indexed Job's
/// `JOB_COMPLETION_INDEX` or an array job's task id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The shard of `count` a customer belongs to: a stable hash of its id
    /// (BLAKE3, first 8 bytes, little-endian, modulo `count`), the same on
    /// every machine and in every version of recoup.
    pub fn of(customer_id: &str, count: u32) -> u32 {
        let h = blake3::hash(customer_id.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.as_bytes()[..8]);
        (u64::from_le_bytes(b) % u64::from(count.max(1))) as u32
    }

    /// Whether the customer falls in this shard.
    pub fn contains(&self, customer_id: &str) -> bool {
        Shard::of(customer_id, self.count) == self.index
    }

    /// Which of the ledger's customers fall in this shard, by customer
    /// index: each customer's group root hashed once (in parallel), then
    /// read by every stage. A customer in a group is sharded by its group's
    /// head (customers.csv `parent`), so that a group's members are always
    /// evaluated together: group facts, the group's shared limit and a hold
    /// on the head are then the same in a shard as in the whole run.
    pub fn mask(&self, ledger: &crate::ledger::Ledger) -> Vec<bool> {
        use rayon::prelude::*;
        let customers = &ledger.customers;
        customers
            .par_iter()
            .map(|c| {
                let root = c.group.and_then(|p| customers.get(p as usize)).map_or(&c.id, |h| &h.id);
                self.contains(root)
            })
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard: expected I/N with 0 <= I < N, e.g. `0/4` for the first of four");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// shard.json: what a merge needs besides the plan — the parts of the
/// summary that add up across shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardPart {
    pub shard: Shard,
    /// Customers this shard evaluated.
    pub customers: u64,
    /// Customers in the ledger this shard read (all of them, or a partition).
    pub customers_in_ledger: u64,
    pub customers_skipped: u64,
    /// Rows of the ledger this shard read.
    pub rows: Rows,
    pub warnings: u64,
    /// The portfolio KPIs' ingredients, over this shard's customers, per currency.
    pub kpi_inputs: BTreeMap<String, PortfolioInputs>,
    /// The distinct exposure its actions cover, per currency.
    #[serde(default)]
    pub exposure: BTreeMap<String, super::Exposure>,
    /// The policy's `[reporting]` rates, for the merged converted totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting: Option<crate::policy::compile::Reporting>,
    /// The policy's `[kpis]` settings, when not the defaults: the merged KPIs are finished with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpis: Option<FactsConfig>,
    /// Its customers' executed history rows whose rule id the policy does not have, by id.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub unknown_rule_ids: std::collections::BTreeMap<String, u64>,
    /// What the as-of warnings read (the policy's `effective`, the dates of
    /// this shard's ledger), for the merged summary's `as_of_warnings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of_inputs: Option<super::why::AsOfInputs>,
    /// Why this shard planned nothing (its counts), when it did: the merged
    /// summary's `why_no_actions` when no shard planned anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_none: Option<super::why::Why>,
    /// The policy's declared kinds' labels (summary.json's `kind_labels`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kind_labels: BTreeMap<String, String>,
    /// This shard's `[notify]` counts, added up by the merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<super::summary::NotifyCounts>,
}

impl ShardPart {
    /// The part a shard's run writes: its plan's counts, the ledger's size
    /// and rows (from the summary) and the KPI ingredients of its customers.
    pub fn new(
        shard: Shard,
        plan: &Plan,
        customers_in_ledger: usize,
        summary: &Summary,
        kpi_inputs: BTreeMap<String, PortfolioInputs>,
    ) -> Self {
        ShardPart {
            shard,
            customers: plan.customers,
            customers_in_ledger: customers_in_ledger as u64,
            customers_skipped: plan.skipped.len() as u64,
            rows: summary.rows.clone(),
            warnings: summary.warnings,
            kpi_inputs,
            exposure: plan.exposure.clone(),
            reporting: None,
            kpis: None,
            unknown_rule_ids: plan.unknown_rule_ids.clone(),
            as_of_inputs: None,
            why_none: None,
            kind_labels: summary.kind_labels.clone(),
            notify: summary.notify.clone(),
        }
    }
}

/// Why shard folders cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: {message}", .path.display())]
    Read { path: PathBuf, message: String },
    #[error("no shard folders given")]
    Nothing,
    #[error("shard {} missing (have {have} of {count}); re-run it with `recoup run --shard {}` and merge again", .missing.iter().map(|i| format!("{i}/{count}")).collect::<Vec<_>>().join(", "), .missing.first().map(|i| format!("{i}/{count}")).unwrap_or_default())]
    Missing { missing: Vec<u32>, have: usize, count: u32 },
    #[error("shard {shard} given twice: {} and {}", .a.display(), .b.display())]
    Duplicate { shard: Shard, a: PathBuf, b: PathBuf },
    #[error("{} and {} disagree on {what} (`{left}` vs `{right}`): they are not shards of one run", .a.display(), .b.display())]
    Mismatch { what: &'static str, left: String, right: String, a: PathBuf, b: PathBuf },
    #[error("{}: {message}", .path.display())]
    Inconsistent { path: PathBuf, message: String },
}

/// One shard's folder, read.
struct Part {
    dir: PathBuf,
    manifest: Manifest,
    part: ShardPart,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, MergeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| MergeError::Read { path: path.to_path_buf(), message: format!("cannot read it: {e}") })?;
    serde_json::from_str(&text).map_err(|e| MergeError::Read {
        path: path.to_path_buf(),
        message: format!("not a recoup output at line {} column {}: {e}", e.line(), e.column()),
    })
}

fn read_part(dir: &Path) -> Result<Part, MergeError> {
    let manifest: Manifest = read_json(&dir.join("manifest.json"))?;
    let shard_json = dir.join("shard.json");
    if !shard_json.exists() {
        return Err(MergeError::Read {
            path: dir.to_path_buf(),
            message: "not a shard's output (no shard.json): write shards with `recoup run --shard I/N`".into(),
        });
    }
    let part: ShardPart = read_json(&shard_json)?;
    let p = Part { dir: dir.to_path_buf(), manifest, part };
    verify_files(&p)?;
    Ok(p)
}

/// Check a shard's files against its manifest: each listed file has the
/// size and BLAKE3 hash the shard wrote (a plan.jsonl cut short, or edited,
/// is refused), and the manifest names the ledger the shard came from.
fn verify_files(p: &Part) -> Result<(), MergeError> {
    let rerun = |what: String| MergeError::Inconsistent {
        path: p.dir.clone(),
        message: format!(
            "{what}; re-run shard {} with `recoup run --shard {}` and merge again",
            p.part.shard, p.part.shard
        ),
    };
    let m = &p.manifest;
    if m.files.is_empty() || m.source_ledger.is_none() {
        return Err(rerun(
            "manifest.json lists no output hashes or no source ledger (written by an earlier recoup): its outputs cannot be checked".into(),
        ));
    }
    for f in &m.files {
        let path = p.dir.join(&f.file);
        let bytes = std::fs::read(&path)
            .map_err(|e| rerun(format!("`{}` listed in manifest.json cannot be read: {e}", f.file)))?;
        let differs = if bytes.len() as u64 != f.bytes {
            Some(format!("{} bytes, manifest.json says {}", bytes.len(), f.bytes))
        } else if blake3::hash(&bytes).to_hex().as_str() != f.blake3 {
            Some("its BLAKE3 hash is not the one in manifest.json".to_string())
        } else {
            None
        };
        if let Some(differs) = differs {
            return Err(rerun(format!(
                "`{}` is not the file the shard wrote ({differs}): it was cut short or changed",
                f.file
            )));
        }
    }
    Ok(())
}

/// Read plan.jsonl: one planned action per line.
fn read_plan(dir: &Path, into: &mut Vec<PlanEntry>) -> Result<(), MergeError> {
    let path = dir.join("plan.jsonl");
    let file = std::fs::File::open(&path)
        .map_err(|e| MergeError::Read { path: path.clone(), message: format!("cannot read it: {e}") })?;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line =
            line.map_err(|e| MergeError::Read { path: path.clone(), message: format!("cannot read it: {e}") })?;
        let entry = serde_json::from_str(&line).map_err(|e| MergeError::Read {
            path: path.clone(),
            message: format!("line {}, column {}: not a planned action: {e}", n + 1, e.column()),
        })?;
        into.push(entry);
    }
    Ok(())
}

/// The outputs of an unsharded run, rebuilt from its shards.
#[derive(Debug)]
pub struct Merged {
    pub plan: Plan,
    pub summary: Summary,
    pub manifest: Manifest,
    /// rejects.csv as the shards wrote it (whole-ledger shards: one copy).
    pub rejects_csv: Option<Vec<u8>>,
    /// The shards read partitions of the ledger, not the whole of it.
    pub partitioned: bool,
}

fn same<T: PartialEq + fmt::Display>(
    what: &'static str,
    a: &Part,
    b: &Part,
    f: impl Fn(&Part) -> T,
) -> Result<(), MergeError> {
    let (l, r) = (f(a), f(b));
    if l == r {
        return Ok(());
    }
    Err(MergeError::Mismatch { what, left: l.to_string(), right: r.to_string(), a: a.dir.clone(), b: b.dir.clone() })
}

/// Merge the output folders of shards 0..N of one run.
pub fn merge(dirs: &[PathBuf]) -> Result<Merged, MergeError> {
    let mut parts = dirs.iter().map(|d| read_part(d)).collect::<Result<Vec<_>, _>>()?;
    let Some(first) = parts.first() else { return Err(MergeError::Nothing) };
    let count = first.part.shard.count;
    for p in &parts[1..] {
        let f = &parts[0];
        same("the shard count", f, p, |x| x.part.shard.count)?;
        same("the as-of date", f, p, |x| x.manifest.as_of.map(|d| d.to_string()).unwrap_or_default())?;
        same("the policy (BLAKE3 of its files)", f, p, |x| x.manifest.policy_blake3.clone())?;
        same("the recoup version", f, p, |x| x.manifest.recoup_version.clone())?;
        same("the ledger they came from (BLAKE3 of the unsplit ledger's files)", f, p, |x| {
            x.manifest.source_ledger.clone().unwrap_or_default()
        })?;
    }
    parts.sort_by_key(|p| p.part.shard.index);
    for w in parts.windows(2) {
        if w[0].part.shard.index == w[1].part.shard.index {
            return Err(MergeError::Duplicate { shard: w[0].part.shard, a: w[0].dir.clone(), b: w[1].dir.clone() });
        }
    }
    let have: Vec<u32> = parts.iter().map(|p| p.part.shard.index).collect();
    let missing: Vec<u32> = (0..count).filter(|i| !have.contains(i)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, have: parts.len(), count });
    }

    // Whole-ledger shards read the same files; partitions differ.
    let partitioned = parts.windows(2).any(|w| w[0].manifest.inputs != w[1].manifest.inputs);
    let (rows, warnings) = if partitioned {
        let mut rows = Rows::default();
        for p in &parts {
            if p.part.customers != p.part.customers_in_ledger {
                return Err(MergeError::Inconsistent {
                    path: p.dir.clone(),
                    message: format!(
                        "shard {} read a ledger holding {} customers of other shards, while other shards read \
                         other files: either every shard reads the same whole ledger, or each reads its own \
                         partition made by `recoup split --shards {count}`",
                        p.part.shard,
                        p.part.customers_in_ledger - p.part.customers
                    ),
                });
            }
            rows.add(&p.part.rows);
        }
        // A partition with no customers warns that its ledger is empty
        // (one warning); the whole ledger is empty only when all are.
        let empty = parts.iter().filter(|p| p.part.rows.customers.read == 0).count() as u64;
        let whole_empty = u64::from(empty == parts.len() as u64);
        (rows, parts.iter().map(|p| p.part.warnings).sum::<u64>().saturating_sub(empty) + whole_empty)
    } else {
        let evaluated: u64 = parts.iter().map(|p| p.part.customers).sum();
        if evaluated != parts[0].part.customers_in_ledger {
            return Err(MergeError::Inconsistent {
                path: parts[0].dir.clone(),
                message: format!(
                    "the shards evaluated {evaluated} customers but the ledger holds {}",
                    parts[0].part.customers_in_ledger
                ),
            });
        }
        (parts[0].part.rows.clone(), parts[0].part.warnings)
    };

    let mut entries = Vec::new();
    let mut kpi = parts[0].part.kpi_inputs.clone();
    let mut exposure = BTreeMap::new();
    for (k, p) in parts.iter().enumerate() {
        let before = entries.len();
        read_plan(&p.dir, &mut entries)?;
        let read = (entries.len() - before) as u64;
        if read != p.manifest.actions {
            return Err(MergeError::Inconsistent {
                path: p.dir.join("plan.jsonl"),
                message: format!(
                    "{read} actions, while manifest.json says {}: the shard's plan is not whole",
                    p.manifest.actions
                ),
            });
        }
        super::Exposure::add_all(&mut exposure, &p.part.exposure);
        if k > 0 {
            crate::facts::kpi::add_by_currency(&mut kpi, &p.part.kpi_inputs)
                .map_err(|message| MergeError::Inconsistent { path: p.dir.clone(), message })?;
        }
    }
    // Each customer is in one shard and every shard's plan is in
    // customer-id order: a stable sort merges them into the unsharded order.
    entries.sort_by(|a, b| a.action.customer_id.cmp(&b.action.customer_id));

    let m0 = &parts[0].manifest;
    let as_of = m0.as_of;
    let mut unknown_rule_ids = std::collections::BTreeMap::new();
    for p in &parts {
        for (id, n) in &p.part.unknown_rule_ids {
            *unknown_rule_ids.entry(id.clone()).or_insert(0) += n;
        }
    }
    let plan = Plan {
        as_of,
        entries,
        skipped: Vec::new(),
        customers: parts.iter().map(|p| p.part.customers).sum(),
        unknown_rule_ids,
        exposure,
    };
    // The shards share one policy (its hash is compared above), so its settings.
    let ctx = Context::new(as_of.unwrap_or_default(), parts[0].part.kpis.clone().unwrap_or_default());
    let kpis = crate::facts::kpi::finish_all(&kpi, &ctx);
    let mut summary = summarize_parts(&plan, (&m0.policy, &m0.policy_version), rows, warnings, kpis);
    summary.customers_skipped = parts.iter().map(|p| p.part.customers_skipped).sum();
    summary.kpi_settings = ctx.config.clone();
    // One policy: its labels; the `[notify]` counts of every shard added up.
    summary.kind_labels = parts[0].part.kind_labels.clone();
    summary.notify = parts.iter().filter_map(|p| p.part.notify.as_ref()).fold(None, |all, n| {
        let mut all: super::summary::NotifyCounts = all.unwrap_or_default();
        all.notified += n.notified;
        all.undeliverable += n.undeliverable;
        all.customers_without_sales_rep += n.customers_without_sales_rep;
        Some(all)
    });
    // The shards share one policy (its hash is compared above), so its rates.
    if let Some(r) = &parts[0].part.reporting {
        summary.converted = super::summary::Converted::of(&summary, r).ok();
    }
    // The as-of warnings of the whole ledger (every shard's dates), and why
    // nothing was planned from every shard's counts: as an unsharded run says.
    let mut as_of_inputs: Option<super::why::AsOfInputs> = None;
    for p in &parts {
        if let Some(i) = &p.part.as_of_inputs {
            match &mut as_of_inputs {
                Some(all) => all.add(i),
                None => as_of_inputs = Some(i.clone()),
            }
        }
    }
    if let (Some(i), Some(d)) = (&as_of_inputs, as_of) {
        summary.as_of_warnings = i.warnings(d);
    }
    if plan.entries.is_empty() {
        let whys: Option<Vec<&super::why::Why>> = parts.iter().map(|p| p.part.why_none.as_ref()).collect();
        if let (Some(whys), Some(d)) = (whys, as_of) {
            let all = whys.into_iter().cloned().fold(super::why::Why::default(), super::why::Why::plus);
            summary.why_no_actions = Some(all.render(d));
        }
    }

    let mut manifest = m0.clone();
    manifest.shard = None;
    manifest.merged_shards = Some(count);
    manifest.actions = plan.entries.len() as u64;
    manifest.customers_skipped = summary.customers_skipped;
    manifest.threads = parts.iter().map(|p| p.manifest.threads).max().unwrap_or(1);
    manifest.timings_ms = parts
        .iter()
        .map(|p| (format!("shard {}", p.part.shard), p.manifest.timings_ms.iter().map(|t| t.1).sum()))
        .collect();
    if partitioned {
        manifest.ledger = parts.iter().map(|p| p.manifest.ledger.as_str()).collect::<Vec<_>>().join(";");
        manifest.inputs = parts
            .iter()
            .flat_map(|p| {
                let shard = p.part.shard;
                p.manifest
                    .inputs
                    .iter()
                    .map(move |i| super::write::InputFile { file: format!("{} (shard {shard})", i.file), ..i.clone() })
            })
            .collect();
    }
    let rejects_csv = merged_rejects(&parts, partitioned)?;
    Ok(Merged { plan, summary, manifest, rejects_csv, partitioned })
}

/// rejects.csv: one copy from whole-ledger shards, the concatenation (one
/// header) from partitions.
fn merged_rejects(parts: &[Part], partitioned: bool) -> Result<Option<Vec<u8>>, MergeError> {
    let mut out: Option<Vec<u8>> = None;
    for p in parts {
        let path = p.dir.join("rejects.csv");
        if !path.exists() {
            continue;
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| MergeError::Read { path: path.clone(), message: format!("cannot read it: {e}") })?;
        match &mut out {
            None => out = Some(bytes),
            Some(acc) => {
                let body = bytes.iter().position(|&b| b == b'\n').map_or(&bytes[..0], |n| &bytes[n + 1..]);
                acc.extend_from_slice(body);
            }
        }
        if !partitioned {
            break;
        }
    }
    Ok(out)
}

/// What [`split`] wrote: rows per shard and file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SplitReport {
    /// `(file, rows per shard)`, in the order the files were split.
    pub files: Vec<(String, Vec<u64>)>,
    /// The ledger was Parquet files: each shard is a CSV ledger folder.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub from_parquet: bool,
    /// Customers of a group (customers.csv `parent`) routed with their head.
    #[serde(skip_serializing_if = "is_zero")]
    pub grouped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Why a ledger could not be split.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// A ledger file is missing or cannot be partitioned (no customer_id).
    #[error("{}: {message}", .path.display())]
    Read { path: PathBuf, message: String },
    /// A ledger file could not be read (an I/O error).
    #[error("cannot read `{}`: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Write(#[from] crate::output::OutputError),
}

/// The ledger files a split partitions (by their `customer_id` column).
pub const LEDGER_FILES: [&str; 5] = ["customers.csv", "invoices.csv", "payments.csv", "promises.csv", "actions.csv"];

/// The most shards `recoup split` writes (each shard is a folder of up to
/// five files; past this, run the shards on the whole ledger instead).
pub const MAX_SPLIT_SHARDS: u32 = 4096;

/// split.json, in each shard folder `recoup split` writes: which ledger the
/// partition came from and which shard it is, carried into the manifest of
/// the shard's run so that `recoup merge` refuses partitions of two splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitPart {
    /// [`ledger_id`] of the unsplit ledger.
    pub source_ledger: String,
    pub shard: Shard,
}

/// The file a shard folder of `recoup split` holds besides the ledger files.
pub const SPLIT_JSON: &str = "split.json";

impl SplitPart {
    /// Read `dir/split.json`, if the folder is a partition `recoup split` wrote.
    pub fn read(dir: &Path) -> Result<Option<SplitPart>, String> {
        let path = dir.join(SPLIT_JSON);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("`{}` is not recoup's split.json: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
        }
    }
}

/// One identity for a ledger: BLAKE3 over its files' names and BLAKE3
/// hashes (`(file, hash)` in any order), the same whichever path it is read
/// from.
pub fn ledger_id<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut files: Vec<(&str, &str)> = files.into_iter().collect();
    files.sort_unstable();
    let mut h = blake3::Hasher::new();
    for (name, hash) in files {
        h.update(name.as_bytes());
        h.update(&[0]);
        h.update(hash.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex().to_string()
}

/// Partition the ledger folder `from` into `out/shard-0` ... `out/shard-{N-1}`
/// by the shard of each row's customer, for shards that read only their
/// own rows. A customer in a group (customers.csv `parent`) goes where its
/// group's head goes, with every row of its own: the shard of a customer is
/// the shard of its group's root, as `run --shard` computes it, so a group's
/// facts, shared limit and hold are whole in its shard. Rows are copied as
/// they are — bad rows too, so the shard that loads them reports them; a row
/// without a readable customer_id goes to shard 0. Every row read is written
/// to exactly one shard. A Parquet ledger (`customers.parquet`, …) is split
/// into CSV ledger folders (the cells as the loader reads them). The shards
/// are one output set: `out` holds every new shard or every old one, never a
/// mix.
pub fn split(from: &Path, count: u32, out: &Path) -> Result<SplitReport, SplitError> {
    use crate::ledger::{FileKind, LedgerFormat, parquet};
    let set = crate::output::OutputSet::create(out, crate::output::Kind::Split, &[("ledger folder", from)])?;
    let format =
        parquet::format_of(from).map_err(|e| SplitError::Read { path: from.to_path_buf(), message: e.to_string() })?;
    for &kind in &parquet::KINDS[..3] {
        let path = from.join(format.file_name(kind));
        if !path.is_file() {
            let names: Vec<&str> = parquet::KINDS[..3].iter().map(|&k| format.file_name(k)).collect();
            return Err(SplitError::Read {
                path,
                message: format!("missing: a ledger folder needs {}, {} and {}", names[0], names[1], names[2]),
            });
        }
    }
    // Every file read first: the customers' groups route the other files.
    let mut files: Vec<(&str, Vec<u8>, PathBuf)> = Vec::new();
    let mut hashes = Vec::new();
    for kind in parquet::KINDS {
        let path = from.join(format.file_name(kind));
        if !path.exists() {
            continue;
        }
        let (bytes, hash) = if format == LedgerFormat::Parquet {
            parquet::to_csv(&path).map_err(|e| SplitError::Read { path: path.clone(), message: e.to_string() })?
        } else {
            let bytes = std::fs::read(&path).map_err(|source| SplitError::Io { path: path.clone(), source })?;
            let hash = blake3::hash(&bytes).to_hex().to_string();
            (bytes, hash)
        };
        hashes.push((format.file_name(kind), hash));
        files.push((FileKind::file_name(kind), bytes, path));
    }
    let roots = match files.first() {
        Some((_, bytes, path)) => GroupRoots::read(bytes, path)?,
        None => GroupRoots::default(),
    };
    let mut report = SplitReport {
        from_parquet: format == LedgerFormat::Parquet,
        grouped: roots.parent.len() as u64,
        ..SplitReport::default()
    };
    for (name, bytes, path) in &files {
        let err = |e: csv::Error| SplitError::Read { path: path.clone(), message: e.to_string() };
        let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(&bytes[..]);
        let header = rd.byte_headers().map_err(err)?.clone();
        let Some(col) = header.iter().position(|h| h == b"customer_id") else {
            return Err(SplitError::Read {
                path: path.clone(),
                message: "no `customer_id` column: cannot tell which shard a row belongs to".into(),
            });
        };
        let mut shards: Vec<csv::Writer<Vec<u8>>> = (0..count).map(|_| csv::Writer::from_writer(Vec::new())).collect();
        let mut rows = vec![0u64; count as usize];
        let werr = |e: csv::Error| SplitError::Read { path: path.clone(), message: format!("cannot copy a row: {e}") };
        for w in &mut shards {
            w.write_byte_record(&header).map_err(werr)?;
        }
        let mut rec = csv::ByteRecord::new();
        while rd.read_byte_record(&mut rec).map_err(err)? {
            let k = rec
                .get(col)
                .and_then(|b| std::str::from_utf8(b).ok())
                .map_or(0, |id| Shard::of(roots.root(id.trim()), count) as usize);
            shards[k].write_byte_record(&rec).map_err(werr)?;
            rows[k] += 1;
        }
        drop(rd);
        for (i, w) in shards.into_iter().enumerate() {
            let bytes = w.into_inner().map_err(|e| SplitError::Read { path: path.clone(), message: e.to_string() })?;
            set.write(&format!("shard-{i}/{name}"), |f| f.write_all(&bytes))?;
        }
        report.files.push((name.to_string(), rows));
    }
    let source_ledger = ledger_id(hashes.iter().map(|(n, h)| (*n, h.as_str())));
    for index in 0..count {
        let part = SplitPart { source_ledger: source_ledger.clone(), shard: Shard { index, count } };
        set.write(&format!("shard-{index}/{SPLIT_JSON}"), |f| {
            serde_json::to_writer_pretty(&mut *f, &part)?;
            f.write_all(b"\n")
        })?;
    }
    set.commit()?;
    Ok(report)
}

/// The groups of a customers file as written: each customer's `parent`, so
/// that [`split`] routes a member with its group's head.
#[derive(Debug, Default)]
struct GroupRoots {
    parent: std::collections::HashMap<String, String>,
}

impl GroupRoots {
    /// The `customer_id` → `parent` cells of a customers.csv (trimmed, as the
    /// loader reads them); empty without a `parent` column.
    fn read(bytes: &[u8], path: &Path) -> Result<GroupRoots, SplitError> {
        let err = |e: csv::Error| SplitError::Read { path: path.to_path_buf(), message: e.to_string() };
        let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let header = rd.byte_headers().map_err(err)?.clone();
        let (Some(id), Some(parent)) =
            (header.iter().position(|h| h == b"customer_id"), header.iter().position(|h| h == b"parent"))
        else {
            return Ok(GroupRoots::default());
        };
        let mut parent_of = std::collections::HashMap::new();
        let mut rec = csv::ByteRecord::new();
        while rd.read_byte_record(&mut rec).map_err(err)? {
            let cell = |k: usize| rec.get(k).and_then(|b| std::str::from_utf8(b).ok()).map(str::trim);
            if let (Some(c), Some(p)) = (cell(id), cell(parent))
                && !c.is_empty()
                && !p.is_empty()
            {
                parent_of.entry(c.to_string()).or_insert_with(|| p.to_string());
            }
        }
        Ok(GroupRoots { parent: parent_of })
    }

    /// The id a customer is sharded by: the top of its chain of parents (a
    /// group's head; groups are one level deep, and a deeper or circular
    /// chain is rejected by the loader, but its rows still travel together:
    /// a cycle's root is its smallest id).
    fn root<'a>(&'a self, id: &'a str) -> &'a str {
        if self.parent.is_empty() || !self.parent.contains_key(id) {
            return id;
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut at = id;
        loop {
            seen.push(at);
            let Some(p) = self.parent.get(at) else { return at };
            if let Some(k) = seen.iter().position(|s| *s == p.as_str()) {
                return seen[k..].iter().copied().min().unwrap_or(at);
            }
            at = p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_routed_by_its_group_root() {
        let csv = b"customer_id,name,parent\nG,Head,\nM1,One,G\nM2,Two, G \nN,Nested,M1\nA,Cycle a,B\nB,Cycle b,A\nX,Alone,\n";
        let r = GroupRoots::read(csv, Path::new("customers.csv")).unwrap();
        for (id, root) in
            [("G", "G"), ("M1", "G"), ("M2", "G"), ("N", "G"), ("A", "A"), ("B", "A"), ("X", "X"), ("?", "?")]
        {
            assert_eq!(r.root(id), root, "{id}");
        }
        let none = GroupRoots::read(b"customer_id,name\nG,Head\n", Path::new("customers.csv")).unwrap();
        assert_eq!(none.root("G"), "G");
    }

    #[test]
    fn parse_and_print() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        assert_eq!(Shard { index: 3, count: 4 }.to_string(), "3/4");
        for bad in ["4/4", "1/0", "x/2", "1", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_customer_in_exactly_one_shard_and_spread() {
        let mut sizes = [0u32; 4];
        for i in 0..4000 {
            let id = format!("C{i:06}");
            let hits: Vec<u32> = (0..4).filter(|&k| Shard { index: k, count: 4 }.contains(&id)).collect();
            assert_eq!(hits.len(), 1, "{id}");
            sizes[hits[0] as usize] += 1;
        }
        // A fair hash puts about 1000 in each; 850..1150 is > 5 sigma.
        assert!(sizes.iter().all(|&n| (850..1150).contains(&n)), "{sizes:?}");
        // The hash is part of the contract (partitions written by one version
        // are read by the next): pinned for a few ids.
        let pinned: Vec<u32> = (1..=8).map(|i| Shard::of(&format!("C{i:06}"), 4)).collect();
        assert_eq!(pinned, vec![1, 3, 0, 2, 0, 1, 1, 2]);
    }
}
