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
use crate::engine::contact::unreachable;
use crate::engine::{Outcome, PlannedAction, Trace};
use crate::facts::{Context, derive_customer};
use crate::ledger::{ActionKind, Channel, CustIx, Customer, Ledger};
use crate::policy::CompiledPolicy;
use crate::policy::compile::Step;
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
pub fn is_consolidated(a: &PlannedAction, steps: &[&str]) -> bool {
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

/// How the group statement of `step` reaches head `h`: on the first of the
/// step's channel and `fallback` channels the head's contact allows (judged
/// as `engine::contact` judges a customer's own messages, the head's
/// bounced e-mail included), or why on none. The members' own contacts play
/// no part: the statement goes to the head.
fn reach(ledger: &Ledger, ctx: &Context, h: CustIx, step: Option<&Step>) -> Result<Channel, String> {
    // A statement step always has a channel (`validate`).
    let Some((first, fallback)) = step.and_then(|s| s.channel.map(|c| (c, &s.fallback[..]))) else {
        return Err("the step has no channel".into());
    };
    let head = &ledger.customers[h as usize];
    let mut bounced = None;
    let mut why = Vec::new();
    for ch in std::iter::once(first).chain(fallback.iter().copied()) {
        let b = ch == Channel::Email
            && *bounced.get_or_insert_with(|| derive_customer(ledger, h, ctx, &mut Vec::new()).email_bounced);
        match unreachable(head, ch, b) {
            None => return Ok(ch),
            Some(r) => why.push(format!("{ch}: {r}")),
        }
    }
    Err(why.join(", "))
}

/// What the engine said of member `a`'s own contact (`; sent by X (..)` or
/// `; undeliverable (..)`, see `engine::contact`), taken out of its reason:
/// its statement goes to its group's head, however the member itself can
/// be reached. `c` is the member, `step` its statement's step.
fn forget_own_contact(a: &mut PlannedAction, c: &Customer, step: Option<&Step>) {
    if let Some(why) = a.undeliverable.take() {
        let words = format!("; undeliverable ({why})");
        if let Some(at) = a.reason.rfind(&words) {
            a.reason.replace_range(at..at + words.len(), "");
        }
    }
    let (Some(s), Some(ch)) = (step, a.channel) else { return };
    let Some(first) = s.channel.filter(|f| *f != ch) else { return };
    // The channels tried before the one it went by, as the engine words them
    // (with and without a bounce: the words say which it was).
    let before: Vec<Channel> =
        std::iter::once(first).chain(s.fallback.iter().copied()).take_while(|x| *x != ch).collect();
    for bounced in [false, true] {
        let why: Vec<String> = before
            .iter()
            .map(|&x| format!("{x}: {}", unreachable(c, x, bounced && x == Channel::Email).unwrap_or_default()))
            .collect();
        let words = format!("; sent by {ch} ({})", why.join(", "));
        if let Some(at) = a.reason.rfind(&words) {
            a.reason.replace_range(at..at + words.len(), "");
            break;
        }
    }
    a.channel = Some(first);
}

/// Make `a`, a consolidated statement of group `head_id` (reached as
/// `reach` says), one of the group's: a member forgets its own contact
/// (`member`), every row takes the head's channel and says it goes in the
/// group's statement, or that the statement cannot be sent.
fn join(
    a: &mut PlannedAction,
    member: Option<(&Customer, Option<&Step>)>,
    head_id: &str,
    reach: &Result<Channel, String>,
) {
    if let Some((c, step)) = member {
        forget_own_contact(a, c, step);
    }
    match reach {
        Ok(ch) => {
            a.channel = Some(*ch);
            a.reason.push_str(&note(head_id));
        }
        // The head's own row already says why (the engine judged its contact).
        Err(_) if member.is_none() => {}
        Err(why) => {
            let why = format!("group head `{head_id}` cannot be reached: {why}");
            a.reason.push_str(&format!("{}; undeliverable ({why})", note(head_id)));
            a.undeliverable = Some(why);
        }
    }
}

/// The step `a` is of (its first definition by id).
fn step_of<'p>(policy: &'p CompiledPolicy, a: &PlannedAction) -> Option<&'p Step> {
    let id = a.step.as_deref()?;
    policy.rules.ladders.iter().flat_map(|l| l.steps.iter()).find(|s| s.id == id)
}

/// `recoup explain` of customer `c`: its consolidated statements say, as the
/// plan's rows do, that they go in their group's statement, and a member's
/// step line no longer says what its own contact allowed.
pub fn note_actions(trace: &mut Trace, ledger: &Ledger, policy: &CompiledPolicy, ctx: &Context, c: CustIx) {
    let steps = consolidated_steps(policy);
    if steps.is_empty() {
        return;
    }
    let Some(h) = head_of(ledger, &heads(ledger), c) else { return };
    let head_id = &ledger.customers[h as usize].id;
    for a in trace.actions.iter_mut().filter(|a| is_consolidated(a, &steps)) {
        let Some(step) = a.step.clone() else { continue };
        let reach = reach(ledger, ctx, h, step_of(policy, a));
        let member = (c != h).then(|| (&ledger.customers[c as usize], step_of(policy, a)));
        if member.is_none() && a.undeliverable.is_some() {
            continue;
        }
        let own = (a.undeliverable.clone(), a.channel);
        join(a, member, head_id, &reach);
        if member.is_none() {
            continue;
        }
        // The step's line (`engine::ladder`) said where the member's own contact led.
        let words = match own {
            (Some(why), _) => format!("; undeliverable: {why}"),
            (None, Some(ch)) => format!("; falls back to {ch}"),
            (None, None) => continue,
        };
        for r in trace.rules.iter_mut().filter(|r| r.rule_id == step && r.outcome == Outcome::Fired) {
            if let Some(at) = r.detail.rfind(&words) {
                r.detail.replace_range(at..at + words.len(), "");
            }
        }
    }
}

/// Link the consolidated statements of each group in `entries` (a plan in
/// customer-id order, with its action ids) into one message per group: each
/// row gets the message id of the group's lead row and says so in its
/// reason. The statement goes to the group's head on the first channel of
/// the step (or its fallbacks) the head can be reached on, whatever the
/// members' own contacts: a member with no usable contact is listed too. When
/// the head cannot be reached, every row of the group is undeliverable
/// (counted with the other undeliverable messages) and none is linked. Rows
/// already sharing a message are left alone, as is an undeliverable row of
/// a customer in no group.
pub fn link(entries: &mut [PlanEntry], ledger: &Ledger, policy: &CompiledPolicy, ctx: &Context) {
    let steps = consolidated_steps(policy);
    if steps.is_empty() || ledger.customers.iter().all(|c| c.group.is_none()) {
        return;
    }
    let candidates: Vec<usize> = (0..entries.len())
        .filter(|&k| {
            let a = &entries[k].action;
            is_consolidated(a, &steps) && a.message_id.is_none()
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
        let first = rows.iter().find(|(_, c)| *c == h).unwrap_or(&rows[0]).0;
        let reach = reach(ledger, ctx, h, step_of(policy, &entries[first].action));
        // The head's row leads when it has one (and can be sent).
        let lead =
            rows.iter().find(|(k, c)| *c == h && entries[*k].action.undeliverable.is_none()).unwrap_or(&rows[0]).0;
        let id = entries[lead].action_id.clone();
        let head_id = &ledger.customers[h as usize].id;
        for (k, c) in rows {
            let a = &mut entries[k].action;
            let member = (c != h).then(|| (&ledger.customers[c as usize], step_of(policy, a)));
            if member.is_none() && a.undeliverable.is_some() {
                continue;
            }
            join(a, member, head_id, &reach);
            if reach.is_ok() {
                a.message_id = Some(id.clone());
            }
        }
    }
}
