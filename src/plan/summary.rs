//! summary.json: counts and amounts by action and step, holds, limit changes,
//! discounts, referrals, rows loaded and rejected, and the portfolio KPIs.
//! Every amount is given per currency (by ISO code), never added across
//! currencies. Deterministic (ordered maps, no timings): plans stay
//! byte-comparable.

use super::{Exposure, Plan};
use crate::facts::kpi::Portfolio;
use crate::ledger::{ActionKind, FileCounts, LoadReport};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Count and money of the actions of a group in one currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Amounts {
    pub count: u64,
    /// The actions' amounts due added up: a customer's debt counts once per
    /// action (see [`Summary::exposure`] for each customer's debt once).
    #[serde(with = "crate::money::json")]
    pub amount_due: Decimal,
    #[serde(with = "crate::money::json")]
    pub fees: Decimal,
    #[serde(with = "crate::money::json")]
    pub interest: Decimal,
    #[serde(with = "crate::money::json")]
    pub cost: Decimal,
}

/// Count of a group of actions, and their count and money per currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    #[serde(serialize_with = "crate::money::json::by_currency")]
    pub currencies: BTreeMap<String, Amounts>,
}

impl Tally {
    fn add(&mut self, a: &crate::engine::PlannedAction) {
        self.count += 1;
        let m = slot(&mut self.currencies, a.currency.as_str());
        m.count += 1;
        m.amount_due += a.amount_due;
        m.fees += a.fee + a.compensation;
        m.interest += a.interest;
        m.cost += a.cost;
    }
}

/// `map[key]`, inserted as the default when missing: the key is copied only
/// then (a summary adds every action to a few maps keyed by currency, kind
/// and step, nearly always to a key already there).
fn slot<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    // Present: inserted above if it was not.
    map.get_mut(key).unwrap_or_else(|| unreachable!())
}

/// Limit changes in one currency: how many went up or down and by how much in total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitChanges {
    pub increases: u64,
    #[serde(with = "crate::money::json")]
    pub increase_total: Decimal,
    pub decreases: u64,
    #[serde(with = "crate::money::json")]
    pub decrease_total: Decimal,
}

/// Discounts offered and what they cost if every offer is taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Discounts {
    pub offered: u64,
    #[serde(with = "crate::money::json")]
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

/// `[notify]` in summary.json.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyCounts {
    /// `notify` actions planned: one per customer whose representative is told.
    pub notified: u64,
    /// Of those, the ones whose representative has no e-mail address.
    pub undeliverable: u64,
    /// Customers with an action of a kind `[notify]` lists but no `sales_rep`: no one told.
    pub customers_without_sales_rep: u64,
}

impl NotifyCounts {
    /// The counts of `plan` under `policy`; `None` when the policy has no
    /// `[notify]`. Walks the plan once, and the customers' `sales_rep` of
    /// those with an action to tell of.
    pub fn of(plan: &Plan, ledger: &crate::ledger::Ledger, policy: &crate::policy::CompiledPolicy) -> Option<Self> {
        let n = &policy.rules.notify;
        if n.sales_rep.is_empty() {
            return None;
        }
        let mut c = NotifyCounts::default();
        let mut last: Option<&str> = None;
        let ix: hashbrown::HashMap<&str, usize> =
            ledger.customers.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
        for e in &plan.entries {
            let a = &e.action;
            if a.action == ActionKind::Notify {
                c.notified += 1;
                c.undeliverable += u64::from(a.undeliverable.is_some());
            } else if n.tells(a.action) && last != Some(a.customer_id.as_str()) {
                last = Some(a.customer_id.as_str());
                let rep = ix.get(a.customer_id.as_str()).and_then(|&i| ledger.customers[i].sales_rep.as_deref());
                if rep.is_none_or(|r| r.trim().is_empty()) {
                    c.customers_without_sales_rep += 1;
                }
            }
        }
        Some(c)
    }
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
    /// The distinct exposure today's actions cover, per currency: each
    /// customer's debt once, however many actions concern it.
    #[serde(serialize_with = "crate::money::json::by_currency")]
    pub exposure: BTreeMap<String, Exposure>,
    pub by_action: BTreeMap<String, Tally>,
    pub by_step: BTreeMap<String, Tally>,
    pub holds_placed: u64,
    /// Amount due of the holds placed, per currency.
    #[serde(with = "crate::money::json::map")]
    pub amount_on_hold: BTreeMap<String, Decimal>,
    pub holds_released: u64,
    /// Per currency.
    #[serde(serialize_with = "crate::money::json::by_currency")]
    pub limit_changes: BTreeMap<String, LimitChanges>,
    /// Per currency.
    #[serde(serialize_with = "crate::money::json::by_currency")]
    pub discounts: BTreeMap<String, Discounts>,
    pub referrals: BTreeMap<String, Tally>,
    /// Messages planned that no channel of theirs can deliver (no usable
    /// contact), by the channel they were planned on; `{}` when none.
    #[serde(default)]
    pub undeliverable: BTreeMap<String, u64>,
    pub rows: Rows,
    pub warnings: u64,
    /// Warnings about the as-of date ([`super::why::as_of_warnings`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub as_of_warnings: Vec<String>,
    /// Why the run planned no action ([`super::why::why_no_actions`]);
    /// absent when it planned some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_no_actions: Option<String>,
    /// Executed history rows whose rule id the policy does not have, by id
    /// (absent when there are none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_rule_ids: BTreeMap<String, u64>,
    /// The labels of the policy's own action kinds (`[kinds.*] label`), by
    /// name: how `by_action`'s declared kinds are shown. Absent when none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kind_labels: BTreeMap<String, String>,
    /// `[notify]`: the sales representatives told, and the customers with an
    /// action to tell of but no `sales_rep`. Absent when the policy has no `[notify]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyCounts>,
    /// The settings the KPIs were computed with: the policy's `[kpis]`
    /// (aging bucket edges, DSO days, ...), which the run report reuses for
    /// its month ends. Summaries written before it read as the defaults.
    #[serde(default)]
    pub kpi_settings: crate::facts::FactsConfig,
    /// The portfolio KPIs of each currency's customers.
    #[serde(serialize_with = "crate::money::json::by_currency")]
    pub kpis: BTreeMap<String, Portfolio>,
    /// Totals across currencies, converted at the rates the policy's
    /// `[reporting]` gives; absent without rates (or when a currency has none).
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "converted_in_its_currency")]
    pub converted: Option<Converted>,
}

/// `converted`'s money with the reporting currency's minor units.
fn converted_in_its_currency<S: serde::Serializer>(c: &Option<Converted>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_some(&crate::money::json::InCurrency(&c.currency, c)),
        None => s.serialize_none(),
    }
}

/// Totals across currencies in one reporting currency, at the user's rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Converted {
    /// What these figures are, in words.
    pub label: String,
    pub currency: String,
    pub rates_date: chrono::NaiveDate,
    /// One unit of each currency in the reporting currency.
    pub rates: BTreeMap<String, Decimal>,
    #[serde(with = "crate::money::json")]
    pub ar_total: Decimal,
    #[serde(with = "crate::money::json")]
    pub ar_current: Decimal,
    #[serde(with = "crate::money::json")]
    pub ar_overdue: Decimal,
    #[serde(with = "crate::money::json")]
    pub ar_disputed: Decimal,
    /// The distinct exposure today's actions cover.
    #[serde(with = "crate::money::json")]
    pub exposure: Decimal,
    /// The actions' amounts due added up (a customer's debt once per action).
    #[serde(with = "crate::money::json")]
    pub amount_due: Decimal,
    #[serde(with = "crate::money::json")]
    pub fees: Decimal,
    #[serde(with = "crate::money::json")]
    pub interest: Decimal,
    #[serde(with = "crate::money::json")]
    pub cost: Decimal,
    #[serde(with = "crate::money::json")]
    pub discounts_max_cost: Decimal,
}

impl Converted {
    /// The totals of `s` converted at `r`'s rates, or the currencies of `s`
    /// with no rate.
    pub fn of(s: &Summary, r: &crate::policy::compile::Reporting) -> Result<Converted, Vec<String>> {
        let mut codes: Vec<&String> = s.kpis.keys().chain(s.actions.currencies.keys()).collect();
        codes.sort();
        codes.dedup();
        let missing: Vec<String> =
            codes.iter().filter(|c| r.convert(c, Decimal::ZERO).is_none()).map(|c| c.to_string()).collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let conv = |it: &mut dyn Iterator<Item = (&String, Decimal)>| r.total(it).unwrap_or_default();
        let m = &s.actions.currencies;
        let rates: BTreeMap<String, Decimal> = codes
            .iter()
            .filter(|c| c.as_str() != r.currency)
            .filter_map(|c| Some((c.to_string(), *r.rates.get(*c)?)))
            .collect();
        Ok(Converted {
            label: r.label(),
            currency: r.currency.clone(),
            rates_date: r.rates_date,
            rates,
            ar_total: conv(&mut s.kpis.iter().map(|(c, k)| (c, k.ar_total))),
            ar_current: conv(&mut s.kpis.iter().map(|(c, k)| (c, k.ar_current))),
            ar_overdue: conv(&mut s.kpis.iter().map(|(c, k)| (c, k.ar_overdue))),
            ar_disputed: conv(&mut s.kpis.iter().map(|(c, k)| (c, k.ar_disputed))),
            exposure: conv(&mut s.exposure.iter().map(|(c, x)| (c, x.amount))),
            amount_due: conv(&mut m.iter().map(|(c, x)| (c, x.amount_due))),
            fees: conv(&mut m.iter().map(|(c, x)| (c, x.fees))),
            interest: conv(&mut m.iter().map(|(c, x)| (c, x.interest))),
            cost: conv(&mut m.iter().map(|(c, x)| (c, x.cost))),
            discounts_max_cost: conv(&mut s.discounts.iter().map(|(c, d)| (c, d.max_cost))),
        })
    }
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
pub fn summarize(plan: &Plan, policy: (&str, &str), report: &LoadReport, kpis: BTreeMap<String, Portfolio>) -> Summary {
    summarize_parts(plan, policy, Rows::of(report), report.warnings.len() as u64, kpis)
}

/// Summarise a plan from its parts: what [`summarize`] takes from the load
/// report, given directly (`recoup merge` has the shards' counts, not a
/// report). `customers_skipped` counts `plan.skipped`; a merge sets it.
pub fn summarize_parts(
    plan: &Plan,
    policy: (&str, &str),
    rows: Rows,
    warnings: u64,
    kpis: BTreeMap<String, Portfolio>,
) -> Summary {
    let mut s = Summary {
        as_of: plan.as_of,
        policy: policy.0.to_string(),
        policy_version: policy.1.to_string(),
        customers: plan.customers,
        customers_with_actions: 0,
        customers_skipped: plan.skipped.len() as u64,
        actions: Tally::default(),
        exposure: plan.exposure.clone(),
        by_action: BTreeMap::new(),
        by_step: BTreeMap::new(),
        holds_placed: 0,
        amount_on_hold: BTreeMap::new(),
        holds_released: 0,
        limit_changes: BTreeMap::new(),
        discounts: BTreeMap::new(),
        referrals: BTreeMap::new(),
        undeliverable: BTreeMap::new(),
        rows,
        warnings,
        kpi_settings: crate::facts::FactsConfig::default(),
        kpis,
        as_of_warnings: Vec::new(),
        why_no_actions: None,
        converted: None,
        unknown_rule_ids: plan.unknown_rule_ids.clone(),
        kind_labels: BTreeMap::new(),
        notify: None,
    };
    let mut last_customer: Option<&str> = None;
    // Per kind by its number and per step (a few, in runs), put in the
    // maps by name once at the end: not a map lookup by string per action.
    let mut by_kind: Vec<Option<(ActionKind, Tally)>> = vec![None; 256];
    let mut steps: Vec<(&str, Tally)> = Vec::new();
    let mut last_step = usize::MAX;
    for e in &plan.entries {
        let a = &e.action;
        if last_customer != Some(a.customer_id.as_str()) {
            s.customers_with_actions += 1;
            last_customer = Some(&a.customer_id);
        }
        s.actions.add(a);
        if a.undeliverable.is_some() {
            *s.undeliverable.entry(a.channel.map_or("", |c| c.as_str()).to_string()).or_default() += 1;
        }
        by_kind[usize::from(a.action.number())].get_or_insert_with(|| (a.action, Tally::default())).1.add(a);
        if let Some(step) = &a.step {
            if steps.get(last_step).is_none_or(|(s, _)| *s != step.as_str()) {
                last_step = steps.iter().position(|(s, _)| *s == step.as_str()).unwrap_or_else(|| {
                    steps.push((step.as_str(), Tally::default()));
                    steps.len() - 1
                });
            }
            steps[last_step].1.add(a);
        }
        match a.action {
            ActionKind::CreditHold => {
                s.holds_placed += 1;
                *slot(&mut s.amount_on_hold, a.currency.as_str()) += a.amount_due;
            }
            ActionKind::ReleaseHold => s.holds_released += 1,
            ActionKind::DiscountOffer => {
                let d = slot(&mut s.discounts, a.currency.as_str());
                d.offered += 1;
                d.max_cost += a.discount_cost;
            }
            ActionKind::ReferAgency | ActionKind::ReferLegal => {
                slot(&mut s.referrals, a.action.as_str()).add(a);
            }
            _ => {}
        }
        if let (Some(old), Some(new)) = (a.old_limit, a.new_limit)
            && new != old
        {
            let l = slot(&mut s.limit_changes, a.currency.as_str());
            if new > old {
                l.increases += 1;
                l.increase_total += new - old;
            } else {
                l.decreases += 1;
                l.decrease_total += old - new;
            }
        }
    }
    for (kind, tally) in by_kind.into_iter().flatten() {
        s.by_action.insert(kind.as_str().to_string(), tally);
    }
    for (step, tally) in steps {
        s.by_step.insert(step.to_string(), tally);
    }
    s
}
