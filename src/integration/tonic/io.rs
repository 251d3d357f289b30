//! [`TonicIo`]: one admitted connection as tonic serves it, and the [`TonicConnectInfo`] tonic puts in each request's extensions.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tonic::transport::server::Connected;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::listener::{Connection, Draining};
use crate::TlsInfo;

/// A connection admitted by the channel's listener, handshake done, as tonic reads and writes
/// it; its [`Connected`] info is a [`TonicConnectInfo`].
///
/// Dropping it (tonic closing the connection) tells the listener it is gone.
#[derive(Debug)]
pub struct TonicIo {
    connection: Connection<TcpStream>,
    local_addr: SocketAddr,
    // Dropped with the connection: the listener's task for it then ends.
    _done: oneshot::Sender<()>,
}

impl TonicIo {
    pub(super) fn new(
        connection: Connection<TcpStream>,
        local_addr: SocketAddr,
        done: oneshot::Sender<()>,
    ) -> TonicIo {
        TonicIo {
            connection,
            local_addr,
            _done: done,
        }
    }

    /// The listener's connection: its TLS parameters, peer and drain signal.
    pub fn connection(&self) -> &Connection<TcpStream> {
        &self.connection
    }
}

/// What tonic learns about a connection from [`TonicIo`]: the peer's address (the PROXY
/// protocol client where the channel reads one), the local address, and what the handshake
/// negotiated.
///
/// tonic inserts it into every request's extensions; [`super::ConnectInfoLayer`] turns it
/// into what tonic's own `Request::remote_addr()` and `local_addr()` read, and an
/// `Arc<TlsInfo>`, which [`super::TlsRequestExt`] reads.
#[derive(Clone, Debug)]
pub struct TonicConnectInfo {
    /// The peer's address.
    pub remote_addr: SocketAddr,
    /// The address the listener is bound to.
    pub local_addr: SocketAddr,
    /// The channel's name.
    pub channel: Arc<str>,
    /// Protocol version, cipher suite, ALPN, SNI and the peer's certificate chain; `None` for a
    /// plaintext connection (`tls_level` OPTIONAL or DISABLED).
    pub tls: Option<Arc<TlsInfo>>,
    /// Fires when the listener starts draining.
    pub draining: Draining,
    /// On a rustls backend, tonic's own TLS connect info, which its `Request::peer_certs()`
    /// reads (only tonic's `Connected` impl for a tokio-rustls stream can make one).
    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    pub(super) rustls: Option<RustlsConnectInfo>,
}

/// tonic's connect info of a TLS connection served by its tokio-rustls stream type.
#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
pub(super) type RustlsConnectInfo =
    ::tonic::transport::server::TlsConnectInfo<::tonic::transport::server::TcpConnectInfo>;

impl Connected for TonicIo {
    type ConnectInfo = TonicConnectInfo;

    fn connect_info(&self) -> TonicConnectInfo {
        let connection = &self.connection;
        TonicConnectInfo {
            remote_addr: connection.peer_addr(),
            local_addr: self.local_addr,
            channel: Arc::from(connection.channel()),
            tls: connection.shared_tls_info(),
            draining: connection.draining(),
            #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
            rustls: match connection.transport() {
                crate::listener::Transport::Tls(tls) => tls.rustls().map(Connected::connect_info),
                crate::listener::Transport::Plain(_) => None,
            },
        }
    }
}

impl AsyncRead for TonicIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().connection).poll_read(cx, buf)
    }
}

impl AsyncWrite for TonicIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().connection).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().connection).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.connection.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().connection).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().connection).poll_shutdown(cx)
    }
}
