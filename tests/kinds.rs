//! Policy-declared action kinds (`[kinds.*]`) and `[notify]` to the sales
//! representative, on fixtures/kinds (docs/policy.md, "`[kinds]`" and
//! "`[notify]`"): the plan row by row as worked out by hand, the summary's
//! counts, the worklist and the outbox snapshotted, the loader's refusal of
//! an undeclared kind.

use crate::cli::recoup;

/// Run fixtures/kinds as of 2026-11-16 into a temp folder.
fn run() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, err) = recoup(
        &[
            "run",
            "--ledger",
            "fixtures/kinds/ledger",
            "--policy",
            "fixtures/kinds/policy",
            "--as-of",
            "2026-11-16",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(tmp.path()),
    );
    assert_eq!(code, 0, "{stdout}{err}");
    (tmp, stdout)
}

fn read(tmp: &tempfile::TempDir, file: &str) -> String {
    std::fs::read_to_string(tmp.path().join("out").join(file)).unwrap()
}

/// Each row: customer, action, rule id, invoices, channel, amount due,
/// owner, undeliverable. By hand, as of 2026-11-16 under jump pace with
/// `standing_effects`:
/// - K1: I1 due 2026-10-17, 30 days past due: step `suspend` (30); the
///   steps below it stand for nothing; Dana Reyes is told (her address in
///   [sales_reps]).
/// - K2: I2 due 2026-08-10, 98 days: `agency` (90), and the standing steps
///   it jumped, `suspend` and `hold`, with it; 4,000.00 less 500.00 paid is
///   3,500.00; the rep is an address himself.
/// - K3: I3 due 2026-10-30, 17 days: `warn` (15), the declared e-mail kind
///   with the kind's template; not a kind the rep is told of.
/// - K4: I4 due 2026-09-30, 47 days: `hold` (45) and the jumped `suspend`;
///   its rep `Ghost Rep` has no address: the notify row is undeliverable.
/// - K5: I5 due 2026-09-25, 52 days: `hold` and `suspend`; no sales_rep, so
///   no notify (counted in the summary).
/// - K6: I6 due 2026-10-12, 35 days: `suspend` executed on 2026-11-11
///   (actions.csv, a declared kind), `hold` not yet due: nothing.
#[test]
fn plan_rows_by_hand() {
    let (tmp, _) = run();
    let plan = read(&tmp, "plan.csv");
    let mut rdr = csv::Reader::from_reader(plan.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |r: &csv::StringRecord, name: &str| r[h.iter().position(|x| x == name).unwrap()].to_string();
    let rows: Vec<[String; 8]> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            ["customer_id", "action", "rule_id", "invoice_ids", "channel", "amount_due", "owner", "undeliverable"]
                .map(|c| col(&r, c))
        })
        .collect();
    let want: Vec<[&str; 8]> = vec![
        ["K1", "suspend_service", "suspend", "I1", "", "1200.00", "owner-01", ""],
        ["K1", "notify", "notify-sales-rep", "I1", "email", "0.00", "Dana Reyes", ""],
        ["K2", "suspend_service", "suspend", "I2", "", "3500.00", "owner-02", ""],
        ["K2", "credit_hold", "hold", "I2", "", "3500.00", "owner-02", ""],
        ["K2", "refer_agency", "agency", "I2", "", "3500.00", "owner-02", ""],
        ["K2", "notify", "notify-sales-rep", "I2", "email", "0.00", "tom@sales.example", ""],
        ["K3", "service_warning", "warn", "I3", "email", "800.00", "owner-01", ""],
        ["K4", "suspend_service", "suspend", "I4", "", "950.00", "owner-02", ""],
        ["K4", "credit_hold", "hold", "I4", "", "950.00", "owner-02", ""],
        [
            "K4",
            "notify",
            "notify-sales-rep",
            "I4",
            "email",
            "0.00",
            "Ghost Rep",
            "sales rep `Ghost Rep` has no e-mail address ([sales_reps] in the policy)",
        ],
        ["K5", "suspend_service", "suspend", "I5", "", "2100.00", "owner-01", ""],
        ["K5", "credit_hold", "hold", "I5", "", "2100.00", "owner-01", ""],
    ];
    let got: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    let want: Vec<Vec<&str>> = want.iter().map(|r| r.to_vec()).collect();
    assert_eq!(got, want);
    // The notify row names each action told of and its rule.
    assert!(plan.contains(
        "tell sales rep tom@sales.example: suspend_service (rule `suspend`), credit_hold (rule `hold`), refer_agency (rule `agency`)"
    ));
    // A declared task is marked in plan.jsonl; nothing else is.
    let jsonl = read(&tmp, "plan.jsonl");
    let tasks = jsonl.lines().filter(|l| l.contains("\"task\":true")).count();
    assert_eq!(tasks, 4);
    assert!(jsonl.lines().filter(|l| l.contains("\"task\":true")).all(|l| l.contains("\"suspend_service\"")));
}

#[test]
fn summary_counts() {
    let (tmp, stdout) = run();
    let s: serde_json::Value = serde_json::from_str(&read(&tmp, "summary.json")).unwrap();
    let count = |k: &str| s["by_action"][k]["count"].as_u64();
    assert_eq!(
        ["credit_hold", "notify", "refer_agency", "service_warning", "suspend_service"].map(count),
        [Some(3), Some(3), Some(1), Some(1), Some(4)]
    );
    assert_eq!(s["actions"]["count"], 12);
    assert_eq!(
        s["kind_labels"],
        serde_json::json!({"service_warning": "Service suspension warning", "suspend_service": "Suspend service"})
    );
    assert_eq!(s["notify"], serde_json::json!({"notified": 3, "undeliverable": 1, "customers_without_sales_rep": 1}));
    assert_eq!(s["undeliverable"], serde_json::json!({"email": 1}));
    // The published schemas take the declared kinds, `task`, `kind_labels` and `notify`.
    use crate::output::{assert_valid, schema};
    assert_valid("summary.json", &schema("summary"), &s);
    let plan = schema("plan");
    for l in read(&tmp, "plan.jsonl").lines() {
        assert_valid("plan.jsonl", &plan, &serde_json::from_str(l).unwrap());
    }
    assert!(stdout.contains("suspend_service (Suspend service)"), "{stdout}");
    assert!(stdout.contains("nor a fallback (all to sales reps without an address)"), "{stdout}");
    assert!(
        stdout.contains("sales reps told: 3 customer(s) (1 undeliverable: no address); 1 customer(s) with an action to tell of have no sales_rep"),
        "{stdout}"
    );
}

#[test]
fn worklist_and_outbox() {
    let (tmp, _) = run();
    let mut emails = String::new();
    for l in read(&tmp, "outbox/email.jsonl").lines() {
        let m: serde_json::Value = serde_json::from_str(l).unwrap();
        emails.push_str(&format!("To: {}\nSubject: {}\n{}\n", m["to"], m["subject"], m["text"].as_str().unwrap()));
    }
    insta::assert_snapshot!(format!(
        "--- worklist.csv\n{}--- outbox/index.csv (action, customer, channel, file)\n{}--- outbox/email.jsonl\n{emails}",
        read(&tmp, "worklist.csv"),
        read(&tmp, "outbox/index.csv")
            .lines()
            .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(",") + "\n")
            .collect::<String>()
    ));
}

/// The same history without a policy that declares `suspend_service`: the
/// row is bad, with its file, line, column and the words allowed.
#[test]
fn an_undeclared_kind_in_the_history_is_a_bad_row() {
    let (code, out, err) = recoup(&["facts", "--ledger", "fixtures/kinds/ledger", "--as-of", "2026-11-16"], None);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("actions.csv"), "{err}");
    assert!(err.contains("actions.csv:3 (column `action`)"), "{err}");
    assert!(err.contains("or a kind the policy declares under [kinds]"), "{err}");
    assert!(err.contains("knows those only when given the policy: `--policy`"), "{err}");
    // Given the policy that declares it, `facts` reads the row.
    let (code, out, err) = recoup(
        &["facts", "--ledger", "fixtures/kinds/ledger", "--policy", "fixtures/kinds/policy", "--as-of", "2026-11-16"],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    // With a policy that does not declare it either.
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = recoup(
        &[
            "run",
            "--ledger",
            "fixtures/kinds/ledger",
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ],
        Some(tmp.path()),
    );
    assert_ne!(code, 0);
    assert!(err.contains("suspend_service"), "{err}");
}

#[test]
fn policy_cases_and_explain() {
    let (code, out, err) = recoup(&["test", "fixtures/kinds/policy"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("4 passed, 0 failed"), "{out}");
    let (code, out, err) = recoup(
        &[
            "explain",
            "--ledger",
            "fixtures/kinds/ledger",
            "--policy",
            "fixtures/kinds/policy",
            "--as-of",
            "2026-11-16",
            "--customer",
            "K2",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("its suspend_service stands (standing_effects)"), "{out}");
    assert!(out.contains("notify-sales-rep"), "{out}");
}

/// fixtures/kinds/policy copied into `dir` with `extra` appended to its
/// policy.toml.
fn policy_with(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let p = dir.join("policy");
    std::fs::create_dir_all(p.join("templates")).unwrap();
    for f in ["overdue.md", "service-warning.md"] {
        std::fs::copy(format!("fixtures/kinds/policy/templates/{f}"), p.join("templates").join(f)).unwrap();
    }
    let text = std::fs::read_to_string("fixtures/kinds/policy/policy.toml").unwrap();
    let text = text.replacen("name = \"kinds\"", "name = \"kinds-costed\"", 1);
    std::fs::write(p.join("policy.toml"), format!("{text}\n{extra}")).unwrap();
    p
}

const COSTS: &str = "[costs]\n\
    suspend_service = \"12.00\"\n\
    service_warning = { USD = \"0.10\" }\n\
    credit_hold = \"2.00\"\n\
    refer_agency = \"20%\"\n";

/// `[costs]` prices a declared kind by its name, and its cost flows where
/// a built-in kind's does. By hand (the plan of `plan_rows_by_hand`):
/// suspend_service 4 x 12.00 = 48.00; service_warning 1 x 0.10; credit_hold
/// 3 x 2.00 = 6.00; refer_agency 20% of 3,500.00 = 700.00; notify costs
/// nothing: 754.10 USD in all.
#[test]
fn a_declared_kind_has_its_unit_cost_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = policy_with(tmp.path(), COSTS);
    let policy = policy.to_str().unwrap();
    let run = |out: &str, shard: Option<&str>| {
        let out = tmp.path().join(out);
        let mut args = vec!["run", "--ledger", "fixtures/kinds/ledger", "--policy", policy, "--as-of", "2026-11-16"];
        args.extend(["--out", out.to_str().unwrap()]);
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let (code, stdout, err) = recoup(&args, Some(tmp.path()));
        assert_eq!(code, 0, "{stdout}{err}");
        (out, stdout)
    };
    let (out, stdout) = run("out", None);
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cost = |k: &str| s["by_action"][k]["currencies"]["USD"]["cost"].as_str().map(str::to_string);
    assert_eq!(
        ["suspend_service", "service_warning", "credit_hold", "refer_agency", "notify"].map(cost),
        ["48.00", "0.10", "6.00", "700.00", "0.00"].map(|c| Some(c.to_string()))
    );
    assert_eq!(s["actions"]["currencies"]["USD"]["cost"], "754.10");
    assert!(stdout.contains("cost of the actions: USD 754.10"), "{stdout}");
    // Each row carries its own.
    let plan = std::fs::read_to_string(out.join("plan.jsonl")).unwrap();
    let k1: serde_json::Value = serde_json::from_str(plan.lines().next().unwrap()).unwrap();
    assert_eq!((k1["action"].as_str(), k1["cost"].as_str()), (Some("suspend_service"), Some("12.00")));
    // Two shards merged count the same cost.
    let (a, _) = run("s1", Some("0/2"));
    let (b, _) = run("s2", Some("1/2"));
    let merged = tmp.path().join("merged");
    let (code, _, err) =
        recoup(&["merge", "--out", merged.to_str().unwrap(), a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(merged.join("summary.json")).unwrap()).unwrap();
    assert_eq!(m["actions"]["currencies"]["USD"]["cost"], "754.10");
    assert_eq!(m["by_action"]["suspend_service"]["currencies"]["USD"]["cost"], "48.00");
    // simulate's cost of the actions: the baseline without costs, the variant with them.
    let sim = tmp.path().join("sim");
    let (code, stdout, err) = recoup(
        &[
            "simulate",
            "--ledger",
            "fixtures/kinds/ledger",
            "--as-of",
            "2026-11-16",
            "--baseline",
            "fixtures/kinds/policy",
            "--variant",
            policy,
            "--out",
            sim.to_str().unwrap(),
        ],
        Some(tmp.path()),
    );
    assert_eq!(code, 0, "{stdout}{err}");
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(sim.join("comparison.json")).unwrap()).unwrap();
    let metric = c["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == "cost_of_actions").unwrap();
    let values: Vec<&str> = metric["values"].as_object().unwrap().values().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(values, ["0.00", "754.10"], "{metric}");
}

/// `check` refuses a cost for a kind that is neither built in nor
/// declared, at the key, with the closest name or what to do.
#[test]
fn a_cost_for_an_unknown_kind_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let policy =
        policy_with(tmp.path(), "[costs]\nsuspend_servce = \"12.00\"\nrefund_call = \"1.00\"\nfee = \"1.00\"\n");
    let (code, out, err) = recoup(&["check", policy.to_str().unwrap()], Some(tmp.path()));
    assert_ne!(code, 0, "{out}");
    let text = format!("{out}{err}");
    assert!(text.contains("unknown action kind `suspend_servce` in [costs]"), "{text}");
    assert!(text.contains("did you mean `suspend_service`?"), "{text}");
    assert!(text.contains("policy.toml:68:1"), "{text}");
    assert!(text.contains("unknown action kind `refund_call` in [costs]"), "{text}");
    assert!(text.contains("add `[kinds.refund_call]`, or remove the key"), "{text}");
    assert!(text.contains("`fee` has no unit cost"), "{text}");
}

/// The sales representative's message is a template the policy can give
/// (`templates/notify-sales-rep.md`, and per language as every template):
/// Lark (K2) speaks German and gets the `de` one, Kestrel (K1) the
/// top-level one; without either, recoup's own (the snapshot of
/// `worklist_and_outbox`). Amounts and dates are formatted for the
/// language as in every message.
#[test]
fn the_sales_rep_message_is_a_template_the_policy_can_give() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = policy_with(tmp.path(), "");
    std::fs::write(
        policy.join("templates/notify-sales-rep.md"),
        "=== subject\nAccount {{ customer.id }}: {{ labels | join(\" / \") }}\n=== text\nHi {{ rep }}, as of {{ as_of }}:\n{% for a in actions %}\n* {{ a.label }} ({{ a.kind }}, {{ a.rule }}): {{ a.amount_due }}\n{% endfor %}\n",
    )
    .unwrap();
    std::fs::create_dir_all(policy.join("templates/de")).unwrap();
    std::fs::write(
        policy.join("templates/de/notify-sales-rep.md"),
        "=== subject\nKonto {{ customer.id }}\n=== text\nHallo {{ rep }}, Stand {{ as_of }}:\n{% for a in actions %}\n* {{ a.label }}: {{ a.amount_due }}\n{% endfor %}\n",
    )
    .unwrap();
    let ledger = tmp.path().join("ledger");
    std::fs::create_dir_all(&ledger).unwrap();
    for f in ["actions.csv", "invoices.csv", "payments.csv"] {
        std::fs::copy(format!("fixtures/kinds/ledger/{f}"), ledger.join(f)).unwrap();
    }
    let customers = std::fs::read_to_string("fixtures/kinds/ledger/customers.csv").unwrap();
    let customers: String = customers
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l},language\n"),
            _ if l.starts_with("K2,") => format!("{l},de\n"),
            _ => format!("{l},\n"),
        })
        .collect();
    std::fs::write(ledger.join("customers.csv"), customers).unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, err) = recoup(
        &[
            "run",
            "-q",
            "--ledger",
            ledger.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--as-of",
            "2026-11-16",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(tmp.path()),
    );
    assert_eq!(code, 0, "{stdout}{err}");
    let mails: Vec<(String, String, String)> = std::fs::read_to_string(out.join("outbox/email.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|m| m["to"].as_str().is_some_and(|t| t.contains("sales") || t.contains("dana")))
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().replace(['\u{a0}', '\u{202f}'], " ");
            (s("to"), s("subject"), s("text"))
        })
        .collect();
    let want = [
        (
            "dana.reyes@acme.example",
            "Account K1: Suspend service",
            "Hi Dana Reyes, as of 16 November 2026:\n* Suspend service (suspend_service, suspend): USD 1,200.00\n",
        ),
        (
            "tom@sales.example",
            "Konto K2",
            "Hallo tom@sales.example, Stand 16.11.2026:\n* Suspend service: 3.500,00 USD\n* Credit hold: 3.500,00 USD\n* Refer agency: 3.500,00 USD\n",
        ),
    ];
    let got: Vec<(&str, &str, &str)> = mails.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
    assert_eq!(got, want);
    // `check` knows the message's own fields.
    std::fs::write(policy.join("templates/de/notify-sales-rep.md"), "=== subject\nKonto\n=== text\n{{ repp }}\n")
        .unwrap();
    let (code, out, err) = recoup(&["check", policy.to_str().unwrap()], Some(tmp.path()));
    assert_ne!(code, 0, "{out}");
    let text = format!("{out}{err}");
    assert!(text.contains("unknown field `repp` in the `text` part"), "{text}");
    assert!(text.contains("not a field of the sales representative's message"), "{text}");
    assert!(text.contains("did you mean `rep`?"), "{text}");
    std::fs::write(policy.join("templates/de/notify-sales-rep.md"), "=== text\n{{ rep }}\n").unwrap();
    let (code, out, err) = recoup(&["check", policy.to_str().unwrap()], Some(tmp.path()));
    assert_ne!(code, 0, "{out}");
    let text = format!("{out}{err}");
    assert!(text.contains("template `notify-sales-rep` has no `subject` part"), "{text}");
}

/// `report --run` reads the run's ledger again for its trends and lists:
/// a history row of a kind the run's policy declared (`suspend_service`
/// on line 3 of fixtures/kinds' actions.csv) is the run's, not a bad row.
/// Before: "cannot load the ledger … 1 bad row(s)", and the report left the
/// trends and debtor lists out.
#[test]
fn the_report_of_a_run_reads_its_history_of_declared_kinds() {
    let (tmp, _) = run();
    let html = tmp.path().join("report.html");
    let out = tmp.path().join("out");
    let (code, stdout, err) =
        recoup(&["report", "--run", out.to_str().unwrap(), "--out", html.to_str().unwrap()], Some(tmp.path()));
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(!err.contains("cannot load the ledger"), "{err}");
    assert!(!err.contains("leaves out"), "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("K2"), "the debtor lists name the customers");
}
