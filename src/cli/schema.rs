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
    /// Write the schema to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Run `recoup schema`.
pub fn run(a: SchemaArgs) -> anyhow::Result<Exit> {
    let s = if a.tests { schema::tests_schema() } else { schema::policy_schema() };
    let json = schema::to_json(&s);
    match &a.out {
        Some(path) => write_atomic(path, |w| writeln!(w, "{json}"))
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => writeln!(std::io::stdout().lock(), "{json}")?,
    }
    Ok(Exit::Ok)
}
