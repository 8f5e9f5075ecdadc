//! Sweeps: one value of the baseline policy, several settings, each run as
//! a variant (`--sweep 'agency.after_days=60,90,120'`).
//!
//! The key is a dotted path into the baseline's policy.toml: tables by name,
//! elements of an array of tables by their `id`
//! (`ladder.standard.step.agency.days_past_due`,
//! `guardrails.max_contacts_per_7_days`, `interest.rate_pct`). The value
//! written keeps the type of the value it replaces: a whole number, a number,
//! a boolean or a string (money and percentages are strings in a policy).

use super::compare::Comparison;
use super::project::Forward;
use rust_decimal::Decimal;
use toml::{Table, Value};

/// Today's counts in sweep.csv (ids as in comparison.csv), whole portfolio.
pub const TODAY_COUNTS: &[&str] = &["customers_with_actions", "actions", "customers_put_on_hold", "referrals"];

/// Today's money in sweep.csv, one column per currency (`cost_of_actions_EUR`).
pub const TODAY_MONEY: &[&str] = &[
    "cost_of_actions",
    "exposure_on_hold",
    "referred_amount",
    "discounts_max_cost",
    "fees_and_compensation",
    "interest",
];

/// Horizon metrics in sweep.csv (P50 over the runs), with a projection:
/// money (and DSO) one column per currency, `calls` for the whole portfolio.
pub const FORWARD: &[&str] = &["cash_collected", "dso", "ar_total", "overdue", "write_offs", "sales_lost", "calls"];

/// sweep.csv: one row per policy (the baseline, then each value swept):
/// `label`, `value`, today's key metrics (money per currency:
/// `<metric>_<currency>`), and with a projection the P50 of the horizon's
/// figures (`forward_<metric>[_<currency>]_p50`). Never a sum across currencies.
pub fn sweep_csv(
    w: &mut dyn std::io::Write,
    c: &Comparison,
    forward: Option<&Forward>,
    sweep: &Sweep,
) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let mut codes: Vec<&str> = c.rows.iter().filter_map(|r| r.currency.as_deref()).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut header: Vec<String> = vec!["label".into(), "value".into()];
    header.extend(TODAY_COUNTS.iter().map(|m| m.to_string()));
    for m in TODAY_MONEY {
        header.extend(codes.iter().map(|code| format!("{m}_{code}")));
    }
    let fcodes: Vec<String> = forward.map(|f| f.currencies.clone()).unwrap_or_default();
    let fcols: Vec<(&str, Option<&str>)> =
        FORWARD
            .iter()
            .flat_map(|&m| {
                if m == "calls" { vec![(m, None)] } else { fcodes.iter().map(|c| (m, Some(c.as_str()))).collect() }
            })
            .collect();
    if forward.is_some() {
        header.extend(fcols.iter().map(|(m, c)| match c {
            Some(c) => format!("forward_{m}_{c}_p50"),
            None => format!("forward_{m}_p50"),
        }));
    }
    out.write_record(&header)?;
    let summary = forward.map(Forward::summary).unwrap_or_default();
    let today = |i: usize, m: &str, cur: Option<&str>| {
        let row = c.rows.iter().find(|r| r.metric == m && r.currency.as_deref() == cur && r.owner.is_none());
        let v = row.and_then(|r| r.values.get(i).copied()).unwrap_or(Decimal::ZERO);
        match cur {
            Some(code) => super::write::money_str(v, code),
            None => v.normalize().to_string(),
        }
    };
    for (i, run) in c.runs.iter().enumerate() {
        let value = if i == 0 { "baseline" } else { sweep.values.get(i - 1).map_or("", String::as_str) };
        let mut row: Vec<String> = vec![run.label.clone(), value.to_string()];
        row.extend(TODAY_COUNTS.iter().map(|m| today(i, m, None)));
        for m in TODAY_MONEY {
            row.extend(codes.iter().map(|code| today(i, m, Some(code))));
        }
        if forward.is_some() {
            for (m, cur) in &fcols {
                let v = summary
                    .iter()
                    .find(|b| b.metric == *m && b.currency.as_deref() == *cur && b.policy == run.label)
                    .map(|b| b.band.p50)
                    .unwrap_or(Decimal::ZERO);
                row.push(match cur {
                    Some(code) if *m != "dso" => super::write::money_str(v, code),
                    _ => v.normalize().to_string(),
                });
            }
        }
        out.write_record(&row)?;
    }
    out.flush()
}

/// A parsed `--sweep KEY=V1,V2,...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    pub key: String,
    pub values: Vec<String>,
}

impl Sweep {
    /// Parse `KEY=V1,V2,...`.
    pub fn parse(s: &str) -> Result<Sweep, String> {
        let Some((key, values)) = s.split_once('=') else {
            return Err(format!("expected KEY=V1,V2,... (e.g. `interest.rate_pct=8,12`), got `{s}`"));
        };
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        if key.trim().is_empty() || values.is_empty() {
            return Err(format!("expected KEY=V1,V2,... (e.g. `interest.rate_pct=8,12`), got `{s}`"));
        }
        Ok(Sweep { key: key.trim().to_string(), values })
    }

    /// The label of the variant for `value`: `KEY=VALUE`.
    pub fn label(&self, value: &str) -> String {
        format!("{}={value}", self.key)
    }
}

/// Every leaf key of a policy document, as sweep keys.
pub fn keys(doc: &Table) -> Vec<String> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Table(t) => {
                for (k, v) in t {
                    walk(&join(prefix, k), v, out);
                }
            }
            Value::Array(items) if items.iter().all(Value::is_table) && !items.is_empty() => {
                for item in items {
                    if let Some(id) = item.get("id").and_then(Value::as_str) {
                        walk(&join(prefix, id), item, out);
                    }
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    fn join(a: &str, b: &str) -> String {
        if a.is_empty() { b.to_string() } else { format!("{a}.{b}") }
    }
    let mut out = Vec::new();
    walk("", &Value::Table(doc.clone()), &mut out);
    out
}

/// The value at `key`, mutable.
fn find<'a>(doc: &'a mut Table, key: &str) -> Option<&'a mut Value> {
    let mut parts = key.split('.');
    let first = parts.next()?;
    let mut cur = doc.get_mut(first)?;
    for p in parts {
        cur = match cur {
            Value::Table(t) => t.get_mut(p)?,
            Value::Array(items) => items.iter_mut().find(|i| i.get("id").and_then(Value::as_str) == Some(p))?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The nearest keys to an unknown one (by edit distance), at most `n`.
pub fn nearest(doc: &Table, key: &str, n: usize) -> Vec<String> {
    let mut all: Vec<(usize, String)> = keys(doc).into_iter().map(|k| (strsim::levenshtein(&k, key), k)).collect();
    all.sort();
    all.into_iter().take(n).map(|(_, k)| k).collect()
}

/// The policy text with `key` set to `value` (typed like the value it
/// replaces). Errors name the key and, for an unknown key, the nearest ones.
pub fn set(text: &str, key: &str, value: &str) -> Result<String, String> {
    let mut doc: Table = text.parse().map_err(|e| format!("the baseline policy is not valid TOML: {e}"))?;
    let near = nearest(&doc, key, 3);
    let Some(slot) = find(&mut doc, key) else {
        return Err(format!(
            "--sweep: the baseline policy has no value `{key}`; nearest: {} (keys are dotted paths, array elements by their id)",
            near.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ));
    };
    let bad = |what: &str| format!("--sweep: `{key}` is {what}, and `{value}` is not");
    *slot = match slot {
        Value::Integer(_) => Value::Integer(value.parse().map_err(|_| bad("a whole number"))?),
        Value::Float(_) => Value::Float(value.parse().map_err(|_| bad("a number"))?),
        Value::Boolean(_) => Value::Boolean(value.parse().map_err(|_| bad("true or false"))?),
        Value::String(_) => Value::String(value.to_string()),
        _ => {
            return Err(format!(
                "--sweep: `{key}` is a table or a list, not a value; nearest values: {}",
                near.join(", ")
            ));
        }
    };
    toml::to_string(&doc).map_err(|e| format!("--sweep: cannot write the policy back: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
[policy]
name = "p"
[interest]
rate_pct = "12"
[guardrails]
max_contacts_per_7_days = 3
[[ladder]]
id = "standard"
[[ladder.step]]
id = "agency"
days_past_due = 90
"#;

    #[test]
    fn keys_address_array_elements_by_id() {
        let t = set(POLICY, "ladder.standard.step.agency.days_past_due", "60").unwrap();
        let doc: Table = t.parse().unwrap();
        assert_eq!(doc["ladder"][0]["step"][0]["days_past_due"].as_integer(), Some(60));
        let t = set(POLICY, "interest.rate_pct", "8").unwrap();
        assert!(t.contains("rate_pct = \"8\""), "{t}");
        assert!(set(POLICY, "guardrails.max_contacts_per_7_days", "x").unwrap_err().contains("a whole number"));
    }

    #[test]
    fn an_unknown_key_names_the_nearest() {
        let e = set(POLICY, "ladder.standard.step.agency.days_past", "60").unwrap_err();
        assert!(e.contains("no value `ladder.standard.step.agency.days_past`"), "{e}");
        assert!(e.contains("`ladder.standard.step.agency.days_past_due`"), "{e}");
    }

    #[test]
    fn parse_a_sweep() {
        let s = Sweep::parse("interest.rate_pct=8, 12,16").unwrap();
        assert_eq!(s.values, ["8", "12", "16"]);
        assert_eq!(s.label("8"), "interest.rate_pct=8");
        assert!(Sweep::parse("nokey").is_err());
    }
}
