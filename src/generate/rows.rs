//! The rows of one chunk of customers, as the simulation leaves them and
//! before ids are numbered: references between rows are indexes local to the
//! chunk, money is integer cents, dates are day numbers.

use super::calendar::Day;
use super::customer::{Country, Segment, Terms};
use super::ladder::Step;

/// Money in minor units (cents): exact, and written as a two-decimal amount.
pub type Cents = i64;

/// A customer as written to `customers.csv`.
pub struct CustomerRow {
    /// 0-based customer index; the id is `C` + (index + 1).
    pub index: u64,
    pub name: String,
    pub segment: Segment,
    pub country: &'static Country,
    pub terms: &'static Terms,
    pub credit_limit: Cents,
    pub credit_score: Option<u16>,
    pub owner: u32,
    pub phone: Option<u32>,
    pub channel: Option<&'static str>,
    pub do_not_contact: bool,
    pub on_hold: bool,
    pub opened_on: Day,
}

/// Invoice status at the as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Paid,
    Disputed,
    WrittenOff,
}

impl Status {
    /// The word written in `invoices.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Paid => "paid",
            Status::Disputed => "disputed",
            Status::WrittenOff => "written_off",
        }
    }
}

/// An invoice; `customer` is the 0-based customer index.
pub struct InvoiceRow {
    pub customer: u64,
    pub currency: &'static str,
    pub issue: Day,
    pub due: Day,
    pub amount: Cents,
    pub open: Cents,
    pub status: Status,
    /// Day raised and reason, shown only while the invoice is disputed.
    pub dispute: Option<(Day, &'static str)>,
}

/// A payment; `invoice` is chunk-local, `None` for unapplied cash.
pub struct PaymentRow {
    pub customer: u64,
    pub invoice: Option<u32>,
    pub paid_on: Day,
    pub amount: Cents,
}

/// A promise to pay an invoice, or one instalment of a chunk-local plan.
pub struct PromiseRow {
    pub customer: u64,
    pub invoice: Option<u32>,
    pub made_on: Day,
    pub due_on: Day,
    pub amount: Cents,
    pub plan: Option<u32>,
}

/// One dunning step an earlier run took on an invoice.
pub struct ActionRow {
    pub customer: u64,
    /// Chunk-local invoice, `None` for account-level actions (reviews).
    pub invoice: Option<u32>,
    pub step: &'static Step,
    pub decided_on: Day,
    pub executed_on: Option<Day>,
    pub outcome: Option<&'static str>,
}

/// Everything simulated for a contiguous range of customers.
#[derive(Default)]
pub struct Chunk {
    pub customers: Vec<CustomerRow>,
    pub invoices: Vec<InvoiceRow>,
    pub payments: Vec<PaymentRow>,
    pub promises: Vec<PromiseRow>,
    pub actions: Vec<ActionRow>,
    /// Payment plans started in this chunk.
    pub plans: u32,
}
