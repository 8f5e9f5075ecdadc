//! `recoup send` against a real SMTP server on localhost (aiosmtpd,
//! tests/smtp/server.py; .ci/test installs it): every message of the outbox
//! reaches the server once, with its headers; a second send delivers
//! nothing new; a refused recipient is logged with the server's reply; a
//! send that crashed resumes without sending any message twice.

use crate::common::repo;
use recoup::send::eml;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_recoup");

/// The SMTP server, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    /// The server, with `tls` its certificate and key (PEM files): STARTTLS required.
    fn start_with(dir: &Path, tls: &[&Path]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("python3")
            .arg(repo("tests/smtp/server.py"))
            .arg(port.to_string())
            .arg(dir)
            .args(tls)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs tests/smtp/server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP server did not start: is aiosmtpd installed? (`bash .ci/test` installs it: pip install aiosmtpd)"
        );
        Server { child, port, dir: dir.to_path_buf() }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// What it received: Message-ID → (how many times, the bytes of the last, its envelope recipients).
    fn received(&self) -> BTreeMap<String, (usize, Vec<u8>, Vec<String>)> {
        let mut out: BTreeMap<String, (usize, Vec<u8>, Vec<String>)> = BTreeMap::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        for f in files {
            let raw = std::fs::read(&f).unwrap();
            let env: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f.with_extension("json")).unwrap()).unwrap();
            let to = env["to"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
            let id = eml::parse(&raw).unwrap().message_id;
            let e = out.entry(id).or_insert((0, Vec::new(), Vec::new()));
            e.0 += 1;
            e.1 = raw;
            e.2 = to;
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(out: &Path, url: &str, extra: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(BIN);
    c.args(["send", "--outbox"]).arg(out).args(["--smtp", url, "--timeout", "5"]).args(extra);
    c.env("NO_COLOR", "1").env_remove("RECOUP_SMTP_PASSWORD").stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// An email of the outbox, as RFC 5322 with CRLF line ends.
fn message(action: &str, customer: &str, to: &str) -> String {
    format!(
        "From: \"Acme Credit\" <credit@acme.example>\r\nTo: {to}\r\nSubject: Your account {customer}\r\n\
         Message-ID: <{action}@recoup.invalid>\r\nX-Recoup-Customer: {customer}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nDear customer,\r\n.\r\nplease pay {action}.\r\n"
    )
}

/// A run's output folder of `recoup run` on the demo, with an email outbox:
/// the run's own, or (a run that renders none) one message per email action
/// of its plan, the first `n`.
fn demo_run(tmp: &Path, n: usize) -> PathBuf {
    let out = tmp.join("out");
    let o = Command::new(BIN)
        .args(["run", "--quiet", "--ledger"])
        .arg(repo("fixtures/demo"))
        .arg("--policy")
        .arg(repo("policies/standard"))
        .args(["--as-of", "2026-11-16", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let email = out.join("outbox").join("email");
    if !out.join("outbox/email.mbox").is_file() {
        std::fs::create_dir_all(&email).unwrap();
        let mut r = csv::Reader::from_path(out.join("plan.csv")).unwrap();
        let h = r.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|x| x == n).unwrap();
        let (id, cust, action) = (col("action_id"), col("customer_id"), col("action"));
        let rows: Vec<csv::StringRecord> =
            r.records().map(Result::unwrap).filter(|r| &r[action] == "email").take(n).collect();
        assert_eq!(rows.len(), n, "the demo plan has {n} emails");
        for r in rows {
            let to = format!("ap-{}@customer.example", r[cust].to_lowercase());
            std::fs::write(email.join(format!("{}.eml", &r[id])), message(&r[id], &r[cust], &to)).unwrap();
        }
    }
    out
}

/// The outbox's messages, those of email.mbox and any `.eml` file of
/// outbox/email/: Message-ID → (the message's bytes, To addresses).
fn outbox(out: &Path) -> BTreeMap<String, (Vec<u8>, Vec<String>)> {
    let mut m = BTreeMap::new();
    let mut all: Vec<Vec<u8>> = match std::fs::read(out.join("outbox/email.mbox")) {
        Ok(mbox) => recoup::outbox::mbox_messages(&mbox).into_iter().map(|(_, raw)| raw).collect(),
        Err(_) => Vec::new(),
    };
    for e in std::fs::read_dir(out.join("outbox/email")).into_iter().flatten() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "eml") {
            all.push(std::fs::read(&p).unwrap());
        }
    }
    for raw in all {
        let h = eml::parse(&raw).unwrap();
        m.insert(h.message_id, (raw, h.to));
    }
    m
}

fn log_rows(out: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(out.join("delivery.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    r.records().map(|x| h.iter().zip(x.unwrap().iter()).map(|(k, v)| (k.into(), v.into())).collect()).collect()
}

#[test]
fn the_server_receives_each_message_of_the_outbox_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo_run(tmp.path(), 6);
    let want = outbox(&out);
    assert!(!want.is_empty());
    let server = Server::start(&tmp.path().join("inbox"));
    let (code, stdout, stderr) = send(&out, &server.url(), &[], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let n = want.len();
    let sent = std::fs::read_to_string(out.join("actions-sent.csv")).unwrap();
    assert!(sent.lines().skip(1).all(|r| r.ends_with(",2026-11-16,2026-11-16,delivered")), "{sent}");
    assert!(
        stdout.contains(&format!("{n} message(s) in")) && stdout.contains(&format!(": {n} sent now, 0 refused")),
        "{stdout}"
    );
    // Exactly the outbox's messages, each once, byte for byte, to its To addresses.
    let got = server.received();
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    for (id, (raw, to)) in &want {
        let (times, body, rcpt) = &got[id];
        assert_eq!(*times, 1, "{id}");
        // As it is, byte for byte (a line holding only `.` too: SMTP's dot
        // stuffing undone), but for the empty line lettre's end of data adds.
        assert_eq!(body.strip_suffix(b"\r\n"), Some(&raw[..]), "{id}: the server got the file as it is");
        assert_eq!(rcpt, to, "{id}");
    }
    // The log: a `sending` row then a `sent` row with the server's reply, per message.
    let rows = log_rows(&out);
    assert_eq!(rows.len(), 2 * n);
    for pair in rows.chunks(2) {
        assert_eq!((pair[0]["result"].as_str(), pair[1]["result"].as_str()), ("sending", "sent"));
        assert!(pair[1]["reply"].starts_with("250 2.0.0 queued as"), "{:?}", pair[1]);
        assert!(!pair[1]["customer_id"].is_empty() && pair[1]["to"].contains('@'));
    }

    // A second send delivers nothing new and logs nothing (its --date only dates the rows).
    let (code, stdout, _) = send(&out, &server.url(), &["--date", "2026-11-17"], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains(&format!(": 0 sent now, 0 refused, 0 failed; {n} sent or refused earlier")), "{stdout}");
    assert_eq!(server.received().values().map(|v| v.0).sum::<usize>(), n);
    assert_eq!(log_rows(&out).len(), 2 * n);
    // The outbox's messages are as they were.
    assert_eq!(outbox(&out), want);

    // actions-sent.csv: the messages as actions.csv rows, outcome delivered,
    // one per invoice listed; appended to the ledger's actions.csv, the next
    // run reads them.
    let sent = std::fs::read_to_string(out.join("actions-sent.csv")).unwrap();
    let mut lines = sent.lines();
    assert_eq!(lines.next(), Some(recoup::send::ACTIONS_HEADER));
    let rows: Vec<&str> = lines.collect();
    assert!(
        // Channel email, decided on the run's date (the action: a notice, an offer, ...), executed on
        // the send's --date (without it, the run's date: never the clock's).
        rows.len() >= n && rows.iter().all(|r| r.ends_with(",email,2026-11-16,2026-11-17,delivered")),
        "{sent}"
    );
    let ledger = tmp.path().join("ledger");
    std::fs::create_dir(&ledger).unwrap();
    for f in ["customers.csv", "invoices.csv", "payments.csv", "promises.csv", "actions.csv"] {
        if repo("fixtures/demo").join(f).exists() {
            std::fs::copy(repo("fixtures/demo").join(f), ledger.join(f)).unwrap();
        }
    }
    let mut actions = std::fs::read_to_string(ledger.join("actions.csv")).unwrap();
    assert!(actions.starts_with(recoup::send::ACTIONS_HEADER), "the demo's actions.csv has actions-sent.csv's columns");
    for r in &rows {
        actions.push_str(r);
        actions.push('\n');
    }
    std::fs::write(ledger.join("actions.csv"), actions).unwrap();
    let l = recoup::ledger::load(&ledger, &recoup::ledger::LoadOptions::default()).unwrap();
    // A message listing several invoices is a row per invoice: ID, ID-2, ...
    let base = |id: &str| id.split('-').next().unwrap_or(id).to_string();
    let delivered = l.actions.iter().filter(|a| want.keys().any(|id| id.starts_with(&base(&a.id)))).count();
    assert_eq!(delivered, rows.len());
}

#[test]
fn a_refused_recipient_is_logged_with_the_reply_and_not_sent_again() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo_run(tmp.path(), 2);
    // A message put beside the mbox by hand, as an .eml file of outbox/email/.
    let email = out.join("outbox/email");
    std::fs::create_dir_all(&email).unwrap();
    std::fs::write(email.join("Rzz-refused.eml"), message("Rzz-refused", "C000001", "refuse-me@customer.example"))
        .unwrap();
    let server = Server::start(&tmp.path().join("inbox"));
    let (code, stdout, stderr) = send(&out, &server.url(), &[], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 refused, 0 failed"), "{stdout}");
    assert!(
        stderr.contains("warning: Rzz-refused refused (refuse-me@customer.example): permanent error (550)"),
        "{stderr}"
    );
    let rows = log_rows(&out);
    let last = rows.iter().rfind(|r| r["action_id"] == "Rzz-refused").unwrap();
    assert_eq!(last["result"], "refused");
    assert!(last["reply"].contains("550") && last["reply"].contains("mailbox unavailable"), "{last:?}");
    assert_eq!(last["customer_id"], "C000001");
    assert!(!server.received().contains_key("Rzz-refused@recoup.invalid"));
    // Refused is final: the next send does not try again.
    let before = log_rows(&out).len();
    let (code, stdout, _) = send(&out, &server.url(), &[], &[]);
    assert_eq!((code, log_rows(&out).len()), (0, before));
    assert!(stdout.contains("0 sent now, 0 refused"), "{stdout}");
}

#[test]
fn a_send_that_crashed_resumes_and_sends_each_message_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo_run(tmp.path(), 5);
    let want = outbox(&out);
    let server = Server::start(&tmp.path().join("inbox"));
    // Killed the moment the server accepted the second message, before its result was logged.
    let (code, _, _) = send(&out, &server.url(), &[], &[("RECOUP_FAULT_SEND_CRASH_AFTER", "2")]);
    assert_ne!(code, 0);
    assert_eq!(server.received().len(), 2);
    // The second send sends the rest, not the message whose fate it cannot know.
    let (code, stdout, stderr) = send(&out, &server.url(), &[], &[]);
    assert_eq!(code, 8, "{stdout}{stderr}");
    let n = want.len();
    assert!(stdout.contains(&format!("{} sent now", n - 2)), "{stdout}");
    assert!(stderr.contains("1 message(s) were being sent when an earlier send stopped"), "{stderr}");
    let got = server.received();
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    assert!(got.values().all(|v| v.0 == 1), "each message exactly once at the server");
}

#[test]
fn an_unreachable_server_fails_the_messages_and_a_later_send_delivers_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo_run(tmp.path(), 2);
    // The run's own outbox (every email of the demo's plan), or the two the test wrote.
    let n = outbox(&out).len();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, stdout, stderr) = send(&out, &format!("smtp://127.0.0.1:{port}"), &[], &[]);
    assert_eq!(code, 8, "{stdout}{stderr}");
    assert!(stdout.contains(&format!("0 sent now, 0 refused, {n} failed")), "{stdout}");
    assert!(log_rows(&out).iter().filter(|r| r["result"] == "failed").count() == n);
    assert!(!std::fs::read_to_string(out.join("actions-sent.csv")).unwrap().contains("INV"));
    let server = Server::start(&tmp.path().join("inbox"));
    let (code, stdout, _) = send(&out, &server.url(), &[], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains(&format!("{n} sent now")), "{stdout}");
    assert_eq!(server.received().len(), n);
}

/// A certificate authority and a server certificate it signed for
/// 127.0.0.1, made with the openssl command: (CA, certificate, key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl").current_dir(dir).args(args).output().expect("the openssl command runs");
        assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=recoup test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
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
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

/// STARTTLS against a server whose certificate a test authority signed: not
/// trusted by default (the Mozilla roots), so nothing goes out and the
/// messages are failed (to send again); trusted with `--ca-cert`, every
/// message is delivered over TLS, once.
#[test]
fn starttls_delivers_only_to_a_certificate_it_trusts() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(tmp.path());
    let out = demo_run(tmp.path(), 2);
    let n = outbox(&out).len();
    let server = Server::start_with(&tmp.path().join("inbox"), &[&cert, &key]);
    let url = format!("smtp+starttls://127.0.0.1:{}", server.port);
    let (code, stdout, stderr) = send(&out, &url, &[], &[]);
    assert_eq!(code, 8, "{stdout}{stderr}");
    assert!(stdout.contains(&format!("0 sent now, 0 refused, {n} failed")), "{stdout}");
    assert!(stderr.contains("invalid peer certificate: UnknownIssuer"), "{stderr}");
    assert!(server.received().is_empty());
    let (code, stdout, stderr) = send(&out, &url, &["--ca-cert", ca.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains(&format!("{n} sent now")), "{stdout}");
    assert_eq!(server.received().len(), n);
    // A file that is no certificate is a usage error, before anything is sent.
    let (code, _, stderr) = send(&out, &url, &["--ca-cert", key.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--ca-cert"), "{stderr}");
}

#[test]
fn send_refuses_what_it_must_not_touch() {
    let tmp = tempfile::tempdir().unwrap();
    // A folder recoup did not write.
    let foreign = tmp.path().join("mail");
    std::fs::create_dir_all(foreign.join("outbox/email")).unwrap();
    std::fs::write(foreign.join("outbox/email/A1.eml"), message("A1", "C1", "a@b.example")).unwrap();
    let (code, _, stderr) = send(&foreign, "smtp://127.0.0.1:1", &[], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not an output folder of `recoup run`"), "{stderr}");
    assert!(!foreign.join("delivery.csv").exists());
    // A password on the command line.
    let (code, _, stderr) = send(&foreign, "smtp://user:secret@127.0.0.1:1", &[], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("RECOUP_SMTP_PASSWORD"), "{stderr}");
    // A user without a password in the environment.
    let (code, _, stderr) = send(&foreign, "smtp://127.0.0.1:1", &["--user", "credit"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("user `credit` needs a password"), "{stderr}");
    // A transport recoup does not know, and a rate that is no rate.
    let (code, _, stderr) = send(&foreign, "http://127.0.0.1:1", &[], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("`http://` is not a mail transport recoup knows"), "{stderr}");
    let (code, _, stderr) = send(&foreign, "smtp://127.0.0.1:1", &["--rate", "0"], &[]);
    assert_eq!(code, 2, "{stderr}");
    // A message with no Message-ID: nothing is sent, the file is named.
    let out = demo_run(tmp.path(), 1);
    // A message of the mbox without its Message-ID: named by its line.
    let mbox = out.join("outbox/email.mbox");
    let good = std::fs::read_to_string(&mbox).unwrap();
    let second = good.match_indices("\nFrom ").next().unwrap().0 + 1;
    let line = good[..second].lines().count() + 1;
    let id_at = second + good[second..].find("Message-ID: ").unwrap();
    let id_end = id_at + good[id_at..].find("\r\n").unwrap() + 2;
    std::fs::write(&mbox, format!("{}{}", &good[..id_at], &good[id_end..])).unwrap();
    let (code, _, stderr) = send(&out, "smtp://127.0.0.1:1", &[], &[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains(&format!("email.mbox:{line}: the message has no `Message-ID` header")), "{stderr}");
    assert!(!out.join("delivery.csv").exists());
    std::fs::write(&mbox, good).unwrap();
    std::fs::create_dir_all(out.join("outbox/email")).unwrap();
    std::fs::write(out.join("outbox/email/Rbad.eml"), "From: a@b.example\r\nTo: c@d.example\r\n\r\nhi\r\n").unwrap();
    let (code, _, stderr) = send(&out, "smtp://127.0.0.1:1", &[], &[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("Rbad.eml:0: the message has no `Message-ID` header"), "{stderr}");
    assert!(!out.join("delivery.csv").exists());
}
