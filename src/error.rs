//! The one error type of tls-policy: every failure names what was wrong and where.

use std::fmt;
use std::path::PathBuf;

pub use tls_policy_backend::BackendError;

/// Where a configuration value came from: a line of a file, or the builder API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `file:line` of a properties file (lines count from 1).
    File {
        /// The config file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
    },
    /// Set through the builder API.
    Builder,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Builder => f.write_str("builder"),
        }
    }
}

/// Everything that can go wrong in tls-policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A config file could not be read at all.
    #[error("cannot read config file {}: {source}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key or value in the configuration is wrong: unknown key, duplicate, bad value.
    #[error("{source_location}: {key}: {message}")]
    Config {
        /// Where the offending setting was written.
        source_location: Source,
        /// The setting's full key, e.g. `dbms.ssl.policy.client.client_auth`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A policy's files or settings failed start-up validation (spec §2).
    #[error("policy '{policy}': {setting}{}: {message}", path_suffix(.path))]
    Policy {
        /// The policy name.
        policy: String,
        /// The setting suffix responsible, e.g. `private_key`, `trusted_dir`.
        setting: &'static str,
        /// The file or directory concerned, if any.
        path: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
    /// The chosen backend cannot honour the policy, or its TLS library rejected the material.
    #[error("policy '{policy}': {source}")]
    Backend {
        /// The policy name.
        policy: String,
        /// The backend's reason.
        source: BackendError,
    },
    /// A backend name that is not compiled in.
    #[error("unknown TLS backend '{name}': compiled in are {}", .compiled.join(", "))]
    UnknownBackend {
        /// The name asked for.
        name: String,
        /// The names compiled into this build.
        compiled: Vec<&'static str>,
    },
}

fn path_suffix(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!(" ({})", p.display()),
        None => String::new(),
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
