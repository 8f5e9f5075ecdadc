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
            assert_eq!(out.trim(), format!("wrote {}", dir.join("report.html").display()));
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

/// The value of the KPI tile labelled `label`.
fn tile(html: &str, label: &str) -> String {
    let key = format!("<div class=\"label\">{label}</div><div class=\"value\">");
    let at = html.find(&key).unwrap_or_else(|| panic!("no tile `{label}`")) + key.len();
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
        let at = html.find(&format!("<h3>{code}<span")).unwrap_or_else(|| panic!("no {code} heading"));
        let part = &html[at..];
        assert_eq!(tile(part, "DSO"), text(&k["dso"]), "{code}");
        assert_eq!(tile(part, "CEI %"), text(&k["cei"]), "{code}");
        assert_eq!(tile(part, "Open AR"), cash(code, &k["ar_total"]), "{code}");
        assert_eq!(tile(part, "Overdue"), cash(code, &k["ar_overdue"]), "{code}");
        assert!(part.contains(&format!("Best possible DSO {} (current AR only)", text(&k["best_possible_dso"]))));
    }
    assert_eq!(tile(&html, "Open AR"), "EUR 2,896,077.01");
    assert_eq!(tile(&html, "DSO"), "40.23");
    assert!(html.contains("<h2>Portfolio as of 2026-11-16</h2>"));
    for kind in ["limit_change", "credit_review", "letter"] {
        let (code, t) = s["by_action"][kind]["currencies"].as_object().unwrap().iter().next().unwrap();
        let got = cells_after(&html, kind, 6);
        let mut want = vec![code.clone(), text(&t["count"])];
        want.extend(["amount_due", "fees", "interest", "cost"].iter().map(|f| cash(code, &t[f])));
        assert_eq!(got, want, "{kind}");
    }
    assert_eq!(cells_after(&html, "limit_change", 3)[2], "EUR 798,823.80");
    let total = cells_after(&html, "all actions", 3);
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
    assert_eq!(cells_after(&html, "cost_of_actions", 4), ["EUR", "421.20", "5085.11", "31.70"]);
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
        let text = v["text"].as_str().unwrap().replace('\'', "&#39;");
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
        assert!(html.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"), "{flag}");
    }
    let html = read(&sim.join("report.html"));
    assert!(html.contains("&lt;/script&gt; &amp; &quot;Sons&quot;"));
    assert!(read(&run.join("report.html")).contains("<h3>rejects.csv (1 row)</h3>"));
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
    assert!(dom.contains("data-charts=\"3\""), "an aging chart per currency");
    assert_eq!(dom.matches("<rect class=\"bar\"").count(), 15, "one bar per aging bucket and currency");
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
