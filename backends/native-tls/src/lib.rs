//! The native-tls backend of tls-policy: the platform TLS library (OpenSSL on Linux) behind the
//! [`TlsBackend`] trait.
//!
//! It serves a policy with `client_auth=NONE`, the default cipher suites and ALPN. Whatever else
//! a policy asks for it refuses with [`BackendError::Unsupported`], naming the setting and the
//! backends that can (`rustls-aws-lc-rs or rustls-ring`); it never silently downgrades:
//!
//! | setting | native-tls |
//! |---|---|
//! | `client_auth=OPTIONAL`/`REQUIRE` | refused: native-tls has no server-side client-certificate API |
//! | `trusted_dir`, `revoked_dir` (CRLs), `trust_all` with `client_auth=NONE` | served: no client certificate is asked for, so they play no part (a warning says so when there are CRLs or trust_all) |
//! | `ciphers` | refused: no cipher-suite API |
//! | `tls_versions=TLSv1.2` | served |
//! | `tls_versions=TLSv1.2,TLSv1.3` | served as TLS 1.2 only, with a warning |
//! | `tls_versions=TLSv1.3` | refused |
//!
//! Why TLS 1.3 is never negotiated: native-tls 0.2 on OpenSSL builds its acceptor from
//! `SslAcceptor::mozilla_intermediate`, which sets `SSL_OP_NO_TLSv1_3`, and its
//! `max_protocol_version` cannot clear that option (the `Protocol::Tlsv13` variant exists but
//! only moves the version bounds). A client that insists on TLS 1.3 fails the handshake; the
//! tests pin this down.
//!
//! The client side ([`TlsBackend::client`], for cluster and backup peers) presents the policy's
//! certificate, trusts only `trusted_dir` (never the system roots), checks the host name when
//! `verify_hostname=true`, honours `trust_all`, and negotiates TLS 1.3 (the OpenSSL connector
//! does not disable it); it refuses CRLs and cipher lists (see the `client` module). Its
//! [`TlsInfo`] holds the ALPN protocol, the server's leaf certificate and the SNI name sent.
//!
//! [`TlsInfo`] from this backend carries the ALPN protocol only: native-tls exposes neither the
//! negotiated version, nor the cipher suite, nor the SNI name, and the server never asks for a
//! client certificate.
//!
//! ```
//! use tls_policy_backend::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
//! use tls_policy_backend::{
//!     BackendError, ClientAuth, PrivateKey, ServerOptions, ServerPolicy, TlsBackend, TlsVersion,
//! };
//! use tls_policy_native_tls::NativeTlsBackend;
//!
//! let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
//! let pkcs8 = PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
//! let mut policy = ServerPolicy {
//!     name: "bolt".into(),
//!     cert_chain: vec![generated.cert.der().clone()],
//!     private_key: PrivateKey { der: PrivateKeyDer::Pkcs8(pkcs8.clone_key()), pkcs8 },
//!     trusted: Vec::new(),
//!     path_links: Vec::new(),
//!     crls: Vec::new(),
//!     client_auth: ClientAuth::None,
//!     trust_all: false,
//!     tls_versions: vec![TlsVersion::Tls12],
//!     ciphers: None,
//!     verify_hostname: false,
//!     session_resumption: true,
//!     session_ticket_keys: None,
//!     allowed_peers: None,
//! };
//! let options = ServerOptions { alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()], ..Default::default() };
//!
//! let backend = NativeTlsBackend::new();
//! let acceptor = backend.server(&policy, &options)?;
//! // Serve with `NativeTlsBackend::accept(&acceptor, tcp_stream).await`.
//! # let _ = acceptor;
//!
//! // Mutual TLS is refused, naming the setting and the alternatives.
//! policy.client_auth = ClientAuth::Require;
//! match backend.server(&policy, &options) {
//!     Err(BackendError::Unsupported { setting: "client_auth", .. }) => {}
//!     other => panic!("expected a refusal, got {other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod accept;
mod acceptor;
mod capabilities;
mod classify;
mod client;
mod client_connect;
mod identity;

use std::future::Future;
use std::io;

use tls_policy_backend::{
    BackendError, Capabilities, ClientOptions, ServerOptions, ServerPolicy, TlsBackend, TlsInfo,
};
use tokio::io::{AsyncRead, AsyncWrite};

pub use acceptor::NativeTlsAcceptor;
pub use classify::classify_handshake_error;
pub use client::NativeTlsConnector;
/// The async wrapper whose stream type this backend hands out.
pub use tokio_native_tls;

/// The native-tls backend; its name (and cargo feature in `tls-policy`) is `native-tls`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeTlsBackend {
    _private: (),
}

impl NativeTlsBackend {
    /// The native-tls backend.
    pub fn new() -> NativeTlsBackend {
        NativeTlsBackend::default()
    }
}

// === impl TlsBackend for NativeTlsBackend ===

impl TlsBackend for NativeTlsBackend {
    type Acceptor = NativeTlsAcceptor;
    type Stream<IO>
        = tokio_native_tls::TlsStream<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn name(&self) -> &'static str {
        capabilities::NAME
    }

    fn capabilities(&self) -> Capabilities {
        capabilities::CAPABILITIES
    }

    fn record_layer(&self) -> tls_policy_backend::RecordLayer {
        if cfg!(any(target_os = "windows", target_vendor = "apple")) {
            // Secure Transport and SChannel were never measured; the rustls answer is the
            // closest neutral one (an alert for every refused header).
            tls_policy_backend::RecordLayer::Rustls
        } else {
            tls_policy_backend::RecordLayer::OpenSsl
        }
    }

    fn classify_handshake_error(&self, error: &io::Error) -> tls_policy_backend::HandshakeFailure {
        classify::classify_handshake_error(error)
    }

    fn server(
        &self,
        policy: &ServerPolicy,
        options: &ServerOptions,
    ) -> Result<NativeTlsAcceptor, BackendError> {
        acceptor::build(policy, options)
    }

    fn accept<IO>(
        acceptor: &NativeTlsAcceptor,
        io: IO,
    ) -> impl Future<Output = io::Result<(Self::Stream<IO>, TlsInfo)>> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        accept::accept(acceptor, io)
    }

    type Connector = NativeTlsConnector;
    type ClientStream<IO>
        = tokio_native_tls::TlsStream<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn client(
        &self,
        policy: &ServerPolicy,
        options: &ClientOptions,
    ) -> Result<NativeTlsConnector, BackendError> {
        client::build(policy, options)
    }

    fn connect<IO>(
        connector: &NativeTlsConnector,
        server_name: &str,
        io: IO,
    ) -> impl Future<Output = io::Result<(Self::ClientStream<IO>, TlsInfo)>> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        client_connect::connect(connector.clone(), server_name.to_owned(), io)
    }
}
