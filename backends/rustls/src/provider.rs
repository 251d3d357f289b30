//! The [`RustlsBackend`]: one rustls crypto provider under its feature name, as a [`TlsBackend`].

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::ProducesTickets;
use rustls::NamedGroup;
use tls_policy_backend::{
    BackendError, Capabilities, ClientOptions, RecordAead, RecordCipher, ServerOptions,
    ServerPolicy, TicketKeys, TlsBackend, TlsInfo,
};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::accept::{self, RustlsAcceptor};
use crate::aead_choice::{self, Own};
use crate::client_connect::{self, RustlsConnector};
use crate::read_ahead::ReadAhead;
#[cfg(feature = "aws-lc-rs")]
use crate::shared_ticketer::AwsLcRs;
#[cfg(feature = "ring")]
use crate::shared_ticketer::Ring;
#[cfg(any(feature = "aws-lc-rs", feature = "ring"))]
use crate::shared_ticketer::SharedTicketer;
use crate::{client_config, server_config};

/// Makes the session-ticket encrypter of a provider.
pub(crate) type MakeTicketer = fn() -> Result<Arc<dyn ProducesTickets>, rustls::Error>;

/// Makes the session-ticket encrypter over a fleet's shared keys, on a provider's own crate.
pub(crate) type MakeSharedTicketer =
    fn(&TicketKeys) -> Result<Arc<dyn ProducesTickets>, BackendError>;

/// The rustls backend with one crypto provider (aws-lc-rs or ring).
///
/// Both providers may be compiled in together; each is its own backend, named by its cargo
/// feature (`rustls-aws-lc-rs`, `rustls-ring`). Every config this backend builds uses its
/// provider explicitly, never rustls's process-wide default.
///
/// When both are compiled in, a backend's cipher suites take their record AEAD by default from
/// whichever provider seals records faster on this CPU
/// ([`RecordCipher::Fastest`], measured once per process; see [`RustlsBackend::record_aead`]);
/// the suites' hash, HKDF and PRF, its key exchange, signatures, randomness and tickets stay its
/// own.
/// [`RustlsBackend::with_record_cipher`]`(`[`RecordCipher::Provider`]`)` pins it to its own
/// provider throughout.
#[derive(Clone)]
pub struct RustlsBackend {
    provider: Arc<CryptoProvider>,
    own: Own,
    record_aead: RecordAead,
    name: &'static str,
    ticketer: MakeTicketer,
    shared_ticketer: MakeSharedTicketer,
}

impl RustlsBackend {
    /// The backend on the aws-lc-rs provider, named `rustls-aws-lc-rs`.
    ///
    /// Its defaults include the post-quantum hybrid key exchange X25519MLKEM768.
    #[cfg(feature = "aws-lc-rs")]
    pub fn aws_lc_rs() -> RustlsBackend {
        let (provider, record_aead) = aead_choice::compose(
            Own::AwsLcRs,
            rustls::crypto::aws_lc_rs::default_provider(),
            RecordCipher::Fastest,
        );
        RustlsBackend {
            provider,
            own: Own::AwsLcRs,
            record_aead,
            name: "rustls-aws-lc-rs",
            ticketer: rustls::crypto::aws_lc_rs::Ticketer::new,
            shared_ticketer: SharedTicketer::<AwsLcRs>::shared,
        }
    }

    /// The backend on the ring provider, named `rustls-ring`.
    #[cfg(feature = "ring")]
    pub fn ring() -> RustlsBackend {
        let (provider, record_aead) = aead_choice::compose(
            Own::Ring,
            rustls::crypto::ring::default_provider(),
            RecordCipher::Fastest,
        );
        RustlsBackend {
            provider,
            own: Own::Ring,
            record_aead,
            name: "rustls-ring",
            ticketer: rustls::crypto::ring::Ticketer::new,
            shared_ticketer: SharedTicketer::<Ring>::shared,
        }
    }

    /// The same backend with its record AEAD chosen under `setting` (the default is
    /// [`RecordCipher::Fastest`]).
    pub fn with_record_cipher(self, setting: RecordCipher) -> RustlsBackend {
        if self.record_aead.setting == setting {
            return self;
        }
        let base = match self.own {
            #[cfg(feature = "aws-lc-rs")]
            Own::AwsLcRs => rustls::crypto::aws_lc_rs::default_provider(),
            #[cfg(feature = "ring")]
            Own::Ring => rustls::crypto::ring::default_provider(),
            #[allow(unreachable_patterns)]
            _ => return self,
        };
        let (provider, record_aead) = aead_choice::compose(self.own, base, setting);
        RustlsBackend {
            provider,
            record_aead,
            ..self
        }
    }

    /// Which implementation seals and opens this backend's records, per AEAD family, and why.
    pub fn record_aead(&self) -> &RecordAead {
        &self.record_aead
    }

    /// The crypto provider every config of this backend is built with: its own provider, with
    /// the cipher suites [`RustlsBackend::record_aead`] names.
    pub fn provider(&self) -> &Arc<CryptoProvider> {
        &self.provider
    }

    /// Makes a fresh session-ticket encrypter from this backend's provider.
    pub(crate) fn make_ticketer(&self) -> Result<Arc<dyn ProducesTickets>, rustls::Error> {
        (self.ticketer)()
    }

    /// Makes the session-ticket encrypter over a fleet's `session_ticket_keys`.
    pub(crate) fn make_shared_ticketer(
        &self,
        keys: &TicketKeys,
    ) -> Result<Arc<dyn ProducesTickets>, BackendError> {
        (self.shared_ticketer)(keys)
    }
}

impl fmt::Debug for RustlsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustlsBackend")
            .field("name", &self.name)
            .field("record_aead", &self.record_aead)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

// === impl TlsBackend ===

impl TlsBackend for RustlsBackend {
    type Acceptor = RustlsAcceptor;
    type Stream<IO>
        = tokio_rustls::server::TlsStream<ReadAhead<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn name(&self) -> &'static str {
        self.name
    }

    fn capabilities(&self) -> Capabilities {
        let post_quantum = self
            .provider
            .kx_groups
            .iter()
            .any(|group| group.name() == NamedGroup::X25519MLKEM768);
        Capabilities {
            client_auth: true,
            crls: true,
            trust_all: true,
            cipher_list: true,
            tls13: true,
            alpn: true,
            session_details: true,
            post_quantum,
            ocsp_stapling: true,
            access_denied_alert: true,
        }
    }

    fn classify_handshake_error(&self, error: &io::Error) -> tls_policy_backend::HandshakeFailure {
        crate::classify_handshake_error(error)
    }

    fn with_record_cipher(self, setting: RecordCipher) -> RustlsBackend {
        RustlsBackend::with_record_cipher(self, setting)
    }

    fn record_aead(&self) -> Option<RecordAead> {
        Some(RustlsBackend::record_aead(self).clone())
    }

    fn ocsp_staple(acceptor: &RustlsAcceptor) -> Option<Vec<u8>> {
        acceptor.stapling().and_then(|resolver| resolver.staple())
    }

    fn set_ocsp_staple(
        acceptor: &RustlsAcceptor,
        end_entity: &[u8],
        staple: Option<Vec<u8>>,
    ) -> bool {
        acceptor
            .stapling()
            .is_some_and(|resolver| resolver.set_staple(end_entity, staple))
    }

    fn server(
        &self,
        policy: &ServerPolicy,
        options: &ServerOptions,
    ) -> Result<RustlsAcceptor, BackendError> {
        let (config, stapling) = server_config::build(self, policy, options)?;
        Ok(RustlsAcceptor::new(Arc::new(config), self.name)
            .with_stapling(stapling)
            .with_gate(crate::peer_admission::server_gate(policy, options)))
    }

    fn accept<IO>(
        acceptor: &RustlsAcceptor,
        io: IO,
    ) -> impl std::future::Future<Output = io::Result<(Self::Stream<IO>, TlsInfo)>> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        accept::accept(acceptor.clone(), io)
    }

    type Connector = RustlsConnector;
    type ClientStream<IO>
        = tokio_rustls::client::TlsStream<ReadAhead<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn client(
        &self,
        policy: &ServerPolicy,
        options: &ClientOptions,
    ) -> Result<RustlsConnector, BackendError> {
        let config = client_config::build(self, policy, options)?;
        Ok(RustlsConnector::new(Arc::new(config), self.name)
            .with_gate(crate::peer_admission::client_gate(policy, options)))
    }

    fn connect<IO>(
        connector: &RustlsConnector,
        server_name: &str,
        io: IO,
    ) -> impl std::future::Future<Output = io::Result<(Self::ClientStream<IO>, TlsInfo)>> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        client_connect::connect(connector.clone(), server_name.to_owned(), io)
    }
}
