//! What a run says about itself beyond its actions: warnings about the as-of
//! date (before the policy takes effect, before the ledger's first row, long
//! after its newest: a stale export) and, when it plans nothing, why.

use crate::engine::{Outcome, Trace, evaluate_customer};
use crate::facts::{Context, derive_customer};
use crate::ledger::{CustIx, Ledger};
use crate::policy::CompiledPolicy;
use chrono::{Datelike, NaiveDate, Weekday};
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
    let mut out = Vec::new();
    if let Some(effective) = policy.rules.meta.effective
        && as_of < effective
    {
        out.push(format!(
            "the as-of date {as_of} is before policy `{}` takes effect ({effective}): check the date or the policy",
            policy.name()
        ));
    }
    if let Some((first, last)) = ledger_dates(ledger) {
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

/// Why a run of `policy` on `ledger` planned no action: each customer
/// evaluated again with a trace (only when the plan is empty), and what
/// stopped the actions counted.
pub fn why_no_actions(ledger: &Ledger, policy: &CompiledPolicy, ctx: &Context, only: Option<&[bool]>) -> String {
    use rayon::prelude::*;
    let ctx = &*policy.facts_context(ctx);
    let cal = ctx.calendar();
    let customers: Vec<CustIx> =
        (0..ledger.customers.len() as CustIx).filter(|&c| only.is_none_or(|m| m[c as usize])).collect();
    if customers.is_empty() {
        return "no customer to evaluate".into();
    }
    let tally = customers
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
        .reduce(Why::default, Why::add);
    let n = customers.len();
    let mut parts = Vec::new();
    let g = &policy.rules.guardrails;
    let weekend = matches!(ctx.as_of.weekday(), Weekday::Sat | Weekday::Sun);
    if weekend && g.business_days_only {
        let day = if ctx.as_of.weekday() == Weekday::Sat { "Saturday" } else { "Sunday" };
        parts.push(format!(
            "{} is a {day}: the guardrail `business_days_only` holds messages, calls and offers until Monday",
            ctx.as_of
        ));
    }
    if !tally.suppressed.is_empty() {
        let by: Vec<String> = tally.suppressed.iter().map(|(g, k)| format!("{g} {k}")).collect();
        let total: u64 = tally.suppressed.values().sum();
        parts.push(format!("{total} action(s) suppressed by guardrails ({})", by.join(", ")));
    }
    if tally.nothing_open as usize == n {
        parts.push(format!("none of the {n} customers has an open invoice"));
    } else {
        if tally.out_of_dunning > 0 {
            parts.push(format!(
                "{} customer(s) have every open invoice out of dunning (disputed, paused by a promise or plan, or covered by credit)",
                tally.out_of_dunning
            ));
        }
        if tally.overdue == 0 {
            parts.push(format!("none of the {n} customers has an overdue invoice"));
        }
    }
    if parts.is_empty() {
        parts.push(format!("no rule's conditions held for any of the {n} customers (`recoup explain` shows one)"));
    }
    parts.join("; ")
}

#[derive(Default)]
struct Why {
    suppressed: BTreeMap<String, u64>,
    nothing_open: u64,
    overdue: u64,
    out_of_dunning: u64,
}

impl Why {
    fn add(mut self, o: Why) -> Why {
        for (g, k) in o.suppressed {
            *self.suppressed.entry(g).or_default() += k;
        }
        self.nothing_open += o.nothing_open;
        self.overdue += o.overdue;
        self.out_of_dunning += o.out_of_dunning;
        self
    }
}
