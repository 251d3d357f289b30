//! Why a server handshake failed, in backend-neutral terms: one stable label per reason.

use std::fmt;
use std::io;

/// Why a server handshake failed, as a log field and a metric label ([`HandshakeFailure::as_str`]).
///
/// Each backend classifies its own errors (`tls_policy_rustls::classify_handshake_error`,
/// `tls_policy_native_tls::classify_handshake_error`); what no rule matches is
/// [`HandshakeFailure::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The peer's certificate chains to no trusted CA (or the peer said ours does not).
    UnknownCa,
    /// The peer's certificate is revoked by a CRL (or the peer said ours is).
    Revoked,
    /// Revocation checking is on (the policy has CRLs) and the revocation status of the peer's
    /// certificate, or of an intermediate below the trust anchor, cannot be determined: no CRL
    /// from its issuer, or only one past its nextUpdate. Refused, never let through.
    RevocationUnknown,
    /// The peer's certificate has expired (or the peer said ours has).
    Expired,
    /// A client certificate was required and none was presented.
    NoClientCertificate,
    /// No protocol version in common (a TLS 1.3-only client on a TLS 1.2 server, SSLv3...).
    ProtocolVersion,
    /// No cipher suite (or key-exchange group, or signature scheme) in common.
    CipherMismatch,
    /// The handshake did not complete within the handshake timeout.
    Timeout,
    /// The peer did not speak TLS (plaintext HTTP, garbage bytes).
    NotTls,
    /// The peer closed or reset the connection before the handshake completed.
    PeerClosed,
    /// The peer's certificate verified, but the policy does not admit it: no `allowed_peers`
    /// pattern matched, or the application's [`crate::PeerCheck`] said no (a server sends the
    /// alert `access_denied`).
    NotAllowed,
    /// The peer's certificate was refused for another reason (bad signature, wrong usage, not
    /// yet valid...).
    BadCertificate,
    /// No complete first TLS record arrived within the first-record timeout (a silent or
    /// trickling peer; it never held a handshake slot).
    FirstRecordTimeout,
    /// Refused at accept: the channel already had its maximum of connections waiting for
    /// their handshake (`max_pending_handshakes`).
    PendingLimit,
    /// Refused at accept: the peer's address (its /64 for IPv6) already had its maximum of
    /// connections waiting for their handshake (`max_pending_per_address`).
    AddressLimit,
    /// A PROXY protocol header came from a source outside the connector's
    /// `proxy_protocol_trusted` networks.
    ProxyUntrusted,
    /// A connection from a trusted proxy network did not open with the PROXY protocol header
    /// the connector requires (or opened with the other version).
    ProxyMissing,
    /// The PROXY protocol header is malformed (bad syntax, too long, closed midway).
    ProxyMalformed,
    /// Anything else.
    Other,
}

impl HandshakeFailure {
    /// Every reason, in declaration order.
    pub const ALL: [HandshakeFailure; 19] = [
        HandshakeFailure::UnknownCa,
        HandshakeFailure::Revoked,
        HandshakeFailure::RevocationUnknown,
        HandshakeFailure::Expired,
        HandshakeFailure::NoClientCertificate,
        HandshakeFailure::ProtocolVersion,
        HandshakeFailure::CipherMismatch,
        HandshakeFailure::Timeout,
        HandshakeFailure::NotTls,
        HandshakeFailure::PeerClosed,
        HandshakeFailure::NotAllowed,
        HandshakeFailure::BadCertificate,
        HandshakeFailure::FirstRecordTimeout,
        HandshakeFailure::PendingLimit,
        HandshakeFailure::AddressLimit,
        HandshakeFailure::ProxyUntrusted,
        HandshakeFailure::ProxyMissing,
        HandshakeFailure::ProxyMalformed,
        HandshakeFailure::Other,
    ];

    /// The stable label: `unknown_ca`, `revoked`, `revocation_unknown`, `expired`, `no_client_certificate`,
    /// `protocol_version`, `cipher_mismatch`, `timeout`, `not_tls`, `peer_closed`, `not_allowed`,
    /// `bad_certificate`, `first_record_timeout`, `pending_limit`, `address_limit`,
    /// `proxy_untrusted`, `proxy_missing`, `proxy_malformed` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeFailure::UnknownCa => "unknown_ca",
            HandshakeFailure::Revoked => "revoked",
            HandshakeFailure::RevocationUnknown => "revocation_unknown",
            HandshakeFailure::Expired => "expired",
            HandshakeFailure::NoClientCertificate => "no_client_certificate",
            HandshakeFailure::NotAllowed => "not_allowed",
            HandshakeFailure::ProtocolVersion => "protocol_version",
            HandshakeFailure::CipherMismatch => "cipher_mismatch",
            HandshakeFailure::Timeout => "timeout",
            HandshakeFailure::NotTls => "not_tls",
            HandshakeFailure::PeerClosed => "peer_closed",
            HandshakeFailure::BadCertificate => "bad_certificate",
            HandshakeFailure::FirstRecordTimeout => "first_record_timeout",
            HandshakeFailure::PendingLimit => "pending_limit",
            HandshakeFailure::AddressLimit => "address_limit",
            HandshakeFailure::ProxyUntrusted => "proxy_untrusted",
            HandshakeFailure::ProxyMissing => "proxy_missing",
            HandshakeFailure::ProxyMalformed => "proxy_malformed",
            HandshakeFailure::Other => "other",
        }
    }

    /// Its position in [`HandshakeFailure::ALL`] (for per-reason tables).
    pub fn index(self) -> usize {
        self as usize
    }

    /// What the I/O error's kind alone says: EOF, reset, abort or broken pipe is
    /// [`HandshakeFailure::PeerClosed`], a timeout [`HandshakeFailure::Timeout`]; `None` otherwise.
    ///
    /// Backends try their own rules first and fall back on this.
    pub fn from_io_kind(error: &io::Error) -> Option<HandshakeFailure> {
        match error.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Some(HandshakeFailure::PeerClosed),
            io::ErrorKind::TimedOut => Some(HandshakeFailure::Timeout),
            _ => None,
        }
    }
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_and_indexed_in_order() {
        let labels: std::collections::BTreeSet<_> =
            HandshakeFailure::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(labels.len(), HandshakeFailure::ALL.len());
        for (i, failure) in HandshakeFailure::ALL.iter().enumerate() {
            assert_eq!(failure.index(), i);
        }
    }

    #[test]
    fn io_kinds() {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert_eq!(
            HandshakeFailure::from_io_kind(&eof),
            Some(HandshakeFailure::PeerClosed)
        );
        let data = io::Error::new(io::ErrorKind::InvalidData, "x");
        assert_eq!(HandshakeFailure::from_io_kind(&data), None);
    }
}
