//! Classifying a failed rustls server handshake into a [`HandshakeFailure`] reason.

use std::io;

use rustls::{AlertDescription, CertificateError, InvalidMessage, PeerIncompatible};
use tls_policy_backend::{HandshakeFailure, PeerRefused};

/// Why a handshake run by this backend failed, from the [`io::Error`] it returned.
///
/// The [`rustls::Error`] inside (tokio-rustls wraps it as the error's payload) decides; without
/// one the error's kind does (EOF, reset: [`HandshakeFailure::PeerClosed`]), else
/// [`HandshakeFailure::Other`].
///
/// ```
/// use std::io;
/// use tls_policy_backend::HandshakeFailure;
/// use tls_policy_rustls::classify_handshake_error;
///
/// let no_cert = tls_policy_rustls::rustls::Error::NoCertificatesPresented;
/// let refused = io::Error::new(io::ErrorKind::InvalidData, no_cert);
/// assert_eq!(classify_handshake_error(&refused), HandshakeFailure::NoClientCertificate);
/// ```
pub fn classify_handshake_error(error: &io::Error) -> HandshakeFailure {
    let inner = error.get_ref();
    if inner.is_some_and(|inner| inner.is::<PeerRefused>()) {
        return HandshakeFailure::NotAllowed;
    }
    if let Some(tls) = inner.and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        return classify_rustls_error(tls);
    }
    HandshakeFailure::from_io_kind(error).unwrap_or(HandshakeFailure::Other)
}

/// Why rustls refused a handshake, from its own error.
///
/// An alert the peer sent is classified by what it says about our side (a client that does not
/// trust our CA sends `unknown_ca`).
pub fn classify_rustls_error(error: &rustls::Error) -> HandshakeFailure {
    match error {
        rustls::Error::InvalidCertificate(certificate) => classify_certificate(certificate),
        rustls::Error::NoCertificatesPresented => HandshakeFailure::NoClientCertificate,
        rustls::Error::PeerIncompatible(incompatible) => classify_incompatible(incompatible),
        rustls::Error::InvalidMessage(
            InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
        ) => HandshakeFailure::NotTls,
        rustls::Error::AlertReceived(alert) => classify_alert(*alert),
        _ => HandshakeFailure::Other,
    }
}

fn classify_certificate(error: &CertificateError) -> HandshakeFailure {
    match error {
        CertificateError::UnknownIssuer => HandshakeFailure::UnknownCa,
        CertificateError::Revoked => HandshakeFailure::Revoked,
        // A verified peer that allowed_peers or the application's check refused.
        CertificateError::ApplicationVerificationFailure => HandshakeFailure::NotAllowed,
        // Revocation checking is on and no current CRL from the issuer covers the certificate
        // (none at all, or only one past its nextUpdate).
        CertificateError::UnknownRevocationStatus
        | CertificateError::ExpiredRevocationList
        | CertificateError::ExpiredRevocationListContext { .. } => {
            HandshakeFailure::RevocationUnknown
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            HandshakeFailure::Expired
        }
        _ => HandshakeFailure::BadCertificate,
    }
}

fn classify_incompatible(error: &PeerIncompatible) -> HandshakeFailure {
    match error {
        PeerIncompatible::NoCipherSuitesInCommon
        | PeerIncompatible::NoKxGroupsInCommon
        | PeerIncompatible::NoSignatureSchemesInCommon
        | PeerIncompatible::NoCertificateRequestSignatureSchemesInCommon => {
            HandshakeFailure::CipherMismatch
        }
        PeerIncompatible::SupportedVersionsExtensionRequired
        | PeerIncompatible::Tls12NotOffered
        | PeerIncompatible::Tls12NotOfferedOrEnabled
        | PeerIncompatible::ServerDoesNotSupportTls12Or13
        | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig => {
            HandshakeFailure::ProtocolVersion
        }
        _ => HandshakeFailure::Other,
    }
}

fn classify_alert(alert: AlertDescription) -> HandshakeFailure {
    match alert {
        AlertDescription::UnknownCA => HandshakeFailure::UnknownCa,
        AlertDescription::CertificateRevoked => HandshakeFailure::Revoked,
        AlertDescription::CertificateExpired => HandshakeFailure::Expired,
        AlertDescription::CertificateRequired => HandshakeFailure::NoClientCertificate,
        AlertDescription::AccessDenied => HandshakeFailure::NotAllowed,
        AlertDescription::ProtocolVersion => HandshakeFailure::ProtocolVersion,
        AlertDescription::InsufficientSecurity => HandshakeFailure::CipherMismatch,
        AlertDescription::BadCertificate
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateUnknown => HandshakeFailure::BadCertificate,
        _ => HandshakeFailure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(error: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, error)
    }

    #[test]
    fn certificate_errors() {
        let cases = [
            (CertificateError::UnknownIssuer, HandshakeFailure::UnknownCa),
            (CertificateError::Revoked, HandshakeFailure::Revoked),
            (
                CertificateError::UnknownRevocationStatus,
                HandshakeFailure::RevocationUnknown,
            ),
            (
                CertificateError::ExpiredRevocationList,
                HandshakeFailure::RevocationUnknown,
            ),
            (
                CertificateError::ExpiredRevocationListContext {
                    time: rustls::pki_types::UnixTime::since_unix_epoch(
                        std::time::Duration::from_secs(2),
                    ),
                    next_update: rustls::pki_types::UnixTime::since_unix_epoch(
                        std::time::Duration::from_secs(1),
                    ),
                },
                HandshakeFailure::RevocationUnknown,
            ),
            (CertificateError::Expired, HandshakeFailure::Expired),
            (
                CertificateError::ApplicationVerificationFailure,
                HandshakeFailure::NotAllowed,
            ),
            (
                CertificateError::BadSignature,
                HandshakeFailure::BadCertificate,
            ),
        ];
        for (error, expected) in cases {
            let io = wrapped(rustls::Error::InvalidCertificate(error));
            assert_eq!(classify_handshake_error(&io), expected);
        }
    }

    #[test]
    fn incompatibility_messages_and_alerts() {
        let cases = [
            (
                rustls::Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon),
                HandshakeFailure::CipherMismatch,
            ),
            (
                rustls::Error::PeerIncompatible(
                    PeerIncompatible::SupportedVersionsExtensionRequired,
                ),
                HandshakeFailure::ProtocolVersion,
            ),
            (
                rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType),
                HandshakeFailure::NotTls,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::UnknownCA),
                HandshakeFailure::UnknownCa,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::AccessDenied),
                HandshakeFailure::NotAllowed,
            ),
            (rustls::Error::DecryptError, HandshakeFailure::Other),
        ];
        for (error, expected) in cases {
            assert_eq!(classify_handshake_error(&wrapped(error)), expected);
        }
    }

    #[test]
    fn eof_without_a_rustls_error_is_peer_closed() {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert_eq!(classify_handshake_error(&eof), HandshakeFailure::PeerClosed);
        let refused = io::Error::new(
            io::ErrorKind::PermissionDenied,
            PeerRefused {
                policy: "p".into(),
                by: tls_policy_backend::RefusedBy::AllowedPeers,
                peer: "subject CN=x".into(),
            },
        );
        assert_eq!(
            classify_handshake_error(&refused),
            HandshakeFailure::NotAllowed
        );
        let odd = io::Error::other("something");
        assert_eq!(classify_handshake_error(&odd), HandshakeFailure::Other);
    }
}
