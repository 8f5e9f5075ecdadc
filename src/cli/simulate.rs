//! `recoup simulate`: a baseline and variant policies on one ledger — today's
//! side-by-side comparison and per-customer diff, written atomically into
//! `--out`, and a terminal table (or comparison.json on stdout).

use super::run::{Format, compiled_policy};
use super::{Exit, ExitError, LedgerArgs, as_of_or_today, load_ledger, report_problems, say};
use crate::facts::{Context, FactsConfig};
use crate::policy::CompiledPolicy;
use crate::simulate::write::{ComparisonJson, FILES, print_roll_rates, print_table, write_simulation};
use crate::simulate::{Candidate, compare};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The policy in force today: a folder with policy.toml, or a .toml file.
    #[arg(long, value_name = "POLICY")]
    pub baseline: PathBuf,
    /// A policy to compare with the baseline (repeat for several).
    #[arg(long, value_name = "POLICY", required = true)]
    pub variant: Vec<PathBuf>,
    /// Output folder: comparison.json, comparison.csv, diff.csv, diff.jsonl, rollrates.csv.
    /// Replaced as a whole, atomically.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (default: all cores). The outputs are the same at any count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// The terminal comparison as a table, or comparison.json on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Run `recoup simulate`.
pub fn run(a: SimulateArgs) -> anyhow::Result<Exit> {
    match a.threads {
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build()?;
            pool.install(|| run_in_pool(&a))
        }
        None => run_in_pool(&a),
    }
}

/// Labels for the outputs: each policy's name, with `-2`, `-3`... when two
/// policies share a name.
fn labels(policies: &[CompiledPolicy]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(policies.len());
    for p in policies {
        let mut label = p.name().to_string();
        let mut n = 1;
        while out.contains(&label) {
            n += 1;
            label = format!("{}-{n}", p.name());
        }
        out.push(label);
    }
    out
}

fn run_in_pool(a: &SimulateArgs) -> anyhow::Result<Exit> {
    let as_of = as_of_or_today(a.ledger.as_of);
    let paths: Vec<&PathBuf> = std::iter::once(&a.baseline).chain(&a.variant).collect();
    let policies = paths.iter().map(|p| compiled_policy(p, a.quiet)).collect::<anyhow::Result<Vec<_>>>()?;
    let ledger = load_ledger(&a.ledger)?;
    let ctx = Context::new(as_of, FactsConfig::default());
    let labels = labels(&policies);
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let candidates: Vec<Candidate<'_>> = policies
        .iter()
        .zip(&labels)
        .zip(&shown)
        .map(|((policy, label), path)| Candidate { label, path, policy })
        .collect();
    let comparison = compare(&ledger, &candidates, &ctx)
        .map_err(|e| ExitError { code: Exit::Failed, message: format!("{e}; nothing was written") })?;
    for run in &comparison.runs {
        for e in &run.plan.skipped {
            say!(
                "warning: policy `{}`: customer `{}` skipped: {} `{}` failed: {}",
                run.label,
                e.customer_id,
                e.rule_kind.words(),
                e.rule_id,
                e.message
            );
        }
    }
    write_simulation(&a.out, &comparison).map_err(|e| ExitError { code: Exit::Failed, message: e.to_string() })?;
    if !ledger.report.rejects.is_empty() {
        report_problems(&ledger.report.rejects, &a.ledger.ledger, "rejected row");
    }
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &ComparisonJson::of(&comparison))?;
        writeln!(out)?;
    } else if !a.quiet {
        print_table(&mut out, &comparison)?;
        print_roll_rates(&mut out, &comparison)?;
        writeln!(out, "  wrote {} to {}", FILES.join(", "), a.out.display())?;
    }
    Ok(if ledger.report.rejects.is_empty() { Exit::Ok } else { Exit::RowsRejected })
}
