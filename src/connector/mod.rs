//! The client side: dialling a peer with a channel's policy (mutual TLS for cluster and backup).
//!
//! A channel is served and dialled with the same policy (spec §3). [`TlsConnector`] is a tower
//! `Service<Target>`: it dials TCP (bounded by a connect timeout), runs the client handshake
//! (bounded by a handshake timeout) presenting the policy's certificate, verifies the server
//! against `trusted_dir` and `revoked_dir` (or accepts any with `trust_all`), checks the host
//! name when `verify_hostname=true`, and returns a [`ClientTlsStream`](crate::ClientTlsStream)
//! whose [`info`](crate::ClientTlsStream::info) tells what was negotiated.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tls_policy::config::Settings;
//! use tls_policy::connector::Target;
//! use tls_policy::TlsChannels;
//! use tokio::io::AsyncWriteExt;
//! use tower::ServiceExt;
//!
//! // neo4j.conf:
//! //   dbms.ssl.policy.cluster.base_directory=certificates/cluster
//! //   dbms.ssl.policy.cluster.verify_hostname=true
//! //   causal_clustering.ssl_policy=cluster
//! let settings = Settings::from_file("neo4j.conf", None)?;
//! let channels = TlsChannels::load(&settings, None)?;
//! // Follows reloads of the policy; `TlsConnector::for_channel` makes a standalone snapshot.
//! let connector = channels.connector("cluster")?;
//! let mut stream = connector.oneshot(Target::new("core-2.example.net", 6000)).await?;
//! println!("{:?}", stream.info().protocol_version);
//! stream.write_all(b"hello").await?;
//! # Ok(()) }
//! ```

mod channel;
mod error;
mod future;
mod service;
mod target;

pub use error::ConnectError;
pub use future::ConnectFuture;
pub use service::{TlsConnector, DEFAULT_CONNECT_TIMEOUT};
pub use target::{InvalidTarget, Target};
