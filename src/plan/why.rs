//! What a run says about itself beyond its actions: warnings about the as-of
//! date (before the policy takes effect, before the ledger's first row, long
//! after its newest: a stale export) and, when it plans nothing, why.

use crate::engine::{Outcome, Trace, evaluate_customer};
use crate::facts::{Context, derive_customer};
use crate::ledger::{CustIx, Ledger};
use crate::policy::CompiledPolicy;
use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days after the ledger's newest dated row from which an as-of date reads
/// as a stale export.
pub const STALE_AFTER_DAYS: i64 = 31;

/// The ledger's earliest and latest dated rows: invoices (and credit notes)
/// issued, payments received, actions decided, as the loader read them
/// (`None` for a ledger with none, or one not read from files).
pub fn ledger_dates(ledger: &Ledger) -> Option<(NaiveDate, NaiveDate)> {
    ledger.report.dates
}

/// Warnings about the as-of date of a run of `policy` on `ledger`: one line
/// each, empty when the date is sound.
pub fn as_of_warnings(ledger: &Ledger, policy: &CompiledPolicy, as_of: NaiveDate) -> Vec<String> {
    AsOfInputs::of(ledger, policy).warnings(as_of)
}

/// What the as-of warnings read: the policy's name and `effective` date and
/// the ledger's first and last dated rows. A shard keeps them (shard.json)
/// so that `recoup merge` gives the warnings of the whole ledger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AsOfInputs {
    pub policy: String,
    pub effective: Option<NaiveDate>,
    pub ledger_dates: Option<(NaiveDate, NaiveDate)>,
}

impl AsOfInputs {
    /// The inputs of a run of `policy` on `ledger`.
    pub fn of(ledger: &Ledger, policy: &CompiledPolicy) -> AsOfInputs {
        AsOfInputs {
            policy: policy.name().to_string(),
            effective: policy.rules.meta.effective,
            ledger_dates: ledger_dates(ledger),
        }
    }

    /// The inputs of two parts of one ledger (shards): the dates of both.
    pub fn add(&mut self, o: &AsOfInputs) {
        self.ledger_dates = match (self.ledger_dates, o.ledger_dates) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
    }

    /// The warnings, one line each, empty when the date is sound.
    pub fn warnings(&self, as_of: NaiveDate) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(effective) = self.effective
            && as_of < effective
        {
            out.push(format!(
                "the as-of date {as_of} is before policy `{}` takes effect ({effective}): check the date or the policy",
                self.policy
            ));
        }
        if let Some((first, last)) = self.ledger_dates {
            if as_of < first {
                out.push(format!(
                    "the as-of date {as_of} is before the ledger's first row ({first}): nothing in it has happened yet"
                ));
            }
            let days = (as_of - last).num_days();
            if days > STALE_AFTER_DAYS {
                out.push(format!(
                    "the as-of date {as_of} is {days} days after the ledger's newest row ({last}): a stale export? payments since then are not in it"
                ));
            }
        }
        out
    }
}

/// Why a run of `policy` on `ledger` planned no action: each customer
/// evaluated again with a trace (only when the plan is empty), and what
/// stopped the actions counted.
pub fn why_no_actions(ledger: &Ledger, policy: &CompiledPolicy, ctx: &Context, only: Option<&[bool]>) -> String {
    why_none(ledger, policy, ctx, only).render(ctx.as_of)
}

/// What [`why_no_actions`] counts, before it is put in words: additive over
/// shards (`recoup merge` adds the shards' counts and words the sum).
pub fn why_none(ledger: &Ledger, policy: &CompiledPolicy, ctx: &Context, only: Option<&[bool]>) -> Why {
    use rayon::prelude::*;
    let ctx = &policy.facts_context(ctx).into_owned().with_groups(ledger);
    let cal = ctx.calendar();
    let customers: Vec<CustIx> =
        (0..ledger.customers.len() as CustIx).filter(|&c| only.is_none_or(|m| m[c as usize])).collect();
    let mut tally = customers
        .par_iter()
        .map_init(Vec::new, |invoices, &c| {
            let cf = derive_customer(ledger, c, ctx, invoices);
            let mut t = Trace::default();
            let _ = evaluate_customer(policy, ledger, &cf, invoices, &cal, Some(&mut t));
            let mut w = Why::default();
            for r in t.rules.iter().filter(|r| r.outcome == Outcome::Suppressed) {
                *w.suppressed.entry(r.guardrail.clone().unwrap_or_else(|| "a guardrail".into())).or_default() += 1;
            }
            w.nothing_open += u64::from(cf.open_count == 0);
            w.overdue += u64::from(cf.overdue_count > 0);
            w.out_of_dunning += u64::from(!t.invoices.is_empty() && t.invoices.iter().all(|i| !i.eligible));
            w
        })
        .reduce(Why::default, Why::plus);
    tally.customers = customers.len() as u64;
    tally.business_days_only = policy.rules.guardrails.business_days_only;
    tally
}

impl Why {
    /// The reason in words, for a run as of `as_of`.
    pub fn render(&self, as_of: NaiveDate) -> String {
        let n = self.customers;
        if n == 0 {
            return "no customer to evaluate".into();
        }
        let mut parts = Vec::new();
        let weekend = matches!(as_of.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend && self.business_days_only {
            let day = if as_of.weekday() == Weekday::Sat { "Saturday" } else { "Sunday" };
            parts.push(format!(
                "{as_of} is a {day}: the guardrail `business_days_only` holds messages, calls and offers until Monday"
            ));
        }
        if !self.suppressed.is_empty() {
            let by: Vec<String> = self.suppressed.iter().map(|(g, k)| format!("{g} {k}")).collect();
            let total: u64 = self.suppressed.values().sum();
            parts.push(format!("{total} action(s) suppressed by guardrails ({})", by.join(", ")));
        }
        if self.nothing_open == n {
            parts.push(format!("none of the {n} customers has an open invoice"));
        } else {
            if self.out_of_dunning > 0 {
                parts.push(format!(
                    "{} customer(s) have every open invoice out of dunning (disputed, paused by a promise or plan, or covered by credit)",
                    self.out_of_dunning
                ));
            }
            if self.overdue == 0 {
                parts.push(format!("none of the {n} customers has an overdue invoice"));
            }
        }
        if parts.is_empty() {
            parts.push(format!("no rule's conditions held for any of the {n} customers (`recoup explain` shows one)"));
        }
        parts.join("; ")
    }
}

/// The counts behind [`why_no_actions`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Why {
    /// Customers evaluated.
    pub customers: u64,
    /// The policy's `business_days_only` guardrail.
    pub business_days_only: bool,
    pub suppressed: BTreeMap<String, u64>,
    pub nothing_open: u64,
    pub overdue: u64,
    pub out_of_dunning: u64,
}

impl Why {
    /// The counts of two sets of customers (shards of one run).
    pub fn plus(mut self, o: Why) -> Why {
        self.customers += o.customers;
        self.business_days_only |= o.business_days_only;
        for (g, k) in o.suppressed {
            *self.suppressed.entry(g).or_default() += k;
        }
        self.nothing_open += o.nothing_open;
        self.overdue += o.overdue;
        self.out_of_dunning += o.out_of_dunning;
        self
    }
}
