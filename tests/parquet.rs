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

#[test]
fn files_pyarrow_wrote_give_the_same_plan() {
    // fixtures/demo-pyarrow: the demo as pyarrow writes it (make.py there):
    // FIXED_LEN_BYTE_ARRAY decimals of scales 2 and 4, DATE and TIMESTAMP
    // (ms, us, ns, UTC) dates, dictionary-encoded strings, nulls, row
    // groups of 1,000 rows, customers' columns in reverse order.
    let tmp = tempfile::tempdir().unwrap();
    let (csv_out, pq_out) = (tmp.path().join("csv-out"), tmp.path().join("pq-out"));
    assert_eq!(run(&repo("fixtures/demo"), &csv_out, &[]).0, 0);
    let (code, err) = run(&repo("fixtures/demo-pyarrow"), &pq_out, &[]);
    assert_eq!(code, 0, "{err}");
    for f in ["plan.csv", "plan.jsonl", "worklist.csv", "summary.json"] {
        let (a, b) = (std::fs::read(csv_out.join(f)).unwrap(), std::fs::read(pq_out.join(f)).unwrap());
        assert!(a == b, "{f} differs between the CSV and the pyarrow ledger");
    }
}

/// Every row of a Parquet file, each cell as plan.csv writes it: money
/// with its row's currency's minor units, a null as an empty cell.
fn parquet_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let names = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect::<Vec<_>>();
    let currency = names.iter().position(|n| n == "currency").unwrap();
    let mut rows = Vec::new();
    for row in reader.get_row_iter(None).unwrap() {
        let row = row.unwrap();
        let fields: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
        let Field::Str(cur) = fields[currency] else { panic!("currency is text") };
        let units = recoup::money::minor_units(cur);
        let cells = fields
            .iter()
            .map(|f| match f {
                Field::Null => String::new(),
                Field::Str(s) => s.clone(),
                Field::Bool(b) => b.to_string(),
                Field::Long(v) => v.to_string(),
                Field::Double(v) => format!("{v:.2}"),
                Field::Date(d) => (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                    + chrono::TimeDelta::days(i64::from(*d)))
                .to_string(),
                Field::Decimal(d) => {
                    assert_eq!((d.precision(), d.scale()), (28, 3));
                    let mut be = [if d.data()[0] & 0x80 != 0 { 0xff } else { 0 }; 16];
                    be[16 - d.data().len()..].copy_from_slice(d.data());
                    let v = rust_decimal::Decimal::from_i128_with_scale(i128::from_be_bytes(be), 3);
                    // Exact at the currency's minor units: nothing past them.
                    assert_eq!(v.round_dp(units), v, "{v} in {cur}");
                    let mut out = Vec::new();
                    recoup::plan::write::push_money_in(&mut out, v, units);
                    String::from_utf8(out).unwrap()
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        rows.push(cells);
    }
    (names, rows)
}

fn csv_table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let names = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (names, rows)
}

#[test]
fn run_parquet_writes_plan_and_worklist_as_parquet_the_same_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    assert_eq!(run(&repo("fixtures/demo"), &one, &["--parquet", "--threads", "1", "--no-outbox"]).0, 0);
    assert_eq!(run(&repo("fixtures/demo"), &two, &["--parquet", "--threads", "2", "--no-outbox"]).0, 0);
    for f in ["plan.parquet", "worklist.parquet"] {
        let (a, b) = (std::fs::read(one.join(f)).unwrap(), std::fs::read(two.join(f)).unwrap());
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }

    // plan.parquet: plan.csv's columns (and message_id), row for row.
    let ((pq_names, pq_rows), (csv_names, csv_rows)) =
        (parquet_rows(&one.join("plan.parquet")), csv_table(&one.join("plan.csv")));
    assert_eq!(pq_names[..pq_names.len() - 1], csv_names[..]);
    assert_eq!(pq_names.last().map(String::as_str), Some("message_id"));
    assert_eq!(pq_rows.len(), csv_rows.len());
    assert!(pq_rows.len() > 100);
    let discount_pct = csv_names.iter().position(|n| n == "discount_pct").unwrap();
    for (i, (p, c)) in pq_rows.iter().zip(&csv_rows).enumerate() {
        for (k, name) in csv_names.iter().enumerate() {
            if k == discount_pct {
                // A percentage: a DOUBLE in Parquet, the decimal as written in plan.csv.
                let parse = |s: &str| s.parse::<f64>().ok();
                assert_eq!(parse(&p[k]), parse(&c[k]), "row {i} column {name}");
            } else {
                assert_eq!(p[k], c[k], "row {i} column {name}");
            }
        }
        assert_eq!(p.last().unwrap(), "", "row {i}: no message_id");
    }

    // worklist.parquet: worklist.csv's columns and rows.
    let ((pq_names, pq_rows), (csv_names, csv_rows)) =
        (parquet_rows(&one.join("worklist.parquet")), csv_table(&one.join("worklist.csv")));
    assert_eq!(pq_names, csv_names);
    assert_eq!(pq_rows, csv_rows);

    // In the manifest with their hashes, like the CSV files.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("manifest.json")).unwrap()).unwrap();
    let outputs = manifest["outputs"].as_array().unwrap();
    assert!(outputs.iter().any(|o| o == "plan.parquet") && outputs.iter().any(|o| o == "worklist.parquet"));
    for f in ["plan.parquet", "worklist.parquet"] {
        let listed = manifest["files"].as_array().unwrap().iter().find(|x| x["file"] == f).unwrap();
        let bytes = std::fs::read(one.join(f)).unwrap();
        assert_eq!(listed["blake3"], blake3::hash(&bytes).to_hex().to_string());
        assert_eq!(listed["bytes"], bytes.len() as u64);
    }

    // Without --parquet, no Parquet file.
    let plain = tmp.path().join("plain");
    assert_eq!(run(&repo("fixtures/demo"), &plain, &["--no-outbox"]).0, 0);
    assert!(!plain.join("plan.parquet").exists());
}

/// payments.parquet of five rows with other physical types than `recoup
/// convert` writes: `customer_id` as plain BYTE_ARRAY (no UTF8 annotation),
/// `paid_on` as TIMESTAMP_MICROS, `amount` as INT32 DECIMAL(9,2); with a
/// null id, a time of day, bytes that are not UTF-8 and a null amount.
fn write_odd_payments(path: &Path) {
    use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
    let schema = parquet::schema::parser::parse_message_type(
        "message m {
            OPTIONAL BYTE_ARRAY payment_id (UTF8);
            REQUIRED BYTE_ARRAY customer_id;
            OPTIONAL BYTE_ARRAY invoice_id (UTF8);
            REQUIRED INT64 paid_on (TIMESTAMP_MICROS);
            OPTIONAL INT32 amount (DECIMAL(9,2));
        }",
    )
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder().set_dictionary_enabled(false).build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::file::writer::SerializedFileWriter::new(file, schema.into(), props.into()).unwrap();
    let mut g = w.next_row_group().unwrap();
    let text = |v: &[&[u8]]| v.iter().map(|b| ByteArray::from(b.to_vec())).collect::<Vec<_>>();
    let day = 20_684i64 * 86_400_000_000; // 2026-08-19
    let mut c = g.next_column().unwrap().unwrap();
    c.typed::<ByteArrayType>().write_batch(&text(&[b"X1", b"X3", b"X4", b"X5"]), Some(&[1, 0, 1, 1, 1]), None).unwrap();
    c.close().unwrap();
    let mut c = g.next_column().unwrap().unwrap();
    let ids: [&[u8]; 5] = [b"C000002", b"C000002", b"C000002", b"C0\xff0002", b"C000002"];
    c.typed::<ByteArrayType>().write_batch(&text(&ids), None, None).unwrap();
    c.close().unwrap();
    let mut c = g.next_column().unwrap().unwrap();
    c.typed::<ByteArrayType>().write_batch(&text(&[b"INV0000002"]), Some(&[1, 0, 0, 0, 0]), None).unwrap();
    c.close().unwrap();
    let mut c = g.next_column().unwrap().unwrap();
    c.typed::<Int64Type>().write_batch(&[day, day, day + 3_600_000_000, day, day], None, None).unwrap();
    c.close().unwrap();
    let mut c = g.next_column().unwrap().unwrap();
    c.typed::<Int32Type>().write_batch(&[324_973, 100, 100, 100], Some(&[1, 1, 1, 1, 0]), None).unwrap();
    c.close().unwrap();
    g.close().unwrap();
    w.close().unwrap();
}

#[test]
fn nulls_other_types_and_bad_bytes_are_named_by_row_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("ledger");
    recoup::ledger::parquet::write_ledger(&repo("fixtures/demo"), &pq, 1000).unwrap();
    write_odd_payments(&pq.join("payments.parquet"));
    let out = tmp.path().join("out");
    let (code, err) = run(&pq, &out, &["--reject-bad-rows", "--no-outbox"]);
    assert_eq!(code, 5, "{err}");
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    let rows: Vec<&str> = rejects.lines().filter(|l| l.starts_with("payments.parquet")).collect();
    // Row 1 loads (a midnight timestamp is its date, DECIMAL(9,2) its amount);
    // the null id, the time of day, the bytes and the null amount are named.
    assert_eq!(rows.len(), 4, "{rejects}");
    assert!(rows[0].starts_with("payments.parquet,2,payment_id,,"), "{rejects}");
    assert!(rows[1].starts_with("payments.parquet,3,paid_on,2026-08-19T+3600000000/86400000000,"), "{rejects}");
    assert!(
        rows[2].starts_with("payments.parquet,4,customer_id,C0\u{fffd}0002,") && rows[2].contains("UTF-8"),
        "{rejects}"
    );
    assert!(rows[3].starts_with("payments.parquet,5,amount,,"), "{rejects}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let payments = manifest["inputs"].as_array().unwrap().iter().find(|i| i["file"] == "payments.parquet").unwrap();
    assert_eq!((payments["read"].as_u64(), payments["loaded"].as_u64()), (Some(5), Some(1)));
}
