//! The ledger loader, one CSV file at a time: the first byte picks the file
//! (customers, invoices, payments, promises, actions) and whether bad rows
//! are rejected or refuse the ledger; the rest is that file's bytes. The
//! other files are a small valid ledger. Loading must not panic, and every
//! row read is loaded or rejected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recoup::ledger::{LoadOptions, load};
use std::path::PathBuf;
use std::sync::LazyLock;

const CUSTOMERS: &str = "customer_id,name,segment,country,currency,credit_limit,payment_terms,credit_score,risk_class,account_owner,email,phone,preferred_channel,do_not_contact,on_hold,opened_on,account_type\n\
C1,\"Acme, Inc.\",mid_market,US,USD,10000.00,NET30,720,low,owner-01,ap@acme.example,+1-555-0100,email,false,false,2024-01-15,business\n\
C2,Bolt GmbH,small,DE,EUR,5000.00,2/10 NET30,,,owner-02,ap@bolt.example,,letter,false,false,2025-03-01,consumer\n";
const INVOICES: &str = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,disputed_since,dispute_reason\n\
I1,C1,2026-09-01,2026-10-01,USD,1000.00,1000.00,open,,\n\
I2,C1,2026-10-20,2026-11-19,USD,2000.00,1500.00,open,,\n\
I3,C2,2026-08-01,2026-08-31,EUR,300.00,300.00,disputed,2026-09-05,wrong price\n";
const PAYMENTS: &str = "payment_id,customer_id,invoice_id,paid_on,amount\nP1,C1,I2,2026-11-01,500.00\n";
const PROMISES: &str =
    "promise_id,customer_id,invoice_id,made_on,due_on,amount,plan_id\nPR1,C1,I1,2026-10-10,2026-10-20,500.00,\n";
const ACTIONS: &str = "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome\n\
A1,C1,I1,first-notice,email,email,2026-10-02,2026-10-02,sent\n";

const FILES: [(&str, &str); 5] = [
    ("customers.csv", CUSTOMERS),
    ("invoices.csv", INVOICES),
    ("payments.csv", PAYMENTS),
    ("promises.csv", PROMISES),
    ("actions.csv", ACTIONS),
];

/// A private folder on tmpfs when there is one.
static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let base = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let d = base.join(format!("recoup-fuzz-ledger-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
});

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let which = (sel % 5) as usize;
    let reject = sel & 0x80 != 0;
    for (i, (name, text)) in FILES.iter().enumerate() {
        let bytes = if i == which { body } else { text.as_bytes() };
        std::fs::write(DIR.join(name), bytes).unwrap();
    }
    match load(&DIR, &LoadOptions { reject_bad_rows: reject }) {
        Ok(ledger) => {
            for (kind, c) in ledger.report.files() {
                assert_eq!(c.read, c.loaded + c.rejected, "{kind:?}: {c:?}");
                // Physical lines reconcile with rows (a file that is there has a header line).
                if c.lines > 0 {
                    assert_eq!(c.lines, 1 + c.read + c.blank_lines + c.quoted_line_breaks, "{kind:?}: {c:?}");
                }
            }
            assert_eq!(ledger.report.customers.loaded as usize, ledger.customers.len());
            assert_eq!(ledger.report.invoices.loaded as usize, ledger.invoices.len());
            // The loaded ledger is usable: facts for every customer.
            let ctx = recoup::facts::Context::new(
                chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
                recoup::facts::FactsConfig::default(),
            );
            let _ = recoup::facts::kpi::portfolio(&ledger, &ctx);
            let _ = recoup::facts::map_customers(&ledger, &ctx, |cf, inv| (cf.overdue_total, inv.len()));
        }
        Err(e) => {
            // Every error renders.
            let _ = e.to_string();
        }
    }
});
