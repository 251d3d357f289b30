//! [`Admission`]: from an accepted socket to a transport — the pending bounds at accept, the
//! first-record wait (no slot), the handshake in a slot — and the [`Refusal`] when it fails.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::answer::{alert, answer_and_close, sent_something};
use super::first_record::{first_record, BadStart, FirstBytes};
use super::pending::{Full, Pending, PendingCounter};
use super::proxy_header::{ProxyHeader, ProxyRefusal};
use super::PendingLimits;
use crate::layer::limits::Limited;
use crate::layer::HandshakeLimits;
use crate::listener::{TlsMode, Transport};
use crate::observe::{classify_handshake_error, ChannelMetrics, HandshakeFailure, RefusalLog};

/// Turns accepted sockets into transports under one channel's TLS mode and limits; shared by
/// every connection of a [`crate::listener::Listener`] or an axum `TlsListener`.
#[derive(Debug)]
pub(crate) struct Admission {
    tls: TlsMode,
    handshakes: HandshakeLimits,
    pending: PendingLimits,
    proxy: ProxyHeader,
    counter: PendingCounter,
}

/// Why a connection was not admitted; it concerns that connection only.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// At accept: the channel had `max_pending` connections waiting for their handshake.
    PendingLimit(usize),
    /// While pending: evicted to make room for a newcomer from a smaller address group, the
    /// channel being at `max_pending`.
    Evicted(usize),
    /// At accept: the peer's address group had `max_pending_per_address` of them.
    AddressLimit(String, usize),
    /// No complete first record (or, under OPTIONAL, no first byte) within this timeout.
    FirstRecordTimeout(Duration),
    /// The first bytes end the connection (closed, not TLS, impossible length, error).
    BadStart(BadStart),
    /// The first record is a TLS record of this content type but not a handshake record, and
    /// the acceptor refused it (as the library does: unexpected_message, as a rule).
    NotHandshake(u8, io::Error),
    /// No handshake within the handshake timeout (counted from the first record).
    Timeout(Duration),
    /// The TLS handshake failed, for this reason.
    Handshake(HandshakeFailure, io::Error),
    /// The PROXY protocol header, or its absence, ends the connection.
    Proxy(ProxyRefusal),
}

/// A connection through admission: its transport and its client's address (from the PROXY
/// header, or the socket's peer).
#[derive(Debug)]
pub(crate) struct Admitted {
    /// TLS or plaintext.
    pub(crate) transport: Transport<TcpStream>,
    /// The client's address.
    pub(crate) peer: SocketAddr,
}

impl Admission {
    /// Admission for `tls` under `handshakes` (timeout and slots, shared with whatever else
    /// holds a clone) and `pending`.
    pub(crate) fn new(tls: TlsMode, handshakes: HandshakeLimits, pending: PendingLimits) -> Self {
        Admission {
            tls,
            handshakes,
            pending,
            proxy: ProxyHeader::default(),
            counter: PendingCounter::default(),
        }
    }

    /// Reads a PROXY protocol header as `proxy` says, before the first record.
    pub(crate) fn with_proxy(mut self, proxy: ProxyHeader) -> Self {
        self.proxy = proxy;
        self
    }

    /// The channel's TLS mode.
    pub(crate) fn tls(&self) -> &TlsMode {
        &self.tls
    }

    /// At accept, before anything is read: counts a connection from `peer` as pending, or
    /// refuses it when the channel or the peer's address group is at its bound (the caller
    /// then closes the socket at once). Plaintext-only channels count nothing.
    ///
    /// A trusted proxy's connection counts for the channel only: its client's address, known
    /// from the PROXY header, is counted by [`Admission::admit`].
    pub(crate) fn enter(&self, peer: SocketAddr) -> Result<Pending, Refusal> {
        if matches!(self.tls, TlsMode::Disabled) {
            return Ok(Pending::uncounted());
        }
        let entered = if self.proxy.trusts(peer) {
            self.counter.enter_unattributed(self.pending.max_pending())
        } else {
            self.counter.enter(
                peer.ip(),
                self.pending.max_pending(),
                self.pending.max_pending_per_address(),
            )
        };
        entered.map_err(Refusal::from)
    }

    /// [`Admission::admit`], with the outcome recorded as every entry point records it: a
    /// completed handshake's duration, or the refusal's reason and duration, in `metrics`; a
    /// refusal logged through `refusals` (at most a few lines a second per reason; a peer that
    /// left before sending anything at debug only). `None` when the connection was refused.
    pub(crate) async fn admit_recorded(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        pending: &mut Pending,
        metrics: &ChannelMetrics,
        refusals: &RefusalLog,
    ) -> Option<Admitted> {
        let started = Instant::now();
        match self.admit(tcp, peer, pending).await {
            Ok(admitted) => {
                if matches!(admitted.transport, Transport::Tls(_)) {
                    metrics.handshake_succeeded(started.elapsed());
                }
                Some(admitted)
            }
            Err(refusal) => {
                let reason = refusal.reason();
                metrics.handshake_failed(reason, started.elapsed());
                if refusal.is_routine() {
                    tracing::debug!(reason = reason.as_str(), detail = %refusal, "connection closed before a handshake");
                } else {
                    refusals.refused(reason, &refusal);
                }
                None
            }
        }
    }

    /// Secures `tcp` as the TLS mode says: plaintext passes at once; otherwise the peer's
    /// complete first record is awaited within the first-record timeout (no slot held; under
    /// OPTIONAL a first byte other than a handshake record's means plaintext), then the
    /// handshake runs in a slot within the handshake timeout. The slot is released as soon as
    /// the handshake ends.
    ///
    /// When the connector reads PROXY headers, the header comes first, within the same
    /// first-record timeout: its client address replaces `peer` (in the current span's `peer`
    /// field too) and is counted against the per-address bound in `pending`.
    ///
    /// `Ok` with [`Transport::Tls`] means a handshake completed.
    pub(crate) async fn admit(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        pending: &mut Pending,
    ) -> Result<Admitted, Refusal> {
        // A connection evicted to make room for another (see `PendingCounter`) ends at once.
        let evicted = pending.eviction();
        tokio::select! {
            biased;
            () = evicted.notified() => Err(Refusal::Evicted(self.pending.max_pending())),
            admitted = self.admit_unevicted(tcp, peer, pending) => admitted,
        }
    }

    async fn admit_unevicted(
        &self,
        mut tcp: TcpStream,
        peer: SocketAddr,
        pending: &mut Pending,
    ) -> Result<Admitted, Refusal> {
        let waited = self.pending.first_record_timeout();
        let deadline = tokio::time::Instant::now() + waited;
        let peer = if self.proxy.is_on() {
            let client = tokio::time::timeout_at(deadline, self.proxy.read(&mut tcp, peer))
                .await
                .map_err(|_elapsed| Refusal::FirstRecordTimeout(waited))?
                .map_err(Refusal::Proxy)?;
            if client != peer {
                tracing::Span::current().record("peer", tracing::field::display(client));
            }
            pending
                .attribute(client.ip(), self.pending.max_pending_per_address())
                .map_err(Refusal::from)?;
            client
        } else {
            peer
        };
        let done = |transport| Ok(Admitted { transport, peer });
        let (acceptor, plaintext_allowed) = match &self.tls {
            TlsMode::Disabled => return done(Transport::Plain(tcp)),
            TlsMode::Required(acceptor) => (acceptor, false),
            TlsMode::Optional(acceptor) => (acceptor, true),
        };
        let first =
            match tokio::time::timeout_at(deadline, first_record(&tcp, plaintext_allowed)).await {
                Err(_elapsed) => return Err(Refusal::FirstRecordTimeout(waited)),
                Ok(Err(bad)) => {
                    // Answered as the library would, and closed with a FIN: the refused bytes are
                    // read off first (bounded), so the kernel does not reset the connection.
                    if sent_something(&bad) {
                        answer_and_close(tcp, alert(acceptor.backend(), &bad)).await;
                    }
                    return Err(Refusal::BadStart(bad));
                }
                Ok(Ok(FirstBytes::Plain)) => return done(Transport::Plain(tcp)),
                Ok(Ok(first)) => first,
            };
        let handshake = async {
            acceptor.accept(tcp).await.map_err(|error| match first {
                // Not a handshake at all: counted as not TLS, whatever the library said.
                FirstBytes::OtherRecord(content_type) => Refusal::NotHandshake(content_type, error),
                _ => {
                    Refusal::Handshake(classify_handshake_error(acceptor.backend(), &error), error)
                }
            })
        };
        match self.handshakes.run(handshake).await {
            Ok(tls) => done(Transport::Tls(tls)),
            Err(Limited::Failed(refusal)) => Err(refusal),
            Err(Limited::TimedOut) => Err(Refusal::Timeout(self.handshakes.timeout())),
        }
    }
}

impl From<Full> for Refusal {
    fn from(full: Full) -> Refusal {
        match full {
            Full::Channel(max) => Refusal::PendingLimit(max),
            Full::Address(group, max) => Refusal::AddressLimit(group.to_string(), max),
        }
    }
}

impl Refusal {
    /// Whether this is routine (a probe that connected and left) rather than worth logging
    /// above debug.
    pub(crate) fn is_routine(&self) -> bool {
        matches!(
            self,
            Refusal::BadStart(BadStart::Closed) | Refusal::Proxy(ProxyRefusal::Closed)
        )
    }

    /// Why, as a metric label.
    pub(crate) fn reason(&self) -> HandshakeFailure {
        match self {
            Refusal::PendingLimit(_) | Refusal::Evicted(_) => HandshakeFailure::PendingLimit,
            Refusal::AddressLimit(..) => HandshakeFailure::AddressLimit,
            Refusal::FirstRecordTimeout(_) => HandshakeFailure::FirstRecordTimeout,
            Refusal::BadStart(BadStart::Closed | BadStart::ClosedMidRecord) => {
                HandshakeFailure::PeerClosed
            }
            Refusal::BadStart(BadStart::NotTls(..) | BadStart::BadLength(_))
            | Refusal::NotHandshake(..) => HandshakeFailure::NotTls,
            Refusal::BadStart(BadStart::Io(error)) => {
                HandshakeFailure::from_io_kind(error).unwrap_or(HandshakeFailure::Other)
            }
            Refusal::Timeout(_) => HandshakeFailure::Timeout,
            Refusal::Handshake(reason, _) => *reason,
            Refusal::Proxy(ProxyRefusal::Untrusted) => HandshakeFailure::ProxyUntrusted,
            Refusal::Proxy(ProxyRefusal::Missing(_)) => HandshakeFailure::ProxyMissing,
            Refusal::Proxy(ProxyRefusal::Closed) => HandshakeFailure::PeerClosed,
            Refusal::Proxy(ProxyRefusal::Malformed(_) | ProxyRefusal::ClosedMidHeader) => {
                HandshakeFailure::ProxyMalformed
            }
            Refusal::Proxy(ProxyRefusal::Io(error)) => {
                HandshakeFailure::from_io_kind(error).unwrap_or(HandshakeFailure::Other)
            }
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::PendingLimit(max) => write!(
                f,
                "closed at accept: {max} connections already wait for their handshake \
                 (max_pending_handshakes)"
            ),
            Refusal::Evicted(max) => write!(
                f,
                "closed while waiting for its handshake: the channel had {max} waiting \
                 (max_pending_handshakes) and this address group the most of them, so its \
                 oldest made room for a newcomer"
            ),
            Refusal::AddressLimit(group, max) => write!(
                f,
                "closed at accept (or, behind a PROXY header, once the header named the \
                 client): {max} connections from {group} already wait for their handshake \
                 (max_pending_per_address)"
            ),
            Refusal::FirstRecordTimeout(timeout) => write!(
                f,
                "no complete first TLS record within {timeout:?} (first_record_timeout)"
            ),
            Refusal::BadStart(bad) => bad.fmt(f),
            Refusal::NotHandshake(content_type, error) => write!(
                f,
                "the first TLS record is not a handshake record (content type \
                 {content_type:#04x}); the TLS library refused it: {error}"
            ),
            Refusal::Timeout(timeout) => write!(
                f,
                "no TLS handshake completed within {timeout:?} of the first record \
                 (handshake_timeout)"
            ),
            Refusal::Handshake(_, error) => write!(f, "TLS handshake failed: {error}"),
            Refusal::Proxy(refusal) => refusal.fmt(f),
        }
    }
}
