//! The dunning ladder earlier runs followed, and the action history it leaves:
//! the nightly run of `policies/standard` replayed, one customer at a time.
//!
//! Like that policy (`grouping = "customer"`, `trigger = "oldest"`,
//! `pace = "sequential"`), each run gives a customer at most one step: the
//! next step of its oldest open invoice, once that invoice has crossed the
//! step's day and the step's cooldown since the invoice's last step has
//! passed. The message lists every open invoice that has crossed the step and
//! not had it: one row per listed invoice, all with the run's date and the
//! message's outcome (as `recoup simulate` records a plan). Optional steps
//! whose condition does not hold are passed over; contacts stop at three in
//! seven days (counted in messages, as the engine counts them), and for
//! do-not-contact customers and once the account is referred; the hold is
//! placed once and released (`release-hold`, account-level) on the first run
//! with no open invoice 30 days past due. The nightly run ran on business days
//! only and missed about 3 % of nights, so a Monday as-of date catches up the
//! weekend's steps; about 1 % of decided steps were never executed and are
//! decided again the next run. Promises do not pause the ladder here.

use super::calendar::{self, Day};
use super::dice::Dice;
use super::rows::{ActionRow, Cents};

/// One rung of the ladder: rule id, action, channel, days after the due date,
/// and the conditions of `policies/standard` on it.
#[derive(Debug)]
pub struct Step {
    pub rule: &'static str,
    pub action: &'static str,
    pub channel: Option<&'static str>,
    pub offset: i32,
    /// Days since the invoice's previous step before this one may follow.
    pub cooldown: i32,
    /// Smallest amount the listed invoices must add up to, in cents.
    pub min: Cents,
    /// Passed over (not waited for) when it cannot fire.
    pub optional: bool,
}

const fn step(rule: &'static str, action: &'static str, channel: Option<&'static str>, offset: i32) -> Step {
    Step { rule, action, channel, offset, cooldown: 0, min: 0, optional: false }
}

/// The steps, in the order they are reached (those of `policies/standard`).
pub const LADDER: [Step; 9] = [
    Step { min: 100 * CENTS, optional: true, ..step("pre-due", "email", Some("email"), -3) },
    Step { min: 100 * CENTS, optional: true, ..step("pre-due-sms", "sms", Some("sms"), -2) },
    step("first-notice", "email", Some("email"), 1),
    Step { cooldown: 7, ..step("second-notice", "email", Some("email"), 14) },
    Step { cooldown: 5, ..step("call", "call", Some("call"), 21) },
    Step { cooldown: 7, ..step("final-demand", "letter", Some("letter"), 30) },
    step("credit-hold", "credit_hold", None, 45),
    Step { min: 500 * CENTS, optional: true, ..step("agency", "refer_agency", None, 90) },
    Step { min: 5_000 * CENTS, ..step("legal", "refer_legal", None, 120) },
];

/// A hold released after the invoice that caused it was settled.
pub const RELEASE: Step = step("release-hold", "release_hold", None, 0);

/// A periodic credit review of the account (no invoice).
pub const REVIEW: Step = step("credit-review", "credit_review", None, 0);

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
    /// Chunk-local invoice index.
    pub invoice: u32,
    pub issue: Day,
    pub due: Day,
    /// The invoice amount, in cents: minimums and referrals depend on it.
    pub amount: Cents,
    /// The first day no step is taken: settled, disputed, written off, or the as-of date.
    pub until: Day,
}

/// Nights the run did not happen.
const MISSED: f64 = 0.03;
/// Executed contacts (messages, not rows) in seven days that stop the next (`max_contacts_per_7_days`).
const MAX_CONTACTS_7D: usize = 3;
/// A hold is released once no open invoice is this many days past due.
const RELEASE_BELOW: i32 = 30;
/// The agency takes overdue balances below this (legal takes the rest).
const AGENCY_BELOW: Cents = 25_000 * CENTS;

/// A customer's ladder state, run after run.
struct Dunning<'a> {
    customer: u64,
    chases: &'a [Chase],
    habits: &'a Habits,
    /// Per invoice: the steps executed (bit `k` for `LADDER[k]`) and the day of the last.
    done: Vec<u16>,
    last: Vec<Option<Day>>,
    /// Days of executed contact messages, for the seven-day cap.
    contacts: Vec<Day>,
    held: bool,
    referred: bool,
}

/// Append the steps the nightly runs took on a customer's invoices, and the
/// release of a hold once nothing is long overdue. `chases` are the
/// customer's invoices in issue order.
pub fn dun(d: &mut Dice, customer: u64, chases: &[Chase], habits: &Habits, as_of: Day, out: &mut Vec<ActionRow>) {
    // Runs matter from the first day a step can fire on an invoice until it stops being chased (and, with a hold
    // in place, until it is released).
    let first = if habits.pre_due { LADDER[0].offset } else { LADDER[2].offset };
    let mut spans: Vec<(Day, Day)> =
        chases.iter().map(|c| ((c.due + first).max(c.issue), c.until)).filter(|(a, b)| a < b).collect();
    spans.sort_unstable();
    let mut s = Dunning {
        customer,
        chases,
        habits,
        done: vec![0; chases.len()],
        last: vec![None; chases.len()],
        contacts: Vec::new(),
        held: false,
        referred: false,
    };
    let (mut next, mut covered) = (0, Day::MIN);
    let mut day = spans.first().map_or(as_of, |sp| sp.0);
    while day < as_of {
        while next < spans.len() && spans[next].0 <= day {
            covered = covered.max(spans[next].1);
            next += 1;
        }
        if day >= covered && !s.held {
            match spans.get(next) {
                Some(sp) => {
                    day = sp.0;
                    continue;
                }
                None => break,
            }
        }
        let run = calendar::business_day_from(day);
        if run != day {
            day = run;
            continue;
        }
        if !d.chance(MISSED) {
            s.run(d, day, out);
        }
        day += 1;
    }
}

impl Dunning<'_> {
    /// One nightly run on `day`.
    fn run(&mut self, d: &mut Dice, day: Day, out: &mut Vec<ActionRow>) {
        let open = |c: &Chase| c.issue <= day && day < c.until;
        // The oldest open invoice drives the ladder (the first issued among equals).
        let mut driving: Option<usize> = None;
        for (i, c) in self.chases.iter().enumerate() {
            if open(c) && driving.is_none_or(|j| c.due < self.chases[j].due) {
                driving = Some(i);
            }
        }
        let oldest = driving.map_or(Day::MIN, |i| day - self.chases[i].due);
        if self.held && oldest < RELEASE_BELOW {
            self.held = false;
            out.push(ActionRow {
                customer: self.customer,
                invoice: None,
                step: &RELEASE,
                decided_on: day,
                executed_on: Some(day),
                outcome: Some("sent"),
            });
        }
        let Some(i) = driving else { return };
        let Some(k) = self.due_step(i, day) else { return };
        let step = &LADDER[k];
        let contact = step.channel.is_some();
        let recent = self.contacts.iter().filter(|&&c| day - c < 7).count();
        if contact && recent >= MAX_CONTACTS_7D {
            return;
        }
        let executed_on = d.chance(0.99).then(|| day + i32::from(d.chance(0.3)));
        let outcome = executed_on.map(|_| outcome(d, step, self.habits.call_promise));
        let listed: Vec<usize> = self.listed(k, day).collect();
        for j in listed {
            out.push(ActionRow {
                customer: self.customer,
                invoice: Some(self.chases[j].invoice),
                step,
                decided_on: day,
                executed_on,
                outcome,
            });
            if let Some(on) = executed_on {
                self.done[j] |= 1 << k;
                self.last[j] = Some(on);
            }
        }
        if let Some(on) = executed_on
            && contact
        {
            // One message, however many invoices it lists.
            self.contacts.push(on);
        }
        if executed_on.is_some() {
            self.held |= step.action == "credit_hold";
            self.referred |= step.action.starts_with("refer_");
        }
    }

    /// The open invoices that have crossed step `k` and not had it.
    fn listed(&self, k: usize, day: Day) -> impl Iterator<Item = usize> + '_ {
        let step = &LADDER[k];
        self.chases.iter().enumerate().filter_map(move |(j, c)| {
            let age = day - c.due;
            let window = age >= step.offset && (step.offset >= 0 || age <= 0);
            (c.issue <= day && day < c.until && window && self.done[j] & (1 << k) == 0).then_some(j)
        })
    }

    /// The step invoice `i` is due for on `day` (sequential pace): the first after its last executed one that
    /// can fire, optional steps that cannot being passed over.
    fn due_step(&self, i: usize, day: Day) -> Option<usize> {
        let c = &self.chases[i];
        let age = day - c.due;
        let start = (u16::BITS - self.done[i].leading_zeros()) as usize;
        for (k, step) in LADDER.iter().enumerate().skip(start) {
            let contact = step.channel.is_some();
            let passed_over = (step.offset < 0 && age > 0)
                || (contact && (self.referred || !self.habits.contact))
                || (step.action == "credit_hold" && self.held);
            if passed_over {
                continue;
            }
            let cooled = self.last[i].is_none_or(|l| day - l >= step.cooldown);
            let listed: Cents = self.listed(k, day).map(|j| self.chases[j].amount).sum();
            if age >= step.offset && cooled && listed >= step.min && self.applies(step, day) {
                return Some(k);
            }
            if !step.optional {
                return None;
            }
        }
        None
    }

    /// The `when` of a step, as far as the invoices show it: the pre-due reminder by the channel the customer
    /// asked for, only for customers who get it; the agency below an overdue balance of 25,000.
    fn applies(&self, step: &Step, day: Day) -> bool {
        match step.rule {
            "pre-due" => self.habits.pre_due && !self.habits.sms,
            "pre-due-sms" => self.habits.pre_due && self.habits.sms,
            "agency" => {
                let overdue: Cents = self
                    .chases
                    .iter()
                    .filter(|c| c.issue <= day && day < c.until && c.due < day)
                    .map(|c| c.amount)
                    .sum();
                overdue < AGENCY_BELOW
            }
            _ => true,
        }
    }
}

const CENTS: Cents = 100;

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
