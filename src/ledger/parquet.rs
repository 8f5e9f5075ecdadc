//! Parquet ledgers: a folder of `customers.parquet`, `invoices.parquet`, …
//! with the columns of the CSV files. Each row's cells are turned into the
//! text the CSV decoders read (a DATE as `2026-11-16`, a DECIMAL exactly as
//! `1200.50`), so a Parquet ledger gets the same validation, the same
//! problems (with the row in place of the line) and the same plan as its CSV
//! export (`load.rs` decodes both). Also [`write_ledger`]: a CSV ledger
//! written as Parquet with typed columns, for tests and for trying it out.

use super::load::LoadError;
use super::problem::{FileKind, LedgerFormat};
use parquet::file::reader::{FileReader, SerializedFileReader};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The five ledger files, in load order.
pub const KINDS: [FileKind; 5] =
    [FileKind::Customers, FileKind::Invoices, FileKind::Payments, FileKind::Promises, FileKind::Actions];

/// Money columns: a floating-point column is refused for them (a float
/// cannot hold every cent exactly).
const MONEY: [&str; 3] = ["credit_limit", "amount", "open_amount"];

/// The format of the ledger folder `dir`: Parquet when it holds
/// `customers.parquet`, else CSV. A folder holding files of both formats is
/// refused: a CSV ledger beside an `actions.parquet` would silently lose the
/// action history (and repeat steps, charge fees again).
pub fn format_of(dir: &Path) -> Result<LedgerFormat, LoadError> {
    let present = |format: LedgerFormat| -> Vec<PathBuf> {
        KINDS.iter().map(|&k| dir.join(format.file_name(k))).filter(|p| p.is_file()).collect()
    };
    let (csv, parquet) = (present(LedgerFormat::Csv), present(LedgerFormat::Parquet));
    match (csv.first(), parquet.first()) {
        (Some(c), Some(p)) => Err(LoadError::MixedFormats { csv: c.clone(), parquet: p.clone() }),
        (None, Some(_)) => Ok(LedgerFormat::Parquet),
        _ => Ok(LedgerFormat::Csv),
    }
}

/// An opened Parquet file: its column names, how each becomes text, its
/// row groups and its bytes.
pub(super) struct Table {
    reader: SerializedFileReader<bytes::Bytes>,
    bytes: bytes::Bytes,
    pub names: Vec<String>,
    convs: Vec<Conv>,
    /// The number of rows before each row group.
    starts: Vec<u64>,
    path: PathBuf,
}

/// A refused Parquet file: what is wrong with it.
fn unreadable(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Parquet { path: path.to_path_buf(), message: message.into() }
}

/// How a column's values are written as the text the CSV decoders read.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Conv {
    Bool,
    Int32,
    UInt32,
    Int64,
    UInt64,
    /// INT32 days since 1970-01-01.
    Date,
    /// INT64 since the epoch, in units of which a day has this many.
    Timestamp(i64),
    /// INT96 (Julian day and nanoseconds): Spark's and Impala's old timestamps.
    Int96,
    /// A DECIMAL of this scale (INT32, INT64, FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY).
    Decimal(i32),
    Float,
    Double,
    /// FIXED_LEN_BYTE_ARRAY(2) half-precision floats.
    Float16,
    /// Bytes written as they are (checked to be UTF-8).
    Text,
}

/// The conversion of a (flat) column, by its physical type and its logical
/// (or, from older writers, converted) type.
fn conv_of(d: &parquet::schema::types::ColumnDescriptor) -> Conv {
    use parquet::basic::{ConvertedType as C, LogicalType as L, TimeUnit, Type as P};
    let logical = d.logical_type_ref();
    let converted = d.converted_type();
    let decimal = match logical {
        Some(L::Decimal(t)) => Some(t.scale),
        _ => (converted == C::DECIMAL).then(|| d.type_scale()),
    };
    let unsigned = matches!(logical, Some(L::Integer(t)) if !t.is_signed)
        || matches!(converted, C::UINT_8 | C::UINT_16 | C::UINT_32 | C::UINT_64);
    match d.physical_type() {
        P::BOOLEAN => Conv::Bool,
        P::INT32 => match (decimal, logical) {
            (Some(s), _) => Conv::Decimal(s),
            (_, Some(L::Date)) => Conv::Date,
            _ if converted == C::DATE => Conv::Date,
            _ if unsigned => Conv::UInt32,
            _ => Conv::Int32,
        },
        P::INT64 => match (decimal, logical) {
            (Some(s), _) => Conv::Decimal(s),
            (_, Some(L::Timestamp(t))) => Conv::Timestamp(match t.unit {
                TimeUnit::MILLIS => 86_400_000,
                TimeUnit::MICROS => 86_400_000_000,
                TimeUnit::NANOS => 86_400_000_000_000,
            }),
            _ if converted == C::TIMESTAMP_MILLIS => Conv::Timestamp(86_400_000),
            _ if converted == C::TIMESTAMP_MICROS => Conv::Timestamp(86_400_000_000),
            _ if unsigned => Conv::UInt64,
            _ => Conv::Int64,
        },
        P::INT96 => Conv::Int96,
        P::FLOAT => Conv::Float,
        P::DOUBLE => Conv::Double,
        P::BYTE_ARRAY | P::FIXED_LEN_BYTE_ARRAY => match (decimal, logical) {
            (Some(s), _) => Conv::Decimal(s),
            (_, Some(L::Float16)) if d.physical_type() == P::FIXED_LEN_BYTE_ARRAY => Conv::Float16,
            _ => Conv::Text,
        },
    }
}

impl Table {
    /// Read `path` whole (Parquet files are compressed: a 100k-customer
    /// ledger's invoices are tens of MB) and check its schema: flat columns
    /// only, and no floating-point money.
    pub(super) fn open(path: &Path) -> Result<Table, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
        let bytes = bytes::Bytes::from(bytes);
        let reader = SerializedFileReader::new(bytes.clone())
            .map_err(|e| unreadable(path, format!("not a readable Parquet file ({e})")))?;
        let meta = reader.metadata();
        let mut names = Vec::new();
        for field in meta.file_metadata().schema_descr().root_schema().get_fields() {
            let name = field.name().to_ascii_lowercase();
            if !field.is_primitive() {
                return Err(unreadable(
                    path,
                    format!("column `{name}` is nested (a group, list or map); a ledger file has flat columns"),
                ));
            }
            let physical = field.get_physical_type();
            let float = matches!(physical, parquet::basic::Type::FLOAT | parquet::basic::Type::DOUBLE)
                || field
                    .get_basic_info()
                    .logical_type_ref()
                    .is_some_and(|l| matches!(l, parquet::basic::LogicalType::Float16));
            if float && MONEY.contains(&name.as_str()) {
                return Err(unreadable(
                    path,
                    format!(
                        "column `{name}` holds floating-point numbers ({physical}); money must be a DECIMAL, an integer or text, so that no cent is lost"
                    ),
                ));
            }
            names.push(name);
        }
        let schema = meta.file_metadata().schema_descr();
        let convs: Vec<Conv> = (0..schema.num_columns()).map(|k| conv_of(&schema.column(k))).collect();
        // Snappy (the warehouses' default) or none: other codecs are not built in.
        for g in meta.row_groups() {
            for c in g.columns() {
                use parquet::basic::Compression as C;
                let codec = match c.compression() {
                    C::UNCOMPRESSED | C::SNAPPY => continue,
                    C::GZIP(_) => "GZIP",
                    C::ZSTD(_) => "ZSTD",
                    C::BROTLI(_) => "BROTLI",
                    C::LZ4 | C::LZ4_RAW => "LZ4",
                    C::LZO => "LZO",
                };
                return Err(unreadable(
                    path,
                    format!(
                        "column `{}` is compressed with {codec}; recoup reads Parquet files compressed with Snappy or not at all: export with Snappy",
                        c.column_path()
                    ),
                ));
            }
        }
        let mut starts = Vec::with_capacity(meta.num_row_groups());
        let mut total = 0u64;
        for g in meta.row_groups() {
            starts.push(total);
            total += g.num_rows().max(0) as u64;
        }
        Ok(Table { reader, bytes, names, convs, starts, path: path.to_path_buf() })
    }

    /// The BLAKE3 hash of the file's bytes.
    pub(super) fn hash(&self) -> String {
        blake3::hash(&self.bytes).to_hex().to_string()
    }

    /// The number of row groups (read in parallel).
    pub(super) fn groups(&self) -> usize {
        self.starts.len()
    }

    /// The rows of the file before row group `g`.
    pub(super) fn first_row(&self, g: usize) -> u64 {
        self.starts.get(g).copied().unwrap_or(0)
    }

    /// The number of rows in the file.
    pub(super) fn rows(&self) -> u64 {
        self.reader.metadata().row_groups().iter().map(|g| g.num_rows().max(0) as u64).sum()
    }

    /// The cells of row group `g` as the text a CSV file would hold (empty
    /// for a null), decoded column by column with the typed column readers,
    /// the columns in parallel. Only the columns `wanted` are read; the
    /// others' cells are empty.
    pub(super) fn read_group(&self, g: usize, wanted: &[bool]) -> Result<Cells, LoadError> {
        let rows = self.reader.metadata().row_group(g).num_rows().max(0) as usize;
        let fail = |e: parquet::errors::ParquetError| unreadable(&self.path, format!("cannot read row group {g}: {e}"));
        let columns = (0..self.convs.len())
            .into_par_iter()
            .map(|k| {
                if !wanted.get(k).copied().unwrap_or(false) {
                    return Ok(Column::default());
                }
                let group = self.reader.get_row_group(g).map_err(fail)?;
                let reader = group.get_column_reader(k).map_err(fail)?;
                let max_def = group.metadata().column(k).column_descr().max_def_level();
                let column = read_column(reader, self.convs[k], max_def, rows).map_err(fail)?;
                if column.ends.len() != rows {
                    let name = self.names.get(k).map_or("?", String::as_str);
                    return Err(unreadable(
                        &self.path,
                        format!("column `{name}` of row group {g} has {} values for {rows} rows", column.ends.len()),
                    ));
                }
                Ok(column)
            })
            .collect::<Result<Vec<_>, LoadError>>()?;
        Ok(Cells { columns, rows })
    }
}

/// One row group's cells, column by column.
pub(super) struct Cells {
    columns: Vec<Column>,
    rows: usize,
}

impl Cells {
    /// The number of rows.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// The cells of row `i` into `fields`, and the positions of those that
    /// were not UTF-8 (shown lossily) into `not_utf8`.
    #[inline]
    pub(super) fn row<'a>(&'a self, i: usize, fields: &mut Vec<&'a str>, not_utf8: &mut Vec<usize>) {
        fields.clear();
        not_utf8.clear();
        for (p, c) in self.columns.iter().enumerate() {
            if c.ends.is_empty() {
                fields.push("");
                continue;
            }
            let start = if i == 0 { 0 } else { c.ends[i - 1] };
            fields.push(c.text.get(start..c.ends[i]).unwrap_or(""));
            if !c.not_utf8.is_empty() && c.not_utf8.binary_search(&i).is_ok() {
                not_utf8.push(p);
            }
        }
    }
}

/// One column of a row group as text: the cells one after the other, where
/// each ends, and the rows whose bytes were not UTF-8.
#[derive(Default)]
struct Column {
    text: String,
    ends: Vec<usize>,
    not_utf8: Vec<usize>,
}

/// Values read at a time from a column chunk.
const BATCH: usize = 8192;

/// Read a column chunk to its end, writing each value with `put` and each
/// null as an empty cell.
fn drain<T: parquet::data_type::DataType>(
    mut r: parquet::column::reader::ColumnReaderImpl<T>,
    max_def: i16,
    rows: usize,
    bytes: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    mut put: impl FnMut(&T::T, &mut Vec<u8>),
) -> parquet::errors::Result<()> {
    let (mut defs, mut values) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
    ends.reserve(rows);
    loop {
        defs.clear();
        values.clear();
        let (records, _, levels) = r.read_records(BATCH, Some(&mut defs), None, &mut values)?;
        if records == 0 {
            return Ok(());
        }
        if max_def == 0 {
            for v in &values {
                put(v, bytes);
                ends.push(bytes.len());
            }
        } else {
            let mut present = values.iter();
            for &d in &defs[..levels.min(defs.len())] {
                if d == max_def
                    && let Some(v) = present.next()
                {
                    put(v, bytes);
                }
                ends.push(bytes.len());
            }
        }
    }
}

/// A column chunk as text (see [`Conv`]).
fn read_column(
    reader: parquet::column::reader::ColumnReader,
    conv: Conv,
    max_def: i16,
    rows: usize,
) -> parquet::errors::Result<Column> {
    use parquet::column::reader::ColumnReader as R;
    let mut bytes = Vec::with_capacity(rows * 8);
    let mut ends = Vec::new();
    let (b, e) = (&mut bytes, &mut ends);
    match reader {
        R::BoolColumnReader(r) => {
            drain(r, max_def, rows, b, e, |v, out| out.extend_from_slice(if *v { b"true" } else { b"false" }))?
        }
        R::Int32ColumnReader(r) => match conv {
            Conv::Date => drain(r, max_def, rows, b, e, |v, out| push_date(out, i64::from(*v)))?,
            Conv::Decimal(s) => drain(r, max_def, rows, b, e, |v, out| push_decimal(out, i128::from(*v), s))?,
            Conv::UInt32 => drain(r, max_def, rows, b, e, |v, out| push_int(out, i128::from(*v as u32)))?,
            _ => drain(r, max_def, rows, b, e, |v, out| push_int(out, i128::from(*v)))?,
        },
        R::Int64ColumnReader(r) => match conv {
            Conv::Timestamp(per_day) => drain(r, max_def, rows, b, e, |v, out| push_timestamp(out, *v, per_day))?,
            Conv::Decimal(s) => drain(r, max_def, rows, b, e, |v, out| push_decimal(out, i128::from(*v), s))?,
            Conv::UInt64 => drain(r, max_def, rows, b, e, |v, out| push_int(out, i128::from(*v as u64)))?,
            _ => drain(r, max_def, rows, b, e, |v, out| push_int(out, i128::from(*v)))?,
        },
        R::Int96ColumnReader(r) => drain(r, max_def, rows, b, e, |v, out| {
            let [lo, hi, day] = [v.data()[0], v.data()[1], v.data()[2]];
            let nanos = (i64::from(hi) << 32) | i64::from(lo);
            let days = i64::from(day) - 2_440_588;
            if nanos == 0 {
                push_date(out, days);
            } else {
                let _ = write!(Out(out), "{}T+{nanos}ns", days_text(days));
            }
        })?,
        R::FloatColumnReader(r) => drain(r, max_def, rows, b, e, |v, out| {
            let _ = write!(Out(out), "{v}");
        })?,
        R::DoubleColumnReader(r) => drain(r, max_def, rows, b, e, |v, out| {
            let _ = write!(Out(out), "{v}");
        })?,
        R::ByteArrayColumnReader(r) => match conv {
            Conv::Decimal(s) => drain(r, max_def, rows, b, e, |v, out| decimal_bytes(out, v.data(), s))?,
            _ => drain(r, max_def, rows, b, e, |v, out| out.extend_from_slice(v.data()))?,
        },
        R::FixedLenByteArrayColumnReader(r) => match conv {
            Conv::Decimal(s) => drain(r, max_def, rows, b, e, |v, out| decimal_bytes(out, v.data(), s))?,
            Conv::Float16 => drain(r, max_def, rows, b, e, |v, out| match v.data() {
                &[lo, hi] => {
                    let _ = write!(Out(out), "{}", f16_to_f32(u16::from_le_bytes([lo, hi])));
                }
                other => out.extend_from_slice(other),
            })?,
            _ => drain(r, max_def, rows, b, e, |v, out| out.extend_from_slice(v.data()))?,
        },
    }
    Ok(text_column(bytes, ends))
}

/// The cells' bytes as text: checked as UTF-8 all at once (and that no cell
/// ends inside a character); only when that fails, cell by cell, the bad
/// ones shown lossily and listed.
fn text_column(bytes: Vec<u8>, ends: Vec<usize>) -> Column {
    let bytes = match String::from_utf8(bytes) {
        Ok(text) if ends.iter().all(|&e| text.is_char_boundary(e)) => {
            return Column { text, ends, not_utf8: Vec::new() };
        }
        Ok(text) => text.into_bytes(),
        Err(e) => e.into_bytes(),
    };
    let (mut text, mut new_ends, mut not_utf8) =
        (String::with_capacity(bytes.len()), Vec::with_capacity(ends.len()), Vec::new());
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        let cell = &bytes[start..end];
        match std::str::from_utf8(cell) {
            Ok(s) => text.push_str(s),
            Err(_) => {
                text.push_str(&String::from_utf8_lossy(cell));
                not_utf8.push(i);
            }
        }
        new_ends.push(text.len());
        start = end;
    }
    Column { text, ends: new_ends, not_utf8 }
}

/// `fmt::Write` into a byte buffer.
struct Out<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A Parquet ledger file as the CSV file it stands for (a header row of its
/// column names, then every row's cells as the loader reads them), and the
/// BLAKE3 hash of the Parquet file's bytes. For `recoup split`, which
/// writes a Parquet ledger's partitions as CSV ledger folders.
pub fn to_csv(path: &Path) -> Result<(Vec<u8>, String), LoadError> {
    let table = Table::open(path)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| unreadable(path, format!("cannot write a row as CSV: {e}"));
    w.write_record(&table.names).map_err(bad)?;
    let wanted = vec![true; table.names.len()];
    for g in 0..table.groups() {
        let cells = table.read_group(g, &wanted)?;
        let (mut fields, mut not_utf8) = (Vec::new(), Vec::new());
        for i in 0..cells.rows() {
            cells.row(i, &mut fields, &mut not_utf8);
            w.write_record(&fields).map_err(bad)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| unreadable(path, format!("cannot write a row as CSV: {e}")))?;
    Ok((bytes, table.hash()))
}

/// An integer in decimal digits.
#[inline]
fn push_int(out: &mut Vec<u8>, v: i128) {
    if v < 0 {
        out.push(b'-');
    }
    push_digits(out, v.unsigned_abs(), 1);
}

/// `v` with at least `width` digits (zeros in front).
#[inline]
fn push_digits(out: &mut Vec<u8>, mut v: u128, width: usize) {
    let mut digits = [b'0'; 40];
    let mut n = digits.len();
    while v > 0 || digits.len() - n < width {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&digits[n..]);
}

/// A date `days` after 1970-01-01 as `YYYY-MM-DD`; one outside years
/// 1–9999 as words the date decoder refuses.
#[inline]
fn push_date(out: &mut Vec<u8>, days: i64) {
    use chrono::Datelike;
    match epoch_day(days) {
        Some(d) if (1..=9999).contains(&d.year()) => {
            push_digits(out, d.year() as u128, 4);
            out.push(b'-');
            push_digits(out, u128::from(d.month()), 2);
            out.push(b'-');
            push_digits(out, u128::from(d.day()), 2);
        }
        _ => out.extend_from_slice(days_text(days).as_bytes()),
    }
}

/// A day as words, for a timestamp with a time of day or a date out of range.
fn days_text(days: i64) -> String {
    match epoch_day(days) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => format!("day {days} after 1970-01-01"),
    }
}

fn epoch_day(days: i64) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

/// A timestamp in `per_day` units: its date when it is midnight, else the
/// date and time (which a date column refuses).
fn push_timestamp(out: &mut Vec<u8>, t: i64, per_day: i64) {
    let (days, rest) = (t.div_euclid(per_day), t.rem_euclid(per_day));
    if rest == 0 {
        push_date(out, days);
    } else {
        let _ = write!(Out(out), "{}T+{rest}/{per_day}", days_text(days));
    }
}

/// A DECIMAL's big-endian two's-complement unscaled value and its scale.
fn decimal_bytes(out: &mut Vec<u8>, be: &[u8], scale: i32) {
    let wide = be.len() > 16 && be[..be.len() - 16].iter().any(|&b| b != 0 && b != 0xff);
    if wide || be.is_empty() {
        return out.extend_from_slice(b"decimal out of range");
    }
    let negative = be[0] & 0x80 != 0;
    let mut buf = [if negative { 0xff } else { 0 }; 16];
    let tail = &be[be.len().saturating_sub(16)..];
    buf[16 - tail.len()..].copy_from_slice(tail);
    push_decimal(out, i128::from_be_bytes(buf), scale);
}

/// A DECIMAL exactly, from its unscaled value: nothing goes through a float;
/// trailing zeros past two decimals are dropped (`DECIMAL(18,4)` 1200.5000
/// is `1200.50`; 1200.5012 stays and is refused like `1200.5012` in a CSV
/// file). What rust_decimal cannot hold (a scale over 28, a value of 2^96 or
/// more) is words the money decoder refuses. A test compares it with
/// rust_decimal's own formatting.
#[inline]
fn push_decimal(out: &mut Vec<u8>, unscaled: i128, scale: i32) {
    let Some(scale) = u32::try_from(scale).ok().filter(|&s| s <= 28) else {
        return out.extend_from_slice(b"decimal out of range");
    };
    let abs = unscaled.unsigned_abs();
    if abs >= 1 << 96 {
        return out.extend_from_slice(b"decimal out of range");
    }
    let p = 10u128.pow(scale);
    let (whole, mut frac, mut digits) = (abs / p, abs % p, scale);
    // Zeros past the second decimal go, when all of them are zeros.
    if scale > 2 && frac % 10u128.pow(scale - 2) == 0 {
        frac /= 10u128.pow(scale - 2);
        digits = 2;
    }
    if unscaled < 0 {
        out.push(b'-');
    }
    push_digits(out, whole, 1);
    if digits > 0 {
        out.push(b'.');
        push_digits(out, frac, digits as usize);
    }
}

/// A half-precision float's value.
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f32::from(h & 0x3ff);
    sign * match exp {
        0 => mant * 2f32.powi(-24),
        31 if mant == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + mant / 1024.0) * 2f32.powi(e - 15),
    }
}

/// Why a CSV ledger could not be written as Parquet.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot read `{}`: {source}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
    #[error("cannot write `{}` as Parquet: {source}", path.display())]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("cannot write `{}`: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// A column's Parquet type when written from CSV.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Money,
    Date,
    Bool,
    Int,
}

const DATES: [&str; 9] = [
    "issue_date",
    "due_date",
    "paid_on",
    "made_on",
    "due_on",
    "decided_on",
    "executed_on",
    "disputed_since",
    "opened_on",
];

/// The type a column is written as: by its name, when every cell reads as
/// that type (a ledger with bad cells keeps them as text, so that the loader
/// reports them as it would in the CSV file).
fn kind_of(name: &str, cells: &[Option<&str>]) -> Kind {
    let all = |ok: &dyn Fn(&str) -> bool| cells.iter().flatten().all(|c| ok(c.trim()));
    let kind = if MONEY.contains(&name) {
        Kind::Money
    } else if DATES.contains(&name) {
        Kind::Date
    } else if name == "do_not_contact" || name == "on_hold" {
        Kind::Bool
    } else if name == "credit_score" {
        Kind::Int
    } else {
        Kind::Text
    };
    let fits = match kind {
        Kind::Money => all(&|c| money_cents(c).is_some()),
        Kind::Date => all(&|c| super::decode::date(c.as_bytes()).is_ok()),
        Kind::Bool => all(&|c| matches!(c, "true" | "false")),
        Kind::Int => all(&|c| c.parse::<i32>().is_ok()),
        Kind::Text => true,
    };
    if fits { kind } else { Kind::Text }
}

/// A money cell in cents, when it has at most two decimals and fits DECIMAL(18,2).
fn money_cents(c: &str) -> Option<i64> {
    let d: rust_decimal::Decimal = c.parse().ok()?;
    if d.scale() > 2 || c.contains(['e', 'E']) {
        return None;
    }
    let cents = (d * rust_decimal::Decimal::ONE_HUNDRED).trunc();
    let v = i64::try_from(cents).ok()?;
    (v.unsigned_abs() < 1_000_000_000_000_000_000).then_some(v)
}

/// Rows per row group when writing (the loader reads row groups in parallel).
pub const ROWS_PER_GROUP: usize = 100_000;

/// Write the ledger files of the CSV folder `from` as Parquet files into the
/// folder `to` (created if needed; each file written atomically): money as
/// DECIMAL(18,2), dates as DATE, `do_not_contact` and `on_hold` as BOOLEAN,
/// `credit_score` as INT32, the rest as UTF8 text, empty cells as nulls, in
/// row groups of `rows_per_group`, compressed with Snappy. Returns the files written.
pub fn write_ledger(from: &Path, to: &Path, rows_per_group: usize) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(to).map_err(|source| WriteError::Io { path: to.to_path_buf(), source })?;
    let mut written = Vec::new();
    for kind in KINDS {
        let src = from.join(LedgerFormat::Csv.file_name(kind));
        if !src.is_file() {
            continue;
        }
        let dst = to.join(LedgerFormat::Parquet.file_name(kind));
        let bytes = csv_to_parquet(&src, rows_per_group)?;
        crate::output::write_atomic(&dst, |w| w.write_all(&bytes))
            .map_err(|source| WriteError::Io { path: dst.clone(), source })?;
        written.push(dst);
    }
    Ok(written)
}

/// One CSV file as the bytes of a Parquet file.
fn csv_to_parquet(src: &Path, rows_per_group: usize) -> Result<Vec<u8>, WriteError> {
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int32Type, Int64Type};
    let csv_err = |source| WriteError::Csv { path: src.to_path_buf(), source };
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(src).map_err(csv_err)?;
    let names: Vec<String> = rdr.headers().map_err(csv_err)?.iter().map(|h| h.trim().to_string()).collect();
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    for r in rdr.records() {
        rows.push(r.map_err(csv_err)?);
    }
    fn cell(r: &csv::StringRecord, k: usize) -> Option<&str> {
        r.get(k).filter(|c| !c.trim().is_empty())
    }
    let kinds: Vec<Kind> = (0..names.len())
        .map(|k| {
            let cells: Vec<Option<&str>> = rows.iter().map(|r| cell(r, k)).collect();
            kind_of(&names[k].to_ascii_lowercase(), &cells)
        })
        .collect();
    let mut message = String::from("message ledger {\n");
    for (k, name) in names.iter().enumerate() {
        let ty = match kinds[k] {
            Kind::Text => "BYTE_ARRAY",
            Kind::Money => "INT64",
            Kind::Date | Kind::Int => "INT32",
            Kind::Bool => "BOOLEAN",
        };
        let logical = match kinds[k] {
            Kind::Text => " (UTF8)",
            Kind::Money => " (DECIMAL(18,2))",
            Kind::Date => " (DATE)",
            Kind::Int | Kind::Bool => "",
        };
        let _ = writeln!(message, "  OPTIONAL {ty} {name}{logical};");
    }
    message.push('}');
    let pq = |source| WriteError::Parquet { path: src.to_path_buf(), source };
    let schema = parquet::schema::parser::parse_message_type(&message).map_err(pq)?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer =
        parquet::file::writer::SerializedFileWriter::new(Vec::new(), std::sync::Arc::new(schema), props.into())
            .map_err(pq)?;
    for chunk in rows.chunks(rows_per_group.max(1)) {
        let mut group = writer.next_row_group().map_err(pq)?;
        let mut k = 0;
        while let Some(mut col) = group.next_column().map_err(pq)? {
            let cells: Vec<Option<&str>> = chunk.iter().map(|r| cell(r, k)).collect();
            let defs: Vec<i16> = cells.iter().map(|c| i16::from(c.is_some())).collect();
            let present = cells.iter().flatten().map(|c| c.trim());
            match kinds[k] {
                Kind::Text => {
                    let v: Vec<ByteArray> = present.map(|c| ByteArray::from(c.as_bytes().to_vec())).collect();
                    col.typed::<ByteArrayType>().write_batch(&v, Some(&defs), None)
                }
                Kind::Money => {
                    let v: Vec<i64> = present.filter_map(money_cents).collect();
                    col.typed::<Int64Type>().write_batch(&v, Some(&defs), None)
                }
                Kind::Date => {
                    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
                    let v: Vec<i32> = present
                        .filter_map(|c| super::decode::date(c.as_bytes()).ok())
                        .map(|d| (d - epoch).num_days() as i32)
                        .collect();
                    col.typed::<Int32Type>().write_batch(&v, Some(&defs), None)
                }
                Kind::Int => {
                    let v: Vec<i32> = present.filter_map(|c| c.parse().ok()).collect();
                    col.typed::<Int32Type>().write_batch(&v, Some(&defs), None)
                }
                Kind::Bool => {
                    let v: Vec<bool> = present.map(|c| c == "true").collect();
                    col.typed::<BoolType>().write_batch(&v, Some(&defs), None)
                }
            }
            .map_err(pq)?;
            col.close().map_err(pq)?;
            k += 1;
        }
        group.close().map_err(pq)?;
    }
    writer.into_inner().map_err(pq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::record::Field;

    fn dec(v: i64, scale: i32) -> String {
        let mut s = Vec::new();
        push_decimal(&mut s, i128::from(v), scale);
        String::from_utf8(s).unwrap()
    }

    #[test]
    fn decimals_are_exact_and_keep_what_is_not_zero() {
        assert_eq!(dec(120050, 2), "1200.50");
        assert_eq!(dec(-500, 2), "-5.00");
        assert_eq!(dec(-5, 2), "-0.05");
        assert_eq!(dec(12005000, 4), "1200.50");
        assert_eq!(dec(12005012, 4), "1200.5012");
        assert_eq!(dec(0, 4), "0.00");
        assert_eq!(dec(7, 0), "7");
        assert_eq!(dec(1, -1), "decimal out of range");
        assert_eq!(dec(1, 29), "decimal out of range");
        let mut s = Vec::new();
        decimal_bytes(&mut s, &[0xff, 0x38], 2);
        assert_eq!(s, b"-2.00");
    }

    /// The slow twin of [`push_decimal`]: through rust_decimal, as the
    /// record-API reader wrote decimals.
    fn slow_decimal(unscaled: i128, scale: i32) -> String {
        let Some(scale) = u32::try_from(scale).ok().filter(|&s| s <= 28) else {
            return "decimal out of range".into();
        };
        match rust_decimal::Decimal::try_from_i128_with_scale(unscaled, scale) {
            Ok(mut d) => {
                if d.scale() > 2 {
                    let n = d.normalize();
                    if n.scale() <= 2 {
                        d = n;
                        d.rescale(2);
                    }
                }
                d.to_string()
            }
            Err(_) => "decimal out of range".into(),
        }
    }

    proptest::proptest! {
        #[test]
        fn decimals_match_rust_decimal(v in proptest::prelude::any::<i128>(), small in -10_000_000i64..10_000_000, scale in -1i32..30) {
            for u in [v, i128::from(small), v >> 30, v >> 60] {
                let mut s = Vec::new();
                push_decimal(&mut s, u, scale);
                proptest::prop_assert_eq!(String::from_utf8(s).unwrap(), slow_decimal(u, scale));
            }
        }
    }

    #[test]
    fn dates_and_timestamps_read_as_days() {
        let text = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut s = Vec::new();
            f(&mut s);
            String::from_utf8(s).unwrap()
        };
        assert_eq!(text(&|s| push_date(s, 20_773)), "2026-11-16");
        assert_eq!(text(&|s| push_date(s, -1)), "1969-12-31");
        assert_eq!(text(&|s| push_date(s, 0)), "1970-01-01");
        assert_eq!(text(&|s| push_timestamp(s, 20_773 * 86_400_000, 86_400_000)), "2026-11-16");
        let s = text(&|s| push_timestamp(s, 20_773 * 86_400_000 + 1, 86_400_000));
        assert!(super::super::decode::date(s.as_bytes()).is_err(), "{s}");
        let s = text(&|s| push_date(s, 3_000_000));
        assert!(super::super::decode::date(s.as_bytes()).is_err(), "{s}");
        // Every day of four centuries, as chrono writes it.
        for days in -200_000..200_000 {
            assert_eq!(text(&|s| push_date(s, days)), days_text(days));
        }
    }

    #[test]
    fn half_floats() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }

    /// The slow twin of [`Table::read_group`]: the `parquet` crate's record
    /// API (a `Row` of `Field`s per row), each cell written as the
    /// column reader writes it. Returns every row's cells.
    pub(crate) fn record_cells(path: &Path) -> Vec<Vec<String>> {
        let bytes = bytes::Bytes::from(std::fs::read(path).unwrap());
        let reader = SerializedFileReader::new(bytes).unwrap();
        let mut rows = Vec::new();
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            rows.push(row.get_column_iter().map(|(_, f)| field_text(f)).collect());
        }
        rows
    }

    fn field_text(field: &Field) -> String {
        let mut v = Vec::new();
        match field {
            Field::Null => {}
            Field::Bool(b) => v.extend_from_slice(if *b { b"true" } else { b"false" }),
            Field::Byte(x) => push_int(&mut v, i128::from(*x)),
            Field::Short(x) => push_int(&mut v, i128::from(*x)),
            Field::Int(x) => push_int(&mut v, i128::from(*x)),
            Field::Long(x) => push_int(&mut v, i128::from(*x)),
            Field::UByte(x) => push_int(&mut v, i128::from(*x)),
            Field::UShort(x) => push_int(&mut v, i128::from(*x)),
            Field::UInt(x) => push_int(&mut v, i128::from(*x)),
            Field::ULong(x) => push_int(&mut v, i128::from(*x)),
            Field::Float16(x) => return format!("{}", f32::from(*x)),
            Field::Float(x) => return format!("{x}"),
            Field::Double(x) => return format!("{x}"),
            Field::Decimal(d) => return slow_decimal(slow_unscaled(d.data()), d.scale()),
            Field::Str(s) => return s.clone(),
            Field::Bytes(b) => return String::from_utf8_lossy(b.data()).into_owned(),
            Field::Date(days) => return days_text(i64::from(*days)),
            Field::TimestampMillis(ms) => push_timestamp(&mut v, *ms, 86_400_000),
            Field::TimestampMicros(us) => push_timestamp(&mut v, *us, 86_400_000_000),
            Field::TimeMillis(x) => push_int(&mut v, i128::from(*x)),
            Field::TimeMicros(x) => push_int(&mut v, i128::from(*x)),
            Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => panic!("nested"),
        }
        String::from_utf8(v).unwrap()
    }

    fn slow_unscaled(be: &[u8]) -> i128 {
        let mut buf = [if be[0] & 0x80 != 0 { 0xff } else { 0 }; 16];
        buf[16 - be.len()..].copy_from_slice(be);
        i128::from_be_bytes(buf)
    }

    /// Every row's cells through the column readers.
    fn column_cells(path: &Path) -> Vec<Vec<String>> {
        let table = Table::open(path).unwrap();
        let wanted = vec![true; table.names.len()];
        let mut rows = Vec::new();
        for g in 0..table.groups() {
            let cells = table.read_group(g, &wanted).unwrap();
            let (mut fields, mut bad) = (Vec::new(), Vec::new());
            for i in 0..cells.rows() {
                cells.row(i, &mut fields, &mut bad);
                assert!(bad.is_empty());
                rows.push(fields.iter().map(|f| f.to_string()).collect());
            }
        }
        rows
    }

    /// A file of every type the column readers convert, with nulls, written
    /// with `props`.
    fn write_typed(path: &Path, props: parquet::file::properties::WriterProperties, rows: usize, per_group: usize) {
        use parquet::data_type::*;
        let schema = parquet::schema::parser::parse_message_type(
            "message m {
                REQUIRED BYTE_ARRAY id (UTF8);
                OPTIONAL BYTE_ARRAY note (UTF8);
                OPTIONAL INT32 day (DATE);
                OPTIONAL INT64 cents (DECIMAL(18,2));
                OPTIONAL INT32 small (DECIMAL(9,4));
                OPTIONAL FIXED_LEN_BYTE_ARRAY (12) wide (DECIMAL(28,3));
                OPTIONAL BYTE_ARRAY big (DECIMAL(30,2));
                OPTIONAL BOOLEAN flag;
                OPTIONAL INT32 score;
                OPTIONAL INT32 tiny (INT_8);
                OPTIONAL INT32 u (UINT_32);
                OPTIONAL INT64 ms (TIMESTAMP_MILLIS);
                OPTIONAL INT64 us (TIMESTAMP_MICROS);
                OPTIONAL INT64 n;
                OPTIONAL DOUBLE ratio;
                OPTIONAL FLOAT f;
            }",
        )
        .unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut w = parquet::file::writer::SerializedFileWriter::new(file, schema.into(), props.into()).unwrap();
        let all: Vec<usize> = (0..rows).collect();
        for chunk in all.chunks(per_group) {
            let mut g = w.next_row_group().unwrap();
            let mut k = 0;
            while let Some(mut c) = g.next_column().unwrap() {
                // Column k is null on every (k+2)-th row (but `id`).
                let present: Vec<usize> = chunk.iter().copied().filter(|i| k == 0 || i % (k + 2) != 0).collect();
                let defs: Vec<i16> = chunk.iter().map(|i| i16::from(k == 0 || i % (k + 2) != 0)).collect();
                let defs = (k > 0).then_some(&defs[..]);
                let x = |i: usize| (i as i64 * 7919) % 100_003 - 50_000;
                match k {
                    0 | 1 => {
                        let v: Vec<ByteArray> =
                            present.iter().map(|i| ByteArray::from(format!("C{:05}-é{}", i, i % 7).as_str())).collect();
                        c.typed::<ByteArrayType>().write_batch(&v, defs, None)
                    }
                    2 => {
                        let v: Vec<i32> = present.iter().map(|&i| 20_000 + (i % 900) as i32).collect();
                        c.typed::<Int32Type>().write_batch(&v, defs, None)
                    }
                    3 => {
                        let v: Vec<i64> = present.iter().map(|&i| x(i) * 1_000).collect();
                        c.typed::<Int64Type>().write_batch(&v, defs, None)
                    }
                    4 => {
                        let v: Vec<i32> = present.iter().map(|&i| (x(i) * 10) as i32).collect();
                        c.typed::<Int32Type>().write_batch(&v, defs, None)
                    }
                    5 => {
                        let v: Vec<FixedLenByteArray> = present
                            .iter()
                            .map(|&i| {
                                let b = (i128::from(x(i)) * 1_000_000_007).to_be_bytes();
                                FixedLenByteArray::from(b[4..].to_vec())
                            })
                            .collect();
                        c.typed::<FixedLenByteArrayType>().write_batch(&v, defs, None)
                    }
                    6 => {
                        let v: Vec<ByteArray> = present
                            .iter()
                            .map(|&i| {
                                let b = (i128::from(x(i)) * 123_456_789_012).to_be_bytes();
                                ByteArray::from(b[3..].to_vec())
                            })
                            .collect();
                        c.typed::<ByteArrayType>().write_batch(&v, defs, None)
                    }
                    7 => {
                        let v: Vec<bool> = present.iter().map(|&i| i % 3 == 0).collect();
                        c.typed::<BoolType>().write_batch(&v, defs, None)
                    }
                    8..=10 => {
                        let v: Vec<i32> =
                            present.iter().map(|&i| if k == 9 { (x(i) % 100) as i32 } else { x(i) as i32 }).collect();
                        c.typed::<Int32Type>().write_batch(&v, defs, None)
                    }
                    11 => {
                        let v: Vec<i64> = present
                            .iter()
                            .map(|&i| (20_000 + i as i64) * 86_400_000 + if i % 5 == 0 { 1 } else { 0 })
                            .collect();
                        c.typed::<Int64Type>().write_batch(&v, defs, None)
                    }
                    12 => {
                        let v: Vec<i64> = present.iter().map(|&i| (20_000 + i as i64) * 86_400_000_000).collect();
                        c.typed::<Int64Type>().write_batch(&v, defs, None)
                    }
                    13 => {
                        let v: Vec<i64> = present.iter().map(|&i| x(i) << 20).collect();
                        c.typed::<Int64Type>().write_batch(&v, defs, None)
                    }
                    14 => {
                        let v: Vec<f64> = present.iter().map(|&i| x(i) as f64 / 3.0).collect();
                        c.typed::<DoubleType>().write_batch(&v, defs, None)
                    }
                    _ => {
                        let v: Vec<f32> = present.iter().map(|&i| x(i) as f32 / 7.0).collect();
                        c.typed::<FloatType>().write_batch(&v, defs, None)
                    }
                }
                .unwrap();
                c.close().unwrap();
                k += 1;
            }
            g.close().unwrap();
        }
        w.close().unwrap();
    }

    #[test]
    fn column_readers_give_the_record_apis_cells() {
        use parquet::file::properties::{WriterProperties, WriterVersion};
        let tmp = tempfile::tempdir().unwrap();
        let variants = [
            (
                "dictionary, snappy, one group",
                WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build(),
                3000,
            ),
            (
                "plain, uncompressed, small groups and pages",
                WriterProperties::builder()
                    .set_dictionary_enabled(false)
                    .set_data_page_row_count_limit(100)
                    .set_write_batch_size(37)
                    .build(),
                700,
            ),
            (
                "data pages v2",
                WriterProperties::builder()
                    .set_writer_version(WriterVersion::PARQUET_2_0)
                    .set_dictionary_page_size_limit(512)
                    .build(),
                1024,
            ),
        ];
        for (what, props, per_group) in variants {
            let path = tmp.path().join("t.parquet");
            write_typed(&path, props, 3000, per_group);
            let (fast, slow) = (column_cells(&path), record_cells(&path));
            assert_eq!(fast.len(), 3000, "{what}");
            for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                assert_eq!(a, b, "{what}: row {i}");
            }
            // Nulls are empty cells; the rest is there.
            assert_eq!(fast[0][1], "");
            assert_eq!(fast[1][1], "C00001-é1");
            assert_eq!(fast[1][3], "-420810.00");
            assert_eq!(fast[1][2], "2024-10-05");
            assert!(fast.iter().all(|r| r.len() == 16));
        }
    }

    #[test]
    fn cells_that_are_not_utf8_are_listed() {
        let column = text_column(b"ab\xffcd\xc3\xa9".to_vec(), vec![2, 3, 5, 7]);
        assert_eq!(column.not_utf8, [1]);
        assert_eq!(column.text, "ab\u{fffd}cdé");
        // A character split between two cells: both are bad.
        let column = text_column(b"a\xc3\xa9b".to_vec(), vec![2, 4]);
        assert_eq!(column.not_utf8, [0, 1]);
    }
}
