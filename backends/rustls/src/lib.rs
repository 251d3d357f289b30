//! The rustls backend of `tls-policy`: compiles SSL policies into rustls server configs, on the
//! aws-lc-rs or the ring crypto provider.
//!
//! Each provider is its own backend, named by its cargo feature: `RustlsBackend::aws_lc_rs`
//! (`rustls-aws-lc-rs`, feature `aws-lc-rs`) and `RustlsBackend::ring` (`rustls-ring`, feature
//! `ring`). Both may be compiled in together; configs are always built with the backend's own
//! provider, never with rustls's process-wide default.
//!
//! With both compiled in, each backend's cipher suites take their record AEAD by default from
//! whichever provider seals records faster on this CPU, measured once per process
//! ([`aead_choice`], [`RecordCipher::Fastest`]); the suites' hash, HKDF and PRF, key exchange,
//! signatures, randomness and tickets stay the backend's own. [`RecordCipher::Provider`] pins everything to
//! the own provider ([`RustlsBackend::with_record_cipher`]).
//!
//! What a policy maps to:
//!
//! | policy | rustls |
//! |---|---|
//! | `tls_versions` | `TLS12` / `TLS13` protocol versions |
//! | `ciphers` | the provider's suites with those IANA codes, server order preferred; a suite the provider lacks is refused, naming the ones it has |
//! | `private_key`, `public_certificate` | a `CertifiedKey`; the key must match the leaf |
//! | `client_auth=NONE` | no client certificate asked |
//! | `client_auth=OPTIONAL`/`REQUIRE` | `WebPkiClientVerifier` over `trusted_dir`, with `revoked_dir` CRLs |
//! | `trust_all` | any client chain accepted, handshake signatures still verified |
//!
//! The same policy compiles the client side ([`TlsBackend::client`], for cluster and backup
//! peers) into a rustls client config on the same provider:
//!
//! | policy | rustls client |
//! |---|---|
//! | `private_key`, `public_certificate` | presented to servers that ask for a certificate |
//! | `trusted_dir`, `revoked_dir` | `WebPkiServerVerifier` over `trusted_dir`, with `revoked_dir` CRLs (same revocation semantics as the server side) |
//! | `verify_hostname=true` | the full WebPKI check, the certificate's SANs (wildcards included) against the host dialled |
//! | `verify_hostname=false` (default) | the same chain, date, usage and revocation checks; only the name check is skipped |
//! | `trust_all` | any server chain accepted, handshake signatures still verified |
//! | `tls_versions`, `ciphers` | as on the server side; the list's order is the client's preference |
//!
//! [`TlsBackend::client`]: tls_policy_backend::TlsBackend::client
//!
//! Revocation fails closed on both sides: once the policy has any CRL, the peer's leaf and every
//! intermediate below the trust anchor must be covered by a current CRL (not past its
//! nextUpdate) from its issuer; a certificate whose status cannot be determined that way is
//! refused (`CertificateError::UnknownRevocationStatus` or `ExpiredRevocationList[Context]`,
//! classified as `revocation_unknown`).
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "ring")]
//! # async fn run(policy: tls_policy_backend::ServerPolicy) -> Result<(), Box<dyn std::error::Error>> {
//! use tls_policy_backend::{ServerOptions, TlsBackend};
//! use tls_policy_rustls::RustlsBackend;
//!
//! let backend = RustlsBackend::ring();
//! let options = ServerOptions { alpn_protocols: vec![b"h2".to_vec()], ..Default::default() };
//! let acceptor = backend.server(&policy, &options)?;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (tcp, _) = listener.accept().await?;
//! let (stream, info) = RustlsBackend::accept(&acceptor, tcp).await?;
//! println!("{} {:?} {:?}", info.backend, info.protocol_version, info.cipher_suite);
//! # drop(stream);
//! # Ok(())
//! # }
//! ```

mod accept;
pub mod aead_choice;
mod classify;
mod client_config;
mod client_connect;
mod client_trust;
mod client_verifier;
mod peer_admission;
mod provider;
mod read_ahead;
mod server_config;
#[cfg(any(feature = "aws-lc-rs", feature = "ring"))]
mod shared_ticketer;
pub mod stapling;
mod trust_anchors;
mod verifier_delegate;

pub use accept::RustlsAcceptor;
/// The former name of [`aead_choice`] (kept so that `tls_policy_rustls::record_aead::*` still
/// resolves).
pub use aead_choice as record_aead;
pub use classify::{classify_handshake_error, classify_rustls_error};
pub use client_connect::RustlsConnector;
pub use provider::RustlsBackend;
pub use read_ahead::{pays_on, ReadAhead, READ_AHEAD};
pub use tls_policy_backend::{AeadSource, RecordAead, RecordCipher};

/// Re-exported so users name the same rustls types (`ServerConfig`, `CryptoProvider`, ...).
pub use rustls;
/// Re-exported for the stream type, [`tokio_rustls::server::TlsStream`].
pub use tokio_rustls;
