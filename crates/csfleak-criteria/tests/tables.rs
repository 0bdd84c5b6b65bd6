//! Table-driven tests of every grade table, threshold and rule in clinical.md.
#![allow(
    clippy::needless_pass_by_value,
    clippy::too_many_arguments,
    clippy::fn_params_excessive_bools,
    clippy::unwrap_used,
    reason = "test-case rows: one argument per table column; a failed unwrap is a failed test"
)]

use csfleak_criteria::{Assessment, ClinicalContext, Grade, RuleSet, assess};
use csfleak_findings::Findings;
use serde_json::{Value, json};
use test_case::test_case;

const DEFINITIVE: Option<Grade> = Some(Grade::Definitive);
const DEFINITE: Option<Grade> = Some(Grade::Definite);
const STRONG: Option<Grade> = Some(Grade::StronglySuspected);
const SUSPECTED: Option<Grade> = Some(Grade::Suspected);
const REFERENCE: Option<Grade> = Some(Grade::Reference);
const NONE: Option<Grade> = None;

fn findings(sections: Value) -> Findings {
    let mut v = json!({"schema_version": "1", "study": {"study_date": "2026-01-10", "institution_name": "Test Hospital"}});
    if let (Value::Object(dst), Value::Object(src)) = (&mut v, sections) {
        dst.extend(src);
    }
    Findings::from_value(v).expect("valid findings")
}

fn clinical(v: Value) -> ClinicalContext {
    ClinicalContext::from_json_str(&v.to_string(), "test").expect("valid clinical")
}

fn run(f: Value, c: Value) -> Assessment {
    assess(&findings(f), &clinical(c), &RuleSet::builtin())
}

fn run_with(f: Value, c: Value, rules: &RuleSet) -> Assessment {
    assess(&findings(f), &clinical(c), rules)
}

fn rules_with(param: &str, value: &str) -> RuleSet {
    let text = csfleak_criteria::rules::DEFAULT_RULES_TOML;
    let start = text
        .find(&format!("\n{param} = "))
        .expect("param in default rules")
        + 1;
    let end = start + text[start..].find('\n').expect("line end");
    let text = format!("{}{param} = {value}{}", &text[..start], &text[end..]);
    RuleSet::from_toml_str(&text, "test rules").expect("valid rules")
}

fn mri(collections: Value) -> Value {
    json!({"spine": {"epidural_fluid": {"status": "present", "collections": collections}}})
}

fn ctm(sites: Value) -> Value {
    json!({"ct_myelography": {"epidural_contrast": {"status": "present", "sites": sites}}})
}

fn ri(accumulations: Value, convexity: Value) -> Value {
    json!({"cisternography": {"status": "present", "accumulations": accumulations, "convexity_activity_24h": convexity}})
}

fn merge(a: Value, b: Value) -> Value {
    let mut a = a;
    if let (Value::Object(x), Value::Object(y)) = (&mut a, b) {
        x.extend(y);
    }
    a
}

fn grades(a: &Assessment) -> Vec<Option<Grade>> {
    a.mhlw2011.findings.iter().map(|f| f.grade).collect()
}

// ---- MHLW 2011 section A: spinal MRI (clinical.md §2.2 table) ----

#[test_case(json!(true), json!(true), DEFINITE, DEFINITE; "non-enhancing and continuous: 確実")]
#[test_case(json!(true), json!(false), STRONG, SUSPECTED; "non-enhancing, not continuous: 強疑")]
#[test_case(json!(true), json!(null), STRONG, SUSPECTED; "non-enhancing, continuity unknown: 強疑")]
#[test_case(json!(false), json!(true), STRONG, SUSPECTED; "enhancing, continuous: 強疑")]
#[test_case(json!(null), json!(true), STRONG, SUSPECTED; "no contrast series, continuous: 強疑")]
#[test_case(json!(false), json!(false), SUSPECTED, SUSPECTED; "enhancing, not continuous: 疑")]
#[test_case(json!(null), json!(null), SUSPECTED, SUSPECTED; "properties unknown: 疑")]
#[test_case(json!(false), json!(null), SUSPECTED, SUSPECTED; "enhancing, continuity unknown: 疑")]
#[test_case(json!(null), json!(false), SUSPECTED, SUSPECTED; "no contrast, not continuous: 疑")]
fn spinal_mri_table(
    non_enhancing: Value,
    continuous: Value,
    grade: Option<Grade>,
    diagnosis: Option<Grade>,
) {
    let a = run(
        mri(
            json!([{"from_level": "T10", "to_level": "L1", "non_enhancing": non_enhancing, "continuous_with_sas": continuous}]),
        ),
        json!({}),
    );
    assert_eq!(grades(&a), [grade]);
    assert_eq!(a.mhlw2011.diagnosis, diagnosis);
    assert!(
        a.mhlw2011.findings[0].unverified_rules.is_empty(),
        "section A rules are verified"
    );
}

#[test]
fn spinal_mri_present_without_collections_is_suspected() {
    let a = run(
        json!({"spine": {"epidural_fluid": {"status": "present"}}}),
        json!({}),
    );
    assert_eq!(grades(&a), [SUSPECTED]);
}

#[test]
fn spinal_mri_mimic_is_not_graded() {
    let a = run(
        mri(
            json!([{"from_level": "S1", "to_level": "S2", "non_enhancing": true, "continuous_with_sas": true, "excluded_as": "tarlov_cyst"}]),
        ),
        json!({}),
    );
    assert_eq!(grades(&a), [NONE]);
    assert_eq!(a.mhlw2011.findings[0].rule_ids, ["MHLW2011-A-mimic"]);
    assert_eq!(a.mhlw2011.diagnosis, None);
}

#[test]
fn spinal_mri_absent_and_not_assessable_are_different() {
    let absent = run(
        json!({"spine": {"epidural_fluid": {"status": "absent"}}}),
        json!({}),
    );
    assert!(absent.mhlw2011.findings.is_empty());
    assert!(absent.mhlw2011.not_assessable.is_empty());
    assert_eq!(absent.flowchart.next_step, "contrast_brain_mri");
    let na = run(
        json!({"spine": {"epidural_fluid": {"status": "not_assessable", "reason": "no fat-suppressed T2"}}, "brain": {}}),
        json!({}),
    );
    assert_eq!(na.mhlw2011.diagnosis, None);
    assert_eq!(na.mhlw2011.not_assessable[0].path, "spine.epidural_fluid");
    assert_eq!(na.mhlw2011.not_assessable[0].reason, "no fat-suppressed T2");
    assert!(
        na.warnings.iter().any(|w| w.contains("not assessable")),
        "{:?}",
        na.warnings
    );
    // not assessable is never read as normal: the flowchart asks for the spinal MRI again
    assert_eq!(na.flowchart.next_step, "contrast_spinal_mri");
}

// ---- MHLW 2011 section B: RI cisternography (§2.3 table, §2.8 grade_ri) ----

#[test_case("unilateral_localized", json!(false), DEFINITE, false; "RI-1 + circulation failure: 確実 [V]")]
#[test_case("unilateral_localized", json!(true), STRONG, true; "RI-1 alone: 強疑 [U]")]
#[test_case("unilateral_localized", json!(null), STRONG, true; "RI-1, convexity unknown: 強疑 [U]")]
#[test_case("asymmetric", json!(false), STRONG, true; "RI-2 + circulation failure: 強疑 [U]")]
#[test_case("asymmetric", json!(true), SUSPECTED, true; "RI-2 alone: 疑 [U]")]
#[test_case("cervicothoracic_symmetric", json!(false), STRONG, true; "RI-3 + circulation failure: 強疑 [U]")]
#[test_case("cervicothoracic_symmetric", json!(true), SUSPECTED, true; "RI-3 alone: 疑 [U]")]
#[test_case("lumbar_symmetric", json!(false), REFERENCE, true; "lumbar symmetric + circulation failure: 参考 [U]")]
#[test_case("lumbar_symmetric", json!(true), REFERENCE, false; "lumbar symmetric alone: 参考 [V]")]
fn ri_table(pattern: &str, convexity: Value, grade: Option<Grade>, unverified: bool) {
    let a = run(
        ri(
            json!([{"pattern": pattern, "level": "T5", "side": "left"}]),
            convexity,
        ),
        json!({}),
    );
    assert_eq!(grades(&a), [grade]);
    assert_eq!(
        !a.mhlw2011.findings[0].unverified_rules.is_empty(),
        unverified
    );
    assert_eq!(
        a.warnings
            .iter()
            .any(|w| w.contains("unverified rule MHLW2011-B")),
        unverified
    );
    let expected_dx = match grade {
        Some(Grade::Definite) => DEFINITE,
        Some(Grade::StronglySuspected | Grade::Suspected) => SUSPECTED,
        _ => NONE,
    };
    assert_eq!(a.mhlw2011.diagnosis, expected_dx);
}

#[test]
fn circulation_failure_alone_is_reference() {
    let a = run(ri(json!([]), json!(false)), json!({}));
    assert_eq!(grades(&a), [REFERENCE]);
    assert_eq!(a.mhlw2011.diagnosis, None);
    let a = run(ri(json!([]), json!(true)), json!({}));
    assert!(a.mhlw2011.findings.is_empty());
}

#[test]
fn convexity_unknown_is_carried_as_not_assessable() {
    let a = run(
        ri(
            json!([{"pattern": "unilateral_localized", "level": "T5"}]),
            json!(null),
        ),
        json!({}),
    );
    assert!(
        a.mhlw2011
            .not_assessable
            .iter()
            .any(|n| n.path == "cisternography.convexity_activity_24h")
    );
}

#[test_case(2.4, true; "bladder at 2.4 h: reference")]
#[test_case(2.5, true; "bladder at 2.5 h: reference (≤)")]
#[test_case(2.6, false; "bladder at 2.6 h: nothing")]
fn mhlw_early_bladder_is_reference_only(h: f64, reference: bool) {
    let a = run(
        json!({"cisternography": {"status": "present", "early_bladder_h": h, "convexity_activity_24h": true}}),
        json!({}),
    );
    assert_eq!(
        a.mhlw2011
            .findings
            .iter()
            .any(|f| f.grade == REFERENCE && f.finding_path == "cisternography.early_bladder_h"),
        reference
    );
    assert_eq!(a.mhlw2011.diagnosis, None);
}

#[test]
fn cisternography_not_assessable_is_not_normal() {
    let a = run(
        json!({"cisternography": {"status": "not_assessable", "reason": "no 24 h image"}}),
        json!({}),
    );
    assert_eq!(a.gl2007.ri_positive, None);
    assert_eq!(a.mhlw2011.not_assessable[0].path, "cisternography");
}

// ---- MHLW 2011 section C: CT myelography (§2.4, §2.8 grade_ctm) ----

#[test_case(json!(true), json!(false), json!(false), DEFINITIVE; "dural defect: 確定")]
#[test_case(json!(false), json!(true), json!(false), DEFINITIVE; "continuous with SAS: 確定")]
#[test_case(json!(false), json!(false), json!(false), DEFINITE; "not at puncture: 確実")]
#[test_case(json!(null), json!(null), json!(false), DEFINITE; "unknowns, not at puncture: 確実")]
#[test_case(json!(false), json!(false), json!(true), NONE; "at puncture site: no grade")]
#[test_case(json!(true), json!(true), json!(true), NONE; "continuous but at puncture site: no grade")]
fn ctm_table(defect: Value, continuous: Value, at_puncture: Value, grade: Option<Grade>) {
    let a = run(
        ctm(
            json!([{"level": "T8", "side": "right", "dural_defect": defect, "continuous_with_sas": continuous, "at_puncture_site": at_puncture, "at_catheter_entry": false}]),
        ),
        json!({"punctures": [{"level": "L3/4"}]}),
    );
    assert_eq!(grades(&a), [grade]);
    assert_eq!(a.mhlw2011.diagnosis, grade);
}

// Puncture at L3/4 (touches L3 and L4), tolerance 1 level.
#[test_case("L3", NONE; "at the puncture vertebra")]
#[test_case("L3/4", NONE; "at the puncture disc")]
#[test_case("L2", NONE; "one level above: within tolerance")]
#[test_case("L5", NONE; "one level below: within tolerance")]
#[test_case("L5/S1", NONE; "disc one level below")]
#[test_case("L1", DEFINITIVE; "two levels above: graded")]
#[test_case("S1", DEFINITIVE; "two levels below: graded")]
fn ctm_puncture_level_from_clinical_context(level: &str, grade: Option<Grade>) {
    let a = run(
        ctm(
            json!([{"level": level, "continuous_with_sas": true, "dural_defect": true, "at_puncture_site": false, "at_catheter_entry": false}]),
        ),
        json!({"punctures": [{"date": "2026-01-10", "level": "L3/4"}]}),
    );
    assert_eq!(grades(&a), [grade]);
    assert!(a.mhlw2011.diagnosis.is_none() || level == "L1" || level == "S1");
}

#[test_case("T12", NONE; "catheter entry level")]
#[test_case("L2", NONE; "one below entry disc")]
#[test_case("T10", DEFINITE; "two above entry disc")]
fn ctm_catheter_entry(level: &str, grade: Option<Grade>) {
    let a = run(
        ctm(
            json!([{"level": level, "continuous_with_sas": false, "dural_defect": false, "at_puncture_site": false, "at_catheter_entry": false}]),
        ),
        json!({"intrathecal_catheter": {"entry_level": "T12/L1", "tip_level": "T8", "pump": true}}),
    );
    assert_eq!(grades(&a), [grade]);
    if grade.is_none() {
        assert_eq!(a.mhlw2011.findings[0].rule_ids, ["CSFLEAK-CATHETER-ENTRY"]);
        assert!(a.mhlw2011.findings[0].at_puncture_or_catheter_entry);
    }
}

#[test]
fn ctm_at_catheter_entry_flag_never_definite() {
    let a = run(
        ctm(
            json!([{"level": "L2", "continuous_with_sas": true, "dural_defect": true, "at_puncture_site": false, "at_catheter_entry": true}]),
        ),
        json!({}),
    );
    assert_eq!(grades(&a), [NONE]);
    assert_eq!(a.mhlw2011.diagnosis, None);
}

#[test]
fn puncture_tolerance_is_configurable() {
    let site = ctm(
        json!([{"level": "L5", "continuous_with_sas": false, "dural_defect": false, "at_puncture_site": false, "at_catheter_entry": false}]),
    );
    let c = json!({"punctures": [{"level": "L3/4"}]});
    assert_eq!(grades(&run(site.clone(), c.clone())), [NONE]);
    let strict = rules_with("puncture_tolerance_levels", "0");
    assert_eq!(grades(&run_with(site, c, &strict)), [DEFINITE]);
}

#[test]
fn only_puncture_site_contrast_never_definite_but_other_sites_count() {
    let c = json!({"punctures": [{"level": "L4/5"}]});
    let only = ctm(json!([
        {"level": "L4", "continuous_with_sas": true, "dural_defect": false, "at_puncture_site": true, "at_catheter_entry": false},
        {"level": "L5", "continuous_with_sas": false, "dural_defect": false, "at_puncture_site": false, "at_catheter_entry": false}
    ]));
    let a = run(only, c.clone());
    assert_eq!(grades(&a), [NONE, NONE]);
    assert_eq!(a.mhlw2011.diagnosis, None);
    assert_eq!(a.j007_2.eligible, Some(false));
    let elsewhere = ctm(json!([
        {"level": "L4", "continuous_with_sas": true, "dural_defect": false, "at_puncture_site": true, "at_catheter_entry": false},
        {"level": "T6", "continuous_with_sas": false, "dural_defect": false, "at_puncture_site": false, "at_catheter_entry": false}
    ]));
    let a = run(elsewhere, c);
    assert_eq!(grades(&a), [NONE, DEFINITE]);
    assert_eq!(a.mhlw2011.diagnosis, DEFINITE);
}

#[test]
fn ctm_present_without_sites_is_not_graded() {
    let a = run(
        json!({"ct_myelography": {"epidural_contrast": {"status": "present"}}}),
        json!({}),
    );
    assert!(a.mhlw2011.findings.is_empty());
    assert!(
        a.mhlw2011
            .not_assessable
            .iter()
            .any(|n| n.path == "ct_myelography.epidural_contrast.sites")
    );
}

#[test_case(json!(null), false; "flag unknown: not graded")]
#[test_case(json!(false), true; "flag false: graded")]
fn ctm_site_without_level_when_punctures_are_known(flag: Value, graded: bool) {
    let a = run(
        ctm(
            json!([{"level": null, "continuous_with_sas": false, "dural_defect": false, "at_puncture_site": flag, "at_catheter_entry": false}]),
        ),
        json!({"punctures": [{"level": "L4/5"}]}),
    );
    assert_eq!(grades(&a), if graded { vec![DEFINITE] } else { vec![] });
    assert_eq!(
        a.mhlw2011
            .not_assessable
            .iter()
            .any(|n| n.path.starts_with("ct_myelography")),
        !graded
    );
}

#[test]
fn claim_text_names_the_institution_address() {
    let f = merge(
        json!({"study": {"study_date": "2026-02-01", "institution_name": "A Hospital", "institution_address": "1-2-3 Chuo"}}),
        ctm(
            json!([{"level": "C6", "continuous_with_sas": false, "dural_defect": false, "at_puncture_site": false, "at_catheter_entry": false}]),
        ),
    );
    let a = run(f, json!({"orthostatic_headache": true}));
    let ja = a.j007_2.claim_text_ja.unwrap();
    assert!(
        ja.contains("A Hospital（1-2-3 Chuo）") && ja.contains("2026-02-01") && ja.contains("確実"),
        "{ja}"
    );
}

#[test]
fn unknown_puncture_level_warns() {
    let a = run(
        ctm(
            json!([{"level": "T8", "continuous_with_sas": false, "dural_defect": false, "at_puncture_site": null, "at_catheter_entry": false}]),
        ),
        json!({}),
    );
    assert_eq!(grades(&a), [DEFINITE]);
    assert!(
        a.warnings
            .iter()
            .any(|w| w.contains("puncture level unknown"))
    );
}

// ---- spinal MRI at the puncture / catheter entry level (§11) ----

#[test_case("L3", "L5", NONE; "collection within puncture tolerance")]
#[test_case("L4", "L4", NONE; "collection at puncture level")]
#[test_case("T10", "L5", DEFINITE; "collection extends beyond: graded")]
#[test_case("L1", "L2", DEFINITE; "collection away from puncture: graded")]
fn mri_collection_at_puncture(from: &str, to: &str, grade: Option<Grade>) {
    let a = run(
        mri(
            json!([{"from_level": from, "to_level": to, "non_enhancing": true, "continuous_with_sas": true}]),
        ),
        json!({"punctures": [{"level": "L4"}]}),
    );
    assert_eq!(grades(&a), [grade]);
}

// ---- diagnosis-level combination (§2.5) ----

#[test_case("unilateral_localized", json!(true), json!(true), json!(null), "L1", DEFINITE; "RI 強疑 + MRI 強疑 same site: 確実")]
#[test_case("unilateral_localized", json!(true), json!(null), json!(null), "L1", DEFINITE; "RI 強疑 + MRI 疑 same site: 確実")]
#[test_case("asymmetric", json!(true), json!(true), json!(null), "L1", DEFINITE; "RI 疑 + MRI 強疑 same site: 確実")]
#[test_case("asymmetric", json!(true), json!(null), json!(null), "L1", SUSPECTED; "RI 疑 + MRI 疑 same site: 疑")]
#[test_case("unilateral_localized", json!(true), json!(true), json!(null), "L3", DEFINITE; "distance 1 = tolerance: 確実")]
#[test_case("unilateral_localized", json!(true), json!(true), json!(null), "L4", SUSPECTED; "distance 2 > tolerance: 疑")]
#[test_case("lumbar_symmetric", json!(true), json!(true), json!(null), "L1", SUSPECTED; "RI 参考 does not pair: 疑 from MRI")]
fn same_site_pairing(
    pattern: &str,
    convexity: Value,
    non_enh: Value,
    cont: Value,
    ri_level: &str,
    dx: Option<Grade>,
) {
    let f = merge(
        ri(
            json!([{"pattern": pattern, "level": ri_level, "side": "left"}]),
            convexity,
        ),
        mri(
            json!([{"from_level": "T12", "to_level": "L2", "non_enhancing": non_enh, "continuous_with_sas": cont}]),
        ),
    );
    let a = run(f, json!({}));
    assert_eq!(a.mhlw2011.diagnosis, dx);
    if dx == DEFINITE {
        assert_eq!(a.mhlw2011.diagnosis_rule_ids, ["MHLW2011-DX-same-site"]);
        assert!(
            a.warnings
                .iter()
                .any(|w| w.contains("MHLW2011-DX-same-site"))
        );
        assert_eq!(a.mhlw2011.diagnosis_supporting_findings.len(), 2);
    }
}

#[test_case("left", "right", SUSPECTED; "opposite sides do not pair")]
#[test_case("left", "left", DEFINITE; "same side pairs")]
#[test_case("left", "bilateral", DEFINITE; "bilateral pairs with left")]
#[test_case("right", "midline", DEFINITE; "midline pairs with right")]
fn same_site_sides(ri_side: &str, mri_side: &str, dx: Option<Grade>) {
    let f = merge(
        ri(
            json!([{"pattern": "unilateral_localized", "level": "T6", "side": ri_side}]),
            json!(true),
        ),
        mri(
            json!([{"from_level": "T6", "to_level": "T7", "side": mri_side, "non_enhancing": true, "continuous_with_sas": false}]),
        ),
    );
    assert_eq!(run(f, json!({})).mhlw2011.diagnosis, dx);
}

#[test]
fn same_site_tolerance_is_configurable() {
    let f = merge(
        ri(
            json!([{"pattern": "unilateral_localized", "level": "L4"}]),
            json!(true),
        ),
        mri(json!([{"from_level": "T12", "to_level": "L2", "non_enhancing": true}])),
    );
    assert_eq!(run(f.clone(), json!({})).mhlw2011.diagnosis, SUSPECTED);
    let wide = rules_with("same_site_tolerance_levels", "2");
    let a = run_with(f, json!({}), &wide);
    assert_eq!(a.mhlw2011.diagnosis, DEFINITE);
    assert_eq!(a.parameters.same_site_tolerance_levels, 2);
}

#[test]
fn definitive_beats_definite() {
    let f = merge(
        ctm(
            json!([{"level": "T4", "continuous_with_sas": true, "dural_defect": false, "at_puncture_site": false, "at_catheter_entry": false}]),
        ),
        mri(
            json!([{"from_level": "T3", "to_level": "T5", "non_enhancing": true, "continuous_with_sas": true}]),
        ),
    );
    let a = run(f, json!({}));
    assert_eq!(a.mhlw2011.diagnosis, DEFINITIVE);
    assert_eq!(
        a.mhlw2011.diagnosis_supporting_findings,
        ["ct_myelography.epidural_contrast.sites[0]"]
    );
}

#[test]
fn no_findings_no_diagnosis() {
    let a = run(json!({}), json!({}));
    assert_eq!(a.mhlw2011.diagnosis, None);
    assert_eq!(a.mhlw2011.diagnosis_rule_ids, ["MHLW2011-DX-none"]);
}

// ---- 低髄液圧症 (§2.6) ----

#[test_case(json!(true), json!(true), json!(59), DEFINITIVE; "enhancement + 59: 確定")]
#[test_case(json!(true), json!(true), json!(60), DEFINITIVE; "enhancement + 60: 確定 (≤)")]
#[test_case(json!(true), json!(true), json!(61), DEFINITE; "enhancement + 61: 確実")]
#[test_case(json!(true), json!(false), json!(60), DEFINITE; "60 alone: 確実")]
#[test_case(json!(true), json!(false), json!(61), NONE; "61, no enhancement: none")]
#[test_case(json!(true), json!(null), json!(null), NONE; "all unknown: none")]
#[test_case(json!(true), json!(true), json!(null), DEFINITE; "enhancement, pressure unknown: 確実")]
#[test_case(json!(false), json!(true), json!(20), NONE; "no orthostatic headache: none")]
#[test_case(json!(null), json!(true), json!(20), NONE; "orthostatic headache unknown: none")]
fn intracranial_hypotension(oh: Value, enhancement: Value, pressure: Value, grade: Option<Grade>) {
    let a = run(
        json!({"brain": {"dural_enhancement_jp": enhancement}}),
        json!({"orthostatic_headache": oh, "opening_pressure_mmh2o": pressure}),
    );
    assert_eq!(a.mhlw2011.intracranial_hypotension, grade);
    if grade.is_some() {
        assert!(a.warnings.iter().any(|w| w.contains("MHLW2011-IH")));
    }
}

#[test]
fn intracranial_hypotension_falls_back_to_bern_enhancement_with_warning() {
    let a = run(
        json!({"brain": {"pachymeningeal_enhancement": true}}),
        json!({"orthostatic_headache": true}),
    );
    assert_eq!(a.mhlw2011.intracranial_hypotension, DEFINITE);
    assert!(
        a.warnings
            .iter()
            .any(|w| w.contains("pachymeningeal_enhancement"))
    );
}

// ---- GL2007 RI (§3, §7.1) ----

#[test_case(29.9, Some(true); "29.9 % positive")]
#[test_case(30.0, Some(true); "30.0 % positive (≤)")]
#[test_case(30.1, Some(false); "30.1 % negative")]
fn gl2007_retention(raw: f64, positive: Option<bool>) {
    let a = run(
        json!({"cisternography": {"status": "present", "retention_24h": {"raw_pct": raw, "decay_corrected_pct": raw * 1.28}, "early_bladder_h": null, "convexity_activity_24h": true}}),
        json!({}),
    );
    assert_eq!(a.gl2007.retention_low, positive);
    assert_eq!(a.gl2007.ri_positive, positive);
    assert_eq!(a.gl2007.retention_basis, "raw");
}

#[test]
fn gl2007_decay_corrected_switch_and_seed_case() {
    // The seed's 27 % raw is 34.6 % decay-corrected: opposite sides of 30 %.
    let f = json!({"cisternography": {"status": "present", "retention_24h": {"raw_pct": 27.0, "decay_corrected_pct": 34.6}, "convexity_activity_24h": true}});
    let a = run(f.clone(), json!({}));
    assert_eq!(a.gl2007.retention_low, Some(true));
    assert!(a.warnings.iter().any(|w| w.contains("opposite sides")));
    let dc = rules_with("ri_retention_use_decay_corrected", "true");
    let a = run_with(f, json!({}), &dc);
    assert_eq!(a.gl2007.retention_low, Some(false));
    assert_eq!(a.gl2007.retention_used_pct, Some(34.6));
}

#[test_case(json!(2.9), Some(true); "bladder 2.9 h positive")]
#[test_case(json!(3.0), Some(true); "bladder 3.0 h positive (≤)")]
#[test_case(json!(3.1), Some(false); "bladder 3.1 h negative")]
#[test_case(json!(null), Some(false); "no bladder activity")]
fn gl2007_early_bladder(h: Value, early: Option<bool>) {
    let a = run(
        json!({"cisternography": {"status": "present", "early_bladder_h": h, "convexity_activity_24h": true}}),
        json!({}),
    );
    assert_eq!(a.gl2007.early_bladder, early);
    // retention unknown: positive only through the bladder
    assert_eq!(
        a.gl2007.ri_positive,
        if early == Some(true) {
            Some(true)
        } else {
            None
        }
    );
}

#[test]
fn gl2007_extrathecal_and_absent_study() {
    let a = run(
        ri(
            json!([{"pattern": "lumbar_symmetric", "level": "L3", "side": "bilateral"}]),
            json!(true),
        ),
        json!({}),
    );
    assert_eq!(a.gl2007.extrathecal_ri, Some(true));
    assert_eq!(a.gl2007.ri_positive, Some(true));
    let a = run(
        json!({"cisternography": {"status": "present", "retention_24h": {"raw_pct": 45.0}, "convexity_activity_24h": true}}),
        json!({}),
    );
    assert_eq!(a.gl2007.ri_positive, Some(false));
    let a = run(json!({}), json!({}));
    assert_eq!(a.gl2007.ri_positive, None);
}

// ---- Bern score (§4.1) ----

fn bern_brain(
    pachy: bool,
    venous: bool,
    suprasellar: f64,
    subdural: bool,
    prepontine: f64,
    mpd: f64,
) -> Value {
    json!({"brain": {"pachymeningeal_enhancement": pachy, "venous_distension": venous, "suprasellar_cistern_mm": suprasellar,
        "subdural_fluid": subdural, "prepontine_cistern_mm": prepontine, "mamillopontine_distance_mm": mpd}})
}

#[test_case(3.9, 2; "suprasellar 3.9 scores")]
#[test_case(4.0, 2; "suprasellar 4.0 scores (≤)")]
#[test_case(4.1, 0; "suprasellar 4.1 does not")]
fn bern_suprasellar(mm: f64, score: u8) {
    let a = run(bern_brain(false, false, mm, false, 9.0, 9.0), json!({}));
    assert_eq!(a.bern.score, Some(score));
    assert!(
        a.bern
            .borderline
            .contains(&"suprasellar_cistern_mm".to_owned())
    );
}

#[test_case(4.9, 1; "prepontine 4.9 scores")]
#[test_case(5.0, 1; "prepontine 5.0 scores (≤)")]
#[test_case(5.1, 0; "prepontine 5.1 does not")]
fn bern_prepontine(mm: f64, score: u8) {
    assert_eq!(
        run(bern_brain(false, false, 9.0, false, mm, 9.0), json!({}))
            .bern
            .score,
        Some(score)
    );
}

#[test_case(6.4, 1; "mpd 6.4 scores")]
#[test_case(6.5, 1; "mpd 6.5 scores (≤)")]
#[test_case(6.6, 0; "mpd 6.6 does not")]
fn bern_mamillopontine(mm: f64, score: u8) {
    assert_eq!(
        run(bern_brain(false, false, 9.0, false, 9.0, mm), json!({}))
            .bern
            .score,
        Some(score)
    );
}

#[test_case(false, false, 9.0, false, 9.0, 9.0, 0, "low"; "0 low")]
#[test_case(true, false, 9.0, false, 9.0, 9.0, 2, "low"; "2 low")]
#[test_case(true, false, 9.0, true, 9.0, 9.0, 3, "intermediate"; "3 intermediate")]
#[test_case(true, true, 9.0, false, 9.0, 9.0, 4, "intermediate"; "4 intermediate")]
#[test_case(true, true, 9.0, true, 9.0, 9.0, 5, "high"; "5 high")]
#[test_case(true, true, 3.0, true, 4.0, 5.0, 9, "high"; "9 high")]
fn bern_bands(p: bool, v: bool, ss: f64, sd: bool, pp: f64, mpd: f64, score: u8, band: &str) {
    let a = run(bern_brain(p, v, ss, sd, pp, mpd), json!({}));
    assert_eq!(a.bern.score, Some(score));
    assert_eq!(a.bern.band.as_deref(), Some(band));
}

#[test]
fn bern_unknown_item_gives_null_score_and_range() {
    let a = run(
        json!({"brain": {"pachymeningeal_enhancement": true, "venous_distension": true, "suprasellar_cistern_mm": 3.0,
            "subdural_fluid": null, "prepontine_cistern_mm": 9.0, "mamillopontine_distance_mm": 9.0,
            "subdural_fluid_status": {"status": "not_assessable", "reason": "no axial images"}}}),
        json!({}),
    );
    assert_eq!(a.bern.score, None);
    assert_eq!(a.bern.band, None);
    assert_eq!((a.bern.score_min, a.bern.score_max), (6, 7));
    assert!(
        a.mhlw2011
            .not_assessable
            .iter()
            .any(|n| n.path == "brain.subdural_fluid" && n.reason == "no axial images")
    );
    let none = run(json!({}), json!({}));
    assert_eq!(
        (none.bern.score, none.bern.score_min, none.bern.score_max),
        (None, 0, 9)
    );
}

// ---- ICHD-3 (§5) ----

#[test_case(59.9, Some(true); "59.9 low")]
#[test_case(60.0, Some(false); "60 not low (<)")]
#[test_case(60.1, Some(false); "60.1 not low")]
fn ichd3_pressure(p: f64, parent: Option<bool>) {
    let a = run(
        json!({"spine": {"epidural_fluid": {"status": "absent"}}, "brain": {"pachymeningeal_enhancement": false, "mamillopontine_distance_mm": 8.0, "pontomesencephalic_angle_deg": 60.0}}),
        json!({"headache": true, "opening_pressure_mmh2o": p, "procedure_or_trauma": false}),
    );
    assert_eq!(a.ichd3.criteria_7_2, parent);
    assert_eq!(
        a.ichd3.code.as_deref(),
        if parent == Some(true) {
            Some("7.2.3")
        } else {
            None
        }
    );
}

#[test_case(json!({"procedure_or_trauma": true}), Some("7.2.2"), Some(true); "trauma: 7.2.2")]
#[test_case(json!({"procedure_or_trauma": false}), Some("7.2.3"), Some(true); "spontaneous: 7.2.3")]
#[test_case(json!({"procedure_or_trauma": null}), None, None; "history unknown: undetermined")]
#[test_case(json!({"procedure_or_trauma": true, "headache_onset_date": "2026-01-07", "punctures": [{"date": "2026-01-02", "level": "L4"}]}), Some("7.2.1"), Some(true); "headache 5 days after puncture: 7.2.1")]
#[test_case(json!({"procedure_or_trauma": true, "headache_onset_date": "2026-01-08", "punctures": [{"date": "2026-01-02", "level": "L4"}]}), Some("7.2.2"), Some(true); "6 days after puncture: 7.2.2")]
#[test_case(json!({"procedure_or_trauma": false, "headache_onset_date": "2026-01-08", "punctures": [{"date": "2025-12-20", "level": "L4"}]}), None, Some(false); "puncture 19 days before onset: not 7.2.3")]
#[test_case(json!({"procedure_or_trauma": false, "headache_onset_date": "2026-01-08", "punctures": [{"date": "2025-11-01", "level": "L4"}]}), Some("7.2.3"), Some(true); "puncture 68 days before onset: 7.2.3")]
#[test_case(json!({"procedure_or_trauma": false, "intrathecal_catheter": {"entry_level": "L2/3"}}), Some("7.2.2"), Some(true); "intrathecal catheter is a procedure")]
fn ichd3_subtypes(extra: Value, code: Option<&str>, fulfilled: Option<bool>) {
    let c = merge(
        json!({"orthostatic_headache": true, "opening_pressure_mmh2o": 30}),
        extra,
    );
    let a = run(json!({}), c);
    assert_eq!(a.ichd3.criteria_7_2, Some(true));
    assert_eq!(a.ichd3.code.as_deref(), code);
    assert_eq!(a.ichd3.fulfilled, fulfilled);
}

#[test]
fn ichd3_imaging_evidence_and_missing() {
    let a = run(
        mri(json!([{"from_level": "T1", "to_level": "T9"}])),
        json!({"headache": true, "procedure_or_trauma": false}),
    );
    assert_eq!(a.ichd3.criteria_7_2, Some(true));
    let a = run(json!({}), json!({}));
    assert_eq!(a.ichd3.criteria_7_2, None);
    assert!(a.ichd3.missing.contains(&"clinical.headache".to_owned()));
    let a = run(json!({}), json!({"headache": false}));
    assert_eq!(
        (a.ichd3.criteria_7_2, a.ichd3.fulfilled),
        (Some(false), Some(false))
    );
}

#[test_case(5.4, Some(true); "mpd 5.4 sagging")]
#[test_case(5.5, None; "mpd 5.5 not sagging (<)")]
fn ichd3_brain_sagging(mpd: f64, parent: Option<bool>) {
    let a = run(
        json!({"brain": {"mamillopontine_distance_mm": mpd}}),
        json!({"headache": true}),
    );
    assert_eq!(a.ichd3.criteria_7_2, parent);
}

// ---- J007-2 (§8) ----

#[test_case(json!(true), true, Some(true); "orthostatic + 確定: eligible")]
#[test_case(json!(false), true, Some(false); "no orthostatic headache: not eligible")]
#[test_case(json!(null), true, None; "orthostatic unknown: undetermined")]
#[test_case(json!(true), false, Some(false); "diagnosis 疑: not eligible")]
fn j007_2(oh: Value, definitive: bool, eligible: Option<bool>) {
    let f = if definitive {
        ctm(
            json!([{"level": "T4", "side": "left", "continuous_with_sas": true, "dural_defect": false, "at_puncture_site": false, "at_catheter_entry": false,
            "evidence": [{"series_instance_uid": "1.2.3", "slice_index": 42}]}]),
        )
    } else {
        mri(json!([{"from_level": "T3", "to_level": "T5", "non_enhancing": true}]))
    };
    let a = run(f, json!({"orthostatic_headache": oh}));
    assert_eq!(a.j007_2.eligible, eligible);
    if eligible == Some(false) {
        assert!(a.j007_2.claim_text_ja.is_none());
    } else {
        let ja = a.j007_2.claim_text_ja.as_deref().unwrap();
        let en = a.j007_2.claim_text_en.as_deref().unwrap();
        assert!(
            ja.contains("確定")
                && ja.contains("2026-01-10")
                && ja.contains("Test Hospital")
                && ja.contains("T4"),
            "{ja}"
        );
        assert!(
            en.contains("definitive")
                && en.contains("2026-01-10")
                && en.contains("Test Hospital")
                && en.contains("left"),
            "{en}"
        );
        assert_eq!(
            a.j007_2.supporting_findings,
            ["ct_myelography.epidural_contrast.sites[0]"]
        );
        // evidence links reach the trace
        let t = a
            .trace
            .iter()
            .find(|t| t.rule_id == "MHLW2011-C-definitive")
            .unwrap();
        assert_eq!(t.inputs["evidence"][0]["series_instance_uid"], "1.2.3");
    }
}

// ---- flowchart (§12), children (§13), pump (§11) ----

#[test_case(json!({}), "contrast_brain_mri"; "nothing yet: brain MRI")]
#[test_case(json!({"brain": {}}), "contrast_spinal_mri"; "brain only: spinal MRI")]
#[test_case(json!({"brain": {}, "spine": {"epidural_fluid": {"status": "absent"}}}), "ri_cisternography_or_ct_myelography"; "no leak on MRI: RI or CTM")]
#[test_case(json!({"brain": {}, "spine": {"epidural_fluid": {"status": "present", "collections": [{"from_level": "T2", "to_level": "T8", "non_enhancing": true, "continuous_with_sas": true}]}}}), "treat_bed_rest_or_blood_patch"; "MRI leak: treat")]
#[test_case(json!({"brain": {}, "spine": {"epidural_fluid": {"status": "absent"}}, "ct_myelography": {"epidural_contrast": {"status": "absent"}}}), "consider_other_diseases"; "CTM negative: other diseases")]
fn flowchart(f: Value, step: &str) {
    assert_eq!(run(f, json!({})).flowchart.next_step, step);
}

#[test_case(17.9, true; "17.9 years: pediatric")]
#[test_case(18.0, false; "18 years: adult")]
#[test_case(18.1, false; "18.1 years: adult")]
fn pediatric_note(age: f64, pediatric: bool) {
    let a = run(json!({}), json!({"age_years": age}));
    assert_eq!(a.notes.iter().any(|n| n.id == "pediatric"), pediatric);
    let a = run(json!({"study": {"patient_age_years": age}}), json!({}));
    assert_eq!(a.notes.iter().any(|n| n.id == "pediatric"), pediatric);
}

#[test_case(json!({"brain": {}}), json!(true), true; "pump and MRI: reminder")]
#[test_case(json!({}), json!(true), false; "pump, no MRI: none")]
#[test_case(json!({"brain": {}}), json!(false), false; "catheter without pump: none")]
fn pump_reminder(f: Value, pump: Value, reminder: bool) {
    let a = run(
        f,
        json!({"intrathecal_catheter": {"entry_level": "L2/3", "tip_level": "T10", "pump": pump}}),
    );
    assert_eq!(a.notes.iter().any(|n| n.id == "pump_mri_check"), reminder);
}

#[test]
fn every_fired_rule_is_traced_with_metadata() {
    let f = merge(
        ri(
            json!([{"pattern": "asymmetric", "level": "T6"}]),
            json!(false),
        ),
        mri(json!([{"from_level": "T5", "to_level": "T7", "non_enhancing": true}])),
    );
    let a = run(f, json!({"orthostatic_headache": true}));
    let rules = RuleSet::builtin();
    for t in &a.trace {
        let m = rules.meta(&t.rule_id).expect("traced rule is defined");
        assert_eq!(m.confidence, t.confidence);
        assert!(!t.source.is_empty());
    }
    for f in &a.mhlw2011.findings {
        for id in &f.rule_ids {
            assert!(a.trace.iter().any(|t| &t.rule_id == id));
        }
    }
    assert_eq!(a.mhlw2011.diagnosis, DEFINITE);
}

// ---- documented choices (docs/criteria.md) ----

#[test_case(49.9, Some(true); "pma 49.9 sagging")]
#[test_case(50.0, None; "pma 50 not sagging (<)")]
fn ichd3_pontomesencephalic_angle(deg: f64, parent: Option<bool>) {
    let a = run(
        json!({"brain": {"pontomesencephalic_angle_deg": deg}}),
        json!({"headache": true}),
    );
    assert_eq!(a.ichd3.criteria_7_2, parent);
}

#[test]
fn ichd3_counts_puncture_site_contrast_as_leakage() {
    let a = run(
        ctm(
            json!([{"level": "L4", "continuous_with_sas": true, "dural_defect": false, "at_puncture_site": true, "at_catheter_entry": false}]),
        ),
        json!({"headache": true, "headache_onset_date": "2026-01-06", "punctures": [{"date": "2026-01-03", "level": "L4"}], "procedure_or_trauma": true}),
    );
    assert_eq!(a.mhlw2011.diagnosis, None);
    assert_eq!(a.ichd3.criteria_7_2, Some(true));
    assert_eq!(a.ichd3.code.as_deref(), Some("7.2.1"));
}

#[test]
fn gl2007_bladder_unknown_when_no_early_image() {
    let f = json!({"cisternography": {"status": "present", "convexity_activity_24h": true, "early_bladder_h": null,
        "time_points": [{"hours": 6.0, "view": "posterior"}, {"hours": 24.0, "view": "posterior"}]}});
    assert_eq!(run(f, json!({})).gl2007.early_bladder, None);
    let f = json!({"cisternography": {"status": "present", "convexity_activity_24h": true, "early_bladder_h": null,
        "time_points": [{"hours": 1.0, "view": "posterior"}, {"hours": 24.0, "view": "posterior"}]}});
    assert_eq!(run(f, json!({})).gl2007.early_bladder, Some(false));
}

#[test]
fn absent_status_with_collections_is_ignored_with_warning() {
    let a = run(
        json!({"spine": {"epidural_fluid": {"status": "absent", "collections": [{"from_level": "T1", "non_enhancing": true, "continuous_with_sas": true}]}}}),
        json!({}),
    );
    assert!(a.mhlw2011.findings.is_empty());
    assert!(a.warnings.iter().any(|w| w.contains("status is absent")));
}

#[test]
fn ichd3_without_onset_date_and_dated_puncture_is_undetermined() {
    let a = run(
        json!({}),
        json!({"orthostatic_headache": true, "opening_pressure_mmh2o": 30, "procedure_or_trauma": false, "punctures": [{"date": "2026-01-09", "level": "L4"}]}),
    );
    assert_eq!(a.ichd3.criteria_7_2, Some(true));
    assert_eq!((a.ichd3.code.as_deref(), a.ichd3.fulfilled), (None, None));
    assert!(
        a.ichd3
            .missing
            .iter()
            .any(|m| m.contains("headache_onset_date"))
    );
}

#[test]
fn cisternography_absent_with_measurements_is_an_analysed_negative_study() {
    let a = run(
        json!({"brain": {}, "spine": {"epidural_fluid": {"status": "absent"}},
            "cisternography": {"status": "absent", "retention_24h": {"raw_pct": 45.0}, "convexity_activity_24h": true}}),
        json!({}),
    );
    assert!(a.mhlw2011.findings.is_empty());
    assert_eq!(a.gl2007.ri_positive, Some(false));
    assert_eq!(a.flowchart.next_step, "consider_other_diseases");
    let a = run(
        json!({"brain": {}, "spine": {"epidural_fluid": {"status": "absent"}}, "cisternography": {"status": "absent"}}),
        json!({}),
    );
    assert_eq!(a.gl2007.ri_positive, None);
    assert_eq!(a.flowchart.next_step, "ri_cisternography_or_ct_myelography");
}
