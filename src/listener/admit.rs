//! Admitting one accepted socket: a handshake slot, the first-byte sniff, the handshake — all
//! within the handshake timeout — and the reason when it fails.

use std::fmt;
use std::io;
use std::time::Duration;

use tokio::net::TcpStream;

use super::{TlsMode, Transport};
use crate::layer::limits::Limited;
use crate::layer::HandshakeLimits;
use crate::observe::{classify_handshake_error, HandshakeFailure};

/// The first byte of a TLS record carrying a handshake message (a ClientHello opens with it).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Turns accepted sockets into transports under one channel's TLS mode and handshake limits.
#[derive(Debug)]
pub(crate) struct Admission {
    tls: TlsMode,
    limits: HandshakeLimits,
}

/// Why a connection was not admitted; it concerns that connection only.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No handshake (or, under OPTIONAL, no first byte) within the timeout.
    Timeout(Duration),
    /// The peer closed the connection before sending a byte.
    ClosedBeforeData,
    /// Reading the first byte failed.
    Sniff(io::Error),
    /// The TLS handshake failed, for this reason.
    Handshake(HandshakeFailure, io::Error),
}

impl Admission {
    /// Admission for `tls` under `limits` (shared with nothing else unless cloned in).
    pub(crate) fn new(tls: TlsMode, limits: HandshakeLimits) -> Self {
        Admission { tls, limits }
    }

    /// The channel's TLS mode.
    pub(crate) fn tls(&self) -> &TlsMode {
        &self.tls
    }

    /// Secures `tcp` as the TLS mode says: plaintext passes at once; otherwise a handshake
    /// slot is taken, the first byte sniffed (OPTIONAL) and the handshake run, all within the
    /// handshake timeout. The slot is released as soon as the handshake ends.
    ///
    /// `Ok(Transport::Tls)` means a handshake completed.
    pub(crate) async fn admit(&self, tcp: TcpStream) -> Result<Transport<TcpStream>, Refusal> {
        if matches!(self.tls, TlsMode::Disabled) {
            return Ok(Transport::Plain(tcp));
        }
        match self.limits.run(self.secure(tcp)).await {
            Ok(transport) => Ok(transport),
            Err(Limited::Failed(refusal)) => Err(refusal),
            Err(Limited::TimedOut) => Err(Refusal::Timeout(self.limits.timeout())),
        }
    }

    async fn secure(&self, tcp: TcpStream) -> Result<Transport<TcpStream>, Refusal> {
        let acceptor = match &self.tls {
            TlsMode::Disabled => return Ok(Transport::Plain(tcp)),
            TlsMode::Required(acceptor) => acceptor,
            TlsMode::Optional(acceptor) => {
                let mut first = [0u8; 1];
                match tcp.peek(&mut first).await {
                    Ok(0) => return Err(Refusal::ClosedBeforeData),
                    Ok(_) if first[0] == TLS_HANDSHAKE_RECORD => acceptor,
                    Ok(_) => return Ok(Transport::Plain(tcp)),
                    Err(error) => return Err(Refusal::Sniff(error)),
                }
            }
        };
        match acceptor.accept(tcp).await {
            Ok(tls) => Ok(Transport::Tls(tls)),
            Err(error) => Err(Refusal::Handshake(
                classify_handshake_error(acceptor.backend(), &error),
                error,
            )),
        }
    }
}

impl Refusal {
    /// Whether this is routine (a probe that connected and left) rather than worth logging
    /// above debug.
    pub(crate) fn is_routine(&self) -> bool {
        matches!(self, Refusal::ClosedBeforeData)
    }

    /// Why, as a metric label.
    pub(crate) fn reason(&self) -> HandshakeFailure {
        match self {
            Refusal::Timeout(_) => HandshakeFailure::Timeout,
            Refusal::ClosedBeforeData => HandshakeFailure::PeerClosed,
            Refusal::Sniff(error) => {
                HandshakeFailure::from_io_kind(error).unwrap_or(HandshakeFailure::Other)
            }
            Refusal::Handshake(reason, _) => *reason,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Timeout(timeout) => {
                write!(
                    f,
                    "no TLS handshake completed within {timeout:?} (handshake_timeout)"
                )
            }
            Refusal::ClosedBeforeData => {
                f.write_str("the peer closed the connection before sending anything")
            }
            Refusal::Sniff(error) => write!(f, "reading the first byte failed: {error}"),
            Refusal::Handshake(_, error) => write!(f, "TLS handshake failed: {error}"),
        }
    }
}
