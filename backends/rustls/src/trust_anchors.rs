//! The trust anchors, path links and verifier-builder errors shared by the client- and
//! server-side verifiers.
//!
//! The root store holds the anchors only. Path links (certificates of `trusted_dir` issued by
//! another one there) are offered to webpki as extra intermediates after the peer's own: its
//! path building (rustls-webpki 0.103 `build_chain_inner`) tries the anchors for each issuer
//! first, then every intermediate whose subject is the issuer's name, skipping one already in
//! the path (RFC 4158 loop prevention), so a peer may send its leaf alone; and
//! `check_signed_chain` checks the revocation of every certificate of the path it found, from
//! the one below the anchor down to the leaf, against its issuer's CRLs, so a path link gets
//! the same CRL check as an intermediate the peer sent.

use rustls::pki_types::CertificateDer;
use rustls::server::VerifierBuilderError;
use rustls::{DistinguishedName, RootCertStore};
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

/// The subjects of the policy's path links, as `certificate_authorities` hints (the server
/// side's CertificateRequest names them besides the anchors, so a client whose certificate an
/// intermediate of `trusted_dir` issued finds it listed); a certificate that does not parse is
/// refused, numbered as loaded.
pub(crate) fn path_link_subjects(
    path_links: &[CertificateDer<'static>],
) -> Result<Vec<DistinguishedName>, BackendError> {
    // A root store is the public way from a certificate to its encoded subject; this one only
    // lends the names, it verifies nothing.
    let mut names = RootCertStore::empty();
    for (index, cert) in path_links.iter().enumerate() {
        names
            .add(cert.clone())
            .map_err(|err| BackendError::Rejected {
                setting: "trusted_dir",
                message: format!(
                    "path link #{} (an intermediate CA) does not parse: {err}",
                    index + 1
                ),
            })?;
    }
    Ok(names.subjects())
}

/// The intermediates webpki gets: the peer's, in the order sent, then each path link the peer
/// did not send.
pub(crate) fn with_path_links<'a>(
    peer: &'a [CertificateDer<'_>],
    path_links: &'a [CertificateDer<'static>],
) -> Vec<CertificateDer<'a>> {
    let mut intermediates: Vec<CertificateDer<'a>> = peer
        .iter()
        .map(|cert| CertificateDer::from(cert.as_ref()))
        .collect();
    for link in path_links {
        if !peer.iter().any(|sent| sent.as_ref() == link.as_ref()) {
            intermediates.push(CertificateDer::from(link.as_ref()));
        }
    }
    intermediates
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
