//! The trust anchors and verifier-builder errors shared by the client- and server-side verifiers.

use rustls::pki_types::CertificateDer;
use rustls::server::VerifierBuilderError;
use rustls::RootCertStore;
use tls_policy_backend::BackendError;

/// The policy's trusted certificates as a root store; a certificate that cannot be a trust
/// anchor is refused, numbered as loaded from `trusted_dir`.
pub(crate) fn root_store(
    trusted: &[CertificateDer<'static>],
) -> Result<RootCertStore, BackendError> {
    let mut roots = RootCertStore::empty();
    for (index, cert) in trusted.iter().enumerate() {
        roots
            .add(cert.clone())
            .map_err(|err| BackendError::Rejected {
                setting: "trusted_dir",
                message: format!(
                    "trusted certificate #{} cannot be used as a trust anchor: {err}",
                    index + 1
                ),
            })?;
    }
    Ok(roots)
}

/// Names the setting a WebPKI verifier builder refused: a CRL (`revoked_dir`) or the anchors.
pub(crate) fn builder_error(err: VerifierBuilderError) -> BackendError {
    match err {
        VerifierBuilderError::InvalidCrl(crl) => BackendError::Rejected {
            setting: "revoked_dir",
            message: format!("a revocation list could not be parsed: {crl:?}"),
        },
        VerifierBuilderError::NoRootAnchors => BackendError::Rejected {
            setting: "trusted_dir",
            message: "no usable trust anchor".to_owned(),
        },
        other => BackendError::Rejected {
            setting: "trusted_dir",
            message: format!("cannot verify peers with these trust anchors: {other}"),
        },
    }
}
