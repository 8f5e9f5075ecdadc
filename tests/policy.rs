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
    for name in ["standard", "strict", "lenient"] {
        let dir = format!("policies/{name}");
        if !Path::new(&dir).exists() {
            continue;
        }
        let loaded = policy::load(Path::new(&dir));
        assert!(loaded.report.diagnostics.is_empty(), "{name}:\n{}", loaded.report.render());
        let p = loaded.policy.unwrap();
        let (native, all) = p.native_share();
        assert_eq!(native, all, "{name}: every shipped expression should run natively");
    }
}

#[test]
fn a_missing_policy_is_an_io_error() {
    let loaded = policy::load(Path::new("fixtures/bad-policies/no-such-policy"));
    assert_eq!(loaded.report.diagnostics[0].code, Code::Io);
}
