//! plan.parquet and worklist.parquet (`recoup run --parquet`): the columns
//! of plan.csv and worklist.csv, typed for a warehouse — money as
//! `DECIMAL(28,3)` with the currency column beside it (never a float), dates
//! as `DATE`, `hold` as `BOOLEAN`, counts as `INT64`, the priority score and
//! the discount percentage as `DOUBLE`, text as `UTF8`, a cell plan.csv
//! leaves empty as a null. The bytes depend on the plan alone: fixed writer
//! properties, a `created_by` without a date, rows in the plan's order, row
//! groups of a fixed size (docs/output.md, "Parquet").

use super::PlanEntry;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType};
use parquet::data_type::{Int32Type, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use rust_decimal::Decimal;
use std::io;

/// Rows per row group of the files written.
pub const ROWS_PER_GROUP: usize = 100_000;

/// The scale of every money column: the most minor units a currency has
/// ([`crate::money::minor_units`]: 3 for the dinars and rials).
pub const MONEY_SCALE: u32 = 3;

/// The precision of every money column: any sum of a ledger's amounts fits
/// (docs/ledger.md, "Supported range of money").
const MONEY_PRECISION: u32 = 28;

/// The bytes of a money value: the 96-bit two's-complement unscaled value.
const MONEY_BYTES: usize = 12;

/// The values of one column, non-null ones only, and the definition level
/// of each row (1 = a value, 0 = a null) for an optional column.
enum Values {
    Text(Vec<ByteArray>),
    Money(Vec<FixedLenByteArray>),
    Date(Vec<i32>),
    Int(Vec<i64>),
    Double(Vec<f64>),
    Bool(Vec<bool>),
}

struct Column {
    name: &'static str,
    /// `None`: a required column.
    defs: Option<Vec<i16>>,
    values: Values,
}

/// The columns of one row group, built row by row through the getters.
struct Columns<'a, T> {
    rows: &'a [T],
    cols: Vec<Column>,
    error: Option<io::Error>,
}

impl<'a, T> Columns<'a, T> {
    fn new(rows: &'a [T]) -> Self {
        Columns { rows, cols: Vec::new(), error: None }
    }

    fn push(&mut self, name: &'static str, defs: Option<Vec<i16>>, values: Values) {
        self.cols.push(Column { name, defs, values });
    }

    /// A text column; `f` writes a row's text into the buffer and says
    /// whether it has one (`false`: a null). `required`: never null.
    fn text(&mut self, name: &'static str, required: bool, f: impl Fn(&T, &mut String) -> bool) {
        let (mut values, mut defs, mut s) = (Vec::with_capacity(self.rows.len()), Vec::new(), String::new());
        for r in self.rows {
            s.clear();
            let present = f(r, &mut s) || required;
            if present {
                values.push(ByteArray::from(s.as_bytes().to_vec()));
            }
            defs.push(i16::from(present));
        }
        self.push(name, (!required).then_some(defs), Values::Text(values));
    }

    /// A money column: a row's amount and its currency's minor units, or
    /// `None` for a null. Rounded to the minor units as plan.csv writes it,
    /// then held exactly at [`MONEY_SCALE`].
    fn money(&mut self, name: &'static str, required: bool, f: impl Fn(&T) -> Option<(Decimal, u32)>) {
        let (mut values, mut defs) = (Vec::with_capacity(self.rows.len()), Vec::new());
        for r in self.rows {
            let v = f(r);
            if let Some((d, units)) = v {
                match money_bytes(d, units) {
                    Some(b) => values.push(FixedLenByteArray::from(b.to_vec())),
                    None => {
                        self.error.get_or_insert_with(|| {
                            io::Error::other(format!(
                                "`{name}` {d} does not fit DECIMAL({MONEY_PRECISION},{MONEY_SCALE})"
                            ))
                        });
                        values.push(FixedLenByteArray::from(vec![0; MONEY_BYTES]));
                    }
                }
            }
            defs.push(i16::from(v.is_some() || required));
        }
        self.push(name, (!required).then_some(defs), Values::Money(values));
    }

    /// The values `f` gives over the rows (nulls left out) and each row's
    /// definition level (1 present, 0 null).
    fn optional<V>(&self, f: impl Fn(&T) -> Option<V>) -> (Vec<V>, Vec<i16>) {
        let (mut values, mut defs) = (Vec::new(), Vec::with_capacity(self.rows.len()));
        for r in self.rows {
            let v = f(r);
            defs.push(i16::from(v.is_some()));
            values.extend(v);
        }
        (values, defs)
    }

    fn date(&mut self, name: &'static str, f: impl Fn(&T) -> Option<chrono::NaiveDate>) {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let (values, defs) = self.optional(|r| f(r).map(|d| (d - epoch).num_days() as i32));
        self.push(name, Some(defs), Values::Date(values));
    }

    fn int(&mut self, name: &'static str, required: bool, f: impl Fn(&T) -> Option<i64>) {
        let (values, defs) = self.optional(f);
        self.push(name, (!required).then_some(defs), Values::Int(values));
    }

    fn double(&mut self, name: &'static str, required: bool, f: impl Fn(&T) -> Option<f64>) {
        let (values, defs) = self.optional(f);
        self.push(name, (!required).then_some(defs), Values::Double(values));
    }

    fn bool(&mut self, name: &'static str, f: impl Fn(&T) -> bool) {
        let values = self.rows.iter().map(f).collect();
        self.push(name, None, Values::Bool(values));
    }
}

/// A money value rounded to `units` decimals, as [`MONEY_BYTES`] big-endian
/// bytes of its unscaled value at [`MONEY_SCALE`]; `None` when it does not
/// fit the precision.
fn money_bytes(d: Decimal, units: u32) -> Option<[u8; MONEY_BYTES]> {
    let mut d = crate::money::round(d, units.min(MONEY_SCALE));
    d.rescale(MONEY_SCALE);
    if d.scale() != MONEY_SCALE {
        return None;
    }
    let unscaled = d.mantissa();
    if unscaled.unsigned_abs() >= 10u128.pow(MONEY_PRECISION) {
        return None;
    }
    let wide = unscaled.to_be_bytes();
    let mut out = [0; MONEY_BYTES];
    out.copy_from_slice(&wide[16 - MONEY_BYTES..]);
    Some(out)
}

/// The schema line of a column.
fn schema_line(c: &Column) -> String {
    let repetition = if c.defs.is_some() { "OPTIONAL" } else { "REQUIRED" };
    let (ty, logical) = match c.values {
        Values::Text(_) => ("BYTE_ARRAY".to_string(), " (UTF8)".to_string()),
        Values::Money(_) => {
            (format!("FIXED_LEN_BYTE_ARRAY ({MONEY_BYTES})"), format!(" (DECIMAL({MONEY_PRECISION},{MONEY_SCALE}))"))
        }
        Values::Date(_) => ("INT32".to_string(), " (DATE)".to_string()),
        Values::Int(_) => ("INT64".to_string(), String::new()),
        Values::Double(_) => ("DOUBLE".to_string(), String::new()),
        Values::Bool(_) => ("BOOLEAN".to_string(), String::new()),
    };
    format!("  {repetition} {ty} {}{logical};\n", c.name)
}

/// The fixed writer properties: the same bytes for the same rows, whatever
/// the machine, the thread count or the day.
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
        .set_created_by(format!("recoup {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Write `rows` as a Parquet file with the columns `build` makes of a row
/// group's rows.
fn write_table<T>(w: &mut dyn io::Write, rows: &[T], build: impl Fn(&mut Columns<'_, T>)) -> io::Result<()> {
    let to_io = |e: parquet::errors::ParquetError| io::Error::other(e.to_string());
    let schema_of = |cols: &[Column]| -> io::Result<_> {
        let mut message = String::from("message schema {\n");
        for c in cols {
            message.push_str(&schema_line(c));
        }
        message.push('}');
        parquet::schema::parser::parse_message_type(&message).map_err(to_io).map(std::sync::Arc::new)
    };
    // The schema, from the columns of no rows (an empty plan has one too).
    let mut empty = Columns::new(&rows[..0]);
    build(&mut empty);
    let schema = schema_of(&empty.cols)?;
    let mut writer =
        parquet::file::writer::SerializedFileWriter::new(Vec::new(), schema, properties().into()).map_err(to_io)?;
    for chunk in rows.chunks(ROWS_PER_GROUP) {
        let mut cols = Columns::new(chunk);
        build(&mut cols);
        if let Some(e) = cols.error {
            return Err(e);
        }
        let mut group = writer.next_row_group().map_err(to_io)?;
        for c in &cols.cols {
            let Some(mut col) = group.next_column().map_err(to_io)? else { break };
            let defs = c.defs.as_deref();
            match &c.values {
                Values::Text(v) => col.typed::<ByteArrayType>().write_batch(v, defs, None),
                Values::Money(v) => col.typed::<FixedLenByteArrayType>().write_batch(v, defs, None),
                Values::Date(v) => col.typed::<Int32Type>().write_batch(v, defs, None),
                Values::Int(v) => col.typed::<Int64Type>().write_batch(v, defs, None),
                Values::Double(v) => col.typed::<DoubleType>().write_batch(v, defs, None),
                Values::Bool(v) => col.typed::<BoolType>().write_batch(v, defs, None),
            }
            .map_err(to_io)?;
            col.close().map_err(to_io)?;
        }
        group.close().map_err(to_io)?;
    }
    let bytes = writer.into_inner().map_err(to_io)?;
    w.write_all(&bytes)
}

fn units(e: &PlanEntry) -> u32 {
    crate::money::minor_units(&e.action.currency)
}

fn to_f64(d: Decimal) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64()
}

/// `invoice_ids` as plan.csv writes them: joined with `;`.
fn invoice_ids(e: &PlanEntry, s: &mut String) -> bool {
    for (k, id) in e.action.invoice_ids.iter().enumerate() {
        if k > 0 {
            s.push(';');
        }
        s.push_str(id);
    }
    true
}

/// `Some` text into `s`.
fn put(s: &mut String, v: Option<&str>) -> bool {
    v.map(|v| s.push_str(v)).is_some()
}

/// plan.parquet: plan.csv's columns, in its order, `message_id` always
/// there (null for an action sent in a message of its own).
pub fn plan_parquet(w: &mut dyn io::Write, entries: &[PlanEntry]) -> io::Result<()> {
    write_table(w, entries, |c| {
        c.text("action_id", true, |e, s| put(s, Some(&e.action_id)));
        c.text("customer_id", true, |e, s| put(s, Some(&e.action.customer_id)));
        c.text("currency", true, |e, s| put(s, Some(&e.action.currency)));
        c.text("invoice_ids", true, invoice_ids);
        c.text("action", true, |e, s| put(s, Some(e.action.action.as_str())));
        c.text("channel", false, |e, s| put(s, e.action.channel.map(|c| c.as_str())));
        c.text("template", false, |e, s| put(s, e.action.template.as_deref()));
        c.text("rule_id", true, |e, s| put(s, Some(&e.action.rule_id)));
        c.text("rule_kind", true, |e, s| put(s, Some(e.action.rule_kind.as_str())));
        c.text("step", false, |e, s| put(s, e.action.step.as_deref()));
        c.text("strategy", false, |e, s| put(s, e.action.strategy.as_deref()));
        c.money("amount_due", true, |e| Some((e.action.amount_due, units(e))));
        c.money("fee", true, |e| Some((e.action.fee, units(e))));
        c.money("compensation", true, |e| Some((e.action.compensation, units(e))));
        c.money("interest", true, |e| Some((e.action.interest, units(e))));
        c.double("discount_pct", false, |e| e.action.discount_pct.and_then(to_f64));
        c.money("discount", true, |e| Some((e.action.discount, units(e))));
        c.money("discount_cost", true, |e| Some((e.action.discount_cost, units(e))));
        c.date("pay_by", |e| e.action.pay_by);
        c.int("instalments", false, |e| e.action.instalments.map(i64::from));
        c.money("instalment_amount", false, |e| e.action.instalment_amount.map(|d| (d, units(e))));
        c.money("old_limit", false, |e| e.action.old_limit.map(|d| (d, units(e))));
        c.money("new_limit", false, |e| e.action.new_limit.map(|d| (d, units(e))));
        c.date("review_on", |e| e.action.review_on);
        c.bool("hold", |e| e.action.hold);
        c.money("cost", true, |e| Some((e.action.cost, units(e))));
        c.double("priority", true, |e| Some(e.action.priority));
        c.text("owner", false, |e, s| put(s, e.action.owner.as_deref()));
        c.text("reason", true, |e, s| put(s, Some(&e.action.reason)));
        c.text("arm", true, |e, s| put(s, Some(e.action.arm.as_str())));
        c.text("undeliverable", false, |e, s| put(s, e.action.undeliverable.as_deref()));
        c.text("message_id", false, |e, s| put(s, e.action.message_id.as_deref()));
    })
}

/// worklist.parquet: worklist.csv's columns and rows, in its order.
pub fn worklist_parquet(w: &mut dyn io::Write, tasks: &[(&PlanEntry, u64)]) -> io::Result<()> {
    write_table(w, tasks, |c| {
        c.text("owner", true, |(e, _), s| put(s, Some(e.action.owner.as_deref().unwrap_or("(unassigned)"))));
        c.int("rank", true, |(_, rank)| i64::try_from(*rank).ok());
        c.double("priority", true, |(e, _)| Some(e.action.priority));
        c.text("customer_id", true, |(e, _), s| put(s, Some(&e.action.customer_id)));
        c.text("action", true, |(e, _), s| put(s, Some(e.action.action.as_str())));
        c.text("rule_id", true, |(e, _), s| put(s, Some(&e.action.rule_id)));
        c.text("currency", true, |(e, _), s| put(s, Some(&e.action.currency)));
        c.money("amount_due", true, |(e, _)| Some((e.action.amount_due, units(e))));
        c.text("invoice_ids", true, |(e, _), s| invoice_ids(e, s));
        c.text("reason", true, |(e, _), s| put(s, Some(&e.action.reason)));
        c.text("action_id", true, |(e, _), s| put(s, Some(&e.action_id)));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact_at_three_decimals() {
        let v = |d: &str, units| {
            let b = money_bytes(d.parse().unwrap(), units).unwrap();
            let mut wide = [if b[0] & 0x80 != 0 { 0xff } else { 0 }; 16];
            wide[4..].copy_from_slice(&b);
            i128::from_be_bytes(wide)
        };
        assert_eq!(v("210.00", 2), 210_000);
        assert_eq!(v("-0.005", 2), -10);
        assert_eq!(v("12.3456", 3), 12_346);
        assert_eq!(v("1200", 0), 1_200_000);
        assert_eq!(v("0.5", 0), 1_000);
        assert_eq!(v("999999999999.99", 2), 999_999_999_999_990);
        assert!(money_bytes("79228162514264337593543950.335".parse().unwrap(), 3).is_none());
    }
}
