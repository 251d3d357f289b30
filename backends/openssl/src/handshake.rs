//! Both sides of an OpenSSL handshake over tokio, the [`TlsInfo`] they report, and their
//! errors, classified where they happen.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;

use openssl::ssl::{ErrorCode, NameType, Ssl, SslRef, SslVersion};
use openssl::x509::X509VerifyResult;
use tls_policy_backend::pki_types::CertificateDer;
use tls_policy_backend::{CipherSuite, HandshakeFailure, TlsInfo, TlsVersion};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_openssl::SslStream;

use crate::capabilities::NAME;
use crate::classify::{classify_text, classify_verify_error};
use crate::trust::{Verdict, VerdictSlot};
use crate::{OpensslAcceptor, OpensslConnector};

/// A failed OpenSSL handshake: what OpenSSL said, with the verification error and the
/// certificate it concerns, and the reason already classified.
///
/// The `io::Error` a handshake returns holds it (`error.get_ref()` downcasts to it); a peer
/// refused by `allowed_peers` or the peer check is a [`tls_policy_backend::PeerRefused`]
/// instead.
#[derive(Debug)]
pub struct HandshakeError {
    /// Why the handshake failed.
    pub failure: HandshakeFailure,
    pub(crate) message: String,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandshakeError {}

/// Runs the server side over `io` and describes it.
pub(crate) async fn accept<IO>(
    acceptor: OpensslAcceptor,
    io: IO,
) -> io::Result<(SslStream<IO>, TlsInfo)>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut ssl = Ssl::new(&acceptor.context).map_err(setup_error)?;
    let slot = acceptor.verifier.install(&mut ssl, acceptor.mode);
    let mut stream = SslStream::new(ssl, io).map_err(setup_error)?;
    if let Err(err) = Pin::new(&mut stream).accept().await {
        let error = handshake_error(err, stream.ssl(), &slot);
        if refused_a_certificate(&error) {
            drain(stream.get_mut()).await;
        }
        return Err(error);
    }
    let info = describe(stream.ssl(), stream.ssl().servername(NameType::HOST_NAME));
    Ok((stream, info))
}

/// The most bytes read and dropped after a refused handshake, and the longest wait.
const DRAIN_BYTES: usize = 64 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether the server refused the client's certificate (or its absence): then OpenSSL sent
/// an alert the client must read, and the client may have sent more after its certificate.
fn refused_a_certificate(error: &io::Error) -> bool {
    matches!(
        crate::classify_handshake_error(error),
        HandshakeFailure::UnknownCa
            | HandshakeFailure::Revoked
            | HandshakeFailure::RevocationUnknown
            | HandshakeFailure::Expired
            | HandshakeFailure::NoClientCertificate
            | HandshakeFailure::NotAllowed
            | HandshakeFailure::BadCertificate
    )
}

/// After a server refused a client's certificate: OpenSSL has written its alert, but the client's later
/// records (its TLS 1.3 Finished, its first data) may still be unread, and closing a socket
/// with unread bytes resets it, which can discard the alert before the client reads it. So
/// the sending side is shut down (FIN after the alert) and what the client still sends is
/// read and dropped until it closes, bounded by [`DRAIN_BYTES`] and [`DRAIN_TIME`].
async fn drain<IO>(io: &mut IO)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let _ = io.shutdown().await;
        let mut buf = [0u8; 4096];
        let mut dropped = 0;
        while dropped < DRAIN_BYTES {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
    })
    .await;
}

/// Runs the client side with `server_name` over `io` and describes it.
///
/// A DNS name is sent as SNI and, with `verify_hostname`, checked against the certificate's
/// DNS SANs (wildcards in the left-most label only); an IP address is not sent and is checked
/// against its IP SANs.
pub(crate) async fn connect<IO>(
    connector: OpensslConnector,
    server_name: String,
    io: IO,
) -> io::Result<(SslStream<IO>, TlsInfo)>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
    let mut ssl = Ssl::new(&connector.context).map_err(setup_error)?;
    let ip = server_name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let sni = match ip {
        Some(_) => None,
        None => {
            if server_name.is_empty()
                || server_name.len() > 253
                || server_name.contains(['\0', '/', ' '])
            {
                return Err(invalid(format!(
                    "cannot dial this server name: {server_name:?} is not a DNS name or IP address"
                )));
            }
            ssl.set_hostname(&server_name)
                .map_err(|err| invalid(format!("cannot send {server_name:?} as SNI: {err}")))?;
            Some(server_name.clone())
        }
    };
    if connector.verify_hostname {
        let param = ssl.param_mut();
        param.set_hostflags(openssl::x509::verify::X509CheckFlags::NO_PARTIAL_WILDCARDS);
        match ip {
            Some(ip) => param.set_ip(ip),
            None => param.set_host(&server_name),
        }
        .map_err(|err| {
            invalid(format!(
                "cannot check the server's name {server_name:?}: {err}"
            ))
        })?;
    }
    let slot = connector
        .verifier
        .install(&mut ssl, openssl::ssl::SslVerifyMode::PEER);
    let mut stream = SslStream::new(ssl, io).map_err(setup_error)?;
    if let Err(err) = Pin::new(&mut stream).connect().await {
        return Err(handshake_error(err, stream.ssl(), &slot));
    }
    let info = describe(stream.ssl(), sni.as_deref());
    Ok((stream, info))
}

/// What the handshake negotiated: version, suite (by its code point), ALPN, SNI, the peer's
/// certificates leaf first.
fn describe(ssl: &SslRef, sni: Option<&str>) -> TlsInfo {
    let mut info = TlsInfo::new(NAME);
    info.protocol_version = match ssl.version2() {
        Some(SslVersion::TLS1_3) => Some(TlsVersion::Tls13),
        Some(SslVersion::TLS1_2) => Some(TlsVersion::Tls12),
        _ => None,
    };
    info.cipher_suite = ssl
        .current_cipher()
        .and_then(|cipher| CipherSuite::from_code(u16::from_be_bytes(cipher.protocol_id())));
    info.alpn = ssl.selected_alpn_protocol().map(<[u8]>::to_vec);
    info.sni = sni.map(str::to_owned);
    // The server side's peer chain leaves out the leaf; the client side's starts with it.
    if let Some(leaf) = ssl.peer_certificate().and_then(|cert| cert.to_der().ok()) {
        let chain: Vec<Vec<u8>> = ssl
            .peer_cert_chain()
            .map(|chain| chain.iter().filter_map(|cert| cert.to_der().ok()).collect())
            .unwrap_or_default();
        info.peer_certificates
            .push(CertificateDer::from(leaf.clone()));
        info.peer_certificates.extend(
            chain
                .into_iter()
                .filter(|der| *der != leaf)
                .map(CertificateDer::from),
        );
    }
    info
}

/// OpenSSL could not set the handshake up (out of memory and the like).
fn setup_error(err: openssl::error::ErrorStack) -> io::Error {
    io::Error::other(HandshakeError {
        failure: HandshakeFailure::Other,
        message: format!("the OpenSSL handshake cannot be set up: {err}"),
    })
}

/// The handshake's error, with what the verify callback saw, classified.
fn handshake_error(err: openssl::ssl::Error, ssl: &SslRef, slot: &VerdictSlot) -> io::Error {
    let verdict = slot
        .lock()
        .map(|mut verdict| std::mem::take(&mut *verdict))
        .unwrap_or_default();
    let Verdict { refused, failed } = verdict;
    if let Some(refused) = refused {
        return io::Error::new(io::ErrorKind::PermissionDenied, refused);
    }
    let verify = ssl.verify_result();
    let failed =
        failed.or_else(|| (verify != X509VerifyResult::OK).then(|| (verify, 0, String::new())));
    let (kind, text) = match (err.code(), err.io_error()) {
        (_, Some(io_err)) => (io_err.kind(), format!("{err}: {io_err}")),
        (ErrorCode::SYSCALL, None) | (ErrorCode::ZERO_RETURN, None) => (
            io::ErrorKind::UnexpectedEof,
            "the peer closed the connection during the handshake".to_owned(),
        ),
        _ => (io::ErrorKind::InvalidData, err.to_string()),
    };
    let (failure, message) = match failed {
        Some((result, depth, subject)) => {
            let what = if subject.is_empty() {
                format!("depth {depth}")
            } else {
                format!("depth {depth}, {subject}")
            };
            (
                classify_verify_error(result),
                format!(
                    "certificate verify failed: {} ({what}); {text}",
                    result.error_string()
                ),
            )
        }
        None => {
            let failure = classify_text(&text.to_ascii_lowercase())
                .or_else(|| HandshakeFailure::from_io_kind(&io::Error::from(kind)))
                .unwrap_or(HandshakeFailure::Other);
            (failure, text)
        }
    };
    io::Error::new(kind, HandshakeError { failure, message })
}
