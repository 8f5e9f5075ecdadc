//! The dunning ladder earlier runs followed, and the action history it leaves
//! on each invoice: every step whose day came before the invoice was settled,
//! disputed or written off, and before the as-of date. The nightly run ran on
//! business days only: a step whose day fell on a weekend was decided the
//! Monday after, so a Monday as-of date catches up the weekend's steps.

use super::calendar::{self, Day};
use super::dice::Dice;
use super::rows::{ActionRow, Cents};

/// One rung of the ladder: rule id, action, channel, days after the due date.
#[derive(Debug)]
pub struct Step {
    pub rule: &'static str,
    pub action: &'static str,
    pub channel: Option<&'static str>,
    pub offset: i32,
}

/// The steps, in the order they are reached (those of `policies/standard`).
pub const LADDER: [Step; 9] = [
    Step { rule: "pre-due", action: "email", channel: Some("email"), offset: -3 },
    Step { rule: "pre-due-sms", action: "sms", channel: Some("sms"), offset: -2 },
    Step { rule: "first-notice", action: "email", channel: Some("email"), offset: 1 },
    Step { rule: "second-notice", action: "email", channel: Some("email"), offset: 14 },
    Step { rule: "call", action: "call", channel: Some("call"), offset: 21 },
    Step { rule: "final-demand", action: "letter", channel: Some("letter"), offset: 30 },
    Step { rule: "credit-hold", action: "credit_hold", channel: None, offset: 45 },
    Step { rule: "agency", action: "refer_agency", channel: None, offset: 90 },
    Step { rule: "legal", action: "refer_legal", channel: None, offset: 120 },
];

/// A hold released after the invoice that caused it was settled.
pub const RELEASE: Step = Step { rule: "release-hold", action: "release_hold", channel: None, offset: 1 };

/// A periodic credit review of the account (no invoice).
pub const REVIEW: Step = Step { rule: "credit-review", action: "credit_review", channel: None, offset: 0 };

/// Days between credit reviews by risk class, as credit departments plan them.
pub fn review_every(risk_class: &str) -> i32 {
    match risk_class {
        "high" => 30,
        "medium" => 91,
        _ => 365,
    }
}

/// The customer's side of the ladder.
pub struct Habits {
    /// The customer gets the pre-due reminder.
    pub pre_due: bool,
    /// The customer asked to be reached by SMS: the pre-due reminder is a text.
    pub sms: bool,
    /// The customer may be contacted (not do-not-contact).
    pub contact: bool,
    /// Probability that a call ends with a promise.
    pub call_promise: f64,
}

/// One invoice being chased.
pub struct Chase {
    pub customer: u64,
    /// Chunk-local invoice index.
    pub invoice: u32,
    pub issue: Day,
    pub due: Day,
    /// The invoice amount, in cents: referrals depend on it.
    pub amount: Cents,
    /// The first day no step is taken: settled, disputed, written off, or the as-of date.
    pub until: Day,
    /// The day the invoice was settled or written off (`Day::MAX` if never).
    pub closed: Day,
    pub as_of: Day,
}

/// Append the steps earlier runs took on `chase`, and the release of a hold
/// it placed once the invoice was settled.
pub fn chase(d: &mut Dice, chase: &Chase, habits: &Habits, out: &mut Vec<ActionRow>) {
    let mut held = false;
    for step in &LADDER {
        if (step.offset < 0 && !habits.pre_due)
            || (step.channel.is_some() && !habits.contact)
            || !applies(step, chase, habits)
        {
            continue;
        }
        let decided_on =
            calendar::business_day_from(chase.due + step.offset + d.pick(&[(0, 0.85), (1, 0.10), (2, 0.05)]));
        if decided_on >= chase.until {
            break;
        }
        if decided_on < chase.issue {
            continue;
        }
        let executed_on = d.chance(0.99).then(|| decided_on + i32::from(d.chance(0.3)));
        let outcome = executed_on.map(|_| outcome(d, step, habits.call_promise));
        held |= step.action == "credit_hold" && executed_on.is_some();
        out.push(ActionRow {
            customer: chase.customer,
            invoice: Some(chase.invoice),
            step,
            decided_on,
            executed_on,
            outcome,
        });
    }
    // `closed` is `Day::MAX` for an invoice never settled.
    let release = chase.closed.saturating_add(RELEASE.offset);
    let release = if release < chase.as_of { calendar::business_day_from(release) } else { release };
    if held && release < chase.as_of {
        out.push(ActionRow {
            customer: chase.customer,
            invoice: Some(chase.invoice),
            step: &RELEASE,
            decided_on: release,
            executed_on: Some(release),
            outcome: Some("sent"),
        });
    }
}

const CENTS: Cents = 100;

/// The conditions of `policies/standard` on a step, as far as one invoice
/// shows them: the pre-due reminder by the channel the customer asked for; the
/// agency below 25,000, from 500; legal from 5,000.
fn applies(step: &Step, chase: &Chase, habits: &Habits) -> bool {
    match step.rule {
        "pre-due" => !habits.sms,
        "pre-due-sms" => habits.sms,
        "agency" => (500 * CENTS..25_000 * CENTS).contains(&chase.amount),
        "legal" => chase.amount >= 5_000 * CENTS,
        _ => true,
    }
}

/// Append the last credit review of a rated customer: some time within its
/// review period (a little beyond, for the reviews that are now due).
pub fn review(d: &mut Dice, customer: u64, risk_class: &str, as_of: Day, out: &mut Vec<ActionRow>) {
    let every = review_every(risk_class);
    let day = as_of - d.int(1, every + every / 8);
    out.push(ActionRow {
        customer,
        invoice: None,
        step: &REVIEW,
        decided_on: day,
        executed_on: Some(day),
        outcome: Some("sent"),
    });
}

fn outcome(d: &mut Dice, step: &Step, call_promise: f64) -> &'static str {
    match step.channel {
        Some("email") => d.pick(&[("delivered", 0.80), ("sent", 0.15), ("bounced", 0.05)]),
        Some("call") => d.pick(&[
            ("promise", call_promise),
            ("answered", (1.0 - call_promise) * 0.45),
            ("no_answer", (1.0 - call_promise) * 0.55),
        ]),
        _ => "sent",
    }
}
