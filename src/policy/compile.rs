//! The compiled policy: validated, resolved rules with every expression
//! compiled once (rhai AST plus, where possible, a native form), and the
//! sandboxed engine that runs them. Immutable and `Send + Sync`: one value is
//! shared read-only by every worker thread.

use super::diag::Sources;
use super::expr::{Expression, FactRef, ScriptDefs, lower_with, root_expr};
pub use super::raw::{Advance, AgeFrom, Grouping, InvoiceSet, LimitChange, OnError, Pace, Regime, Trigger};
use crate::facts::{Context, InvoiceFacts, PerInvoiceRules};
use crate::ledger::{ActionKind, Channel, RiskClass, RuleId};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// Name, version and policy-wide options.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub name: String,
    pub version: String,
    pub currency: Option<String>,
    pub description: Option<String>,
    pub effective: Option<NaiveDate>,
    pub pace: Pace,
    pub age_from: AgeFrom,
    /// Net (default) or gross balance (docs/policy.md, `balance`).
    pub balance: crate::facts::Balance,
    pub grouping: Grouping,
    pub trigger: Trigger,
    /// One step per customer per run, or every invoice to its own (`advance`).
    pub advance: Advance,
    /// Jump pace places the holds of the steps it skipped (`standing_effects`).
    pub standing_effects: bool,
    pub on_script_error: OnError,
    /// The largest share of customers that may fail a rule before the run fails (skip mode).
    pub max_failed_share: f64,
}

/// The default of `[policy] max_failed_share`: 1 customer in 100.
pub const MAX_FAILED_SHARE: f64 = 0.01;

/// Guardrails: applied last, they always win.
#[derive(Debug, Clone, Serialize)]
pub struct Guardrails {
    pub max_contacts_per_7_days: Option<u32>,
    pub do_not_contact: bool,
    pub skip_disputed: bool,
    pub promise_pauses: bool,
    pub min_overdue: Option<Amount>,
    pub business_days_only: bool,
    pub regulation_f: bool,
    /// `public_holidays`: the customer's country's holidays hold actions too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub public_holidays: bool,
    /// `holidays`: the company closures file, relative to the policy folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holidays: Option<String>,
    /// The calendars of `public_holidays` and `holidays`, when either is set
    /// (built as the policy loads: `policy::calendar`).
    #[serde(skip)]
    pub calendars: Option<std::sync::Arc<crate::calendar::Calendars>>,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            max_contacts_per_7_days: None,
            do_not_contact: true,
            skip_disputed: true,
            promise_pauses: true,
            min_overdue: None,
            business_days_only: false,
            regulation_f: true,
            public_holidays: false,
            holidays: None,
            calendars: None,
        }
    }
}

/// A unit cost: per action (one amount, or one per currency), or a share
/// of the amount concerned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    Amount(Amount),
    Percent(Decimal),
}

/// Unit costs by action kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Costs {
    pub by_kind: Vec<(ActionKind, Cost)>,
}

impl Costs {
    /// The cost of one action of `kind` concerning `amount`, for a customer
    /// of `currency`, rounded to cents. A per-currency cost that leaves the
    /// currency out counts 0 (`run` and `check --ledger` warn of it).
    pub fn of(&self, kind: ActionKind, amount: Decimal, currency: &str) -> Decimal {
        match self.by_kind.iter().find(|(k, _)| *k == kind).map(|(_, c)| c) {
            Some(Cost::Amount(a)) => a.get(currency).unwrap_or(Decimal::ZERO),
            Some(Cost::Percent(p)) => money(amount * p / Decimal::ONE_HUNDRED),
            None => Decimal::ZERO,
        }
    }
}

/// Round money to cents, half away from zero.
/// A policy amount for a customer's currency: the per-currency values the
/// policy gives (`{ USD = "25.00", GBP = "20.00" }`), else its one amount
/// (in the policy's `currency`). `get` is `None` for a currency the
/// per-currency values leave out (`run` and `check --ledger` warn of it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Amount {
    pub one: Option<Decimal>,
    pub by: Vec<(String, Decimal)>,
}

impl Amount {
    /// One amount for every currency.
    pub fn one(d: Decimal) -> Self {
        Amount { one: Some(d), by: Vec::new() }
    }

    /// The amount for a customer of currency `code`.
    pub fn get(&self, code: &str) -> Option<Decimal> {
        if self.by.is_empty() {
            return self.one;
        }
        self.by.iter().find(|(c, _)| c == code).map(|x| x.1)
    }

    /// Is it one amount, with no per-currency values?
    pub fn is_single(&self) -> bool {
        self.by.is_empty()
    }
}

impl Serialize for Amount {
    /// `"25.00"` as a decimal serialises, or `{"GBP": "20.00", "USD": "25.00"}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.one {
            Some(d) if self.by.is_empty() => Serialize::serialize(&d, s),
            _ => {
                let mut m = s.serialize_map(Some(self.by.len()))?;
                for (c, d) in &self.by {
                    m.serialize_entry(c, d)?;
                }
                m.end()
            }
        }
    }
}

impl std::fmt::Display for Amount {
    /// `25.00`, or `USD 25.00 / GBP 20.00`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.one {
            Some(d) if self.by.is_empty() => write!(f, "{d:.2}"),
            _ if self.by.windows(2).all(|w| w[0].1 == w[1].1) && !self.by.is_empty() => {
                let codes: Vec<&str> = self.by.iter().map(|(c, _)| c.as_str()).collect();
                write!(f, "{:.2} {}", self.by[0].1, codes.join("/"))
            }
            _ => {
                for (k, (c, d)) in self.by.iter().enumerate() {
                    write!(f, "{}{c} {d:.2}", if k > 0 { " / " } else { "" })?;
                }
                Ok(())
            }
        }
    }
}

pub fn money(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// Late-payment interest.
#[derive(Debug, Clone, Serialize)]
pub struct Interest {
    pub regime: Regime,
    /// Yearly rate in percent (the reference rate plus the margin, for statutory regimes).
    pub rate_pct: Decimal,
    pub days_in_year: u32,
    /// Fixed compensation per invoice, overriding the regime's.
    pub compensation: Option<Decimal>,
    /// `reference_rates`: the statutory regimes computed as the law does
    /// (`crate::interest`); `None` = `rate_pct` on today's balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<crate::interest::RateTable>,
}

impl Interest {
    /// Interest on `open` for `days` late: open × rate / 100 / days_in_year × days, in cents.
    pub fn accrued(&self, open: Decimal, days: i32) -> Decimal {
        if days <= 0 || self.days_in_year == 0 {
            return Decimal::ZERO;
        }
        money(open * self.rate_pct / Decimal::ONE_HUNDRED / Decimal::from(self.days_in_year) * Decimal::from(days))
    }
    /// Fixed compensation for one late invoice of `open`.
    pub fn compensation(&self, open: Decimal) -> Decimal {
        if let Some(c) = self.compensation {
            return c;
        }
        crate::interest::compensation(self.regime, open)
    }
}

/// The worklist score.
#[derive(Debug, Clone, Default)]
pub struct Priority {
    pub score: Option<Expression>,
    pub weights: Vec<(FactRef, f64)>,
}

/// Which customers follow which ladder.
#[derive(Debug, Clone)]
pub struct Strategy {
    pub id: String,
    pub when: Option<Expression>,
    /// Index into [`Rules::ladders`]; `None` = no dunning.
    pub ladder: Option<usize>,
    pub owner: Option<String>,
    pub pace: Pace,
}

/// An escalation ladder.
#[derive(Debug, Clone)]
pub struct Ladder {
    pub id: String,
    pub trigger: Trigger,
    pub grouping: Grouping,
    /// `each_invoice`: every invoice to its own next step in one run, one message per channel.
    pub advance: Advance,
    pub steps: Vec<Step>,
}

/// The date a step's age counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    DueDate,
    IssueDate,
}

/// One step of a ladder.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub action: ActionKind,
    pub channel: Option<Channel>,
    /// Channels tried in order when the customer cannot be reached on `channel`.
    pub fallback: Vec<Channel>,
    pub template: Option<String>,
    pub basis: Basis,
    /// Fires once the invoice's age (in `basis` days) reaches this.
    pub offset: i32,
    /// Not offered once the age is above this.
    pub max: Option<i32>,
    pub min_overdue: Option<Amount>,
    /// Days since the previous executed step on the invoice (a repeating step's
    /// `every` when not given).
    pub cooldown_days: u32,
    /// Sent again every so many days after it last ran (`repeat`).
    pub repeat: Option<Repeat>,
    pub when: Option<Expression>,
    pub optional: bool,
    pub fee: Amount,
    pub fee_pct: Decimal,
    pub interest: bool,
    pub compensation: bool,
    pub owner: Option<String>,
    /// `interest_rate_pct`: the step's own simple yearly rate.
    pub interest_rate_pct: Option<Decimal>,
    /// `consolidated`: a statement step whose statements are one per
    /// customer group, addressed to its head (`plan::group_statement`).
    pub consolidated: bool,
    /// A declared kind that is a task on the worklist (`[kinds.*] task`).
    pub task: bool,
    /// A kind that stays in force once done: a credit hold, or a declared
    /// kind with `standing = true` (placed with a jump, `standing_effects`).
    pub standing: bool,
}

/// A step's `repeat`: again every `every` days after it last ran, at most
/// `max` times after the first send (none: until paid or a later step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Repeat {
    pub every: u32,
    pub max: Option<u32>,
}

impl Step {
    /// The invoice's age as this step counts it.
    pub fn age(&self, inv: &InvoiceFacts<'_>) -> i32 {
        match self.basis {
            Basis::DueDate => inv.days_past_due,
            Basis::IssueDate => inv.days_since_issue,
        }
    }
    /// Does it reach the customer (email, sms, call, letter, statement, a
    /// declared kind with a channel)?
    pub fn is_contact(&self) -> bool {
        self.action.is_contact() || (self.action.is_declared() && self.channel.is_some())
    }
    /// Does it hand the account to an agency or lawyer?
    pub fn is_referral(&self) -> bool {
        self.action.is_referral()
    }
    /// The trigger in words: "14 days past due", "1 day before due".
    pub fn trigger_words(&self) -> String {
        match (self.basis, self.offset) {
            (Basis::DueDate, o) if o < 0 => format!("{} before due", days(-o)),
            (Basis::DueDate, o) => format!("{} past due", days(o)),
            (Basis::IssueDate, o) => format!("{} after issue", days(o)),
        }
    }
}

/// `1 day`, `0 days`, `14 days`.
pub fn days(n: i32) -> String {
    if n == 1 { "1 day".to_string() } else { format!("{n} days") }
}

/// An early-payment incentive.
#[derive(Debug, Clone)]
pub struct Incentive {
    pub id: String,
    pub when: Option<Expression>,
    pub invoices: InvoiceSet,
    pub discount_pct: Decimal,
    pub pay_within_days: u32,
    pub max_discount: Option<Amount>,
    pub min_invoice_amount: Option<Amount>,
    pub quarters: Vec<u32>,
    pub channel: Channel,
    /// Channels tried in order when the customer cannot be reached on `channel`.
    pub fallback: Vec<Channel>,
    pub template: Option<String>,
    pub priority: i32,
}

/// An instalment plan offer.
#[derive(Debug, Clone)]
pub struct PaymentPlan {
    pub id: String,
    pub when: Option<Expression>,
    pub instalments: u32,
    pub interval_days: u32,
    pub min_instalment: Option<Amount>,
    pub reoffer_after_days: u32,
    pub channel: Channel,
    /// Channels tried in order when the customer cannot be reached on `channel`.
    pub fallback: Vec<Channel>,
    pub template: Option<String>,
    pub priority: i32,
}

/// A credit limit rule.
#[derive(Debug, Clone)]
pub struct LimitRule {
    pub id: String,
    pub when: Option<Expression>,
    pub change: LimitChange,
    pub by_pct: Option<Decimal>,
    pub by_amount: Option<Amount>,
    pub to: Option<Amount>,
    pub floor: Option<Amount>,
    pub cap: Option<Amount>,
    pub round_to: Option<Decimal>,
    pub every_days: u32,
    pub review_in_days: Option<u32>,
    pub owner: Option<String>,
    pub priority: i32,
}

/// A periodic credit review.
#[derive(Debug, Clone)]
pub struct Review {
    pub id: String,
    pub when: Option<Expression>,
    pub risk_class: Option<RiskClass>,
    pub every_days: u32,
    pub owner: Option<String>,
}

/// The validated rules of a policy.
#[derive(Debug, Clone)]
pub struct Rules {
    pub meta: Meta,
    pub guardrails: Guardrails,
    pub costs: Costs,
    pub interest: Option<Interest>,
    pub priority: Priority,
    pub strategies: Vec<Strategy>,
    pub ladders: Vec<Ladder>,
    /// In the order they are tried: priority (higher first), then file order.
    pub incentives: Vec<Incentive>,
    pub plans: Vec<PaymentPlan>,
    pub limits: Vec<LimitRule>,
    pub reviews: Vec<Review>,
    /// `[challenger]`, when the policy has one.
    pub challenger: Option<Challenger>,
    /// Renamed rules: (the rule's id, an id it `replaces`). History rows of the
    /// old id count as the rule's own ([`RuleIds`] gives both one number).
    pub replaces: Vec<(String, String)>,
    /// `[reporting]`, when the policy gives exchange rates.
    pub reporting: Option<Reporting>,
    /// `[kpis]`: the settings facts and KPIs are derived with (the defaults
    /// when the policy has no such table).
    pub kpis: crate::facts::FactsConfig,
    /// `[amounts]`: the named amounts expressions read as `amounts.<name>`,
    /// in file order.
    pub named: Vec<(String, Amount)>,
    /// `[kinds.*]`: the action kinds the policy declares, by name.
    pub kinds: Vec<KindDecl>,
    /// `[notify]` and `[sales_reps]`: who else is told of the plan's actions.
    pub notify: Notify,
}

/// An action kind the policy declares (`[kinds.<name>]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindDecl {
    pub kind: ActionKind,
    /// How the worklist, the summary and the report name it.
    pub label: String,
    /// A task on the worklist.
    pub task: bool,
    /// A message to the customer on this channel.
    pub channel: Option<Channel>,
    /// Its message template (steps may give their own).
    pub template: Option<String>,
    /// Stays in force once done (placed with a jump like a hold, `standing_effects`).
    pub standing: bool,
}

/// `[notify]`: the kinds of action the customer's sales representative is
/// told of, and the representatives' addresses (`[sales_reps]`). Empty when
/// the policy has no `[notify]`: the engine then does nothing more per customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    /// The rule id of the notifications.
    pub id: String,
    /// The kinds the representative is told of (sorted, no repeats).
    pub sales_rep: Vec<ActionKind>,
    /// Representative name -> e-mail address.
    pub addresses: std::collections::BTreeMap<String, String>,
}

impl Notify {
    /// The rule id of notifications when `[notify]` gives none.
    pub const DEFAULT_ID: &'static str = "notify-sales-rep";

    /// Is the sales representative told of `kind`?
    pub fn tells(&self, kind: ActionKind) -> bool {
        self.sales_rep.contains(&kind)
    }

    /// The e-mail address of the representative `rep`: its `[sales_reps]`
    /// entry, else `rep` itself when it is an address.
    pub fn address_of<'a>(&'a self, rep: &'a str) -> Option<&'a str> {
        match self.addresses.get(rep) {
            Some(a) => Some(a),
            None => crate::engine::contact::is_email(rep).then_some(rep),
        }
    }
}

/// `[reporting]`: a reporting currency and the user's rates, of a date.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Reporting {
    /// The currency converted totals are in.
    pub currency: String,
    /// The date of the rates.
    pub rates_date: NaiveDate,
    /// One unit of each other currency in the reporting currency (the
    /// reporting currency's own rate, 1, is implied).
    pub rates: std::collections::BTreeMap<String, Decimal>,
}

impl Reporting {
    /// `amount` of currency `code` in the reporting currency, rounded to
    /// cents; `None` when no rate is given for `code`.
    pub fn convert(&self, code: &str, amount: Decimal) -> Option<Decimal> {
        if code == self.currency {
            return Some(amount);
        }
        self.rates.get(code).map(|r| money(amount * r))
    }

    /// What converted figures are, in words (summary.json and the
    /// simulation's outputs say it alike).
    pub fn label(&self) -> String {
        format!(
            "converted to {} at the rates of {} given in the policy's [reporting]: an estimate; the per-currency figures are the ledger's own",
            self.currency, self.rates_date
        )
    }

    /// The rates of the currencies other than the reporting one, as written.
    pub fn rates_of<'a>(
        &self,
        codes: impl IntoIterator<Item = &'a String>,
    ) -> std::collections::BTreeMap<String, Decimal> {
        codes
            .into_iter()
            .filter(|c| c.as_str() != self.currency)
            .filter_map(|c| Some((c.clone(), *self.rates.get(c)?)))
            .collect()
    }

    /// The sum of per-currency amounts in the reporting currency; `None`
    /// when a currency has no rate.
    pub fn total<'a>(&self, amounts: impl IntoIterator<Item = (&'a String, Decimal)>) -> Option<Decimal> {
        amounts.into_iter().map(|(c, d)| self.convert(c, d)).sum()
    }
}

impl Rules {
    /// Every policy amount, with where it is set (`[guardrails] min_overdue`,
    /// `step `final-demand` fee`, ...).
    pub fn amounts(&self) -> Vec<(String, &Amount)> {
        let mut out: Vec<(String, &Amount)> = Vec::new();
        for (name, m) in &self.named {
            out.push((format!("[amounts] {name}"), m));
        }
        if let Some(m) = &self.guardrails.min_overdue {
            out.push(("[guardrails] min_overdue".into(), m));
        }
        for (kind, c) in &self.costs.by_kind {
            if let Cost::Amount(m) = c
                && m.one.is_none_or(|d| !d.is_zero())
            {
                out.push((format!("[costs] {kind}"), m));
            }
        }
        for l in &self.ladders {
            for s in &l.steps {
                if let Some(m) = &s.min_overdue {
                    out.push((format!("step `{}` min_overdue", s.id), m));
                }
                if s.fee != Amount::default() && s.fee.one.is_none_or(|f| !f.is_zero()) {
                    out.push((format!("step `{}` fee", s.id), &s.fee));
                }
            }
        }
        for x in &self.incentives {
            for (k, m) in [("max_discount", &x.max_discount), ("min_invoice_amount", &x.min_invoice_amount)] {
                if let Some(m) = m {
                    out.push((format!("incentive `{}` {k}", x.id), m));
                }
            }
        }
        for p in &self.plans {
            if let Some(m) = &p.min_instalment {
                out.push((format!("payment plan `{}` min_instalment", p.id), m));
            }
        }
        for l in &self.limits {
            for (k, m) in [("by_amount", &l.by_amount), ("to", &l.to), ("floor", &l.floor), ("cap", &l.cap)] {
                if let Some(m) = m {
                    out.push((format!("limit rule `{}` {k}", l.id), m));
                }
            }
        }
        out
    }

    /// What the policy's amounts do not say for the ledger's currencies
    /// (`currencies`: each code with its customers): a single amount in the
    /// policy's currency (or in none) that customers of another currency
    /// would be compared with as if it were theirs, or a currency the
    /// per-currency values leave out. One line per setting; empty when every
    /// amount is given for every currency (or the ledger has one currency,
    /// the policy's or none named).
    pub fn currency_gaps(&self, currencies: &[(String, usize)]) -> Vec<String> {
        let own = self.meta.currency.as_deref();
        let words = |list: &[&(String, usize)]| {
            list.iter()
                .map(|(c, n)| format!("{c} ({n} customer{})", if *n == 1 { "" } else { "s" }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        for (place, m) in self.amounts() {
            if m.is_single() {
                let others: Vec<&(String, usize)> = match own {
                    Some(own) => currencies.iter().filter(|(c, _)| c != own).collect(),
                    None if currencies.len() > 1 => currencies.iter().collect(),
                    None => Vec::new(),
                };
                if others.is_empty() {
                    continue;
                }
                out.push(match own {
                    Some(own) => format!(
                        "{place} is {m} {own} (the policy's currency), but customers in {} would get it as {m} \
                         of their own currency: give it per currency, e.g. {{ {own} = \"{m}\", {} = \"...\" }}",
                        words(&others),
                        others[0].0
                    ),
                    None => format!(
                        "{place} is {m} in no named currency, applied as it is to {}: give it per currency, \
                         e.g. {{ {} = \"{m}\", ... }}, or set `currency` in [policy]",
                        words(&others),
                        others[0].0
                    ),
                });
            } else {
                let missing: Vec<&(String, usize)> =
                    currencies.iter().filter(|(c, _)| !m.by.iter().any(|(k, _)| k == c)).collect();
                if !missing.is_empty() {
                    // A step's minimum or fee without a value leaves the customer out of it; an
                    // `amounts.<name>` without one cannot be compared, so the rule fails.
                    let effect = if place.starts_with("[amounts]") {
                        "a rule reading it fails for them (`on_script_error`)"
                    } else if place.starts_with("[costs]") {
                        "their actions count no cost"
                    } else {
                        "it does not apply to them"
                    };
                    out.push(format!(
                        "{place} ({m}) gives no amount for {}: {effect}; add their currency",
                        words(&missing)
                    ));
                }
            }
        }
        out
    }
}

/// `[challenger]`: a stable share of customers follows another strategy.
#[derive(Debug, Clone)]
pub struct Challenger {
    /// Index into [`Rules::strategies`].
    pub strategy: usize,
    /// Strictly between 0 and 1.
    pub share: f64,
    pub salt: String,
    /// Index into [`Rules::strategies`]: only customers the rules put there are eligible.
    pub only_strategy: Option<usize>,
}

impl Challenger {
    /// The customer's draw in [0, 1): blake3 of the salt, a zero byte and the
    /// customer id; the first 8 bytes as a little-endian u64, divided by 2^64.
    pub fn draw(salt: &str, customer_id: &str) -> f64 {
        let mut h = blake3::Hasher::new();
        h.update(salt.as_bytes());
        h.update(&[0]);
        h.update(customer_id.as_bytes());
        let bytes = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes.as_bytes()[..8]);
        u64::from_le_bytes(first) as f64 / 18_446_744_073_709_551_616.0
    }

    /// Whether a customer is in the challenger arm (eligibility aside).
    pub fn picks(&self, customer_id: &str) -> bool {
        Self::draw(&self.salt, customer_id) < self.share
    }
}

/// A policy ready to evaluate.
pub struct CompiledPolicy {
    pub rules: Rules,
    /// The sandboxed engine, with the policy's scripts as modules.
    pub engine: rhai::Engine,
    /// The files it was read from (to report run-time errors at their place).
    pub sources: Sources,
    /// blake3 of the policy files (for manifests).
    pub hash: String,
    /// The steps of the `grouping = "invoice"` ladders: their actions are one
    /// message per invoice when contacts are counted.
    pub per_invoice: PerInvoiceRules,
    /// The rules' ids as numbers (the engine matches the action history to them).
    pub ids: RuleIds,
    /// The message templates and the `[sender]`, checked (`crate::render`);
    /// empty for a policy read without its folder.
    pub messages: std::sync::Arc<crate::render::Templates>,
}

impl std::fmt::Debug for CompiledPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPolicy")
            .field("name", &self.rules.meta.name)
            .field("version", &self.rules.meta.version)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<CompiledPolicy>();
};

impl CompiledPolicy {
    /// `ctx` as this policy's facts must be derived: with its per-invoice
    /// steps ([`PerInvoiceRules`]), so that contacts count one message per
    /// invoice for them, its balance and its `[kpis]` settings. Borrowed when
    /// `ctx` already has them (always for a policy without per-invoice
    /// ladders, `[kpis]` or `balance = "gross"`, and a plain [`Context::new`]).
    pub fn facts_context<'c>(&self, ctx: &'c Context) -> std::borrow::Cow<'c, Context> {
        let balance = self.rules.meta.balance;
        let kpis = &self.rules.kpis;
        if *ctx.per_invoice_rules() == self.per_invoice && ctx.balance == balance && ctx.config == *kpis {
            std::borrow::Cow::Borrowed(ctx)
        } else {
            let mut c = ctx.clone().with_per_invoice_rules(self.per_invoice.clone());
            c.balance = balance;
            if c.config != *kpis {
                c = c.with_config(kpis.clone());
            }
            std::borrow::Cow::Owned(c)
        }
    }

    /// A facts context for `as_of` with this policy's settings: its `[kpis]`,
    /// per-invoice steps and balance.
    pub fn context(&self, as_of: chrono::NaiveDate) -> Context {
        self.facts_context(&Context::new(as_of, self.rules.kpis.clone())).into_owned()
    }
    /// Policy name.
    pub fn name(&self) -> &str {
        &self.rules.meta.name
    }
    /// Policy version.
    pub fn version(&self) -> &str {
        &self.rules.meta.version
    }
    /// What to do with a customer whose rule fails at run time.
    pub fn on_script_error(&self) -> OnError {
        self.rules.meta.on_script_error
    }
    /// How many of `customers` may fail a rule and be skipped before the run fails:
    /// `max_failed_share` of them, rounded down (0 with `on_script_error = "fail"`).
    pub fn failures_allowed(&self, customers: usize) -> usize {
        match self.rules.meta.on_script_error {
            OnError::Fail => 0,
            // A share in [0, 1] (validated) of a count: exact enough in f64 below 2^52.
            OnError::Skip => (self.rules.meta.max_failed_share * customers as f64).floor() as usize,
        }
    }
    /// How the worklist, the summary and the report name `kind`: a declared
    /// kind's `label`, a built-in kind's word in words (`Credit hold`).
    pub fn kind_label(&self, kind: ActionKind) -> std::borrow::Cow<'_, str> {
        if let Some(d) = self.rules.kinds.iter().find(|d| d.kind == kind) {
            return std::borrow::Cow::Borrowed(&d.label);
        }
        let w = kind.as_str().replace('_', " ");
        let mut c = w.chars();
        std::borrow::Cow::Owned(c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default())
    }

    /// The labels of the declared kinds, by name (summary.json's `kind_labels`).
    pub fn kind_labels(&self) -> std::collections::BTreeMap<String, String> {
        self.rules.kinds.iter().map(|d| (d.kind.as_str().to_string(), d.label.clone())).collect()
    }

    /// Every kind of action the policy can put in a plan, in the order of
    /// [`ActionKind`]: its ladder steps' actions, discount and payment-plan
    /// offers, limit changes, holds and releases, and credit reviews.
    pub fn action_kinds(&self) -> Vec<ActionKind> {
        let r = &self.rules;
        let mut kinds: Vec<ActionKind> = r.ladders.iter().flat_map(|l| l.steps.iter().map(|s| s.action)).collect();
        if !r.incentives.is_empty() {
            kinds.push(ActionKind::DiscountOffer);
        }
        if !r.plans.is_empty() {
            kinds.push(ActionKind::PaymentPlanOffer);
        }
        kinds.extend(r.limits.iter().map(|l| match l.change {
            LimitChange::Hold => ActionKind::CreditHold,
            LimitChange::Release => ActionKind::ReleaseHold,
            _ => ActionKind::LimitChange,
        }));
        if !r.reviews.is_empty() {
            kinds.push(ActionKind::CreditReview);
        }
        if !r.notify.sales_rep.is_empty() {
            kinds.push(ActionKind::Notify);
        }
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// Every expression of the policy, with the rule it belongs to.
    pub fn expressions(&self) -> Vec<(String, &Expression)> {
        let r = &self.rules;
        let mut out: Vec<(String, &Expression)> = Vec::new();
        if let Some(e) = &r.priority.score {
            out.push(("[priority] score".into(), e));
        }
        for s in &r.strategies {
            out.extend(s.when.iter().map(|e| (format!("strategy `{}`", s.id), e)));
        }
        for l in &r.ladders {
            for s in &l.steps {
                out.extend(s.when.iter().map(|e| (format!("step `{}`", s.id), e)));
            }
        }
        for x in &r.incentives {
            out.extend(x.when.iter().map(|e| (format!("incentive `{}`", x.id), e)));
        }
        for x in &r.plans {
            out.extend(x.when.iter().map(|e| (format!("payment plan `{}`", x.id), e)));
        }
        for x in &r.limits {
            out.extend(x.when.iter().map(|e| (format!("limit rule `{}`", x.id), e)));
        }
        for x in &r.reviews {
            out.extend(x.when.iter().map(|e| (format!("review `{}`", x.id), e)));
        }
        out
    }
    /// How many expressions run natively, of how many.
    pub fn native_share(&self) -> (usize, usize) {
        let all = self.expressions();
        (all.iter().filter(|(_, e)| e.each().iter().all(|x| x.native.is_some())).count(), all.len())
    }
}

/// Lower one expression: fill its native form and static type.
pub fn lower_expression(e: &mut Expression) {
    lower_expression_with(e, &ScriptDefs::default());
}

/// Lower one expression, inlining the script functions of `defs` it calls.
pub fn lower_expression_with(e: &mut Expression, defs: &ScriptDefs) {
    if let Some(pc) = &mut e.per_currency {
        // The variants run; the expression as written (amounts unresolved) never does.
        for (_, x) in &mut pc.by {
            lower_expression_with(x, defs);
        }
        return;
    }
    if let Some((node, ty)) = root_expr(&e.ast).as_ref().and_then(|x| lower_with(x, defs)) {
        e.native = Some(node);
        e.ty = Some(ty);
    }
}

fn lower_all(r: &mut Rules, defs: &ScriptDefs) {
    let each = |e: &mut Option<Expression>| {
        if let Some(e) = e {
            lower_expression_with(e, defs);
        }
    };
    each(&mut r.priority.score);
    r.strategies.iter_mut().for_each(|s| each(&mut s.when));
    r.ladders.iter_mut().flat_map(|l| l.steps.iter_mut()).for_each(|s| each(&mut s.when));
    r.incentives.iter_mut().for_each(|s| each(&mut s.when));
    r.plans.iter_mut().for_each(|s| each(&mut s.when));
    r.limits.iter_mut().for_each(|s| each(&mut s.when));
    r.reviews.iter_mut().for_each(|s| each(&mut s.when));
}

/// Compile validated rules: lower expressions to native form where
/// possible, order rules by priority, and freeze them with the engine.
pub fn compile(rules: Rules, engine: rhai::Engine, sources: Sources) -> CompiledPolicy {
    compile_with(rules, engine, sources, &ScriptDefs::default())
}

/// [`compile`], inlining the policy's script functions (`defs`) into the
/// native form of the expressions that call them.
pub fn compile_with(mut rules: Rules, engine: rhai::Engine, sources: Sources, defs: &ScriptDefs) -> CompiledPolicy {
    lower_all(&mut rules, defs);
    rules.incentives.sort_by_key(|x| std::cmp::Reverse(x.priority));
    rules.plans.sort_by_key(|x| std::cmp::Reverse(x.priority));
    rules.limits.sort_by_key(|x| std::cmp::Reverse(x.priority));
    let mut h = blake3::Hasher::new();
    for f in &sources.files {
        h.update(f.path.to_string_lossy().as_bytes());
        h.update(&[0]);
        h.update(f.text.as_bytes());
        h.update(&[0]);
    }
    let hash = h.finalize().to_hex().to_string();
    let steps_of = |each: bool| -> Vec<&String> {
        rules
            .ladders
            .iter()
            .filter(|l| l.grouping == Grouping::Invoice && (l.advance == Advance::EachInvoice) == each)
            .flat_map(|l| l.steps.iter().map(|s| &s.id))
            .collect()
    };
    let (per_invoice_steps, merged_steps) = (steps_of(false), steps_of(true));
    // The rows of a per-invoice (merged) step's old ids are one message per invoice (merged) too.
    let renamed = |of: &[&String]| -> Vec<String> {
        rules.replaces.iter().filter(|(id, _)| of.contains(&id)).map(|(_, old)| old.clone()).collect()
    };
    let per_invoice = PerInvoiceRules::new(
        per_invoice_steps.iter().map(|s| s.as_str()).chain(renamed(&per_invoice_steps).iter().map(String::as_str)),
    );
    let per_invoice = if merged_steps.is_empty() {
        per_invoice
    } else {
        per_invoice.with_merged(
            merged_steps.iter().map(|s| s.as_str()).chain(renamed(&merged_steps).iter().map(String::as_str)),
        )
    };
    let ids = RuleIds::of(&rules);
    CompiledPolicy { rules, engine, sources, hash, per_invoice, ids, messages: Default::default() }
}

/// No rule of the policy has this id (see [`RuleIds::code`]).
pub const NO_RULE: u32 = u32::MAX;

/// The ids of a policy's rules and steps as small numbers, so that the engine
/// matches an action history (actions.csv's `rule_id`) to them once per
/// evaluation instead of comparing text for every rule. One id, one number:
/// steps of different ladders that share an id share its number, as they
/// share the id in actions.csv.
#[derive(Debug, Clone, Default)]
pub struct RuleIds {
    /// Every id with its [`key`] and number, by length (shortest first):
    /// looking an id up compares it with the few ids of its length only.
    table: Vec<(Box<str>, (u64, u64), u32)>,
    /// For each length, the range of `table` holding the ids of that length.
    by_len: Vec<(u32, u32)>,
    /// By [`RuleId`] symbol, the number of the id ([`NO_RULE`] for symbols
    /// of no id of the policy; symbols past the end are none of its ids).
    by_sym: Vec<u32>,
    /// Per ladder ([`Rules::ladders`]), the number of each step.
    pub steps: Vec<Vec<u32>>,
    /// The numbers of [`Rules::incentives`], [`Rules::plans`], [`Rules::limits`]
    /// and [`Rules::reviews`], in their order.
    pub incentives: Vec<u32>,
    pub plans: Vec<u32>,
    pub limits: Vec<u32>,
    pub reviews: Vec<u32>,
}

impl RuleIds {
    /// Number the ids of `rules` (in the order they are met).
    pub fn of(rules: &Rules) -> Self {
        let mut table: Vec<(Box<str>, (u64, u64), u32)> = Vec::new();
        let mut add = |id: &str| -> u32 {
            if let Some((_, _, c)) = table.iter().find(|(s, _, _)| **s == *id) {
                return *c;
            }
            let next = u32::try_from(table.len()).unwrap_or(NO_RULE - 1);
            table.push((id.into(), key(id.as_bytes()), next));
            next
        };
        let steps: Vec<Vec<u32>> = rules.ladders.iter().map(|l| l.steps.iter().map(|s| add(&s.id)).collect()).collect();
        let incentives = rules.incentives.iter().map(|x| add(&x.id)).collect();
        let plans = rules.plans.iter().map(|x| add(&x.id)).collect();
        let limits = rules.limits.iter().map(|x| add(&x.id)).collect();
        let reviews = rules.reviews.iter().map(|x| add(&x.id)).collect();
        // A renamed rule's old ids share its number (validation keeps them off every rule).
        let renamed: Vec<(u32, &String)> = rules.replaces.iter().map(|(id, old)| (add(id), old)).collect();
        for (n, old) in renamed {
            if !table.iter().any(|(s, _, _)| **s == **old) {
                table.push((old.as_str().into(), key(old.as_bytes()), n));
            }
        }
        RuleIds { steps, incentives, plans, limits, reviews, ..Self::indexed(table) }
    }

    /// Ids `table` (id, key, number) indexed by length, no rule yet.
    fn indexed(mut table: Vec<(Box<str>, (u64, u64), u32)>) -> Self {
        table.sort_by_key(|(s, _, c)| (s.len(), *c));
        let longest = table.last().map_or(0, |(s, _, _)| s.len());
        let by_len = (0..=longest)
            .map(|n| {
                let from = table.partition_point(|(s, _, _)| s.len() < n);
                let to = table.partition_point(|(s, _, _)| s.len() <= n);
                (u32::try_from(from).unwrap_or(0), u32::try_from(to).unwrap_or(0))
            })
            .collect();
        let syms: Vec<(u32, u32)> = table.iter().map(|(s, _, c)| (RuleId::new(s).sym(), *c)).collect();
        let mut by_sym = vec![NO_RULE; syms.iter().map(|&(s, _)| s as usize + 1).max().unwrap_or(0)];
        for (s, c) in syms {
            if let Some(slot) = by_sym.get_mut(s as usize) {
                *slot = c;
            }
        }
        RuleIds { table, by_len, by_sym, ..RuleIds::default() }
    }

    /// The number of rule id `id`, [`NO_RULE`] if no rule has it: as
    /// [`RuleIds::code`] of its text, found by its symbol.
    #[inline]
    pub fn number(&self, id: &RuleId) -> u32 {
        if !id.is_numbered() {
            return self.code(id);
        }
        self.by_sym.get(id.sym() as usize).copied().unwrap_or(NO_RULE)
    }

    /// [`RuleIds::number`] of an id by its symbol alone ([`RuleId::sym`]);
    /// `None` for [`RuleId::UNNUMBERED`]: number such an id by its text.
    #[inline]
    pub fn number_sym(&self, sym: u32) -> Option<u32> {
        (sym != RuleId::UNNUMBERED).then(|| self.by_sym.get(sym as usize).copied().unwrap_or(NO_RULE))
    }

    /// [`RuleIds::number`] of the rule id of compact action row `a`
    /// ([`crate::ledger::Act`]): by its symbol, or by the text of its full row
    /// in `actions` when the process has too many rule ids to number them all.
    #[inline]
    pub fn number_act(&self, a: &crate::ledger::Act, actions: &[crate::ledger::ActionRecord]) -> u32 {
        match self.number_sym(a.sym) {
            Some(n) => n,
            None => a.record(actions).map_or(NO_RULE, |r| self.number(&r.rule_id)),
        }
    }

    /// The number of rule id `id`, [`NO_RULE`] if no rule has it.
    pub fn code(&self, id: &str) -> u32 {
        let b = id.as_bytes();
        let Some(&(from, to)) = self.by_len.get(b.len()) else { return NO_RULE };
        let ids = self.table.get(from as usize..to as usize).unwrap_or_default();
        let k = key(b);
        // The key is the whole id up to 16 bytes; longer ids are compared in full.
        ids.iter().find(|(s, sk, _)| *sk == k && (b.len() <= 16 || s.as_bytes() == b)).map_or(NO_RULE, |(_, _, c)| *c)
    }
}

/// An id's first and last 8 bytes (4 bytes each for an id of 4 to 7 bytes,
/// its bytes for a shorter one): with its length, the whole of an id of up to
/// 16 bytes, compared as two numbers.
fn key(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    if n >= 8 {
        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        x.copy_from_slice(&b[..8]);
        y.copy_from_slice(&b[n - 8..]);
        (u64::from_le_bytes(x), u64::from_le_bytes(y))
    } else if n >= 4 {
        let (mut x, mut y) = ([0u8; 4], [0u8; 4]);
        x.copy_from_slice(&b[..4]);
        y.copy_from_slice(&b[n - 4..]);
        (u64::from(u32::from_le_bytes(x)), u64::from(u32::from_le_bytes(y)))
    } else {
        (b.iter().fold(0u64, |k, &c| (k << 8) | u64::from(c)), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_numbered_by_whole_id() {
        let ids = [
            "call",
            "legal",
            "pre-due",
            "first-no",
            "first-notice",
            "final-notice",
            "second-notice-by-letter",
            "second-notice-by-litter",
            "third-notice-by-letter",
        ];
        let r = RuleIds::indexed(
            ids.iter().enumerate().map(|(i, s)| (Box::from(*s), key(s.as_bytes()), i as u32)).collect(),
        );
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(r.code(id), i as u32, "{id}");
            assert_eq!(r.number(&RuleId::new(id)), i as u32, "{id}");
        }
        for other in ["", "cal", "calls", "Call", "first-notics", "second-notice-by-lettex", "xsecond-notice-by-letter"]
        {
            assert_eq!(r.code(other), NO_RULE, "{other}");
            assert_eq!(r.number(&RuleId::new(other)), NO_RULE, "{other}");
        }
    }

    #[test]
    fn erpnext_interest() {
        let i = Interest {
            regime: Regime::Simple,
            rate_pct: Decimal::from(10),
            days_in_year: 365,
            compensation: None,
            exact: None,
        };
        assert_eq!(i.accrued(Decimal::from(100), 15), Decimal::new(41, 2));
    }

    #[test]
    fn uk_compensation_tiers() {
        let i = Interest {
            regime: Regime::UkLatePayment,
            rate_pct: Decimal::new(1175, 2),
            days_in_year: 365,
            compensation: None,
            exact: None,
        };
        assert_eq!(i.compensation(Decimal::new(99999, 2)), Decimal::from(40));
        assert_eq!(i.compensation(Decimal::from(1000)), Decimal::from(70));
        assert_eq!(i.compensation(Decimal::from(9999)), Decimal::from(70));
        assert_eq!(i.compensation(Decimal::from(10000)), Decimal::from(100));
    }
}
