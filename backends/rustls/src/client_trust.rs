//! Chooses how the client side verifies servers: WebPKI against `trusted_dir` (with `revoked_dir`
//! CRLs), with or without the host-name check (`verify_hostname`), or `trust_all`.
//!
//! Revocation has the server side's fail-closed semantics (see `client_verifier`): once the
//! policy has any CRL, the server's leaf and every intermediate below the trust anchor must be
//! covered by a current CRL from its issuer; otherwise the handshake is refused
//! (`revocation_unknown`), never let through.
//!
//! Path links (`ServerPolicy::path_links`) are offered to webpki after the server's own
//! intermediates (`CompleteFromPathLinks`), exactly as on the server side: a server may send
//! its leaf alone, and a root's CRL that lists an intermediate of `trusted_dir` refuses every
//! server below it.
//!
//! `verify_hostname=false` (the default, as in the framework the policies come from) still
//! verifies the whole chain, its validity dates, the serverAuth usage and revocation; only the
//! match between the certificate's names and the host dialled is skipped. `trust_all=true`
//! accepts any chain, but the server must still prove it holds the key of the certificate it
//! sent (handshake signatures are verified).

use std::sync::Arc;

use crate::verifier_delegate::delegate_server_cert_verifier;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tls_policy_backend::{BackendError, ServerPolicy};

use crate::trust_anchors::{builder_error, root_store, with_path_links};

/// The server-certificate verifier `policy` asks for, using `provider` for signatures.
pub(crate) fn build(
    policy: &ServerPolicy,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, BackendError> {
    if policy.trust_all {
        return Ok(Arc::new(TrustAllServerCerts {
            algorithms: provider.signature_verification_algorithms,
        }));
    }
    if policy.trusted.is_empty() {
        return Err(BackendError::Rejected {
            setting: "trusted_dir",
            message: "the client side verifies servers against the trusted certificates, and \
                      trusted_dir holds none (add the CA that issued the servers' certificates, \
                      or set trust_all=true)"
                .to_owned(),
        });
    }

    let roots = root_store(&policy.trusted)?;

    let mut builder =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if !policy.crls.is_empty() {
        // Fail closed, as the server side: whole chain, unknown status refused, expiry enforced.
        builder = builder
            .with_crls(policy.crls.iter().cloned())
            .enforce_revocation_expiration();
    }
    let webpki = builder.build().map_err(builder_error)?;
    let verifier: Arc<dyn ServerCertVerifier> = if policy.verify_hostname {
        webpki
    } else {
        Arc::new(SkipNameCheck { inner: webpki })
    };
    if policy.path_links.is_empty() {
        return Ok(verifier);
    }
    Ok(Arc::new(CompleteFromPathLinks {
        inner: verifier,
        path_links: policy.path_links.clone(),
    }))
}

// === impl CompleteFromPathLinks ===

/// The verifier built above, given the policy's path links as intermediates besides the
/// server's.
#[derive(Debug)]
struct CompleteFromPathLinks {
    inner: Arc<dyn ServerCertVerifier>,
    path_links: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for CompleteFromPathLinks {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let intermediates = with_path_links(intermediates, &self.path_links);
        self.inner
            .verify_server_cert(end_entity, &intermediates, server_name, ocsp_response, now)
    }

    delegate_server_cert_verifier!(inner);
}

// === impl SkipNameCheck ===

/// `verify_hostname=false`: the full WebPKI verification (chain to a trusted root, validity
/// dates, serverAuth usage, CRLs) with only the name check left out.
///
/// Sound because of the order of rustls 0.23's `WebPkiServerVerifier::verify_server_cert`: it
/// first verifies the chain (`verify_server_cert_signed_by_trust_anchor_impl`, which runs
/// webpki's `verify_for_usage` with the revocation options) and returns any error from it; only
/// then does it call `verify_server_name`. webpki produces `CertNotValidForName` (mapped by
/// rustls to `CertificateError::NotValidForName[Context]`) only in its subject-name matching
/// (`subject_name/{dns_name,ip_address}.rs`), never in chain building. So when the result is
/// exactly that error, everything else has already passed. (Checked against rustls 0.23.46 and
/// rustls-webpki 0.103.17; the test `foreign_server_fails_without_hostname_check` in
/// `tests/client.rs` pins the behaviour down.)
#[derive(Debug)]
struct SkipNameCheck {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for SkipNameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    delegate_server_cert_verifier!(inner);
}

// === impl TrustAllServerCerts ===

/// `trust_all=true`: any server certificate chain is accepted, but the server must still prove
/// it holds the certificate's key (the handshake signatures are verified).
#[derive(Debug)]
struct TrustAllServerCerts {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for TrustAllServerCerts {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
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
