//! The JSON Schema of policy files (and of policy test files), generated
//! from the same Rust types serde reads them with ([`super::raw`],
//! [`super::cases`]) — never written by hand. Editors use it to complete and
//! check keys while typing: VS Code with Even Better TOML (taplo) reads a
//! `#:schema ./policy.schema.json` comment at the top of the file.
//!
//! Two touches after generation, for TOML: optional keys are just optional
//! (TOML has no null, so `anyOf [T, null]` becomes `T`), and definitions lose
//! the `Raw` prefix of the Rust type names.

use super::cases::RawTestFile;
use super::raw::RawPolicy;
use serde_json::Value;

/// The schema of `policy.toml`.
pub fn policy_schema() -> Value {
    let mut v = tidy(serde_json::to_value(schemars::schema_for!(RawPolicy)).unwrap_or_default());
    mark_required(&mut v);
    mark_bounds(&mut v);
    v
}

/// The keys `recoup check` requires in each table ("missing `name` in
/// [policy]"), marked `required` so an editor flags them as `check` would.
/// The serde types make every key optional so that `check` can name each
/// missing one with its place; a test (policy::validate) checks each entry
/// against `check`. Keys required only with others (an `[interest]` rate
/// under one regime) are left to `check`.
pub const REQUIRED: &[(&str, &[&str])] = &[
    ("", &["policy"]),
    ("Meta", &["name", "version"]),
    ("Ladder", &["id"]),
    ("Step", &["id", "action"]),
    ("Strategy", &["id"]),
    ("Incentive", &["id", "discount_pct", "pay_within_days"]),
    ("PaymentPlan", &["id", "instalments"]),
    ("Limit", &["id", "change"]),
    ("Review", &["id"]),
    ("Challenger", &["strategy", "share", "salt"]),
    ("Reporting", &["currency", "rates_date", "rates"]),
];

fn mark_required(schema: &mut Value) {
    for (def, keys) in REQUIRED {
        let table = if def.is_empty() { Some(&mut *schema) } else { schema.pointer_mut(&format!("/$defs/{def}")) };
        if let Some(Value::Object(m)) = table {
            let have: Vec<&str> =
                keys.iter().copied().filter(|k| m.get("properties").and_then(|p| p.get(*k)).is_some()).collect();
            m.insert("required".into(), Value::from(have));
        }
    }
}

/// A bound `recoup check` puts on a value, written into the schema so an
/// editor flags it as `check` would ([`BOUNDS`]).
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// A whole number from `min`, up to `max` when given.
    Int { min: i64, max: Option<i64> },
    /// A TOML float (a share), within `min..=max`, or strictly between when `open`.
    Float { min: f64, max: f64, open: bool },
    /// An exact decimal, a string or a TOML number ([`Dec`]).
    Dec(Dec),
    /// A policy amount: one, or one per currency; none negative.
    Money,
    /// A list of whole numbers, each from `min` to `max`, at least one.
    Ints { min: i64, max: i64 },
    /// A table of exact decimals (`rates`), each a [`Dec`].
    DecMap(Dec),
    /// A unit cost: an amount, a percentage up to 100 (`"25%"`), or one amount per currency; none negative.
    Cost,
}

/// The bounds of an exact decimal: the pattern of its string form and the
/// limits of its number form.
#[derive(Debug, Clone, Copy)]
pub struct Dec {
    pub pattern: &'static str,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `min` and `max` themselves are out.
    pub open: bool,
}

/// A decimal of 0 or more (`"25.00"`, `"1_000"`).
pub const NON_NEGATIVE: Dec = Dec { pattern: r"^[0-9_]+(\.[0-9]+)?$", min: Some(0.0), max: None, open: false };
/// A decimal above zero.
pub const POSITIVE: Dec = Dec {
    pattern: r"^([0-9_]*[1-9][0-9_]*(\.[0-9]+)?|[0-9_]+\.[0-9]*[1-9][0-9]*)$",
    min: Some(0.0),
    max: None,
    open: true,
};
/// A percentage from 0 to 100.
pub const PERCENT: Dec =
    Dec { pattern: r"^0*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)$", min: Some(0.0), max: Some(100.0), open: false };
/// A percentage strictly between 0 and 100 (a discount).
pub const OPEN_PERCENT: Dec = Dec {
    pattern: r"^(0*[1-9][0-9]?(\.[0-9]+)?|0+\.[0-9]*[1-9][0-9]*)$",
    min: Some(0.0),
    max: Some(100.0),
    open: true,
};
/// A percentage from 0 to 1000 (a limit raised tenfold at most).
pub const PERCENT_1000: Dec =
    Dec { pattern: r"^0*(1000(\.0+)?|[0-9]{1,3}(\.[0-9]+)?)$", min: Some(0.0), max: Some(1000.0), open: false };
/// A yearly rate from -100 to 100 (a reference rate may be negative).
pub const SIGNED_PERCENT: Dec =
    Dec { pattern: r"^-?0*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)$", min: Some(-100.0), max: Some(100.0), open: false };

/// What `check` refuses as out of range, by definition and key (the
/// definitions of [`REQUIRED`]; "" is the top level). Bounds that depend on
/// other keys (a `by_pct` over 100 only with `change = "raise"`, a
/// `trend_recent_months` below `behaviour_months`) are the loosest that
/// holds; the rest is left to `check`. A test (`every_bound_is_one_check_refuses`)
/// holds each entry to `check`'s own errors.
pub const BOUNDS: &[(&str, &str, Bound)] = &[
    ("", "amounts", Bound::Money),
    ("Meta", "max_failed_share", Bound::Float { min: 0.0, max: 1.0, open: false }),
    ("Guardrails", "min_overdue", Bound::Money),
    ("Step", "days_past_due", Bound::Int { min: 0, max: None }),
    ("Step", "days_before_due", Bound::Int { min: 1, max: None }),
    ("Step", "days_after_issue", Bound::Int { min: 0, max: None }),
    ("Step", "fee", Bound::Money),
    ("Step", "fee_pct", Bound::Dec(PERCENT)),
    ("Step", "interest_rate_pct", Bound::Dec(NON_NEGATIVE)),
    ("Step", "min_overdue", Bound::Money),
    ("Repeat", "max", Bound::Int { min: 1, max: None }),
    ("Incentive", "discount_pct", Bound::Dec(OPEN_PERCENT)),
    ("Incentive", "pay_within_days", Bound::Int { min: 1, max: None }),
    ("Incentive", "max_discount", Bound::Money),
    ("Incentive", "min_invoice_amount", Bound::Money),
    ("Incentive", "quarters", Bound::Ints { min: 1, max: 4 }),
    ("PaymentPlan", "instalments", Bound::Int { min: 2, max: None }),
    ("PaymentPlan", "interval_days", Bound::Int { min: 1, max: None }),
    ("PaymentPlan", "min_instalment", Bound::Money),
    ("Limit", "by_pct", Bound::Dec(PERCENT_1000)),
    ("Limit", "by_amount", Bound::Money),
    ("Limit", "to", Bound::Money),
    ("Limit", "floor", Bound::Money),
    ("Limit", "cap", Bound::Money),
    ("Limit", "round_to", Bound::Dec(POSITIVE)),
    ("Challenger", "share", Bound::Float { min: 0.0, max: 1.0, open: true }),
    ("Interest", "days_in_year", Bound::Int { min: 360, max: Some(366) }),
    ("Interest", "rate_pct", Bound::Dec(PERCENT)),
    // Below zero only as far as the reference rate covers it (then `check` refuses the sum).
    ("Interest", "margin_pct", Bound::Dec(SIGNED_PERCENT)),
    ("Interest", "reference_rate_pct", Bound::Dec(SIGNED_PERCENT)),
    ("Interest", "compensation", Bound::Dec(NON_NEGATIVE)),
    ("Kpis", "promise_grace_days", Bound::Int { min: 0, max: Some(3650) }),
    ("Kpis", "dso_days", Bound::Int { min: 1, max: Some(3650) }),
    ("Kpis", "behaviour_months", Bound::Int { min: 1, max: Some(120) }),
    ("Kpis", "trend_recent_months", Bound::Int { min: 1, max: Some(120) }),
    ("Kpis", "countback_months", Bound::Int { min: 1, max: Some(120) }),
    ("Kpis", "cei_months", Bound::Int { min: 1, max: Some(120) }),
    ("Kpis", "bucket_edges", Bound::Ints { min: 1, max: 3650 }),
    ("Reporting", "rates", Bound::DecMap(POSITIVE)),
    ("Costs", "*", Bound::Cost),
];

/// An exact decimal's schema within `d`'s bounds.
fn dec_schema(d: &Dec) -> Value {
    let mut number = serde_json::json!({ "type": "number" });
    let (lo, hi) = if d.open { ("exclusiveMinimum", "exclusiveMaximum") } else { ("minimum", "maximum") };
    if let Some(m) = d.min {
        number[lo] = m.into();
    }
    if let Some(m) = d.max {
        number[hi] = m.into();
    }
    serde_json::json!({ "anyOf": [{ "type": "string", "pattern": d.pattern }, number] })
}

/// A property's schema with `bound` in it (its description kept).
fn bounded(prop: &Value, bound: &Bound) -> Value {
    let mut out = prop.clone();
    let Some(m) = out.as_object_mut() else { return out };
    match bound {
        Bound::Int { min, max } => {
            m.insert("minimum".into(), (*min).into());
            if let Some(x) = max {
                m.insert("maximum".into(), (*x).into());
            }
        }
        Bound::Float { min, max, open } => {
            let (lo, hi) = if *open { ("exclusiveMinimum", "exclusiveMaximum") } else { ("minimum", "maximum") };
            m.insert(lo.into(), (*min).into());
            m.insert(hi.into(), (*max).into());
        }
        Bound::Dec(d) => {
            m.insert("anyOf".into(), dec_schema(d)["anyOf"].clone());
        }
        Bound::Money => {
            let one = dec_schema(&NON_NEGATIVE);
            let per = serde_json::json!({
                "type": "object", "propertyNames": { "pattern": "^[A-Z]{3}$" }, "additionalProperties": one
            });
            let money = serde_json::json!([one, per]);
            // `amounts` is a table of amounts; the others are one amount.
            match m.get_mut("additionalProperties").and_then(Value::as_object_mut) {
                Some(each) => {
                    each.insert("anyOf".into(), money);
                }
                None => {
                    m.insert("anyOf".into(), money);
                }
            }
        }
        Bound::Ints { min, max } => {
            m.insert("minItems".into(), 1.into());
            m.insert("items".into(), serde_json::json!({ "type": "integer", "minimum": min, "maximum": max }));
        }
        Bound::DecMap(d) => {
            m.insert("additionalProperties".into(), dec_schema(d));
        }
        Bound::Cost => {
            let pct = r"^[0-9_]+(\.[0-9]+)?$|^0*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)%$";
            let one = dec_schema(&NON_NEGATIVE);
            m.insert(
                "anyOf".into(),
                serde_json::json!([
                    { "type": "string", "pattern": pct },
                    { "type": "number", "minimum": 0 },
                    { "type": "object", "propertyNames": { "pattern": "^[A-Z]{3}$" }, "additionalProperties": one }
                ]),
            );
        }
    }
    out
}

fn mark_bounds(schema: &mut Value) {
    for (def, key, bound) in BOUNDS {
        let table = if def.is_empty() { Some(&mut *schema) } else { schema.pointer_mut(&format!("/$defs/{def}")) };
        let Some(props) = table.and_then(|t| t.get_mut("properties")).and_then(Value::as_object_mut) else { continue };
        for (k, prop) in props.iter_mut() {
            if *key == "*" || k == key {
                *prop = bounded(prop, bound);
            }
        }
    }
    // `[costs]` takes a declared kind's name too: its cost has the same bounds.
    if let Some(each) = schema.pointer_mut("/$defs/Costs/additionalProperties") {
        *each = bounded(each, &Bound::Cost);
    }
    // A repeat's `every`: 1 day or more, as text too.
    if let Some(Value::Array(alts)) = schema.pointer_mut("/$defs/Repeat/properties/every/anyOf")
        && let Some(text) = alts.iter_mut().find(|a| a["type"] == "string")
    {
        text["pattern"] = "^0*[1-9][0-9]*[dw]?$".into();
    }
}

/// A policy or test file's TOML as the JSON an editor validates against
/// these schemas (dates become strings).
pub fn json_of(t: &toml::Value) -> Value {
    match t {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(json_of).collect()),
        toml::Value::Table(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), json_of(v))).collect()),
    }
}

/// The schema of a policy test file (`tests/*.toml`).
pub fn tests_schema() -> Value {
    tidy(serde_json::to_value(schemars::schema_for!(RawTestFile)).unwrap_or_default())
}

/// A schema as pretty JSON.
pub fn to_json(schema: &Value) -> String {
    serde_json::to_string_pretty(schema).unwrap_or_default()
}

fn strip_raw(s: &str) -> String {
    match s.strip_prefix("#/$defs/Raw") {
        Some(rest) => format!("#/$defs/{rest}"),
        None => s.to_string(),
    }
}

fn tidy(v: Value) -> Value {
    match v {
        Value::Object(mut m) => {
            // anyOf [X, {type: null}] → X (keeping the description).
            if let Some(Value::Array(alts)) = m.get("anyOf") {
                let non_null: Vec<Value> =
                    alts.iter().filter(|a| a.get("type") != Some(&Value::String("null".into()))).cloned().collect();
                if non_null.len() == 1 && alts.len() == 2 {
                    m.remove("anyOf");
                    if let Value::Object(inner) = &non_null[0] {
                        for (k, x) in inner {
                            m.entry(k.clone()).or_insert_with(|| x.clone());
                        }
                    }
                }
            }
            // type: [X, "null"] → X
            if let Some(Value::Array(types)) = m.get("type") {
                let t: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if t.len() == 1 {
                    m.insert("type".into(), t[0].clone());
                }
            }
            let out = m
                .into_iter()
                .map(|(k, x)| match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => (k, Value::String(strip_raw(&r))),
                    ("$defs", Value::Object(defs)) => (
                        k,
                        Value::Object(
                            defs.into_iter()
                                .map(|(n, d)| (n.strip_prefix("Raw").unwrap_or(&n).to_string(), tidy(d)))
                                .collect(),
                        ),
                    ),
                    (_, x) => (k, tidy(x)),
                })
                .collect();
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(tidy).collect()),
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the schema marks required is a key of its table, and
    /// leaving it out of a valid policy is an error of `check`.
    #[test]
    fn required_keys_are_the_ones_check_requires() {
        let schema = policy_schema();
        for (def, keys) in REQUIRED {
            let table = if def.is_empty() { Some(&schema) } else { schema.pointer(&format!("/$defs/{def}")) };
            let table = table.unwrap_or_else(|| panic!("no definition {def}"));
            let required: Vec<&str> =
                table["required"].as_array().expect("required").iter().filter_map(|k| k.as_str()).collect();
            assert_eq!(&required, keys, "{def}: every listed key is a property");
        }
        // Two of them, checked against `check` on the shipped starter policy.
        let policy = include_str!("../cli/init/policy.toml");
        for (line, key) in [("name = ", "name"), ("version = ", "version")] {
            let without: String = policy.lines().filter(|l| !l.starts_with(line)).map(|l| format!("{l}\n")).collect();
            let loaded = crate::policy::load_str("policy.toml", &without);
            let messages: Vec<&str> = loaded.report.diagnostics.iter().map(|d| d.message.as_str()).collect();
            assert!(messages.contains(&format!("missing `{key}` in [policy]").as_str()), "{key}: {messages:?}");
        }
    }

    use super::json_of;

    /// The places (JSON pointers) where the policy schema refuses `text`.
    fn schema_errors(v: &jsonschema::Validator, text: &str) -> Vec<String> {
        let doc = json_of(&toml::Value::Table(toml::from_str::<toml::Table>(text).expect("TOML")));
        v.iter_errors(&doc).map(|e| e.instance_path().to_string()).collect()
    }

    /// `check`'s error messages for `text`.
    fn check_errors(text: &str) -> Vec<String> {
        let loaded = crate::policy::load_str("policy.toml", text);
        loaded
            .report
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::policy::diag::Severity::Error)
            .map(|d| d.message.clone())
            .collect()
    }

    const HEAD: &str = "[policy]\nname = \"t\"\nversion = \"1\"\ncurrency = \"USD\"\n";
    const STEP: &str = "[[ladder]]\nid = \"l\"\n[[ladder.step]]\nid = \"s\"\naction = \"email\"\n";
    const INCENTIVE: &str = "[[incentive]]\nid = \"i\"\ntemplate = \"t\"\n";
    const PLAN: &str = "[[payment_plan]]\nid = \"p\"\ntemplate = \"t\"\n";
    const EU: &str = "[interest]\nregime = \"eu_2011_7\"\n";
    const LIMIT: &str = "[[limit]]\nid = \"m\"\nchange = \"raise\"\n";

    /// Each bound the schema puts on a value is one `check` puts there: a
    /// value just outside is an error of `check` and refused by the schema
    /// at that key; the value just inside is neither.
    #[test]
    fn every_bound_is_one_check_refuses() {
        let validator = jsonschema::validator_for(&policy_schema()).expect("a valid schema");
        // (table, bad line, good line, check's words, the schema's place)
        let cases: &[(&str, &str, &str, &str, &str)] = &[
            (
                STEP,
                "days_past_due = -1",
                "days_past_due = 0",
                "`days_past_due` of step `s` is negative",
                "/ladder/0/step/0/days_past_due",
            ),
            (
                STEP,
                "days_before_due = 0",
                "days_before_due = 1",
                "`days_before_due` of step `s` must be 1 or more",
                "/ladder/0/step/0/days_before_due",
            ),
            (
                STEP,
                "days_after_issue = -3",
                "days_after_issue = 0",
                "`days_after_issue` of step `s` is negative",
                "/ladder/0/step/0/days_after_issue",
            ),
            (
                STEP,
                "days_past_due = 1\nfee = \"-5.00\"",
                "days_past_due = 1\nfee = \"5.00\"",
                "`fee` of step `s` is negative",
                "/ladder/0/step/0/fee",
            ),
            (
                STEP,
                "days_past_due = 1\nfee = { USD = \"-5\" }",
                "days_past_due = 1\nfee = { USD = \"5\" }",
                "`fee` of step `s` is negative for USD",
                "/ladder/0/step/0/fee",
            ),
            (
                STEP,
                "days_past_due = 1\nfee_pct = \"100.5\"",
                "days_past_due = 1\nfee_pct = \"100\"",
                "`fee_pct` of step `s` is out of range",
                "/ladder/0/step/0/fee_pct",
            ),
            (
                STEP,
                "days_past_due = 1\nfee_pct = -1",
                "days_past_due = 1\nfee_pct = 0",
                "`fee_pct` of step `s` is out of range",
                "/ladder/0/step/0/fee_pct",
            ),
            (
                STEP,
                "days_past_due = 1\ninterest_rate_pct = \"-2\"",
                "days_past_due = 1\ninterest_rate_pct = \"2\"",
                "`interest_rate_pct` of step `s` is negative",
                "/ladder/0/step/0/interest_rate_pct",
            ),
            (
                STEP,
                "days_past_due = 1\nmin_overdue = \"-1\"",
                "days_past_due = 1\nmin_overdue = \"0\"",
                "`min_overdue` of step `s` is negative",
                "/ladder/0/step/0/min_overdue",
            ),
            (
                STEP,
                "days_past_due = 1\nrepeat = { every = \"0d\" }",
                "days_past_due = 1\nrepeat = { every = \"1d\" }",
                "`every` of step `s` is `0d`",
                "/ladder/0/step/0/repeat/every",
            ),
            (
                STEP,
                "days_past_due = 1\nrepeat = { every = 0 }",
                "days_past_due = 1\nrepeat = { every = 1 }",
                "`every` of step `s` is `0`",
                "/ladder/0/step/0/repeat/every",
            ),
            (
                STEP,
                "days_past_due = 1\nrepeat = { every = \"7d\", max = 0 }",
                "days_past_due = 1\nrepeat = { every = \"7d\", max = 1 }",
                "`max = 0` of step `s`'s `repeat` never repeats it",
                "/ladder/0/step/0/repeat/max",
            ),
            (
                "[guardrails]\n",
                "min_overdue = \"-25.00\"",
                "min_overdue = \"25.00\"",
                "`min_overdue` of [guardrails] is negative",
                "/guardrails/min_overdue",
            ),
            (
                "[amounts]\n",
                "hold_from = { EUR = \"-1\" }",
                "hold_from = { EUR = \"1\" }",
                "`hold_from` of [amounts] is negative for EUR",
                "/amounts/hold_from",
            ),
            (
                INCENTIVE,
                "discount_pct = \"100\"",
                "discount_pct = \"99.5\"",
                "`discount_pct` of incentive `i` must be between 0 and 100",
                "/incentive/0/discount_pct",
            ),
            (
                INCENTIVE,
                "discount_pct = \"0\"",
                "discount_pct = \"0.5\"",
                "`discount_pct` of incentive `i` must be between 0 and 100",
                "/incentive/0/discount_pct",
            ),
            (
                INCENTIVE,
                "pay_within_days = 0",
                "pay_within_days = 1",
                "`pay_within_days` of incentive `i` must be 1 or more",
                "/incentive/0/pay_within_days",
            ),
            (
                INCENTIVE,
                "max_discount = \"-1\"",
                "max_discount = \"1\"",
                "`max_discount` of incentive `i` is negative",
                "/incentive/0/max_discount",
            ),
            (
                INCENTIVE,
                "quarters = [0]",
                "quarters = [4]",
                "quarter `0` of incentive `i` is not 1-4",
                "/incentive/0/quarters/0",
            ),
            (
                INCENTIVE,
                "min_invoice_amount = \"-1\"",
                "min_invoice_amount = \"1\"",
                "`min_invoice_amount` of incentive `i` is negative",
                "/incentive/0/min_invoice_amount",
            ),
            (
                LIMIT,
                "by_pct = \"10\"\nfloor = \"-1\"",
                "by_pct = \"10\"\nfloor = \"1\"",
                "`floor` of limit rule `m` is negative",
                "/limit/0/floor",
            ),
            (
                "[[limit]]\nid = \"m\"\nchange = \"set\"\n",
                "to = \"-1\"",
                "to = \"1\"",
                "`to` of limit rule `m` is negative",
                "/limit/0/to",
            ),
            (
                PLAN,
                "instalments = 1",
                "instalments = 2",
                "`instalments` of payment plan `p` must be 2 or more",
                "/payment_plan/0/instalments",
            ),
            (
                PLAN,
                "interval_days = 0",
                "interval_days = 1",
                "`interval_days` of payment plan `p` must be 1 or more",
                "/payment_plan/0/interval_days",
            ),
            (
                PLAN,
                "min_instalment = \"-10\"",
                "min_instalment = \"10\"",
                "`min_instalment` of payment plan `p` is negative",
                "/payment_plan/0/min_instalment",
            ),
            (LIMIT, "by_pct = \"-10\"", "by_pct = \"10\"", "`by_pct` of limit rule `m` is negative", "/limit/0/by_pct"),
            (
                LIMIT,
                "by_pct = \"1000.5\"",
                "by_pct = \"1000\"",
                "`by_pct` of limit rule `m` is out of range",
                "/limit/0/by_pct",
            ),
            (
                LIMIT,
                "by_amount = \"-500\"",
                "by_amount = \"500\"",
                "`by_amount` of limit rule `m` is negative",
                "/limit/0/by_amount",
            ),
            (
                LIMIT,
                "by_pct = \"10\"\ncap = \"-1\"",
                "by_pct = \"10\"\ncap = \"1\"",
                "`cap` of limit rule `m` is negative",
                "/limit/0/cap",
            ),
            (
                LIMIT,
                "by_pct = \"10\"\nround_to = \"0.00\"",
                "by_pct = \"10\"\nround_to = \"0.01\"",
                "`round_to` of limit rule `m` must be above zero",
                "/limit/0/round_to",
            ),
            (
                "[kpis]\n",
                "dso_days = 0",
                "dso_days = 1",
                "`dso_days = 0` of [kpis] is not between 1 and 3650",
                "/kpis/dso_days",
            ),
            (
                "[kpis]\n",
                "dso_days = 3651",
                "dso_days = 3650",
                "`dso_days = 3651` of [kpis] is not between 1 and 3650",
                "/kpis/dso_days",
            ),
            (
                "[kpis]\n",
                "promise_grace_days = -1",
                "promise_grace_days = 0",
                "`promise_grace_days = -1` of [kpis] is not between 0 and 3650",
                "/kpis/promise_grace_days",
            ),
            (
                "[kpis]\n",
                "cei_months = 121",
                "cei_months = 120",
                "`cei_months = 121` of [kpis] is not between 1 and 120",
                "/kpis/cei_months",
            ),
            (
                "[kpis]\n",
                "behaviour_months = 0",
                "behaviour_months = 12",
                "`behaviour_months = 0` of [kpis] is not between 1 and 120",
                "/kpis/behaviour_months",
            ),
            (
                "[kpis]\n",
                "trend_recent_months = 0",
                "trend_recent_months = 3",
                "`trend_recent_months = 0` of [kpis] is not between 1 and 120",
                "/kpis/trend_recent_months",
            ),
            (
                "[kpis]\n",
                "countback_months = 121",
                "countback_months = 120",
                "`countback_months = 121` of [kpis] is not between 1 and 120",
                "/kpis/countback_months",
            ),
            (
                "[kpis]\n",
                "bucket_edges = [0, 30]",
                "bucket_edges = [1, 30]",
                "bucket edge `0` of [kpis] is not between 1 and 3650 days",
                "/kpis/bucket_edges/0",
            ),
            (
                "[kpis]\n",
                "bucket_edges = []",
                "bucket_edges = [30]",
                "`bucket_edges` of [kpis] is empty",
                "/kpis/bucket_edges",
            ),
            (
                "[interest]\nrate_pct = \"8\"\n",
                "days_in_year = 367",
                "days_in_year = 366",
                "`days_in_year = 367` is not a year",
                "/interest/days_in_year",
            ),
            (
                "[interest]\n",
                "rate_pct = \"101\"",
                "rate_pct = \"100\"",
                "`rate_pct` of [interest] is 101% a year",
                "/interest/rate_pct",
            ),
            (
                "[interest]\n",
                "rate_pct = \"-1\"",
                "rate_pct = \"1\"",
                "the interest rate is negative",
                "/interest/rate_pct",
            ),
            (
                EU,
                "margin_pct = \"101\"",
                "margin_pct = \"8\"",
                "`margin_pct` of [interest] is 101% a year",
                "/interest/margin_pct",
            ),
            (
                EU,
                "reference_rate_pct = \"101\"",
                "reference_rate_pct = \"2\"",
                "`reference_rate_pct` of [interest] is 101% a year",
                "/interest/reference_rate_pct",
            ),
            (
                EU,
                "reference_rate_pct = \"-101\"",
                "reference_rate_pct = \"-5\"",
                "the interest rate is negative",
                "/interest/reference_rate_pct",
            ),
            (
                "[interest]\nrate_pct = \"8\"\n",
                "compensation = \"-40\"",
                "compensation = \"40\"",
                "`compensation` of [interest] is negative",
                "/interest/compensation",
            ),
            ("[costs]\n", "call = \"-4.50\"", "call = \"4.50\"", "cost of `call` is negative", "/costs/call"),
            ("[costs]\n", "call = -4.5", "call = 4.5", "cost of `call` is negative", "/costs/call"),
            (
                "[costs]\n",
                "call = \"101%\"",
                "call = \"100%\"",
                "cost of `call` is more than 100% of the amount",
                "/costs/call",
            ),
            (
                "[costs]\n",
                "call = { GBP = \"-4\" }",
                "call = { GBP = \"4\" }",
                "`call` of [costs] is negative for GBP",
                "/costs/call",
            ),
            (
                "[challenger]\nstrategy = \"b\"\nsalt = \"x\"\n",
                "share = 1.0",
                "share = 0.5",
                "`share = 1` of [challenger] is not between 0 and 1",
                "/challenger/share",
            ),
            (
                "[challenger]\nstrategy = \"b\"\nsalt = \"x\"\n",
                "share = 0.0",
                "share = 0.1",
                "`share = 0` of [challenger] is not between 0 and 1",
                "/challenger/share",
            ),
            (
                "",
                "max_failed_share = 1.5",
                "max_failed_share = 0.5",
                "`max_failed_share = 1.5` is not between 0 and 1",
                "/policy/max_failed_share",
            ),
            (
                "[reporting]\ncurrency = \"USD\"\nrates_date = 2026-11-01\n",
                "rates = { EUR = \"0\" }",
                "rates = { EUR = \"1.08\" }",
                "the rate of EUR in [reporting] must be above zero",
                "/reporting/rates/EUR",
            ),
        ];
        for (table, bad, good, words, at) in cases {
            // max_failed_share sits in [policy] itself.
            let text = |line: &str| match *table {
                "" => format!("{HEAD}{line}\n"),
                t => format!("{HEAD}{t}{line}\n"),
            };
            let (bad_text, good_text) = (text(bad), text(good));
            let errs = check_errors(&bad_text);
            assert!(errs.iter().any(|e| e.contains(words)), "check accepts `{bad}`: {errs:?}");
            let refused = schema_errors(&validator, &bad_text);
            assert!(refused.iter().any(|p| p == at), "the schema accepts `{bad}` (refused at {refused:?})");
            let errs = check_errors(&good_text);
            assert!(
                !errs.iter().any(|e| e.contains(words.split(" of ").next().unwrap_or(words))),
                "check refuses `{good}`: {errs:?}"
            );
            let refused = schema_errors(&validator, &good_text);
            assert!(!refused.iter().any(|p| p.starts_with(at)), "the schema refuses `{good}` at {refused:?}");
        }
        // Every bound has a case (costs: `call` stands for them all).
        for (def, key, _) in BOUNDS {
            let key = if *key == "*" { "call" } else { key };
            let found = cases.iter().any(|c| c.4.split('/').any(|seg| seg == key));
            assert!(found, "no case for the bound on {def}.{key}");
        }
    }

    /// The shipped policies and the starter stay valid under the bounds.
    #[test]
    fn shipped_policies_are_within_the_bounds() {
        let validator = jsonschema::validator_for(&policy_schema()).expect("a valid schema");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = vec![("init".to_string(), include_str!("../cli/init/policy.toml").to_string())];
        for name in ["standard", "strict", "lenient"] {
            let path = root.join("policies").join(name).join("policy.toml");
            texts.push((name.to_string(), std::fs::read_to_string(path).expect("a shipped policy")));
        }
        for (name, text) in texts {
            assert_eq!(schema_errors(&validator, &text), Vec::<String>::new(), "{name}");
        }
    }
}
