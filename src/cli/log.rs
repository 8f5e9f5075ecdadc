//! `--log-format json` (or `RECOUP_LOG_FORMAT=json`): everything recoup
//! writes on stderr as one JSON object per line, for log collectors — the
//! errors and warnings it prints anyway, and the stages of a run with their
//! counts and timings (docs/deploy.md, "Logs"). In the default `text` format
//! stderr is as it always was and the stage events are not printed.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--log-format`: how stderr is written.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Lines for people (errors and warnings with their places and help).
    #[default]
    Text,
    /// One JSON object per line: `level`, `message`, … (and stage events).
    Json,
}

static JSON: AtomicBool = AtomicBool::new(false);

/// Choose the format once, at start-up.
pub fn init(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// Whether stderr is JSON lines.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Write `text` on stderr: as it is, or (JSON) one object per message of
/// it — a message starts on a line that is not indented (`error: …`,
/// `warning: …`, `error[E101]: …`); its indented lines are its place
/// (`--> file:line`), its help (`= help:`) and other detail.
pub fn write(text: &str) {
    let mut err = std::io::stderr().lock();
    if !json() {
        let _ = writeln!(err, "{text}");
        return;
    }
    let mut block: Vec<&str> = Vec::new();
    for l in text.lines() {
        if !block.is_empty() && starts_message(l) {
            let _ = writeln!(err, "{}", message(&block));
            block.clear();
        }
        block.push(l);
    }
    if !block.is_empty() {
        let _ = writeln!(err, "{}", message(&block));
    }
}

/// Whether a line starts a message: not indented, not empty, and not a
/// policy diagnostic's source line (`12 | bucket_edges = …`).
fn starts_message(l: &str) -> bool {
    let gutter = l.trim_start_matches(|c: char| c.is_ascii_digit());
    let source_line = gutter.len() < l.len() && gutter.trim_start().starts_with('|');
    !l.starts_with([' ', '\t', '|']) && !l.trim().is_empty() && !source_line
}

/// One message's lines as a JSON object.
fn message(lines: &[&str]) -> serde_json::Value {
    let first = lines.first().copied().unwrap_or_default();
    let (level, code, rest) = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("error") || head.starts_with("warning") => {
            let level = if head.starts_with("error") { "error" } else { "warning" };
            let code = head.split_once('[').map(|(_, c)| c.trim_end_matches(']').to_string());
            (level, code, rest)
        }
        _ => ("info", None, first),
    };
    let mut obj = serde_json::json!({ "level": level, "message": rest.trim() });
    let mut detail = Vec::new();
    for l in &lines[1..] {
        let t = l.trim();
        if let Some(at) = t.strip_prefix("--> ") {
            obj["at"] = at.into();
        } else if let Some(h) = t.strip_prefix("= help:") {
            obj["help"] = h.trim().into();
        } else if !t.is_empty() {
            detail.push(l.to_string());
        }
    }
    if let Some(c) = code {
        obj["code"] = c.into();
    }
    if !detail.is_empty() {
        obj["detail"] = detail.join("\n").into();
    }
    obj
}

/// A stage of a command done (JSON only): `{"level":"info","event":"stage",
/// "command":…,"stage":…,"ms":…, …counts}`.
pub fn stage(command: &str, stage: &str, ms: u64, counts: serde_json::Value) {
    event("stage", command, Some(stage), ms, counts);
}

/// A command finished (JSON only): `{"event":"done","command":…,"exit_code":…,"ms":…}`.
pub fn done(command: &str, exit_code: u8, ms: u64) {
    let level = if exit_code == 0 { "info" } else { "error" };
    if json() {
        let line =
            serde_json::json!({"level": level, "event": "done", "command": command, "exit_code": exit_code, "ms": ms});
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

fn event(event: &str, command: &str, stage: Option<&str>, ms: u64, counts: serde_json::Value) {
    if !json() {
        return;
    }
    let mut line = serde_json::json!({"level": "info", "event": event, "command": command});
    if let Some(s) = stage {
        line["stage"] = s.into();
    }
    line["ms"] = ms.into();
    if let serde_json::Value::Object(m) = counts {
        for (k, v) in m {
            line[k] = v;
        }
    }
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_becomes_one_object_with_its_place_and_help() {
        let m = message(&[
            "error: `amount` is `abc`; expected a decimal number",
            "  --> fixtures/bad/many/payments.csv:2 (column `amount`)",
            "  = help: fix it",
        ]);
        assert_eq!(m["level"], "error");
        assert_eq!(m["message"], "`amount` is `abc`; expected a decimal number");
        assert_eq!(m["at"], "fixtures/bad/many/payments.csv:2 (column `amount`)");
        assert_eq!(m["help"], "fix it");
        assert!(!starts_message("12 | id = \"x\"") && !starts_message("  --> a:1") && starts_message("error: x"));
        let m = message(&["warning[W003]: step `x` is unreachable", "   |", "12 | id = \"x\""]);
        assert_eq!((m["level"].as_str(), m["code"].as_str()), (Some("warning"), Some("W003")));
        assert!(m["detail"].as_str().unwrap().contains("12 | id"));
    }
}
