//! Who the customers are: segment, country and currency, payment terms,
//! credit limit and score, contact details and a synthetic company name.

use super::calendar::Day;
use super::dice::Dice;
use super::rows::{Cents, CustomerRow};

/// Customer size; drives invoice frequency, amounts and credit limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    Enterprise,
    MidMarket,
    Small,
}

impl Segment {
    /// The word written in `customers.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Enterprise => "enterprise",
            Segment::MidMarket => "mid_market",
            Segment::Small => "small",
        }
    }

    /// Invoices per month of a typical customer of the segment.
    pub fn invoices_per_month(self) -> f64 {
        match self {
            Segment::Enterprise => 4.0,
            Segment::MidMarket => 1.2,
            Segment::Small => 0.5,
        }
    }

    /// Median invoice amount, in currency units.
    pub fn median_invoice(self) -> f64 {
        match self {
            Segment::Enterprise => 25_000.0,
            Segment::MidMarket => 5_000.0,
            Segment::Small => 800.0,
        }
    }
}

const SEGMENTS: [(Segment, f64); 3] = [(Segment::Enterprise, 0.05), (Segment::MidMarket, 0.25), (Segment::Small, 0.70)];

/// A country with its currency, dialling code and company-name suffixes.
#[derive(Debug)]
pub struct Country {
    pub code: &'static str,
    pub currency: &'static str,
    pub dial: &'static str,
    suffixes: [&'static str; 3],
}

const US: Country = Country { code: "US", currency: "USD", dial: "1", suffixes: ["Inc", "LLC", "Corp"] };
const GB: Country = Country { code: "GB", currency: "GBP", dial: "44", suffixes: ["Ltd", "PLC", "LLP"] };
const DE: Country = Country { code: "DE", currency: "EUR", dial: "49", suffixes: ["GmbH", "AG", "KG"] };
const FR: Country = Country { code: "FR", currency: "EUR", dial: "33", suffixes: ["SARL", "SA", "SAS"] };
const COUNTRIES: [(&Country, f64); 4] = [(&US, 0.50), (&GB, 0.20), (&DE, 0.15), (&FR, 0.15)];

/// Payment terms: the label written, net days and the early-payment window.
#[derive(Debug)]
pub struct Terms {
    pub label: &'static str,
    pub net_days: i32,
    pub discount_days: Option<i32>,
}

const NET15: Terms = Terms { label: "NET15", net_days: 15, discount_days: None };
const NET30: Terms = Terms { label: "NET30", net_days: 30, discount_days: None };
const NET45: Terms = Terms { label: "NET45", net_days: 45, discount_days: None };
const NET60: Terms = Terms { label: "NET60", net_days: 60, discount_days: None };
const EARLY_PAY: Terms = Terms { label: "2/10 NET30", net_days: 30, discount_days: Some(10) };

#[rustfmt::skip]
const LEADS: [&str; 40] = [
    "North", "Blue", "Summit", "Iron", "Silver", "Pioneer", "Harbor", "Crescent", "Granite", "Evergreen", "Atlas",
    "Beacon", "Cedar", "Falcon", "Golden", "Highland", "Keystone", "Liberty", "Meridian", "Oak", "Pacific", "Redwood",
    "Riverside", "Sterling", "Sunrise", "Trident", "Union", "Vertex", "Westfield", "Zenith", "Apex", "Bright",
    "Coastal", "Delta", "Eastgate", "Frontier", "Horizon", "Lakeside", "Northstar", "Orchard",
];
#[rustfmt::skip]
const TRADES: [&str; 30] = [
    "Logistics", "Foods", "Systems", "Manufacturing", "Supplies", "Engineering", "Textiles", "Plastics",
    "Electronics", "Packaging", "Builders", "Pharma", "Analytics", "Motors", "Interiors", "Metals", "Energy",
    "Freight", "Software", "Farms", "Paper", "Tools", "Labs", "Outfitters", "Medical", "Hardware", "Chemicals",
    "Print", "Marine", "Components",
];
#[rustfmt::skip]
const SURNAMES: [&str; 40] = [
    "Smith", "Jones", "Hartley", "Becker", "Dubois", "Okafor", "Nakamura", "Fischer", "Moreau", "Patel", "Garcia",
    "Novak", "Lindqvist", "O'Brien", "Rossi", "Keller", "Bernard", "Walsh", "Schmidt", "Laurent", "Kowalski",
    "Ibrahim", "Chen", "Murphy", "Weber", "Fontaine", "Hughes", "Santos", "Brennan", "Mueller",
    "Andersson", "Costa", "Haddad", "Jansen", "Kim", "Larsen", "Mendes", "Nowak", "Price", "Vogel",
];

#[rustfmt::skip]
const KINDS: [&str; 12] = [
    "", " Group", " Partners", " Holdings", " Solutions", " Services", " Industries", " International", " & Sons",
    " Direct", " Trading", " Works",
];

/// The customer-level draws that depend on the simulation, not the dice.
pub struct Setting {
    /// Mean credit score of the customer's payer profile.
    pub score_mean: f64,
    /// Number of collectors (`owner-01`…) the book is split between.
    pub owners: u32,
    /// First day of the simulated history; accounts open before it.
    pub history_start: Day,
}

/// Draw a customer (not yet on hold: that depends on its history; its credit
/// limit is set from its expected purchases by [`credit_limit`]).
pub fn draw(d: &mut Dice, index: u64, setting: &Setting) -> CustomerRow {
    let segment = d.pick(&SEGMENTS);
    let country = d.pick(&COUNTRIES);
    CustomerRow {
        index,
        name: company_name(d, country),
        segment,
        country,
        terms: terms(d, segment),
        credit_limit: 0,
        credit_score: credit_score(d, setting.score_mean),
        owner: d.int(1, setting.owners.max(1) as i32) as u32,
        phone: d.chance(0.97).then(|| d.int(0, 9_999_999) as u32),
        channel: d.pick(&[
            (Some("email"), 0.55),
            (Some("call"), 0.15),
            (Some("letter"), 0.08),
            (Some("sms"), 0.07),
            (None, 0.15),
        ]),
        do_not_contact: d.chance(0.02),
        on_hold: false,
        opened_on: setting.history_start - d.int(30, 3_650),
    }
}

/// The risk class of a credit score.
pub fn risk_class(score: u16) -> &'static str {
    match score {
        700.. => "low",
        600..700 => "medium",
        _ => "high",
    }
}

fn terms(d: &mut Dice, segment: Segment) -> &'static Terms {
    if d.chance(0.10) {
        &EARLY_PAY
    } else if segment == Segment::Enterprise && d.chance(0.35) {
        &NET60
    } else {
        d.pick(&[(&NET30, 0.90), (&NET15, 0.05), (&NET45, 0.05)])
    }
}

/// The credit limit a credit department grants: the exposure the customer's
/// expected purchases create under its terms (`monthly_sales` a month, paid
/// `net_days` later), times a headroom of 1 to 3 (log-uniform), rounded to
/// 500 and at least 1,000. Some customers use most of their limit, most
/// keep headroom.
pub fn credit_limit(d: &mut Dice, monthly_sales: f64, net_days: i32) -> Cents {
    let exposure = monthly_sales * f64::from(net_days.max(30)) / 30.0;
    let units = exposure * d.between(0.0, 3.0_f64.ln()).exp();
    ((units / 500.0).round() as Cents).max(2) * 500 * 100
}

fn credit_score(d: &mut Dice, mean: f64) -> Option<u16> {
    let score = (mean + 55.0 * d.normal()).round().clamp(300.0, 850.0) as u16;
    d.chance(0.95).then_some(score)
}

/// A company name such as `Summit Logistics Group Ltd`, `Okafor Foods Inc`
/// or (one in ten) `Smith, Jones & Co`: tens of thousands of combinations per country.
fn company_name(d: &mut Dice, country: &Country) -> String {
    let suffix = d.one_of(&country.suffixes);
    match d.int(0, 19) {
        0..=11 => format!("{} {}{} {suffix}", d.one_of(&LEADS), d.one_of(&TRADES), d.one_of(&KINDS)),
        12..=15 => format!("{} {}{} {suffix}", d.one_of(&SURNAMES), d.one_of(&TRADES), d.one_of(&KINDS)),
        16..=17 => format!("{}, {} & Co", d.one_of(&SURNAMES), d.one_of(&SURNAMES)),
        _ => format!("{} & {} {suffix}", d.one_of(&SURNAMES), d.one_of(&SURNAMES)),
    }
}
