//! `recoup report`: the run and simulation reports of the demo ledger —
//! numbers in the page equal to the JSON files', user text escaped, errors,
//! determinism, and a real browser (headless Chromium) rendering each page
//! with its charts and no console errors; screenshots under target/.

use crate::cli::{recoup, run_demo, simulate_demo};
use crate::common::repo;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The demo run and a short simulation, made once for every test here.
struct Demo {
    _tmp: tempfile::TempDir,
    run: PathBuf,
    sim: PathBuf,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("run");
        let sim = tmp.path().join("sim");
        let (code, _, err) = run_demo("policies/standard", &run, &["--quiet"], None);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = simulate_demo(
            &sim,
            &[
                "--variant",
                "policies/strict",
                "--variant",
                "policies/lenient",
                "--horizon",
                "2w",
                "--runs",
                "3",
                "--quiet",
            ],
            None,
        );
        assert_eq!(code, 0, "{err}");
        for (flag, dir) in [("--run", &run), ("--simulation", &sim)] {
            let (code, out, err) = recoup(&["report", flag, dir.to_str().unwrap()], None);
            assert_eq!(code, 0, "{err}");
            let mut want = format!("wrote {}", dir.join("report.html").display());
            if flag == "--run" {
                want.push_str(&format!("\nwrote {}", dir.join("receipts.csv").display()));
            }
            assert_eq!(out.trim(), want);
        }
        Demo { _tmp: tmp, run, sim }
    })
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&read(p)).unwrap()
}

/// A JSON number or string as it is written in the file.
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value of the headline figure labelled `label` (the first after the start of `html`).
fn tile(html: &str, label: &str) -> String {
    let key = format!("data-figure=\"{label}\"><div class=\"value\">");
    let at = html.find(&key).unwrap_or_else(|| panic!("no figure `{label}`")) + key.len();
    html[at..].split('<').next().unwrap().to_string()
}

/// The texts of the `n` cells after the first cell whose text is `first`.
fn cells_after(html: &str, first: &str, n: usize) -> Vec<String> {
    let key = format!("<td>{first}</td>");
    let at = html.find(&key).unwrap_or_else(|| panic!("no row `{first}`")) + key.len();
    html[at..].split("</td>").take(n).map(|c| c.rsplit('>').next().unwrap().to_string()).collect()
}

#[test]
fn run_report_numbers_are_summary_json_numbers() {
    let d = demo();
    let html = read(&d.run.join("report.html"));
    let s = json(&d.run.join("summary.json"));
    // Per currency (issue 20): each currency's tiles, after its heading,
    // are its summary.json figures, money with its code and thousands separators.
    let cash = |code: &str, v: &serde_json::Value| {
        format!("{code} {}", recoup::engine::words::money(text(v).parse().unwrap()))
    };
    let kpis = s["kpis"].as_object().unwrap();
    assert_eq!(kpis.keys().collect::<Vec<_>>(), ["EUR", "GBP", "USD"]);
    for (code, k) in kpis {
        let at = html.find(&format!("<div class=\"code\">{code}</div>")).unwrap_or_else(|| panic!("no {code} row"));
        let part = &html[at..];
        assert_eq!(tile(part, "DSO"), text(&k["dso"]), "{code}");
        assert_eq!(tile(part, "CEI %"), text(&k["cei"]), "{code}");
        assert_eq!(tile(part, "Open AR"), cash(code, &k["ar_total"]), "{code}");
        assert_eq!(tile(part, "Overdue"), cash(code, &k["ar_overdue"]), "{code}");
        assert_eq!(tile(part, "Best possible DSO"), text(&k["best_possible_dso"]), "{code}");
        assert_eq!(tile(part, "ADD"), text(&k["average_days_delinquent"]), "{code}");
    }
    assert_eq!(tile(&html, "Open AR"), "EUR 2,896,077.01");
    assert_eq!(tile(&html, "DSO"), "40.23");
    assert!(html.contains("<h2>This morning, as of 2026-11-16</h2>"));
    // The first screen opens with the headline, then the trends and the receipts.
    let at = |id: &str| html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no section {id}"));
    assert!(at("headline") < at("trends") && at("trends") < at("receipts") && at("receipts") < at("debtors"));
    assert!(at("debtors") < at("work") && at("work") < at("risk"));
    // The amounts by kind are in today's work (a kind's name is also in the debtors' table).
    let work = &html[html.find("<section id=\"work\">").unwrap()..];
    for kind in ["limit_change", "credit_review", "letter"] {
        let (code, t) = s["by_action"][kind]["currencies"].as_object().unwrap().iter().next().unwrap();
        let got = cells_after(work, kind, 6);
        let mut want = vec![code.clone(), text(&t["count"])];
        want.extend(["amount_due", "fees", "interest", "cost"].iter().map(|f| cash(code, &t[f])));
        assert_eq!(got, want, "{kind}");
    }
    assert_eq!(cells_after(work, "limit_change", 3)[2], "EUR 798,823.80");
    let total = cells_after(work, "all actions", 3);
    assert_eq!(total[1], text(&s["actions"]["currencies"]["EUR"]["count"]));
    assert_eq!(total[2], cash("EUR", &s["actions"]["currencies"]["EUR"]["amount_due"]));
    assert!(html.contains("Exposure covered by today's actions"));
    for (code, x) in s["exposure"].as_object().unwrap() {
        assert!(html.contains(&format!("<td class=\"n\">{}</td>", cash(code, &x["amount"]))), "{code}");
    }
    let buckets: Vec<&str> =
        kpis["EUR"]["aging"].as_array().unwrap().iter().map(|b| b["bucket"].as_str().unwrap()).collect();
    for (i, bucket) in buckets.iter().enumerate() {
        let want: Vec<String> = kpis
            .iter()
            .flat_map(|(code, k)| {
                let b = &k["aging"][i];
                [text(&b["count"]), cash(code, &b["amount"])]
            })
            .collect();
        assert_eq!(cells_after(&html, bucket, 6), want, "{bucket}");
    }
    // The top of the worklist across owners starts with the highest priority.
    assert!(html.contains("Highest priority, all owners"));
    let first = html.find("Highest priority, all owners").unwrap();
    assert!(html[first..].find("471.55").unwrap() < html[first..].find("</table>").unwrap());
    // Limit changes by currency (13 EUR, 9 GBP, 17 USD): the largest few, the rest folded away.
    let limits = s["by_action"]["limit_change"]["currencies"].as_object().unwrap();
    let counts: Vec<(&str, u64)> = limits.iter().map(|(c, t)| (c.as_str(), t["count"].as_u64().unwrap())).collect();
    assert_eq!(counts, [("EUR", 13), ("GBP", 9), ("USD", 17)]);
    for (code, rows) in counts {
        let head = format!(
            "<h3>limit_change · {code}<span class=\"muted\"> ({rows} rows; the 5 largest amounts due first)</span></h3>"
        );
        assert!(html.contains(&head), "{head}");
        assert!(html.contains(&format!("<details><summary>the other {} limit_change · {code}</summary>", rows - 5)));
    }
    // The manifest: the policy hash and every input hash.
    let m = json(&d.run.join("manifest.json"));
    assert!(html.contains(m["policy_blake3"].as_str().unwrap()));
    for i in m["inputs"].as_array().unwrap() {
        assert!(html.contains(i["blake3"].as_str().unwrap()), "{i}");
    }
    // Every worklist owner has its section; limit changes show their reasons.
    for owner in ["owner-01", "owner-02", "owner-03"] {
        assert!(html.contains(&format!("<h3>{owner}<span")), "{owner}");
    }
    let plan = read(&d.run.join("plan.csv"));
    let mut rows = csv::Reader::from_reader(plan.as_bytes());
    let reasons: Vec<String> = rows
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[4] == "limit_change")
        .map(|r| r[28].replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"))
        .collect();
    assert_eq!(reasons.len(), 39);
    for r in &reasons {
        assert!(html.contains(r.as_str()), "{r}");
    }
    assert!(html.contains("No rows were rejected"));
}

#[test]
fn simulation_report_numbers_are_the_json_numbers() {
    let d = demo();
    let html = read(&d.sim.join("report.html"));
    let c = json(&d.sim.join("comparison.json"));
    let labels = ["standard", "strict", "lenient"];
    // Counts for the whole portfolio, money per currency (the first row of
    // a money metric is EUR's, the first of the demo's currencies).
    for (metric, currency) in [
        ("actions", None),
        ("cost_of_actions", Some("EUR")),
        ("exposure_on_hold", Some("EUR")),
        ("limit_decreases_total", Some("EUR")),
    ] {
        let m = c["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == metric && m["currency"].as_str() == currency)
            .unwrap();
        let got = cells_after(&html, metric, 4);
        assert_eq!(got[0], currency.unwrap_or("—"), "{metric}");
        let want: Vec<String> = labels.iter().map(|l| text(&m["values"][l])).collect();
        assert_eq!(got[1..], want, "{metric}");
    }
    // On the net position (cash on account) strict lost a plan offer and
    // lenient gained a discount offer in EUR: -0.05 and +0.05.
    assert_eq!(cells_after(&html, "cost_of_actions", 4), ["EUR", "421.20", "5085.06", "31.75"]);
    // The three currencies' costs are the 2180.31 (standard) the report
    // showed as one sum before issue 20: 421.20 EUR + 754.45 GBP + 1004.66 USD.
    let cost = |code: &str| -> rust_decimal::Decimal {
        let m = c["metrics"].as_array().unwrap().iter();
        let mut m = m.filter(|m| m["metric"] == "cost_of_actions" && m["currency"] == code);
        text(&m.next().unwrap()["values"]["standard"]).parse().unwrap()
    };
    assert_eq!(
        (cost("EUR"), cost("GBP"), cost("USD")),
        ("421.20".parse().unwrap(), "754.45".parse().unwrap(), "1004.66".parse().unwrap())
    );
    assert_eq!(cost("EUR") + cost("GBP") + cost("USD"), "2180.31".parse().unwrap());
    // The forward projection: the weekly cash of week 1 (P50 and band) and the charts.
    let f = json(&d.sim.join("forward.json"));
    let week1 = f["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["policy"] == "strict" && w["metric"] == "cash_collected" && w["week"] == 1)
        .unwrap();
    let band = format!(
        "{}<br><span class=\"band\">{} – {}</span>",
        text(&week1["p50"]),
        text(&week1["p10"]),
        text(&week1["p90"])
    );
    assert!(html.contains(&band), "{band}");
    assert_eq!(
        html.matches("<svg class=\"chart bands\"").count(),
        27,
        "a panel per currency and policy for cumulative cash, weekly cash and DSO"
    );
    // Every money axis names its currency.
    for code in ["EUR", "GBP", "USD"] {
        assert_eq!(
            html.matches(&format!("<text class=\"tick unit\" x=\"44.0\" y=\"20.0\" text-anchor=\"end\">{code}</text>"))
                .count(),
            6,
            "{code}"
        );
    }
    // It opens with the verdicts (every one of forward.json's), then the
    // cumulative cash (its last week's band per policy), then the rest.
    let at = |id: &str| html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no section {id}"));
    assert!(at("verdicts") < at("cash") && at("cash") < at("policies") && at("policies") < at("forward"));
    let verdicts = f["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 2 * f["summary"].as_array().unwrap().len() / 3, "one per metric and variant");
    // This simulation has fewer runs than a verdict needs: one line says so for every
    // difference that is not identical, instead of one line each.
    assert!(f["runs"].as_u64().unwrap() < 10);
    let open = verdicts.iter().filter(|v| v["identical"] == false && v["distinguishable"] == false).count();
    let line =
        format!("run(s) are too few for a verdict on any of the {open} differences below: give --runs 40 or more");
    assert!(open > 0 && html.contains(&line), "{line}");
    for v in verdicts.iter().filter(|v| v["identical"] == false) {
        let text = v["text"].as_str().unwrap().replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
        assert!(!html.contains(&text), "a per-metric line for too few runs: {text}");
    }
    let weeks = f["week_ends"].as_array().unwrap().len();
    for l in labels {
        let last =
            f["cumulative_cash"].as_array().unwrap().iter().find(|w| w["policy"] == l && w["week"] == weeks).unwrap();
        let band = format!(
            "{}<br><span class=\"band\">{} – {}</span>",
            text(&last["p50"]),
            text(&last["p10"]),
            text(&last["p90"])
        );
        assert!(html[at("cash")..at("policies")].contains(&band), "{l}: {band}");
    }
    // The diff: one row per line of diff.jsonl.
    let diffs = read(&d.sim.join("diff.jsonl")).lines().count();
    assert_eq!(html.matches("<tr data-variant=").count(), diffs);
    // No sweep.csv: no sweep section.
    assert!(!html.contains("id=\"sweep\""));
}

#[test]
fn reports_are_deterministic() {
    let d = demo();
    let tmp = tempfile::tempdir().unwrap();
    for (flag, dir) in [("--run", &d.run), ("--simulation", &d.sim)] {
        let out = tmp.path().join("again.html");
        let (code, _, err) = recoup(&["report", flag, dir.to_str().unwrap(), "--out", out.to_str().unwrap()], None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(read(&out), read(&dir.join("report.html")), "{flag}");
    }
    // The run report computes its trends and forecast in parallel: the same
    // bytes on 1 and 8 threads (report.html and receipts.csv).
    let mut pages = Vec::new();
    for threads in ["1", "8"] {
        let out = tmp.path().join(threads);
        std::fs::create_dir_all(&out).unwrap();
        let page = out.join("report.html");
        let run = Command::new(env!("CARGO_BIN_EXE_recoup"))
            .args(["report", "--run", d.run.to_str().unwrap(), "--out", page.to_str().unwrap()])
            .current_dir(repo(""))
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        pages.push((read(&page), read(&out.join("receipts.csv"))));
    }
    assert!(pages[0] == pages[1], "1 and 8 threads differ");
    assert_eq!(pages[0].0, read(&d.run.join("report.html")));
    assert_eq!(pages[0].1, read(&d.run.join("receipts.csv")));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

const EVIL: &str = "<script>document.title='pwned'</script>";

#[test]
fn user_text_is_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    copy_dir(&repo("fixtures/demo"), &ledger);
    // A customer whose actions differ under `strict` gets a hostile name.
    let customers = read(&ledger.join("customers.csv"));
    let mut lines: Vec<String> = customers.lines().map(String::from).collect();
    let row = lines.iter().position(|l| l.starts_with("C000003,")).unwrap();
    let mut cells: Vec<String> = lines[row].split(',').map(String::from).collect();
    cells[1] = format!("\"{} & \"\"Sons\"\"\"", EVIL);
    lines[row] = cells.join(",");
    std::fs::write(ledger.join("customers.csv"), lines.join("\n") + "\n").unwrap();
    // And a bad invoice row whose rejected value is markup.
    let mut invoices = read(&ledger.join("invoices.csv"));
    let first = invoices.lines().nth(1).unwrap().to_string();
    let mut bad: Vec<String> = first.split(',').map(String::from).collect();
    bad[0] = "INV9999999".into();
    bad[3] = EVIL.into();
    invoices.push_str(&(bad.join(",") + "\n"));
    std::fs::write(ledger.join("invoices.csv"), invoices).unwrap();

    let sim = tmp.path().join("sim");
    let (code, _, err) = recoup(
        &[
            "simulate",
            "--ledger",
            ledger.to_str().unwrap(),
            "--as-of",
            "2026-11-16",
            "--baseline",
            "policies/standard",
            "--variant",
            "policies/strict",
            "--reject-bad-rows",
            "--quiet",
            "--out",
            sim.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 5, "{err}");
    assert!(read(&sim.join("diff.jsonl")).contains(EVIL), "the name reaches the diff");
    let run = tmp.path().join("run");
    let (code, _, err) = recoup(
        &[
            "run",
            "--ledger",
            ledger.to_str().unwrap(),
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--reject-bad-rows",
            "--quiet",
            "--out",
            run.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 5, "{err}");
    assert!(read(&run.join("rejects.csv")).contains(EVIL), "the value reaches rejects.csv");
    for (flag, dir) in [("--run", &run), ("--simulation", &sim)] {
        let (code, _, err) = recoup(&["report", flag, dir.to_str().unwrap()], None);
        assert_eq!(code, 0, "{err}");
        let html = read(&dir.join("report.html"));
        assert!(!html.contains(EVIL), "{flag}: unescaped markup");
        assert!(html.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"), "{flag}");
    }
    let html = read(&sim.join("report.html"));
    assert!(html.contains("&lt;/script&gt; &amp; &quot;Sons&quot;"));
    assert!(read(&run.join("report.html")).contains("<h3>rejects.csv (1 row)</h3>"));
}

/// Markup and every character HTML gives a meaning to, in one string.
const ALERT: &str = "<script>alert(1)</script>\"'&";
/// [`ALERT`] as the page must hold it: text, escaped by maud (`'` needs no
/// escape: every attribute value is in double quotes).
const ALERT_TEXT: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";

/// Rewrite the `rule_id` column of a CSV output file (the report reads it as given).
fn mark_rules(path: &Path) {
    let (head, mut rows) = read_csv(path);
    let k = col(&head, "rule_id");
    for r in &mut rows {
        r[k] = format!("{ALERT} {}", r[k]);
    }
    write_csv(path, &head, &rows);
}

/// Issue 24 §4: markup in a customer name, a rule name and a policy name
/// reaches the run and simulation reports only as escaped text — in table
/// cells, headings, the page title, SVG titles and attribute values — and a
/// browser finds no element but the page's own script.
#[test]
fn markup_in_names_rules_and_policies_is_text() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    copy_dir(&repo("fixtures/demo"), &ledger);
    // Every customer's name carries the markup, and one account owner's.
    let (head, mut rows) = read_csv(&ledger.join("customers.csv"));
    let (name, owner) = (col(&head, "name"), col(&head, "account_owner"));
    for r in &mut rows {
        r[name] = format!("{ALERT} {}", r[0]);
        if r[owner] == "owner-01" {
            r[owner] = format!("{ALERT} owner-01");
        }
    }
    write_csv(&ledger.join("customers.csv"), &head, &rows);
    // The policy's name (a rule id cannot hold it: `recoup check` allows
    // letters, digits, `-`, `_` and `.`; the output files below can).
    let policy = tmp.path().join("policy");
    copy_dir(&repo("policies/standard"), &policy);
    for sub in ["templates", "tests"] {
        copy_dir(&repo("policies/standard").join(sub), &policy.join(sub));
    }
    let toml = read(&policy.join("policy.toml")).replacen(
        "name = \"standard\"",
        &format!("name = \"{}\"", ALERT.replace('"', "\\\"")),
        1,
    );
    std::fs::write(policy.join("policy.toml"), toml).unwrap();
    let (ledger_arg, policy_arg) = (ledger.to_str().unwrap(), policy.to_str().unwrap());
    let run = tmp.path().join("run");
    let args = ["--as-of", "2026-11-16", "--quiet", "--ledger", ledger_arg];
    let (code, _, err) =
        recoup(&[&["run", "--policy", policy_arg, "--out", run.to_str().unwrap()], &args[..]].concat(), None);
    assert_eq!(code, 0, "{err}");
    let sim = tmp.path().join("sim");
    let variant = repo("policies/strict");
    let sim_args = ["simulate", "--baseline", policy_arg, "--variant", variant.to_str().unwrap(), "--out"];
    let horizon = ["--horizon", "2w", "--runs", "3"];
    let (code, _, err) = recoup(&[&sim_args[..], &[sim.to_str().unwrap()], &horizon, &args].concat(), None);
    assert_eq!(code, 0, "{err}");
    // Rule ids with markup in the files the reports read.
    mark_rules(&run.join("plan.csv"));
    mark_rules(&run.join("worklist.csv"));
    let diff: Vec<String> = read(&sim.join("diff.jsonl"))
        .lines()
        .map(|l| {
            let mut d: serde_json::Value = serde_json::from_str(l).unwrap();
            for side in ["baseline", "variant_actions"] {
                for a in d[side].as_array_mut().unwrap() {
                    a["rule_id"] = format!("{ALERT} {}", a["rule_id"].as_str().unwrap()).into();
                }
            }
            d.to_string()
        })
        .collect();
    assert!(!diff.is_empty());
    std::fs::write(sim.join("diff.jsonl"), diff.join("\n") + "\n").unwrap();

    for (flag, dir) in [("--run", &run), ("--simulation", &sim)] {
        let (code, _, err) = recoup(&["report", flag, dir.to_str().unwrap()], None);
        assert_eq!(code, 0, "{flag}: {err}");
        let page = dir.join("report.html");
        let html = read(&page);
        assert!(!html.contains("<script>alert") && !html.contains(ALERT), "{flag}: unescaped markup");
        assert_eq!(html.matches("<script").count(), 1, "{flag}: only the page's own script");
        // The raw characters appear only where the page itself put them.
        let text = html.replace(ALERT_TEXT, "");
        assert!(!text.contains("alert(1)"), "{flag}: escaped otherwise than {ALERT_TEXT}");
        let title = html.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
        assert!(title.contains(ALERT_TEXT), "{flag}: the policy's name in the page title: {title}");
        if flag == "--run" {
            assert!(html.contains(&format!("<td>{ALERT_TEXT} C0")), "a customer's name in a table");
            assert!(html.contains(&format!("<td class=\"id\">{ALERT_TEXT} ")), "a rule in a table");
            assert!(html.contains(&format!("<h3>{ALERT_TEXT} owner-01<span")), "an owner's worklist heading");
            assert!(html.contains(&format!(">{ALERT_TEXT} owner-01</text>")), "an owner in the owners' chart");
        } else {
            assert!(html.contains(&format!("<td>{ALERT_TEXT} C0")), "a customer's name in the diff");
            let rule = html
                .split("<span class=\"muted\">")
                .skip(1)
                .any(|s| s.split("</span>").next().unwrap().contains(ALERT_TEXT));
            assert!(rule, "a rule in the diff");
            // The policy's label in a chart's title and a table header, an attribute and text.
            assert!(html.contains(&format!("<svg class=\"chart bands\" role=\"img\" viewBox=\"0 0 300 236\" width=\"300\" height=\"236\" xmlns=\"http://www.w3.org/2000/svg\"><title>Cash collected since the as-of date (EUR), P50 with P10–P90 band: {ALERT_TEXT}</title>")));
            assert!(html.contains(&format!("<th class=\"n\">{ALERT_TEXT}</th>")), "a policy column");
        }
        // The browser builds no element from the names: one script, the page's.
        let (dom, _) = chromium(&page, &["--dump-dom"]);
        assert_eq!(dom.matches("<script").count(), 1, "{flag}: a script element from the input");
        assert!(dom.contains("data-ok=\"1\""), "{flag}: the page's own check did not pass");
        // Serialised again from the DOM: text there escapes `&`, `<` and `>` only.
        assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;\"'&amp;"), "{flag}: the names are text");
    }
}

#[test]
fn a_sweep_is_drawn_when_the_folder_has_one() {
    let d = demo();
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    copy_dir(&d.sim, &sim);
    // As `recoup simulate --sweep` writes it: the baseline's row first, `value` = `baseline`.
    std::fs::write(
        sim.join("sweep.csv"),
        "label,value,actions,cost,cash_collected_p50\nstandard,baseline,91,1900.00,7050000.00\nagency.after_days=60,60,95,2100.50,7100000.00\nagency.after_days=90,90,87,1789.19,7071521.11\nagency.after_days=120,120,80,1500.00,7000000.00\n",
    )
    .unwrap();
    let (code, _, err) = recoup(&["report", "--simulation", sim.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let html = read(&sim.join("report.html"));
    assert!(html.contains("<section id=\"sweep\">"));
    let section = html.split("<section id=\"sweep\">").nth(1).unwrap().split("</section>").next().unwrap();
    assert_eq!(section.matches("<svg class=\"chart curve\"").count(), 3, "actions, cost, cash: not `value`");
    // The baseline is a labelled line in each chart, not a point among the swept values.
    assert_eq!(section.matches("<circle").count(), 9, "three swept values in each of three charts");
    assert_eq!(section.matches("<line class=\"baseline\"").count(), 3);
    assert_eq!(section.matches(">standard (baseline)</text>").count(), 3);
    assert!(section.contains("<title>standard (baseline): 1.9k</title>"), "the cost chart's line is at 1900");
    assert!(!section.contains("text-anchor=\"middle\">standard</text>"), "no x position for the baseline");
    assert!(section.contains("<svg class=\"chart curve\" role=\"img\" viewBox=\"0 0 430 230\" width=\"430\" height=\"230\" xmlns=\"http://www.w3.org/2000/svg\"><title>actions by agency.after_days</title>"));
    // The table: a row per metric, a column per swept value (it fits the page), the baseline first.
    assert_eq!(cells_after(section, "cost", 4), ["1900.00", "2100.50", "1789.19", "1500.00"]);
    assert!(section.contains("<th class=\"n\">standard (baseline)</th><th class=\"n\">60</th>"), "{section}");
    // Every chart of these amounts and counts starts at zero.
    assert_eq!(section.matches("text-anchor=\"end\">0</text>").count(), 3);
    // Without a baseline row (a hand-made file): only the curve.
    std::fs::write(
        sim.join("sweep.csv"),
        "variant,actions,cost,cash_collected_p50\nagency.after_days=60,95,2100.50,7100000.00\nagency.after_days=90,87,1789.19,7071521.11\nagency.after_days=120,80,1500.00,7000000.00\n",
    )
    .unwrap();
    let (code, _, err) = recoup(&["report", "--simulation", sim.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let html = read(&sim.join("report.html"));
    assert_eq!(html.matches("<svg class=\"chart curve\"").count(), 3);
    assert!(!html.contains("<line class=\"baseline\""));
    let section = html.split("<section id=\"sweep\">").nth(1).unwrap().split("</section>").next().unwrap();
    assert_eq!(cells_after(section, "actions", 3), ["95", "87", "80"]);
}

#[test]
fn errors_name_the_folder_and_the_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = recoup(&["report", "--run", tmp.path().to_str().unwrap()], None);
    assert_eq!(code, 4);
    assert!(err.contains("is not the output folder of `recoup run`: `summary.json` is missing"), "{err}");
    assert!(err.contains("help: pass the `--out` folder of `recoup run`"), "{err}");
    let (code, _, err) = recoup(&["report", "--simulation", tmp.path().to_str().unwrap()], None);
    assert_eq!(code, 4);
    assert!(err.contains("`comparison.json` is missing"), "{err}");
    // A file in another format: the file, line and column.
    let d = demo();
    let run = tmp.path().join("run");
    copy_dir(&d.run, &run);
    std::fs::write(run.join("summary.json"), "{\n  \"as_of\": 7\n}\n").unwrap();
    let (code, _, err) = recoup(&["report", "--run", run.to_str().unwrap()], None);
    assert_eq!(code, 4);
    assert!(err.contains(&format!("--> {}:2:", run.join("summary.json").display())), "{err}");
    // Both inputs, or none: a usage error.
    let (code, _, _) = recoup(&["report", "--run", "a", "--simulation", "b"], None);
    assert_eq!(code, 2);
    let (code, _, _) = recoup(&["report"], None);
    assert_eq!(code, 2);
}

// ---------------------------------------------------------------------------
// The morning page (issue 25): trends from the ledger's own history, the
// receipts forecast, and what happens without the ledger.

/// A CSV file as a header and rows of cells.
fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let head = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (head, rows)
}

fn write_csv(p: &Path, head: &[String], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(p).unwrap();
    w.write_record(head).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

fn col(head: &[String], name: &str) -> usize {
    head.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

/// The demo ledger as it would have been exported on `day`, written by
/// hand from the CSV files (not by recoup's own cut): invoices issued by
/// then with their open amount and status of that day, payments, promises
/// and actions dated by then.
fn demo_as_exported_on(day: &str, to: &Path) {
    use rust_decimal::Decimal;
    let demo = repo("fixtures/demo");
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(demo.join("customers.csv"), to.join("customers.csv")).unwrap();
    let (ph, pays) = read_csv(&demo.join("payments.csv"));
    let (pi, pd, pa) = (col(&ph, "invoice_id"), col(&ph, "paid_on"), col(&ph, "amount"));
    let pays: Vec<Vec<String>> = pays.into_iter().filter(|p| p[pd].as_str() <= day).collect();
    let (ih, invs) = read_csv(&demo.join("invoices.csv"));
    let (id_, issue, due, amount, open, status, since, reason) = (
        col(&ih, "invoice_id"),
        col(&ih, "issue_date"),
        col(&ih, "due_date"),
        col(&ih, "amount"),
        col(&ih, "open_amount"),
        col(&ih, "status"),
        col(&ih, "disputed_since"),
        col(&ih, "dispute_reason"),
    );
    let day_d = crate::common::date(day);
    let mut kept = std::collections::BTreeSet::new();
    let mut rows = Vec::new();
    for mut r in invs.into_iter().filter(|r| r[issue].as_str() <= day) {
        let paid: Decimal = pays.iter().filter(|p| p[pi] == r[id_]).map(|p| p[pa].parse::<Decimal>().unwrap()).sum();
        let left = (r[amount].parse::<Decimal>().unwrap() - paid).max(Decimal::ZERO);
        let dpd = (day_d - crate::common::date(&r[due])).num_days();
        let disputed =
            (r[status] == "disputed" || !r[since].is_empty()) && (r[since].is_empty() || r[since].as_str() <= day);
        let st = if left.is_zero() {
            "paid"
        } else if r[status] == "written_off" && dpd >= 180 {
            "written_off"
        } else if disputed {
            "disputed"
        } else {
            "open"
        };
        r[open] = if st == "written_off" { "0.00".to_string() } else { format!("{left:.2}") };
        r[status] = st.to_string();
        if !disputed {
            r[since].clear();
            r[reason].clear();
        }
        kept.insert(r[id_].clone());
        rows.push(r);
    }
    write_csv(&to.join("invoices.csv"), &ih, &rows);
    let pays: Vec<Vec<String>> = pays.into_iter().filter(|p| p[pi].is_empty() || kept.contains(&p[pi])).collect();
    write_csv(&to.join("payments.csv"), &ph, &pays);
    for (file, date) in [("promises.csv", "made_on"), ("actions.csv", "decided_on")] {
        let (h, rows) = read_csv(&demo.join(file));
        let (d, inv) = (col(&h, date), col(&h, "invoice_id"));
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .filter(|r| r[d].as_str() <= day && (r[inv].is_empty() || kept.contains(&r[inv])))
            .collect();
        write_csv(&to.join(file), &h, &rows);
    }
}

/// The cells of the trend table's row for `day` and `code`, after those two.
fn trend_row(html: &str, day: &str, code: &str) -> Vec<String> {
    let table = &html[html.find("<div id=\"trend-table\">").expect("no trend table")..];
    let key = format!("<td class=\"id\">{day}</td><td class=\"id\">{code}</td>");
    let at = table.find(&key).unwrap_or_else(|| panic!("no trend row {day} {code}")) + key.len();
    let row = &table[at..table[at..].find("</tr>").unwrap() + at];
    row.split("</td>").filter(|c| !c.is_empty()).map(|c| c.rsplit('>').next().unwrap().to_string()).collect()
}

#[test]
fn a_past_month_end_is_what_facts_says_of_the_ledger_exported_that_day() {
    let d = demo();
    let html = read(&d.run.join("report.html"));
    let tmp = tempfile::tempdir().unwrap();
    let cash = |code: &str, v: &serde_json::Value| {
        format!("{code} {}", recoup::engine::words::money(text(v).parse().unwrap()))
    };
    for day in ["2026-06-30", "2026-10-31"] {
        let ledger = tmp.path().join(day);
        demo_as_exported_on(day, &ledger);
        let (code, out, err) =
            recoup(&["facts", "--ledger", ledger.to_str().unwrap(), "--as-of", day, "--format", "json"], None);
        assert_eq!(code, 0, "{err}");
        let facts: serde_json::Value = serde_json::from_str(&out).unwrap();
        let p = facts["portfolio"].as_object().unwrap();
        assert_eq!(p.keys().collect::<Vec<_>>(), ["EUR", "GBP", "USD"]);
        for (c, k) in p {
            let mut want = vec![
                cash(c, &k["ar_total"]),
                cash(c, &k["ar_overdue"]),
                text(&k["dso"]),
                text(&k["best_possible_dso"]),
                text(&k["average_days_delinquent"]),
                text(&k["cei"]),
            ];
            want.extend(k["aging"].as_array().unwrap().iter().skip(1).map(|b| cash(c, &b["amount"])));
            assert_eq!(trend_row(&html, day, c), want, "{day} {c}");
        }
    }
    // The headline's change is against the last month end: 2026-10-31.
    let oct = trend_row(&html, "2026-10-31", "EUR");
    let s = json(&d.run.join("summary.json"));
    let dso_now: f64 = s["kpis"]["EUR"]["dso"].as_f64().unwrap();
    let dso_then: f64 = oct[2].parse().unwrap();
    let arrow = if dso_now > dso_then { "▲" } else { "▼" };
    let change = format!("{arrow} {:.2} days since 31 Oct", (dso_now - dso_then).abs());
    assert!(html.contains(&change), "{change}");
}

#[test]
fn receipts_reconcile_with_the_open_ar() {
    let d = demo();
    let (head, rows) = read_csv(&d.run.join("receipts.csv"));
    assert_eq!(head, ["currency", "week", "from", "to", "expected", "low", "high", "invoices"]);
    let s = json(&d.run.join("summary.json"));
    // Open invoices per currency, counted here from invoices.csv.
    let (ih, invs) = read_csv(&repo("fixtures/demo/invoices.csv"));
    let (cur, open, status) = (col(&ih, "currency"), col(&ih, "open_amount"), col(&ih, "status"));
    for (code, k) in s["kpis"].as_object().unwrap() {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| &r[0] == code).collect();
        let weeks: Vec<&str> = mine.iter().map(|r| r[1].as_str()).collect();
        let mut want: Vec<String> = (1..=13).map(|w| w.to_string()).collect();
        want.push("later".into());
        assert_eq!(weeks, want, "{code}: 13 weeks, then later");
        let sum: rust_decimal::Decimal = mine.iter().map(|r| r[4].parse::<rust_decimal::Decimal>().unwrap()).sum();
        assert_eq!(sum.to_string(), text(&k["ar_total"]), "{code}: every open invoice in one week or later");
        let count: u64 = mine.iter().map(|r| r[7].parse::<u64>().unwrap()).sum();
        let open_here = invs
            .iter()
            .filter(|r| &r[cur] == code && matches!(r[status].as_str(), "open" | "disputed"))
            .filter(|r| r[open].parse::<rust_decimal::Decimal>().unwrap() > rust_decimal::Decimal::ZERO)
            .count() as u64;
        assert_eq!(count, open_here, "{code}");
        assert_eq!(count, k["open_invoices"].as_u64().unwrap(), "{code}");
        for r in mine.iter().filter(|r| r[1] != "later") {
            let (e, lo, hi): (f64, f64, f64) = (r[4].parse().unwrap(), r[5].parse().unwrap(), r[6].parse().unwrap());
            assert!(lo <= e && e <= hi, "{code} week {}: {lo} <= {e} <= {hi}", r[1]);
            assert!(r[4].split('.').nth(1).is_some_and(|c| c.len() == 2), "two decimals: {}", r[4]);
        }
    }
    assert_eq!(rows[0][2..4], ["2026-11-17".to_string(), "2026-11-23".to_string()]);
    let html = read(&d.run.join("report.html"));
    assert!(html.contains("The simple forecast") && html.contains("recoup simulate"));
}

/// A ledger small enough to forecast by hand: customer A paid two invoices
/// 4 and 10 days late (usual delay 7, spread 3); its open invoices fall due
/// the day after the as-of date (expected in week 2: day 8; one spread
/// earlier, day 5, is week 1; later, day 11, week 2), 30 days before it
/// (expected 23 days ago: past its usual date), and in 100 days (later).
/// Customer B, with no history, has one due in 20 days (week 3, no band).
#[test]
fn receipts_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let l = tmp.path().join("ledger");
    std::fs::create_dir_all(&l).unwrap();
    let demo = read(&repo("fixtures/demo/customers.csv"));
    let mut lines = demo.lines();
    let header = lines.next().unwrap();
    let mut customers = format!("{header}\n");
    for (k, line) in lines.take(2).enumerate() {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        cells[0] = ["A", "B"][k].to_string();
        cells[4] = "EUR".to_string();
        customers.push_str(&cells.join(","));
        customers.push('\n');
    }
    std::fs::write(l.join("customers.csv"), customers).unwrap();
    std::fs::write(
        l.join("invoices.csv"),
        "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,disputed_since,dispute_reason\n\
         P1,A,2026-08-01,2026-08-31,EUR,100.00,0.00,paid,,\n\
         P2,A,2026-09-01,2026-10-01,EUR,100.00,0.00,paid,,\n\
         O1,A,2026-10-18,2026-11-17,EUR,1000.00,1000.00,open,,\n\
         O2,A,2026-09-17,2026-10-17,EUR,200.00,200.00,open,,\n\
         O3,A,2026-11-16,2027-02-24,EUR,50.00,50.00,open,,\n\
         O4,B,2026-11-06,2026-12-06,EUR,70.00,70.00,open,,\n",
    )
    .unwrap();
    std::fs::write(
        l.join("payments.csv"),
        "payment_id,customer_id,invoice_id,paid_on,amount\nY1,A,P1,2026-09-04,100.00\nY2,A,P2,2026-10-11,100.00\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = recoup(
        &[
            "run",
            "--ledger",
            l.to_str().unwrap(),
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, stdout, err) = recoup(&["report", "--run", out.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("receipts.csv"), "{stdout}");
    let (_, rows) = read_csv(&out.join("receipts.csv"));
    let week = |w: &str| rows.iter().find(|r| r[1] == w).unwrap()[4..8].to_vec();
    let s = |v: [&str; 4]| v.map(String::from).to_vec();
    assert_eq!(week("1"), s(["0.00", "0.00", "1000.00", "0"]), "one spread early: week 1's high");
    assert_eq!(week("2"), s(["1000.00", "0.00", "1000.00", "1"]));
    assert_eq!(week("3"), s(["70.00", "70.00", "70.00", "1"]), "no history: on the due date, no band");
    assert_eq!(rows.iter().find(|r| r[1] == "later").unwrap()[4], "250.00", "past its usual date, and after week 13");
    assert_eq!(rows.iter().find(|r| r[1] == "later").unwrap()[7], "2");
}

/// With `[reporting]` rates the forecast is also given converted: each
/// currency's week converted and rounded to cents, then added.
#[test]
fn receipts_converted_at_the_policys_rates() {
    use rust_decimal::Decimal;
    let tmp = tempfile::tempdir().unwrap();
    let pol = tmp.path().join("policy");
    copy_dir(&repo("policies/standard"), &pol);
    for sub in ["templates", "tests"] {
        if repo("policies/standard").join(sub).is_dir() {
            copy_dir(&repo("policies/standard").join(sub), &pol.join(sub));
        }
    }
    let toml = read(&pol.join("policy.toml"))
        + "\n[reporting]\ncurrency = \"EUR\"\nrates = { USD = \"0.86\", GBP = \"1.14\" }\nrates_date = 2026-11-16\n";
    std::fs::write(pol.join("policy.toml"), toml).unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = run_demo(pol.to_str().unwrap(), &out, &["--quiet"], None);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = recoup(&["report", "--run", out.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let (_, rows) = read_csv(&out.join("receipts.csv"));
    let rate = |c: &str| match c {
        "USD" => Decimal::new(86, 2),
        "GBP" => Decimal::new(114, 2),
        _ => Decimal::ONE,
    };
    let conv = |week: &str| -> Decimal {
        rows.iter()
            .filter(|r| r[1] == week)
            .map(|r| {
                (r[4].parse::<Decimal>().unwrap() * rate(&r[0]))
                    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            })
            .sum()
    };
    let total: Decimal = (1..=13).map(|w| conv(&w.to_string())).sum();
    let head = format!(
        "All currencies, converted to EUR<span class=\"muted\"> · EUR {} in 13 weeks; later or not dated EUR {}",
        recoup::engine::words::money(total),
        recoup::engine::words::money(conv("later"))
    );
    assert!(read(&out.join("report.html")).contains(&head), "{head}");
}

#[test]
fn without_the_ledger_the_page_says_what_is_missing() {
    let d = demo();
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    copy_dir(&d.run, &run);
    let _ = std::fs::remove_file(run.join("receipts.csv"));
    // The manifest names the ledger as `fixtures/demo`: from another folder it is not there.
    let out = Command::new(env!("CARGO_BIN_EXE_recoup"))
        .args(["report", "--run", run.to_str().unwrap()])
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: the report leaves out the trends") && err.contains("--ledger DIR"), "{err}");
    let html = read(&run.join("report.html"));
    assert!(html.contains("The trends need the ledger the run read: the ledger folder `fixtures/demo` is not there"));
    assert!(!run.join("receipts.csv").exists());
    // --ledger gives it; a different ledger is refused by its hashes.
    let (code, _, err) =
        recoup(&["report", "--run", run.to_str().unwrap(), "--ledger", repo("fixtures/demo").to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(run.join("receipts.csv").is_file());
    assert_eq!(
        read(&run.join("report.html")),
        read(&d.run.join("report.html")).replace(d.run.to_str().unwrap(), run.to_str().unwrap())
    );
    let other = tmp.path().join("other");
    copy_dir(&repo("fixtures/demo"), &other);
    let customers = read(&other.join("customers.csv")).replacen("Zenith", "Zenit", 1);
    std::fs::write(other.join("customers.csv"), customers).unwrap();
    let (code, _, err) = recoup(&["report", "--run", run.to_str().unwrap(), "--ledger", other.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("`customers.csv` in") && err.contains("is not the file the run read"), "{err}");
}

// ---------------------------------------------------------------------------
// The browser.

const CHROMIUM: &str = "/usr/bin/chromium";

/// The target folder of this build (where screenshots go for review).
fn target_dir() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_recoup"));
    exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| repo("target"))
}

fn chromium(page: &Path, extra: &[&str]) -> (String, String) {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is not installed: the report's browser test needs it. Install it with \
         `apt-get install -y --no-install-recommends chromium` (Debian; .ci/test does this)"
    );
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Open a report in headless Chromium: the DOM after load, the console
/// clean, a screenshot under target/.
fn in_browser(page: &Path, shot: &str) -> String {
    let (dom, log) = chromium(page, &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.iter().all(|l| !l.contains("Uncaught") && !l.contains("Error")), "console errors: {console:#?}");
    assert!(dom.contains("data-ok=\"1\""), "the page's own check did not pass: {}", &dom[..dom.len().min(400)]);
    let png = target_dir().join(shot);
    let _ = std::fs::remove_file(&png);
    chromium(page, &[&format!("--screenshot={}", png.display()), "--window-size=1280,2000"]);
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 10_000 && bytes.starts_with(b"\x89PNG"), "no screenshot at {}", png.display());
    dom
}

#[test]
fn run_report_renders_in_a_browser() {
    let d = demo();
    let dom = in_browser(&d.run.join("report.html"), "report-run.png");
    // 18 sparklines (6 figures × 3 currencies), 3 trend lines (DSO, best
    // possible DSO, CEI), 3 stacked areas and 3 receipts charts (one per
    // currency), 3 work charts (kinds, steps, owners), 3 aging charts.
    assert!(dom.contains("data-charts=\"33\""), "{}", &dom[dom.find("data-charts").unwrap_or(0)..][..30]);
    assert_eq!(dom.matches("<svg class=\"chart spark\"").count(), 18);
    assert_eq!(dom.matches("<path class=\"spark\"").count(), 18, "a line in every sparkline");
    assert_eq!(dom.matches("<svg class=\"chart line\"").count(), 3);
    assert_eq!(dom.matches("<path class=\"line\"").count(), 9, "a line per currency in each trend chart");
    assert_eq!(dom.matches("<path class=\"area\"").count(), 12, "a band per overdue bucket and currency");
    assert_eq!(dom.matches("<rect class=\"wbar\"").count(), 39, "13 weeks of receipts per currency");
    assert_eq!(dom.matches("<rect class=\"bar\"").count(), 15, "one bar per aging bucket and currency");
    assert!(dom.matches("<rect class=\"hbar\"").count() >= 14 + 11 + 3, "kinds, steps and owners");
    // Every chart says what it is: a title, a text alternative, named axes.
    for chart in dom.split("<svg class=\"chart ").skip(1) {
        let head = &chart[..chart.find('>').unwrap()];
        assert!(head.contains("role=\"img\""), "{head}");
        assert!(chart.contains("<title>"), "{}", &chart[..200.min(chart.len())]);
    }
    for section in ["headline", "trends", "receipts", "debtors", "work", "risk"] {
        let at = dom.find(&format!("<section id=\"{section}\">")).unwrap_or_else(|| panic!("no {section}"));
        let body = &dom[at..at + dom[at..].find("</section>").unwrap()];
        assert!(body.len() > 500, "section {section} is nearly empty: {body}");
        assert!(!body.contains("need the ledger the run read"), "{section}: {body}");
    }
}

#[test]
fn simulation_report_renders_in_a_browser() {
    let d = demo();
    let dom = in_browser(&d.sim.join("report.html"), "report-simulation.png");
    assert!(
        dom.contains("data-charts=\"27\""),
        "a panel per currency and policy for cumulative cash, weekly cash and DSO"
    );
    assert_eq!(dom.matches("<path class=\"line\"").count(), 27, "a P50 line in each panel");
    assert_eq!(dom.matches("<path class=\"band\"").count(), 27, "a P10-P90 band in each panel");
    assert_eq!(dom.matches("<path class=\"ref\"").count(), 18, "the baseline's P50 in each variant's panel");
    // The script ran: it counted the diff rows.
    let rows = read(&d.sim.join("diff.jsonl")).lines().count();
    assert!(dom.contains(&format!("{rows} of {rows} rows")), "the filter script did not run");
}

/// Issue 20 §5: the run report's past month ends use the settings of the
/// policy the run used (its `[kpis]`, carried in summary.json), not the
/// defaults: with bucket edges 15 and 45 the trend table has the buckets
/// 1-15, 16-45 and 46+, and a month end's figures are `facts --policy` of
/// the ledger as exported that day.
#[test]
fn the_report_s_month_ends_use_the_run_s_kpi_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("policy");
    crate::cli::standard_copy(
        &policy,
        &[("[guardrails]\n", "[kpis]\nbucket_edges = [15, 45]\ndso_days = 60\n\n[guardrails]\n")],
    );
    let p = policy.to_str().unwrap();
    let run = tmp.path().join("run");
    let (code, _, err) = run_demo(p, &run, &["--quiet"], None);
    assert_eq!(code, 0, "{err}");
    let s = json(&run.join("summary.json"));
    assert_eq!(s["kpi_settings"]["bucket_edges"], serde_json::json!([15, 45]));
    assert_eq!(s["kpi_settings"]["dso_days"], 60);
    let (code, _, err) = recoup(&["report", "--run", run.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let html = read(&run.join("report.html"));
    let table = &html[html.find("<div id=\"trend-table\">").expect("no trend table")..];
    let table = &table[..table.find("</table>").unwrap()];
    for b in ["1-15", "16-45", "46+"] {
        assert!(table.contains(b), "bucket {b} missing from the trend table");
    }
    assert!(!table.contains("61-90"), "a default bucket in the trend table");
    let cash = |code: &str, v: &serde_json::Value| {
        format!("{code} {}", recoup::engine::words::money_of(text(v).parse().unwrap(), code))
    };
    let day = "2026-10-31";
    let ledger = tmp.path().join(day);
    demo_as_exported_on(day, &ledger);
    let (code, out, err) = recoup(
        &["facts", "--ledger", ledger.to_str().unwrap(), "--as-of", day, "--policy", p, "--format", "json"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let facts: serde_json::Value = serde_json::from_str(&out).unwrap();
    for (c, k) in facts["portfolio"].as_object().unwrap() {
        let mut want = vec![
            cash(c, &k["ar_total"]),
            cash(c, &k["ar_overdue"]),
            text(&k["dso"]),
            text(&k["best_possible_dso"]),
            text(&k["average_days_delinquent"]),
            text(&k["cei"]),
        ];
        let aging = k["aging"].as_array().unwrap();
        assert_eq!(aging.len(), 4, "current and three overdue buckets");
        want.extend(aging.iter().skip(1).map(|b| cash(c, &b["amount"])));
        assert_eq!(trend_row(&html, day, c), want, "{day} {c}");
    }
}

/// Issue 20 §2: a past month end keeps the credit notes issued by then (it
/// dropped them all): on 2026-09-30 the customer's AR is net of the unused
/// part of the credit note of 2026-09-15, and the DSO period's net sales
/// are less its amount; a credit note issued after the month end is not there.
#[test]
fn a_past_month_end_keeps_the_credit_notes_issued_by_then() {
    use recoup::facts::FactsConfig;
    use rust_decimal::Decimal;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("customers.csv"),
        "customer_id,name,segment,country,currency,credit_limit,payment_terms\nC1,Acme,small,US,USD,10000.00,NET30\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("invoices.csv"),
        "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,document_type\n\
         I1,C1,2026-08-01,2026-08-31,USD,1000.00,1000.00,open,invoice\n\
         CN1,C1,2026-09-15,2026-09-15,USD,300.00,200.00,open,credit_note\n\
         CN2,C1,2026-10-10,2026-10-10,USD,50.00,50.00,open,credit_note\n",
    )
    .unwrap();
    std::fs::write(dir.join("payments.csv"), "payment_id,customer_id,invoice_id,paid_on,amount\n").unwrap();
    let ledger = recoup::ledger::load(dir, &recoup::ledger::LoadOptions::default()).unwrap();
    let months = recoup::report::history::trends(&ledger, crate::common::date("2026-11-16"), &FactsConfig::default());
    let sep = months.iter().find(|m| m.date == crate::common::date("2026-09-30")).unwrap();
    let k = &sep.kpis["USD"];
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    assert_eq!(k.ar_total, d("1000.00"));
    assert_eq!(k.credit_notes, d("200.00"), "CN1's unused part; CN2 is not issued yet");
    assert_eq!(k.ar_net, d("800.00"));
    assert_eq!(k.sales_dso_period, d("700.00"), "I1 less CN1, issued in the 90 days to 2026-09-30");
    let oct = months.iter().find(|m| m.date == crate::common::date("2026-10-31")).unwrap();
    assert_eq!(oct.kpis["USD"].credit_notes, d("250.00"), "CN1 and CN2");
    let aug = months.iter().find(|m| m.date == crate::common::date("2026-08-31")).unwrap();
    assert_eq!(aug.kpis["USD"].credit_notes, Decimal::ZERO);
}
