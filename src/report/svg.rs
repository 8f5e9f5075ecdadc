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
