//! Line charts drawn as [`Overlay`]s (so they go through the one PNG renderer, the overlay
//! folder and the report like every other image), and the RI time-activity curve built from the
//! findings' `cisternography` section.
//!
//! A chart is one or more panels side by side with a shared x axis and a shared y range; each
//! panel has its own title and y label. Grid lines are part of the grey base image; axes,
//! curves, markers and text are overlay lines, points and texts. Text is printable ASCII (the
//! built-in font), dark on a white background.

use csfleak_findings::{CisternoRoi, Cisternography, NmView};
use csfleak_volume::overlay::{Overlay, OverlayLine, OverlayPoint, OverlayText, Rgb};
use ndarray::Array2;

/// File stem of the RI time-activity curve image (`overlays/cisterno_tac.png`).
pub const TAC_OVERLAY_NAME: &str = "cisterno_tac";

/// One curve: points `(x, y)` joined in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curve {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: Rgb,
    /// Dashed line (solid when `false`).
    pub dashed: bool,
    /// Points `[x, y]`; non-finite ones are skipped.
    pub points: Vec<[f64; 2]>,
    /// Print the last point's y value beside it (e.g. the 24-hour retention).
    pub label_last: bool,
}

/// A panel: axes, grid and curves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// Y axis label (with its unit), printed above the axis.
    pub y_label: String,
    /// Curves.
    pub curves: Vec<Curve>,
}

/// Panels side by side with a shared x axis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// X axis label with its unit, under every panel.
    pub x_label: String,
    /// Unit suffix of the printed last values (e.g. `"%"`).
    pub value_suffix: String,
    /// Allowed x tick steps, ascending (e.g. 1, 2, 3, 6, 12, 24 for hours): the smallest one
    /// giving at most 6 intervals is used; empty for 1-2-5 steps.
    pub x_steps: Vec<f64>,
    /// Panels, left to right.
    pub panels: Vec<Panel>,
}

/// Text colour on the white background (the renderer adds a dark shadow).
const INK: Rgb = [20, 20, 20];
const AXIS: Rgb = [0, 0, 0];
/// Grey level of grid lines in the base image (window 0..1 maps 1.0 to white).
const GRID: f32 = 0.86;

const PANEL_W: usize = 480;
const HEIGHT: usize = 440;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 92.0;
const TOP: f64 = 64.0;
const BOTTOM: f64 = 118.0;
/// Pixels per character and per text line at the renderer's text scale for charts this wide.
const CHAR_W: f64 = 12.0;
const LINE_H: f64 = 18.0;

/// A "nice" step (1, 2 or 5 times a power of ten) giving about `n` intervals over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / n;
    let p = 10_f64.powf(raw.log10().floor());
    let m = raw / p;
    let k = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    k * p
}

/// Tick values `0, step, 2 step, ...` up to `max` (inclusive, with rounding slack).
fn ticks(max: f64, step: f64) -> Vec<f64> {
    let mut t = Vec::new();
    let mut i = 0.0_f64;
    while i * step <= max + step * 1e-9 && t.len() < 64 {
        t.push(i * step);
        i += 1.0;
    }
    t
}

/// `12`, `2.5`, `0.25`: a tick label without trailing zeros.
fn tick_text(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

fn text(at: [f64; 2], s: impl Into<String>, color: Rgb) -> OverlayText {
    OverlayText {
        at,
        text: s.into(),
        color,
    }
}

fn line(from: [f64; 2], to: [f64; 2], color: Rgb) -> OverlayLine {
    OverlayLine {
        from,
        to,
        color,
        label: String::new(),
    }
}

/// A screen coordinate (non-negative by construction) as a pixel index.
fn px(x: f64) -> usize {
    csfleak_volume::index_of(x.round()).unwrap_or(0)
}

/// Data range of a chart: `(x_max, y_max)`, both at least a small positive number.
fn ranges(chart: &Chart) -> (f64, f64) {
    let pts = chart
        .panels
        .iter()
        .flat_map(|p| &p.curves)
        .flat_map(|c| &c.points)
        .filter(|p| p[0].is_finite() && p[1].is_finite());
    let (mut x, mut y) = (0.0_f64, 0.0_f64);
    for p in pts {
        x = x.max(p[0]);
        y = y.max(p[1]);
    }
    (if x > 0.0 { x } else { 1.0 }, if y > 0.0 { y } else { 1.0 })
}

/// Draw a chart as an overlay named `name` (`[a-z0-9_-]`) with caption `title`; `None` when
/// it has no panel or no finite point at all.
pub fn chart_overlay(name: &str, title: &str, chart: &Chart) -> Option<Overlay> {
    let any_point = chart
        .panels
        .iter()
        .flat_map(|p| &p.curves)
        .flat_map(|c| &c.points)
        .any(|p| p[0].is_finite() && p[1].is_finite());
    if chart.panels.is_empty() || !any_point {
        return None;
    }
    let (x_data, y_data) = ranges(chart);
    let x_step = chart
        .x_steps
        .iter()
        .copied()
        .find(|s| *s > 0.0 && x_data / s <= 6.0)
        .unwrap_or_else(|| nice_step(x_data, 6.0));
    let x_max = (x_data / x_step).ceil() * x_step;
    let y_step = nice_step(y_data * 1.08, 5.0);
    let y_max = (y_data * 1.08 / y_step).ceil() * y_step;

    let width = PANEL_W * chart.panels.len();
    let mut base = Array2::from_elem((HEIGHT, width), 1.0_f32);
    let plot_h = HEIGHT as f64 - TOP - BOTTOM;
    let plot_w = PANEL_W as f64 - LEFT - RIGHT;
    let mut o = Overlay::new(name, title, Array2::zeros((1, 1)), (0.0, 1.0));
    o.orientation_note = format!(
        "chart: {} against {}",
        chart
            .panels
            .iter()
            .map(|p| p.y_label.as_str())
            .collect::<Vec<_>>()
            .join(" / "),
        chart.x_label
    );
    // Legend entries in first-seen order (the same curve labels in every panel).
    let mut legend: Vec<(&str, Rgb, bool)> = Vec::new();

    for (pi, panel) in chart.panels.iter().enumerate() {
        let x0 = (pi * PANEL_W) as f64 + LEFT;
        let y0 = TOP + plot_h; // screen row of y = 0
        let sx = |x: f64| x0 + x / x_max * plot_w;
        let sy = |y: f64| y0 - y / y_max * plot_h;
        // Grid in the base image.
        for &t in &ticks(y_max, y_step) {
            if let Some(r) = csfleak_volume::index_of(sy(t).round()) {
                for c in px(x0)..=px(x0 + plot_w).min(width - 1) {
                    if r < HEIGHT {
                        base[[r, c]] = GRID;
                    }
                }
            }
            let label = tick_text(t);
            o.texts.push(text(
                [sy(t) - 7.0, x0 - 8.0 - CHAR_W * label.len() as f64],
                label,
                INK,
            ));
        }
        for &t in &ticks(x_max, x_step) {
            if let Some(c) = csfleak_volume::index_of(sx(t).round()) {
                for r in px(TOP)..=px(y0).min(HEIGHT - 1) {
                    if c < width {
                        base[[r, c]] = GRID;
                    }
                }
            }
            let label = tick_text(t);
            o.texts.push(text(
                [y0 + 8.0, sx(t) - CHAR_W * label.len() as f64 / 2.0],
                label,
                INK,
            ));
        }
        // Axes, titles.
        o.lines.push(line([y0, x0], [y0, x0 + plot_w], AXIS));
        o.lines.push(line([TOP, x0], [y0, x0], AXIS));
        o.texts
            .push(text([8.0, x0 - LEFT + 10.0], &panel.title, INK));
        o.texts
            .push(text([TOP - 26.0, x0 - LEFT + 10.0], &panel.y_label, INK));
        o.texts.push(text(
            [
                y0 + 30.0,
                x0 + plot_w / 2.0 - CHAR_W * chart.x_label.len() as f64 / 2.0,
            ],
            &chart.x_label,
            INK,
        ));
        // Curves; their last values are printed right of the last point, kept apart.
        let mut values: Vec<OverlayText> = Vec::new();
        for c in &panel.curves {
            if !legend.iter().any(|(l, _, _)| *l == c.label) {
                legend.push((&c.label, c.color, c.dashed));
            }
            let pts: Vec<[f64; 2]> = c
                .points
                .iter()
                .filter(|p| p[0].is_finite() && p[1].is_finite())
                .map(|p| [sy(p[1].clamp(0.0, y_max)), sx(p[0].clamp(0.0, x_max))])
                .collect();
            for w in pts.windows(2) {
                segment(&mut o, w[0], w[1], c.color, c.dashed);
            }
            for p in &pts {
                o.points.push(OverlayPoint {
                    at: *p,
                    color: c.color,
                    label: String::new(),
                });
            }
            if c.label_last {
                let last = c
                    .points
                    .iter()
                    .rev()
                    .find(|p| p[0].is_finite() && p[1].is_finite());
                if let (Some(p), Some(&[_, y])) = (pts.last(), last) {
                    values.push(text(
                        [p[0] - 7.0, p[1] + 14.0],
                        format!("{y:.1}{}", chart.value_suffix),
                        c.color,
                    ));
                }
            }
        }
        values.sort_by(|a, b| a.at[0].total_cmp(&b.at[0]));
        let mut floor = f64::NEG_INFINITY;
        for mut v in values {
            v.at[0] = v.at[0].max(floor);
            floor = v.at[0] + LINE_H;
            o.texts.push(v);
        }
    }
    // Legend under the panels, two entries per line.
    for (n, (label, color, dashed)) in legend.iter().enumerate() {
        let row = HEIGHT as f64 - BOTTOM + 58.0 + LINE_H * (n / 2) as f64;
        let col = 20.0 + (n % 2) as f64 * (width as f64 / 2.0);
        segment(
            &mut o,
            [row + 7.0, col],
            [row + 7.0, col + 36.0],
            *color,
            *dashed,
        );
        o.texts.push(text([row, col + 44.0], *label, *color));
    }
    o.base = base;
    Some(o)
}

/// A straight segment, twice (one pixel apart) for weight; dashed as 8-on, 5-off pieces.
fn segment(o: &mut Overlay, a: [f64; 2], b: [f64; 2], color: Rgb, dashed: bool) {
    let len = (b[0] - a[0]).hypot(b[1] - a[1]);
    let mut pieces = Vec::new();
    if dashed && len > 0.0 {
        let mut s = 0.0;
        while s < len {
            let e = (s + 8.0).min(len);
            let at = |t: f64| {
                [
                    a[0] + (b[0] - a[0]) * t / len,
                    a[1] + (b[1] - a[1]) * t / len,
                ]
            };
            pieces.push((at(s), at(e)));
            s += 13.0;
        }
    } else {
        pieces.push((a, b));
    }
    for (p, q) in pieces {
        o.lines.push(line(p, q, color));
        o.lines
            .push(line([p[0] + 1.0, p[1]], [q[0] + 1.0, q[1]], color));
    }
}

/// Colours of the NM views (as in the report's inline curve). Compared, not matched, so that
/// views added to the findings later draw in a neutral colour.
fn view_color(view: NmView) -> Rgb {
    if view == NmView::Anterior {
        [0, 102, 204]
    } else if view == NmView::Posterior {
        [0, 140, 50]
    } else if view == NmView::GeometricMean {
        [170, 0, 170]
    } else {
        [120, 120, 120]
    }
}

fn view_name(view: NmView) -> String {
    if view == NmView::GeometricMean {
        return "geometric mean".to_owned();
    }
    serde_json::to_value(view)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_else(|| "view".to_owned())
}

/// One view's points of one ROI: `(hours, raw value, decay-corrected value)` in percent.
type ViewSeries = Vec<(f64, f64, Option<f64>)>;

/// The reference hour and, per view and ROI (`true` = bladder, `false` = CSF), its points.
type TacData = (f64, Vec<(NmView, bool, ViewSeries)>);

/// The RI time-activity curve from the findings: per view, the CSF ROI and the bladder as a
/// percentage of that view's CSF counts at the reference time point, raw in the left panel and
/// decay-corrected in the right one.
///
/// Source: `cisternography.curve[]` when present (the analysis' own percentages and
/// decay-corrected counts, reference `curve_reference_h`, half-life `half_life_s`); else the
/// older `time_points[]` counts, with the reference `retention_24h.reference_h` (or the earliest
/// time point) and the decay correction `x 2^(dt / half-life)` computed here from
/// `half_life_h`. Without any half-life only the raw panel is drawn. `None` when no view has a
/// usable reference count.
pub fn cisterno_chart(c: &Cisternography, half_life_h: Option<f64>) -> Option<Chart> {
    let half_life_h = c
        .half_life_s
        .map(|s| s / 3600.0)
        .or(half_life_h)
        .filter(|h| h.is_finite() && *h > 0.0);
    let (ref_h, series) = if c.curve.is_empty() {
        from_time_points(c, half_life_h)?
    } else {
        from_curve(c)?
    };
    let mut raw = Panel {
        title: "raw counts".to_owned(),
        y_label: format!("% of CSF counts at {} h", tick_text(ref_h)),
        curves: Vec::new(),
    };
    let mut corrected = Panel {
        title: match half_life_h {
            Some(h) => format!("decay-corrected (half-life {h:.1} h)"),
            None => "decay-corrected".to_owned(),
        },
        y_label: raw.y_label.clone(),
        curves: Vec::new(),
    };
    for (view, bladder, pts) in series {
        let name = view_name(view);
        let curve = |points: Vec<[f64; 2]>| Curve {
            label: if bladder {
                format!("bladder, {name}")
            } else {
                format!("CSF, {name}")
            },
            color: view_color(view),
            dashed: bladder,
            label_last: !bladder,
            points,
        };
        let dc: Vec<[f64; 2]> = pts
            .iter()
            .filter_map(|&(h, _, d)| d.map(|d| [h, d]))
            .collect();
        if !dc.is_empty() {
            corrected.curves.push(curve(dc));
        }
        raw.curves
            .push(curve(pts.iter().map(|&(h, r, _)| [h, r]).collect()));
    }
    if raw.curves.is_empty() {
        return None;
    }
    let mut panels = vec![raw];
    if !corrected.curves.is_empty() {
        panels.push(corrected);
    }
    Some(Chart {
        x_label: "hours after injection".to_owned(),
        value_suffix: "%".to_owned(),
        x_steps: vec![1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 96.0],
        panels,
    })
}

const VIEWS: [NmView; 3] = [NmView::Anterior, NmView::Posterior, NmView::GeometricMean];

/// From `curve[]`: the CSF percentages as the analysis computed them; the bladder's counts
/// over the CSF counts of the same view at the reference.
fn from_curve(c: &Cisternography) -> Option<TacData> {
    let ref_h = c
        .curve_reference_h
        .map(|h| h.0)
        .or_else(|| c.curve.iter().map(|p| p.hours.0).min_by(f64::total_cmp))?;
    let mut out = Vec::new();
    for view in VIEWS {
        let mut csf: Vec<_> = c
            .curve
            .iter()
            .filter(|p| p.view == view && p.roi == CisternoRoi::Csf)
            .collect();
        csf.sort_by(|a, b| a.hours.0.total_cmp(&b.hours.0));
        let Some(reference) = csf
            .iter()
            .find(|p| (p.hours.0 - ref_h).abs() < 1e-6)
            .map(|p| p.counts.0)
            .filter(|x| x.is_finite() && *x > 0.0)
        else {
            continue;
        };
        let pct = |x: f64| 100.0 * x / reference;
        out.push((
            view,
            false,
            csf.iter()
                .map(|p| {
                    (
                        p.hours.0,
                        p.pct_of_reference.map_or_else(|| pct(p.counts.0), |v| v.0),
                        Some(
                            p.pct_of_reference_decay_corrected
                                .map_or_else(|| pct(p.decay_corrected_counts.0), |v| v.0),
                        ),
                    )
                })
                .collect(),
        ));
        let mut bladder: Vec<_> = c
            .curve
            .iter()
            .filter(|p| p.view == view && p.roi == CisternoRoi::Bladder)
            .collect();
        bladder.sort_by(|a, b| a.hours.0.total_cmp(&b.hours.0));
        if !bladder.is_empty() {
            out.push((
                view,
                true,
                bladder
                    .iter()
                    .map(|p| {
                        (
                            p.hours.0,
                            pct(p.counts.0),
                            Some(pct(p.decay_corrected_counts.0)),
                        )
                    })
                    .collect(),
            ));
        }
    }
    (!out.is_empty()).then_some((ref_h, out))
}

/// From `time_points[]` (findings without `curve[]`): counts over the reference CSF counts of
/// the same view, decay-corrected here when a half-life is known.
fn from_time_points(c: &Cisternography, half_life_h: Option<f64>) -> Option<TacData> {
    let tp = &c.time_points;
    let ref_h = c
        .retention_24h
        .as_ref()
        .and_then(|r| r.reference_h)
        .map(|h| h.0)
        .or_else(|| tp.iter().map(|t| t.hours.0).min_by(f64::total_cmp))?;
    let mut out = Vec::new();
    for view in VIEWS {
        let mut pts: Vec<_> = tp.iter().filter(|t| t.view == view).collect();
        pts.sort_by(|a, b| a.hours.0.total_cmp(&b.hours.0));
        let Some(reference) = pts
            .iter()
            .find(|t| (t.hours.0 - ref_h).abs() < 1e-6)
            .and_then(|t| t.csf_counts)
            .map(|x| x.0)
            .filter(|x| x.is_finite() && *x > 0.0)
        else {
            continue;
        };
        for bladder in [false, true] {
            let series: ViewSeries = pts
                .iter()
                .filter_map(|t| {
                    let v = if bladder {
                        t.bladder_counts
                    } else {
                        t.csf_counts
                    }?;
                    let r = 100.0 * v.0 / reference;
                    let d = half_life_h.map(|hl| r * ((t.hours.0 - ref_h) / hl).exp2());
                    Some((t.hours.0, r, d))
                })
                .collect();
            if !series.is_empty() {
                out.push((view, bladder, series));
            }
        }
    }
    (!out.is_empty()).then_some((ref_h, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_findings::{Counts, Hours, Retention, TimePoint};

    fn study() -> Cisternography {
        let mut c = Cisternography::not_assessable("r");
        for (h, ant, post, bl) in [
            (0.0, 1000.0, 2000.0, 0.0),
            (3.0, 900.0, 1500.0, 40.0),
            (24.0, 300.0, 500.0, 200.0),
        ] {
            for (view, v) in [(NmView::Anterior, ant), (NmView::Posterior, post)] {
                c.time_points.push(TimePoint {
                    hours: Hours(h),
                    view,
                    csf_counts: Some(Counts(v)),
                    bladder_counts: Some(Counts(bl)),
                });
            }
        }
        c.retention_24h = Some(Retention {
            reference_h: Some(Hours(0.0)),
            ..Retention::default()
        });
        c
    }

    #[test]
    fn raw_and_decay_corrected_percentages_of_the_reference() {
        let chart = cisterno_chart(&study(), Some(67.3)).unwrap();
        assert_eq!(chart.panels.len(), 2);
        let raw = &chart.panels[0];
        let csf_post = raw
            .curves
            .iter()
            .find(|c| c.label == "CSF, posterior")
            .unwrap();
        assert_eq!(
            csf_post.points,
            vec![[0.0, 100.0], [3.0, 75.0], [24.0, 25.0]]
        );
        let dc = &chart.panels[1];
        let dc_post = dc
            .curves
            .iter()
            .find(|c| c.label == "CSF, posterior")
            .unwrap();
        let want = 25.0 * (24.0_f64 / 67.3).exp2();
        assert!((dc_post.points[2][1] - want).abs() < 1e-9);
        assert!(
            dc.curves
                .iter()
                .any(|c| c.dashed && c.label.starts_with("bladder"))
        );
        assert!(
            raw.y_label.contains("% of CSF counts at 0 h"),
            "{}",
            raw.y_label
        );
        // Without a half-life: the raw panel only.
        assert_eq!(cisterno_chart(&study(), None).unwrap().panels.len(), 1);
        // No time points: nothing to draw.
        assert!(cisterno_chart(&Cisternography::not_assessable("x"), Some(67.3)).is_none());
    }

    #[test]
    fn curve_points_are_preferred_over_time_points() {
        use csfleak_findings::{CisternoCurvePoint, Pct};
        let mut c = study();
        c.half_life_s = Some(3600.0 * 10.0);
        c.curve_reference_h = Some(Hours(0.0));
        let point =
            |h: f64, roi, counts: f64, dc: f64, pct: Option<(f64, f64)>| CisternoCurvePoint {
                hours: Hours(h),
                view: NmView::Posterior,
                roi,
                counts: Counts(counts),
                decay_corrected_counts: Counts(dc),
                pct_of_reference: pct.map(|p| Pct(p.0)),
                pct_of_reference_decay_corrected: pct.map(|p| Pct(p.1)),
            };
        c.curve = vec![
            point(0.0, CisternoRoi::Csf, 400.0, 400.0, Some((100.0, 100.0))),
            point(24.0, CisternoRoi::Csf, 100.0, 160.0, Some((25.0, 40.0))),
            point(0.0, CisternoRoi::Bladder, 0.0, 0.0, None),
            point(24.0, CisternoRoi::Bladder, 40.0, 64.0, None),
            point(24.0, CisternoRoi::Kidneys, 10.0, 16.0, None),
        ];
        // The findings' half-life wins over the caller's; only the posterior view is in curve[].
        let chart = cisterno_chart(&c, Some(67.3)).unwrap();
        assert_eq!(chart.panels[1].title, "decay-corrected (half-life 10.0 h)");
        let find = |panel: usize, label: &str| {
            chart.panels[panel]
                .curves
                .iter()
                .find(|c| c.label == label)
                .unwrap()
                .points
                .clone()
        };
        assert_eq!(find(0, "CSF, posterior"), vec![[0.0, 100.0], [24.0, 25.0]]);
        assert_eq!(find(1, "CSF, posterior"), vec![[0.0, 100.0], [24.0, 40.0]]);
        assert_eq!(
            find(0, "bladder, posterior"),
            vec![[0.0, 0.0], [24.0, 10.0]]
        );
        assert_eq!(
            find(1, "bladder, posterior"),
            vec![[0.0, 0.0], [24.0, 16.0]]
        );
        assert_eq!(
            chart.panels[0].curves.len(),
            2,
            "no anterior: not in curve[]"
        );
    }

    #[test]
    fn chart_renders_axes_curves_and_labels() {
        let chart = cisterno_chart(&study(), Some(67.3)).unwrap();
        let o = chart_overlay("cisterno_tac", "TAC", &chart).unwrap();
        assert_eq!(o.base.dim(), (HEIGHT, 2 * PANEL_W));
        let texts: Vec<&str> = o.texts.iter().map(|t| t.text.as_str()).collect();
        for want in [
            "hours after injection",
            "raw counts",
            "25.0%",
            "24",
            "CSF, anterior",
        ] {
            assert!(texts.contains(&want), "{want} missing from {texts:?}");
        }
        let img = crate::png::render(&o, &crate::png::PngOptions::default()).unwrap();
        assert_eq!((img.width(), img.height()), (960, 440));
        // Some pixels carry the posterior colour, the background is white.
        let green = img.pixels().filter(|p| p.0 == [0, 140, 50]).count();
        assert!(green > 200, "{green}");
        assert_eq!(img.get_pixel(2, 2).0, [255, 255, 255]);
        assert!(chart_overlay("x", "x", &Chart::default()).is_none());
        // To look at it: CSFLEAK_CHART_PNG=/tmp/tac.png cargo test -p csfleak-report chart
        if let Ok(path) = std::env::var("CSFLEAK_CHART_PNG") {
            std::fs::write(path, crate::png::encode(&img, "tac.png").unwrap()).unwrap();
        }
    }

    #[test]
    fn nice_steps_and_tick_labels() {
        assert!((nice_step(24.0, 6.0) - 5.0).abs() < 1e-12);
        assert!((nice_step(108.0, 5.0) - 50.0).abs() < 1e-12);
        assert!((nice_step(0.3, 5.0) - 0.1).abs() < 1e-12);
        assert_eq!(tick_text(12.0), "12");
        assert_eq!(tick_text(2.5), "2.5");
        assert_eq!(ticks(10.0, 5.0), vec![0.0, 5.0, 10.0]);
    }
}
