//! The response future of [`super::Tls`]: the handshake, then the inner service's future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::TlsServiceError;

/// The future returned by [`super::Tls::call`].
///
/// One allocation per connection (the backends' handshake futures cannot be named); none per record.
pub struct TlsFuture<R, E> {
    inner: Pin<Box<dyn Future<Output = Result<R, TlsServiceError<E>>> + Send>>,
}

impl<R, E> TlsFuture<R, E> {
    pub(crate) fn new(
        future: impl Future<Output = Result<R, TlsServiceError<E>>> + Send + 'static,
    ) -> Self {
        TlsFuture {
            inner: Box::pin(future),
        }
    }
}

impl<R, E> Future for TlsFuture<R, E> {
    type Output = Result<R, TlsServiceError<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<R, E> fmt::Debug for TlsFuture<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsFuture")
    }
}
