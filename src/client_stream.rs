//! The established client-side TLS stream a connector hands back, whichever backend made it.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tls_policy_backend::TlsInfo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A client-side TLS stream over `IO`, with what its handshake negotiated.
///
/// It reads and writes plaintext; [`ClientTlsStream::info`] tells the protocol version, cipher
/// suite, ALPN, the SNI name sent and the server's certificate chain.
pub struct ClientTlsStream<IO> {
    inner: ClientStreamInner<IO>,
    info: Arc<TlsInfo>,
}

// One variant per compiled-in backend; they differ in size, but a stream lives once per
// connection and boxing would add an indirection to every record read and written.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ClientStreamInner<IO> {
    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    Rustls(tls_policy_rustls::tokio_rustls::client::TlsStream<IO>),
    #[cfg(feature = "native-tls")]
    NativeTls(tls_policy_native_tls::tokio_native_tls::TlsStream<IO>),
    #[allow(dead_code)]
    Never(std::convert::Infallible, std::marker::PhantomData<IO>),
}

impl<IO> ClientTlsStream<IO> {
    pub(crate) fn new(inner: ClientStreamInner<IO>, info: TlsInfo) -> Self {
        ClientTlsStream {
            inner,
            info: Arc::new(info),
        }
    }

    /// What the handshake negotiated.
    pub fn info(&self) -> &TlsInfo {
        &self.info
    }

    /// What the handshake negotiated, shared: cheap to clone.
    pub fn shared_info(&self) -> Arc<TlsInfo> {
        Arc::clone(&self.info)
    }
}

/// Forwards one poll call to whichever backend stream is inside.
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match &mut $self.get_mut().inner {
            #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
            ClientStreamInner::Rustls($s) => $call,
            #[cfg(feature = "native-tls")]
            ClientStreamInner::NativeTls($s) => $call,
            ClientStreamInner::Never(never, _) => match *never {},
        }
    };
}

impl<IO> AsyncRead for ClientTlsStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl<IO> AsyncWrite for ClientTlsStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
            ClientStreamInner::Rustls(s) => s.is_write_vectored(),
            #[cfg(feature = "native-tls")]
            ClientStreamInner::NativeTls(s) => s.is_write_vectored(),
            ClientStreamInner::Never(never, _) => match *never {},
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

impl<IO> std::fmt::Debug for ClientTlsStream<IO> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTlsStream")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}
