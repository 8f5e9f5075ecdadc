//! `recoup schema`: the JSON Schema of policy files (or of policy test
//! files), for editors; with `--output NAME`, the schema of one of recoup's
//! machine outputs (docs/output.md, docs/schemas/).

use super::Exit;
use crate::output::write_atomic;
use crate::policy::schema;
use anyhow::Context as _;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SchemaArgs {
    /// The schema of policy test files (tests/*.toml) instead of policy.toml.
    #[arg(long)]
    pub tests: bool,
    /// The schema of a machine output instead (summary, manifest, plan, worklist, facts, explain, error;
    /// `--list-outputs` lists them).
    #[arg(long, value_name = "NAME", conflicts_with = "tests")]
    pub output: Option<String>,
    /// List the machine outputs `--output` knows, with the file each describes.
    #[arg(long, conflicts_with_all = ["tests", "output", "out"])]
    pub list_outputs: bool,
    /// Write the schema to this file (atomically) instead of stdout: a new file, or one `recoup schema` wrote.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The schemas of the machine outputs: name, what it describes, the schema
/// (docs/schemas/NAME.schema.json). A new output is one line here.
pub const OUTPUTS: &[(&str, &str, &str)] = &[
    ("summary", "summary.json", include_str!("../../docs/schemas/summary.schema.json")),
    ("manifest", "manifest.json", include_str!("../../docs/schemas/manifest.schema.json")),
    ("plan", "one line of plan.jsonl", include_str!("../../docs/schemas/plan.schema.json")),
    ("worklist", "one row of worklist.csv", include_str!("../../docs/schemas/worklist.schema.json")),
    ("facts", "recoup facts --format json", include_str!("../../docs/schemas/facts.schema.json")),
    ("explain", "recoup explain --format json", include_str!("../../docs/schemas/explain.schema.json")),
    ("error", "the error object of --format json", include_str!("../../docs/schemas/error.schema.json")),
    ("comparison", "comparison.json of recoup simulate", include_str!("../../docs/schemas/comparison.schema.json")),
    ("forward", "forward.json of recoup simulate --horizon", include_str!("../../docs/schemas/forward.schema.json")),
];

/// The schema of the machine output called `name`.
pub fn output_schema(name: &str) -> Option<&'static str> {
    OUTPUTS.iter().find(|o| o.0 == name).map(|o| o.2)
}

/// Whether `bytes` is a schema `recoup schema` wrote: JSON titled `recoup ...`.
fn is_schema(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("title").and_then(|t| t.as_str()).map(|t| t.starts_with("recoup ")))
        .unwrap_or(false)
}

/// Run `recoup schema`.
pub fn run(a: SchemaArgs) -> anyhow::Result<Exit> {
    if let Some(path) = &a.out {
        crate::output::check_file(path, "recoup schema", &[], is_schema).map_err(super::out_failed)?;
    }
    if a.list_outputs {
        let mut out = std::io::stdout().lock();
        for (name, what, _) in OUTPUTS {
            writeln!(out, "{name:<10} {what}")?;
        }
        return Ok(Exit::Ok);
    }
    let json = match &a.output {
        Some(name) => match output_schema(name) {
            Some(text) => text.trim_end().to_string(),
            None => {
                let names: Vec<&str> = OUTPUTS.iter().map(|o| o.0).collect();
                return Err(super::ExitError {
                    code: Exit::Usage,
                    message: format!(
                        "no machine output is called `{name}`\n  = help: --output takes one of {}",
                        names.join(", ")
                    ),
                }
                .into());
            }
        },
        None => schema::to_json(&if a.tests { schema::tests_schema() } else { schema::policy_schema() }),
    };
    match &a.out {
        Some(path) => write_atomic(path, |w| writeln!(w, "{json}"))
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => writeln!(std::io::stdout().lock(), "{json}")?,
    }
    Ok(Exit::Ok)
}
