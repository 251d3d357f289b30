//! The [`TlsBackend`] trait every TLS library adapter implements, and what each can honour.

use std::future::Future;
use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::{
    BackendError, ClientOptions, HandshakeFailure, PeerRefused, RecordAead, RecordCipher,
    ServerOptions, ServerPolicy, TlsInfo,
};

/// Whose record layer a backend runs, which decides how a listener answers a first record
/// it refuses before the handshake (the same bytes the library itself would send).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordLayer {
    /// rustls: every refused record header is answered with `decode_error`.
    Rustls,
    /// OpenSSL (native-tls on Linux, the openssl backend): `protocol_version` for an
    /// SSLv2-framed hello, `record_overflow` for an oversized record, silence otherwise.
    OpenSsl,
}

/// What a backend can honour of a policy; used for the capability table and for refusals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `client_auth=OPTIONAL` and `REQUIRE` on the server side.
    pub client_auth: bool,
    /// Revocation lists (`revoked_dir`).
    pub crls: bool,
    /// `trust_all=true`.
    pub trust_all: bool,
    /// An explicit `ciphers` list.
    pub cipher_list: bool,
    /// Negotiating TLS 1.3 as a server.
    pub tls13: bool,
    /// ALPN on the server side.
    pub alpn: bool,
    /// Reporting the negotiated version, cipher suite and SNI in [`TlsInfo`].
    pub session_details: bool,
    /// Post-quantum hybrid key exchange (X25519MLKEM768).
    pub post_quantum: bool,
    /// Stapling an OCSP response ([`crate::ServerOptions::ocsp_stapling`]).
    pub ocsp_stapling: bool,
    /// A client that `allowed_peers` (or the peer check) refuses is sent the alert
    /// `access_denied`; `false`: another fatal alert (OpenSSL can only send
    /// `handshake_failure` from its verify callback). The reason is `not_allowed` either way.
    pub access_denied_alert: bool,
}

/// A TLS library adapter: compiles a [`ServerPolicy`] and runs server handshakes, and compiles
/// the same policy's client side and runs client handshakes.
///
/// Implementations live in their own crates (`tls-policy-rustls`, `tls-policy-native-tls`);
/// `tls-policy` selects among them by cargo feature and at run time.
pub trait TlsBackend: Send + Sync + 'static {
    /// The compiled server configuration; cheap to clone and shared by every handshake.
    type Acceptor: Clone + Send + Sync + 'static;
    /// The established server-side stream over `IO`.
    type Stream<IO>: AsyncRead + AsyncWrite + Unpin + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The backend's name, which is its cargo feature name (`rustls-aws-lc-rs`, ...).
    fn name(&self) -> &'static str;

    /// What this backend can honour.
    fn capabilities(&self) -> Capabilities;

    /// Whose record layer this backend runs (how a refused first record is answered).
    fn record_layer(&self) -> RecordLayer {
        RecordLayer::Rustls
    }

    /// Why a handshake this backend ran failed, from the [`io::Error`] it returned.
    ///
    /// The default reads a [`PeerRefused`] inside as [`HandshakeFailure::NotAllowed`] and
    /// otherwise the error's kind ([`HandshakeFailure::from_io_kind`]); backends override it
    /// with their library's errors.
    fn classify_handshake_error(&self, error: &io::Error) -> HandshakeFailure {
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<PeerRefused>())
        {
            return HandshakeFailure::NotAllowed;
        }
        HandshakeFailure::from_io_kind(error).unwrap_or(HandshakeFailure::Other)
    }

    /// This backend with its record AEAD chosen under `setting` (`dbms.ssl.record_cipher`);
    /// the default ignores it (the library chooses by itself).
    fn with_record_cipher(self, setting: RecordCipher) -> Self
    where
        Self: Sized,
    {
        let _ = setting;
        self
    }

    /// Which implementation seals and opens this backend's records, per AEAD family, and why;
    /// `None` (the default) for a backend whose library chooses by itself.
    fn record_aead(&self) -> Option<RecordAead> {
        None
    }

    /// The OCSP response `acceptor` staples now, if it staples and has one; the default (a
    /// backend without [`Capabilities::ocsp_stapling`]) never does.
    fn ocsp_staple(acceptor: &Self::Acceptor) -> Option<Vec<u8>> {
        let _ = acceptor;
        None
    }

    /// Staples `staple` (or none) to `acceptor`'s certificate if it is `end_entity` (DER);
    /// whether it was applied. The default (no stapling) never applies it.
    fn set_ocsp_staple(
        acceptor: &Self::Acceptor,
        end_entity: &[u8],
        staple: Option<Vec<u8>>,
    ) -> bool {
        let _ = (acceptor, end_entity, staple);
        false
    }

    /// Compiles a policy, refusing with [`BackendError::Unsupported`] whatever it cannot honour.
    fn server(
        &self,
        policy: &ServerPolicy,
        options: &ServerOptions,
    ) -> Result<Self::Acceptor, BackendError>;

    /// Runs the server side of a handshake over `io`.
    fn accept<IO>(
        acceptor: &Self::Acceptor,
        io: IO,
    ) -> impl Future<Output = io::Result<(Self::Stream<IO>, TlsInfo)>> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    // --- the client side ---

    /// The compiled client configuration; cheap to clone and shared by every handshake.
    type Connector: Clone + Send + Sync + 'static;
    /// The established client-side stream over `IO`.
    type ClientStream<IO>: AsyncRead + AsyncWrite + Unpin + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Compiles the client side of a policy: the certificate to present, how to verify servers
    /// (`trusted`, `crls`, `trust_all`, `verify_hostname`), versions and ciphers. Refuses with
    /// [`BackendError::Unsupported`] whatever it cannot honour.
    fn client(
        &self,
        policy: &ServerPolicy,
        options: &ClientOptions,
    ) -> Result<Self::Connector, BackendError>;

    /// Runs the client side of a handshake over `io` with the server known as `server_name` (a
    /// DNS name, sent as SNI, or an IP address); the server's certificate must match that name
    /// when the policy has `verify_hostname=true`.
    fn connect<IO>(
        connector: &Self::Connector,
        server_name: &str,
        io: IO,
    ) -> impl Future<Output = io::Result<(Self::ClientStream<IO>, TlsInfo)>> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static;
}
