//! Hostile and broken policies (fixtures/hostile-policies/): runaway
//! scripts are stopped by the engine's limits and reported with rule and
//! customer, in the policy's error mode; scripts cannot reach files, the
//! environment, programs or the network; template names and the templates
//! folder cannot leave the policy folder. Run with `--nocapture` to see how
//! long each case took to stop (docs/reliability.md); no assertion is timed.

use crate::cli::recoup;
use crate::common::{date, repo};
use recoup::facts::{Context, FactsConfig};
use recoup::ledger::{LoadOptions, load};
use recoup::plan::{RunError, evaluate};
use recoup::policy::{self, Code};
use std::path::Path;
use std::time::Instant;

/// Each runaway case and the words of the limit that stops it.
const RUNAWAY: [(&str, &str); 6] = [
    ("infinite-loop", "too many operations"),
    ("deep-recursion", "stack overflow"),
    ("huge-string", "length of string too large"),
    ("huge-array", "size of array/blob too large"),
    ("nested-arrays", "size of array/blob too large"),
    ("divide-by-zero", "division by zero"),
];

fn hostile(name: &str) -> std::path::PathBuf {
    repo(&format!("fixtures/hostile-policies/{name}"))
}

/// A copy of a hostile policy with `on_script_error = "fail"`.
fn failing_copy(name: &str, into: &Path) -> std::path::PathBuf {
    let dst = into.join(name);
    std::fs::create_dir_all(dst.join("scripts")).unwrap();
    let text = std::fs::read_to_string(hostile(name).join("policy.toml")).unwrap();
    assert!(text.contains("on_script_error = \"skip\""));
    std::fs::write(dst.join("policy.toml"), text.replace("on_script_error = \"skip\"", "on_script_error = \"fail\""))
        .unwrap();
    std::fs::copy(hostile(name).join("scripts/h.rhai"), dst.join("scripts/h.rhai")).unwrap();
    dst
}

/// A copy of a hostile policy (skip mode) allowing `share` of the customers to fail.
fn sharing_copy(name: &str, share: &str, into: &Path) -> std::path::PathBuf {
    let dst = into.join(format!("{name}-{share}"));
    std::fs::create_dir_all(dst.join("scripts")).unwrap();
    let text = std::fs::read_to_string(hostile(name).join("policy.toml")).unwrap();
    let line = "on_script_error = \"skip\"\n";
    assert!(text.contains(line));
    std::fs::write(dst.join("policy.toml"), text.replace(line, &format!("{line}max_failed_share = {share}\n")))
        .unwrap();
    std::fs::copy(hostile(name).join("scripts/h.rhai"), dst.join("scripts/h.rhai")).unwrap();
    dst
}

#[test]
fn runaway_scripts_are_stopped_and_each_customer_skipped_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = load(&repo("fixtures/small"), &LoadOptions::default()).unwrap();
    let ids: Vec<&str> = ledger.customers.iter().map(|c| c.id.as_str()).collect();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    for (name, words) in RUNAWAY {
        // By default (1 % of 3 customers: none may fail) the run fails, naming the first failure.
        let p = policy::compile_path(&hostile(name)).unwrap().0;
        match evaluate(&ledger, &p, &ctx) {
            Err(RunError::TooManyFailed { allowed: 0, customers: 3, first, .. }) => {
                assert_eq!((first.customer_id.as_str(), first.rule_id.as_str()), ("C1", "hostile"), "{name}");
                assert!(first.message.to_lowercase().contains(words), "{name}: {}", first.message);
            }
            other => panic!("{name}: {:?}", other.map(|p| p.skipped.len())),
        }
        // Allowed to fail for all: every customer skipped and reported.
        let (p, report) = policy::compile_path(&sharing_copy(name, "1.0", tmp.path()))
            .unwrap_or_else(|r| panic!("{name}: {}", r.render()));
        assert_eq!(report.errors(), 0, "{name}");
        let t = Instant::now();
        let plan = evaluate(&ledger, &p, &ctx).unwrap();
        eprintln!("hostile {name}: {} customers stopped in {:?}", plan.skipped.len(), t.elapsed());
        assert!(plan.entries.is_empty(), "{name}: no actions for a customer whose strategy failed");
        let skipped: Vec<&str> = plan.skipped.iter().map(|e| e.customer_id.as_str()).collect();
        assert_eq!(skipped, ids, "{name}: every customer skipped, in order");
        for e in &plan.skipped {
            assert_eq!(e.rule_id, "hostile", "{name}");
            assert!(e.message.to_lowercase().contains(words), "{name}: {}", e.message);
            let at = e.location.as_deref().unwrap_or_default();
            assert!(
                at.contains("policy.toml:11:"),
                "{name}: the rule is pointed at (a line below the original's): {at}"
            );
        }
    }
}

#[test]
fn in_fail_mode_a_runaway_script_fails_the_run_naming_rule_and_customer() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = load(&repo("fixtures/small"), &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    for (name, words) in RUNAWAY {
        let p = policy::compile_path(&failing_copy(name, tmp.path())).unwrap().0;
        match evaluate(&ledger, &p, &ctx) {
            Err(RunError::Script(e)) => {
                assert_eq!((e.customer_id.as_str(), e.rule_id.as_str()), ("C1", "hostile"), "{name}");
                assert!(e.message.to_lowercase().contains(words), "{name}: {}", e.message);
            }
            Ok(plan) => panic!("{name}: the run went on with {} actions", plan.entries.len()),
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn the_command_line_follows_the_error_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = |policy: &Path| -> Vec<String> {
        ["run", "--ledger", "fixtures/small", "--as-of", "2026-11-16", "--policy"]
            .iter()
            .map(|s| s.to_string())
            .chain([policy.display().to_string(), "--out".into(), out.display().to_string()])
            .collect()
    };
    // Skip, every customer failing (more than max_failed_share): exit 7, nothing written.
    let a = args(&hostile("infinite-loop"));
    let (code, _, stderr) = recoup(&a.iter().map(String::as_str).collect::<Vec<_>>(), Some(tmp.path()));
    assert_eq!(code, 7, "{stderr}");
    assert!(
        stderr.contains(
            "rules failed for more than 0 of 3 customers, more than `max_failed_share = 0.01` allows: the run was \
             stopped; first: strategy `hostile` failed for customer `C1`: too many operations"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!out.exists());
    // Skip, all allowed to fail: the run goes on, each customer reported, the outputs written.
    let a = args(&sharing_copy("infinite-loop", "1", tmp.path()));
    let (code, stdout, stderr) = recoup(&a.iter().map(String::as_str).collect::<Vec<_>>(), Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("customer `C1` skipped: strategy `hostile` failed: too many operations"), "{stderr}");
    assert!(stdout.contains("3 skipped"), "{stdout}");
    let before = std::fs::read(out.join("plan.csv")).unwrap();
    // Fail: exit 1, the rule and the customer named, nothing written.
    let a = args(&failing_copy("infinite-loop", tmp.path()));
    let (code, _, stderr) = recoup(&a.iter().map(String::as_str).collect::<Vec<_>>(), Some(tmp.path()));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("rule `hostile` failed for customer `C1`: too many operations"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(std::fs::read(out.join("plan.csv")).unwrap(), before, "the previous outputs stay");
}

#[test]
fn a_script_that_runs_away_while_loading_is_refused_at_check_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    let text = std::fs::read_to_string(hostile("infinite-loop").join("policy.toml")).unwrap();
    std::fs::write(dir.join("policy.toml"), text).unwrap();
    std::fs::write(dir.join("scripts/h.rhai"), "let n = 0;\nloop { n += 1; }\nfn spin(customer) { true }\n").unwrap();
    let t = Instant::now();
    let loaded = policy::load(&dir);
    eprintln!("hostile loop at load: stopped in {:?}", t.elapsed());
    assert!(loaded.policy.is_none());
    let e = loaded.report.diagnostics.iter().find(|d| d.code == Code::ScriptError).expect("a script error");
    assert!(e.message.contains("too many operations"), "{}", e.message);
}

#[test]
fn expressions_nested_too_deep_are_refused_not_overflowing_the_stack() {
    for depth in [100, 10_000] {
        let src = format!("{}customer.overdue_total{} > 0", "(".repeat(depth), ")".repeat(depth));
        let Err(e) = policy::expression(&src, false) else { panic!("{depth} parentheses accepted") };
        assert!(e.iter().any(|d| d.code == Code::RhaiSyntax), "{depth}: {:?}", e);
    }
    // Deeply nested TOML is a syntax error, not a crash.
    let toml = format!("[policy]\nname = \"x\"\nversion = \"1\"\nx = {}1{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let loaded = policy::load_str("deep.toml", &toml);
    assert!(loaded.policy.is_none());
}

/// Calls that would reach outside: none exists in the rule engine.
const ESCAPES: [&str; 9] = [
    r#"open("/etc/passwd")"#,
    r#"read_file("/etc/passwd")"#,
    r#"env("HOME")"#,
    r#"system("cat /etc/passwd")"#,
    r#"http_get("http://example.com/")"#,
    r#"Fn("open").call("/etc/passwd")"#,
    r#"eval("40 + 2")"#,
    r#"print("out")"#,
    r#"debug("out")"#,
];

#[test]
fn scripts_cannot_read_files_the_environment_or_the_network() {
    // At check time: every such call is refused with the function named.
    for call in ESCAPES {
        let e = policy::expression(call, false).err().unwrap_or_else(|| panic!("`{call}` was accepted"));
        assert!(
            e.iter().any(|d| matches!(d.code, Code::UnknownFunction | Code::RhaiSyntax)),
            "{call}: {:?}",
            e.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
    }
    // At run time, past the checks: the engine itself has no such function.
    let engine = policy::script::engine();
    // (`print` and `debug` are rhai keywords: refused at check time above,
    // and no-ops in the raw engine, which has no output attached.)
    for call in &ESCAPES[..7] {
        let r = engine.eval::<rhai::Dynamic>(call);
        assert!(r.is_err(), "`{call}` ran: {r:?}");
    }
    let r = engine.eval::<rhai::Dynamic>(r#"import "/etc/passwd" as p; 1"#);
    assert!(r.is_err(), "a module from disk: {r:?}");
    // A policy whose rules and script try all of this does not check.
    let loaded = policy::load(&hostile("io-attempts"));
    assert!(loaded.policy.is_none());
    let unknown: Vec<&str> = loaded
        .report
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownFunction && d.message.starts_with("unknown function"))
        .map(|d| d.message.split('`').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(unknown, ["open", "env", "read_file", "system", "http_get", "call"]);
}

#[test]
fn template_names_and_the_templates_folder_stay_inside_the_policy() {
    let loaded = policy::load(&hostile("template-escape"));
    assert!(loaded.policy.is_none());
    let bad: Vec<&str> = loaded
        .report
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::InvalidValue)
        .map(|d| d.message.split('`').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(bad, ["../../../etc/passwd", "/etc/shadow", ".."]);
    let loaded = policy::load(&hostile("templates-folder-escape"));
    assert!(loaded.policy.is_none());
    let d = &loaded.report.diagnostics;
    assert_eq!(d.len(), 1, "{}", loaded.report.render());
    assert!(d[0].message.contains("outside the policy folder"), "{}", d[0].message);
    // A plain name still checks against the folder, and a name with a dot is fine.
    for (name, ok) in [("overdue-1", true), ("overdue-1.txt", true), ("nested/overdue-1", false), ("a\\b", false)] {
        assert_eq!(policy::validate::is_plain_name(name), ok, "{name}");
    }
    for (path, ok) in [("templates", true), ("mail/templates", true), ("./t", true), ("../t", false), ("/etc", false)] {
        assert_eq!(policy::validate::is_inside(path), ok, "{path}");
    }
}

/// A ledger at the edge of the supported range of money: every amount and
/// credit limit 999,999,999,999.99; customer C1 has 10 open and 10 paid such
/// invoices, 10 such payments and 1,000 such promises; C2 10 open invoices.
fn max_ledger(dir: &Path) {
    const M: &str = "999999999999.99";
    let mut c = String::from("customer_id,name,segment,country,currency,credit_limit,payment_terms\n");
    c.push_str(&format!("C1,Max Co,enterprise,US,USD,{M},NET30\nC2,Other,small,US,USD,{M},NET30\n"));
    let mut inv = String::from("invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n");
    let mut pay = String::from("payment_id,customer_id,invoice_id,paid_on,amount\n");
    let mut pro = String::from("promise_id,customer_id,invoice_id,made_on,due_on,amount,plan_id\n");
    for i in 0..10 {
        let m = 1 + i % 9;
        inv.push_str(&format!("I{i:02},C1,2026-0{m}-01,2026-0{m}-28,USD,{M},{M},open\n"));
        inv.push_str(&format!("P{i:02},C1,2025-0{m}-01,2025-0{m}-28,USD,{M},0.00,paid\n"));
        inv.push_str(&format!("J{i:02},C2,2026-10-01,2026-10-31,USD,{M},{M},open\n"));
        pay.push_str(&format!("PAY{i:02},C1,P{i:02},2025-1{}-15,{M}\n", i % 3));
    }
    for i in 0..1000 {
        let d = 1 + i % 28;
        pro.push_str(&format!("PR{i:04},C1,,2026-10-{d:02},2026-11-{d:02},{M},\n"));
    }
    for (name, text) in [("customers.csv", c), ("invoices.csv", inv), ("payments.csv", pay), ("promises.csv", pro)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Values at the edge of the supported range run through every command
/// (the largest amounts in the ledger; the largest fees, costs,
/// compensation and rates in the policy): no overflow, no panic. Values
/// past the edge are refused up front: the ledger with exit 4, the policy
/// with exit 3 (they crashed run, facts, explain and simulate before).
#[test]
fn the_largest_supported_values_run_and_larger_ones_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    std::fs::create_dir(&ledger).unwrap();
    max_ledger(&ledger);
    let l = ledger.to_str().unwrap();
    let out = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let at = ["--as-of", "2026-11-16"];
    for policy in ["fixtures/edge-policy", "policies/standard"] {
        let runs: [Vec<&str>; 4] = [
            vec!["run", "--ledger", l, "--policy", policy, "--out"],
            vec!["facts", "--ledger", l, "--format", "json"],
            vec!["explain", "--ledger", l, "--policy", policy, "--customer", "C1"],
            vec!["simulate", "--ledger", l, "--baseline", policy, "--variant", "policies/strict", "--runs", "5"],
        ];
        for (k, args) in runs.into_iter().enumerate() {
            let mut args = args;
            let dest = out(&format!("out-{k}"));
            if k == 0 {
                args.push(&dest);
            }
            if k == 3 {
                args.extend(["--horizon", "13w", "--out", &dest]);
            }
            args.extend(at);
            let (code, stdout, stderr) = recoup(&args, None);
            assert_eq!(code, 0, "{args:?}\n{stdout}\n{stderr}");
        }
    }
    let plan = std::fs::read_to_string(tmp.path().join("out-0/summary.json")).unwrap();
    assert!(plan.contains("19999999999999.80"), "open AR of 20 invoices of the largest amount");
    // One past the edge: refused with the line and column, never a panic.
    let (code, _, stderr) = recoup(
        &["run", "--ledger", "fixtures/bad/out-of-range", "--policy", "policies/standard", "--out", &out("x")],
        None,
    );
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("invoices.csv:2 (column `amount`)"), "{stderr}");
    let bad = [
        "run",
        "--ledger",
        l,
        "--policy",
        "fixtures/bad-policies/out-of-range",
        "--out",
        &out("y"),
        "--as-of",
        "2026-11-16",
    ];
    let (code, _, stderr) = recoup(&bad, None);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("policy.toml:15:12"), "{stderr}");
}

/// The inputs that crashed the fuzz targets (`fuzz/corpus/`), replayed as
/// the targets do: a ledger file over the targets' small valid ledger
/// (the first byte picks the file and the mode), or a policy run on
/// `fixtures/small`. Each loads or is refused; nothing panics.
#[test]
fn fuzz_crashers_are_refused_not_panics() {
    const LEDGER: [&str; 5] = [
        "26865a084be8029673fbc54ce4c8bacb2100625f", // an invoice of 9999999999999999999999999.99
        "5bc19f72c1cb39fe9db6d04e31a2b4671fe696d3", // ten of 99999999999999999999999999.99, rejected
        "305630543aef9c4e40027773ad6a9a241b475d60", // maximal credit limits
        "0464d68c96bca07eb7f910603f5cf2d7d8ac722e", // 200 promises of 9.99e25
        "698620291f9db573e99bbea44a8551358b8d788f", // ten of the largest supported amount: load
    ];
    const FILES: [&str; 5] = ["customers.csv", "invoices.csv", "payments.csv", "promises.csv", "actions.csv"];
    let tmp = tempfile::tempdir().unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    for (k, name) in LEDGER.iter().enumerate() {
        let data = std::fs::read(repo(&format!("fuzz/corpus/ledger/{name}"))).unwrap();
        let (sel, body) = data.split_first().unwrap();
        for f in FILES {
            std::fs::copy(repo("fixtures/small").join(f), tmp.path().join(f)).unwrap();
        }
        std::fs::write(tmp.path().join(FILES[(sel % 5) as usize]), body).unwrap();
        let opts = LoadOptions { reject_bad_rows: sel & 0x80 != 0 };
        match load(tmp.path(), &opts) {
            Ok(ledger) => {
                assert!(opts.reject_bad_rows, "{name} should be refused");
                if k == 4 {
                    assert_eq!(ledger.invoices.len(), 10, "{name}");
                }
                let _ = recoup::facts::kpi::portfolio(&ledger, &ctx);
                let _ = recoup::facts::map_customers(&ledger, &ctx, |cf, inv| (cf.overdue_total, inv.len()));
            }
            Err(e) => assert!(k < 4 && e.to_string().contains("bad row"), "{name}: {e}"),
        }
    }
    let small = load(&repo("fixtures/small"), &LoadOptions::default()).unwrap();
    for name in [
        "743539a16f1b645edb15fc8bddf2a3b29dc5390c",
        "d6386d4b5c6b075c1e3e463473c874fbc740dda4",
        "99b278948d898bcb110562c747f8a150e93feb32",
    ] {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(repo(&format!("fuzz/corpus/policy/{name}")), dir.join("policy.toml")).unwrap();
        let loaded = policy::load(&dir);
        assert!(loaded.policy.is_none(), "{name} should be refused:\n{}", loaded.report.render());
        assert!(loaded.report.diagnostics.iter().any(|d| d.code == Code::InvalidValue));
    }
    // The largest supported policy values run on the small ledger.
    let dir = tmp.path().join("edge");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(repo("fuzz/corpus/policy/7e5c19bfbf77258d395bdca83b7ee8c28d49d4ba"), dir.join("policy.toml"))
        .unwrap();
    let p = policy::load(&dir).policy.unwrap();
    evaluate(&small, &p, &ctx).unwrap();
}

/// A script file of many functions: up to 1,000 load (in memory and time linear in their
/// number), more are refused by `check` before rhai parses them (its parser is quadratic).
#[test]
fn a_script_of_too_many_functions_is_refused_and_a_large_one_stays_cheap() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    std::fs::write(
        dir.join("policy.toml"),
        "[policy]\nname = \"many\"\nversion = \"1\"\n[[strategy]]\nid = \"s\"\nwhen = \"m::f0(customer.trend) > 0\"\n\
         ladder = \"l\"\n[[strategy]]\nid = \"d\"\nladder = \"l\"\n[[ladder]]\nid = \"l\"\n[[ladder.step]]\nid = \"n\"\n\
         days_past_due = 1\naction = \"notify_owner\"\n",
    )
    .unwrap();
    let script = |n: usize| (0..n).map(|i| format!("fn f{i}(x) {{ x + {i}.0 }}\n")).collect::<String>();
    std::fs::write(dir.join("scripts/m.rhai"), script(1000)).unwrap();
    let t = Instant::now();
    let loaded = policy::load(&dir);
    eprintln!("1,000 functions loaded in {:?}", t.elapsed());
    assert!(loaded.policy.is_some(), "{}", loaded.report.render());
    std::fs::write(dir.join("scripts/m.rhai"), script(3000)).unwrap();
    let loaded = policy::load(&dir);
    assert!(loaded.policy.is_none());
    let d = loaded.report.diagnostics.iter().find(|d| d.code == Code::InvalidValue).unwrap();
    assert_eq!(d.message, "script `m` defines 3000 functions, more than 1000 in one file");
    let span = d.span.as_ref().unwrap();
    assert!(loaded.report.sources.get(span.file).unwrap().path.ends_with("scripts/m.rhai"));
    // `fn` in a comment or a string is not a function.
    let words = format!("// fn fn fn\nfn g(x) {{ \"fn\" }}\n{}", script(999));
    std::fs::write(dir.join("scripts/m.rhai"), words).unwrap();
    assert!(policy::load(&dir).policy.is_some());
    // Size is checked first.
    std::fs::write(dir.join("scripts/m.rhai"), format!("{}// {}\n", script(1), "x".repeat(300 * 1024))).unwrap();
    let loaded = policy::load(&dir);
    assert!(loaded.report.diagnostics.iter().any(|d| d.message == "script `m` is 300 KiB, more than 256 KiB"));
}

/// The issue's case: `infinite-loop` on the demo (400 customers) no longer exits 0 with every
/// customer skipped: the run stops once 1 % of the customers failed, having evaluated far fewer
/// than all of them. A rule failing for a few customers stays within the share and the run goes on.
#[test]
fn a_run_in_which_too_many_customers_fail_is_a_failed_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    let p = policy::compile_path(&hostile("infinite-loop")).unwrap().0;
    assert_eq!(p.failures_allowed(400), 4);
    let evaluated = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    let r = recoup::plan::evaluate_with_progress(&ledger, &p, &ctx, &|| {
        evaluated.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let evaluated = evaluated.into_inner();
    eprintln!("infinite-loop on the demo: stopped after {evaluated} of 400 customers, {:?}", t.elapsed());
    match r {
        Err(RunError::TooManyFailed { allowed: 4, customers: 400, first, .. }) => {
            assert_eq!(first.rule_id, "hostile");
        }
        other => panic!("{:?}", other.map(|p| p.skipped.len())),
    }
    // 5 failures stop it; each thread may finish the customer it is on.
    assert!(evaluated <= 5 + rayon::current_num_threads(), "{evaluated}");

    // A rule that fails for customers with exactly one broken promise (a division by zero).
    let dir = tmp.path().join("some");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(hostile("infinite-loop").join("policy.toml")).unwrap();
    let some = |share: &str| {
        let t = text.replace("h::spin(customer)", "10 / (customer.promises_broken - 1) > 100").replace(
            "on_script_error = \"skip\"\n",
            &format!("on_script_error = \"skip\"\nmax_failed_share = {share}\n"),
        );
        std::fs::write(dir.join("policy.toml"), t).unwrap();
        policy::compile_path(&dir).unwrap_or_else(|r| panic!("{}", r.render())).0
    };
    let all = evaluate(&ledger, &some("1"), &ctx).unwrap();
    let failing = all.skipped.len();
    assert!(failing > 0 && failing < 400, "{failing}");
    let just = format!("{}", (failing as f64 + 0.5) / 400.0);
    let within = evaluate(&ledger, &some(&just), &ctx).unwrap();
    assert_eq!(within.skipped, all.skipped, "within the share the run goes on");
    assert_eq!(within.entries, all.entries);
    let below = format!("{}", (failing as f64 - 0.5) / 400.0);
    assert!(matches!(evaluate(&ledger, &some(&below), &ctx), Err(RunError::TooManyFailed { .. })));
}

#[test]
fn max_failed_share_is_a_share() {
    let loaded = policy::load_str("p", "[policy]\nname = \"n\"\nversion = \"1\"\nmax_failed_share = 1.5\n");
    let d = loaded.report.diagnostics.iter().find(|d| d.code == Code::InvalidValue).unwrap();
    assert_eq!(d.message, "`max_failed_share = 1.5` is not between 0 and 1");
}
