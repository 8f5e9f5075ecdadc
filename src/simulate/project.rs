//! The forward projection: each policy day by day over a horizon, Monte
//! Carlo, runs in parallel, reproducible by seed.
//!
//! Each run owns one simulated ledger, forked from the loaded ledger (never
//! copied per day). What changes from day to day is small and is applied in
//! place or appended: open amounts and statuses of invoices, new invoices,
//! payments and executed actions, holds and limits of customers. So the next
//! run on the same worker puts the same fork back in place instead of
//! cloning the loaded ledger again ([`Forks`]).
//! Each simulated day:
//! 1. new invoices arrive at each customer's historical rate and size; a
//!    customer on hold, or over a limit the simulation lowered, buys nothing
//!    (sales lost to the policy);
//! 2. scheduled events fall due: payments (in full, less a discount taken),
//!    agency outcomes, write-offs at the scenario's age;
//! 3. the policy runs through [`crate::plan::evaluate`] on the simulated
//!    history, and its actions are appended to that history (so ladders
//!    advance, caps and cooldowns bind, fees charge once) and applied:
//!    contacts may pull a payment earlier, discounts are taken by a share of
//!    the offers, holds and limit cuts bind, referrals go to the agency.
//!
//! Every draw is keyed by what it is about ([`super::draw`]): (seed, run,
//! customer, invoice or day, purpose) — whether and how much a customer buys
//! on a day, when each invoice is paid, the outcome of each action. Run `r`
//! of every policy draws the same numbers for the same customer, invoice,
//! day and purpose (common random numbers), whatever the policies did
//! differently elsewhere: a customer treated alike by two policies has the
//! same outcomes under both, new sales differ only through holds and limit
//! cuts, and the variant-minus-baseline spread is the spread of paired
//! differences. The result is the same at any thread count.

use super::behaviour::{Behaviour, Learn, RunParams};
use super::draw::{Key, Part, Purpose, day_part};
use super::wake::{Schedule, Wake};
use super::{SimError, cents, to_f64};
use crate::engine::{self, PlannedAction};
use crate::facts::{self, Context, FactsConfig, kpi};
use crate::ledger::{
    ActionKind, ActionRecord, Acts, ByCustomer, CustIx, InvIx, Invoice, InvoiceStatus, Ledger, LoadReport, Outcome,
    Payment, RuleId, Text,
};
use crate::money;
use crate::plan;
use crate::policy::CompiledPolicy;
use crate::policy::raw::OnError;
use chrono::{Duration, NaiveDate};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::{Condvar, Mutex, PoisonError};

/// The simulation never reads the priority score (it orders the worklist;
/// it decides nothing) nor the actions' reasons and facts, so none is computed.
const NO_PRIORITY: engine::EvalOptions = engine::EvalOptions { priority: false, words: false };

/// How customers respond to actions (the `[response]` table of a scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Response {
    /// Chance that an email makes the customer pay the invoices concerned
    /// within `within_days` (if it would have paid later).
    pub email: f64,
    pub sms: f64,
    pub letter: f64,
    pub statement: f64,
    pub call: f64,
    /// Days within which a customer that responds pays (uniform 1..=N).
    pub within_days: i32,
    /// Chance that a call is answered (a conversation, as the facts count it).
    pub call_answered: f64,
}

impl Default for Response {
    fn default() -> Self {
        Response {
            email: 0.05,
            sms: 0.05,
            letter: 0.10,
            statement: 0.02,
            call: 0.20,
            within_days: 7,
            call_answered: 0.5,
        }
    }
}

/// A what-if scenario: response assumptions and outcome parameters, from a
/// TOML file; every key has a documented default (docs/simulation.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub response: Response,
    /// Share of early-payment discount offers taken: paid by the offer's
    /// pay-by date, less the discount.
    pub discount_taken: f64,
    /// Chance that an account referred to an agency (or legal) is recovered.
    pub agency_recovery: f64,
    /// The agency's fee, a share of what it recovers.
    pub agency_fee: f64,
    /// Days from referral to the agency's outcome.
    pub agency_days: i64,
    /// Days past due at which an open invoice is written off.
    pub write_off_days: i64,
    /// A portfolio-wide factor shared by every customer of a run: each week
    /// of the horizon draws a share `s` (normal, this standard deviation,
    /// within ±0.9) of the payments falling due to be made in it that slip
    /// to the next week (`s > 0`) or come a week early (`s < 0`): weeks
    /// that move together, as real weeks do (payment runs, month and
    /// quarter ends, a shared slowdown). 0: off; 0.3 by default, which
    /// gave bands holding 70–90 % of the back-tested weeks (docs/simulation.md).
    #[serde(skip_serializing_if = "is_zero")]
    pub week_slip_sd: f64,
    pub learn: Learn,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            response: Response::default(),
            discount_taken: 0.3,
            agency_recovery: 0.5,
            agency_fee: 0.25,
            agency_days: 45,
            write_off_days: 180,
            week_slip_sd: 0.3,
            learn: Learn::default(),
        }
    }
}

impl Scenario {
    /// Parse a scenario file's text; unknown keys are errors.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// What to project.
#[derive(Debug, Clone)]
pub struct Projection {
    pub days: u32,
    pub runs: u32,
    pub seed: u64,
    pub scenario: Scenario,
    /// Evaluate every customer every day (the reference the wake-up
    /// scheduling of [`super::wake`] is checked against; slower).
    pub every_day: bool,
}

/// One currency's weekly figures of one run: money in that currency, in
/// cents; `dso` (days) of that currency's customers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekMoney {
    pub cash_collected: Decimal,
    pub write_offs: Decimal,
    pub agency_recovered: Decimal,
    pub agency_fees: Decimal,
    pub discount_cost: Decimal,
    /// Fees, compensation and interest charged with actions, collected when the invoice is paid.
    pub fees_collected: Decimal,
    pub new_sales: Decimal,
    pub sales_lost: Decimal,
    /// At the week's end.
    pub ar_total: Decimal,
    pub overdue: Decimal,
    pub overdue_by_bucket: Vec<Decimal>,
    /// Written as a string (Rust's shortest exact form): a simulation
    /// shard's runs read back bit for bit (`simulate::shard`).
    #[serde(with = "exact_f64")]
    pub dso: Option<f64>,
    /// Balances open today (at the as-of date) settled by payment this week,
    /// gross of discounts and agency fees: the Monte Carlo side of the
    /// roll-rate check.
    pub opening_paid: Decimal,
}

/// The weekly figures of one run: counts for the whole portfolio, money
/// per currency (never added across currencies).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Week {
    pub calls: u64,
    pub letters: u64,
    /// One per currency, in the order of [`Forward::currencies`] (the
    /// customers' currencies, sorted).
    pub money: Vec<WeekMoney>,
}

/// An `Option<f64>` as a JSON string that reads back to the same bits
/// (serde_json's own float parsing may miss the last bit).
mod exact_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(x) => s.serialize_some(&x.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| t.parse::<f64>().map_err(|e| serde::de::Error::custom(format!("`{t}` is not a number: {e}"))))
            .transpose()
    }
}

/// The names of the weekly money metrics, in output order (the overdue
/// buckets follow as `overdue_<bucket>`), each given per currency.
pub const METRICS: &[&str] = &[
    "cash_collected",
    "dso",
    "ar_total",
    "overdue",
    "write_offs",
    "agency_recovered",
    "agency_fees",
    "discount_cost",
    "fees_collected",
    "new_sales",
    "sales_lost",
    "opening_paid",
];

/// The weekly counts, for the whole portfolio (after the money metrics).
pub const COUNTS: &[&str] = &["calls", "letters"];

/// What a metric's values are: money (of the row's currency), a count, or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Money,
    Count,
    Days,
}

impl Unit {
    /// The unit of a forward metric.
    pub fn of(metric: &str) -> Unit {
        match metric {
            "calls" | "letters" => Unit::Count,
            "dso" => Unit::Days,
            _ => Unit::Money,
        }
    }
}

/// A metric's identifier for an aging bucket label: `1-30` → `overdue_1_30`,
/// `91+` → `overdue_91_plus`.
pub fn bucket_metric(label: &str) -> String {
    format!("overdue_{}", label.replace('+', "_plus").replace('-', "_"))
}

/// One metric of a week: its identifier, its currency (none for counts)
/// and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub metric: String,
    pub currency: Option<String>,
    pub value: Decimal,
}

impl Week {
    /// An empty week of `currencies` currencies.
    pub fn new(currencies: usize) -> Week {
        Week { calls: 0, letters: 0, money: vec![WeekMoney::default(); currencies] }
    }

    /// Every metric as a number (`dso` rounded to cents): per currency (in
    /// `codes` order) the money metrics and the overdue buckets as
    /// `overdue_<bucket>`, then the counts.
    pub fn metrics(&self, labels: &[String], codes: &[String]) -> Vec<MetricValue> {
        let mut v = Vec::with_capacity(self.money.len() * (METRICS.len() + labels.len()) + COUNTS.len());
        for (m, code) in self.money.iter().zip(codes) {
            let mut push = |metric: &str, value: Decimal| {
                v.push(MetricValue { metric: metric.to_string(), currency: Some(code.clone()), value })
            };
            push("cash_collected", m.cash_collected);
            push("dso", m.dso.map(cents).unwrap_or_default());
            push("ar_total", m.ar_total);
            push("overdue", m.overdue);
            push("write_offs", m.write_offs);
            push("agency_recovered", m.agency_recovered);
            push("agency_fees", m.agency_fees);
            push("discount_cost", m.discount_cost);
            push("fees_collected", m.fees_collected);
            push("new_sales", m.new_sales);
            push("sales_lost", m.sales_lost);
            push("opening_paid", m.opening_paid);
            for (l, a) in labels.iter().zip(&m.overdue_by_bucket).skip(1) {
                push(&bucket_metric(l), *a);
            }
        }
        v.push(MetricValue { metric: "calls".into(), currency: None, value: Decimal::from(self.calls) });
        v.push(MetricValue { metric: "letters".into(), currency: None, value: Decimal::from(self.letters) });
        v
    }
}

/// A scheduled event of one invoice. Stale events (the invoice was paid or
/// rescheduled since) are skipped when they come up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Pay(InvIx),
    Agency(InvIx, bool),
    WriteOff(InvIx),
}

/// The events scheduled for each day of the horizon (day `k` after the
/// as-of date at `days[k - 1]`; not a map of dates: no node per date, no
/// events past the horizon). An event on a day the run never reaches (the
/// as-of date or before, or past the horizon) is not kept: it would never
/// come up.
struct Queue {
    as_of: NaiveDate,
    days: Vec<Vec<Event>>,
}

impl Queue {
    /// A queue for the `days` days after `as_of`.
    fn new(as_of: NaiveDate, days: u32) -> Self {
        Queue { as_of, days: (0..days).map(|_| Vec::new()).collect() }
    }

    fn slot(&mut self, day: NaiveDate) -> Option<&mut Vec<Event>> {
        let k = usize::try_from((day - self.as_of).num_days() - 1).ok()?;
        self.days.get_mut(k)
    }

    fn at(&mut self, day: NaiveDate, e: Event) {
        if let Some(slot) = self.slot(day) {
            slot.push(e);
        }
    }

    /// The events of `day`, in the order they were scheduled (taken: an
    /// event scheduled for it later never comes up).
    fn take(&mut self, day: NaiveDate) -> Vec<Event> {
        self.slot(day).map(std::mem::take).unwrap_or_default()
    }
}

/// One run's simulated ledger and what it keeps beside it.
struct Sim<'a> {
    ledger: Ledger,
    world: &'a World<'a>,
    edges: Vec<i32>,
    /// The run's key: every draw's key narrows it.
    key: Key,
    queue: Queue,
    /// The day's planned actions and an action's invoices, kept from day to
    /// day and action to action (cleared, never freed during a run).
    planned: Vec<(CustIx, PlannedAction)>,
    concerned: Vec<InvIx>,
    /// Per invoice: the payment date it is scheduled for.
    pay_on: Vec<Option<NaiveDate>>,
    referred: Vec<bool>,
    discount: Vec<Decimal>,
    fees: Vec<Decimal>,
    /// The invoices open at the last week's close or issued since, in
    /// ledger order (an invoice once settled never reopens).
    live: Vec<InvIx>,
    /// Customers something happened to since their last evaluation.
    touched: Vec<bool>,
    /// The customers a day evaluates (kept from day to day).
    todo: Vec<CustIx>,
    /// When each customer must be evaluated again at the latest.
    wake: Schedule,
    start_limit: Vec<Option<Decimal>>,
    open: Vec<Decimal>,
    week: Week,
    serial: u64,
    /// Invoices of the loaded ledger (the rest were issued by the simulation).
    opening: usize,
    /// What each customer's history gives so far, for its facts.
    facts: facts::cache::Cache,
    /// With `week_slip_sd`: each week's slip share (empty when off).
    slip: Vec<f64>,
    /// Per customer: it has stopped paying in this run (`learn.silence`).
    stopped: Vec<bool>,
    /// This run's draw of each customer's behaviour (`learn.bootstrap`; empty when off).
    params: RunParams,
}

/// What every run of every policy reads: learned and built once per
/// projection ([`learn`]).
struct World<'a> {
    shared: Shared,
    behaviour: Behaviour,
    /// Monthly Paid rate by aging bucket (roll-rate model), for stalled invoices.
    stall: &'a [f64],
    as_of: NaiveDate,
    p: &'a Projection,
    /// The baseline policy's `[kpis]`: the portfolio figures of every policy's weeks.
    kpis: FactsConfig,
}

/// A policy as every run of it reads it: compiled, its wake-up thresholds
/// ([`Wake::of`]) and its day one shared by its runs, each made once.
struct Runs<'p> {
    policy: &'p CompiledPolicy,
    wake: Wake,
    day_one: Option<DayOne>,
}

impl<'p> Runs<'p> {
    /// `policy` with its thresholds, and `day_one` if its runs share one.
    fn of(policy: &'p CompiledPolicy, day_one: Option<DayOne>) -> Self {
        Runs { policy, wake: Wake::of(policy, &policy.rules.kpis), day_one }
    }
}

/// What every run of every policy shares, read-only: built once.
struct Shared {
    /// On hold at the as-of date as the facts see it.
    held: Vec<bool>,
    /// Per customer: its daily rate of new invoices, none if it has no
    /// amounts to draw from (it then buys nothing and draws nothing), and
    /// its number as a key part, hashed once for its sale draw of every day.
    sale_rate: Vec<Option<(f64, Part)>>,
    /// The loaded invoices issued within `dso_days` of the as-of date, in
    /// ledger order: the only loaded ones a week's DSO sales can count.
    recent_sales: Vec<(NaiveDate, Decimal, usize)>,
    /// What stands to the customers' credit, by the date it does: cash on
    /// account and open credit notes (the simulation adds neither; the
    /// week's AR in the DSO is net of them, as [`kpi::portfolio`]'s).
    on_account: Vec<(NaiveDate, Decimal, usize)>,
    /// Some loaded invoice id has the form of the simulation's.
    sim_like_ids: bool,
    /// The customers' currencies, sorted: money is summed per currency.
    currencies: Vec<String>,
    /// Per customer: the index of its currency in `currencies`.
    currency: Vec<u32>,
}

impl Shared {
    fn new(base: &Ledger, as_of: NaiveDate, behaviour: &Behaviour, cfg: &FactsConfig) -> Self {
        // On hold as the facts see it: the last hold or release executed, else the flag.
        let held = crate::facts::map_customers(base, &Context::new(as_of, cfg.clone()), |cf, _| cf.on_hold);
        let sale_rate = (behaviour.payers.iter().enumerate())
            .map(|(c, p)| (!p.amounts.is_empty()).then(|| (p.daily_rate, Part::of(c as u64))))
            .collect();
        let (currencies, currency) = currencies(base);
        let cx = |c: CustIx| currency[c as usize] as usize;
        let from = as_of - Duration::days(cfg.dso_days);
        // Credit notes count as negative sales (net credit sales).
        let notes = base.credit_notes.iter().filter(|n| n.status != crate::ledger::InvoiceStatus::WrittenOff);
        let recent_sales = base
            .invoices
            .iter()
            .filter(|i| i.issue_date > from)
            .map(|i| (i.issue_date, i.amount, cx(i.customer)))
            .chain(notes.clone().filter(|n| n.issue_date > from).map(|n| (n.issue_date, -n.amount, cx(n.customer))))
            .collect();
        let cash = base.payments.iter().filter(|p| p.invoice.is_none()).map(|p| (p.paid_on, p.amount, cx(p.customer)));
        let on_account = cash.chain(notes.map(|n| (n.issue_date, n.open_on(NaiveDate::MAX), cx(n.customer)))).collect();
        let sim_like_ids = base.invoices.iter().any(|i| i.id.starts_with(SIM_INVOICE));
        Shared { held, sale_rate, recent_sales, on_account, sim_like_ids, currencies, currency }
    }
}

/// The customers' currencies, sorted, and each customer's index among them.
pub fn currencies(ledger: &Ledger) -> (Vec<String>, Vec<u32>) {
    let codes: std::collections::BTreeSet<&str> = ledger.customers.iter().map(|c| c.currency.as_str()).collect();
    let codes: Vec<String> = codes.into_iter().map(str::to_string).collect();
    let ix = ledger
        .customers
        .iter()
        .map(|c| codes.binary_search_by(|x| x.as_str().cmp(c.currency.as_str())).map_or(0, |i| i as u32))
        .collect();
    (codes, ix)
}

/// What a run may change in a fork of the loaded ledger, as loaded: a fork
/// is put back from this (the loaded ledger itself may be a fork).
struct Pristine {
    /// Per customer: on hold, credit limit.
    customers: Vec<(bool, Option<Decimal>)>,
    /// Per loaded invoice: open amount, status.
    invoices: Vec<(Decimal, InvoiceStatus)>,
    payments: usize,
    actions: usize,
    /// The loaded ledger's indexes of the rows a run appends to.
    invoices_by_customer: ByCustomer,
    payments_by_customer: ByCustomer,
    payments_by_invoice: ByCustomer,
    acts: Acts,
    /// Never appended to; kept to give the loaded ledger back as it was.
    promises_by_customer: ByCustomer,
}

impl Pristine {
    fn of(l: &Ledger) -> Self {
        Pristine {
            customers: l.customers.iter().map(|c| (c.on_hold, c.credit_limit)).collect(),
            invoices: l.invoices.iter().map(|i| (i.open_amount, i.status)).collect(),
            payments: l.payments.len(),
            actions: l.actions.len(),
            invoices_by_customer: l.invoices_by_customer.clone(),
            payments_by_customer: l.payments_by_customer.clone(),
            payments_by_invoice: l.payments_by_invoice.clone(),
            acts: l.acts.clone(),
            promises_by_customer: l.promises_by_customer.clone(),
        }
    }

    /// Put a run's fork back to what [`fork`] made. A run only appends
    /// invoices, payments and actions, and changes the open amount and
    /// status of invoices and the hold and limit of customers (a test
    /// checks that the result is a fresh fork).
    fn reset(&self, l: &mut Ledger) {
        for (c, &(on_hold, limit)) in l.customers.iter_mut().zip(&self.customers) {
            c.on_hold = on_hold;
            c.credit_limit = limit;
        }
        l.invoices.truncate(self.invoices.len());
        for (i, &(open, status)) in l.invoices.iter_mut().zip(&self.invoices) {
            i.open_amount = open;
            i.status = status;
        }
        l.payments.truncate(self.payments);
        l.actions.truncate(self.actions);
        l.invoices_by_customer.reset_growable(&self.invoices_by_customer);
        l.payments_by_customer.reset_growable(&self.payments_by_customer);
        l.acts.reset_growable(&self.acts);
        l.payments_by_invoice.reset_growable(&self.payments_by_invoice);
        l.payments_by_invoice.keep_groups(self.invoices.len());
    }
}

/// The runs' ledgers: no more forks alive than runs in progress. When a
/// run ends its fork is put back to the loaded state in place (the rows it
/// appended dropped, the fields it changed restored) and the next run
/// takes it: no clone of every row and no fresh pages per run.
struct Forks<'a> {
    pristine: Pristine,
    /// Where a fork comes from when none is free; none when the forks were
    /// all made up front ([`Forks::in_place`]): a run then waits for one.
    base: Option<&'a Ledger>,
    free: Mutex<Vec<Ledger>>,
    given: Condvar,
    /// The loaded ledger's report, kept aside while it is a fork.
    report: LoadReport,
}

impl<'a> Forks<'a> {
    /// Forks of `base`, made as runs need them.
    fn new(base: &'a Ledger) -> Self {
        Forks {
            pristine: Pristine::of(base),
            base: Some(base),
            free: Mutex::new(Vec::new()),
            given: Condvar::new(),
            report: LoadReport::default(),
        }
    }

    /// `n` forks (at least one), the first of them `ledger` itself (one
    /// ledger less in memory); [`Forks::finish`] puts it back.
    fn in_place(ledger: &mut Ledger, n: usize) -> Forks<'static> {
        let pristine = Pristine::of(ledger);
        let report = std::mem::take(&mut ledger.report);
        let mut first = std::mem::take(ledger);
        first.make_growable();
        let mut free: Vec<Ledger> = (1..n).map(|_| fork(&first)).collect();
        free.push(first);
        Forks { pristine, base: None, free: Mutex::new(free), given: Condvar::new(), report }
    }

    fn take(&self) -> Ledger {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(l) = free.pop() {
                return l;
            }
            if let Some(base) = self.base {
                drop(free);
                return fork(base);
            }
            free = self.given.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give(&self, mut ledger: Ledger) {
        self.pristine.reset(&mut ledger);
        self.free.lock().unwrap_or_else(PoisonError::into_inner).push(ledger);
        self.given.notify_one();
    }

    /// Put the loaded ledger back (after [`Forks::in_place`]): a fork, every
    /// one of them reset when its run ended, with the loaded indexes.
    fn finish(self, ledger: &mut Ledger) {
        let Forks { pristine, free, report, .. } = self;
        let Some(mut l) = free.into_inner().unwrap_or_else(PoisonError::into_inner).pop() else { return };
        l.invoices_by_customer = pristine.invoices_by_customer;
        l.payments_by_customer = pristine.payments_by_customer;
        l.payments_by_invoice = pristine.payments_by_invoice;
        l.acts = pristine.acts;
        l.promises_by_customer = pristine.promises_by_customer;
        l.report = report;
        *ledger = l;
    }
}

/// A run's own ledger, made once from `base` (rows and indexes cloned, never
/// re-indexed: rows the run appends are indexed one by one).
fn fork(base: &Ledger) -> Ledger {
    let mut l = Ledger {
        customers: base.customers.clone(),
        invoices: base.invoices.clone(),
        payments: base.payments.clone(),
        promises: base.promises.clone(),
        actions: base.actions.clone(),
        credit_notes: base.credit_notes.clone(),
        credit_notes_by_customer: base.credit_notes_by_customer.clone(),
        invoices_by_customer: base.invoices_by_customer.clone(),
        payments_by_customer: base.payments_by_customer.clone(),
        promises_by_customer: base.promises_by_customer.clone(),
        payments_by_invoice: base.payments_by_invoice.clone(),
        acts: base.acts.clone(),
        report: LoadReport::default(),
        currencies: Default::default(),
    };
    l.make_growable();
    l
}

/// The prefix of the ids of the invoices the simulation issues.
const SIM_INVOICE: &str = "SIMINV";

/// `{prefix}{serial:08}` without a heap allocation (it fits inline in a
/// [`Text`]), written into a buffer on the stack and made a [`Text`] once
/// (one character pushed at a time cost 1.6 % of a simulation's
/// instructions: docs/simulation.md, "Session 14").
fn sim_id(prefix: &str, serial: u64) -> Text {
    let mut buf = [0u8; 48];
    let p = prefix.len();
    if p > buf.len() - 20 {
        return Text::from(format!("{prefix}{serial:08}"));
    }
    buf[..p].copy_from_slice(prefix.as_bytes());
    let mut digits = [b'0'; 20];
    let (mut n, mut k) = (serial, digits.len());
    while n > 0 {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let digits = &digits[k.min(digits.len() - 8)..];
    buf[p..p + digits.len()].copy_from_slice(digits);
    // A whole `&str` and ASCII digits: always UTF-8.
    std::str::from_utf8(&buf[..p + digits.len()])
        .map_or_else(|_| Text::from(format!("{prefix}{serial:08}")), Text::from)
}

fn bucket(edges: &[i32], dpd: i64) -> usize {
    if dpd <= 0 {
        return 0;
    }
    1 + edges.iter().take_while(|&&e| dpd > i64::from(e)).count()
}

/// The slip share of each week of a run of `days` days (and the week
/// after), keyed by the run and the week: the same under every policy.
/// Empty when `sd` is 0.
fn week_slips(key: Key, sd: f64, days: u32) -> Vec<f64> {
    if sd <= 0.0 {
        return Vec::new();
    }
    (0..=u64::from(days) / 7 + 1)
        .map(|w| {
            let mut d = key.purpose(Purpose::Portfolio).with(w).draws();
            // Box-Muller: a standard normal from two uniforms.
            let (u1, u2) = (d.f64().max(f64::MIN_POSITIVE), d.f64());
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (sd * z).clamp(-0.9, 0.9)
        })
        .collect()
}

/// Which customers have stopped paying in the run of `key`: one draw per
/// customer with a chance of it (a silent one), keyed by the run and the
/// customer, so the same under every policy; all false without silence.
fn stopped(key: Key, behaviour: &Behaviour) -> Vec<bool> {
    let key = key.purpose(Purpose::Stopped);
    behaviour
        .payers
        .iter()
        .enumerate()
        .map(|(c, p)| p.stopped > 0.0 && key.with(c as u64).draws().f64() < p.stopped)
        .collect()
}

impl<'a> Sim<'a> {
    fn new(ledger: Ledger, world: &'a World<'a>, key: Key) -> Self {
        let (as_of, days) = (world.as_of, world.p.days);
        let n = ledger.invoices.len();
        let nc = ledger.customers.len();
        let mut open = vec![Decimal::ZERO; ledger.customers.len()];
        let mut live = Vec::new();
        for (i, inv) in ledger.invoices.iter().enumerate().filter(|(_, i)| i.is_open()) {
            open[inv.customer as usize] += inv.open_amount;
            live.push(i as InvIx);
        }
        Sim {
            start_limit: ledger.customers.iter().map(|c| c.credit_limit).collect(),
            ledger,
            world,
            edges: world.kpis.bucket_edges.clone(),
            key,
            queue: Queue::new(as_of, days),
            planned: Vec::new(),
            concerned: Vec::new(),
            pay_on: vec![None; n],
            referred: vec![false; n],
            discount: vec![Decimal::ZERO; n],
            fees: vec![Decimal::ZERO; n],
            live,
            touched: vec![true; nc],
            todo: Vec::new(),
            wake: Schedule::default(),
            open,
            week: Week::new(world.shared.currencies.len()),
            serial: 0,
            opening: n,
            facts: facts::cache::Cache::new(),
            slip: week_slips(key, world.p.scenario.week_slip_sd, days),
            stopped: stopped(key, &world.behaviour),
            params: world.behaviour.draw_run(key),
        }
    }

    fn at(&mut self, day: NaiveDate, e: Event) {
        self.queue.at(day, e);
    }

    /// Schedule invoice `i`'s payment as seen on `today`, and its write-off.
    /// Its draws are keyed by the invoice (one open at the as-of date) or by
    /// its customer and issue day (one the simulation issued: at most one a
    /// customer and day), never by what was drawn before.
    fn schedule(&mut self, i: InvIx, today: NaiveDate) {
        let inv = &self.ledger.invoices[i as usize];
        let (c, due) = (inv.customer as usize, inv.due_date);
        if self.stopped[c] {
            // It pays nothing more in this run: written off at `write_off_days`
            // unless an agency recovers it.
            self.pay_on[i as usize] = None;
            return;
        }
        let dpd = (today - due).num_days() as i32;
        let key = if (i as usize) < self.opening {
            self.key.purpose(Purpose::PayOpen).with(u64::from(i))
        } else {
            self.key.purpose(Purpose::PayNew).with(c as u64).with(day_part(inv.issue_date))
        };
        let mut draws = key.draws();
        let shift = self.params.shift.get(c).copied().unwrap_or(0);
        let day = match self.world.behaviour.draw_days_late_shifted(c, dpd, shift, &mut draws) {
            Some(late) => due + Duration::days(i64::from(late)),
            None => {
                // Stalled: a daily hazard from the bucket's monthly Paid rate.
                let monthly = self.world.stall.get(bucket(&self.edges, i64::from(dpd))).copied().unwrap_or(0.0);
                let daily = 1.0 - (1.0 - monthly.clamp(0.0, 0.999)).powf(1.0 / 30.0);
                if daily <= 0.0 {
                    due + Duration::days(self.world.p.scenario.write_off_days + 1)
                } else {
                    let u: f64 = draws.f64().max(f64::MIN_POSITIVE);
                    let wait = (u.ln() / (1.0 - daily).ln()).ceil().clamp(1.0, 10_000.0) as i64;
                    today + Duration::days(wait)
                }
            }
        };
        let mut day = day.max(today + Duration::days(1));
        // The weekday and month-end pattern: one more draw, only when the ledger shows one.
        if let Some(cal) = &self.world.behaviour.calendar {
            day = cal.place(day, today + Duration::days(1), draws.f64());
        }
        // The week's shared slip: one more draw of the invoice's own, only when on.
        let week = ((day - self.world.as_of).num_days() - 1) / 7;
        if let Some(&s) = usize::try_from(week).ok().and_then(|w| self.slip.get(w)) {
            let u = draws.f64();
            if s > 0.0 && u < s {
                day += Duration::days(7);
            } else if s < 0.0 && u < -s {
                day = (day - Duration::days(7)).max(today + Duration::days(1));
            }
        }
        self.pay_on[i as usize] = Some(day);
        self.at(day, Event::Pay(i));
    }

    fn start(&mut self, as_of: NaiveDate) {
        hold(&mut self.ledger, &self.world.shared);
        for i in 0..self.ledger.invoices.len() as InvIx {
            let inv = &self.ledger.invoices[i as usize];
            if inv.is_open() {
                let off = inv.due_date + Duration::days(self.world.p.scenario.write_off_days);
                self.schedule(i, as_of);
                self.at(off.max(as_of + Duration::days(1)), Event::WriteOff(i));
            }
        }
    }

    fn next_id(&mut self, prefix: &str) -> Text {
        self.serial += 1;
        sim_id(prefix, self.serial)
    }

    /// New invoices of the day, customer by customer. Whether a customer
    /// buys and how much are keyed by (customer, day): the same under every
    /// policy, which can only lose the sale (a hold, a lowered limit).
    fn sell(&mut self, day: NaiveDate) {
        let today = self.key.purpose(Purpose::Sale).with(day_part(day));
        // The run's own rates with the bootstrap, else the learned ones.
        let world = self.world;
        let own = std::mem::take(&mut self.params.sale_rate);
        for (c, &learned) in world.shared.sale_rate.iter().enumerate() {
            // The rates alone (not every customer's whole behaviour) are
            // read for the one draw per customer and day; the run's own
            // rate with the bootstrap (drawn for the same customers).
            let Some((rate, part)) = learned else { continue };
            let rate = match own.get(c) {
                Some(&Some(r)) => r,
                Some(None) => continue,
                None => rate,
            };
            let mut draws = today.with_part(part).draws();
            if draws.f64() >= rate {
                continue;
            }
            let p = &self.world.behaviour.payers[c];
            let amount = p.amounts[draws.below(p.amounts.len())];
            let cust = &self.ledger.customers[c];
            // A limit lowered by the policy, or set where there was none.
            let over = match (cust.credit_limit, self.start_limit[c]) {
                (Some(now), Some(start)) => now < start && self.open[c] + amount > now,
                (Some(now), None) => self.open[c] + amount > now,
                (None, _) => false,
            };
            let cx = self.world.shared.currency[c] as usize;
            if cust.on_hold || over {
                self.week.money[cx].sales_lost += amount;
                continue;
            }
            let due = day + Duration::days(i64::from(cust.terms.net_days));
            let id = self.next_id(SIM_INVOICE);
            let i = self.ledger.push_invoice(Invoice {
                id,
                customer: c as CustIx,
                issue_date: day,
                due_date: due,
                amount,
                open_amount: amount,
                status: InvoiceStatus::Open,
                disputed_since: None,
                dispute_reason: None,
            });
            self.live.push(i);
            self.touched[c] = true;
            self.pay_on.push(None);
            self.referred.push(false);
            self.discount.push(Decimal::ZERO);
            self.fees.push(Decimal::ZERO);
            self.open[c] += amount;
            self.week.money[cx].new_sales += amount;
            self.schedule(i, day);
            self.at(due + Duration::days(self.world.p.scenario.write_off_days), Event::WriteOff(i));
        }
        self.params.sale_rate = own;
    }

    /// Settle invoice `i` on `day`: a payment row for what is paid.
    fn settle(&mut self, i: InvIx, day: NaiveDate, paid: Decimal, status: InvoiceStatus) {
        let inv = &mut self.ledger.invoices[i as usize];
        let (c, open) = (inv.customer, inv.open_amount);
        inv.open_amount = Decimal::ZERO;
        inv.status = status;
        self.open[c as usize] -= open;
        self.pay_on[i as usize] = None;
        self.touched[c as usize] = true;
        if paid > Decimal::ZERO {
            let id = self.next_id("SIMPAY");
            self.ledger.push_payment(Payment { id, customer: c, invoice: Some(i), paid_on: day, amount: paid });
        }
    }

    fn events(&mut self, day: NaiveDate) {
        let events = self.queue.take(day);
        for &e in &events {
            let (Event::Pay(i) | Event::Agency(i, _) | Event::WriteOff(i)) = e;
            // The week's money of the invoice's currency (its customer's).
            let cx = self.world.shared.currency[self.ledger.invoices[i as usize].customer as usize] as usize;
            match e {
                Event::Pay(i) => {
                    let inv = &self.ledger.invoices[i as usize];
                    if !inv.is_open() || self.pay_on[i as usize] != Some(day) || self.referred[i as usize] {
                        continue;
                    }
                    let discount = self.discount[i as usize].min(inv.open_amount);
                    let paid = inv.open_amount - discount;
                    let fees = self.fees[i as usize];
                    let w = &mut self.week.money[cx];
                    w.cash_collected += paid;
                    if (i as usize) < self.opening {
                        w.opening_paid += inv.open_amount;
                    }
                    w.discount_cost += discount;
                    w.fees_collected += fees;
                    self.settle(i, day, paid, InvoiceStatus::Paid);
                }
                Event::Agency(i, recovered) => {
                    let open = self.ledger.invoices[i as usize].open_amount;
                    if !self.ledger.invoices[i as usize].is_open() {
                        continue;
                    }
                    if recovered {
                        let fee = cents(to_f64(open) * self.world.p.scenario.agency_fee);
                        let w = &mut self.week.money[cx];
                        w.agency_recovered += open - fee;
                        w.agency_fees += fee;
                        w.cash_collected += open - fee;
                        if (i as usize) < self.opening {
                            w.opening_paid += open;
                        }
                        self.settle(i, day, open, InvoiceStatus::Paid);
                    } else {
                        self.week.money[cx].write_offs += open;
                        self.settle(i, day, Decimal::ZERO, InvoiceStatus::WrittenOff);
                    }
                }
                Event::WriteOff(i) => {
                    let inv = &self.ledger.invoices[i as usize];
                    if !inv.is_open() || self.referred[i as usize] {
                        continue;
                    }
                    self.week.money[cx].write_offs += inv.open_amount;
                    self.settle(i, day, Decimal::ZERO, InvoiceStatus::WrittenOff);
                }
            }
        }
    }

    /// The invoices an action concerns, put in `out` (emptied first): its
    /// own, or the customer's open overdue invoices for an account-level
    /// action.
    fn concerned(&self, c: CustIx, ids: &[String], day: NaiveDate, out: &mut Vec<InvIx>) {
        out.clear();
        let rows = self.ledger.invoices_by_customer.rows(c);
        if ids.is_empty() {
            out.extend(rows.iter().copied().filter(|&i| {
                let inv = &self.ledger.invoices[i as usize];
                inv.is_open() && inv.due_date < day
            }));
            return;
        }
        // The engine names invoices of the customer it plans for: they are
        // looked up among that customer's rows, latest first (the open ones
        // an action names are mostly its latest), not in a map of every id.
        // Ids are unique unless loaded ids look like the simulation's: then
        // the first row with the id (a loaded invoice before a simulated one).
        let named = |id: &String| {
            let is = |&i: &InvIx| self.ledger.invoices[i as usize].id == id.as_str();
            if self.world.shared.sim_like_ids {
                rows.iter().copied().find(is)
            } else {
                rows.iter().rev().copied().find(is)
            }
        };
        out.extend(ids.iter().filter_map(named));
    }

    /// The day's planned actions, appended to `out`: every customer touched
    /// since its last evaluation or whose wake day has come (every customer
    /// with `every_day`), in ledger order, through the engine. With
    /// `day_one` (day one of a run that started from it): the customers not
    /// touched today plan what they planned there, and only the touched ones
    /// are evaluated.
    fn decide(
        &mut self,
        today: &Today<'_>,
        day_one: Option<&DayOne>,
        out: &mut Vec<(CustIx, PlannedAction)>,
    ) -> Result<(), plan::RunError> {
        let mut buf = Vec::new();
        if let Some(d) = day_one {
            #[cfg(test)]
            let from = out.len();
            let mut rest = d.planned.as_slice();
            for c in 0..self.ledger.customers.len() {
                let cx = c as CustIx;
                let k = rest.iter().take_while(|(d, _)| *d == cx).count();
                let (mine, after) = rest.split_at(k);
                rest = after;
                if !self.touched[c] {
                    out.extend(mine.iter().cloned());
                    continue;
                }
                self.touched[c] = false;
                today.evaluate(&self.ledger, &mut self.facts, &mut self.wake, cx, true, &mut buf, out)?;
            }
            #[cfg(test)]
            d.check(&self.ledger, today, &out[from..], &self.wake);
            return Ok(());
        }
        // The customers to evaluate are listed first. An evaluation reads
        // its customer's row, rows and states, scattered over memory and
        // mostly not in the cache: while one runs, those of the customer
        // [`FAR`] on are asked for ([`crate::prefetch`]), and what they
        // point to for the one [`NEAR`] on, so that they are there when its
        // turn comes.
        let mut todo = std::mem::take(&mut self.todo);
        todo.clear();
        let n = self.ledger.customers.len() as CustIx;
        todo.extend((0..n).filter(|&c| today.every_day || self.touched[c as usize] || self.wake.due(c, today.day)));
        for (k, &c) in todo.iter().enumerate() {
            if let Some(&f) = todo.get(k + FAR) {
                self.ledger.prefetch(f, false);
                self.facts.prefetch(&self.ledger, f, false);
                self.wake.prefetch(f, false);
            }
            if let Some(&m) = todo.get(k + NEAR) {
                self.ledger.prefetch(m, true);
                self.facts.prefetch(&self.ledger, m, true);
                self.wake.prefetch(m, true);
            }
            let touched = std::mem::replace(&mut self.touched[c as usize], false);
            today.evaluate(&self.ledger, &mut self.facts, &mut self.wake, c, touched, &mut buf, out)?;
        }
        self.todo = todo;
        Ok(())
    }

    /// Decide the day's actions with the policy, record and apply them.
    fn act(&mut self, today: &Today<'_>, day_one: Option<&DayOne>) -> Result<(), plan::RunError> {
        let day = today.day;
        let mut planned = std::mem::take(&mut self.planned);
        let mut invoices = std::mem::take(&mut self.concerned);
        self.decide(today, day_one, &mut planned)?;
        let r = self.world.p.scenario.response.clone();
        let today = self.key.purpose(Purpose::Action).with(day_part(day));
        // The actions of one customer and kind today, so far: an action's
        // draws are keyed by (customer, day, kind, how many came before it).
        let mut before: Vec<(CustIx, ActionKind, u64)> = Vec::new();
        for (c, a) in planned.drain(..) {
            self.touched[c as usize] = true;
            self.concerned(c, &a.invoice_ids, day, &mut invoices);
            if before.first().is_some_and(|b| b.0 != c) {
                before.clear();
            }
            let ordinal = match before.iter_mut().find(|b| b.1 == a.action) {
                Some(b) => {
                    b.2 += 1;
                    b.2
                }
                None => {
                    before.push((c, a.action, 0));
                    0
                }
            };
            // Drawn in a fixed order whatever the action's kind: whether a
            // call is answered, the response (or take-up, or recovery), its delay.
            let mut draws = today.with(u64::from(c)).with(a.action.key() | ordinal << 8).draws();
            let answered = draws.f64();
            let outcome = match a.action {
                ActionKind::Call if answered < r.call_answered => Outcome::Answered,
                ActionKind::Call => Outcome::NoAnswer,
                _ => Outcome::Sent,
            };
            let rule_id = RuleId::new(&a.rule_id);
            let record = |invoice| ActionRecord {
                id: Text::default(),
                customer: c,
                invoice,
                rule_id: rule_id.clone(),
                action: a.action,
                channel: a.channel,
                decided_on: day,
                executed_on: Some(day),
                outcome: Some(outcome),
                arm: Some(a.arm),
            };
            // One record per invoice it names, or one for the account if it names none.
            let (account, named) = if a.invoice_ids.is_empty() { (Some(None), &[][..]) } else { (None, &invoices[..]) };
            for inv in account.into_iter().chain(named.iter().map(|&i| Some(i))) {
                let mut rec = record(inv);
                rec.id = self.next_id("SIMACT");
                self.ledger.push_action(rec);
            }
            if let Some(&first) = invoices.first() {
                self.fees[first as usize] += a.fee + a.compensation + a.interest;
            }
            let respond = match a.action {
                ActionKind::Email => r.email,
                ActionKind::Sms => r.sms,
                ActionKind::Letter => r.letter,
                ActionKind::Statement => r.statement,
                ActionKind::Call => r.call,
                _ => 0.0,
            };
            self.week.calls += u64::from(a.action == ActionKind::Call);
            self.week.letters += u64::from(a.action == ActionKind::Letter);
            // One draw per action, whatever its kind: it decides the
            // response, the take-up of an offer or the agency's outcome.
            let draw = draws.f64();
            match a.action {
                _ if draw < respond => {
                    let within = 1 + draws.below(r.within_days.max(1) as usize) as i32;
                    self.pull(&invoices, day + Duration::days(i64::from(within)));
                }
                ActionKind::CreditHold => self.ledger.customers[c as usize].on_hold = true,
                ActionKind::ReleaseHold => self.ledger.customers[c as usize].on_hold = false,
                ActionKind::LimitChange => {
                    if let Some(l) = a.new_limit {
                        self.ledger.customers[c as usize].credit_limit = Some(l);
                    }
                }
                ActionKind::DiscountOffer if draw < self.world.p.scenario.discount_taken => {
                    let by = a.pay_by.unwrap_or(day + Duration::days(7)).max(day + Duration::days(1));
                    let total: Decimal = invoices.iter().map(|&i| self.ledger.invoices[i as usize].open_amount).sum();
                    for &i in &invoices {
                        let open = self.ledger.invoices[i as usize].open_amount;
                        if !total.is_zero() {
                            self.discount[i as usize] = (a.discount * open / total).round_dp(2);
                        }
                    }
                    self.pull(&invoices, by);
                }
                k if k.is_referral() => {
                    let recovered = draw < self.world.p.scenario.agency_recovery;
                    let when = day + Duration::days(self.world.p.scenario.agency_days.max(1));
                    for &i in &invoices {
                        if self.ledger.invoices[i as usize].is_open() && !self.referred[i as usize] {
                            self.referred[i as usize] = true;
                            self.pay_on[i as usize] = None;
                            self.at(when, Event::Agency(i, recovered));
                        }
                    }
                }
                _ => {}
            }
        }
        self.planned = planned;
        self.concerned = invoices;
        Ok(())
    }

    /// Move the payment of `invoices` to `day` if they would pay later.
    fn pull(&mut self, invoices: &[InvIx], day: NaiveDate) {
        for &i in invoices {
            let ix = i as usize;
            let inv = &self.ledger.invoices[ix];
            if !inv.is_open() || self.referred[ix] || self.stopped[inv.customer as usize] {
                continue;
            }
            if self.pay_on[ix].is_none_or(|d| d > day) {
                self.pay_on[ix] = Some(day);
                self.at(day, Event::Pay(i));
            }
        }
    }

    /// Close the week: portfolio figures at its last day — AR, overdue, the
    /// aging and the DSO as [`kpi::portfolio`] gives them (a test checks it),
    /// in one pass over the invoices without the KPIs the weeks do not show.
    fn close_week(&mut self, day: NaiveDate) -> Week {
        let world = self.world;
        let cfg = &world.kpis;
        let shared = &world.shared;
        let n = shared.currencies.len();
        let dso_from = day - Duration::days(cfg.dso_days);
        let mut aging = vec![vec![Decimal::ZERO; cfg.bucket_edges.len() + 2]; n];
        let (mut ar, mut current, mut sales) = (vec![Decimal::ZERO; n], vec![Decimal::ZERO; n], vec![Decimal::ZERO; n]);
        // Sales: the loaded invoices that can be in the window, then the
        // simulated ones (issued on days up to today), in ledger order. The
        // simulated ones are issued day by day, in date order: those issued
        // after the window's start are the last ones (found by a binary
        // search, not a walk over every invoice issued since the as-of date).
        let simulated = &self.ledger.invoices[self.opening..];
        debug_assert!(simulated.is_sorted_by_key(|i| i.issue_date), "simulated invoices in issue order");
        let simulated = &simulated[simulated.partition_point(|i| i.issue_date <= dso_from)..];
        let loaded = shared.recent_sales.iter().copied();
        let cur = |c: CustIx| shared.currency[c as usize] as usize;
        for (issued, amount, cx) in loaded.chain(simulated.iter().map(|i| (i.issue_date, i.amount, cur(i.customer)))) {
            if issued <= day && issued > dso_from {
                money::add(&mut sales[cx], amount);
            }
        }
        // AR and aging: the invoices still open, in ledger order.
        let invoices = &self.ledger.invoices;
        self.live.retain(|&i| invoices[i as usize].is_open());
        for inv in self.live.iter().map(|&i| &invoices[i as usize]).filter(|i| i.issue_date <= day) {
            if inv.status != InvoiceStatus::WrittenOff {
                let cx = cur(inv.customer);
                let dpd = (day - inv.due_date).num_days() as i32;
                money::add(&mut ar[cx], inv.open_amount);
                if dpd <= 0 {
                    money::add(&mut current[cx], inv.open_amount);
                }
                money::add(&mut aging[cx][cfg.bucket(dpd)], inv.open_amount);
            }
        }
        let mut credit = vec![Decimal::ZERO; n];
        for &(d, a, cx) in &shared.on_account {
            if d <= day {
                credit[cx] += a;
            }
        }
        let mut w = std::mem::replace(&mut self.week, Week::new(n));
        for (cx, (m, aging)) in w.money.iter_mut().zip(aging).enumerate() {
            m.ar_total = ar[cx];
            m.overdue = ar[cx] - current[cx];
            m.overdue_by_bucket = aging;
            m.dso =
                kpi::dso_standard((ar[cx] - credit[cx]).max(Decimal::ZERO), sales[cx], cfg.dso_days).map(kpi::round2);
        }
        w
    }
}

/// Put the holds of the as-of date on a fork (the first thing a run does).
fn hold(ledger: &mut Ledger, shared: &Shared) {
    for (c, &h) in ledger.customers.iter_mut().zip(&shared.held) {
        c.on_hold = h;
    }
}

/// How many evaluations ahead of its turn a customer's rows and states are
/// asked for, and then what those point to ([`Sim::decide`]). Measured on
/// 100,000 customers: from 3 and 1 to 12 and 6 ahead, no difference beyond
/// the noise.
const FAR: usize = 4;
const NEAR: usize = 2;

/// What every evaluation of a simulated day shares.
struct Today<'p> {
    policy: &'p CompiledPolicy,
    wake: &'p Wake,
    day: NaiveDate,
    ctx: Context,
    cal: facts::Calendar<'static>,
    /// Every customer evaluated every day: no wake-up schedule.
    every_day: bool,
}

impl<'p> Today<'p> {
    fn new(policy: &'p CompiledPolicy, wake: &'p Wake, day: NaiveDate, every_day: bool) -> Self {
        let mut ctx = policy.context(day);
        (ctx.weighted_dpd, ctx.weighted_late) = (wake.weighted_dpd, wake.weighted_late);
        Today { policy, wake, day, cal: ctx.calendar(), ctx, every_day }
    }

    /// Evaluate customer `c` through the engine, its facts from `facts`,
    /// its planned actions appended to `out`; then list its wake days in
    /// `schedule` (not with `every_day`). `touched`: its rows changed since
    /// its last evaluation (or it was never evaluated).
    #[allow(clippy::too_many_arguments)]
    fn evaluate<'l>(
        &self,
        ledger: &'l Ledger,
        facts: &mut facts::cache::Cache,
        schedule: &mut Schedule,
        c: CustIx,
        touched: bool,
        buf: &mut Vec<facts::InvoiceFacts<'l>>,
        out: &mut Vec<(CustIx, PlannedAction)>,
    ) -> Result<(), plan::RunError> {
        // Untouched since its last evaluation: its rows are as they were.
        let cf = if touched {
            facts.derive(ledger, c, &self.ctx, buf)
        } else {
            facts.derive_unchanged(ledger, c, &self.ctx, buf)
        };
        #[cfg(test)]
        facts::cache::check_against_derive_customer(ledger, c, &self.ctx, &cf, buf);
        let policy = self.policy;
        let (suppressed, strategy) =
            match engine::evaluate_customer_noting(policy, ledger, &cf, buf, &self.cal, NO_PRIORITY) {
                Ok((actions, suppressed, strategy)) => {
                    out.extend(actions.into_iter().map(|a| (c, a)));
                    (suppressed, strategy)
                }
                // A failing rule: the strategy is not known (every ladder's steps wake it).
                Err(_) if policy.on_script_error() == OnError::Skip => (engine::Suppressed::default(), None),
                Err(e) => return Err(plan::RunError::Script(e)),
            };
        if !self.every_day {
            schedule.evaluated(self.wake, ledger, c, self.day, touched, suppressed, strategy, Some(facts));
        }
        Ok(())
    }
}

/// Day one of every run of a policy, evaluated once before the runs.
///
/// Every run starts from the same ledger (a fork as loaded, with the holds
/// of the as-of date), and on its first day evaluates every customer: its
/// facts derived from its whole history, the engine's decision, its wake
/// days. That day's draws only decide who buys and who pays before the
/// evaluations (an action's draws come after them all): for a customer with
/// no new row that day, the evaluation is the same in every run. So it is
/// made once, here; a run starts from a copy of the facts cache and the
/// schedule, takes the planned actions of the customers it did not touch,
/// and evaluates the touched ones again (their facts brought forward from
/// the cached state, as on any later day). Test builds compare each run's
/// day one with a fresh evaluation of every customer.
struct DayOne {
    /// Every customer's facts-cache state as of day one.
    facts: facts::cache::Cache,
    /// Every customer's wake days as listed on day one.
    wake: Schedule,
    /// Every customer's planned actions, in customer order.
    planned: Vec<(CustIx, PlannedAction)>,
    /// The horizon's last day.
    #[cfg(test)]
    end: NaiveDate,
}

impl DayOne {
    /// Day one of `policy`'s runs (its thresholds `wake`) from `as_of` over
    /// `days` days, on a fork with the holds of the as-of date ([`hold`]);
    /// none if an evaluation fails (each run then meets the failure itself,
    /// where it would).
    fn of(ledger: &Ledger, policy: &CompiledPolicy, wake: &Wake, as_of: NaiveDate, days: u32) -> Option<DayOne> {
        let today = Today::new(policy, wake, as_of + Duration::days(1), false);
        let (n, end) = (ledger.customers.len(), as_of + Duration::days(i64::from(days)));
        let mut d = DayOne {
            facts: facts::cache::Cache::new(),
            wake: Schedule::new(n, end),
            planned: Vec::new(),
            #[cfg(test)]
            end,
        };
        let mut buf = Vec::new();
        for c in 0..n as CustIx {
            today.evaluate(ledger, &mut d.facts, &mut d.wake, c, true, &mut buf, &mut d.planned).ok()?;
        }
        Some(d)
    }

    /// Panic unless `planned` (a run's day one from `self`) and `wake` are
    /// what evaluating every customer afresh on `ledger` gives.
    #[cfg(test)]
    fn check(&self, ledger: &Ledger, today: &Today<'_>, planned: &[(CustIx, PlannedAction)], wake: &Schedule) {
        let n = ledger.customers.len();
        let mut facts = facts::cache::Cache::new();
        let mut fresh = Schedule::new(n, self.end);
        let (mut buf, mut out) = (Vec::new(), Vec::new());
        for c in 0..n as CustIx {
            today.evaluate(ledger, &mut facts, &mut fresh, c, true, &mut buf, &mut out).unwrap();
        }
        assert_eq!(format!("{planned:?}"), format!("{out:?}"), "day one's planned actions on {}", today.day);
        assert_eq!(
            format!("{:?}", wake.days_only()),
            format!("{:?}", fresh.days_only()),
            "day one's wake days on {}",
            today.day
        );
        DAY_ONE_CHECKED.with(|k| k.set(k.get() + 1));
    }
}

#[cfg(test)]
thread_local! {
    /// Runs whose shared day one [`DayOne::check`] compared on this thread.
    static DAY_ONE_CHECKED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// One run of `runs`' policy on `ledger` (a fresh or reset fork of the loaded
/// ledger): its weekly figures, and the ledger at the horizon's end (or
/// where the run failed: a fork is given back either way).
fn run_one(
    ledger: Ledger,
    world: &World<'_>,
    runs: &Runs<'_>,
    key: Key,
) -> (Result<Vec<Week>, plan::RunError>, Ledger) {
    let (as_of, p, policy, wake, day_one) = (world.as_of, world.p, runs.policy, &runs.wake, runs.day_one.as_ref());
    let mut sim = Sim::new(ledger, world, key);
    match day_one {
        // Every customer as evaluated on day one; those touched then are evaluated again.
        Some(d) => {
            sim.facts = d.facts.clone();
            sim.wake = d.wake.clone();
            sim.touched.fill(false);
        }
        None => sim.wake = Schedule::new(sim.ledger.customers.len(), as_of + Duration::days(i64::from(p.days))),
    }
    sim.start(as_of);
    let mut weeks = Vec::new();
    for d in 1..=i64::from(p.days) {
        let day = as_of + Duration::days(d);
        sim.sell(day);
        sim.events(day);
        let today = Today::new(policy, wake, day, p.every_day);
        if let Err(e) = sim.act(&today, day_one.filter(|_| d == 1)) {
            return (Err(e), sim.ledger);
        }
        if d % 7 == 0 || d == i64::from(p.days) {
            weeks.push(sim.close_week(day));
        }
    }
    (Ok(weeks), sim.ledger)
}

/// What every run of a projection shares, read-only: the payment behaviour
/// learned from the ledger's history (refused if it cannot be) and what
/// [`Shared`] derives from the loaded ledger.
/// `kpis`: the settings of the portfolio figures (the baseline policy's).
fn learn<'a>(
    ledger: &Ledger,
    as_of: NaiveDate,
    p: &'a Projection,
    stall: &'a [f64],
    kpis: &FactsConfig,
) -> Result<World<'a>, SimError> {
    let behaviour = Behaviour::learn(ledger, as_of, &p.scenario.learn);
    behaviour.check()?;
    let shared = Shared::new(ledger, as_of, &behaviour, kpis);
    Ok(World { shared, behaviour, stall, as_of, p, kpis: kpis.clone() })
}

/// One run of one policy, with the simulated ledger at the horizon's end
/// (its appended rows have ids starting `SIM`), to inspect what the
/// simulation did. Run `run` draws exactly as in [`project`].
pub fn project_one(
    ledger: &Ledger,
    policy: &CompiledPolicy,
    as_of: NaiveDate,
    p: &Projection,
    stall: &[f64],
    run: u32,
) -> Result<(Vec<Week>, Ledger), SimError> {
    let world = learn(ledger, as_of, p, stall, &policy.rules.kpis)?;
    let runs = Runs::of(policy, None);
    let (weeks, mut l) = run_one(fork(ledger), &world, &runs, Key::run(p.seed, run));
    weeks
        .map(|weeks| {
            l.index();
            (weeks, l)
        })
        .map_err(|source| SimError::Run { label: policy.name().to_string(), source: Box::new(source) })
}

/// P10, P50 and P90 of some values (nearest rank).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub p10: Decimal,
    pub p50: Decimal,
    pub p90: Decimal,
}

impl Band {
    pub fn of(values: &mut [Decimal]) -> Band {
        values.sort();
        let at = |q: f64| {
            if values.is_empty() {
                return Decimal::ZERO;
            }
            let k = (q * (values.len() - 1) as f64).round() as usize;
            values[k.min(values.len() - 1)]
        };
        Band { p10: at(0.1), p50: at(0.5), p90: at(0.9) }
    }
}

/// One policy's projection: every run's weeks (a simulation shard's: its
/// share of the runs, in run order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyProjection {
    pub label: String,
    pub runs: Vec<Vec<Week>>,
}

/// The forward projection of every policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forward {
    pub as_of: NaiveDate,
    pub days: u32,
    pub runs: u32,
    pub seed: u64,
    pub scenario: Scenario,
    pub buckets: Vec<String>,
    /// The customers' currencies, sorted: [`Week::money`] is in this order.
    pub currencies: Vec<String>,
    pub week_ends: Vec<NaiveDate>,
    pub policies: Vec<PolicyProjection>,
    /// The roll-rate model's view of the same horizon, to set beside the
    /// Monte Carlo's `opening_paid`, per currency (filled by the caller that has it).
    pub roll_rate_check: Vec<RollRateCheck>,
    /// The baseline's `[reporting]`, for converted totals across
    /// currencies (set by the caller that has it; none without rates).
    pub reporting: Option<crate::policy::compile::Reporting>,
}

/// Today's open AR paid and written off within the horizon, by the
/// roll-rate model (whole months: the horizon ÷ 30.44 days, rounded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollRateCheck {
    /// The currency of the balances.
    pub currency: String,
    pub months: u32,
    pub opening_balance: Decimal,
    pub paid: Decimal,
    pub written_off: Decimal,
}

impl RollRateCheck {
    /// The check for a horizon of `days` days.
    /// `balances` by aging bucket are those of the customers in `currency`.
    pub fn of(rr: &super::RollRates, currency: &str, balances: &[Decimal], days: u32) -> Self {
        let months = ((f64::from(days) / 30.4375).round() as u32).max(1);
        let (paid, written_off) = rr.within(balances, months);
        RollRateCheck {
            currency: currency.to_string(),
            months,
            opening_balance: balances.iter().copied().sum(),
            paid,
            written_off,
        }
    }
}

/// One line of the weekly output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekBand {
    pub policy: String,
    pub week: usize,
    pub week_end: NaiveDate,
    pub metric: String,
    /// The currency of a money metric (and of `dso`); none for counts.
    pub currency: Option<String>,
    #[serde(flatten)]
    pub band: Band,
}

/// One line of the horizon summary: a policy's total (flows) or final value
/// (stocks and DSO), and the paired difference with the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryBand {
    pub metric: String,
    /// The currency of a money metric (and of `dso`); none for counts.
    pub currency: Option<String>,
    pub policy: String,
    #[serde(flatten)]
    pub band: Band,
    /// Variant minus baseline, run by run (none for the baseline).
    pub minus_baseline: Option<Band>,
}

/// Metrics measured at a week's end (not summed over the horizon).
fn is_stock(metric: &str) -> bool {
    metric == "dso" || metric == "ar_total" || metric.starts_with("overdue")
}

impl Forward {
    /// P10/P50/P90 of every metric, per policy and week.
    pub fn weekly(&self) -> Vec<WeekBand> {
        let mut out = Vec::new();
        for p in &self.policies {
            for (w, &end) in self.week_ends.iter().enumerate() {
                let per_run: Vec<Vec<MetricValue>> = p
                    .runs
                    .iter()
                    .filter_map(|r| r.get(w))
                    .map(|wk| wk.metrics(&self.buckets, &self.currencies))
                    .collect();
                let Some(first) = per_run.first() else { continue };
                for (m, mv) in first.iter().enumerate() {
                    let mut vals: Vec<Decimal> = per_run.iter().filter_map(|r| r.get(m)).map(|x| x.value).collect();
                    out.push(WeekBand {
                        policy: p.label.clone(),
                        week: w + 1,
                        week_end: end,
                        metric: mv.metric.clone(),
                        currency: mv.currency.clone(),
                        band: Band::of(&mut vals),
                    });
                }
            }
        }
        out
    }

    /// Each run's horizon figure per metric (and currency): flows summed,
    /// stocks at the end.
    pub(crate) fn horizon(&self, runs: &[Vec<Week>]) -> Vec<(MetricValue, Vec<Decimal>)> {
        let mut out: Vec<(MetricValue, Vec<Decimal>)> = Vec::new();
        for run in runs {
            let mut totals: Vec<MetricValue> = Vec::new();
            for wk in run {
                for (m, mv) in wk.metrics(&self.buckets, &self.currencies).into_iter().enumerate() {
                    match totals.get_mut(m) {
                        Some(t) if is_stock(&mv.metric) => t.value = mv.value,
                        Some(t) => t.value += mv.value,
                        None => totals.push(mv),
                    }
                }
            }
            for (m, mv) in totals.into_iter().enumerate() {
                match out.get_mut(m) {
                    Some(o) => o.1.push(mv.value),
                    None => {
                        let v = mv.value;
                        out.push((mv, vec![v]));
                    }
                }
            }
        }
        out
    }

    /// The horizon summary: per metric (and currency) and policy, the band
    /// across runs and the band of the paired differences with the baseline.
    pub fn summary(&self) -> Vec<SummaryBand> {
        let Some(base) = self.policies.first() else { return Vec::new() };
        let base_h = self.horizon(&base.runs);
        let all: Vec<Vec<(MetricValue, Vec<Decimal>)>> = self.policies.iter().map(|p| self.horizon(&p.runs)).collect();
        let mut out = Vec::new();
        for (m, (mv, _)) in base_h.iter().enumerate() {
            for (pi, p) in self.policies.iter().enumerate() {
                let Some((_, vals)) = all[pi].get(m) else { continue };
                let minus_baseline = (pi > 0).then(|| {
                    let mut d: Vec<Decimal> = vals.iter().zip(&base_h[m].1).map(|(v, b)| v - b).collect();
                    Band::of(&mut d)
                });
                out.push(SummaryBand {
                    metric: mv.metric.clone(),
                    currency: mv.currency.clone(),
                    policy: p.label.clone(),
                    band: Band::of(&mut vals.clone()),
                    minus_baseline,
                });
            }
        }
        out
    }
}

/// Project every policy over `p.days` days from `as_of`, `p.runs` runs each,
/// runs in parallel. `stall` is the monthly Paid rate of each aging bucket
/// (the roll-rate model's Paid column).
pub fn project(
    ledger: &Ledger,
    policies: &[(&str, &CompiledPolicy)],
    as_of: NaiveDate,
    p: &Projection,
    stall: &[f64],
) -> Result<Forward, SimError> {
    let world = learn(ledger, as_of, p, stall, &baseline_kpis(policies))?;
    project_on(&Forks::new(ledger), &world, policies, 0..p.runs, &|| {})
}

/// [`project`] on the loaded ledger itself: it is the first run's ledger
/// (one copy of it fewer in memory: some 450 MB at 100,000 customers) and
/// is given back as loaded before this returns, whatever the result. Calls
/// `run_done()` (from any thread) as each run of each policy ends — for a
/// progress bar of `policies.len() × p.runs` runs. The same result as
/// [`project`].
pub fn project_in_place(
    ledger: &mut Ledger,
    policies: &[(&str, &CompiledPolicy)],
    as_of: NaiveDate,
    p: &Projection,
    stall: &[f64],
    run_done: &(dyn Fn() + Sync),
) -> Result<Forward, SimError> {
    project_share_in_place(ledger, policies, as_of, p, stall, 0..p.runs, run_done)
}

/// [`project_in_place`] for the runs `share` of `0..p.runs` only (a
/// simulation shard's, `simulate --shard I/N`): each run draws as it does in
/// the whole projection (its draws are keyed by the seed and its number),
/// so the shards' runs put together are the whole projection's. The
/// [`Forward`]'s `runs` stays `p.runs`; each policy's `runs` holds the share.
pub fn project_share_in_place(
    ledger: &mut Ledger,
    policies: &[(&str, &CompiledPolicy)],
    as_of: NaiveDate,
    p: &Projection,
    stall: &[f64],
    share: std::ops::Range<u32>,
    run_done: &(dyn Fn() + Sync),
) -> Result<Forward, SimError> {
    let world = learn(ledger, as_of, p, stall, &baseline_kpis(policies))?;
    let share = share.start.min(p.runs)..share.end.min(p.runs);
    // As many forks as runs can be in progress at once.
    let tasks = policies.len() * share.len();
    let forks = Forks::in_place(ledger, rayon::current_num_threads().min(tasks).max(1));
    let forward = project_on(&forks, &world, policies, share, run_done);
    forks.finish(ledger);
    forward
}

/// The first (baseline) policy's `[kpis]`: the settings every policy's
/// weekly portfolio figures use, so that they compare.
fn baseline_kpis(policies: &[(&str, &CompiledPolicy)]) -> FactsConfig {
    policies.first().map_or_else(FactsConfig::default, |(_, p)| p.rules.kpis.clone())
}

/// What each policy's runs read ([`Runs`]): its thresholds, and its
/// [`DayOne`] (in parallel) when it has more than one run to share it (not
/// with `every_day`, which keeps no schedule).
fn policy_runs<'p>(
    forks: &Forks<'_>,
    world: &World<'_>,
    policies: &[(&str, &'p CompiledPolicy)],
    share: u32,
) -> Vec<Runs<'p>> {
    let (as_of, p) = (world.as_of, world.p);
    let mut runs: Vec<Runs<'p>> = policies.iter().map(|(_, policy)| Runs::of(policy, None)).collect();
    if !(p.every_day || share < 2 || p.days == 0) {
        let mut ledger = forks.take();
        hold(&mut ledger, &world.shared);
        runs.par_iter_mut().for_each(|r| r.day_one = DayOne::of(&ledger, r.policy, &r.wake, as_of, p.days));
        forks.give(ledger);
    }
    runs
}

/// The runs `share` of every policy, each on a ledger of `forks`.
fn project_on(
    forks: &Forks<'_>,
    world: &World<'_>,
    policies: &[(&str, &CompiledPolicy)],
    share: std::ops::Range<u32>,
    run_done: &(dyn Fn() + Sync),
) -> Result<Forward, SimError> {
    let (as_of, p) = (world.as_of, world.p);
    // Every run of every policy is one task (no shared mutable state but
    // the spare forks), so both cores stay busy whatever the number of
    // runs; results are collected in (policy, run) order, the same at any
    // thread count.
    let runs = policy_runs(forks, world, policies, share.len() as u32);
    // The tasks run by run number, each run's policies side by side, so
    // that every stretch of the list (rayon hands out halves, then steals
    // halves of what is left) holds the same mix of policies: one policy's
    // runs can do much more work than another's, and listed policy by
    // policy one core took one policy and the other core finished alone
    // (4.5 s of a 117 s simulation at 100,000 customers × 20 runs).
    let n = policies.len();
    let tasks: Vec<(usize, u32)> = share.clone().flat_map(|r| (0..n).map(move |k| (k, r))).collect();
    let done: Vec<Result<Vec<Week>, plan::RunError>> = tasks
        .into_par_iter()
        .map(|(k, r)| {
            let (weeks, ledger) = run_one(forks.take(), world, &runs[k], Key::run(p.seed, r));
            forks.give(ledger);
            run_done();
            weeks
        })
        .collect();
    // Back in (policy, run) order: task `t` is policy `t % n`'s.
    let mut by_policy: Vec<Vec<Result<Vec<Week>, plan::RunError>>> = (0..n).map(|_| Vec::new()).collect();
    for (t, weeks) in done.into_iter().enumerate() {
        by_policy[t % n].push(weeks);
    }
    let mut out = Vec::new();
    for ((label, _), runs) in policies.iter().zip(by_policy) {
        let runs = runs
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| SimError::Run { label: label.to_string(), source: Box::new(source) })?;
        out.push(PolicyProjection { label: label.to_string(), runs });
    }
    let week_ends = (1..=i64::from(p.days))
        .filter(|d| d % 7 == 0 || *d == i64::from(p.days))
        .map(|d| as_of + Duration::days(d))
        .collect();
    Ok(Forward {
        as_of,
        days: p.days,
        runs: p.runs,
        seed: p.seed,
        scenario: p.scenario.clone(),
        buckets: world.kpis.bucket_labels(),
        currencies: world.shared.currencies.clone(),
        week_ends,
        policies: out,
        roll_rate_check: Vec::new(),
        reporting: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{LoadOptions, load};
    use std::path::Path;

    fn repo(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
    }

    #[test]
    fn simulated_ids_are_the_prefix_and_the_serial_padded_to_eight_digits() {
        for n in [0, 1, 42, 99_999_999, 100_000_000, 123_456_789_012, u64::MAX] {
            let id = sim_id("SIMINV", n);
            assert_eq!(id, format!("SIMINV{n:08}"));
            assert_eq!(id.is_heap_allocated(), id.len() > 24, "{id}");
        }
    }

    /// The event queue keeps the days of the horizon only (an event on the
    /// as-of date, before it or past the horizon would never come up), gives
    /// a day's events in the order they were scheduled, and a day once taken
    /// is empty.
    #[test]
    fn the_event_queue_keeps_the_days_a_run_reaches_in_order() {
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let day = |d: i64| as_of + Duration::days(d);
        let mut q = Queue::new(as_of, 10);
        for (d, e) in [(3, Event::Pay(1)), (-5, Event::Pay(2)), (0, Event::Pay(3)), (11, Event::Pay(4))] {
            q.at(day(d), e);
        }
        q.at(day(3), Event::WriteOff(5));
        q.at(day(10), Event::Agency(6, true));
        q.at(day(3), Event::Pay(1));
        assert_eq!(q.take(day(3)), vec![Event::Pay(1), Event::WriteOff(5), Event::Pay(1)]);
        assert!(q.take(day(3)).is_empty());
        assert_eq!(q.take(day(10)), vec![Event::Agency(6, true)]);
        for d in [-5, 0, 1, 11, 400] {
            assert!(q.take(day(d)).is_empty(), "day {d}");
        }
    }

    /// The demo ledger, its as-of date and a one-run projection of `days` days.
    fn demo(days: u32) -> (Ledger, NaiveDate, Projection) {
        let base = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        (base, as_of, Projection { days, runs: 1, seed: 3, scenario: Scenario::default(), every_day: false })
    }

    /// The invoices of an action are put in a vector kept from action to
    /// action: what an earlier action left there is never counted again.
    #[test]
    fn an_actions_invoices_replace_the_previous_ones() {
        let (base, as_of, p) = demo(7);
        let world = learn(&base, as_of, &p, &[0.1; 8], &FactsConfig::default()).unwrap();
        let sim = Sim::new(fork(&base), &world, Key::run(1, 0));
        let overdue = |c: CustIx| -> Vec<InvIx> {
            let rows = base.invoices_by_customer.rows(c).iter().copied();
            rows.filter(|&i| base.invoices[i as usize].is_open() && base.invoices[i as usize].due_date < as_of)
                .collect()
        };
        let c = (0..base.customers.len() as CustIx).find(|&c| overdue(c).len() >= 2).unwrap();
        let first = base.invoices[overdue(c)[0] as usize].id.to_string();
        let mut out = vec![99_999, 99_998];
        sim.concerned(c, &[], as_of, &mut out);
        assert_eq!(out, overdue(c));
        sim.concerned(c, &[first.clone(), "no such invoice".into()], as_of, &mut out);
        assert_eq!(out, vec![overdue(c)[0]]);
        sim.concerned(c, &["no such invoice".into()], as_of, &mut out);
        assert!(out.is_empty());
    }

    /// A fork a run changed, put back by `reset`, is a fresh fork again: a
    /// run changes nothing that `reset` does not restore.
    #[test]
    fn a_reset_fork_is_a_fresh_fork() {
        let (base, as_of, p) = demo(35);
        let world = learn(&base, as_of, &p, &[0.1; 8], &FactsConfig::default()).unwrap();
        let fresh = format!("{:?}", fork(&base));
        for name in ["standard", "strict", "lenient"] {
            let policy = crate::policy::load(&repo(&format!("policies/{name}"))).policy.unwrap();
            let forks = Forks::new(&base);
            let runs = Runs::of(&policy, None);
            let (weeks, ran) = run_one(forks.take(), &world, &runs, Key::run(7, 0));
            assert_eq!(weeks.unwrap().len(), 5);
            assert!(ran.invoices.len() > base.invoices.len() && ran.actions.len() > base.actions.len());
            assert!(ran.customers.iter().zip(&base.customers).any(|(r, b)| r.on_hold != b.on_hold), "{name}");
            assert!(ran.invoices.iter().zip(&base.invoices).any(|(r, b)| r.open_amount != b.open_amount), "{name}");
            let before = format!("{ran:?}");
            forks.give(ran);
            let again = forks.take();
            assert_ne!(before, fresh);
            assert_eq!(format!("{again:?}"), fresh, "{name}");
        }
    }

    /// Day one evaluated once per policy and shared by its runs: each run
    /// is the run made alone (which evaluates every customer on its first
    /// day), at any thread count, under policies with and without
    /// per-invoice ladders; and every run's day one was compared in full
    /// with a fresh evaluation of every customer (planned actions and wake
    /// days, [`DayOne::check`]).
    #[test]
    fn a_shared_day_one_is_each_runs_own() {
        let (base, as_of, _) = demo(0);
        let names = ["standard", "strict", "lenient"];
        let loaded: Vec<CompiledPolicy> =
            names.iter().map(|n| crate::policy::load(&repo(&format!("policies/{n}"))).policy.unwrap()).collect();
        let policies: Vec<(&str, &CompiledPolicy)> = names.iter().copied().zip(&loaded).collect();
        let stall = [0.45, 0.52, 0.8, 0.76, 0.57];
        for (days, runs, seed) in [(1, 2, 9), (20, 3, 4)] {
            let p = Projection { days, runs, seed, scenario: Scenario::default(), every_day: false };
            let alone: Vec<Vec<Vec<Week>>> = loaded
                .iter()
                .map(|policy| (0..runs).map(|r| project_one(&base, policy, as_of, &p, &stall, r).unwrap().0).collect())
                .collect();
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let (f, checked) = pool.install(|| {
                    let before = DAY_ONE_CHECKED.with(|k| k.get());
                    let f = project(&base, &policies, as_of, &p, &stall).unwrap();
                    (f, DAY_ONE_CHECKED.with(|k| k.get()) - before)
                });
                for (k, name) in names.iter().enumerate() {
                    assert_eq!(f.policies[k].runs, alone[k], "{name}, {days} days, {threads} threads");
                }
                if threads == 1 {
                    assert_eq!(checked, u64::from(runs) * names.len() as u64);
                }
            }
        }
    }

    /// A week's slip share is keyed by the run and the week (the same under
    /// every policy), normal with the scenario's standard deviation within
    /// ±0.9, and nothing at all when off.
    #[test]
    fn week_slips_are_keyed_by_the_run_and_off_at_zero() {
        let k = Key::run(42, 3);
        assert!(week_slips(k, 0.0, 91).is_empty());
        let a = week_slips(k, 0.2, 91);
        assert_eq!(a.len(), 15, "13 weeks, and the one after");
        assert_eq!(a, week_slips(k, 0.2, 91));
        assert_ne!(a, week_slips(Key::run(42, 4), 0.2, 91));
        let all: Vec<f64> = (0..4000).flat_map(|r| week_slips(Key::run(1, r), 0.2, 7)).collect();
        let n = all.len() as f64;
        let mean = all.iter().sum::<f64>() / n;
        let sd = (all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.01 && (sd - 0.2).abs() < 0.01, "mean {mean}, sd {sd}");
        assert!(week_slips(k, 5.0, 91).iter().all(|s| s.abs() <= 0.9));
    }

    /// The slip moves payments between weeks, not what customers buy: the
    /// sales made and lost (their own draws) are those of the run without it.
    #[test]
    fn a_week_slip_moves_payments_not_sales() {
        let (base, as_of, mut p) = demo(28);
        let policy = crate::policy::load(&repo("policies/standard")).policy.unwrap();
        let stall = [0.45, 0.52, 0.8, 0.76, 0.57];
        p.scenario.week_slip_sd = 0.0;
        let (off, _) = project_one(&base, &policy, as_of, &p, &stall, 0).unwrap();
        p.scenario.week_slip_sd = 0.5;
        let (on, _) = project_one(&base, &policy, as_of, &p, &stall, 0).unwrap();
        let of =
            |w: &[Week], f: fn(&WeekMoney) -> Decimal| -> Vec<Decimal> { w.iter().map(|w| f(&w.money[0])).collect() };
        assert_eq!(of(&off, |m| m.new_sales + m.sales_lost), of(&on, |m| m.new_sales + m.sales_lost));
        assert_ne!(of(&off, |m| m.cash_collected), of(&on, |m| m.cash_collected));
    }

    /// The loaded ledger as the first fork: the same projection as with
    /// forks of a borrowed ledger, at any thread count (a run waits for a
    /// free fork), and the ledger is given back as it was.
    #[test]
    fn a_projection_in_place_is_the_same_and_gives_the_ledger_back() {
        let base = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
        let before = format!("{base:?}");
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let p = Projection { days: 21, runs: 3, seed: 5, scenario: Scenario::default(), every_day: false };
        let (standard, strict) =
            (crate::policy::load(&repo("policies/standard")), crate::policy::load(&repo("policies/strict")));
        let (standard, strict) = (standard.policy.unwrap(), strict.policy.unwrap());
        let policies = [("standard", &standard), ("strict", &strict)];
        let stall = [0.45, 0.52, 0.8, 0.76, 0.57];
        let expected = format!("{:?}", project(&base, &policies, as_of, &p, &stall).unwrap());
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
            let done = std::sync::atomic::AtomicUsize::new(0);
            let got = pool.install(|| {
                project_in_place(&mut ledger, &policies, as_of, &p, &stall, &|| {
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                })
            });
            assert_eq!(format!("{:?}", got.unwrap()), expected, "{threads} threads");
            assert_eq!(done.into_inner(), 6);
            assert_eq!(format!("{ledger:?}"), before, "{threads} threads");
        }
    }
}
