//! The public holiday rules of each country recoup ships a calendar for,
//! and the date arithmetic they need (Easter, nth weekday, substitution).

use super::weekend;
use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The countries with a shipped calendar (ISO 3166 alpha-2).
pub const COUNTRIES: &[&str] = &["AU", "CA", "DE", "ES", "FR", "GB", "IT", "NL", "US"];

/// The date of a holiday in a year.
#[derive(Debug, Clone, Copy)]
enum When {
    /// A fixed month and day.
    Fixed(u32, u32),
    /// Days after Easter Sunday (Good Friday -2, Easter Monday 1, Ascension 39, Whit Monday 50).
    Easter(i32),
    /// The nth (1-based) `Weekday` of a month; `-1` the last.
    Nth(u32, Weekday, i32),
    /// The last `Weekday` before a month and day (Victoria Day: the Monday before 25 May).
    Before(u32, u32, Weekday),
}

/// What a country does with a holiday that falls on a weekend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shift {
    /// Nothing: the day off is lost.
    Keep,
    /// US federal: Saturday to the Friday before, Sunday to the Monday after.
    Nearest,
    /// GB, CA, AU: the next weekday that is not already a holiday.
    NextFree,
    /// NL King's Day: Sunday to the Saturday before.
    SundayBack,
}

/// One holiday rule, in force from `from` to `to` (years, inclusive).
#[derive(Debug, Clone, Copy)]
pub(super) struct Rule {
    name: &'static str,
    when: When,
    shift: Shift,
    from: i32,
    to: i32,
}

const fn r(name: &'static str, when: When) -> Rule {
    Rule { name, when, shift: Shift::Keep, from: i32::MIN, to: i32::MAX }
}

impl Rule {
    const fn shift(mut self, s: Shift) -> Self {
        self.shift = s;
        self
    }
    const fn from(mut self, y: i32) -> Self {
        self.from = y;
        self
    }
    const fn to(mut self, y: i32) -> Self {
        self.to = y;
        self
    }
}

use Shift::{Nearest, NextFree, SundayBack};
use Weekday::{Mon, Thu};
use When::{Before, Easter, Fixed, Nth};

/// United States: the federal holidays (5 U.S.C. 6103).
const US: &[Rule] = &[
    r("New Year's Day", Fixed(1, 1)).shift(Nearest),
    r("Martin Luther King Jr. Day", Nth(1, Mon, 3)).from(1986),
    r("Washington's Birthday", Nth(2, Mon, 3)),
    r("Memorial Day", Nth(5, Mon, -1)),
    r("Juneteenth", Fixed(6, 19)).shift(Nearest).from(2021),
    r("Independence Day", Fixed(7, 4)).shift(Nearest),
    r("Labor Day", Nth(9, Mon, 1)),
    r("Columbus Day", Nth(10, Mon, 2)),
    r("Veterans Day", Fixed(11, 11)).shift(Nearest),
    r("Thanksgiving Day", Nth(11, Thu, 4)),
    r("Christmas Day", Fixed(12, 25)).shift(Nearest),
];

/// United Kingdom, England and Wales: the bank holidays (substitute days on
/// the next free weekday). One-off holidays (a coronation, a jubilee) belong
/// in the policy's holidays file.
const GB: &[Rule] = &[
    r("New Year's Day", Fixed(1, 1)).shift(NextFree),
    r("Good Friday", Easter(-2)),
    r("Easter Monday", Easter(1)),
    r("Early May bank holiday", Nth(5, Mon, 1)).from(1978),
    r("Spring bank holiday", Nth(5, Mon, -1)).from(1971),
    r("Summer bank holiday", Nth(8, Mon, -1)).from(1971),
    r("Christmas Day", Fixed(12, 25)).shift(NextFree),
    r("Boxing Day", Fixed(12, 26)).shift(NextFree),
];

/// Germany: the national holidays (the states add their own).
const DE: &[Rule] = &[
    r("Neujahr", Fixed(1, 1)),
    r("Karfreitag", Easter(-2)),
    r("Ostermontag", Easter(1)),
    r("Tag der Arbeit", Fixed(5, 1)),
    r("Christi Himmelfahrt", Easter(39)),
    r("Pfingstmontag", Easter(50)),
    r("Tag der Deutschen Einheit", Fixed(10, 3)).from(1990),
    r("1. Weihnachtstag", Fixed(12, 25)),
    r("2. Weihnachtstag", Fixed(12, 26)),
];

/// France: the jours fériés of the Code du travail (art. L3133-1).
const FR: &[Rule] = &[
    r("Jour de l'an", Fixed(1, 1)),
    r("Lundi de Pâques", Easter(1)),
    r("Fête du Travail", Fixed(5, 1)),
    r("Victoire 1945", Fixed(5, 8)),
    r("Ascension", Easter(39)),
    r("Lundi de Pentecôte", Easter(50)),
    r("Fête nationale", Fixed(7, 14)),
    r("Assomption", Fixed(8, 15)),
    r("Toussaint", Fixed(11, 1)),
    r("Armistice 1918", Fixed(11, 11)),
    r("Noël", Fixed(12, 25)),
];

/// Netherlands: the holidays of the Algemene termijnenwet (art. 3).
const NL: &[Rule] = &[
    r("Nieuwjaarsdag", Fixed(1, 1)),
    r("Tweede Paasdag", Easter(1)),
    r("Koningsdag", Fixed(4, 27)).shift(SundayBack).from(2014),
    r("Koninginnedag", Fixed(4, 30)).shift(SundayBack).to(2013),
    r("Bevrijdingsdag", Fixed(5, 5)),
    r("Hemelvaartsdag", Easter(39)),
    r("Tweede Pinksterdag", Easter(50)),
    r("Eerste Kerstdag", Fixed(12, 25)),
    r("Tweede Kerstdag", Fixed(12, 26)),
];

/// Spain: the national holidays (the regions add and move their own).
const ES: &[Rule] = &[
    r("Año Nuevo", Fixed(1, 1)),
    r("Epifanía del Señor", Fixed(1, 6)),
    r("Viernes Santo", Easter(-2)),
    r("Fiesta del Trabajo", Fixed(5, 1)),
    r("Asunción de la Virgen", Fixed(8, 15)),
    r("Fiesta Nacional de España", Fixed(10, 12)),
    r("Todos los Santos", Fixed(11, 1)),
    r("Día de la Constitución", Fixed(12, 6)),
    r("Inmaculada Concepción", Fixed(12, 8)),
    r("Navidad", Fixed(12, 25)),
];

/// Italy: the national holidays (Legge 260/1949 and later; San Francesco
/// again from 2026).
const IT: &[Rule] = &[
    r("Capodanno", Fixed(1, 1)),
    r("Epifania", Fixed(1, 6)),
    r("Lunedì dell'Angelo", Easter(1)),
    r("Festa della Liberazione", Fixed(4, 25)),
    r("Festa del Lavoro", Fixed(5, 1)),
    r("Festa della Repubblica", Fixed(6, 2)),
    r("Ferragosto", Fixed(8, 15)),
    r("San Francesco d'Assisi", Fixed(10, 4)).from(2026),
    r("Ognissanti", Fixed(11, 1)),
    r("Immacolata Concezione", Fixed(12, 8)),
    r("Natale", Fixed(12, 25)),
    r("Santo Stefano", Fixed(12, 26)),
];

/// Canada: the federal general holidays (Canada Labour Code, s. 166); a
/// fixed-date one on a weekend is observed on the next working day.
const CA: &[Rule] = &[
    r("New Year's Day", Fixed(1, 1)).shift(NextFree),
    r("Good Friday", Easter(-2)),
    r("Victoria Day", Before(5, 25, Mon)),
    r("Canada Day", Fixed(7, 1)).shift(NextFree),
    r("Labour Day", Nth(9, Mon, 1)),
    r("National Day for Truth and Reconciliation", Fixed(9, 30)).shift(NextFree).from(2021),
    r("Thanksgiving", Nth(10, Mon, 2)),
    r("Remembrance Day", Fixed(11, 11)).shift(NextFree),
    r("Christmas Day", Fixed(12, 25)).shift(NextFree),
    r("Boxing Day", Fixed(12, 26)).shift(NextFree),
];

/// Australia: the holidays every state and territory keeps (Labour Day and
/// the King's Birthday differ by state: add yours to the holidays file).
const AU: &[Rule] = &[
    r("New Year's Day", Fixed(1, 1)).shift(NextFree),
    r("Australia Day", Fixed(1, 26)).shift(NextFree),
    r("Good Friday", Easter(-2)),
    r("Easter Monday", Easter(1)),
    r("Anzac Day", Fixed(4, 25)),
    r("Christmas Day", Fixed(12, 25)).shift(NextFree),
    r("Boxing Day", Fixed(12, 26)).shift(NextFree),
];

/// The rules of `country` (upper case), if recoup has its calendar.
pub(super) fn of(country: &str) -> Option<&'static [Rule]> {
    Some(match country {
        "US" => US,
        "GB" => GB,
        "DE" => DE,
        "FR" => FR,
        "NL" => NL,
        "ES" => ES,
        "IT" => IT,
        "CA" => CA,
        "AU" => AU,
        _ => return None,
    })
}

/// Easter Sunday of a Gregorian year (the anonymous algorithm of Meeus,
/// Jones and Butcher); `None` outside chrono's range.
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

fn add(d: NaiveDate, n: i32) -> Option<NaiveDate> {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64))
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs() as u64))
    }
}

impl When {
    fn date(self, year: i32) -> Option<NaiveDate> {
        match self {
            When::Fixed(m, d) => NaiveDate::from_ymd_opt(year, m, d),
            When::Easter(n) => add(easter(year)?, n),
            When::Nth(m, wd, n) if n > 0 => NaiveDate::from_weekday_of_month_opt(year, m, wd, n as u8),
            When::Nth(m, wd, _) => {
                let next = if m == 12 {
                    NaiveDate::from_ymd_opt(year + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(year, m + 1, 1)
                }?;
                let last = next.pred_opt()?;
                let back = (7 + last.weekday().num_days_from_monday() - wd.num_days_from_monday()) % 7;
                add(last, -(back as i32))
            }
            When::Before(m, d, wd) => {
                let day = NaiveDate::from_ymd_opt(year, m, d)?.pred_opt()?;
                let back = (7 + day.weekday().num_days_from_monday() - wd.num_days_from_monday()) % 7;
                add(day, -(back as i32))
            }
        }
    }
}

/// The holidays of `rules` in `year`, on the days they are observed: the
/// ones on their own date first, then the moved ones in rule order, each on
/// the first free weekday (so GB's Christmas on a Sunday moves past a
/// Boxing Day on the Monday to the Tuesday). A moved holiday is named
/// "(substitute day)", or "(observed)" in the US.
pub(super) fn place(rules: &[Rule], year: i32) -> Vec<(NaiveDate, String)> {
    let mut out: Vec<(NaiveDate, String)> = Vec::new();
    let mut pending = Vec::new();
    for rule in rules.iter().filter(|x| (x.from..=x.to).contains(&year)) {
        let Some(d) = rule.when.date(year) else { continue };
        let moved = match (rule.shift, d.weekday()) {
            (Shift::Nearest, Weekday::Sat) => add(d, -1),
            (Shift::Nearest, Weekday::Sun) => add(d, 1),
            (Shift::SundayBack, Weekday::Sun) => add(d, -1),
            (Shift::NextFree, _) if weekend(d) => {
                pending.push((d, rule.name));
                continue;
            }
            _ => None,
        };
        match moved {
            Some(m) if rule.shift == Shift::Nearest => out.push((m, format!("{} (observed)", rule.name))),
            Some(m) => out.push((m, rule.name.to_string())),
            None => out.push((d, rule.name.to_string())),
        }
    }
    for (d, name) in pending {
        let mut m = d;
        while weekend(m) || out.iter().any(|(x, _)| *x == m) {
            let Some(n) = m.succ_opt() else { break };
            m = n;
        }
        out.push((m, format!("{name} (substitute day)")));
    }
    out
}
