//! Issue 23 §4 and §5 through the engine: actions held by a public holiday
//! of the customer's country or by a company closure (and explain naming
//! it), and statutory interest as the law computes it on a ledger with a
//! part payment.

use crate::common::date;
use chrono::NaiveDate;
use recoup::engine::{Outcome, PlannedAction, Trace, evaluate_customer, evaluate_ledger};
use recoup::facts::{Context, FactsConfig, derive_customer};
use recoup::ledger::inline::{InlineLedger, load_inline};
use recoup::ledger::{Ledger, LoadOptions};
use recoup::policy::{self, CompiledPolicy};
use rust_decimal::Decimal;

const CUSTOMERS: &str = "customer_id,name,segment,country,currency,credit_limit,payment_terms,credit_score,risk_class,account_owner,do_not_contact,on_hold,opened_on,account_type,email,phone,address_line1,city";
const INVOICES: &str =
    "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,disputed_since,dispute_reason";
const PAYMENTS: &str = "payment_id,customer_id,invoice_id,paid_on,amount";

/// One customer per country (`C-GB`, `C-US`, ...), each with one open
/// invoice of `amount` (open `open`) due on `due`, and `payments`
/// (customer, invoice, date, amount).
fn ledger(
    countries: &[(&str, &str)],
    due: &str,
    amount: &str,
    open: &str,
    payments: &[(&str, &str, &str, &str)],
) -> Ledger {
    let mut c = vec![CUSTOMERS.to_string()];
    let mut i = vec![INVOICES.to_string()];
    for (country, cur) in countries {
        c.push(format!(
            "C-{country},{country} Ltd,mid_market,{country},{cur},50000.00,NET30,700,,owner-01,false,false,2020-01-01,business,ap@example.com,+44 20 7946 0000,1 High Street,Town"
        ));
        i.push(format!("I-{country},C-{country},2026-01-01,{due},{cur},{amount},{open},open,,"));
    }
    let mut p = vec![PAYMENTS.to_string()];
    for (n, (cu, inv, on, a)) in payments.iter().enumerate() {
        p.push(format!("P{n},{cu},{inv},{on},{a}"));
    }
    let (c, i, p) = (c.join("\n"), i.join("\n"), p.join("\n"));
    let files = InlineLedger { customers: &c, invoices: &i, payments: Some(&p), promises: None, actions: None };
    load_inline(&files, &LoadOptions::default()).unwrap()
}

/// A policy folder (policy.toml, and holidays.csv when given) in a temp dir, loaded.
fn folder_policy(toml: &str, holidays: Option<&str>) -> (tempfile::TempDir, CompiledPolicy) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.toml"), toml).unwrap();
    if let Some(h) = holidays {
        std::fs::write(dir.path().join("holidays.csv"), h).unwrap();
    }
    let loaded = policy::load(dir.path());
    match loaded.policy {
        Some(p) => (dir, p),
        None => panic!("{}", loaded.report.render()),
    }
}

fn compiled(text: &str) -> CompiledPolicy {
    let loaded = policy::load_str("test-policy.toml", text);
    match loaded.policy {
        Some(p) => p,
        None => panic!("{}", loaded.report.render()),
    }
}

fn plan(p: &CompiledPolicy, l: &Ledger, as_of: NaiveDate) -> Vec<PlannedAction> {
    evaluate_ledger(p, l, &Context::new(as_of, FactsConfig::default())).into_iter().flat_map(|r| r.unwrap()).collect()
}

/// The customers with an action as of `day`.
fn called(p: &CompiledPolicy, l: &Ledger, day: &str) -> Vec<String> {
    plan(p, l, date(day)).into_iter().map(|a| a.customer_id.to_string()).collect()
}

fn explain(p: &CompiledPolicy, l: &Ledger, as_of: &str, c: &str) -> Trace {
    let ctx = Context::new(date(as_of), FactsConfig::default());
    let ctx = p.facts_context(&ctx);
    let mut buf = Vec::new();
    let cf = derive_customer(l, l.customer_ix(c).unwrap(), &ctx, &mut buf);
    let mut t = Trace::default();
    let _ = evaluate_customer(p, l, &cf, &buf, &ctx.calendar(), Some(&mut t));
    t
}

const CALLS: &str = r#"
[policy]
name = "calendars"
version = "1"
pace = "jump"

[guardrails]
business_days_only = true
public_holidays = true
holidays = "holidays.csv"

[[ladder]]
id = "l"

[[ladder.step]]
id = "call"
days_past_due = 1
action = "call"
"#;

const CLOSURES: &str = "date,country,name\n2026-12-24,,Office closed\n2026-12-31,GB,Year-end close\n";

const FOUR: &[(&str, &str)] = &[("DE", "EUR"), ("FR", "EUR"), ("GB", "GBP"), ("US", "USD")];

#[test]
fn an_action_due_on_a_holiday_waits_for_the_next_business_day_of_the_customers_country() {
    let (_dir, p) = folder_policy(CALLS, Some(CLOSURES));
    let l = ledger(FOUR, "2026-11-02", "900.00", "900.00", &[]);
    // Thursday 26 Nov 2026 is Thanksgiving in the US only.
    assert_eq!(called(&p, &l, "2026-11-26"), ["C-DE", "C-FR", "C-GB"]);
    assert_eq!(called(&p, &l, "2026-11-27"), ["C-DE", "C-FR", "C-GB", "C-US"]);
    // Thursday 24 Dec: the company closure, for every customer.
    assert!(called(&p, &l, "2026-12-24").is_empty());
    // Friday 25 Dec: Christmas in all four; Saturday and Sunday are weekend days.
    assert!(called(&p, &l, "2026-12-25").is_empty());
    // Monday 28 Dec: Boxing Day's substitute day in GB; a working day elsewhere
    // (Germany's 2. Weihnachtstag fell on the Saturday and is not moved).
    assert_eq!(called(&p, &l, "2026-12-28"), ["C-DE", "C-FR", "C-US"]);
    // Tuesday 29 Dec: the GB customer's call goes out.
    assert_eq!(called(&p, &l, "2026-12-29"), ["C-DE", "C-FR", "C-GB", "C-US"]);
    // Thursday 31 Dec: a closure for GB customers only.
    assert_eq!(called(&p, &l, "2026-12-31"), ["C-DE", "C-FR", "C-US"]);
    // Without the calendars, business_days_only knows only weekends.
    let plain = compiled(&CALLS.replace("public_holidays = true\nholidays = \"holidays.csv\"\n", ""));
    assert_eq!(called(&plain, &l, "2026-12-25").len(), 4);
}

#[test]
fn explain_names_the_holiday_that_held_an_action() {
    let (_dir, p) = folder_policy(CALLS, Some(CLOSURES));
    let l = ledger(FOUR, "2026-11-02", "900.00", "900.00", &[]);
    let held = |day: &str, c: &str| {
        let t = explain(&p, &l, day, c);
        let r = t.rules.iter().find(|r| r.rule_id == "call").unwrap();
        assert_eq!(r.outcome, Outcome::Suppressed);
        assert_eq!(r.guardrail.as_deref(), Some("business_days_only"));
        r.detail.split("suppressed: ").nth(1).unwrap().to_string()
    };
    assert_eq!(held("2026-12-25", "C-GB"), "held: 2026-12-25 Christmas Day (GB)");
    assert_eq!(held("2026-12-25", "C-DE"), "held: 2026-12-25 1. Weihnachtstag (DE)");
    assert_eq!(held("2026-12-28", "C-GB"), "held: 2026-12-28 Boxing Day (substitute day) (GB)");
    assert_eq!(held("2026-12-24", "C-US"), "held: 2026-12-24 Office closed");
    assert_eq!(held("2026-12-31", "C-GB"), "held: 2026-12-31 Year-end close (GB)");
    // A weekend is still only "not a business day".
    assert_eq!(held("2026-12-26", "C-GB"), "not a business day");
}

#[test]
fn a_company_closure_alone_holds_actions_without_public_holidays() {
    let only_closures = CALLS.replace("public_holidays = true\n", "");
    let (_dir, p) = folder_policy(&only_closures, Some(CLOSURES));
    let l = ledger(FOUR, "2026-11-02", "900.00", "900.00", &[]);
    assert!(called(&p, &l, "2026-12-24").is_empty());
    assert_eq!(called(&p, &l, "2026-12-25").len(), 4, "public holidays are off");
    assert_eq!(called(&p, &l, "2026-12-31"), ["C-DE", "C-FR", "C-US"]);
}

#[test]
fn a_bad_holidays_file_is_refused_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.toml"), CALLS).unwrap();
    std::fs::write(dir.path().join("holidays.csv"), "date,country,name\n2026-12-24,,Closed\n24/12/2026,,Closed\n")
        .unwrap();
    let loaded = policy::load(dir.path());
    assert!(loaded.policy.is_none());
    let text = loaded.report.render();
    assert!(text.contains("`24/12/2026` is not a date"), "{text}");
    assert!(text.contains("holidays.csv:3:1"), "{text}");
    // A missing file is named, at the key.
    std::fs::remove_file(dir.path().join("holidays.csv")).unwrap();
    let text = policy::load(dir.path()).report.render();
    assert!(text.contains("cannot read `holidays.csv`: no such file"), "{text}");
    assert!(text.contains("policy.toml:10:12"), "{text}");
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

const UK: &str = r#"
[policy]
name = "uk"
version = "1"
currency = "GBP"
pace = "jump"

[interest]
regime = "uk_late_payment"
reference_rates = { "2025-08-07" = "4.00", "2025-12-18" = "3.75", "2026-03-19" = "3.50" }

[[ladder]]
id = "l"

[[ladder.step]]
id = "letter"
days_past_due = 1
action = "letter"
template = "t"
interest = true
compensation = true
"#;

#[test]
fn uk_statutory_interest_on_a_debt_part_paid_after_its_due_date() {
    // 12,000.00 due 2026-03-31, 5,000.00 paid 2026-05-01, 7,000.00 open on 2026-06-30.
    // Rate: the base rate in force on 31 Dec 2025 (3.75 %) + 8 = 11.75 %.
    // (12,000 x 30 days + 7,000 x 61 days) x 11.75 / 100 / 365 = 92,472.50 / 365 = 253.349... -> 253.35.
    // Compensation on the 12,000.00 debt: 100 GBP.
    let l = ledger(&[("GB", "GBP")], "2026-03-31", "12000.00", "7000.00", &[("C-GB", "I-GB", "2026-05-01", "5000.00")]);
    let a = plan(&compiled(UK), &l, date("2026-06-30"));
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].interest, a[0].compensation), (dec("253.35"), dec("100")));
    assert!(a[0].reason.ends_with("compensation 100.00, interest 253.35"), "{}", a[0].reason);
    // A payment before the due date is not part of the late debt: 7,000 for 91 days,
    // 7,000 x 11.75 x 91 / 36,500 = 205.0616... -> 205.06; compensation 70 GBP.
    let early =
        ledger(&[("GB", "GBP")], "2026-03-31", "12000.00", "7000.00", &[("C-GB", "I-GB", "2026-03-30", "5000.00")]);
    let a = plan(&compiled(UK), &early, date("2026-06-30"));
    assert_eq!((a[0].interest, a[0].compensation), (dec("205.06"), dec("70")));
}

#[test]
fn eu_statutory_interest_follows_the_half_years_reference_rate() {
    // 1,000.00 due 2026-05-31, unpaid, as of 2026-08-31: June at 3.75 + 8, July and August at 3.50 + 8:
    // 1,000 x (11.75 x 30 + 11.50 x 62) / 36,500 = 29.1917... -> 29.19; compensation 40 EUR.
    let eu = UK.replace("uk_late_payment", "eu_2011_7").replace("GBP", "EUR");
    let l = ledger(&[("DE", "EUR")], "2026-05-31", "1000.00", "1000.00", &[]);
    let a = plan(&compiled(&eu), &l, date("2026-08-31"));
    assert_eq!((a[0].interest, a[0].compensation), (dec("29.19"), dec("40")));
}

#[test]
fn a_step_with_its_own_interest_rate() {
    // ERPNext's dunning type: 2,500.00 at 12 % for 45 days: 2,500 x 12 x 45 / 36,500 = 36.986... -> 36.99.
    let p = compiled(
        "[policy]\nname = \"s\"\nversion = \"1\"\n[[ladder]]\nid = \"l\"\n[[ladder.step]]\nid = \"letter\"\ndays_past_due = 30\naction = \"letter\"\ntemplate = \"t\"\ninterest_rate_pct = \"12\"\n",
    );
    let l = ledger(&[("US", "USD")], "2026-05-31", "2500.00", "2500.00", &[]);
    let a = plan(&p, &l, date("2026-07-15"));
    assert_eq!(a[0].interest, dec("36.99"));
}

#[test]
fn check_warns_of_settings_the_law_does_not_allow() {
    let warnings = |text: &str| -> Vec<String> {
        let loaded = policy::load_str("p.toml", text);
        loaded.report.diagnostics.iter().filter(|d| !d.is_error()).map(|d| d.message.clone()).collect()
    };
    let uk =
        |extra: &str| UK.replace("regime = \"uk_late_payment\"\n", &format!("regime = \"uk_late_payment\"\n{extra}\n"));
    assert_eq!(warnings(&uk("margin_pct = \"10\"")), ["the Late Payment Act's margin is 8 points, not 10"]);
    assert_eq!(warnings(&uk("margin_pct = \"8\"")), Vec::<String>::new());
    assert_eq!(
        warnings(&uk("compensation = \"50\"")),
        ["the Late Payment Act fixes the compensation by the debt's size"]
    );
    let simple = UK.replace(
        "regime = \"uk_late_payment\"\nreference_rates = { \"2025-08-07\" = \"4.00\", \"2025-12-18\" = \"3.75\", \"2026-03-19\" = \"3.50\" }",
        "regime = \"simple\"\nrate_pct = \"10\"",
    );
    assert_eq!(
        warnings(&simple),
        ["the `simple` regime has no fixed compensation: `compensation = true` claims nothing"]
    );
    let eu = UK.replace("uk_late_payment", "eu_2011_7").replace("GBP", "EUR");
    assert_eq!(
        warnings(&eu.replace("[[ladder]]", "compensation = \"30\"\n[[ladder]]")),
        ["the 2011/7/EU compensation is at least EUR 40"]
    );
}
