//! Writing a run's outputs: plan.csv, plan.jsonl, worklist.csv,
//! summary.json, manifest.json and rejects.csv, as one atomic output set.

use super::shard::ShardPart;
use super::summary::Summary;
use super::{Plan, PlanEntry, worklist};
use crate::ledger::{LoadReport, Problem};
use crate::output::{Input, Kind, OutputError, OutputSet, write_rejects_in};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::Path;

/// The columns of plan.csv, in order.
pub const PLAN_COLUMNS: &[&str] = &[
    "action_id",
    "customer_id",
    "currency",
    "invoice_ids",
    "action",
    "channel",
    "template",
    "rule_id",
    "rule_kind",
    "step",
    "strategy",
    "amount_due",
    "fee",
    "compensation",
    "interest",
    "discount_pct",
    "discount",
    "discount_cost",
    "pay_by",
    "instalments",
    "instalment_amount",
    "old_limit",
    "new_limit",
    "review_on",
    "hold",
    "cost",
    "priority",
    "owner",
    "reason",
    "arm",
    "undeliverable",
];

/// `d` as the outputs write money in a currency with two decimals:
/// [`push_money_in`] with 2.
pub fn push_money(buf: &mut Vec<u8>, d: Decimal) {
    push_money_in(buf, d, 2);
}

/// `d` with exactly `units` decimals (a currency's minor units,
/// [`crate::money::minor_units`]), rounded half away from zero
/// ([`crate::money::round`]), without `core::fmt` for a decimal whose
/// mantissa fits in a u64 (every amount a ledger holds); `-` for a negative
/// sign, zero included, as rust_decimal writes it (a test compares them on
/// random values and the edges).
pub fn push_money_in(buf: &mut Vec<u8>, d: Decimal, units: u32) {
    // Most money fields of a plan row (fees, interest, discounts) are zero.
    const ZEROS: [&[u8]; 4] = [b"0", b"0.0", b"0.00", b"0.000"];
    if d.is_zero()
        && !d.is_sign_negative()
        && let Some(z) = ZEROS.get(units as usize)
    {
        buf.extend_from_slice(z);
        return;
    }
    let d = if d.scale() > units { crate::money::round(d, units) } else { d };
    let scale = d.scale();
    let Ok(m) = u64::try_from(d.mantissa().unsigned_abs()) else {
        let _ = write!(buf, "{}", crate::money::round(d, units));
        return;
    };
    let p = 10u64.pow(scale);
    let (whole, rest) = (m / p, m % p);
    if d.is_sign_negative() {
        buf.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut n = digits.len();
    let mut w = whole;
    loop {
        n -= 1;
        digits[n] = b'0' + (w % 10) as u8;
        w /= 10;
        if w == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[n..]);
    if units > 0 {
        // `rest` has `scale` digits; padded with zeros to `units`.
        let mut frac = rest * 10u64.pow(units - scale);
        let mut f = [b'0'; 3];
        for k in (0..units as usize).rev() {
            f[k] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        buf.push(b'.');
        buf.extend_from_slice(&f[..units as usize]);
    }
}

/// A CSV record written straight into a buffer, quoted as the csv crate's
/// writer quotes by default: only a field holding `,`, `"`, `\r` or `\n`,
/// its quotes doubled (a test compares them).
pub struct Row<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Row<'a> {
    /// A record written at the end of `buf`.
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        Row { buf, first: true }
    }

    /// The next field.
    pub fn field(&mut self, f: impl AsRef<[u8]>) {
        let f = f.as_ref();
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        if f.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
            self.buf.push(b'"');
            for &b in f {
                if b == b'"' {
                    self.buf.push(b'"');
                }
                self.buf.push(b);
            }
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(f);
        }
    }

    /// End the record; the next field starts a new one.
    pub fn end(&mut self) {
        self.buf.push(b'\n');
        self.first = true;
    }
}

/// One plan.csv record, field by field: values that need formatting go
/// through `scratch`, so a record allocates nothing once the buffers have grown.
fn plan_record(out: &mut Row<'_>, e: &PlanEntry, scratch: &mut String, num: &mut Vec<u8>, message_ids: bool) {
    use std::fmt::Write as _;
    let a = &e.action;
    let units = crate::money::minor_units(&a.currency);
    let mut money = |out: &mut Row<'_>, d: Option<Decimal>| {
        num.clear();
        if let Some(d) = d {
            push_money_in(num, d, units);
        }
        out.field(&num[..])
    };
    // A field formatted into `scratch` (formatting into a String cannot fail).
    let mut field = |out: &mut Row<'_>, f: &dyn Fn(&mut String) -> std::fmt::Result| {
        scratch.clear();
        let _ = f(scratch);
        out.field(scratch.as_bytes())
    };
    fn opt<T: std::fmt::Display>(s: &mut String, v: &Option<T>) -> std::fmt::Result {
        match v {
            Some(v) => write!(s, "{v}"),
            None => Ok(()),
        }
    }
    out.field(&e.action_id);
    out.field(&a.customer_id);
    out.field(&a.currency);
    field(out, &|s| {
        for (k, id) in a.invoice_ids.iter().enumerate() {
            if k > 0 {
                s.push(';');
            }
            s.push_str(id);
        }
        Ok(())
    });
    out.field(a.action.as_str());
    out.field(a.channel.map_or("", |c| c.as_str()));
    out.field(a.template.as_deref().unwrap_or(""));
    out.field(&a.rule_id);
    out.field(a.rule_kind.as_str());
    out.field(a.step.as_deref().unwrap_or(""));
    out.field(a.strategy.as_deref().unwrap_or(""));
    money(out, Some(a.amount_due));
    money(out, Some(a.fee));
    money(out, Some(a.compensation));
    money(out, Some(a.interest));
    field(out, &|s| opt(s, &a.discount_pct));
    money(out, Some(a.discount));
    money(out, Some(a.discount_cost));
    field(out, &|s| opt(s, &a.pay_by));
    field(out, &|s| opt(s, &a.instalments));
    money(out, a.instalment_amount);
    money(out, a.old_limit);
    money(out, a.new_limit);
    field(out, &|s| opt(s, &a.review_on));
    out.field(if a.hold { "true" } else { "false" });
    money(out, Some(a.cost));
    field(out, &|s| write!(s, "{:.2}", a.priority));
    out.field(a.owner.as_deref().unwrap_or(""));
    out.field(&a.reason);
    out.field(a.arm.as_str());
    out.field(a.undeliverable.as_deref().unwrap_or(""));
    if message_ids {
        out.field(a.message_id.as_deref().unwrap_or(""));
    }
    out.end();
}

/// plan.csv: one action per row.
/// A last column, `message_id`, is there only when an action is sent in a
/// message shared with others (`advance = "each_invoice"`, docs/output.md).
pub fn plan_csv(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let message_ids = plan.entries.iter().any(|e| e.action.message_id.is_some());
    let mut out = csv::Writer::from_writer(&mut *w);
    if message_ids {
        out.write_record(PLAN_COLUMNS.iter().chain(&["message_id"]))?;
    } else {
        out.write_record(PLAN_COLUMNS)?;
    }
    out.flush()?;
    drop(out);
    in_parallel(w, &plan.entries, 320, |buf, entries| {
        let mut out = Row::new(buf);
        let (mut scratch, mut num) = (String::new(), Vec::new());
        for e in entries {
            plan_record(&mut out, e, &mut scratch, &mut num, message_ids);
        }
        Ok(())
    })
}

/// plan.jsonl: one action per line, with the facts it read.
pub fn plan_jsonl(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    in_parallel(w, &plan.entries, 900, |buf, entries| {
        for e in entries {
            plan_line(buf, e)?;
            buf.push(b'\n');
        }
        Ok(())
    })
}

/// One plan.jsonl line: the bytes `serde_json::to_writer(entry)` gives (a
/// test compares them on every field), written key by key with the keys as
/// constants and text without anything to escape copied as it is; numbers,
/// dates, enums and text to escape still go through serde_json.
fn plan_line(buf: &mut Vec<u8>, e: &PlanEntry) -> io::Result<()> {
    fn json<T: Serialize + ?Sized>(buf: &mut Vec<u8>, v: &T) -> io::Result<()> {
        serde_json::to_writer(&mut *buf, v).map_err(io::Error::from)
    }
    fn text(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
        if !json_escapes(s.as_bytes()) {
            buf.push(b'"');
            buf.extend_from_slice(s.as_bytes());
            buf.push(b'"');
            Ok(())
        } else {
            json(buf, s)
        }
    }
    fn opt_text(buf: &mut Vec<u8>, s: Option<&str>) -> io::Result<()> {
        match s {
            Some(s) => text(buf, s),
            None => {
                buf.extend_from_slice(b"null");
                Ok(())
            }
        }
    }
    /// Money as the machine contract writes it, with the currency's minor
    /// units: `"210.00"` (docs/output.md).
    fn money(buf: &mut Vec<u8>, d: Decimal, units: u32) {
        buf.push(b'"');
        push_money_in(buf, d, units);
        buf.push(b'"');
    }
    fn opt_money(buf: &mut Vec<u8>, d: Option<Decimal>, units: u32) {
        match d {
            Some(d) => money(buf, d, units),
            None => buf.extend_from_slice(b"null"),
        }
    }
    let a = &e.action;
    let units = crate::money::minor_units(&a.currency);
    buf.extend_from_slice(b"{\"action_id\":");
    text(buf, &e.action_id)?;
    buf.extend_from_slice(b",\"customer_id\":");
    text(buf, &a.customer_id)?;
    buf.extend_from_slice(b",\"currency\":");
    text(buf, &a.currency)?;
    buf.extend_from_slice(b",\"invoice_ids\":[");
    for (k, id) in a.invoice_ids.iter().enumerate() {
        if k > 0 {
            buf.push(b',');
        }
        text(buf, id)?;
    }
    buf.extend_from_slice(b"],\"action\":");
    json(buf, &a.action)?;
    buf.extend_from_slice(b",\"channel\":");
    json(buf, &a.channel)?;
    buf.extend_from_slice(b",\"template\":");
    opt_text(buf, a.template.as_deref())?;
    buf.extend_from_slice(b",\"rule_id\":");
    text(buf, &a.rule_id)?;
    buf.extend_from_slice(b",\"rule_kind\":");
    json(buf, &a.rule_kind)?;
    buf.extend_from_slice(b",\"step\":");
    opt_text(buf, a.step.as_deref())?;
    buf.extend_from_slice(b",\"strategy\":");
    opt_text(buf, a.strategy.as_deref())?;
    buf.extend_from_slice(b",\"amount_due\":");
    money(buf, a.amount_due, units);
    buf.extend_from_slice(b",\"fee\":");
    money(buf, a.fee, units);
    buf.extend_from_slice(b",\"compensation\":");
    money(buf, a.compensation, units);
    buf.extend_from_slice(b",\"interest\":");
    money(buf, a.interest, units);
    buf.extend_from_slice(b",\"discount_pct\":");
    json(buf, &a.discount_pct)?;
    buf.extend_from_slice(b",\"discount\":");
    money(buf, a.discount, units);
    buf.extend_from_slice(b",\"discount_cost\":");
    money(buf, a.discount_cost, units);
    buf.extend_from_slice(b",\"pay_by\":");
    json(buf, &a.pay_by)?;
    buf.extend_from_slice(b",\"instalments\":");
    json(buf, &a.instalments)?;
    buf.extend_from_slice(b",\"instalment_amount\":");
    opt_money(buf, a.instalment_amount, units);
    buf.extend_from_slice(b",\"old_limit\":");
    opt_money(buf, a.old_limit, units);
    buf.extend_from_slice(b",\"new_limit\":");
    opt_money(buf, a.new_limit, units);
    buf.extend_from_slice(b",\"review_on\":");
    json(buf, &a.review_on)?;
    buf.extend_from_slice(if a.hold { b",\"hold\":true" } else { b",\"hold\":false" });
    buf.extend_from_slice(b",\"cost\":");
    money(buf, a.cost, units);
    buf.extend_from_slice(b",\"priority\":");
    json(buf, &a.priority)?;
    buf.extend_from_slice(b",\"owner\":");
    opt_text(buf, a.owner.as_deref())?;
    buf.extend_from_slice(b",\"reason\":");
    text(buf, &a.reason)?;
    buf.extend_from_slice(b",\"facts\":[");
    for (k, f) in a.facts.iter().enumerate() {
        if k > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"name\":");
        text(buf, &f.name)?;
        buf.extend_from_slice(b",\"value\":");
        text(buf, &f.value)?;
        buf.push(b'}');
    }
    buf.extend_from_slice(b"],\"arm\":");
    json(buf, &a.arm)?;
    buf.extend_from_slice(b",\"undeliverable\":");
    opt_text(buf, a.undeliverable.as_deref())?;
    if let Some(m) = &a.message_id {
        buf.extend_from_slice(b",\"message_id\":");
        text(buf, m)?;
    }
    if a.task {
        buf.extend_from_slice(b",\"task\":true");
    }
    buf.push(b'}');
    Ok(())
}

/// Does `s` hold a byte JSON escapes (a control character, `"` or `\\`)?
/// Eight bytes at a time: a word has a byte below `n` when
/// `(x - n·0x01..) & !x & 0x80..` is not zero (exact for n ≤ 128).
pub fn json_escapes(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH != 0;
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let x = u64::from_le_bytes(b);
        if below(x, 0x20) || below(x ^ (ONES * u64::from(b'"')), 1) || below(x ^ (ONES * u64::from(b'\\')), 1) {
            return true;
        }
    }
    words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Format `items` in slices on worker threads and write the bytes in order:
/// the output is what formatting them one after the other would give (each
/// line depends only on its item). A window at a time, so the bytes held at
/// once stay bounded whatever the plan's size. `bytes_per_item` is a guess
/// of an item's size, to size the buffers once.
fn in_parallel<T: Sync>(
    w: &mut dyn Write,
    items: &[T],
    bytes_per_item: usize,
    format: impl Fn(&mut Vec<u8>, &[T]) -> io::Result<()> + Sync,
) -> io::Result<()> {
    for window in items.chunks(1 << 15) {
        let parts: Vec<io::Result<Vec<u8>>> = window
            .par_chunks(512)
            .map(|slice| {
                let mut buf = Vec::with_capacity(slice.len() * bytes_per_item);
                format(&mut buf, slice).map(|()| buf)
            })
            .collect();
        for part in parts {
            w.write_all(&part?)?;
        }
    }
    Ok(())
}

/// worklist.csv: human tasks per owner, highest priority first.
pub fn worklist_csv(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(&mut *w);
    out.write_record([
        "owner",
        "rank",
        "priority",
        "customer_id",
        "action",
        "rule_id",
        "currency",
        "amount_due",
        "invoice_ids",
        "reason",
        "action_id",
    ])?;
    out.flush()?;
    drop(out);
    let tasks = ranked_worklist(plan);
    in_parallel(w, &tasks, 160, |buf, tasks| {
        let mut out = Row::new(buf);
        let (mut scratch, mut num) = (String::new(), Vec::new());
        for &(e, rank) in tasks {
            use std::fmt::Write as _;
            let a = &e.action;
            out.field(a.owner.as_deref().unwrap_or("(unassigned)"));
            scratch.clear();
            let _ = write!(scratch, "{rank}");
            out.field(&scratch);
            scratch.clear();
            let _ = write!(scratch, "{:.2}", a.priority);
            out.field(&scratch);
            out.field(&a.customer_id);
            out.field(a.action.as_str());
            out.field(&a.rule_id);
            out.field(&a.currency);
            num.clear();
            push_money_in(&mut num, a.amount_due, crate::money::minor_units(&a.currency));
            out.field(&num);
            scratch.clear();
            for (k, id) in a.invoice_ids.iter().enumerate() {
                if k > 0 {
                    scratch.push(';');
                }
                scratch.push_str(id);
            }
            out.field(&scratch);
            out.field(&a.reason);
            out.field(&e.action_id);
            out.end();
        }
        Ok(())
    })
}

/// The worklist's tasks, each with its rank among its owner's tasks (1 = first).
pub fn ranked_worklist(plan: &Plan) -> Vec<(&PlanEntry, u64)> {
    let mut rank = 0u64;
    let mut owner: Option<&Option<String>> = None;
    worklist(plan)
        .into_iter()
        .map(|e| {
            if owner != Some(&e.action.owner) {
                owner = Some(&e.action.owner);
                rank = 0;
            }
            rank += 1;
            (e, rank)
        })
        .collect()
}

/// One input file in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    pub file: String,
    pub blake3: String,
    pub read: u64,
    pub loaded: u64,
    pub rejected: u64,
    /// Physical lines, the header included: `1 + read + blank_lines +
    /// quoted_line_breaks` ([`crate::ledger::FileCounts`]).
    #[serde(default)]
    pub lines: u64,
    #[serde(default)]
    pub blank_lines: u64,
    #[serde(default)]
    pub quoted_line_breaks: u64,
}

/// manifest.json: what produced this output set. Timings live only here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub recoup_version: String,
    pub as_of: Option<chrono::NaiveDate>,
    pub policy: String,
    pub policy_version: String,
    pub policy_blake3: String,
    pub ledger: String,
    pub inputs: Vec<InputFile>,
    pub outputs: Vec<String>,
    pub actions: u64,
    pub customers_skipped: u64,
    pub threads: usize,
    pub timings_ms: Vec<(String, u64)>,
    /// `I/N` for a shard's outputs (`recoup run --shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The number of shards a `recoup merge` combined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_shards: Option<u32>,
    /// The ledger read, as one hash of its files ([`super::shard::ledger_id`]);
    /// for a partition `recoup split` wrote, the ledger it was split from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ledger: Option<String>,
    /// Every output file but the manifest, with its size and BLAKE3 hash:
    /// what proves the set whole (`recoup merge` checks each shard's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<crate::output::Written>,
}

impl Manifest {
    /// The input files of a load report.
    pub fn inputs(report: &LoadReport) -> Vec<InputFile> {
        report
            .files()
            .iter()
            .filter_map(|(kind, c)| {
                let name = report.format.file_name(*kind);
                let hash = report.hashes.iter().find(|(f, _)| f == name)?;
                Some(InputFile {
                    file: name.to_string(),
                    blake3: hash.1.clone(),
                    read: c.read,
                    loaded: c.loaded,
                    rejected: c.rejected,
                    lines: c.lines,
                    blank_lines: c.blank_lines,
                    quoted_line_breaks: c.quoted_line_breaks,
                })
            })
            .collect()
    }
}

/// Everything a run writes.
pub struct RunOutputs<'a> {
    pub plan: &'a Plan,
    pub summary: &'a Summary,
    pub rejects: &'a [Problem],
    /// rejects.csv already written, verbatim: by shards (`recoup merge`), or
    /// a database ledger's (by table and key, `output::write_rejects`).
    pub rejects_csv: Option<&'a [u8]>,
    /// shard.json, for a shard's outputs.
    pub shard: Option<&'a ShardPart>,
    /// The rendered messages (`recoup run` without `--no-outbox`; `recoup merge` of shards with outboxes).
    pub outbox: Option<&'a crate::outbox::Outbox>,
}

/// Write a run's outputs into `dir` (apart from the command's `inputs`) as one atomic set; the manifest is
/// completed with the list of files written and the `write` stage's time
/// (every file but the manifest written and synced), and written last.
pub fn write_run(
    dir: &Path,
    inputs: &[Input<'_>],
    out: &RunOutputs<'_>,
    manifest: &mut Manifest,
) -> Result<(), OutputError> {
    write_run_into(OutputSet::create(dir, Kind::Run, inputs)?, out, manifest)
}

/// [`write_run`] into an output set locked earlier (`recoup run` locks its
/// folder before it starts, so a second run refuses at once).
pub fn write_run_into(set: OutputSet, out: &RunOutputs<'_>, manifest: &mut Manifest) -> Result<(), OutputError> {
    write_run_as(set, out, manifest, Formats::default())
}

/// The formats a run writes its plan and worklist in, beside the CSV files
/// (always written: `recoup report`, `send` and `merge` read them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Formats {
    /// plan.parquet and worklist.parquet (`recoup run --parquet`).
    pub parquet: bool,
}

/// [`write_run_into`], also in the `formats` asked for: plan.parquet and
/// worklist.parquet join the same atomic set and the manifest's list of
/// files with their hashes.
pub fn write_run_as(
    set: OutputSet,
    out: &RunOutputs<'_>,
    manifest: &mut Manifest,
    formats: Formats,
) -> Result<(), OutputError> {
    let started = std::time::Instant::now();
    let parquet = || -> Result<(), OutputError> {
        if formats.parquet {
            set.write("plan.parquet", |w| super::parquet::plan_parquet(w, &out.plan.entries))?;
            set.write("worklist.parquet", |w| super::parquet::worklist_parquet(w, &ranked_worklist(out.plan)))?;
        }
        Ok(())
    };
    // The three big files and the outbox's are formatted and synced on
    // worker threads at once (each file's bytes do not depend on the others,
    // nor on the threads). The outbox is a few files, one per channel: a file
    // per message cost more than the rest of the run (docs/performance.md).
    let outbox: &[(String, Vec<u8>)] = out.outbox.map_or(&[], |o| &o.files);
    let (csv, (jsonl, rest)) = rayon::join(
        || set.write("plan.csv", |w| plan_csv(w, out.plan)),
        || {
            rayon::join(
                || set.write("plan.jsonl", |w| plan_jsonl(w, out.plan)),
                || {
                    let (small, (messages, parquet)) = rayon::join(
                        || {
                            set.write("worklist.csv", |w| worklist_csv(w, out.plan))?;
                            set.write("summary.json", |w| json(w, out.summary))
                        },
                        || {
                            rayon::join(
                                || {
                                    outbox
                                        .par_iter()
                                        .try_for_each(|(name, bytes)| set.write(name, |w| w.write_all(bytes)))
                                },
                                parquet,
                            )
                        },
                    );
                    small.and(messages).and(parquet)
                },
            )
        },
    );
    csv.and(jsonl).and(rest)?;
    let mut outputs = vec!["plan.csv", "plan.jsonl", "worklist.csv", "summary.json"];
    if formats.parquet {
        outputs.extend(["plan.parquet", "worklist.parquet"]);
    }
    if let Some(csv) = out.rejects_csv {
        set.write("rejects.csv", |w| w.write_all(csv))?;
        outputs.push("rejects.csv");
    } else if !out.rejects.is_empty() {
        let format = crate::ledger::LedgerFormat::of_files(manifest.inputs.iter().map(|i| i.file.as_str()));
        set.write("rejects.csv", |w| write_rejects_in(w, out.rejects, format))?;
        outputs.push("rejects.csv");
    }
    if let Some(part) = out.shard {
        set.write("shard.json", |w| json(w, part))?;
        outputs.push("shard.json");
    }
    if out.outbox.is_some() {
        outputs.push("outbox/");
    }
    outputs.push("manifest.json");
    manifest.outputs = outputs.into_iter().map(String::from).collect();
    manifest.timings_ms.push(("write".to_string(), started.elapsed().as_millis() as u64));
    manifest.files = set.written();
    set.write("manifest.json", |w| json(w, &*manifest))?;
    set.commit()
}

fn json<T: Serialize>(w: &mut dyn Write, v: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, v)?;
    w.write_all(b"\n")
}
