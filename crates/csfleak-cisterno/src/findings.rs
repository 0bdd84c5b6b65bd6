//! The analysis in the findings vocabulary (`cisternography.*` of `findings.json`).

use csfleak_findings::{
    Accumulation as FAccumulation, BladderStatus, CisternoCurvePoint, CisternoRoi, Cisternography,
    Counts, Evidence, FieldStatus, Hours, LateralView, NmView, Pct, Provenance,
    Retention as FRetention, Status, TimePoint, ViewRetention as FViewRetention,
};

use crate::analysis::{Analysis, Outcome};
use crate::input::CisternoInput;

/// Method name recorded in the provenance.
pub const METHOD: &str = "cisternography.planar_roi/1";

/// Round to `digits` decimals (findings carry deliberately rounded floats).
fn round(x: f64, digits: i32) -> f64 {
    let f = 10_f64.powi(digits);
    (x * f).round() / f
}

impl Analysis {
    /// The `cisternography` section of `findings.json`.
    ///
    /// `early_bladder_h` is `null` both when no bladder activity was seen and when the bladder
    /// was out of the field; `early_bladder_status` (`seen`, `not_seen`, `not_assessable`) and
    /// `early_bladder_h_status` (the reason) tell them apart.
    pub fn to_findings(&self, input: &CisternoInput) -> Cisternography {
        let lateral_views = self.lateral_views(input);
        if self.hours.is_empty() {
            let reason = self
                .retention
                .reason()
                .unwrap_or("no planar frames")
                .to_owned();
            let mut out = Cisternography::not_assessable(reason);
            out.lateral_views = lateral_views;
            out.evidence = self.overlay_evidence(input);
            return out;
        }
        let mut out = Cisternography::not_assessable(String::new());
        out.status = Status::Present;
        out.reason = None;
        out.time_points = self
            .counts
            .iter()
            .map(|c| TimePoint {
                hours: Hours(round(c.hours, 3)),
                view: c.view,
                csf_counts: Some(Counts(round(c.csf, 3))),
                bladder_counts: c.bladder.map(|b| Counts(round(b, 3))),
            })
            .collect();
        match &self.retention {
            Outcome::Measured(r) => {
                let g = r.view(r.graded_view);
                out.retention_24h = Some(FRetention {
                    raw_pct: g.map(|v| Pct(round(v.raw_pct, 2))),
                    decay_corrected_pct: g.map(|v| Pct(round(v.decay_corrected_pct, 2))),
                    reference_h: Some(Hours(round(r.reference_h, 3))),
                    view: Some(r.graded_view),
                    roi_policy: Some(r.roi_policy.clone()),
                    per_view: r
                        .per_view
                        .iter()
                        .map(|v| FViewRetention {
                            view: v.view,
                            raw_pct: Pct(round(v.raw_pct, 2)),
                            decay_corrected_pct: Pct(round(v.decay_corrected_pct, 2)),
                        })
                        .collect(),
                });
            }
            Outcome::NotAssessable { reason } => {
                out.retention_24h_status = Some(FieldStatus::not_assessable(reason.clone()));
            }
        }
        match &self.bladder {
            Outcome::Measured(b) => {
                out.early_bladder_h = b.first_visible_h.map(|h| Hours(round(h, 3)));
                out.early_bladder_status = Some(if b.first_visible_h.is_some() {
                    BladderStatus::Seen
                } else {
                    BladderStatus::NotSeen
                });
                out.early_bladder_within_2_5h = window(b, b.windows_h.0, b.within_mhlw);
                out.early_bladder_within_3h = window(b, b.windows_h.1, b.within_gl2007);
            }
            Outcome::NotAssessable { reason } => {
                out.early_bladder_status = Some(BladderStatus::NotAssessable);
                out.early_bladder_h_status = Some(FieldStatus::not_assessable(reason.clone()));
            }
        }
        match &self.convexity {
            Outcome::Measured(c) => out.convexity_activity_24h = Some(c.present),
            Outcome::NotAssessable { reason } => {
                out.convexity_activity_24h_status =
                    Some(FieldStatus::not_assessable(reason.clone()));
            }
        }
        if let Outcome::Measured(list) = &self.accumulations {
            out.accumulations = list
                .iter()
                .map(|a| {
                    let f = input.frames.get(a.frame);
                    FAccumulation {
                        pattern: a.pattern,
                        level: Some(a.level),
                        side: Some(a.side),
                        evidence: vec![Evidence {
                            series_instance_uid: f.and_then(|f| f.series_instance_uid.clone()),
                            slice_index: f.and_then(|f| f.frame_index),
                            level: Some(a.level),
                            overlay: self.overlay_link(a.frame),
                            description: Some(format!(
                                "{} {}-{} at {:.1} h, asymmetry index {:.2}",
                                a.pattern.as_str(),
                                a.from_level,
                                a.to_level,
                                a.hours,
                                a.asymmetry_index
                            )),
                            ..Evidence::default()
                        }],
                        provenance: Some(provenance()),
                    }
                })
                .collect();
        }
        out.lateral_views = lateral_views;
        out.evidence = self.overlay_evidence(input);
        out.half_life_s = Some(self.half_life_s);
        out.curve_reference_h = self.reference_h.map(|h| Hours(round(h, 3)));
        out.curve_counts_unit = self.counts.first().map(|c| {
            if c.per_second {
                "counts_per_second"
            } else {
                "counts"
            }
            .to_owned()
        });
        out.curve = self.curve_points();
        out.provenance = Some(provenance());
        out
    }

    /// The overlay path (`overlays/<name>.png`) of the overlay drawn on input frame `frame`.
    fn overlay_link(&self, frame: usize) -> Option<String> {
        let k = self.overlay_frames.iter().position(|&f| f == frame)?;
        self.overlays
            .get(k)
            .map(|o| format!("overlays/{}.png", o.name))
    }

    /// One evidence entry per overlay: the ROIs on every time point and view, and the
    /// lateral views.
    fn overlay_evidence(&self, input: &CisternoInput) -> Vec<Evidence> {
        self.overlays
            .iter()
            .zip(&self.overlay_frames)
            .map(|(o, &i)| {
                let f = input.frames.get(i);
                Evidence {
                    series_instance_uid: f.and_then(|f| f.series_instance_uid.clone()),
                    slice_index: f.and_then(|f| f.frame_index),
                    overlay: Some(format!("overlays/{}.png", o.name)),
                    description: Some(o.title.clone()),
                    ..Evidence::default()
                }
            })
            .collect()
    }

    /// Lateral views in the findings vocabulary.
    fn lateral_views(&self, input: &CisternoInput) -> Vec<LateralView> {
        self.lateral_frames
            .iter()
            .filter_map(|&i| Some((i, input.frames.get(i)?)))
            .map(|(i, f)| LateralView {
                hours: Hours(round(f.hours, 3)),
                side: f.lateral_side,
                evidence: Some(Evidence {
                    series_instance_uid: f.series_instance_uid.clone(),
                    slice_index: f.frame_index,
                    overlay: self.overlay_link(i),
                    description: Some(
                        "lateral planar view: for confirmation of extrathecal activity by a \
                         reader; not counted"
                            .to_owned(),
                    ),
                    ..Evidence::default()
                }),
            })
            .collect()
    }

    /// The time-activity curve: every ROI, view and time point, raw and decay-corrected to
    /// the reference time; CSF percentages of the reference.
    fn curve_points(&self) -> Vec<CisternoCurvePoint> {
        let lambda_per_h = std::f64::consts::LN_2 / (self.half_life_s / 3600.0);
        let mut out = Vec::new();
        for c in &self.counts {
            let d = self
                .reference_h
                .map_or(1.0, |r| (-lambda_per_h * (c.hours - r)).exp());
            let csf_ref = self.reference_h.and_then(|r| {
                self.counts
                    .iter()
                    .find(|x| x.hours == r && x.view == c.view)
                    .map(|x| x.csf)
                    .filter(|v| *v > 0.0)
            });
            let rois = [
                (CisternoRoi::Csf, Some(c.csf)),
                (CisternoRoi::Intracranial, Some(c.intracranial)),
                (CisternoRoi::Convexity, Some(c.convexity)),
                (CisternoRoi::Bladder, c.bladder),
                (CisternoRoi::Kidneys, c.kidneys),
            ];
            for (roi, v) in rois {
                let Some(v) = v.filter(|v| v.is_finite()) else {
                    continue;
                };
                let pct = (roi == CisternoRoi::Csf)
                    .then_some(csf_ref)
                    .flatten()
                    .map(|r| 100.0 * v / r);
                out.push(CisternoCurvePoint {
                    hours: Hours(round(c.hours, 3)),
                    view: c.view,
                    roi,
                    counts: Counts(round(v, 3)),
                    decay_corrected_counts: Counts(round(v / d, 3)),
                    pct_of_reference: pct.map(|p| Pct(round(p, 2))),
                    pct_of_reference_decay_corrected: pct.map(|p| Pct(round(p / d, 2))),
                });
            }
        }
        out
    }
}

/// Whether the bladder was seen within a window of `limit_h` hours: `true` when seen by
/// then; `false` only when an image within the hour before the limit shows no bladder
/// activity; `None` (not assessable) when no image answers it.
fn window(b: &crate::analysis::Bladder, limit_h: f64, within: bool) -> Option<bool> {
    if within {
        return Some(true);
    }
    b.visible
        .iter()
        .any(|&(h, seen)| !seen && h <= limit_h + 1e-6 && h >= limit_h - 1.0)
        .then_some(false)
}

fn provenance() -> Provenance {
    Provenance::Automatic {
        series_instance_uid: None,
        slice_index: None,
        method: Some(METHOD.to_owned()),
    }
}

/// The view name used in findings (`anterior`, `posterior`, `geometric_mean`).
pub fn view_str(v: NmView) -> &'static str {
    match v {
        NmView::Anterior => "anterior",
        NmView::Posterior => "posterior",
        NmView::GeometricMean => "geometric_mean",
    }
}
