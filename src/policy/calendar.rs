//! The calendars a policy holds actions by (`[guardrails] public_holidays`
//! and `holidays`): the closures file read from the policy folder, its bad
//! rows reported at their line and column, and the shared
//! [`crate::calendar::Calendars`] attached to the rules.

use super::compile::Rules;
use super::diag::{Code, Diagnostic, FileId, Report};
use super::raw::RawPolicy;
use crate::calendar::{Calendars, read_closures};
use std::path::Path;
use std::sync::Arc;

/// Read the closures file (when the policy names one) and attach the
/// calendars to `rules`, under `business_days_only` only (validation warns
/// of the keys without it). Problems go to `report`; the file joins its
/// sources, so the policy's hash covers it.
pub(super) fn attach(rules: &mut Rules, raw: &RawPolicy, dir: Option<&Path>, file: FileId, report: &mut Report) {
    let g = &mut rules.guardrails;
    if !g.business_days_only || (!g.public_holidays && g.holidays.is_none()) {
        return;
    }
    let mut closures = Vec::new();
    if let Some(name) = &g.holidays {
        let span = raw.guardrails.as_ref().and_then(|r| r.holidays.as_ref()).map_or(0..0, |h| h.span.clone());
        let Some(dir) = dir else {
            report.diagnostics.push(
                Diagnostic::error(Code::Io, format!("cannot read `{name}` without the policy folder"))
                    .at(file, span)
                    .help("give the policy as a folder (or a policy.toml inside it)"),
            );
            return;
        };
        let path = dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                let why = if e.kind() == std::io::ErrorKind::NotFound { "no such file".into() } else { e.to_string() };
                report.diagnostics.push(
                    Diagnostic::error(Code::Io, format!("cannot read `{name}`: {why}"))
                        .at(file, span)
                        .help("put the file in the policy folder (header `date,country,name`), or remove the key"),
                );
                return;
            }
        };
        let (rows, problems) = read_closures(&text);
        let id = report.sources.add(path, text);
        for p in problems {
            report.diagnostics.push(Diagnostic::error(Code::InvalidValue, p.message).at(id, p.range).help(p.help));
        }
        closures = rows;
    }
    g.calendars = Some(Arc::new(Calendars::new(g.public_holidays, closures)));
}
