//! Evaluate a policy over a ledger's customers, facts derived beforehand, so
//! only the engine runs (for `valgrind --tool=callgrind` and `perf record`):
//! `cargo run --release --example eval_timing -- LEDGER POLICY [PASSES] [AS_OF]`.
//! Prints the actions planned, the passes, and the wall and CPU time (this
//! thread's, from /proc/thread-self/schedstat on Linux) per customer decision:
//! on a shared machine the CPU time is the figure to compare.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use recoup::facts::{Context, CustomerFacts, InvoiceFacts, derive_customer};
use std::path::Path;

fn main() {
    let mut args = std::env::args().skip(1);
    let ledger = args.next().expect("LEDGER");
    let policy = args.next().expect("POLICY");
    let passes: usize = args.next().map_or(100, |p| p.parse().unwrap());
    let as_of = args.next().unwrap_or_else(|| "2026-11-16".into()).parse().unwrap();
    let l = recoup::ledger::load(Path::new(&ledger), &Default::default()).unwrap();
    let p = recoup::policy::compile_path(Path::new(&policy)).unwrap().0;
    let ctx = Context::new(as_of, Default::default());
    let cal = ctx.calendar();
    let facts: Vec<(CustomerFacts<'_>, Vec<InvoiceFacts<'_>>)> = (0..l.customers.len() as u32)
        .map(|c| {
            let mut v = Vec::new();
            let f = derive_customer(&l, c, &ctx, &mut v);
            (f, v)
        })
        .collect();
    let cpu0 = cpu_ns();
    let t = std::time::Instant::now();
    let mut actions = 0;
    for _ in 0..passes {
        for (cf, inv) in &facts {
            actions += recoup::engine::evaluate_customer(&p, &l, cf, inv, &cal, None).map_or(0, |a| a.len());
        }
    }
    let n = (passes * facts.len()) as f64;
    let per = t.elapsed().as_secs_f64() * 1e6 / n;
    let cpu = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => format!("{:.3} µs", (b - a) as f64 / 1e3 / n),
        _ => "?".into(),
    };
    println!(
        "{actions} actions over {passes} passes of {} customers: per customer {per:.3} µs wall, {cpu} CPU",
        facts.len()
    );
}

/// Nanoseconds this thread has run on a CPU.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
