//! Charts as templated inline SVG: a bar chart (aging), a line chart with
//! P10–P90 bands (the forward projection) and a trade-off curve (sweeps).
//!
//! Coordinates are `f64` (plotting only: the numbers a reader sees are the
//! labels, passed in already formatted). Output is deterministic: fixed
//! sizes, coordinates printed with one decimal. A small palette that stays
//! readable in greyscale: each series also has its own dash pattern.

use super::html::esc;
use std::fmt::Write;

/// Series colours: dark blue, orange, green, purple, grey.
pub const PALETTE: &[&str] = &["#1f4e79", "#c8641e", "#2e7d4f", "#6f3f8f", "#707070"];
/// Dash patterns per series, so lines stay apart when printed in grey.
const DASHES: &[&str] = &["", "7 4", "2 3", "9 3 2 3", "4 2"];

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn dash(i: usize) -> String {
    match DASHES[i % DASHES.len()] {
        "" => String::new(),
        d => format!(" stroke-dasharray=\"{d}\""),
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

fn open(w: f64, h: f64, title: &str, class: &str) -> String {
    format!(
        "<svg class=\"chart {class}\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(title)
    )
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
fn y_axis(s: &mut String, f: &Frame, lo: f64, hi: f64, t: &[f64]) {
    let Frame { left, right, top, bottom } = *f;
    for &v in t {
        let y = bottom - (v - lo) / (hi - lo) * (bottom - top);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{left:.1}\" x2=\"{right:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + 4.0,
            esc(&axis_label(v))
        );
    }
}

/// A vertical bar chart, e.g. open AR by aging bucket.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let h = 300.0;
    let (left, right, top, bottom) = (70.0, W - 20.0, 28.0, h - 48.0);
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let (lo, hi, t) = ticks(0.0, max, true);
    let mut s = open(W, h, title, "bars");
    y_axis(&mut s, &Frame { left, right, top, bottom }, lo, hi, &t);
    let n = bars.len().max(1) as f64;
    let slot = (right - left) / n;
    let bw = (slot * 0.6).min(110.0);
    for (i, b) in bars.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bw) / 2.0;
        let y = bottom - (b.value.max(0.0) - lo) / (hi - lo) * (bottom - top);
        let cx = x + bw / 2.0;
        let _ = write!(
            s,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
            (bottom - y).max(0.0),
            colour(0),
            esc(&b.category),
            esc(&b.label)
        );
        let _ = write!(
            s,
            "<text class=\"value\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y - 6.0,
            esc(&b.label)
        );
        let _ = write!(
            s,
            "<text class=\"cat\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text class=\"tick\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 18.0,
            esc(&b.category),
            bottom + 34.0,
            esc(&b.note)
        );
    }
    let _ = write!(s, "<line class=\"axis\" x1=\"{left}\" x2=\"{right}\" y1=\"{bottom}\" y2=\"{bottom}\"/></svg>");
    s
}

/// One policy's weekly band: P10, P50 and P90 per week (`None` where unknown).
pub struct BandSeries {
    pub label: String,
    pub p10: Vec<Option<f64>>,
    pub p50: Vec<Option<f64>>,
    pub p90: Vec<Option<f64>>,
}

fn polyline(points: &[(f64, f64)]) -> String {
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
pub fn band_panels(title: &str, x_labels: &[String], series: &[BandSeries]) -> String {
    band_panels_in(title, None, x_labels, series)
}

/// [`band_panels`] with the y axis's unit written above it (a currency
/// code for money: a money axis always names its currency).
pub fn band_panels_in(title: &str, unit: Option<&str>, x_labels: &[String], series: &[BandSeries]) -> String {
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
    let mut out = format!("<div class=\"panels\" style=\"--cols:{}\">", series.len().clamp(1, 3));
    for (k, ser) in series.iter().enumerate() {
        let mut s = open(w, h, &format!("{title}: {}", ser.label), "bands");
        y_axis(&mut s, &Frame { left, right, top, bottom }, lo, hi, &t);
        if let Some(u) = unit {
            let _ = write!(
                s,
                "<text class=\"tick unit\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                left - 6.0,
                top - 10.0,
                esc(u)
            );
        }
        for (i, l) in x_labels.iter().enumerate() {
            if shown.contains(&i) && (i == last || i == 0 || last >= 4) {
                let anchor = if i == 0 {
                    "start"
                } else if i + 1 == x_labels.len() {
                    "end"
                } else {
                    "middle"
                };
                let _ = write!(
                    s,
                    "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                    x(i),
                    bottom + 16.0,
                    esc(l)
                );
            }
        }
        let (lo_pts, hi_pts) = (pts(&ser.p10), pts(&ser.p90));
        if !lo_pts.is_empty() && lo_pts.len() == hi_pts.len() {
            let mut d = polyline(&hi_pts);
            for (px, py) in lo_pts.iter().rev() {
                let _ = write!(d, " L{px:.1},{py:.1}");
            }
            let _ = write!(
                s,
                "<path class=\"band\" d=\"{d} Z\" fill=\"{}\" fill-opacity=\"0.2\" stroke=\"none\"><title>{} P10–P90</title></path>",
                colour(k),
                esc(&ser.label)
            );
        }
        // The baseline, in the other panels.
        let reference = series.first().filter(|_| k > 0);
        if let Some(base) = reference {
            let mid = pts(&base.p50);
            if !mid.is_empty() {
                let _ = write!(
                    s,
                    "<path class=\"ref\" d=\"{}\" fill=\"none\" stroke=\"#8a8a8a\" stroke-width=\"1.2\"><title>{} P50</title></path>",
                    polyline(&mid),
                    esc(&base.label)
                );
            }
        }
        let mid = pts(&ser.p50);
        if !mid.is_empty() {
            let _ = write!(
                s,
                "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.2\"{}><title>{} P50</title></path>",
                polyline(&mid),
                colour(k),
                dash(k),
                esc(&ser.label)
            );
        }
        let _ = write!(
            s,
            "<text class=\"legend\" x=\"{left}\" y=\"16\" fill=\"{}\" font-weight=\"600\">{}</text>",
            colour(k),
            esc(&ser.label)
        );
        if let Some(base) = reference {
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{right}\" y=\"16\" text-anchor=\"end\">grey: {} P50</text>",
                esc(&base.label)
            );
        }
        let _ = write!(s, "<line class=\"axis\" x1=\"{left}\" x2=\"{right}\" y1=\"{bottom}\" y2=\"{bottom}\"/></svg>");
        out.push_str(&s);
    }
    out.push_str("</div>");
    out
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
) -> String {
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
    let mut s = open(w, h, title, "curve");
    y_axis(&mut s, &Frame { left, right, top, bottom }, lo, hi, &t);
    if let Some(b) = baseline {
        let by = y(b.value);
        // Its label above the line, or below it when the line runs along
        // the top (where the chart's title is).
        let label_y = if by - 5.0 < top + 10.0 { by + 14.0 } else { by - 5.0 };
        let _ = write!(
            s,
            "<line class=\"baseline\" x1=\"{left:.1}\" x2=\"{right:.1}\" y1=\"{by:.1}\" y2=\"{by:.1}\" stroke=\"#8a8a8a\" stroke-width=\"1.4\" stroke-dasharray=\"6 4\"><title>{}: {}</title></line><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            esc(&b.label),
            esc(&axis_label(b.value)),
            right - 2.0,
            label_y,
            esc(&b.label)
        );
    }
    let mut d = String::new();
    for (i, (&xv, p)) in xs.iter().zip(points).enumerate() {
        let _ = write!(d, "{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, x(xv), y(p.2));
    }
    let _ = write!(
        s,
        "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
        d.trim_end(),
        colour(0)
    );
    for (&xv, p) in xs.iter().zip(points) {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{}\"><title>{}: {}</title></circle><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(xv),
            y(p.2),
            colour(0),
            esc(&p.0),
            esc(&axis_label(p.2)),
            x(xv),
            bottom + 18.0,
            esc(p.0.rsplit('=').next().unwrap_or(&p.0))
        );
    }
    let _ = write!(
        s,
        "<text class=\"legend\" x=\"{left}\" y=\"14\">{}</text><text class=\"tick\" x=\"{right}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        esc(y_name),
        bottom + 36.0,
        esc(x_name)
    );
    let _ = write!(s, "<line class=\"axis\" x1=\"{left}\" x2=\"{right}\" y1=\"{bottom}\" y2=\"{bottom}\"/></svg>");
    s
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

fn open_desc(w: f64, h: f64, title: &str, desc: &str, class: &str) -> String {
    format!(
        "<svg class=\"chart {class}\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title><desc>{}</desc>",
        esc(title),
        esc(title),
        esc(desc)
    )
}

/// A legend row at the top of a chart: a swatch and the label per series.
fn legend(s: &mut String, x0: f64, y: f64, labels: &[&str], area: bool) {
    let mut x = x0;
    for (i, l) in labels.iter().enumerate() {
        if area {
            let _ = write!(
                s,
                "<rect class=\"swatch\" x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"{}\"/>",
                y - 9.0,
                colour(i)
            );
        } else {
            let _ = write!(
                s,
                "<line class=\"swatch\" x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"2.5\"{}/>",
                x + 18.0,
                y - 4.0,
                y - 4.0,
                colour(i),
                dash(i)
            );
        }
        let _ = write!(s, "<text class=\"legend\" x=\"{:.1}\" y=\"{y:.1}\">{}</text>", x + 22.0, esc(l));
        x += 34.0 + 7.0 * l.chars().count() as f64;
    }
}

/// The x labels under the plot, every `step`-th one, and the axis names.
fn frame_text(s: &mut String, f: &Frame, a: &Axes<'_>, x: &dyn Fn(usize) -> f64) {
    let n = a.x_labels.len();
    let step = n.div_ceil(13).max(1);
    for (i, l) in a.x_labels.iter().enumerate().filter(|(i, _)| i % step == 0 || *i + 1 == n) {
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(i),
            f.bottom + 16.0,
            esc(l)
        );
    }
    let _ = write!(
        s,
        "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><text class=\"tick\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text><line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>",
        f.right,
        f.bottom + 34.0,
        esc(a.x_name),
        (f.top + f.bottom) / 2.0,
        esc(a.y_name),
        f.left,
        f.right,
        f.bottom,
        f.bottom
    );
}

const TREND_H: f64 = 250.0;

fn trend_frame() -> Frame {
    Frame { left: 70.0, right: W - 24.0, top: 34.0, bottom: TREND_H - 44.0 }
}

/// Lines over time (e.g. DSO and best possible DSO at each month end), a
/// point on each value with its exact figure as a tooltip; the y-axis from
/// zero when every value is non-negative.
pub fn line_chart(a: &Axes<'_>, series: &[Series]) -> String {
    let f = trend_frame();
    let all = series.iter().flat_map(|s| s.values.iter().flatten().copied());
    let (min, max) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi, t) = ticks(min, max, min >= 0.0 || !min.is_finite());
    let n = a.x_labels.len().max(2);
    let x = |i: usize| f.left + 10.0 + (f.right - f.left - 20.0) * i as f64 / (n - 1) as f64;
    let y = |v: f64| f.bottom - (v - lo) / (hi - lo) * (f.bottom - f.top);
    let mut s = open_desc(W, TREND_H, a.title, a.desc, "line");
    y_axis(&mut s, &f, lo, hi, &t);
    for (k, ser) in series.iter().enumerate() {
        let pts: Vec<(f64, f64)> = ser.values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (x(i), y(v)))).collect();
        if pts.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.2\"{}><title>{}</title></path>",
            polyline(&pts),
            colour(k),
            dash(k),
            esc(&ser.label)
        );
        for (i, v) in ser.values.iter().enumerate() {
            if let Some(v) = v {
                let label = a.x_labels.get(i).map(String::as_str).unwrap_or("");
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.8\" fill=\"{}\"><title>{}, {label}: {v:.2}</title></circle>",
                    x(i),
                    y(*v),
                    colour(k),
                    esc(&ser.label)
                );
            }
        }
    }
    let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
    legend(&mut s, f.left, 18.0, &labels, false);
    frame_text(&mut s, &f, a, &x);
    s.push_str("</svg>");
    s
}

/// Areas stacked over time (e.g. overdue AR by aging bucket at each month
/// end): the first series at the bottom; missing values count as zero.
pub fn stacked_area(a: &Axes<'_>, series: &[Series]) -> String {
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
    let mut s = open_desc(W, TREND_H, a.title, a.desc, "area");
    y_axis(&mut s, &f, lo, hi, &t);
    for (k, ser) in series.iter().enumerate() {
        let upper: Vec<(f64, f64)> = (0..n).map(|i| (x(i), y(tops[k][i]))).collect();
        let mut d = polyline(&upper);
        for i in (0..n).rev() {
            let below = if k == 0 { 0.0 } else { tops[k - 1][i] };
            let _ = write!(d, " L{:.1},{:.1}", x(i), y(below));
        }
        let _ = write!(
            s,
            "<path class=\"area\" d=\"{d} Z\" fill=\"{}\" fill-opacity=\"0.75\" stroke=\"#fff\" stroke-width=\"0.8\"><title>{}</title></path>",
            colour(k),
            esc(&ser.label)
        );
    }
    let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
    legend(&mut s, f.left, 18.0, &labels, true);
    frame_text(&mut s, &f, a, &x);
    s.push_str("</svg>");
    s
}

/// A small line without axes beside a headline figure: the values over
/// time, the last one marked. `title` says what it is (its text alternative).
pub fn sparkline(title: &str, values: &[Option<f64>]) -> String {
    let (w, h) = (132.0, 30.0);
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let (min, max) = known.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let span = if max - min > 1e-9 { max - min } else { 1.0 };
    let n = values.len().max(2);
    let x = |i: usize| 3.0 + (w - 6.0) * i as f64 / (n - 1) as f64;
    let y = |v: f64| h - 4.0 - (v - min) / span * (h - 8.0);
    let pts: Vec<(f64, f64)> = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (x(i), y(v)))).collect();
    let mut s = format!(
        "<svg class=\"chart spark\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(title),
        esc(title)
    );
    if !pts.is_empty() {
        let _ = write!(
            s,
            "<path class=\"spark\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"/>",
            polyline(&pts),
            colour(0)
        );
    }
    if let Some((px, py)) = pts.last() {
        let _ = write!(s, "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.6\" fill=\"{}\"/>", colour(1));
    }
    s.push_str("</svg>");
    s
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
pub fn hbars(title: &str, desc: &str, x_name: &str, rows: &[HBar], series: &[&str]) -> String {
    let row_h = 22.0;
    let top = if series.len() > 1 { 30.0 } else { 8.0 };
    let h = top + row_h * rows.len() as f64 + 40.0;
    let longest = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(4) as f64;
    let left = (longest * 7.2 + 16.0).clamp(60.0, 260.0);
    let f = Frame { left, right: W - 90.0, top, bottom: h - 40.0 };
    let max = rows.iter().map(|r| r.values.iter().sum::<f64>()).fold(0.0, f64::max);
    let (_, hi, t) = ticks(0.0, max, true);
    let x = |v: f64| f.left + v / hi * (f.right - f.left);
    let mut s = open_desc(W, h, title, desc, "hbars");
    for &v in &t {
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{}\" y2=\"{}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(v),
            x(v),
            f.top,
            f.bottom,
            x(v),
            f.bottom + 15.0,
            esc(&axis_label(v))
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let yy = f.top + row_h * i as f64 + 3.0;
        let mut at = 0.0;
        for (k, v) in r.values.iter().enumerate() {
            if *v <= 0.0 {
                continue;
            }
            let name = series.get(k).copied().unwrap_or("");
            let _ = write!(
                s,
                "<rect class=\"hbar\" x=\"{:.1}\" y=\"{yy:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}{}{}: {}</title></rect>",
                x(at),
                x(at + v) - x(at),
                row_h - 6.0,
                colour(k),
                esc(&r.name),
                if name.is_empty() { "" } else { ", " },
                esc(name),
                esc(&axis_label(*v))
            );
            at += v;
        }
        let _ = write!(
            s,
            "<text class=\"cat\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            f.left - 6.0,
            yy + 12.5,
            esc(&r.name),
            x(at) + 5.0,
            yy + 12.5,
            esc(&r.label)
        );
    }
    if series.len() > 1 {
        legend(&mut s, f.left, 18.0, series, true);
    }
    let _ = write!(
        s,
        "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/></svg>",
        f.right,
        f.bottom + 32.0,
        esc(x_name),
        f.left,
        f.left,
        f.top,
        f.bottom
    );
    s
}

/// Vertical bars with a range drawn over each (e.g. expected receipts per
/// week with their low–high band): `mid`, `low` and `high` per x label.
pub fn range_bars(a: &Axes<'_>, mid: &[f64], low: &[f64], high: &[f64]) -> String {
    let f = trend_frame();
    let max = mid.iter().chain(high).copied().fold(0.0, f64::max);
    let (lo, hi, t) = ticks(0.0, max, true);
    let n = a.x_labels.len().max(1);
    let slot = (f.right - f.left) / n as f64;
    let x = |i: usize| f.left + slot * (i as f64 + 0.5);
    let y = |v: f64| f.bottom - (v - lo) / (hi - lo) * (f.bottom - f.top);
    let mut s = open_desc(W, TREND_H, a.title, a.desc, "range");
    y_axis(&mut s, &f, lo, hi, &t);
    for i in 0..a.x_labels.len() {
        let m = mid.get(i).copied().unwrap_or(0.0);
        let label = &a.x_labels[i];
        let _ = write!(
            s,
            "<rect class=\"wbar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{label}: {}</title></rect>",
            x(i) - slot * 0.32,
            y(m),
            slot * 0.64,
            (f.bottom - y(m)).max(0.5),
            colour(0),
            esc(&axis_label(m))
        );
        let (l, h) = (low.get(i).copied().unwrap_or(m), high.get(i).copied().unwrap_or(m));
        if h > l {
            let _ = write!(
                s,
                "<path class=\"whisker\" d=\"M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}\" stroke=\"{}\" stroke-width=\"1.6\" fill=\"none\"><title>{label}: {} – {}</title></path>",
                x(i),
                y(l),
                x(i),
                y(h),
                x(i) - 5.0,
                y(l),
                x(i) + 5.0,
                y(l),
                x(i) - 5.0,
                y(h),
                x(i) + 5.0,
                y(h),
                colour(1),
                esc(&axis_label(l)),
                esc(&axis_label(h))
            );
        }
    }
    legend(&mut s, f.left, 18.0, &["expected"], true);
    let _ = write!(
        s,
        "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"14\" y2=\"14\" stroke=\"{}\" stroke-width=\"1.6\"/><text class=\"legend\" x=\"{:.1}\" y=\"18\">low – high</text>",
        f.left + 110.0,
        f.left + 128.0,
        colour(1),
        f.left + 132.0
    );
    frame_text(&mut s, &f, a, &x);
    s.push_str("</svg>");
    s
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
        let s = curve_chart("t", "k", "m", &pts, Some(&base));
        assert_eq!(s.matches("<circle").count(), 2, "a point per swept value only");
        assert_eq!(s.matches("<line class=\"baseline\"").count(), 1);
        assert!(s.contains(">standard (baseline)</text>"), "{s}");
        // The axis reaches the baseline (above the points): its line is inside the plot.
        let y1 = s.split("class=\"baseline\"").nth(1).and_then(|r| r.split("y1=\"").nth(1)).unwrap();
        let y1: f64 = y1.split('"').next().unwrap().parse().unwrap();
        assert!((26.0..=186.0).contains(&y1), "{y1}");
        let plain = curve_chart("t", "k", "m", &pts, None);
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
        let s = curve_chart("t", "k", "m", &pts, Some(&base));
        assert!(s.contains(">0</text>"), "a zero tick: {s}");
        // The number in the attribute `attr="…"` at the start of `rest`.
        let number = |rest: &str| -> f64 { rest.split('"').next().unwrap().parse().unwrap() };
        let line = number(s.split("class=\"baseline\"").nth(1).unwrap().split("y1=\"").nth(1).unwrap());
        let label = number(s.split(">standard (baseline)</text>").next().unwrap().rsplit("y=\"").next().unwrap());
        assert!(label > line, "label at {label}, line at {line}: below it");
        let neg = [("k=1".to_string(), Some(1.0), -120.0), ("k=2".to_string(), Some(2.0), -100.0)];
        let s = curve_chart("t", "k", "m", &neg, None);
        assert!(!s.contains(">0</text>"), "{s}");
    }

    #[test]
    fn text_in_charts_is_escaped() {
        let bars = [Bar { category: "<b>".into(), value: 1.0, label: "1 & 2".into(), note: String::new() }];
        let s = bar_chart("a <title>", &bars);
        assert!(s.contains("&lt;b&gt;") && s.contains("1 &amp; 2") && s.contains("a &lt;title&gt;"));
        assert!(!s.contains("<b>"));
    }
}
