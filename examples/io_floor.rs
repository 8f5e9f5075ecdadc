//! The I/O floor of a run, for benches/e2e.sh: what any tool must spend to
//! read the same ledger into typed rows and write a plan-sized output, and
//! nothing else — no validation, no id resolution, no indexes, no facts, no
//! policy.
//!
//! `cargo run --release --example io_floor -- LEDGER_DIR OUT_DIR BYTES`
//!
//! Reads every ledger file (fs::read), splits records and fields with the
//! csv crate, decodes each cell into its type with recoup's own decoders
//! (dates through the same per-thread cache as the loader, exact decimals;
//! text kept as borrowed slices — no allocation per field), on as many threads as a run (rayon: the files in parallel, the big
//! files in chunks of lines), then writes BYTES bytes of CSV-like text to
//! OUT_DIR/floor.out and fsyncs it (a run writes its outputs the same way).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use chrono::Datelike;
use rayon::prelude::*;
use recoup::ledger::decode;
use std::io::Write;

/// Decode one cell by its column name; returns a checksum so nothing is optimised away.
fn cell(col: &str, b: &[u8]) -> u64 {
    match col {
        "issue_date" | "due_date" | "paid_on" | "made_on" | "due_on" | "decided_on" | "executed_on" | "opened_on"
        | "disputed_since" => decode::cached_opt_date(b).ok().flatten().map_or(0, |d| u64::from(d.day())),
        "amount" | "open_amount" | "credit_limit" => decode::decimal(b).map_or(0, |d| d.scale() as u64),
        _ => b.len() as u64,
    }
}

/// Typed-decode a CSV body (without its header) given the column names.
fn chunk(cols: &[String], body: &[u8]) -> u64 {
    let mut rd = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    let mut rec = csv::ByteRecord::new();
    let mut sum = 0u64;
    while rd.read_byte_record(&mut rec).unwrap() {
        for (c, b) in cols.iter().zip(rec.iter()) {
            sum = sum.wrapping_add(cell(c, b));
        }
    }
    sum
}

fn file(path: &std::path::Path) -> (u64, usize) {
    let Ok(bytes) = std::fs::read(path) else { return (0, 0) };
    let nl = bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len());
    let cols: Vec<String> = String::from_utf8_lossy(&bytes[..nl]).trim_end().split(',').map(String::from).collect();
    let body = &bytes[(nl + 1).min(bytes.len())..];
    // Chunks of ~4 MB cut at line ends (the ledger files have no quoted newlines).
    let mut cuts = vec![0];
    let mut at = 0;
    while at + (4 << 20) < body.len() {
        at += 4 << 20;
        at += body[at..].iter().position(|&b| b == b'\n').map_or(body.len() - at, |p| p + 1);
        cuts.push(at);
    }
    cuts.push(body.len());
    let sum = cuts.par_windows(2).map(|w| chunk(&cols, &body[w[0]..w[1]])).reduce(|| 0, u64::wrapping_add);
    (sum, bytes.len())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (dir, out, bytes) = (args.next().unwrap(), args.next().unwrap(), args.next().unwrap());
    let bytes: usize = bytes.parse().unwrap();
    let t = std::time::Instant::now();
    let files = ["customers.csv", "invoices.csv", "payments.csv", "promises.csv", "actions.csv"];
    let dir = std::path::Path::new(&dir);
    let read: Vec<(u64, usize)> = files.par_iter().map(|f| file(&dir.join(f))).collect();
    let t_read = t.elapsed();
    std::fs::create_dir_all(&out).unwrap();
    let path = std::path::Path::new(&out).join("floor.out");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let line = b"R0123456789abcdef,C000001,I0000001,email,email,reminder,step,due-3,standard,1234.56,0.00\n";
    let mut left = bytes;
    while left > 0 {
        let n = left.min(line.len());
        w.write_all(&line[..n]).unwrap();
        left -= n;
    }
    w.into_inner().unwrap().sync_all().unwrap();
    let check: u64 = read.iter().map(|r| r.0).fold(0, u64::wrapping_add);
    let size: usize = read.iter().map(|r| r.1).sum();
    eprintln!(
        "floor read {} ms write {} ms ({} MB read, {} MB written, check {check})",
        t_read.as_millis(),
        (t.elapsed() - t_read).as_millis(),
        size >> 20,
        bytes >> 20
    );
}
