//! Classifying a failed OpenSSL handshake into a [`HandshakeFailure`] reason.
//!
//! Most reasons are known where the handshake fails: the verify callback's X.509 error code
//! (`X509_V_ERR_*`) for a certificate this side refused, else OpenSSL's error text (reasons
//! such as `no shared cipher`, alerts from the peer such as `tlsv1 alert unknown ca`); the
//! handshake's `io::Error` carries the result ([`crate::HandshakeError`]).

use std::io;

use openssl::x509::X509VerifyResult;
use tls_policy_backend::{HandshakeFailure, PeerRefused};

use crate::HandshakeError;

/// Why a handshake run by this backend failed, from the [`io::Error`] it returned.
///
/// A [`PeerRefused`] inside is [`HandshakeFailure::NotAllowed`]; a [`HandshakeError`] carries
/// the reason found where the handshake failed; any other error is matched against OpenSSL's
/// wording, then its kind decides (EOF, reset: [`HandshakeFailure::PeerClosed`]), else
/// [`HandshakeFailure::Other`].
///
/// ```
/// use std::io;
/// use tls_policy_backend::HandshakeFailure;
/// use tls_policy_openssl::classify_handshake_error;
///
/// let error = io::Error::new(
///     io::ErrorKind::InvalidData,
///     "error:0A0000C1:SSL routines:tls_post_process_client_hello:no shared cipher",
/// );
/// assert_eq!(classify_handshake_error(&error), HandshakeFailure::CipherMismatch);
/// ```
pub fn classify_handshake_error(error: &io::Error) -> HandshakeFailure {
    if let Some(inner) = error.get_ref() {
        if inner.is::<PeerRefused>() {
            return HandshakeFailure::NotAllowed;
        }
        if let Some(handshake) = inner.downcast_ref::<HandshakeError>() {
            return handshake.failure;
        }
    }
    classify_text(&error.to_string().to_ascii_lowercase())
        .or_else(|| HandshakeFailure::from_io_kind(error))
        .unwrap_or(HandshakeFailure::Other)
}

/// What OpenSSL's error text says, if a rule of the shared table matches.
pub(crate) fn classify_text(text: &str) -> Option<HandshakeFailure> {
    tls_policy_backend::openssl_wording::classify_openssl_text(text)
}

/// The reason for a certificate this side's verification refused.
pub(crate) fn classify_verify_error(result: X509VerifyResult) -> HandshakeFailure {
    use openssl_sys as ffi;
    match result.as_raw() {
        ffi::X509_V_ERR_CERT_REVOKED => HandshakeFailure::Revoked,
        ffi::X509_V_ERR_UNABLE_TO_GET_CRL
        | ffi::X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER
        | ffi::X509_V_ERR_CRL_HAS_EXPIRED
        | ffi::X509_V_ERR_CRL_NOT_YET_VALID => HandshakeFailure::RevocationUnknown,
        ffi::X509_V_ERR_CERT_HAS_EXPIRED => HandshakeFailure::Expired,
        ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
        | ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | ffi::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
        | ffi::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        | ffi::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        | ffi::X509_V_ERR_CERT_UNTRUSTED
        | ffi::X509_V_ERR_INVALID_CA => HandshakeFailure::UnknownCa,
        ffi::X509_V_ERR_APPLICATION_VERIFICATION => HandshakeFailure::NotAllowed,
        _ => HandshakeFailure::BadCertificate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(message: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, message.to_string())
    }

    #[test]
    fn openssl_messages() {
        let cases = [
            ("error:0A0000C1:SSL routines:tls_post_process_client_hello:no shared cipher", HandshakeFailure::CipherMismatch),
            ("error:0A000102:SSL routines:tls_early_post_process_client_hello:unsupported protocol", HandshakeFailure::ProtocolVersion),
            ("error:0A00009C:SSL routines:ssl3_get_record:http request", HandshakeFailure::NotTls),
            ("error:0A00010B:SSL routines:ssl3_get_record:wrong version number", HandshakeFailure::NotTls),
            ("error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca", HandshakeFailure::UnknownCa),
            ("error:0A000414:SSL routines:ssl3_read_bytes:sslv3 alert certificate revoked", HandshakeFailure::Revoked),
            ("error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required", HandshakeFailure::NoClientCertificate),
            ("error:0A0000C7:SSL routines:tls_process_client_certificate:peer did not return a certificate", HandshakeFailure::NoClientCertificate),
            ("something new", HandshakeFailure::Other),
        ];
        for (message, expected) in cases {
            assert_eq!(
                classify_handshake_error(&data(message)),
                expected,
                "{message}"
            );
        }
    }

    #[test]
    fn the_reason_found_at_the_failure_wins_over_the_text() {
        let error = io::Error::new(
            io::ErrorKind::InvalidData,
            HandshakeError {
                failure: HandshakeFailure::RevocationUnknown,
                message: "certificate verify failed: unable to get certificate CRL".into(),
            },
        );
        assert_eq!(
            classify_handshake_error(&error),
            HandshakeFailure::RevocationUnknown
        );
        assert_eq!(
            classify_verify_error(X509VerifyResult::APPLICATION_VERIFICATION),
            HandshakeFailure::NotAllowed
        );
    }

    #[test]
    fn kinds_decide_when_the_text_says_nothing() {
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by peer");
        assert_eq!(
            classify_handshake_error(&reset),
            HandshakeFailure::PeerClosed
        );
    }
}
