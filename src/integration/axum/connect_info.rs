//! [`TlsConnectInfo`]: what an axum handler learns about its connection through `ConnectInfo`.

use std::net::SocketAddr;
use std::sync::Arc;

use ::axum::extract::connect_info::Connected;
use ::axum::serve::{IncomingStream, TapIo};
use tokio::net::TcpStream;

use super::TlsListener;
use crate::{TlsInfo, TlsStream};

/// The peer's address and what its TLS handshake negotiated, for `ConnectInfo<TlsConnectInfo>`.
///
/// Serve the router with `into_make_service_with_connect_info::<TlsConnectInfo>()`; the
/// peer's certificate chain is in `tls.peer_certificates` (leaf first, empty when it sent none).
#[derive(Clone, Debug)]
pub struct TlsConnectInfo {
    /// The peer's TCP address.
    pub remote_addr: SocketAddr,
    /// Protocol version, cipher suite, ALPN, SNI and the peer's certificates; shared by every
    /// request on the connection.
    pub tls: Arc<TlsInfo>,
}

impl TlsConnectInfo {
    fn of(stream: &TlsStream<TcpStream>, remote_addr: SocketAddr) -> Self {
        TlsConnectInfo {
            remote_addr,
            tls: stream.shared_info(),
        }
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for TlsConnectInfo {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        TlsConnectInfo::of(stream.io(), *stream.remote_addr())
    }
}

/// Also for a [`TlsListener`] wrapped by `ListenerExt::tap_io` (to set socket options, say).
impl<F> Connected<IncomingStream<'_, TapIo<TlsListener, F>>> for TlsConnectInfo
where
    F: FnMut(&mut TlsStream<TcpStream>) + Send + 'static,
{
    fn connect_info(stream: IncomingStream<'_, TapIo<TlsListener, F>>) -> Self {
        TlsConnectInfo::of(stream.io(), *stream.remote_addr())
    }
}
