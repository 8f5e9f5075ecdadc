//! The account: credit limit changes, holds and their release, and periodic
//! credit reviews. One limit decision per customer per run: rules are tried
//! by priority (then file order) and the first that changes something wins;
//! a hold the ladder places this run wins over a release or a raise.

use super::words::{count, money};
use super::{Eval, EvalError, Outcome, PlannedAction, RuleKind, RuleTrace};
use crate::ledger::ActionKind;
use crate::policy::compile::{LimitChange, LimitRule, NO_RULE, money as cents};
use rust_decimal::Decimal;

/// Round to a multiple of `step`, half away from zero.
fn round_to(x: Decimal, step: Option<Decimal>) -> Decimal {
    match step {
        Some(s) if s > Decimal::ZERO => {
            (x / s).round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero) * s
        }
        _ => cents(x),
    }
}

/// The new limit a rule sets, from the old one and the exposure, for a
/// customer of currency `code` (the rule's amounts in that currency).
pub fn new_limit(rule: &LimitRule, old: Decimal, exposure: Decimal, code: &str) -> Decimal {
    let pct = |p: Decimal| old * p / Decimal::ONE_HUNDRED;
    let amount = |a: &Option<crate::policy::compile::Amount>| a.as_ref().and_then(|a| a.get(code));
    let by_amount = amount(&rule.by_amount);
    let mut new = match rule.change {
        LimitChange::Raise => old + by_amount.unwrap_or_else(|| pct(rule.by_pct.unwrap_or_default())),
        LimitChange::Lower => old - by_amount.unwrap_or_else(|| pct(rule.by_pct.unwrap_or_default())),
        LimitChange::Set => amount(&rule.to).unwrap_or(old),
        LimitChange::Freeze => old.min(exposure.max(Decimal::ZERO)),
        LimitChange::Hold | LimitChange::Release => return old,
    };
    new = round_to(new, rule.round_to);
    if let Some(c) = amount(&rule.cap)
        && rule.change != LimitChange::Lower
    {
        new = new.min(c);
    }
    if let Some(f) = amount(&rule.floor)
        && rule.change != LimitChange::Raise
    {
        new = new.max(f);
    }
    new.max(Decimal::ZERO)
}

/// The limit rule `l` gives a customer with no limit: a set amount (in
/// currency `code`) or, for a freeze, the exposure; `None` for a raise or a
/// lower (nothing to change by a share or an amount) or a set amount not
/// given in `code`.
pub fn first_limit(rule: &LimitRule, exposure: Decimal, code: &str) -> Option<Decimal> {
    let new = match rule.change {
        LimitChange::Set => rule.to.as_ref().and_then(|a| a.get(code))?,
        LimitChange::Freeze => exposure.max(Decimal::ZERO),
        _ => return None,
    };
    // The same rounding, cap and floor as a change of an existing limit.
    Some(new_limit(rule, new, exposure, code))
}

impl Eval<'_, '_> {
    fn held_by_ladder(&self) -> bool {
        self.actions.iter().any(|a| a.action == ActionKind::CreditHold)
    }

    /// What rule `l` would do, or why it does nothing (the reason in words
    /// only when tracing: nothing is formatted for a rule that does nothing).
    /// `code` is the number of its id ([`crate::policy::compile::RuleIds`]).
    fn limit_effect(&self, l: &LimitRule, code: u32) -> Result<PlannedAction, String> {
        let cf = self.cf;
        let old = cf.customer.credit_limit;
        if let Some(last) = self.hist.last_of_rule(code) {
            let since = (self.cal.date - last).num_days();
            // A hold placed again after a release (or released after a hold)
            // is a new state: the rule's re-apply interval starts over.
            let undone_since = match l.change {
                LimitChange::Release => self.hist.last_of_kind(ActionKind::CreditHold).is_some_and(|h| h > last),
                LimitChange::Hold => self.hist.last_of_kind(ActionKind::ReleaseHold).is_some_and(|r| r > last),
                _ => false,
            };
            if since < i64::from(l.every_days) && !undone_since {
                return Err(
                    self.why(|| format!("applied on {last}, not again within {}", count(l.every_days as usize, "day")))
                );
            }
        }
        // Decide first; words and facts only for an action.
        match l.change {
            LimitChange::Hold => {
                if cf.on_hold || self.held_by_ladder() {
                    return Err(self.why(|| "the account is already on hold".into()));
                }
            }
            LimitChange::Release => {
                if !cf.on_hold {
                    return Err(self.why(|| "the account is not on hold".into()));
                }
                if cf.group_held {
                    let parent = cf.customer.parent.as_deref().unwrap_or("");
                    return Err(self.why(|| format!("held by its group: its parent `{parent}` is on hold")));
                }
            }
            _ => {
                // No limit (an empty cell): nothing to raise or lower; a set
                // amount or a freeze gives the customer one.
                let Some(old) = old else {
                    let Some(new) = first_limit(l, cf.exposure, &cf.customer.currency) else {
                        return Err(self.why(|| "no change: the customer has no credit limit".into()));
                    };
                    return Ok(self.limit_change(l, None, new));
                };
                let new = new_limit(l, old, cf.exposure, &cf.customer.currency);
                if new == old {
                    return Err(self.why(|| format!("no change: the limit stays {}", money(old))));
                }
                if new > old && (cf.on_hold || self.held_by_ladder()) {
                    return Err(self.why(|| "no increase while the account is on hold".into()));
                }
                return Ok(self.limit_change(l, Some(old), new));
            }
        }

        Ok(self.limit_action(l, |a, why| {
            let what = if l.change == LimitChange::Hold {
                a.action = ActionKind::CreditHold;
                a.hold = true;
                "credit hold"
            } else {
                a.action = ActionKind::ReleaseHold;
                "hold released"
            };
            why.map(|why| format!("{why}{what} by rule {}", l.id))
        }))
    }

    /// The limit change of rule `l` from `old` (`None`: no limit) to `new`.
    fn limit_change(&self, l: &LimitRule, old: Option<Decimal>, new: Decimal) -> PlannedAction {
        self.limit_action(l, |a, why| {
            a.old_limit = old;
            a.new_limit = Some(new);
            a.review_on = l.review_in_days.map(|d| self.cal.date + chrono::Duration::days(i64::from(d)));
            let why = why?;
            let old = old.map_or_else(|| "none".to_string(), money);
            Some(format!("{why}limit {old} → {} by rule {}", money(new), l.id))
        })
    }

    /// The action of limit rule `l`, finished by `fill`: given the action
    /// and, when the plan carries words, the facts its condition read in
    /// words, it returns the reason (only then).
    fn limit_action(
        &self,
        l: &LimitRule,
        fill: impl FnOnce(&mut PlannedAction, Option<&str>) -> Option<String>,
    ) -> PlannedAction {
        let cf = self.cf;
        let mut a = PlannedAction::new(cf, ActionKind::LimitChange, &l.id, RuleKind::Limit);
        a.owner = l.owner.clone();
        a.amount_due = self.overdue_owed();
        let words = self.words();
        let mut why = String::new();
        if words && let Some(w) = &l.when {
            // The first three facts it read, in words.
            let env = self.env(None);
            let read = w.reads.facts.iter().filter_map(|&f| env.fact(f).map(|v| (f, v)));
            for (i, (f, v)) in read.take(3).enumerate() {
                if i > 0 {
                    why.push_str(", ");
                }
                why.extend(f.def().map_or("?", |d| d.name).chars().map(|c| if c == '_' { ' ' } else { c }));
                why.push(' ');
                why.push_str(&super::words::value(v));
            }
            if !why.is_empty() {
                why.push_str(": ");
            }
        }
        let reason = fill(&mut a, words.then_some(why.as_str()));
        let Some(reason) = reason else { return a };
        a.reason = reason;
        let k = super::known();
        let mut facts = self.fact_reads(&[k.credit_limit, k.exposure, k.utilization]);
        self.reads(&l.when, None, &mut facts);
        a.facts = facts;
        a
    }

    pub(super) fn limits(&mut self) -> Result<(), EvalError> {
        let mut winner: Option<&str> = None;
        for (j, l) in self.r.limits.iter().enumerate() {
            let code = self.p.ids.limits.get(j).copied().unwrap_or(NO_RULE);
            let hit = self.cond(&l.when, None, RuleKind::Limit, &l.id)?;
            let mut inputs = Vec::new();
            if self.tracing() {
                self.reads(&l.when, None, &mut inputs);
                self.amount_reads(&l.when, &mut inputs);
            }
            let trace = |outcome, detail: String, inputs| RuleTrace {
                kind: RuleKind::Limit,
                rule_id: l.id.clone(),
                outcome,
                detail,
                guardrail: None,
                inputs,
            };
            if !hit {
                let src = l.when.as_ref().map_or("", |w| w.src.as_str());
                self.note(|| trace(Outcome::NotFired, format!("`{src}` is false"), inputs));
                continue;
            }
            if winner.is_some() && !self.tracing() {
                // Decided already: only a trace would show what this rule would have done.
                continue;
            }
            match self.limit_effect(l, code) {
                Err(why) => self.note(|| trace(Outcome::NotFired, why, inputs)),
                Ok(a) => {
                    if let Some(w) = &winner {
                        self.note(|| trace(Outcome::Overridden, format!("`{w}` decided the limit this run"), inputs));
                        continue;
                    }
                    if a.action == ActionKind::ReleaseHold && self.held_by_ladder() {
                        self.note(|| trace(Outcome::Overridden, "the ladder places a hold this run".into(), inputs));
                        continue;
                    }
                    winner = Some(&l.id);
                    self.offer(a, |a| trace(Outcome::Fired, a.reason.clone(), inputs));
                }
            }
        }
        Ok(())
    }

    /// Is a periodic review not due, and why? Due `every` days after the
    /// last review. Never reviewed: due on each anniversary of the account
    /// (opening date + k × `every`); anniversaries before the policy's
    /// `effective` date are not a backlog. With neither date, due now.
    fn review_not_due(&self, last: Option<chrono::NaiveDate>, every: u32) -> Option<String> {
        let as_of = self.cal.date;
        if let Some(d) = last {
            let since = (as_of - d).num_days();
            return (since < i64::from(every))
                .then(|| self.why(|| format!("reviewed on {d}; due every {}", count(every as usize, "day"))));
        }
        let opened = self.cf.customer.opened_on?;
        let age = (as_of - opened).num_days();
        if age < i64::from(every) {
            return Some(
                self.why(|| format!("account opened on {opened}; first review after {}", count(every as usize, "day"))),
            );
        }
        let anchor = opened + chrono::Duration::days(age / i64::from(every) * i64::from(every));
        match self.r.meta.effective {
            Some(eff) if anchor < eff => Some(self.why(|| {
                format!(
                    "never reviewed; the next anniversary of the account is {}",
                    anchor + chrono::Duration::days(i64::from(every))
                )
            })),
            _ => None,
        }
    }

    pub(super) fn reviews(&mut self) -> Result<(), EvalError> {
        let mut done = false;
        for (j, r) in self.r.reviews.iter().enumerate() {
            let code = self.p.ids.reviews.get(j).copied().unwrap_or(NO_RULE);
            let trace = |outcome, detail: String| RuleTrace {
                kind: RuleKind::Review,
                rule_id: r.id.clone(),
                outcome,
                detail,
                guardrail: None,
                inputs: Vec::new(),
            };
            if let Some(rc) = r.risk_class
                && self.cf.customer.risk_class != Some(rc)
            {
                self.note(|| trace(Outcome::NotFired, format!("for {rc} risk customers")));
                continue;
            }
            if !self.cond(&r.when, None, RuleKind::Review, &r.id)? {
                let src = r.when.as_ref().map_or("", |w| w.src.as_str());
                self.note(|| trace(Outcome::NotFired, format!("`{src}` is false")));
                continue;
            }
            let last = self.hist.last_of_rule(code).or_else(|| self.hist.last_of_kind(ActionKind::CreditReview));
            if let Some(why) = self.review_not_due(last, r.every_days) {
                self.note(|| trace(Outcome::NotFired, why));
                continue;
            }
            if done {
                self.note(|| trace(Outcome::Overridden, "one review per run".into()));
                continue;
            }
            done = true;
            let mut a = PlannedAction::new(self.cf, ActionKind::CreditReview, &r.id, RuleKind::Review);
            a.owner = r.owner.clone();
            a.amount_due = self.overdue_owed();
            if self.words() {
                let class = self.cf.customer.risk_class.map_or("unrated".to_string(), |c| format!("{c} risk"));
                a.reason = match last {
                    Some(d) => format!(
                        "{class}, last review {d}, due every {}: review {}",
                        count(r.every_days as usize, "day"),
                        r.id
                    ),
                    None => format!("{class}, never reviewed: review {}", r.id),
                };
                let k = super::known();
                a.facts = self.fact_reads(&[k.risk_class, k.credit_limit, k.utilization]);
            }
            self.offer(a, |a| trace(Outcome::Fired, a.reason.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::compile::Amount;

    fn rule(change: LimitChange) -> LimitRule {
        LimitRule {
            id: "r".into(),
            when: None,
            change,
            by_pct: None,
            by_amount: None,
            to: None,
            floor: None,
            cap: None,
            round_to: None,
            every_days: 90,
            review_in_days: None,
            owner: None,
            priority: 0,
        }
    }

    #[test]
    fn amounts_follow_the_customer_s_currency() {
        let mut l = rule(LimitChange::Lower);
        l.by_amount = Some(Amount {
            one: None,
            by: vec![("EUR".into(), Decimal::from(1000)), ("GBP".into(), Decimal::from(800))],
        });
        l.floor = Some(Amount::one(Decimal::from(500)));
        assert_eq!(new_limit(&l, Decimal::from(5000), Decimal::ZERO, "EUR"), Decimal::from(4000));
        assert_eq!(new_limit(&l, Decimal::from(5000), Decimal::ZERO, "GBP"), Decimal::from(4200));
        // A currency the per-currency values leave out: no amount, no change by it.
        assert_eq!(new_limit(&l, Decimal::from(5000), Decimal::ZERO, "USD"), Decimal::from(5000));
    }

    #[test]
    fn lower_stops_at_floor_and_raise_at_cap() {
        let mut l = rule(LimitChange::Lower);
        l.by_pct = Some(Decimal::from(20));
        l.floor = Some(Amount::one(Decimal::from(4500)));
        l.round_to = Some(Decimal::from(100));
        assert_eq!(new_limit(&l, Decimal::from(10000), Decimal::ZERO, "USD"), Decimal::from(8000));
        assert_eq!(new_limit(&l, Decimal::from(5000), Decimal::ZERO, "USD"), Decimal::from(4500));
        let mut r = rule(LimitChange::Raise);
        r.by_pct = Some(Decimal::from(10));
        r.cap = Some(Amount::one(Decimal::from(10500)));
        assert_eq!(new_limit(&r, Decimal::from(9000), Decimal::ZERO, "USD"), Decimal::from(9900));
        assert_eq!(new_limit(&r, Decimal::from(10000), Decimal::ZERO, "USD"), Decimal::from(10500));
    }
}
