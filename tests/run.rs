//! `recoup run` end to end: deterministic at any thread count, idempotent,
//! a customer walked through the whole standard ladder day by day, exit codes
//! and atomic outputs.

use crate::cli::{recoup, run_demo};
use crate::common::{date, repo};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use recoup::facts::kpi::by_currency;
use recoup::facts::{Context, FactsConfig};
use recoup::ledger::{LoadOptions, load};
use recoup::plan::summary::summarize;
use recoup::plan::write::{plan_csv, plan_jsonl, worklist_csv};
use recoup::plan::{Plan, evaluate};
use recoup::policy::CompiledPolicy;
use std::fmt::Write as _;
use std::path::Path;

fn standard() -> CompiledPolicy {
    recoup::policy::load(&repo("policies/standard")).policy.expect("policies/standard compiles")
}

/// The bytes a run writes (all but the manifest, which holds timings).
fn outputs(ledger_dir: &Path, policy: &CompiledPolicy, as_of: NaiveDate) -> (Plan, Vec<u8>) {
    let ledger = load(ledger_dir, &LoadOptions::default()).unwrap();
    let ctx = Context::new(as_of, FactsConfig::default());
    let plan = evaluate(&ledger, policy, &ctx).unwrap();
    let summary = summarize(&plan, (policy.name(), policy.version()), &ledger.report, by_currency(&ledger, &ctx));
    let mut bytes = Vec::new();
    plan_csv(&mut bytes, &plan).unwrap();
    plan_jsonl(&mut bytes, &plan).unwrap();
    worklist_csv(&mut bytes, &plan).unwrap();
    serde_json::to_writer_pretty(&mut bytes, &summary).unwrap();
    (plan, bytes)
}

#[test]
fn the_plan_is_byte_identical_at_1_2_and_8_threads() {
    let policy = standard();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| outputs(&repo("fixtures/demo"), &policy, date("2026-11-16")).1)
    };
    let one = run(1);
    assert!(one.len() > 10_000, "the demo plan is not empty");
    assert_eq!(one, run(2), "2 threads");
    assert_eq!(one, run(8), "8 threads");
}

#[test]
fn re_running_a_day_gives_the_same_plan_and_ids() {
    let policy = standard();
    let (a, bytes_a) = outputs(&repo("fixtures/demo"), &policy, date("2026-11-16"));
    let (b, bytes_b) = outputs(&repo("fixtures/demo"), &policy, date("2026-11-16"));
    assert_eq!(bytes_a, bytes_b);
    let ids: Vec<&str> = a.entries.iter().map(|e| e.action_id.as_str()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "action ids are unique within a run");
    assert_eq!(ids, b.entries.iter().map(|e| e.action_id.as_str()).collect::<Vec<_>>());
}

const CUSTOMERS: &str = "customer_id,name,segment,country,currency,credit_limit,payment_terms,risk_class,account_owner\n\
                         C1,Walker Ltd,small,US,USD,5000.00,NET30,low,owner-01\n";
const INVOICES: &str = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                        I1,C1,2026-05-01,2026-05-31,USD,1000.00,1000.00,open\n";
const ACTION_HEADER: &str = "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome\n";

/// One customer with one unpaid invoice due 2026-05-31, run every day from
/// 10 days before the due date; each day's actions are executed that day and
/// appended to actions.csv, so the next run sees them.
#[test]
fn a_customer_walks_the_whole_ladder_day_by_day() {
    let policy = standard();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("customers.csv"), CUSTOMERS).unwrap();
    std::fs::write(dir.path().join("invoices.csv"), INVOICES).unwrap();
    std::fs::write(dir.path().join("payments.csv"), "payment_id,customer_id,invoice_id,paid_on,amount\n").unwrap();
    let mut actions = String::from(ACTION_HEADER);
    let due = date("2026-05-31");
    let mut steps: Vec<(String, i64)> = Vec::new();
    let mut day = due - Duration::days(10);
    while day <= due + Duration::days(130) {
        std::fs::write(dir.path().join("actions.csv"), &actions).unwrap();
        let (plan, _) = outputs(dir.path(), &policy, day);
        for e in &plan.entries {
            let a = &e.action;
            if a.step.is_some() {
                steps.push((a.rule_id.clone(), (day - due).num_days()));
            }
            let channel = a.channel.map(|c| c.as_str()).unwrap_or("");
            let outcome = if a.action.as_str() == "call" { "no_answer" } else { "sent" };
            let invoice = a.invoice_ids.first().cloned().unwrap_or_default();
            writeln!(
                actions,
                "{},{},{invoice},{},{},{channel},{day},{day},{outcome}",
                e.action_id,
                a.customer_id,
                a.rule_id,
                a.action.as_str()
            )
            .unwrap();
        }
        day += Duration::days(1);
    }
    let order: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        order,
        vec!["pre-due", "first-notice", "second-notice", "call", "final-demand", "credit-hold", "agency"],
        "each step once, in order, and nothing after the agency referral: {steps:?}"
    );
    // Each step on its threshold day; contacts wait for the next business
    // day (holds and referrals do not).
    let thresholds = [(-3, true), (1, true), (14, true), (21, true), (30, true), (45, false), (90, false)];
    for ((step, at), (threshold, contact)) in steps.iter().zip(thresholds) {
        let mut expected = due + Duration::days(threshold);
        while contact && matches!(expected.weekday(), Weekday::Sat | Weekday::Sun) {
            expected += Duration::days(1);
        }
        assert_eq!(*at, (expected - due).num_days(), "step {step}");
    }
    // The final demand charged its fee once.
    assert!(actions.lines().filter(|l| l.contains(",final-demand,")).count() == 1);
}

#[test]
fn run_writes_every_output_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run_demo("policies/standard", &out, &[], Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote "), "{stdout}");
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(
        files,
        [".recoup-output", "manifest.json", "outbox", "plan.csv", "plan.jsonl", "summary.json", "worklist.csv"],
        "the outbox is written by default"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["policy"], "standard");
    assert_eq!(manifest["inputs"][1]["file"], "invoices.csv");
    assert_eq!(manifest["inputs"][1]["loaded"], 4011);
    let stages: Vec<&str> = manifest["timings_ms"].as_array().unwrap().iter().map(|s| s[0].as_str().unwrap()).collect();
    assert_eq!(
        stages,
        ["policy", "load", "evaluate", "kpis", "render", "write"],
        "every stage timed, the write last (no `render` with --no-outbox)"
    );
    let plan_rows = std::fs::read_to_string(out.join("plan.csv")).unwrap().lines().count() as u64 - 1;
    assert_eq!(manifest["actions"], plan_rows);
}

#[test]
fn an_invalid_policy_exits_3_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, _, stderr) = run_demo("fixtures/bad-policies/unknown-fact", &out, &[], Some(tmp.path()));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_bad_ledger_exits_4_and_leaves_the_previous_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = |ledger: &'static str| {
        vec!["run", "--ledger", ledger, "--policy", "policies/standard", "--as-of", "2026-11-16", "--out"]
    };
    let mut good = args("fixtures/small");
    good.push(out.to_str().unwrap());
    assert_eq!(recoup(&good, Some(tmp.path())).0, 0);
    let before = std::fs::read(out.join("plan.csv")).unwrap();
    let mut bad = args("fixtures/bad/many");
    bad.push(out.to_str().unwrap());
    let (code, _, stderr) = recoup(&bad, Some(tmp.path()));
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(std::fs::read(out.join("plan.csv")).unwrap(), before, "previous plan untouched");
    bad.push("--reject-bad-rows");
    let (code, _, stderr) = recoup(&bad, Some(tmp.path()));
    assert_eq!(code, 5, "{stderr}");
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    assert_eq!(rejects.lines().count(), 8, "header + 7 problems");
}

/// The demo run, as the README's first command runs it: its terminal
/// summary, and the plan, worklist and summary it writes.
#[test]
fn demo_run_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run_demo("policies/standard", &out, &[], Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("demo_run_terminal", format!("{stdout}--- stderr\n{stderr}"));
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    assert!(readme.contains(&stdout.replace("[TMP]/out", "out")), "the README shows the demo's real output");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    insta::assert_snapshot!("demo_plan_csv", read("plan.csv"));
    insta::assert_snapshot!("demo_worklist_csv", read("worklist.csv"));
    insta::assert_snapshot!("demo_summary_json", read("summary.json"));
}

/// The README's demo day plans every kind of action `policies/standard` can
/// produce (the list is read from the compiled policy), and each of its
/// limit rules moves a limit the way it says.
#[test]
fn the_demo_day_plans_every_kind_of_action_of_the_standard_policy() {
    use recoup::policy::compile::LimitChange;
    let policy = standard();
    let demo = recoup::generate::demo_config();
    let (plan, _) = outputs(&repo("fixtures/demo"), &policy, demo.as_of);
    let kinds = policy.action_kinds();
    let missing: Vec<&str> =
        kinds.iter().filter(|&&k| !plan.entries.iter().any(|e| e.action.action == k)).map(|k| k.as_str()).collect();
    assert!(missing.is_empty(), "the demo plan has no {missing:?} (of {kinds:?})");
    for rule in &policy.rules.limits {
        let moved = |e: &&recoup::plan::PlanEntry| match (e.action.old_limit, e.action.new_limit) {
            (Some(old), Some(new)) => match rule.change {
                LimitChange::Raise => new > old,
                LimitChange::Lower => new < old,
                _ => true,
            },
            _ => !matches!(rule.change, LimitChange::Raise | LimitChange::Lower),
        };
        assert!(
            plan.entries.iter().filter(|e| e.action.rule_id == rule.id).any(|e| moved(&e)),
            "limit rule `{}` ({:?}) is not in the demo plan",
            rule.id,
            rule.change
        );
    }
}

/// `recoup explain` shows the facts, every rule in order with its outcome,
/// and the actions `recoup run` plans for the same customer.
#[test]
fn explain_traces_the_same_evaluation_as_run() {
    let args = [
        "explain",
        "--ledger",
        "fixtures/demo",
        "--policy",
        "policies/standard",
        "--as-of",
        "2026-11-16",
        "--customer",
        "C000117",
    ];
    let (code, stdout, stderr) = recoup(&args, None);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout);
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let (code, json, _) = recoup(&json_args, None);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let explained: Vec<String> =
        v["action_ids"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    let policy = standard();
    let (plan, _) = outputs(&repo("fixtures/demo"), &policy, date("2026-11-16"));
    let planned: Vec<String> =
        plan.entries.iter().filter(|e| e.action.customer_id == "C000117").map(|e| e.action_id.clone()).collect();
    assert!(!planned.is_empty());
    assert_eq!(explained, planned, "explain and run decide the same actions");
}

/// A ledger whose customers.csv is not in customer-id order (here reversed)
/// plans exactly what the sorted one does: the plan is in customer-id order
/// whatever the file's order.
#[test]
fn customers_out_of_id_order_give_the_same_plan() {
    let tmp = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(repo("fixtures/demo")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), tmp.path().join(f.file_name())).unwrap();
    }
    let text = std::fs::read_to_string(tmp.path().join("customers.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    std::fs::write(tmp.path().join("customers.csv"), lines.join("\n") + "\n").unwrap();
    let policy = standard();
    let (sorted, sorted_bytes) = outputs(&repo("fixtures/demo"), &policy, date("2026-11-16"));
    let (reversed, reversed_bytes) = outputs(tmp.path(), &policy, date("2026-11-16"));
    assert!(sorted.entries.len() > 100);
    let ids: Vec<&str> = reversed.entries.iter().map(|e| e.action.customer_id.as_str()).collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "customer-id order");
    // The KPIs and summary do not depend on the order either.
    assert_eq!(sorted_bytes, reversed_bytes);
}

/// plan.csv's `rule_kind` is the word serde gives each kind (plan.jsonl's).
#[test]
fn rule_kind_words_in_plan_csv_are_serde_s() {
    use recoup::engine::RuleKind::*;
    for kind in [Priority, Strategy, Step, Limit, Incentive, PaymentPlan, Review, Guardrail] {
        assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::String(kind.as_str().to_string()));
    }
}

/// plan.jsonl is written key by key; its lines are serde_json's, byte for
/// byte: every action of the demo day, and actions with every optional field
/// set, text to escape, and priorities serde_json writes oddly.
#[test]
fn plan_jsonl_lines_are_serde_json_s() {
    use recoup::engine::FactRead;
    use rust_decimal::Decimal;
    let (plan, _) = outputs(&repo("fixtures/demo"), &standard(), date("2026-11-16"));
    let mut entries = plan.entries.clone();
    let odd_text = "q\"b\\s/n\nt\tc\u{1}\u{1f}d\u{7f}é→€ ";
    for (k, priority) in [f64::NAN, 1e300, -0.0, 12.345678, f64::INFINITY].into_iter().enumerate() {
        let mut e = entries[k].clone();
        let a = &mut e.action;
        a.customer_id = format!("C{odd_text}");
        a.invoice_ids = vec!["I1".into(), odd_text.into(), String::new()];
        a.channel = plan.entries.iter().find_map(|e| e.action.channel);
        a.template = Some(odd_text.into());
        a.step = Some("step".into());
        a.strategy = Some(String::new());
        a.discount_pct = Some(Decimal::new(25, 1));
        a.pay_by = Some(date("2026-12-01"));
        a.instalments = Some(3);
        a.instalment_amount = Some(Decimal::new(123456, 2));
        a.old_limit = Some(Decimal::new(1000, 0));
        a.new_limit = Some(Decimal::new(-5, 3));
        a.review_on = Some(date("2027-02-14"));
        a.hold = true;
        a.priority = priority;
        a.owner = Some(odd_text.into());
        a.reason = odd_text.repeat(3);
        a.facts.push(FactRead { name: "customer.name".into(), value: odd_text.into() });
        for (k, c) in ["\"", "\\", "\n", "\u{1f}"].into_iter().enumerate() {
            let value = format!("{}{c}{}", "x".repeat(3 * k + 5), "é".repeat(k));
            a.facts.push(FactRead { name: "customer.name".into(), value });
        }
        entries.push(e);
    }
    let plan = Plan { entries, ..plan };
    let mut written = Vec::new();
    plan_jsonl(&mut written, &plan).unwrap();
    let mut expected = String::new();
    for e in &plan.entries {
        expected.push_str(&serde_json::to_string(e).unwrap());
        expected.push('\n');
    }
    assert!(plan.entries.iter().any(|e| e.action.channel.is_some()) && plan.entries.len() > 100);
    assert_eq!(String::from_utf8(written).unwrap(), expected);
}

/// The eight-bytes-at-a-time check for text JSON escapes agrees with the
/// byte-by-byte one: each byte value at each position of strings up to 24
/// bytes long, among plain and multi-byte text.
#[test]
fn json_escape_check_agrees_with_a_byte_by_byte_one() {
    use recoup::plan::write::json_escapes;
    let slow = |s: &[u8]| s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
    for len in 0..24 {
        for base in [b'a', 0xC3, 0x7F, b'!', b'#', b'[', b']'] {
            let plain = vec![base; len];
            assert_eq!(json_escapes(&plain), slow(&plain));
            for pos in 0..len {
                for b in 0..=255u8 {
                    let mut s = plain.clone();
                    s[pos] = b;
                    assert_eq!(json_escapes(&s), slow(&s), "{s:?}");
                }
            }
        }
    }
    assert!(!json_escapes("é→€ plain text, 12.50".as_bytes()));
}

/// plan.csv and worklist.csv are written without the csv crate's writer;
/// their bytes are what it writes for the same fields (read back, written
/// again): the demo day, and actions whose text holds commas, quotes and
/// line breaks, which read back as they were.
#[test]
fn plan_and_worklist_csv_are_the_csv_crate_s() {
    use recoup::ledger::ActionKind;
    let (plan, _) = outputs(&repo("fixtures/demo"), &standard(), date("2026-11-16"));
    let mut entries = plan.entries.clone();
    let odd = ["a,b", "q\"uote\"", "line\nbreak", "cr\rlf\r\n", "\"", ",", "", " sp ", "é→€"];
    for (k, text) in odd.iter().enumerate() {
        let mut e = entries[k].clone();
        e.action.action = ActionKind::Call;
        e.action.customer_id = format!("C{text}");
        e.action.reason = text.repeat(2);
        e.action.owner = Some(text.to_string());
        e.action.template = Some(text.to_string());
        e.action.invoice_ids = vec![text.to_string(), "I2".into()];
        entries.push(e);
    }
    let plan = Plan { entries, ..plan };
    for write in [plan_csv, worklist_csv] {
        let mut bytes = Vec::new();
        write(&mut bytes, &plan).unwrap();
        let mut again = csv::Writer::from_writer(Vec::new());
        let mut reasons = Vec::new();
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&bytes[..]);
        for r in reader.records() {
            let r = r.unwrap();
            reasons.extend(r.iter().map(String::from));
            again.write_record(&r).unwrap();
        }
        assert_eq!(String::from_utf8(again.into_inner().unwrap()).unwrap(), String::from_utf8(bytes).unwrap());
        for text in odd {
            assert!(reasons.contains(&text.repeat(2)), "{text:?} reads back");
        }
    }
}

/// plan.csv's amounts are written without `core::fmt`; they are
/// `format!("{:.2}")`'s (truncated, `-0.00` for a negative zero) on random
/// decimals and the edges of the fast path.
/// Money is written with the currency's minor units (0, 2 or 3 decimals),
/// rounded half away from zero: exactly what rescaling the rounded decimal
/// and formatting it gives, on the edges and random values.
#[test]
fn money_is_written_with_the_minor_units_rounded_half_away_from_zero() {
    use proptest::prelude::*;
    use recoup::plan::write::{push_money, push_money_in};
    use rust_decimal::{Decimal, RoundingStrategy};
    let check = |d: Decimal| {
        for units in [0, 2, 3] {
            let mut buf = Vec::new();
            push_money_in(&mut buf, d, units);
            let mut r = d.round_dp_with_strategy(units, RoundingStrategy::MidpointAwayFromZero);
            r.rescale(units);
            assert_eq!(String::from_utf8(buf).unwrap(), r.to_string(), "{d:?} with {units} decimals");
        }
        let mut buf = Vec::new();
        push_money(&mut buf, d);
        assert_eq!(String::from_utf8(buf).unwrap(), recoup::money::json::text_in(d, 2), "{d:?}");
    };
    for (lo, mid, hi) in [(0, 0, 0), (1, 0, 0), (u32::MAX, u32::MAX, 0), (0, 0, 1), (u32::MAX, u32::MAX, u32::MAX)] {
        for scale in 0..=28 {
            for neg in [false, true] {
                check(Decimal::from_parts(lo, mid, hi, neg, scale));
            }
        }
    }
    for s in ["0", "-0.00", "0.001", "-0.009", "12.345", "37298.60", "12345678901234567.89", "99.999", "100", "0.5"] {
        check(s.parse().unwrap());
    }
    // By hand: the rounding and the padding.
    let text = |s: &str, units| {
        let mut buf = Vec::new();
        push_money_in(&mut buf, s.parse().unwrap(), units);
        String::from_utf8(buf).unwrap()
    };
    assert_eq!(text("12.345", 2), "12.35");
    assert_eq!(text("-12.345", 2), "-12.35");
    assert_eq!(text("1250.5", 0), "1251");
    assert_eq!(text("1250.49", 0), "1250");
    assert_eq!(text("1250.5", 3), "1250.500");
    assert_eq!(text("7", 3), "7.000");
    assert_eq!(text("0.0005", 3), "0.001");
    proptest!(|(m in any::<i64>(), wide in any::<i128>(), scale in 0u32..=28)| {
        check(Decimal::from_i128_with_scale(i128::from(m), scale));
        check(Decimal::from_i128_with_scale(wide >> 33, scale));
    });
}

// ---------------------------------------------- what a run says about itself

/// `explain` prints an empty date fact empty, in text and JSON, as `facts`
/// does (it printed `-262143-01-01`).
#[test]
fn explain_prints_empty_dates_empty() {
    let args = ["explain", "--ledger", "fixtures/small", "--policy", "policies/standard", "--as-of", "2026-11-16"];
    let (customer, fact) = ("C3", "last_step_date");
    let mut text = args.to_vec();
    text.extend(["--customer", customer]);
    let (code, stdout, stderr) = recoup(&text, None);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("-262143"), "{stdout}");
    assert!(stdout.contains(&format!("{fact} =\n")) || stdout.contains(&format!("{fact} =  ")), "{stdout}");
    text.extend(["--format", "json"]);
    let (code, stdout, stderr) = recoup(&text, None);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // An empty date is null in JSON (docs/output.md).
    assert_eq!(v["facts"][fact], serde_json::Value::Null, "{stdout}");
    assert!(v["facts"].get(fact).is_some(), "{stdout}");
    assert!(!stdout.contains("-262143"), "{stdout}");
}

/// As-of dates that are probably mistakes warn (stderr and summary.json):
/// before the policy takes effect, before the ledger's first row, more
/// than 31 days after its newest (a stale export). A sound date does not.
#[test]
fn an_unlikely_as_of_date_warns() {
    let l = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    let p = standard();
    let w = |d: &str| recoup::plan::why::as_of_warnings(&l, &p, date(d));
    // The demo's rows run from 2025-10-02 to 2026-11-16; `standard` takes effect 2026-11-01.
    assert_eq!(recoup::plan::why::ledger_dates(&l), Some((date("2025-10-02"), date("2026-11-16"))));
    assert!(w("2026-11-16").is_empty());
    assert!(w("2026-12-17").is_empty(), "31 days after: not yet stale");
    let stale = w("2026-12-18");
    assert_eq!(stale.len(), 1);
    assert!(stale[0].contains("32 days after the ledger's newest row (2026-11-16)"), "{stale:?}");
    let early = w("2025-10-01");
    assert_eq!(early.len(), 2, "{early:?}");
    assert!(early[0].contains("before policy `standard` takes effect (2026-11-01)"), "{early:?}");
    assert!(early[1].contains("before the ledger's first row (2025-10-02)"), "{early:?}");

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = ["run", "--ledger", "fixtures/demo", "--policy", "policies/standard", "--as-of", "2027-01-05", "--out"];
    let mut args = args.to_vec();
    args.push(out.to_str().unwrap());
    let (code, _, stderr) = recoup(&args, Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: the as-of date 2027-01-05 is 50 days after"), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["as_of_warnings"].as_array().map(Vec::len), Some(1), "{summary}");
}

/// A run that plans nothing says why, in the terminal and summary.json: a
/// weekend under `business_days_only`, every invoice covered by credit, or
/// no rule's conditions holding.
#[test]
fn a_run_that_plans_nothing_says_why() {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms\n\
                     C1,Acme,mid_market,US,USD,20000.00,NET30\n";
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                    I1,C1,2026-10-03,2026-11-02,USD,1500.00,1500.00,open\n";
    let ledger = |payments: &str| {
        let files = InlineLedger { customers, invoices, payments: Some(payments), promises: None, actions: None };
        load_inline(&files, &LoadOptions::default()).unwrap()
    };
    let header = "payment_id,customer_id,invoice_id,paid_on,amount\n";
    let p = standard();
    let why = |l: &recoup::ledger::Ledger, d: &str| {
        let ctx = Context::new(date(d), FactsConfig::default());
        assert!(evaluate(l, &p, &ctx).unwrap().entries.is_empty(), "{d}: planned something");
        recoup::plan::why::why_no_actions(l, &p, &ctx, None)
    };
    let owing = ledger(header);
    // Saturday 2026-11-07: the first notice waits for Monday.
    assert_eq!(
        why(&owing, "2026-11-07"),
        "2026-11-07 is a Saturday: the guardrail `business_days_only` holds messages, calls and offers until Monday; \
         1 action(s) suppressed by guardrails (business_days_only 1)"
    );
    // Paid on account: nothing in dunning.
    let covered = ledger(&format!("{header}P1,C1,,2026-11-01,1500.00\n"));
    assert_eq!(
        why(&covered, "2026-11-04"),
        "1 customer(s) have every open invoice out of dunning (disputed, paused by a promise or plan, or covered by credit)"
    );
    // Not due yet, and too early for the pre-due reminder.
    assert_eq!(why(&owing, "2026-10-20"), "none of the 1 customers has an overdue invoice");
}

/// Issue 20 §1: summary.json gives the demo's open AR per currency, each
/// the sum that invoices.csv holds for the customers of that currency
/// (open and disputed invoices issued by the as-of date), never a total of
/// different currencies; and the distinct exposure of today's actions
/// (§3) counts each customer's debt once, so it stays within the open AR.
#[test]
fn summary_gives_open_ar_per_currency_as_the_invoices_sum_it() {
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run_demo("policies/standard", &out, &[], Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    let as_of = date("2026-11-16");
    let mut currency_of = BTreeMap::new();
    let mut customers = csv::Reader::from_path(repo("fixtures/demo/customers.csv")).unwrap();
    let h = customers.headers().unwrap().clone();
    let col = |h: &csv::StringRecord, name: &str| h.iter().position(|c| c == name).unwrap();
    for r in customers.records() {
        let r = r.unwrap();
        currency_of.insert(r[col(&h, "customer_id")].to_string(), r[col(&h, "currency")].to_string());
    }
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut invoices = csv::Reader::from_path(repo("fixtures/demo/invoices.csv")).unwrap();
    let h = invoices.headers().unwrap().clone();
    for r in invoices.records() {
        let r = r.unwrap();
        let issued: NaiveDate = r[col(&h, "issue_date")].parse().unwrap();
        if issued > as_of || !matches!(&r[col(&h, "status")], "open" | "disputed") {
            continue;
        }
        let currency = &currency_of[&r[col(&h, "customer_id")]];
        assert_eq!(&r[col(&h, "currency")], currency);
        *expected.entry(currency.clone()).or_default() += r[col(&h, "open_amount")].parse::<Decimal>().unwrap();
    }
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    assert_eq!(
        expected,
        BTreeMap::from([
            ("EUR".to_string(), d("2896077.01")),
            ("GBP".to_string(), d("805072.33")),
            ("USD".to_string(), d("1221608.53"))
        ])
    );
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let kpis = summary["kpis"].as_object().unwrap();
    let got: BTreeMap<String, Decimal> =
        kpis.iter().map(|(c, k)| (c.clone(), d(k["ar_total"].as_str().unwrap()))).collect();
    assert_eq!(got, expected);
    assert_eq!(kpis.values().map(|k| k["customers"].as_u64().unwrap()).collect::<Vec<_>>(), [116, 85, 199]);
    for (code, ar) in &expected {
        assert!(stdout.contains(&format!("{code}: open AR {}", recoup::engine::words::money(*ar))), "{stdout}");
        let exposure = d(summary["exposure"][code]["amount"].as_str().unwrap());
        let due = d(summary["actions"]["currencies"][code]["amount_due"].as_str().unwrap());
        assert!(exposure > Decimal::ZERO && exposure <= *ar, "{code}: exposure {exposure} within open AR {ar}");
        assert!(exposure < due, "{code}: the amounts due count a customer once per action: {due} > {exposure}");
    }
    // §3: the top of the worklist is the highest priority across owners.
    assert!(stdout.contains("471.55   owner-03   C000191"), "{stdout}");
    // Every plan and worklist row names its currency, the customer's.
    let plan = std::fs::read_to_string(out.join("plan.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(plan.as_bytes());
    let h = rows.headers().unwrap().clone();
    for r in rows.records() {
        let r = r.unwrap();
        assert_eq!(r[col(&h, "currency")], currency_of[&r[col(&h, "customer_id")]]);
    }
    let worklist = std::fs::read_to_string(out.join("worklist.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(worklist.as_bytes());
    let h = rows.headers().unwrap().clone();
    for r in rows.records() {
        let r = r.unwrap();
        assert_eq!(r[col(&h, "currency")], currency_of[&r[col(&h, "customer_id")]]);
    }
}

/// Issue 20 §1: a total across currencies only with the user's rates
/// (`[reporting]` in the policy), labelled as converted, at which rates, of
/// which date; hand-computed from the per-currency figures: open AR
/// 2,896,077.01 EUR + 805,072.33 GBP × 1.14 (917,782.46) + 1,221,608.53 USD ×
/// 0.86 (1,050,583.34) = 4,864,442.81 EUR. A currency without a rate: no total,
/// and a warning says why. Without `[reporting]`: no total at all.
#[test]
fn a_converted_total_only_with_the_policy_s_rates() {
    let tmp = tempfile::tempdir().unwrap();
    let with = |name: &str, rates: &str| {
        let dir = tmp.path().join(name);
        let reporting = format!("[reporting]\ncurrency = \"EUR\"\nrates = {rates}\nrates_date = 2026-11-16\n");
        crate::cli::standard_copy(&dir, &[]);
        let path = dir.join("policy.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n{reporting}")).unwrap();
        dir
    };
    // Distinct exposure: 1,341,806.67 EUR + 301,289.93 GBP × 1.14 (343,470.52) + 572,391.19 USD × 0.86
    // (492,256.42) = 2,177,533.61 EUR.
    let policy = with("rates", r#"{ USD = "0.86", GBP = "1.14" }"#);
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run_demo(policy.to_str().unwrap(), &out, &[], Some(tmp.path()));
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(
        stdout.contains(
            "  all currencies converted to EUR at the policy's rates of 2026-11-16 (1 GBP = 1.14 EUR, 1 USD = 0.86 \
             EUR): open AR EUR 4,864,442.81, overdue EUR 1,759,081.15; distinct exposure EUR 2,177,533.61\n"
        ),
        "{stdout}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let c = &summary["converted"];
    assert_eq!(c["currency"], "EUR");
    assert_eq!(c["rates_date"], "2026-11-16");
    assert_eq!(c["rates"], serde_json::json!({ "GBP": "1.14", "USD": "0.86" }));
    assert_eq!(c["ar_total"], "4864442.81");
    // Overdue: 1,034,103.05 + 208,322.52 × 1.14 (237,487.67) + 566,849.34 × 0.86 (487,490.43).
    assert_eq!(c["ar_overdue"], "1759081.15");
    assert!(c["label"].as_str().unwrap().starts_with("converted to EUR at the rates of 2026-11-16"));
    let (code, _, stderr) = crate::cli::recoup(&["report", "--run", out.to_str().unwrap()], Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("All currencies, converted to EUR"), "the report labels the converted total");
    assert!(html.contains("EUR 4,864,442.81"));

    let policy = with("no-gbp", r#"{ USD = "0.86" }"#);
    let (code, stdout, stderr) = run_demo(policy.to_str().unwrap(), &out, &[], Some(tmp.path()));
    assert_eq!(code, 0);
    assert_eq!(stderr, "warning: [reporting] gives no rate to EUR for GBP: no total across currencies is given\n");
    assert!(!stdout.contains("converted"), "{stdout}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary.get("converted").is_none());
    // The shipped policy gives no rates: no total.
    let (_, stdout, _) = run_demo("policies/standard", &out, &[], Some(tmp.path()));
    assert!(!stdout.contains("converted"), "{stdout}");
}

/// The standard policy with its `final-demand` step renamed `final-demand-v2`,
/// with or without `replaces = ["final-demand"]` (issue 19 §4).
fn renamed_final_demand(replaces: bool) -> CompiledPolicy {
    let text = std::fs::read_to_string(repo("policies/standard/policy.toml")).unwrap();
    let new = if replaces {
        "id = \"final-demand-v2\"\nreplaces = [\"final-demand\"]\n"
    } else {
        "id = \"final-demand-v2\"\n"
    };
    let text = text.replace("id = \"final-demand\"\n", new);
    assert_eq!(text.matches("final-demand-v2").count(), 2, "both ladders' final demands renamed");
    let loaded = recoup::policy::load_with_text(&repo("policies/standard"), text);
    loaded.policy.unwrap_or_else(|| panic!("{}", loaded.report.render()))
}

#[test]
fn a_renamed_step_is_reported_and_replaces_keeps_its_history() {
    let as_of = date("2026-11-16");
    let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    let ctx = Context::new(as_of, FactsConfig::default());
    let fees = |p: &Plan| -> rust_decimal::Decimal { p.entries.iter().map(|e| e.action.fee).sum() };
    let finals = |p: &Plan| p.entries.iter().filter(|e| e.action.rule_id.starts_with("final-demand")).count();
    let before = evaluate(&ledger, &standard(), &ctx).unwrap();
    assert!(before.unknown_rule_ids.is_empty(), "{:?}", before.unknown_rule_ids);
    // The executed final-demand rows of actions.csv, counted from the file itself.
    let csv = std::fs::read_to_string(repo("fixtures/demo/actions.csv")).unwrap();
    let executed = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| {
            c[3] == "final-demand"
                && !c[7].is_empty()
                && c[7] <= "2026-11-16"
                && c[6] <= "2026-11-16"
                && !["pending", "failed", "cancelled"].contains(&c[8])
        })
        .count() as u64;
    assert!(executed > 100, "{executed}");

    // Renamed without `replaces`: reported, and the final demand (and its fee) comes again.
    let renamed = evaluate(&ledger, &renamed_final_demand(false), &ctx).unwrap();
    assert_eq!(
        renamed.unknown_rule_ids.clone().into_iter().collect::<Vec<_>>(),
        [("final-demand".to_string(), executed)]
    );
    assert!(finals(&renamed) > finals(&before), "{} vs {}", finals(&renamed), finals(&before));
    assert!(fees(&renamed) > fees(&before), "{} vs {}", fees(&renamed), fees(&before));

    // With `replaces`: nothing unknown, the same decisions and fees as before the rename.
    let continued = evaluate(&ledger, &renamed_final_demand(true), &ctx).unwrap();
    assert!(continued.unknown_rule_ids.is_empty());
    assert_eq!(fees(&continued), fees(&before));
    let decisions = |p: &Plan| -> Vec<String> {
        p.entries
            .iter()
            .map(|e| {
                let a = &e.action;
                format!("{} {} {} {:?} {}", a.customer_id, a.action, a.rule_id.replace("-v2", ""), a.invoice_ids, a.fee)
            })
            .collect()
    };
    assert_eq!(decisions(&continued), decisions(&before));
}

#[test]
fn run_warns_of_history_rows_of_unknown_rules_in_the_terminal_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("policy");
    std::fs::create_dir(&policy).unwrap();
    let text = std::fs::read_to_string(repo("policies/standard/policy.toml")).unwrap();
    std::fs::write(policy.join("policy.toml"), text.replace("id = \"final-demand\"\n", "id = \"final-demand-v2\"\n"))
        .unwrap();
    let copy = |d: &str| {
        let to = policy.join(d);
        std::fs::create_dir(&to).unwrap();
        for e in std::fs::read_dir(repo("policies/standard").join(d)).unwrap() {
            let e = e.unwrap();
            if e.path().is_dir() {
                continue; // the templates of other languages
            }
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    };
    copy("templates");
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run_demo(policy.to_str().unwrap(), &out, &[], Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("executed history rows name a rule id policy `standard` does not have: `final-demand` ("),
        "{all}"
    );
    assert!(all.contains("add `replaces = [\"final-demand\"]` to it"), "{all}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["unknown_rule_ids"]["final-demand"].as_u64().unwrap() > 100, "{summary}");
    // The standard policy on its own history: no warning, and no new key in summary.json.
    let out = tmp.path().join("out2");
    let (_, stdout, stderr) = run_demo("policies/standard", &out, &[], Some(tmp.path()));
    assert!(!format!("{stdout}{stderr}").contains("history row"));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(!summary.contains("unknown_rule_ids"));
}

// ---------------------------------------------- money in each currency's minor units

/// A ledger of three customers in yen (no minor unit), Bahraini dinars
/// (three decimals) and US dollars (two), each with one invoice 46 days
/// overdue on 2026-11-16, and a policy with per-currency amounts.
fn minor_units_case(dir: &Path) -> (String, String) {
    let ledger = dir.join("ledger");
    std::fs::create_dir_all(&ledger).unwrap();
    std::fs::write(
        ledger.join("customers.csv"),
        "customer_id,name,segment,country,currency,credit_limit,payment_terms,phone\n\
         CB,Manama Trading,small,BH,BHD,5000.00,NET30,+973-1700-0000\n\
         CJ,Osaka Kogyo,small,JP,JPY,2000000,NET30,+81-6-0000-0000\n\
         CU,Austin Parts,small,US,USD,5000.00,NET30,+1-555-0100\n",
    )
    .unwrap();
    std::fs::write(
        ledger.join("invoices.csv"),
        "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
         IB,CB,2026-09-01,2026-10-01,BHD,1250.75,1250.75,open\n\
         IJ,CJ,2026-09-01,2026-10-01,JPY,123457,123457,open\n\
         IU,CU,2026-09-01,2026-10-01,USD,100.5,100.5,open\n",
    )
    .unwrap();
    std::fs::write(ledger.join("payments.csv"), "payment_id,customer_id,invoice_id,paid_on,amount\n").unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        r#"[policy]
name = "minor-units"
version = "1"
currency = "USD"

[amounts]
big = { USD = "50.00", JPY = "10000", BHD = "500.00" }

[guardrails]
min_overdue = { USD = "25.00", JPY = "3000", BHD = "10.00" }

[costs]
call = { USD = "4.50", JPY = "700", BHD = "1.75" }

[[strategy]]
id = "default"
ladder = "l"

[[ladder]]
id = "l"

[[ladder.step]]
id = "call"
days_past_due = 30
action = "call"
when = "customer.overdue_total >= amounts.big"
fee = { USD = "25.00", JPY = "4000", BHD = "10.50" }
"#,
    )
    .unwrap();
    (ledger.to_str().unwrap().to_string(), policy.to_str().unwrap().to_string())
}

/// Issue 20 §6: every machine output writes money with its currency's ISO
/// 4217 minor units: yen with none, Bahraini dinars with three, dollars with
/// two (as before) — plan.csv, plan.jsonl, worklist.csv, summary.json and
/// facts (text and JSON).
#[test]
fn money_has_its_currency_s_minor_units_in_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, policy) = minor_units_case(tmp.path());
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let (code, _, err) = recoup(
        &["run", "--ledger", &ledger, "--policy", &policy, "--as-of", "2026-11-16", "--out", o, "--quiet"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let json = |s: &str| -> serde_json::Value { serde_json::from_str(s).unwrap() };
    // plan.jsonl: one call per customer, amounts in its currency.
    let rows: Vec<serde_json::Value> = read("plan.jsonl").lines().map(json).collect();
    let by = |c: &str| rows.iter().find(|r| r["customer_id"] == c).unwrap().clone();
    let (b, j, u) = (by("CB"), by("CJ"), by("CU"));
    assert_eq!(
        (b["amount_due"].as_str(), b["fee"].as_str(), b["cost"].as_str()),
        (Some("1250.750"), Some("10.500"), Some("1.750"))
    );
    assert_eq!(
        (j["amount_due"].as_str(), j["fee"].as_str(), j["cost"].as_str()),
        (Some("123457"), Some("4000"), Some("700"))
    );
    assert_eq!(
        (u["amount_due"].as_str(), u["fee"].as_str(), u["cost"].as_str()),
        (Some("100.50"), Some("25.00"), Some("4.50"))
    );
    // The facts an action read, in the same units.
    let fact = |r: &serde_json::Value, name: &str| {
        r["facts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(fact(&b, "customer.overdue_total").as_deref(), Some("1250.750"));
    assert_eq!(fact(&j, "customer.overdue_total").as_deref(), Some("123457"));
    // plan.csv and worklist.csv.
    let plan = read("plan.csv");
    assert!(plan.contains(",BHD,IB,call,") && plan.contains(",1250.750,10.500,0.000,"), "{plan}");
    assert!(plan.contains(",JPY,IJ,call,") && plan.contains(",123457,4000,0,"), "{plan}");
    assert!(plan.contains(",USD,IU,call,") && plan.contains(",100.50,25.00,0.00,"), "{plan}");
    let worklist = read("worklist.csv");
    assert!(worklist.contains(",BHD,1250.750,IB,") && worklist.contains(",JPY,123457,IJ,"), "{worklist}");
    assert!(worklist.contains(",USD,100.50,IU,"), "{worklist}");
    // summary.json: per currency, each with its units.
    let s = json(&read("summary.json"));
    assert_eq!(s["kpis"]["BHD"]["ar_total"], "1250.750");
    assert_eq!(s["kpis"]["JPY"]["ar_total"], "123457");
    assert_eq!(s["kpis"]["USD"]["ar_total"], "100.50");
    assert_eq!(s["kpis"]["JPY"]["aging"][2]["bucket"], "31-60");
    assert_eq!(s["kpis"]["JPY"]["aging"][2]["amount"], "123457");
    assert_eq!(s["actions"]["currencies"]["BHD"]["fees"], "10.500");
    assert_eq!(s["actions"]["currencies"]["JPY"]["cost"], "700");
    assert_eq!(s["exposure"]["BHD"]["amount"], "1250.750");
    assert_eq!(s["by_action"]["call"]["currencies"]["JPY"]["amount_due"], "123457");
    // facts: JSON and text, for one customer and for all.
    let (code, stdout, err) =
        recoup(&["facts", "--ledger", &ledger, "--as-of", "2026-11-16", "--customer", "CJ", "--format", "json"], None);
    assert_eq!(code, 0, "{err}");
    let f = json(&stdout);
    assert_eq!(f["customer"]["overdue_total"], "123457");
    assert_eq!(f["invoices"][0]["open_amount"], "123457");
    let (code, stdout, err) =
        recoup(&["facts", "--ledger", &ledger, "--as-of", "2026-11-16", "--format", "json"], None);
    assert_eq!(code, 0, "{err}");
    let f = json(&stdout);
    let cust = |id: &str| f["customers"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(cust("CB")["overdue_total"], "1250.750");
    assert_eq!(cust("CU")["overdue_total"], "100.50");
    assert_eq!(f["portfolio"]["BHD"]["ar_overdue"], "1250.750");
    assert_eq!(f["portfolio"]["JPY"]["ar_overdue"], "123457");
    let (code, stdout, err) =
        recoup(&["facts", "--ledger", &ledger, "--as-of", "2026-11-16", "--customer", "CB"], None);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("1250.750"), "{stdout}");
    let (code, stdout, _) = recoup(&["facts", "--ledger", &ledger, "--as-of", "2026-11-16"], None);
    assert_eq!(code, 0);
    let line =
        |label: &str, value: &str| stdout.lines().any(|l| l.trim_start().starts_with(label) && l.ends_with(value));
    assert!(line("open AR", " BHD 1,250.750"), "{stdout}");
    assert!(line("open AR", " JPY 123,457"), "{stdout}");
    assert!(line("open AR", " USD 100.50"), "{stdout}");
    assert!(line("current", " JPY 0"), "{stdout}");
    // simulate: the diff of a variant that calls later, and its comparison.
    let late = tmp.path().join("late.toml");
    std::fs::write(
        &late,
        std::fs::read_to_string(&policy).unwrap().replace("days_past_due = 30", "days_past_due = 60"),
    )
    .unwrap();
    let sim = tmp.path().join("sim");
    let (code, _, err) = recoup(
        &[
            "simulate",
            "--ledger",
            &ledger,
            "--as-of",
            "2026-11-16",
            "--baseline",
            &policy,
            "--variant",
            late.to_str().unwrap(),
            "--out",
            sim.to_str().unwrap(),
            "--quiet",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let diffs: Vec<serde_json::Value> =
        std::fs::read_to_string(sim.join("diff.jsonl")).unwrap().lines().map(json).collect();
    let diff = |c: &str| diffs.iter().find(|d| d["customer_id"] == c).unwrap().clone();
    assert_eq!(
        (diff("CB")["currency"].as_str(), diff("CB")["baseline"][0]["amount_due"].as_str()),
        (Some("BHD"), Some("1250.750"))
    );
    assert_eq!(diff("CJ")["baseline"][0]["fee"], "4000");
    assert_eq!(diff("CU")["baseline"][0]["amount_due"], "100.50");
    let comparison = std::fs::read_to_string(sim.join("comparison.json")).unwrap();
    assert!(comparison.contains("\"1250.750\"") && comparison.contains("\"123457\""), "{comparison}");
}

/// Issue 20 §6: explain shows the `[amounts]` a rule compared, in the
/// customer's currency (and money with that currency's minor units).
#[test]
fn explain_shows_the_amounts_a_rule_compared_in_the_customer_s_currency() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, policy) = minor_units_case(tmp.path());
    let args = |c: &'static str| {
        vec![
            "explain",
            "--ledger",
            ledger.as_str(),
            "--policy",
            policy.as_str(),
            "--as-of",
            "2026-11-16",
            "--customer",
            c,
        ]
    };
    let (code, text, err) = recoup(&args("CB"), None);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("explain_amounts_bhd", text);
    let (code, text, err) = recoup(&args("CJ"), None);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("amounts.big = 10000"), "{text}");
    let mut json_args = args("CB");
    json_args.extend(["--format", "json"]);
    let (code, stdout, err) = recoup(&json_args, None);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rule = doc["trace"]["rules"].as_array().unwrap().iter().find(|r| r["rule_id"] == "call").unwrap();
    let read: Vec<(String, String)> = rule["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["value"].as_str().unwrap().to_string()))
        .collect();
    assert!(read.contains(&("amounts.big".to_string(), "500.000".to_string())), "{read:?}");
    assert_eq!(doc["trace"]["actions"][0]["amount_due"], "1250.750");
    assert_eq!(doc["facts"]["overdue_total"], "1250.750");
}

/// A third decimal is loaded for a dinar amount and refused for a dollar
/// amount, naming the row, the column and the currency.
#[test]
fn a_third_decimal_is_the_dinars_and_no_one_elses() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    std::fs::create_dir_all(&ledger).unwrap();
    std::fs::write(
        ledger.join("customers.csv"),
        "customer_id,name,segment,country,currency,credit_limit,payment_terms\n\
         CB,Manama Trading,small,BH,BHD,5000.000,NET30\n\
         CU,Austin Parts,small,US,USD,5000.00,NET30\n\
         CJ,Osaka Kogyo,small,JP,JPY,2000000,NET30\n",
    )
    .unwrap();
    let invoices_in = |usd: &str, jpy: &str| {
        format!(
            "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
             IB,CB,2026-09-01,2026-10-01,BHD,1250.755,1250.755,open\n\
             IU,CU,2026-09-01,2026-10-01,USD,{usd},{usd},open\n\
             IJ,CJ,2026-09-01,2026-10-01,JPY,{jpy},{jpy},open\n"
        )
    };
    let invoices = |usd: &str| invoices_in(usd, "123457.00");
    std::fs::write(ledger.join("payments.csv"), "payment_id,customer_id,invoice_id,paid_on,amount\n").unwrap();
    let dir = ledger.display().to_string();
    std::fs::write(ledger.join("invoices.csv"), invoices("100.005")).unwrap();
    let (code, _, err) = recoup(&["facts", "--ledger", &dir, "--as-of", "2026-11-16"], Some(tmp.path()));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("invoices.csv:3 (column `amount`)"), "{err}");
    assert!(err.contains("an amount with at most 2 decimals in USD"), "{err}");
    assert!(!err.contains("invoices.csv:2"), "the dinar amount is fine: {err}");
    std::fs::write(ledger.join("invoices.csv"), invoices("100.500")).unwrap();
    let (code, json, err) =
        recoup(&["facts", "--ledger", &dir, "--as-of", "2026-11-16", "--customer", "CB", "--format", "json"], None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["customer"]["open_total"], "1250.755", "{json}");
    // Yen have no minor unit: `123457.00` is whole yen, `123456.50` is not.
    std::fs::write(ledger.join("invoices.csv"), invoices_in("100.50", "123456.50")).unwrap();
    let (code, _, err) = recoup(&["facts", "--ledger", &dir, "--as-of", "2026-11-16"], Some(tmp.path()));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("invoices.csv:4 (column `amount`)"), "{err}");
    assert!(err.contains("an amount without decimals in JPY (it has no minor unit)"), "{err}");
    assert!(!err.contains("invoices.csv:3"), "the dollar amount is fine: {err}");
}

/// A run that releases a hold and places none says so without an empty
/// amount (`holds: 0 placed ( due)` before).
#[test]
fn holds_released_without_any_placed_show_no_empty_amount() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, err) = recoup(
        &[
            "run",
            "--ledger",
            "fixtures/groups",
            "--policy",
            "policies/b2b",
            "--as-of",
            "2026-11-16",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("  holds: 0 placed, 1 released\n"), "{stdout}");
}
