//! The named brain MRI scenarios.

use super::{BrainOptions, BrainPhantom, GridPreset, Phase};
use crate::error::{Error, Result};
use crate::scenario::{Scenario, ScenarioContext, Size};
use crate::writer::{Compression, MrParams, SeriesSpec};

/// Render and write the sagittal 3D T1 (pre and post contrast) and the coronal fat-saturated
/// T2 of the orbits, and record the `brain` truth section.
pub fn write_study(ctx: &mut ScenarioContext, options: &BrainOptions) -> Result<()> {
    let mut o = options.clone();
    if ctx.size == Size::Small && o.grid == GridPreset::Full {
        o.grid = GridPreset::Small;
    }
    let compression = if ctx.size == Size::Small {
        Compression::Rle
    } else {
        Compression::None
    };
    let phantom = BrainPhantom::new(&o)?;
    let seed = ctx.seed;
    let extra = serde_json::json!({ "sag_mm": o.sag_mm, "grid": o.grid });

    let t1 = phantom.sagittal_t1(Phase::Pre, Some(seed))?;
    let n = ctx.next_series_number();
    let spec = SeriesSpec::mr(
        n,
        "brain/t1_sag_3d",
        "t1_mprage_sag_p2_iso",
        MrParams::t1_3d_gre(),
    )
    .with_body_part("HEAD")
    .with_compression(compression);
    ctx.write_volume(&spec, &t1, "brain_t1_sagittal", extra.clone())?;
    drop(t1);

    let t1c = phantom.sagittal_t1(Phase::PostContrast, Some(seed))?;
    let n = ctx.next_series_number();
    let spec = SeriesSpec::mr(
        n,
        "brain/t1_sag_3d_gd",
        "t1_mprage_sag_p2_iso +C",
        MrParams::t1_3d_gre(),
    )
    .with_body_part("HEAD")
    .with_contrast_agent("Gadobutrol")
    .with_compression(compression);
    ctx.write_volume(&spec, &t1c, "brain_t1_contrast", extra.clone())?;
    drop(t1c);

    let orbits = phantom.orbits_t2fs(Some(seed))?;
    let n = ctx.next_series_number();
    let spec = SeriesSpec::mr(
        n,
        "brain/orbit_t2fs_cor",
        "t2_tse_fs_cor_orbits",
        MrParams::t2_fs_tse(),
    )
    .with_body_part("HEAD")
    .with_slice_thickness(3.0)
    .with_compression(compression);
    ctx.write_volume(&spec, &orbits, "orbit_t2fs_coronal", extra)?;

    let value = serde_json::to_value(&phantom.truth).map_err(|source| Error::Json {
        what: "brain truth",
        source,
    })?;
    ctx.set_section("brain", value);
    Ok(())
}

fn build_normal(ctx: &mut ScenarioContext) -> Result<()> {
    write_study(ctx, &BrainOptions::default())
}

fn build_sag3(ctx: &mut ScenarioContext) -> Result<()> {
    write_study(ctx, &BrainOptions::default().with_sag(3.0))
}

fn build_sag6(ctx: &mut ScenarioContext) -> Result<()> {
    let o = BrainOptions::default()
        .with_sag(6.0)
        .with_pituitary_height(8.5)
        .with_venous_distension(true)
        .with_pachymeningeal_enhancement(true)
        .with_onsd(4.0, 4.1);
    write_study(ctx, &o)
}

fn build_sag9(ctx: &mut ScenarioContext) -> Result<()> {
    let o = BrainOptions::default()
        .with_sag(9.0)
        .with_pituitary_height(10.5)
        .with_venous_distension(true)
        .with_pachymeningeal_enhancement(true)
        .with_subdural_fluid(4.0)
        .with_onsd(3.8, 3.9);
    write_study(ctx, &o)
}

fn build_pachymeningeal(ctx: &mut ScenarioContext) -> Result<()> {
    write_study(
        ctx,
        &BrainOptions::default().with_pachymeningeal_enhancement(true),
    )
}

fn build_subdural(ctx: &mut ScenarioContext) -> Result<()> {
    write_study(ctx, &BrainOptions::default().with_subdural_fluid(5.0))
}

fn build_oblique(ctx: &mut ScenarioContext) -> Result<()> {
    let o = BrainOptions::default()
        .with_sag(4.0)
        .with_head_rotation([6.0, -4.0, 5.0])
        .with_oblique(8.0)
        .with_slice_factor(1.2);
    write_study(ctx, &o)
}

/// The brain MRI scenarios.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "brain-normal",
            description: "Brain MRI: normal midsagittal anatomy, sagittal 3D T1 pre/post contrast, coronal T2 FS orbits",
            build: build_normal,
        },
        Scenario {
            name: "brain-sag-3",
            description: "Brain MRI: mild sagging (brainstem and diencephalon 3 mm down)",
            build: build_sag3,
        },
        Scenario {
            name: "brain-sag-6",
            description: "Brain MRI: SIH with 6 mm sag, pituitary 8.5 mm, venous distension, pachymeningeal enhancement, ONSD 4.0/4.1 mm",
            build: build_sag6,
        },
        Scenario {
            name: "brain-sag-9",
            description: "Brain MRI: severe SIH with 9 mm sag, engorged pituitary, venous distension, pachymeningeal enhancement, 4 mm subdural fluid, ONSD 3.8/3.9 mm",
            build: build_sag9,
        },
        Scenario {
            name: "brain-pachymeningeal",
            description: "Brain MRI: pachymeningeal enhancement without sagging",
            build: build_pachymeningeal,
        },
        Scenario {
            name: "brain-subdural",
            description: "Brain MRI: bilateral 5 mm subdural fluid without sagging",
            build: build_subdural,
        },
        Scenario {
            name: "brain-oblique",
            description: "Brain MRI: 4 mm sag, head rotated in the coil, oblique anisotropic sagittal T1",
            build: build_oblique,
        },
    ]
}
