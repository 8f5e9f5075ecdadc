//! `recoup completions SHELL` and `recoup man`: shell completions and a man
//! page generated from the clap definitions (never written by hand).

use super::{Cli, Exit};
use clap::CommandFactory;
use std::io::Write;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print completions for a shell, e.g. `recoup completions bash > /etc/bash_completion.d/recoup`.
pub fn completions(a: CompletionsArgs) -> anyhow::Result<Exit> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(a.shell, &mut cmd, "recoup", &mut out);
    out.flush()?;
    Ok(Exit::Ok)
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write a page per command into DIR (recoup.1, recoup-run.1, ...) instead of printing recoup.1.
    /// A file there that is not a recoup man page is never replaced.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

/// The command's pages: recoup.1 first, then one per subcommand
/// (`recoup-run.1`, ...), as (file name, roff).
pub fn pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    for c in std::iter::once(cmd.clone()).chain(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned()) {
        let man = clap_mangen::Man::new(c);
        let mut roff = Vec::new();
        man.render(&mut roff)?;
        pages.push((man.get_filename(), roff));
    }
    Ok(pages)
}

/// Print the man page (roff), e.g. `recoup man > recoup.1`, or with
/// `--out DIR` write a page per command.
pub fn man(a: ManArgs) -> anyhow::Result<Exit> {
    let pages = pages()?;
    let Some(dir) = a.out else {
        let mut out = std::io::stdout().lock();
        out.write_all(&pages[0].1)?;
        out.flush()?;
        return Ok(Exit::Ok);
    };
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    // Refuse before writing anything: a file of the same name that recoup did not write.
    for (name, _) in &pages {
        let path = dir.join(name);
        if path.exists() && !is_recoup_page(&path) {
            eprintln!(
                "{}: {} exists and is not a recoup man page; nothing was written. Move it away or choose another --out folder.",
                super::style::error_word("error"),
                path.display()
            );
            return Ok(Exit::Usage);
        }
    }
    for (name, roff) in &pages {
        crate::output::write_atomic(&dir.join(name), |w| w.write_all(roff))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", dir.join(name).display()))?;
    }
    eprintln!(
        "wrote {} man pages to {} (try: man -l {})",
        pages.len(),
        dir.display(),
        dir.join("recoup-run.1").display()
    );
    Ok(Exit::Ok)
}

/// Whether `path` holds a man page clap_mangen wrote for recoup (its `.TH`
/// line names recoup or one of its commands).
fn is_recoup_page(path: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    text.lines().take(5).any(|l| l.starts_with(".TH recoup"))
}
