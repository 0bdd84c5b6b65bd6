//! Study folders -> studies -> series -> [`Volume`](csfleak_volume::Volume) /
//! [`PlanarImage`](csfleak_volume::PlanarImage) with typed series metadata.
//!
//! This is the only crate of the workspace that reads DICOM tags. Measurement crates take the
//! [`LoadedSeries`] it returns and never see a file or a tag. It must not depend on any
//! measurement, findings or report crate.
//!
//! * [`scan`] / [`Scanner`]: a folder (recursive, any file names, any order) -> [`ScanReport`]
//!   with [`Study`] -> [`Series`] (files, slices sorted along the normal, [`SeriesMeta`],
//!   [`QualityFlag`]s, [`RoleMatch`]) and the [`SkippedFile`]s. Headers only, in parallel.
//! * [`load_series`] / [`SeriesLoader`]: one series -> [`LoadedSeries`] (a volume with its exact
//!   `world_from_voxel`, or planar frames), decoding files in parallel.
//! * [`RoleRules`]: series-role classification from a TOML table ([`DEFAULT_RULES_TOML`]).
//! * [`open_header`], [`open_full`], [`decode_pixels`]: robust file opening and pixel decoding.
//!
//! ```no_run
//! use csfleak_dicom::{SeriesData, load_series, scan};
//! let report = scan(std::path::Path::new("study/"))?;
//! for series in report.series() {
//!     println!("{} {} {:?}", series.label(), series.role.role, series.meta.dims);
//!     if let SeriesData::Volume(v) = load_series(series)?.data {
//!         println!("spacing {:?}", v.geometry().spacing_mm());
//!     }
//! }
//! # Ok::<(), csfleak_dicom::Error>(())
//! ```

mod error;
mod header;
mod load;
mod meta;
mod open;
mod pixels;
mod quality;
mod roles;
mod scan;
mod series;

pub use error::{Error, Result};
pub use load::{LoadOptions, LoadedSeries, SeriesData, SeriesLoader, load_series};
pub use meta::{
    ImagePlane, NmDetector, NmEnergyWindow, NmFrame, NmMeta, OBLIQUE_LIMIT_DEG, SeriesMeta,
};
pub use open::{DicomFile, open_full, open_header};
pub use pixels::{DecodedPixels, decode_file, decode_pixels};
pub use quality::{QualityFlag, Reporter, merge_flags};
pub use roles::{
    DEFAULT_RULES_TOML, Features, Hints, Role, RoleMatch, RoleRules, Rule, RulesError, UnknownRole,
    any_keyword,
};
pub use scan::{ScanOptions, ScanReport, Scanner, SkippedFile, scan};
pub use series::{Instance, Series, SeriesLayout, SliceRef, Study};
