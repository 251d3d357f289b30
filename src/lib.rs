//! tls-policy: TLS for any tokio/tower service, chosen per channel by named SSL policies.

pub mod admission;
pub mod backend;
#[cfg(feature = "cli")]
pub mod bench;
pub mod channels;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod connector;
pub mod dev_pki;
pub mod error;
#[cfg(any(feature = "axum", feature = "http"))]
pub mod integration;
pub mod layer;
pub mod listener;
pub mod load;
pub mod observe;
pub mod reload;
pub mod stream;

pub use backend::{Acceptor, Backend, BACKEND_NAMES};
pub use channels::{ChannelTls, TlsChannels};
pub use error::{Error, Result, Source};
pub use layer::{HandshakeError, HandshakeLimits, Tls, TlsLayer, TlsServiceError};
pub use observe::HandshakeFailure;
pub use reload::{PolicyReload, ReloadChange, ReloadError, ReloadReport, Watcher};
pub use stream::{ClientTlsStream, TlsStream};
pub use tls_policy_backend::{
    BackendError, Capabilities, CipherSuite, ClientAuth, IdentityError, PeerIdentity,
    ServerOptions, ServerPolicy, TlsInfo, TlsVersion,
};
// The client side (cluster and backup peers are dialled with the channel's policy).
pub use backend::ClientConnector;

pub use connector::{ConnectError, Target, TlsConnector};

// The README's Rust snippets compile (and run where they can) as doctests.
#[cfg(all(doctest, feature = "axum", feature = "http"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use tls_policy_backend::{ClientOptions, Policy};
