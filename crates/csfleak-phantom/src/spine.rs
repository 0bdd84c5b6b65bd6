//! Spine phantoms: MRI (fat-suppressed T2, MR myelography, contrast T1) and CT myelography.

use crate::scenario::Scenario;

/// The spine scenarios.
pub(crate) fn scenarios() -> Vec<Scenario> {
    Vec::new()
}
