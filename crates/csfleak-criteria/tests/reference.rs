//! The checker against a second, deliberately naive implementation of clinical.md §2.8 over
//! thousands of random finding combinations (no punctures, so §2.8 applies literally).

use csfleak_criteria::{ClinicalContext, Grade, RuleSet, assess};
use csfleak_findings::{Findings, Level};
use serde_json::json;

/// Small deterministic generator (`SplitMix64`), so failures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn tri(&mut self) -> Option<bool> {
        match self.below(3) {
            0 => Some(true),
            1 => Some(false),
            _ => None,
        }
    }

    fn level(&mut self) -> Level {
        // C2..S1 = vertebra indices 1..=24
        let i = u8::try_from(1 + self.below(24)).expect("small");
        let v = csfleak_findings::Vertebra::from_index(i).expect("in range");
        if self.below(4) == 0 && i < 24 {
            Level::Disc(v)
        } else {
            Level::Vertebra(v)
        }
    }

    fn side(&mut self) -> Option<&'static str> {
        match self.below(5) {
            0 => Some("left"),
            1 => Some("right"),
            2 => Some("midline"),
            3 => Some("bilateral"),
            _ => None,
        }
    }
}

fn side_conflict(a: Option<&str>, b: Option<&str>) -> bool {
    matches!(
        (a, b),
        (Some("left"), Some("right")) | (Some("right"), Some("left"))
    )
}

/// Vertebral interval of a level (a disc touches both neighbours).
fn interval(l: Level) -> (i32, i32) {
    let (a, b) = l.span();
    (i32::from(a), i32::from(b))
}

fn gap(a: (i32, i32), b: (i32, i32)) -> i32 {
    (b.0 - a.1).max(a.0 - b.1).max(0)
}

#[test]
fn agrees_with_a_naive_section_2_8_over_random_combinations() {
    let rules = RuleSet::builtin();
    let clinical = ClinicalContext::default();
    let mut rng = Rng(0x5EED);
    let mut seen = std::collections::BTreeMap::new();
    let mut paired_cases = 0;
    for case in 0..5000 {
        // spinal MRI
        let mut mri = Vec::new(); // (grade, interval, side)
        let mut cols = Vec::new();
        for _ in 0..rng.below(3) {
            let (a, b) = (rng.level(), rng.level());
            let (from, to) = if a <= b { (a, b) } else { (b, a) };
            let (ne, co) = (rng.tri(), rng.tri());
            let side = rng.side();
            let g = match (ne, co) {
                (Some(true), Some(true)) => Some(Grade::Definite),
                (Some(true), _) | (_, Some(true)) => Some(Grade::StronglySuspected),
                _ => Some(Grade::Suspected),
            };
            mri.push((g, (interval(from).0, interval(to).1), side));
            cols.push(json!({"from_level": from, "to_level": to, "non_enhancing": ne, "continuous_with_sas": co, "side": side}));
        }
        // RI
        let cf = rng.tri().map(|v| !v); // convexity false = circulation failure
        let mut ri = Vec::new();
        let mut accs = Vec::new();
        for _ in 0..rng.below(3) {
            let pattern = [
                "unilateral_localized",
                "asymmetric",
                "cervicothoracic_symmetric",
                "lumbar_symmetric",
            ][usize::try_from(rng.below(4)).expect("small")];
            let level = rng.level();
            let side = rng.side();
            let base = match pattern {
                "unilateral_localized" => Some(Grade::StronglySuspected),
                "lumbar_symmetric" => Some(Grade::Reference),
                _ => Some(Grade::Suspected),
            };
            let g = if cf == Some(true) {
                match base {
                    Some(Grade::StronglySuspected) => Some(Grade::Definite),
                    Some(Grade::Suspected) => Some(Grade::StronglySuspected),
                    b => b.max(Some(Grade::Reference)),
                }
            } else {
                base
            };
            ri.push((g, interval(level), side));
            accs.push(json!({"pattern": pattern, "level": level, "side": side}));
        }
        // CT myelography (no puncture anywhere)
        let mut ctm = Vec::new();
        let mut sites = Vec::new();
        for _ in 0..rng.below(2) {
            let (defect, cont) = (rng.tri(), rng.tri());
            let g = if defect == Some(true) || cont == Some(true) {
                Grade::Definitive
            } else {
                Grade::Definite
            };
            ctm.push(g);
            sites.push(json!({"level": rng.level(), "dural_defect": defect, "continuous_with_sas": cont, "at_puncture_site": false, "at_catheter_entry": false}));
        }
        let all: Vec<Option<Grade>> = mri
            .iter()
            .map(|m| m.0)
            .chain(ri.iter().map(|r| r.0))
            .chain(ctm.iter().map(|g| Some(*g)))
            .collect();
        let expected = if all.contains(&Some(Grade::Definitive)) {
            Some(Grade::Definitive)
        } else if all.contains(&Some(Grade::Definite)) {
            Some(Grade::Definite)
        } else {
            let weak =
                |g: Option<Grade>| matches!(g, Some(Grade::Suspected | Grade::StronglySuspected));
            let paired = ri.iter().any(|r| {
                mri.iter().any(|m| {
                    weak(r.0)
                        && weak(m.0)
                        && r.0.max(m.0) == Some(Grade::StronglySuspected)
                        && gap(r.1, m.1) <= 1
                        && !side_conflict(r.2, m.2)
                })
            });
            if paired {
                paired_cases += 1;
                Some(Grade::Definite)
            } else if all.iter().any(|g| weak(*g)) {
                Some(Grade::Suspected)
            } else {
                None
            }
        };
        let mut doc = json!({"schema_version": "1"});
        if !cols.is_empty() || rng.below(2) == 0 {
            doc["spine"] = json!({"epidural_fluid": {"status": if cols.is_empty() { "absent" } else { "present" }, "collections": cols}});
        }
        doc["cisternography"] = json!({"status": "present", "accumulations": accs, "convexity_activity_24h": cf.map(|v| !v)});
        if !sites.is_empty() {
            doc["ct_myelography"] =
                json!({"epidural_contrast": {"status": "present", "sites": sites}});
        }
        let findings = Findings::from_value(doc.clone()).expect("generated findings parse");
        let a = assess(&findings, &clinical, &rules);
        assert_eq!(
            a.mhlw2011.diagnosis,
            expected,
            "case {case}: {}",
            serde_json::to_string(&doc).unwrap_or_default()
        );
        // J007-2 without clinical context: eligible false unless the diagnosis qualifies
        let qualifies = expected >= Some(Grade::Definite);
        assert_eq!(
            a.j007_2.eligible,
            if qualifies { None } else { Some(false) }
        );
        *seen.entry(format!("{expected:?}")).or_insert(0) += 1;
    }
    // every diagnosis (none, 疑, 確実, 確定) and the same-site pairing were exercised
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(paired_cases > 50, "{paired_cases}");
}
