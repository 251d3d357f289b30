//! Listening on a channel's address: TLS, plaintext or both on one port (`tls_level`), with
//! handshake limits and graceful shutdown, serving any tower `Service<Connection<TcpStream>>`.
//!
//! - `REQUIRED`: every connection goes through the channel's [`crate::Acceptor`].
//! - `OPTIONAL`: the first byte decides — `0x16` (a TLS handshake record) is TLS, anything else
//!   plaintext — on one port.
//! - `DISABLED`: plaintext only.
//!
//! Each connection runs in its own task, admitted as [`crate::admission`] describes: at accept
//! it counts as pending unless the channel (`max_pending_handshakes`) or its source address
//! (`max_pending_per_address`) is at its bound, in which case it is closed at once; then its
//! complete first TLS record is awaited (`first_record_timeout`) without a handshake slot;
//! only then is a slot (`max_concurrent_handshakes`) taken for the handshake
//! (`handshake_timeout`, the wait for the slot included). So silent sockets, however many,
//! never hold the slots legitimate handshakes need. Refusals are counted by reason and logged
//! at most a few lines a second per reason. The service gets a [`Connection`], which reads and
//! writes like the socket and tells [`Connection::tls_info`], [`Connection::peer_addr`] and
//! [`Connection::draining`].
//!
//! ```
//! use std::time::Duration;
//! use tls_policy::listener::{Connection, Listener, ListenerConfig, TlsMode};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::TcpStream;
//! use tower::service_fn;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A plaintext echo channel; with TlsMode::Required(acceptor) the same code serves TLS.
//! let config = ListenerConfig::new("echo", TlsMode::Disabled)
//!     .with_drain_timeout(Duration::from_secs(1));
//! let listener = Listener::bind("127.0.0.1:0", config).await?;
//! let addr = listener.local_addr();
//!
//! let echo = service_fn(|mut conn: Connection<TcpStream>| async move {
//!     let (mut reader, mut writer) = tokio::io::split(&mut conn);
//!     tokio::io::copy(&mut reader, &mut writer).await
//! });
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(listener.serve(echo, async move {
//!     let _ = stopped.await;
//! }));
//!
//! let mut client = TcpStream::connect(addr).await?;
//! client.write_all(b"hello").await?;
//! let mut reply = [0u8; 5];
//! client.read_exact(&mut reply).await?;
//! assert_eq!(&reply, b"hello");
//! drop(client);
//!
//! let _ = stop.send(());
//! let summary = server.await?;
//! assert_eq!(summary.accepted, 1);
//! # Ok(())
//! # }
//! ```

pub(crate) mod accept;
mod config;
mod connection;
mod drain;
mod error;
mod server;

pub use config::{ListenerConfig, TlsMode, DEFAULT_DRAIN_TIMEOUT};
pub use connection::{Connection, Transport};
pub use drain::Draining;
pub use error::ListenError;
#[cfg(feature = "axum")]
pub(crate) use server::bind_with_backlog;
pub use server::{Listener, ServeSummary};

#[cfg(test)]
mod tests;
