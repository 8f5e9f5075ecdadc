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
use parquet::record::Field;
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

/// An opened Parquet file: its column names, its row groups and the BLAKE3
/// hash of its bytes.
pub(super) struct Table {
    reader: SerializedFileReader<bytes::Bytes>,
    pub names: Vec<String>,
    pub hash: String,
    /// The number of rows before each row group.
    starts: Vec<u64>,
    path: PathBuf,
}

/// A refused Parquet file: what is wrong with it.
fn unreadable(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Parquet { path: path.to_path_buf(), message: message.into() }
}

impl Table {
    /// Read `path` whole (Parquet files are compressed: a 100k-customer
    /// ledger's invoices are tens of MB), hash it, and check its schema:
    /// flat columns only, and no floating-point money.
    pub(super) fn open(path: &Path) -> Result<Table, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes))
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
        Ok(Table { reader, names, hash, starts, path: path.to_path_buf() })
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

    /// Call `each` with the cells of every row of row group `g`, in order, as
    /// the text a CSV file would hold (empty for a null).
    pub(super) fn each_row(&self, g: usize, mut each: impl FnMut(&[&str])) -> Result<(), LoadError> {
        let fail = |e: parquet::errors::ParquetError| unreadable(&self.path, format!("cannot read row group {g}: {e}"));
        let group = self.reader.get_row_group(g).map_err(fail)?;
        let mut cells: Vec<String> = vec![String::new(); self.names.len()];
        for row in group.get_row_iter(None).map_err(fail)? {
            let row = row.map_err(fail)?;
            let mut n = 0;
            for (k, (_, field)) in row.get_column_iter().enumerate() {
                if let Some(cell) = cells.get_mut(k) {
                    cell.clear();
                    text(field, cell);
                    n = k + 1;
                }
            }
            let strs: Vec<&str> = cells[..n].iter().map(String::as_str).collect();
            each(&strs);
        }
        Ok(())
    }
}

/// A Parquet ledger file as the CSV file it stands for (a header row of its
/// column names, then every row's cells as [`Table::each_row`] reads them),
/// and the BLAKE3 hash of the Parquet file's bytes. For `recoup split`, which
/// writes a Parquet ledger's partitions as CSV ledger folders.
pub fn to_csv(path: &Path) -> Result<(Vec<u8>, String), LoadError> {
    let table = Table::open(path)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| unreadable(path, format!("cannot write a row as CSV: {e}"));
    w.write_record(&table.names).map_err(bad)?;
    let width = table.names.len();
    let mut failed: Option<csv::Error> = None;
    for g in 0..table.groups() {
        table.each_row(g, |cells| {
            if failed.is_some() {
                return;
            }
            // A row always has every column; pad defensively all the same.
            let row = cells.iter().copied().chain(std::iter::repeat_n("", width.saturating_sub(cells.len())));
            if let Err(e) = w.write_record(row) {
                failed = Some(e);
            }
        })?;
    }
    if let Some(e) = failed {
        return Err(bad(e));
    }
    let bytes = w.into_inner().map_err(|e| unreadable(path, format!("cannot write a row as CSV: {e}")))?;
    Ok((bytes, table.hash))
}

/// A Parquet value as the CSV decoders read it. Nothing goes through a
/// float: a DECIMAL is written exactly from its unscaled integer (trailing
/// zeros past two decimals dropped, so `DECIMAL(18,4)` 1200.5000 is
/// `1200.50`; 1200.5012 stays and is refused like `1200.5012` in a CSV
/// file); a DATE as `YYYY-MM-DD`; a timestamp at midnight as its date.
fn text(field: &Field, out: &mut String) {
    let _ = match field {
        Field::Null => Ok(()),
        Field::Bool(b) => out.write_str(if *b { "true" } else { "false" }),
        Field::Byte(v) => write!(out, "{v}"),
        Field::Short(v) => write!(out, "{v}"),
        Field::Int(v) => write!(out, "{v}"),
        Field::Long(v) => write!(out, "{v}"),
        Field::UByte(v) => write!(out, "{v}"),
        Field::UShort(v) => write!(out, "{v}"),
        Field::UInt(v) => write!(out, "{v}"),
        Field::ULong(v) => write!(out, "{v}"),
        Field::Float16(v) => write!(out, "{v}"),
        Field::Float(v) => write!(out, "{v}"),
        Field::Double(v) => write!(out, "{v}"),
        Field::Decimal(d) => decimal(d.data(), d.scale(), out),
        Field::Str(s) => out.write_str(s),
        Field::Bytes(b) => out.write_str(&String::from_utf8_lossy(b.data())),
        Field::Date(days) => match epoch_day(i64::from(*days)) {
            Some(d) => write!(out, "{}", d.format("%Y-%m-%d")),
            None => write!(out, "day {days} after 1970-01-01"),
        },
        Field::TimestampMillis(ms) => timestamp(*ms, 86_400_000, out),
        Field::TimestampMicros(us) => timestamp(*us, 86_400_000_000, out),
        Field::TimeMillis(v) => write!(out, "{v}"),
        Field::TimeMicros(v) => write!(out, "{v}"),
        // Refused when the file is opened (flat columns only).
        Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => Ok(()),
    };
}

fn epoch_day(days: i64) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

/// A timestamp in `per_day` units: its date when it is midnight, else the
/// date and time (which a date column refuses).
fn timestamp(t: i64, per_day: i64, out: &mut String) -> std::fmt::Result {
    let (days, rest) = (t.div_euclid(per_day), t.rem_euclid(per_day));
    match epoch_day(days) {
        Some(d) if rest == 0 => write!(out, "{}", d.format("%Y-%m-%d")),
        Some(d) => write!(out, "{}T+{rest}/{per_day}", d.format("%Y-%m-%d")),
        None => write!(out, "timestamp {t}"),
    }
}

/// A DECIMAL's big-endian two's-complement unscaled value and its scale.
fn decimal(be: &[u8], scale: i32, out: &mut String) -> std::fmt::Result {
    let wide = be.len() > 16 && be[..be.len() - 16].iter().any(|&b| b != 0 && b != 0xff);
    let scale = u32::try_from(scale).ok().filter(|&s| s <= 28);
    let (Some(scale), false, false) = (scale, wide, be.is_empty()) else {
        return write!(out, "decimal out of range");
    };
    let negative = be[0] & 0x80 != 0;
    let mut buf = [if negative { 0xff } else { 0 }; 16];
    let tail = &be[be.len().saturating_sub(16)..];
    buf[16 - tail.len()..].copy_from_slice(tail);
    let unscaled = i128::from_be_bytes(buf);
    match rust_decimal::Decimal::try_from_i128_with_scale(unscaled, scale) {
        Ok(mut d) => {
            if d.scale() > 2 {
                let n = d.normalize();
                if n.scale() <= 2 {
                    d = n;
                    d.rescale(2);
                }
            }
            write!(out, "{d}")
        }
        Err(_) => write!(out, "decimal out of range"),
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

    fn dec(v: i64, scale: i32) -> String {
        let mut s = String::new();
        decimal(&v.to_be_bytes(), scale, &mut s).unwrap();
        s
    }

    #[test]
    fn decimals_are_exact_and_keep_what_is_not_zero() {
        assert_eq!(dec(120050, 2), "1200.50");
        assert_eq!(dec(-500, 2), "-5.00");
        assert_eq!(dec(12005000, 4), "1200.50");
        assert_eq!(dec(12005012, 4), "1200.5012");
        assert_eq!(dec(7, 0), "7");
        assert_eq!(dec(1, -1), "decimal out of range");
        let mut s = String::new();
        decimal(&[0xff, 0x38], 2, &mut s).unwrap();
        assert_eq!(s, "-2.00");
    }

    #[test]
    fn dates_and_timestamps_read_as_days() {
        let mut s = String::new();
        text(&Field::Date(20_773), &mut s);
        assert_eq!(s, "2026-11-16");
        s.clear();
        text(&Field::TimestampMillis(20_773 * 86_400_000), &mut s);
        assert_eq!(s, "2026-11-16");
        s.clear();
        text(&Field::TimestampMillis(20_773 * 86_400_000 + 1), &mut s);
        assert!(super::super::decode::date(s.as_bytes()).is_err(), "{s}");
    }
}
