//! summary.json: counts and amounts by action and step, holds, limit changes,
//! discounts, referrals, rows loaded and rejected, and the portfolio KPIs.
//! Deterministic (ordered maps, no timings): plans stay byte-comparable.

use super::Plan;
use crate::facts::kpi::Portfolio;
use crate::ledger::{ActionKind, FileCounts, LoadReport};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Count and money of a group of actions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    pub amount_due: Decimal,
    pub fees: Decimal,
    pub interest: Decimal,
    pub cost: Decimal,
}

impl Tally {
    fn add(&mut self, a: &crate::engine::PlannedAction) {
        self.count += 1;
        self.amount_due += a.amount_due;
        self.fees += a.fee + a.compensation;
        self.interest += a.interest;
        self.cost += a.cost;
    }
}

/// Limit changes: how many went up or down and by how much in total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitChanges {
    pub increases: u64,
    pub increase_total: Decimal,
    pub decreases: u64,
    pub decrease_total: Decimal,
}

/// Discounts offered and what they cost if every offer is taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Discounts {
    pub offered: u64,
    pub max_cost: Decimal,
}

/// Rows read, loaded and rejected per input file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rows {
    pub customers: FileCounts,
    pub invoices: FileCounts,
    pub payments: FileCounts,
    pub promises: FileCounts,
    pub actions: FileCounts,
}

/// The run summary written to summary.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub as_of: Option<chrono::NaiveDate>,
    pub policy: String,
    pub policy_version: String,
    pub customers: u64,
    pub customers_with_actions: u64,
    pub customers_skipped: u64,
    pub actions: Tally,
    pub by_action: BTreeMap<String, Tally>,
    pub by_step: BTreeMap<String, Tally>,
    pub holds_placed: u64,
    pub amount_on_hold: Decimal,
    pub holds_released: u64,
    pub limit_changes: LimitChanges,
    pub discounts: Discounts,
    pub referrals: BTreeMap<String, Tally>,
    pub rows: Rows,
    pub warnings: u64,
    pub kpis: Portfolio,
    /// Executed history rows whose rule id the policy does not have, by id
    /// (absent when there are none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_rule_ids: BTreeMap<String, u64>,
}

impl Rows {
    /// The counts of a load report.
    pub fn of(report: &LoadReport) -> Rows {
        Rows {
            customers: report.customers,
            invoices: report.invoices,
            payments: report.payments,
            promises: report.promises,
            actions: report.actions,
        }
    }

    /// Add another part's counts (`recoup merge` of partitioned shards).
    pub fn add(&mut self, o: &Rows) {
        for (a, b) in [
            (&mut self.customers, &o.customers),
            (&mut self.invoices, &o.invoices),
            (&mut self.payments, &o.payments),
            (&mut self.promises, &o.promises),
            (&mut self.actions, &o.actions),
        ] {
            a.read += b.read;
            a.loaded += b.loaded;
            a.rejected += b.rejected;
        }
    }
}

/// Summarise a plan.
pub fn summarize(plan: &Plan, policy: (&str, &str), report: &LoadReport, kpis: Portfolio) -> Summary {
    summarize_parts(plan, policy, Rows::of(report), report.warnings.len() as u64, kpis)
}

/// Summarise a plan from its parts: what [`summarize`] takes from the load
/// report, given directly (`recoup merge` has the shards' counts, not a
/// report). `customers_skipped` counts `plan.skipped`; a merge sets it.
pub fn summarize_parts(plan: &Plan, policy: (&str, &str), rows: Rows, warnings: u64, kpis: Portfolio) -> Summary {
    let mut s = Summary {
        as_of: plan.as_of,
        policy: policy.0.to_string(),
        policy_version: policy.1.to_string(),
        customers: plan.customers,
        customers_with_actions: 0,
        customers_skipped: plan.skipped.len() as u64,
        actions: Tally::default(),
        by_action: BTreeMap::new(),
        by_step: BTreeMap::new(),
        holds_placed: 0,
        amount_on_hold: Decimal::ZERO,
        holds_released: 0,
        limit_changes: LimitChanges::default(),
        discounts: Discounts::default(),
        referrals: BTreeMap::new(),
        rows,
        warnings,
        kpis,
        unknown_rule_ids: plan.unknown_rule_ids.clone(),
    };
    let mut last_customer: Option<&str> = None;
    for e in &plan.entries {
        let a = &e.action;
        if last_customer != Some(a.customer_id.as_str()) {
            s.customers_with_actions += 1;
            last_customer = Some(&a.customer_id);
        }
        s.actions.add(a);
        s.by_action.entry(a.action.as_str().to_string()).or_default().add(a);
        if let Some(step) = &a.step {
            s.by_step.entry(step.clone()).or_default().add(a);
        }
        match a.action {
            ActionKind::CreditHold => {
                s.holds_placed += 1;
                s.amount_on_hold += a.amount_due;
            }
            ActionKind::ReleaseHold => s.holds_released += 1,
            ActionKind::DiscountOffer => {
                s.discounts.offered += 1;
                s.discounts.max_cost += a.discount_cost;
            }
            ActionKind::ReferAgency | ActionKind::ReferLegal => {
                s.referrals.entry(a.action.as_str().to_string()).or_default().add(a);
            }
            _ => {}
        }
        if let (Some(old), Some(new)) = (a.old_limit, a.new_limit) {
            if new > old {
                s.limit_changes.increases += 1;
                s.limit_changes.increase_total += new - old;
            } else if new < old {
                s.limit_changes.decreases += 1;
                s.limit_changes.decrease_total += old - new;
            }
        }
    }
    s
}
