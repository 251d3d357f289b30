//! [`TlsInfoLayer`]: a tower layer that puts a connection's negotiated TLS parameters into every HTTP request's extensions.
//!
//! hyper serves one connection per `serve_connection` call, so the layer is applied per
//! connection, after the handshake, with that connection's [`TlsStream::shared_info`]. A
//! handler then reads `req.extensions().get::<Arc<TlsInfo>>()`: the peer's certificates, the
//! protocol version, cipher suite, ALPN and SNI.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use std::sync::Arc;
//!
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use hyper_util::server::conn::auto::Builder;
//! use hyper_util::service::TowerToHyperService;
//! use tls_policy::integration::http::TlsInfoLayer;
//! use tls_policy::{Acceptor, TlsInfo};
//! use tower::{service_fn, Layer};
//!
//! async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     let tls = req.extensions().get::<Arc<TlsInfo>>();
//!     let alpn = tls.and_then(|tls| tls.alpn.clone()).unwrap_or_default();
//!     Ok(Response::new(Full::from(alpn)))
//! }
//!
//! # async fn run(acceptor: Acceptor) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! loop {
//!     let (tcp, _peer) = listener.accept().await?;
//!     let acceptor = acceptor.clone();
//!     tokio::spawn(async move {
//!         let Ok(tls) = acceptor.accept(tcp).await else { return };
//!         let service = TlsInfoLayer::for_stream(&tls).layer(service_fn(hello));
//!         let _ = Builder::new(TokioExecutor::new())
//!             .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
//!             .await;
//!     });
//! }
//! # }
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use ::http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::{TlsInfo, TlsStream};

/// A tower [`Layer`] that inserts one connection's `Arc<TlsInfo>` into every request's
/// extensions, replacing any `Arc<TlsInfo>` already there.
#[derive(Clone, Debug)]
pub struct TlsInfoLayer {
    info: Arc<TlsInfo>,
}

impl TlsInfoLayer {
    /// A layer that adds `info` to every request.
    pub fn new(info: Arc<TlsInfo>) -> Self {
        TlsInfoLayer { info }
    }

    /// A layer that adds what `stream`'s handshake negotiated to every request on it.
    pub fn for_stream<IO>(stream: &TlsStream<IO>) -> Self {
        TlsInfoLayer::new(stream.shared_info())
    }

    /// What the layer adds.
    pub fn info(&self) -> &Arc<TlsInfo> {
        &self.info
    }
}

impl<S> Layer<S> for TlsInfoLayer {
    type Service = AddTlsInfo<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AddTlsInfo {
            inner,
            info: Arc::clone(&self.info),
        }
    }
}

/// The service [`TlsInfoLayer`] builds: adds the connection's `Arc<TlsInfo>` to each request,
/// then calls `S`.
#[derive(Clone, Debug)]
pub struct AddTlsInfo<S> {
    inner: S,
    info: Arc<TlsInfo>,
}

impl<S> AddTlsInfo<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<Request<B>> for AddTlsInfo<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(Arc::clone(&self.info));
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TlsInfo, TlsVersion};
    use tower::{service_fn, ServiceExt};

    #[tokio::test]
    async fn every_request_carries_the_connections_info() {
        let mut info = TlsInfo::new("test");
        info.protocol_version = Some(TlsVersion::Tls13);
        info.alpn = Some(b"h2".to_vec());
        let info = Arc::new(info);
        let seen = service_fn(|request: Request<()>| async move {
            Ok::<_, std::convert::Infallible>(request.extensions().get::<Arc<TlsInfo>>().cloned())
        });
        let service = TlsInfoLayer::new(Arc::clone(&info)).layer(seen);
        for _ in 0..2 {
            let got = service.clone().oneshot(Request::new(())).await;
            let got = got.ok().flatten().expect("the layer inserted the info");
            assert!(
                Arc::ptr_eq(&got, &info),
                "the connection's own Arc, not a copy"
            );
        }
    }

    #[tokio::test]
    async fn replaces_an_info_already_present() {
        let ours = Arc::new(TlsInfo::new("ours"));
        let seen = service_fn(|request: Request<()>| async move {
            Ok::<_, std::convert::Infallible>(
                request
                    .extensions()
                    .get::<Arc<TlsInfo>>()
                    .map(|i| i.backend),
            )
        });
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(Arc::new(TlsInfo::new("forged")));
        let got = TlsInfoLayer::new(ours).layer(seen).oneshot(request).await;
        assert_eq!(got.ok().flatten(), Some("ours"));
    }
}
