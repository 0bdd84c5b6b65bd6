//! The named RI cisternography scenarios.

use super::{
    Accumulation, AccumulationPattern as P, AcquisitionMode, CisternoOptions, Side, nm, simulate,
};
use crate::error::{Error, Result};
use crate::scenario::{Scenario, ScenarioContext, Size};
use crate::study::Vendor;
use crate::writer::Compression;

/// Simulate `options`, write every time point as an NM series and record the
/// `cisternography` truth section.
pub fn write_study(ctx: &mut ScenarioContext, options: &CisternoOptions) -> Result<()> {
    let study = simulate(options, ctx.seed)?;
    let compression = match ctx.size {
        Size::Small => Compression::Deflate,
        _ => Compression::None,
    };
    let vendor = Vendor::pick(ctx.seed, "cisterno/vendor");
    for i in 0..study.time_points.len() {
        let n = ctx.next_series_number();
        let dir = ctx.dicom_dir.clone();
        let (_, truth) = nm::write_time_point(&dir, &ctx.study, &study, i, n, vendor, compression)?;
        ctx.add_series(truth);
    }
    for i in 0..study.laterals.len() {
        let n = ctx.next_series_number();
        let dir = ctx.dicom_dir.clone();
        let (_, truth) = nm::write_lateral(&dir, &ctx.study, &study, i, n, vendor, compression)?;
        ctx.add_series(truth);
    }
    let value = serde_json::to_value(&study.truth).map_err(|source| Error::Json {
        what: "cisternography truth",
        source,
    })?;
    ctx.set_section("cisternography", value);
    Ok(())
}

fn normal() -> CisternoOptions {
    CisternoOptions::default()
}

fn build_normal(ctx: &mut ScenarioContext) -> Result<()> {
    write_study(ctx, &normal())
}

fn build_normal_spot(ctx: &mut ScenarioContext) -> Result<()> {
    let mut o = normal();
    o.mode = AcquisitionMode::Spot;
    write_study(ctx, &o)
}

fn build_unilateral(ctx: &mut ScenarioContext) -> Result<()> {
    let mut o = normal();
    o.accumulations = vec![Accumulation::new(
        P::UnilateralLocalized,
        "T12",
        "T12",
        Side::Left,
    )];
    o.convexity_absent_24h = true;
    o.target_retention_24h_pct = Some(22.0);
    write_study(ctx, &o)
}

fn build_asymmetric(ctx: &mut ScenarioContext) -> Result<()> {
    let mut o = normal();
    o.accumulations = vec![Accumulation::new(P::Asymmetric, "T4", "T6", Side::Right)];
    write_study(ctx, &o)
}

fn build_cervicothoracic(ctx: &mut ScenarioContext) -> Result<()> {
    let mut o = normal();
    o.accumulations = vec![Accumulation::new(
        P::CervicothoracicSymmetric,
        "C6",
        "T1",
        Side::Bilateral,
    )];
    write_study(ctx, &o)
}

fn build_christmas_tree(ctx: &mut ScenarioContext) -> Result<()> {
    let mut o = normal();
    o.accumulations = vec![Accumulation::new(
        P::LumbarSymmetric,
        "L2",
        "L5",
        Side::Bilateral,
    )];
    o.early_bladder = true;
    write_study(ctx, &o)
}

fn build_early_bladder(ctx: &mut ScenarioContext) -> Result<()> {
    // The low end of the Japanese dose range.
    let mut o = normal().with_administered_mbq(18.5);
    o.early_bladder = true;
    write_study(ctx, &o)
}

fn build_low_retention(ctx: &mut ScenarioContext) -> Result<()> {
    let mut o = normal();
    o.convexity_absent_24h = true;
    o.early_bladder = true;
    o.target_retention_24h_pct = Some(18.0);
    write_study(ctx, &o)
}

fn build_retention_27(ctx: &mut ScenarioContext) -> Result<()> {
    let mut o = normal();
    o.target_retention_24h_pct = Some(27.0);
    write_study(ctx, &o)
}

/// The RI cisternography scenarios.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "ri-normal",
            description: "RI cisternography, whole body 0/1/3/6/24 h: normal ascent, convexity at 24 h, no leak",
            build: build_normal,
        },
        Scenario {
            name: "ri-normal-spot",
            description: "RI cisternography, static 256x256 anterior/posterior views of head and neck, normal",
            build: build_normal_spot,
        },
        Scenario {
            name: "ri-leak-unilateral",
            description: "RI cisternography: unilateral localized accumulation at T12 left, no convexity activity at 24 h, retention 22 %",
            build: build_unilateral,
        },
        Scenario {
            name: "ri-leak-asymmetric",
            description: "RI cisternography: asymmetric paraspinal accumulation T4-T6, right stronger",
            build: build_asymmetric,
        },
        Scenario {
            name: "ri-leak-cervicothoracic",
            description: "RI cisternography: symmetric cervicothoracic accumulation C6-T1",
            build: build_cervicothoracic,
        },
        Scenario {
            name: "ri-christmas-tree",
            description: "RI cisternography: symmetric lumbar accumulation L2-L5 (Christmas tree) with early bladder",
            build: build_christmas_tree,
        },
        Scenario {
            name: "ri-early-bladder",
            description: "RI cisternography, 18.5 MBq: early bladder activity, no visible leak",
            build: build_early_bladder,
        },
        Scenario {
            name: "ri-low-retention",
            description: "RI cisternography: 24-h retention 18 % raw, no convexity activity, early bladder",
            build: build_low_retention,
        },
        Scenario {
            name: "ri-retention-27",
            description: "RI cisternography: the seed case, 24-h retention 27 % raw (34.6 % decay-corrected), no leak image",
            build: build_retention_27,
        },
    ]
}
