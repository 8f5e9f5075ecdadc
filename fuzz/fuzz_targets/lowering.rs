//! Expression lowering: any text that compiles as a rule expression and is
//! lowered to native form must give what rhai gives (same value, or an error
//! in both), on every customer and invoice of a small ledger.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recoup::facts::{Context, FactsConfig, derive_customer};
use recoup::ledger::{Ledger, LoadOptions, load};
use recoup::policy::expr::{Env, ExprError, Out, Val, eval_node};
use std::path::PathBuf;
use std::sync::LazyLock;

static LEDGER: LazyLock<Ledger> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/small");
    load(&dir, &LoadOptions::default()).unwrap()
});

/// Equal results (NaN equals NaN), or both errors.
fn same(a: &Result<Out, ExprError>, b: &Result<Out, ExprError>) -> bool {
    match (a, b) {
        (Ok(Out::Float(x)), Ok(Out::Float(y))) if x.is_nan() && y.is_nan() => true,
        (Ok(x), Ok(y)) => x == y,
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if src.len() > 2_000 {
        return;
    }
    let Ok((e, engine)) = recoup::policy::expression(src, true) else { return };
    let ctx = Context::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(), FactsConfig::default());
    let cal = ctx.calendar();
    let ledger = &*LEDGER;
    let mut buf = Vec::new();
    for c in 0..ledger.customers.len() as u32 {
        let cf = derive_customer(ledger, c, &ctx, &mut buf);
        for inv in buf.iter() {
            let env = Env { customer: &cf, invoice: Some(inv), cal: &cal };
            let rhai = e.eval_rhai(&engine, &env).map(|d| Out::of_dynamic(&d));
            if let Some(node) = &e.native
                && let Ok(v) = eval_node(node, &env)
            {
                let native = match v {
                    Val::Int(i) => Out::Int(i),
                    Val::Float(x) => Out::Float(x),
                    Val::Dec(d) => Out::Dec(d),
                    Val::Bool(b) => Out::Bool(b),
                    Val::Str(s) => Out::Str(s.to_string()),
                };
                assert!(same(&Ok(native.clone()), &rhai), "{src}: native {native:?}, rhai {rhai:?}");
            }
            let first = e.eval(&engine, &env);
            assert!(same(&first, &rhai), "{src}: {first:?} vs {rhai:?}");
        }
    }
});
