//! The head model: analytic shapes in a head frame, the sag displacement, tissue labels and
//! the landmarks of the sagging metrics.
//!
//! Head frame (mm): `x` patient left, `y` posterior, `z` superior, with the basion at the
//! origin and the midsagittal plane at `x = 0`. The world (patient LPS) pose of the head is a
//! rigid transform ([`crate::brain::BrainPhantom::world_from_head`]), so the phantom can be tilted like a real
//! head in a scanner.
//!
//! The sag `s` (mm) moves the diencephalon and the top of the midbrain down by `s` (the midbrain
//! also bends backwards by `2 s`, closing the pontomesencephalic angle); the pons, the fourth
//! ventricle and the medulla by `0.4 s` (the pons also `0.15 s` forwards towards the clivus,
//! keeping at least 1 mm of prepontine cistern); the optic chiasm by `0.6 s` (never closer than
//! 0.5 mm to the diaphragma sellae or an engorged gland); the cerebellar tonsils by `0.9 s`,
//! the cerebellum by `0.3 s`; the lateral ventricles shrink. Dura, skull, sella, clivus and
//! venous sinuses stay fixed.
//!
//! Every midline landmark is where the drawn anatomy puts it on the midsagittal plane (checked
//! on a rendered slab by `tests/brain.rs`): the tonsil tip is the lowest point of the tonsils'
//! midline section (the vermis ends above them), the basion and the opisthion are the tips of
//! the clivus and of the occipital squama (both bones taper to an edge there), the diaphragma
//! is a 1 mm sheet centred on its plane, an engorged gland bulges above it.

use csfleak_volume::{DAffine3, DMat3, DVec3};

/// Tissue labels of the head model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Tissue {
    /// Outside the body.
    Air = 0,
    /// Subcutaneous fat of the scalp.
    Fat,
    /// Skin, muscle, soft tissue of face and neck.
    Soft,
    /// Cortical bone.
    Bone,
    /// Fatty marrow of the diploe and the clivus.
    Marrow,
    /// Dura mater (falx, tentorium, diaphragma sellae included).
    Dura,
    /// Cerebrospinal fluid (subarachnoid space, cisterns, ventricles).
    Csf,
    /// Cortical and deep grey matter.
    Grey,
    /// White matter.
    White,
    /// Brainstem (midbrain, pons, medulla, cord).
    Brainstem,
    /// Cerebellar cortex (tonsils included).
    Cerebellum,
    /// Pituitary gland and stalk.
    Pituitary,
    /// Venous sinus blood.
    Venous,
    /// Subdural fluid collection.
    Subdural,
    /// Air of the sphenoid sinus.
    SinusAir,
    /// Vitreous body of the globe.
    Vitreous,
    /// Optic nerve (and chiasm, tracts).
    OpticNerve,
    /// Extraocular muscle.
    Muscle,
    /// Orbital fat.
    OrbitalFat,
}

impl Tissue {
    /// All labels, indexed by their `u8` value.
    pub const ALL: [Tissue; 19] = [
        Tissue::Air,
        Tissue::Fat,
        Tissue::Soft,
        Tissue::Bone,
        Tissue::Marrow,
        Tissue::Dura,
        Tissue::Csf,
        Tissue::Grey,
        Tissue::White,
        Tissue::Brainstem,
        Tissue::Cerebellum,
        Tissue::Pituitary,
        Tissue::Venous,
        Tissue::Subdural,
        Tissue::SinusAir,
        Tissue::Vitreous,
        Tissue::OpticNerve,
        Tissue::Muscle,
        Tissue::OrbitalFat,
    ];

    /// The label of a `u8`, `Air` when out of range.
    pub fn from_u8(v: u8) -> Tissue {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(Tissue::Air)
    }
}

/// An ellipsoid with axes along given unit vectors.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ellipsoid {
    c: DVec3,
    axes: DMat3,
    semi: DVec3,
}

impl Ellipsoid {
    fn aligned(c: [f64; 3], semi: [f64; 3]) -> Self {
        Self {
            c: DVec3::from_array(c),
            axes: DMat3::IDENTITY,
            semi: DVec3::from_array(semi),
        }
    }
    /// `sum((local / semi)^2)`: below 1 inside.
    fn rho2(&self, p: DVec3) -> f64 {
        let d = p - self.c;
        let l = DVec3::new(
            d.dot(self.axes.x_axis),
            d.dot(self.axes.y_axis),
            d.dot(self.axes.z_axis),
        );
        (l / self.semi).length_squared()
    }
    fn contains(&self, p: DVec3) -> bool {
        self.rho2(p) <= 1.0
    }
    /// Approximate depth of `p` below the surface (along the ray from the centre), negative
    /// outside.
    fn depth(&self, p: DVec3) -> f64 {
        let r = self.rho2(p).sqrt();
        if r < 1e-9 {
            return self.semi.min_element();
        }
        (p - self.c).length() * (1.0 / r - 1.0)
    }
}

/// A capsule: points within `r` of segment `a-b`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Capsule {
    a: DVec3,
    b: DVec3,
    r: f64,
}

impl Capsule {
    fn distance(&self, p: DVec3) -> f64 {
        let ab = self.b - self.a;
        let t = ((p - self.a).dot(ab) / ab.length_squared().max(1e-12)).clamp(0.0, 1.0);
        (p - (self.a + ab * t)).length() - self.r
    }
    fn contains(&self, p: DVec3) -> bool {
        self.distance(p) <= 0.0
    }
}

/// Parameters of the head model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeadParams {
    pub(crate) sag_mm: f64,
    pub(crate) pituitary_height_mm: f64,
    pub(crate) venous_distension: bool,
    pub(crate) pachymeningeal_enhancement: bool,
    pub(crate) subdural_fluid_mm: f64,
    pub(crate) onsd_mm: [f64; 2],
    pub(crate) optic_nerve_diameter_mm: f64,
    /// Rotation of the head in the scanner (degrees about x, y, z) and translation (mm).
    pub(crate) rotation_deg: [f64; 3],
    pub(crate) translation_mm: [f64; 3],
}

/// Landmarks in the head frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeadLandmarks {
    pub(crate) mamillary_inferior: DVec3,
    pub(crate) pons_superior: DVec3,
    pub(crate) pm_vertex: DVec3,
    pub(crate) pm_midbrain: DVec3,
    pub(crate) pm_pons: DVec3,
    pub(crate) chiasm_inferior: DVec3,
    pub(crate) diaphragma_sellae: DVec3,
    pub(crate) clivus_prepontine: DVec3,
    pub(crate) pons_anterior: DVec3,
    pub(crate) basion: DVec3,
    pub(crate) opisthion: DVec3,
    pub(crate) tonsil_tip: DVec3,
    pub(crate) iter: DVec3,
    pub(crate) tuberculum_sellae: DVec3,
    pub(crate) galen_junction: DVec3,
    pub(crate) pituitary_top: DVec3,
    pub(crate) pituitary_floor: DVec3,
    pub(crate) globe_posterior: [DVec3; 2],
    pub(crate) onsd_point: [DVec3; 2],
}

/// Clivus dorsal surface: from the dorsum sellae `(y, z) = (-22, 40)` to the basion.
const DORSUM: [f64; 2] = [-22.0, 40.0];
/// The pituitary fossa (its upper half is cut off by the diaphragma sellae at `z = 40`).
const SELLA: Ellipsoid = Ellipsoid {
    c: DVec3::new(0.0, -29.0, 40.0),
    axes: DMat3::IDENTITY,
    semi: DVec3::new(8.0, 7.0, 8.0),
};
/// The opisthion `(y, z)`: posterior margin of the foramen magnum in the midline.
const OPISTHION: [f64; 2] = [36.0, 4.0];
/// Tonsils: centres `±TONSIL_X` from the midline, semi-axes (x, y, z).
const TONSIL_X: f64 = 2.5;
const TONSIL_SEMI: [f64; 3] = [7.0, 7.0, 9.0];

fn clivus_y(z: f64) -> f64 {
    DORSUM[0] + (DORSUM[1] - z) * (-DORSUM[0] / DORSUM[1])
}

/// Intracranial cavity (inner table of the skull).
const CAVITY: ([f64; 3], [f64; 3]) = ([0.0, 8.0, 50.0], [68.0, 86.0, 85.0]);
/// Skull thickness, mm.
const SKULL_MM: f64 = 7.0;
/// Subarachnoid CSF over the convexity, mm.
const SAS_MM: f64 = 2.5;
/// Globe centres (right, left) and radius.
const GLOBE: ([[f64; 3]; 2], f64) = ([[-32.0, -74.0, 20.0], [32.0, -74.0, 20.0]], 12.0);
/// Optic canal (right, left).
const OPTIC_CANAL: [[f64; 3]; 2] = [[-13.0, -40.0, 36.0], [13.0, -40.0, 36.0]];

/// The head, ready to classify points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Head {
    p: HeadParams,
    pose: DAffine3,
    pose_inverse: DAffine3,
    cavity: Ellipsoid,
    pons: Ellipsoid,
    midbrain: Capsule,
    medulla: Capsule,
    cord: Capsule,
    fourth: Ellipsoid,
    aqueduct: Capsule,
    chiasm: Ellipsoid,
    optic_nerves: [Capsule; 2],
    optic_tracts: [Capsule; 2],
    mamillary: Ellipsoid,
    tuber: Ellipsoid,
    thalami: [Ellipsoid; 2],
    lateral_ventricles: [Ellipsoid; 2],
    third_floor: (f64, f64),
    cerebellum: Ellipsoid,
    tonsils: [Ellipsoid; 2],
    stalk: Capsule,
    straight_sinus: Capsule,
    chiasm_drop: f64,
    pub(crate) landmarks: HeadLandmarks,
}

fn rotation(deg: [f64; 3]) -> DMat3 {
    let [a, b, c] = deg.map(f64::to_radians);
    DMat3::from_rotation_z(c) * DMat3::from_rotation_y(b) * DMat3::from_rotation_x(a)
}

/// Points of the midsagittal outline of an ellipsoid whose axes lie in the y-z plane.
fn outline(e: &Ellipsoid, n: usize) -> Vec<DVec3> {
    (0..n)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / n as f64;
            e.c + e.axes.y_axis * (e.semi.y * t.cos()) + e.axes.z_axis * (e.semi.z * t.sin())
        })
        .collect()
}

impl Head {
    pub(crate) fn new(p: HeadParams) -> Self {
        let s = p.sag_mm.max(0.0);
        let cavity = Ellipsoid::aligned(CAVITY.0, CAVITY.1);
        // Pons: long axis parallel to the clivus, 6.5 mm of prepontine cistern at mid-pons.
        let u = DVec3::new(0.0, DORSUM[0], DORSUM[1]).normalize_or_zero();
        let v = DVec3::new(0.0, u.z, -u.y);
        let (au, av) = (15.0, 12.5);
        let half_y = 1.0 / (u.y / au).hypot(v.y / av);
        let zc = 22.0 - 0.4 * s;
        let mut yc = clivus_y(22.0) + 6.5 + half_y - 0.15 * s;
        let gap = (yc - half_y) - clivus_y(zc);
        if gap < 1.0 {
            yc += 1.0 - gap;
        }
        let pons = Ellipsoid {
            c: DVec3::new(0.0, yc, zc),
            axes: DMat3::from_cols(DVec3::X, v, u),
            semi: DVec3::new(17.0, av, au),
        };
        let pc = pons.c;
        // Midbrain: from inside the upper pons to the diencephalon, bending back with sag.
        let a0 = pc + DVec3::new(0.0, 0.0, 6.0);
        let a1 = DVec3::new(0.0, 22.0 + 2.0 * s, 54.0 - s);
        let midbrain = Capsule {
            a: a0,
            b: a1,
            r: 9.0,
        };
        let medulla = Capsule {
            a: pc + DVec3::new(0.0, 3.0, -8.0),
            b: DVec3::new(0.0, 15.0, -8.0 - 0.4 * s),
            r: 8.0,
        };
        let cord = Capsule {
            a: DVec3::new(0.0, 15.0, -8.0 - 0.4 * s),
            b: DVec3::new(0.0, 16.0, -140.0),
            r: 5.5,
        };
        let fourth = Ellipsoid::aligned([0.0, pc.y + 17.0, pc.z], [7.0, 4.5, 8.0]);
        let iter = DVec3::new(0.0, 10.0, 56.0 - s);
        let aqueduct = Capsule {
            a: iter,
            b: fourth.c + DVec3::new(0.0, -1.0, 6.0),
            r: 1.2,
        };
        // The chiasm stays at least 0.5 mm above the diaphragma and an engorged gland.
        let chiasm_drop = (0.6 * s)
            .min(45.5 - (40.0f64.max(32.0 + p.pituitary_height_mm) + 0.5))
            .max(0.0);
        let chiasm = Ellipsoid::aligned([0.0, -26.0, 47.5 - chiasm_drop], [7.0, 5.0, 2.0]);
        let optic_nerves = [-1.0, 1.0].map(|sg: f64| Capsule {
            a: DVec3::new(sg * 5.0, -30.0, 47.5 - chiasm_drop),
            b: DVec3::new(sg * 13.0, -40.0, 36.0),
            r: 2.2,
        });
        let optic_tracts = [-1.0, 1.0].map(|sg: f64| Capsule {
            a: DVec3::new(sg * 6.0, -22.0, 48.0 - chiasm_drop),
            b: DVec3::new(sg * 18.0, -5.0, 50.0 - s),
            r: 2.5,
        });
        let mamillary = Ellipsoid::aligned([0.0, -5.0, 43.0 - s], [4.5, 2.8, 2.6]);
        let tuber = Ellipsoid::aligned([0.0, -15.0, 49.5 - s], [6.0, 9.0, 3.0]);
        let thalami = [-1.0, 1.0]
            .map(|sg: f64| Ellipsoid::aligned([sg * 11.0, 6.0, 63.0 - s], [9.0, 14.0, 9.0]));
        let k = (1.0 - 0.04 * s).max(0.5);
        let lateral_ventricles = [-1.0, 1.0].map(|sg: f64| {
            Ellipsoid::aligned([sg * 13.0, 2.0, 76.0 - 0.5 * s], [6.0 * k, 32.0, 7.0 * k])
        });
        let cerebellum = Ellipsoid::aligned([0.0, 52.0, 8.0 - 0.3 * s], [52.0, 36.0, 24.0]);
        let tonsils = [-1.0, 1.0]
            .map(|sg: f64| Ellipsoid::aligned([sg * TONSIL_X, 30.0, 16.0 - 0.9 * s], TONSIL_SEMI));
        // Lowest point of the tonsils on the midsagittal plane (both ellipsoids cut it there).
        let tonsil_midline_half =
            TONSIL_SEMI[2] * (1.0 - (TONSIL_X / TONSIL_SEMI[0]).powi(2)).sqrt();
        let h = p.pituitary_height_mm;
        let stalk = Capsule {
            a: DVec3::new(0.0, -26.5, 32.0 + h - 0.5),
            b: DVec3::new(0.0, -16.0, 47.5 - s),
            r: 1.3,
        };
        let galen = DVec3::new(0.0, 44.0, 66.0);
        let straight_sinus = Capsule {
            a: galen,
            b: DVec3::new(0.0, 88.0, 34.0),
            r: 2.5,
        };

        // Landmarks (head frame).
        let contour = outline(&pons, 7200);
        let mamillary_inferior = DVec3::new(0.0, mamillary.c.y, mamillary.c.z - mamillary.semi.z);
        let pons_superior = contour
            .iter()
            .copied()
            .min_by(|a, b| {
                a.distance_squared(mamillary_inferior)
                    .total_cmp(&b.distance_squared(mamillary_inferior))
            })
            .unwrap_or(pc);
        // Pontomesencephalic angle: the anterior border of the midbrain meets the pons.
        let dm = (a1 - a0).normalize_or_zero();
        let mut n_ant = DVec3::new(0.0, -dm.z, dm.y);
        if n_ant.y > 0.0 {
            n_ant = -n_ant;
        }
        let line0 = a0 + n_ant * midbrain.r;
        let mut vertex = line0;
        let mut t = -30.0;
        while t <= 40.0 {
            let q = line0 + dm * t;
            if pons.contains(q) {
                vertex = q;
            }
            t += 0.001;
        }
        let pm_midbrain = vertex + dm * 10.0;
        let pm_pons = contour
            .iter()
            .copied()
            .filter(|q| q.y > vertex.y)
            .min_by(|a, b| {
                (a.distance(vertex) - 12.0)
                    .abs()
                    .total_cmp(&(b.distance(vertex) - 12.0).abs())
            })
            .unwrap_or(pc);
        let pons_anterior = contour
            .iter()
            .copied()
            .filter(|q| (q.z - pc.z).abs() < 0.05 && q.y < pc.y)
            .min_by(|a, b| a.y.total_cmp(&b.y))
            .map_or(pc, |q| DVec3::new(0.0, q.y, pc.z));
        let clivus_prepontine = DVec3::new(0.0, clivus_y(pc.z), pc.z);
        let globe_posterior = [0, 1].map(|i| {
            let g = DVec3::from_array(GLOBE.0[i]);
            g + DVec3::new(0.0, GLOBE.1, 0.0)
        });
        let onsd_point = globe_posterior.map(|g| g + DVec3::new(0.0, 3.0, 0.0));
        let landmarks = HeadLandmarks {
            mamillary_inferior,
            pons_superior,
            pm_vertex: vertex,
            pm_midbrain,
            pm_pons,
            chiasm_inferior: DVec3::new(0.0, chiasm.c.y, chiasm.c.z - chiasm.semi.z),
            // The diaphragma's centre (its aperture for the stalk) over the middle of the
            // fossa, on its plane, or on the gland where an engorged gland pushes it up.
            diaphragma_sellae: DVec3::new(0.0, SELLA.c.y, 40.0_f64.max(32.0 + h)),
            clivus_prepontine,
            pons_anterior,
            basion: DVec3::ZERO,
            opisthion: DVec3::new(0.0, OPISTHION[0], OPISTHION[1]),
            tonsil_tip: DVec3::new(0.0, tonsils[1].c.y, tonsils[1].c.z - tonsil_midline_half),
            iter,
            tuberculum_sellae: DVec3::new(0.0, -36.0, 40.0),
            galen_junction: galen,
            pituitary_top: DVec3::new(0.0, -29.0, 32.0 + h),
            pituitary_floor: DVec3::new(0.0, -29.0, 32.0),
            globe_posterior,
            onsd_point,
        };
        let world_from_head = DAffine3::from_mat3_translation(
            rotation(p.rotation_deg),
            DVec3::from_array(p.translation_mm),
        );
        Self {
            p,
            pose: world_from_head,
            pose_inverse: world_from_head.inverse(),
            cavity,
            pons,
            midbrain,
            medulla,
            cord,
            fourth,
            aqueduct,
            chiasm,
            optic_nerves,
            optic_tracts,
            mamillary,
            tuber,
            thalami,
            lateral_ventricles,
            third_floor: (51.0 - s, 56.0 - s),
            cerebellum,
            tonsils,
            stalk,
            straight_sinus,
            chiasm_drop,
            landmarks,
        }
    }

    /// Head frame -> patient LPS.
    pub(crate) fn world_from_head(&self) -> DAffine3 {
        self.pose
    }

    /// Skull base height under `(x, y)` (the floor of the cranial cavity).
    fn floor(x: f64, y: f64) -> f64 {
        let ax = x.abs();
        if y >= OPISTHION[0] {
            // Posterior fossa behind the foramen magnum: the lateral floor under the
            // cerebellar hemispheres, rising in the midline from the opisthion (the posterior
            // margin of the foramen magnum) along the internal occipital crest.
            let lateral = -5.0 + 0.5 * (y - 50.0).max(0.0);
            let midline = OPISTHION[1] + 0.35 * (y - OPISTHION[0]);
            let w = ((20.0 - ax) / 5.0).clamp(0.0, 1.0);
            return lateral + w * (midline - lateral).max(0.0);
        }
        if y < -40.0 {
            38.0
        } else if y < DORSUM[0] {
            if ax < 16.0 { 40.0 } else { 10.0 }
        } else if y < 0.0 {
            if ax < 16.0 {
                // Clivus dorsal surface.
                DORSUM[1] * (-y) / (-DORSUM[0])
            } else {
                10.0 - 15.0 * (y - DORSUM[0]) / (-DORSUM[0])
            }
        } else if ax < 15.0 {
            // Foramen magnum: open to the spinal canal.
            f64::NEG_INFINITY
        } else {
            -5.0
        }
    }

    /// Thickness of the skull base below its endocranial surface at `(x, y)`: the clivus and
    /// the occipital squama taper to an edge at the basion and the opisthion, so that both
    /// are the tips of the bone on the midsagittal image (12 mm elsewhere).
    fn base_thickness(x: f64, y: f64) -> f64 {
        const FULL: f64 = 12.0;
        let ax = x.abs();
        if ax < 16.0 && (DORSUM[0]..0.0).contains(&y) {
            (1.5 * -y).min(FULL)
        } else if ax < 15.0 && y >= OPISTHION[0] {
            (1.5 * (y - OPISTHION[0])).min(FULL)
        } else {
            FULL
        }
    }

    /// Tentorium height at `(x, y)` (posterior fossa below), for `y > -10`.
    fn tentorium(x: f64, y: f64) -> f64 {
        45.0 - 0.25 * (y - 10.0) - 0.004 * x * x
    }

    /// Whether `(x, y)` is inside the tentorial incisura (no tentorium: midbrain passes).
    fn incisura(x: f64, y: f64) -> bool {
        x.abs() < 16.0 && y < 28.0
    }

    /// Thickness of the subdural collection over `p` (mm): full over the convexity above
    /// `z = 60` and lateral of `|x| = 16`, tapering smoothly to nothing at `z = 45` and
    /// `|x| = 8` (a crescent on coronal sections).
    fn subdural_here(&self, p: DVec3) -> f64 {
        let t = self.p.subdural_fluid_mm;
        if t <= 0.0 {
            return 0.0;
        }
        let ramp = |v: f64, a: f64, b: f64| {
            let u = ((v - a) / (b - a)).clamp(0.0, 1.0);
            u * u * (3.0 - 2.0 * u)
        };
        t * ramp(p.z, 45.0, 60.0) * ramp(p.x.abs(), 8.0, 16.0)
    }

    /// Gyral modulation of the cortical surface (mm, 0..3).
    fn gyri(p: DVec3) -> f64 {
        let a = (p.x * 0.21 + p.y * 0.05).sin() * (p.y * 0.17 - p.z * 0.07).sin();
        let b = (p.z * 0.19 + p.x * 0.04).sin() * (p.y * 0.11 + 0.7).cos();
        1.5 + 1.5 * (0.6 * a + 0.4 * b)
    }

    /// The tissue at a point in the head frame.
    pub(crate) fn classify_head(&self, p: DVec3) -> Tissue {
        let lm = &self.landmarks;
        let cav = self.cavity;
        // Orbits first: they sit in front of the cavity (bounding box test first).
        if p.y < -36.0 && p.z > -2.0 && p.z < 44.0 {
            if let Some(t) = self.orbit(p) {
                return t;
            }
        }
        let skull_outer = Ellipsoid {
            semi: cav.semi + DVec3::splat(SKULL_MM),
            ..cav
        };
        let scalp = Ellipsoid {
            semi: cav.semi + DVec3::splat(SKULL_MM + 6.0),
            ..cav
        };
        let neck = (p.z < 20.0) && {
            let e = (p.x / 62.0).powi(2) + ((p.y - 10.0) / 70.0).powi(2);
            e <= 1.0 && p.z > -150.0
        };
        let face = p.y < -20.0 && p.z > -60.0 && p.z < 60.0 && {
            let e = (p.x / 70.0).powi(2) + ((p.y + 40.0) / 75.0).powi(2);
            e <= 1.0
        };
        if !scalp.contains(p) && !neck && !face {
            return Tissue::Air;
        }
        let floor = Self::floor(p.x, p.y);
        let depth = cav.depth(p);
        let in_cavity = depth >= 0.0 && p.z >= floor;
        // Spinal canal below the foramen magnum.
        let canal = p.z < 4.0 && p.x.abs() < 13.0 && p.y > 1.0 && p.y < 33.0 && p.z > -150.0;
        if !in_cavity && !canal {
            if skull_outer.contains(p) && p.z >= floor - Self::base_thickness(p.x, p.y) {
                // Vault and skull base.
                if Self::sphenoid_sinus(p) {
                    return Tissue::SinusAir;
                }
                if let Some(t) = self.sella(p) {
                    return t;
                }
                if Self::clivus_marrow(p) {
                    return Tissue::Marrow;
                }
                let d = -depth;
                if depth < 0.0 && d > 2.0 && d < 5.0 && p.z > 30.0 {
                    return Tissue::Marrow;
                }
                return Tissue::Bone;
            }
            if scalp.contains(p) && !skull_outer.contains(p) {
                let d = scalp.depth(p);
                return if (1.5..=5.0).contains(&d) {
                    Tissue::Fat
                } else {
                    Tissue::Soft
                };
            }
            if Self::sphenoid_sinus(p) {
                return Tissue::SinusAir;
            }
            if let Some(t) = self.sella(p) {
                return t;
            }
            if let Some(t) = Self::cervical_spine(p) {
                return t;
            }
            return Tissue::Soft;
        }
        if canal && !in_cavity {
            if self.cord.contains(p) || self.medulla.contains(p) {
                return Tissue::Brainstem;
            }
            return Tissue::Csf;
        }
        // Inside the cranial cavity.
        let dura_mm = if self.p.pachymeningeal_enhancement {
            2.5
        } else {
            1.0
        };
        if self.venous_sinus(p, depth) {
            return Tissue::Venous;
        }
        if depth < dura_mm && p.z > floor + 1.0 {
            return Tissue::Dura;
        }
        let subdural = self.subdural_here(p);
        if subdural > 0.0 && depth < dura_mm + subdural {
            return Tissue::Subdural;
        }
        // Falx and tentorium; the interhemispheric fissure runs down to the corpus callosum
        // between its genu and splenium, to the skull base elsewhere.
        // The straight sinus runs inside the falx-tentorium junction.
        if self.straight_sinus.contains(p) {
            return Tissue::Venous;
        }
        let callosum_top = 84.0 - 0.006 * p.y * p.y;
        let fissure = p.z > callosum_top || p.y < -38.0 || p.y > 40.0;
        if fissure && p.x.abs() < 0.3 {
            return Tissue::Dura;
        }
        let tent = Self::tentorium(p.x, p.y);
        if p.y > -10.0 && !Self::incisura(p.x, p.y) && (p.z - tent).abs() < 0.6 {
            return Tissue::Dura;
        }
        if self.pituitary_dome(p) {
            return Tissue::Pituitary;
        }
        // Diaphragma sellae (with the hole for the stalk).
        if (p.z - 40.0).abs() < 0.5
            && p.x.abs() < 8.0
            && p.y > lm.tuberculum_sellae.y
            && p.y < DORSUM[0]
            && !self.stalk.contains(p)
        {
            return Tissue::Dura;
        }
        // Ventricles and aqueduct.
        if self.aqueduct.contains(p) || self.fourth.contains(p) {
            return Tissue::Csf;
        }
        if self.lateral_ventricles.iter().any(|e| e.contains(p)) {
            return Tissue::Csf;
        }
        if p.x.abs() < 2.5 && p.y > -22.0 && p.y < lm.iter.y && p.z < 72.0 - self.p.sag_mm {
            let t = (p.y + 22.0) / (lm.iter.y + 22.0);
            let f = self.third_floor.0 + t * (self.third_floor.1 - self.third_floor.0);
            if p.z > f {
                return Tissue::Csf;
            }
        }
        // Brainstem and cranial nerves.
        if self.pons.contains(p)
            || self.midbrain.contains(p)
            || self.medulla.contains(p)
            || self.cord.contains(p)
        {
            return Tissue::Brainstem;
        }
        if self.chiasm.contains(p)
            || self.optic_nerves.iter().any(|c| c.contains(p))
            || self.optic_tracts.iter().any(|c| c.contains(p))
        {
            return Tissue::OpticNerve;
        }
        if self.stalk.contains(p) {
            return Tissue::Pituitary;
        }
        if self.mamillary.contains(p) || self.tuber.contains(p) {
            return Tissue::Grey;
        }
        // Posterior fossa: cerebellum below the tentorium.
        let below_tent = p.y > -10.0 && p.z < tent;
        if below_tent {
            if self.tonsils.iter().any(|e| e.contains(p)) {
                return Tissue::Cerebellum;
            }
            let inner = depth > SAS_MM + dura_mm;
            // The vermis ends above the tonsils (the cisterna magna below it); the
            // hemispheres reach lower laterally.
            let vermis_floor = 11.0 - 0.3 * self.p.sag_mm - 0.03 * p.x * p.x;
            if inner
                && self.cerebellum.contains(p)
                && p.y > self.pons.c.y + 6.0
                && p.z > vermis_floor
            {
                let core = Ellipsoid {
                    semi: self.cerebellum.semi * 0.5,
                    ..self.cerebellum
                };
                if core.contains(p) {
                    return Tissue::White;
                }
                // Folia: thin fissures.
                let f = (p.z * 0.9 + 0.15 * p.y).sin();
                return if f > 0.85 {
                    Tissue::Csf
                } else {
                    Tissue::Cerebellum
                };
            }
            return Tissue::Csf;
        }
        // Cerebrum above the tentorium.
        // A subdural collection pushes the brain in and effaces the subarachnoid space and
        // the sulci under it (to a tenth from 3 mm of collection).
        let squeeze = 1.0 - 0.9 * (subdural / 3.0).min(1.0);
        let cortex_out = dura_mm + subdural + (SAS_MM + Self::gyri(p)) * squeeze;
        if depth < cortex_out {
            return Tissue::Csf;
        }
        // Interhemispheric fissure and the medial cortex along it.
        if fissure && p.x.abs() < 0.8 {
            return Tissue::Csf;
        }
        if fissure && p.x.abs() < 0.8 + 3.0 + 0.5 * Self::gyri(p) {
            // Sulci of the medial surface (cingulate, parieto-occipital, ...).
            let phase = 0.3 * p.y + 0.1 * p.z + 1.6 * (0.05 * p.z + 0.03 * p.y).sin();
            return if phase.sin() > 0.9 && p.x.abs() < 3.8 {
                Tissue::Csf
            } else {
                Tissue::Grey
            };
        }
        // Quadrigeminal cistern behind the midbrain, under the splenium.
        if p.x.abs() < 10.0 && p.y > 12.0 && p.y < 45.0 && p.z < 70.0 - self.p.sag_mm {
            return Tissue::Csf;
        }
        // Basal cisterns: below the hypothalamus in the midline band.
        if p.x.abs() < 18.0 && p.y > -40.0 && p.y < 30.0 && p.z < 52.0 - self.p.sag_mm {
            return Tissue::Csf;
        }
        if p.z < floor + SAS_MM + dura_mm {
            return Tissue::Csf;
        }
        if self.thalami.iter().any(|e| e.contains(p)) {
            return Tissue::Grey;
        }
        if depth < cortex_out + 3.0 {
            return Tissue::Grey;
        }
        let _ = self.chiasm_drop;
        Tissue::White
    }

    /// The tissue at a patient point.
    pub(crate) fn classify(&self, p_world: DVec3) -> Tissue {
        self.classify_head(self.pose_inverse.transform_point3(p_world))
    }

    fn sphenoid_sinus(p: DVec3) -> bool {
        Ellipsoid::aligned([0.0, -36.0, 20.0], [14.0, 9.0, 8.0]).contains(p)
    }

    fn clivus_marrow(p: DVec3) -> bool {
        // A cortical plate of at least 1.5 mm lines the pituitary fossa.
        let fossa_wall = Ellipsoid {
            semi: SELLA.semi + DVec3::splat(1.5),
            ..SELLA
        };
        !fossa_wall.contains(p)
            && p.x.abs() < 12.0
            && p.z > 2.0
            && p.z < 36.0
            && p.y < clivus_y(p.z) - 2.5
            && p.y > clivus_y(p.z) - 10.0
    }

    /// Upper cervical spine below the foramen magnum: anterior arch of C1, dens and body of
    /// C2, posterior arch of C1, spinous process of C2, lower bodies with discs.
    fn cervical_spine(p: DVec3) -> Option<Tissue> {
        let shell = |inner: bool| if inner { Tissue::Marrow } else { Tissue::Bone };
        let dens = Capsule {
            a: DVec3::new(0.0, -4.5, -10.0),
            b: DVec3::new(0.0, -7.0, -40.0),
            r: 5.0,
        };
        let d = dens.distance(p);
        if d <= 0.0 {
            return Some(shell(d < -1.5));
        }
        let arch_a = Ellipsoid::aligned([0.0, -16.0, -14.0], [11.0, 3.5, 5.5]);
        if arch_a.contains(p) {
            return Some(shell(arch_a.rho2(p) < 0.4));
        }
        let arch_p = Ellipsoid::aligned([0.0, 42.0, -16.0], [12.0, 4.5, 4.5]);
        if arch_p.contains(p) {
            return Some(shell(arch_p.rho2(p) < 0.4));
        }
        let spinous = Ellipsoid::aligned([0.0, 46.0, -44.0], [6.0, 9.0, 7.0]);
        if spinous.contains(p) {
            return Some(shell(spinous.rho2(p) < 0.4));
        }
        // C3 and below: bodies 13 mm high with 4 mm discs.
        if p.z < -44.0 && p.z > -150.0 && p.x.abs() < 15.0 && p.y > -26.0 && p.y < -4.0 {
            let m = (-44.0 - p.z).rem_euclid(17.0);
            if m < 4.0 {
                return Some(Tissue::Soft);
            }
            let core =
                p.x.abs() <= 13.5 && (-24.5..=-5.5).contains(&p.y) && (5.0..=16.0).contains(&m);
            return Some(shell(core));
        }
        None
    }

    /// Sella turcica contents below the plane of the diaphragma sellae (`z = 40`): the gland,
    /// the stalk, the lower half of the 1 mm diaphragma sheet and CSF.
    fn sella(&self, p: DVec3) -> Option<Tissue> {
        if !(SELLA.contains(p) && p.z < 40.0) {
            return None;
        }
        if p.z < 32.0 + self.p.pituitary_height_mm || self.stalk.contains(p) {
            Some(Tissue::Pituitary)
        } else if p.z >= 39.5 {
            Some(Tissue::Dura)
        } else {
            Some(Tissue::Csf)
        }
    }

    /// An engorged gland (top above the diaphragma at `z = 40`) bulges above it.
    fn pituitary_dome(&self, p: DVec3) -> bool {
        let top = 32.0 + self.p.pituitary_height_mm;
        top > 40.0
            && p.z >= 40.0
            && Ellipsoid::aligned([0.0, -29.0, 40.0], [7.0, 6.0, top - 40.0]).contains(p)
    }

    /// Venous sinuses along the inner table: superior sagittal and transverse.
    fn venous_sinus(&self, p: DVec3, depth: f64) -> bool {
        if depth < 0.0 {
            return false;
        }
        // Superior sagittal sinus: triangular, midline, upper vault.
        if p.z > 60.0 && p.x.abs() < 5.0 && depth < 6.0 * (1.0 - p.x.abs() / 5.0) {
            return true;
        }
        // Transverse sinuses: along the tentorial attachment, lateral and posterior.
        let ax = p.x.abs();
        if (8.0..62.0).contains(&ax) && p.y > 30.0 {
            let u = p.z - (Self::tentorium(p.x, p.y) - 1.0);
            let (half, h) = if self.p.venous_distension {
                (6.0, 8.5)
            } else {
                (5.0, 6.0)
            };
            if u.abs() <= half {
                let t = u / half;
                // Normal: straight margins (triangle); distended: convex (elliptic) margin.
                let limit = if self.p.venous_distension {
                    h * (1.0 - t * t).max(0.0).sqrt()
                } else {
                    h * (1.0 - t.abs())
                };
                return depth <= limit;
            }
        }
        false
    }

    /// Orbit contents (globe, optic nerve and sheath, muscles, fat), if `p` is in an orbit.
    fn orbit(&self, p: DVec3) -> Option<Tissue> {
        for (i, (globe, canal)) in GLOBE.0.iter().zip(OPTIC_CANAL.iter()).enumerate() {
            let g = DVec3::from_array(*globe);
            let canal = DVec3::from_array(*canal);
            // Orbit cone: apex at the canal, 18 mm radius at the globe centre plane.
            let axis = g - canal;
            let len = axis.length();
            let t = (p - canal).dot(axis) / (len * len);
            if !(-0.02..=1.25).contains(&t) {
                continue;
            }
            let on_axis = canal + axis * t;
            let radius = 3.0 + 15.0 * t.min(1.0);
            let r = (p - on_axis).length();
            if r > radius {
                continue;
            }
            let dg = (p - g).length();
            if dg <= GLOBE.1 {
                return Some(if dg > GLOBE.1 - 1.0 {
                    Tissue::Soft
                } else {
                    Tissue::Vitreous
                });
            }
            if t > 1.0 {
                return Some(Tissue::OrbitalFat);
            }
            // Optic nerve: straight back from the posterior pole for 12 mm, then to the canal.
            let pole = self.landmarks.globe_posterior[i];
            let bend = pole + DVec3::new(0.0, 12.0, 0.0);
            let seg1 = Capsule {
                a: pole,
                b: bend,
                r: 0.0,
            };
            let seg2 = Capsule {
                a: bend,
                b: canal,
                r: 0.0,
            };
            let (d1, d2) = (seg1.distance(p), seg2.distance(p));
            let (d, s_behind) = if d1 <= d2 {
                (d1, (p.y - pole.y).clamp(0.0, 12.0))
            } else {
                (d2, 12.0 + (p - bend).length())
            };
            let nerve_r = 0.5 * self.p.optic_nerve_diameter_mm;
            // Sheath (outer edge of the perioptic CSF) tapers from ONSD/2 near the globe to the
            // nerve plus 0.4 mm at the canal.
            let onsd_r = 0.5 * self.p.onsd_mm[i];
            let taper = ((s_behind - 6.0) / 30.0).clamp(0.0, 1.0);
            let csf_r = onsd_r + taper * ((nerve_r + 0.4) - onsd_r);
            if d <= nerve_r {
                return Some(Tissue::OpticNerve);
            }
            if d <= csf_r.max(nerve_r) {
                return Some(Tissue::Csf);
            }
            if d <= csf_r.max(nerve_r) + 0.4 {
                return Some(Tissue::Dura);
            }
            // Four recti along the cone wall.
            let rel = p - on_axis;
            let ang = rel.z.atan2(rel.x);
            let near_wall = r > radius - 4.0 && t > 0.15 && t < 0.95;
            let muscle_dir =
                (ang / std::f64::consts::FRAC_PI_2).round() * std::f64::consts::FRAC_PI_2;
            if near_wall && (ang - muscle_dir).abs() < 0.22 {
                return Some(Tissue::Muscle);
            }
            return Some(Tissue::OrbitalFat);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(sag: f64) -> HeadParams {
        HeadParams {
            sag_mm: sag,
            pituitary_height_mm: 6.0,
            venous_distension: false,
            pachymeningeal_enhancement: false,
            subdural_fluid_mm: 0.0,
            onsd_mm: [4.8, 4.8],
            optic_nerve_diameter_mm: 3.0,
            rotation_deg: [0.0; 3],
            translation_mm: [0.0; 3],
        }
    }

    #[test]
    fn landmarks_sit_on_the_rendered_structures() {
        let h = Head::new(params(0.0));
        let lm = h.landmarks;
        // Just inside / outside the pons along the measured segments.
        let inside =
            lm.pons_superior + (lm.pons_superior - lm.mamillary_inferior).normalize_or_zero() * 0.5;
        assert_eq!(h.classify_head(inside), Tissue::Brainstem);
        let mid = (lm.pons_superior + lm.mamillary_inferior) * 0.5;
        assert_eq!(h.classify_head(mid), Tissue::Csf);
        assert_eq!(
            h.classify_head(lm.mamillary_inferior + DVec3::new(0.0, 0.0, 0.6)),
            Tissue::Grey
        );
        let pre = (lm.clivus_prepontine + lm.pons_anterior) * 0.5;
        assert_eq!(h.classify_head(pre), Tissue::Csf);
        assert_eq!(
            h.classify_head(lm.clivus_prepontine - DVec3::new(0.0, 1.0, 0.0)),
            Tissue::Bone
        );
        assert_eq!(
            h.classify_head(lm.chiasm_inferior + DVec3::new(0.0, 0.0, 0.5)),
            Tissue::OpticNerve
        );
        let supra = (lm.chiasm_inferior + lm.diaphragma_sellae) * 0.5;
        assert_eq!(h.classify_head(supra), Tissue::Csf);
        assert_eq!(
            h.classify_head(lm.pituitary_floor + DVec3::new(0.0, 0.0, 1.0)),
            Tissue::Pituitary
        );
        assert_eq!(
            h.classify_head(lm.tonsil_tip + DVec3::new(0.0, 0.0, 0.5)),
            Tissue::Cerebellum
        );
        assert_eq!(
            h.classify_head(lm.iter + DVec3::new(0.0, -1.0, 1.0)),
            Tissue::Csf
        );
    }

    #[test]
    fn white_matter_is_the_bulk_of_the_hemispheres() {
        let h = Head::new(params(0.0));
        assert_eq!(
            h.classify_head(DVec3::new(30.0, -10.0, 90.0)),
            Tissue::White
        );
        assert_eq!(h.classify_head(DVec3::new(0.0, 8.0, 145.0)), Tissue::Fat);
        assert_eq!(h.classify_head(DVec3::new(0.0, 8.0, 136.5)), Tissue::Bone);
        assert_eq!(h.classify_head(DVec3::new(0.0, 8.0, 139.0)), Tissue::Marrow);
        assert_eq!(h.classify_head(DVec3::new(0.0, 8.0, 250.0)), Tissue::Air);
        assert_eq!(
            h.classify_head(DVec3::new(0.0, 15.0, -60.0)),
            Tissue::Brainstem
        );
        // The dens sits below the basion, anterior to the canal.
        assert_eq!(
            h.classify_head(DVec3::new(0.0, -5.0, -20.0)),
            Tissue::Marrow
        );
        assert_eq!(h.classify_head(DVec3::new(0.0, 5.0, -20.0)), Tissue::Csf);
    }
}
