//! The checker: findings + clinical context + rule set -> [`Assessment`].

use csfleak_findings::{Brain, Findings, Level, Side, Status, range_span, span_distance};
use serde_json::{Value, json};

use crate::assessment::{
    ASSESSMENT_SCHEMA_VERSION, Assessment, Bern, BernItem, Flowchart, Gl2007, GradedFinding, Ichd3,
    J0072, Mhlw2011, Modality, NotAssessable, Note, TraceEntry,
};
use crate::rules::{Confidence, Params, RiPattern, RuleSet};
use crate::{ClinicalContext, Grade};

/// Grade `findings` with `clinical` context under `rules`.
pub fn assess(findings: &Findings, clinical: &ClinicalContext, rules: &RuleSet) -> Assessment {
    let mut cx = Cx {
        rules,
        p: &rules.params,
        f: findings,
        c: clinical,
        trace: Vec::new(),
        warnings: Vec::new(),
        na: Vec::new(),
        done: Done::default(),
    };
    let mut graded = cx.spinal_mri();
    graded.extend(cx.ct_myelography());
    graded.extend(cx.cisternography());
    let (diagnosis, dx_rules, supporting) = cx.diagnose(&graded);
    let (ih, ih_rules) = cx.intracranial_hypotension();
    let gl2007 = cx.gl2007();
    let ichd3 = cx.ichd3();
    let bern = cx.bern();
    let j007_2 = cx.j007_2(diagnosis, &graded, &supporting);
    let flowchart = cx.flowchart(diagnosis);
    let notes = cx.notes();
    if !cx.na.is_empty() && diagnosis < Some(Grade::Definitive) {
        cx.warnings.push(format!(
            "{} input(s) not assessable or missing (see mhlw2011.not_assessable); the diagnosis may be higher once they are known",
            cx.na.len()
        ));
    }
    Assessment {
        schema_version: ASSESSMENT_SCHEMA_VERSION.to_owned(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        rules_version: rules.rules_version.clone(),
        parameters: rules.params.clone(),
        mhlw2011: Mhlw2011 {
            findings: graded,
            diagnosis,
            diagnosis_rule_ids: dx_rules,
            diagnosis_supporting_findings: supporting,
            intracranial_hypotension: ih,
            intracranial_hypotension_rule_ids: ih_rules,
            not_assessable: cx.na,
        },
        gl2007,
        ichd3,
        bern,
        j007_2,
        flowchart,
        notes,
        trace: cx.trace,
        warnings: cx.warnings,
        reader_overrides: findings.reader_overrides.clone(),
    }
}

/// Which examinations were assessable.
#[derive(Debug, Default)]
struct Done {
    spinal_mri: bool,
    ct_myelography: bool,
    cisternography: bool,
}

struct Cx<'a> {
    rules: &'a RuleSet,
    p: &'a Params,
    f: &'a Findings,
    c: &'a ClinicalContext,
    trace: Vec<TraceEntry>,
    warnings: Vec<String>,
    na: Vec<NotAssessable>,
    done: Done,
}

/// A level range as a vertebral index interval.
fn span_of(from: Option<Level>, to: Option<Level>) -> Option<(u8, u8)> {
    match (from, to) {
        (Some(a), Some(b)) => Some(range_span(a, b)),
        (Some(a), None) | (None, Some(a)) => Some(a.span()),
        (None, None) => None,
    }
}

/// A cisternography section with `status: "absent"` that still carries measurements.
fn analysed_without_findings(c: &csfleak_findings::Cisternography) -> bool {
    !c.time_points.is_empty()
        || c.retention_24h.is_some()
        || c.early_bladder_h.is_some()
        || c.convexity_activity_24h.is_some()
}

fn tri_or(values: &[Option<bool>]) -> Option<bool> {
    if values.contains(&Some(true)) {
        Some(true)
    } else if values.iter().all(|v| *v == Some(false)) {
        Some(false)
    } else {
        None
    }
}

fn tri_and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

impl Cx<'_> {
    /// Record a fired rule; returns its confidence.
    fn fire(&mut self, id: &str, inputs: Value, result: Value) -> Confidence {
        let (source, confidence) = self.rules.meta(id).map_or_else(
            || (String::from("(undefined rule)"), Confidence::U),
            |m| (m.source.clone(), m.confidence),
        );
        self.trace.push(TraceEntry {
            rule_id: id.to_owned(),
            source,
            confidence,
            inputs,
            result,
        });
        confidence
    }

    fn not_assessable(&mut self, path: &str, reason: Option<&str>) {
        self.na.push(NotAssessable {
            path: path.to_owned(),
            reason: reason
                .unwrap_or("not assessable (no reason given)")
                .to_owned(),
        });
    }

    /// If both ends of the range `from..=to` lie within the puncture tolerance of a documented
    /// puncture or the catheter entry level, the kinds hit (`"puncture"`, `"catheter_entry"`).
    fn puncture_hits(&self, from: Level, to: Level) -> Vec<&'static str> {
        let tol = self.p.puncture_tolerance_levels;
        let mut hits: Vec<&'static str> = self
            .c
            .puncture_levels()
            .into_iter()
            .filter(|(l, _)| l.distance(from) <= tol && l.distance(to) <= tol)
            .map(|(_, kind)| kind)
            .collect();
        hits.sort_unstable();
        hits.dedup();
        hits
    }

    fn decided(&mut self, rule_ids: &[String], what: &str, grade: Option<Grade>) -> Vec<String> {
        let unverified: Vec<String> = rule_ids
            .iter()
            .filter(|id| {
                self.rules
                    .meta(id)
                    .is_none_or(|m| m.confidence == Confidence::U)
            })
            .cloned()
            .collect();
        for id in &unverified {
            self.warnings.push(format!(
                "unverified rule {id} decided the grade ({}) of {what}",
                crate::grade::describe(grade)
            ));
        }
        unverified
    }

    fn spinal_mri(&mut self) -> Vec<GradedFinding> {
        let mut out = Vec::new();
        let Some(spine) = &self.f.spine else {
            return out;
        };
        let Some(ef) = &spine.epidural_fluid else {
            self.not_assessable("spine.epidural_fluid", Some("not evaluated"));
            return out;
        };
        match ef.status {
            Status::NotAssessable => {
                self.not_assessable("spine.epidural_fluid", ef.reason.as_deref());
            }
            Status::Absent => {
                self.done.spinal_mri = true;
                if !ef.collections.is_empty() {
                    self.warnings.push(
                        "spine.epidural_fluid: status is absent but collections are listed; the collections were ignored".to_owned(),
                    );
                }
                self.fire(
                    "MHLW2011-A-absent",
                    json!({"path": "spine.epidural_fluid", "status": "absent"}),
                    Value::Null,
                );
            }
            Status::Present => {
                self.done.spinal_mri = true;
                if ef.collections.is_empty() {
                    let path = "spine.epidural_fluid";
                    let (grade, rule) = self.mri_table(None, None);
                    let inputs = json!({"path": path, "epidural_water_signal": true, "non_enhancing": null, "continuous_with_sas": null});
                    out.push(self.mri_finding(
                        path,
                        grade,
                        rule.into_iter().collect(),
                        &inputs,
                        None,
                        None,
                        None,
                        Vec::new(),
                        ef.provenance.clone(),
                        false,
                    ));
                }
                for (i, col) in ef.collections.iter().enumerate() {
                    let path = format!("spine.epidural_fluid.collections[{i}]");
                    let inputs = json!({
                        "path": path, "epidural_water_signal": true,
                        "non_enhancing": col.non_enhancing, "continuous_with_sas": col.continuous_with_sas,
                        "from_level": col.from_level, "to_level": col.to_level,
                        "excluded_as": col.excluded_as, "evidence": col.evidence,
                    });
                    let span = span_of(col.from_level, col.to_level);
                    let ends = col
                        .from_level
                        .zip(col.to_level)
                        .or_else(|| col.from_level.or(col.to_level).map(|l| (l, l)));
                    let hits = ends
                        .map(|(a, b)| self.puncture_hits(a, b))
                        .unwrap_or_default();
                    if span.is_none() && !self.c.puncture_levels().is_empty() {
                        self.warnings.push(format!(
                            "{path}: no level given, so the puncture-site rule could not be checked"
                        ));
                    }
                    let (grade, rules) = if col.excluded_as.is_some() {
                        (None, vec!["MHLW2011-A-mimic".to_owned()])
                    } else if !hits.is_empty() {
                        let mut r = vec!["CSFLEAK-MRI-PUNCTURE-SITE".to_owned()];
                        if hits.contains(&"catheter_entry") {
                            r.push("CSFLEAK-CATHETER-ENTRY".to_owned());
                        }
                        (None, r)
                    } else {
                        let (g, r) = self.mri_table(col.non_enhancing, col.continuous_with_sas);
                        (g, r.into_iter().collect())
                    };
                    let side = col.side;
                    out.push(self.mri_finding(
                        &path,
                        grade,
                        rules,
                        &inputs,
                        col.from_level,
                        col.to_level,
                        side,
                        col.evidence.clone(),
                        col.provenance.clone().or_else(|| ef.provenance.clone()),
                        !hits.is_empty(),
                    ));
                }
            }
        }
        out
    }

    fn mri_table(
        &self,
        non_enhancing: Option<bool>,
        continuous: Option<bool>,
    ) -> (Option<Grade>, Option<String>) {
        self.rules
            .spinal_mri_table
            .iter()
            .find(|r| {
                r.non_enhancing.holds(non_enhancing) && r.continuous_with_sas.holds(continuous)
            })
            .map_or((None, None), |r| (r.grade.grade(), Some(r.rule.clone())))
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one call site per branch; a struct would only rename the arguments"
    )]
    fn mri_finding(
        &mut self,
        path: &str,
        grade: Option<Grade>,
        rule_ids: Vec<String>,
        inputs: &Value,
        from: Option<Level>,
        to: Option<Level>,
        side: Option<Side>,
        evidence: Vec<csfleak_findings::Evidence>,
        provenance: Option<csfleak_findings::Provenance>,
        at_puncture: bool,
    ) -> GradedFinding {
        for id in &rule_ids {
            self.fire(id, inputs.clone(), json!({"grade": grade}));
        }
        let unverified = self.decided(&rule_ids, path, grade);
        let (ja, en) = if at_puncture {
            (
                "穿刺部位/カテーテル刺入部の硬膜外水信号病変（診断に用いない）".to_owned(),
                "epidural water signal at a puncture / catheter entry level (not diagnostic)"
                    .to_owned(),
            )
        } else if grade.is_none() {
            (
                "除外すべき病変（静脈叢・神経根嚢胞など）".to_owned(),
                "excluded mimic (venous plexus, Tarlov cyst...)".to_owned(),
            )
        } else {
            (
                "硬膜外水信号病変".to_owned(),
                "epidural water-signal lesion".to_owned(),
            )
        };
        GradedFinding {
            finding_path: path.to_owned(),
            modality: Modality::SpinalMri,
            grade,
            level_from: from,
            level_to: to,
            side,
            rule_ids,
            unverified_rules: unverified,
            description_ja: ja,
            description_en: en,
            at_puncture_or_catheter_entry: at_puncture,
            evidence,
            provenance,
        }
    }

    fn ct_myelography(&mut self) -> Vec<GradedFinding> {
        let mut out = Vec::new();
        let Some(ctm) = &self.f.ct_myelography else {
            return out;
        };
        let Some(ec) = &ctm.epidural_contrast else {
            self.not_assessable("ct_myelography.epidural_contrast", Some("not evaluated"));
            return out;
        };
        match ec.status {
            Status::NotAssessable => {
                self.not_assessable("ct_myelography.epidural_contrast", ec.reason.as_deref());
            }
            Status::Absent => {
                self.done.ct_myelography = true;
                if !ec.sites.is_empty() {
                    self.warnings.push(
                        "ct_myelography.epidural_contrast: status is absent but sites are listed; the sites were ignored".to_owned(),
                    );
                }
            }
            Status::Present if ec.sites.is_empty() => {
                self.done.ct_myelography = true;
                self.not_assessable(
                    "ct_myelography.epidural_contrast.sites",
                    Some("epidural contrast reported without sites: the puncture site cannot be excluded, so it is not graded"),
                );
            }
            Status::Present => {
                self.done.ct_myelography = true;
                let punctures_known = !self.c.puncture_levels().is_empty();
                for (i, site) in ec.sites.iter().enumerate() {
                    let path = format!("ct_myelography.epidural_contrast.sites[{i}]");
                    let hits = site
                        .level
                        .map(|l| self.puncture_hits(l, l))
                        .unwrap_or_default();
                    let at_puncture =
                        site.at_puncture_site == Some(true) || hits.contains(&"puncture");
                    let at_catheter =
                        site.at_catheter_entry == Some(true) || hits.contains(&"catheter_entry");
                    if site.level.is_none()
                        && punctures_known
                        && !(at_puncture || at_catheter)
                        && site.at_puncture_site != Some(false)
                    {
                        self.not_assessable(
                            &path,
                            Some("site without a level and puncture levels are documented: the puncture site cannot be excluded, so it is not graded"),
                        );
                        continue;
                    }
                    let inputs = json!({
                        "path": path, "level": site.level, "side": site.side,
                        "dural_defect": site.dural_defect, "continuous_with_sas": site.continuous_with_sas,
                        "at_puncture_site": site.at_puncture_site, "at_catheter_entry": site.at_catheter_entry,
                        "clinical_puncture_levels": self.c.puncture_levels().iter().map(|(l, k)| json!({"level": l, "kind": k})).collect::<Vec<_>>(),
                        "puncture_tolerance_levels": self.p.puncture_tolerance_levels,
                        "evidence": site.evidence,
                    });
                    let (grade, rule_ids): (Option<Grade>, Vec<String>) = if at_puncture
                        || at_catheter
                    {
                        let mut r = Vec::new();
                        if at_puncture {
                            r.push("MHLW2011-C-puncture-site".to_owned());
                        }
                        if at_catheter {
                            r.push("CSFLEAK-CATHETER-ENTRY".to_owned());
                        }
                        (None, r)
                    } else if site.dural_defect == Some(true)
                        || site.continuous_with_sas == Some(true)
                    {
                        (
                            Some(Grade::Definitive),
                            vec!["MHLW2011-C-definitive".to_owned()],
                        )
                    } else {
                        if !punctures_known && site.at_puncture_site.is_none() {
                            self.warnings.push(format!(
                                "{path}: puncture level unknown (no clinical punctures, at_puncture_site null); 'not continuous with the puncture site' is assumed"
                            ));
                        }
                        (
                            Some(Grade::Definite),
                            vec!["MHLW2011-C-definite".to_owned()],
                        )
                    };
                    for id in &rule_ids {
                        self.fire(id, inputs.clone(), json!({"grade": grade}));
                    }
                    let unverified = self.decided(&rule_ids, &path, grade);
                    let (ja, en) = match grade {
                        Some(Grade::Definitive) => (
                            "くも膜下腔と連続する硬膜外造影剤漏出所見（または硬膜欠損）",
                            "epidural contrast leakage continuous with the subarachnoid space (or dural defect)",
                        ),
                        Some(_) => (
                            "穿刺部位と連続しない硬膜外造影剤漏出所見",
                            "epidural contrast leakage not continuous with the puncture site",
                        ),
                        None => (
                            "穿刺部位/カテーテル刺入部の硬膜外造影剤（診断に用いない）",
                            "epidural contrast at the puncture / catheter entry level (not diagnostic)",
                        ),
                    };
                    out.push(GradedFinding {
                        finding_path: path,
                        modality: Modality::CtMyelography,
                        grade,
                        level_from: site.level,
                        level_to: site.level,
                        side: site.side,
                        rule_ids,
                        unverified_rules: unverified,
                        description_ja: ja.to_owned(),
                        description_en: en.to_owned(),
                        at_puncture_or_catheter_entry: at_puncture || at_catheter,
                        evidence: site.evidence.clone(),
                        provenance: site.provenance.clone().or_else(|| ec.provenance.clone()),
                    });
                }
            }
        }
        out
    }

    fn ri_table(&self, pattern: RiPattern, cf: Option<bool>) -> (Option<Grade>, Option<String>) {
        self.rules
            .ri_table
            .iter()
            .find(|r| r.pattern == pattern && r.circulation_failure.holds(cf))
            .map_or((None, None), |r| (r.grade.grade(), Some(r.rule.clone())))
    }

    fn cisternography(&mut self) -> Vec<GradedFinding> {
        let mut out = Vec::new();
        let Some(ci) = &self.f.cisternography else {
            return out;
        };
        match ci.status {
            Status::Absent => {
                // `absent` with measurements = analysed, no abnormal RI finding; without any
                // data = no cisternography in the study (docs/criteria.md).
                if analysed_without_findings(ci) {
                    self.done.cisternography = true;
                    if !ci.accumulations.is_empty() {
                        self.warnings.push("cisternography: status is absent but accumulations are listed; they were ignored".to_owned());
                    }
                }
                return out;
            }
            Status::NotAssessable => {
                self.not_assessable("cisternography", ci.reason.as_deref());
                return out;
            }
            Status::Present => self.done.cisternography = true,
        }
        let cf = ci.convexity_activity_24h.map(|v| !v);
        if cf.is_none() {
            let reason = ci
                .convexity_activity_24h_status
                .as_ref()
                .and_then(|s| s.reason.clone());
            self.not_assessable(
                "cisternography.convexity_activity_24h",
                Some(&format!(
                    "{}: CSF circulation failure could not be assessed; RI grades are given without it",
                    reason.as_deref().unwrap_or("unknown")
                )),
            );
        }
        let mut push = |cx: &mut Self,
                        path: String,
                        pattern: RiPattern,
                        acc: Option<&csfleak_findings::Accumulation>| {
            let (grade, rule) = cx.ri_table(pattern, cf);
            let Some(rule) = rule else { return };
            let inputs = json!({
                "path": path, "pattern": pattern, "circulation_failure": cf,
                "convexity_activity_24h": ci.convexity_activity_24h,
                "level": acc.and_then(|a| a.level), "side": acc.and_then(|a| a.side),
                "evidence": acc.map(|a| a.evidence.clone()).unwrap_or_default(),
            });
            cx.fire(&rule, inputs, json!({"grade": grade}));
            let rule_ids = vec![rule];
            let unverified = cx.decided(&rule_ids, &path, grade);
            let level = acc.and_then(|a| a.level);
            if let Some(l) = level {
                if !cx.puncture_hits(l, l).is_empty() {
                    cx.warnings.push(format!(
                        "{path}: RI accumulation at a puncture / catheter entry level; iatrogenic leakage cannot be excluded (Sakurai 2010)"
                    ));
                }
            }
            let (ja, en) = match pattern {
                RiPattern::UnilateralLocalized => (
                    "片側限局性RI異常集積",
                    "unilateral localized abnormal RI accumulation",
                ),
                RiPattern::Asymmetric => {
                    ("非対称性RI異常集積", "asymmetric abnormal RI accumulation")
                }
                RiPattern::CervicothoracicSymmetric => (
                    "頸～胸部の対称性RI異常集積",
                    "symmetric cervicothoracic RI accumulation",
                ),
                RiPattern::LumbarSymmetric => (
                    "腰部両側対称性集積（参考所見）",
                    "bilateral symmetric lumbar accumulation (reference only)",
                ),
                RiPattern::None => (
                    "脳脊髄液循環不全（24時間像で円蓋部集積なし）",
                    "CSF circulation failure (no convexity activity at 24 h)",
                ),
            };
            let (ja, en) = if cf == Some(true) && pattern != RiPattern::None {
                (
                    format!("{ja}＋脳脊髄液循環不全"),
                    format!("{en} + CSF circulation failure"),
                )
            } else {
                (ja.to_owned(), en.to_owned())
            };
            out.push(GradedFinding {
                finding_path: path,
                modality: Modality::RiCisternography,
                grade,
                level_from: level,
                level_to: level,
                side: acc.and_then(|a| a.side),
                rule_ids,
                unverified_rules: unverified,
                description_ja: ja,
                description_en: en,
                at_puncture_or_catheter_entry: level
                    .is_some_and(|l| !cx.puncture_hits(l, l).is_empty()),
                evidence: acc.map(|a| a.evidence.clone()).unwrap_or_default(),
                provenance: acc
                    .and_then(|a| a.provenance.clone())
                    .or_else(|| ci.provenance.clone()),
            });
        };
        for (i, acc) in ci.accumulations.iter().enumerate() {
            push(
                self,
                format!("cisternography.accumulations[{i}]"),
                acc.pattern.into(),
                Some(acc),
            );
        }
        if ci.accumulations.is_empty() {
            push(
                self,
                "cisternography.convexity_activity_24h".to_owned(),
                RiPattern::None,
                None,
            );
        }
        if let Some(h) = ci.early_bladder_h {
            if h.get() <= self.p.early_bladder_h_mhlw {
                let path = "cisternography.early_bladder_h".to_owned();
                let rule_ids = vec!["MHLW2011-B3-early-bladder".to_owned()];
                self.fire(
                    &rule_ids[0],
                    json!({"early_bladder_h": h, "threshold_h": self.p.early_bladder_h_mhlw}),
                    json!({"grade": "参考"}),
                );
                let unverified = self.decided(&rule_ids, &path, Some(Grade::Reference));
                out.push(GradedFinding {
                    finding_path: path,
                    modality: Modality::RiCisternography,
                    grade: Some(Grade::Reference),
                    level_from: None,
                    level_to: None,
                    side: None,
                    rule_ids,
                    unverified_rules: unverified,
                    description_ja: format!("早期膀胱内RI集積（{} 時間、参考所見）", h.get()),
                    description_en: format!(
                        "early bladder activity at {} h (reference only)",
                        h.get()
                    ),
                    at_puncture_or_catheter_entry: false,
                    evidence: Vec::new(),
                    provenance: ci.provenance.clone(),
                });
            }
        }
        out
    }

    fn diagnose(&mut self, graded: &[GradedFinding]) -> (Option<Grade>, Vec<String>, Vec<String>) {
        let paths = |g: Grade| -> Vec<String> {
            graded
                .iter()
                .filter(|f| f.grade == Some(g))
                .map(|f| f.finding_path.clone())
                .collect()
        };
        let grades: Vec<Value> = graded
            .iter()
            .map(|f| json!({"path": f.finding_path, "grade": f.grade}))
            .collect();
        for (finding_grade, rule) in [
            (Grade::Definitive, "MHLW2011-DX-definitive"),
            (Grade::Definite, "MHLW2011-DX-definite"),
        ] {
            let support = paths(finding_grade);
            if !support.is_empty() {
                self.fire(
                    rule,
                    json!({"findings": grades, "supporting": support}),
                    json!({"diagnosis": finding_grade}),
                );
                return (Some(finding_grade), vec![rule.to_owned()], support);
            }
        }
        // Same-site pairing of RI with spinal MRI (clinical.md §2.5, §2.8).
        let tol = self.p.same_site_tolerance_levels;
        let candidates = |m: Modality| -> Vec<&GradedFinding> {
            graded
                .iter()
                .filter(|f| {
                    f.modality == m
                        && matches!(f.grade, Some(Grade::Suspected | Grade::StronglySuspected))
                })
                .collect()
        };
        let (ri, mr) = (
            candidates(Modality::RiCisternography),
            candidates(Modality::SpinalMri),
        );
        let mut pairs = Vec::new();
        for r in &ri {
            for m in &mr {
                let (Some(rs), Some(ms)) = (
                    span_of(r.level_from, r.level_to),
                    span_of(m.level_from, m.level_to),
                ) else {
                    continue;
                };
                let sides_ok = match (r.side, m.side) {
                    (Some(a), Some(b)) => a.compatible(b),
                    _ => true,
                };
                if span_distance(rs, ms) <= tol && sides_ok {
                    pairs.push((*r, *m));
                }
            }
        }
        if !ri.is_empty()
            && !mr.is_empty()
            && ri
                .iter()
                .chain(&mr)
                .any(|f| f.level_from.is_none() && f.level_to.is_none())
        {
            self.warnings.push("a RI or spinal MRI finding has no level, so same-site pairing could not be checked for it".to_owned());
        }
        if let Some((r, m)) = pairs
            .iter()
            .find(|(r, m)| r.grade.max(m.grade) == Some(Grade::StronglySuspected))
        {
            let support = vec![r.finding_path.clone(), m.finding_path.clone()];
            self.fire(
                "MHLW2011-DX-same-site",
                json!({"ri": {"path": r.finding_path, "grade": r.grade, "level_from": r.level_from, "level_to": r.level_to, "side": r.side},
                       "spinal_mri": {"path": m.finding_path, "grade": m.grade, "level_from": m.level_from, "level_to": m.level_to, "side": m.side},
                       "same_site_tolerance_levels": tol}),
                json!({"diagnosis": "確実"}),
            );
            let ids = vec!["MHLW2011-DX-same-site".to_owned()];
            self.decided(&ids, "the 脳脊髄液漏出症 diagnosis", Some(Grade::Definite));
            return (Some(Grade::Definite), ids, support);
        }
        let support: Vec<String> = ri
            .iter()
            .chain(&mr)
            .map(|f| f.finding_path.clone())
            .collect();
        if !support.is_empty() {
            self.fire(
                "MHLW2011-DX-suspected",
                json!({"findings": grades, "same_site_pairs": pairs.iter().map(|(r, m)| json!([r.finding_path, m.finding_path])).collect::<Vec<_>>(), "same_site_tolerance_levels": tol}),
                json!({"diagnosis": "疑"}),
            );
            let ids = vec!["MHLW2011-DX-suspected".to_owned()];
            self.decided(&ids, "the 脳脊髄液漏出症 diagnosis", Some(Grade::Suspected));
            return (Some(Grade::Suspected), ids, support);
        }
        self.fire(
            "MHLW2011-DX-none",
            json!({"findings": grades}),
            json!({"diagnosis": null}),
        );
        (None, vec!["MHLW2011-DX-none".to_owned()], Vec::new())
    }

    fn intracranial_hypotension(&mut self) -> (Option<Grade>, Vec<String>) {
        let brain = self.f.brain.as_ref();
        let enh_jp = brain.and_then(|b| b.dural_enhancement_jp);
        let enh = enh_jp.or_else(|| brain.and_then(|b| b.pachymeningeal_enhancement));
        if enh_jp.is_none() && enh.is_some() {
            self.warnings.push(
                "低髄液圧症: brain.dural_enhancement_jp not given; brain.pachymeningeal_enhancement (Bern definition) used in its place".to_owned(),
            );
        }
        let threshold = self.p.csf_pressure_low_mmh2o_jp;
        let low_p = self.c.opening_pressure_mmh2o.map(|p| p.get() <= threshold);
        let oh = self.c.orthostatic_headache;
        let inputs = json!({"orthostatic_headache": oh, "dural_enhancement": enh, "opening_pressure_mmh2o": self.c.opening_pressure_mmh2o, "threshold_mmh2o_le": threshold});
        if oh != Some(true) {
            if oh.is_none() && (enh == Some(true) || low_p == Some(true)) {
                self.not_assessable(
                    "clinical.orthostatic_headache",
                    Some("unknown: the premise of the 低髄液圧症 criteria"),
                );
            }
            return (None, Vec::new());
        }
        let (grade, id) = match (enh, low_p) {
            (Some(true), Some(true)) => (Some(Grade::Definitive), "MHLW2011-IH-definitive"),
            (Some(true), _) | (_, Some(true)) => (Some(Grade::Definite), "MHLW2011-IH-definite"),
            _ => (None, ""),
        };
        if id.is_empty() {
            return (None, Vec::new());
        }
        self.fire(id, inputs, json!({"intracranial_hypotension": grade}));
        let ids = vec![id.to_owned()];
        self.decided(&ids, "低髄液圧症 (intracranial hypotension)", grade);
        if grade == Some(Grade::Definite) && (enh.is_none() || low_p.is_none()) {
            self.warnings.push("低髄液圧症 確実: the other criterion is unknown; 確定 is possible once it is known".to_owned());
        }
        (grade, ids)
    }

    fn gl2007(&mut self) -> Gl2007 {
        let basis = if self.p.ri_retention_use_decay_corrected {
            "decay_corrected"
        } else {
            "raw"
        };
        let ci = self.f.cisternography.as_ref().filter(|c| {
            c.status == Status::Present
                || (c.status == Status::Absent && analysed_without_findings(c))
        });
        let Some(ci) = ci else {
            return Gl2007 {
                ri_positive: None,
                early_bladder: None,
                extrathecal_ri: None,
                retention_low: None,
                retention_used_pct: None,
                retention_basis: basis.to_owned(),
            };
        };
        let p = self.p;
        let early_bladder = match ci.early_bladder_h {
            Some(h) => Some(h.get() <= p.early_bladder_h_gl2007),
            // null = no bladder activity seen, unless no image was taken inside the window.
            None if !ci.time_points.is_empty()
                && ci
                    .time_points
                    .iter()
                    .all(|t| t.hours.get() > p.early_bladder_h_gl2007) =>
            {
                None
            }
            None => Some(false),
        };
        let extrathecal = Some(ci.status == Status::Present && !ci.accumulations.is_empty());
        let ret = ci.retention_24h.as_ref();
        let value = ret.and_then(|r| {
            if p.ri_retention_use_decay_corrected {
                r.decay_corrected_pct
            } else {
                r.raw_pct
            }
        });
        let retention_low = value.map(|v| v.get() <= p.ri_retention_threshold_pct);
        if let Some(r) = ret {
            if let (Some(raw), Some(dc)) = (r.raw_pct, r.decay_corrected_pct) {
                let t = p.ri_retention_threshold_pct;
                if (raw.get() <= t) != (dc.get() <= t) {
                    self.warnings.push(format!(
                        "GL2007 retention: raw {raw:.1} and decay-corrected {dc:.1} lie on opposite sides of {t} %; graded on {basis} (unverified convention)"
                    ));
                }
            }
        }
        for (id, v, inputs) in [
            (
                "GL2007-RI-bladder",
                early_bladder,
                json!({"early_bladder_h": ci.early_bladder_h, "threshold_h_le": p.early_bladder_h_gl2007}),
            ),
            (
                "GL2007-RI-extrathecal",
                extrathecal,
                json!({"accumulations": ci.accumulations.len()}),
            ),
            (
                "GL2007-RI-retention",
                retention_low,
                json!({"retention_pct": value, "basis": basis, "threshold_pct_le": p.ri_retention_threshold_pct}),
            ),
        ] {
            self.fire(id, inputs, json!({"met": v}));
        }
        if retention_low.is_none() {
            let reason = ci
                .retention_24h_status
                .as_ref()
                .and_then(|s| s.reason.clone());
            self.not_assessable(
                "cisternography.retention_24h",
                Some(
                    reason
                        .as_deref()
                        .unwrap_or("24-h residual rate not available"),
                ),
            );
        }
        Gl2007 {
            ri_positive: tri_or(&[early_bladder, extrathecal, retention_low]),
            early_bladder,
            extrathecal_ri: extrathecal,
            retention_low,
            retention_used_pct: value.map(csfleak_findings::Pct::get),
            retention_basis: basis.to_owned(),
        }
    }

    /// ICHD-3 "evidence of CSF leakage on imaging".
    fn imaging_evidence(&self) -> Option<bool> {
        let p = self.p;
        let brain = self.f.brain.as_ref();
        let sag = |b: &Brain| {
            tri_or(&[
                b.mamillopontine_distance_mm
                    .map(|v| v.get() < p.sagging_mamillopontine_mm),
                b.pontomesencephalic_angle_deg
                    .map(|v| v.get() < p.sagging_pontomesencephalic_deg),
            ])
        };
        let brain_ev = brain.map(|b| tri_or(&[b.pachymeningeal_enhancement, sag(b)]));
        let spine_ev = self.f.spine.as_ref().map(|s| match &s.epidural_fluid {
            Some(ef) => match ef.status {
                Status::Present => Some(
                    ef.collections.is_empty()
                        || ef.collections.iter().any(|c| c.excluded_as.is_none()),
                ),
                Status::Absent => Some(false),
                Status::NotAssessable => None,
            },
            None => None,
        });
        let ctm_ev = self
            .f
            .ct_myelography
            .as_ref()
            .map(|c| match &c.epidural_contrast {
                Some(ec) => match ec.status {
                    Status::Present => Some(true),
                    Status::Absent => Some(false),
                    Status::NotAssessable => None,
                },
                None => None,
            });
        // Absent examinations are not evidence either way; at least one must have been done.
        let done: Vec<Option<bool>> = [brain_ev, spine_ev, ctm_ev].into_iter().flatten().collect();
        if done.is_empty() { None } else { tri_or(&done) }
    }

    fn ichd3(&mut self) -> Ichd3 {
        let mut missing = Vec::new();
        let notes = vec![
            "criterion C (temporal relation) and D (not better accounted for) are clinical judgements; not checked".to_owned(),
        ];
        let headache = self.c.has_headache();
        if headache.is_none() {
            missing.push("clinical.headache".to_owned());
        }
        let low_p = self
            .c
            .opening_pressure_mmh2o
            .map(|v| v.get() < self.p.csf_pressure_low_mmh2o_ichd3);
        let imaging = self.imaging_evidence();
        let b = tri_or(&[low_p, imaging]);
        if b.is_none() {
            if low_p.is_none() {
                missing.push("clinical.opening_pressure_mmh2o".to_owned());
            }
            if imaging.is_none() {
                missing.push("imaging evidence of CSF leakage (brain or spine)".to_owned());
            }
        }
        let parent = tri_and(headache, b);
        self.fire(
            "ICHD3-7.2",
            json!({"headache": headache, "low_pressure_lt": low_p, "imaging_evidence": imaging}),
            json!({"met": parent}),
        );

        // Subtypes.
        let c = self.c;
        let onset = c.headache_onset_date;
        let pdph = if c.punctures.is_empty() {
            Some(false)
        } else {
            let days = |d: Option<csfleak_findings::Date>| -> Option<bool> {
                let (o, d) = (onset?, d?);
                let n = o.days_after(d);
                Some((0..=self.p.pdph_onset_days).contains(&n))
            };
            let v = tri_or(&c.punctures.iter().map(|p| days(p.date)).collect::<Vec<_>>());
            if v.is_none() {
                missing.push("clinical.headache_onset_date and puncture dates (7.2.1)".to_owned());
            }
            v
        };
        let catheter = c.intrathecal_catheter.is_some();
        let procedure = if catheter {
            Some(true)
        } else {
            c.procedure_or_trauma
        };
        if procedure.is_none() {
            missing.push("clinical.procedure_or_trauma".to_owned());
        }
        // The window is counted back from the headache onset: a puncture for the diagnostic
        // work-up after the onset (myelography, RI injection) does not exclude 7.2.3.
        let recent_puncture = if c.punctures.is_empty() {
            Some(false)
        } else {
            let recent = |d: Option<csfleak_findings::Date>| -> Option<bool> {
                let n = onset?.days_after(d?);
                Some((0..=self.p.sih_puncture_exclusion_days).contains(&n))
            };
            let v = tri_or(
                &c.punctures
                    .iter()
                    .map(|p| recent(p.date))
                    .collect::<Vec<_>>(),
            );
            if v.is_none() {
                missing.push("clinical.headache_onset_date and puncture dates (7.2.3)".to_owned());
            }
            v
        };
        let sih = tri_and(procedure.map(|p| !p), recent_puncture.map(|r| !r));
        let inputs = json!({"punctures": c.punctures, "headache_onset_date": onset, "procedure_or_trauma": c.procedure_or_trauma, "intrathecal_catheter": catheter});
        self.fire(
            "ICHD3-7.2.1",
            inputs.clone(),
            json!({"met": tri_and(parent, pdph)}),
        );
        self.fire(
            "ICHD3-7.2.2",
            inputs.clone(),
            json!({"met": tri_and(parent, procedure)}),
        );
        self.fire("ICHD3-7.2.3", inputs, json!({"met": tri_and(parent, sih)}));
        let (code, fulfilled) = match parent {
            Some(false) => (None, Some(false)),
            None => (None, None),
            Some(true) => {
                if pdph == Some(true) {
                    (Some("7.2.1"), Some(true))
                } else if procedure == Some(true) {
                    (Some("7.2.2"), Some(true))
                } else if sih == Some(true) {
                    (Some("7.2.3"), Some(true))
                } else if pdph == Some(false) && procedure == Some(false) && sih == Some(false) {
                    (None, Some(false))
                } else {
                    (None, None)
                }
            }
        };
        missing.sort();
        missing.dedup();
        Ichd3 {
            code: code.map(str::to_owned),
            fulfilled,
            criteria_7_2: parent,
            missing,
            notes,
        }
    }

    fn bern(&mut self) -> Bern {
        let p = self.p;
        let b = self.f.brain.clone().unwrap_or_default();
        let have_brain = self.f.brain.is_some();
        let quant = |name: &str, v: Option<csfleak_findings::Mm>, t: f64, points: u8| BernItem {
            item: name.to_owned(),
            points,
            met: v.map(|v| v.get() <= t),
            value_mm: v.map(csfleak_findings::Mm::get),
            threshold_mm: Some(t),
            borderline: v.is_some_and(|v| (v.get() - t).abs() <= p.bern_borderline_margin_mm),
        };
        let qual = |name: &str, v: Option<bool>, points: u8| BernItem {
            item: name.to_owned(),
            points,
            met: v,
            value_mm: None,
            threshold_mm: None,
            borderline: false,
        };
        let items = vec![
            qual(
                "pachymeningeal_enhancement",
                b.pachymeningeal_enhancement,
                2,
            ),
            qual("venous_distension", b.venous_distension, 2),
            quant(
                "suprasellar_cistern_mm",
                b.suprasellar_cistern_mm,
                p.bern_suprasellar_mm,
                2,
            ),
            qual("subdural_fluid", b.subdural_fluid, 1),
            quant(
                "prepontine_cistern_mm",
                b.prepontine_cistern_mm,
                p.bern_prepontine_mm,
                1,
            ),
            quant(
                "mamillopontine_distance_mm",
                b.mamillopontine_distance_mm,
                p.bern_mamillopontine_mm,
                1,
            ),
        ];
        let score_min: u8 = items
            .iter()
            .filter(|i| i.met == Some(true))
            .map(|i| i.points)
            .sum();
        let score_max: u8 = items
            .iter()
            .filter(|i| i.met != Some(false))
            .map(|i| i.points)
            .sum();
        let score =
            (score_min == score_max && items.iter().all(|i| i.met.is_some())).then_some(score_min);
        let band = score.map(|s| match s {
            0..=2 => "low",
            3..=4 => "intermediate",
            _ => "high",
        });
        let borderline: Vec<String> = items
            .iter()
            .filter(|i| i.borderline)
            .map(|i| i.item.clone())
            .collect();
        if have_brain {
            for i in items.iter().filter(|i| i.met.is_none()) {
                let reason = b.status_of(&i.item).and_then(|s| s.reason.clone());
                self.not_assessable(
                    &format!("brain.{}", i.item),
                    Some(reason.as_deref().unwrap_or("unknown (null)")),
                );
            }
            if !borderline.is_empty() {
                self.warnings.push(format!(
                    "Bern: borderline item(s) {} (within {} mm of the threshold); these items are positive in many normal brains (Kang 2025)",
                    borderline.join(", "),
                    p.bern_borderline_margin_mm
                ));
            }
            self.fire("BERN2019-score", json!({"items": items}), json!({"score": score, "band": band, "score_min": score_min, "score_max": score_max}));
        }
        Bern {
            score,
            band: band.map(str::to_owned),
            score_min,
            score_max,
            items,
            borderline,
        }
    }

    fn j007_2(
        &mut self,
        diagnosis: Option<Grade>,
        graded: &[GradedFinding],
        supporting: &[String],
    ) -> J0072 {
        let qualifies = diagnosis >= Some(Grade::Definite);
        let oh = self.c.orthostatic_headache;
        let eligible = tri_and(oh, Some(qualifies));
        self.fire(
            "J007-2-eligibility",
            json!({"orthostatic_headache": oh, "diagnosis": diagnosis}),
            json!({"eligible": eligible}),
        );
        let study = &self.f.study;
        let criteria_version = "脳脊髄液漏出症画像判定基準・画像診断基準（厚生労働省研究班 2011） / MHLW 2011 imaging criteria".to_owned();
        let (ja, en) = if eligible == Some(false) {
            (None, None)
        } else {
            let sup: Vec<&GradedFinding> = graded
                .iter()
                .filter(|f| supporting.contains(&f.finding_path))
                .collect();
            let loc = |f: &GradedFinding| -> (String, String) {
                let lv = match (f.level_from, f.level_to) {
                    (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
                    (Some(a), _) | (None, Some(a)) => a.to_string(),
                    (None, None) => String::new(),
                };
                let (sj, se) = match f.side {
                    Some(Side::Left) => ("左", "left"),
                    Some(Side::Right) => ("右", "right"),
                    Some(Side::Midline) => ("正中", "midline"),
                    Some(Side::Bilateral) => ("両側", "bilateral"),
                    None => ("", ""),
                };
                let j = [lv.as_str(), sj]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("、");
                let e = [lv.as_str(), se]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ");
                (j, e)
            };
            let fj: Vec<String> = sup
                .iter()
                .map(|f| {
                    let (j, _) = loc(f);
                    let g = f.grade.map_or("", Grade::ja);
                    if j.is_empty() {
                        format!("{}：{}［{g}］", f.modality.ja(), f.description_ja)
                    } else {
                        format!("{}：{}（{j}）［{g}］", f.modality.ja(), f.description_ja)
                    }
                })
                .collect();
            let fe: Vec<String> = sup
                .iter()
                .map(|f| {
                    let (_, e) = loc(f);
                    let g = f
                        .grade
                        .map_or(String::new(), |g| format!("{} ({})", g.ja(), g.en()));
                    if e.is_empty() {
                        format!("{}: {} [{g}]", f.modality.en(), f.description_en)
                    } else {
                        format!("{}: {} ({e}) [{g}]", f.modality.en(), f.description_en)
                    }
                })
                .collect();
            let date_ja = study
                .study_date
                .map_or_else(|| "不明（要記載）".to_owned(), |d| d.to_string());
            let date_en = study
                .study_date
                .map_or_else(|| "unknown (must be entered)".to_owned(), |d| d.to_string());
            let address = study
                .institution_address
                .as_deref()
                .map_or_else(String::new, |a| format!("（{a}）"));
            let address_en = study
                .institution_address
                .as_deref()
                .map_or_else(String::new, |a| format!(" ({a})"));
            let fac_ja = study
                .institution_name
                .clone()
                .map_or_else(|| "不明（要記載）".to_owned(), |n| format!("{n}{address}"));
            let fac_en = study.institution_name.clone().map_or_else(
                || "unknown (must be entered)".to_owned(),
                |n| format!("{n}{address_en}"),
            );
            let oh_ja = if oh == Some(true) {
                "起立性頭痛あり"
            } else {
                "起立性頭痛：未確認（要記載）"
            };
            let oh_en = if oh == Some(true) {
                "orthostatic headache present"
            } else {
                "orthostatic headache: not documented (must be entered)"
            };
            let g = diagnosis.map_or("", Grade::ja);
            let ja = format!(
                "【J007-2 硬膜外自家血注入 症状詳記】{oh_ja}。脳脊髄液漏出症画像判定基準・画像診断基準（厚生労働省研究班 2011）により脳脊髄液漏出症「{g}」。基準を満たす画像所見：{}。撮影日：{date_ja}。撮影医療機関：{fac_ja}。",
                fj.join("；")
            );
            let en = format!(
                "J007-2 epidural autologous blood injection, statement of symptoms: {oh_en}. CSF leak (脳脊髄液漏出症) graded {g} ({}) by the MHLW 2011 imaging diagnostic criteria. Imaging findings meeting the criteria: {}. Scan date: {date_en}. Imaging facility: {fac_en}.",
                diagnosis.map_or("", Grade::en),
                fe.join("; ")
            );
            (Some(ja), Some(en))
        };
        J0072 {
            eligible,
            claim_text_ja: ja,
            claim_text_en: en,
            supporting_findings: if qualifies {
                supporting.to_vec()
            } else {
                Vec::new()
            },
            study_date: study.study_date,
            institution_name: study.institution_name.clone(),
            criteria_version,
        }
    }

    fn flowchart(&mut self, diagnosis: Option<Grade>) -> Flowchart {
        let spinal_na = self.f.spine.is_some() && !self.done.spinal_mri;
        let (id, ja, en) = if diagnosis >= Some(Grade::Definite) {
            (
                "treat_bed_rest_or_blood_patch",
                "漏出あり：臥床安静・ブラッドパッチ等の治療へ",
                "leak shown: treat (bed rest, epidural blood patch)",
            )
        } else if self.done.cisternography || self.done.ct_myelography {
            (
                "consider_other_diseases",
                "RI脳槽シンチ/CTミエロで確実な漏出所見なし：他疾患を考慮（疑所見があれば臨床判断で治療を検討）",
                "no definite leak on RI cisternography / CT myelography: consider other diseases (treatment remains a clinical decision if findings are suspected)",
            )
        } else if self.f.brain.is_none() {
            (
                "contrast_brain_mri",
                "造影脳MRI（脳沈下・血液量増加の所見）",
                "contrast brain MRI (brain sagging, increased blood volume)",
            )
        } else if self.f.spine.is_none() || spinal_na {
            (
                "contrast_spinal_mri",
                "造影脊髄MRI（硬膜外髄液貯留）",
                "contrast spinal MRI (epidural CSF collection)",
            )
        } else {
            (
                "ri_cisternography_or_ct_myelography",
                "RI脳槽シンチグラフィー／CTミエログラフィーで漏出部位を検索",
                "RI cisternography / CT myelography to look for the leak",
            )
        };
        self.fire(
            "SEED0-flowchart",
            json!({"diagnosis": diagnosis, "brain_mri": self.f.brain.is_some(), "spinal_mri_assessed": self.done.spinal_mri,
                   "ri_assessed": self.done.cisternography, "ctm_assessed": self.done.ct_myelography}),
            json!({"next_step": id}),
        );
        Flowchart {
            next_step: id.to_owned(),
            text_ja: ja.to_owned(),
            text_en: en.to_owned(),
        }
    }

    fn notes(&mut self) -> Vec<Note> {
        let mut notes = Vec::new();
        let age = self.c.age_years.or(self.f.study.patient_age_years);
        if let Some(a) = age.filter(|a| *a < self.p.pediatric_age_years) {
            self.fire(
                "SEED0-pediatric",
                json!({"age_years": a, "threshold_lt": self.p.pediatric_age_years}),
                json!({"pediatric": true}),
            );
            notes.push(Note {
                id: "pediatric".to_owned(),
                text_ja: "小児例：小児の脳脊髄液減少症は稀ではなく、画像所見は軽微なことが多い（片頭痛・起立性調節障害とされやすい）。陰性の画像所見は否定の根拠として弱い。".to_owned(),
                text_en: "Pediatric patient: CSF hypovolemia in children is not rare and imaging findings are milder (often labelled migraine or orthostatic dysregulation); negative imaging is weaker evidence.".to_owned(),
            });
        }
        let pump = self
            .c
            .intrathecal_catheter
            .as_ref()
            .is_some_and(|c| c.pump == Some(true));
        let mri = self.f.spine.is_some()
            || self.f.brain.is_some()
            || self
                .f
                .series
                .iter()
                .any(|s| s.modality.as_deref() == Some("MR"));
        if pump && mri {
            self.fire(
                "SEED3-pump-mri",
                json!({"pump": true, "mri_present": true}),
                json!({"reminder": true}),
            );
            notes.push(Note {
                id: "pump_mri_check".to_owned(),
                text_ja:
                    "植込み型ポンプ（髄腔内カテーテル）あり：MRI検査後はポンプの動作確認が必要。"
                        .to_owned(),
                text_en: "Implanted intrathecal pump: the pump must be checked after the MRI scan."
                    .to_owned(),
            });
        }
        if self.c.orthostatic_headache == Some(false) {
            notes.push(Note {
                id: "no_orthostatic_headache".to_owned(),
                text_ja: "起立性頭痛がないことは本症を否定しない（SEED0）。J007-2の算定要件は満たさない。".to_owned(),
                text_en: "Absence of orthostatic headache does not exclude the disease (SEED0); it does not meet the J007-2 requirement.".to_owned(),
            });
        }
        if let Some(route) = self.c.injection_route.as_deref().or_else(|| {
            self.f
                .cisternography
                .as_ref()
                .and_then(|c| c.injection_route.as_deref())
        }) {
            notes.push(Note {
                id: "injection_route".to_owned(),
                text_ja: format!("トレーサー/造影剤の注入経路：{route}"),
                text_en: format!("Tracer / contrast injection route: {route}"),
            });
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_findings::AccumulationPattern;

    #[test]
    fn three_valued_logic() {
        assert_eq!(tri_or(&[None, Some(true)]), Some(true));
        assert_eq!(tri_or(&[Some(false), Some(false)]), Some(false));
        assert_eq!(tri_or(&[Some(false), None]), None);
        assert_eq!(tri_and(Some(true), None), None);
        assert_eq!(tri_and(Some(false), None), Some(false));
        assert_eq!(tri_and(Some(true), Some(true)), Some(true));
    }

    #[test]
    fn pattern_conversion() {
        assert_eq!(
            RiPattern::from(AccumulationPattern::LumbarSymmetric),
            RiPattern::LumbarSymmetric
        );
    }
}
