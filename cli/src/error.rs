//! The CLI's error: a message for a person and the exit code that goes with it. Subcommands
//! build these; `main` prints the message and exits with the code.

use std::process::ExitCode;

/// Why a command failed, by what the user must do about it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags, a missing key or a bad configuration value: fix the command line or the
    /// environment (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The API refused the credential or the request for good (exit 3).
    #[error("{0}")]
    Fatal(String),
    /// Anything else: an outage, a local file or database problem (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) => 2,
            CliError::Fatal(_) => 3,
            CliError::Failed(_) => 1,
        })
    }
}
