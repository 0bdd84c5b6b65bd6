//! Evaluation of RI cisternography quantification on phantom studies written as DICOM, read
//! back through csfleak-dicom and the pipeline adapter.
//!
//! `cargo test --release -p csfleak-pipeline --test cisterno_eval -- --nocapture` prints one
//! row per study and a summary against the targets of issue 6. Seeds come from
//! `CISTERNO_EVAL_SEED` (default 7001, not used while developing) and the number of rounds
//! over the case list from `CISTERNO_EVAL_ROUNDS` (default 1). With `CISTERNO_EVAL_STRICT=1`
//! the targets are asserted.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "the evaluation prints its table; helper failures are test failures"
)]

use std::path::Path;

use csfleak_cisterno::{CisternoOptions as Opts, Outcome};
use csfleak_dicom::{load_series, scan};
use csfleak_findings::NmView;
use csfleak_phantom::cisterno::{
    Accumulation, AccumulationPattern as P, AcquisitionMode, CisternoOptions, Side, write_study,
};
use csfleak_phantom::{ScenarioContext, Size};
use csfleak_pipeline::cisterno_input::cisterno_input;
use serde_json::Value;

const LEVELS: [&str; 25] = [
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
    "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1",
];

fn level_index(s: &str) -> Option<usize> {
    LEVELS.iter().position(|l| *l == s)
}

/// A case built from the seed: kind and, for leaks, level and side drawn from the seed.
fn case(kind: usize, seed: u64) -> (String, CisternoOptions) {
    let mut o = CisternoOptions::default();
    let pick = |n: usize, salt: u64| {
        usize::try_from(
            (seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(salt))
                >> 33,
        )
        .unwrap_or(0)
            % n
    };
    let side = if pick(2, 1) == 0 {
        Side::Left
    } else {
        Side::Right
    };
    match kind {
        0 => ("normal".to_owned(), o),
        1 => {
            o.mode = AcquisitionMode::Spot;
            ("normal-spot".to_owned(), o)
        }
        2 => {
            o.target_retention_24h_pct = Some(27.0);
            ("retention-27".to_owned(), o)
        }
        3 => {
            let t = 15.0 + 25.0 * pick(100, 3) as f64 / 100.0;
            o.target_retention_24h_pct = Some(t);
            o.convexity_absent_24h = true;
            o.early_bladder = true;
            (format!("low-retention-{t:.0}"), o)
        }
        4 => {
            let l = LEVELS[3 + pick(19, 5)];
            o.accumulations = vec![Accumulation::new(P::UnilateralLocalized, l, l, side)];
            o.convexity_absent_24h = true;
            (format!("unilateral-{l}"), o)
        }
        5 => {
            let a = 6 + pick(12, 7);
            o.accumulations = vec![Accumulation::new(
                P::Asymmetric,
                LEVELS[a],
                LEVELS[a + 2],
                side,
            )];
            (format!("asymmetric-{}", LEVELS[a]), o)
        }
        6 => {
            let a = 4 + pick(5, 9);
            o.accumulations = vec![Accumulation::new(
                P::CervicothoracicSymmetric,
                LEVELS[a],
                LEVELS[a + 3],
                Side::Bilateral,
            )];
            (format!("cervicothoracic-{}", LEVELS[a]), o)
        }
        7 => {
            let a = 19 + pick(2, 11);
            o.accumulations = vec![Accumulation::new(
                P::LumbarSymmetric,
                LEVELS[a],
                LEVELS[a + 3],
                Side::Bilateral,
            )];
            o.early_bladder = true;
            (format!("christmas-tree-{}", LEVELS[a]), o)
        }
        _ => {
            o.early_bladder = true;
            ("early-bladder".to_owned(), o)
        }
    }
}

const N_KINDS: usize = 9;

struct Row {
    name: String,
    raw_err: Option<f64>,
    dc_err: Option<f64>,
    gm_err: Option<f64>,
    ant_err: Option<f64>,
    bladder_ok: bool,
    convexity_ok: bool,
    acc_expected: usize,
    acc_ok: usize,
    false_acc: usize,
    analyze_s: f64,
    detail: String,
}

fn run_case(dir: &Path, name: String, o: &CisternoOptions, seed: u64) -> Row {
    let mut ctx = ScenarioContext::new(seed, Size::Full, dir.join("DICOM"));
    std::fs::create_dir_all(&ctx.dicom_dir).unwrap();
    write_study(&mut ctx, o).unwrap();
    let truth: Value = ctx.section("cisternography").unwrap().clone();
    let report = scan(dir).unwrap();
    let loaded: Vec<_> = report.series().map(|s| load_series(s).unwrap()).collect();
    let refs: Vec<_> = loaded.iter().collect();
    let input = cisterno_input(&refs).unwrap();
    let t0 = std::time::Instant::now();
    let a = csfleak_cisterno::analyze(&input, &Opts::default()).unwrap();
    let analyze_s = t0.elapsed().as_secs_f64();

    if std::env::var("CISTERNO_EVAL_VERBOSE").is_ok() {
        println!("  notes: {:?} shifts {:?}", a.notes, a.shifts);
        println!(
            "  counts: {:?}",
            a.counts
                .iter()
                .map(|c| (c.hours, c.view, c.csf.round(), c.bladder.map(f64::round)))
                .collect::<Vec<_>>()
        );
        let tt = truth["time_points"].as_array().unwrap();
        for c in &a.counts {
            let v = csfleak_cisterno::view_str(c.view);
            if let Some(t) = tt
                .iter()
                .find(|t| t["hours"].as_f64() == Some(c.hours) && t["view"] == v)
            {
                let d = input.frames[0].frame_duration_s.unwrap_or(1.0);
                println!(
                    "  {:>5} {:<15} csf/truth {:.4} bladder {:?} truth {}",
                    c.hours,
                    v,
                    c.csf * d / t["csf_counts"].as_f64().unwrap(),
                    c.bladder.map(|b| (b * d).round()),
                    t["bladder_counts"]
                );
            }
        }
        if let Ok(out) = std::env::var("CISTERNO_EVAL_PNG") {
            let out = std::path::PathBuf::from(out);
            std::fs::create_dir_all(&out).unwrap();
            for ov in &a.overlays {
                let mut ov = ov.clone();
                ov.window = (ov.window.0, ov.window.1 * 0.3);
                csfleak_report::png::write_overlay(
                    &out,
                    &ov,
                    &csfleak_report::png::PngOptions::default(),
                )
                .unwrap();
            }
        }
        println!(
            "  frame sums: {:?}",
            input
                .frames
                .iter()
                .map(|f| (f.hours, f.view, f.pixels.sum(), f.frame_duration_s))
                .collect::<Vec<_>>()
        );
    }
    let t_ret = &truth["retention_24h"];
    let (mut raw_err, mut dc_err, mut gm_err, mut ant_err) = (None, None, None, None);
    if let Outcome::Measured(r) = &a.retention {
        let f = |v: NmView| r.view(v);
        if let (Some(p), Some(t)) = (f(NmView::Posterior), t_ret["raw_pct"].as_f64()) {
            raw_err = Some(p.raw_pct - t);
            dc_err = Some(p.decay_corrected_pct - t_ret["decay_corrected_pct"].as_f64().unwrap());
        }
        if let (Some(p), Some(t)) = (
            f(NmView::GeometricMean),
            t_ret["geometric_mean_raw_pct"].as_f64(),
        ) {
            gm_err = Some(p.raw_pct - t);
        }
        if let (Some(p), Some(t)) = (f(NmView::Anterior), t_ret["anterior_raw_pct"].as_f64()) {
            ant_err = Some(p.raw_pct - t);
        }
    }
    let t_bladder = truth["early_bladder_h"].as_f64();
    let bladder_ok = match &a.bladder {
        Outcome::Measured(b) => match (b.first_visible_h, t_bladder) {
            (None, None) => true,
            (Some(x), Some(y)) => (x - y).abs() < 0.01,
            _ => false,
        },
        // A bladder out of the field is right when the truth saw none either (spot views).
        Outcome::NotAssessable { .. } => o.mode == AcquisitionMode::Spot,
    };
    let t_conv = truth["convexity_activity_24h"].as_bool();
    let measured_conv = a.convexity.value().map(|c| c.present);
    let convexity_ok = measured_conv == t_conv;
    let found = a.accumulations.value().cloned().unwrap_or_default();
    let expected = truth["accumulations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut acc_ok = 0;
    let mut used = vec![false; found.len()];
    for e in &expected {
        let pattern = e["pattern"].as_str().unwrap();
        let level = level_index(e["level"].as_str().unwrap()).unwrap();
        let side = e["side"].as_str().unwrap();
        if let Some(i) = found.iter().enumerate().position(|(i, f)| {
            !used[i]
                && f.pattern.as_str() == pattern
                && f.side.as_str() == side
                && level_index(&f.level.to_string()).is_some_and(|l| l.abs_diff(level) <= 2)
        }) {
            used[i] = true;
            acc_ok += 1;
        }
    }
    let false_acc = used.iter().filter(|u| !**u).count();
    let detail = format!(
        "bladder {:?}/{:?} conv {:?}({:.2})/{:?} acc [{}] truth [{}]",
        a.bladder.value().and_then(|b| b.first_visible_h),
        t_bladder,
        measured_conv,
        a.convexity.value().map_or(f64::NAN, |c| c.fraction),
        t_conv,
        found
            .iter()
            .map(|f| format!(
                "{} {} {} ai={:.2} @{}h",
                f.pattern.as_str(),
                f.level,
                f.side.as_str(),
                f.asymmetry_index,
                f.hours
            ))
            .collect::<Vec<_>>()
            .join("; "),
        expected
            .iter()
            .map(|e| format!("{} {} {}", e["pattern"], e["level"], e["side"]))
            .collect::<Vec<_>>()
            .join("; "),
    );
    Row {
        name,
        raw_err,
        dc_err,
        gm_err,
        ant_err,
        bladder_ok,
        convexity_ok,
        acc_expected: expected.len(),
        acc_ok,
        false_acc,
        analyze_s,
        detail,
    }
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn cisterno_eval() {
    let seed0 = env_u64("CISTERNO_EVAL_SEED", 7001);
    let rounds = env_u64("CISTERNO_EVAL_ROUNDS", 1);
    let only: Option<usize> = std::env::var("CISTERNO_EVAL_KIND")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut rows = Vec::new();
    for round in 0..rounds {
        for kind in 0..N_KINDS {
            if only.is_some_and(|k| k != kind) {
                continue;
            }
            let seed = seed0 + round * 100 + kind as u64;
            let (name, o) = case(kind, seed);
            let dir = tempfile::tempdir().unwrap();
            let row = run_case(dir.path(), format!("{name} s{seed}"), &o, seed);
            let f = |x: Option<f64>| x.map_or("   n/a".to_owned(), |v| format!("{v:+6.2}"));
            println!(
                "{:<28} raw {} dc {} gm {} ant {} bladder {} conv {} acc {}/{} false {} | {}",
                row.name,
                f(row.raw_err),
                f(row.dc_err),
                f(row.gm_err),
                f(row.ant_err),
                if row.bladder_ok { "ok " } else { "BAD" },
                if row.convexity_ok { "ok " } else { "BAD" },
                row.acc_ok,
                row.acc_expected,
                row.false_acc,
                row.detail
            );
            rows.push(row);
        }
    }
    let n = rows.len();
    let max_abs = |f: fn(&Row) -> Option<f64>| {
        rows.iter()
            .filter_map(f)
            .map(f64::abs)
            .fold(0.0_f64, f64::max)
    };
    let within =
        |f: fn(&Row) -> Option<f64>| rows.iter().filter_map(f).filter(|e| e.abs() <= 1.0).count();
    let measured = rows.iter().filter(|r| r.raw_err.is_some()).count();
    let bladder = rows.iter().filter(|r| r.bladder_ok).count();
    let conv = rows.iter().filter(|r| r.convexity_ok).count();
    let acc_expected: usize = rows.iter().map(|r| r.acc_expected).sum();
    let acc_ok: usize = rows.iter().map(|r| r.acc_ok).sum();
    let false_normal: usize = rows
        .iter()
        .filter(|r| r.acc_expected == 0)
        .map(|r| r.false_acc)
        .sum();
    let false_all: usize = rows.iter().map(|r| r.false_acc).sum();
    println!("---");
    println!(
        "retention (posterior, graded): {}/{measured} raw within 1 pp (max |err| {:.2} pp), {}/{measured} decay-corrected within 1 pp (max {:.2} pp)",
        within(|r| r.raw_err),
        max_abs(|r| r.raw_err),
        within(|r| r.dc_err),
        max_abs(|r| r.dc_err)
    );
    println!(
        "retention other views: geometric mean max |err| {:.2} pp, anterior max |err| {:.2} pp",
        max_abs(|r| r.gm_err),
        max_abs(|r| r.ant_err)
    );
    let mut times: Vec<f64> = rows.iter().map(|r| r.analyze_s).collect();
    times.sort_by(f64::total_cmp);
    println!(
        "analysis time (csfleak_cisterno::analyze, build profile of this run): median {:.3} s, max {:.3} s",
        times.get(times.len() / 2).copied().unwrap_or(0.0),
        times.last().copied().unwrap_or(0.0)
    );
    println!("early bladder time exact: {bladder}/{n}");
    println!("convexity at 24 h correct: {conv}/{n}");
    println!(
        "accumulations pattern+level(±2)+side correct: {acc_ok}/{acc_expected}; false accumulations on studies without a leak: {false_normal}; extra findings overall: {false_all}"
    );
    // What is met (session 3, new seeds 9301.. and 9701.., 72 studies): every accumulation
    // found with pattern, level (±2) and side; none on studies without a leak; posterior
    // retention within 1 pp raw (max 0.82) and 1.04 pp decay-corrected (71/72 within 1 pp);
    // bladder time and convexity right in every study.
    assert!(
        acc_ok * 10 >= acc_expected * 9,
        "pattern/level/side >= 90 %"
    );
    assert_eq!(false_normal, 0, "no false accumulation on normal studies");
    assert!(max_abs(|r| r.raw_err) <= 1.0, "raw retention within 1 pp");
    assert!(
        max_abs(|r| r.dc_err) <= 1.3,
        "decay-corrected retention within 1.3 pp"
    );
    assert!(bladder * 10 >= n * 9, "bladder time exact in >= 90 %");
    assert!(conv * 10 >= n * 9, "convexity right in >= 90 %");
    // The full targets (retention within 1 pp everywhere, bladder exact everywhere).
    if std::env::var("CISTERNO_EVAL_STRICT").is_ok_and(|v| v == "1") {
        assert_eq!(within(|r| r.raw_err), measured, "raw retention within 1 pp");
        assert_eq!(
            within(|r| r.dc_err),
            measured,
            "decay-corrected retention within 1 pp"
        );
        assert_eq!(bladder, n, "bladder time exact");
        assert!(
            acc_ok * 10 >= acc_expected * 9,
            "pattern/level/side >= 90 %"
        );
        assert_eq!(false_normal, 0, "no false accumulation on normal studies");
    }
}

/// Where a retention error comes from: the posterior retention measured on the phantom's
/// noiseless images with compartments left out (every image; CSF only; everything but the
/// bladder) and on its Poisson counts, for the cases of `CISTERNO_EVAL_SEED` /
/// `CISTERNO_EVAL_ROUNDS`. A developer aid: it prints and checks only that the noiseless
/// CSF-only retention is within 1 pp.
#[test]
#[ignore = "developer aid (prints an ablation table); run with --include-ignored"]
fn retention_ablation() {
    use csfleak_cisterno::{CisternoInput, Frame, ViewKind};
    use ndarray::Array2;
    let seed0 = env_u64("CISTERNO_EVAL_SEED", 7001);
    let rounds = env_u64("CISTERNO_EVAL_ROUNDS", 1);
    let mut worst_csf_only = 0.0_f64;
    for round in 0..rounds {
        for kind in 0..N_KINDS {
            let seed = seed0 + round * 100 + kind as u64;
            let (name, o) = case(kind, seed);
            let only = std::env::var("CISTERNO_EVAL_KIND").ok();
            if o.mode == AcquisitionMode::Spot
                || only.is_some_and(|k| k.parse::<usize>().ok() != Some(kind))
            {
                continue;
            }
            let study = csfleak_phantom::cisterno::simulate(&o, seed).unwrap();
            let truth = study.truth.retention_24h.as_ref().unwrap().raw_pct;
            let spacing = study.grid.pixel_mm;
            let run =
                |pick: &dyn Fn(&csfleak_phantom::cisterno::TimePoint, usize) -> Array2<f64>| {
                    let mut frames = Vec::new();
                    for tp in &study.time_points {
                        for (vi, view) in [(0, ViewKind::Anterior), (1, ViewKind::Posterior)] {
                            #[allow(clippy::cast_possible_truncation, reason = "counts as f32")]
                            let px = pick(tp, vi).mapv(|v| v as f32);
                            frames.push(
                                Frame::new(tp.hours, view, px)
                                    .with_pixel_spacing([spacing, spacing])
                                    .with_duration_s(study.frame_duration_s),
                            );
                        }
                    }
                    let a =
                        csfleak_cisterno::analyze(&CisternoInput::new(frames), &Opts::default())
                            .unwrap();
                    a.retention
                        .value()
                        .and_then(|r| r.view(NmView::Posterior))
                        .map_or(f64::NAN, |v| v.raw_pct - truth)
                };
            let all = run(&|tp, vi| tp.noiseless[vi].clone());
            let csf = run(&|tp, vi| tp.csf_noiseless[vi].clone());
            let no_bladder = run(&|tp, vi| &tp.noiseless[vi] - &tp.bladder_noiseless[vi]);
            let counts = run(&|tp, vi| tp.counts[vi].mapv(f64::from));
            let noisy_csf = run(&|tp, vi| {
                let mut rng = csfleak_phantom::study::rng_for(seed, &format!("{}{vi}", tp.hours));
                tp.csf_noiseless[vi].mapv(|l| csfleak_phantom::noise::poisson_sample(&mut rng, l))
            });
            worst_csf_only = worst_csf_only.max(csf.abs());
            println!(
                "{name:<28} s{seed} truth {truth:6.2} | noiseless all {all:+6.2} csf only {csf:+6.2} \
                 no bladder {no_bladder:+6.2} | counts {counts:+6.2} csf only {noisy_csf:+6.2}"
            );
        }
    }
    assert!(
        worst_csf_only <= 1.0,
        "noiseless CSF-only retention within 1 pp"
    );
}
