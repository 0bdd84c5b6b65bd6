//! The MHLW grade vocabulary (clinical.md §0.2).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A grade of the Japanese MHLW 2011 criteria, ordered from 参考 (lowest) to 確定 (highest).
/// "No grade" is `Option::None` (`null` in JSON).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Grade {
    /// 参考: reference/supportive only, not counted toward a grade.
    #[serde(rename = "参考")]
    Reference,
    /// 疑: suspected.
    #[serde(rename = "疑")]
    Suspected,
    /// 強疑: strongly suspected.
    #[serde(rename = "強疑")]
    StronglySuspected,
    /// 確実: definite.
    #[serde(rename = "確実")]
    Definite,
    /// 確定: definitive (confirmed).
    #[serde(rename = "確定")]
    Definitive,
}

impl Grade {
    /// Japanese name (the JSON spelling).
    pub const fn ja(self) -> &'static str {
        match self {
            Self::Reference => "参考",
            Self::Suspected => "疑",
            Self::StronglySuspected => "強疑",
            Self::Definite => "確実",
            Self::Definitive => "確定",
        }
    }

    /// English name used in the spec.
    pub const fn en(self) -> &'static str {
        match self {
            Self::Reference => "reference only",
            Self::Suspected => "suspected",
            Self::StronglySuspected => "strongly suspected",
            Self::Definite => "definite",
            Self::Definitive => "definitive",
        }
    }

    /// Parse the Japanese spelling.
    pub fn from_ja(s: &str) -> Option<Self> {
        match s {
            "参考" => Some(Self::Reference),
            "疑" | "疑い" => Some(Self::Suspected),
            "強疑" => Some(Self::StronglySuspected),
            "確実" => Some(Self::Definite),
            "確定" => Some(Self::Definitive),
            _ => None,
        }
    }

    /// Whether the grade counts toward a diagnosis (疑 or higher; 参考 does not).
    pub const fn counts(self) -> bool {
        !matches!(self, Self::Reference)
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.ja(), self.en())
    }
}

/// `"確実 (definite)"`, or `"none"` for no grade.
pub fn describe(g: Option<Grade>) -> String {
    g.map_or_else(|| "none".to_owned(), |g| g.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_spelling() {
        assert!(Grade::Reference < Grade::Suspected);
        assert!(Grade::Suspected < Grade::StronglySuspected);
        assert!(Grade::StronglySuspected < Grade::Definite);
        assert!(Grade::Definite < Grade::Definitive);
        assert_eq!(serde_json::to_string(&Grade::Definite).unwrap(), "\"確実\"");
        for g in [
            Grade::Reference,
            Grade::Suspected,
            Grade::StronglySuspected,
            Grade::Definite,
            Grade::Definitive,
        ] {
            assert_eq!(Grade::from_ja(g.ja()), Some(g));
        }
        assert_eq!(describe(None), "none");
        assert_eq!(describe(Some(Grade::Definitive)), "確定 (definitive)");
    }
}
