//! Business-day calendars: the public holidays of a country for any year
//! (fixed dates with the country's weekend substitution, Easter-based dates,
//! nth-weekday rules) and a policy's own company closures
//! (`[guardrails] holidays = "holidays.csv"`). Under `business_days_only` a
//! customer-facing action due on a holiday of the customer's country, or on a
//! closure, waits for the next business day (docs/policy.md, "Calendars").

mod rules;

pub use rules::{COUNTRIES, easter};

use chrono::{Datelike, NaiveDate, Weekday};
use std::sync::OnceLock;

/// One holiday: its date, its name and the country whose calendar it is in
/// (`None`: a company closure for every customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
    pub country: Option<String>,
}

impl std::fmt::Display for Holiday {
    /// `2026-12-25 Christmas Day (GB)`, or `2026-12-24 Office closed` for a
    /// closure of every customer.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.date, self.name)?;
        if let Some(c) = &self.country {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

/// The public holidays of `country` (an ISO 3166 alpha-2 code, upper case) in
/// `year`, in date order; `None` for a country recoup has no calendar for.
/// Weekend holidays a country moves are listed on the day they are observed.
pub fn public_holidays(country: &str, year: i32) -> Option<Vec<Holiday>> {
    let rules = rules::of(country)?;
    let mut out: Vec<Holiday> = (year - 1..=year + 1)
        .flat_map(|y| rules::place(rules, y))
        .filter(|(d, _)| d.year() == year)
        .map(|(date, name)| Holiday { date, name, country: Some(country.to_string()) })
        .collect();
    out.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.name.cmp(&b.name)));
    out.dedup_by(|a, b| a.date == b.date);
    Some(out)
}

/// The first year of the per-(country, year) cache; years outside
/// `FIRST_YEAR..FIRST_YEAR + YEARS` are computed on every look-up.
const FIRST_YEAR: i32 = 1950;
const YEARS: usize = 200;

/// The calendars one policy holds actions by: the public holidays of the
/// customers' countries (when `[guardrails] public_holidays = true`) and the
/// policy's closures. Built once per compiled policy and shared by every
/// worker; the holidays of a (country, year) are computed the first time a
/// customer of that country is evaluated on a date of that year, then read.
#[derive(Debug, Default)]
pub struct Calendars {
    public: bool,
    /// Company closures, in date order.
    closures: Vec<Holiday>,
    cache: Vec<OnceLock<Vec<Holiday>>>,
}

impl Calendars {
    /// Calendars with the countries' public holidays when `public`, and `closures`.
    pub fn new(public: bool, mut closures: Vec<Holiday>) -> Self {
        closures.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.country.cmp(&b.country)));
        let cache = if public { (0..COUNTRIES.len() * YEARS).map(|_| OnceLock::new()).collect() } else { Vec::new() };
        Calendars { public, closures, cache }
    }

    /// Are the countries' public holidays used?
    pub fn public(&self) -> bool {
        self.public
    }

    /// The company closures, in date order.
    pub fn closures(&self) -> &[Holiday] {
        &self.closures
    }

    /// The holiday that makes `date` a day off for a customer of `country`: a
    /// closure (for every customer, or for that country), else a public
    /// holiday of the country; `None` on a working day. Weekends are not
    /// holidays here (the guardrail checks them first).
    pub fn holiday(&self, country: &str, date: NaiveDate) -> Option<Holiday> {
        self.with_holiday(country, date, |h| h.cloned())
    }

    /// Is `date` a day off for a customer of `country` ([`Calendars::holiday`]
    /// without copying it: the guardrail's question).
    pub fn holds(&self, country: &str, date: NaiveDate) -> bool {
        self.with_holiday(country, date, |h| h.is_some())
    }

    /// `f` of the holiday of `date` for `country`, if any.
    fn with_holiday<T>(&self, country: &str, date: NaiveDate, f: impl FnOnce(Option<&Holiday>) -> T) -> T {
        let at = self.closures.partition_point(|h| h.date < date);
        if let Some(h) = self.closures[at..]
            .iter()
            .take_while(|h| h.date == date)
            .find(|h| h.country.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(country)))
        {
            return f(Some(h));
        }
        let code = country.trim();
        let Some(ix) = COUNTRIES.iter().position(|c| c.eq_ignore_ascii_case(code)).filter(|_| self.public) else {
            return f(None);
        };
        match usize::try_from(date.year() - FIRST_YEAR).ok().filter(|&o| o < YEARS) {
            Some(o) => {
                let list = self.cache[ix * YEARS + o]
                    .get_or_init(|| public_holidays(COUNTRIES[ix], date.year()).unwrap_or_default());
                f(list.iter().find(|h| h.date == date))
            }
            None => {
                let list = public_holidays(COUNTRIES[ix], date.year()).unwrap_or_default();
                f(list.iter().find(|h| h.date == date))
            }
        }
    }
}

impl Calendars {
    /// The holidays that make `date` a day off for some of the customers of
    /// `countries` (one entry per customer), with how many customers each
    /// holds, in date-and-name order; empty on a weekend (weekends hold
    /// everyone already). For the run's terminal summary.
    pub fn held_on<'c>(&self, countries: impl Iterator<Item = &'c str>, date: NaiveDate) -> Vec<(Holiday, usize)> {
        let mut by: std::collections::BTreeMap<String, (Holiday, usize)> = std::collections::BTreeMap::new();
        if weekend(date) {
            return Vec::new();
        }
        for c in countries {
            if let Some(h) = self.holiday(c, date) {
                by.entry(h.to_string()).or_insert((h, 0)).1 += 1;
            }
        }
        by.into_values().collect()
    }
}

/// What `business_days_only` holds by, in words (`recoup check`).
pub fn words(c: &Calendars) -> String {
    let mut out = String::from("business days: Monday to Friday");
    if c.public() {
        out.push_str(&format!(", less the public holidays of the customer's country ({})", COUNTRIES.join(", ")));
    }
    let n = c.closures().len();
    if n > 0 {
        let (first, last) = (c.closures()[0].date, c.closures()[n - 1].date);
        out.push_str(&format!(" and {n} company closure(s) ({first} to {last})"));
    }
    out
}

/// Is `d` a Saturday or a Sunday?
pub(crate) fn weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A problem of a holidays file, at a line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub line: usize,
    pub column: usize,
    /// The byte range of the offending cell (or line) in the file.
    pub range: std::ops::Range<usize>,
    pub message: String,
    pub help: String,
}

/// Read a holidays file: a header row `date,country,name` (country may be
/// empty: every customer), then one closure per row. Every bad row is
/// reported; the good ones are kept.
pub fn read_closures(text: &str) -> (Vec<Holiday>, Vec<FileProblem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut offset = 0;
    let mut header: Option<(usize, Option<usize>, usize)> = None;
    for (n, raw_line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let line = if n == 0 { line.trim_start_matches('\u{feff}') } else { line };
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        // Cells with their byte ranges (no quoting: names are plain words).
        let mut cells = Vec::new();
        let bom = if n == 0 { raw_line.len() - raw_line.trim_start_matches('\u{feff}').len() } else { 0 };
        let mut at = start + bom;
        for c in line.split(',') {
            cells.push((c.trim(), at..at + c.len()));
            at += c.len() + 1;
        }
        let problem = |cell: &std::ops::Range<usize>, message: String, help: &str| FileProblem {
            line: n + 1,
            column: text[start..cell.start].chars().count() + 1,
            range: cell.clone(),
            message,
            help: help.to_string(),
        };
        let Some((date_ix, country_ix, name_ix)) = header else {
            let find = |w: &str| cells.iter().position(|(c, _)| c.eq_ignore_ascii_case(w));
            match (find("date"), find("name")) {
                (Some(d), Some(nm)) => header = Some((d, find("country"), nm)),
                _ => {
                    let r = cells.first().map_or(start..start, |c| c.1.clone());
                    problems.push(problem(
                        &r,
                        "the header row has no `date` and `name` columns".into(),
                        "start the file with the header `date,country,name`",
                    ));
                    return (out, problems);
                }
            }
            continue;
        };
        let cell = |i: usize| cells.get(i).cloned().unwrap_or(("", start + line.len()..start + line.len()));
        let (d, dr) = cell(date_ix);
        let Ok(date) = NaiveDate::parse_from_str(d, "%Y-%m-%d") else {
            problems.push(problem(&dr, format!("`{d}` is not a date"), "write dates as YYYY-MM-DD, e.g. 2026-12-24"));
            continue;
        };
        let (name, nr) = cell(name_ix);
        if name.is_empty() {
            problems.push(problem(&nr, "the closure has no name".into(), "name it, e.g. `Office closed`"));
            continue;
        }
        let country = match country_ix.map(cell) {
            Some(("", _)) => None,
            Some((c, cr)) => {
                if c.len() != 2 || !c.chars().all(|x| x.is_ascii_alphabetic()) {
                    problems.push(problem(
                        &cr,
                        format!("`{c}` is not a country code"),
                        "give the two-letter code customers.csv uses (e.g. GB), or leave it empty for every customer",
                    ));
                    continue;
                }
                Some(c.to_ascii_uppercase())
            }
            None => None,
        };
        out.push(Holiday { date, name: name.to_string(), country });
    }
    (out, problems)
}

#[cfg(test)]
mod tests;
