//! The [`Tls`] service: handshake first, then hand the stream to the inner service.

use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;

use super::future::ServiceFuture;
use super::{TlsFuture, TlsServiceError};
use crate::{Acceptor, TlsStream};

/// Middleware that secures each connection with TLS before passing it to `S`.
///
/// Built by [`super::TlsLayer`].
#[derive(Clone, Debug)]
pub struct Tls<S> {
    inner: S,
    acceptor: Acceptor,
    handshake_timeout: Duration,
}

impl<S> Tls<S> {
    pub(crate) fn new(inner: S, acceptor: Acceptor, handshake_timeout: Duration) -> Self {
        Tls {
            inner,
            acceptor,
            handshake_timeout,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
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
        let timeout = self.handshake_timeout;
        TlsFuture::new(async move {
            let stream = match tokio::time::timeout(timeout, acceptor.accept(io)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => return Err(TlsServiceError::Handshake(error)),
                Err(_) => return Err(TlsServiceError::HandshakeTimeout(timeout)),
            };
            // Boxed apart from the handshake, whose state is freed once it is done.
            let service: ServiceFuture<S::Response, S::Error> = Box::pin(ready.call(stream));
            Ok(service)
        })
    }
}
