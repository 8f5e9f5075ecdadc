//! Ledger loading: every kind of bad input gives the exact error (kind, file,
//! line, column), all problems come in one pass, and counts add up.

use crate::common::{date, repo};
use recoup::ledger::{FileKind, LoadError, LoadOptions, Problem, ProblemKind, Severity, load};
use rust_decimal::Decimal;
use std::str::FromStr;

fn problems(name: &str) -> Vec<Problem> {
    match load(&repo(&format!("fixtures/bad/{name}")), &LoadOptions::default()) {
        Err(LoadError::BadRows { problems, .. }) => problems,
        other => panic!("{name}: expected bad rows, got {other:?}"),
    }
}

/// The first problem of a bad fixture: (file, line, column, kind).
fn first(name: &str) -> (FileKind, u64, Option<String>, ProblemKind) {
    let p = problems(name).into_iter().next().unwrap();
    assert_eq!(p.severity, Severity::Error);
    (p.file, p.line, p.column, p.kind)
}

fn col(s: &str) -> Option<String> {
    Some(s.to_string())
}

fn bad_value(expected: &str) -> ProblemKind {
    ProblemKind::BadValue { expected: expected.to_string() }
}

#[test]
fn each_kind_of_bad_input_names_file_line_and_column() {
    use FileKind::*;
    let number = "a decimal number such as 1234.50 (no thousands separators, no currency sign)";
    let cases = [
        ("bad-number", (Invoices, 2, col("amount"), bad_value(number))),
        ("bad-date", (Invoices, 3, col("due_date"), bad_value("a date as YYYY-MM-DD, e.g. 2026-11-16"))),
        ("missing-value", (Customers, 3, col("name"), bad_value("a value (this column is required)"))),
        ("unknown-enum", (Invoices, 7, col("status"), bad_value("one of open, paid, disputed, written_off"))),
        ("not-positive", (Payments, 4, col("amount"), ProblemKind::NotPositive)),
        ("open-exceeds-amount", (Invoices, 2, col("open_amount"), ProblemKind::OpenExceedsAmount)),
        (
            "due-before-issue",
            (Invoices, 2, col("due_date"), ProblemKind::DateOrder { other_column: "issue_date".into() }),
        ),
        ("duplicate-id", (Invoices, 5, col("invoice_id"), ProblemKind::DuplicateId { first_line: 4 })),
        ("unknown-customer", (Invoices, 7, col("customer_id"), ProblemKind::UnknownCustomer)),
        ("unknown-invoice", (Payments, 3, col("invoice_id"), ProblemKind::UnknownInvoice)),
        (
            "currency-mismatch",
            (Invoices, 7, col("currency"), ProblemKind::CurrencyMismatch { customer_currency: "EUR".into() }),
        ),
        (
            "customer-mismatch",
            (Payments, 5, col("invoice_id"), ProblemKind::CustomerMismatch { invoice_customer: "C2".into() }),
        ),
        ("paid-with-open-amount", (Invoices, 4, col("open_amount"), ProblemKind::PaidWithOpenAmount)),
        ("field-count", (Payments, 2, None, ProblemKind::FieldCount { expected: 5, found: 6 })),
        (
            "bad-action-outcome",
            (
                Actions,
                4,
                col("outcome"),
                bad_value(
                    "one of pending, sent, delivered, bounced, answered, no_answer, promise, failed, cancelled, opened, conversation, returned_mail, wrong_number",
                ),
            ),
        ),
        ("too-precise", (Invoices, 2, col("amount"), bad_value("an amount with at most 2 decimals in USD"))),
    ];
    for (name, want) in cases {
        assert_eq!(first(name), want, "fixture {name}");
    }
}

#[test]
fn rows_referring_to_a_rejected_row_say_so() {
    let p = problems("bad-date");
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].file, FileKind::Payments);
    assert_eq!(p[1].line, 4);
    assert_eq!(p[1].kind, ProblemKind::RejectedReference { file: FileKind::Invoices, line: 3 });
}

#[test]
fn all_problems_come_in_one_pass() {
    let p = problems("many");
    let at: Vec<(FileKind, u64)> = p.iter().map(|p| (p.file, p.line)).collect();
    use FileKind::*;
    assert_eq!(
        at,
        vec![(Invoices, 3), (Invoices, 7), (Payments, 2), (Payments, 4), (Promises, 2), (Actions, 6), (Actions, 7)]
    );
}

#[test]
fn structural_errors_refuse_the_ledger() {
    match load(&repo("fixtures/bad/missing-column"), &LoadOptions::default()) {
        Err(LoadError::MissingColumn { file, column, did_you_mean }) => {
            assert_eq!((file, column, did_you_mean.as_deref()), ("invoices.csv", "due_date", Some("due_dt")));
        }
        other => panic!("{other:?}"),
    }
    match load(&repo("fixtures/bad/missing-file"), &LoadOptions::default()) {
        Err(LoadError::MissingFile { path }) => assert!(path.ends_with("payments.csv")),
        other => panic!("{other:?}"),
    }
}

/// A header that names a column twice is refused (the first one used to
/// win silently), naming the file and both positions; exit 4 from the CLI.
#[test]
fn a_duplicated_column_is_refused() {
    match load(&repo("fixtures/bad/duplicate-column"), &LoadOptions { reject_bad_rows: true }) {
        Err(e @ LoadError::DuplicateColumn { .. }) => {
            let LoadError::DuplicateColumn { file, ref column, first, second } = e else { unreachable!() };
            assert_eq!((file, column.as_str(), first, second), ("invoices.csv", "open_amount", 7, 11));
            assert_eq!(e.location(), Some(("invoices.csv", 1)));
            assert_eq!(
                e.to_string(),
                "`invoices.csv` has the column `open_amount` twice, in positions 7 and 11; refusing to guess which one holds the data"
            );
        }
        other => panic!("{other:?}"),
    }
    let (code, _, stderr) =
        crate::cli::recoup(&["facts", "--ledger", "fixtures/bad/duplicate-column", "--as-of", "2026-11-16"], None);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("fixtures/bad/duplicate-column/invoices.csv:1"), "{stderr}");
}

/// A header-only ledger (0 customers) is loaded with a warning, never
/// silently; the run writes its empty plan and exits 0 (README, "Exit codes").
#[test]
fn a_ledger_without_customers_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    std::fs::create_dir(&dir).unwrap();
    for f in ["customers.csv", "invoices.csv", "payments.csv"] {
        let header = std::fs::read_to_string(repo("fixtures/small").join(f)).unwrap();
        std::fs::write(dir.join(f), header.lines().next().unwrap().to_string() + "\n").unwrap();
    }
    let l = load(&dir, &LoadOptions::default()).unwrap();
    let w: Vec<_> = l.report.warnings.iter().map(|w| (w.file, w.line, w.severity, w.kind.clone())).collect();
    assert_eq!(w, vec![(FileKind::Customers, 1, Severity::Warning, ProblemKind::NoCustomers)]);
    let out = tmp.path().join("out");
    let args = ["run", "--ledger", dir.to_str().unwrap(), "--policy", "policies/standard"];
    let (code, _, stderr) =
        crate::cli::recoup(&[&args[..], &["--as-of", "2026-11-16", "--out", out.to_str().unwrap()]].concat(), None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: customers.csv has a header and no rows: the ledger is empty"), "{stderr}");
    // One customer is enough to say nothing.
    let l = load(&repo("fixtures/small"), &LoadOptions::default()).unwrap();
    assert!(l.report.warnings.is_empty());
}

#[test]
fn warnings_do_not_reject() {
    let l = load(&repo("fixtures/bad/overpaid"), &LoadOptions::default()).unwrap();
    let w: Vec<_> = l.report.warnings.iter().map(|w| (w.file, w.line, w.kind.clone())).collect();
    assert_eq!(
        w,
        vec![(FileKind::Payments, 6, ProblemKind::Overpaid { paid: "1010.00".into(), amount: "1000.00".into() })]
    );
    let l = load(&repo("fixtures/bad/unknown-column"), &LoadOptions::default()).unwrap();
    assert_eq!(l.report.warnings.len(), 1);
    assert_eq!(l.report.warnings[0].kind, ProblemKind::UnknownColumn);
    assert_eq!(l.report.warnings[0].column.as_deref(), Some("note"));
    assert_eq!(l.payments.len(), 4);
}

#[test]
fn reject_mode_loads_the_rest_and_counts_add_up() {
    let opts = LoadOptions { reject_bad_rows: true };
    let l = load(&repo("fixtures/bad/many"), &opts).unwrap();
    let r = &l.report;
    for (kind, c) in r.files() {
        assert_eq!(c.read, c.loaded + c.rejected, "{kind:?}");
    }
    assert_eq!((r.invoices.read, r.invoices.loaded, r.invoices.rejected), (6, 4, 2));
    assert_eq!((r.payments.read, r.payments.loaded, r.payments.rejected), (4, 2, 2));
    assert_eq!((r.promises.loaded, r.actions.loaded), (1, 4));
    assert_eq!(l.invoices.len() as u64, r.invoices.loaded);
    assert_eq!(r.rejects.len(), 7);
}

#[test]
fn the_small_ledger_loads_clean() {
    let l = load(&repo("fixtures/small"), &LoadOptions::default()).unwrap();
    assert!(l.report.warnings.is_empty(), "{:?}", l.report.warnings);
    assert_eq!((l.customers.len(), l.invoices.len(), l.payments.len()), (3, 6, 4));
    assert_eq!((l.promises.len(), l.actions.len()), (2, 6));
    // A quoted name with a comma survives.
    assert_eq!(&*l.customers[0].name, "Acme, Inc.");
    assert_eq!(l.report.hashes.len(), 5);
}

#[test]
fn large_amounts_load_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let small = repo("fixtures/small");
    for f in ["customers.csv", "payments.csv"] {
        std::fs::copy(small.join(f), dir.path().join(f)).unwrap();
    }
    let inv = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
               I1,C1,2026-01-01,2026-01-31,USD,999999999999.99,37298.60,open\n\
               I3,C1,2026-01-01,2026-01-31,USD,3000.00,0.00,paid\n\
               I4,C1,2026-01-01,2026-01-31,USD,1000.00,0.00,paid\n\
               I2,C1,2026-01-01,2026-01-31,USD,2000.00,1500.00,open\n";
    std::fs::write(dir.path().join("invoices.csv"), inv).unwrap();
    let l = load(dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(l.invoices[0].amount, Decimal::from_str("999999999999.99").unwrap());
    assert_eq!(l.invoices[0].amount, recoup::money::MAX_AMOUNT);
    assert_eq!(l.invoices[0].amount.to_string(), "999999999999.99");
    assert_eq!(l.invoices[0].open_amount.to_string(), "37298.60");
}

/// Amounts outside the supported range (|x| < 10^12) are bad values with
/// their file, line and column: refused in strict mode, rejected with
/// `--reject-bad-rows`; the largest amount, 999999999999.99, loads.
#[test]
fn amounts_out_of_range_are_bad_values() {
    use FileKind::*;
    let range = bad_value("an amount below 1,000,000,000,000 (the largest supported is 999999999999.99)");
    let p = problems("out-of-range");
    // The four actions on I1 refer to its rejected row.
    assert_eq!(p.len(), 8);
    let got: Vec<_> = p.into_iter().take(4).map(|p| (p.file, p.line, p.column, p.value, p.kind)).collect();
    let big = |file, line, column: &str, value: &str| (file, line, col(column), value.to_string(), range.clone());
    assert_eq!(
        got,
        vec![
            big(Customers, 4, "credit_limit", "99999999999999999999999999.99"),
            big(Invoices, 2, "amount", "9999999999999999999999999.99"),
            (Payments, 5, col("customer_id"), "C3".into(), ProblemKind::RejectedReference { file: Customers, line: 4 }),
            big(Promises, 3, "amount", "1000000000000"),
        ]
    );
    let opts = LoadOptions { reject_bad_rows: true };
    let l = load(&repo("fixtures/bad/out-of-range"), &opts).unwrap();
    assert_eq!((l.report.customers.rejected, l.report.invoices.rejected, l.report.promises.rejected), (1, 1, 1));
    let i6 = l.invoices.iter().find(|i| &*i.id == "I6").unwrap();
    assert_eq!(i6.amount, recoup::money::MAX_AMOUNT);
}

/// The issue's case: a dispute reason `"damaged goods` left open and closed
/// by the `"` of a later `12" pipe cracked` swallowed two rows without a
/// word (the strict run exited 0 with 4 of 7 invoices). The record is now a
/// bad row naming its first and last line: strict refuses the ledger,
/// `--reject-bad-rows` rejects it; the file's lines reconcile with its rows.
#[test]
fn a_quote_that_swallows_rows_is_a_bad_row_with_its_lines() {
    let p = problems("swallowed-rows");
    let got: Vec<_> = p.iter().map(|p| (p.file, p.line, p.severity, p.kind.clone())).collect();
    assert_eq!(got, vec![(FileKind::Invoices, 3, Severity::Error, ProblemKind::SwallowedRows { last_line: 6 })]);
    let l = load(&repo("fixtures/bad/swallowed-rows"), &LoadOptions { reject_bad_rows: true }).unwrap();
    let c = l.report.invoices;
    assert_eq!((c.read, c.loaded, c.rejected), (4, 3, 1));
    assert_eq!((c.lines, c.blank_lines, c.quoted_line_breaks), (8, 0, 3));
    assert_eq!(c.lines, 1 + c.read + c.blank_lines + c.quoted_line_breaks);
    let (code, _, stderr) =
        crate::cli::recoup(&["facts", "--ledger", "fixtures/bad/swallowed-rows", "--as-of", "2026-11-16"], None);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("invoices.csv:3\n"), "{stderr}");
    assert!(stderr.contains("invoices.csv: 4 read on 8 lines, 1 bad"), "{stderr}");
}

/// One quoted field over two lines that swallows nothing is loaded, with a
/// warning when it is the only one of its file; a file with several loads
/// them quietly. Blank lines are counted, and every file's lines reconcile.
#[test]
fn a_lone_multi_line_field_warns_and_lines_reconcile() {
    let header = "customer_id,name,segment,country,currency,credit_limit,payment_terms\n";
    let one = format!("{header}C1,\"Acme\nSales\",small,US,USD,10.00,NET30\n\nC2,B,small,US,USD,10.00,NET30\r\n\r\n");
    let two = format!("{header}C1,\"Acme\nSales\",small,US,USD,10.00,NET30\nC2,\"B\n\nC\",small,US,USD,10.00,NET30");
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n";
    for (customers, warned, counts) in [(&one, true, (6, 2, 1)), (&two, false, (6, 0, 3))] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("customers.csv"), customers).unwrap();
        std::fs::write(dir.path().join("invoices.csv"), invoices).unwrap();
        std::fs::write(dir.path().join("payments.csv"), "payment_id,customer_id,invoice_id,paid_on,amount").unwrap();
        let l = load(dir.path(), &LoadOptions::default()).unwrap();
        assert_eq!(l.customers.len(), 2);
        assert_eq!(&*l.customers[0].name, "Acme\nSales");
        let w: Vec<_> = l.report.warnings.iter().map(|w| (w.file, w.line, w.kind.clone())).collect();
        let want = vec![(FileKind::Customers, 2, ProblemKind::SpansLines { last_line: 3 })];
        assert_eq!(w, if warned { want } else { vec![] }, "{customers:?}");
        let c = l.report.customers;
        assert_eq!((c.lines, c.blank_lines, c.quoted_line_breaks), counts, "{customers:?}");
        for (kind, c) in l.report.files().into_iter().filter(|(_, c)| c.lines > 0) {
            assert_eq!(c.lines, 1 + c.read + c.blank_lines + c.quoted_line_breaks, "{kind:?}: {c:?}");
        }
    }
}

#[test]
fn quoted_newlines_and_line_numbers_survive_parallel_chunks() {
    // Enough rows to be split into several chunks, with a quoted newline in
    // names and one bad row near the end: its line number must be exact.
    let dir = tempfile::tempdir().unwrap();
    let mut c = String::from("customer_id,name,segment,country,currency,credit_limit,payment_terms\n");
    let mut line = 1;
    let n = 60_000;
    for i in 0..n {
        c.push_str(&format!("C{i},\"Name {i}\nsecond line\",small,US,USD,1000.00,NET30\n"));
        line += 2;
    }
    c.push_str("CX,Bad,small,US,USD,lots,NET30\n");
    line += 1;
    std::fs::write(dir.path().join("customers.csv"), c).unwrap();
    std::fs::write(
        dir.path().join("invoices.csv"),
        "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("payments.csv"), "payment_id,customer_id,invoice_id,paid_on,amount\n").unwrap();
    let opts = LoadOptions { reject_bad_rows: true };
    let l = load(dir.path(), &opts).unwrap();
    assert_eq!(l.customers.len(), n);
    assert_eq!(&*l.customers[n - 1].name, &format!("Name {}\nsecond line", n - 1));
    assert_eq!(l.report.rejects.len(), 1);
    assert_eq!(l.report.rejects[0].line, line);
    assert_eq!(l.report.rejects[0].column.as_deref(), Some("credit_limit"));
    // Every name spans two lines: no row is swallowed, no warning, and the
    // lines reconcile across the chunks.
    assert!(l.report.warnings.is_empty());
    let c = l.report.customers;
    assert_eq!((c.lines, c.read, c.quoted_line_breaks, c.blank_lines), (line, n as u64 + 1, n as u64, 0));
}

#[test]
fn duplicate_ids_are_caught_in_sorted_and_unsorted_files() {
    for (extra, line) in [("P4,C1,I2,2026-11-02,1.00\n", 6), ("P2,C1,I2,2026-11-02,1.00\n", 6)] {
        let dir = tempfile::tempdir().unwrap();
        for f in ["customers.csv", "invoices.csv", "payments.csv", "promises.csv", "actions.csv"] {
            std::fs::copy(repo("fixtures/small").join(f), dir.path().join(f)).unwrap();
        }
        let pay = dir.path().join("payments.csv");
        let mut text = std::fs::read_to_string(&pay).unwrap();
        text.push_str(extra);
        std::fs::write(&pay, text).unwrap();
        let p = match load(dir.path(), &LoadOptions::default()) {
            Err(LoadError::BadRows { problems, .. }) => problems,
            other => panic!("{other:?}"),
        };
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].file, p[0].line, p[0].column.as_deref()), (FileKind::Payments, line, Some("payment_id")));
        assert!(matches!(p[0].kind, ProblemKind::DuplicateId { .. }));
    }
}

// ------------------------------------------- credit notes and cash on account

fn inline(invoices: &str, payments: &str) -> Result<recoup::ledger::Ledger, LoadError> {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms\n\
                     C1,Acme,small,US,USD,1000.00,NET30\nC2,Beta,small,US,USD,1000.00,NET30\n";
    let files = InlineLedger { customers, invoices, payments: Some(payments), promises: None, actions: None };
    load_inline(&files, &LoadOptions::default())
}

const PAYMENTS_HEADER: &str = "payment_id,customer_id,invoice_id,paid_on,amount\n";

/// Rows of invoices.csv with `document_type` `credit_note` load as credit
/// notes, apart from the invoices (an empty cell is an invoice); a payment
/// with no invoice loads as the customer's cash on account.
#[test]
fn credit_notes_and_cash_on_account_load() {
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,document_type\n\
                    I1,C1,2026-08-02,2026-09-01,USD,1500.00,1500.00,open,\n\
                    CN1,C1,2026-08-20,2026-08-20,USD,300.00,200.00,open,credit_note\n\
                    I2,C2,2026-08-02,2026-09-01,USD,100.00,100.00,open,Invoice\n\
                    CN2,C1,2026-08-21,2026-08-21,USD,50.00,0.00,open,credit_note\n";
    let payments = format!("{PAYMENTS_HEADER}P1,C1,,2026-09-05,700.00\nP2,C1,I1,2026-09-06,100.00\n");
    let l = inline(invoices, &payments).unwrap();
    let ids: Vec<&str> = l.invoices.iter().map(|i| &*i.id).collect();
    assert_eq!(ids, ["I1", "I2"]);
    let notes: Vec<(&str, Decimal)> = l.credit_notes.iter().map(|n| (&*n.id, n.open_amount)).collect();
    assert_eq!(notes, [("CN1", money("200.00")), ("CN2", money("0.00"))]);
    // Every row of invoices.csv counted, credit notes included.
    assert_eq!((l.report.invoices.read, l.report.invoices.loaded), (4, 4));
    let credit = l.credit_of(0, date("2026-09-10"));
    assert_eq!((credit.unapplied_cash, credit.credit_notes), (money("700.00"), money("200.00")));
    // Before the payment and the credit note: nothing to the customer's credit.
    assert_eq!(l.credit_of(0, date("2026-08-19")).total(), Decimal::ZERO);
    assert_eq!(l.credit_of(1, date("2026-09-10")).total(), Decimal::ZERO);
}

/// A credit note's id is taken (not reused by an invoice); a payment cannot
/// be applied to a credit note; a credit note is never disputed; a negative
/// amount is refused with a pointer to `document_type`.
#[test]
fn credit_note_mistakes_are_named() {
    let header = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,document_type\n";
    let invoices = format!(
        "{header}CN1,C1,2026-08-20,2026-08-20,USD,300.00,300.00,open,credit_note\n\
         CN1,C1,2026-08-02,2026-09-01,USD,1500.00,1500.00,open,invoice\n\
         CN2,C1,2026-08-20,2026-08-20,USD,300.00,300.00,disputed,credit_note\n\
         I3,C1,2026-08-20,2026-08-20,USD,-300.00,-300.00,open,\n\
         I4,C1,2026-08-20,2026-08-20,USD,300.00,300.00,open,refund\n"
    );
    let payments = format!("{PAYMENTS_HEADER}P1,C1,CN1,2026-09-05,100.00\n");
    let Err(LoadError::BadRows { problems, .. }) = inline(&invoices, &payments) else { panic!("expected bad rows") };
    let got: Vec<(FileKind, u64, &str, &ProblemKind)> =
        problems.iter().map(|p| (p.file, p.line, p.column.as_deref().unwrap_or(""), &p.kind)).collect();
    use FileKind::*;
    assert_eq!(
        got,
        [
            (Invoices, 3, "invoice_id", &ProblemKind::DuplicateId { first_line: 2 }),
            (Invoices, 4, "document_type", &ProblemKind::DisputedCreditNote),
            (Invoices, 5, "amount", &ProblemKind::NotPositive),
            (Invoices, 5, "open_amount", &ProblemKind::NotPositive),
            (Invoices, 6, "document_type", &bad_value("one of invoice, credit_note")),
            (Payments, 2, "invoice_id", &ProblemKind::CreditNoteReference),
        ]
    );
    let negative = problems.iter().find(|p| p.line == 5).unwrap();
    assert!(negative.render(None).contains("`document_type` `credit_note`"), "{}", negative.render(None));
}

fn money(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

// ------------------------------------------- customer groups, sales reps, no limit

/// `parent` names a customer's group (one level deep); an unknown,
/// rejected, self or nested parent rejects the row with the column named,
/// and the rejected member's invoices with it. An empty `credit_limit` is
/// no limit, not zero.
#[test]
fn parents_resolve_and_bad_parents_are_rejected() {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms,parent,sales_rep\n\
                     G,Head,small,US,USD,1000.00,NET30,,rep-1\n\
                     M1,One,small,US,USD,,NET30,G,\n\
                     B1,Unknown,small,US,USD,100.00,NET30,NOPE,\n\
                     B2,Nested,small,US,USD,100.00,NET30,M1,\n\
                     B3,Self,small,US,USD,100.00,NET30,B3,\n\
                     D,Dup,small,US,USD,100.00,NET30,,\n\
                     D,Dup again,small,US,USD,100.00,NET30,,\n\
                     M2,Two,small,US,USD,0,NET30,G,\n";
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                    I1,B2,2026-08-02,2026-09-01,USD,10.00,10.00,open\n";
    let files = InlineLedger { customers, invoices, ..InlineLedger::default() };
    let l = load_inline(&files, &LoadOptions { reject_bad_rows: true }).unwrap();
    let kept: Vec<(&str, Option<&str>, Option<Decimal>)> =
        l.customers.iter().map(|c| (&*c.id, c.parent.as_deref(), c.credit_limit)).collect();
    assert_eq!(
        kept,
        [
            ("G", None, Some(money("1000.00"))),
            ("M1", Some("G"), None),
            ("D", None, Some(money("100.00"))),
            ("M2", Some("G"), Some(Decimal::ZERO)),
        ]
    );
    let g = l.customer_ix("G").unwrap();
    let groups: Vec<Option<u32>> = l.customers.iter().map(|c| c.group).collect();
    assert_eq!(groups, [None, Some(g), None, Some(g)]);
    assert_eq!(l.customers[0].sales_rep.as_deref(), Some("rep-1"));
    assert_eq!(l.customers[1].sales_rep, None);
    let got: Vec<(FileKind, u64, Option<&str>, String)> =
        l.report.rejects.iter().map(|p| (p.file, p.line, p.column.as_deref(), p.message())).collect();
    assert_eq!(
        got,
        [
            (FileKind::Customers, 4, Some("parent"), "unknown customer `NOPE`: not in customers.csv".into()),
            (
                FileKind::Customers,
                5,
                Some("parent"),
                "`parent` `M1` (line 3) has a parent of its own, `G`: groups are one level deep".into()
            ),
            (FileKind::Customers, 6, Some("parent"), "`parent` `B3` is the customer itself".into()),
            (FileKind::Customers, 8, Some("customer_id"), "duplicate `customer_id` `D`, first used on line 7".into()),
            (
                FileKind::Invoices,
                2,
                Some("customer_id"),
                "`customer_id` `B2` refers to a rejected row (customers.csv line 5)".into()
            ),
        ]
    );
}

/// A parent rejected for its own fault takes its members with it.
#[test]
fn members_of_a_rejected_parent_are_rejected() {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms,parent\n\
                     G,Head,small,US,USD,lots,NET30,\n\
                     M1,One,small,US,USD,10.00,NET30,G\n";
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n";
    let files = InlineLedger { customers, invoices, ..InlineLedger::default() };
    let l = load_inline(&files, &LoadOptions { reject_bad_rows: true }).unwrap();
    assert!(l.customers.is_empty());
    let got: Vec<(u64, Option<&str>)> = l.report.rejects.iter().map(|p| (p.line, p.column.as_deref())).collect();
    assert_eq!(got, [(2, Some("credit_limit")), (3, Some("parent"))]);
    assert_eq!(l.report.rejects[1].message(), "`parent` `G` refers to a rejected row (customers.csv line 2)");
}
