//! The timeouts of `serve`'s HTTP channels, and [`Watched`]: a connection wrapper that notes
//! when bytes last moved and whether a request is in flight, so an idle connection can be
//! closed.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use tls_policy::config::{
    ChannelSettings, DEFAULT_HTTP_HEADER_READ_TIMEOUT, DEFAULT_HTTP_IDLE_TIMEOUT,
};

/// The timeouts of one HTTP channel of `tls-policy serve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HttpTimeouts {
    /// `http_header_read_timeout`: how long a request's header may take to arrive (HTTP/1.1;
    /// hyper counts the wait for the next request on a kept-alive connection too).
    pub(crate) header_read: Duration,
    /// `http_idle_timeout`: no request in flight and no bytes either way for this long closes
    /// the connection (HTTP/1.1 and HTTP/2).
    pub(crate) idle: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            header_read: DEFAULT_HTTP_HEADER_READ_TIMEOUT,
            idle: DEFAULT_HTTP_IDLE_TIMEOUT,
        }
    }
}

impl HttpTimeouts {
    /// The timeouts configured for `channel`.
    pub(crate) fn of(channel: &ChannelSettings) -> Self {
        HttpTimeouts {
            header_read: channel.http_header_read_timeout,
            idle: channel.http_idle_timeout,
        }
    }
}

/// When a connection last moved bytes, and how many of its requests are being answered.
#[derive(Debug)]
pub(crate) struct Activity {
    since: Instant,
    // Milliseconds after `since`.
    last: AtomicU64,
    in_flight: AtomicUsize,
}

/// One request being answered; dropping it ends it.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Activity {
    /// A connection active now.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Activity {
            since: Instant::now(),
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        })
    }

    fn touch(&self) {
        let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// When the connection becomes idle for `idle`, if nothing happens before.
    pub(crate) fn idle_at(&self, idle: Duration) -> Instant {
        self.since + Duration::from_millis(self.last.load(Ordering::Relaxed)) + idle
    }

    /// Whether no request is in flight and no bytes moved for `idle`.
    pub(crate) fn is_idle(&self, idle: Duration) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0 && Instant::now() >= self.idle_at(idle)
    }

    /// Counts a request as in flight until the guard is dropped.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// `IO` with every read and write of at least one byte noted in an [`Activity`].
#[derive(Debug)]
pub(crate) struct Watched<IO> {
    io: IO,
    activity: Arc<Activity>,
}

impl<IO> Watched<IO> {
    /// Watches `io` into `activity`.
    pub(crate) fn new(io: IO, activity: Arc<Activity>) -> Self {
        Watched { io, activity }
    }
}

/// Notes activity when a write moved bytes.
fn wrote(activity: &Activity, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
    if let Poll::Ready(Ok(n)) = &poll {
        if *n > 0 {
            activity.touch();
        }
    }
    poll
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        poll
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        wrote(&this.activity, Pin::new(&mut this.io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        wrote(
            &this.activity,
            Pin::new(&mut this.io).poll_write_vectored(cx, bufs),
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_only_without_requests_and_bytes() {
        let activity = Activity::new();
        assert!(!activity.is_idle(Duration::from_secs(60)));
        assert!(activity.is_idle(Duration::ZERO));
        let request = activity.request();
        assert!(!activity.is_idle(Duration::ZERO), "a request is in flight");
        drop(request);
        assert!(activity.is_idle(Duration::ZERO));
        assert!(activity.idle_at(Duration::from_secs(1)) > Instant::now());
    }
}
