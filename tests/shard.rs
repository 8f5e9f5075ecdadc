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

/// The plan's files, and the outbox's: the merge gathers the shards' messages
/// into the order the unsharded run writes them (docs/outbox.md).
fn assert_same_outputs(a: &Path, b: &Path) {
    assert!(a.join("outbox").is_dir() && b.join("outbox").is_dir());
    for f in COMPARED.iter().chain(recoup::outbox::FILES) {
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

/// The shards' outboxes are gathered only when every shard has one.
#[test]
fn merge_gathers_the_outboxes_only_of_shards_that_all_have_one() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let d = |n: &str| t.join(n);
    run("fixtures/demo", "2026-11-16", &d("s0"), Some("0/2"));
    // Shard `shard` of the demo without its outbox, into `out`.
    let without_outbox = |out: &std::path::Path, shard: &str| {
        let args = ["run", "-q", "--no-outbox", "--ledger", "fixtures/demo", "--policy", "policies/standard"];
        let mut args = args.to_vec();
        args.extend(["--as-of", "2026-11-16", "--out", out.to_str().unwrap(), "--shard", shard]);
        let (code, _, err) = recoup(&args, None);
        assert_eq!(code, 0, "{err}");
    };
    without_outbox(&d("s1"), "1/2");
    let (code, err) = merge(&[&d("s0"), &d("s1")], &d("merged"));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("has no outbox but others have"), "{err}");
    assert!(!d("merged").exists());
    // None has one: the merge writes the plan alone.
    std::fs::remove_dir_all(d("s0")).unwrap();
    without_outbox(&d("s0"), "0/2");
    let (code, err) = merge(&[&d("s0"), &d("s1")], &d("merged"));
    assert_eq!(code, 0, "{err}");
    assert!(!d("merged/outbox").exists());
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

// Sets that are atomic as sets, and merges that prove their shards whole
// (issue 19, §1-§2; issue 20, §4).

fn split(ledger: &Path, n: &str, out: &Path) -> (i32, String) {
    let (code, _, err) = recoup(
        &["split", "-q", "--ledger", ledger.to_str().unwrap(), "--shards", n, "--out", out.to_str().unwrap()],
        None,
    );
    (code, err)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

#[test]
fn a_split_replaces_the_previous_split_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let parts = tmp.path().join("parts");
    let demo = crate::common::repo("fixtures/demo");
    assert_eq!(split(&demo, "4", &parts).0, 0);
    let (code, err) = split(&crate::common::repo("fixtures/small"), "2", &parts);
    assert_eq!(code, 0, "{err}");
    // No shard of the earlier split is left to mix with the new one.
    assert_eq!(names(&parts), [".recoup-output", "shard-0", "shard-1"]);
    let p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(parts.join("shard-1/split.json")).unwrap()).unwrap();
    assert_eq!(p["shard"]["count"], 2);
}

#[test]
fn split_refuses_outputs_around_its_ledger_and_user_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let parts = t.join("parts");
    assert_eq!(split(&crate::common::repo("fixtures/small"), "2", &parts).0, 0);
    let before = std::fs::read(parts.join("shard-0/customers.csv")).unwrap();
    let (code, err) = split(&parts.join("shard-0"), "2", &parts);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("it holds the ledger folder"), "{err}");
    assert_eq!(std::fs::read(parts.join("shard-0/customers.csv")).unwrap(), before);
    let u = t.join("u");
    std::fs::create_dir_all(u.join("shard-1")).unwrap();
    std::fs::write(u.join("shard-1/notes.txt"), "mine").unwrap();
    let (code, err) = split(&crate::common::repo("fixtures/small"), "2", &u);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("recoup did not write (it holds `shard-1`)"), "{err}");
    assert_eq!(std::fs::read_to_string(u.join("shard-1/notes.txt")).unwrap(), "mine");
    let (code, err) = split(&crate::common::repo("fixtures/small"), "100000", &t.join("many"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("1..=4096"), "{err}");
    assert!(!t.join("many").exists());
    // An I/O error reading the ledger is a failed run (1), not a bad ledger (4).
    let l = t.join("L");
    std::fs::create_dir_all(l.join("promises.csv")).unwrap();
    for f in ["customers.csv", "invoices.csv", "payments.csv"] {
        std::fs::copy(crate::common::repo("fixtures/small").join(f), l.join(f)).unwrap();
    }
    let (code, err) = split(&l, "2", &t.join("io"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("promises.csv"), "{err}");
    assert!(!t.join("io").exists());
}

#[test]
fn merge_refuses_an_out_that_is_an_input() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for i in 0..2 {
        run("fixtures/small", "2026-11-16", &t.join(format!("s{i}")), Some(&format!("{i}/2")));
    }
    let (s0, s1) = (t.join("s0"), t.join("s1"));
    let plan = std::fs::read(s0.join("plan.jsonl")).unwrap();
    let (code, err) = merge(&[&s0, &s1], &s0);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("it is the shard folder this command reads"), "{err}");
    assert_eq!(std::fs::read(s0.join("plan.jsonl")).unwrap(), plan);
    assert!(s0.join("shard.json").exists());
    let (code, err) = merge(&[&s0, &s1], &crate::common::repo("fixtures/small"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("recoup did not write"), "{err}");
}

#[test]
fn merge_refuses_a_shard_cut_short() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for i in 0..2 {
        run("fixtures/demo", "2026-11-16", &t.join(format!("s{i}")), Some(&format!("{i}/2")));
    }
    // plan.jsonl cut at a line end: every line left is a valid action.
    let jsonl = t.join("s0/plan.jsonl");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&jsonl, lines[..lines.len() - 10].join("\n") + "\n").unwrap();
    let (code, err) = merge(&[&t.join("s0"), &t.join("s1")], &t.join("m"));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("`plan.jsonl` is not the file the shard wrote") && err.contains("--shard 0/2"), "{err}");
    assert!(!t.join("m").exists());
}

#[test]
fn merge_refuses_partitions_of_two_splits() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // Another ledger: the demo without its last recorded action.
    let other = t.join("other");
    std::fs::create_dir_all(&other).unwrap();
    for f in ["customers.csv", "invoices.csv", "payments.csv", "promises.csv", "actions.csv"] {
        std::fs::copy(crate::common::repo("fixtures/demo").join(f), other.join(f)).unwrap();
    }
    let actions = std::fs::read_to_string(other.join("actions.csv")).unwrap();
    let mut lines: Vec<&str> = actions.lines().collect();
    lines.pop();
    std::fs::write(other.join("actions.csv"), lines.join("\n") + "\n").unwrap();
    assert_eq!(split(&crate::common::repo("fixtures/demo"), "2", &t.join("a")).0, 0);
    assert_eq!(split(&other, "2", &t.join("b")).0, 0);
    run(t.join("a/shard-0").to_str().unwrap(), "2026-11-16", &t.join("p0"), Some("0/2"));
    run(t.join("b/shard-1").to_str().unwrap(), "2026-11-16", &t.join("p1"), Some("1/2"));
    let (code, err) = merge(&[&t.join("p0"), &t.join("p1")], &t.join("m"));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("disagree on the ledger they came from"), "{err}");
    // A partition run as another shard is refused by the run itself.
    let (code, _, err) = recoup(
        &[
            "run",
            "-q",
            "--ledger",
            t.join("a/shard-0").to_str().unwrap(),
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--shard",
            "1/2",
            "--out",
            t.join("x").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is partition 0/2 of a split ledger, but --shard is 1/2"), "{err}");
}

#[test]
fn the_policy_hash_is_its_content_not_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let absolute = crate::common::repo("policies/standard");
    let runs = [("policies/standard", "0/2", "s0"), (absolute.to_str().unwrap(), "1/2", "s1")];
    for (policy, shard, out) in runs {
        let out = t.join(out);
        let (code, _, err) = recoup(
            &[
                "run",
                "-q",
                "--ledger",
                "fixtures/small",
                "--policy",
                policy,
                "--as-of",
                "2026-11-16",
                "--shard",
                shard,
                "--out",
                out.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(code, 0, "{err}");
    }
    let (code, err) = merge(&[&t.join("s0"), &t.join("s1")], &t.join("m"));
    assert_eq!(code, 0, "relative and absolute paths name one policy: {err}");
    // A template changes what the mailer sends: the hash changes with it.
    let copy = t.join("P");
    let (code, _, err) = recoup(&["init", copy.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let hash = |p: &Path| recoup::policy::load(p).policy.unwrap().hash;
    let before = hash(&copy);
    let template = copy.join("templates/overdue-1.md");
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(&template, text + "\nA changed line.\n").unwrap();
    assert_ne!(hash(&copy), before);
    let script = copy.join("scripts/priority.rhai");
    let after_template = hash(&copy);
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, text + "\n// a comment\n").unwrap();
    assert_ne!(hash(&copy), after_template);
}

// Groups travel together (issue 23, §3): a member is sharded by its group's
// head, so group facts, shared limits and group holds are whole in a shard.

/// `recoup run` of `ledger` under `policy`, as shard `shard` when given.
fn run_policy(policy: &str, ledger: &Path, out: &Path, shard: Option<String>) {
    let (ledger, out) = (ledger.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec!["run", "-q", "--ledger", ledger, "--policy", policy, "--as-of", "2026-11-16", "--out", out];
    if let Some(s) = &shard {
        args.extend(["--shard", s.as_str()]);
    }
    let (code, _, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
}

/// Shards of `ledger` into N (reading the whole ledger, and reading the
/// partitions of `recoup split`) merge into the unsharded run, byte for byte.
fn assert_sharded_equals_unsharded(policy: &str, ledger: &Path, ns: &[u32], t: &Path) {
    run_policy(policy, ledger, &t.join("whole"), None);
    for &n in ns {
        let parts = t.join(format!("parts-{n}"));
        let (code, err) = split(ledger, &n.to_string(), &parts);
        assert_eq!(code, 0, "{err}");
        for partitioned in [false, true] {
            let outs: Vec<_> = (0..n).map(|i| t.join(format!("n{n}-{partitioned}-{i}"))).collect();
            for (i, d) in outs.iter().enumerate() {
                let from = if partitioned { parts.join(format!("shard-{i}")) } else { ledger.to_path_buf() };
                run_policy(policy, &from, d, Some(format!("{i}/{n}")));
            }
            let refs: Vec<&Path> = outs.iter().map(|p| p.as_path()).collect();
            let merged = t.join(format!("merged-{n}-{partitioned}"));
            let (code, err) = merge(&refs, &merged);
            assert_eq!(code, 0, "N={n}, partitioned={partitioned}: {err}");
            assert_same_outputs(&t.join("whole"), &merged);
        }
    }
}

#[test]
fn a_groups_members_share_its_heads_shard() {
    use recoup::plan::Shard;
    // fixtures/groups: G with M1, M2, M3; H (on hold) with HM; X alone.
    // Hashed by their own ids, members would land apart from their head
    // (checked here, so the test below can fail): the split would reject
    // them as naming an unknown parent, and HM would escape H's hold.
    for n in [2, 3] {
        assert!(
            ["M1", "M2", "M3"].iter().any(|m| Shard::of(m, n) != Shard::of("G", n))
                || Shard::of("HM", n) != Shard::of("H", n),
            "N={n}: no member hashes apart from its head by its own id"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let parts = tmp.path().join("parts");
    let (code, err) = split(&crate::common::repo("fixtures/groups"), "3", &parts);
    assert_eq!(code, 0, "{err}");
    let ids = |i: u32| -> Vec<String> {
        let mut r = csv::Reader::from_path(parts.join(format!("shard-{i}/customers.csv"))).unwrap();
        r.records().map(|r| r.unwrap()[0].to_string()).collect()
    };
    let shard_of = |id: &str| (0..3).find(|&i| ids(i).iter().any(|c| c == id)).unwrap();
    for m in ["M1", "M2", "M3"] {
        assert_eq!(shard_of(m), shard_of("G"), "{m}");
    }
    assert_eq!(shard_of("HM"), shard_of("H"));
    assert_eq!(shard_of("X"), Shard::of("X", 3));
    // A member's invoices and payments go with it.
    let inv = std::fs::read_to_string(parts.join(format!("shard-{}/invoices.csv", shard_of("G")))).unwrap();
    assert!(inv.contains("IM1,M1") && inv.contains("IM3,M3") && inv.contains("IG1,G"), "{inv}");
    let pay = std::fs::read_to_string(parts.join(format!("shard-{}/payments.csv", shard_of("G")))).unwrap();
    assert!(pay.contains("P1,M2") && pay.contains("P2,M2"), "{pay}");
}

#[test]
fn group_ledger_sharded_and_merged_is_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = crate::common::repo("fixtures/groups");
    assert_sharded_equals_unsharded("policies/standard", &ledger, &[2, 3], tmp.path());
    let plan = std::fs::read_to_string(tmp.path().join("whole/plan.csv")).unwrap();
    assert!(plan.lines().count() > 1, "{plan}");
    // policies/b2b reads the group facts (group hold, shared limit).
    let b2b = tempfile::tempdir().unwrap();
    assert_sharded_equals_unsharded("policies/b2b", &ledger, &[2, 3], b2b.path());
}

/// fixtures/demo with groups: every fifth customer heads the four after it,
/// and one head is on hold.
fn demo_with_groups(to: &Path) {
    let from = crate::common::repo("fixtures/demo");
    std::fs::create_dir_all(to).unwrap();
    for f in ["invoices.csv", "payments.csv", "promises.csv", "actions.csv"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    let mut r = csv::Reader::from_path(from.join("customers.csv")).unwrap();
    let mut w = csv::Writer::from_path(to.join("customers.csv")).unwrap();
    let mut header = r.headers().unwrap().clone();
    let on_hold = header.iter().position(|h| h == "on_hold").unwrap();
    header.push_field("parent");
    w.write_record(&header).unwrap();
    let mut head = String::new();
    for (k, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        let mut row: Vec<String> = rec.iter().map(str::to_string).collect();
        if k % 5 == 0 {
            head = row[0].clone();
            if k == 10 {
                row[on_hold] = "true".into();
            }
            row.push(String::new());
        } else {
            row.push(head.clone());
        }
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn demo_with_groups_sharded_and_merged_is_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    demo_with_groups(&ledger);
    assert_sharded_equals_unsharded("policies/standard", &ledger, &[3], tmp.path());
}

/// policies/b2b reads the group facts (a group over its head's limit is
/// held) and links each group's statements into one message.
#[test]
fn demo_with_groups_under_the_b2b_policy_sharded_and_merged_is_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    demo_with_groups(&ledger);
    assert_sharded_equals_unsharded("policies/b2b", &ledger, &[2], tmp.path());
    let plan = std::fs::read_to_string(tmp.path().join("whole/plan.csv")).unwrap();
    assert!(plan.contains(",group-over-limit,"), "no group hold in the plan");
}

#[test]
fn a_parquet_ledger_splits_into_csv_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let pq = t.join("pq");
    recoup::ledger::parquet::write_ledger(&crate::common::repo("fixtures/groups"), &pq, 3).unwrap();
    let parts = t.join("parts");
    let (code, out, err) =
        recoup(&["split", "--ledger", pq.to_str().unwrap(), "--shards", "2", "--out", parts.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("read Parquet files; each shard is a CSV ledger folder"), "{out}");
    assert!(out.contains("4 customers of groups go with their group's head"), "{out}");
    assert!(parts.join("shard-0/customers.csv").is_file() && !parts.join("shard-0/customers.parquet").exists());
    // The partitions' runs merge into the run of the CSV ledger.
    run_policy("policies/standard", &crate::common::repo("fixtures/groups"), &t.join("whole"), None);
    let outs: Vec<_> = (0..2).map(|i| t.join(format!("p{i}"))).collect();
    for (i, d) in outs.iter().enumerate() {
        run_policy("policies/standard", &parts.join(format!("shard-{i}")), d, Some(format!("{i}/2")));
    }
    let (code, err) = merge(&[&outs[0], &outs[1]], &t.join("merged"));
    assert_eq!(code, 0, "{err}");
    assert_same_outputs(&t.join("whole"), &t.join("merged"));
}

/// Declared kinds and `[notify]` (fixtures/kinds): a merged summary.json
/// keeps the kinds' labels and adds up the shards' notify counts, as the
/// unsharded run writes them.
#[test]
fn declared_kinds_and_notify_counts_survive_a_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = std::path::Path::new("fixtures/kinds/ledger").canonicalize().unwrap();
    assert_sharded_equals_unsharded("fixtures/kinds/policy", &ledger, &[2, 3], tmp.path());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("merged-2-true/summary.json")).unwrap()).unwrap();
    assert!(summary["kind_labels"].as_object().is_some_and(|m| !m.is_empty()), "{summary}");
    assert!(summary["notify"]["notified"].as_u64().is_some_and(|n| n > 0), "{summary}");
}
