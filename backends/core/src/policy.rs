//! A policy's material and settings once loaded: what a backend compiles, with no files left to read.

use std::fmt;

use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer,
};

/// Whether and how a server asks its clients for a certificate (`client_auth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientAuth {
    /// Never ask for a client certificate.
    None,
    /// Ask for one; accept a client that sends none, verify one that does.
    Optional,
    /// Demand one and verify it: mutual TLS. The default.
    Require,
}

impl ClientAuth {
    /// The config spelling: `NONE`, `OPTIONAL` or `REQUIRE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::None => "NONE",
            ClientAuth::Optional => "OPTIONAL",
            ClientAuth::Require => "REQUIRE",
        }
    }
}

impl fmt::Display for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TLS protocol version this project will negotiate. Older versions are refused at parse time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl TlsVersion {
    /// The config spelling, as in `tls_versions`: `TLSv1.2` or `TLSv1.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A private key, decrypted, in the form it was written and as PKCS#8.
///
/// Backends that take any format (rustls) use [`PrivateKey::der`]; backends that take PKCS#8 only
/// (native-tls) use [`PrivateKey::pkcs8`], which the loader derives once.
pub struct PrivateKey {
    /// The key as read: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub der: PrivateKeyDer<'static>,
    /// The same key as unencrypted PKCS#8.
    pub pkcs8: PrivatePkcs8KeyDer<'static>,
}

impl Clone for PrivateKey {
    fn clone(&self) -> Self {
        PrivateKey {
            der: self.der.clone_key(),
            pkcs8: self.pkcs8.clone_key(),
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

/// A loaded, validated SSL policy: the input to [`crate::TlsBackend::server`] and
/// [`crate::TlsBackend::client`].
///
/// Despite its name it serves both sides of a channel (spec §3: a channel is served and dialled
/// with the same policy; [`Policy`] is the neutral alias). As a server it presents `cert_chain`,
/// asks clients for certificates per `client_auth` and verifies them against `trusted`
/// (completing chains from `path_links`) and `crls` (or `trust_all`). As a client it presents
/// `cert_chain` to servers that ask, verifies the server the same way (or `trust_all`), and
/// checks the server's name when `verify_hostname`. `tls_versions` and `ciphers` apply to both
/// sides; `client_auth` and `session_resumption` are server-side settings (backends may also
/// honour `session_resumption=false` on the client side).
#[derive(Clone, Debug)]
pub struct ServerPolicy {
    /// The policy's name, as in `dbms.ssl.policy.<name>.*` (or `legacy`).
    pub name: String,
    /// The certificate chain, leaf first, served in this order.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The private key matching `cert_chain[0]`.
    pub private_key: PrivateKey,
    /// Trust anchors for verifying peers: the certificates of `trusted_dir` not issued by
    /// another one there (self-signed roots, or CAs whose issuer is absent).
    pub trusted: Vec<CertificateDer<'static>>,
    /// Path links: the certificates of `trusted_dir` issued (name and signature) by another
    /// certificate of `trusted_dir` (spec §2 "Anchors and path links"). Not trust anchors:
    /// verifiers complete peers' chains with them (a peer may send its leaf alone) and, with
    /// revocation on, check each against its issuer's CRL like any intermediate, so a root's CRL
    /// can revoke an intermediate CA. Empty when `trusted_dir` holds only anchors.
    pub path_links: Vec<CertificateDer<'static>>,
    /// Revocation lists (from `revoked_dir`); any present switches revocation checking on, fail
    /// closed: the peer's leaf and every intermediate below the trust anchor must be covered by
    /// a current CRL from its issuer (path links included), else the handshake is refused
    /// ([`crate::HandshakeFailure::RevocationUnknown`]). The loader has checked that each is
    /// issued and signed by a certificate of `trusted` or `path_links` and not past its
    /// nextUpdate.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    /// Whether clients must present a certificate.
    pub client_auth: ClientAuth,
    /// Accept any peer certificate; `trusted` is then ignored.
    pub trust_all: bool,
    /// Versions to negotiate, never empty, ascending.
    pub tls_versions: Vec<TlsVersion>,
    /// Cipher suites allowed, in preference order; `None` means the backend's default.
    pub ciphers: Option<Vec<crate::CipherSuite>>,
    /// Client side: check the server's certificate against the host dialled.
    pub verify_hostname: bool,
    /// Server side: offer session resumption (session cache and tickets) where the backend can.
    pub session_resumption: bool,
    /// Server side: the session-ticket keys shared with the other replicas
    /// (`session_ticket_keys`); `None` lets the backend make its own. The first key seals new
    /// tickets, every key opens tickets carrying its name. Needs `session_resumption`.
    pub session_ticket_keys: Option<crate::TicketKeys>,
    /// Both sides: the identities admitted (`allowed_peers`); `None` admits every peer whose
    /// certificate verifies. After the chain verified, the peer's leaf must match a pattern: a
    /// server refuses a client that does not inside the handshake (alert `access_denied`,
    /// reason [`crate::HandshakeFailure::NotAllowed`]) and asks every client for a
    /// certificate (a client without one cannot match, so `client_auth=OPTIONAL` acts as
    /// `REQUIRE`); a client refuses a server that does not. Backends apply it through
    /// [`crate::PeerGate`].
    pub allowed_peers: Option<crate::AllowedPeers>,
}

/// Per-listener choices that are not part of the policy itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// The application's own rule for the clients admitted, applied inside the handshake
    /// after the chain and `allowed_peers` (both must admit); `None` for none. Like
    /// `allowed_peers`, it makes every client send a certificate.
    pub peer_check: Option<crate::PeerCheck>,
    /// ALPN protocols offered, in preference order (for example `h2`, `http/1.1`); empty for none.
    pub alpn_protocols: Vec<Vec<u8>>,
    /// Staple an OCSP response to the certificate (`ocsp_stapling_enabled`): the backend serves
    /// whatever response its stapling handle is given (fetched and validated in the background
    /// by `tls-policy`, never on the handshake path), and no staple until then. Backends without
    /// [`crate::Capabilities::ocsp_stapling`] refuse it.
    pub ocsp_stapling: bool,
}

/// The neutral name of [`ServerPolicy`], for code that compiles the client side.
pub type Policy = ServerPolicy;

/// Per-connector choices that are not part of the policy itself (the client side's
/// [`ServerOptions`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// The application's own rule for the servers dialled, applied after the chain and
    /// `allowed_peers` verified (both must admit); `None` for none.
    pub peer_check: Option<crate::PeerCheck>,
    /// ALPN protocols offered to the server, in preference order (for example `h2`,
    /// `http/1.1`); empty for none.
    pub alpn_protocols: Vec<Vec<u8>>,
}
