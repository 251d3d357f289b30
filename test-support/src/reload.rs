//! Certificate rotation helpers shared by the reload tests: issue, install atomically, and
//! handshake until the server presents the new leaf.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tls_policy_dev_pki::{Issued, LeafSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{pki, STEP};

/// A rustls (ring) client stream.
pub type ClientStream = tokio_rustls::client::TlsStream<TcpStream>;

/// A further server certificate for `localhost` from the PKI's intermediate.
pub fn new_server_cert(name: &str) -> Issued {
    pki()
        .issue(&LeafSpec::server(
            name,
            ["localhost", "127.0.0.1"],
            time::Duration::days(30),
        ))
        .expect("issue server certificate")
}

/// Replaces `path` the way certificate tools do: a new file renamed over the old one.
pub fn replace(path: &Path, contents: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().expect("file in a directory");
    let name = path.file_name().expect("file name").to_string_lossy();
    let tmp = dir.join(format!(".{name}.new"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .expect("create replacement");
    file.write_all(contents).expect("write replacement");
    file.sync_all().expect("sync replacement");
    std::fs::rename(&tmp, path).expect("rename replacement into place");
}

/// Installs `issued` as the policy's chain and key.
pub fn install(base: &Path, issued: &Issued) {
    replace(&base.join("public.crt"), issued.chain_pem().as_bytes());
    replace(&base.join("private.key"), issued.key_pem.as_bytes());
}

/// A rustls (ring) client trusting the PKI's root, presenting `identity` if given.
pub fn client_config(identity: Option<&Issued>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki().root.cert_der.clone()).expect("root");
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
    Arc::new(match identity {
        None => builder.with_no_client_auth(),
        Some(issued) => builder
            .with_client_auth_cert(issued.chain_der(), issued.private_key_der())
            .expect("client identity"),
    })
}

/// Connects and handshakes as `localhost`; returns the stream and the server's leaf.
pub async fn connect(
    addr: SocketAddr,
    identity: Option<&Issued>,
) -> Result<(ClientStream, CertificateDer<'static>), String> {
    let connector = tokio_rustls::TlsConnector::from(client_config(identity));
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let leaf = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .cloned()
            .ok_or("the server sent no certificate")?;
        Ok((tls, leaf))
    };
    tokio::time::timeout(STEP, attempt)
        .await
        .map_err(|_| "connect timed out".to_string())?
}

/// Sends a line over `tls` and expects it echoed (bounded).
pub async fn echo(tls: &mut ClientStream) -> Result<(), String> {
    let round_trip = async {
        tls.write_all(b"ping\n")
            .await
            .map_err(|e| format!("write: {e}"))?;
        tls.flush().await.map_err(|e| format!("flush: {e}"))?;
        let mut echoed = [0u8; 5];
        tls.read_exact(&mut echoed)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if &echoed == b"ping\n" {
            Ok(())
        } else {
            Err(format!("echo mismatch: {echoed:?}"))
        }
    };
    tokio::time::timeout(STEP, round_trip)
        .await
        .map_err(|_| "echo timed out".to_string())?
}

/// One full exchange: handshake, echo, close; returns the server's leaf.
pub async fn handshake(
    addr: SocketAddr,
    identity: Option<&Issued>,
) -> Result<CertificateDer<'static>, String> {
    let (mut tls, leaf) = connect(addr, identity).await?;
    echo(&mut tls).await?;
    let _ = tls.shutdown().await;
    Ok(leaf)
}

/// Polls handshakes for up to `limit` until the server presents `expected`; whether it did.
pub async fn wait_for_leaf(
    addr: SocketAddr,
    expected: &CertificateDer<'_>,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(leaf) = handshake(addr, None).await {
            if leaf == *expected {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
