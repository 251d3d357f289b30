//! Choosing among the compiled-in TLS backends at run time, by their cargo feature names.
//!
//! ```
//! use tls_policy::Backend;
//! let backend = Backend::default_backend()?;
//! assert_eq!(Backend::from_name(backend.name())?, backend);
//! # Ok::<(), tls_policy::Error>(())
//! ```

use std::fmt;
use std::io;
use std::sync::{Arc, Weak};

use arc_swap::ArcSwap;

use tls_policy_backend::{
    AllowedPeers, BackendError, Capabilities, ClientOptions, HandshakeFailure, RecordAead,
    RecordCipher, RecordLayer, ServerOptions, ServerPolicy, TlsBackend, TlsInfo,
};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::live_peers::LivePeers;
use crate::stream::{ClientStreamInner, ClientTlsStream};
use crate::stream::{StreamInner, TlsStream};
use crate::Error;

/// The one list of backends: each row names a backend's variant, a snake-case name for
/// modules, its name (which is its cargo
/// feature), its [`TlsBackend`] type and constructor, and the stream types its handshakes hand
/// out (server side, client side). Everything that differs per backend is generated from it:
/// the [`Backend`] enum, [`Backend::compiled`], [`BACKEND_NAMES`], the compiled acceptor and
/// connector slots, the stream enums of [`crate::stream`] and their dispatch; what a backend
/// does differently (classification, record AEAD, stapling, how a refused first record is
/// answered) sits behind the [`TlsBackend`] contract. Adding a backend is its crate, one row
/// here, and its cargo feature.
///
/// `backend_list!(callback, extra tokens)` invokes `callback!` with `[extra tokens]` and then
/// the rows, in order of preference. Exported (hidden) so the test suite's `for_each_backend!`
/// runs its tests once per compiled-in backend from the same list.
#[doc(hidden)]
#[macro_export]
macro_rules! backend_list {
    ($($callback:tt)::+ $(, $($extra:tt)*)?) => {
        $($callback)::+! {
            [$($($extra)*)?]
            /// rustls with the aws-lc-rs crypto provider (feature `rustls-aws-lc-rs`).
            RustlsAwsLcRs, rustls_aws_lc_rs, "rustls-aws-lc-rs",
                tls_policy_rustls::RustlsBackend, tls_policy_rustls::RustlsBackend::aws_lc_rs(),
                tls_policy_rustls::tokio_rustls::server::TlsStream<tls_policy_rustls::ReadAhead<IO>>,
                tls_policy_rustls::tokio_rustls::client::TlsStream<tls_policy_rustls::ReadAhead<IO>>;
            /// rustls with the ring crypto provider (feature `rustls-ring`).
            RustlsRing, rustls_ring, "rustls-ring",
                tls_policy_rustls::RustlsBackend, tls_policy_rustls::RustlsBackend::ring(),
                tls_policy_rustls::tokio_rustls::server::TlsStream<tls_policy_rustls::ReadAhead<IO>>,
                tls_policy_rustls::tokio_rustls::client::TlsStream<tls_policy_rustls::ReadAhead<IO>>;
            /// The platform TLS library through native-tls (feature `native-tls`).
            NativeTls, native_tls, "native-tls",
                tls_policy_native_tls::NativeTlsBackend, tls_policy_native_tls::NativeTlsBackend::new(),
                tls_policy_native_tls::tokio_native_tls::TlsStream<IO>,
                tls_policy_native_tls::tokio_native_tls::TlsStream<IO>;
            /// OpenSSL through the openssl crate, carrying the whole policy (feature `openssl`).
            Openssl, openssl, "openssl",
                tls_policy_openssl::OpensslBackend, tls_policy_openssl::OpensslBackend::new(),
                tls_policy_openssl::tokio_openssl::SslStream<IO>,
                tls_policy_openssl::tokio_openssl::SslStream<IO>;
        }
    };
}

/// Generates [`Backend`], its per-backend methods and the compiled slots from the rows of
/// [`backend_list!`].
macro_rules! define_backends {
    ([] $($(#[$doc:meta])* $variant:ident, $module:ident, $feature:literal, $ty:ty, $make:expr, $server:ty, $client:ty;)*) => {
        /// Every backend name this project knows, compiled in or not, in order of preference.
        pub const BACKEND_NAMES: [&str; [$($feature),*].len()] = [$($feature),*];

        /// A TLS backend compiled into this build; its name is its cargo feature name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Backend {
            $($(#[$doc])* #[cfg(feature = $feature)] $variant,)*
        }

        impl Backend {
            /// The backends compiled into this build, in order of preference.
            pub fn compiled() -> &'static [Backend] {
                &[$(#[cfg(feature = $feature)] Backend::$variant,)*]
            }

            /// The backend's name, which is its cargo feature name.
            pub fn name(self) -> &'static str {
                match self {
                    $(#[cfg(feature = $feature)] Backend::$variant => $feature,)*
                }
            }

            /// What this backend can honour of a policy.
            pub fn capabilities(self) -> Capabilities {
                match self {
                    $(#[cfg(feature = $feature)] Backend::$variant => TlsBackend::capabilities(&$make),)*
                }
            }

            /// Whose record layer this backend runs: how a first record refused before the
            /// handshake is answered (the listener sends what the library itself would).
            pub fn record_layer(self) -> RecordLayer {
                match self {
                    $(#[cfg(feature = $feature)] Backend::$variant => TlsBackend::record_layer(&$make),)*
                }
            }

            /// Why a handshake run by this backend failed, from the [`io::Error`] it returned.
            pub(crate) fn classify(self, error: &io::Error) -> HandshakeFailure {
                match self {
                    $(#[cfg(feature = $feature)] Backend::$variant => TlsBackend::classify_handshake_error(&$make, error),)*
                }
            }

            /// Which implementation seals and opens this backend's TLS records under `setting`,
            /// per AEAD family, and why; `None` for a backend whose library chooses by itself
            /// (native-tls, openssl).
            ///
            /// With both rustls providers compiled in and [`RecordCipher::Fastest`], the first
            /// call measures both providers for a few milliseconds; the result is kept for the
            /// process.
            pub fn record_aead(self, setting: RecordCipher) -> Option<RecordAead> {
                match self {
                    $(#[cfg(feature = $feature)] Backend::$variant => {
                        TlsBackend::record_aead(&TlsBackend::with_record_cipher($make, setting))
                    })*
                }
            }

            fn compile_server(
                self,
                policy: &ServerPolicy,
                options: &ServerOptions,
                record_cipher: RecordCipher,
            ) -> Result<AcceptorInner, BackendError> {
                match self {
                    $(#[cfg(feature = $feature)] Backend::$variant => {
                        let backend = TlsBackend::with_record_cipher($make, record_cipher);
                        Ok(AcceptorInner::$variant(TlsBackend::server(&backend, policy, options)?))
                    })*
                }
            }

            fn compile_client(
                self,
                policy: &ServerPolicy,
                options: &ClientOptions,
                record_cipher: RecordCipher,
            ) -> Result<ConnectorInner, BackendError> {
                match self {
                    $(#[cfg(feature = $feature)] Backend::$variant => {
                        let backend = TlsBackend::with_record_cipher($make, record_cipher);
                        Ok(ConnectorInner::$variant(TlsBackend::client(&backend, policy, options)?))
                    })*
                }
            }
        }

        #[derive(Clone)]
        enum AcceptorInner {
            $(#[cfg(feature = $feature)] $variant(<$ty as TlsBackend>::Acceptor),)*
        }

        impl AcceptorInner {
            fn ocsp_staple(&self) -> Option<Vec<u8>> {
                match self {
                    $(#[cfg(feature = $feature)] AcceptorInner::$variant(acceptor) => <$ty as TlsBackend>::ocsp_staple(acceptor),)*
                }
            }

            fn set_ocsp_staple(&self, end_entity: &[u8], staple: Option<Vec<u8>>) -> bool {
                match self {
                    $(#[cfg(feature = $feature)] AcceptorInner::$variant(acceptor) => {
                        <$ty as TlsBackend>::set_ocsp_staple(acceptor, end_entity, staple)
                    })*
                }
            }

            async fn accept<IO>(&self, io: IO) -> io::Result<(StreamInner<IO>, TlsInfo)>
            where
                IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
            {
                match self {
                    $(#[cfg(feature = $feature)] AcceptorInner::$variant(acceptor) => {
                        let (stream, info) = <$ty as TlsBackend>::accept(acceptor, io).await?;
                        Ok((StreamInner::$variant(stream), info))
                    })*
                }
            }
        }

        #[derive(Clone)]
        enum ConnectorInner {
            $(#[cfg(feature = $feature)] $variant(<$ty as TlsBackend>::Connector),)*
        }

        impl ConnectorInner {
            async fn connect<IO>(
                &self,
                server_name: &str,
                io: IO,
            ) -> io::Result<(ClientStreamInner<IO>, TlsInfo)>
            where
                IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
            {
                match self {
                    $(#[cfg(feature = $feature)] ConnectorInner::$variant(connector) => {
                        let (stream, info) =
                            <$ty as TlsBackend>::connect(connector, server_name, io).await?;
                        Ok((ClientStreamInner::$variant(stream), info))
                    })*
                }
            }
        }
    };
}

backend_list!(define_backends);

impl Backend {
    /// The first compiled-in backend, in the order of [`BACKEND_NAMES`].
    pub fn default_backend() -> Result<Backend, Error> {
        Backend::compiled()
            .first()
            .copied()
            .ok_or_else(|| Error::UnknownBackend {
                name: "(default)".into(),
                compiled: Vec::new(),
            })
    }

    /// Finds a compiled-in backend by its feature name; the error lists the compiled-in ones.
    pub fn from_name(name: &str) -> Result<Backend, Error> {
        Backend::compiled()
            .iter()
            .copied()
            .find(|b| b.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| Error::UnknownBackend {
                name: name.to_string(),
                compiled: Backend::compiled().iter().map(|b| b.name()).collect(),
            })
    }

    /// Compiles a loaded policy into an [`Acceptor`], refusing what this backend cannot honour;
    /// its record AEAD as [`RecordCipher::Fastest`] chooses.
    pub fn server(self, policy: &ServerPolicy, options: &ServerOptions) -> Result<Acceptor, Error> {
        self.server_with(policy, options, RecordCipher::default())
    }

    /// Like [`Backend::server`], with the record AEAD chosen under `record_cipher`
    /// (`dbms.ssl.record_cipher`).
    pub fn server_with(
        self,
        policy: &ServerPolicy,
        options: &ServerOptions,
        record_cipher: RecordCipher,
    ) -> Result<Acceptor, Error> {
        let inner = self
            .compile_server(policy, options, record_cipher)
            .map_err(|source| Error::Backend {
                policy: policy.name.clone(),
                source,
            })?;
        Ok(Acceptor {
            backend: self,
            policy: policy.name.clone(),
            inner: Arc::new(ArcSwap::from_pointee(inner)),
            live: Arc::default(),
        })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::from_name(s)
    }
}

/// A policy compiled for one backend: runs server handshakes. Cheap to clone.
///
/// Every clone shares one swappable slot holding the compiled config: when the policy is
/// reloaded ([`TlsChannels::reload`](crate::TlsChannels::reload)), each holder — a
/// [`TlsLayer`](crate::TlsLayer), a listener, an axum `TlsListener` — runs its *next* handshake
/// with the new material, while established connections keep the session they have. Reading
/// the slot is one lock-free atomic load per handshake.
#[derive(Clone)]
pub struct Acceptor {
    backend: Backend,
    policy: String,
    inner: Arc<ArcSwap<AcceptorInner>>,
    // The live TLS connections, kept across reloads (a reload may close
    // those a narrowed `allowed_peers` refuses: `allowed_peers_reload=all`).
    live: Arc<LivePeers>,
}

impl Acceptor {
    /// The backend this acceptor was compiled for.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The name of the policy it was compiled from.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// Puts `fresh`'s compiled config in this acceptor's slot, shared by all its clones: the
    /// next handshake of every holder uses it. `fresh` must be the same policy compiled for the
    /// same backend (the reload module guarantees it).
    pub(crate) fn replace_with(&self, fresh: &Acceptor) {
        debug_assert_eq!(self.backend, fresh.backend);
        debug_assert_eq!(self.policy, fresh.policy);
        self.inner.store(fresh.inner.load_full());
    }

    /// Closes the live connections of this acceptor whose peer certificate `list` does not
    /// admit (`None` admits every peer); how many. Their streams fail the next read or write.
    pub(crate) fn close_refused(&self, list: Option<&AllowedPeers>) -> usize {
        self.live.close_refused(list)
    }

    /// The OCSP response stapled now, if this acceptor staples (`ocsp_stapling_enabled`) and a
    /// validated response is in service.
    pub fn ocsp_staple(&self) -> Option<Vec<u8>> {
        self.inner.load().ocsp_staple()
    }

    /// Staples `staple` (or none) to the certificate in service, if it is `end_entity` (DER);
    /// whether it was applied. Called by the background stapler, never on a handshake.
    pub(crate) fn set_ocsp_staple(&self, end_entity: &[u8], staple: Option<Vec<u8>>) -> bool {
        self.inner.load().set_ocsp_staple(end_entity, staple)
    }

    /// Runs the server side of a TLS handshake over `io`, with the policy's material current
    /// when the handshake starts.
    pub async fn accept<IO>(&self, io: IO) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // One atomic load (plus the Arc's count): the handshake owns what it started with, so
        // a reload mid-handshake cannot mix old and new material.
        let current = self.inner.load_full();
        let (inner, info) = current.accept(io).await?;
        Ok(TlsStream::new(inner, info).closable_by(&self.live))
    }
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor")
            .field("backend", &self.backend)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

// === the client side ===

impl Backend {
    /// Compiles a loaded policy's client side into a [`ClientConnector`], refusing what this
    /// backend cannot honour: the certificate to present, how servers are verified
    /// (`trusted_dir`, `revoked_dir`, `trust_all`, `verify_hostname`), versions and ciphers.
    ///
    /// A channel is dialled with the same policy it is served with (spec §3);
    /// [`TlsConnector::for_channel`](crate::connector::TlsConnector::for_channel) does the
    /// loading too.
    pub fn client(
        self,
        policy: &ServerPolicy,
        options: &ClientOptions,
    ) -> Result<ClientConnector, Error> {
        self.client_with(policy, options, RecordCipher::default())
    }

    /// Like [`Backend::client`], with the record AEAD chosen under `record_cipher`
    /// (`dbms.ssl.record_cipher`).
    pub fn client_with(
        self,
        policy: &ServerPolicy,
        options: &ClientOptions,
        record_cipher: RecordCipher,
    ) -> Result<ClientConnector, Error> {
        let inner = self
            .compile_client(policy, options, record_cipher)
            .map_err(|source| Error::Backend {
                policy: policy.name.clone(),
                source,
            })?;
        Ok(ClientConnector {
            backend: self,
            policy: policy.name.clone(),
            inner: Arc::new(ArcSwap::from_pointee(inner)),
        })
    }
}

/// A policy's client side compiled for one backend: runs client handshakes. Cheap to clone.
///
/// Like [`Acceptor`], every clone shares one swappable slot: a connector made by
/// [`TlsChannels::connector`](crate::TlsChannels::connector) dials with the policy's material
/// current when each handshake starts, so a reload that rotates the trusted CAs, the CRLs or
/// the certificate presented reaches the next dial; handshakes in flight keep what they began
/// with.
#[derive(Clone)]
pub struct ClientConnector {
    backend: Backend,
    policy: String,
    inner: Arc<ArcSwap<ConnectorInner>>,
}

/// A [`ClientConnector`] that does not keep it alive: what a reload holds to reach the
/// connectors still in use, and only those.
#[derive(Clone)]
pub(crate) struct WeakClientConnector {
    backend: Backend,
    policy: String,
    inner: Weak<ArcSwap<ConnectorInner>>,
}

impl WeakClientConnector {
    /// The connector, if any clone of it is still alive.
    pub(crate) fn upgrade(&self) -> Option<ClientConnector> {
        Some(ClientConnector {
            backend: self.backend,
            policy: self.policy.clone(),
            inner: self.inner.upgrade()?,
        })
    }
}

impl ClientConnector {
    /// The backend this connector was compiled for.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The name of the policy it was compiled from.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// A handle that reaches this connector's slot while any clone of it lives.
    pub(crate) fn downgrade(&self) -> WeakClientConnector {
        WeakClientConnector {
            backend: self.backend,
            policy: self.policy.clone(),
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Puts `fresh`'s compiled config in this connector's slot, shared by all its clones: the
    /// next handshake of every holder uses it. `fresh` must be the same policy compiled for the
    /// same backend (the reload module guarantees it).
    pub(crate) fn replace_with(&self, fresh: &ClientConnector) {
        debug_assert_eq!(self.backend, fresh.backend);
        debug_assert_eq!(self.policy, fresh.policy);
        self.inner.store(fresh.inner.load_full());
    }

    /// Runs the client side of a TLS handshake over `io` with the server known as
    /// `server_name`: a DNS name (sent as SNI) or an IP address. The server's certificate must
    /// match it when the policy has `verify_hostname=true`.
    pub async fn connect<IO>(&self, server_name: &str, io: IO) -> io::Result<ClientTlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // One atomic load: the handshake keeps the material it started with.
        let current = self.inner.load_full();
        let (inner, info) = current.connect(server_name, io).await?;
        Ok(ClientTlsStream::new(inner, info))
    }
}

impl fmt::Debug for ClientConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConnector")
            .field("backend", &self.backend)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
