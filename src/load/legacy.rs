//! The legacy SSL system (spec §4): the reserved policy `legacy`, `neo4j.key` / `neo4j.cert` in `dbms.directories.certificates`.
//!
//! A channel bound to `legacy` is served with the pair in the certificates directory, which is
//! generated (self-signed, key mode 0600) when both files are missing and reused on every later
//! start. It behaves as a policy with `client_auth=NONE`, no trusted or revoked directories,
//! and the default TLS versions and cipher suites.
//!
//! ```no_run
//! # fn run(settings: &tls_policy::config::Settings) -> tls_policy::Result<()> {
//! // What a channel bound to `legacy.ssl_policy` loads:
//! let loaded = tls_policy::load::load_bound_policy(settings, "legacy")?;
//! assert_eq!(loaded.policy.name, "legacy");
//! # Ok(()) }
//! ```

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;

use tls_policy_backend::{ClientAuth, ServerPolicy, TlsVersion};

use super::generate::{
    dedup_hostnames, is_missing, write_pair, PairFiles, SelfSignedPair, LOOPBACK_HOSTNAMES,
};
use super::{
    certs, check_key_matches, check_key_permissions, load_cert_chain, load_private_key,
    policy_error, policy_warning, LoadedPolicy,
};
use crate::config::{ChannelSettings, Settings, LEGACY_POLICY};
use crate::error::Result;

/// The legacy system's private key file name, in `dbms.directories.certificates`.
pub const LEGACY_KEY_FILE: &str = "neo4j.key";
/// The legacy system's certificate file name, in `dbms.directories.certificates`.
pub const LEGACY_CERT_FILE: &str = "neo4j.cert";

/// The setting errors about the legacy system's directory name.
const DIRECTORY_SETTING: &str = "dbms.directories.certificates";

/// The legacy system's private key: `<dbms.directories.certificates>/neo4j.key`.
pub fn legacy_key_path(settings: &Settings) -> PathBuf {
    settings.certificates_directory.join(LEGACY_KEY_FILE)
}

/// The legacy system's certificate: `<dbms.directories.certificates>/neo4j.cert`.
pub fn legacy_cert_path(settings: &Settings) -> PathBuf {
    settings.certificates_directory.join(LEGACY_CERT_FILE)
}

/// Whether [`load_legacy`] would generate a pair: both files are missing.
pub fn legacy_would_generate(settings: &Settings) -> bool {
    is_missing(&legacy_key_path(settings)) && is_missing(&legacy_cert_path(settings))
}

/// The names a generated legacy certificate covers, in order: the subject,
/// `dbms.connectors.default_advertised_address`; then (**ours**) the host of every channel's
/// listen address, except the wildcard addresses `0.0.0.0` and `::`, which no client dials;
/// then the loopback names `localhost`, `127.0.0.1`, `::1`. Duplicates are dropped.
pub fn legacy_hostnames(settings: &Settings) -> Vec<String> {
    let listen_hosts = listen_hosts(settings.channels.values());
    dedup_hostnames(
        std::iter::once(settings.default_advertised_address.as_str())
            .chain(listen_hosts.iter().map(String::as_str))
            .chain(LOOPBACK_HOSTNAMES),
    )
}

/// The hosts of `channels`' listen addresses, except the wildcard addresses `0.0.0.0` and `::`.
pub(crate) fn listen_hosts<'a>(channels: impl Iterator<Item = &'a ChannelSettings>) -> Vec<String> {
    channels
        .filter_map(|c| c.listen_address.as_deref())
        .filter_map(listen_host)
        .filter(|host| !matches!(host.parse::<IpAddr>(), Ok(ip) if ip.is_unspecified()))
        .collect()
}

/// The host of a `host:port` or `[ipv6]:port` listen address.
fn listen_host(address: &str) -> Option<String> {
    let host = match address.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.0,
        None => address.rsplit_once(':')?.0,
    };
    (!host.is_empty()).then(|| host.to_owned())
}

/// Loads the legacy policy for `settings`, generating its pair first when both files are
/// missing (the warning then says so).
///
/// Errors (policy `legacy`): the pair cannot be generated (setting
/// `dbms.directories.certificates`); only one of the two files exists; the key is encrypted
/// (the legacy system has no password setting); the key or certificate does not parse or they
/// do not match; the key file is readable by others. Warnings: as for any policy (expired
/// certificate, group-readable key), plus the generation notice; every warning is logged.
pub fn load_legacy(settings: &Settings) -> Result<LoadedPolicy> {
    let mut warnings = Vec::new();
    let key_path = legacy_key_path(settings);
    let cert_path = legacy_cert_path(settings);

    if legacy_would_generate(settings) {
        warnings.push(generate(settings)?);
    }
    check_pair_present(settings)?;
    refuse_encrypted_key(&key_path)?;

    let key = load_private_key(LEGACY_POLICY, &key_path, None)?;
    let cert_chain = load_cert_chain(LEGACY_POLICY, &cert_path)?;
    let leaf = cert_chain.first().ok_or_else(|| {
        policy_error(
            LEGACY_POLICY,
            "public_certificate",
            &cert_path,
            "no certificate found",
        )
    })?;
    warnings.extend(check_key_matches(
        LEGACY_POLICY,
        &key.key,
        &key_path,
        leaf,
        &cert_path,
    )?);
    if let Some(warning) = certs::validity_warning(LEGACY_POLICY, &cert_path, leaf)? {
        warnings.push(format!(
            "{warning}; to have a new self-signed pair generated, remove both {LEGACY_KEY_FILE} \
             and {LEGACY_CERT_FILE}"
        ));
    }
    warnings.extend(check_key_permissions(LEGACY_POLICY, &key_path)?);

    for warning in &warnings {
        tracing::warn!(policy = LEGACY_POLICY, "{warning}");
    }
    Ok(LoadedPolicy {
        policy: ServerPolicy {
            name: LEGACY_POLICY.to_owned(),
            cert_chain,
            private_key: key.key,
            trusted: Vec::new(),
            path_links: Vec::new(),
            crls: Vec::new(),
            client_auth: ClientAuth::None,
            trust_all: false,
            tls_versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
            ciphers: None,
            verify_hostname: false,
            session_resumption: true,
            session_ticket_keys: None,
            allowed_peers: None,
        },
        warnings,
    })
}

/// Generates the self-signed pair into the certificates directory; returns the warning.
fn generate(settings: &Settings) -> Result<String> {
    let dir = &settings.certificates_directory;
    let hostnames = legacy_hostnames(settings);
    let fail = |message: String| policy_error(LEGACY_POLICY, DIRECTORY_SETTING, dir, message);
    let pair = SelfSignedPair::generate(&settings.default_advertised_address, &hostnames).map_err(
        |m| {
            fail(format!(
                "cannot generate the legacy self-signed certificate: {m} (the names come from \
                 dbms.connectors.default_advertised_address and the connectors' listen addresses)"
            ))
        },
    )?;
    let files = PairFiles {
        key: legacy_key_path(settings),
        cert: legacy_cert_path(settings),
        cert_copies: Vec::new(),
        dirs: vec![dir.clone()],
    };
    write_pair(&pair, &files).map_err(|(path, e)| {
        policy_error(
            LEGACY_POLICY,
            DIRECTORY_SETTING,
            &path,
            format!(
                "cannot write the legacy self-signed key pair: {e}; nothing generated was left \
                 behind"
            ),
        )
    })?;
    Ok(policy_warning(
        LEGACY_POLICY,
        DIRECTORY_SETTING,
        Some(dir),
        &format!(
            "neither {LEGACY_KEY_FILE} nor {LEGACY_CERT_FILE} existed: generated a self-signed \
             certificate for {} and its private key (mode 0600); it is reused on later starts. \
             Self-signed certificates are for development only: clients must be told to trust \
             this one, and for production a CA-issued certificate belongs in a named policy",
            pair.hostnames.join(", ")
        ),
    ))
}

/// With one of the two files present, nothing is generated: say which one is missing.
fn check_pair_present(settings: &Settings) -> Result<()> {
    let key = legacy_key_path(settings);
    let cert = legacy_cert_path(settings);
    let (missing, setting, present) = match (is_missing(&key), is_missing(&cert)) {
        (true, false) => (&key, "private_key", &cert),
        (false, true) => (&cert, "public_certificate", &key),
        _ => return Ok(()),
    };
    Err(policy_error(
        LEGACY_POLICY,
        setting,
        missing,
        format!(
            "the legacy system's file does not exist, while {} does; a self-signed pair is \
             generated only when both {LEGACY_KEY_FILE} and {LEGACY_CERT_FILE} are missing: \
             install the matching file, or remove the other one",
            present.display()
        ),
    ))
}

/// The legacy system has no password setting: an encrypted key is refused with the way out.
fn refuse_encrypted_key(path: &std::path::Path) -> Result<()> {
    // A read failure is reported by load_private_key, with its usual wording.
    let Ok(bytes) = fs::read(path) else {
        return Ok(());
    };
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if contains(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || contains(b"Proc-Type: 4,ENCRYPTED") {
        return Err(policy_error(
            LEGACY_POLICY,
            "private_key",
            path,
            format!(
                "the legacy system's key must be unencrypted, and this one is encrypted: decrypt \
                 it (`openssl pkey -in {LEGACY_KEY_FILE} -out {LEGACY_KEY_FILE}.plain`, then \
                 replace the file and `chmod 600` it), or use a named policy \
                 (dbms.ssl.policy.<name>.*), which takes private_key_password"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn settings(home: &Path, text: &str) -> Settings {
        Settings::parse(text, &home.join("neo4j.conf"), home).unwrap()
    }

    #[test]
    fn hostnames_cover_advertised_listen_and_loopback() {
        let home = Path::new("/srv");
        let s = settings(
            home,
            "dbms.connectors.default_advertised_address=db.example.test\n\
             bolt.ssl_policy=legacy\n\
             dbms.connector.bolt.listen_address=10.1.2.3:7687\n\
             dbms.connector.https.listen_address=[fd00::1]:7473\n\
             https.ssl_policy=legacy\n\
             dbms.connector.http.listen_address=0.0.0.0:7474\n\
             dbms.connector.http.tls_level=DISABLED\n",
        );
        assert_eq!(
            legacy_hostnames(&s),
            [
                "db.example.test",
                "10.1.2.3",
                "fd00::1",
                "localhost",
                "127.0.0.1",
                "::1"
            ]
        );
    }

    #[test]
    fn listen_hosts() {
        assert_eq!(listen_host("a.b:1").as_deref(), Some("a.b"));
        assert_eq!(listen_host("[::1]:1").as_deref(), Some("::1"));
        assert_eq!(listen_host(":1"), None);
    }
}
