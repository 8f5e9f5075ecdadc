//! Writing a run's outputs: plan.csv, plan.jsonl, worklist.csv,
//! summary.json, manifest.json and rejects.csv, as one atomic output set.

use super::shard::ShardPart;
use super::summary::Summary;
use super::{Plan, PlanEntry, worklist};
use crate::ledger::{LoadReport, Problem};
use crate::output::{OutputError, OutputSet, write_rejects};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::Path;

/// The columns of plan.csv, in order.
pub const PLAN_COLUMNS: &[&str] = &[
    "action_id",
    "customer_id",
    "invoice_ids",
    "action",
    "channel",
    "template",
    "rule_id",
    "rule_kind",
    "step",
    "strategy",
    "amount_due",
    "fee",
    "compensation",
    "interest",
    "discount_pct",
    "discount",
    "discount_cost",
    "pay_by",
    "instalments",
    "instalment_amount",
    "old_limit",
    "new_limit",
    "review_on",
    "hold",
    "cost",
    "priority",
    "owner",
    "reason",
    "arm",
];

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d)
}

fn plan_record(e: &PlanEntry) -> Vec<String> {
    let a = &e.action;
    vec![
        e.action_id.clone(),
        a.customer_id.clone(),
        a.invoice_ids.join(";"),
        a.action.as_str().to_string(),
        opt(&a.channel),
        opt(&a.template),
        a.rule_id.clone(),
        serde_plain(&a.rule_kind),
        opt(&a.step),
        opt(&a.strategy),
        money(a.amount_due),
        money(a.fee),
        money(a.compensation),
        money(a.interest),
        opt(&a.discount_pct),
        money(a.discount),
        money(a.discount_cost),
        opt(&a.pay_by),
        opt(&a.instalments),
        a.instalment_amount.map(money).unwrap_or_default(),
        a.old_limit.map(money).unwrap_or_default(),
        a.new_limit.map(money).unwrap_or_default(),
        opt(&a.review_on),
        a.hold.to_string(),
        money(a.cost),
        format!("{:.2}", a.priority),
        opt(&a.owner),
        a.reason.clone(),
        a.arm.as_str().to_string(),
    ]
}

/// A unit enum as the word serde gives it.
fn serde_plain<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// plan.csv: one action per row.
pub fn plan_csv(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(&mut *w);
    out.write_record(PLAN_COLUMNS)?;
    out.flush()?;
    drop(out);
    in_parallel(w, &plan.entries, |buf, entries| {
        let mut out = csv::Writer::from_writer(buf);
        for e in entries {
            out.write_record(plan_record(e))?;
        }
        out.flush()
    })
}

/// plan.jsonl: one action per line, with the facts it read.
pub fn plan_jsonl(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    in_parallel(w, &plan.entries, |buf, entries| {
        for e in entries {
            serde_json::to_writer(&mut *buf, e)?;
            buf.push(b'\n');
        }
        Ok(())
    })
}

/// Format `items` in slices on worker threads and write the bytes in order:
/// the output is what formatting them one after the other would give (each
/// line depends only on its item). A window at a time, so the bytes held at
/// once stay bounded whatever the plan's size.
fn in_parallel<T: Sync>(
    w: &mut dyn Write,
    items: &[T],
    format: impl Fn(&mut Vec<u8>, &[T]) -> io::Result<()> + Sync,
) -> io::Result<()> {
    for window in items.chunks(1 << 15) {
        let parts: Vec<io::Result<Vec<u8>>> = window
            .par_chunks(512)
            .map(|slice| {
                let mut buf = Vec::new();
                format(&mut buf, slice).map(|()| buf)
            })
            .collect();
        for part in parts {
            w.write_all(&part?)?;
        }
    }
    Ok(())
}

/// worklist.csv: human tasks per owner, highest priority first.
pub fn worklist_csv(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "owner",
        "rank",
        "priority",
        "customer_id",
        "action",
        "rule_id",
        "amount_due",
        "invoice_ids",
        "reason",
        "action_id",
    ])?;
    let mut rank = 0u64;
    let mut owner: Option<&Option<String>> = None;
    for e in worklist(plan) {
        let a = &e.action;
        if owner != Some(&a.owner) {
            owner = Some(&a.owner);
            rank = 0;
        }
        rank += 1;
        out.write_record([
            a.owner.as_deref().unwrap_or("(unassigned)"),
            &rank.to_string(),
            &format!("{:.2}", a.priority),
            &a.customer_id,
            a.action.as_str(),
            &a.rule_id,
            &money(a.amount_due),
            &a.invoice_ids.join(";"),
            &a.reason,
            &e.action_id,
        ])?;
    }
    out.flush()
}

/// One input file in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    pub file: String,
    pub blake3: String,
    pub read: u64,
    pub loaded: u64,
    pub rejected: u64,
}

/// manifest.json: what produced this output set. Timings live only here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub recoup_version: String,
    pub as_of: Option<chrono::NaiveDate>,
    pub policy: String,
    pub policy_version: String,
    pub policy_blake3: String,
    pub ledger: String,
    pub inputs: Vec<InputFile>,
    pub outputs: Vec<String>,
    pub actions: u64,
    pub customers_skipped: u64,
    pub threads: usize,
    pub timings_ms: Vec<(String, u64)>,
    /// `I/N` for a shard's outputs (`recoup run --shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The number of shards a `recoup merge` combined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_shards: Option<u32>,
}

impl Manifest {
    /// The input files of a load report.
    pub fn inputs(report: &LoadReport) -> Vec<InputFile> {
        report
            .files()
            .iter()
            .filter_map(|(kind, c)| {
                let hash = report.hashes.iter().find(|(f, _)| f == kind.file_name())?;
                Some(InputFile {
                    file: kind.file_name().to_string(),
                    blake3: hash.1.clone(),
                    read: c.read,
                    loaded: c.loaded,
                    rejected: c.rejected,
                })
            })
            .collect()
    }
}

/// Everything a run writes.
pub struct RunOutputs<'a> {
    pub plan: &'a Plan,
    pub summary: &'a Summary,
    pub rejects: &'a [Problem],
    /// rejects.csv as already written by shards (`recoup merge`), verbatim.
    pub rejects_csv: Option<&'a [u8]>,
    /// shard.json, for a shard's outputs.
    pub shard: Option<&'a ShardPart>,
}

/// Write a run's outputs into `dir` as one atomic set; the manifest is
/// completed with the list of files written and the `write` stage's time
/// (every file but the manifest written and synced), and written last.
pub fn write_run(dir: &Path, out: &RunOutputs<'_>, manifest: &mut Manifest) -> Result<(), OutputError> {
    write_run_into(OutputSet::create(dir)?, out, manifest)
}

/// [`write_run`] into an output set locked earlier (`recoup run` locks its
/// folder before it starts, so a second run refuses at once).
pub fn write_run_into(set: OutputSet, out: &RunOutputs<'_>, manifest: &mut Manifest) -> Result<(), OutputError> {
    let started = std::time::Instant::now();
    // The three big files are formatted and synced on worker threads at once
    // (each file's bytes do not depend on the others, nor on the threads).
    let (csv, (jsonl, rest)) = rayon::join(
        || set.write("plan.csv", |w| plan_csv(w, out.plan)),
        || {
            rayon::join(
                || set.write("plan.jsonl", |w| plan_jsonl(w, out.plan)),
                || {
                    set.write("worklist.csv", |w| worklist_csv(w, out.plan))?;
                    set.write("summary.json", |w| json(w, out.summary))
                },
            )
        },
    );
    csv.and(jsonl).and(rest)?;
    let mut outputs = vec!["plan.csv", "plan.jsonl", "worklist.csv", "summary.json"];
    if let Some(csv) = out.rejects_csv {
        set.write("rejects.csv", |w| w.write_all(csv))?;
        outputs.push("rejects.csv");
    } else if !out.rejects.is_empty() {
        set.write("rejects.csv", |w| write_rejects(w, out.rejects))?;
        outputs.push("rejects.csv");
    }
    if let Some(part) = out.shard {
        set.write("shard.json", |w| json(w, part))?;
        outputs.push("shard.json");
    }
    outputs.push("manifest.json");
    manifest.outputs = outputs.into_iter().map(String::from).collect();
    manifest.timings_ms.push(("write".to_string(), started.elapsed().as_millis() as u64));
    set.write("manifest.json", |w| json(w, &*manifest))?;
    set.commit()
}

fn json<T: Serialize>(w: &mut dyn Write, v: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, v)?;
    w.write_all(b"\n")
}
