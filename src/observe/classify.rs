//! Dispatching a failed handshake's error to its backend's classifier.

use std::io;

use tls_policy_backend::HandshakeFailure;

use crate::Backend;

/// Why a handshake run by `backend` failed, from the [`io::Error`] it returned.
///
/// rustls backends read the `rustls::Error` inside; native-tls matches the platform library's
/// message (best effort). An EOF or reset with nothing more specific is
/// [`HandshakeFailure::PeerClosed`].
pub fn classify_handshake_error(backend: Backend, error: &io::Error) -> HandshakeFailure {
    match backend {
        #[cfg(feature = "rustls-aws-lc-rs")]
        Backend::RustlsAwsLcRs => tls_policy_rustls::classify_handshake_error(error),
        #[cfg(feature = "rustls-ring")]
        Backend::RustlsRing => tls_policy_rustls::classify_handshake_error(error),
        #[cfg(feature = "native-tls")]
        Backend::NativeTls => tls_policy_native_tls::classify_handshake_error(error),
    }
}
