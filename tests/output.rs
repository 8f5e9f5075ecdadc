//! The machine contract (docs/output.md): every JSON output of run, merge,
//! facts and explain validated against its published schema
//! (docs/schemas/, `recoup schema --output NAME`), the schemas strict
//! enough to refuse the old shapes, `--format json` errors as JSON objects,
//! and a merged summary.json equal to an unsharded run's.

use crate::cli::recoup;
use serde_json::{Value, json};
use std::path::Path;

/// The schema of output `name`, as `recoup schema --output NAME` prints it.
pub(crate) fn schema(name: &str) -> jsonschema::Validator {
    let (code, out, err) = recoup(&["schema", "--output", name], None);
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}");
    jsonschema::meta::validate(&s).unwrap_or_else(|e| panic!("{name} is not a valid JSON Schema: {e}"));
    jsonschema::validator_for(&s).unwrap()
}

pub(crate) fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[track_caller]
pub(crate) fn assert_valid(name: &str, v: &jsonschema::Validator, doc: &Value) {
    let e = errors(v, doc);
    assert!(e.is_empty(), "{name} does not match its schema: {e:#?}");
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn run(out: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        "-q",
        "--ledger",
        "fixtures/demo",
        "--policy",
        "policies/standard",
        "--as-of",
        "2026-11-16",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let (code, _, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
}

/// Every file a run writes, checked against its schema.
fn assert_run_outputs_valid(dir: &Path) {
    assert_valid("summary.json", &schema("summary"), &read_json(&dir.join("summary.json")));
    assert_valid("manifest.json", &schema("manifest"), &read_json(&dir.join("manifest.json")));
    let plan = schema("plan");
    let text = std::fs::read_to_string(dir.join("plan.jsonl")).unwrap();
    assert!(text.lines().count() > 20, "the demo plans many actions");
    for (i, line) in text.lines().enumerate() {
        assert_valid(&format!("plan.jsonl line {}", i + 1), &plan, &serde_json::from_str(line).unwrap());
    }
    let worklist = schema("worklist");
    let mut r = csv::Reader::from_path(dir.join("worklist.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let row: serde_json::Map<String, Value> =
            header.iter().zip(rec.iter()).map(|(k, v)| (k.to_string(), Value::from(v))).collect();
        assert_valid("worklist.csv row", &worklist, &Value::Object(row));
        rows += 1;
    }
    assert!(rows > 10);
}

#[test]
fn run_outputs_match_their_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    run(&tmp.path().join("run"), &[]);
    assert_run_outputs_valid(&tmp.path().join("run"));
}

#[test]
fn sharded_and_merged_outputs_match_their_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let shards: Vec<_> = (0..2).map(|i| t.join(format!("s{i}"))).collect();
    for (i, s) in shards.iter().enumerate() {
        run(s, &["--shard", &format!("{i}/2")]);
        assert_run_outputs_valid(s);
        assert_eq!(read_json(&s.join("manifest.json"))["shard"], format!("{i}/2"));
    }
    let merged = t.join("merged");
    let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
    args.extend(shards.iter().map(|s| s.to_str().unwrap()));
    let (code, _, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
    assert_run_outputs_valid(&merged);
    assert_eq!(read_json(&merged.join("manifest.json"))["merged_shards"], 2);
}

/// stdout of a command that prints one JSON document, parsed.
fn json_out(args: &[&str], want: i32) -> Value {
    let (code, out, err) = recoup(args, None);
    assert_eq!(code, want, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {out}"))
}

#[test]
fn facts_json_is_one_document_that_matches_its_schema() {
    let facts = schema("facts");
    let base = ["facts", "--ledger", "fixtures/demo", "--as-of", "2026-11-16", "--format", "json"];
    // One customer: its facts and its open invoices (C000024 has one, 5631.40 open, 43 days past due).
    let one = json_out(&[&base[..], &["--customer", "C000024"]].concat(), 0);
    assert_valid("facts --customer", &facts, &one);
    assert_eq!(one["customer"]["id"], "C000024");
    assert_eq!(one["customer"]["credit_limit"], "11000.00");
    assert_eq!(one["customer"]["on_hold"], false);
    // Its open invoices, as in invoices.csv (open or disputed, with an open amount).
    let text = std::fs::read_to_string("fixtures/demo/invoices.csv").unwrap();
    let open = text.lines().filter(|l| l.contains(",C000024,") && !l.contains(",paid,")).count();
    assert_eq!(one["invoices"].as_array().unwrap().len(), open);
    let inv = one["invoices"].as_array().unwrap().iter().find(|i| i["id"] == "INV0000201").unwrap();
    assert_eq!((&inv["open_amount"], &inv["days_past_due"]), (&json!("5631.40"), &json!(43)));
    // The whole ledger: every customer (the demo's 400), and the portfolio per currency.
    let all = json_out(&base, 0);
    assert_valid("facts", &facts, &all);
    assert_eq!(all["customers"].as_array().unwrap().len(), 400);
    let codes: Vec<&String> = all["portfolio"].as_object().unwrap().keys().collect();
    assert_eq!(codes, ["EUR", "GBP", "USD"]);
    assert_eq!(all["portfolio"]["EUR"]["customers"], 116);
    let inv = json_out(&[&base[..], &["--level", "invoice"]].concat(), 0);
    assert_valid("facts --level invoice", &facts, &inv);
    assert_eq!(inv["level"], "invoice");
    // The old shapes are refused: every fact a string, and the portfolio alone.
    let mut stringly = one.clone();
    stringly["customer"]["open_count"] = json!("1");
    assert!(!errors(&facts, &stringly).is_empty());
    assert!(!errors(&facts, &json!({ "portfolio": all["portfolio"] })).is_empty());
}

#[test]
fn explain_json_matches_its_schema() {
    let doc = json_out(
        &[
            "explain",
            "--ledger",
            "fixtures/demo",
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--customer",
            "C000024",
            "--format",
            "json",
        ],
        0,
    );
    assert_valid("explain", &schema("explain"), &doc);
    assert_eq!(doc["facts"]["credit_limit"], "11000.00");
    assert_eq!(doc["trace"]["actions"][0]["old_limit"], "11000.00");
    assert_eq!(doc["trace"]["actions"][0]["new_limit"], "8800.00");
}

/// A rule that fails at run time: explain prints one document, the trace up
/// to the failure and the error object with the rule's place, and exits 1.
#[test]
fn explain_json_of_a_failing_rule_is_one_document_with_the_error() {
    let (code, out, err) = recoup(
        &[
            "explain",
            "--ledger",
            "fixtures/small",
            "--policy",
            "fixtures/hostile-policies/infinite-loop",
            "--as-of",
            "2026-11-16",
            "--customer",
            "C1",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("strategy `hostile` failed for customer `C1`: too many operations"), "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("explain", &schema("explain"), &doc);
    let e = &doc["error"];
    assert_eq!((e["code"].as_u64(), e["kind"].as_str()), (Some(1), Some("failed")));
    assert_eq!(e["file"], "fixtures/hostile-policies/infinite-loop/policy.toml");
    assert_eq!((e["line"].as_u64(), e["column"].as_u64()), (Some(10), Some(12)));
    assert_eq!(doc["trace"]["error"]["message"], "too many operations");
}

/// `error_json` reads the message, the help and the place of an error as stderr shows it.
#[test]
fn error_objects_read_message_help_and_place() {
    let text = "2 bad row(s) in `x`; nothing was written\n  --> ledger/invoices.csv:12:4\n  = help: fix the rows";
    let v = recoup::cli::error_json(recoup::cli::Exit::InputInvalid, text, None);
    assert_eq!(
        v,
        json!({"error": {"code": 4, "kind": "input_invalid", "message": "2 bad row(s) in `x`; nothing was written",
            "help": "fix the rows", "file": "ledger/invoices.csv", "line": 12, "column": 4}})
    );
    let v = recoup::cli::error_json(recoup::cli::Exit::Failed, "boom\n  --> C:/data/x.csv:3", None);
    assert_eq!((&v["error"]["file"], &v["error"]["line"]), (&json!("C:/data/x.csv"), &json!(3)));
}

/// The schemas refuse what the outputs used to write: money with one
/// decimal or with separators, counts and booleans as strings. (A whole
/// number is money in yen: which currency has which decimals is
/// `run::money_has_its_currency_s_minor_units_in_every_output`'s.)
#[test]
fn schemas_refuse_the_old_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    run(&tmp.path().join("run"), &[]);
    let dir = tmp.path().join("run");
    let summary = schema("summary");
    let good = read_json(&dir.join("summary.json"));
    assert_valid("summary.json", &summary, &good);
    for (path, bad) in [
        ("/actions/currencies/USD/fees", json!("0.0")),
        ("/actions/currencies/USD/amount_due", json!("756,440.14")),
        ("/actions/count", json!("184")),
        ("/holds_placed", json!(1.5)),
    ] {
        let mut s = good.clone();
        *s.pointer_mut(path).unwrap() = bad.clone();
        assert!(!errors(&summary, &s).is_empty(), "{path} = {bad} passed");
    }
    let mut s = good.clone();
    s["total_amount_due"] = json!("1.00");
    assert!(!errors(&summary, &s).is_empty(), "an unknown key passed");
    let plan = schema("plan");
    let line = std::fs::read_to_string(dir.join("plan.jsonl")).unwrap();
    let row: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_valid("plan row", &plan, &row);
    for (key, bad) in [("amount_due", json!("210.5")), ("hold", json!("false")), ("instalments", json!("3"))] {
        let mut r = row.clone();
        r[key] = bad.clone();
        assert!(!errors(&plan, &r).is_empty(), "{key} = {bad} passed");
    }
}

/// The facts of the schema are the registry's, typed as docs/output.md says.
#[test]
fn facts_schema_lists_every_fact_with_its_type() {
    use recoup::facts::registry::{FactType, Facts};
    use recoup::facts::{CustomerFacts, InvoiceFacts};
    let s: Value = serde_json::from_str(recoup::cli::output_schema("facts").unwrap()).unwrap();
    let ty = |t: FactType| match t {
        FactType::Int => json!({"type": "integer"}),
        FactType::Float => json!({"type": "number"}),
        FactType::Money => json!({"$ref": "#/$defs/money"}),
        FactType::Bool => json!({"type": "boolean"}),
        FactType::Text => json!({"type": "string"}),
        FactType::Date => json!({"anyOf": [{"$ref": "#/$defs/date"}, {"type": "null"}]}),
    };
    let check = |def: &str, facts: &[recoup::facts::registry::FactDef], extra: &[&str]| {
        let props = s["$defs"][def]["properties"].as_object().unwrap();
        let mut want: Vec<String> = facts.iter().map(|d| d.name.to_string()).collect();
        want.extend(extra.iter().map(|e| e.to_string()));
        want.sort();
        let have: Vec<String> = props.keys().cloned().collect();
        assert_eq!(have, want, "{def}: the schema's facts are not the registry's");
        for d in facts {
            assert_eq!(props[d.name], ty(d.ty), "{def}.{}", d.name);
        }
    };
    check("customer_facts", CustomerFacts::defs(), &[]);
    check("invoice_facts", InvoiceFacts::defs(), &["customer_id", "currency"]);
}

#[test]
fn schema_command_prints_lists_and_refuses_unknown_outputs() {
    let (code, out, _) = recoup(&["schema", "--output", "summary"], None);
    assert_eq!(code, 0);
    assert_eq!(out.trim_end(), std::fs::read_to_string("docs/schemas/summary.schema.json").unwrap().trim_end());
    let (code, out, _) = recoup(&["schema", "--list-outputs"], None);
    assert_eq!(code, 0);
    for name in ["summary", "manifest", "plan", "worklist", "facts", "explain", "error"] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{name} not listed: {out}");
    }
    let (code, _, err) = recoup(&["schema", "--output", "nope"], None);
    assert_eq!(code, 2);
    assert!(err.contains("no machine output is called `nope`") && err.contains("summary, manifest"), "{err}");
    // The policy schema is still the default.
    let (code, out, _) = recoup(&["schema"], None);
    assert_eq!(code, 0);
    assert!(out.contains("\"title\": \"recoup policy"), "{}", &out[..200.min(out.len())]);
}

#[test]
fn json_errors_are_objects_on_stdout() {
    let error = schema("error");
    // Unknown customer: exit 4, no place.
    let (code, out, err) = recoup(
        &["facts", "--ledger", "fixtures/demo", "--as-of", "2026-11-16", "--customer", "NOPE", "--format", "json"],
        None,
    );
    assert_eq!(code, 4);
    assert!(err.contains("unknown customer `NOPE`"), "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("error", &error, &doc);
    assert_eq!(doc["error"]["code"], 4);
    assert_eq!(doc["error"]["kind"], "input_invalid");
    assert_eq!(
        doc["error"]["message"],
        "unknown customer `NOPE`: not in customers.csv; `recoup facts --ledger DIR` lists the customers"
    );
    assert_eq!(doc["error"]["file"], Value::Null);
    // An invalid policy: exit 3, at its first error's file, line and column.
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let (code, out, _) = recoup(
        &[
            "run",
            "--ledger",
            "fixtures/demo",
            "--policy",
            "fixtures/bad-policies/challenger-share",
            "--as-of",
            "2026-11-16",
            "--out",
            out_dir.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, 3);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("error", &error, &doc);
    assert_eq!(doc["error"]["kind"], "policy_invalid");
    assert_eq!(doc["error"]["file"], "fixtures/bad-policies/challenger-share/policy.toml");
    assert_eq!((doc["error"]["line"].as_u64(), doc["error"]["column"].as_u64()), (Some(15), Some(9)));
    // A usage error clap finds: exit 2.
    let (code, out, _) = recoup(&["facts", "--ledger", "fixtures/demo", "--format", "json", "--bogus"], None);
    assert_eq!(code, 2);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("error", &error, &doc);
    assert_eq!(doc["error"]["kind"], "usage");
    // Without --format json, stdout stays empty.
    let (code, out, _) =
        recoup(&["facts", "--ledger", "fixtures/demo", "--as-of", "2026-11-16", "--customer", "NOPE"], None);
    assert_eq!((code, out.as_str()), (4, ""));
}

/// A merged summary.json is the unsharded run's, field for field, with the
/// as-of warnings (an as-of date before the policy takes effect and before
/// the ledger's first row) and the reason nothing was planned (a small
/// ledger with nothing overdue), from whole-ledger shards and from
/// partitions.
#[test]
fn merged_summary_carries_as_of_warnings_and_why_no_actions() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // Six customers of the demo, none high-risk (never reviewed), with their invoices.
    let small = t.join("small");
    std::fs::create_dir(&small).unwrap();
    let demo = |f: &str| std::fs::read_to_string(Path::new("fixtures/demo").join(f)).unwrap();
    let customers: Vec<String> = demo("customers.csv")
        .lines()
        .take(9)
        .filter(|l| !l.contains(",high,") && !l.starts_with("C000002,"))
        .map(String::from)
        .collect();
    let ids: Vec<&str> = customers[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    let all_invoices = demo("invoices.csv");
    let invoices: Vec<&str> = all_invoices
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || ids.iter().any(|id| l.contains(&format!(",{id},"))))
        .map(|(_, l)| l)
        .collect();
    std::fs::write(small.join("customers.csv"), customers.join("\n") + "\n").unwrap();
    std::fs::write(small.join("invoices.csv"), invoices.join("\n") + "\n").unwrap();
    std::fs::write(small.join("payments.csv"), demo("payments.csv").lines().next().unwrap().to_string() + "\n")
        .unwrap();
    let go = |ledger: &Path, as_of: &str, out: &Path, shard: Option<&str>| {
        let (l, o) = (ledger.to_str().unwrap(), out.to_str().unwrap());
        let mut args = vec!["run", "-q", "--ledger", l, "--policy", "policies/standard", "--as-of", as_of, "--out", o];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let (code, _, err) = recoup(&args, None);
        assert_eq!(code, 0, "{err}");
    };
    for (name, ledger, as_of) in [("early", Path::new("fixtures/demo"), "2020-01-06"), ("idle", &small, "2026-11-16")] {
        let d = t.join(name);
        go(ledger, as_of, &d.join("whole"), None);
        let whole = read_json(&d.join("whole/summary.json"));
        match name {
            "early" => assert_eq!(whole["as_of_warnings"].as_array().map(Vec::len), Some(2), "{whole:#}"),
            _ => assert_eq!(whole["why_no_actions"], "none of the 6 customers has an overdue invoice", "{whole:#}"),
        }
        let parts = d.join("parts");
        let (code, _, err) = recoup(
            &["split", "--ledger", ledger.to_str().unwrap(), "--shards", "2", "--out", parts.to_str().unwrap()],
            None,
        );
        assert_eq!(code, 0, "{err}");
        for partitioned in [false, true] {
            let mut dirs = Vec::new();
            for i in 0..2 {
                let dir = d.join(format!("s{i}-{partitioned}"));
                let from = if partitioned { parts.join(format!("shard-{i}")) } else { ledger.to_path_buf() };
                go(&from, as_of, &dir, Some(&format!("{i}/2")));
                dirs.push(dir);
            }
            let merged = d.join(format!("merged-{partitioned}"));
            let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
            args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
            let (code, _, err) = recoup(&args, None);
            assert_eq!(code, 0, "{err}");
            let m = read_json(&merged.join("summary.json"));
            for (k, v) in whole.as_object().unwrap() {
                assert_eq!(&m[k], v, "{name}: summary.json `{k}` differs after merging (partitioned: {partitioned})");
            }
            assert_eq!(m, whole, "{name}: merged summary.json has other keys (partitioned: {partitioned})");
            assert_valid("merged summary.json", &schema("summary"), &m);
        }
    }
}
