//! Numbers in words for reasons and traces: money with thousands
//! separators and two decimals, ratios with two.

use crate::facts::registry::Value;
use rust_decimal::Decimal;

/// `4210.5` → `4,210.50`.
pub fn money(d: Decimal) -> String {
    let mut r = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    let m = r.mantissa();
    let (neg, m) = (m < 0, m.unsigned_abs());
    let (int, cents) = (m / 100, (m % 100) as u8);
    let digits = int.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 4);
    if neg {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push('.');
    out.push(char::from(b'0' + cents / 10));
    out.push(char::from(b'0' + cents % 10));
    out
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
