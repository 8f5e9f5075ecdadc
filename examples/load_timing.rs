//! Time ledger load and fact derivation once: `cargo run --release --example load_timing -- DIR`.
#![allow(clippy::unwrap_used)]
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let t = std::time::Instant::now();
    let l = recoup::ledger::load(std::path::Path::new(&dir), &Default::default()).unwrap();
    let t_load = t.elapsed();
    let ctx = recoup::facts::Context::new("2026-11-16".parse().unwrap(), Default::default());
    let n = recoup::facts::map_customers(&l, &ctx, |c, i| (c.open_total, i.len())).len();
    eprintln!("load {:?} facts {:?} ({n} customers)", t_load, t.elapsed() - t_load);
}
