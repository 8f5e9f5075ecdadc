//! The policy file as written: serde structs mirroring the TOML, every value
//! with its span. Nothing here knows what a value means; [`super::validate`]
//! does. The same types generate the JSON Schema ([`super::schema`]).
//!
//! Parsing collects every structural problem in one pass: TOML syntax errors
//! are recovered by the parser; a key that does not deserialize (unknown key,
//! wrong type, unknown word) is reported, removed, and the document is tried
//! again, so one bad key never hides the next.

use super::diag::{Code, Diagnostic, FileId, did_you_mean};
use rust_decimal::Decimal;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::str::FromStr;
use toml::de::{DeTable, DeValue};

/// A value with the byte range it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub span: Range<usize>,
    pub value: T,
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = toml::Spanned::<T>::deserialize(d)?;
        let span = s.span();
        Ok(Sp { span, value: s.into_inner() })
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

fn schema_of(v: serde_json::Value) -> Schema {
    Schema::try_from(v).unwrap_or_else(|_| Schema::from(true))
}

/// An exact decimal number (money, percentages): `"25.00"`, `25`, or `2.5`.
/// Strings are exact; TOML floats are read by their written digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Num(pub Decimal);

fn parse_num(s: &str) -> Option<Decimal> {
    let t: String = s.trim().chars().filter(|&c| c != '_').collect();
    Decimal::from_str(&t).ok()
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number such as \"25.00\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Decimal::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Num, E> {
                parse_num(&v.to_string()).map(Num).ok_or_else(|| E::custom(format!("`{v}` is not a usable number")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Num, E> {
                parse_num(v)
                    .map(Num)
                    .ok_or_else(|| E::custom(format!("`{v}` is not a number: write it like \"25.00\"")))
            }
        }
        d.deserialize_any(V)
    }
}

impl serde::Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl JsonSchema for Num {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Number".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schema_of(serde_json::json!({
            "description": "an exact decimal number: a string such as \"25.00\" (preferred for money) or a TOML number",
            "anyOf": [
                { "type": "string", "pattern": "^-?[0-9_]+(\\.[0-9]+)?$" },
                { "type": "number" }
            ]
        }))
    }
}

/// A policy amount: one amount in the policy's currency (`"25.00"`), or one
/// per currency (`{ USD = "25.00", EUR = "25.00", GBP = "20.00" }`), applied
/// to each customer in its own currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyValue {
    One(Decimal),
    PerCurrency(BTreeMap<String, Decimal>),
}

impl<'de> Deserialize<'de> for MoneyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = MoneyValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "an amount such as \"25.00\", or one per currency such as { USD = \"25.00\", GBP = \"20.00\" }",
                )
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<MoneyValue, E> {
                Ok(MoneyValue::One(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<MoneyValue, E> {
                Ok(MoneyValue::One(Decimal::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<MoneyValue, E> {
                parse_num(&v.to_string())
                    .map(MoneyValue::One)
                    .ok_or_else(|| E::custom(format!("`{v}` is not a usable number")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MoneyValue, E> {
                parse_num(v)
                    .map(MoneyValue::One)
                    .ok_or_else(|| E::custom(format!("`{v}` is not an amount: write it like \"25.00\"")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<MoneyValue, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((code, Num(amount))) = m.next_entry::<String, Num>()? {
                    out.insert(code, amount);
                }
                Ok(MoneyValue::PerCurrency(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for MoneyValue {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Money".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let num = serde_json::json!({
            "anyOf": [
                { "type": "string", "pattern": "^-?[0-9_]+(\\.[0-9]+)?$" },
                { "type": "number" }
            ]
        });
        schema_of(serde_json::json!({
            "description": "an amount in the policy's currency (\"25.00\"), or one per currency by ISO code ({ USD = \"25.00\", GBP = \"20.00\" })",
            "anyOf": [
                num.clone(),
                { "type": "object", "propertyNames": { "pattern": "^[A-Z]{3}$" }, "additionalProperties": num }
            ]
        }))
    }
}

/// A unit cost: an amount (`"4.50"`, in the policy's currency), one per
/// currency (`{ USD = "4.50", GBP = "3.90" }`), or a share of the amount
/// concerned (`"25%"`, in the customer's currency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostValue {
    Amount(Decimal),
    Percent(Decimal),
    PerCurrency(BTreeMap<String, Decimal>),
}

impl<'de> Deserialize<'de> for CostValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CostValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an amount such as \"4.50\", one per currency such as { USD = \"4.50\" }, or a share such as \"25%\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<CostValue, E> {
                Ok(CostValue::Amount(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<CostValue, E> {
                Ok(CostValue::Amount(Decimal::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<CostValue, E> {
                parse_num(&v.to_string())
                    .map(CostValue::Amount)
                    .ok_or_else(|| E::custom(format!("`{v}` is not a usable number")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CostValue, E> {
                let bad = || E::custom(format!("`{v}` is not a cost: write \"4.50\" or \"25%\""));
                match v.trim().strip_suffix('%') {
                    Some(p) => parse_num(p).map(CostValue::Percent).ok_or_else(bad),
                    None => parse_num(v).map(CostValue::Amount).ok_or_else(bad),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<CostValue, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((code, Num(amount))) = m.next_entry::<String, Num>()? {
                    out.insert(code, amount);
                }
                Ok(CostValue::PerCurrency(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for CostValue {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Cost".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schema_of(serde_json::json!({
            "description": "an amount per action in the policy's currency (\"4.50\"), one per currency ({ USD = \"4.50\", GBP = \"3.90\" }), or a share of the amount concerned (\"25%\")",
            "anyOf": [
                { "type": "string", "pattern": "^[0-9_]+(\\.[0-9]+)?%?$" },
                { "type": "number" },
                {
                    "type": "object",
                    "propertyNames": { "pattern": "^[A-Z]{3}$" },
                    "additionalProperties": {
                        "anyOf": [{ "type": "string", "pattern": "^[0-9_]+(\\.[0-9]+)?$" }, { "type": "number" }]
                    }
                }
            ]
        }))
    }
}

/// A date: a TOML local date (`2026-11-01`) or a string (`"2026-11-01"`).
#[derive(Debug, Clone, PartialEq)]
pub struct DateValue(pub Option<chrono::NaiveDate>, pub String);

impl<'de> Deserialize<'de> for DateValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Date(toml::value::Datetime),
            Text(String),
        }
        let text = match Either::deserialize(d)? {
            Either::Date(dt) => dt.to_string(),
            Either::Text(s) => s,
        };
        let date = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
        Ok(DateValue(date, text))
    }
}

impl JsonSchema for DateValue {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schema_of(serde_json::json!({ "type": "string", "format": "date", "description": "a date, YYYY-MM-DD" }))
    }
}

/// How far a customer moves up the ladder in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// One step per run, and only after the previous step was executed (Tryton, OCA credit control).
    Sequential,
    /// Straight to the step the age implies (Kill Bill).
    Jump,
}

/// Which date a step's `days` are counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeFrom {
    DueDate,
    InvoiceDate,
}

/// One action per customer listing its invoices, or one action per invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    Customer,
    Invoice,
}

/// How far the invoices of one customer move up the ladder in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Advance {
    /// At most one step per customer per run (the default).
    Customer,
    /// Every invoice moves to its own next step in the same run (Tryton), the invoices of one
    /// channel sent together as one message; needs `grouping = "invoice"`.
    EachInvoice,
}

/// `repeat` of a ladder step: sent again every `every` days after it last ran, until paid.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRepeat {
    /// Days between sends: `"7d"`, `"2w"` or a whole number of days.
    pub every: Option<Sp<RawDays>>,
    /// The most repeats after the first send (none: until paid or a later step).
    pub max: Option<Sp<u32>>,
}

/// A number of days, written `"7d"`, `"2w"` or `7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDays(pub Option<u32>, pub String);

impl<'de> Deserialize<'de> for RawDays {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Int(i64),
            Text(String),
        }
        Ok(match Either::deserialize(d)? {
            Either::Int(n) => RawDays(u32::try_from(n).ok(), n.to_string()),
            Either::Text(t) => {
                let w = t.trim();
                let (num, mul) = match w.as_bytes().last() {
                    Some(b'd') => (&w[..w.len() - 1], 1),
                    Some(b'w') => (&w[..w.len() - 1], 7),
                    _ => (w, 1),
                };
                RawDays(num.trim().parse::<u32>().ok().and_then(|n| n.checked_mul(mul)), t)
            }
        })
    }
}

impl JsonSchema for RawDays {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Days".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schema_of(serde_json::json!({
            "description": "a number of days: \"7d\", \"2w\" or a whole number",
            "anyOf": [
                { "type": "string", "pattern": "^[0-9]+[dw]?$" },
                { "type": "integer", "minimum": 1 }
            ]
        }))
    }
}

/// Which invoice's age moves the customer up the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The oldest eligible invoice decides the step (Upflow, Chaser).
    Oldest,
    /// Every invoice has its own position; the highest step due wins.
    Each,
}

/// What to do with a customer whose rule fails at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Skip the customer (no actions), report it, and go on.
    Skip,
    /// Fail the whole run.
    Fail,
}

/// What a ladder step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    Email,
    Sms,
    Call,
    Letter,
    Statement,
    CreditHold,
    ReferAgency,
    ReferLegal,
    WriteOffReview,
    NotifyOwner,
}

/// How a limit rule changes the credit line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitChange {
    /// Increase by `by_pct` or `by_amount`, up to `cap`.
    Raise,
    /// Decrease by `by_pct` or `by_amount`, down to `floor`.
    Lower,
    /// Set to `to`.
    Set,
    /// Set to the current exposure: no new credit, no hold.
    Freeze,
    /// Place a credit hold.
    Hold,
    /// Release a credit hold.
    Release,
}

/// A statutory or contractual late-payment interest regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// `rate_pct` a year, simple, per day (ERPNext): open × rate / 365 × days.
    Simple,
    /// EU Directive 2011/7/EU: reference rate + 8 points; EUR 40 per late invoice.
    #[serde(rename = "eu_2011_7")]
    Eu2011_7,
    /// UK Late Payment Act 1998: base rate + 8 %; GBP 40 / 70 / 100 by debt size.
    UkLatePayment,
}

/// Which open invoices an incentive covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceSet {
    /// Not yet due.
    Current,
    /// Past due.
    Overdue,
    /// All open invoices.
    Open,
}

/// Risk class of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawRiskClass {
    Low,
    Medium,
    High,
}

/// How often a periodic review is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Monthly,
    Quarterly,
    Yearly,
}

/// A channel for offers and statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawChannel {
    Email,
    Sms,
    Call,
    Letter,
}

/// A policy file (`policy.toml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "recoup policy", description = "A credit and collections policy for recoup. See docs/policy.md.")]
pub struct RawPolicy {
    /// Name, version and the options that apply to the whole policy.
    pub policy: Option<Sp<RawMeta>>,
    /// Rules that always win: contact caps, do-not-contact, disputes, promises, Regulation F.
    pub guardrails: Option<Sp<RawGuardrails>>,
    /// Unit cost of each kind of action, for cost-to-collect figures.
    pub costs: Option<Sp<RawCosts>>,
    /// Late-payment interest and fixed compensation.
    pub interest: Option<Sp<RawInterest>>,
    /// The worklist score of a customer.
    pub priority: Option<Sp<RawPriority>>,
    /// Which customers get which ladder; the first that matches wins.
    #[serde(default)]
    pub strategy: Vec<Sp<RawStrategy>>,
    /// Escalation ladders (dunning steps).
    #[serde(default)]
    pub ladder: Vec<Sp<RawLadder>>,
    /// Early-payment discounts and campaigns.
    #[serde(default)]
    pub incentive: Vec<Sp<RawIncentive>>,
    /// Instalment plan offers.
    #[serde(default)]
    pub payment_plan: Vec<Sp<RawPaymentPlan>>,
    /// Credit limit changes, holds and releases.
    #[serde(default)]
    pub limit: Vec<Sp<RawLimit>>,
    /// Periodic credit reviews.
    #[serde(default)]
    pub review: Vec<Sp<RawReview>>,
    /// Champion/challenger: a stable share of customers follows another strategy.
    pub challenger: Option<Sp<RawChallenger>>,
    /// A reporting currency and exchange rates: totals across currencies, labelled as converted.
    pub reporting: Option<Sp<RawReporting>>,
    /// Settings of the facts and portfolio KPIs: aging buckets, windows, DSO and CEI periods.
    pub kpis: Option<Sp<RawKpis>>,
    /// Named amounts that expressions read as `amounts.<name>`: one in the policy's currency
    /// (`"5000.00"`) or one per currency (`{ USD = "5500.00", EUR = "5000.00" }`), resolved in
    /// each customer's currency.
    pub amounts: Option<Sp<BTreeMap<String, Sp<MoneyValue>>>>,
    /// Who messages come from: company, address, contact and payment details (docs/outbox.md).
    pub sender: Option<Sp<RawSender>>,
    /// Action kinds of the policy's own (`[kinds.suspend_service]`): ladder steps name them in
    /// `action`; each is a task on the worklist, a message on a channel, or neither.
    pub kinds: Option<Sp<BTreeMap<String, Sp<RawKind>>>>,
    /// Who else hears of the plan's actions: `sales_rep` lists the kinds of action the customer's
    /// sales representative is told of, in one message per customer.
    pub notify: Option<Sp<RawNotify>>,
    /// Sales representatives' e-mail addresses, by the name customers.csv's `sales_rep` gives
    /// (a `sales_rep` that is itself an address needs no entry).
    pub sales_reps: Option<Sp<BTreeMap<String, Sp<String>>>>,
}

/// `[kinds.<name>]`: an action kind of the policy's own.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKind {
    /// How the worklist, the summary and the report name it (default: its name).
    pub label: Option<Sp<String>>,
    /// A task a person carries out: it goes on the worklist (owner: the step's or the account's).
    pub task: Option<Sp<bool>>,
    /// A message to the customer on this channel, rendered from `template` into the outbox.
    pub channel: Option<Sp<RawChannel>>,
    /// The message template of a kind with a channel (a step's own `template` wins).
    pub template: Option<Sp<String>>,
    /// Stays in force once done, like a credit hold: under `jump` pace with `standing_effects`,
    /// a customer that skips the step still gets it.
    pub standing: Option<Sp<bool>>,
    /// What the kind is for, in words (shown nowhere but here).
    pub description: Option<Sp<String>>,
}

/// `[notify]`: who else is told of the plan's actions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// Kinds of action (built-in or declared) the customer's sales representative is told of,
    /// e.g. `["credit_hold", "limit_change", "refer_agency", "refer_legal"]`.
    pub sales_rep: Option<Sp<Vec<Sp<String>>>>,
    /// The rule id of the notifications (default `notify-sales-rep`).
    pub id: Option<Sp<String>>,
}

/// A ladder step's `action`: a built-in step action ([`StepAction`]) or the name of a kind the
/// policy declares; resolved by `validate`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct RawAction(pub String);

impl JsonSchema for RawAction {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Action".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let built_in = serde_json::to_value(g.subschema_for::<StepAction>()).unwrap_or_default();
        schema_of(serde_json::json!({
            "description": "what the step does: a built-in action, or a kind declared under [kinds]",
            "anyOf": [
                built_in,
                { "type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "a kind declared under [kinds]" }
            ]
        }))
    }
}

impl StepAction {
    /// Every step action and its word.
    pub const ALL: [(&'static str, StepAction); 10] = [
        ("email", StepAction::Email),
        ("sms", StepAction::Sms),
        ("call", StepAction::Call),
        ("letter", StepAction::Letter),
        ("statement", StepAction::Statement),
        ("credit_hold", StepAction::CreditHold),
        ("refer_agency", StepAction::ReferAgency),
        ("refer_legal", StepAction::ReferLegal),
        ("write_off_review", StepAction::WriteOffReview),
        ("notify_owner", StepAction::NotifyOwner),
    ];

    /// The step action `word` names.
    pub fn of(word: &str) -> Option<StepAction> {
        Self::ALL.iter().find(|(w, _)| *w == word).map(|x| x.1)
    }
}

/// `[kpis]`: the settings of the facts rules read and of the portfolio KPIs
/// (docs/facts.md, "Settings"). Every key is optional; the defaults are
/// recoup's usual values.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKpis {
    /// Upper edges (days past due) of the overdue aging buckets, increasing; the last bucket is
    /// open-ended. Default [30, 60, 90]: current, 1-30, 31-60, 61-90, 91+.
    pub bucket_edges: Option<Sp<Vec<Sp<i64>>>>,
    /// Days after a promise's due date before an unpaid promise counts as broken (default 0).
    pub promise_grace_days: Option<Sp<i64>>,
    /// Months of settled invoices that payment behaviour is measured over (default 12).
    pub behaviour_months: Option<Sp<i64>>,
    /// Recent months of that window compared with the rest for `trend` (default 3).
    pub trend_recent_months: Option<Sp<i64>>,
    /// Days of credit sales for the standard DSO and best possible DSO (default 90).
    pub dso_days: Option<Sp<i64>>,
    /// Months the countback DSO looks back at most (default 12).
    pub countback_months: Option<Sp<i64>>,
    /// Months of the collection effectiveness index period (default 3).
    pub cei_months: Option<Sp<i64>>,
}

/// `[sender]`: the company the customer's messages come from.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSender {
    /// Company name, as it signs messages and heads letters.
    pub company: Option<String>,
    /// Postal address lines of the sender (a letter's return address).
    pub address: Option<Vec<String>>,
    /// The From address of e-mails.
    pub email: Option<String>,
    /// Phone number customers can call.
    pub phone: Option<String>,
    /// Bank details for a transfer (free text: IBAN, BIC, account).
    pub bank: Option<String>,
    /// A payment link, itself a template: `https://pay.example.com/{{ reference }}`.
    pub payment_link: Option<String>,
    /// The language of a customer without one, and of the templates at the top of the templates folder (default `en`).
    pub language: Option<String>,
}

/// `[reporting]`: the exchange rates the user gives, so that outputs can add
/// a total across currencies, labelled as converted at these rates.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReporting {
    /// The currency of converted totals (ISO code), e.g. "EUR".
    pub currency: Option<Sp<String>>,
    /// What one unit of each other currency is worth in the reporting currency,
    /// e.g. { USD = "0.86", GBP = "1.14" }.
    pub rates: Option<Sp<BTreeMap<String, Sp<Num>>>>,
    /// The date the rates are of (printed with every converted total).
    pub rates_date: Option<Sp<DateValue>>,
}

/// `[challenger]`: a stable share of customers (by a hash of the salt and the customer id)
/// follows a challenger strategy instead of the one the strategy rules choose.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChallenger {
    /// The id of the strategy the challenger arm follows (a `[[strategy]]` of this policy).
    pub strategy: Option<Sp<String>>,
    /// The share of eligible customers in the challenger arm, between 0 and 1 (exclusive), e.g. 0.10.
    pub share: Option<Sp<f64>>,
    /// Any text; changing it draws a new challenger arm, e.g. "2026q4".
    pub salt: Option<Sp<String>>,
    /// Only customers the strategy rules put on this strategy are eligible (default: every customer).
    pub only_strategy: Option<Sp<String>>,
}

/// `[policy]`: what the policy is and how its ladders move.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    /// Short name, e.g. "standard".
    pub name: Option<Sp<String>>,
    /// Version of this policy, e.g. "2026.11".
    pub version: Option<Sp<String>>,
    /// Currency of the amounts written in this policy (fees, minimums), e.g. "USD".
    pub currency: Option<Sp<String>>,
    /// What the policy is for.
    pub description: Option<Sp<String>>,
    /// The date from which the policy applies.
    pub effective: Option<Sp<DateValue>>,
    /// `sequential` (default) or `jump`.
    pub pace: Option<Sp<Pace>>,
    /// What `days` of a step count from: `due_date` (default) or `invoice_date`.
    pub age_from: Option<Sp<AgeFrom>>,
    /// `net` (default): the ladder, referrals, holds, limits and `min_overdue` act on the open
    /// invoices less the customer's unapplied cash and open credit notes; `gross`: on the open
    /// invoices alone.
    pub balance: Option<Sp<crate::facts::Balance>>,
    /// `customer` (default): one action listing the invoices; `invoice`: one action per invoice.
    pub grouping: Option<Sp<Grouping>>,
    /// `oldest` (default): the oldest eligible invoice moves the customer; `each`: every invoice on its own.
    pub trigger: Option<Sp<Trigger>>,
    /// `customer` (default): at most one step per customer per run; `each_invoice`: every invoice
    /// to its own next step in one run, one message per channel (needs `grouping = "invoice"`).
    pub advance: Option<Sp<Advance>>,
    /// Under `jump` pace, also place the standing effects (a credit hold) of the steps a customer
    /// skipped (Kill Bill's overdue states); default false.
    pub standing_effects: Option<Sp<bool>>,
    /// A rule failing at run time: `skip` the customer and report it (default), or `fail` the run.
    pub on_script_error: Option<Sp<OnError>>,
    /// With `on_script_error = "skip"`: the largest share of customers (0 to 1, default 0.01) that
    /// may fail a rule; past it the run fails and writes nothing.
    pub max_failed_share: Option<Sp<f64>>,
    /// Folder of message templates, relative to the policy folder (default "templates"); when it
    /// exists, every template a rule names must be a file in it.
    pub templates: Option<Sp<String>>,
}

/// `[guardrails]`: applied last to every action; they always win.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuardrails {
    /// At most this many executed contacts (email, sms, call, letter, statement, offers) per customer in 7 days.
    pub max_contacts_per_7_days: Option<Sp<u32>>,
    /// Never contact customers flagged do-not-contact (default true).
    pub do_not_contact: Option<Sp<bool>>,
    /// Leave disputed invoices out of dunning (default true).
    pub skip_disputed: Option<Sp<bool>>,
    /// An active promise to pay or payment plan pauses escalation until it breaks (default true).
    pub promise_pauses: Option<Sp<bool>>,
    /// No dunning (after the due date) while the customer's overdue amount is below this.
    pub min_overdue: Option<Sp<MoneyValue>>,
    /// Contact customers only Monday to Friday (default false).
    pub business_days_only: Option<Sp<bool>>,
    /// For consumer accounts, the US Regulation F presumption: at most 7 calls in 7 days and none
    /// within 7 days after a conversation (default true).
    pub regulation_f: Option<Sp<bool>>,
    /// With `business_days_only`: the public holidays of the customer's country (customers.csv
    /// `country`) are not business days either (default false).
    pub public_holidays: Option<Sp<bool>>,
    /// With `business_days_only`: a CSV file in the policy folder of company closures
    /// (`date,country,name`; an empty country closes for every customer).
    pub holidays: Option<Sp<String>>,
}

/// `[costs]`: the unit cost of each kind of action, by the kind's name: a
/// built-in kind ([`RawCosts::built_in`]) or one the policy declares under
/// `[kinds]` (`suspend_service = "12.00"`). Which names are kinds is
/// [`super::validate`]'s to say (it knows the declared ones); here each key
/// keeps its span for the caret.
#[derive(Debug, Clone, Default)]
pub struct RawCosts {
    /// Each key and its cost (in the order the TOML table gives them).
    pub by_kind: Vec<(Sp<String>, Sp<CostValue>)>,
}

impl RawCosts {
    /// The built-in kinds that take a unit cost: every built-in kind
    /// ([`ActionKind::WORDS`](crate::ledger::ActionKind::WORDS)) but fees and
    /// interest (charged to the customer) and `notify` (recoup's own note).
    pub fn built_in() -> impl Iterator<Item = &'static str> {
        crate::ledger::ActionKind::WORDS.iter().copied().filter(|w| !matches!(*w, "fee" | "interest" | "notify"))
    }

    /// The cost given for the kind named `name`.
    pub fn get(&self, name: &str) -> Option<&Sp<CostValue>> {
        self.by_kind.iter().find(|(k, _)| k.value == name).map(|(_, v)| v)
    }
}

impl<'de> Deserialize<'de> for RawCosts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawCosts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table of unit costs by action kind, such as { email = \"0.05\", call = \"4.50\" }")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<RawCosts, A::Error> {
                let mut by_kind = Vec::new();
                while let Some(entry) = m.next_entry::<Sp<String>, Sp<CostValue>>()? {
                    by_kind.push(entry);
                }
                Ok(RawCosts { by_kind })
            }
        }
        d.deserialize_map(V)
    }
}

impl JsonSchema for RawCosts {
    fn schema_name() -> Cow<'static, str> {
        "RawCosts".into()
    }
    /// The built-in kinds as properties (for editors' completion), and any
    /// other kind name: a kind the policy declares (`check` says whether it does).
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let cost = serde_json::to_value(g.subschema_for::<CostValue>()).unwrap_or_default();
        let props: serde_json::Map<String, serde_json::Value> =
            Self::built_in().map(|k| (k.to_string(), cost.clone())).collect();
        schema_of(serde_json::json!({
            "description": "`[costs]`: the unit cost of each kind of action, built in or declared under [kinds]",
            "type": "object",
            "properties": props,
            "propertyNames": { "pattern": "^[a-z][a-z0-9_]*$" },
            "additionalProperties": cost
        }))
    }
}

/// `[interest]`: late-payment interest, stated on steps with `interest = true`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInterest {
    /// `simple` (default), `eu_2011_7` or `uk_late_payment`.
    pub regime: Option<Sp<Regime>>,
    /// Yearly rate in percent for `simple`, e.g. "10".
    pub rate_pct: Option<Sp<Num>>,
    /// Reference (ECB) or base (Bank of England) rate in percent, for the statutory regimes.
    pub reference_rate_pct: Option<Sp<Num>>,
    /// Points added to the reference rate (default 8 for the statutory regimes).
    pub margin_pct: Option<Sp<Num>>,
    /// Days in the interest year (default 365).
    pub days_in_year: Option<Sp<u32>>,
    /// Fixed compensation per late invoice; the regime's amount by default (EUR 40; GBP 40/70/100).
    pub compensation: Option<Sp<Num>>,
    /// The statutory regimes' dated reference rates, `{ "2025-12-18" = "3.75", ... }`: each in
    /// force from its date. With it, interest is computed as the law does (day by day on the
    /// balance outstanding, the rate fixed per half-year; docs/policy.md).
    pub reference_rates: Option<Sp<BTreeMap<String, Sp<Num>>>>,
}

/// `[priority]`: the worklist score of a customer (higher first).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPriority {
    /// A rhai expression over `customer.*` and `as_of.*`, or a script function such as
    /// "risk::score" (called with `customer`).
    pub score: Option<Sp<String>>,
    /// Weights of numeric customer facts, summed: `{ overdue_total = 0.001, max_days_past_due = 1 }`.
    pub weights: Option<Sp<BTreeMap<String, Sp<Num>>>>,
}

/// `[[strategy]]`: which customers get which ladder. The first match wins.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStrategy {
    /// Unique id.
    pub id: Option<Sp<String>>,
    /// What the rule is for, in words (shown nowhere but here).
    pub description: Option<Sp<String>>,
    /// A rhai condition over `customer.*` and `as_of.*`; absent = every customer.
    pub when: Option<Sp<String>>,
    /// The ladder these customers follow; absent = no dunning.
    pub ladder: Option<Sp<String>>,
    /// Account owner assigned to their actions instead of the customer's own.
    pub owner: Option<Sp<String>>,
    /// Overrides the policy's pace for these customers.
    pub pace: Option<Sp<Pace>>,
}

/// `[[ladder]]`: an escalation ladder.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLadder {
    /// Unique id, named by strategies.
    pub id: Option<Sp<String>>,
    /// What the rule is for, in words (shown nowhere but here).
    pub description: Option<Sp<String>>,
    /// Overrides the policy's trigger.
    pub trigger: Option<Sp<Trigger>>,
    /// Overrides the policy's grouping.
    pub grouping: Option<Sp<Grouping>>,
    /// Overrides the policy's advance.
    pub advance: Option<Sp<Advance>>,
    /// The steps, in increasing order of age.
    #[serde(default)]
    pub step: Vec<Sp<RawStep>>,
}

/// `[[ladder.step]]`: one rung of a ladder.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// The rule id, as recorded in actions.csv (keep it stable: history is matched by it).
    pub id: Option<Sp<String>>,
    /// Rule ids this rule continues (a renamed rule): history rows of these ids count as its own.
    pub replaces: Option<Sp<Vec<String>>>,
    /// What the rule is for, in words (shown nowhere but here).
    pub description: Option<Sp<String>>,
    /// Fires once an invoice is this many days past its due date.
    pub days_past_due: Option<Sp<i32>>,
    /// Fires this many days before the due date (a proactive reminder; only until the due date).
    pub days_before_due: Option<Sp<i32>>,
    /// Fires this many days after the invoice date.
    pub days_after_issue: Option<Sp<i32>>,
    /// Days counted from the policy's `age_from` (negative = before).
    pub days: Option<Sp<i32>>,
    /// Stop offering this step once the invoice is older than this (days, same count as the trigger).
    pub max_days: Option<Sp<i32>>,
    /// What the step does: a built-in action or a kind the policy declares under `[kinds]`.
    pub action: Option<Sp<RawAction>>,
    /// Channel of a statement (default email); other actions have their own.
    pub channel: Option<Sp<RawChannel>>,
    /// Channels tried in order when the customer has no usable contact for the step's own
    /// (e.g. `["sms", "letter"]`); with none usable the action is planned as undeliverable.
    pub fallback: Option<Sp<Vec<RawChannel>>>,
    /// The message template (required for email, sms, letter and statement).
    pub template: Option<Sp<String>>,
    /// Minimum open amount of the invoices the action lists.
    pub min_overdue: Option<Sp<MoneyValue>>,
    /// Minimum days since the previous executed step on the invoice.
    pub cooldown_days: Option<Sp<u32>>,
    /// Send the step again every `every` days after it last ran, at most `max` more times, until
    /// paid or a later step is due: `{ every = "7d", max = 4 }`.
    pub repeat: Option<Sp<RawRepeat>>,
    /// A rhai condition over `customer.*`, `invoice.*` (the invoice that triggers) and `as_of.*`.
    pub when: Option<Sp<String>>,
    /// In `sequential` pace, pass this step by (instead of waiting) when its condition fails.
    pub optional: Option<Sp<bool>>,
    /// Fixed fee per invoice, charged once per step and invoice.
    pub fee: Option<Sp<MoneyValue>>,
    /// Fee in percent of each invoice's open amount, charged once per step and invoice.
    pub fee_pct: Option<Sp<Num>>,
    /// State the interest accrued under `[interest]`.
    pub interest: Option<Sp<bool>>,
    /// Claim the regime's fixed compensation (once per invoice).
    pub compensation: Option<Sp<bool>>,
    /// This step's own yearly interest rate in percent, simple, on the open amount for the days
    /// past due (ERPNext's dunning types), instead of `[interest]`.
    pub interest_rate_pct: Option<Sp<Num>>,
    /// Owner of the task (calls, referrals) instead of the account owner.
    pub owner: Option<Sp<String>>,
    /// Statements only: one statement per customer group (customers.csv `parent`), addressed to
    /// the group's head and listing each member's items and totals per currency, instead of one
    /// statement per member.
    pub consolidated: Option<Sp<bool>>,
}

/// `[[incentive]]`: an early-payment discount offer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIncentive {
    /// Unique id; recorded in actions.csv as the rule id.
    pub id: Option<Sp<String>>,
    /// Rule ids this rule continues (a renamed rule): history rows of these ids count as its own.
    pub replaces: Option<Sp<Vec<String>>>,
    /// What the rule is for, in words (shown nowhere but here).
    pub description: Option<Sp<String>>,
    /// A rhai condition; may read `invoice.*` (then checked per invoice).
    pub when: Option<Sp<String>>,
    /// Which open invoices: `current` (default), `overdue` or `open`.
    pub invoices: Option<Sp<InvoiceSet>>,
    /// Discount in percent of the open amount.
    pub discount_pct: Option<Sp<Num>>,
    /// The offer holds if paid within this many days.
    pub pay_within_days: Option<Sp<u32>>,
    /// Cap on the discount of one offer.
    pub max_discount: Option<Sp<MoneyValue>>,
    /// Leave out invoices with a smaller open amount.
    pub min_invoice_amount: Option<Sp<MoneyValue>>,
    /// Offered only in these quarters (1-4), e.g. `[4]` for a year-end campaign.
    pub quarters: Option<Sp<Vec<u32>>>,
    /// The channel: email (default), sms, call or letter.
    pub channel: Option<Sp<RawChannel>>,
    /// Channels tried in order when the customer cannot be reached on `channel` (no address, a bounced email).
    pub fallback: Option<Sp<Vec<RawChannel>>>,
    /// The message template.
    pub template: Option<Sp<String>>,
    /// Higher wins when several incentives match (default 0; then file order).
    pub priority: Option<Sp<i32>>,
}

/// `[[payment_plan]]`: an instalment plan offer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPaymentPlan {
    /// Unique id; recorded in actions.csv as the rule id.
    pub id: Option<Sp<String>>,
    /// Rule ids this rule continues (a renamed rule): history rows of these ids count as its own.
    pub replaces: Option<Sp<Vec<String>>>,
    /// What the rule is for, in words (shown nowhere but here).
    pub description: Option<Sp<String>>,
    /// Who qualifies: a rhai condition over `customer.*` and `as_of.*`.
    pub when: Option<Sp<String>>,
    /// Number of instalments offered.
    pub instalments: Option<Sp<u32>>,
    /// Days between instalments (default 30).
    pub interval_days: Option<Sp<u32>>,
    /// Smallest instalment; fewer instalments are offered for small balances.
    pub min_instalment: Option<Sp<MoneyValue>>,
    /// Offer again only after this many days (default 90).
    pub reoffer_after_days: Option<Sp<u32>>,
    /// The channel: email (default), sms, call or letter.
    pub channel: Option<Sp<RawChannel>>,
    /// Channels tried in order when the customer cannot be reached on `channel` (no address, a bounced email).
    pub fallback: Option<Sp<Vec<RawChannel>>>,
    /// The message template.
    pub template: Option<Sp<String>>,
    /// Higher wins when several rules of this kind match (default 0; then file order).
    pub priority: Option<Sp<i32>>,
}

/// `[[limit]]`: a credit limit change, hold or release.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimit {
    /// Unique id; recorded in actions.csv as the rule id.
    pub id: Option<Sp<String>>,
    /// Rule ids this rule continues (a renamed rule): history rows of these ids count as its own.
    pub replaces: Option<Sp<Vec<String>>>,
    /// What the rule is for, in words (shown nowhere but here).
    pub description: Option<Sp<String>>,
    /// A rhai condition over `customer.*` and `as_of.*`.
    pub when: Option<Sp<String>>,
    /// `raise`, `lower`, `set`, `freeze`, `hold` or `release`.
    pub change: Option<Sp<LimitChange>>,
    /// Change in percent of the current limit.
    pub by_pct: Option<Sp<Num>>,
    /// Change by an amount.
    pub by_amount: Option<Sp<MoneyValue>>,
    /// New limit (for `set`).
    pub to: Option<Sp<MoneyValue>>,
    /// Never lower below this.
    pub floor: Option<Sp<MoneyValue>>,
    /// Never raise above this.
    pub cap: Option<Sp<MoneyValue>>,
    /// Round the new limit to a multiple of this (e.g. "100").
    pub round_to: Option<Sp<Num>>,
    /// Not again within this many days of the last change by this rule (default 90).
    pub every_days: Option<Sp<u32>>,
    /// Review date of the new limit: this many days ahead.
    pub review_in_days: Option<Sp<u32>>,
    /// Who handles the task, instead of the account owner.
    pub owner: Option<Sp<String>>,
    /// Higher wins when several limit rules match (default 0; then file order).
    pub priority: Option<Sp<i32>>,
}

/// `[[review]]`: a periodic credit review task.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReview {
    /// Unique id; recorded in actions.csv as the rule id.
    pub id: Option<Sp<String>>,
    /// Rule ids this rule continues (a renamed rule): history rows of these ids count as its own.
    pub replaces: Option<Sp<Vec<String>>>,
    /// What the rule is for, in words (shown nowhere but here).
    pub description: Option<Sp<String>>,
    /// Customers of this risk class.
    pub risk_class: Option<Sp<RawRiskClass>>,
    /// A rhai condition over `customer.*` and `as_of.*`.
    pub when: Option<Sp<String>>,
    /// `monthly`, `quarterly` or `yearly`.
    pub every: Option<Sp<Every>>,
    /// Or a number of days.
    pub every_days: Option<Sp<u32>>,
    /// Who handles the task, instead of the account owner.
    pub owner: Option<Sp<String>>,
}

/// Keys that were removed from the document because they did not
/// deserialize, by the start of the table they were in.
pub type Removed = HashSet<(usize, String)>;

/// Parse a TOML document into `T`, collecting every problem: syntax errors,
/// then each key that does not deserialize (reported, removed, retried).
/// `None` when the document could not be read at all.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str, file: FileId) -> (Option<T>, Vec<Diagnostic>, Removed) {
    let mut out = Vec::new();
    let mut removed = Removed::new();
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            out.push(
                Diagnostic::error(Code::TomlSyntax, format!("invalid TOML: {}", lower_first(e.message().trim())))
                    .at(file, span),
            );
        }
        return (None, out, removed);
    }
    let mut root = root;
    for _ in 0..200 {
        match T::deserialize(toml::de::Deserializer::from(root.clone())) {
            Ok(v) => return (Some(v), out, removed),
            Err(e) => {
                let span = e.span();
                let hit = span.as_ref().and_then(|s| remove_at(root.get_mut(), s, 0));
                match hit {
                    Some(hit) => {
                        out.push(describe(e.message(), &hit, file));
                        removed.insert((hit.table_start, hit.key.clone()));
                    }
                    None => {
                        let msg = lower_first(e.message().trim());
                        out.push(Diagnostic::error(Code::WrongType, msg).at(file, span.unwrap_or(0..0)));
                        return (None, out, removed);
                    }
                }
            }
        }
    }
    (None, out, removed)
}

/// A key removed because it did not deserialize.
struct Hit {
    key: String,
    key_span: Range<usize>,
    value_span: Range<usize>,
    /// The table it was in, e.g. `[[ladder.step]]`, and that table's id.
    table: String,
    table_id: Option<String>,
    table_start: usize,
}

/// Find the innermost key whose name or scalar value contains `span`,
/// remove it, and say where it was.
fn remove_at(t: &mut DeTable<'_>, span: &Range<usize>, table_start: usize) -> Option<Hit> {
    let inside = |s: &Range<usize>| s.start <= span.start && span.end <= s.end;
    let mut hit = None;
    for (k, v) in t.iter_mut() {
        let (ks, vs) = (k.span(), v.span());
        let name = k.get_ref().to_string();
        let nested = match v.get_mut() {
            DeValue::Table(inner) => remove_at(inner, span, vs.start).map(|h| (h, false)),
            DeValue::Array(a) => a.iter_mut().find_map(|e| {
                let start = e.span().start;
                match e.get_mut() {
                    DeValue::Table(inner) => remove_at(inner, span, start).map(|h| (h, true)),
                    _ => None,
                }
            }),
            _ => None,
        };
        if let Some((mut h, array)) = nested {
            if h.table.is_empty() {
                h.table = if array { format!("[[{name}]]") } else { format!("[{name}]") };
            } else if h.table.starts_with("[[") {
                h.table = format!("[[{name}.{}", &h.table[2..]);
            } else {
                h.table = format!("[{name}.{}", &h.table[1..]);
            }
            return Some(h);
        }
        let scalar = !matches!(v.get_ref(), DeValue::Table(_));
        if inside(&ks) || (scalar && inside(&vs)) {
            hit = Some(Hit {
                key: name,
                key_span: ks,
                value_span: vs,
                table: String::new(),
                table_id: None,
                table_start,
            });
            break;
        }
    }
    let mut h = hit?;
    t.remove::<str>(h.key.as_str());
    h.table_id = t.get::<str>("id").and_then(|v| v.get_ref().as_str().map(str::to_string));
    Some(h)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The backticked words of a serde "expected ..." list.
fn expected_words(msg: &str) -> Vec<&str> {
    let Some(i) = msg.find("expected") else { return Vec::new() };
    msg[i..].split('`').skip(1).step_by(2).collect()
}

fn quote_list(words: &[&str]) -> String {
    let q: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match q.len() {
        0 => String::new(),
        1 => q[0].clone(),
        n => format!("{} or {}", q[..n - 1].join(", "), q[n - 1]),
    }
}

/// A type as serde names it, in words.
fn type_words(t: &str) -> String {
    let t = t.trim();
    match t {
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, zero or more".into(),
        "a boolean" => "`true` or `false`".into(),
        "a sequence" => "an array".into(),
        "a string" => "a string".into(),
        _ if t.starts_with("struct ") || t == "a map" => "a table".into(),
        _ if t.starts_with("enum ") => "one of the allowed words".into(),
        _ if t.starts_with("a TOML datetime") => "a date".into(),
        _ => t.into(),
    }
}

/// What serde found, in words.
fn found_words(f: &str) -> String {
    let f = f.trim();
    if f.starts_with("string") {
        "a string".into()
    } else if f.starts_with("integer") {
        "a whole number".into()
    } else if f.starts_with("floating point") {
        "a decimal number".into()
    } else if f.starts_with("boolean") {
        "`true` or `false`".into()
    } else if f == "map" {
        "a table".into()
    } else if f == "sequence" {
        "an array".into()
    } else {
        f.into()
    }
}

/// Turn a serde/toml message into a diagnostic in our words.
fn describe(msg: &str, hit: &Hit, file: FileId) -> Diagnostic {
    let place = match (&hit.table_id, hit.table.is_empty()) {
        (_, true) => "at the top level".to_string(),
        (Some(id), false) => format!("in {} `{id}`", hit.table),
        (None, false) => format!("in {}", hit.table),
    };
    let key = &hit.key;
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or(key);
        let words = expected_words(rest);
        let help = did_you_mean(name, words.iter().copied())
            .unwrap_or_else(|| format!("the keys allowed here are {}", quote_list(&words)));
        return Diagnostic::error(Code::UnknownKey, format!("unknown key `{name}` {place}"))
            .at(file, hit.key_span.clone())
            .help(help);
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let word = rest.split('`').next().unwrap_or("");
        let words = expected_words(rest);
        let help =
            did_you_mean(word, words.iter().copied()).unwrap_or_else(|| format!("expected {}", quote_list(&words)));
        return Diagnostic::error(Code::InvalidValue, format!("unknown value `{word}` for `{key}` {place}"))
            .at(file, hit.value_span.clone())
            .help(help);
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return Diagnostic::error(
            Code::WrongType,
            format!("wrong type for `{key}` {place}: expected {}, found {}", type_words(expected), found_words(found)),
        )
        .at(file, hit.value_span.clone());
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let found = found.split('`').nth(1).unwrap_or(found);
        return Diagnostic::error(
            Code::InvalidValue,
            format!("`{found}` is not allowed for `{key}` {place}: expected {}", type_words(expected)),
        )
        .at(file, hit.value_span.clone());
    }
    Diagnostic::error(Code::InvalidValue, format!("bad value for `{key}` {place}: {}", lower_first(msg.trim())))
        .at(file, hit.value_span.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_bad_key() {
        let src = "[policy]\nname = \"x\"\nverison = \"1\"\n\n[[ladder]]\nid = \"std\"\n[[ladder.step]]\nid = \"a\"\ndays_past_du = 3\naction = \"emial\"\n[[ladder.step]]\nid = \"b\"\ndays_past_due = \"14\"\n";
        let (p, diags, removed) = parse::<RawPolicy>(src, 0);
        assert!(p.is_some());
        let msgs: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        // `action` is any word here; `validate` refuses `emial` (not a kind of the policy).
        assert_eq!(diags.len(), 3, "{msgs:?}");
        assert!(msgs.contains(&"unknown key `verison` in [policy]"), "{msgs:?}");
        assert!(msgs.contains(&"unknown key `days_past_du` in [[ladder.step]] `a`"), "{msgs:?}");
        assert!(
            msgs.contains(
                &"wrong type for `days_past_due` in [[ladder.step]] `b`: expected a whole number, found a string"
            ),
            "{msgs:?}"
        );
        assert_eq!(removed.len(), 3);
    }

    #[test]
    fn amounts_per_currency() {
        let src = "[guardrails]\nmin_overdue = { USD = \"25.00\", GBP = 20 }\n";
        let (p, diags, _) = parse::<RawPolicy>(src, 0);
        assert!(diags.is_empty(), "{diags:?}");
        let by = BTreeMap::from([("GBP".to_string(), Decimal::from(20)), ("USD".to_string(), Decimal::new(2500, 2))]);
        let g = p.unwrap().guardrails.unwrap();
        assert_eq!(g.min_overdue.as_ref().unwrap().value, MoneyValue::PerCurrency(by));
    }

    #[test]
    fn numbers_are_exact() {
        let src = "[guardrails]\nmin_overdue = 25.1\n[costs]\nrefer_agency = \"25%\"\ncall = \"4.50\"\n";
        let (p, diags, _) = parse::<RawPolicy>(src, 0);
        assert!(diags.is_empty(), "{diags:?}");
        let p = p.unwrap();
        let g = p.guardrails.unwrap();
        assert_eq!(g.min_overdue.as_ref().unwrap().value, MoneyValue::One("25.1".parse().unwrap()));
        let c = p.costs.unwrap();
        assert_eq!(c.get("refer_agency").unwrap().value, CostValue::Percent(Decimal::from(25)));
        // Each key with its span, for the caret under an unknown kind.
        let call = c.by_kind.iter().find(|(k, _)| k.value == "call").unwrap();
        assert_eq!(&src[call.0.span.clone()], "call");
    }

    #[test]
    fn dates_as_toml_dates_or_strings() {
        let (p, d, _) = parse::<RawPolicy>("[policy]\neffective = 2026-11-01\n", 0);
        assert!(d.is_empty());
        let e = p.unwrap().policy.unwrap().value.effective.unwrap().value;
        assert_eq!(e.0, chrono::NaiveDate::from_ymd_opt(2026, 11, 1));
    }

    #[test]
    fn syntax_errors_are_reported() {
        let (p, d, _) = parse::<RawPolicy>("[policy\nname = 1\n", 0);
        assert!(p.is_none());
        assert_eq!(d[0].code, Code::TomlSyntax);
    }
}
