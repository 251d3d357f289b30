//! What a handshake negotiated, in one backend-neutral type the inner service can read.

use rustls_pki_types::CertificateDer;

use crate::identity::IdentityCell;
use crate::{CipherSuite, PeerIdentity, TlsVersion};

/// The parameters of an established TLS session.
///
/// Fields a backend cannot report are `None` (native-tls exposes neither the version nor the
/// cipher suite nor the SNI name); see the capability table in `features.md`. Who the peer is
/// comes parsed from its certificate with [`TlsInfo::peer_identity`].
///
/// Made with [`TlsInfo::new`], then its public fields set:
///
/// ```
/// # use tls_policy_backend as tls_policy; // users write `tls_policy::`
/// use tls_policy::{TlsInfo, TlsVersion};
///
/// let mut info = TlsInfo::new("my-backend");
/// info.protocol_version = Some(TlsVersion::Tls13);
/// assert!(info.peer_identity().is_none()); // no peer certificate
/// ```
#[derive(Clone, Debug, Default)]
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
    // The peer's identity, parsed from `peer_certificates[0]` on first use.
    identity: IdentityCell,
}

impl TlsInfo {
    /// The parameters of a session served by `backend`, every other field empty.
    pub fn new(backend: &'static str) -> TlsInfo {
        TlsInfo {
            backend,
            ..TlsInfo::default()
        }
    }

    /// The peer's end-entity certificate, if it sent one.
    pub fn peer_certificate(&self) -> Option<&CertificateDer<'static>> {
        self.peer_certificates.first()
    }

    /// Who the peer's certificate says it is (subject, issuer, serial, validity, SHA-256
    /// fingerprint, DNS/IP/URI/e-mail SANs, [`PeerIdentity::spiffe_id`]); `None` when the peer
    /// sent no certificate (or, accepted unverified under `trust_all`, one that does not
    /// parse).
    ///
    /// Parsed on the first call and kept: every later call, from any clone made after it, is
    /// free. Set [`TlsInfo::peer_certificates`] before the first call.
    pub fn peer_identity(&self) -> Option<&PeerIdentity> {
        self.identity.get(self.peer_certificate())
    }
}

/// Equal when every negotiated parameter is; whether the identity was parsed yet does not count.
impl PartialEq for TlsInfo {
    fn eq(&self, other: &TlsInfo) -> bool {
        self.backend == other.backend
            && self.protocol_version == other.protocol_version
            && self.cipher_suite == other.cipher_suite
            && self.alpn == other.alpn
            && self.sni == other.sni
            && self.peer_certificates == other.peer_certificates
    }
}

impl Eq for TlsInfo {}
