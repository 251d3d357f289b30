//! A test server: `TlsLayer` over an echo service on an ephemeral loopback port, reporting each
//! connection's outcome.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tower::{service_fn, Layer, ServiceExt};

use tls_policy::{Acceptor, TlsInfo, TlsLayer, TlsServiceError, TlsStream};

use super::STEP;

/// The server side's view of one connection: what was negotiated, or why it failed.
pub type Outcome = Result<TlsInfo, String>;

/// A server behind [`TlsLayer`] on an ephemeral loopback port, reporting each connection's
/// [`Outcome`]; stopped when dropped.
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves `acceptor` on 127.0.0.1:0 until dropped.
    pub async fn start(acceptor: Acceptor) -> Server {
        Self::start_with(TlsLayer::new(acceptor)).await
    }

    /// Serves `layer` on 127.0.0.1:0 until dropped.
    pub async fn start_with(layer: TlsLayer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, outcomes) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _peer)) = listener.accept().await else {
                    continue;
                };
                let tx = tx.clone();
                let reporter = tx.clone();
                let service = layer.layer(service_fn(move |tls: TlsStream<TcpStream>| {
                    let tx = reporter.clone();
                    async move { echo(tls, tx).await }
                }));
                tokio::spawn(async move {
                    // Only the handshake's outcome is reported; how the echo ends is not.
                    match service.oneshot(tcp).await {
                        Err(error @ TlsServiceError::Handshake(_))
                        | Err(error @ TlsServiceError::HandshakeTimeout(_)) => {
                            let _ = tx.send(Err(error.to_string()));
                        }
                        _ => {}
                    }
                });
            }
        });
        Server {
            addr,
            outcomes,
            task,
        }
    }

    /// The next connection's outcome, as the server saw it.
    pub async fn outcome(&mut self) -> Outcome {
        tokio::time::timeout(STEP, self.outcomes.recv())
            .await
            .expect("the server reports every connection in time")
            .expect("server alive")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn echo(
    mut tls: TlsStream<TcpStream>,
    tx: mpsc::UnboundedSender<Outcome>,
) -> std::io::Result<()> {
    let _ = tx.send(Ok(tls.info().clone()));
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(30), tls.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => n,
            Ok(Err(error)) => return Err(error),
        };
        tls.write_all(&buf[..n]).await?;
        tls.flush().await?;
    }
    let _ = tls.shutdown().await;
    Ok(())
}
