//! `recoup simulate`: today's comparison of standard, strict and lenient on
//! the demo ledger — the table and comparison.json snapshotted, the diff
//! checked against two independent `plan::evaluate` calls, determinism and
//! exit codes.

use crate::cli::{recoup, simulate_demo};
use crate::common::{date, repo};
use recoup::facts::{Context, FactsConfig};
use recoup::ledger::{LoadOptions, load};
use recoup::plan::{self, Plan};
use recoup::policy::CompiledPolicy;
use recoup::simulate::{Candidate, compare};
use std::collections::{BTreeMap, BTreeSet};

fn policy(name: &str) -> CompiledPolicy {
    recoup::policy::load(&repo(&format!("policies/{name}"))).policy.unwrap()
}

const DEMO: &[&str] = &[
    "simulate",
    "--ledger",
    "fixtures/demo",
    "--as-of",
    "2026-11-16",
    "--baseline",
    "policies/standard",
    "--variant",
    "policies/strict",
    "--variant",
    "policies/lenient",
];

fn with_out<'a>(args: &[&'a str], out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(["--out", out]);
    v.extend(extra);
    v
}

#[test]
fn demo_comparison_table() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let (code, stdout, stderr) = recoup(&with_out(DEMO, out.to_str().unwrap(), &[]), Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout);
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(
        files,
        [".recoup-output", "comparison.csv", "comparison.json", "diff.csv", "diff.jsonl", "rollrates.csv"]
    );
    insta::assert_snapshot!("demo_rollrates_csv", std::fs::read_to_string(out.join("rollrates.csv")).unwrap());
    let json = std::fs::read_to_string(out.join("comparison.json")).unwrap();
    insta::assert_snapshot!("demo_comparison_json", json);
    // --format json prints the same comparison.json, as `comparison` of one
    // object whose other members are null without --horizon and --backtest.
    let out2 = tmp.path().join("sim2");
    let (code, stdout, _) = recoup(&with_out(DEMO, out2.to_str().unwrap(), &["--format", "json"]), Some(tmp.path()));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["comparison"], serde_json::from_str::<serde_json::Value>(&json).unwrap());
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["backtest", "comparison", "forward"]);
    assert!(v["forward"].is_null() && v["backtest"].is_null());
}

/// The machine contract of simulate (docs/simulation.md, "Machine
/// outputs"): comparison.json and forward.json, and `--format json` with
/// and without --horizon, validated against docs/schemas/; the schemas are
/// strict enough to refuse the old shapes (an English metric name, a count
/// as a string, money with no currency, a top level that changes).
mod contract {
    use super::*;
    use serde_json::{Value, json};

    // The schemas as `recoup schema --output NAME` prints them (tests/output.rs).
    use crate::output::{assert_valid, errors, schema};

    fn read_json(path: &std::path::Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// Without --horizon: comparison.json and stdout's `comparison` match
    /// the schema; every money metric names its currency, the demo's three.
    #[test]
    fn todays_comparison_matches_its_schema() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("sim");
        let (code, stdout, stderr) =
            recoup(&with_out(DEMO, out.to_str().unwrap(), &["--format", "json"]), Some(tmp.path()));
        assert_eq!(code, 0, "{stderr}");
        let comparison = schema("comparison");
        let file = read_json(&out.join("comparison.json"));
        assert_valid("comparison.json", &comparison, &file);
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert_valid("stdout comparison", &comparison, &v["comparison"]);
        assert_eq!(file["currencies"], json!(["EUR", "GBP", "USD"]));
        let metrics = file["metrics"].as_array().unwrap();
        for code in ["EUR", "GBP", "USD"] {
            assert!(metrics.iter().any(|m| m["metric"] == "cost_of_actions" && m["currency"] == code), "{code}");
            assert!(file["roll_rates"]["projection"][code]["balance"].is_string(), "{code}");
        }
        // The old shapes are refused: an English metric name, a count as a
        // string, money with no currency or a float, and an unknown key.
        let mut bad = file.clone();
        bad["metrics"][0]["metric"] = json!("customers with actions");
        assert!(!errors(&comparison, &bad).is_empty());
        let mut bad = file.clone();
        bad["metrics"][0]["values"]["standard"] = json!("150");
        assert!(!errors(&comparison, &bad).is_empty());
        let money = metrics.iter().position(|m| m["unit"] == "money").unwrap();
        let mut bad = file.clone();
        bad["metrics"][money]["currency"] = Value::Null;
        assert!(!errors(&comparison, &bad).is_empty());
        let mut bad = file.clone();
        bad["metrics"][money]["values"]["standard"] = json!(421.2);
        assert!(!errors(&comparison, &bad).is_empty());
        let mut bad = file.clone();
        bad["metrics"][money]["values"]["standard"] = json!("421.2");
        assert!(!errors(&comparison, &bad).is_empty(), "money keeps its minor units");
        let mut bad = file;
        bad["total"] = json!("1.00");
        assert!(!errors(&comparison, &bad).is_empty());
    }

    /// With --horizon: the same top level as without it; forward.json and
    /// stdout's `forward` match the schema; money per currency throughout.
    #[test]
    fn the_projection_matches_its_schema_and_keeps_the_top_level() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("sim");
        let args = with_out(&DEMO[..9], out.to_str().unwrap(), &["--horizon", "2w", "--runs", "2", "--format", "json"]);
        let (code, stdout, stderr) = recoup(&args, Some(tmp.path()));
        assert_eq!(code, 0, "{stderr}");
        let v: Value = serde_json::from_str(&stdout).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["backtest", "comparison", "forward"], "one top level with or without --horizon");
        assert!(v["backtest"].is_null());
        let (comparison, forward) = (schema("comparison"), schema("forward"));
        assert_valid("stdout comparison", &comparison, &v["comparison"]);
        assert_valid("stdout forward", &forward, &v["forward"]);
        let file = read_json(&out.join("forward.json"));
        assert_valid("forward.json", &forward, &file);
        assert_eq!(file, v["forward"]);
        assert_eq!(file["currencies"], json!(["EUR", "GBP", "USD"]));
        // Cash collected: one summary row per currency and policy; calls once per policy.
        let summary = file["summary"].as_array().unwrap();
        let cash: Vec<&Value> = summary.iter().filter(|r| r["metric"] == "cash_collected").collect();
        assert_eq!(cash.len(), 3 * 2);
        assert!(cash.iter().all(|r| r["p50"].is_string() && r["unit"] == "money"));
        let calls: Vec<&Value> = summary.iter().filter(|r| r["metric"] == "calls").collect();
        assert_eq!(calls.len(), 2);
        assert!(calls.iter().all(|r| r["p50"].is_u64() && r["currency"].is_null()));
        // One verdict per currency per money metric, one per count.
        let verdicts = file["verdicts"].as_array().unwrap();
        assert_eq!(verdicts.iter().filter(|r| r["metric"] == "cash_collected").count(), 3);
        assert_eq!(verdicts.iter().filter(|r| r["metric"] == "calls").count(), 1);
        assert!(verdicts.iter().all(|r| r["distinguishable"].is_boolean()));
        // The old shapes are refused: a weekly money band with no currency, a count as a string.
        let mut bad = file.clone();
        bad["weekly"][0]["currency"] = Value::Null;
        assert!(!errors(&forward, &bad).is_empty());
        let mut bad = file.clone();
        let k = bad["summary"].as_array().unwrap().iter().position(|r| r["metric"] == "calls").unwrap();
        bad["summary"][k]["p50"] = json!("3");
        assert!(!errors(&forward, &bad).is_empty());
        // No [reporting] in the shipped policies: no total across currencies.
        assert!(v["comparison"]["converted"].is_null() && file["converted"].is_null());
    }

    /// Every scenario key `simulate` accepts is in forward.schema.json's
    /// `scenario` (and its `response` and `learn`), with nothing else: a
    /// scenario with every key set away from its default (so that the keys
    /// written only when not default are written too) matches the schema,
    /// its keys are the schema's, and forward.json echoes them; a key the
    /// schema does not know is refused.
    #[test]
    fn the_schema_knows_every_scenario_key() {
        use recoup::simulate::project::Scenario;
        let text = "week_slip_sd = 0.2\nwrite_off_days = 150\n[response]\ncall = 0.3\n\
                    [learn]\ncensoring = true\nrecent_weight = 2\nrecent_days = 60\nsilence = false\nstop_prior = 0.1\n\
                    bootstrap = false\ncalendar = false\n";
        let scenario = Scenario::parse(text).unwrap();
        let as_json = serde_json::to_value(&scenario).unwrap();
        let forward = schema("forward");
        // The schema's own text, as `recoup schema --output forward` prints it.
        let (code, text_of_schema, _) = recoup(&["schema", "--output", "forward"], None);
        assert_eq!(code, 0);
        let raw: Value = serde_json::from_str(&text_of_schema).unwrap();
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let sc = &raw["properties"]["scenario"];
        assert_eq!(keys(&as_json), keys(&sc["properties"]));
        for part in ["response", "learn"] {
            assert_eq!(keys(&as_json[part]), keys(&sc["properties"][part]["properties"]), "{part}");
        }
        // Through the CLI: forward.json carries them, and matches the schema.
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("scenario.toml");
        std::fs::write(&file, text).unwrap();
        let out = tmp.path().join("sim");
        let mut args = with_out(&DEMO[..9], out.to_str().unwrap(), &["--horizon", "1w", "--runs", "2"]);
        args.extend(["--scenario", file.to_str().unwrap()]);
        let (code, _, stderr) = recoup(&args, Some(tmp.path()));
        assert_eq!(code, 0, "{stderr}");
        let v = read_json(&out.join("forward.json"));
        assert_valid("forward.json", &forward, &v);
        assert_eq!(v["scenario"], as_json);
        assert_eq!(v["scenario"]["week_slip_sd"], json!(0.2));
        assert_eq!(v["scenario"]["learn"]["recent_weight"], json!(2));
        let mut bad = v.clone();
        bad["scenario"]["learn"]["recent_wieght"] = json!(2);
        assert!(!errors(&forward, &bad).is_empty(), "a misspelt learn key");
        let mut bad = v;
        bad["scenario"]["week_slip"] = json!(0.2);
        assert!(!errors(&forward, &bad).is_empty(), "an unknown scenario key");
    }

    /// A baseline with `[reporting]` rates: money metrics also get a total
    /// across currencies, converted, labelled with the rates and their date;
    /// hand-computed from the per-currency costs: 421.20 EUR + 754.45 GBP ×
    /// 1.14 (860.07) + 1,004.66 USD × 0.86 (864.01) = 2,145.28 EUR. A
    /// currency without a rate: no total, and the terminal says why.
    #[test]
    fn a_converted_total_only_with_the_baseline_s_rates() {
        let tmp = tempfile::tempdir().unwrap();
        let with = |name: &str, rates: &str| {
            let dir = tmp.path().join(name);
            crate::cli::standard_copy(&dir, &[]);
            let path = dir.join("policy.toml");
            let text = std::fs::read_to_string(&path).unwrap();
            let reporting = format!("[reporting]\ncurrency = \"EUR\"\nrates = {rates}\nrates_date = 2026-11-16\n");
            std::fs::write(&path, format!("{text}\n{reporting}")).unwrap();
            dir.to_str().unwrap().to_string()
        };
        let rates = with("rates", r#"{ USD = "0.86", GBP = "1.14" }"#);
        let out = tmp.path().join("out");
        let mut args = DEMO[..5].to_vec();
        args.extend(["--baseline", &rates, "--variant", "policies/strict", "--out", out.to_str().unwrap()]);
        args.extend(["--horizon", "1w", "--runs", "2", "--format", "json"]);
        let (code, stdout, stderr) = recoup(&args, Some(tmp.path()));
        assert_eq!(code, 0, "{stderr}");
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert_valid("comparison", &schema("comparison"), &v["comparison"]);
        assert_valid("forward", &schema("forward"), &v["forward"]);
        let conv = &v["comparison"]["converted"];
        assert!(conv["label"].as_str().unwrap().starts_with("converted to EUR at the rates of 2026-11-16"));
        assert_eq!(conv["rates"], json!({ "GBP": "1.14", "USD": "0.86" }));
        let cost = conv["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == "cost_of_actions").unwrap();
        assert_eq!(cost["values"]["standard"], "2145.28");
        let per = |code: &str| {
            let m = v["comparison"]["metrics"].as_array().unwrap().iter();
            let mut m = m.filter(|m| m["metric"] == "cost_of_actions" && m["currency"] == code);
            m.next().unwrap()["values"]["standard"].clone()
        };
        assert_eq!((per("EUR"), per("GBP"), per("USD")), (json!("421.20"), json!("754.45"), json!("1004.66")));
        // The projection's converted totals are of the runs' totals, per run.
        let fc = &v["forward"]["converted"];
        assert_eq!(fc["currency"], "EUR");
        assert!(fc["summary"].as_array().unwrap().iter().any(|r| r["metric"] == "cash_collected"));
        assert!(fc["summary"].as_array().unwrap().iter().all(|r| r["metric"] != "dso"), "no DSO across currencies");
        // The report shows the converted totals under today's comparison, with their label.
        let page = tmp.path().join("r.html");
        let (code, _, stderr) =
            recoup(&["report", "--simulation", out.to_str().unwrap(), "--out", page.to_str().unwrap()], None);
        assert_eq!(code, 0, "{stderr}");
        let html = std::fs::read_to_string(&page).unwrap();
        let at = html.find("Totals across currencies, converted").unwrap();
        assert!(html[at..].contains("converted to EUR at the rates of 2026-11-16"));
        assert!(html[at..].contains("<td class=\"n\">2145.28</td>"));
        // A currency without a rate: no total, and the terminal says why.
        let partial = with("partial", r#"{ USD = "0.86" }"#);
        let out2 = tmp.path().join("out2");
        let mut args = DEMO[..5].to_vec();
        args.extend(["--baseline", &partial, "--variant", "policies/strict", "--out", out2.to_str().unwrap()]);
        let (code, stdout, stderr) = recoup(&args, Some(tmp.path()));
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("[reporting] gives no rate to EUR for GBP: no total across currencies is given"));
        assert!(!stdout.contains("totals converted"), "{stdout}");
        assert!(read_json(&out2.join("comparison.json"))["converted"].is_null());
    }
}

/// What is done to the customer and for how much, written out again here
/// (not the library's key) so the test checks the diff independently.
fn plan_by_customer(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &plan.entries {
        let a = &e.action;
        let key = format!(
            "{:?} {:?} {:?} {} {} {} {} {:?} {:?} {}",
            a.action,
            a.channel,
            a.invoice_ids,
            a.amount_due.normalize(),
            (a.fee + a.compensation).normalize(),
            a.interest.normalize(),
            a.discount_cost.normalize(),
            a.new_limit.map(|d| d.normalize()),
            a.instalments,
            a.hold
        );
        m.entry(a.customer_id.clone()).or_default().push(key);
    }
    for v in m.values_mut() {
        v.sort();
    }
    m
}

#[test]
fn the_diff_lists_exactly_the_customers_whose_plans_differ() {
    let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    let (standard, strict, lenient) = (policy("standard"), policy("strict"), policy("lenient"));
    let candidates = [
        Candidate { label: "standard", path: "policies/standard", policy: &standard },
        Candidate { label: "strict", path: "policies/strict", policy: &strict },
        Candidate { label: "lenient", path: "policies/lenient", policy: &lenient },
    ];
    let c = compare(&ledger, &candidates, &ctx).unwrap();
    let base = plan_by_customer(&plan::evaluate(&ledger, &standard, &ctx).unwrap());
    for (label, variant) in [("strict", &strict), ("lenient", &lenient)] {
        let var = plan_by_customer(&plan::evaluate(&ledger, variant, &ctx).unwrap());
        let ids: BTreeSet<&String> = base.keys().chain(var.keys()).collect();
        let expected: BTreeSet<String> = ids.into_iter().filter(|id| base.get(*id) != var.get(*id)).cloned().collect();
        let listed: BTreeSet<String> =
            c.diffs.iter().filter(|d| d.variant == label).map(|d| d.customer_id.clone()).collect();
        assert_eq!(listed, expected, "{label}");
        assert!(!expected.is_empty());
        // Each entry carries both sides' actions with the rules behind them.
        for d in c.diffs.iter().filter(|d| d.variant == label) {
            let n = |m: &BTreeMap<String, Vec<String>>| m.get(&d.customer_id).map_or(0, Vec::len);
            assert_eq!(d.baseline.len(), n(&base), "{}", d.customer_id);
            assert_eq!(d.variant_actions.len(), n(&var), "{}", d.customer_id);
            assert!(d.baseline.iter().chain(&d.variant_actions).all(|a| !a.rule_id.is_empty()));
        }
    }
    // Customers in both plans with different actions are "changed", not added or removed.
    assert!(c.diffs.iter().any(|d| d.change == recoup::simulate::compare::Change::Changed));
    // The baseline's figures agree with the run summary of the same plan.
    let fig = &c.runs[0].figures;
    assert_eq!(fig.actions, c.runs[0].plan.entries.len() as u64);
    // Money per currency: each currency's cost is its actions' own, never a sum across currencies.
    let mut codes: Vec<String> = c.runs[0].plan.entries.iter().map(|e| e.action.currency.to_string()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes, ["EUR", "GBP", "USD"]);
    assert_eq!(fig.currencies.keys().cloned().collect::<Vec<_>>(), codes);
    for code in &codes {
        let cost: rust_decimal::Decimal =
            c.runs[0].plan.entries.iter().filter(|e| e.action.currency == code.as_str()).map(|e| e.action.cost).sum();
        assert_eq!(fig.currencies[code].cost, cost, "{code}");
    }
}

#[test]
fn the_outputs_are_the_same_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    let (c1, _, _) = recoup(&with_out(DEMO, one.to_str().unwrap(), &["--threads", "1", "-q"]), None);
    let (c2, _, _) = recoup(&with_out(DEMO, two.to_str().unwrap(), &["--threads", "4", "-q"]), None);
    assert_eq!((c1, c2), (0, 0));
    for f in recoup::simulate::write::FILES {
        assert_eq!(std::fs::read(one.join(f)).unwrap(), std::fs::read(two.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn an_invalid_variant_writes_nothing_and_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let args = [
        "simulate",
        "--ledger",
        "fixtures/demo",
        "--as-of",
        "2026-11-16",
        "--baseline",
        "policies/standard",
        "--variant",
        "fixtures/bad-policies/unknown-fact",
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, _, stderr) = recoup(&args, Some(tmp.path()));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("policy `fixtures/bad-policies/unknown-fact` is invalid"), "{stderr}");
    assert!(!out.exists());
    let (code, _, _) = recoup(&DEMO[..8], None);
    assert_eq!(code, 2, "a variant and --out are required");
}

#[test]
fn roll_rates_are_estimated_from_month_end_balances() {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    use recoup::simulate::{RollRateConfig, RollRateReport};
    use rust_decimal::Decimal;
    let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms,credit_score,risk_class,account_owner,email,phone,preferred_channel,do_not_contact,on_hold,opened_on,account_type
        C1,One,small,DE,USD,1000.00,NET30,700,low,o1,a@b.example,,email,false,false,2020-01-01,business";
    // I1: current at January's end, 1-30 at February's, paid in full in March.
    // I2: 50 paid in February; 150 rolls current → 1-30 → 31-60 and is open.
    // I3: written off (no date recorded): 1-30 → 31-60, then bad debt at the
    //     last month end (it never reaches 180 days past due in the history).
    let invoices =
        "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,disputed_since,dispute_reason
        I1,C1,2026-01-10,2026-02-09,USD,100.00,0.00,paid,,
        I2,C1,2026-01-20,2026-02-19,USD,200.00,150.00,open,,
        I3,C1,2026-01-05,2026-01-15,USD,40.00,40.00,written_off,,";
    let payments = "payment_id,customer_id,invoice_id,paid_on,amount
        P1,C1,I1,2026-03-15,100.00
        P2,C1,I2,2026-02-10,50.00";
    let files = InlineLedger { customers, invoices, payments: Some(payments), promises: None, actions: None };
    let ledger = load_inline(&files, &LoadOptions::default()).unwrap();
    let rr = RollRateReport::build(&ledger, date("2026-04-15"), &RollRateConfig::default()).unwrap();
    let m = &rr.matrix;
    assert_eq!((m.from, m.to, m.transitions), (Some(date("2026-01-31")), Some(date("2026-03-31")), 2));
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    // Money leaving each bucket: current I1 100 + I2 200 (January → February);
    // 1-30 I3 40 (January → February), I1 100 + I2 150 (February → March);
    // 31-60 I3 40 (February → March).
    assert_eq!(m.observed, vec![d("300"), d("290"), d("40"), d("0"), d("0")]);
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
    // Columns: current, 1-30, 31-60, 61-90, 91+, paid, bad debt.
    assert!(close(&m.p[0], &[0.0, 250.0 / 300.0, 0.0, 0.0, 0.0, 50.0 / 300.0, 0.0]), "{:?}", m.p[0]);
    assert!(close(&m.p[1], &[0.0, 0.0, 190.0 / 290.0, 0.0, 0.0, 100.0 / 290.0, 0.0]), "{:?}", m.p[1]);
    assert!(close(&m.p[2], &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]), "{:?}", m.p[2]);
    assert!(m.p[3].iter().all(|&p| p == 0.0), "61-90 is never observed");
    // Today I2's 150 is 55 days past due (31-60), which went to bad debt in
    // the history: all of it is projected as bad debt.
    let s = &rr.projection;
    assert_eq!((s.balance, s.collected, s.bad_debt, s.unresolved), (d("150"), d("0"), d("150.00"), d("0")));
    assert!(rr.policy_independent);
}

mod forward {
    use super::*;
    use recoup::facts::kpi;
    use recoup::simulate::project::{Forward, Projection, Scenario, project};
    use rust_decimal::Decimal;

    fn demo_projection(days: u32, runs: u32, seed: u64) -> (recoup::ledger::Ledger, Forward) {
        demo_projection_of(days, runs, seed, false)
    }

    fn demo_projection_of(days: u32, runs: u32, seed: u64, every_day: bool) -> (recoup::ledger::Ledger, Forward) {
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let (standard, strict) = (policy("standard"), policy("strict"));
        let f = projection_of(&ledger, &[("standard", &standard), ("strict", &strict)], days, runs, seed, every_day);
        (ledger, f)
    }

    fn projection_of(
        ledger: &recoup::ledger::Ledger,
        policies: &[(&str, &CompiledPolicy)],
        days: u32,
        runs: u32,
        seed: u64,
        every_day: bool,
    ) -> Forward {
        let p = Projection { days, runs, seed, scenario: Scenario::default(), every_day };
        let stall = [0.45, 0.52, 0.8, 0.76, 0.57];
        project(ledger, policies, date("2026-11-16"), &p, &stall).unwrap()
    }

    /// The projection of `policies` over 13 weeks with the wake-up schedule
    /// against the reference that evaluates every customer every day: the
    /// same actions, the same draws, the same figures.
    fn same_as_every_day(ledger: &recoup::ledger::Ledger, policies: &[(&str, &CompiledPolicy)], runs: u32, seed: u64) {
        let fast = projection_of(ledger, policies, 91, runs, seed, false);
        let slow = projection_of(ledger, policies, 91, runs, seed, true);
        assert_eq!(fast.weekly(), slow.weekly(), "seed {seed}");
        assert_eq!(fast.summary(), slow.summary(), "seed {seed}");
    }

    /// The shipped standard policy with each text `from` (found exactly
    /// once) replaced by `to`.
    fn standard_with(edits: &[(&str, &str)]) -> CompiledPolicy {
        let path = repo("policies/standard");
        let mut text = std::fs::read_to_string(path.join("policy.toml")).unwrap();
        for (from, to) in edits {
            assert_eq!(text.matches(from).count(), 1, "{from}");
            text = text.replace(from, to);
        }
        recoup::policy::load_with_text(&path, text).policy.unwrap()
    }

    /// The actions one run of `policy` on `ledger` simulates over 42 days
    /// (seed 5) under `scenario`, each described by `describe`.
    fn simulated_actions(
        ledger: &recoup::ledger::Ledger,
        policy: &CompiledPolicy,
        scenario: recoup::simulate::project::Scenario,
        describe: impl Fn(&recoup::ledger::ActionRecord) -> String,
    ) -> Vec<String> {
        use recoup::simulate::project::{Projection, project_one};
        let p = Projection { days: 42, runs: 1, seed: 5, scenario, every_day: false };
        let stall = [0.45, 0.52, 0.8, 0.76, 0.57];
        let (_, sim) = project_one(ledger, policy, date("2026-11-16"), &p, &stall, 0).unwrap();
        sim.actions.iter().filter(|a| a.id.starts_with("SIMACT")).map(describe).collect()
    }

    #[test]
    fn every_run_accounts_for_each_cent_of_ar() {
        let (ledger, f) = demo_projection(10, 2, 7);
        let start = kpi::by_currency(&ledger, &Context::new(date("2026-11-16"), FactsConfig::default()));
        assert_eq!(f.week_ends, [date("2026-11-23"), date("2026-11-26")]);
        assert_eq!(f.currencies, ["EUR", "GBP", "USD"]);
        for p in &f.policies {
            for run in &p.runs {
                // Per currency: AR at the end = AR today + new sales − what
                // was paid (cash, discounts, the agency's fee) − write-offs.
                for (cx, code) in f.currencies.iter().enumerate() {
                    let start = start[code].ar_total;
                    let mut ar = start;
                    for w in run.iter().map(|w| &w.money[cx]) {
                        ar += w.new_sales - w.cash_collected - w.discount_cost - w.agency_fees - w.write_offs;
                        assert_eq!(ar, w.ar_total, "{} {code}", p.label);
                        assert_eq!(w.overdue_by_bucket.iter().skip(1).copied().sum::<Decimal>(), w.overdue);
                        assert!(w.cash_collected > Decimal::ZERO && w.dso.is_some());
                        assert!(w.opening_paid > Decimal::ZERO && w.opening_paid <= start);
                    }
                }
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_projection_at_any_thread_count() {
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let (_, a) = one.install(|| demo_projection(8, 3, 11));
        let (_, b) = three.install(|| demo_projection(8, 3, 11));
        assert_eq!(a.weekly(), b.weekly());
        assert_eq!(a.summary(), b.summary());
        let (_, c) = demo_projection(8, 3, 12);
        assert_ne!(a.weekly(), c.weekly(), "another seed draws other payments");
    }

    #[test]
    fn evaluating_only_touched_or_woken_customers_changes_nothing() {
        // The wake-up schedule (simulate::wake) against the reference that
        // evaluates every customer every day: the same actions, the same
        // draws, the same figures, over 13 weeks of the three shipped
        // policies, which are all followed exactly (no weekly look: a
        // customer sleeps until its next wake day, however far).
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let shipped = [("standard", policy("standard")), ("strict", policy("strict")), ("lenient", policy("lenient"))];
        for (name, p) in &shipped {
            let wake = recoup::simulate::wake::Wake::of(p, &FactsConfig::default());
            assert!(wake.exact() && wake.max_sleep().is_none(), "{name}");
        }
        let policies: Vec<(&str, &CompiledPolicy)> = shipped.iter().map(|(n, p)| (*n, p)).collect();
        for (runs, seed) in [(2, 5), (1, 23)] {
            same_as_every_day(&ledger, &policies, runs, seed);
        }
    }

    #[test]
    fn guardrails_lifting_and_anniversaries_wake_whom_they_concern() {
        // The schedule looks at a customer on the day a message leaves the
        // 7-day window only when the contact cap or Regulation F suppressed
        // something at its last evaluation, on the Monday only when
        // `business_days_only` did, and on its account's anniversaries only
        // when it was never reviewed. The demo has no consumers (Regulation F
        // never applies) and reviewed customers: here every other customer is
        // a consumer and no one was ever reviewed, under the standard policy
        // with and without its contact cap (Regulation F alone), against the
        // reference that evaluates every customer every day.
        let tmp = tempfile::tempdir().unwrap();
        let demo = repo("fixtures/demo");
        for f in ["invoices.csv", "payments.csv", "promises.csv"] {
            std::fs::copy(demo.join(f), tmp.path().join(f)).unwrap();
        }
        let customers = std::fs::read_to_string(demo.join("customers.csv")).unwrap();
        let mut consumers = 0;
        let customers: Vec<String> = customers
            .lines()
            .enumerate()
            .map(|(i, l)| match l.split_once(",business,") {
                // account_type, then the contact columns.
                Some((head, tail)) if i % 2 == 0 => {
                    consumers += 1;
                    format!("{head},consumer,{tail}")
                }
                _ => l.to_string(),
            })
            .collect();
        assert!(consumers > 100, "{consumers}");
        std::fs::write(tmp.path().join("customers.csv"), customers.join("\n") + "\n").unwrap();
        let actions = std::fs::read_to_string(demo.join("actions.csv")).unwrap();
        let kept: Vec<&str> = actions.lines().filter(|l| !l.contains(",credit_review,")).collect();
        assert!(actions.lines().count() - kept.len() > 100);
        std::fs::write(tmp.path().join("actions.csv"), kept.join("\n") + "\n").unwrap();
        let ledger = load(tmp.path(), &LoadOptions::default()).unwrap();
        let text = std::fs::read_to_string(repo("policies/standard").join("policy.toml")).unwrap();
        assert!(text.contains("regulation_f = true\n"));
        // Without the cap, and with a call 10 days past due and another 2
        // days later (Regulation F holds it for 7 days after a conversation:
        // no other wake day falls on the 17th).
        let (second, call) = (
            "id = \"second-notice\"\ndays_past_due = 14\naction = \"email\"\ntemplate = \"overdue-2\"\ncooldown_days = 7\n",
            "id = \"call\"\ndays_past_due = 21\naction = \"call\"\ncooldown_days = 5\n",
        );
        let uncapped = standard_with(&[
            ("max_contacts_per_7_days = 3\n", ""),
            (second, "id = \"second-notice\"\ndays_past_due = 10\naction = \"call\"\n"),
            (call, "id = \"call\"\ndays_past_due = 12\naction = \"call\"\ncooldown_days = 1\n"),
        ]);
        let standard = policy("standard");
        let policies: Vec<(&str, &CompiledPolicy)> = vec![("standard", &standard), ("uncapped", &uncapped)];
        // Two runs: the first day of both evaluated once (shared) and only
        // the customers a run touched that day again.
        same_as_every_day(&ledger, &policies, 2, 3);
    }

    #[test]
    fn a_declared_message_kind_counts_as_a_contact_as_the_built_in_one() {
        // A kind the policy declares with a channel is a message, in the
        // simulation as in `run`: it counts toward the contact cap (here 1
        // in 7 days, so that it binds) and the contact facts, and the wake
        // schedule looks at a customer the day such a message leaves the
        // 7-day window. The standard ladder's first notice as a declared
        // e-mail kind: the schedule equals evaluating every customer every
        // day, and (with no response to any message, which the simulation
        // models per built-in kind) the day-by-day actions are those of the
        // built-in e-mail, name aside.
        use recoup::simulate::project::Scenario;
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        // The first notice of the standard and light ladders (the same step).
        let first = "days_past_due = 1\naction = \"email\"\ntemplate = \"overdue-1\"\n";
        let path = repo("policies/standard");
        let text = std::fs::read_to_string(path.join("policy.toml")).unwrap();
        let capped = text.replacen("max_contacts_per_7_days = 3\n", "max_contacts_per_7_days = 1\n", 1);
        assert_eq!(capped.matches(first).count(), 2);
        let kind = "\n[kinds.reminder]\nlabel = \"Reminder\"\nchannel = \"email\"\n";
        let declared = capped.replace(first, &first.replace("\"email\"", "\"reminder\"")) + kind;
        let load = |text: String| recoup::policy::load_with_text(&path, text).policy.unwrap();
        let (built_in, declared) = (load(capped), load(declared));
        let reminder = recoup::ledger::ActionKind::named("reminder").unwrap();
        assert!(reminder.is_declared());
        same_as_every_day(&ledger, &[("declared", &declared)], 2, 3);
        // The same actions, day by day, as under the built-in kind.
        let mut scenario = Scenario::default();
        let r = &mut scenario.response;
        (r.email, r.sms, r.letter, r.statement, r.call) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let simulated = |policy: &CompiledPolicy| {
            simulated_actions(&ledger, policy, scenario.clone(), |a| {
                // The built-in e-mail moves to its fallback's kind (sms, letter).
                let channel = a.channel.map(|c| c.as_str()).unwrap_or("");
                let kind = if a.action == reminder { channel.to_string() } else { a.action.to_string() };
                format!("{} {} {:?} {} {kind} {channel}", a.decided_on, a.customer, a.invoice, a.rule_id)
            })
        };
        let (got, want) = (simulated(&declared), simulated(&built_in));
        assert!(want.iter().filter(|a| a.contains(" first-notice email email")).count() > 20, "{want:?}");
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w);
        }
    }

    #[test]
    fn a_customer_wakes_at_the_step_ages_of_the_ladder_its_strategy_follows() {
        // The schedule lists the step ages of the ladder of the strategy a
        // customer followed at its last evaluation only, and lists its days
        // again when the strategy changes. Here the key-accounts strategy is
        // chosen by `customer.max_days_past_due >= 10` (it changes without a
        // touch, on a day the schedule wakes the customer) and its ladder
        // starts at 12 days past due, an age of no other ladder and no
        // condition: a customer moved to it on day 10 must be woken on day
        // 12, not at the standard ladder's next age (14). The same against
        // the reference that evaluates every customer every day.
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let late = standard_with(&[
            ("when = 'customer.segment == \"enterprise\"'\n", "when = \"customer.max_days_past_due >= 10\"\n"),
            ("id = \"first-notice\"\ndays_past_due = 3\n", "id = \"late-notice\"\ndays_past_due = 12\n"),
        ]);
        assert!(recoup::simulate::wake::Wake::of(&late, &FactsConfig::default()).exact());
        same_as_every_day(&ledger, &[("late", &late)], 1, 3);
    }

    #[test]
    fn the_weighted_days_past_due_are_worked_out_when_a_condition_reads_them() {
        // The simulation works out `customer.weighted_days_past_due` (and
        // `customer.weighted_days_late`) only for a policy whose conditions
        // read it. Here the call step asks for
        // `customer.weighted_days_past_due > 0`, which holds whenever a step
        // 21 days past due is due (an invoice is overdue): the projection is
        // the standard's, action for action. Were the fact left at 0, the
        // variant would make no call.
        use recoup::simulate::project::Scenario;
        use recoup::simulate::wake::Wake;
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let standard = policy("standard");
        let reads = standard_with(&[(
            "days_past_due = 21\naction = \"call\"\ncooldown_days = 5\n",
            "days_past_due = 21\naction = \"call\"\ncooldown_days = 5\nwhen = \"customer.weighted_days_past_due > 0\"\n",
        )]);
        let config = FactsConfig::default();
        assert!(!Wake::of(&standard, &config).weighted_dpd);
        assert!(Wake::of(&reads, &config).weighted_dpd);
        let simulated = |policy: &CompiledPolicy| {
            simulated_actions(&ledger, policy, Scenario::default(), |a| {
                format!("{} {} {:?} {} {}", a.decided_on, a.customer, a.invoice, a.rule_id, a.action)
            })
        };
        let (got, want) = (simulated(&reads), simulated(&standard));
        assert!(want.iter().filter(|a| a.ends_with(" call call")).count() > 5, "{want:?}");
        assert_eq!(got, want);
        // The weighted days late likewise: the standard ladder's calls only
        // where they are not 0, which they are for every customer when left
        // out (the key accounts' ladder calls whatever the condition).
        let call_when = |when: &str| {
            standard_with(&[(
                "days_past_due = 21\naction = \"call\"\ncooldown_days = 5\n",
                &format!("days_past_due = 21\naction = \"call\"\ncooldown_days = 5\nwhen = \"{when}\"\n"),
            )])
        };
        let (late, never) = (call_when("customer.weighted_days_late != 0.0"), call_when("customer.paid_invoices < 0"));
        assert!(!Wake::of(&standard, &config).weighted_late);
        assert!(Wake::of(&late, &config).weighted_late);
        let calls = |p: &CompiledPolicy| simulated(p).iter().filter(|a| a.ends_with(" call call")).count();
        let (some, none) = (calls(&late), calls(&never));
        assert!(some > none + 5, "{some} calls, {none} without the standard ladder's");
    }

    #[test]
    fn a_cooldown_wakes_from_the_executions_of_the_earlier_steps_of_the_ladder() {
        // The schedule follows a step's cooldown from the executions of the
        // earlier steps of the customer's ladder only (the ladder checks a
        // step on an invoice only after the steps executed on it). Here the
        // second notice is due 2 days past due but 10 days after the first
        // notice (1 day past due): it goes out about 11 days past due, an
        // age of no step and no condition, which only the first notice's
        // execution gives. The same against the reference that evaluates
        // every customer every day.
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let cooled = standard_with(&[(
            "id = \"second-notice\"\ndays_past_due = 14\naction = \"email\"\ntemplate = \"overdue-2\"\ncooldown_days = 7\n",
            "id = \"second-notice\"\ndays_past_due = 2\naction = \"email\"\ntemplate = \"overdue-2\"\ncooldown_days = 10\n",
        )]);
        same_as_every_day(&ledger, &[("cooled", &cooled)], 1, 3);
    }

    #[test]
    fn a_policy_not_followed_exactly_keeps_the_weekly_look() {
        // Arithmetic on a day count (`days_since_payment * 2 > 90`) is not
        // placed by the schedule: every customer is looked at at least every
        // 7 days. Under the shipped standard (`> 45`, placed exactly) some
        // sleep longer.
        use recoup::simulate::wake::{MAX_SLEEP, Schedule, Wake};
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let path = repo("policies/standard");
        let text = std::fs::read_to_string(path.join("policy.toml")).unwrap();
        assert_eq!(text.matches("customer.days_since_payment > 45").count(), 2);
        let edited = text.replace("customer.days_since_payment > 45", "customer.days_since_payment * 2 > 90");
        let arithmetic = recoup::policy::load_with_text(&path, edited).policy.unwrap();
        let (day, end) = (date("2026-11-16"), date("2027-02-15"));
        let asleep_past_a_week = |p: &CompiledPolicy| {
            let wake = Wake::of(p, &FactsConfig::default());
            let mut s = Schedule::new(ledger.customers.len(), end);
            let n = ledger.customers.len() as u32;
            for c in 0..n {
                s.evaluated(&wake, &ledger, c, day, true, Default::default(), None, None);
            }
            (0..n).filter(|&c| !s.due(c, day + chrono::Duration::days(MAX_SLEEP))).count()
        };
        let wake = Wake::of(&arithmetic, &FactsConfig::default());
        assert!(!wake.exact());
        assert_eq!(wake.max_sleep(), Some(MAX_SLEEP));
        assert_eq!(asleep_past_a_week(&arithmetic), 0);
        assert!(asleep_past_a_week(&policy("standard")) > 100);
    }

    #[test]
    fn the_priority_score_the_simulation_skips_decides_nothing() {
        // The projection evaluates without the `[priority]` score: on every
        // demo customer, under both shipped policies, the actions are the
        // same with and without it, but for the score they carry.
        use recoup::engine::{EvalOptions, PlannedAction, evaluate_customer, evaluate_customer_with};
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
        let cal = ctx.calendar();
        let (mut scored, mut actions) = (0, 0);
        for p in [policy("standard"), policy("strict")] {
            let mut buf = Vec::new();
            for c in 0..ledger.customers.len() as u32 {
                let cf = recoup::facts::derive_customer(&ledger, c, &ctx, &mut buf);
                let with = evaluate_customer(&p, &ledger, &cf, &buf, &cal, None).unwrap();
                let off = EvalOptions { priority: false, ..EvalOptions::default() };
                let without = evaluate_customer_with(&p, &ledger, &cf, &buf, &cal, None, off).unwrap();
                assert!(without.iter().all(|a| a.priority == 0.0));
                scored += with.iter().filter(|a| a.priority != 0.0).count();
                actions += with.len();
                let zeroed: Vec<_> = with.into_iter().map(|a| PlannedAction { priority: 0.0, ..a }).collect();
                assert_eq!(zeroed, without);
            }
        }
        assert!(actions > 100 && scored > 100, "{scored} of {actions} actions scored");
    }

    #[test]
    fn the_words_the_simulation_skips_decide_nothing() {
        // The projection evaluates without the actions' reasons and facts: on
        // every demo customer, under the three shipped policies, the actions
        // are the same with and without them, but for those.
        use recoup::engine::{EvalOptions, PlannedAction, evaluate_customer, evaluate_customer_with};
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
        let cal = ctx.calendar();
        let mut kinds = std::collections::BTreeSet::new();
        for p in [policy("standard"), policy("strict"), policy("lenient")] {
            let ctx = p.facts_context(&ctx);
            let mut buf = Vec::new();
            for c in 0..ledger.customers.len() as u32 {
                let cf = recoup::facts::derive_customer(&ledger, c, &ctx, &mut buf);
                let with = evaluate_customer(&p, &ledger, &cf, &buf, &cal, None).unwrap();
                let off = EvalOptions { words: false, ..EvalOptions::default() };
                let without = evaluate_customer_with(&p, &ledger, &cf, &buf, &cal, None, off).unwrap();
                assert!(without.iter().all(|a| a.reason.is_empty() && a.facts.is_empty()));
                assert!(with.iter().all(|a| !a.reason.is_empty() && !a.facts.is_empty()));
                kinds.extend(with.iter().map(|a| a.rule_kind.as_str()));
                let blank: Vec<_> =
                    with.into_iter().map(|a| PlannedAction { reason: String::new(), facts: Vec::new(), ..a }).collect();
                assert_eq!(blank, without);
            }
        }
        for k in ["step", "limit", "review"] {
            assert!(kinds.contains(k), "no {k} action in {kinds:?}");
        }
    }

    #[test]
    fn scenario_files_have_defaults_and_refuse_unknown_keys() {
        let s = Scenario::parse("discount_taken = 0.5\n[response]\ncall = 0.4\n").unwrap();
        assert_eq!((s.discount_taken, s.response.call, s.response.email), (0.5, 0.4, 0.05));
        assert_eq!(s.write_off_days, 180);
        let e = Scenario::parse("[response]\nphone = 0.4\n").unwrap_err();
        assert!(e.contains("unknown field `phone`"), "{e}");
    }

    #[test]
    fn a_bad_horizon_is_a_usage_error() {
        let (code, _, err) = recoup(&with_out(DEMO, "/nonexistent/out", &["--horizon", "13x"]), None);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("expected a span with its unit, such as `13w`, `90d` or `3m`"), "{err}");
    }

    /// `--horizon 13` could be days or weeks: refused with a usage error
    /// (exit 2) that names the units, before anything is read or written.
    #[test]
    fn a_horizon_without_its_unit_is_a_usage_error() {
        for (h, says) in [
            ("13", "`13` has no unit: write `13d` for 13 days, `13w` for 13 weeks or `13m` for 13 months"),
            ("0w", "expected a span with its unit"),
            ("121m", "expected a span with its unit"),
            ("13é", "expected a span with its unit"),
        ] {
            let (code, out, err) = recoup(&with_out(DEMO, "/nonexistent/out", &["--horizon", h]), None);
            assert_eq!(code, 2, "{h}: {err}");
            assert!(err.contains(says), "{h}: {err}");
            assert!(out.is_empty(), "{h}: {out}");
        }
    }
}

#[test]
fn a_projection_adds_its_files_and_one_json_object() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let args = with_out(&DEMO[..9], out.to_str().unwrap(), &["--horizon", "3d", "--runs", "2", "--format", "json"]);
    let (code, stdout, stderr) = recoup(&args, Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["forward"]["days"], 3);
    assert_eq!(v["comparison"]["baseline"], "standard");
    for f in recoup::simulate::write::FILES.iter().chain(recoup::simulate::write::FORWARD_FILES) {
        assert!(out.join(f).exists(), "{f}");
    }
    let summary = std::fs::read_to_string(out.join("forward_summary.csv")).unwrap();
    assert!(summary.starts_with(
        "metric,currency,policy,p10,p50,p90,minus_baseline_p10,minus_baseline_p50,minus_baseline_p90,\
         minus_baseline_mean,share_better,distinguishable,runs_needed\ncash_collected,EUR,standard,"
    ));
    // The verdicts come first in forward.json, one per metric and variant.
    let fw = std::fs::read_to_string(out.join("forward.json")).unwrap();
    assert!(fw.find("\"verdicts\"").unwrap() < fw.find("\"summary\"").unwrap());
    let verdicts = v["forward"]["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), v["forward"]["summary"].as_array().unwrap().len() / 2);
    assert!(verdicts.iter().all(|x| x["text"].as_str().unwrap().starts_with(x["variant"].as_str().unwrap())));
}

#[test]
fn simulated_actions_feed_back_into_the_history_the_engine_reads() {
    use recoup::simulate::project::{Projection, Scenario, project_one};
    let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    let standard = policy("standard");
    let p = Projection { days: 21, runs: 1, seed: 3, scenario: Scenario::default(), every_day: false };
    let (_, sim) = project_one(&ledger, &standard, date("2026-11-16"), &p, &[0.45, 0.52, 0.8, 0.76, 0.57], 0).unwrap();
    assert_eq!(sim.customers.len(), ledger.customers.len());
    assert!(sim.invoices.len() > ledger.invoices.len(), "new invoices arrived");
    assert!(sim.payments.len() > ledger.payments.len(), "payments were drawn");
    let simulated: Vec<_> = sim.actions.iter().filter(|a| a.id.starts_with("SIMACT")).collect();
    assert!(!simulated.is_empty());
    // A ladder step done for an invoice is seen the next day: never the same
    // step for the same invoice on two days running (fees charge once).
    let mut seen: BTreeMap<(u32, String), Vec<chrono::NaiveDate>> = BTreeMap::new();
    for a in simulated.iter().filter(|a| a.action.is_contact()) {
        if let Some(i) = a.invoice {
            seen.entry((i, a.rule_id.to_string())).or_default().push(a.decided_on);
        }
    }
    for ((i, rule), days) in &seen {
        assert!(days.windows(2).all(|w| (w[1] - w[0]).num_days() > 1), "{rule} on invoice {i}: {days:?}");
    }
    // And ladders advance: some invoice got two different steps in the horizon.
    let mut steps: BTreeMap<u32, BTreeSet<&str>> = BTreeMap::new();
    for (i, rule) in seen.keys() {
        steps.entry(*i).or_default().insert(rule);
    }
    assert!(steps.values().any(|s| s.len() >= 2), "no invoice moved up its ladder");
    // The rows the simulation appended are matched to the policy's rules by
    // number as the loaded ones are: each executed row's number is its
    // whole id's, and every simulated row is one of the policy's rules.
    use recoup::engine::history::History;
    use recoup::policy::compile::NO_RULE;
    let end = date("2026-11-16") + chrono::Duration::days(21);
    let mut numbered = 0;
    for c in 0..sim.customers.len() as u32 {
        let h = History::new(&sim, c, end, &standard.per_invoice, &standard.ids);
        for d in h.executed() {
            let record = h.record(d).unwrap();
            assert_eq!(d.rule, standard.ids.code(&record.rule_id), "row {} of rule {}", record.id, record.rule_id);
            if record.id.starts_with("SIMACT") {
                assert_ne!(d.rule, NO_RULE, "simulated row {} of rule {}", record.id, record.rule_id);
                numbered += 1;
            }
        }
    }
    assert_eq!(numbered, simulated.iter().filter(|a| a.was_executed()).count());
}

mod backtest {
    use super::*;
    use recoup::ledger::{InvoiceStatus, Outcome};
    use recoup::simulate::backtest::{actual_cash, truncate};
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A customer with five invoices around 2026-02-01 (see each row's note).
    fn hand_built() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).unwrap();
        w(
            "customers.csv",
            "customer_id,name,segment,country,currency,credit_limit,payment_terms,credit_score,risk_class,account_owner,email,phone,preferred_channel,do_not_contact,on_hold,opened_on,account_type\n\
             C1,One,small,DE,EUR,5000.00,NET30,700,low,owner-01,a@b.example,,email,false,false,2020-01-01,business\n",
        );
        w(
            "invoices.csv",
            "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,disputed_since,dispute_reason\n\
             I1,C1,2026-01-01,2026-01-31,EUR,100.00,0.00,paid,,\n\
             I2,C1,2026-01-15,2026-02-14,EUR,200.00,200.00,disputed,2026-03-01,quality\n\
             I3,C1,2026-02-05,2026-03-07,EUR,70.00,0.00,paid,,\n\
             I4,C1,2025-06-01,2025-07-01,EUR,50.00,50.00,written_off,,\n\
             I5,C1,2025-10-01,2025-10-31,EUR,80.00,80.00,written_off,,\n",
        );
        w(
            "payments.csv",
            "payment_id,customer_id,invoice_id,paid_on,amount\n\
             P1,C1,I1,2026-01-20,40.00\n\
             P2,C1,I1,2026-02-10,60.00\n\
             P3,C1,I3,2026-02-06,70.00\n\
             P4,C1,,2026-01-28,30.00\n",
        );
        w(
            "promises.csv",
            "promise_id,customer_id,invoice_id,made_on,due_on,amount,plan_id\n\
             PR1,C1,I2,2026-01-25,2026-02-20,200.00,\n\
             PR2,C1,I2,2026-02-02,2026-02-25,200.00,\n",
        );
        w(
            "actions.csv",
            "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome\n\
             A1,C1,I1,first-notice,email,email,2026-01-30,2026-02-02,delivered\n\
             A2,C1,I3,pre-due,email,email,2026-02-06,2026-02-06,delivered\n\
             A3,C1,,statement,statement,email,2026-02-03,2026-02-03,sent\n\
             A0,C1,I5,first-notice,email,email,2025-11-01,2025-11-01,delivered\n",
        );
        tmp
    }

    #[test]
    fn truncation_keeps_what_was_known_on_the_date() {
        let tmp = hand_built();
        let full = load(tmp.path(), &LoadOptions::default()).unwrap();
        let t = truncate(&full, date("2026-02-01"), 180);
        let inv: Vec<(&str, Decimal, InvoiceStatus, bool)> =
            t.invoices.iter().map(|i| (i.id.as_str(), i.open_amount, i.status, i.disputed_since.is_some())).collect();
        assert_eq!(
            inv,
            [
                // 100 less the 40 paid by then.
                ("I1", d("60.00"), InvoiceStatus::Open, false),
                // The dispute started later.
                ("I2", d("200.00"), InvoiceStatus::Open, false),
                // 215 days past due: written off by then (180 days).
                ("I4", d("0"), InvoiceStatus::WrittenOff, false),
                // 93 days past due: still open then.
                ("I5", d("80.00"), InvoiceStatus::Open, false),
            ]
        );
        // I3 (issued later) is gone with its payment and action; P2 is later.
        let pays: Vec<(&str, Option<u32>)> = t.payments.iter().map(|p| (p.id.as_str(), p.invoice)).collect();
        assert_eq!(pays, [("P1", Some(0)), ("P4", None)]);
        let promises: Vec<&str> = t.promises.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(promises, ["PR1"]);
        assert_eq!(t.promises[0].invoice, Some(1), "I2 is the second invoice kept");
        let acts: Vec<(&str, Option<chrono::NaiveDate>, Option<Outcome>)> =
            t.actions.iter().map(|a| (a.id.as_str(), a.executed_on, a.outcome)).collect();
        assert_eq!(
            acts,
            [
                // Decided before, executed after: pending then.
                ("A1", None, Some(Outcome::Pending)),
                ("A0", Some(date("2025-11-01")), Some(Outcome::Delivered)),
            ]
        );
        assert_eq!(t.actions[1].invoice, Some(3), "I5 is the fourth invoice kept");
        // The indexes follow the kept rows.
        assert_eq!(t.invoices_by_customer.rows(0).len(), 4);
        assert_eq!(t.payments_by_invoice.rows(0), [0]);
        // What came in afterwards: P2 and P3 in the first week, nothing in the second.
        let weeks = [date("2026-02-08"), date("2026-02-15")];
        let code = full.customers[0].currency.to_string();
        assert_eq!(actual_cash(&full, date("2026-02-01"), &weeks, &code), [d("70.00"), d("60.00")]);
        assert_eq!(
            actual_cash(&full, date("2026-02-01"), &weeks, "XXX"),
            [Decimal::ZERO; 2],
            "another currency's cash"
        );
    }

    /// Naive forecast (b): in the 13 weeks to 2026-02-01 the ledger records
    /// P1 (40.00 on 01-20) and P4 (30.00 on account, 01-28): 70.00 ÷ 13 =
    /// 5.38 a week, 2.31 for a last week of 3 days (70 × 3 ÷ 91). Against
    /// the actual 70.00 and 60.00: errors 92.3143 % and 91.0333 %, MAPE 91.6738 %.
    #[test]
    fn the_naive_trailing_mean_forecast_is_the_13_weeks_before() {
        use recoup::simulate::backtest::{mape_pct, naive_trailing_mean};
        let tmp = hand_built();
        let full = load(tmp.path(), &LoadOptions::default()).unwrap();
        let weeks = [date("2026-02-08"), date("2026-02-15"), date("2026-02-18")];
        let naive = naive_trailing_mean(&full, date("2026-02-01"), &weeks, &full.customers[0].currency);
        assert_eq!(naive, [d("5.38"), d("5.38"), d("2.31")]);
        assert_eq!(mape_pct(&naive[..2], &[d("70.00"), d("60.00")]), Some(91.6738));
        assert_eq!(mape_pct(&naive, &[Decimal::ZERO; 3]), None, "no week with cash: no error");
    }

    /// Naive forecast (a) from 2026-02-10. Known then: I1 settled 02-10, 10
    /// days after its 01-31 due date; I3 settled 02-06, 29 days before its
    /// 03-07 due date: C1's average delay (10 − 29) ÷ 2 = −9.5, −10 days.
    /// Open: I2 (200.00, due 02-14, so expected 02-04: passed, paid 02-11)
    /// and I5 (80.00, due 2025-10-31: passed, 02-11): week 1 = 280.00.
    /// New invoices: I1 + I2 + I3 = 370.00 issued in the 91 days before,
    /// 370 ÷ 91 a day, paid NET30 − 10 = 20 days after issue: only the
    /// invoice of 02-11 is paid by 03-03 (week 3): 4.07.
    #[test]
    fn naive_forecast_a_pays_on_the_due_date_plus_the_average_delay() {
        use recoup::simulate::backtest::{average_delays, naive_due_plus_delay};
        let tmp = hand_built();
        let full = load(tmp.path(), &LoadOptions::default()).unwrap();
        let known = truncate(&full, date("2026-02-10"), 180);
        assert_eq!(average_delays(&known, date("2026-02-10")), [-10]);
        let weeks = [date("2026-02-17"), date("2026-02-24"), date("2026-03-03")];
        let code = known.customers[0].currency.to_string();
        assert_eq!(
            naive_due_plus_delay(&known, date("2026-02-10"), &weeks, &code),
            [d("280.00"), d("0.00"), d("4.07")]
        );
        assert_eq!(
            naive_due_plus_delay(&known, date("2026-02-10"), &weeks, "XXX"),
            [Decimal::ZERO; 3],
            "another currency's invoices"
        );
    }

    /// Naive (b)'s band from 2026-02-01: of the 13 weeks before, week 12
    /// (01-19..01-25) has P1's 40.00, week 13 P4's 30.00, the 11 others
    /// nothing; nearest rank: P10 = the 2nd smallest (0), P90 = the 12th
    /// (30.00); a last week of 3 days gets 3/7 of it (12.86). Against the
    /// actual 70.00, 60.00 and 0: only the last week is inside.
    #[test]
    fn naive_forecast_b_has_the_spread_of_the_13_weeks_before_as_its_band() {
        use recoup::simulate::backtest::{coverage, naive_trailing_band};
        let tmp = hand_built();
        let full = load(tmp.path(), &LoadOptions::default()).unwrap();
        let weeks = [date("2026-02-08"), date("2026-02-15"), date("2026-02-18")];
        let band = naive_trailing_band(&full, date("2026-02-01"), &weeks, &full.customers[0].currency);
        let z = Decimal::ZERO;
        assert_eq!(band, [(z, d("30.00")), (z, d("30.00")), (z, d("12.86"))]);
        assert_eq!(
            naive_trailing_band(&full, date("2026-02-01"), &weeks, "XXX"),
            [(z, z); 3],
            "another currency's payments"
        );
        assert_eq!(coverage(&band, &[d("70.00"), d("60.00"), z]), 0.3333);
    }

    /// Pinball loss: week 1 band 80/100/120, actual 100: 0.1 × 20 + 0 +
    /// 0.1 × 20 = 4; week 2 a point forecast 50, actual 100: 0.1 × 50 +
    /// 0.5 × 50 + 0.9 × 50 = 75. Mean over 6: 13.1667, ÷ the mean actual
    /// week (100) = 13.1667 %.
    #[test]
    fn the_pinball_loss_is_hand_computed() {
        use recoup::simulate::backtest::pinball_pct;
        let bands = [(d("80"), d("100"), d("120")), (d("50"), d("50"), d("50"))];
        assert_eq!(pinball_pct(&bands, &[d("100"), d("100")]), Some(13.1667));
        assert_eq!(pinball_pct(&bands, &[Decimal::ZERO; 2]), None, "nothing came in");
    }

    #[test]
    fn a_backtest_of_the_demo_ledger_runs_end_to_end() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("bt");
        let args = [
            "simulate",
            "--ledger",
            "fixtures/demo",
            "--as-of",
            "2026-08-17",
            "--baseline",
            "policies/standard",
            "--backtest",
            "--horizon",
            "13w",
            "--runs",
            "3",
            "--format",
            "json",
            "--out",
            out.to_str().unwrap(),
        ];
        let (code, stdout, stderr) = recoup(&args, None);
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        // One back-test per currency: cash is never added across currencies.
        let bts = v["backtest"].as_array().unwrap();
        let codes: Vec<&str> = bts.iter().map(|b| b["currency"].as_str().unwrap()).collect();
        assert_eq!(codes, ["EUR", "GBP", "USD"]);
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        for bt in bts {
            let code = bt["currency"].as_str().unwrap();
            assert_eq!(bt["weeks"].as_array().unwrap().len(), 13);
            assert_eq!(bt["weeks"][0]["week_end"], "2026-08-24");
            assert!(bt["mape_pct"].as_f64().unwrap() >= 0.0);
            assert_eq!(bt["naive"][0]["id"], "a");
            assert_eq!(bt["naive"][0]["name"], "due date plus the customer's average delay");
            assert_eq!(bt["naive"][1]["id"], "b");
            assert_eq!(bt["naive"][1]["name"], "mean weekly cash of the 13 weeks before");
            for n in 0..2 {
                assert_eq!(bt["naive"][n]["weekly"].as_array().unwrap().len(), 13);
                assert!(bt["naive"][n]["weekly"][0].is_string(), "money is a decimal string");
                assert!(bt["naive"][n]["mape_pct"].as_f64().unwrap() >= 0.0);
                assert!(bt["naive"][n]["pinball_pct"].as_f64().unwrap() >= 0.0);
            }
            assert!(bt["naive"][0]["coverage"].is_null() && bt["naive"][0]["band"].is_null(), "naive a has no band");
            assert_eq!(bt["naive"][1]["band"].as_array().unwrap().len(), 13);
            assert!(bt["naive"][1]["band"][0]["p10"].is_string() && bt["naive"][1]["band"][0]["p90"].is_string());
            assert!(bt["pinball_pct"].as_f64().unwrap() >= 0.0);
            assert!(bt["noise_mape_pct"].as_f64().unwrap() >= 0.0);
            assert!(bt["rolling"].is_null(), "one as-of date: no rolling back-test");
            // The actual cash is the payments of that currency's customers in those 13 weeks.
            let expected: Decimal = ledger
                .payments
                .iter()
                .filter(|p| ledger.customers[p.customer as usize].currency == code)
                .filter(|p| p.paid_on > date("2026-08-17") && p.paid_on <= date("2026-11-16"))
                .map(|p| p.amount)
                .sum();
            assert_eq!(bt["actual_total"].as_str().unwrap().parse::<Decimal>().unwrap(), expected, "{code}");
        }
        // The projection started from the truncated ledger: today's figures are as of then.
        assert_eq!(v["comparison"]["as_of"], "2026-08-17");
        let csv = std::fs::read_to_string(out.join("backtest.csv")).unwrap();
        assert!(
            csv.starts_with(
                "currency,week,week_end,actual,p10,p50,p90,error_pct,inside,naive_a,naive_b\nEUR,1,2026-08-24,"
            ),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 1 + 3 * 14, "header, then 13 weeks and a total per currency");
        // Rolling origins: three as-of dates 4 weeks apart, the last one
        // --as-of, per currency.
        let mut rolling = args.to_vec();
        rolling.extend(["--backtest-origins", "3"]);
        let (code, stdout, stderr) = recoup(&rolling, None);
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        for bt in v["backtest"].as_array().unwrap() {
            let r = &bt["rolling"];
            let dates: Vec<&str> =
                r["origins"].as_array().unwrap().iter().map(|o| o["as_of"].as_str().unwrap()).collect();
            assert_eq!(dates, ["2026-06-22", "2026-07-20", "2026-08-17"]);
            assert_eq!(r["origins"][2]["model"]["mape_pct"], bt["mape_pct"], "the last origin is --as-of's");
            let mean: f64 = r["origins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["naive_b"]["mape_pct"].as_f64().unwrap())
                .sum::<f64>()
                / 3.0;
            assert!((r["mean"]["naive_b"]["mape_pct"].as_f64().unwrap() - mean).abs() < 1e-3);
        }
        let csv = std::fs::read_to_string(out.join("backtest_origins.csv")).unwrap();
        assert_eq!(csv.lines().count(), 1 + 3 * (3 * 3 + 3), "{csv}");
        assert!(
            csv.starts_with("currency,as_of,forecast,mape_pct,pinball_pct,coverage\nEUR,2026-06-22,model,"),
            "{csv}"
        );
        assert!(csv.contains("\nUSD,mean,naive_b,"), "{csv}");
        // A horizon past the ledger's history is refused.
        let mut late = args.to_vec();
        late[4] = "2026-10-01";
        let (code, _, err) = recoup(&late, None);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("the ledger's history ends on"), "{err}");
    }
}

mod sweep {
    use super::*;

    #[test]
    fn a_sweep_runs_each_value_as_a_variant_and_shows_the_trade_off() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("sw");
        let (code, _, stderr) =
            simulate_demo(&out, &["--sweep", "ladder.standard.step.agency.days_past_due=60,110", "--quiet"], None);
        assert_eq!(code, 0, "{stderr}");
        let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
        let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), 4, "{csv}");
        assert_eq!(rows[0][..3], ["label", "value", "customers_with_actions"]);
        let labels: Vec<&str> = rows[1..].iter().map(|r| r[0]).collect();
        assert_eq!(
            labels,
            [
                "standard",
                "ladder.standard.step.agency.days_past_due=60",
                "ladder.standard.step.agency.days_past_due=110"
            ]
        );
        // Referring at 60 days past due refers at least as much as at 90
        // (the baseline), and at 110 at most as much.
        let col = rows[0].iter().position(|h| *h == "referrals").unwrap();
        let referrals: Vec<u32> = rows[1..].iter().map(|r| r[col].parse().unwrap()).collect();
        assert!(referrals[1] >= referrals[0] && referrals[0] >= referrals[2], "{referrals:?}");
        assert_ne!(rows[2][2..], rows[3][2..], "the swept value changes the plans");
    }

    #[test]
    fn a_value_that_makes_the_policy_invalid_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("sw");
        let (code, _, stderr) = simulate_demo(&out, &["--sweep", "ladder.standard.step.agency.days_past_due=30"], None);
        assert_eq!(code, 3, "{stderr}");
        assert!(stderr.contains("comes after `credit-hold`"), "{stderr}");
        assert!(
            stderr.contains("--sweep ladder.standard.step.agency.days_past_due=30: the policy is invalid"),
            "{stderr}"
        );
        assert!(!out.exists());
    }

    #[test]
    fn an_unknown_sweep_key_names_the_nearest_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("sw");
        let (code, _, stderr) = simulate_demo(&out, &["--sweep", "ladder.standard.step.agency.days_past=60,90"], None);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("no value `ladder.standard.step.agency.days_past`"), "{stderr}");
        assert!(stderr.contains("`ladder.standard.step.agency.days_past_due`"), "{stderr}");
        assert!(!out.exists());
    }
}

mod arms {
    //! `recoup simulate --arms` on fixtures/arms, a hand-built history: every
    //! figure below is worked out by hand from its CSV files.

    use crate::cli::recoup;
    use crate::common::{date, repo};
    use recoup::ledger::{LoadOptions, load};
    use recoup::simulate::arms::{ArmFigures, arms};
    use rust_decimal::Decimal;

    fn fig(arm: &str, n: [usize; 5], rate: Option<f64>, cash: &str, days: Option<f64>) -> ArmFigures {
        ArmFigures {
            arm: arm.into(),
            customers: n[0],
            actions: n[1],
            invoices: n[2],
            overdue_when_actioned: n[3],
            cured: n[4],
            cure_rate: rate,
            cash_collected: cash.parse::<Decimal>().unwrap(),
            avg_days_to_pay: days,
        }
    }

    #[test]
    fn figures_by_arm_worked_out_by_hand() {
        let l = load(&repo("fixtures/arms"), &LoadOptions::default()).unwrap();
        // 30 days. Champion: C1, C2; actions A1-A4; invoices I1 (past due on its first
        // action, paid 1000.00 after 10 days), I2 (actioned before due, 500.00), I3 (past
        // due; 800.00 on day 15, the other 1200.00 on day 47: outside the window).
        // Challenger: C3, C4; A5-A8 (A6 has no invoice; A9 is after the as-of date);
        // I4 (3000.00 after 6 days), I5 (unpaid in the window: its 100.00 came before the
        // first action), I6 (600.00 after 15 days). None: C5's A10 on I7, unpaid.
        let r = arms(&l, date("2026-06-30"), 30);
        assert_eq!(
            r.arms,
            vec![
                fig("champion", [2, 4, 3, 2, 1], Some(0.5), "2300.00", Some(10.0)),
                fig("challenger", [2, 4, 3, 3, 2], Some(2.0 / 3.0), "3600.00", Some(10.5)),
                fig("none", [1, 1, 1, 1, 0], Some(0.0), "0.00", None),
            ]
        );
        // 60 days: I3 is paid in full on day 47, so champion cures both (10 + 47) / 2.
        // I5's window is cut at the as-of date; nothing else changes for the challenger.
        let r = arms(&l, date("2026-06-30"), 60);
        assert_eq!(r.arms[0], fig("champion", [2, 4, 3, 2, 2], Some(1.0), "3500.00", Some(28.5)));
        assert_eq!(r.arms[1], fig("challenger", [2, 4, 3, 3, 2], Some(2.0 / 3.0), "3600.00", Some(10.5)));
        // As of 2026-03-31: A1, A2, A3, A5, A6, A10 only; I3's 800.00 is in, I1 cured.
        let r = arms(&l, date("2026-03-31"), 60);
        assert_eq!(r.arms[0], fig("champion", [2, 3, 3, 2, 1], Some(0.5), "1800.00", Some(10.0)));
        assert_eq!(r.arms[1], fig("challenger", [1, 2, 1, 1, 1], Some(1.0), "3000.00", Some(6.0)));
    }

    #[test]
    fn the_command_prints_the_table_and_writes_arms_csv_and_json() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("arms");
        let args =
            ["simulate", "--arms", "--ledger", "fixtures/arms", "--as-of", "2026-06-30", "--days", "30", "--out"];
        let (code, stdout, stderr) = recoup(&[&args[..], &[out.to_str().unwrap()]].concat(), None);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("within 30 days of each invoice's first action"), "{stdout}");
        let row = stdout.lines().find(|l| l.trim_start().starts_with("challenger")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells, ["challenger", "2", "4", "3", "3", "2", "0.6667", "3600.00", "10.5"]);
        assert_eq!(
            std::fs::read_to_string(out.join("arms.csv")).unwrap(),
            "arm,customers,actions,invoices,overdue_when_actioned,cured,cure_rate,cash_collected,avg_days_to_pay\n\
             champion,2,4,3,2,1,0.5000,2300.00,10.0\n\
             challenger,2,4,3,3,2,0.6667,3600.00,10.5\n\
             none,1,1,1,1,0,0.0000,0.00,\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("arms.json")).unwrap()).unwrap();
        assert_eq!(json["days"], 30);
        assert_eq!(json["arms"][0]["cash_collected"], "2300.00");
        // --format json prints the same document; the default window is 60 days.
        let (code, stdout, _) = recoup(
            &["simulate", "--arms", "--ledger", "fixtures/arms", "--as-of", "2026-06-30", "--format", "json"],
            None,
        );
        assert_eq!(code, 0);
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!((json["days"].as_u64(), json["arms"][0]["avg_days_to_pay"].as_f64()), (Some(60), Some(28.5)));
    }

    #[test]
    fn arms_takes_no_policy_and_simulate_without_it_still_needs_one() {
        let (code, _, stderr) = recoup(
            &[
                "simulate",
                "--arms",
                "--ledger",
                "fixtures/arms",
                "--baseline",
                "policies/standard",
                "--as-of",
                "2026-06-30",
            ],
            None,
        );
        assert_eq!(code, 2, "{stderr}");
        let (code, _, stderr) = recoup(&["simulate", "--ledger", "fixtures/arms", "--as-of", "2026-06-30"], None);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("--baseline"), "{stderr}");
    }
}

#[test]
fn the_weeks_portfolio_figures_are_the_kpis_of_the_simulated_ledger() {
    // Each week closes with AR, overdue, aging and DSO computed in one pass;
    // they must be what `kpi::portfolio` says of the simulated ledger then.
    use recoup::facts::kpi;
    use recoup::simulate::project::{Projection, Scenario, project_one};
    let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    for (name, days) in [("standard", 17), ("strict", 28)] {
        let p = Projection { days, runs: 1, seed: 9, scenario: Scenario::default(), every_day: false };
        let stall = [0.45, 0.52, 0.8, 0.76, 0.57];
        let (weeks, sim) = project_one(&ledger, &policy(name), date("2026-11-16"), &p, &stall, 0).unwrap();
        let last = weeks.last().unwrap();
        let end = date("2026-11-16") + chrono::Duration::days(i64::from(days));
        // Per currency: each currency's customers' KPIs.
        let by = kpi::by_currency(&sim, &Context::new(end, FactsConfig::default()));
        assert_eq!(by.len(), last.money.len(), "{name}");
        for ((code, k), last) in by.iter().zip(&last.money) {
            assert_eq!((last.ar_total, last.overdue, last.dso), (k.ar_total, k.ar_overdue, k.dso), "{name} {code}");
            assert_eq!(last.overdue_by_bucket, k.aging.iter().map(|b| b.amount).collect::<Vec<_>>(), "{name} {code}");
            assert!(last.dso.is_some() && last.overdue > rust_decimal::Decimal::ZERO, "{name} {code}");
        }
    }
}

/// Common random numbers (issue 21 §1): every draw of the projection is
/// keyed by what it is about, so policies are compared on the same luck.
mod common_random_numbers {
    use super::*;
    use recoup::ledger::Ledger;
    use recoup::simulate::project::{Forward, Projection, Scenario, project, project_one};
    use rust_decimal::Decimal;

    const STALL: [f64; 5] = [0.45, 0.52, 0.8, 0.76, 0.57];

    /// policies/standard with `key` set to `value` (as `--sweep` sets it).
    fn standard_with(key: &str, value: &str) -> CompiledPolicy {
        let path = repo("policies/standard");
        let text = std::fs::read_to_string(recoup::policy::policy_file(&path)).unwrap();
        let edited = recoup::simulate::sweep::set(&text, key, value).unwrap();
        recoup::policy::load_with_text(&path, edited).policy.unwrap()
    }

    /// Everything a run did to each customer, without the simulation's
    /// serial ids (numbered across customers): its invoices, payments and
    /// actions with their dates, amounts, outcomes and invoices, hold and limit.
    fn per_customer(l: &Ledger) -> Vec<Vec<String>> {
        let mut out = vec![Vec::new(); l.customers.len()];
        let inv = |i: Option<u32>| {
            i.map(|i| {
                let v = &l.invoices[i as usize];
                format!("{}/{}/{}", v.issue_date, v.due_date, v.amount)
            })
        };
        for v in &l.invoices {
            out[v.customer as usize].push(format!(
                "invoice {}/{}/{} open {} {}",
                v.issue_date, v.due_date, v.amount, v.open_amount, v.status
            ));
        }
        for p in &l.payments {
            out[p.customer as usize].push(format!("payment {} {} for {:?}", p.paid_on, p.amount, inv(p.invoice)));
        }
        for a in &l.actions {
            out[a.customer as usize].push(format!(
                "action {} {} {} {:?} on {:?}",
                a.decided_on,
                a.rule_id,
                a.action,
                a.outcome,
                inv(a.invoice)
            ));
        }
        for (c, cust) in l.customers.iter().enumerate() {
            out[c].push(format!("hold {} limit {}", cust.on_hold, cust.credit_limit.unwrap_or_default()));
        }
        out
    }

    /// Two policies that differ only for one segment (the key-accounts
    /// ladder, followed by the enterprise customers, calls at 18 days
    /// instead of 21) give identical per-customer results for every
    /// customer outside it, in every run; inside it, some customers differ.
    #[test]
    fn customers_a_change_does_not_reach_have_the_same_outcomes_in_every_run() {
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let (standard, variant) =
            (policy("standard"), standard_with("ladder.key-accounts.step.call.days_past_due", "18"));
        // The default scenario (a week's slip shared by every customer, each
        // customer's behaviour drawn per run: issue 21 §3), one with more
        // levers on (recent payments weighed more, censoring), and the
        // default on the demo with its weekend payments moved to the Monday
        // after, so that the weekday pattern places payments too.
        let mut levers = Scenario::default();
        levers.learn.recent_weight = 3;
        levers.learn.censoring = true;
        let mut weekdays = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        for p in &mut weekdays.payments {
            use chrono::Datelike;
            match p.paid_on.weekday() {
                chrono::Weekday::Sat => p.paid_on += chrono::Duration::days(2),
                chrono::Weekday::Sun => p.paid_on += chrono::Duration::days(1),
                _ => {}
            }
        }
        let as_of = date("2026-11-16");
        let (mut outside, mut differ) = (0, 0);
        let runs = (0..6)
            .map(|r| (r, Scenario::default(), &ledger))
            .chain((0..3).map(|r| (r, levers.clone(), &ledger)))
            .chain((0..2).map(|r| (r, Scenario::default(), &weekdays)));
        for (run, scenario, ledger) in runs {
            let p = Projection { days: 63, runs: 1, seed: 42, scenario, every_day: false };
            let (_, a) = project_one(ledger, &standard, as_of, &p, &STALL, run).unwrap();
            let (_, b) = project_one(ledger, &variant, as_of, &p, &STALL, run).unwrap();
            let (a, b) = (per_customer(&a), per_customer(&b));
            for (c, cust) in ledger.customers.iter().enumerate() {
                if cust.segment != "enterprise" {
                    assert_eq!(a[c], b[c], "run {run}: customer {} ({})", cust.id, cust.segment);
                    outside += 1;
                } else if a[c] != b[c] {
                    differ += 1;
                }
            }
        }
        assert!(outside > 1000, "{outside}");
        assert!(differ > 0, "the change reached no enterprise customer: the test proves nothing");
    }

    /// The horizon totals of a money metric in one currency, run by run.
    fn totals(f: &Forward, policy: usize, metric: &str, currency: &str) -> Vec<Decimal> {
        let of = |w: &recoup::simulate::project::Week| {
            let m = w.metrics(&f.buckets, &f.currencies);
            m.iter().find(|m| m.metric == metric && m.currency.as_deref() == Some(currency)).unwrap().value
        };
        f.policies[policy].runs.iter().map(|weeks| weeks.iter().map(of).sum()).collect()
    }

    /// P10, P50 and P90 (nearest rank, as the outputs give them).
    fn band(v: &[Decimal]) -> (Decimal, Decimal, Decimal) {
        let b = recoup::simulate::project::Band::of(&mut v.to_vec());
        (b.p10, b.p50, b.p90)
    }

    /// The issue's measure, on the call-at-18 variant of policies/standard
    /// (demo, 13 weeks, 40 runs, seed 42): the P10–P90 band of the paired
    /// difference of new sales within 1 % of the baseline's P50 new sales,
    /// and that of cash collected no wider than a third of the baseline's
    /// own P10–P90 band. Prints the figures docs/simulation.md quotes
    /// (`cargo test --test main paired_bands -- --nocapture`).
    #[test]
    fn paired_bands_of_the_call_at_18_variant_are_narrow() {
        let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let (standard, variant) = (policy("standard"), standard_with("ladder.standard.step.call.days_past_due", "18"));
        let p = Projection { days: 91, runs: 40, seed: 42, scenario: Scenario::default(), every_day: false };
        let rr = recoup::simulate::RollRateReport::build(&ledger, date("2026-11-16"), &Default::default()).unwrap();
        let policies = [("standard", &standard), ("call-at-18", &variant)];
        let f = project(&ledger, &policies, date("2026-11-16"), &p, &rr.matrix.paid_rates()).unwrap();
        for code in ["EUR", "GBP", "USD"] {
            let paired = |metric: &str| {
                let (base, var) = (totals(&f, 0, metric, code), totals(&f, 1, metric, code));
                let diff: Vec<Decimal> = var.iter().zip(&base).map(|(v, b)| v - b).collect();
                (band(&base), band(&diff))
            };
            let ((_, sales_p50, _), (s10, _, s90)) = paired("new_sales");
            let ((c10, _, c90), (d10, _, d90)) = paired("cash_collected");
            println!("{code} new sales: baseline P50 {sales_p50}, paired difference P10 {s10} to P90 {s90}");
            println!(
                "{code} cash collected: baseline P10 {c10} to P90 {c90}, paired difference P10 {d10} to P90 {d90}"
            );
            assert!(
                (s90 - s10) <= sales_p50 / Decimal::from(100),
                "{code} new sales: {s10} to {s90} against P50 {sales_p50}"
            );
            assert!((d90 - d10) * Decimal::from(3) <= c90 - c10, "{code} cash: {d10} to {d90} against {c10} to {c90}");
        }
    }
}

/// Issue 21 §5: a simulation split by runs over three machines and merged
/// is the unsharded simulation, byte for byte (today's files, the
/// projection's files and the report made from them); shards that do not
/// belong together, a missing shard and a changed file are refused.
#[test]
fn three_simulation_shards_merged_are_one_simulation_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let args = |out: &str, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = DEMO[..9].iter().map(|x| x.to_string()).collect();
        v.extend(["--horizon", "3w", "--runs", "11", "--seed", "5", "-q", "--out", out].map(String::from));
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let run = |v: &[String]| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        recoup(&refs, Some(tmp.path()))
    };
    let whole = tmp.path().join("whole");
    let (code, _, err) = run(&args(&s(&whole), &[]));
    assert_eq!(code, 0, "{err}");
    let shards: Vec<std::path::PathBuf> = (0..3).map(|i| tmp.path().join(format!("shard-{i}"))).collect();
    // Shards in any order, at different thread counts.
    for (i, dir) in shards.iter().enumerate().rev() {
        let (code, _, err) = run(&args(&s(dir), &["--shard", &format!("{i}/3"), "--threads", &format!("{}", i + 1)]));
        assert_eq!(code, 0, "{err}");
    }
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(shards[1].join("shard.json")).unwrap()).unwrap();
    assert_eq!((doc["first_run"].as_u64(), doc["end_run"].as_u64()), (Some(4), Some(8)), "11 runs: 4, 4, 3");
    let merged = tmp.path().join("merged");
    let merge = |out: &std::path::Path, dirs: &[&std::path::Path]| {
        let mut v = vec!["merge".to_string(), "--out".into(), s(out)];
        v.extend(dirs.iter().map(|d| s(d)));
        run(&v)
    };
    let (code, stdout, err) = merge(&merged, &[&shards[2], &shards[0], &shards[1]]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("recoup merge: 3 simulation shards → 11 runs of 2 policies over 21 days"), "{stdout}");
    assert!(stdout.contains("verdicts against `standard`"), "{stdout}");
    let files: Vec<&str> =
        recoup::simulate::write::FILES.iter().chain(recoup::simulate::write::FORWARD_FILES).copied().collect();
    for f in &files {
        assert_eq!(std::fs::read(whole.join(f)).unwrap(), std::fs::read(merged.join(f)).unwrap(), "{f}");
    }
    let listed = |d: &std::path::Path| {
        let mut v: Vec<String> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(listed(&whole), listed(&merged));
    for d in [&whole, &merged] {
        let (code, _, err) = recoup(&["report", "--simulation", &s(d)], None);
        assert_eq!(code, 0, "{err}");
    }
    // The report names the folder it was made from; apart from that name it is the same page.
    let page = |d: &std::path::Path| std::fs::read_to_string(d.join("report.html")).unwrap().replace(&s(d), "[DIR]");
    let (a, b) = (page(&whole), page(&merged));
    let differ: Vec<(&str, &str)> = a.lines().zip(b.lines()).filter(|(x, y)| x != y).take(3).collect();
    assert!(a == b, "{differ:?}");

    // Refused, with nothing written: a missing shard, a shard of another seed, a changed file.
    let refused = |dirs: &[&std::path::Path], says: &str| {
        let out = tmp.path().join("refused");
        let (code, _, err) = merge(&out, dirs);
        assert_eq!(code, 4, "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!out.join("forward.json").exists());
    };
    refused(&[&shards[0], &shards[2]], "shard 1/3 missing (have 2 of 3)");
    refused(&[&shards[0], &shards[1], &shards[1]], "shard 1/3 given twice");
    let other = tmp.path().join("other-seed");
    let mut v = args(&s(&other), &["--shard", "1/3"]);
    let at = v.iter().position(|x| x == "5").unwrap();
    v[at] = "6".into();
    assert_eq!(run(&v).0, 0);
    refused(&[&shards[0], &other, &shards[2]], "disagree on the seed (--seed) (`5` vs `6`)");
    let run_shard = tmp.path().join("run-shard");
    let (code, _, err) = recoup(
        &["run", "--ledger", "fixtures/demo", "--as-of", "2026-11-16", "--policy", "policies/standard"]
            .into_iter()
            .chain(["--shard", "1/3", "-q", "--out", &s(&run_shard)])
            .collect::<Vec<_>>(),
        None,
    );
    assert_eq!(code, 0, "{err}");
    refused(&[&shards[0], &run_shard, &shards[2]], "not a simulation shard");
    let runs = shards[2].join("runs.json");
    let text = std::fs::read_to_string(&runs).unwrap();
    std::fs::write(&runs, &text[..text.len() / 2]).unwrap();
    refused(&[&shards[0], &shards[1], &shards[2]], "`runs.json` is not the file the shard wrote");
    // More shards than runs is a usage error before any work.
    let (code, _, err) = run(&args(&s(&tmp.path().join("x")), &["--shard", "0/12"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("would leave a shard without runs"), "{err}");
}
