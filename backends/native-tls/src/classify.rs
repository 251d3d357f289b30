//! Classifying a failed native-tls server handshake into a [`HandshakeFailure`] reason.

use std::io;

use tls_policy_backend::{HandshakeFailure, PeerRefused};

/// What the platform library's error text says, first match wins (lower case, OpenSSL wording;
/// alerts from the peer read "tlsv1 alert unknown ca" and the like).
const RULES: &[(&str, HandshakeFailure)] = &[
    ("unknown ca", HandshakeFailure::UnknownCa),
    ("unable to get local issuer", HandshakeFailure::UnknownCa),
    (
        "self-signed certificate in certificate chain",
        HandshakeFailure::UnknownCa,
    ),
    ("certificate revoked", HandshakeFailure::Revoked),
    // A peer's refusal of our certificate by its allow-list (OpenSSL: "tlsv1 alert access denied").
    ("access denied", HandshakeFailure::NotAllowed),
    // OpenSSL's X509_V_ERR_UNABLE_TO_GET_CRL and X509_V_ERR_CRL_HAS_EXPIRED: revocation checking
    // was on and no current CRL covered the certificate (a peer's OpenSSL may report these).
    (
        "unable to get certificate crl",
        HandshakeFailure::RevocationUnknown,
    ),
    ("crl has expired", HandshakeFailure::RevocationUnknown),
    ("certificate expired", HandshakeFailure::Expired),
    ("certificate has expired", HandshakeFailure::Expired),
    (
        "peer did not return a certificate",
        HandshakeFailure::NoClientCertificate,
    ),
    (
        "certificate required",
        HandshakeFailure::NoClientCertificate,
    ),
    ("no shared cipher", HandshakeFailure::CipherMismatch),
    ("no ciphers available", HandshakeFailure::CipherMismatch),
    (
        "no suitable signature algorithm",
        HandshakeFailure::CipherMismatch,
    ),
    (
        "no shared signature algorithms",
        HandshakeFailure::CipherMismatch,
    ),
    ("insufficient security", HandshakeFailure::CipherMismatch),
    ("unsupported protocol", HandshakeFailure::ProtocolVersion),
    ("protocol version", HandshakeFailure::ProtocolVersion),
    ("version too low", HandshakeFailure::ProtocolVersion),
    ("http request", HandshakeFailure::NotTls),
    ("https proxy request", HandshakeFailure::NotTls),
    ("wrong version number", HandshakeFailure::NotTls),
    ("unknown protocol", HandshakeFailure::NotTls),
    ("packet length too long", HandshakeFailure::NotTls),
    ("bad certificate", HandshakeFailure::BadCertificate),
    ("unsupported certificate", HandshakeFailure::BadCertificate),
    ("certificate unknown", HandshakeFailure::BadCertificate),
    (
        "certificate verify failed",
        HandshakeFailure::BadCertificate,
    ),
    ("unexpected eof", HandshakeFailure::PeerClosed),
];

/// Why a handshake run by this backend failed, from the [`io::Error`] it returned.
///
/// Best effort: native-tls exposes no error codes, so the platform library's message (and its
/// sources') is matched against known OpenSSL wording — `no shared cipher`, `unsupported
/// protocol`, `http request`, `wrong version number`, alerts such as `tlsv1 alert unknown ca` —
/// then the error's kind decides (EOF, reset: [`HandshakeFailure::PeerClosed`]); anything else
/// is [`HandshakeFailure::Other`].
///
/// ```
/// use std::io;
/// use tls_policy_backend::{HandshakeFailure, PeerRefused};
/// use tls_policy_native_tls::classify_handshake_error;
///
/// let error = io::Error::new(
///     io::ErrorKind::InvalidData,
///     "error:0A0000C1:SSL routines:tls_post_process_client_hello:no shared cipher",
/// );
/// assert_eq!(classify_handshake_error(&error), HandshakeFailure::CipherMismatch);
/// ```
pub fn classify_handshake_error(error: &io::Error) -> HandshakeFailure {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<PeerRefused>())
    {
        return HandshakeFailure::NotAllowed;
    }
    let mut text = error.to_string().to_ascii_lowercase();
    let mut cause = std::error::Error::source(error);
    while let Some(source) = cause {
        text.push('\n');
        text.push_str(&source.to_string().to_ascii_lowercase());
        cause = source.source();
    }
    RULES
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, failure)| *failure)
        .or_else(|| HandshakeFailure::from_io_kind(error))
        .unwrap_or(HandshakeFailure::Other)
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
            ("error:0A000126:SSL routines:ssl3_read_n:unexpected eof while reading", HandshakeFailure::PeerClosed),
            ("error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed (unable to get certificate CRL)", HandshakeFailure::RevocationUnknown),
            ("error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed (CRL has expired)", HandshakeFailure::RevocationUnknown),
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
    fn kinds_decide_when_the_text_says_nothing() {
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by peer");
        assert_eq!(
            classify_handshake_error(&reset),
            HandshakeFailure::PeerClosed
        );
    }
}
