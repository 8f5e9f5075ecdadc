//! Policies: credit managers' rules as TOML with rhai expressions and
//! scripts. One direction: [`raw`] (serde structs mirroring the TOML, with
//! spans) → [`validate`] (ids resolved, errors and warnings in one pass,
//! expressions checked by [`script`]) → [`compile`] (an immutable
//! [`CompiledPolicy`], expressions lowered to native form by [`expr`] where
//! possible). [`diag`] renders problems; [`schema`] is the JSON Schema of the
//! file; [`cases`] runs a policy's own tests. The engine that evaluates a
//! compiled policy is [`crate::engine`].
//!
//! A policy is a folder `policies/<name>/` with `policy.toml`, optional
//! `scripts/*.rhai` (functions rules call as `name::function(...)`),
//! `templates/` and `tests/*.toml`; or a single `.toml` file (its scripts in
//! `scripts/` beside it).

mod calendar;
pub mod cases;
pub mod compile;
pub mod diag;
pub mod expr;
pub mod range;
pub mod raw;
pub mod schema;
pub mod script;
pub mod validate;

pub use compile::CompiledPolicy;
pub use diag::{Code, Diagnostic, Report, Severity};

use std::path::{Path, PathBuf};

/// The policy file of a policy path: `DIR/policy.toml`, or the file itself.
pub fn policy_file(path: &Path) -> PathBuf {
    if path.is_dir() { path.join("policy.toml") } else { path.to_path_buf() }
}

/// The folder of a policy path (where `scripts/`, `templates/`, `tests/` are).
pub fn policy_dir(path: &Path) -> PathBuf {
    if path.is_dir() { path.to_path_buf() } else { path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf) }
}

/// A loaded policy: compiled when there were no errors, and the report of
/// everything found (warnings too).
#[derive(Debug)]
pub struct Loaded {
    pub policy: Option<CompiledPolicy>,
    pub report: Report,
}

fn sorted_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Read, parse, validate and compile the policy at `path` (a folder or a
/// `.toml` file). Every problem is in the report; the policy is there only
/// when there is no error.
pub fn load(path: &Path) -> Loaded {
    let mut report = Report::default();
    let file_path = policy_file(path);
    let dir = policy_dir(path);
    let text = match std::fs::read_to_string(&file_path) {
        Ok(t) => t,
        Err(e) => {
            let help = if path.is_dir() {
                "a policy folder holds `policy.toml`".to_string()
            } else {
                "give a policy folder (with policy.toml) or a .toml file".to_string()
            };
            report.diagnostics.push(
                Diagnostic::error(Code::Io, format!("cannot read `{}`: {}", file_path.display(), io_words(&e)))
                    .help(help),
            );
            return Loaded { policy: None, report };
        }
    };
    load_text(file_path, text, Some(&dir), report)
}

/// Like [`load`], with the text of the policy file given (a sweep's edited
/// copy of it); scripts and templates are read from the policy's folder.
pub fn load_with_text(path: &Path, text: String) -> Loaded {
    load_text(policy_file(path), text, Some(&policy_dir(path)), Report::default())
}

/// Validate and compile a policy given as text (no scripts, no template
/// folder); `name` is the path shown in messages. For tests and examples.
pub fn load_str(name: &str, text: &str) -> Loaded {
    load_text(PathBuf::from(name), text.to_string(), None, Report::default())
}

fn load_text(file_path: PathBuf, text: String, dir: Option<&Path>, mut report: Report) -> Loaded {
    let file = report.sources.add(file_path.clone(), text.clone());
    let (raw, diags, removed) = raw::parse::<raw::RawPolicy>(&text, file);
    report.diagnostics.extend(diags);

    let mut scripts = Vec::new();
    let script_files = dir.map(|d| sorted_files(&d.join("scripts"), "rhai")).unwrap_or_default();
    for p in script_files {
        match std::fs::read_to_string(&p) {
            Ok(t) => {
                let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let id = report.sources.add(p.clone(), t);
                scripts.push((name, id));
            }
            Err(e) => report
                .diagnostics
                .push(Diagnostic::error(Code::Io, format!("cannot read `{}`: {}", p.display(), io_words(&e)))),
        }
    }
    let script_texts: Vec<(String, usize, &str)> = scripts
        .iter()
        .filter_map(|(n, id)| report.sources.get(*id).map(|s| (n.clone(), *id, s.text.as_str())))
        .collect();
    let (loaded, diags) = script::Scripts::load(&script_texts);
    report.diagnostics.extend(diags);

    let Some(raw) = raw else {
        report.sort();
        return Loaded { policy: None, report };
    };
    let tdir_name =
        raw.policy.as_ref().and_then(|p| p.templates.as_ref()).map_or("templates".to_string(), |t| t.value.clone());
    let tdir = dir.map(|d| d.join(&tdir_name)).unwrap_or_default();
    // A folder outside the policy folder is reported by validation and never listed.
    let templates = (dir.is_some() && validate::is_inside(&tdir_name) && tdir.is_dir()).then(|| {
        let mut names = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&tdir) {
            for e in rd.filter_map(Result::ok) {
                let p = e.path();
                if p.is_file() {
                    if let Some(s) = p.file_stem() {
                        names.push(s.to_string_lossy().into_owned());
                    }
                    if let Some(s) = p.file_name() {
                        names.push(s.to_string_lossy().into_owned());
                    }
                }
            }
        }
        names.sort();
        (tdir.clone(), names)
    });
    let ctx = validate::Ctx { file, text: &text, templates, scripts: &loaded, removed: &removed };
    let (mut rules, diags) = validate::validate(&raw, &ctx);
    report.diagnostics.extend(diags);
    if let Some(r) = rules.as_mut() {
        calendar::attach(r, &raw, dir, file, &mut report);
    }
    report.sort();
    let tfiles = (dir.is_some() && validate::is_inside(&tdir_name)).then_some((tdir_name.as_str(), tdir.as_path()));
    let policy = match rules {
        Some(r) if report.errors() == 0 => {
            let mut p = compile::compile_with(r, loaded.engine, report.sources.clone(), &loaded.defs);
            p.hash = content_hash(&report.sources, dir, tfiles);
            Some(p)
        }
        _ => None,
    };
    let policy = policy.and_then(|mut p| {
        // The message templates, checked against the rules that use them (crate::render).
        let tdir = tfiles.map(|(_, d)| d);
        let sender = raw.sender.as_ref().map(|s| &s.value);
        let (templates, diags) = crate::render::Templates::load(tdir, sender, &p.rules, &mut report.sources);
        let failed = diags.iter().any(|d| d.is_error());
        report.diagnostics.extend(diags);
        report.sort();
        p.messages = std::sync::Arc::new(templates);
        (!failed).then_some(p)
    });
    Loaded { policy, report }
}

/// The policy's identity in manifests: BLAKE3 over every file that changes
/// what a run does or writes — the policy file, its scripts and the files of
/// its templates folder — each named relative to the policy folder, so the
/// hash is the same whichever path the policy was given by. (Its tests/ do
/// not change a run and are left out.)
fn content_hash(sources: &diag::Sources, dir: Option<&Path>, templates: Option<(&str, &Path)>) -> String {
    let relative = |p: &Path| -> String {
        let rel = dir.and_then(|d| p.strip_prefix(d).ok()).unwrap_or(p);
        let rel = if rel.as_os_str().is_empty() { Path::new(p.file_name().unwrap_or_default()) } else { rel };
        rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
    };
    let mut files: Vec<(String, Vec<u8>)> =
        sources.files.iter().map(|f| (relative(&f.path), f.text.as_bytes().to_vec())).collect();
    if let Some((name, tdir)) = templates {
        let mut listed: Vec<PathBuf> = std::fs::read_dir(tdir)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        listed.sort();
        for p in listed {
            let file = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // A template that cannot be read hashes as its name alone (validation reports it).
            files.push((format!("{}/{file}", name.trim_end_matches('/')), std::fs::read(&p).unwrap_or_default()));
        }
    }
    files.sort();
    let mut h = blake3::Hasher::new();
    for (name, bytes) in &files {
        h.update(name.as_bytes());
        h.update(&[0]);
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.finalize().to_hex().to_string()
}

fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string().to_lowercase(),
    }
}

/// Load a policy for a run: the compiled policy and its (warnings-only)
/// report, or the report of its errors.
pub fn compile_path(path: &Path) -> Result<(CompiledPolicy, Report), Report> {
    let loaded = load(path);
    match loaded.policy {
        Some(p) => Ok((p, loaded.report)),
        None => Err(loaded.report),
    }
}

/// Compile one expression on its own (no scripts), as the condition of a
/// rule that sees an invoice when `invoice` is true; lowered to native form
/// where possible. With the engine to run it. For tests and tools.
pub fn expression(src: &str, invoice: bool) -> Result<(expr::Expression, rhai::Engine), Vec<Diagnostic>> {
    expression_with_scripts(src, invoice, &[])
}

/// [`expression`] with scripts (module name, text) it may call; their
/// functions are inlined into the native form where they are in the subset.
/// Problems in the scripts are returned as errors.
pub fn expression_with_scripts(
    src: &str,
    invoice: bool,
    scripts: &[(&str, &str)],
) -> Result<(expr::Expression, rhai::Engine), Vec<Diagnostic>> {
    let texts: Vec<(String, usize, &str)> = scripts.iter().map(|(n, t)| (n.to_string(), 0, *t)).collect();
    let (scripts, diags) = script::Scripts::load(&texts);
    if !diags.is_empty() {
        return Err(diags);
    }
    let quoted = format!("'{src}'");
    let loc = script::Loc { file: 0, span: 0..quoted.len(), map: diag::StringMap::new(&quoted, 0..quoted.len()) };
    let (ast, reads) = scripts.expression(src, &loc, script::Allowed { invoice }, "the expression")?;
    let mut e = expr::Expression {
        src: src.to_string(),
        file: 0,
        map: loc.map,
        ast,
        reads,
        native: None,
        ty: None,
        per_currency: None,
        amounts: Vec::new(),
    };
    compile::lower_expression_with(&mut e, &scripts.defs);
    Ok((e, scripts.engine))
}
