//! Portfolio KPIs as of a date: DSO (standard and countback), best possible
//! DSO, average days delinquent, the collection effectiveness index and aging
//! totals. The formulas are pure functions, tested with hand-computed numbers;
//! [`portfolio`] feeds them from a ledger.

use super::{Context, months_before};
use crate::ledger::{CustIx, InvoiceStatus, Ledger};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Standard DSO: AR ÷ credit sales of the period × days in the period.
/// `None` when there were no sales.
pub fn dso_standard(ar: Decimal, sales: Decimal, days: i64) -> Option<f64> {
    if sales <= Decimal::ZERO {
        return None;
    }
    Some(f(ar) / f(sales) * days as f64)
}

/// One period of credit sales for the countback method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Period {
    pub sales: Decimal,
    pub days: i64,
}

/// Countback DSO: take AR, subtract the latest period's sales and count its
/// days; repeat with earlier periods; the last one pro rata. `periods` are
/// latest first. When AR exceeds all the sales given, the days of every
/// period are counted (the result is a lower bound).
pub fn dso_countback(ar: Decimal, periods: &[Period]) -> Option<f64> {
    if periods.is_empty() {
        return None;
    }
    let mut left = ar;
    let mut days = 0.0;
    for p in periods {
        if left <= Decimal::ZERO {
            break;
        }
        if left >= p.sales {
            left -= p.sales;
            days += p.days as f64;
        } else {
            days += f(left) / f(p.sales) * p.days as f64;
            left = Decimal::ZERO;
        }
    }
    Some(days)
}

/// Collection effectiveness index, in percent, over a period of `months`:
/// (beginning AR + sales − ending total AR) ÷ (beginning AR + sales − ending
/// current AR) × 100, where sales are the period's credit sales ÷ `months`.
pub fn cei(
    beginning_ar: Decimal,
    sales: Decimal,
    months: u32,
    ending_total: Decimal,
    ending_current: Decimal,
) -> Option<f64> {
    let sales = sales / Decimal::from(months.max(1));
    let den = beginning_ar + sales - ending_current;
    if den <= Decimal::ZERO {
        return None;
    }
    Some(f(beginning_ar + sales - ending_total) / f(den) * 100.0)
}

/// Totals of one aging bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgingBucket {
    pub bucket: String,
    pub count: u64,
    #[serde(with = "crate::money::json")]
    pub amount: Decimal,
}

/// Portfolio KPIs as of a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    pub as_of: NaiveDate,
    pub customers: u64,
    pub open_invoices: u64,
    /// Total open AR (open and disputed invoices; written-off excluded).
    #[serde(with = "crate::money::json")]
    pub ar_total: Decimal,
    /// Cash on account (payments with no invoice) up to the as-of date.
    #[serde(default)]
    #[serde(with = "crate::money::json")]
    pub unapplied_cash: Decimal,
    /// The unused part of the open credit notes.
    #[serde(default)]
    #[serde(with = "crate::money::json")]
    pub credit_notes: Decimal,
    /// AR net of unapplied cash and credit notes: `ar_total - unapplied_cash
    /// - credit_notes`, the receivables balance the DSO and CEI read.
    #[serde(default)]
    #[serde(with = "crate::money::json")]
    pub ar_net: Decimal,
    #[serde(with = "crate::money::json")]
    pub ar_current: Decimal,
    #[serde(with = "crate::money::json")]
    pub ar_overdue: Decimal,
    #[serde(with = "crate::money::json")]
    pub ar_disputed: Decimal,
    /// Net credit sales (invoices issued less credit notes issued) in the
    /// `dso_days` before the as-of date.
    #[serde(with = "crate::money::json")]
    pub sales_dso_period: Decimal,
    pub dso_days: i64,
    pub dso: Option<f64>,
    pub dso_countback: Option<f64>,
    pub best_possible_dso: Option<f64>,
    /// DSO − best possible DSO.
    pub average_days_delinquent: Option<f64>,
    pub cei_from: NaiveDate,
    pub cei: Option<f64>,
    pub aging: Vec<AgingBucket>,
}

/// The additive ingredients of the portfolio KPIs: sums over invoices that
/// can be computed for any subset of customers (a shard) and added up. The
/// KPIs of the whole are [`PortfolioInputs::finish`] of the sum of the parts,
/// exactly (money is summed in decimals; ratios are taken only at the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioInputs {
    pub customers: u64,
    pub open_invoices: u64,
    pub ar_total: Decimal,
    pub ar_current: Decimal,
    pub ar_disputed: Decimal,
    /// Cash on account up to the as-of date.
    #[serde(default)]
    pub unapplied_cash: Decimal,
    /// The unused part of the open credit notes.
    #[serde(default)]
    pub credit_notes: Decimal,
    /// Invoices issued in the `dso_days` before the as-of date, less the
    /// credit notes issued then.
    pub sales_dso_period: Decimal,
    /// Invoices issued in the CEI period, less the credit notes issued then.
    pub sales_cei_period: Decimal,
    /// AR at the start of the CEI period (net of the cash on account paid
    /// by then and of the credit notes issued by then and still open).
    pub cei_beginning_ar: Decimal,
    /// Invoices issued per countback month less the credit notes issued
    /// then, latest first.
    pub month_sales: Vec<Decimal>,
    /// Count and amount per aging bucket.
    pub aging: Vec<AgingBucket>,
}

impl PortfolioInputs {
    /// Sum the ingredients over the customers `keep` accepts (all of them
    /// for a whole-ledger run; a shard's customers for `run --shard`), all
    /// currencies added together. Only the simulation reads this mix (its
    /// per-currency figures are still to come); a run and `facts` give
    /// [`PortfolioInputs::collect_by_currency`].
    pub fn collect(ledger: &Ledger, ctx: &Context, keep: impl Fn(CustIx) -> bool + Sync) -> PortfolioInputs {
        let mut slots = Self::collect_slots(ledger, ctx, 1, |c| keep(c).then_some(0));
        slots.pop().unwrap_or_else(|| Self::collect_invoices(ledger, ctx, &|_| None, 0, &[], 0).remove(0))
    }

    /// Sum the ingredients per currency (the customer's, which is its
    /// invoices' too) over the customers `keep` accepts: never a total of
    /// different currencies. A currency with no customer kept is left out.
    pub fn collect_by_currency(
        ledger: &Ledger,
        ctx: &Context,
        keep: impl Fn(CustIx) -> bool + Sync,
    ) -> BTreeMap<String, PortfolioInputs> {
        let (codes, slot_of) = ledger.currency_slots();
        let slots = Self::collect_slots(ledger, ctx, codes.len(), |c| keep(c).then(|| slot_of[c as usize]));
        codes.into_iter().zip(slots).filter(|(_, p)| p.customers > 0).map(|(code, p)| (code.to_string(), p)).collect()
    }

    /// The ingredients of `slots` groups of customers: `slot` gives a
    /// customer's group, `None` leaves it out.
    fn collect_slots(
        ledger: &Ledger,
        ctx: &Context,
        slots: usize,
        slot: impl Fn(CustIx) -> Option<usize> + Sync,
    ) -> Vec<PortfolioInputs> {
        use rayon::prelude::*;
        let mut out = Self::collect_invoices(ledger, ctx, &slot, 0, &[], slots);
        for c in 0..ledger.customers.len() as CustIx {
            if let Some(k) = slot(c) {
                out[k].customers += 1;
            }
        }
        // Slices of invoices summed in parallel, then added in order: money
        // is summed in decimals, exactly, so the total is the same however
        // the invoices are split.
        let parts: Vec<Vec<PortfolioInputs>> = ledger
            .invoices
            .par_chunks(1 << 14)
            .enumerate()
            .map(|(k, chunk)| Self::collect_invoices(ledger, ctx, &slot, k << 14, chunk, slots))
            .collect();
        for part in &parts {
            for (p, q) in out.iter_mut().zip(part) {
                // Same settings for every part: `add` cannot refuse.
                let _ = p.add(q);
            }
        }
        Self::collect_credit(&mut out, ledger, ctx, &slot);
        out
    }

    /// Cash on account and credit notes (accounting practice: receivables
    /// are the customers' balances, net of both; credit notes reduce the
    /// credit sales of the period they are issued in).
    fn collect_credit(
        out: &mut [PortfolioInputs],
        ledger: &Ledger,
        ctx: &Context,
        slot: &impl Fn(CustIx) -> Option<usize>,
    ) {
        let as_of = ctx.as_of;
        let cfg = &ctx.config;
        let dso_from = as_of - chrono::Duration::days(cfg.dso_days);
        let cei_from = months_before(as_of, cfg.cei_months);
        let bounds: Vec<NaiveDate> = (0..=cfg.countback_months).map(|k| months_before(as_of, k)).collect();
        ledger.for_each_unapplied(|p| {
            if p.paid_on > as_of {
                return;
            }
            let Some(this) = slot(p.customer).and_then(|k| out.get_mut(k)) else { return };
            this.unapplied_cash += p.amount;
            if p.paid_on <= cei_from {
                this.cei_beginning_ar -= p.amount;
            }
        });
        for n in ledger.credit_notes.iter().filter(|n| n.issue_date <= as_of) {
            let Some(this) = slot(n.customer).and_then(|k| out.get_mut(k)) else { continue };
            if n.status == InvoiceStatus::WrittenOff {
                continue;
            }
            let open = n.open_on(as_of);
            this.credit_notes += open;
            if n.issue_date > dso_from {
                this.sales_dso_period -= n.amount;
            }
            if n.issue_date > cei_from {
                this.sales_cei_period -= n.amount;
            } else {
                this.cei_beginning_ar -= open;
            }
            if let Some(k) = bounds.windows(2).position(|w| n.issue_date <= w[0] && n.issue_date > w[1]) {
                this.month_sales[k] -= n.amount;
            }
        }
    }

    /// The ingredients of `invoices`, the ledger's invoices from row `first` on (no customers counted).
    fn collect_invoices(
        ledger: &Ledger,
        ctx: &Context,
        slot: &impl Fn(CustIx) -> Option<usize>,
        first: usize,
        invoices: &[crate::ledger::Invoice],
        slots: usize,
    ) -> Vec<PortfolioInputs> {
        let as_of = ctx.as_of;
        let cfg = &ctx.config;
        let aging: Vec<AgingBucket> = cfg
            .bucket_labels()
            .into_iter()
            .map(|bucket| AgingBucket { bucket, count: 0, amount: Decimal::ZERO })
            .collect();
        let dso_from = as_of - chrono::Duration::days(ctx.config.dso_days);
        let cei_from = months_before(as_of, cfg.cei_months);
        // Countback periods: rolling months ending at the as-of date, latest first.
        let bounds: Vec<NaiveDate> = (0..=cfg.countback_months).map(|k| months_before(as_of, k)).collect();
        let empty = PortfolioInputs {
            customers: 0,
            open_invoices: 0,
            ar_total: Decimal::ZERO,
            ar_current: Decimal::ZERO,
            ar_disputed: Decimal::ZERO,
            unapplied_cash: Decimal::ZERO,
            credit_notes: Decimal::ZERO,
            sales_dso_period: Decimal::ZERO,
            sales_cei_period: Decimal::ZERO,
            cei_beginning_ar: Decimal::ZERO,
            month_sales: vec![Decimal::ZERO; cfg.countback_months as usize],
            aging,
        };
        let mut out = vec![empty; slots.max(1)];
        for (i, inv) in invoices.iter().enumerate() {
            let i = first + i;
            if inv.issue_date > as_of {
                continue;
            }
            let Some(k) = slot(inv.customer) else { continue };
            let p = &mut out[k];
            if inv.issue_date > dso_from {
                p.sales_dso_period += inv.amount;
            }
            if inv.issue_date > cei_from {
                p.sales_cei_period += inv.amount;
            }
            if let Some(k) = bounds.windows(2).position(|w| inv.issue_date <= w[0] && inv.issue_date > w[1]) {
                p.month_sales[k] += inv.amount;
            }
            if inv.status == InvoiceStatus::WrittenOff {
                continue;
            }
            if inv.issue_date <= cei_from {
                // AR at the start of the CEI period: what is open now plus what
                // was paid on it since.
                let paid_since: Decimal = ledger
                    .payments_by_invoice
                    .rows(i as u32)
                    .iter()
                    .map(|&p| &ledger.payments[p as usize])
                    .filter(|p| p.paid_on > cei_from && p.paid_on <= as_of)
                    .map(|p| p.amount)
                    .sum();
                p.cei_beginning_ar += inv.open_amount + paid_since;
            }
            if inv.is_open() {
                p.open_invoices += 1;
                let dpd = (as_of - inv.due_date).num_days() as i32;
                p.ar_total += inv.open_amount;
                if dpd <= 0 {
                    p.ar_current += inv.open_amount;
                }
                if inv.is_disputed() {
                    p.ar_disputed += inv.open_amount;
                }
                let b = &mut p.aging[cfg.bucket(dpd)];
                b.count += 1;
                b.amount += inv.open_amount;
            }
        }
        out
    }

    /// Add another part's ingredients (same as-of date and configuration).
    pub fn add(&mut self, o: &PortfolioInputs) -> Result<(), String> {
        if self.month_sales.len() != o.month_sales.len() || self.aging.len() != o.aging.len() {
            return Err(
                "the parts were computed with different KPI settings (countback months or aging buckets)".into()
            );
        }
        if self.aging.iter().zip(&o.aging).any(|(a, b)| a.bucket != b.bucket) {
            return Err("the parts were computed with different aging buckets".into());
        }
        self.customers += o.customers;
        self.open_invoices += o.open_invoices;
        self.ar_total += o.ar_total;
        self.ar_current += o.ar_current;
        self.ar_disputed += o.ar_disputed;
        self.unapplied_cash += o.unapplied_cash;
        self.credit_notes += o.credit_notes;
        self.sales_dso_period += o.sales_dso_period;
        self.sales_cei_period += o.sales_cei_period;
        self.cei_beginning_ar += o.cei_beginning_ar;
        for (a, b) in self.month_sales.iter_mut().zip(&o.month_sales) {
            *a += *b;
        }
        for (a, b) in self.aging.iter_mut().zip(&o.aging) {
            a.count += b.count;
            a.amount += b.amount;
        }
        Ok(())
    }

    /// The KPIs these ingredients give, as of the context's date.
    pub fn finish(&self, ctx: &Context) -> Portfolio {
        let as_of = ctx.as_of;
        let cfg = &ctx.config;
        let cei_from = months_before(as_of, cfg.cei_months);
        let bounds: Vec<NaiveDate> = (0..=cfg.countback_months).map(|k| months_before(as_of, k)).collect();
        let periods: Vec<Period> = self
            .month_sales
            .iter()
            .zip(bounds.windows(2))
            .map(|(&sales, w)| Period { sales, days: (w[0] - w[1]).num_days() })
            .collect();
        let (ar, current) = (self.ar_total, self.ar_current);
        // The balance the DSO and CEI read: net of cash on account and credit
        // notes (not below 0). The current AR stays gross: a customer's credit
        // is applied to its overdue invoices first.
        let net = ar - self.unapplied_cash - self.credit_notes;
        let dso = dso_standard(net.max(Decimal::ZERO), self.sales_dso_period, cfg.dso_days);
        let best = dso_standard(current, self.sales_dso_period, cfg.dso_days);
        Portfolio {
            as_of,
            customers: self.customers,
            open_invoices: self.open_invoices,
            ar_total: ar,
            unapplied_cash: self.unapplied_cash,
            credit_notes: self.credit_notes,
            ar_net: net,
            ar_current: current,
            ar_overdue: ar - current,
            ar_disputed: self.ar_disputed,
            sales_dso_period: self.sales_dso_period,
            dso_days: cfg.dso_days,
            dso: dso.map(round2),
            dso_countback: dso_countback(net.max(Decimal::ZERO), &periods).map(round2),
            best_possible_dso: best.map(round2),
            average_days_delinquent: dso.zip(best).map(|(d, b)| round2(d - b)),
            cei_from,
            cei: cei(self.cei_beginning_ar, self.sales_cei_period, cfg.cei_months, net, current).map(round2),
            aging: self.aging.clone(),
        }
    }
}

/// Compute the portfolio KPIs of `ledger` as of the context's date, all
/// currencies added together: only the simulation still reads this mix
/// (its per-currency figures are still to come); see [`by_currency`].
pub fn portfolio(ledger: &Ledger, ctx: &Context) -> Portfolio {
    PortfolioInputs::collect(ledger, ctx, |_| true).finish(ctx)
}

/// The portfolio KPIs of `ledger` as of the context's date, one set per
/// currency (by ISO code, in code order).
pub fn by_currency(ledger: &Ledger, ctx: &Context) -> BTreeMap<String, Portfolio> {
    finish_all(&PortfolioInputs::collect_by_currency(ledger, ctx, |_| true), ctx)
}

/// The KPIs of each currency's ingredients.
pub fn finish_all(inputs: &BTreeMap<String, PortfolioInputs>, ctx: &Context) -> BTreeMap<String, Portfolio> {
    inputs.iter().map(|(c, p)| (c.clone(), p.finish(ctx))).collect()
}

/// Add the per-currency ingredients of another part (`recoup merge`):
/// currencies are matched by code, never added across.
pub fn add_by_currency(
    into: &mut BTreeMap<String, PortfolioInputs>,
    part: &BTreeMap<String, PortfolioInputs>,
) -> Result<(), String> {
    for (code, p) in part {
        match into.get_mut(code) {
            Some(q) => q.add(p)?,
            None => {
                into.insert(code.clone(), p.clone());
            }
        }
    }
    Ok(())
}

/// Round a KPI to two decimals for stable, readable output.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: i64) -> Decimal {
        Decimal::from(v)
    }

    #[test]
    fn countback_worked_example() {
        // AR 212,000; sales 100,000 / 80,000 / 70,000, latest first:
        // 30 + 30 + (32/70) x 30 = 73.71 days.
        let p = |s| Period { sales: d(s), days: 30 };
        let got = dso_countback(d(212_000), &[p(100_000), p(80_000), p(70_000)]).unwrap();
        assert_eq!(round2(got), 73.71);
    }

    #[test]
    fn countback_stops_inside_first_period() {
        let got = dso_countback(d(50_000), &[Period { sales: d(100_000), days: 31 }]).unwrap();
        assert_eq!(got, 15.5);
    }

    #[test]
    fn cei_worked_example() {
        // Beginning AR 6,200, credit sales 10,890 over 3 months (3,630 a month),
        // ending total 6,340, ending current 3,590:
        // (6,200 + 3,630 − 6,340) / (6,200 + 3,630 − 3,590) = 3,490 / 6,240 = 55.9 %.
        let got = cei(d(6_200), d(10_890), 3, d(6_340), d(3_590)).unwrap();
        assert_eq!((got * 10.0).round() / 10.0, 55.9);
    }

    #[test]
    fn standard_dso_and_add() {
        // AR 150,000 on 90 days of 450,000 sales: 30 days; current 90,000: 18 days; ADD 12.
        let dso = dso_standard(d(150_000), d(450_000), 90).unwrap();
        let best = dso_standard(d(90_000), d(450_000), 90).unwrap();
        assert_eq!((round2(dso), round2(best), round2(dso - best)), (30.0, 18.0, 12.0));
        assert_eq!(dso_standard(d(1), Decimal::ZERO, 90), None);
    }
}
