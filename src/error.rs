//! The one error type of tls-policy: every failure names what was wrong and where.

use std::fmt;
use std::path::PathBuf;

pub use tls_policy_backend::BackendError;

/// Where a configuration value came from: a line of a file, or the builder API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
///
/// `Debug` prints the same text as `Display`, followed by any cause the text does not already
/// include, so `fn main() -> Result<(), Box<dyn std::error::Error>>` shows the
/// `file:line: setting: message` form rather than a struct dump.
#[derive(thiserror::Error)]
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

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_as_display(self, f)
    }
}

/// `Debug` for the public error types: the `Display` text, then each cause in the chain whose
/// text the message does not already contain, one per line under `Caused by:`.
pub(crate) fn debug_as_display(
    error: &(dyn std::error::Error + 'static),
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let text = error.to_string();
    f.write_str(&text)?;
    let mut heading = false;
    let mut cause = error.source();
    while let Some(source) = cause {
        let cause_text = source.to_string();
        if !text.contains(&cause_text) {
            if !heading {
                f.write_str("\n\nCaused by:")?;
                heading = true;
            }
            write!(f, "\n    {cause_text}")?;
        }
        cause = source.source();
    }
    Ok(())
}

fn path_suffix(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!(" ({})", p.display()),
        None => String::new(),
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Settings;

    #[test]
    fn debug_from_main_is_the_display_text() {
        let error = Settings::parse(
            "dbms.ssl.policy.p.client_auth=MAYBE\n",
            Path::new("/etc/neo4j.conf"),
            Path::new("/var/lib/neo4j"),
        )
        .unwrap_err();
        let display = error.to_string();
        assert!(display.starts_with("/etc/neo4j.conf:1: dbms.ssl.policy.p.client_auth"));
        // What `fn main() -> Result<(), Box<dyn Error>>` prints after "Error: ".
        let boxed: Box<dyn std::error::Error> = Box::new(error);
        assert_eq!(format!("{boxed:?}"), display);
    }

    #[test]
    fn debug_adds_causes_the_message_leaves_out() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        #[derive(Debug, thiserror::Error)]
        #[error("wrapper: {0}")]
        struct Wrapper(#[source] Outer);
        let error = Wrapper(Outer(std::io::Error::other("disk on fire")));
        let mut text = String::new();
        fmt::write(
            &mut text,
            format_args!(
                "{}",
                DebugChain(&error as &(dyn std::error::Error + 'static))
            ),
        )
        .unwrap();
        assert_eq!(text, "wrapper: outer\n\nCaused by:\n    disk on fire");
    }

    /// Formats with [`debug_as_display`].
    struct DebugChain<'a>(&'a (dyn std::error::Error + 'static));

    impl fmt::Display for DebugChain<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            debug_as_display(self.0, f)
        }
    }
}
