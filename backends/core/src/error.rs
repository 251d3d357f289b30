//! Errors a backend reports when it cannot compile a policy.

/// Why a backend refused a policy.
///
/// `Debug` prints the same text as `Display` (neither variant has a cause).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The policy asks for something this backend cannot honour.
    #[error("{setting}={value} cannot be honoured by the {backend} backend{}", alternative_hint(.alternative))]
    Unsupported {
        /// The policy setting, as its suffix (`client_auth`, `ciphers`, ...).
        setting: &'static str,
        /// The value asked for.
        value: String,
        /// The backend refusing it.
        backend: &'static str,
        /// The backends that can, by feature name, if any.
        alternative: &'static str,
    },
    /// The material was rejected by the TLS library (bad key, bad trust anchor, ...).
    #[error("{setting}: {message}")]
    Rejected {
        /// The policy setting the material came from.
        setting: &'static str,
        /// What the TLS library said.
        message: String,
    },
}

impl std::fmt::Debug for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn alternative_hint(alternative: &str) -> String {
    if alternative.is_empty() {
        String::new()
    } else {
        format!("; use {alternative}")
    }
}
