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

/// Print the man page (roff), e.g. `recoup man > recoup.1`.
pub fn man() -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()?;
    Ok(Exit::Ok)
}
