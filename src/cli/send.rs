//! `recoup send`: deliver a run's email outbox over SMTP, each message once
//! (docs/send.md); the delivery log and actions-sent.csv land in the run's
//! output folder.

use super::{Exit, ExitError, Format, say};
use crate::send::{self, Outbox, Reply, SendError, SendOptions, Smtp, SmtpConfig};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// The environment variable holding the SMTP password (never an argument:
/// command lines are visible to other users).
pub const PASSWORD_ENV: &str = "RECOUP_SMTP_PASSWORD";
/// Tests only: abort after this many messages were accepted, before the
/// last one's result is logged (tests/send.rs).
const CRASH_ENV: &str = "RECOUP_FAULT_SEND_CRASH_AFTER";

#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// The output folder of `recoup run` whose e-mails (outbox/email.mbox) to send.
    #[arg(long, value_name = "OUT_DIR")]
    pub outbox: PathBuf,
    /// The SMTP server: smtp://HOST[:PORT] (no TLS), smtp+starttls://HOST[:PORT] (STARTTLS required, port 587), smtps://HOST[:PORT] (TLS, port 465).
    #[arg(long, value_name = "URL")]
    pub smtp: String,
    /// The SMTP user (or smtp://USER@HOST); the password is read from RECOUP_SMTP_PASSWORD.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// A certificate authority (PEM file) to trust besides the Mozilla roots, for a relay with a company's own certificate.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Seconds to wait for the server at each step before a message counts as failed.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// At most this many messages a second.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Send again the messages an earlier send was sending when it stopped (they may have reached the server: check its log first).
    #[arg(long)]
    pub resend_unknown: bool,
    /// The day the messages are sent, actions-sent.csv's `executed_on` (default: the run's as-of date).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
    /// Print only errors and warnings.
    #[arg(long, short)]
    pub quiet: bool,
    /// What to print on stdout: `text`, or `json` (the tally).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn failed(e: SendError) -> anyhow::Error {
    let (code, help) = match &e {
        SendError::NotOurs(_) => {
            (Exit::Usage, "--outbox takes the output folder of `recoup run` (the folder given to its --out)")
        }
        SendError::NoOutbox(_) => {
            (Exit::Usage, "the run wrote no email outbox: run with a policy whose steps send emails")
        }
        SendError::BadMessage { .. } => {
            (Exit::InputInvalid, "nothing was sent; fix or re-render the outbox with `recoup run`")
        }
        SendError::Locked { .. } => (Exit::Failed, "wait for it to finish, then send again"),
        SendError::Io { .. } => (Exit::Failed, "nothing more was sent; the delivery log holds what was"),
    };
    ExitError { code, message: format!("{e}\n  = help: {help}") }.into()
}

/// Run `recoup send`.
pub fn run(a: SendArgs) -> anyhow::Result<Exit> {
    if a.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(ExitError {
            code: Exit::Usage,
            message: "--rate must be a number of messages a second above 0".into(),
        }
        .into());
    }
    let ca_cert = match &a.ca_cert {
        None => None,
        Some(p) => Some(
            std::fs::read(p)
                .map_err(|e| ExitError { code: Exit::Usage, message: format!("--ca-cert `{}`: {e}", p.display()) })?,
        ),
    };
    let config = SmtpConfig {
        ca_cert,
        url: a.smtp.clone(),
        user: a.user.clone(),
        password: std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()),
        timeout: Duration::from_secs(a.timeout.max(1)),
    };
    let mut smtp = Smtp::new(&config).map_err(|m| ExitError { code: Exit::Usage, message: m })?;
    let outbox = Outbox::open(&a.outbox).map_err(failed)?;
    let _lock = send::lock(&a.outbox).map_err(failed)?;
    let mut log = send::Log::open(&a.outbox).map_err(failed)?;
    let opts = SendOptions {
        rate: a.rate,
        resend_unknown: a.resend_unknown,
        crash_after: std::env::var(CRASH_ENV).ok().and_then(|v| v.parse().ok()),
    };
    let mut each = |m: &send::Message, r: &Reply| {
        if let Reply::Refused(t) | Reply::Failed(t) = r {
            let word = if matches!(r, Reply::Refused(_)) { "refused" } else { "failed" };
            say!(
                "{} {} {word} ({}): {t}",
                super::style::warning_word("warning:"),
                m.action_id,
                m.headers.to.join(", ")
            );
        }
    };
    let tally = send::send_all(&outbox, &mut log, &mut smtp, &opts, &mut each);
    // Whatever happened, the log's final rows become actions-sent.csv.
    let sent_path = a.outbox.join(send::ACTIONS_SENT);
    // The day the messages went out: --date, else the run's as-of date (the
    // messages' own Date header); the clock only for an outbox without one.
    let date = super::as_of_or_today(a.date.or(outbox.as_of));
    let rows = crate::output::write_atomic(&sent_path, |w| send::actions_sent(&outbox, &log, date, w).map(|_| ()));
    let tally = tally.map_err(failed)?;
    rows.map_err(|e| ExitError { code: Exit::Failed, message: format!("{}: {e}", sent_path.display()) })?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&tally)?);
        }
        Format::Text if !a.quiet => {
            let _ = writeln!(
                out,
                "{} message(s) in {}: {} sent now, {} refused, {} failed; {} sent or refused earlier",
                tally.messages,
                a.outbox.join("outbox").join("email.mbox").display(),
                tally.sent,
                tally.refused,
                tally.failed,
                tally.done_before
            );
            if tally.duplicates > 0 {
                let _ = writeln!(out, "{} file(s) repeat a Message-ID of an earlier file: not sent", tally.duplicates);
            }
            let _ = writeln!(
                out,
                "log: {}\nfor the next run: append {} to actions.csv (docs/send.md)",
                a.outbox.join(send::LOG).display(),
                sent_path.display()
            );
        }
        Format::Text => {}
    }
    if tally.unknown > 0 {
        say!(
            "{} {} message(s) were being sent when an earlier send stopped: not sent again, as they may have reached the server",
            super::style::warning_word("warning:"),
            tally.unknown
        );
        say!(
            "  = help: look them up (result `sending`) in the server's log; to send them again: recoup send --resend-unknown"
        );
    }
    Ok(if tally.failed > 0 || tally.unknown > 0 { Exit::SendIncomplete } else { Exit::Ok })
}
