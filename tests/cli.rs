//! CLI scenarios: arguments → exit code, stdout and stderr, snapshotted.
//! Run from the repository root with relative paths; temp paths filtered.

use crate::common::repo;
use std::process::Command;

/// Run recoup with `args`; returns (exit code, stdout, stderr) with `tmp`
/// replaced by `[TMP]`.
pub fn recoup(args: &[&str], tmp: Option<&std::path::Path>) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_recoup"))
        .args(args)
        .current_dir(repo(""))
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    let clean = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).into_owned();
        match tmp {
            Some(t) => s.replace(&t.display().to_string(), "[TMP]"),
            None => s,
        }
    };
    (out.status.code().unwrap_or(-1), clean(&out.stdout), clean(&out.stderr))
}

/// `recoup run` on the demo ledger as of the demo day: `--ledger fixtures/demo
/// --policy POLICY --as-of 2026-11-16 --out OUT`, then `extra`.
pub fn run_demo(
    policy: &str,
    out: &std::path::Path,
    extra: &[&str],
    tmp: Option<&std::path::Path>,
) -> (i32, String, String) {
    let out = out.to_str().unwrap();
    let mut args = vec!["run", "--ledger", "fixtures/demo", "--policy", policy, "--as-of", "2026-11-16", "--out", out];
    args.extend(extra);
    recoup(&args, tmp)
}

/// `recoup simulate` on the demo ledger as of the demo day with the standard
/// policy as baseline: `--out OUT`, then `extra` (variants, sweeps, ...).
pub fn simulate_demo(out: &std::path::Path, extra: &[&str], tmp: Option<&std::path::Path>) -> (i32, String, String) {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "simulate",
        "--ledger",
        "fixtures/demo",
        "--as-of",
        "2026-11-16",
        "--baseline",
        "policies/standard",
        "--out",
        out,
    ];
    args.extend(extra);
    recoup(&args, tmp)
}

fn transcript(args: &[&str], tmp: Option<&std::path::Path>) -> String {
    let (code, out, err) = recoup(args, tmp);
    let t = format!("$ recoup {}\nexit: {code}\n--- stdout\n{out}--- stderr\n{err}", args.join(" "));
    match tmp {
        Some(dir) => t.replace(&dir.display().to_string(), "[TMP]"),
        None => t,
    }
}

#[test]
fn facts_table_and_kpis() {
    insta::assert_snapshot!(transcript(&["facts", "--ledger", "fixtures/small", "--as-of", "2026-11-16"], None));
}

#[test]
fn facts_of_one_customer() {
    insta::assert_snapshot!(transcript(
        &["facts", "--ledger", "fixtures/small", "--as-of", "2026-11-16", "--customer", "C2"],
        None
    ));
}

#[test]
fn facts_per_invoice_to_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("facts.csv");
    let t = transcript(
        &[
            "facts",
            "--ledger",
            "fixtures/small",
            "--as-of",
            "2026-11-16",
            "--level",
            "invoice",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(dir.path()),
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    insta::assert_snapshot!(format!("{t}--- facts.csv\n{csv}"));
}

#[test]
fn unknown_customer_is_an_input_error() {
    let (code, _, err) =
        recoup(&["facts", "--ledger", "fixtures/small", "--as-of", "2026-11-16", "--customer", "C9"], None);
    assert_eq!(code, 4);
    assert_eq!(
        err,
        "error: unknown customer `C9`: not in customers.csv; `recoup facts --ledger DIR` lists the customers\n"
    );
    // A near miss names the id it probably meant (case, zero padding, spelling).
    let (code, _, err) = recoup(
        &[
            "explain",
            "--ledger",
            "fixtures/demo",
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--customer",
            "c117",
        ],
        None,
    );
    assert_eq!(code, 4);
    assert_eq!(err, "error: unknown customer `c117`: not in customers.csv; did you mean `C000117`?\n");
}

#[test]
fn report_of_a_simulation_folder_given_as_a_run_says_which_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let (code, _, err) = recoup(
        &[
            "simulate",
            "--ledger",
            "fixtures/small",
            "--as-of",
            "2026-11-16",
            "--baseline",
            "policies/standard",
            "--variant",
            "policies/strict",
            "--runs",
            "2",
            "--out",
            sim.to_str().unwrap(),
            "--quiet",
        ],
        Some(tmp.path()),
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = recoup(&["report", "--run", sim.to_str().unwrap()], Some(tmp.path()));
    assert_ne!(code, 0);
    assert!(err.contains("holds the outputs of `recoup simulate`, not of `recoup run`"), "{err}");
    assert!(err.contains("use `recoup report --simulation [TMP]/sim`"), "{err}");
}

#[test]
fn man_out_writes_a_page_per_command_and_never_replaces_a_stranger() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    let (code, _, err) = recoup(&["man", "--out", dir.to_str().unwrap()], Some(tmp.path()));
    assert_eq!(code, 0, "{err}");
    for page in ["recoup.1", "recoup-run.1", "recoup-simulate.1", "recoup-check.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH recoup"), "{page}");
    }
    // Again: recoup's own pages are replaced.
    assert_eq!(recoup(&["man", "--out", dir.to_str().unwrap()], Some(tmp.path())).0, 0);
    // A page recoup did not write is never replaced, and nothing is written.
    std::fs::write(dir.join("recoup-run.1"), "my notes\n").unwrap();
    std::fs::remove_file(dir.join("recoup-check.1")).unwrap();
    let (code, _, err) = recoup(&["man", "--out", dir.to_str().unwrap()], Some(tmp.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a recoup man page"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("recoup-run.1")).unwrap(), "my notes\n");
    assert!(!dir.join("recoup-check.1").exists());
}

#[test]
fn tables_fit_columns_and_piped_output_is_never_cut() {
    // stdout of recoup as on a 100-column terminal.
    let at_100 = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_recoup"))
            .args(args)
            .current_dir(repo(""))
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let args = ["check", "policies/standard"];
    let piped = recoup(&args, None).1;
    let narrow = at_100(&args);
    assert!(piped.lines().any(|l| l.chars().count() > 120), "piped: whole lines");
    assert!(narrow.lines().skip(1).all(|l| l.chars().count() <= 100), "{narrow}");
    assert!(narrow.contains("more columns left out to fit the width"), "{narrow}");
    let facts = at_100(&["facts", "--ledger", "fixtures/demo", "--as-of", "2026-11-16", "--customer", "C000117"]);
    assert!(facts.lines().filter(|l| l.starts_with(" customer.")).all(|l| l.chars().count() <= 100), "{facts}");
}

#[test]
fn bad_ledger_is_refused_with_every_problem() {
    insta::assert_snapshot!(transcript(&["facts", "--ledger", "fixtures/bad/many", "--as-of", "2026-11-16"], None));
}

#[test]
fn missing_column_is_refused() {
    insta::assert_snapshot!(transcript(
        &["facts", "--ledger", "fixtures/bad/missing-column", "--as-of", "2026-11-16"],
        None
    ));
}

#[test]
fn rejected_rows_go_to_rejects_csv_and_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("facts.csv");
    let t = transcript(
        &[
            "facts",
            "--ledger",
            "fixtures/bad/many",
            "--as-of",
            "2026-11-16",
            "--reject-bad-rows",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(dir.path()),
    );
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).unwrap();
    insta::assert_snapshot!(format!("{t}--- rejects.csv\n{rejects}"));
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = recoup(&["facts", "--as-of", "2026-11-16"], None);
    assert_eq!(code, 2);
    assert!(err.contains("--ledger <DIR>"), "{err}");
    let (code, _, err) = recoup(&["facts", "--ledger", "fixtures/small", "--as-of", "2026-02-30"], None);
    assert_eq!(code, 2);
    assert!(err.contains("2026-02-30"), "{err}");
}

#[test]
fn bucket_edges_change_the_aging() {
    let (code, out, _) =
        recoup(&["facts", "--ledger", "fixtures/small", "--as-of", "2026-11-16", "--bucket-edges", "15,45"], None);
    assert_eq!(code, 0);
    assert!(out.contains("    16-45            0 invoices              USD 0.00\n"), "{out}");
    // Per currency: the 3 invoices over 45 days are EUR 2,500.00 and USD 1,500.00, never 4,000.00.
    assert!(out.contains("    46+              1 invoices          EUR 2,500.00\n"), "{out}");
    assert!(out.contains("    46+              2 invoices          USD 1,500.00\n"), "{out}");
    let (code, _, err) =
        recoup(&["facts", "--ledger", "fixtures/small", "--as-of", "2026-11-16", "--bucket-edges", "0"], None);
    assert_eq!((code, err.as_str()), (2, "error: --bucket-edges must be positive days, e.g. 30,60,90\n"));
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = recoup(&["completions", shell], None);
        assert_eq!(code, 0, "{shell}");
        for sub in ["run", "explain", "facts", "check", "simulate", "generate"] {
            assert!(out.contains(sub), "{shell} completions lack `{sub}`");
        }
    }
    let (code, out, _) = recoup(&["man"], None);
    assert_eq!(code, 0);
    assert!(out.contains(".TH recoup 1"), "{out}");
    assert!(out.contains("rules engine for credit and collections"));
    let (code, _, err) = recoup(&["completions", "tcsh"], None);
    assert_eq!(code, 2);
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn generate_reports_its_row_counts_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ledger");
    let (code, json, _) = recoup(
        &["generate", "--customers", "20", "--as-of", "2026-11-16", "--out", out.to_str().unwrap(), "--format", "json"],
        None,
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["customers"], 20);
    let invoices = std::fs::read_to_string(out.join("invoices.csv")).unwrap().lines().count() as u64 - 1;
    assert_eq!(v["invoices"], invoices);
}

/// Run recoup under a pseudo-terminal (`script`), with or without NO_COLOR;
/// `None` when `script` (util-linux) is not installed.
fn on_a_terminal(args: &str, no_color: bool, term: &str) -> Option<String> {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{} {args}", env!("CARGO_BIN_EXE_recoup")), "/dev/null"]).current_dir(repo(""));
    // `TERM` says whether the terminal supports colour (anstream reads it).
    // Not `CI`: anstream colours any terminal under CI, whatever `TERM` says.
    cmd.env("TERM", term).env_remove("CLICOLOR").env_remove("CLICOLOR_FORCE").env_remove("CI");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_on_a_terminal_unless_no_color_and_never_when_piped() {
    let args = ["facts", "--ledger", "fixtures/small", "--as-of", "2026-11-16"];
    let (_, piped, _) = recoup(&args, None);
    assert!(!piped.contains('\x1b'), "piped output is plain text");
    let mut forced = args.to_vec();
    forced.extend(["--color", "always"]);
    let (code, coloured, _) = recoup(&forced, None);
    assert_eq!(code, 0);
    assert!(coloured.contains("\x1b[1m"), "--color always: a bold header even when piped (and NO_COLOR set)");
    assert_eq!(strip_escapes(&coloured), piped, "colour changes nothing but the escapes");
    let line = args.join(" ");
    let term = |no_color, term| on_a_terminal(&line, no_color, term);
    match (term(false, "xterm-256color"), term(true, "xterm-256color"), term(false, "dumb")) {
        (Some(tty), Some(tty_no_color), Some(dumb)) => {
            assert!(tty.contains("\x1b[1m"), "a terminal gets colour: {tty:?}");
            assert!(!tty_no_color.contains('\x1b'), "NO_COLOR on a terminal: no escapes");
            assert!(!dumb.contains('\x1b'), "TERM=dumb: no escapes");
        }
        _ => eprintln!("`script` is not installed: the terminal half of this test did not run"),
    }
}

fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn init_scaffolds_a_policy_that_passes_check_and_test() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let d = dir.to_str().unwrap();
    let created = transcript(&["init", d], Some(tmp.path()));
    let check = transcript(&["check", d, "--deny-warnings"], Some(tmp.path()));
    let test = transcript(&["test", d], Some(tmp.path()));
    let again = transcript(&["init", d], Some(tmp.path()));
    insta::assert_snapshot!(format!("{created}\n{check}\n{test}\n{again}"));
    assert_eq!(recoup(&["check", d, "--deny-warnings"], None).0, 0);
    assert_eq!(recoup(&["test", d], None).0, 0);
    assert_eq!(recoup(&["init", d], None).0, 2, "a non-empty folder is refused");
    // An empty folder is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(recoup(&["init", empty.to_str().unwrap()], None).0, 0);
}

/// Every command that prints results prints one JSON document with `--format json`.
#[test]
fn every_command_prints_json_with_format_json() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p).to_str().unwrap().to_string();
    let (ledger, run_out, sim_out) = (t("ledger"), t("out"), t("sim"));
    let l = ["--ledger", "fixtures/small", "--as-of", "2026-11-16"];
    let commands: Vec<Vec<&str>> = vec![
        [&["facts"][..], &l].concat(),
        vec!["generate", "--customers", "5", "--as-of", "2026-11-16", "--out", &ledger],
        [&["run"][..], &l, &["--policy", "policies/standard", "--out", &run_out]].concat(),
        [&["explain"][..], &l, &["--policy", "policies/standard", "--customer", "C1"]].concat(),
        vec!["check", "policies/standard"],
        vec!["test", "policies/standard"],
        [
            &["simulate"][..],
            &l,
            &["--baseline", "policies/standard", "--variant", "policies/strict", "--out", &sim_out],
        ]
        .concat(),
        vec!["schema"],
    ];
    for mut args in commands {
        if args[0] != "schema" {
            args.extend(["--format", "json"]);
        }
        let (code, out, err) = recoup(&args, Some(tmp.path()));
        assert_eq!(code, 0, "{args:?}: {err}");
        let v: Result<serde_json::Value, _> = serde_json::from_str(&out);
        assert!(v.is_ok(), "{args:?} printed no JSON document: {out}");
    }
    // `table` is still accepted for `text`.
    assert_eq!(recoup(&["check", "policies/standard", "--format", "table"], None).0, 0);
}

/// Success output of the commands not snapshotted elsewhere.
#[test]
fn check_test_and_generate_success_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ledger");
    let runs = [
        transcript(&["check", "policies/standard", "--deny-warnings"], None),
        transcript(&["test", "policies/standard", "--filter", "legal"], None),
        transcript(
            &["generate", "--customers", "20", "--seed", "7", "--as-of", "2026-11-16", "--out", out.to_str().unwrap()],
            Some(tmp.path()),
        ),
    ];
    insta::assert_snapshot!(runs.join("\n"));
}

/// The main errors of each command, in the one format: `error: ` and a
/// lowercase message naming the input, `  --> ` where there is a place,
/// `  = help: ` when there is something to do.
#[test]
fn main_errors_of_each_command() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let under_a_file = file.join("out");
    let u = under_a_file.to_str().unwrap();
    let run = |extra: &[&'static str], ledger: &'static str, policy: &'static str, out: &str| -> Vec<String> {
        let mut v: Vec<String> = ["run", "--ledger", ledger, "--policy", policy, "--as-of", "2026-11-16", "--out"]
            .map(String::from)
            .to_vec();
        v.push(out.to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let o = tmp.path().join("out");
    let o = o.to_str().unwrap();
    let cases: Vec<Vec<String>> = vec![
        run(&[], "fixtures/nope", "policies/standard", o),
        run(&[], "fixtures/small", "policies/nope", o),
        run(&[], "fixtures/small", "policies/standard", u),
        ["run", "--ledger", "fixtures/small", "--policy", "policies/standard", "--as-of", "2026-02-30", "--out", o]
            .map(String::from)
            .to_vec(),
        [
            "explain",
            "--ledger",
            "fixtures/small",
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--customer",
            "C9",
        ]
        .map(String::from)
        .to_vec(),
        ["check", "policies/nope"].map(String::from).to_vec(),
        ["test", "fixtures/bad-policies/unknown-fact"].map(String::from).to_vec(),
        [
            "simulate",
            "--ledger",
            "fixtures/nope",
            "--baseline",
            "policies/standard",
            "--variant",
            "policies/strict",
            "--out",
            o,
        ]
        .map(String::from)
        .to_vec(),
        ["generate", "--customers", "0", "--as-of", "2026-11-16", "--out", o].map(String::from).to_vec(),
        ["facts", "--ledger", "fixtures/small", "--as-of", "2026-11-16", "--out", u].map(String::from).to_vec(),
        ["init", file.to_str().unwrap()].map(String::from).to_vec(),
    ];
    let mut all = Vec::new();
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = recoup(&args, Some(tmp.path()));
        assert!(code != 0, "{args:?} should fail");
        // Message lines (not the source lines, carets and notes under them) open with `error: `.
        let messages = err.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()));
        for line in messages.filter(|l| !l.starts_with("For more")) {
            assert!(line.starts_with("error: ") || line.starts_with("warning: "), "{args:?}: `{line}`");
        }
        all.push(transcript(&args, Some(tmp.path())));
    }
    insta::assert_snapshot!(all.join("\n"));
}

/// A copy of `policies/standard` (its files and folders) with edits to policy.toml.
pub fn standard_copy(to: &std::path::Path, edits: &[(&str, &str)]) {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&repo("policies/standard"), to);
    let path = to.join("policy.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, into) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, into, 1);
    }
    std::fs::write(path, text).unwrap();
}

/// Issue 20 §1: `check --ledger` and `run` say which policy amounts the
/// ledger's other currencies would read as their own (warnings: exit 0;
/// `check --deny-warnings` refuses); the shipped policy, per currency, is clean.
#[test]
fn a_policy_amount_in_one_currency_is_named_by_check_and_run() {
    let (code, _, err) = recoup(&["check", "policies/standard", "--ledger", "fixtures/demo"], None);
    assert_eq!((code, err.as_str()), (0, ""));
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("usd-only");
    standard_copy(
        &policy,
        &[(r#"min_overdue = { USD = "25.00", EUR = "25.00", GBP = "25.00" }"#, r#"min_overdue = "25.00""#)],
    );
    let p = policy.to_str().unwrap();
    let warning = "warning: [guardrails] min_overdue is 25.00 USD (the policy's currency), but customers in EUR (116 \
                   customers), GBP (85 customers) would get it as 25.00 of their own currency: give it per currency, \
                   e.g. { USD = \"25.00\", EUR = \"...\" }\n";
    let (code, out, err) = recoup(&["check", p, "--ledger", "fixtures/demo"], Some(tmp.path()));
    assert_eq!((code, err.as_str()), (0, warning));
    assert!(out.contains("1 warning(s) about the ledger's currencies"), "{out}");
    let (code, _, err) = recoup(&["check", p, "--ledger", "fixtures/demo", "--deny-warnings"], Some(tmp.path()));
    assert_eq!(code, 3, "{err}");
    // Without a ledger, check cannot know the currencies: no warning.
    assert_eq!(recoup(&["check", p], None).2, "");
    let (code, _, err) = run_demo(p, &tmp.path().join("out"), &["--quiet"], Some(tmp.path()));
    assert_eq!((code, err.as_str()), (0, warning));
}
