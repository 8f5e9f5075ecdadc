//! What-if simulation: the same ledger under a baseline and variant policies.
//!
//! - [`compare`]: today — every policy through [`crate::plan::evaluate`] on
//!   one loaded ledger (never a second implementation of the rules), side by
//!   side figures and the per-customer diff of the plans.
//! - [`rollrate`]: the analytic model — a monthly Markov chain between aging
//!   buckets with absorbing Paid and Bad-debt states, estimated from the
//!   ledger's own history, and the eventual split of today's balances.
//! - [`project`]: the forward projection — each policy day by day over a
//!   horizon, Monte Carlo, with payment behaviour learned per customer
//!   ([`behaviour`]) and response assumptions from a scenario file; every
//!   random draw keyed by what it is about ([`draw`]: common random numbers).
//! - [`backtest`]: the projection from a past date against what the ledger
//!   says really came in.
//! - [`verdict`]: each variant's run-by-run difference with the baseline,
//!   and whether it is distinguishable from the noise at this number of runs.
//! - [`shard`]: `simulate --shard I/N` (a share of the runs) and their merge.
//! - [`sweep`]: one value of the baseline set to several settings, each a variant.
//! - [`wake`]: which customers a simulated day must evaluate.
//! - [`write`]: the output set (comparison.json/csv, diff.csv/jsonl,
//!   rollrates.csv) and the terminal table.
//!
//! Money stays [`rust_decimal::Decimal`]; probabilities are `f64`. Everything
//! is ordered (BTreeMap, ledger order), so the same inputs give the same
//! bytes at any thread count.

pub mod arms;
pub mod backtest;
pub mod behaviour;
pub mod compare;
pub mod draw;
pub mod project;
pub mod rollrate;
pub mod shard;
pub mod sweep;
pub mod verdict;
pub mod wake;
pub mod write;

pub use compare::{Candidate, Comparison, CustomerDiff, Figures, compare};
pub use rollrate::{RollRateConfig, RollRateReport, RollRates, Split};

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

/// Why a simulation could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A policy's run failed (a rule failed and the policy says to stop).
    #[error("policy `{label}`: {source}")]
    Run {
        label: String,
        #[source]
        source: Box<crate::plan::RunError>,
    },
    /// The roll-rate chain has no way out of some states (I − Q is singular).
    #[error("the roll-rate matrix cannot be inverted: {0}")]
    Singular(String),
    /// The ledger has no settled invoice to learn payment behaviour from.
    #[error("no settled invoice in the ledger's history: nothing to learn payment behaviour from")]
    NoHistory,
    /// No policy to compare.
    #[error("nothing to compare: give a baseline policy")]
    NoPolicies,
}

/// Money as f64, for projections only.
pub(crate) fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// A projected amount back to money, rounded to cents.
pub(crate) fn cents(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or(Decimal::ZERO).round_dp(2)
}
