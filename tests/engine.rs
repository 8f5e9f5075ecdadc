//! The engine at the evaluation level: the acceptance cases of issue 4 §4 on
//! small hand-built ledgers, with the shipped standard policy where it
//! applies and small policies where a case needs other settings.

use crate::common::{date, repo};
use chrono::{Duration, NaiveDate};
use recoup::engine::{EvalError, Outcome, PlannedAction, RuleKind, Trace, evaluate_customer, evaluate_ledger};
use recoup::facts::{Context, FactsConfig, derive_customer};
use recoup::ledger::inline::{InlineLedger, load_inline};
use recoup::ledger::{ActionKind, Ledger, LoadOptions, load};
use recoup::policy::{self, CompiledPolicy};
use rust_decimal::Decimal;

// ---------------------------------------------------------------- ledgers

/// A customer row with sensible defaults.
struct Cust {
    id: String,
    limit: String,
    segment: String,
    risk: String,
    dnc: bool,
    on_hold: bool,
    consumer: bool,
    /// email, phone, address_line1, city.
    contact: [&'static str; 4],
}

fn cust(id: &str) -> Cust {
    Cust {
        id: id.into(),
        limit: "20000.00".into(),
        segment: "mid_market".into(),
        risk: String::new(),
        dnc: false,
        on_hold: false,
        consumer: false,
        contact: ["ap@example.com", "+1-555-010-0100", "1 Main Street", "Springfield"],
    }
}

impl Cust {
    fn limit(mut self, l: &str) -> Self {
        self.limit = l.into();
        self
    }
    fn dnc(mut self) -> Self {
        self.dnc = true;
        self
    }
    fn consumer(mut self) -> Self {
        self.consumer = true;
        self
    }
    /// Its email, phone, address line and city (empty: none).
    fn contact(mut self, c: [&'static str; 4]) -> Self {
        self.contact = c;
        self
    }
    fn row(&self) -> String {
        format!(
            "{id},{id} Ltd,{seg},US,USD,{limit},NET30,700,{risk},owner-01,{dnc},{hold},2020-01-01,{kind},{contact}",
            id = self.id,
            seg = self.segment,
            limit = self.limit,
            risk = self.risk,
            dnc = self.dnc,
            hold = self.on_hold,
            kind = if self.consumer { "consumer" } else { "business" },
            contact = self.contact.join(",")
        )
    }
}

const CUSTOMERS: &str = "customer_id,name,segment,country,currency,credit_limit,payment_terms,credit_score,risk_class,account_owner,do_not_contact,on_hold,opened_on,account_type,email,phone,address_line1,city";
const INVOICES: &str =
    "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,disputed_since,dispute_reason";
const PAYMENTS: &str = "payment_id,customer_id,invoice_id,paid_on,amount";
const PROMISES: &str = "promise_id,customer_id,invoice_id,made_on,due_on,amount,plan_id";
const ACTIONS: &str = "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome";

/// A day relative to a date.
fn day(base: &str, n: i64) -> NaiveDate {
    date(base) + Duration::days(n)
}

#[derive(Default, Clone)]
struct Book {
    customers: Vec<String>,
    invoices: Vec<String>,
    payments: Vec<String>,
    promises: Vec<String>,
    actions: Vec<String>,
}

impl Book {
    fn customer(mut self, c: Cust) -> Self {
        self.customers.push(c.row());
        self
    }
    /// An open invoice due on `due`, issued 30 days before.
    fn invoice(self, id: &str, c: &str, due: NaiveDate, amount: &str) -> Self {
        self.invoice_status(id, c, due, amount, amount, "open")
    }
    fn invoice_status(mut self, id: &str, c: &str, due: NaiveDate, amount: &str, open: &str, status: &str) -> Self {
        let issue = due - Duration::days(30);
        self.invoices.push(format!("{id},{c},{issue},{due},USD,{amount},{open},{status},,"));
        self
    }
    /// A paid invoice, settled `late` days after its due date.
    fn paid(mut self, id: &str, c: &str, due: NaiveDate, amount: &str, late: i64) -> Self {
        let issue = due - Duration::days(30);
        self.invoices.push(format!("{id},{c},{issue},{due},USD,{amount},0.00,paid,,"));
        let n = self.payments.len() + 1;
        self.payments.push(format!("P{n},{c},{id},{},{amount}", due + Duration::days(late)));
        self
    }
    fn payment(mut self, c: &str, inv: &str, on: NaiveDate, amount: &str) -> Self {
        let n = self.payments.len() + 1;
        self.payments.push(format!("P{n},{c},{inv},{on},{amount}"));
        self
    }
    fn promise(mut self, c: &str, inv: &str, made: NaiveDate, due: NaiveDate, amount: &str) -> Self {
        let n = self.promises.len() + 1;
        self.promises.push(format!("PR{n},{c},{inv},{made},{due},{amount},"));
        self
    }
    /// An executed action of rule `rule` on `inv` (empty = the whole account).
    fn done(mut self, c: &str, inv: &str, rule: &str, action: &str, on: NaiveDate) -> Self {
        let n = self.actions.len() + 1;
        let channel = match action {
            "email" | "sms" | "call" | "letter" => action,
            _ => "",
        };
        let outcome = if action == "call" { "no_answer" } else { "sent" };
        self.actions.push(format!("A{n},{c},{inv},{rule},{action},{channel},{on},{on},{outcome}"));
        self
    }
    /// One executed message listing `invs`: one row per invoice, as a plan's action is recorded.
    fn message(mut self, c: &str, invs: &[&str], rule: &str, action: &str, on: NaiveDate) -> Self {
        for inv in invs {
            self = self.done(c, inv, rule, action, on);
        }
        self
    }
    /// A decided action that was never executed.
    fn pending(mut self, c: &str, inv: &str, rule: &str, action: &str, on: NaiveDate) -> Self {
        let n = self.actions.len() + 1;
        self.actions.push(format!("A{n},{c},{inv},{rule},{action},,{on},,pending"));
        self
    }
    fn ledger(&self) -> Ledger {
        let join = |h: &str, rows: &[String]| format!("{h}\n{}", rows.join("\n"));
        let (c, i, p, pr, a) = (
            join(CUSTOMERS, &self.customers),
            join(INVOICES, &self.invoices),
            join(PAYMENTS, &self.payments),
            join(PROMISES, &self.promises),
            join(ACTIONS, &self.actions),
        );
        let files =
            InlineLedger { customers: &c, invoices: &i, payments: Some(&p), promises: Some(&pr), actions: Some(&a) };
        load_inline(&files, &LoadOptions::default()).unwrap()
    }
}

// --------------------------------------------------------------- policies

fn standard_text() -> String {
    std::fs::read_to_string(repo("policies/standard/policy.toml")).unwrap()
}

/// The shipped standard policy, with edits (`from`, `to`) to its text.
fn standard_with(edits: &[(&str, &str)]) -> CompiledPolicy {
    let mut text = standard_text();
    for (from, to) in edits {
        assert!(text.contains(from), "standard policy has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    compiled(&text)
}

/// The standard policy on any day (its business-day guardrail is tested on its own).
fn standard() -> CompiledPolicy {
    standard_with(&[("business_days_only = true", "business_days_only = false")])
}

fn compiled(text: &str) -> CompiledPolicy {
    let loaded = policy::load_str("test-policy.toml", text);
    match loaded.policy {
        Some(p) => p,
        None => panic!("{}", loaded.report.render()),
    }
}

// -------------------------------------------------------------------- run

fn results(p: &CompiledPolicy, l: &Ledger, as_of: NaiveDate) -> Vec<Result<Vec<PlannedAction>, EvalError>> {
    evaluate_ledger(p, l, &Context::new(as_of, FactsConfig::default()))
}

fn plan(p: &CompiledPolicy, l: &Ledger, as_of: NaiveDate) -> Vec<PlannedAction> {
    results(p, l, as_of).into_iter().flat_map(|r| r.unwrap()).collect()
}

/// Only the ladder's actions.
fn steps(p: &CompiledPolicy, l: &Ledger, as_of: NaiveDate) -> Vec<PlannedAction> {
    plan(p, l, as_of).into_iter().filter(|a| a.rule_kind == RuleKind::Step).collect()
}

fn explain(p: &CompiledPolicy, l: &Ledger, as_of: NaiveDate, c: &str) -> Trace {
    let ctx = Context::new(as_of, FactsConfig::default());
    let ctx = p.facts_context(&ctx);
    let ix = l.customer_ix(c).unwrap();
    let mut buf = Vec::new();
    let cf = derive_customer(l, ix, &ctx, &mut buf);
    let mut t = Trace::default();
    let _ = evaluate_customer(p, l, &cf, &buf, &ctx.calendar(), Some(&mut t));
    t
}

fn rules(actions: &[PlannedAction]) -> Vec<&str> {
    actions.iter().map(|a| a.rule_id.as_str()).collect()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

const DUE: &str = "2026-09-01";

/// The standard ladder's steps and triggers, in order.
const LADDER: [(&str, &str, i64); 8] = [
    ("pre-due", "email", -3),
    ("first-notice", "email", 1),
    ("second-notice", "email", 14),
    ("call", "call", 21),
    ("final-demand", "letter", 30),
    ("credit-hold", "credit_hold", 45),
    ("agency", "refer_agency", 90),
    ("legal", "refer_legal", 120),
];

/// C1 with one 6,000.00 invoice due on DUE and the first `k` steps executed on their days.
fn walked(k: usize) -> Book {
    let mut b = Book::default().customer(cust("C1")).invoice("I1", "C1", date(DUE), "6000.00");
    for (rule, action, off) in &LADDER[..k] {
        b = b.done("C1", "I1", rule, action, day(DUE, *off));
    }
    b
}

// ------------------------------------------------------------------ cases

/// An email step goes by its `fallback` channels, in order, when the
/// customer has no usable email; with none usable it is planned as
/// undeliverable, with the reason (docs/outbox.md).
#[test]
fn a_step_without_usable_email_falls_back_or_is_undeliverable() {
    let p = standard();
    const DUE: &str = "2026-09-01";
    let due = date(DUE);
    let l = Book::default()
        .customer(cust("C1"))
        .customer(cust("C2").contact(["", "+44 20 7946 0958", "1 Main Street", "Springfield"]))
        .customer(cust("C3").contact(["", "030 1234567", "1 Main Street", "Springfield"]))
        .customer(cust("C4").contact(["not-an-address", "", "", ""]))
        .customer(cust("C5"))
        .done("C5", "", "manual-1", "email", day(DUE, -20))
        .invoice("I1", "C1", due, "1200.00")
        .invoice("I2", "C2", due, "1200.00")
        .invoice("I3", "C3", due, "1200.00")
        .invoice("I4", "C4", due, "1200.00")
        .invoice("I5", "C5", due, "1200.00")
        .ledger();
    // C5's last email bounced.
    let mut l = l;
    for a in &mut l.actions {
        a.outcome = Some(recoup::ledger::Outcome::Bounced);
    }
    l.index();
    let a = steps(&p, &l, day(DUE, 1));
    let got: Vec<(&str, ActionKind, Option<&str>)> =
        a.iter().map(|a| (a.customer_id.as_str(), a.action, a.undeliverable.as_deref())).collect();
    assert_eq!(
        got,
        [
            ("C1", ActionKind::Email, None),
            ("C2", ActionKind::Sms, None),
            ("C3", ActionKind::Letter, None),
            (
                "C4",
                ActionKind::Email,
                Some(
                    "email: email `not-an-address` is not an address, sms: no phone number, letter: no postal address (address_line1 and city)"
                )
            ),
            ("C5", ActionKind::Sms, None),
        ]
    );
    assert!(a.iter().all(|a| a.rule_id == "first-notice"));
    assert!(a[1].reason.ends_with("; sent by sms (email: no email address)"), "{}", a[1].reason);
    assert!(a[2].reason.ends_with("sms: phone `030 1234567` is not an E.164 number)"), "{}", a[2].reason);
    assert!(a[4].reason.ends_with("(email: the last email bounced)"), "{}", a[4].reason);
    // Explain shows it on the step's line.
    let t = explain(&p, &l, day(DUE, 1), "C4");
    let step = t.rules.iter().find(|r| r.rule_id == "first-notice").unwrap();
    assert!(step.detail.contains("undeliverable: email: email `not-an-address`"), "{}", step.detail);
}

/// An offer (a discount, a payment plan) goes by its `fallback` channels as
/// a ladder step does, keeping its kind; with none usable it is planned as
/// undeliverable, with the reason (docs/outbox.md).
#[test]
fn an_offer_without_usable_email_falls_back_or_is_undeliverable() {
    let p = standard_with(&[
        ("template = \"q4-early-pay\"", "template = \"q4-early-pay\"\nfallback = [\"sms\", \"letter\"]"),
        ("template = \"plan-offer\"", "template = \"plan-offer\"\nfallback = [\"letter\"]"),
    ]);
    // Q4 discount: three customers who pay on time, each with a current 2,000.00 invoice.
    let mut b = Book::default();
    let contacts = [
        ("C1", ["ap@example.com", "+1-555-010-0100", "1 Main Street", "Springfield"]),
        ("C2", ["", "+1-555-010-0100", "1 Main Street", "Springfield"]),
        ("C3", ["", "", "", ""]),
    ];
    for (k, (id, contact)) in contacts.iter().enumerate() {
        b = b.customer(cust(id).contact(*contact)).invoice(&format!("I{k}"), id, date("2026-12-28"), "2000.00").paid(
            &format!("H{k}"),
            id,
            date("2026-05-01"),
            "900.00",
            0,
        );
    }
    let a = plan(&p, &b.ledger(), date("2026-11-16"));
    let got: Vec<(&str, ActionKind, Option<&str>, Option<&str>)> = a
        .iter()
        .map(|a| (a.customer_id.as_str(), a.action, a.channel.map(|c| c.as_str()), a.undeliverable.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("C1", ActionKind::DiscountOffer, Some("email"), None),
            ("C2", ActionKind::DiscountOffer, Some("sms"), None),
            (
                "C3",
                ActionKind::DiscountOffer,
                Some("email"),
                Some(
                    "email: no email address, sms: no phone number, letter: no postal address (address_line1 and city)"
                )
            ),
        ]
    );
    assert!(a[1].reason.ends_with("; sent by sms (email: no email address)"), "{}", a[1].reason);
    assert_eq!(a[1].rule_id, "q4-early-pay");
    // Payment plan: 3,000.00 overdue 40 days; no email, so by letter; nothing else either, undeliverable.
    let due = date("2026-10-07");
    let mut b = Book::default();
    for (k, (id, contact)) in
        [("C4", ["", "", "1 Main Street", "Springfield"]), ("C5", ["", "", "", ""])].iter().enumerate()
    {
        b = b.customer(cust(id).contact(*contact)).invoice(&format!("J{k}"), id, due, "3000.00");
    }
    let offers: Vec<PlannedAction> = plan(&p, &b.ledger(), date("2026-11-16"))
        .into_iter()
        .filter(|a| a.action == ActionKind::PaymentPlanOffer)
        .collect();
    let got: Vec<(&str, Option<&str>, Option<&str>)> = offers
        .iter()
        .map(|a| (a.customer_id.as_str(), a.channel.map(|c| c.as_str()), a.undeliverable.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("C4", Some("letter"), None),
            ("C5", Some("email"), Some("email: no email address, letter: no postal address (address_line1 and city)")),
        ]
    );
    // Without `fallback` an offer stays on its channel: undeliverable.
    let a = plan(&standard(), &b.ledger(), date("2026-11-16"));
    let c4 = a.iter().find(|a| a.customer_id == "C4" && a.action == ActionKind::PaymentPlanOffer).unwrap();
    assert_eq!(c4.undeliverable.as_deref(), Some("email: no email address"));
}

#[test]
fn pre_due_reminder() {
    let p = standard();
    let l = Book::default()
        .customer(cust("C1"))
        .invoice("I1", "C1", date("2026-09-10"), "1200.00")
        .customer(cust("C2"))
        .invoice("I2", "C2", date("2026-09-10"), "50.00")
        .ledger();
    let a = steps(&p, &l, date("2026-09-07"));
    assert_eq!(rules(&a), ["pre-due"], "{a:#?}");
    assert_eq!(a[0].customer_id, "C1");
    assert_eq!(a[0].action, ActionKind::Email);
    assert_eq!(a[0].invoice_ids, ["I1"]);
    assert_eq!(a[0].template.as_deref(), Some("pre-due-reminder"));
    assert_eq!(a[0].reason, "due in 3 days, 1,200.00 coming due: step pre-due");
    assert!(steps(&p, &l, date("2026-09-06")).is_empty());
    // Missed: once the invoice is past due the reminder is passed over.
    let late: Vec<PlannedAction> =
        steps(&p, &l, date("2026-09-11")).into_iter().filter(|a| a.customer_id == "C1").collect();
    assert_eq!(rules(&late), ["first-notice"]);
}

#[test]
fn each_ladder_step_at_its_threshold_and_not_the_day_before() {
    let p = standard();
    for (k, (rule, action, off)) in LADDER.iter().enumerate() {
        let l = walked(k).ledger();
        let at = steps(&p, &l, day(DUE, *off));
        assert_eq!(rules(&at), [*rule], "on its day");
        assert_eq!(at[0].action.as_str(), *action);
        assert_eq!(at[0].invoice_ids, ["I1"]);
        let before = steps(&p, &l, day(DUE, off - 1));
        assert!(before.is_empty(), "{rule} one day early: {before:#?}");
    }
}

#[test]
fn a_missed_run_catches_up() {
    let p = standard();
    let l = walked(2).ledger();
    // second-notice is due on day 14; the run of day 14 and 15 did not happen.
    assert_eq!(rules(&steps(&p, &l, day(DUE, 16))), ["second-notice"]);
}

#[test]
fn sequential_and_jump_on_a_customer_70_days_late_never_contacted() {
    let l = Book::default().customer(cust("C1")).invoice("I1", "C1", day(DUE, -70), "3000.00").ledger();
    let seq = steps(&standard(), &l, date(DUE));
    assert_eq!(rules(&seq), ["first-notice"]);
    let jump = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("pace = \"sequential\"", "pace = \"jump\""),
    ]);
    let j = steps(&jump, &l, date(DUE));
    assert_eq!(rules(&j), ["credit-hold"]);
    assert!(j[0].hold);
}

#[test]
fn a_disputed_invoice_is_never_dunned_while_the_others_are() {
    let l = Book::default()
        .customer(cust("C1"))
        .invoice_status("I1", "C1", day(DUE, -40), "900.00", "900.00", "disputed")
        .invoice("I2", "C1", day(DUE, -20), "700.00")
        .ledger();
    let a = steps(&standard(), &l, date(DUE));
    assert_eq!(rules(&a), ["first-notice"]);
    assert_eq!(a[0].invoice_ids, ["I2"]);
    assert_eq!(a[0].amount_due, dec("700.00"));
    let t = explain(&standard(), &l, date(DUE), "C1");
    let i1 = t.invoices.iter().find(|i| i.id == "I1").unwrap();
    assert!(!i1.eligible && i1.note.contains("disputed"), "{i1:?}");
    // Forty more days: I2 moves up the ladder; I1 is still never listed.
    for n in 1..=40 {
        for x in steps(&standard(), &l, day(DUE, n)) {
            assert!(!x.invoice_ids.contains(&"I1".to_string()), "day {n}: {x:?}");
        }
    }
}

#[test]
fn an_active_promise_pauses_and_a_broken_one_resumes() {
    let b = Book::default()
        .customer(cust("C1"))
        .invoice("I1", "C1", date(DUE), "1500.00")
        .done("C1", "I1", "first-notice", "email", day(DUE, 1))
        .promise("C1", "I1", day(DUE, 10), day(DUE, 25), "1500.00");
    let l = b.ledger();
    assert!(steps(&standard(), &l, day(DUE, 20)).is_empty(), "promise active: paused");
    let t = explain(&standard(), &l, day(DUE, 20), "C1");
    assert!(t.invoices[0].note.contains("promise"), "{:?}", t.invoices);
    // The promise fell due unpaid: escalation resumes where it stood.
    assert_eq!(rules(&steps(&standard(), &l, day(DUE, 26))), ["second-notice"]);
    // Kept (paid in time): nothing left to dun.
    let mut kept = b.clone().payment("C1", "I1", day(DUE, 24), "1500.00");
    kept.invoices[0] = format!("I1,C1,{},{DUE},USD,1500.00,0.00,paid,,", day(DUE, -30));
    assert!(steps(&standard(), &kept.ledger(), day(DUE, 26)).is_empty());
}

#[test]
fn a_payment_plan_pauses_escalation_while_kept() {
    let mut b = Book::default().customer(cust("C1")).invoice("I1", "C1", date(DUE), "3000.00").done(
        "C1",
        "I1",
        "first-notice",
        "email",
        day(DUE, 1),
    );
    for (n, d) in [(1, 20), (2, 50), (3, 80)] {
        b.promises.push(format!("PL{n},C1,,{},{},1000.00,PLAN1", day(DUE, 5), day(DUE, d)));
    }
    let mut kept = b.clone().payment("C1", "I1", day(DUE, 19), "1000.00");
    kept.invoices[0] = format!("I1,C1,{},{DUE},USD,3000.00,2000.00,open,,", day(DUE, -30));
    let kept = kept.ledger();
    assert!(steps(&standard(), &kept, day(DUE, 30)).is_empty(), "plan kept: paused");
    let missed = b.ledger();
    assert_eq!(rules(&steps(&standard(), &missed, day(DUE, 30))), ["second-notice"], "instalment missed: resumes");
}

#[test]
fn the_contact_cap_suppresses_and_says_so() {
    let l = Book::default()
        .customer(cust("C1"))
        .invoice("I1", "C1", date(DUE), "1000.00")
        .done("C1", "", "manual-1", "email", day(DUE, -5))
        .done("C1", "", "manual-2", "call", day(DUE, -3))
        .done("C1", "", "manual-3", "email", day(DUE, -1))
        .ledger();
    assert!(steps(&standard(), &l, day(DUE, 1)).is_empty());
    let t = explain(&standard(), &l, day(DUE, 1), "C1");
    let r = t.rules.iter().find(|r| r.rule_id == "first-notice").unwrap();
    assert_eq!(r.outcome, Outcome::Suppressed);
    assert_eq!(r.guardrail.as_deref(), Some("max_contacts_per_7_days"));
    // A week later the cap has room again.
    assert_eq!(rules(&steps(&standard(), &l, day(DUE, 5))), ["first-notice"]);
}

/// The cap counts messages: an email listing nine invoices (nine rows of
/// actions.csv) is one contact, and so is a discount offer listing three.
#[test]
fn the_contact_cap_counts_messages_not_rows() {
    const NINE: [&str; 9] = ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9"];
    let mut b = Book::default().customer(cust("C1"));
    for id in NINE {
        b = b.invoice(id, "C1", date(DUE), "100.00");
    }
    let b = b.message("C1", &NINE, "manual-1", "email", day(DUE, -5)).message(
        "C1",
        &NINE[..3],
        "q4-discount",
        "discount_offer",
        day(DUE, -3),
    );
    let l = b.ledger();
    let ctx = Context::new(day(DUE, 1), FactsConfig::default());
    let cf = derive_customer(&l, 0, &ctx, &mut Vec::new());
    assert_eq!(cf.contacts_7d, 1);
    // 1 contact + 1 offer in 7 days, under the cap of 3: the first notice lists all nine invoices.
    let a = steps(&standard(), &l, day(DUE, 1));
    assert_eq!(rules(&a), ["first-notice"]);
    assert_eq!(a[0].invoice_ids.len(), 9);
    // A third message (a call listing nine invoices) reaches the cap.
    let l = b.message("C1", &NINE, "manual-2", "call", day(DUE, -1)).ledger();
    assert!(steps(&standard(), &l, day(DUE, 1)).is_empty());
    let t = explain(&standard(), &l, day(DUE, 1), "C1");
    let r = t.rules.iter().find(|r| r.rule_id == "first-notice").unwrap();
    assert_eq!(r.guardrail.as_deref(), Some("max_contacts_per_7_days"));
    assert!(r.detail.ends_with("suppressed: 3 contacts in the last 7 days (at most 3)"), "{}", r.detail);
}

/// The standard policy with every ladder `grouping = "invoice"` (one
/// message per invoice) and `trigger = "each"` (every invoice has its own
/// position), on any day.
fn per_invoice() -> CompiledPolicy {
    standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("grouping = \"customer\"", "grouping = \"invoice\""),
        ("trigger = \"oldest\"", "trigger = \"each\""),
    ])
}

const FIVE: [&str; 5] = ["I1", "I2", "I3", "I4", "I5"];

/// C1 with five 400.00 invoices due on DUE.
fn five_invoices() -> Book {
    let mut b = Book::default().customer(cust("C1"));
    for id in FIVE {
        b = b.invoice(id, "C1", date(DUE), "400.00");
    }
    b
}

/// C1's contacts in the last 7 days as of `as_of`, its facts derived as
/// `p`'s run derives them.
fn contacts_7d(p: &CompiledPolicy, l: &Ledger, as_of: NaiveDate) -> u32 {
    let ctx = Context::new(as_of, FactsConfig::default());
    derive_customer(l, 0, &p.facts_context(&ctx), &mut Vec::new()).contacts_7d
}

/// Under `grouping = "invoice"` a step sends one message per invoice, and
/// each is a contact: with no contact in 7 days and a cap of 3, the first
/// notice goes for three of five invoices and the other two are suppressed
/// by the cap, with its reason.
#[test]
fn a_per_invoice_step_sends_one_contact_per_invoice() {
    let p = per_invoice();
    let ids = [
        "agency",
        "call",
        "credit-hold",
        "escalate-owner",
        "final-demand",
        "first-notice",
        "legal",
        "pre-due",
        "pre-due-sms",
        "second-notice",
        "statement",
    ];
    assert_eq!(p.per_invoice.iter().collect::<Vec<_>>(), ids);
    assert!(p.per_invoice.contains("first-notice") && !p.per_invoice.contains("q4-early-pay"));
    let l = five_invoices().ledger();
    let a = steps(&p, &l, day(DUE, 1));
    assert_eq!(rules(&a), ["first-notice"; 3]);
    let listed: Vec<&str> = a.iter().flat_map(|a| a.invoice_ids.iter().map(String::as_str)).collect();
    assert_eq!(listed, ["I1", "I2", "I3"]);
    let t = explain(&p, &l, day(DUE, 1), "C1");
    let notices: Vec<_> = t.rules.iter().filter(|r| r.rule_id == "first-notice").collect();
    assert_eq!(notices.len(), 5);
    for (r, outcome) in notices.iter().zip([Outcome::Fired, Outcome::Fired, Outcome::Fired]) {
        assert_eq!(r.outcome, outcome, "{r:?}");
    }
    for r in &notices[3..] {
        assert_eq!(r.outcome, Outcome::Suppressed, "{r:?}");
        assert_eq!(r.guardrail.as_deref(), Some("max_contacts_per_7_days"));
        assert!(r.detail.ends_with("suppressed: 3 contacts in the last 7 days (at most 3)"), "{}", r.detail);
    }
    // Under the shipped grouping the same step is one email listing the five.
    let a = steps(&standard(), &l, day(DUE, 1));
    assert_eq!(rules(&a), ["first-notice"]);
    assert_eq!(a[0].invoice_ids, FIVE);
}

/// Recorded, a per-invoice step's five emails of one day (five rows) are
/// five contacts; the same five rows from a customer-grouped step are one
/// email listing five invoices. With five contacts the cap of 3 holds the
/// first notice of a sixth invoice back; with one it goes.
#[test]
fn the_history_counts_a_per_invoice_steps_rows_one_contact_each() {
    let b = five_invoices().message("C1", &FIVE, "first-notice", "email", day(DUE, 1));
    let l = b.ledger();
    assert_eq!(contacts_7d(&per_invoice(), &l, day(DUE, 2)), 5);
    assert_eq!(contacts_7d(&standard(), &l, day(DUE, 2)), 1);
    // Without a policy (`recoup facts`) rows group by message.
    let ctx = Context::new(day(DUE, 2), FactsConfig::default());
    assert_eq!(derive_customer(&l, 0, &ctx, &mut Vec::new()).contacts_7d, 1);
    // A sixth invoice, due a day later, reaches its first notice on DUE + 2.
    let l = b.invoice("I6", "C1", day(DUE, 1), "400.00").ledger();
    assert!(steps(&per_invoice(), &l, day(DUE, 2)).is_empty());
    // The batch run, given a context without the policy's per-invoice steps, counts so too.
    let run = recoup::plan::evaluate(&l, &per_invoice(), &Context::new(day(DUE, 2), FactsConfig::default())).unwrap();
    assert!(run.entries.iter().all(|e| e.action.rule_kind != RuleKind::Step), "{:?}", run.entries);
    let t = explain(&per_invoice(), &l, day(DUE, 2), "C1");
    let r = t.rules.iter().find(|r| r.rule_id == "first-notice" && r.outcome != Outcome::NotFired);
    let r = r.unwrap_or_else(|| panic!("{:#?}", t.rules));
    assert_eq!(r.guardrail.as_deref(), Some("max_contacts_per_7_days"), "{r:?}");
    assert!(r.detail.ends_with("suppressed: 5 contacts in the last 7 days (at most 3)"), "{}", r.detail);
    // Customer-grouped (each invoice its own position): one contact, I6's notice goes.
    let grouped = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("trigger = \"oldest\"", "trigger = \"each\""),
    ]);
    let a = steps(&grouped, &l, day(DUE, 2));
    assert_eq!(rules(&a), ["first-notice"]);
    assert_eq!(a[0].invoice_ids, ["I6"]);
}

/// Per-invoice and grouped rows together, out of order: a per-invoice
/// step's rows count once per invoice (a row repeated for the same invoice
/// is the same message), any other rule's rows once per message.
#[test]
fn per_invoice_and_grouped_rows_count_together() {
    let b = five_invoices()
        // Per-invoice first notices of I1, I2 and I3, I1's row twice.
        .done("C1", "I1", "first-notice", "email", day(DUE, 1))
        .done("C1", "I2", "first-notice", "email", day(DUE, 1))
        // A manual email listing I1-I4 (not a ladder step): one message.
        .message("C1", &["I1", "I2", "I3", "I4"], "manual-1", "email", day(DUE, 1))
        .done("C1", "I1", "first-notice", "email", day(DUE, 1))
        // An earlier day's row after these (out of date order).
        .done("C1", "I4", "second-notice", "email", day(DUE, -1))
        .done("C1", "I3", "first-notice", "email", day(DUE, 1))
        // The second notice of I5 by the same rule and day as I4's: per invoice.
        .done("C1", "I5", "second-notice", "email", day(DUE, -1));
    let l = b.ledger();
    // first-notice: I1, I2, I3 = 3; manual-1: 1; second-notice: I4, I5 = 2.
    assert_eq!(contacts_7d(&per_invoice(), &l, day(DUE, 2)), 6);
    // Customer-grouped: first-notice 1, manual-1 1, second-notice 1.
    assert_eq!(contacts_7d(&standard(), &l, day(DUE, 2)), 3);
    // Only the light ladder per invoice: its steps' ids (first-notice,
    // statement) count per invoice in every ladder; second-notice does not.
    let light = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("id = \"light\"", "id = \"light\"\ngrouping = \"invoice\""),
    ]);
    assert_eq!(light.per_invoice.iter().collect::<Vec<_>>(), ["first-notice", "statement"]);
    assert_eq!(contacts_7d(&light, &l, day(DUE, 2)), 5);
}

/// Regulation F counts a per-invoice call step's calls one per invoice:
/// seven calls of the `call` step yesterday on seven (since paid) invoices
/// are seven calls, and the consumer gets no eighth; grouped, they would be
/// one call.
#[test]
fn regulation_f_counts_a_per_invoice_call_steps_calls() {
    let edits = [
        ("business_days_only = true", "business_days_only = false"),
        ("max_contacts_per_7_days = 3", "max_contacts_per_7_days = 20"),
    ];
    let grouped = standard_with(&edits);
    let p = standard_with(&[edits[0], edits[1], ("grouping = \"customer\"", "grouping = \"invoice\"")]);
    let mut b = walked(3);
    b.customers[0] = cust("C1").consumer().row();
    for k in 1..=7 {
        let id = format!("P{k}");
        b = b.paid(&id, "C1", date(DUE), "100.00", 20).done("C1", &id, "call", "call", day(DUE, 20));
    }
    let l = b.ledger();
    let ctx = Context::new(day(DUE, 21), FactsConfig::default());
    assert_eq!(derive_customer(&l, 0, &p.facts_context(&ctx), &mut Vec::new()).calls_7d, 7);
    assert_eq!(derive_customer(&l, 0, &grouped.facts_context(&ctx), &mut Vec::new()).calls_7d, 1);
    assert!(steps(&p, &l, day(DUE, 21)).is_empty());
    let t = explain(&p, &l, day(DUE, 21), "C1");
    let r = t.rules.iter().find(|r| r.rule_id == "call").unwrap();
    assert_eq!(r.guardrail.as_deref(), Some("regulation_f"), "{r:?}");
    assert!(r.detail.ends_with("7 calls in 7 days (Regulation F: at most 7)"), "{}", r.detail);
    assert_eq!(rules(&steps(&grouped, &l, day(DUE, 21))), ["call"]);
}

#[test]
fn do_not_contact_gets_no_contact_but_still_the_hold() {
    let l = Book::default().customer(cust("C1").dnc()).invoice("I1", "C1", date(DUE), "1000.00").ledger();
    assert!(plan(&standard(), &l, day(DUE, 10)).is_empty());
    let a = steps(&standard(), &l, day(DUE, 50));
    assert_eq!(rules(&a), ["credit-hold"]);
    let t = explain(&standard(), &l, day(DUE, 50), "C1");
    let first = t.rules.iter().find(|r| r.rule_id == "first-notice").unwrap();
    assert!(first.detail.contains("do-not-contact"), "{first:?}");
}

#[test]
fn a_fee_is_charged_once_across_three_runs() {
    let p = standard();
    let b = walked(4);
    // Run 1, day 30: the final demand with its fee and interest.
    let r1 = steps(&p, &b.ledger(), day(DUE, 30));
    assert_eq!(rules(&r1), ["final-demand"]);
    assert_eq!(r1[0].fee, dec("25.00"));
    // 6,000.00 × 12 % / 365 × 30 days
    assert_eq!(r1[0].interest, dec("59.18"));
    // Not executed yet: the next run plans it again, fee included (it was never charged).
    let pending = b.clone().pending("C1", "I1", "final-demand", "letter", day(DUE, 30)).ledger();
    assert_eq!(steps(&p, &pending, day(DUE, 31))[0].fee, dec("25.00"));
    // Executed: run 2 has nothing, run 3 moves on without a fee.
    let after = b.done("C1", "I1", "final-demand", "letter", day(DUE, 30)).ledger();
    assert!(steps(&p, &after, day(DUE, 31)).is_empty());
    let r3 = steps(&p, &after, day(DUE, 45));
    assert_eq!(rules(&r3), ["credit-hold"]);
    let total: Decimal = r1.iter().chain(&r3).map(|a| a.fee).sum();
    assert_eq!(total, dec("25.00"));
}

#[test]
fn a_fee_is_charged_once_under_jump_pace_too() {
    let p = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("pace = \"sequential\"", "pace = \"jump\""),
    ]);
    let b = Book::default().customer(cust("C1")).invoice("I1", "C1", date(DUE), "1000.00");
    let r1 = steps(&p, &b.ledger(), day(DUE, 40));
    assert_eq!(rules(&r1), ["final-demand"]);
    assert_eq!(r1[0].fee, dec("25.00"));
    let b = b.done("C1", "I1", "final-demand", "letter", day(DUE, 40));
    assert!(steps(&p, &b.ledger(), day(DUE, 41)).is_empty());
    let r3 = steps(&p, &b.ledger(), day(DUE, 46));
    assert_eq!(rules(&r3), ["credit-hold"]);
    assert_eq!(r3[0].fee, Decimal::ZERO);
}

const SMALL: &str = r#"
[policy]
name = "small"
version = "1"
pace = "jump"

[interest]
regime = "simple"
rate_pct = "10"

[[ladder]]
id = "l"

[[ladder.step]]
id = "letter"
days_past_due = 15
action = "letter"
template = "t"
interest = true
"#;

#[test]
fn per_day_interest_100_at_10_percent_15_days_is_0_41() {
    let l = Book::default().customer(cust("C1")).invoice("I1", "C1", date(DUE), "100.00").ledger();
    let a = plan(&compiled(SMALL), &l, day(DUE, 15));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].interest, dec("0.41"));
    assert!(a[0].reason.ends_with("interest 0.41"), "{}", a[0].reason);
}

#[test]
fn statutory_compensation_is_claimed_once_per_invoice() {
    let uk = SMALL
        .replace("regime = \"simple\"\nrate_pct = \"10\"", "regime = \"uk_late_payment\"\nreference_rate_pct = \"4.0\"")
        .replace("interest = true", "interest = true\ncompensation = true");
    let p = compiled(&uk);
    let b = Book::default()
        .customer(cust("C1"))
        .invoice("I1", "C1", date(DUE), "500.00")
        .invoice("I2", "C1", date(DUE), "5000.00")
        .invoice("I3", "C1", date(DUE), "20000.00");
    let a = plan(&p, &b.ledger(), day(DUE, 20));
    assert_eq!(a[0].compensation, dec("210"), "40 + 70 + 100");
    // 25,500.00 × 12 % / 365 × 20, per invoice in cents: 3.29 + 32.88 + 131.51
    assert_eq!(a[0].interest, dec("167.68"));
}

#[test]
fn an_agency_referral_stops_further_dunning() {
    let b = walked(7).invoice("I2", "C1", day(DUE, 95), "800.00");
    let l = b.ledger();
    for n in [96, 100, 110, 119] {
        let a = plan(&standard(), &l, day(DUE, n));
        assert!(a.iter().all(|x| !x.is_customer_facing()), "day {n}: {a:#?}");
        assert!(a.iter().all(|x| x.rule_kind != RuleKind::Step), "day {n}: {a:#?}");
    }
    // The ladder ends with the lawyer, not with another reminder.
    assert_eq!(rules(&steps(&standard(), &l, day(DUE, 120))), ["legal"]);
}

#[test]
fn a_credit_hold_is_placed_at_its_threshold_and_released_after_payment() {
    let p = standard();
    let held = steps(&p, &walked(5).ledger(), day(DUE, 45));
    assert_eq!(rules(&held), ["credit-hold"]);
    assert!(held[0].hold);
    // The hold was executed; then the customer paid.
    let mut b = walked(6);
    b.invoices[0] = format!("I1,C1,{},{DUE},USD,6000.00,0.00,paid,,", day(DUE, -30));
    let b = b.payment("C1", "I1", day(DUE, 48), "6000.00");
    let a = plan(&p, &b.ledger(), day(DUE, 50));
    assert_eq!(rules(&a), ["release-hold"], "{a:#?}");
    assert_eq!(a[0].action, ActionKind::ReleaseHold);
    // Still unpaid: the hold stays.
    let unpaid = plan(&p, &walked(6).ledger(), day(DUE, 50));
    assert!(unpaid.iter().all(|x| x.action != ActionKind::ReleaseHold));
}

#[test]
fn a_limit_decrease_stops_at_its_floor() {
    // Utilization 0.95 and 20 days late on average: shrink-risky, 20 % down, floor 1,000.
    let l = Book::default()
        .customer(cust("C1").limit("1100.00"))
        .invoice("I1", "C1", date("2026-12-20"), "1045.00")
        .paid("H1", "C1", date("2026-06-01"), "500.00", 20)
        .paid("H2", "C1", date("2026-07-01"), "500.00", 20)
        .ledger();
    let a = plan(&standard(), &l, date(DUE));
    assert_eq!(rules(&a), ["shrink-risky"], "{a:#?}");
    assert_eq!(a[0].action, ActionKind::LimitChange);
    assert_eq!(a[0].old_limit, Some(dec("1100.00")));
    assert_eq!(a[0].new_limit, Some(dec("1000.00")), "880 rounds to 900, the floor lifts it to 1,000");
    assert_eq!(a[0].review_on, Some(day(DUE, 90)));
    // Applied: not again within 90 days.
    let l2 = Book::default()
        .customer(cust("C1").limit("1100.00"))
        .invoice("I1", "C1", date("2026-12-20"), "1045.00")
        .paid("H1", "C1", date("2026-06-01"), "500.00", 20)
        .paid("H2", "C1", date("2026-07-01"), "500.00", 20)
        .done("C1", "", "shrink-risky", "limit_change", day(DUE, -10))
        .ledger();
    assert!(plan(&standard(), &l2, date(DUE)).is_empty());
}

#[test]
fn a_limit_increase_stops_at_its_cap() {
    let p = compiled(
        r#"
[policy]
name = "grow"
version = "1"

[[limit]]
id = "grow"
change = "raise"
when = "customer.utilization > 0.7"
by_pct = "10"
cap = "10500.00"
"#,
    );
    let l = Book::default()
        .customer(cust("C1").limit("10000.00"))
        .invoice("I1", "C1", date("2026-12-20"), "8000.00")
        .ledger();
    let a = plan(&p, &l, date(DUE));
    assert_eq!(a[0].old_limit, Some(dec("10000.00")));
    assert_eq!(a[0].new_limit, Some(dec("10500.00")), "11,000 capped at 10,500");
    assert!(a[0].reason.contains("10,000.00 → 10,500.00"), "{}", a[0].reason);
}

#[test]
fn the_q4_incentive_is_offered_only_in_q4() {
    let b = Book::default()
        .customer(cust("C1"))
        .invoice("I1", "C1", date("2026-12-28"), "2000.00")
        .paid("H1", "C1", date("2026-05-01"), "900.00", -2)
        .paid("H2", "C1", date("2026-06-01"), "900.00", 0);
    let l = b.ledger();
    let q4 = plan(&standard(), &l, date("2026-11-16"));
    assert_eq!(rules(&q4), ["q4-early-pay"], "{q4:#?}");
    assert_eq!(q4[0].action, ActionKind::DiscountOffer);
    assert_eq!(q4[0].discount, dec("40.00"));
    assert_eq!(q4[0].discount_cost, dec("40.00"));
    assert_eq!(q4[0].pay_by, Some(date("2026-11-26")));
    let mut aug = b.clone();
    aug.invoices[0] = "I1,C1,2026-07-20,2026-09-28,USD,2000.00,2000.00,open,,".into();
    assert!(plan(&standard(), &aug.ledger(), date("2026-08-17")).is_empty());
    let t = explain(&standard(), &aug.ledger(), date("2026-08-17"), "C1");
    let r = t.rules.iter().find(|r| r.rule_id == "q4-early-pay").unwrap();
    assert!(r.detail.contains("Q4"), "{r:?}");
}

#[test]
fn a_rhai_error_in_one_customer_is_reported_with_customer_and_rule() {
    let p = compiled(
        r#"
[policy]
name = "fragile"
version = "1"

[[strategy]]
id = "few-late"
when = "1000 / customer.overdue_count > 100"
ladder = "l"

[[ladder]]
id = "l"

[[ladder.step]]
id = "first-notice"
days_past_due = 1
action = "email"
template = "t"
"#,
    );
    let l = Book::default()
        .customer(cust("C1"))
        .invoice("I1", "C1", date(DUE), "1000.00")
        .customer(cust("C2"))
        .invoice("I2", "C2", date("2026-12-20"), "1000.00")
        .ledger();
    let r = results(&p, &l, day(DUE, 3));
    assert_eq!(rules(r[0].as_ref().unwrap()), ["first-notice"]);
    let e = r[1].as_ref().unwrap_err();
    assert_eq!((e.customer_id.as_str(), e.rule_id.as_str(), e.rule_kind), ("C2", "few-late", RuleKind::Strategy));
    assert!(e.message.contains("zero"), "{e}");
    assert_eq!(e.location.as_deref(), Some("test-policy.toml:8:14"));
    assert_eq!(
        e.to_string(),
        format!("strategy `few-late` failed for customer `C2`: {} (at test-policy.toml:8:14)", e.message)
    );
    assert_eq!(p.on_script_error(), policy::compile::OnError::Skip);
}

#[test]
fn a_runaway_script_is_stopped_and_reported() {
    let p = policy::compile_path(&repo("fixtures/engine/runaway")).unwrap().0;
    let l = Book::default().customer(cust("C1")).invoice("I1", "C1", date(DUE), "1000.00").ledger();
    let r = results(&p, &l, day(DUE, 3));
    let e = r[0].as_ref().unwrap_err();
    assert_eq!(e.rule_id, "first-notice");
    assert!(e.message.contains("too many operations"), "{e}");
}

#[test]
fn grouping_per_invoice_gives_one_action_per_invoice() {
    let p = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("grouping = \"customer\"", "grouping = \"invoice\""),
        ("max_contacts_per_7_days = 3", "max_contacts_per_7_days = 10"),
    ]);
    let l = Book::default()
        .customer(cust("C1"))
        .invoice("I1", "C1", date(DUE), "400.00")
        .invoice("I2", "C1", date(DUE), "500.00")
        .ledger();
    let a = steps(&p, &l, day(DUE, 2));
    assert_eq!(rules(&a), ["first-notice", "first-notice"]);
    assert_eq!(a[0].invoice_ids, ["I1"]);
    assert_eq!(a[1].invoice_ids, ["I2"]);
    let grouped = steps(&standard(), &l, day(DUE, 2));
    assert_eq!(grouped.len(), 1);
    assert_eq!(grouped[0].invoice_ids, ["I1", "I2"]);
    assert_eq!(grouped[0].amount_due, dec("900.00"));
}

#[test]
fn contacts_wait_for_a_business_day() {
    let p = standard_with(&[]);
    let l = Book::default().customer(cust("C1")).invoice("I1", "C1", date("2026-11-13"), "1000.00").ledger();
    // 2026-11-14 is a Saturday, 2026-11-16 a Monday.
    assert!(steps(&p, &l, date("2026-11-14")).is_empty());
    assert_eq!(rules(&steps(&p, &l, date("2026-11-16"))), ["first-notice"]);
}

#[test]
fn regulation_f_limits_calls_to_consumers() {
    let b = walked(3);
    let mut consumer = b.clone();
    consumer.customers[0] = cust("C1").consumer().row();
    // A conversation 3 days before the call step: no call for a consumer.
    let with_talk = |mut b: Book| {
        b.actions.push(format!("T1,C1,I1,manual,call,call,{d},{d},answered", d = day(DUE, 18)));
        b.ledger()
    };
    assert!(steps(&standard(), &with_talk(consumer.clone()), day(DUE, 21)).is_empty());
    let t = explain(&standard(), &with_talk(consumer), day(DUE, 21), "C1");
    let r = t.rules.iter().find(|r| r.rule_id == "call").unwrap();
    assert_eq!(r.guardrail.as_deref(), Some("regulation_f"), "{r:?}");
    // A business account is not under Regulation F.
    assert_eq!(rules(&steps(&standard(), &with_talk(b), day(DUE, 21))), ["call"]);
}

/// Regulation F counts call attempts, not rows: six calls listing three
/// invoices each (18 rows) leave room for a seventh; seven do not.
#[test]
fn regulation_f_counts_calls_not_rows() {
    let p = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("max_contacts_per_7_days = 3", "max_contacts_per_7_days = 10"),
    ]);
    let mut b = walked(3).invoice("I2", "C1", date(DUE), "100.00").invoice("I3", "C1", date(DUE), "100.00");
    b.customers[0] = cust("C1").consumer().row();
    let calls = |n: i64| {
        let mut b = b.clone();
        for d in 0..n {
            // Two a day (two rules), from the day before the call step back.
            b = b.message("C1", &["I1", "I2", "I3"], &format!("manual-call-{d}"), "call", day(DUE, 20 - d / 2));
        }
        b.ledger()
    };
    let ctx = Context::new(day(DUE, 21), FactsConfig::default());
    assert_eq!(derive_customer(&calls(6), 0, &ctx, &mut Vec::new()).calls_7d, 6);
    assert_eq!(rules(&steps(&p, &calls(6), day(DUE, 21))), ["call"]);
    assert!(steps(&p, &calls(7), day(DUE, 21)).is_empty());
    let t = explain(&p, &calls(7), day(DUE, 21), "C1");
    let r = t.rules.iter().find(|r| r.rule_id == "call").unwrap();
    assert_eq!(r.guardrail.as_deref(), Some("regulation_f"), "{r:?}");
    assert!(r.detail.ends_with("7 calls in 7 days (Regulation F: at most 7)"), "{}", r.detail);
}

#[test]
fn explain_traces_every_rule_of_the_strategy_in_order() {
    let l = walked(4).ledger();
    let t = explain(&standard(), &l, day(DUE, 30), "C1");
    assert_eq!(t.strategy.as_deref(), Some("default"));
    assert_eq!(t.ladder.as_deref(), Some("standard"));
    let ids: Vec<&str> = t.rules.iter().filter(|r| r.kind == RuleKind::Step).map(|r| r.rule_id.as_str()).collect();
    // The ladder's steps in order: LADDER plus the SMS reminder (not walked: C1 asked for no SMS).
    let mut want: Vec<&str> = LADDER.iter().map(|s| s.0).collect();
    want.insert(1, "pre-due-sms");
    assert_eq!(ids, want);
    let fired: Vec<&str> = t.rules.iter().filter(|r| r.outcome == Outcome::Fired).map(|r| r.rule_id.as_str()).collect();
    assert!(fired.contains(&"final-demand"), "{fired:?}");
    let fd = t.actions.iter().find(|a| a.rule_id == "final-demand").unwrap();
    assert_eq!(
        fd.reason,
        "30 days past due, 6,000.00 overdue, 3 contacts in 30 days: step final-demand, fee 25.00, interest 59.18"
    );
    assert!(fd.facts.iter().any(|f| f.name == "customer.overdue_total" && f.value == "6000.00"));
    let credit = t.rules.iter().find(|r| r.rule_id == "credit-hold").unwrap();
    assert_eq!(credit.outcome, Outcome::NotFired);
    // The same evaluation with and without a trace.
    let plain = plan(&standard(), &l, day(DUE, 30));
    assert_eq!(plain, t.actions);
}

#[test]
#[ignore = "prints a summary of the demo day; run by hand"]
fn demo_day_summary() {
    let l = recoup::ledger::load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    let p = policy::compile_path(&repo("policies/standard")).unwrap().0;
    let t = std::time::Instant::now();
    let r = results(&p, &l, date("2026-11-16"));
    let el = t.elapsed();
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    let mut errors = 0;
    for x in &r {
        match x {
            Ok(v) => v.iter().for_each(|a| *by.entry(format!("{} {}", a.action, a.rule_id)).or_default() += 1),
            Err(e) => {
                errors += 1;
                eprintln!("{e}");
            }
        }
    }
    eprintln!("{} customers in {el:?}; errors {errors}", r.len());
    for (k, v) in by {
        eprintln!("{v:6} {k}");
    }
    for a in r.iter().flatten().flatten().take(12) {
        eprintln!("{} {} {:?}: {}", a.customer_id, a.rule_id, a.invoice_ids, a.reason);
    }
}

#[test]
fn a_hold_placed_again_after_a_release_is_released_again() {
    // Released 40 days ago by the same rule; put on hold again since; now paid.
    let mut b = walked(6).done("C1", "", "release-hold", "release_hold", day(DUE, 10));
    b.invoices[0] = format!("I1,C1,{},{DUE},USD,6000.00,0.00,paid,,", day(DUE, -30));
    let b = b.payment("C1", "I1", day(DUE, 48), "6000.00");
    let a = plan(&standard(), &b.ledger(), day(DUE, 50));
    assert_eq!(rules(&a), ["release-hold"], "{a:#?}");
}

// ------------------------------------------------------- champion/challenger

mod arms {
    use super::*;
    use recoup::engine::Arm;
    use recoup::policy::compile::Challenger;

    const POLICY: &str = r#"
[policy]
name = "arms"
version = "1"

[guardrails]
max_contacts_per_7_days = 5

[[strategy]]
id = "big"
when = "customer.overdue_total > 5000"
ladder = "standard"

[[strategy]]
id = "default"
ladder = "standard"

[[strategy]]
id = "calls"
ladder = "calls"

[challenger]
strategy = "calls"
share = 0.5
salt = "test-salt"
ONLY

[[ladder]]
id = "standard"

[[ladder.step]]
id = "first-notice"
days_past_due = 1
action = "email"
template = "overdue-1"

[[ladder]]
id = "calls"

[[ladder.step]]
id = "first-call"
days_past_due = 1
action = "call"
"#;

    /// 40 customers, each with one invoice 10 days past due; odd ones owe 6,000.00, even ones 1,000.00.
    fn book() -> Ledger {
        let mut b = Book::default();
        for n in 1..=40 {
            let id = format!("C{n:02}");
            let amount = if n % 2 == 1 { "6000.00" } else { "1000.00" };
            b = b.customer(cust(&id)).invoice(&format!("I{n:02}"), &id, date(DUE), amount);
        }
        b.ledger()
    }

    fn policy(only: &str) -> CompiledPolicy {
        compiled(&POLICY.replace("ONLY", only))
    }

    #[test]
    fn the_draw_is_blake3_of_salt_zero_byte_and_id_first_8_bytes_little_endian() {
        // BLAKE3 of the single byte 0x00 (the official test vector, input length 1)
        // begins 2d 3a de df f1 1b 61 f1: the draw of an empty salt and id.
        let expected = u64::from_le_bytes([0x2d, 0x3a, 0xde, 0xdf, 0xf1, 0x1b, 0x61, 0xf1]) as f64 / 2f64.powi(64);
        assert_eq!(Challenger::draw("", ""), expected);
        // Pinned: the arm of a customer never changes between versions.
        let h = blake3::hash(b"2026q4\0C000001");
        let first = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap());
        assert_eq!(Challenger::draw("2026q4", "C000001"), first as f64 / 2f64.powi(64));
        assert_ne!(Challenger::draw("2026q4", "C000001"), Challenger::draw("2026q5", "C000001"));
    }

    #[test]
    fn challenger_customers_follow_the_challenger_strategy_and_every_action_records_its_arm() {
        let p = policy("");
        let acts = steps(&p, &book(), day(DUE, 10));
        assert_eq!(acts.len(), 40);
        let mut challengers = 0;
        for a in &acts {
            let drawn = Challenger::draw("test-salt", &a.customer_id) < 0.5;
            if drawn {
                challengers += 1;
                assert_eq!(
                    (a.arm, a.rule_id.as_str(), a.strategy.as_deref()),
                    (Arm::Challenger, "first-call", Some("calls"))
                );
            } else {
                assert_eq!(a.arm, Arm::Champion, "{}", a.customer_id);
                assert_eq!(a.rule_id, "first-notice");
                let rules_choice = if a.amount_due > dec("5000") { "big" } else { "default" };
                assert_eq!(a.strategy.as_deref(), Some(rules_choice));
            }
        }
        // Both arms are populated (the draws of C01..C40 under this salt).
        assert!(challengers > 5 && challengers < 35, "{challengers} challengers");
    }

    #[test]
    fn only_strategy_limits_the_challenger_arm_to_that_strategys_customers() {
        let p = policy("only_strategy = \"big\"");
        let acts = steps(&p, &book(), day(DUE, 10));
        let mut challengers = 0;
        for a in &acts {
            let big = a.amount_due > dec("5000");
            let drawn = Challenger::draw("test-salt", &a.customer_id) < 0.5;
            let want = if big && drawn { Arm::Challenger } else { Arm::Champion };
            assert_eq!(a.arm, want, "{}", a.customer_id);
            challengers += usize::from(want == Arm::Challenger);
        }
        assert!(challengers > 0);
        // Some small customers were drawn but are not eligible.
        assert!(acts.iter().any(|a| a.amount_due < dec("5000") && Challenger::draw("test-salt", &a.customer_id) < 0.5));
    }

    #[test]
    fn without_a_challenger_every_action_is_champion_and_explain_shows_the_arm() {
        let acts = plan(&standard(), &walked(0).ledger(), day(DUE, 2));
        assert!(!acts.is_empty());
        assert!(acts.iter().all(|a| a.arm == Arm::Champion));
        let p = policy("");
        let l = book();
        let c = (1..=40).map(|n| format!("C{n:02}")).find(|c| Challenger::draw("test-salt", c) < 0.5).unwrap();
        let t = explain(&p, &l, day(DUE, 10), &c);
        assert_eq!((t.arm, t.strategy.as_deref()), (Arm::Challenger, Some("calls")));
        assert!(t.rules.iter().any(|r| r.rule_id == "challenger" && r.outcome == Outcome::Fired));
        assert!(t.actions.iter().all(|a| a.arm == Arm::Challenger));
    }

    #[test]
    fn planned_actions_read_back_from_json_with_and_without_an_arm() {
        let p = policy("");
        let acts = plan(&p, &book(), day(DUE, 10));
        let a = acts.iter().find(|a| a.arm == Arm::Challenger).unwrap();
        let json = serde_json::to_value(a).unwrap();
        assert_eq!(json["arm"], "challenger");
        assert_eq!(&serde_json::from_value::<PlannedAction>(json.clone()).unwrap(), a);
        // A plan.jsonl written before arms existed reads as champion.
        let mut old = json;
        old.as_object_mut().unwrap().remove("arm");
        assert_eq!(serde_json::from_value::<PlannedAction>(old).unwrap().arm, Arm::Champion);
    }
}

/// The history matches each executed row to the policy's rules by number,
/// found from the row's rule id once (its symbol), never by comparing
/// texts: ids the policy lacks, ids of the same length and prefix as one of
/// its own, and ids longer than 16 bytes each get the right number.
#[test]
fn history_rows_get_the_number_of_their_whole_rule_id() {
    use recoup::engine::history::History;
    use recoup::policy::compile::NO_RULE;
    let long = "second-notice-by-letter";
    assert!(long.len() > 16);
    let p = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("id = \"second-notice\"", "id = \"second-notice-by-letter\""),
    ]);
    let due = date("2026-09-01");
    let rows = [
        ("pre-due", "email"),
        ("first-notice", "email"),
        ("first-noticf", "email"),
        (long, "email"),
        ("second-notice-by-lettex", "email"),
        ("second-notice-by-lette", "email"),
        ("manual-call", "call"),
        ("pre-due", "email"),
    ];
    let mut b = Book::default().customer(cust("C1")).invoice("I1", "C1", due, "500.00");
    for (k, (rule, action)) in rows.iter().enumerate() {
        b = b.done("C1", "I1", rule, action, day("2026-09-01", k as i64));
    }
    let l = b.ledger();
    let ladder = p.rules.ladders.iter().position(|x| x.id == "standard").unwrap();
    let step = |id: &str| {
        let k = p.rules.ladders[ladder].steps.iter().position(|s| s.id == id).unwrap();
        p.ids.steps[ladder][k]
    };
    let h = History::new(&l, 0, date("2026-10-01"), &p.per_invoice, &p.ids);
    let got: Vec<(String, u32)> =
        h.executed().iter().map(|d| (h.record(d).unwrap().rule_id.to_string(), d.rule)).collect();
    let want: Vec<(String, u32)> = vec![
        ("pre-due".into(), step("pre-due")),
        ("first-notice".into(), step("first-notice")),
        ("first-noticf".into(), NO_RULE),
        (long.into(), step(long)),
        ("second-notice-by-lettex".into(), NO_RULE),
        ("second-notice-by-lette".into(), NO_RULE),
        ("manual-call".into(), NO_RULE),
        ("pre-due".into(), step("pre-due")),
    ];
    assert_eq!(got, want);
    let mut known: Vec<u32> = want.iter().map(|w| w.1).filter(|&n| n != NO_RULE).collect();
    known.sort_unstable();
    known.dedup();
    assert_eq!(known.len(), 3, "three rules, three numbers: {known:?}");
    // And the ladder reads it so: the long step is done, the call after it is due.
    let next: Vec<String> = steps(&p, &l, date("2026-10-01")).into_iter().map(|a| a.rule_id).collect();
    assert_eq!(next, ["call"]);
}

// ------------------------------------------------- cash on account, net balance

/// The issue's case, by the policy's balance: a customer that paid 1,500.00
/// on account four days ago owes nothing net of it, and is not sent a first
/// notice for its 1,500.00 overdue (`explain` says why); under
/// `balance = "gross"` the ladder ignores the cash on account, as before.
#[test]
fn cash_on_account_covers_the_overdue_under_the_net_balance_only() {
    let due = date("2026-09-01");
    let as_of = day("2026-09-01", 1);
    let l = Book::default()
        .customer(cust("C1"))
        .invoice("I1", "C1", due, "1500.00")
        .payment("C1", "", as_of - Duration::days(4), "1500.00")
        .ledger();
    let net = standard();
    assert!(steps(&net, &l, as_of).is_empty(), "{:?}", steps(&net, &l, as_of));
    let t = explain(&net, &l, as_of, "C1");
    let first = t.rules.iter().find(|r| r.rule_id == "first-notice").unwrap();
    assert_eq!(first.outcome, Outcome::NotFired);
    assert!(first.detail.contains("unapplied cash (1,500.00)"), "{}", first.detail);
    assert!(t.invoices[0].note.contains("covered by the customer's unapplied cash"), "{}", t.invoices[0].note);

    let gross = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        ("age_from = \"due_date\"", "age_from = \"due_date\"\nbalance = \"gross\""),
    ]);
    let got = steps(&gross, &l, as_of);
    assert_eq!(rules(&got), ["first-notice"]);
    assert_eq!(got[0].amount_due, dec("1500.00"));
}

/// Partly covered: the ladder asks for what is left, and the `min_overdue`
/// guardrail (25.00 in the standard policy) weighs the net amount.
#[test]
fn the_ladder_asks_for_the_net_overdue() {
    let due = date("2026-09-01");
    let as_of = day("2026-09-01", 1);
    let book = Book::default().customer(cust("C1")).invoice("I1", "C1", due, "1500.00");
    let part = book.clone().payment("C1", "", as_of - Duration::days(4), "1400.00").ledger();
    let got = steps(&standard(), &part, as_of);
    assert_eq!(rules(&got), ["first-notice"]);
    assert_eq!(got[0].amount_due, dec("100.00"));
    // 1,490.00 on account leaves 10.00: under the guardrail's 25.00.
    let nearly = book.payment("C1", "", as_of - Duration::days(4), "1490.00").ledger();
    assert!(steps(&standard(), &nearly, as_of).is_empty());
}

// ------------------------------------------- which guardrails hold which steps

/// The `min_overdue` guardrail stops chasing small balances, not the review
/// that clears them: a 0.50 leftover 200 days late gets its write-off review
/// (it was suppressed before), while a reminder for it is still held back.
#[test]
fn min_overdue_holds_back_reminders_not_the_write_off_review() {
    let policy = compiled(
        r#"
[policy]
name = "small-balances"
version = "1"

[guardrails]
min_overdue = "25.00"

[[ladder]]
id = "standard"

[[ladder.step]]
id = "reminder"
days_past_due = 1
action = "email"
template = "overdue-1"

[[ladder.step]]
id = "clear-leftover"
days_past_due = 180
action = "write_off_review"
"#,
    );
    let due = date("2026-03-01");
    let l = Book::default()
        .customer(cust("C1"))
        .invoice_status("I1", "C1", due, "120.00", "0.50", "open")
        .done("C1", "I1", "reminder", "email", day("2026-03-01", 1))
        .customer(cust("C2"))
        .invoice_status("I2", "C2", due, "120.00", "0.50", "open")
        .ledger();
    let as_of = day("2026-03-01", 200);
    let got = plan(&policy, &l, as_of);
    let rows: Vec<(&str, &str)> = got.iter().map(|a| (a.customer_id.as_str(), a.rule_id.as_str())).collect();
    // C1 had its reminder: its write-off review goes. C2 never had the
    // reminder, which is held back (sequential pace: the review waits for it).
    assert_eq!(rows, [("C1", "clear-leftover")]);
    assert_eq!(got[0].action, ActionKind::WriteOffReview);
    let t = explain(&policy, &l, as_of, "C2");
    let reminder = t.rules.iter().find(|r| r.rule_id == "reminder").unwrap();
    assert_eq!((reminder.outcome, reminder.guardrail.as_deref()), (Outcome::Suppressed, Some("min_overdue")));
}

// ------------------------------------------------------------- currencies

/// C1 in USD and C2 in GBP, each with one invoice of `amount` due `days` ago.
fn two_currencies(amount: &str, days: i64) -> Ledger {
    let due = day("2026-11-16", -days);
    let mut b = Book::default()
        .customer(cust("C1"))
        .customer(cust("C2"))
        .invoice("I1", "C1", due, amount)
        .invoice("I2", "C2", due, amount);
    b.customers[1] = b.customers[1].replace(",USD,", ",GBP,");
    b.invoices[1] = b.invoices[1].replace(",USD,", ",GBP,");
    b.ledger()
}

/// Issue 20 §1: a policy amount given per currency applies to each customer
/// in its own currency: 100.00 overdue passes a USD minimum of 25.00 and
/// not a GBP minimum of 200.00; the final demand's fee is the customer's
/// currency's, and the action names that currency.
#[test]
fn policy_amounts_per_currency_follow_the_customer_s_currency() {
    let p = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        (
            r#"min_overdue = { USD = "25.00", EUR = "25.00", GBP = "25.00" }"#,
            r#"min_overdue = { USD = "25.00", EUR = "25.00", GBP = "200.00" }"#,
        ),
    ]);
    let l = two_currencies("100.00", 3);
    let got = steps(&p, &l, date("2026-11-16"));
    assert_eq!(
        got.iter().map(|a| (a.customer_id.as_str(), a.rule_id.as_str())).collect::<Vec<_>>(),
        [("C1", "first-notice")]
    );
    assert_eq!(got[0].currency, "USD");
    let t = explain(&p, &l, date("2026-11-16"), "C2");
    assert!(t.rules.iter().any(|r| r.guardrail.as_deref() == Some("min_overdue")), "{t:?}");

    // The fee of the final demand (30 days), per currency.
    let p = standard_with(&[
        ("business_days_only = true", "business_days_only = false"),
        (
            r#"fee = { USD = "25.00", EUR = "25.00", GBP = "25.00" }"#,
            r#"fee = { USD = "25.00", EUR = "25.00", GBP = "40.00" }"#,
        ),
    ]);
    let mut b = Book::default().customer(cust("C1")).customer(cust("C2"));
    for (c, inv) in [("C1", "I1"), ("C2", "I2")] {
        b = b.invoice(inv, c, date(DUE), "6000.00");
        for (rule, action, off) in &LADDER[..4] {
            b = b.done(c, inv, rule, action, day(DUE, *off));
        }
    }
    b.customers[1] = b.customers[1].replace(",USD,", ",GBP,");
    b.invoices[1] = b.invoices[1].replace(",USD,", ",GBP,");
    let fees: Vec<(String, String, Decimal)> =
        steps(&p, &b.ledger(), day(DUE, 30)).into_iter().map(|a| (a.rule_id, a.currency.to_string(), a.fee)).collect();
    assert_eq!(
        fees,
        [("final-demand".into(), "USD".into(), dec("25.00")), ("final-demand".into(), "GBP".into(), dec("40.00"))]
    );
}

/// Issue 20 §1: a single amount in the policy's currency, met by customers
/// of other currencies, is named with them (`run` and `check --ledger` print
/// these lines as warnings); a per-currency table that leaves a currency
/// out says so; the shipped policies give every demo currency.
#[test]
fn policy_amounts_say_which_currencies_they_do_not_cover() {
    let currencies = [("EUR".to_string(), 116), ("GBP".to_string(), 85), ("USD".to_string(), 199)];
    for name in ["standard", "strict", "lenient", "b2b"] {
        let p = policy::load(&repo(&format!("policies/{name}"))).policy.unwrap();
        assert_eq!(p.rules.currency_gaps(&currencies), Vec::<String>::new(), "{name}");
    }
    let p = standard_with(&[
        (r#"min_overdue = { USD = "25.00", EUR = "25.00", GBP = "25.00" }"#, r#"min_overdue = "25.00""#),
        (r#"fee = { USD = "25.00", EUR = "25.00", GBP = "25.00" }"#, r#"fee = { USD = "25.00", EUR = "25.00" }"#),
    ]);
    assert_eq!(
        p.rules.currency_gaps(&currencies),
        [
            "[guardrails] min_overdue is 25.00 USD (the policy's currency), but customers in EUR (116 customers), \
             GBP (85 customers) would get it as 25.00 of their own currency: give it per currency, e.g. \
             { USD = \"25.00\", EUR = \"...\" }",
            "step `final-demand` fee (25.00 EUR/USD) gives no amount for GBP (85 customers): it does not apply to \
             them; add their currency"
        ]
    );
    // One currency, the policy's, and given by every amount: nothing to say.
    assert!(p.rules.currency_gaps(&[("USD".to_string(), 3)]).is_empty());
    let bad = policy::load_str("p.toml", &standard_text().replace(r#"GBP = "25.00" }"#, r#"gbp = "-1" }"#));
    let text = bad.report.render();
    assert!(bad.policy.is_none(), "{text}");
    assert!(text.contains("`gbp` is not a 3-letter currency code"), "{text}");
    assert!(text.contains("is negative for gbp: `-1`"), "{text}");
    // [reporting]: a reporting currency, rates above zero by 3-letter code, and their date.
    let bad = policy::load_str(
        "p.toml",
        &format!("{}\n[reporting]\ncurrency = \"EUR\"\nrates = {{ usd = \"0\" }}\n", standard_text()),
    );
    let text = bad.report.render();
    assert!(bad.policy.is_none(), "{text}");
    assert!(text.contains("`usd` in [reporting] rates is not a 3-letter code"), "{text}");
    assert!(text.contains("the rate of usd in [reporting] must be above zero"), "{text}");
    assert!(text.contains("rates_date"), "{text}");
}

/// An empty credit limit is no limit: a raise or a lower has nothing to
/// change, `set` and `freeze` give the customer one, and `utilization`
/// reads 0 (a zero limit would read 99.99 and trip the hold).
#[test]
fn a_customer_with_no_limit_is_never_over_it_and_gets_one_only_by_set_or_freeze() {
    let policy = |change: &str, extra: &str| {
        compiled(&format!(
            r#"
[policy]
name = "limits"
version = "1"

[[limit]]
id = "hold-over"
change = "hold"
when = "customer.utilization > 1.0"
priority = 1

[[limit]]
id = "change"
change = "{change}"
when = "customer.open_total > 0"
{extra}
"#
        ))
    };
    let l = load(&repo("fixtures/groups"), &LoadOptions::default()).unwrap();
    let as_of = date("2026-11-16");
    let of = |p: &CompiledPolicy, id: &str| -> Vec<PlannedAction> {
        plan(p, &l, as_of).into_iter().filter(|a| &*a.customer_id == id).collect()
    };
    // X: no limit, 5000 open and overdue.
    assert!(of(&policy("raise", "by_pct = \"10\""), "X").is_empty());
    assert!(of(&policy("lower", "by_amount = \"100.00\""), "X").is_empty());
    let set = of(&policy("set", "to = \"2000.00\""), "X");
    assert_eq!(set.len(), 1, "{set:?}");
    assert_eq!((set[0].old_limit, set[0].new_limit), (None, Some(dec("2000.00"))));
    assert!(set[0].reason.contains("limit none → 2,000.00"), "{}", set[0].reason);
    let freeze = of(&policy("freeze", ""), "X");
    assert_eq!((freeze[0].old_limit, freeze[0].new_limit), (None, Some(dec("5000.00"))));
    // M1 has a limit of 2500: raised by 10 % to 2750.
    let m1 = of(&policy("raise", "by_pct = \"10\""), "M1");
    assert_eq!((m1[0].old_limit, m1[0].new_limit), (Some(dec("2500.00")), Some(dec("2750.00"))));
    let t = explain(&policy("raise", "by_pct = \"10\""), &l, as_of, "X");
    let why = format!("{t:?}");
    assert!(why.contains("the customer has no credit limit"), "{why}");
}

/// Rules read the group's figures: the USD group of G (exposure 4800 over
/// G's shared 10,000 limit, 0.48) is held by a rule at 0.4, every member
/// with it; M3 (EUR, no shared limit) and X (no group: its own figures, no
/// limit) are not.
#[test]
fn a_limit_rule_reads_the_group_figures() {
    let p = compiled(
        r#"
[policy]
name = "groups"
version = "1"

[[limit]]
id = "group-hold"
change = "hold"
when = "customer.group_utilization > 0.4 && customer.group_overdue >= 3000"
"#,
    );
    let l = load(&repo("fixtures/groups"), &LoadOptions::default()).unwrap();
    let held: Vec<String> = plan(&p, &l, date("2026-11-16"))
        .into_iter()
        .filter(|a| a.action == ActionKind::CreditHold)
        .map(|a| a.customer_id.to_string())
        .collect();
    assert_eq!(held, ["G", "M1", "M2"]);
}

/// A member held by its group's head is not released on its own (the
/// release would change nothing while the head is on hold); the head is.
#[test]
fn a_member_held_by_its_group_is_not_released_alone() {
    let p = compiled(
        r#"
[policy]
name = "release"
version = "1"

[[limit]]
id = "release"
change = "release"
when = "customer.on_hold"
"#,
    );
    let l = load(&repo("fixtures/groups"), &LoadOptions::default()).unwrap();
    let as_of = date("2026-11-16");
    let released: Vec<String> = plan(&p, &l, as_of).into_iter().map(|a| a.customer_id.to_string()).collect();
    assert_eq!(released, ["H"]);
    let why = format!("{:?}", explain(&p, &l, as_of, "HM"));
    assert!(why.contains("held by its group: its parent `H` is on hold"), "{why}");
}
