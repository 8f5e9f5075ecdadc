//! `recoup test POLICY`: run the policy's own test cases (`tests/*.toml`) and
//! print pass/fail with a diff of expected and planned actions. Exit 0 when
//! every case passes, 6 when one fails, 3 when the policy or a test file is
//! invalid.

use super::check::print_report;
use super::{Exit, ExitError, Format};
use crate::policy::{self, cases};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The policy: a folder with policy.toml and tests/*.toml.
    #[arg(value_name = "POLICY")]
    pub policy: PathBuf,
    /// Only cases whose name contains this.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// `text` results, or one `json` document on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `recoup test`.
pub fn run(a: TestArgs) -> anyhow::Result<Exit> {
    let loaded = policy::load(&a.policy);
    let Some(p) = loaded.policy else {
        print_report(&loaded.report);
        return Err(ExitError {
            code: Exit::PolicyInvalid,
            message: format!(
                "policy `{}` is invalid: {}; fix it before testing it",
                a.policy.display(),
                super::check::counts(&loaded.report)
            ),
        }
        .into());
    };
    let dir = policy::policy_dir(&a.policy);
    let run = cases::run_tests(&p, &dir, a.filter.as_deref());
    let invalid = run.report.errors() > 0;
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        let doc = serde_json::json!({
            "policy": { "name": p.name(), "version": p.version() },
            "passed": run.passed(),
            "failed": run.failed(),
            "cases": run.cases,
            "diagnostics": run.report.to_json(),
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        print_report(&run.report);
        write!(out, "{}", cases::render(&run))?;
    }
    if invalid {
        return Err(ExitError { code: Exit::PolicyInvalid, message: "a test file is invalid".into() }.into());
    }
    if run.cases.is_empty() {
        super::say!("no test cases in {}", dir.join("tests").display());
    }
    if run.failed() > 0 {
        return Err(ExitError {
            code: Exit::TestsFailed,
            message: format!("{} of {} policy test(s) failed", run.failed(), run.cases.len()),
        }
        .into());
    }
    Ok(Exit::Ok)
}
