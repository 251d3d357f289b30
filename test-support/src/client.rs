//! A rustls (ring) client, independent of the backend under test, for the shared suite.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ProtocolVersion, RootCertStore, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use tls_policy_dev_pki::Issued;

use super::{pki, STEP};

/// Offers TLS 1.2 only.
pub const TLS12_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
/// Offers TLS 1.3 only.
pub const TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// What the client offers.
#[derive(Clone, Default)]
pub struct Client<'a> {
    /// The certificate (with its intermediates) to present, if any.
    pub identity: Option<&'a Issued>,
    /// Versions offered; default TLS 1.2 and 1.3.
    pub versions: Option<&'static [&'static SupportedProtocolVersion]>,
    /// ALPN protocols offered.
    pub alpn: Vec<Vec<u8>>,
}

/// What the client saw of a successful exchange.
#[derive(Debug)]
pub struct Seen {
    /// The protocol version negotiated.
    pub version: Option<ProtocolVersion>,
    /// The cipher suite negotiated (its IANA number).
    pub suite: Option<u16>,
    /// The ALPN protocol negotiated, if any.
    pub alpn: Option<Vec<u8>>,
}

impl<'a> Client<'a> {
    /// A client that presents no certificate.
    pub fn anonymous() -> Self {
        Client::default()
    }

    /// Presents `issued` followed by its intermediates.
    pub fn with_cert(issued: &'a Issued) -> Self {
        Client {
            identity: Some(issued),
            ..Client::default()
        }
    }

    /// Offers only `versions`.
    pub fn versions(mut self, versions: &'static [&'static SupportedProtocolVersion]) -> Self {
        self.versions = Some(versions);
        self
    }

    fn config(&self) -> Result<ClientConfig, String> {
        let mut roots = RootCertStore::empty();
        roots
            .add(pki().root.cert_der.clone())
            .map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(self.versions.unwrap_or(rustls::DEFAULT_VERSIONS))
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let mut config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(issued) => builder
                .with_client_auth_cert(issued.chain_der(), issued.private_key_der())
                .map_err(|e| e.to_string())?,
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(config)
    }

    /// Connects, handshakes as `localhost`, sends a line and expects it echoed.
    pub async fn exchange(&self, addr: SocketAddr) -> Result<Seen, String> {
        tokio::time::timeout(STEP, self.exchange_unbounded(addr))
            .await
            .map_err(|_| "client timed out".to_string())?
    }

    /// Connects and completes a handshake as `localhost`, then closes; no data is exchanged.
    pub async fn handshake(&self, addr: SocketAddr) -> Result<(), String> {
        let handshake = async {
            let mut tls = self.connect(addr).await?;
            let _ = tls.shutdown().await;
            Ok(())
        };
        tokio::time::timeout(STEP, handshake)
            .await
            .map_err(|_| "client timed out".to_string())?
    }

    /// Connects to `addr` and runs the handshake as `localhost`.
    async fn connect(
        &self,
        addr: SocketAddr,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.config()?));
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))
    }

    async fn exchange_unbounded(&self, addr: SocketAddr) -> Result<Seen, String> {
        let mut tls = self.connect(addr).await?;
        let (_, connection) = tls.get_ref();
        let seen = Seen {
            version: connection.protocol_version(),
            suite: connection
                .negotiated_cipher_suite()
                .map(|s| u16::from(s.suite())),
            alpn: connection.alpn_protocol().map(<[u8]>::to_vec),
        };
        tls.write_all(b"ping\n")
            .await
            .map_err(|e| format!("write: {e}"))?;
        tls.flush().await.map_err(|e| format!("flush: {e}"))?;
        let mut echoed = [0u8; 5];
        tls.read_exact(&mut echoed)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if &echoed != b"ping\n" {
            return Err(format!("echo mismatch: {echoed:?}"));
        }
        let _ = tls.shutdown().await;
        Ok(seen)
    }
}
