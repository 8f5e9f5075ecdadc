//! The ledger read from, and the outputs written to, a real PostgreSQL
//! server (docs/postgres.md). Each test starts its own cluster with
//! `initdb` in a temporary folder, on a free port of 127.0.0.1, and stops
//! and removes it at the end. Without a server installed the tests are
//! skipped with a message, except under CI (`CI=true`), where that fails:
//! .ci/test installs Debian's `postgresql`.

use crate::common::repo;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_recoup");

/// A PostgreSQL cluster of the test's own.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run the server's programs as this user (initdb refuses root).
    user: Option<&'static str>,
}

/// The folder of initdb and pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, else PATH.
fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file()))
}

impl Cluster {
    /// Start a cluster, or `None` (with a message) when no server is
    /// installed and this is not CI.
    fn start() -> Option<Cluster> {
        Cluster::start_with(false)
    }

    /// [`Cluster::start`]; with `tls`, the server has `ssl = on` with the
    /// certificate of `db.internal` signed by the test's CA ([`make_certs`],
    /// in the cluster's folder under `tls/`), and pg_hba.conf accepts TCP
    /// connections only over TLS (`hostssl`); the test's own sessions use
    /// the Unix socket.
    fn start_with(tls: bool) -> Option<Cluster> {
        let Some(bin) = server_bin() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is not installed (no initdb): .ci/test installs Debian's `postgresql`");
            }
            eprintln!("skipped: no PostgreSQL server installed (initdb not found); `bash .ci/test` installs it");
            return None;
        };
        let dir = tempfile::Builder::new().prefix("recoup-pg").tempdir().unwrap();
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let user = root.then_some("postgres");
        if tls {
            make_certs(&dir.path().join("tls"));
        }
        if let Some(u) = user {
            let ok = Command::new("chown").args(["-R", u]).arg(dir.path()).status().unwrap().success();
            assert!(ok, "cannot give the cluster folder to the `{u}` user (initdb refuses to run as root)");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = Cluster { dir, bin, port, user };
        let data = c.dir.path().join("data");
        c.pg(
            "initdb",
            &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "recoup", "--no-sync", "-E", "UTF8", "--locale=C"],
        );
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c max_connections=30",
            c.port,
            c.dir.path().display()
        );
        if tls {
            // In postgresql.conf, not on the command line: a test turns it off with ALTER SYSTEM.
            let t = c.dir.path().join("tls");
            let conf = format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                t.join("server.crt").display(),
                t.join("server.key").display()
            );
            let mut f = std::fs::OpenOptions::new().append(true).open(data.join("postgresql.conf")).unwrap();
            std::io::Write::write_all(&mut f, conf.as_bytes()).unwrap();
            c.hba(&["local all all trust", "hostssl all all 127.0.0.1/32 trust"]);
        }
        let log = c.dir.path().join("log");
        c.pg("pg_ctl", &["-D", data.to_str().unwrap(), "-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"]);
        Some(c)
    }

    fn pg(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut cmd = match self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd.args(args).current_dir(self.dir.path()).stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Replace pg_hba.conf with `lines` (read at start, or on `pg_reload_conf()`).
    fn hba(&self, lines: &[&str]) {
        let path = self.dir.path().join("data/pg_hba.conf");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        if let Some(u) = self.user {
            assert!(Command::new("chown").arg(u).arg(&path).status().unwrap().success());
        }
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://recoup@127.0.0.1:{}/{db}", self.port)
    }

    /// A session of the test's own, over the server's Unix socket (which
    /// pg_hba.conf lets in with or without TLS).
    fn client(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host_path(self.dir.path())
            .port(self.port)
            .user("recoup")
            .dbname(db)
            .connect(postgres::NoTls)
            .unwrap()
    }

    /// A new database holding `sql`.
    fn database(&self, db: &str, sql: &str) -> postgres::Client {
        self.client("postgres").batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
        let mut c = self.client(db);
        c.batch_execute(sql).unwrap();
        c
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = std::panic::catch_unwind(|| {
            self.pg("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"])
        });
    }
}

/// Copy the demo ledger's files into the tables (tests/postgres/ledger.sql) of `schema`.
fn copy_demo(c: &mut postgres::Client, schema: &str) {
    for t in ["customers", "invoices", "payments", "promises", "actions"] {
        let data = std::fs::read(repo(&format!("fixtures/demo/{t}.csv"))).unwrap();
        let mut w = c.copy_in(&format!("COPY {schema}.{t} FROM STDIN WITH (FORMAT csv, HEADER)")).unwrap();
        std::io::Write::write_all(&mut w, &data).unwrap();
        w.finish().unwrap();
    }
}

fn schema_sql(schema: &str) -> String {
    let sql = std::fs::read_to_string(repo("tests/postgres/ledger.sql")).unwrap();
    format!("CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path = {schema};\n{sql}")
}

/// A database `db` holding the demo ledger in the schema `public`.
fn demo_database(c: &Cluster, db: &str) -> postgres::Client {
    let mut client = c.database(db, &schema_sql("public"));
    copy_demo(&mut client, "public");
    client
}

fn recoup(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).current_dir(repo("")).stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn run(ledger: &str, as_of: &str, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "run",
        "--ledger",
        ledger,
        "--policy",
        "policies/standard",
        "--as-of",
        as_of,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    recoup(&args)
}

const OUTPUTS: [&str; 4] = ["plan.csv", "plan.jsonl", "worklist.csv", "summary.json"];

#[test]
fn the_demo_read_from_postgres_plans_byte_identical_to_its_csv_files() {
    let Some(c) = Cluster::start() else { return };
    let _db = demo_database(&c, "demo");
    let tmp = tempfile::tempdir().unwrap();
    let (csv_out, pg_out) = (tmp.path().join("csv"), tmp.path().join("pg"));
    let (code, _, err) = run("fixtures/demo", "2026-11-16", &csv_out, &["-q"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&c.url("demo"), "2026-11-16", &pg_out, &["-q"]);
    assert_eq!(code, 0, "{err}");
    for f in OUTPUTS {
        let (a, b) = (std::fs::read(csv_out.join(f)).unwrap(), std::fs::read(pg_out.join(f)).unwrap());
        assert!(a == b, "{f} differs between the CSV and the PostgreSQL ledger");
    }
    // The manifest names the database, and the same input hashes (COPY writes the demo's bytes).
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(pg_out.join("manifest.json")).unwrap()).unwrap();
    let m_csv: serde_json::Value =
        serde_json::from_slice(&std::fs::read(csv_out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["ledger"], c.url("demo"));
    assert_eq!(m["inputs"], m_csv["inputs"]);
    assert_eq!(m["source_ledger"], m_csv["source_ledger"]);
}

#[test]
fn tables_and_views_named_by_ledger_table_are_read_and_bad_rows_are_placed_by_primary_key() {
    let Some(c) = Cluster::start() else { return };
    // The ledger in schema `erp`; invoices through a view over a table with another name.
    let mut db = c.database("erp", &schema_sql("erp"));
    copy_demo(&mut db, "erp");
    db.batch_execute(
        "ALTER TABLE erp.invoices RENAME TO open_items_raw;
         CREATE VIEW erp.open_items AS SELECT * FROM erp.open_items_raw;
         UPDATE erp.open_items_raw SET open_amount = amount + 1 WHERE invoice_id = 'INV0000007';
         UPDATE erp.open_items_raw SET due_date = issue_date - 1 WHERE invoice_id = 'INV0000012';
         INSERT INTO erp.payments VALUES ('P9999999', 'C999999', NULL, '2026-10-01', 10);",
    )
    .unwrap();
    let url = format!("postgres://recoup:s3cret@127.0.0.1:{}/erp", c.port);
    let tables = [
        "customers=erp.customers",
        "invoices=erp.open_items",
        "payments=erp.payments",
        "promises=erp.promises",
        "actions=erp.actions",
    ];
    let mut extra = vec!["-q"];
    for t in &tables {
        extra.extend(["--ledger-table", t]);
    }
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&url, "2026-11-16", &tmp.path().join("out"), &extra);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("error: `open_amount` `5199.50` is greater than `amount`\n  --> table `erp.open_items`, invoice_id `INV0000007` (column `open_amount`)"),
        "{err}"
    );
    assert!(
        err.contains("unknown customer `C999999`: not in table `erp.customers`\n  --> table `erp.payments`, payment_id `P9999999` (column `customer_id`)\n  = help: add the customer to table `erp.customers` or correct the id"),
        "{err}"
    );
    // A row rejected with the row it refers to names that row by its key too: no CSV line anywhere.
    assert!(
        err.contains("`invoice_id` `INV0000012` refers to a rejected row (table `erp.open_items`, invoice_id `INV0000012`)\n  --> table `erp.payments`, payment_id `P0000010` (column `invoice_id`)"),
        "{err}"
    );
    let files = ["customers.csv", "invoices.csv", "payments.csv", " line "];
    assert!(!files.iter().any(|f| err.contains(f)), "a ledger file or a line is named: {err}");
    assert!(err.contains("5 bad row(s) in `postgres://recoup:***@127.0.0.1:"), "{err}");
    assert!(!err.contains("s3cret"), "the password is shown: {err}");
    // With --reject-bad-rows the rest is planned, and the password is not in the manifest.
    extra.push("--reject-bad-rows");
    let (code, _, err) = run(&url, "2026-11-16", &tmp.path().join("out"), &extra);
    assert_eq!(code, 5, "{err}");
    // rejects.csv names each row by its table, primary key column and key (docs/output.md).
    let rejects = std::fs::read_to_string(tmp.path().join("out/rejects.csv")).unwrap();
    assert_eq!(
        rejects,
        "table,key_column,key,column,value,reason
erp.open_items,invoice_id,INV0000007,open_amount,5199.50,`open_amount` `5199.50` is greater than `amount`
erp.open_items,invoice_id,INV0000007,open_amount,5199.50,status is `paid` but `open_amount` is `5199.50`; expected 0.00
erp.open_items,invoice_id,INV0000012,due_date,2026-01-02,`due_date` `2026-01-02` is before `issue_date`
erp.payments,payment_id,P0000006,invoice_id,INV0000007,\"`invoice_id` `INV0000007` refers to a rejected row (table `erp.open_items`, invoice_id `INV0000007`)\"
erp.payments,payment_id,P0000010,invoice_id,INV0000012,\"`invoice_id` `INV0000012` refers to a rejected row (table `erp.open_items`, invoice_id `INV0000012`)\"
erp.payments,payment_id,P9999999,customer_id,C999999,unknown customer `C999999`: not in table `erp.customers`
"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows"]["invoices"]["rejected"], 2);
    assert_eq!(summary["rows"]["payments"]["rejected"], 3);
    assert!(err.contains("--> table `erp.payments`, payment_id `P9999999` (column `customer_id`)"), "{err}");
    // The run report lists them by table and key.
    let (code, _, report_err) = recoup(&["report", "--run", tmp.path().join("out").to_str().unwrap()]);
    assert_eq!(code, 0, "{report_err}");
    let html = std::fs::read_to_string(tmp.path().join("out/report.html")).unwrap();
    assert!(html.contains("erp.open_items") && html.contains("INV0000012"), "the rejects are not in the report");
    let manifest = std::fs::read_to_string(tmp.path().join("out/manifest.json")).unwrap();
    assert!(manifest.contains("postgres://recoup:***@127.0.0.1:") && !manifest.contains("s3cret"), "{manifest}");
    // A required table missing, by its name; a missing optional table is an absent file.
    db.batch_execute("DROP TABLE erp.actions").unwrap();
    let (code, _, err) = run(&url, "2026-11-16", &tmp.path().join("out2"), &extra);
    assert_eq!(code, 5, "without actions the ledger still loads: {err}");
    let (code, _, err) =
        run(&url, "2026-11-16", &tmp.path().join("out3"), &["--ledger-table", "customers=erp.clients"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("the ledger table `erp.clients` (customers.csv) does not exist"), "{err}");
    // A wrong database: the server's own words.
    let (code, _, err) = run(&c.url("nowhere"), "2026-11-16", &tmp.path().join("out4"), &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("database \"nowhere\" does not exist"), "{err}");
}

/// The rows of a query as strings.
fn column(c: &mut postgres::Client, sql: &str) -> Vec<String> {
    c.query(sql, &[]).unwrap().iter().map(|r| r.get::<_, String>(0)).collect()
}

/// The first column of a CSV file.
fn ids(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let mut v: Vec<String> = r.records().map(|r| r.unwrap()[0].to_string()).collect();
    v.sort();
    v
}

/// The documented statement (docs/postgres.md) that appends a run's plan to
/// the ledger's actions as executed on its as-of date.
const APPEND_HISTORY: &str = "INSERT INTO actions (action_id, customer_id, invoice_id, rule_id, action, channel, decided_on, executed_on, outcome)
SELECT p.action_id, p.customer_id, NULLIF(split_part(p.invoice_ids, ';', 1), ''), p.rule_id, p.action,
       NULLIF(p.channel, ''), s.as_of, s.as_of, 'delivered'
FROM recoup.plan p CROSS JOIN recoup.summary s";

#[test]
fn out_db_writes_the_plan_tables_and_the_executed_history_is_appended_from_the_database() {
    let Some(c) = Cluster::start() else { return };
    let mut db = demo_database(&c, "demo");
    let tmp = tempfile::tempdir().unwrap();
    let url = c.url("demo");
    let day1 = tmp.path().join("day1");
    let (code, _, err) = run(&url, "2026-11-16", &day1, &["-q", "--out-db", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(column(&mut db, "SELECT action_id FROM recoup.plan ORDER BY 1"), ids(&day1.join("plan.csv")));
    let worklist: Vec<String> = {
        let mut r = csv::Reader::from_path(day1.join("worklist.csv")).unwrap();
        let mut v: Vec<String> = r.records().map(|r| r.unwrap()[10].to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(column(&mut db, "SELECT action_id FROM recoup.worklist ORDER BY 1"), worklist);
    let row = db.query_one("SELECT as_of::text, policy, actions, summary::text FROM recoup.summary", &[]).unwrap();
    assert_eq!(row.get::<_, String>(0), "2026-11-16");
    assert_eq!(row.get::<_, String>(1), "standard");
    assert_eq!(row.get::<_, i64>(2), 183);
    let summary: serde_json::Value = serde_json::from_str(&row.get::<_, String>(3)).unwrap();
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(day1.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary, file);
    // Amounts are exact numerics: the table's total is the file's.
    let total: String = db.query_one("SELECT sum(amount_due)::text FROM recoup.plan", &[]).unwrap().get(0);
    let mut r = csv::Reader::from_path(day1.join("plan.csv")).unwrap();
    let file_total: rust_decimal::Decimal =
        r.records().map(|r| r.unwrap()[11].parse::<rust_decimal::Decimal>().unwrap()).sum();
    assert_eq!(total.parse::<rust_decimal::Decimal>().unwrap(), file_total);

    // The next day without the history: the ladder steps of day 1 are decided again.
    let steps = |dir: &Path| -> Vec<(String, String)> {
        let mut r = csv::Reader::from_path(dir.join("plan.csv")).unwrap();
        r.records()
            .map(|r| r.unwrap())
            .filter(|r| &r[8] == "step")
            .map(|r| (r[1].to_string(), r[7].to_string()))
            .collect()
    };
    let day1_steps = steps(&day1);
    assert!(!day1_steps.is_empty());
    let (code, _, err) = run(&url, "2026-11-17", &tmp.path().join("again"), &["-q"]);
    assert_eq!(code, 0, "{err}");
    let repeated = steps(&tmp.path().join("again")).iter().filter(|s| day1_steps.contains(s)).count();
    assert!(repeated > 0, "without the history some steps of day 1 come again");
    // Appended as executed, from the database alone: none is repeated.
    let appended = db.execute(APPEND_HISTORY, &[]).unwrap();
    assert_eq!(appended, 183);
    let day2 = tmp.path().join("day2");
    let (code, _, err) = run(&url, "2026-11-17", &day2, &["-q", "--out-db", &url]);
    assert_eq!(code, 0, "{err}");
    let again: Vec<_> = steps(&day2).into_iter().filter(|s| day1_steps.contains(s)).collect();
    assert!(again.is_empty(), "steps executed on day 1 are planned again: {again:?}");
    let as_of: String = db.query_one("SELECT as_of::text FROM recoup.summary", &[]).unwrap().get(0);
    assert_eq!(as_of, "2026-11-17");
    assert_eq!(column(&mut db, "SELECT action_id FROM recoup.plan ORDER BY 1"), ids(&day2.join("plan.csv")));
}

#[test]
fn a_second_concurrent_run_is_refused_by_the_advisory_lock_and_a_foreign_schema_is_not_written() {
    let Some(c) = Cluster::start() else { return };
    let _db = demo_database(&c, "demo");
    let url = c.url("demo");
    let tmp = tempfile::tempdir().unwrap();
    // Another session holds the lock of schema `recoup`, as a running recoup does.
    let mut other = c.client("demo");
    other.execute("SELECT pg_advisory_lock($1, hashtext('recoup'))", &[&recoup::pg_out::LOCK_CLASS]).unwrap();
    let (code, _, err) = run(&url, "2026-11-16", &tmp.path().join("a"), &["-q", "--out-db", &url]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("another recoup run is writing schema `recoup`"), "{err}");
    // Another schema is not locked.
    let (code, _, err) =
        run(&url, "2026-11-16", &tmp.path().join("b"), &["-q", "--out-db", &url, "--out-schema", "night2"]);
    assert_eq!(code, 0, "{err}");
    other.execute("SELECT pg_advisory_unlock($1, hashtext('recoup'))", &[&recoup::pg_out::LOCK_CLASS]).unwrap();
    let (code, _, err) = run(&url, "2026-11-16", &tmp.path().join("a"), &["-q", "--out-db", &url]);
    assert_eq!(code, 0, "{err}");
    // A schema with tables recoup did not create is refused, and left as it was.
    other.batch_execute("CREATE SCHEMA erp; CREATE TABLE erp.plan (x int); INSERT INTO erp.plan VALUES (1)").unwrap();
    let (code, _, err) =
        run(&url, "2026-11-16", &tmp.path().join("c"), &["-q", "--out-db", &url, "--out-schema", "erp"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("schema `erp` holds tables recoup did not create"), "{err}");
    let n: i64 = other.query_one("SELECT count(*) FROM erp.plan", &[]).unwrap().get(0);
    assert_eq!(n, 1);
}

#[test]
fn a_run_killed_while_writing_the_database_leaves_the_previous_complete_set() {
    let Some(c) = Cluster::start() else { return };
    let mut db = demo_database(&c, "demo");
    let url = c.url("demo");
    let tmp = tempfile::tempdir().unwrap();
    let day1 = tmp.path().join("day1");
    let (code, _, err) = run(&url, "2026-11-16", &day1, &["-q", "--out-db", &url]);
    assert_eq!(code, 0, "{err}");
    let before = column(&mut db, "SELECT action_id FROM recoup.plan ORDER BY 1");
    // Hold the worklist table: the next run writes the plan, then waits on it.
    let mut blocker = c.client("demo");
    let mut tx = blocker.transaction().unwrap();
    tx.batch_execute("LOCK TABLE recoup.worklist IN ACCESS EXCLUSIVE MODE").unwrap();
    let mut child = Command::new(BIN)
        .args(["run", "--ledger", &url, "--policy", "policies/standard", "--as-of", "2026-11-30", "-q"])
        .args(["--out", tmp.path().join("day2").to_str().unwrap(), "--out-db", &url])
        .current_dir(repo(""))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = 'demo'";
    let start = Instant::now();
    while db.query_one(waiting, &[]).unwrap().get::<_, i64>(0) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it reached the worklist");
        assert!(start.elapsed() < Duration::from_secs(120), "the run never waited on the worklist");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    tx.commit().unwrap();
    // The killed run's session ends and its transaction is rolled back.
    let start = Instant::now();
    while db.query_one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", &[]).unwrap().get::<_, i64>(0) > 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "the killed run's session never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(column(&mut db, "SELECT action_id FROM recoup.plan ORDER BY 1"), before);
    let as_of: String = db.query_one("SELECT as_of::text FROM recoup.summary", &[]).unwrap().get(0);
    assert_eq!(as_of, "2026-11-16");
    // The lock is free again: the next run writes its set.
    let (code, _, err) = run(&url, "2026-11-30", &tmp.path().join("day2b"), &["-q", "--out-db", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        column(&mut db, "SELECT action_id FROM recoup.plan ORDER BY 1"),
        ids(&tmp.path().join("day2b/plan.csv"))
    );
}

/// Run openssl (installed by .ci/test) in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// In `dir`: `ca.pem` (the test's CA), `server.crt` and `server.key` (the
/// server's certificate for the name `db.internal` only, signed by that CA)
/// and `other-ca.pem` (a CA that signed nothing here). P-256 keys: quick to make.
fn make_certs(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for (name, cn) in [("ca", "recoup test CA"), ("other-ca", "another CA")] {
        let (key, pem, subj) = (format!("{name}.key"), format!("{name}.pem"), format!("/CN={cn}"));
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &pem, "-days", "30", "-subj", &subj]);
        args.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=db.internal"]);
    openssl(dir, &args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:db.internal\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "30",
            "-extfile",
            "server.ext",
        ],
    );
    // The server refuses a key others can read.
    std::fs::set_permissions(dir.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

/// `recoup run` on the demo policy with `env` set, and HOME a folder without
/// `.postgresql/root.crt` (libpq's default root file would change `require`).
fn run_env(ledger: &str, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--ledger", ledger, "--policy", "policies/standard", "--as-of", "2026-11-16", "-q", "--out"])
        .arg(out)
        .args(extra)
        .env("HOME", home.path())
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .current_dir(repo(""))
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn tls_verify_full_checks_the_ca_and_the_host_name_and_a_hostssl_server_refuses_disable() {
    let Some(c) = Cluster::start_with(true) else { return };
    let _db = demo_database(&c, "demo");
    let tls = c.dir.path().join("tls");
    let (ca, other) = (tls.join("ca.pem"), tls.join("other-ca.pem"));
    let (ca, other) = (ca.to_str().unwrap(), other.to_str().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let out = |name: &str| tmp.path().join(name);
    // The certificate's name, connected to at 127.0.0.1 (hostaddr): the name is what is checked.
    let by_name = |query: &str| format!("postgres://recoup@db.internal:{}/demo?hostaddr=127.0.0.1&{query}", c.port);
    let by_ip = |query: &str| format!("postgres://recoup@127.0.0.1:{}/demo?{query}", c.port);

    // verify-full with the CA: the same plan as the demo's CSV files.
    let (code, _, err) = run_env(&by_name(&format!("sslmode=verify-full&sslrootcert={ca}")), &out("full"), &[], &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_env("fixtures/demo", &out("csv"), &[], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(out("full/plan.csv")).unwrap() == std::fs::read(out("csv/plan.csv")).unwrap());
    // The same from libpq's environment variables.
    let env = [("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca)];
    let (code, _, err) = run_env(&by_name(""), &out("env"), &[], &env);
    assert_eq!(code, 0, "{err}");

    // Another CA: refused before any row is read, with what to do.
    let (code, _, err) =
        run_env(&by_name(&format!("sslmode=verify-full&sslrootcert={other}")), &out("wrong-ca"), &[], &[]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains(&format!(
            "the server's certificate is not signed by a trusted CA (sslmode=verify-full with sslrootcert `{other}`)"
        )),
        "{err}"
    );
    assert!(err.contains("= help: give the CA certificate that signed the server's as sslrootcert="), "{err}");
    assert!(!out("wrong-ca").exists(), "nothing is written");
    // require with a root file checks the CA too (libpq: as verify-ca).
    let (code, _, err) = run_env(&by_ip(&format!("sslmode=require&sslrootcert={other}")), &out("req-ca"), &[], &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains(&format!("(sslmode=require with sslrootcert `{other}`, checked as verify-ca)")), "{err}");

    // The right CA, another host name: verify-full refuses, verify-ca accepts.
    let (code, _, err) = run_env(&by_ip(&format!("sslmode=verify-full&sslrootcert={ca}")), &out("ip"), &[], &[]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains(&format!(
            "the server's certificate is for `db.internal`, not for `127.0.0.1` (sslmode=verify-full with sslrootcert `{ca}`)"
        )),
        "{err}"
    );
    assert!(err.contains("= help: connect with a host name the certificate names"), "{err}");
    let (code, _, err) = run_env(&by_ip(&format!("sslmode=verify-ca&sslrootcert={ca}")), &out("ca-only"), &[], &[]);
    assert_eq!(code, 0, "{err}");

    // require: encrypted, the certificate not checked; prefer (the default) takes TLS when offered.
    let (code, _, err) = run_env(&by_ip("sslmode=require"), &out("require"), &[], &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_env(&by_ip(""), &out("prefer"), &[], &[]);
    assert_eq!(code, 0, "{err}");

    // A root file that is not there.
    let (code, _, err) =
        run_env(&by_ip("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"), &out("nofile"), &[], &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot read the root certificate `/nonexistent/ca.pem` (sslrootcert)"), "{err}");

    // disable against pg_hba.conf's `hostssl` lines: the server's refusal, and why.
    let (code, _, err) = run_env(&by_ip("sslmode=disable"), &out("disable"), &[], &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no pg_hba.conf entry for host \"127.0.0.1\""), "{err}");
    assert!(
        err.contains("= help: the server accepts this connection only over TLS (a `hostssl` line in pg_hba.conf), and the URL says sslmode=disable"),
        "{err}"
    );

    // --out-db connects the same way: the right CA writes, another CA is exit 1.
    let db_url = by_name(&format!("sslmode=verify-full&sslrootcert={ca}"));
    let (code, _, err) = run_env(&by_ip("sslmode=require"), &out("db"), &["--out-db", &db_url], &[]);
    assert_eq!(code, 0, "{err}");
    let wrong = by_name(&format!("sslmode=verify-full&sslrootcert={other}"));
    let (code, _, err) = run_env(&by_ip("sslmode=require"), &out("db2"), &["--out-db", &wrong], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not signed by a trusted CA"), "{err}");

    // A server without TLS: require is refused with what to do.
    let mut admin = c.client("demo");
    c.hba(&["local all all trust", "host all all 127.0.0.1/32 trust"]);
    admin.batch_execute("ALTER SYSTEM SET ssl = off").unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    let start = Instant::now();
    while admin.query_one("SHOW ssl", &[]).unwrap().get::<_, String>(0) != "off" {
        assert!(start.elapsed() < Duration::from_secs(30), "the server never turned TLS off");
        std::thread::sleep(Duration::from_millis(50));
        admin = c.client("demo");
    }
    let (code, _, err) = run_env(&by_ip("sslmode=require"), &out("no-tls"), &[], &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("server does not support TLS"), "{err}");
    assert!(err.contains("= help: the server does not offer TLS (`ssl = off` in postgresql.conf)"), "{err}");
    let (code, _, err) = run_env(&by_ip("sslmode=prefer"), &out("plain"), &[], &[]);
    assert_eq!(code, 0, "prefer falls back to an unencrypted connection: {err}");
}
