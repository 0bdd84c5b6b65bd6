//! Bern score items (Dobrocky 2019; clinical.md §4.1) with the raw values kept and borderline
//! flags.
//!
//! A millimetre item is *borderline* when its value lies within `k` standard uncertainties of the
//! threshold (`|value - threshold| <= k * uncertainty`): in normal brains these items are
//! positive 28-53 % of the time, so a reader must see how close to the cut-off a value is.

use serde::{Deserialize, Serialize};

use crate::measure::Measured;

/// One Bern score item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BernItemId {
    /// Pachymeningeal enhancement (major, 2 points).
    PachymeningealEnhancement,
    /// Engorgement of the venous sinus (major, 2 points).
    VenousEngorgement,
    /// Suprasellar cistern <= 4.0 mm (major, 2 points).
    SuprasellarCistern,
    /// Subdural fluid collection (minor, 1 point).
    SubduralFluid,
    /// Prepontine cistern <= 5.0 mm (minor, 1 point).
    PrepontineCistern,
    /// Mamillopontine distance <= 6.5 mm (minor, 1 point).
    MamillopontineDistance,
}

impl BernItemId {
    /// Points when positive.
    pub const fn points(self) -> u8 {
        match self {
            Self::PachymeningealEnhancement
            | Self::VenousEngorgement
            | Self::SuprasellarCistern => 2,
            Self::SubduralFluid | Self::PrepontineCistern | Self::MamillopontineDistance => 1,
        }
    }

    /// The snake-case id (as serialised).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PachymeningealEnhancement => "pachymeningeal_enhancement",
            Self::VenousEngorgement => "venous_engorgement",
            Self::SuprasellarCistern => "suprasellar_cistern",
            Self::SubduralFluid => "subdural_fluid",
            Self::PrepontineCistern => "prepontine_cistern",
            Self::MamillopontineDistance => "mamillopontine_distance",
        }
    }

    /// The threshold in mm (positive at or below), for the millimetre items.
    pub const fn threshold_mm(self) -> Option<f64> {
        match self {
            Self::SuprasellarCistern => Some(4.0),
            Self::PrepontineCistern => Some(5.0),
            Self::MamillopontineDistance => Some(6.5),
            _ => None,
        }
    }
}

/// The outcome of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BernItem {
    /// Which item.
    pub id: BernItemId,
    /// Points if positive.
    pub points: u8,
    /// Positive, negative, or `None` (not assessable).
    pub positive: Option<bool>,
    /// The raw value (mm) for the millimetre items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_mm: Option<f64>,
    /// Its uncertainty (1 sd, mm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty_mm: Option<f64>,
    /// Threshold (mm), positive at or below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_mm: Option<f64>,
    /// Within the measurement uncertainty of the threshold.
    pub borderline: bool,
    /// Why not assessable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A yes/no sign as measured from the images (venous distension, enhancement, subdural fluid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sign {
    /// Present, absent, or `None` = not assessable.
    pub present: Option<bool>,
    /// The measure behind the decision (unit named by `measure_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<f64>,
    /// What `measure` is, e.g. `"dura_to_cortex_ratio"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure_name: Option<String>,
    /// Decision threshold on `measure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Confidence in `[0, 1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Close to the decision threshold.
    pub borderline: bool,
    /// Side (`"left"`, `"right"`, `"bilateral"`) where it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    /// Why not assessable (or a remark on an assessed sign).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Sign {
    /// A not-assessable sign.
    pub fn not_assessable(reason: impl Into<String>) -> Self {
        Self {
            present: None,
            measure: None,
            measure_name: None,
            threshold: None,
            confidence: None,
            borderline: false,
            side: None,
            reason: Some(reason.into()),
        }
    }
}

/// All six items and the score range they allow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BernItems {
    /// The items, in the table order of clinical.md §4.1.
    pub items: Vec<BernItem>,
    /// Sum of the positive items (not-assessable items count 0).
    pub score_min: u8,
    /// `score_min` plus the points of every not-assessable item.
    pub score_max: u8,
    /// The score when every item is assessable.
    pub score: Option<u8>,
    /// Points of borderline items (positive or negative); a score this close to a band edge
    /// may change with a repeat measurement.
    pub borderline_points: u8,
}

fn mm_item(id: BernItemId, m: &Measured, k_sigma: f64) -> BernItem {
    let threshold = id.threshold_mm();
    match (m, threshold) {
        (
            Measured::Value {
                value, uncertainty, ..
            },
            Some(t),
        ) => BernItem {
            id,
            points: id.points(),
            positive: Some(*value <= t),
            value_mm: Some(*value),
            uncertainty_mm: Some(*uncertainty),
            threshold_mm: Some(t),
            borderline: (value - t).abs() <= k_sigma * uncertainty,
            reason: None,
        },
        _ => BernItem {
            id,
            points: id.points(),
            positive: None,
            value_mm: None,
            uncertainty_mm: None,
            threshold_mm: threshold,
            borderline: false,
            reason: Some(m.reason().unwrap_or("not measured").to_owned()),
        },
    }
}

fn sign_item(id: BernItemId, s: &Sign) -> BernItem {
    BernItem {
        id,
        points: id.points(),
        positive: s.present,
        value_mm: None,
        uncertainty_mm: None,
        threshold_mm: None,
        borderline: s.borderline,
        reason: s.reason.clone(),
    }
}

/// The inputs of the Bern score.
#[derive(Debug, Clone, Copy)]
pub struct BernInputs<'a> {
    /// Pachymeningeal enhancement.
    pub pachymeningeal_enhancement: &'a Sign,
    /// Venous distension sign.
    pub venous_distension: &'a Sign,
    /// Subdural fluid.
    pub subdural_fluid: &'a Sign,
    /// Suprasellar cistern.
    pub suprasellar_cistern_mm: &'a Measured,
    /// Prepontine cistern.
    pub prepontine_cistern_mm: &'a Measured,
    /// Mamillopontine distance.
    pub mamillopontine_distance_mm: &'a Measured,
}

/// Score the items; `k_sigma` sets the borderline band (`|value - threshold| <= k * sd`).
pub fn bern_items(inp: &BernInputs<'_>, k_sigma: f64) -> BernItems {
    let items = vec![
        sign_item(
            BernItemId::PachymeningealEnhancement,
            inp.pachymeningeal_enhancement,
        ),
        sign_item(BernItemId::VenousEngorgement, inp.venous_distension),
        mm_item(
            BernItemId::SuprasellarCistern,
            inp.suprasellar_cistern_mm,
            k_sigma,
        ),
        sign_item(BernItemId::SubduralFluid, inp.subdural_fluid),
        mm_item(
            BernItemId::PrepontineCistern,
            inp.prepontine_cistern_mm,
            k_sigma,
        ),
        mm_item(
            BernItemId::MamillopontineDistance,
            inp.mamillopontine_distance_mm,
            k_sigma,
        ),
    ];
    let sum = |f: &dyn Fn(&BernItem) -> bool| -> u8 {
        items.iter().filter(|i| f(i)).map(|i| i.points).sum()
    };
    let score_min = sum(&|i| i.positive == Some(true));
    let score_max = score_min + sum(&|i| i.positive.is_none());
    let all = items.iter().all(|i| i.positive.is_some());
    BernItems {
        score_min,
        score_max,
        score: all.then_some(score_min),
        borderline_points: sum(&|i| i.borderline),
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mm(v: f64, u: f64) -> Measured {
        Measured::Value {
            value: v,
            uncertainty: u,
            landmarks: Vec::new(),
        }
    }

    fn sign(p: Option<bool>) -> Sign {
        Sign {
            present: p,
            ..Sign::not_assessable("x")
        }
    }

    #[test]
    fn thresholds_inclusive_and_borderline() {
        let (pme, ven, sdf) = (sign(Some(true)), sign(Some(false)), sign(None));
        let (ss, pp, mpd) = (mm(4.0, 0.3), mm(5.6, 0.3), mm(6.9, 0.3));
        let b = bern_items(
            &BernInputs {
                pachymeningeal_enhancement: &pme,
                venous_distension: &ven,
                subdural_fluid: &sdf,
                suprasellar_cistern_mm: &ss,
                prepontine_cistern_mm: &pp,
                mamillopontine_distance_mm: &mpd,
            },
            1.0,
        );
        let get = |id| b.items.iter().find(|i| i.id == id).unwrap();
        assert_eq!(get(BernItemId::SuprasellarCistern).positive, Some(true));
        assert!(get(BernItemId::SuprasellarCistern).borderline);
        assert_eq!(get(BernItemId::PrepontineCistern).positive, Some(false));
        assert!(!get(BernItemId::PrepontineCistern).borderline);
        assert_eq!(
            get(BernItemId::MamillopontineDistance).positive,
            Some(false)
        );
        assert!(!get(BernItemId::MamillopontineDistance).borderline);
        assert_eq!(b.score_min, 4);
        assert_eq!(b.score_max, 5);
        assert_eq!(b.score, None);
        assert_eq!(b.borderline_points, 2);
    }
}
