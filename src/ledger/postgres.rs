//! A ledger read from PostgreSQL: each of the five tables (or views) is
//! copied out with `COPY (SELECT …) TO STDOUT (FORMAT csv, HEADER)` into a
//! private temporary folder and read by the one CSV loader, so a database
//! ledger is decoded and validated exactly like a ledger folder. The five
//! copies share one read-only snapshot. Problems are placed by table,
//! primary key and column ([`Places`]).

use super::problem::{FileKind, Problem, ProblemKind};
use super::{Ledger, LoadError, LoadOptions, load};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The five ledger files in loading order, with each one's primary key
/// column and whether the table is required.
pub const TABLES: [(FileKind, &str, bool); 5] = [
    (FileKind::Customers, "customer_id", true),
    (FileKind::Invoices, "invoice_id", true),
    (FileKind::Payments, "payment_id", true),
    (FileKind::Promises, "promise_id", false),
    (FileKind::Actions, "action_id", false),
];

/// The table (or view) each ledger file is read from: by default the file's
/// name without `.csv`, found through the connection's `search_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames(pub [String; 5]);

impl Default for TableNames {
    fn default() -> Self {
        TableNames(TABLES.map(|(k, _, _)| table_word(k).to_string()))
    }
}

/// `customers`, `invoices`…: a file's name without `.csv`.
pub fn table_word(k: FileKind) -> &'static str {
    k.file_name().trim_end_matches(".csv")
}

fn slot(k: FileKind) -> usize {
    TABLES.iter().position(|(t, _, _)| *t == k).unwrap_or(0)
}

impl TableNames {
    /// The table a file is read from.
    pub fn of(&self, k: FileKind) -> &str {
        &self.0[slot(k)]
    }

    /// Apply one `FILE=TABLE` setting (`invoices=erp.open_items`).
    pub fn set(&mut self, setting: &str) -> Result<(), String> {
        let (file, table) = setting
            .split_once('=')
            .ok_or_else(|| format!("`{setting}` is not FILE=TABLE (e.g. `invoices=erp.open_items`)"))?;
        let file = file.trim().trim_end_matches(".csv").to_ascii_lowercase();
        let Some(&(k, _, _)) = TABLES.iter().find(|(k, _, _)| table_word(*k) == file) else {
            return Err(format!(
                "`{file}` is not a ledger table; expected one of customers, invoices, payments, promises, actions"
            ));
        };
        let table = table.trim();
        quote_name(table)?;
        self.0[slot(k)] = table.to_string();
        Ok(())
    }
}

/// Whether a `--ledger` value is a PostgreSQL connection URL.
pub fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// The URL with its password replaced by `***`, for messages and manifests.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            let mut s = u.to_string();
            // Passwords given as a query parameter too.
            if let Some(q) = u.query() {
                let kept: Vec<String> = q
                    .split('&')
                    .map(|kv| if kv.starts_with("password=") { "password=***".to_string() } else { kv.to_string() })
                    .collect();
                s = s.replace(q, &kept.join("&"));
            }
            s
        }
        Ok(u) => match u.query() {
            Some(q) if q.split('&').any(|kv| kv.starts_with("password=")) => {
                let kept: Vec<String> = q
                    .split('&')
                    .map(|kv| if kv.starts_with("password=") { "password=***".to_string() } else { kv.to_string() })
                    .collect();
                url.replace(q, &kept.join("&"))
            }
            _ => url.to_string(),
        },
        Err(_) => "postgres://(unreadable URL)".to_string(),
    }
}

/// A table name as SQL: each dot-separated part double-quoted (so names
/// are taken as written, in any case, and nothing else can be injected).
pub fn quote_name(name: &str) -> Result<String, String> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty() || p.contains('"') || p.contains('\0')) {
        return Err(format!("`{name}` is not a table name: expected NAME or SCHEMA.NAME, without `\"`"));
    }
    Ok(parts.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join("."))
}

/// Why a ledger could not be read from PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PgLoadError {
    /// The connection string is not one PostgreSQL accepts.
    #[error("`{url}` is not a PostgreSQL connection URL: {message}")]
    BadUrl { url: String, message: String },
    /// The server could not be reached, refused the login or failed the
    /// TLS check; `help` says what to do.
    #[error("cannot connect to `{url}`: {message}")]
    Connect { url: String, message: String, help: String },
    /// The TLS settings could not be put in place (a root certificate file).
    #[error("cannot connect to `{url}`: {message}")]
    Tls { url: String, message: String, help: &'static str },
    /// A required table (or view) is not there.
    #[error("the ledger table `{table}` ({file}) does not exist or cannot be read: {}", describe(source))]
    MissingTable { table: String, file: &'static str, source: postgres::Error },
    /// A query or the copy of a table failed.
    #[error("reading table `{table}` failed: {}", describe(source))]
    Query { table: String, source: postgres::Error },
    /// The temporary folder the copies go to.
    #[error("cannot write the copy of table `{table}` to `{}`: {source}", path.display())]
    Io { table: String, path: PathBuf, source: std::io::Error },
    /// The rows themselves (as for a ledger folder), with their places.
    #[error("{error}")]
    Ledger { error: LoadError, places: Arc<Places> },
}

/// What the server said (its message, detail and hint), or the client's
/// error with its causes: `postgres::Error` alone says only "db error".
pub fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; hint: {h}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(&format!(": {c}"));
        cause = c.source();
    }
    s
}

/// Where each problem of a database ledger is: its table, and for a row
/// problem the row's primary key, found from the line of the copy. It
/// travels with the ledger, in [`LoadReport::places`](super::LoadReport).
#[derive(Debug, Clone, Default)]
pub struct Places {
    tables: TableNames,
    keys: HashMap<(FileKind, u64), String>,
}

impl Places {
    /// `table `invoices`, invoice_id `INV0001``; the table alone for a
    /// problem with the table's columns.
    pub fn place(&self, file: FileKind, line: u64) -> String {
        let table = self.tables.of(file);
        let key_col = TABLES[slot(file)].1;
        match self.keys.get(&(file, line)) {
            Some(k) => format!("table `{table}`, {key_col} `{k}`"),
            None if line <= 1 => format!("table `{table}`"),
            None => format!("table `{table}`, row {} in {key_col} order", line - 1),
        }
    }

    /// The primary key of the row on `line` of the copy of `file`, when known.
    pub fn key(&self, file: FileKind, line: u64) -> Option<&str> {
        self.keys.get(&(file, line)).map(String::as_str)
    }

    /// A problem rendered as recoup renders problems, placed in the database.
    pub fn render(&self, p: &Problem) -> String {
        let help = self.help(p);
        p.render_with(&self.place(p.file, p.line), &self.message(p), help.as_deref().or(p.help()))
    }

    /// The table a file was read from.
    pub fn table(&self, file: FileKind) -> &str {
        self.tables.of(file)
    }

    /// A problem's message in the database's words: tables and keys where
    /// the file's message names files and lines.
    pub fn message(&self, p: &Problem) -> String {
        let (v, col) = (&p.value, p.column.as_deref().unwrap_or(""));
        match &p.kind {
            ProblemKind::DuplicateId { .. } => format!("duplicate `{col}` `{v}`: another row of the table has it"),
            ProblemKind::UnknownCustomer => {
                format!("unknown customer `{v}`: not in table `{}`", self.table(FileKind::Customers))
            }
            ProblemKind::UnknownInvoice => {
                format!("unknown invoice `{v}`: not in table `{}`", self.table(FileKind::Invoices))
            }
            ProblemKind::RejectedReference { file, line } => {
                format!("`{col}` `{v}` refers to a rejected row ({})", self.place(*file, *line))
            }
            ProblemKind::SwallowedRows { .. } | ProblemKind::SpansLines { .. } => {
                "a value holds line breaks; the row was read as one row".to_string()
            }
            ProblemKind::NoCustomers => format!(
                "table `{}` has no rows: the ledger is empty, there is nothing to plan",
                self.table(FileKind::Customers)
            ),
            ProblemKind::NestedGroup { grandparent, .. } => {
                format!("`parent` `{v}` has a parent of its own, `{grandparent}`: groups are one level deep")
            }
            _ => p.message(),
        }
    }

    /// What to do, in the database's words, where the file's help names a file.
    fn help(&self, p: &Problem) -> Option<String> {
        let t = |k| self.table(k);
        match &p.kind {
            ProblemKind::UnknownCustomer => {
                Some(format!("add the customer to table `{}` or correct the id", t(FileKind::Customers)))
            }
            ProblemKind::UnknownInvoice => Some(format!(
                "add the invoice to table `{}`, correct the id, or leave invoice_id NULL",
                t(FileKind::Invoices)
            )),
            ProblemKind::DuplicateId { .. } => {
                Some("ids must be unique within a table (a primary key, or a view with one row per id)".into())
            }
            _ => None,
        }
    }

    /// rejects.csv of a database ledger: each rejected row by its table,
    /// primary key column and value, and the column of the problem
    /// (docs/output.md, "rejects.csv").
    pub fn write_rejects(&self, w: &mut dyn Write, problems: &[Problem]) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(REJECTS_HEADER)?;
        for p in problems {
            out.write_record([
                self.table(p.file),
                TABLES[slot(p.file)].1,
                self.key(p.file, p.line).unwrap_or(""),
                p.column.as_deref().unwrap_or(""),
                &p.value,
                &self.message(p),
            ])?;
        }
        out.flush()
    }
}

/// The header of a database ledger's rejects.csv.
pub const REJECTS_HEADER: [&str; 6] = ["table", "key_column", "key", "column", "value", "reason"];

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Removes the folder when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Connect to `url` (a `postgres://` URL or a libpq key=value string),
/// with TLS as its `sslmode` and `sslrootcert` say (crate::pg_tls).
pub fn connect(url: &str) -> Result<postgres::Client, PgLoadError> {
    let (config, tls) = config(url).map_err(|message| PgLoadError::BadUrl { url: redact(url), message })?;
    let connector =
        tls.connector().map_err(|e| PgLoadError::Tls { url: redact(url), help: e.help(), message: e.to_string() })?;
    config.connect(connector).map_err(|e| {
        let f = crate::pg_tls::failure(&e, &tls);
        PgLoadError::Connect { url: redact(url), message: f.message, help: f.help }
    })
}

/// The connection settings of `url`, with the password from `PGPASSWORD`
/// when the URL has none (so it need not be on the command line), and its
/// TLS settings (`sslmode`, `sslrootcert`, also from `PGSSLMODE` and
/// `PGSSLROOTCERT`).
pub fn config(url: &str) -> Result<(postgres::Config, crate::pg_tls::Tls), String> {
    let (rest, tls) = crate::pg_tls::split(url)?;
    let mut config: postgres::Config = rest.parse().map_err(|e: postgres::Error| e.to_string())?;
    config.ssl_mode(tls.library_mode());
    if config.get_password().is_none()
        && let Some(p) = std::env::var_os("PGPASSWORD")
    {
        config.password(p.as_encoded_bytes());
    }
    if config.get_application_name().is_none() {
        config.application_name("recoup");
    }
    Ok((config, tls))
}

/// Read the ledger tables of the database at `url` and load them; the
/// ledger's report (and a refused ledger's) carries its problems' places.
pub fn load_postgres(url: &str, tables: &TableNames, opts: &LoadOptions) -> Result<Ledger, PgLoadError> {
    let mut client = connect(url)?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("recoup-pg-{}-{n}", std::process::id()));
    let io = |table: &str, path: &Path| {
        let (table, path) = (table.to_string(), path.to_path_buf());
        move |source| PgLoadError::Io { table, path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io("", &dir))?;
    let guard = TempDir(dir);
    copy_tables(&mut client, tables, &guard.0)?;
    drop(client);
    let places = |problems: &mut dyn Iterator<Item = &Problem>| {
        Arc::new(Places { tables: tables.clone(), keys: keys_of_lines(&guard.0, problems) })
    };
    match load(&guard.0, opts) {
        Ok(mut ledger) => {
            ledger.report.places = Some(places(&mut ledger.report.warnings.iter().chain(&ledger.report.rejects)));
            Ok(ledger)
        }
        Err(LoadError::BadRows { rows, problems, mut report }) => {
            let places = places(&mut problems.iter().chain(&report.warnings));
            report.places = Some(places.clone());
            let error = LoadError::BadRows { rows, problems, report };
            Err(PgLoadError::Ledger { error, places })
        }
        Err(error) => Err(PgLoadError::Ledger { error, places: places(&mut std::iter::empty()) }),
    }
}

/// Copy every table into `dir` as the CSV file the loader reads, in one
/// read-only snapshot, rows in primary-key order (byte order).
fn copy_tables(client: &mut postgres::Client, tables: &TableNames, dir: &Path) -> Result<(), PgLoadError> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|source| PgLoadError::Query { table: String::new(), source })?;
    // Dates as YYYY-MM-DD whatever the server's or role's setting.
    tx.batch_execute("SET LOCAL DateStyle = ISO, YMD; SET LOCAL IntervalStyle = iso_8601")
        .map_err(|source| PgLoadError::Query { table: String::new(), source })?;
    for (kind, key, required) in TABLES {
        let table = tables.of(kind);
        let name = quote_name(table).map_err(|message| PgLoadError::BadUrl { url: table.to_string(), message })?;
        // The table's columns, from the statement's description (no rows read).
        tx.batch_execute("SAVEPOINT probe").map_err(|source| PgLoadError::Query { table: table.into(), source })?;
        let columns = match tx.prepare(&format!("SELECT * FROM {name}")) {
            Ok(stmt) => stmt.columns().iter().map(|c| c.name().to_string()).collect::<Vec<_>>(),
            Err(source) => {
                let missing = source.code().is_some_and(|c| {
                    *c == postgres::error::SqlState::UNDEFINED_TABLE
                        || *c == postgres::error::SqlState::INVALID_SCHEMA_NAME
                });
                if missing && !required {
                    tx.batch_execute("ROLLBACK TO SAVEPOINT probe")
                        .map_err(|source| PgLoadError::Query { table: table.into(), source })?;
                    continue;
                }
                return Err(PgLoadError::MissingTable { table: table.into(), file: kind.file_name(), source });
            }
        };
        let select: Vec<String> = columns.iter().map(|c| format!("{q}::text AS {q}", q = quote_ident(c))).collect();
        // Primary-key order, as a ledger export writes its rows (a table
        // without the key column is refused by the loader, as a file is).
        let order = columns
            .iter()
            .find(|c| c.eq_ignore_ascii_case(key))
            .map(|c| format!(" ORDER BY {} COLLATE \"C\"", quote_ident(c)))
            .unwrap_or_default();
        let sql = if select.is_empty() {
            // A table without columns: a header-only file the loader refuses by name.
            format!("COPY (SELECT FROM {name} LIMIT 0) TO STDOUT WITH (FORMAT csv, HEADER)")
        } else {
            format!("COPY (SELECT {} FROM {name}{order}) TO STDOUT WITH (FORMAT csv, HEADER)", select.join(", "))
        };
        let path = dir.join(kind.file_name());
        let file = std::fs::File::create(&path).map_err(|source| PgLoadError::Io {
            table: table.into(),
            path: path.clone(),
            source,
        })?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut reader = tx.copy_out(&sql).map_err(|source| PgLoadError::Query { table: table.into(), source })?;
        std::io::copy(&mut reader, &mut out).and_then(|_| out.flush()).map_err(|source| PgLoadError::Io {
            table: table.into(),
            path: path.clone(),
            source,
        })?;
    }
    tx.commit().map_err(|source| PgLoadError::Query { table: String::new(), source })
}

/// A column name as SQL.
fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The primary key on each line the problems name, read back from the
/// copies (only when there are problems: the loaded path never reads them twice).
fn keys_of_lines(dir: &Path, problems: &mut dyn Iterator<Item = &Problem>) -> HashMap<(FileKind, u64), String> {
    let mut wanted: HashMap<FileKind, Vec<u64>> = HashMap::new();
    for p in problems {
        wanted.entry(p.file).or_default().push(p.line);
        if let ProblemKind::RejectedReference { file, line } = p.kind {
            wanted.entry(file).or_default().push(line);
        }
    }
    let mut keys = HashMap::new();
    for (file, mut lines) in wanted {
        lines.sort_unstable();
        lines.dedup();
        let Ok(mut reader) = csv::ReaderBuilder::new().flexible(true).from_path(dir.join(file.file_name())) else {
            continue;
        };
        let key_col = TABLES[slot(file)].1;
        let Some(at) = reader
            .byte_headers()
            .ok()
            .and_then(|h| h.iter().position(|c| std::str::from_utf8(c).is_ok_and(|c| c.eq_ignore_ascii_case(key_col))))
        else {
            continue;
        };
        let mut rec = csv::ByteRecord::new();
        while let Ok(true) = reader.read_byte_record(&mut rec) {
            let line = rec.position().map_or(0, |p| p.line());
            if lines.binary_search(&line).is_ok()
                && let Some(k) = rec.get(at)
            {
                keys.insert((file, line), String::from_utf8_lossy(k).into_owned());
            }
        }
    }
    keys
}
