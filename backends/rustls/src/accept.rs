//! The server side of a handshake: the [`RustlsAcceptor`] and the [`TlsInfo`] it reports.

use std::io;
use std::sync::Arc;

use rustls::{ProtocolVersion, ServerConfig, ServerConnection};
use tls_policy_backend::{CipherSuite, PeerGate, TlsInfo, TlsVersion};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::peer_admission;
use crate::read_ahead::{self, ReadAhead};
use crate::stapling::StaplingResolver;

/// A compiled policy: the rustls server config shared by every handshake. Cheap to clone.
#[derive(Clone)]
pub struct RustlsAcceptor {
    inner: TlsAcceptor,
    config: Arc<ServerConfig>,
    backend: &'static str,
    stapling: Option<Arc<StaplingResolver>>,
    gate: Option<PeerGate>,
}

impl RustlsAcceptor {
    /// Wraps a server config; `backend` is the name reported in [`TlsInfo::backend`].
    pub(crate) fn new(config: Arc<ServerConfig>, backend: &'static str) -> RustlsAcceptor {
        RustlsAcceptor {
            inner: TlsAcceptor::from(config.clone()),
            config,
            backend,
            stapling: None,
            gate: None,
        }
    }

    /// The same acceptor, its certificate served by `stapling` when given.
    pub(crate) fn with_stapling(mut self, stapling: Option<Arc<StaplingResolver>>) -> Self {
        self.stapling = stapling;
        self
    }

    /// The same acceptor, checking resumed sessions against `gate` (`allowed_peers`, the
    /// application's peer check; full handshakes are checked by the verifier).
    pub(crate) fn with_gate(mut self, gate: Option<PeerGate>) -> Self {
        self.gate = gate;
        self
    }

    /// The resolver whose OCSP staple this acceptor serves, when compiled with
    /// `ServerOptions::ocsp_stapling`; the staple is set there, never on the handshake path.
    pub fn stapling(&self) -> Option<&Arc<StaplingResolver>> {
        self.stapling.as_ref()
    }

    /// The rustls server config this acceptor runs handshakes with.
    pub fn server_config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// The name of the backend that built this acceptor (`rustls-aws-lc-rs`, `rustls-ring`).
    pub fn backend(&self) -> &'static str {
        self.backend
    }
}

impl std::fmt::Debug for RustlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsAcceptor")
            .field("backend", &self.backend)
            .field("alpn_protocols", &self.config.alpn_protocols)
            .field("ocsp_stapling", &self.stapling.is_some())
            .finish_non_exhaustive()
    }
}

/// Runs the server side of a handshake over `io` and describes what was negotiated.
///
/// Once the handshake is done, the stream reads a kernel socket through a [`ReadAhead`] buffer
/// (see [`read_ahead::pays_on`]).
///
/// A failed handshake is the [`io::Error`] tokio-rustls reports; when rustls refused the peer,
/// its [`rustls::Error`] is inside (`err.get_ref()` downcasts to it), except for a peer the
/// policy does not admit, whose error holds a [`tls_policy_backend::PeerRefused`] instead.
pub(crate) async fn accept<IO>(
    acceptor: RustlsAcceptor,
    io: IO,
) -> io::Result<(TlsStream<ReadAhead<IO>>, TlsInfo)>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stream =
        peer_admission::with_refusals(acceptor.inner.accept(ReadAhead::new(io))).await?;
    peer_admission::admit_resumed(acceptor.gate.as_ref(), stream.get_ref().1)?;
    // Handshake reads went straight to the socket; application data is read large from a
    // kernel socket.
    if read_ahead::pays_on::<IO>() {
        stream.get_mut().0.enable();
    }
    let info = tls_info(acceptor.backend, stream.get_ref().1);
    Ok((stream, info))
}

/// Reads the negotiated parameters of an established connection.
pub(crate) fn tls_info(backend: &'static str, conn: &ServerConnection) -> TlsInfo {
    let mut info = TlsInfo::new(backend);
    info.protocol_version = conn.protocol_version().and_then(tls_version);
    info.cipher_suite = conn
        .negotiated_cipher_suite()
        .and_then(|suite| CipherSuite::from_code(u16::from(suite.suite())));
    info.alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
    info.sni = conn.server_name().map(str::to_owned);
    info.peer_certificates = conn
        .peer_certificates()
        .map(|chain| chain.iter().map(|cert| cert.clone().into_owned()).collect())
        .unwrap_or_default();
    info
}

fn tls_version(version: ProtocolVersion) -> Option<TlsVersion> {
    match version {
        ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
        ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
        _ => None,
    }
}
