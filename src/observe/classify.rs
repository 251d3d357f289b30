//! Dispatching a failed handshake's error to its backend's classifier.

use std::io;

use tls_policy_backend::HandshakeFailure;

use crate::Backend;

/// Why a handshake run by `backend` failed, from the [`io::Error`] it returned.
///
/// Each backend classifies its own errors ([`tls_policy_backend::TlsBackend::classify_handshake_error`]):
/// rustls reads the `rustls::Error` inside, openssl the verification code it recorded,
/// native-tls matches the platform library's message (best effort). An EOF or reset with
/// nothing more specific is [`HandshakeFailure::PeerClosed`].
pub fn classify_handshake_error(backend: Backend, error: &io::Error) -> HandshakeFailure {
    backend.classify(error)
}
