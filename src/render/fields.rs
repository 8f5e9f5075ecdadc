//! The fields a message template reads (docs/outbox.md, "Fields"): built
//! from a planned action, its customer and invoices, and the `[sender]`;
//! money and dates formatted for the message's language.

use crate::engine::PlannedAction;
use crate::ledger::{Customer, Invoice};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

/// The top-level fields, and which rules' templates see them.
pub const FIELDS: &[(&str, Scope)] = &[
    ("customer", Scope::Any),
    ("sender", Scope::Any),
    ("reference", Scope::Any),
    ("action", Scope::Any),
    ("as_of", Scope::Any),
    ("invoices", Scope::Any),
    ("totals", Scope::Any),
    ("members", Scope::Any),
    ("group_totals", Scope::Any),
    ("total", Scope::Any),
    ("days_past_due", Scope::Any),
    ("fee", Scope::Any),
    ("interest", Scope::Any),
    ("compensation", Scope::Any),
    ("payment_link", Scope::Any),
    ("discount", Scope::Incentive),
    ("plan", Scope::PaymentPlan),
];

/// The attributes of the object fields (`customer.name`, ...), for `check`.
pub const ATTRIBUTES: &[(&str, &[&str])] = &[
    (
        "customer",
        &[
            "id",
            "name",
            "contact_name",
            "email",
            "phone",
            "address_line1",
            "address_line2",
            "postcode",
            "city",
            "country",
            "language",
            "address",
        ],
    ),
    ("sender", &["company", "address", "email", "phone", "bank"]),
    ("action", &["id", "kind", "channel", "rule", "step"]),
    ("discount", &["pct", "amount", "pay_by"]),
    ("plan", &["instalments", "amount", "schedule"]),
];

/// Which rules' templates may read a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Any,
    /// Only the templates of `[[incentive]]` rules (discount offers).
    Incentive,
    /// Only the templates of `[[payment_plan]]` rules.
    PaymentPlan,
}

impl Scope {
    pub fn words(self) -> &'static str {
        match self {
            Scope::Any => "any rule",
            Scope::Incentive => "incentive (discount offer) templates",
            Scope::PaymentPlan => "payment plan templates",
        }
    }
}

/// The `[sender]` of a policy, as templates read it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sender {
    pub company: String,
    pub address: Vec<String>,
    pub email: String,
    pub phone: String,
    pub bank: String,
}

#[derive(Serialize)]
struct CustomerFields<'a> {
    id: &'a str,
    name: &'a str,
    contact_name: &'a str,
    email: &'a str,
    phone: String,
    address_line1: &'a str,
    address_line2: &'a str,
    postcode: &'a str,
    city: &'a str,
    country: &'a str,
    language: &'a str,
    /// The address block, line by line: name, contact, street lines, postcode and city, country.
    address: Vec<String>,
}

#[derive(Serialize)]
struct InvoiceFields<'a> {
    id: &'a str,
    issue_date: String,
    due_date: String,
    amount: String,
    open_amount: String,
    currency: &'a str,
    days_past_due: i64,
    /// The ladder step the invoice is at in this message, and its place in
    /// the ladder (1 = first): a message of an `advance = "each_invoice"`
    /// ladder lists invoices at different steps.
    step: &'a str,
    level: u32,
}

#[derive(Serialize)]
struct Total<'a> {
    currency: &'a str,
    amount: String,
}

/// One customer of a consolidated group statement: the invoices its row
/// lists and what stands to its credit, in its own currency.
#[derive(Serialize)]
struct MemberFields<'a> {
    id: &'a str,
    name: &'a str,
    currency: &'a str,
    /// The group's head (the statement's addressee).
    head: bool,
    invoices: Vec<InvoiceFields<'a>>,
    /// The open amount of its invoices listed.
    total: String,
    /// Unused open credit notes and unapplied cash (empty when none).
    credit_notes: Option<String>,
    unapplied_cash: Option<String>,
    /// `total` less its credit.
    net: String,
}

/// A consolidated group statement's totals in one currency (amounts of
/// different currencies are never added).
#[derive(Serialize)]
struct GroupTotal<'a> {
    currency: &'a str,
    open: String,
    credit_notes: Option<String>,
    unapplied_cash: Option<String>,
    net: String,
    customers: usize,
}

/// One customer of a consolidated group statement, as the render stage
/// gathers it: the customer, the invoices its plan row lists, its credit.
pub struct Member<'a> {
    pub customer: &'a Customer,
    pub invoices: Vec<&'a Invoice>,
    /// The open amount of the invoices listed, gross of the customer's credit.
    pub open: Decimal,
    pub credit_notes: Decimal,
    pub unapplied_cash: Decimal,
}

#[derive(Serialize)]
struct ActionFields<'a> {
    id: &'a str,
    kind: &'a str,
    channel: &'a str,
    rule: &'a str,
    step: &'a str,
}

#[derive(Serialize)]
struct Discount {
    pct: String,
    amount: String,
    pay_by: String,
}

#[derive(Serialize)]
struct Instalment {
    number: u32,
    due_on: String,
    amount: String,
}

#[derive(Serialize)]
struct PlanFields {
    instalments: u32,
    amount: String,
    schedule: Vec<Instalment>,
}

/// Every field of one message.
#[derive(Serialize)]
pub struct Fields<'a> {
    customer: CustomerFields<'a>,
    sender: &'a Sender,
    reference: &'a str,
    action: ActionFields<'a>,
    as_of: String,
    invoices: Vec<InvoiceFields<'a>>,
    totals: Vec<Total<'a>>,
    total: String,
    /// A consolidated group statement's customers (empty otherwise).
    members: Vec<MemberFields<'a>>,
    group_totals: Vec<GroupTotal<'a>>,
    days_past_due: i64,
    fee: Option<String>,
    interest: Option<String>,
    compensation: Option<String>,
    payment_link: String,
    discount: Option<Discount>,
    plan: Option<PlanFields>,
}

/// What a message is about.
pub struct Subject<'a> {
    pub action_id: &'a str,
    pub action: &'a PlannedAction,
    pub customer: &'a Customer,
    /// The invoices the action lists, in its order.
    pub invoices: Vec<&'a Invoice>,
    pub as_of: NaiveDate,
    /// Days between instalments of a payment plan offer.
    pub plan_interval_days: u32,
    /// Each listed invoice's step id and its place in the ladder (1 = first),
    /// in the order of `invoices`; empty: the action's step, level 0.
    pub steps: Vec<(&'a str, u32)>,
    /// A consolidated group statement's customers in customer-id order
    /// (`customer` is the group's head); empty for any other message.
    pub group: Vec<Member<'a>>,
}

impl<'a> Fields<'a> {
    /// The fields of `s` in language `lang`; `payment_link` is filled in by the caller.
    pub fn of(s: &Subject<'a>, sender: &'a Sender, lang: &str) -> Fields<'a> {
        let a = s.action;
        let c = s.customer;
        let cur = c.currency.as_str();
        let m = |d: Decimal| money(lang, d, cur);
        let opt = |t: &'a Option<crate::ledger::Text>| t.as_deref().unwrap_or("");
        let k = &c.contact;
        let mut address = vec![c.name.to_string()];
        if let Some(n) = &k.contact_name {
            address.push(n.to_string());
        }
        address.extend([&k.address_line1, &k.address_line2].into_iter().flatten().map(|l| l.to_string()));
        let town = match (k.postcode.as_deref(), k.city.as_deref()) {
            (Some(p), Some(t)) if c.country == "US" => format!("{t} {p}"),
            (Some(p), Some(t)) => format!("{p} {t}"),
            (p, t) => p.or(t).unwrap_or("").to_string(),
        };
        if !town.is_empty() {
            address.push(town);
        }
        address.push(country_name(&c.country).to_string());
        let invoice = |k: usize, i: &'a Invoice, cur: &'a str| InvoiceFields {
            step: s.steps.get(k).map_or(a.step.as_deref().unwrap_or(""), |x| x.0),
            level: s.steps.get(k).map_or(0, |x| x.1),
            id: &i.id,
            issue_date: date(lang, i.issue_date),
            due_date: date(lang, i.due_date),
            amount: money(lang, i.amount, cur),
            open_amount: money(lang, i.open_amount, cur),
            currency: cur,
            days_past_due: (s.as_of - i.due_date).num_days().max(0),
        };
        let invoices: Vec<InvoiceFields<'a>> = if s.group.is_empty() {
            s.invoices.iter().enumerate().map(|(k, i)| invoice(k, i, cur)).collect()
        } else {
            // Each invoice in its own customer's currency.
            let mut k = 0;
            let mut all = Vec::with_capacity(s.invoices.len());
            for mb in &s.group {
                for &i in &mb.invoices {
                    all.push(invoice(k, i, &mb.customer.currency));
                    k += 1;
                }
            }
            all
        };
        let GroupParts { members, group_totals, totals } = group_fields(s, lang, &invoice);
        let days_past_due = invoices.iter().map(|i| i.days_past_due).max().unwrap_or(0);
        let nonzero = |d: Decimal| (!d.is_zero()).then(|| m(d));
        let plan = a.instalments.zip(a.instalment_amount).map(|(n, each)| {
            let mut schedule = Vec::with_capacity(n as usize);
            let mut left = a.amount_due;
            for k in 1..=n {
                let amount = if k == n { left } else { each };
                left -= amount;
                let due = s.as_of + chrono::Duration::days(i64::from(k) * i64::from(s.plan_interval_days));
                schedule.push(Instalment { number: k, due_on: date(lang, due), amount: m(amount) });
            }
            PlanFields { instalments: n, amount: m(each), schedule }
        });
        Fields {
            customer: CustomerFields {
                id: &c.id,
                name: &c.name,
                contact_name: opt(&k.contact_name),
                email: opt(&c.email),
                phone: c
                    .phone
                    .as_deref()
                    .map(|p| crate::engine::contact::e164(p).unwrap_or_else(|| p.to_string()))
                    .unwrap_or_default(),
                address_line1: opt(&k.address_line1),
                address_line2: opt(&k.address_line2),
                postcode: opt(&k.postcode),
                city: opt(&k.city),
                country: &c.country,
                language: opt(&k.language),
                address,
            },
            sender,
            reference: s.action_id,
            action: ActionFields {
                id: s.action_id,
                kind: a.action.as_str(),
                channel: a.channel.map_or("", |c| c.as_str()),
                rule: &a.rule_id,
                step: a.step.as_deref().unwrap_or(""),
            },
            as_of: date(lang, s.as_of),
            total: if totals.is_empty() {
                m(a.amount_due)
            } else {
                totals.iter().map(|t| t.amount.as_str()).collect::<Vec<_>>().join("; ")
            },
            totals: if totals.is_empty() { vec![Total { currency: cur, amount: m(a.amount_due) }] } else { totals },
            members,
            group_totals,
            invoices,
            days_past_due,
            fee: nonzero(a.fee),
            interest: nonzero(a.interest),
            compensation: nonzero(a.compensation),
            payment_link: String::new(),
            discount: a.discount_pct.map(|pct| Discount {
                pct: percent(lang, pct),
                amount: m(a.discount),
                pay_by: a.pay_by.map(|d| date(lang, d)).unwrap_or_default(),
            }),
            plan,
        }
    }

    /// Set the payment link (rendered from the sender's pattern).
    pub fn set_payment_link(&mut self, link: String) {
        self.payment_link = link;
    }
}

/// A consolidated group statement's customers, its totals per currency
/// (open items, credit, net: amounts of different currencies are never
/// added) and the open totals per currency; all empty for any other message.
fn group_fields<'a>(
    s: &Subject<'a>,
    lang: &str,
    invoice: &dyn Fn(usize, &'a Invoice, &'a str) -> InvoiceFields<'a>,
) -> GroupParts<'a> {
    if s.group.is_empty() {
        return GroupParts { members: Vec::new(), group_totals: Vec::new(), totals: Vec::new() };
    }
    struct Sums {
        open: Decimal,
        credit_notes: Decimal,
        unapplied_cash: Decimal,
        customers: usize,
    }
    let mut by_currency: std::collections::BTreeMap<&'a str, Sums> = std::collections::BTreeMap::new();
    let mut members = Vec::with_capacity(s.group.len());
    let mut k = 0;
    for mb in &s.group {
        let c = mb.customer;
        let cur: &'a str = &c.currency;
        let m = |d: Decimal| money(lang, d, cur);
        let nonzero = |d: Decimal| (!d.is_zero()).then(|| m(d));
        let invoices = mb
            .invoices
            .iter()
            .map(|&i| {
                k += 1;
                invoice(k - 1, i, cur)
            })
            .collect();
        let e = by_currency.entry(cur).or_insert(Sums {
            open: Decimal::ZERO,
            credit_notes: Decimal::ZERO,
            unapplied_cash: Decimal::ZERO,
            customers: 0,
        });
        e.open += mb.open;
        e.credit_notes += mb.credit_notes;
        e.unapplied_cash += mb.unapplied_cash;
        e.customers += 1;
        members.push(MemberFields {
            id: &c.id,
            name: &c.name,
            currency: cur,
            head: c.id == s.customer.id,
            invoices,
            total: m(mb.open),
            credit_notes: nonzero(mb.credit_notes),
            unapplied_cash: nonzero(mb.unapplied_cash),
            net: m(mb.open - mb.credit_notes - mb.unapplied_cash),
        });
    }
    let mut totals = Vec::with_capacity(by_currency.len());
    let mut group_totals = Vec::with_capacity(by_currency.len());
    for (cur, x) in by_currency {
        let m = |d: Decimal| money(lang, d, cur);
        totals.push(Total { currency: cur, amount: m(x.open) });
        group_totals.push(GroupTotal {
            currency: cur,
            open: m(x.open),
            credit_notes: (!x.credit_notes.is_zero()).then(|| m(x.credit_notes)),
            unapplied_cash: (!x.unapplied_cash.is_zero()).then(|| m(x.unapplied_cash)),
            net: m(x.open - x.credit_notes - x.unapplied_cash),
            customers: x.customers,
        });
    }
    GroupParts { members, group_totals, totals }
}

/// What [`group_fields`] builds in one pass.
struct GroupParts<'a> {
    members: Vec<MemberFields<'a>>,
    group_totals: Vec<GroupTotal<'a>>,
    totals: Vec<Total<'a>>,
}

/// `d` in the customer's currency, as the language writes money:
/// `USD 1,234.50` (en), `1.234,50 EUR` (de), `1 234,50 EUR` (fr, with a
/// no-break space). Rounded half away from zero to the currency's minor
/// units (`JPY 1,235`, `BHD 1,234.500`).
pub fn money(lang: &str, d: Decimal, currency: &str) -> String {
    let n = number(lang, d, currency);
    match lang {
        "de" | "fr" | "es" | "it" | "nl" => format!("{n}\u{a0}{currency}"),
        _ => format!("{currency}\u{a0}{n}"),
    }
}

/// A decimal with the currency's minor units and the language's separators.
fn number(lang: &str, d: Decimal, currency: &str) -> String {
    let en = crate::engine::words::money_of(d, currency);
    match lang {
        "de" | "es" | "it" | "nl" => en
            .chars()
            .map(|c| {
                if c == ',' {
                    '.'
                } else if c == '.' {
                    ','
                } else {
                    c
                }
            })
            .collect(),
        "fr" => en
            .chars()
            .map(|c| {
                if c == ',' {
                    '\u{202f}'
                } else if c == '.' {
                    ','
                } else {
                    c
                }
            })
            .collect(),
        _ => en,
    }
}

/// A percentage as the language writes it: `2.5` (en), `2,5` (de, fr).
fn percent(lang: &str, d: Decimal) -> String {
    let s = d.normalize().to_string();
    if lang == "en" { s } else { s.replace('.', ",") }
}

/// A date as the language writes it: `16 November 2026` (en), `16.11.2026` (de), `16/11/2026` (fr).
pub fn date(lang: &str, d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match lang {
        "de" => format!("{:02}.{:02}.{}", d.day(), d.month(), d.year()),
        "fr" | "es" | "it" => format!("{:02}/{:02}/{}", d.day(), d.month(), d.year()),
        "nl" => format!("{:02}-{:02}-{}", d.day(), d.month(), d.year()),
        _ => format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year()),
    }
}

/// The country line of an address block.
pub fn country_line(code: &str) -> &str {
    country_name(code)
}

fn country_name(code: &str) -> &str {
    match code {
        "US" => "UNITED STATES",
        "GB" => "UNITED KINGDOM",
        "DE" => "GERMANY",
        "FR" => "FRANCE",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_follow_the_language() {
        let d = Decimal::new(123_456_789, 2);
        assert_eq!(money("en", d, "USD"), "USD\u{a0}1,234,567.89");
        assert_eq!(money("de", d, "EUR"), "1.234.567,89\u{a0}EUR");
        assert_eq!(money("fr", d, "EUR"), "1\u{202f}234\u{202f}567,89\u{a0}EUR");
        assert_eq!(money("en", Decimal::new(5, 3), "USD"), "USD\u{a0}0.01", "half a cent rounds away from zero");
        let day = NaiveDate::from_ymd_opt(2026, 11, 6).unwrap();
        assert_eq!(date("en", day), "6 November 2026");
        assert_eq!(date("de", day), "06.11.2026");
        assert_eq!(date("fr", day), "06/11/2026");
    }
}
