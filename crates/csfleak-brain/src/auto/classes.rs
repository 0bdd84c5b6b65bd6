//! Tissue classes of the patient's own head from the intensity histogram.

use serde::Serialize;

/// Representative intensities of the head's tissue classes (the image's own units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TissueClasses {
    /// Background / air / cortical bone level.
    pub dark: f64,
    /// CSF.
    pub csf: f64,
    /// Grey matter.
    pub grey: f64,
    /// White matter.
    pub white: f64,
}
