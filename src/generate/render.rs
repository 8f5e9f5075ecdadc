//! The CSV text of a chunk: one byte buffer per file, ids numbered from the
//! offsets of the rows written before the chunk. Fields are quoted only when
//! they must be (a company name with a comma).

use super::calendar::{self, Day};
use super::customer::risk_class;
use super::rows::{ActionRow, Cents, Chunk, CustomerRow, InvoiceRow, PaymentRow, PromiseRow};

/// The five files, in the order buffers are returned, with their header rows.
pub const FILES: [(&str, &str); 5] = [
    (
        "customers.csv",
        "customer_id,name,segment,country,currency,credit_limit,payment_terms,credit_score,risk_class,\
         account_owner,email,phone,preferred_channel,do_not_contact,on_hold,opened_on,account_type,\
         address_line1,address_line2,postcode,city,language,contact_name",
    ),
    (
        "invoices.csv",
        "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,disputed_since,dispute_reason",
    ),
    ("payments.csv", "payment_id,customer_id,invoice_id,paid_on,amount"),
    ("promises.csv", "promise_id,customer_id,invoice_id,made_on,due_on,amount,plan_id"),
    ("actions.csv", "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome"),
];

/// Rows of each kind written before a chunk: its local row `i` gets id `i + 1` past these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offsets {
    pub customers: u64,
    pub invoices: u64,
    pub payments: u64,
    pub promises: u64,
    pub actions: u64,
    pub plans: u64,
}

impl Offsets {
    /// The offsets of the chunk that follows `chunk`.
    pub fn after(self, chunk: &Chunk) -> Offsets {
        Offsets {
            customers: self.customers + chunk.customers.len() as u64,
            invoices: self.invoices + chunk.invoices.len() as u64,
            payments: self.payments + chunk.payments.len() as u64,
            promises: self.promises + chunk.promises.len() as u64,
            actions: self.actions + chunk.actions.len() as u64,
            plans: self.plans + u64::from(chunk.plans),
        }
    }
}

/// The text of `chunk` for each of [`FILES`].
pub fn chunk(chunk: &Chunk, at: &Offsets) -> [Vec<u8>; 5] {
    [
        rows(&chunk.customers, 200, |buf, _, c| customer(buf, c)),
        rows(&chunk.invoices, 100, |buf, n, i| invoice(buf, at.invoices + n, i)),
        rows(&chunk.payments, 48, |buf, n, p| payment(buf, at.payments + n, p, at)),
        rows(&chunk.promises, 64, |buf, n, p| promise(buf, at.promises + n, p, at)),
        rows(&chunk.actions, 80, |buf, n, a| action(buf, at.actions + n, a, at)),
    ]
}

/// Render `items`, each with its 1-based number within the chunk.
fn rows<T>(items: &[T], width: usize, mut each: impl FnMut(&mut Vec<u8>, u64, &T)) -> Vec<u8> {
    let mut buf = Vec::with_capacity(items.len() * width);
    for (n, item) in (1..).zip(items) {
        each(&mut buf, n, item);
    }
    buf
}

const CUSTOMER: (&str, usize) = ("C", 6);
const INVOICE: (&str, usize) = ("INV", 7);
const PAYMENT: (&str, usize) = ("P", 7);
const PROMISE: (&str, usize) = ("PTP", 7);
const ACTION: (&str, usize) = ("A", 7);
const PLAN: (&str, usize) = ("PLAN", 6);

fn customer(buf: &mut Vec<u8>, c: &CustomerRow) {
    let contact = super::contact::contact(c.index, c.country.code);
    Row::new(buf)
        .id(CUSTOMER, c.index + 1)
        .text(&c.name)
        .text(c.segment.as_str())
        .text(c.country.code)
        .text(c.country.currency)
        .money(c.credit_limit)
        .text(c.terms.label)
        .opt_uint(c.credit_score.map(u64::from))
        .opt_text(c.credit_score.map(risk_class))
        .with(|b| {
            b.extend_from_slice(b"owner-");
            push_uint(b, u64::from(c.owner), 2);
        })
        .with(|b| {
            if contact.email {
                b.extend_from_slice(b"ap@");
                push_slug(b, &c.name);
                b.extend_from_slice(b".example");
            }
        })
        .with(|b| push_phone(b, c.country.dial, c.phone))
        .opt_text(c.channel)
        .flag(c.do_not_contact)
        .flag(c.on_hold)
        .date(c.opened_on)
        .text("business")
        .text(&contact.address_line1)
        .opt_text(contact.address_line2.as_deref())
        .text(&contact.postcode)
        .text(contact.city)
        .text(contact.language)
        .text(&contact.contact_name)
        .end();
}

fn invoice(buf: &mut Vec<u8>, id: u64, i: &InvoiceRow) {
    let (disputed_since, reason) = i.dispute.unzip();
    Row::new(buf)
        .id(INVOICE, id)
        .id(CUSTOMER, i.customer + 1)
        .date(i.issue)
        .date(i.due)
        .text(i.currency)
        .money(i.amount)
        .money(i.open)
        .text(i.status.as_str())
        .opt_date(disputed_since)
        .opt_text(reason)
        .end();
}

fn payment(buf: &mut Vec<u8>, id: u64, p: &PaymentRow, at: &Offsets) {
    Row::new(buf)
        .id(PAYMENT, id)
        .id(CUSTOMER, p.customer + 1)
        .opt_id(INVOICE, p.invoice.map(|i| at.invoices + 1 + u64::from(i)))
        .date(p.paid_on)
        .money(p.amount)
        .end();
}

fn promise(buf: &mut Vec<u8>, id: u64, p: &PromiseRow, at: &Offsets) {
    Row::new(buf)
        .id(PROMISE, id)
        .id(CUSTOMER, p.customer + 1)
        .opt_id(INVOICE, p.invoice.map(|i| at.invoices + 1 + u64::from(i)))
        .date(p.made_on)
        .date(p.due_on)
        .money(p.amount)
        .opt_id(PLAN, p.plan.map(|n| at.plans + 1 + u64::from(n)))
        .end();
}

fn action(buf: &mut Vec<u8>, id: u64, a: &ActionRow, at: &Offsets) {
    Row::new(buf)
        .id(ACTION, id)
        .id(CUSTOMER, a.customer + 1)
        .opt_id(INVOICE, a.invoice.map(|i| at.invoices + 1 + u64::from(i)))
        .text(a.step.rule)
        .text(a.step.action)
        .opt_text(a.step.channel)
        .date(a.decided_on)
        .opt_date(a.executed_on)
        .opt_text(a.outcome)
        .end();
}

/// One CSV record being appended to a buffer, field by field.
struct Row<'a> {
    buf: &'a mut Vec<u8>,
    started: bool,
}

impl<'a> Row<'a> {
    fn new(buf: &'a mut Vec<u8>) -> Self {
        Row { buf, started: false }
    }

    /// A field written by `f`, which must not need quoting.
    fn with(mut self, f: impl FnOnce(&mut Vec<u8>)) -> Self {
        if self.started {
            self.buf.push(b',');
        }
        self.started = true;
        f(self.buf);
        self
    }

    fn id(self, (prefix, width): (&str, usize), n: u64) -> Self {
        self.with(|b| {
            b.extend_from_slice(prefix.as_bytes());
            push_uint(b, n, width);
        })
    }

    fn opt_id(self, kind: (&str, usize), n: Option<u64>) -> Self {
        match n {
            Some(n) => self.id(kind, n),
            None => self.with(|_| ()),
        }
    }

    fn text(self, s: &str) -> Self {
        self.with(|b| push_text(b, s))
    }

    fn opt_text(self, s: Option<&str>) -> Self {
        self.text(s.unwrap_or(""))
    }

    fn opt_uint(self, n: Option<u64>) -> Self {
        self.with(|b| {
            if let Some(n) = n {
                push_uint(b, n, 1);
            }
        })
    }

    fn money(self, cents: Cents) -> Self {
        self.with(|b| push_money(b, cents))
    }

    fn date(self, day: Day) -> Self {
        self.with(|b| calendar::push_iso(b, day))
    }

    fn opt_date(self, day: Option<Day>) -> Self {
        self.with(|b| {
            if let Some(day) = day {
                calendar::push_iso(b, day);
            }
        })
    }

    fn flag(self, on: bool) -> Self {
        self.text(if on { "true" } else { "false" })
    }

    fn end(self) {
        self.buf.push(b'\n');
    }
}

/// Append `n` in decimal, zero-padded to at least `width` digits.
fn push_uint(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut len = 0;
    while n > 0 || len < width.min(20) {
        digits[19 - len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
    }
    buf.extend_from_slice(&digits[20 - len..]);
}

/// Append cents as an amount with exactly two decimals (`123456` → `1234.56`).
fn push_money(buf: &mut Vec<u8>, cents: Cents) {
    if cents < 0 {
        buf.push(b'-');
    }
    let c = cents.unsigned_abs();
    push_uint(buf, c / 100, 1);
    buf.push(b'.');
    push_uint(buf, c % 100, 2);
}

/// Append a field, quoted (quotes doubled) when it holds a comma, quote or line break.
fn push_text(buf: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    buf.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            buf.push(b'"');
        }
        buf.push(b);
    }
    buf.push(b'"');
}

/// Append a lowercase, hyphen-separated form of a name (`Smith, Jones & Co` → `smith-jones-co`).
fn push_slug(buf: &mut Vec<u8>, name: &str) {
    let start = buf.len();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() {
            buf.push(b.to_ascii_lowercase());
        } else if buf.len() > start && buf.last() != Some(&b'-') {
            buf.push(b'-');
        }
    }
    if buf.len() > start && buf.last() == Some(&b'-') {
        buf.pop();
    }
}

/// Append a fictional `+<dial>-555-ddd-dddd` number; nothing when there is none.
fn push_phone(buf: &mut Vec<u8>, dial: &str, phone: Option<u32>) {
    if let Some(n) = phone {
        buf.push(b'+');
        buf.extend_from_slice(dial.as_bytes());
        buf.extend_from_slice(b"-555-");
        push_uint(buf, u64::from(n / 10_000 % 1_000), 3);
        buf.push(b'-');
        push_uint(buf, u64::from(n % 10_000), 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut buf = Vec::new();
        f(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn money_matches_decimal_with_two_places() {
        for cents in [0, 1, 9, 10, 99, 100, 5_000, 123_456, 10_000_000_001, -250] {
            assert_eq!(text(|b| push_money(b, cents)), Decimal::new(cents, 2).to_string());
        }
    }

    #[test]
    fn numbers_pad_and_grow() {
        assert_eq!(text(|b| push_uint(b, 42, 7)), "0000042");
        assert_eq!(text(|b| push_uint(b, 12_345_678, 7)), "12345678");
        assert_eq!(text(|b| push_uint(b, 0, 1)), "0");
        assert_eq!(text(|b| push_uint(b, u64::MAX, 1)), u64::MAX.to_string());
    }

    #[test]
    fn names_are_quoted_and_slugged() {
        assert_eq!(text(|b| push_text(b, "Smith, Jones & Co")), "\"Smith, Jones & Co\"");
        assert_eq!(text(|b| push_text(b, "say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(text(|b| push_text(b, "O'Brien Foods Ltd")), "O'Brien Foods Ltd");
        assert_eq!(text(|b| push_slug(b, "Smith, Jones & Co")), "smith-jones-co");
        assert_eq!(text(|b| push_slug(b, "O'Brien Foods GmbH")), "o-brien-foods-gmbh");
    }

    #[test]
    fn phones_are_fictional() {
        assert_eq!(text(|b| push_phone(b, "44", Some(1_234_567))), "+44-555-123-4567");
        assert_eq!(text(|b| push_phone(b, "1", None)), "");
    }
}
