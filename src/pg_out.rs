//! A run's outputs written to PostgreSQL (`recoup run --out-db`): the plan,
//! the worklist and the summary as tables of one schema, replaced in one
//! transaction (a failed or killed run leaves the previous complete set),
//! under an advisory lock that refuses a second concurrent run on the same
//! schema. The tables are filled from the run's own output files, so they
//! hold exactly what plan.csv, worklist.csv and summary.json hold.

use crate::ledger::postgres::{PgLoadError, describe, quote_name, redact};
use chrono::NaiveDate;
use std::path::Path;

/// The advisory lock's first key: `reco` in ASCII; the second is the hash
/// of the schema's name.
pub const LOCK_CLASS: i32 = 0x7265_636f;

/// Numeric and date columns of plan.csv and worklist.csv; every other column is text.
const NUMERIC: &[&str] = &[
    "amount_due",
    "fee",
    "compensation",
    "interest",
    "discount_pct",
    "discount",
    "discount_cost",
    "instalment_amount",
    "old_limit",
    "new_limit",
    "cost",
    "priority",
];
const DATES: &[&str] = &["pay_by", "review_on"];

/// Why the outputs could not be written to the database.
#[derive(Debug, thiserror::Error)]
pub enum PgOutError {
    #[error("`{url}` is not a PostgreSQL connection URL: {message}")]
    BadUrl { url: String, message: String },
    /// `help`: what to do (a TLS or pg_hba.conf refusal); empty for the generic advice.
    #[error("cannot connect to `{url}`: {message}")]
    Connect { url: String, message: String, help: String },
    /// Another run holds the schema's advisory lock.
    #[error(
        "another recoup run is writing schema `{schema}` (it holds the advisory lock); nothing was written to the database"
    )]
    Locked { schema: String },
    /// The schema holds tables recoup did not create.
    #[error("schema `{schema}` holds tables recoup did not create; refusing to write into it")]
    Foreign { schema: String },
    #[error("writing the outputs to schema `{schema}` failed (the previous set is kept): {message}")]
    Write { schema: String, message: String },
    #[error("cannot read the run's output `{}`: {source}", path.display())]
    Io { path: std::path::PathBuf, source: std::io::Error },
}

/// A connection holding the schema's advisory lock until it is dropped.
pub struct Session {
    client: postgres::Client,
    schema: String,
}

impl Session {
    /// Connect and take the advisory lock of `schema`, or refuse at once.
    pub fn lock(url: &str, schema: &str) -> Result<Session, PgOutError> {
        quote_name(schema).map_err(|message| PgOutError::BadUrl { url: schema.to_string(), message })?;
        if schema.contains('.') {
            return Err(PgOutError::BadUrl {
                url: schema.to_string(),
                message: "--out-schema takes a schema name, without a `.`".into(),
            });
        }
        let mut client = crate::ledger::postgres::connect(url).map_err(|e| match e {
            PgLoadError::BadUrl { url, message } => PgOutError::BadUrl { url, message },
            PgLoadError::Connect { url, message, help } => PgOutError::Connect { url, message, help },
            PgLoadError::Tls { url, message, help } => PgOutError::Connect { url, message, help: help.into() },
            other => PgOutError::Connect { url: redact(url), message: other.to_string(), help: String::new() },
        })?;
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1, hashtext($2))", &[&LOCK_CLASS, &schema])
            .map_err(|e| PgOutError::Connect { url: redact(url), message: describe(&e), help: String::new() })?
            .get(0);
        if !got {
            return Err(PgOutError::Locked { schema: schema.to_string() });
        }
        Ok(Session { client, schema: schema.to_string() })
    }

    /// Replace the schema's tables with the outputs in the folder `out`
    /// (plan.csv, worklist.csv, summary.json, manifest.json), in one transaction.
    pub fn write(&mut self, out: &Path, as_of: NaiveDate) -> Result<(), PgOutError> {
        let read = |name: &str| {
            let path = out.join(name);
            std::fs::read(&path).map_err(|source| PgOutError::Io { path, source })
        };
        let (plan, worklist) = (read("plan.csv")?, read("worklist.csv")?);
        let summary = String::from_utf8_lossy(&read("summary.json")?).into_owned();
        let manifest = String::from_utf8_lossy(&read("manifest.json")?).into_owned();
        let schema = self.schema.clone();
        let fail = |e: postgres::Error| PgOutError::Write { schema: schema.clone(), message: describe(&e) };
        let s = quote_name(&self.schema).map_err(|message| PgOutError::Write { schema: schema.clone(), message })?;
        let mut tx = self.client.transaction().map_err(fail)?;
        // A schema that exists and holds tables without recoup's marker is someone else's.
        let foreign: bool = tx
            .query_one(
                "SELECT count(*) > 0 AND to_regclass(quote_ident($1) || '.recoup_output') IS NULL \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
                &[&self.schema],
            )
            .map_err(fail)?
            .get(0);
        if foreign {
            return Err(PgOutError::Foreign { schema });
        }
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.recoup_output (note text);
             CREATE TABLE IF NOT EXISTS {s}.summary (as_of date NOT NULL, policy text NOT NULL, \
                 policy_version text NOT NULL, actions bigint NOT NULL, summary jsonb NOT NULL, manifest jsonb NOT NULL);
             TRUNCATE {s}.recoup_output, {s}.summary;
             INSERT INTO {s}.recoup_output VALUES ('written by recoup run --out-db: replaced as a whole by each run')"
        ))
        .map_err(fail)?;
        for (table, csv) in [("plan", &plan), ("worklist", &worklist)] {
            let header = csv.split(|&b| b == b'\n').next().unwrap_or_default();
            let columns: Vec<String> =
                String::from_utf8_lossy(header).trim_end().split(',').map(|c| c.trim().to_string()).collect();
            replace_table(&mut tx, &s, table, &columns).map_err(fail)?;
            let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
            let mut w = tx
                .copy_in(&format!("COPY {s}.{table} ({}) FROM STDIN WITH (FORMAT csv, HEADER)", names.join(", ")))
                .map_err(fail)?;
            std::io::Write::write_all(&mut w, csv)
                .map_err(|e| PgOutError::Write { schema: schema.clone(), message: e.to_string() })?;
            w.finish().map_err(fail)?;
        }
        let v: serde_json::Value = serde_json::from_str(&summary).unwrap_or_default();
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        let actions = v
            .get("actions")
            .and_then(|a| a.get("count"))
            .and_then(|t| t.as_i64())
            .unwrap_or_else(|| plan.iter().filter(|&&b| b == b'\n').count().saturating_sub(1) as i64);
        tx.execute(
            &format!("INSERT INTO {s}.summary VALUES ($1::text::date, $2, $3, $4, $5::text::jsonb, $6::text::jsonb)"),
            &[&as_of.to_string(), &text("policy"), &text("policy_version"), &actions, &summary, &manifest],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)
    }
}

/// Empty `table`, made anew when its columns are not `columns` (a newer
/// recoup's plan), so grants on an unchanged table are kept.
fn replace_table(
    tx: &mut postgres::Transaction<'_>,
    s: &str,
    table: &str,
    columns: &[String],
) -> Result<(), postgres::Error> {
    let have: Vec<String> = tx
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[&s.trim_matches('"').replace("\"\"", "\""), &table],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if have == columns {
        return tx.batch_execute(&format!("TRUNCATE {s}.{table}"));
    }
    let defs: Vec<String> = columns
        .iter()
        .map(|c| {
            let ty = if NUMERIC.contains(&c.as_str()) {
                "numeric"
            } else if DATES.contains(&c.as_str()) {
                "date"
            } else if c == "rank" {
                "bigint"
            } else {
                "text"
            };
            format!("\"{}\" {ty}", c.replace('"', "\"\""))
        })
        .collect();
    tx.batch_execute(&format!("DROP TABLE IF EXISTS {s}.{table}; CREATE TABLE {s}.{table} ({})", defs.join(", ")))
}
