//! Messages: templates rendered for the demo (`recoup preview`), and the
//! outbox `recoup run` writes (docs/outbox.md).

use crate::cli::recoup;

fn preview(customer: &str) -> (i32, String, String) {
    recoup(
        &[
            "preview",
            "--ledger",
            "fixtures/demo",
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--customer",
            customer,
        ],
        None,
    )
}

/// An English email, a German one, a letter with fee and interest, and an
/// email step sent by SMS for a customer without email.
#[test]
fn preview_prints_the_rendered_messages() {
    let mut all = String::new();
    for c in ["C000020", "C000373", "C000117", "C000159", "C000038"] {
        let (code, out, err) = preview(c);
        assert_eq!(code, 0, "{err}");
        all.push_str(&out);
        all.push('\n');
    }
    insta::assert_snapshot!("demo_preview", all);
}

#[test]
fn preview_of_an_unknown_customer_is_an_input_error() {
    let (code, _, err) = preview("C999999");
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("unknown customer `C999999`"), "{err}");
}
