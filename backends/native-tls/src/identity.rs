//! The policy's certificate chain and key as a native-tls [`Identity`] (PEM, unencrypted PKCS#8).

use native_tls::Identity;
use pem::Pem;
use tls_policy_backend::{BackendError, ServerPolicy};

/// Builds the server identity from `policy.cert_chain` (leaf first) and `policy.private_key.pkcs8`.
///
/// native-tls takes only PEM, so the DER the loader produced is framed again here.
pub(crate) fn identity(policy: &ServerPolicy) -> Result<Identity, BackendError> {
    if policy.cert_chain.is_empty() {
        return Err(BackendError::Rejected {
            setting: "public_certificate",
            message: "the certificate chain is empty".into(),
        });
    }
    let chain: Vec<Pem> = policy
        .cert_chain
        .iter()
        .map(|cert| Pem::new("CERTIFICATE", cert.as_ref()))
        .collect();
    let chain_pem = pem::encode_many(&chain);
    let key_pem = pem::encode(&Pem::new(
        "PRIVATE KEY",
        policy.private_key.pkcs8.secret_pkcs8_der(),
    ));
    let identity =
        Identity::from_pkcs8(chain_pem.as_bytes(), key_pem.as_bytes()).map_err(|err| {
            BackendError::Rejected {
                setting: "private_key",
                message: err.to_string(),
            }
        })?;
    check_key_matches(policy)?;
    Ok(identity)
}

/// Refuses a key that does not belong to the leaf certificate.
///
/// native-tls on OpenSSL does not: `SSL_CTX_use_certificate` silently drops a mismatched key,
/// the acceptor builds, and every handshake then fails with "no shared cipher".
#[cfg(not(any(target_os = "windows", target_vendor = "apple")))]
fn check_key_matches(policy: &ServerPolicy) -> Result<(), BackendError> {
    use openssl::pkey::PKey;
    use openssl::x509::X509;

    let rejected = |message: String| BackendError::Rejected {
        setting: "private_key",
        message,
    };
    let Some(leaf) = policy.cert_chain.first() else {
        return Err(rejected("the certificate chain is empty".into()));
    };
    let certified = X509::from_der(leaf.as_ref())
        .and_then(|cert| cert.public_key())
        .map_err(|err| rejected(format!("the certificate cannot be read: {err}")))?;
    let key = PKey::private_key_from_pkcs8(policy.private_key.pkcs8.secret_pkcs8_der())
        .map_err(|err| rejected(format!("the key cannot be read: {err}")))?;
    if key.public_eq(&certified) {
        Ok(())
    } else {
        Err(rejected(
            "the private key does not match the certificate (the first in public_certificate)"
                .into(),
        ))
    }
}

/// Not checked here on Secure Transport and SChannel (untested there); the loader already
/// checks that the key matches the certificate (policy-spec §2, start-up validation step 2).
#[cfg(any(target_os = "windows", target_vendor = "apple"))]
fn check_key_matches(_policy: &ServerPolicy) -> Result<(), BackendError> {
    Ok(())
}
