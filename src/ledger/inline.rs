//! A ledger from CSV text held in memory (policy tests, examples). The text
//! is written to a private temporary folder and read by the one loader, so
//! an inline ledger is checked exactly like a ledger folder.

use super::{Ledger, LoadError, LoadOptions, load};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The CSV text of each file; payments, promises and actions may be absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct InlineLedger<'a> {
    pub customers: &'a str,
    pub invoices: &'a str,
    pub payments: Option<&'a str>,
    pub promises: Option<&'a str>,
    pub actions: Option<&'a str>,
}

const NO_PAYMENTS: &str = "payment_id,customer_id,invoice_id,paid_on,amount\n";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Removes the folder when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Load a ledger from CSV text (with header rows, as in the files).
pub fn load_inline(files: &InlineLedger<'_>, opts: &LoadOptions) -> Result<Ledger, LoadError> {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("recoup-inline-{}-{n}", std::process::id()));
    let io = |source: std::io::Error| LoadError::Io { path: dir.clone(), source };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let guard = TempDir(dir.clone());
    let write = |name: &str, text: &str| {
        // Indentation and blank lines (as in a TOML multi-line string) are not data.
        let mut t = String::with_capacity(text.len() + 1);
        for line in text.lines().map(str::trim_start).filter(|l| !l.is_empty()) {
            t.push_str(line);
            t.push('\n');
        }
        std::fs::write(guard.0.join(name), t).map_err(|source| LoadError::Io { path: guard.0.join(name), source })
    };
    write("customers.csv", files.customers)?;
    write("invoices.csv", files.invoices)?;
    write("payments.csv", files.payments.unwrap_or(NO_PAYMENTS))?;
    if let Some(p) = files.promises {
        write("promises.csv", p)?;
    }
    if let Some(a) = files.actions {
        write("actions.csv", a)?;
    }
    load(&guard.0, opts)
}
