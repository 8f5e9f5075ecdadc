//! Payment and buying behaviour learned from the ledger's own history, for
//! the forward projection.
//!
//! Payment timing is not one distribution: invoices are paid early, on time
//! or late with a long tail. Each settled invoice of the last months gives
//! its days late (settlement date − due date) and falls in one part: early
//! (more than [`Learn::on_time_days`] before the due date), on time (within
//! that many days of it) or late. Per customer, the probability of each part
//! is shrunk toward its segment: `(count + k · segment share) / (n + k)` with
//! `k` = [`Learn::prior_weight`]; the days within a part are drawn from the
//! customer's own values when it has at least [`Learn::min_own`] of them,
//! else from its segment's (else from the whole ledger's).
//!
//! An invoice already `dpd` days past due is drawn conditioned on being
//! paid no earlier than today; when neither the customer nor its segment has
//! ever paid that late, the invoice has *stalled*: it pays with the monthly
//! Paid rate of its aging bucket from the roll-rate model, as a daily hazard
//! — a customer that stopped paying stays a risk.
//!
//! New invoices arrive at the customer's historical daily rate (invoices
//! issued in the window ÷ days) with amounts drawn from its own invoices.
//!
//! What was learned is itself uncertain: with `[learn] bootstrap` each run
//! draws every customer's parameters from their posterior — a shift of its
//! days late, its sales rate — so bands widen where history is thin
//! ([`Behaviour::draw_run`]). With `[learn] calendar`, a weekday and
//! month-end pattern of the payment dates, when the ledger shows one, places
//! each projected payment near the day drawn ([`Calendar`]).

use super::SimError;
use super::draw::{Draws, Key, Purpose};
use crate::ledger::{CustIx, Ledger};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings of what is learned (the `[learn]` table of a scenario file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Learn {
    /// Months of history before the as-of date.
    pub months: u32,
    /// Within this many days of the due date counts as on time.
    pub on_time_days: i32,
    /// Weight of the segment in a customer's part probabilities (pseudo-invoices).
    pub prior_weight: f64,
    /// Own values needed in a part before the customer's own days are used.
    pub min_own: usize,
    /// Count the invoices still open on the as-of date as censored
    /// observations (Kaplan–Meier): an overdue invoice stalls with the
    /// chance that an invoice this late is never paid within the history's
    /// range, so a customer whose invoices sit unpaid is not taken to pay
    /// as its settled invoices did (docs/simulation.md, Back-test).
    pub censoring: bool,
    /// Each invoice settled within `recent_days` before the as-of date
    /// counts this many times in its customer's (and segment's) payment
    /// behaviour: recent habits weigh more than old ones (a customer paying
    /// later and later, a quarter that pays differently). 1: every settled
    /// invoice of the window counts once (the default).
    #[serde(skip_serializing_if = "is_one")]
    pub recent_weight: u32,
    /// The days before the as-of date whose settlements `recent_weight` counts more.
    #[serde(skip_serializing_if = "is_91")]
    pub recent_days: i64,
    /// Customers that stopped paying: a customer that owes overdue money and
    /// has paid nothing since it fell due (its silence) has stopped paying
    /// for a run with the chance [`stop_chance`] gives (the longer the
    /// silence against its own settled delays, the likelier), and then pays
    /// nothing more in that run (docs/simulation.md, Back-test).
    pub silence: bool,
    /// With `silence`: the prior share of customers that stop paying (π).
    pub stop_prior: f64,
    /// The uncertainty of the learned behaviour itself: each run draws every
    /// customer's parameters — a shift of its days late from the posterior
    /// of its mean delay (wide when its history is thin) and its sales rate
    /// from the posterior of its invoice count — so that bands widen where
    /// history is thin ([`Behaviour::draw_run`]).
    pub bootstrap: bool,
    /// The weekday and month-end pattern of payments: when the ledger's
    /// payment dates show one (a chi-square test against the calendar, at
    /// 0.1 %), a projected payment lands on a day near the one drawn in
    /// proportion to how often payments fall on such a day ([`Calendar`]).
    pub calendar: bool,
}

fn is_one(x: &u32) -> bool {
    *x == 1
}

fn is_91(x: &i64) -> bool {
    *x == 91
}

impl Default for Learn {
    fn default() -> Self {
        Learn {
            months: 12,
            on_time_days: 2,
            prior_weight: 5.0,
            min_own: 3,
            censoring: false,
            recent_weight: 1,
            recent_days: 91,
            silence: true,
            stop_prior: 0.05,
            bootstrap: true,
            calendar: true,
        }
    }
}

/// Early, on time, late: the days-late values of each part (sorted once learned).
#[derive(Debug, Clone, Default)]
struct Parts {
    days: [Vec<i32>; 3],
}

impl Parts {
    fn add(&mut self, late: i32, on_time: i32) {
        let part = if late < -on_time {
            0
        } else if late <= on_time {
            1
        } else {
            2
        };
        self.days[part].push(late);
    }
    fn n(&self) -> usize {
        self.days.iter().map(Vec::len).sum()
    }
    fn shares(&self) -> [f64; 3] {
        let n = self.n();
        if n == 0 {
            return [0.0, 1.0, 0.0];
        }
        self.days.each_ref().map(|d| d.len() as f64 / n as f64)
    }
}

/// One customer's learned behaviour.
#[derive(Debug, Clone)]
pub struct Payer {
    /// Shrunk probabilities of early, on time, late.
    pub shares: [f64; 3],
    own: Parts,
    segment: usize,
    /// Invoices per day in the window.
    pub daily_rate: f64,
    /// Amounts of its invoices in the window (drawn from for new invoices).
    pub amounts: Vec<Decimal>,
    /// Settled invoices it learned from.
    pub settled: usize,
    /// Its own settled and still-open invoices as a survival curve (with
    /// `learn.censoring`, when it has at least `learn.min_own` of them).
    km: Option<Km>,
    /// The chance that it has stopped paying (`learn.silence`): 0 unless it
    /// owes overdue money and paid nothing since it fell due.
    pub stopped: f64,
    /// With `learn.bootstrap`: the posterior standard deviation of its mean
    /// days late (days), [`shift_sd`].
    pub shift_sd: f64,
}

/// A Kaplan–Meier survival curve of days late: settled invoices are
/// events at their days late, invoices open on the as-of date are censored
/// at their days past due. `tail[j]` is ln P(not paid by any settled value
/// ≥ `vals[j]` | not paid before `vals[j]`), so the chance that an invoice
/// now at least `f` days late is never paid within the history's range is
/// one lookup.
#[derive(Debug, Clone, Default)]
pub struct Km {
    vals: Vec<i32>,
    tail: Vec<f64>,
}

impl Km {
    /// From sorted settled values and sorted censored values.
    pub fn new(settled: &[i32], censored: &[i32]) -> Km {
        let mut vals = Vec::new();
        let mut logs = Vec::new();
        let mut i = 0;
        while i < settled.len() {
            let v = settled[i];
            let d = settled[i..].partition_point(|&x| x == v);
            let at_risk = (settled.len() - i) + (censored.len() - censored.partition_point(|&c| c < v));
            vals.push(v);
            logs.push((1.0 - d as f64 / at_risk as f64).ln());
            i += d;
        }
        let mut tail = vec![0.0; logs.len()];
        let mut acc = 0.0;
        for j in (0..logs.len()).rev() {
            acc += logs[j];
            tail[j] = acc;
        }
        Km { vals, tail }
    }

    /// The chance that an invoice not paid before `floor` days late is
    /// never paid at a settled value (1 when none is that late).
    pub fn stall(&self, floor: i32) -> f64 {
        let j = self.vals.partition_point(|&v| v < floor);
        self.tail.get(j).map_or(1.0, |l| l.exp())
    }
}

/// Behaviour of every customer, with the segment and ledger pools behind it.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub payers: Vec<Payer>,
    /// Segment pools, then the whole ledger's pool last.
    pools: Vec<Parts>,
    pub segments: Vec<String>,
    learn: Learn,
    /// Per segment, with `learn.censoring`: its survival curve.
    seg_km: Vec<Km>,
    /// With `learn.calendar`, when the payment dates show a pattern.
    pub calendar: Option<Calendar>,
}

/// One run's draw of every customer's behaviour parameters
/// (`learn.bootstrap`; both empty when off): [`Behaviour::draw_run`].
#[derive(Debug, Clone, Default)]
pub struct RunParams {
    /// Per customer: the whole days its payments are later (or earlier,
    /// negative) in this run than the learned timing says.
    pub shift: Vec<i32>,
    /// Per customer: its daily rate of new invoices in this run (none when
    /// it has no amounts to draw from).
    pub sale_rate: Vec<Option<f64>>,
}

impl Behaviour {
    /// Learn from the settled invoices and the sales of the `learn.months`
    /// before `as_of`.
    pub fn learn(ledger: &Ledger, as_of: NaiveDate, learn: &Learn) -> Self {
        // The window starts where the ledger's history does when that is
        // later: a ledger (or a back-test's truncated one) with 9 months of
        // history divided by 12 months' days would under-state every
        // customer's sales rate by a quarter (docs/simulation.md, Back-test).
        let first = ledger.invoices.iter().map(|i| i.issue_date).min();
        let from = history_start(crate::facts::months_before(as_of, learn.months), first);
        let window = (as_of - from).num_days().max(1) as f64;
        let recent = learn.recent_days.max(0);
        let mut seg_ix: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &ledger.customers {
            let n = seg_ix.len();
            seg_ix.entry(c.segment.as_str()).or_insert(n);
        }
        let segments: Vec<String> = {
            let mut v = vec![String::new(); seg_ix.len()];
            for (s, &i) in &seg_ix {
                v[i] = s.to_string();
            }
            v
        };
        let mut pools = vec![Parts::default(); segments.len() + 1];
        let mut censored: Vec<Vec<i32>> = vec![Vec::new(); segments.len()];
        let mut own_open: Vec<Vec<i32>> = Vec::with_capacity(ledger.customers.len());
        let mut own = Vec::with_capacity(ledger.customers.len());
        let mut payers = Vec::with_capacity(ledger.customers.len());
        // Each customer's settled delays, once each (for the bootstrap).
        let mut moments: Vec<Moments> = Vec::with_capacity(ledger.customers.len());
        for (c, cust) in ledger.customers.iter().enumerate() {
            let segment = seg_ix.get(cust.segment.as_str()).copied().unwrap_or(0);
            let mut parts = Parts::default();
            let mut amounts = Vec::new();
            let mut open = Vec::new();
            let mut m = Moments::default();
            for &i in ledger.invoices_by_customer.rows(c as CustIx) {
                let inv = &ledger.invoices[i as usize];
                if learn.censoring && inv.is_open() {
                    let dpd = (as_of - inv.due_date).num_days() as i32;
                    open.push(dpd);
                    censored[segment].push(dpd);
                }
                if inv.issue_date > from && inv.issue_date <= as_of {
                    amounts.push(inv.amount);
                }
                let settled = crate::facts::settled_on(ledger, i, as_of);
                if let Some(s) = settled.filter(|&s| s > from) {
                    let late = (s - inv.due_date).num_days() as i32;
                    m.add(f64::from(late));
                    let times = if (as_of - s).num_days() < recent { learn.recent_weight.max(1) } else { 1 };
                    for _ in 0..times {
                        parts.add(late, learn.on_time_days);
                        pools[segment].add(late, learn.on_time_days);
                        if let Some(all) = pools.last_mut() {
                            all.add(late, learn.on_time_days);
                        }
                    }
                }
            }
            payers.push(Payer {
                shares: [0.0; 3],
                own: Parts::default(),
                segment,
                daily_rate: (amounts.len() as f64 / window).min(1.0),
                amounts,
                settled: parts.n(),
                km: None,
                stopped: 0.0,
                shift_sd: 0.0,
            });
            moments.push(m);
            own.push(parts);
            own_open.push(open);
        }
        // Sorted, so a draw conditioned on "at least this late" is a suffix
        // found by binary search (not a scan of a segment's whole pool).
        for parts in pools.iter_mut().chain(own.iter_mut()) {
            parts.days.iter_mut().for_each(|d| d.sort_unstable());
        }
        let mut seg_km = Vec::new();
        if learn.censoring {
            let all = |p: &Parts| {
                let mut v: Vec<i32> = p.days.iter().flatten().copied().collect();
                v.sort_unstable();
                v
            };
            for ((p, open), parts) in payers.iter_mut().zip(&mut own_open).zip(&own) {
                open.sort_unstable();
                if parts.n() + open.len() >= learn.min_own.max(1) {
                    p.km = Some(Km::new(&all(parts), open));
                }
            }
            seg_km = censored
                .iter_mut()
                .zip(&pools)
                .map(|(c, p)| {
                    c.sort_unstable();
                    Km::new(&all(p), c)
                })
                .collect();
        }
        for (p, parts) in payers.iter_mut().zip(own) {
            let seg = &pools[p.segment];
            let prior = if seg.n() > 0 { seg.shares() } else { pools.last().map_or([0.0, 1.0, 0.0], Parts::shares) };
            let n = parts.n() as f64;
            let k = learn.prior_weight.max(0.0);
            p.shares = [0, 1, 2].map(|j| {
                let own = parts.days[j].len() as f64;
                if n + k > 0.0 { (own + k * prior[j]) / (n + k) } else { prior[j] }
            });
            p.own = parts;
        }
        if learn.silence && learn.stop_prior > 0.0 {
            // Every settled delay of a customer, and of each segment, sorted.
            let all = |p: &Parts| {
                let mut v: Vec<i32> = p.days.iter().flatten().copied().collect();
                v.sort_unstable();
                v
            };
            let seg: Vec<Vec<i32>> = pools.iter().map(all).collect();
            for (p, s) in payers.iter_mut().zip(silences(ledger, as_of)) {
                if s > 0 {
                    let segment = seg.get(p.segment).filter(|v| !v.is_empty()).or(seg.last());
                    let own = all(&p.own);
                    p.stopped = stop_chance(
                        s,
                        learn.stop_prior,
                        &own,
                        segment.map_or(&[][..], |v| &v[..]),
                        learn.prior_weight.max(0.0),
                    );
                }
            }
        }
        if learn.bootstrap {
            let sd = shift_sds(&moments, &payers.iter().map(|p| p.segment).collect::<Vec<_>>(), segments.len());
            for (p, sd) in payers.iter_mut().zip(sd) {
                p.shift_sd = sd;
            }
        }
        let calendar = if learn.calendar { Calendar::learn(ledger, from, as_of) } else { None };
        Behaviour { payers, pools, segments, learn: learn.clone(), seg_km, calendar }
    }

    /// Run `key`'s draw of every customer's behaviour parameters, with
    /// `learn.bootstrap` (empty otherwise): one keyed draw per customer and
    /// run, the same under every policy (common random numbers).
    /// - its days late move by a shift drawn from the posterior of its mean
    ///   delay, normal with [`Payer::shift_sd`], rounded to whole days;
    /// - its sales rate is drawn from the posterior of its rate given the
    ///   `k` invoices it issued in the window: mean the learned rate,
    ///   coefficient of variation `1/√k` (a gamma's, as a log-normal with
    ///   the same mean and variance).
    pub fn draw_run(&self, key: Key) -> RunParams {
        if !self.learn.bootstrap {
            return RunParams::default();
        }
        let key = key.purpose(Purpose::Bootstrap);
        let (shift, sale_rate) = self
            .payers
            .iter()
            .enumerate()
            .map(|(c, p)| {
                let mut d = key.with(c as u64).draws();
                let (z1, z2) = normal_pair(&mut d);
                let shift = (p.shift_sd * z1).round().clamp(-365.0, 365.0) as i32;
                let rate = (!p.amounts.is_empty()).then(|| {
                    let s2 = (1.0 + 1.0 / p.amounts.len() as f64).ln();
                    (p.daily_rate * (s2.sqrt() * z2 - s2 / 2.0).exp()).min(1.0)
                });
                (shift, rate)
            })
            .unzip();
        RunParams { shift, sale_rate }
    }

    /// With `learn.censoring`: the chance that customer `c`'s invoice not
    /// paid before `floor` days late never pays at a settled value — from
    /// its own curve, else its segment's (0 without censoring).
    pub fn stall_chance(&self, c: usize, floor: i32) -> f64 {
        if !self.learn.censoring {
            return 0.0;
        }
        let Some(p) = self.payers.get(c) else { return 0.0 };
        match (&p.km, self.seg_km.get(p.segment)) {
            (Some(k), _) | (None, Some(k)) => k.stall(floor),
            (None, None) => 0.0,
        }
    }

    /// The days-late values of part `j` for customer `c`: its own if it has
    /// enough, else its segment's, else the ledger's.
    fn pool(&self, c: usize, j: usize) -> &[i32] {
        let Some(p) = self.payers.get(c) else { return &[] };
        if p.own.days[j].len() >= self.learn.min_own {
            return &p.own.days[j];
        }
        match self.pools.get(p.segment) {
            Some(s) if !s.days[j].is_empty() => &s.days[j],
            _ => self.pools.last().map_or(&[][..], |a| &a.days[j]),
        }
    }

    /// Draw the days late of an invoice of customer `c` that is `dpd` days
    /// past due today and unpaid: a value ≥ `dpd + 1` (paid tomorrow at the
    /// earliest). `None` when the history has no one paying that late (the
    /// invoice has stalled).
    pub fn draw_days_late(&self, c: usize, dpd: i32, draws: &mut Draws) -> Option<i32> {
        let p = self.payers.get(c)?;
        let floor = dpd + 1;
        // Censoring: one more draw, only when it is on (the draws stay as
        // they were without it).
        if self.learn.censoring && draws.f64() < self.stall_chance(c, floor) {
            return None;
        }
        // Condition on the future: the parts' weights over values ≥ floor.
        let mut weights = [0.0; 3];
        for (j, w) in weights.iter_mut().enumerate() {
            let pool = self.pool(c, j);
            if !pool.is_empty() {
                let ok = pool.len() - pool.partition_point(|&d| d < floor);
                *w = p.shares[j] * ok as f64 / pool.len() as f64;
            }
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return None;
        }
        let mut u = draws.f64() * total;
        let mut part = 2;
        for (j, w) in weights.iter().enumerate() {
            if u < *w {
                part = j;
                break;
            }
            u -= w;
        }
        let pool = self.pool(c, part);
        let ok = &pool[pool.partition_point(|&d| d < floor)..];
        if ok.is_empty() {
            return None;
        }
        Some(ok[draws.below(ok.len())])
    }

    /// [`Behaviour::draw_days_late`] for a customer whose days late move by
    /// `shift` in this run: drawn conditioned on `late + shift ≥ dpd + 1`,
    /// then moved.
    pub fn draw_days_late_shifted(&self, c: usize, dpd: i32, shift: i32, draws: &mut Draws) -> Option<i32> {
        self.draw_days_late(c, dpd.saturating_sub(shift), draws).map(|late| late.saturating_add(shift))
    }

    /// Check that there is something to learn from.
    pub fn check(&self) -> Result<(), SimError> {
        if self.pools.last().is_some_and(|a| a.n() > 0) { Ok(()) } else { Err(SimError::NoHistory) }
    }
}

/// Count, mean and sum of squared deviations of a customer's settled
/// delays (Welford's running form).
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.n += 1.0;
        let d = x - self.mean;
        self.mean += d / self.n;
        self.m2 += d * (x - self.mean);
    }
}

/// Each customer's posterior standard deviation of its mean days late,
/// from a normal hierarchy per segment: a customer's delays scatter around
/// its own mean with the segment's within-customer variance `σ²` (pooled
/// over its customers with two settlements or more), and the customers'
/// means scatter around the segment's with the between-customer variance
/// `τ²` (the variance of its customers' means less the part `σ²/n` their
/// sampling explains, at least 0). Given `n` settlements the mean is known
/// to `1 / √(n/σ² + 1/τ²)`: `τ` for a customer with no history, about
/// `σ/√n` for one with a long one; 0 where the customers do not differ.
/// A segment with too few customers to tell takes the whole ledger's figures.
fn shift_sds(moments: &[Moments], segment: &[usize], segments: usize) -> Vec<f64> {
    // Per segment, then the whole ledger last.
    let variances = |of: &dyn Fn(usize) -> bool| -> Option<(f64, f64)> {
        let (mut m2, mut dof) = (0.0, 0.0);
        let mut means = Vec::new();
        for m in moments.iter().enumerate().filter(|(c, _)| of(*c)).map(|(_, m)| m) {
            if m.n >= 2.0 {
                m2 += m.m2;
                dof += m.n - 1.0;
            }
            if m.n >= 1.0 {
                means.push((m.mean, m.n));
            }
        }
        if dof < 1.0 || means.len() < 3 {
            return None;
        }
        let sigma2 = m2 / dof;
        let k = means.len() as f64;
        let grand = means.iter().map(|(x, _)| x).sum::<f64>() / k;
        let spread = means.iter().map(|(x, _)| (x - grand).powi(2)).sum::<f64>() / (k - 1.0);
        let sampling = means.iter().map(|(_, n)| sigma2 / n).sum::<f64>() / k;
        Some((sigma2, (spread - sampling).max(0.0)))
    };
    let all = variances(&|_| true).unwrap_or((0.0, 0.0));
    let per: Vec<(f64, f64)> = (0..segments).map(|s| variances(&|c| segment[c] == s).unwrap_or(all)).collect();
    moments
        .iter()
        .zip(segment)
        .map(|(m, &s)| {
            let (sigma2, tau2) = per.get(s).copied().unwrap_or(all);
            posterior_sd(m.n, sigma2, tau2)
        })
        .collect()
}

/// `1 / √(n/σ² + 1/τ²)`: 0 when `τ²` is 0 (no customer differs), `τ`
/// with no observation.
fn posterior_sd(n: f64, sigma2: f64, tau2: f64) -> f64 {
    if tau2 <= 0.0 {
        return 0.0;
    }
    let precision = if sigma2 > 0.0 {
        n / sigma2
    } else if n > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    1.0 / (precision + 1.0 / tau2).sqrt()
}

/// Two independent standard normals from two of `d`'s uniforms (Box–Muller).
fn normal_pair(d: &mut Draws) -> (f64, f64) {
    let (u1, u2) = (d.f64().max(f64::MIN_POSITIVE), d.f64());
    let r = (-2.0 * u1.ln()).sqrt();
    let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
    (r * cos, r * sin)
}

/// The weekday and month-end pattern of the ledger's payment dates, as
/// weights of a day: how much more (or less) often than the calendar alone
/// would give a payment falls on that weekday, and on each of the last
/// [`MONTH_END_DAYS`] days of a month. A projected payment drawn for day `d`
/// lands on a day `t` of `d − 3 ..= d + 3` with chance proportional to
/// `t`'s weight ([`Calendar::place`]): a payment drawn for a Saturday in a
/// book that pays on weekdays moves to the Friday or the Monday near it; one
/// drawn for the 28th in a book that pays at month end moves toward the 30th.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// Monday first; observed ÷ expected share (1 without a pattern).
    pub weekday: [f64; 7],
    /// The last day of a month first, then the one before, ...; the rest
    /// of the month last (observed ÷ expected given the weekday weights).
    pub month_end: [f64; MONTH_END_DAYS + 1],
}

/// The days at a month's end [`Calendar`] weighs on their own.
pub const MONTH_END_DAYS: usize = 5;

/// Chi-square at 0.1 % with 6 and 5 degrees of freedom: a pattern this
/// strong or stronger arises by chance once in a thousand calendars.
const CHI2_6: f64 = 22.458;
const CHI2_5: f64 = 20.515;

/// Days from `d` to the last day of its month (0 on that day), at most
/// [`MONTH_END_DAYS`] (the rest of the month).
fn month_end_slot(d: NaiveDate) -> usize {
    let next = d.checked_add_months(chrono::Months::new(1)).and_then(|n| n.with_day(1));
    let to_end = next.map_or(0, |n| (n - d).num_days() - 1);
    usize::try_from(to_end).unwrap_or(0).min(MONTH_END_DAYS)
}

impl Calendar {
    /// From the payments dated in `(from, as_of]`; none when neither the
    /// weekday nor the month-end counts differ from the calendar's by more
    /// than chance would (chi-square at 0.1 %). A part that does not is
    /// flat (weights 1).
    pub fn learn(ledger: &Ledger, from: NaiveDate, as_of: NaiveDate) -> Option<Calendar> {
        let mut wd = [0.0f64; 7];
        let mut me = [0.0f64; MONTH_END_DAYS + 1];
        let mut days_wd = [0.0f64; 7];
        let mut n = 0.0;
        for p in ledger.payments.iter().filter(|p| p.paid_on > from && p.paid_on <= as_of) {
            wd[p.paid_on.weekday().num_days_from_monday() as usize] += 1.0;
            me[month_end_slot(p.paid_on)] += 1.0;
            n += 1.0;
        }
        let days: Vec<NaiveDate> = from.iter_days().skip(1).take_while(|&d| d <= as_of).collect();
        if n < 1.0 || days.is_empty() {
            return None;
        }
        for d in &days {
            days_wd[d.weekday().num_days_from_monday() as usize] += 1.0;
        }
        let total_days = days.len() as f64;
        let chi2 = |obs: &[f64], exp: &[f64]| -> f64 {
            obs.iter().zip(exp).filter(|(_, e)| **e > 0.0).map(|(o, e)| (o - e).powi(2) / e).sum()
        };
        let exp_wd: Vec<f64> = days_wd.iter().map(|k| n * k / total_days).collect();
        let weekday_on = chi2(&wd, &exp_wd) > CHI2_6;
        let mut weekday = [1.0; 7];
        if weekday_on {
            for k in 0..7 {
                weekday[k] = if exp_wd[k] > 0.0 { wd[k] / exp_wd[k] } else { 1.0 };
            }
        }
        // Expected month-end counts given the weekday weights.
        let mut exp_me = [0.0f64; MONTH_END_DAYS + 1];
        let mut mass = 0.0;
        for d in &days {
            let w = weekday[d.weekday().num_days_from_monday() as usize];
            exp_me[month_end_slot(*d)] += w;
            mass += w;
        }
        if mass <= 0.0 {
            return None;
        }
        exp_me.iter_mut().for_each(|e| *e *= n / mass);
        let month_end_on = chi2(&me, &exp_me) > CHI2_5;
        let mut month_end = [1.0; MONTH_END_DAYS + 1];
        if month_end_on {
            for k in 0..=MONTH_END_DAYS {
                month_end[k] = if exp_me[k] > 0.0 { me[k] / exp_me[k] } else { 1.0 };
            }
        }
        (weekday_on || month_end_on).then_some(Calendar { weekday, month_end })
    }

    /// A day's weight.
    pub fn weight(&self, d: NaiveDate) -> f64 {
        self.weekday[d.weekday().num_days_from_monday() as usize] * self.month_end[month_end_slot(d)]
    }

    /// Where a payment drawn for `day` lands: a day of `day − 3 ..= day + 3`
    /// not before `earliest`, with chance proportional to its weight, chosen
    /// by the uniform `u`; `day` itself when no such day has weight.
    pub fn place(&self, day: NaiveDate, earliest: NaiveDate, u: f64) -> NaiveDate {
        let mut near = [(day, 0.0); 7];
        let mut total = 0.0;
        for (k, slot) in near.iter_mut().enumerate() {
            let t = day + chrono::Duration::days(k as i64 - 3);
            let w = if t < earliest { 0.0 } else { self.weight(t) };
            *slot = (t, w);
            total += w;
        }
        if total <= 0.0 {
            return day;
        }
        let mut x = u * total;
        for &(t, w) in &near {
            if x < w {
                return t;
            }
            x -= w;
        }
        near.iter().rev().find(|(_, w)| *w > 0.0).map_or(day, |&(t, _)| t)
    }
}

/// A customer's silence on `t`: the days since it last paid anything or
/// since its oldest invoice open and overdue on `t` fell due, whichever is
/// later; 0 when nothing is open and overdue (it owes nothing it should have paid).
/// `pays`: its payment dates, sorted; `invoices`: (issue, due, settled).
fn silence_on(t: NaiveDate, pays: &[NaiveDate], invoices: &[(NaiveDate, NaiveDate, Option<NaiveDate>)]) -> i64 {
    let oldest = invoices
        .iter()
        .filter(|&&(issue, due, settled)| issue <= t && due < t && settled.is_none_or(|s| s > t))
        .map(|&(_, due, _)| due)
        .min();
    let Some(oldest) = oldest else { return 0 };
    let last = pays[..pays.partition_point(|&d| d <= t)].last().copied();
    (t - last.map_or(oldest, |l| l.max(oldest))).num_days()
}

/// Each customer's silence on `as_of` (days), from `ledger` as known then.
pub fn silences(ledger: &Ledger, as_of: NaiveDate) -> Vec<i64> {
    let mut pays: Vec<NaiveDate> = Vec::new();
    let mut invoices = Vec::new();
    (0..ledger.customers.len())
        .map(|c| {
            pays.clear();
            let rows = ledger.payments_by_customer.rows(c as CustIx).iter();
            pays.extend(rows.map(|&p| ledger.payments[p as usize].paid_on).filter(|&d| d <= as_of));
            pays.sort_unstable();
            invoices.clear();
            invoices.extend(ledger.invoices_by_customer.rows(c as CustIx).iter().map(|&i| {
                let inv = &ledger.invoices[i as usize];
                (inv.issue_date, inv.due_date, crate::facts::settled_on(ledger, i, as_of))
            }));
            silence_on(as_of, &pays, &invoices)
        })
        .collect()
}

/// The chance that a customer silent for `silence` days has stopped paying:
/// `π / (π + (1 − π) · S)` with `π` the prior share of customers that stop
/// and `S` the chance that a customer still paying is this late: the share
/// of its settled delays (days late) at least `silence`, shrunk toward its
/// segment's share with `k` pseudo-invoices, `(own + k · segment) / (n + k)`.
/// 0 without a silence.
pub fn stop_chance(silence: i64, prior: f64, own: &[i32], segment: &[i32], k: f64) -> f64 {
    if silence <= 0 || prior <= 0.0 {
        return 0.0;
    }
    let at_least = |v: &[i32]| (v.len() - v.partition_point(|&d| i64::from(d) < silence)) as f64;
    let seg = if segment.is_empty() { 0.0 } else { at_least(segment) / segment.len() as f64 };
    let n = own.len() as f64;
    let still = if n + k > 0.0 { (at_least(own) + k * seg) / (n + k) } else { seg };
    let prior = prior.min(1.0);
    prior / (prior + (1.0 - prior) * still)
}

/// The start of the learning window: `from` (the configured months before
/// the as-of date), or the day before the ledger's first invoice when that
/// is later (the rates are counted over the days the ledger has history).
pub fn history_start(from: NaiveDate, first_issue: Option<NaiveDate>) -> NaiveDate {
    match first_issue.and_then(|f| f.pred_opt()) {
        Some(start) if start > from => start,
        _ => from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settled at 0, 10, 10, 40; censored (still open) at 5 and 30 days.
    /// At 10: 4 at risk (10, 10, 40 and the open 30), 2 paid; at 40 the one
    /// left at risk pays: the curve ends at 0. Without the 40, the open 30
    /// is left at risk after 10: 1/3 of what reaches 10 never pays.
    #[test]
    fn kaplan_meier_counts_the_open_invoices_as_still_at_risk() {
        let km = Km::new(&[0, 10, 10, 40], &[5, 30]);
        assert!((km.stall(1) - 0.0).abs() < 1e-12, "the one at risk at 40 paid");
        let km = Km::new(&[0, 10, 10], &[5, 30]);
        // From 1 on: at 10, 3 at risk (10, 10, 30), 2 paid: 1/3 never pays.
        assert!((km.stall(1) - 1.0 / 3.0).abs() < 1e-12);
        // From 0: also 1 − 1/5 at 0 (5 at risk): 4/5 × 1/3.
        assert!((km.stall(0) - 4.0 / 15.0).abs() < 1e-12);
        assert_eq!(km.stall(11), 1.0, "nobody paid later than 10 days");
    }

    /// `recent_weight = 3`: each invoice settled in the last `recent_days`
    /// counts three times, every other once (the demo ledger, customer by
    /// customer, against a count of its settlements).
    #[test]
    fn recent_settlements_count_recent_weight_times() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ledger = crate::ledger::load(&repo.join("fixtures/demo"), &Default::default()).unwrap();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let once = Behaviour::learn(&ledger, as_of, &Learn::default());
        let thrice = Behaviour::learn(&ledger, as_of, &Learn { recent_weight: 3, ..Learn::default() });
        let mut recent_total = 0;
        for (c, (a, b)) in once.payers.iter().zip(&thrice.payers).enumerate() {
            let recent = ledger
                .invoices_by_customer
                .rows(c as CustIx)
                .iter()
                .filter_map(|&i| crate::facts::settled_on(&ledger, i, as_of))
                .filter(|&s| (as_of - s).num_days() < 91 && s > crate::facts::months_before(as_of, 12))
                .count();
            assert_eq!(b.settled, a.settled + 2 * recent, "customer {c}");
            recent_total += recent;
        }
        assert!(recent_total > 100, "{recent_total}: the test proves nothing");
    }

    /// Silence: days since the later of the last payment and the oldest
    /// open overdue invoice's due date; 0 with nothing open and overdue.
    #[test]
    fn silence_counts_from_the_later_of_the_last_payment_and_the_oldest_due_date() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let inv = [(d("2026-01-01"), d("2026-01-31"), None), (d("2026-02-01"), d("2026-03-03"), None)];
        let pays = [d("2026-01-10")];
        // Due 01-31, nothing paid since: 29 days on 03-01 (the 03-03 invoice is not yet due).
        assert_eq!(silence_on(d("2026-03-01"), &pays, &inv), 29);
        // On its due date nothing is overdue yet.
        assert_eq!(silence_on(d("2026-01-31"), &pays, &inv), 0);
        // A payment after it fell due restarts the count (a later one is not known yet).
        let pays = [d("2026-01-10"), d("2026-02-15"), d("2026-03-20")];
        assert_eq!(silence_on(d("2026-03-01"), &pays, &inv), 14);
        // Settled by then: nothing overdue is open.
        let settled = [(d("2026-01-01"), d("2026-01-31"), Some(d("2026-02-20")))];
        assert_eq!(silence_on(d("2026-03-01"), &pays, &settled), 0);
        assert_eq!(silence_on(d("2026-02-19"), &pays, &settled), 4, "settled after the 19th: open then");
    }

    /// π = 0.05, k = 5. Own delays 0, 10, 20, 30 (n = 4), segment's 0..=99
    /// (100 values). Silent 25 days: own 1 of 4 at least 25, segment 75 %:
    /// S = (1 + 5 · 0.75) / 9 = 0.5278, chance 0.05 / (0.05 + 0.95 · 0.5278)
    /// = 0.0907. Silent 100 days: nobody that late, S = 0, chance 1.
    #[test]
    fn the_stop_chance_weighs_the_silence_against_the_settled_delays() {
        let own = [0, 10, 20, 30];
        let seg: Vec<i32> = (0..100).collect();
        let s = (1.0 + 5.0 * 0.75) / 9.0;
        let want = 0.05 / (0.05 + 0.95 * s);
        assert!((stop_chance(25, 0.05, &own, &seg, 5.0) - want).abs() < 1e-12);
        assert!((want - 0.0907).abs() < 1e-4);
        assert_eq!(stop_chance(100, 0.05, &own, &seg, 5.0), 1.0);
        assert_eq!(stop_chance(0, 0.05, &own, &seg, 5.0), 0.0, "no silence");
        assert_eq!(stop_chance(100, 0.0, &own, &seg, 5.0), 0.0, "no prior");
        // Longer silences are likelier stops.
        let chances: Vec<f64> = [1, 15, 25, 45, 80].map(|d| stop_chance(d, 0.05, &own, &seg, 5.0)).to_vec();
        assert!(chances.windows(2).all(|w| w[0] <= w[1]), "{chances:?}");
    }

    /// On the demo, each silent customer has a chance, the others none,
    /// when on; nobody when off.
    #[test]
    fn silent_customers_get_their_stop_chance() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ledger = crate::ledger::load(&repo.join("fixtures/demo"), &Default::default()).unwrap();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let silence = silences(&ledger, as_of);
        let on = Behaviour::learn(&ledger, as_of, &Learn::default());
        let off = Behaviour::learn(&ledger, as_of, &Learn { silence: false, ..Learn::default() });
        let mut silent = 0;
        for (c, (a, b)) in on.payers.iter().zip(&off.payers).enumerate() {
            assert_eq!(b.stopped, 0.0);
            if silence[c] > 0 {
                silent += 1;
                assert!(a.stopped > 0.0 && a.stopped <= 1.0, "customer {c}");
            } else {
                assert_eq!(a.stopped, 0.0, "customer {c}");
            }
        }
        assert!(silent > 10, "{silent}: the test proves nothing");
    }

    /// The normal hierarchy by hand: σ² = 16, τ² = 9. No history: τ = 3;
    /// 4 settlements: 1 / √(4/16 + 1/9) = 1 / √(13/36) = 6 / √13 = 1.6641;
    /// customers that do not differ (τ² = 0): no shift.
    #[test]
    fn the_posterior_sd_narrows_with_the_history() {
        assert!((posterior_sd(0.0, 16.0, 9.0) - 3.0).abs() < 1e-12);
        assert!((posterior_sd(4.0, 16.0, 9.0) - 6.0 / 13f64.sqrt()).abs() < 1e-12);
        assert!((6.0 / 13f64.sqrt() - 1.6641).abs() < 1e-4);
        assert_eq!(posterior_sd(4.0, 16.0, 0.0), 0.0);
        assert!(posterior_sd(100.0, 16.0, 9.0) < posterior_sd(10.0, 16.0, 9.0));
    }

    /// Three customers of one segment, delays {0, 2}, {10, 12} and {20, 22}:
    /// within each a variance of 2 (σ² = 6 / 3 = 2 over 3 degrees of
    /// freedom), means 1, 11, 21 (their variance 100) of which σ²/n = 1 is
    /// sampling: τ² = 99. A fourth with no history gets τ = √99; the others
    /// 1 / √(2/2 + 1/99).
    #[test]
    fn the_shift_sd_weighs_the_spread_between_customers_against_within() {
        let of = |xs: &[f64]| {
            let mut m = Moments::default();
            xs.iter().for_each(|&x| m.add(x));
            m
        };
        let moments = [of(&[0.0, 2.0]), of(&[10.0, 12.0]), of(&[20.0, 22.0]), Moments::default()];
        let sd = shift_sds(&moments, &[0, 0, 0, 0], 1);
        let rich = 1.0 / (1.0 + 1.0 / 99.0f64).sqrt();
        for got in &sd[..3] {
            assert!((got - rich).abs() < 1e-12, "{sd:?}");
        }
        assert!((sd[3] - 99f64.sqrt()).abs() < 1e-12, "{sd:?}");
    }

    /// With the bootstrap, a run draws each customer's shift and sales rate
    /// keyed by the run and the customer: the same for the same run, others
    /// for another; wider shifts for thinner histories; rates around the
    /// learned one. Off, nothing is drawn.
    #[test]
    fn a_run_draws_each_customer_s_parameters_from_its_posterior() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ledger = crate::ledger::load(&repo.join("fixtures/demo"), &Default::default()).unwrap();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let b = Behaviour::learn(&ledger, as_of, &Learn { bootstrap: true, ..Learn::default() });
        let off = Behaviour::learn(&ledger, as_of, &Learn { bootstrap: false, ..Learn::default() });
        assert!(off.draw_run(Key::run(42, 0)).shift.is_empty() && off.payers.iter().all(|p| p.shift_sd == 0.0));
        let (a, again, other) = (b.draw_run(Key::run(42, 0)), b.draw_run(Key::run(42, 0)), b.draw_run(Key::run(42, 1)));
        assert_eq!((&a.shift, &a.sale_rate), (&again.shift, &again.sale_rate));
        assert_ne!(a.shift, other.shift);
        // Thin histories are less certain than rich ones.
        let (mut thin, mut rich) = (Vec::new(), Vec::new());
        for p in &b.payers {
            if p.settled <= 2 {
                thin.push(p.shift_sd)
            } else if p.settled >= 12 {
                rich.push(p.shift_sd)
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        assert!(!thin.is_empty() && !rich.is_empty() && mean(&thin) > mean(&rich), "{} {}", mean(&thin), mean(&rich));
        // Over many runs a customer's rate averages its learned rate.
        let c = b.payers.iter().position(|p| p.amounts.len() >= 4 && p.daily_rate < 0.5).unwrap();
        let rates: Vec<f64> = (0..4000).map(|r| b.draw_run(Key::run(7, r)).sale_rate[c].unwrap()).collect();
        let want = b.payers[c].daily_rate;
        assert!((mean(&rates) / want - 1.0).abs() < 0.05, "{} against {want}", mean(&rates));
        assert!(rates.iter().any(|&r| r != want));
    }

    /// The demo's payments fall on every weekday and day of the month alike:
    /// no pattern is learned. Moved off the weekend (to the Monday after),
    /// Saturday and Sunday weigh 0 and a payment drawn for a Sunday lands on
    /// a weekday near it; never before the earliest day allowed.
    #[test]
    fn the_calendar_is_learned_only_where_the_payments_show_one() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut ledger = crate::ledger::load(&repo.join("fixtures/demo"), &Default::default()).unwrap();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let from = crate::facts::months_before(as_of, 12);
        assert_eq!(Calendar::learn(&ledger, from, as_of), None);
        for p in &mut ledger.payments {
            match p.paid_on.weekday() {
                chrono::Weekday::Sat => p.paid_on += chrono::Duration::days(2),
                chrono::Weekday::Sun => p.paid_on += chrono::Duration::days(1),
                _ => {}
            }
        }
        let cal = Calendar::learn(&ledger, from, as_of).expect("a weekday pattern");
        assert_eq!(&cal.weekday[5..], &[0.0, 0.0]);
        assert!(cal.weekday[0] > 2.0, "Monday takes the weekend's: {:?}", cal.weekday);
        let sunday = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let earliest = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
        for k in 0..100 {
            let t = cal.place(sunday, earliest, f64::from(k) / 100.0);
            assert!(t.weekday().num_days_from_monday() < 5 && t >= earliest && (t - sunday).num_days().abs() <= 3);
        }
        let flat = Calendar { weekday: [1.0; 7], month_end: [1.0; MONTH_END_DAYS + 1] };
        assert_eq!(flat.place(sunday, sunday, 0.0), sunday, "never before the earliest day");
    }

    #[test]
    fn month_end_slots_count_the_days_to_the_month_s_last() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(month_end_slot(d("2026-02-28")), 0);
        assert_eq!(month_end_slot(d("2026-02-27")), 1);
        assert_eq!(month_end_slot(d("2026-12-31")), 0);
        assert_eq!(month_end_slot(d("2026-12-27")), 4);
        assert_eq!(month_end_slot(d("2026-12-01")), MONTH_END_DAYS);
    }

    #[test]
    fn the_window_starts_where_the_history_does() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // 12 months before 2026-08-17, history from 2025-11-16: 274 days, not 365.
        assert_eq!(history_start(d("2025-08-17"), Some(d("2025-11-16"))), d("2025-11-15"));
        assert_eq!(history_start(d("2025-08-17"), Some(d("2024-01-01"))), d("2025-08-17"));
        assert_eq!(history_start(d("2025-08-17"), None), d("2025-08-17"));
    }
    use crate::simulate::draw::Key;

    #[test]
    fn parts_split_early_on_time_and_late() {
        let mut p = Parts::default();
        for d in [-10, -3, -2, 0, 2, 3, 40] {
            p.add(d, 2);
        }
        assert_eq!(p.days, [vec![-10, -3], vec![-2, 0, 2], vec![3, 40]]);
    }

    #[test]
    fn conditional_draws_are_never_in_the_past() {
        let b = Behaviour {
            payers: vec![Payer {
                shares: [0.2, 0.5, 0.3],
                own: Parts { days: [vec![-5, -4, -3], vec![0, 1, 2], vec![10, 20, 30]] },
                segment: 0,
                daily_rate: 0.0,
                amounts: vec![],
                settled: 9,
                km: None,
                stopped: 0.0,
                shift_sd: 0.0,
            }],
            pools: vec![Parts::default(), Parts::default()],
            segments: vec!["s".into()],
            learn: Learn::default(),
            seg_km: Vec::new(),
            calendar: None,
        };
        let mut draws = Key::run(7, 0).draws();
        for _ in 0..200 {
            assert!(b.draw_days_late(0, 15, &mut draws).unwrap() >= 16);
        }
        assert_eq!(b.draw_days_late(0, 30, &mut draws), None, "no one paid more than 30 days late: stalled");
    }
}
