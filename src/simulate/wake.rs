//! Which customers a simulated day must evaluate.
//!
//! A customer's decision is a function of its own rows (invoices, payments,
//! promises, actions) and of the date. From one day to the next, most
//! customers have no new row, and the date moves every "days since" fact by
//! one: their decision can only change on a day when one of those counts
//! crosses a number the policy compares it with. So the simulation evaluates
//! a customer on a day when
//! - something happened to it (a new invoice, a payment or write-off, an
//!   action recorded, a hold or limit set): it is *touched*; or
//! - its *wake* day has come: the first day after its last evaluation on
//!   which a date of its rows (an open invoice's due and issue dates, its
//!   last payment, its actions' execution dates, its promises' dates, its
//!   opening date), moved by one of the policy's numbers, is reached.
//!
//! The policy's numbers ([`Wake::of`]) are its step ages and cooldowns, the
//! intervals of its limit rules, offers and reviews, every whole number
//! written in its `when` expressions and the scripts they call (not in the
//! `[priority]` score, which the simulation does not compute), the contact
//! windows (7, 30, 90 days) and the aging edges; each `n` is a day a count
//! can change its answer: `n` and `n + 1` days after a date, `n` and `n - 1`
//! days before it (`>=` and `>`, days since and days to). Step ages apply to
//! due (or issue) dates, cooldowns and intervals to each rule's last
//! execution, the windows to the actions of the last 91 days, the literals
//! to all of them; and a customer is looked at again when a settled invoice
//! or a promise passes out of the 12-month behaviour window or the 3-month
//! trend window (its payment-behaviour facts change). A policy that reads the day of
//! the month, the weekday or the date is evaluated every day; one that reads
//! the month, quarter or year (or offers incentives by quarter) at every
//! month's start; with `business_days_only`, a customer looked at on a
//! weekend is looked at again on Monday. A comparison between two facts, or
//! arithmetic on a date count (`days_since_payment > 2 * 30`), is not
//! followed: every customer is looked at at least every [`Wake::max_sleep`]
//! days whatever happens, which bounds how late such a change is noticed.
//! On the shipped policies the projection is the same, byte for byte, as
//! evaluating every customer every day (a test checks it).

use crate::facts::registry::Scope;
use crate::ledger::{CustIx, Ledger};
use crate::policy::CompiledPolicy;
use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Offsets (days from a row's date) at which a count compared with `n`
/// can change its answer: a count of days since the date (`>= n`, `< n`
/// flip at `n`; `> n`, `<= n`, `== n` at `n + 1`) or of days to it (at `-n`
/// and `-n + 1`).
fn offsets_of(n: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = n.into_iter().flat_map(|v| [v, v + 1, -v, -v + 1]).filter(|v| v.abs() <= 3661).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The policy's time thresholds, as offsets in days from a row's date.
#[derive(Debug, Clone)]
pub struct Wake {
    /// From an open invoice's due date: step ages, aging edges, literals.
    due: Vec<i64>,
    /// From an open invoice's issue date (steps counted from issue, literals).
    issue: Vec<i64>,
    /// From the last payment, promise dates, the last action of each rule:
    /// literals (and, for actions, cooldowns and rule intervals).
    since: Vec<i64>,
    /// From the last execution of each rule: cooldowns, intervals, literals.
    rule: Vec<i64>,
    /// From every action of the last 91 days: the contact-count windows.
    windows: Vec<i64>,
    /// The policy reads the date, the day of the month or the weekday.
    pub daily: bool,
    /// The policy reads the month, quarter or year (or month-end counts).
    pub monthly: bool,
    business_days: bool,
    /// Periodic reviews: due at the opening date plus multiples of these.
    reviews: Vec<i64>,
    /// Longest a customer goes without being looked at.
    pub max_sleep: i64,
    promise_grace: i64,
    behaviour_months: u32,
    trend_months: u32,
}

/// Longest a customer goes without evaluation (days).
pub const MAX_SLEEP: i64 = 7;

/// Whole numbers written in a text (`12`, the `25` of `25.00`, not the `8`
/// of `0.8`), up to `max`.
fn numbers(text: &str, max: i64, out: &mut Vec<i64>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let glued = start > 0 && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'_' | b'.'));
            if !glued
                && let Ok(n) = text[start..i].parse::<i64>()
                && n <= max
            {
                out.push(n);
            }
        }
        i += 1;
    }
}

impl Wake {
    /// The thresholds of `policy` under the facts' settings (aging edges,
    /// promise grace, behaviour and trend windows).
    pub fn of(policy: &CompiledPolicy, facts: &crate::facts::FactsConfig) -> Wake {
        let edges: Vec<i64> = facts.bucket_edges.iter().map(|&e| i64::from(e)).collect();
        let promise_grace = i64::from(facts.promise_grace_days);
        let r = &policy.rules;
        // Literals of expressions and scripts: compared with any count.
        // The priority score is not computed by the simulation (it decides
        // nothing), so its numbers, and those of scripts only it calls, are
        // no thresholds.
        let decisive: Vec<&crate::policy::expr::Expression> = policy
            .expressions()
            .into_iter()
            .filter(|(_, e)| r.priority.score.as_ref().is_none_or(|s| !std::ptr::eq(s, *e)))
            .map(|(_, e)| e)
            .collect();
        let mut lits: Vec<i64> = vec![0];
        if decisive.iter().any(|e| e.src.contains("::")) {
            for f in policy.sources.files.iter().filter(|f| f.path.extension().is_none_or(|x| x != "toml")) {
                numbers(&f.text, 3660, &mut lits);
            }
        }
        for e in &decisive {
            numbers(&e.src, 3660, &mut lits);
        }
        let (mut due, mut issue) = (lits.clone(), lits.clone());
        due.extend_from_slice(&edges);
        for s in r.ladders.iter().flat_map(|l| &l.steps) {
            let ages = std::iter::once(i64::from(s.offset)).chain(s.max.map(i64::from));
            match s.basis {
                crate::policy::compile::Basis::DueDate => due.extend(ages),
                crate::policy::compile::Basis::IssueDate => issue.extend(ages),
            }
        }
        let mut rule = lits.clone();
        rule.extend(r.ladders.iter().flat_map(|l| &l.steps).map(|s| i64::from(s.cooldown_days)));
        rule.extend(r.limits.iter().map(|l| i64::from(l.every_days)));
        rule.extend(r.limits.iter().filter_map(|l| l.review_in_days.map(i64::from)));
        rule.extend(r.plans.iter().flat_map(|p| [i64::from(p.reoffer_after_days), i64::from(p.interval_days)]));
        rule.extend(r.reviews.iter().map(|x| i64::from(x.every_days)));
        let (mut daily, mut monthly) = (false, !r.incentives.iter().all(|x| x.quarters.is_empty()));
        for e in &decisive {
            if e.reads.whole[crate::policy::expr::scope_ix(Scope::Calendar)] {
                daily = true;
            }
            for f in e.reads.facts.iter().filter(|f| f.scope == Scope::Calendar) {
                match f.full_name() {
                    "as_of.month"
                    | "as_of.quarter"
                    | "as_of.year"
                    | "as_of.days_to_month_end"
                    | "as_of.days_to_year_end" => monthly = true,
                    _ => daily = true,
                }
            }
        }
        Wake {
            due: offsets_of(due),
            issue: offsets_of(issue),
            since: offsets_of(lits),
            rule: offsets_of(rule),
            windows: offsets_of([7, 30, 90]),
            daily,
            monthly,
            business_days: r.guardrails.business_days_only,
            reviews: r.reviews.iter().map(|x| i64::from(x.every_days.max(1))).collect(),
            max_sleep: MAX_SLEEP,
            promise_grace,
            behaviour_months: facts.behaviour_months,
            trend_months: facts.trend_recent_months,
        }
    }

    /// The first day after `day` when a date of customer `c`'s rows, moved
    /// by one of its offsets, is reached (at most `max_sleep` days on).
    pub fn next(&self, ledger: &Ledger, c: CustIx, day: NaiveDate) -> NaiveDate {
        let tomorrow = day + Duration::days(1);
        if self.daily || self.max_sleep <= 1 {
            return tomorrow;
        }
        let mut best = day + Duration::days(self.max_sleep);
        // The smallest offset with anchor + offset > day.
        let at = |anchor: NaiveDate, offsets: &[i64], best: &mut NaiveDate| {
            let gap = (day - anchor).num_days();
            let k = offsets.partition_point(|&o| o <= gap);
            if let Some(&o) = offsets.get(k) {
                let t = anchor + Duration::days(o);
                if t < *best {
                    *best = t;
                }
            }
        };
        // The payment-behaviour windows slide: a settled invoice leaves the
        // trend window and the behaviour window, and a broken promise the
        // behaviour window, on the day they pass out of them.
        let leaves = |d: NaiveDate, best: &mut NaiveDate| {
            for m in [self.trend_months, self.behaviour_months] {
                if let Some(out) = d.checked_add_months(chrono::Months::new(m)) {
                    for t in [out, out + Duration::days(1), out + Duration::days(2)] {
                        if t > day && t < *best {
                            *best = t;
                        }
                    }
                }
            }
        };
        for &i in ledger.invoices_by_customer.rows(c) {
            let inv = &ledger.invoices[i as usize];
            if inv.is_open() {
                at(inv.due_date, &self.due, &mut best);
                at(inv.issue_date, &self.issue, &mut best);
            } else if let Some((settled, _)) = crate::facts::settled_on(ledger, i, day) {
                leaves(settled, &mut best);
            }
        }
        if let Some(d) = ledger.payments_by_customer.rows(c).iter().map(|&p| ledger.payments[p as usize].paid_on).max()
        {
            at(d, &self.since, &mut best);
        }
        for &p in ledger.promises_by_customer.rows(c) {
            let p = &ledger.promises[p as usize];
            at(p.made_on, &self.since, &mut best);
            at(p.due_on + Duration::days(self.promise_grace), &self.since, &mut best);
            leaves(p.due_on, &mut best);
        }
        // The last execution of each rule; every action of the last 91 days.
        let mut last: Vec<(&str, NaiveDate)> = Vec::new();
        for &a in ledger.actions_by_customer.rows(c) {
            let a = &ledger.actions[a as usize];
            let Some(d) = a.executed_on else { continue };
            if (day - d).num_days() <= 91 {
                at(d, &self.windows, &mut best);
            }
            match last.iter_mut().find(|(r, _)| *r == a.rule_id.as_str()) {
                Some(x) => x.1 = x.1.max(d),
                None => last.push((a.rule_id.as_str(), d)),
            }
        }
        for (_, d) in last {
            at(d, &self.rule, &mut best);
        }
        let cust = &ledger.customers[c as usize];
        if let Some(opened) = cust.opened_on {
            let age = (day - opened).num_days();
            for &every in &self.reviews {
                if age >= 0 {
                    best = best.min(opened + Duration::days((age / every + 1) * every));
                }
            }
        }
        if self.monthly {
            let next_month = if day.month() == 12 {
                NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
            };
            if let Some(m) = next_month {
                best = best.min(m);
                if let Some(end) = m.pred_opt() {
                    at(end, &self.since, &mut best);
                }
            }
            if let Some(ye) = NaiveDate::from_ymd_opt(day.year(), 12, 31) {
                at(ye, &self.since, &mut best);
            }
        }
        if self.business_days && matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            best = best.min(day + Duration::days(if day.weekday() == Weekday::Sat { 2 } else { 1 }));
        }
        best.max(tomorrow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_a_text() {
        let mut v = Vec::new();
        numbers("days_past_due = 14\nfee = \"25.00\"\nx2 = 5000 when > 45 && r >= 0.8", 3660, &mut v);
        assert_eq!(v, vec![14, 25, 45, 0]);
    }
}
