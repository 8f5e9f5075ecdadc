//! The page around a report: the document with its inline CSS and script,
//! tables, tiles and notes, and number formatting identical to the JSON
//! files. Markup is built with maud: every `(expr)` in `html!` is
//! HTML-escaped, so text from the inputs (names, ids, reasons, rules,
//! policy names) reaches the page only as text. `PreEscaped` is used for the
//! page's own constant CSS and script and nothing else; a function returning
//! [`Markup`] has escaped what it holds.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Serialize;

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
    /// Markup (made with `html!`, its text escaped).
    Html(Markup),
    /// Markup, right-aligned.
    NumHtml(Markup),
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
pub fn table_with_totals(class: Option<&str>, head: &[&str], rows: &[Vec<Cell>], totals: &[Vec<Cell>]) -> Markup {
    html! {
        table class=[class] {
            thead {
                tr {
                    @for h in head {
                        @match h.strip_prefix('#') {
                            Some(h) => { th class="n" { (h) } }
                            None => { th { (h) } }
                        }
                    }
                }
            }
            tbody {
                @for r in rows { (row(r, None)) }
                @for r in totals { (row(r, Some("total"))) }
            }
        }
    }
}

/// A table: a header row (a leading `#` marks a numeric column) and rows;
/// `class` on the `<table>`.
pub fn table(class: Option<&str>, head: &[&str], rows: &[Vec<Cell>]) -> Markup {
    table_with_totals(class, head, rows, &[])
}

/// One `<tr>`, with a class.
pub fn row(cells: &[Cell], class: Option<&str>) -> Markup {
    html! { tr class=[class] { @for c in cells { (cell(c)) } } }
}

/// One `<td>`.
pub fn cell(c: &Cell) -> Markup {
    html! {
        @match c {
            Cell::Text(x) => { td { (x) } }
            Cell::Num(x) => { td class="n" { (x) } }
            Cell::Id(x) => { td class="id" { (x) } }
            Cell::Html(x) => { td { (x) } }
            Cell::NumHtml(x) => { td class="n" { (x) } }
        }
    }
}

/// A section with a heading and an anchor.
pub fn section(id: &str, title: &str, body: Markup) -> Markup {
    html! { section id=(id) { h2 { (title) } (body) } "\n" }
}

/// A row of KPI tiles: (label, value, note).
pub fn tiles(items: &[(&str, String, String)]) -> Markup {
    html! {
        div class="tiles" {
            @for (label, value, note) in items {
                div class="tile" { div class="label" { (label) } div class="value" { (value) } div class="note" { (note) } }
            }
        }
    }
}

/// A definition list of (term, value) pairs.
pub fn facts(items: &[(&str, String)]) -> Markup {
    html! { dl class="facts" { @for (k, v) in items { dt { (k) } dd { (v) } } } }
}

/// A headline figure of one currency: its value, its change since the last
/// month end, and a sparkline.
pub struct Headline {
    pub value: String,
    pub change: String,
    /// `better`, `worse` or empty: how the change reads (a class on it).
    pub tone: &'static str,
    pub spark: Markup,
}

/// The headline figures as a grid: a header cell per figure (its label and
/// one-line meaning), then a row per currency (its heading, then each
/// figure's value, change and sparkline). `rows` are (heading, detail, figures).
pub fn headline_grid(figures: &[(&str, &str)], rows: &[(String, String, Vec<Headline>)]) -> Markup {
    let columns = format!("grid-template-columns: 104px repeat({}, minmax(0, 1fr))", figures.len());
    html! {
        div class="headline" style=(columns) {
            div class="hh" {}
            @for (label, meaning) in figures {
                div class="hh" { div class="label" { (label) } div class="note" { (meaning) } }
            }
            @for (head, detail, cells) in rows {
                div class="hc" { div class="code" { (head) } div class="note" { (detail) } }
                @for (h, (label, _)) in cells.iter().zip(figures) {
                    div class="hv" data-figure=(label) {
                        div class="value" { (h.value) }
                        div class=(format!("change {}", h.tone)) { (h.change) }
                        (h.spark)
                    }
                }
            }
        }
    }
}

/// A `<details>` element: a one-line summary, the rest folded away.
pub fn details(summary: &str, body: Markup) -> Markup {
    html! { details { summary { (summary) } (body) } }
}

/// A paragraph of muted explanatory text.
pub fn note(text: &str) -> Markup {
    html! { p class="muted" { (text) } }
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
/// wrote by it (and replaces no other file). [`document`] writes it (a test
/// holds the two together).
pub const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">";

/// A whole page: title, subtitle, navigation (anchor, label), the sections,
/// and the page's own script (a constant: it is put in as it is).
pub fn document(title: &str, subtitle: &str, nav: &[(&str, &str)], content: Markup, script: &'static str) -> String {
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            "\n"
            body {
                main {
                    header {
                        h1 { (title) }
                        p { (subtitle) }
                        nav { @for (id, label) in nav { a href=(format!("#{id}")) { (label) } } }
                    }
                    "\n"
                    (content)
                    footer {
                        "Written by recoup " (env!("CARGO_PKG_VERSION"))
                        " from the files of the folder named above; self-contained, no network access."
                    }
                }
                "\n"
                script { (PreEscaped(script)) (PreEscaped(CHECK)) }
            }
        }
        "\n"
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn text_is_escaped_in_content_and_attributes() {
        let evil = r#"<script>alert("x")</script> & 'y'"#;
        let page = document(evil, evil, &[(evil, evil)], section(evil, evil, note(evil)), "");
        let text = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'y'";
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains(&format!("<title>{text}</title>")), "{page}");
        assert!(page.contains(&format!("<a href=\"#{text}\">{text}</a>")), "{page}");
        assert!(
            page.contains(&format!("<section id=\"{text}\"><h2>{text}</h2><p class=\"muted\">{text}</p></section>"))
        );
        let rows = [vec![t(evil), n(evil), id(evil), Cell::Html(html! { code { (evil) } })]];
        let table = table(Some("wide"), &[evil, "#n"], &rows).into_string();
        assert_eq!(
            table,
            format!(
                "<table class=\"wide\"><thead><tr><th>{text}</th><th class=\"n\">n</th></tr></thead><tbody><tr><td>{text}</td><td class=\"n\">{text}</td><td class=\"id\">{text}</td><td><code>{text}</code></td></tr></tbody></table>"
            )
        );
    }

    /// `recoup report --out` recognises a page it wrote by [`HEAD`].
    #[test]
    fn a_page_starts_with_the_head_report_recognises() {
        let page = document("t", "s", &[], html! {}, "");
        assert!(page.starts_with(HEAD), "{}", &page[..HEAD.len().min(page.len())]);
        assert!(page.ends_with("</script></body></html>\n"));
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
