//! Automatic landmarks on phantom T1 volumes (rendered directly, no DICOM) with seeds and sag
//! values not used during development of the method: per-landmark error against the model's
//! geometry, the mamillopontine distance and the sag trend. Run with `--nocapture` for the
//! table. The method never sees the truth; the test only compares afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::panic,
    reason = "an evaluation that prints its table"
)]

use csfleak_brain::LandmarkName;
use csfleak_brain::auto::{AutoOptions, Detection, detect_landmarks};
use csfleak_brain::midsagittal::find_plane;
use csfleak_phantom::brain::{BrainOptions, BrainPhantom, GridPreset, Phase};
use csfleak_volume::DVec3;

struct Case {
    sag: f64,
    mpd_truth: f64,
    mpd_auto: Option<f64>,
    errs: Vec<(LandmarkName, f64)>,
}

/// A different scanner scale: intensities times `gain` plus `offset` (the method must only
/// use the patient's own tissue classes).
fn run(sag: f64, seed: u64, rot: [f64; 3], obl: f64, grid: GridPreset) -> Case {
    run_scaled(sag, seed, rot, obl, grid, 1.0, 0.0)
}

fn run_scaled(
    sag: f64,
    seed: u64,
    rot: [f64; 3],
    obl: f64,
    grid: GridPreset,
    gain: f32,
    offset: f32,
) -> Case {
    let mut o = BrainOptions::default()
        .with_sag(sag)
        .with_head_rotation(rot)
        .with_oblique(obl)
        .with_grid(grid);
    if let Ok(n) = std::env::var("AUTO_NOISE") {
        o.noise_fraction = n.parse().unwrap();
    }
    if let Ok(b) = std::env::var("AUTO_BIAS") {
        o.bias = b.parse().unwrap();
    }
    let p = BrainPhantom::new(&o).unwrap();
    let mut v = p.sagittal_t1(Phase::Pre, Some(seed)).unwrap();
    v.data_mut().mapv_inplace(|x| x * gain + offset);
    let plane = find_plane(&v).unwrap();
    // AUTO_PM: publish the (experimental) pontomesencephalic angle and print it.
    let pm = std::env::var("AUTO_PM").is_ok();
    let a = detect_landmarks(&v, &plane, &AutoOptions::default().with_pm_angle(pm)).unwrap();
    let mut errs = Vec::new();
    for (name, d) in &a.landmarks {
        match d {
            Detection::Found {
                position,
                confidence,
                ..
            } => {
                assert!((0.0..=1.0).contains(confidence));
                let t = DVec3::from_array(p.truth.landmarks[name.as_str()]);
                // The arm points' places along the arms are a convention (only the angle is
                // measured): not landmark errors.
                if !matches!(name, LandmarkName::PmMidbrain | LandmarkName::PmPons) {
                    errs.push((*name, position.to_dvec3().distance(t)));
                }
                if std::env::var("AUTO_VERBOSE").is_ok() {
                    println!(
                        "sag {sag}: {name} auto - truth {:?}",
                        (position.to_dvec3() - t).to_array()
                    );
                }
            }
            Detection::NotFound { reason } => {
                assert!(!reason.is_empty());
                if std::env::var("AUTO_VERBOSE").is_ok() {
                    println!("sag {sag}: {name} not found: {reason}");
                }
            }
        }
    }
    let pos = |n: LandmarkName| {
        a.get(n)
            .and_then(Detection::position)
            .map(csfleak_volume::PointLps::to_dvec3)
    };
    if let (Some(v), Some(m), Some(q)) = (
        pos(LandmarkName::PmVertex),
        pos(LandmarkName::PmMidbrain),
        pos(LandmarkName::PmPons),
    ) {
        println!(
            "sag {sag} seed {seed}: PMA auto {:.1} truth {:.1} deg",
            (m - v).angle_between(q - v).to_degrees(),
            p.truth.pontomesencephalic_angle_deg
        );
    }
    let mpd_auto = match (
        pos(LandmarkName::MamillaryInferior),
        pos(LandmarkName::PonsSuperior),
    ) {
        (Some(m), Some(q)) => Some(m.distance(q)),
        _ => None,
    };
    Case {
        sag,
        mpd_truth: p.truth.mamillopontine_distance_mm,
        mpd_auto,
        errs,
    }
}

#[test]
fn automatic_landmarks_on_new_phantoms() {
    let grid = match std::env::var("AUTO_GRID").as_deref() {
        Ok("full") => GridPreset::Full,
        _ => GridPreset::Small,
    };
    let cases = [
        (0.0, 8101_u64, [0.0, 0.0, 0.0], 0.0),
        (1.5, 8102, [2.0, -2.0, 3.0], 6.0),
        (3.0, 8103, [-2.0, 3.0, -4.0], 0.0),
        (4.5, 8104, [0.0, 0.0, 0.0], -9.0),
        (6.0, 8105, [3.0, 1.0, 5.0], 4.0),
        (7.5, 8106, [-1.0, -3.0, -2.0], 0.0),
    ];
    let rows: Vec<Case> = cases
        .iter()
        .map(|(s, seed, r, o)| run(*s, *seed, *r, *o, grid))
        .collect();
    println!("\n| sag | MPD truth | MPD auto | found | mean err | per landmark (mm) |");
    let mut all = Vec::new();
    for c in &rows {
        let m = c.errs.iter().map(|e| e.1).sum::<f64>() / c.errs.len().max(1) as f64;
        let per: Vec<String> = c.errs.iter().map(|(n, e)| format!("{n} {e:.2}")).collect();
        println!(
            "| {:.1} | {:.2} | {} | {}/{} | {m:.2} | {} |",
            c.sag,
            c.mpd_truth,
            c.mpd_auto.map_or("n/a".to_owned(), |x| format!("{x:.2}")),
            c.errs.len(),
            LandmarkName::ALL.len(),
            per.join(", ")
        );
        all.extend(c.errs.iter().map(|e| e.1));
    }
    println!(
        "mean landmark error over all found: {:.2} mm ({} landmarks)",
        all.iter().sum::<f64>() / all.len().max(1) as f64,
        all.len()
    );
    for c in &rows {
        if let Some(a) = c.mpd_auto {
            println!("MPD error sag {:.1}: {:+.2}", c.sag, a - c.mpd_truth);
        }
    }
    // Per landmark: how often found and the mean error.
    for name in LandmarkName::ALL {
        let e: Vec<f64> = rows
            .iter()
            .flat_map(|c| c.errs.iter().filter(|(n, _)| n == name).map(|(_, e)| *e))
            .collect();
        if !e.is_empty() {
            println!(
                "{name}: found {}/{}, mean error {:.2} mm, max {:.2} mm",
                e.len(),
                rows.len(),
                e.iter().sum::<f64>() / e.len() as f64,
                e.iter().copied().fold(0.0, f64::max)
            );
        }
    }
    // What the method meets on these phantoms (2 mm T1 by default, AUTO_GRID=full for 1 mm;
    // see the table): the mamillary bodies and the upper pons surface on every case, every
    // found landmark within 2 mm and their mean error <= 1 mm, the MPD within 1 mm and
    // decreasing with sag; the anterior pons surface on at least half of the cases; the
    // clivus only on 1 mm voxels (not searched on 2 mm: its cortex is not resolved).
    for c in &rows {
        let a = c
            .mpd_auto
            .unwrap_or_else(|| panic!("sag {}: no automatic MPD", c.sag));
        assert!(
            (a - c.mpd_truth).abs() <= 1.0,
            "sag {}: MPD {a:.2} vs {:.2}",
            c.sag,
            c.mpd_truth
        );
        for n in [LandmarkName::MamillaryInferior, LandmarkName::PonsSuperior] {
            assert!(
                c.errs.iter().any(|(m, _)| *m == n),
                "sag {}: {n} not found",
                c.sag
            );
        }
        let clivus = c
            .errs
            .iter()
            .any(|(m, _)| *m == LandmarkName::ClivusPrepontine);
        assert_eq!(clivus, grid == GridPreset::Full, "sag {}: clivus", c.sag);
        for (n, e) in &c.errs {
            assert!(*e <= 2.0, "sag {}: {n} off by {e:.2} mm", c.sag);
        }
    }
    let pons_ant = rows
        .iter()
        .filter(|c| c.errs.iter().any(|(m, _)| *m == LandmarkName::PonsAnterior))
        .count();
    assert!(
        2 * pons_ant >= rows.len(),
        "anterior pons on {pons_ant} cases"
    );
    let mpd: Vec<f64> = rows.iter().filter_map(|c| c.mpd_auto).collect();
    assert!(
        mpd.windows(2).all(|w| w[1] < w[0]),
        "sag trend not monotonic: {mpd:?}"
    );
    let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
    assert!(mean <= 1.0, "mean landmark error {mean:.2}");
}

/// Another scanner's scale (gain and offset) gives the same landmarks within 0.3 mm.
#[test]
fn invariant_to_intensity_scale() {
    let a = run(2.0, 8201, [1.0, 2.0, -2.0], 0.0, GridPreset::Small);
    let b = run_scaled(
        2.0,
        8201,
        [1.0, 2.0, -2.0],
        0.0,
        GridPreset::Small,
        3.7,
        150.0,
    );
    assert_eq!(a.errs.len(), b.errs.len());
    for ((na, ea), (nb, eb)) in a.errs.iter().zip(&b.errs) {
        assert_eq!(na, nb);
        assert!((ea - eb).abs() <= 0.3, "{na}: {ea:.2} vs {eb:.2}");
    }
    let (ma, mb) = (a.mpd_auto.unwrap(), b.mpd_auto.unwrap());
    assert!((ma - mb).abs() <= 0.3, "MPD {ma:.2} vs {mb:.2}");
}

/// A volume that is not a head (a uniform block with a bright cube): nothing is found, and
/// every landmark says why.
#[test]
fn not_a_head_gives_reasons() {
    use csfleak_volume::{Geometry, PointLps, VecLps, Volume, VoxelIdx};
    let g = Geometry::from_steps(
        [40, 40, 40],
        PointLps([-40.0, -40.0, 40.0]),
        VecLps([0.0, 2.0, 0.0]),
        VecLps([0.0, 0.0, -2.0]),
        VecLps([2.0, 0.0, 0.0]),
    )
    .unwrap();
    let mut v = Volume::zeros(g).unwrap();
    for k in 10..30 {
        for j in 10..30 {
            for i in 10..30 {
                v.set(
                    VoxelIdx::new(i, j, k),
                    100.0 + f32::from(u8::try_from((i * 7 + j * 3 + k) % 5).unwrap()),
                );
            }
        }
    }
    let plane = find_plane(&v).unwrap();
    let a = detect_landmarks(&v, &plane, &AutoOptions::default()).unwrap();
    assert_eq!(a.landmarks.len(), LandmarkName::ALL.len());
    for (n, d) in &a.landmarks {
        match d {
            Detection::Found { .. } => panic!("{n} found on a block"),
            Detection::NotFound { reason } => assert!(reason.len() > 10, "{n}: {reason}"),
        }
    }
}

/// Developer aid: one case from `AUTO_CASE="sag,seed,rx,ry,rz,oblique"` (with `AUTO_VERBOSE`
/// for the per-landmark offsets).
#[test]
#[ignore = "developer aid: runs the case named in AUTO_CASE"]
fn one_case() {
    let v: Vec<f64> = std::env::var("AUTO_CASE")
        .unwrap_or_else(|_| "0,8101,0,0,0,0".to_owned())
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    let grid = match std::env::var("AUTO_GRID").as_deref() {
        Ok("full") => GridPreset::Full,
        _ => GridPreset::Small,
    };
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a seed typed by a person"
    )]
    let c = run(v[0], v[1] as u64, [v[2], v[3], v[4]], v[5], grid);
    for (n, e) in &c.errs {
        println!("{n}: {e:.2} mm");
    }
    assert!(c.errs.iter().all(|(_, e)| e.is_finite()));
}

const SELLAR: [LandmarkName; 4] = [
    LandmarkName::ChiasmInferior,
    LandmarkName::DiaphragmaSellae,
    LandmarkName::PituitaryTop,
    LandmarkName::PituitaryFloor,
];

/// Errors of the sellar landmarks (`None` = not found, with its reason).
fn sellar_errors(
    sag: f64,
    seed: u64,
    grid: GridPreset,
    opts: &AutoOptions,
) -> Vec<(LandmarkName, Result<f64, String>)> {
    let o = BrainOptions::default().with_sag(sag).with_grid(grid);
    let p = BrainPhantom::new(&o).unwrap();
    let v = p.sagittal_t1(Phase::Pre, Some(seed)).unwrap();
    let plane = find_plane(&v).unwrap();
    let a = detect_landmarks(&v, &plane, opts).unwrap();
    SELLAR
        .iter()
        .map(|n| {
            let r = match a.get(*n).unwrap() {
                Detection::Found { position, .. } => Ok(position
                    .to_dvec3()
                    .distance(DVec3::from_array(p.truth.landmarks[n.as_str()]))),
                Detection::NotFound { reason } => Err(reason.clone()),
            };
            (*n, r)
        })
        .collect()
}

/// The sellar search, when turned off, says so; on (the default since session 8) it is not
/// tried on 2 mm voxels.
#[test]
fn sellar_search_off_on_request_and_not_on_coarse_voxels() {
    let off = AutoOptions::default().with_sellar(false);
    for (n, r) in sellar_errors(0.0, 8111, GridPreset::Small, &off) {
        let why = r.unwrap_err();
        assert!(why.contains("experimental"), "{n}: {why}");
    }
    for (n, r) in sellar_errors(0.0, 8111, GridPreset::Small, &AutoOptions::default()) {
        let why = r.unwrap_err();
        assert!(why.contains("voxels"), "{n}: {why}");
    }
}

/// The sellar search on a 1 mm phantom without sag: every point within 1.5 mm (the chiasm is
/// read in the middle of its band since G's session-5 change: 1.12 mm here). With a sag of
/// 4.5 mm or more it still takes another structure for the chiasm (why the search is off by
/// default).
#[test]
#[ignore = "renders a 1 mm phantom (slow in debug builds): run with --release --ignored"]
fn sellar_search_on_one_mm_phantom() {
    let on = AutoOptions::default().with_sellar(true);
    for (n, r) in sellar_errors(0.0, 8101, GridPreset::Full, &on) {
        let e = r.unwrap_or_else(|why| panic!("{n} not found: {why}"));
        println!("{n}: {e:.2} mm");
        assert!(e <= 1.5, "{n} off by {e:.2} mm");
    }
}
