//! The client side of a native-tls handshake, and the [`TlsInfo`] native-tls can report.

use std::io;

use std::time::Duration;
use tls_policy_backend::pki_types::{CertificateDer, ServerName};

use tls_policy_backend::{PeerGate, PeerRefused, RefusedBy, TlsInfo};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_native_tls::TlsStream;

use crate::accept::handshake_error;
use crate::capabilities::NAME;
use crate::client::NativeTlsConnector;

/// Runs the client side of a handshake with `server_name` over `io` and describes it.
///
/// `server_name` is a DNS name (sent as SNI) or an IP address (not sent; OpenSSL checks it
/// against the IP SANs when `verify_hostname=true`). native-tls reports the ALPN protocol and
/// the server's leaf certificate only; the version and the cipher suite are `None`, and `sni` is
/// the name sent. A server the policy's `allowed_peers` (or the channel's peer check) does not
/// admit is refused after the handshake: [`io::ErrorKind::PermissionDenied`], holding a
/// [`PeerRefused`].
pub(crate) async fn connect<IO>(
    connector: NativeTlsConnector,
    server_name: String,
    io: IO,
) -> io::Result<(TlsStream<IO>, TlsInfo)>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let sni = match ServerName::try_from(server_name.as_str()) {
        Ok(ServerName::DnsName(_)) => Some(server_name.clone()),
        Ok(_) => None,
        Err(err) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot dial this server name: {err}"),
            ))
        }
    };
    let stream = connector
        .0
        .connect(&server_name, io)
        .await
        .map_err(handshake_error)?;
    let tls = stream.get_ref();
    let alpn = tls.negotiated_alpn().map_err(handshake_error)?;
    let peer_certificates = match tls.peer_certificate().map_err(handshake_error)? {
        Some(cert) => vec![CertificateDer::from(
            cert.to_der().map_err(handshake_error)?,
        )],
        None => Vec::new(),
    };
    if let Some(gate) = &connector.1 {
        if let Err(refused) = admit_server(gate, peer_certificates.first()) {
            // Close the session cleanly (close_notify) before reporting; best effort.
            let mut stream = stream;
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, stream.shutdown()).await;
            return Err(refused);
        }
    }
    let mut info = TlsInfo::new(NAME);
    info.alpn = alpn;
    info.sni = sni;
    info.peer_certificates = peer_certificates;
    Ok((stream, info))
}

/// How long closing a refused server's session may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Matches the server's verified leaf against the policy's `allowed_peers` and the channel's
/// peer check (native-tls has no verifier hook: this runs once the handshake completed); a
/// server that sent no certificate is refused.
fn admit_server(gate: &PeerGate, leaf: Option<&CertificateDer<'_>>) -> io::Result<()> {
    let refused = match leaf {
        Some(leaf) => gate.admit(leaf).err(),
        None => Some(PeerRefused {
            policy: gate.policy().to_owned(),
            by: RefusedBy::Unreadable,
            peer: "the server sent no certificate".to_owned(),
        }),
    };
    match refused {
        Some(refused) => Err(io::Error::new(io::ErrorKind::PermissionDenied, refused)),
        None => Ok(()),
    }
}
