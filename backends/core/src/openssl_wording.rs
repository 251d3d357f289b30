//! OpenSSL's error wording, mapped to [`HandshakeFailure`] reasons: shared by the backends that
//! run on OpenSSL (native-tls on Linux, openssl), whose errors carry only its text.
//!
//! ```
//! use tls_policy_backend::openssl_wording::classify_openssl_text;
//! use tls_policy_backend::HandshakeFailure;
//!
//! let text = "error:0A0000C1:SSL routines:tls_post_process_client_hello:no shared cipher";
//! assert_eq!(classify_openssl_text(text), Some(HandshakeFailure::CipherMismatch));
//! assert_eq!(classify_openssl_text("something new"), None);
//! ```

use crate::HandshakeFailure;

/// OpenSSL's wording, first match wins (lower case; alerts from the peer read "tlsv1 alert
/// unknown ca"). `access denied` is a peer's allow-list refusing our certificate; `unable to
/// get certificate crl` and `crl has expired` are X509_V_ERR_UNABLE_TO_GET_CRL and
/// X509_V_ERR_CRL_HAS_EXPIRED: revocation checking was on and no current CRL covered the
/// certificate.
const RULES: &[(&str, HandshakeFailure)] = &[
    ("unknown ca", HandshakeFailure::UnknownCa),
    ("unable to get local issuer", HandshakeFailure::UnknownCa),
    ("self-signed certificate", HandshakeFailure::UnknownCa),
    ("certificate revoked", HandshakeFailure::Revoked),
    ("access denied", HandshakeFailure::NotAllowed),
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
    ("no suitable key share", HandshakeFailure::CipherMismatch),
    ("insufficient security", HandshakeFailure::CipherMismatch),
    ("unsupported protocol", HandshakeFailure::ProtocolVersion),
    ("protocol version", HandshakeFailure::ProtocolVersion),
    ("version too low", HandshakeFailure::ProtocolVersion),
    ("http request", HandshakeFailure::NotTls),
    ("https proxy request", HandshakeFailure::NotTls),
    ("wrong version number", HandshakeFailure::NotTls),
    ("unknown protocol", HandshakeFailure::NotTls),
    ("packet length too long", HandshakeFailure::NotTls),
    ("record layer failure", HandshakeFailure::NotTls),
    ("bad certificate", HandshakeFailure::BadCertificate),
    ("unsupported certificate", HandshakeFailure::BadCertificate),
    ("certificate unknown", HandshakeFailure::BadCertificate),
    (
        "certificate verify failed",
        HandshakeFailure::BadCertificate,
    ),
    ("unexpected eof", HandshakeFailure::PeerClosed),
];

/// The reason OpenSSL's error `text` names, if a rule matches (case-insensitive).
pub fn classify_openssl_text(text: &str) -> Option<HandshakeFailure> {
    let text = text.to_ascii_lowercase();
    RULES
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, failure)| *failure)
}
