//! `recoup merge` and `recoup split`: running one nightly job as N shards
//! (docs/scale-out.md). `split` partitions a ledger by the shard hash;
//! `run --shard I/N` evaluates one shard; `merge` combines the N output
//! folders into the outputs of one unsharded run.

use super::{Exit, ExitError, Format};
use crate::plan::shard::{self, MergeError, SplitError};
use crate::plan::write::{RunOutputs, write_run_into};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The output folders of `recoup run --shard I/N` (or of `recoup simulate --shard I/N`), one per shard, in any order.
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// Output folder: the plan, worklist, summary and manifest of the whole run (a new or empty folder, or
    /// one `recoup run` or `recoup merge` wrote, replaced atomically; never a shard folder). For simulation
    /// shards: the outputs of the whole simulation, as `recoup simulate` without --shard writes them.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// `text`: one line; `json`: the merged summary.json on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `recoup merge`.
pub fn merge(a: MergeArgs) -> anyhow::Result<Exit> {
    if a.shards.first().is_some_and(|d| crate::simulate::shard::is_simulation_shard(d)) {
        return merge_simulation(&a);
    }
    let t = Instant::now();
    // Lock the output folder first: a folder recoup may not replace, or one of the shards, is refused before any work.
    let inputs: Vec<crate::output::Input<'_>> = a.shards.iter().map(|s| ("shard folder", s.as_path())).collect();
    let set = crate::output::OutputSet::create(&a.out, crate::output::Kind::Run, &inputs).map_err(super::out_failed)?;
    let m = shard::merge(&a.shards).map_err(|e| {
        let code = match e {
            MergeError::Read { .. } => Exit::Failed,
            _ => Exit::InputInvalid,
        };
        ExitError { code, message: format!("cannot merge: {e}; nothing was written") }
    })?;
    let dirs: Vec<&std::path::Path> = a.shards.iter().map(PathBuf::as_path).collect();
    let ids: Vec<&str> = m.plan.entries.iter().map(|e| e.action_id.as_str()).collect();
    let outbox = crate::outbox::gather(&dirs, &ids).map_err(|e| ExitError {
        code: Exit::InputInvalid,
        message: format!("cannot merge the outboxes: {e}; nothing was written"),
    })?;
    let mut manifest = m.manifest;
    manifest.timings_ms.push(("merge".to_string(), t.elapsed().as_millis() as u64));
    let outputs = RunOutputs {
        plan: &m.plan,
        summary: &m.summary,
        rejects: &[],
        rejects_csv: m.rejects_csv.as_deref(),
        shard: None,
        outbox: outbox.as_ref(),
    };
    write_run_into(set, &outputs, &mut manifest).map_err(super::out_failed)?;
    if a.format == Format::Json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &m.summary)?;
        writeln!(out)?;
    } else if !a.quiet {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "recoup merge: {} shards ({}) → {} customers, {} actions written to {}",
            a.shards.len(),
            if m.partitioned { "partitioned ledger" } else { "whole ledger each" },
            m.summary.customers,
            m.plan.entries.len(),
            a.out.display()
        )?;
        if let Some(o) = &outbox {
            writeln!(out, "{}", crate::outbox::summary_line(o, &m.plan.entries, &a.out))?;
        }
    }
    Ok(if m.rejects_csv.is_some() { Exit::RowsRejected } else { Exit::Ok })
}

/// `recoup merge` of `recoup simulate --shard I/N` folders: the outputs of
/// one unsharded simulation, and its forward summary in the terminal.
fn merge_simulation(a: &MergeArgs) -> anyhow::Result<Exit> {
    use crate::simulate::shard::{self as sim_shard, SimMergeError};
    use crate::simulate::write::{FILES, FORWARD_FILES, ForwardJson, print_forward};
    let inputs: Vec<crate::output::Input<'_>> = a.shards.iter().map(|s| ("shard folder", s.as_path())).collect();
    let set = crate::output::OutputSet::create(&a.out, crate::output::Kind::Simulation, &inputs)
        .map_err(super::out_failed)?;
    let m = sim_shard::merge(&a.shards).map_err(|e| {
        let code = match e {
            SimMergeError::Read { .. } => Exit::Failed,
            _ => Exit::InputInvalid,
        };
        ExitError { code, message: format!("cannot merge: {e}; nothing was written") }
    })?;
    sim_shard::write_merged(set, &m).map_err(super::out_failed)?;
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &ForwardJson::of(&m.forward).value())?;
        writeln!(out)?;
    } else if !a.quiet {
        writeln!(
            out,
            "recoup merge: {} simulation shards → {} runs of {} policies over {} days",
            m.shards,
            m.forward.runs,
            m.forward.policies.len(),
            m.forward.days
        )?;
        print_forward(&mut out, &m.forward)?;
        let files: Vec<&str> = FILES.iter().chain(FORWARD_FILES).copied().collect();
        writeln!(out, "  wrote {} to {}", files.join(", "), a.out.display())?;
    }
    Ok(Exit::Ok)
}

#[derive(clap::Args, Debug)]
pub struct SplitArgs {
    /// The ledger folder to partition.
    #[arg(long, value_name = "DIR")]
    pub ledger: PathBuf,
    /// How many shards (at most 4096).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(shard::MAX_SPLIT_SHARDS)))]
    pub shards: u32,
    /// Output folder: shard-0 ... shard-(N-1), each a ledger folder; replaced as a whole, atomically
    /// (a new or empty folder, or one `recoup split` wrote; never the ledger's own folder or a folder around it).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// `text`: rows per file; `json`: rows per file and shard on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `recoup split`.
pub fn split(a: SplitArgs) -> anyhow::Result<Exit> {
    let r = shard::split(&a.ledger, a.shards, &a.out).map_err(|e| match e {
        SplitError::Write(e) => super::out_failed(e),
        SplitError::Io { .. } => {
            ExitError { code: Exit::Failed, message: format!("cannot split: {e}; nothing was written") }.into()
        }
        SplitError::Read { .. } => {
            ExitError { code: Exit::InputInvalid, message: format!("cannot split: {e}; nothing was written") }.into()
        }
    })?;
    if a.format == Format::Json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &r)?;
        writeln!(out)?;
    } else if !a.quiet {
        let mut out = std::io::stdout().lock();
        writeln!(out, "recoup split: {} into {} shards under {}", a.ledger.display(), a.shards, a.out.display())?;
        for (file, rows) in &r.files {
            let total: u64 = rows.iter().sum();
            let (lo, hi) = (rows.iter().min().unwrap_or(&0), rows.iter().max().unwrap_or(&0));
            writeln!(out, "  {file:<14} {total:>10} rows, {lo} to {hi} per shard")?;
        }
        if r.grouped > 0 {
            writeln!(out, "  {} customers of groups go with their group's head (customers.csv `parent`)", r.grouped)?;
        }
        if r.from_parquet {
            writeln!(out, "  read Parquet files; each shard is a CSV ledger folder")?;
        }
    }
    Ok(Exit::Ok)
}
