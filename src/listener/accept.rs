//! The one accept loop every server socket of the crate uses ([`super::Listener`], and through
//! it tonic's `TlsIncoming`; axum's `TlsListener`): an error about one peer is retried at once,
//! any other (EMFILE, ENFILE, ENOBUFS, ENOMEM...) after a pause that doubles from
//! [`BACKOFF_MIN`] to [`BACKOFF_MAX`] while errors repeat and starts again after an accept.

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// The first pause after an accept error that is not about one connection.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause between accept retries (as axum's own listener, which always waits 1 s).
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accept errors about one connection (it went away before we took it, or a signal
/// interrupted the call): retried at once, logged at debug only.
pub(crate) fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// What accepts connections: a socket (or a test's script).
pub(crate) trait AcceptSource {
    /// One accepted connection.
    type Connection;
    /// Polls for the next connection (cancel-safe, as `TcpListener::poll_accept`).
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Connection>>;
}

impl AcceptSource for TcpListener {
    type Connection = (TcpStream, SocketAddr);
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Connection>> {
        TcpListener::poll_accept(self, cx)
    }
}

impl<S: AcceptSource> AcceptSource for Arc<S> {
    type Connection = S::Connection;
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Connection>> {
        S::poll_accept(self, cx)
    }
}

/// How the loop pauses (tokio's timer; a test's recorder).
pub(crate) trait Pause {
    /// The pause in progress.
    type Sleep: Future<Output = ()> + Send;
    /// Starts a pause of `delay`.
    fn sleep(&self, delay: Duration) -> Self::Sleep;
}

/// Pauses on tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TokioPause;

impl Pause for TokioPause {
    type Sleep = tokio::time::Sleep;
    fn sleep(&self, delay: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(delay)
    }
}

/// A socket's accept loop with its backoff state; [`AcceptLoop::next`] is cancel-safe (a pause
/// cut short by another `select!` branch goes on at the next call), so it can sit in a
/// `select!` beside a shutdown signal.
pub(crate) struct AcceptLoop<S, P: Pause = TokioPause> {
    source: S,
    pause: P,
    /// The next pause after a listener-wide error.
    next_delay: Duration,
    /// A pause under way: no accept until it is over.
    pausing: Option<Pin<Box<P::Sleep>>>,
    /// Names the socket in the logs: the channel, or `axum:<policy>`.
    label: Arc<str>,
    local_addr: Option<SocketAddr>,
}

impl<S: AcceptSource> AcceptLoop<S> {
    /// The accept loop of `source`, labelled `label` (and `local_addr`) in its logs.
    pub(crate) fn new(source: S, label: Arc<str>, local_addr: Option<SocketAddr>) -> Self {
        AcceptLoop::with_pause(source, TokioPause, label, local_addr)
    }
}

impl<S: AcceptSource, P: Pause> AcceptLoop<S, P> {
    /// As [`AcceptLoop::new`], pausing with `pause`.
    pub(crate) fn with_pause(
        source: S,
        pause: P,
        label: Arc<str>,
        local_addr: Option<SocketAddr>,
    ) -> Self {
        AcceptLoop {
            source,
            pause,
            next_delay: BACKOFF_MIN,
            pausing: None,
            label,
            local_addr,
        }
    }

    /// The next connection; accept errors never end the loop (see the module documentation).
    pub(crate) async fn next(&mut self) -> S::Connection {
        loop {
            if let Some(pausing) = self.pausing.as_mut() {
                pausing.await;
                self.pausing = None;
            }
            match poll_fn(|cx| self.source.poll_accept(cx)).await {
                Ok(connection) => {
                    self.next_delay = BACKOFF_MIN;
                    return connection;
                }
                Err(error) => self.failed(&error),
            }
        }
    }

    /// Logs `error` and, unless it is about one connection, starts the next pause.
    fn failed(&mut self, error: &io::Error) {
        if is_per_connection(error) {
            tracing::debug!(
                channel = %self.label, address = ?self.local_addr, %error,
                "a connection failed while being accepted"
            );
            return;
        }
        let delay = self.next_delay;
        self.next_delay = (delay * 2).min(BACKOFF_MAX);
        tracing::warn!(
            channel = %self.label, address = ?self.local_addr, %error, retry_in = ?delay,
            "accepting connections failed; retrying (too many open files? raise `ulimit -n` or lower max_concurrent_handshakes)"
        );
        self.pausing = Some(Box::pin(self.pause.sleep(delay)));
    }

    /// The source (to close it: drop the loop).
    #[cfg(test)]
    fn source(&self) -> &S {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// Answers each poll with the next scripted result (pending when the script is done).
    struct Script(Mutex<VecDeque<io::Result<u32>>>);

    impl Script {
        fn new(results: impl IntoIterator<Item = io::Result<u32>>) -> Self {
            Script(Mutex::new(results.into_iter().collect()))
        }
        fn left(&self) -> usize {
            self.0.lock().unwrap().len()
        }
    }

    impl AcceptSource for Script {
        type Connection = u32;
        fn poll_accept(&self, _cx: &mut Context<'_>) -> Poll<io::Result<u32>> {
            match self.0.lock().unwrap().pop_front() {
                Some(result) => Poll::Ready(result),
                None => Poll::Pending,
            }
        }
    }

    /// Records each pause asked for and ends it at once.
    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<Vec<Duration>>>);

    impl Pause for Recorded {
        type Sleep = std::future::Ready<()>;
        fn sleep(&self, delay: Duration) -> Self::Sleep {
            self.0.lock().unwrap().push(delay);
            std::future::ready(())
        }
    }

    impl Recorded {
        fn take(&self) -> Vec<Duration> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    fn emfile() -> io::Result<u32> {
        Err(io::Error::from_raw_os_error(24)) // EMFILE on Linux and macOS
    }

    fn kind(kind: io::ErrorKind) -> io::Result<u32> {
        Err(io::Error::from(kind))
    }

    fn accept_loop(script: Script, pause: &Recorded) -> AcceptLoop<Script, Recorded> {
        AcceptLoop::with_pause(script, pause.clone(), Arc::from("test"), None)
    }

    #[tokio::test]
    async fn resource_errors_back_off_doubling_up_to_the_max_and_reset_after_an_accept() {
        let pause = Recorded::default();
        let script = (0..10).map(|_| emfile()).chain([Ok(1), emfile(), Ok(2)]);
        let mut accepting = accept_loop(Script::new(script), &pause);
        assert_eq!(accepting.next().await, 1);
        let delays = pause.take();
        assert_eq!(delays.len(), 10, "{delays:?}");
        assert_eq!(delays[0], BACKOFF_MIN);
        assert_eq!(delays[1], BACKOFF_MIN * 2);
        assert_eq!(delays[2], BACKOFF_MIN * 4);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(delays[9], BACKOFF_MAX);
        // The accept reset the backoff: the next error waits the shortest time again.
        assert_eq!(accepting.next().await, 2);
        assert_eq!(pause.take(), [BACKOFF_MIN]);
    }

    #[tokio::test]
    async fn errors_about_one_peer_are_retried_at_once_and_keep_the_backoff() {
        let pause = Recorded::default();
        let script = [
            kind(io::ErrorKind::Interrupted),
            kind(io::ErrorKind::ConnectionAborted),
            kind(io::ErrorKind::ConnectionReset),
            kind(io::ErrorKind::ConnectionRefused),
            Ok(1),
            emfile(),
            kind(io::ErrorKind::Interrupted),
            emfile(),
            Ok(2),
        ];
        let mut accepting = accept_loop(Script::new(script), &pause);
        assert_eq!(accepting.next().await, 1);
        assert_eq!(
            pause.take(),
            Vec::<Duration>::new(),
            "a peer's error paused the loop"
        );
        assert_eq!(accepting.next().await, 2);
        // The Interrupted between the two EMFILEs neither paused nor reset the backoff.
        assert_eq!(pause.take(), [BACKOFF_MIN, BACKOFF_MIN * 2]);
        assert_eq!(accepting.source().left(), 0);
    }

    /// A pause that never ends until released: shows that a pause cut short by another
    /// `select!` branch is not skipped at the next call.
    struct Held(Arc<tokio::sync::Notify>);

    impl Pause for Held {
        type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;
        fn sleep(&self, _delay: Duration) -> Self::Sleep {
            let released = Arc::clone(&self.0);
            Box::pin(async move { released.notified().await })
        }
    }

    #[tokio::test]
    async fn a_cancelled_pause_goes_on_at_the_next_call() {
        let release = Arc::new(tokio::sync::Notify::new());
        let script = Script::new([emfile(), Ok(7)]);
        let mut accepting =
            AcceptLoop::with_pause(script, Held(Arc::clone(&release)), Arc::from("t"), None);
        // The first call takes the error and pauses; another branch wins meanwhile.
        tokio::select! {
            biased;
            _ = accepting.next() => panic!("accepted during the pause"),
            () = std::future::ready(()) => {}
        }
        for _ in 0..3 {
            tokio::select! {
                biased;
                _ = accepting.next() => panic!("the pause was skipped"),
                () = std::future::ready(()) => {}
            }
        }
        assert_eq!(accepting.source().left(), 1, "accepted during the pause");
        release.notify_one();
        assert_eq!(accepting.next().await, 7);
    }
}
