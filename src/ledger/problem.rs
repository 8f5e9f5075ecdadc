//! Problems found while loading a ledger: which file, line and column, the
//! value read, what was expected, and whether it rejects the row.

use serde::Serialize;
use std::fmt;

/// The five ledger files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Customers,
    Invoices,
    Payments,
    Promises,
    Actions,
}

impl FileKind {
    /// The file name inside the ledger folder.
    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Customers => "customers.csv",
            FileKind::Invoices => "invoices.csv",
            FileKind::Payments => "payments.csv",
            FileKind::Promises => "promises.csv",
            FileKind::Actions => "actions.csv",
        }
    }
}

/// The format of a ledger folder: CSV files (`customers.csv`, …) or Parquet
/// files of the same names and columns (`customers.parquet`, …; docs/ledger.md).
/// A problem's `line` is the line of a CSV file (the header is line 1); in a
/// Parquet file, whose rows have no lines, it is shown as the row number
/// (the first row is row 1: line − 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerFormat {
    #[default]
    Csv,
    Parquet,
}

impl LedgerFormat {
    /// The file of `kind` in a ledger folder of this format.
    pub fn file_name(self, kind: FileKind) -> &'static str {
        match self {
            LedgerFormat::Csv => kind.file_name(),
            LedgerFormat::Parquet => match kind {
                FileKind::Customers => "customers.parquet",
                FileKind::Invoices => "invoices.parquet",
                FileKind::Payments => "payments.parquet",
                FileKind::Promises => "promises.parquet",
                FileKind::Actions => "actions.parquet",
            },
        }
    }

    /// A place in a file as messages name it: `line 12` of a CSV file, `row 11` of a Parquet file.
    pub fn place(self, line: u64) -> String {
        match self {
            LedgerFormat::Csv => format!("line {line}"),
            LedgerFormat::Parquet => format!("row {}", line.saturating_sub(1)),
        }
    }

    /// The number users see for a problem's `line`: the line (CSV) or the row (Parquet).
    pub fn number(self, line: u64) -> u64 {
        match self {
            LedgerFormat::Csv => line,
            LedgerFormat::Parquet => line.saturating_sub(1),
        }
    }

    /// The format of the ledger whose input files are named `files` (a
    /// manifest's inputs): Parquet when one of them is a `.parquet` file.
    pub fn of_files<'a>(mut files: impl Iterator<Item = &'a str>) -> LedgerFormat {
        match files.any(|f| f.ends_with(".parquet")) {
            true => LedgerFormat::Parquet,
            false => LedgerFormat::Csv,
        }
    }
}

/// Whether a problem rejects its row or is only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// What is wrong, in a form tests can match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProblemKind {
    /// A cell that could not be decoded; `expected` says what would be accepted.
    BadValue { expected: String },
    /// An amount below zero (or zero where a positive amount is required).
    NotPositive,
    /// `open_amount` greater than `amount`.
    OpenExceedsAmount,
    /// `due_date` before `issue_date` (or `due_on` before `made_on`).
    DateOrder { other_column: String },
    /// The id was already used on an earlier line.
    DuplicateId { first_line: u64 },
    /// A reference to a customer that is not in `customers.csv`.
    UnknownCustomer,
    /// A reference to an invoice that is not in `invoices.csv`.
    UnknownInvoice,
    /// A reference to a row that was itself rejected.
    RejectedReference { file: FileKind, line: u64 },
    /// A row's invoice belongs to another customer.
    CustomerMismatch { invoice_customer: String },
    /// Invoice currency differs from its customer's currency.
    CurrencyMismatch { customer_currency: String },
    /// `status` is `paid` but `open_amount` is not zero.
    PaidWithOpenAmount,
    /// `status` is `open` with nothing left to pay (loaded; treated as paid).
    OpenWithZeroBalance,
    /// Payments applied to an invoice add up to more than its amount.
    Overpaid { paid: String, amount: String },
    /// A credit note marked disputed (a dispute is about an invoice).
    DisputedCreditNote,
    /// A reference to a credit note where an invoice is expected.
    CreditNoteReference,
    /// A column the loader does not know; ignored.
    UnknownColumn,
    /// A row with a different number of fields than the header.
    FieldCount { expected: usize, found: usize },
    /// A quoted field runs from this line to `last_line` over lines that
    /// look like rows of their own: an unbalanced quote swallowed them.
    SwallowedRows { last_line: u64 },
    /// A quoted field runs from this line to `last_line`, the only field
    /// of the file that spans lines (loaded; a warning).
    SpansLines { last_line: u64 },
    /// customers.csv has a header and no rows: the ledger is empty (a warning).
    NoCustomers,
    /// A customer whose `parent` is itself.
    ParentIsSelf,
    /// A customer whose `parent` is itself a member of a group (on line
    /// `parent_line`, with parent `grandparent`): groups are one level deep.
    NestedGroup { parent_line: u64, grandparent: String },
}

/// One problem with one row (or header) of a ledger file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub file: FileKind,
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// The column name, when the problem is about one cell.
    pub column: Option<String>,
    /// The offending value as read.
    pub value: String,
    #[serde(flatten)]
    pub kind: ProblemKind,
}

impl Problem {
    /// A short human description of the problem, without the location.
    pub fn message(&self) -> String {
        self.message_in(LedgerFormat::Csv)
    }

    /// [`Problem::message`] for a ledger of `format` (file names and places in its words).
    pub fn message_in(&self, format: LedgerFormat) -> String {
        let v = &self.value;
        let col = self.column.as_deref().unwrap_or("");
        match &self.kind {
            ProblemKind::BadValue { expected } if v.is_empty() => format!("`{col}` is empty; expected {expected}"),
            ProblemKind::BadValue { expected } => format!("`{col}` is `{v}`; expected {expected}"),
            ProblemKind::NotPositive => format!("`{col}` is `{v}`; amounts must be greater than zero"),
            ProblemKind::OpenExceedsAmount => format!("`open_amount` `{v}` is greater than `amount`"),
            ProblemKind::DateOrder { other_column } => format!("`{col}` `{v}` is before `{other_column}`"),
            ProblemKind::DuplicateId { first_line } => {
                format!("duplicate `{col}` `{v}`, first used on {}", format.place(*first_line))
            }
            ProblemKind::UnknownCustomer => {
                format!("unknown customer `{v}`: not in {}", format.file_name(FileKind::Customers))
            }
            ProblemKind::UnknownInvoice => {
                format!("unknown invoice `{v}`: not in {}", format.file_name(FileKind::Invoices))
            }
            ProblemKind::RejectedReference { file, line } => {
                format!("`{col}` `{v}` refers to a rejected row ({} {})", format.file_name(*file), format.place(*line))
            }
            ProblemKind::CustomerMismatch { invoice_customer } => {
                format!("invoice `{v}` belongs to customer `{invoice_customer}`, not this row's customer")
            }
            ProblemKind::CurrencyMismatch { customer_currency } => {
                format!("currency `{v}` differs from the customer's currency `{customer_currency}`")
            }
            ProblemKind::PaidWithOpenAmount => format!("status is `paid` but `open_amount` is `{v}`; expected 0.00"),
            ProblemKind::OpenWithZeroBalance => "status is `open` but `open_amount` is 0; treated as paid".into(),
            ProblemKind::Overpaid { paid, amount } => {
                format!("payments applied to invoice `{v}` add up to {paid}, more than its amount {amount}")
            }
            ProblemKind::DisputedCreditNote => {
                format!("credit note `{v}` is marked disputed; a credit note is `open`, `paid` or `written_off`")
            }
            ProblemKind::CreditNoteReference => {
                format!("`{col}` `{v}` is a credit note; payments, promises and actions refer to invoices")
            }
            ProblemKind::UnknownColumn => format!("unknown column `{col}` ignored"),
            ProblemKind::FieldCount { expected, found } => format!("row has {found} fields; the header has {expected}"),
            ProblemKind::SwallowedRows { last_line } => format!(
                "a quoted field runs from this line to line {last_line}, over lines that look like rows of their own: an unbalanced `\"`?"
            ),
            ProblemKind::NoCustomers => {
                "customers.csv has a header and no rows: the ledger is empty, there is nothing to plan".into()
            }
            ProblemKind::SpansLines { last_line } => format!(
                "a quoted field runs from this line to line {last_line}, the only field of the file that spans lines; loaded as one row"
            ),
            ProblemKind::ParentIsSelf => format!("`parent` `{v}` is the customer itself"),
            ProblemKind::NestedGroup { parent_line, grandparent } => format!(
                "`parent` `{v}` (line {parent_line}) has a parent of its own, `{grandparent}`: groups are one level deep"
            ),
        }
    }

    /// What the user can do about it.
    pub fn help(&self) -> Option<&'static str> {
        match &self.kind {
            ProblemKind::UnknownCustomer => Some("add the customer to customers.csv or correct the id"),
            ProblemKind::UnknownInvoice => {
                Some("add the invoice to invoices.csv, correct the id, or leave invoice_id empty")
            }
            ProblemKind::CurrencyMismatch { .. } => {
                Some("recoup compares amounts in the customer's currency; convert the invoice or split the customer")
            }
            ProblemKind::DuplicateId { .. } => Some("ids must be unique within a file"),
            ProblemKind::RejectedReference { .. } => Some("fix the referenced row; this row is rejected with it"),
            ProblemKind::NotPositive if self.file == FileKind::Invoices => {
                Some("a credit note? give it a positive amount and `document_type` `credit_note` (docs/ledger.md)")
            }
            ProblemKind::CreditNoteReference => {
                Some("leave invoice_id empty: a refund or an unapplied payment belongs to the customer")
            }
            ProblemKind::FieldCount { .. } => Some("check for an unquoted comma in a text field"),
            ProblemKind::SwallowedRows { .. } => Some(
                "close the quote, or write a `\"` inside a quoted field as `\"\"`; the lines it swallowed are part of this bad row",
            ),
            ProblemKind::NoCustomers => Some(
                "if the export should hold customers, check the job that wrote it (recoup exits 0 on an empty ledger)",
            ),
            ProblemKind::SpansLines { .. } => Some("if these lines are several rows, look for an unbalanced `\"`"),
            ProblemKind::ParentIsSelf => Some("leave `parent` empty for the head of a group"),
            ProblemKind::NestedGroup { .. } => {
                Some("give the top of the group as `parent` (docs/ledger.md, \"Customer groups\")")
            }
            _ => None,
        }
    }
}

impl Problem {
    /// Render the problem the one way recoup renders problems, with the file
    /// shown under `dir` when given.
    pub fn render(&self, dir: Option<&std::path::Path>) -> String {
        self.render_in(dir, LedgerFormat::Csv)
    }

    /// [`Problem::render`] for a ledger of `format`: a Parquet file's place is
    /// `invoices.parquet, row 2`.
    pub fn render_in(&self, dir: Option<&std::path::Path>, format: LedgerFormat) -> String {
        let name = format.file_name(self.file);
        let file = match dir {
            Some(d) => d.join(name).display().to_string(),
            None => name.to_string(),
        };
        let place = match format {
            LedgerFormat::Csv => format!("{file}:{}", self.line),
            LedgerFormat::Parquet => format!("{file}, {}", format.place(self.line)),
        };
        self.render_with(&place, &self.message_in(format), self.help())
    }

    /// Render the problem with its place given (`file:line`, or a database
    /// table and primary key).
    pub fn render_at(&self, place: &str) -> String {
        self.render_with(place, &self.message(), self.help())
    }

    /// Render the problem with its place, message and help given (a
    /// database ledger's problems name tables and keys, not files and lines).
    pub fn render_with(&self, place: &str, message: &str, help: Option<&str>) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{sev}: {message}\n  --> {place}");
        if let Some(c) = &self.column {
            out.push_str(&format!(" (column `{c}`)"));
        }
        if let Some(h) = help {
            out.push_str(&format!("\n  = help: {h}"));
        }
        out
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(None))
    }
}
