//! Issue 23 §1, §2 and §6 (jump): every invoice at its own level in one run
//! (`advance = "each_invoice"`, one message per customer and channel),
//! repeating steps (`repeat`), and the standing effects of the steps jump
//! pace skips (`standing_effects`). Hand-built ledgers; the figures are
//! worked out in the comments.

use crate::cli::recoup;
use crate::common::date;
use chrono::{Duration, NaiveDate};
use recoup::engine::{Outcome, PlannedAction, RuleKind, Trace, evaluate_customer, evaluate_ledger};
use recoup::facts::{Context, FactsConfig, derive_customer};
use recoup::ledger::inline::{InlineLedger, load_inline};
use recoup::ledger::{Ledger, LoadOptions};
use recoup::policy::{self, CompiledPolicy};
use rust_decimal::Decimal;
use std::fs;

const CUSTOMERS: &str = "customer_id,name,segment,country,currency,credit_limit,payment_terms,account_owner,email,address_line1,city\n\
C1,Acme Tools,mid_market,US,USD,20000.00,NET30,owner-01,ap@acme.example,1 Main Street,Springfield\n";
const INVOICES: &str = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status";
const ACTIONS: &str = "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome";

const AS_OF: &str = "2026-11-16";

/// Three open invoices of C1 as of 2026-11-16: I1 46 days past due, I2 27, I3 6.
fn three_invoices() -> String {
    format!(
        "{INVOICES}\n\
         I1,C1,2026-09-01,2026-10-01,USD,1000.00,1000.00,open\n\
         I2,C1,2026-09-20,2026-10-20,USD,400.00,400.00,open\n\
         I3,C1,2026-10-11,2026-11-10,USD,250.00,250.00,open\n"
    )
}

/// I1 had reminder-1 (2 October) and reminder-2 (16 October); I2 reminder-1 (21 October).
fn three_histories() -> String {
    format!(
        "{ACTIONS}\n\
         A1,C1,I1,reminder-1,email,email,2026-10-02,2026-10-02,delivered\n\
         A2,C1,I1,reminder-2,email,email,2026-10-16,2026-10-16,delivered\n\
         A3,C1,I2,reminder-1,email,email,2026-10-21,2026-10-21,delivered\n"
    )
}

fn ledger(invoices: &str, actions: &str) -> Ledger {
    let files = InlineLedger { customers: CUSTOMERS, invoices, payments: None, promises: None, actions: Some(actions) };
    load_inline(&files, &LoadOptions::default()).unwrap()
}

/// A three-level Tryton-like ladder (email at 1 and 15 days, a letter at 30),
/// with `extra` added to [policy].
fn levels_policy(extra: &str) -> String {
    format!(
        r#"[policy]
name = "levels"
version = "1"
currency = "USD"
grouping = "invoice"
{extra}

[[ladder]]
id = "levels"

[[ladder.step]]
id = "reminder-1"
days_past_due = 1
action = "email"
template = "reminder-1"
fee = "5.00"

[[ladder.step]]
id = "reminder-2"
days_past_due = 15
action = "email"
template = "reminder-2"
fee = "10.00"

[[ladder.step]]
id = "final"
days_past_due = 30
action = "letter"
template = "final"
fee = "20.00"
"#
    )
}

fn compiled(text: &str) -> CompiledPolicy {
    let loaded = policy::load_str("test-policy.toml", text);
    match loaded.policy {
        Some(p) => p,
        None => panic!("{}", loaded.report.render()),
    }
}

fn plan(p: &CompiledPolicy, l: &Ledger, as_of: NaiveDate) -> Vec<PlannedAction> {
    evaluate_ledger(p, l, &Context::new(as_of, FactsConfig::default()))
        .into_iter()
        .flat_map(|r| r.unwrap())
        .filter(|a| a.rule_kind == RuleKind::Step)
        .collect()
}

fn explain(p: &CompiledPolicy, l: &Ledger, as_of: NaiveDate) -> Trace {
    let ctx = Context::new(as_of, FactsConfig::default());
    let ctx = p.facts_context(&ctx);
    let mut buf = Vec::new();
    let cf = derive_customer(l, l.customer_ix("C1").unwrap(), &ctx, &mut buf);
    let mut t = Trace::default();
    let _ = evaluate_customer(p, l, &cf, &buf, &ctx.calendar(), Some(&mut t));
    t
}

/// (rule, invoices, fee) of each action.
fn rows(actions: &[PlannedAction]) -> Vec<(String, String, String)> {
    actions.iter().map(|a| (a.rule_id.clone(), a.invoice_ids.join(";"), a.fee.to_string())).collect()
}

fn row(rule: &str, invoices: &str, fee: &str) -> (String, String, String) {
    (rule.into(), invoices.into(), fee.into())
}

// ------------------------------------------------------------ §1 levels

/// Today's behaviour, kept as the default: one step per customer per run.
/// The oldest invoice (I1, 46 days) decides: `final`, listing only I1 (the
/// others have not crossed 30 days); I2 and I3 wait a run per level.
#[test]
fn by_default_a_customer_moves_one_step_per_run() {
    let p = compiled(&levels_policy(""));
    let l = ledger(&three_invoices(), &three_histories());
    assert_eq!(rows(&plan(&p, &l, date(AS_OF))), [row("final", "I1", "20.00")]);
}

/// `advance = "each_invoice"`: I1 (46 days, had reminders 1 and 2) to
/// `final`, I2 (27 days, had reminder 1) to `reminder-2`, I3 (6 days, none)
/// to `reminder-1`, all in one run, each with its own step's fee (5 + 10 +
/// 20). The two emails are one message, whose id is the action id of its
/// highest step (reminder-2); the letter is a message of its own.
#[test]
fn each_invoice_moves_to_its_own_next_level_in_one_run() {
    let p = compiled(&levels_policy("advance = \"each_invoice\""));
    let l = ledger(&three_invoices(), &three_histories());
    let as_of = date(AS_OF);
    let actions = plan(&p, &l, as_of);
    assert_eq!(
        rows(&actions),
        [row("reminder-1", "I3", "5.00"), row("reminder-2", "I2", "10.00"), row("final", "I1", "20.00")]
    );
    let id = |a: &PlannedAction| recoup::plan::action_id(as_of, a);
    assert_eq!(actions[0].message_id.as_deref(), Some(id(&actions[1]).as_str()));
    assert_eq!(actions[1].message_id.as_deref(), Some(id(&actions[1]).as_str()));
    assert_eq!(actions[2].message_id.as_deref(), Some(id(&actions[2]).as_str()));
    let fees: Decimal = actions.iter().map(|a| a.fee).sum();
    assert_eq!(fees.to_string(), "35.00");
}

/// The shared email is one contact, in the run and in the history: with a
/// cap of 2 contacts in 7 days, the email (two invoices) and the letter both
/// go; recorded as executed (one row per invoice, as a mailer records a
/// plan), the next day's contacts_7d is 2, not 3.
#[test]
fn a_shared_message_is_one_contact_in_the_run_and_in_the_history() {
    let p = compiled(&format!(
        "{}\n[guardrails]\nmax_contacts_per_7_days = 2\n",
        levels_policy("advance = \"each_invoice\"")
    ));
    let l = ledger(&three_invoices(), &three_histories());
    assert_eq!(plan(&p, &l, date(AS_OF)).len(), 3, "both messages go under a cap of 2");
    let history = format!(
        "{}A4,C1,I3,reminder-1,email,email,{AS_OF},{AS_OF},delivered\n\
         A5,C1,I2,reminder-2,email,email,{AS_OF},{AS_OF},delivered\n\
         A6,C1,I1,final,letter,letter,{AS_OF},{AS_OF},delivered\n",
        three_histories()
    );
    let l = ledger(&three_invoices(), &history);
    let next = date(AS_OF) + Duration::days(1);
    let ctx = Context::new(next, FactsConfig::default());
    let ctx = p.facts_context(&ctx);
    let mut buf = Vec::new();
    let cf = derive_customer(&l, l.customer_ix("C1").unwrap(), &ctx, &mut buf);
    assert_eq!(cf.contacts_7d, 2, "one email listing two invoices, one letter");
    // With a cap of 1 the letter waits: the email (the lower levels, offered first) took the one contact.
    let p1 = compiled(&format!(
        "{}\n[guardrails]\nmax_contacts_per_7_days = 1\n",
        levels_policy("advance = \"each_invoice\"")
    ));
    let l = ledger(&three_invoices(), &three_histories());
    assert_eq!(rows(&plan(&p1, &l, date(AS_OF))), [row("reminder-1", "I3", "5.00"), row("reminder-2", "I2", "10.00")]);
}

#[test]
fn each_invoice_needs_per_invoice_grouping() {
    let text = levels_policy("advance = \"each_invoice\"").replace("grouping = \"invoice\"", "grouping = \"customer\"");
    let loaded = policy::load_str("test-policy.toml", &text);
    assert!(loaded.policy.is_none());
    let report = loaded.report.render();
    assert!(
        report.contains("`advance = \"each_invoice\"` of ladder `levels` needs `grouping = \"invoice\"`"),
        "{report}"
    );
}

/// End to end: `recoup run --outbox` writes one e-mail listing I3 at level 1
/// and I2 at level 2 (the template reads `i.step` and `i.level`) with the
/// total of both (250 + 400 = 650.00) and their fees (15.00), and one
/// letter for I1; plan.csv has the `message_id` column.
#[test]
fn the_outbox_sends_one_message_per_channel_listing_each_level() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::create_dir_all(t.join("ledger")).unwrap();
    fs::write(t.join("ledger/customers.csv"), CUSTOMERS).unwrap();
    fs::write(t.join("ledger/invoices.csv"), three_invoices()).unwrap();
    fs::write(t.join("ledger/actions.csv"), three_histories()).unwrap();
    fs::write(t.join("ledger/payments.csv"), "payment_id,customer_id,invoice_id,paid_on,amount\n").unwrap();
    fs::create_dir_all(t.join("policy/templates")).unwrap();
    let sender = "\n[sender]\ncompany = \"Northwind\"\nemail = \"billing@northwind.example\"\n";
    fs::write(t.join("policy/policy.toml"), levels_policy("advance = \"each_invoice\"") + sender).unwrap();
    let email = "=== subject\nReminder: {{ total }} open\n=== text\n{% for i in invoices %}\n- {{ i.id }}: {{ i.open_amount }}, level {{ i.level }} ({{ i.step }})\n{% endfor %}\nFees: {{ fee }}\n";
    fs::write(t.join("policy/templates/reminder-1.md"), email).unwrap();
    fs::write(t.join("policy/templates/reminder-2.md"), email).unwrap();
    fs::write(
        t.join("policy/templates/final.md"),
        "=== letter\n{% for i in invoices %}\n{{ i.id }} level {{ i.level }}\n{% endfor %}\n",
    )
    .unwrap();
    let p = |s: &str| t.join(s).display().to_string();
    let (code, out, err) = recoup(
        &["run", "--ledger", &p("ledger"), "--policy", &p("policy"), "--as-of", AS_OF, "--out", &p("out"), "--outbox"],
        Some(t),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("outbox: 2 messages (1 email, 1 letter)"), "{out}");
    assert!(out.contains("one per deliverable message of the plan"), "{out}");
    let plan = fs::read_to_string(t.join("out/plan.csv")).unwrap();
    assert!(plan.lines().next().unwrap().ends_with(",undeliverable,message_id"), "{plan}");
    // One e-mail in the mbox, listed once in index.csv.
    let mbox = fs::read(t.join("out/outbox/email.mbox")).unwrap();
    assert_eq!(recoup::outbox::mbox_messages(&mbox).len(), 1);
    let index = fs::read_to_string(t.join("out/outbox/index.csv")).unwrap();
    assert_eq!(index.lines().filter(|l| l.contains(",email,")).count(), 1, "{index}");
    let jsonl = fs::read_to_string(t.join("out/outbox/email.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    let text = line["text"].as_str().unwrap();
    assert_eq!(
        text,
        "- I3: USD\u{a0}250.00, level 1 (reminder-1)\n- I2: USD\u{a0}400.00, level 2 (reminder-2)\nFees: USD\u{a0}15.00\n",
        "{text}"
    );
    assert!(line["subject"].as_str().unwrap().contains("650.00"), "{line}");
    assert_eq!(index.lines().filter(|l| l.contains(",letter,")).count(), 1, "{index}");
    let letters = fs::read_to_string(t.join("out/outbox/letters.html")).unwrap();
    assert_eq!(letters.matches("<section class=\"letter").count(), 1, "one letter");

    // Sent: `recoup send` records the e-mail as the rows of both its
    // invoices, each with its own step, under the message's id (`ID`, `ID-2`).
    let out = t.join("out");
    let outbox = recoup::send::Outbox::open(&out).unwrap();
    assert_eq!(outbox.messages.len(), 1);
    let m = &outbox.messages[0];
    let mut log = recoup::send::Log::open(&out).unwrap();
    log.append(recoup::send::LogRow {
        message_id: m.headers.message_id.clone(),
        action_id: m.action_id.clone(),
        customer_id: "C1".into(),
        to: "ap@acme.example".into(),
        result: "sent".into(),
        reply: "250 ok".into(),
        attempted_at: "2026-11-16T09:00:00Z".into(),
    })
    .unwrap();
    let mut rows = Vec::new();
    assert_eq!(
        recoup::send::actions_sent(&outbox, &log, chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(), &mut rows)
            .unwrap(),
        2
    );
    let id = &m.action_id;
    assert_eq!(
        String::from_utf8(rows).unwrap(),
        format!(
            "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome\n\
             {id},C1,I2,reminder-2,email,email,2026-11-16,2026-11-16,delivered\n\
             {id}-2,C1,I3,reminder-1,email,email,2026-11-16,2026-11-16,delivered\n"
        )
    );
}

// ----------------------------------------------------------- §2 repeats

/// One invoice due 2026-10-01 and a single step at 1 day past due that
/// repeats every 7 days, at most 4 times.
fn repeat_policy(extra_step: &str) -> String {
    format!(
        r#"[policy]
name = "repeat"
version = "1"
currency = "USD"

[[ladder]]
id = "endless"

[[ladder.step]]
id = "reminder"
days_past_due = 1
action = "email"
template = "reminder"
fee = "5.00"
repeat = {{ every = "7d", max = 4 }}
{extra_step}
"#
    )
}

const ONE_INVOICE: &str = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
I1,C1,2026-09-01,2026-10-01,USD,1000.00,1000.00,open\n";

/// Sent on day 0 (2 October), then on days 7 and 14 (9 and 16 October): a
/// run every day from 2 to 17 October that records what it plans as
/// executed sends exactly on those days; the fee only with the first send.
#[test]
fn a_repeating_step_is_sent_again_every_7_days() {
    let p = compiled(&repeat_policy(""));
    let mut history = format!("{ACTIONS}\n");
    let mut sent = Vec::new();
    let start = date("2026-10-02");
    for d in 0..16 {
        let as_of = start + Duration::days(d);
        let l = ledger(ONE_INVOICE, &history);
        for a in plan(&p, &l, as_of) {
            sent.push((d, a.fee.to_string()));
            history.push_str(&format!("A{d},C1,I1,{},email,email,{as_of},{as_of},delivered\n", a.rule_id));
        }
    }
    assert_eq!(sent, [(0, "5.00".into()), (7, "0".into()), (14, "0".into())]);
}

/// History: sent on 2, 9 and 16 October (the first send and repeats 1 and
/// 2). On 23 October repeat 3 is due; explain and the reason say "repeat 3
/// of 4". On 22 October (6 days) nothing is due.
#[test]
fn explain_says_which_repeat() {
    let p = compiled(&repeat_policy(""));
    let history = format!(
        "{ACTIONS}\nA1,C1,I1,reminder,email,email,2026-10-02,2026-10-02,delivered\n\
         A2,C1,I1,reminder,email,email,2026-10-09,2026-10-09,delivered\n"
    );
    let l = ledger(ONE_INVOICE, &history);
    let t = explain(&p, &l, date("2026-10-16"));
    let r = t.rules.iter().find(|r| r.rule_id == "reminder").unwrap();
    assert_eq!(r.outcome, Outcome::Fired);
    assert!(r.detail.contains("repeat 2 of 4"), "{}", r.detail);
    let a = &t.actions[0];
    assert!(a.reason.contains("step reminder, repeat 2 of 4"), "{}", a.reason);
    assert!(plan(&p, &l, date("2026-10-15")).is_empty(), "6 days after the last send");
}

/// After the first send and 4 repeats (5 sends: 2, 9, 16, 23, 30 October)
/// the step is done: nothing on 6 November or later.
#[test]
fn a_repeat_stops_at_its_maximum() {
    let p = compiled(&repeat_policy(""));
    let mut history = format!("{ACTIONS}\n");
    for (k, d) in ["2026-10-02", "2026-10-09", "2026-10-16", "2026-10-23", "2026-10-30"].iter().enumerate() {
        history.push_str(&format!("A{k},C1,I1,reminder,email,email,{d},{d},delivered\n"));
    }
    let l = ledger(ONE_INVOICE, &history);
    assert!(plan(&p, &l, date("2026-11-06")).is_empty());
    assert!(plan(&p, &l, date("2026-11-30")).is_empty());
    let t = explain(&p, &l, date("2026-11-06"));
    let r = t.rules.iter().find(|r| r.rule_id == "reminder").unwrap();
    assert!(r.detail.contains("repeated 4 of 4 times"), "{}", r.detail);
}

/// Paid: no open invoice, no repeat.
#[test]
fn a_repeat_stops_when_paid() {
    let p = compiled(&repeat_policy(""));
    let history = format!("{ACTIONS}\nA1,C1,I1,reminder,email,email,2026-10-02,2026-10-02,delivered\n");
    let paid = ONE_INVOICE.replace("1000.00,1000.00,open", "1000.00,0.00,paid");
    let l = ledger(&paid, &history);
    assert!(plan(&p, &l, date("2026-10-09")).is_empty());
    let l = ledger(ONE_INVOICE, &history);
    assert_eq!(plan(&p, &l, date("2026-10-09")).len(), 1, "the same day, unpaid: repeat 1");
}

/// A later step wins over a repeat, and ends it: at 30 days the letter goes
/// instead of a repeat, and no repeat follows it.
#[test]
fn a_later_step_ends_the_repeats() {
    let letter = "\n[[ladder.step]]\nid = \"final\"\ndays_past_due = 30\naction = \"letter\"\ntemplate = \"final\"\n";
    let p = compiled(&repeat_policy(letter));
    let history = format!(
        "{ACTIONS}\nA1,C1,I1,reminder,email,email,2026-10-02,2026-10-02,delivered\n\
         A2,C1,I1,reminder,email,email,2026-10-23,2026-10-23,delivered\n"
    );
    let l = ledger(ONE_INVOICE, &history);
    let got: Vec<String> = plan(&p, &l, date("2026-10-31")).iter().map(|a| a.rule_id.clone()).collect();
    assert_eq!(got, ["final"]);
    let history = format!("{history}A3,C1,I1,final,letter,letter,2026-10-31,2026-10-31,delivered\n");
    let l = ledger(ONE_INVOICE, &history);
    assert!(plan(&p, &l, date("2026-11-14")).is_empty());
}

/// Invoice Ninja's endless reminder: a step at the same trigger as the last
/// regular one, repeating. `check` accepts it (its `every` keeps it 7 days
/// after the regular one), and it goes 7 days after it, then every 7 days.
#[test]
fn check_accepts_two_steps_on_one_day_kept_apart_by_a_repeat() {
    let text = r#"[policy]
name = "ninja"
version = "1"
currency = "USD"

[[ladder]]
id = "ninja"

[[ladder.step]]
id = "reminder-3"
days_past_due = 30
action = "email"
template = "reminder-3"

[[ladder.step]]
id = "endless"
days_past_due = 30
action = "email"
template = "endless"
repeat = { every = "7d" }
"#;
    let loaded = policy::load_str("test-policy.toml", text);
    assert!(
        loaded.report.render().is_empty() || !loaded.report.render().contains("both fire"),
        "{}",
        loaded.report.render()
    );
    let p = loaded.policy.expect("valid");
    let none = format!("{ACTIONS}\n");
    let l = ledger(ONE_INVOICE, &none);
    let rule = |as_of: &str, l: &Ledger| plan(&p, l, date(as_of)).iter().map(|a| a.rule_id.clone()).collect::<Vec<_>>();
    assert_eq!(rule("2026-10-31", &l), ["reminder-3"]);
    let h = format!("{none}A1,C1,I1,reminder-3,email,email,2026-10-31,2026-10-31,delivered\n");
    let l = ledger(ONE_INVOICE, &h);
    assert!(rule("2026-11-06", &l).is_empty(), "6 days after reminder-3");
    assert_eq!(rule("2026-11-07", &l), ["endless"]);
    let h = format!("{h}A2,C1,I1,endless,email,email,2026-11-07,2026-11-07,delivered\n");
    let l = ledger(ONE_INVOICE, &h);
    assert!(rule("2026-11-13", &l).is_empty());
    assert_eq!(rule("2026-11-14", &l), ["endless"]);
    // Without the repeat or a cooldown the two still cannot be told apart.
    let bare = text.replace("repeat = { every = \"7d\" }\n", "");
    let loaded = policy::load_str("test-policy.toml", &bare);
    assert!(loaded.policy.is_none());
    assert!(loaded.report.render().contains("both fire at 30 days past due"), "{}", loaded.report.render());
}

#[test]
fn a_bad_repeat_is_refused_with_its_place() {
    let loaded =
        policy::load_str("test-policy.toml", &repeat_policy("").replace("every = \"7d\"", "every = \"weekly\""));
    let report = loaded.report.render();
    assert!(loaded.policy.is_none());
    assert!(report.contains("`every` of step `reminder` is `weekly`: not a number of days of 1 or more"), "{report}");
    assert!(report.contains("test-policy.toml:15:20"), "{report}");
}

// ------------------------------------------------------ §6 jump effects

/// Jump pace, an invoice 70 days late never contacted, the standard-like
/// ladder (letter at 30, hold at 45, agency at 60). Without
/// `standing_effects` it goes to the agency only; with it the hold of the
/// skipped step is placed too (listed before the referral), with the hold's
/// own rule id so that the history sees it done.
#[test]
fn jump_places_the_hold_of_a_skipped_step() {
    let text = |extra: &str| {
        format!(
            r#"[policy]
name = "jump"
version = "1"
currency = "USD"
pace = "jump"
{extra}

[[ladder]]
id = "jump"

[[ladder.step]]
id = "final-demand"
days_past_due = 30
action = "letter"
template = "final-demand"

[[ladder.step]]
id = "credit-hold"
days_past_due = 45
action = "credit_hold"

[[ladder.step]]
id = "agency"
days_past_due = 60
action = "refer_agency"
"#
        )
    };
    let invoice = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                   I1,C1,2026-08-08,2026-09-07,USD,3000.00,3000.00,open\n";
    let l = ledger(invoice, &format!("{ACTIONS}\n"));
    let as_of = date(AS_OF); // 70 days past due
    let got = |p: &CompiledPolicy| plan(p, &l, as_of).iter().map(|a| (a.rule_id.clone(), a.hold)).collect::<Vec<_>>();
    assert_eq!(got(&compiled(&text(""))), [("agency".to_string(), false)]);
    let p = compiled(&text("standing_effects = true"));
    assert_eq!(got(&p), [("credit-hold".to_string(), true), ("agency".to_string(), false)]);
    let t = explain(&p, &l, as_of);
    let r = t.rules.iter().find(|r| r.rule_id == "credit-hold").unwrap();
    assert_eq!(r.outcome, Outcome::Fired);
    assert!(r.detail.contains("skipped by jump pace to `agency`"), "{}", r.detail);
    // Already on hold: nothing more to place.
    let held = format!("{ACTIONS}\nA1,C1,,manual-hold,credit_hold,,2026-11-01,2026-11-01,sent\n");
    let l2 = ledger(invoice, &held);
    let got2: Vec<String> = plan(&p, &l2, as_of).iter().map(|a| a.rule_id.clone()).collect();
    assert_eq!(got2, ["agency"]);
    // At 50 days the hold is itself the step jump reaches: one hold, no duplicate.
    let got3: Vec<String> = plan(&p, &l, date("2026-10-27")).iter().map(|a| a.rule_id.clone()).collect();
    assert_eq!(got3, ["credit-hold"]);
}
