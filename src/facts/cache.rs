//! Facts of a ledger that only grows, derived without re-walking each
//! customer's whole history on every evaluation (the simulation's).
//!
//! [`derive_customer`](super::derive_customer) walks every invoice of the
//! customer (settling the closed ones again from their payments), every
//! payment and every action on each call. In a simulated ledger most of that
//! history is fixed: a closed invoice stays settled on the same date, the
//! last payment and the last step only move forward, a message stays the
//! first row of its message. [`Cache`] keeps, per customer, what the rows
//! seen so far give — the open invoices, the settled invoices sorted by
//! settlement date, the last payment, the first rows of the executed
//! messages and the action maxima — and on each call adds the rows appended
//! since and the invoices closed since; what depends on the as-of date (days
//! since, windows, days past due, promises) is computed on each call from
//! those, exactly as `derive_customer` computes it.
//!
//! The same values as `derive_customer`, when the ledger changes only as the
//! simulation changes it between calls:
//! - rows (invoices, payments, actions) are only appended (`Ledger::push_*`),
//!   never removed or edited, except that
//! - an open invoice may close (its status and open amount change), and a
//!   closed one never reopens;
//! - a payment appended for an invoice is of the invoice's customer;
//! - customers' fields may change (they are read on each call).
//!
//! Promises are read from the ledger on each call, as `derive_customer` reads
//! them; what each one's window holds (the payments that keep it, a
//! function of the payment rows alone) is kept until a payment row of the
//! customer is appended. A customer's state is rebuilt from its whole history when the as-of
//! date goes back, when it reaches a payment or an executed action dated
//! after an earlier call's as-of date (a ledger with rows after its as-of
//! date, or a backtest), when a payment is appended to an invoice already
//! closed, or when the per-invoice rules change; so those cases are exact
//! too, only not faster. A test runs projections and compares every
//! evaluation with `derive_customer`.

use super::{
    ActionFold, Behaviour, Context, CustomerFacts, InvoiceFacts, Messages, PerInvoiceRules, Promises, date_or_never,
    open_invoice, promise_facts, promise_paid, same_act_message, settled_on,
};
use crate::ledger::{Act, ActionKind, CustIx, Ledger};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Per-customer derivation state for one growing ledger (see the module
/// documentation for what the ledger may do between calls). Use one cache
/// with one ledger, or with ledgers whose rows are the same at the time
/// of the clone: a clone ([`Clone`]) carries on on another such ledger (the
/// simulation derives every customer once on the first day for all runs of
/// a policy and gives each run a clone).
#[derive(Debug, Default, Clone)]
pub struct Cache {
    per_invoice: PerInvoiceRules,
    /// [`Context::weighted_late`] of the calls (the memo of the payment
    /// behaviour facts holds the weighted days late or 0).
    weighted_late: bool,
    customers: Vec<State>,
}

/// A settled invoice of the behaviour facts.
#[derive(Debug, Clone, Copy)]
struct Settled {
    on: NaiveDate,
    /// Days from the due date and from the issue date to `on`.
    late: i32,
    to_pay: i32,
    amount: Decimal,
}

/// The first row of an executed message.
#[derive(Debug, Clone, Copy)]
struct Message {
    on: NaiveDate,
    call: bool,
    /// A failed attempt ([`Outcome::is_failed_attempt`]).
    failed: bool,
}

impl Message {
    /// The message whose first row is `a`, executed on `on`.
    fn of(a: &Act, on: NaiveDate) -> Self {
        Message {
            on,
            call: a.action == ActionKind::Call,
            failed: a.outcome.is_some_and(crate::ledger::Outcome::is_failed_attempt),
        }
    }
}

/// The payment behaviour facts.
#[derive(Debug, Clone, Copy)]
struct Paid {
    paid_invoices: u32,
    avg_days_late: f64,
    weighted_days_late: f64,
    on_time_ratio: f64,
    trend: f64,
    avg_days_to_pay: f64,
}

impl Paid {
    fn of(f: &CustomerFacts<'_>) -> Self {
        Paid {
            paid_invoices: f.paid_invoices,
            avg_days_late: f.avg_days_late,
            weighted_days_late: f.weighted_days_late,
            on_time_ratio: f.on_time_ratio,
            trend: f.trend,
            avg_days_to_pay: f.avg_days_to_pay,
        }
    }

    fn set(&self, f: &mut CustomerFacts<'_>) {
        f.paid_invoices = self.paid_invoices;
        f.avg_days_late = self.avg_days_late;
        f.weighted_days_late = self.weighted_days_late;
        f.on_time_ratio = self.on_time_ratio;
        f.trend = self.trend;
        f.avg_days_to_pay = self.avg_days_to_pay;
    }
}

/// Payment behaviour facts and the window they were derived from: the
/// length of `settled` (which only grows: the same length, the same
/// invoices), the settlement dates of its first invoice in the window and of
/// its first recent one.
#[derive(Debug, Clone, Copy)]
struct PaidMemo {
    len: usize,
    first: Option<NaiveDate>,
    first_recent: Option<NaiveDate>,
    paid: Paid,
}

/// Contacts of the last 7, 30, 90 days and calls of the last 7, with the
/// length of `messages` they were counted from and the as-of date from which
/// one of them is out of a window it was counted in.
#[derive(Debug, Clone, Copy)]
struct ContactsMemo {
    len: usize,
    until: NaiveDate,
    /// contacts_7d, contacts_30d, contacts_90d, calls_7d,
    /// failed_contacts_30d, failed_contacts_90d.
    counts: [u32; 6],
}

#[derive(Debug, Default, Clone)]
struct State {
    built: bool,
    /// The as-of date of the last call.
    as_of: NaiveDate,
    /// The earliest date after `as_of` of a payment or an executed action
    /// already in the ledger: the state holds until the as-of date reaches it.
    until: Option<NaiveDate>,
    /// Rows of the customer seen (positions in its `rows(c)`).
    invoices_seen: usize,
    payments_seen: usize,
    actions_seen: usize,
    /// Invoices open at the last call, in row order.
    open: Open,
    /// Closed invoices settled by `as_of`, by settlement date; those before
    /// the behaviour window are dropped (it only moves forward).
    settled: Vec<Settled>,
    /// The start of the behaviour window and of its recent part at the
    /// last call (the state is rebuilt if either goes back).
    windows: (NaiveDate, NaiveDate),
    last_payment: Option<NaiveDate>,
    /// Payments with no invoice (cash on account) dated up to `as_of`.
    unapplied: Decimal,
    /// The payment behaviour facts of an earlier call.
    paid: Option<PaidMemo>,
    /// The message counts of an earlier call.
    contacts: Option<ContactsMemo>,
    /// Exposure, credit limit and utilisation of the last call.
    utilization: Option<(Decimal, Decimal, f64)>,
    /// First rows of the executed messages up to `as_of`, by date.
    messages: Vec<Message>,
    actions: ActionFold,
    /// The executed rows seen (at any date) are in non-decreasing execution
    /// date, the latest of them executed on `last_executed`.
    executed_sorted: bool,
    last_executed: Option<NaiveDate>,
    /// What each promise's window holds ([`promise_paid`]), by the
    /// promise's position among the customer's, as of a call that had seen
    /// `payments` payment rows (promises are never appended; a payment row
    /// appended changes it).
    promised: Option<PromiseMemo>,
}

#[derive(Debug, Default, Clone)]
struct PromiseMemo {
    payments: usize,
    grace: i64,
    paid: Vec<Decimal>,
}

/// The open invoices of a state: up to four (most customers) in the state
/// itself, more on the heap. Read on every call: inline, one cache miss less.
type Open = smallvec::SmallVec<[u32; 4]>;

impl State {
    fn later(&mut self, d: NaiveDate) {
        self.until = Some(self.until.map_or(d, |u| u.min(d)));
    }

    /// Note action row `a` as seen, for `executed_sorted`.
    fn saw_action(&mut self, a: &Act) {
        if a.was_executed() {
            self.executed_sorted &= self.last_executed <= a.executed_on;
            self.last_executed = self.last_executed.max(a.executed_on);
        }
    }
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Cache::default()
    }

    /// Ask for customer `c`'s state ahead of use ([`crate::prefetch`]);
    /// `deep` (once the state is in): what it points to, its open invoices'
    /// rows in `ledger`, its latest message and its first settled invoice.
    #[inline]
    pub(crate) fn prefetch(&self, ledger: &Ledger, c: CustIx, deep: bool) {
        let Some(st) = self.customers.get(c as usize) else { return };
        if !deep {
            crate::prefetch::all(st);
            return;
        }
        for inv in st.open.iter().filter_map(|&i| ledger.invoices.get(i as usize)) {
            crate::prefetch::all(inv);
        }
        if let Some(m) = st.messages.last() {
            crate::prefetch::line(m);
        }
        crate::prefetch::line(st.settled.as_ptr());
    }

    /// Customer `c`'s last payment, if its last [`derive`](Self::derive) was
    /// as of `as_of` and no payment or executed action of its rows is dated
    /// after that: `Some(None)` when it has paid nothing. `None` otherwise
    /// (not derived for that day, or rows dated later: walk the rows).
    /// Read-only: for the simulation's wake-up schedule, which asks right
    /// after a `derive`.
    pub fn last_payment(&self, c: CustIx, as_of: NaiveDate) -> Option<Option<NaiveDate>> {
        let st = self.customers.get(c as usize).filter(|st| st.built && st.as_of == as_of && st.until.is_none())?;
        Some(st.last_payment)
    }

    /// Customer `c`'s invoices open and the settlement dates of its closed
    /// ones within `(from, to]` (in date order), as of its last
    /// [`derive`](Self::derive); `None` before its first. Settled invoices
    /// before the behaviour window of an earlier call may have been dropped:
    /// `from` no earlier than that window's start. Read-only: for the
    /// simulation's wake-up schedule, which asks right after a `derive`.
    pub fn seen(&self, c: CustIx, from: NaiveDate, to: NaiveDate) -> Option<(&[u32], impl Iterator<Item = NaiveDate>)> {
        let st = self.customers.get(c as usize).filter(|st| st.built)?;
        let lo = st.settled.partition_point(|s| s.on <= from);
        let hi = st.settled.partition_point(|s| s.on <= to).max(lo);
        Some((st.open.as_slice(), st.settled[lo..hi].iter().map(|s| s.on)))
    }

    /// The facts of customer `c` as of `ctx.as_of`, filling `invoices` with
    /// its open invoices' facts: the same values as
    /// [`derive_customer`](super::derive_customer).
    pub fn derive<'a>(
        &mut self,
        ledger: &'a Ledger,
        c: CustIx,
        ctx: &Context,
        invoices: &mut Vec<InvoiceFacts<'a>>,
    ) -> CustomerFacts<'a> {
        self.derive_with(ledger, c, ctx, invoices, true)
    }

    /// [`derive`](Self::derive) for a customer whose rows are as they were
    /// at the last call for it: none of its invoices, payments or actions
    /// appended since and none of its invoices closed since (its customer
    /// row may have changed). The rows are then not walked for changes (the
    /// simulation passes the customers it did not touch since their last
    /// evaluation). Test builds check that nothing changed.
    pub fn derive_unchanged<'a>(
        &mut self,
        ledger: &'a Ledger,
        c: CustIx,
        ctx: &Context,
        invoices: &mut Vec<InvoiceFacts<'a>>,
    ) -> CustomerFacts<'a> {
        self.derive_with(ledger, c, ctx, invoices, false)
    }

    fn derive_with<'a>(
        &mut self,
        ledger: &'a Ledger,
        c: CustIx,
        ctx: &Context,
        invoices: &mut Vec<InvoiceFacts<'a>>,
        changed: bool,
    ) -> CustomerFacts<'a> {
        if self.per_invoice != ctx.per_invoice || self.weighted_late != ctx.weighted_late {
            self.per_invoice = ctx.per_invoice.clone();
            self.weighted_late = ctx.weighted_late;
            self.customers.clear();
        }
        if self.customers.len() < ledger.customers.len() {
            self.customers.resize_with(ledger.customers.len(), State::default);
        }
        let as_of = ctx.as_of;
        let st = &mut self.customers[c as usize];
        if !st.built
            || as_of < st.as_of
            || st.until.is_some_and(|u| as_of >= u)
            || ctx.behaviour_from < st.windows.0
            || ctx.trend_from < st.windows.1
        {
            build(st, ledger, c, as_of, &self.per_invoice);
        } else if !changed {
            // Nothing to bring forward: only the date moved.
            #[cfg(test)]
            check_unchanged(st, ledger, c);
        } else if !sync(st, ledger, c, as_of, &self.per_invoice) {
            build(st, ledger, c, as_of, &self.per_invoice);
        }
        st.as_of = as_of;
        st.windows = (ctx.behaviour_from, ctx.trend_from);

        let customer = &ledger.customers[c as usize];
        invoices.clear();
        let promise_rows = ledger.promises_by_customer.rows(c);
        let payments = ledger.payments_by_customer.rows(c).len();
        let grace = i64::from(ctx.config.promise_grace_days);
        if !promise_rows.is_empty()
            && st
                .promised
                .as_ref()
                .is_none_or(|m| (m.payments, m.grace, m.paid.len()) != (payments, grace, promise_rows.len()))
        {
            let days = chrono::Duration::days(grace);
            let paid = promise_rows.iter().map(|&p| promise_paid(ledger, c, &ledger.promises[p as usize], days));
            st.promised = Some(PromiseMemo { payments, grace, paid: paid.collect() });
        }
        let promises = Promises::new(ledger, c, ctx, st.promised.as_ref().map(|m| &m.paid[..]));
        let mut f = CustomerFacts::blank(customer, c);
        let mut weighted_dpd = Decimal::ZERO;
        for &i in st.open.as_slice() {
            open_invoice(i, &ledger.invoices[i as usize], ctx, &promises, &mut f, &mut weighted_dpd, invoices);
        }
        // Utilisation: the last answer while the exposure and the limit
        // are the same Decimals (mantissa and scale).
        let credit_notes = ledger.credit_notes_of(c, as_of);
        f.apply_credit(crate::ledger::Credit { unapplied_cash: st.unapplied, credit_notes }, invoices);
        let util = &mut st.utilization;
        f.finish_open_with(ctx.weighted_dpd.then_some(weighted_dpd), ctx.balance, |exposure, limit| match *util {
            Some((e, l, u)) if same_decimal(e, exposure) && same_decimal(l, limit) => u,
            _ => {
                let u = super::ratio(exposure, limit);
                *util = Some((exposure, limit, u));
                u
            }
        });
        f.group_figures(ctx);

        // Payment behaviour: the settled invoices of the window. The window
        // and its recent part only move forward (the as-of date never goes
        // back without a rebuild), so the facts of an earlier call hold
        // while no invoice was settled since, none left the window and none
        // stopped being recent: read from the state alone, not `settled`.
        let paid = st.paid.filter(|m| {
            m.len == st.settled.len()
                && m.first.is_none_or(|d| ctx.behaviour_from < d)
                && m.first_recent.is_none_or(|d| ctx.trend_from < d)
        });
        match paid {
            Some(m) => m.paid.set(&mut f),
            None => {
                // A forward scan, not a binary search: the rows are read
                // in order right after (one cache miss, not a chain).
                let from = st.settled.iter().take_while(|s| s.on <= ctx.behaviour_from).count();
                // Never in the window again: dropped.
                st.settled.drain(..from);
                let mut late = Behaviour::of(ctx);
                let mut first_recent = None;
                for s in &st.settled {
                    let recent = s.on > ctx.trend_from;
                    if recent && first_recent.is_none() {
                        first_recent = Some(s.on);
                    }
                    late.add_settled(i64::from(s.late), i64::from(s.to_pay), s.amount, recent);
                }
                late.finish(&mut f);
                let first = st.settled.first().map(|s| s.on);
                st.paid = Some(PaidMemo { len: st.settled.len(), first, first_recent, paid: Paid::of(&f) });
            }
        }

        f.days_since_payment = date_or_never(st.last_payment, as_of);
        promise_facts(ledger, &promises, ctx, &mut f);

        // Messages of the last 7, 30 and 90 days: the counts of an earlier
        // call hold until a counted message ages out of a window or a
        // message is added.
        let counts = st.contacts.filter(|m| m.len == st.messages.len() && as_of < m.until);
        let counts = match counts {
            Some(m) => m,
            None => {
                let mut m = ContactsMemo { len: st.messages.len(), until: NaiveDate::MAX, counts: [0; 6] };
                for msg in st.messages.iter().rev() {
                    let age = (as_of - msg.on).num_days();
                    if age >= 90 {
                        break;
                    }
                    let week = age < 7;
                    m.counts[0] += u32::from(week);
                    m.counts[1] += u32::from(age < 30);
                    m.counts[2] += 1;
                    m.counts[3] += u32::from(week && msg.call);
                    m.counts[4] += u32::from(age < 30 && msg.failed);
                    m.counts[5] += u32::from(msg.failed);
                    // The as-of date on which it leaves the narrowest window holding it.
                    let window = if week {
                        7
                    } else if age < 30 {
                        30
                    } else {
                        90
                    };
                    let leaves = msg.on.checked_add_signed(chrono::Duration::days(window)).unwrap_or(NaiveDate::MAX);
                    m.until = m.until.min(leaves);
                }
                st.contacts = Some(m);
                m
            }
        };
        [f.contacts_7d, f.contacts_30d, f.contacts_90d, f.calls_7d, f.failed_contacts_30d, f.failed_contacts_90d] =
            counts.counts;
        st.actions.finish(ledger, as_of, &mut f);
        f
    }
}

/// The same Decimal, digit for digit (not only the same value).
fn same_decimal(a: Decimal, b: Decimal) -> bool {
    a.mantissa() == b.mantissa() && a.scale() == b.scale()
}

/// Settle closed invoice `i` as of `as_of` into `st`: its settlement date
/// then, if any, and the date of its first payment after `as_of`, after
/// which the answer may differ.
fn close(st: &mut State, ledger: &Ledger, i: u32, as_of: NaiveDate) {
    for &p in ledger.payments_by_invoice.rows(i) {
        let d = ledger.payments[p as usize].paid_on;
        if d > as_of {
            st.later(d);
        }
    }
    if let Some(on) = settled_on(ledger, i, as_of) {
        let inv = &ledger.invoices[i as usize];
        let s = Settled {
            on,
            // Dates are within ±262,143 years: their differences fit.
            late: (on - inv.due_date).num_days() as i32,
            to_pay: (on - inv.issue_date).num_days() as i32,
            amount: inv.amount,
        };
        // Mostly settled on the latest date: the place found from the end.
        let at = st.settled.iter().rposition(|t| t.on <= on).map_or(0, |k| k + 1);
        st.settled.insert(at, s);
    }
}

/// The customer's invoices not seen yet (all of them for a state just
/// reset): the open ones kept, the closed ones settled into the state.
fn take_invoices(st: &mut State, ledger: &Ledger, c: CustIx, as_of: NaiveDate) {
    let inv_rows = ledger.invoices_by_customer.rows(c);
    for &i in inv_rows.get(st.invoices_seen..).unwrap_or(&[]) {
        if ledger.invoices[i as usize].is_open() {
            st.open.push(i);
        } else {
            close(st, ledger, i, as_of);
        }
    }
    st.invoices_seen = inv_rows.len();
}

/// The date action row `a` was executed if it was, by `as_of`; a row
/// executed later is noted as such (`State::later`) and gives none.
fn executed_by(st: &mut State, a: &Act, as_of: NaiveDate) -> Option<NaiveDate> {
    let done = a.executed_on.filter(|_| a.was_executed())?;
    if done > as_of {
        st.later(done);
        return None;
    }
    Some(done)
}

/// The state of customer `c` from its whole history as of `as_of`.
fn build(st: &mut State, ledger: &Ledger, c: CustIx, as_of: NaiveDate, per_invoice: &PerInvoiceRules) {
    *st = State { built: true, as_of, executed_sorted: true, ..State::default() };
    take_invoices(st, ledger, c, as_of);
    let pay_rows = ledger.payments_by_customer.rows(c);
    for &p in pay_rows {
        let p = &ledger.payments[p as usize];
        let d = p.paid_on;
        if d <= as_of {
            st.last_payment = st.last_payment.max(Some(d));
            if p.invoice.is_none() {
                st.unapplied += p.amount;
            }
        } else {
            st.later(d);
        }
    }
    st.payments_seen = pay_rows.len();
    let acts = ledger.acts.rows(c);
    let mut messages = Messages::new(&ledger.actions, acts, as_of, per_invoice);
    for (pos, a) in acts.iter().enumerate() {
        st.saw_action(a);
        let Some(done) = executed_by(st, a, as_of) else { continue };
        // The first row of its message among all executed contacts up to
        // the as-of date: its message's rows share its date, so it is the
        // first among those of any window that holds it too.
        if a.is_contact() && messages.is_first(pos, |b| b.is_contact()) {
            st.messages.push(Message::of(a, done));
        }
        st.actions.add(a, done);
    }
    st.messages.sort_by_key(|m| m.on);
    st.actions_seen = acts.len();
}

/// Bring `st` (built, as of an earlier or the same date, before any row of
/// its history dated after that) to `as_of`: the rows appended since and the
/// invoices closed since. `false` when it must be rebuilt instead (a payment
/// for an invoice closed before).
fn sync(st: &mut State, ledger: &Ledger, c: CustIx, as_of: NaiveDate, per_invoice: &PerInvoiceRules) -> bool {
    let pay_rows = ledger.payments_by_customer.rows(c);
    for &p in pay_rows.get(st.payments_seen..).unwrap_or(&[]) {
        let p = &ledger.payments[p as usize];
        if let Some(i) = p.invoice
            && !st.open.as_slice().contains(&i)
            && !ledger.invoices_by_customer.rows(c).get(st.invoices_seen..).unwrap_or(&[]).contains(&i)
        {
            return false;
        }
        if p.paid_on <= as_of {
            st.last_payment = st.last_payment.max(Some(p.paid_on));
            if p.invoice.is_none() {
                st.unapplied += p.amount;
            }
        } else {
            st.later(p.paid_on);
        }
    }
    st.payments_seen = pay_rows.len();

    let mut k = 0;
    while let Some(&i) = st.open.as_slice().get(k) {
        if ledger.invoices[i as usize].is_open() {
            k += 1;
        } else {
            st.open.remove(k);
            close(st, ledger, i, as_of);
        }
    }
    take_invoices(st, ledger, c, as_of);

    let acts = ledger.acts.rows(c);
    for pos in st.actions_seen..acts.len() {
        let a = &acts[pos];
        // Whether the executed rows before this one are in date order.
        let sorted = st.executed_sorted;
        st.saw_action(a);
        let Some(done) = executed_by(st, a, as_of) else { continue };
        // The first row of its message if no earlier executed row is the
        // same message (such a row has its date: it was added up to an
        // earlier as-of date or is among the rows added now). In a history
        // in date order only the rows of its date are compared: the walk
        // back stops at the first executed row of an earlier date.
        if a.is_contact() && is_first_added(ledger, &acts[..pos], a, sorted, per_invoice) {
            let at = st.messages.partition_point(|m| m.on <= done);
            st.messages.insert(at, Message::of(a, done));
        }
        st.actions.add(a, done);
    }
    st.actions_seen = acts.len();
    true
}

/// Is `a` (a contact executed up to the as-of date) the first row of its
/// message, after the rows `before` of its customer? `sorted`: the executed
/// rows among them are in non-decreasing execution date.
fn is_first_added(ledger: &Ledger, before: &[Act], a: &Act, sorted: bool, per_invoice: &PerInvoiceRules) -> bool {
    for b in before.iter().rev() {
        if !b.was_executed() {
            continue;
        }
        if same_act_message(a, b, &ledger.actions, per_invoice) {
            return false;
        }
        if sorted && b.executed_on < a.executed_on {
            return true;
        }
    }
    true
}

/// Panic unless the rows of customer `c` are what `st` has seen: none
/// appended and no open invoice closed (what
/// [`Cache::derive_unchanged`] is told).
#[cfg(test)]
fn check_unchanged(st: &State, ledger: &Ledger, c: CustIx) {
    let seen = (st.invoices_seen, st.payments_seen, st.actions_seen);
    let now = (
        ledger.invoices_by_customer.rows(c).len(),
        ledger.payments_by_customer.rows(c).len(),
        ledger.acts.rows(c).len(),
    );
    assert_eq!(seen, now, "rows of customer {c} appended, yet derived as unchanged");
    for &i in st.open.as_slice() {
        assert!(ledger.invoices[i as usize].is_open(), "invoice {i} of customer {c} closed, yet derived as unchanged");
    }
}

/// Panic unless `cf` and `invoices` (from a [`Cache`]) are what
/// [`derive_customer`](super::derive_customer) derives for customer `c`:
/// every field, floats bit for bit. The simulation calls it on every
/// evaluation in the library's unit tests.
#[cfg(test)]
pub(crate) fn check_against_derive_customer(
    ledger: &Ledger,
    c: CustIx,
    ctx: &Context,
    cf: &CustomerFacts<'_>,
    invoices: &[InvoiceFacts<'_>],
) {
    let mut buf = Vec::new();
    let full = super::derive_customer(ledger, c, ctx, &mut buf);
    assert_eq!(format!("{cf:?}"), format!("{full:?}"), "customer {c} as of {}", ctx.as_of);
    assert_eq!(format!("{invoices:?}"), format!("{buf:?}"), "invoices of customer {c} as of {}", ctx.as_of);
    CHECKED.with(|n| n.set(n.get() + 1));
}

#[cfg(test)]
thread_local! {
    /// Evaluations checked by [`check_against_derive_customer`] on this thread.
    pub(crate) static CHECKED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactsConfig;
    use crate::ledger::{ActionRecord, Channel, Invoice, InvoiceStatus, LoadOptions, Outcome, Payment};
    use crate::simulate::project::{Projection, Scenario, project_one};
    use rand::{RngExt, SeedableRng};
    use std::path::Path;

    fn repo(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
    }

    fn demo() -> Ledger {
        crate::ledger::load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Projections of the demo with each shipped policy (per-invoice ladders
    /// included), evaluating only touched and woken customers and every
    /// customer every day, from the demo's as-of date and from dates with
    /// payments and actions after them: each evaluation's cached facts are
    /// checked against `derive_customer` inside the simulation.
    #[test]
    fn simulated_facts_are_derive_customers_on_every_evaluation() {
        let ledger = demo();
        let stall = [0.45, 0.52, 0.8, 0.76, 0.57];
        let cases = [
            ("standard", "2026-11-16", 91, false),
            ("strict", "2026-11-16", 91, false),
            ("lenient", "2026-11-16", 60, true),
            ("standard", "2026-07-01", 45, true),
            ("strict", "2026-03-15", 30, false),
        ];
        for (name, as_of, days, every_day) in cases {
            let policy = crate::policy::load(&repo(&format!("policies/{name}"))).policy.unwrap();
            let p = Projection { days, runs: 1, seed: 5, scenario: Scenario::default(), every_day };
            let before = CHECKED.with(|n| n.get());
            let (_, sim) = project_one(&ledger, &policy, date(as_of), &p, &stall, 0).unwrap();
            let checked = CHECKED.with(|n| n.get()) - before;
            let min = if every_day { u64::from(days) * ledger.customers.len() as u64 } else { 1000 };
            assert!(checked >= min, "{name} from {as_of}: only {checked} evaluations checked");
            assert!(sim.actions.len() > ledger.actions.len(), "{name} from {as_of}: the policy acted");
        }
    }

    /// A longer behaviour window or recent part than at the last call (the
    /// settled invoices before the old window were dropped): the state is
    /// rebuilt, the facts are `derive_customer`'s.
    #[test]
    fn a_window_that_goes_back_rebuilds() {
        let ledger = demo();
        let mut cache = Cache::new();
        let mut checked_paid = 0;
        for (as_of, behaviour_months, trend_recent_months) in
            [("2026-11-16", 3, 1), ("2026-11-17", 12, 1), ("2026-11-18", 12, 6), ("2026-11-19", 2, 1)]
        {
            let config = FactsConfig { behaviour_months, trend_recent_months, ..FactsConfig::default() };
            let ctx = Context::new(date(as_of), config);
            for c in 0..ledger.customers.len() as CustIx {
                let mut buf = Vec::new();
                let cf = cache.derive_unchanged(&ledger, c, &ctx, &mut buf);
                checked_paid += u32::from(cf.paid_invoices > 0);
                check_against_derive_customer(&ledger, c, &ctx, &cf, &buf);
            }
        }
        assert!(checked_paid > 100, "only {checked_paid} customers with paid invoices");
    }

    /// A ledger changed at random the ways the cache allows (credit limits
    /// among them) and some it rebuilds for (payments to closed invoices,
    /// rows dated after the as-of date, the as-of date going back, other
    /// per-invoice rules), compared with `derive_customer` for customers
    /// touched and not; a customer whose rows did not change since its last
    /// call (its credit limit may have) is derived with `derive_unchanged`.
    #[test]
    fn cached_facts_follow_random_changes_to_the_ledger() {
        let mut ledger = demo();
        // Credit notes, some issued after the as-of dates the test reaches.
        let notes = (0..60u32).map(|k| crate::ledger::CreditNote {
            id: format!("CN{k}").as_str().into(),
            customer: k % 40,
            issue_date: date("2026-09-15") + chrono::Duration::days(i64::from(k)),
            amount: Decimal::new(i64::from(k) * 9_000 + 500, 2),
            open_amount: Decimal::new(i64::from(k) * 7_000 + 500, 2),
            status: if k % 7 == 3 { InvoiceStatus::Paid } else { InvoiceStatus::Open },
        });
        ledger.credit_notes = notes.collect();
        ledger.index();
        ledger.make_growable();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut cache = Cache::new();
        let mut as_of = date("2026-10-01");
        let rules = [PerInvoiceRules::default(), PerInvoiceRules::new(["reminder_1", "reminder_2", "final_notice"])];
        let nc = ledger.customers.len() as u32;
        // Customers whose rows changed since their last call.
        let mut changed = vec![true; nc as usize];
        let mut unchanged_calls = 0;
        let kinds =
            [ActionKind::Email, ActionKind::Call, ActionKind::Letter, ActionKind::CreditHold, ActionKind::ReleaseHold];
        let outcomes = [
            Outcome::Sent,
            Outcome::Answered,
            Outcome::Promise,
            Outcome::Failed,
            Outcome::NoAnswer,
            Outcome::Bounced,
            Outcome::Delivered,
            Outcome::Conversation,
            Outcome::WrongNumber,
        ];
        for step in 0..3000u32 {
            let c = rng.random_range(0..nc.min(40));
            let kind = rng.random_range(0..10);
            // Appending rows and closing invoices change them (the credit limit does not).
            changed[c as usize] |= (2..=6).contains(&kind);
            match kind {
                0 => as_of += chrono::Duration::days(rng.random_range(1..4)),
                1 if rng.random_bool(0.05) => as_of -= chrono::Duration::days(rng.random_range(1..20)),
                2 => {
                    // An action, sometimes of several invoice rows, sometimes after the as-of date.
                    let on = as_of + chrono::Duration::days(rng.random_range(-3..2));
                    let action = kinds[rng.random_range(0..kinds.len())];
                    let outcome = outcomes[rng.random_range(0..outcomes.len())];
                    let rule = ["reminder_1", "reminder_2", "final_notice", "call_1"][rng.random_range(0..4)];
                    let inv: Vec<u32> = ledger.invoices_by_customer.rows(c).to_vec();
                    for k in 0..rng.random_range(1..3usize) {
                        ledger.push_action(ActionRecord {
                            id: Default::default(),
                            customer: c,
                            invoice: inv.get(k).copied(),
                            rule_id: rule.into(),
                            action,
                            channel: Some(Channel::Email),
                            decided_on: on,
                            executed_on: Some(on),
                            outcome: Some(outcome),
                            arm: None,
                        });
                    }
                }
                3 | 4 => {
                    // Settle an open invoice (paid, short-paid or written off), or pay a closed one.
                    let rows = ledger.invoices_by_customer.rows(c).to_vec();
                    if let Some(&i) = rows.get(rng.random_range(0..rows.len().max(1))) {
                        let on = as_of + chrono::Duration::days(rng.random_range(-2..2));
                        let amount = ledger.invoices[i as usize].amount;
                        let inv = &mut ledger.invoices[i as usize];
                        if inv.is_open() {
                            inv.open_amount = Decimal::ZERO;
                            inv.status =
                                if rng.random_bool(0.8) { InvoiceStatus::Paid } else { InvoiceStatus::WrittenOff };
                        }
                        if rng.random_bool(0.9) {
                            let paid = if rng.random_bool(0.8) { amount } else { amount / Decimal::from(2) };
                            let p = Payment {
                                id: Default::default(),
                                customer: c,
                                invoice: Some(i),
                                paid_on: on,
                                amount: paid,
                            };
                            ledger.push_payment(p);
                        }
                    }
                }
                5 => {
                    let due = as_of + chrono::Duration::days(rng.random_range(-40..30));
                    ledger.push_invoice(Invoice {
                        id: format!("T{step}").as_str().into(),
                        customer: c,
                        issue_date: due - chrono::Duration::days(30),
                        due_date: due,
                        amount: Decimal::new(rng.random_range(100..100_000), rng.random_range(0..4)),
                        open_amount: Decimal::ZERO,
                        status: InvoiceStatus::Open,
                        disputed_since: None,
                        dispute_reason: None,
                    });
                    let i = ledger.invoices.len() - 1;
                    ledger.invoices[i].open_amount = ledger.invoices[i].amount;
                }
                6 => {
                    let p = Payment {
                        id: Default::default(),
                        customer: c,
                        invoice: None,
                        paid_on: as_of + chrono::Duration::days(rng.random_range(-2..3)),
                        amount: Decimal::new(rng.random_range(1..500_000), 2),
                    };
                    ledger.push_payment(p);
                }
                7 => {
                    // A new limit, sometimes the same value in other digits (5000 and 5000.00).
                    let scale = rng.random_range(0..3u32);
                    let limit = Decimal::new(rng.random_range(0..4i64) * 250_000 * 10i64.pow(scale), scale + 2);
                    ledger.customers[c as usize].credit_limit = (limit > Decimal::ZERO || scale > 0).then_some(limit);
                }
                _ => {}
            }
            let per_invoice = if step % 1000 < 500 { &rules[0] } else { &rules[1] };
            let ctx = Context::new(as_of, FactsConfig::default()).with_per_invoice_rules(per_invoice.clone());
            for c in [c, rng.random_range(0..nc)] {
                let mut buf = Vec::new();
                let cf = if std::mem::take(&mut changed[c as usize]) {
                    cache.derive(&ledger, c, &ctx, &mut buf)
                } else {
                    unchanged_calls += 1;
                    cache.derive_unchanged(&ledger, c, &ctx, &mut buf)
                };
                check_against_derive_customer(&ledger, c, &ctx, &cf, &buf);
            }
        }
        assert!(unchanged_calls > 1000, "only {unchanged_calls} calls for unchanged customers");
    }
}
