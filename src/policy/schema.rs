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
}
