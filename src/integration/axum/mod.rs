//! axum 0.8 integration: [`TlsListener`] serves HTTPS through `axum::serve`, and handlers read the peer's identity from `ConnectInfo<TlsConnectInfo>`.
//!
//! axum's accept loop takes one connection at a time, so a listener that ran the TLS handshake
//! inside `accept()` would let one silent peer stall every other client. [`TlsListener`]
//! instead accepts TCP connections in a background task and admits each in its own task through
//! the same [`crate::admission`] as [`crate::listener::Listener`]: a connection past
//! [`TlsListener::max_pending`] (or [`TlsListener::max_pending_per_address`] for its source
//! address) is closed at once; the others have [`TlsListener::first_record_timeout`] (5 s) to
//! send their first TLS record, holding no handshake slot meanwhile, then take one of
//! [`TlsListener::max_handshakes`] slots for a handshake bounded by
//! [`TlsListener::handshake_timeout`] (10 s by default). axum only ever receives streams whose
//! handshake has completed. A refused connection is logged with the peer's address (at most a
//! few lines a second per reason) and never ends the listener; a failed `accept()` is retried
//! as the listener's are (the crate's one accept loop: at once for one peer's error, else after
//! a pause doubling from 10 ms to 1 s).
//!
//! Behind a load balancer that sends the PROXY protocol, [`TlsListener::proxy_protocol`] reads
//! the header from the trusted networks before the first record; `TlsConnectInfo::remote_addr`
//! is then the client's address from the header.
//!
//! Configure ALPN (`h2`, `http/1.1`) on the acceptor so HTTP/2 clients get HTTP/2:
//!
//! ```no_run
//! use axum::{extract::ConnectInfo, routing::get, Router};
//! use tls_policy::integration::axum::{TlsConnectInfo, TlsListener};
//! use tls_policy::{config::Settings, ServerOptions, TlsChannels};
//!
//! async fn whoami(ConnectInfo(conn): ConnectInfo<TlsConnectInfo>) -> String {
//!     let version = conn.tls.protocol_version.map_or("unknown", |v| v.as_str());
//!     format!("{} over {version}", conn.remote_addr)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = Settings::from_file("conf/neo4j.conf", None)?;
//! let http = ServerOptions { alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()], ..Default::default() };
//! let channels = TlsChannels::load_with(&settings, None, |_| http.clone())?;
//! let https = channels.channel("https").ok_or("channel https has no ssl_policy")?;
//!
//! let listener = TlsListener::bind("127.0.0.1:8443", https.acceptor.clone()).await?;
//! let app = Router::new().route("/", get(whoami));
//! axum::serve(listener, app.into_make_service_with_connect_info::<TlsConnectInfo>()).await?;
//! # Ok(())
//! # }
//! ```

mod connect_info;
mod handshakes;
mod listener;

pub use connect_info::TlsConnectInfo;
pub use listener::{TlsListener, DEFAULT_MAX_HANDSHAKES};
