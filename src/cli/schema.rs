//! `recoup schema`: the JSON Schema of policy files, for editors.

use super::Exit;
use crate::output::write_atomic;
use anyhow::Context as _;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SchemaArgs {
    /// Write the schema to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Run `recoup schema`.
pub fn run(a: SchemaArgs) -> anyhow::Result<Exit> {
    let json = crate::policy::schema::policy_schema_json();
    match &a.out {
        Some(path) => write_atomic(path, |w| writeln!(w, "{json}"))
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => writeln!(std::io::stdout().lock(), "{json}")?,
    }
    Ok(Exit::Ok)
}
