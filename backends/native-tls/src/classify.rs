//! Classifying a failed native-tls server handshake into a [`HandshakeFailure`] reason.

use std::io;

use tls_policy_backend::openssl_wording::classify_openssl_text;
use tls_policy_backend::{HandshakeFailure, PeerRefused};

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
    classify_openssl_text(&text)
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
