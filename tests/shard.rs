//! `recoup run --shard I/N`, `recoup split` and `recoup merge`: the merged
//! outputs of N shards are byte-identical to one unsharded run, whether the
//! shards read the whole ledger or their own partitions; a merge refuses a
//! missing, duplicated or foreign shard and writes nothing.

use crate::cli::recoup;
use std::path::Path;

const COMPARED: [&str; 4] = ["plan.csv", "plan.jsonl", "worklist.csv", "summary.json"];

fn run(ledger: &str, as_of: &str, out: &Path, shard: Option<&str>) {
    let out = out.to_str().unwrap();
    let mut args =
        vec!["run", "-q", "--ledger", ledger, "--policy", "policies/standard", "--as-of", as_of, "--out", out];
    if let Some(s) = shard {
        args.extend(["--shard", s]);
    }
    let (code, _, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
}

fn merge(dirs: &[&Path], out: &Path) -> (i32, String) {
    let mut args = vec!["merge", "--out", out.to_str().unwrap()];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    let (code, _, err) = recoup(&args, None);
    (code, err)
}

fn assert_same_outputs(a: &Path, b: &Path) {
    for f in COMPARED {
        let (x, y) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        assert!(x == y, "{f} differs between {} and {}", a.display(), b.display());
    }
}

#[test]
fn whole_ledger_shards_merge_into_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run("fixtures/demo", "2026-11-16", &t.join("whole"), None);
    let shards: Vec<_> = (0..3).map(|i| t.join(format!("s{i}"))).collect();
    for (i, d) in shards.iter().enumerate() {
        run("fixtures/demo", "2026-11-16", d, Some(&format!("{i}/3")));
    }
    // Each shard planned only its own customers, and some of them.
    let plans: Vec<String> = shards.iter().map(|d| std::fs::read_to_string(d.join("plan.csv")).unwrap()).collect();
    assert!(plans.iter().all(|p| p.lines().count() > 1), "a shard planned nothing");
    // In any order.
    let (code, err) = merge(&[&shards[2], &shards[0], &shards[1]], &t.join("merged"));
    assert_eq!(code, 0, "{err}");
    assert_same_outputs(&t.join("whole"), &t.join("merged"));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(t.join("merged/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["merged_shards"], 3);
    assert!(!t.join("merged/shard.json").exists());
}

#[test]
fn one_shard_of_one_is_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run("fixtures/small", "2026-11-16", &t.join("whole"), None);
    run("fixtures/small", "2026-11-16", &t.join("s0"), Some("0/1"));
    assert_same_outputs(&t.join("whole"), &t.join("s0"));
}

#[test]
fn partitioned_shards_merge_into_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run("fixtures/demo", "2026-11-16", &t.join("whole"), None);
    let parts = t.join("parts");
    let (code, out, err) =
        recoup(&["split", "--ledger", "fixtures/demo", "--shards", "4", "--out", parts.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("customers.csv"), "{out}");
    // Every row of every file went to exactly one shard.
    for f in ["customers.csv", "invoices.csv", "payments.csv", "promises.csv", "actions.csv"] {
        let whole = csv::Reader::from_path(crate::common::repo("fixtures/demo").join(f)).unwrap().records().count();
        let split: usize = (0..4)
            .map(|i| csv::Reader::from_path(parts.join(format!("shard-{i}/{f}"))).unwrap().records().count())
            .sum();
        assert_eq!(split, whole, "{f}");
    }
    let outs: Vec<_> = (0..4).map(|i| t.join(format!("p{i}"))).collect();
    for (i, d) in outs.iter().enumerate() {
        let ledger = parts.join(format!("shard-{i}"));
        run(ledger.to_str().unwrap(), "2026-11-16", d, Some(&format!("{i}/4")));
    }
    let refs: Vec<&Path> = outs.iter().map(|p| p.as_path()).collect();
    let (code, err) = merge(&refs, &t.join("merged"));
    assert_eq!(code, 0, "{err}");
    assert_same_outputs(&t.join("whole"), &t.join("merged"));
}

#[test]
fn merge_refuses_missing_duplicate_and_foreign_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for i in 0..3 {
        run("fixtures/small", "2026-11-16", &t.join(format!("s{i}")), Some(&format!("{i}/3")));
    }
    run("fixtures/small", "2026-11-17", &t.join("late"), Some("2/3"));
    run("fixtures/small", "2026-11-16", &t.join("whole"), None);
    let out = t.join("merged");
    let (s0, s1, s2) = (t.join("s0"), t.join("s1"), t.join("s2"));

    let (code, err) = merge(&[&s0, &s2], &out);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("shard 1/3 missing") && err.contains("--shard 1/3"), "{err}");
    let (code, err) = merge(&[&s0, &s1, &s1, &s2], &out);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("shard 1/3 given twice"), "{err}");
    let (code, err) = merge(&[&s0, &s1, &t.join("late")], &out);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("as-of date") && err.contains("2026-11-17"), "{err}");
    let (code, err) = merge(&[&t.join("whole")], &out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no shard.json"), "{err}");
    assert!(!out.exists(), "a refused merge wrote {}", out.display());
}

#[test]
fn bad_shard_argument_is_a_usage_error() {
    let (code, _, err) = recoup(
        &[
            "run",
            "--ledger",
            "fixtures/small",
            "--policy",
            "policies/standard",
            "--out",
            "/nonexistent",
            "--shard",
            "3/3",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected I/N with 0 <= I < N"), "{err}");
}

#[test]
fn merge_and_split_print_json_for_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for i in 0..2 {
        run("fixtures/small", "2026-11-16", &t.join(format!("s{i}")), Some(&format!("{i}/2")));
    }
    let (out, s0, s1) = (t.join("m"), t.join("s0"), t.join("s1"));
    let args =
        ["merge", "--format", "json", "--out", out.to_str().unwrap(), s0.to_str().unwrap(), s1.to_str().unwrap()];
    let (code, stdout, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary, written);
    let parts = t.join("parts");
    let args =
        ["split", "--format", "json", "--ledger", "fixtures/small", "--shards", "2", "--out", parts.to_str().unwrap()];
    let (code, stdout, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let customers = r["files"].as_array().unwrap().iter().find(|f| f[0] == "customers.csv").unwrap();
    let total: u64 = customers[1].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
    let rows = csv::Reader::from_path(crate::common::repo("fixtures/small/customers.csv")).unwrap().records().count();
    assert_eq!(total, rows as u64);
}
