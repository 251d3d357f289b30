//! The [`Tls`] service: handshake first (within the layer's limits), then hand the stream to the
//! inner service.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;
use tracing::Instrument;

use super::future::ServiceFuture;
use super::limits::Limited;
use super::{HandshakeError, HandshakeLimits, TlsFuture, TlsServiceError};
use crate::observe::{classify_handshake_error, ChannelMetrics, HandshakeFailure, RefusalLog};
use crate::{Acceptor, TlsStream};

/// Middleware that secures each connection with TLS before passing it to `S`.
///
/// Built by [`super::TlsLayer`]. Each call runs in a `tls_connection` span (channel, policy,
/// backend), records the handshake's outcome, reason and duration, and counts the connection as
/// active until the inner service's future ends. Refusals are logged at most a few lines a
/// second per reason (the metrics count every one).
#[derive(Clone, Debug)]
pub struct Tls<S> {
    inner: S,
    acceptor: Acceptor,
    limits: HandshakeLimits,
    metrics: Arc<ChannelMetrics>,
    refusals: Arc<RefusalLog>,
}

impl<S> Tls<S> {
    pub(crate) fn new(
        inner: S,
        acceptor: Acceptor,
        limits: HandshakeLimits,
        metrics: Arc<ChannelMetrics>,
        refusals: Arc<RefusalLog>,
    ) -> Self {
        Tls {
            inner,
            acceptor,
            limits,
            metrics,
            refusals,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The handshake limits, shared with every service of the same layer.
    pub fn limits(&self) -> &HandshakeLimits {
        &self.limits
    }
}

impl<S, IO> Service<IO> for Tls<S>
where
    S: Service<TlsStream<IO>> + Clone + Send + 'static,
    S::Future: Send,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Response = S::Response;
    type Error = TlsServiceError<S::Error>;
    type Future = TlsFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(TlsServiceError::Service)
    }

    fn call(&mut self, io: IO) -> Self::Future {
        // The readied service goes into the future; a fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        let acceptor = self.acceptor.clone();
        let limits = self.limits.clone();
        let metrics = Arc::clone(&self.metrics);
        let refusals = Arc::clone(&self.refusals);
        // Display (`%`), not the `Debug` a bare `&str` field gets: a formatting subscriber then
        // copies the names as they are instead of escaping them character by character, for
        // every connection (measured by bench/examples/handshake_cost.rs).
        let span = tracing::info_span!(
            "tls_connection",
            channel = %metrics.channel(),
            policy = %metrics.policy(),
            backend = %metrics.backend(),
        );
        let handshake = async move {
            // Moved into the service's future below; dropped however the connection ends
            // (refused, done, or its future dropped).
            let active = metrics.connection_opened();
            let started = Instant::now();
            let stream = match limits.run(acceptor.accept(io)).await {
                Ok(stream) => stream,
                Err(Limited::TimedOut) => {
                    let timeout = limits.timeout();
                    metrics.handshake_failed(HandshakeFailure::Timeout, started.elapsed());
                    refusals.refused(
                        HandshakeFailure::Timeout,
                        &format_args!("no TLS handshake completed within {timeout:?}"),
                    );
                    return Err(TlsServiceError::HandshakeTimeout(timeout));
                }
                Err(Limited::Failed(error)) => {
                    let reason = classify_handshake_error(acceptor.backend(), &error);
                    metrics.handshake_failed(reason, started.elapsed());
                    let error = HandshakeError::new(reason, error);
                    refusals.refused(reason, &error);
                    return Err(TlsServiceError::Handshake(error));
                }
            };
            metrics.handshake_succeeded(started.elapsed());
            // Boxed apart from the handshake, whose state is freed once it is done.
            let call = ready.call(stream);
            let service: ServiceFuture<S::Response, S::Error> = Box::pin(
                async move {
                    let _active = active;
                    call.await
                }
                .in_current_span(),
            );
            Ok(service)
        };
        TlsFuture::new(handshake.instrument(span))
    }
}
