//! Calendar dates as `"YYYY-MM-DD"` strings, with day arithmetic for clinical time windows.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A proleptic Gregorian calendar date (`"YYYY-MM-DD"`; DICOM `YYYYMMDD` is accepted on input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

const fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

const fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// A date, if it exists in the calendar (years 1..=9999).
    pub const fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        if year < 1 || year > 9999 || month == 0 || month > 12 || day == 0 {
            return None;
        }
        if day > days_in_month(year, month) {
            return None;
        }
        Some(Self { year, month, day })
    }

    /// Year.
    pub const fn year(self) -> i32 {
        self.year
    }

    /// Month, 1..=12.
    pub const fn month(self) -> u8 {
        self.month
    }

    /// Day of month, 1..=31.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before); H. Hinnant's `days_from_civil`.
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// `self - earlier` in days (negative if `earlier` is later).
    pub fn days_after(self, earlier: Self) -> i64 {
        self.days_since_epoch() - earlier.days_since_epoch()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidDate { text: s.to_owned() };
        let t = s.trim();
        let (y, m, d) = match t.len() {
            10 if t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-' => {
                (&t[0..4], &t[5..7], &t[8..10])
            }
            8 => (&t[0..4], &t[4..6], &t[6..8]),
            _ => return Err(bad()),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !(all_digits(y) && all_digits(m) && all_digits(d)) {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u8 = m.parse().map_err(|_| bad())?;
        let d: u8 = d.parse().map_err(|_| bad())?;
        Self::new(y, m, d).ok_or_else(bad)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DateVisitor)
    }
}

/// Accepts a string, or a one-entry map holding the string (how TOML hands over a bare
/// `date = 2026-01-05`).
struct DateVisitor;

impl<'de> serde::de::Visitor<'de> for DateVisitor {
    type Value = Date;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date \"YYYY-MM-DD\"")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Date, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Date, A::Error> {
        let Some((_, text)) = map.next_entry::<Cow<'de, str>, Cow<'de, str>>()? else {
            return Err(serde::de::Error::custom("expected a date \"YYYY-MM-DD\""));
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date",
            "description": "Calendar date \"YYYY-MM-DD\"",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display() {
        let d: Date = "2026-02-28".parse().unwrap();
        assert_eq!(d.to_string(), "2026-02-28");
        let d: Date = "20240229".parse().unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "abcd-ef-gh",
            "",
            "2026-04-31",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }

    #[test]
    fn day_arithmetic() {
        let a: Date = "1970-01-01".parse().unwrap();
        assert_eq!(a.days_since_epoch(), 0);
        let b: Date = "2000-03-01".parse().unwrap();
        let c: Date = "2000-02-28".parse().unwrap();
        assert_eq!(b.days_after(c), 2);
        let d: Date = "2026-01-05".parse().unwrap();
        let e: Date = "2025-12-31".parse().unwrap();
        assert_eq!(d.days_after(e), 5);
        assert_eq!(e.days_after(d), -5);
    }
}
