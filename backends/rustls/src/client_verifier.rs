//! Chooses how a server verifies client certificates: none, WebPKI against `trusted_dir` (with
//! `revoked_dir` CRLs), or `trust_all`.
//!
//! Revocation fails closed (spec §2, "Revocation"): once the policy has any CRL, every
//! certificate of the client's chain below the trust anchor (the leaf and each intermediate) is
//! accepted only when a current CRL from its issuer covers it. A certificate whose issuer has no
//! CRL, or only one past its nextUpdate (`enforce_revocation_expiration`), is refused with
//! `CertificateError::UnknownRevocationStatus` / `ExpiredRevocationList[Context]`, classified
//! as `revocation_unknown`; a listed one with `CertificateError::Revoked` (`revoked`). The
//! loader has already checked that every CRL is signed by a certificate of `trusted_dir` and is
//! current at load time.
//!
//! Path links (`ServerPolicy::path_links`, spec §2 "Anchors and path links") are not in the root
//! store: `CompleteFromPathLinks` offers them to webpki after the client's own intermediates,
//! so a client may send its leaf alone, and each is checked for revocation like an intermediate
//! the client sent (see `trust_anchors`). A root's CRL that lists an intermediate of
//! `trusted_dir` therefore refuses every client below it (`revoked`), and without a CRL from
//! the root the intermediate's status is unknown (`revocation_unknown`). The CertificateRequest
//! names the path links besides the anchors.
//!
//! `trust_all`: any client chain is accepted (`trusted_dir` and `revoked_dir` are ignored), but
//! the client must still prove it holds the key of the certificate it sent.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tls_policy_backend::{BackendError, ClientAuth, ServerPolicy};

use crate::trust_anchors::{builder_error, path_link_subjects, root_store, with_path_links};
use crate::verifier_delegate::delegate_client_cert_verifier;

/// The client-certificate verifier `policy` asks for, using `provider` for signatures.
pub(crate) fn build(
    policy: &ServerPolicy,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, BackendError> {
    let mandatory = match policy.client_auth {
        ClientAuth::None => return Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::Optional => false,
        ClientAuth::Require => true,
    };
    if policy.trust_all {
        return Ok(Arc::new(TrustAllClientCerts {
            mandatory,
            algorithms: provider.signature_verification_algorithms,
        }));
    }
    if policy.trusted.is_empty() {
        return Err(BackendError::Rejected {
            setting: "trusted_dir",
            message: format!(
                "client_auth={} needs at least one trusted certificate to verify clients \
                 against, and trusted_dir holds none (or set client_auth=NONE, or trust_all=true)",
                policy.client_auth
            ),
        });
    }

    let roots = root_store(&policy.trusted)?;

    let mut builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if !policy.crls.is_empty() {
        // Fail closed: no `allow_unknown_revocation_status`, no `only_check_end_entity_revocation`
        // (the whole chain below the anchor), and an expired CRL counts as no CRL.
        builder = builder
            .with_crls(policy.crls.iter().cloned())
            .enforce_revocation_expiration();
    }
    if !mandatory {
        builder = builder.allow_unauthenticated();
    }
    if policy.path_links.is_empty() {
        return builder.build().map_err(builder_error);
    }
    let webpki = builder
        .add_root_hint_subjects(path_link_subjects(&policy.path_links)?)
        .build()
        .map_err(builder_error)?;
    Ok(Arc::new(CompleteFromPathLinks {
        inner: webpki,
        path_links: policy.path_links.clone(),
    }))
}

// === impl CompleteFromPathLinks ===

/// The WebPKI verifier, given the policy's path links as intermediates besides the client's.
#[derive(Debug)]
struct CompleteFromPathLinks {
    inner: Arc<dyn ClientCertVerifier>,
    path_links: Vec<CertificateDer<'static>>,
}

impl ClientCertVerifier for CompleteFromPathLinks {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let intermediates = with_path_links(intermediates, &self.path_links);
        self.inner
            .verify_client_cert(end_entity, &intermediates, now)
    }

    delegate_client_cert_verifier!(inner);
}

// === impl TrustAllClientCerts ===

/// `trust_all=true`: any client certificate chain is accepted, but the client must still prove
/// it holds the certificate's key (the handshake signatures are verified).
#[derive(Debug)]
struct TrustAllClientCerts {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for TrustAllClientCerts {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
