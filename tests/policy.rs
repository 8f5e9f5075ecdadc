//! Policy language: every bad-policy fixture gives its exact message
//! (snapshots), error kinds and positions asserted structurally, and the
//! shipped policies are clean.

use recoup::policy::{self, Code, Severity};
use std::path::Path;

/// Every bad-policy fixture, by folder name.
fn bad_policies() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir("fixtures/bad-policies")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn render(name: &str) -> String {
    let loaded = policy::load(Path::new(&format!("fixtures/bad-policies/{name}")));
    assert!(loaded.policy.is_none(), "{name} should be invalid");
    loaded.report.render()
}

macro_rules! snap {
    ($($name:ident = $dir:literal),+ $(,)?) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(concat!("bad_", $dir), render($dir));
        }
    )+};
}

snap! {
    toml_syntax = "toml-syntax",
    unknown_key = "unknown-key",
    wrong_type = "wrong-type",
    missing_keys = "missing-keys",
    unknown_fact = "unknown-fact",
    invoice_fact_in_customer_rule = "invoice-fact-in-customer-rule",
    unknown_function = "unknown-function",
    rhai_syntax = "rhai-syntax",
    when_not_bool = "when-not-bool",
    never_fires = "never-fires",
    overlapping_steps = "overlapping-steps",
    referral_below_step = "referral-below-step",
    floor_above_cap = "floor-above-cap",
    missing_template = "missing-template",
    unknown_ladder = "unknown-ladder",
    duplicate_id = "duplicate-id",
    mismatched_types = "mismatched-types",
    challenger_unknown_strategy = "challenger-unknown-strategy",
    challenger_share = "challenger-share",
    out_of_range = "out-of-range",
    implausible_numbers = "implausible-numbers",
    bad_kpis = "bad-kpis",
    template_field = "template-field",
    unknown_kind = "unknown-kind",
}

#[test]
fn every_bad_policy_has_a_snapshot_test() {
    let src = std::fs::read_to_string("tests/policy.rs").unwrap();
    for name in bad_policies() {
        assert!(src.contains(&format!("\"{name}\"")), "fixtures/bad-policies/{name} has no snapshot test");
    }
}

/// The kind and position of each fixture's first error, structurally.
#[test]
fn error_kinds_and_positions() {
    let cases: &[(&str, Code, usize, usize)] = &[
        ("toml-syntax", Code::TomlSyntax, 5, 10),
        ("unknown-key", Code::UnknownKey, 6, 1),
        ("wrong-type", Code::WrongType, 10, 17),
        ("unknown-fact", Code::UnknownFact, 14, 9),
        ("unknown-function", Code::UnknownFunction, 6, 10),
        ("rhai-syntax", Code::RhaiSyntax, 12, 39),
        ("never-fires", Code::NeverFires, 9, 1),
        ("overlapping-steps", Code::Overlap, 16, 17),
        ("referral-below-step", Code::ReferralBeforeStep, 22, 17),
        ("floor-above-cap", Code::FloorAboveCap, 11, 7),
        ("missing-template", Code::MissingTemplate, 12, 12),
        ("unknown-ladder", Code::UnknownReference, 7, 10),
        ("duplicate-id", Code::DuplicateId, 15, 6),
        ("invoice-fact-in-customer-rule", Code::FactNotAvailable, 9, 9),
        ("when-not-bool", Code::ExpressionType, 13, 8),
        ("missing-keys", Code::MissingKey, 1, 1),
        ("mismatched-types", Code::ExpressionType, 22, 26),
        ("challenger-unknown-strategy", Code::UnknownReference, 10, 12),
        ("challenger-share", Code::InvalidValue, 15, 9),
        ("out-of-range", Code::InvalidValue, 7, 15),
        ("implausible-numbers", Code::InvalidValue, 7, 10),
        ("bad-kpis", Code::InvalidValue, 6, 25),
        ("template-field", Code::TemplateField, 2, 34),
    ];
    for &(name, code, line, col) in cases {
        let loaded = policy::load(Path::new(&format!("fixtures/bad-policies/{name}")));
        let r = &loaded.report;
        let d = r.diagnostics.iter().find(|d| d.severity == Severity::Error).unwrap();
        assert_eq!(d.code, code, "{name}: {}", d.message);
        let span = d.span.as_ref().unwrap();
        let src = r.sources.get(span.file).unwrap();
        assert_eq!(src.line_col(span.range.start), (line, col), "{name}: {}", d.message);
    }
}

/// Money and percentages outside the supported range are refused by
/// `check`, each at its own line and column (the run would overflow).
#[test]
fn values_out_of_range_are_refused_where_they_are() {
    let loaded = policy::load(Path::new("fixtures/bad-policies/out-of-range"));
    let r = &loaded.report;
    let got: Vec<(usize, usize, &str)> = r
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let span = d.span.as_ref().unwrap();
            let (line, col) = r.sources.get(span.file).unwrap().line_col(span.range.start);
            (line, col, d.message.as_str())
        })
        .collect();
    let amounts = "amounts must be below 1,000,000,000,000 (the largest is 999999999999.99)";
    let pct = "percentages must be below 10,000";
    assert_eq!(
        got,
        vec![
            (7, 15, format!("`min_overdue` is `1000000000000`: {amounts}").as_str()),
            (10, 10, format!("`letter` is `79000000000000000000000000000`: {amounts}").as_str()),
            (15, 12, format!("`rate_pct` is `1000000000000000000000000000`: {pct}").as_str()),
            (16, 16, format!("`compensation` is `79000000000000000000000000000`: {amounts}").as_str()),
            (30, 7, format!("`fee` is `1000000000000.00`: {amounts}").as_str()),
            (38, 10, format!("`by_pct` is `1000000`: {pct}").as_str()),
        ]
    );
    assert!(loaded.policy.is_none());
}

/// Numbers that parse but make no sense (issue 19 §4): sub-cent amounts, absurd rates,
/// percentages out of range or finer than 0.0001 points; a zero-decimal currency; what is fine.
#[test]
fn implausible_numbers_are_refused() {
    let errors = |text: &str| -> Vec<String> {
        let loaded = policy::load_str("p", text);
        loaded.report.diagnostics.iter().filter(|d| d.severity == Severity::Error).map(|d| d.message.clone()).collect()
    };
    let head = "[policy]\nname = \"n\"\nversion = \"1\"\n";
    let step = |cur: &str, fee: &str| {
        format!(
            "{head}{cur}[[ladder]]\nid = \"l\"\n[[ladder.step]]\nid = \"s\"\ndays_past_due = 1\naction = \"notify_owner\"\n{fee}\n"
        )
    };
    assert_eq!(errors(&step("", "fee = \"25.00\"")), Vec::<String>::new());
    assert_eq!(errors(&step("", "fee = 25.5")), Vec::<String>::new());
    assert_eq!(errors(&step("", "fee = \"25.005\"")), ["`fee` of step `s` has 3 decimals: `25.005`"]);
    assert_eq!(errors(&step("", "fee = 25.005")).len(), 1, "a TOML float is read by its digits");
    // Trailing zeros are not precision.
    assert_eq!(errors(&step("", "fee = \"25.0000\"")), Vec::<String>::new());
    let yen = "currency = \"JPY\"\n";
    assert_eq!(errors(&step(yen, "fee = \"2500\"")), Vec::<String>::new());
    assert_eq!(errors(&step(yen, "fee = \"2500.50\"")), ["`fee` of step `s` has 1 decimal: `2500.50`"]);
    assert_eq!(errors(&step("", "fee_pct = \"100.5\"")), ["`fee_pct` of step `s` is out of range: `100.5`"]);
    assert_eq!(errors(&step("", "fee_pct = \"2.5\"")), Vec::<String>::new());
    let interest = |body: &str| errors(&format!("{head}[interest]\n{body}\n"));
    assert_eq!(interest("rate_pct = \"12\""), Vec::<String>::new());
    assert_eq!(interest("rate_pct = \"100\""), Vec::<String>::new());
    assert_eq!(
        interest("rate_pct = 1e18"),
        ["`rate_pct` is `1000000000000000000`: percentages must be below 10,000"],
        "refused once, as out of range, not again as implausible"
    );
    assert_eq!(
        interest("rate_pct = \"500\""),
        ["`rate_pct` of [interest] is 500% a year, beyond any late-payment law"]
    );
    assert_eq!(
        interest("rate_pct = \"12.123456\""),
        ["`rate_pct` of [interest] is finer than 0.0001 points: `12.123456`"]
    );
    assert_eq!(
        interest("regime = \"eu_2011_7\"\nreference_rate_pct = \"95\"\nmargin_pct = \"8\""),
        ["the interest rate (103% a year) is beyond any late-payment law"]
    );
    assert_eq!(interest("regime = \"eu_2011_7\"\nreference_rate_pct = \"-0.5\""), Vec::<String>::new());
    assert_eq!(interest("rate_pct = \"12\"\ncompensation = \"40.001\"").len(), 1);
    let limit = |body: &str| errors(&format!("{head}[[limit]]\nid = \"r\"\nwhen = \"true\"\n{body}\n"));
    assert_eq!(limit("change = \"raise\"\nby_pct = \"150\"\nround_to = \"100\""), Vec::<String>::new());
    assert_eq!(limit("change = \"raise\"\nby_pct = \"5000\"").len(), 1);
    assert_eq!(limit("change = \"set\"\nto = \"1000.999\"").len(), 1);
}

/// `[kpis]`: every bad setting refused at its own place, good ones read.
#[test]
fn kpis_settings_are_checked() {
    let loaded = policy::load(Path::new("fixtures/bad-policies/bad-kpis"));
    let r = &loaded.report;
    let got: Vec<(usize, usize, &str)> = r
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let span = d.span.as_ref().unwrap();
            let (line, col) = r.sources.get(span.file).unwrap().line_col(span.range.start);
            (line, col, d.message.as_str())
        })
        .collect();
    assert_eq!(
        got,
        [
            (6, 25, "bucket edges of [kpis] are not increasing: `60` comes after `90`"),
            (7, 22, "`promise_grace_days = -1` of [kpis] is not between 0 and 3650"),
            (
                9,
                23,
                "`trend_recent_months = 6` of [kpis] leaves nothing of the 6-month behaviour window to compare with"
            ),
            (10, 12, "`dso_days = 0` of [kpis] is not between 1 and 3650"),
            (11, 14, "`cei_months = 0` of [kpis] is not between 1 and 120"),
        ]
    );
    let head = "[policy]\nname = \"n\"\nversion = \"1\"\n";
    let good = policy::load_str(
        "p",
        &format!("{head}[kpis]\nbucket_edges = [15, 45, 90]\ndso_days = 30\npromise_grace_days = 3\n"),
    );
    let k = &good.policy.unwrap().rules.kpis;
    assert_eq!((k.bucket_edges.as_slice(), k.dso_days, k.promise_grace_days), (&[15, 45, 90][..], 30, 3));
    assert_eq!((k.behaviour_months, k.trend_recent_months, k.countback_months, k.cei_months), (12, 3, 12, 3));
    let none = policy::load_str("p", head);
    assert_eq!(none.policy.unwrap().rules.kpis, recoup::facts::FactsConfig::default());
    let empty = policy::load_str("p", &format!("{head}[kpis]\nbucket_edges = []\n"));
    assert!(empty.policy.is_none());
    let unknown = policy::load_str("p", &format!("{head}[kpis]\ndso_dayz = 30\n"));
    assert_eq!(unknown.report.diagnostics[0].code, Code::UnknownKey);
}

/// `replaces` names old ids only: not a rule of the policy, not claimed by two rules.
#[test]
fn replaces_names_old_ids_only() {
    let errors = |rules: &str| -> Vec<String> {
        let text = format!("[policy]\nname = \"n\"\nversion = \"1\"\n{rules}");
        let loaded = policy::load_str("p", &text);
        loaded.report.diagnostics.iter().filter(|d| d.severity == Severity::Error).map(|d| d.message.clone()).collect()
    };
    let step = |id: &str, reps: &str, days: u32| {
        format!(
            "[[ladder.step]]\nid = \"{id}\"\nreplaces = {reps}\ndays_past_due = {days}\naction = \"notify_owner\"\n"
        )
    };
    let review = "[[review]]\nid = \"rev\"\nevery = \"monthly\"\nreplaces = [\"credit-review\"]\n";
    let ok = format!("[[ladder]]\nid = \"l\"\n{}{review}", step("b", "[\"a\"]", 1));
    assert_eq!(errors(&ok), Vec::<String>::new());
    let live = format!("[[ladder]]\nid = \"l\"\n{}{}", step("a", "[]", 1), step("b", "[\"a\"]", 2));
    assert_eq!(errors(&live), ["step `b` replaces `a`, which is still a rule of this policy"]);
    let twice = format!("[[ladder]]\nid = \"l\"\n{}{}", step("b", "[\"a\"]", 1), step("c", "[\"a\"]", 2));
    assert_eq!(errors(&twice), ["`a` is replaced by both `b` and `c`"]);
    let bad = format!("[[ladder]]\nid = \"l\"\n{}", step("b", "[\"a b\"]", 1));
    assert_eq!(errors(&bad), ["step `b` replaces `a b`, which is not a rule id"]);
}

#[test]
fn json_diagnostics_have_positions() {
    let loaded = policy::load(Path::new("fixtures/bad-policies/unknown-fact"));
    let json = serde_json::to_value(loaded.report.to_json()).unwrap();
    let first = &json[0];
    assert_eq!(first["code"], "unknown-fact");
    assert_eq!(first["line"], 14);
    assert_eq!(first["column"], 9);
    assert_eq!(first["help"], "did you mean `invoice.days_past_due`?");
}

#[test]
fn shipped_policies_are_clean() {
    for name in ["standard", "strict", "lenient", "b2b"] {
        let dir = format!("policies/{name}");
        if !Path::new(&dir).exists() {
            continue;
        }
        let loaded = policy::load(Path::new(&dir));
        assert!(loaded.report.diagnostics.is_empty(), "{name}:\n{}", loaded.report.render());
        let p = loaded.policy.unwrap();
        let (native, all) = p.native_share();
        // strict's priority is a script function (scripts/risk.rhai): inlined, it runs natively too.
        assert_eq!(native, all, "{name}: every shipped expression should run natively");
    }
}

#[test]
fn a_missing_policy_is_an_io_error() {
    let loaded = policy::load(Path::new("fixtures/bad-policies/no-such-policy"));
    assert_eq!(loaded.report.diagnostics[0].code, Code::Io);
}

mod lowering {
    //! Lowered (native) and interpreted (rhai) evaluation agree.

    use crate::common::date;
    use proptest::prelude::*;
    use recoup::facts::{Context, FactsConfig, derive_customer};
    use recoup::ledger::LoadOptions;
    use recoup::ledger::inline::{InlineLedger, load_inline};
    use recoup::policy::expr::{Env, Out, eval_node};
    use rust_decimal::Decimal;

    fn num_leaf() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("customer.overdue_total".to_string()),
            Just("customer.max_days_past_due".to_string()),
            Just("customer.utilization".to_string()),
            Just("customer.contacts_7d".to_string()),
            Just("invoice.open_amount".to_string()),
            Just("invoice.days_past_due".to_string()),
            Just("as_of.quarter".to_string()),
            (-2000i64..2000).prop_map(|i| i.to_string()),
            (-2000.0f64..2000.0).prop_map(|f| format!("{f:.3}")),
            Just("0".to_string()),
            Just("0.0".to_string()),
        ]
    }

    /// Numbers of every kind (int, float, money) mixed by arithmetic, the
    /// built-in functions the native form knows (as calls and as methods)
    /// and `if`/`else` expressions.
    fn num() -> impl Strategy<Value = String> {
        let ops = prop_oneof![Just("+"), Just("-"), Just("*"), Just("/")];
        let unary = prop_oneof![
            Just("abs"),
            Just("to_float"),
            Just("to_int"),
            Just("to_decimal"),
            Just("floor"),
            Just("ceiling"),
            Just("round")
        ];
        let minmax = prop_oneof![Just("min"), Just("max")];
        let cmp = prop_oneof![Just("<"), Just(">="), Just("==")];
        num_leaf().prop_recursive(3, 12, 2, move |inner| {
            prop_oneof![
                (inner.clone(), ops.clone(), inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
                inner.clone().prop_map(|a| format!("-({a})")),
                (unary.clone(), inner.clone(), any::<bool>()).prop_map(|(f, a, method)| if method {
                    format!("({a}).{f}()")
                } else {
                    format!("{f}({a})")
                }),
                (minmax.clone(), inner.clone(), inner.clone()).prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
                (inner.clone(), cmp.clone(), inner.clone(), inner.clone(), inner)
                    .prop_map(|(a, c, b, x, y)| format!("(if {a} {c} {b} {{ {x} }} else {{ {y} }})")),
            ]
        })
    }

    fn boolean() -> impl Strategy<Value = String> {
        let cmp = prop_oneof![Just("=="), Just("!="), Just("<"), Just("<="), Just(">"), Just(">=")];
        let text = prop_oneof![
            Just("customer.segment".to_string()),
            Just("\"small\"".to_string()),
            Just("\"mid_market\"".to_string())
        ];
        let eq = prop_oneof![Just("=="), Just("!=")];
        let leaf = prop_oneof![
            Just("customer.do_not_contact".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            (num(), cmp, num()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            (text.clone(), eq, text).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        ];
        let logic = prop_oneof![Just("&&"), Just("||"), Just("=="), Just("!=")];
        leaf.prop_recursive(3, 16, 2, move |inner| {
            prop_oneof![
                (inner.clone(), logic.clone(), inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
                inner.prop_map(|a| format!("!({a})")),
            ]
        })
    }

    fn expr() -> impl Strategy<Value = String> {
        prop_oneof![num(), boolean()]
    }

    fn facts() -> impl Strategy<Value = (i64, i32, f64, u32, bool, i64, i32)> {
        (
            -1_000_000i64..10_000_000,
            -60i32..400,
            prop_oneof![Just(0.0), 0.0f64..3.0],
            0u32..5,
            any::<bool>(),
            0i64..5_000_000,
            -60i32..400,
        )
    }

    /// Equal results (NaN equals NaN), or both errors with the same message.
    fn same(
        a: &Result<Out, recoup::policy::expr::ExprError>,
        b: &Result<Out, recoup::policy::expr::ExprError>,
    ) -> bool {
        match (a, b) {
            (Ok(Out::Float(x)), Ok(Out::Float(y))) if x.is_nan() && y.is_nan() => true,
            (Ok(x), Ok(y)) => x == y,
            (Err(x), Err(y)) => x.message == y.message,
            _ => false,
        }
    }

    /// A script function with value and scope parameters, `let`s and a
    /// final expression that reads them, called from an expression.
    fn script() -> impl Strategy<Value = (String, String)> {
        (num(), num(), num(), expr()).prop_map(|(arg, a, b, body)| {
            let body = body
                .replace("customer.contacts_7d", "x")
                .replace("invoice.days_past_due", "y")
                .replace("as_of.quarter", "v");
            let text =
                format!("fn f(customer, invoice, as_of, v) {{\n    let x = {a};\n    let y = {b};\n    {body}\n}}\n");
            (format!("m::f(customer, invoice, as_of, {arg})"), text)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn inlined_scripts_and_rhai_agree((src, text) in script(), f in facts()) {
            let Ok((e, engine)) = recoup::policy::expression_with_scripts(&src, true, &[("m", &text)]) else {
                return Ok(());
            };
            check_agree(&src, &e, &engine, f)?;
        }
    }

    fn check_agree(
        src: &str,
        e: &recoup::policy::expr::Expression,
        engine: &rhai::Engine,
        f: (i64, i32, f64, u32, bool, i64, i32),
    ) -> Result<(), TestCaseError> {
        let Some(node) = &e.native else { return Ok(()) };
        let l = load_inline(
            &InlineLedger {
                customers: "customer_id,name,segment,country,currency,credit_limit,payment_terms\nC1,A,small,US,USD,1000.00,NET30",
                invoices: "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\nI1,C1,2026-01-01,2026-01-31,USD,100.00,100.00,open",
                ..InlineLedger::default()
            },
            &LoadOptions::default(),
        )
        .unwrap();
        let ctx = Context::new(date("2026-03-01"), FactsConfig::default());
        let mut buf = Vec::new();
        let mut cf = derive_customer(&l, 0, &ctx, &mut buf);
        cf.overdue_total = Decimal::new(f.0, 2);
        cf.max_days_past_due = f.1;
        cf.utilization = f.2;
        cf.contacts_7d = f.3;
        let mut inv = buf[0].clone();
        inv.days_past_due = f.6;
        let cal = ctx.calendar();
        let env = Env { customer: &cf, invoice: Some(&inv), cal: &cal };
        let rhai = e.eval_rhai(engine, &env).map(|d| Out::of_dynamic(&d));
        if let Ok(v) = eval_node(node, &env) {
            let native = match v {
                recoup::policy::expr::Val::Int(i) => Out::Int(i),
                recoup::policy::expr::Val::Float(x) => Out::Float(x),
                recoup::policy::expr::Val::Dec(d) => Out::Dec(d),
                recoup::policy::expr::Val::Bool(b) => Out::Bool(b),
                recoup::policy::expr::Val::Str(s) => Out::Str(s.to_string()),
            };
            prop_assert!(same(&Ok(native.clone()), &rhai), "{src}: native {native:?}, rhai {rhai:?}");
        }
        // Native-first evaluation never disagrees with rhai either.
        let first = e.eval(engine, &env);
        prop_assert!(same(&first, &rhai), "{src}: {first:?} vs {rhai:?}");
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn native_and_rhai_agree(src in expr(), f in facts()) {
            let Ok((e, engine)) = recoup::policy::expression(&src, true) else { return Ok(()) };
            check_agree(&src, &e, &engine, f)?;
        }
    }

    #[test]
    fn script_functions_are_inlined_unless_shadowed() {
        let risk = std::fs::read_to_string("policies/strict/scripts/risk.rhai").unwrap();
        let (e, _) =
            recoup::policy::expression_with_scripts("risk::score(customer)", false, &[("risk", &risk)]).unwrap();
        assert!(e.native.is_some(), "strict's score is inlined");
        // Each function of a script of several is inlined with its own body only.
        let two = "fn a(c) { c.trend + 1.0 }\nfn b(c) { let y = c.trend * 3.0; y }\n";
        for src in ["m::a(customer) == customer.trend + 1.0", "m::b(customer) == customer.trend * 3.0"] {
            let (e, engine) = recoup::policy::expression_with_scripts(src, false, &[("m", two)]).unwrap();
            assert!(e.native.is_some(), "{src} is inlined");
            check_agree(src, &e, &engine, (100, 3, 0.5, 0, false, 0, 3)).unwrap();
        }
        // A script's own `abs` is what its functions call: not the built-in.
        let shadow = "private fn abs(x) { 42.0 }\nfn f(c) { abs(c.trend) }\n";
        let (e, _) = recoup::policy::expression_with_scripts("m::f(customer)", false, &[("m", shadow)]).unwrap();
        assert!(e.native.is_none(), "a shadowed built-in runs in rhai");
        // Loops, assignments and a function without a value stay in rhai.
        for text in [
            "fn f(c) { let x = 0; for i in 0..3 { x += i; } x }",
            "fn f(c) { let x = 1; x = 2; x }",
            "fn f(c) { let x = c.trend; }",
        ] {
            let (e, _) = recoup::policy::expression_with_scripts("m::f(customer)", false, &[("m", text)]).unwrap();
            assert!(e.native.is_none(), "{text}");
        }
    }

    #[test]
    fn the_common_subset_is_lowered() {
        for src in [
            "customer.overdue_total > 1000",
            "customer.utilization > 0.9 && customer.avg_days_late > 15",
            "!customer.do_not_contact || invoice.days_past_due >= 30",
            "customer.overdue_total / 1000 + customer.max_days_past_due * 0.5",
            "as_of.quarter == 4",
            "customer.segment == \"enterprise\"",
            "abs(customer.trend) < 10",
            "max(customer.overdue_total, 100) > min(invoice.open_amount, 2000)",
            "customer.max_days_past_due.to_float() / 10.0 > 3.5",
            "(if customer.trend > 5.0 { 10.0 } else { 0.0 }) > 1",
        ] {
            let (e, _) = recoup::policy::expression(src, true).unwrap();
            assert!(e.native.is_some(), "{src}");
        }
        for src in [
            "customer.segment.len() > 3",
            "sqrt(customer.utilization) < 10.0",
            "customer.segment in [\"a\", \"b\"]",
            "(if customer.trend > 5.0 { 10 } else { 0.0 }) > 1",
        ] {
            let (e, _) = recoup::policy::expression(src, true).unwrap();
            assert!(e.native.is_none(), "{src} runs in rhai");
        }
    }
}

#[test]
fn shipped_policies_pass_their_own_tests() {
    for name in ["standard", "strict", "lenient", "b2b"] {
        let dir = Path::new("policies").join(name);
        let p = policy::compile_path(&dir).unwrap().0;
        let run = policy::cases::run_tests(&p, &dir, None);
        assert!(run.report.diagnostics.is_empty(), "{}", run.report.render());
        assert!(run.cases.len() >= 5, "{name} has too few tests");
        assert_eq!(run.failed(), 0, "{name}:\n{}", policy::cases::render(&run));
    }
}

#[test]
fn a_failing_policy_test_shows_a_diff() {
    let dir = Path::new("fixtures/engine/failing-test");
    let p = policy::compile_path(dir).unwrap().0;
    let run = policy::cases::run_tests(&p, dir, None);
    assert_eq!((run.passed(), run.failed()), (1, 2));
    insta::assert_snapshot!("failing_policy_test", policy::cases::render(&run));
}

#[test]
fn check_and_test_exit_codes() {
    use crate::cli::recoup;
    let (code, out, _) = recoup(&["check", "policies/standard"], None);
    assert_eq!(code, 0);
    assert!(out.starts_with("ok: policy `standard` 2026.11"), "{out}");
    let (code, _, err) = recoup(&["check", "fixtures/bad-policies/unknown-fact"], None);
    assert_eq!(code, 3);
    assert!(err.contains("error: unknown fact `invoice.days_pst_due` in step `late-fee`"), "{err}");
    assert!(err.ends_with("is invalid: 2 errors, 0 warnings\n"), "{err}");
    let (code, out, _) = recoup(&["check", "fixtures/bad-policies/unknown-fact", "--format", "json"], None);
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["diagnostics"][0]["code"], "unknown-fact");
    let (code, out, _) = recoup(&["check", "fixtures/bad-policies/unknown-ladder", "--deny-warnings"], None);
    assert_eq!((code, out.as_str()), (3, ""));
    let (code, out, _) = recoup(&["test", "policies/standard"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with(" passed, 0 failed\n"), "{out}");
    let (code, _, err) = recoup(&["test", "fixtures/engine/failing-test"], None);
    assert_eq!(code, 6);
    assert!(err.contains("2 of 3 policy test(s) failed"), "{err}");
    let (code, _, _) = recoup(&["test", "fixtures/bad-policies/toml-syntax"], None);
    assert_eq!(code, 3);
}

mod schema {
    //! The generated JSON Schema accepts every shipped policy and test file,
    //! and rejects what `check` rejects structurally (unknown keys, wrong types).

    use recoup::policy::schema::{json_of, policy_schema, tests_schema};
    use serde_json::Value;
    use std::path::Path;

    fn type_ok(t: &str, v: &Value) -> bool {
        match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "null" => v.is_null(),
            _ => true,
        }
    }

    /// A small validator for the subset of JSON Schema that schemars emits.
    fn check(root: &Value, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            check(root, &root["$defs"][name], v, at, errs);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = s.get(key).and_then(Value::as_array) {
                let ok = alts
                    .iter()
                    .filter(|a| {
                        let mut e = Vec::new();
                        check(root, a, v, at, &mut e);
                        e.is_empty()
                    })
                    .count();
                if (key == "anyOf" && ok == 0) || (key == "oneOf" && ok != 1) {
                    errs.push(format!("{at}: {v} matches {ok} of the {key} alternatives"));
                }
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            errs.push(format!("{at}: {v} is not one of {e:?}"));
        }
        if let Some(c) = s.get("const")
            && c != v
        {
            errs.push(format!("{at}: {v} is not {c}"));
        }
        match s.get("type") {
            Some(Value::String(t)) if !type_ok(t, v) => errs.push(format!("{at}: {v} is not {t}")),
            Some(Value::Array(ts)) if !ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)) => {
                errs.push(format!("{at}: {v} is none of {ts:?}"))
            }
            _ => {}
        }
        if let Some(min) = s.get("minimum").and_then(Value::as_f64)
            && v.as_f64().is_some_and(|x| x < min)
        {
            errs.push(format!("{at}: {v} < {min}"));
        }
        if let Some(obj) = v.as_object() {
            let props = s.get("properties").and_then(Value::as_object);
            for (k, x) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(ps) => check(root, ps, x, &format!("{at}.{k}"), errs),
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => errs.push(format!("{at}: unknown key `{k}`")),
                        Some(ap @ Value::Object(_)) => check(root, ap, x, &format!("{at}.{k}"), errs),
                        _ => {}
                    },
                }
            }
            for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                if !obj.contains_key(r.as_str().unwrap_or("")) {
                    errs.push(format!("{at}: missing `{r}`"));
                }
            }
        }
        if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
            for (i, x) in arr.iter().enumerate() {
                check(root, items, x, &format!("{at}[{i}]"), errs);
            }
        }
    }

    fn errors(schema: &Value, toml_text: &str) -> Vec<String> {
        let v = json_of(&toml::Value::Table(toml::from_str::<toml::Table>(toml_text).unwrap()));
        let mut errs = Vec::new();
        check(schema, schema, &v, "$", &mut errs);
        errs
    }

    #[test]
    fn accepts_every_shipped_policy_and_test_file() {
        let (ps, ts) = (policy_schema(), tests_schema());
        for name in ["standard", "strict", "lenient", "b2b"] {
            let dir = Path::new("policies").join(name);
            let text = std::fs::read_to_string(dir.join("policy.toml")).unwrap();
            assert_eq!(errors(&ps, &text), Vec::<String>::new(), "{name}");
            for t in recoup::policy::cases::test_files(&dir) {
                let text = std::fs::read_to_string(&t).unwrap();
                assert_eq!(errors(&ts, &text), Vec::<String>::new(), "{}", t.display());
            }
        }
    }

    #[test]
    fn the_starter_policy_passes_and_a_missing_required_key_is_flagged() {
        let ps = policy_schema();
        let starter = include_str!("../src/cli/init/policy.toml");
        assert_eq!(errors(&ps, starter), Vec::<String>::new());
        let without: String = starter.lines().filter(|l| !l.starts_with("name = ")).map(|l| format!("{l}\n")).collect();
        assert_eq!(errors(&ps, &without), vec!["$.policy: missing `\"name\"`".to_string()]);
        let no_action = "[policy]\nname = \"x\"\nversion = \"1\"\n[[ladder]]\nid = \"l\"\n[[ladder.step]]\nid = \"s\"\ndays_past_due = 1\n";
        assert!(
            errors(&ps, no_action).iter().any(|e| e.contains("missing `\"action\"`")),
            "{:?}",
            errors(&ps, no_action)
        );
    }

    #[test]
    fn rejects_unknown_keys_and_wrong_types() {
        let ps = policy_schema();
        let bad = std::fs::read_to_string("fixtures/bad-policies/unknown-key/policy.toml").unwrap();
        let e = errors(&ps, &bad);
        assert!(e.iter().any(|x| x.contains("unknown key `max_contacts_per_week`")), "{e:?}");
        assert!(e.iter().any(|x| x.contains("unknown key `days_past_du`")), "{e:?}");
        let bad = std::fs::read_to_string("fixtures/bad-policies/wrong-type/policy.toml").unwrap();
        let e = errors(&ps, &bad);
        assert!(e.iter().any(|x| x.contains("days_past_due")), "{e:?}");
        // `emial` could be a kind the policy declares under [kinds]: `check` refuses it, the
        // schema cannot; an action that is not a word it flags.
        let bad = bad.replace("\"emial\"", "5");
        let e = errors(&ps, &bad);
        assert!(e.iter().any(|x| x.contains("step[1].action")), "{e:?}");
    }

    #[test]
    fn documents_every_key() {
        // Every property of every table carries a description (editors show it on hover),
        // except the unit costs, which are named by their action.
        let ps = policy_schema();
        let mut missing = Vec::new();
        for (name, def) in ps["$defs"].as_object().unwrap() {
            if name == "Costs" {
                continue;
            }
            for (k, p) in def.get("properties").and_then(Value::as_object).into_iter().flatten() {
                let described = p.get("description").is_some()
                    || p.get("$ref").is_some_and(|r| {
                        let d = r.as_str().unwrap().trim_start_matches("#/$defs/");
                        ps["$defs"][d].get("description").is_some()
                    });
                if !described {
                    missing.push(format!("{name}.{k}"));
                }
            }
        }
        assert!(missing.is_empty(), "no description: {missing:?}");
    }
}

#[test]
fn the_reference_documents_every_key() {
    let doc = std::fs::read_to_string("docs/policy.md").unwrap();
    let mut missing = Vec::new();
    for schema in [policy::schema::policy_schema(), policy::schema::tests_schema()] {
        for (name, def) in schema["$defs"].as_object().unwrap() {
            for k in def.get("properties").and_then(|p| p.as_object()).into_iter().flatten().map(|(k, _)| k) {
                if !doc.contains(&format!("`{k}`")) && !doc.contains(&format!(" {k} ")) {
                    missing.push(format!("{name}.{k}"));
                }
            }
        }
    }
    for code in [
        "io",
        "toml-syntax",
        "unknown-key",
        "wrong-type",
        "missing-key",
        "invalid-value",
        "duplicate-id",
        "unknown-reference",
        "unknown-fact",
        "fact-not-available",
        "unknown-function",
        "rhai-syntax",
        "expression-type",
        "script-error",
        "step-order",
        "never-fires",
        "overlap",
        "referral-before-step",
        "floor-above-cap",
        "missing-template",
        "unused",
        "suspicious",
    ] {
        if !doc.contains(&format!("`{code}`")) {
            missing.push(format!("code {code}"));
        }
    }
    for f in recoup::policy::script::FUNCTIONS {
        if !doc.contains(f) {
            missing.push(format!("function {f}"));
        }
    }
    assert!(missing.is_empty(), "docs/policy.md does not mention: {missing:?}");
}

#[test]
fn the_cookbook_compiles() {
    // Each cookbook recipe, completed into a minimal policy, is valid.
    let base = "[policy]\nname = \"c\"\nversion = \"1\"\n";
    let ladder = "[[ladder]]\nid = \"l\"\n";
    let recipes = [
        format!(
            "{base}currency = \"EUR\"\n[interest]\nregime = \"eu_2011_7\"\nreference_rate_pct = \"2.15\"\n{ladder}[[ladder.step]]\nid = \"final-demand\"\ndays_past_due = 30\naction = \"letter\"\ntemplate = \"final-demand\"\ninterest = true\ncompensation = true\n"
        ),
        format!(
            "{base}pace = \"jump\"\n{ladder}[[ladder.step]]\nid = \"agency\"\ndays_past_due = 60\naction = \"refer_agency\"\nwhen = \"customer.contacts_90d >= 1\"\n"
        ),
        format!(
            "{base}[[incentive]]\nid = \"q4-early-pay\"\nquarters = [4]\nwhen = \"customer.on_time_ratio >= 0.8 && customer.overdue_total == 0\"\ndiscount_pct = \"2.0\"\npay_within_days = 10\nmax_discount = \"1000.00\"\ntemplate = \"q4-early-pay\"\n"
        ),
        format!(
            "{base}{ladder}[[ladder.step]]\nid = \"call\"\ndays_past_due = 21\naction = \"call\"\nwhen = 'customer.segment != \"small\"'\noptional = true\n"
        ),
        format!(
            "{base}[[limit]]\nid = \"release-hold\"\nchange = \"release\"\nwhen = \"customer.on_hold && customer.max_days_past_due < 30\"\npriority = 10\n[[review]]\nid = \"review-high-risk\"\nrisk_class = \"high\"\nevery = \"monthly\"\n"
        ),
        format!(
            "{base}[priority]\nscore = \"customer.overdue_total / 1000 + customer.max_days_past_due * 0.5\"\nweights = {{ overdue_total = 0.001, max_days_past_due = 0.5, promises_broken = 10 }}\n"
        ),
    ];
    for r in &recipes {
        let loaded = policy::load_str("recipe.toml", r);
        assert!(loaded.policy.is_some(), "{r}\n{}", loaded.report.render());
    }
}

/// `[amounts]`: `amounts.<name>` in a `when` is the amount for the
/// customer's currency; a currency with none fails that customer's rule
/// with a message naming the amount, and `check --ledger` warns of it.
#[test]
fn named_amounts_are_read_in_each_customers_currency() {
    use recoup::ledger::LoadOptions;
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let text = "[policy]\nname = \"n\"\nversion = \"1\"\ncurrency = \"USD\"\n\
                [amounts]\nbig = { USD = \"100.00\", EUR = \"200.00\" }\nfloor = \"10\"\n\
                [[ladder]]\nid = \"l\"\n[[ladder.step]]\nid = \"tell\"\ndays_past_due = 1\naction = \"notify_owner\"\n\
                when = \"customer.overdue_total > amounts.big && customer.overdue_total > amounts.floor\"\n";
    let loaded = policy::load_str("p", text);
    let p = loaded.policy.unwrap_or_else(|| panic!("{}", loaded.report.render()));
    assert_eq!(p.native_share(), (1, 1), "each currency's variant runs natively");
    // Each customer owes 150.00, 10 days overdue.
    let ledger = load_inline(
        &InlineLedger {
            customers: "customer_id,name,segment,country,currency,credit_limit,payment_terms\n\
                        C1,A,small,US,USD,1000.00,NET30\nC2,B,small,DE,EUR,1000.00,NET30\nC3,C,small,GB,GBP,1000.00,NET30\n",
            invoices: "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                       I1,C1,2026-10-07,2026-11-06,USD,150.00,150.00,open\n\
                       I2,C2,2026-10-07,2026-11-06,EUR,150.00,150.00,open\n\
                       I3,C3,2026-10-07,2026-11-06,GBP,150.00,150.00,open\n",
            payments: None,
            promises: None,
            actions: None,
        },
        &LoadOptions::default(),
    )
    .unwrap();
    let got = recoup::engine::evaluate_ledger(&p, &ledger, &p.context(crate::common::date("2026-11-16")));
    // USD: 150 > 100 fires; EUR: 150 > 200 does not; GBP: no amount.
    assert_eq!(got[0].as_ref().unwrap().len(), 1);
    assert_eq!(got[1].as_ref().unwrap().len(), 0);
    let e = got[2].as_ref().unwrap_err();
    assert_eq!(e.message, "[amounts] `big` gives no amount for GBP, the customer's currency: add it to [amounts]");
    let gaps = p.rules.currency_gaps(&[("EUR".into(), 1), ("GBP".into(), 1), ("USD".into(), 1)]);
    assert_eq!(
        gaps[0],
        "[amounts] big (EUR 200.00 / USD 100.00) gives no amount for GBP (1 customer): a rule reading it fails \
         for them (`on_script_error`); add their currency"
    );
    assert!(gaps[1].starts_with("[amounts] floor is 10.00 USD (the policy's currency)"), "{gaps:?}");
    // An unknown name is refused where it is written.
    let bad = policy::load_str("p", &text.replace("amounts.floor", "amounts.flor"));
    let d = &bad.report.diagnostics[0];
    assert_eq!((d.code, d.message.as_str()), (Code::UnknownFact, "unknown amount `amounts.flor` in step `tell`"));
    assert_eq!(d.help.as_deref(), Some("did you mean `floor`?"));
    let span = d.span.as_ref().unwrap();
    assert_eq!(bad.report.sources.get(span.file).unwrap().line_col(span.range.start), (14, 74));
    // Not an amount: text in quotes, another variable's field.
    let quoted = policy::load_str(
        "p",
        &text.replace("&& customer.overdue_total > amounts.floor", "&& customer.segment != \\\"amounts.x\\\""),
    );
    assert!(quoted.policy.is_some(), "{}", quoted.report.render());
}

/// `[costs]` per currency: each action costs its customer's currency's
/// amount; a share is of the amount in the customer's currency; a currency
/// left out counts no cost and is warned of.
#[test]
fn costs_are_given_per_currency() {
    use recoup::ledger::ActionKind;
    use rust_decimal::Decimal;
    let head = "[policy]\nname = \"n\"\nversion = \"1\"\ncurrency = \"USD\"\n";
    let loaded = policy::load_str(
        "p",
        &format!("{head}[costs]\ncall = {{ USD = \"4.50\", GBP = \"3.90\" }}\nrefer_agency = \"20%\"\n"),
    );
    let p = loaded.policy.unwrap();
    let c = &p.rules.costs;
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    assert_eq!(c.of(ActionKind::Call, d("100"), "USD"), d("4.50"));
    assert_eq!(c.of(ActionKind::Call, d("100"), "GBP"), d("3.90"));
    assert_eq!(c.of(ActionKind::Call, d("100"), "EUR"), d("0"));
    // 20 % of 1,234.56 = 246.912 → 246.91, in whichever currency the amount is.
    assert_eq!(c.of(ActionKind::ReferAgency, d("1234.56"), "EUR"), d("246.91"));
    let gaps = p.rules.currency_gaps(&[("EUR".into(), 2), ("GBP".into(), 1), ("USD".into(), 1)]);
    assert_eq!(
        gaps,
        ["[costs] call (GBP 3.90 / USD 4.50) gives no amount for EUR (2 customers): their actions count no cost; \
          add their currency"]
    );
    let bad = policy::load_str("p", &format!("{head}[costs]\ncall = {{ usd = \"4.50\", GBP = \"-1\" }}\n"));
    let errors: Vec<&str> = bad.report.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        errors,
        ["`call` of [costs] is negative for GBP: `-1`", "`call` of [costs]: `usd` is not a 3-letter currency code"]
    );
}
