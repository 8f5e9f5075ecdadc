//! The supported range of money and percentages: one bound, checked where
//! values come in (the ledger loader, `recoup check`), so that every sum and
//! product recoup computes from them fits a `Decimal` (docs/ledger.md,
//! "Supported range").
//!
//! Why the bounds are enough: a ledger holds fewer than 2^32 rows per file
//! (rows are numbered by `u32`), so a sum of amounts stays below
//! 10^12 × 4.3·10^9 ≈ 4.3·10^21; a day count between two dates of years 1 to
//! 9999 is below 3.7·10^6, so the amount-weighted days past due of a
//! portfolio stay below 1.6·10^28; a rate below [`PERCENT_LIMIT`] accrues at
//! most 10^12 × 100 × 10^4 = 10^18 of interest on one invoice, 4.3·10^27 over
//! every invoice of a ledger: all under `Decimal::MAX` (≈ 7.9·10^28)
//! (`tests::the_worst_products_fit`). So the facts, KPIs and interest add
//! and multiply plainly: no total of checked values can overflow.

use rust_decimal::Decimal;

/// Every money value's absolute value is below this: 10^12.
pub const AMOUNT_LIMIT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// The largest supported amount: 999,999,999,999.99.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0x107A_3FFF, 0x5AF3, 0, false, 2);

/// Every percentage's absolute value is below this: 10^4 % (a rate of
/// interest, a fee or a change of limit of a hundred times the amount).
pub const PERCENT_LIMIT: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// Why a value is outside the supported range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("amounts must be below 1,000,000,000,000 (the largest is 999999999999.99)")]
    Amount,
    #[error("percentages must be below 10,000 %")]
    Percent,
}

/// `Ok(d)` when `d` is a supported amount: |d| < 10^12.
pub fn check_amount(d: Decimal) -> Result<Decimal, RangeError> {
    if below_pow10(d, 12) { Ok(d) } else { Err(RangeError::Amount) }
}

/// `|d| < 10^k`, read off the mantissa and scale (`|m| / 10^s < 10^k` is
/// `|m| < 10^(k + s)`): the loader checks every money cell, and this is a
/// few instructions where `d.abs() < limit` rescales both sides
/// (`tests::below_pow10_is_the_comparison` checks it against that).
fn below_pow10(d: Decimal, k: u32) -> bool {
    let e = k + d.scale();
    // A mantissa is below 2^96 (about 7.9·10^28): below any 10^e past 10^28.
    e > 28 || d.mantissa().unsigned_abs() < POW10[e as usize]
}

/// 10^0 ..= 10^28, for [`below_pow10`] (`u128::pow` loops).
const POW10: [u128; 29] = {
    let mut t = [1u128; 29];
    let mut i = 1;
    while i < 29 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `Ok(p)` when `p` is a supported percentage: |p| < 10^4.
pub fn check_percent(p: Decimal) -> Result<Decimal, RangeError> {
    if below_pow10(p, 4) { Ok(p) } else { Err(RangeError::Percent) }
}

/// The decimals of an amount of `code`: its ISO 4217 minor unit. 0 for the
/// currencies without one (JPY, KRW, CLP, ISK, VND, ...), 3 for the dinars
/// and rials that count thousandths (BHD, IQD, JOD, KWD, LYD, OMR, TND), 2
/// for every other code, and for a code recoup does not know.
///
/// A match on the code's three bytes as one integer: a few comparisons, no
/// map lookup (the run writes one per row of plan.csv and plan.jsonl).
pub fn minor_units(code: &str) -> u32 {
    const fn k(c: &[u8; 3]) -> u32 {
        (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32
    }
    let &[a, b, c] = code.as_bytes() else { return 2 };
    const BIF: u32 = k(b"BIF");
    const CLP: u32 = k(b"CLP");
    const DJF: u32 = k(b"DJF");
    const GNF: u32 = k(b"GNF");
    const ISK: u32 = k(b"ISK");
    const JPY: u32 = k(b"JPY");
    const KMF: u32 = k(b"KMF");
    const KRW: u32 = k(b"KRW");
    const PYG: u32 = k(b"PYG");
    const RWF: u32 = k(b"RWF");
    const UGX: u32 = k(b"UGX");
    const UYI: u32 = k(b"UYI");
    const VND: u32 = k(b"VND");
    const VUV: u32 = k(b"VUV");
    const XAF: u32 = k(b"XAF");
    const XOF: u32 = k(b"XOF");
    const XPF: u32 = k(b"XPF");
    const BHD: u32 = k(b"BHD");
    const IQD: u32 = k(b"IQD");
    const JOD: u32 = k(b"JOD");
    const KWD: u32 = k(b"KWD");
    const LYD: u32 = k(b"LYD");
    const OMR: u32 = k(b"OMR");
    const TND: u32 = k(b"TND");
    match k(&[a, b, c]) {
        BIF | CLP | DJF | GNF | ISK | JPY | KMF | KRW | PYG | RWF | UGX | UYI | VND | VUV | XAF | XOF | XPF => 0,
        BHD | IQD | JOD | KWD | LYD | OMR | TND => 3,
        _ => 2,
    }
}

/// `d` with exactly `units` decimals, rounded half away from zero
/// (`0.125` → `0.13`, `-0.5` → `-1` with none): the one rounding of money in
/// every output (docs/output.md, "Money").
pub fn round(d: Decimal, units: u32) -> Decimal {
    let mut r = if d.scale() > units {
        d.round_dp_with_strategy(units, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    } else {
        d
    };
    r.rescale(units);
    r
}

/// `*acc += x`: the same Decimal, digit for digit and scale for scale, as
/// `+=` gives, with a short path for the sums of a ledger's amounts (both of
/// one scale, or a first sum from zero, neither negative: open totals,
/// aging buckets), which `+=` takes through a call and its general case.
/// The sum of two 96-bit mantissas fits an `i128`; one that does not fit 96
/// bits again (which `+=` would round) goes through `+=`.
#[inline(always)]
pub fn add(acc: &mut Decimal, x: Decimal) {
    if acc.is_sign_positive() && x.is_sign_positive() {
        let (a, s) = (acc.scale(), x.scale());
        if a == s
            && let Ok(d) = Decimal::try_from_i128_with_scale(acc.mantissa() + x.mantissa(), s)
        {
            *acc = d;
            return;
        }
        // A first sum: zero (at no more decimals) and `x` is `x`.
        if a < s && acc.is_zero() {
            *acc = x;
            return;
        }
    }
    *acc += x;
}

thread_local! {
    /// The minor units of the currency in scope ([`Scope`]); 2 outside any.
    static UNITS: std::cell::Cell<u32> = const { std::cell::Cell::new(2) };
}

/// The minor units money is written with on this thread now: those of the
/// currency of the innermost [`Scope`], 2 outside any.
pub fn units() -> u32 {
    UNITS.with(|u| u.get())
}

/// While alive, money written on this thread without a currency of its own
/// ([`json::text`], `engine::words::money`, the serde helpers) has the minor
/// units of `code`: one customer's evaluation, explain, facts of a customer,
/// each value of a map keyed by currency. Dropping it restores the scope it
/// replaced.
#[must_use = "the scope ends when the guard is dropped"]
pub struct Scope {
    prev: u32,
}

impl Scope {
    /// Money in `code` until the guard drops.
    pub fn enter(code: &str) -> Scope {
        Scope::units(minor_units(code))
    }

    /// Money with `units` decimals until the guard drops.
    pub fn units(units: u32) -> Scope {
        Scope { prev: UNITS.with(|u| u.replace(units)) }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        UNITS.with(|u| u.set(self.prev));
    }
}

/// Money in recoup's JSON outputs (docs/output.md, "the machine contract"):
/// a decimal string with the minor units of the currency in scope
/// ([`Scope`]; two outside any), no thousands separators, as plan.csv
/// writes it: `"210.00"` (`"210"` in yen, `"210.000"` in Bahraini dinars),
/// never `"11,000.00"`. Read back from a string or a number.
/// Use with `#[serde(with = "crate::money::json")]`.
pub mod json {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    /// `d` as the machine contract writes money, with the minor units of
    /// the currency in scope: `-?[0-9]+(\.[0-9]+)?`.
    pub fn text(d: Decimal) -> String {
        text_in(d, super::units())
    }

    /// `d` with `units` decimals, as the machine contract writes money.
    pub fn text_in(d: Decimal, units: u32) -> String {
        let mut buf = Vec::with_capacity(16);
        crate::plan::write::push_money_in(&mut buf, d, units);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// A map keyed by currency code, each value serialized in the scope of
    /// its code (its money with that currency's minor units).
    /// Use with `#[serde(serialize_with = "crate::money::json::by_currency")]`.
    pub fn by_currency<T: serde::Serialize, S: Serializer>(
        m: &std::collections::BTreeMap<String, T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(k, v)| (k, InCurrency(k, v))))
    }

    /// `value` serialized in the scope of the currency `code`.
    pub struct InCurrency<'a, T>(pub &'a str, pub &'a T);

    impl<T: serde::Serialize> serde::Serialize for InCurrency<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let _scope = super::Scope::enter(self.0);
            self.1.serialize(s)
        }
    }

    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        <Decimal as Deserialize>::deserialize(d)
    }

    /// An optional amount: `null` when absent.
    pub mod opt {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_str(&super::text(*d)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            Option::<Decimal>::deserialize(d)
        }
    }

    /// A map of amounts by currency code.
    pub mod map {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};
        use std::collections::BTreeMap;

        pub fn serialize<S: Serializer>(m: &BTreeMap<String, Decimal>, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(m.iter().map(|(k, v)| (k, super::text_in(*v, crate::money::minor_units(k)))))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Decimal>, D::Error> {
            BTreeMap::<String, Decimal>::deserialize(d)
        }
    }
}

#[cfg(test)]
mod tests {
    /// [`add`] gives `+=`'s Decimal (value, scale, sign, text) on both sides of its short path.
    #[test]
    fn add_is_plus_assign() {
        let texts = [
            "0",
            "0.00",
            "0.000",
            "-0.00",
            "1.50",
            "2.25",
            "-3.10",
            "0.001",
            "123456.78",
            "79228162514264337593543950335",
            "79228162514264337593543950.335",
            "39614081257132168796771975168",
            "0.0000000000000000000000000001",
            "4294967295",
            "4294967296.00",
            "18446744073709551615.00",
        ];
        let values: Vec<Decimal> = texts.iter().map(|t| Decimal::from_str(t).unwrap()).collect();
        for &a in &values {
            for &b in &values {
                // (A sum past Decimal's range panics either way.)
                let Some(plain) = a.checked_add(b) else { continue };
                let mut fast = a;
                add(&mut fast, b);
                assert_eq!(
                    (fast.mantissa(), fast.scale(), fast.is_sign_negative(), fast.to_string()),
                    (plain.mantissa(), plain.scale(), plain.is_sign_negative(), plain.to_string()),
                    "{a} + {b}"
                );
            }
        }
    }

    /// The fast range check is the plain comparison, at every scale and on both sides of the limits.
    #[test]
    fn below_pow10_is_the_comparison() {
        use std::str::FromStr;
        let mut values = vec![Decimal::ZERO, Decimal::MAX, Decimal::MIN, MAX_AMOUNT, AMOUNT_LIMIT, PERCENT_LIMIT];
        for text in [
            "999999999999.99",
            "1000000000000",
            "1000000000000.0000001",
            "999999999999.9999999999999999",
            "9999.9999",
            "10000",
            "0.0000000000000000000000000001",
            "79228162514264337593543950335",
        ] {
            values.push(Decimal::from_str(text).unwrap());
        }
        for scale in 0..=28 {
            for m in
                [1i128, 9, 10, 999_999_999_999, 1_000_000_000_000, 10i128.pow(18), 10i128.pow(27) - 1, 10i128.pow(28)]
            {
                values.push(Decimal::from_i128_with_scale(m, scale));
            }
        }
        for v in values {
            for d in [v, -v] {
                assert_eq!(below_pow10(d, 12), d.abs() < AMOUNT_LIMIT, "{d}");
                assert_eq!(below_pow10(d, 4), d.abs() < PERCENT_LIMIT, "{d}");
            }
        }
    }

    use super::*;
    use std::str::FromStr;

    #[test]
    fn the_bounds_are_what_they_say() {
        assert_eq!(AMOUNT_LIMIT, Decimal::from_str("1000000000000").unwrap());
        assert_eq!(MAX_AMOUNT, Decimal::from_str("999999999999.99").unwrap());
        assert_eq!(MAX_AMOUNT.to_string(), "999999999999.99");
        assert_eq!(PERCENT_LIMIT, Decimal::from(10_000));
        assert_eq!(check_amount(MAX_AMOUNT), Ok(MAX_AMOUNT));
        assert_eq!(check_amount(-MAX_AMOUNT), Ok(-MAX_AMOUNT));
        assert_eq!(check_amount(AMOUNT_LIMIT), Err(RangeError::Amount));
        assert_eq!(check_amount(Decimal::MAX), Err(RangeError::Amount));
        assert_eq!(check_amount(Decimal::MIN), Err(RangeError::Amount));
        assert_eq!(check_percent(Decimal::new(999_999, 2)), Ok(Decimal::new(999_999, 2)));
        assert_eq!(check_percent(Decimal::from(10_000)), Err(RangeError::Percent));
        assert_eq!(check_percent(Decimal::from_str("1000000000000000000000000000").unwrap()), Err(RangeError::Percent));
    }

    /// Products the engine forms stay far from `Decimal::MAX` at the bounds.
    #[test]
    fn the_worst_products_fit() {
        let days = Decimal::from(3_652_059); // 0001-01-01 to 9999-12-31
        let rows = Decimal::from(u32::MAX);
        let total = MAX_AMOUNT.checked_mul(rows).unwrap();
        assert!(total.checked_mul(days).is_some(), "sum of amount × days over every row");
        // Interest as `Interest::accrued` computes it, at the largest rate, on
        // the largest amount, for the most days, over every row.
        let rate = PERCENT_LIMIT;
        let one = MAX_AMOUNT.checked_mul(rate).unwrap() / Decimal::ONE_HUNDRED / Decimal::from(360);
        let one = one.checked_mul(days).unwrap();
        assert!(one.checked_mul(rows).is_some(), "interest of every row");
        assert!(one.checked_mul(rows).unwrap() < Decimal::MAX / Decimal::from(5));
    }
}
