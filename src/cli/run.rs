//! `recoup run`: ledger + policy (+ action history) → the action plan,
//! worklist, summary and manifest, written atomically into `--out`.

use super::check::print_report;
use super::{Exit, ExitError, Format, LedgerArgs, Progress, as_of_or_today, load_ledger, report_problems, say, style};
use crate::facts::{Context, FactsConfig, kpi};
use crate::output::OutputSet;
use crate::plan::summary::{Summary, summarize};
use crate::plan::write::{Manifest, RunOutputs, write_run_into};
use crate::plan::{self, Plan, worklist};
use crate::policy::{self, CompiledPolicy};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The policy: a folder with policy.toml, or a .toml file.
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Output folder: plan.csv, plan.jsonl, worklist.csv, summary.json, manifest.json (and rejects.csv).
    /// Replaced as a whole, atomically.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (default: all cores). The plan is the same at any count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Evaluate only shard I of N (0-based) of the customers, by a stable hash of their ids, and write
    /// shard.json beside the outputs; `recoup merge` combines the N folders into one run's outputs.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<plan::Shard>,
    /// The terminal summary as a table, or summary.json on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Load and compile a policy; print its warnings; an invalid policy becomes
/// an [`ExitError`] with [`Exit::PolicyInvalid`].
pub fn compiled_policy(path: &Path, quiet: bool) -> anyhow::Result<CompiledPolicy> {
    let loaded = policy::load(path);
    if loaded.policy.is_none() || !quiet {
        print_report(&loaded.report);
    }
    loaded.policy.ok_or_else(|| {
        ExitError {
            code: Exit::PolicyInvalid,
            message: format!(
                "policy `{}` is invalid: {}; nothing was written",
                path.display(),
                super::check::counts(&loaded.report)
            ),
        }
        .into()
    })
}

/// Run `recoup run`.
pub fn run(a: RunArgs) -> anyhow::Result<Exit> {
    super::with_threads(a.threads, || run_in_pool(&a))
}

fn ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

fn run_in_pool(a: &RunArgs) -> anyhow::Result<Exit> {
    let as_of = as_of_or_today(a.ledger.as_of);
    // Lock the output folder first: a second run on it refuses before doing any work.
    let set = OutputSet::create(&a.out).map_err(|e| ExitError { code: Exit::Failed, message: out_error(&e) })?;
    let mut timings = Vec::new();
    let progress = Progress::start(a.quiet);
    progress.stage("compiling the policy");
    let t = Instant::now();
    let policy = compiled_policy(&a.policy, a.quiet)?;
    timings.push(("policy".to_string(), ms(t)));
    progress.stage("loading the ledger");
    let t = Instant::now();
    let ledger = load_ledger(&a.ledger)?;
    timings.push(("load".to_string(), ms(t)));
    let ctx = Context::new(as_of, FactsConfig::default());
    drop(progress);
    // A shard's customers, each id hashed once for every stage that needs it.
    let mask = a.shard.map(|sh| sh.mask(&ledger));
    let evaluated = mask.as_ref().map_or(ledger.customers.len(), |m| m.iter().filter(|&&k| k).count());
    let bar = Progress::bar(a.quiet, evaluated as u64, "evaluating customers");
    let t = Instant::now();
    let plan = plan::evaluate_shard(&ledger, &policy, &ctx, mask.as_deref(), &|| bar.inc(1)).map_err(|e| {
        let (code, help) = match e {
            plan::RunError::TooManyFailed { .. } => (
                Exit::TooManyFailed,
                "\n  = help: fix the rule (`recoup explain` shows one customer's evaluation), or allow more \
                 failed customers with `max_failed_share` in [policy] (docs/policy.md)",
            ),
            plan::RunError::Script(_) => (Exit::Failed, ""),
        };
        ExitError { code, message: format!("{e}; nothing was written{help}") }
    })?;
    timings.push(("evaluate".to_string(), ms(t)));
    drop(bar);
    let progress = Progress::start(a.quiet);
    progress.stage("computing the portfolio KPIs");
    let t = Instant::now();
    let kpi_inputs = kpi::PortfolioInputs::collect(&ledger, &ctx, |c| mask.as_ref().is_none_or(|m| m[c as usize]));
    let kpis = kpi_inputs.finish(&ctx);
    timings.push(("kpis".to_string(), ms(t)));
    let summary = summarize(&plan, (policy.name(), policy.version()), &ledger.report, kpis);
    let shard_part =
        a.shard.map(|shard| plan::shard::ShardPart::new(shard, &plan, ledger.customers.len(), &summary, kpi_inputs));
    let mut manifest = Manifest {
        recoup_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of: Some(as_of),
        policy: policy.name().to_string(),
        policy_version: policy.version().to_string(),
        policy_blake3: policy.hash.clone(),
        ledger: a.ledger.ledger.display().to_string(),
        inputs: Manifest::inputs(&ledger.report),
        outputs: Vec::new(),
        actions: plan.entries.len() as u64,
        customers_skipped: plan.skipped.len() as u64,
        threads: rayon::current_num_threads(),
        timings_ms: Vec::new(),
        shard: a.shard.map(|s| s.to_string()),
        merged_shards: None,
    };
    progress.stage("writing the plan");
    let outputs = RunOutputs {
        plan: &plan,
        summary: &summary,
        rejects: &ledger.report.rejects,
        rejects_csv: None,
        shard: shard_part.as_ref(),
    };
    // write_run_into adds the `write` stage, measured up to the manifest (written last).
    manifest.timings_ms = timings;
    write_run_into(set, &outputs, &mut manifest)
        .map_err(|e| ExitError { code: Exit::Failed, message: out_error(&e) })?;
    drop(progress);

    for e in &plan.skipped {
        say!(
            "{} customer `{}` skipped: {} `{}` failed: {}{}",
            style::warning_word("warning:"),
            e.customer_id,
            e.rule_kind.words(),
            e.rule_id,
            e.message,
            e.location.as_deref().map(|l| format!("\n  --> {l}")).unwrap_or_default()
        );
    }
    if !plan.unknown_rule_ids.is_empty() {
        say!("{}", unknown_rules_warning(&plan.unknown_rule_ids, policy.name()));
    }
    if !ledger.report.rejects.is_empty() {
        report_problems(&ledger.report.rejects, &a.ledger.ledger, "rejected row");
    }
    if a.format == Format::Json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else if !a.quiet {
        let mut out = std::io::stdout().lock();
        print_summary(&mut out, &summary, &plan, &a.out)?;
    }
    let code = if ledger.report.rejects.is_empty() { Exit::Ok } else { Exit::RowsRejected };
    // The command ends here: the ledger and the plan are left to the
    // operating system instead of being freed row by row (about 3 % of a run
    // at 100,000 customers, on one thread, after the outputs are complete).
    std::mem::forget(plan);
    std::mem::forget(ledger);
    Ok(code)
}

fn print_summary(out: &mut dyn Write, s: &Summary, plan: &Plan, dir: &Path) -> std::io::Result<()> {
    let as_of = s.as_of.map(|d| d.to_string()).unwrap_or_default();
    writeln!(out, "recoup run: policy `{}` {} as of {as_of}", s.policy, s.policy_version)?;
    writeln!(
        out,
        "  {} customers ({} with actions, {} skipped); {} invoices loaded, {} rejected rows",
        s.customers,
        s.customers_with_actions,
        s.customers_skipped,
        s.rows.invoices.loaded,
        s.rows.customers.rejected
            + s.rows.invoices.rejected
            + s.rows.payments.rejected
            + s.rows.promises.rejected
            + s.rows.actions.rejected
    )?;
    writeln!(out)?;
    let mut t = style::table(["action", "count", "amount due", "fees", "cost"]);
    for (kind, x) in &s.by_action {
        t.add_row([kind.to_string(), x.count.to_string(), m2(x.amount_due), m2(x.fees), m2(x.cost)]);
    }
    let x = &s.actions;
    t.add_row(["total".to_string(), x.count.to_string(), m2(x.amount_due), m2(x.fees), m2(x.cost)]);
    style::right_align(&mut t, &[1, 2, 3, 4]);
    style::write_table(out, &t, " ")?;
    if s.holds_placed + s.holds_released > 0 {
        writeln!(
            out,
            "\n  holds: {} placed ({:.2} due), {} released",
            s.holds_placed, s.amount_on_hold, s.holds_released
        )?;
    }
    let l = &s.limit_changes;
    if l.increases + l.decreases > 0 {
        writeln!(
            out,
            "  limits: {} raised (+{:.2}), {} lowered (-{:.2})",
            l.increases, l.increase_total, l.decreases, l.decrease_total
        )?;
    }
    if s.discounts.offered > 0 {
        writeln!(out, "  discounts: {} offered, at most {:.2}", s.discounts.offered, s.discounts.max_cost)?;
    }
    let tasks = worklist(plan);
    if !tasks.is_empty() {
        writeln!(out, "\n  top of the worklist ({} tasks):", tasks.len())?;
        let mut t = style::table(["owner", "customer", "action", "amount due", "reason"]);
        for e in tasks.iter().take(5) {
            let a = &e.action;
            t.add_row([
                a.owner.as_deref().unwrap_or("-").to_string(),
                a.customer_id.to_string(),
                a.action.as_str().to_string(),
                m2(a.amount_due),
                a.reason.clone(),
            ]);
        }
        style::right_align(&mut t, &[3]);
        style::write_table(out, &t, "   ")?;
    }
    writeln!(
        out,
        "\n  DSO {}  best possible {}  ADD {}  CEI {}%",
        opt2(s.kpis.dso),
        opt2(s.kpis.best_possible_dso),
        opt2(s.kpis.average_days_delinquent),
        opt2(s.kpis.cei)
    )?;
    writeln!(out, "  wrote {} actions to {}", plan.entries.len(), dir.display())
}

/// The warning for history rows whose rule id the policy does not have: how many, the first
/// ids, what it means and what to do.
pub(super) fn unknown_rules_warning(ids: &std::collections::BTreeMap<String, u64>, policy: &str) -> String {
    let rows: u64 = ids.values().sum();
    let mut by_rows: Vec<(&String, &u64)> = ids.iter().collect();
    by_rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let first: Vec<String> = by_rows.iter().take(5).map(|(id, n)| format!("`{id}` ({n})")).collect();
    let more = if ids.len() > 5 { format!(" and {} more", ids.len() - 5) } else { String::new() };
    let example = by_rows.first().map_or("", |(id, _)| id.as_str());
    format!(
        "{} {rows} executed history row{} name{} a rule id policy `{policy}` does not have: {}{more}\n  \
         they count as contacts, holds and referrals, but not as steps done: a renamed step starts again and \
         charges its fee again\n  = help: if a rule was renamed, add `replaces = [\"{example}\"]` to it \
         (docs/policy.md, \"What the history means\")",
        style::warning_word("warning:"),
        if rows == 1 { "" } else { "s" },
        if rows == 1 { "s" } else { "" },
        first.join(", "),
    )
}

/// An output error in words, with what to do when the folder cannot be written.
pub(super) fn out_error(e: &crate::output::OutputError) -> String {
    let text = super::render_error(&anyhow::Error::msg(e.to_string()));
    match e {
        crate::output::OutputError::Locked { .. } => text,
        _ => format!(
            "{text}\n  = help: --out must be a folder recoup can create or replace, inside a folder you can write"
        ),
    }
}

fn m2(d: rust_decimal::Decimal) -> String {
    format!("{d:.2}")
}

fn opt2(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.2}"))
}
