//! The page around a report: escaping, the document with its inline CSS
//! and script, tables, and number formatting identical to the JSON files.

use serde::Serialize;
use std::fmt::Write;

/// Escape text for HTML content and attribute values (and SVG text).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number exactly as serde_json writes it in summary.json, comparison.json
/// and forward.json (money as its decimal string, KPIs as the shortest
/// float); `None` as an em dash.
pub fn num<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) | Err(_) => "—".to_string(),
        Ok(other) => other.to_string(),
    }
}

/// A table cell: text (escaped when rendered), right-aligned when numeric.
pub enum Cell {
    Text(String),
    Num(String),
    /// An identifier or a word that should not wrap (ids, rules, kinds).
    Id(String),
    /// Already-escaped HTML.
    Html(String),
    /// Already-escaped HTML, right-aligned.
    NumHtml(String),
}

/// Text cell.
pub fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// Identifier cell (does not wrap).
pub fn id(s: impl Into<String>) -> Cell {
    Cell::Id(s.into())
}

/// Numeric cell (right-aligned, tabular figures).
pub fn n(s: impl Into<String>) -> Cell {
    Cell::Num(s.into())
}

/// Money with its currency and thousands separators: `EUR 1,234.50`.
pub fn cash(code: &str, d: rust_decimal::Decimal) -> String {
    format!("{code} {}", crate::engine::words::money_of(d, code))
}

/// A table whose last rows (`totals`) are set off as totals.
pub fn table_with_totals(attrs: &str, head: &[&str], rows: &[Vec<Cell>], totals: &[Vec<Cell>]) -> String {
    let mut s = table(attrs, head, rows);
    if let Some(body) = s.strip_suffix("</tbody></table>") {
        let mut t = body.to_string();
        for r in totals {
            t.push_str(&row(r, " class=\"total\""));
        }
        t.push_str("</tbody></table>");
        s = t;
    }
    s
}

/// A table: a header row (a leading `#` marks a numeric column) and rows.
pub fn table(attrs: &str, head: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut s = format!("<table{attrs}><thead><tr>");
    for h in head {
        match h.strip_prefix('#') {
            Some(h) => {
                let _ = write!(s, "<th class=\"n\">{}</th>", esc(h));
            }
            None => {
                let _ = write!(s, "<th>{}</th>", esc(h));
            }
        }
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str(&row(r, ""));
    }
    s.push_str("</tbody></table>");
    s
}

/// One `<tr>` with extra attributes.
pub fn row(cells: &[Cell], attrs: &str) -> String {
    let mut s = format!("<tr{attrs}>");
    for c in cells {
        let _ = match c {
            Cell::Text(x) => write!(s, "<td>{}</td>", esc(x)),
            Cell::Num(x) => write!(s, "<td class=\"n\">{}</td>", esc(x)),
            Cell::Id(x) => write!(s, "<td class=\"id\">{}</td>", esc(x)),
            Cell::Html(x) => write!(s, "<td>{x}</td>"),
            Cell::NumHtml(x) => write!(s, "<td class=\"n\">{x}</td>"),
        };
    }
    s.push_str("</tr>");
    s
}

/// A section with a heading and an anchor.
pub fn section(id: &str, title: &str, body: &str) -> String {
    format!("<section id=\"{}\"><h2>{}</h2>{body}</section>\n", esc(id), esc(title))
}

/// A row of KPI tiles: (label, value, note).
pub fn tiles(items: &[(&str, String, String)]) -> String {
    let mut s = String::from("<div class=\"tiles\">");
    for (label, value, note) in items {
        let _ = write!(
            s,
            "<div class=\"tile\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"note\">{}</div></div>",
            esc(label),
            esc(value),
            esc(note)
        );
    }
    s.push_str("</div>");
    s
}

/// A definition list of (term, value) pairs.
pub fn facts(items: &[(&str, String)]) -> String {
    let mut s = String::from("<dl class=\"facts\">");
    for (k, v) in items {
        let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    s.push_str("</dl>");
    s
}

/// A headline figure of one currency: its value, its change since the last
/// month end, and a sparkline (already-made SVG).
pub struct Headline {
    pub value: String,
    pub change: String,
    /// `better`, `worse` or empty: how the change reads (a class on it).
    pub tone: &'static str,
    pub spark: String,
}

/// The headline figures as a grid: a header cell per figure (its label and
/// one-line meaning), then a row per currency (its heading, then each
/// figure's value, change and sparkline). `rows` are (heading, detail, figures).
pub fn headline_grid(figures: &[(&str, &str)], rows: &[(String, String, Vec<Headline>)]) -> String {
    let mut s = format!(
        "<div class=\"headline\" style=\"grid-template-columns: 104px repeat({}, minmax(0, 1fr))\"><div class=\"hh\"></div>",
        figures.len()
    );
    for (label, meaning) in figures {
        let _ = write!(
            s,
            "<div class=\"hh\"><div class=\"label\">{}</div><div class=\"note\">{}</div></div>",
            esc(label),
            esc(meaning)
        );
    }
    for (head, detail, cells) in rows {
        let _ = write!(
            s,
            "<div class=\"hc\"><div class=\"code\">{}</div><div class=\"note\">{}</div></div>",
            esc(head),
            esc(detail)
        );
        for (h, (label, _)) in cells.iter().zip(figures) {
            let _ = write!(
                s,
                "<div class=\"hv\" data-figure=\"{}\"><div class=\"value\">{}</div><div class=\"change {}\">{}</div>{}</div>",
                esc(label),
                esc(&h.value),
                h.tone,
                esc(&h.change),
                h.spark
            );
        }
    }
    s.push_str("</div>");
    s
}

/// A `<details>` element: a one-line summary, the rest folded away.
pub fn details(summary: &str, body: &str) -> String {
    format!("<details><summary>{}</summary>{body}</details>", esc(summary))
}

/// A paragraph of muted explanatory text.
pub fn note(text: &str) -> String {
    format!("<p class=\"muted\">{}</p>", esc(text))
}

const CSS: &str = r#"
:root { --ink: #1d232b; --muted: #5f6b7a; --rule: #d9dee5; --soft: #f4f6f8; --accent: #1f4e79; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 48px; }
header h1 { font-size: 24px; margin: 0 0 4px; }
header p { margin: 0; color: var(--muted); }
nav { margin: 14px 0 0; font-size: 13px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
section { margin-top: 34px; }
h2 { font-size: 18px; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { font-weight: 600; border-bottom: 1.5px solid var(--ink); white-space: nowrap; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.id { white-space: nowrap; }
table.wide { font-size: 12px; }
table.wide td, table.wide th { padding: 3px 5px; }
table.wide .band { font-size: 10.5px; }
#diff-table { table-layout: fixed; }
#diff-table td { overflow-wrap: anywhere; }
#diff-table th:nth-child(1), #diff-table th:nth-child(5) { width: 9%; }
#diff-table th:nth-child(2), #diff-table th:nth-child(4) { width: 10%; }
#diff-table th:nth-child(3) { width: 16%; }
table.compact { width: auto; min-width: 55%; }
td .band { color: var(--muted); font-size: 11.5px; }
tr.total td { font-weight: 600; border-top: 1.5px solid var(--ink); }
tbody tr:nth-child(even) td { background: var(--soft); }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.muted { color: var(--muted); font-size: 13px; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
.tile { border: 1px solid var(--rule); border-radius: 6px; padding: 10px 12px; }
.tile .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.tile .value { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .note { font-size: 12px; color: var(--muted); }
.headline { display: grid; gap: 0; border-top: 1px solid var(--rule); }
.headline > div { padding: 7px 8px; border-bottom: 1px solid var(--rule); min-width: 0; }
.headline .hh { border-bottom: 1.5px solid var(--ink); }
.headline .label { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
.headline .note { font-size: 11.5px; color: var(--muted); line-height: 1.3; }
.headline .code { font-size: 18px; font-weight: 700; }
.headline .value { font-size: 16.5px; font-weight: 650; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; line-height: 1.25; }
.headline .change { font-size: 11.5px; color: var(--muted); font-variant-numeric: tabular-nums; }
.headline .change.worse { color: #a33a1a; }
.headline .change.better { color: #2e7d4f; }
svg.chart.spark { display: block; width: 100%; height: 28px; margin: 4px 0 0; }
details > summary { cursor: pointer; color: var(--accent); font-size: 13.5px; margin: 6px 0; }
.lead { font-size: 14px; margin: 4px 0 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; font-size: 13.5px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
svg.chart { display: block; width: 100%; height: auto; margin: 6px 0 4px; font-family: inherit; }
svg .grid { stroke: var(--rule); stroke-width: 1; }
svg .axis { stroke: var(--ink); stroke-width: 1; }
svg text { fill: var(--ink); font-size: 12px; font-variant-numeric: tabular-nums; }
svg text.tick { fill: var(--muted); font-size: 11px; }
svg text.value { font-size: 12px; font-weight: 600; }
svg text.cat { font-size: 12.5px; }
svg text.legend { font-size: 12.5px; }
.controls { display: flex; gap: 10px; margin: 8px 0; font-size: 13px; align-items: center; }
.controls input, .controls select { font: inherit; padding: 3px 6px; border: 1px solid var(--rule); border-radius: 4px; }
th[data-sort] { cursor: pointer; }
th[data-sort]::after { content: " \2195"; color: var(--muted); font-weight: normal; }
.panels { display: grid; grid-template-columns: repeat(var(--cols), 1fr); gap: 4px 14px; }
.charts2 { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 18px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@page { size: auto; margin: 14mm 12mm; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav, .controls { display: none; }
  section { break-inside: auto; }
  h2, h3 { break-after: avoid; }
  tr, .tile, svg.chart { break-inside: avoid; }
  details { display: block; }
  details > summary { list-style: none; color: inherit; }
  .headline > div { break-inside: avoid; }
  tbody tr:nth-child(even) td { background: none; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// The check run after load: every chart has drawn marks. Sets
/// `data-ok="1"` on the body (the browser test reads it).
const CHECK: &str = r#"
(function () {
  var charts = document.querySelectorAll("svg.chart");
  var ok = true;
  charts.forEach(function (c) { if (!c.querySelector("rect, path, circle")) { ok = false; } });
  document.body.dataset.charts = String(charts.length);
  document.body.dataset.ok = ok ? "1" : "0";
  // Printed, every folded table is shown (A4 or Letter: @page size auto).
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
})();
"#;

/// The head every page starts with: `recoup report` recognises a file it
/// wrote by it (and replaces no other file).
pub const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">";

/// A whole page: title, subtitle, navigation, sections, optional script.
pub fn document(title: &str, subtitle: &str, nav: &[(&str, &str)], body: &str, script: &str) -> String {
    let mut s = String::from(HEAD);
    let _ = write!(s, "<title>{}</title><style>{CSS}</style></head>\n<body><main>", esc(title));
    let _ = write!(s, "<header><h1>{}</h1><p>{}</p><nav>", esc(title), esc(subtitle));
    for (id, label) in nav {
        let _ = write!(s, "<a href=\"#{}\">{}</a>", esc(id), esc(label));
    }
    s.push_str("</nav></header>\n");
    s.push_str(body);
    let _ = write!(
        s,
        "<footer>Written by recoup {} from the files of the folder named above; self-contained, no network access.</footer></main>\n<script>{script}{CHECK}</script></body></html>\n",
        env!("CARGO_PKG_VERSION")
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn numbers_as_serde_json_writes_them() {
        assert_eq!(num(&35.0f64), "35.0");
        assert_eq!(num(&63.55f64), "63.55");
        assert_eq!(num(&Some(46.24f64)), "46.24");
        assert_eq!(num(&None::<f64>), "—");
        assert_eq!(num(&"2516837.58".parse::<Decimal>().unwrap()), "2516837.58");
        assert_eq!(num(&"25.00".parse::<Decimal>().unwrap()), "25.00");
        assert_eq!(num(&87u64), "87");
    }
}
