//! Payer profiles: how a customer pays. Each profile is a mixture of early,
//! on-time and late payment with a long tail, plus its own habits — disputes,
//! promises, payment plans, partial payments, default. Nothing about the
//! profile is written; only its effects on the history are.

use super::calendar::{self, Day};
use super::dice::Dice;

/// The payer profile of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Pays in a payment run before the due date, almost never late (~25%).
    Punctual,
    /// Pays early or on time, now and then a few days late (~30%).
    Prompt,
    /// Habitually 10–40 days late (~15%).
    Late,
    /// Days late grow over the history (~8%).
    Deteriorating,
    /// Late mostly when the due date falls in October–December (~7%).
    Q4,
    /// Disputes 10–30% of its invoices (~5%).
    Disputer,
    /// Late, makes promises to pay and breaks most of them (~5%).
    PromiseBreaker,
    /// Stops paying at some point in the history (~5%).
    Defaulter,
}

// Most B2B customers pay within terms or a few days after: about 55 % of
// customers are punctual or prompt, and about 60 % of invoices are settled by
// their due date, as payment-practice surveys of B2B books report.
const PROFILES: [(Profile, f64); 8] = [
    (Profile::Punctual, 0.25),
    (Profile::Prompt, 0.30),
    (Profile::Late, 0.15),
    (Profile::Deteriorating, 0.08),
    (Profile::Q4, 0.07),
    (Profile::Disputer, 0.05),
    (Profile::PromiseBreaker, 0.05),
    (Profile::Defaulter, 0.05),
];

impl Profile {
    /// Draw a profile with the shares above.
    pub fn draw(d: &mut Dice) -> Self {
        d.pick(&PROFILES)
    }

    /// Mean credit score of customers with this profile.
    pub fn score_mean(self) -> f64 {
        match self {
            Profile::Punctual => 760.0,
            Profile::Prompt => 740.0,
            Profile::Q4 => 690.0,
            Profile::Disputer => 680.0,
            Profile::Deteriorating => 650.0,
            Profile::Late => 630.0,
            Profile::PromiseBreaker => 590.0,
            Profile::Defaulter => 560.0,
        }
    }

    /// Probability that a late invoice gets a promise to pay.
    pub fn promise_rate(self) -> f64 {
        match self {
            Profile::PromiseBreaker => 0.7,
            Profile::Late | Profile::Deteriorating | Profile::Defaulter => 0.12,
            _ => 0.04,
        }
    }

    /// Probability that a promise is broken.
    pub fn break_rate(self) -> f64 {
        match self {
            Profile::PromiseBreaker => 0.8,
            Profile::Defaulter => 0.6,
            _ => 0.25,
        }
    }

    /// Probability of a payment plan when there is overdue balance.
    pub fn plan_rate(self) -> f64 {
        match self {
            Profile::Defaulter => 0.35,
            Profile::PromiseBreaker => 0.2,
            Profile::Late | Profile::Deteriorating => 0.02,
            _ => 0.0,
        }
    }

    /// Probability that an invoice is paid in instalments.
    pub fn partial_rate(self) -> f64 {
        match self {
            Profile::Punctual | Profile::Prompt | Profile::Q4 => 0.03,
            Profile::PromiseBreaker | Profile::Defaulter => 0.2,
            _ => 0.1,
        }
    }

    /// Probability that a collection call ends with a promise.
    pub fn call_promise_rate(self) -> f64 {
        match self {
            Profile::PromiseBreaker => 0.45,
            Profile::Punctual | Profile::Prompt => 0.1,
            _ => 0.2,
        }
    }
}

/// The simulated period: `start` up to and including `as_of`.
#[derive(Debug, Clone, Copy)]
pub struct History {
    pub start: Day,
    pub as_of: Day,
}

impl History {
    /// Where `day` falls in the history: 0 at the start, 1 at the as-of date.
    fn position(&self, day: Day) -> f64 {
        f64::from(day - self.start) / f64::from((self.as_of - self.start).max(1))
    }
}

/// A customer's payment behaviour: its profile and its own parameters.
#[derive(Debug, Clone, Copy)]
pub struct Payer {
    pub profile: Profile,
    /// Typical days late of late payments.
    lateness: f64,
    /// Extra days late at the end of the history (deteriorating payers).
    drift: f64,
    /// Share of invoices disputed.
    pub dispute_rate: f64,
    /// Last day a defaulter pays anything.
    pub stop: Option<Day>,
}

impl Payer {
    /// Draw the parameters of a payer with `profile`.
    pub fn draw(d: &mut Dice, profile: Profile, history: &History) -> Self {
        let lateness = match profile {
            Profile::Late => d.between(10.0, 40.0),
            Profile::Q4 => d.between(15.0, 45.0),
            Profile::PromiseBreaker => d.between(20.0, 50.0),
            _ => d.between(5.0, 25.0),
        };
        let dispute_rate = if profile == Profile::Disputer { d.between(0.10, 0.30) } else { 0.01 };
        let span = f64::from(history.as_of - history.start);
        let stop = (profile == Profile::Defaulter).then(|| history.start + (span * d.between(0.3, 0.9)) as Day);
        Payer { profile, lateness, drift: d.between(40.0, 100.0), dispute_rate, stop }
    }

    /// The day an undisputed invoice is settled in full, or `None` if never.
    pub fn settle(&self, d: &mut Dice, invoice: &Dates, history: &History) -> Option<Day> {
        let late = self.days_late(d, invoice.due, history);
        let day = match invoice.discount_days {
            Some(window) if late < 0.0 && matches!(self.profile, Profile::Punctual | Profile::Prompt) => {
                invoice.issue + d.int(3, window)
            }
            _ => invoice.due + late.round() as Day,
        };
        self.unless_stopped(day.max(invoice.issue))
    }

    /// The day a disputed invoice is settled once the dispute is resolved.
    pub fn settle_dispute(&self, d: &mut Dice, raised: Day) -> Option<Day> {
        self.unless_stopped(raised + d.int(20, 120))
    }

    fn unless_stopped(&self, day: Day) -> Option<Day> {
        match self.stop {
            Some(stop) if day > stop => None,
            _ => Some(day),
        }
    }

    /// Days after the due date (negative: early) of a settlement.
    fn days_late(&self, d: &mut Dice, due: Day, history: &History) -> f64 {
        match self.profile {
            Profile::Punctual => punctual(d),
            Profile::Prompt => prompt(d),
            Profile::Late | Profile::PromiseBreaker | Profile::Defaulter => late(d, self.lateness),
            Profile::Deteriorating => prompt(d) + self.drift * history.position(due).clamp(0.0, 1.2).powi(2),
            Profile::Q4 if calendar::month(due) >= 10 => late(d, self.lateness),
            Profile::Q4 => prompt(d),
            Profile::Disputer if d.chance(0.3) => d.between(3.0, 25.0),
            Profile::Disputer => prompt(d),
        }
    }
}

/// The dates of an invoice that payment behaviour depends on.
pub struct Dates {
    pub issue: Day,
    pub due: Day,
    pub discount_days: Option<i32>,
}

/// A payment run before the due date; now and then on the day, rarely late.
fn punctual(d: &mut Dice) -> f64 {
    match d.pick(&[(0, 0.75), (1, 0.23), (2, 0.02)]) {
        0 => -d.between(1.0, 10.0),
        1 => -d.between(0.0, 0.49),
        _ => d.between(1.0, 6.0),
    }
}

/// Early, on the due date, a few days late, or (rarely) very late: about
/// 80 % settled by the due date.
fn prompt(d: &mut Dice) -> f64 {
    match d.pick(&[(0, 0.40), (1, 0.40), (2, 0.17), (3, 0.03)]) {
        0 => -d.between(1.0, 12.0),
        1 => -d.between(0.0, 0.49),
        2 => d.between(1.0, 10.0),
        _ => 10.0 + d.exp(25.0),
    }
}

/// Around `mean` days late, sometimes on time, with a long tail.
fn late(d: &mut Dice, mean: f64) -> f64 {
    match d.pick(&[(0, 0.08), (1, 0.80), (2, 0.12)]) {
        0 => d.between(-1.0, 3.0),
        1 => (mean + 0.3 * mean * d.normal()).max(1.0),
        _ => mean + 15.0 + d.exp(30.0),
    }
}
