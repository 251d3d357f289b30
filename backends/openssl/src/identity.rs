//! The policy's key and certificate chain on an OpenSSL context, checked to belong together.

use openssl::pkey::PKey;
use openssl::ssl::{SslContextBuilder, SslMode};
use openssl::x509::X509;
use tls_policy_backend::{BackendError, ServerPolicy};

use crate::capabilities::rejected;

/// Sets `cert_chain` (leaf first, served in file order) and the key, refusing a key that does
/// not match the leaf (OpenSSL would drop it silently and fail every handshake).
pub(crate) fn configure(
    builder: &mut SslContextBuilder,
    policy: &ServerPolicy,
) -> Result<(), BackendError> {
    let Some((leaf, rest)) = policy.cert_chain.split_first() else {
        return Err(rejected(
            "public_certificate",
            "the certificate chain is empty",
        ));
    };
    let leaf = X509::from_der(leaf.as_ref())
        .map_err(|err| rejected("public_certificate", format!("certificate #1: {err}")))?;
    builder
        .set_certificate(&leaf)
        .map_err(|err| rejected("public_certificate", format!("certificate #1: {err}")))?;
    for (index, der) in rest.iter().enumerate() {
        let cert = X509::from_der(der.as_ref()).map_err(|err| {
            rejected(
                "public_certificate",
                format!("certificate #{}: {err}", index + 2),
            )
        })?;
        builder.add_extra_chain_cert(cert).map_err(|err| {
            rejected(
                "public_certificate",
                format!("certificate #{}: {err}", index + 2),
            )
        })?;
    }
    let key = PKey::private_key_from_pkcs8(policy.private_key.pkcs8.secret_pkcs8_der())
        .map_err(|err| rejected("private_key", format!("the key cannot be read: {err}")))?;
    let mismatch = |_| {
        rejected(
            "private_key",
            "the private key does not match the certificate (the first in public_certificate)",
        )
    };
    builder.set_private_key(&key).map_err(mismatch)?;
    builder.check_private_key().map_err(mismatch)?;
    // The chain is served as the policy lists it, never completed from the trust store.
    builder.set_mode(SslMode::NO_AUTO_CHAIN);
    Ok(())
}
