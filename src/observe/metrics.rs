//! The `tls_policy_*` metrics of one channel: handles registered once, then an atomic add per event.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Label};
use tls_policy_backend::HandshakeFailure;

use super::catalog::{
    ACTIVE_CONNECTIONS, BYTES_READ, BYTES_WRITTEN, HANDSHAKES, HANDSHAKE_DURATION,
    PENDING_CONNECTIONS,
};
use crate::Acceptor;

/// The metrics of one channel (`channel`, `policy`, `backend` labels), shared by its connections.
///
/// The handles are registered with the installed recorder on first use, so a recorder installed
/// after the channel was set up (but before its first connection) still sees everything; after
/// that each event is an atomic operation, with no allocation and no lookup.
pub struct ChannelMetrics {
    channel: String,
    policy: String,
    backend: &'static str,
    handles: OnceLock<Handles>,
}

struct Handles {
    ok: Counter,
    failed: [Counter; HandshakeFailure::ALL.len()],
    duration_ok: Histogram,
    duration_failed: Histogram,
    active: Gauge,
    pending: Gauge,
    read: Counter,
    written: Counter,
}

impl ChannelMetrics {
    /// The metrics of `channel`, secured by `acceptor` (`None`: plaintext, labelled `none`).
    pub fn new(channel: &str, acceptor: Option<&Acceptor>) -> Self {
        ChannelMetrics {
            channel: channel.to_string(),
            policy: acceptor.map_or("none", Acceptor::policy).to_string(),
            backend: acceptor.map_or("none", |a| a.backend().name()),
            handles: OnceLock::new(),
        }
    }

    /// The channel label.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The policy label (`none` for plaintext).
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// The backend label (`none` for plaintext).
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    fn labels(&self) -> Vec<Label> {
        vec![
            Label::new("channel", self.channel.clone()),
            Label::new("policy", self.policy.clone()),
            Label::new("backend", self.backend),
        ]
    }

    fn handles(&self) -> &Handles {
        self.handles.get_or_init(|| {
            let with = |extra: &[(&'static str, &'static str)]| {
                let mut labels = self.labels();
                labels.extend(extra.iter().map(|(k, v)| Label::new(*k, *v)));
                labels
            };
            Handles {
                ok: metrics::counter!(HANDSHAKES, with(&[("outcome", "ok"), ("reason", "none")])),
                failed: HandshakeFailure::ALL.map(|reason| {
                    metrics::counter!(
                        HANDSHAKES,
                        with(&[("outcome", "failed"), ("reason", reason.as_str())])
                    )
                }),
                duration_ok: metrics::histogram!(HANDSHAKE_DURATION, with(&[("outcome", "ok")])),
                duration_failed: metrics::histogram!(
                    HANDSHAKE_DURATION,
                    with(&[("outcome", "failed")])
                ),
                active: metrics::gauge!(ACTIVE_CONNECTIONS, self.labels()),
                pending: metrics::gauge!(PENDING_CONNECTIONS, self.labels()),
                read: metrics::counter!(BYTES_READ, self.labels()),
                written: metrics::counter!(BYTES_WRITTEN, self.labels()),
            }
        })
    }

    /// Registers every handle now (so a scrape shows zeros before the first connection).
    pub fn register(&self) {
        let _ = self.handles();
    }

    /// Records a completed handshake that took `took`.
    pub fn handshake_succeeded(&self, took: Duration) {
        let handles = self.handles();
        handles.ok.increment(1);
        handles.duration_ok.record(took.as_secs_f64());
    }

    /// Records a failed handshake, by reason, that took `took`.
    pub fn handshake_failed(&self, reason: HandshakeFailure, took: Duration) {
        let handles = self.handles();
        if let Some(counter) = handles.failed.get(reason.index()) {
            counter.increment(1);
        }
        handles.duration_failed.record(took.as_secs_f64());
    }

    /// Records a connection refused before any handshake began (closed at accept, past a
    /// pending bound): counted by reason, no duration.
    pub fn refused(&self, reason: HandshakeFailure) {
        if let Some(counter) = self.handles().failed.get(reason.index()) {
            counter.increment(1);
        }
    }

    /// Counts a connection as pending (accepted, handshake not done) until the returned guard
    /// is dropped.
    pub fn pending_opened(self: &Arc<Self>) -> PendingConnection {
        self.handles().pending.increment(1.0);
        PendingConnection {
            metrics: Arc::clone(self),
        }
    }

    /// Counts a connection as open until the returned guard is dropped.
    pub fn connection_opened(self: &Arc<Self>) -> ActiveConnection {
        self.handles().active.increment(1.0);
        ActiveConnection {
            metrics: Arc::clone(self),
        }
    }

    /// Adds `n` bytes read.
    pub fn bytes_read(&self, n: usize) {
        if n > 0 {
            self.handles().read.increment(n as u64);
        }
    }

    /// Adds `n` bytes written.
    pub fn bytes_written(&self, n: usize) {
        if n > 0 {
            self.handles().written.increment(n as u64);
        }
    }
}

impl fmt::Debug for ChannelMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelMetrics")
            .field("channel", &self.channel)
            .field("policy", &self.policy)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// One open connection in `tls_policy_active_connections`; dropping it counts the close, so a
/// connection ended any way (completed, failed, cut at the drain, panicked) is never leaked.
#[derive(Debug)]
#[must_use = "the connection counts as open only while the guard lives"]
pub struct ActiveConnection {
    metrics: Arc<ChannelMetrics>,
}

/// One connection in `tls_policy_pending_connections`; dropping it counts it out.
#[derive(Debug)]
#[must_use = "the connection counts as pending only while the guard lives"]
pub struct PendingConnection {
    metrics: Arc<ChannelMetrics>,
}

impl Drop for PendingConnection {
    fn drop(&mut self) {
        self.metrics.handles().pending.decrement(1.0);
    }
}

impl Drop for ActiveConnection {
    fn drop(&mut self) {
        self.metrics.handles().active.decrement(1.0);
    }
}
