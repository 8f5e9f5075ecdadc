//! Numbers in words for reasons and traces: money with thousands
//! separators and two decimals, ratios with two.

use crate::facts::registry::Value;
use rust_decimal::Decimal;

/// `4210.5` → `4,210.50`: with the minor units of the currency in scope
/// ([`crate::money::Scope`], two outside any).
pub fn money(d: Decimal) -> String {
    money_in(d, crate::money::units())
}

/// `4210.5` in `code` → `4,210.50` (`4,211` in yen, `4,210.500` in dinars).
pub fn money_of(d: Decimal, code: &str) -> String {
    money_in(d, crate::money::minor_units(code))
}

/// `d` with `units` decimals (rounded half away from zero) and thousands separators.
pub fn money_in(d: Decimal, units: u32) -> String {
    let r = crate::money::round(d, units);
    let m = r.mantissa();
    let (neg, m) = (m < 0, m.unsigned_abs());
    let p = 10u128.pow(units);
    let (int, frac) = (m / p, m % p);
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
    if units > 0 {
        out.push('.');
        let f = frac.to_string();
        for _ in f.len()..units as usize {
            out.push('0');
        }
        out.push_str(&f);
    }
    out
}

/// A fact value in a reason: money with separators, floats with 2 decimals.
pub fn value(v: Value<'_>) -> String {
    match v {
        Value::Money(d) => money(d),
        Value::Float(f) => {
            let mut s = String::with_capacity(8);
            fixed(&mut s, f, 2);
            s
        }
        v => v.to_string(),
    }
}

/// A fact's value as the machine outputs carry it (plan.jsonl's `facts`,
/// explain's `read`): money with two decimals and no thousands separators
/// (docs/output.md), ratios with two decimals, the rest as displayed.
pub fn plain(v: Value<'_>) -> String {
    match v {
        Value::Money(d) => crate::money::json::text(d),
        v => value(v),
    }
}

/// `v.to_string()` (floats with 4 decimals), without the formatter's slow
/// path for floats.
pub fn display(v: Value<'_>) -> String {
    match v {
        Value::Float(f) => {
            let mut s = String::with_capacity(10);
            fixed(&mut s, f, 4);
            s
        }
        v => v.to_string(),
    }
}

/// Append `x` with `places` decimals, exactly as `format!("{x:.places$}")`
/// writes it (the binary value rounded half to even, the sign of a negative
/// value kept), in integer arithmetic: the standard formatter's exact mode
/// falls back to big-number arithmetic for many of the ratios facts hold.
pub fn fixed(out: &mut String, x: f64, places: u32) {
    use std::fmt::Write;
    if !x.is_finite() || places > 9 {
        let _ = write!(out, "{x:.*}", places as usize);
        return;
    }
    // |x| = m × 2^e exactly.
    let bits = x.abs().to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if exp == 0 { (frac, -1074) } else { (frac | (1u64 << 52), exp - 1075) };
    let scale = 10u128.pow(places);
    let n = u128::from(m) * scale;
    // q = |x| × 10^places, rounded half to even.
    let q = if e >= 0 {
        if e > 60 {
            let _ = write!(out, "{x:.*}", places as usize);
            return;
        }
        n << e
    } else {
        let s = e.unsigned_abs();
        if s >= 127 {
            0
        } else {
            let q = n >> s;
            let r = n & ((1u128 << s) - 1);
            let half = 1u128 << (s - 1);
            if r > half || (r == half && q & 1 == 1) { q + 1 } else { q }
        }
    };
    if x.is_sign_negative() {
        out.push('-');
    }
    let _ = write!(out, "{}", q / scale);
    if places > 0 {
        let _ = write!(out, ".{:0width$}", q % scale, width = places as usize);
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
    fn fixed_writes_what_the_formatter_writes() {
        let mut cases = vec![
            0.0,
            -0.0,
            0.00005,
            0.00015,
            0.00025,
            0.5,
            1.5,
            2.5,
            -2.5,
            0.125,
            0.375,
            1e-300,
            -1e-9,
            123456.78905,
            0.1,
            1.0 / 3.0,
            9.99995,
            5e-324,
            1e15,
            1e20,
            1e300,
            2.675,
            1.005,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..200_000u64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            cases.push(match i % 4 {
                0 => f64::from_bits(seed),
                1 => (seed % 10_000_000) as f64 / 10_000.0,
                2 => (seed % 100_000) as f64 / -100_000.0,
                _ => (seed % 4000) as f64 / 32.0 + 0.00005,
            });
        }
        for x in cases {
            for p in [0u32, 1, 2, 4] {
                let mut s = String::new();
                fixed(&mut s, x, p);
                assert_eq!(s, format!("{x:.*}", p as usize), "{x:e} with {p} places");
            }
        }
    }

    #[test]
    fn money_has_separators() {
        assert_eq!(money(Decimal::new(421000, 2)), "4,210.00");
        assert_eq!(money(Decimal::new(-123456789, 2)), "-1,234,567.89");
        assert_eq!(money(Decimal::new(5, 1)), "0.50");
        assert_eq!(money(Decimal::from(100)), "100.00");
    }
}
