//! tonic 0.14 integration: serve gRPC on a channel through [`TlsIncoming`], read the peer from each request, dial with [`GrpcConnector`].
//!
//! - [`TlsIncoming`]: the channel's [`crate::listener::Listener`] as the connection stream of
//!   `Server::serve_with_incoming`, carrying the channel's admission (pending bounds,
//!   first-record wait, handshake slots and timeout, PROXY protocol, drain); tonic only ever
//!   sees connections whose handshake has completed.
//! - [`ConnectInfoLayer`] (`Server::builder().layer(ConnectInfoLayer)`): makes tonic's own
//!   `Request::remote_addr()` / `local_addr()` work, and `Request::peer_certs()` on the rustls
//!   backends, and puts the connection's `Arc<TlsInfo>` in each request, which
//!   [`TlsRequestExt::tls_info`] and [`TlsRequestExt::peer_certificates`] read on every backend.
//! - [`GrpcConnector`]: the channel's client side (its certificate, its trust, ALPN `h2`) for
//!   `Endpoint::connect_with_connector`.
//!
//! The channel needs ALPN `h2` — grpcio and grpc-go refuse a server without it — so declare
//! it in the config: `dbms.connector.grpc.alpn=h2` (the default of the `https` channel is
//! `h2,http/1.1`). A gRPC service with mutual TLS:
//!
//! ```no_run
//! # async fn run(service: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>) -> Result<(), Box<dyn std::error::Error>> {
//! use tls_policy::integration::tonic::{ConnectInfoLayer, TlsIncoming};
//! use tls_policy::{config::Settings, TlsChannels};
//!
//! // neo4j.conf (3.5 form):            or the 5.x form:
//! //   dbms.ssl.policy.grpc.base_directory=certificates/grpc    dbms.ssl.policy.grpc.enabled=true
//! //   grpc.ssl_policy=grpc                                     server.grpc.listen_address=:50051
//! //   dbms.connector.grpc.listen_address=:50051                server.grpc.alpn=h2
//! //   dbms.connector.grpc.alpn=h2
//! let settings = Settings::from_file("neo4j.conf", None)?;
//! let channels = TlsChannels::load(&settings, None)?;
//! let incoming = TlsIncoming::for_channel(&channels, "grpc").await?;
//! tonic::transport::Server::builder()
//!     .layer(ConnectInfoLayer)
//!     .add_service(service)
//!     .serve_with_incoming(incoming)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! A handler reads its peer:
//!
//! ```
//! use tls_policy::integration::tonic::TlsRequestExt;
//!
//! fn who(request: &tonic::Request<()>) -> String {
//!     let addr = request.remote_addr().map(|a| a.to_string()).unwrap_or_default();
//!     let subject = request
//!         .tls_info()
//!         .and_then(|tls| tls.peer_identity())
//!         .map_or("no certificate".to_owned(), |peer| peer.subject.clone());
//!     format!("{addr}: {subject}")
//! }
//! ```
//!
//! A client dials with the channel's policy (`http://`: the TLS is the connector's):
//!
//! ```no_run
//! # async fn run(channels: tls_policy::TlsChannels) -> Result<(), Box<dyn std::error::Error>> {
//! use tls_policy::integration::tonic::GrpcConnector;
//!
//! let connector = GrpcConnector::for_channel(&channels, "grpc")?;
//! let channel = tonic::transport::Endpoint::from_static("http://grpc.example.net:50051")
//!     .connect_with_connector(connector)
//!     .await?;
//! # let _ = channel; Ok(()) }
//! ```

mod connector;
mod incoming;
mod io;
mod layer;

pub use connector::{BoxError, GrpcConnector};
pub use incoming::TlsIncoming;
pub use io::{TonicConnectInfo, TonicIo};
pub use layer::{AddConnectInfo, ConnectInfoLayer, TlsRequestExt};
