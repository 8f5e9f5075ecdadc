//! `recoup check POLICY`: parse and validate a policy; every problem in one
//! pass with file:line:col, the source line, a caret and help. Exit 0 when
//! the policy is valid (warnings allowed), 3 when it is not.

use super::{Exit, ExitError, Format};
use crate::policy::{self, CompiledPolicy, Report};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The policy: a folder with policy.toml (and scripts/, templates/), or a .toml file.
    #[arg(value_name = "POLICY")]
    pub policy: PathBuf,
    /// `text` diagnostics on stderr, or one `json` document on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Also check the policy's amounts against this ledger's currencies: warn of an amount a customer
    /// of another currency would read as its own, or a currency per-currency values leave out.
    #[arg(long, value_name = "DIR")]
    pub ledger: Option<PathBuf>,
}

/// One line about a valid policy.
pub fn summary(p: &CompiledPolicy) -> String {
    let r = &p.rules;
    let steps: usize = r.ladders.iter().map(|l| l.steps.len()).sum();
    let (native, all) = p.native_share();
    format!(
        "policy `{}` {}: {} strateg{}, {} ladder(s) with {} steps, {} incentive(s), {} payment plan(s), {} limit rule(s), {} review(s); {native} of {all} expressions run natively",
        r.meta.name,
        r.meta.version,
        r.strategies.len(),
        if r.strategies.len() == 1 { "y" } else { "ies" },
        r.ladders.len(),
        steps,
        r.incentives.len(),
        r.plans.len(),
        r.limits.len(),
        r.reviews.len(),
    )
}

/// `1 error, 2 warnings`.
pub(super) fn counts(report: &Report) -> String {
    let (e, w) = (report.errors(), report.warnings());
    let plural = |n: usize, s: &str| format!("{n} {s}{}", if n == 1 { "" } else { "s" });
    format!("{}, {}", plural(e, "error"), plural(w, "warning"))
}

/// Where a report's first error is (for `--format json` error objects).
pub(super) fn first_error_at(report: &Report) -> super::Location {
    let diags = report.to_json();
    let first = diags.iter().find(|d| d.severity == crate::policy::diag::Severity::Error).or(diags.first());
    match first {
        Some(d) => super::Location {
            file: d.file.clone(),
            line: d.line.map(|l| l as u64),
            column: d.column.map(serde_json::Value::from),
        },
        None => super::Location::default(),
    }
}

/// Print a report the one way it is rendered (stderr).
pub fn print_report(report: &Report) {
    let text = report.render();
    if text.is_empty() {
    } else if super::log::json() {
        super::log::write(&text);
    } else {
        let _ = write!(std::io::stderr(), "{text}");
    }
}

/// Run `recoup check`.
pub fn run(a: CheckArgs) -> anyhow::Result<Exit> {
    let loaded = policy::load(&a.policy);
    let report = &loaded.report;
    let gaps = match (&loaded.policy, &a.ledger) {
        (Some(p), Some(dir)) => {
            let args =
                super::LedgerArgs { ledger: dir.clone(), ledger_table: Vec::new(), as_of: None, reject_bad_rows: true };
            let ledger = super::load_ledger(&args)?;
            p.rules.currency_gaps(&super::run::ledger_currencies(&ledger))
        }
        _ => Vec::new(),
    };
    let invalid = loaded.policy.is_none() || (a.deny_warnings && report.warnings() + gaps.len() > 0);
    if a.format == Format::Json {
        let doc = serde_json::json!({
            "ok": !invalid,
            "policy": loaded.policy.as_ref().map(|p| serde_json::json!({
                "name": p.name(), "version": p.version(), "hash": p.hash,
            })),
            "errors": report.errors(),
            "warnings": report.warnings() + gaps.len(),
            "diagnostics": report.to_json(),
            "currency_warnings": gaps,
        });
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(if invalid { Exit::PolicyInvalid } else { Exit::Ok });
    }
    print_report(report);
    for g in &gaps {
        super::say!("{} {g}", super::style::warning_word("warning:"));
    }
    match &loaded.policy {
        Some(p) if !invalid => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "ok: {}", summary(p))?;
            if let Some(c) = p.rules.guardrails.calendars.as_deref() {
                writeln!(out, "{}", crate::calendar::words(c))?;
            }
            print_ladders(&mut out, p)?;
            if report.warnings() > 0 {
                writeln!(out, "{}", counts(report))?;
            }
            if !gaps.is_empty() {
                writeln!(out, "{} warning(s) about the ledger's currencies", gaps.len())?;
            }
            Ok(Exit::Ok)
        }
        _ => Err(ExitError {
            code: Exit::PolicyInvalid,
            message: format!(
                "policy `{}` is invalid: {}{}",
                a.policy.display(),
                counts(report),
                if gaps.is_empty() { String::new() } else { format!(", {} currency warning(s)", gaps.len()) }
            ),
        }
        .into()),
    }
}

/// The ladders as a table: each step, when it fires, what it does, and its conditions.
fn print_ladders(out: &mut dyn Write, p: &CompiledPolicy) -> std::io::Result<()> {
    if p.rules.ladders.is_empty() {
        return Ok(());
    }
    let mut t = super::style::table(["ladder", "step", "fires at", "action", "min due", "fee", "when"]);
    for l in &p.rules.ladders {
        for s in &l.steps {
            t.add_row([
                l.id.clone(),
                format!("{}{}", s.id, if s.optional { " (optional)" } else { "" }),
                s.trigger_words(),
                s.action.as_str().to_string(),
                s.min_overdue.as_ref().map(|m| m.to_string()).unwrap_or_default(),
                if s.fee == Default::default() || s.fee.one.is_some_and(|f| f.is_zero()) {
                    String::new()
                } else {
                    s.fee.to_string()
                },
                s.when.as_ref().map(|w| w.src.clone()).unwrap_or_default(),
            ]);
        }
    }
    super::style::right_align(&mut t, &[4, 5]);
    writeln!(out)?;
    super::style::write_table(out, &t, " ")
}
