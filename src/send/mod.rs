//! `recoup send`: delivers the email outbox of a run's output folder over
//! SMTP, each message once. The delivery log (`OUT/delivery.csv`, appended
//! and synced row by row) and each message's Message-ID decide what is
//! still to send, so a second send delivers nothing new and a send that was
//! stopped resumes where it stopped. `OUT/actions-sent.csv` restates the
//! log as actions.csv rows for the next night's run. docs/send.md.

pub mod eml;

use crate::output::MARKER;
use chrono::{NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The delivery log's file name, inside the output folder.
pub const LOG: &str = "delivery.csv";
/// The log restated as actions.csv rows, inside the output folder.
pub const ACTIONS_SENT: &str = "actions-sent.csv";
/// The log's columns.
pub const LOG_HEADER: [&str; 7] = ["message_id", "action_id", "customer_id", "to", "result", "reply", "attempted_at"];

/// Why an outbox cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("`{}` is not an output folder of `recoup run` (it has no `{MARKER}` naming a run)", .0.display())]
    NotOurs(PathBuf),
    #[error("`{}` has no email outbox (no `outbox/email.mbox`)", .0.display())]
    NoOutbox(PathBuf),
    #[error("{}:{line}: {message}", .path.display())]
    BadMessage { path: PathBuf, line: usize, message: String },
    #[error("another `recoup send` or `recoup run` is using `{}` (lock `{}`)", .dir.display(), .lock.display())]
    Locked { dir: PathBuf, lock: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SendError + '_ {
    move |source| SendError::Io { path: path.to_path_buf(), source }
}

/// One message of the outbox: where it is, its action, its headers and its bytes.
#[derive(Debug, Clone)]
pub struct Message {
    /// The file it is in: `outbox/email.mbox`, or an `.eml` file of `outbox/email/`.
    pub path: PathBuf,
    /// The line of the mbox its `From ` line is on (0 for an `.eml` file).
    pub line: usize,
    /// The plan's action id: the message's `X-Recoup-Action-Id`, or an `.eml` file's name.
    pub action_id: String,
    pub headers: eml::Headers,
    /// The message as it is sent (RFC 5322).
    pub raw: Vec<u8>,
}

/// A plan row, as actions.csv needs it.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    pub customer_id: String,
    pub invoice_ids: Vec<String>,
    pub rule_id: String,
    pub action: String,
    pub channel: String,
    /// The message it is sent in, when it shares one (plan.csv's `message_id`).
    pub message_id: Option<String>,
}

/// A run's email outbox, read (never written).
#[derive(Debug)]
pub struct Outbox {
    pub dir: PathBuf,
    /// In file-name order.
    pub messages: Vec<Message>,
    /// plan.csv's rows by action id (empty without plan.csv).
    pub plan: HashMap<String, Planned>,
    /// The run's as-of date (manifest.json), the actions' `decided_on`.
    pub as_of: Option<NaiveDate>,
}

/// Is `dir` a folder `recoup run` (or `merge`) wrote?
fn is_run_output(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(MARKER)) else { return false };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { return false };
    v.get("tool").and_then(|t| t.as_str()) == Some("recoup") && v.get("kind").and_then(|k| k.as_str()) == Some("run")
}

impl Outbox {
    /// Read the outbox of output folder `dir`: every message of
    /// `outbox/email.mbox`, then every `outbox/email/*.eml` (the outbox of
    /// recoup 0.x before the mbox, or a message put there by hand), with its
    /// headers checked, and the plan rows they were rendered from.
    pub fn open(dir: &Path) -> Result<Outbox, SendError> {
        if !is_run_output(dir) {
            return Err(SendError::NotOurs(dir.to_path_buf()));
        }
        let mbox = dir.join("outbox").join("email.mbox");
        let email = dir.join("outbox").join("email");
        if !mbox.is_file() && !email.is_dir() {
            return Err(SendError::NoOutbox(dir.to_path_buf()));
        }
        let mut found: Vec<(PathBuf, usize, Vec<u8>)> = Vec::new();
        if mbox.is_file() {
            let bytes = fs::read(&mbox).map_err(io_at(&mbox))?;
            found.extend(crate::outbox::mbox_messages(&bytes).into_iter().map(|(line, raw)| (mbox.clone(), line, raw)));
        }
        if email.is_dir() {
            let mut paths = Vec::new();
            for e in fs::read_dir(&email).map_err(io_at(&email))? {
                let p = e.map_err(io_at(&email))?.path();
                if p.extension().is_some_and(|x| x == "eml") && p.is_file() {
                    paths.push(p);
                }
            }
            paths.sort();
            for path in paths {
                let raw = fs::read(&path).map_err(io_at(&path))?;
                found.push((path, 0, raw));
            }
        }
        let mut messages = Vec::with_capacity(found.len());
        for (path, at, raw) in found {
            // A message's lines counted from its file's first line.
            let line_in_file = |l: usize| if at == 0 { l } else { at + l };
            let headers = eml::parse(&raw).map_err(|e| SendError::BadMessage {
                path: path.clone(),
                line: if e.line == 0 { at } else { line_in_file(e.line) },
                message: e.message,
            })?;
            for a in std::iter::once(&headers.from).chain(&headers.to) {
                if a.parse::<lettre::Address>().is_err() {
                    return Err(SendError::BadMessage {
                        path,
                        line: at,
                        message: format!("`{a}` is not an email address"),
                    });
                }
            }
            let action_id = match (&headers.action_id, at) {
                (Some(id), _) => id.clone(),
                (None, 0) => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                (None, _) => headers.message_id.strip_suffix("@recoup").unwrap_or(&headers.message_id).to_string(),
            };
            messages.push(Message { path, line: at, action_id, headers, raw });
        }
        Ok(Outbox { dir: dir.to_path_buf(), messages, plan: read_plan(dir)?, as_of: read_as_of(dir) })
    }
}

/// plan.csv's rows by action id; none without the file.
fn read_plan(dir: &Path) -> Result<HashMap<String, Planned>, SendError> {
    let path = dir.join("plan.csv");
    let mut out = HashMap::new();
    let Ok(mut r) = csv::Reader::from_path(&path) else { return Ok(out) };
    let headers = r.headers().map_err(|e| SendError::Io { path: path.clone(), source: e.into() })?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(id), Some(cust), Some(inv), Some(rule), Some(action), Some(channel)) =
        (col("action_id"), col("customer_id"), col("invoice_ids"), col("rule_id"), col("action"), col("channel"))
    else {
        return Ok(out);
    };
    let message = col("message_id");
    for row in r.records() {
        let row = row.map_err(|e| SendError::Io { path: path.clone(), source: e.into() })?;
        let get = |i: usize| row.get(i).unwrap_or("").to_string();
        let invoice_ids = get(inv).split(';').filter(|s| !s.is_empty()).map(str::to_string).collect();
        out.insert(
            get(id),
            Planned {
                customer_id: get(cust),
                invoice_ids,
                rule_id: get(rule),
                action: get(action),
                channel: get(channel),
                message_id: message.map(get).filter(|m| !m.is_empty()),
            },
        );
    }
    Ok(out)
}

/// manifest.json's `as_of`.
fn read_as_of(dir: &Path) -> Option<NaiveDate> {
    let text = fs::read_to_string(dir.join("manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("as_of")?.as_str()?.parse().ok()
}

/// What the server said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Accepted (2xx after the data): the server's reply.
    Sent(String),
    /// Refused for good (5xx): the server's reply. Not sent again.
    Refused(String),
    /// Not delivered this time (a 4xx, no connection, a timeout): sent
    /// again by the next `recoup send`.
    Failed(String),
}

impl Reply {
    fn word(&self) -> &'static str {
        match self {
            Reply::Sent(_) => "sent",
            Reply::Refused(_) => "refused",
            Reply::Failed(_) => "failed",
        }
    }

    fn text(&self) -> &str {
        match self {
            Reply::Sent(t) | Reply::Refused(t) | Reply::Failed(t) => t,
        }
    }
}

/// Something that delivers one message: SMTP ([`Smtp`]).
pub trait Deliver {
    fn deliver(&mut self, from: &str, to: &[String], raw: &[u8]) -> Reply;
}

/// How `recoup send` reaches the SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtp://host[:port]` (no TLS), `smtp+starttls://host[:port]` (STARTTLS
    /// required; default port 587), `smtps://host[:port]` (TLS from the
    /// first byte; default port 465).
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub timeout: Duration,
    /// A certificate authority (PEM) trusted besides the Mozilla roots: a
    /// company's own mail relay, a test server.
    pub ca_cert: Option<Vec<u8>>,
}

/// The SMTP transport (lettre, rustls): one connection per message.
pub struct Smtp(lettre::SmtpTransport);

impl Smtp {
    /// The transport `config` describes; an error in words for a bad URL.
    pub fn new(config: &SmtpConfig) -> Result<Smtp, String> {
        use lettre::SmtpTransport;
        use lettre::transport::smtp::authentication::Credentials;
        let url = url::Url::parse(&config.url)
            .map_err(|e| format!("`{}` is not an SMTP URL ({e}); write e.g. smtp://localhost:2525", config.url))?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| format!("`{}` names no host", config.url))?;
        if url.password().is_some() {
            return Err("the SMTP URL holds a password: command lines are visible to other users; \
                        give it in the environment variable RECOUP_SMTP_PASSWORD instead"
                .into());
        }
        // TLS checks the server's certificate against the Mozilla roots, and
        // against the --ca-cert authority when one is given.
        let tls = || -> Result<lettre::transport::smtp::client::TlsParameters, String> {
            use lettre::transport::smtp::client::{Certificate, TlsParameters};
            let mut b = TlsParameters::builder(host.to_string());
            if let Some(pem) = &config.ca_cert {
                if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                    return Err("--ca-cert: the file holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
                }
                let cert = Certificate::from_pem(pem).map_err(|e| format!("--ca-cert: not a PEM certificate ({e})"))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| format!("TLS for `{host}`: {e}"))
        };
        use lettre::transport::smtp::client::Tls;
        let builder = match url.scheme() {
            "smtp" => SmtpTransport::builder_dangerous(host).port(url.port().unwrap_or(25)),
            "smtp+starttls" => {
                SmtpTransport::builder_dangerous(host).port(url.port().unwrap_or(587)).tls(Tls::Required(tls()?))
            }
            "smtps" => SmtpTransport::builder_dangerous(host).port(url.port().unwrap_or(465)).tls(Tls::Wrapper(tls()?)),
            other => {
                return Err(format!(
                    "`{other}://` is not a mail transport recoup knows; use smtp://, smtp+starttls:// or smtps://"
                ));
            }
        };
        let user = config.user.clone().or_else(|| (!url.username().is_empty()).then(|| url.username().to_string()));
        let mut builder = builder.timeout(Some(config.timeout));
        if let Some(user) = user {
            let password = config.password.clone().ok_or_else(|| {
                format!("user `{user}` needs a password: set the environment variable RECOUP_SMTP_PASSWORD")
            })?;
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Smtp(builder.build()))
    }
}

impl Deliver for Smtp {
    fn deliver(&mut self, from: &str, to: &[String], raw: &[u8]) -> Reply {
        use lettre::Transport;
        let parse = |a: &str| a.parse::<lettre::Address>().map_err(|e| Reply::Refused(format!("`{a}`: {e}")));
        let envelope = (|| {
            let from = parse(from)?;
            let to = to.iter().map(|a| parse(a)).collect::<Result<Vec<_>, _>>()?;
            lettre::address::Envelope::new(Some(from), to).map_err(|e| Reply::Refused(e.to_string()))
        })();
        let envelope = match envelope {
            Ok(e) => e,
            Err(r) => return r,
        };
        match self.0.send_raw(&envelope, raw) {
            Ok(resp) => Reply::Sent(format!("{} {}", resp.code(), resp.message().collect::<Vec<_>>().join(" "))),
            Err(e) if e.is_permanent() => Reply::Refused(e.to_string()),
            Err(e) => Reply::Failed(e.to_string()),
        }
    }
}

/// One row of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    pub message_id: String,
    pub action_id: String,
    pub customer_id: String,
    pub to: String,
    /// `sending` (written before the message goes out), `sent`, `refused`, `failed`.
    pub result: String,
    pub reply: String,
    pub attempted_at: String,
}

/// The delivery log, open for appending; each row synced to disk before the
/// next step.
pub struct Log {
    path: PathBuf,
    file: fs::File,
    /// Every row read or written, in order.
    pub rows: Vec<LogRow>,
}

impl Log {
    /// Open (or create) the log of output folder `dir` and read its rows.
    /// A row cut short by a crash is ignored (a newline ends it first).
    pub fn open(dir: &Path) -> Result<Log, SendError> {
        let path = dir.join(LOG);
        let existing = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(SendError::Io { path, source: e }),
        };
        let mut file = fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io_at(&path))?;
        let mut rows = Vec::new();
        if existing.is_empty() {
            file.write_all(format!("{}\n", LOG_HEADER.join(",")).as_bytes()).map_err(io_at(&path))?;
            file.sync_all().map_err(io_at(&path))?;
        } else {
            if !existing.ends_with(b"\n") {
                file.write_all(b"\n").map_err(io_at(&path))?;
            }
            let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(&existing[..]);
            for rec in r.records().flatten() {
                if rec.len() != LOG_HEADER.len() {
                    continue;
                }
                let f = |i: usize| rec.get(i).unwrap_or("").to_string();
                rows.push(LogRow {
                    message_id: f(0),
                    action_id: f(1),
                    customer_id: f(2),
                    to: f(3),
                    result: f(4),
                    reply: f(5),
                    attempted_at: f(6),
                });
            }
        }
        Ok(Log { path, file, rows })
    }

    /// Append `row` and sync it to disk.
    pub fn append(&mut self, row: LogRow) -> Result<(), SendError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let r = &row;
        w.write_record([&r.message_id, &r.action_id, &r.customer_id, &r.to, &r.result, &r.reply, &r.attempted_at])
            .map_err(|e| SendError::Io { path: self.path.clone(), source: e.into() })?;
        let bytes = w.into_inner().map_err(|e| SendError::Io { path: self.path.clone(), source: e.into_error() })?;
        self.file.write_all(&bytes).map_err(io_at(&self.path))?;
        self.file.sync_data().map_err(io_at(&self.path))?;
        self.rows.push(row);
        Ok(())
    }

    /// The latest row of each message id.
    pub fn latest(&self) -> HashMap<&str, &LogRow> {
        let mut m = HashMap::new();
        for r in &self.rows {
            m.insert(r.message_id.as_str(), r);
        }
        m
    }
}

/// Hold the lock `recoup run` takes for output folder `dir` (`.NAME.lock`
/// beside it) while sending: a run cannot replace the folder, and its log,
/// under a send, nor can two sends overlap.
pub fn lock(dir: &Path) -> Result<fs::File, SendError> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let lock = parent.join(format!(".{name}.lock"));
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock).map_err(io_at(&lock))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(SendError::Locked { dir: dir.to_path_buf(), lock }),
        Err(fs::TryLockError::Error(e)) => Err(SendError::Io { path: lock, source: e }),
    }
}

/// How a send goes.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// At most this many messages a second (none: as fast as the server takes them).
    pub rate: Option<f64>,
    /// Send again the messages an earlier send was sending when it stopped
    /// (their fate is unknown: they may have reached the server).
    pub resend_unknown: bool,
    /// Tests: abort the process once this many messages were accepted,
    /// before the last one's result is logged (a crash at the worst moment).
    pub crash_after: Option<usize>,
}

/// What a send did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub messages: usize,
    pub sent: usize,
    pub refused: usize,
    pub failed: usize,
    /// Sent or refused by an earlier send: not sent again.
    pub done_before: usize,
    /// Being sent when an earlier send stopped, and not sent again
    /// (`--resend-unknown` sends them).
    pub unknown: usize,
    /// A second file with a Message-ID already in the outbox: not sent.
    pub duplicates: usize,
}

/// The time as the log writes it.
fn now() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Send every message of `outbox` not yet sent or refused, through
/// `transport`, logging each in `log`; `each` hears of every message sent.
pub fn send_all(
    outbox: &Outbox,
    log: &mut Log,
    transport: &mut dyn Deliver,
    opts: &SendOptions,
    each: &mut dyn FnMut(&Message, &Reply),
) -> Result<Tally, SendError> {
    let latest: HashMap<String, String> =
        log.latest().into_iter().map(|(k, v)| (k.to_string(), v.result.clone())).collect();
    let mut tally = Tally { messages: outbox.messages.len(), ..Tally::default() };
    let mut seen = HashSet::new();
    let mut accepted = 0usize;
    let gap = opts.rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(1.0 / r));
    let mut last: Option<std::time::Instant> = None;
    for m in &outbox.messages {
        let id = m.headers.message_id.as_str();
        if !seen.insert(id) {
            tally.duplicates += 1;
            continue;
        }
        match latest.get(id).map(String::as_str) {
            Some("sent" | "refused") => {
                tally.done_before += 1;
                continue;
            }
            Some("sending") if !opts.resend_unknown => {
                tally.unknown += 1;
                continue;
            }
            _ => {}
        }
        if let (Some(gap), Some(t)) = (gap, last) {
            std::thread::sleep(gap.saturating_sub(t.elapsed()));
        }
        last = Some(std::time::Instant::now());
        let customer_id = m
            .headers
            .customer
            .clone()
            .or_else(|| outbox.plan.get(&m.action_id).map(|p| p.customer_id.clone()))
            .unwrap_or_default();
        let row = |result: &str, reply: &str| LogRow {
            message_id: id.to_string(),
            action_id: m.action_id.clone(),
            customer_id: customer_id.clone(),
            to: m.headers.to.join(" "),
            result: result.to_string(),
            reply: reply.to_string(),
            attempted_at: now(),
        };
        log.append(row("sending", ""))?;
        let reply = transport.deliver(&m.headers.from, &m.headers.to, &m.raw);
        if matches!(reply, Reply::Sent(_)) {
            accepted += 1;
            if opts.crash_after == Some(accepted) {
                std::process::abort();
            }
        }
        // One line: a multi-line reply joined.
        let text = reply.text().split_whitespace().collect::<Vec<_>>().join(" ");
        log.append(row(reply.word(), &text))?;
        match reply {
            Reply::Sent(_) => tally.sent += 1,
            Reply::Refused(_) => tally.refused += 1,
            Reply::Failed(_) => tally.failed += 1,
        }
        each(m, &reply);
    }
    Ok(tally)
}

/// actions.csv's columns, as `actions-sent.csv` writes them.
pub const ACTIONS_HEADER: &str =
    "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome";

/// The log as actions.csv rows: every message of the outbox with a final
/// result (`sent` → outcome `delivered`, `refused` → `bounced`), one row per
/// invoice it lists (ids `ID`, `ID-2`, ...: actions.csv's ids are unique),
/// executed on `executed_on` (`recoup send --date`, by default the run's
/// as-of date: never the clock's). Messages not in plan.csv
/// are left out (their rule is not known).
pub fn actions_sent(outbox: &Outbox, log: &Log, executed_on: NaiveDate, w: &mut dyn Write) -> io::Result<usize> {
    let latest = log.latest();
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(ACTIONS_HEADER.split(','))?;
    let decided = outbox.as_of.map(|d| d.to_string()).unwrap_or_default();
    let mut n = 0;
    let mut seen = HashSet::new();
    // The other actions of each shared message, by action id.
    let mut shared: HashMap<&str, Vec<(&String, &Planned)>> = HashMap::new();
    for (id, q) in &outbox.plan {
        if let Some(lead) = q.message_id.as_deref().filter(|l| *l != id.as_str()) {
            shared.entry(lead).or_default().push((id, q));
        }
    }
    for v in shared.values_mut() {
        v.sort_by(|a, b| a.0.cmp(b.0));
    }
    for m in &outbox.messages {
        if !seen.insert(m.headers.message_id.as_str()) {
            continue;
        }
        let Some(r) = latest.get(m.headers.message_id.as_str()) else { continue };
        let outcome = match r.result.as_str() {
            "sent" => "delivered",
            "refused" => "bounced",
            _ => continue,
        };
        let Some(p) = outbox.plan.get(&m.action_id) else { continue };
        let executed = executed_on.to_string();
        let decided = if decided.is_empty() { executed.clone() } else { decided.clone() };
        // A message shared by several actions (`message_id`): the rows of
        // each, with its own rule, the lead's first, then by action id.
        let members = shared.get(m.action_id.as_str()).map_or(&[][..], Vec::as_slice);
        let rows = std::iter::once(p).chain(members.iter().map(|(_, q)| *q)).flat_map(|p| {
            let invoices: Vec<&str> =
                if p.invoice_ids.is_empty() { vec![""] } else { p.invoice_ids.iter().map(String::as_str).collect() };
            invoices.into_iter().map(move |inv| (inv, p))
        });
        for (k, (inv, p)) in rows.enumerate() {
            // actions.csv's ids are unique: a message that lists several
            // invoices is one row per invoice, the second on `ID-2`, and so on.
            let id = if k == 0 { m.action_id.clone() } else { format!("{}-{}", m.action_id, k + 1) };
            csv.write_record([
                id.as_str(),
                &p.customer_id,
                inv,
                &p.rule_id,
                &p.action,
                &p.channel,
                &decided,
                &executed,
                outcome,
            ])?;
            n += 1;
        }
    }
    csv.flush()?;
    Ok(n)
}
