//! Evaluation of CT myelography (issue 5, CT half) on phantom studies written as DICOM, read
//! back through csfleak-dicom (scan + `load_series`) and analysed by csfleak-spine.
//!
//! `cargo test --release -p csfleak-pipeline --test ctm_eval -- --nocapture --include-ignored`
//! prints one row per case and the share of studies classified right. Seeds come from
//! `CTM_EVAL_SEED` (default 9501, never used while developing), rounds over the case list from
//! `CTM_EVAL_ROUNDS` (default 1). Each case draws its intrathecal contrast in 250..900 HU, the
//! leaked contrast at 0.45-0.7 of it, pixel size, slice step, noise, curvature, leak level and
//! side. The documented puncture (L3/4) is given as clinical context, as a user would.
//! `CTM_EVAL_RAW=<dir>` also writes each case as a raw dump for the `ctm_dump` example.
//! The default (non-ignored) test runs a small set at low contrast and asserts what is met.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "the evaluation prints its table; helper failures are test failures"
)]

use std::time::Instant;

use csfleak_dicom::{SeriesData, load_series, scan};
use csfleak_phantom::spine::{
    CtLeakSpec, Mimic, PunctureSpec, Side, SpineModel, SpineOptions as Model, axial_grid, render_ct,
};
use csfleak_phantom::{CtParams, ScenarioContext, SeriesSpec, Size};
use csfleak_spine::ctm::{CtmClass, CtmOptions, analyze_ctm};
use csfleak_volume::Volume;

mod eval_common;
use eval_common::{LEVELS, frac, pick};

/// One evaluation case.
struct Case {
    name: String,
    model: Model,
    top: &'static str,
    bottom: &'static str,
    ith: f64,
    pixel: f64,
    step: f64,
    sigma: f32,
    truth: CtmClass,
    /// Expected site level (root level of the leak) and side, when there is one away from the
    /// puncture.
    site: Option<(&'static str, csfleak_findings::Side)>,
}

const N_KINDS: usize = 5;

fn case(kind: usize, seed: u64, ith: Option<f64>) -> Case {
    let ith = ith.unwrap_or_else(|| 250.0 + 650.0 * frac(seed, 1));
    let leak_hu = ith * (0.45 + 0.25 * frac(seed, 2));
    let pixel = 0.7 + 0.3 * frac(seed, 3);
    let step = 1.5 + 1.5 * frac(seed, 4);
    let sigma = 10.0 + 15.0 * f32::from(u16::try_from(pick(seed, 5, 1000)).unwrap_or(0)) / 1000.0;
    let curvature = 0.6 + 0.7 * frac(seed, 6);
    let (side, fside) = if pick(seed, 7, 2) == 0 {
        (Side::Left, csfleak_findings::Side::Left)
    } else {
        (Side::Right, csfleak_findings::Side::Right)
    };
    // A leak at a root of T9..L1, the stack from two levels above to S1.
    let li = 15 + pick(seed, 8, 5);
    let (lvl, top) = (LEVELS[li], LEVELS[li - 2]);
    let with_puncture = |leak: bool| {
        let mut m = Model::default().with_curvature(curvature);
        m.puncture = Some(PunctureSpec::new("L3/4", leak, leak_hu));
        m
    };
    let mut c = Case {
        name: String::new(),
        model: with_puncture(false),
        top,
        bottom: "S1",
        ith,
        pixel,
        step,
        sigma,
        truth: CtmClass::NoEpiduralContrast,
        site: None,
    };
    match kind {
        0 => {
            c.name = "normal".into();
        }
        1 => {
            c.name = format!("sleeve-leak-{lvl}-{}", fside_word(fside));
            c.model = with_puncture(false).with_ct_leak(CtLeakSpec::new(lvl, side, true, leak_hu));
            c.truth = CtmClass::ContinuousLeak;
            c.site = Some((lvl, fside));
        }
        2 => {
            c.name = format!("remote-{lvl}-{}", fside_word(fside));
            c.model = with_puncture(false).with_ct_leak(CtLeakSpec::new(lvl, side, false, leak_hu));
            c.truth = CtmClass::NonContinuous;
            c.site = Some((lvl, fside));
        }
        3 => {
            c.name = "puncture-only".into();
            c.model = with_puncture(true);
            c.top = "L1";
            c.truth = CtmClass::PunctureSiteOnly;
        }
        4 => {
            c.name = "mimics-sleeve-tarlov".into();
            c.model = with_puncture(false)
                .with_mimic(Mimic::DilatedRootSleeve {
                    level: "L2".into(),
                    side,
                    radius_mm: 2.5 + 1.0 * frac(seed, 9),
                })
                .with_mimic(Mimic::TarlovCyst {
                    level: "S1".into(),
                    side,
                    radius_mm: 5.0 + 3.0 * frac(seed, 10),
                });
            c.top = "L1";
        }
        _ => unreachable!("case kinds are 0..N_KINDS"),
    }
    c
}

const fn fside_word(s: csfleak_findings::Side) -> &'static str {
    match s {
        csfleak_findings::Side::Left => "L",
        csfleak_findings::Side::Right => "R",
        _ => "M",
    }
}

struct Row {
    name: String,
    ith: f64,
    truth: CtmClass,
    found: CtmClass,
    ith_err_pct: f64,
    site: String,
    level_err: Option<u8>,
    side_ok: Option<bool>,
    secs: f64,
}

fn load_ct(dir: &std::path::Path) -> Volume {
    let report = scan(dir).unwrap();
    // The CT series (a whole work-up holds MR and NM series too).
    let s = report
        .series()
        .find(|s| s.meta.modality == "CT")
        .unwrap_or_else(|| report.series().next().unwrap());
    match load_series(s).unwrap().data {
        SeriesData::Volume(v) => v,
        SeriesData::Planar(_) => panic!("planar CT series"),
    }
}

/// `CTM_EVAL_RAW=<dir>`: each case's CT as read back from DICOM, written as a raw dump
/// (`ct.txt`, `ct.f32`, `ctx.txt` with the documented puncture) for
/// `cargo run --release -p csfleak-spine --example ctm_dump -- <dir>/<case>-<seed>`.
fn write_raw(dir: &std::path::Path, v: &Volume) {
    std::fs::create_dir_all(dir).unwrap();
    let g = v.geometry();
    let head: Vec<String> = g
        .dims
        .iter()
        .map(ToString::to_string)
        .chain(
            g.world_from_voxel
                .to_cols_array()
                .iter()
                .map(ToString::to_string),
        )
        .collect();
    std::fs::write(dir.join("ct.txt"), head.join(" ")).unwrap();
    let bytes: Vec<u8> = v.data().iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("ct.f32"), bytes).unwrap();
    std::fs::write(dir.join("ctx.txt"), "L3/4\n").unwrap();
}

fn run_case(c: &Case, seed: u64) -> Row {
    let model = SpineModel::new(c.model.clone()).unwrap();
    let a = &model.levels()[model.level_index(c.top).unwrap()];
    let b = &model.levels()[model.level_index(c.bottom).unwrap()];
    let n = csfleak_volume::index_of((150.0 / c.pixel).ceil()).unwrap_or(160);
    let g = axial_grid(
        &model,
        (b.body_bottom_z_mm - 5.0, a.body_top_z_mm),
        [n, n],
        c.pixel,
        c.step,
        false,
    )
    .unwrap();
    let v = render_ct(&model, c.ith, &g, 2, c.sigma, seed, "ctm-eval").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = ScenarioContext::new(seed, Size::Small, dir.path());
    let spec = SeriesSpec::ct(1, "eval/ctm", "CTM spine", CtParams::default())
        .with_contrast_agent("Iohexol intrathecal");
    ctx.write_volume(&spec, &v, "ct_myelography", serde_json::Value::Null)
        .unwrap();
    let ct = load_ct(dir.path());
    if let Ok(raw) = std::env::var("CTM_EVAL_RAW") {
        write_raw(
            &std::path::Path::new(&raw).join(format!("{}-{seed}", c.name)),
            &ct,
        );
    }
    let mut opts = CtmOptions::default();
    opts.puncture_levels = vec!["L3/4".parse().unwrap()];
    let t0 = Instant::now();
    let an = analyze_ctm(&ct, &opts).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let remote: Vec<_> = an
        .sites
        .iter()
        .filter(|s| s.at_puncture_site != Some(true))
        .collect();
    let (mut level_err, mut side_ok) = (None, None);
    if let (Some((lvl, side)), Some(s)) = (c.site, remote.first()) {
        let truth: csfleak_findings::Level = lvl.parse().unwrap();
        level_err = s.level.map(|l| l.distance(truth));
        side_ok = Some(s.side == side);
    }
    Row {
        name: c.name.clone(),
        ith: c.ith,
        truth: c.truth,
        found: an.class,
        ith_err_pct: an
            .intrathecal_median_hu
            .map_or(f64::NAN, |h| 100.0 * (h - c.ith) / c.ith),
        site: an
            .sites
            .iter()
            .map(|s| {
                format!(
                    "{}:{}:{:?}",
                    s.level.map_or_else(|| "?".to_owned(), |l| l.to_string()),
                    fside_word(s.side),
                    s.connection
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
        level_err,
        side_ok,
        secs,
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs the cases and prints the table; returns the rows.
fn evaluate(cases: &[(usize, u64, Option<f64>)]) -> Vec<Row> {
    println!(
        "{:<24} {:>5} {:<20} {:<20} {:>6} {:>4} {:>5} {:>6}  sites",
        "case", "HU", "truth", "found", "ith%", "lvl", "side", "s"
    );
    let mut rows = Vec::new();
    for &(kind, seed, ith) in cases {
        let c = case(kind, seed, ith);
        let r = run_case(&c, seed);
        println!(
            "{:<24} {:>5.0} {:<20} {:<20} {:>6.1} {:>4} {:>5} {:>6.2}  {}",
            r.name,
            r.ith,
            r.truth.as_str(),
            r.found.as_str(),
            r.ith_err_pct,
            r.level_err
                .map_or_else(|| "-".to_owned(), |e| e.to_string()),
            r.side_ok.map_or("-", |b| if b { "ok" } else { "WRONG" }),
            r.secs,
            r.site
        );
        rows.push(r);
    }
    let ok = rows.iter().filter(|r| r.truth == r.found).count();
    let lvl: Vec<u8> = rows.iter().filter_map(|r| r.level_err).collect();
    println!(
        "classified right {ok}/{} ({:.0} %); site level within 1: {}/{}; side right: {}/{}",
        rows.len(),
        100.0 * ok as f64 / rows.len().max(1) as f64,
        lvl.iter().filter(|&&e| e <= 1).count(),
        lvl.len(),
        rows.iter().filter(|r| r.side_ok == Some(true)).count(),
        rows.iter().filter(|r| r.side_ok.is_some()).count(),
    );
    println!("target (issue 5): every study classified right at 250..900 HU");
    rows
}

/// The small set run in CI: normal, root-sleeve leak, remote contrast and puncture-only at
/// low contrast (300 HU), through DICOM.
#[test]
fn ctm_small_set() {
    let seed = env_u64("CTM_EVAL_SEED", 9501);
    let cases: Vec<(usize, u64, Option<f64>)> =
        (0..4).map(|k| (k, seed + k as u64, Some(300.0))).collect();
    let rows = evaluate(&cases);
    for r in &rows {
        assert_eq!(r.found, r.truth, "{} at {:.0} HU", r.name, r.ith);
        assert!(r.ith_err_pct.abs() < 10.0, "intrathecal HU of {}", r.name);
        if let Some(e) = r.level_err {
            assert!(e <= 1, "site level of {} off by {e}", r.name);
        }
        assert_ne!(r.side_ok, Some(false), "site side of {}", r.name);
    }
}

/// The full evaluation: `CTM_EVAL_ROUNDS` rounds of every case kind at 250..900 HU.
#[test]
#[ignore = "evaluation: run with --release via scripts/eval-spine.sh (minutes in debug builds)"]
fn ctm_evaluation() {
    let rounds = env_u64("CTM_EVAL_ROUNDS", 1);
    let seed0 = env_u64("CTM_EVAL_SEED", 9501);
    let mut cases = Vec::new();
    for r in 0..rounds {
        for kind in 0..N_KINDS {
            cases.push((kind, seed0 + 100 * r + kind as u64, None));
        }
    }
    let rows = evaluate(&cases);
    // Asserted: what is met today (see the printed table for the rest; at high contrast on
    // thin slices bone edges are still read as extradural contrast): the intrathecal density
    // is measured within 10 %, and no study is not assessable.
    for r in &rows {
        assert!(r.ith_err_pct.abs() < 10.0, "intrathecal HU of {}", r.name);
        assert_ne!(r.found, CtmClass::NotAssessable, "{}", r.name);
    }
}

/// Developer tool: `CTM_STUDY=<dir> [CTM_PUNCTURE=L3/4] cargo test --release -p csfleak-pipeline
/// --test ctm_eval dump_study -- --ignored --nocapture` analyses one DICOM study and prints
/// the class and every site; with `CTM_EVAL_RAW=<dir>` it also writes the CT as a raw dump
/// for the `ctm_dump` example.
#[test]
#[ignore = "developer tool: needs CTM_STUDY=<dir with a CT myelogram>"]
fn dump_study() {
    let Ok(dir) = std::env::var("CTM_STUDY") else {
        return;
    };
    let ct = load_ct(std::path::Path::new(&dir));
    if let Ok(raw) = std::env::var("CTM_EVAL_RAW") {
        write_raw(std::path::Path::new(&raw), &ct);
    }
    let mut opts = CtmOptions::default();
    if let Ok(p) = std::env::var("CTM_PUNCTURE") {
        opts.puncture_levels = vec![p.parse().unwrap()];
    }
    let t0 = Instant::now();
    let an = analyze_ctm(&ct, &opts).unwrap();
    println!(
        "{dir}: {} ith {:?} in {:.2} s, levels {:?}",
        an.class.as_str(),
        an.intrathecal_median_hu,
        t0.elapsed().as_secs_f64(),
        an.levels.status()
    );
    for s in &an.sites {
        println!(
            "  site {:?} {:?} {:?} vol {:.0} z {:.0}..{:.0} max {:.0} mean {:.0} gap {:.1} key {}",
            s.level.map(|l| l.to_string()),
            s.side,
            s.connection,
            s.volume_mm3,
            s.z_range_mm.0,
            s.z_range_mm.1,
            s.max_hu,
            s.mean_hu,
            s.sac_distance_mm,
            s.key_slice
        );
    }
}
