//! One module per subcommand. Each exposes `XArgs` (clap) and `run(args) -> Result<ExitCode>`.

pub(crate) mod analyze;
pub(crate) mod batch;
pub(crate) mod convert;
pub(crate) mod grade;
pub(crate) mod inspect;
pub(crate) mod phantom;
pub(crate) mod schema;

use std::fmt;

/// A usage or configuration error (exit code 2), as opposed to a failed study (exit code 1).
///
/// Return it with `Err(UsageError::new("..."))?` or `anyhow::Error::new(UsageError::new(..))`.
#[derive(Debug)]
pub(crate) struct UsageError(String);

impl UsageError {
    #[allow(dead_code, reason = "used by subcommands as they land")]
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exit code for an error that reached `main`: 2 for usage/configuration, else 1.
pub(crate) fn exit_code_of(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.downcast_ref::<UsageError>().is_some()) {
        2
    } else {
        1
    }
}

/// Whether the error is a closed stdout (`csfleak inspect | head`), which counts as success.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
