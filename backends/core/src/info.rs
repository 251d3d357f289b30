//! What a handshake negotiated, in one backend-neutral type the inner service can read.

use rustls_pki_types::CertificateDer;

use crate::{CipherSuite, TlsVersion};

/// The parameters of an established TLS session.
///
/// Fields a backend cannot report are `None` (native-tls exposes neither the version nor the
/// cipher suite nor the SNI name); see the capability table in `features.md`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// The backend that served the connection, by its feature name (`rustls-aws-lc-rs`, ...).
    pub backend: &'static str,
    /// The negotiated protocol version.
    pub protocol_version: Option<TlsVersion>,
    /// The negotiated cipher suite.
    pub cipher_suite: Option<CipherSuite>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// The peer's certificate chain, leaf first; empty when it sent none.
    pub peer_certificates: Vec<CertificateDer<'static>>,
}

impl TlsInfo {
    /// The peer's end-entity certificate, if it sent one.
    pub fn peer_certificate(&self) -> Option<&CertificateDer<'static>> {
        self.peer_certificates.first()
    }
}
