//! Admitting one accepted socket: a handshake slot, the first-byte sniff, the handshake — all
//! within the handshake timeout.

use std::fmt;
use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::{TlsMode, Transport};

/// The first byte of a TLS record carrying a handshake message (a ClientHello opens with it).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Turns accepted sockets into transports under one channel's TLS mode and handshake limits.
#[derive(Debug)]
pub(crate) struct Admission {
    tls: TlsMode,
    handshake_timeout: Duration,
    handshakes: Semaphore,
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
    /// The TLS handshake failed.
    Handshake(io::Error),
}

impl Admission {
    /// Admission for `tls`, cutting handshakes at `handshake_timeout` and running at most
    /// `max_concurrent_handshakes` (at least 1) at once.
    pub(crate) fn new(
        tls: TlsMode,
        handshake_timeout: Duration,
        max_concurrent_handshakes: usize,
    ) -> Self {
        let permits = max_concurrent_handshakes.clamp(1, Semaphore::MAX_PERMITS);
        Admission {
            tls,
            handshake_timeout,
            handshakes: Semaphore::new(permits),
        }
    }

    /// The channel's TLS mode.
    pub(crate) fn tls(&self) -> &TlsMode {
        &self.tls
    }

    /// Secures `tcp` as the TLS mode says: plaintext passes at once; otherwise a handshake
    /// slot is taken, the first byte sniffed (OPTIONAL) and the handshake run, all within the
    /// handshake timeout. The slot is released as soon as the handshake ends.
    pub(crate) async fn admit(&self, tcp: TcpStream) -> Result<Transport<TcpStream>, Refusal> {
        if matches!(self.tls, TlsMode::Disabled) {
            return Ok(Transport::Plain(tcp));
        }
        tokio::time::timeout(self.handshake_timeout, self.secure(tcp))
            .await
            .unwrap_or(Err(Refusal::Timeout(self.handshake_timeout)))
    }

    async fn secure(&self, tcp: TcpStream) -> Result<Transport<TcpStream>, Refusal> {
        // The semaphore is never closed, so acquiring only waits.
        let _slot = self.handshakes.acquire().await;
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
        let tls = acceptor.accept(tcp).await.map_err(Refusal::Handshake)?;
        Ok(Transport::Tls(tls))
    }
}

impl Refusal {
    /// Whether this is routine (a probe that connected and left) rather than worth a warning.
    pub(crate) fn is_routine(&self) -> bool {
        matches!(self, Refusal::ClosedBeforeData)
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
            Refusal::Handshake(error) => write!(f, "TLS handshake failed: {error}"),
        }
    }
}
