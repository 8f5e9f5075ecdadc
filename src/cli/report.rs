//! `recoup report`: one self-contained HTML page from the output folder of
//! `recoup run` or `recoup simulate`, written atomically.

use super::{Exit, ExitError};
use crate::report::{self, ReportError};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["run", "simulation"])))]
pub struct ReportArgs {
    /// The output folder of `recoup run` (summary.json, manifest.json, plan.csv, worklist.csv).
    #[arg(long, value_name = "OUT_DIR")]
    pub run: Option<PathBuf>,
    /// The output folder of `recoup simulate` (comparison.json, diff.jsonl, forward.json when projected).
    #[arg(long, value_name = "SIM_DIR")]
    pub simulation: Option<PathBuf>,
    /// With --run: the ledger folder the run read, when it is not where manifest.json says (the
    /// trends, the receipts forecast and the debtor lists read it; its files must be the run's).
    #[arg(long, value_name = "DIR", requires = "run")]
    pub ledger: Option<PathBuf>,
    /// The HTML file to write (default: report.html in the folder read): a new file, or a report recoup wrote.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn exit(e: ReportError) -> anyhow::Error {
    let code = if e.is_input() { Exit::InputInvalid } else { Exit::Failed };
    ExitError { code, message: e.to_string() }.into()
}

/// Run `recoup report`.
pub fn run(a: ReportArgs) -> anyhow::Result<Exit> {
    // A report replaces only a report: never the run's own files, nor a file recoup did not write.
    if let Some(dir) = a.run.as_ref().or(a.simulation.as_ref()) {
        let out = a.out.clone().unwrap_or_else(|| dir.join("report.html"));
        let ours = |b: &[u8]| b.starts_with(report::html::HEAD.as_bytes());
        crate::output::check_file(&out, "recoup report", &[], ours).map_err(super::out_failed)?;
    }
    let mut receipts = None;
    let (dir, html) = match (&a.run, &a.simulation) {
        (Some(dir), _) => {
            let r = report::run::load(dir, a.ledger.as_deref()).map_err(exit)?;
            let out = a.out.clone().unwrap_or_else(|| dir.join("report.html"));
            match &r.history {
                // receipts.csv beside the report: a new file, or one recoup wrote.
                Ok(h) => {
                    let path = out.parent().unwrap_or(std::path::Path::new(".")).join("receipts.csv");
                    let head = report::run::RECEIPTS_HEADER.join(",");
                    let ours = |b: &[u8]| b.starts_with(head.as_bytes());
                    crate::output::check_file(&path, "recoup report", &[], ours).map_err(super::out_failed)?;
                    let as_of = r.manifest.as_of.unwrap_or_default();
                    let csv = report::run::receipts_csv(&h.today, as_of);
                    report::write(&path, &csv).map_err(exit)?;
                    receipts = Some(path);
                }
                Err(why) => {
                    super::say!(
                        "warning: the report leaves out the trends, the receipts forecast and the debtor and risk lists: {why}"
                    );
                }
            }
            (dir, report::run::render(dir, &r))
        }
        (None, Some(dir)) => {
            (dir, report::simulation::load(dir).map(|s| report::simulation::render(dir, &s)).map_err(exit)?)
        }
        (None, None) => {
            return Err(ExitError { code: Exit::Usage, message: "give --run or --simulation".into() }.into());
        }
    };
    let out = a.out.clone().unwrap_or_else(|| dir.join("report.html"));
    report::write(&out, &html).map_err(exit)?;
    let _ = writeln!(std::io::stdout(), "wrote {}", out.display());
    if let Some(path) = receipts {
        let _ = writeln!(std::io::stdout(), "wrote {}", path.display());
    }
    Ok(Exit::Ok)
}
