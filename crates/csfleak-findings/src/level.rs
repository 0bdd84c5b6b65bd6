//! Spinal levels: vertebrae (`"L4"`) and disc levels (`"L3/4"`, `"L5/S1"`), with ordering and
//! level-distance arithmetic.
//!
//! A level is placed on the vertebral index axis (C1 = 0 ... S5 = 28). A vertebra occupies one
//! index; a disc level touches both vertebrae it lies between, so it is the interval
//! `[upper, upper + 1]`. The distance between two levels (or level ranges) is the number of
//! vertebral steps between the nearest ends of their intervals: `L4` to `L5` is 1, `L3/4` to
//! `L4` is 0 (the disc touches L4), `L3/4` to `L5` is 1, `L3` to `L5` is 2. This is the distance
//! the criteria compare against a level tolerance.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// Spinal region of a vertebra.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    /// Cervical, C1..C7.
    Cervical,
    /// Thoracic, T1..T12.
    Thoracic,
    /// Lumbar, L1..L5.
    Lumbar,
    /// Sacral, S1..S5.
    Sacral,
}

impl Region {
    const fn letter(self) -> char {
        match self {
            Self::Cervical => 'C',
            Self::Thoracic => 'T',
            Self::Lumbar => 'L',
            Self::Sacral => 'S',
        }
    }

    const fn count(self) -> u8 {
        match self {
            Self::Cervical => 7,
            Self::Thoracic => 12,
            Self::Lumbar | Self::Sacral => 5,
        }
    }

    const fn first_index(self) -> u8 {
        match self {
            Self::Cervical => 0,
            Self::Thoracic => 7,
            Self::Lumbar => 19,
            Self::Sacral => 24,
        }
    }

    fn from_letter(c: char) -> Option<Self> {
        match c.to_ascii_uppercase() {
            'C' => Some(Self::Cervical),
            'T' => Some(Self::Thoracic),
            'L' => Some(Self::Lumbar),
            'S' => Some(Self::Sacral),
            _ => None,
        }
    }
}

/// One vertebra, C1..S5, ordered cranio-caudally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vertebra(u8);

impl Vertebra {
    /// Number of vertebrae on the axis (C1..C7, T1..T12, L1..L5, S1..S5).
    pub const COUNT: u8 = 29;

    /// The vertebra `number` (1-based) of `region`, if it exists.
    pub const fn new(region: Region, number: u8) -> Option<Self> {
        if number == 0 || number > region.count() {
            None
        } else {
            Some(Self(region.first_index() + number - 1))
        }
    }

    /// Position on the cranio-caudal axis, C1 = 0 ... S5 = 28.
    pub const fn index(self) -> u8 {
        self.0
    }

    /// The vertebra at `index` (C1 = 0).
    pub const fn from_index(index: u8) -> Option<Self> {
        if index < Self::COUNT {
            Some(Self(index))
        } else {
            None
        }
    }

    /// Region of this vertebra.
    pub const fn region(self) -> Region {
        match self.0 {
            0..=6 => Region::Cervical,
            7..=18 => Region::Thoracic,
            19..=23 => Region::Lumbar,
            _ => Region::Sacral,
        }
    }

    /// 1-based number within the region (L4 -> 4).
    pub const fn number(self) -> u8 {
        self.0 - self.region().first_index() + 1
    }

    /// The next vertebra caudally, if any.
    pub const fn next(self) -> Option<Self> {
        Self::from_index(self.0 + 1)
    }
}

impl fmt::Display for Vertebra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.region().letter(), self.number())
    }
}

/// A spinal level as used in findings: a vertebra (`"L4"`) or the disc level below a vertebra
/// (`"L3/4"`, `"L5/S1"`, `"C7/T1"`).
///
/// Ordering is cranio-caudal: `L3 < L3/4 < L4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// A vertebral body level.
    Vertebra(Vertebra),
    /// The disc (interspace) between this vertebra and the next one caudally.
    Disc(Vertebra),
}

impl Level {
    /// Half-step position: vertebra `2i`, disc below vertebra i `2i + 1`.
    const fn half_position(self) -> u16 {
        match self {
            Self::Vertebra(v) => 2 * v.0 as u16,
            Self::Disc(v) => 2 * v.0 as u16 + 1,
        }
    }

    /// The vertebral index interval this level touches (a disc touches both neighbours).
    pub const fn span(self) -> (u8, u8) {
        match self {
            Self::Vertebra(v) => (v.0, v.0),
            Self::Disc(v) => (v.0, v.0 + 1),
        }
    }

    /// Distance in vertebral levels between two levels (see the module docs); 0 when they touch.
    pub fn distance(self, other: Self) -> u8 {
        span_distance(self.span(), other.span())
    }

    /// Region of the (upper) vertebra.
    pub const fn region(self) -> Region {
        match self {
            Self::Vertebra(v) | Self::Disc(v) => v.region(),
        }
    }

    /// Parse strictly; same as [`str::parse`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        text.parse()
    }
}

/// Distance between two vertebral index intervals: 0 when they overlap or touch.
pub fn span_distance(a: (u8, u8), b: (u8, u8)) -> u8 {
    b.0.saturating_sub(a.1).max(a.0.saturating_sub(b.1))
}

/// The vertebral index interval covered by a level range `from..=to` (either order).
pub fn range_span(from: Level, to: Level) -> (u8, u8) {
    let (a, b) = (from.span(), to.span());
    (a.0.min(b.0), a.1.max(b.1))
}

impl PartialOrd for Level {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Level {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.half_position().cmp(&other.half_position())
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vertebra(v) => write!(f, "{v}"),
            Self::Disc(v) => {
                // Disc(v) is only constructed when v has a caudal neighbour.
                let below = v.next().unwrap_or(*v);
                if below.region() == v.region() {
                    write!(f, "{v}/{}", below.number())
                } else {
                    write!(f, "{v}/{below}")
                }
            }
        }
    }
}

fn parse_vertebra(text: &str, default_region: Option<Region>) -> Option<Vertebra> {
    let t = text.trim();
    let mut chars = t.chars();
    let first = chars.next()?;
    let (region, digits) = if first.is_ascii_digit() {
        (default_region?, t)
    } else {
        let rest = chars.as_str();
        // "Th12" is a common spelling of T12.
        let rest = rest.strip_prefix(['h', 'H']).unwrap_or(rest);
        (Region::from_letter(first)?, rest)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 2 {
        return None;
    }
    let n: u8 = digits.parse().ok()?;
    Vertebra::new(region, n)
}

impl FromStr for Level {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidLevel { text: s.to_owned() };
        let t = s.trim();
        if let Some((a, b)) = t.split_once(['/', '-']) {
            let upper = parse_vertebra(a, None).ok_or_else(bad)?;
            let lower = parse_vertebra(b, Some(upper.region())).ok_or_else(bad)?;
            if upper.next() != Some(lower) {
                return Err(bad());
            }
            Ok(Self::Disc(upper))
        } else {
            parse_vertebra(t, None).map(Self::Vertebra).ok_or_else(bad)
        }
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text: Cow<'de, str> = Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Level {
    fn schema_name() -> Cow<'static, str> {
        "Level".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Spinal level: a vertebra \"C1\"..\"C7\", \"T1\"..\"T12\", \"L1\"..\"L5\", \"S1\"..\"S5\", or a disc level such as \"L3/4\", \"L5/S1\", \"C7/T1\"",
            "pattern": "^([CTLS][0-9]{1,2})(/([CTLS]?[0-9]{1,2}))?$",
            "examples": ["L4", "L3/4", "T12/L1"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Level {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display_roundtrip() {
        for s in [
            "C1", "C2", "C7", "T1", "T12", "L1", "L5", "S1", "S5", "L3/4", "L5/S1", "C7/T1",
            "T12/L1", "C2/3",
        ] {
            assert_eq!(l(s).to_string(), s);
        }
        assert_eq!(l("L3/L4").to_string(), "L3/4");
        assert_eq!(l("L3-4").to_string(), "L3/4");
        assert_eq!(l("Th12").to_string(), "T12");
        assert_eq!(l(" l4 ").to_string(), "L4");
    }

    #[test]
    fn every_level_roundtrips_in_order() {
        let mut all = Vec::new();
        for i in 0..Vertebra::COUNT {
            let v = Vertebra::from_index(i).unwrap();
            assert_eq!(Vertebra::new(v.region(), v.number()), Some(v));
            all.push(Level::Vertebra(v));
            if v.next().is_some() {
                all.push(Level::Disc(v));
            }
        }
        assert_eq!(all.len(), 29 + 28);
        for w in all.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
        }
        for l in &all {
            assert_eq!(l.to_string().parse::<Level>().unwrap(), *l);
            assert_eq!(l.distance(*l), 0);
        }
        assert_eq!(Vertebra::from_index(Vertebra::COUNT), None);
    }

    #[test]
    fn rejects_bad_levels() {
        for s in [
            "", "L6", "C0", "T13", "X1", "L3/5", "L4/3", "S5/6", "L", "4", "L3/", "L123",
        ] {
            assert!(s.parse::<Level>().is_err(), "{s} should not parse");
        }
    }

    #[test]
    fn ordering_is_craniocaudal() {
        assert!(l("C7") < l("C7/T1"));
        assert!(l("C7/T1") < l("T1"));
        assert!(l("T12") < l("L1"));
        assert!(l("L5") < l("L5/S1"));
        assert!(l("L5/S1") < l("S1"));
    }

    #[test]
    fn distances() {
        assert_eq!(l("L4").distance(l("L5")), 1);
        assert_eq!(l("L3").distance(l("L5")), 2);
        assert_eq!(l("L3/4").distance(l("L4")), 0);
        assert_eq!(l("L3/4").distance(l("L3")), 0);
        assert_eq!(l("L3/4").distance(l("L5")), 1);
        assert_eq!(l("L3/4").distance(l("L2")), 1);
        assert_eq!(l("T12").distance(l("L1")), 1);
        assert_eq!(l("C2").distance(l("S1")), 23);
        assert_eq!(
            span_distance(range_span(l("T10"), l("T12")), l("L2").span()),
            2
        );
        assert_eq!(
            span_distance(range_span(l("L2"), l("T10")), l("T11").span()),
            0
        );
    }

    #[test]
    fn serde_as_string() {
        assert_eq!(serde_json::to_string(&l("L5/S1")).unwrap(), "\"L5/S1\"");
        let e = serde_json::from_str::<Level>("\"L9\"").unwrap_err();
        assert!(e.to_string().contains("L9"), "{e}");
    }
}
