//! Adapters that plug a policy's TLS into the HTTP ecosystem: `axum::serve`, hyper-util and tonic.
//!
//! - [`axum`] (feature `axum`): [`axum::TlsListener`], an `axum::serve::Listener` that
//!   completes handshakes concurrently and hands axum established TLS streams; handlers read the
//!   peer's address, certificate and the negotiated parameters through
//!   `ConnectInfo<`[`axum::TlsConnectInfo`]`>`.
//! - [`http`] (feature `http`): [`http::TlsInfoLayer`], a tower layer that puts the connection's
//!   `Arc<TlsInfo>` into every `http::Request`'s extensions, for hyper-util or any tower HTTP
//!   stack you drive yourself.
//! - [`tonic`] (feature `tonic`): [`tonic::TlsIncoming`] for `Server::serve_with_incoming`,
//!   [`tonic::ConnectInfoLayer`] and [`tonic::TlsRequestExt`] for the peer of each request,
//!   and [`tonic::GrpcConnector`] for `Endpoint::connect_with_connector`.

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "tonic")]
pub mod tonic;
