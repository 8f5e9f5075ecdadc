//! `recoup generate`: realistic synthetic ledgers of any size, the same bytes
//! for the same configuration.
//!
//! This module owns the synthetic ledger: customers with a hidden payer
//! profile, a history of invoices, payments, promises and payment plans cut
//! at the as-of date, and the dunning actions earlier runs took. Every
//! customer draws from its own random stream, seeded from the ledger seed and
//! its index, so customers are simulated in parallel chunks and the files are
//! identical at any thread count. Rows stream to the five CSV files chunk by
//! chunk: memory is bounded by a batch of chunks, not by the ledger.
//!
//! Stages: `account` simulates one customer (with `customer`, `payer`
//! and `ladder`) into chunk `rows`; `render` numbers and formats them;
//! `sink` writes the files atomically.

mod account;
mod calendar;
mod contact;
mod customer;
mod dice;
mod ladder;
mod payer;
mod render;
mod rows;
mod sink;
#[cfg(test)]
mod tests;

use account::World;
use chrono::{Datelike, NaiveDate};
use payer::History;
use rayon::prelude::*;
use render::Offsets;
use rows::Chunk;
use serde::Serialize;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateConfig {
    /// Number of customers (at least 1).
    pub customers: u64,
    /// Seed of every random draw: the same seed gives the same ledger.
    pub seed: u64,
    /// The day the ledger is exported: nothing happens after it.
    pub as_of: NaiveDate,
    /// Months of history before `as_of` (at least 1; usually 12).
    pub months: u32,
}

/// Rows written to each file (header rows not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GenerateStats {
    pub customers: u64,
    pub invoices: u64,
    pub payments: u64,
    pub promises: u64,
    pub actions: u64,
}

/// Why a ledger could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error("`customers` must be at least 1")]
    NoCustomers,
    #[error("`months` must be at least 1")]
    NoMonths,
    #[error("{months} months of history before {as_of} fall outside the years 1900 to 9999")]
    OutOfRange { as_of: NaiveDate, months: u32 },
}

/// Customers simulated by one task.
const CHUNK: u64 = 2_000;
/// Chunks simulated before their rows are written; bounds memory.
const BATCH: u64 = 16;
/// Longest history accepted, in months.
const MAX_MONTHS: u32 = 1_200;

/// The configuration of the committed demo ledger (`fixtures/demo/`). The
/// seed was chosen among the first 1,650 so that `policies/standard` on the
/// as-of date (a Monday in Q4) plans every kind of action it can.
pub fn demo_config() -> GenerateConfig {
    GenerateConfig {
        customers: 400,
        seed: 1633,
        as_of: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or_default(),
        months: 12,
    }
}

/// Write a synthetic ledger — `customers.csv`, `invoices.csv`,
/// `payments.csv`, `promises.csv`, `actions.csv` — into `out_dir` (created
/// if missing; an existing folder only if `recoup generate` wrote it). The
/// files appear together, complete, or not at all.
pub fn generate(cfg: &GenerateConfig, out_dir: &Path) -> Result<GenerateStats, GenerateError> {
    generate_with_progress(cfg, out_dir, &|_| {})
}

/// [`generate`], calling `done(n)` (from any thread) each time `n` more
/// customers have been simulated — for a progress bar.
pub fn generate_with_progress(
    cfg: &GenerateConfig,
    out_dir: &Path,
    done: &(dyn Fn(u64) + Sync),
) -> Result<GenerateStats, GenerateError> {
    let world = world(cfg)?;
    // The five files are one set: all new or all old, never a mix.
    let set = crate::output::OutputSet::create(out_dir, crate::output::Kind::Ledger, &[])?;
    let mut sinks = sink::Sinks::create(set.staging(), &render::FILES)?;
    let mut at = Offsets::default();
    for first in (0..cfg.customers).step_by((CHUNK * BATCH) as usize) {
        let last = first.saturating_add(CHUNK * BATCH).min(cfg.customers);
        for text in batch(&world, first..last, &mut at, done) {
            sinks.write(&text)?;
        }
    }
    sinks.commit()?;
    set.commit()?;
    Ok(GenerateStats {
        customers: at.customers,
        invoices: at.invoices,
        payments: at.payments,
        promises: at.promises,
        actions: at.actions,
    })
}

/// Simulate the customers of `range` in parallel chunks and render their
/// text, numbering rows from `at` (advanced past them).
fn batch(world: &World, range: Range<u64>, at: &mut Offsets, done: &(dyn Fn(u64) + Sync)) -> Vec<[Vec<u8>; 5]> {
    let firsts: Vec<u64> = range.clone().step_by(CHUNK as usize).collect();
    let chunks: Vec<Chunk> = firsts
        .into_par_iter()
        .map(|first| {
            let customers = first..(first + CHUNK).min(range.end);
            let n = customers.end - customers.start;
            let chunk = simulate(world, customers);
            done(n);
            chunk
        })
        .collect();
    let offsets: Vec<Offsets> = chunks
        .iter()
        .map(|chunk| {
            let start = *at;
            *at = start.after(chunk);
            start
        })
        .collect();
    chunks.par_iter().zip(offsets).map(|(chunk, start)| render::chunk(chunk, &start)).collect()
}

/// Check the configuration and derive what all customers share.
fn world(cfg: &GenerateConfig) -> Result<World, GenerateError> {
    if cfg.customers == 0 {
        return Err(GenerateError::NoCustomers);
    }
    if cfg.months == 0 {
        return Err(GenerateError::NoMonths);
    }
    if cfg.months > MAX_MONTHS || !(1900..=9999).contains(&cfg.as_of.year()) {
        return Err(GenerateError::OutOfRange { as_of: cfg.as_of, months: cfg.months });
    }
    let as_of = calendar::from_date(cfg.as_of);
    let history = History { start: calendar::add_months(as_of, -(cfg.months as i32)), as_of };
    // About eight collectors per 10,000 customers, at least three.
    let owners = cfg.customers.div_ceil(1_250).clamp(3, 9_999) as u32;
    Ok(World { seed: cfg.seed, history, owners })
}

fn simulate(world: &World, customers: Range<u64>) -> Chunk {
    let mut chunk = Chunk::default();
    for index in customers {
        account::simulate(world, index, &mut chunk);
    }
    chunk
}
