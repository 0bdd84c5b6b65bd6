//! The error type of the crate.

use std::path::PathBuf;

/// Errors of the phantom generator.
///
/// Grouped by whose fault they are: a bad parameter or scenario name (the caller), a folder
/// that cannot be written (the machine), a DICOM object that cannot be encoded (a bug here).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A phantom or series parameter out of range (negative thickness, empty grid, ...).
    #[error("invalid phantom parameter: {reason}")]
    InvalidParameter {
        /// What is wrong.
        reason: String,
    },
    /// A scenario name that is not in the registry.
    #[error("unknown scenario {name:?}; known scenarios: {}", known.join(", "))]
    UnknownScenario {
        /// The name asked for.
        name: String,
        /// The registered names.
        known: Vec<String>,
    },
    /// The output folder already holds files and overwriting was not allowed.
    #[error("output folder {} is not empty (pass --force to overwrite)", path.display())]
    OutputNotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// A grid that cannot be placed in the patient (from `csfleak-volume`).
    #[error("invalid phantom geometry")]
    Geometry {
        /// The cause.
        #[source]
        source: csfleak_volume::Error,
    },
    /// A folder or file that cannot be created or written.
    #[error("could not write {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file meta group of a DICOM file could not be built.
    #[error("could not build the file meta group for {}", path.display())]
    DicomMeta {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dicom_object::WithMetaError>,
    },
    /// A DICOM file could not be encoded or written.
    #[error("could not write DICOM file {}", path.display())]
    DicomWrite {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dicom_object::WriteError>,
    },
    /// A JSON document (truth, provenance) could not be serialised.
    #[error("could not serialise {what}")]
    Json {
        /// Which document.
        what: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl From<csfleak_volume::Error> for Error {
    fn from(source: csfleak_volume::Error) -> Self {
        Error::Geometry { source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for [`Error::InvalidParameter`].
pub(crate) fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        reason: reason.into(),
    }
}

/// An empty vector with room for `n` items, refusing absurd sizes.
pub(crate) fn alloc_rows<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| invalid(format!("cannot allocate {n} table rows")))?;
    Ok(v)
}
