//! Series-role classification: which clinical question a series can answer.
//!
//! The rules are data: a TOML table embedded in the crate ([`DEFAULT_RULES_TOML`]) that a site
//! can extend or replace with its own file. Each rule states conditions on the modality, image
//! type, orientation, fat suppression, contrast, weighting and keywords (English and Japanese)
//! of the series description and protocol name; the first rule that matches gives the role, and
//! the classifier says which rule that was.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::meta::{ImagePlane, SeriesMeta};

/// The default rules, embedded at build time.
pub const DEFAULT_RULES_TOML: &str = include_str!("roles.toml");

/// What a series is for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Fat-suppressed T2 of the spine, axial.
    SpinalT2FsAxial,
    /// Fat-suppressed T2 of the spine, sagittal.
    SpinalT2FsSagittal,
    /// Heavily T2-weighted 3D MR myelography.
    MrMyelography,
    /// Contrast-enhanced (fat-suppressed) T1 of the spine.
    SpinalContrastT1,
    /// CT after intrathecal contrast.
    CtMyelography,
    /// Radioisotope (In-111 DTPA) cisternography.
    RiCisternography,
    /// Brain T1 (typically sagittal 3D).
    BrainT1,
    /// Brain T1 after contrast.
    BrainContrastT1,
    /// Coronal fat-suppressed T2 of the orbits.
    OrbitT2FsCoronal,
    /// Scout / localizer images.
    Localizer,
    /// Anything else.
    #[default]
    Other,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 11] = [
        Role::SpinalT2FsAxial,
        Role::SpinalT2FsSagittal,
        Role::MrMyelography,
        Role::SpinalContrastT1,
        Role::CtMyelography,
        Role::RiCisternography,
        Role::BrainT1,
        Role::BrainContrastT1,
        Role::OrbitT2FsCoronal,
        Role::Localizer,
        Role::Other,
    ];

    /// The snake-case name used in TOML, JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SpinalT2FsAxial => "spinal_t2_fs_axial",
            Role::SpinalT2FsSagittal => "spinal_t2_fs_sagittal",
            Role::MrMyelography => "mr_myelography",
            Role::SpinalContrastT1 => "spinal_contrast_t1",
            Role::CtMyelography => "ct_myelography",
            Role::RiCisternography => "ri_cisternography",
            Role::BrainT1 => "brain_t1",
            Role::BrainContrastT1 => "brain_contrast_t1",
            Role::OrbitT2FsCoronal => "orbit_t2_fs_coronal",
            Role::Localizer => "localizer",
            Role::Other => "other",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{0}` (known: spinal_t2_fs_axial, spinal_t2_fs_sagittal, mr_myelography, spinal_contrast_t1, ct_myelography, ri_cisternography, brain_t1, brain_contrast_t1, orbit_t2_fs_coronal, localizer, other)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == t)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// The role given to a series and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleMatch {
    /// The role.
    pub role: Role,
    /// The id of the rule that matched, `forced` when set by the user, `none` when no rule did.
    pub rule: String,
    /// What the rules saw (regions, fat suppression, contrast, weighting), for checking a
    /// classification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
}

impl Default for RoleMatch {
    fn default() -> Self {
        Self {
            role: Role::Other,
            rule: "none".into(),
            features: None,
        }
    }
}

/// One classification rule (see the comments in `roles.toml`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Rule {
    /// Identifier reported when the rule matches.
    pub id: String,
    /// The role it gives.
    pub role: Role,
    /// Modality is one of these.
    #[serde(default)]
    pub modality: Vec<String>,
    /// Region names from `[regions]`.
    #[serde(default)]
    pub region: Vec<String>,
    /// Plane is one of these.
    #[serde(default)]
    pub plane: Vec<ImagePlane>,
    /// Any of these keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// None of these keywords.
    #[serde(default)]
    pub exclude_keywords: Vec<String>,
    /// Any of these Image Type values.
    #[serde(default)]
    pub image_type: Vec<String>,
    /// Fat suppression required (true) or excluded (false).
    pub fat_sat: Option<bool>,
    /// Contrast required (true) or excluded (false).
    pub contrast: Option<bool>,
    /// Weighting is one of these (`t1`, `t2`, `pd`, `flair`).
    #[serde(default)]
    pub weighting: Vec<String>,
    /// 3D acquisition required (true) or excluded (false).
    pub acquisition_3d: Option<bool>,
    /// Echo time at least this (ms).
    pub min_echo_time_ms: Option<f64>,
}

/// Keyword lists that derive series features.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Hints {
    /// Fat suppression keywords.
    #[serde(default)]
    pub fat_sat: Vec<String>,
    /// Contrast keywords.
    #[serde(default)]
    pub contrast: Vec<String>,
    /// T1 keywords.
    #[serde(default)]
    pub t1: Vec<String>,
    /// T2 keywords.
    #[serde(default)]
    pub t2: Vec<String>,
    /// FLAIR keywords.
    #[serde(default)]
    pub flair: Vec<String>,
    /// Localizer keywords.
    #[serde(default)]
    pub localizer: Vec<String>,
}

/// A rules file as written (default or site).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    replace_defaults: bool,
    #[serde(default)]
    hints: Hints,
    #[serde(default)]
    regions: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "rule")]
    rules: Vec<Rule>,
}

/// A rules file that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid role rules")]
pub struct RulesError(#[source] toml::de::Error);

/// The classifier: rules plus the keyword lists they use.
#[derive(Debug, Clone)]
pub struct RoleRules {
    hints: Hints,
    regions: std::collections::BTreeMap<String, Vec<String>>,
    rules: Vec<Rule>,
}

impl Default for RoleRules {
    fn default() -> Self {
        // The embedded table is tested; failing to parse it is a build defect.
        Self::parse(DEFAULT_RULES_TOML).unwrap_or_else(|e| {
            debug_assert!(false, "embedded roles.toml does not parse: {e}");
            Self {
                hints: Hints::default(),
                regions: std::collections::BTreeMap::new(),
                rules: Vec::new(),
            }
        })
    }
}

impl RoleRules {
    fn parse(s: &str) -> Result<Self, RulesError> {
        let f: RulesFile = toml::from_str(s).map_err(RulesError)?;
        Ok(Self {
            hints: f.hints,
            regions: f.regions,
            rules: f.rules,
        })
    }

    /// The default rules combined with a site file: the site's rules first (or alone with
    /// `replace_defaults = true`), keyword lists merged.
    pub fn with_site_toml(site: &str) -> Result<Self, RulesError> {
        let f: RulesFile = toml::from_str(site).map_err(RulesError)?;
        let mut out = if f.replace_defaults {
            Self {
                hints: Hints::default(),
                regions: std::collections::BTreeMap::new(),
                rules: Vec::new(),
            }
        } else {
            Self::default()
        };
        let h = &mut out.hints;
        h.fat_sat.extend(f.hints.fat_sat);
        h.contrast.extend(f.hints.contrast);
        h.t1.extend(f.hints.t1);
        h.t2.extend(f.hints.t2);
        h.flair.extend(f.hints.flair);
        h.localizer.extend(f.hints.localizer);
        for (k, v) in f.regions {
            out.regions.entry(k).or_default().extend(v);
        }
        let mut rules = f.rules;
        rules.append(&mut out.rules);
        out.rules = rules;
        Ok(out)
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The features the rules see for a series.
    pub fn features(&self, meta: &SeriesMeta) -> Features {
        let text = format!(
            "{} {}",
            meta.series_description.as_deref().unwrap_or(""),
            meta.protocol_name.as_deref().unwrap_or("")
        )
        .to_lowercase();
        let seq_text = format!(
            "{} {}",
            text,
            meta.sequence_name.as_deref().unwrap_or("").to_lowercase()
        );
        let region_text = format!(
            "{} {}",
            text,
            meta.body_part_examined
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
        );
        let regions = self
            .regions
            .iter()
            .filter(|(_, kws)| any_keyword(&region_text, kws))
            .map(|(name, _)| name.clone())
            .collect();
        let fat_sat = meta.fat_sat || any_keyword(&seq_text, &self.hints.fat_sat);
        let contrast = meta.contrast_agent.is_some() || any_keyword(&text, &self.hints.contrast);
        let weighting = weighting(meta, &text, &self.hints);
        Features {
            text,
            regions,
            fat_sat,
            contrast,
            weighting,
        }
    }

    /// Classify a series: the first matching rule, or [`Role::Other`] with rule `none`.
    pub fn classify(&self, meta: &SeriesMeta) -> RoleMatch {
        let f = self.features(meta);
        let (role, rule) = self
            .rules
            .iter()
            .find(|r| rule_matches(r, meta, &f))
            .map_or((Role::Other, "none".to_string()), |r| {
                (r.role, r.id.clone())
            });
        RoleMatch {
            role,
            rule,
            features: Some(f),
        }
    }
}

/// The derived features a rule is tested against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Features {
    /// Lowercased description and protocol.
    #[serde(skip)]
    pub text: String,
    /// Regions mentioned (names from `[regions]`).
    pub regions: Vec<String>,
    /// Fat suppression (headers or keywords).
    pub fat_sat: bool,
    /// Contrast (agent attribute or keywords).
    pub contrast: bool,
    /// `t1`, `t2`, `pd`, `flair`, or none.
    pub weighting: Option<&'static str>,
}

/// Whether `text` (lowercased) contains one of `keywords` (see the matching rules in
/// `roles.toml`).
pub fn any_keyword(text: &str, keywords: &[String]) -> bool {
    keywords
        .iter()
        .any(|k| contains_keyword(text, &k.to_lowercase()))
}

fn contains_keyword(text: &str, kw: &str) -> bool {
    if kw.is_empty() {
        return false;
    }
    let short_ascii = kw.is_ascii() && kw.len() <= 4;
    if !short_ascii {
        return text.contains(kw);
    }
    let edge_alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let first_alnum = edge_alnum(kw.chars().next());
    let last_alnum = edge_alnum(kw.chars().next_back());
    text.match_indices(kw).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + kw.len()..].chars().next();
        (!first_alnum || !edge_alnum(before)) && (!last_alnum || !edge_alnum(after))
    })
}

/// Weighting from keywords, else from the timing parameters.
fn weighting(meta: &SeriesMeta, text: &str, hints: &Hints) -> Option<&'static str> {
    if meta.modality != "MR" {
        return None;
    }
    if any_keyword(text, &hints.flair) {
        return Some("flair");
    }
    let kw_t2 = any_keyword(text, &hints.t2);
    let kw_t1 = any_keyword(text, &hints.t1);
    match (kw_t1, kw_t2) {
        (true, false) => return Some("t1"),
        (false, true) => return Some("t2"),
        _ => {}
    }
    let te = meta.echo_time_ms?;
    let tr = meta.repetition_time_ms.unwrap_or(0.0);
    let ti = meta.inversion_time_ms;
    let ir = meta.scanning_sequence.iter().any(|s| s == "IR");
    // Inversion recovery: long TI nulls fluid (FLAIR), short TI nulls fat (STIR, T2-like),
    // intermediate TI with a short TE is T1 (MPRAGE).
    if ir && let Some(ti) = ti {
        if ti >= 1500.0 {
            return Some("flair");
        }
        if ti < 300.0 && te >= 30.0 {
            return Some("t2");
        }
        if te < 30.0 {
            return Some("t1");
        }
    }
    if te >= 60.0 && (tr >= 1000.0 || tr == 0.0) {
        Some("t2")
    } else if te < 30.0 && tr > 0.0 && tr < 1000.0 {
        Some("t1")
    } else if te < 30.0 && tr >= 1000.0 {
        Some("pd")
    } else {
        None
    }
}

fn rule_matches(r: &Rule, m: &SeriesMeta, f: &Features) -> bool {
    if !r.modality.is_empty()
        && !r
            .modality
            .iter()
            .any(|x| x.eq_ignore_ascii_case(&m.modality))
    {
        return false;
    }
    if !r.region.is_empty() && !r.region.iter().any(|x| f.regions.contains(x)) {
        return false;
    }
    if !r.plane.is_empty() && !m.plane.is_some_and(|p| r.plane.contains(&p)) {
        return false;
    }
    if !r.keywords.is_empty() && !any_keyword(&f.text, &r.keywords) {
        return false;
    }
    if any_keyword(&f.text, &r.exclude_keywords) {
        return false;
    }
    if !r.image_type.is_empty()
        && !m
            .image_type
            .iter()
            .any(|t| r.image_type.iter().any(|x| x.eq_ignore_ascii_case(t)))
    {
        return false;
    }
    if r.fat_sat.is_some_and(|want| want != f.fat_sat) {
        return false;
    }
    if r.contrast.is_some_and(|want| want != f.contrast) {
        return false;
    }
    if !r.weighting.is_empty()
        && !f
            .weighting
            .is_some_and(|w| r.weighting.iter().any(|x| x == w))
    {
        return false;
    }
    if let Some(want) = r.acquisition_3d {
        let is_3d = m
            .mr_acquisition_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("3D"));
        if want != is_3d {
            return false;
        }
    }
    if let Some(min) = r.min_echo_time_ms
        && !m.echo_time_ms.is_some_and(|te| te >= min)
    {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mr(desc: &str, plane: ImagePlane) -> SeriesMeta {
        SeriesMeta {
            modality: "MR".into(),
            series_description: Some(desc.into()),
            plane: Some(plane),
            ..SeriesMeta::default()
        }
    }

    #[test]
    fn default_rules_parse_and_cover_every_clinical_role() {
        let r = RoleRules::default();
        assert!(r.rules().len() >= 10);
        for role in Role::ALL {
            if role != Role::Other {
                assert!(
                    r.rules().iter().any(|x| x.role == role),
                    "no rule for {role}"
                );
            }
        }
    }

    #[test]
    fn keyword_boundaries() {
        assert!(contains_keyword("t2_fs_sag", "fs"));
        assert!(!contains_keyword("offset", "fs"));
        assert!(contains_keyword("sag t2 tse", "t2"));
        assert!(!contains_keyword("t25", "t2"));
        assert!(contains_keyword("腰椎 t2強調", "腰椎"));
        assert!(contains_keyword("t2(fs)", "fs"));
        assert!(contains_keyword("lumbarspine", "spine"));
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("spine".parse::<Role>().is_err());
    }

    fn classify(m: &SeriesMeta) -> (Role, String) {
        let r = RoleRules::default().classify(m);
        (r.role, r.rule)
    }

    #[test]
    fn table_english_and_japanese() {
        let cases: Vec<(SeriesMeta, Role)> = vec![
            (
                mr("T2 FS SAG L-SPINE", ImagePlane::Sagittal),
                Role::SpinalT2FsSagittal,
            ),
            (
                mr("T2 FS AX L-SPINE", ImagePlane::Axial),
                Role::SpinalT2FsAxial,
            ),
            (
                mr("腰椎 T2強調 脂肪抑制 矢状断", ImagePlane::Sagittal),
                Role::SpinalT2FsSagittal,
            ),
            (mr("頸椎 STIR AX", ImagePlane::Axial), Role::SpinalT2FsAxial),
            (mr("MR myelo 3D", ImagePlane::Coronal), Role::MrMyelography),
            (
                mr("全脊椎 MRミエロ", ImagePlane::Coronal),
                Role::MrMyelography,
            ),
            (
                mr("T1 FS +C SAG T-SPINE", ImagePlane::Sagittal),
                Role::SpinalContrastT1,
            ),
            (
                mr("胸椎 T1 造影 脂肪抑制", ImagePlane::Axial),
                Role::SpinalContrastT1,
            ),
            (
                mr("BRAIN 3D T1 MPRAGE SAG", ImagePlane::Sagittal),
                Role::BrainT1,
            ),
            (mr("頭部 T1 造影", ImagePlane::Axial), Role::BrainContrastT1),
            (
                mr("ORBIT T2 FS COR", ImagePlane::Coronal),
                Role::OrbitT2FsCoronal,
            ),
            (
                mr("眼窩 T2 脂肪抑制 冠状断", ImagePlane::Coronal),
                Role::OrbitT2FsCoronal,
            ),
            (
                mr("3-plane localizer", ImagePlane::Sagittal),
                Role::Localizer,
            ),
            (mr("位置決め", ImagePlane::Sagittal), Role::Localizer),
            (mr("DWI brain", ImagePlane::Axial), Role::Other),
            // Not fat-suppressed: not the fat-sat T2 role.
            (mr("T2 SAG L-SPINE", ImagePlane::Sagittal), Role::Other),
        ];
        for (m, want) in cases {
            let (got, rule) = classify(&m);
            assert_eq!(got, want, "{:?} matched {rule}", m.series_description);
        }
    }

    #[test]
    fn non_mr_and_header_driven_rules() {
        let ct = SeriesMeta {
            modality: "CT".into(),
            series_description: Some("CTミエロ 腰椎".into()),
            ..SeriesMeta::default()
        };
        assert_eq!(
            classify(&ct),
            (Role::CtMyelography, "ct_myelography_keyword".into())
        );
        let ct_spine = SeriesMeta {
            modality: "CT".into(),
            body_part_examined: Some("LSPINE".into()),
            ..SeriesMeta::default()
        };
        assert_eq!(classify(&ct_spine).1, "ct_spine");
        let nm = SeriesMeta {
            modality: "NM".into(),
            series_description: Some("脳槽シンチ 24h".into()),
            ..SeriesMeta::default()
        };
        assert_eq!(
            classify(&nm),
            (Role::RiCisternography, "nm_cisternography_keyword".into())
        );
        let scout = SeriesMeta {
            modality: "CT".into(),
            image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "LOCALIZER".into()],
            body_part_examined: Some("SPINE".into()),
            ..SeriesMeta::default()
        };
        assert_eq!(classify(&scout).0, Role::Localizer);
        // Fat-sat from ScanOptions, T2 from TE/TR, spine from BodyPartExamined: no keywords.
        let hdr = SeriesMeta {
            modality: "MR".into(),
            body_part_examined: Some("CSPINE".into()),
            fat_sat: true,
            echo_time_ms: Some(90.0),
            repetition_time_ms: Some(3500.0),
            plane: Some(ImagePlane::Sagittal),
            ..SeriesMeta::default()
        };
        assert_eq!(
            classify(&hdr),
            (Role::SpinalT2FsSagittal, "spinal_t2_fs_sagittal".into())
        );
        // Heavily T2-weighted 3D spine: MR myelography without keywords.
        let heavy = SeriesMeta {
            modality: "MR".into(),
            body_part_examined: Some("SPINE".into()),
            mr_acquisition_type: Some("3D".into()),
            echo_time_ms: Some(600.0),
            repetition_time_ms: Some(3000.0),
            ..SeriesMeta::default()
        };
        assert_eq!(classify(&heavy).0, Role::MrMyelography);
    }

    #[test]
    fn site_rules_come_first_and_can_replace() {
        let site = r#"
            [[rule]]
            id = "site_dwi"
            role = "other"
            keywords = ["t2"]
        "#;
        let rules = RoleRules::with_site_toml(site).unwrap();
        assert_eq!(
            rules
                .classify(&mr("T2 FS SAG L-SPINE", ImagePlane::Sagittal))
                .rule,
            "site_dwi"
        );
        assert!(rules.rules().len() > 1);
        let only = RoleRules::with_site_toml(&format!("replace_defaults = true\n{site}")).unwrap();
        assert_eq!(only.rules().len(), 1);
        assert!(RoleRules::with_site_toml("[[rule]]\nid = 1").is_err());
        assert!(RoleRules::with_site_toml("[[rule]]\nid = \"x\"\nrole = \"nope\"").is_err());
    }
}
