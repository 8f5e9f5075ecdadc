//! How output looks on a terminal: colour only where it is wanted (a
//! terminal, `NO_COLOR` unset, or `--color always`), and the one table style
//! every command's terminal tables use. Piped output is plain text.

use clap::ValueEnum;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--color`: when to colour the output.
#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour a stream only when it is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colour (even when piped).
    Always,
    /// Never colour.
    Never,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Whether a stream gets colour: `always` and `never` decide alone; `auto`
/// colours a terminal unless `NO_COLOR` is set to something non-empty.
pub fn decide(choice: ColorChoice, is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// Decide colour for stdout and stderr once, at start-up.
pub fn init(choice: ColorChoice) {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR");
    STDOUT.store(decide(choice, std::io::stdout().is_terminal(), no_color.as_deref()), Ordering::Relaxed);
    STDERR.store(decide(choice, std::io::stderr().is_terminal(), no_color.as_deref()), Ordering::Relaxed);
}

/// Colour on stdout?
pub fn stdout_colour() -> bool {
    STDOUT.load(Ordering::Relaxed)
}

/// Colour on stderr?
pub fn stderr_colour() -> bool {
    STDERR.load(Ordering::Relaxed)
}

/// `text` in bold red (for `error:`) when stderr is coloured.
pub fn error_word(text: &str) -> String {
    if stderr_colour() { format!("\x1b[1;31m{text}\x1b[0m") } else { text.to_string() }
}

/// `text` in bold yellow (for `warning:`) when stderr is coloured.
pub fn warning_word(text: &str) -> String {
    if stderr_colour() { format!("\x1b[1;33m{text}\x1b[0m") } else { text.to_string() }
}

/// A terminal table: a header, a rule under it, aligned columns, no
/// borders; the header bold when stdout is coloured.
pub fn table<I, S>(header: I) -> comfy_table::Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    use comfy_table::{Attribute, Cell, ContentLineStyle, LineStyle, TableStyle};
    const PLAIN: TableStyle = TableStyle::new()
        .header_lines(ContentLineStyle::none().junction(' '))
        .header_separator(LineStyle::none().fill('-').junction(' '))
        .content_lines(ContentLineStyle::none().junction(' '));
    let mut t = comfy_table::Table::new();
    t.load_style(PLAIN);
    let colour = stdout_colour();
    if colour {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    let cells: Vec<Cell> =
        header.into_iter().map(|h| if colour { h.into().add_attribute(Attribute::Bold) } else { h.into() }).collect();
    t.set_header(cells);
    t
}

/// Right-align columns `cols` (numbers).
pub fn right_align(t: &mut comfy_table::Table, cols: &[usize]) {
    for &i in cols {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
}

/// Write a table, each line indented by `indent`, without trailing padding.
pub fn write_table(out: &mut dyn Write, t: &comfy_table::Table, indent: &str) -> std::io::Result<()> {
    const RESET: &str = "\x1b[0m";
    for line in t.to_string().lines() {
        match line.trim_end().strip_suffix(RESET) {
            Some(body) => writeln!(out, "{indent}{}{RESET}", body.trim_end())?,
            None => writeln!(out, "{indent}{}", line.trim_end())?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color_unless_forced() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(decide(ColorChoice::Auto, true, None));
        assert!(decide(ColorChoice::Auto, true, empty), "an empty NO_COLOR does not count");
        assert!(!decide(ColorChoice::Auto, true, set));
        assert!(!decide(ColorChoice::Auto, false, None), "piped: plain");
        assert!(decide(ColorChoice::Always, false, set), "--color always wins");
        assert!(!decide(ColorChoice::Never, true, None));
    }
}
