//! Deterministic identifiers and the study context shared by every series of a phantom study.
//!
//! Nothing here reads the clock or an entropy source: every UID, date and name is a function of
//! the seed and a path-like key, so the same seed gives byte-identical files.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// SHA-256 of a domain tag, the seed and a key.
fn digest(domain: &[u8], seed: u64, key: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain);
    h.update([0]);
    h.update(seed.to_le_bytes());
    h.update(key.as_bytes());
    h.finalize().into()
}

/// A UID `2.25.<decimal of a 128-bit hash of seed and key>` (PS3.5 B.2).
///
/// `key` names the object, e.g. `"study"`, `"series/spine/t2fs_ax"`,
/// `"series/spine/t2fs_ax/instance/12"`. At most 44 characters, well below the 64 allowed.
pub fn uid(seed: u64, key: &str) -> String {
    let d = digest(b"csfleak-phantom/uid", seed, key);
    let mut b = [0_u8; 16];
    b.copy_from_slice(&d[..16]);
    format!("2.25.{}", u128::from_be_bytes(b))
}

/// A 64-bit hash of seed and key (file names, sub-seeds).
pub fn hash64(seed: u64, key: &str) -> u64 {
    let d = digest(b"csfleak-phantom/hash64", seed, key);
    let mut b = [0_u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

/// A random number generator seeded from the study seed and a key.
///
/// Give each independent stream (a series, a slice) its own key, so that results do not depend
/// on the order or the thread in which the streams are drawn.
pub fn rng_for(seed: u64, key: &str) -> ChaCha8Rng {
    let mut s = [0_u8; 32];
    s.copy_from_slice(&digest(b"csfleak-phantom/rng", seed, key));
    ChaCha8Rng::from_seed(s)
}

/// Scanner vendor: manufacturer and model names written into the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Vendor {
    /// Siemens Healthineers.
    #[default]
    Siemens,
    /// GE `HealthCare`.
    Ge,
    /// Philips.
    Philips,
    /// Canon Medical.
    Canon,
}

impl Vendor {
    /// All vendors, for seeded choice.
    pub const ALL: [Vendor; 4] = [Vendor::Siemens, Vendor::Ge, Vendor::Philips, Vendor::Canon];

    /// Manufacturer (0008,0070).
    pub fn manufacturer(self) -> &'static str {
        match self {
            Vendor::Siemens => "SIEMENS",
            Vendor::Ge => "GE MEDICAL SYSTEMS",
            Vendor::Philips => "Philips Medical Systems",
            Vendor::Canon => "CANON_MEC",
        }
    }

    /// Manufacturer's Model Name (0008,1090) of an MR or a CT scanner.
    pub fn model(self, ct: bool) -> &'static str {
        match (self, ct) {
            (Vendor::Siemens, false) => "Skyra",
            (Vendor::Siemens, true) => "SOMATOM Definition AS+",
            (Vendor::Ge, false) => "SIGNA Architect",
            (Vendor::Ge, true) => "Revolution CT",
            (Vendor::Philips, false) => "Ingenia",
            (Vendor::Philips, true) => "iCT 256",
            (Vendor::Canon, false) => "Vantage Orian",
            (Vendor::Canon, true) => "Aquilion ONE",
        }
    }

    /// A vendor chosen from the seed and a key.
    pub fn pick(seed: u64, key: &str) -> Self {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "the remainder is below 4 and fits usize"
        )]
        let i = (hash64(seed, key) % 4) as usize;
        Self::ALL[i]
    }
}

/// Study-level attributes shared by every series of one phantom study.
///
/// The patient is synthetic (`PHANTOM^<n>`); nothing here identifies a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StudyContext {
    /// The seed everything is derived from.
    pub seed: u64,
    /// Study Instance UID.
    pub study_instance_uid: String,
    /// Study ID (0020,0010).
    pub study_id: String,
    /// Study Date, `YYYYMMDD`.
    pub study_date: String,
    /// Study Time, `HHMMSS`.
    pub study_time: String,
    /// Institution Name.
    pub institution_name: String,
    /// Patient's Name, `PHANTOM^<n>`.
    pub patient_name: String,
    /// Patient ID.
    pub patient_id: String,
    /// Patient's Birth Date, `YYYYMMDD`.
    pub patient_birth_date: String,
    /// Patient's Sex, `F` or `M`.
    pub patient_sex: String,
    /// Age in years at the study date.
    pub patient_age_years: u32,
    /// Accession Number.
    pub accession_number: String,
    /// Study Description.
    pub study_description: String,
}

impl StudyContext {
    /// The study context of a seed: UIDs, date and synthetic patient all derived from it.
    pub fn new(seed: u64) -> Self {
        let h = hash64(seed, "study/attributes");
        let month = 1 + h % 12;
        let day = 1 + (h >> 8) % 28;
        let hour = 8 + (h >> 16) % 10;
        let minute = (h >> 24) % 60;
        let age = 25 + (h >> 32) % 50;
        let year = 2026;
        let sex = if (h >> 40) % 2 == 0 { "F" } else { "M" };
        let n = seed % 100_000;
        #[allow(
            clippy::cast_possible_truncation,
            reason = "age is below 75 by construction"
        )]
        let patient_age_years = age as u32;
        Self {
            seed,
            study_instance_uid: uid(seed, "study"),
            study_id: format!("{}", 1000 + (h >> 44) % 9000),
            study_date: format!("{year:04}{month:02}{day:02}"),
            study_time: format!("{hour:02}{minute:02}00"),
            institution_name: "Synthetic Imaging Center".to_owned(),
            patient_name: format!("PHANTOM^{n}"),
            patient_id: format!("PH{n:06}"),
            patient_birth_date: format!("{:04}{month:02}{day:02}", year - age),
            patient_sex: sex.to_owned(),
            patient_age_years,
            accession_number: format!("A{:08}", (h >> 20) % 100_000_000),
            study_description: "CSF leak work-up".to_owned(),
        }
    }

    /// Replace the study description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.study_description = description.into();
        self
    }

    /// A UID of this study's seed for an object key (see [`uid`]).
    pub fn uid(&self, key: &str) -> String {
        uid(self.seed, key)
    }

    /// Study date as `YYYY-MM-DD` (the findings vocabulary).
    pub fn study_date_iso(&self) -> String {
        let d = &self.study_date;
        if d.len() == 8 {
            format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
        } else {
            d.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_deterministic_valid_and_distinct() {
        let a = uid(7, "study");
        assert_eq!(a, uid(7, "study"));
        assert_ne!(a, uid(8, "study"));
        assert_ne!(a, uid(7, "series/1"));
        assert!(a.starts_with("2.25."));
        assert!(a.len() <= 64);
        // Components are decimal without leading zeros (PS3.5 9.1).
        for comp in a.split('.') {
            assert!(comp.chars().all(|c| c.is_ascii_digit()));
            assert!(comp == "0" || !comp.starts_with('0'));
        }
    }

    #[test]
    fn study_context_depends_only_on_the_seed() {
        let a = StudyContext::new(42);
        assert_eq!(a, StudyContext::new(42));
        assert_ne!(
            a.study_instance_uid,
            StudyContext::new(43).study_instance_uid
        );
        assert_eq!(a.patient_name, "PHANTOM^42");
        assert_eq!(a.study_date.len(), 8);
        assert_eq!(a.study_date_iso().len(), 10);
    }

    #[test]
    fn rng_streams_are_reproducible() {
        use rand::Rng;
        let x: u64 = rng_for(1, "a").random();
        let y: u64 = rng_for(1, "a").random();
        let z: u64 = rng_for(1, "b").random();
        assert_eq!(x, y);
        assert_ne!(x, z);
    }
}
