//! How the demo's seed was chosen: for a range of seeds, generate the demo
//! ledger (`demo_config()` with that seed), run `policies/standard` on its
//! as-of date, and print the action kinds the policy can plan that the day
//! lacks. `cargo run --release --example demo_seeds -- FROM TO [CUSTOMERS]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use recoup::facts::{Context, FactsConfig};
use recoup::generate::{GenerateConfig, demo_config, generate};
use recoup::ledger::{LoadOptions, load};
use std::collections::BTreeMap;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|s| s.parse().expect("numbers: FROM TO [CUSTOMERS]")).collect();
    let from = args.first().copied().unwrap_or(1);
    let to = args.get(1).copied().unwrap_or(from + 20);
    let customers = args.get(2).copied().unwrap_or(demo_config().customers);
    let policy = recoup::policy::load(std::path::Path::new("policies/standard")).policy.expect("policies/standard");
    let kinds = policy.action_kinds();
    for seed in from..to {
        let cfg = GenerateConfig { seed, customers, ..demo_config() };
        let dir = tempfile::tempdir().unwrap();
        generate(&cfg, dir.path()).unwrap();
        let ledger = load(dir.path(), &LoadOptions::default()).unwrap();
        let plan = recoup::plan::evaluate(&ledger, &policy, &Context::new(cfg.as_of, FactsConfig::default())).unwrap();
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        let (mut raised, mut lowered) = (0, 0);
        for e in &plan.entries {
            *count.entry(e.action.action.as_str()).or_default() += 1;
            match (e.action.old_limit, e.action.new_limit) {
                (Some(old), Some(new)) if new > old => raised += 1,
                (Some(old), Some(new)) if new < old => lowered += 1,
                _ => {}
            }
        }
        let missing: Vec<&str> = kinds.iter().map(|k| k.as_str()).filter(|k| !count.contains_key(k)).collect();
        println!(
            "seed {seed}: {} actions, {raised} limits raised, {lowered} lowered, missing {missing:?}, {count:?}",
            plan.entries.len()
        );
    }
}
