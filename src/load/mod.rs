//! Loading a policy's files and validating them (spec §2) into a backend-neutral `ServerPolicy`.
//!
//! [`load_policy`] applies the start-up rules in order and fails closed on the first broken one;
//! the submodules hold one loader each (crate-internal: `tls-policy check` reports on each file
//! through them).
//!
//! ```no_run
//! # fn run(settings: &tls_policy::config::PolicySettings) -> tls_policy::Result<()> {
//! let loaded = tls_policy::load::load_policy(settings)?;
//! for warning in &loaded.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! # Ok(()) }
//! ```

pub(crate) mod anchors;
pub(crate) mod certs;
pub(crate) mod crl;
pub(crate) mod dir;
pub(crate) mod generate;
pub(crate) mod key;
pub(crate) mod key_match;
pub(crate) mod legacy;
pub(crate) mod permissions;
pub mod ticket_keys;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use tls_policy_backend::{ClientAuth, ServerPolicy};

use crate::config::{PolicySettings, Settings, LEGACY_POLICY};
use crate::error::{Error, Result};

pub(crate) use certs::{load_cert_chain, load_trusted_dir, read_cert_file};
pub(crate) use crl::{load_revoked_dir, summarize_crl};
pub(crate) use generate::{generate_policy_pair, would_generate};
pub(crate) use key::load_private_key;
pub(crate) use key_match::check_key_matches;
pub(crate) use legacy::load_legacy;
pub(crate) use permissions::{check_directory_permissions, check_key_permissions};
pub(crate) use ticket_keys::load_ticket_keys;

/// A policy that passed start-up validation, with the warnings it raised.
#[derive(Clone, Debug)]
pub struct LoadedPolicy {
    /// The material and settings a backend compiles.
    pub policy: ServerPolicy,
    /// Things that are allowed but worth an operator's attention (already logged), each naming
    /// the policy, the setting and the path.
    pub warnings: Vec<String>,
}

/// What loading may do besides reading: the names a generated certificate covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// With `allow_key_generation=true` and no key pair yet, the names the generated
    /// certificate covers besides `localhost`, `127.0.0.1` and `::1` (the first one is also
    /// its common name). Unused otherwise.
    pub generated_hostnames: Vec<String>,
}

/// Loads the policy a channel is bound to by name: the legacy system for
/// [`LEGACY_POLICY`] (`load_legacy`), else the defined policy, whose generated certificate
/// (with `allow_key_generation=true`) also covers `dbms.connectors.default_advertised_address`
/// and the listen hosts of the channels bound to it. An undefined name is an error on
/// `ssl_policy`.
pub fn load_bound_policy(settings: &Settings, policy: &str) -> Result<LoadedPolicy> {
    if policy == LEGACY_POLICY {
        return load_legacy(settings);
    }
    let policy_settings = defined_policy(settings, policy)?;
    let options = LoadOptions {
        generated_hostnames: bound_hostnames(settings, policy),
    };
    load_policy_with(policy_settings, &options)
}

/// Whether [`load_bound_policy`] would generate a key pair for `policy` (the legacy system's,
/// or a policy's with `allow_key_generation=true`) because none exists yet.
pub(crate) fn bound_policy_would_generate(settings: &Settings, policy: &str) -> bool {
    if policy == LEGACY_POLICY {
        return legacy::legacy_would_generate(settings);
    }
    settings.policies.get(policy).is_some_and(would_generate)
}

/// The settings of the defined policy `policy`, or the error naming the channels bound to it.
fn defined_policy<'a>(settings: &'a Settings, policy: &str) -> Result<&'a PolicySettings> {
    settings.policies.get(policy).ok_or_else(|| {
        let channels: Vec<&str> = settings
            .channels
            .values()
            .filter(|c| c.policy.as_deref() == Some(policy))
            .map(|c| c.name.as_str())
            .collect();
        Error::Policy {
            policy: policy.to_owned(),
            setting: "ssl_policy",
            path: None,
            message: format!(
                "is not defined (no dbms.ssl.policy.{policy}.base_directory), but channel(s) {} \
                 are bound to it",
                if channels.is_empty() {
                    "(none)".to_owned()
                } else {
                    channels.join(", ")
                }
            ),
        }
    })
}

/// `dbms.connectors.default_advertised_address`, then the listen hosts of the channels bound to
/// `policy`: what a certificate generated for `policy` covers besides the loopback names.
fn bound_hostnames(settings: &Settings, policy: &str) -> Vec<String> {
    let hosts = legacy::listen_hosts(
        settings
            .channels
            .values()
            .filter(|c| c.policy.as_deref() == Some(policy)),
    );
    generate::dedup_hostnames(
        std::iter::once(settings.default_advertised_address.as_str())
            .chain(hosts.iter().map(String::as_str)),
    )
}

/// Loads and validates one policy's files with the default [`LoadOptions`]; see
/// [`load_policy_with`].
pub fn load_policy(settings: &PolicySettings) -> Result<LoadedPolicy> {
    load_policy_with(settings, &LoadOptions::default())
}

/// Loads and validates one policy's files, applying the spec §2 rules in order:
///
/// 0. with `allow_key_generation=true` and neither the key nor the certificate present: create
///    the directories and a self-signed pair (`generate_policy_pair`), with a warning;
/// 1. `base_directory` exists and is a directory;
/// 2. the private key and the certificate chain exist and parse, and the key matches the leaf;
/// 3. `trusted_dir` (unless `trust_all`) and `revoked_dir` exist and every file in them parses;
///    unless `trust_all`, trusted_dir is split into trust anchors and path links
///    (`anchors::split_trusted`), every CRL is issued and signed by a certificate of
///    `trusted_dir` (anchor or path link) and has a `nextUpdate` still ahead (spec rule 8,
///    `crl::check_crls`), and a path link its issuer's CRLs do not cover, or revoke, is warned
///    about (its peers will be refused as `revocation_unknown` / `revoked`); with `trust_all` the CRLs play no part
///    (a warning says so) and the policy carries none;
/// 4. `client_auth=REQUIRE` has at least one trust anchor (unless `trust_all`);
/// 5. the private key file is not readable by others (group-readable: a warning);
/// 7. `base_directory`, `trusted_dir` and `revoked_dir` are not writable by others
///    (group-writable: a warning);
/// 9. **ours**: the `session_ticket_keys` file, when set, parses (`load_ticket_keys`) and is
///    not readable by others (group-readable: a warning).
///
/// The first broken rule is returned as [`Error::Policy`]. Warnings (trust_all, an expired or
/// not-yet-valid leaf, a group-readable key, a key whose match could not be checked) are logged
/// with `tracing::warn!` and returned in [`LoadedPolicy::warnings`].
pub fn load_policy_with(settings: &PolicySettings, options: &LoadOptions) -> Result<LoadedPolicy> {
    let policy = settings.name.as_str();
    let mut warnings = Vec::new();

    // 0. allow_key_generation.
    warnings.extend(generate_policy_pair(
        settings,
        &options.generated_hostnames,
    )?);

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
                .flat_map(|file| {
                    let path = file.path;
                    file.items.into_iter().map(move |der| anchors::TrustedCert {
                        path: path.clone(),
                        der,
                    })
                }),
            |cert| cert.der.as_ref().to_vec(),
        )
    };
    // Anchors and path links (spec §2): a certificate issued by another one of trusted_dir is
    // only a link of the path to it, checked for revocation.
    let split = anchors::split_trusted(policy, &trusted)?;
    let trusted: Vec<_> = trusted.into_iter().map(|cert| cert.der).collect();
    let revoked = load_revoked_dir(policy, &settings.revoked_dir)?;
    let crl_count: usize = revoked.iter().map(|file| file.items.len()).sum();
    let crls = if settings.trust_all {
        // trust_all accepts any peer certificate: no chain is built, so no CRL can apply, and
        // with trusted_dir ignored there is nothing to check a CRL's issuer against. The files
        // must still parse (rule 3); they play no part, and the operator is told so.
        if crl_count > 0 {
            warnings.push(policy_warning(
                policy,
                "revoked_dir",
                Some(&settings.revoked_dir),
                &format!(
                    "trust_all=true: the {crl_count} revocation list(s) play no part (any peer \
                     certificate is accepted) and are not checked against trusted_dir"
                ),
            ));
        }
        Vec::new()
    } else {
        dedup(
            revoked.iter().flat_map(|file| file.items.iter().cloned()),
            |crl| crl.as_ref().to_vec(),
        )
    };

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

    // Rule 8 (after rule 4, whose error says more when trusted_dir is empty): each CRL is
    // issued and signed by a trusted certificate, and current.
    if !settings.trust_all {
        crl::check_crls(
            policy,
            &revoked,
            &trusted,
            &settings.trusted_dir,
            x509_parser::time::ASN1Time::now(),
        )?;
        warnings.extend(anchors::path_link_warnings(
            policy,
            &settings.revoked_dir,
            &split.path_links,
            &crls,
        ));
    }

    // 5. permissions of the private key.
    warnings.extend(check_key_permissions(policy, &settings.private_key)?);

    // 7. whoever writes to these directories decides whom the server trusts.
    warnings.extend(check_policy_directories(settings)?);

    // 9. the fleet's session-ticket keys, held to the private key's permission rule.
    let session_ticket_keys = match &settings.session_ticket_keys {
        Some(path) => {
            let loaded = load_ticket_keys(policy, path)?;
            warnings.extend(loaded.warning);
            Some(loaded.file.keys)
        }
        None => None,
    };

    // 10. allowed_peers: a client without a certificate cannot match, so OPTIONAL acts as
    // REQUIRE (the backends ask every client for one); said once at load.
    if settings.allowed_peers.is_some() && settings.client_auth == ClientAuth::Optional {
        warnings.push(
            "allowed_peers is set with client_auth=OPTIONAL: a client without a certificate \
             cannot match the list, so every client must send one, as with client_auth=REQUIRE"
                .to_owned(),
        );
    }

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
            trusted: split.anchors,
            path_links: split.path_links,
            crls,
            client_auth: settings.client_auth,
            trust_all: settings.trust_all,
            tls_versions: settings.tls_versions.clone(),
            ciphers: settings.ciphers.clone(),
            verify_hostname: settings.verify_hostname,
            session_resumption: settings.session_resumption,
            session_ticket_keys,
            allowed_peers: settings.allowed_peers.clone(),
        },
        warnings,
    })
}

/// Rule 7: `base_directory`, `trusted_dir` (unless `trust_all` ignores it) and `revoked_dir` are
/// not writable by others; group-writable ones are returned as warnings.
fn check_policy_directories(settings: &PolicySettings) -> Result<Vec<String>> {
    // In base_directory only named entries are read — the key, the chain, trusted_dir and
    // revoked_dir — so a sticky directory may protect them; in trusted_dir and revoked_dir
    // every file is read.
    let named_files = [
        settings.private_key.as_path(),
        settings.public_certificate.as_path(),
        settings.trusted_dir.as_path(),
        settings.revoked_dir.as_path(),
    ];
    let in_base: Vec<&Path> = named_files
        .into_iter()
        .filter(|file| file.parent() == Some(settings.base_directory.as_path()))
        .collect();
    let mut directories = vec![("base_directory", &settings.base_directory, in_base)];
    if !settings.trust_all {
        directories.push(("trusted_dir", &settings.trusted_dir, Vec::new()));
    }
    directories.push(("revoked_dir", &settings.revoked_dir, Vec::new()));
    let mut warnings = Vec::new();
    for (setting, path, protected) in directories {
        warnings.extend(check_directory_permissions(
            &settings.name,
            setting,
            path,
            &protected,
        )?);
    }
    Ok(warnings)
}

/// Rule 1: `base_directory` must exist and be a directory; nothing is created here.
fn check_base_directory(settings: &PolicySettings) -> Result<()> {
    let base = &settings.base_directory;
    let err = |message: String| policy_error(&settings.name, "base_directory", base, message);
    match fs::metadata(base) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(err("is not a directory".into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(err(format!(
            "directory does not exist; nothing is created automatically (`tls-policy init \
             --policy {} --dev-certs` makes one with development certificates; in the 3.5 form \
             allow_key_generation=true generates a key pair)",
            settings.name
        ))),
        Err(e) => Err(err(format!("cannot access directory: {e}"))),
    }
}

/// Part of rule 2: when both key and certificate are missing, say so once, with the way out;
/// with `allow_key_generation=true` and only one of them missing, say why nothing was generated.
fn check_key_pair_present(settings: &PolicySettings) -> Result<()> {
    let key_missing = generate::is_missing(&settings.private_key);
    let cert_missing = generate::is_missing(&settings.public_certificate);
    let (setting, missing, other) = match (key_missing, cert_missing) {
        (true, true) => {
            let hint = if settings.allow_key_generation {
                "allow_key_generation=true, but the generated pair is gone"
            } else {
                "nothing is created automatically unless allow_key_generation=true \
                 (3.5 form, for development only)"
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
        (true, false) => (
            "private_key",
            &settings.private_key,
            &settings.public_certificate,
        ),
        (false, true) => (
            "public_certificate",
            &settings.public_certificate,
            &settings.private_key,
        ),
        (false, false) => return Ok(()),
    };
    if !settings.allow_key_generation {
        // The loaders report a single missing file in their usual words.
        return Ok(());
    }
    Err(policy_error(
        &settings.name,
        setting,
        missing,
        format!(
            "file does not exist, while {} does; allow_key_generation=true generates a pair \
             only when both are missing: install the matching file, or remove the other one",
            other.display()
        ),
    ))
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
