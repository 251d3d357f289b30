//! The response future of [`super::Tls`]: the handshake, then the inner service's future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::TlsServiceError;

/// The inner service's future, boxed.
pub(crate) type ServiceFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

/// The handshake, boxed: it yields the inner service's future for the established stream.
type Handshake<R, E> =
    Pin<Box<dyn Future<Output = Result<ServiceFuture<R, E>, TlsServiceError<E>>> + Send>>;

/// The future returned by `super::Tls::call`.
///
/// Two allocations per connection, none per record: the handshake, freed as soon as it is done
/// (so that a connection idling in the inner service does not keep the handshake's state — for
/// the biggest backend that is over a kilobyte per connection), and the inner service's future.
pub struct TlsFuture<R, E> {
    state: State<R, E>,
}

enum State<R, E> {
    Handshake(Handshake<R, E>),
    Service(ServiceFuture<R, E>),
    Done,
}

impl<R, E> TlsFuture<R, E> {
    pub(crate) fn new(
        handshake: impl Future<Output = Result<ServiceFuture<R, E>, TlsServiceError<E>>>
            + Send
            + 'static,
    ) -> Self {
        TlsFuture {
            state: State::Handshake(Box::pin(handshake)),
        }
    }
}

impl<R, E> Future for TlsFuture<R, E> {
    type Output = Result<R, TlsServiceError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Handshake(handshake) => match handshake.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(service)) => this.state = State::Service(service),
                    Poll::Ready(Err(error)) => {
                        this.state = State::Done;
                        return Poll::Ready(Err(error));
                    }
                },
                State::Service(service) => {
                    let output = match service.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(output) => output,
                    };
                    this.state = State::Done;
                    return Poll::Ready(output.map_err(TlsServiceError::Service));
                }
                State::Done => panic!("TlsFuture polled after it completed"),
            }
        }
    }
}

impl<R, E> fmt::Debug for TlsFuture<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Handshake(_) => "handshake",
            State::Service(_) => "service",
            State::Done => "done",
        };
        f.debug_struct("TlsFuture").field("state", &state).finish()
    }
}
