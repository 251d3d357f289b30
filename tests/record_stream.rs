//! The established streams' record path on every backend: byte-at-a-time transports, large writes, EOF with and without close_notify, half close, and reading while writing.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use support::{Home, STEP};
use tls_policy::connector::TlsConnector;
use tls_policy::{Backend, ClientTlsStream, TlsStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A transport that moves at most one byte per read or write call.
struct Trickle<IO>(IO);

impl<IO: AsyncRead + Unpin> AsyncRead for Trickle<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let mut one = [0u8; 1];
        let mut small = ReadBuf::new(&mut one);
        let polled = Pin::new(&mut self.get_mut().0).poll_read(cx, &mut small);
        if let Poll::Ready(Ok(())) = polled {
            buf.put_slice(small.filled());
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Trickle<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(1);
        Pin::new(&mut self.get_mut().0).poll_write(cx, &buf[..n])
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// A server stream and a client stream over `server_io` and `client_io`, handshake done.
async fn pair<IO>(
    backend: Backend,
    server_io: IO,
    client_io: IO,
) -> (TlsStream<IO>, ClientTlsStream<IO>, Home)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let home = Home::new(backend, &["client_auth=NONE", "trust_all=true"]);
    let acceptor = home.acceptor(backend).expect("the policy compiles");
    let settings = home.settings().expect("the config loads");
    let connector = TlsConnector::for_channel(&settings, "bolt", Some(backend))
        .unwrap_or_else(|err| panic!("{backend} dials with the policy: {err}"));
    let (server, client) = tokio::time::timeout(STEP, async {
        tokio::join!(
            acceptor.accept(server_io),
            connector.client_connector().connect("localhost", client_io)
        )
    })
    .await
    .expect("the handshake finishes in time");
    (
        server.expect("server handshake"),
        client.expect("client handshake"),
        home,
    )
}

/// Over an in-memory pipe whose ends move one byte per call.
async fn trickle_pair(
    backend: Backend,
) -> (
    TlsStream<Trickle<DuplexStream>>,
    ClientTlsStream<Trickle<DuplexStream>>,
    Home,
) {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    pair(backend, Trickle(server_io), Trickle(client_io)).await
}

/// Over an in-memory pipe.
async fn duplex_pair(
    backend: Backend,
) -> (TlsStream<DuplexStream>, ClientTlsStream<DuplexStream>, Home) {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    pair(backend, server_io, client_io).await
}

/// Over loopback TCP, where the rustls streams read ahead.
async fn tcp_pair(backend: Backend) -> (TlsStream<TcpStream>, ClientTlsStream<TcpStream>, Home) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (accepted, dialled) = tokio::time::timeout(STEP, async {
        tokio::join!(listener.accept(), TcpStream::connect(addr))
    })
    .await
    .expect("connect in time");
    let (server_io, _) = accepted.expect("accept");
    pair(backend, server_io, dialled.expect("connect")).await
}

/// Bytes that show any reordering or loss.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 253) as u8 ^ seed.wrapping_mul(i as u8))
        .collect()
}

/// Writes `data` from `from` and reads it on `to`, in reads of `step` bytes, concurrently.
async fn send<W, R>(from: &mut W, to: &mut R, data: &[u8], step: usize)
where
    W: AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let write = async {
        from.write_all(data).await.expect("write");
        from.flush().await.expect("flush");
    };
    let read = async {
        let mut got = Vec::with_capacity(data.len());
        let mut buf = vec![0u8; step];
        while got.len() < data.len() {
            let n = to.read(&mut buf).await.expect("read");
            assert_ne!(n, 0, "EOF after {} of {} bytes", got.len(), data.len());
            got.extend_from_slice(&buf[..n]);
        }
        got
    };
    let ((), got) = tokio::time::timeout(STEP, async { tokio::join!(write, read) })
        .await
        .expect("the transfer finishes in time");
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the bytes arrived changed or out of order");
}

for_each_backend! {
    async fn one_byte_at_a_time_transport(backend: Backend) {
        let (mut server, mut client, _home) = trickle_pair(backend).await;
        send(&mut client, &mut server, &pattern(40_000, 1), 7).await;
        send(&mut server, &mut client, &pattern(40_000, 2), 64 * 1024).await;
        client.shutdown().await.expect("close_notify");
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(STEP, server.read(&mut buf)).await.expect("in time");
        assert_eq!(n.expect("a clean EOF after close_notify"), 0);
    }

    async fn large_writes_and_odd_reads(backend: Backend) {
        let (mut server, mut client, _home) = tcp_pair(backend).await;
        let big = pattern(3 << 20, 3);
        send(&mut client, &mut server, &big, 1_000).await;
        send(&mut server, &mut client, &big, 300_000).await;
        send(&mut client, &mut server, &pattern(1, 4), 1).await;
    }

    async fn eof_without_close_notify_is_an_error(backend: Backend) {
        let (mut server, mut client, _home) = duplex_pair(backend).await;
        send(&mut client, &mut server, b"before the cut", 64).await;
        // Dropping the client closes the pipe without a close_notify alert: a truncation. (Over
        // TCP the kernel may answer the unread session ticket with a reset instead of a FIN.)
        drop(client);
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(STEP, server.read(&mut buf)).await.expect("in time");
        if backend.name().starts_with("rustls") {
            let err = read.expect_err("EOF without close_notify is refused");
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        } else {
            // OpenSSL through tokio-native-tls reports the truncation as a plain EOF or an error;
            // either way no bytes appear.
            assert!(!matches!(read, Ok(n) if n > 0), "{read:?}");
        }
    }

    async fn close_notify_then_half_close(backend: Backend) {
        let (mut server, mut client, _home) = tcp_pair(backend).await;
        send(&mut client, &mut server, &pattern(100_000, 5), 4_096).await;
        client.shutdown().await.expect("client close_notify");
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(STEP, server.read(&mut buf)).await.expect("in time");
        assert_eq!(n.expect("clean EOF"), 0);
        if backend.name().starts_with("rustls") {
            // The client only closed its sending side: the server still answers.
            send(&mut server, &mut client, &pattern(200_000, 6), 10_000).await;
        }
        server.shutdown().await.expect("server close_notify");
        let n = tokio::time::timeout(STEP, client.read(&mut buf)).await.expect("in time");
        assert_eq!(n.expect("clean EOF"), 0);
    }

    async fn reading_while_writing_through_split(backend: Backend) {
        let (server, client, _home) = tcp_pair(backend).await;
        let (mut server_read, mut server_write) = tokio::io::split(server);
        // The server echoes everything back as it arrives.
        let echo = tokio::spawn(async move {
            let mut buf = vec![0u8; 20_000];
            loop {
                let n = server_read.read(&mut buf).await?;
                if n == 0 {
                    server_write.shutdown().await?;
                    return Ok::<(), io::Error>(());
                }
                server_write.write_all(&buf[..n]).await?;
                server_write.flush().await?;
            }
        });
        let (mut client_read, mut client_write) = tokio::io::split(client);
        let data = pattern(2 << 20, 7);
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            for chunk in sent.chunks(50_000) {
                client_write.write_all(chunk).await?;
            }
            client_write.shutdown().await?;
            Ok::<(), io::Error>(())
        });
        let mut got = Vec::new();
        tokio::time::timeout(STEP, client_read.read_to_end(&mut got))
            .await
            .expect("the echo finishes in time")
            .expect("read the echo");
        assert!(got == data, "echo of {} bytes came back as {} bytes", data.len(), got.len());
        writer.await.expect("writer task").expect("writes");
        echo.await.expect("echo task").expect("echo");
    }
}
