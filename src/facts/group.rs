//! Customer groups: the figures of each group (a parent customer and the
//! customers whose `parent` it is), per currency, for the `customer.group_*`
//! facts. Built once per run, before the parallel evaluation, and only when
//! the ledger has groups.

use super::{Context, CustomerFacts, derive_customer};
use crate::ledger::{CustIx, Customer, Ledger, Text};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A group's figures in one currency, as one of its customers reads them.
/// For a customer in no group: its own.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GroupFigures {
    pub open: Decimal,
    pub overdue: Decimal,
    pub exposure: Decimal,
    /// The shared limit: the head's `credit_limit` when the head is in this
    /// currency (`None`: no limit).
    pub limit: Option<Decimal>,
    /// Customers of the group in this currency, the head included.
    pub members: u32,
}

impl GroupFigures {
    /// A customer's own figures (a customer in no group is its own group).
    pub fn own(f: &CustomerFacts<'_>) -> Self {
        GroupFigures {
            open: f.open_total,
            overdue: f.overdue_total,
            exposure: f.exposure,
            limit: f.customer.credit_limit,
            members: 1,
        }
    }

    /// Group exposure over the shared limit (0 with no limit), capped as
    /// `customer.utilization` is.
    pub fn utilization(&self) -> f64 {
        self.limit.map_or(0.0, |l| super::ratio(self.exposure, l))
    }
}

/// Every group's figures, by head and currency. Amounts of different
/// currencies are never added: a member in another currency than its head
/// counts in a group of that currency, which has no shared limit.
#[derive(Debug, Default, PartialEq)]
pub struct Groups {
    by_head: BTreeMap<(CustIx, Text), GroupFigures>,
}

impl Groups {
    /// The groups of `ledger` on `ctx`'s date, or `None` when no customer
    /// names a parent (the usual ledger: nothing is computed).
    pub fn of(ledger: &Ledger, ctx: &Context) -> Option<Arc<Groups>> {
        if ledger.customers.iter().all(|c| c.group.is_none()) {
            return None;
        }
        let mut head = vec![false; ledger.customers.len()];
        for c in &ledger.customers {
            if let Some(p) = c.group {
                head[p as usize] = true;
            }
        }
        // Each member's own facts, with no group figures in the context.
        let plain = Context { groups: None, ..ctx.clone() };
        let mut by_head: BTreeMap<(CustIx, Text), GroupFigures> = BTreeMap::new();
        let mut buf = Vec::new();
        for (c, cust) in ledger.customers.iter().enumerate() {
            let Some(h) = cust.group.or(head[c].then_some(c as CustIx)) else { continue };
            let f = derive_customer(ledger, c as CustIx, &plain, &mut buf);
            let top = &ledger.customers[h as usize];
            let g = by_head.entry((h, cust.currency.clone())).or_insert_with(|| GroupFigures {
                limit: if top.currency == cust.currency { top.credit_limit } else { None },
                ..GroupFigures::default()
            });
            g.open += f.open_total;
            g.overdue += f.overdue_total;
            g.exposure += f.exposure;
            g.members += 1;
        }
        Some(Arc::new(Groups { by_head }))
    }

    /// The figures of the group of `customer` (index `c`) in its currency;
    /// `None` for a customer in no group.
    pub fn get(&self, customer: &Customer, c: CustIx) -> Option<GroupFigures> {
        let h = customer.group.unwrap_or(c);
        self.by_head.get(&(h, customer.currency.clone())).copied()
    }
}
