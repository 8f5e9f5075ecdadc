//! Statutory interest to the penny, each figure worked by hand in the
//! comments. The rate table is an example (not the Bank's or the ECB's
//! history): 4.00 % from 2025-08-07, 3.75 % from 2025-12-18, 3.50 % from
//! 2026-03-19.

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn table() -> RateTable {
    RateTable {
        rates: vec![(d("2025-08-07"), dec("4.00")), (d("2025-12-18"), dec("3.75")), (d("2026-03-19"), dec("3.50"))],
        margin_pct: dec("8"),
    }
}

#[test]
fn a_uk_debt_part_paid_after_its_due_date() {
    // 12,000.00 due 2026-03-31; 5,000.00 paid on 2026-05-01; as of 2026-06-30.
    // Interest runs from 2026-04-01 (January-June): the base rate in force on
    // 31 Dec 2025 is 3.75 %, + 8 = 11.75 % for the whole debt (3.50 % was in
    // force when it fell due, but the Act fixes the rate at 31 December).
    //   1 Apr - 30 Apr: 30 days on 12,000.00 -> 360,000
    //   1 May - 30 Jun: 61 days on  7,000.00 -> 427,000
    //   787,000 x 11.75 / 100 / 365 = 92,472.50 / 365 = 253.3493... -> 253.35
    let debt = Debt {
        due: d("2026-03-31"),
        as_of: d("2026-06-30"),
        open: dec("7000.00"),
        paid: vec![(d("2026-05-01"), dec("5000.00"))],
    };
    assert_eq!(table().accrued(Regime::UkLatePayment, 365, &debt), dec("253.35"));
    // Today's balance for every day (what recoup did before) would be
    // 7,000 x 11.75 % / 365 x 91 = 205.06: the law's figure is higher.
    // The compensation is sized on the debt as it fell due: 12,000.00 -> 100 GBP (7,000 would give 70).
    assert_eq!(debt.at_due(), dec("12000.00"));
    assert_eq!(compensation(Regime::UkLatePayment, debt.at_due()), dec("100"));
    // A payment on the last day counts from that day: nothing before it changes.
    let on_the_day = Debt { as_of: d("2026-05-01"), ..debt.clone() };
    // 30 days on 12,000 + 1 day on 7,000 = 367,000 x 11.75 / 36,500 = 118.1397... -> 118.14
    assert_eq!(table().accrued(Regime::UkLatePayment, 365, &on_the_day), dec("118.14"));
}

#[test]
fn a_debt_late_across_a_half_year_change_of_the_rate() {
    // 1,000.00 due 2026-05-31, unpaid, as of 2026-08-31: 30 days in June, 62 in July-August.
    let debt = Debt { due: d("2026-05-31"), as_of: d("2026-08-31"), open: dec("1000.00"), paid: vec![] };
    // UK: interest started in the January-June half: 31 Dec 2025's 3.75 % + 8, for all 92 days:
    //   1,000 x 11.75 x 92 / 36,500 = 10,810 / 365 = 29.6164... -> 29.62
    assert_eq!(table().accrued(Regime::UkLatePayment, 365, &debt), dec("29.62"));
    // EU: the rate of each half-year: 1 Jan 2026's 3.75 % in June, 1 Jul 2026's 3.50 % from July:
    //   1,000 x (11.75 x 30 + 11.50 x 62) / 36,500 = 1,000 x 1,065.5 / 36,500 = 29.1917... -> 29.19
    assert_eq!(table().accrued(Regime::Eu2011_7, 365, &debt), dec("29.19"));
    // A debt falling due in the July-December half (interest from 2026-07-01)
    // is fixed, in the UK, at 30 June 2026's rate: 3.50 % + 8 = 11.50 %.
    //   1,000 x 11.50 x 62 / 36,500 = 713 / 36.5 = 19.5342... -> 19.53
    let july = Debt { due: d("2026-06-30"), ..debt.clone() };
    assert_eq!(table().accrued(Regime::UkLatePayment, 365, &july), dec("19.53"));
    assert_eq!(table().accrued(Regime::Eu2011_7, 365, &july), dec("19.53"));
}

#[test]
fn nothing_accrues_on_or_before_the_due_date() {
    let debt = Debt { due: d("2026-05-31"), as_of: d("2026-05-31"), open: dec("1000.00"), paid: vec![] };
    assert_eq!(table().accrued(Regime::Eu2011_7, 365, &debt), Decimal::ZERO);
    // One day: 1,000 x 11.75 / 36,500 = 0.32191... -> 0.32
    let one = Debt { as_of: d("2026-06-01"), ..debt };
    assert_eq!(table().accrued(Regime::Eu2011_7, 365, &one), dec("0.32"));
}

#[test]
fn compensation_bands() {
    for (debt, uk) in
        [("0.01", "40"), ("999.99", "40"), ("1000.00", "70"), ("9999.99", "70"), ("10000.00", "100"), ("250000", "100")]
    {
        assert_eq!(compensation(Regime::UkLatePayment, dec(debt)), dec(uk), "{debt}");
        assert_eq!(compensation(Regime::Eu2011_7, dec(debt)), dec("40"), "{debt}");
        assert_eq!(compensation(Regime::Simple, dec(debt)), Decimal::ZERO, "{debt}");
    }
}

#[test]
fn a_steps_own_simple_rate() {
    // ERPNext: 2,500.00 at 12 % for 45 days: 2,500 x 12 x 45 / 36,500 = 36.9863... -> 36.99
    assert_eq!(simple(dec("2500.00"), dec("12"), 365, 45), dec("36.99"));
    assert_eq!(simple(dec("2500.00"), dec("12"), 365, 0), Decimal::ZERO);
}

#[test]
fn the_rate_in_force() {
    let t = table();
    assert_eq!(t.in_force(d("2025-12-17")), dec("4.00"));
    assert_eq!(t.in_force(d("2025-12-18")), dec("3.75"));
    // Before the table's first date: its first rate.
    assert_eq!(t.in_force(d("2020-01-01")), dec("4.00"));
}
