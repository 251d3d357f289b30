//! `allowed_peers` and the application's `PeerCheck` in the rustls handshake: wrappers around
//! the chain verifiers that match the verified leaf, and the refusal they leave for the
//! handshake's error.
//!
//! Server side, [`gate_clients`] wraps the client-certificate verifier: once the inner
//! `verify_client_cert` succeeded, the leaf must pass the [`PeerGate`], else the verifier
//! returns `CertificateError::ApplicationVerificationFailure`, which rustls 0.23 sends as the
//! alert `access_denied` (`impl From<CertificateError> for AlertDescription` in
//! `rustls/src/error.rs`) and which classifies as `not_allowed`. With a gate, every client is
//! asked for a certificate and must send one: one without cannot match, so it is refused
//! (`certificate_required`), whatever `client_auth` says. Client side, [`gate_servers`] wraps
//! the server-certificate verifier the same way.
//!
//! rustls's error carries no payload, so the wrapper records who it refused in a thread-local
//! slot; [`with_refusals`] polls the handshake, takes the record on the same thread in the
//! same poll (verification runs synchronously inside it), and puts the [`PeerRefused`] (policy,
//! subject, SANs) into the returned [`io::Error`].
//!
//! Resumed sessions do not verify the peer again (rustls restores the original chain), so a
//! session made before a reload that narrowed the list could slip through; [`admit_resumed`]
//! matches the restored leaf after such a handshake and refuses it too.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, CommonState, HandshakeKind};
use tls_policy_backend::{
    BackendError, ClientAuth, ClientOptions, PeerGate, PeerRefused, RefusedBy, ServerOptions,
    ServerPolicy,
};

use crate::verifier_delegate::{delegate_client_cert_verifier, delegate_server_cert_verifier};

thread_local! {
    /// The last peer refused by a gate on this thread, until [`with_refusals`] takes it.
    static REFUSED: RefCell<Option<PeerRefused>> = const { RefCell::new(None) };
}

/// The gate of the server side of `policy` with `options`; `None` when nothing restricts peers.
pub(crate) fn server_gate(policy: &ServerPolicy, options: &ServerOptions) -> Option<PeerGate> {
    PeerGate::new(policy, options.peer_check.as_ref())
}

/// The gate of the client side.
pub(crate) fn client_gate(policy: &ServerPolicy, options: &ClientOptions) -> Option<PeerGate> {
    PeerGate::new(policy, options.peer_check.as_ref())
}

/// `inner`, the client-certificate verifier of `policy`, with the policy's and channel's gate
/// after it. A gate under `client_auth=NONE` is refused: no client would send a certificate to
/// match, so the list could only be ignored (fail open) or refuse everyone.
pub(crate) fn gate_clients(
    policy: &ServerPolicy,
    options: &ServerOptions,
    inner: Arc<dyn ClientCertVerifier>,
) -> Result<Arc<dyn ClientCertVerifier>, BackendError> {
    let Some(gate) = server_gate(policy, options) else {
        return Ok(inner);
    };
    if policy.client_auth == ClientAuth::None {
        return Err(BackendError::Rejected {
            setting: "allowed_peers",
            message: "client_auth=NONE asks clients for no certificate, so no client could be \
                      matched against allowed_peers (or the application's peer check); set \
                      client_auth=REQUIRE, or remove allowed_peers"
                .to_owned(),
        });
    }
    Ok(Arc::new(GatedClientVerifier { inner, gate }))
}

/// `inner`, the server-certificate verifier of `policy`, with the gate after it.
pub(crate) fn gate_servers(
    policy: &ServerPolicy,
    options: &ClientOptions,
    inner: Arc<dyn ServerCertVerifier>,
) -> Arc<dyn ServerCertVerifier> {
    match client_gate(policy, options) {
        Some(gate) => Arc::new(GatedServerVerifier { inner, gate }),
        None => inner,
    }
}

/// Runs `gate` on a verified leaf; a refusal is recorded and becomes rustls's
/// `ApplicationVerificationFailure` (alert `access_denied`).
fn admit(gate: &PeerGate, leaf: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    gate.admit(leaf).map_err(|refused| {
        REFUSED.with(|slot| *slot.borrow_mut() = Some(refused));
        rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
    })
}

/// Drives `handshake`, turning a gate's refusal into an [`io::Error`] that holds the
/// [`PeerRefused`] (kind `PermissionDenied`); every other outcome passes unchanged.
pub(crate) async fn with_refusals<T>(
    handshake: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let mut handshake = pin!(handshake);
    std::future::poll_fn(|cx| {
        REFUSED.with(|slot| slot.borrow_mut().take());
        let poll = handshake.as_mut().poll(cx);
        let refused = REFUSED.with(|slot| slot.borrow_mut().take());
        match (poll, refused) {
            (Poll::Ready(Err(error)), Some(refused)) if is_not_allowed(&error) => Poll::Ready(Err(
                io::Error::new(io::ErrorKind::PermissionDenied, refused),
            )),
            (poll, _) => poll,
        }
    })
    .await
}

fn is_not_allowed(error: &io::Error) -> bool {
    matches!(
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure
        ))
    )
}

/// After a resumed handshake, matches the leaf rustls restored from the session (a full
/// handshake was matched in the verifier); a resumed session without a leaf is refused too.
pub(crate) fn admit_resumed(gate: Option<&PeerGate>, conn: &CommonState) -> io::Result<()> {
    let Some(gate) = gate else {
        return Ok(());
    };
    if conn.handshake_kind() != Some(HandshakeKind::Resumed) {
        return Ok(());
    }
    let refused = match conn.peer_certificates().and_then(|chain| chain.first()) {
        Some(leaf) => gate.admit(leaf).err(),
        None => Some(PeerRefused {
            policy: gate.policy().to_owned(),
            by: RefusedBy::Unreadable,
            peer: "a resumed session without a peer certificate".to_owned(),
        }),
    };
    match refused {
        Some(refused) => Err(io::Error::new(io::ErrorKind::PermissionDenied, refused)),
        None => Ok(()),
    }
}

// === impl GatedClientVerifier ===

/// A client-certificate verifier followed by a [`PeerGate`]; always asks for, and requires, a
/// certificate.
#[derive(Debug)]
struct GatedClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    gate: PeerGate,
}

impl ClientCertVerifier for GatedClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        admit(&self.gate, end_entity)?;
        Ok(verified)
    }

    delegate_client_cert_verifier!(inner);
}

// === impl GatedServerVerifier ===

/// A server-certificate verifier followed by a [`PeerGate`].
#[derive(Debug)]
struct GatedServerVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    gate: PeerGate,
}

impl ServerCertVerifier for GatedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        admit(&self.gate, end_entity)?;
        Ok(verified)
    }

    delegate_server_cert_verifier!(inner);
}
