//! Field decoders for ledger CSV cells: dates, money, integers, booleans and
//! enums, decoded by hand from bytes (no serde, no floats for money).

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Why a cell could not be decoded; rendered by [`crate::ledger::Problem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The cell is empty but the column is required.
    Missing,
    /// Not a `YYYY-MM-DD` calendar date.
    Date,
    /// Not a plain decimal number such as `1234.50`.
    Number,
    /// A number with more than two decimals where money is expected.
    TooPrecise,
    /// An amount outside the supported range ([`crate::money`]).
    OutOfRange,
    /// Not `true`/`false`.
    Bool,
    /// Not one of the allowed words.
    Enum(&'static [&'static str]),
    /// Not a payment term such as `NET30` or `2/10 NET30`.
    Terms,
    /// Not a built-in action kind nor one the policy declares.
    Kind,
    /// Not valid UTF-8.
    Utf8,
}

impl DecodeError {
    /// What the column expects, in words, for the error message.
    pub fn expected(&self) -> String {
        match self {
            DecodeError::Missing => "a value (this column is required)".into(),
            DecodeError::Date => "a date as YYYY-MM-DD, e.g. 2026-11-16".into(),
            DecodeError::Number => {
                "a decimal number such as 1234.50 (no thousands separators, no currency sign)".into()
            }
            DecodeError::TooPrecise => "an amount with at most 3 decimals (2 in most currencies)".into(),
            DecodeError::OutOfRange => {
                "an amount below 1,000,000,000,000 (the largest supported is 999999999999.99)".into()
            }
            DecodeError::Bool => "true or false".into(),
            DecodeError::Enum(allowed) => format!("one of {}", allowed.join(", ")),
            DecodeError::Terms => "payment terms such as NET30 or 2/10 NET30".into(),
            DecodeError::Kind => format!(
                "one of {}, or a kind the policy declares under [kinds] (a command that reads the ledger alone \
                 knows those only when given the policy: `--policy`; docs/policy.md, \"Your own action kinds\")",
                crate::ledger::ActionKind::WORDS.join(", ")
            ),
            DecodeError::Utf8 => "UTF-8 text".into(),
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Decode a required UTF-8 string cell.
pub fn text(b: &[u8]) -> Result<&str, DecodeError> {
    let s = std::str::from_utf8(trim(b)).map_err(|_| DecodeError::Utf8)?;
    if s.is_empty() { Err(DecodeError::Missing) } else { Ok(s) }
}

/// A required text cell already known to be UTF-8.
pub fn text_str(s: &str) -> Result<&str, DecodeError> {
    let s = s.trim_ascii();
    if s.is_empty() { Err(DecodeError::Missing) } else { Ok(s) }
}

/// An optional text cell already known to be UTF-8 (empty → `None`).
pub fn opt_text_str(s: &str) -> Result<Option<&str>, DecodeError> {
    let s = s.trim_ascii();
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// Decode an optional UTF-8 string cell (empty → `None`).
pub fn opt_text(b: &[u8]) -> Result<Option<&str>, DecodeError> {
    match text(b) {
        Ok(s) => Ok(Some(s)),
        Err(DecodeError::Missing) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Decode a required ISO `YYYY-MM-DD` date.
pub fn date(b: &[u8]) -> Result<NaiveDate, DecodeError> {
    let b = trim(b);
    if b.is_empty() {
        return Err(DecodeError::Missing);
    }
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = b else {
        return Err(DecodeError::Date);
    };
    // Each digit's value; a byte that is not a digit wraps to 10 or more.
    let v = [y0, y1, y2, y3, m0, m1, d0, d1].map(|c| u32::from(c.wrapping_sub(b'0')));
    if v.iter().any(|&x| x > 9) {
        return Err(DecodeError::Date);
    }
    let (y, m, d) = (v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], v[4] * 10 + v[5], v[6] * 10 + v[7]);
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(DecodeError::Date)
}

/// The dates decoded last, by their ten bytes: a ledger's dates repeat (a
/// few hundred days cover most rows), so most cells are found here instead
/// of being parsed and checked again. Direct-mapped, 4,096 slots (64 KB); one per
/// thread (see [`cached_date`]).
pub struct DateCache {
    slots: Box<[(u64, u16, Option<NaiveDate>); 4096]>,
}

impl Default for DateCache {
    fn default() -> Self {
        DateCache { slots: Box::new([(0, 0, None); 4096]) }
    }
}

thread_local! {
    static DATES: std::cell::RefCell<DateCache> = std::cell::RefCell::new(DateCache::default());
}

/// [`date`], through this thread's [`DateCache`].
pub fn cached_date(b: &[u8]) -> Result<NaiveDate, DecodeError> {
    DATES.with_borrow_mut(|c| c.date(b))
}

/// [`opt_date`], through this thread's [`DateCache`].
pub fn cached_opt_date(b: &[u8]) -> Result<Option<NaiveDate>, DecodeError> {
    if b.is_empty() {
        return Ok(None);
    }
    DATES.with_borrow_mut(|c| c.opt_date(b))
}

impl DateCache {
    /// [`date`], through the cache.
    pub fn date(&mut self, b: &[u8]) -> Result<NaiveDate, DecodeError> {
        let Some((head, tail)) = b.split_first_chunk::<8>().filter(|(_, t)| t.len() == 2) else {
            return date(b);
        };
        let (head, tail) = (u64::from_le_bytes(*head), u16::from_le_bytes([tail[0], tail[1]]));
        // Every byte moves the top bits of the products: the slot.
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let slot = ((head.wrapping_mul(K) ^ u64::from(tail)).wrapping_mul(K) >> (64 - 12)) as usize;
        if let (h, t, Some(d)) = self.slots[slot]
            && h == head
            && t == tail
        {
            return Ok(d);
        }
        let d = date(b)?;
        self.slots[slot] = (head, tail, Some(d));
        Ok(d)
    }

    /// [`opt_date`], through the cache.
    pub fn opt_date(&mut self, b: &[u8]) -> Result<Option<NaiveDate>, DecodeError> {
        if b.len() == 10 {
            return self.date(b).map(Some);
        }
        opt_date(b)
    }
}

/// Decode an optional date (empty → `None`).
pub fn opt_date(b: &[u8]) -> Result<Option<NaiveDate>, DecodeError> {
    match date(b) {
        Ok(d) => Ok(Some(d)),
        Err(DecodeError::Missing) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Decode a decimal number exactly (`-12.5`, `1234.50`, `7`); no exponent,
/// no thousands separators. Up to 28 significant digits.
pub fn decimal(b: &[u8]) -> Result<Decimal, DecodeError> {
    let b = trim(b);
    if b.is_empty() {
        return Err(DecodeError::Missing);
    }
    let (neg, body) = match b[0] {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if body.is_empty() {
        return Err(DecodeError::Number);
    }
    // Up to 19 digits fit a u64: the usual amount is built without i128
    // arithmetic.
    if body.len() <= 19 {
        let (mut m, mut scale, mut dot, mut digits) = (0u64, 0u32, false, 0u32);
        for &c in body {
            match c {
                b'0'..=b'9' => {
                    m = m * 10 + u64::from(c - b'0');
                    digits += 1;
                    scale += u32::from(dot);
                }
                b'.' if !dot => dot = true,
                _ => return Err(DecodeError::Number),
            }
        }
        if digits == 0 {
            return Err(DecodeError::Number);
        }
        return Ok(Decimal::from_parts(m as u32, (m >> 32) as u32, 0, neg && m != 0, scale));
    }
    let mut mantissa: i128 = 0;
    let mut scale: u32 = 0;
    let mut seen_dot = false;
    let mut n_digits = 0u32;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                n_digits += 1;
                if n_digits > 28 {
                    return Err(DecodeError::Number);
                }
                mantissa = mantissa * 10 + i128::from(c - b'0');
                if seen_dot {
                    scale += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return Err(DecodeError::Number),
        }
    }
    if n_digits == 0 {
        return Err(DecodeError::Number);
    }
    if neg {
        mantissa = -mantissa;
    }
    Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| DecodeError::Number)
}

/// Decode money: a decimal with at most two decimals (the currency minor
/// unit), in the supported range ([`crate::money::check_amount`]).
pub fn money(b: &[u8]) -> Result<Decimal, DecodeError> {
    // The usual cell (at most 12 integer digits and 2 decimals) is in range by
    // its digit count: no rescaling, no power of ten.
    let t = trim(b);
    let (neg, body) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    // The fraction is what follows a dot one or two bytes from the end (the
    // usual `1234.56`); the digits are then read without tracking the dot,
    // each checked by one subtraction and one comparison.
    let n = body.len();
    if n <= 15 {
        let (int, frac): (&[u8], &[u8]) = if n >= 3 && body[n - 3] == b'.' {
            (&body[..n - 3], &body[n - 2..])
        } else if n >= 2 && body[n - 2] == b'.' {
            (&body[..n - 2], &body[n - 1..])
        } else if n >= 2 && body[n - 1] == b'.' {
            (&body[..n - 1], &[])
        } else {
            (body, &[])
        };
        if int.len() <= 12 && !(int.is_empty() && frac.is_empty()) {
            let (mut m, mut ok) = (0u64, true);
            for &c in int {
                let d = c.wrapping_sub(b'0');
                ok &= d <= 9;
                m = m * 10 + u64::from(d);
            }
            for &c in frac {
                let d = c.wrapping_sub(b'0');
                ok &= d <= 9;
                m = m * 10 + u64::from(d);
            }
            if ok {
                return Ok(Decimal::from_parts(m as u32, (m >> 32) as u32, 0, neg && m != 0, frac.len() as u32));
            }
        }
    }
    money_checked(b)
}

/// [`money`] for the cells its shortcut leaves: more digits, more decimals
/// (`1.5000` is fine, `1.5005` is not), or not a number at all. A third
/// decimal is accepted here (the dinars of BHD, KWD, ... have three); the
/// row checks it against its customer's currency ([`fits_currency`]).
#[cold]
fn money_checked(b: &[u8]) -> Result<Decimal, DecodeError> {
    let d = decimal(b)?;
    if d.scale() > 3 && d.normalize().scale() > 3 {
        return Err(DecodeError::TooPrecise);
    }
    crate::money::check_amount(d).map_err(|_| DecodeError::OutOfRange)
}

/// Whether an amount's decimals fit its currency's minor units: none in
/// yen (`1500`, `1500.00`, not `1500.50`), a third only in the dinars of
/// BHD, KWD, ... (trailing zeros are not decimals). Cheap for the usual
/// amount: a read of its scale and of the currency's units.
#[inline]
pub fn fits_currency(d: Decimal, currency: &str) -> bool {
    d.scale() == 0 || fits_units(d, crate::money::minor_units(currency))
}

/// Whether an amount has no more decimals than `units` (trailing zeros
/// are not decimals).
#[inline]
pub fn fits_units(d: Decimal, units: u32) -> bool {
    d.scale() <= units || d.normalize().scale() <= units
}

/// Decode an optional float score (empty → `None`). Scores are not money.
pub fn opt_score(b: &[u8]) -> Result<Option<f64>, DecodeError> {
    let t = trim(b);
    if t.is_empty() {
        return Ok(None);
    }
    let d = decimal(t)?;
    Ok(Some(rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(0.0)))
}

/// Decode a boolean flag; empty means `false`.
pub fn flag(b: &[u8]) -> Result<bool, DecodeError> {
    let t = trim(b);
    if t.is_empty() {
        return Ok(false);
    }
    match t.to_ascii_lowercase().as_slice() {
        b"true" | b"1" | b"yes" | b"y" => Ok(true),
        b"false" | b"0" | b"no" | b"n" => Ok(false),
        _ => Err(DecodeError::Bool),
    }
}

/// Payment terms: net days and an optional early-payment discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Terms {
    /// Days from issue to due date (`NET30` → 30).
    pub net_days: u16,
    /// Early-payment discount in percent (`2/10 NET30` → 2).
    pub discount_pct: Option<Decimal>,
    /// Days within which the discount applies (`2/10 NET30` → 10).
    pub discount_days: Option<u16>,
}

/// Decode payment terms: `NET30`, `NET 30`, `2/10 NET30`, `DUE` (on receipt).
pub fn terms(b: &[u8]) -> Result<Terms, DecodeError> {
    let t = trim(b);
    if t.is_empty() {
        return Err(DecodeError::Missing);
    }
    let upper = t.to_ascii_uppercase();
    let s = std::str::from_utf8(&upper).map_err(|_| DecodeError::Utf8)?;
    if s == "DUE" || s == "COD" {
        return Ok(Terms { net_days: 0, discount_pct: None, discount_days: None });
    }
    let (disc, net) = match s.split_once(' ') {
        Some((d, n)) if d.contains('/') => (Some(d), n.trim()),
        _ => (None, s),
    };
    let net = net.strip_prefix("NET").ok_or(DecodeError::Terms)?.trim();
    let net_days = net.parse::<u16>().map_err(|_| DecodeError::Terms)?;
    let (discount_pct, discount_days) = match disc {
        None => (None, None),
        Some(d) => {
            let (pct, days) = d.split_once('/').ok_or(DecodeError::Terms)?;
            let pct = decimal(pct.as_bytes()).map_err(|_| DecodeError::Terms)?;
            if pct < Decimal::ZERO || pct >= Decimal::ONE_HUNDRED {
                return Err(DecodeError::Terms);
            }
            let days = days.parse::<u16>().map_err(|_| DecodeError::Terms)?;
            (Some(pct), Some(days))
        }
    };
    Ok(Terms { net_days, discount_pct, discount_days })
}

/// Decode one of a fixed set of lowercase words (case-insensitive).
#[inline]
pub fn word<T: Copy>(
    b: &[u8],
    table: &[(&'static str, T)],
    allowed: &'static [&'static str],
) -> Result<T, DecodeError> {
    let t = trim(b);
    if t.is_empty() {
        return Err(DecodeError::Missing);
    }
    // Exact (lowercase) words first: the length and first byte rule most
    // entries out before any bytes are compared (no call to `memcmp`).
    let exact = table.iter().find(|(w, _)| {
        let w = w.as_bytes();
        w.len() == t.len() && w[0] == t[0] && w.iter().zip(t).all(|(a, b)| a == b)
    });
    exact
        .or_else(|| table.iter().find(|(w, _)| w.as_bytes().eq_ignore_ascii_case(t)))
        .map(|(_, v)| *v)
        .ok_or(DecodeError::Enum(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn dates() {
        assert_eq!(date(b"2026-11-16"), Ok(NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()));
        assert_eq!(date(b" 2024-02-29 "), Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()));
        assert_eq!(date(b"2025-02-29"), Err(DecodeError::Date));
        assert_eq!(date(b"2026-13-01"), Err(DecodeError::Date));
        assert_eq!(date(b"16/11/2026"), Err(DecodeError::Date));
        assert_eq!(date(b""), Err(DecodeError::Missing));
        assert_eq!(opt_date(b""), Ok(None));
        for bad in ["2026-1a-01", "2026/11/16", "20261-1-016", "2026-11-1", "2026-11-00", "0000-00-00", "2026-11-16x"] {
            assert_eq!(date(bad.as_bytes()), Err(DecodeError::Date), "{bad}");
        }
        assert_eq!(date(b"0001-01-01"), Ok(NaiveDate::from_ymd_opt(1, 1, 1).unwrap()));
    }

    #[test]
    fn the_date_cache_decodes_as_date_does() {
        let mut cache = DateCache::default();
        let cells =
            ["2026-11-16", "2026-11-16", "2025-02-29", "2024-02-29", "2026-11-16", "2026-11-1x", "", " 2026-11-16 "];
        for _ in 0..3 {
            for day in 0..800 {
                let d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(day);
                let cell = d.format("%Y-%m-%d").to_string();
                assert_eq!(cache.date(cell.as_bytes()), Ok(d));
            }
            for c in cells {
                assert_eq!(cache.date(c.as_bytes()), date(c.as_bytes()), "{c:?}");
                assert_eq!(cache.opt_date(c.as_bytes()), opt_date(c.as_bytes()), "{c:?}");
                assert_eq!(cached_date(c.as_bytes()), date(c.as_bytes()), "{c:?}");
                assert_eq!(cached_opt_date(c.as_bytes()), opt_date(c.as_bytes()), "{c:?}");
            }
        }
    }

    /// The u64 fast path (up to 19 characters) and the i128 path agree with
    /// rust_decimal's own exact parser, digits and scale, on both sides of
    /// the cut.
    #[test]
    fn decimals_agree_with_rust_decimal_on_both_paths() {
        let cases = [
            "0",
            "-0",
            "+0",
            "0.00",
            "-0.00",
            "-0.01",
            "+12.5",
            "000123.4500",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "-999999999999999.9999",
            "1234567890123456789.0",
            "1.234567890123456789012345678",
            "9999999999999999999999999999",
            "0.000000000000000000000000001",
        ];
        for s in cases {
            let want = Decimal::from_str_exact(s.trim_start_matches('+')).unwrap();
            let got = decimal(s.as_bytes()).unwrap();
            assert_eq!(
                (got, got.scale(), got.is_sign_negative()),
                (want, want.scale(), want.is_sign_negative()),
                "{s}"
            );
        }
        assert_eq!(decimal(b"99999999999999999999999999999"), Err(DecodeError::Number), "29 digits");
    }

    #[test]
    fn large_amounts_round_trip_exactly() {
        for s in ["37298.60", "123456789012.34", "999999999999.99", "0.01", "-5.00", "7", "1234.5"] {
            let d = money(s.as_bytes()).unwrap();
            assert_eq!(d, Decimal::from_str(s).unwrap(), "{s}");
            assert_eq!(d.to_string(), s, "{s} keeps its digits and scale");
        }
    }

    #[test]
    fn bad_numbers() {
        for s in ["1,234.50", "$12", "1e5", "12.3.4", "-", ".", "abc"] {
            assert_eq!(decimal(s.as_bytes()), Err(DecodeError::Number), "{s}");
        }
        assert_eq!(money(b"1.0005"), Err(DecodeError::TooPrecise));
        assert_eq!(money(b"1.005"), Ok(Decimal::new(1005, 3)), "a third decimal is the row's to judge");
        assert!(fits_currency(Decimal::new(1005, 3), "BHD") && !fits_currency(Decimal::new(1005, 3), "USD"));
        assert!(fits_currency(Decimal::new(1500, 3), "USD"), "a trailing zero is not a decimal");
        assert!(fits_currency(Decimal::new(150000, 2), "JPY") && fits_currency(Decimal::new(1500, 0), "JPY"));
        assert!(!fits_currency(Decimal::new(150050, 2), "JPY"), "yen have no minor unit");
        assert_eq!(money(b"1.500"), Ok(Decimal::new(1500, 3)));
    }

    /// Money beyond the supported range is refused, however it is written;
    /// the largest amount and its negative pass.
    #[test]
    fn money_out_of_range() {
        for s in ["999999999999.99", "-999999999999.99", "999999999999.990", "0.01"] {
            assert!(money(s.as_bytes()).is_ok(), "{s}");
        }
        for s in [
            "1000000000000",
            "1000000000000.00",
            "-1000000000000",
            "9999999999999999999999999.99",
            "99999999999999999999999999.99",
            "9999999999999999999999999999",
        ] {
            assert_eq!(money(s.as_bytes()), Err(DecodeError::OutOfRange), "{s}");
        }
        // Early-payment discounts in the terms are percentages below 100.
        assert_eq!(terms(b"99999999999999999999/10 NET30"), Err(DecodeError::Terms));
        assert_eq!(terms(b"100/10 NET30"), Err(DecodeError::Terms));
    }

    /// The shortcut in [`money`] gives what the full check gives, bit for bit
    /// (value, scale and sign), on every cell shape around its edges.
    #[test]
    fn the_money_shortcut_is_the_full_check() {
        let mut cells: Vec<String> = Vec::new();
        for int in ["", "0", "7", "00", "12", "999999999999", "000000000001", "1000000000000", "0000000000000"] {
            for frac in ["", ".", ".5", ".50", ".05", ".500", ".505", ".0"] {
                for sign in ["", "-", "+"] {
                    for pad in ["", " "] {
                        cells.push(format!("{pad}{sign}{int}{frac}{pad}"));
                    }
                }
            }
        }
        cells.extend(
            ["-0", "-0.00", "1.2.3", "1a", "a", "-", "+", "12345678901234", "1234567890123.4"].map(String::from),
        );
        for c in cells {
            let (fast, full) = (money(c.as_bytes()), money_checked(c.as_bytes()));
            assert_eq!(fast, full, "{c:?}");
            if let (Ok(a), Ok(b)) = (fast, full) {
                assert_eq!((a.serialize(), a.to_string()), (b.serialize(), b.to_string()), "{c:?}");
            }
        }
    }

    /// Words match exactly, then case-insensitively; lengths told apart.
    #[test]
    fn words_decode_exactly_and_case_insensitively() {
        const LONG: &str = "a_word_of_twenty_six_bytes";
        let table: &[(&str, u8)] = &[("open", 1), ("open_x", 2), ("payment_plan_offer", 3), (LONG, 4)];
        let decode = |c: &str| word(c.as_bytes(), table, &["open"]);
        assert_eq!(decode("open"), Ok(1));
        assert_eq!(decode(" OPEN "), Ok(1));
        assert_eq!(decode("open_x"), Ok(2));
        assert_eq!(decode("Payment_Plan_Offer"), Ok(3));
        assert_eq!(decode(LONG), Ok(4));
        assert_eq!(decode(&LONG.to_uppercase()), Ok(4));
        for bad in ["ope", "open\0", "open_", "openx", "payment_plan_offe", "payment_plan_offerr"] {
            assert_eq!(decode(bad), Err(DecodeError::Enum(&["open"])), "{bad}");
        }
        assert_eq!(decode(""), Err(DecodeError::Missing));
    }

    #[test]
    fn payment_terms() {
        assert_eq!(terms(b"NET30").unwrap().net_days, 30);
        assert_eq!(terms(b"net 45").unwrap().net_days, 45);
        let t = terms(b"2/10 NET30").unwrap();
        assert_eq!((t.net_days, t.discount_pct, t.discount_days), (30, Some(Decimal::new(2, 0)), Some(10)));
        assert_eq!(terms(b"DUE").unwrap().net_days, 0);
        assert_eq!(terms(b"30 days"), Err(DecodeError::Terms));
    }

    #[test]
    fn flags() {
        assert_eq!(flag(b""), Ok(false));
        assert_eq!(flag(b"TRUE"), Ok(true));
        assert_eq!(flag(b"0"), Ok(false));
        assert_eq!(flag(b"maybe"), Err(DecodeError::Bool));
    }
}
