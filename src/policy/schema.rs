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
    tidy(serde_json::to_value(schemars::schema_for!(RawPolicy)).unwrap_or_default())
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
