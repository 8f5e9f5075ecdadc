//! One customer's history: its invoices over the simulated months, what the
//! payer profile makes of each (settlement, partial payments, disputes,
//! write-offs), the promises and payment plans, and the dunning steps taken.
//! Everything is simulated to the end first, then cut at the as-of date: a
//! payment after it has not happened yet, so its invoice is still open.

use super::calendar::{self, Day};
use super::customer::{self, Setting, Terms};
use super::dice::Dice;
use super::ladder::{self, Chase, Habits};
use super::payer::{Dates, History, Payer, Profile};
use super::rows::{Cents, Chunk, InvoiceRow, PaymentRow, PromiseRow, Status};

/// What every customer of one ledger shares.
pub struct World {
    pub seed: u64,
    pub history: History,
    pub owners: u32,
}

const DISPUTE_REASONS: [&str; 5] = ["pricing", "damaged goods", "not received", "duplicate", "quantity"];
/// Smallest invoice, in cents.
const MIN_INVOICE: Cents = 5_000;
/// Smallest overdue balance a payment plan is agreed for, in cents.
const MIN_PLAN: Cents = 10_000;
const DAYS_PER_MONTH: f64 = 30.4375;

/// Simulate customer `index` (0-based) and append its rows to `chunk`.
pub fn simulate(world: &World, index: u64, chunk: &mut Chunk) {
    let mut d = Dice::for_customer(world.seed, index);
    let profile = Profile::draw(&mut d);
    let setting =
        Setting { score_mean: profile.score_mean(), owners: world.owners, history_start: world.history.start };
    let mut customer = customer::draw(&mut d, index, &setting);
    let account = Account {
        index,
        payer: Payer::draw(&mut d, profile, &world.history),
        currency: customer.country.currency,
        terms: customer.terms,
        median: customer.segment.median_invoice() * d.lognormal(0.4),
        per_day: customer.segment.invoices_per_month() * d.spread(0.5) / DAYS_PER_MONTH,
        habits: Habits {
            pre_due: d.chance(0.3),
            sms: customer.channel == Some("sms"),
            contact: !customer.do_not_contact,
            call_promise: profile.call_promise_rate(),
        },
        history: world.history,
    };
    // Invoice amounts are `median` times a lognormal(0.9) factor: mean e^0.405.
    let monthly_sales = account.median * 0.405_f64.exp() * account.per_day * DAYS_PER_MONTH;
    customer.credit_limit = customer::credit_limit(&mut d, monthly_sales, customer.terms.net_days);
    let marks = Marks::of(chunk);
    let mut chases = Vec::new();
    let tally = account.invoices(&mut d, chunk, &mut chases);
    account.plan(&mut d, tally.overdue, chunk);
    // The ladder replays the nightly runs on its own stream.
    let mut l = Dice::for_customer(world.seed ^ 0x001a_dde4, index);
    ladder::dun(&mut l, index, &chases, &account.habits, world.history.as_of, &mut chunk.actions);
    customer.on_hold = profile == Profile::Defaulter && tally.long_overdue && d.chance(0.6);
    if let Some(score) = customer.credit_score {
        // Its own stream, so adding reviews leaves every other draw as it was.
        let mut r = Dice::for_customer(world.seed ^ 0x7e71e3, index);
        ladder::review(&mut r, index, customer::risk_class(score), world.history.as_of, &mut chunk.actions);
    }
    marks.sort(chunk);
    chunk.customers.push(customer);
}

/// A customer as the simulation sees it.
struct Account {
    index: u64,
    payer: Payer,
    currency: &'static str,
    terms: &'static Terms,
    /// Median invoice amount, in currency units.
    median: f64,
    /// Expected invoices per day.
    per_day: f64,
    habits: Habits,
    history: History,
}

/// Overdue balance at the as-of date.
#[derive(Default)]
struct Tally {
    /// Open (undisputed) overdue amount.
    overdue: Cents,
    /// Something open or written off is more than 45 days past due.
    long_overdue: bool,
}

/// Where the customer's rows start in the chunk, to sort them by date.
struct Marks {
    payments: usize,
    promises: usize,
    actions: usize,
}

impl Marks {
    fn of(chunk: &Chunk) -> Self {
        Marks { payments: chunk.payments.len(), promises: chunk.promises.len(), actions: chunk.actions.len() }
    }

    fn sort(&self, chunk: &mut Chunk) {
        chunk.payments[self.payments..].sort_by_key(|p| p.paid_on);
        chunk.promises[self.promises..].sort_by_key(|p| p.made_on);
        chunk.actions[self.actions..].sort_by_key(|a| a.decided_on);
    }
}

/// An invoice and everything that will ever happen to it.
struct Fate {
    issue: Day,
    due: Day,
    amount: Cents,
    /// Day raised and reason.
    dispute: Option<(Day, &'static str)>,
    /// Every payment the customer makes on it, in date order, past the as-of date too.
    payments: Vec<(Day, Cents)>,
    /// Day of the final payment, if it is ever paid in full.
    settled: Option<Day>,
    /// Day written off (on or before the as-of date).
    written_off: Option<Day>,
}

impl Fate {
    /// The status at the as-of date, given what is still open then.
    fn status(&self, open: Cents, as_of: Day) -> Status {
        if open == 0 {
            Status::Paid
        } else if self.written_off.is_some() {
            Status::WrittenOff
        } else if self.dispute.is_some_and(|(raised, _)| raised <= as_of) {
            Status::Disputed
        } else {
            Status::Open
        }
    }

    /// The first day collection stops: settled or written off.
    fn closed(&self) -> Day {
        self.settled.unwrap_or(Day::MAX).min(self.written_off.unwrap_or(Day::MAX))
    }

    /// The first day the ladder stops: closed, disputed, or the as-of date.
    fn chase_until(&self, as_of: Day) -> Day {
        self.closed().min(self.dispute.map_or(Day::MAX, |(raised, _)| raised)).min(as_of)
    }

    /// The amount still open at the start of `day`.
    fn open_on(&self, day: Day) -> Cents {
        self.amount - self.payments.iter().filter(|&&(on, _)| on < day).map(|&(_, a)| a).sum::<Cents>()
    }
}

impl Account {
    /// Issue invoices as a Poisson process over the history and record each.
    fn invoices(&self, d: &mut Dice, chunk: &mut Chunk, chases: &mut Vec<Chase>) -> Tally {
        let mut tally = Tally::default();
        let gap = 1.0 / self.per_day;
        let mut t = f64::from(self.history.start) + d.exp(gap);
        while t <= f64::from(self.history.as_of) {
            let fate = self.fate(d, t as Day);
            self.record(d, &fate, chunk, &mut tally);
            chases.push(Chase {
                invoice: chunk.invoices.len() as u32 - 1,
                issue: fate.issue,
                due: fate.due,
                amount: fate.amount,
                until: fate.chase_until(self.history.as_of),
            });
            t += d.exp(gap);
        }
        tally
    }

    fn fate(&self, d: &mut Dice, issue: Day) -> Fate {
        let net = self.terms.net_days;
        let dates = Dates { issue, due: issue + net, discount_days: self.terms.discount_days };
        let amount = ((self.median * d.lognormal(0.9) * 100.0).round() as Cents).max(MIN_INVOICE);
        let dispute =
            d.chance(self.payer.dispute_rate).then(|| (issue + d.int(3, net + 20), d.one_of(&DISPUTE_REASONS)));
        let settled = match dispute {
            Some((raised, _)) => self.payer.settle_dispute(d, raised),
            None => self.payer.settle(d, &dates, &self.history),
        };
        let payments = self.schedule(d, &dates, amount, settled);
        let written_off = (settled.is_none() && dispute.is_none())
            .then(|| dates.due + 180 + d.int(0, 60))
            .filter(|&day| day <= self.history.as_of && d.chance(0.7));
        Fate { issue, due: dates.due, amount, dispute, payments, settled, written_off }
    }

    /// The payments on one invoice: in full when settled, sometimes in parts.
    fn schedule(&self, d: &mut Dice, dates: &Dates, amount: Cents, settled: Option<Day>) -> Vec<(Day, Cents)> {
        let split = d.chance(self.payer.profile.partial_rate());
        match (settled, self.payer.stop) {
            (Some(last), _) if split => instalments(d, dates.issue.max(last - 45), last, amount),
            (Some(last), _) => vec![(last, amount)],
            (None, Some(stop)) if split && dates.issue <= stop => {
                let day = d.int(dates.issue, stop.min(dates.due + 60));
                vec![(day, part_of(d, amount, 0.1, 0.7))]
            }
            (None, _) => Vec::new(),
        }
    }

    /// Write the invoice and what happened to it by the as-of date (the ladder's steps come later, from all the
    /// customer's invoices at once).
    fn record(&self, d: &mut Dice, fate: &Fate, chunk: &mut Chunk, tally: &mut Tally) {
        let as_of = self.history.as_of;
        let local = chunk.invoices.len() as u32;
        let paid: Cents = fate.payments.iter().filter(|&&(on, _)| on <= as_of).map(|&(_, a)| a).sum();
        let open = fate.amount - paid;
        let status = fate.status(open, as_of);
        chunk.invoices.push(InvoiceRow {
            customer: self.index,
            currency: self.currency,
            issue: fate.issue,
            due: fate.due,
            amount: fate.amount,
            open,
            status,
            dispute: fate.dispute.filter(|_| status == Status::Disputed),
        });
        self.pay(d, fate, local, &mut chunk.payments);
        self.promise(d, fate, local, &mut chunk.promises);
        if status == Status::Open && fate.due < as_of {
            tally.overdue += open;
        }
        tally.long_overdue |= matches!(status, Status::Open | Status::WrittenOff) && fate.due + 45 < as_of;
    }

    /// The payments made by the as-of date, now and then with unapplied cash.
    fn pay(&self, d: &mut Dice, fate: &Fate, local: u32, out: &mut Vec<PaymentRow>) {
        for &(paid_on, amount) in fate.payments.iter().filter(|&&(on, _)| on <= self.history.as_of) {
            out.push(PaymentRow { customer: self.index, invoice: Some(local), paid_on, amount });
            if d.chance(0.01) {
                let unapplied = ((amount as f64 * d.between(0.05, 1.0)) as Cents).max(1);
                out.push(PaymentRow { customer: self.index, invoice: None, paid_on, amount: unapplied });
            }
        }
    }

    /// Promises on a late invoice: broken ones (due date passed, not paid),
    /// then perhaps one kept by the final payment (active if that is still to come).
    fn promise(&self, d: &mut Dice, fate: &Fate, local: u32, out: &mut Vec<PromiseRow>) {
        let profile = self.payer.profile;
        if fate.dispute.is_some() || !d.chance(profile.promise_rate()) {
            return;
        }
        let (as_of, closed) = (self.history.as_of, fate.closed());
        let row = |made_on, due_on, amount| PromiseRow {
            customer: self.index,
            invoice: Some(local),
            made_on,
            due_on,
            amount,
            plan: None,
        };
        let mut made_on = fate.due + d.int(5, 15);
        while made_on <= as_of && made_on < closed {
            if !d.chance(profile.break_rate()) {
                if let (Some(last), Some(&(_, amount))) = (fate.settled, fate.payments.last()) {
                    let made_on = made_on.max(last - d.int(2, 10));
                    if made_on <= as_of {
                        out.push(row(made_on, last + d.int(0, 3), amount));
                    }
                }
                return;
            }
            let due_on = made_on + d.int(5, 14);
            if due_on >= closed {
                return;
            }
            out.push(row(made_on, due_on, fate.open_on(made_on)));
            made_on = due_on + d.int(3, 12);
        }
    }

    /// Perhaps a payment plan for the overdue balance: 3–6 monthly
    /// instalments agreed in the last three weeks, none due yet.
    fn plan(&self, d: &mut Dice, overdue: Cents, chunk: &mut Chunk) {
        if overdue < MIN_PLAN || !d.chance(self.payer.profile.plan_rate()) {
            return;
        }
        let plan = chunk.plans;
        chunk.plans += 1;
        let n = d.int(3, 6);
        let made_on = self.history.as_of - d.int(0, 20);
        let each = overdue / Cents::from(n);
        for k in 1..=n {
            chunk.promises.push(PromiseRow {
                customer: self.index,
                invoice: None,
                made_on,
                due_on: calendar::add_months(made_on, k),
                amount: if k == n { overdue - each * Cents::from(n - 1) } else { each },
                plan: Some(plan),
            });
        }
    }
}

/// One or two earlier part payments in `from..last`, the rest on `last`.
fn instalments(d: &mut Dice, from: Day, last: Day, amount: Cents) -> Vec<(Day, Cents)> {
    let mut days: Vec<Day> = (0..d.int(1, 2)).map(|_| d.int(from, last - 1)).filter(|&day| day < last).collect();
    days.sort_unstable();
    let mut left = amount;
    let mut out = Vec::with_capacity(days.len() + 1);
    for day in days {
        let part = part_of(d, left, 0.2, 0.6);
        out.push((day, part));
        left -= part;
    }
    out.push((last, left));
    out
}

/// A share in `lo..hi` of `amount`, at least a cent and leaving at least a cent.
fn part_of(d: &mut Dice, amount: Cents, lo: f64, hi: f64) -> Cents {
    ((amount as f64 * d.between(lo, hi)) as Cents).clamp(1, (amount - 1).max(1))
}
