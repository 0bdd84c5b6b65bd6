//! Scenarios: named recipes that write a whole phantom study with its truth.
//!
//! A [`Scenario`] is a name, a description and a build function. The build function receives a
//! [`ScenarioContext`] (the study context, the seed, the output folder for DICOM files), writes
//! its series through it and records its truth sections under the family names of the findings
//! contract (`"spine"`, `"ct_myelography"`, `"cisternography"`, `"brain"`). [`generate`] runs
//! one scenario into a folder and writes `truth.json` and `provenance.json` beside `DICOM/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use csfleak_volume::Volume;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::study::StudyContext;
use crate::writer::{SeriesSpec, SeriesTruth, write_volume_series};

/// Version of the generator written into truth and provenance (bump when output changes).
pub const GENERATOR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Name of the generator.
pub const GENERATOR: &str = "csfleak-phantom";

/// Grid size preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Size {
    /// Scanner-like matrices and slice counts.
    #[default]
    Full,
    /// Downsampled grids for shipped samples and fast tests (a few MB per study).
    Small,
}

impl Size {
    /// Parse `full` / `small`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Size::Full),
            "small" => Some(Size::Small),
            _ => None,
        }
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Full => "full",
            Size::Small => "small",
        }
    }
}

/// A named recipe for a phantom study.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Unique name, kebab-case, e.g. `spine-mri-ventral-leak`.
    pub name: &'static str,
    /// One line for `--list`.
    pub description: &'static str,
    /// Writes the series and records truth through the context.
    pub build: fn(&mut ScenarioContext) -> Result<()>,
}

/// What a build function works with: the study, the seed, where DICOM files go, and the truth
/// collected so far.
#[derive(Debug)]
pub struct ScenarioContext {
    /// Study-level attributes (UIDs, date, synthetic patient).
    pub study: StudyContext,
    /// The seed of the study.
    pub seed: u64,
    /// Grid size preset.
    pub size: Size,
    /// Folder receiving the DICOM files.
    pub dicom_dir: PathBuf,
    series: Vec<SeriesTruth>,
    sections: BTreeMap<String, Value>,
    next_series_number: u32,
}

impl ScenarioContext {
    /// A context writing DICOM files into `dicom_dir`.
    pub fn new(seed: u64, size: Size, dicom_dir: impl Into<PathBuf>) -> Self {
        Self {
            study: StudyContext::new(seed),
            seed,
            size,
            dicom_dir: dicom_dir.into(),
            series: Vec::new(),
            sections: BTreeMap::new(),
            next_series_number: 1,
        }
    }

    /// The next free Series Number (1, 2, 3, ... in the order series are made).
    pub fn next_series_number(&mut self) -> u32 {
        let n = self.next_series_number;
        self.next_series_number += 1;
        n
    }

    /// Record a written series in the truth.
    pub fn add_series(&mut self, truth: SeriesTruth) {
        self.series.push(truth);
    }

    /// Write a volume series into [`Self::dicom_dir`] and record it (see
    /// [`write_volume_series`]); `extra` is attached to its truth entry.
    pub fn write_volume(
        &mut self,
        spec: &SeriesSpec,
        volume: &Volume,
        role: &str,
        extra: Value,
    ) -> Result<Vec<PathBuf>> {
        let files = write_volume_series(&self.dicom_dir, &self.study, spec, volume)?;
        let t = spec
            .truth(&self.study, volume.geometry(), role)
            .with_extra(extra);
        self.add_series(t);
        Ok(files)
    }

    /// Set the truth section of a family (`"spine"`, `"ct_myelography"`, `"cisternography"`,
    /// `"brain"`). If the section exists and both are objects, keys are merged (new wins).
    pub fn set_section(&mut self, family: &str, value: Value) {
        match (self.sections.get_mut(family), value) {
            (Some(Value::Object(old)), Value::Object(new)) => {
                for (k, v) in new {
                    old.insert(k, v);
                }
            }
            (_, value) => {
                self.sections.insert(family.to_owned(), value);
            }
        }
    }

    /// The truth section of a family, if set.
    pub fn section(&self, family: &str) -> Option<&Value> {
        self.sections.get(family)
    }

    /// The series recorded so far.
    pub fn series(&self) -> &[SeriesTruth] {
        &self.series
    }

    /// Finish into the truth document of a scenario.
    pub fn into_truth(self, scenario: &Scenario) -> Truth {
        Truth {
            generator: GENERATOR.to_owned(),
            generator_version: GENERATOR_VERSION.to_owned(),
            scenario: scenario.name.to_owned(),
            description: scenario.description.to_owned(),
            seed: self.seed,
            size: self.size,
            study: StudyTruth {
                study_instance_uid: self.study.study_instance_uid.clone(),
                study_date: self.study.study_date_iso(),
                institution_name: self.study.institution_name.clone(),
                patient_age_years: self.study.patient_age_years,
            },
            series: self.series,
            sections: self.sections,
        }
    }
}

/// Study-level truth, in the findings vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StudyTruth {
    /// Study Instance UID.
    pub study_instance_uid: String,
    /// `YYYY-MM-DD`.
    pub study_date: String,
    /// Institution Name.
    pub institution_name: String,
    /// Patient age in years.
    pub patient_age_years: u32,
}

/// The content of `truth.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Truth {
    /// `csfleak-phantom`.
    pub generator: String,
    /// Crate version.
    pub generator_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// Seed.
    pub seed: u64,
    /// Grid size preset.
    pub size: Size,
    /// Study-level truth.
    pub study: StudyTruth,
    /// Every written series.
    pub series: Vec<SeriesTruth>,
    /// Family sections (`spine`, `ct_myelography`, `cisternography`, `brain`).
    #[serde(flatten)]
    pub sections: BTreeMap<String, Value>,
}

/// The content of `provenance.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Provenance {
    /// Always `"synthetic"`.
    pub source: String,
    /// `csfleak-phantom`.
    pub generator: String,
    /// Crate version.
    pub generator_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Grid size preset.
    pub size: Size,
    /// The command that regenerates the folder.
    pub command: String,
    /// License of the data.
    pub license: String,
    /// De-identification statement.
    pub deidentification: String,
}

/// Options of [`generate`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GenerateOptions {
    /// Seed (default 0).
    pub seed: u64,
    /// Grid size preset.
    pub size: Size,
    /// Overwrite a non-empty output folder.
    pub force: bool,
}

impl GenerateOptions {
    /// Set the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Set the size preset.
    pub fn with_size(mut self, size: Size) -> Self {
        self.size = size;
        self
    }
    /// Allow overwriting a non-empty folder.
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
}

/// The scenarios of one modality family (no combined work-ups).
fn base_scenarios() -> Vec<Scenario> {
    let mut all = crate::spine::scenarios();
    all.extend(crate::cisterno::scenarios());
    all.extend(crate::brain::scenarios());
    all
}

/// Run several base scenarios into one study (shared study UID, consecutive series numbers).
fn workup(ctx: &mut ScenarioContext, names: &[&str]) -> Result<()> {
    let base = base_scenarios();
    for name in names {
        let s = base
            .iter()
            .find(|s| s.name == *name)
            .ok_or_else(|| Error::UnknownScenario {
                name: (*name).to_owned(),
                known: base.iter().map(|s| s.name.to_owned()).collect(),
            })?;
        (s.build)(ctx)?;
    }
    Ok(())
}

/// Combined work-ups: brain MRI, spine MRI, RI cisternography and CT myelography in one study.
fn workups() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "workup-normal",
            description: "Combined work-up without a leak: brain MRI, spine MRI, RI cisternography, CT myelography",
            build: |ctx| {
                workup(
                    ctx,
                    &[
                        "brain-normal",
                        "spine-mri-normal",
                        "ri-normal",
                        "spine-ctm-normal",
                    ],
                )
            },
        },
        Scenario {
            name: "workup-definite-leak",
            description: "Combined work-up of a spinal CSF leak: brain sagging 6 mm, ventral extradural CSF C7-T9 continuous with the SAS, unilateral RI accumulation, CTM root-sleeve leak T8 left",
            build: |ctx| {
                workup(
                    ctx,
                    &[
                        "brain-sag-6",
                        "spine-mri-ventral-leak",
                        "ri-leak-unilateral",
                        "spine-ctm-root-sleeve-leak",
                    ],
                )
            },
        },
    ]
}

/// Every registered scenario, sorted by name.
pub fn registry() -> Vec<Scenario> {
    let mut all = base_scenarios();
    all.extend(workups());
    all.sort_by_key(|s| s.name);
    all
}

/// The scenario of a name.
pub fn find(name: &str) -> Result<Scenario> {
    let all = registry();
    all.iter()
        .find(|s| s.name == name)
        .copied()
        .ok_or_else(|| Error::UnknownScenario {
            name: name.to_owned(),
            known: all.iter().map(|s| s.name.to_owned()).collect(),
        })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Write a JSON document with a trailing newline.
pub(crate) fn write_json(path: &Path, what: &'static str, value: &impl Serialize) -> Result<()> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|source| Error::Json { what, source })?;
    text.push('\n');
    std::fs::write(path, text).map_err(io(path))
}

/// Run a scenario into `out`: DICOM files under `out/DICOM/`, plus `out/truth.json` and
/// `out/provenance.json`.
///
/// Refuses a non-empty `out` unless `options.force`; with `force`, a previous `DICOM/` folder
/// and the two JSON files are removed first (nothing else is touched).
pub fn generate(name: &str, out: &Path, options: &GenerateOptions) -> Result<Truth> {
    let scenario = find(name)?;
    if out.exists() {
        let non_empty = std::fs::read_dir(out).map_err(io(out))?.next().is_some();
        if non_empty && !options.force {
            return Err(Error::OutputNotEmpty {
                path: out.to_owned(),
            });
        }
        let dicom = out.join("DICOM");
        if dicom.exists() {
            std::fs::remove_dir_all(&dicom).map_err(io(&dicom))?;
        }
        for f in ["truth.json", "provenance.json"] {
            let p = out.join(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(io(&p))?;
            }
        }
    }
    let dicom = out.join("DICOM");
    std::fs::create_dir_all(&dicom).map_err(io(&dicom))?;
    let mut ctx = ScenarioContext::new(options.seed, options.size, &dicom);
    (scenario.build)(&mut ctx)?;
    let truth = ctx.into_truth(&scenario);
    write_json(&out.join("truth.json"), "truth.json", &truth)?;
    let size_arg = match options.size {
        Size::Full => String::new(),
        Size::Small => " --size small".to_owned(),
    };
    let prov = Provenance {
        source: "synthetic".to_owned(),
        generator: GENERATOR.to_owned(),
        generator_version: GENERATOR_VERSION.to_owned(),
        scenario: scenario.name.to_owned(),
        seed: options.seed,
        size: options.size,
        command: format!(
            "csfleak phantom --scenario {} --seed {}{size_arg} --out DIR",
            scenario.name, options.seed
        ),
        license: "CC0-1.0".to_owned(),
        deidentification: "not applicable: computer-generated phantom, no patient data; \
                           the patient name PHANTOM^<n> is synthetic"
            .to_owned(),
    };
    write_json(&out.join("provenance.json"), "provenance.json", &prov)?;
    Ok(truth)
}

/// Round to `digits` decimals, for deliberate floats in truth JSON.
pub fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10_f64.powi(digits);
    let r = (x * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}

/// A non-negative whole number of steps as a loop bound (0 for NaN or negative).
pub(crate) fn count_steps(n: f64) -> usize {
    csfleak_volume::index_of(n.round()).unwrap_or(0)
}
