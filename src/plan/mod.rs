//! The batch run: evaluate the compiled policy for every customer in
//! parallel, give each planned action its stable id, and build what a run
//! writes — the plan, the worklist, the summary and the manifest ([`write`]).

pub mod group_statement;
pub mod parquet;
pub mod shard;
pub mod summary;
pub mod why;
pub mod write;

use crate::engine::{EvalError, PlannedAction, evaluate_customer};
use crate::facts::{Context, InvoiceFacts, derive_customer};
use crate::ledger::{ActionKind, Ledger};
use crate::policy::CompiledPolicy;
use crate::policy::raw::OnError;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
pub use shard::Shard;
use std::collections::BTreeMap;

/// One row of the plan: a planned action and its stable id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanEntry {
    /// Stable: the same decision on the same as-of date gets the same id.
    pub action_id: String,
    #[serde(flatten)]
    pub action: PlannedAction,
}

/// A plan row's money with its currency's minor units (plan.jsonl).
impl Serialize for PlanEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Row<'a> {
            action_id: &'a str,
            #[serde(flatten)]
            action: &'a PlannedAction,
        }
        let _scope = crate::money::Scope::enter(&self.action.currency);
        Row { action_id: &self.action_id, action: &self.action }.serialize(s)
    }
}

/// The result of evaluating a policy over a ledger.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub as_of: Option<NaiveDate>,
    /// Every planned action, in customer-id order, then in the order the
    /// policy produced them.
    pub entries: Vec<PlanEntry>,
    /// Customers skipped because a rule failed (`on_script_error = "skip"`).
    pub skipped: Vec<EvalError>,
    pub customers: u64,
    /// Executed history rows whose rule id the policy does not have, by id
    /// ([`crate::engine::history::unknown_rule_ids`]).
    pub unknown_rule_ids: std::collections::BTreeMap<String, u64>,
    /// The distinct exposure today's actions cover, per currency: each
    /// customer's debt once, however many actions concern it ([`covered`]).
    pub exposure: BTreeMap<String, Exposure>,
}

/// Customers and the money today's actions concern, each customer's debt once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// Customers with an action that concerns money.
    pub customers: u64,
    /// Their debt the actions concern, counted once.
    #[serde(with = "crate::money::json")]
    pub amount: Decimal,
}

impl Exposure {
    /// Add another part's exposure, currency by currency (`recoup merge`).
    pub fn add_all(into: &mut BTreeMap<String, Exposure>, part: &BTreeMap<String, Exposure>) {
        for (code, x) in part {
            let e = into.entry(code.clone()).or_default();
            e.customers += x.customers;
            e.amount += x.amount;
        }
    }
}

/// The debt of one customer that its actions of today concern, counted
/// once: the open amount of every invoice an action names, and of every
/// overdue invoice when an account-level action (a limit change, a review,
/// a hold: no invoice named) states an amount due (its overdue total); never
/// less than the largest amount one action states.
pub fn covered(actions: &[PlannedAction], invoices: &[InvoiceFacts<'_>]) -> Decimal {
    let account = actions.iter().any(|a| a.invoice_ids.is_empty() && a.amount_due > Decimal::ZERO);
    let mut total = Decimal::ZERO;
    for inv in invoices {
        let id = inv.invoice.id.as_str();
        if (account && inv.days_past_due > 0) || actions.iter().any(|a| a.invoice_ids.iter().any(|i| i == id)) {
            total += inv.invoice.open_amount;
        }
    }
    actions.iter().map(|a| a.amount_due).fold(total, Decimal::max)
}

/// Why a run could not produce a plan.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A rule failed for a customer and the policy says to fail the run.
    #[error("rule `{}` failed for customer `{}`: {}", .0.rule_id, .0.customer_id, .0.message)]
    Script(EvalError),
    /// More customers failed a rule than the policy allows (`max_failed_share`): the run
    /// was stopped. `first` is the first failure in customer order among those evaluated.
    #[error(
        "rules failed for more than {allowed} of {customers} customers, more than `max_failed_share = {share}` \
         allows: the run was stopped; first: {first}"
    )]
    TooManyFailed { allowed: usize, customers: usize, share: f64, first: Box<EvalError> },
}

/// The stable id of an action decided on `as_of`: a hash of the date, the
/// customer, the rule, the action kind and the invoices. A re-run of the same
/// day with the same history decides the same actions with the same ids.
pub fn action_id(as_of: NaiveDate, a: &PlannedAction) -> String {
    action_id_on(&as_of.to_string(), a)
}

/// [`action_id`] with the as-of date already formatted (`YYYY-MM-DD`), as a
/// batch run does once for all its actions.
fn action_id_on(as_of: &str, a: &PlannedAction) -> String {
    let mut h = blake3::Hasher::new();
    for part in [as_of, &a.customer_id, &a.rule_id, a.action.as_str()] {
        h.update(part.as_bytes());
        h.update(b"\x1f");
    }
    for i in &a.invoice_ids {
        h.update(i.as_bytes());
        h.update(b"\x1e");
    }
    let hex = h.finalize().to_hex();
    format!("R{}", &hex.as_str()[..16])
}

/// Evaluate `policy` for every customer of `ledger` in parallel (rayon, no
/// shared mutable state) and collect the plan in customer-id order, so the
/// result is the same at any thread count.
pub fn evaluate(ledger: &Ledger, policy: &CompiledPolicy, ctx: &Context) -> Result<Plan, RunError> {
    evaluate_with_progress(ledger, policy, ctx, &|| {})
}

/// [`evaluate`], calling `customer_done()` (from any thread) after each
/// customer — for a progress bar. The plan does not depend on it.
pub fn evaluate_with_progress(
    ledger: &Ledger,
    policy: &CompiledPolicy,
    ctx: &Context,
    customer_done: &(dyn Fn() + Sync),
) -> Result<Plan, RunError> {
    evaluate_shard(ledger, policy, ctx, None, customer_done)
}

/// [`evaluate_with_progress`] for the customers of one shard only (`recoup
/// run --shard`): `only` is the shard's [`Shard::mask`]; `None` is every
/// customer. The plan is in customer-id order
/// (then in the order the policy produced the actions), an order the shards'
/// plans share, so `recoup merge` rebuilds the unsharded plan by merging them.
pub fn evaluate_shard(
    ledger: &Ledger,
    policy: &CompiledPolicy,
    ctx: &Context,
    only: Option<&[bool]>,
    customer_done: &(dyn Fn() + Sync),
) -> Result<Plan, RunError> {
    use rayon::prelude::*;
    let cal = ctx.calendar();
    let as_of = ctx.as_of.to_string();
    // The policy's per-invoice steps count one contact per invoice.
    // Customer groups: their figures once, before the parallel evaluation.
    let ctx = &policy.facts_context(ctx).into_owned().with_groups(ledger);
    let skip = policy.on_script_error() == OnError::Skip;
    // Skip mode: the failures allowed, and a flag that stops every slice once they are
    // exceeded (the run fails whatever the rest would do: a runaway rule costs at most
    // `allowed` + the threads' customers in flight, not every customer).
    let allowed = policy.failures_allowed(only.map_or(ledger.customers.len(), |m| m.iter().filter(|&&k| k).count()));
    let failures = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut customers: Vec<u32> = match only {
        None => (0..ledger.customers.len() as u32).collect(),
        Some(mask) => (0..ledger.customers.len() as u32).filter(|&c| mask[c as usize]).collect(),
    };
    // Customer-id order: the ledger's own order when customers.csv is
    // sorted (the usual case, checked in one pass), else sorted here. Each
    // customer's decision depends only on its own rows, so evaluating them
    // in this order gives what evaluating them in any other would.
    let id = |c: u32| ledger.customers[c as usize].id.as_str();
    if !customers.windows(2).all(|w| id(w[0]) < id(w[1])) {
        customers.par_sort_by(|&a, &b| id(a).cmp(id(b)));
    }
    // Consecutive customers in slices: each slice's actions are collected
    // in order on the worker thread that evaluated them (no per-customer
    // vectors to put back in order afterwards), with their ids; a slice
    // stops at its first failure when the run fails on one.
    let evaluate_parts = |customers: &[u32]| -> Vec<Part> {
        customers
            .par_chunks(256)
            .map_init(Vec::new, |invoices, slice| {
                let mut part = Part { entries: Vec::new(), skipped: Vec::new(), failed: None, exposure: Vec::new() };
                for &c in slice {
                    if skip && stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let cf = derive_customer(ledger, c, ctx, invoices);
                    let result = evaluate_customer(policy, ledger, &cf, invoices, &cal, None);
                    customer_done();
                    match result {
                        Ok(actions) => {
                            let debt = covered(&actions, invoices);
                            if debt > Decimal::ZERO {
                                let code = &cf.customer.currency;
                                let k = match part.exposure.iter().position(|(c, _)| c == code) {
                                    Some(k) => k,
                                    None => {
                                        part.exposure.push((code.clone(), Exposure::default()));
                                        part.exposure.len() - 1
                                    }
                                };
                                part.exposure[k].1.customers += 1;
                                part.exposure[k].1.amount += debt;
                            }
                            let first = part.entries.len();
                            for action in actions {
                                let base = action_id_on(&as_of, &action);
                                // Ids hash the customer, so only two identical decisions
                                // for the same customer can meet; they get `-2`, `-3`...
                                let mut id = base.clone();
                                let mut n = 1;
                                while part.entries[first..].iter().any(|e| e.action_id == id) {
                                    n += 1;
                                    id = format!("{base}-{n}");
                                }
                                part.entries.push(PlanEntry { action_id: id, action });
                            }
                        }
                        Err(e) if skip => {
                            part.skipped.push(e);
                            if failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 > allowed {
                                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                                break;
                            }
                        }
                        Err(e) => {
                            part.failed = Some(e);
                            break;
                        }
                    }
                }
                part
            })
            .collect()
    };
    // The history rows naming rules the policy does not have are counted
    // beside the evaluation (a pass over every action row).
    let (parts, unknown_rule_ids): (Vec<Part>, _) = rayon::join(
        || evaluate_parts(&customers),
        || crate::engine::history::unknown_rule_ids(ledger, policy, ctx.as_of, only),
    );
    let mut plan = Plan {
        as_of: Some(ctx.as_of),
        customers: customers.len() as u64,
        entries: Vec::with_capacity(parts.iter().map(|p| p.entries.len()).sum()),
        unknown_rule_ids,
        ..Plan::default()
    };
    for part in parts {
        if let Some(e) = part.failed {
            return Err(RunError::Script(e));
        }
        plan.entries.extend(part.entries);
        plan.skipped.extend(part.skipped);
        for (code, x) in part.exposure {
            let e = plan.exposure.entry(code.to_string()).or_default();
            e.customers += x.customers;
            e.amount += x.amount;
        }
    }
    if plan.skipped.len() > allowed {
        let customers = plan.customers as usize;
        let share = policy.rules.meta.max_failed_share;
        let first = Box::new(plan.skipped.swap_remove(0));
        return Err(RunError::TooManyFailed { allowed, customers, share, first });
    }
    // Consolidated group statements: one message per group (nothing to do
    // without a `consolidated` step and a ledger with groups).
    group_statement::link(&mut plan.entries, ledger, policy, ctx);
    Ok(plan)
}

/// The actions of a slice of customers, in order, and its skipped customers
/// (or the failure that stops the run).
struct Part {
    entries: Vec<PlanEntry>,
    skipped: Vec<EvalError>,
    failed: Option<EvalError>,
    /// [`Plan::exposure`] of the slice, by currency.
    exposure: Vec<(crate::ledger::Text, Exposure)>,
}

/// Actions a person carries out: they go on the worklist.
pub fn is_human_task(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Call
            | ActionKind::CreditReview
            | ActionKind::NotifyOwner
            | ActionKind::WriteOffReview
            | ActionKind::ReferLegal
            | ActionKind::PaymentPlanOffer
    )
}

/// The worklist: human tasks grouped by owner (unassigned last), highest
/// priority first, ties by customer id and action id.
pub fn worklist(plan: &Plan) -> Vec<&PlanEntry> {
    use rayon::prelude::*;
    let mut tasks: Vec<&PlanEntry> = plan.entries.iter().filter(|e| e.action.is_task()).collect();
    // A stable sort: the same order at any thread count.
    tasks.par_sort_by(|a, b| {
        fn owner(e: &PlanEntry) -> (bool, Option<&str>) {
            (e.action.owner.is_none(), e.action.owner.as_deref())
        }
        owner(a)
            .cmp(&owner(b))
            .then(b.action.priority.total_cmp(&a.action.priority))
            .then(a.action.customer_id.cmp(&b.action.customer_id))
            .then(a.action_id.cmp(&b.action_id))
    });
    tasks
}
