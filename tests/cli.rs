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
    assert_eq!(err, "error: unknown customer `C9`: not in customers.csv\n");
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
    assert!(out.contains("    16-45            0 invoices              0.00\n"), "{out}");
    assert!(out.contains("    46+              3 invoices           4000.00\n"), "{out}");
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
