//! What a config would do, read without serving it: the library's own answers that `tls-policy check` reports.
//!
//! Public because the command is its own crate (`tls-policy-cli`): `check` must say exactly what
//! start-up decides (which backend, whether a key pair would be generated, where the legacy
//! system's files are, what a key is, what the CRLs say of a path link, whether stapling can be
//! served), so it asks the library rather than repeating its rules. An operator tool that wants
//! to describe a config the way `check` does can use the same functions. Nothing here is needed
//! to serve TLS.

pub use crate::channels::{choose_backend, refuse_stapling_without_backend};
pub use crate::load::anchors::{link_revocation, LinkRevocation};
pub use crate::load::certs::{summarize_certificate, CertSummary};
pub use crate::load::key::{load_private_key, KeyFormat, LoadedKey};
pub use crate::load::legacy::{legacy_cert_path, legacy_hostnames, legacy_key_path};
pub use crate::ocsp::serve::describe as describe_stapling;

use crate::config::Settings;

/// Whether loading would generate a key pair for `policy` (the legacy system's, or a policy's
/// with `allow_key_generation=true`) because none exists yet: what `TlsChannels::load` would
/// make before it reads the policy.
pub fn bound_policy_would_generate(settings: &Settings, policy: &str) -> bool {
    crate::load::bound_policy_would_generate(settings, policy)
}
