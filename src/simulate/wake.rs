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
//! The policy's numbers ([`Wake::of`]): its step ages (from due or issue
//! dates) and cooldowns (from each step's last execution), each limit
//! rule's, payment plan's and review's own interval (from that rule's last
//! execution), the 7-day contact window when the contact cap or Regulation F
//! applies and the 30- and 90-day ones when a condition reads them (from each
//! action of the last 91 days), the aging edges when a condition reads
//! `invoice.bucket`, and the constants the `when` conditions compare day
//! counts with: `customer.days_since_payment > 45` gives 45 to the last
//! payment, `invoice.days_to_due <= 3` gives -3 to due dates. Each `n` is a
//! day a count can change its answer: `n` and `n + 1` days after the date
//! (`>=` and `>`). Constants compared with facts that move only when the
//! customer's rows change (amounts, ratios, counts) are no thresholds; those
//! of a condition that does anything else with a day count (a script,
//! arithmetic, two facts compared) apply to every date, both ways. The
//! `[priority]` score is left out: the simulation does not compute it. A
//! customer is also looked at when a settled invoice or a broken promise
//! passes out of the 12-month behaviour window or the 3-month trend window,
//! when a condition reads the facts they move. A policy that reads the day of
//! the month, the weekday or the date is evaluated every day; one that reads
//! the month, quarter or year (or offers incentives by quarter) at every
//! month's start; with `business_days_only`, a customer looked at on a
//! weekend is looked at again on Monday. Arithmetic on a day count
//! (`days_since_payment > 2 * 30`) or a weighted average of them is not
//! followed exactly: every customer is looked at at least every
//! [`Wake::max_sleep`] days whatever happens, which bounds how late such a
//! change is noticed.
//! On the shipped policies the projection is the same, byte for byte, as
//! evaluating every customer every day (a test checks it).

use crate::facts::registry::{FactType, Scope};
use crate::ledger::{CustIx, Ledger};
use crate::policy::CompiledPolicy;
use crate::policy::expr::{Cmp, FactRef, Node, ord_cmp};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rustc_hash::FxHashMap as HashMap;

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
    /// From the last execution of each rule: literals compared with days
    /// since a contact, a conversation or a step, and unplaced literals.
    rule: Vec<i64>,
    /// The same with the rule's own intervals, for the policy's rules.
    per_rule: HashMap<String, Vec<i64>>,
    /// From the last credit review of any rule: the reviews' cadence.
    review: Vec<i64>,
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
    /// The payment-behaviour windows (months) whose facts the policy reads.
    windows_months: Vec<u32>,
}

/// Longest a customer goes without evaluation (days).
pub const MAX_SLEEP: i64 = 7;

/// The dates a day-count fact counts from, as indexes into the thresholds
/// of [`thresholds`]: 0 due dates, 1 issue dates, 2 the last payment, promises
/// and month and year ends, 3 each rule's last execution (and the last
/// conversation). `Some(None)`: a fact whose value changes only with the
/// customer's rows (a touch) or at dates followed whatever the policy says
/// (an invoice falling due, an aging edge, a promise's deadline, a contact
/// window, the behaviour windows, the calendar); `None`: not known to be
/// either (its comparisons are not followed).
fn clock(f: FactRef) -> Option<Option<usize>> {
    Some(match f.full_name() {
        "customer.max_days_past_due" | "invoice.days_past_due" | "invoice.days_to_due" => Some(0),
        "invoice.days_since_issue" => Some(1),
        "customer.days_since_payment" | "as_of.days_to_month_end" | "as_of.days_to_year_end" => Some(2),
        "customer.days_since_contact" | "customer.days_since_conversation" | "customer.days_since_step" => Some(3),
        "customer.id"
        | "customer.segment"
        | "customer.country"
        | "customer.currency"
        | "customer.risk_class"
        | "customer.account_type"
        | "customer.credit_score"
        | "customer.credit_limit"
        | "customer.terms_days"
        | "customer.do_not_contact"
        | "customer.preferred_channel"
        | "customer.on_hold"
        | "customer.open_total"
        | "customer.overdue_total"
        | "customer.current_total"
        | "customer.disputed_total"
        | "customer.open_count"
        | "customer.overdue_count"
        | "customer.exposure"
        | "customer.utilization"
        | "customer.headroom"
        | "customer.paid_invoices"
        | "customer.avg_days_late"
        | "customer.weighted_days_late"
        | "customer.on_time_ratio"
        | "customer.trend"
        | "customer.avg_days_to_pay"
        | "customer.open_disputes"
        | "customer.promises_active"
        | "customer.promises_broken"
        | "customer.promised_amount"
        | "customer.plan_active"
        | "customer.contacts_7d"
        | "customer.contacts_30d"
        | "customer.contacts_90d"
        | "customer.calls_7d"
        | "customer.last_step"
        | "customer.referred"
        | "invoice.id"
        | "invoice.amount"
        | "invoice.open_amount"
        | "invoice.paid_amount"
        | "invoice.bucket"
        | "invoice.disputed"
        | "invoice.promise_active"
        | "invoice.promise_broken" => None,
        n if n.starts_with("as_of.") && f.def().is_some_and(|d| d.ty != FactType::Date) => None,
        _ => return None,
    })
}

/// A constant's value (`45`, `-3`, `4.5`).
fn constant(n: &Node) -> Option<f64> {
    match n {
        Node::Int(i) => Some(*i as f64),
        Node::Float(f) => Some(*f),
        Node::Dec(d) => rust_decimal::prelude::ToPrimitive::to_f64(d),
        Node::Neg(x) => constant(x).map(|v| -v),
        _ => None,
    }
}

/// Does `n` read no fact whose value moves with the date by itself?
fn timeless(n: &Node) -> bool {
    match n {
        Node::Fact(f) => clock(*f) == Some(None),
        Node::Not(x) | Node::Neg(x) => timeless(x),
        Node::And(v) | Node::Or(v) => v.iter().all(timeless),
        Node::Cmp(_, _, a, b) | Node::Arith(_, _, a, b) => timeless(a) && timeless(b),
        Node::Call(_, args) => args.iter().all(timeless),
        Node::If(x) => timeless(&x.0) && timeless(&x.1) && timeless(&x.2),
        // A local's value is checked where it is bound.
        Node::Block(lets, body) | Node::Inline(lets, body) => lets.iter().all(|(_, v)| timeless(v)) && timeless(body),
        Node::Int(_) | Node::Float(_) | Node::Dec(_) | Node::Bool(_) | Node::Str(_) | Node::Local(_) => true,
    }
}

/// The days (offsets from the date a count counts from) on which
/// `count op c` (or `c op count` when the fact is on the right) changes its
/// answer: the count is `t` on day `t` after its date, `-t` when it counts
/// days *to* the date (`down`). `> 45` flips on day 46, `>= 45` on day 45,
/// `== 45` on days 45 and 46.
fn flips(op: Cmp, fact_left: bool, down: bool, c: f64) -> Vec<i64> {
    let sign = if down { -1.0 } else { 1.0 };
    let holds = |t: i64| {
        let x = sign * t as f64;
        let (l, r) = if fact_left { (x, c) } else { (c, x) };
        ord_cmp(op, l, r)
    };
    let mid = (sign * c).round() as i64;
    (mid - 3..=mid + 3).filter(|&t| holds(t) != holds(t - 1)).collect()
}

/// Add to `by` the constants `n` compares day counts with, by the dates
/// they count from; false if `n` does anything else with a day count.
fn thresholds(n: &Node, by: &mut [Vec<i64>; 4]) -> bool {
    match n {
        Node::Not(x) => thresholds(x, by),
        Node::And(v) | Node::Or(v) => v.iter().all(|x| thresholds(x, by)),
        Node::Cmp(op, _, a, b) => {
            let pair = match (&**a, &**b) {
                (Node::Fact(f), c) | (c, Node::Fact(f)) => constant(c).map(|v| (*f, v)),
                _ => None,
            };
            match pair.map(|(f, v)| (clock(f), v)) {
                Some((Some(Some(k)), v)) if v.abs() <= 3660.0 => {
                    // Days *to* a date count down: `n` of them is `-n` days after it.
                    let down = pair.is_some_and(|(f, _)| f.full_name().contains(".days_to_"));
                    by[k].extend(flips(*op, matches!(&**a, Node::Fact(_)), down, v));
                    true
                }
                Some((Some(None), _)) => true,
                _ => timeless(a) && timeless(b),
            }
        }
        other => timeless(other),
    }
}

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
        // Each day count a condition compares with a constant gives that
        // constant to the dates it counts from; the numbers of a condition
        // that does anything else with a day count (a script, arithmetic,
        // a comparison of two facts) go to every date.
        let mut by: [Vec<i64>; 4] = Default::default();
        let mut lits: Vec<i64> = vec![0];
        for e in &decisive {
            if !e.native.as_ref().is_some_and(|n| thresholds(n, &mut by)) {
                numbers(&e.src, 3660, &mut lits);
                if e.src.contains("::") {
                    for f in policy.sources.files.iter().filter(|f| f.path.extension().is_none_or(|x| x != "toml")) {
                        numbers(&f.text, 3660, &mut lits);
                    }
                }
            }
        }
        // `by` holds the exact days the conditions' comparisons flip; the
        // engine's own numbers below flip on one known day each (a step's
        // age `>= offset` on day `offset`, its `max` on day `max + 1`, an
        // interval `since < n` on day `n`, an aging edge `dpd > e` on day
        // `e + 1`, a contact window `age < n` on day `n`). A row's own date
        // and the day after it are always followed; the bare numbers, whose
        // count and sign are unknown, both ways (`offsets_of`).
        let [mut due, mut issue, since, rule] = by.map(|mut v| {
            v.extend([0, 1]);
            v.extend(offsets_of(lits.iter().copied()));
            v
        });
        // The aging edges move `invoice.bucket` only.
        let bucket = FactRef::find(Scope::Invoice, "bucket");
        if decisive.iter().any(|e| {
            e.reads.whole[crate::policy::expr::scope_ix(Scope::Invoice)]
                || bucket.is_some_and(|b| e.reads.facts.contains(&b))
        }) {
            due.extend(edges.iter().map(|&e| e + 1));
        }
        for s in r.ladders.iter().flat_map(|l| &l.steps) {
            let v = match s.basis {
                crate::policy::compile::Basis::DueDate => &mut due,
                crate::policy::compile::Basis::IssueDate => &mut issue,
            };
            v.push(i64::from(s.offset));
            v.extend(s.max.map(|m| i64::from(m) + 1));
        }
        // Each rule's own interval runs from its own last execution: step
        // cooldowns (from the invoice's last step: any step's), limit
        // rules' re-apply intervals, payment plans' re-offer delays, reviews'
        // cadence (also from the last credit review of any rule).
        let mut per_rule: HashMap<String, Vec<i64>> = HashMap::default();
        let with = |extra: &mut dyn Iterator<Item = u32>| {
            let mut v = rule.clone();
            v.extend(extra.map(i64::from));
            v
        };
        let cooldowns: Vec<u32> = r.ladders.iter().flat_map(|l| &l.steps).map(|s| s.cooldown_days).collect();
        for s in r.ladders.iter().flat_map(|l| &l.steps) {
            per_rule.insert(s.id.clone(), with(&mut cooldowns.iter().copied()));
        }
        for l in &r.limits {
            per_rule.entry(l.id.clone()).or_default().extend(with(&mut std::iter::once(l.every_days)));
        }
        for p in &r.plans {
            per_rule.entry(p.id.clone()).or_default().extend(with(&mut std::iter::once(p.reoffer_after_days)));
        }
        for x in &r.reviews {
            per_rule.entry(x.id.clone()).or_default().extend(with(&mut std::iter::once(x.every_days)));
        }
        let review = with(&mut r.reviews.iter().map(|x| x.every_days));
        // A contact window matters when something reads its count: the
        // contact cap and Regulation F read the 7-day ones.
        let reads = |name: &str| {
            let f = FactRef::find(Scope::Customer, name);
            decisive.iter().any(|e| {
                e.reads.whole[crate::policy::expr::scope_ix(Scope::Customer)]
                    || f.is_some_and(|f| e.reads.facts.contains(&f))
            })
        };
        let g = &r.guardrails;
        let mut windows = Vec::new();
        for (n, read) in [
            (7, g.max_contacts_per_7_days.is_some() || g.regulation_f || reads("contacts_7d") || reads("calls_7d")),
            (30, reads("contacts_30d")),
            (90, reads("contacts_90d")),
        ] {
            if read {
                windows.push(n);
            }
        }
        // The behaviour window moves the payment-behaviour facts and the
        // broken promises; its recent part moves `trend`.
        let behaviour = ["paid_invoices", "avg_days_late", "weighted_days_late", "on_time_ratio", "avg_days_to_pay"]
            .into_iter()
            .chain(["promises_broken", "trend"])
            .any(reads);
        let windows_months: Vec<u32> =
            [(facts.trend_recent_months, reads("trend")), (facts.behaviour_months, behaviour)]
                .into_iter()
                .filter_map(|(m, read)| read.then_some(m))
                .collect();
        let tidy = |mut v: Vec<i64>| {
            v.retain(|x| x.abs() <= 3661);
            v.sort_unstable();
            v.dedup();
            v
        };
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
            due: tidy(due),
            issue: tidy(issue),
            since: tidy(since),
            rule: tidy(rule),
            per_rule: per_rule.into_iter().map(|(k, v)| (k, tidy(v))).collect(),
            review: tidy(review),
            windows: tidy(windows),
            daily,
            monthly,
            business_days: r.guardrails.business_days_only,
            reviews: r.reviews.iter().map(|x| i64::from(x.every_days.max(1))).collect(),
            max_sleep: MAX_SLEEP,
            promise_grace,
            windows_months,
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
        // The smallest offset with anchor + offset > day, in days from the
        // common era (integer arithmetic, no date built per anchor).
        let today = i64::from(day.num_days_from_ce());
        let mut soonest = i64::MAX;
        let at = |anchor: NaiveDate, offsets: &[i64], soonest: &mut i64| {
            let a = i64::from(anchor.num_days_from_ce());
            let k = offsets.partition_point(|&o| o <= today - a);
            if let Some(&o) = offsets.get(k) {
                *soonest = (*soonest).min(a + o);
            }
        };
        // The payment-behaviour windows slide: a settled invoice leaves the
        // trend window and the behaviour window, and a broken promise the
        // behaviour window, on the day they pass out of them.
        // Only the windows the policy reads (`windows`) are followed.
        // Per window: dates at or before `lo` are out of it already, dates
        // after `hi` stay in it past the longest sleep.
        let bounds: Vec<(u32, NaiveDate, NaiveDate)> = self
            .windows_months
            .iter()
            .map(|&m| {
                let lo = crate::facts::months_before(day, m);
                let hi = crate::facts::months_before(day + Duration::days(self.max_sleep + 1), m);
                (m, lo, hi)
            })
            .collect();
        let leaves = |d: NaiveDate, best: &mut NaiveDate| {
            for &(m, lo, hi) in &bounds {
                if d <= lo || d > hi {
                    continue;
                }
                // In the window while `d > months_before(day, m)`.
                let Some(out) = d.checked_add_months(chrono::Months::new(m)) else { continue };
                let first = (0..4).map(|k| out + Duration::days(k)).find(|&t| crate::facts::months_before(t, m) >= d);
                if let Some(t) = first
                    && t > day
                    && t < *best
                {
                    *best = t;
                }
            }
        };
        for &i in ledger.invoices_by_customer.rows(c) {
            let inv = &ledger.invoices[i as usize];
            if inv.is_open() {
                at(inv.due_date, &self.due, &mut soonest);
                at(inv.issue_date, &self.issue, &mut soonest);
            } else if !self.windows_months.is_empty()
                && let Some(settled) = crate::facts::settled_on(ledger, i, day)
            {
                leaves(settled, &mut best);
            }
        }
        if let Some(d) = ledger.payments_by_customer.rows(c).iter().map(|&p| ledger.payments[p as usize].paid_on).max()
        {
            at(d, &self.since, &mut soonest);
        }
        for &p in ledger.promises_by_customer.rows(c) {
            let p = &ledger.promises[p as usize];
            at(p.made_on, &self.since, &mut soonest);
            at(p.due_on + Duration::days(self.promise_grace), &self.since, &mut soonest);
            leaves(p.due_on, &mut best);
        }
        // The last execution of each rule; every action of the last 91 days.
        let mut last: Vec<(&str, NaiveDate)> = Vec::new();
        let (mut conversation, mut reviewed): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
        for &a in ledger.actions_by_customer.rows(c) {
            let a = &ledger.actions[a as usize];
            let Some(d) = a.executed_on else { continue };
            if today - i64::from(d.num_days_from_ce()) <= 91 {
                at(d, &self.windows, &mut soonest);
            }
            if a.outcome == Some(crate::ledger::Outcome::Answered) {
                conversation = conversation.max(Some(d));
            }
            if a.action == crate::ledger::ActionKind::CreditReview {
                reviewed = reviewed.max(Some(d));
            }
            match last.iter_mut().find(|(r, _)| *r == a.rule_id.as_str()) {
                Some(x) => x.1 = x.1.max(d),
                None => last.push((a.rule_id.as_str(), d)),
            }
        }
        for (r, d) in last {
            at(d, self.per_rule.get(r).unwrap_or(&self.rule), &mut soonest);
        }
        if let Some(d) = conversation {
            at(d, &self.rule, &mut soonest);
        }
        if let Some(d) = reviewed {
            at(d, &self.review, &mut soonest);
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
                    at(end, &self.since, &mut soonest);
                }
            }
            if let Some(ye) = NaiveDate::from_ymd_opt(day.year(), 12, 31) {
                at(ye, &self.since, &mut soonest);
            }
        }
        if let Some(t) = i32::try_from(soonest).ok().and_then(NaiveDate::from_num_days_from_ce_opt) {
            best = best.min(t);
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

    fn fact(name: &str) -> Box<Node> {
        let (scope, n) = name.split_once('.').unwrap();
        let scope = match scope {
            "customer" => Scope::Customer,
            "invoice" => Scope::Invoice,
            _ => Scope::Calendar,
        };
        Box::new(Node::Fact(FactRef::find(scope, n).unwrap()))
    }

    fn cmp(op: crate::policy::expr::Cmp, a: Box<Node>, b: Box<Node>) -> Node {
        Node::Cmp(op, crate::policy::expr::Kind::Int, a, b)
    }

    #[test]
    fn each_comparison_flips_on_its_own_day() {
        use crate::policy::expr::Cmp::{Eq, Ge, Gt, Le, Lt, Ne};
        // days since a date (`count op 45`)
        assert_eq!(flips(Gt, true, false, 45.0), vec![46]);
        assert_eq!(flips(Ge, true, false, 45.0), vec![45]);
        assert_eq!(flips(Lt, true, false, 45.0), vec![45]);
        assert_eq!(flips(Le, true, false, 45.0), vec![46]);
        assert_eq!(flips(Eq, true, false, 45.0), vec![45, 46]);
        assert_eq!(flips(Ne, true, false, 45.0), vec![45, 46]);
        // `45 < count` is `count > 45`
        assert_eq!(flips(Lt, false, false, 45.0), vec![46]);
        // days to a date: `days_to_due <= 3` holds from 3 days before it;
        // `days_to_due < 3` from 2 days before
        assert_eq!(flips(Le, true, true, 3.0), vec![-3]);
        assert_eq!(flips(Lt, true, true, 3.0), vec![-2]);
        // a fraction: `> 4.5` and `>= 4.5` both on day 5
        assert_eq!(flips(Gt, true, false, 4.5), vec![5]);
        assert_eq!(flips(Ge, true, false, 4.5), vec![5]);
    }

    #[test]
    fn day_counts_compared_with_constants_are_placed_and_the_rest_is_not() {
        use crate::policy::expr::Cmp::{Ge, Gt, Lt};
        let mut by: [Vec<i64>; 4] = Default::default();
        // `customer.days_since_payment > 45 || invoice.days_to_due <= 3` and
        // amounts, ratios and counts, which move only with the rows.
        let n = Node::Or(vec![
            cmp(Gt, fact("customer.days_since_payment"), Box::new(Node::Int(45))),
            cmp(Ge, Box::new(Node::Int(3)), fact("invoice.days_to_due")),
            cmp(Gt, fact("customer.utilization"), Box::new(Node::Float(0.8))),
            cmp(Lt, fact("customer.overdue_total"), fact("customer.credit_limit")),
            cmp(Ge, fact("customer.max_days_past_due"), Box::new(Node::Dec(rust_decimal::Decimal::new(305, 1)))),
        ]);
        assert!(thresholds(&n, &mut by));
        // `> 45` flips on day 46; `3 >= days_to_due` (the due date is 3
        // days away) on day -3; `>= 30.5` on day 31.
        assert_eq!(by, [vec![-3, 31], vec![], vec![46], vec![]]);
        // Arithmetic on a day count, two day counts compared, a weighted
        // average: not followed (their numbers go to every date).
        let two = Box::new(Node::Arith(
            crate::policy::expr::Arith::Mul,
            crate::policy::expr::Kind::Int,
            Box::new(Node::Int(2)),
            Box::new(Node::Int(30)),
        ));
        assert!(!thresholds(&cmp(Gt, fact("customer.days_since_payment"), two), &mut by));
        let both = cmp(Gt, fact("customer.days_since_payment"), fact("customer.days_since_contact"));
        assert!(!thresholds(&both, &mut by));
        let weighted = cmp(Gt, fact("customer.weighted_days_past_due"), Box::new(Node::Int(10)));
        assert!(!thresholds(&weighted, &mut by));
    }
}
