//! Loading a ledger folder: read each CSV file, split it into chunks parsed
//! in parallel, decode every cell, resolve ids, and account for every row as
//! loaded or rejected. All problems of a run are collected in one pass.

use super::decode::{self, DecodeError};
use super::problem::{FileKind, LedgerFormat, Problem, ProblemKind, Severity};
use super::stream::{self, Cut, Rec, Unclosed};
use super::{
    AccountType, ActionKind, ActionRecord, Arm, Channel, CreditNote, CustIx, Customer, DocumentType, FileCounts, InvIx,
    Invoice, InvoiceStatus, Ledger, LoadReport, Outcome, Payment, Promise, RiskClass, RuleId, Text,
};
use chrono::NaiveDate;
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
            LoadError::MissingColumn { file, .. } | LoadError::DuplicateColumn { file, .. } => Some((file, 1)),
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
    /// The header names a column twice (positions are 1-based).
    #[error(
        "`{file}` has the column `{column}` twice, in positions {first} and {second}; refusing to guess which one holds the data"
    )]
    DuplicateColumn { file: &'static str, column: String, first: usize, second: usize },
    /// The CSV structure itself is broken (e.g. invalid UTF-8 in the header).
    #[error("`{file}` line {line}: {message}")]
    Csv { file: &'static str, line: u64, message: String },
    /// The folder holds ledger files of both formats (CSV and Parquet).
    #[error("the ledger folder holds CSV and Parquet files (`{}` and `{}`); refusing to guess which are the ledger", csv.display(), parquet.display())]
    MixedFormats { csv: PathBuf, parquet: PathBuf },
    /// A Parquet file that cannot be read as a ledger file.
    #[error("cannot read `{}`: {message}", path.display())]
    Parquet { path: PathBuf, message: String },
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
    ("address_line1", false),
    ("address_line2", false),
    ("postcode", false),
    ("city", false),
    ("language", false),
    ("contact_name", false),
    ("parent", false),
    ("sales_rep", false),
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
    ("document_type", false),
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
    fields: &'a [&'a str],
    /// Positions of fields that are not valid UTF-8 (shown lossily in `fields`).
    not_utf8: &'a [usize],
    header: &'a Header,
    cols: &'static Columns,
    file: FileKind,
    line: u64,
    problems: Vec<Problem>,
}

impl<'a> Row<'a> {
    #[inline(always)]
    fn field(&self, k: usize) -> &'a str {
        match self.header.pos[k] {
            Some(p) => self.fields.get(p).copied().unwrap_or(""),
            None => "",
        }
    }

    #[inline(always)]
    fn raw(&self, k: usize) -> &'a [u8] {
        self.field(k).as_bytes()
    }

    /// Decode a text cell (checked to be UTF-8 once per record).
    #[inline(always)]
    fn get_str<T>(&mut self, k: usize, f: impl FnOnce(&'a str) -> Result<T, DecodeError>) -> Option<T> {
        let utf8 = self.header.pos[k].is_none_or(|p| !self.not_utf8.contains(&p));
        match if utf8 { f(self.field(k)) } else { Err(DecodeError::Utf8) } {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(k, ProblemKind::BadValue { expected: e.expected() });
                None
            }
        }
    }

    #[cold]
    #[inline(never)]
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

    #[inline(always)]
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
        self.get_str(k, decode::text_str).map(Text::from)
    }

    fn opt_text(&mut self, k: usize) -> Option<Text> {
        self.get_str(k, decode::opt_text_str).flatten().map(Text::from)
    }

    /// No more decimals than `currency`'s minor units: none in yen, a third
    /// only in dinars (the decoder lets up to three through).
    #[inline(always)]
    fn in_currency(&mut self, k: usize, amount: Option<Decimal>, currency: Option<&str>, memo: &mut Memo<'_>) {
        if let (Some(d), Some(c)) = (amount, currency)
            && d.scale() != 0
            && !decode::fits_units(d, memo.units_of(c))
        {
            self.not_in_currency(k, c);
        }
    }

    #[cold]
    #[inline(never)]
    fn not_in_currency(&mut self, k: usize, c: &str) {
        let expected = match crate::money::minor_units(c) {
            0 => format!("an amount without decimals in {c} (it has no minor unit)"),
            n => format!("an amount with at most {n} decimals in {c}"),
        };
        self.problem(k, ProblemKind::BadValue { expected });
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
    /// Physical lines, blank lines and line breaks inside quoted fields.
    physical: LineCounts,
    /// The records that span lines: (first line, last line, swallowed rows).
    spans: Vec<(u64, u64, bool)>,
    /// The first and last dates of the rows decoded (issue, payment or decision dates).
    dates: Option<(NaiveDate, NaiveDate)>,
}

/// A file's physical lines: with the rows read they reconcile (see
/// [`FileCounts`]).
#[derive(Debug, Clone, Copy, Default)]
struct LineCounts {
    lines: u64,
    blank: u64,
    quoted_breaks: u64,
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
            physical: LineCounts::default(),
            spans: Vec::new(),
            dates: None,
        }
    }
}

impl<T> Parsed<T> {
    fn counts(&self) -> FileCounts {
        let loaded = self.rows.len() as u64;
        let LineCounts { lines, blank, quoted_breaks } = self.physical;
        FileCounts {
            read: loaded + self.bad_rows,
            loaded,
            rejected: self.bad_rows,
            lines,
            blank_lines: blank,
            quoted_line_breaks: quoted_breaks,
        }
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
///
/// Ids in strictly increasing order (as exports numbered in sequence are)
/// need no table: they cannot repeat, and a binary search finds them. The
/// order is either plain byte order (`INV0000009` < `INV0000010`) or, for
/// numbers that are not zero-padded or outgrow their padding, shorter ids
/// first (`INV9` < `INV10`, `INV9999999` < `INV10000000`).
pub(crate) struct IdIndex {
    shards: Vec<HashTable<u32>>,
    /// `Some((n, order))`: the `n` ids are strictly increasing in `order`;
    /// no table was built.
    sorted: Option<(usize, IdOrder)>,
}

/// An order in which ids numbered in sequence increase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdOrder {
    /// Byte order.
    Bytes,
    /// Shorter first, then byte order.
    Length,
}

impl IdOrder {
    #[inline]
    fn cmp(self, a: &str, b: &str) -> std::cmp::Ordering {
        match self {
            IdOrder::Bytes => a.cmp(b),
            IdOrder::Length => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

impl IdIndex {
    /// The index of `n` ids, with the (row, first row) of each duplicate;
    /// no table when the ids are strictly increasing in either order (one
    /// parallel pass).
    pub(crate) fn new<'a>(n: usize, id: impl Fn(usize) -> &'a str + Sync) -> (IdIndex, Vec<(usize, usize)>) {
        // One pass for both orders: whether each id follows the one before
        // in byte order and in length order, given up when neither holds.
        let step = |i: usize| {
            let (a, b) = (id(i - 1), id(i));
            let bytes = a < b;
            Some((bytes, a.len() < b.len() || (a.len() == b.len() && bytes)))
        };
        let both = |x: (bool, bool), y: (bool, bool)| {
            let r = (x.0 && y.0, x.1 && y.1);
            (r.0 || r.1).then_some(r)
        };
        let order = match (1..n).into_par_iter().with_min_len(4096).map(step).try_reduce(|| (true, true), both) {
            Some((true, _)) => Some(IdOrder::Bytes),
            Some((false, true)) => Some(IdOrder::Length),
            _ => None,
        };
        match order {
            Some(order) => (IdIndex { shards: Vec::new(), sorted: Some((n, order)) }, Vec::new()),
            None => IdIndex::build(n, id),
        }
    }

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
        (IdIndex { shards, sorted: None }, dups)
    }

    pub(crate) fn get<'a>(&self, key: &str, id: impl Fn(usize) -> &'a str) -> Option<u32> {
        if let Some((n, order)) = self.sorted {
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match order.cmp(id(mid), key) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return Some(mid as u32),
                }
            }
            return None;
        }
        let h = hash_str(key);
        self.shards[shard_of(h)].find(h, |&j| same_id(id(j as usize), key)).copied()
    }
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
    let (header, warnings) = header_of(file, name, names, cols)?;
    let body_line = rdr.position().line();
    Ok((header, rdr.position().byte() as usize, body_line, warnings))
}

/// Where each known column is among a file's column names (lowercased):
/// a missing required column and a duplicate one refuse the file, unknown
/// ones are warnings. `name` is the file's name in the ledger's format.
fn header_of(
    file: FileKind,
    name: &'static str,
    names: Vec<String>,
    cols: &'static Columns,
) -> Result<(Header, Vec<Problem>), LoadError> {
    duplicate_column(name, &names)?;
    let mut pos = vec![None; cols.0.len()];
    for (k, (col, required)) in cols.0.iter().enumerate() {
        pos[k] = names.iter().position(|n| n == col);
        if pos[k].is_none() && *required {
            let did_you_mean = names.iter().find(|n| !cols.0.iter().any(|(c, _)| c == n) && close(n, col)).cloned();
            return Err(LoadError::MissingColumn { file: name, column: col, did_you_mean });
        }
    }
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
    Ok((Header { pos, width: names.len() }, warnings))
}

/// Refuse a header that names a column twice (names already lowercased):
/// the first would silently win.
fn duplicate_column(file: &'static str, names: &[String]) -> Result<(), LoadError> {
    for (j, n) in names.iter().enumerate() {
        if n.is_empty() {
            continue;
        }
        if let Some(i) = names[..j].iter().position(|m| m == n) {
            return Err(LoadError::DuplicateColumn { file, column: n.clone(), first: i + 1, second: j + 1 });
        }
    }
    Ok(())
}

/// Two column names are close if one edit (or a case/underscore change) apart.
fn close(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace(['_', ' ', '-'], "");
    if norm(a) == norm(b) {
        return true;
    }
    strsim::levenshtein(a, b) <= 2
}

/// A row type of the ledger. While a block is decoded, a bad row's slot holds
/// a placeholder; bad rows are taken out when the file is done. (The
/// ledger's tests start their rows from it too.)
pub(super) trait LedgerRow: Send + Sized {
    fn placeholder() -> Self;
}

impl LedgerRow for Customer {
    fn placeholder() -> Self {
        Customer {
            id: Text::default(),
            name: Text::default(),
            segment: Text::default(),
            country: Text::default(),
            currency: Text::default(),
            credit_limit: None,
            terms: decode::Terms { net_days: 0, discount_pct: None, discount_days: None },
            credit_score: None,
            risk_class: None,
            account_owner: None,
            email: None,
            phone: None,
            preferred_channel: None,
            contact: super::Contact::default(),
            do_not_contact: false,
            on_hold: false,
            opened_on: None,
            account_type: AccountType::Business,
            parent: None,
            group: None,
            sales_rep: None,
        }
    }
}

impl LedgerRow for Invoice {
    fn placeholder() -> Self {
        Invoice {
            id: Text::default(),
            customer: 0,
            issue_date: chrono::NaiveDate::MIN,
            due_date: chrono::NaiveDate::MIN,
            amount: Decimal::ZERO,
            open_amount: Decimal::ZERO,
            status: InvoiceStatus::Paid,
            disputed_since: None,
            dispute_reason: None,
        }
    }
}

impl LedgerRow for Payment {
    fn placeholder() -> Self {
        Payment {
            id: Text::default(),
            customer: 0,
            invoice: None,
            paid_on: chrono::NaiveDate::MIN,
            amount: Decimal::ZERO,
        }
    }
}

impl LedgerRow for Promise {
    fn placeholder() -> Self {
        Promise {
            id: Text::default(),
            customer: 0,
            invoice: None,
            made_on: chrono::NaiveDate::MIN,
            due_on: chrono::NaiveDate::MIN,
            amount: Decimal::ZERO,
            plan_id: None,
        }
    }
}

impl LedgerRow for ActionRecord {
    fn placeholder() -> Self {
        ActionRecord {
            id: Text::default(),
            customer: 0,
            invoice: None,
            rule_id: RuleId::default(),
            action: ActionKind::Email,
            channel: None,
            decided_on: chrono::NaiveDate::MIN,
            executed_on: None,
            outcome: None,
            arm: None,
        }
    }
}

/// A row that did not decode: where it was, its problems, and its id (rows
/// that refer to it are told it was rejected).
struct BadRow {
    index: usize,
    problems: Vec<Problem>,
    id: Option<(Text, u64)>,
}

/// The two read buffers and the record lists of the current and next block,
/// reused for every block of every file.
struct Buffers {
    /// Bytes read at a time.
    block: usize,
    /// Room in front of each block for the partial record carried over from
    /// the previous one (a longer one is handled by a copy).
    headroom: usize,
    cur: Vec<u8>,
    next: Vec<u8>,
    recs: Vec<Rec>,
    next_recs: Vec<Rec>,
}

impl Buffers {
    fn new(block: usize) -> Buffers {
        let block = block.max(1);
        Buffers {
            block,
            headroom: (block / 128).max(8),
            cur: Vec::new(),
            next: Vec::new(),
            recs: Vec::new(),
            next_recs: Vec::new(),
        }
    }
}

fn unclosed(file: FileKind, e: Unclosed) -> LoadError {
    LoadError::Csv {
        file: file.file_name(),
        line: e.line,
        message: "a quoted field is never closed; check for a stray `\"`".into(),
    }
}

/// The hash of a file and its last byte, taken as its bytes are read (its
/// line ends are counted by the scanner, which passes over them anyway).
struct Tally {
    hasher: blake3::Hasher,
    last: Option<u8>,
}

impl Tally {
    fn update(&mut self, b: &[u8]) {
        self.hasher.update(b);
        if let Some(&c) = b.last() {
            self.last = Some(c);
        }
    }

    /// Lines of a file with `newlines` line ends: those, and a last line
    /// without one.
    fn lines(&self, newlines: u64) -> u64 {
        newlines + u64::from(self.last.is_some_and(|c| c != b'\n'))
    }
}

/// Parse one file block by block: the header, then the records of each
/// block decoded in parallel straight into the rows while the next block is
/// read (and hashed). Returns the rows and the BLAKE3 hash of the file.
fn parse_stream<T: LedgerRow>(
    file: FileKind,
    path: &Path,
    mut f: std::fs::File,
    bufs: &mut Buffers,
    cols: &'static Columns,
    decode: impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync,
) -> Result<(Parsed<T>, String), LoadError> {
    let io = |source| LoadError::Io { path: path.to_path_buf(), source };
    let len = f.metadata().map_err(io)?.len() as usize;
    let mut tally = Tally { hasher: blake3::Hasher::new(), last: None };
    let (block, headroom) = (bufs.block, bufs.headroom);
    // The first block, grown until it holds the whole header row.
    let mut filled = 0;
    let mut eof;
    loop {
        bufs.cur.resize(headroom + filled + block, 0);
        let n = stream::read_full(&mut f, &mut bufs.cur[headroom + filled..]).map_err(io)?;
        tally.update(&bufs.cur[headroom + filled..headroom + filled + n]);
        (filled, eof) = (filled + n, n < block);
        if eof || memchr::memchr(b'\n', &bufs.cur[headroom..headroom + filled]).is_some() {
            break;
        }
    }
    let first = &bufs.cur[headroom..headroom + filled];
    let bom = if first.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let (header, body_start, body_line, warnings) = read_header(file, &first[bom..], cols)?;
    // Line ends of the header (and anything before it); the scanner counts the rest.
    let header_newlines = memchr::memchr_iter(b'\n', &first[..(bom + body_start).min(first.len())]).count() as u64;
    let mut data = (headroom + bom + body_start).min(headroom + filled)..headroom + filled;
    let mut cut =
        stream::scan(&bufs.cur[data.clone()], body_line, eof, &mut bufs.recs).map_err(|e| unclosed(file, e))?;
    // Reserve the rows of the whole file at the first block's density
    // (pages of capacity never written are never touched).
    let estimate = match bufs.recs.len() {
        0 => 0,
        k => len / (cut.at / k).max(1) * 11 / 10 + 16,
    };
    let mut parsed = Parsed { warnings, ..Parsed::default() };
    let mut blank = cut.blank;
    parsed.rows.reserve(estimate);
    parsed.lines.reserve(estimate);
    let mut bad = Vec::new();
    loop {
        let Buffers { cur, next, recs, next_recs, .. } = &mut *bufs;
        let region = &cur[data.clone()];
        let carry = &region[cut.at..];
        let (read, ()) = rayon::join(
            || -> Result<Option<(std::ops::Range<usize>, Cut, bool)>, LoadError> {
                if eof {
                    return Ok(None);
                }
                // The partial record at the end of this block goes in front of the next.
                let (start, n) = if carry.len() <= headroom {
                    next.resize(headroom + block, 0);
                    let n = stream::read_full(&mut f, &mut next[headroom..]).map_err(io)?;
                    tally.update(&next[headroom..headroom + n]);
                    next[headroom - carry.len()..headroom].copy_from_slice(carry);
                    (headroom - carry.len(), n)
                } else {
                    let mut joined = Vec::with_capacity(carry.len() + block);
                    joined.extend_from_slice(carry);
                    joined.resize(carry.len() + block, 0);
                    let n = stream::read_full(&mut f, &mut joined[carry.len()..]).map_err(io)?;
                    tally.update(&joined[carry.len()..carry.len() + n]);
                    *next = joined;
                    (0, n)
                };
                let end = start + carry.len() + n;
                let next_eof = n < block;
                let next_cut =
                    stream::scan(&next[start..end], cut.line, next_eof, next_recs).map_err(|e| unclosed(file, e))?;
                Ok(Some((start..end, next_cut, next_eof)))
            },
            || decode_block(file, &region[..cut.at], recs, &header, cols, &decode, &mut parsed, &mut bad),
        );
        let Some((range, next_cut, next_eof)) = read? else { break };
        std::mem::swap(cur, next);
        std::mem::swap(recs, next_recs);
        (data, cut, eof) = (range, next_cut, next_eof);
        blank += cut.blank;
    }
    take_out_bad_rows(&mut parsed, bad);
    // Line breaks in the header's quoted names (or blank lines before it) count here too.
    let header_breaks = body_line.saturating_sub(2);
    let quoted_breaks = header_breaks + parsed.spans.iter().map(|(first, last, _)| last - first).sum::<u64>();
    // The scanner's line at the end of the file is one past its line ends
    // (the body starts on `body_line`).
    let newlines = header_newlines + cut.line.saturating_sub(body_line);
    parsed.physical = LineCounts { lines: tally.lines(newlines), blank, quoted_breaks };
    lone_span(file, &mut parsed);
    Ok((parsed, tally.hasher.finalize().to_hex().to_string()))
}

/// Warn when one record of a file, and only one, spans lines (and does not
/// already reject its row as swallowing others): a quote left open by
/// mistake and closed on the next line looks just like it.
fn lone_span<T>(file: FileKind, parsed: &mut Parsed<T>) {
    if let [(line, last_line, false)] = parsed.spans[..] {
        parsed.warnings.push(Problem {
            severity: Severity::Warning,
            file,
            line,
            column: None,
            value: String::new(),
            kind: ProblemKind::SpansLines { last_line },
        });
    }
}

/// A record with line breaks in quoted fields: its place in
/// `spans`, and a problem when a line after its first looks like a row of
/// its own (as many commas as the header has columns, less one): an
/// unbalanced quote swallowed rows.
fn span_of(bytes: &[u8], line: u64, width: usize, file: FileKind) -> Option<((u64, u64, bool), Option<Problem>)> {
    let breaks = memchr::memchr_iter(b'\n', bytes).count() as u64;
    if breaks == 0 {
        return None;
    }
    let commas = |l: &[u8]| memchr::memchr_iter(b',', l).count();
    let swallowed = width > 1 && bytes.split(|&c| c == b'\n').skip(1).any(|l| commas(l) + 1 >= width);
    let last_line = line + breaks;
    let problem = swallowed.then(|| Problem {
        severity: Severity::Error,
        file,
        line,
        column: None,
        value: String::new(),
        kind: ProblemKind::SwallowedRows { last_line },
    });
    Some(((line, last_line, swallowed), problem))
}

/// Decode the records of one block in parallel, appending each row (or a
/// bad row's placeholder) to `parsed.rows` in file order.
#[allow(clippy::too_many_arguments)]
fn decode_block<T: LedgerRow>(
    file: FileKind,
    region: &[u8],
    recs: &[Rec],
    header: &Header,
    cols: &'static Columns,
    decode: &(impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync),
    parsed: &mut Parsed<T>,
    bad: &mut Vec<BadRow>,
) {
    let base = parsed.rows.len();
    let layout = Layout { file, header, cols };
    let found = std::sync::Mutex::new(Vec::new());
    let spans = std::sync::Mutex::new(Vec::new());
    let dates = std::sync::Mutex::new(None);
    // One UTF-8 check per run of records (in parallel) rather than one per
    // record; a run with a bad byte somewhere checks its records one by one.
    const RUN: usize = 2048;
    let runs: Vec<Option<(usize, &str)>> = (0..recs.len().div_ceil(RUN))
        .into_par_iter()
        .map(|k| {
            let (first, last) = (&recs[k * RUN], &recs[((k + 1) * RUN).min(recs.len()) - 1]);
            std::str::from_utf8(&region[first.start..last.end]).ok().map(|text| (first.start, text))
        })
        .collect();
    parsed.rows.par_extend(recs.par_iter().enumerate().with_min_len(1024).map_init(
        || {
            let memo = Memo::new(&dates);
            (memo, Vec::with_capacity(header.width), Vec::new(), Vec::new())
        },
        |(memo, fields, unquoted, ranges), (i, rec)| {
            let bytes = &region[rec.start..rec.end];
            // The fields are slices of the record's checked text.
            let plain = match (rec.quoted, runs[i / RUN]) {
                (true, _) => None,
                (false, Some((from, text))) => text.get(rec.start - from..rec.end - from),
                (false, None) => std::str::from_utf8(bytes).ok(),
            };
            let result = if let Some(text) = plain {
                stream::split_plain(text, fields);
                handle_record(layout, fields, &[], rec.line, decode, memo, None)
            } else {
                let span = if rec.quoted { span_of(bytes, rec.line, header.width, file) } else { None };
                let first = span.and_then(|(at, problem)| {
                    spans.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(at);
                    problem
                });
                let raw: Vec<&[u8]> = if rec.quoted {
                    stream::split_quoted(bytes, unquoted, ranges);
                    ranges.iter().map(|r| &unquoted[r.clone()]).collect()
                } else {
                    bytes.split(|&c| c == b',').collect()
                };
                let cells: Vec<std::borrow::Cow<'_, str>> = raw.iter().map(|b| String::from_utf8_lossy(b)).collect();
                let not_utf8: Vec<usize> =
                    raw.iter().enumerate().filter(|(_, b)| std::str::from_utf8(b).is_err()).map(|(p, _)| p).collect();
                let strs: Vec<&str> = cells.iter().map(|c| &**c).collect();
                handle_record(layout, &strs, &not_utf8, rec.line, decode, memo, first)
            };
            result.unwrap_or_else(|(problems, id)| {
                let mut found = found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                found.push(BadRow { index: base + i, problems, id });
                T::placeholder()
            })
        },
    ));
    parsed.lines.extend(recs.iter().map(|r| r.line));
    let mut found = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    found.sort_unstable_by_key(|b| b.index);
    bad.append(&mut found);
    let mut spans = spans.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    spans.sort_unstable();
    parsed.spans.append(&mut spans);
    parsed.dates = widen(parsed.dates, dates.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
}

/// Remove the placeholders of bad rows (in row order) and keep their problems.
fn take_out_bad_rows<T>(parsed: &mut Parsed<T>, bad: Vec<BadRow>) {
    if bad.is_empty() {
        return;
    }
    let keep = |bad: &[BadRow], n: usize| {
        let mut keep = vec![true; n];
        for b in bad {
            if let Some(k) = keep.get_mut(b.index) {
                *k = false;
            }
        }
        keep
    };
    let keep = keep(&bad, parsed.rows.len());
    let mut flags = keep.iter();
    parsed.rows.retain(|_| flags.next().copied().unwrap_or(true));
    let mut flags = keep.iter();
    parsed.lines.retain(|_| flags.next().copied().unwrap_or(true));
    for b in bad {
        parsed.bad.extend(b.problems);
        parsed.bad_rows += 1;
        parsed.rejected_ids.extend(b.id);
    }
}

/// A file's kind, columns and where they are in its records.
#[derive(Clone, Copy)]
struct Layout<'a> {
    file: FileKind,
    header: &'a Header,
    cols: &'static Columns,
}

/// Decode one record: its problems and id when it is bad. `first`: a
/// problem of the record found before decoding (it spans lines it should not).
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn handle_record<T>(
    Layout { file, header, cols }: Layout<'_>,
    fields: &[&str],
    not_utf8: &[usize],
    line: u64,
    decode: &(impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync),
    memo: &mut Memo,
    first: Option<Problem>,
) -> Result<T, (Vec<Problem>, Option<(Text, u64)>)> {
    if fields.len() != header.width {
        let problem = Problem {
            severity: Severity::Error,
            file,
            line,
            column: None,
            value: String::new(),
            kind: ProblemKind::FieldCount { expected: header.width, found: fields.len() },
        };
        return Err((first.into_iter().chain([problem]).collect(), None));
    }
    let mut row = Row { fields, not_utf8, header, cols, file, line, problems: first.into_iter().collect() };
    let decoded = decode(&mut row, memo);
    row.finish(decoded).map_err(|problems| {
        let id = header.pos[0].filter(|p| !not_utf8.contains(p)).and_then(|p| fields.get(p));
        let id = id.and_then(|s| decode::text_str(s).ok());
        (problems, id.map(|id| (id.into(), line)))
    })
}

/// Open one ledger file; `None` for an optional file that is not there.
fn open(dir: &Path, file: FileKind, required: bool) -> Result<Option<(std::fs::File, PathBuf)>, LoadError> {
    let path = dir.join(file.file_name());
    match std::fs::File::open(&path) {
        Ok(f) => Ok(Some((f, path))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(LoadError::MissingFile { path }),
        Err(source) => Err(LoadError::Io { path, source }),
    }
}

/// The last customer and invoice resolved by a decoding job: files exported
/// per customer repeat the same customer (and invoice) on consecutive rows,
/// or go on to the next one, so most lookups hit it or the row after it.
#[derive(Default)]
struct Memo<'s> {
    customer: Option<CustIx>,
    invoice: Option<InvIx>,
    /// The distinct rule ids the job has met (a policy has a few dozen at
    /// most): a row's [`RuleId`] is copied from here, not numbered again.
    rules: Vec<RuleId>,
    /// The first and last dates of the rows the job decoded (see [`Memo::saw`]).
    dates: Option<(NaiveDate, NaiveDate)>,
    /// Where the job's dates go when it is done.
    sink: Option<&'s std::sync::Mutex<Option<(NaiveDate, NaiveDate)>>>,
    /// The last currency code the job met and its minor units (rows come in
    /// runs of one currency).
    units: ([u8; 3], u32),
}

/// The span of two optional date spans.
fn widen(a: Option<(NaiveDate, NaiveDate)>, b: Option<(NaiveDate, NaiveDate)>) -> Option<(NaiveDate, NaiveDate)> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    }
}

impl Drop for Memo<'_> {
    fn drop(&mut self) {
        if let (Some(sink), Some(d)) = (self.sink, self.dates) {
            let mut span = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *span = widen(*span, Some(d));
        }
    }
}

impl<'s> Memo<'s> {
    /// A job's memo, its dates going to `sink` when it is done.
    fn new(sink: &'s std::sync::Mutex<Option<(NaiveDate, NaiveDate)>>) -> Self {
        Memo { customer: None, invoice: None, rules: Vec::new(), dates: None, sink: Some(sink), units: ([0; 3], 2) }
    }

    /// The minor units of currency `code` ([`crate::money::minor_units`]).
    #[inline(always)]
    fn units_of(&mut self, code: &str) -> u32 {
        // Three byte compares, not a call to `memcmp`.
        let (b, k) = (code.as_bytes(), &self.units.0);
        if b.len() == 3 && b[0] == k[0] && b[1] == k[1] && b[2] == k[2] {
            return self.units.1;
        }
        let units = crate::money::minor_units(code);
        if let Ok(key) = <[u8; 3]>::try_from(code.as_bytes()) {
            self.units = (key, units);
        }
        units
    }

    /// Note a row's date for the ledger's first and last dates (the as-of
    /// warnings of `recoup run`), found here while the rows are decoded rather
    /// than by reading every row again.
    #[inline]
    fn saw(&mut self, d: NaiveDate) {
        self.dates = Some(match self.dates {
            Some((first, last)) => (first.min(d), last.max(d)),
            None => (d, d),
        });
    }

    /// The [`RuleId`] of `text`.
    fn rule(&mut self, text: &str) -> RuleId {
        if let Some(r) = self.rules.iter().find(|r| same_id(r, text)) {
            return r.clone();
        }
        let r = RuleId::new(text);
        if self.rules.len() < 64 {
            self.rules.push(r.clone());
        }
        r
    }
}

/// The row at `last` or the one after it, if its id is `id`.
fn at_or_after<T>(rows: &[T], last: Option<u32>, id: &str, id_of: impl Fn(&T) -> &str) -> Option<u32> {
    let last = last?;
    [last, last + 1].into_iter().find(|&i| rows.get(i as usize).is_some_and(|r| same_id(id_of(r), id)))
}

/// Id equality, for ids of 4 to 16 bytes (most are) as two overlapping
/// words rather than a call to `memcmp`.
#[inline]
fn same_id(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (8..=16).contains(&n) {
        let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    if (4..8).contains(&n) {
        let word = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
        return word(a, 0) == word(b, 0) && word(a, n - 4) == word(b, n - 4);
    }
    a == b
}

fn decode_customer(r: &mut Row<'_>, memo: &mut Memo) -> Option<Customer> {
    let id = r.text(0);
    let name = r.text(1);
    let segment = r.text(2);
    let country = r.text(3);
    let currency = r.text(4);
    // Empty: no limit (the column itself is still required).
    let credit_limit = r.get(5, |b| opt(b, decode::money));
    if let Some(Some(l)) = credit_limit
        && l < Decimal::ZERO
    {
        r.problem(5, ProblemKind::NotPositive);
    }
    r.in_currency(5, credit_limit.flatten(), currency.as_deref(), memo);
    let terms = r.get(6, decode::terms);
    let credit_score = r.get(7, decode::opt_score);
    let risk_class = r.get(8, |b| opt(b, RiskClass::decode));
    let account_owner = r.opt_text(9);
    let email = r.opt_text(10);
    let phone = r.opt_text(11);
    let preferred_channel = r.get(12, |b| opt(b, Channel::decode));
    let do_not_contact = r.get(13, decode::flag);
    let on_hold = r.get(14, decode::flag);
    let opened_on = r.get(15, decode::cached_opt_date);
    let account_type = r.get(16, |b| opt(b, AccountType::decode));
    let contact = super::Contact {
        address_line1: r.opt_text(17),
        address_line2: r.opt_text(18),
        postcode: r.opt_text(19),
        city: r.opt_text(20),
        language: r.opt_text(21),
        contact_name: r.opt_text(22),
    };
    let parent = r.opt_text(23);
    let sales_rep = r.opt_text(24);
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
        contact,
        do_not_contact: do_not_contact?,
        on_hold: on_hold?,
        opened_on: opened_on?,
        account_type: account_type?.unwrap_or(AccountType::Business),
        parent,
        group: None,
        sales_rep,
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
    /// Ids of the credit notes (a reference to one is an error of its own).
    credit_note_ids: hashbrown::HashSet<&'a str>,
    /// While invoices.csv is decoded: the lines of its credit notes.
    credit_note_lines: std::sync::Mutex<Vec<u64>>,
}

impl Refs<'_> {
    /// Find invoice `id` among the invoices of `customer`, if it has few.
    fn local_invoice(&self, customer: Option<CustIx>, id: &str) -> Option<InvIx> {
        let rows = self.invoices_by_customer?.rows(customer?);
        if rows.len() > 64 {
            return None;
        }
        rows.iter().copied().find(|&i| same_id(&self.invoices[i as usize].id, id))
    }

    fn customer(&self, r: &mut Row<'_>, k: usize, memo: &mut Memo) -> Option<CustIx> {
        let id = r.get_str(k, decode::text_str)?;
        let found = at_or_after(self.customers, memo.customer, id, |c| &c.id)
            .or_else(|| self.customer_ix.get(id, |i| &self.customers[i].id));
        if found.is_some() {
            memo.customer = found;
        } else {
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
        let id = r.get_str(k, decode::opt_text_str)?;
        let Some(id) = id else { return Some(None) };
        let ix = at_or_after(self.invoices, memo.invoice, id, |i| &i.id)
            .or_else(|| self.local_invoice(customer, id))
            .or_else(|| self.invoice_ix?.get(id, |i| &self.invoices[i].id));
        if ix.is_some() {
            memo.invoice = ix;
        }
        let Some(ix) = ix else {
            let kind = match self.rejected_invoices.get(id) {
                Some(&line) => ProblemKind::RejectedReference { file: FileKind::Invoices, line },
                None if self.credit_note_ids.contains(id) => ProblemKind::CreditNoteReference,
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
    let issue_date = r.get(2, decode::cached_date);
    let due_date = r.get(3, decode::cached_date);
    let currency = r.get_str(4, decode::text_str);
    let amount = r.positive(5);
    let open_amount = r.get(6, decode::money);
    r.in_currency(5, amount, currency, memo);
    r.in_currency(6, open_amount, currency, memo);
    let status = r.get(7, InvoiceStatus::decode);
    let disputed_since = r.get(8, decode::cached_opt_date);
    let dispute_reason = r.opt_text(9);
    let kind =
        r.get(10, |b| if b.trim_ascii().is_empty() { Ok(DocumentType::Invoice) } else { DocumentType::decode(b) });
    if kind == Some(DocumentType::CreditNote)
        && (status == Some(InvoiceStatus::Disputed) || disputed_since.flatten().is_some())
    {
        r.problem(10, ProblemKind::DisputedCreditNote);
    }
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
    let inv = Invoice {
        id: id?,
        customer: customer?,
        issue_date: issue_date?,
        due_date: due_date?,
        amount: amount?,
        open_amount: open_amount?,
        status: status?,
        disputed_since: disputed_since?,
        dispute_reason,
    };
    if kind? == DocumentType::CreditNote {
        // Rare: the row's line marks it, and the loader splits it off after
        // the ids are checked (see [`split_credit_notes`]). The invoices of a
        // book without credit notes are decoded in place, never copied.
        refs.credit_note_lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(r.line);
    }
    memo.saw(inv.issue_date);
    Some(inv)
}

/// Split the credit notes (the rows of invoices.csv on `note_lines`, their
/// ids checked unique with the invoices') off the invoices; the invoices keep
/// their order and lines.
fn split_credit_notes(docs: Parsed<Invoice>, mut note_lines: Vec<u64>) -> (Parsed<Invoice>, Vec<CreditNote>) {
    if note_lines.is_empty() {
        // The usual ledger, with no credit notes: every row an invoice, where it is.
        return (docs, Vec::new());
    }
    note_lines.sort_unstable();
    let Parsed { rows, lines, bad, bad_rows, warnings, rejected_ids, physical, spans, dates } = docs;
    let mut invoices = Parsed {
        rows: Vec::with_capacity(rows.len()),
        lines: Vec::with_capacity(rows.len()),
        bad,
        bad_rows,
        warnings,
        rejected_ids,
        physical,
        spans,
        dates,
    };
    let mut notes = Vec::new();
    for (inv, line) in rows.into_iter().zip(lines) {
        if note_lines.binary_search(&line).is_ok() {
            let i = inv;
            let status =
                if i.status == InvoiceStatus::Open && i.open_amount.is_zero() { InvoiceStatus::Paid } else { i.status };
            notes.push(CreditNote {
                id: i.id,
                customer: i.customer,
                issue_date: i.issue_date,
                amount: i.amount,
                open_amount: i.open_amount,
                status,
            });
        } else {
            invoices.rows.push(inv);
            invoices.lines.push(line);
        }
    }
    (invoices, notes)
}

fn decode_payment(r: &mut Row<'_>, refs: &Refs<'_>, memo: &mut Memo) -> Option<Payment> {
    let id = r.text(0);
    let customer = refs.customer(r, 1, memo);
    let invoice = refs.invoice(r, 2, customer, memo);
    let paid_on = r.get(3, decode::cached_date);
    let amount = r.positive(4);
    r.in_currency(4, amount, customer.map(|c| refs.customers[c as usize].currency.as_str()), memo);
    let payment = Payment { id: id?, customer: customer?, invoice: invoice?, paid_on: paid_on?, amount: amount? };
    memo.saw(payment.paid_on);
    Some(payment)
}

fn decode_promise(r: &mut Row<'_>, refs: &Refs<'_>, memo: &mut Memo) -> Option<Promise> {
    let id = r.text(0);
    let customer = refs.customer(r, 1, memo);
    let invoice = refs.invoice(r, 2, customer, memo);
    let made_on = r.get(3, decode::cached_date);
    let due_on = r.get(4, decode::cached_date);
    let amount = r.positive(5);
    r.in_currency(5, amount, customer.map(|c| refs.customers[c as usize].currency.as_str()), memo);
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
    let rule_id = r.get_str(3, decode::text_str).map(|t| memo.rule(t));
    let action = r.get(4, ActionKind::decode);
    let channel = r.get(5, |b| opt(b, Channel::decode));
    let decided_on = r.get(6, decode::cached_date);
    let executed_on = r.get(7, decode::cached_opt_date);
    let outcome = r.get(8, |b| opt(b, Outcome::decode));
    let arm = r.get(9, |b| opt(b, Arm::decode));
    if let (Some(d), Some(Some(e))) = (decided_on, executed_on)
        && e < d
    {
        r.problem(7, ProblemKind::DateOrder { other_column: "decided_on".into() });
    }
    let record = ActionRecord {
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
    };
    memo.saw(record.decided_on);
    Some(record)
}

/// Reject the second and later rows that reuse an id, when no index of the
/// ids is needed afterwards.
fn reject_duplicate_rows<T: Sync>(
    parsed: &mut Parsed<T>,
    file: FileKind,
    column: &str,
    id: impl Fn(&T) -> &str + Sync,
) {
    reject_duplicates(parsed, file, column, id);
}

/// Reject the second and later rows that reuse an id; returns the id index
/// of the rows kept.
fn reject_duplicates<T: Sync>(
    parsed: &mut Parsed<T>,
    file: FileKind,
    column: &str,
    id: impl Fn(&T) -> &str + Sync,
) -> IdIndex {
    let (index, dups) = IdIndex::new(parsed.rows.len(), |i| id(&parsed.rows[i]));
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
    IdIndex::new(parsed.rows.len(), |i| id(&parsed.rows[i])).0
}

/// Resolve the `parent` column of customers.csv (groups, one level deep):
/// a row whose parent is unknown, rejected, itself, or a member of a group
/// of its own is rejected with the problem; every other member gets its
/// group's index. Runs only when some row names a parent. Returns the index
/// of the customers kept.
fn resolve_parents(customers: &mut Parsed<Customer>, index: IdIndex) -> IdIndex {
    let rejected: hashbrown::HashMap<Text, u64> = customers.rejected_ids.iter().cloned().collect();
    let rows = &customers.rows;
    let lines = &customers.lines;
    let kinds: Vec<Option<ProblemKind>> = rows
        .iter()
        .map(|c| {
            let p = c.parent.as_deref()?;
            if p == &*c.id {
                return Some(ProblemKind::ParentIsSelf);
            }
            match index.get(p, |i| &rows[i].id) {
                Some(j) => rows[j as usize].parent.as_ref().map(|grand| ProblemKind::NestedGroup {
                    parent_line: lines[j as usize],
                    grandparent: grand.to_string(),
                }),
                None => Some(match rejected.get(p) {
                    Some(&line) => ProblemKind::RejectedReference { file: FileKind::Customers, line },
                    None => ProblemKind::UnknownCustomer,
                }),
            }
        })
        .collect();
    if kinds.iter().all(Option::is_none) {
        let parents: Vec<Option<u32>> =
            rows.iter().map(|c| c.parent.as_deref().and_then(|p| index.get(p, |i| &rows[i].id))).collect();
        for (c, p) in customers.rows.iter_mut().zip(parents) {
            c.group = p;
        }
        return index;
    }
    let mut dropped = Vec::new();
    customers.reject_where(|i, row, line| {
        let kind = kinds[i].clone()?;
        dropped.push((row.id.clone(), line));
        Some(Problem {
            severity: Severity::Error,
            file: FileKind::Customers,
            line,
            column: Some("parent".to_string()),
            value: row.parent.as_deref().unwrap_or("").to_string(),
            kind,
        })
    });
    customers.rejected_ids.extend(dropped);
    let index = IdIndex::new(customers.rows.len(), |i| &customers.rows[i].id).0;
    // A parent rejected here leaves its members pointing at nothing: one
    // more round rejects them (a parent is never itself a member, so one
    // round is enough).
    resolve_parents(customers, index)
}

/// Load and validate the ledger in `dir`.
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Ledger, LoadError> {
    load_in_blocks(dir, opts, stream::BLOCK)
}

/// [`load`], reading `block` bytes at a time.
fn load_in_blocks(dir: &Path, opts: &LoadOptions, block: usize) -> Result<Ledger, LoadError> {
    let format = super::parquet::format_of(dir)?;
    for kind in [FileKind::Customers, FileKind::Invoices, FileKind::Payments] {
        let path = dir.join(format.file_name(kind));
        if !path.is_file() {
            return Err(LoadError::MissingFile { path });
        }
    }
    // Whether the optional files exist is decided once, before reading: one
    // that vanishes while the ledger is read is an error, not an empty file
    // (a lost actions.csv would repeat steps and charge fees again).
    let present = |kind: FileKind| dir.join(format.file_name(kind)).is_file();
    let optional = (present(FileKind::Promises), present(FileKind::Actions));
    let (mut ledger, problems, bad_rows) = parse_all(Source { dir, format }, optional, block)?;
    if bad_rows > 0 && !opts.reject_bad_rows {
        return Err(LoadError::BadRows { rows: bad_rows, problems, report: Box::new(ledger.report) });
    }
    ledger.report.rejects = problems;
    Ok(ledger)
}

/// A file name and the hex BLAKE3 hash of its bytes.
type FileHash = (String, String);

/// Read one file and parse it, block by block (see [`parse_stream`]); its
/// hash is computed as it is read.
fn read_and_parse<T: LedgerRow>(
    Source { dir, format }: Source<'_>,
    file: FileKind,
    required: bool,
    bufs: &mut Buffers,
    cols: &'static Columns,
    decode: impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync,
) -> Result<(Parsed<T>, Option<FileHash>), LoadError> {
    if format == LedgerFormat::Parquet {
        let path = dir.join(format.file_name(file));
        if !required && !path.is_file() {
            return Ok((Parsed::default(), None));
        }
        let (parsed, hash) = parse_parquet(file, &path, cols, decode)?;
        return Ok((parsed, Some((format.file_name(file).to_string(), hash))));
    }
    let Some((f, path)) = open(dir, file, required)? else {
        return Ok((Parsed::default(), None));
    };
    let (parsed, hash) = parse_stream(file, &path, f, bufs, cols, decode)?;
    Ok((parsed, Some((file.file_name().to_string(), hash))))
}

/// A Parquet file's rows decoded as a CSV file's records are: the same
/// header checks and the same decoders, a row's "line" being its row number
/// plus one (as if the file had a header line). Row groups are decoded in
/// parallel, each in row order.
fn parse_parquet<T: LedgerRow>(
    file: FileKind,
    path: &Path,
    cols: &'static Columns,
    decode: impl Fn(&mut Row<'_>, &mut Memo) -> Option<T> + Sync,
) -> Result<(Parsed<T>, String), LoadError> {
    let table = super::parquet::Table::open(path)?;
    let name = LedgerFormat::Parquet.file_name(file);
    let (header, warnings) = header_of(file, name, table.names.clone(), cols)?;
    let layout = Layout { file, header: &header, cols };
    // Only the columns the loader reads are decoded.
    let mut wanted = vec![false; header.width];
    for p in header.pos.iter().flatten() {
        wanted[*p] = true;
    }
    let dates = std::sync::Mutex::new(None);
    type Decoded<T> = Vec<Result<T, (Vec<Problem>, Option<(Text, u64)>)>>;
    // The file's hash is taken while its row groups are decoded; each row
    // group's columns are read in parallel, then its rows decoded in parallel.
    let (hash, groups) = rayon::join(
        || table.hash(),
        || {
            (0..table.groups())
                .into_par_iter()
                .map(|g| {
                    let cells = table.read_group(g, &wanted)?;
                    let first_line = table.first_row(g) + 2;
                    let mut out: Decoded<T> = Vec::with_capacity(cells.rows());
                    (0..cells.rows())
                        .into_par_iter()
                        .with_min_len(1024)
                        .map_init(
                            || {
                                let memo = Memo::new(&dates);
                                (memo, Vec::with_capacity(header.width), Vec::new())
                            },
                            |(memo, fields, not_utf8), i| {
                                cells.row(i, fields, not_utf8);
                                let line = first_line + i as u64;
                                handle_record(layout, fields, not_utf8, line, &decode, memo, None)
                            },
                        )
                        .collect_into_vec(&mut out);
                    Ok(out)
                })
                .collect::<Result<Vec<Decoded<T>>, LoadError>>()
        },
    );
    let groups = groups?;
    let rows = table.rows();
    let mut parsed = Parsed { warnings, ..Parsed::default() };
    parsed.rows.reserve(rows as usize);
    parsed.lines.reserve(rows as usize);
    let mut bad = Vec::new();
    let mut line = 2;
    for result in groups.into_iter().flatten() {
        match result {
            Ok(row) => parsed.rows.push(row),
            Err((problems, id)) => {
                bad.push(BadRow { index: parsed.rows.len(), problems, id });
                parsed.rows.push(T::placeholder());
            }
        }
        parsed.lines.push(line);
        line += 1;
    }
    take_out_bad_rows(&mut parsed, bad);
    // As if the file had a header line and one line per row: the counts reconcile.
    parsed.physical = LineCounts { lines: line - 1, blank: 0, quoted_breaks: 0 };
    parsed.dates = dates.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok((parsed, hash))
}

/// Where the ledger's files are, and in which format.
#[derive(Clone, Copy)]
struct Source<'a> {
    dir: &'a Path,
    format: LedgerFormat,
}

type AllParsed = (Ledger, Vec<Problem>, u64);

fn parse_all(
    dir: Source<'_>,
    (promises_present, actions_present): (bool, bool),
    block: usize,
) -> Result<AllParsed, LoadError> {
    let mut hashes = Vec::new();
    let mut bufs = Buffers::new(block);
    let (mut customers, h) =
        read_and_parse(dir, FileKind::Customers, true, &mut bufs, &CUSTOMER_COLS, decode_customer)?;
    hashes.extend(h);
    if customers.counts().read == 0 {
        customers.warnings.push(Problem {
            severity: Severity::Warning,
            file: FileKind::Customers,
            line: 1,
            column: None,
            value: String::new(),
            kind: ProblemKind::NoCustomers,
        });
    }
    let mut customer_ix = reject_duplicates(&mut customers, FileKind::Customers, "customer_id", |c| &c.id);
    if customers.rows.iter().any(|c| c.parent.is_some()) {
        customer_ix = resolve_parents(&mut customers, customer_ix);
    }
    let rejected_customers = std::mem::take(&mut customers.rejected_ids);
    let refs = Refs {
        customers: &customers.rows,
        customer_ix: &customer_ix,
        rejected_customers: rejected_map(&rejected_customers),
        invoices: &[],
        invoice_ix: None,
        invoices_by_customer: None,
        rejected_invoices: hashbrown::HashMap::new(),
        credit_note_ids: hashbrown::HashSet::new(),
        credit_note_lines: std::sync::Mutex::new(Vec::new()),
    };
    let (mut docs, h) =
        read_and_parse(dir, FileKind::Invoices, true, &mut bufs, &INVOICE_COLS, |r, m| decode_invoice(r, &refs, m))?;
    hashes.extend(h);
    let note_lines =
        std::mem::take(&mut *refs.credit_note_lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    drop(refs);
    // Invoice and credit note ids are one namespace: checked together.
    let mut invoice_ix = reject_duplicates(&mut docs, FileKind::Invoices, "invoice_id", |d| &d.id);
    let invoice_counts = docs.counts();
    let (mut invoices, credit_notes) = split_credit_notes(docs, note_lines);
    if !credit_notes.is_empty() {
        invoice_ix = IdIndex::new(invoices.rows.len(), |i| &invoices.rows[i].id).0;
    }
    let rejected_invoices = std::mem::take(&mut invoices.rejected_ids);
    // The customer index beside a parallel search for open invoices with
    // nothing left to pay (they are marked paid, with a warning).
    let inv_rows = &invoices.rows;
    let (invoices_by_customer, settled) = rayon::join(
        || super::ByCustomer::build(customers.rows.len(), inv_rows.len(), |i| inv_rows[i].customer),
        || -> Vec<usize> {
            let settled = |inv: &Invoice| inv.status == InvoiceStatus::Open && inv.open_amount.is_zero();
            inv_rows.par_iter().enumerate().with_min_len(4096).filter(|(_, inv)| settled(inv)).map(|(i, _)| i).collect()
        },
    );
    for i in settled {
        let (inv, line) = (&mut invoices.rows[i], invoices.lines[i]);
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
    let refs = Refs {
        customers: &customers.rows,
        customer_ix: &customer_ix,
        rejected_customers: rejected_map(&rejected_customers),
        invoices: &invoices.rows,
        invoice_ix: Some(&invoice_ix),
        invoices_by_customer: Some(&invoices_by_customer),
        rejected_invoices: rejected_map(&rejected_invoices),
        credit_note_ids: credit_notes.iter().map(|n| &*n.id).collect(),
        credit_note_lines: std::sync::Mutex::new(Vec::new()),
    };
    // One file at a time (each is parsed in parallel chunks), so that only
    // one file's bytes are held at once.
    let payments =
        read_and_parse(dir, FileKind::Payments, true, &mut bufs, &PAYMENT_COLS, |r, m| decode_payment(r, &refs, m));
    let promises = read_and_parse(dir, FileKind::Promises, promises_present, &mut bufs, &PROMISE_COLS, |r, m| {
        decode_promise(r, &refs, m)
    });
    let actions = read_and_parse(dir, FileKind::Actions, actions_present, &mut bufs, &ACTION_COLS, |r, m| {
        decode_action(r, &refs, m)
    });
    drop(refs);
    let ((mut payments, hp), (mut promises, hpr), (mut actions, ha)) = (payments?, promises?, actions?);
    hashes.extend([hp, hpr, ha].into_iter().flatten());
    reject_duplicate_rows(&mut payments, FileKind::Payments, "payment_id", |p| &p.id);
    reject_duplicate_rows(&mut promises, FileKind::Promises, "promise_id", |p| &p.id);
    reject_duplicate_rows(&mut actions, FileKind::Actions, "action_id", |a| &a.id);
    let indexes =
        super::Indexes::build(customers.rows.len(), invoices.rows.len(), &payments.rows, &promises.rows, &actions.rows);
    let over = overpayments(&invoices.rows, &payments, &indexes.payments_by_invoice);
    payments.warnings.extend(over);

    let mut report = LoadReport {
        customers: customers.counts(),
        invoices: invoice_counts,
        payments: payments.counts(),
        promises: promises.counts(),
        actions: actions.counts(),
        hashes,
        dates: widen(widen(invoices.dates, payments.dates), actions.dates),
        format: dir.format,
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
    let credit_notes_by_customer =
        super::ByCustomer::build(customers.rows.len(), credit_notes.len(), |i| credit_notes[i].customer);
    let ledger = Ledger {
        customers: customers.rows,
        invoices: invoices.rows,
        payments: payments.rows,
        promises: promises.rows,
        actions: actions.rows,
        credit_notes_by_customer,
        credit_notes,
        report,
        invoices_by_customer,
        payments_by_customer: indexes.payments_by_customer,
        promises_by_customer: indexes.promises_by_customer,
        payments_by_invoice: indexes.payments_by_invoice,
        acts: indexes.acts,
        currencies: Default::default(),
    };
    Ok((ledger, problems, bad_rows))
}

/// Warn (never silently) when payments applied to an invoice add up to more
/// than its amount; the warning names the payment line that crossed it.
/// Each invoice's payments (in file order) are summed on their own, the
/// invoices in parallel.
fn overpayments(invoices: &[Invoice], payments: &Parsed<Payment>, by_invoice: &super::ByCustomer) -> Vec<Problem> {
    invoices
        .par_iter()
        .enumerate()
        .with_min_len(4096)
        .filter_map(|(i, invoice)| {
            let mut paid = Decimal::ZERO;
            for &p in by_invoice.rows(i as u32) {
                paid += payments.rows[p as usize].amount;
                if paid > invoice.amount {
                    return Some(Problem {
                        severity: Severity::Warning,
                        file: FileKind::Payments,
                        line: payments.lines[p as usize],
                        column: Some("invoice_id".into()),
                        value: invoice.id.to_string(),
                        kind: ProblemKind::Overpaid { paid: paid.to_string(), amount: invoice.amount.to_string() },
                    });
                }
            }
            None
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a load produces, as text: rows, lines of problems, counts, hashes.
    fn outcome(r: Result<Ledger, LoadError>) -> String {
        match r {
            Ok(l) => format!(
                "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
                l.customers, l.invoices, l.payments, l.promises, l.actions, l.report
            ),
            Err(LoadError::BadRows { rows, problems, report }) => format!("bad {rows}\n{problems:?}\n{report:?}"),
            Err(e) => format!("error {e}"),
        }
    }

    /// Blocks of any size, down to a few bytes (records carried over every
    /// block, longer than the room in front of the next), load the same.
    #[test]
    fn block_size_does_not_change_the_outcome() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut dirs = vec![root.join("demo"), root.join("arms")];
        let mut bad: Vec<_> = std::fs::read_dir(root.join("bad")).unwrap().map(|e| e.unwrap().path()).collect();
        bad.sort();
        dirs.extend(bad);
        for dir in dirs {
            for reject_bad_rows in [false, true] {
                let opts = LoadOptions { reject_bad_rows };
                let whole = outcome(load(&dir, &opts));
                let demo = dir.ends_with("demo");
                for block in if demo { &[64, 4096][..] } else { &[1, 7, 64, 1000][..] } {
                    let small = outcome(load_in_blocks(&dir, &opts, *block));
                    assert!(small == whole, "{} with {block}-byte blocks loads differently", dir.display());
                }
            }
        }
    }

    #[test]
    fn a_quoted_field_left_open_names_its_line() {
        let dir = std::env::temp_dir().join(format!("recoup-unclosed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = "customer_id,name,segment,country,currency,credit_limit,payment_terms";
        std::fs::write(dir.join("customers.csv"), format!("{header}\nC1,\"Open\nC2,x\n")).unwrap();
        for f in ["invoices.csv", "payments.csv"] {
            std::fs::write(dir.join(f), "x\n").unwrap();
        }
        for block in [3, 1 << 20] {
            let err = load_in_blocks(&dir, &LoadOptions::default(), block).unwrap_err();
            assert_eq!(err.location(), Some(("customers.csv", 2)), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A cell that is not UTF-8 is reported on its own line and column, in a
    /// plain record and in a quoted one; the other cells of the row are still checked.
    #[test]
    fn cells_that_are_not_utf8_are_named() {
        let dir = std::env::temp_dir().join(format!("recoup-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = b"customer_id,name,segment,country,currency,credit_limit,payment_terms\n".to_vec();
        let mut customers = header.clone();
        customers.extend_from_slice(b"C1,Caf\xe9,small,FR,EUR,10.00,NET30\n");
        customers.extend_from_slice(b"C2,\"Caf\xe9, SA\",small,FR,EUR,ten,NET30\n");
        customers.extend_from_slice(b"C3,Ok,small,FR,EUR,10.00,NET30\n");
        std::fs::write(dir.join("customers.csv"), customers).unwrap();
        std::fs::write(
            dir.join("invoices.csv"),
            "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n",
        )
        .unwrap();
        std::fs::write(dir.join("payments.csv"), "payment_id,customer_id,invoice_id,paid_on,amount\n").unwrap();
        let Err(LoadError::BadRows { rows, problems, .. }) = load(&dir, &LoadOptions::default()) else {
            panic!("bad rows expected")
        };
        assert_eq!(rows, 2);
        let got: Vec<_> = problems
            .iter()
            .map(|p| (p.line, p.column.clone().unwrap_or_default(), p.value.clone(), p.kind.clone()))
            .collect();
        let utf8 = ProblemKind::BadValue { expected: DecodeError::Utf8.expected() };
        let number = ProblemKind::BadValue { expected: DecodeError::Number.expected() };
        assert_eq!(
            got,
            vec![
                (2, "name".to_string(), "Caf\u{fffd}".to_string(), utf8.clone()),
                (3, "name".to_string(), "Caf\u{fffd}, SA".to_string(), utf8),
                (3, "credit_limit".to_string(), "ten".to_string(), number),
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Each overpaid invoice is named once, at the payment line that
    /// crossed its amount, whatever the order of the payments of several
    /// invoices; later payments add no second warning.
    #[test]
    fn overpayments_name_the_line_that_crossed() {
        use crate::ledger::inline::{InlineLedger, load_inline};
        let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms\n\
                         C1,A,small,US,USD,1000.00,NET30\nC2,B,small,US,USD,1000.00,NET30\n";
        let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                        I1,C1,2026-01-01,2026-01-31,USD,100.00,0.00,paid\n\
                        I2,C1,2026-01-01,2026-01-31,USD,100.00,0.00,paid\n\
                        I3,C2,2026-01-01,2026-01-31,USD,100.00,0.00,paid\n";
        let payments = "payment_id,customer_id,invoice_id,paid_on,amount\n\
                        P1,C1,I2,2026-01-10,60.00\n\
                        P2,C2,I3,2026-01-10,100.00\n\
                        P3,C1,I1,2026-01-10,100.00\n\
                        P4,C1,I2,2026-01-11,40.00\n\
                        P5,C1,I2,2026-01-12,0.01\n\
                        P6,C1,,2026-01-12,500.00\n\
                        P7,C1,I2,2026-01-13,5.00\n\
                        P8,C1,I1,2026-01-14,0.50\n";
        let files = InlineLedger { customers, invoices, payments: Some(payments), ..InlineLedger::default() };
        let l = load_inline(&files, &LoadOptions::default()).unwrap();
        let w: Vec<_> = l.report.warnings.iter().map(|w| (w.line, w.value.as_str(), w.kind.clone())).collect();
        let over = |paid: &str| ProblemKind::Overpaid { paid: paid.into(), amount: "100.00".into() };
        assert_eq!(w, vec![(6, "I2", over("100.01")), (9, "I1", over("100.50"))]);
    }

    /// An open invoice with nothing left to pay is loaded as paid, with a
    /// warning naming its line; the others keep their status.
    #[test]
    fn an_open_invoice_with_nothing_to_pay_is_paid_with_a_warning() {
        use crate::ledger::inline::{InlineLedger, load_inline};
        let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms\n\
                         C1,A,small,US,USD,1000.00,NET30\n";
        let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                        I1,C1,2026-01-01,2026-01-31,USD,100.00,50.00,open\n\
                        I2,C1,2026-01-01,2026-01-31,USD,100.00,0.00,open\n\
                        I3,C1,2026-01-01,2026-01-31,USD,100.00,0.00,paid\n\
                        I4,C1,2026-01-01,2026-01-31,USD,100.00,0,open\n";
        let files = InlineLedger { customers, invoices, ..InlineLedger::default() };
        let l = load_inline(&files, &LoadOptions::default()).unwrap();
        let w: Vec<_> = l.report.warnings.iter().map(|w| (w.line, w.value.as_str(), w.kind.clone())).collect();
        assert_eq!(w, vec![(3, "0.00", ProblemKind::OpenWithZeroBalance), (5, "0", ProblemKind::OpenWithZeroBalance)]);
        let status: Vec<_> = l.invoices.iter().map(|i| i.status).collect();
        use InvoiceStatus::{Open, Paid};
        assert_eq!(status, vec![Open, Paid, Paid, Paid]);
    }

    #[test]
    fn id_index_finds_and_reports_duplicates() {
        for (a, b) in [
            ("INV0000001", "INV0000001"),
            ("C1", "C1"),
            ("C000000000000000017", "C000000000000000017"),
            ("C000017", "C000017"),
            ("C0001", "C0001"),
        ] {
            assert!(same_id(a, b));
        }
        for (a, b) in [
            ("INV0000001", "INV0000002"),
            ("INV1000001", "INV0000001"),
            ("C1", "C2"),
            ("C12", "C1"),
            ("C000017", "C000018"),
            ("C100017", "C000017"),
            ("C000017", "C0000170"),
            ("C0001", "D0001"),
            ("C0101", "C0001"),
        ] {
            assert!(!same_id(a, b));
        }
        let ids = ["a", "b", "a", "c", "b"];
        let (ix, dups) = IdIndex::new(ids.len(), |i| ids[i]);
        assert_eq!(dups, vec![(2, 0), (4, 1)]);
        assert_eq!(ix.get("c", |i| ids[i]), Some(3));
        assert_eq!(ix.get("z", |i| ids[i]), None);
        // Increasing ids: no table, found by binary search.
        let ids: Vec<String> = (0..1000).map(|i| format!("INV{i:07}")).collect();
        let (ix, dups) = IdIndex::new(ids.len(), |i| &ids[i]);
        assert!(ix.sorted.is_some() && dups.is_empty());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ix.get(id, |i| &ids[i]), Some(i as u32));
        }
        for missing in ["INV", "INV0000000x", "INV0001000", "A", "Z"] {
            assert_eq!(ix.get(missing, |i| &ids[i]), None);
        }
        // Sequence numbers past their padding (or never padded) increase
        // shorter first: still no table.
        let ids: Vec<String> = (0..1000).map(|i| format!("INV{i:02}")).collect();
        let (ix, dups) = IdIndex::new(ids.len(), |i| &ids[i]);
        assert_eq!(ix.sorted, Some((1000, IdOrder::Length)));
        assert!(dups.is_empty());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ix.get(id, |i| &ids[i]), Some(i as u32));
        }
        for missing in ["INV", "INV0", "INV000", "INV1000", "INV0999", "INV9x", "A", "Z"] {
            assert_eq!(ix.get(missing, |i| &ids[i]), None, "{missing}");
        }
        // In neither order (and repeated): a table finds them all.
        let ids = ["INV10", "INV9", "INV10", "INV11"];
        let (ix, dups) = IdIndex::new(ids.len(), |i| ids[i]);
        assert!(ix.sorted.is_none());
        assert_eq!(dups, vec![(2, 0)]);
        assert_eq!(ix.get("INV9", |i| ids[i]), Some(1));
    }
}
