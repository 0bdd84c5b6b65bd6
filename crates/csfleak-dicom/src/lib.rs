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
//! # Series
//!
//! Files are grouped by Study and Series Instance UID. A series is split (as dcm2niix does)
//! where the image size, pixel spacing, echo, image type, modality or orientation differ;
//! repeated slice positions that Acquisition Number or the temporal position tell apart are
//! split too (when nothing tells them apart but every position repeats equally often, the n-th
//! image at each position is volume n of a 4D series), and each NM planar object is a part of its own (its timing and frame vectors are
//! per file). Parts have the id `<SeriesInstanceUID>#<n>`. Slices are sorted by
//! `dot(ImagePositionPatient, normal)`, never by Instance Number or Slice Location, and the
//! slice step comes from the sorted positions (a gantry tilt stays in the affine as a shear).
//! A stack whose gaps disagree with its median gap by more than 20 % (or 0.1 mm), such as a
//! missing slice or a second stack far away, is split into runs of consistent gaps, so that
//! every slice of a volume stays within that tolerance of its true position.
//!
//! # Quality flag codes
//!
//! | code | meaning |
//! |---|---|
//! | `duplicate_instance` | the same SOP Instance UID in two files; the second is ignored |
//! | `duplicate_position` | two images at one slice position; only the first is used |
//! | `series_split` | the Series Instance UID was split into parts (the message says why) |
//! | `mixed_orientation` | the series held several orientations (one part each) |
//! | `missing_slices` | a gap of a whole multiple of the usual step (the stack is split there) |
//! | `uneven_slice_spacing` | gaps differ from the usual step: split beyond 20 %, else the mean step |
//! | `gantry_tilt` | slice positions are sheared along the normal |
//! | `no_geometry`, `no_pixel_spacing`, `invalid_orientation`, `invalid_geometry` | loaded as planar frames, without a patient geometry |
//! | `nm_frame_vector` | an NM frame vector named by the Frame Increment Pointer does not match the frames |
//! | `colour_to_grey` | colour images converted to luminance |
//!
//! Skipped files ([`SkippedFile::reason`]): `not_dicom`, `dicomdir`, `no_image` (SR, RT
//! structure sets, presentation states...), `invalid_header`.
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
pub use load::{LoadOptions, LoadedSeries, SeriesData, SeriesLoader, SliceReader, load_series};
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
