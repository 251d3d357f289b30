//! The established TLS streams handed to services and callers, whichever backend made them.
//!
//! [`TlsStream`] is the server side (what [`crate::TlsLayer`] hands the inner service);
//! [`crate::ClientTlsStream`] is the client side (what [`crate::TlsConnector`] returns). Both
//! are defined once by `backend_stream!` over the stream enums `define_streams!` generates
//! from the one backend list (`backend_list!` in the backend module).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tls_policy_backend::TlsInfo;

use crate::live_peers::{LiveClose, LivePeers};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Generates the server-side and client-side stream enums (one variant per compiled-in
/// backend, from the rows of [`crate::backend::backend_list!`]) and their I/O dispatch: every
/// poll is one `match` on the variant, no allocation, no dynamic dispatch.
macro_rules! define_streams {
    ([] $($(#[$doc:meta])* $variant:ident, $module:ident, $feature:literal, $ty:ty, $make:expr, $server:ty, $client:ty;)*) => {
        inner_stream!(StreamInner, $($variant, $feature, $server;)*);
        inner_stream!(ClientStreamInner, $($variant, $feature, $client;)*);
    };
}

/// One stream enum over the given variants, with its `AsyncRead`/`AsyncWrite` dispatch.
macro_rules! inner_stream {
    ($inner:ident, $($variant:ident, $feature:literal, $stream:ty;)*) => {
        // One variant per compiled-in backend; they differ in size, but a stream lives once per
        // connection and boxing would add an indirection to every record read and written.
        #[allow(clippy::large_enum_variant)]
        pub(crate) enum $inner<IO> {
            $(#[cfg(feature = $feature)] $variant($stream),)*
            #[allow(dead_code)]
            Never(std::convert::Infallible, std::marker::PhantomData<IO>),
        }

        impl<IO> AsyncRead for $inner<IO>
        where
            IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(#[cfg(feature = $feature)] $inner::$variant(s) => Pin::new(s).poll_read(cx, buf),)*
                    $inner::Never(never, _) => match *never {},
                }
            }
        }

        impl<IO> AsyncWrite for $inner<IO>
        where
            IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $(#[cfg(feature = $feature)] $inner::$variant(s) => Pin::new(s).poll_write(cx, buf),)*
                    $inner::Never(never, _) => match *never {},
                }
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $(#[cfg(feature = $feature)] $inner::$variant(s) => Pin::new(s).poll_write_vectored(cx, bufs),)*
                    $inner::Never(never, _) => match *never {},
                }
            }

            fn is_write_vectored(&self) -> bool {
                match self {
                    $(#[cfg(feature = $feature)] $inner::$variant(s) => s.is_write_vectored(),)*
                    $inner::Never(never, _) => match *never {},
                }
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(#[cfg(feature = $feature)] $inner::$variant(s) => Pin::new(s).poll_flush(cx),)*
                    $inner::Never(never, _) => match *never {},
                }
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(#[cfg(feature = $feature)] $inner::$variant(s) => Pin::new(s).poll_shutdown(cx),)*
                    $inner::Never(never, _) => match *never {},
                }
            }
        }
    };
}

crate::backend_list!(define_streams);

/// Defines a stream type over whichever backend's stream is inside, with its [`TlsInfo`].
///
/// `$side` is `server` or `client`: the tokio-rustls module whose `TlsStream` the rustls
/// variant holds (tokio-native-tls has one type for both sides). Every poll is one `match` on
/// the variant: no allocation, no dynamic dispatch.
macro_rules! backend_stream {
    ($(#[$attr:meta])* $name:ident, $inner:ident, $side:ident) => {
        $(#[$attr])*
        pub struct $name<IO> {
            inner: $inner<IO>,
            info: Arc<TlsInfo>,
            // Set when a reload may close this connection (`allowed_peers_reload=all`).
            close: Option<Arc<LiveClose>>,
        }

        impl<IO> $name<IO> {
            pub(crate) fn new(inner: $inner<IO>, info: TlsInfo) -> Self {
                $name {
                    inner,
                    info: Arc::new(info),
                    close: None,
                }
            }

            /// Registers this connection with `live`, so that a reload changing the policy's
            /// `allowed_peers` can close it (`allowed_peers_reload=all`).
            #[allow(dead_code)]
            pub(crate) fn closable_by(mut self, live: &LivePeers) -> Self {
                self.close = Some(live.register(&self.info));
                self
            }

            /// What the handshake negotiated.
            pub fn info(&self) -> &TlsInfo {
                &self.info
            }

            /// What the handshake negotiated, shared: cheap to clone into request extensions.
            pub fn shared_info(&self) -> Arc<TlsInfo> {
                Arc::clone(&self.info)
            }

            /// The tokio-rustls stream inside, on a rustls backend.
            #[cfg(all(
                feature = "tonic",
                any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")
            ))]
            #[allow(dead_code)]
            pub(crate) fn rustls(
                &self,
            ) -> Option<
                &tls_policy_rustls::tokio_rustls::$side::TlsStream<tls_policy_rustls::ReadAhead<IO>>,
            > {
                match &self.inner {
                    #[cfg(feature = "rustls-aws-lc-rs")]
                    $inner::RustlsAwsLcRs(s) => Some(s),
                    #[cfg(feature = "rustls-ring")]
                    $inner::RustlsRing(s) => Some(s),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }

        impl<IO> AsyncRead for $name<IO>
        where
            IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let this = self.get_mut();
                if let Some(close) = &this.close {
                    close.check(cx)?;
                }
                Pin::new(&mut this.inner).poll_read(cx, buf)
            }
        }

        impl<IO> AsyncWrite for $name<IO>
        where
            IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                if let Some(close) = &this.close {
                    close.is_closed()?;
                }
                Pin::new(&mut this.inner).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                if let Some(close) = &this.close {
                    close.is_closed()?;
                }
                Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let this = self.get_mut();
                if let Some(close) = &this.close {
                    close.is_closed()?;
                }
                Pin::new(&mut this.inner).poll_flush(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
            }
        }

        impl<IO> std::fmt::Debug for $name<IO> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("info", &self.info)
                    .finish_non_exhaustive()
            }
        }
    };
}

backend_stream!(
    /// A server-side TLS stream over `IO`, with what its handshake negotiated.
    ///
    /// It reads and writes plaintext; [`TlsStream::info`] tells the protocol version, cipher
    /// suite, ALPN, SNI and the peer's certificate chain.
    TlsStream,
    StreamInner,
    server
);

backend_stream!(
    /// A client-side TLS stream over `IO`, with what its handshake negotiated.
    ///
    /// It reads and writes plaintext; [`ClientTlsStream::info`] tells the protocol version,
    /// cipher suite, ALPN, the SNI name sent and the server's certificate chain.
    ClientTlsStream,
    ClientStreamInner,
    client
);
