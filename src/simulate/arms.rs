//! `recoup simulate --arms`: champion/challenger outcomes from the action
//! history. Each action of actions.csv carries its arm (the optional `arm`
//! column; none when absent or empty); the figures of an arm are read from
//! its actions and from the payments of the invoices it acted on first.
//!
//! Definitions (docs/simulation.md, "Champion/challenger"):
//! - only actions decided on or before the as-of date count, and payments
//!   made on or before it;
//! - an invoice belongs to the arm of its first action (the earliest
//!   `decided_on`, file order on a tie) that names it in `invoice_id`;
//!   account-level actions (no invoice) count as actions and customers only;
//! - the window of an invoice is its first action's day and the `days` days
//!   after it (cut at the as-of date);
//! - cash: the payments to the arm's invoices within their windows;
//! - cured: the invoice was past due on its first action's day and its
//!   payments reach its amount within the window; the cure rate is cured over
//!   those past due when first actioned;
//! - days to pay: from the first action to the payment that completes a cured
//!   invoice, averaged over the cured invoices.

use crate::ledger::{Arm, InvIx, Ledger};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};

/// The figures of one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmFigures {
    /// `champion`, `challenger`, or `none` (actions without an arm).
    pub arm: String,
    /// Customers with at least one action in this arm.
    pub customers: usize,
    pub actions: usize,
    /// Invoices whose first action is in this arm.
    pub invoices: usize,
    /// Of those, past due on the day of their first action.
    pub overdue_when_actioned: usize,
    /// Of those, paid in full within the window.
    pub cured: usize,
    /// `cured / overdue_when_actioned`; none when nothing was past due.
    pub cure_rate: Option<f64>,
    /// Payments to the arm's invoices within their windows.
    pub cash_collected: Decimal,
    /// Mean days from the first action to full payment, over the cured invoices.
    pub avg_days_to_pay: Option<f64>,
}

/// The comparison of the arms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmsReport {
    pub as_of: NaiveDate,
    /// The window after the first action, in days.
    pub days: u32,
    /// Champion first, then challenger, then `none`; only arms with actions.
    pub arms: Vec<ArmFigures>,
}

fn arm_name(a: Option<Arm>) -> &'static str {
    a.map_or("none", Arm::as_str)
}

fn order(name: &str) -> u8 {
    match name {
        "champion" => 0,
        "challenger" => 1,
        _ => 2,
    }
}

#[derive(Default)]
struct Acc {
    customers: BTreeSet<u32>,
    actions: usize,
    invoices: usize,
    overdue: usize,
    cured: usize,
    cash: Decimal,
    days_to_pay: i64,
}

/// Compare the arms of the action history as of `as_of`, with a window of
/// `days` days after each invoice's first action.
pub fn arms(ledger: &Ledger, as_of: NaiveDate, days: u32) -> ArmsReport {
    let mut acc: BTreeMap<&'static str, Acc> = BTreeMap::new();
    // The first action of each invoice: (day, arm).
    let mut first: HashMap<InvIx, (NaiveDate, &'static str)> = HashMap::new();
    for a in ledger.actions.iter().filter(|a| a.decided_on <= as_of) {
        let name = arm_name(a.arm);
        let e = acc.entry(name).or_default();
        e.actions += 1;
        e.customers.insert(a.customer);
        if let Some(i) = a.invoice {
            let f = first.entry(i).or_insert((a.decided_on, name));
            if a.decided_on < f.0 {
                *f = (a.decided_on, name);
            }
        }
    }
    let mut paid: HashMap<InvIx, Vec<(NaiveDate, Decimal)>> = HashMap::new();
    for p in ledger.payments.iter().filter(|p| p.paid_on <= as_of) {
        if let Some(i) = p.invoice
            && first.contains_key(&i)
        {
            paid.entry(i).or_default().push((p.paid_on, p.amount));
        }
    }
    let window = Duration::days(i64::from(days));
    for (&i, &(start, name)) in &first {
        let Some(inv) = ledger.invoices.get(i as usize) else { continue };
        let e = acc.entry(name).or_default();
        e.invoices += 1;
        let overdue = start > inv.due_date;
        e.overdue += usize::from(overdue);
        let end = (start + window).min(as_of);
        let mut pays: Vec<(NaiveDate, Decimal)> = paid
            .get(&i)
            .map(|v| v.iter().copied().filter(|(d, _)| *d >= start && *d <= end).collect())
            .unwrap_or_default();
        pays.sort();
        let mut total = Decimal::ZERO;
        let mut done_on = None;
        for (d, amount) in pays {
            total += amount;
            if done_on.is_none() && total >= inv.amount {
                done_on = Some(d);
            }
        }
        e.cash += total;
        if overdue && let Some(d) = done_on {
            e.cured += 1;
            e.days_to_pay += (d - start).num_days();
        }
    }
    let mut out: Vec<ArmFigures> = acc
        .into_iter()
        .filter(|(_, a)| a.actions > 0)
        .map(|(name, a)| ArmFigures {
            arm: name.to_string(),
            customers: a.customers.len(),
            actions: a.actions,
            invoices: a.invoices,
            overdue_when_actioned: a.overdue,
            cured: a.cured,
            cure_rate: (a.overdue > 0).then(|| a.cured as f64 / a.overdue as f64),
            cash_collected: a.cash,
            avg_days_to_pay: (a.cured > 0).then(|| a.days_to_pay as f64 / a.cured as f64),
        })
        .collect();
    out.sort_by_key(|a| order(&a.arm));
    ArmsReport { as_of, days, arms: out }
}

/// The column heads of arms.csv and of the terminal table.
pub const ARMS_COLUMNS: &[&str] = &[
    "arm",
    "customers",
    "actions",
    "invoices",
    "overdue_when_actioned",
    "cured",
    "cure_rate",
    "cash_collected",
    "avg_days_to_pay",
];

/// One row of cells per arm, as arms.csv writes them (rates to 4 places, days to 1).
pub fn arms_cells(r: &ArmsReport) -> Vec<Vec<String>> {
    r.arms
        .iter()
        .map(|a| {
            vec![
                a.arm.clone(),
                a.customers.to_string(),
                a.actions.to_string(),
                a.invoices.to_string(),
                a.overdue_when_actioned.to_string(),
                a.cured.to_string(),
                a.cure_rate.map(|x| format!("{x:.4}")).unwrap_or_default(),
                format!("{:.2}", a.cash_collected),
                a.avg_days_to_pay.map(|x| format!("{x:.1}")).unwrap_or_default(),
            ]
        })
        .collect()
}

/// arms.csv: one row per arm.
pub fn arms_csv(w: &mut dyn Write, r: &ArmsReport) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(ARMS_COLUMNS)?;
    for row in arms_cells(r) {
        out.write_record(row)?;
    }
    out.flush()
}
