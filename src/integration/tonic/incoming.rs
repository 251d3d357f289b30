//! [`TlsIncoming`]: a channel's [`Listener`] as the stream of connections `Server::serve_with_incoming` takes.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tower_service::Service;

use super::TonicIo;
use crate::listener::{Connection, ListenError, Listener};
use crate::TlsChannels;

/// How many admitted connections may wait for tonic to take them.
const QUEUE: usize = 32;

/// The connections of one channel, admitted by its [`Listener`], for tonic's
/// `Server::serve_with_incoming` (and `serve_with_incoming_shutdown`).
///
/// Each connection goes through the channel's admission before tonic sees it: the pending
/// bounds (`max_pending_handshakes`, `max_pending_per_address`), the first-record wait
/// (`first_record_timeout`), a handshake slot (`max_concurrent_handshakes`) and the
/// `handshake_timeout`, the PROXY protocol header from `proxy_protocol_trusted` networks. A
/// refused connection is logged and counted by the listener and never reaches tonic, so the
/// stream yields no errors. The listener starts at the first poll (so `new` needs no
/// runtime) and stops when the stream is dropped — tonic drops it when its shutdown signal
/// fires — closing its socket; tonic's graceful shutdown then drains the open connections,
/// which the listener waits for up to its drain timeout (and counts as active meanwhile).
pub struct TlsIncoming {
    state: State,
}

enum State {
    /// Not polled yet (boxed: a listener's config is large beside a receiver).
    Idle(Box<Listener>),
    /// Serving in a background task.
    Running {
        connections: mpsc::Receiver<TonicIo>,
    },
    /// The listener ended.
    Done,
}

impl TlsIncoming {
    /// The connections `listener` admits (TLS as its channel's `tls_level` says).
    pub fn new(listener: Listener) -> TlsIncoming {
        TlsIncoming {
            state: State::Idle(Box::new(listener)),
        }
    }

    /// Binds a configured channel ([`Listener::bind_channel`]: its `listen_address`,
    /// `tls_level`, limits, PROXY protocol settings and the compiled policy from `channels`).
    ///
    /// Errors ([`ListenError`], naming the channel and the setting): the channel is not
    /// configured, has no listen address, needs a policy it does not have, or the address
    /// cannot be bound.
    pub async fn for_channel(
        channels: &TlsChannels,
        channel: &str,
    ) -> Result<TlsIncoming, ListenError> {
        let settings = channels.settings().channels.get(channel).ok_or_else(|| {
            ListenError::UnknownChannel {
                channel: channel.to_owned(),
            }
        })?;
        Ok(TlsIncoming::new(
            Listener::bind_channel(settings, channels).await?,
        ))
    }

    /// The address bound, until the stream has been polled (the listener then runs in its task).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match &self.state {
            State::Idle(listener) => Some(listener.local_addr()),
            _ => None,
        }
    }
}

/// Starts `listener`, handing each admitted connection to `sender` and keeping its task alive
/// (counted active, drained) until tonic drops it; stops when the receiver is dropped.
fn start(listener: Listener, sender: mpsc::Sender<TonicIo>) {
    let closed = sender.clone();
    let hand_over = HandOver {
        sender: Arc::new(sender),
        local_addr: listener.local_addr(),
    };
    tokio::spawn(async move {
        let summary = listener
            .serve(hand_over, async move { closed.closed().await })
            .await;
        tracing::debug!(?summary, "tonic incoming: the listener stopped");
    });
}

/// The listener's service: passes each connection to the stream, then waits for tonic to
/// drop it, so the listener counts it as active and its drain waits for it.
#[derive(Clone)]
struct HandOver {
    sender: Arc<mpsc::Sender<TonicIo>>,
    local_addr: std::net::SocketAddr,
}

impl Service<Connection<TcpStream>> for HandOver {
    type Response = ();
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, connection: Connection<TcpStream>) -> Self::Future {
        let sender = Arc::clone(&self.sender);
        let local_addr = self.local_addr;
        Box::pin(async move {
            let (done, released) = oneshot::channel();
            if sender
                .send(TonicIo::new(connection, local_addr, done))
                .await
                .is_err()
            {
                return Ok(()); // the stream is gone: the connection is dropped
            }
            // Resolves (with an error) once tonic drops the connection.
            let _ = released.await;
            Ok(())
        })
    }
}

impl futures_core::Stream for TlsIncoming {
    type Item = Result<TonicIo, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if matches!(this.state, State::Idle(_)) {
            if let State::Idle(listener) = std::mem::replace(&mut this.state, State::Done) {
                let (sender, connections) = mpsc::channel(QUEUE);
                start(*listener, sender);
                this.state = State::Running { connections };
            }
        }
        match &mut this.state {
            State::Running { connections, .. } => match connections.poll_recv(cx) {
                Poll::Ready(Some(io)) => Poll::Ready(Some(Ok(io))),
                Poll::Ready(None) => {
                    this.state = State::Done;
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            },
            _ => Poll::Ready(None),
        }
    }
}

impl fmt::Debug for TlsIncoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(listener) => format!("idle on {}", listener.local_addr()),
            State::Running { .. } => "running".to_owned(),
            State::Done => "done".to_owned(),
        };
        f.debug_struct("TlsIncoming")
            .field("state", &state)
            .finish()
    }
}
