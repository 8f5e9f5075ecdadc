//! Dates as day numbers (days since 1970-01-01): integer arithmetic in the
//! simulation, civil dates only when a row is written. The conversions are
//! Howard Hinnant's `days_from_civil` / `civil_from_days`, total for any day.

use chrono::{Datelike, NaiveDate};

/// Days since 1970-01-01.
pub type Day = i32;

/// The day number of a calendar date.
pub fn from_ymd(year: i32, month: u32, day: u32) -> Day {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as Day
}

/// The day number of a chrono date.
pub fn from_date(date: NaiveDate) -> Day {
    from_ymd(date.year(), date.month(), date.day())
}

/// Year, month (1–12) and day of month (1–31) of a day number.
pub fn ymd(day: Day) -> (i32, u32, u32) {
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((yoe + era * 400) as i32 + i32::from(m <= 2), m, d)
}

/// The month (1–12) a day falls in.
pub fn month(day: Day) -> u32 {
    ymd(day).1
}

/// The same day of the month `months` months later (or earlier), clamped to
/// the end of a shorter month (Jan 31 + 1 month = Feb 28/29).
pub fn add_months(day: Day, months: i32) -> Day {
    let (y, m, d) = ymd(day);
    let index = y * 12 + m as i32 - 1 + months;
    let (ny, nm) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    let first = from_ymd(ny, nm, 1);
    let next = first_of_next_month(ny, nm);
    let len = (next - first) as u32;
    first + d.min(len) as Day - 1
}

fn first_of_next_month(year: i32, month: u32) -> Day {
    if month == 12 { from_ymd(year + 1, 1, 1) } else { from_ymd(year, month + 1, 1) }
}

/// The day itself if it falls Monday to Friday, else the Monday after.
pub fn business_day_from(day: Day) -> Day {
    // Day 0, 1970-01-01, was a Thursday: weekday 0 is Monday.
    match (day + 3).rem_euclid(7) {
        5 => day + 2,
        6 => day + 1,
        _ => day,
    }
}

/// Append `YYYY-MM-DD` (years 0–9999 are four digits).
pub fn push_iso(buf: &mut Vec<u8>, day: Day) {
    let (y, m, d) = ymd(day);
    push_digits(buf, y.max(0) as u32, 4);
    buf.push(b'-');
    push_digits(buf, m, 2);
    buf.push(b'-');
    push_digits(buf, d, 2);
}

fn push_digits(buf: &mut Vec<u8>, mut n: u32, width: usize) {
    let start = buf.len();
    buf.resize(start + width, b'0');
    for slot in buf[start..].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Months;

    #[test]
    fn round_trips_against_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for n in (-700_000..2_900_000).step_by(997) {
            let date = epoch + chrono::TimeDelta::days(n);
            let day = from_date(date);
            assert_eq!(i64::from(day), n);
            assert_eq!(ymd(day), (date.year(), date.month(), date.day()));
            let mut buf = Vec::new();
            push_iso(&mut buf, day);
            assert_eq!(String::from_utf8(buf).unwrap(), date.format("%Y-%m-%d").to_string());
        }
    }

    #[test]
    fn business_days_match_chrono_weekdays() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        for n in 0..60 {
            let date = start + chrono::TimeDelta::days(n);
            let got = ymd(business_day_from(from_date(date)));
            let want = match date.weekday() {
                chrono::Weekday::Sat => date + chrono::TimeDelta::days(2),
                chrono::Weekday::Sun => date + chrono::TimeDelta::days(1),
                _ => date,
            };
            assert_eq!(got, (want.year(), want.month(), want.day()), "{date}");
        }
    }

    #[test]
    fn months_clamp_like_chrono() {
        for (y, m, d) in [(2026, 1, 31), (2024, 1, 31), (2026, 11, 16), (2025, 12, 31), (2026, 3, 30)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            for k in 0..30u32 {
                let want = date.checked_add_months(Months::new(k)).unwrap();
                assert_eq!(add_months(from_date(date), k as i32), from_date(want), "{date} + {k}");
                let back = date.checked_sub_months(Months::new(k)).unwrap();
                assert_eq!(add_months(from_date(date), -(k as i32)), from_date(back), "{date} - {k}");
            }
        }
    }
}
