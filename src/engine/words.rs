//! Numbers in words for reasons and traces: money with thousands
//! separators and two decimals, ratios with two.

use crate::facts::registry::Value;
use rust_decimal::Decimal;

/// `4210.5` → `4,210.50`.
pub fn money(d: Decimal) -> String {
    let s = format!("{:.2}", d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero));
    let (sign, s) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
    let (int, frac) = s.split_once('.').unwrap_or((s, "00"));
    let mut out = String::with_capacity(s.len() + int.len() / 3 + 1);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}.{frac}")
}

/// A fact value in a reason: money with separators, floats with 2 decimals.
pub fn value(v: Value<'_>) -> String {
    match v {
        Value::Money(d) => money(d),
        Value::Float(f) => format!("{f:.2}"),
        v => v.to_string(),
    }
}

/// `1 invoice`, `3 invoices`.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_separators() {
        assert_eq!(money(Decimal::new(421000, 2)), "4,210.00");
        assert_eq!(money(Decimal::new(-123456789, 2)), "-1,234,567.89");
        assert_eq!(money(Decimal::new(5, 1)), "0.50");
        assert_eq!(money(Decimal::from(100)), "100.00");
    }
}
