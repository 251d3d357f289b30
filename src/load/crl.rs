//! Reading the certificate revocation lists of revoked_dir (PEM or DER, one or more a file) and
//! checking that each is issued, signed and current (spec §2 rule 8).

use std::fs;
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use x509_parser::prelude::{
    ASN1Time, CertificateRevocationList, FromDer, X509Certificate, X509Error,
};

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
/// one or more `X509 CRL` sections) or one DER CRL, as `read_crl_file` does.
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

/// What one CRL says about itself: who issued it and until when it is current.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlSummary {
    /// The issuer's distinguished name, as `CN=..., O=...`.
    pub issuer: String,
    /// Its `nextUpdate` as seconds since the Unix epoch, or `None` when it has none.
    pub next_update: Option<i64>,
    /// Its `nextUpdate` as text (`Jan  1 00:00:00 2100 +00:00`), or `None`.
    pub next_update_text: Option<String>,
}

/// Summarizes one DER CRL (the loader already parsed it; the error says why it does not parse).
pub fn summarize_crl(der: &[u8]) -> std::result::Result<CrlSummary, String> {
    let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| e.to_string())?;
    let next_update = crl.next_update();
    Ok(CrlSummary {
        issuer: crl.issuer().to_string(),
        next_update: next_update.map(|t| t.timestamp()),
        next_update_text: next_update.map(|t| t.to_string()),
    })
}

/// Spec §2 rule 8: every CRL of `files` (read from the `revoked_dir` of `policy`) must be issued
/// by a certificate of `trusted` (read from `trusted_dir`), signed with that certificate's key,
/// and current: it has a `nextUpdate` and that is after `now`.
///
/// A CRL from a CA that is not trusted, or a forged one, must not be believed, and an expired
/// one would refuse every certificate it was meant to cover (`revocation_unknown`): each is
/// refused at load, so that start-up and reload fail closed instead of serving a policy whose
/// revocation checking does not do what the operator expects. An intermediate CA's CRL needs
/// the intermediate's certificate in `trusted_dir`; when its issuer is there too, it is a path
/// link (checked for revocation itself), not a trust anchor (`super::anchors`). `trusted` is
/// every certificate of `trusted_dir`, anchors and path links alike.
///
/// Errors (setting `revoked_dir`, path: the CRL's file) name the issuer's distinguished name and
/// say what to do.
pub fn check_crls(
    policy: &str,
    files: &[DirFile<CertificateRevocationListDer<'static>>],
    trusted: &[CertificateDer<'_>],
    trusted_dir: &Path,
    now: ASN1Time,
) -> Result<()> {
    let anchors: Vec<X509Certificate<'_>> = trusted
        .iter()
        .filter_map(|cert| X509Certificate::from_der(cert.as_ref()).ok())
        .map(|(_, cert)| cert)
        .collect();
    for file in files {
        let several = file.items.len() > 1;
        for (index, der) in file.items.iter().enumerate() {
            let which = if several {
                format!("CRL #{}", index + 1)
            } else {
                "the CRL".to_owned()
            };
            check_one_crl(der.as_ref(), &anchors, trusted_dir, now).map_err(|why| {
                policy_error(policy, "revoked_dir", &file.path, format!("{which} {why}"))
            })?;
        }
    }
    Ok(())
}

/// Rule 8 for one CRL; the error completes a sentence that starts with "the CRL".
fn check_one_crl(
    der: &[u8],
    anchors: &[X509Certificate<'_>],
    trusted_dir: &Path,
    now: ASN1Time,
) -> std::result::Result<(), String> {
    let (_, crl) =
        CertificateRevocationList::from_der(der).map_err(|e| format!("does not parse: {e}"))?;
    let issuer = crl.issuer();
    let named: Vec<&X509Certificate<'_>> = anchors
        .iter()
        .filter(|cert| cert.subject().as_raw() == issuer.as_raw())
        .collect();
    if named.is_empty() {
        return Err(format!(
            "is issued by '{issuer}', which is not among the trusted certificates of trusted_dir \
             ({}), and only a CRL from a trusted CA is believed: put the issuing CA's \
             certificate (an intermediate CA's too) in trusted_dir, or remove the CRL",
            trusted_dir.display()
        ));
    }
    let mut last_error = None;
    let signer = named
        .iter()
        .find(|cert| match crl.verify_signature(cert.public_key()) {
            Ok(()) => true,
            Err(e) => {
                last_error = Some(e);
                false
            }
        });
    let Some(signer) = signer else {
        let why = match last_error {
            Some(X509Error::SignatureUnsupportedAlgorithm) => {
                "its signature algorithm is not supported".to_owned()
            }
            _ => "its signature does not verify with that certificate's key (it was not signed \
                  by that CA, or it was altered)"
                .to_owned(),
        };
        return Err(format!(
            "names '{issuer}' as its issuer, a trusted certificate of trusted_dir ({}), but {why}: \
             put the certificate of the CA that really issued it in trusted_dir, or replace the \
             CRL with one that CA signed",
            trusted_dir.display()
        ));
    };
    if let Ok(Some(usage)) = signer.key_usage() {
        if !usage.value.crl_sign() {
            return Err(format!(
                "is issued by '{issuer}', whose certificate in trusted_dir ({}) has a key usage \
                 without cRLSign: it may not sign CRLs, and verifiers would refuse this one",
                trusted_dir.display()
            ));
        }
    }
    match crl.next_update() {
        None => Err(format!(
            "from '{issuer}' has no nextUpdate, so whether it is still current can never be told; \
             issue it with a nextUpdate"
        )),
        Some(next_update) if next_update <= now => Err(format!(
            "from '{issuer}' expired: its nextUpdate was {next_update}; install a current CRL \
             from that CA (or remove this one)"
        )),
        Some(_) => Ok(()),
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
