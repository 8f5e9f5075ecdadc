//! Parquet ledgers (docs/ledger.md, "Parquet"): the demo written as Parquet
//! gives the same plan as its CSV files, byte for byte; bad rows are named
//! with the Parquet file and row; floating-point money and mixed folders are refused.

use crate::cli::recoup;
use crate::common::repo;
use std::path::Path;

/// `recoup run` on `ledger` as of the demo day into `out`: (code, stderr).
fn run(ledger: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "run",
        "--ledger",
        ledger.to_str().unwrap(),
        "--policy",
        "policies/standard",
        "--as-of",
        "2026-11-16",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(extra);
    let (code, _, err) = recoup(&args, None);
    (code, err)
}

#[test]
fn the_demo_as_parquet_gives_the_same_plan_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("ledger");
    // Small row groups: the demo's files span several, read in parallel.
    let written = recoup::ledger::parquet::write_ledger(&repo("fixtures/demo"), &pq, 700).unwrap();
    assert_eq!(written.len(), 5);
    let (csv_out, pq_out) = (tmp.path().join("csv-out"), tmp.path().join("pq-out"));
    assert_eq!(run(&repo("fixtures/demo"), &csv_out, &[]).0, 0);
    let (code, err) = run(&pq, &pq_out, &["--threads", "3"]);
    assert_eq!(code, 0, "{err}");
    for f in ["plan.csv", "plan.jsonl", "worklist.csv", "summary.json"] {
        let (a, b) = (std::fs::read(csv_out.join(f)).unwrap(), std::fs::read(pq_out.join(f)).unwrap());
        assert!(a == b, "{f} differs between the CSV and the Parquet ledger");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pq_out.join("manifest.json")).unwrap()).unwrap();
    let inputs: Vec<(&str, u64)> = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["file"].as_str().unwrap(), i["read"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        inputs,
        [
            ("customers.parquet", 400),
            ("invoices.parquet", 4011),
            ("payments.parquet", 3835),
            ("promises.parquet", 309),
            ("actions.parquet", 3428)
        ]
    );
}

#[test]
fn bad_rows_name_the_parquet_file_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("ledger");
    recoup::ledger::parquet::write_ledger(&repo("fixtures/bad/many"), &pq, 100).unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = recoup(
        &["run", "--ledger", pq.to_str().unwrap(), "--policy", "policies/standard", "--as-of", "2026-11-16", "--out"]
            .into_iter()
            .chain([out.to_str().unwrap(), "--quiet"])
            .collect::<Vec<_>>(),
        Some(tmp.path()),
    );
    assert_eq!(code, 4);
    insta::assert_snapshot!(err);
    // The CSV ledger's problems, one for one: the same count, the row one less than the line.
    let (_, _, csv_err) = recoup(
        &["run", "--ledger", "fixtures/bad/many", "--policy", "policies/standard", "--as-of", "2026-11-16"]
            .into_iter()
            .chain(["--out", out.to_str().unwrap(), "--quiet"])
            .collect::<Vec<_>>(),
        None,
    );
    assert_eq!(csv_err.matches("error:").count(), err.matches("error:").count());
    assert!(csv_err.contains("fixtures/bad/many/invoices.csv:3 (column `due_date`)"));
    assert!(err.contains("[TMP]/ledger/invoices.parquet, row 2 (column `due_date`)"));

    // With --reject-bad-rows, rejects.csv names the Parquet file and row.
    let (code, _) = run(&pq, &out, &["--reject-bad-rows"]);
    assert_eq!(code, 5);
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    assert!(rejects.contains("invoices.parquet,2,due_date,2026-11-31,"), "{rejects}");
}

/// A customers file whose credit_limit is a DOUBLE column.
fn write_float_money(path: &Path) {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
    let schema = parquet::schema::parser::parse_message_type(
        "message m { REQUIRED BYTE_ARRAY customer_id (UTF8); REQUIRED DOUBLE credit_limit; }",
    )
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder().build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::file::writer::SerializedFileWriter::new(file, schema.into(), props.into()).unwrap();
    let mut g = w.next_row_group().unwrap();
    let mut c = g.next_column().unwrap().unwrap();
    c.typed::<ByteArrayType>().write_batch(&[ByteArray::from("C1")], None, None).unwrap();
    c.close().unwrap();
    let mut c = g.next_column().unwrap().unwrap();
    c.typed::<DoubleType>().write_batch(&[0.1], None, None).unwrap();
    c.close().unwrap();
    g.close().unwrap();
    w.close().unwrap();
}

#[test]
fn floating_point_money_and_mixed_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("ledger");
    recoup::ledger::parquet::write_ledger(&repo("fixtures/demo"), &pq, 1000).unwrap();
    write_float_money(&pq.join("customers.parquet"));
    let (code, err) = run(&pq, &tmp.path().join("out"), &[]);
    assert_eq!(code, 4);
    assert!(err.contains("column `credit_limit` holds floating-point numbers (DOUBLE)"), "{err}");

    // An actions.csv beside Parquet files would be silently ignored: refused.
    recoup::ledger::parquet::write_ledger(&repo("fixtures/demo"), &pq, 1000).unwrap();
    std::fs::copy(repo("fixtures/demo/actions.csv"), pq.join("actions.csv")).unwrap();
    let (code, err) = run(&pq, &tmp.path().join("out"), &[]);
    assert_eq!(code, 4);
    assert!(err.contains("holds CSV and Parquet files"), "{err}");

    // Not a Parquet file at all.
    std::fs::remove_file(pq.join("actions.csv")).unwrap();
    std::fs::write(pq.join("payments.parquet"), "payment_id,customer_id\n").unwrap();
    let (code, err) = run(&pq, &tmp.path().join("out"), &[]);
    assert_eq!(code, 4);
    assert!(err.contains("payments.parquet`: not a readable Parquet file"), "{err}");
}
