//! Which customers a simulated day must evaluate.
//!
//! A customer's decision is a function of its own rows (invoices, payments,
//! promises, actions) and of the date. From one day to the next, most
//! customers have no new row, and the date moves every "days since" fact by
//! one: their decision can only change on a day when one of those counts
//! crosses a number the policy or the engine compares it with. So the
//! simulation evaluates a customer on a day when
//! - something happened to it (a new invoice, a payment or write-off, an
//!   action recorded, a hold or limit set): it is *touched*; or
//! - its *wake* day has come: the first day after its last evaluation on
//!   which a date of its rows, moved by one of the policy's numbers, is
//!   reached.
//!
//! The policy's numbers ([`Wake::of`]), by the dates they count from:
//! - an open invoice's due and issue dates: the steps' ages (a step is due
//!   on its offset and passed over the day after its `max_days`) of the
//!   ladder the customer's strategy follows (see below), the day
//!   after the due date (overdue amounts, `current`/`overdue` offer sets,
//!   the `min_overdue` guardrail), the aging edges when a condition reads
//!   `invoice.bucket`;
//! - every execution of a ladder step: the cooldowns of the steps of the
//!   customer's ladder (the ladder measures a cooldown from the *invoice's*
//!   last step, which is one of them);
//! - each limit rule's, payment plan's and review's last execution: its own
//!   interval; the last credit review of any rule: the reviews' cadence;
//!   the opening date: every anniversary of each review's cadence;
//! - every action of the last 91 days: the 7-day contact window when the
//!   contact cap (which counts the messages — a kind the policy declares
//!   with a channel too, as the facts do — and the offers of the last 7
//!   days) or
//!   Regulation F (calls in 7 days, no call 7 days after a conversation)
//!   applies, the 30- and 90-day ones when a condition reads them;
//! - a promise's dates: made, due (a promise for the account pauses the
//!   ladder until the day after), due plus the grace days (active, then
//!   broken); the last payment; the last contact, conversation and dunning
//!   step;
//! - and the constants the `when` conditions compare day counts with:
//!   `customer.days_since_payment > 45` gives 46 to the last payment,
//!   `invoice.days_to_due <= 3` gives -3 to due dates (each on the one day
//!   the comparison flips).
//!
//! Constants compared with facts that move only when the customer's rows
//! change (amounts, ratios, counts) are no thresholds; those of a condition
//! that does anything else with a day count (a script, arithmetic, two facts
//! compared, a weighted average, a date fact) apply to every date, both
//! ways. The `[priority]` score is left out: the simulation does not compute
//! it. A customer is also looked at when a settled invoice or a broken
//! promise passes out of the 12-month behaviour window or the 3-month trend
//! window, when a condition reads the facts they move. A policy that reads
//! the day of the month, the weekday or the date is evaluated every day; one
//! that reads the month (or the days to its end) at every month's start, the
//! quarter (or offers incentives by quarter) at every quarter's start, the
//! year (or the days to its end) at every year's start. A row dated after the
//! simulated day (a loaded ledger's future-dated payment or action) wakes its
//! customer on its date.
//!
//! **Guardrails that time lifts.** A day on which only a guardrail can lift
//! (a message leaving the 7-day window of the contact cap or of Regulation F;
//! with `business_days_only`, the Monday after a weekend) wakes a customer
//! only when that guardrail suppressed one of its actions at its last
//! evaluation (the engine says which: `engine::Suppressed`). Otherwise that
//! evaluation planned every action its rules offered, and until another wake
//! day or a touch its rules offer the same ones: none, since an action
//! planned touches the customer. Each periodic review's anniversaries of the
//! opening date wake only a customer never reviewed (a review is otherwise
//! due its cadence after the last one).
//!
//! **The strategy's ladder.** Only the ladder of the strategy a customer
//! follows escalates it, so its wake days hold the step ages and cooldowns
//! of that ladder only (the engine says which strategy it chose:
//! `engine::evaluate_customer_noting`). The strategy changes with the
//! customer's rows, or on a day its conditions change their answers, which
//! wakes the customer like any condition's day (their thresholds are placed):
//! then its days are listed again with the new ladder's ages. A policy not
//! followed exactly (below) keeps every ladder's.
//!
//! **The weekly look.** When [`Wake::exact`]: every condition that decides
//! something (strategies, steps, incentives, plans, limits, reviews) is
//! compiled natively and compares each of its day counts only with a
//! constant the schedule places, a customer sleeps until its next wake day,
//! however far (up to the horizon). Otherwise (arithmetic on a day count
//! such as `days_since_payment > 2 * 30`, two facts compared of which one
//! counts days, `weighted_days_past_due`, a date fact such as
//! `invoice.due_date`, a script, an expression the native compiler does not
//! take) such a change is not followed exactly, and every customer is looked
//! at at least every [`MAX_SLEEP`] days whatever happens, which bounds how
//! late it is noticed. On the shipped policies (all exact) the projection is
//! the same, byte for byte, as evaluating every customer every day (a test
//! checks it over 13 weeks).
//!
//! [`Schedule`] keeps, per customer, its wake days up to the horizon's end,
//! listed when it is evaluated after a touch; an evaluation on a wake day
//! only moves on to the next (its rows have not changed, so neither have
//! its wake days).

use crate::engine::Suppressed;
use crate::facts::cache::Cache;
use crate::facts::registry::{FactType, Scope};
use crate::ledger::{ActionKind, CustIx, Ledger, Outcome};
use crate::policy::CompiledPolicy;
use crate::policy::expr::{Cmp, FactRef, Node, ord_cmp};
use chrono::{Datelike, NaiveDate, Weekday};
use rustc_hash::FxHashMap as HashMap;

/// Offsets (days from a row's date) at which a count compared with `n`
/// can change its answer: a count of days since the date (`>= n`, `< n`
/// flip at `n`; `> n`, `<= n`, `== n` at `n + 1`) or of days to it (at `-n`
/// and `-n + 1`).
fn offsets_of(n: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = n.into_iter().flat_map(|v| [v, v + 1, -v, -v + 1]).filter(|v| v.abs() <= 3661).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `v` sorted, without repeats, within 10 years either way.
fn tidy(mut v: Vec<i64>) -> Vec<i64> {
    v.retain(|x| x.abs() <= 3661);
    v.sort_unstable();
    v.dedup();
    v
}

/// What [`Wake::plan`] found in a customer's action rows, carried from one
/// plan of the customer to the next so that only the rows appended since
/// are read (the simulation only appends rows, and its day only moves
/// forward): the last contact, conversation, dunning step and credit
/// review, each own rule's last execution, and the rows that can still move
/// a wake day (those of the last [`Wake::keep_days`] days). Not carried
/// (the next plan reads every row again) when a row was dated after the
/// day of the plan that read it (a loaded ledger's future-dated action).
#[derive(Debug, Clone)]
pub struct Kept {
    /// The customer's first `seen` action rows are folded in.
    seen: u32,
    /// The day (from the common era) of the plan that folded them.
    day: i32,
    /// No row folded in was dated after `day`: the next plan may carry this on.
    carried: bool,
    /// The last contact, conversation, dunning step and credit review
    /// ([`NEVER`]: none).
    contact: i32,
    conversation: i32,
    dunning: i32,
    reviewed: i32,
    /// Each own rule with an interval ([`Wake::own`], by number): its last execution.
    last: Vec<(u32, i32)>,
    /// The rows (with an execution date) that can still move a wake day:
    /// those of the last [`Wake::keep_days`] days when carried on, every
    /// one after a full walk (until the next plan).
    rows: Vec<KeptRow>,
}

impl Default for Kept {
    fn default() -> Self {
        Kept {
            seen: 0,
            day: i32::MIN,
            carried: false,
            contact: NEVER,
            conversation: NEVER,
            dunning: NEVER,
            reviewed: NEVER,
            last: Vec::new(),
            rows: Vec::new(),
        }
    }
}

/// No such day ([`Kept`]).
const NEVER: i32 = i32::MIN;

/// An action row [`Kept`]: its execution date and what it is.
#[derive(Debug, Clone, Copy)]
struct KeptRow {
    x: i32,
    flags: u8,
    /// The rule's number ([`Wake::ids`]): a ladder step's starts the
    /// cooldowns of the later steps of its ladder only.
    number: u32,
}

/// [`KeptRow::flags`]: executed by the day (not failed, cancelled or pending).
const EXECUTED: u8 = 1;
/// A message the contact cap counts (a contact, an offer).
const COUNTED: u8 = 2;
const CALL: u8 = 4;
/// A call answered.
const CONVERSATION: u8 = 8;
/// An execution of a ladder step decided by the day: it starts the cooldowns.
const STEP: u8 = 16;

/// A step's cooldown: from its basis date, the age it is due at.
#[derive(Debug, Clone, Copy)]
struct Cooldown {
    days: i64,
    by_issue: bool,
    offset: i64,
    /// The step's place in its ladder.
    step: usize,
    /// A step's `repeat`: its own executions start it (not the earlier steps').
    repeat: bool,
}

/// A policy rule the schedule follows by its own executions.
#[derive(Debug, Clone, Default)]
struct Own {
    /// Its own intervals from its last execution (a limit rule's re-apply
    /// interval, a plan's re-offer delay, a review's cadence).
    every: Vec<i64>,
    /// A ladder step: each of its executions starts the cooldowns.
    step: bool,
}

/// The thresholds counted from an open invoice's dates and from a step's
/// executions, with the step ages of some of the policy's ladders.
#[derive(Debug, Clone, Default)]
struct Ages {
    /// From an open invoice's due date: step ages, aging edges, literals.
    due: Vec<i64>,
    /// From an open invoice's issue date (steps counted from issue, literals).
    issue: Vec<i64>,
    /// From every execution of a ladder step: each step's cooldown, with
    /// the age it is due at (a cooldown that ends before any open invoice
    /// reaches the step's age changes nothing: the age wakes it then).
    cooldowns: Vec<Cooldown>,
    /// The numbers ([`Wake::ids`]) of the ladder's steps, in its order: an
    /// execution of one starts the cooldowns of the later steps only.
    /// `None` (every ladder's): an execution of any step starts them all.
    steps: Option<Vec<u32>>,
}

/// The policy's time thresholds, as offsets in days from a row's date.
#[derive(Debug, Clone)]
pub struct Wake {
    /// The thresholds from open invoices' dates and from step executions:
    /// [`ALL_LADDERS`] with every ladder's steps, [`NO_LADDER`] with none,
    /// then per ladder (`LADDERS + l`) with ladder `l`'s.
    ages: Vec<Ages>,
    /// Per strategy (the policy's index), the [`Wake::ages`] it follows: its
    /// ladder's, when the policy is followed exactly, else every ladder's.
    strategy_ages: Vec<usize>,
    /// From the last payment, promise dates, month and year ends: literals.
    since: Vec<i64>,
    /// From the last contact, conversation and dunning step: literals
    /// compared with days since a contact, a conversation or a step.
    rule: Vec<i64>,
    /// The policy's limit rules, plans, reviews and steps, by the number of
    /// their id (`ids`); the other numbers are no such rule.
    own: Vec<Own>,
    /// The policy's rule ids, to number an action row's.
    ids: crate::policy::compile::RuleIds,
    /// From a promise's date made, and from its due date plus the grace
    /// days (and, with grace days, from its due date).
    promise_made: Vec<i64>,
    promise_due: Vec<i64>,
    /// From the last credit review of any rule: the reviews' cadence.
    review: Vec<i64>,
    /// From every action of the last 91 days: the contact-count windows.
    windows: Vec<i64>,
    /// The 7-day window is read only by the contact cap and Regulation F:
    /// it is followed only where they can bind. The cap can bind when the
    /// window holds this many messages (the cap less the other messages one
    /// evaluation can plan before the last).
    cap: Option<u32>,
    regulation_f: bool,
    /// The policy reads the date, the day of the month or the weekday.
    daily: bool,
    /// The policy reads the month (wakes at every month's start).
    months: bool,
    /// The quarters (1 to 4, at index 0 to 3) at whose start the policy
    /// may decide something new: every one when it reads the quarter; else
    /// those an incentive offered by quarter starts being offered in (one
    /// it stops being offered in only takes an offer away, and a customer
    /// sleeping was offered nothing at its last evaluation).
    quarters: [bool; 4],
    /// The policy reads the year.
    years: bool,
    /// The month's and the year's last days are dates the `since` numbers
    /// count from (`as_of.days_to_month_end`, `as_of.days_to_year_end`).
    month_end: bool,
    year_end: bool,
    business_days: bool,
    /// Periodic reviews: due at the opening date plus multiples of these,
    /// for the customers of their risk class (`None`: every customer).
    reviews: Vec<(Option<crate::ledger::RiskClass>, i64)>,
    /// Longest a customer goes without being looked at; `None`: unbounded.
    max_sleep: Option<i64>,
    /// How many days an action row can move the plan after its execution
    /// date: the contact-count windows, the steps' cooldowns, the 8 days the
    /// contact cap and Regulation F count, a weekly-look policy's literals
    /// ([`Kept`] keeps the rows of those days).
    keep_days: i64,
    promise_grace: i64,
    /// The payment-behaviour windows (months) whose facts the policy reads.
    windows_months: Vec<u32>,
    /// Every decisive comparison of a day count is placed exactly.
    exact: bool,
    /// A condition reads `customer.weighted_days_past_due`: the facts of
    /// the simulation's evaluations work it out only then
    /// ([`crate::facts::Context::weighted_dpd`]; its product and division
    /// per evaluation were 2.5 % of a simulation's instructions).
    pub weighted_dpd: bool,
    /// The same for `customer.weighted_days_late`
    /// ([`crate::facts::Context::weighted_late`]).
    pub weighted_late: bool,
}

/// [`Wake::ages`] with the steps of every ladder (whatever the strategy).
const ALL_LADDERS: usize = 0;
/// [`Wake::ages`] of a strategy without a ladder.
const NO_LADDER: usize = 1;
/// [`Wake::ages`] of ladder `l` is at `LADDERS + l`.
const LADDERS: usize = 2;

/// Longest a customer goes without evaluation (days) under a policy whose
/// time-dependence is not all followed exactly ([`Wake::exact`]).
pub const MAX_SLEEP: i64 = 7;

/// The dates a day-count fact counts from, as indexes into the thresholds
/// of [`thresholds`]: 0 due dates, 1 issue dates, 2 the last payment, promises
/// and month and year ends, 3 each rule's last execution (and the last
/// conversation). `Some(None)`: a fact whose value changes only with the
/// customer's rows (a touch) or at dates followed whatever the policy says
/// (an invoice falling due, an aging edge, a promise's deadline, a contact
/// window, the behaviour windows, the calendar); `None`: not known to be
/// either (its comparisons are not followed).
fn clock(f: FactRef) -> Option<Option<usize>> {
    Some(match f.full_name() {
        "customer.max_days_past_due" | "invoice.days_past_due" | "invoice.days_to_due" => Some(0),
        "invoice.days_since_issue" => Some(1),
        "customer.days_since_payment" | "as_of.days_to_month_end" | "as_of.days_to_year_end" => Some(2),
        "customer.days_since_contact" | "customer.days_since_conversation" | "customer.days_since_step" => Some(3),
        "customer.id"
        | "customer.segment"
        | "customer.country"
        | "customer.currency"
        | "customer.risk_class"
        | "customer.account_type"
        | "customer.credit_score"
        | "customer.credit_limit"
        | "customer.has_limit"
        | "customer.terms_days"
        | "customer.do_not_contact"
        | "customer.preferred_channel"
        | "customer.on_hold"
        | "customer.open_total"
        | "customer.overdue_total"
        | "customer.current_total"
        | "customer.disputed_total"
        // Net of cash on account and credit notes: they move as the gross totals do.
        | "customer.unapplied_cash"
        | "customer.credit_notes"
        | "customer.net_open"
        | "customer.net_overdue"
        | "invoice.credit_applied"
        | "invoice.net_open_amount"
        | "customer.open_count"
        | "customer.overdue_count"
        | "customer.exposure"
        | "customer.utilization"
        | "customer.headroom"
        | "customer.paid_invoices"
        | "customer.avg_days_late"
        | "customer.weighted_days_late"
        | "customer.on_time_ratio"
        | "customer.trend"
        | "customer.avg_days_to_pay"
        | "customer.open_disputes"
        | "customer.promises_active"
        | "customer.promises_broken"
        | "customer.promised_amount"
        | "customer.plan_active"
        | "customer.contacts_7d"
        | "customer.contacts_30d"
        | "customer.contacts_90d"
        | "customer.calls_7d"
        | "customer.failed_contacts_30d"
        | "customer.failed_contacts_90d"
        | "customer.email_bounced"
        | "customer.consecutive_unanswered_calls"
        | "customer.last_step"
        | "customer.referred"
        | "invoice.id"
        | "invoice.amount"
        | "invoice.open_amount"
        | "invoice.paid_amount"
        | "invoice.bucket"
        | "invoice.disputed"
        | "invoice.promise_active"
        | "invoice.promise_broken" => None,
        n if n.starts_with("as_of.") && f.def().is_some_and(|d| d.ty != FactType::Date) => None,
        _ => return None,
    })
}

/// A constant's value (`45`, `-3`, `4.5`).
fn constant(n: &Node) -> Option<f64> {
    match n {
        Node::Int(i) => Some(*i as f64),
        Node::Float(f) => Some(*f),
        Node::Dec(d) => rust_decimal::prelude::ToPrimitive::to_f64(d),
        Node::Neg(x) => constant(x).map(|v| -v),
        _ => None,
    }
}

/// Does `n` read no fact whose value moves with the date by itself?
fn timeless(n: &Node) -> bool {
    match n {
        Node::Fact(f) => clock(*f) == Some(None),
        Node::Not(x) | Node::Neg(x) => timeless(x),
        Node::And(v) | Node::Or(v) => v.iter().all(timeless),
        Node::Cmp(_, _, a, b) | Node::Arith(_, _, a, b) => timeless(a) && timeless(b),
        Node::Call(_, args) => args.iter().all(timeless),
        Node::If(x) => timeless(&x.0) && timeless(&x.1) && timeless(&x.2),
        // A local's value is checked where it is bound.
        Node::Block(lets, body) | Node::Inline(lets, body) => lets.iter().all(|(_, v)| timeless(v)) && timeless(body),
        Node::Int(_) | Node::Float(_) | Node::Dec(_) | Node::Bool(_) | Node::Str(_) | Node::Local(_) => true,
    }
}

/// The days (offsets from the date a count counts from) on which
/// `count op c` (or `c op count` when the fact is on the right) changes its
/// answer: the count is `t` on day `t` after its date, `-t` when it counts
/// days *to* the date (`down`). `> 45` flips on day 46, `>= 45` on day 45,
/// `== 45` on days 45 and 46.
fn flips(op: Cmp, fact_left: bool, down: bool, c: f64) -> Vec<i64> {
    let sign = if down { -1.0 } else { 1.0 };
    let holds = |t: i64| {
        let x = sign * t as f64;
        let (l, r) = if fact_left { (x, c) } else { (c, x) };
        ord_cmp(op, l, r)
    };
    let mid = (sign * c).round() as i64;
    (mid - 3..=mid + 3).filter(|&t| holds(t) != holds(t - 1)).collect()
}

/// Add to `by` the constants `n` compares day counts with, by the dates
/// they count from; false if `n` does anything else with a day count.
fn thresholds(n: &Node, by: &mut [Vec<i64>; 4]) -> bool {
    match n {
        Node::Not(x) => thresholds(x, by),
        Node::And(v) | Node::Or(v) => v.iter().all(|x| thresholds(x, by)),
        Node::Cmp(op, _, a, b) => {
            let pair = match (&**a, &**b) {
                (Node::Fact(f), c) | (c, Node::Fact(f)) => constant(c).map(|v| (*f, v)),
                _ => None,
            };
            match pair.map(|(f, v)| (clock(f), v)) {
                Some((Some(Some(k)), v)) if v.abs() <= 3660.0 => {
                    // Days *to* a date count down: `n` of them is `-n` days after it.
                    let down = pair.is_some_and(|(f, _)| f.full_name().contains(".days_to_"));
                    by[k].extend(flips(*op, matches!(&**a, Node::Fact(_)), down, v));
                    true
                }
                Some((Some(None), _)) => true,
                _ => timeless(a) && timeless(b),
            }
        }
        other => timeless(other),
    }
}

/// Whole numbers written in a text (`12`, the `25` of `25.00`, not the `8`
/// of `0.8`), up to `max`.
fn numbers(text: &str, max: i64, out: &mut Vec<i64>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let glued = start > 0 && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'_' | b'.'));
            if !glued
                && let Ok(n) = text[start..i].parse::<i64>()
                && n <= max
            {
                out.push(n);
            }
        }
        i += 1;
    }
}

/// The days from the common era of `d` (the schedule's integer dates).
fn ce(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

/// A wake day as [`Schedule`] lists it: the day (from the common era)
/// times 4, plus [`CAP`] and [`REGULATION_F`] for a day on which only the
/// contact cap or Regulation F can lift (a message leaving the 7-day
/// window), which wakes the customer only when one of them suppressed an
/// action at its last evaluation.
type Tagged = i32;

/// See [`Tagged`].
const CAP: i64 = 1;
const REGULATION_F: i64 = 2;

/// The day of a [`Tagged`] wake day.
fn day_of(t: Tagged) -> i64 {
    i64::from(t) >> 2
}

/// Add to `out` the days `anchor + o` (`o` in `offsets`, sorted) within
/// `(lo, hi]`.
fn push(out: &mut Vec<Tagged>, span: (i64, i64), anchor: i64, offsets: &[i64]) {
    push_tagged(out, span, anchor, offsets, 0);
}

/// [`push`], the days tagged with `tag` ([`CAP`], [`REGULATION_F`]).
fn push_tagged(out: &mut Vec<Tagged>, (lo, hi): (i64, i64), anchor: i64, offsets: &[i64], tag: i64) {
    let k = offsets.partition_point(|&o| anchor + o <= lo);
    for &o in &offsets[k..] {
        let t = anchor + o;
        if t > hi {
            break;
        }
        if let Ok(t) = Tagged::try_from(t * 4 + tag) {
            out.push(t);
        }
    }
}

/// The first day `anchor + o` (`o` in `offsets`, sorted) after `today`.
fn first_after(today: i64, anchor: i64, offsets: &[i64]) -> Option<i64> {
    offsets.get(offsets.partition_point(|&o| anchor + o <= today)).map(|&o| anchor + o)
}

/// The day a date `d` passes out of a window of the last `m` months: the
/// first day `t` with `months_before(t, m) >= d` (a date is in the window
/// while it is after `months_before(day, m)`). That is `d` moved by `m`
/// months, or the day after when the month it lands in is too short for
/// its day (moved back, the last day of that month falls before `d`; the
/// first of the next month, after it).
fn leaves_window(d: NaiveDate, m: u32) -> Option<NaiveDate> {
    // The month `m` on, by number (chrono's `checked_add_months` and then
    // `succ_opt` gave the same dates for twice the instructions: the test
    // below compares both with a search).
    let months = i64::from(d.year()) * 12 + i64::from(d.month0()) + i64::from(m);
    let (y, m0) = (i32::try_from(months.div_euclid(12)).ok()?, months.rem_euclid(12) as u32);
    NaiveDate::from_ymd_opt(y, m0 + 1, d.day()).or_else(|| {
        // Too short a month for the day: the first day of the next one.
        let (y, m0) = if m0 == 11 { (y.checked_add(1)?, 0) } else { (y, m0 + 1) };
        NaiveDate::from_ymd_opt(y, m0 + 1, 1)
    })
}

/// The first day of month `m` of year `y`.
fn first_of(y: i32, m: u32) -> Option<i64> {
    NaiveDate::from_ymd_opt(y, m, 1).map(ce)
}

impl Wake {
    /// The thresholds of `policy` under the facts' settings (aging edges,
    /// promise grace, behaviour and trend windows).
    pub fn of(policy: &CompiledPolicy, facts: &crate::facts::FactsConfig) -> Wake {
        let edges: Vec<i64> = facts.bucket_edges.iter().map(|&e| i64::from(e)).collect();
        let promise_grace = i64::from(facts.promise_grace_days);
        let r = &policy.rules;
        // Literals of expressions and scripts: compared with any count.
        // The priority score is not computed by the simulation (it decides
        // nothing), so its numbers, and those of scripts only it calls, are
        // no thresholds.
        let decisive: Vec<&crate::policy::expr::Expression> = policy
            .expressions()
            .into_iter()
            .filter(|(_, e)| r.priority.score.as_ref().is_none_or(|s| !std::ptr::eq(s, *e)))
            // An expression reading per-currency `[amounts]`: each currency's variant.
            .flat_map(|(_, e)| e.each())
            .collect();
        // Each day count a condition compares with a constant gives that
        // constant to the dates it counts from; the numbers of a condition
        // that does anything else with a day count (a script, arithmetic,
        // a comparison of two facts) go to every date, and the policy is not
        // followed exactly.
        let mut by: [Vec<i64>; 4] = Default::default();
        let mut lits: Vec<i64> = vec![0];
        let mut exact = true;
        for e in &decisive {
            if !e.native.as_ref().is_some_and(|n| thresholds(n, &mut by)) {
                exact = false;
                numbers(&e.src, 3660, &mut lits);
                if e.src.contains("::") {
                    for f in policy.sources.files.iter().filter(|f| f.path.extension().is_none_or(|x| x != "toml")) {
                        numbers(&f.text, 3660, &mut lits);
                    }
                }
            }
        }
        // `by` holds the exact days the conditions' comparisons flip; the
        // engine's own numbers below flip on one known day each (a step's
        // age `>= offset` on day `offset`, its `max` on day `max + 1`, an
        // interval `since < n` on day `n`, an aging edge `dpd > e` on day
        // `e + 1`, a contact window `age < n` on day `n`). A row's own date
        // and the day after it are always followed; the bare numbers, whose
        // count and sign are unknown, both ways (`offsets_of`).
        // Exactly placed, a row's own date and the day after it are no
        // thresholds (the row touched its customer that day, who is
        // evaluated the next day too), but for the day after a due date
        // (the invoice is overdue: overdue amounts, offer sets, the
        // `min_overdue` guardrail).
        let [mut due, issue, since, rule] = by.map(|mut v| {
            if !exact {
                v.extend([0, 1]);
                v.extend(offsets_of(lits.iter().copied()));
            }
            v
        });
        due.push(1);
        // A promise counts from the day it was made; it is broken (active no
        // more) the day after its due date plus the grace days; one for the
        // account pauses the ladder until the day after its due date.
        let (mut promise_made, mut promise_due) = (vec![0], vec![1]);
        if !exact {
            promise_made.extend(&since);
            promise_due.extend(&since);
        }
        // Does a condition read the weighted days past due, or late (see `weighted_dpd`)?
        let reads = |name: &str| {
            let fact = FactRef::find(Scope::Customer, name);
            decisive.iter().any(|e| {
                e.reads.whole[crate::policy::expr::scope_ix(Scope::Customer)]
                    || fact.is_none_or(|w| e.reads.facts.contains(&w))
            })
        };
        let (weighted_dpd, weighted_late) = (reads("weighted_days_past_due"), reads("weighted_days_late"));
        // The aging edges move `invoice.bucket` only.
        let bucket = FactRef::find(Scope::Invoice, "bucket");
        if decisive.iter().any(|e| {
            e.reads.whole[crate::policy::expr::scope_ix(Scope::Invoice)]
                || bucket.is_some_and(|b| e.reads.facts.contains(&b))
        }) {
            due.extend(edges.iter().map(|&e| e + 1));
        }
        // A step is due on its age and passed over the day after its `max`.
        // Only the ladder of the strategy the customer follows escalates it:
        // the thresholds are kept with no ladder's steps, with every
        // ladder's, and with each ladder's own (see [`Wake::ages`]).
        let ladder_ages = |steps: &mut dyn Iterator<Item = (usize, &crate::policy::compile::Step)>,
                           numbers: Option<Vec<u32>>| {
            let (mut due, mut issue) = (due.clone(), issue.clone());
            let mut cooldowns = Vec::new();
            for (k, s) in steps {
                let v = match s.basis {
                    crate::policy::compile::Basis::DueDate => &mut due,
                    crate::policy::compile::Basis::IssueDate => &mut issue,
                };
                v.push(i64::from(s.offset));
                v.extend(s.max.map(|m| i64::from(m) + 1));
                if s.cooldown_days > 0 {
                    cooldowns.push(Cooldown {
                        days: i64::from(s.cooldown_days),
                        by_issue: s.basis == crate::policy::compile::Basis::IssueDate,
                        offset: i64::from(s.offset),
                        step: k,
                        repeat: false,
                    });
                }
                if let Some(r) = s.repeat {
                    cooldowns.push(Cooldown {
                        days: i64::from(r.every),
                        by_issue: s.basis == crate::policy::compile::Basis::IssueDate,
                        offset: i64::from(s.offset),
                        step: k,
                        repeat: true,
                    });
                }
            }
            Ages { due: tidy(due), issue: tidy(issue), cooldowns, steps: numbers }
        };
        let mut ages = vec![
            ladder_ages(&mut r.ladders.iter().flat_map(|l| l.steps.iter().enumerate()), None),
            ladder_ages(&mut std::iter::empty(), Some(Vec::new())),
        ];
        // (The engine matches a ladder's executions by these numbers.)
        ages.extend(
            r.ladders
                .iter()
                .enumerate()
                .map(|(l, ladder)| ladder_ages(&mut ladder.steps.iter().enumerate(), policy.ids.steps.get(l).cloned())),
        );
        // The ladder a customer follows changes with its strategy, which its
        // conditions choose by facts that change on days the schedule wakes
        // it (their thresholds are placed) or with its rows: the schedule
        // lists its days again when the strategy changes
        // ([`Schedule::evaluated`]). A policy not followed exactly keeps
        // every ladder's.
        let strategy_ages = r
            .strategies
            .iter()
            .map(|s| match s.ladder {
                _ if !exact => ALL_LADDERS,
                Some(l) if l < r.ladders.len() => LADDERS + l,
                Some(_) => ALL_LADDERS,
                None => NO_LADDER,
            })
            .collect();
        // Each rule's own interval runs from its own last execution: limit
        // rules' re-apply intervals, payment plans' re-offer delays,
        // reviews' cadence (also from the last credit review of any rule).
        // A step's cooldown runs from the invoice's last step, which is an
        // execution of one of the ladder's steps: every one is followed.
        let mut own: HashMap<String, Own> = HashMap::default();
        for s in r.ladders.iter().flat_map(|l| &l.steps) {
            own.entry(s.id.clone()).or_default().step = true;
        }
        for (id, every) in r
            .limits
            .iter()
            .map(|l| (&l.id, l.every_days))
            .chain(r.plans.iter().map(|p| (&p.id, p.reoffer_after_days)))
            .chain(r.reviews.iter().map(|x| (&x.id, x.every_days)))
        {
            own.entry(id.clone()).or_default().every.push(i64::from(every));
        }
        let review: Vec<i64> = r.reviews.iter().map(|x| i64::from(x.every_days)).collect();
        // A contact window matters when something reads its count: the
        // contact cap and Regulation F read the 7-day ones.
        let reads = |name: &str| {
            let f = FactRef::find(Scope::Customer, name);
            decisive.iter().any(|e| {
                e.reads.whole[crate::policy::expr::scope_ix(Scope::Customer)]
                    || f.is_some_and(|f| e.reads.facts.contains(&f))
            })
        };
        let g = &r.guardrails;
        let mut windows = Vec::new();
        for (n, read) in [
            (7, reads("contacts_7d") || reads("calls_7d")),
            (30, reads("contacts_30d") || reads("failed_contacts_30d")),
            (90, reads("contacts_90d") || reads("failed_contacts_90d")),
        ] {
            if read {
                windows.push(n);
            }
        }
        // The behaviour window moves the payment-behaviour facts and the
        // broken promises; its recent part moves `trend`.
        let behaviour = ["paid_invoices", "avg_days_late", "weighted_days_late", "on_time_ratio", "avg_days_to_pay"]
            .into_iter()
            .chain(["promises_broken", "trend"])
            .any(reads);
        let windows_months: Vec<u32> =
            [(facts.trend_recent_months, reads("trend")), (facts.behaviour_months, behaviour)]
                .into_iter()
                .filter_map(|(m, read)| read.then_some(m))
                .collect();
        let mut daily = false;
        let (mut months, mut years) = (false, false);
        let mut quarters = [false; 4];
        for x in r.incentives.iter().filter(|x| !x.quarters.is_empty()) {
            for (q, starts) in (1..=4u32).zip(quarters.iter_mut()) {
                let previous = if q == 1 { 4 } else { q - 1 };
                *starts |= x.quarters.contains(&q) && !x.quarters.contains(&previous);
            }
        }
        let (mut month_end, mut year_end) = (false, false);
        for e in &decisive {
            if e.reads.whole[crate::policy::expr::scope_ix(Scope::Calendar)] {
                daily = true;
            }
            for f in e.reads.facts.iter().filter(|f| f.scope == Scope::Calendar) {
                match f.full_name() {
                    "as_of.month" => months = true,
                    "as_of.quarter" => quarters = [true; 4],
                    "as_of.year" => years = true,
                    "as_of.days_to_month_end" => month_end = true,
                    "as_of.days_to_year_end" => year_end = true,
                    _ => daily = true,
                }
            }
        }
        let mut wake = Wake {
            ages,
            strategy_ages,
            since: tidy(since),
            rule: tidy(rule),
            own: {
                let mut by_number: Vec<Own> = Vec::new();
                for (id, mut v) in own {
                    let n = policy.ids.code(&id);
                    if n == crate::policy::compile::NO_RULE {
                        continue;
                    }
                    let n = n as usize;
                    if by_number.len() <= n {
                        by_number.resize_with(n + 1, Own::default);
                    }
                    v.every = tidy(v.every);
                    by_number[n] = v;
                }
                by_number
            },
            ids: policy.ids.clone(),
            promise_made: tidy(promise_made),
            promise_due: tidy(promise_due),
            review: tidy(review),
            cap: if windows.contains(&7) {
                None
            } else {
                g.max_contacts_per_7_days.map(|max| {
                    // One message per evaluation from the ladder (one per
                    // invoice from a per-invoice ladder: any number), one
                    // offer of each kind.
                    let per_invoice = r.ladders.iter().any(|l| l.grouping == crate::policy::compile::Grouping::Invoice);
                    let others = u32::from(!r.incentives.is_empty()) + u32::from(!r.plans.is_empty());
                    if per_invoice { 1 } else { max.saturating_sub(others).max(1) }
                })
            },
            regulation_f: g.regulation_f && !windows.contains(&7),
            windows: tidy(windows),
            daily,
            months,
            quarters,
            years,
            month_end,
            year_end,
            business_days: r.guardrails.business_days_only,
            reviews: r.reviews.iter().map(|x| (x.risk_class, i64::from(x.every_days.max(1)))).collect(),
            max_sleep: if exact { None } else { Some(MAX_SLEEP) },
            promise_grace,
            windows_months,
            exact,
            keep_days: 0,
            weighted_dpd,
            weighted_late,
        };
        let cooldown = wake.ages.iter().flat_map(|a| &a.cooldowns).map(|c| c.days).max().unwrap_or(0);
        let rule = if exact { 0 } else { wake.rule.last().copied().unwrap_or(0) };
        wake.keep_days = [wake.windows.last().copied().unwrap_or(0), cooldown, 8, rule].into_iter().max().unwrap_or(8);
        wake
    }

    /// Is every time-dependence of the policy's decisions followed exactly
    /// (no weekly look)? See the module's documentation.
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// Longest a customer goes without being looked at: [`MAX_SLEEP`] days
    /// unless [`Wake::exact`] (`None`: until its next wake day, however far).
    pub fn max_sleep(&self) -> Option<i64> {
        self.max_sleep
    }

    /// Which step ages a customer following `strategy` (the index of one of
    /// the policy's strategies; `None`: not known) is woken at: those of its
    /// ladder (none without one) when the policy is followed exactly, else
    /// every ladder's. Two strategies with the same number list the same
    /// days.
    pub fn ladder(&self, strategy: Option<usize>) -> usize {
        strategy.and_then(|s| self.strategy_ages.get(s).copied()).unwrap_or(ALL_LADDERS)
    }

    /// Is every customer evaluated every day (the policy reads the day)?
    pub fn daily(&self) -> bool {
        self.daily || self.max_sleep.is_some_and(|s| s <= 1)
    }

    /// List in `out` customer `c`'s wake days after `day` up to `end` (days
    /// from the common era times 4 with their tags, [`Tagged`]; sorted, the
    /// soonest *last*), as its rows are now.
    /// False when a row of the customer is dated after `day` (a payment, an
    /// action): its wake days then depend on the day, and are listed again
    /// at its next evaluation (it is woken on that row's date).
    ///
    /// With `facts`, a facts cache whose last [`Cache::derive`] of `c` was
    /// as of `day`, its open invoices and settlement dates are read from
    /// there rather than from the ledger (the same ones: a test build checks).
    ///
    /// `strategy`: the strategy `c` followed at its evaluation on `day` (see
    /// [`crate::engine::evaluate_customer_noting`]); only its ladder's step
    /// ages and cooldowns are listed ([`Wake::ladder`]). `None`: every
    /// ladder's.
    ///
    /// `kept`: what the last plan of `c` found in its action rows (see
    /// [`Kept`]); only the rows appended since are read when it can be
    /// carried forward, all of them otherwise (a fresh `Kept`: the full walk).
    #[allow(clippy::too_many_arguments)]
    pub fn plan(
        &self,
        ledger: &Ledger,
        c: CustIx,
        day: NaiveDate,
        end: NaiveDate,
        strategy: Option<usize>,
        out: &mut Vec<Tagged>,
        facts: Option<&Cache>,
        kept: &mut Kept,
    ) -> bool {
        let bounds = self.bounds(day, end);
        self.plan_within(ledger, c, (day, end, &bounds), strategy, out, facts, kept)
    }

    /// The payment-behaviour windows the policy reads, as of `day` over a
    /// horizon ending on `end`: the same for every customer of a day
    /// ([`Schedule`] keeps them for the day).
    fn bounds(&self, day: NaiveDate, end: NaiveDate) -> Bounds {
        let after_end = end.succ_opt().unwrap_or(end);
        let mut b = Bounds { n: self.windows_months.len().min(2), of: [(0u32, NaiveDate::MIN, NaiveDate::MIN); 2] };
        for (b, &m) in b.of.iter_mut().zip(&self.windows_months) {
            *b = (m, crate::facts::months_before(day, m), crate::facts::months_before(after_end, m));
        }
        b
    }

    /// [`Wake::plan`] with the day's [`Wake::bounds`].
    #[allow(clippy::too_many_arguments)]
    fn plan_within(
        &self,
        ledger: &Ledger,
        c: CustIx,
        (day, end, bounds): (NaiveDate, NaiveDate, &Bounds),
        strategy: Option<usize>,
        out: &mut Vec<Tagged>,
        facts: Option<&Cache>,
        kept: &mut Kept,
    ) -> bool {
        out.clear();
        let ages = self.ages.get(self.ladder(strategy)).unwrap_or(&self.ages[ALL_LADDERS]);
        let today = ce(day);
        let span = (today, ce(end));
        let mut fixed = true;
        // The payment-behaviour windows slide: a settled invoice leaves the
        // trend window and the behaviour window, and a broken promise the
        // behaviour window, on the day they pass out of them. Only the
        // windows the policy reads are followed. Per window: dates at or
        // before `lo` are out of it already, dates after `hi` stay in it
        // past the horizon.
        let (bounds, nb) = (bounds.of, bounds.n);
        let leaves = |d: NaiveDate, out: &mut Vec<Tagged>| {
            for &(m, lo, hi) in &bounds[..nb] {
                if d <= lo || d > hi {
                    continue;
                }
                if let Some(t) = leaves_window(d, m) {
                    push(out, span, ce(t), &[0]);
                }
            }
        };
        // The oldest open invoice's due and issue dates (the first to reach a step's age).
        let (mut first_due, mut first_issue) = (i64::MAX, i64::MAX);
        let mut open = |inv: &crate::ledger::Invoice, out: &mut Vec<Tagged>| {
            let (due, issue) = (ce(inv.due_date), ce(inv.issue_date));
            first_due = first_due.min(due);
            first_issue = first_issue.min(issue);
            push(out, span, due, &ages.due);
            push(out, span, issue, &ages.issue);
        };
        // The settlement dates that can leave a window before the horizon's end.
        let (from, to) =
            bounds[..nb].iter().fold((NaiveDate::MAX, NaiveDate::MIN), |(f, t), &(_, lo, hi)| (f.min(lo), t.max(hi)));
        match facts.and_then(|k| k.seen(c, from, to)) {
            Some((invoices, settled)) => {
                for &i in invoices {
                    open(&ledger.invoices[i as usize], out);
                }
                for d in settled {
                    leaves(d, out);
                }
            }
            None => {
                for &i in ledger.invoices_by_customer.rows(c) {
                    let inv = &ledger.invoices[i as usize];
                    if inv.is_open() {
                        open(inv, out);
                    } else if nb > 0
                        && let Some(settled) = crate::facts::settled_on(ledger, i, day)
                    {
                        leaves(settled, out);
                    }
                }
            }
        }
        // The last payment up to the day (the facts cache's, when it has
        // seen no row dated later); a later one wakes on its date.
        let paid = match facts.and_then(|k| k.last_payment(c, day)) {
            Some(paid) => paid,
            None => {
                let mut paid: Option<NaiveDate> = None;
                for &p in ledger.payments_by_customer.rows(c) {
                    let d = ledger.payments[p as usize].paid_on;
                    if d <= day {
                        paid = paid.max(Some(d));
                    } else {
                        fixed = false;
                        push(out, span, ce(d), &[0]);
                    }
                }
                paid
            }
        };
        if let Some(d) = paid {
            push(out, span, ce(d), &self.since);
        }
        // A credit note issued later changes the net balance on its date.
        if (c as usize) < ledger.credit_notes_by_customer.groups() {
            for &n in ledger.credit_notes_by_customer.rows(c) {
                let d = ledger.credit_notes[n as usize].issue_date;
                if d > day {
                    fixed = false;
                    push(out, span, ce(d), &[0]);
                }
            }
        }
        for &p in ledger.promises_by_customer.rows(c) {
            let p = &ledger.promises[p as usize];
            push(out, span, ce(p.made_on), &self.promise_made);
            push(out, span, ce(p.due_on) + self.promise_grace, &self.promise_due);
            if self.promise_grace != 0 {
                push(out, span, ce(p.due_on), &[1]);
            }
            leaves(p.due_on, out);
        }
        // Actions as the facts read them (executed by the day) and as the
        // engine's history does (decided by the day too); a later one wakes
        // on its dates. Folded into `kept` from the first row it has not
        // seen (all of them unless it was carried from an earlier plan of
        // the customer with no row dated after its day).
        // The compact rows (`Ledger::acts`): the full ones are far apart.
        let rows = ledger.acts.rows(c);
        let today32 = i32::try_from(today).unwrap_or(i32::MAX);
        if !kept.carried || kept.day > today32 || kept.seen as usize > rows.len() {
            *kept = Kept::default();
        } else {
            // Carried on: the rows that cannot move a day after today go. (A
            // full walk keeps every row: the reference test builds compare
            // the carried plan with.)
            let keep = self.keep_days;
            kept.rows.retain(|r| i64::from(r.x) + keep > today);
        }
        kept.day = today32;
        let mut carried = true;
        for a in &rows[kept.seen as usize..] {
            let Some(x) = a.executed_on else { continue };
            let (x, decided) = (ce(x), ce(a.decided_on));
            if x > today || decided > today {
                fixed = false;
                carried = false;
                push(out, span, x, &[0]);
                push(out, span, decided, &[0]);
            }
            let (mut flags, mut number) = (0u8, u32::MAX);
            if a.was_executed() && x <= today {
                flags |= EXECUTED;
                let k = a.action;
                let x32 = i32::try_from(x).unwrap_or(i32::MAX);
                // A message, as the facts count one (`Act::is_contact`: a
                // kind the policy declares with a channel too), or an offer.
                let message = a.is_contact();
                if message || matches!(k, ActionKind::DiscountOffer | ActionKind::PaymentPlanOffer) {
                    flags |= COUNTED;
                }
                if k == ActionKind::Call {
                    flags |= CALL;
                    if a.outcome.is_some_and(Outcome::is_conversation) {
                        flags |= CONVERSATION;
                        kept.conversation = kept.conversation.max(x32);
                    }
                }
                if message {
                    kept.contact = kept.contact.max(x32);
                }
                // The facts' dunning steps (`customer.days_since_step`).
                if k.is_contact() || k.is_referral() || k == ActionKind::CreditHold {
                    kept.dunning = kept.dunning.max(x32);
                }
                if decided <= today {
                    if k == ActionKind::CreditReview {
                        kept.reviewed = kept.reviewed.max(x32);
                    }
                    let n = self.ids.number_act(a, &ledger.actions);
                    if let Some(own) = self.own.get(n as usize) {
                        if own.step {
                            flags |= STEP;
                            number = n;
                        }
                        if !own.every.is_empty() {
                            match kept.last.iter_mut().find(|(o, _)| *o == n) {
                                Some(l) => l.1 = l.1.max(x32),
                                None => kept.last.push((n, x32)),
                            }
                        }
                    }
                }
            }
            kept.rows.push(KeptRow { x: i32::try_from(x).unwrap_or(i32::MAX), flags, number });
        }
        kept.seen = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        kept.carried = carried;
        // The messages the contact cap and Regulation F count, of the last 8 days.
        let (cap, regulation_f) = (
            self.cap,
            self.regulation_f && ledger.customers[c as usize].account_type == crate::ledger::AccountType::Consumer,
        );
        let follow_recent = cap.is_some() || regulation_f;
        for r in &kept.rows {
            let x = i64::from(r.x);
            // Every action of the last 91 days (the windows are at most 90 days).
            push(out, span, x, &self.windows);
            if r.flags & EXECUTED == 0 {
                continue;
            }
            if !self.exact {
                push(out, span, x, &self.rule);
            }
            if r.flags & STEP != 0 {
                // The ladder counts a cooldown from the invoice's last step:
                // a step of the customer's ladder, earlier than the one
                // cooling down (once a step is executed on an invoice, it
                // and those before it are not checked on it again).
                let from = match &ages.steps {
                    None => Some(0),
                    Some(steps) => steps.iter().position(|&n| n == r.number).map(|j| j + 1),
                };
                let starts = |cd: &&Cooldown| {
                    from.is_some_and(|from| if cd.repeat { cd.step + 1 >= from } else { cd.step >= from })
                };
                for cd in ages.cooldowns.iter().filter(starts) {
                    let reached = if cd.by_issue { first_issue } else { first_due }.saturating_add(cd.offset);
                    if x + cd.days >= reached {
                        push(out, span, x, &[cd.days]);
                    }
                }
            }
        }
        // A message leaves the 7-day window 7 days on: that lifts the cap
        // only if the window held as many messages as the cap allows (rows
        // are at least as many as messages), and Regulation F only after a
        // conversation or with 7 calls in the window.
        // Those days are tagged: they wake the customer only if the cap or
        // Regulation F suppressed something at its last evaluation (see
        // [`Schedule::evaluated`]).
        if follow_recent {
            let recent = || {
                kept.rows.iter().filter(|r| {
                    r.flags & EXECUTED != 0 && r.flags & (COUNTED | CALL) != 0 && i64::from(r.x) >= today - 7
                })
            };
            for r in recent() {
                let x = i64::from(r.x);
                let within = recent().filter(|y| i64::from(y.x) >= x && i64::from(y.x) <= x + 6);
                let (rows, calls) = within.fold((0u32, 0u32), |(n, k), y| {
                    (n + u32::from(y.flags & COUNTED != 0), k + u32::from(y.flags & CALL != 0))
                });
                let tag = if r.flags & COUNTED != 0 && cap.is_some_and(|m| rows >= m) { CAP } else { 0 }
                    | if regulation_f && (r.flags & CONVERSATION != 0 || (r.flags & CALL != 0 && calls >= 7)) {
                        REGULATION_F
                    } else {
                        0
                    };
                if tag != 0 {
                    push_tagged(out, span, x, &[7], tag);
                }
            }
        }
        for d in [kept.contact, kept.conversation, kept.dunning].into_iter().filter(|&d| d != NEVER) {
            push(out, span, i64::from(d), &self.rule);
        }
        let reviewed = (kept.reviewed != NEVER).then_some(i64::from(kept.reviewed));
        if let Some(d) = reviewed {
            push(out, span, d, &self.review);
        }
        for &(n, d) in &kept.last {
            if let Some(own) = self.own.get(n as usize) {
                push(out, span, i64::from(d), &own.every);
            }
        }
        // Never reviewed: each anniversary of the opening date, of the
        // reviews of the customer's risk class (once reviewed, a review is
        // due its cadence after the last credit review, followed above).
        let cust = &ledger.customers[c as usize];
        if reviewed.is_none()
            && let Some(opened) = cust.opened_on
        {
            let o = ce(opened);
            for &(_, every) in self.reviews.iter().filter(|(rc, _)| rc.is_none_or(|rc| cust.risk_class == Some(rc))) {
                let mut t = o + ((today - o).div_euclid(every) + 1).max(1) * every;
                while t <= span.1 {
                    push(out, span, t, &[0]);
                    t += every;
                }
            }
        }
        out.sort_unstable_by(|a, b| b.cmp(a));
        out.dedup();
        fixed
    }

    /// The first day after `day` on which the calendar moves something the
    /// policy reads (a month's, quarter's or year's start, a day counted
    /// from a month's or year's end), if any: the same for every customer.
    /// (The Monday after a weekend is a wake day of the customers whose
    /// actions `business_days_only` suppressed: [`Schedule::evaluated`].)
    fn calendar(&self, day: NaiveDate) -> Option<i64> {
        let today = ce(day);
        let (y, m) = (day.year(), day.month());
        let next_month = if m == 12 { first_of(y + 1, 1) } else { first_of(y, m + 1) };
        let next_year = first_of(y + 1, 1);
        // The next start of a quarter the policy follows (within a year).
        let next_quarter = (1..=4)
            .map(|k| {
                let start = (m - 1) / 3 * 3 + 1 + 3 * k;
                (y + (start as i32 - 1) / 12, (start - 1) % 12 + 1)
            })
            .find(|&(_, start)| self.quarters[(start as usize - 1) / 3])
            .and_then(|(y, start)| first_of(y, start));
        let mut best: Option<i64> = None;
        let mut take = |t: Option<i64>| {
            if let Some(t) = t {
                best = Some(best.map_or(t, |b| b.min(t)));
            }
        };
        if self.months || self.month_end {
            take(next_month);
        }
        take(next_quarter);
        if self.years || self.year_end {
            take(next_year);
        }
        if self.month_end {
            take(next_month.and_then(|t| first_after(today, t - 1, &self.since)));
        }
        if self.year_end {
            take(next_year.and_then(|t| first_after(today, t - 1, &self.since)));
        }
        best
    }
}

/// The payment-behaviour windows a policy reads, as of one day: per window
/// (months), the dates at or before which a date is out of it already and
/// after which it stays in it past the horizon ([`Wake::plan`]).
#[derive(Debug, Clone, Copy)]
struct Bounds {
    n: usize,
    of: [(u32, NaiveDate, NaiveDate); 2],
}

/// When each customer of a run must be evaluated again: its wake days up
/// to the horizon's end, listed when it is evaluated after a touch (its rows
/// changed), and the next of them.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// Per customer: the day (from the common era) it is evaluated again at
    /// the latest (touched or not).
    next: Vec<i64>,
    /// Per customer: its wake days not passed yet, the soonest last.
    days: Vec<Vec<Tagged>>,
    /// Per customer: `days` holds until its rows change.
    fixed: Vec<bool>,
    /// Per customer: the step ages `days` holds ([`Wake::ladder`]); they are
    /// listed again when its strategy changes.
    ladder: Vec<u32>,
    /// Per customer: what its last plan found in its action rows.
    kept: Vec<Kept>,
    end: NaiveDate,
    /// The calendar's next wake day, for the day it was computed for.
    calendar: Option<(NaiveDate, Option<i64>)>,
    /// The behaviour windows' bounds ([`Wake::bounds`]), for the day they
    /// were computed for (four month calculations per plan, before).
    bounds: Option<(NaiveDate, Bounds)>,
}

impl Schedule {
    /// The schedule of `customers` customers over a horizon ending on `end`;
    /// every customer is due on the first day.
    pub fn new(customers: usize, end: NaiveDate) -> Self {
        Schedule {
            next: vec![i64::MIN; customers],
            days: vec![Vec::new(); customers],
            fixed: vec![false; customers],
            ladder: vec![0; customers],
            kept: vec![Kept::default(); customers],
            end,
            calendar: None,
            bounds: None,
        }
    }

    /// The schedule without what its plans carry forward ([`Kept`], which
    /// a carried plan holds less of than a full walk): its wake days, to
    /// compare with another's.
    #[cfg(test)]
    pub(crate) fn days_only(&self) -> Schedule {
        Schedule { kept: Vec::new(), bounds: None, ..self.clone() }
    }

    /// Ask for customer `c`'s entries ahead of use ([`crate::prefetch`]);
    /// `deep`: also what they point to.
    #[inline]
    pub(crate) fn prefetch(&self, c: CustIx, deep: bool) {
        let ix = c as usize;
        if let (Some(days), Some(kept)) = (self.days.get(ix), self.kept.get(ix)) {
            if deep {
                crate::prefetch::line(days.as_ptr());
                crate::prefetch::line(kept.rows.as_ptr());
                crate::prefetch::line(kept.last.as_ptr());
            } else {
                crate::prefetch::all(days);
                crate::prefetch::all(kept);
            }
        }
    }

    /// Has customer `c`'s wake day come by `day`?
    pub fn due(&self, c: CustIx, day: NaiveDate) -> bool {
        self.next.get(c as usize).is_none_or(|&n| n <= ce(day))
    }

    /// Customer `c` was evaluated on `day`; `touched`: its rows changed since
    /// its previous evaluation; `suppressed`: the guardrails time lifts that
    /// suppressed one of its actions then. Sets the day it is evaluated again
    /// at the latest.
    ///
    /// The days on which only such a guardrail lifts (a message leaving the
    /// 7-day window of the contact cap or of Regulation F; the Monday after
    /// a weekend under `business_days_only`) wake the customer only when
    /// that guardrail suppressed something now: otherwise every action its
    /// rules offered was planned, and until its rows change or another wake
    /// day comes its rules offer the same (none: an action planned touches
    /// the customer), whatever the guardrails. A later evaluation (another
    /// wake day) decides again with what it suppressed.
    ///
    /// `strategy`: the strategy it followed then, whose ladder's step ages
    /// are listed (see [`Wake::plan`]); its days are listed again when that
    /// changes (the conditions that choose it change their answers only on a
    /// day that wakes the customer, or with its rows).
    ///
    /// `facts`: the facts cache that derived `c`'s facts for this evaluation,
    /// if any ([`Wake::plan`]).
    #[allow(clippy::too_many_arguments)]
    pub fn evaluated(
        &mut self,
        wake: &Wake,
        ledger: &Ledger,
        c: CustIx,
        day: NaiveDate,
        touched: bool,
        suppressed: Suppressed,
        strategy: Option<usize>,
        facts: Option<&Cache>,
    ) {
        let ix = c as usize;
        let today = ce(day);
        let (Some(next), Some(days), Some(fixed), Some(listed), Some(kept)) = (
            self.next.get_mut(ix),
            self.days.get_mut(ix),
            self.fixed.get_mut(ix),
            self.ladder.get_mut(ix),
            self.kept.get_mut(ix),
        ) else {
            return;
        };
        if wake.daily() {
            *next = today + 1;
            return;
        }
        let ladder = wake.ladder(strategy) as u32;
        if touched || !*fixed || *listed != ladder {
            let bounds = match self.bounds {
                Some((d, b)) if d == day => b,
                _ => {
                    let b = wake.bounds(day, self.end);
                    self.bounds = Some((day, b));
                    b
                }
            };
            *fixed = wake.plan_within(ledger, c, (day, self.end, &bounds), strategy, days, facts, kept);
            *listed = ladder;
            // The reference: every row walked, none read from the facts cache.
            #[cfg(test)]
            if facts.is_some() {
                let mut walked = Vec::new();
                let again = wake.plan(ledger, c, day, self.end, strategy, &mut walked, None, &mut Kept::default());
                assert_eq!((again, &walked), (*fixed, &*days), "customer {c} on {day}");
            }
        }
        while days.last().is_some_and(|&t| day_of(t) <= today) {
            days.pop();
        }
        let mask = if suppressed.cap { CAP } else { 0 } | if suppressed.regulation_f { REGULATION_F } else { 0 };
        let mut best = days
            .iter()
            .rev()
            .find(|&&t| i64::from(t) & 3 == 0 || i64::from(t) & mask != 0)
            .map_or(i64::MAX, |&t| day_of(t));
        let calendar = match self.calendar {
            Some((d, t)) if d == day => t,
            _ => {
                let t = wake.calendar(day);
                self.calendar = Some((day, t));
                t
            }
        };
        if let Some(t) = calendar {
            best = best.min(t);
        }
        if wake.business_days && suppressed.business_day {
            match day.weekday() {
                Weekday::Sat => best = best.min(today + 2),
                Weekday::Sun => best = best.min(today + 1),
                // A weekday is held only by a holiday or a company closure
                // (`public_holidays`, `holidays`): look again tomorrow.
                _ => best = best.min(today + 1),
            }
        }
        if let Some(s) = wake.max_sleep {
            best = best.min(today + s);
        }
        *next = best.max(today + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_suppressing_guardrail_wakes_on_the_days_it_lifts() {
        // Standard (`business_days_only`, a contact cap) on the demo, every
        // customer evaluated on Saturday 2026-11-14 after a touch: on Monday
        // wakes every one whose actions `business_days_only` suppressed,
        // and, of the others, only those with a wake day of their own then.
        // A suppression by the cap brings the days messages leave the window.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ledger = crate::ledger::load(&root.join("fixtures/demo"), &Default::default()).unwrap();
        let policy = crate::policy::load(&root.join("policies/standard")).policy.unwrap();
        let wake = Wake::of(&policy, &crate::facts::FactsConfig::default());
        let sat = NaiveDate::from_ymd_opt(2026, 11, 14).unwrap();
        let (sun, mon) = (sat.succ_opt().unwrap(), sat + chrono::Duration::days(2));
        let end = sat + chrono::Duration::days(91);
        let n = ledger.customers.len() as CustIx;
        let schedule = |s: Suppressed| {
            let mut sch = Schedule::new(n as usize, end);
            (0..n).for_each(|c| sch.evaluated(&wake, &ledger, c, sat, true, s, None, None));
            sch
        };
        let quiet = schedule(Suppressed::default());
        let weekend = schedule(Suppressed { business_day: true, ..Suppressed::default() });
        let capped = schedule(Suppressed { cap: true, ..Suppressed::default() });
        let due = |s: &Schedule, d| (0..n).filter(|&c| s.due(c, d)).count();
        assert_eq!(due(&weekend, mon), n as usize);
        assert!(due(&quiet, mon) < n as usize / 2, "{}", due(&quiet, mon));
        assert!(due(&quiet, sun) <= due(&quiet, mon));
        // The cap's days are the quiet ones and more.
        let days = |s: &Schedule| (1..=7).map(|k| due(s, sat + chrono::Duration::days(k))).collect::<Vec<_>>();
        let (capped, quiet) = (days(&capped), days(&quiet));
        assert!(capped.iter().zip(&quiet).all(|(c, q)| c >= q) && capped != quiet, "{capped:?} {quiet:?}");
    }

    #[test]
    fn an_incentive_by_quarter_wakes_everyone_where_it_starts_being_offered_only() {
        // The shipped policies offer their year-end discount in Q4 only: the
        // schedule wakes every customer on 1 October (it may be offered from
        // then), not on 1 January (it is only taken away), nor on the other
        // quarters' starts. A policy reading `as_of.quarter` wakes them at
        // every quarter's start.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        for name in ["standard", "strict", "lenient"] {
            let policy = crate::policy::load(&root.join(format!("policies/{name}"))).policy.unwrap();
            assert!(policy.rules.incentives.iter().any(|x| x.quarters == [4]), "{name}");
            let wake = Wake::of(&policy, &crate::facts::FactsConfig::default());
            assert_eq!(wake.quarters, [false, false, false, true], "{name}");
            for day in [date(2026, 11, 16), date(2027, 1, 1), date(2027, 6, 30), date(2027, 9, 30)] {
                assert_eq!(wake.calendar(day), Some(ce(date(2027, 10, 1))), "{name} on {day}");
            }
            assert_eq!(wake.calendar(date(2027, 10, 1)), Some(ce(date(2028, 10, 1))), "{name}");
        }
        let mut wake = Wake::of(
            &crate::policy::load(&root.join("policies/standard")).policy.unwrap(),
            &crate::facts::FactsConfig::default(),
        );
        wake.quarters = [true; 4];
        assert_eq!(wake.calendar(date(2026, 11, 16)), Some(ce(date(2027, 1, 1))));
        assert_eq!(wake.calendar(date(2027, 1, 1)), Some(ce(date(2027, 4, 1))));
        assert_eq!(wake.calendar(date(2027, 8, 31)), Some(ce(date(2027, 10, 1))));
    }

    /// An action of customer `c` decided on `decided`, executed on `executed`.
    fn action(
        c: CustIx,
        rule: &str,
        kind: ActionKind,
        outcome: Outcome,
        decided: NaiveDate,
        executed: NaiveDate,
    ) -> crate::ledger::ActionRecord {
        crate::ledger::ActionRecord {
            id: Default::default(),
            customer: c,
            invoice: None,
            rule_id: crate::ledger::RuleId::new(rule),
            action: kind,
            channel: None,
            decided_on: decided,
            executed_on: Some(executed),
            outcome: Some(outcome),
            arm: None,
        }
    }

    fn demo(policy: &str) -> (Ledger, Wake) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ledger = crate::ledger::load(&root.join("fixtures/demo"), &Default::default()).unwrap();
        let policy = crate::policy::load(&root.join(policy)).policy.unwrap();
        (ledger, Wake::of(&policy, &crate::facts::FactsConfig::default()))
    }

    /// The plan of `c` on `day` carried on in `kept`, checked against the
    /// full walk (a fresh `Kept`); whether it was fixed.
    fn carried(wake: &Wake, ledger: &Ledger, c: CustIx, day: NaiveDate, end: NaiveDate, kept: &mut Kept) -> bool {
        let (mut days, mut walked) = (Vec::new(), Vec::new());
        let fixed = wake.plan(ledger, c, day, end, None, &mut days, None, kept);
        let again = wake.plan(ledger, c, day, end, None, &mut walked, None, &mut Kept::default());
        assert_eq!((fixed, &days), (again, &walked), "customer {c} on {day}");
        fixed
    }

    #[test]
    fn a_carried_plan_folds_in_the_rows_appended_since_and_lets_old_ones_go() {
        // Standard (ladder steps with cooldowns, limit rules, reviews, the
        // contact cap and Regulation F): rows appended to a few customers
        // over 16 touches two to three days apart, then 120 days without a
        // row; each plan carried on from the last one is the full walk's.
        let (mut ledger, wake) = demo("policies/standard");
        assert!(wake.cap.is_some() && wake.regulation_f && !wake.ages[ALL_LADDERS].cooldowns.is_empty());
        let start = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let end = start + chrono::Duration::days(400);
        let customers: Vec<CustIx> = (0..ledger.customers.len() as CustIx).step_by(7).take(12).collect();
        let mut kept = vec![Kept::default(); ledger.customers.len()];
        let kinds = [
            ("first-notice", ActionKind::Email, Outcome::Sent),
            ("call", ActionKind::Call, Outcome::Answered),
            ("call", ActionKind::Call, Outcome::NoAnswer),
            ("second-notice", ActionKind::Email, Outcome::Failed),
            ("review-high-risk", ActionKind::CreditReview, Outcome::Sent),
            ("grow-reliable", ActionKind::LimitChange, Outcome::Sent),
            ("instalments", ActionKind::PaymentPlanOffer, Outcome::Sent),
            ("pre-due-sms", ActionKind::Sms, Outcome::Sent),
        ];
        let mut day = start;
        let mut n = 0usize;
        for touch in 0..16 {
            for (i, &c) in customers.iter().enumerate() {
                // One to three rows dated the day or a few days before it.
                for r in 0..=(touch + i) % 3 {
                    let (rule, kind, outcome) = kinds[(n + r) % kinds.len()];
                    let executed = day - chrono::Duration::days((r % 2) as i64);
                    ledger.push_action(action(c, rule, kind, outcome, executed, executed));
                }
                n += 1;
                assert!(carried(&wake, &ledger, c, day, end, &mut kept[c as usize]));
                let k = &kept[c as usize];
                assert!(k.carried && k.seen as usize == ledger.acts.rows(c).len());
            }
            day += chrono::Duration::days(2 + touch as i64 % 2);
        }
        let held: usize = customers.iter().map(|&c| kept[c as usize].rows.len()).sum();
        assert!(held > 0);
        // No new row: each plan folds nothing in, and the rows fall out of the
        // windows and cooldowns (the carried state shrinks to nothing).
        for _ in 0..12 {
            day += chrono::Duration::days(10);
            for &c in &customers {
                assert!(carried(&wake, &ledger, c, day, end, &mut kept[c as usize]));
            }
        }
        assert_eq!(customers.iter().map(|&c| kept[c as usize].rows.len()).sum::<usize>(), 0);
        assert!(customers.iter().all(|&c| kept[c as usize].contact != NEVER));
    }

    #[test]
    fn a_row_dated_after_the_day_is_read_again_until_its_day_has_passed() {
        // A loaded ledger's action executed after the simulated day: the
        // plan is not fixed, and not carried on (the next plan reads every
        // row again) until a plan on or after its dates.
        let (mut ledger, wake) = demo("policies/standard");
        let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let end = day + chrono::Duration::days(91);
        let c = 3;
        let mut kept = Kept::default();
        assert!(carried(&wake, &ledger, c, day, end, &mut kept));
        let later = day + chrono::Duration::days(5);
        ledger.push_action(action(c, "call", ActionKind::Call, Outcome::Answered, later, later));
        // Decided by the day, executed after it; and decided after it.
        ledger.push_action(action(c, "first-notice", ActionKind::Email, Outcome::Sent, day, later));
        assert!(!carried(&wake, &ledger, c, day, end, &mut kept));
        assert!(!kept.carried);
        for k in 1..5 {
            assert!(!carried(&wake, &ledger, c, day + chrono::Duration::days(k), end, &mut kept), "{k}");
        }
        // On its day it is folded in like any other, and carried on after.
        assert!(carried(&wake, &ledger, c, later, end, &mut kept));
        assert!(kept.carried && kept.conversation == ce(later) as i32);
        let next = later + chrono::Duration::days(1);
        ledger.push_action(action(c, "second-notice", ActionKind::Email, Outcome::Sent, next, next));
        assert!(carried(&wake, &ledger, c, next, end, &mut kept));
    }

    #[test]
    fn a_date_leaves_a_window_of_months_on_the_first_day_it_is_not_after_its_start() {
        // The definition, searched day by day, for every date of 2023-2026
        // (leap years, month ends) and the behaviour and trend windows.
        let (mut d, last) =
            (NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        while d <= last {
            for m in [1, 2, 3, 6, 11, 12, 24] {
                let searched = (0..800)
                    .map(|k| d + chrono::Duration::days(k))
                    .find(|&t| crate::facts::months_before(t, m) >= d)
                    .unwrap();
                assert_eq!(leaves_window(d, m), Some(searched), "{d} {m}");
                // And chrono's month arithmetic (the slower twin it replaced).
                let t = d.checked_add_months(chrono::Months::new(m)).unwrap();
                assert_eq!(leaves_window(d, m), if t.day() == d.day() { Some(t) } else { t.succ_opt() }, "{d} {m}");
            }
            d = d.succ_opt().unwrap();
        }
        assert_eq!(
            leaves_window(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap(), 1),
            NaiveDate::from_ymd_opt(2024, 3, 1)
        );
    }

    #[test]
    fn numbers_of_a_text() {
        let mut v = Vec::new();
        numbers("days_past_due = 14\nfee = \"25.00\"\nx2 = 5000 when > 45 && r >= 0.8", 3660, &mut v);
        assert_eq!(v, vec![14, 25, 45, 0]);
    }

    fn fact(name: &str) -> Box<Node> {
        let (scope, n) = name.split_once('.').unwrap();
        let scope = match scope {
            "customer" => Scope::Customer,
            "invoice" => Scope::Invoice,
            _ => Scope::Calendar,
        };
        Box::new(Node::Fact(FactRef::find(scope, n).unwrap()))
    }

    fn cmp(op: crate::policy::expr::Cmp, a: Box<Node>, b: Box<Node>) -> Node {
        Node::Cmp(op, crate::policy::expr::Kind::Int, a, b)
    }

    #[test]
    fn each_comparison_flips_on_its_own_day() {
        use crate::policy::expr::Cmp::{Eq, Ge, Gt, Le, Lt, Ne};
        // days since a date (`count op 45`)
        assert_eq!(flips(Gt, true, false, 45.0), vec![46]);
        assert_eq!(flips(Ge, true, false, 45.0), vec![45]);
        assert_eq!(flips(Lt, true, false, 45.0), vec![45]);
        assert_eq!(flips(Le, true, false, 45.0), vec![46]);
        assert_eq!(flips(Eq, true, false, 45.0), vec![45, 46]);
        assert_eq!(flips(Ne, true, false, 45.0), vec![45, 46]);
        // `45 < count` is `count > 45`
        assert_eq!(flips(Lt, false, false, 45.0), vec![46]);
        // days to a date: `days_to_due <= 3` holds from 3 days before it;
        // `days_to_due < 3` from 2 days before
        assert_eq!(flips(Le, true, true, 3.0), vec![-3]);
        assert_eq!(flips(Lt, true, true, 3.0), vec![-2]);
        // a fraction: `> 4.5` and `>= 4.5` both on day 5
        assert_eq!(flips(Gt, true, false, 4.5), vec![5]);
        assert_eq!(flips(Ge, true, false, 4.5), vec![5]);
    }

    #[test]
    fn day_counts_compared_with_constants_are_placed_and_the_rest_is_not() {
        use crate::policy::expr::Cmp::{Ge, Gt, Lt};
        let mut by: [Vec<i64>; 4] = Default::default();
        // `customer.days_since_payment > 45 || invoice.days_to_due <= 3` and
        // amounts, ratios and counts, which move only with the rows.
        let n = Node::Or(vec![
            cmp(Gt, fact("customer.days_since_payment"), Box::new(Node::Int(45))),
            cmp(Ge, Box::new(Node::Int(3)), fact("invoice.days_to_due")),
            cmp(Gt, fact("customer.utilization"), Box::new(Node::Float(0.8))),
            cmp(Lt, fact("customer.overdue_total"), fact("customer.credit_limit")),
            cmp(Ge, fact("customer.max_days_past_due"), Box::new(Node::Dec(rust_decimal::Decimal::new(305, 1)))),
        ]);
        assert!(thresholds(&n, &mut by));
        // `> 45` flips on day 46; `3 >= days_to_due` (the due date is 3
        // days away) on day -3; `>= 30.5` on day 31.
        assert_eq!(by, [vec![-3, 31], vec![], vec![46], vec![]]);
        // Arithmetic on a day count, two day counts compared, a weighted
        // average: not followed (their numbers go to every date).
        let two = Box::new(Node::Arith(
            crate::policy::expr::Arith::Mul,
            crate::policy::expr::Kind::Int,
            Box::new(Node::Int(2)),
            Box::new(Node::Int(30)),
        ));
        assert!(!thresholds(&cmp(Gt, fact("customer.days_since_payment"), two), &mut by));
        let both = cmp(Gt, fact("customer.days_since_payment"), fact("customer.days_since_contact"));
        assert!(!thresholds(&both, &mut by));
        let weighted = cmp(Gt, fact("customer.weighted_days_past_due"), Box::new(Node::Int(10)));
        assert!(!thresholds(&weighted, &mut by));
    }
}
