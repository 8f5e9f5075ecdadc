//! The message of a `notify` action (`[notify]`, docs/outbox.md "The sales
//! representative's message"): an e-mail to the customer's sales
//! representative listing what the plan does to the account. It is rendered
//! from the template `notify-sales-rep`: the policy's own
//! (`templates/notify-sales-rep.md`, or `templates/<lang>/...` for a
//! customer's language, as every template is chosen) when it has one, else
//! recoup's ([`SHIPPED`], English), whose text is the note recoup always wrote.

use super::fields::{Scope, date, money};
use super::{Message, RenderError, Templates};
use crate::engine::words::money_of;
use crate::ledger::{Channel, Customer};
use crate::plan::PlanEntry;
use crate::policy::CompiledPolicy;
use chrono::NaiveDate;
use serde::Serialize;

/// The template's name: `templates/notify-sales-rep.md` in a policy's folder.
pub const TEMPLATE: &str = "notify-sales-rep";

/// recoup's own template, used when the policy has none of that name.
pub const SHIPPED: &str = include_str!("notify-sales-rep.md");

/// The key of recoup's own template's part `part` in the environment.
pub(super) fn shipped_key(part: &str) -> String {
    format!("shipped/{TEMPLATE}#{part}")
}

/// The fields the template reads (docs/outbox.md, "The sales
/// representative's message"), for `check`.
pub const FIELDS: &[(&str, Scope)] = &[
    ("rep", Scope::Any),
    ("collector", Scope::Any),
    ("customer", Scope::Any),
    ("sender", Scope::Any),
    ("as_of", Scope::Any),
    ("run_date", Scope::Any),
    ("labels", Scope::Any),
    ("actions", Scope::Any),
];

/// The attributes of its object fields, for `check`.
pub const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("customer", &["id", "name", "currency", "language"]),
    ("sender", &["company", "address", "email", "phone", "bank"]),
];

#[derive(Serialize)]
struct CustomerFields<'a> {
    id: &'a str,
    name: &'a str,
    currency: &'a str,
    language: &'a str,
}

/// One action told of.
#[derive(Serialize)]
struct Told<'a> {
    /// The action id (`R…`).
    id: &'a str,
    kind: &'a str,
    label: String,
    rule: &'a str,
    invoices: &'a [String],
    /// The amount due, formatted for the message's language with its currency.
    amount_due: String,
    /// The amount due as a plain number (`3,500.00`), whatever the language.
    amount: String,
    /// A limit change's old and new limit, plain numbers (none otherwise).
    old_limit: Option<String>,
    new_limit: Option<String>,
    reason: &'a str,
}

/// Every field of the representative's message.
#[derive(Serialize)]
struct Fields<'a> {
    rep: &'a str,
    collector: String,
    customer: CustomerFields<'a>,
    sender: &'a super::Sender,
    /// The run's date formatted for the language, and as `2026-11-16`.
    as_of: String,
    run_date: String,
    /// The labels of the actions told of, in plan order, a label repeated
    /// next to itself once (the subject's list).
    labels: Vec<String>,
    actions: Vec<Told<'a>>,
}

/// The fields of a notify action `a` about `customer`, telling of `told`, in `lang`.
fn fields<'a>(
    policy: &'a CompiledPolicy,
    told: &[&'a PlanEntry],
    rep: &'a str,
    customer: &'a Customer,
    as_of: NaiveDate,
    lang: &str,
) -> Fields<'a> {
    let cur = customer.currency.as_str();
    let actions: Vec<Told<'a>> = told
        .iter()
        .map(|e| {
            let b = &e.action;
            let (old_limit, new_limit) = match (b.old_limit, b.new_limit) {
                (Some(old), Some(new)) => (Some(money_of(old, cur)), Some(money_of(new, cur))),
                _ => (None, None),
            };
            Told {
                id: &e.action_id,
                kind: b.action.as_str(),
                label: policy.kind_label(b.action).into_owned(),
                rule: &b.rule_id,
                invoices: &b.invoice_ids,
                amount_due: money(lang, b.amount_due, cur),
                amount: money_of(b.amount_due, cur),
                old_limit,
                new_limit,
                reason: &b.reason,
            }
        })
        .collect();
    let mut labels: Vec<String> = actions.iter().map(|a| a.label.clone()).collect();
    labels.dedup();
    Fields {
        rep,
        collector: told.iter().find_map(|e| e.action.owner.clone()).unwrap_or_else(|| "unassigned".into()),
        customer: CustomerFields {
            id: &customer.id,
            name: &customer.name,
            currency: cur,
            language: customer.contact.language.as_deref().unwrap_or(""),
        },
        sender: &policy.messages.sender,
        as_of: date(lang, as_of),
        run_date: as_of.to_string(),
        labels,
        actions,
    }
}

/// The message of the notify action `entries[at]`: every action of the same
/// customer in the plan of a kind the policy tells the representative of.
pub fn message(
    policy: &CompiledPolicy,
    entries: &[PlanEntry],
    at: usize,
    customer: &Customer,
    as_of: NaiveDate,
) -> Result<Message, RenderError> {
    let a = &entries[at].action;
    let rep = a.owner.as_deref().unwrap_or("");
    let to = policy.rules.notify.address_of(rep).map(str::to_string);
    // The actions of one customer are together in a plan.
    let start = entries[..at].iter().rposition(|e| e.action.customer_id != a.customer_id).map_or(0, |p| p + 1);
    let told: Vec<&PlanEntry> = entries[start..]
        .iter()
        .take_while(|e| e.action.customer_id == a.customer_id)
        .filter(|e| policy.rules.notify.tells(e.action.action))
        .collect();
    let t: &Templates = &policy.messages;
    // The policy's template in the customer's language, or its default
    // language's; else recoup's own, in English.
    let (lang, key) = match t.language(TEMPLATE, customer.contact.language.as_deref()) {
        Some(l) => {
            let key = |part: &str| format!("{l}/{TEMPLATE}#{part}");
            (l.clone(), (key("subject"), key("text")))
        }
        None => ("en".to_string(), (shipped_key("subject"), shipped_key("text"))),
    };
    let f = fields(policy, &told, rep, customer, as_of, &lang);
    let subject = t.part(&key.0, &f)?;
    let mut text = t.part(&key.1, &f)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(Message {
        channel: Channel::Email,
        language: lang,
        subject: Some(subject.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")),
        text,
        html: None,
        to,
    })
}

/// Fields with every part filled, to try the template on (`check`).
pub(super) fn sample(sender: &super::Sender) -> minijinja::Value {
    let one = Told {
        id: "R0000000000000000",
        kind: "limit_change",
        label: "Limit change".into(),
        rule: "sample",
        invoices: &[],
        amount_due: "USD 1,000.00".into(),
        amount: "1,000.00".into(),
        old_limit: Some("5,000.00".into()),
        new_limit: Some("4,000.00".into()),
        reason: "sample",
    };
    let f = Fields {
        rep: "Sam Rep",
        collector: "owner-01".into(),
        customer: CustomerFields { id: "C1", name: "Sample Ltd", currency: "USD", language: "en" },
        sender,
        as_of: "1 January 2026".into(),
        run_date: "2026-01-01".into(),
        labels: vec!["Limit change".into()],
        actions: vec![one],
    };
    minijinja::Value::from_serialize(&f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn told<'a>(id: &'a str, label: &str, rule: &'a str, invoices: &'a [String], reason: &'a str) -> Told<'a> {
        Told {
            id,
            kind: "credit_hold",
            label: label.into(),
            rule,
            invoices,
            amount_due: "USD 1,000.00".into(),
            amount: "1,000.00".into(),
            old_limit: None,
            new_limit: None,
            reason,
        }
    }

    /// recoup's own template writes, byte for byte, the note recoup wrote
    /// before it was a template (`writeln!` line by line, a signature
    /// delimiter `-- ` with its space).
    #[test]
    fn the_shipped_template_writes_the_note_recoup_always_wrote() {
        let t = Templates::default();
        let invoices = ["I1".to_string(), "I2".to_string()];
        let mut limit = told("R2", "Limit change", "shrink", &[], "");
        (limit.old_limit, limit.new_limit) = (Some("5,000.00".into()), Some("4,000.00".into()));
        let acme = super::super::Sender { company: "Acme".into(), ..Default::default() };
        let mut f = Fields {
            rep: "Sam Rep",
            collector: "owner-01".into(),
            customer: CustomerFields { id: "C1", name: "Sample Ltd", currency: "USD", language: "" },
            sender: &acme,
            as_of: String::new(),
            run_date: "2026-01-01".into(),
            labels: vec!["Credit hold".into(), "Limit change".into()],
            actions: vec![told("R1", "Credit hold", "hold", &invoices, "late"), limit],
        };
        let text = t.part(&shipped_key("text"), &f).unwrap();
        assert_eq!(
            text,
            "Hello Sam Rep,\n\nrecoup's run of 2026-01-01 plans the following on Sample Ltd (C1), an account you look after:\n\n\
             - Credit hold (rule `hold`, action R1): invoices I1, I2, 1,000.00 USD due\n  why: late\n\
             - Limit change (rule `shrink`, action R2); credit limit 5,000.00 -> 4,000.00 USD\n\n\
             The collector handling the account: owner-01.\n\n-- \nAcme credit control\n"
        );
        assert_eq!(t.part(&shipped_key("subject"), &f).unwrap(), "Sample Ltd: Credit hold, Limit change (C1)");
        // Without a company, no signature.
        let plain = super::super::Sender::default();
        f.sender = &plain;
        assert!(t.part(&shipped_key("text"), &f).unwrap().ends_with("account: owner-01.\n"));
    }
}
