//! The background side of [`super::TlsListener`]: accepts TCP connections and runs their handshakes concurrently, bounded in number and time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::backoff::Backoff;
use crate::{Acceptor, TlsStream};

/// A connection ready for axum: the established stream and the peer's address.
pub(super) type Established = (TlsStream<TcpStream>, SocketAddr);

/// How many established streams may wait for axum to take them (each still holds its slot).
const QUEUE: usize = 32;

/// The handshake limits of one listener.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// How long a handshake may take.
    pub(super) handshake_timeout: Duration,
    /// How many connections may be between TCP accept and delivery at once (at least 1).
    pub(super) max_handshakes: usize,
}

/// The running background tasks of a listener; dropping it stops accepting.
pub(super) struct Running {
    established: mpsc::Receiver<Established>,
    accept_task: JoinHandle<()>,
}

impl Running {
    /// The next established connection; `None` only if the accept task has ended.
    pub(super) async fn next(&mut self) -> Option<Established> {
        self.established.recv().await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Handshakes in flight end by themselves: their send fails, or their timeout fires.
        self.accept_task.abort();
    }
}

/// Starts accepting on `tcp`, handshaking with `acceptor` within `limits`.
pub(super) fn spawn(tcp: Arc<TcpListener>, acceptor: Acceptor, limits: Limits) -> Running {
    let (sender, established) = mpsc::channel(QUEUE);
    let accept_task = tokio::spawn(accept_loop(tcp, acceptor, limits, sender));
    Running {
        established,
        accept_task,
    }
}

async fn accept_loop(
    tcp: Arc<TcpListener>,
    acceptor: Acceptor,
    limits: Limits,
    sender: mpsc::Sender<Established>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_handshakes.max(1)));
    let mut backoff = Backoff::default();
    loop {
        // Take a slot before the connection, so excess peers wait in the kernel's backlog.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return; // never closed
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            Err(error) => {
                backoff.wait(&error, tcp.local_addr().ok()).await;
                continue;
            }
        };
        tokio::spawn(handshake(
            acceptor.clone(),
            stream,
            peer,
            limits.handshake_timeout,
            sender.clone(),
            slot,
        ));
    }
}

/// Runs one handshake; delivers the stream, or logs why there is none.
async fn handshake(
    acceptor: Acceptor,
    stream: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
    sender: mpsc::Sender<Established>,
    slot: OwnedSemaphorePermit,
) {
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            // An error means the listener is gone: the connection is simply dropped.
            let _ = sender.send((tls, peer)).await;
        }
        Ok(Err(error)) => tracing::info!(
            %peer,
            policy = acceptor.policy(),
            backend = acceptor.backend().name(),
            "TLS handshake with {peer} failed: {error}"
        ),
        Err(_) => tracing::info!(
            %peer,
            policy = acceptor.policy(),
            backend = acceptor.backend().name(),
            "TLS handshake with {peer} timed out after {timeout:?}"
        ),
    }
    // The slot is held until the stream is delivered, so queued streams count too.
    drop(slot);
}
