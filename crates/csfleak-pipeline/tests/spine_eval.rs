//! Evaluation of extradural fluid on spinal MRI (issue 5) on phantom studies written as DICOM,
//! read back through csfleak-dicom (scan + `load_series`) and analysed by csfleak-spine.
//!
//! `cargo test --release -p csfleak-pipeline --test spine_eval -- --nocapture --include-ignored`
//! prints one row per case and a summary against the targets of issue 5. Seeds come from
//! `SPINE_EVAL_SEED` (default 9101, never used while developing), the number of rounds over
//! the case list from `SPINE_EVAL_ROUNDS` (default 1). Each round varies the orientation
//! (oblique or straight axial), pixel size, slice step, noise, curvature, collection size,
//! thickness and position. Cases whose stack does not reach an end of the spine get a level
//! anchor as a user would give (`--level-anchor`); the rest are counted automatically.
//! The default (non-ignored) test runs a small set and asserts only what is met today.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::format_push_string,
    reason = "the evaluation prints its table (and the dump its pixels); helper failures are \
              test failures"
)]

use std::time::Instant;

use csfleak_dicom::{SeriesData, load_series, scan};
use csfleak_findings::{Level, LevelStatus, MimicKind};
use csfleak_phantom::spine::{
    CollectionSpec, Mimic, MrContrast, Position, Side, SpineModel, SpineOptions as Model,
    axial_grid, collection_volume_ml, render_mr,
};
use csfleak_phantom::{MrParams, ScenarioContext, SeriesSpec, Size};
use csfleak_spine::mri::analyze_mri;
use csfleak_spine::{LevelAnchor, SpineOptions};
use csfleak_volume::Volume;

mod eval_common;
use eval_common::{LEVELS, frac, pick};

/// One evaluation case.
struct Case {
    name: String,
    model: Model,
    top: &'static str,
    bottom: &'static str,
    tilt: bool,
    pixel: f64,
    step: f64,
    sigma: f32,
    with_t1: bool,
    mimic_kinds: Vec<MimicKind>,
}

fn case(kind: usize, seed: u64) -> Case {
    let tilt = pick(seed, 1, 2) == 0;
    let pixel = 0.6 + 0.4 * frac(seed, 2);
    let step = 3.0 + 2.0 * frac(seed, 3);
    let sigma = 15.0 + 25.0 * f32::from(u16::try_from(pick(seed, 4, 1000)).unwrap_or(0)) / 1000.0;
    let curvature = 0.6 + 0.7 * frac(seed, 5);
    let thick = 2.0 + 3.0 * frac(seed, 6);
    let side = if pick(seed, 7, 2) == 0 {
        Side::Left
    } else {
        Side::Right
    };
    let base = Model::default().with_curvature(curvature);
    // A collection of 2-5 levels within T2..T11, the stack one level beyond each end.
    let start = 8 + pick(seed, 8, 5); // T2..T6
    let len = 2 + pick(seed, 9, 4);
    let (from, to) = (LEVELS[start], LEVELS[start + len]);
    let (top, bottom) = (LEVELS[start - 1], LEVELS[start + len + 1]);
    let defect = LEVELS[start + 1 + pick(seed, 10, len - 1)];
    let mut c = Case {
        name: String::new(),
        model: base.clone(),
        top,
        bottom,
        tilt,
        pixel,
        step,
        sigma,
        with_t1: true,
        mimic_kinds: Vec::new(),
    };
    match kind {
        0 => {
            c.name = "normal-lumbar".into();
            c.top = "T11";
            c.bottom = "S1";
        }
        1 => {
            c.name = "normal-thoracic".into();
            c.with_t1 = false;
        }
        2 => {
            c.name = format!("ventral-cont-{from}-{to}-{thick:.1}mm");
            c.model = base.with_collection(
                CollectionSpec::new(from, to, Position::Ventral, thick).with_dural_defect(defect),
            );
        }
        3 => {
            c.name = format!("dorsal-intact-{from}-{to}-{thick:.1}mm");
            c.model = base.with_collection(CollectionSpec::new(from, to, Position::Dorsal, thick));
            c.with_t1 = false;
        }
        4 => {
            let t = thick.min(3.5);
            c.name = format!("circ-cont-{from}-{to}-{t:.1}mm");
            c.model = base.with_collection(
                CollectionSpec::new(from, to, Position::Circumferential, t)
                    .with_dural_defect(defect),
            );
        }
        5 => {
            c.name = format!("lateral-cont-{from}-{to}-{thick:.1}mm");
            c.model = base.with_collection(
                CollectionSpec::new(from, to, Position::Lateral, thick)
                    .with_side(side)
                    .with_dural_defect(defect),
            );
        }
        6 => {
            c.name = "mimics-lumbar".into();
            c.top = "L2";
            c.bottom = "S1";
            c.model = base
                .with_mimic(Mimic::VenousPlexus {
                    from_level: "L3".into(),
                    to_level: "L4".into(),
                    thickness_mm: 2.0 + 1.5 * frac(seed, 11),
                })
                .with_mimic(Mimic::TarlovCyst {
                    level: "S1".into(),
                    side,
                    radius_mm: 5.0 + 3.0 * frac(seed, 12),
                });
            c.mimic_kinds = vec![MimicKind::VenousPlexus, MimicKind::TarlovCyst];
        }
        8 => {
            // Coarse clinical-like stack (as the shipped sample): 1.3-1.5 mm pixels, 5-6.5 mm
            // slices, a long ventral collection.
            c.pixel = 1.3 + 0.2 * frac(seed, 14);
            c.step = 5.0 + 1.5 * frac(seed, 15);
            let (from, to) = ("C7", LEVELS[14 + pick(seed, 16, 3)]);
            c.top = "C6";
            c.bottom = "T12";
            c.name = format!("coarse-ventral-{from}-{to}-{thick:.1}mm");
            c.model = base.with_collection(
                CollectionSpec::new(from, to, Position::Ventral, thick).with_dural_defect("T3"),
            );
        }
        7 => {
            c.name = "root-sleeve-thoracic".into();
            c.model = base.with_mimic(Mimic::DilatedRootSleeve {
                level: LEVELS[start + 1].into(),
                side,
                radius_mm: 2.5 + 1.0 * frac(seed, 13),
            });
            c.mimic_kinds = vec![MimicKind::RootSleeve];
        }
        _ => unreachable!("case kinds are 0..N_KINDS"),
    }
    c
}

const N_KINDS: usize = 9;

#[derive(Debug, Default)]
struct Row {
    name: String,
    truth_present: bool,
    truth_thick: f64,
    detected: bool,
    false_collections: usize,
    levels: String,
    from_err: Option<u8>,
    to_err: Option<u8>,
    vol_err_pct: Option<f64>,
    thick_err_mm: Option<f64>,
    cont_ok: Option<bool>,
    enh_ok: Option<bool>,
    mimics_ok: Option<bool>,
    secs: f64,
}

fn load_volumes(dir: &std::path::Path) -> Vec<(i32, Volume)> {
    let report = scan(dir).unwrap();
    report
        .series()
        .map(|s| {
            let l = load_series(s).unwrap();
            let n = l.meta.series_number.unwrap_or(0);
            match l.data {
                SeriesData::Volume(v) => (n, v),
                SeriesData::Planar(_) => panic!("planar spine series"),
            }
        })
        .collect()
}

fn level(s: &str) -> Level {
    s.parse().unwrap()
}

fn run_case(c: &Case, seed: u64) -> Row {
    let model = SpineModel::new(c.model.clone()).unwrap();
    let a = &model.levels()[model.level_index(c.top).unwrap()];
    let b = &model.levels()[model.level_index(c.bottom).unwrap()];
    let zr = (b.body_bottom_z_mm - 10.0, a.body_top_z_mm + 10.0);
    let g = axial_grid(&model, zr, [192, 192], c.pixel, c.step, c.tilt).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = ScenarioContext::new(seed, Size::Small, dir.path());
    let t2 = render_mr(&model, MrContrast::T2Fs, &g, 2, c.sigma, 0.15, seed, "t2").unwrap();
    let spec = SeriesSpec::mr(1, "eval/t2", "t2_tse_fs_tra", MrParams::t2_fs_tse());
    ctx.write_volume(&spec, &t2, "spine_t2fs_axial", serde_json::Value::Null)
        .unwrap();
    if c.with_t1 {
        let t1 = render_mr(
            &model,
            MrContrast::T1FsPost,
            &g,
            2,
            0.8 * c.sigma,
            0.15,
            seed,
            "t1",
        )
        .unwrap();
        let spec = SeriesSpec::mr(2, "eval/t1", "t1_fs_tra +C", MrParams::t1_fs_se())
            .with_contrast_agent("Gadobutrol");
        ctx.write_volume(&spec, &t1, "spine_t1fs_post_axial", serde_json::Value::Null)
            .unwrap();
    }
    let vols = load_volumes(dir.path());
    let t2 = &vols.iter().find(|v| v.0 == 1).unwrap().1;
    let t1 = vols.iter().find(|v| v.0 == 2).map(|v| &v.1);
    // A user's anchor when the stack reaches no end of the spine (as `--level-anchor`).
    let mut opts = SpineOptions::default();
    if c.bottom != "S1" {
        let mid = model.level_index(c.top).unwrap() + 1;
        let l = &model.levels()[mid];
        opts = opts.with_level_anchor(LevelAnchor {
            level: level(l.disc.as_deref().unwrap()),
            z_mm: l.disc_mid_z(),
        });
    }
    let t0 = Instant::now();
    let an = analyze_mri(t2, t1, &opts).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let section = an.to_section(Some("eval"), t1.is_some());
    let fluid = section.epidural_fluid.as_ref().unwrap();
    let mut row = Row {
        name: c.name.clone(),
        secs,
        levels: match an.levels.status() {
            LevelStatus::Counted => "counted",
            LevelStatus::Anchored => "anchor",
            LevelStatus::NotCounted => "mm",
        }
        .to_owned(),
        ..Row::default()
    };
    let spec = model.options().collection.clone();
    if let (Some(spec), Some((lo, hi))) = (spec, model.collection_range()) {
        row.truth_present = true;
        row.truth_thick = spec.max_thickness_mm;
        let truth_from = level(model.level_at(hi - 1e-6).name);
        let truth_to = level(model.level_at(lo + 1e-6).name);
        // The reported collection overlapping the truth most; the others are false.
        let mut best: Option<(f64, usize)> = None;
        for (i, l) in an.collections.iter().enumerate() {
            let (a, b) = (
                l.z_range_mm.0.min(l.z_range_mm.1),
                l.z_range_mm.0.max(l.z_range_mm.1),
            );
            let ov = b.min(hi) - a.max(lo);
            if ov > 0.0 && best.is_none_or(|x| ov > x.0) {
                best = Some((ov, i));
            }
        }
        row.false_collections = an.collections.len() - usize::from(best.is_some());
        if let Some((_, i)) = best {
            row.detected = true;
            let l = &an.collections[i];
            let f = &fluid.collections[i];
            row.from_err = f.from_level.map(|x| x.distance(truth_from));
            row.to_err = f.to_level.map(|x| x.distance(truth_to));
            let tv = collection_volume_ml(&model);
            row.vol_err_pct = Some(100.0 * (l.volume_ml - tv) / tv);
            row.thick_err_mm = Some(l.max_thickness_mm - spec.max_thickness_mm);
            row.cont_ok = Some(f.continuous_with_sas == Some(spec.dural_defect_level.is_some()));
            row.enh_ok = c.with_t1.then_some(f.non_enhancing == Some(true));
        }
    } else {
        row.false_collections = an.collections.len();
    }
    if !c.mimic_kinds.is_empty() {
        // Rejected: no collection reported (a mimic need not be listed to be rejected).
        row.mimics_ok = Some(an.collections.is_empty());
    }
    row
}

struct Summary {
    sens: f64,
    spec: f64,
    n_pos: usize,
    n_neg: usize,
    level_ok: f64,
    n_level: usize,
    vol_ok: f64,
    n_vol: usize,
    cont_ok: f64,
    enh_ok: f64,
    mimics_ok: bool,
}

fn summarise(rows: &[Row]) -> Summary {
    let ratio = |a: usize, b: usize| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    let pos: Vec<&Row> = rows
        .iter()
        .filter(|r| r.truth_present && r.truth_thick >= 2.0)
        .collect();
    let neg: Vec<&Row> = rows.iter().filter(|r| !r.truth_present).collect();
    let tp = pos.iter().filter(|r| r.detected).count();
    let tn = neg.iter().filter(|r| r.false_collections == 0).count();
    let lv: Vec<&Row> = pos
        .iter()
        .copied()
        .filter(|r| r.from_err.is_some() && r.to_err.is_some())
        .collect();
    let lv_ok = lv
        .iter()
        .filter(|r| r.from_err <= Some(1) && r.to_err <= Some(1))
        .count();
    let vol: Vec<f64> = pos.iter().filter_map(|r| r.vol_err_pct).collect();
    let cont: Vec<bool> = pos.iter().filter_map(|r| r.cont_ok).collect();
    let enh: Vec<bool> = pos.iter().filter_map(|r| r.enh_ok).collect();
    Summary {
        sens: ratio(tp, pos.len()),
        spec: ratio(tn, neg.len()),
        n_pos: pos.len(),
        n_neg: neg.len(),
        level_ok: ratio(lv_ok, lv.len()),
        n_level: lv.len(),
        vol_ok: ratio(vol.iter().filter(|e| e.abs() <= 20.0).count(), vol.len()),
        n_vol: vol.len(),
        cont_ok: ratio(cont.iter().filter(|&&x| x).count(), cont.len()),
        enh_ok: ratio(enh.iter().filter(|&&x| x).count(), enh.len()),
        mimics_ok: rows.iter().all(|r| r.mimics_ok != Some(false)),
    }
}

fn opt<T: std::fmt::Display>(x: Option<T>) -> String {
    x.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn evaluate(rounds: u64, seed0: u64) -> (Vec<Row>, Summary) {
    evaluate_kinds(rounds, seed0, &(0..N_KINDS).collect::<Vec<_>>())
}

fn evaluate_kinds(rounds: u64, seed0: u64, kinds: &[usize]) -> (Vec<Row>, Summary) {
    let mut rows = Vec::new();
    println!(
        "{:<34} {:>4} {:>7} {:>4} {:>5} {:>5} {:>8} {:>6} {:>5} {:>5} {:>6} {:>6}",
        "case", "det", "levels", "FP", "from", "to", "vol%", "thk", "cont", "enh", "mimic", "secs"
    );
    for round in 0..rounds {
        for &kind in kinds {
            let seed = seed0 + round * 100 + kind as u64;
            let c = case(kind, seed);
            let r = run_case(&c, seed);
            println!(
                "{:<34} {:>4} {:>7} {:>4} {:>5} {:>5} {:>8} {:>6} {:>5} {:>5} {:>6} {:>6.2}",
                format!("{} s{seed}", r.name),
                if r.truth_present {
                    if r.detected { "yes" } else { "MISS" }
                } else {
                    "-"
                },
                r.levels,
                r.false_collections,
                opt(r.from_err),
                opt(r.to_err),
                opt(r.vol_err_pct.map(|v| format!("{v:+.1}"))),
                opt(r.thick_err_mm.map(|v| format!("{v:+.1}"))),
                opt(r.cont_ok),
                opt(r.enh_ok),
                opt(r.mimics_ok),
                r.secs
            );
            rows.push(r);
        }
    }
    let s = summarise(&rows);
    println!(
        "sensitivity (>= 2 mm) {:.2} of {} | specificity {:.2} of {} | level range within 1 at both ends {:.2} of {} | volume within 20 % {:.2} of {} | continuity {:.2} | enhancement {:.2} | every mimic rejected {}",
        s.sens,
        s.n_pos,
        s.spec,
        s.n_neg,
        s.level_ok,
        s.n_level,
        s.vol_ok,
        s.n_vol,
        s.cont_ok,
        s.enh_ok,
        s.mimics_ok
    );
    println!(
        "targets (issue 5): sensitivity and specificity >= 0.95, levels within 1, volume within 20 %, continuity and enhancement >= 0.90, every mimic rejected"
    );
    (rows, s)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The small set run in CI: a normal lumbar spine (levels counted), a ventral continuous
/// collection (levels from an anchor) and lumbar mimics, through DICOM.
#[test]
fn spine_mri_small_set() {
    let (rows, s) = evaluate_kinds(1, env_u64("SPINE_EVAL_SEED", 9101), &[0, 2, 6]);
    assert_eq!(s.sens, 1.0, "collection missed");
    assert_eq!(s.spec, 1.0, "false collection on a normal spine");
    assert!(s.mimics_ok, "a mimic was counted as a collection");
    assert_eq!(s.vol_ok, 1.0, "volume off by more than 20 %");
    assert_eq!(s.level_ok, 1.0, "level range off by more than one level");
    assert_eq!(rows[0].levels, "counted", "lumbar stack to S1 not counted");
}

/// The full evaluation (`SPINE_EVAL_ROUNDS` rounds of every case kind).
#[test]
#[ignore = "evaluation: run with --release via scripts/eval-spine.sh (minutes in debug builds)"]
fn spine_mri_evaluation() {
    let (_, s) = evaluate(
        env_u64("SPINE_EVAL_ROUNDS", 1),
        env_u64("SPINE_EVAL_SEED", 9101),
    );
    // Asserted: what is met today on the default seeds (see the printed summary for the
    // rest: level range, volume and continuity miss their targets on coarse stacks).
    assert!(s.sens >= 0.95, "sensitivity {}", s.sens);
    assert!(s.spec >= 0.95, "specificity {}", s.spec);
    assert!(s.enh_ok >= 0.9, "enhancement {}", s.enh_ok);
    assert!(s.mimics_ok, "a mimic was counted as a collection");
}

/// Speed of the analysis of a full-spine axial T2 (C1-S1).
#[test]
#[ignore = "speed: run with --release via scripts/eval-spine.sh"]
fn full_spine_axial_speed() {
    let model = SpineModel::new(Model::default()).unwrap();
    let a = &model.levels()[0];
    let b = &model.levels()[24];
    let g = axial_grid(
        &model,
        (b.body_bottom_z_mm, a.body_top_z_mm),
        [256, 256],
        0.7,
        4.0,
        true,
    )
    .unwrap();
    let t2 = render_mr(&model, MrContrast::T2Fs, &g, 1, 25.0, 0.15, 5, "t2").unwrap();
    let t0 = Instant::now();
    let an = analyze_mri(&t2, None, &SpineOptions::default()).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "full-spine axial T2 {:?} voxels: analysis {secs:.2} s wall on {} thread(s); levels {:?}",
        t2.dims(),
        rayon::current_num_threads(),
        an.levels.status()
    );
    assert!(an.canal.confidence > 0.5);
}

/// Developer aid: per-slice canal and lesion dump of the axial T2 of a DICOM study
/// (`SPINE_DUMP_DIR`), e.g. a shipped sample. Prints; asserts only that the study loads.
#[test]
#[ignore = "developer aid: SPINE_DUMP_DIR=data-samples/... cargo test --release -p csfleak-pipeline --test spine_eval dump_study -- --ignored --nocapture"]
fn dump_study() {
    let Ok(dir) = std::env::var("SPINE_DUMP_DIR") else {
        println!("set SPINE_DUMP_DIR");
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let report = scan(&dir).unwrap();
    let mut t2 = None;
    let mut t1 = None;
    let mut sag = None;
    for s in report.series() {
        let role = format!("{:?}", s.role.role);
        let l = load_series(s).unwrap();
        if let SeriesData::Volume(v) = l.data {
            println!("series {:?} {role} {:?}", l.meta.series_number, v.dims());
            if role.contains("T2FsAxial") {
                t2 = Some(v);
            } else if role.contains("Contrast") {
                t1 = Some(v);
            } else if role.contains("T2FsSagittal") {
                sag = Some(v);
            }
        }
    }
    let t2 = t2.expect("an axial T2");
    // SPINE_DUMP_RAW=<dir>: the volumes as raw f32 plus a geometry line, for
    // `cargo run -p csfleak-spine --example dump_mri -- <dir> [SLICE]`.
    if let Ok(raw) = std::env::var("SPINE_DUMP_RAW") {
        let raw = std::path::Path::new(&raw);
        std::fs::create_dir_all(raw).unwrap();
        for (name, v) in [
            ("t2", Some(&t2)),
            ("t1", t1.as_ref()),
            ("sag", sag.as_ref()),
        ] {
            let Some(v) = v else { continue };
            let g = v.geometry();
            let m = g.world_from_voxel.to_cols_array();
            let head: Vec<String> = g
                .dims
                .iter()
                .map(ToString::to_string)
                .chain(m.iter().map(ToString::to_string))
                .collect();
            std::fs::write(raw.join(format!("{name}.txt")), head.join(" ")).unwrap();
            let bytes: Vec<u8> = v.data().iter().flat_map(|x| x.to_le_bytes()).collect();
            std::fs::write(raw.join(format!("{name}.f32")), bytes).unwrap();
        }
    }
    let t0 = Instant::now();
    let canal = csfleak_spine::canal::build_canal(&t2, &SpineOptions::default()).unwrap();
    println!(
        "canal alone {:.2} s ({} slices)",
        t0.elapsed().as_secs_f64(),
        canal.slices.len()
    );
    let t0 = Instant::now();
    let an = analyze_mri(&t2, t1.as_ref(), &SpineOptions::default()).unwrap();
    println!(
        "analysis {:.2} s; csf ref {} confidence {:.2} levels {:?} {:?}",
        t0.elapsed().as_secs_f64(),
        an.canal.csf_reference,
        an.canal.confidence,
        an.levels.status(),
        an.levels.reason()
    );
    for s in &an.canal.slices {
        let mut d = s.beyond_dura_mm.clone();
        d.sort_by(|a, b| b.total_cmp(a));
        println!(
            "k {:3} found {} z {:7.1} y {:6.1} area {:6.1} csf {:6.1} bridge {:2} depth2 {:.1}",
            s.k,
            s.found,
            s.centre.0[2],
            s.centre.0[1],
            s.sac_area_mm2,
            s.csf_area_mm2,
            s.bridge.len(),
            d.get(1).copied().unwrap_or(0.0)
        );
    }
    for l in an.collections.iter().chain(&an.mimics) {
        println!(
            "{:?} z {:.1}..{:.1} t {:.1} v {:.2} {:?} {:?} cont {:?} water {:.2} enh {:?}",
            l.k_range,
            l.z_range_mm.0,
            l.z_range_mm.1,
            l.max_thickness_mm,
            l.volume_ml,
            l.position,
            l.mimic,
            l.continuity_slice,
            l.water_ratio,
            l.enhancement_ratio
        );
    }
    if let Some(k) = std::env::var("SPINE_DUMP_K")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        let sl = &an.canal.slices[k];
        let img = t2.data().index_axis(ndarray::Axis(0), k).to_owned();
        let c = t2
            .geometry()
            .voxel_from_world()
            .transform_point3(sl.centre.to_dvec3());
        let (cr, cc) = (c.y.round() as i64, c.x.round() as i64);
        let lesion: std::collections::HashSet<(usize, usize)> = an
            .collections
            .iter()
            .chain(&an.mimics)
            .flat_map(|l| l.pixels.iter())
            .filter(|p| p.0 == k)
            .map(|p| (p.1, p.2))
            .collect();
        // S/s sac (bright/dark), L lesion pixel, # + . outside by signal / CSF.
        for r in (cr - 22)..(cr + 23) {
            let mut line = String::new();
            for col in (cc - 30)..(cc + 31) {
                let (Ok(ru), Ok(cu)) = (usize::try_from(r), usize::try_from(col)) else {
                    continue;
                };
                let Some(&v) = img.get([ru, cu]) else {
                    continue;
                };
                let f = v / an.canal.csf_reference;
                let ch = if lesion.contains(&(ru, cu)) {
                    'L'
                } else if sl.sac.get([ru, cu]).copied().unwrap_or(false) {
                    if f >= 0.5 { 'S' } else { 's' }
                } else if f >= 0.75 {
                    '#'
                } else if f >= 0.5 {
                    '+'
                } else if f >= 0.25 {
                    '.'
                } else {
                    ' '
                };
                line.push(ch);
            }
            println!("{line}");
        }
        if std::env::var("SPINE_DUMP_NUM").is_ok() {
            for r in (cr - 14)..(cr + 15) {
                let mut line = String::new();
                for col in (cc - 14)..(cc + 15) {
                    let (Ok(ru), Ok(cu)) = (usize::try_from(r), usize::try_from(col)) else {
                        continue;
                    };
                    let v = img.get([ru, cu]).copied().unwrap_or(0.0);
                    line.push_str(&format!("{:4.0}", 100.0 * v / an.canal.csf_reference));
                }
                println!("{line}");
            }
        }
    }
    assert!(!an.canal.slices.is_empty());
}
