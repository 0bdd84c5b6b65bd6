//! Brain landmarks: a fixed name vocabulary, imported points (3D Slicer Markups JSON, legacy
//! `.fcsv`, a simple JSON of named points) and automatic ones behind one [`LandmarkSet`].
//!
//! Every position is patient LPS in millimetres. Imported points win over automatic ones; both
//! are kept so that a report can show what the automatic method would have said.

use std::collections::BTreeMap;
use std::path::Path;

use csfleak_volume::{DVec3, Geometry, PointLps};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

macro_rules! landmark_names {
    ($( $(#[$doc:meta])* $variant:ident = $canon:literal [$($alias:literal),*] midline: $mid:literal; )*) => {
        /// The landmark vocabulary. Each has one canonical snake-case name and a few aliases
        /// (matched after lower-casing and turning every run of non-alphanumerics into `_`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum LandmarkName {
            $( $(#[$doc])* $variant, )*
        }

        impl LandmarkName {
            /// Every name, in declaration order.
            pub const ALL: &'static [LandmarkName] = &[$(LandmarkName::$variant),*];

            /// The canonical name.
            pub const fn as_str(self) -> &'static str {
                match self { $( LandmarkName::$variant => $canon, )* }
            }

            /// Accepted aliases besides the canonical name.
            pub const fn aliases(self) -> &'static [&'static str] {
                match self { $( LandmarkName::$variant => &[$($alias),*], )* }
            }

            /// Whether the landmark lies on the midsagittal plane (used to fit that plane).
            pub const fn is_midline(self) -> bool {
                match self { $( LandmarkName::$variant => $mid, )* }
            }
        }
    };
}

landmark_names! {
    /// Inferior margin of the mamillary bodies.
    MamillaryInferior = "mamillary_inferior" ["mammillary_inferior", "mamillary_body", "mammillary_body", "mb"] midline: true;
    /// Upper surface of the pons (nearest the mamillary bodies).
    PonsSuperior = "pons_superior" ["pons_top", "upper_pons", "pons_upper_surface"] midline: true;
    /// Vertex of the pontomesencephalic angle (the pontomesencephalic junction, anteriorly).
    PmVertex = "pm_vertex" ["pma_vertex", "pontomesencephalic_junction"] midline: true;
    /// A point along the anterior border of the midbrain (arm of the pontomesencephalic angle).
    PmMidbrain = "pm_midbrain" ["pma_midbrain", "midbrain_anterior", "anterior_midbrain"] midline: true;
    /// A point along the superior border of the pons (arm of the pontomesencephalic angle).
    PmPons = "pm_pons" ["pma_pons"] midline: true;
    /// Undersurface of the optic chiasm.
    ChiasmInferior = "chiasm_inferior" ["optic_chiasm", "chiasm"] midline: true;
    /// Diaphragma sellae (upper border of the pituitary gland).
    DiaphragmaSellae = "diaphragma_sellae" ["diaphragm_sellae", "ds"] midline: true;
    /// Posterior surface of the clivus at mid-pons level.
    ClivusPrepontine = "clivus_prepontine" ["clivus", "clivus_posterior"] midline: true;
    /// Anterior surface of the pons at mid-pons level.
    PonsAnterior = "pons_anterior" ["anterior_pons", "pons_anterior_surface"] midline: true;
    /// Basion (anterior margin of the foramen magnum).
    Basion = "basion" ["ba"] midline: true;
    /// Opisthion (posterior margin of the foramen magnum).
    Opisthion = "opisthion" ["op"] midline: true;
    /// Tip of the (lower) cerebellar tonsil.
    TonsilTip = "tonsil_tip" ["tonsil", "cerebellar_tonsil", "tonsillar_tip"] midline: false;
    /// Iter (entrance of the cerebral aqueduct).
    Iter = "iter" ["aqueduct_entrance", "iter_aqueduct"] midline: true;
    /// Tuberculum sellae (anterior end of the incisural line).
    TuberculumSellae = "tuberculum_sellae" ["ts", "tuberculum"] midline: true;
    /// Junction of the vein of Galen / straight sinus with the inferior sagittal sinus
    /// (posterior end of the incisural line).
    GalenJunction = "galen_junction" ["vein_of_galen", "straight_sinus_junction", "galen"] midline: true;
    /// Top of the pituitary gland.
    PituitaryTop = "pituitary_top" ["pituitary_upper", "pituitary_superior"] midline: true;
    /// Sellar floor below the pituitary gland.
    PituitaryFloor = "pituitary_floor" ["sellar_floor", "sella_floor"] midline: true;
    /// Vertex of the interpeduncular angle (interpeduncular fossa, axial).
    IpaVertex = "ipa_vertex" ["interpeduncular_fossa", "interpeduncular_vertex"] midline: true;
    /// Anterior surface of the left cerebral peduncle (arm of the interpeduncular angle).
    IpaLeft = "ipa_left" ["left_peduncle", "peduncle_left"] midline: false;
    /// Anterior surface of the right cerebral peduncle (arm of the interpeduncular angle).
    IpaRight = "ipa_right" ["right_peduncle", "peduncle_right"] midline: false;
}

impl LandmarkName {
    /// Parse a label: canonical name or alias, case and punctuation insensitive.
    pub fn parse(label: &str) -> Option<Self> {
        let key = normalize_label(label);
        Self::ALL
            .iter()
            .copied()
            .find(|n| n.as_str() == key || n.aliases().iter().any(|a| *a == key))
    }
}

impl std::fmt::Display for LandmarkName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lower-case, every run of non-alphanumeric characters becomes one `_`, trimmed.
fn normalize_label(label: &str) -> String {
    let mut out = String::new();
    let mut pending = false;
    for c in label.trim().chars() {
        if c.is_alphanumeric() {
            if pending && !out.is_empty() {
                out.push('_');
            }
            pending = false;
            out.extend(c.to_lowercase());
        } else {
            pending = true;
        }
    }
    out
}

/// Where a landmark came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// From a file (a reader's points).
    Imported,
    /// Found by the automatic method.
    Automatic,
}

/// One located landmark.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Landmark {
    /// Which landmark.
    pub name: LandmarkName,
    /// Position, patient LPS mm.
    pub position: PointLps,
    /// Where it came from.
    pub origin: Origin,
    /// Confidence in `[0, 1]` (imported points: 1).
    pub confidence: f64,
    /// Localisation uncertainty (1 standard deviation), mm.
    pub uncertainty_mm: f64,
}

/// A landmark that could not be found, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// Which landmark.
    pub name: LandmarkName,
    /// Why it was not found.
    pub reason: String,
}

/// Imported and automatic landmarks; the imported one wins where both exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LandmarkSet {
    imported: BTreeMap<LandmarkName, Landmark>,
    automatic: BTreeMap<LandmarkName, Landmark>,
    missing_automatic: BTreeMap<LandmarkName, String>,
    /// Labels in imported files that are not in the vocabulary (kept for the report).
    pub unknown_labels: Vec<String>,
}

impl LandmarkSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an imported landmark (replaces an earlier imported one of the same name).
    pub fn insert_imported(&mut self, name: LandmarkName, position: PointLps, uncertainty_mm: f64) {
        self.imported.insert(
            name,
            Landmark {
                name,
                position,
                origin: Origin::Imported,
                confidence: 1.0,
                uncertainty_mm,
            },
        );
    }

    /// Add an automatic landmark.
    pub fn insert_automatic(&mut self, lm: Landmark) {
        self.missing_automatic.remove(&lm.name);
        self.automatic.insert(
            lm.name,
            Landmark {
                origin: Origin::Automatic,
                ..lm
            },
        );
    }

    /// Record that the automatic method could not find a landmark.
    pub fn mark_missing(&mut self, name: LandmarkName, reason: impl Into<String>) {
        self.missing_automatic.insert(name, reason.into());
    }

    /// Merge the imported points of a parsed file.
    pub fn add_imported(&mut self, parsed: ImportedPoints, uncertainty_mm: f64) {
        for (name, p) in parsed.points {
            self.insert_imported(name, p, uncertainty_mm);
        }
        self.unknown_labels.extend(parsed.unknown_labels);
    }

    /// The landmark to use: imported if present, else automatic.
    pub fn get(&self, name: LandmarkName) -> Option<&Landmark> {
        self.imported
            .get(&name)
            .or_else(|| self.automatic.get(&name))
    }

    /// The imported landmark, if any.
    pub fn imported(&self, name: LandmarkName) -> Option<&Landmark> {
        self.imported.get(&name)
    }

    /// The automatic landmark, if any.
    pub fn automatic(&self, name: LandmarkName) -> Option<&Landmark> {
        self.automatic.get(&name)
    }

    /// Why a landmark is unavailable (`None` if it is available).
    pub fn why_missing(&self, name: LandmarkName) -> Option<String> {
        if self.get(name).is_some() {
            return None;
        }
        Some(match self.missing_automatic.get(&name) {
            Some(r) => format!("{name}: {r}"),
            None => format!("{name}: not imported and not located automatically"),
        })
    }

    /// Landmarks the automatic method did not find, with the reason, in vocabulary order
    /// (only those without an automatic point).
    pub fn missing_automatic(&self) -> impl Iterator<Item = (LandmarkName, &str)> {
        self.missing_automatic
            .iter()
            .filter(|(n, _)| !self.automatic.contains_key(n))
            .map(|(n, r)| (*n, r.as_str()))
    }

    /// Every landmark in use (imported wins), in vocabulary order.
    pub fn in_use(&self) -> Vec<&Landmark> {
        LandmarkName::ALL
            .iter()
            .filter_map(|n| self.get(*n))
            .collect()
    }

    /// Every landmark of both sources, imported first, in vocabulary order.
    pub fn all_records(&self) -> Vec<&Landmark> {
        self.imported
            .values()
            .chain(self.automatic.values())
            .collect()
    }

    /// Whether landmarks in use are all imported, all automatic, or mixed; `None` when empty.
    pub fn source(&self) -> Option<csfleak_findings::LandmarkSource> {
        let used = self.in_use();
        let imp = used.iter().filter(|l| l.origin == Origin::Imported).count();
        match (imp, used.len() - imp) {
            (0, 0) => None,
            (_, 0) => Some(csfleak_findings::LandmarkSource::Imported),
            (0, _) => Some(csfleak_findings::LandmarkSource::Automatic),
            _ => Some(csfleak_findings::LandmarkSource::Mixed),
        }
    }
}

/// Points parsed from a file, already in patient LPS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportedPoints {
    /// Named points (the last one wins on duplicates).
    pub points: BTreeMap<LandmarkName, PointLps>,
    /// Labels not in the vocabulary.
    pub unknown_labels: Vec<String>,
    /// Points skipped because their `positionStatus` was not `defined`.
    pub skipped_undefined: usize,
}

impl ImportedPoints {
    fn push(&mut self, label: &str, p: PointLps) {
        match LandmarkName::parse(label) {
            Some(n) => {
                self.points.insert(n, p);
            }
            None => self.unknown_labels.push(label.to_owned()),
        }
    }
}

/// Coordinate system of imported positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Lps,
    Ras,
}

fn to_lps(frame: Frame, p: [f64; 3]) -> PointLps {
    match frame {
        Frame::Lps => PointLps(p),
        // Slicer writes RAS as (-x, -y, z) of LPS (dicom-ecosystem.md §6).
        Frame::Ras => PointLps([-p[0], -p[1], p[2]]),
    }
}

fn finite3(p: [f64; 3]) -> bool {
    p.iter().all(|c| c.is_finite())
}

#[derive(Deserialize)]
struct MrkFile {
    markups: Vec<MrkMarkup>,
}

#[derive(Deserialize)]
struct MrkMarkup {
    #[serde(default, rename = "coordinateSystem")]
    coordinate_system: Option<String>,
    #[serde(default, rename = "coordinateUnits")]
    coordinate_units: Option<serde_json::Value>,
    #[serde(default, rename = "controlPoints")]
    control_points: Vec<MrkPoint>,
}

#[derive(Deserialize)]
struct MrkPoint {
    #[serde(default)]
    label: String,
    position: [f64; 3],
    #[serde(default, rename = "positionStatus")]
    position_status: Option<String>,
}

fn parse_frame(s: Option<&str>, source: &str) -> Result<Frame> {
    match s.map(str::trim) {
        None | Some("") => Ok(Frame::Lps),
        Some(x) if x.eq_ignore_ascii_case("lps") || x == "1" => Ok(Frame::Lps),
        Some(x) if x.eq_ignore_ascii_case("ras") || x == "0" => Ok(Frame::Ras),
        Some(x) => Err(Error::Landmarks {
            source_name: source.to_owned(),
            reason: format!("unknown coordinate system {x:?} (expected LPS or RAS)"),
        }),
    }
}

/// Parse a 3D Slicer Markups JSON (`.mrk.json`): every markup, `defined` points only, LPS or
/// RAS (absent = LPS, the schema default), units mm or um.
pub fn parse_markups_json(text: &str, source: &str) -> Result<ImportedPoints> {
    let file: MrkFile = serde_json::from_str(text).map_err(|e| Error::Landmarks {
        source_name: source.to_owned(),
        reason: format!("not a Slicer markups file: {e}"),
    })?;
    let mut out = ImportedPoints::default();
    for m in &file.markups {
        let frame = parse_frame(m.coordinate_system.as_deref(), source)?;
        let scale = match &m.coordinate_units {
            None => 1.0,
            Some(serde_json::Value::String(u)) if u == "mm" => 1.0,
            Some(serde_json::Value::String(u)) if u == "um" => 1e-3,
            Some(serde_json::Value::Array(a))
                if a.first().and_then(|v| v.as_str()) == Some("mm") =>
            {
                1.0
            }
            Some(other) => {
                return Err(Error::Landmarks {
                    source_name: source.to_owned(),
                    reason: format!("unsupported coordinate units {other}"),
                });
            }
        };
        for cp in &m.control_points {
            if cp
                .position_status
                .as_deref()
                .is_some_and(|s| s != "defined")
            {
                out.skipped_undefined += 1;
                continue;
            }
            let p = cp.position.map(|c| c * scale);
            if !finite3(p) {
                return Err(Error::Landmarks {
                    source_name: source.to_owned(),
                    reason: format!("non-finite position for {:?}", cp.label),
                });
            }
            out.push(&cp.label, to_lps(frame, p));
        }
    }
    Ok(out)
}

/// Parse a legacy Slicer `.fcsv` (`# CoordinateSystem = LPS|RAS|0|1`, columns
/// `id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,...`). Without the header line, RAS is assumed
/// (what Slicer <= 4.10 wrote).
pub fn parse_fcsv(text: &str, source: &str) -> Result<ImportedPoints> {
    let mut frame = Frame::Ras;
    let mut label_col = 11_usize;
    let mut xyz_col = 1_usize;
    let mut out = ImportedPoints::default();
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim();
            if let Some(v) = rest.strip_prefix("CoordinateSystem") {
                let v = v.trim_start().trim_start_matches('=').trim();
                frame = parse_frame(Some(v), source)?;
            } else if let Some(v) = rest.strip_prefix("columns") {
                let cols: Vec<String> = v
                    .trim_start()
                    .trim_start_matches('=')
                    .split(',')
                    .map(|c| c.trim().to_ascii_lowercase())
                    .collect();
                if let Some(i) = cols.iter().position(|c| c == "label") {
                    label_col = i;
                }
                if let Some(i) = cols.iter().position(|c| c == "x") {
                    xyz_col = i;
                }
            }
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |what: &str| Error::Landmarks {
            source_name: source.to_owned(),
            reason: format!("line {}: {what}", lineno + 1),
        };
        let num = |i: usize| -> Result<f64> {
            fields
                .get(i)
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad("missing or non-numeric coordinate"))
        };
        let p = [num(xyz_col)?, num(xyz_col + 1)?, num(xyz_col + 2)?];
        let label = fields.get(label_col).copied().unwrap_or_default();
        out.push(label, to_lps(frame, p));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimpleFile {
    #[serde(default)]
    coordinate_system: Option<String>,
    points: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SimplePoint {
    Bare([f64; 3]),
    Tagged(TaggedPoint),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaggedPoint {
    #[serde(default)]
    lps: Option<[f64; 3]>,
    #[serde(default)]
    ras: Option<[f64; 3]>,
    #[serde(default)]
    ijk: Option<[f64; 3]>,
}

/// Parse the simple JSON of named points:
///
/// ```json
/// { "coordinate_system": "LPS",
///   "points": { "basion": [0, -10, -40], "opisthion": {"ras": [0, 26, -36]}, "iter": {"ijk": [120, 80, 88]} } }
/// ```
///
/// A bare `[x, y, z]` is in `coordinate_system` (LPS when absent); `{"lps": ..}`, `{"ras": ..}`
/// say so per point; `{"ijk": ..}` is a continuous voxel index (column, row, slice) in
/// `geometry`, the series the reader placed the points on (an error without one).
pub fn parse_points_json(
    text: &str,
    source: &str,
    geometry: Option<&Geometry>,
) -> Result<ImportedPoints> {
    let file: SimpleFile = serde_json::from_str(text).map_err(|e| Error::Landmarks {
        source_name: source.to_owned(),
        reason: format!("not a points file: {e}"),
    })?;
    let frame = parse_frame(file.coordinate_system.as_deref(), source)?;
    let mut out = ImportedPoints::default();
    for (label, raw) in &file.points {
        let bad = |reason: String| Error::Landmarks {
            source_name: source.to_owned(),
            reason: format!("point {label:?}: {reason}"),
        };
        let pt: SimplePoint = serde_json::from_value(raw.clone()).map_err(|_| {
            bad("expected [x, y, z] or one of {\"lps\"|\"ras\"|\"ijk\": [x, y, z]}".to_owned())
        })?;
        let p = match &pt {
            SimplePoint::Bare(p) if finite3(*p) => to_lps(frame, *p),
            SimplePoint::Tagged(TaggedPoint {
                lps: Some(p),
                ras: None,
                ijk: None,
            }) if finite3(*p) => PointLps(*p),
            SimplePoint::Tagged(TaggedPoint {
                lps: None,
                ras: Some(p),
                ijk: None,
            }) if finite3(*p) => to_lps(Frame::Ras, *p),
            SimplePoint::Tagged(TaggedPoint {
                lps: None,
                ras: None,
                ijk: Some(p),
            }) if finite3(*p) => {
                let g = geometry.ok_or_else(|| {
                    bad("voxel coordinates need the series they were placed on".to_owned())
                })?;
                g.world_from_voxel_point(DVec3::from_array(*p))
            }
            _ => {
                return Err(bad(
                    "give exactly one finite lps, ras or ijk triple".to_owned()
                ));
            }
        };
        out.push(label, p);
    }
    Ok(out)
}

/// Read a landmark file, choosing the parser by name: `*.mrk.json` (or any JSON with a
/// `markups` array) -> Slicer markups, `*.fcsv` -> legacy Slicer, other `*.json` -> simple points.
pub fn read_landmark_file(path: &Path, geometry: Option<&Geometry>) -> Result<ImportedPoints> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let shown = path.display().to_string();
    #[allow(
        clippy::case_sensitive_file_extension_comparisons,
        reason = "the name is lower-cased above"
    )]
    let is_fcsv = name.ends_with(".fcsv");
    if is_fcsv {
        return parse_fcsv(&text, &shown);
    }
    #[allow(
        clippy::case_sensitive_file_extension_comparisons,
        reason = "the name is lower-cased above"
    )]
    let is_markups = name.ends_with(".mrk.json")
        || serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .is_some_and(|v| v.get("markups").is_some_and(serde_json::Value::is_array));
    if is_markups {
        parse_markups_json(&text, &shown)
    } else {
        parse_points_json(&text, &shown, geometry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_parse() {
        assert_eq!(LandmarkName::parse("Basion"), Some(LandmarkName::Basion));
        assert_eq!(
            LandmarkName::parse(" Mammillary body "),
            Some(LandmarkName::MamillaryInferior)
        );
        assert_eq!(
            LandmarkName::parse("vein-of-Galen"),
            Some(LandmarkName::GalenJunction)
        );
        assert_eq!(LandmarkName::parse("F-1"), None);
        for n in LandmarkName::ALL {
            assert_eq!(LandmarkName::parse(n.as_str()), Some(*n));
            for a in n.aliases() {
                assert_eq!(LandmarkName::parse(a), Some(*n), "{a}");
            }
        }
    }

    #[test]
    fn markups_ras_lps_and_status() {
        let text = r#"{"@schema":"x","markups":[
          {"type":"Fiducial","coordinateSystem":"RAS","controlPoints":[
            {"label":"basion","position":[1.0,2.0,3.0]},
            {"label":"iter","position":[9.0,9.0,9.0],"positionStatus":"preview"}]},
          {"type":"Fiducial","controlPoints":[
            {"label":"opisthion","position":[4.0,5.0,6.0],"positionStatus":"defined"},
            {"label":"F-1","position":[0.0,0.0,0.0]}]}]}"#;
        let p = parse_markups_json(text, "t").unwrap();
        assert_eq!(p.points[&LandmarkName::Basion], PointLps([-1.0, -2.0, 3.0]));
        assert_eq!(
            p.points[&LandmarkName::Opisthion],
            PointLps([4.0, 5.0, 6.0])
        );
        assert!(!p.points.contains_key(&LandmarkName::Iter));
        assert_eq!(p.skipped_undefined, 1);
        assert_eq!(p.unknown_labels, vec!["F-1".to_owned()]);
    }

    #[test]
    fn fcsv_frames() {
        let text = "# Markups fiducial file version = 4.10\n# CoordinateSystem = 0\n\
            # columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\n\
            vtkMRMLMarkupsFiducialNode_0,1.5,-2,3,0,0,0,1,1,1,0,basion,,vtkMRMLScalarVolumeNode1\n";
        let p = parse_fcsv(text, "t").unwrap();
        assert_eq!(p.points[&LandmarkName::Basion], PointLps([-1.5, 2.0, 3.0]));
        let lps = text.replace("CoordinateSystem = 0", "CoordinateSystem = LPS");
        let p = parse_fcsv(&lps, "t").unwrap();
        assert_eq!(p.points[&LandmarkName::Basion], PointLps([1.5, -2.0, 3.0]));
        assert!(parse_fcsv("a,b,c,d\n", "t").is_err());
    }

    #[test]
    fn simple_points_and_errors() {
        let g = Geometry::from_steps(
            [10, 10, 10],
            PointLps([10.0, 0.0, 0.0]),
            csfleak_volume::VecLps([0.0, 2.0, 0.0]),
            csfleak_volume::VecLps([0.0, 0.0, -2.0]),
            csfleak_volume::VecLps([1.5, 0.0, 0.0]),
        )
        .unwrap();
        let text = r#"{"coordinate_system":"RAS","points":{
            "basion":[1,2,3], "opisthion":{"lps":[1,2,3]}, "iter":{"ijk":[1,2,3]}}}"#;
        let p = parse_points_json(text, "t", Some(&g)).unwrap();
        assert_eq!(p.points[&LandmarkName::Basion], PointLps([-1.0, -2.0, 3.0]));
        assert_eq!(
            p.points[&LandmarkName::Opisthion],
            PointLps([1.0, 2.0, 3.0])
        );
        assert_eq!(p.points[&LandmarkName::Iter], PointLps([14.5, 2.0, -4.0]));
        assert!(parse_points_json(text, "t", None).is_err());
        assert!(
            parse_points_json(
                r#"{"points":{"iter":{"lps":[1,2,3],"ras":[1,2,3]}}}"#,
                "t",
                None
            )
            .is_err()
        );
        assert!(parse_points_json(r#"{"points":{"iter":[1,2]}}"#, "t", None).is_err());
    }

    #[test]
    fn imported_wins_both_recorded() {
        let mut s = LandmarkSet::new();
        s.insert_automatic(Landmark {
            name: LandmarkName::Iter,
            position: PointLps([0.0, 0.0, 0.0]),
            origin: Origin::Automatic,
            confidence: 0.7,
            uncertainty_mm: 1.0,
        });
        assert_eq!(
            s.source(),
            Some(csfleak_findings::LandmarkSource::Automatic)
        );
        s.insert_imported(LandmarkName::Iter, PointLps([1.0, 0.0, 0.0]), 0.5);
        assert_eq!(
            s.get(LandmarkName::Iter).unwrap().position,
            PointLps([1.0, 0.0, 0.0])
        );
        assert_eq!(s.all_records().len(), 2);
        assert_eq!(s.source(), Some(csfleak_findings::LandmarkSource::Imported));
        s.mark_missing(LandmarkName::Basion, "out of view");
        assert!(
            s.why_missing(LandmarkName::Basion)
                .unwrap()
                .contains("out of view")
        );
        assert!(s.why_missing(LandmarkName::Iter).is_none());
    }
}
