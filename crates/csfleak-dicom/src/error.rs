//! The error type of `csfleak-dicom`.
//!
//! Shared by the indexing and the pixel modules: add variants, do not rename them. Group them by
//! whose fault it is: invalid input, unsupported, limits, I/O.

use std::path::PathBuf;

/// Errors of `csfleak-dicom`. Messages name the file; they never contain patient identifiers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or parsed as DICOM.
    #[error("could not read DICOM file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An attribute needed for this operation is absent or unreadable.
    #[error("missing or unreadable attribute {keyword} in {}", path.display())]
    MissingAttribute {
        /// DICOM keyword, e.g. `Rows`.
        keyword: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// Values present but inconsistent or out of range.
    #[error("invalid {what} in {}: {detail}", path.display())]
    Invalid {
        /// What is invalid, e.g. `pixel data length`.
        what: &'static str,
        /// Details.
        detail: String,
        /// The file.
        path: PathBuf,
    },
    /// A valid file this build cannot handle (transfer syntax, photometric interpretation...).
    #[error("unsupported {what} in {}: {detail}", path.display())]
    Unsupported {
        /// What is unsupported, e.g. `transfer syntax`.
        what: &'static str,
        /// Details (UID, value).
        detail: String,
        /// The file.
        path: PathBuf,
    },
    /// A header asks for more memory than the file can hold or the limits allow.
    #[error("size limit exceeded in {}: {detail}", path.display())]
    LimitExceeded {
        /// Details.
        detail: String,
        /// The file.
        path: PathBuf,
    },
    /// Geometry or allocation error from `csfleak-volume`.
    #[error("series {series} in {}", path.display())]
    Volume {
        /// Series description for the message (number and relative path; no PHI).
        series: String,
        /// A file of the series.
        path: PathBuf,
        /// The geometry error.
        #[source]
        source: csfleak_volume::Error,
    },
    /// File system error.
    #[error("i/o error on {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
