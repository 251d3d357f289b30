//! The comparison chart: one horizontal bar per ours/raw ratio, diverging from 1.0, then the absolute figures, as hand-written SVG.

use std::fmt::Write as _;

use super::report::{ratio_target, short_of, Report};

const WIDTH: f64 = 980.0;
const LABEL_WIDTH: f64 = 430.0;
const VALUE_WIDTH: f64 = 60.0;
const ROW: f64 = 17.0;
const TOP: f64 = 64.0;
/// The ratio axis runs from `MIN` to `MAX`; bars beyond are clipped (and say so).
const MIN: f64 = 0.80;
const MAX: f64 = 1.20;

/// Draws every comparison of `report` as a bar of its ours/raw ratio around 1.0, grouped by
/// backend, with the targets (0.97, 0.95) as dashed lines.
pub fn render(report: &Report) -> String {
    let plot_left = LABEL_WIDTH;
    let plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20.0;
    let x = |ratio: f64| plot_left + (ratio.clamp(MIN, MAX) - MIN) / (MAX - MIN) * plot_width;

    let mut body = String::new();
    let mut y = TOP;
    let mut backends: Vec<&str> = Vec::new();
    for comparison in &report.comparisons {
        if !backends.contains(&comparison.backend.as_str()) {
            backends.push(&comparison.backend);
        }
    }
    for backend in &backends {
        y += 6.0;
        let _ = writeln!(
            body,
            r#"<text x="8" y="{:.1}" class="group">{}</text>"#,
            y + 12.0,
            escape(backend)
        );
        y += ROW + 2.0;
        for c in report.comparisons.iter().filter(|c| c.backend == *backend) {
            let ratio = c.ratio;
            let (from, to) = if ratio >= 1.0 {
                (x(1.0), x(ratio))
            } else {
                (x(ratio), x(1.0))
            };
            let better = if c.higher_is_better {
                ratio >= 1.0
            } else {
                ratio <= 1.0
            };
            let missed = ratio_target(&c.metric).is_some_and(|t| short_of(ratio, t));
            let class = if !ratio.is_finite() {
                "none"
            } else if missed {
                "missed"
            } else if better {
                "better"
            } else {
                "worse"
            };
            let lower = if c.higher_is_better {
                ""
            } else {
                " (lower is better)"
            };
            let _ = writeln!(
                body,
                r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="end">{}{}</text>"#,
                plot_left - 8.0,
                y + 12.0,
                escape(&c.metric),
                lower
            );
            if ratio.is_finite() {
                let _ = writeln!(
                    body,
                    r#"<rect x="{from:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="{class}"><title>{}: ours {} / raw {} {} = {ratio:.3}</title></rect>"#,
                    y + 2.0,
                    (to - from).max(1.0),
                    ROW - 5.0,
                    escape(&c.metric),
                    c.ours,
                    c.raw,
                    escape(&c.unit),
                );
            }
            let clipped = if ratio.is_finite() && !(MIN..=MAX).contains(&ratio) {
                if ratio > MAX {
                    " »"
                } else {
                    " «"
                }
            } else {
                ""
            };
            let _ = writeln!(
                body,
                r#"<text x="{:.1}" y="{:.1}" class="value">{}{clipped}</text>"#,
                plot_left + plot_width + 6.0,
                y + 12.0,
                if ratio.is_finite() {
                    format!("{ratio:.3}")
                } else {
                    "-".to_owned()
                }
            );
            y += ROW;
        }
    }
    let bottom = y + 8.0;
    let figures = absolute(report, bottom + 44.0);
    let height = figures.1 + 16.0;

    let mut axis = String::new();
    for tick in [0.80, 0.85, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15, 1.20] {
        let _ = writeln!(
            axis,
            r#"<line x1="{0:.1}" y1="{TOP:.1}" x2="{0:.1}" y2="{bottom:.1}" class="{1}"/><text x="{0:.1}" y="{2:.1}" class="tick" text-anchor="middle">{tick:.2}</text>"#,
            x(tick),
            if tick == 1.0 { "one" } else { "grid" },
            bottom + 16.0
        );
    }
    for (target, name) in [(0.97, "0.97 target"), (0.95, "0.95 in-memory target")] {
        let _ = writeln!(
            axis,
            r#"<line x1="{0:.1}" y1="{TOP:.1}" x2="{0:.1}" y2="{bottom:.1}" class="target"/><text x="{0:.1}" y="{1:.1}" class="tick" text-anchor="end">{name}</text>"#,
            x(target),
            TOP - 4.0 - if target == 0.95 { 12.0 } else { 0.0 },
        );
    }

    let title = format!(
        "{}: ours / raw ({} run, medians of {} rounds)",
        report.tool, report.settings.mode, report.settings.rounds
    );
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0}" height="{height:.0}" viewBox="0 0 {WIDTH:.0} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
.title {{ font-size: 15px; font-weight: bold; }}
.sub {{ font-size: 11px; fill: #444; }}
.group {{ font-size: 13px; font-weight: bold; }}
.label {{ font-size: 11px; fill: #222; }}
.value {{ font-size: 11px; fill: #222; }}
.tick {{ font-size: 10px; fill: #555; }}
.grid {{ stroke: #ddd; stroke-width: 1; }}
.one {{ stroke: #333; stroke-width: 1.5; }}
.target {{ stroke: #c62828; stroke-width: 1; stroke-dasharray: 4 3; }}
.better {{ fill: #2e7d32; }}
.worse {{ fill: #f9a825; }}
.missed {{ fill: #c62828; }}
.none {{ fill: #999; }}
.ours {{ fill: #1565c0; }}
.raw {{ fill: #90caf9; }}
.nginx {{ fill: #2e7d32; }}
.tcp {{ fill: #9e9e9e; }}
</style>
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="20" class="title">{}</text>
<text x="8" y="36" class="sub">{}</text>
{axis}{body}<text x="8" y="{:.1}" class="sub">green: ours at least as good as raw; amber: worse, within target; red: misses its target. Axis clipped to {MIN:.2}–{MAX:.2}.</text>
{}</svg>
"#,
        escape(&title),
        escape(&report.machine.summary()),
        bottom + 28.0,
        figures.0,
    )
}

/// The absolute figures (handshakes and MB per server CPU-second, KiB per idle connection):
/// per figure, one bar per backend (ours, raw), nginx and plain TCP, scaled to the figure's
/// largest value. Returns the SVG and the bottom edge.
fn absolute(report: &Report, top: f64) -> (String, f64) {
    const BAR: f64 = 12.0;
    let plot_left = LABEL_WIDTH;
    let plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 60.0;
    let mut out = String::new();
    let mut y = top;
    let _ = writeln!(
        out,
        r#"<text x="8" y="{:.1}" class="title">Absolute figures: per second of server CPU (KiB per idle connection)</text>"#,
        y + 12.0
    );
    y += 24.0;
    for row in &report.figures.rows {
        let max = row.values.iter().flatten().copied().fold(0.0f64, f64::max);
        let _ = writeln!(
            out,
            r#"<text x="8" y="{:.1}" class="group">{} ({}{})</text>"#,
            y + 12.0,
            escape(&row.label),
            escape(&row.unit),
            if row.higher_is_better {
                ""
            } else {
                ", lower is better"
            }
        );
        y += BAR + 6.0;
        for (column, value) in report.figures.columns.iter().zip(&row.values) {
            let Some(value) = value else { continue };
            let class = if column == "nginx" {
                "nginx"
            } else if column == "plain TCP" {
                "tcp"
            } else if column.ends_with(" raw") {
                "raw"
            } else {
                "ours"
            };
            let width = if max > 0.0 {
                (value / max * plot_width).max(1.0)
            } else {
                1.0
            };
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="end">{}</text><rect x="{plot_left:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" class="{class}"><title>{}: {} {}</title></rect><text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
                plot_left - 8.0,
                y + 10.0,
                escape(column),
                y + 1.0,
                BAR - 2.0,
                escape(column),
                value,
                escape(&row.unit),
                plot_left + width + 6.0,
                y + 10.0,
                super::report::number(*value),
            );
            y += BAR;
        }
        y += 6.0;
    }
    (out, y)
}

/// Escapes text for SVG element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"a<b & "c">"#), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
