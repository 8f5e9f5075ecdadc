//! Hand-checked holiday dates: each list was worked out from the rules with a
//! printed calendar (1 Jan 2026 is a Thursday, 1 Jan 2027 a Friday; Easter
//! Sunday is 5 Apr 2026 and 28 Mar 2027) and compared with the governments'
//! published lists (gov.uk bank holidays, opm.gov federal holidays).

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The days of `country`'s holidays in `year` as `MM-DD`.
fn days(country: &str, year: i32) -> Vec<String> {
    public_holidays(country, year).unwrap().iter().map(|h| h.date.format("%m-%d").to_string()).collect()
}

fn name(country: &str, date: &str) -> String {
    let date = d(date);
    public_holidays(country, date.year())
        .unwrap()
        .into_iter()
        .find(|h| h.date == date)
        .map(|h| h.name)
        .unwrap_or_default()
}

#[test]
fn easter_sundays() {
    // Known dates: 2024-03-31, 2025-04-20, 2026-04-05, 2027-03-28, 2038-04-25 (the latest possible), 2285-03-22 (the earliest).
    for (y, e) in [
        (2024, "2024-03-31"),
        (2025, "2025-04-20"),
        (2026, "2026-04-05"),
        (2027, "2027-03-28"),
        (2038, "2038-04-25"),
        (2285, "2285-03-22"),
    ] {
        assert_eq!(easter(y), Some(d(e)), "{y}");
    }
}

#[test]
fn us_federal() {
    // 2026: 4 July is a Saturday, observed Friday 3 July; Thanksgiving the 4th Thursday, 26 Nov.
    assert_eq!(
        days("US", 2026),
        ["01-01", "01-19", "02-16", "05-25", "06-19", "07-03", "09-07", "10-12", "11-11", "11-26", "12-25"]
    );
    assert_eq!(name("US", "2026-11-26"), "Thanksgiving Day");
    assert_eq!(name("US", "2026-07-03"), "Independence Day (observed)");
    // 2027: Juneteenth (Sat) on Fri 18 Jun, 4 July (Sun) on Mon 5 Jul, Christmas (Sat) on Fri 24 Dec,
    // and New Year's Day 2028 (a Saturday) on Friday 31 Dec 2027.
    assert_eq!(
        days("US", 2027),
        ["01-01", "01-18", "02-15", "05-31", "06-18", "07-05", "09-06", "10-11", "11-11", "11-25", "12-24", "12-31"]
    );
    assert_eq!(name("US", "2027-12-31"), "New Year's Day (observed)");
}

#[test]
fn gb_england_and_wales() {
    // 2026: Boxing Day is a Saturday: the substitute day is Monday 28 Dec.
    assert_eq!(days("GB", 2026), ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"]);
    assert_eq!(name("GB", "2026-12-28"), "Boxing Day (substitute day)");
    // 2027: Easter Monday 29 Mar; Christmas (Sat) and Boxing Day (Sun) move to Mon 27 and Tue 28.
    assert_eq!(days("GB", 2027), ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"]);
    assert_eq!(name("GB", "2027-03-29"), "Easter Monday");
    assert_eq!(name("GB", "2027-12-27"), "Christmas Day (substitute day)");
    // 2022: Christmas on a Sunday, Boxing Day on the Monday: Christmas's substitute is Tuesday 27 Dec.
    assert_eq!(name("GB", "2022-12-26"), "Boxing Day");
    assert_eq!(name("GB", "2022-12-27"), "Christmas Day (substitute day)");
    // 2022: New Year's Day on a Saturday: Monday 3 Jan.
    assert_eq!(name("GB", "2022-01-03"), "New Year's Day (substitute day)");
}

#[test]
fn de_national() {
    // Pfingstmontag 2026 is 25 May (Easter + 50); no substitution (3 Oct 2026 stays a Saturday).
    assert_eq!(days("DE", 2026), ["01-01", "04-03", "04-06", "05-01", "05-14", "05-25", "10-03", "12-25", "12-26"]);
    assert_eq!(name("DE", "2026-05-25"), "Pfingstmontag");
    assert_eq!(days("DE", 2027), ["01-01", "03-26", "03-29", "05-01", "05-06", "05-17", "10-03", "12-25", "12-26"]);
}

#[test]
fn fr() {
    assert_eq!(
        days("FR", 2026),
        ["01-01", "04-06", "05-01", "05-08", "05-14", "05-25", "07-14", "08-15", "11-01", "11-11", "12-25"]
    );
    // 2027: Ascension (6 May) comes before Victoire 1945 (8 May).
    assert_eq!(
        days("FR", 2027),
        ["01-01", "03-29", "05-01", "05-06", "05-08", "05-17", "07-14", "08-15", "11-01", "11-11", "12-25"]
    );
}

#[test]
fn nl() {
    assert_eq!(days("NL", 2026), ["01-01", "04-06", "04-27", "05-05", "05-14", "05-25", "12-25", "12-26"]);
    assert_eq!(days("NL", 2027), ["01-01", "03-29", "04-27", "05-05", "05-06", "05-17", "12-25", "12-26"]);
    // 27 April 2025 was a Sunday: Koningsdag was Saturday 26 April.
    assert_eq!(name("NL", "2025-04-26"), "Koningsdag");
}

#[test]
fn es_national() {
    assert_eq!(
        days("ES", 2026),
        ["01-01", "01-06", "04-03", "05-01", "08-15", "10-12", "11-01", "12-06", "12-08", "12-25"]
    );
    assert_eq!(
        days("ES", 2027),
        ["01-01", "01-06", "03-26", "05-01", "08-15", "10-12", "11-01", "12-06", "12-08", "12-25"]
    );
}

#[test]
fn it() {
    // San Francesco (4 Oct) is a national holiday again from 2026.
    assert_eq!(
        days("IT", 2026),
        ["01-01", "01-06", "04-06", "04-25", "05-01", "06-02", "08-15", "10-04", "11-01", "12-08", "12-25", "12-26"]
    );
    assert_eq!(
        days("IT", 2027),
        ["01-01", "01-06", "03-29", "04-25", "05-01", "06-02", "08-15", "10-04", "11-01", "12-08", "12-25", "12-26"]
    );
    assert!(!days("IT", 2025).contains(&"10-04".to_string()));
}

#[test]
fn ca_federal() {
    // Victoria Day: the Monday before 25 May (18 May 2026, when the 25th is itself a Monday; 24 May 2027).
    assert_eq!(
        days("CA", 2026),
        ["01-01", "04-03", "05-18", "07-01", "09-07", "09-30", "10-12", "11-11", "12-25", "12-28"]
    );
    assert_eq!(
        days("CA", 2027),
        ["01-01", "03-26", "05-24", "07-01", "09-06", "09-30", "10-11", "11-11", "12-27", "12-28"]
    );
}

#[test]
fn au_national() {
    // Anzac Day is not moved nationally (a Saturday in 2026, a Sunday in 2027).
    assert_eq!(days("AU", 2026), ["01-01", "01-26", "04-03", "04-06", "04-25", "12-25", "12-28"]);
    assert_eq!(days("AU", 2027), ["01-01", "01-26", "03-26", "03-29", "04-25", "12-27", "12-28"]);
}

#[test]
fn unknown_country_has_no_calendar() {
    assert!(public_holidays("JP", 2026).is_none());
    let c = Calendars::new(true, Vec::new());
    assert_eq!(c.holiday("JP", d("2026-01-01")), None);
}

#[test]
fn closures_and_public_holidays_together() {
    let (closures, problems) =
        read_closures("date,country,name\n2026-12-24,,Office closed\n2026-12-31,GB,Year-end close\n");
    assert!(problems.is_empty(), "{problems:?}");
    let c = Calendars::new(true, closures);
    assert_eq!(c.holiday("GB", d("2026-12-25")).unwrap().to_string(), "2026-12-25 Christmas Day (GB)");
    assert_eq!(c.holiday("us", d("2026-12-24")).unwrap().to_string(), "2026-12-24 Office closed");
    assert_eq!(c.holiday("GB", d("2026-12-31")).unwrap().to_string(), "2026-12-31 Year-end close (GB)");
    assert_eq!(c.holiday("DE", d("2026-12-31")), None);
    assert_eq!(c.holiday("DE", d("2026-12-30")), None);
    // Without public holidays, only the closures.
    let c = Calendars::new(false, vec![]);
    assert_eq!(c.holiday("GB", d("2026-12-25")), None);
    // Outside the cached years, the same answer.
    let c = Calendars::new(true, vec![]);
    assert_eq!(c.holiday("GB", d("2300-12-25")).unwrap().name, "Christmas Day");
}

#[test]
fn bad_closure_rows_are_reported_with_line_and_column() {
    let (ok, problems) =
        read_closures("date,country,name\n2026-13-01,,X\n2026-12-24,GBR,Closed\n2026-12-31,,\n2026-12-30,gb,Closed\n");
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].country.as_deref(), Some("GB"));
    let at: Vec<(usize, usize)> = problems.iter().map(|p| (p.line, p.column)).collect();
    assert_eq!(at, [(2, 1), (3, 12), (4, 13)]);
    assert_eq!(problems[0].message, "`2026-13-01` is not a date");
    let (_, problems) = read_closures("when,what\n");
    assert_eq!(problems[0].message, "the header row has no `date` and `name` columns");
}
