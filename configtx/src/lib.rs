//! `weft-configtx`: what an organisation's operator uses to set up a network.
//!
//! - [`cryptogen`]: crypto material in Fabric's MSP layout (like Fabric's `cryptogen`).
//! - [`profile`] and [`genesis`]: channel genesis blocks from Fabric's `configtx.yaml`.
//! - [`protolator`]: protobuf ⇄ JSON in the shape of Fabric's `configtxlator`.

pub mod channel_update;
pub mod cli;
pub mod config_diff;
pub mod cryptogen;
pub mod genesis;
pub mod local;
pub mod profile;
pub mod protolator;
pub mod update_file;

/// Everything `weft-configtx` can fail with. Messages name the file, the field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigtxError {
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A configuration file is wrong.
    #[error("{file}: {field}: {reason}")]
    Config {
        /// The file.
        file: String,
        /// The field (dotted path).
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Bytes or JSON do not hold the expected message.
    #[error("{0}")]
    Decode(String),
    /// A size (`10 MB`, `512 KB`, a number of bytes) does not read.
    #[error("size {text:?}: {reason}")]
    Size {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `cert check` found certificates that are expired or due soon.
    #[error("{expired} certificate(s) expired and {soon} expire within {days} days: renew them")]
    CertificatesDue {
        /// How many have expired.
        expired: usize,
        /// How many expire within the window.
        soon: usize,
        /// The window.
        days: i64,
    },
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// A shared building block failed.
    #[error(transparent)]
    Common(#[from] weft_common::CommonError),
}

impl ConfigtxError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}
