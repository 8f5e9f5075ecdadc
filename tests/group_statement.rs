//! Consolidated group statements (issue 23, §3): a `consolidated = true`
//! statement step sends one statement per customer group, addressed to the
//! group's head, listing each customer's items and credit and a total per
//! currency; each customer keeps its plan row. Hand-computed figures.

use crate::cli::recoup;
use crate::common::repo;
use std::path::Path;

/// G (NL, EUR) heads M1 (DE, EUR) and M2 (GB, GBP); X (US, USD) is in no
/// group. On 18 November 2026 each has one invoice past the statement step
/// of policies/b2b (21 days), its two reminders sent.
fn ledger(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let files = [
        (
            "customers.csv",
            "customer_id,name,segment,country,currency,credit_limit,payment_terms,email,parent\n\
             G,Group Holding BV,enterprise,NL,EUR,20000.00,NET30,ap@group.example,\n\
             M1,Group Deutschland GmbH,mid_market,DE,EUR,,NET30,ap@de.example,G\n\
             M2,Group UK Ltd,mid_market,GB,GBP,5000.00,NET30,ap@uk.example,G\n\
             X,Loner Inc,small,US,USD,,NET30,ap@loner.example,\n",
        ),
        (
            "invoices.csv",
            "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,document_type\n\
             IG1,G,2026-09-26,2026-10-26,EUR,1200.00,1200.00,open,\n\
             IM1,M1,2026-09-27,2026-10-27,EUR,1000.00,800.00,open,\n\
             IM2,M2,2026-09-20,2026-10-20,GBP,2500.00,2500.00,open,\n\
             CN2,M2,2026-11-05,2026-11-05,GBP,300.00,300.00,open,credit_note\n\
             IX,X,2026-09-22,2026-10-22,USD,700.00,700.00,open,\n",
        ),
        (
            "payments.csv",
            "payment_id,customer_id,invoice_id,paid_on,amount\n\
             P1,M1,IM1,2026-11-02,200.00\n\
             P2,M1,,2026-11-10,150.00\n",
        ),
        (
            "actions.csv",
            "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome\n\
             A1,G,IG1,reminder-1,email,email,2026-10-29,2026-10-29,delivered\n\
             A2,G,IG1,reminder-2,email,email,2026-11-09,2026-11-09,delivered\n\
             A3,M1,IM1,reminder-1,email,email,2026-10-30,2026-10-30,delivered\n\
             A4,M1,IM1,reminder-2,email,email,2026-11-10,2026-11-10,delivered\n\
             A5,M2,IM2,reminder-1,email,email,2026-10-23,2026-10-23,delivered\n\
             A6,M2,IM2,reminder-2,email,email,2026-11-03,2026-11-03,delivered\n\
             A7,X,IX,reminder-1,email,email,2026-10-26,2026-10-26,delivered\n\
             A8,X,IX,reminder-2,email,email,2026-11-05,2026-11-05,delivered\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn run(ledger: &Path, policy: &Path, out: &Path, shard: Option<&str>) {
    let mut args = vec![
        "run",
        "-q",
        "--ledger",
        ledger.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--as-of",
        "2026-11-18",
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(s) = shard {
        args.extend(["--shard", s]);
    }
    let (code, _, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
}

/// plan.csv's rows as maps from column to cell.
fn plan_rows(out: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(out.join("plan.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    r.records().map(|x| header.iter().zip(x.unwrap().iter()).map(|(h, v)| (h.into(), v.into())).collect()).collect()
}

/// The e-mails of the outbox: (to, text).
fn emails(out: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(out.join("outbox/email.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["to"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().replace(['\u{a0}', '\u{202f}'], " "))
        })
        .collect()
}

#[test]
fn a_group_gets_one_statement_addressed_to_its_head_with_totals_per_currency() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, out) = (tmp.path().join("ledger"), tmp.path().join("out"));
    ledger(&l);
    run(&l, &repo("policies/b2b"), &out, None);
    let rows = plan_rows(&out);
    let statements: Vec<_> = rows.iter().filter(|r| r["action"] == "statement").collect();
    // One row per customer, in its own currency, with its own amount due
    // (net of its credit: M1 800.00 - 150.00 on account; M2 2,500.00 - 300.00).
    let got: Vec<(&str, &str, &str, &str)> = statements
        .iter()
        .map(|r| {
            (r["customer_id"].as_str(), r["currency"].as_str(), r["invoice_ids"].as_str(), r["amount_due"].as_str())
        })
        .collect();
    assert_eq!(
        got,
        [
            ("G", "EUR", "IG1", "1200.00"),
            ("M1", "EUR", "IM1", "650.00"),
            ("M2", "GBP", "IM2", "2200.00"),
            ("X", "USD", "IX", "700.00")
        ]
    );
    // The group's three share G's row as their message; X's is its own.
    let g = &statements[0]["action_id"];
    for r in &statements[..3] {
        assert_eq!(&r["message_id"], g, "{}", r["customer_id"]);
        assert!(r["reason"].ends_with("; one statement for group G, to G"), "{}", r["reason"]);
    }
    assert_eq!(statements[3]["message_id"], "");
    assert!(!statements[3]["reason"].contains("one statement for group"), "{}", statements[3]["reason"]);

    // Two messages: the group's to G, X's own.
    let mails = emails(&out);
    assert_eq!(mails.len(), 2, "{mails:?}");
    let (to, text) = &mails[0];
    assert_eq!(to, "ap@group.example");
    for line in [
        "Group Holding BV (G, group head), in EUR:\n- invoice IG1 of 26 September 2026, due 26 October 2026: EUR 1,200.00\n  open EUR 1,200.00, net EUR 1,200.00",
        "Group Deutschland GmbH (M1), in EUR:\n- invoice IM1 of 27 September 2026, due 27 October 2026: EUR 800.00\n  open EUR 800.00, unapplied cash EUR 150.00, net EUR 650.00",
        "Group UK Ltd (M2), in GBP:\n- invoice IM2 of 20 September 2026, due 20 October 2026: GBP 2,500.00\n  open GBP 2,500.00, credit notes GBP 300.00, net GBP 2,200.00",
        // EUR: 1,200.00 + 800.00 = 2,000.00, less 150.00 = 1,850.00; GBP apart.
        "- EUR: open EUR 2,000.00, unapplied cash EUR 150.00, net EUR 1,850.00 (2 accounts)",
        "- GBP: open GBP 2,500.00, credit notes GBP 300.00, net GBP 2,200.00 (1 account)",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("Loner"), "{text}");
    let (to, text) = &mails[1];
    assert_eq!(to, "ap@loner.example");
    assert!(text.contains("Total: USD 700.00") && !text.contains("group"), "{text}");
    // index.csv names each message once.
    let index = std::fs::read_to_string(out.join("outbox/index.csv")).unwrap();
    assert_eq!(index.lines().filter(|l| l.contains(",email,")).count(), 2, "{index}");

    // explain says what the plan says.
    let stdout = explain_b2b(&l, "M2");
    assert!(
        stdout.contains("statement `group-statement` 2200.00: ") && stdout.contains("one statement for group G, to G"),
        "{stdout}"
    );
}

#[test]
fn without_consolidated_each_member_gets_its_own_statement() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, out, p) = (tmp.path().join("ledger"), tmp.path().join("out"), tmp.path().join("policy"));
    ledger(&l);
    std::fs::create_dir_all(p.join("templates")).unwrap();
    for f in [
        "policy.toml",
        "holidays.csv",
        "templates/reminder.md",
        "templates/final-reminder.md",
        "templates/statement.md",
    ] {
        std::fs::copy(repo("policies/b2b").join(f), p.join(f)).unwrap();
    }
    let toml = std::fs::read_to_string(p.join("policy.toml")).unwrap();
    assert_eq!(toml.matches("consolidated = true\n").count(), 2);
    std::fs::write(p.join("policy.toml"), toml.replace("consolidated = true\n", "")).unwrap();
    run(&l, &p, &out, None);
    // Each row is its own message.
    assert!(plan_rows(&out).iter().all(|r| r["message_id"] == r["action_id"]));
    let to: Vec<String> = emails(&out).into_iter().map(|m| m.0).collect();
    assert_eq!(to, ["ap@group.example", "ap@de.example", "ap@uk.example", "ap@loner.example"]);
}

#[test]
fn consolidated_is_for_statements_only() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::create_dir_all(p.join("templates")).unwrap();
    std::fs::write(p.join("templates/t.md"), "=== subject\nHi\n=== text\nHi\n").unwrap();
    std::fs::write(
        p.join("policy.toml"),
        "[policy]\nname = \"s\"\nversion = \"1\"\n[[ladder]]\nid = \"l\"\n[[ladder.step]]\nid = \"r\"\ndays_past_due = 3\naction = \"email\"\ntemplate = \"t\"\nconsolidated = true\n",
    )
    .unwrap();
    let (code, _, err) = recoup(&["check", p.to_str().unwrap()], None);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("`consolidated` of step `r`: a `email` is not a statement"), "{err}");
    assert!(err.contains("policy.toml:11:16"), "{err}");
}

#[test]
fn a_group_statement_is_the_same_sharded_and_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let l = t.join("ledger");
    ledger(&l);
    let policy = repo("policies/b2b");
    run(&l, &policy, &t.join("whole"), None);
    for n in [2, 3] {
        let outs: Vec<_> = (0..n).map(|i| t.join(format!("s{n}-{i}"))).collect();
        for (i, d) in outs.iter().enumerate() {
            run(&l, &policy, d, Some(&format!("{i}/{n}")));
        }
        let merged = t.join(format!("merged-{n}"));
        let mut args = vec!["merge", "-q", "--out", merged.to_str().unwrap()];
        args.extend(outs.iter().map(|d| d.to_str().unwrap()));
        let (code, _, err) = recoup(&args, None);
        assert_eq!(code, 0, "{err}");
        for f in ["plan.csv", "plan.jsonl", "summary.json", "outbox/email.jsonl", "outbox/index.csv"] {
            assert_eq!(
                std::fs::read(t.join("whole").join(f)).unwrap(),
                std::fs::read(merged.join(f)).unwrap(),
                "N={n}: {f}"
            );
        }
    }
}

/// The group ledger with `from` replaced by `to` in customers.csv.
fn ledger_with(dir: &Path, from: &str, to: &str) {
    ledger(dir);
    let c = std::fs::read_to_string(dir.join("customers.csv")).unwrap();
    assert_eq!(c.matches(from).count(), 1, "{from}");
    std::fs::write(dir.join("customers.csv"), c.replace(from, to)).unwrap();
}

/// `recoup run` of policies/b2b on `l` as of 18 November 2026: its terminal output.
fn run_told(l: &Path, out: &Path) -> String {
    let args = ["run", "--ledger", l.to_str().unwrap(), "--policy", "policies/b2b", "--as-of", "2026-11-18"];
    let mut args = args.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    let (code, stdout, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
    stdout
}

/// A member with no contact of its own is still on its group's statement:
/// the statement goes to the head, so the member's own address does not
/// matter. Its row is sent (no `undeliverable`), linked to G's message, by
/// the head's channel, and the head's e-mail lists its invoice with the
/// same figures as when it had an address.
#[test]
fn a_member_without_a_contact_is_on_its_group_statement() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, out) = (tmp.path().join("ledger"), tmp.path().join("out"));
    ledger_with(&l, "ap@de.example", "");
    let stdout = run_told(&l, &out);
    assert!(stdout.contains("; 0 undeliverable") && !stdout.contains("undeliverable: "), "{stdout}");
    let rows = plan_rows(&out);
    let statements: Vec<_> = rows.iter().filter(|r| r["action"] == "statement").collect();
    let g = &statements[0]["action_id"];
    let m1 = statements.iter().find(|r| r["customer_id"] == "M1").unwrap();
    assert_eq!(
        (m1["undeliverable"].as_str(), m1["channel"].as_str(), &m1["message_id"], m1["amount_due"].as_str()),
        ("", "email", g, "650.00")
    );
    assert!(m1["reason"].ends_with("; one statement for group G, to G"), "{}", m1["reason"]);
    assert!(!m1["reason"].contains("undeliverable"), "{}", m1["reason"]);
    let mails = emails(&out);
    assert_eq!(mails.len(), 2, "{mails:?}");
    let (to, text) = &mails[0];
    assert_eq!(to, "ap@group.example");
    for line in [
        "Group Deutschland GmbH (M1), in EUR:\n- invoice IM1 of 27 September 2026, due 27 October 2026: EUR 800.00\n  open EUR 800.00, unapplied cash EUR 150.00, net EUR 650.00",
        "- EUR: open EUR 2,000.00, unapplied cash EUR 150.00, net EUR 1,850.00 (2 accounts)",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // explain says what the plan says.
    let stdout = explain_b2b(&l, "M1");
    assert!(stdout.contains("one statement for group G, to G") && !stdout.contains("undeliverable"), "{stdout}");
}

/// A group whose head has no contact on the statement's channel (nor a
/// fallback): the group's statement cannot be sent. Every row of the group
/// is undeliverable, saying why (the head's own as for any customer, the
/// members' naming the head), none is linked, no e-mail is written for it,
/// and the terminal and summary.json count them with the other
/// undeliverable messages. The customer in no group is not affected.
#[test]
fn a_group_whose_head_has_no_contact_has_its_statement_undeliverable() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, out) = (tmp.path().join("ledger"), tmp.path().join("out"));
    ledger_with(&l, "ap@group.example", "");
    let stdout = run_told(&l, &out);
    assert!(stdout.contains("undeliverable: 3 message(s) (3 email)"), "{stdout}");
    let rows = plan_rows(&out);
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r["action"] == "statement")
        // No message is linked: plan.csv has no `message_id` column.
        .map(|r| {
            (r["customer_id"].as_str(), r.get("message_id").map_or("", String::as_str), r["undeliverable"].as_str())
        })
        .collect();
    let member = "group head `G` cannot be reached: email: no email address";
    assert_eq!(&got[..3], [("G", "", "email: no email address"), ("M1", "", member), ("M2", "", member)]);
    assert_eq!(got[3].0, "X");
    let m2 = rows.iter().find(|r| r["customer_id"] == "M2" && r["action"] == "statement").unwrap();
    assert!(m2["reason"].ends_with(&format!("; one statement for group G, to G; undeliverable ({member})")));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["undeliverable"], serde_json::json!({"email": 3}));
    let to: Vec<String> = emails(&out).into_iter().map(|m| m.0).collect();
    assert_eq!(to, ["ap@loner.example"]);
}

/// `recoup explain` of `customer` on ledger `l` under policies/b2b as of
/// 2026-11-18 (the plan's date in these tests): its terminal text.
fn explain_b2b(l: &std::path::Path, customer: &str) -> String {
    let args = [
        "explain",
        "--ledger",
        l.to_str().unwrap(),
        "--policy",
        "policies/b2b",
        "--as-of",
        "2026-11-18",
        "--customer",
        customer,
    ];
    let (code, stdout, err) = recoup(&args, None);
    assert_eq!(code, 0, "{err}");
    stdout
}
