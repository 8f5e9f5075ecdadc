//! `recoup init DIR`: scaffold a starter policy folder — policy.toml with a
//! small ladder, a rhai script, templates and policy tests — that passes
//! `recoup check --deny-warnings` and `recoup test` as created.

use super::{Exit, ExitError};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The folder to create (it must not exist, or be empty).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// The files of a starter policy, relative to its folder.
pub const FILES: [(&str, &str); 5] = [
    ("policy.toml", include_str!("init/policy.toml")),
    ("scripts/priority.rhai", include_str!("init/scripts/priority.rhai")),
    ("templates/overdue-1.md", include_str!("init/templates/overdue-1.md")),
    ("templates/final-demand.md", include_str!("init/templates/final-demand.md")),
    ("tests/ladder.toml", include_str!("init/tests/ladder.toml")),
];

/// The policy's JSON Schema, written beside it (`recoup schema` prints the same).
pub const SCHEMA_FILE: &str = "policy.schema.json";
/// The first line of a new policy.toml: taplo's schema directive.
pub const SCHEMA_LINE: &str = "#:schema ./policy.schema.json";

/// Run `recoup init`.
pub fn run(a: InitArgs) -> anyhow::Result<Exit> {
    let dir = &a.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(ExitError {
            code: Exit::Usage,
            message: format!("`{}` is a file, not a folder; nothing was written", dir.display()),
        }
        .into());
    }
    if let Some(first) = first_entry(dir)? {
        return Err(ExitError {
            code: Exit::Usage,
            message: format!(
                "`{}` is not empty (it holds `{first}`); nothing was written\n  = help: give a new folder, e.g. `recoup init policies/mine`",
                dir.display()
            ),
        }
        .into());
    }
    // The files are written into a staging folder swapped in whole: a full
    // disk or a kill leaves no half policy that would block a retry.
    let set = crate::output::OutputSet::create_unmarked(dir, crate::output::Kind::Policy).map_err(super::out_failed)?;
    for (rel, text) in FILES {
        // policy.toml opens with the `#:schema` line editors (taplo: VS Code's
        // Even Better TOML, Helix, Zed) read to check it while it is typed.
        let text = if rel == "policy.toml" { format!("{SCHEMA_LINE}\n{text}") } else { text.to_string() };
        set.write(rel, |w| w.write_all(text.as_bytes())).map_err(super::out_failed)?;
    }
    let schema = crate::policy::schema::to_json(&crate::policy::schema::policy_schema());
    set.write(SCHEMA_FILE, |w| writeln!(w, "{schema}")).map_err(super::out_failed)?;
    set.commit().map_err(super::out_failed)?;
    let shown = dir.display();
    let mut out = std::io::stdout().lock();
    writeln!(out, "created a starter policy in {shown}:")?;
    for (rel, _) in FILES {
        writeln!(out, "  {rel}")?;
    }
    writeln!(out, "  {SCHEMA_FILE}    (policy.toml's `#:schema`: editors check keys as you type)")?;
    writeln!(out, "\nnext:")?;
    writeln!(out, "  recoup check {shown} --deny-warnings    # validate it")?;
    writeln!(out, "  recoup test {shown}                     # run its tests (tests/*.toml)")?;
    writeln!(out, "  recoup run --ledger LEDGER --policy {shown} --out out")?;
    Ok(Exit::Ok)
}

/// The name of one entry of `dir`, if it exists and is not empty.
fn first_entry(dir: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut names = entries.map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()));
            let first = names.try_fold(None::<String>, |min, name| {
                name.map(|n| Some(min.map_or(n.clone(), |m: String| m.min(n))))
            })?;
            Ok(first)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot read `{}`", dir.display()))),
    }
}
