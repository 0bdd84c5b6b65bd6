//! Brain MRI phantoms for intracranial hypotension: a head model accurate on the midsagittal
//! plane, with a "sag" that moves the brainstem and diencephalon down by a known amount, and
//! the orbits with optic nerve sheaths of known diameter.
//!
//! * [`BrainOptions`]: sag, pituitary height, venous distension, pachymeningeal enhancement,
//!   subdural fluid, ONSD per side, head pose, grid.
//! * [`BrainPhantom::new`] builds the model and its [`BrainTruth`]: landmarks in patient LPS
//!   and the sagging metrics computed from them with the formulas written on each field.
//! * [`BrainPhantom::sagittal_t1`] renders a 3D T1 (pre- or post-contrast) with partial volume,
//!   bias field and Rician noise; [`BrainPhantom::orbits_t2fs`] a coronal fat-saturated T2 of
//!   the orbits.
//! * [`scenarios`]: the named studies.
//!
//! Intensities follow T1 contrast (CSF dark, grey < white, fat bright, marrow bright, cortical
//! bone dark; after gadolinium the dura, the venous sinuses and the pituitary enhance) and
//! fat-saturated T2 contrast (CSF and vitreous bright, fat dark), so that measurement code
//! developed on the phantom meets the same contrasts as on a scanner.
//!
//! ```
//! use csfleak_phantom::brain::{BrainOptions, BrainPhantom};
//! let normal = BrainPhantom::new(&BrainOptions::default())?;
//! let sagged = BrainPhantom::new(&BrainOptions::default().with_sag(6.0))?;
//! assert!(sagged.truth.mamillopontine_distance_mm < normal.truth.mamillopontine_distance_mm);
//! assert!(sagged.truth.pontomesencephalic_angle_deg < normal.truth.pontomesencephalic_angle_deg);
//! # Ok::<(), csfleak_phantom::Error>(())
//! ```

pub mod anatomy;
mod scenarios;

use std::collections::BTreeMap;

use csfleak_volume::{DVec3, Geometry, PointLps, VecLps, Volume};
use serde::{Deserialize, Serialize};

pub use scenarios::{scenarios, write_study};

use crate::error::{Result, invalid};
use crate::scenario::round_to;
use anatomy::{Head, HeadParams, Tissue};

/// Which grid a series is rendered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GridPreset {
    /// 1 mm isotropic sagittal 3D T1; 0.5 mm in-plane, 3 mm coronal orbits.
    #[default]
    Full,
    /// 2 mm sagittal T1; 1 mm in-plane, 3 mm coronal orbits (shipped samples).
    Small,
    /// 4 mm sagittal T1; 2 mm in-plane, 3 mm coronal orbits (smoke tests).
    Coarse,
}

/// Everything that defines a brain phantom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BrainOptions {
    /// Downward displacement of the diencephalon and the top of the midbrain, mm.
    pub sag_mm: f64,
    /// Pituitary height, mm (above ~9 mm the gland bulges over the diaphragma).
    pub pituitary_height_mm: f64,
    /// Distended transverse sinuses (convex inferior margin).
    pub venous_distension: bool,
    /// Thick, smooth, strongly enhancing dura on the contrast T1.
    pub pachymeningeal_enhancement: bool,
    /// Thickness of bilateral subdural fluid over the convexities, mm (0 = none).
    pub subdural_fluid_mm: f64,
    /// Optic nerve sheath diameter 3 mm behind the globe (outer diameter of the perioptic CSF
    /// ring), `[right, left]`, mm.
    pub onsd_mm: [f64; 2],
    /// Optic nerve diameter, mm.
    pub optic_nerve_diameter_mm: f64,
    /// Head pose in the scanner: rotation about x, y, z (degrees).
    pub head_rotation_deg: [f64; 3],
    /// Tilt of the sagittal acquisition about the superior-inferior axis (degrees, oblique
    /// slices).
    pub oblique_deg: f64,
    /// Slice thickness / spacing of the 3D T1 relative to the in-plane size (1 = isotropic).
    pub slice_factor: f64,
    /// Grid preset.
    pub grid: GridPreset,
    /// Rician noise as a fraction of white matter signal.
    pub noise_fraction: f64,
    /// Bias field strength (relative).
    pub bias: f64,
}

impl Default for BrainOptions {
    fn default() -> Self {
        Self {
            sag_mm: 0.0,
            pituitary_height_mm: 6.0,
            venous_distension: false,
            pachymeningeal_enhancement: false,
            subdural_fluid_mm: 0.0,
            onsd_mm: [4.8, 4.8],
            optic_nerve_diameter_mm: 3.0,
            head_rotation_deg: [0.0; 3],
            oblique_deg: 0.0,
            slice_factor: 1.0,
            grid: GridPreset::Full,
            noise_fraction: 0.02,
            bias: 0.12,
        }
    }
}

impl BrainOptions {
    /// Set the sag (mm).
    pub fn with_sag(mut self, mm: f64) -> Self {
        self.sag_mm = mm;
        self
    }
    /// Set the pituitary height (mm).
    pub fn with_pituitary_height(mut self, mm: f64) -> Self {
        self.pituitary_height_mm = mm;
        self
    }
    /// Distended transverse sinuses or not.
    pub fn with_venous_distension(mut self, on: bool) -> Self {
        self.venous_distension = on;
        self
    }
    /// Pachymeningeal enhancement or not.
    pub fn with_pachymeningeal_enhancement(mut self, on: bool) -> Self {
        self.pachymeningeal_enhancement = on;
        self
    }
    /// Subdural fluid thickness (mm, 0 = none).
    pub fn with_subdural_fluid(mut self, mm: f64) -> Self {
        self.subdural_fluid_mm = mm;
        self
    }
    /// ONSD `[right, left]` (mm).
    pub fn with_onsd(mut self, right_mm: f64, left_mm: f64) -> Self {
        self.onsd_mm = [right_mm, left_mm];
        self
    }
    /// Head rotation about x, y, z (degrees).
    pub fn with_head_rotation(mut self, deg: [f64; 3]) -> Self {
        self.head_rotation_deg = deg;
        self
    }
    /// Oblique sagittal slices (degrees about the superior-inferior axis).
    pub fn with_oblique(mut self, deg: f64) -> Self {
        self.oblique_deg = deg;
        self
    }
    /// Slice spacing factor of the 3D T1 (1.2 gives anisotropic voxels).
    pub fn with_slice_factor(mut self, f: f64) -> Self {
        self.slice_factor = f;
        self
    }
    /// Grid preset.
    pub fn with_grid(mut self, grid: GridPreset) -> Self {
        self.grid = grid;
        self
    }
}

/// Contrast phase of a T1 series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Before gadolinium.
    Pre,
    /// After gadolinium.
    PostContrast,
}

/// Right and left values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Sides {
    /// Patient left.
    pub left: f64,
    /// Patient right.
    pub right: f64,
}

/// The `brain` section of truth.json: landmarks (patient LPS mm) and the metrics computed from
/// them (landmarks and metrics rounded to 1e-6 mm / degree).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BrainTruth {
    /// `phantom`: the landmarks are the model's.
    pub landmark_source: String,
    /// The sag parameter, mm.
    pub sag_mm: f64,
    /// `|pons_superior - mamillary_inferior|`.
    pub mamillopontine_distance_mm: f64,
    /// Angle at `pm_vertex` between `pm_midbrain` and `pm_pons`, degrees.
    pub pontomesencephalic_angle_deg: f64,
    /// `|chiasm_inferior - diaphragma_sellae|`.
    pub suprasellar_cistern_mm: f64,
    /// `|pons_anterior - clivus_prepontine|` (antero-posterior, at mid-pons height).
    pub prepontine_cistern_mm: f64,
    /// Distance of `tonsil_tip` from the basion-opisthion (`McRae`) line in the midsagittal
    /// plane; positive below the line.
    pub tonsil_below_mcrae_mm: f64,
    /// Distance of `iter` from the incisural line (tuberculum sellae to the vein of Galen /
    /// straight sinus junction) in the midsagittal plane; positive below the line.
    pub iter_below_incisural_line_mm: f64,
    /// `|pituitary_top - pituitary_floor|`.
    pub pituitary_height_mm: f64,
    /// Distended transverse sinus (convex inferior margin).
    pub venous_distension: bool,
    /// Pachymeningeal enhancement on the contrast T1.
    pub pachymeningeal_enhancement: bool,
    /// Subdural fluid present.
    pub subdural_fluid: bool,
    /// Its thickness, mm.
    pub subdural_fluid_thickness_mm: f64,
    /// ONSD 3 mm behind the globe (outer diameter of the perioptic CSF ring).
    pub onsd_mm: Sides,
    /// Where ONSD is defined, mm behind the posterior pole of the globe.
    pub onsd_behind_globe_mm: f64,
    /// Landmarks by name, patient LPS mm.
    pub landmarks: BTreeMap<String, [f64; 3]>,
    /// Unit normal of the midsagittal plane (patient left), LPS.
    pub midsagittal_normal: [f64; 3],
}

/// A brain phantom: the model, its pose and its truth.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BrainPhantom {
    /// The options.
    pub options: BrainOptions,
    head: Head,
    /// The truth.
    pub truth: BrainTruth,
}

/// Angle at `v` between `a` and `b`, degrees.
pub fn angle_deg(v: [f64; 3], a: [f64; 3], b: [f64; 3]) -> f64 {
    let (v, a, b) = (
        DVec3::from_array(v),
        DVec3::from_array(a),
        DVec3::from_array(b),
    );
    let (x, y) = (a - v, b - v);
    let c = x.dot(y) / (x.length() * y.length()).max(1e-12);
    c.clamp(-1.0, 1.0).acos().to_degrees()
}

/// Signed distance of `p` below the line `a-b` within the plane of normal `n`: positive on the
/// side of `down`.
pub fn below_line_mm(p: [f64; 3], a: [f64; 3], b: [f64; 3], n: [f64; 3], down: [f64; 3]) -> f64 {
    let (p, a, b, n, down) = (
        DVec3::from_array(p),
        DVec3::from_array(a),
        DVec3::from_array(b),
        DVec3::from_array(n),
        DVec3::from_array(down),
    );
    let mut perp = n.cross(b - a).normalize_or_zero();
    if perp.dot(down) < 0.0 {
        perp = -perp;
    }
    (p - a).dot(perp)
}

/// Euclidean distance, mm.
pub fn distance_mm(a: [f64; 3], b: [f64; 3]) -> f64 {
    DVec3::from_array(a).distance(DVec3::from_array(b))
}

impl BrainPhantom {
    /// Build the model and its truth.
    pub fn new(options: &BrainOptions) -> Result<Self> {
        let o = options;
        let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
        if !finite_nonneg(o.sag_mm) || o.sag_mm > 12.0 {
            return Err(invalid("brain sag must be between 0 and 12 mm"));
        }
        if !(o.pituitary_height_mm > 1.0 && o.pituitary_height_mm < 14.0) {
            return Err(invalid("pituitary height must be between 1 and 14 mm"));
        }
        if !finite_nonneg(o.subdural_fluid_mm) || o.subdural_fluid_mm > 15.0 {
            return Err(invalid(
                "subdural fluid thickness must be between 0 and 15 mm",
            ));
        }
        let within = |v: f64, lo: f64, hi: f64| v.is_finite() && v > lo && v < hi;
        if o.onsd_mm
            .iter()
            .any(|d| !within(*d, o.optic_nerve_diameter_mm, 10.0))
            || !within(o.optic_nerve_diameter_mm, 1.0, 8.0)
        {
            return Err(invalid(
                "ONSD must exceed the optic nerve diameter and stay below 10 mm",
            ));
        }
        if !(within(o.slice_factor, 0.49, 4.01) && o.oblique_deg.is_finite()) {
            return Err(invalid(
                "slice factor must be 0.5-4 and the oblique angle finite",
            ));
        }
        let head = Head::new(HeadParams {
            sag_mm: o.sag_mm,
            pituitary_height_mm: o.pituitary_height_mm,
            venous_distension: o.venous_distension,
            pachymeningeal_enhancement: o.pachymeningeal_enhancement,
            subdural_fluid_mm: o.subdural_fluid_mm,
            onsd_mm: o.onsd_mm,
            optic_nerve_diameter_mm: o.optic_nerve_diameter_mm,
            rotation_deg: o.head_rotation_deg,
            translation_mm: [0.0, -10.0, -40.0],
        });
        let truth = make_truth(o, &head);
        Ok(Self {
            options: o.clone(),
            head,
            truth,
        })
    }

    /// The tissue at a patient point.
    pub fn tissue_at(&self, p: PointLps) -> Tissue {
        self.head.classify(p.to_dvec3())
    }

    /// Patient position of a head-frame point (basion at the origin, midsagittal `x = 0`).
    pub fn world_from_head(&self, p: [f64; 3]) -> PointLps {
        PointLps::from_dvec3(
            self.head
                .world_from_head()
                .transform_point3(DVec3::from_array(p)),
        )
    }

    /// The sagittal 3D T1 grid: rows head to feet, columns anterior to posterior, slices right
    /// to left, optionally tilted by `oblique_deg` about the superior axis.
    pub fn sagittal_geometry(&self) -> Result<Geometry> {
        let (px, n_in, n_sl) = match self.options.grid {
            GridPreset::Full => (1.0, 256_usize, 176.0),
            GridPreset::Small => (2.0, 128_usize, 88.0),
            GridPreset::Coarse => (4.0, 64_usize, 44.0),
        };
        let dz = px * self.options.slice_factor;
        let nk = (n_sl * px / dz).round().max(1.0);
        let nk_usize = csfleak_volume::index_of(nk).unwrap_or(1);
        let centre = self.world_from_head([0.0, -5.0, 0.0]).to_dvec3() + DVec3::new(0.0, 0.0, 20.0);
        let rot = csfleak_volume::DMat3::from_rotation_z(self.options.oblique_deg.to_radians());
        let (si, sj, sk) = (
            rot * DVec3::new(0.0, px, 0.0),
            rot * DVec3::new(0.0, 0.0, -px),
            rot * DVec3::new(dz, 0.0, 0.0),
        );
        let half = |n: f64| (n - 1.0) / 2.0;
        let origin = centre - si * half(n_in as f64) - sj * half(n_in as f64) - sk * half(nk);
        Ok(Geometry::from_steps(
            [n_in, n_in, nk_usize],
            PointLps::from_dvec3(origin),
            VecLps::from_dvec3(si),
            VecLps::from_dvec3(sj),
            VecLps::from_dvec3(sk),
        )?)
    }

    /// The coronal orbit grid: rows head to feet, columns right to left, 3 mm slices anterior
    /// to posterior through the globes and optic nerves.
    pub fn orbit_geometry(&self) -> Result<Geometry> {
        let (px, ni, nj) = match self.options.grid {
            GridPreset::Full => (0.5, 256_usize, 160_usize),
            GridPreset::Small => (1.0, 128_usize, 80_usize),
            GridPreset::Coarse => (2.0, 64_usize, 40_usize),
        };
        // A slice centre falls 3 mm behind the globes (head y = -59), where ONSD is defined.
        let centre = self.world_from_head([0.0, -60.5, 22.0]).to_dvec3();
        let nk = 20_usize;
        let (si, sj, sk) = (
            DVec3::new(px, 0.0, 0.0),
            DVec3::new(0.0, 0.0, -px),
            DVec3::new(0.0, 3.0, 0.0),
        );
        let half = |n: usize| (n as f64 - 1.0) / 2.0;
        let origin = centre - si * half(ni) - sj * half(nj) - sk * half(nk);
        Ok(Geometry::from_steps(
            [ni, nj, nk],
            PointLps::from_dvec3(origin),
            VecLps::from_dvec3(si),
            VecLps::from_dvec3(sj),
            VecLps::from_dvec3(sk),
        )?)
    }

    /// Sub-samples per axis at tissue edges (partial volume).
    fn supersampling(&self) -> usize {
        match self.options.grid {
            GridPreset::Full => 3,
            GridPreset::Small | GridPreset::Coarse => 2,
        }
    }

    /// Noiseless T1 signal of a tissue, pre- or post-contrast.
    #[allow(
        clippy::match_same_arms,
        reason = "one arm per tissue and phase reads as a table"
    )]
    pub fn t1_value(&self, t: Tissue, phase: Phase) -> f32 {
        let pme = self.options.pachymeningeal_enhancement;
        let contrast = phase == Phase::PostContrast;
        match (t, contrast) {
            (Tissue::Air | Tissue::SinusAir, _) => 0.0,
            (Tissue::Fat | Tissue::OrbitalFat, _) => 1000.0,
            (Tissue::Soft | Tissue::Muscle, false) => 480.0,
            (Tissue::Soft | Tissue::Muscle, true) => 560.0,
            (Tissue::Bone, _) => 60.0,
            (Tissue::Marrow, _) => 760.0,
            (Tissue::Dura, false) => 380.0,
            (Tissue::Dura, true) => {
                if pme {
                    1150.0
                } else {
                    560.0
                }
            }
            (Tissue::Csf | Tissue::Vitreous, _) => 140.0,
            (Tissue::Grey, _) => 560.0,
            (Tissue::White | Tissue::OpticNerve, _) => 820.0,
            (Tissue::Brainstem, _) => 760.0,
            (Tissue::Cerebellum, _) => 590.0,
            (Tissue::Pituitary, false) => 600.0,
            (Tissue::Pituitary, true) => 1050.0,
            (Tissue::Venous, false) => 300.0,
            (Tissue::Venous, true) => 1100.0,
            (Tissue::Subdural, false) => 260.0,
            (Tissue::Subdural, true) => 300.0,
        }
    }

    /// Noiseless fat-saturated T2 signal of a tissue.
    #[allow(
        clippy::match_same_arms,
        reason = "one arm per tissue reads as a table"
    )]
    pub fn t2fs_value(t: Tissue) -> f32 {
        match t {
            Tissue::Air | Tissue::SinusAir => 0.0,
            Tissue::Fat | Tissue::OrbitalFat => 70.0,
            Tissue::Soft => 260.0,
            Tissue::Muscle => 180.0,
            Tissue::Bone => 40.0,
            Tissue::Marrow => 90.0,
            Tissue::Dura => 150.0,
            Tissue::Csf => 1000.0,
            Tissue::Vitreous => 950.0,
            Tissue::Subdural => 980.0,
            Tissue::Grey => 520.0,
            Tissue::White | Tissue::OpticNerve => 360.0,
            Tissue::Brainstem => 400.0,
            Tissue::Cerebellum => 500.0,
            Tissue::Pituitary => 480.0,
            Tissue::Venous => 120.0,
        }
    }

    /// Render the sagittal 3D T1 (pre- or post-contrast) with partial volume; with a seed, add
    /// the bias field and Rician noise (`None` gives the noiseless image).
    pub fn sagittal_t1(&self, phase: Phase, seed: Option<u64>) -> Result<Volume> {
        let g = self.sagittal_geometry()?;
        let mut v = crate::render::render_supersampled(
            &g,
            self.supersampling(),
            |p| self.head.classify(p) as u8,
            |l| self.t1_value(Tissue::from_u8(l), phase),
        )?;
        if let Some(seed) = seed {
            let key = match phase {
                Phase::Pre => "brain/t1",
                Phase::PostContrast => "brain/t1c",
            };
            crate::noise::BiasField::new(self.options.bias, seed, key).apply(&mut v);
            #[allow(clippy::cast_possible_truncation, reason = "a noise level fits f32")]
            let sigma = (self.options.noise_fraction * 820.0) as f32;
            crate::noise::add_rician(&mut v, sigma, seed, key);
        }
        Ok(v)
    }

    /// Render the coronal fat-saturated T2 of the orbits (noise and bias with a seed).
    pub fn orbits_t2fs(&self, seed: Option<u64>) -> Result<Volume> {
        let g = self.orbit_geometry()?;
        let mut v = crate::render::render_supersampled(
            &g,
            self.supersampling(),
            |p| self.head.classify(p) as u8,
            |l| Self::t2fs_value(Tissue::from_u8(l)),
        )?;
        if let Some(seed) = seed {
            crate::noise::BiasField::new(self.options.bias, seed, "brain/orbits").apply(&mut v);
            #[allow(clippy::cast_possible_truncation, reason = "a noise level fits f32")]
            let sigma = (self.options.noise_fraction * 1000.0) as f32;
            crate::noise::add_rician(&mut v, sigma, seed, "brain/orbits");
        }
        Ok(v)
    }
}

fn make_truth(o: &BrainOptions, head: &Head) -> BrainTruth {
    let w = head.world_from_head();
    let to = |p: DVec3| w.transform_point3(p).to_array();
    let lm = &head.landmarks;
    let named: Vec<(&str, DVec3)> = vec![
        ("mamillary_inferior", lm.mamillary_inferior),
        ("pons_superior", lm.pons_superior),
        ("pm_vertex", lm.pm_vertex),
        ("pm_midbrain", lm.pm_midbrain),
        ("pm_pons", lm.pm_pons),
        ("chiasm_inferior", lm.chiasm_inferior),
        ("diaphragma_sellae", lm.diaphragma_sellae),
        ("clivus_prepontine", lm.clivus_prepontine),
        ("pons_anterior", lm.pons_anterior),
        ("basion", lm.basion),
        ("opisthion", lm.opisthion),
        ("tonsil_tip", lm.tonsil_tip),
        ("iter", lm.iter),
        ("tuberculum_sellae", lm.tuberculum_sellae),
        ("galen_junction", lm.galen_junction),
        ("pituitary_top", lm.pituitary_top),
        ("pituitary_floor", lm.pituitary_floor),
        ("globe_posterior_right", lm.globe_posterior[0]),
        ("globe_posterior_left", lm.globe_posterior[1]),
        ("onsd_point_right", lm.onsd_point[0]),
        ("onsd_point_left", lm.onsd_point[1]),
    ];
    let landmarks: BTreeMap<String, [f64; 3]> = named
        .into_iter()
        .map(|(k, p)| (k.to_owned(), to(p).map(|c| round_to(c, 6))))
        .collect();
    let g = |k: &str| landmarks.get(k).copied().unwrap_or([0.0; 3]);
    let normal = w.matrix3 * DVec3::X;
    let down = (w.matrix3 * DVec3::NEG_Z).to_array();
    BrainTruth {
        landmark_source: "phantom".to_owned(),
        sag_mm: o.sag_mm,
        mamillopontine_distance_mm: round_to(
            distance_mm(g("mamillary_inferior"), g("pons_superior")),
            6,
        ),
        pontomesencephalic_angle_deg: round_to(
            angle_deg(g("pm_vertex"), g("pm_midbrain"), g("pm_pons")),
            6,
        ),
        suprasellar_cistern_mm: round_to(
            distance_mm(g("chiasm_inferior"), g("diaphragma_sellae")),
            6,
        ),
        prepontine_cistern_mm: round_to(distance_mm(g("clivus_prepontine"), g("pons_anterior")), 6),
        tonsil_below_mcrae_mm: round_to(
            below_line_mm(
                g("tonsil_tip"),
                g("basion"),
                g("opisthion"),
                normal.to_array(),
                down,
            ),
            6,
        ),
        iter_below_incisural_line_mm: round_to(
            below_line_mm(
                g("iter"),
                g("tuberculum_sellae"),
                g("galen_junction"),
                normal.to_array(),
                down,
            ),
            6,
        ),
        pituitary_height_mm: round_to(distance_mm(g("pituitary_top"), g("pituitary_floor")), 6),
        venous_distension: o.venous_distension,
        pachymeningeal_enhancement: o.pachymeningeal_enhancement,
        subdural_fluid: o.subdural_fluid_mm > 0.0,
        subdural_fluid_thickness_mm: o.subdural_fluid_mm,
        onsd_mm: Sides {
            left: o.onsd_mm[1],
            right: o.onsd_mm[0],
        },
        onsd_behind_globe_mm: 3.0,
        landmarks,
        midsagittal_normal: normal.to_array().map(|c| round_to(c, 9)),
    }
}
