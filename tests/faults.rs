//! Faults around a real `recoup run` subprocess: killed at random points,
//! an output folder that cannot be written, a full disk, input files cut
//! short or vanishing, two runs on one folder. After each, `--out` holds the
//! previous complete set or the new complete set, never a mix, and a
//! manifest only with a complete set. docs/reliability.md lists what was
//! observed. No assertion depends on timing: delays only vary where a kill
//! lands.

use crate::common::repo;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_recoup");
const FILES: [&str; 4] = ["plan.csv", "plan.jsonl", "worklist.csv", "summary.json"];

fn recoup() -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(repo("")).env("NO_COLOR", "1").stdin(Stdio::null());
    c
}

fn run_args(ledger: &Path, as_of: &str, out: &Path) -> Vec<String> {
    let policy = repo("policies/standard");
    ["run", "--quiet", "--ledger"]
        .iter()
        .map(|s| s.to_string())
        .chain([ledger.display().to_string(), "--policy".into(), policy.display().to_string()])
        .chain(["--as-of".into(), as_of.into(), "--out".into(), out.display().to_string()])
        .collect()
}

/// Run to the end: (exit code, stderr).
fn run(ledger: &Path, as_of: &str, out: &Path) -> (i32, String) {
    let o = recoup().args(run_args(ledger, as_of, out)).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn spawn(ledger: &Path, as_of: &str, out: &Path) -> Child {
    recoup().args(run_args(ledger, as_of, out)).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

/// A complete output set: the bytes of each file but the manifest, and the
/// manifest's as-of date and action count.
#[derive(Debug, PartialEq)]
struct Set {
    files: Vec<(String, Vec<u8>)>,
    as_of: String,
    actions: u64,
}

/// Read `out` as a complete set; panics (naming what is wrong) on a mix, a
/// missing file or a manifest that does not match the plan.
fn read_set(out: &Path) -> Set {
    let mut names: Vec<String> =
        std::fs::read_dir(out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [".recoup-output", "manifest.json", "outbox", "plan.csv", "plan.jsonl", "summary.json", "worklist.csv"],
        "{out:?}"
    );
    // The outbox belongs to the set: its e-mails are those the plan beside it calls for.
    let emails = std::fs::read_to_string(out.join("outbox/email.jsonl")).unwrap().lines().count();
    let mbox = recoup::outbox::mbox_messages(&std::fs::read(out.join("outbox/email.mbox")).unwrap());
    assert_eq!(mbox.len(), emails, "{out:?}");
    let plan = std::fs::read_to_string(out.join("plan.csv")).unwrap();
    for (_, raw) in &mbox {
        let h = recoup::send::eml::parse(raw).unwrap();
        let id = h.action_id.unwrap();
        assert!(plan.contains(&format!("\n{id},")), "{out:?}: {id} is not in the plan beside it");
    }
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<(String, Vec<u8>)> =
        FILES.iter().map(|f| (f.to_string(), std::fs::read(out.join(f)).unwrap())).collect();
    let rows = files[0].1.iter().filter(|&&b| b == b'\n').count() as u64 - 1;
    let actions = m["actions"].as_u64().unwrap();
    assert_eq!(actions, rows, "the manifest describes the plan beside it");
    Set { files, as_of: m["as_of"].as_str().unwrap().to_string(), actions }
}

/// A generated ledger big enough for a debug run to take a second or two.
fn big_ledger(dir: &Path) -> PathBuf {
    let ledger = dir.join("ledger");
    let cfg = recoup::generate::GenerateConfig {
        customers: 3_000,
        seed: 7,
        as_of: "2026-11-16".parse().unwrap(),
        months: 12,
    };
    recoup::generate::generate(&cfg, &ledger).unwrap();
    ledger
}

fn staging_left(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".staging-"))
        .collect()
}

/// SIGKILL a real run at 20 points spread over its duration: the folder
/// always holds one complete set — the one before or the one the run was
/// writing — with its manifest. Each run writes the other date's set, so
/// both outcomes are told apart.
#[test]
fn a_run_killed_at_any_point_leaves_the_previous_or_the_new_complete_set() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = big_ledger(tmp.path());
    let dates = ["2026-11-16", "2026-11-20"];
    let mut refs = Vec::new();
    let mut took = Duration::ZERO;
    for d in dates {
        let out = tmp.path().join(format!("ref-{d}"));
        let t = Instant::now();
        let (code, err) = run(&ledger, d, &out);
        took = took.max(t.elapsed());
        assert_eq!(code, 0, "{err}");
        refs.push(read_set(&out));
    }
    assert_ne!(refs[0].files, refs[1].files, "the two dates plan differently");
    let out = tmp.path().join("out");
    assert_eq!(run(&ledger, dates[0], &out).0, 0);
    let mut current = 0;
    let (mut kept, mut replaced) = (0, 0);
    for i in 0..20u32 {
        let next = 1 - current;
        let delay = took.mul_f64(1.2 * (f64::from(i) + 0.5) / 20.0);
        let mut child = spawn(&ledger, dates[next], &out);
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; the run may already have finished
        child.wait().unwrap();
        let now = read_set(&out);
        if now == refs[next] {
            replaced += 1;
            current = next;
        } else {
            assert_eq!(now, refs[current], "kill {i} after {delay:?}: neither the previous nor the new set");
            kept += 1;
        }
    }
    eprintln!("faults: 20 kills over {took:?}: {kept} kept the previous set, {replaced} had the new one");
    // The lock died with the killed runs and their staging folders are cleared.
    assert_eq!(run(&ledger, dates[0], &out).0, 0);
    assert_eq!(read_set(&out), refs[0]);
    assert_eq!(staging_left(tmp.path()), Vec::<String>::new());
}

#[test]
fn a_second_run_on_the_same_folder_refuses_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = big_ledger(tmp.path());
    let out = tmp.path().join("out");
    let first = spawn(&ledger, "2026-11-16", &out);
    // The first run holds the lock once its staging folder exists.
    let staging = tmp.path().join(format!(".out.staging-{}", first.id()));
    let t = Instant::now();
    while !staging.exists() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(staging.exists(), "the first run started");
    let (code, err) = run(&repo("fixtures/small"), "2026-11-16", &out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is being written by another recoup run"), "{err}");
    assert!(err.contains("wait for it to finish"), "{err}");
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let set = read_set(&out);
    assert_eq!(set.as_of, "2026-11-16");
    assert!(set.actions > 100, "the first run's plan, untouched by the second");
}

#[test]
fn an_output_path_under_a_regular_file_is_an_error_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "not a folder").unwrap();
    let (code, err) = run(&repo("fixtures/small"), "2026-11-16", &file.join("out"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot write") && err.contains("file"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");
}

/// Mount a tmpfs of `size` at `dir`; false when this machine does not let
/// the tests mount (not root, or no permission in the container).
fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("faults: cannot mount a tmpfs here; {} not tested on a real file system", dir.display());
    }
    ok
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_output_folder_is_an_error_and_the_previous_outputs_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    if !mount_tmpfs(&mnt, "8m") {
        return;
    }
    let _guard = Unmount(mnt.clone());
    let out = mnt.join("out");
    assert_eq!(run(&repo("fixtures/small"), "2026-11-16", &out).0, 0);
    let before = read_set(&out);
    let ro = Command::new("mount").args(["-o", "remount,ro"]).arg(&mnt).status().unwrap();
    assert!(ro.success());
    let (code, err) = run(&repo("fixtures/small"), "2026-11-20", &out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot write") && err.to_lowercase().contains("read-only"), "{err}");
    assert_eq!(read_set(&out), before);
}

#[test]
fn a_full_disk_is_an_error_and_the_previous_outputs_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = big_ledger(tmp.path());
    let mnt = tmp.path().join("mnt");
    // Room for the small ledger's outputs, not for the big one's (~0.9 MB).
    if !mount_tmpfs(&mnt, "256k") {
        return;
    }
    let _guard = Unmount(mnt.clone());
    let out = mnt.join("out");
    assert_eq!(run(&repo("fixtures/small"), "2026-11-16", &out).0, 0);
    let before = read_set(&out);
    let (code, err) = run(&ledger, "2026-11-16", &out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot write") && err.contains("no space left on device"), "{err}");
    assert_eq!(read_set(&out), before);
    assert_eq!(staging_left(&mnt), Vec::<String>::new(), "the half-written staging folder is removed");
}

/// Copy a ledger folder.
fn copy_ledger(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn an_input_file_cut_mid_line_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    copy_ledger(&repo("fixtures/demo"), &ledger);
    let out = tmp.path().join("out");
    assert_eq!(run(&ledger, "2026-11-16", &out).0, 0);
    let before = read_set(&out);
    // Cut invoices.csv in the middle of a line, as a copy interrupted half-way would.
    let path = ledger.join("invoices.csv");
    let bytes = std::fs::read(&path).unwrap();
    let mut cut = bytes.len() / 2;
    while bytes[cut - 1] == b'\n' || bytes[cut] == b'\n' || bytes[cut - 1] == b',' {
        cut += 1;
    }
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let last_line = bytes[..cut].iter().filter(|&&b| b == b'\n').count() + 1;
    let (code, err) = run(&ledger, "2026-11-16", &out);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains(&format!("invoices.csv:{last_line}")), "line {last_line} named: {err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(read_set(&out), before);
}

#[test]
fn an_input_file_that_vanishes_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    copy_ledger(&repo("fixtures/small"), &ledger);
    let out = tmp.path().join("out");
    assert_eq!(run(&ledger, "2026-11-16", &out).0, 0);
    let before = read_set(&out);
    std::fs::remove_file(ledger.join("payments.csv")).unwrap();
    let (code, err) = run(&ledger, "2026-11-20", &out);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("missing ledger file") && err.contains("payments.csv"), "{err}");
    assert_eq!(read_set(&out), before);
}

/// The ledger folder moved away while runs read it, at points spread over
/// the run: each run either read it all (exit 0, the new set) or refused
/// (exit 4, the previous set); never anything else.
#[test]
fn a_ledger_moved_away_during_the_run_gives_a_set_or_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = big_ledger(tmp.path());
    let gone = tmp.path().join("gone");
    let out = tmp.path().join("out");
    let t = Instant::now();
    assert_eq!(run(&ledger, "2026-11-16", &out).0, 0);
    let took = t.elapsed();
    let first = read_set(&out);
    let whole = tmp.path().join("whole");
    assert_eq!(run(&ledger, "2026-11-20", &whole).0, 0);
    let second = read_set(&whole);
    let mut seen = [0u32; 2];
    let mut replaced = false;
    for i in 0..6u32 {
        let child = spawn(&ledger, "2026-11-20", &out);
        std::thread::sleep(took.mul_f64(f64::from(i) / 10.0));
        std::fs::rename(&ledger, &gone).unwrap();
        let o = child.wait_with_output().unwrap();
        std::fs::rename(&gone, &ledger).unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let set = read_set(&out);
        match o.status.code() {
            Some(0) => {
                assert_eq!(&set, &second, "a run that finished read every file");
                replaced = true;
                seen[0] += 1;
            }
            Some(4) => {
                assert!(err.contains(&ledger.display().to_string()), "the ledger is named: {err}");
                assert_eq!(&set, if replaced { &second } else { &first }, "run {i}: nothing was written");
                seen[1] += 1;
            }
            other => panic!("exit {other:?}: {err}"),
        }
    }
    eprintln!("faults: ledger moved away 6 times: {} runs finished, {} refused", seen[0], seen[1]);
}

// Output paths never destroy what recoup did not write (issue 19, §1): each
// refused case exits 2 before any work, the user's bytes untouched.

/// Every file under `dir` (links not followed) with its bytes, for "untouched" checks.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let t = std::fs::symlink_metadata(&p).unwrap().file_type();
            if t.is_dir() {
                todo.push(p);
            } else {
                let bytes = if t.is_symlink() { Vec::new() } else { std::fs::read(&p).unwrap() };
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// recoup with `args` from the repository root: (exit code, stderr).
fn cli(args: &[&str]) -> (i32, String) {
    let o = recoup().args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A workspace: a copy of the demo ledger (`L`) and of the standard policy (`P`).
fn workspace() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("L");
    copy_ledger(&repo("fixtures/demo"), &ledger);
    let policy = tmp.path().join("P");
    let (code, err) = cli(&["init", s(&policy)]);
    assert_eq!(code, 0, "{err}");
    (tmp, ledger, policy)
}

fn refused(args: &[&str], untouched: &[&Path], why: &str) {
    let before: Vec<_> = untouched.iter().map(|d| tree(d)).collect();
    let (code, err) = cli(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    assert!(err.contains("refusing to write") && err.contains(why), "{args:?}: {err}");
    assert!(err.contains("= help:"), "{args:?}: {err}");
    for (d, b) in untouched.iter().zip(before) {
        assert!(tree(d) == b, "{args:?} changed {}", d.display());
    }
}

#[test]
fn run_and_simulate_refuse_an_out_that_is_or_holds_an_input() {
    let (tmp, l, p) = workspace();
    let t = tmp.path();
    let run = |out: &Path| {
        ["run", "--ledger", s(&l), "--policy", s(&p), "--as-of", "2026-11-16", "--out", s(out)]
            .map(String::from)
            .to_vec()
    };
    refused(&args(&run(&l)), &[t], "it is the ledger folder this command reads");
    refused(&args(&run(&p)), &[t], "it is the policy this command reads");
    refused(&args(&run(t)), &[t], "it holds the ledger folder");
    refused(&args(&run(&l.join("out"))), &[t], "it is inside the ledger folder");
    let sim = ["simulate", "--ledger", s(&l), "--baseline", s(&p), "--variant", "policies/strict", "--as-of"];
    refused(&[&sim[..], &["2026-11-16", "--out", s(&l)]].concat(), &[t], "it is the ledger folder");
    refused(&[&sim[..], &["2026-11-16", "--out", s(&p)]].concat(), &[t], "it is the policy");
    let strict = repo("policies/strict");
    let before = tree(&strict);
    refused(&[&sim[..], &["2026-11-16", "--out", s(&strict)]].concat(), &[t], "it is the policy");
    assert!(tree(&strict) == before);
    refused(&["simulate", "--arms", "--ledger", s(&l), "--out", s(&l)], &[t], "it is the ledger folder");
}

#[test]
fn an_out_recoup_did_not_write_is_refused_untouched() {
    let (tmp, l, p) = workspace();
    let t = tmp.path();
    let run = |out: &str| -> Vec<String> {
        ["run", "--ledger", s(&l), "--policy", s(&p), "--as-of", "2026-11-16", "--out", out].map(String::from).to_vec()
    };
    let docs = t.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("thesis.txt"), "years of work").unwrap();
    refused(&args(&run(s(&docs))), &[t], "it is a folder recoup did not write (it holds `thesis.txt`)");
    let file = t.join("plan");
    std::fs::write(&file, "mine").unwrap();
    refused(&args(&run(s(&file))), &[t], "it is a file, not a folder");
    let link = t.join("link");
    std::os::unix::fs::symlink(&docs, &link).unwrap();
    refused(&args(&run(s(&link))), &[t], "it is a symbolic link");
    for dots in [".", "..", "docs/.", "docs/.."] {
        let o = recoup().current_dir(t).args(args(&run(dots))).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{dots}: {err}");
        assert!(err.contains("names the current folder"), "{dots}: {err}");
    }
    // A generated ledger is recoup's, but not a run's outputs.
    let generated = t.join("gen");
    let (code, err) = cli(&["generate", "--customers", "20", "--as-of", "2026-11-16", "--out", s(&generated)]);
    assert_eq!(code, 0, "{err}");
    refused(&args(&run(s(&generated))), &[t], "it holds recoup's `ledger` outputs, not run outputs");
    // generate over a ledger it did not write; over its own, it goes on.
    refused(&["generate", "--customers", "20", "--as-of", "2026-11-16", "--out", s(&l)], &[t], "recoup did not write");
    let (code, err) = cli(&["generate", "--customers", "30", "--as-of", "2026-11-16", "--out", s(&generated)]);
    assert_eq!(code, 0, "{err}");
    // Nothing of the refused runs was left beside them.
    let mut left: Vec<String> =
        std::fs::read_dir(t).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, [".gen.lock", "L", "P", "docs", "gen", "link", "plan"]);
    // A run's folder is replaced by the next run, as every night.
    let out = t.join("out");
    for _ in 0..2 {
        let (code, err) = cli(&args(&run(s(&out))));
        assert_eq!(code, 0, "{err}");
    }
}

#[test]
fn single_file_outputs_never_overwrite_inputs_or_foreign_files() {
    let (tmp, l, p) = workspace();
    let t = tmp.path();
    let facts =
        |out: &Path| ["facts", "--ledger", s(&l), "--as-of", "2026-11-16", "--out", s(out)].map(String::from).to_vec();
    refused(&args(&facts(&l.join("customers.csv"))), &[t], "it is the ledger file this command reads");
    let notes = t.join("notes.csv");
    std::fs::write(&notes, "a,b\n1,2\n").unwrap();
    refused(&args(&facts(&notes)), &[t], "it exists and was not written by `recoup facts`");
    // Its own file, again and again.
    let mine = t.join("facts.csv");
    for _ in 0..2 {
        let (code, err) = cli(&args(&facts(&mine)));
        assert_eq!(code, 0, "{err}");
    }
    let run = t.join("run");
    let (code, err) =
        cli(&["run", "--ledger", s(&l), "--policy", s(&p), "--as-of", "2026-11-16", "--out", s(&run), "-q"]);
    assert_eq!(code, 0, "{err}");
    let summary = run.join("summary.json");
    refused(&["report", "--run", s(&run), "--out", s(&summary)], &[t], "not written by `recoup report`");
    for _ in 0..2 {
        let (code, err) = cli(&["report", "--run", s(&run)]);
        assert_eq!(code, 0, "a report replaces the previous report: {err}");
    }
    refused(&["schema", "--out", s(&notes)], &[t], "not written by `recoup schema`");
    let schema = t.join("policy.schema.json");
    for _ in 0..2 {
        let (code, err) = cli(&["schema", "--out", s(&schema)]);
        assert_eq!(code, 0, "{err}");
    }
}

#[test]
fn init_on_a_full_disk_leaves_nothing_that_blocks_a_retry() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    if !mount_tmpfs(&mnt, "8k") {
        return;
    }
    let _guard = Unmount(mnt.clone());
    let policy = mnt.join("mine");
    let (code, err) = cli(&["init", s(&policy)]);
    assert_eq!(code, 1, "a full disk is an I/O error: {err}");
    assert!(!policy.exists(), "a half policy was left: {:?}", tree(&mnt));
    assert!(staging_left(&mnt).is_empty(), "{:?}", staging_left(&mnt));
    let grown = Command::new("mount").args(["-o", "remount,size=1m"]).arg(&mnt).status().unwrap();
    assert!(grown.success());
    let (code, err) = cli(&["init", s(&policy)]);
    assert_eq!(code, 0, "the retry is not blocked: {err}");
}
