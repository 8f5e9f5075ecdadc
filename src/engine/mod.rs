//! The engine: one customer's decision under a compiled policy. A pure
//! function of its inputs — the compiled policy, the ledger (for the action
//! history), the customer's facts and its open invoices' facts, and the
//! calendar of the as-of date — so the batch run calls it from any number of
//! rayon workers with no shared mutable state.
//!
//! Order of evaluation, per customer:
//! 1. the priority score, and the strategy (first match wins);
//! 2. the escalation ladder (`ladder`): which invoices are eligible
//!    (disputes, promises), the step each is due for under the pace
//!    (`sequential` or `jump`), at most one step per customer per run, its
//!    fee, compensation and interest;
//! 3. limit rules and holds, incentives, payment plans, reviews
//!    (`account`, `offers`): one decision of each kind, by priority;
//! 4. guardrails, last: they suppress any action they forbid, whatever the
//!    rules said.
//!
//! Every action carries its rule, a reason in words and the facts it read.
//! With a [`Trace`], every rule of the customer's strategy is recorded with
//! its inputs and outcome, from this same code (`recoup explain`).

mod account;
mod charges;
pub mod contact;
pub mod history;
mod ladder;
mod notify;
mod offers;
pub mod words;

use crate::facts::registry::Value;
use crate::facts::{Calendar, CustomerFacts, InvoiceFacts};
use crate::ledger::{AccountType, ActionKind, Channel, Ledger};
use crate::policy::CompiledPolicy;
use crate::policy::compile::{Pace, Rules, Strategy};
use crate::policy::expr::{Env, ExprError, Expression, FactRef};
use chrono::NaiveDate;
use history::History;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The kind of rule that produced an action or a trace line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Priority,
    Strategy,
    Step,
    Limit,
    Incentive,
    PaymentPlan,
    Review,
    Guardrail,
    /// `[notify]`: the sales representative told of the plan's actions.
    Notify,
}

impl RuleKind {
    /// In words: "step", "limit rule", ...
    pub fn words(self) -> &'static str {
        match self {
            RuleKind::Priority => "priority",
            RuleKind::Strategy => "strategy",
            RuleKind::Step => "step",
            RuleKind::Limit => "limit rule",
            RuleKind::Incentive => "incentive",
            RuleKind::PaymentPlan => "payment plan",
            RuleKind::Review => "review",
            RuleKind::Guardrail => "guardrail",
            RuleKind::Notify => "notify",
        }
    }

    /// The word serde gives it (plan.csv's `rule_kind`): "step", "payment_plan", ...
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Priority => "priority",
            RuleKind::Strategy => "strategy",
            RuleKind::Step => "step",
            RuleKind::Limit => "limit",
            RuleKind::Incentive => "incentive",
            RuleKind::PaymentPlan => "payment_plan",
            RuleKind::Review => "review",
            RuleKind::Guardrail => "guardrail",
            RuleKind::Notify => "notify",
        }
    }
}

/// A fact an action read, by its full name (`customer.overdue_total`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactRead {
    pub name: Cow<'static, str>,
    pub value: String,
}

pub use crate::ledger::Arm;

/// One action of the plan, with everything plan.csv shows about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub customer_id: String,
    /// The customer's currency: every amount of the action is in it (the
    /// ledger rejects an invoice in another currency than its customer's).
    /// Plans written before it read as empty.
    #[serde(default)]
    pub currency: crate::ledger::Text,
    /// The invoices the action concerns (empty for account-level actions).
    pub invoice_ids: Vec<String>,
    pub action: ActionKind,
    /// How it reaches the customer (none for holds, referrals, internal tasks).
    pub channel: Option<Channel>,
    pub template: Option<String>,
    /// The rule that produced it; for ladder steps, the step id (as recorded in actions.csv).
    pub rule_id: String,
    pub rule_kind: RuleKind,
    /// The ladder step, for escalation actions.
    pub step: Option<String>,
    /// The strategy the customer follows.
    pub strategy: Option<String>,
    /// Open amount of the invoices concerned.
    #[serde(with = "crate::money::json")]
    pub amount_due: Decimal,
    /// Fees charged with this action (per invoice, once per step and invoice).
    #[serde(with = "crate::money::json")]
    pub fee: Decimal,
    /// Fixed statutory compensation claimed with this action (once per invoice).
    #[serde(with = "crate::money::json")]
    pub compensation: Decimal,
    /// Interest accrued to the as-of date, stated with this action.
    #[serde(with = "crate::money::json")]
    pub interest: Decimal,
    /// Discount offered, in percent.
    pub discount_pct: Option<Decimal>,
    /// Discount offered (its cost if the customer takes it).
    #[serde(with = "crate::money::json")]
    pub discount: Decimal,
    /// Maximum cost of the offer: the discount if taken.
    #[serde(with = "crate::money::json")]
    pub discount_cost: Decimal,
    /// Pay by this date to get the discount.
    pub pay_by: Option<NaiveDate>,
    /// Payment plan offered: number of instalments and their amount.
    pub instalments: Option<u32>,
    #[serde(with = "crate::money::json::opt")]
    pub instalment_amount: Option<Decimal>,
    /// Credit limit before and after (limit changes).
    #[serde(with = "crate::money::json::opt")]
    pub old_limit: Option<Decimal>,
    #[serde(with = "crate::money::json::opt")]
    pub new_limit: Option<Decimal>,
    /// Review date of a limit change.
    pub review_on: Option<NaiveDate>,
    /// Places a credit hold.
    pub hold: bool,
    /// Unit cost of the action under `[costs]`.
    #[serde(with = "crate::money::json")]
    pub cost: Decimal,
    /// The customer's worklist score (higher first).
    pub priority: f64,
    /// Who handles it: step or strategy owner, else the account owner.
    pub owner: Option<String>,
    /// A short reason in words.
    pub reason: String,
    /// The facts it read, with their values.
    pub facts: Vec<FactRead>,
    /// Champion or challenger (`[challenger]`); plans written before arms read as champion.
    #[serde(default)]
    pub arm: Arm,
    /// Why the message cannot be delivered: no usable contact for its
    /// channel nor for any of the step's `fallback` channels (`contact`).
    /// Plans written before it read as deliverable.
    #[serde(default)]
    pub undeliverable: Option<String>,
    /// The message this action is sent in, by the action id of the message's
    /// lead action (`advance = "each_invoice"`: the actions of a customer on
    /// one channel are one message listing each invoice at its own step).
    /// None: the action is its own message. Absent from the outputs then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// A task on the worklist though its kind is not a built-in task: a
    /// declared kind with `task = true` (`[kinds.*]`). Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub task: bool,
}

impl PlannedAction {
    fn new(cf: &CustomerFacts<'_>, action: ActionKind, rule_id: &str, kind: RuleKind) -> Self {
        Self::blank(cf.customer.id.to_string(), cf.customer.currency.clone(), action, rule_id, kind)
    }

    /// An action of `customer_id` with nothing set but what is given: no
    /// channel, no amounts, no reason (the one place that lists every field).
    pub(crate) fn blank(
        customer_id: String,
        currency: crate::ledger::Text,
        action: ActionKind,
        rule_id: &str,
        kind: RuleKind,
    ) -> Self {
        PlannedAction {
            customer_id,
            currency,
            invoice_ids: Vec::new(),
            action,
            channel: None,
            template: None,
            rule_id: rule_id.to_string(),
            rule_kind: kind,
            step: None,
            strategy: None,
            amount_due: Decimal::ZERO,
            fee: Decimal::ZERO,
            compensation: Decimal::ZERO,
            interest: Decimal::ZERO,
            discount_pct: None,
            discount: Decimal::ZERO,
            discount_cost: Decimal::ZERO,
            pay_by: None,
            instalments: None,
            instalment_amount: None,
            old_limit: None,
            new_limit: None,
            review_on: None,
            hold: false,
            cost: Decimal::ZERO,
            priority: 0.0,
            owner: None,
            reason: String::new(),
            facts: Vec::new(),
            arm: Arm::Champion,
            undeliverable: None,
            message_id: None,
            task: false,
        }
    }

    /// Does it reach the customer (counts toward contact caps, obeys do-not-contact)?
    /// A declared kind with a channel is a message to the customer too.
    pub fn is_customer_facing(&self) -> bool {
        self.action.is_contact()
            || matches!(self.action, ActionKind::DiscountOffer | ActionKind::PaymentPlanOffer)
            || (self.action.is_declared() && self.channel.is_some())
    }

    /// Does a person carry it out (the worklist)? A built-in task kind
    /// ([`crate::plan::is_human_task`]) or a declared kind with `task = true`.
    pub fn is_task(&self) -> bool {
        self.task || crate::plan::is_human_task(self.action)
    }
}

/// What became of a rule for this customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It produced an action.
    Fired,
    /// Its conditions were not met (the detail says which).
    NotFired,
    /// It would have fired, but a guardrail forbids it.
    Suppressed,
    /// It would have fired, but another rule of its kind won.
    Overridden,
    /// Not evaluated (the detail says why).
    Skipped,
}

/// One rule in a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleTrace {
    pub kind: RuleKind,
    pub rule_id: String,
    pub outcome: Outcome,
    /// Why, in words.
    pub detail: String,
    /// The guardrail that suppressed it.
    pub guardrail: Option<String>,
    /// The facts it read.
    pub inputs: Vec<FactRead>,
}

/// One open invoice in a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvoiceTrace {
    pub id: String,
    pub days_past_due: i32,
    #[serde(with = "crate::money::json")]
    pub open_amount: Decimal,
    /// In dunning (not disputed, not under an active promise).
    pub eligible: bool,
    /// Why not, and the steps already executed on it.
    pub note: String,
}

/// Everything the evaluation of one customer did, for `recoup explain`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    pub customer_id: String,
    pub as_of: Option<NaiveDate>,
    pub priority: f64,
    pub strategy: Option<String>,
    /// Champion, or challenger when `[challenger]` drew the customer.
    pub arm: Arm,
    pub ladder: Option<String>,
    pub pace: Option<Pace>,
    pub invoices: Vec<InvoiceTrace>,
    /// Every rule, in evaluation order.
    pub rules: Vec<RuleTrace>,
    /// The final actions.
    pub actions: Vec<PlannedAction>,
    /// The run-time error that stopped the evaluation, if any.
    pub error: Option<EvalError>,
}

/// A rule that failed at run time (a rhai error, a runaway script).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{} `{rule_id}` failed for customer `{customer_id}`: {message}{}", rule_kind.words(), location.as_ref().map(|l| format!(" (at {l})")).unwrap_or_default())]
pub struct EvalError {
    pub customer_id: String,
    pub rule_id: String,
    pub rule_kind: RuleKind,
    pub message: String,
    /// `policies/standard/policy.toml:52:14`
    pub location: Option<String>,
}

/// Evaluate the policy for one customer: its planned actions, or the rule
/// that failed. `invoices` are the facts of the customer's open invoices (as
/// `facts::derive_customer` fills them, with the context
/// `policy.facts_context(ctx)`, so that the contacts of per-invoice steps
/// count per invoice); `cal` is the as-of date's calendar.
/// With `trace`, every rule's outcome is recorded there (and the final
/// actions, or the error).
pub fn evaluate_customer(
    policy: &CompiledPolicy,
    ledger: &Ledger,
    cf: &CustomerFacts<'_>,
    invoices: &[InvoiceFacts<'_>],
    cal: &Calendar<'_>,
    trace: Option<&mut Trace>,
) -> Result<Vec<PlannedAction>, EvalError> {
    evaluate_customer_with(policy, ledger, cf, invoices, cal, trace, EvalOptions::default())
}

/// What an evaluation computes besides the decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalOptions {
    /// Compute the `[priority]` score. It only orders the worklist and is
    /// written on each action (`priority`); no rule or guardrail reads it.
    /// Without it every action's `priority` is 0 and an error in the score
    /// goes unnoticed (the simulation, which never reads it, turns it off).
    pub priority: bool,
    /// Write each action's reason in words and the facts it read (`reason`,
    /// `facts`). No rule reads them; without them both are empty (the
    /// simulation, which never shows them, turns them off). A trace always
    /// has them.
    pub words: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions { priority: true, words: true }
    }
}

/// [`evaluate_customer`] with [`EvalOptions`].
pub fn evaluate_customer_with(
    policy: &CompiledPolicy,
    ledger: &Ledger,
    cf: &CustomerFacts<'_>,
    invoices: &[InvoiceFacts<'_>],
    cal: &Calendar<'_>,
    trace: Option<&mut Trace>,
    opts: EvalOptions,
) -> Result<Vec<PlannedAction>, EvalError> {
    let mut ev = Eval::new(policy, ledger, cf, invoices, cal, trace, opts);
    if let Some(t) = ev.trace.as_deref_mut() {
        *t = Trace { customer_id: cf.customer.id.to_string(), as_of: Some(cal.date), ..Trace::default() };
    }
    let result = ev.run();
    let Eval { actions, trace, .. } = ev;
    match result {
        Ok(()) => {
            if let Some(t) = trace {
                t.actions = actions.clone();
            }
            Ok(actions)
        }
        Err(e) => {
            if let Some(t) = trace {
                t.error = Some(e.clone());
            }
            Err(e)
        }
    }
}

/// The guardrails that suppressed an action of one evaluation, of those
/// that time alone lifts (the contact cap and Regulation F as messages leave
/// the 7-day window, `business_days_only` on a business day). An evaluation
/// that offered nothing they suppressed plans the same, nothing more, on any
/// later day its rules read the same facts: the simulation's schedule
/// (`simulate::wake`) does not look at it again only for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suppressed {
    /// `max_contacts_per_7_days`.
    pub cap: bool,
    /// `business_days_only`.
    pub business_day: bool,
    /// `regulation_f`.
    pub regulation_f: bool,
}

/// [`evaluate_customer_with`], which of the guardrails time lifts
/// suppressed an action ([`Suppressed`]), and the strategy the customer
/// followed (its index in the policy's strategies, the challenger's when
/// drawn; `None` when none matched): the simulation's schedule
/// (`simulate::wake`) follows the step ages of that strategy's ladder only.
pub fn evaluate_customer_noting(
    policy: &CompiledPolicy,
    ledger: &Ledger,
    cf: &CustomerFacts<'_>,
    invoices: &[InvoiceFacts<'_>],
    cal: &Calendar<'_>,
    opts: EvalOptions,
) -> Result<(Vec<PlannedAction>, Suppressed, Option<usize>), EvalError> {
    let mut ev = Eval::new(policy, ledger, cf, invoices, cal, None, opts);
    ev.run()?;
    let strategy = ev.strategy.and_then(|s| policy.rules.strategies.iter().position(|x| std::ptr::eq(x, s)));
    Ok((ev.actions, ev.suppressed, strategy))
}

/// Evaluate every customer of a ledger (in parallel, results in customer
/// order). The batch run adds ids, ordering and outputs on top; tests and
/// `recoup test` use this directly.
pub fn evaluate_ledger(
    policy: &CompiledPolicy,
    ledger: &Ledger,
    ctx: &crate::facts::Context,
) -> Vec<Result<Vec<PlannedAction>, EvalError>> {
    let cal = ctx.calendar();
    let ctx = policy.facts_context(ctx).into_owned().with_groups(ledger);
    crate::facts::map_customers(ledger, &ctx, |cf, inv| evaluate_customer(policy, ledger, cf, inv, &cal, None))
}

/// The state of one customer's evaluation.
pub(crate) struct Eval<'a, 't> {
    p: &'a CompiledPolicy,
    opts: EvalOptions,
    r: &'a Rules,
    cf: &'a CustomerFacts<'a>,
    inv: &'a [InvoiceFacts<'a>],
    cal: &'a Calendar<'a>,
    hist: History<'a>,
    ledger: &'a Ledger,
    trace: Option<&'t mut Trace>,
    actions: Vec<PlannedAction>,
    priority: f64,
    strategy: Option<&'a Strategy>,
    arm: Arm,
    /// Customer-facing messages planned so far this run (for the contact cap):
    /// actions of the same rule, action and channel count once.
    planned_contacts: u32,
    /// A plan or account promise pausing escalation.
    pause: Option<ladder::Pause>,
    /// The guardrails time lifts that suppressed an action.
    suppressed: Suppressed,
}

/// The guardrail that suppressed an offered action, with the figures its
/// reason names (the reason is written only when an evaluation is traced).
#[derive(Debug, Clone, Copy)]
enum Guard {
    Referred,
    DoNotContact,
    Cap {
        contacts: u32,
        max: u32,
    },
    BusinessDays,
    /// A public holiday of the customer's country or a company closure
    /// (`[guardrails] public_holidays`, `holidays`).
    Holiday,
    RegulationFCalls(u32),
    RegulationFConversation(i32),
}

impl Guard {
    /// Its key in the policy's `[guardrails]` (or `referred`).
    fn name(self) -> &'static str {
        match self {
            Guard::Referred => "referred",
            Guard::DoNotContact => "do_not_contact",
            Guard::Cap { .. } => "max_contacts_per_7_days",
            Guard::BusinessDays | Guard::Holiday => "business_days_only",
            Guard::RegulationFCalls(_) | Guard::RegulationFConversation(_) => "regulation_f",
        }
    }

    /// Why it suppressed the action, as `explain` shows it.
    fn why(self) -> String {
        match self {
            Guard::Referred => "the account is with an agency or lawyer".into(),
            Guard::DoNotContact => "the customer is flagged do-not-contact".into(),
            Guard::Cap { contacts, max } => format!("{contacts} contacts in the last 7 days (at most {max})"),
            Guard::BusinessDays => "not a business day".into(),
            // Named by `Eval::holiday` where the trace is written.
            Guard::Holiday => "a holiday".into(),
            Guard::RegulationFCalls(n) => format!("{n} calls in 7 days (Regulation F: at most 7)"),
            Guard::RegulationFConversation(d) => {
                format!("a conversation {d} day(s) ago (Regulation F: no call within 7 days after one)")
            }
        }
    }
}

impl<'a, 't> Eval<'a, 't> {
    fn new(
        policy: &'a CompiledPolicy,
        ledger: &'a Ledger,
        cf: &'a CustomerFacts<'a>,
        invoices: &'a [InvoiceFacts<'a>],
        cal: &'a Calendar<'a>,
        trace: Option<&'t mut Trace>,
        opts: EvalOptions,
    ) -> Self {
        Eval {
            opts,
            p: policy,
            r: &policy.rules,
            cf,
            inv: invoices,
            cal,
            hist: History::new(ledger, cf.ix, cal.date, &policy.per_invoice, &policy.ids),
            ledger,
            trace,
            actions: Vec::new(),
            priority: 0.0,
            strategy: None,
            arm: Arm::Champion,
            planned_contacts: 0,
            pause: None,
            suppressed: Suppressed::default(),
        }
    }
}

impl<'a> Eval<'a, '_> {
    fn tracing(&self) -> bool {
        self.trace.is_some()
    }

    /// Are actions given their reason and facts ([`EvalOptions::words`])?
    fn words(&self) -> bool {
        self.opts.words || self.tracing()
    }

    /// Words for a trace, built only when tracing.
    fn why(&self, f: impl FnOnce() -> String) -> String {
        if self.tracing() { f() } else { String::new() }
    }

    /// Record a rule's outcome when tracing (the closure runs only then).
    fn note(&mut self, f: impl FnOnce() -> RuleTrace) {
        if let Some(t) = self.trace.as_deref_mut() {
            t.rules.push(f());
        }
    }

    fn env(&self, invoice: Option<&'a InvoiceFacts<'a>>) -> Env<'a, 'a> {
        Env { customer: self.cf, invoice, cal: self.cal }
    }

    fn error(&self, kind: RuleKind, rule: &str, e: &Expression, x: ExprError) -> EvalError {
        let location = (x.line > 0).then(|| {
            let off = e.map.offset(x.line, x.col);
            self.p.sources.location(&crate::policy::diag::Span { file: e.file, range: off..off })
        });
        EvalError {
            customer_id: self.cf.customer.id.to_string(),
            rule_id: rule.to_string(),
            rule_kind: kind,
            message: x.message,
            location,
        }
    }

    /// Evaluate a condition (`None` = always true).
    fn cond(
        &self,
        e: &Option<Expression>,
        invoice: Option<&'a InvoiceFacts<'a>>,
        kind: RuleKind,
        rule: &str,
    ) -> Result<bool, EvalError> {
        match e {
            None => Ok(true),
            Some(x) => x.eval_bool(&self.p.engine, &self.env(invoice)).map_err(|err| self.error(kind, rule, x, err)),
        }
    }

    /// The facts a condition read (for explanations).
    fn reads(&self, e: &Option<Expression>, invoice: Option<&'a InvoiceFacts<'a>>, out: &mut Vec<FactRead>) {
        if let Some(x) = e {
            // As `read_values` lists them, without a list in between.
            let env = self.env(invoice);
            for &f in &x.reads.facts {
                let name = f.full_name();
                if let Some(v) = env.fact(f)
                    && !out.iter().any(|r| r.name == name)
                {
                    out.push(FactRead { name: Cow::Borrowed(name), value: words::display(v) });
                }
            }
        }
    }

    /// The `[amounts]` a condition compared with, each in the customer's
    /// currency (`amounts.small_balance` = `250.00`; `none for CHF` when the
    /// policy gives none for it), for explain's trace.
    fn amount_reads(&self, e: &Option<Expression>, out: &mut Vec<FactRead>) {
        let Some(x) = e else { return };
        let code = self.cf.customer.currency.as_str();
        for name in &x.amounts {
            let full = format!("amounts.{name}");
            if out.iter().any(|r| r.name == full) {
                continue;
            }
            let value = match self.r.named.iter().find(|(n, _)| n == name).and_then(|(_, a)| a.get(code)) {
                Some(d) => crate::money::json::text(d),
                None => format!("none for {code}"),
            };
            out.push(FactRead { name: Cow::Owned(full), value });
        }
    }

    /// A fact of the customer, for explanations.
    fn fact(&self, f: FactRef) -> FactRead {
        fact_read(f, &self.env(None))
    }

    fn run(&mut self) -> Result<(), EvalError> {
        // Reasons and the facts read write money in the customer's currency.
        let _scope = crate::money::Scope::enter(&self.cf.customer.currency);
        if self.opts.priority {
            self.score()?;
        }
        self.pause = self.account_pause();
        self.choose_strategy()?;
        self.escalate()?;
        self.limits()?;
        self.incentives()?;
        self.plans()?;
        self.reviews()?;
        self.finish();
        self.notify();
        Ok(())
    }

    fn score(&mut self) -> Result<(), EvalError> {
        let pr = &self.r.priority;
        let mut s = 0.0;
        for (f, w) in &pr.weights {
            s += w * fact_f64(self.env(None).fact(*f));
        }
        if let Some(e) = &pr.score {
            s += e
                .eval_f64(&self.p.engine, &self.env(None))
                .map_err(|x| self.error(RuleKind::Priority, "score", e, x))?;
        }
        self.priority = if s.is_finite() { (s * 10_000.0).round() / 10_000.0 } else { 0.0 };
        if let Some(t) = self.trace.as_deref_mut() {
            t.priority = self.priority;
        }
        Ok(())
    }

    fn choose_strategy(&mut self) -> Result<(), EvalError> {
        for s in &self.r.strategies {
            if self.strategy.is_some() {
                self.note(|| RuleTrace {
                    kind: RuleKind::Strategy,
                    rule_id: s.id.clone(),
                    outcome: Outcome::Skipped,
                    detail: "an earlier strategy matched".into(),
                    guardrail: None,
                    inputs: Vec::new(),
                });
                continue;
            }
            let hit = self.cond(&s.when, None, RuleKind::Strategy, &s.id)?;
            if self.tracing() {
                let mut inputs = Vec::new();
                self.reads(&s.when, None, &mut inputs);
                self.amount_reads(&s.when, &mut inputs);
                let detail = match (&s.when, hit) {
                    (None, _) => "matches every customer".to_string(),
                    (Some(w), true) => format!("`{}` is true", w.src),
                    (Some(w), false) => format!("`{}` is false", w.src),
                };
                let ladder = s.ladder.and_then(|l| self.r.ladders.get(l)).map(|l| l.id.clone());
                self.note(|| RuleTrace {
                    kind: RuleKind::Strategy,
                    rule_id: s.id.clone(),
                    outcome: if hit { Outcome::Fired } else { Outcome::NotFired },
                    detail: match (&ladder, hit) {
                        (Some(l), true) => format!("{detail}: ladder `{l}`"),
                        (None, true) => format!("{detail}: no ladder (no dunning)"),
                        _ => detail,
                    },
                    guardrail: None,
                    inputs,
                });
            }
            if hit {
                self.strategy = Some(s);
            }
        }
        self.challenger();
        if let Some(t) = self.trace.as_deref_mut() {
            t.strategy = self.strategy.map(|s| s.id.clone());
            t.arm = self.arm;
            t.ladder = self.strategy.and_then(|s| s.ladder).and_then(|l| self.r.ladders.get(l)).map(|l| l.id.clone());
            t.pace = self.strategy.map(|s| s.pace);
        }
        Ok(())
    }

    /// Discount and payment-plan offers executed in the last 7 days: they
    /// reached the customer, so they count toward the contact cap as they did
    /// on the day they were planned (`contacts_7d` counts the other contacts).
    /// Each offer counts once, however many invoice rows record it.
    fn offers_7d(&self) -> u32 {
        self.hist.messages_within(7, |k| matches!(k, ActionKind::DiscountOffer | ActionKind::PaymentPlanOffer))
    }

    /// Is `a` part of a message already planned this run? Actions of one
    /// rule, action and channel planned the same day are recorded alike in
    /// actions.csv, so the history counts them as one message
    /// (`facts::same_message`); the run counts them so too, before and after
    /// they are recorded. The actions of a per-invoice step (a
    /// `grouping = "invoice"` ladder's) are one message per invoice, in the
    /// history and here.
    fn joins_planned(&self, a: &PlannedAction) -> bool {
        let per_invoice = self.p.per_invoice.contains(&a.rule_id);
        // The steps of an `advance = "each_invoice"` ladder: one message per channel.
        let merged = a.channel.is_some() && self.p.per_invoice.merges(&a.rule_id);
        self.actions.iter().any(|b| {
            b.is_customer_facing()
                && b.channel == a.channel
                && ((b.action == a.action
                    && b.rule_id == a.rule_id
                    && (!per_invoice || b.invoice_ids == a.invoice_ids))
                    || (merged && self.p.per_invoice.merges(&b.rule_id)))
        })
    }

    /// The holiday of the customer's country (or the company closure) the
    /// as-of date is, when the policy's calendars hold actions on holidays.
    fn holiday(&self) -> Option<crate::calendar::Holiday> {
        self.r.guardrails.calendars.as_ref()?.holiday(&self.cf.customer.country, self.cal.date)
    }

    /// The guardrail that forbids `a`, if any (checked last, always wins).
    fn guardrail(&self, a: &PlannedAction) -> Option<Guard> {
        let g = &self.r.guardrails;
        let cf = self.cf;
        let facing = a.is_customer_facing();
        if facing && cf.referred {
            return Some(Guard::Referred);
        }
        if facing && g.do_not_contact && cf.customer.do_not_contact {
            return Some(Guard::DoNotContact);
        }
        if facing
            && !self.joins_planned(a)
            && let Some(max) = g.max_contacts_per_7_days
        {
            let contacts = cf.contacts_7d + self.offers_7d() + self.planned_contacts;
            if contacts >= max {
                return Some(Guard::Cap { contacts, max });
            }
        }
        if facing && g.business_days_only && !self.cal.is_business_day {
            return Some(Guard::BusinessDays);
        }
        if facing
            && g.business_days_only
            && g.calendars.as_ref().is_some_and(|c| c.holds(&self.cf.customer.country, self.cal.date))
        {
            return Some(Guard::Holiday);
        }
        if a.action == ActionKind::Call && g.regulation_f && cf.customer.account_type == AccountType::Consumer {
            if cf.calls_7d >= 7 {
                return Some(Guard::RegulationFCalls(cf.calls_7d));
            }
            if cf.days_since_conversation < 7 {
                return Some(Guard::RegulationFConversation(cf.days_since_conversation));
            }
        }
        None
    }

    /// Offer an action: guardrails decide, last. Returns whether it was kept.
    /// `trace` describes the rule that fired; it runs only when tracing.
    fn offer(&mut self, a: PlannedAction, trace: impl FnOnce(&PlannedAction) -> RuleTrace) -> bool {
        match self.guardrail(&a) {
            Some(g) => {
                match g {
                    Guard::Cap { .. } => self.suppressed.cap = true,
                    Guard::BusinessDays | Guard::Holiday => self.suppressed.business_day = true,
                    Guard::RegulationFCalls(_) | Guard::RegulationFConversation(_) => {
                        self.suppressed.regulation_f = true
                    }
                    Guard::Referred | Guard::DoNotContact => {}
                }
                if self.tracing() {
                    let mut t = trace(&a);
                    t.outcome = Outcome::Suppressed;
                    let why = match (g, self.holiday()) {
                        (Guard::Holiday, Some(h)) => format!("held: {h}"),
                        _ => g.why(),
                    };
                    t.detail = format!("{}; suppressed: {why}", t.detail);
                    t.guardrail = Some(g.name().to_string());
                    self.note(|| t);
                }
                false
            }
            None => {
                if a.is_customer_facing() && !self.joins_planned(&a) {
                    self.planned_contacts += 1;
                }
                if self.tracing() {
                    let mut t = trace(&a);
                    t.outcome = Outcome::Fired;
                    self.note(|| t);
                }
                self.actions.push(a);
                true
            }
        }
    }

    /// `[challenger]`: an eligible customer drawn into the challenger arm
    /// follows the challenger strategy instead of the one the rules chose.
    fn challenger(&mut self) {
        let r = self.r;
        let Some(c) = &r.challenger else { return };
        let Some(to) = r.strategies.get(c.strategy) else { return };
        let eligible = match c.only_strategy.and_then(|i| r.strategies.get(i)) {
            None => true,
            Some(only) => self.strategy.is_some_and(|s| s.id == only.id),
        };
        let draw = crate::policy::compile::Challenger::draw(&c.salt, &self.cf.customer.id);
        let picked = eligible && draw < c.share;
        if picked {
            self.strategy = Some(to);
            self.arm = Arm::Challenger;
        }
        if self.tracing() {
            let chosen = self.strategy.map(|s| s.id.clone());
            self.note(|| RuleTrace {
                kind: RuleKind::Strategy,
                rule_id: "challenger".into(),
                outcome: if picked { Outcome::Fired } else { Outcome::NotFired },
                detail: match (eligible, picked) {
                    (false, _) => "not eligible: the rules chose another strategy than `only_strategy`".into(),
                    (true, true) => format!(
                        "draw {draw:.4} is below share {}: challenger arm, strategy `{}`",
                        c.share,
                        chosen.unwrap_or_default()
                    ),
                    (true, false) => format!("draw {draw:.4} is not below share {}: champion arm", c.share),
                },
                guardrail: None,
                inputs: Vec::new(),
            });
        }
    }

    /// Fill what every action shares: strategy, arm, priority, owner, cost.
    fn finish(&mut self) {
        let strategy = self.strategy.map(|s| s.id.as_str());
        let owner = self.strategy.and_then(|s| s.owner.as_deref()).or(self.cf.customer.account_owner.as_deref());
        for a in &mut self.actions {
            a.strategy = strategy.map(str::to_string);
            a.arm = self.arm;
            a.priority = self.priority;
            if a.owner.is_none() {
                a.owner = owner.map(str::to_string);
            }
            a.cost = self.r.costs.of(a.action, a.amount_due, &self.cf.customer.currency);
        }
    }

    fn fact_reads(&self, facts: &[FactRef]) -> Vec<FactRead> {
        facts.iter().map(|&f| self.fact(f)).collect()
    }
}

fn fact_f64(v: Option<Value<'_>>) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    match v {
        Some(Value::Int(i)) => i as f64,
        Some(Value::Float(f)) => f,
        Some(Value::Money(d)) => d.to_f64().unwrap_or(0.0),
        Some(Value::Bool(b)) => f64::from(u8::from(b)),
        _ => 0.0,
    }
}

/// A fact's full name and value, for explanations.
pub fn fact_read(f: FactRef, env: &Env<'_, '_>) -> FactRead {
    FactRead { name: Cow::Borrowed(f.full_name()), value: env.fact(f).map(words::plain).unwrap_or_default() }
}

/// Facts the engine itself reads (found once by name).
pub(crate) struct Known {
    pub overdue_total: FactRef,
    pub contacts_30d: FactRef,
    pub contacts_7d: FactRef,
    pub credit_limit: FactRef,
    pub exposure: FactRef,
    pub utilization: FactRef,
    pub on_time_ratio: FactRef,
    pub avg_days_late: FactRef,
    pub max_days_past_due: FactRef,
    pub promises_broken: FactRef,
    pub risk_class: FactRef,
    pub days_past_due: FactRef,
    pub days_since_issue: FactRef,
}

pub(crate) fn known() -> &'static Known {
    use crate::facts::registry::Scope;
    static K: std::sync::LazyLock<Known> = std::sync::LazyLock::new(|| {
        let c = |n: &str| FactRef::find(Scope::Customer, n).unwrap_or(FactRef { scope: Scope::Customer, index: 0 });
        let i = |n: &str| FactRef::find(Scope::Invoice, n).unwrap_or(FactRef { scope: Scope::Invoice, index: 0 });
        Known {
            overdue_total: c("overdue_total"),
            contacts_30d: c("contacts_30d"),
            contacts_7d: c("contacts_7d"),
            credit_limit: c("credit_limit"),
            exposure: c("exposure"),
            utilization: c("utilization"),
            on_time_ratio: c("on_time_ratio"),
            avg_days_late: c("avg_days_late"),
            max_days_past_due: c("max_days_past_due"),
            promises_broken: c("promises_broken"),
            risk_class: c("risk_class"),
            days_past_due: i("days_past_due"),
            days_since_issue: i("days_since_issue"),
        }
    });
    &K
}
