//! Diagnostics of policy files: one type for every problem `check` finds,
//! rendered one way (STYLE.md §5) as text with a caret under the spot, or as
//! JSON for tooling. Spans are byte ranges into a [`Sources`] file; positions
//! inside rhai expressions are mapped back through the TOML string escapes.

use serde::Serialize;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Error or warning. Warnings never make a policy invalid (unless the caller
/// asks to deny them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// What kind of problem: stable words for tests and `--format json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// A file could not be read.
    Io,
    /// The TOML itself does not parse.
    TomlSyntax,
    /// A key the policy language does not have.
    UnknownKey,
    /// A value of the wrong type (a string where a number goes, ...).
    WrongType,
    /// A required key is absent.
    MissingKey,
    /// A value of the right type that is not allowed (a negative day count, ...).
    InvalidValue,
    /// Two rules of one kind share an id.
    DuplicateId,
    /// A reference to an id that does not exist (a strategy's ladder).
    UnknownReference,
    /// An expression reads a fact that does not exist.
    UnknownFact,
    /// An expression reads `invoice.*` where no invoice is in scope.
    FactNotAvailable,
    /// An expression calls a function that does not exist.
    UnknownFunction,
    /// rhai could not parse an expression or script.
    RhaiSyntax,
    /// An expression of the wrong type (`when` that is not true/false, ...).
    ExpressionType,
    /// A script failed while being loaded.
    ScriptError,
    /// Steps out of order.
    StepOrder,
    /// A rule that can never fire.
    NeverFires,
    /// Two steps that trigger at the same point.
    Overlap,
    /// A referral step placed before a dunning step it should follow.
    ReferralBeforeStep,
    /// A limit rule whose floor is above its cap.
    FloorAboveCap,
    /// A step that sends something with no template, or a template that does not exist.
    MissingTemplate,
    /// A message template reads a field its rule does not have, or does not parse.
    TemplateField,
    /// Something defined and never used.
    Unused,
    /// A choice that is probably not what was meant.
    Suspicious,
}

impl Code {
    /// The word shown in JSON and used by tests.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::TomlSyntax => "toml-syntax",
            Code::UnknownKey => "unknown-key",
            Code::WrongType => "wrong-type",
            Code::MissingKey => "missing-key",
            Code::InvalidValue => "invalid-value",
            Code::DuplicateId => "duplicate-id",
            Code::UnknownReference => "unknown-reference",
            Code::UnknownFact => "unknown-fact",
            Code::FactNotAvailable => "fact-not-available",
            Code::UnknownFunction => "unknown-function",
            Code::RhaiSyntax => "rhai-syntax",
            Code::ExpressionType => "expression-type",
            Code::ScriptError => "script-error",
            Code::StepOrder => "step-order",
            Code::NeverFires => "never-fires",
            Code::Overlap => "overlap",
            Code::ReferralBeforeStep => "referral-before-step",
            Code::FloorAboveCap => "floor-above-cap",
            Code::MissingTemplate => "missing-template",
            Code::TemplateField => "template-field",
            Code::Unused => "unused",
            Code::Suspicious => "suspicious",
        }
    }
}

/// Index of a file in [`Sources`].
pub type FileId = usize;

/// A place in a source file: which file and which bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub file: FileId,
    pub range: Range<usize>,
}

/// One problem found in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    /// Lowercase, user input in backticks.
    pub message: String,
    /// Where; `None` for problems of the whole policy.
    pub span: Option<Span>,
    /// Words shown after the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, code, message: message.into(), span: None, label: None, help: None }
    }
    /// A warning.
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }
    /// Point at `range` of `file`.
    pub fn at(mut self, file: FileId, range: Range<usize>) -> Self {
        self.span = Some(Span { file, range });
        self
    }
    /// Point at a span, if any.
    pub fn at_span(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }
    /// Words after the caret.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    /// A hint to fix it.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// A hint, if any.
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
    /// Is it an error?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// One source file of a policy.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as shown to the user.
    pub path: PathBuf,
    pub text: String,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl Source {
    /// A source file with its text.
    pub fn new(path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { path, text, line_starts }
    }

    /// 1-based line and column (in characters) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// Byte offset of 1-based `line` and character `col`.
    pub fn offset(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else { return self.text.len() };
        let rest = &self.text[start..];
        rest.char_indices().nth(col.saturating_sub(1)).map_or(self.text.len(), |(i, _)| start + i)
    }

    /// The text of 1-based `line`, without its line ending.
    pub fn line(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else { return "" };
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// The files a policy was read from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub files: Vec<Source>,
}

impl Sources {
    /// Add a file; returns its id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(Source::new(path, text));
        self.files.len() - 1
    }
    /// The file `id`.
    pub fn get(&self, id: FileId) -> Option<&Source> {
        self.files.get(id)
    }
    /// The display path of file `id`.
    pub fn path(&self, id: FileId) -> &Path {
        self.files.get(id).map_or(Path::new(""), |s| &s.path)
    }
    /// `path:line:col` of a span.
    pub fn location(&self, span: &Span) -> String {
        match self.get(span.file) {
            Some(src) => {
                let (l, c) = src.line_col(span.range.start);
                format!("{}:{l}:{c}", src.path.display())
            }
            None => String::new(),
        }
    }
}

/// Everything `check` found, with the files to show them against.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
}

impl Report {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
    /// Sort by file, position, then severity, so output is stable.
    pub fn sort(&mut self) {
        self.diagnostics.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                (d.span.as_ref().map_or((usize::MAX, 0), |s| (s.file, s.range.start)), d.severity, d.message.clone())
            };
            key(a).cmp(&key(b))
        });
        self.diagnostics.dedup();
    }
    /// Every diagnostic as text, in order.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&render(d, &self.sources));
            out.push('\n');
        }
        out
    }
    /// Every diagnostic as JSON objects.
    pub fn to_json(&self) -> Vec<JsonDiagnostic> {
        self.diagnostics.iter().map(|d| JsonDiagnostic::of(d, &self.sources)).collect()
    }
}

/// Render one diagnostic:
///
/// ```text
/// error: unknown fact `days_pst_due` in rule `late-fee`
///   --> policies/standard/policy.toml:12:9
/// 12 | when = "days_pst_due > 30"
///    |         ^^^^^^^^^^^^ help: did you mean `days_past_due`?
/// ```
pub fn render(d: &Diagnostic, sources: &Sources) -> String {
    let mut out = String::new();
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{sev}: {}", d.message);
    let located = d.span.as_ref().and_then(|s| sources.get(s.file).map(|src| (s, src)));
    match located {
        Some((span, src)) => {
            let (line, col) = src.line_col(span.range.start);
            let text = src.line(line);
            let width = line.to_string().len();
            let pad = " ".repeat(width);
            let _ = writeln!(out, "{pad}--> {}:{line}:{col}", src.path.display());
            let _ = writeln!(out, "{line} | {text}");
            let (end_line, end_col) = src.line_col(span.range.end);
            let last = if end_line == line { end_col } else { text.chars().count() + 1 };
            let carets = "^".repeat(last.saturating_sub(col).max(1));
            let lead: String = text.chars().take(col - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            let after = match (&d.label, &d.help) {
                (Some(l), _) => format!(" {l}"),
                (None, Some(h)) => format!(" help: {h}"),
                (None, None) => String::new(),
            };
            let _ = writeln!(out, "{pad} | {lead}{carets}{after}");
            if let (Some(_), Some(h)) = (&d.label, &d.help) {
                let _ = writeln!(out, "{pad} = help: {h}");
            }
        }
        None => {
            if let Some(h) = &d.help {
                let _ = writeln!(out, "  = help: {h}");
            }
        }
    }
    out
}

/// A diagnostic as JSON, with resolved line and column (1-based).
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl JsonDiagnostic {
    fn of(d: &Diagnostic, sources: &Sources) -> Self {
        let pos = d.span.as_ref().and_then(|s| sources.get(s.file).map(|src| (s, src)));
        let (file, start, end) = match pos {
            Some((s, src)) => (
                Some(src.path.display().to_string()),
                Some(src.line_col(s.range.start)),
                Some(src.line_col(s.range.end)),
            ),
            None => (None, None, None),
        };
        JsonDiagnostic {
            severity: d.severity,
            code: d.code.as_str(),
            message: d.message.clone(),
            file,
            line: start.map(|p| p.0),
            column: start.map(|p| p.1),
            end_line: end.map(|p| p.0),
            end_column: end.map(|p| p.1),
            label: d.label.clone(),
            help: d.help.clone(),
        }
    }
}

/// `did you mean `x`?` for the closest of `candidates` to `word`, if close.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The closest of `candidates` to `word` within a small edit distance.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    let mut similar: Option<(f64, &str)> = None;
    for c in candidates {
        let d = strsim::damerau_levenshtein(word, c);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
        // A long shared start (`max_contacts_per_week` for `max_contacts_per_7_days`).
        let prefix = word.chars().zip(c.chars()).take_while(|(a, b)| a == b).count();
        let jw = strsim::jaro_winkler(word, c);
        if prefix >= 6 && jw >= 0.85 && similar.is_none_or(|(s, _)| jw > s) {
            similar = Some((jw, c));
        }
    }
    best.map(|(_, c)| c).or(similar.map(|(_, c)| c))
}

/// Maps positions inside a TOML string value (as rhai sees the decoded text)
/// back to byte offsets in the file, through quotes and escapes.
#[derive(Debug, Clone)]
pub struct StringMap {
    /// For each decoded character: (line, column) in the decoded text and
    /// the file byte range of its raw form.
    chars: Vec<(usize, usize, Range<usize>)>,
    /// Where the string's content ends in the file.
    end: usize,
}

impl StringMap {
    /// Build the map for the TOML string value at `span` of `text`. A value
    /// that is not a string maps everything to its start.
    pub fn new(text: &str, span: Range<usize>) -> Self {
        let raw = text.get(span.clone()).unwrap_or("");
        let (open, basic) = if raw.starts_with("\"\"\"") {
            (3, true)
        } else if raw.starts_with("'''") {
            (3, false)
        } else if raw.starts_with('"') {
            (1, true)
        } else if raw.starts_with('\'') {
            (1, false)
        } else {
            return StringMap { chars: Vec::new(), end: span.start };
        };
        let content_end = span.end.saturating_sub(open).max(span.start + open);
        let base = span.start + open;
        let body = text.get(base..content_end).unwrap_or("");
        let mut chars = Vec::new();
        let (mut line, mut col) = (1usize, 1usize);
        let mut it = body.char_indices().peekable();
        // A newline right after a multi-line opening delimiter is trimmed.
        if open == 3 {
            if let Some(&(_, '\r')) = it.peek() {
                it.next();
            }
            if let Some(&(_, '\n')) = it.peek() {
                it.next();
            }
        }
        while let Some((i, c)) = it.next() {
            let mut end = i + c.len_utf8();
            let mut decoded = c;
            if basic && c == '\\' {
                match it.peek().map(|&(_, n)| n) {
                    Some('u') | Some('U') | Some('x') => {
                        let n = match it.peek().map(|&(_, n)| n) {
                            Some('u') => 5,
                            Some('U') => 9,
                            _ => 3,
                        };
                        for _ in 0..n {
                            if let Some((j, d)) = it.next() {
                                end = j + d.len_utf8();
                            }
                        }
                        decoded = '?';
                    }
                    Some(n) if n.is_whitespace() => {
                        // Line-ending backslash: skip all whitespace.
                        while let Some(&(_, w)) = it.peek() {
                            if !w.is_whitespace() {
                                break;
                            }
                            it.next();
                        }
                        continue;
                    }
                    Some(n) => {
                        if let Some((j, d)) = it.next() {
                            end = j + d.len_utf8();
                        }
                        decoded = if n == 'n' { '\n' } else { n };
                    }
                    None => {}
                }
            }
            chars.push((line, col, base + i..base + end));
            if decoded == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        StringMap { chars, end: content_end }
    }

    /// The file offset of decoded (1-based) `line`, `col`.
    pub fn offset(&self, line: usize, col: usize) -> usize {
        self.chars.iter().find(|(l, c, _)| *l == line && *c == col).map_or(self.end, |(_, _, r)| r.start)
    }

    /// The file byte range covering decoded characters from (`line`, `col`)
    /// for `len` characters.
    pub fn range(&self, line: usize, col: usize, len: usize) -> Range<usize> {
        let Some(i) = self.chars.iter().position(|(l, c, _)| *l == line && *c == col) else {
            return self.end..self.end;
        };
        let last = (i + len.max(1) - 1).min(self.chars.len().saturating_sub(1));
        self.chars[i].2.start..self.chars[last].2.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_and_back() {
        let s = Source::new("p.toml".into(), "a = 1\nwhen = \"x > 1\"\n".into());
        assert_eq!(s.line_col(6), (2, 1));
        assert_eq!(s.offset(2, 8), 13);
        assert_eq!(s.line(2), "when = \"x > 1\"");
    }

    #[test]
    fn string_map_through_escapes() {
        let text = r#"when = "a == \"b\" && c""#;
        let start = text.find('"').unwrap_or(0);
        let m = StringMap::new(text, start..text.len());
        // decoded: a == "b" && c ; `c` is decoded column 13
        let off = m.offset(1, 13);
        assert_eq!(&text[off..off + 1], "c");
        let r = m.range(1, 6, 3);
        assert_eq!(&text[r], r#"\"b\""#);
    }

    #[test]
    fn string_map_multiline() {
        let text = "when = '''\ncustomer.x > 1 &&\n  invoice.y'''";
        let start = text.find("'''").unwrap_or(0);
        let m = StringMap::new(text, start..text.len());
        let off = m.offset(2, 3);
        assert_eq!(&text[off..off + 7], "invoice");
    }

    #[test]
    fn render_with_caret_and_help() {
        let mut sources = Sources::default();
        let f = sources.add("p.toml".into(), "[[ladder.step]]\nwhen = \"days_pst_due > 30\"\n".into());
        let d = Diagnostic::error(Code::UnknownFact, "unknown fact `days_pst_due`")
            .at(f, 24..36)
            .help("did you mean `days_past_due`?");
        let text = render(&d, &sources);
        assert_eq!(
            text,
            "error: unknown fact `days_pst_due`\n --> p.toml:2:9\n2 | when = \"days_pst_due > 30\"\n  |         ^^^^^^^^^^^^ help: did you mean `days_past_due`?\n"
        );
    }
}
