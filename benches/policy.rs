//! Policy evaluation per customer: compile time of the standard policy, one
//! customer's decision with a native-only step and with a `when` step that
//! calls a function (`abs`), the standard and strict policies over every
//! customer of the demo ledger (facts derived beforehand, so only the engine
//! is timed), strict's script priority score alone, and plan serialisation
//! per action (plan.csv, plan.jsonl).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use recoup::engine::evaluate_customer;
use recoup::facts::{Context, CustomerFacts, FactsConfig, InvoiceFacts, derive_customer};
use recoup::ledger::inline::{InlineLedger, load_inline};
use recoup::ledger::{Ledger, LoadOptions, load};
use recoup::policy::{self, CompiledPolicy};
use std::hint::black_box;
use std::path::PathBuf;

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A one-ladder policy whose 30-day step has `when`.
fn policy_with(when: &str) -> CompiledPolicy {
    let text = format!(
        r#"
[policy]
name = "bench"
version = "1"

[guardrails]
max_contacts_per_7_days = 3

[[ladder]]
id = "l"

[[ladder.step]]
id = "first-notice"
days_past_due = 1
action = "email"
template = "t"

[[ladder.step]]
id = "final-demand"
days_past_due = 30
action = "letter"
template = "t"
min_overdue = "100.00"
fee = "25.00"
when = "{when}"
"#
    );
    let loaded = policy::load_str("bench.toml", &text);
    loaded.policy.unwrap_or_else(|| panic!("{}", loaded.report.render()))
}

/// One customer, three open invoices (one 35 days late), the first step done.
fn one_customer() -> Ledger {
    load_inline(
        &InlineLedger {
            customers: "customer_id,name,segment,country,currency,credit_limit,payment_terms\nC1,Acme,mid_market,US,USD,20000.00,NET30",
            invoices: "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status
I1,C1,2026-09-12,2026-10-12,USD,1500.00,1500.00,open
I2,C1,2026-10-01,2026-10-31,USD,700.00,700.00,open
I3,C1,2026-10-20,2026-11-19,USD,900.00,900.00,open",
            payments: None,
            promises: None,
            actions: Some(
                "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome
A1,C1,I1,first-notice,email,email,2026-10-13,2026-10-13,delivered",
            ),
        },
        &LoadOptions::default(),
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let as_of = "2026-11-16".parse().unwrap();
    let ctx = Context::new(as_of, FactsConfig::default());
    let cal = ctx.calendar();

    let mut g = c.benchmark_group("policy");
    g.bench_function("compile standard", |b| b.iter(|| policy::compile_path(&repo("policies/standard")).unwrap()));

    let l = one_customer();
    let mut inv = Vec::new();
    let cf = derive_customer(&l, 0, &ctx, &mut inv);
    let native =
        policy_with("invoice.days_past_due >= 30 && customer.overdue_total > 1000 && !customer.do_not_contact");
    // Ran in rhai until the lowering learnt functions; now native too.
    let abs =
        policy_with("abs(invoice.days_past_due) >= 30 && customer.overdue_total > 1000 && !customer.do_not_contact");
    // Still outside the subset (a method on text): the interpreter's price.
    let rhai = policy_with(
        "customer.segment.len() > 0 && invoice.days_past_due >= 30 && customer.overdue_total > 1000 && !customer.do_not_contact",
    );
    assert_eq!(native.native_share(), (1, 1));
    assert_eq!(abs.native_share(), (1, 1));
    assert_eq!(rhai.native_share(), (0, 1));
    for (name, p) in [
        ("customer, native step", &native),
        ("customer, abs() when step (lowered)", &abs),
        ("customer, interpreted when step", &rhai),
    ] {
        let a = evaluate_customer(p, &l, &cf, &inv, &cal, None).unwrap();
        assert_eq!(a.len(), 1, "{a:?}");
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| b.iter(|| evaluate_customer(black_box(p), &l, black_box(&cf), &inv, &cal, None)));
    }

    // The common case on a given day: the standard policy looks at everything and nothing is due.
    let standard = policy::compile_path(&repo("policies/standard")).unwrap().0;
    let quiet = "2026-10-20".parse().unwrap();
    let qctx = Context::new(quiet, FactsConfig::default());
    let qcal = qctx.calendar();
    let mut qinv = Vec::new();
    let qcf = derive_customer(&l, 0, &qctx, &mut qinv);
    assert!(evaluate_customer(&standard, &l, &qcf, &qinv, &qcal, None).unwrap().is_empty());
    g.throughput(Throughput::Elements(1));
    g.bench_function("customer, standard policy, nothing due", |b| {
        b.iter(|| evaluate_customer(black_box(&standard), &l, black_box(&qcf), &qinv, &qcal, None))
    });

    let demo = load(&repo("fixtures/demo"), &LoadOptions::default()).unwrap();
    let facts: Vec<(CustomerFacts<'_>, Vec<InvoiceFacts<'_>>)> = (0..demo.customers.len() as u32)
        .map(|c| {
            let mut v = Vec::new();
            let f = derive_customer(&demo, c, &ctx, &mut v);
            (f, v)
        })
        .collect();
    g.throughput(Throughput::Elements(facts.len() as u64));
    g.bench_function("demo ledger, standard policy, serial", |b| {
        b.iter(|| {
            let mut n = 0;
            for (cf, inv) in &facts {
                n += evaluate_customer(&standard, &demo, cf, inv, &cal, None).unwrap().len();
            }
            n
        })
    });
    // strict: jump pace, and a priority score written as a script function
    // (scripts/risk.rhai), inlined into native form at compile time.
    let strict = policy::compile_path(&repo("policies/strict")).unwrap().0;
    assert_eq!(strict.native_share(), (8, 8));
    g.bench_function("demo ledger, strict policy, serial", |b| {
        b.iter(|| {
            let mut n = 0;
            for (cf, inv) in &facts {
                n += evaluate_customer(&strict, &demo, cf, inv, &cal, None).unwrap().len();
            }
            n
        })
    });
    let score = strict.rules.priority.score.as_ref().unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function("strict priority score (risk::score), one customer", |b| {
        let env = recoup::policy::expr::Env { customer: &cf, invoice: None, cal: &cal };
        b.iter(|| score.eval_f64(black_box(&strict.engine), black_box(&env)).unwrap())
    });
    g.finish();

    // Plan serialisation per action: the demo plan written as plan.csv and
    // plan.jsonl into memory (the run writes them through a buffered file).
    let plan = recoup::plan::evaluate(&demo, &standard, &ctx).unwrap();
    let mut g = c.benchmark_group("plan");
    g.throughput(Throughput::Elements(plan.entries.len() as u64));
    let mut buf = Vec::with_capacity(1 << 20);
    g.bench_function("plan.csv per action", |b| {
        b.iter(|| {
            buf.clear();
            recoup::plan::write::plan_csv(&mut buf, black_box(&plan)).unwrap();
            buf.len()
        })
    });
    g.bench_function("plan.jsonl per action", |b| {
        b.iter(|| {
            buf.clear();
            recoup::plan::write::plan_jsonl(&mut buf, black_box(&plan)).unwrap();
            buf.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
