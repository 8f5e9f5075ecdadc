//! Load + validate + derive facts on a generated ledger (100,000 customers by
//! default, about a million invoices; `RECOUP_BENCH_CUSTOMERS` changes it).
//! Under `cargo test --benches` a small ledger is used so CI stays fast.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use recoup::facts::{Context, FactsConfig, map_customers};
use recoup::generate::{GenerateConfig, generate};
use recoup::ledger::{LoadOptions, load};
use std::path::PathBuf;

fn ledger_dir() -> PathBuf {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let n: u64 = match std::env::var("RECOUP_BENCH_CUSTOMERS") {
        Ok(v) => v.parse().unwrap(),
        Err(_) if bench_mode => 100_000,
        Err(_) => 500,
    };
    let as_of = "2026-11-16".parse().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-data/ledger-{n}"));
    if !dir.join("actions.csv").exists() {
        generate(&GenerateConfig { customers: n, seed: 7, as_of, months: 12 }, &dir).unwrap();
    }
    dir
}

fn bench(c: &mut Criterion) {
    let dir = ledger_dir();
    let as_of = "2026-11-16".parse().unwrap();
    let opts = LoadOptions::default();
    let mut g = c.benchmark_group("ledger");
    g.sample_size(10);
    g.bench_function("load", |b| b.iter(|| load(&dir, &opts).unwrap()));
    let ledger = load(&dir, &opts).unwrap();
    let ctx = Context::new(as_of, FactsConfig::default());
    g.bench_function("facts", |b| b.iter(|| map_customers(&ledger, &ctx, |cf, inv| (cf.open_total, inv.len()))));
    g.bench_function("load+facts", |b| {
        b.iter(|| {
            let l = load(&dir, &opts).unwrap();
            map_customers(&l, &ctx, |cf, inv| (cf.open_total, inv.len())).len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
