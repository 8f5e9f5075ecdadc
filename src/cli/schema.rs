//! `recoup schema`: the JSON Schema of policy files (or of policy test
//! files), for editors.

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
    /// Write the schema to this file (atomically) instead of stdout: a new file, or one `recoup schema` wrote.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
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
    let s = if a.tests { schema::tests_schema() } else { schema::policy_schema() };
    let json = schema::to_json(&s);
    match &a.out {
        Some(path) => write_atomic(path, |w| writeln!(w, "{json}"))
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => writeln!(std::io::stdout().lock(), "{json}")?,
    }
    Ok(Exit::Ok)
}
