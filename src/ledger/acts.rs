//! A compact copy of every customer's action rows, for the readers that walk
//! a customer's history on every evaluation (the engine's
//! [`History`](crate::engine), the contact facts).
//!
//! An [`ActionRecord`] is about 90 bytes (ids, arm, the rule id's text...),
//! and the rows the simulation appends land at the end of
//! [`Ledger::actions`](super::Ledger), far from the customer's loaded rows:
//! walking a customer's full rows touches a cache line or two per row.
//! [`Acts`] keeps, per customer and in file order, a 24-byte [`Act`] per row
//! — the fields those readers compare — side by side: a customer's rows are
//! one contiguous slice ([`Grouped`]). It is the ledger's only index of the
//! action rows by customer: the full row stays one index away ([`Act::row`])
//! for what the copy leaves out (the rule id's text).
//!
//! [`Ledger::index`](super::Ledger::index) and the loader build it with the
//! other indexes, [`Ledger::push_action`](super::Ledger::push_action) appends
//! to it; code that edits `Ledger::actions` in place must call `index` again,
//! as for the other indexes.

use super::{ActionKind, ActionRecord, ByCustomer, Channel, Grouped, InvIx, Outcome};
use chrono::NaiveDate;

/// One action row, as the hot readers read it (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Act {
    /// Its index in `Ledger::actions`.
    pub row: u32,
    /// The symbol of its rule id ([`super::RuleId::sym`]).
    pub sym: u32,
    /// The invoice it is for, if `FOR_INVOICE` is set in `flags`.
    invoice: InvIx,
    pub decided_on: NaiveDate,
    pub executed_on: Option<NaiveDate>,
    pub action: ActionKind,
    pub channel: Option<Channel>,
    pub outcome: Option<Outcome>,
    flags: u8,
}

/// `Act::flags`: executed ([`ActionRecord::was_executed`]).
const EXECUTED: u8 = 1;
/// `Act::flags`: for an invoice (`Act::invoice` holds it).
const FOR_INVOICE: u8 = 2;

/// Every customer's [`Act`]s, grouped by customer in file order.
pub type Acts = Grouped<Act>;

impl Act {
    /// The compact copy of `a`, row `row` of `Ledger::actions`.
    pub fn of(row: u32, a: &ActionRecord) -> Self {
        let flags = if a.was_executed() { EXECUTED } else { 0 } | if a.invoice.is_some() { FOR_INVOICE } else { 0 };
        Act {
            row,
            sym: a.rule_id.sym(),
            invoice: a.invoice.unwrap_or(0),
            decided_on: a.decided_on,
            executed_on: a.executed_on,
            action: a.action,
            channel: a.channel,
            outcome: a.outcome,
            flags,
        }
    }

    /// The invoice it is for (none: the whole account).
    #[inline(always)]
    pub fn invoice(&self) -> Option<InvIx> {
        (self.flags & FOR_INVOICE != 0).then_some(self.invoice)
    }

    /// Executed (has an execution date) and not failed, cancelled or pending:
    /// [`ActionRecord::was_executed`].
    #[inline(always)]
    pub fn was_executed(&self) -> bool {
        self.flags & EXECUTED != 0
    }

    /// A message that reached for the customer: a built-in contact kind, or
    /// a kind the policy declares recorded with a channel (`[kinds.*]
    /// channel`): what the contact facts and caps count. One more byte
    /// compare than [`ActionKind::is_contact`], for rows that are not one.
    #[inline(always)]
    pub fn is_contact(&self) -> bool {
        self.action.is_contact() || (self.action.is_declared() && self.channel.is_some())
    }

    /// Its full row in `actions` (`Ledger::actions`).
    pub fn record<'a>(&self, actions: &'a [ActionRecord]) -> Option<&'a ActionRecord> {
        actions.get(self.row as usize)
    }
}

/// The [`Acts`] of `actions`, grouped as `by_customer` groups their indexes
/// (packed; built from `actions`, so every index is a row of it).
pub(crate) fn build(by_customer: &ByCustomer, actions: &[ActionRecord]) -> Acts {
    by_customer.map(|r| Act::of(r, &actions[r as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Customer, Ledger, RuleId, Terms};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
    }

    fn row(customer: u32, n: u32, outcome: Option<Outcome>) -> ActionRecord {
        ActionRecord {
            id: format!("A{n}").into(),
            customer,
            invoice: n.is_multiple_of(2).then_some(n),
            rule_id: RuleId::new(&format!("rule-{}", n % 3)),
            action: if n.is_multiple_of(2) { ActionKind::Email } else { ActionKind::Call },
            channel: None,
            decided_on: day(n % 28 + 1),
            executed_on: outcome.map(|_| day(n % 28 + 1)),
            outcome,
            arm: None,
        }
    }

    /// Every customer's acts are the compact copies of its rows, in file order.
    fn check(l: &Ledger) {
        assert_eq!(l.acts.groups(), l.customers.len());
        for c in 0..l.customers.len() as u32 {
            let want: Vec<Act> = (l.actions.iter().enumerate())
                .filter(|(_, a)| a.customer == c)
                .map(|(r, a)| Act::of(r as u32, a))
                .collect();
            assert_eq!(l.acts.rows(c), &want[..], "customer {c}");
        }
    }

    fn customer(n: usize) -> Customer {
        Customer {
            id: format!("C{n}").into(),
            currency: "EUR".into(),
            terms: Terms { net_days: 30, discount_pct: None, discount_days: None },
            ..<Customer as crate::ledger::load::LedgerRow>::placeholder()
        }
    }

    fn ledger(owners: &[u32]) -> Ledger {
        let mut l = Ledger { customers: (0..4).map(customer).collect(), ..Ledger::default() };
        let outcomes = [Some(Outcome::Sent), None, Some(Outcome::Failed), Some(Outcome::Answered)];
        l.actions = owners.iter().enumerate().map(|(n, &c)| row(c, n as u32, outcomes[n % 4])).collect();
        l.index();
        l
    }

    #[test]
    fn the_copy_keeps_what_the_readers_compare() {
        let a = row(3, 4, Some(Outcome::Sent));
        let x = Act::of(9, &a);
        assert_eq!(
            (x.row, x.sym, x.invoice(), x.decided_on, x.executed_on),
            (9, a.rule_id.sym(), Some(4), day(5), a.executed_on)
        );
        assert!(x.was_executed());
        // Executed as the full row says: an execution date, and not failed,
        // cancelled or pending (a row with no outcome was executed).
        for (executed_on, outcome, executed) in [
            (Some(day(2)), None, true),
            (Some(day(2)), Some(Outcome::Pending), false),
            (Some(day(2)), Some(Outcome::Cancelled), false),
            (Some(day(2)), Some(Outcome::Failed), false),
            (Some(day(2)), Some(Outcome::Bounced), true),
            (None, Some(Outcome::Sent), false),
        ] {
            let b = ActionRecord { invoice: None, executed_on, outcome, ..a.clone() };
            assert_eq!(b.was_executed(), executed, "{outcome:?}");
            assert_eq!(Act::of(0, &b).was_executed(), executed, "{outcome:?}");
            assert_eq!(Act::of(0, &b).invoice(), None);
        }
        let mut rows = vec![a.clone(); 2];
        rows[1].id = "other".into();
        assert_eq!(x.record(&rows).map(|r| &*r.id), None);
        assert_eq!(Act::of(1, &a).record(&rows).map(|r| &*r.id), Some("other"));
        assert_eq!(std::mem::size_of::<Act>(), 24);
    }

    /// Loaded in customer order and out of it, a customer with none.
    #[test]
    fn built_in_the_order_of_the_row_index() {
        for owners in [vec![0u32, 0, 1, 3, 3, 3], vec![3, 0, 1, 0, 3, 3], vec![]] {
            let l = ledger(&owners);
            check(&l);
            assert!(l.acts.rows(2).is_empty());
        }
    }

    /// Pushed rows join their customer's group (also a customer with none
    /// loaded); a reset puts the loaded groups back.
    #[test]
    fn push_and_reset_keep_it_in_step() {
        let mut l = ledger(&[3, 0, 1, 0, 3, 3]);
        let acts = l.acts.clone();
        l.make_growable();
        for (n, c) in [(6, 0), (7, 2), (8, 3), (9, 0), (10, 0), (11, 0), (12, 2)] {
            l.push_action(row(c, n, Some(Outcome::Delivered)));
            check(&l);
        }
        assert_eq!(l.acts.rows(2).len(), 2);
        assert_eq!(l.acts.rows(0).len(), 6);
        l.actions.truncate(6);
        l.acts.reset_growable(&acts);
        check(&l);
        assert!(l.acts.rows(2).is_empty());
        assert_eq!(l.acts.rows(0).len(), 2);
    }
}
