//! [`ConnectFuture`]: the response future of [`TlsConnector`](super::TlsConnector).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::net::TcpStream;

use super::ConnectError;
use crate::ClientTlsStream;

type Boxed = Pin<Box<dyn Future<Output = Result<ClientTlsStream<TcpStream>, ConnectError>> + Send>>;

/// Dials, then runs the handshake; resolves to the established stream.
pub struct ConnectFuture {
    inner: Boxed,
}

impl ConnectFuture {
    pub(crate) fn new(
        future: impl Future<Output = Result<ClientTlsStream<TcpStream>, ConnectError>> + Send + 'static,
    ) -> ConnectFuture {
        ConnectFuture {
            inner: Box::pin(future),
        }
    }
}

impl Future for ConnectFuture {
    type Output = Result<ClientTlsStream<TcpStream>, ConnectError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for ConnectFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectFuture").finish_non_exhaustive()
    }
}
