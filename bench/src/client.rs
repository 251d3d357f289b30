//! The benchmark's load-generating client: one TLS configuration per measurement, the same for ours and raw.
//!
//! The client is rustls on the server backend's own crypto provider (on the first compiled-in
//! rustls provider for native-tls). It does not verify the server's certificate or handshake
//! signature: it is a load generator talking to this process's own loopback servers, and
//! verification would make the client, not the server under test, the bottleneck. Only in a
//! build without rustls does it fall back to a native-tls client.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

#[cfg(feature = "native-tls")]
use super::pki::SERVER_NAME;
use super::protocol::{self, Request, ACK, GREETING};
use super::BenchError;
use tls_policy::{Backend, TlsVersion};

/// What one measurement's client offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientSpec {
    /// The one TLS version offered.
    pub(crate) version: TlsVersion,
    /// The one cipher suite offered (IANA code), or `None` for the provider's defaults.
    pub(crate) suite: Option<u16>,
    /// Whether to resume sessions (tickets, or session IDs in TLS 1.2).
    pub(crate) resume: bool,
}

/// A client configuration: TLS (rustls or native-tls) or plain TCP.
#[derive(Clone)]
pub(crate) enum Connector {
    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    Rustls(
        tls_policy_rustls::tokio_rustls::TlsConnector,
        rustls_pki_types::ServerName<'static>,
    ),
    /// The rustls client speaking HTTP/1.1 to nginx: each handshake is followed by `GET /hs`.
    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    RustlsHttp(
        tls_policy_rustls::tokio_rustls::TlsConnector,
        rustls_pki_types::ServerName<'static>,
    ),
    #[cfg(feature = "native-tls")]
    #[allow(dead_code)] // Only built when no rustls provider is compiled in.
    Native(tls_policy_native_tls::tokio_native_tls::TlsConnector),
    Tcp,
}

impl Connector {
    /// The same client speaking HTTP/1.1 (to nginx), offering X25519 alone.
    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    pub(crate) fn http_x25519(backend: Backend, spec: ClientSpec) -> Result<Connector, BenchError> {
        match rustls_client::connector_with(backend, spec, true)? {
            Connector::Rustls(tls, name) => Ok(Connector::RustlsHttp(tls, name)),
            other => Ok(other),
        }
    }

    /// The client for a server of `backend` (`None`: plain TCP).
    pub(crate) fn new(backend: Option<Backend>, spec: ClientSpec) -> Result<Connector, BenchError> {
        let Some(backend) = backend else {
            return Ok(Connector::Tcp);
        };
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        {
            rustls_client::connector(backend, spec)
        }
        #[cfg(not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")))]
        {
            native_client::connector(backend, spec)
        }
    }

    /// Which library and provider the client runs on, for the report.
    pub(crate) fn describe(backend: Backend) -> String {
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        {
            format!(
                "rustls on {} (no certificate verification)",
                rustls_client::provider_name(backend)
            )
        }
        #[cfg(not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")))]
        {
            let _ = backend;
            "native-tls (no certificate verification)".to_owned()
        }
    }
}

/// Dials `addr` over TCP: no Nagle, and an abortive close (RST) so that tens of thousands of
/// short connections leave no TIME_WAIT behind.
async fn dial(addr: SocketAddr) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    tcp.set_zero_linger()?;
    Ok(tcp)
}

/// One full or resumed handshake, up to the server's greeting; tells whether it was resumed.
pub(crate) async fn handshake(connector: &Connector, addr: SocketAddr) -> io::Result<bool> {
    let tcp = dial(addr).await?;
    match connector {
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        Connector::Rustls(tls, name) => {
            let mut stream = tls.connect(name.clone(), tcp).await?;
            protocol::expect_byte(&mut stream, GREETING).await?;
            Ok(rustls_client::resumed(stream.get_ref().1))
        }
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        Connector::RustlsHttp(tls, name) => {
            let mut stream = tls.connect(name.clone(), tcp).await?;
            super::nginx::small_request(&mut stream, true).await?;
            Ok(rustls_client::resumed(stream.get_ref().1))
        }
        #[cfg(feature = "native-tls")]
        Connector::Native(tls) => {
            let mut stream = tls
                .connect(SERVER_NAME, tcp)
                .await
                .map_err(io::Error::other)?;
            protocol::expect_byte(&mut stream, GREETING).await?;
            Ok(false)
        }
        Connector::Tcp => {
            let mut tcp = tcp;
            protocol::expect_byte(&mut tcp, GREETING).await?;
            Ok(false)
        }
    }
}

/// A connection kept open and idle by the memory probe.
pub(crate) enum Idle {
    /// The TCP socket alone: the client's TLS state is dropped, so that only the server's
    /// counts.
    Tcp(#[allow(dead_code)] TcpStream),
    /// The whole client stream (native-tls cannot give its socket back).
    #[allow(dead_code)]
    Stream(Box<dyn Send>),
}

/// Handshakes, waits for the greeting, then keeps only the socket.
pub(crate) async fn open_idle(connector: &Connector, addr: SocketAddr) -> io::Result<Idle> {
    let tcp = dial(addr).await?;
    match connector {
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        Connector::Rustls(tls, name) => {
            let mut stream = tls.connect(name.clone(), tcp).await?;
            protocol::expect_byte(&mut stream, GREETING).await?;
            Ok(Idle::Tcp(stream.into_inner().0))
        }
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        Connector::RustlsHttp(..) => Err(io::Error::other("no idle connections to nginx")),
        #[cfg(feature = "native-tls")]
        Connector::Native(tls) => {
            let mut stream = tls
                .connect(SERVER_NAME, tcp)
                .await
                .map_err(io::Error::other)?;
            protocol::expect_byte(&mut stream, GREETING).await?;
            Ok(Idle::Stream(Box::new(stream)))
        }
        Connector::Tcp => {
            let mut tcp = tcp;
            protocol::expect_byte(&mut tcp, GREETING).await?;
            Ok(Idle::Tcp(tcp))
        }
    }
}

/// Connects, then times one transfer request (from sending it to its last byte or ack).
pub(crate) async fn transfer(
    connector: &Connector,
    addr: SocketAddr,
    request: Request,
) -> io::Result<Duration> {
    let tcp = dial(addr).await?;
    match connector {
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        Connector::Rustls(tls, name) => {
            let stream = tls.connect(name.clone(), tcp).await?;
            run_transfer(stream, request).await
        }
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        Connector::RustlsHttp(..) => Err(io::Error::other(
            "nginx transfers go through bench::nginx::download and upload",
        )),
        #[cfg(feature = "native-tls")]
        Connector::Native(tls) => {
            let stream = tls
                .connect(SERVER_NAME, tcp)
                .await
                .map_err(io::Error::other)?;
            run_transfer(stream, request).await
        }
        Connector::Tcp => run_transfer(tcp, request).await,
    }
}

/// Runs one request on an established stream and times it.
pub(crate) async fn run_transfer<S>(mut stream: S, request: Request) -> io::Result<Duration>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    protocol::expect_byte(&mut stream, GREETING).await?;
    let start = Instant::now();
    stream.write_all(&request.encode()).await?;
    stream.flush().await?;
    match request {
        Request::ServerSends(n) => protocol::receive_bytes(&mut stream, n).await?,
        Request::ServerReceives(n) => {
            protocol::send_bytes(&mut stream, n).await?;
            protocol::expect_byte(&mut stream, ACK).await?;
        }
    }
    Ok(start.elapsed())
}

#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
pub(crate) mod rustls_client {
    //! The rustls client: the backend's provider, one version, optionally one suite.

    use std::sync::Arc;

    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use tls_policy_rustls::rustls::client::danger::{
        HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
    };
    use tls_policy_rustls::rustls::client::Resumption;
    use tls_policy_rustls::rustls::crypto::CryptoProvider;
    use tls_policy_rustls::rustls::{
        self, ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, SignatureScheme,
    };
    use tls_policy_rustls::tokio_rustls::TlsConnector;

    use super::{ClientSpec, Connector};
    use crate::pki::SERVER_NAME;
    use crate::BenchError;
    use tls_policy::{Backend, TlsVersion};

    /// The provider a client for `backend` runs on, and its name.
    fn provider(backend: Backend) -> (CryptoProvider, &'static str) {
        let ring = {
            #[cfg(feature = "rustls-ring")]
            {
                backend == Backend::RustlsRing
            }
            #[cfg(not(feature = "rustls-ring"))]
            {
                let _ = backend;
                false
            }
        };
        #[cfg(feature = "rustls-aws-lc-rs")]
        {
            if ring {
                #[cfg(feature = "rustls-ring")]
                return (rustls::crypto::ring::default_provider(), "ring");
            }
            (rustls::crypto::aws_lc_rs::default_provider(), "aws-lc-rs")
        }
        #[cfg(not(feature = "rustls-aws-lc-rs"))]
        {
            let _ = ring;
            (rustls::crypto::ring::default_provider(), "ring")
        }
    }

    /// The name of the provider a client for `backend` runs on.
    pub(crate) fn provider_name(backend: Backend) -> &'static str {
        provider(backend).1
    }

    /// Whether the connection's handshake resumed a session.
    pub(crate) fn resumed(connection: &ClientConnection) -> bool {
        connection.handshake_kind() == Some(HandshakeKind::Resumed)
    }

    pub(crate) fn connector(backend: Backend, spec: ClientSpec) -> Result<Connector, BenchError> {
        connector_with(backend, spec, false)
    }

    /// [`connector`], offering only X25519 when `x25519_only` (the group nginx's OpenSSL and
    /// our server are compared on).
    pub(crate) fn connector_with(
        backend: Backend,
        spec: ClientSpec,
        x25519_only: bool,
    ) -> Result<Connector, BenchError> {
        let config = client_config(backend, spec, x25519_only)?;
        let server_name = ServerName::try_from(SERVER_NAME)
            .map_err(|err| BenchError::new(format!("server name {SERVER_NAME:?}: {err}")))?;
        Ok(Connector::Rustls(TlsConnector::from(config), server_name))
    }

    /// The client configuration behind [`connector_with`].
    pub(crate) fn client_config(
        backend: Backend,
        spec: ClientSpec,
        x25519_only: bool,
    ) -> Result<Arc<ClientConfig>, BenchError> {
        let (mut provider, name) = provider(backend);
        if x25519_only {
            // TLS 1.2 also names P-256: OpenSSL serves an ECDSA P-256 certificate only to a
            // client whose supported groups include that curve. X25519 stays first, and is
            // the one used for the key exchange.
            provider.kx_groups.retain(|group| {
                group.name() == rustls::NamedGroup::X25519
                    || (spec.version == TlsVersion::Tls12
                        && group.name() == rustls::NamedGroup::secp256r1)
            });
            provider
                .kx_groups
                .sort_by_key(|group| group.name() != rustls::NamedGroup::X25519);
        }
        if let Some(code) = spec.suite {
            provider
                .cipher_suites
                .retain(|suite| u16::from(suite.suite()) == code);
            if provider.cipher_suites.is_empty() {
                return Err(BenchError::new(format!(
                    "the {name} provider has no cipher suite {code:#06x}"
                )));
            }
        }
        let schemes = provider
            .signature_verification_algorithms
            .supported_schemes();
        let version = match spec.version {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        };
        let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[version])
            .map_err(|err| BenchError::new(format!("bench client on {name}: {err}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LoadGenerator { schemes }))
            .with_no_client_auth();
        if !spec.resume {
            config.resumption = Resumption::disabled();
        }
        Ok(Arc::new(config))
    }

    /// Accepts the loopback server's certificate and signatures unchecked (see the module docs).
    #[derive(Debug)]
    struct LoadGenerator {
        schemes: Vec<SignatureScheme>,
    }

    impl ServerCertVerifier for LoadGenerator {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn verify_tls13_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.schemes.clone()
        }
    }
}

#[cfg(all(
    feature = "native-tls",
    not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))
))]
mod native_client {
    //! The fallback client of builds without rustls: native-tls, TLS 1.2, default suites.

    use tls_policy_native_tls::tokio_native_tls::native_tls::{self, Protocol};

    use super::{ClientSpec, Connector};
    use crate::BenchError;
    use tls_policy::{Backend, TlsVersion};

    pub(crate) fn connector(backend: Backend, spec: ClientSpec) -> Result<Connector, BenchError> {
        if spec.suite.is_some() {
            return Err(BenchError::new(
                "choosing a cipher suite needs a rustls client (build with rustls-aws-lc-rs or rustls-ring)",
            ));
        }
        let version = match spec.version {
            TlsVersion::Tls12 => Protocol::Tlsv12,
            TlsVersion::Tls13 => {
                return Err(BenchError::new(format!(
                    "{backend}: the native-tls client cannot be limited to TLS 1.3"
                )))
            }
        };
        let connector = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true)
            .min_protocol_version(Some(version))
            .max_protocol_version(Some(version))
            .build()
            .map_err(|err| BenchError::new(format!("native-tls bench client: {err}")))?;
        Ok(Connector::Native(connector.into()))
    }
}
