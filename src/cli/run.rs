//! `recoup run`: ledger + policy (+ action history) → the action plan,
//! worklist, summary and manifest, written atomically into `--out`.

use super::check::print_report;
use super::{
    Exit, ExitError, Format, LedgerArgs, Progress, as_of_or_today, load_ledger, log, report_problems, say, style,
};
use crate::facts::{Context, kpi};
use crate::output::{Kind, OutputSet};
use crate::plan::summary::{Amounts, Summary, Tally, summarize};
use crate::plan::write::{Formats, Manifest, RunOutputs, write_run_as};
use crate::plan::{self, Plan, worklist};
use crate::policy::{self, CompiledPolicy};
use rust_decimal::Decimal;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The policy: a folder with policy.toml, or a .toml file.
    #[arg(long, value_name = "POLICY", env = "RECOUP_POLICY")]
    pub policy: PathBuf,
    /// Output folder: plan.csv, plan.jsonl, worklist.csv, summary.json, manifest.json, outbox/ (and rejects.csv).
    /// A new or empty folder, or one `recoup run` wrote before, replaced as a whole, atomically; any
    /// other folder, a file, a link, or a folder that is, holds or lies in an input is refused (exit 2).
    #[arg(long, value_name = "DIR", env = "RECOUP_OUT")]
    pub out: PathBuf,
    /// Worker threads (default: all cores). The plan is the same at any count.
    #[arg(long, env = "RECOUP_THREADS")]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Evaluate only shard I of N (0-based) of the customers, by a stable hash of their ids, and write
    /// shard.json beside the outputs; `recoup merge` combines the N folders into one run's outputs.
    #[arg(long, value_name = "I/N", env = "RECOUP_SHARD")]
    pub shard: Option<plan::Shard>,
    /// The terminal summary as a table, or summary.json on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the plan alone: no OUT/outbox/ (by default the customers' messages are rendered into it:
    /// e-mails as email.mbox and email.jsonl, texts, print-ready letters, the call sheet; docs/outbox.md).
    #[arg(long)]
    pub no_outbox: bool,
    /// The outbox is written by default; kept so that scripts that ask for it still run.
    #[arg(long, hide = true, conflicts_with = "no_outbox")]
    pub outbox: bool,
    /// Also write plan, worklist and summary as tables of a PostgreSQL schema (`--out-schema`),
    /// replaced in one transaction, under an advisory lock that refuses a second concurrent run (exit 1)
    /// (docs/postgres.md).
    #[arg(long, value_name = "URL")]
    pub out_db: Option<String>,
    /// The schema `--out-db` writes its tables into (created when missing).
    #[arg(long, value_name = "SCHEMA", default_value = "recoup", requires = "out_db")]
    pub out_schema: String,
    /// Also write plan.parquet and worklist.parquet (typed columns, money as DECIMAL(28,3)) in the same
    /// output set as the CSV files (docs/output.md, "Parquet").
    #[arg(long, env = "RECOUP_PARQUET")]
    pub parquet: bool,
}

/// Load and compile a policy; print its warnings; an invalid policy becomes
/// an [`ExitError`] with [`Exit::PolicyInvalid`].
pub fn compiled_policy(path: &Path, quiet: bool) -> anyhow::Result<CompiledPolicy> {
    let loaded = policy::load(path);
    if loaded.policy.is_none() || !quiet {
        print_report(&loaded.report);
    }
    loaded.policy.ok_or_else(|| {
        let error = ExitError {
            code: Exit::PolicyInvalid,
            message: format!(
                "policy `{}` is invalid: {}; nothing was written",
                path.display(),
                super::check::counts(&loaded.report)
            ),
        };
        super::LocatedError { error, at: super::check::first_error_at(&loaded.report) }.into()
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
    let inputs = [("ledger folder", a.ledger.ledger.as_path()), ("policy", a.policy.as_path())];
    let set = OutputSet::create(&a.out, Kind::Run, &inputs).map_err(super::out_failed)?;
    // And the database schema's advisory lock, held to the end of the run.
    let mut db = a.out_db.as_deref().map(|url| super::pg::lock_out(url, &a.out_schema)).transpose()?;
    let mut timings = Vec::new();
    let progress = Progress::start(a.quiet);
    progress.stage("compiling the policy");
    let t = Instant::now();
    let policy = compiled_policy(&a.policy, a.quiet)?;
    timings.push(("policy".to_string(), ms(t)));
    log::stage("run", "policy", ms(t), json!({"policy": policy.name(), "policy_version": policy.version()}));
    progress.stage("loading the ledger");
    let t = Instant::now();
    let ledger = load_ledger(&a.ledger)?;
    timings.push(("load".to_string(), ms(t)));
    log::stage("run", "load", ms(t), load_counts(&ledger.report));
    let source_ledger = source_ledger(a, &ledger)?;
    let ctx = Context::new(as_of, policy.rules.kpis.clone());
    drop(progress);
    warn_currency_gaps(&policy, &ledger);
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
    let threads = rayon::current_num_threads();
    let counts = json!({"customers": evaluated, "actions": plan.entries.len(), "customers_skipped": plan.skipped.len(), "threads": threads, "shard": a.shard.map(|s| s.to_string())});
    log::stage("run", "evaluate", ms(t), counts);
    drop(bar);
    let progress = Progress::start(a.quiet);
    progress.stage("computing the portfolio KPIs");
    let t = Instant::now();
    let kpi_inputs =
        kpi::PortfolioInputs::collect_by_currency(&ledger, &ctx, |c| mask.as_ref().is_none_or(|m| m[c as usize]));
    let kpis = kpi::finish_all(&kpi_inputs, &ctx);
    timings.push(("kpis".to_string(), ms(t)));
    log::stage("run", "kpis", ms(t), json!({}));
    let mut summary = summarize(&plan, (policy.name(), policy.version()), &ledger.report, kpis);
    summary.kpi_settings = ctx.config.clone();
    summary.kind_labels = policy.kind_labels();
    summary.notify = crate::plan::summary::NotifyCounts::of(&plan, &ledger, &policy);
    let as_of_inputs = plan::why::AsOfInputs::of(&ledger, &policy);
    summary.as_of_warnings = as_of_inputs.warnings(as_of);
    let why_none = plan.entries.is_empty().then(|| plan::why::why_none(&ledger, &policy, &ctx, mask.as_deref()));
    summary.why_no_actions = why_none.as_ref().map(|w| w.render(as_of));
    convert(&mut summary, policy.rules.reporting.as_ref());
    let shard_part = a.shard.map(|shard| {
        let mut part = plan::shard::ShardPart::new(shard, &plan, ledger.customers.len(), &summary, kpi_inputs);
        part.reporting = policy.rules.reporting.clone();
        part.as_of_inputs = Some(as_of_inputs);
        part.why_none = why_none;
        part.kpis = (policy.rules.kpis != crate::facts::FactsConfig::default()).then(|| policy.rules.kpis.clone());
        part
    });
    let mut manifest = Manifest {
        recoup_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of: Some(as_of),
        policy: policy.name().to_string(),
        policy_version: policy.version().to_string(),
        policy_blake3: policy.hash.clone(),
        ledger: super::pg::shown(&a.ledger.ledger),
        inputs: Manifest::inputs(&ledger.report),
        outputs: Vec::new(),
        actions: plan.entries.len() as u64,
        customers_skipped: plan.skipped.len() as u64,
        threads: rayon::current_num_threads(),
        timings_ms: Vec::new(),
        shard: a.shard.map(|s| s.to_string()),
        merged_shards: None,
        source_ledger: Some(source_ledger),
        files: Vec::new(),
    };
    let outbox = (!a.no_outbox).then(|| {
        progress.stage("rendering the messages");
        let t = Instant::now();
        let rendered = crate::render::render_plan(&plan.entries, &ledger, &policy, as_of);
        let o = crate::outbox::build(&plan.entries, &rendered, &ledger, &policy.messages.sender, as_of);
        manifest.timings_ms.push(("render".to_string(), ms(t)));
        log::stage("run", "render", ms(t), json!({"messages": o.files.len()}));
        o
    });
    progress.stage("writing the plan");
    // A database ledger's rejects.csv names tables and keys: rendered here.
    let db_rejects = match &ledger.report.places {
        Some(_) if !ledger.report.rejects.is_empty() => {
            let mut csv = Vec::new();
            crate::output::write_rejects(&mut csv, &ledger.report)
                .map_err(|e| anyhow::anyhow!("cannot write rejects.csv: {e}"))?;
            Some(csv)
        }
        _ => None,
    };
    let outputs = RunOutputs {
        plan: &plan,
        summary: &summary,
        rejects: &ledger.report.rejects,
        rejects_csv: db_rejects.as_deref(),
        shard: shard_part.as_ref(),
        outbox: outbox.as_ref(),
    };
    // write_run_into adds the `write` stage, measured up to the manifest (written last).
    timings.append(&mut manifest.timings_ms);
    manifest.timings_ms = timings;
    let formats = Formats { parquet: a.parquet };
    write_run_as(set, &outputs, &mut manifest, formats).map_err(super::out_failed)?;
    let write_ms = manifest.timings_ms.iter().find(|(s, _)| s == "write").map_or(0, |(_, ms)| *ms);
    let files = manifest.files.len() + 1;
    log::stage("run", "write", write_ms, json!({"out": a.out.display().to_string(), "files": files}));
    if let Some(db) = db.as_mut() {
        progress.stage("writing the plan to the database");
        db.write(&a.out, as_of).map_err(super::pg::out_failed)?;
    }
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
    for w in &summary.as_of_warnings {
        say!("{} {w}", style::warning_word("warning:"));
    }
    if let Some(c) = policy.rules.guardrails.calendars.as_ref().filter(|_| policy.rules.guardrails.business_days_only) {
        let held = c.held_on(ledger.customers.iter().map(|x| x.country.as_str()), as_of);
        if !held.is_empty() {
            let n: usize = held.iter().map(|x| x.1).sum();
            let names: Vec<String> = held
                .iter()
                .map(|(h, k)| format!("{}: {k}", h.to_string().trim_start_matches(&format!("{as_of} "))))
                .collect();
            say!(
                "note: {as_of} is a holiday for {n} customer(s): {}; `business_days_only` holds their messages, calls and offers until their next business day",
                names.join(", ")
            );
        }
    }
    if !plan.unknown_rule_ids.is_empty() {
        say!("{}", unknown_rules_warning(&plan.unknown_rule_ids, policy.name()));
    }
    if !ledger.report.rejects.is_empty() {
        report_problems(&ledger.report.rejects, &ledger.report, &a.ledger.ledger, "rejected row");
    }
    if a.format == Format::Json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else if !a.quiet {
        let mut out = std::io::stdout().lock();
        print_summary(&mut out, &summary, &plan, &a.out)?;
        if let Some(o) = &outbox {
            writeln!(out, "{}", crate::outbox::summary_line(o, &plan.entries, &a.out))?;
        }
    }
    if let Some(o) = &outbox {
        for (id, why) in o.failed.iter().take(20) {
            say!("{} action `{id}`: no message: {why}", style::warning_word("warning:"));
        }
    }
    let code = if ledger.report.rejects.is_empty() { Exit::Ok } else { Exit::RowsRejected };
    // The command ends here: the ledger and the plan are left to the
    // operating system instead of being freed row by row (about 3 % of a run
    // at 100,000 customers, on one thread, after the outputs are complete).
    std::mem::forget(plan);
    std::mem::forget(ledger);
    Ok(code)
}

/// The rows of each ledger file read, loaded and rejected, and the warnings: the `load` stage's log counts.
fn load_counts(report: &crate::ledger::LoadReport) -> serde_json::Value {
    let mut counts = serde_json::Map::new();
    for (kind, c) in report.files() {
        let file = report.format.file_name(kind);
        counts.insert(
            format!("{kind:?}").to_lowercase(),
            json!({"file": file, "read": c.read, "loaded": c.loaded, "rejected": c.rejected}),
        );
    }
    json!({"format": report.format, "files": counts, "warnings": report.warnings.len()})
}

/// The ledger a run's outputs come from, for the manifest: for a partition
/// `recoup split` wrote (its split.json), the unsplit ledger, and the
/// partition must be the shard `--shard` names; otherwise the ledger read.
fn source_ledger(a: &RunArgs, ledger: &crate::ledger::Ledger) -> anyhow::Result<String> {
    let dir = &a.ledger.ledger;
    let split = plan::shard::SplitPart::read(dir).map_err(|message| ExitError { code: Exit::InputInvalid, message })?;
    let Some(split) = split else {
        return Ok(plan::shard::ledger_id(ledger.report.hashes.iter().map(|(f, h)| (f.as_str(), h.as_str()))));
    };
    if a.shard.is_some_and(|s| s != split.shard) {
        let shard = a.shard.map(|s| s.to_string()).unwrap_or_default();
        return Err(ExitError {
            code: Exit::Usage,
            message: format!(
                "`{}` is partition {} of a split ledger, but --shard is {shard}; nothing was written\n  = help: give each shard its own partition: `--shard {} --ledger {}`",
                dir.display(),
                split.shard,
                shard,
                dir.with_file_name(format!("shard-{}", a.shard.map_or(0, |s| s.index))).display()
            ),
        }
        .into());
    }
    Ok(split.source_ledger)
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
    // Amounts due per currency, one column each: never added across currencies.
    let codes: Vec<&str> = s.actions.currencies.keys().map(String::as_str).collect();
    let mut head = vec!["action".to_string(), "count".to_string()];
    head.extend(codes.iter().map(|c| format!("amount due {c}")));
    let mut t = style::table(head);
    let row = |name: &str, x: &Tally| {
        let mut r = vec![name.to_string(), x.count.to_string()];
        r.extend(codes.iter().map(|c| x.currencies.get(*c).map_or("-".into(), |m| money(c, m.amount_due))));
        r
    };
    for (kind, x) in &s.by_action {
        match s.kind_labels.get(kind) {
            Some(label) if label != kind => t.add_row(row(&format!("{kind} ({label})"), x)),
            _ => t.add_row(row(kind, x)),
        };
    }
    t.add_row(row("all actions", &s.actions));
    style::right_align(&mut t, &(1..codes.len() + 2).collect::<Vec<_>>());
    style::write_table(out, &t, " ")?;
    if let Some(why) = &s.why_no_actions {
        writeln!(out, "\n  no actions: {why}")?;
    }
    if !s.undeliverable.is_empty() {
        let n: u64 = s.undeliverable.values().sum();
        let by: Vec<String> = s.undeliverable.iter().map(|(c, k)| format!("{k} {c}")).collect();
        // Sales reps without an address are among them (`[notify]`).
        let reps = s.notify.as_ref().map_or(0, |r| r.undeliverable);
        let whom = match reps {
            0 => String::new(),
            r if r == n => " (all to sales reps without an address)".to_string(),
            r => format!(" ({r} of them to sales reps without an address)"),
        };
        writeln!(
            out,
            "\n  undeliverable: {n} message(s) ({}) have no usable contact on their channel nor a fallback{whom}; \
             plan.csv's `undeliverable` column says why",
            by.join(", ")
        )?;
    }
    if !s.actions.currencies.is_empty() {
        writeln!(
            out,
            "\n  distinct exposure covered by today's actions (each customer's debt once; the amounts due above \
             count it once per action):"
        )?;
        for (code, x) in &s.exposure {
            writeln!(out, "    {code} {} ({} customers)", money(code, x.amount), x.customers)?;
        }
        let per = |f: &dyn Fn(&Amounts) -> Decimal| {
            s.actions.currencies.iter().map(|(c, m)| format!("{c} {}", money(c, f(m)))).collect::<Vec<_>>().join(", ")
        };
        writeln!(out, "  fees and compensation: {}", per(&|m| m.fees))?;
        writeln!(out, "  interest: {}", per(&|m| m.interest))?;
        writeln!(out, "  cost of the actions: {}", per(&|m| m.cost))?;
    }
    if s.holds_placed + s.holds_released > 0 {
        let due =
            if s.amount_on_hold.is_empty() { String::new() } else { format!(" ({} due)", amounts(&s.amount_on_hold)) };
        writeln!(out, "  holds: {} placed{due}, {} released", s.holds_placed, s.holds_released)?;
    }
    for (code, l) in &s.limit_changes {
        writeln!(
            out,
            "  limits {code}: {} raised (+{}), {} lowered (-{})",
            l.increases,
            money(code, l.increase_total),
            l.decreases,
            money(code, l.decrease_total)
        )?;
    }
    if let Some(n) = &s.notify {
        writeln!(
            out,
            "  sales reps told: {} customer(s) ({} undeliverable: no address); {} customer(s) with an action to tell of have no sales_rep",
            n.notified, n.undeliverable, n.customers_without_sales_rep
        )?;
    }
    for (code, d) in &s.discounts {
        writeln!(
            out,
            "  discounts {code}: {} offered, at most {} if all are taken",
            d.offered,
            money(code, d.max_cost)
        )?;
    }
    let tasks = top_tasks(plan, TOP_TASKS);
    if !tasks.is_empty() {
        writeln!(
            out,
            "\n  top {} of the worklist by priority, all owners ({} tasks; worklist.csv has them by owner):",
            tasks.len(),
            worklist(plan).len()
        )?;
        let mut t = style::table(["priority", "owner", "customer", "action", "amount due", "reason"]);
        for e in &tasks {
            let a = &e.action;
            t.add_row([
                format!("{:.2}", a.priority),
                a.owner.as_deref().unwrap_or("-").to_string(),
                a.customer_id.to_string(),
                a.action.as_str().to_string(),
                format!("{} {}", a.currency, money(&a.currency, a.amount_due)),
                a.reason.clone(),
            ]);
        }
        style::right_align(&mut t, &[0, 4]);
        style::write_table(out, &t, "   ")?;
    }
    writeln!(out)?;
    for (code, k) in &s.kpis {
        writeln!(
            out,
            "  {code}: open AR {}{}, overdue {}; DSO {}  best possible {}  ADD {}  CEI {}%",
            money(code, k.ar_total),
            if k.ar_net == k.ar_total {
                String::new()
            } else {
                format!(" (net of cash on account and credit notes {})", money(code, k.ar_net))
            },
            money(code, k.ar_overdue),
            opt2(k.dso),
            opt2(k.best_possible_dso),
            opt2(k.average_days_delinquent),
            opt2(k.cei)
        )?;
    }
    if let Some(c) = &s.converted {
        let rates: Vec<String> = c.rates.iter().map(|(k, r)| format!("1 {k} = {r} {}", c.currency)).collect();
        writeln!(
            out,
            "  all currencies converted to {} at the policy's rates of {} ({}): open AR {cur} {}, overdue {cur} {}; \
             distinct exposure {cur} {}",
            c.currency,
            c.rates_date,
            rates.join(", "),
            money(&c.currency, c.ar_total),
            money(&c.currency, c.ar_overdue),
            money(&c.currency, c.exposure),
            cur = c.currency
        )?;
    }
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

/// Add the converted totals to a summary when the policy gives rates for
/// each of its currencies; warn of the currencies without one.
pub fn convert(summary: &mut Summary, reporting: Option<&crate::policy::compile::Reporting>) {
    let Some(r) = reporting else { return };
    match crate::plan::summary::Converted::of(summary, r) {
        Ok(c) => summary.converted = Some(c),
        Err(missing) => say!(
            "{} [reporting] gives no rate to {} for {}: no total across currencies is given",
            style::warning_word("warning:"),
            r.currency,
            missing.join(", ")
        ),
    }
}

/// The ledger's currencies, each with its customers, in code order.
pub fn ledger_currencies(ledger: &crate::ledger::Ledger) -> Vec<(String, usize)> {
    ledger.currency_counts().into_iter().map(|(code, n)| (code.to_string(), n)).collect()
}

/// Warn of each policy amount the ledger's currencies would read in another
/// currency, or that leaves a currency out (docs/policy.md, "Amounts and
/// currencies"). Printed even with `--quiet`, like every warning.
pub fn warn_currency_gaps(policy: &CompiledPolicy, ledger: &crate::ledger::Ledger) -> usize {
    let gaps = policy.rules.currency_gaps(&ledger_currencies(ledger));
    for g in &gaps {
        say!("{} {g}", style::warning_word("warning:"));
    }
    gaps.len()
}

/// Worklist tasks the terminal summary shows.
const TOP_TASKS: usize = 5;

/// The `n` human tasks of highest priority across owners (ties by customer
/// and action id, as in the worklist).
pub fn top_tasks(plan: &Plan, n: usize) -> Vec<&crate::plan::PlanEntry> {
    let mut tasks = worklist(plan);
    tasks.sort_by(|a, b| {
        b.action
            .priority
            .total_cmp(&a.action.priority)
            .then(a.action.customer_id.cmp(&b.action.customer_id))
            .then(a.action_id.cmp(&b.action_id))
    });
    tasks.truncate(n);
    tasks
}

/// `EUR 1,234.50, USD 20.00`.
fn amounts(m: &std::collections::BTreeMap<String, Decimal>) -> String {
    m.iter().map(|(c, d)| format!("{c} {}", money(c, *d))).collect::<Vec<_>>().join(", ")
}

/// `d` in `code` with its minor units and thousands separators.
fn money(code: &str, d: Decimal) -> String {
    crate::engine::words::money_of(d, code)
}

fn opt2(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.2}"))
}
