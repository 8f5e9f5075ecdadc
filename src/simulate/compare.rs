//! Today's comparison: each policy's plan on the same ledger and as-of date,
//! summed into [`Figures`], laid side by side as [`MetricRow`]s (variant
//! minus baseline), and the [`CustomerDiff`] of every customer whose actions
//! differ between the baseline and a variant.

use super::SimError;
use super::rollrate::{RollRateConfig, RollRateReport};
use crate::engine::PlannedAction;
use crate::facts::Context;
use crate::ledger::{ActionKind, CustIx, Ledger};
use crate::plan::{self, Plan, is_human_task};
use crate::policy::CompiledPolicy;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A policy to run: its label in the outputs, where it came from, and the
/// compiled policy.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub label: &'a str,
    pub path: &'a str,
    pub policy: &'a CompiledPolicy,
}

/// Count and amount due of a group of actions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindTally {
    pub count: u64,
    pub amount_due: Decimal,
}

/// Credit holds the plan places.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Holds {
    /// Customers put on hold.
    pub customers: u64,
    /// Their exposure (open AR) at the as-of date.
    pub exposure: Decimal,
}

/// Credit-limit changes: how many went up or down and by how much.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub raised: u64,
    pub raised_total: Decimal,
    pub lowered: u64,
    pub lowered_total: Decimal,
}

/// Early-payment discounts offered and their cost if every offer is taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Discounts {
    pub offered: u64,
    pub max_cost: Decimal,
}

/// One handler's work in the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub calls: u64,
    pub letters: u64,
    /// Every task a person carries out (calls, reviews, referrals to legal, ...).
    pub tasks: u64,
}

/// What one policy's plan does today, summed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub customers_with_actions: u64,
    pub actions: u64,
    /// By action kind (`email`, `call`, ...).
    pub by_action: BTreeMap<String, KindTally>,
    pub holds: Holds,
    pub holds_released: u64,
    pub limits: Limits,
    pub discounts: Discounts,
    /// Fees and fixed compensation charged.
    pub fees: Decimal,
    /// Interest stated.
    pub interest: Decimal,
    /// `refer_agency` and `refer_legal`: count and amount referred.
    pub referrals: BTreeMap<String, KindTally>,
    /// By handler: the action's owner (step or strategy owner, else the
    /// account owner); `-` when none.
    pub workload: BTreeMap<String, Workload>,
    /// Total unit cost of the actions under the policy's `[costs]`.
    pub cost: Decimal,
}

/// Open AR of each customer at the as-of date (open and disputed invoices).
fn exposures(ledger: &Ledger) -> Vec<Decimal> {
    (0..ledger.customers.len() as CustIx)
        .map(|c| {
            ledger
                .invoices_by_customer
                .rows(c)
                .iter()
                .map(|&i| &ledger.invoices[i as usize])
                .filter(|i| i.is_open())
                .map(|i| i.open_amount)
                .sum()
        })
        .collect()
}

/// Sum a plan into figures. `exposure` is [`exposures`] of the ledger.
fn figures(ledger: &Ledger, plan: &Plan, exposure: &[Decimal]) -> Figures {
    let mut f = Figures::default();
    let ix: BTreeMap<&str, usize> = ledger.customers.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let mut with_actions = BTreeSet::new();
    let mut held = BTreeSet::new();
    for e in &plan.entries {
        let a = &e.action;
        with_actions.insert(a.customer_id.as_str());
        f.actions += 1;
        let t = f.by_action.entry(a.action.as_str().to_string()).or_default();
        t.count += 1;
        t.amount_due += a.amount_due;
        f.fees += a.fee + a.compensation;
        f.interest += a.interest;
        f.cost += a.cost;
        if (a.hold || a.action == ActionKind::CreditHold) && held.insert(a.customer_id.as_str()) {
            f.holds.customers += 1;
            f.holds.exposure +=
                ix.get(a.customer_id.as_str()).and_then(|&i| exposure.get(i)).copied().unwrap_or_default();
        }
        match a.action {
            ActionKind::ReleaseHold => f.holds_released += 1,
            ActionKind::DiscountOffer => {
                f.discounts.offered += 1;
                f.discounts.max_cost += a.discount_cost;
            }
            k if k.is_referral() => {
                let r = f.referrals.entry(k.as_str().to_string()).or_default();
                r.count += 1;
                r.amount_due += a.amount_due;
            }
            _ => {}
        }
        if let (Some(old), Some(new)) = (a.old_limit, a.new_limit) {
            if new > old {
                f.limits.raised += 1;
                f.limits.raised_total += new - old;
            } else if new < old {
                f.limits.lowered += 1;
                f.limits.lowered_total += old - new;
            }
        }
        if a.action == ActionKind::Call || a.action == ActionKind::Letter || is_human_task(a.action) {
            let w = f.workload.entry(a.owner.clone().unwrap_or_else(|| "-".into())).or_default();
            w.calls += u64::from(a.action == ActionKind::Call);
            w.letters += u64::from(a.action == ActionKind::Letter);
            w.tasks += u64::from(is_human_task(a.action));
        }
    }
    f.customers_with_actions = with_actions.len() as u64;
    f
}

/// One policy's run: its plan and figures.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRun {
    pub label: String,
    pub policy: String,
    pub version: String,
    pub path: String,
    pub figures: Figures,
    #[serde(skip)]
    pub plan: Plan,
}

/// One line of the side-by-side table: a metric's value under each policy,
/// in the order of [`Comparison::runs`] (baseline first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    pub metric: String,
    /// Money (shown with cents) or a count.
    pub money: bool,
    pub values: Vec<Decimal>,
}

impl MetricRow {
    /// Variant `i` minus the baseline.
    pub fn delta(&self, i: usize) -> Decimal {
        self.values.get(i).copied().unwrap_or_default() - self.values.first().copied().unwrap_or_default()
    }
}

/// One action in a diff: what it is and the rule behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionBrief {
    pub action: String,
    pub rule_id: String,
    pub rule_kind: String,
    pub invoice_ids: Vec<String>,
    pub amount_due: Decimal,
    pub fee: Decimal,
    pub interest: Decimal,
    pub discount_cost: Decimal,
    pub new_limit: Option<Decimal>,
    pub hold: bool,
    pub owner: Option<String>,
    pub reason: String,
}

impl ActionBrief {
    fn of(a: &PlannedAction) -> Self {
        ActionBrief {
            action: a.action.as_str().to_string(),
            rule_id: a.rule_id.clone(),
            rule_kind: a.rule_kind.words().to_string(),
            invoice_ids: a.invoice_ids.clone(),
            amount_due: a.amount_due,
            fee: a.fee + a.compensation,
            interest: a.interest,
            discount_cost: a.discount_cost,
            new_limit: a.new_limit,
            hold: a.hold,
            owner: a.owner.clone(),
            reason: a.reason.clone(),
        }
    }

    /// `call INV1;INV2 [step call]`, for the CSV and the terminal.
    pub fn words(&self) -> String {
        let mut s = self.action.clone();
        if !self.invoice_ids.is_empty() {
            s.push(' ');
            s.push_str(&self.invoice_ids.join(";"));
        }
        if let Some(l) = self.new_limit {
            s.push_str(&format!(" limit {l:.2}"));
        }
        s
    }
}

/// How a customer's plan changed from the baseline to a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Actions under the variant only.
    Added,
    /// Actions under the baseline only.
    Removed,
    /// Actions under both, not the same.
    Changed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// A customer whose actions differ between the baseline and one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerDiff {
    pub variant: String,
    pub customer_id: String,
    pub customer_name: String,
    pub account_owner: Option<String>,
    pub change: Change,
    pub baseline: Vec<ActionBrief>,
    pub variant_actions: Vec<ActionBrief>,
}

/// What makes two actions "the same" across policies: what is done to the
/// customer and for how much — kind, channel, invoices, amounts, limit and
/// hold. Rule ids, templates, reasons and owners are not compared (a step
/// renamed in the variant that does the same thing is not a change), but the
/// diff shows them.
pub fn action_key(a: &PlannedAction) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        a.action.as_str(),
        a.channel.map(|c| c.as_str()).unwrap_or(""),
        a.invoice_ids.join(";"),
        a.amount_due.normalize(),
        (a.fee + a.compensation).normalize(),
        a.interest.normalize(),
        a.discount_cost.normalize(),
        a.new_limit.map(|l| l.normalize().to_string()).unwrap_or_default(),
        a.instalments.map(|n| n.to_string()).unwrap_or_default(),
        a.hold,
    )
}

/// A plan's actions grouped by customer id.
fn by_customer(plan: &Plan) -> BTreeMap<&str, Vec<&PlannedAction>> {
    let mut m: BTreeMap<&str, Vec<&PlannedAction>> = BTreeMap::new();
    for e in &plan.entries {
        m.entry(e.action.customer_id.as_str()).or_default().push(&e.action);
    }
    m
}

/// Every customer whose actions differ between `baseline` and `variant`, in
/// ledger customer order: the sorted multisets of [`action_key`]s differ.
pub fn diff(ledger: &Ledger, label: &str, baseline: &Plan, variant: &Plan) -> Vec<CustomerDiff> {
    let (b, v) = (by_customer(baseline), by_customer(variant));
    let keys = |acts: Option<&Vec<&PlannedAction>>| {
        let mut k: Vec<String> = acts.map(|a| a.iter().map(|a| action_key(a)).collect()).unwrap_or_default();
        k.sort();
        k
    };
    let mut out = Vec::new();
    for c in &ledger.customers {
        let (ba, va) = (b.get(c.id.as_str()), v.get(c.id.as_str()));
        if keys(ba) == keys(va) {
            continue;
        }
        let briefs = |acts: Option<&Vec<&PlannedAction>>| -> Vec<ActionBrief> {
            acts.map(|a| a.iter().map(|a| ActionBrief::of(a)).collect()).unwrap_or_default()
        };
        let (baseline, variant_actions) = (briefs(ba), briefs(va));
        let change = match (baseline.is_empty(), variant_actions.is_empty()) {
            (true, _) => Change::Added,
            (_, true) => Change::Removed,
            _ => Change::Changed,
        };
        out.push(CustomerDiff {
            variant: label.to_string(),
            customer_id: c.id.to_string(),
            customer_name: c.name.to_string(),
            account_owner: c.account_owner.as_ref().map(ToString::to_string),
            change,
            baseline,
            variant_actions,
        });
    }
    out
}

/// Today's comparison of a baseline and its variants.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub as_of: chrono::NaiveDate,
    pub customers: u64,
    /// Baseline first, then the variants in the order given.
    pub runs: Vec<PolicyRun>,
    #[serde(skip)]
    pub rows: Vec<MetricRow>,
    #[serde(skip)]
    pub diffs: Vec<CustomerDiff>,
    /// The roll-rate model (the same under every policy today), or why it
    /// could not be built.
    pub roll_rates: Result<RollRateReport, String>,
}

impl Comparison {
    /// The baseline's run.
    pub fn baseline(&self) -> Option<&PolicyRun> {
        self.runs.first()
    }
    /// Customers whose plan differs from the baseline's, per variant label.
    pub fn changed_customers(&self) -> BTreeMap<&str, u64> {
        let mut m: BTreeMap<&str, u64> = self.runs.iter().skip(1).map(|r| (r.label.as_str(), 0)).collect();
        for d in &self.diffs {
            *m.entry(d.variant.as_str()).or_default() += 1;
        }
        m
    }
}

/// Run every candidate (the first is the baseline) through the batch run on
/// the same ledger and context, and compare.
pub fn compare(ledger: &Ledger, candidates: &[Candidate<'_>], ctx: &Context) -> Result<Comparison, SimError> {
    if candidates.is_empty() {
        return Err(SimError::NoPolicies);
    }
    let exposure = exposures(ledger);
    let mut runs = Vec::with_capacity(candidates.len());
    for c in candidates {
        let plan = plan::evaluate(ledger, c.policy, ctx)
            .map_err(|source| SimError::Run { label: c.label.to_string(), source: Box::new(source) })?;
        let figures = figures(ledger, &plan, &exposure);
        runs.push(PolicyRun {
            label: c.label.to_string(),
            policy: c.policy.name().to_string(),
            version: c.policy.version().to_string(),
            path: c.path.to_string(),
            figures,
            plan,
        });
    }
    let cfg = RollRateConfig { bucket_edges: ctx.config.bucket_edges.clone(), ..RollRateConfig::default() };
    let roll_rates = RollRateReport::build(ledger, ctx.as_of, &cfg).map_err(|e| e.to_string());
    let mut rows = metric_rows(&runs);
    if let Ok(rr) = &roll_rates {
        let p = &rr.projection;
        for (metric, v) in [
            ("roll rates: open balance today", p.balance),
            ("roll rates: eventually collected", p.collected),
            ("roll rates: eventual bad debt", p.bad_debt),
            ("roll rates: unresolved", p.unresolved),
        ] {
            rows.push(MetricRow { metric: metric.into(), money: true, values: vec![v; runs.len()] });
        }
    }
    let mut diffs = Vec::new();
    if let Some((base, variants)) = runs.split_first() {
        for v in variants {
            diffs.extend(diff(ledger, &v.label, &base.plan, &v.plan));
        }
    }
    Ok(Comparison { as_of: ctx.as_of, customers: ledger.customers.len() as u64, runs, rows, diffs, roll_rates })
}

/// Flatten the figures of every run into aligned rows: fixed metrics first,
/// then one pair per action kind, referral kind and handler seen in any run
/// (zero where a run has none).
pub fn metric_rows(runs: &[PolicyRun]) -> Vec<MetricRow> {
    let mut rows = Vec::new();
    let mut push = |metric: String, get: &dyn Fn(&Figures) -> Decimal| {
        let values: Vec<Decimal> = runs.iter().map(|r| get(&r.figures)).collect();
        let money = !metric_is_count(&metric);
        rows.push(MetricRow { metric, money, values });
    };
    let n = |x: u64| Decimal::from(x);
    push("customers with actions".into(), &|f| n(f.customers_with_actions));
    push("actions".into(), &|f| n(f.actions));
    push("cost of actions".into(), &|f| f.cost);
    push("customers put on hold".into(), &|f| n(f.holds.customers));
    push("exposure on hold".into(), &|f| f.holds.exposure);
    push("holds released".into(), &|f| n(f.holds_released));
    push("limits raised".into(), &|f| n(f.limits.raised));
    push("limit increases total".into(), &|f| f.limits.raised_total);
    push("limits lowered".into(), &|f| n(f.limits.lowered));
    push("limit decreases total".into(), &|f| f.limits.lowered_total);
    push("discounts offered".into(), &|f| n(f.discounts.offered));
    push("discounts max cost".into(), &|f| f.discounts.max_cost);
    push("fees and compensation".into(), &|f| f.fees);
    push("interest".into(), &|f| f.interest);
    let kinds: BTreeSet<&String> = runs.iter().flat_map(|r| r.figures.by_action.keys()).collect();
    for k in kinds {
        push(format!("{k}: count"), &|f| n(f.by_action.get(k).map_or(0, |t| t.count)));
        push(format!("{k}: amount due"), &|f| f.by_action.get(k).map_or(Decimal::ZERO, |t| t.amount_due));
    }
    push("referrals (agency and legal)".into(), &|f| n(f.referrals.values().map(|t| t.count).sum()));
    push("referred amount".into(), &|f| f.referrals.values().map(|t| t.amount_due).sum());
    let owners: BTreeSet<&String> = runs.iter().flat_map(|r| r.figures.workload.keys()).collect();
    for o in owners {
        push(format!("workload {o}: calls"), &|f| n(f.workload.get(o).map_or(0, |w| w.calls)));
        push(format!("workload {o}: letters"), &|f| n(f.workload.get(o).map_or(0, |w| w.letters)));
        push(format!("workload {o}: tasks"), &|f| n(f.workload.get(o).map_or(0, |w| w.tasks)));
    }
    rows
}

/// Metrics that count things (shown without cents).
fn metric_is_count(metric: &str) -> bool {
    const COUNTS: &[&str] = &[
        "customers with actions",
        "actions",
        "customers put on hold",
        "holds released",
        "limits raised",
        "limits lowered",
        "discounts offered",
        "referrals (agency and legal)",
    ];
    COUNTS.contains(&metric)
        || metric.ends_with(": count")
        || metric.ends_with(": calls")
        || metric.ends_with(": letters")
        || metric.ends_with(": tasks")
}
