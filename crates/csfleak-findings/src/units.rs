//! Typed units: small `#[serde(transparent)]` newtypes over `f64`.
//!
//! The JSON keys that hold them carry the unit as a suffix (`_mm`, `_ml`, `_hu`, `_h`, `_deg`,
//! `_pct`, `_mmh2o`), because the type is lost on the wire. Only meaningful arithmetic is
//! implemented; there is no generic units framework.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! unit {
    ($(#[$doc:meta])* $name:ident, $suffix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub f64);

        impl $name {
            /// The value in this unit.
            pub const fn get(self) -> f64 {
                self.0
            }

            /// Whether the value is finite (not NaN or infinite).
            pub fn is_finite(self) -> bool {
                self.0.is_finite()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match f.precision() {
                    Some(p) => write!(f, "{:.*} {}", p, self.0, $suffix),
                    None => write!(f, "{} {}", self.0, $suffix),
                }
            }
        }

        impl std::ops::Add for $name {
            type Output = Self;
            fn add(self, rhs: Self) -> Self {
                Self(self.0 + rhs.0)
            }
        }

        impl std::ops::Sub for $name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                Self(self.0 - rhs.0)
            }
        }
    };
}

unit!(
    /// Millimetres (JSON suffix `_mm`).
    Mm, "mm"
);
unit!(
    /// Square millimetres (JSON suffix `_mm2`).
    Mm2, "mm²"
);
unit!(
    /// Millilitres (JSON suffix `_ml`).
    Ml, "mL"
);
unit!(
    /// Hounsfield units (JSON suffix `_hu`).
    Hu, "HU"
);
unit!(
    /// Hours, for RI cisternography: hours after tracer injection (JSON suffix `_h`).
    Hours, "h"
);
unit!(
    /// Percent, 0..100 (JSON suffix `_pct`).
    Pct, "%"
);
unit!(
    /// Degrees, used in reports only (JSON suffix `_deg`).
    Deg, "°"
);
unit!(
    /// Millimetres of water, for CSF opening pressure (JSON suffix `_mmh2o`).
    MmH2O, "mmH2O"
);
unit!(
    /// Detector counts (NM), per frame or normalised per unit time as the key says.
    Counts, "counts"
);

impl std::ops::Mul for Mm {
    type Output = Mm2;
    fn mul(self, rhs: Self) -> Mm2 {
        Mm2(self.0 * rhs.0)
    }
}

impl MmH2O {
    /// From centimetres of water (the seed reports "2 cmH2O").
    pub const fn from_cmh2o(cm: f64) -> Self {
        Self(cm * 10.0)
    }
}

impl Deg {
    /// From radians (internal angle representation).
    pub fn from_radians(rad: f64) -> Self {
        Self(rad.to_degrees())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_json() {
        assert_eq!(serde_json::to_string(&Mm(4.5)).unwrap(), "4.5");
        let v: Pct = serde_json::from_str("27").unwrap();
        assert_eq!(v, Pct(27.0));
    }

    #[test]
    fn arithmetic_and_display() {
        assert_eq!(Mm(2.0) * Mm(3.0), Mm2(6.0));
        assert_eq!(Mm(2.0) + Mm(3.0), Mm(5.0));
        assert_eq!(MmH2O::from_cmh2o(2.0), MmH2O(20.0));
        assert_eq!(format!("{:.1}", Mm(4.04)), "4.0 mm");
        assert!(Mm(1.0) < Mm(2.0));
    }
}
