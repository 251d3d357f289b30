//! Checking that the private key belongs to the leaf certificate's public key.

use std::path::Path;

use pkcs8::der::Decode;
use pkcs8::{ObjectIdentifier, PrivateKeyInfo};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tls_policy_backend::PrivateKey;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::key::{algorithm_name, OID_EC, OID_ED25519, OID_ED448, OID_RSA};
use super::{policy_error, policy_warning};
use crate::error::Result;

/// The outcome of comparing a key with a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMatch {
    /// The key's public half is the certificate's public key.
    Match,
    /// They differ; `reason` says how (algorithm, curve or key).
    Mismatch {
        /// What differs.
        reason: String,
    },
    /// The comparison could not be made (a key type rcgen cannot parse); never reported as a
    /// mismatch.
    Unknown {
        /// Why not.
        reason: String,
    },
}

/// Compares `key` with `cert`'s SubjectPublicKeyInfo.
///
/// Different algorithms or EC curves are a mismatch without further ado; otherwise the public
/// key derived by rcgen (RSA, ECDSA P-256/P-384, Ed25519) is compared bit for bit with the
/// certificate's. Fails only when the certificate or the PKCS#8 key does not parse.
pub fn compare_key_and_certificate(
    key: &PrivateKey,
    cert: &CertificateDer<'_>,
) -> std::result::Result<KeyMatch, String> {
    let (_, x509) = X509Certificate::from_der(cert.as_ref())
        .map_err(|e| format!("certificate does not parse: {e}"))?;
    let spki = x509.public_key();
    let info = PrivateKeyInfo::from_der(key.pkcs8.secret_pkcs8_der())
        .map_err(|e| format!("private key does not parse: {e}"))?;

    let key_alg = info.algorithm.oid;
    let key_curve = info.algorithm.parameters_oid().ok();
    let cert_alg = ObjectIdentifier::from_bytes(spki.algorithm.algorithm.as_bytes()).ok();
    let cert_curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .and_then(|oid| ObjectIdentifier::from_bytes(oid.as_bytes()).ok());

    let known = [OID_RSA, OID_EC, OID_ED25519, OID_ED448];
    if let Some(cert_alg) = cert_alg {
        if known.contains(&key_alg) && known.contains(&cert_alg) {
            let differs = key_alg != cert_alg
                || (key_alg == OID_EC
                    && key_curve.is_some()
                    && cert_curve.is_some()
                    && key_curve != cert_curve);
            if differs {
                return Ok(KeyMatch::Mismatch {
                    reason: format!(
                        "the key is {}, the certificate's key is {}",
                        algorithm_name(key_alg, key_curve),
                        algorithm_name(cert_alg, cert_curve)
                    ),
                });
            }
        }
    }

    let der = PrivateKeyDer::Pkcs8(key.pkcs8.clone_key());
    match rcgen::KeyPair::try_from(&der) {
        Ok(pair) if pair.public_key_raw() == spki.subject_public_key.data.as_ref() => {
            Ok(KeyMatch::Match)
        }
        Ok(_) => Ok(KeyMatch::Mismatch {
            reason: "the public keys differ".into(),
        }),
        Err(e) => Ok(KeyMatch::Unknown {
            reason: format!(
                "cannot derive the public key of this {} key ({e})",
                algorithm_name(key_alg, key_curve)
            ),
        }),
    }
}

/// Rule 2's last part: the `private_key` at `key_path` must match the `leaf` certificate read
/// from `cert_path`.
///
/// A mismatch is an error (setting `private_key`, path `key_path`) naming the certificate's
/// subject; a key that cannot be checked gives `Ok(Some(warning))`.
pub fn check_key_matches(
    policy: &str,
    key: &PrivateKey,
    key_path: &Path,
    leaf: &CertificateDer<'_>,
    cert_path: &Path,
) -> Result<Option<String>> {
    let outcome = compare_key_and_certificate(key, leaf)
        .map_err(|message| policy_error(policy, "public_certificate", cert_path, message))?;
    match outcome {
        KeyMatch::Match => Ok(None),
        KeyMatch::Mismatch { reason } => {
            let subject = X509Certificate::from_der(leaf.as_ref())
                .map(|(_, c)| c.subject().to_string())
                .unwrap_or_default();
            Err(policy_error(
                policy,
                "private_key",
                key_path,
                format!(
                    "private key does not match the certificate (subject {subject}) in {}: \
                     {reason}",
                    cert_path.display()
                ),
            ))
        }
        KeyMatch::Unknown { reason } => Ok(Some(policy_warning(
            policy,
            "private_key",
            Some(key_path),
            &format!(
                "could not check that the private key matches the certificate in {}: {reason}",
                cert_path.display()
            ),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::key::{pkcs1_to_pkcs8, sec1_to_pkcs8, OID_P256};
    use crate::load::test_support::*;
    use crate::Error;
    use rustls_pki_types::{PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};

    fn private(pair: &rcgen::KeyPair) -> PrivateKey {
        let pkcs8 = PrivatePkcs8KeyDer::from(pair.serialized_der().to_vec());
        PrivateKey {
            der: PrivateKeyDer::Pkcs8(pkcs8.clone_key()),
            pkcs8,
        }
    }

    #[test]
    fn matching_keys_match() {
        for alg in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &rcgen::PKCS_ED25519,
        ] {
            let pair = rcgen::KeyPair::generate_for(alg).unwrap();
            let cert = Ca::new("CA").issue(&pair, |_| {});
            assert_eq!(
                compare_key_and_certificate(&private(&pair), cert.der()).unwrap(),
                KeyMatch::Match,
                "{alg:?}"
            );
        }
    }

    #[test]
    fn rsa_key_matches_also_from_pkcs1() {
        let rsa = rsa_pkcs8();
        let pair = rcgen::KeyPair::try_from(&PrivateKeyDer::Pkcs8(rsa.clone().into())).unwrap();
        let cert = Ca::new("CA").issue(&pair, |_| {});
        let pkcs1 = PrivatePkcs1KeyDer::from(pkcs1_from_pkcs8(&rsa));
        let key = PrivateKey {
            pkcs8: pkcs1_to_pkcs8(&pkcs1).unwrap(),
            der: PrivateKeyDer::Pkcs1(pkcs1),
        };
        assert_eq!(
            compare_key_and_certificate(&key, cert.der()).unwrap(),
            KeyMatch::Match
        );
    }

    #[test]
    fn sec1_key_matches() {
        let pair = p256();
        let cert = Ca::new("CA").issue(&pair, |_| {});
        let sec1 = PrivateSec1KeyDer::from(sec1_from_pkcs8(pair.serialized_der(), Some(OID_P256)));
        let key = PrivateKey {
            pkcs8: sec1_to_pkcs8(&sec1).unwrap(),
            der: PrivateKeyDer::Sec1(sec1),
        };
        assert_eq!(
            compare_key_and_certificate(&key, cert.der()).unwrap(),
            KeyMatch::Match
        );
    }

    #[test]
    fn other_key_same_algorithm_mismatches() {
        let cert = Ca::new("CA").issue(&p256(), |_| {});
        let outcome = compare_key_and_certificate(&private(&p256()), cert.der()).unwrap();
        assert!(matches!(outcome, KeyMatch::Mismatch { .. }), "{outcome:?}");
    }

    #[test]
    fn other_algorithm_or_curve_mismatches() {
        let cert = Ca::new("CA").issue(&p256(), |_| {});
        let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let KeyMatch::Mismatch { reason } =
            compare_key_and_certificate(&private(&p384), cert.der()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            reason,
            "the key is EC P-384, the certificate's key is EC P-256"
        );
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let KeyMatch::Mismatch { reason } =
            compare_key_and_certificate(&private(&ed), cert.der()).unwrap()
        else {
            panic!()
        };
        assert!(reason.contains("Ed25519"), "{reason}");
    }

    #[test]
    fn mismatch_error_names_subject_and_setting() {
        let cert = Ca::new("CA").issue(&p256(), |_| {});
        let e = check_key_matches(
            "p",
            &private(&p256()),
            Path::new("/b/private.key"),
            cert.der(),
            Path::new("/b/public.crt"),
        )
        .unwrap_err();
        let Error::Policy {
            setting,
            path,
            message,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*setting, "private_key");
        assert_eq!(path.as_deref(), Some(Path::new("/b/private.key")));
        assert!(
            message
                .starts_with("private key does not match the certificate (subject CN=leaf.test)"),
            "{message}"
        );
    }

    fn raw_pkcs8(oid: ObjectIdentifier, inner: &[u8]) -> PrivateKey {
        let info = PrivateKeyInfo::new(
            pkcs8::AlgorithmIdentifierRef {
                oid,
                parameters: None,
            },
            inner,
        );
        let pkcs8 = PrivatePkcs8KeyDer::from(pkcs8::der::Encode::to_der(&info).unwrap());
        PrivateKey {
            der: PrivateKeyDer::Pkcs8(pkcs8.clone_key()),
            pkcs8,
        }
    }

    #[test]
    fn unparseable_key_type_only_warns() {
        let cert = Ca::new("CA").issue(&p256(), |_| {});
        // A key algorithm we do not know: no verdict from the OIDs, and rcgen cannot parse it.
        let odd = raw_pkcs8(ObjectIdentifier::new_unwrap("1.2.3.4"), &[1, 2, 3]);
        let w = check_key_matches(
            "p",
            &odd,
            Path::new("/b/private.key"),
            cert.der(),
            Path::new("/b/public.crt"),
        )
        .unwrap()
        .unwrap();
        assert!(w.contains("could not check"), "{w}");
        assert!(
            w.contains("policy 'p'") && w.contains("/b/private.key"),
            "{w}"
        );
    }

    #[test]
    fn known_algorithms_that_differ_mismatch_without_rcgen() {
        // Ed448: rcgen cannot parse it, but it is plainly not the certificate's P-256 key.
        let ed448 = raw_pkcs8(OID_ED448, &[0x04, 0x03, 1, 2, 3]);
        let cert = Ca::new("CA").issue(&p256(), |_| {});
        let outcome = compare_key_and_certificate(&ed448, cert.der()).unwrap();
        assert_eq!(
            outcome,
            KeyMatch::Mismatch {
                reason: "the key is Ed448, the certificate's key is EC P-256".into()
            }
        );
    }
}
