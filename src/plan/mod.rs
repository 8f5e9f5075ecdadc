//! The batch run: evaluate the compiled policy for every customer in
//! parallel, give each planned action its stable id, and build what a run
//! writes — the plan, the worklist, the summary and the manifest ([`write`]).

pub mod shard;
pub mod summary;
pub mod write;

use crate::engine::{EvalError, PlannedAction, evaluate_customer};
use crate::facts::{Context, map_customers, map_customers_where};
use crate::ledger::{ActionKind, Ledger};
use crate::policy::CompiledPolicy;
use crate::policy::raw::OnError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
pub use shard::Shard;

/// One row of the plan: a planned action and its stable id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// Stable: the same decision on the same as-of date gets the same id.
    pub action_id: String,
    #[serde(flatten)]
    pub action: PlannedAction,
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
}

/// Why a run could not produce a plan.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A rule failed for a customer and the policy says to fail the run.
    #[error("rule `{}` failed for customer `{}`: {}", .0.rule_id, .0.customer_id, .0.message)]
    Script(EvalError),
}

/// The stable id of an action decided on `as_of`: a hash of the date, the
/// customer, the rule, the action kind and the invoices. A re-run of the same
/// day with the same history decides the same actions with the same ids.
pub fn action_id(as_of: NaiveDate, a: &PlannedAction) -> String {
    let mut h = blake3::Hasher::new();
    for part in [&as_of.to_string(), &a.customer_id, &a.rule_id, a.action.as_str()] {
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
    let cal = ctx.calendar();
    // Each action's id is worked out on the worker thread that planned it.
    let eval = |cf: &crate::facts::CustomerFacts<'_>, inv: &[crate::facts::InvoiceFacts<'_>]| {
        let r = evaluate_customer(policy, ledger, cf, inv, &cal, None)
            .map(|actions| actions.into_iter().map(|a| (action_id(ctx.as_of, &a), a)).collect::<Vec<_>>());
        customer_done();
        r
    };
    let (customers, results) = match only {
        None => ((0..ledger.customers.len() as u32).collect::<Vec<_>>(), map_customers(ledger, ctx, eval)),
        Some(mask) => {
            let kept: Vec<u32> = (0..ledger.customers.len() as u32).filter(|&c| mask[c as usize]).collect();
            let results = map_customers_where(ledger, ctx, &kept, eval);
            (kept, results)
        }
    };
    // Customer-id order: the ledger's own order when customers.csv is
    // sorted (the usual case, checked in one pass), else sorted here.
    let id = |c: u32| ledger.customers[c as usize].id.as_str();
    let mut order: Vec<usize> = (0..results.len()).collect();
    if !customers.windows(2).all(|w| id(w[0]) < id(w[1])) {
        order.sort_by(|&a, &b| id(customers[a]).cmp(id(customers[b])));
    }
    let mut results: Vec<Option<_>> = results.into_iter().map(Some).collect();
    let mut plan = Plan { as_of: Some(ctx.as_of), customers: results.len() as u64, ..Plan::default() };
    for k in order {
        let Some(r) = results[k].take() else { continue };
        match r {
            Ok(actions) => {
                let first = plan.entries.len();
                for (base, action) in actions {
                    // Ids hash the customer, so only two identical decisions
                    // for the same customer can meet; they get `-2`, `-3`...
                    let mut id = base.clone();
                    let mut n = 1;
                    while plan.entries[first..].iter().any(|e| e.action_id == id) {
                        n += 1;
                        id = format!("{base}-{n}");
                    }
                    plan.entries.push(PlanEntry { action_id: id, action });
                }
            }
            Err(e) if policy.on_script_error() == OnError::Skip => plan.skipped.push(e),
            Err(e) => return Err(RunError::Script(e)),
        }
    }
    Ok(plan)
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
    let mut tasks: Vec<&PlanEntry> = plan.entries.iter().filter(|e| is_human_task(e.action.action)).collect();
    tasks.sort_by(|a, b| {
        let owner = |e: &PlanEntry| (e.action.owner.is_none(), e.action.owner.clone());
        owner(a)
            .cmp(&owner(b))
            .then(b.action.priority.total_cmp(&a.action.priority))
            .then(a.action.customer_id.cmp(&b.action.customer_id))
            .then(a.action_id.cmp(&b.action_id))
    });
    tasks
}
