//! [`GrpcConnector`]: a channel's client side (mutual TLS, ALPN `h2`) for tonic's `Endpoint::connect_with_connector`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::connector::Target;
use crate::{ClientOptions, ClientTlsStream, Error, TlsChannels, TlsConnector};

/// The error a dial returns to tonic: a [`crate::ConnectError`], or a URI without host or port.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Dials a gRPC server with a channel's policy: a `Service<Uri>` for
/// `tonic::transport::Endpoint::connect_with_connector`.
///
/// Each connection dials the URI's host and port (a URI without a port is refused), presents
/// the policy's certificate, verifies the server against the policy's `trusted_dir` and
/// `revoked_dir` (and its name when `verify_hostname=true`) and offers ALPN `h2`. Write the
/// endpoint's URI with `http://`: the TLS is this connector's, and tonic must not add its own.
#[derive(Clone, Debug)]
pub struct GrpcConnector {
    tls: TlsConnector,
    server_name: Option<String>,
}

impl GrpcConnector {
    /// Dials with `channel`'s policy from `channels`, following its reloads
    /// ([`TlsChannels::connector_with`]), offering ALPN `h2`.
    ///
    /// Errors as [`TlsChannels::connector`]: the channel is not bound to a policy (or only to
    /// the legacy system), or the backend cannot honour its client side.
    pub fn for_channel(channels: &TlsChannels, channel: &str) -> Result<GrpcConnector, Error> {
        let h2 = ClientOptions {
            alpn_protocols: vec![b"h2".to_vec()],
            ..ClientOptions::default()
        };
        Ok(GrpcConnector::new(channels.connector_with(channel, &h2)?))
    }

    /// Dials with `tls`; it should offer ALPN `h2` (gRPC servers such as grpc-go refuse a
    /// client without it).
    pub fn new(tls: TlsConnector) -> GrpcConnector {
        GrpcConnector {
            tls,
            server_name: None,
        }
    }

    /// Verifies (and sends as SNI) `server_name` instead of the URI's host (to dial an IP
    /// address and verify a DNS name).
    pub fn with_server_name(mut self, server_name: impl Into<String>) -> GrpcConnector {
        self.server_name = Some(server_name.into());
        self
    }

    /// The dial target of `uri`: its host and port, and the server name to verify.
    fn target(&self, uri: &http::Uri) -> Result<Target, BoxError> {
        let host = uri
            .host()
            .ok_or_else(|| format!("the gRPC endpoint URI '{uri}' has no host"))?;
        let port = uri.port_u16().ok_or_else(|| {
            format!("the gRPC endpoint URI '{uri}' has no port; write it as http://{host}:<port>")
        })?;
        let target = Target::new(host, port);
        Ok(match &self.server_name {
            Some(name) => target.with_server_name(name.clone()),
            None => target,
        })
    }
}

impl Service<http::Uri> for GrpcConnector {
    type Response = TokioIo<ClientTlsStream<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send + 'static>>;

    /// Always ready: every call dials its own connection.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let target = self.target(&uri);
        let tls = self.tls.clone();
        Box::pin(async move {
            let stream = tls.connect(target?).await?;
            Ok(TokioIo::new(stream))
        })
    }
}
