//! `recoup simulate`: a baseline and variant policies on one ledger — today's
//! side-by-side comparison and per-customer diff, written atomically into
//! `--out`, and a terminal table (or comparison.json on stdout).

use super::run::compiled_policy;
use super::{Exit, ExitError, Format, LedgerArgs, as_of_or_today, load_ledger, report_problems, say, style};
use crate::facts::Context;
use crate::output::{Input, Kind, OutputSet};
use crate::policy::CompiledPolicy;
use crate::simulate::backtest::{
    Backtest, ORIGIN_EVERY_DAYS, Rolling, backtest_from, check_horizon, origins, truncate,
};
use crate::simulate::project::{Projection, RollRateCheck, Scenario, project_share_in_place};
use crate::simulate::sweep::{self, Sweep};
use crate::simulate::write::{
    BACKTEST_FILES, ComparisonDoc, ComparisonJson, FILES, FORWARD_FILES, ForwardDoc, ForwardJson, backtest_json,
    print_backtest, print_forward, print_roll_rates, table_cells, write_simulation,
};
use crate::simulate::{Candidate, arms, compare, shard as sim_shard};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The policy in force today: a folder with policy.toml, or a .toml file.
    #[arg(long, value_name = "POLICY", required_unless_present = "arms")]
    pub baseline: Option<PathBuf>,
    /// A policy to compare with the baseline (repeat for several).
    #[arg(long, value_name = "POLICY", required_unless_present_any = ["backtest", "sweep", "arms"])]
    pub variant: Vec<PathBuf>,
    /// Champion/challenger: compare the arms recorded in actions.csv (its
    /// `arm` column) — customers, actions, cure rate, cash collected and days
    /// to pay within --days of each invoice's first action (arms.csv,
    /// arms.json with --out). No policy is needed.
    #[arg(long, conflicts_with_all = ["baseline", "variant", "sweep", "backtest", "horizon"])]
    pub arms: bool,
    /// With --arms: the window after an invoice's first action, in days.
    #[arg(long, default_value_t = 60, requires = "arms", value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Sweep one value of the baseline: `KEY=V1,V2,...`, KEY a dotted path
    /// into its policy.toml (array elements by id, e.g.
    /// `ladder.standard.step.agency.days_past_due=60,90,120`); each value is
    /// a variant labelled `KEY=V`, and sweep.csv shows the trade-off.
    #[arg(long, value_name = "KEY=V1,V2,...", value_parser = Sweep::parse)]
    pub sweep: Option<Sweep>,
    /// Back-test: cut the ledger back to --as-of (a past date), project the
    /// baseline over --horizon from there, and compare its weekly cash
    /// collected with what the ledger records for those weeks
    /// (backtest.csv, backtest.json).
    #[arg(long, requires = "horizon")]
    pub backtest: bool,
    /// With --backtest: back-test from this many as-of dates, 4 weeks
    /// apart, the last one --as-of, and print the mean of their scores
    /// (backtest_origins.csv; `rolling` in backtest.json).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "backtest",
          value_parser = clap::value_parser!(u32).range(1..=60))]
    pub backtest_origins: u32,
    /// Output folder: comparison.json, comparison.csv, diff.csv, diff.jsonl, rollrates.csv
    /// (with --arms: arms.csv, arms.json; optional). A new or empty folder, or one `recoup simulate`
    /// wrote before, replaced as a whole, atomically; never an input or a folder of other files.
    #[arg(long, value_name = "DIR", required_unless_present = "arms")]
    pub out: Option<PathBuf>,
    /// Project each policy forward day by day over this span, with its unit:
    /// `13w` (weeks), `90d` (days) or `3m` (calendar months from the as-of
    /// date). Without it, only today's comparison.
    #[arg(long, value_name = "SPAN", value_parser = parse_horizon)]
    pub horizon: Option<Span>,
    /// Monte Carlo runs per policy (with --horizon).
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
    /// Seed of the projection: the same seed gives the same outputs.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Scenario file (TOML): response assumptions and outcome parameters;
    /// every key has a documented default (docs/simulation.md).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// With --horizon: evaluate every customer on every simulated day, instead
    /// of only those something happened to or whose policy thresholds were
    /// crossed (the same result on the shipped policies; slower, for checking).
    #[arg(long)]
    pub every_day: bool,
    /// Worker threads (default: all cores). The outputs are the same at any count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Project only shard I of N (0-based) of the --runs runs (a block of run
    /// numbers) and write them (runs.json) and shard.json beside today's
    /// comparison; `recoup merge` combines the N folders into the outputs of
    /// one unsharded simulation, byte for byte (docs/scale-out.md).
    #[arg(long, value_name = "I/N", requires = "horizon", conflicts_with_all = ["backtest", "sweep", "arms"])]
    pub shard: Option<crate::plan::Shard>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// The terminal comparison as a table, or comparison.json on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A `--horizon`: a number of days, weeks or calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Days(u32),
    Weeks(u32),
    Months(u32),
}

impl Span {
    /// The span in days from `from` (months are calendar months: 3 months
    /// from 2026-11-16 end on 2027-02-16, 92 days).
    pub fn days(self, from: chrono::NaiveDate) -> u32 {
        match self {
            Span::Days(n) => n,
            Span::Weeks(n) => n * 7,
            Span::Months(n) => from
                .checked_add_months(chrono::Months::new(n))
                .map_or(n * 31, |end| u32::try_from((end - from).num_days()).unwrap_or(n * 31)),
        }
    }
}

/// `13w` → 13 weeks, `90d` → 90 days, `3m` → 3 months; a bare number is
/// refused (is `13` days or weeks?), as is more than 10 years.
fn parse_horizon(s: &str) -> Result<Span, String> {
    let t = s.trim().to_ascii_lowercase();
    let bad = || format!("expected a span with its unit, such as `13w`, `90d` or `3m` (at most 10 years), got `{s}`");
    if let Ok(n) = t.parse::<u32>() {
        return Err(format!(
            "`{s}` has no unit: write `{n}d` for {n} days, `{n}w` for {n} weeks or `{n}m` for {n} months"
        ));
    }
    let Some(unit) = t.chars().last() else { return Err(bad()) };
    let num = &t[..t.len() - unit.len_utf8()];
    let (make, most): (fn(u32) -> Span, u32) = match unit {
        'd' => (Span::Days, 3660),
        'w' => (Span::Weeks, 3660 / 7),
        'm' => (Span::Months, 120),
        _ => return Err(bad()),
    };
    match num.trim().parse::<u32>() {
        Ok(n) if n > 0 && n <= most => Ok(make(n)),
        _ => Err(bad()),
    }
}

/// Run `recoup simulate`.
pub fn run(a: SimulateArgs) -> anyhow::Result<Exit> {
    super::with_threads(a.threads, || run_in_pool(&a))
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
    if a.arms {
        return run_arms(a);
    }
    let (Some(baseline), Some(out_dir)) = (&a.baseline, &a.out) else {
        return Err(ExitError { code: Exit::Usage, message: "simulate needs --baseline and --out".into() }.into());
    };
    let as_of = as_of_or_today(a.ledger.as_of);
    if let Some(sh) = a.shard
        && sh.count > a.runs.max(1)
    {
        return Err(ExitError {
            code: Exit::Usage,
            message: format!(
                "--shard {sh}: {} shards for {} runs would leave a shard without runs; give at most {} shards or more --runs",
                sh.count,
                a.runs.max(1),
                a.runs.max(1)
            ),
        }
        .into());
    }
    let mut paths: Vec<&PathBuf> = std::iter::once(baseline).chain(&a.variant).collect();
    // Lock the output folder first: a folder recoup may not replace is refused before any work.
    let mut inputs: Vec<Input<'_>> = vec![("ledger folder", a.ledger.ledger.as_path())];
    inputs.extend(paths.iter().map(|p| ("policy", p.as_path())));
    if let Some(s) = &a.scenario {
        inputs.push(("scenario", s.as_path()));
    }
    let set = OutputSet::create(out_dir, Kind::Simulation, &inputs).map_err(super::out_failed)?;
    let mut spinner = super::Progress::start(a.quiet);
    spinner.stage("compiling the policies, loading the ledger, comparing today's plans");
    let mut policies = paths.iter().map(|p| compiled_policy(p, a.quiet)).collect::<anyhow::Result<Vec<_>>>()?;
    let mut labels = labels(&policies);
    if let Some(sw) = &a.sweep {
        let file = crate::policy::policy_file(baseline);
        let text = std::fs::read_to_string(&file).map_err(|e| ExitError {
            code: Exit::PolicyInvalid,
            message: format!("cannot read `{}`: {e}", file.display()),
        })?;
        for v in &sw.values {
            let edited = sweep::set(&text, &sw.key, v).map_err(|message| ExitError { code: Exit::Usage, message })?;
            let loaded = crate::policy::load_with_text(baseline, edited);
            let Some(p) = loaded.policy else {
                super::check::print_report(&loaded.report);
                return Err(ExitError {
                    code: Exit::PolicyInvalid,
                    message: format!(
                        "--sweep {}: the policy is invalid with this value; nothing was written",
                        sw.label(v)
                    ),
                }
                .into());
            };
            policies.push(p);
            labels.push(sw.label(v));
            paths.push(baseline);
        }
    }
    let loaded = load_ledger(&a.ledger)?;
    let (mut ledger, full) = if a.backtest {
        let Some(past) = a.ledger.as_of else {
            return Err(ExitError { code: Exit::Usage, message: "--backtest needs --as-of PAST_DATE".into() }.into());
        };
        check_horizon(&loaded, past, a.horizon.map_or(0, |h| h.days(past)))
            .map_err(|message| ExitError { code: Exit::Usage, message })?;
        let write_off = i64::from(crate::simulate::RollRateConfig::default().write_off_after_days);
        (truncate(&loaded, past, write_off), Some(loaded))
    } else {
        (loaded, None)
    };
    // The baseline's `[kpis]` settings: every policy's figures are computed alike, so they compare.
    let ctx = Context::new(as_of, policies[0].rules.kpis.clone());
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
                "{} policy `{}`: customer `{}` skipped: {} `{}` failed: {}",
                style::warning_word("warning:"),
                run.label,
                e.customer_id,
                e.rule_kind.words(),
                e.rule_id,
                e.message
            );
        }
    }
    let forward = match a.horizon.map(|h| h.days(as_of)) {
        Some(days) => {
            let scenario = match &a.scenario {
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| ExitError {
                        code: Exit::Usage,
                        message: format!("cannot read scenario `{}`: {e}", path.display()),
                    })?;
                    Scenario::parse(&text).map_err(|e| ExitError {
                        code: Exit::Usage,
                        message: format!("invalid scenario `{}`: {e}", path.display()),
                    })?
                }
                None => Scenario::default(),
            };
            let stall: Vec<f64> = comparison.roll_rates.as_ref().map(|rr| rr.matrix.paid_rates()).unwrap_or_default();
            let p = Projection { days, runs: a.runs.max(1), seed: a.seed, scenario, every_day: a.every_day };
            let named: Vec<(&str, &CompiledPolicy)> = labels.iter().map(String::as_str).zip(&policies).collect();
            drop(std::mem::replace(&mut spinner, super::Progress::start(true)));
            let share = a.shard.map_or(0..p.runs, |sh| sim_shard::share(sh, p.runs));
            let bar = super::Progress::bar(a.quiet, share.len() as u64 * named.len() as u64, "projecting runs");
            let mut f = project_share_in_place(&mut ledger, &named, as_of, &p, &stall, share, &|| bar.inc(1))
                .map_err(|e| ExitError { code: Exit::Failed, message: format!("{e}; nothing was written") })?;
            drop(bar);
            if let Ok(rr) = &comparison.roll_rates {
                let edges = &ctx.config.bucket_edges;
                f.roll_rate_check = compare::balances_by_currency(&ledger, as_of, edges)
                    .iter()
                    .map(|(code, balances)| RollRateCheck::of(&rr.matrix, code, balances, days))
                    .collect();
            }
            f.reporting = policies.first().and_then(|p| p.rules.reporting.clone());
            Some(f)
        }
        None => None,
    };
    drop(spinner);
    let mut backtest = match (&full, &forward) {
        (Some(full), Some(f)) => Backtest::all(f, &ledger, full),
        _ => Vec::new(),
    };
    if let (Some(first), Some(full), Some(f)) = (backtest.first(), &full, &forward)
        && a.backtest_origins > 1
    {
        let p = Projection {
            days: f.days,
            runs: f.runs,
            seed: f.seed,
            scenario: f.scenario.clone(),
            every_day: a.every_day,
        };
        let dates = origins(first.as_of, a.backtest_origins, ORIGIN_EVERY_DAYS);
        let bar = super::Progress::bar(a.quiet, u64::from(a.backtest_origins - 1), "back-testing earlier as-of dates");
        // The scores of each origin, per currency (matched by code: an
        // earlier origin may lack a currency that had no customers yet).
        let mut scores: Vec<Vec<_>> = vec![Vec::new(); backtest.len()];
        for &d in &dates[..dates.len() - 1] {
            let earlier = backtest_from(full, &labels[0], &policies[0], d, &p).map_err(|e| ExitError {
                code: Exit::Failed,
                message: format!(
                    "back-test from {d} (one of {} as-of dates 4 weeks apart): {e}; use a later --as-of or fewer --backtest-origins; nothing was written",
                    a.backtest_origins
                ),
            })?;
            for (b, s) in backtest.iter().zip(&mut scores) {
                if let Some(e) = earlier.iter().find(|e| e.currency == b.currency) {
                    s.push(e.scores());
                }
            }
            bar.inc(1);
        }
        drop(bar);
        for (b, mut s) in backtest.iter_mut().zip(scores) {
            s.push(b.scores());
            b.rolling = Some(Rolling::of(ORIGIN_EVERY_DAYS, s));
        }
    }
    if let (Some(sh), Some(f)) = (a.shard, &forward) {
        let ids = policies
            .iter()
            .zip(&labels)
            .map(|(p, l)| sim_shard::PolicyId { label: l.clone(), blake3: p.hash.clone() })
            .collect();
        let id = sim_shard::Identity::new(
            as_of,
            &ledger.report.hashes,
            ids,
            &f.scenario,
            f.seed,
            f.runs,
            f.days,
            a.every_day,
        );
        sim_shard::write_shard(set, &comparison, f, sh, id).map_err(super::out_failed)?;
        return shard_done(a, &ledger, &comparison, sh, f, out_dir);
    }
    write_simulation(set, &comparison, forward.as_ref(), &backtest, a.sweep.as_ref()).map_err(super::out_failed)?;
    if !ledger.report.rejects.is_empty() {
        report_problems(&ledger.report.rejects, &ledger.report, &a.ledger.ledger, "rejected row");
    }
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        // One shape with or without --horizon: comparison.json, forward.json
        // (null without a projection) and the back-tests (null without --backtest).
        #[derive(serde::Serialize)]
        struct Doc {
            comparison: ComparisonDoc,
            forward: Option<ForwardDoc>,
            backtest: Option<serde_json::Value>,
        }
        let v = Doc {
            comparison: ComparisonJson::of(&comparison).value(),
            forward: forward.as_ref().map(|f| ForwardJson::of(f).value()),
            backtest: (!backtest.is_empty()).then(|| backtest_json(&backtest)),
        };
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else if !a.quiet {
        print_comparison(&mut out, &comparison)?;
        print_roll_rates(&mut out, &comparison)?;
        let mut files = FILES.to_vec();
        if let Some(f) = &forward {
            print_forward(&mut out, f)?;
            files.extend(FORWARD_FILES);
        }
        if !backtest.is_empty() {
            print_backtest(&mut out, &backtest)?;
            files.extend(BACKTEST_FILES);
            if backtest.iter().any(|b| b.rolling.is_some()) {
                files.push("backtest_origins.csv");
            }
        }
        if a.sweep.is_some() {
            files.push("sweep.csv");
        }
        writeln!(out, "  wrote {} to {}", files.join(", "), out_dir.display())?;
    }
    Ok(if ledger.report.rejects.is_empty() { Exit::Ok } else { Exit::RowsRejected })
}

/// What a simulation shard prints once its folder is written: today's
/// comparison (the same in every shard) and which runs it projected — not
/// their bands, which are the merge's to give.
fn shard_done(
    a: &SimulateArgs,
    ledger: &crate::ledger::Ledger,
    comparison: &crate::simulate::Comparison,
    sh: crate::plan::Shard,
    f: &crate::simulate::project::Forward,
    out_dir: &std::path::Path,
) -> anyhow::Result<Exit> {
    if !ledger.report.rejects.is_empty() {
        report_problems(&ledger.report.rejects, &ledger.report, &a.ledger.ledger, "rejected row");
    }
    let share = sim_shard::share(sh, f.runs);
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        let v = serde_json::json!({
            "comparison": ComparisonJson::of(comparison).value(),
            "shard": sh.to_string(),
            "runs": { "first": share.start, "end": share.end, "of": f.runs },
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else if !a.quiet {
        print_comparison(&mut out, comparison)?;
        writeln!(
            out,
            "  shard {sh}: projected runs {} to {} of {} ({} weeks, seed {}); the bands and verdicts come from `recoup merge --out DIR` over the {} shard folders",
            share.start,
            share.end.saturating_sub(1),
            f.runs,
            f.week_ends.len(),
            f.seed,
            sh.count
        )?;
        let mut files = FILES.to_vec();
        files.extend([sim_shard::RUNS_FILE, sim_shard::SHARD_FILE]);
        writeln!(out, "  wrote {} to {}", files.join(", "), out_dir.display())?;
    }
    Ok(if ledger.report.rejects.is_empty() { Exit::Ok } else { Exit::RowsRejected })
}

/// `recoup simulate --arms`: the arms of the action history.
fn run_arms(a: &SimulateArgs) -> anyhow::Result<Exit> {
    let as_of = as_of_or_today(a.ledger.as_of);
    let inputs = [("ledger folder", a.ledger.ledger.as_path())];
    let set = match &a.out {
        Some(dir) => Some(OutputSet::create(dir, Kind::Arms, &inputs).map_err(super::out_failed)?),
        None => None,
    };
    let ledger = load_ledger(&a.ledger)?;
    let report = arms::arms(&ledger, as_of, a.days);
    if let Some(set) = set {
        set.write("arms.csv", |w| arms::arms_csv(w, &report))
            .and_then(|()| {
                set.write("arms.json", |w| {
                    serde_json::to_writer_pretty(&mut *w, &report)?;
                    w.write_all(b"\n")
                })
            })
            .and_then(|()| set.commit())
            .map_err(super::out_failed)?;
    }
    if !ledger.report.rejects.is_empty() {
        report_problems(&ledger.report.rejects, &ledger.report, &a.ledger.ledger, "rejected row");
    }
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else if !a.quiet {
        writeln!(out, "champion/challenger as of {}, within {} days of each invoice's first action\n", as_of, a.days)?;
        let mut t = style::table(arms::ARMS_COLUMNS);
        for r in arms::arms_cells(&report) {
            t.add_row(&r);
        }
        style::right_align(&mut t, &(1..arms::ARMS_COLUMNS.len()).collect::<Vec<_>>());
        style::write_table(&mut out, &t, " ")?;
        if report.arms.is_empty() {
            writeln!(out, "  no actions on or before {as_of}")?;
        }
        if let Some(dir) = &a.out {
            writeln!(out, "\n  wrote arms.csv, arms.json to {}", dir.display())?;
        }
    }
    Ok(if ledger.report.rejects.is_empty() { Exit::Ok } else { Exit::RowsRejected })
}

/// The comparison as a terminal table (numbers right-aligned).
fn print_comparison(out: &mut dyn Write, c: &crate::simulate::Comparison) -> std::io::Result<()> {
    let (title, heads, rows, after) = table_cells(c);
    writeln!(out, "{title}\n")?;
    let mut t = style::table(&heads);
    for r in &rows {
        t.add_row(r);
    }
    let numbers: Vec<usize> = (1..heads.len()).collect();
    style::right_align(&mut t, &numbers);
    style::write_table(out, &t, " ")?;
    writeln!(out)?;
    for line in after {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// Each unit in days: weeks of 7, calendar months from the as-of date
    /// (to the same day of the month, or the month's last day).
    #[test]
    fn a_horizon_is_days_weeks_or_calendar_months() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(parse_horizon("13w"), Ok(Span::Weeks(13)));
        assert_eq!(parse_horizon(" 90D "), Ok(Span::Days(90)));
        assert_eq!(parse_horizon("3m"), Ok(Span::Months(3)));
        assert!(parse_horizon("13").unwrap_err().contains("has no unit"));
        assert_eq!(Span::Weeks(13).days(d(2026, 11, 16)), 91);
        assert_eq!(Span::Days(90).days(d(2026, 11, 16)), 90);
        // 2026-11-16 → 2027-02-16: 14 + 31 + 31 + 16 days.
        assert_eq!(Span::Months(3).days(d(2026, 11, 16)), 92);
        // 2027-01-31 → 2027-02-28.
        assert_eq!(Span::Months(1).days(d(2027, 1, 31)), 28);
        // Ten years with the leap days of 2028, 2032 and 2036.
        assert_eq!(Span::Months(120).days(d(2026, 11, 16)), 3653);
    }
}
