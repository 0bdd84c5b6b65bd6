//! The stable paths of `assessment.json` (findings-contract.md) keep their names.

use csfleak_criteria::{ClinicalContext, RuleSet, assess};
use csfleak_findings::Findings;
use serde_json::Value;

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| {
        v.get(k).unwrap_or_else(|| panic!("missing {k} of {path}"))
    })
}

#[test]
fn assessment_has_every_stable_path() {
    let f = Findings::from_json_str(
        r#"{"schema_version": "1", "spine": {"epidural_fluid": {"status": "present",
            "collections": [{"from_level": "T2", "to_level": "T4", "non_enhancing": true}]}}}"#,
    )
    .unwrap();
    let a = assess(&f, &ClinicalContext::default(), &RuleSet::builtin());
    let v = serde_json::to_value(&a).unwrap();
    for p in [
        "schema_version",
        "rules_version",
        "mhlw2011.diagnosis",
        "mhlw2011.intracranial_hypotension",
        "gl2007.ri_positive",
        "ichd3.code",
        "ichd3.fulfilled",
        "ichd3.missing",
        "bern.score",
        "bern.band",
        "j007_2.eligible",
        "j007_2.claim_text_ja",
        "j007_2.claim_text_en",
        "flowchart.next_step",
        "warnings",
    ] {
        at(&v, p);
    }
    assert_eq!(at(&v, "rules_version"), "mhlw2011+gl2007+ichd3+bern2019");
    assert_eq!(at(&v, "mhlw2011.diagnosis"), "疑");
    let finding = &at(&v, "mhlw2011.findings")[0];
    for k in [
        "modality",
        "grade",
        "level_from",
        "level_to",
        "side",
        "rule_ids",
        "unverified_rules",
    ] {
        assert!(finding.get(k).is_some(), "finding lacks {k}");
    }
    assert_eq!(finding["modality"], "spinal_mri");
    assert_eq!(finding["grade"], "強疑");
    assert_eq!(finding["level_from"], "T2");
    let trace = &at(&v, "trace")[0];
    for k in ["rule_id", "source", "confidence", "inputs", "result"] {
        assert!(trace.get(k).is_some(), "trace lacks {k}");
    }
    assert!(["V", "P", "U"].contains(&trace["confidence"].as_str().unwrap()));
}
