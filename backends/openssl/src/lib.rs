//! The OpenSSL backend of tls-policy: the system libssl, through the `openssl` and
//! `tokio-openssl` crates, behind the [`TlsBackend`] trait, carrying the whole policy.
//!
//! Where native-tls (a lowest-common-denominator API over the same OpenSSL) must refuse, this
//! backend honours:
//!
//! | setting | OpenSSL backend |
//! |---|---|
//! | `client_auth=NONE`/`OPTIONAL`/`REQUIRE` | `SSL_VERIFY_NONE` / `PEER` / `PEER \| FAIL_IF_NO_PEER_CERT` |
//! | `trusted_dir` | anchors and path links in the `X509_STORE`; chains completed through path links (see the `trust` module) |
//! | `revoked_dir` (CRLs) | `CRL_CHECK \| CRL_CHECK_ALL`: the leaf and every intermediate, path links included, need a current CRL from their issuer; missing or expired: refused (`revocation_unknown`) |
//! | `trust_all` | any certificate accepted (the verify callback overrides every chain error) |
//! | `ciphers` | IANA names → `SSL_CTX_set_cipher_list` (TLS 1.2, OpenSSL names) and `SSL_CTX_set_ciphersuites` (TLS 1.3) |
//! | `tls_versions` | protocol bounds, TLS 1.3 included |
//! | `session_resumption` | the server session cache and tickets, or neither (`SSL_OP_NO_TICKET`, no TLS 1.3 tickets) |
//! | `allowed_peers`, a [`tls_policy_backend::PeerCheck`] | inside the handshake, in the verify callback once the chain verified; OpenSSL's alert is then `handshake_failure` (its `X509_V_ERR_APPLICATION_VERIFICATION`; no public OpenSSL API sends `access_denied`), the reason `not_allowed` |
//! | ALPN | server preference, `no_application_protocol` never sent (no overlap: none) |
//! | `session_ticket_keys` | refused (no safe binding of the ticket-key callback) |
//! | `ocsp_stapling_enabled` | refused (not implemented on this backend) |
//!
//! [`TlsInfo`] reports the version, the cipher suite (by its IANA code point), ALPN, the SNI
//! name and the peer's certificates, leaf first.
//!
//! ```
//! use tls_policy_backend::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
//! use tls_policy_backend::{ClientAuth, PrivateKey, ServerOptions, ServerPolicy, TlsBackend, TlsVersion};
//! use tls_policy_openssl::OpensslBackend;
//!
//! let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
//! let pkcs8 = PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
//! let policy = ServerPolicy {
//!     name: "bolt".into(),
//!     cert_chain: vec![generated.cert.der().clone()],
//!     private_key: PrivateKey { der: PrivateKeyDer::Pkcs8(pkcs8.clone_key()), pkcs8 },
//!     trusted: vec![generated.cert.der().clone()],
//!     path_links: Vec::new(),
//!     crls: Vec::new(),
//!     client_auth: ClientAuth::Require,
//!     trust_all: false,
//!     tls_versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
//!     ciphers: None,
//!     verify_hostname: false,
//!     session_resumption: true,
//!     session_ticket_keys: None,
//!     allowed_peers: None,
//! };
//! let acceptor = OpensslBackend::new().server(&policy, &ServerOptions::default())?;
//! // Serve with `OpensslBackend::accept(&acceptor, tcp_stream).await`.
//! # let _ = acceptor;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod alpn;
mod capabilities;
mod ciphers;
mod classify;
mod client;
mod handshake;
mod identity;
mod server;
mod trust;

use std::future::Future;
use std::io;

use tls_policy_backend::{
    BackendError, Capabilities, ClientOptions, ServerOptions, ServerPolicy, TlsBackend, TlsInfo,
};
use tokio::io::{AsyncRead, AsyncWrite};

pub use classify::classify_handshake_error;
pub use client::OpensslConnector;
pub use handshake::HandshakeError;
/// The OpenSSL binding this backend is built on (for code that uses it directly, such as the
/// benchmark's raw reference).
pub use openssl;
pub use server::OpensslAcceptor;
/// The async wrapper whose stream type this backend hands out.
pub use tokio_openssl;

/// The OpenSSL backend; its name (and cargo feature in `tls-policy`) is `openssl`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpensslBackend {
    _private: (),
}

impl OpensslBackend {
    /// The OpenSSL backend.
    pub fn new() -> OpensslBackend {
        OpensslBackend::default()
    }
}

// === impl TlsBackend for OpensslBackend ===

impl TlsBackend for OpensslBackend {
    type Acceptor = OpensslAcceptor;
    type Stream<IO>
        = tokio_openssl::SslStream<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn name(&self) -> &'static str {
        capabilities::NAME
    }

    fn capabilities(&self) -> Capabilities {
        capabilities::CAPABILITIES
    }

    fn record_layer(&self) -> tls_policy_backend::RecordLayer {
        tls_policy_backend::RecordLayer::OpenSsl
    }

    fn classify_handshake_error(&self, error: &io::Error) -> tls_policy_backend::HandshakeFailure {
        classify::classify_handshake_error(error)
    }

    fn server(
        &self,
        policy: &ServerPolicy,
        options: &ServerOptions,
    ) -> Result<OpensslAcceptor, BackendError> {
        server::build(policy, options)
    }

    fn accept<IO>(
        acceptor: &OpensslAcceptor,
        io: IO,
    ) -> impl Future<Output = io::Result<(Self::Stream<IO>, TlsInfo)>> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        handshake::accept(acceptor.clone(), io)
    }

    type Connector = OpensslConnector;
    type ClientStream<IO>
        = tokio_openssl::SslStream<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn client(
        &self,
        policy: &ServerPolicy,
        options: &ClientOptions,
    ) -> Result<OpensslConnector, BackendError> {
        client::build(policy, options)
    }

    fn connect<IO>(
        connector: &OpensslConnector,
        server_name: &str,
        io: IO,
    ) -> impl Future<Output = io::Result<(Self::ClientStream<IO>, TlsInfo)>> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        handshake::connect(connector.clone(), server_name.to_owned(), io)
    }
}
