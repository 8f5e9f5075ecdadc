//! recoup: a rules engine for credit and collections.
//!
//! The pipeline runs one way: [`ledger`] (load + validate) → [`facts`]
//! (derive) → engine → plan. `main.rs` is only the command line ([`cli`]).

pub mod calendar;
pub mod cli;
pub mod engine;
pub mod facts;
pub mod generate;
pub mod interest;
pub mod ledger;
pub mod money;
pub mod outbox;
pub mod output;
pub mod pg_out;
pub mod pg_tls;
pub mod plan;
pub mod policy;
mod prefetch;
pub mod render;
pub mod report;
pub mod send;
pub mod simulate;
