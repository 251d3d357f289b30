//! The server side of a native-tls handshake, and the [`TlsInfo`] native-tls can report.

use std::io;

use tls_policy_backend::pki_types::CertificateDer;
use tls_policy_backend::TlsInfo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_native_tls::TlsStream;

use crate::capabilities::NAME;
use crate::NativeTlsAcceptor;

/// Runs the handshake over `io` and describes it.
///
/// native-tls reports only the ALPN protocol and the peer certificate; the version, the cipher
/// suite and the SNI name are `None`. (The server never asks for a client certificate, so
/// `peer_certificates` stays empty in practice.)
pub(crate) async fn accept<IO>(
    acceptor: &NativeTlsAcceptor,
    io: IO,
) -> io::Result<(TlsStream<IO>, TlsInfo)>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let stream = acceptor.0.accept(io).await.map_err(handshake_error)?;
    let tls = stream.get_ref();
    let alpn = tls.negotiated_alpn().map_err(handshake_error)?;
    let peer_certificates = match tls.peer_certificate().map_err(handshake_error)? {
        Some(cert) => vec![CertificateDer::from(
            cert.to_der().map_err(handshake_error)?,
        )],
        None => Vec::new(),
    };
    let mut info = TlsInfo::new(NAME);
    info.alpn = alpn;
    info.peer_certificates = peer_certificates;
    Ok((stream, info))
}

/// Maps a native-tls error to an [`io::Error`], keeping the message and, when the cause was an
/// I/O error of the underlying stream, its kind; otherwise [`io::ErrorKind::InvalidData`].
pub(crate) fn handshake_error(err: native_tls::Error) -> io::Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&err);
    let mut kind = io::ErrorKind::InvalidData;
    while let Some(source) = cause {
        if let Some(io_err) = source.downcast_ref::<io::Error>() {
            kind = io_err.kind();
            break;
        }
        cause = source.source();
    }
    io::Error::new(kind, err)
}
