//! The continuous spine model: a level table C1..S1, a curved canal centreline, and tissue
//! classification of any patient point.
//!
//! Cross-sections are evaluated in "straightened" coordinates `q = (x, u, s)`: `s` is the
//! height (patient z), `x` the patient x (positive = left), `u` the distance from the canal
//! centreline measured perpendicular to it in the sagittal plane (positive = posterior):
//! `u = (y - y_c(s)) cos θ(s)` with `tan θ = dy_c/ds`. The map to patient coordinates has the
//! Jacobian `1 / cos θ`, which the volume integrals use.

use csfleak_volume::DVec3;
use serde::Serialize;

/// Vertebral levels from C1 to S1 with body height and the height of the disc below (mm).
const LEVELS: [(&str, f64, f64); 25] = [
    ("C1", 10.0, 4.0),
    ("C2", 20.0, 4.5),
    ("C3", 14.0, 5.0),
    ("C4", 14.0, 5.0),
    ("C5", 14.0, 5.0),
    ("C6", 14.0, 5.0),
    ("C7", 15.0, 5.0),
    ("T1", 17.0, 4.5),
    ("T2", 18.0, 4.5),
    ("T3", 18.5, 4.5),
    ("T4", 19.0, 5.0),
    ("T5", 19.5, 5.0),
    ("T6", 20.0, 5.0),
    ("T7", 20.5, 5.5),
    ("T8", 21.0, 5.5),
    ("T9", 21.5, 6.0),
    ("T10", 22.0, 6.5),
    ("T11", 23.0, 7.0),
    ("T12", 24.0, 8.0),
    ("L1", 26.0, 9.0),
    ("L2", 27.0, 10.0),
    ("L3", 28.0, 10.5),
    ("L4", 28.0, 11.0),
    ("L5", 27.0, 11.0),
    ("S1", 30.0, 0.0),
];

/// Patient z of the top of C1 (mm).
const Z_TOP: f64 = 340.0;

/// Thickness of the dura (mm).
pub const DURA_MM: f64 = 0.4;

/// The tissue a point belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
#[non_exhaustive]
pub enum Tissue {
    /// Outside the body.
    Air = 0,
    /// Subcutaneous and epidural fat.
    Fat,
    /// Muscle and other soft tissue.
    Muscle,
    /// Cortical bone.
    Cortex,
    /// Trabecular bone with marrow.
    Marrow,
    /// Disc annulus.
    Annulus,
    /// Disc nucleus.
    Nucleus,
    /// Cerebrospinal fluid in the subarachnoid space (and root sleeves).
    Csf,
    /// Spinal cord.
    Cord,
    /// Dura mater.
    Dura,
    /// Extradural CSF collection.
    EpiduralFluid,
    /// Engorged epidural venous plexus.
    Vein,
    /// Lung.
    Lung,
    /// Nerve root outside its sleeve.
    Nerve,
    /// Perineural (Tarlov) cyst fluid.
    TarlovCyst,
    /// Extrathecal (epidural) contrast on CT myelography.
    ContrastLeak,
    /// Contrast along a needle tract or at a puncture site.
    PunctureLeak,
}

impl Tissue {
    /// Number of tissue kinds.
    pub const COUNT: usize = 17;

    /// From the `u8` label.
    pub fn from_u8(v: u8) -> Self {
        use Tissue::{
            Air, Annulus, ContrastLeak, Cord, Cortex, Csf, Dura, EpiduralFluid, Fat, Lung, Marrow,
            Muscle, Nerve, Nucleus, PunctureLeak, TarlovCyst, Vein,
        };
        const ALL: [Tissue; Tissue::COUNT] = [
            Air,
            Fat,
            Muscle,
            Cortex,
            Marrow,
            Annulus,
            Nucleus,
            Csf,
            Cord,
            Dura,
            EpiduralFluid,
            Vein,
            Lung,
            Nerve,
            TarlovCyst,
            ContrastLeak,
            PunctureLeak,
        ];
        ALL.get(usize::from(v)).copied().unwrap_or(Air)
    }
}

/// Where an extradural collection lies around the dural sac.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Position {
    /// In front of the sac.
    Ventral,
    /// Behind the sac.
    Dorsal,
    /// On one side.
    Lateral,
    /// All around the sac (floating dural sac sign).
    Circumferential,
}

/// A side of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Side {
    /// Patient left (+x).
    Left,
    /// Patient right (−x).
    Right,
    /// Midline.
    Midline,
}

impl Side {
    fn sign(self) -> f64 {
        match self {
            Side::Left => 1.0,
            Side::Right => -1.0,
            Side::Midline => 0.0,
        }
    }
}

/// An extradural fluid collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CollectionSpec {
    /// Upper level (e.g. `"C7"`): the collection starts at the middle of its body.
    pub from_level: String,
    /// Lower level (e.g. `"T10"`): the collection ends at the middle of its body.
    pub to_level: String,
    /// Position around the sac.
    pub position: Position,
    /// Side for lateral collections.
    pub side: Side,
    /// Maximal thickness in mm (radial, outside the dura), reached away from the tapered ends.
    pub max_thickness_mm: f64,
    /// Level of a dural defect connecting the collection to the subarachnoid space; `None`
    /// when the dura is intact (not continuous).
    pub dural_defect_level: Option<String>,
}

impl CollectionSpec {
    /// A collection between two levels.
    pub fn new(
        from_level: &str,
        to_level: &str,
        position: Position,
        max_thickness_mm: f64,
    ) -> Self {
        Self {
            from_level: from_level.to_owned(),
            to_level: to_level.to_owned(),
            position,
            side: Side::Midline,
            max_thickness_mm,
            dural_defect_level: None,
        }
    }
    /// Open a dural defect at a level (continuous with the subarachnoid space).
    pub fn with_dural_defect(mut self, level: &str) -> Self {
        self.dural_defect_level = Some(level.to_owned());
        self
    }
    /// Set the side (lateral collections).
    pub fn with_side(mut self, side: Side) -> Self {
        self.side = side;
        self
    }
}

/// A finding that mimics extradural fluid and must be excluded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Mimic {
    /// Engorged ventral epidural venous plexus, enhancing on contrast T1.
    VenousPlexus {
        /// Upper level.
        from_level: String,
        /// Lower level.
        to_level: String,
        /// Thickness in mm.
        thickness_mm: f64,
    },
    /// Perineural cyst on a root sleeve.
    TarlovCyst {
        /// Level.
        level: String,
        /// Side.
        side: Side,
        /// Largest radius in mm.
        radius_mm: f64,
    },
    /// Dilated nerve-root sleeve.
    DilatedRootSleeve {
        /// Level.
        level: String,
        /// Side.
        side: Side,
        /// Sleeve radius in mm.
        radius_mm: f64,
    },
}

/// Epidural contrast on CT myelography.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CtLeakSpec {
    /// Level of the nerve root (`"T8"`).
    pub level: String,
    /// Side.
    pub side: Side,
    /// Whether the contrast touches the root sleeve (a dural defect at the sleeve).
    pub continuous_with_sas: bool,
    /// HU of the leaked contrast.
    pub hu: f64,
}

/// A lumbar puncture site with contrast leaking along it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PunctureSpec {
    /// Interspace, e.g. `"L3/4"`.
    pub level: String,
    /// Whether epidural contrast has leaked at the puncture site.
    pub leak: bool,
    /// HU of the leaked contrast.
    pub hu: f64,
}

/// Parameters of the spine phantom.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SpineOptions {
    /// Scale of the curvature (1 = typical lordosis/kyphosis, 0 = straight).
    pub curvature: f64,
    /// Extradural collection.
    pub collection: Option<CollectionSpec>,
    /// Mimics.
    pub mimics: Vec<Mimic>,
    /// CT myelography leaks.
    pub ct_leaks: Vec<CtLeakSpec>,
    /// Puncture site.
    pub puncture: Option<PunctureSpec>,
}

impl Default for SpineOptions {
    fn default() -> Self {
        Self {
            curvature: 1.0,
            collection: None,
            mimics: Vec::new(),
            ct_leaks: Vec::new(),
            puncture: None,
        }
    }
}

impl SpineOptions {
    /// Add an extradural collection.
    pub fn with_collection(mut self, c: CollectionSpec) -> Self {
        self.collection = Some(c);
        self
    }
    /// Add a mimic.
    pub fn with_mimic(mut self, m: Mimic) -> Self {
        self.mimics.push(m);
        self
    }
    /// Add a CT myelography leak.
    pub fn with_ct_leak(mut self, leak: CtLeakSpec) -> Self {
        self.ct_leaks.push(leak);
        self
    }
    /// Set the puncture site.
    pub fn with_puncture(mut self, p: PunctureSpec) -> Self {
        self.puncture = Some(p);
        self
    }
    /// Scale the sagittal curvature (0 = straight spine).
    pub fn with_curvature(mut self, scale: f64) -> Self {
        self.curvature = scale;
        self
    }
}

impl CtLeakSpec {
    /// Epidural contrast at the root sleeve of `level` on `side`.
    pub fn new(level: &str, side: Side, continuous_with_sas: bool, hu: f64) -> Self {
        Self {
            level: level.to_owned(),
            side,
            continuous_with_sas,
            hu,
        }
    }
}

impl PunctureSpec {
    /// A puncture at an interspace (`"L3/4"`), with or without an epidural leak.
    pub fn new(level: &str, leak: bool, hu: f64) -> Self {
        Self {
            level: level.to_owned(),
            leak,
            hu,
        }
    }
}

/// One row of the level table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    /// `"C1"`..`"S1"`.
    pub name: &'static str,
    /// Disc below, e.g. `"C3/4"` (`None` for S1).
    pub disc: Option<String>,
    /// Patient z of the top of the body (mm).
    pub body_top_z_mm: f64,
    /// Patient z of the bottom of the body (mm).
    pub body_bottom_z_mm: f64,
    /// Patient z of the bottom of the disc below (mm); the segment of the level runs from here
    /// to the top of the body.
    pub segment_bottom_z_mm: f64,
}

impl Level {
    /// Centre of the body (patient z).
    pub fn body_mid_z(&self) -> f64 {
        0.5 * (self.body_top_z_mm + self.body_bottom_z_mm)
    }
    /// Centre of the disc below (patient z).
    pub fn disc_mid_z(&self) -> f64 {
        0.5 * (self.body_bottom_z_mm + self.segment_bottom_z_mm)
    }
}

fn disc_name(upper: &str, lower: &str) -> String {
    let (ur, un) = upper.split_at(1);
    let (lr, ln) = lower.split_at(1);
    if ur == lr {
        format!("{upper}/{ln}")
    } else {
        let _ = un;
        format!("{upper}/{lower}")
    }
}

/// Cross-section parameters at one height.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Section {
    /// Canal semi-axes (lateral, AP).
    canal: [f64; 2],
    /// Sac semi-axes and centre offset u.
    sac: [f64; 2],
    sac_u: f64,
    /// Cord semi-axes (0 below the conus).
    cord: [f64; 2],
    /// Vertebral body semi-axes.
    body: [f64; 2],
    /// Body outline semi-axes and centre u.
    outline: [f64; 3],
    /// Spinous process length.
    spinous: f64,
}

/// Per-level anatomy values: canal a,b; cord a,b; body A,B; outline a,b,u; spinous length.
fn level_section(name: &str) -> [f64; 10] {
    match name {
        "C1" => [14.0, 10.0, 6.0, 4.5, 9.0, 7.0, 60.0, 55.0, -20.0, 15.0],
        "C2" => [12.5, 8.5, 6.0, 4.5, 9.0, 7.5, 60.0, 55.0, -20.0, 25.0],
        "C3" | "C4" => [12.0, 7.5, 6.5, 4.5, 9.0, 7.5, 62.0, 58.0, -22.0, 22.0],
        "C5" | "C6" => [12.0, 7.5, 7.0, 4.5, 10.0, 8.0, 65.0, 60.0, -24.0, 24.0],
        "C7" => [11.5, 7.5, 6.5, 4.5, 11.0, 8.5, 75.0, 65.0, -26.0, 32.0],
        "T1" | "T2" | "T3" => [9.5, 8.0, 5.0, 4.0, 13.0, 10.5, 150.0, 105.0, -70.0, 36.0],
        "T4" | "T5" | "T6" | "T7" | "T8" => {
            [8.5, 8.0, 4.5, 4.0, 14.0, 12.0, 155.0, 110.0, -75.0, 38.0]
        }
        "T9" | "T10" | "T11" => [9.0, 8.5, 4.5, 4.0, 16.0, 13.5, 155.0, 110.0, -75.0, 36.0],
        "T12" => [10.0, 8.5, 4.0, 3.8, 18.0, 14.5, 155.0, 110.0, -70.0, 34.0],
        "L1" => [11.0, 9.0, 3.0, 3.0, 20.0, 15.0, 155.0, 110.0, -65.0, 32.0],
        "L2" | "L3" => [11.5, 9.0, 0.0, 0.0, 22.0, 16.0, 155.0, 110.0, -60.0, 32.0],
        "L4" | "L5" => [12.0, 9.5, 0.0, 0.0, 23.0, 16.5, 160.0, 115.0, -60.0, 30.0],
        _ => [10.0, 7.0, 0.0, 0.0, 24.0, 17.0, 165.0, 120.0, -60.0, 20.0],
    }
}

/// Sagittal curvature control points: (level, y offset of the canal in mm, + = posterior).
const CURVE: [(&str, f64); 8] = [
    ("C1", 0.0),
    ("C4", -12.0),
    ("C7", -2.0),
    ("T3", 12.0),
    ("T7", 22.0),
    ("T12", 8.0),
    ("L3", -12.0),
    ("S1", 10.0),
];

/// A root sleeve (or its dilated mimic): a capsule from the sac wall outwards.
#[derive(Debug, Clone, Copy)]
struct Sleeve {
    start: DVec3,
    dir: DVec3,
    /// Length of the CSF-filled part.
    csf_len: f64,
    /// Inner radius of the CSF-filled part.
    radius: f64,
    /// Radius of a bulbous end (0 for none).
    bulb: f64,
    level: usize,
}

/// An axis-aligned ellipsoid in q coordinates.
#[derive(Debug, Clone, Copy)]
struct Ellipsoid {
    centre: DVec3,
    semi: DVec3,
}

impl Ellipsoid {
    fn contains(&self, q: DVec3) -> bool {
        let d = (q - self.centre) / self.semi;
        d.length_squared() <= 1.0
    }
}

/// The spine phantom: anatomy plus optional findings, evaluated at patient points.
#[derive(Debug, Clone)]
pub struct SpineModel {
    options: SpineOptions,
    levels: Vec<Level>,
    /// Spline knots (z ascending) of the centreline y offset.
    knots: Vec<(f64, f64)>,
    sleeves: Vec<Sleeve>,
    /// Collection: s range (low, high), taper length, thickness, position, side.
    collection: Option<(f64, f64)>,
    defect: Option<(DVec3, DVec3)>,
    plexus: Option<(f64, f64, f64)>,
    tarlov: Option<Ellipsoid>,
    ct_blobs: Vec<(Ellipsoid, bool)>,
    puncture: Option<(Ellipsoid, f64, f64)>,
    sac_end_z: f64,
    conus_z: f64,
    mids: Vec<f64>,
    section_values: Vec<[f64; 10]>,
    table: Vec<Row>,
}

/// Lowest patient z of the lookup table (mm).
const TABLE_Z0: f64 = -700.0;
/// Step of the lookup table (mm).
const TABLE_STEP: f64 = 0.05;
/// Rows of the lookup table (z from -700 to +700 mm).
const TABLE_ROWS: usize = 28_001;

/// Cross-section and centreline at one tabulated height.
#[derive(Debug, Clone, Copy)]
struct Row {
    z: f64,
    yc: f64,
    dy: f64,
    sec: Section,
}

/// Length of the smooth taper at each end of a collection (mm).
const TAPER_MM: f64 = 8.0;

impl SpineModel {
    /// Build the model; an unknown level name or a negative thickness is an error.
    pub fn new(options: SpineOptions) -> crate::Result<Self> {
        let mut levels = Vec::new();
        let mut z = Z_TOP;
        for (n, &(name, body, disc)) in LEVELS.iter().enumerate() {
            let disc_name = LEVELS
                .get(n + 1)
                .map(|&(lower, _, _)| disc_name(name, lower));
            levels.push(Level {
                name,
                disc: disc_name,
                body_top_z_mm: z,
                body_bottom_z_mm: z - body,
                segment_bottom_z_mm: z - body - disc,
            });
            z -= body + disc;
        }
        let mut model = Self {
            options: SpineOptions::default(),
            knots: Vec::new(),
            sleeves: Vec::new(),
            collection: None,
            defect: None,
            plexus: None,
            tarlov: None,
            ct_blobs: Vec::new(),
            puncture: None,
            sac_end_z: levels[24].body_bottom_z_mm - 15.0,
            conus_z: levels[19].body_bottom_z_mm - 2.0,
            mids: levels.iter().map(Level::body_mid_z).collect(),
            section_values: levels.iter().map(|l| level_section(l.name)).collect(),
            table: Vec::new(),
            levels,
        };
        let curvature = options.curvature;
        for &(name, y) in CURVE.iter().rev() {
            let l = model.level_index(name)?;
            model
                .knots
                .push((model.levels[l].body_mid_z(), y * curvature));
        }
        // Extend flat beyond the ends.
        model
            .knots
            .insert(0, (model.knots[0].0 - 200.0, model.knots[0].1));
        let last = model.knots[model.knots.len() - 1];
        model.knots.push((last.0 + 200.0, last.1));
        let mut table = crate::error::alloc_rows(TABLE_ROWS)?;
        for n in 0..TABLE_ROWS {
            let z = TABLE_Z0 + n as f64 * TABLE_STEP;
            let (yc, dy) = model.centreline_exact(z);
            table.push(Row {
                z,
                yc,
                dy,
                sec: model.section_exact(z),
            });
        }
        model.table = table;
        model.build_sleeves(&options);
        model.build_findings(&options)?;
        model.options = options;
        Ok(model)
    }

    /// The options the model was built from.
    pub fn options(&self) -> &SpineOptions {
        &self.options
    }

    /// The level table, C1 first.
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Index of a level name in the table.
    pub fn level_index(&self, name: &str) -> crate::Result<usize> {
        self.levels
            .iter()
            .position(|l| l.name == name)
            .ok_or_else(|| crate::error::invalid(format!("unknown vertebral level {name:?}")))
    }

    /// Index of the level whose disc is `disc` (`"L3/4"`).
    pub fn disc_index(&self, disc: &str) -> crate::Result<usize> {
        self.levels
            .iter()
            .position(|l| l.disc.as_deref() == Some(disc))
            .ok_or_else(|| crate::error::invalid(format!("unknown disc level {disc:?}")))
    }

    /// The level whose segment (body top to the bottom of the disc below) contains `z`, clamped
    /// to C1 above and S1 below.
    pub fn level_at(&self, z: f64) -> &Level {
        self.levels
            .iter()
            .find(|l| z >= l.segment_bottom_z_mm)
            .unwrap_or(&self.levels[self.levels.len() - 1])
    }

    /// Index of the level whose segment contains `z` (clamped to C1 and S1).
    fn level_index_at(&self, z: f64) -> usize {
        self.levels
            .iter()
            .position(|l| z >= l.segment_bottom_z_mm)
            .unwrap_or(self.levels.len() - 1)
    }

    /// Canal centreline offset `y_c(z)` and its slope `dy_c/dz` (cubic Hermite through the
    /// curvature knots, tabulated every 0.05 mm and extended linearly within a step).
    pub fn centreline(&self, z: f64) -> (f64, f64) {
        let r = self.row(z);
        (r.yc + r.dy * (z - r.z), r.dy)
    }

    /// The tabulated row nearest to `z` (clamped to the table).
    fn row(&self, z: f64) -> &Row {
        let last = self.table.len() - 1;
        let f = ((z - TABLE_Z0) / TABLE_STEP)
            .round()
            .clamp(0.0, last as f64);
        &self.table[crate::scenario::count_steps(f).min(last)]
    }

    fn centreline_exact(&self, z: f64) -> (f64, f64) {
        let k = &self.knots;
        let n = k.len();
        if z <= k[0].0 {
            return (k[0].1, 0.0);
        }
        if z >= k[n - 1].0 {
            return (k[n - 1].1, 0.0);
        }
        let mut seg = 0;
        while seg + 2 < n && z > k[seg + 1].0 {
            seg += 1;
        }
        let slope = |i: usize| -> f64 {
            if i == 0 || i == n - 1 {
                0.0
            } else {
                (k[i + 1].1 - k[i - 1].1) / (k[i + 1].0 - k[i - 1].0)
            }
        };
        let (z0, y0) = k[seg];
        let (z1, y1) = k[seg + 1];
        let h = z1 - z0;
        let t = (z - z0) / h;
        let (m0, m1) = (slope(seg) * h, slope(seg + 1) * h);
        let t2 = t * t;
        let t3 = t2 * t;
        let y = (2.0 * t3 - 3.0 * t2 + 1.0) * y0
            + (t3 - 2.0 * t2 + t) * m0
            + (-2.0 * t3 + 3.0 * t2) * y1
            + (t3 - t2) * m1;
        let dy = ((6.0 * t2 - 6.0 * t) * y0
            + (3.0 * t2 - 4.0 * t + 1.0) * m0
            + (-6.0 * t2 + 6.0 * t) * y1
            + (3.0 * t2 - 2.0 * t) * m1)
            / h;
        (y, dy)
    }

    /// Patient point of the canal centre at height `z`.
    pub fn canal_centre(&self, z: f64) -> DVec3 {
        DVec3::new(0.0, self.centreline(z).0, z)
    }

    /// `cos θ` of the centreline at `z` (the Jacobian of straightening is `1 / cos θ`).
    pub fn cos_theta(&self, z: f64) -> f64 {
        let (_, dy) = self.centreline(z);
        1.0 / (1.0 + dy * dy).sqrt()
    }

    /// Straightened coordinates `(x, u, s)` of a patient point.
    pub fn straighten(&self, p: DVec3) -> DVec3 {
        let (yc, dy) = self.centreline(p.z);
        let c = 1.0 / (1.0 + dy * dy).sqrt();
        DVec3::new(p.x, (p.y - yc) * c, p.z)
    }

    /// Patient point of straightened coordinates.
    pub fn unstraighten(&self, q: DVec3) -> DVec3 {
        let (yc, dy) = self.centreline(q.z);
        let c = 1.0 / (1.0 + dy * dy).sqrt();
        DVec3::new(q.x, yc + q.y / c, q.z)
    }

    /// Arc length of the centreline between two heights (mm).
    pub fn arc_length(&self, z0: f64, z1: f64) -> f64 {
        let (lo, hi) = if z0 < z1 { (z0, z1) } else { (z1, z0) };
        let steps = ((hi - lo) / 0.1).ceil().max(1.0);
        let h = (hi - lo) / steps;
        let mut acc = 0.0;
        let mut z = lo + 0.5 * h;
        while z < hi {
            acc += h / self.cos_theta(z);
            z += h;
        }
        acc
    }

    fn section(&self, s: f64) -> Section {
        self.row(s).sec
    }

    fn section_exact(&self, s: f64) -> Section {
        // Linear interpolation of the per-level values between body centres.
        let mids = &self.mids;
        let last = mids.len() - 1;
        let (a, b, t) = if s >= mids[0] {
            (0, 0, 0.0)
        } else if s <= mids[last] {
            (last, last, 0.0)
        } else {
            let i = mids.iter().position(|&m| m < s).unwrap_or(1).max(1);
            (i - 1, i, (mids[i - 1] - s) / (mids[i - 1] - mids[i]))
        };
        let (va, vb) = (&self.section_values[a], &self.section_values[b]);
        let mut v = [0.0; 10];
        for n in 0..10 {
            v[n] = va[n] + (vb[n] - va[n]) * t;
        }
        let canal = [v[0], v[1]];
        // Sacral canal narrows below S1.
        let sacral = (self.levels[24].body_bottom_z_mm - s).max(0.0);
        let canal = [
            (canal[0] - sacral * 0.08).max(4.0),
            (canal[1] - sacral * 0.06).max(3.0),
        ];
        let mut sac = [canal[0] - 2.0, canal[1] - 2.5];
        let taper_from = self.sac_end_z + 25.0;
        if s < taper_from {
            let f = ((s - self.sac_end_z) / 25.0).clamp(0.0, 1.0).sqrt();
            sac = [sac[0] * f, sac[1] * f];
        }
        let mut cord = [v[2], v[3]];
        if s < self.conus_z + 20.0 {
            let f = ((s - self.conus_z) / 20.0).clamp(0.0, 1.0);
            cord = [cord[0].max(3.5) * f, cord[1].max(3.0) * f];
        }
        Section {
            canal,
            sac,
            sac_u: -1.0,
            cord,
            body: [v[4], v[5]],
            outline: [v[6], v[7], v[8]],
            spinous: v[9],
        }
    }

    fn build_sleeves(&mut self, options: &SpineOptions) {
        for (l, level) in self.levels.iter().enumerate() {
            if l == 0 {
                continue;
            }
            // Roots leave through the foramen just above the disc below the level.
            let s = level.body_bottom_z_mm + 0.25 * (level.body_top_z_mm - level.body_bottom_z_mm);
            let sec = self.section(s);
            if sec.sac[0] < 1.0 {
                continue;
            }
            for side in [Side::Left, Side::Right] {
                let sg = side.sign();
                let mut radius = if l < 7 {
                    1.2
                } else if l < 19 {
                    1.4
                } else {
                    1.8
                };
                let mut bulb = 0.0;
                for m in &options.mimics {
                    if let Mimic::DilatedRootSleeve {
                        level: ml,
                        side: ms,
                        radius_mm,
                    } = m
                        && ml == level.name
                        && *ms == side
                    {
                        radius = *radius_mm;
                        bulb = radius_mm * 1.3;
                    }
                }
                let start = DVec3::new(sg * (sec.sac[0] - 1.0), sec.sac_u, s);
                let dir = DVec3::new(sg * 0.85, -0.3, -0.43)
                    .try_normalize()
                    .unwrap_or(DVec3::X);
                self.sleeves.push(Sleeve {
                    start,
                    dir,
                    csf_len: 9.0,
                    radius,
                    bulb,
                    level: l,
                });
            }
        }
    }

    fn build_findings(&mut self, options: &SpineOptions) -> crate::Result<()> {
        if let Some(c) = &options.collection {
            if !(c.max_thickness_mm > 0.0 && c.max_thickness_mm < 15.0) {
                return Err(crate::error::invalid(
                    "collection thickness must be in (0, 15) mm",
                ));
            }
            let a = self.levels[self.level_index(&c.from_level)?].body_mid_z();
            let b = self.levels[self.level_index(&c.to_level)?].body_mid_z();
            self.collection = Some((a.min(b), a.max(b)));
            if let Some(d) = &c.dural_defect_level {
                let s = self.levels[self.level_index(d)?].body_mid_z();
                if s < a.min(b) + TAPER_MM || s > a.max(b) - TAPER_MM {
                    return Err(crate::error::invalid(
                        "the dural defect must lie inside the collection, away from its ends",
                    ));
                }
                let sec = self.section(s);
                let (dir, r) = match c.position {
                    Position::Dorsal => (DVec3::new(0.0, 1.0, 0.0), sec.sac[1]),
                    Position::Lateral => (DVec3::new(c.side.sign(), 0.0, 0.0), sec.sac[0]),
                    Position::Ventral | Position::Circumferential => {
                        (DVec3::new(0.0, -1.0, 0.0), sec.sac[1])
                    }
                };
                let centre = DVec3::new(0.0, sec.sac_u, s) + dir * r;
                self.defect = Some((centre, dir));
            }
        }
        for m in &options.mimics {
            match m {
                Mimic::VenousPlexus {
                    from_level,
                    to_level,
                    thickness_mm,
                } => {
                    let a = self.levels[self.level_index(from_level)?].body_mid_z();
                    let b = self.levels[self.level_index(to_level)?].body_mid_z();
                    self.plexus = Some((a.min(b), a.max(b), *thickness_mm));
                }
                Mimic::TarlovCyst {
                    level,
                    side,
                    radius_mm,
                } => {
                    let l = self.level_index(level)?;
                    let s = self.levels[l].body_mid_z();
                    let sec = self.section(s);
                    self.tarlov = Some(Ellipsoid {
                        centre: DVec3::new(side.sign() * (sec.canal[0] * 0.55), sec.sac_u, s - 6.0),
                        semi: DVec3::new(radius_mm * 0.7, radius_mm * 0.6, *radius_mm),
                    });
                }
                Mimic::DilatedRootSleeve { level, .. } => {
                    self.level_index(level)?;
                }
            }
        }
        for leak in &options.ct_leaks {
            let l = self.level_index(&leak.level)?;
            let sleeve = self
                .sleeves
                .iter()
                .find(|sl| sl.level == l && (sl.dir.x > 0.0) == (leak.side == Side::Left))
                .copied()
                .ok_or_else(|| crate::error::invalid("no root sleeve at that level"))?;
            let tip = sleeve.start + sleeve.dir * sleeve.csf_len;
            let centre = if leak.continuous_with_sas {
                tip + sleeve.dir * 2.5
            } else {
                // Remote epidural contrast, ventrolateral in the canal, separated by fat.
                DVec3::new(leak.side.sign() * 4.0, -9.0, sleeve.start.z + 22.0)
            };
            self.ct_blobs.push((
                Ellipsoid {
                    centre,
                    semi: DVec3::new(3.5, 2.5, 7.0),
                },
                leak.continuous_with_sas,
            ));
        }
        if let Some(p) = &options.puncture {
            let l = self.disc_index(&p.level)?;
            if l < 19 {
                return Err(crate::error::invalid(
                    "the puncture must be at a lumbar interspace",
                ));
            }
            let s = self.levels[l].disc_mid_z();
            let sec = self.section(s);
            let dorsal = sec.sac_u + sec.sac[1] + DURA_MM;
            self.puncture = Some((
                Ellipsoid {
                    centre: DVec3::new(0.8, dorsal + 1.6, s),
                    semi: DVec3::new(4.5, 1.8, 9.0),
                },
                s,
                dorsal,
            ));
        }
        Ok(())
    }

    /// Thickness of the collection at height `s` (0 outside), with smooth tapered ends.
    pub fn collection_thickness(&self, s: f64) -> f64 {
        let (Some((lo, hi)), Some(c)) = (self.collection, &self.options.collection) else {
            return 0.0;
        };
        if s <= lo || s >= hi {
            return 0.0;
        }
        let d = (s - lo).min(hi - s);
        let t = (d / TAPER_MM).min(1.0);
        let smooth = t * t * (3.0 - 2.0 * t);
        c.max_thickness_mm * smooth
    }

    /// Height range `(low, high)` of the collection, if any.
    pub fn collection_range(&self) -> Option<(f64, f64)> {
        self.collection
    }

    /// The tissue at a patient point.
    pub fn classify(&self, p: DVec3) -> Tissue {
        self.classify_q(self.straighten(p))
    }

    /// The tissue at straightened coordinates.
    #[allow(
        clippy::too_many_lines,
        reason = "one priority list of tissues, read top to bottom"
    )]
    pub fn classify_q(&self, q: DVec3) -> Tissue {
        let (x, u, s) = (q.x, q.y, q.z);
        let sec = self.section(s);
        // Nothing of the canal, sleeves or findings reaches this far from the centreline
        // (the needle tract is checked separately).
        let far = x.abs() > 55.0 || u.abs() > 45.0;
        if far {
            if let Some(t) = self.needle_tract(x, u, s, &sec) {
                return t;
            }
            return self.classify_outer(x, u, s, &sec);
        }
        let du = u - sec.sac_u;
        // 1. Inside the dural sac.
        let has_sac = sec.sac[0] > 0.5;
        let rho_sac = if has_sac {
            (x / sec.sac[0]).powi(2) + (du / sec.sac[1]).powi(2)
        } else {
            f64::INFINITY
        };
        if rho_sac < 1.0 {
            if sec.cord[0] > 0.3 {
                let cu = du + 0.5;
                if (x / sec.cord[0]).powi(2) + (cu / sec.cord[1]).powi(2) < 1.0 {
                    return Tissue::Cord;
                }
            }
            return Tissue::Csf;
        }
        // 2. The dural defect: a CSF channel through the dura.
        if let Some((centre, dir)) = self.defect {
            let d = q - centre;
            let along = d.dot(dir);
            let across = (d - dir * along).length();
            if across < 1.5 && (-1.0..=1.0 + DURA_MM).contains(&along) {
                return Tissue::Csf;
            }
        }
        // 3. The dura.
        let rho_dura = if has_sac {
            (x / (sec.sac[0] + DURA_MM)).powi(2) + (du / (sec.sac[1] + DURA_MM)).powi(2)
        } else {
            f64::INFINITY
        };
        if rho_dura < 1.0 {
            return Tissue::Dura;
        }
        // 4. Root sleeves (and dilated ones), CSF inside a thin dural wall, nerve beyond.
        // Sleeves are sorted by level; only those of the neighbouring levels can reach here.
        let l = self.level_index_at(s);
        let from = self.sleeves.partition_point(|sl| sl.level + 1 < l);
        let to = self.sleeves.partition_point(|sl| sl.level <= l + 1);
        for sl in &self.sleeves[from..to] {
            if (s - sl.start.z).abs() > 30.0 {
                continue;
            }
            let d = q - sl.start;
            let along = d.dot(sl.dir);
            if along < 0.0 {
                continue;
            }
            let across = (d - sl.dir * along).length();
            if along <= sl.csf_len {
                if across < sl.radius {
                    return Tissue::Csf;
                }
                if across < sl.radius + DURA_MM {
                    return Tissue::Dura;
                }
            } else if sl.bulb > 0.0 && (q - (sl.start + sl.dir * sl.csf_len)).length() < sl.bulb {
                return Tissue::Csf;
            } else if along <= sl.csf_len + 25.0 && across < 1.3 {
                // Leaked contrast surrounds the root where it leaves a torn sleeve.
                if self.ct_blobs.iter().any(|(e, _)| e.contains(q)) {
                    return Tissue::ContrastLeak;
                }
                return Tissue::Nerve;
            }
        }
        if let Some(t) = &self.tarlov
            && t.contains(q)
        {
            return Tissue::TarlovCyst;
        }
        // 5. Extradural findings.
        let t = self.collection_thickness(s);
        if t > 0.0
            && let Some(c) = &self.options.collection
        {
            let a = sec.sac[0] + DURA_MM + t;
            let b = sec.sac[1] + DURA_MM + t;
            if (x / a).powi(2) + (du / b).powi(2) < 1.0 && in_sector(c.position, c.side, x, du) {
                return Tissue::EpiduralFluid;
            }
        }
        for (e, _) in &self.ct_blobs {
            if e.contains(q) {
                return Tissue::ContrastLeak;
            }
        }
        if let Some((e, _, _)) = &self.puncture
            && self.options.puncture.as_ref().is_some_and(|p| p.leak)
            && e.contains(q)
        {
            return Tissue::PunctureLeak;
        }
        if let Some(t) = self.needle_tract(x, u, s, &sec) {
            return t;
        }
        if let Some((lo, hi, th)) = self.plexus
            && s > lo
            && s < hi
        {
            let a = sec.sac[0] + DURA_MM + th;
            let b = sec.sac[1] + DURA_MM + th;
            if (x / a).powi(2) + (du / b).powi(2) < 1.0 && du < -sec.sac[1] * 0.5 && x.abs() > 1.5 {
                return Tissue::Vein;
            }
        }
        // 6. Epidural fat inside the canal.
        let rho_canal = (x / sec.canal[0]).powi(2) + (u / sec.canal[1]).powi(2);
        if rho_canal < 1.0 {
            return Tissue::Fat;
        }
        self.classify_outer(x, u, s, &sec)
    }

    /// The needle tract of a leaking puncture: a thin paramedian channel from the dura to the
    /// skin.
    fn needle_tract(&self, x: f64, u: f64, s: f64, sec: &Section) -> Option<Tissue> {
        let (e, _, dorsal) = self.puncture.as_ref()?;
        if !self.options.puncture.as_ref().is_some_and(|p| p.leak) {
            return None;
        }
        let dz = s - e.centre.z;
        if u > *dorsal && (x - 0.8 - (u - dorsal) * 0.08).hypot(dz) < 0.7 {
            let outline =
                (x / sec.outline[0]).powi(2) + ((u - sec.outline[2]) / sec.outline[1]).powi(2);
            if outline < 1.0 {
                return Some(Tissue::PunctureLeak);
            }
        }
        None
    }

    /// Bone, disc, soft tissue, lung and air: everything outside the canal.
    fn classify_outer(&self, x: f64, u: f64, s: f64, sec: &Section) -> Tissue {
        let sec = *sec;
        let rho_canal = (x / sec.canal[0]).powi(2) + (u / sec.canal[1]).powi(2);
        // 7. Vertebrae: body or disc, neural arch, spinous process.
        let level = self.level_at(s);
        let in_body = s <= level.body_top_z_mm && s >= level.body_bottom_z_mm;
        let below_s1 = s < self.levels[24].body_bottom_z_mm;
        let bu = u + sec.canal[1] + sec.body[1];
        // Squared normalised radius.
        let rho_body = (x / sec.body[0]).powi(2) + (bu / sec.body[1]).powi(2);
        if rho_body < 1.0 {
            if in_body || below_s1 {
                let shell = 1.2 / sec.body[1];
                let near_end = (s - level.body_bottom_z_mm).min(level.body_top_z_mm - s) < 1.0;
                return if rho_body > (1.0 - shell).powi(2) || (near_end && !below_s1) {
                    Tissue::Cortex
                } else {
                    Tissue::Marrow
                };
            }
            return if rho_body < 0.36 {
                Tissue::Nucleus
            } else {
                Tissue::Annulus
            };
        }
        let arch_a = sec.canal[0] + 6.0;
        let arch_b = sec.canal[1] + 6.0;
        let rho_arch = (x / arch_a).powi(2) + (u / arch_b).powi(2);
        if (in_body || below_s1) && rho_arch < 1.0 && u > -sec.canal[1] * 0.6 {
            return if rho_arch > 0.8 || rho_canal < 1.25 {
                Tissue::Cortex
            } else {
                Tissue::Marrow
            };
        }
        if (in_body || below_s1) && u > 0.0 && u < sec.canal[1] + sec.spinous && x.abs() < 3.5 {
            return if x.abs() > 2.5 {
                Tissue::Cortex
            } else {
                Tissue::Marrow
            };
        }
        // 8. Body outline, lungs, airway.
        let ou = u - sec.outline[2];
        // Squared normalised radius.
        let rho_out = (x / sec.outline[0]).powi(2) + (ou / sec.outline[1]).powi(2);
        if rho_out >= 1.0 {
            return Tissue::Air;
        }
        let thoracic = s < self.levels[7].body_top_z_mm && s > self.levels[18].body_mid_z();
        if thoracic {
            let lx = x.abs() - 55.0;
            let lu = u + 60.0;
            if (lx / 42.0).powi(2) + (lu / 55.0).powi(2) < 1.0 {
                return Tissue::Lung;
            }
        }
        let cervical = s > self.levels[7].body_top_z_mm && s < self.levels[1].body_top_z_mm;
        if cervical && x.hypot(u + sec.canal[1] + 2.0 * sec.body[1] + 18.0) < 8.0 {
            return Tissue::Air;
        }
        if rho_out > (1.0 - 12.0 / sec.outline[1]).powi(2) {
            return Tissue::Fat;
        }
        Tissue::Muscle
    }

    /// Patient point of the dural defect, if any.
    pub fn defect_point(&self) -> Option<DVec3> {
        self.defect.map(|(c, _)| self.unstraighten(c))
    }

    /// Centre of a CT leak blob `n` (patient coordinates) and whether it touches the sleeve.
    pub fn ct_leak(&self, n: usize) -> Option<(DVec3, bool)> {
        self.ct_blobs
            .get(n)
            .map(|(e, c)| (self.unstraighten(e.centre), *c))
    }

    /// Volume (mL) of the region where `pred(tissue)` holds, integrated on a fine grid in
    /// straightened coordinates (step `h` mm in-plane, `hs` mm along s) between heights
    /// `s_lo..s_hi`, within `|x| <= half_width` and `u` in `u_range`. Uses the Jacobian.
    pub fn integrate_ml(
        &self,
        pred: impl Fn(Tissue) -> bool + Sync,
        s_range: (f64, f64),
        half_width: f64,
        u_range: (f64, f64),
        h: f64,
        hs: f64,
    ) -> f64 {
        use rayon::prelude::*;
        let ns = ((s_range.1 - s_range.0) / hs).ceil().max(1.0);
        let nx = (2.0 * half_width / h).ceil().max(1.0);
        let nu = ((u_range.1 - u_range.0) / h).ceil().max(1.0);
        let count = |n: f64| crate::scenario::count_steps(n);
        let hs = (s_range.1 - s_range.0) / ns;
        let hx = 2.0 * half_width / nx;
        let hu = (u_range.1 - u_range.0) / nu;
        let per_slice: Vec<f64> = (0..count(ns))
            .into_par_iter()
            .map(|k| {
                let s = s_range.0 + (k as f64 + 0.5) * hs;
                let mut n = 0_u64;
                for a in 0..count(nx) {
                    let x = -half_width + (a as f64 + 0.5) * hx;
                    for b in 0..count(nu) {
                        let u = u_range.0 + (b as f64 + 0.5) * hu;
                        if pred(self.classify_q(DVec3::new(x, u, s))) {
                            n += 1;
                        }
                    }
                }
                n as f64 * hx * hu * hs / self.cos_theta(s)
            })
            .collect();
        per_slice.iter().sum::<f64>() / 1000.0
    }

    /// Volume (mL) of the extradural collection: on each cross-section (step `hs` mm along s)
    /// the points of a `h` mm grid inside the collection's elliptic shell and sector are
    /// classified, so overrides (defect, root sleeves) are honoured. Uses the Jacobian.
    pub fn collection_volume_ml(&self, h: f64, hs: f64) -> f64 {
        use rayon::prelude::*;
        let (Some((lo, hi)), Some(c)) = (self.collection, &self.options.collection) else {
            return 0.0;
        };
        let count = crate::scenario::count_steps;
        let ns = ((hi - lo) / hs).ceil().max(1.0);
        let hs = (hi - lo) / ns;
        let per_slice: Vec<f64> = (0..count(ns))
            .into_par_iter()
            .map(|k| {
                let s = lo + (k as f64 + 0.5) * hs;
                let t = self.collection_thickness(s);
                if t <= 0.0 {
                    return 0.0;
                }
                let sec = self.section(s);
                let a = sec.sac[0] + DURA_MM + t;
                let b = sec.sac[1] + DURA_MM + t;
                let nx = count((2.0 * a / h).ceil());
                let nu = count((2.0 * b / h).ceil());
                let (hx, hu) = (2.0 * a / nx as f64, 2.0 * b / nu as f64);
                let mut n = 0_u64;
                for i in 0..nx {
                    let x = -a + (i as f64 + 0.5) * hx;
                    for j in 0..nu {
                        let du = -b + (j as f64 + 0.5) * hu;
                        if (x / a).powi(2) + (du / b).powi(2) >= 1.0
                            || !in_sector(c.position, c.side, x, du)
                        {
                            continue;
                        }
                        let q = DVec3::new(x, du + sec.sac_u, s);
                        if self.classify_q(q) == Tissue::EpiduralFluid {
                            n += 1;
                        }
                    }
                }
                n as f64 * hx * hu * hs / self.cos_theta(s)
            })
            .collect();
        per_slice.iter().sum::<f64>() / 1000.0
    }

    /// CSF volume (mL) inside the dural sac from the top of C1 to the end of the sac
    /// (excluding root sleeves), from the elliptic cross-sections.
    pub fn intraspinal_csf_ml(&self) -> f64 {
        let top = self.levels[0].body_top_z_mm;
        let hs = 0.05;
        let mut acc = 0.0;
        let mut s = self.sac_end_z + 0.5 * hs;
        while s < top {
            let sec = self.section(s);
            let sac = std::f64::consts::PI * sec.sac[0] * sec.sac[1];
            let cord = std::f64::consts::PI * sec.cord[0] * sec.cord[1];
            acc += (sac - cord).max(0.0) * hs / self.cos_theta(s);
            s += hs;
        }
        acc / 1000.0
    }
}

/// Whether a cross-section point (x, u relative to the sac centre) lies in the sector of a
/// collection position.
fn in_sector(position: Position, side: Side, x: f64, du: f64) -> bool {
    // Angle from the anterior direction (−u), 0..180 degrees.
    let psi = x.abs().atan2(-du).to_degrees();
    match position {
        Position::Ventral => psi < 75.0,
        Position::Dorsal => psi > 105.0,
        Position::Circumferential => true,
        Position::Lateral => (x * side.sign()) > 0.0 && psi > 30.0 && psi < 150.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_table_is_contiguous_and_named() {
        let m = SpineModel::new(SpineOptions::default()).unwrap();
        let l = m.levels();
        assert_eq!(l.len(), 25);
        assert_eq!(l[0].name, "C1");
        assert_eq!(l[24].name, "S1");
        assert_eq!(l[2].disc.as_deref(), Some("C3/4"));
        assert_eq!(l[6].disc.as_deref(), Some("C7/T1"));
        assert_eq!(l[23].disc.as_deref(), Some("L5/S1"));
        for w in l.windows(2) {
            assert_eq!(w[0].segment_bottom_z_mm, w[1].body_top_z_mm);
        }
        assert_eq!(m.level_at(l[10].body_mid_z()).name, "T4");
        assert_eq!(m.level_at(l[10].disc_mid_z()).name, "T4");
    }

    #[test]
    fn straightening_round_trips_and_curvature_is_physiological() {
        let m = SpineModel::new(SpineOptions::default()).unwrap();
        let p = DVec3::new(3.0, 17.0, 120.0);
        let back = m.unstraighten(m.straighten(p));
        assert!((back - p).length() < 1e-9);
        // Thoracic kyphosis: the mid-thoracic canal lies posterior to the cervical one.
        let t7 = m.levels()[13].body_mid_z();
        let c4 = m.levels()[3].body_mid_z();
        assert!(m.centreline(t7).0 > m.centreline(c4).0 + 20.0);
        assert!(m.arc_length(t7, c4) > t7.mul_add(-1.0, c4));
    }

    #[test]
    fn cross_section_has_cord_csf_dura_fat_and_bone_in_order() {
        let m = SpineModel::new(SpineOptions::default()).unwrap();
        let s = m.levels()[13].body_mid_z(); // T7
        let at = |u: f64| m.classify_q(DVec3::new(0.0, u, s));
        assert_eq!(at(-0.5), Tissue::Cord);
        assert_eq!(at(-6.0), Tissue::Csf);
        assert_eq!(at(4.0), Tissue::Csf);
        assert_eq!(at(4.6), Tissue::Dura);
        assert_eq!(at(-7.5), Tissue::Fat);
        assert_eq!(at(-15.0), Tissue::Marrow);
        // Lumbar sac below the conus holds CSF only.
        let l3 = m.levels()[21].body_mid_z();
        assert_eq!(m.classify_q(DVec3::new(0.0, -1.0, l3)), Tissue::Csf);
    }

    #[test]
    fn a_ventral_collection_lies_ventral_to_the_dura_and_only_in_its_range() {
        let c = CollectionSpec::new("T2", "T9", Position::Ventral, 4.0).with_dural_defect("T5");
        let m = SpineModel::new(SpineOptions {
            collection: Some(c),
            ..SpineOptions::default()
        })
        .unwrap();
        let s = m.levels()[12].body_mid_z(); // T6
        let sec = m.section(s);
        let ventral = sec.sac_u - sec.sac[1] - DURA_MM - 2.0;
        assert_eq!(
            m.classify_q(DVec3::new(0.0, ventral, s)),
            Tissue::EpiduralFluid
        );
        let dorsal = sec.sac_u + sec.sac[1] + DURA_MM + 1.0;
        assert_ne!(
            m.classify_q(DVec3::new(0.0, dorsal, s)),
            Tissue::EpiduralFluid
        );
        let above = m.levels()[7].body_mid_z();
        assert_ne!(
            m.classify_q(DVec3::new(0.0, ventral, above)),
            Tissue::EpiduralFluid
        );
        assert!((m.collection_thickness(s) - 4.0).abs() < 1e-12);
        assert!(m.defect_point().is_some());
        assert!(m.collection_volume_ml(0.4, 2.0) > 0.5);
    }

    #[test]
    fn bad_levels_and_thickness_are_errors() {
        let bad = SpineOptions {
            collection: Some(CollectionSpec::new("T2", "X9", Position::Ventral, 4.0)),
            ..SpineOptions::default()
        };
        assert!(SpineModel::new(bad).is_err());
        let thick = SpineOptions {
            collection: Some(CollectionSpec::new("T2", "T5", Position::Ventral, -1.0)),
            ..SpineOptions::default()
        };
        assert!(SpineModel::new(thick).is_err());
        assert_eq!(Tissue::from_u8(7), Tissue::Csf);
        assert_eq!(Tissue::from_u8(200), Tissue::Air);
    }
}
