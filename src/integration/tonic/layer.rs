//! [`ConnectInfoLayer`]: turns the [`TonicConnectInfo`] of a request into what tonic's own accessors and [`TlsRequestExt`] read.

use std::sync::Arc;
use std::task::{Context, Poll};

use ::tonic::transport::server::TcpConnectInfo;
use tower_layer::Layer;
use tower_service::Service;

use super::TonicConnectInfo;
use crate::TlsInfo;

/// A tower layer for `tonic::transport::Server::builder().layer(..)`: for every request it
/// reads the [`TonicConnectInfo`] tonic inserted and adds a `TcpConnectInfo` (what
/// `Request::remote_addr()` and `Request::local_addr()` read; the remote address is the PROXY
/// protocol client where the channel reads one), the connection's `Arc<TlsInfo>` (what
/// [`TlsRequestExt`] reads) and, on the rustls backends, tonic's own `TlsConnectInfo` (what
/// `Request::peer_certs()` reads).
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectInfoLayer;

impl<S> Layer<S> for ConnectInfoLayer {
    type Service = AddConnectInfo<S>;

    fn layer(&self, inner: S) -> AddConnectInfo<S> {
        AddConnectInfo { inner }
    }
}

/// The service [`ConnectInfoLayer`] makes.
#[derive(Clone, Debug)]
pub struct AddConnectInfo<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for AddConnectInfo<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> S::Future {
        if let Some(info) = request.extensions().get::<TonicConnectInfo>().cloned() {
            let extensions = request.extensions_mut();
            extensions.insert(TcpConnectInfo {
                local_addr: Some(info.local_addr),
                remote_addr: Some(info.remote_addr),
            });
            if let Some(tls) = info.tls {
                extensions.insert(tls);
            }
            #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
            if let Some(rustls) = info.rustls {
                extensions.insert(rustls);
            }
        }
        self.inner.call(request)
    }
}

/// What a gRPC handler reads about its connection's TLS, on any backend.
///
/// tonic 0.14's own `Request::peer_certs()` reads only a `TlsConnectInfo`, which only tonic's
/// `Connected` impl for a tokio-rustls stream can make (its fields are private): with
/// [`ConnectInfoLayer`] it works on the rustls backends (which switch tonic's `tls-ring` /
/// `tls-aws-lc` features on) and gives `None` on native-tls. These read the certificates from
/// the connection's [`TlsInfo`] instead, on every backend.
pub trait TlsRequestExt {
    /// What the handshake negotiated: version, cipher suite, ALPN, SNI, the peer's
    /// certificates and [`TlsInfo::peer_identity`]; `None` for plaintext (or without
    /// [`ConnectInfoLayer`]).
    fn tls_info(&self) -> Option<&Arc<TlsInfo>>;

    /// The peer's certificate chain, leaf first; `None` when it sent none (or for plaintext).
    fn peer_certificates(&self) -> Option<&[rustls_pki_types::CertificateDer<'static>]> {
        self.tls_info()
            .map(|tls| tls.peer_certificates.as_slice())
            .filter(|chain| !chain.is_empty())
    }
}

impl<T> TlsRequestExt for ::tonic::Request<T> {
    fn tls_info(&self) -> Option<&Arc<TlsInfo>> {
        self.extensions().get::<Arc<TlsInfo>>()
    }
}
