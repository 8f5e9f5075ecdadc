//! Messages: templates rendered for the demo (`recoup preview`), and the
//! outbox `recoup run` writes (docs/outbox.md).

use crate::cli::recoup;

fn preview(customer: &str) -> (i32, String, String) {
    recoup(
        &[
            "preview",
            "--ledger",
            "fixtures/demo",
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--customer",
            customer,
        ],
        None,
    )
}

/// An English email, a German one, a letter with fee and interest, an
/// email step sent by SMS for a customer without email, and a payment plan
/// offer with its instalments.
#[test]
fn preview_prints_the_rendered_messages() {
    let mut all = String::new();
    for c in ["C000020", "C000373", "C000117", "C000159", "C000183"] {
        let (code, out, err) = preview(c);
        assert_eq!(code, 0, "{err}");
        all.push_str(&out);
        all.push('\n');
    }
    insta::assert_snapshot!("demo_preview", all);
}

#[test]
fn preview_of_an_unknown_customer_is_an_input_error() {
    let (code, _, err) = preview("C999999");
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("unknown customer `C999999`"), "{err}");
}

use crate::cli::run_demo;
use std::collections::BTreeMap;
use std::path::Path;

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records().map(|x| head.iter().cloned().zip(x.unwrap().iter().map(String::from)).collect()).collect()
}

/// `1234.50` as the en template writes it: `1,234.50`.
fn en(amount: &str) -> String {
    let (int, frac) = amount.split_once('.').unwrap();
    let mut out = String::new();
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}.{frac}")
}

/// The demo's outbox: one message per deliverable message of the plan, per
/// channel; every message names its customer's address and the open amount
/// of every invoice it lists, read from the ledger's CSV files; no
/// placeholder is left unfilled; the manifest lists every file with its hash.
#[test]
fn the_demo_outbox_reconciles_with_the_plan_and_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run_demo("policies/standard", &out, &[], Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("one per deliverable message of the plan"), "{stdout}");
    let plan = csv_rows(&out.join("plan.csv"));
    let customers: BTreeMap<String, BTreeMap<String, String>> =
        csv_rows(&crate::common::repo("fixtures/demo/customers.csv"))
            .into_iter()
            .map(|r| (r["customer_id"].clone(), r))
            .collect();
    let invoices: BTreeMap<String, BTreeMap<String, String>> =
        csv_rows(&crate::common::repo("fixtures/demo/invoices.csv"))
            .into_iter()
            .map(|r| (r["invoice_id"].clone(), r))
            .collect();
    let outbox = out.join("outbox");
    let email_lines: Vec<serde_json::Value> = std::fs::read_to_string(outbox.join("email.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sms_lines: Vec<serde_json::Value> = std::fs::read_to_string(outbox.join("sms.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let calls = csv_rows(&outbox.join("calls.csv"));
    let mbox: BTreeMap<String, String> =
        recoup::outbox::mbox_messages(&std::fs::read(outbox.join("email.mbox")).unwrap())
            .into_iter()
            .map(|(_, raw)| {
                let raw = String::from_utf8(raw).unwrap();
                let id = raw.split("X-Recoup-Action-Id: ").nth(1).unwrap().split("\r\n").next().unwrap().to_string();
                (id, raw)
            })
            .collect();
    let letters = std::fs::read_to_string(outbox.join("letters.html")).unwrap();
    let letter_of = |id: &str| -> String {
        let at = letters.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no letter {id}"));
        let start = letters[..at].rfind("<section").unwrap();
        let end = at + letters[at..].find("</section>\n").unwrap() + "</section>\n".len();
        letters[start..end].to_string()
    };
    let mut want: BTreeMap<&str, usize> = BTreeMap::new();
    let customer_facing = ["email", "sms", "call", "letter", "statement", "discount_offer", "payment_plan_offer"];
    let mut checked = 0;
    for row in &plan {
        if row["undeliverable"].is_empty()
            && customer_facing.contains(&row["action"].as_str())
            && !row["channel"].is_empty()
        {
            *want.entry(row["channel"].as_str()).or_default() += 1;
        } else {
            continue;
        }
        let id = &row["action_id"];
        let c = &customers[&row["customer_id"]];
        let text = match row["channel"].as_str() {
            "email" => {
                let l = email_lines.iter().find(|l| l["action_id"] == id.as_str()).unwrap();
                assert_eq!(l["to"], c["email"].as_str());
                assert_eq!(l["message_id"], format!("<{id}@recoup>"));
                let eml = &mbox[id.as_str()];
                assert!(eml.contains(&format!("To: {}\r\n", c["email"])), "{eml}");
                assert!(eml.contains("Date: Mon, 16 Nov 2026 00:00:00 +0000\r\n"));
                format!("{}\n{}", l["subject"].as_str().unwrap(), l["text"].as_str().unwrap())
            }
            "sms" => {
                let l = sms_lines.iter().find(|l| l["action_id"] == id.as_str()).unwrap();
                let digits: String = c["phone"].chars().filter(|c| c.is_ascii_digit()).collect();
                assert_eq!(l["to"], format!("+{digits}"));
                // A text states the total of the invoices it lists, not each amount.
                let text = l["text"].as_str().unwrap();
                assert!(text.contains(&en(&row["amount_due"])), "{id}: {text}");
                assert!(!text.contains("{{") && !text.contains("}}"), "{id}: {text}");
                checked += 1;
                continue;
            }
            "letter" => {
                let html = letter_of(id);
                for k in ["address_line1", "city"] {
                    assert!(html.contains(&c[k].replace('&', "&amp;")), "{id}: no {k} in the letter");
                }
                html.replace("&amp;", "&")
            }
            "call" => {
                let r = calls.iter().find(|r| r["action_id"] == *id).unwrap();
                let digits: String = c["phone"].chars().filter(|c| c.is_ascii_digit()).collect();
                assert_eq!(r["phone"], format!("+{digits}"));
                continue;
            }
            other => panic!("channel {other}"),
        };
        assert!(!text.contains("{{") && !text.contains("}}") && !text.contains("{%"), "{id}: {text}");
        // Amounts as the message's language writes them (de, fr: 1.234,50 / 1 234,50).
        let lang = c["language"].as_str();
        let listed: Vec<&str> = row["invoice_ids"].split(';').filter(|s| !s.is_empty()).collect();
        for inv in &listed {
            let open = &invoices[*inv]["open_amount"];
            let written = match lang {
                "de" => en(open).replace(',', "_").replace('.', ",").replace('_', "."),
                _ => en(open),
            };
            let fr = en(open).replace(',', "\u{202f}").replace('.', ",");
            assert!(text.contains(inv), "{id}: {inv} is not named in {text}");
            assert!(
                text.contains(&written) || text.contains(&fr) || text.contains(&en(open)),
                "{id}: {inv}'s open amount {open} is not in {text}"
            );
        }
        checked += 1;
    }
    assert!(checked > 90, "{checked}");
    let got: BTreeMap<&str, usize> = [
        ("email", email_lines.len()),
        ("sms", sms_lines.len()),
        ("letter", letters.matches("<section class=\"letter").count()),
        ("call", calls.len()),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect();
    assert_eq!(got, want);
    assert_eq!(mbox.len(), email_lines.len());
    // The manifest lists every file with its hash, and index.csv every message with its own.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    let listed: Vec<&str> =
        files.iter().map(|f| f["file"].as_str().unwrap()).filter(|f| f.starts_with("outbox/")).collect();
    assert_eq!(
        listed,
        recoup::outbox::FILES
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    for f in files.iter().filter(|f| f["file"].as_str().unwrap().starts_with("outbox/")) {
        let bytes = std::fs::read(out.join(f["file"].as_str().unwrap())).unwrap();
        assert_eq!(f["blake3"], blake3::hash(&bytes).to_hex().as_str());
    }
    let index = csv_rows(&outbox.join("index.csv"));
    let mut by_channel: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &index {
        *by_channel.entry(r["channel"].as_str()).or_default() += 1;
        let bytes = match r["channel"].as_str() {
            "email" => mbox[&r["action_id"]].clone().into_bytes(),
            "letter" => letter_of(&r["action_id"]).into_bytes(),
            "sms" => {
                let l = sms_lines.iter().find(|l| l["action_id"] == r["action_id"].as_str()).unwrap();
                l["text"].as_str().unwrap().as_bytes().to_vec()
            }
            _ => {
                calls.iter().find(|c| c["action_id"] == r["action_id"]).unwrap()["talking_points"].clone().into_bytes()
            }
        };
        assert_eq!(r["blake3"], blake3::hash(&bytes).to_hex().as_str(), "{r:?}");
        assert_eq!(r["bytes"], bytes.len().to_string());
    }
    assert_eq!(by_channel, want);
}

/// The outbox is the same bytes at any thread count, and a run with `--no-outbox` writes none.
#[test]
fn the_outbox_is_deterministic_and_optional() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    assert_eq!(run_demo("policies/standard", &a, &["--threads", "1"], None).0, 0);
    assert_eq!(run_demo("policies/standard", &b, &["--threads", "4"], None).0, 0);
    for f in recoup::outbox::FILES {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
    let (code, stdout, _) = run_demo("policies/standard", &c, &["--no-outbox"], None);
    assert_eq!(code, 0);
    assert!(!c.join("outbox").exists());
    assert!(!stdout.contains("outbox:"), "{stdout}");
}

/// `from` copied into `to`, its subfolders too.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A call step's template: its `call` part, rendered for each customer, is
/// the talking points of calls.csv; `recoup check` finds a misspelt field in
/// it with its place.
#[test]
fn a_call_template_gives_the_talking_points_and_check_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let pol = tmp.path().join("policy");
    copy_tree(&crate::common::repo("policies/standard"), &pol);
    let toml = std::fs::read_to_string(pol.join("policy.toml")).unwrap();
    assert!(toml.contains("action = \"call\"\n"));
    std::fs::write(
        pol.join("policy.toml"),
        toml.replace("action = \"call\"\n", "action = \"call\"\ntemplate = \"call-notes\"\n"),
    )
    .unwrap();
    let notes = "=== call\nAsk {{ customer.contact_name or customer.name }} about {{ total }} ({{ invoices | length }} invoice(s), oldest {{ days_past_due | plural(\"day\", \"days\") }} late). Ref {{ reference }}.\n";
    std::fs::write(pol.join("templates/call-notes.md"), notes).unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run_demo(pol.to_str().unwrap(), &out, &[], Some(tmp.path()));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("one per deliverable message of the plan"), "{stdout}");
    let plan = csv_rows(&out.join("plan.csv"));
    let calls = csv_rows(&out.join("outbox/calls.csv"));
    let planned: Vec<&BTreeMap<String, String>> =
        plan.iter().filter(|r| r["action"] == "call" && r["undeliverable"].is_empty()).collect();
    assert!(!planned.is_empty());
    assert_eq!(calls.len(), planned.len());
    for p in planned {
        let c = calls.iter().find(|c| c["action_id"] == p["action_id"]).unwrap();
        let t = &c["talking_points"];
        assert!(t.starts_with("Ask ") && t.ends_with(&format!("Ref {}.", p["action_id"])), "{t}");
        assert!(t.contains(&en(&p["amount_due"])), "{t}: not the amount due {}", p["amount_due"]);
        assert!(t.contains(" days late") || t.contains(" day late"), "{t}");
    }
    // A misspelt field in the call part: check names it, with its place.
    std::fs::write(pol.join("templates/call-notes.md"), notes.replace("{{ total }}", "{{ totl }}")).unwrap();
    let (code, _, stderr) = recoup(&["check", pol.to_str().unwrap()], Some(tmp.path()));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("unknown field `totl` in the `call` part"), "{stderr}");
    assert!(stderr.contains("templates/call-notes.md:2:"), "{stderr}");
}

/// Base64 (RFC 4648) with line breaks, as the mbox's parts are written.
fn unbase64(s: &str) -> Vec<u8> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let six: Vec<u32> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .map(|b| T.iter().position(|&t| t == b).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for q in six.chunks(4) {
        let n = q.iter().enumerate().fold(0u32, |n, (k, &v)| n | v << (18 - 6 * k));
        out.extend(n.to_be_bytes()[1..q.len()].iter());
    }
    out
}

/// HTML text as a reader sees it: the entities maud and minijinja write turned back into characters.
fn unescape(h: &str) -> String {
    h.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// Customer names and address lines holding markup reach letters.html and
/// the e-mails' HTML parts (a template's `html` part, and the one made from
/// the text when a template has none) only escaped: the reader sees the text,
/// the browser no tag.
#[test]
fn markup_in_a_customer_name_and_address_is_escaped_in_letters_and_email_html() {
    const NAME: &str = "<script>alert(\"x'&\")</script> Acme";
    const STREET: &str = "1 \"Main\" St <b>O'Neil & Sons</b>";
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    copy_tree(&crate::common::repo("fixtures/demo"), &ledger);
    let mut r = csv::Reader::from_path(ledger.join("customers.csv")).unwrap();
    let head = r.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (name, street, contact) = (col("name"), col("address_line1"), col("contact_name"));
    let mut w = csv::Writer::from_path(tmp.path().join("customers.csv")).unwrap();
    w.write_record(&head).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let row: Vec<String> = rec
            .iter()
            .enumerate()
            .map(|(k, v)| match k {
                k if k == name => format!("{NAME} {v}"),
                k if k == street => STREET.to_string(),
                // No contact person: the greeting is the customer's name.
                k if k == contact => String::new(),
                _ => v.to_string(),
            })
            .collect();
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(tmp.path().join("customers.csv"), ledger.join("customers.csv")).unwrap();
    let out = tmp.path().join("out");
    let (l, o) = (ledger.to_str().unwrap(), out.to_str().unwrap());
    let (code, _, stderr) = recoup(
        &["run", "--ledger", l, "--policy", "policies/standard", "--as-of", "2026-11-16", "--out", o],
        Some(tmp.path()),
    );
    assert_eq!(code, 0, "{stderr}");
    // letters.html: the address window holds the name and the street, escaped by maud.
    let letters = std::fs::read_to_string(out.join("outbox/letters.html")).unwrap();
    assert!(letters.contains("<section class=\"letter"), "no letter in the demo's outbox");
    assert!(!letters.contains("<script") && !letters.contains("<b>"), "{letters}");
    assert!(letters.contains("&lt;script&gt;alert(&quot;x'&amp;&quot;)&lt;/script&gt; Acme "), "{letters}");
    assert!(letters.contains("1 &quot;Main&quot; St &lt;b&gt;O'Neil &amp; Sons&lt;/b&gt;<br>"), "{letters}");
    // The e-mails: the HTML part of each message in the mbox (base64) and its email.jsonl line.
    let mbox = std::fs::read(out.join("outbox/email.mbox")).unwrap();
    let jsonl = std::fs::read_to_string(out.join("outbox/email.jsonl")).unwrap();
    let mut parts: Vec<String> = Vec::new();
    for (_, raw) in recoup::outbox::mbox_messages(&mbox) {
        let raw = String::from_utf8(raw).unwrap();
        let html = raw.split("Content-Type: text/html; charset=utf-8\r\n").nth(1).unwrap();
        let body = html.split("\r\n\r\n").nth(1).unwrap().split("--=_recoup_").next().unwrap();
        parts.push(String::from_utf8(unbase64(body)).unwrap().replace("\r\n", "\n"));
    }
    let lines: Vec<String> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["html"].as_str().unwrap().into())
        .collect();
    assert_eq!(parts, lines, "the mbox and email.jsonl hold the same HTML");
    let (mut from_template, mut from_text) = (0, 0);
    for h in &parts {
        assert!(!h.contains("<script") && !h.contains("alert(\"") && !h.contains("<b>"), "{h}");
        if unescape(h).contains(NAME) {
            if h.starts_with("<!DOCTYPE html>\n<html><body>\n<p>") { from_text += 1 } else { from_template += 1 }
        }
    }
    assert!(from_template > 0 && from_text > 0, "{from_template} from an html part, {from_text} from the text");
}
