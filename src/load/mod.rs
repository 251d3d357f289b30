//! Loading a policy's files and validating them (spec §2) into a backend-neutral `ServerPolicy`.
//!
//! [`load_policy`] applies the start-up rules in order and fails closed on the first broken one;
//! the submodules hold one loader each, public so that a `check` command can report on each file.
//!
//! ```no_run
//! # fn run(settings: &tls_policy::config::PolicySettings) -> tls_policy::Result<()> {
//! let loaded = tls_policy::load::load_policy(settings)?;
//! for warning in &loaded.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! # Ok(()) }
//! ```

pub mod certs;
pub mod crl;
pub mod dir;
pub mod key;
pub mod key_match;
pub mod permissions;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use tls_policy_backend::{ClientAuth, ServerPolicy};

use crate::config::PolicySettings;
use crate::error::{Error, Result};

pub use certs::{
    load_cert_chain, load_trusted_dir, read_cert_file, summarize_certificate, CertSummary,
};
pub use crl::{load_revoked_dir, read_crl_file};
pub use dir::{list_dir_files, DirFile};
pub use key::{load_private_key, KeyFormat, LoadedKey};
pub use key_match::{check_key_matches, compare_key_and_certificate, KeyMatch};
pub use permissions::check_key_permissions;

/// A policy that passed start-up validation, with the warnings it raised.
#[derive(Clone, Debug)]
pub struct LoadedPolicy {
    /// The material and settings a backend compiles.
    pub policy: ServerPolicy,
    /// Things that are allowed but worth an operator's attention (already logged), each naming
    /// the policy, the setting and the path.
    pub warnings: Vec<String>,
}

/// Loads and validates one policy's files, applying the spec §2 rules in order:
///
/// 1. `base_directory` exists and is a directory;
/// 2. the private key and the certificate chain exist and parse, and the key matches the leaf;
/// 3. `trusted_dir` (unless `trust_all`) and `revoked_dir` exist and every file in them parses;
/// 4. `client_auth=REQUIRE` has at least one trust anchor (unless `trust_all`);
/// 5. the private key file is not readable by others (group-readable: a warning).
///
/// The first broken rule is returned as [`Error::Policy`]. Warnings (trust_all, an expired or
/// not-yet-valid leaf, a group-readable key, a key whose match could not be checked) are logged
/// with `tracing::warn!` and returned in [`LoadedPolicy::warnings`].
pub fn load_policy(settings: &PolicySettings) -> Result<LoadedPolicy> {
    let policy = settings.name.as_str();
    let mut warnings = Vec::new();

    // 1. base_directory.
    check_base_directory(settings)?;

    // 2. key and certificate.
    check_key_pair_present(settings)?;
    let key = load_private_key(
        policy,
        &settings.private_key,
        settings.private_key_password.as_deref(),
    )?;
    let cert_chain = load_cert_chain(policy, &settings.public_certificate)?;
    let leaf = cert_chain.first().ok_or_else(|| {
        policy_error(
            policy,
            "public_certificate",
            &settings.public_certificate,
            "no certificate found",
        )
    })?;
    warnings.extend(check_key_matches(
        policy,
        &key.key,
        &settings.private_key,
        leaf,
        &settings.public_certificate,
    )?);
    warnings.extend(certs::validity_warning(
        policy,
        &settings.public_certificate,
        leaf,
    )?);

    // 3. trusted_dir and revoked_dir.
    let trusted = if settings.trust_all {
        warnings.push(policy_warning(
            policy,
            "trust_all",
            None,
            "trust_all=true: any peer certificate is accepted (trusted_dir is ignored)",
        ));
        Vec::new()
    } else {
        dedup(
            load_trusted_dir(policy, &settings.trusted_dir)?
                .into_iter()
                .flat_map(|file| file.items),
            |cert| cert.as_ref().to_vec(),
        )
    };
    let crls = dedup(
        load_revoked_dir(policy, &settings.revoked_dir)?
            .into_iter()
            .flat_map(|file| file.items),
        |crl| crl.as_ref().to_vec(),
    );

    // 4. REQUIRE needs a trust anchor.
    if settings.client_auth == ClientAuth::Require && !settings.trust_all && trusted.is_empty() {
        return Err(policy_error(
            policy,
            "client_auth",
            &settings.trusted_dir,
            "client_auth=REQUIRE needs at least one trusted certificate, but trusted_dir holds \
             none: add the certificates of the CAs that issue client certificates, or set \
             client_auth to OPTIONAL or NONE",
        ));
    }

    // 5. permissions of the private key.
    warnings.extend(check_key_permissions(policy, &settings.private_key)?);

    if settings.tls_versions.is_empty() {
        return Err(policy_error(
            policy,
            "tls_versions",
            &settings.base_directory,
            "no TLS version enabled",
        ));
    }

    for warning in &warnings {
        tracing::warn!(policy, "{warning}");
    }

    Ok(LoadedPolicy {
        policy: ServerPolicy {
            name: settings.name.clone(),
            cert_chain,
            private_key: key.key,
            trusted,
            crls,
            client_auth: settings.client_auth,
            trust_all: settings.trust_all,
            tls_versions: settings.tls_versions.clone(),
            ciphers: settings.ciphers.clone(),
            verify_hostname: settings.verify_hostname,
            session_resumption: settings.session_resumption,
        },
        warnings,
    })
}

/// Rule 1: `base_directory` must exist and be a directory; nothing is created here.
fn check_base_directory(settings: &PolicySettings) -> Result<()> {
    let base = &settings.base_directory;
    let err = |message: String| policy_error(&settings.name, "base_directory", base, message);
    match fs::metadata(base) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(err("is not a directory".into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(err(
            "directory does not exist; nothing is created automatically (only \
             allow_key_generation=true generates a key pair)"
                .into(),
        )),
        Err(e) => Err(err(format!("cannot access directory: {e}"))),
    }
}

/// Part of rule 2: when both key and certificate are missing, say so once, with the way out.
fn check_key_pair_present(settings: &PolicySettings) -> Result<()> {
    let missing =
        |p: &Path| matches!(fs::symlink_metadata(p), Err(e) if e.kind() == io::ErrorKind::NotFound);
    if missing(&settings.private_key) && missing(&settings.public_certificate) {
        let hint = if settings.allow_key_generation {
            "allow_key_generation=true, but no key pair was generated before loading"
        } else {
            "nothing is created automatically unless allow_key_generation=true \
             (for development only)"
        };
        return Err(policy_error(
            &settings.name,
            "private_key",
            &settings.private_key,
            format!(
                "neither the private key nor the certificate ({}) exists; {hint}",
                settings.public_certificate.display()
            ),
        ));
    }
    Ok(())
}

/// Keeps the first of each item with the same key (a c_rehash symlink and its target, say).
fn dedup<T>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> Vec<u8>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(key(item))).collect()
}

/// Builds the [`Error::Policy`] every loader returns.
pub(crate) fn policy_error(
    policy: &str,
    setting: &'static str,
    path: &Path,
    message: impl Into<String>,
) -> Error {
    Error::Policy {
        policy: policy.to_owned(),
        setting,
        path: Some(path.to_path_buf()),
        message: message.into(),
    }
}

/// Formats a warning the way [`Error::Policy`] displays: policy, setting, path, message.
pub(crate) fn policy_warning(
    policy: &str,
    setting: &'static str,
    path: Option<&Path>,
    message: &str,
) -> String {
    match path {
        Some(path) => format!(
            "policy '{policy}': {setting} ({}): {message}",
            path.display()
        ),
        None => format!("policy '{policy}': {setting}: {message}"),
    }
}
