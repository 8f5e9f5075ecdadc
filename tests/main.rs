//! One integration test binary (links once): a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod calendars;
mod cli;
mod common;
mod deploy;
mod docs;
mod engine;
mod facts;
mod faults;
mod group_statement;
mod hostile;
mod kinds;
mod ledger;
mod levels;
mod outbox;
mod output;
mod parquet;
mod policy;
mod postgres;
mod properties;
mod report;
mod run;
mod send;
mod shard;
mod simulate;
