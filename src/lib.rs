//! tls-policy: TLS for any tokio/tower service, chosen per channel by named SSL policies.
//!
//! A `neo4j.conf` names SSL policies (key, chain, trusted CAs, CRLs, client authentication,
//! versions, ciphers) and binds channels to them; [`config::Settings`] parses it strictly,
//! [`TlsChannels`] loads and validates every bound policy (fail closed) and compiles it for one
//! [`Backend`] (rustls + aws-lc-rs, rustls + ring, native-tls).
//!
//! # API at a glance
//!
//! | task | entry point |
//! |---|---|
//! | read a config | [`config::Settings::from_file`] (or [`config::Settings::builder`]); errors are [`Error`], `file:line: setting: message` |
//! | load and validate the policies | [`TlsChannels::load`] / [`TlsChannels::load_with`] (ALPN per channel) |
//! | secure a tower service | [`TlsChannels::layer`] → [`TlsLayer`] → [`Tls<S>`](Tls), whose inner service gets a [`TlsStream`] |
//! | serve a channel (TLS, plaintext or both, limits, drain) | [`listener::Listener::bind_channel`], serving [`listener::Connection`]s |
//! | serve axum (feature `axum`) | `integration::axum::TlsListener::for_channel`, handlers read `integration::axum::TlsConnectInfo` |
//! | serve gRPC with tonic (feature `tonic`) | `integration::tonic::TlsIncoming::for_channel` + `ConnectInfoLayer`; dial with `integration::tonic::GrpcConnector` |
//! | serve hyper (feature `http`) | [`TlsLayer`] + `integration::http::TlsInfoLayer`: `Arc<TlsInfo>` in each request |
//! | who connected | [`TlsStream::info`] → [`TlsInfo`]: version, suite, ALPN, SNI, [`TlsInfo::peer_identity`] ([`PeerIdentity`]: subject, SANs, SPIFFE ID, fingerprint) |
//! | dial a peer (cluster, backup) | [`TlsChannels::connector`] → [`TlsConnector`] (a tower `Service<Target>`), [`ClientTlsStream`] |
//! | reload keys, chains, CAs, CRLs | [`TlsChannels::reload`], [`TlsChannels::watch`] ([`Watcher`]); each handshake and dial uses the current material |
//! | observe | [`HandshakeFailure`] reasons; `tls_policy_*` metrics through the `metrics` facade ([`observe`]); tracing spans |
//! | limits against floods | [`admission::PendingLimits`], [`HandshakeLimits`]; set per channel in the config |
//!
//! Everything else public, by module (the crate root re-exports the types above):
//!
//! - [`config`]: `Settings`, `PolicySettings`, `ChannelSettings`, `TlsLevel`, `ConnectorKind`,
//!   the builders (`SettingsBuilder`, `PolicyBuilder`) and every `DEFAULT_*` of the config.
//! - [`load`]: `load_policy`, `load_policy_with` (`LoadOptions`), `load_bound_policy`,
//!   `LoadedPolicy` — loading and validating one policy outside `TlsChannels`.
//! - [`layer`]: `TlsLayer`, `Tls`, `TlsFuture`, `HandshakeLimits`, `TlsServiceError`,
//!   `HandshakeError`, `DEFAULT_HANDSHAKE_TIMEOUT`, `UNNAMED_CHANNEL`.
//! - [`listener`]: `Listener`, `ListenerConfig`, `TlsMode`, `Connection`, `Transport`,
//!   `Draining`, `ServeSummary`, `ListenError`, `DEFAULT_DRAIN_TIMEOUT`.
//! - [`admission`]: `PendingLimits` (first-record timeout, pending bounds).
//! - [`connector`]: `TlsConnector`, `Target`, `InvalidTarget`, `ConnectError`, `ConnectFuture`,
//!   `DEFAULT_CONNECT_TIMEOUT`.
//! - [`reload`]: `ReloadReport`, `PolicyReload`, `ReloadChange`, `ReloadError`, `ReloadFailure`,
//!   `Watcher`, `WatchHealth`, `DirectoryHealth`, `WatchMonitor`, `DEFAULT_DEBOUNCE`,
//!   `SELF_CHECK_TIMEOUT`.
//! - [`observe`]: the metric names, `ChannelMetrics`, the expiry gauges' recorders,
//!   `classify_handshake_error`, `prometheus` (the text exposition `serve --metrics` uses).
//! - `integration::axum` (feature `axum`): `TlsListener`, `TlsConnectInfo`,
//!   `DEFAULT_MAX_HANDSHAKES`; `integration::http` (feature `http`): `TlsInfoLayer`,
//!   `AddTlsInfo`.
//! - [`ocsp`]: OCSP stapling (the responder URL, the request, RFC 6960 validation, bounded
//!   fetching, the background refresh); `TlsChannels` runs a stapler for each policy of a
//!   channel with `ocsp_stapling_enabled=true` (rustls backends; native-tls refuses it).
//! - `dev_pki` (feature `dev-pki`): a development and test PKI made with rcgen (root,
//!   intermediate, server, clients, CRLs) — for demos and tests, never for production.
//! - `cli` (feature `cli`): what the `tls-policy` command (package `tls-policy-cli`) runs:
//!   serve, check, init, demo, ticket-keys. Its `bench` subcommand is the `tls-policy-bench`
//!   package, so this library carries none of the benchmark.
//!
//! The settings, their defaults and the backend capability table are in `features.md`.
//!
//! Items behind a cargo feature are named in `code` here rather than linked, so these pages
//! build without broken links for every feature set (CI builds them per backend with warnings
//! denied); their own pages are linked once the feature is on.

pub mod admission;
mod backend;
mod channels;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod connector;
#[cfg(any(test, feature = "dev-pki"))]
pub mod dev_pki;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
#[cfg(any(feature = "axum", feature = "http", feature = "tonic"))]
pub mod integration;
pub mod layer;
pub mod listener;
mod live_peers;
pub mod load;
pub mod observe;
pub mod ocsp;
pub mod record_aead;
pub mod reload;
mod stream;

pub use backend::{Acceptor, Backend, BACKEND_NAMES};
pub use channels::{ChannelTls, TlsChannels};
pub use error::{Error, Result, Source};
pub use layer::{HandshakeError, HandshakeLimits, Tls, TlsLayer, TlsServiceError};
pub use observe::HandshakeFailure;
pub use reload::{
    AllowedPeersChange, DirectoryHealth, PolicyReload, ReloadChange, ReloadError, ReloadReport,
    WatchHealth, WatchMonitor, Watcher,
};
pub use stream::{ClientTlsStream, TlsStream};
pub use tls_policy_backend::{
    AeadSource, AllowedPeers, BackendError, Capabilities, CipherSuite, ClientAuth, IdentityError,
    PatternError, PeerCheck, PeerIdentity, PeerPattern, PeerRefused, RecordAead, RecordCipher,
    RecordLayer, RefusedBy, ServerOptions, ServerPolicy, TlsInfo, TlsVersion,
};
// The client side (cluster and backup peers are dialled with the channel's policy).
pub use backend::ClientConnector;

pub use connector::{ConnectError, Target, TlsConnector};

// The README's Rust snippets compile (and run where they can) as doctests.
#[cfg(all(doctest, feature = "axum", feature = "http"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use tls_policy_backend::{ClientOptions, Policy};
