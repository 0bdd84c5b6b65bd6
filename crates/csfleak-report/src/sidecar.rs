//! JSON sidecars beside NIfTI files, and PHI-free output names.
//!
//! A sidecar is one JSON object: BIDS-like keys at the top level where BIDS has one
//! (`Modality`, `SeriesDescription`, `EchoTime` in seconds, ...), csfleak's own series metadata
//! under `"csfleak"`. The caller (the `convert` command) decides the content; this module
//! writes it atomically and, as a last line of defence, removes every key that names a patient
//! identifier ([`IDENTIFIER_KEYS`]) at any depth, whatever its spelling (`PatientName`,
//! `patient_name`, `patientName`).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::atomic::write_atomically;
use crate::{Error, Result};

/// Keys never written, compared after lower-casing and dropping `_`, `-` and spaces.
pub const IDENTIFIER_KEYS: &[&str] = &[
    "patientname",
    "patientid",
    "patientbirthdate",
    "patientbirthtime",
    "patientbirthname",
    "patientmothersbirthname",
    "otherpatientids",
    "otherpatientidssequence",
    "otherpatientnames",
    "patientaddress",
    "patienttelephonenumbers",
    "accessionnumber",
    "issuerofpatientid",
    "medicalrecordlocator",
];

fn normalise_key(k: &str) -> String {
    k.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a JSON key names a patient identifier.
pub fn is_identifier_key(key: &str) -> bool {
    let k = normalise_key(key);
    IDENTIFIER_KEYS.contains(&k.as_str())
}

/// Remove identifier keys at any depth; returns how many were removed.
pub fn strip_identifiers(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !is_identifier_key(k));
            let mut removed = before - map.len();
            for v in map.values_mut() {
                removed += strip_identifiers(v);
            }
            removed
        }
        Value::Array(items) => items.iter_mut().map(strip_identifiers).sum(),
        _ => 0,
    }
}

/// Write a sidecar: identifier keys removed, pretty-printed, newline-terminated, atomically.
///
/// Returns how many identifier keys were dropped (0 when the caller did its job).
pub fn write_sidecar(path: &Path, sidecar: &Value) -> Result<usize> {
    let mut value = sidecar.clone();
    let removed = strip_identifiers(&mut value);
    let mut text = serde_json::to_vec_pretty(&value).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    text.push(b'\n');
    write_atomically(path, |w| std::io::Write::write_all(w, &text))?;
    Ok(removed)
}

/// A series description as a file-name part: ASCII letters, digits and `-` kept, every other
/// run of characters becomes one `_`, at most 40 characters; `"series"` when nothing is left
/// (e.g. a Japanese description).
pub fn sanitise(description: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in description.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c);
            if out.len() >= 40 {
                break;
            }
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        "series".to_owned()
    } else {
        out
    }
}

/// The output file stem of a series: `<number>_<description>_<hash>`, e.g. `0005_T2_FS_AX_3f9c2a1b`.
///
/// `key` is what makes the series unique (Series Instance UID plus any split suffix); only its
/// hash (first 8 hex digits of SHA-256) appears. Patient names never enter a file name: callers
/// pass the series number, the series description and the UID only.
pub fn output_stem(series_number: Option<i64>, description: &str, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hash = digest.iter().take(4).fold(String::new(), |mut acc, b| {
        let _ = write!(acc, "{b:02x}");
        acc
    });
    let number = series_number.map_or_else(|| "x".to_owned(), |n| format!("{n:04}"));
    format!("{number}_{}_{hash}", sanitise(description))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_are_removed_at_any_depth() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let v = json!({
            "Modality": "MR",
            "PatientName": "x",
            "csfleak": {"patient_id": "y", "frames": [{"PatientBirthDate": "z", "ok": 1}]},
            "accessionNumber": "w"
        });
        let removed = write_sidecar(&p, &v).unwrap();
        assert_eq!(removed, 4);
        let back: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(
            back,
            json!({"Modality": "MR", "csfleak": {"frames": [{"ok": 1}]}})
        );
    }

    #[test]
    fn stems_are_sanitised_and_unique_per_key() {
        let a = output_stem(Some(5), "T2 FS  AX/ (spine)", "1.2.3");
        assert!(a.starts_with("0005_T2_FS_AX_spine_"), "{a}");
        assert_eq!(a.len(), "0005_T2_FS_AX_spine_".len() + 8);
        assert_ne!(a, output_stem(Some(5), "T2 FS  AX/ (spine)", "1.2.3#2"));
        assert_eq!(a, output_stem(Some(5), "T2 FS  AX/ (spine)", "1.2.3"));
        assert!(output_stem(None, "脊椎 T2", "u").starts_with("x_T2_"));
        assert!(output_stem(Some(1), "脊椎", "u").starts_with("0001_series_"));
        assert!(sanitise(&"a".repeat(100)).len() <= 40);
        assert!(
            output_stem(Some(-3), "../../etc", "u")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
    }
}
