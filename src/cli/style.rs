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
/// asks anstream (the crate clap colours its help with), which colours a
/// terminal that supports it and honours `NO_COLOR`, `CLICOLOR`,
/// `CLICOLOR_FORCE` and `TERM=dumb`.
pub fn decide(choice: ColorChoice, auto: anstream::ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => auto != anstream::ColorChoice::Never,
    }
}

/// Decide colour for stdout and stderr once, at start-up.
pub fn init(choice: ColorChoice) {
    let out = anstream::AutoStream::choice(&std::io::stdout());
    let err = anstream::AutoStream::choice(&std::io::stderr());
    STDOUT.store(decide(choice, out), Ordering::Relaxed);
    STDERR.store(decide(choice, err), Ordering::Relaxed);
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

/// Whether a cell reads as a number (an amount, a count, a ratio, a date is
/// not): digits with optional sign, separators, decimals, `%`, and a
/// currency code in front (`EUR 1,250.00`); empty cells and `-` count as numbers.
pub fn is_number(cell: &str) -> bool {
    let s = cell.trim();
    let s = match s.split_once(' ') {
        Some((code, rest)) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => rest.trim(),
        _ => s,
    };
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let s = s.strip_suffix('%').unwrap_or(s);
    s.is_empty()
        || (s.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && s.bytes().all(|b| b.is_ascii_digit() || b == b',' || b == b'.'))
}

/// Right-align every column whose cells (at least one non-empty) are all numbers.
pub fn right_align_numbers(t: &mut comfy_table::Table, rows: &[Vec<String>]) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let cols: Vec<usize> = (0..width)
        .filter(|&i| {
            let cells = || rows.iter().filter_map(|r| r.get(i)).map(|c| c.trim());
            cells().any(|c| !c.is_empty()) && cells().all(is_number)
        })
        .collect();
    right_align(t, &cols);
}

/// The width terminal tables must fit: `COLUMNS` when set, else the
/// terminal's width when stdout is one; `None` (no limit) when piped, so
/// files and scripts get whole lines. Widths under 40 are taken as unknown.
pub fn table_width() -> Option<u16> {
    use std::io::IsTerminal;
    let columns = std::env::var("COLUMNS").ok().and_then(|v| v.trim().parse::<u16>().ok());
    let width = match columns {
        Some(n) => Some(n),
        None if std::io::stdout().is_terminal() => comfy_table::Table::new().width(),
        None => None,
    };
    width.filter(|&n| n >= 40)
}

/// Write a table, each line indented by `indent`, without trailing padding.
/// On a terminal (or with `COLUMNS` set) the table fits the width: long
/// cells (text, not numbers) wrap onto more lines.
pub fn write_table(out: &mut dyn Write, t: &comfy_table::Table, indent: &str) -> std::io::Result<()> {
    write_table_within(out, t, indent, table_width())
}

/// [`write_table`] for a given width (`None`: no limit).
pub fn write_table_within(
    out: &mut dyn Write,
    t: &comfy_table::Table,
    indent: &str,
    width: Option<u16>,
) -> std::io::Result<()> {
    const RESET: &str = "\x1b[0m";
    let mut t = t.clone();
    let mut hidden = 0;
    if let Some(w) = width {
        let w = w.saturating_sub(indent.len() as u16);
        let widths = t.column_max_content_widths();
        // A space either side and one between columns (the style's padding).
        let need = |cols: &[u16]| cols.iter().map(|&c| c + 3).sum::<u16>();
        if need(&widths) > w {
            // Wrap the widest column if that alone makes the table fit with
            // it at least 24 wide (a rule's `when`, a fact's meaning) ...
            let widest = (0..widths.len()).max_by_key(|&i| widths[i]).unwrap_or(0);
            let others = need(&widths) - (widths[widest] + 3);
            let constraints: Vec<comfy_table::ColumnConstraint> = if others + 27 <= w {
                let room = w - others - 3;
                (0..widths.len())
                    .map(|i| {
                        if i == widest {
                            comfy_table::ColumnConstraint::Absolute(comfy_table::Width::Fixed(room + 2))
                        } else {
                            comfy_table::ColumnConstraint::ContentWidth
                        }
                    })
                    .collect()
            } else {
                // ... else show the leading columns that fit and say how many are left out.
                let mut used = 0;
                let shown = widths.iter().take_while(|&&c| {
                    used += c + 3;
                    used <= w
                });
                let shown = shown.count().max(1);
                hidden = widths.len() - shown;
                (0..widths.len())
                    .map(|i| {
                        if i < shown {
                            comfy_table::ColumnConstraint::ContentWidth
                        } else {
                            comfy_table::ColumnConstraint::Hidden
                        }
                    })
                    .collect()
            };
            t.set_constraints(constraints);
            t.set_width(w);
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        }
    }
    for line in t.to_string().lines() {
        match line.trim_end().strip_suffix(RESET) {
            Some(body) => writeln!(out, "{indent}{}{RESET}", body.trim_end())?,
            None => writeln!(out, "{indent}{}", line.trim_end())?,
        }
    }
    if hidden > 0 {
        writeln!(
            out,
            "{indent}({hidden} more column{} left out to fit the width; a wider terminal shows them)",
            if hidden == 1 { "" } else { "s" }
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_told_from_text() {
        for n in ["12", "-3.50", "1,250.00", "EUR 1,250.00", "45%", "", "-"] {
            assert!(is_number(n), "{n:?}");
        }
        for t in ["C000117", "2026-11-16", "email", "overdue-1", "USD", "1.2.3x"] {
            assert!(!is_number(t), "{t:?}");
        }
    }

    #[test]
    fn a_wide_table_wraps_to_the_width_and_a_narrow_one_is_unchanged() {
        let mut t = table(["customer", "meaning"]);
        t.add_row(["C1", "a long explanation of what this fact means for the collector who reads it"]);
        let mut wide = Vec::new();
        write_table_within(&mut wide, &t, " ", None).unwrap();
        let wide = String::from_utf8(wide).unwrap();
        assert!(wide.lines().any(|l| l.chars().count() > 60), "{wide}");
        let mut fit = Vec::new();
        write_table_within(&mut fit, &t, " ", Some(50)).unwrap();
        let fit = String::from_utf8(fit).unwrap();
        assert!(fit.lines().all(|l| l.chars().count() <= 50), "{fit}");
        assert!(fit.lines().count() > wide.lines().count(), "the long cell wraps: {fit}");
        let mut same = Vec::new();
        write_table_within(&mut same, &t, " ", Some(200)).unwrap();
        assert_eq!(String::from_utf8(same).unwrap(), wide, "a table that fits is laid out as before");
    }

    #[test]
    fn colour_only_where_anstream_says_unless_forced() {
        use anstream::ColorChoice as A;
        assert!(decide(ColorChoice::Auto, A::Always));
        assert!(!decide(ColorChoice::Auto, A::Never), "piped, NO_COLOR or TERM=dumb: plain");
        assert!(decide(ColorChoice::Always, A::Never), "--color always wins");
        assert!(!decide(ColorChoice::Never, A::Always));
    }
}
