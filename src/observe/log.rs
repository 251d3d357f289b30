//! The one event a refused handshake is logged with: info for peer-side noise, warn otherwise.

use std::fmt::Display;

use tls_policy_backend::HandshakeFailure;

/// Whether a refusal for `reason` is routine peer behaviour (a scanner, a stalled or departed
/// client, plaintext on a TLS port), logged at info, rather than a certificate, version or
/// cipher problem worth a warning.
fn is_routine(reason: HandshakeFailure) -> bool {
    matches!(
        reason,
        HandshakeFailure::Timeout
            | HandshakeFailure::FirstRecordTimeout
            | HandshakeFailure::PeerClosed
            | HandshakeFailure::NotTls
    )
}

/// Logs one refused handshake in the current span, with its `reason` label.
pub(crate) fn log_refusal(reason: HandshakeFailure, detail: &dyn Display) {
    if is_routine(reason) {
        tracing::info!(reason = reason.as_str(), detail = %detail, "connection refused");
    } else {
        tracing::warn!(reason = reason.as_str(), detail = %detail, "connection refused");
    }
}
