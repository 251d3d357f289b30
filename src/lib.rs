//! tls-policy: TLS for any tokio/tower service, chosen per channel by named SSL policies.
//!
//! A `neo4j.conf` names SSL policies (key, chain, trusted CAs, CRLs, client authentication,
//! versions, ciphers) and binds channels to them; [`config::Settings`] parses it strictly,
//! [`TlsChannels`] loads and validates every bound policy (fail closed) and compiles it for one
//! [`Backend`] (rustls + aws-lc-rs, rustls + ring, native-tls).
//!
//! # The rooms, in the order a connection meets them
//!
//! 1. **config** ([`config`]): a `neo4j.conf`-style file ([`config::Settings::from_file`]) or
//!    code ([`config::Settings::builder`]) read strictly; every error is `file:line: setting: message`.
//! 2. **settings** ([`config::Settings`], [`config::PolicySettings`], [`config::ChannelSettings`]):
//!    the typed result, every path resolved and every default applied; nothing is read yet.
//! 3. **material** ([`load`]): each bound policy's key, chain, trusted CAs, CRLs and ticket keys
//!    read and validated (or generated where the config allows it) into a backend-neutral
//!    [`ServerPolicy`]; [`TlsChannels::load`] does it for every channel.
//! 4. **backend** ([`Backend`]): one of the compiled-in TLS libraries turns a policy into an
//!    [`Acceptor`] (server) or a [`ClientConnector`] (client); [`Backend::capabilities`] says
//!    what each can carry.
//! 5. **layer / listener** ([`layer`], [`listener`]): [`TlsLayer`] wraps a tower service and
//!    does the handshake; [`listener::Listener`] serves a channel's address (TLS, plaintext or
//!    both, limits, drain), with [`admission`] screening each accepted connection first.
//! 6. **service**: the inner service gets a [`TlsStream`] and asks it who connected
//!    ([`TlsStream::info`] → [`TlsInfo`], [`PeerIdentity`]); `integration` (features `axum`,
//!    `http`, `tonic`) hands the same to axum, hyper and tonic handlers.
//!
//! Beside them: [`connector`] (dialling a peer with a channel's policy), [`reload`] (new
//! material swapped in while serving), [`observe`] (failure reasons, metrics, tracing),
//! [`ocsp`] (stapling) and [`inspect`] (what a config would do, as `tls-policy check` says it).
//!
//! # The crates of the workspace
//!
//! | crate | directory | what it is for |
//! |---|---|---|
//! | `tls-policy` | `src/` | this library: config → service, as above |
//! | `tls-policy-backend` | `backends/core/` | the `TlsBackend` contract and the backend-neutral types ([`ServerPolicy`], [`TlsInfo`], [`HandshakeFailure`], ...) re-exported here |
//! | `tls-policy-rustls` | `backends/rustls/` | the rustls backend (features `rustls-aws-lc-rs`, `rustls-ring`) |
//! | `tls-policy-native-tls` | `backends/native-tls/` | the native-tls backend (feature `native-tls`) |
//! | `tls-policy-dev-pki` | `dev-pki/` | a development and test PKI (rcgen): for demos, examples and tests, never production |
//! | `tls-policy-cli` | `cli/` | the `tls-policy` command: `serve`, `check`, `init`, `demo`, `ticket-keys`, `bench` |
//! | `tls-policy-bench` | `bench/` | the side-by-side benchmark `tls-policy bench` runs (not published) |
//! | `tls-policy-test-support` | `test-support/` | the harness the integration suites share (not published) |
//!
//! This library carries neither the command nor the development PKI.
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
//! | one policy by hand | [`load::load_policy`] → [`Backend::server`] → [`Acceptor::accept`]; [`observe::classify_handshake_error`] names a failure |
//!
//! The settings structs and the error types are `#[non_exhaustive]`: settings are made by the
//! parser or the builders, errors by the library, so a new setting or a new kind of failure is
//! not a breaking change.
//!
//! The settings, their defaults and the backend capability table are in `features.md`.
//!
//! Items behind a cargo feature are named in `code` here rather than linked, so these pages
//! build without broken links for every feature set (CI builds them per backend with warnings
//! denied); their own pages are linked once the feature is on.

pub mod admission;
mod backend;
mod channels;
pub mod config;
pub mod connector;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod inspect;
#[cfg(any(feature = "axum", feature = "http", feature = "tonic"))]
pub mod integration;
pub mod layer;
pub mod listener;
mod live_peers;
pub mod load;
pub mod observe;
pub mod ocsp;
/// The former home of [`observe::announce_record_aead`] and [`observe::RECORD_AEAD_INFO`]
/// (kept so that `tls_policy::record_aead::*` still resolves).
pub mod record_aead {
    pub use crate::observe::{announce_record_aead, RECORD_AEAD_INFO};
}
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
