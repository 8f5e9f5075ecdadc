//! The accounts-receivable ledger: typed rows of the five CSV files, the
//! indexes that group them by customer, and the load report that accounts for
//! every row read. Loading lives in [`load`], cell decoding in [`decode`].

pub mod acts;
pub mod decode;
pub mod inline;
mod kind;
pub mod load;
pub mod parquet;
pub mod postgres;
mod problem;
mod rule_id;
mod stream;

pub use acts::{Act, Acts};
pub use decode::Terms;
pub use kind::{ActionKind, TooManyKinds, is_kind_name};
pub use load::{LoadError, LoadOptions, load};
pub use problem::{FileKind, LedgerFormat, Problem, ProblemKind, Severity};
pub use rule_id::RuleId;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Ids and short text: stored inline up to 24 bytes (no allocation per row).
pub type Text = compact_str::CompactString;

/// Index of a customer in [`Ledger::customers`].
pub type CustIx = u32;
/// Index of an invoice in [`Ledger::invoices`].
pub type InvIx = u32;

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }
        impl $name {
            /// The words accepted in the CSV file.
            pub const WORDS: &'static [&'static str] = &[$($word),+];
            const TABLE: &'static [(&'static str, $name)] = &[$(($word, $name::$variant)),+];
            /// The word written in CSV and shown to users.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
            /// Decode the word from a CSV cell. The exact words are
            /// compared one by one against constants (a length check, then a
            /// compare the compiler inlines); any other spelling (case,
            /// spaces) goes through [`decode::word`].
            #[inline]
            pub fn decode(b: &[u8]) -> Result<Self, decode::DecodeError> {
                $(if b == $word.as_bytes() { return Ok($name::$variant); })+
                decode::word(b, Self::TABLE, Self::WORDS)
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

word_enum!(
    /// Lifecycle status of an invoice.
    InvoiceStatus { Open = "open", Paid = "paid", Disputed = "disputed", WrittenOff = "written_off" }
);
word_enum!(
    /// What a row of `invoices.csv` is (its `document_type` column; empty or
    /// absent: an invoice).
    DocumentType { Invoice = "invoice", CreditNote = "credit_note" }
);
word_enum!(
    /// Risk class used for periodic credit reviews.
    RiskClass { Low = "low", Medium = "medium", High = "high" }
);
word_enum!(
    /// How a customer can be reached.
    Channel { Email = "email", Sms = "sms", Call = "call", Letter = "letter" }
);
word_enum!(
    /// Business (B2B) or consumer account; consumer accounts fall under
    /// consumer-protection guardrails such as US Regulation F.
    AccountType { Business = "business", Consumer = "consumer" }
);
word_enum!(
    /// What happened when an action was executed.
    Outcome {
        Pending = "pending",
        Sent = "sent",
        Delivered = "delivered",
        Bounced = "bounced",
        Answered = "answered",
        NoAnswer = "no_answer",
        Promise = "promise",
        Failed = "failed",
        Cancelled = "cancelled",
        /// The email was opened (a read receipt or tracking pixel).
        Opened = "opened",
        /// A call reached the right person and they talked (a right-party conversation).
        Conversation = "conversation",
        /// The letter came back undelivered.
        ReturnedMail = "returned_mail",
        /// The number called is not the customer's.
        WrongNumber = "wrong_number",
    }
);

impl Outcome {
    /// A failed contact attempt: the message was sent or the call made, and
    /// it did not reach the customer (`bounced`, `returned_mail`,
    /// `wrong_number`, `no_answer`). What agency referral rules count as
    /// "failed contacts" (docs/facts.md).
    pub fn is_failed_attempt(self) -> bool {
        matches!(self, Outcome::Bounced | Outcome::ReturnedMail | Outcome::WrongNumber | Outcome::NoAnswer)
    }

    /// The customer was reached: a call answered (`answered`,
    /// `conversation`, `promise`), or for a message, delivered or read.
    pub fn reached(self) -> bool {
        matches!(
            self,
            Outcome::Delivered | Outcome::Opened | Outcome::Answered | Outcome::Conversation | Outcome::Promise
        )
    }

    /// A call that reached the right person (`answered`, `conversation`,
    /// `promise`): the customer's last conversation.
    pub fn is_conversation(self) -> bool {
        matches!(self, Outcome::Answered | Outcome::Conversation | Outcome::Promise)
    }
}

word_enum!(
    /// Champion/challenger: the arm of the policy an action was planned under.
    Arm {
        /// The strategy the rules chose (every customer when the policy has no `[challenger]`).
        Champion = "champion",
        /// The `[challenger]` strategy.
        Challenger = "challenger",
    }
);

// `word_enum!` derives a fixed list; the default is written here.
#[allow(clippy::derivable_impls)]
impl Default for Arm {
    fn default() -> Self {
        Arm::Champion
    }
}

/// One row of `customers.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: Text,
    pub name: Text,
    pub segment: Text,
    pub country: Text,
    pub currency: Text,
    /// The credit limit; `None` when the cell is empty: no limit (not zero,
    /// which means no credit).
    pub credit_limit: Option<Decimal>,
    pub terms: Terms,
    pub credit_score: Option<f64>,
    pub risk_class: Option<RiskClass>,
    pub account_owner: Option<Text>,
    pub email: Option<Text>,
    pub phone: Option<Text>,
    pub preferred_channel: Option<Channel>,
    /// Postal address and the person to write to ([`Contact`]).
    pub contact: Contact,
    pub do_not_contact: bool,
    pub on_hold: bool,
    pub opened_on: Option<NaiveDate>,
    pub account_type: AccountType,
    /// The group this customer belongs to: the id of its parent customer,
    /// as written (`parent` column; groups are one level deep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Text>,
    /// The parent's index in [`Ledger::customers`], once the loader has
    /// resolved `parent` (`None` for a customer in no group).
    #[serde(skip)]
    pub group: Option<CustIx>,
    /// The sales representative who owns the relationship (`sales_rep`
    /// column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_rep: Option<Text>,
}

/// The optional contact columns of `customers.csv` beside `email` and
/// `phone`: a letter's address block and the language of messages. Each is
/// stored only when the cell is not empty.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Contact {
    pub contact_name: Option<Text>,
    pub address_line1: Option<Text>,
    pub address_line2: Option<Text>,
    pub postcode: Option<Text>,
    pub city: Option<Text>,
    /// Language of messages (`en`, `de`, `fr`, ...), as given (matched ignoring case).
    pub language: Option<Text>,
}

/// One row of `invoices.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    pub id: Text,
    pub customer: CustIx,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub amount: Decimal,
    pub open_amount: Decimal,
    pub status: InvoiceStatus,
    pub disputed_since: Option<NaiveDate>,
    pub dispute_reason: Option<Text>,
}

impl Invoice {
    /// Open and collectable: not paid, not written off, something left to pay.
    pub fn is_open(&self) -> bool {
        matches!(self.status, InvoiceStatus::Open | InvoiceStatus::Disputed) && self.open_amount > Decimal::ZERO
    }
    /// Under dispute (status `disputed`, or a `disputed_since` date).
    pub fn is_disputed(&self) -> bool {
        self.status == InvoiceStatus::Disputed || self.disputed_since.is_some()
    }
}

/// A credit note: a row of `invoices.csv` whose `document_type` is
/// `credit_note`. Its amounts are positive (the credit given, and the part of
/// it not yet used); the customer's open credit notes offset what it owes
/// (the net position, docs/ledger.md "Credit notes and cash on account").
#[derive(Debug, Clone, Serialize)]
pub struct CreditNote {
    pub id: Text,
    pub customer: CustIx,
    pub issue_date: NaiveDate,
    pub amount: Decimal,
    /// The part of the credit not yet used (0 when status is `paid`).
    pub open_amount: Decimal,
    pub status: InvoiceStatus,
}

impl CreditNote {
    /// Credit the customer can still use on `as_of`: issued by then, status
    /// `open` (or `disputed`), something left.
    pub fn open_on(&self, as_of: NaiveDate) -> Decimal {
        let open = matches!(self.status, InvoiceStatus::Open | InvoiceStatus::Disputed) && self.issue_date <= as_of;
        if open { self.open_amount.max(Decimal::ZERO) } else { Decimal::ZERO }
    }
}

/// One row of `payments.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    pub id: Text,
    pub customer: CustIx,
    pub invoice: Option<InvIx>,
    pub paid_on: NaiveDate,
    pub amount: Decimal,
}

/// One row of `promises.csv`: a promise to pay or an instalment of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct Promise {
    pub id: Text,
    pub customer: CustIx,
    pub invoice: Option<InvIx>,
    pub made_on: NaiveDate,
    pub due_on: NaiveDate,
    pub amount: Decimal,
    pub plan_id: Option<Text>,
}

/// One row of `actions.csv`: an action an earlier run decided, and its fate.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub id: Text,
    pub customer: CustIx,
    pub invoice: Option<InvIx>,
    /// The rule that decided it, with its symbol ([`RuleId`]: the engine
    /// matches it to a policy's rules by number).
    pub rule_id: RuleId,
    pub action: ActionKind,
    pub channel: Option<Channel>,
    pub decided_on: NaiveDate,
    pub executed_on: Option<NaiveDate>,
    pub outcome: Option<Outcome>,
    /// Champion/challenger arm, when actions.csv has an `arm` column.
    pub arm: Option<Arm>,
}

impl ActionRecord {
    /// Executed (has an execution date) and not failed or cancelled.
    pub fn was_executed(&self) -> bool {
        self.executed_on.is_some()
            && !matches!(self.outcome, Some(Outcome::Failed | Outcome::Cancelled | Outcome::Pending))
    }
}

/// What a customer has to its credit on a day: cash paid on account and not
/// yet applied to an invoice, and the unused part of its open credit notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Credit {
    pub unapplied_cash: Decimal,
    pub credit_notes: Decimal,
}

impl Credit {
    /// Both together: what offsets the customer's open invoices.
    pub fn total(&self) -> Decimal {
        self.unapplied_cash + self.credit_notes
    }
}

/// Rows of one kind grouped by customer: `rows(c)` are the indexes of
/// customer `c`'s rows, in file order (a compressed sparse row index).
///
/// As built, the groups are packed (`offsets[c]..offsets[c + 1]`). A copy
/// made [`growable`](ByCustomer::growable) keeps an end and a capacity per
/// group instead, so rows can be appended one at a time ([`push`](ByCustomer::push))
/// without rebuilding the index: a full group moves to the end of `rows` with
/// twice the room (amortised O(1) per row). The simulation appends this way.
///
/// [`Grouped`] is the same index holding values of any other type in place of
/// the row indexes ([`acts::Acts`]: compact copies of the action rows).
pub type ByCustomer = Grouped<u32>;

/// Cache lines of a customer's compact action rows [`Ledger::prefetch`]
/// asks for (8: 21 rows).
const PREFETCH_ACTS: usize = 8;

/// Values grouped by customer (see [`ByCustomer`], the row indexes).
#[derive(Debug, Clone)]
pub struct Grouped<T> {
    offsets: Vec<u32>,
    /// Growable only: the end of each group (empty when packed).
    ends: Vec<u32>,
    /// Growable only: the room of each group (its end may grow up to this).
    limits: Vec<u32>,
    rows: Vec<T>,
}

impl<T> Default for Grouped<T> {
    fn default() -> Self {
        Grouped { offsets: Vec::new(), ends: Vec::new(), limits: Vec::new(), rows: Vec::new() }
    }
}

impl ByCustomer {
    /// Group `n` rows by the customer each belongs to (counting sort, O(n)).
    pub fn build(customers: usize, n: usize, customer_of: impl Fn(usize) -> CustIx) -> Self {
        let mut offsets = vec![0u32; customers + 1];
        let mut grouped = true;
        let mut last = 0;
        for i in 0..n {
            let c = customer_of(i);
            grouped &= c >= last;
            last = c;
            offsets[c as usize + 1] += 1;
        }
        for c in 0..customers {
            offsets[c + 1] += offsets[c];
        }
        if grouped {
            // Rows already in customer order (files exported per customer):
            // each group is a run of consecutive rows.
            return ByCustomer { offsets, ends: Vec::new(), limits: Vec::new(), rows: (0..n as u32).collect() };
        }
        let mut next = offsets.clone();
        let mut rows = vec![0u32; n];
        for i in 0..n {
            let c = customer_of(i) as usize;
            rows[next[c] as usize] = i as u32;
            next[c] += 1;
        }
        ByCustomer { offsets, ends: Vec::new(), limits: Vec::new(), rows }
    }

    /// The packed index of the same groups holding `value(row)` in place of
    /// each row index, in the same order.
    pub fn map<T>(&self, value: impl Fn(u32) -> T) -> Grouped<T> {
        Grouped {
            offsets: self.offsets.clone(),
            ends: self.ends.clone(),
            limits: self.limits.clone(),
            rows: self.rows.iter().map(|&r| value(r)).collect(),
        }
    }
}

impl<T: Clone> Grouped<T> {
    /// The row indexes of customer `c` (always inlined: a plain `#[inline]`
    /// was not taken, and it is called for every customer on every
    /// evaluation).
    #[inline(always)]
    pub fn rows(&self, c: CustIx) -> &[T] {
        let c = c as usize;
        if self.ends.is_empty() {
            let r: Range<usize> = self.offsets[c] as usize..self.offsets[c + 1] as usize;
            return &self.rows[r];
        }
        // Growable: a group never pushed to is empty.
        match (self.offsets.get(c), self.ends.get(c)) {
            (Some(&s), Some(&e)) => &self.rows[s as usize..e as usize],
            _ => &[],
        }
    }

    /// Number of groups.
    pub fn groups(&self) -> usize {
        if self.ends.is_empty() { self.offsets.len().saturating_sub(1) } else { self.ends.len() }
    }

    /// A copy that rows can be appended to with [`push`](ByCustomer::push).
    pub fn growable(&self) -> Self {
        if !self.ends.is_empty() {
            return self.clone();
        }
        let n = self.groups();
        Grouped {
            offsets: self.offsets[..n].to_vec(),
            ends: self.offsets[1..].to_vec(),
            limits: self.offsets[1..].to_vec(),
            rows: self.rows.clone(),
        }
    }

    /// Make `self` equal to `of.growable()` again, reusing its own
    /// allocations (the simulation puts a run's ledger back this way
    /// instead of cloning the loaded one for every run).
    pub fn reset_growable(&mut self, of: &Grouped<T>) {
        if !of.ends.is_empty() {
            self.offsets.clone_from(&of.offsets);
            self.ends.clone_from(&of.ends);
            self.limits.clone_from(&of.limits);
            self.rows.clone_from(&of.rows);
            return;
        }
        let (n, after) = (of.groups(), of.offsets.get(1..).unwrap_or_default());
        self.offsets.clear();
        self.offsets.extend_from_slice(&of.offsets[..n]);
        self.ends.clear();
        self.ends.extend_from_slice(after);
        self.limits.clear();
        self.limits.extend_from_slice(after);
        self.rows.clone_from(&of.rows);
    }

    /// Keep the first `n` groups only (growable copies; a packed index is made growable first).
    pub fn keep_groups(&mut self, n: usize) {
        if self.ends.is_empty() {
            *self = self.growable();
        }
        self.offsets.truncate(n);
        self.ends.truncate(n);
        self.limits.truncate(n);
    }

    /// Append row `row` to group `c` (growable copies only; a packed index
    /// is made growable first). Groups past the last are created empty.
    pub fn push(&mut self, c: CustIx, row: T) {
        if self.ends.is_empty() {
            *self = self.growable();
        }
        let c = c as usize;
        while self.ends.len() <= c {
            let at = self.rows.len() as u32;
            self.offsets.push(at);
            self.ends.push(at);
            self.limits.push(at);
        }
        if self.ends[c] == self.limits[c] {
            let (start, end) = (self.offsets[c] as usize, self.ends[c] as usize);
            let len = end - start;
            let room = (2 * len).max(4);
            let at = self.rows.len();
            self.rows.extend_from_within(start..end);
            // The room past the end is never read: filled with the new row.
            self.rows.resize(at + room, row.clone());
            self.offsets[c] = at as u32;
            self.ends[c] = (at + len) as u32;
            self.limits[c] = (at + room) as u32;
        }
        let end = self.ends[c] as usize;
        self.rows[end] = row;
        self.ends[c] += 1;
    }
}

/// Rows read, loaded and rejected for one file; `read == loaded + rejected`.
/// The file's physical lines reconcile with its rows: `lines == 1 (the
/// header) + read + blank_lines + quoted_line_breaks` (summary.json keeps
/// the rows only; manifest.json has the lines too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounts {
    pub read: u64,
    pub loaded: u64,
    pub rejected: u64,
    /// Physical lines of the file, the header included.
    #[serde(skip)]
    pub lines: u64,
    /// Empty lines between rows (skipped).
    #[serde(skip)]
    pub blank_lines: u64,
    /// Line breaks inside quoted fields: each joins two lines into one row.
    #[serde(skip)]
    pub quoted_line_breaks: u64,
}

/// What loading saw: counts per file, warnings and rejected rows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub customers: FileCounts,
    /// Every row of invoices.csv, credit notes included.
    pub invoices: FileCounts,
    pub payments: FileCounts,
    pub promises: FileCounts,
    pub actions: FileCounts,
    /// Problems that did not stop a row from loading.
    pub warnings: Vec<Problem>,
    /// Problems that rejected a row (only with `--reject-bad-rows`).
    pub rejects: Vec<Problem>,
    /// SHA-256 of each input file, hex, by file name.
    pub hashes: Vec<(String, String)>,
    /// The first and last dates of the rows read (invoices' issue dates,
    /// payments' dates, actions' decision dates), for the as-of warnings.
    #[serde(skip)]
    pub dates: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    /// CSV or Parquet files: how problems name their files and places.
    #[serde(skip)]
    pub format: LedgerFormat,
    /// A ledger read from PostgreSQL: its problems' tables and primary keys
    /// (set by [`postgres::load_postgres`]; `None` for a folder).
    #[serde(skip)]
    pub places: Option<std::sync::Arc<postgres::Places>>,
}

impl LoadReport {
    /// Counts of every file, in a fixed order.
    pub fn files(&self) -> [(FileKind, FileCounts); 5] {
        [
            (FileKind::Customers, self.customers),
            (FileKind::Invoices, self.invoices),
            (FileKind::Payments, self.payments),
            (FileKind::Promises, self.promises),
            (FileKind::Actions, self.actions),
        ]
    }
}

/// The per-customer indexes of the history files (the loader builds them
/// while it checks for overpayments; [`Ledger::index`] rebuilds them).
pub(crate) struct Indexes {
    pub payments_by_customer: ByCustomer,
    pub promises_by_customer: ByCustomer,
    pub payments_by_invoice: ByCustomer,
    pub acts: Acts,
}

impl Indexes {
    pub(crate) fn build(nc: usize, ni: usize, pay: &[Payment], pro: &[Promise], act: &[ActionRecord]) -> Indexes {
        let ((by_pay, by_pro), (acts, by_pay_inv)) = rayon::join(
            || {
                rayon::join(
                    || ByCustomer::build(nc, pay.len(), |i| pay[i].customer),
                    || ByCustomer::build(nc, pro.len(), |i| pro[i].customer),
                )
            },
            || {
                rayon::join(
                    || acts::build(&ByCustomer::build(nc, act.len(), |i| act[i].customer), act),
                    // Unapplied payments go to a sentinel slot past the last invoice.
                    || ByCustomer::build(ni + 1, pay.len(), |i| pay[i].invoice.unwrap_or(ni as u32)),
                )
            },
        );
        Indexes { acts, payments_by_customer: by_pay, promises_by_customer: by_pro, payments_by_invoice: by_pay_inv }
    }
}

/// A loaded, validated ledger with its per-customer indexes.
#[derive(Debug, Default)]
pub struct Ledger {
    pub customers: Vec<Customer>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub promises: Vec<Promise>,
    pub actions: Vec<ActionRecord>,
    /// The credit notes of `invoices.csv` (rows with `document_type` `credit_note`).
    pub credit_notes: Vec<CreditNote>,
    /// The credit notes of each customer, in file order.
    pub credit_notes_by_customer: ByCustomer,
    pub invoices_by_customer: ByCustomer,
    pub payments_by_customer: ByCustomer,
    pub promises_by_customer: ByCustomer,
    /// Payment rows applied to each invoice, in file order.
    pub payments_by_invoice: ByCustomer,
    /// The action rows of each customer in file order, compact ([`acts`];
    /// [`Act::row`] is the full row's index in `actions`).
    pub acts: Acts,
    pub report: LoadReport,
    /// [`Ledger::currency_slots`], once asked for (the customers' currencies
    /// never change once loaded).
    pub currencies: std::sync::OnceLock<CurrencySlots>,
}

/// The customers' currency codes in code order and each customer's place
/// among them ([`Ledger::currency_slots`]).
#[derive(Debug, Default)]
pub struct CurrencySlots {
    codes: Vec<Text>,
    slot_of: Vec<usize>,
}

impl CurrencySlots {
    fn of(customers: &[Customer]) -> Self {
        let mut seen: Vec<&str> = Vec::new();
        let mut last = usize::MAX;
        let mut slot_of: Vec<usize> = customers
            .iter()
            .map(|c| {
                let code = c.currency.as_str();
                if seen.get(last).is_none_or(|&s| s != code) {
                    last = seen.iter().position(|&s| s == code).unwrap_or_else(|| {
                        seen.push(code);
                        seen.len() - 1
                    });
                }
                last
            })
            .collect();
        let mut order: Vec<usize> = (0..seen.len()).collect();
        order.sort_by_key(|&k| seen[k]);
        let mut rank = vec![0; seen.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k] = r;
        }
        for s in &mut slot_of {
            *s = rank[*s];
        }
        CurrencySlots { codes: order.iter().map(|&k| Text::from(seen[k])).collect(), slot_of }
    }
}

impl Ledger {
    /// Ask for customer `c`'s row and the start of each group of its rows
    /// ahead of use ([`crate::prefetch`]); `deep` (once those are in): the
    /// rest of its compact action rows, up to [`PREFETCH_ACTS`] cache lines.
    #[inline]
    pub(crate) fn prefetch(&self, c: CustIx, deep: bool) {
        let acts = self.acts.rows(c);
        if deep {
            let p = acts.as_ptr().cast::<u8>();
            let bytes = std::mem::size_of_val(acts).min(PREFETCH_ACTS * 64);
            (64..bytes).step_by(64).for_each(|off| crate::prefetch::line(p.wrapping_add(off)));
            return;
        }
        if let Some(cust) = self.customers.get(c as usize) {
            crate::prefetch::all(cust);
        }
        for g in [&self.invoices_by_customer, &self.payments_by_customer, &self.promises_by_customer] {
            crate::prefetch::line(g.rows(c).as_ptr());
        }
        crate::prefetch::line(acts.as_ptr());
    }

    /// Build the per-customer indexes from the row vectors.
    pub fn index(&mut self) {
        let (nc, inv) = (self.customers.len(), &self.invoices);
        self.invoices_by_customer = ByCustomer::build(nc, inv.len(), |i| inv[i].customer);
        let cn = &self.credit_notes;
        self.credit_notes_by_customer = ByCustomer::build(nc, cn.len(), |i| cn[i].customer);
        let ix = Indexes::build(nc, inv.len(), &self.payments, &self.promises, &self.actions);
        self.payments_by_customer = ix.payments_by_customer;
        self.promises_by_customer = ix.promises_by_customer;
        self.payments_by_invoice = ix.payments_by_invoice;
        self.acts = ix.acts;
    }

    /// Make the per-customer indexes appendable (see [`ByCustomer::push`]):
    /// the `push_*` methods then keep them up to date row by row, with no
    /// [`index`](Ledger::index) of the whole ledger.
    pub fn make_growable(&mut self) {
        self.invoices_by_customer = self.invoices_by_customer.growable();
        self.payments_by_customer = self.payments_by_customer.growable();
        self.promises_by_customer = self.promises_by_customer.growable();
        self.acts = self.acts.growable();
        // Drop the sentinel slot of unapplied payments: new invoices take its place.
        let mut by_inv = self.payments_by_invoice.growable();
        by_inv.keep_groups(self.invoices.len());
        self.payments_by_invoice = by_inv;
    }

    /// The customers' currencies in code order, and each customer's place
    /// among them. Worked out once per ledger (a run asks for them twice, a
    /// pass over every customer each time); a book has a handful of
    /// currencies and runs of customers in one: the previous customer's code
    /// is tried first, then the few seen.
    pub fn currency_slots(&self) -> (Vec<&str>, &[usize]) {
        let memo = self.currencies.get_or_init(|| CurrencySlots::of(&self.customers));
        (memo.codes.iter().map(|c| c.as_str()).collect(), &memo.slot_of)
    }

    /// The customers' currencies in code order, each with its number of
    /// customers.
    pub fn currency_counts(&self) -> Vec<(&str, usize)> {
        let (codes, slot_of) = self.currency_slots();
        let mut counts = vec![0; codes.len()];
        for &k in slot_of {
            counts[k] += 1;
        }
        codes.into_iter().zip(counts).collect()
    }

    /// Call `f` with every payment that names no invoice (cash on account),
    /// in file order: read from the last slot of `payments_by_invoice` when
    /// the index has it (a loaded ledger), else found by reading every payment.
    pub fn for_each_unapplied(&self, mut f: impl FnMut(&Payment)) {
        let ni = self.invoices.len();
        if self.payments_by_invoice.groups() == ni + 1 {
            for &p in self.payments_by_invoice.rows(ni as u32) {
                f(&self.payments[p as usize]);
            }
        } else {
            self.payments.iter().filter(|p| p.invoice.is_none()).for_each(f);
        }
    }

    /// Append an invoice and index it; returns its index.
    pub fn push_invoice(&mut self, inv: Invoice) -> InvIx {
        let i = self.invoices.len() as InvIx;
        self.invoices_by_customer.push(inv.customer, i);
        self.invoices.push(inv);
        i
    }

    /// Append a payment and index it (by customer and by invoice).
    pub fn push_payment(&mut self, p: Payment) {
        let i = self.payments.len() as u32;
        self.payments_by_customer.push(p.customer, i);
        if let Some(inv) = p.invoice {
            self.payments_by_invoice.push(inv, i);
        }
        self.payments.push(p);
    }

    /// Append an action record and index it.
    pub fn push_action(&mut self, a: ActionRecord) {
        let i = self.actions.len() as u32;
        self.acts.push(a.customer, Act::of(i, &a));
        self.actions.push(a);
    }

    /// Customer `c`'s credit on `as_of`: its cash on account (payments with
    /// no invoice, dated by then) and its open credit notes.
    pub fn credit_of(&self, c: CustIx, as_of: NaiveDate) -> Credit {
        let unapplied_cash = self
            .payments_by_customer
            .rows(c)
            .iter()
            .map(|&p| &self.payments[p as usize])
            .filter(|p| p.invoice.is_none() && p.paid_on <= as_of)
            .map(|p| p.amount)
            .sum();
        Credit { unapplied_cash, credit_notes: self.credit_notes_of(c, as_of) }
    }

    /// The unused part of customer `c`'s open credit notes on `as_of`.
    #[inline]
    pub fn credit_notes_of(&self, c: CustIx, as_of: NaiveDate) -> Decimal {
        if (c as usize) < self.credit_notes_by_customer.groups() {
            self.credit_notes_by_customer.rows(c).iter().map(|&n| self.credit_notes[n as usize].open_on(as_of)).sum()
        } else {
            Decimal::ZERO
        }
    }

    /// Find a customer by id (linear; for the CLI, not the hot path).
    pub fn customer_ix(&self, id: &str) -> Option<CustIx> {
        self.customers.iter().position(|c| &*c.id == id).map(|i| i as CustIx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows in customer order take the shortcut; rows in any order are
    /// scattered; both give every customer its rows in file order.
    #[test]
    fn rows_by_customer_in_and_out_of_order() {
        for owners in [vec![0u32, 0, 1, 3, 3, 3], vec![3, 0, 1, 0, 3, 3], vec![], vec![2, 2]] {
            let ix = ByCustomer::build(4, owners.len(), |i| owners[i]);
            for c in 0..4u32 {
                let expected: Vec<u32> = (0..owners.len() as u32).filter(|&i| owners[i as usize] == c).collect();
                assert_eq!(ix.rows(c), &expected[..], "customer {c} of {owners:?}");
            }
        }
    }

    /// A growable copy rows were pushed to, reset from its packed or
    /// growable origin, is exactly that origin's growable copy again.
    #[test]
    fn reset_growable_undoes_every_push() {
        let owners = [3u32, 0, 1, 0, 3, 3];
        let packed = ByCustomer::build(4, owners.len(), |i| owners[i]);
        for of in [packed.clone(), packed.growable()] {
            let mut ix = of.growable();
            for (row, c) in [(6, 0), (7, 3), (8, 5), (9, 0), (10, 0), (11, 0)] {
                ix.push(c, row);
            }
            assert_ne!(format!("{ix:?}"), format!("{:?}", of.growable()));
            ix.reset_growable(&of);
            assert_eq!(format!("{ix:?}"), format!("{:?}", of.growable()));
        }
        let mut empty = packed.growable();
        empty.reset_growable(&ByCustomer::default());
        assert_eq!(empty.groups(), 0);
    }
}
