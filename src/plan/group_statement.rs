//! Consolidated group statements: the statements a `consolidated = true`
//! step plans for the customers of one group (customers.csv `parent`: a head
//! and the customers naming it) are **one message addressed to the group's
//! head**, listing each customer's items and a total per currency. Each
//! customer keeps its own plan row (its currency, invoices and amounts; its
//! history, cooldown and cost), and the rows share a `message_id`: the
//! head's row when it has one, else the first in customer-id order.
//!
//! A pass over the plan after the parallel evaluation; nothing is done for a
//! policy without such a step or a ledger without groups. A group is always
//! in one shard (`Shard::mask`), so shards link the same messages.

use super::PlanEntry;
use crate::ledger::{ActionKind, CustIx, Ledger};
use crate::policy::CompiledPolicy;
use std::collections::BTreeMap;

/// The ids of the policy's `consolidated = true` statement steps.
pub fn consolidated_steps(policy: &CompiledPolicy) -> Vec<&str> {
    let mut ids: Vec<&str> = policy
        .rules
        .ladders
        .iter()
        .flat_map(|l| l.steps.iter())
        .filter(|s| s.consolidated && s.action == ActionKind::Statement)
        .map(|s| s.id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Whether `a` is a statement of a consolidated step (`steps` from
/// [`consolidated_steps`]).
pub fn is_consolidated(a: &crate::engine::PlannedAction, steps: &[&str]) -> bool {
    a.action == ActionKind::Statement && a.step.as_deref().is_some_and(|s| steps.contains(&s))
}

/// The head of customer `c`'s group: its parent, or itself when it heads a
/// group (`heads`: the customers some customer names as parent); `None` for a
/// customer in no group.
pub fn head_of(ledger: &Ledger, heads: &[bool], c: CustIx) -> Option<CustIx> {
    let cust = ledger.customers.get(c as usize)?;
    cust.group.or(heads.get(c as usize).copied().unwrap_or(false).then_some(c))
}

/// The customers some customer names as parent, by index.
pub fn heads(ledger: &Ledger) -> Vec<bool> {
    let mut head = vec![false; ledger.customers.len()];
    for c in &ledger.customers {
        if let Some(p) = c.group {
            head[p as usize] = true;
        }
    }
    head
}

/// The words a consolidated row's reason ends with (in the plan and in
/// `recoup explain`).
pub fn note(head_id: &str) -> String {
    format!("; one statement for group {head_id}, to {head_id}")
}

/// `recoup explain` of customer `c`: its consolidated statements say, as the
/// plan's rows do, that they go in their group's statement.
pub fn note_actions(actions: &mut [crate::engine::PlannedAction], ledger: &Ledger, policy: &CompiledPolicy, c: CustIx) {
    let steps = consolidated_steps(policy);
    if steps.is_empty() {
        return;
    }
    let Some(h) = head_of(ledger, &heads(ledger), c) else { return };
    let words = note(&ledger.customers[h as usize].id);
    for a in actions.iter_mut().filter(|a| is_consolidated(a, &steps) && a.undeliverable.is_none()) {
        a.reason.push_str(&words);
    }
}

/// Link the consolidated statements of each group in `entries` (a plan in
/// customer-id order, with its action ids) into one message per group: each
/// row gets the message id of the group's lead row and says so in its
/// reason. Rows already sharing a message, and undeliverable ones, are left
/// alone.
pub fn link(entries: &mut [PlanEntry], ledger: &Ledger, policy: &CompiledPolicy) {
    let steps = consolidated_steps(policy);
    if steps.is_empty() || ledger.customers.iter().all(|c| c.group.is_none()) {
        return;
    }
    let candidates: Vec<usize> = (0..entries.len())
        .filter(|&k| {
            let a = &entries[k].action;
            is_consolidated(a, &steps) && a.message_id.is_none() && a.undeliverable.is_none()
        })
        .collect();
    if candidates.is_empty() {
        return;
    }
    let ix: hashbrown::HashMap<&str, CustIx> =
        ledger.customers.iter().enumerate().map(|(i, c)| (c.id.as_str(), i as CustIx)).collect();
    let heads = heads(ledger);
    let mut groups: BTreeMap<CustIx, Vec<(usize, CustIx)>> = BTreeMap::new();
    for k in candidates {
        let Some(&c) = ix.get(entries[k].action.customer_id.as_str()) else { continue };
        if let Some(h) = head_of(ledger, &heads, c) {
            groups.entry(h).or_default().push((k, c));
        }
    }
    for (h, rows) in groups {
        let lead = rows.iter().find(|(_, c)| *c == h).unwrap_or(&rows[0]).0;
        let id = entries[lead].action_id.clone();
        let words = note(&ledger.customers[h as usize].id);
        for (k, _) in rows {
            let a = &mut entries[k].action;
            a.message_id = Some(id.clone());
            a.reason.push_str(&words);
        }
    }
}
