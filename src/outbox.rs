//! The outbox: a run's rendered messages as files mailers, SMS gateways,
//! printers and dialers take as they are (docs/outbox.md) — e-mails as
//! RFC 5322 messages and JSONL, texts as JSONL, letters as print-ready HTML,
//! calls as a CSV sheet. Every byte follows from the plan, the ledger and the
//! as-of date: the Date header is the as-of date at 00:00 UTC, the
//! Message-ID the action id.

use crate::ledger::{Channel, Customer, Ledger};
use crate::plan::PlanEntry;
use crate::render::{Message, Rendered};
use chrono::NaiveDate;
use maud::{DOCTYPE, html};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The files of an outbox, by path under the output folder, and the count of messages per channel.
#[derive(Debug, Default)]
pub struct Outbox {
    pub files: Vec<(String, Vec<u8>)>,
    /// Messages written, per channel.
    pub counts: BTreeMap<String, u64>,
    /// Actions with a message that could not be rendered: action id and why.
    pub failed: Vec<(String, String)>,
}

/// The outbox's files, each holding the messages of one channel (plus the index).
pub const FILES: &[&str] = &[
    "outbox/email.mbox",
    "outbox/email.jsonl",
    "outbox/sms.jsonl",
    "outbox/letters.html",
    "outbox/calls.csv",
    "outbox/index.csv",
];

#[derive(Serialize)]
struct EmailLine<'a> {
    action_id: &'a str,
    message_id: String,
    from: &'a str,
    to: &'a str,
    subject: &'a str,
    text: &'a str,
    html: &'a str,
}

#[derive(Serialize)]
struct SmsLine<'a> {
    action_id: &'a str,
    to: String,
    text: &'a str,
    encoding: &'static str,
    segments: u32,
}

/// One action's message, formatted for its channel's file.
enum Piece {
    /// The RFC 5322 message and its email.jsonl line.
    Email(Vec<u8>, Vec<u8>),
    /// The sms.jsonl line and the text.
    Sms(Vec<u8>, String),
    /// The letter's `<section>`.
    Letter(String),
    /// The calls.csv fields after the action id.
    Call([String; 6]),
    Failed(String),
    /// No customer of that id (not possible for a plan of the ledger).
    None,
}

/// Format the message of `e` for its channel's file.
fn piece(e: &PlanEntry, m: &Message, c: &Customer, sender: &crate::render::Sender, as_of: NaiveDate) -> Piece {
    let id = e.action_id.as_str();
    match m.channel {
        Channel::Email => {
            let html = m.html.clone().unwrap_or_else(|| html_of_text(&m.text));
            // A `notify` message goes to the sales representative, not the customer.
            let to = m.to.as_deref().or(c.email.as_deref()).unwrap_or("");
            // A plain space in the header: no-break spaces of money would force an encoded word.
            let subject = m.subject.as_deref().unwrap_or("").replace(['\u{a0}', '\u{202f}'], " ");
            let subject = subject.as_str();
            let raw = eml(id, sender, to, subject, &m.text, &html, as_of);
            let line = EmailLine {
                action_id: id,
                message_id: message_id(id),
                from: &sender.email,
                to,
                subject,
                text: &m.text,
                html: &html,
            };
            let mut json = serde_json::to_vec(&line).unwrap_or_default();
            json.push(b'\n');
            Piece::Email(raw, json)
        }
        Channel::Sms => {
            // No-break spaces of formatted money would make the text UCS-2 (70 per part).
            let text = m.text.trim_end().replace(['\u{a0}', '\u{202f}'], " ");
            let (encoding, segments) = segments(&text);
            let to = c.phone.as_deref().and_then(crate::engine::contact::e164).unwrap_or_default();
            let line = SmsLine { action_id: id, to, text: &text, encoding, segments };
            let mut json = serde_json::to_vec(&line).unwrap_or_default();
            json.push(b'\n');
            Piece::Sms(json, text)
        }
        Channel::Letter => Piece::Letter(letter(id, sender, c, m, as_of)),
        Channel::Call => Piece::Call(call_row(c, e.action.owner.as_deref(), &m.language, m.text.trim_end())),
    }
}

/// calls.csv's columns after the action id.
fn call_row(c: &Customer, owner: Option<&str>, language: &str, talking_points: &str) -> [String; 6] {
    let phone = c.phone.as_deref().and_then(crate::engine::contact::e164).unwrap_or_default();
    [
        c.id.to_string(),
        c.name.to_string(),
        phone,
        owner.unwrap_or("").to_string(),
        language.to_string(),
        talking_points.to_string(),
    ]
}

/// Build the outbox of `entries` from their rendered messages: one file per
/// channel, the messages in plan order (so the same bytes at any thread
/// count), each formatted on the worker threads, and `index.csv` naming every
/// message with its file and BLAKE3 hash.
pub fn build(
    entries: &[PlanEntry],
    rendered: &[Rendered],
    ledger: &Ledger,
    sender: &crate::render::Sender,
    as_of: NaiveDate,
) -> Outbox {
    use rayon::prelude::*;
    let ix: hashbrown::HashMap<&str, usize> =
        ledger.customers.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let customer = |id: &str| ix.get(id).map(|&i| &ledger.customers[i]);
    let mut pieces: Vec<(usize, Piece)> = rendered
        .par_iter()
        .map(|r| {
            let e = &entries[r.entry];
            // A consolidated group statement goes to the group's head.
            let to = r.to.and_then(|c| ledger.customers.get(c as usize));
            let p = match (&r.message, to.or_else(|| customer(e.action.customer_id.as_str()))) {
                (Err(why), _) => Piece::Failed(why.to_string()),
                (Ok(_), None) => Piece::None,
                (Ok(m), Some(c)) => piece(e, m, c, sender, as_of),
            };
            (r.entry, p)
        })
        .collect();
    // Calls without a template: the plan's reason is the talking point.
    for (k, e) in entries.iter().enumerate() {
        let a = &e.action;
        // A call shared by several rows (`message_id`) is one call: its lead's.
        if a.channel == Some(Channel::Call)
            && a.template.is_none()
            && a.undeliverable.is_none()
            && a.message_id.as_ref().is_none_or(|m| *m == e.action_id)
        {
            let Some(c) = customer(a.customer_id.as_str()) else { continue };
            let lang = c.contact.language.as_deref().unwrap_or("");
            pieces.push((k, Piece::Call(call_row(c, a.owner.as_deref(), lang, &a.reason))));
        }
    }
    // Every file in plan order (`recoup merge` puts the shards' messages in the same order).
    pieces.sort_by_key(|(k, _)| *k);
    let mut out = Outbox::default();
    let (mut mbox, mut email_jsonl, mut sms_jsonl) = (Vec::new(), Vec::new(), Vec::new());
    let mut letters = letters_head();
    let mut calls = csv::Writer::from_writer(Vec::new());
    let _ =
        calls.write_record(["action_id", "customer_id", "customer", "phone", "owner", "language", "talking_points"]);
    let mut index = csv::Writer::from_writer(Vec::new());
    let _ = index.write_record(["action_id", "customer_id", "channel", "file", "bytes", "blake3"]);
    let mut listed = |id: &str, customer: &str, channel: &str, file: &str, bytes: &[u8]| {
        let _ = index.write_record([
            id,
            customer,
            channel,
            file,
            &bytes.len().to_string(),
            blake3::hash(bytes).to_hex().as_str(),
        ]);
    };
    let mbox_from = mbox_from_line(sender, as_of);
    for (entry, p) in pieces {
        let e = &entries[entry];
        let (id, cust) = (e.action_id.as_str(), e.action.customer_id.as_str());
        let channel = match p {
            Piece::Failed(why) => {
                out.failed.push((e.action_id.clone(), why));
                continue;
            }
            Piece::None => continue,
            Piece::Email(raw, json) => {
                mbox.extend_from_slice(mbox_from.as_bytes());
                mbox_quote(&raw, &mut mbox);
                mbox.push(b'\n');
                email_jsonl.extend_from_slice(&json);
                listed(id, cust, "email", "outbox/email.mbox", &raw);
                "email"
            }
            Piece::Sms(json, text) => {
                sms_jsonl.extend_from_slice(&json);
                listed(id, cust, "sms", "outbox/sms.jsonl", text.as_bytes());
                "sms"
            }
            Piece::Letter(section) => {
                letters.push_str(&section);
                listed(id, cust, "letter", "outbox/letters.html", section.as_bytes());
                "letter"
            }
            Piece::Call(row) => {
                listed(id, cust, "call", "outbox/calls.csv", row[5].as_bytes());
                let _ = calls.write_record(std::iter::once(id).chain(row.iter().map(String::as_str)));
                "call"
            }
        };
        *out.counts.entry(channel.to_string()).or_default() += 1;
    }
    letters.push_str(LETTERS_TAIL);
    out.files = vec![
        ("outbox/email.mbox".into(), mbox),
        ("outbox/email.jsonl".into(), email_jsonl),
        ("outbox/sms.jsonl".into(), sms_jsonl),
        ("outbox/letters.html".into(), letters.into_bytes()),
        ("outbox/calls.csv".into(), calls.into_inner().unwrap_or_default()),
        ("outbox/index.csv".into(), index.into_inner().unwrap_or_default()),
    ];
    out
}

/// The end of letters.html.
const LETTERS_TAIL: &str = "</body></html>\n";

/// The outbox of a merged run (`recoup merge`): the messages of the shards'
/// outboxes in `dirs` (output folders), in the order of `actions` (the
/// merged plan's action ids), so that it is the same bytes as the outbox of
/// the run the shards make up. `None` when no shard has an outbox; an error
/// when only some do, or a file cannot be read.
pub fn gather(dirs: &[&std::path::Path], actions: &[&str]) -> Result<Option<Outbox>, String> {
    let with: Vec<&&std::path::Path> = dirs.iter().filter(|d| d.join("outbox").is_dir()).collect();
    if with.is_empty() {
        return Ok(None);
    }
    if let Some(d) = dirs.iter().find(|d| !d.join("outbox").is_dir()) {
        return Err(format!(
            "shard folder `{}` has no outbox but others have (run every shard with the same options)",
            d.display()
        ));
    }
    // Each file's messages by action id: the bytes of each, as the shard wrote them.
    let mut parts: Vec<hashbrown::HashMap<String, Vec<u8>>> = vec![Default::default(); FILES.len()];
    let mut index_rows: hashbrown::HashMap<String, csv::StringRecord> = Default::default();
    let mut calls_rows: hashbrown::HashMap<String, csv::StringRecord> = Default::default();
    for d in &with {
        let read = |f: &str| std::fs::read(d.join(f)).map_err(|e| format!("{}: {e}", d.join(f).display()));
        let bad = |f: &str, why: &str| format!("{}: {why}", d.join(f).display());
        // email.mbox: from a `From ` line to the next, keyed by X-Recoup-Action-Id.
        let mbox = read(FILES[0])?;
        let mut starts: Vec<usize> = Vec::new();
        let mut at = 0;
        for line in mbox.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"From ") {
                starts.push(at);
            }
            at += line.len();
        }
        starts.push(mbox.len());
        for w in starts.windows(2) {
            let chunk = &mbox[w[0]..w[1]];
            let text = String::from_utf8_lossy(chunk);
            let id = text
                .split("\nX-Recoup-Action-Id: ")
                .nth(1)
                .and_then(|r| r.split(['\r', '\n']).next())
                .ok_or_else(|| bad(FILES[0], "a message without X-Recoup-Action-Id"))?;
            parts[0].insert(id.to_string(), chunk.to_vec());
        }
        // The JSONL files: a line each, keyed by its action_id.
        for k in [1, 2] {
            for line in read(FILES[k])?.split_inclusive(|&b| b == b'\n') {
                let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| bad(FILES[k], &e.to_string()))?;
                let id = v["action_id"].as_str().ok_or_else(|| bad(FILES[k], "a line without action_id"))?;
                parts[k].insert(id.to_string(), line.to_vec());
            }
        }
        // letters.html: its sections, keyed by their id.
        let letters = String::from_utf8(read(FILES[3])?).map_err(|e| bad(FILES[3], &e.to_string()))?;
        let mut rest = letters.as_str();
        while let Some(start) = rest.find("<section class=\"letter") {
            let end = rest[start..].find("</section>\n").map(|e| start + e + "</section>\n".len());
            let end = end.ok_or_else(|| bad(FILES[3], "a letter without its end"))?;
            let section = &rest[start..end];
            let id = section
                .split(" id=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .ok_or_else(|| bad(FILES[3], "a letter without an id"))?;
            parts[3].insert(id.to_string(), section.as_bytes().to_vec());
            rest = &rest[end..];
        }
        // The CSV files: a record each, keyed by the first column.
        for (k, rows) in [(4, &mut calls_rows), (5, &mut index_rows)] {
            let bytes = read(FILES[k])?;
            let mut r = csv::Reader::from_reader(&bytes[..]);
            for rec in r.records() {
                let rec = rec.map_err(|e| bad(FILES[k], &e.to_string()))?;
                rows.insert(rec.get(0).unwrap_or("").to_string(), rec);
            }
        }
    }
    let mut out = Outbox::default();
    let mut files: Vec<Vec<u8>> = vec![Vec::new(); FILES.len()];
    files[3] = letters_head().into_bytes();
    let mut calls = csv::Writer::from_writer(Vec::new());
    let mut index = csv::Writer::from_writer(Vec::new());
    let _ =
        calls.write_record(["action_id", "customer_id", "customer", "phone", "owner", "language", "talking_points"]);
    let _ = index.write_record(["action_id", "customer_id", "channel", "file", "bytes", "blake3"]);
    for id in actions {
        for k in 0..4 {
            if let Some(b) = parts[k].get(*id) {
                files[k].extend_from_slice(b);
            }
        }
        if let Some(r) = calls_rows.get(*id) {
            let _ = calls.write_record(r);
        }
        if let Some(r) = index_rows.get(*id) {
            *out.counts.entry(r.get(2).unwrap_or("").to_string()).or_default() += 1;
            let _ = index.write_record(r);
        }
    }
    files[3].extend_from_slice(LETTERS_TAIL.as_bytes());
    files[4] = calls.into_inner().unwrap_or_default();
    files[5] = index.into_inner().unwrap_or_default();
    out.files = FILES.iter().map(|f| f.to_string()).zip(files).collect();
    Ok(Some(out))
}

/// The line that starts each message of an mbox (RFC 4155): the envelope
/// sender and the as-of date, in asctime form.
fn mbox_from_line(sender: &crate::render::Sender, as_of: NaiveDate) -> String {
    let who = if sender.email.trim().is_empty() || sender.email.contains(char::is_whitespace) {
        "recoup"
    } else {
        sender.email.as_str()
    };
    format!("From {who} {}\n", as_of.format("%a %b %e 00:00:00 %Y"))
}

/// Append `raw` to an mbox: a line starting `From ` (after any `>`) gets one
/// more `>` (mboxrd), which [`mbox_messages`] takes off again. recoup's own
/// messages have none (their bodies are base64), but a rule is a rule.
fn mbox_quote(raw: &[u8], out: &mut Vec<u8>) {
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let rest = line.iter().position(|&b| b != b'>').map_or(&[][..], |k| &line[k..]);
        if rest.starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
}

/// The messages of an mbox recoup wrote: each with the line its `From `
/// line is on (1-based), its bytes as they were before quoting, the blank
/// line that ends it taken off.
pub fn mbox_messages(mbox: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out: Vec<(usize, Vec<u8>)> = Vec::new();
    for (k, line) in mbox.split_inclusive(|&b| b == b'\n').enumerate() {
        if line.starts_with(b"From ") {
            out.push((k + 1, Vec::new()));
            continue;
        }
        let Some((_, m)) = out.last_mut() else { continue };
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        let unquote = quotes > 0 && line[quotes..].starts_with(b"From ");
        m.extend_from_slice(if unquote { &line[1..] } else { line });
    }
    for (_, m) in &mut out {
        if m.last() == Some(&b'\n') {
            m.pop();
        }
    }
    out
}

/// The messages the plan's actions call for, per channel: each deliverable
/// customer-facing action with a template, and each deliverable call; the
/// actions sharing a message (`message_id`) once, as their lead's.
pub fn expected(entries: &[PlanEntry]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for e in entries {
        let a = &e.action;
        if a.message_id.as_ref().is_some_and(|m| *m != e.action_id) {
            continue;
        }
        let call = a.channel == Some(Channel::Call) && a.undeliverable.is_none();
        if let (Some(ch), true) = (a.channel, crate::render::has_message(a) || call) {
            *m.entry(ch.as_str().to_string()).or_default() += 1;
        }
    }
    m
}

/// The terminal line of an outbox: its messages per channel and whether they reconcile with the plan.
pub fn summary_line(o: &Outbox, entries: &[PlanEntry], dir: &std::path::Path) -> String {
    let want = expected(entries);
    let n: u64 = o.counts.values().sum();
    let by: Vec<String> = o.counts.iter().map(|(c, k)| format!("{k} {c}")).collect();
    let undeliverable = entries.iter().filter(|e| e.action.undeliverable.is_some()).count();
    if want == o.counts {
        format!(
            "  outbox: {n} messages ({}) in {}: one per deliverable message of the plan; {undeliverable} undeliverable",
            by.join(", "),
            dir.join("outbox").display()
        )
    } else {
        let w: Vec<String> = want.iter().map(|(c, k)| format!("{k} {c}")).collect();
        format!(
            "  outbox: {n} messages ({}) in {}, but the plan calls for {} ({} could not be rendered)",
            by.join(", "),
            dir.join("outbox").display(),
            w.join(", "),
            o.failed.len()
        )
    }
}

/// `<R…@recoup>`: stable, so a resend of the same action is recognised.
pub fn message_id(action_id: &str) -> String {
    format!("<{action_id}@recoup>")
}

/// The SMS encoding and segment count of `text`: GSM-7 (160 characters,
/// 153 per part when split; characters of the extension table count two)
/// or UCS-2 (70, 67 per part; characters outside the BMP count two).
pub fn segments(text: &str) -> (&'static str, u32) {
    const GSM: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXT: &str = "^{}\\[~]|€\u{c}";
    let mut septets = 0u32;
    let mut gsm = true;
    for ch in text.chars() {
        if GSM.contains(ch) {
            septets += 1;
        } else if EXT.contains(ch) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    if gsm {
        let n = if septets <= 160 { 1 } else { septets.div_ceil(153) };
        ("gsm-7", n.max(1))
    } else {
        let units: u32 = text.chars().map(|c| c.len_utf16() as u32).sum();
        let n = if units <= 70 { 1 } else { units.div_ceil(67) };
        ("ucs-2", n.max(1))
    }
}

/// An HTML body from a plain text: a paragraph per block, line breaks kept
/// (maud: the text reaches the page escaped).
fn html_of_text(text: &str) -> String {
    html! {
        (DOCTYPE) "\n"
        html {
            body {
                "\n"
                @for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
                    p {
                        @for (k, line) in block.lines().enumerate() {
                            @if k > 0 { br; "\n" }
                            (line)
                        }
                    }
                    "\n"
                }
            }
        }
        "\n"
    }
    .into_string()
}

/// Base64 (RFC 4648), lines of 76 characters ending in CRLF.
fn base64_lines(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 57 * 2 + 4);
    for line in bytes.chunks(57) {
        for c in line.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            s.push(T[(n >> 18) as usize & 63] as char);
            s.push(T[(n >> 12) as usize & 63] as char);
            s.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
            s.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
        }
        s.push_str("\r\n");
    }
    s
}

/// A header value: as it is when printable ASCII, else an RFC 2047 encoded word (UTF-8, base64).
fn header_text(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.to_string()
    } else {
        // Encoded words of at most 45 bytes of text each, split on character boundaries.
        let mut words = Vec::new();
        let mut chunk = String::new();
        for c in s.chars() {
            if chunk.len() + c.len_utf8() > 45 {
                words.push(std::mem::take(&mut chunk));
            }
            chunk.push(c);
        }
        words.push(chunk);
        words
            .iter()
            .map(|w| format!("=?UTF-8?B?{}?=", base64_lines(w.as_bytes()).trim_end()))
            .collect::<Vec<_>>()
            .join("\r\n ")
    }
}

/// An RFC 5322 message: multipart/alternative, text then HTML, both UTF-8 in base64.
fn eml(
    id: &str,
    sender: &crate::render::Sender,
    to: &str,
    subject: &str,
    text: &str,
    html: &str,
    as_of: NaiveDate,
) -> Vec<u8> {
    let boundary = format!("=_recoup_{id}");
    let date = as_of.format("%a, %d %b %Y 00:00:00 +0000");
    let from = if sender.company.is_empty() {
        sender.email.clone()
    } else {
        format!("{} <{}>", header_text(&sender.company.replace('"', "")), sender.email)
    };
    let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
    let mut m = String::new();
    let _ = write!(
        m,
        "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: {}\r\nX-Recoup-Action-Id: {id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\
         --{boundary}--\r\n",
        header_text(subject),
        message_id(id),
        base64_lines(crlf(text).as_bytes()),
        base64_lines(crlf(html).as_bytes()),
    );
    m.into_bytes()
}

/// The start of letters.html: the page sizes and the places of a letter's
/// blocks. A letter is a `<section>` of its page size (named pages: A4, or US
/// Letter for a US address); each starts on a new sheet.
fn letters_head() -> String {
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>letters</title>\n<style>\n\
     @page a4 { size: A4; margin: 0; }\n\
     @page us { size: letter; margin: 0; }\n\
     body { margin: 0; font: 11pt/1.4 serif; }\n\
     .letter { page: a4; position: relative; box-sizing: border-box; width: 210mm; min-height: 297mm; \
     padding: 105mm 20mm 20mm 20mm; break-after: page; --left: 20mm; --top: 45mm; --width: 85mm; }\n\
     .letter.us { page: us; width: 215.9mm; min-height: 279.4mm; padding-left: 22mm; \
     --left: 22mm; --top: 51mm; --width: 90mm; }\n\
     .sender { position: absolute; left: var(--left); top: 15mm; font-size: 9pt; }\n\
     .window { position: absolute; left: var(--left); top: var(--top); width: var(--width); height: 40mm; }\n\
     .return { font-size: 7pt; border-bottom: 0.5pt solid; margin-bottom: 2mm; }\n\
     .meta { position: absolute; right: 20mm; top: var(--top); text-align: right; }\n\
     .body { white-space: pre-wrap; }\n\
     </style></head><body>\n"
        .to_string()
}

/// A print-ready letter, a `<section>` of letters.html: the recipient's
/// address in the window of a DIN 5008 (type B: 20 mm from the left, 45 mm
/// from the top) or US #10 envelope (7/8 in from the left, 2 in from the top).
fn letter(id: &str, sender: &crate::render::Sender, c: &Customer, m: &Message, as_of: NaiveDate) -> String {
    let us = c.country == "US";
    let k = &c.contact;
    let mut address: Vec<&str> = vec![&c.name];
    address.extend(k.contact_name.as_deref());
    address.extend(k.address_line1.as_deref());
    address.extend(k.address_line2.as_deref());
    let town = match (k.postcode.as_deref(), k.city.as_deref()) {
        (Some(p), Some(t)) if us => format!("{t} {p}"),
        (Some(p), Some(t)) => format!("{p} {t}"),
        (p, t) => p.or(t).unwrap_or("").to_string(),
    };
    let date = crate::render::fields::date(&m.language, as_of);
    let lines = address.iter().copied().chain([town.as_str(), crate::render::fields::country_line(&c.country)]);
    // Every value is spliced with `(…)`: maud escapes it.
    html! {
        section class=(if us { "letter us" } else { "letter" }) id=(id) lang=(m.language) {
            "\n"
            div class="sender" { (sender.company) }
            "\n"
            div class="window" {
                div class="return" {
                    (sender.company)
                    @for a in &sender.address { " · " (a) }
                }
                @for line in lines.filter(|l| !l.is_empty()) { (line) br; }
            }
            "\n"
            div class="meta" { (date) br; "Ref. " (id) }
            "\n"
            div class="body" { (m.text.trim_end()) }
            "\n"
        }
        "\n"
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_segments_follow_gsm_7_and_ucs_2() {
        assert_eq!(segments("hello"), ("gsm-7", 1));
        assert_eq!(segments(&"a".repeat(160)), ("gsm-7", 1));
        assert_eq!(segments(&"a".repeat(161)), ("gsm-7", 2));
        assert_eq!(segments(&"a".repeat(306)), ("gsm-7", 2));
        assert_eq!(segments(&"a".repeat(307)), ("gsm-7", 3));
        assert_eq!(segments(&"€".repeat(80)), ("gsm-7", 1), "extension characters count two");
        assert_eq!(segments(&"€".repeat(81)), ("gsm-7", 2));
        assert_eq!(segments(&"ł".repeat(70)), ("ucs-2", 1));
        assert_eq!(segments(&"ł".repeat(71)), ("ucs-2", 2));
        assert_eq!(segments(&"ł".repeat(135)), ("ucs-2", 3));
    }

    #[test]
    fn an_mbox_gives_back_each_message_as_it_was() {
        let a = b"From: a@b.example\r\n\r\nFrom here\r\n>From there\r\n".to_vec();
        let b = b"Subject: x\r\n\r\nbody\r\n".to_vec();
        let mut mbox = Vec::new();
        for m in [&a, &b] {
            mbox.extend_from_slice(b"From recoup Mon Nov 16 00:00:00 2026\n");
            mbox_quote(m, &mut mbox);
            mbox.push(b'\n');
        }
        let text = String::from_utf8_lossy(&mbox);
        assert!(text.contains("\n>From here\r\n>>From there\r\n"), "{text}");
        assert_eq!(mbox_messages(&mbox), vec![(1, a), (7, b)]);
    }

    #[test]
    fn base64_and_encoded_words() {
        assert_eq!(base64_lines(b"Man"), "TWFu\r\n");
        assert_eq!(base64_lines(b"Ma"), "TWE=\r\n");
        assert_eq!(base64_lines(b"M"), "TQ==\r\n");
        assert_eq!(header_text("Plain"), "Plain");
        assert_eq!(header_text("Grüße"), "=?UTF-8?B?R3LDvMOfZQ==?=");
    }
}
