//! One integration test binary (links once): a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod common;
mod docs;
mod engine;
mod facts;
mod faults;
mod hostile;
mod ledger;
mod outbox;
mod output;
mod policy;
mod postgres;
mod properties;
mod report;
mod run;
mod send;
mod shard;
mod simulate;
