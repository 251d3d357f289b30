//! The tower middleware: [`TlsLayer`] turns a `Service<TlsStream<IO>>` into a `Service<IO>`.
//!
//! ```no_run
//! # async fn run(acceptor: tls_policy::Acceptor) -> std::io::Result<()> {
//! use tls_policy::{TlsLayer, TlsStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::{TcpListener, TcpStream};
//! use tower::{service_fn, Layer, Service, ServiceExt};
//!
//! let echo = service_fn(|mut tls: TlsStream<TcpStream>| async move {
//!     let mut buf = [0u8; 1024];
//!     let n = tls.read(&mut buf).await?;
//!     tls.write_all(&buf[..n]).await?;
//!     Ok::<_, std::io::Error>(())
//! });
//! let service = TlsLayer::new(acceptor).layer(echo);
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! loop {
//!     let (tcp, _peer) = listener.accept().await?;
//!     let mut service = service.clone();
//!     tokio::spawn(async move { service.ready().await?.call(tcp).await });
//! }
//! # }
//! ```

mod error;
mod future;
#[allow(clippy::module_inception)]
mod layer;
pub(crate) mod limits;
mod service;

pub use error::{HandshakeError, TlsServiceError};
pub use future::TlsFuture;
pub use layer::{TlsLayer, DEFAULT_HANDSHAKE_TIMEOUT, UNNAMED_CHANNEL};
pub use limits::HandshakeLimits;
pub use service::Tls;
