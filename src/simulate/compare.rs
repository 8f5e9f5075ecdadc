//! Today's comparison: each policy's plan on the same ledger and as-of date,
//! summed into [`Figures`], laid side by side as [`MetricRow`]s (variant
//! minus baseline), and the [`CustomerDiff`] of every customer whose actions
//! differ between the baseline and a variant.

use super::SimError;
use super::rollrate::{RollRateConfig, RollRateReport, Split};
use crate::engine::PlannedAction;
use crate::facts::Context;
use crate::ledger::{ActionKind, CustIx, Ledger};
use crate::plan::{self, Plan};
use crate::policy::CompiledPolicy;
use crate::policy::compile::Reporting;
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

/// One handler's work in the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub calls: u64,
    pub letters: u64,
    /// Every task a person carries out (calls, reviews, referrals to legal, ...).
    pub tasks: u64,
}

/// The money of one policy's plan in one currency (its customers' actions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Money {
    /// Total unit cost of the actions under the policy's `[costs]`.
    pub cost: Decimal,
    /// Open AR at the as-of date of the customers put on hold.
    pub exposure_on_hold: Decimal,
    pub limit_increases_total: Decimal,
    pub limit_decreases_total: Decimal,
    /// Early-payment discounts' cost if every offer is taken.
    pub discounts_max_cost: Decimal,
    /// Fees and fixed compensation charged.
    pub fees: Decimal,
    /// Interest stated.
    pub interest: Decimal,
    /// Amount due of `refer_agency` and `refer_legal` actions.
    pub referred_amount: Decimal,
    /// Amount due by action kind.
    pub amount_due: BTreeMap<String, Decimal>,
}

/// What one policy's plan does today, summed: counts for the whole
/// portfolio, money per currency (never added across currencies).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub customers_with_actions: u64,
    pub actions: u64,
    /// Count by action kind (`email`, `call`, ...).
    pub by_action: BTreeMap<String, u64>,
    pub customers_put_on_hold: u64,
    pub holds_released: u64,
    pub limits_raised: u64,
    pub limits_lowered: u64,
    pub discounts_offered: u64,
    /// `refer_agency` and `refer_legal`: count.
    pub referrals: BTreeMap<String, u64>,
    /// By handler: the action's owner (step or strategy owner, else the
    /// account owner); `-` when none.
    pub workload: BTreeMap<String, Workload>,
    /// Money by currency (ISO code).
    pub currencies: BTreeMap<String, Money>,
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
        *f.by_action.entry(a.action.as_str().to_string()).or_default() += 1;
        let m = f.currencies.entry(a.currency.to_string()).or_default();
        *m.amount_due.entry(a.action.as_str().to_string()).or_default() += a.amount_due;
        m.fees += a.fee + a.compensation;
        m.interest += a.interest;
        m.cost += a.cost;
        if (a.hold || a.action == ActionKind::CreditHold) && held.insert(a.customer_id.as_str()) {
            f.customers_put_on_hold += 1;
            m.exposure_on_hold +=
                ix.get(a.customer_id.as_str()).and_then(|&i| exposure.get(i)).copied().unwrap_or_default();
        }
        match a.action {
            ActionKind::ReleaseHold => f.holds_released += 1,
            ActionKind::DiscountOffer => {
                f.discounts_offered += 1;
                m.discounts_max_cost += a.discount_cost;
            }
            k if k.is_referral() => {
                *f.referrals.entry(k.as_str().to_string()).or_default() += 1;
                m.referred_amount += a.amount_due;
            }
            _ => {}
        }
        if let (Some(old), Some(new)) = (a.old_limit, a.new_limit) {
            if new > old {
                f.limits_raised += 1;
                m.limit_increases_total += new - old;
            } else if new < old {
                f.limits_lowered += 1;
                m.limit_decreases_total += old - new;
            }
        }
        if a.action == ActionKind::Call || a.action == ActionKind::Letter || a.is_task() {
            let w = f.workload.entry(a.owner.clone().unwrap_or_else(|| "-".into())).or_default();
            w.calls += u64::from(a.action == ActionKind::Call);
            w.letters += u64::from(a.action == ActionKind::Letter);
            w.tasks += u64::from(a.is_task());
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
    /// A snake_case identifier (`cost_of_actions`, `amount_due_email`, ...).
    pub metric: String,
    /// The currency of a money metric; none for counts.
    pub currency: Option<String>,
    /// The handler of a `workload_*` metric.
    pub owner: Option<String>,
    /// Money (shown with the currency's minor units) or a count.
    pub money: bool,
    pub values: Vec<Decimal>,
}

impl MetricRow {
    /// Variant `i` minus the baseline.
    pub fn delta(&self, i: usize) -> Decimal {
        self.values.get(i).copied().unwrap_or_default() - self.values.first().copied().unwrap_or_default()
    }

    /// The metric with its currency or owner, for people: `cost_of_actions EUR`.
    pub fn label(&self) -> String {
        match (&self.currency, &self.owner) {
            (Some(c), _) => format!("{} {c}", self.metric),
            (None, Some(o)) => format!("{} {o}", self.metric),
            (None, None) => self.metric.clone(),
        }
    }
}

/// One action in a diff: what it is and the rule behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionBrief {
    pub action: String,
    pub rule_id: String,
    pub rule_kind: String,
    pub invoice_ids: Vec<String>,
    /// Money with the minor units of the customer's currency (diff.jsonl
    /// writes each customer in the scope of its currency).
    #[serde(with = "crate::money::json")]
    pub amount_due: Decimal,
    #[serde(with = "crate::money::json")]
    pub fee: Decimal,
    #[serde(with = "crate::money::json")]
    pub interest: Decimal,
    #[serde(with = "crate::money::json")]
    pub discount_cost: Decimal,
    #[serde(with = "crate::money::json::opt")]
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
    /// The customer's currency: every amount of its actions is in it
    /// (diffs written before it read as empty).
    #[serde(default)]
    pub currency: String,
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
            currency: c.currency.to_string(),
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
    /// The eventual split of today's open balances of each currency's
    /// customers under the roll-rate model (empty without the model).
    #[serde(skip)]
    pub roll_rate_split: BTreeMap<String, Split>,
    /// The baseline policy's `[reporting]` (rates to one currency), if any:
    /// converted totals across currencies are given only with it.
    #[serde(skip)]
    pub reporting: Option<Reporting>,
}

impl Comparison {
    /// The baseline's run.
    pub fn baseline(&self) -> Option<&PolicyRun> {
        self.runs.first()
    }
    /// Each money metric's total across currencies in the baseline's
    /// `[reporting]` currency, at its rates (rows whose `currency` is the
    /// reporting currency): none without `[reporting]`, the currencies with
    /// no rate when some lack one. An estimate, labelled as converted
    /// wherever it is shown ([`Reporting::label`]).
    pub fn converted(&self) -> Option<Result<Vec<MetricRow>, Vec<String>>> {
        let r = self.reporting.as_ref()?;
        let codes: BTreeSet<&String> = self.rows.iter().filter_map(|x| x.currency.as_ref()).collect();
        let missing: Vec<String> =
            codes.iter().filter(|c| r.convert(c, Decimal::ZERO).is_none()).map(|c| c.to_string()).collect();
        if !missing.is_empty() {
            return Some(Err(missing));
        }
        let mut out: Vec<MetricRow> = Vec::new();
        for row in self.rows.iter().filter(|x| x.money && x.owner.is_none()) {
            let Some(code) = &row.currency else { continue };
            let i = match out.iter().position(|o| o.metric == row.metric) {
                Some(i) => i,
                None => {
                    out.push(MetricRow {
                        metric: row.metric.clone(),
                        currency: Some(r.currency.clone()),
                        owner: None,
                        money: true,
                        values: vec![Decimal::ZERO; row.values.len()],
                    });
                    out.len() - 1
                }
            };
            for (t, v) in out[i].values.iter_mut().zip(&row.values) {
                *t += r.convert(code, *v).unwrap_or_default();
            }
        }
        Some(Ok(out))
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
    let mut roll_rate_split = BTreeMap::new();
    if let Ok(rr) = &roll_rates {
        for (code, balances) in balances_by_currency(ledger, ctx.as_of, &cfg.bucket_edges) {
            let Ok(p) = rr.matrix.project(&balances) else { continue };
            for (metric, v) in [
                ("roll_rate_open_balance", p.balance),
                ("roll_rate_collected", p.collected),
                ("roll_rate_bad_debt", p.bad_debt),
                ("roll_rate_unresolved", p.unresolved),
            ] {
                rows.push(MetricRow {
                    metric: metric.into(),
                    currency: Some(code.clone()),
                    owner: None,
                    money: true,
                    values: vec![v; runs.len()],
                });
            }
            roll_rate_split.insert(code, p);
        }
    }
    let mut diffs = Vec::new();
    if let Some((base, variants)) = runs.split_first() {
        for v in variants {
            diffs.extend(diff(ledger, &v.label, &base.plan, &v.plan));
        }
    }
    Ok(Comparison {
        as_of: ctx.as_of,
        customers: ledger.customers.len() as u64,
        runs,
        rows,
        diffs,
        roll_rates,
        roll_rate_split,
        reporting: candidates[0].policy.rules.reporting.clone(),
    })
}

/// Open balances by aging bucket at `as_of` (as [`super::rollrate::balances`]
/// gives them), per currency of the customers.
pub fn balances_by_currency(
    ledger: &Ledger,
    as_of: chrono::NaiveDate,
    edges: &[i32],
) -> BTreeMap<String, Vec<Decimal>> {
    let mut out: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
    for inv in ledger.invoices.iter().filter(|i| i.is_open() && i.issue_date <= as_of) {
        let Some(c) = ledger.customers.get(inv.customer as usize) else { continue };
        let b = out.entry(c.currency.to_string()).or_insert_with(|| vec![Decimal::ZERO; edges.len() + 2]);
        let dpd = (as_of - inv.due_date).num_days();
        let k = 1 + edges.iter().take_while(|&&e| dpd > i64::from(e)).count();
        b[if dpd <= 0 { 0 } else { k }] += inv.open_amount;
    }
    out
}

/// Flatten the figures of every run into aligned rows: the counts first
/// (whole portfolio), one per action kind, referral kind and handler seen in
/// any run (zero where a run has none), then each currency's money.
pub fn metric_rows(runs: &[PolicyRun]) -> Vec<MetricRow> {
    let mut rows = Vec::new();
    let mut push = |metric: &str, currency: Option<&str>, owner: Option<&str>, get: &dyn Fn(&Figures) -> Decimal| {
        let values: Vec<Decimal> = runs.iter().map(|r| get(&r.figures)).collect();
        rows.push(MetricRow {
            metric: metric.to_string(),
            currency: currency.map(str::to_string),
            owner: owner.map(str::to_string),
            money: currency.is_some(),
            values,
        });
    };
    let n = |x: u64| Decimal::from(x);
    push("customers_with_actions", None, None, &|f| n(f.customers_with_actions));
    push("actions", None, None, &|f| n(f.actions));
    let kinds: BTreeSet<&String> = runs.iter().flat_map(|r| r.figures.by_action.keys()).collect();
    for k in &kinds {
        push(&format!("actions_{k}"), None, None, &|f| n(f.by_action.get(*k).copied().unwrap_or(0)));
    }
    push("customers_put_on_hold", None, None, &|f| n(f.customers_put_on_hold));
    push("holds_released", None, None, &|f| n(f.holds_released));
    push("limits_raised", None, None, &|f| n(f.limits_raised));
    push("limits_lowered", None, None, &|f| n(f.limits_lowered));
    push("discounts_offered", None, None, &|f| n(f.discounts_offered));
    push("referrals", None, None, &|f| n(f.referrals.values().sum()));
    let owners: BTreeSet<&String> = runs.iter().flat_map(|r| r.figures.workload.keys()).collect();
    for o in owners {
        push("workload_calls", None, Some(o), &|f| n(f.workload.get(o).map_or(0, |w| w.calls)));
        push("workload_letters", None, Some(o), &|f| n(f.workload.get(o).map_or(0, |w| w.letters)));
        push("workload_tasks", None, Some(o), &|f| n(f.workload.get(o).map_or(0, |w| w.tasks)));
    }
    let codes: BTreeSet<&String> = runs.iter().flat_map(|r| r.figures.currencies.keys()).collect();
    for c in codes {
        let money = |f: &Figures, get: &dyn Fn(&Money) -> Decimal| f.currencies.get(c).map_or(Decimal::ZERO, get);
        let cur = Some(c.as_str());
        push("cost_of_actions", cur, None, &|f| money(f, &|m| m.cost));
        push("exposure_on_hold", cur, None, &|f| money(f, &|m| m.exposure_on_hold));
        push("limit_increases_total", cur, None, &|f| money(f, &|m| m.limit_increases_total));
        push("limit_decreases_total", cur, None, &|f| money(f, &|m| m.limit_decreases_total));
        push("discounts_max_cost", cur, None, &|f| money(f, &|m| m.discounts_max_cost));
        push("fees_and_compensation", cur, None, &|f| money(f, &|m| m.fees));
        push("interest", cur, None, &|f| money(f, &|m| m.interest));
        for k in &kinds {
            push(&format!("amount_due_{k}"), cur, None, &|f| {
                money(f, &|m| m.amount_due.get(*k).copied().unwrap_or_default())
            });
        }
        push("referred_amount", cur, None, &|f| money(f, &|m| m.referred_amount));
    }
    rows
}
