//! What-if simulation: the same ledger under a baseline and variant policies.
//!
//! - [`compare`]: today — every policy through [`crate::plan::evaluate`] on
//!   one loaded ledger (never a second implementation of the rules), side by
//!   side figures and the per-customer diff of the plans.
//! - [`write`]: the output set (comparison.json/csv, diff.csv/jsonl) and
//!   the terminal table.
//!
//! Money stays [`rust_decimal::Decimal`]; probabilities are `f64`. Everything
//! is ordered (BTreeMap, ledger order), so the same inputs give the same
//! bytes at any thread count.

pub mod compare;
pub mod write;

pub use compare::{Candidate, Comparison, CustomerDiff, Figures, compare};

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
    /// No policy to compare.
    #[error("nothing to compare: give a baseline policy")]
    NoPolicies,
}
