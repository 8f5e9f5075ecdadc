//! Charts as templated inline SVG: a bar chart (aging), a line chart with
//! P10–P90 bands (the forward projection) and a trade-off curve (sweeps).
//!
//! Coordinates are `f64` (plotting only: the numbers a reader sees are the
//! labels, passed in already formatted). Output is deterministic: fixed
//! sizes, coordinates printed with one decimal. A small palette that stays
//! readable in greyscale: each series also has its own dash pattern.
//!
//! Written with maud's `html!`, so every label, title and name is escaped.
//! SVG elements without content are closed explicitly (`<line …></line>`):
//! inline SVG in an HTML page has no void elements, and `<line …>` would
//! hold the elements after it.

use maud::{Markup, html};
use std::fmt;

/// Series colours: dark blue, orange, green, purple, grey.
pub const PALETTE: &[&str] = &["#1f4e79", "#c8641e", "#2e7d4f", "#6f3f8f", "#707070"];
/// Dash patterns per series, so lines stay apart when printed in grey.
const DASHES: &[&str] = &["", "7 4", "2 3", "9 3 2 3", "4 2"];

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The `stroke-dasharray` of series `i` (none for the first).
fn dash(i: usize) -> Option<&'static str> {
    Some(DASHES[i % DASHES.len()]).filter(|d| !d.is_empty())
}

/// A coordinate as the charts print it: one decimal.
#[derive(Clone, Copy)]
struct C(f64);

impl fmt::Display for C {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

/// A "nice" step (1, 2 or 5 × 10^k) for about `n` ticks over `range`.
fn nice_step(range: f64, n: f64) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let raw = range / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Axis bounds and ticks covering `lo..=hi` (zero included when `zero`).
fn ticks(lo: f64, hi: f64, zero: bool) -> (f64, f64, Vec<f64>) {
    let (mut lo, mut hi) = (lo, hi);
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo < 1e-9 {
        hi = lo + if lo.abs() > 1.0 { lo.abs() * 0.1 } else { 1.0 };
    }
    let step = nice_step(hi - lo, 5.0);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let n = ((end - start) / step).round() as usize;
    let t = (0..=n).map(|k| start + step * k as f64).collect();
    (start, end, t)
}

/// A compact axis label: 1.5M, 250k, 12, 0.5.
pub fn axis_label(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 1e6 {
        trim(format!("{:.2}", v / 1e6)) + "M"
    } else if a >= 1e3 {
        trim(format!("{:.1}", v / 1e3)) + "k"
    } else {
        trim(format!("{v:.2}"))
    };
    if s == "-0" { "0".to_string() } else { s }
}

fn trim(s: String) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// One bar: its height, the text above it and the category below it.
pub struct Bar {
    pub category: String,
    pub value: f64,
    pub label: String,
    pub note: String,
}

const W: f64 = 880.0;

/// An `<svg>` chart with its `<title>` around `inner`.
fn chart(w: f64, h: f64, title: &str, class: &str, inner: Markup) -> Markup {
    html! {
        svg class=(format!("chart {class}")) role="img" viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            (inner)
        }
    }
}

/// The plot area inside a chart.
#[derive(Clone, Copy)]
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

/// Horizontal grid lines and y labels for the axis `lo..hi` ticked at `t`.
fn y_axis(f: &Frame, lo: f64, hi: f64, t: &[f64]) -> Markup {
    let Frame { left, right, top, bottom } = *f;
    html! {
        @for &v in t {
            @let y = bottom - (v - lo) / (hi - lo) * (bottom - top);
            line class="grid" x1=(C(left)) x2=(C(right)) y1=(C(y)) y2=(C(y)) {}
            text class="tick" x=(C(left - 6.0)) y=(C(y + 4.0)) text-anchor="end" { (axis_label(v)) }
        }
    }
}

/// The x axis: a line along the bottom of the plot.
fn x_axis(left: f64, right: f64, bottom: f64) -> Markup {
    html! { line class="axis" x1=(left) x2=(right) y1=(bottom) y2=(bottom) {} }
}

/// A vertical bar chart, e.g. open AR by aging bucket.
pub fn bar_chart(title: &str, bars: &[Bar]) -> Markup {
    let h = 300.0;
    let (left, right, top, bottom) = (70.0, W - 20.0, 28.0, h - 48.0);
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let (lo, hi, t) = ticks(0.0, max, true);
    let n = bars.len().max(1) as f64;
    let slot = (right - left) / n;
    let bw = (slot * 0.6).min(110.0);
    let inner = html! {
        (y_axis(&Frame { left, right, top, bottom }, lo, hi, &t))
        @for (i, b) in bars.iter().enumerate() {
            @let x = left + slot * i as f64 + (slot - bw) / 2.0;
            @let y = bottom - (b.value.max(0.0) - lo) / (hi - lo) * (bottom - top);
            @let cx = x + bw / 2.0;
            rect class="bar" x=(C(x)) y=(C(y)) width=(C(bw)) height=(C((bottom - y).max(0.0))) fill=(colour(0)) {
                title { (b.category) ": " (b.label) }
            }
            text class="value" x=(C(cx)) y=(C(y - 6.0)) text-anchor="middle" { (b.label) }
            text class="cat" x=(C(cx)) y=(C(bottom + 18.0)) text-anchor="middle" { (b.category) }
            text class="tick" x=(C(cx)) y=(C(bottom + 34.0)) text-anchor="middle" { (b.note) }
        }
        (x_axis(left, right, bottom))
    };
    chart(W, h, title, "bars", inner)
}

/// One policy's weekly band: P10, P50 and P90 per week (`None` where unknown).
pub struct BandSeries {
    pub label: String,
    pub p10: Vec<Option<f64>>,
    pub p50: Vec<Option<f64>>,
    pub p90: Vec<Option<f64>>,
}

/// SVG path data through `points`: `M x,y L x,y …` (numbers only).
fn polyline(points: &[(f64, f64)]) -> String {
    use std::fmt::Write;
    let mut d = String::new();
    for (i, (px, py)) in points.iter().enumerate() {
        let _ = write!(d, "{}{px:.1},{py:.1} ", if i == 0 { "M" } else { "L" });
    }
    d.trim_end().to_string()
}

/// Weekly bands as small multiples: one panel per series on one shared
/// scale, each with its shaded P10–P90 band and P50 line; the first series
/// (the baseline) is repeated as a thin grey P50 line in the other panels
/// for reference. `x_labels` name the weeks. Returns the panels in a
/// `<div class="panels">`.
pub fn band_panels(title: &str, x_labels: &[String], series: &[BandSeries]) -> Markup {
    band_panels_in(title, None, x_labels, series)
}

/// [`band_panels`] with the y axis's unit written above it (a currency
/// code for money: a money axis always names its currency).
pub fn band_panels_in(title: &str, unit: Option<&str>, x_labels: &[String], series: &[BandSeries]) -> Markup {
    let (w, h) = (300.0, 236.0);
    let (left, right, top, bottom) = (50.0, w - 14.0, 30.0, h - 30.0);
    let all = series.iter().flat_map(|s| s.p10.iter().chain(&s.p50).chain(&s.p90)).flatten().copied();
    let (min, max) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi, t) = ticks(min, max, min >= 0.0 && min < max * 0.5);
    let n = x_labels.len().max(2);
    let x = |i: usize| left + (right - left) * i as f64 / (n - 1) as f64;
    let y = |v: f64| bottom - (v - lo) / (hi - lo) * (bottom - top);
    let pts = |v: &[Option<f64>]| -> Vec<(f64, f64)> {
        v.iter().enumerate().filter_map(|(i, p)| p.map(|p| (x(i), y(p)))).collect()
    };
    // First, middle and last week: the panels are narrow.
    let last = x_labels.len().saturating_sub(1);
    let shown = [0, last / 2, last];
    let anchor = |i: usize| {
        if i == 0 {
            "start"
        } else if i + 1 == x_labels.len() {
            "end"
        } else {
            "middle"
        }
    };
    let panel = |k: usize, ser: &BandSeries| -> Markup {
        let (lo_pts, hi_pts) = (pts(&ser.p10), pts(&ser.p90));
        let band = (!lo_pts.is_empty() && lo_pts.len() == hi_pts.len()).then(|| {
            let mut d = polyline(&hi_pts);
            for (px, py) in lo_pts.iter().rev() {
                d.push_str(&format!(" L{px:.1},{py:.1}"));
            }
            d + " Z"
        });
        // The baseline, in the other panels.
        let reference = series.first().filter(|_| k > 0);
        let reference_mid = reference.map(|b| pts(&b.p50)).filter(|m| !m.is_empty());
        let mid = pts(&ser.p50);
        let inner = html! {
            (y_axis(&Frame { left, right, top, bottom }, lo, hi, &t))
            @if let Some(u) = unit {
                text class="tick unit" x=(C(left - 6.0)) y=(C(top - 10.0)) text-anchor="end" { (u) }
            }
            @for (i, l) in x_labels.iter().enumerate() {
                @if shown.contains(&i) && (i == last || i == 0 || last >= 4) {
                    text class="tick" x=(C(x(i))) y=(C(bottom + 16.0)) text-anchor=(anchor(i)) { (l) }
                }
            }
            @if let Some(d) = &band {
                path class="band" d=(d) fill=(colour(k)) fill-opacity="0.2" stroke="none" { title { (ser.label) " P10–P90" } }
            }
            @if let (Some(base), Some(m)) = (reference, &reference_mid) {
                path class="ref" d=(polyline(m)) fill="none" stroke="#8a8a8a" stroke-width="1.2" { title { (base.label) " P50" } }
            }
            @if !mid.is_empty() {
                path class="line" d=(polyline(&mid)) fill="none" stroke=(colour(k)) stroke-width="2.2" stroke-dasharray=[dash(k)] {
                    title { (ser.label) " P50" }
                }
            }
            text class="legend" x=(left) y="16" fill=(colour(k)) font-weight="600" { (ser.label) }
            @if let Some(base) = reference {
                text class="tick" x=(right) y="16" text-anchor="end" { "grey: " (base.label) " P50" }
            }
            (x_axis(left, right, bottom))
        };
        chart(w, h, &format!("{title}: {}", ser.label), "bands", inner)
    };
    html! {
        div class="panels" style=(format!("--cols:{}", series.len().clamp(1, 3))) {
            @for (k, ser) in series.iter().enumerate() { (panel(k, ser)) }
        }
    }
}

/// A reference value drawn across a chart: a labelled horizontal line.
pub struct Reference {
    pub label: String,
    pub value: f64,
}

/// A trade-off curve: one point per swept value, joined in order, each
/// labelled; x is the swept value when it is numeric, else its position.
/// The baseline, when given, is a dashed grey horizontal line labelled with
/// its name, not a point: it has no swept value.
pub fn curve_chart(
    title: &str,
    x_name: &str,
    y_name: &str,
    points: &[(String, Option<f64>, f64)],
    baseline: Option<&Reference>,
) -> Markup {
    // Drawn at half width: two curves side by side.
    let (w, h) = (430.0, 230.0);
    let (left, right, top, bottom) = (52.0, w - 24.0, 26.0, h - 44.0);
    let numeric = points.iter().all(|p| p.1.is_some());
    let xs: Vec<f64> =
        points.iter().enumerate().map(|(i, p)| if numeric { p.1.unwrap_or(0.0) } else { i as f64 }).collect();
    let (xmin, xmax) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (xmin, xmax) = if xmax - xmin < 1e-9 { (xmin - 1.0, xmax + 1.0) } else { (xmin, xmax) };
    let ys = points.iter().map(|p| p.2).chain(baseline.map(|b| b.value));
    let (ymin, ymax) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    // Amounts, counts and days are compared as ratios ("5 % more"): their
    // axis starts at zero, so a small difference does not look like a
    // cliff. Only a metric with negative values keeps a free axis.
    let (lo, hi, t) = ticks(ymin, ymax, ymin >= 0.0);
    let pad = (right - left) * 0.05;
    let x = |v: f64| left + pad + (v - xmin) / (xmax - xmin) * (right - left - 2.0 * pad);
    let y = |v: f64| bottom - (v - lo) / (hi - lo) * (bottom - top);
    let curve: Vec<(f64, f64)> = xs.iter().zip(points).map(|(&xv, p)| (x(xv), y(p.2))).collect();
    let inner = html! {
        (y_axis(&Frame { left, right, top, bottom }, lo, hi, &t))
        @if let Some(b) = baseline {
            @let by = y(b.value);
            // Its label above the line, or below it when the line runs along
            // the top (where the chart's title is).
            @let label_y = if by - 5.0 < top + 10.0 { by + 14.0 } else { by - 5.0 };
            line class="baseline" x1=(C(left)) x2=(C(right)) y1=(C(by)) y2=(C(by)) stroke="#8a8a8a" stroke-width="1.4" stroke-dasharray="6 4" {
                title { (b.label) ": " (axis_label(b.value)) }
            }
            text class="tick" x=(C(right - 2.0)) y=(C(label_y)) text-anchor="end" { (b.label) }
        }
        path class="line" d=(polyline(&curve)) fill="none" stroke=(colour(0)) stroke-width="2" {}
        @for (&(cx, cy), p) in curve.iter().zip(points) {
            circle cx=(C(cx)) cy=(C(cy)) r="4" fill=(colour(0)) { title { (p.0) ": " (axis_label(p.2)) } }
            text class="tick" x=(C(cx)) y=(C(bottom + 18.0)) text-anchor="middle" { (p.0.rsplit('=').next().unwrap_or(&p.0)) }
        }
        text class="legend" x=(left) y="14" { (y_name) }
        text class="tick" x=(right) y=(C(bottom + 36.0)) text-anchor="end" { (x_name) }
        (x_axis(left, right, bottom))
    };
    chart(w, h, title, "curve", inner)
}

// ---------------------------------------------------------------------------
// The run report's charts: trends over month ends, stacked areas, sparklines,
// horizontal bars and weekly bars with a range. Each carries a `<title>` and
// a `<desc>` (the text alternative; the page puts a data table beside it),
// names its axes with their units, and has a legend when it has series.

/// One named series of a line or area chart (`None` where unknown).
pub struct Series {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// The words around a chart: its title, a one-sentence text alternative,
/// the names (with units) of the y and x axes, and the x labels.
pub struct Axes<'a> {
    pub title: &'a str,
    pub desc: &'a str,
    pub y_name: &'a str,
    pub x_name: &'a str,
    pub x_labels: &'a [String],
}

/// An `<svg>` chart with its `aria-label`, `<title>` and `<desc>` around `inner`.
fn chart_desc(w: f64, h: f64, title: &str, desc: &str, class: &str, inner: Markup) -> Markup {
    html! {
        svg class=(format!("chart {class}")) role="img" aria-label=(title) viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            desc { (desc) }
            (inner)
        }
    }
}

/// A legend row at the top of a chart: a swatch and the label per series.
fn legend(x0: f64, y: f64, labels: &[&str], area: bool) -> Markup {
    let mut at = Vec::with_capacity(labels.len());
    let mut x = x0;
    for l in labels {
        at.push(x);
        x += 34.0 + 7.0 * l.chars().count() as f64;
    }
    html! {
        @for (i, (l, &x)) in labels.iter().zip(&at).enumerate() {
            @if area {
                rect class="swatch" x=(C(x)) y=(C(y - 9.0)) width="12" height="10" fill=(colour(i)) {}
            } @else {
                line class="swatch" x1=(C(x)) x2=(C(x + 18.0)) y1=(C(y - 4.0)) y2=(C(y - 4.0)) stroke=(colour(i)) stroke-width="2.5" stroke-dasharray=[dash(i)] {}
            }
            text class="legend" x=(C(x + 22.0)) y=(C(y)) { (l) }
        }
    }
}

/// The x labels under the plot, every `step`-th one, and the axis names.
fn frame_text(f: &Frame, a: &Axes<'_>, x: &dyn Fn(usize) -> f64) -> Markup {
    let n = a.x_labels.len();
    let step = n.div_ceil(13).max(1);
    html! {
        @for (i, l) in a.x_labels.iter().enumerate().filter(|(i, _)| i % step == 0 || *i + 1 == n) {
            text class="tick" x=(C(x(i))) y=(C(f.bottom + 16.0)) text-anchor="middle" { (l) }
        }
        text class="tick" x=(C(f.right)) y=(C(f.bottom + 34.0)) text-anchor="end" { (a.x_name) }
        text class="tick" transform=(format!("translate(14 {:.1}) rotate(-90)", (f.top + f.bottom) / 2.0)) text-anchor="middle" { (a.y_name) }
        (x_axis(f.left, f.right, f.bottom))
    }
}

const TREND_H: f64 = 250.0;

fn trend_frame() -> Frame {
    Frame { left: 70.0, right: W - 24.0, top: 34.0, bottom: TREND_H - 44.0 }
}

/// Lines over time (e.g. DSO and best possible DSO at each month end), a
/// point on each value with its exact figure as a tooltip; the y-axis from
/// zero when every value is non-negative.
pub fn line_chart(a: &Axes<'_>, series: &[Series]) -> Markup {
    let f = trend_frame();
    let all = series.iter().flat_map(|s| s.values.iter().flatten().copied());
    let (min, max) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi, t) = ticks(min, max, min >= 0.0 || !min.is_finite());
    let n = a.x_labels.len().max(2);
    let x = |i: usize| f.left + 10.0 + (f.right - f.left - 20.0) * i as f64 / (n - 1) as f64;
    let y = |v: f64| f.bottom - (v - lo) / (hi - lo) * (f.bottom - f.top);
    let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
    let inner = html! {
        (y_axis(&f, lo, hi, &t))
        @for (k, ser) in series.iter().enumerate() {
            @let pts: Vec<(f64, f64)> = ser.values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (x(i), y(v)))).collect();
            @if !pts.is_empty() {
                path class="line" d=(polyline(&pts)) fill="none" stroke=(colour(k)) stroke-width="2.2" stroke-dasharray=[dash(k)] {
                    title { (ser.label) }
                }
                @for (i, v) in ser.values.iter().enumerate() {
                    @if let Some(v) = v {
                        circle cx=(C(x(i))) cy=(C(y(*v))) r="2.8" fill=(colour(k)) {
                            title { (ser.label) ", " (a.x_labels.get(i).map(String::as_str).unwrap_or("")) ": " (format!("{v:.2}")) }
                        }
                    }
                }
            }
        }
        (legend(f.left, 18.0, &labels, false))
        (frame_text(&f, a, &x))
    };
    chart_desc(W, TREND_H, a.title, a.desc, "line", inner)
}

/// Areas stacked over time (e.g. overdue AR by aging bucket at each month
/// end): the first series at the bottom; missing values count as zero.
pub fn stacked_area(a: &Axes<'_>, series: &[Series]) -> Markup {
    let f = trend_frame();
    let n = a.x_labels.len();
    // The top of each series' band: the running sum from the first series up.
    let mut tops: Vec<Vec<f64>> = Vec::with_capacity(series.len());
    for ser in series {
        let below = tops.last().cloned().unwrap_or_else(|| vec![0.0; n]);
        let top = below
            .iter()
            .enumerate()
            .map(|(i, b)| b + ser.values.get(i).copied().flatten().unwrap_or(0.0).max(0.0))
            .collect();
        tops.push(top);
    }
    let max = tops.last().map(|t| t.iter().copied().fold(0.0, f64::max)).unwrap_or(0.0);
    let (lo, hi, t) = ticks(0.0, max, true);
    let x = |i: usize| f.left + 10.0 + (f.right - f.left - 20.0) * i as f64 / (n.max(2) - 1) as f64;
    let y = |v: f64| f.bottom - (v - lo) / (hi - lo) * (f.bottom - f.top);
    let area = |k: usize| {
        let upper: Vec<(f64, f64)> = (0..n).map(|i| (x(i), y(tops[k][i]))).collect();
        let mut d = polyline(&upper);
        for i in (0..n).rev() {
            let below = if k == 0 { 0.0 } else { tops[k - 1][i] };
            d.push_str(&format!(" L{:.1},{:.1}", x(i), y(below)));
        }
        d + " Z"
    };
    let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
    let inner = html! {
        (y_axis(&f, lo, hi, &t))
        @for (k, ser) in series.iter().enumerate() {
            path class="area" d=(area(k)) fill=(colour(k)) fill-opacity="0.75" stroke="#fff" stroke-width="0.8" { title { (ser.label) } }
        }
        (legend(f.left, 18.0, &labels, true))
        (frame_text(&f, a, &x))
    };
    chart_desc(W, TREND_H, a.title, a.desc, "area", inner)
}

/// A small line without axes beside a headline figure: the values over
/// time, the last one marked. `title` says what it is (its text alternative).
pub fn sparkline(title: &str, values: &[Option<f64>]) -> Markup {
    let (w, h) = (132.0, 30.0);
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let (min, max) = known.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let span = if max - min > 1e-9 { max - min } else { 1.0 };
    let n = values.len().max(2);
    let x = |i: usize| 3.0 + (w - 6.0) * i as f64 / (n - 1) as f64;
    let y = |v: f64| h - 4.0 - (v - min) / span * (h - 8.0);
    let pts: Vec<(f64, f64)> = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (x(i), y(v)))).collect();
    html! {
        svg class="chart spark" role="img" aria-label=(title) viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h) preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @if !pts.is_empty() {
                path class="spark" d=(polyline(&pts)) fill="none" stroke=(colour(0)) stroke-width="1.6" {}
            }
            @if let Some((px, py)) = pts.last() {
                circle cx=(C(*px)) cy=(C(*py)) r="2.6" fill=(colour(1)) {}
            }
        }
    }
}

/// One row of a horizontal bar chart: its name, a value per series
/// (stacked), and the text at its end.
pub struct HBar {
    pub name: String,
    pub values: Vec<f64>,
    pub label: String,
}

/// Horizontal bars, stacked when there are several series (named by
/// `series`, with a legend), e.g. actions by kind or tasks per owner.
pub fn hbars(title: &str, desc: &str, x_name: &str, rows: &[HBar], series: &[&str]) -> Markup {
    let row_h = 22.0;
    let top = if series.len() > 1 { 30.0 } else { 8.0 };
    let h = top + row_h * rows.len() as f64 + 40.0;
    let longest = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(4) as f64;
    let left = (longest * 7.2 + 16.0).clamp(60.0, 260.0);
    let f = Frame { left, right: W - 90.0, top, bottom: h - 40.0 };
    let max = rows.iter().map(|r| r.values.iter().sum::<f64>()).fold(0.0, f64::max);
    let (_, hi, t) = ticks(0.0, max, true);
    let x = |v: f64| f.left + v / hi * (f.right - f.left);
    // Each row's stacked segments (series, start, value) and where it ends.
    let segments = |r: &HBar| -> (Vec<(usize, f64, f64)>, f64) {
        let mut at = 0.0;
        let mut out = Vec::new();
        for (k, v) in r.values.iter().enumerate() {
            if *v <= 0.0 {
                continue;
            }
            out.push((k, at, *v));
            at += v;
        }
        (out, at)
    };
    let inner = html! {
        @for &v in &t {
            line class="grid" x1=(C(x(v))) x2=(C(x(v))) y1=(f.top) y2=(f.bottom) {}
            text class="tick" x=(C(x(v))) y=(C(f.bottom + 15.0)) text-anchor="middle" { (axis_label(v)) }
        }
        @for (i, r) in rows.iter().enumerate() {
            @let yy = f.top + row_h * i as f64 + 3.0;
            @let (parts, end) = segments(r);
            @for (k, at, v) in parts {
                @let name = series.get(k).copied().unwrap_or("");
                rect class="hbar" x=(C(x(at))) y=(C(yy)) width=(C(x(at + v) - x(at))) height=(C(row_h - 6.0)) fill=(colour(k)) {
                    title { (r.name) @if !name.is_empty() { ", " } (name) ": " (axis_label(v)) }
                }
            }
            text class="cat" x=(C(f.left - 6.0)) y=(C(yy + 12.5)) text-anchor="end" { (r.name) }
            text class="value" x=(C(x(end) + 5.0)) y=(C(yy + 12.5)) { (r.label) }
        }
        @if series.len() > 1 {
            (legend(f.left, 18.0, series, true))
        }
        text class="tick" x=(C(f.right)) y=(C(f.bottom + 32.0)) text-anchor="end" { (x_name) }
        line class="axis" x1=(f.left) x2=(f.left) y1=(f.top) y2=(f.bottom) {}
    };
    chart_desc(W, h, title, desc, "hbars", inner)
}

/// Vertical bars with a range drawn over each (e.g. expected receipts per
/// week with their low–high band): `mid`, `low` and `high` per x label.
pub fn range_bars(a: &Axes<'_>, mid: &[f64], low: &[f64], high: &[f64]) -> Markup {
    let f = trend_frame();
    let max = mid.iter().chain(high).copied().fold(0.0, f64::max);
    let (lo, hi, t) = ticks(0.0, max, true);
    let n = a.x_labels.len().max(1);
    let slot = (f.right - f.left) / n as f64;
    let x = |i: usize| f.left + slot * (i as f64 + 0.5);
    let y = |v: f64| f.bottom - (v - lo) / (hi - lo) * (f.bottom - f.top);
    let inner = html! {
        (y_axis(&f, lo, hi, &t))
        @for (i, label) in a.x_labels.iter().enumerate() {
            @let m = mid.get(i).copied().unwrap_or(0.0);
            rect class="wbar" x=(C(x(i) - slot * 0.32)) y=(C(y(m))) width=(C(slot * 0.64)) height=(C((f.bottom - y(m)).max(0.5))) fill=(colour(0)) {
                title { (label) ": " (axis_label(m)) }
            }
            @let (l, h) = (low.get(i).copied().unwrap_or(m), high.get(i).copied().unwrap_or(m));
            @if h > l {
                @let d = format!(
                    "M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}",
                    x(i), y(l), x(i), y(h), x(i) - 5.0, y(l), x(i) + 5.0, y(l), x(i) - 5.0, y(h), x(i) + 5.0, y(h)
                );
                path class="whisker" d=(d) stroke=(colour(1)) stroke-width="1.6" fill="none" {
                    title { (label) ": " (axis_label(l)) " – " (axis_label(h)) }
                }
            }
        }
        (legend(f.left, 18.0, &["expected"], true))
        line x1=(C(f.left + 110.0)) x2=(C(f.left + 128.0)) y1="14" y2="14" stroke=(colour(1)) stroke-width="1.6" {}
        text class="legend" x=(C(f.left + 132.0)) y="18" { "low – high" }
        (frame_text(&f, a, &x))
    };
    chart_desc(W, TREND_H, a.title, a.desc, "range", inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (lo, hi, t) = ticks(0.0, 4_259_880.88, true);
        assert_eq!((lo, hi), (0.0, 5_000_000.0));
        assert_eq!(t, vec![0.0, 1e6, 2e6, 3e6, 4e6, 5e6]);
        let (lo, hi, _) = ticks(58.3, 63.55, false);
        assert_eq!((lo, hi), (58.0, 64.0));
    }

    #[test]
    fn axis_labels_are_compact() {
        assert_eq!(axis_label(2_500_000.0), "2.5M");
        assert_eq!(axis_label(250_000.0), "250k");
        assert_eq!(axis_label(12.0), "12");
        assert_eq!(axis_label(0.5), "0.5");
        assert_eq!(axis_label(-0.0), "0");
    }

    #[test]
    fn a_curve_draws_its_baseline_as_a_labelled_line_not_a_point() {
        let pts = [("k=1".to_string(), Some(1.0), 10.0), ("k=2".to_string(), Some(2.0), 20.0)];
        let base = Reference { label: "standard (baseline)".into(), value: 40.0 };
        let s = curve_chart("t", "k", "m", &pts, Some(&base)).into_string();
        assert_eq!(s.matches("<circle").count(), 2, "a point per swept value only");
        assert_eq!(s.matches("<line class=\"baseline\"").count(), 1);
        assert!(s.contains(">standard (baseline)</text>"), "{s}");
        // The axis reaches the baseline (above the points): its line is inside the plot.
        let y1 = s.split("class=\"baseline\"").nth(1).and_then(|r| r.split("y1=\"").nth(1)).unwrap();
        let y1: f64 = y1.split('"').next().unwrap().parse().unwrap();
        assert!((26.0..=186.0).contains(&y1), "{y1}");
        let plain = curve_chart("t", "k", "m", &pts, None).into_string();
        assert!(!plain.contains("baseline"));
    }

    /// Non-negative values are drawn from zero (a change of 0.1 % is not
    /// a cliff); the baseline's label moves below its line at the top of
    /// the chart, away from the title; negative values keep a free axis.
    #[test]
    fn a_curve_of_amounts_starts_at_zero_and_keeps_its_labels_apart() {
        let pts = [("k=1".to_string(), Some(1.0), 35.78), ("k=2".to_string(), Some(2.0), 35.9)];
        // The baseline at the top of the axis (0 to 40).
        let base = Reference { label: "standard (baseline)".into(), value: 40.0 };
        let s = curve_chart("t", "k", "m", &pts, Some(&base)).into_string();
        assert!(s.contains(">0</text>"), "a zero tick: {s}");
        // The number in the attribute `attr="…"` at the start of `rest`.
        let number = |rest: &str| -> f64 { rest.split('"').next().unwrap().parse().unwrap() };
        let line = number(s.split("class=\"baseline\"").nth(1).unwrap().split("y1=\"").nth(1).unwrap());
        let label = number(s.split(">standard (baseline)</text>").next().unwrap().rsplit("y=\"").next().unwrap());
        assert!(label > line, "label at {label}, line at {line}: below it");
        let neg = [("k=1".to_string(), Some(1.0), -120.0), ("k=2".to_string(), Some(2.0), -100.0)];
        let s = curve_chart("t", "k", "m", &neg, None).into_string();
        assert!(!s.contains(">0</text>"), "{s}");
    }

    #[test]
    fn text_in_charts_is_escaped() {
        let bars = [Bar { category: "<b>".into(), value: 1.0, label: "1 & 2".into(), note: String::new() }];
        let s = bar_chart("a <title>", &bars).into_string();
        assert!(s.contains("&lt;b&gt;") && s.contains("1 &amp; 2") && s.contains("a &lt;title&gt;"));
        assert!(!s.contains("<b>"));
    }
}
