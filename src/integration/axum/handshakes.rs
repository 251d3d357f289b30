//! The background side of [`super::TlsListener`]: accepts TCP connections and admits each in
//! its own task through the shared [`crate::admission`] (pending bounds, first-record wait,
//! handshake in a slot).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::admission::{Admission, Admitted, Pending, PendingLimits, ProxyHeader};
use crate::layer::HandshakeLimits;
use crate::listener::accept::AcceptLoop;
use crate::listener::{TlsMode, Transport};
use crate::observe::{ChannelMetrics, RefusalLog, SUMMARY_EVERY};
use crate::{Acceptor, TlsStream};

/// A connection ready for axum: the established stream and the peer's address.
pub(super) type Established = (TlsStream<TcpStream>, SocketAddr);

/// How many established streams may wait for axum to take them (each still counts as pending).
const QUEUE: usize = 32;

/// The limits of one listener.
#[derive(Clone, Debug)]
pub(super) struct Limits {
    /// How long a handshake may take, from the first record (the wait for a slot included).
    pub(super) handshake_timeout: Duration,
    /// How many handshakes may run at once (at least 1).
    pub(super) max_handshakes: usize,
    /// The first-record timeout and the pending bounds.
    pub(super) pending: PendingLimits,
    /// The PROXY protocol header read before the first record, if any.
    pub(super) proxy: ProxyHeader,
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

/// Starts accepting on `tcp`, admitting with `acceptor` within `limits`, recording into
/// `metrics` (whose channel label also names the refusal log).
pub(super) fn spawn(
    tcp: Arc<TcpListener>,
    acceptor: Acceptor,
    limits: Limits,
    metrics: Arc<ChannelMetrics>,
) -> Running {
    let (sender, established) = mpsc::channel(QUEUE);
    let accept_task = tokio::spawn(accept_loop(tcp, acceptor, limits, metrics, sender));
    Running {
        established,
        accept_task,
    }
}

async fn accept_loop(
    tcp: Arc<TcpListener>,
    acceptor: Acceptor,
    limits: Limits,
    metrics: Arc<ChannelMetrics>,
    sender: mpsc::Sender<Established>,
) {
    let policy = acceptor.policy().to_string();
    let label = metrics.channel().to_owned();
    let admission = Arc::new(
        Admission::new(
            TlsMode::Required(acceptor),
            HandshakeLimits::new(limits.handshake_timeout, limits.max_handshakes),
            limits.pending,
        )
        .with_proxy(limits.proxy),
    );
    let refusals = Arc::new(RefusalLog::new(&label));
    let mut summary = tokio::time::interval(SUMMARY_EVERY);
    summary.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let local_addr = tcp.local_addr().ok();
    let mut accepting = AcceptLoop::new(tcp, Arc::from(label.as_str()), local_addr);
    loop {
        let (stream, peer) = tokio::select! {
            _ = summary.tick() => {
                refusals.flush();
                continue;
            }
            accepted = accepting.next() => accepted,
        };
        match admission.enter(peer) {
            Ok(pending) => {
                let span = tracing::info_span!("tls_connection", channel = %label, %peer, policy = %policy);
                let task = admit(
                    Arc::clone(&admission),
                    Arc::clone(&refusals),
                    Arc::clone(&metrics),
                    stream,
                    peer,
                    pending,
                    sender.clone(),
                );
                tokio::spawn(task.instrument(span));
            }
            Err(refusal) => {
                // Closed at once: no read, no task, no handshake.
                drop(stream);
                metrics.refused(refusal.reason());
                refusals.refused_at_accept(peer, refusal.reason(), &refusal);
            }
        }
    }
}

/// Admits one connection; delivers the stream, or logs why there is none.
async fn admit(
    admission: Arc<Admission>,
    refusals: Arc<RefusalLog>,
    metrics: Arc<ChannelMetrics>,
    stream: TcpStream,
    peer: SocketAddr,
    pending: Pending,
    sender: mpsc::Sender<Established>,
) {
    let counted = metrics.pending_opened();
    let mut pending = pending;
    let admitted = admission
        .admit_recorded(stream, peer, &mut pending, &metrics, &refusals)
        .await;
    // Never plaintext under TlsMode::Required; a refusal is recorded already.
    if let Some(Admitted {
        transport: Transport::Tls(tls),
        peer,
    }) = admitted
    {
        // An error means the listener is gone: the connection is simply dropped.
        let _ = sender.send((tls, peer)).await;
    }
    // Counted as pending until delivered, so queued streams count too.
    drop((pending, counted));
}
