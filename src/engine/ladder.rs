//! The escalation ladder: which invoices are in dunning, the step each is
//! due for, and the one step the customer gets this run.
//!
//! A step is due once the invoice's age has *crossed* its trigger (a missed
//! run catches up). History is per invoice: a step executed on an invoice is
//! never repeated on it, so its fee is never charged twice. Under
//! `sequential` pace an invoice moves one step per run, and only once the
//! previous step was executed (and its cooldown has passed); steps that can
//! no longer apply (a reminder before the due date once it is past, a contact
//! for a do-not-contact or referred customer, a hold already in place) are
//! passed over. Under `jump` pace the invoice goes straight to the highest
//! step its age has crossed whose conditions hold (first match from the
//! top), unless that step or a later one was already executed.

use super::words::{count, money};
use super::{Eval, EvalError, FactRead, InvoiceTrace, Outcome, PlannedAction, RuleKind, RuleTrace};
use crate::engine::history::History;
use crate::facts::{Balance, InvoiceFacts};
use crate::ledger::ActionKind;
use crate::policy::compile::{Advance, AgeFrom, Basis, Grouping, Ladder, Pace, Step, Trigger, days, money as cents};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Ladder state of one open invoice.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct InvState {
    /// Steps executed on it (bit k = step k).
    done: u64,
    /// Steps whose fee was charged on it by a separate `fee` record.
    fee_done: u64,
    /// The fixed compensation was already claimed on it.
    comp_done: bool,
    /// When its latest step was executed.
    last: Option<NaiveDate>,
    /// In dunning: not disputed, not paused by a promise.
    eligible: bool,
    /// The highest repeating step executed on it, plus one (0: none), its
    /// sends and the last of them: a repeat is due `every` days after it.
    rep_step: u8,
    rep_sends: u16,
    rep_last: Option<NaiveDate>,
}

/// What pauses a whole account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pause {
    /// An agreed payment plan, kept so far.
    Plan,
    /// A promise to pay for the account, not yet due.
    Promise,
}

/// Why an invoice is not due for a step (or that it is).
enum Status {
    Due,
    NotYet(String),
}

fn bit(k: usize) -> u64 {
    1u64 << k
}

impl<'a> Eval<'a, '_> {
    /// A promise that pauses the whole account: an agreed payment plan
    /// (instalments sharing a `plan_id`) with instalments still to come and
    /// none missed, or a promise for the account (no invoice) not yet due and
    /// not yet paid. Instalments are checked cumulatively: by each one's due
    /// date, the payments since the plan began must cover it and every
    /// earlier one.
    pub(super) fn account_pause(&self) -> Option<Pause> {
        let c = self.cf.ix;
        let as_of = self.cal.date;
        let ledger = self.ledger;
        if c as usize >= ledger.customers.len() {
            return None;
        }
        let mut promises: Vec<&crate::ledger::Promise> = ledger
            .promises_by_customer
            .rows(c)
            .iter()
            .filter_map(|&p| ledger.promises.get(p as usize))
            .filter(|p| p.made_on <= as_of && (p.invoice.is_none() || p.plan_id.is_some()))
            .collect();
        if promises.is_empty() {
            return None;
        }
        promises.sort_by(|a, b| (a.plan_id.as_deref(), a.due_on, &a.id).cmp(&(b.plan_id.as_deref(), b.due_on, &b.id)));
        let paid = |from: NaiveDate, to: NaiveDate| -> Decimal {
            ledger
                .payments_by_customer
                .rows(c)
                .iter()
                .filter_map(|&i| ledger.payments.get(i as usize))
                .filter(|x| x.paid_on >= from && x.paid_on <= to.min(as_of))
                .map(|x| x.amount)
                .sum()
        };
        let mut i = 0;
        while i < promises.len() {
            // One group: the instalments of a plan, or one promise without a plan.
            let j = match promises[i].plan_id.as_deref() {
                Some(id) => promises[i..].iter().take_while(|p| p.plan_id.as_deref() == Some(id)).count() + i,
                None => i + 1,
            };
            let group = &promises[i..j];
            let start = group.iter().map(|p| p.made_on).min().unwrap_or(as_of);
            let (mut due, mut broken, mut ahead) = (Decimal::ZERO, false, false);
            for p in group {
                due += p.amount;
                if p.due_on < as_of {
                    broken |= paid(start, p.due_on) < due;
                } else if paid(start, as_of) < due {
                    ahead = true;
                }
            }
            if ahead && !broken {
                return Some(if group[0].plan_id.is_some() { Pause::Plan } else { Pause::Promise });
            }
            i = j;
        }
        None
    }

    /// Is `inv` in dunning: not disputed, not paused by a promise (its own or
    /// the account's), not covered by the customer's credit (net balance)?
    fn eligible(&self, inv: &InvoiceFacts<'_>) -> bool {
        let g = &self.r.guardrails;
        let paused = g.promise_pauses && (inv.promise_active || self.pause.is_some());
        !(paused || (g.skip_disputed && inv.disputed) || self.covered(inv))
    }

    /// Under the net balance (the default), is all of `inv` covered by the
    /// customer's unapplied cash and open credit notes?
    fn covered(&self, inv: &InvoiceFacts<'_>) -> bool {
        self.r.meta.balance == Balance::Net
            && if inv.credit_applied.is_zero() {
                // No credit on it (most invoices): its open amount alone,
                // without a Decimal subtraction and comparison.
                let open = inv.invoice.open_amount;
                open.is_zero() || open.is_sign_negative()
            } else {
                inv.net_open_amount() <= Decimal::ZERO
            }
    }

    /// The customer's overdue amount as the policy counts it: net of its
    /// credit (the default) or gross.
    pub(super) fn overdue_owed(&self) -> Decimal {
        match self.r.meta.balance {
            Balance::Net => self.cf.net_overdue,
            Balance::Gross => self.cf.overdue_total,
        }
    }

    /// What the ladder counts of `inv`: its open amount less the credit
    /// applied to it under the net balance (the default), its open amount
    /// under the gross one.
    pub(super) fn owed(&self, inv: &InvoiceFacts<'_>) -> Decimal {
        match self.r.meta.balance {
            Balance::Net => inv.net_open_amount(),
            Balance::Gross => inv.invoice.open_amount,
        }
    }

    /// Could any step be due at all? A step is due for an invoice only once
    /// the invoice is in dunning and its age has reached the step's trigger,
    /// whatever the history says: when no invoice has, the ladder has nothing
    /// to do (the history is not read).
    fn any_step_reached(&self, ladder: &Ladder) -> bool {
        let (mut due, mut issue) = (i32::MAX, i32::MAX);
        for s in &ladder.steps {
            match s.basis {
                Basis::DueDate => due = due.min(s.offset),
                Basis::IssueDate => issue = issue.min(s.offset),
            }
        }
        self.inv.iter().any(|inv| (inv.days_past_due >= due || inv.days_since_issue >= issue) && self.eligible(inv))
    }

    fn states(&mut self, ladder: &Ladder, codes: &[u32]) -> Vec<InvState> {
        let g = &self.r.guardrails;
        let pause = if g.promise_pauses { self.pause } else { None };
        let plan = pause == Some(Pause::Plan);
        let account = pause == Some(Pause::Promise);
        let mut st = vec![InvState::default(); self.inv.len()];
        for (s, inv) in st.iter_mut().zip(self.inv) {
            s.eligible = self.eligible(inv);
        }
        for x in self.hist.executed() {
            let Some(k) = codes.iter().position(|&c| c == x.rule) else { continue };
            let (a, d) = (x.act, x.on);
            let comp = ladder.steps[k].compensation;
            let repeats = ladder.steps[k].repeat.is_some();
            for (s, inv) in st.iter_mut().zip(self.inv) {
                if !History::covers(a, inv) {
                    continue;
                }
                if a.action == ActionKind::Fee {
                    s.fee_done |= bit(k);
                } else {
                    s.done |= bit(k);
                    s.last = s.last.max(Some(d));
                    if repeats {
                        let code = (k + 1) as u8;
                        if code > s.rep_step {
                            (s.rep_step, s.rep_sends, s.rep_last) = (code, 0, None);
                        }
                        if code == s.rep_step && s.rep_last != Some(d) {
                            s.rep_sends = s.rep_sends.saturating_add(1);
                            s.rep_last = s.rep_last.max(Some(d));
                        }
                    }
                }
                s.comp_done |= comp;
            }
        }
        if self.tracing() {
            let notes: Vec<InvoiceTrace> = st
                .iter()
                .zip(self.inv)
                .map(|(s, inv)| {
                    let mut why = Vec::new();
                    if self.covered(inv) {
                        why.push(format!(
                            "covered by the customer's unapplied cash and credit notes ({} applied): left out of dunning (balance = \"net\")",
                            money(inv.credit_applied)
                        ));
                    } else if !inv.credit_applied.is_zero() && self.r.meta.balance == Balance::Net {
                        why.push(format!(
                            "{} of it covered by the customer's unapplied cash and credit notes: {} counted (balance = \"net\")",
                            money(inv.credit_applied),
                            money(inv.net_open_amount())
                        ));
                    }
                    if g.skip_disputed && inv.disputed {
                        why.push("disputed: left out of dunning (guardrail skip_disputed)".to_string());
                    }
                    if g.promise_pauses && inv.promise_active {
                        why.push("a promise to pay is active: paused (guardrail promise_pauses)".into());
                    }
                    if plan {
                        why.push("a payment plan is active and kept: paused (guardrail promise_pauses)".into());
                    }
                    if account {
                        why.push(
                            "a promise to pay for the account is active: paused (guardrail promise_pauses)".into(),
                        );
                    }
                    let done: Vec<&str> = ladder
                        .steps
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| s.done & bit(*k) != 0)
                        .map(|(_, x)| x.id.as_str())
                        .collect();
                    if !done.is_empty() {
                        why.push(format!("executed: {}", done.join(", ")));
                    }
                    InvoiceTrace {
                        id: inv.invoice.id.to_string(),
                        days_past_due: inv.days_past_due,
                        open_amount: inv.invoice.open_amount,
                        eligible: s.eligible,
                        note: why.join("; "),
                    }
                })
                .collect();
            if let Some(t) = self.trace.as_deref_mut() {
                t.invoices = notes;
            }
        }
        st
    }

    /// Invoices that have crossed step `k` and not had it, or are due for a
    /// repeat of it: the ones its action lists.
    fn crossing(&self, step: &Step, k: usize, st: &[InvState]) -> (Vec<usize>, Decimal) {
        let mut out = Vec::new();
        let mut amount = Decimal::ZERO;
        for (i, (s, inv)) in st.iter().zip(self.inv).enumerate() {
            if self.lists(step, k, s, inv) {
                out.push(i);
                amount += self.owed(inv);
            }
        }
        (out, amount)
    }

    /// Would step `k` list `inv` (state `s`): crossed and not had, or due for a repeat?
    fn lists(&self, step: &Step, k: usize, s: &InvState, inv: &InvoiceFacts<'_>) -> bool {
        let age = step.age(inv);
        s.eligible
            && age >= step.offset
            && step.max.is_none_or(|m| age <= m)
            && (s.done & bit(k) == 0 || self.repeat_due(step, k, s).is_some())
    }

    /// The open amount of [`Self::crossing`], without listing.
    fn crossing_amount(&self, step: &Step, k: usize, st: &[InvState]) -> Decimal {
        st.iter().zip(self.inv).filter(|(s, inv)| self.lists(step, k, s, inv)).map(|(_, inv)| self.owed(inv)).sum()
    }

    /// Is a repeat of step `k` due on an invoice of state `s` (the step has
    /// a `repeat`, it is the invoice's latest step, repeats are left and
    /// `every` days have passed since it last ran)? The repeat's number (1 =
    /// the first repeat after the first send).
    fn repeat_due(&self, step: &Step, k: usize, s: &InvState) -> Option<u32> {
        let r = step.repeat?;
        if s.rep_step as usize != k + 1 || s.done >> k != 1 {
            return None;
        }
        let number = u32::from(s.rep_sends);
        if r.max.is_some_and(|m| number > m) {
            return None;
        }
        let last = s.rep_last?;
        ((self.cal.date - last).num_days() >= i64::from(r.every)).then_some(number)
    }

    /// Why a repeat of step `k` (the invoice's latest) is not due, or that it is.
    fn repeat_status(&self, ladder: &Ladder, k: usize, i: usize, st: &[InvState]) -> Result<Status, EvalError> {
        let step = &ladder.steps[k];
        let Some(r) = step.repeat else { return Ok(Status::NotYet(String::new())) };
        let s = st[i];
        let inv = &self.inv[i];
        let sends = u32::from(s.rep_sends);
        if r.max.is_some_and(|m| sends > m) {
            return Ok(Status::NotYet(
                self.why(|| format!("executed; repeated {} of {} times: done", sends - 1, r.max.unwrap_or(0))),
            ));
        }
        if self.repeat_due(step, k, &s).is_none() {
            return Ok(Status::NotYet(self.why(|| {
                let next = s.rep_last.map(|d| d + chrono::Duration::days(i64::from(r.every)));
                format!(
                    "executed; {} next on {}",
                    repeat_words(step, sends),
                    next.map(|d| d.to_string()).unwrap_or_default()
                )
            })));
        }
        if let Some(why) = self.passed_over(step, inv) {
            return Ok(Status::NotYet(self.why(|| format!("executed; no repeat, {why}"))));
        }
        if let Some(min) = step.min_overdue.as_ref().and_then(|m| m.get(&self.cf.customer.currency)) {
            let amount = self.crossing_amount(step, k, st);
            if amount < min {
                return Ok(Status::NotYet(self.why(|| {
                    format!("executed; no repeat below its minimum: {} due, {} needed", money(amount), money(min))
                })));
            }
        }
        if !self.cond(&step.when, Some(inv), RuleKind::Step, &step.id)? {
            let src = step.when.as_ref().map_or("", |w| w.src.as_str());
            return Ok(Status::NotYet(self.why(|| format!("executed; no repeat: `{src}` is false"))));
        }
        Ok(Status::Due)
    }

    /// Is invoice `i` due for step `k`, given what comes before (pace is the caller's)?
    fn check(&self, ladder: &Ladder, k: usize, i: usize, st: &[InvState]) -> Result<Status, EvalError> {
        let step = &ladder.steps[k];
        let inv = &self.inv[i];
        let s = st[i];
        let age = step.age(inv);
        if age < step.offset {
            return Ok(Status::NotYet(
                self.why(|| format!("not reached: {} of {}", age_words(step, age), step.trigger_words())),
            ));
        }
        if let Some(min) = (step.cooldown_days > 0).then_some(step.cooldown_days)
            && let Some(last) = s.last
        {
            let since = (self.cal.date - last).num_days();
            if since < i64::from(min) {
                return Ok(Status::NotYet(
                    self.why(|| format!("cooling down: {since} day(s) since the last step on {last}, {min} needed")),
                ));
            }
        }
        if let Some(min) = step.min_overdue.as_ref().and_then(|m| m.get(&self.cf.customer.currency)) {
            let amount = self.crossing_amount(step, k, st);
            if amount < min {
                return Ok(Status::NotYet(
                    self.why(|| format!("below its minimum: {} due, {} needed", money(amount), money(min))),
                ));
            }
        }
        if !self.cond(&step.when, Some(inv), RuleKind::Step, &step.id)? {
            let src = step.when.as_ref().map_or("", |w| w.src.as_str());
            return Ok(Status::NotYet(self.why(|| format!("`{src}` is false"))));
        }
        Ok(Status::Due)
    }

    /// Passed over for good (sequential), or never offered (jump)?
    fn passed_over(&self, step: &Step, inv: &InvoiceFacts<'_>) -> Option<&'static str> {
        let age = step.age(inv);
        if step.max.is_some_and(|m| age > m) {
            return Some(if step.basis == Basis::DueDate && step.offset < 0 {
                "passed over: the invoice is already due"
            } else {
                "passed over: past its window (`max_days`)"
            });
        }
        if step.is_contact() && self.cf.referred {
            return Some("passed over: the account is with an agency or lawyer");
        }
        if step.is_contact() && self.r.guardrails.do_not_contact && self.cf.customer.do_not_contact {
            return Some("passed over: the customer is flagged do-not-contact");
        }
        if step.action == ActionKind::CreditHold && self.cf.on_hold {
            return Some("passed over: the account is already on hold");
        }
        None
    }

    /// The step invoice `i` is due for, with notes per step when tracing.
    fn due_step(
        &self,
        ladder: &Ladder,
        pace: Pace,
        i: usize,
        st: &[InvState],
        notes: &mut [Vec<String>],
    ) -> Result<Option<usize>, EvalError> {
        let inv = &self.inv[i];
        let s = st[i];
        let tracing = self.tracing();
        let n = ladder.steps.len();
        let mut note = |k: usize, text: &dyn Fn() -> String| {
            if tracing {
                notes[k].push(format!("{}: {}", inv.invoice.id, text()));
            }
        };
        if !s.eligible {
            return Ok(None);
        }
        match pace {
            Pace::Sequential => {
                let start = if s.done == 0 { 0 } else { 64 - s.done.leading_zeros() as usize };
                for k in 0..start.min(n) {
                    if s.done & bit(k) != 0 {
                        note(k, &|| "executed".into());
                    } else {
                        note(k, &|| "before the last executed step".into());
                    }
                }
                for k in start..n {
                    let step = &ladder.steps[k];
                    if let Some(why) = self.passed_over(step, inv) {
                        note(k, &|| why.into());
                        continue;
                    }
                    match self.check(ladder, k, i, st)? {
                        Status::Due => {
                            note(k, &|| "due".into());
                            return Ok(Some(k));
                        }
                        Status::NotYet(why) if step.optional => {
                            note(k, &|| format!("passed over (optional): {why}"));
                        }
                        Status::NotYet(why) => {
                            note(k, &|| format!("{why}; the next steps wait for it"));
                            break;
                        }
                    }
                }
                // No later step is due: the latest one may repeat.
                if start > 0 && start <= n && ladder.steps[start - 1].repeat.is_some() {
                    let k = start - 1;
                    match self.repeat_status(ladder, k, i, st)? {
                        Status::Due => {
                            let words = repeat_words(&ladder.steps[k], u32::from(s.rep_sends));
                            note(k, &|| format!("due again: {words}"));
                            return Ok(Some(k));
                        }
                        Status::NotYet(why) => note(k, &|| why.clone()),
                    }
                }
                Ok(None)
            }
            Pace::Jump => {
                for k in (0..n).rev() {
                    let step = &ladder.steps[k];
                    if step.age(inv) < step.offset {
                        note(k, &|| {
                            format!("not reached: {} of {}", age_words(step, step.age(inv)), step.trigger_words())
                        });
                        continue;
                    }
                    if s.done >> k != 0 {
                        let executed = s.done & bit(k) != 0;
                        if executed && s.done >> k == 1 && step.repeat.is_some() {
                            // The latest step executed: it may repeat.
                            return match self.repeat_status(ladder, k, i, st)? {
                                Status::Due => {
                                    let words = repeat_words(step, u32::from(s.rep_sends));
                                    note(k, &|| format!("due again: {words}"));
                                    Ok(Some(k))
                                }
                                Status::NotYet(why) => {
                                    note(k, &|| why.clone());
                                    Ok(None)
                                }
                            };
                        }
                        note(k, &|| if executed { "executed".into() } else { "a later step was executed".into() });
                        return Ok(None);
                    }
                    if step.action == ActionKind::CreditHold && self.cf.on_hold {
                        note(k, &|| "the account is already on hold".into());
                        return Ok(None);
                    }
                    if let Some(why) = self.passed_over(step, inv) {
                        note(k, &|| why.into());
                        continue;
                    }
                    match self.check(ladder, k, i, st)? {
                        Status::Due => {
                            note(k, &|| "due".into());
                            return Ok(Some(k));
                        }
                        Status::NotYet(why) => note(k, &|| why.clone()),
                    }
                }
                Ok(None)
            }
        }
    }

    /// Build the action of step `k` for invoices `listed`.
    fn step_action(&self, step: &Step, listed: &[usize], st: &[InvState], k: usize) -> PlannedAction {
        let mut a = PlannedAction::new(self.cf, step.action, &step.id, RuleKind::Step);
        a.step = Some(step.id.clone());
        a.channel = step.channel;
        a.template = step.template.clone();
        a.owner = step.owner.clone();
        a.hold = step.action == ActionKind::CreditHold;
        a.task = step.task;
        let mut oldest = i32::MIN;
        for &i in listed {
            let inv = &self.inv[i];
            let open = self.owed(inv);
            oldest = oldest.max(step.age(inv));
            a.invoice_ids.push(inv.invoice.id.to_string());
            a.amount_due += open;
            if (st[i].fee_done | st[i].done) & bit(k) == 0 {
                a.fee += step.fee.get(&self.cf.customer.currency).unwrap_or_default()
                    + cents(open * step.fee_pct / Decimal::ONE_HUNDRED);
            }
            self.charges(step, inv, open, st[i].comp_done, &mut a);
        }
        if !self.words() {
            return a;
        }
        let amount = money(a.amount_due);
        let mut reason = match step.basis {
            Basis::DueDate if oldest == 0 => format!("due today, {amount} coming due"),
            Basis::DueDate if oldest == -1 => format!("due tomorrow, {amount} coming due"),
            Basis::DueDate if oldest < 0 => format!("due in {}, {amount} coming due", days(-oldest)),
            Basis::DueDate => format!(
                "{} past due, {amount} overdue, {} in 30 days",
                days(oldest),
                count(self.cf.contacts_30d as usize, "contact")
            ),
            Basis::IssueDate => format!("{} after issue, {amount} open", days(oldest)),
        };
        reason.push_str(": step ");
        reason.push_str(&step.id);
        if step.repeat.is_some()
            && let Some(sends) =
                listed.iter().filter_map(|&i| self.repeat_due(step, k, &st[i]).map(|_| st[i].rep_sends)).max()
        {
            reason.push_str(", ");
            reason.push_str(&repeat_words(step, u32::from(sends)));
        }
        for (what, v) in [("fee", a.fee), ("compensation", a.compensation), ("interest", a.interest)] {
            if !v.is_zero() {
                reason.push_str(", ");
                reason.push_str(what);
                reason.push(' ');
                reason.push_str(&money(v));
            }
        }
        if step.action == ActionKind::Statement {
            self.statement_credit(&mut reason);
        }
        a.reason = reason;
        let k = super::known();
        let age_fact = if step.basis == Basis::DueDate { k.days_past_due } else { k.days_since_issue };
        let mut facts = Vec::with_capacity(6);
        facts.push(FactRead { name: std::borrow::Cow::Borrowed(age_fact.full_name()), value: oldest.to_string() });
        facts.extend(self.fact_reads(&[k.overdue_total, k.contacts_30d, k.contacts_7d]));
        let first = listed.first().map(|&i| &self.inv[i]);
        self.reads(&step.when, first, &mut facts);
        a.facts = facts;
        a
    }

    /// A statement of account lists what stands to the customer's credit:
    /// its cash on account and its open credit notes, by id.
    fn statement_credit(&self, reason: &mut String) {
        let cf = self.cf;
        if cf.unapplied_cash.is_zero() && cf.credit_notes.is_zero() {
            return;
        }
        let ledger = self.ledger;
        let as_of = self.cal.date;
        let c = cf.ix;
        let notes: Vec<&str> = if (c as usize) < ledger.credit_notes_by_customer.groups() {
            let rows = ledger.credit_notes_by_customer.rows(c).iter().map(|&n| &ledger.credit_notes[n as usize]);
            rows.filter(|n| !n.open_on(as_of).is_zero()).map(|n| &*n.id).collect()
        } else {
            Vec::new()
        };
        reason.push_str(&format!("; to the customer's credit: unapplied cash {}", money(cf.unapplied_cash)));
        reason.push_str(&format!(", credit notes {}", money(cf.credit_notes)));
        if !notes.is_empty() {
            reason.push_str(&format!(" ({})", notes.join(", ")));
        }
    }

    /// The ladder: at most one step per customer per run.
    pub(super) fn escalate(&mut self) -> Result<(), EvalError> {
        let Some(strategy) = self.strategy else { return Ok(()) };
        let Some(l) = strategy.ladder else { return Ok(()) };
        let Some(ladder) = self.r.ladders.get(l) else { return Ok(()) };
        let codes = self.p.ids.steps.get(l).map_or(&[][..], Vec::as_slice);
        if !self.tracing() && !self.any_step_reached(ladder) {
            // Nothing can be due; only a trace would say so step by step.
            return Ok(());
        }
        let pace = strategy.pace;
        let st = self.states(ladder, codes);
        let n = ladder.steps.len();
        let mut notes: Vec<Vec<String>> = if self.tracing() { vec![Vec::new(); n] } else { Vec::new() };

        let by_issue = self.r.meta.age_from == AgeFrom::InvoiceDate;
        let age = |inv: &InvoiceFacts<'_>| if by_issue { inv.days_since_issue } else { inv.days_past_due };
        // Steps besides the one chosen: the lower steps of the other invoices
        // (`advance = "each_invoice"`), the holds jump pace skipped
        // (`standing_effects`). Empty otherwise (no allocation).
        let mut more: Vec<(usize, Vec<usize>)> = Vec::new();
        let each_invoice = ladder.advance == Advance::EachInvoice;
        let chosen: Option<(usize, Vec<usize>)> = match ladder.trigger {
            _ if each_invoice => {
                let mut due = vec![None; self.inv.len()];
                for (i, d) in due.iter_mut().enumerate() {
                    *d = self.due_step(ladder, pace, i, &st, &mut notes)?;
                }
                let mut ks: Vec<usize> = due.iter().flatten().copied().collect();
                ks.sort_unstable();
                ks.dedup();
                let of = |k: usize| (0..self.inv.len()).filter(|&i| due[i] == Some(k)).collect::<Vec<usize>>();
                let top = ks.pop();
                more.extend(ks.into_iter().map(|k| (k, of(k))));
                top.map(|k| (k, of(k)))
            }
            Trigger::Oldest => {
                let driving = (0..self.inv.len()).filter(|&i| st[i].eligible).max_by(|&a, &b| {
                    let (x, y) = (&self.inv[a], &self.inv[b]);
                    age(x).cmp(&age(y)).then_with(|| y.invoice.id.cmp(&x.invoice.id))
                });
                match driving {
                    Some(d) => match self.due_step(ladder, pace, d, &st, &mut notes)? {
                        Some(k) => {
                            let (listed, _) = self.crossing(&ladder.steps[k], k, &st);
                            Some((k, listed))
                        }
                        None => None,
                    },
                    None => None,
                }
            }
            Trigger::Each => {
                let mut due = vec![None; self.inv.len()];
                for (i, d) in due.iter_mut().enumerate() {
                    *d = self.due_step(ladder, pace, i, &st, &mut notes)?;
                }
                let top = due.iter().flatten().max().copied();
                top.map(|k| (k, (0..self.inv.len()).filter(|&i| due[i] == Some(k)).collect()))
            }
        };
        if chosen.is_none() && !self.tracing() {
            // No step this run; only a trace would say why, step by step.
            return Ok(());
        }
        if pace == Pace::Jump
            && self.r.meta.standing_effects
            && let Some((k, listed)) = &chosen
        {
            self.standing(ladder, *k, listed, &st, &mut more, &mut notes)?;
        }
        let first_action = self.actions.len();
        let eligible_overdue: Decimal = st
            .iter()
            .zip(self.inv)
            .filter(|(s, inv)| s.eligible && inv.days_past_due > 0)
            .map(|(_, inv)| self.owed(inv))
            .sum();
        let any_eligible = st.iter().any(|s| s.eligible);

        for (k, step) in ladder.steps.iter().enumerate() {
            let detail = if self.tracing() {
                let mut d = notes.get(k).map(|v| v.join("; ")).unwrap_or_default();
                if d.is_empty() {
                    d = if !any_eligible && self.inv.iter().any(|inv| self.covered(inv)) {
                        let credit = self.cf.unapplied_cash + self.cf.credit_notes;
                        format!(
                            "no invoice in dunning: the customer's unapplied cash ({}) and credit notes ({}) cover {} of its {} open (balance = \"net\")",
                            money(self.cf.unapplied_cash),
                            money(self.cf.credit_notes),
                            money(credit.min(self.cf.open_total)),
                            money(self.cf.open_total)
                        )
                    } else if !any_eligible {
                        "no invoice in dunning".into()
                    } else if chosen.as_ref().is_some_and(|(c, _)| k > *c) {
                        "later than the step due".into()
                    } else {
                        "not evaluated: the ladder stops at an earlier step".into()
                    };
                }
                d
            } else {
                String::new()
            };
            let fire = match &chosen {
                Some((c, listed)) if *c == k => Some(listed),
                _ if more.is_empty() => None,
                _ => more.iter().find(|(j, _)| *j == k).map(|(_, l)| l),
            };
            match fire {
                Some(listed) => {
                    // The `min_overdue` guardrail holds back the steps
                    // after the due date that chase a payment (docs/policy.md).
                    let post_due =
                        !(step.basis == Basis::DueDate && step.offset <= 0) && step.action.held_by_min_overdue();
                    let groups: Vec<Vec<usize>> = match ladder.grouping {
                        Grouping::Customer => vec![listed.clone()],
                        Grouping::Invoice => listed.iter().map(|&i| vec![i]).collect(),
                    };
                    // The [amounts] its condition compared with, for explain.
                    let mut amounts = Vec::new();
                    if self.tracing() {
                        self.amount_reads(&step.when, &mut amounts);
                    }
                    for g in groups {
                        let mut a = self.step_action(step, &g, &st, k);
                        self.deliver(&mut a, &step.fallback);
                        let trace = |a: &PlannedAction| RuleTrace {
                            kind: RuleKind::Step,
                            rule_id: step.id.clone(),
                            outcome: Outcome::Fired,
                            detail: match (&a.undeliverable, a.channel) {
                                (Some(why), _) => {
                                    format!("{detail}; lists {}; undeliverable: {why}", a.invoice_ids.join(", "))
                                }
                                (None, Some(ch)) if step.channel != Some(ch) => {
                                    format!("{detail}; lists {}; falls back to {ch}", a.invoice_ids.join(", "))
                                }
                                _ => format!("{detail}; lists {}", a.invoice_ids.join(", ")),
                            },
                            guardrail: None,
                            inputs: a.facts.iter().chain(&amounts).cloned().collect(),
                        };
                        if post_due
                            && let Some(min) =
                                self.r.guardrails.min_overdue.as_ref().and_then(|m| m.get(&self.cf.customer.currency))
                            && eligible_overdue < min
                        {
                            if self.tracing() {
                                let mut t = trace(&a);
                                t.outcome = Outcome::Suppressed;
                                t.guardrail = Some("min_overdue".into());
                                t.detail = format!(
                                    "{}; suppressed: {} overdue is below the minimum {}",
                                    t.detail,
                                    money(eligible_overdue),
                                    money(min)
                                );
                                self.note(|| t);
                            }
                            continue;
                        }
                        self.offer(a, trace);
                    }
                }
                _ => {
                    // Inputs only for a step that was looked at.
                    let inputs = if self.tracing() && notes.get(k).is_some_and(|n| !n.is_empty()) {
                        let mut v = Vec::new();
                        self.reads(&step.when, self.inv.first(), &mut v);
                        self.amount_reads(&step.when, &mut v);
                        v
                    } else {
                        Vec::new()
                    };
                    self.note(|| RuleTrace {
                        kind: RuleKind::Step,
                        rule_id: step.id.clone(),
                        outcome: Outcome::NotFired,
                        detail,
                        guardrail: None,
                        inputs,
                    });
                }
            }
        }
        if each_invoice {
            self.merge_messages(ladder, first_action);
        }
        Ok(())
    }

    /// `standing_effects` under jump pace: the holds of the steps below `k`
    /// that the invoices `listed` skipped (reached, not executed, their
    /// conditions met), placed with step `k`, as Kill Bill's overdue states
    /// carry the blocks of the states below.
    fn standing(
        &self,
        ladder: &Ladder,
        k: usize,
        listed: &[usize],
        st: &[InvState],
        more: &mut Vec<(usize, Vec<usize>)>,
        notes: &mut [Vec<String>],
    ) -> Result<(), EvalError> {
        let chosen = ladder.steps[k].action;
        // One of each standing kind the chosen step is not itself (at most a few).
        let mut placed: Vec<ActionKind> = Vec::new();
        for j in (0..k).rev() {
            let step = &ladder.steps[j];
            if !step.standing
                || step.action == chosen
                || placed.contains(&step.action)
                || (step.action == ActionKind::CreditHold && self.cf.on_hold)
            {
                continue;
            }
            let skipped: Vec<usize> = listed
                .iter()
                .copied()
                .filter(|&i| st[i].done & bit(j) == 0 && step.age(&self.inv[i]) >= step.offset)
                .collect();
            let Some(&first) = skipped.first() else { continue };
            if !matches!(self.check(ladder, j, first, st)?, Status::Due) {
                continue;
            }
            if self.tracing()
                && let Some(n) = notes.get_mut(j)
            {
                let what = if step.action == ActionKind::CreditHold { "hold" } else { step.action.as_str() };
                n.push(format!(
                    "skipped by jump pace to `{}`: its {what} stands (standing_effects)",
                    ladder.steps[k].id
                ));
            }
            more.push((j, skipped));
            placed.push(step.action);
        }
        Ok(())
    }

    /// `advance = "each_invoice"`: the messages this ladder planned (from
    /// action `from` on) are one per channel, listing each invoice at its
    /// own step. Each gets the message id of the action of its highest
    /// step (the first of those on a tie), whose template the message uses.
    fn merge_messages(&mut self, ladder: &Ladder, from: usize) {
        let level = |a: &PlannedAction| ladder.steps.iter().position(|s| Some(&s.id) == a.step.as_ref());
        let date = self.cal.date;
        let planned = &mut self.actions[from..];
        for i in 0..planned.len() {
            let a = &planned[i];
            // A consolidated statement is the group's message, not this customer's.
            let own =
                |b: &PlannedAction| !ladder.steps.iter().any(|s| s.consolidated && Some(&s.id) == b.step.as_ref());
            if a.message_id.is_some() || !a.is_customer_facing() || a.channel.is_none() || !own(a) {
                continue;
            }
            let channel = a.channel;
            let same =
                |b: &PlannedAction| b.is_customer_facing() && b.channel == channel && b.message_id.is_none() && own(b);
            let mut lead = i;
            for (j, b) in planned.iter().enumerate().skip(i + 1) {
                if same(b) && level(b) > level(&planned[lead]) {
                    lead = j;
                }
            }
            let id = crate::plan::action_id(date, &planned[lead]);
            for b in planned[i..].iter_mut() {
                if same(b) {
                    b.message_id = Some(id.clone());
                }
            }
        }
    }
}

/// The repeat that follows `sends` sends of a repeating step, in words: "repeat 2 of 4", "repeat 3".
fn repeat_words(step: &Step, sends: u32) -> String {
    match step.repeat.and_then(|r| r.max) {
        Some(m) => format!("repeat {sends} of {m}"),
        None => format!("repeat {sends}"),
    }
}

fn age_words(step: &Step, age: i32) -> String {
    match step.basis {
        Basis::DueDate if age < 0 => format!("{} before due", days(-age)),
        Basis::DueDate => format!("{} past due", days(age)),
        Basis::IssueDate => format!("{} after issue", days(age)),
    }
}
