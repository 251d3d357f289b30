//! Reading certificates: the chain (PEM, leaf first) and trusted_dir's anchors (PEM or DER).

use std::fs;
use std::io;
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::dir::{list_dir_files, DirFile};
use super::{policy_error, policy_warning};
use crate::error::Result;

/// What a `check` command shows about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// The subject distinguished name, e.g. `CN=localhost`.
    pub subject: String,
    /// The issuer distinguished name.
    pub issuer: String,
    /// Start of validity.
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// Whether basicConstraints says CA.
    pub is_ca: bool,
    /// Whether `not_after` has passed.
    pub expired: bool,
    /// Whether `not_before` is still to come.
    pub not_yet_valid: bool,
}

/// Reads the `public_certificate` file of `policy`: PEM certificates, leaf first, in file order.
///
/// Errors (setting `public_certificate`, path `path`): missing or unreadable file, not PEM, no
/// certificate, a certificate that does not parse.
pub fn load_cert_chain(policy: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let err = |message: String| policy_error(policy, "public_certificate", path, message);
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => err("certificate file does not exist".into()),
        _ => err(format!("cannot read certificate file: {e}")),
    })?;
    parse_cert_chain(&bytes).map_err(err)
}

/// Parses the bytes of a `public_certificate` file (no filesystem access): PEM certificates,
/// leaf first, in file order, each checked to parse as X.509. `load_cert_chain` is this plus
/// reading the file and naming the policy, setting and path.
///
/// Errors: not PEM, no certificate, a certificate that does not parse.
pub fn parse_cert_chain(bytes: &[u8]) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    if !looks_like_pem(bytes) {
        return Err(
            "no PEM certificate found: the certificate chain must be PEM \
             ('-----BEGIN CERTIFICATE-----'); convert a DER file with `openssl x509 -inform der`"
                .into(),
        );
    }
    let chain = parse_pem_certs(bytes)?;
    if chain.is_empty() {
        return Err("no certificate found (expected PEM 'CERTIFICATE' sections)".into());
    }
    Ok(chain)
}

/// Reads every regular, non-hidden file of `dir` (the `trusted_dir` of `policy`), sorted by
/// name: each a PEM bundle of one or more certificates, or one DER certificate.
///
/// Errors (setting `trusted_dir`): the directory is missing; a file that does not parse (path:
/// that file). An empty directory is fine here (see rule 4 in [`super::load_policy`]).
pub fn load_trusted_dir(policy: &str, dir: &Path) -> Result<Vec<DirFile<CertificateDer<'static>>>> {
    list_dir_files(policy, "trusted_dir", dir)?
        .into_iter()
        .map(|path| match read_cert_file(&path) {
            Ok(items) => Ok(DirFile { path, items }),
            Err(message) => Err(policy_error(policy, "trusted_dir", &path, message)),
        })
        .collect()
}

/// Reads one certificate file: a PEM bundle (if it contains `-----BEGIN`) or one DER
/// certificate. Every certificate is parsed; the error says why the file is refused.
pub fn read_cert_file(path: &Path) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read file: {e}"))?;
    parse_cert_file(bytes)
}

/// Parses the bytes of one trusted certificate file (no filesystem access): a PEM bundle (if it
/// contains `-----BEGIN`) or one DER certificate, as `read_cert_file` does.
pub fn parse_cert_file(
    bytes: Vec<u8>,
) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    if looks_like_pem(&bytes) {
        let certs = parse_pem_certs(&bytes)?;
        if certs.is_empty() {
            return Err("no certificate found (a PEM file without 'CERTIFICATE' sections)".into());
        }
        Ok(certs)
    } else {
        check_certificate(&bytes).map_err(|e| format!("neither PEM nor a DER certificate: {e}"))?;
        Ok(vec![CertificateDer::from(bytes)])
    }
}

/// Summarizes a certificate for reports and warnings.
pub fn summarize_certificate(
    cert: &CertificateDer<'_>,
) -> std::result::Result<CertSummary, String> {
    let (_, x509) = X509Certificate::from_der(cert.as_ref())
        .map_err(|e| format!("certificate does not parse: {e}"))?;
    let validity = x509.validity();
    let now = x509_parser::time::ASN1Time::now();
    Ok(CertSummary {
        subject: x509.subject().to_string(),
        issuer: x509.issuer().to_string(),
        not_before: validity.not_before.to_string(),
        not_after: validity.not_after.to_string(),
        is_ca: x509.is_ca(),
        expired: validity.not_after < now,
        not_yet_valid: now < validity.not_before,
    })
}

/// A warning when the leaf certificate has expired or is not yet valid (both are allowed to
/// load, so that a renewal can be dropped in without a restart failing first).
pub fn validity_warning(
    policy: &str,
    path: &Path,
    leaf: &CertificateDer<'_>,
) -> Result<Option<String>> {
    let summary = summarize_certificate(leaf)
        .map_err(|message| policy_error(policy, "public_certificate", path, message))?;
    let message = if summary.expired {
        format!(
            "the certificate (subject {}) expired on {} (not_after); peers will refuse it",
            summary.subject, summary.not_after
        )
    } else if summary.not_yet_valid {
        format!(
            "the certificate (subject {}) is not valid before {} (not_before); peers will \
             refuse it until then",
            summary.subject, summary.not_before
        )
    } else {
        return Ok(None);
    };
    Ok(Some(policy_warning(
        policy,
        "public_certificate",
        Some(path),
        &message,
    )))
}

/// Whether `bytes` hold a PEM section somewhere (text may come before it, as from
/// `openssl x509 -text`).
fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Every `CERTIFICATE` section of a PEM text, each checked to parse as X.509.
fn parse_pem_certs(bytes: &[u8]) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    for (i, cert) in CertificateDer::pem_slice_iter(bytes).enumerate() {
        let cert = cert.map_err(|e| format!("not a valid PEM file: {e}"))?;
        check_certificate(cert.as_ref())
            .map_err(|e| format!("certificate #{} does not parse: {e}", i + 1))?;
        certs.push(cert);
    }
    Ok(certs)
}

/// Parses one DER certificate, refusing trailing bytes.
fn check_certificate(der: &[u8]) -> std::result::Result<(), String> {
    match X509Certificate::from_der(der) {
        Ok(([], _)) => Ok(()),
        Ok((rest, _)) => Err(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::test_support::*;
    use crate::Error;

    fn policy_err(e: Error) -> (&'static str, std::path::PathBuf, String) {
        match e {
            Error::Policy {
                setting,
                path,
                message,
                ..
            } => (setting, path.unwrap(), message),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn chain_keeps_file_order() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = Ca::new("CA");
        let leaf = ca.issue(&p256(), |_| {});
        let path = tmp.path().join("public.crt");
        fs::write(&path, format!("{}{}", leaf.pem(), ca.cert.pem())).unwrap();
        let chain = load_cert_chain("p", &path).unwrap();
        assert_eq!(chain, vec![leaf.der().clone(), ca.cert.der().clone()]);
    }

    #[test]
    fn chain_errors_name_the_setting_and_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("public.crt");

        let (setting, p, message) = policy_err(load_cert_chain("p", &path).unwrap_err());
        assert_eq!(
            (setting, p.as_path()),
            ("public_certificate", path.as_path())
        );
        assert!(message.contains("does not exist"), "{message}");

        fs::write(&path, b"").unwrap();
        let (_, _, message) = policy_err(load_cert_chain("p", &path).unwrap_err());
        assert!(message.contains("no PEM certificate"), "{message}");

        fs::write(&path, p256().serialize_pem()).unwrap();
        let (_, _, message) = policy_err(load_cert_chain("p", &path).unwrap_err());
        assert!(message.contains("no certificate found"), "{message}");

        fs::write(
            &path,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let (_, _, message) = policy_err(load_cert_chain("p", &path).unwrap_err());
        assert!(
            message.contains("certificate #1 does not parse"),
            "{message}"
        );
    }

    #[test]
    fn trusted_dir_reads_pem_bundles_and_der() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, c) = (Ca::new("A"), Ca::new("B"), Ca::new("C"));
        fs::write(
            tmp.path().join("bundle.pem"),
            format!("{}{}", a.cert.pem(), b.cert.pem()),
        )
        .unwrap();
        fs::write(tmp.path().join("c.der"), c.cert.der()).unwrap();
        fs::write(tmp.path().join(".ignored"), b"junk").unwrap();
        fs::create_dir(tmp.path().join("subdir")).unwrap();
        let files = load_trusted_dir("p", tmp.path()).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, tmp.path().join("bundle.pem"));
        assert_eq!(
            files[0].items,
            vec![a.cert.der().clone(), b.cert.der().clone()]
        );
        assert_eq!(files[1].items, vec![c.cert.der().clone()]);
    }

    #[test]
    fn text_before_pem_is_fine() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = Ca::new("A");
        let path = tmp.path().join("a.crt");
        fs::write(
            &path,
            format!("Certificate:\n  Data: ...\n{}", ca.cert.pem()),
        )
        .unwrap();
        assert_eq!(read_cert_file(&path).unwrap(), vec![ca.cert.der().clone()]);
    }

    #[test]
    fn bad_trusted_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("a.pem"), Ca::new("A").cert.pem()).unwrap();
        let bad = tmp.path().join("b.der");
        fs::write(&bad, b"\x30\x03\x02\x01\x00").unwrap();
        let (setting, path, message) = policy_err(load_trusted_dir("p", tmp.path()).unwrap_err());
        assert_eq!(setting, "trusted_dir");
        assert_eq!(path, bad);
        assert!(
            message.contains("neither PEM nor a DER certificate"),
            "{message}"
        );

        let e = load_trusted_dir("p", tmp.path()).unwrap_err().to_string();
        assert!(e.contains("policy 'p'") && e.contains("trusted_dir") && e.contains("b.der"));
    }

    #[test]
    fn empty_file_and_key_only_pem_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = tmp.path().join("empty");
        fs::write(&empty, b"").unwrap();
        assert!(read_cert_file(&empty).unwrap_err().contains("neither PEM"));
        let key = tmp.path().join("key.pem");
        fs::write(&key, p256().serialize_pem()).unwrap();
        assert!(read_cert_file(&key).unwrap_err().contains("no certificate"));
    }

    #[test]
    fn der_with_trailing_bytes_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.der");
        let mut der = Ca::new("A").cert.der().to_vec();
        der.extend_from_slice(b"zz");
        fs::write(&path, der).unwrap();
        assert!(read_cert_file(&path)
            .unwrap_err()
            .contains("2 trailing bytes"));
    }

    #[test]
    fn expired_leaf_warns_with_its_date() {
        let ca = Ca::new("CA");
        let leaf = ca.issue(&p256(), |p| {
            p.not_before = rcgen::date_time_ymd(2001, 1, 1);
            p.not_after = rcgen::date_time_ymd(2002, 3, 4);
        });
        let w = validity_warning("p", Path::new("/x/public.crt"), leaf.der())
            .unwrap()
            .unwrap();
        assert!(w.contains("expired"), "{w}");
        assert!(w.contains("2002"), "{w}");
        assert!(
            w.contains("public_certificate") && w.contains("/x/public.crt"),
            "{w}"
        );

        let fresh = ca.issue(&p256(), |_| {});
        assert_eq!(
            validity_warning("p", Path::new("/x"), fresh.der()).unwrap(),
            None
        );

        let future = ca.issue(&p256(), |p| {
            p.not_before = rcgen::date_time_ymd(2999, 1, 1);
            p.not_after = rcgen::date_time_ymd(3000, 1, 1);
        });
        let w = validity_warning("p", Path::new("/x"), future.der())
            .unwrap()
            .unwrap();
        assert!(w.contains("not valid before"), "{w}");
    }

    #[test]
    fn summary_names_subject_and_issuer() {
        let ca = Ca::new("Summary CA");
        let leaf = ca.issue(&p256(), |_| {});
        let s = summarize_certificate(leaf.der()).unwrap();
        assert_eq!(s.subject, "CN=leaf.test");
        assert_eq!(s.issuer, "CN=Summary CA");
        assert!(!s.is_ca && !s.expired && !s.not_yet_valid);
        assert!(summarize_certificate(ca.cert.der()).unwrap().is_ca);
    }
}
