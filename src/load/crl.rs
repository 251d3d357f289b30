//! Reading the certificate revocation lists of revoked_dir (PEM or DER, one or more a file).

use std::fs;
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateRevocationListDer;
use x509_parser::prelude::{CertificateRevocationList, FromDer};

use super::dir::{list_dir_files, DirFile};
use super::policy_error;
use crate::error::Result;

/// Reads every regular, non-hidden file of `dir` (the `revoked_dir` of `policy`), sorted by
/// name: each PEM (`X509 CRL` sections) or one DER CRL.
///
/// Errors (setting `revoked_dir`): the directory is missing; a file that does not parse (path:
/// that file). An empty directory is fine: no revocation checking.
pub fn load_revoked_dir(
    policy: &str,
    dir: &Path,
) -> Result<Vec<DirFile<CertificateRevocationListDer<'static>>>> {
    list_dir_files(policy, "revoked_dir", dir)?
        .into_iter()
        .map(|path| match read_crl_file(&path) {
            Ok(items) => Ok(DirFile { path, items }),
            Err(message) => Err(policy_error(policy, "revoked_dir", &path, message)),
        })
        .collect()
}

/// Reads one CRL file: PEM (if it contains `-----BEGIN`, one or more `X509 CRL` sections) or
/// one DER CRL. Every CRL is parsed; the error says why the file is refused.
pub fn read_crl_file(
    path: &Path,
) -> std::result::Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read file: {e}"))?;
    parse_crl(bytes)
}

/// Parses the bytes of one CRL file (no filesystem access): PEM (if it contains `-----BEGIN`,
/// one or more `X509 CRL` sections) or one DER CRL, as [`read_crl_file`] does.
pub fn parse_crl(
    bytes: Vec<u8>,
) -> std::result::Result<Vec<CertificateRevocationListDer<'static>>, String> {
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let mut crls = Vec::new();
        for (i, crl) in CertificateRevocationListDer::pem_slice_iter(&bytes).enumerate() {
            let crl = crl.map_err(|e| format!("not a valid PEM file: {e}"))?;
            check_crl(crl.as_ref()).map_err(|e| format!("CRL #{} does not parse: {e}", i + 1))?;
            crls.push(crl);
        }
        if crls.is_empty() {
            return Err("no CRL found (a PEM file without 'X509 CRL' sections)".into());
        }
        Ok(crls)
    } else {
        check_crl(&bytes).map_err(|e| format!("neither PEM nor a DER CRL: {e}"))?;
        Ok(vec![CertificateRevocationListDer::from(bytes)])
    }
}

/// Parses one DER CRL, refusing trailing bytes.
fn check_crl(der: &[u8]) -> std::result::Result<(), String> {
    match CertificateRevocationList::from_der(der) {
        Ok(([], _)) => Ok(()),
        Ok((rest, _)) => Err(format!("{} trailing bytes after the CRL", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::test_support::*;
    use crate::Error;

    #[test]
    fn pem_and_der_crls_load() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (Ca::new("A"), Ca::new("B"));
        let (crl_a, crl_b) = (a.crl(), b.crl());
        fs::write(tmp.path().join("a.crl.pem"), crl_a.pem().unwrap()).unwrap();
        fs::write(tmp.path().join("b.crl"), crl_b.der()).unwrap();
        let files = load_revoked_dir("p", tmp.path()).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].items, vec![crl_a.der().clone()]);
        assert_eq!(files[1].path, tmp.path().join("b.crl"));
        assert_eq!(files[1].items, vec![crl_b.der().clone()]);
    }

    #[test]
    fn empty_dir_is_fine_missing_dir_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(load_revoked_dir("p", tmp.path()).unwrap().is_empty());
        let missing = tmp.path().join("revoked");
        let e = load_revoked_dir("p", &missing).unwrap_err();
        let Error::Policy { setting, path, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*setting, "revoked_dir");
        assert_eq!(path.as_deref(), Some(missing.as_path()));
    }

    #[test]
    fn bad_crl_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("a.crl"), Ca::new("A").crl().der()).unwrap();
        let bad = tmp.path().join("b.crl");
        fs::write(&bad, b"not a crl").unwrap();
        let e = load_revoked_dir("p", tmp.path()).unwrap_err();
        let Error::Policy {
            setting,
            path,
            message,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*setting, "revoked_dir");
        assert_eq!(path.as_deref(), Some(bad.as_path()));
        assert!(message.contains("neither PEM nor a DER CRL"), "{message}");
    }

    #[test]
    fn a_certificate_is_not_a_crl() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = Ca::new("A");
        let pem = tmp.path().join("cert.pem");
        fs::write(&pem, ca.cert.pem()).unwrap();
        assert!(read_crl_file(&pem).unwrap_err().contains("no CRL found"));
        let der = tmp.path().join("cert.der");
        fs::write(&der, ca.cert.der()).unwrap();
        assert!(read_crl_file(&der)
            .unwrap_err()
            .contains("neither PEM nor a DER CRL"));
    }

    #[test]
    fn garbage_pem_crl_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.pem");
        fs::write(
            &path,
            b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        )
        .unwrap();
        assert!(read_crl_file(&path)
            .unwrap_err()
            .contains("CRL #1 does not parse"));
    }
}
