//! The forward projection (`recoup simulate --horizon 13w`) on the demo
//! ledger: standard against strict, 20 runs, with the wake-up schedule the
//! simulation uses and with every customer evaluated every day (the
//! reference the schedule is checked against, byte for byte). The issue's
//! own targets (200 demo runs in a few seconds, 20 runs of 100,000 customers
//! under 2 minutes) are measured end to end by `benches/simulate.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use recoup::ledger::{LoadOptions, load};
use recoup::policy::{self, CompiledPolicy};
use recoup::simulate::project::{Projection, Scenario, project};
use recoup::simulate::{RollRateConfig, RollRateReport};
use std::path::PathBuf;

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn policy(name: &str) -> CompiledPolicy {
    let loaded = policy::load(&repo(&format!("policies/{name}")));
    loaded.policy.unwrap_or_else(|| panic!("{}", loaded.report.render()))
}

fn bench(c: &mut Criterion) {
    let ledger = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let (standard, strict) = (policy("standard"), policy("strict"));
    let policies = [("standard", &standard), ("strict", &strict)];
    // The roll-rate chain's monthly Paid rates, as `recoup simulate` passes them.
    let rr = RollRateReport::build(&ledger, as_of, &RollRateConfig::default()).unwrap();
    let stall = rr.matrix.paid_rates();
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    for (name, every_day) in [("13w x 20 runs", false), ("13w x 20 runs, every customer every day", true)] {
        let p = Projection { days: 91, runs: 20, seed: 42, scenario: Scenario::default(), every_day };
        g.bench_function(name, |b| b.iter(|| project(&ledger, &policies, as_of, &p, &stall).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
