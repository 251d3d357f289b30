//! Self-signed development key pairs (`allow_key_generation`, the legacy system): made with rcgen, written all-or-nothing.
//!
//! [`SelfSignedPair::generate`] makes an ECDSA P-256 key and a self-signed certificate for a set
//! of hostnames; [`write_pair`] writes them with the key file created owner-only (mode 0600)
//! from the start and removes whatever it created if any step fails. [`generate_policy_pair`]
//! is what `load_policy` runs for a policy with `allow_key_generation=true`.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use pkcs8::der::zeroize::Zeroizing;
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use super::{policy_error, policy_warning};
use crate::config::PolicySettings;
use crate::error::Result;

/// The names every generated certificate covers, besides the caller's: the loopback ones.
pub const LOOPBACK_HOSTNAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// How long a generated certificate is valid, from now.
pub const GENERATED_VALIDITY_DAYS: i64 = 365;

/// The organization written into every generated certificate.
pub const GENERATED_ORGANIZATION: &str = "tls-policy self-signed (development only)";

/// How far back `not_before` is set, to tolerate clock skew between peers.
const BACKDATE: Duration = Duration::hours(1);

// === SelfSignedPair ===

/// A freshly generated self-signed certificate and its private key, in memory.
///
/// Its `Debug` output never shows the key.
pub struct SelfSignedPair {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER (the tests read it; the loader re-reads the file it writes).
    #[cfg_attr(not(test), allow(dead_code))]
    pub cert_der: CertificateDer<'static>,
    /// The subject alternative names it carries, in order.
    pub hostnames: Vec<String>,
    key_pem: Zeroizing<String>,
}

impl SelfSignedPair {
    /// Generates an ECDSA P-256 key and a self-signed certificate: subject `CN=<common_name>`,
    /// one subject alternative name per entry of `hostnames` (duplicates dropped; entries that
    /// parse as IP addresses become IP SANs, the rest DNS names, `*.` wildcards allowed), not a
    /// CA, key usage digitalSignature, extended key usages serverAuth and clientAuth (so the
    /// same pair serves both ends of a mutual-TLS channel), valid from an hour ago for
    /// [`GENERATED_VALIDITY_DAYS`] days.
    ///
    /// The error names the hostname that is neither an IP address nor a DNS name.
    pub fn generate(common_name: &str, hostnames: &[String]) -> std::result::Result<Self, String> {
        let hostnames = dedup_hostnames(hostnames.iter().map(String::as_str));
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, GENERATED_ORGANIZATION);
        params.subject_alt_names = hostnames
            .iter()
            .map(|name| san(name))
            .collect::<std::result::Result<_, _>>()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + Duration::days(GENERATED_VALIDITY_DAYS);

        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| format!("cannot generate an ECDSA P-256 key: {e}"))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| format!("cannot make the self-signed certificate: {e}"))?;
        Ok(SelfSignedPair {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            hostnames,
            key_pem: Zeroizing::new(key.serialize_pem()),
        })
    }

    /// The private key, unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }
}

impl fmt::Debug for SelfSignedPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelfSignedPair")
            .field("hostnames", &self.hostnames)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// `hostnames` without duplicates (IP addresses compared as addresses, names ignoring case),
/// in their first order, empty entries dropped.
pub fn dedup_hostnames<'a>(hostnames: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    hostnames
        .into_iter()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .filter(|h| {
            let key = match h.parse::<IpAddr>() {
                Ok(ip) => ip.to_string(),
                Err(_) => h.to_ascii_lowercase(),
            };
            seen.insert(key)
        })
        .map(str::to_owned)
        .collect()
}

/// One subject alternative name: an IP address, or a DNS name checked the way TLS clients
/// check it (a leading `*.` label allowed).
fn san(name: &str) -> std::result::Result<SanType, String> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let bad = || format!("'{name}' is neither an IP address nor a valid DNS name");
    let rest = name.strip_prefix("*.").unwrap_or(name);
    rustls_pki_types::DnsName::try_from(rest).map_err(|_| bad())?;
    Ok(SanType::DnsName(
        name.to_owned().try_into().map_err(|_| bad())?,
    ))
}

// === writing ===

/// Where [`write_pair`] puts a pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairFiles {
    /// The private key file: created new, mode 0600 on unix.
    pub key: PathBuf,
    /// The certificate file: created new.
    pub cert: PathBuf,
    /// Further copies of the certificate (a policy's `trusted_dir`): created new.
    pub cert_copies: Vec<PathBuf>,
    /// Directories to create besides the files' parents (a policy's `trusted_dir` and
    /// `revoked_dir`).
    pub dirs: Vec<PathBuf>,
}

/// Writes `pair` to `files`: creates the missing directories (mode 0755 on unix, before the
/// umask), the key file (mode 0600 from the moment it exists), the certificate and its copies;
/// no existing file is ever overwritten. Every file is synced to disk.
///
/// On failure everything this call created is removed again (files first, then the
/// directories it made, deepest first), and the error names the path that failed.
pub fn write_pair(
    pair: &SelfSignedPair,
    files: &PairFiles,
) -> std::result::Result<(), (PathBuf, io::Error)> {
    let mut created = Created::default();
    let parents = [files.key.parent(), files.cert.parent()]
        .into_iter()
        .chain(files.cert_copies.iter().map(|p| p.parent()))
        .flatten()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf);
    for dir in files.dirs.iter().cloned().chain(parents) {
        created.dir_all(&dir)?;
    }
    created.file(&files.key, pair.key_pem().as_bytes(), true)?;
    created.file(&files.cert, pair.cert_pem.as_bytes(), false)?;
    for copy in &files.cert_copies {
        created.file(copy, pair.cert_pem.as_bytes(), false)?;
    }
    created.commit();
    Ok(())
}

/// What [`write_pair`] has created so far; removed again on drop unless committed.
#[derive(Default)]
struct Created {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    committed: bool,
}

impl Created {
    /// Creates `dir` and its missing ancestors, remembering each one it made.
    fn dir_all(&mut self, dir: &Path) -> std::result::Result<(), (PathBuf, io::Error)> {
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(path) = at {
            if path.as_os_str().is_empty() {
                break;
            }
            match fs::metadata(path) {
                Ok(meta) if meta.is_dir() => break,
                Ok(_) => {
                    return Err((
                        path.to_path_buf(),
                        io::Error::new(
                            io::ErrorKind::AlreadyExists,
                            "exists and is not a directory",
                        ),
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(path.to_path_buf()),
                Err(e) => return Err((path.to_path_buf(), e)),
            }
            at = path.parent();
        }
        for path in missing.into_iter().rev() {
            let mut builder = fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o755);
            }
            match builder.create(&path) {
                Ok(()) => self.dirs.push(path),
                // Made meanwhile by someone else: theirs, not ours to remove.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
                Err(e) => return Err((path, e)),
            }
        }
        Ok(())
    }

    /// Creates `path` (never replacing a file) with `contents`; `private`: mode 0600 on unix
    /// from creation on, exactly (whatever the umask).
    fn file(
        &mut self,
        path: &Path,
        contents: &[u8],
        private: bool,
    ) -> std::result::Result<(), (PathBuf, io::Error)> {
        let fail = |e: io::Error| (path.to_path_buf(), e);
        let mut open = fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(if private { 0o600 } else { 0o644 });
        }
        let mut file = open.open(path).map_err(fail)?;
        self.files.push(path.to_path_buf());
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(fail)?;
        }
        #[cfg(not(unix))]
        let _ = private;
        file.write_all(contents).map_err(fail)?;
        file.sync_all().map_err(fail)
    }

    fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for file in self.files.iter().rev() {
            if let Err(e) = fs::remove_file(file) {
                tracing::warn!(path = %file.display(), "cannot remove a half-written file: {e}");
            }
        }
        for dir in self.dirs.iter().rev() {
            if let Err(e) = fs::remove_dir(dir) {
                tracing::warn!(path = %dir.display(), "cannot remove a directory made for a failed key generation: {e}");
            }
        }
    }
}

// === allow_key_generation ===

/// Whether the file at `path` does not exist (a dangling symbolic link exists), also because
/// one of its ancestors is not a directory.
pub(crate) fn is_missing(path: &Path) -> bool {
    matches!(
        fs::symlink_metadata(path),
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
    )
}

/// Whether loading `settings` would generate a key pair: `allow_key_generation=true` and both
/// the private key and the certificate are missing.
pub fn would_generate(settings: &PolicySettings) -> bool {
    settings.allow_key_generation
        && is_missing(&settings.private_key)
        && is_missing(&settings.public_certificate)
}

/// `allow_key_generation`: when [`would_generate`], creates `base_directory`, `trusted_dir` and
/// `revoked_dir`, a self-signed certificate and key for [`LOOPBACK_HOSTNAMES`] plus `hostnames`
/// at `public_certificate` and `private_key` (mode 0600), and a copy of the certificate in
/// `trusted_dir` (so `client_auth=REQUIRE` accepts a peer holding the same pair).
///
/// Returns the warning to log (generated material is for development only), or `None` when
/// nothing was generated (the flag is off, or one of the two files exists: then the usual
/// validation reports what is missing). A failure leaves nothing behind and is an error on
/// `allow_key_generation` naming the path that failed.
pub fn generate_policy_pair(
    settings: &PolicySettings,
    hostnames: &[String],
) -> Result<Option<String>> {
    if !would_generate(settings) {
        return Ok(None);
    }
    let policy = settings.name.as_str();
    let all: Vec<String> = dedup_hostnames(
        LOOPBACK_HOSTNAMES
            .iter()
            .copied()
            .chain(hostnames.iter().map(String::as_str)),
    );
    let common_name = hostnames
        .first()
        .map_or(LOOPBACK_HOSTNAMES[0], String::as_str);
    let pair = SelfSignedPair::generate(common_name, &all).map_err(|message| {
        policy_error(
            policy,
            "allow_key_generation",
            &settings.base_directory,
            format!("cannot generate a self-signed key pair: {message}"),
        )
    })?;
    let trusted_copy = trusted_copy_path(&settings.trusted_dir, &settings.public_certificate);
    let files = PairFiles {
        key: settings.private_key.clone(),
        cert: settings.public_certificate.clone(),
        cert_copies: vec![trusted_copy.clone()],
        dirs: vec![
            settings.base_directory.clone(),
            settings.trusted_dir.clone(),
            settings.revoked_dir.clone(),
        ],
    };
    write_pair(&pair, &files).map_err(|(path, e)| {
        policy_error(
            policy,
            "allow_key_generation",
            &path,
            format!("cannot write the generated key pair: {e}; nothing generated was left behind"),
        )
    })?;
    let warning = policy_warning(
        policy,
        "allow_key_generation",
        Some(&settings.base_directory),
        &format!(
            "allow_key_generation=true: generated a self-signed certificate ({}, for {}) and its \
             private key ({}, mode 0600), and put a copy of the certificate in trusted_dir ({}). \
             Generated keys are for development only: install a certificate issued by your CA \
             and set allow_key_generation=false for production",
            settings.public_certificate.display(),
            pair.hostnames.join(", "),
            settings.private_key.display(),
            trusted_copy.display(),
        ),
    );
    Ok(Some(warning))
}

/// `trusted_dir/<certificate file name>`, or with `-1`, `-2`, … before the extension when that
/// name is taken (an existing trust anchor is never replaced).
fn trusted_copy_path(trusted_dir: &Path, cert: &Path) -> PathBuf {
    let name = cert
        .file_name()
        .map_or_else(|| "public.crt".into(), |n| n.to_string_lossy().into_owned());
    let first = trusted_dir.join(&name);
    if is_missing(&first) {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
        _ => (name.clone(), String::new()),
    };
    (1..10_000)
        .map(|n| trusted_dir.join(format!("{stem}-{n}{ext}")))
        .find(|p| is_missing(p))
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::{FromDer, X509Certificate};

    fn sans(der: &[u8]) -> Vec<String> {
        let (_, cert) = X509Certificate::from_der(der).unwrap();
        cert.subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => d.to_string(),
                GeneralName::IPAddress(ip) if ip.len() == 4 => {
                    IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string()
                }
                GeneralName::IPAddress(ip) => {
                    IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string()
                }
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn generates_a_leaf_for_every_hostname() {
        let names: Vec<String> = ["db.example.test", "LOCALHOST", "localhost", "::1", "0:0::1"]
            .map(String::from)
            .into();
        let pair = SelfSignedPair::generate("db.example.test", &names).unwrap();
        assert_eq!(
            sans(&pair.cert_der),
            ["db.example.test", "LOCALHOST", "::1"]
        );
        let (_, cert) = X509Certificate::from_der(&pair.cert_der).unwrap();
        assert!(!cert.is_ca());
        assert_eq!(cert.subject(), cert.issuer());
        assert!(cert.validity().is_valid());
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        assert!(pair.key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{pair:?}").contains("PRIVATE"));
    }

    #[test]
    fn refuses_a_bad_hostname() {
        let err = SelfSignedPair::generate("x", &["not a host!".into()]).unwrap_err();
        assert!(err.contains("'not a host!'"), "{err}");
    }

    #[test]
    fn failure_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let pair = SelfSignedPair::generate("localhost", &["localhost".into()]).unwrap();
        let base = tmp.path().join("a/b");
        // The certificate's path is taken by a directory: the key must be removed again.
        fs::create_dir_all(tmp.path().join("taken/public.crt")).unwrap();
        let files = PairFiles {
            key: base.join("private.key"),
            cert: tmp.path().join("taken/public.crt"),
            cert_copies: vec![],
            dirs: vec![base.join("trusted")],
        };
        let (path, _) = write_pair(&pair, &files).unwrap_err();
        assert_eq!(path, tmp.path().join("taken/public.crt"));
        assert!(
            !tmp.path().join("a").exists(),
            "created directories removed"
        );
        assert!(
            tmp.path().join("taken/public.crt").is_dir(),
            "not ours: kept"
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_is_owner_only_and_nothing_is_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let pair = SelfSignedPair::generate("localhost", &["localhost".into()]).unwrap();
        let files = PairFiles {
            key: tmp.path().join("k/private.key"),
            cert: tmp.path().join("k/public.crt"),
            cert_copies: vec![tmp.path().join("k/trusted/public.crt")],
            dirs: vec![],
        };
        write_pair(&pair, &files).unwrap();
        let mode = fs::metadata(&files.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            fs::read_to_string(&files.cert_copies[0]).unwrap(),
            pair.cert_pem
        );
        let (path, e) = write_pair(&pair, &files).unwrap_err();
        assert_eq!(path, files.key);
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(files.key.exists(), "an existing key is not removed");
    }

    #[test]
    fn trusted_copy_never_replaces_an_anchor() {
        let tmp = tempfile::tempdir().unwrap();
        let cert = Path::new("/x/public.crt");
        assert_eq!(
            trusted_copy_path(tmp.path(), cert),
            tmp.path().join("public.crt")
        );
        fs::write(tmp.path().join("public.crt"), "x").unwrap();
        fs::write(tmp.path().join("public-1.crt"), "x").unwrap();
        assert_eq!(
            trusted_copy_path(tmp.path(), cert),
            tmp.path().join("public-2.crt")
        );
    }
}
