//! Loading a ledger folder: read each CSV file, split it into chunks parsed
//! in parallel, decode every cell, resolve ids, and account for every row as
//! loaded or rejected. All problems of a run are collected in one pass.

use super::decode::{self, DecodeError};
use super::problem::{FileKind, Problem, ProblemKind, Severity};
use super::{
    AccountType, ActionKind, ActionRecord, Arm, Channel, CustIx, Customer, FileCounts, InvIx, Invoice, InvoiceStatus,
    Ledger, LoadReport, Outcome, Payment, Promise, RiskClass, Text,
};
use csv::ByteRecord;
use hashbrown::HashTable;
use rayon::prelude::*;
use rust_decimal::Decimal;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

impl LoadError {
    /// The file and line the error is about, when there is one.
    pub fn location(&self) -> Option<(&'static str, u64)> {
        match self {
            LoadError::MissingColumn { file, .. } => Some((file, 1)),
            LoadError::Csv { file, line, .. } => Some((file, *line)),
            _ => None,
        }
    }
}

/// How to treat bad rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Reject bad rows (report them, go on) instead of refusing the ledger.
    pub reject_bad_rows: bool,
}

/// Why a ledger could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A required file is missing from the ledger folder.
    #[error("missing ledger file `{}`", path.display())]
    MissingFile { path: PathBuf },
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The header lacks a required column.
    #[error("`{file}` has no column `{column}`{}", did_you_mean.as_ref().map(|d| format!(" (found `{d}`: a typo?)")).unwrap_or_default())]
    MissingColumn { file: &'static str, column: &'static str, did_you_mean: Option<String> },
    /// The CSV structure itself is broken (e.g. invalid UTF-8 in the header).
    #[error("`{file}` line {line}: {message}")]
    Csv { file: &'static str, line: u64, message: String },
    /// Rows are bad and `--reject-bad-rows` was not given.
    #[error("{} bad row(s) in the ledger; nothing was written", rows)]
    BadRows { rows: u64, problems: Vec<Problem>, report: Box<LoadReport> },
}

/// The columns of a file: name and whether it is required.
struct Columns(&'static [(&'static str, bool)]);

const CUSTOMER_COLS: Columns = Columns(&[
    ("customer_id", true),
    ("name", true),
    ("segment", true),
    ("country", true),
    ("currency", true),
    ("credit_limit", true),
    ("payment_terms", true),
    ("credit_score", false),
    ("risk_class", false),
    ("account_owner", false),
    ("email", false),
    ("phone", false),
    ("preferred_channel", false),
    ("do_not_contact", false),
    ("on_hold", false),
    ("opened_on", false),
    ("account_type", false),
]);
const INVOICE_COLS: Columns = Columns(&[
    ("invoice_id", true),
    ("customer_id", true),
    ("issue_date", true),
    ("due_date", true),
    ("currency", true),
    ("amount", true),
    ("open_amount", true),
    ("status", true),
    ("disputed_since", false),
    ("dispute_reason", false),
]);
const PAYMENT_COLS: Columns =
    Columns(&[("payment_id", true), ("customer_id", true), ("invoice_id", false), ("paid_on", true), ("amount", true)]);
const PROMISE_COLS: Columns = Columns(&[
    ("promise_id", true),
    ("customer_id", true),
    ("invoice_id", false),
    ("made_on", true),
    ("due_on", true),
    ("amount", true),
    ("plan_id", false),
]);
const ACTION_COLS: Columns = Columns(&[
    ("action_id", true),
    ("customer_id", true),
    ("invoice_id", false),
    ("rule_id", true),
    ("action", true),
    ("channel", false),
    ("decided_on", true),
    ("executed_on", false),
    ("outcome", false),
    ("arm", false),
]);

/// Where each known column sits in the file's records.
struct Header {
    pos: Vec<Option<usize>>,
    width: usize,
}

/// Per-row decoding context: reads cells by column number, records problems.
struct Row<'a> {
    fields: &'a [&'a [u8]],
    header: &'a Header,
    cols: &'static Columns,
    file: FileKind,
    line: u64,
    problems: Vec<Problem>,
}

impl<'a> Row<'a> {
    fn raw(&self, k: usize) -> &'a [u8] {
        match self.header.pos[k] {
            Some(p) => self.fields.get(p).copied().unwrap_or(b""),
            None => b"",
        }
    }

    fn problem(&mut self, k: usize, kind: ProblemKind) {
        let value = String::from_utf8_lossy(self.raw(k).trim_ascii()).into_owned();
        self.problems.push(Problem {
            severity: Severity::Error,
            file: self.file,
            line: self.line,
            column: Some(self.cols.0[k].0.to_string()),
            value,
            kind,
        });
    }

    fn get<T>(&mut self, k: usize, f: impl FnOnce(&'a [u8]) -> Result<T, DecodeError>) -> Option<T> {
        match f(self.raw(k)) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(k, ProblemKind::BadValue { expected: e.expected() });
                None
            }
        }
    }

    fn text(&mut self, k: usize) -> Option<Text> {
        self.get(k, decode::text).map(Text::from)
    }

    fn opt_text(&mut self, k: usize) -> Option<Text> {
        self.get(k, decode::opt_text).flatten().map(Text::from)
    }

    fn positive(&mut self, k: usize) -> Option<Decimal> {
        let v = self.get(k, decode::money)?;
        if v <= Decimal::ZERO {
            self.problem(k, ProblemKind::NotPositive);
            return None;
        }
        Some(v)
    }

    fn finish<T>(self, row: Option<T>) -> Result<T, Vec<Problem>> {
        match row {
            Some(r) if self.problems.is_empty() => Ok(r),
            _ => Err(self.problems),
        }
    }
}

/// The rows of one file that decoded, with their line numbers, and the
/// problems of the rows that did not.
struct Parsed<T> {
    rows: Vec<T>,
    lines: Vec<u64>,
    bad: Vec<Problem>,
    bad_rows: u64,
    warnings: Vec<Problem>,
    /// Ids of rows rejected while decoding, with their lines, so rows that
    /// refer to them can say so.
    rejected_ids: Vec<(Text, u64)>,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            rows: Vec::new(),
            lines: Vec::new(),
            bad: Vec::new(),
            bad_rows: 0,
            warnings: Vec::new(),
            rejected_ids: Vec::new(),
        }
    }
}

impl<T> Parsed<T> {
    fn append(&mut self, mut other: Parsed<T>) {
        self.rows.append(&mut other.rows);
        self.lines.append(&mut other.lines);
        self.bad.append(&mut other.bad);
        self.bad_rows += other.bad_rows;
        self.warnings.append(&mut other.warnings);
        self.rejected_ids.append(&mut other.rejected_ids);
    }

    fn counts(&self) -> FileCounts {
        let loaded = self.rows.len() as u64;
        FileCounts { read: loaded + self.bad_rows, loaded, rejected: self.bad_rows }
    }

    /// Drop rows for which `reject` returns problems, keeping order.
    fn reject_where(&mut self, mut reject: impl FnMut(usize, &T, u64) -> Option<Problem>) {
        let mut keep = Vec::with_capacity(self.rows.len());
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, (row, line)) in
            std::mem::take(&mut self.rows).into_iter().zip(std::mem::take(&mut self.lines)).enumerate()
        {
            match reject(i, &row, line) {
                Some(p) => {
                    self.bad.push(p);
                    self.bad_rows += 1;
                }
                None => {
                    keep.push(row);
                    lines.push(line);
                }
            }
        }
        self.rows = keep;
        self.lines = lines;
    }
}

/// Rejected ids by id, for reference errors.
fn rejected_map(ids: &[(Text, u64)]) -> hashbrown::HashMap<&str, u64> {
    ids.iter().map(|(id, line)| (&**id, *line)).collect()
}

fn hash_str(s: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x5eed).hash_one(s)
}

const SHARDS: usize = 64;

fn shard_of(h: u64) -> usize {
    // Middle bits: hashbrown uses the low bits for the slot and the top 7
    // for its tag, so sharding on either would weaken the tables.
    ((h >> 32) as usize) % SHARDS
}

/// A hash index from id strings to row numbers that borrows the ids from the
/// rows themselves (no copies of the strings), built in parallel shards.
pub(crate) struct IdIndex {
    shards: Vec<HashTable<u32>>,
}

impl IdIndex {
    /// Index `n` ids; returns the index and the (row, first row) of each
    /// duplicate, in row order. The first occurrence of an id wins.
    pub(crate) fn build<'a>(n: usize, id: impl Fn(usize) -> &'a str + Sync) -> (IdIndex, Vec<(usize, usize)>) {
        let hashes: Vec<u64> = (0..n).into_par_iter().map(|i| hash_str(id(i))).collect();
        let mut offsets = [0usize; SHARDS + 1];
        for &h in &hashes {
            offsets[shard_of(h) + 1] += 1;
        }
        for s in 0..SHARDS {
            offsets[s + 1] += offsets[s];
        }
        let mut next = offsets;
        let mut order = vec![0u32; n];
        for (i, &h) in hashes.iter().enumerate() {
            let s = shard_of(h);
            order[next[s]] = i as u32;
            next[s] += 1;
        }
        type Shard = (HashTable<u32>, Vec<(usize, usize)>);
        let built: Vec<Shard> = (0..SHARDS)
            .into_par_iter()
            .map(|s| {
                let rows = &order[offsets[s]..offsets[s + 1]];
                let mut table = HashTable::with_capacity(rows.len());
                let mut dups = Vec::new();
                for &i in rows {
                    let (key, h) = (id(i as usize), hashes[i as usize]);
                    match table.find(h, |&j: &u32| id(j as usize) == key) {
                        Some(&j) => dups.push((i as usize, j as usize)),
                        None => {
                            table.insert_unique(h, i, |&j: &u32| hashes[j as usize]);
                        }
                    }
                }
                (table, dups)
            })
            .collect();
        let mut shards = Vec::with_capacity(SHARDS);
        let mut dups = Vec::new();
        for (t, d) in built {
            shards.push(t);
            dups.extend(d);
        }
        dups.sort_unstable();
        (IdIndex { shards }, dups)
    }

    pub(crate) fn get<'a>(&self, key: &str, id: impl Fn(usize) -> &'a str) -> Option<u32> {
        let h = hash_str(key);
        self.shards[shard_of(h)].find(h, |&j| id(j as usize) == key).copied()
    }
}

/// Split the body of a CSV file into chunks at record boundaries: a newline
/// outside quotes (quote parity tells which).
fn chunks(body: &[u8], target: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let has_quotes = memchr::memchr(b'"', body).is_some();
    let mut quotes_before = 0usize;
    while start < body.len() {
        let mut end = (start + target).min(body.len());
        loop {
            if end >= body.len() {
                end = body.len();
                break;
            }
            match memchr::memchr(b'\n', &body[end..]) {
                None => {
                    end = body.len();
                    break;
                }
                Some(off) => {
                    end += off + 1;
                    if !has_quotes {
                        break;
                    }
                    let q = memchr::memchr_iter(b'"', &body[start..end]).count();
                    if (quotes_before + q).is_multiple_of(2) {
                        break;
                    }
                }
            }
        }
        if has_quotes {
            quotes_before += memchr::memchr_iter(b'"', &body[start..end]).count();
        }
        out.push((start, end));
        start = end;
    }
    out
}

fn read_header(
    file: FileKind,
    bytes: &[u8],
    cols: &'static Columns,
) -> Result<(Header, usize, u64, Vec<Problem>), LoadError> {
    let name = file.file_name();
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut rec = ByteRecord::new();
    let got =
        rdr.read_byte_record(&mut rec).map_err(|e| LoadError::Csv { file: name, line: 1, message: e.to_string() })?;
    if !got {
        return Err(LoadError::Csv { file: name, line: 1, message: "the file is empty; expected a header row".into() });
    }
    let names: Vec<String> = rec.iter().map(|f| String::from_utf8_lossy(f.trim_ascii()).to_ascii_lowercase()).collect();
    let mut pos = vec![None; cols.0.len()];
    for (k, (col, required)) in cols.0.iter().enumerate() {
        pos[k] = names.iter().position(|n| n == col);
        if pos[k].is_none() && *required {
            let did_you_mean = names.iter().find(|n| !cols.0.iter().any(|(c, _)| c == n) && close(n, col)).cloned();
            return Err(LoadError::MissingColumn { file: name, column: col, did_you_mean });
        }
    }
    let body_line = rdr.position().line();
    let warnings = names
        .iter()
        .filter(|n| !cols.0.iter().any(|(c, _)| c == n))
        .map(|n| Problem {
            severity: Severity::Warning,
            file,
            line: 1,
            column: Some(n.clone()),
            value: String::new(),
            kind: ProblemKind::UnknownColumn,
        })
        .collect();
    Ok((Header { pos, width: names.len() }, rdr.position().byte() as usize, body_line, warnings))
}

/// Two column names are close if one edit (or a case/underscore change) apart.
fn close(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace(['_', ' ', '-'], "");
    if norm(a) == norm(b) {
        return true;
    }
    strsim::levenshtein(a, b) <= 2
}

/// Parse one file: header, then chunks in parallel, each row decoded by `decode`.
fn parse_file<T: Send>(
    file: FileKind,
    bytes: &[u8],
    cols: &'static Columns,
    decode: impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync,
) -> Result<Parsed<T>, LoadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (header, body_start, body_line, header_warnings) = read_header(file, bytes, cols)?;
    let body = &bytes[body_start.min(bytes.len())..];
    let target = (body.len() / (rayon::current_num_threads() * 4).max(1)).max(1 << 20);
    let parts = chunks(body, target);
    let newlines: Vec<u64> =
        parts.par_iter().map(|&(s, e)| memchr::memchr_iter(b'\n', &body[s..e]).count() as u64).collect();
    let mut first_line = Vec::with_capacity(parts.len());
    let mut line = body_line;
    for n in &newlines {
        first_line.push(line);
        line += n;
    }
    let results: Vec<Result<Parsed<T>, LoadError>> = parts
        .par_iter()
        .zip(first_line.par_iter())
        .zip(newlines.par_iter())
        .map(|((&(s, e), &line0), &n)| parse_chunk(file, &body[s..e], line0, n as usize, &header, cols, &decode))
        .collect();
    let total: usize = newlines.iter().map(|&n| n as usize).sum();
    let mut all = Parsed {
        warnings: header_warnings,
        rows: Vec::with_capacity(total),
        lines: Vec::with_capacity(total),
        ..Parsed::default()
    };
    for r in results {
        all.append(r?);
    }
    Ok(all)
}

fn parse_chunk<T>(
    file: FileKind,
    chunk: &[u8],
    line0: u64,
    expected_rows: usize,
    header: &Header,
    cols: &'static Columns,
    decode: &(impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync),
) -> Result<Parsed<T>, LoadError> {
    let mut out = Parsed {
        rows: Vec::with_capacity(expected_rows),
        lines: Vec::with_capacity(expected_rows),
        ..Parsed::default()
    };
    let mut memo = Memo::default();
    let mut fields: Vec<&[u8]> = Vec::with_capacity(header.width);
    let (mut unquoted, mut ranges) = (Vec::new(), Vec::new());
    let (mut pos, mut line) = (0usize, line0);
    // One pass over the chunk finds every comma, quote and newline; records
    // without quotes are split in place, quoted ones by `split_quoted`.
    let mut field_start = 0usize;
    let mut base = 0usize;
    let mut events = memchr::memchr3_iter(b',', b'"', b'\n', chunk);
    loop {
        let next = events.next().map(|k| k + base);
        match next.map(|k| chunk[k]) {
            Some(b',') => {
                if let Some(k) = next {
                    fields.push(&chunk[field_start..k]);
                    field_start = k + 1;
                }
            }
            Some(b'"') => {
                let Some(consumed) = split_quoted(&chunk[pos..], &mut unquoted, &mut ranges) else {
                    return Err(LoadError::Csv {
                        file: file.file_name(),
                        line,
                        message: "a quoted field is never closed; check for a stray `\"`".into(),
                    });
                };
                let owned: Vec<&[u8]> = ranges.iter().map(|r| &unquoted[r.clone()]).collect();
                handle_record(file, &owned, line, header, cols, decode, &mut memo, &mut out);
                line += memchr::memchr_iter(b'\n', &chunk[pos..pos + consumed]).count() as u64;
                pos += consumed;
                field_start = pos;
                fields.clear();
                if pos >= chunk.len() {
                    break;
                }
                base = pos;
                events = memchr::memchr3_iter(b',', b'"', b'\n', &chunk[pos..]);
            }
            _ => {
                let end = next.unwrap_or(chunk.len());
                let mut last = &chunk[field_start..end];
                if last.last() == Some(&b'\r') {
                    last = &last[..last.len() - 1];
                }
                let empty = fields.is_empty() && last.is_empty();
                if !empty {
                    fields.push(last);
                    handle_record(file, &fields, line, header, cols, decode, &mut memo, &mut out);
                }
                fields.clear();
                line += 1;
                if next.is_none() {
                    break;
                }
                pos = end + 1;
                field_start = pos;
            }
        }
    }
    Ok(out)
}

/// Parse one RFC 4180 record that contains quotes from the start of `b`:
/// fields go unescaped into `buf` (`""` → `"`), their ranges into `ranges`.
/// Returns the bytes consumed including the line end, or `None` when a
/// quoted field is never closed.
fn split_quoted(b: &[u8], buf: &mut Vec<u8>, ranges: &mut Vec<std::ops::Range<usize>>) -> Option<usize> {
    buf.clear();
    ranges.clear();
    let (mut i, mut start, mut in_quotes) = (0usize, 0usize, false);
    loop {
        let c = b.get(i).copied();
        match (in_quotes, c) {
            (true, None) => return None,
            (true, Some(b'"')) if b.get(i + 1) == Some(&b'"') => {
                buf.push(b'"');
                i += 2;
                continue;
            }
            (true, Some(b'"')) => in_quotes = false,
            (true, Some(c)) => buf.push(c),
            (false, Some(b'"')) => in_quotes = true,
            (false, Some(b',')) => {
                ranges.push(start..buf.len());
                start = buf.len();
            }
            (false, None | Some(b'\n')) => {
                if buf.last() == Some(&b'\r') && start < buf.len() {
                    buf.pop();
                }
                ranges.push(start..buf.len());
                return Some((i + 1).min(b.len()));
            }
            (false, Some(c)) => buf.push(c),
        }
        i += 1;
    }
}

/// The last id resolved in a chunk: files exported per customer repeat the
/// same customer (and invoice) on consecutive rows, so most lookups hit it.
#[derive(Default)]
struct Memo {
    customer: Option<(Text, CustIx)>,
    invoice: Option<(Text, InvIx)>,
}

#[allow(clippy::too_many_arguments)]
fn handle_record<T>(
    file: FileKind,
    fields: &[&[u8]],
    line: u64,
    header: &Header,
    cols: &'static Columns,
    decode: &(impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync),
    memo: &mut Memo,
    out: &mut Parsed<T>,
) {
    if fields.len() != header.width {
        out.bad.push(Problem {
            severity: Severity::Error,
            file,
            line,
            column: None,
            value: String::new(),
            kind: ProblemKind::FieldCount { expected: header.width, found: fields.len() },
        });
        out.bad_rows += 1;
        return;
    }
    let mut row = Row { fields, header, cols, file, line, problems: Vec::new() };
    let decoded = decode(&mut row, memo);
    match row.finish(decoded) {
        Ok(r) => {
            out.rows.push(r);
            out.lines.push(line);
        }
        Err(mut problems) => {
            if let Some(id) = header.pos[0].and_then(|p| fields.get(p)).and_then(|b| decode::text(b).ok()) {
                out.rejected_ids.push((id.into(), line));
            }
            out.bad.append(&mut problems);
            out.bad_rows += 1;
        }
    }
}

fn read(dir: &Path, file: FileKind, required: bool) -> Result<Option<Vec<u8>>, LoadError> {
    let path = dir.join(file.file_name());
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(LoadError::MissingFile { path }),
        Err(source) => Err(LoadError::Io { path, source }),
    }
}

fn decode_customer(r: &mut Row<'_>, _: &mut Memo) -> Option<Customer> {
    let id = r.text(0);
    let name = r.text(1);
    let segment = r.text(2);
    let country = r.text(3);
    let currency = r.text(4);
    let credit_limit = r.get(5, decode::money);
    if let Some(l) = credit_limit
        && l < Decimal::ZERO
    {
        r.problem(5, ProblemKind::NotPositive);
    }
    let terms = r.get(6, decode::terms);
    let credit_score = r.get(7, decode::opt_score);
    let risk_class = r.get(8, |b| opt(b, RiskClass::decode));
    let account_owner = r.opt_text(9);
    let email = r.opt_text(10);
    let phone = r.opt_text(11);
    let preferred_channel = r.get(12, |b| opt(b, Channel::decode));
    let do_not_contact = r.get(13, decode::flag);
    let on_hold = r.get(14, decode::flag);
    let opened_on = r.get(15, decode::opt_date);
    let account_type = r.get(16, |b| opt(b, AccountType::decode));
    Some(Customer {
        id: id?,
        name: name?,
        segment: segment?,
        country: country?,
        currency: currency?,
        credit_limit: credit_limit?,
        terms: terms?,
        credit_score: credit_score?,
        risk_class: risk_class?,
        account_owner,
        email,
        phone,
        preferred_channel: preferred_channel?,
        do_not_contact: do_not_contact?,
        on_hold: on_hold?,
        opened_on: opened_on?,
        account_type: account_type?.unwrap_or(AccountType::Business),
    })
}

fn opt<T>(b: &[u8], f: impl FnOnce(&[u8]) -> Result<T, DecodeError>) -> Result<Option<T>, DecodeError> {
    if b.trim_ascii().is_empty() { Ok(None) } else { f(b).map(Some) }
}

/// Read-only lookups the row decoders need.
struct Refs<'a> {
    customers: &'a [Customer],
    customer_ix: &'a IdIndex,
    rejected_customers: hashbrown::HashMap<&'a str, u64>,
    invoices: &'a [Invoice],
    invoice_ix: Option<&'a IdIndex>,
    /// The invoices of each customer: most references are found by scanning
    /// the few invoices of the row's customer, which stay in cache.
    invoices_by_customer: Option<&'a super::ByCustomer>,
    rejected_invoices: hashbrown::HashMap<&'a str, u64>,
}

impl Refs<'_> {
    /// Find invoice `id` among the invoices of `customer`, if it has few.
    fn local_invoice(&self, customer: Option<CustIx>, id: &str) -> Option<InvIx> {
        let rows = self.invoices_by_customer?.rows(customer?);
        if rows.len() > 64 {
            return None;
        }
        rows.iter().copied().find(|&i| self.invoices[i as usize].id == id)
    }

    fn customer(&self, r: &mut Row<'_>, k: usize, memo: &mut Memo) -> Option<CustIx> {
        let id = r.get(k, decode::text)?;
        if let Some((last, c)) = &memo.customer
            && last == id
        {
            return Some(*c);
        }
        let found = self.customer_ix.get(id, |i| &self.customers[i].id);
        if let Some(c) = found {
            memo.customer = Some((id.into(), c));
        }
        if found.is_none() {
            let kind = match self.rejected_customers.get(id) {
                Some(&line) => ProblemKind::RejectedReference { file: FileKind::Customers, line },
                None => ProblemKind::UnknownCustomer,
            };
            r.problem(k, kind);
        }
        found
    }

    /// An optional invoice reference that must belong to `customer`.
    fn invoice(&self, r: &mut Row<'_>, k: usize, customer: Option<CustIx>, memo: &mut Memo) -> Option<Option<InvIx>> {
        let id = r.get(k, decode::opt_text)?;
        let Some(id) = id else { return Some(None) };
        let ix = match &memo.invoice {
            Some((last, i)) if last == id => Some(*i),
            _ => self.local_invoice(customer, id).or_else(|| self.invoice_ix?.get(id, |i| &self.invoices[i].id)),
        };
        if let Some(i) = ix {
            memo.invoice = Some((id.into(), i));
        }
        let Some(ix) = ix else {
            let kind = match self.rejected_invoices.get(id) {
                Some(&line) => ProblemKind::RejectedReference { file: FileKind::Invoices, line },
                None => ProblemKind::UnknownInvoice,
            };
            r.problem(k, kind);
            return None;
        };
        let owner = self.invoices[ix as usize].customer;
        if let Some(c) = customer
            && c != owner
        {
            let invoice_customer = self.customers[owner as usize].id.to_string();
            r.problem(k, ProblemKind::CustomerMismatch { invoice_customer });
            return None;
        }
        Some(Some(ix))
    }
}

fn decode_invoice(r: &mut Row<'_>, refs: &Refs<'_>, memo: &mut Memo) -> Option<Invoice> {
    let id = r.text(0);
    let customer = refs.customer(r, 1, memo);
    let issue_date = r.get(2, decode::date);
    let due_date = r.get(3, decode::date);
    let currency = r.get(4, decode::text);
    let amount = r.positive(5);
    let open_amount = r.get(6, decode::money);
    let status = r.get(7, InvoiceStatus::decode);
    let disputed_since = r.get(8, decode::opt_date);
    let dispute_reason = r.opt_text(9);
    if let (Some(c), Some(cur)) = (customer, currency) {
        let cc = &refs.customers[c as usize].currency;
        if !cc.eq_ignore_ascii_case(cur) {
            r.problem(4, ProblemKind::CurrencyMismatch { customer_currency: cc.to_string() });
        }
    }
    if let (Some(i), Some(d)) = (issue_date, due_date)
        && d < i
    {
        r.problem(3, ProblemKind::DateOrder { other_column: "issue_date".into() });
    }
    if let Some(o) = open_amount {
        if o < Decimal::ZERO {
            r.problem(6, ProblemKind::NotPositive);
        } else if let Some(a) = amount
            && o > a
        {
            r.problem(6, ProblemKind::OpenExceedsAmount);
        }
        if status == Some(InvoiceStatus::Paid) && !o.is_zero() {
            r.problem(6, ProblemKind::PaidWithOpenAmount);
        }
    }
    Some(Invoice {
        id: id?,
        customer: customer?,
        issue_date: issue_date?,
        due_date: due_date?,
        amount: amount?,
        open_amount: open_amount?,
        status: status?,
        disputed_since: disputed_since?,
        dispute_reason,
    })
}

fn decode_payment(r: &mut Row<'_>, refs: &Refs<'_>, memo: &mut Memo) -> Option<Payment> {
    let id = r.text(0);
    let customer = refs.customer(r, 1, memo);
    let invoice = refs.invoice(r, 2, customer, memo);
    let paid_on = r.get(3, decode::date);
    let amount = r.positive(4);
    Some(Payment { id: id?, customer: customer?, invoice: invoice?, paid_on: paid_on?, amount: amount? })
}

fn decode_promise(r: &mut Row<'_>, refs: &Refs<'_>, memo: &mut Memo) -> Option<Promise> {
    let id = r.text(0);
    let customer = refs.customer(r, 1, memo);
    let invoice = refs.invoice(r, 2, customer, memo);
    let made_on = r.get(3, decode::date);
    let due_on = r.get(4, decode::date);
    let amount = r.positive(5);
    let plan_id = r.opt_text(6);
    if let (Some(m), Some(d)) = (made_on, due_on)
        && d < m
    {
        r.problem(4, ProblemKind::DateOrder { other_column: "made_on".into() });
    }
    Some(Promise {
        id: id?,
        customer: customer?,
        invoice: invoice?,
        made_on: made_on?,
        due_on: due_on?,
        amount: amount?,
        plan_id,
    })
}

fn decode_action(r: &mut Row<'_>, refs: &Refs<'_>, memo: &mut Memo) -> Option<ActionRecord> {
    let id = r.text(0);
    let customer = refs.customer(r, 1, memo);
    let invoice = refs.invoice(r, 2, customer, memo);
    let rule_id = r.text(3);
    let action = r.get(4, ActionKind::decode);
    let channel = r.get(5, |b| opt(b, Channel::decode));
    let decided_on = r.get(6, decode::date);
    let executed_on = r.get(7, decode::opt_date);
    let outcome = r.get(8, |b| opt(b, Outcome::decode));
    let arm = r.get(9, |b| opt(b, Arm::decode));
    if let (Some(d), Some(Some(e))) = (decided_on, executed_on)
        && e < d
    {
        r.problem(7, ProblemKind::DateOrder { other_column: "decided_on".into() });
    }
    Some(ActionRecord {
        id: id?,
        customer: customer?,
        invoice: invoice?,
        rule_id: rule_id?,
        action: action?,
        channel: channel?,
        decided_on: decided_on?,
        executed_on: executed_on?,
        outcome: outcome?,
        arm: arm?,
    })
}

/// Reject the second and later rows that reuse an id, when no index of the
/// ids is needed afterwards. Ids in strictly increasing order (as exports
/// numbered in sequence are) cannot repeat: one parallel pass proves it and
/// the hash index is not built.
fn reject_duplicate_rows<T: Sync>(
    parsed: &mut Parsed<T>,
    file: FileKind,
    column: &str,
    id: impl Fn(&T) -> &str + Sync,
) {
    let rows = &parsed.rows;
    let increasing = rows.par_windows(2).all(|w| id(&w[0]) < id(&w[1]));
    if !increasing {
        reject_duplicates(parsed, file, column, id);
    }
}

/// Reject the second and later rows that reuse an id; returns the id index
/// of the rows kept.
fn reject_duplicates<T: Sync>(
    parsed: &mut Parsed<T>,
    file: FileKind,
    column: &str,
    id: impl Fn(&T) -> &str + Sync,
) -> IdIndex {
    let (index, dups) = IdIndex::build(parsed.rows.len(), |i| id(&parsed.rows[i]));
    if dups.is_empty() {
        return index;
    }
    let lines = &parsed.lines;
    let first: hashbrown::HashMap<usize, u64> = dups.iter().map(|&(i, j)| (i, lines[j])).collect();
    parsed.reject_where(|i, row, line| {
        first.get(&i).map(|&first_line| Problem {
            severity: Severity::Error,
            file,
            line,
            column: Some(column.to_string()),
            value: id(row).to_string(),
            kind: ProblemKind::DuplicateId { first_line },
        })
    });
    IdIndex::build(parsed.rows.len(), |i| id(&parsed.rows[i])).0
}

fn hash_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Load and validate the ledger in `dir`.
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Ledger, LoadError> {
    for kind in [FileKind::Customers, FileKind::Invoices, FileKind::Payments] {
        let path = dir.join(kind.file_name());
        if !path.is_file() {
            return Err(LoadError::MissingFile { path });
        }
    }
    // Whether the optional files exist is decided once, before reading: one
    // that vanishes while the ledger is read is an error, not an empty file
    // (a lost actions.csv would repeat steps and charge fees again).
    let present = |kind: FileKind| dir.join(kind.file_name()).is_file();
    let optional = (present(FileKind::Promises), present(FileKind::Actions));
    let (mut ledger, problems, bad_rows) = parse_all(dir, optional)?;
    if bad_rows > 0 && !opts.reject_bad_rows {
        return Err(LoadError::BadRows { rows: bad_rows, problems, report: Box::new(ledger.report) });
    }
    ledger.report.rejects = problems;
    ledger.index();
    Ok(ledger)
}

/// A file name and the hex BLAKE3 hash of its bytes.
type FileHash = (String, String);

/// Read one file and parse it; its hash is computed alongside, and its bytes
/// are dropped as soon as it is parsed (peak memory holds few files at once).
fn read_and_parse<T: Send>(
    dir: &Path,
    file: FileKind,
    required: bool,
    cols: &'static Columns,
    decode: impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync + Send,
) -> Result<(Parsed<T>, Option<FileHash>), LoadError> {
    let Some(bytes) = read(dir, file, required)? else {
        return Ok((Parsed::default(), None));
    };
    let (hash, parsed) = rayon::join(|| hash_hex(&bytes), || parse_file(file, &bytes, cols, decode));
    Ok((parsed?, Some((file.file_name().to_string(), hash))))
}

type AllParsed = (Ledger, Vec<Problem>, u64);

fn parse_all(dir: &Path, (promises_present, actions_present): (bool, bool)) -> Result<AllParsed, LoadError> {
    let mut hashes = Vec::new();
    let (mut customers, h) = read_and_parse(dir, FileKind::Customers, true, &CUSTOMER_COLS, decode_customer)?;
    hashes.extend(h);
    let customer_ix = reject_duplicates(&mut customers, FileKind::Customers, "customer_id", |c| &c.id);
    let rejected_customers = std::mem::take(&mut customers.rejected_ids);
    let refs = Refs {
        customers: &customers.rows,
        customer_ix: &customer_ix,
        rejected_customers: rejected_map(&rejected_customers),
        invoices: &[],
        invoice_ix: None,
        invoices_by_customer: None,
        rejected_invoices: hashbrown::HashMap::new(),
    };
    let (mut invoices, h) =
        read_and_parse(dir, FileKind::Invoices, true, &INVOICE_COLS, |r, m| decode_invoice(r, &refs, m))?;
    hashes.extend(h);
    drop(refs);
    let invoice_ix = reject_duplicates(&mut invoices, FileKind::Invoices, "invoice_id", |i| &i.id);
    let rejected_invoices = std::mem::take(&mut invoices.rejected_ids);
    let inv_rows = &invoices.rows;
    let invoices_by_customer = super::ByCustomer::build(customers.rows.len(), inv_rows.len(), |i| inv_rows[i].customer);
    for (inv, &line) in invoices.rows.iter_mut().zip(&invoices.lines) {
        if inv.status == InvoiceStatus::Open && inv.open_amount.is_zero() {
            invoices.warnings.push(Problem {
                severity: Severity::Warning,
                file: FileKind::Invoices,
                line,
                column: Some("open_amount".into()),
                value: inv.open_amount.to_string(),
                kind: ProblemKind::OpenWithZeroBalance,
            });
            inv.status = InvoiceStatus::Paid;
        }
    }
    let refs = Refs {
        customers: &customers.rows,
        customer_ix: &customer_ix,
        rejected_customers: rejected_map(&rejected_customers),
        invoices: &invoices.rows,
        invoice_ix: Some(&invoice_ix),
        invoices_by_customer: Some(&invoices_by_customer),
        rejected_invoices: rejected_map(&rejected_invoices),
    };
    // One file at a time (each is parsed in parallel chunks), so that only
    // one file's bytes are held at once.
    let payments = read_and_parse(dir, FileKind::Payments, true, &PAYMENT_COLS, |r, m| decode_payment(r, &refs, m));
    let promises =
        read_and_parse(dir, FileKind::Promises, promises_present, &PROMISE_COLS, |r, m| decode_promise(r, &refs, m));
    let actions =
        read_and_parse(dir, FileKind::Actions, actions_present, &ACTION_COLS, |r, m| decode_action(r, &refs, m));
    drop(refs);
    let ((mut payments, hp), (mut promises, hpr), (mut actions, ha)) = (payments?, promises?, actions?);
    hashes.extend([hp, hpr, ha].into_iter().flatten());
    reject_duplicate_rows(&mut payments, FileKind::Payments, "payment_id", |p| &p.id);
    reject_duplicate_rows(&mut promises, FileKind::Promises, "promise_id", |p| &p.id);
    reject_duplicate_rows(&mut actions, FileKind::Actions, "action_id", |a| &a.id);
    payments.warnings.extend(overpayments(&invoices.rows, &payments));

    let mut report = LoadReport {
        customers: customers.counts(),
        invoices: invoices.counts(),
        payments: payments.counts(),
        promises: promises.counts(),
        actions: actions.counts(),
        hashes,
        ..LoadReport::default()
    };
    let bad_rows: u64 = report.files().iter().map(|(_, c)| c.rejected).sum();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for (bad, warn) in [
        (customers.bad, customers.warnings),
        (invoices.bad, invoices.warnings),
        (payments.bad, payments.warnings),
        (promises.bad, promises.warnings),
        (actions.bad, actions.warnings),
    ] {
        problems.extend(bad);
        warnings.extend(warn);
    }
    problems.sort_by_key(|p| (p.file, p.line));
    warnings.sort_by_key(|p| (p.file, p.line));
    report.warnings = warnings;
    let ledger = Ledger {
        customers: customers.rows,
        invoices: invoices.rows,
        payments: payments.rows,
        promises: promises.rows,
        actions: actions.rows,
        report,
        ..Ledger::default()
    };
    Ok((ledger, problems, bad_rows))
}

/// Warn (never silently) when payments applied to an invoice add up to more
/// than its amount; the warning names the payment line that crossed it.
fn overpayments(invoices: &[Invoice], payments: &Parsed<Payment>) -> Vec<Problem> {
    let mut paid = vec![Decimal::ZERO; invoices.len()];
    let mut warned = vec![false; invoices.len()];
    let mut out = Vec::new();
    for (p, &line) in payments.rows.iter().zip(&payments.lines) {
        let Some(i) = p.invoice else { continue };
        let i = i as usize;
        paid[i] += p.amount;
        if paid[i] > invoices[i].amount && !warned[i] {
            warned[i] = true;
            out.push(Problem {
                severity: Severity::Warning,
                file: FileKind::Payments,
                line,
                column: Some("invoice_id".into()),
                value: invoices[i].id.to_string(),
                kind: ProblemKind::Overpaid { paid: paid[i].to_string(), amount: invoices[i].amount.to_string() },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_records_unescape() {
        let (mut buf, mut r) = (Vec::new(), Vec::new());
        let b = b"C1,\"Smith, Jones\",\"say \"\"hi\"\"\",\"two\nlines\"\r\nnext";
        let n = split_quoted(b, &mut buf, &mut r).unwrap();
        let fields: Vec<&[u8]> = r.iter().map(|r| &buf[r.clone()]).collect();
        assert_eq!(fields, vec![&b"C1"[..], b"Smith, Jones", b"say \"hi\"", b"two\nlines"]);
        assert_eq!(&b[n..], b"next");
        assert_eq!(split_quoted(b"a,\"open", &mut buf, &mut r), None);
    }

    #[test]
    fn chunks_respect_quoted_newlines() {
        let body = b"a,\"x\ny\",1\nb,c,2\nd,\"e\nf\",3\n";
        for target in 1..body.len() {
            let parts = chunks(body, target);
            assert_eq!(parts.first().map(|p| p.0), Some(0));
            assert_eq!(parts.last().map(|p| p.1), Some(body.len()));
            for (s, e) in &parts {
                let q = body[*s..*e].iter().filter(|&&c| c == b'"').count();
                assert_eq!(q % 2, 0, "chunk {s}..{e} splits a quoted field at target {target}");
            }
        }
    }

    #[test]
    fn id_index_finds_and_reports_duplicates() {
        let ids = ["a", "b", "a", "c", "b"];
        let (ix, dups) = IdIndex::build(ids.len(), |i| ids[i]);
        assert_eq!(dups, vec![(2, 0), (4, 1)]);
        assert_eq!(ix.get("c", |i| ids[i]), Some(3));
        assert_eq!(ix.get("z", |i| ids[i]), None);
    }
}
