//! The message of a `notify` action (`[notify]`, docs/outbox.md "The sales
//! representative's message"): an e-mail to the customer's sales
//! representative listing what the plan does to the account. recoup writes
//! it itself, in English (no template): it is an internal note.

use super::Message;
use crate::engine::words::money_of;
use crate::ledger::{Channel, Customer};
use crate::plan::PlanEntry;
use crate::policy::CompiledPolicy;
use chrono::NaiveDate;
use std::fmt::Write as _;

/// The message of the notify action `entries[at]`: every action of the same
/// customer in the plan of a kind the policy tells the representative of.
pub fn message(
    policy: &CompiledPolicy,
    entries: &[PlanEntry],
    at: usize,
    customer: &Customer,
    as_of: NaiveDate,
) -> Message {
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
    let labels: Vec<String> = told.iter().map(|e| policy.kind_label(e.action.action).into_owned()).collect();
    let mut uniq = labels.clone();
    uniq.dedup();
    let subject = format!("{}: {} ({})", customer.name, uniq.join(", "), customer.id);
    let mut text = String::new();
    let _ = writeln!(text, "Hello {rep},\n");
    let _ = writeln!(
        text,
        "recoup's run of {as_of} plans the following on {} ({}), an account you look after:\n",
        customer.name, customer.id
    );
    let cur = customer.currency.as_str();
    for (e, label) in told.iter().zip(&labels) {
        let b = &e.action;
        let _ = write!(text, "- {label} (rule `{}`, action {})", b.rule_id, e.action_id);
        if !b.invoice_ids.is_empty() {
            let _ = write!(text, ": invoices {}, {} {cur} due", b.invoice_ids.join(", "), money_of(b.amount_due, cur));
        }
        if let (Some(old), Some(new)) = (b.old_limit, b.new_limit) {
            let _ = write!(text, "; credit limit {} -> {} {cur}", money_of(old, cur), money_of(new, cur));
        }
        text.push('\n');
        if !b.reason.is_empty() {
            let _ = writeln!(text, "  why: {}", b.reason);
        }
    }
    let _ = writeln!(text, "\nThe collector handling the account: {}.", a_owner(&told));
    let sender = &policy.messages.sender;
    if !sender.company.is_empty() {
        let _ = writeln!(text, "\n-- \n{} credit control", sender.company);
    }
    Message { channel: Channel::Email, language: "en".into(), subject: Some(subject), text, html: None, to }
}

/// The owner of the first action told of (the collector), or "unassigned".
fn a_owner(told: &[&PlanEntry]) -> String {
    told.iter().find_map(|e| e.action.owner.clone()).unwrap_or_else(|| "unassigned".into())
}
