//! The client side of a handshake: the [`RustlsConnector`] and the [`TlsInfo`] it reports.

use std::io;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ProtocolVersion};
use tls_policy_backend::{CipherSuite, PeerGate, TlsInfo, TlsVersion};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::peer_admission;
use crate::read_ahead::{self, ReadAhead};

/// A policy compiled for the client side: the rustls client config shared by every handshake.
/// Cheap to clone.
#[derive(Clone)]
pub struct RustlsConnector {
    inner: TlsConnector,
    config: Arc<ClientConfig>,
    backend: &'static str,
    gate: Option<PeerGate>,
}

impl RustlsConnector {
    /// Wraps a client config; `backend` is the name reported in [`TlsInfo::backend`].
    pub(crate) fn new(config: Arc<ClientConfig>, backend: &'static str) -> RustlsConnector {
        RustlsConnector {
            inner: TlsConnector::from(config.clone()),
            config,
            backend,
            gate: None,
        }
    }

    /// The same connector, checking resumed sessions against `gate` (full handshakes are
    /// checked by the verifier).
    pub(crate) fn with_gate(mut self, gate: Option<PeerGate>) -> Self {
        self.gate = gate;
        self
    }

    /// The rustls client config this connector runs handshakes with.
    pub fn client_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// The name of the backend that built this connector (`rustls-aws-lc-rs`, `rustls-ring`).
    pub fn backend(&self) -> &'static str {
        self.backend
    }
}

impl std::fmt::Debug for RustlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsConnector")
            .field("backend", &self.backend)
            .field("alpn_protocols", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

/// Runs the client side of a handshake with `server_name` over `io` and describes it.
///
/// `server_name` is a DNS name (sent as SNI, and checked against the certificate when the
/// policy has `verify_hostname=true`) or an IP address (never sent as SNI; checked against the
/// certificate's IP SANs). Anything else is [`io::ErrorKind::InvalidInput`]. A failed handshake
/// is the [`io::Error`] tokio-rustls reports; when rustls refused the server, its
/// [`rustls::Error`] is inside (`err.get_ref()` downcasts to it), except for a server the policy
/// does not admit, whose error holds a [`tls_policy_backend::PeerRefused`] instead.
pub(crate) async fn connect<IO>(
    connector: RustlsConnector,
    server_name: String,
    io: IO,
) -> io::Result<(TlsStream<ReadAhead<IO>>, TlsInfo)>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let name = ServerName::try_from(server_name).map_err(|err| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot dial this server name: {err}"),
        )
    })?;
    let sni = match &name {
        ServerName::DnsName(dns) => Some(dns.as_ref().to_owned()),
        _ => None,
    };
    let mut stream =
        peer_admission::with_refusals(connector.inner.connect(name, ReadAhead::new(io))).await?;
    peer_admission::admit_resumed(connector.gate.as_ref(), stream.get_ref().1)?;
    // Handshake reads went straight to the socket; application data is read large from a
    // kernel socket.
    if read_ahead::pays_on::<IO>() {
        stream.get_mut().0.enable();
    }
    let info = tls_info(connector.backend, stream.get_ref().1, sni);
    Ok((stream, info))
}

/// Reads the negotiated parameters of an established client connection; `sni` is the name sent.
fn tls_info(backend: &'static str, conn: &ClientConnection, sni: Option<String>) -> TlsInfo {
    let mut info = TlsInfo::new(backend);
    info.protocol_version = conn.protocol_version().and_then(|version| match version {
        ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
        ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
        _ => None,
    });
    info.cipher_suite = conn
        .negotiated_cipher_suite()
        .and_then(|suite| CipherSuite::from_code(u16::from(suite.suite())));
    info.alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
    info.sni = sni;
    info.peer_certificates = conn
        .peer_certificates()
        .map(|chain| chain.iter().map(|cert| cert.clone().into_owned()).collect())
        .unwrap_or_default();
    info
}
