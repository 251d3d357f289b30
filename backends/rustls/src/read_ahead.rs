//! Large socket reads under rustls: one `recv` of up to 256 KiB feeds many TLS records.
//!
//! rustls pulls ciphertext in reads of at most a few KiB (never more than one record's worth),
//! so a bulk transfer into the server cost about four `recv` calls per 64 KiB where plain TCP
//! makes one, and the kernel's receive path (window updates, ACKs, locking) dominated the
//! server's CPU time. [`ReadAhead`] sits between the socket and rustls: once the handshake is
//! done it reads large and hands rustls its small reads from memory, at the cost of one copy of
//! the ciphertext that stays in cache. During the handshake it passes reads straight through, and
//! whenever the socket runs dry it frees its buffer, so an idle connection holds none.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The read-ahead buffer's size: what one `recv` may bring in.
///
/// Chosen by measurement over loopback (AES-128-GCM, client to server, per server CPU-second):
/// 64 KiB reads gained 3-5 % over rustls's own reads, 256 KiB gained 15-25 %, because on the
/// receive path the kernel's per-call work (window updates and the ACKs they send) outweighs
/// the copy. The buffer exists only while data is flowing.
pub const READ_AHEAD: usize = 256 * 1024;

/// Whether reading ahead pays on transport `IO`: on kernel sockets (tokio's `TcpStream` and
/// `UnixStream`), where every read is a system call.
///
/// On anything else (an in-memory pipe, a wrapper of the caller's) each read is cheap or of
/// unknown cost, and the extra copy of the ciphertext measured 7-9 % slower than rustls's own
/// reads in memory, so those transports are read the way rustls asks.
pub fn pays_on<IO: 'static>() -> bool {
    use std::any::TypeId;
    let io = TypeId::of::<IO>();
    #[cfg(unix)]
    if io == TypeId::of::<tokio::net::UnixStream>() {
        return true;
    }
    io == TypeId::of::<tokio::net::TcpStream>()
}

/// A transport whose reads, once [`ReadAhead::enable`]d, go through a buffer of
/// [`READ_AHEAD`] bytes; writes pass straight through.
#[derive(Debug)]
pub struct ReadAhead<IO> {
    io: IO,
    /// No allocation while disabled or after the socket ran dry; [`READ_AHEAD`] bytes of
    /// capacity otherwise, filled without zeroing. The unread bytes are `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    enabled: bool,
}

impl<IO> ReadAhead<IO> {
    /// Wraps `io`, passing reads through until [`ReadAhead::enable`].
    pub fn new(io: IO) -> ReadAhead<IO> {
        ReadAhead {
            io,
            buf: Vec::new(),
            start: 0,
            enabled: false,
        }
    }

    /// Reads large from now on (call once the handshake is done).
    pub fn enable(&mut self) {
        self.enabled = true;
    }

    /// The transport.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The transport, mutably (reading from it directly would skip buffered bytes).
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// Bytes read from the transport and not yet handed on.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Copies buffered bytes into `out`.
    fn drain_into(&mut self, out: &mut ReadBuf<'_>) {
        let n = out.remaining().min(self.buf.len() - self.start);
        out.put_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        if self.start == self.buf.len() {
            self.start = 0;
            self.buf.clear();
        }
    }
}

/// Buffers a thread keeps for the next connection that has data, at most.
///
/// Handing a drained buffer back to the allocator and asking again at the next wake-up cost
/// 7-9 % of in-memory throughput (glibc returns a freed 256 KiB block to the system, and the
/// next one page-faults in afresh); a few buffers per thread keep that off the hot path while
/// idle connections still hold none.
const CACHED_PER_THREAD: usize = 4;

thread_local! {
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty buffer of [`READ_AHEAD`] bytes' capacity: this thread's spare one, or a new one.
fn take_buffer() -> Vec<u8> {
    SPARE
        .try_with(|spare| spare.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| Vec::with_capacity(READ_AHEAD))
}

/// Keeps a drained buffer for this thread's next [`take_buffer`], or frees it.
fn give_back(mut buf: Vec<u8>) {
    if buf.capacity() < READ_AHEAD {
        return;
    }
    buf.clear();
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < CACHED_PER_THREAD {
            spare.push(buf);
        }
    });
}

/// tonic's connection info passes through: tonic's own `Connected` impl for a tokio-rustls
/// server stream then yields its `TlsConnectInfo` (peer certificates) over a `ReadAhead`.
#[cfg(feature = "tonic")]
impl<IO: tonic::transport::server::Connected> tonic::transport::server::Connected
    for ReadAhead<IO>
{
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> IO::ConnectInfo {
        self.io.connect_info()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for ReadAhead<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.start < this.buf.len() {
            this.drain_into(out);
            return Poll::Ready(Ok(()));
        }
        // Nothing buffered: a caller asking for as much as the buffer holds reads directly.
        if !this.enabled || out.remaining() >= READ_AHEAD {
            return Pin::new(&mut this.io).poll_read(cx, out);
        }
        if this.buf.capacity() < READ_AHEAD {
            this.buf = take_buffer();
        }
        // `read_buf` fills the spare capacity without zeroing it first; the future holds no
        // state of its own, so polling a fresh one each time is the same as polling the socket.
        let filled = std::pin::pin!(this.io.read_buf(&mut this.buf)).poll(cx);
        match filled {
            Poll::Ready(Ok(_)) => {
                this.drain_into(out);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                // The socket ran dry: the connection may stay idle for long, so hold no buffer.
                give_back(std::mem::take(&mut this.buf));
                Poll::Pending
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for ReadAhead<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
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
    use tokio::io::AsyncWriteExt;

    /// Reads through `ReadAhead` in `step`-byte reads return exactly what was written, in order,
    /// and EOF after it.
    async fn roundtrip(step: usize, enabled: bool) {
        let (mut tx, rx) = tokio::io::duplex(7_000);
        let mut rx = ReadAhead::new(rx);
        if enabled {
            rx.enable();
        }
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            for chunk in sent.chunks(1_000) {
                tx.write_all(chunk).await.unwrap();
            }
        });
        let mut got = Vec::new();
        let mut buf = vec![0u8; step];
        loop {
            let n = rx.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes out of order at step {step}");
        assert_eq!(rx.buffered(), 0);
    }

    #[tokio::test]
    async fn small_large_and_passthrough_reads_keep_the_bytes() {
        for step in [1, 5, 4_096, READ_AHEAD, READ_AHEAD + 1] {
            roundtrip(step, true).await;
        }
        roundtrip(4_096, false).await;
    }

    #[tokio::test]
    async fn frees_its_buffer_when_the_socket_runs_dry() {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let mut rx = ReadAhead::new(rx);
        rx.enable();
        tx.write_all(&[7u8; 10_000]).await.unwrap();
        let mut buf = [0u8; 4_096];
        assert_eq!(rx.read(&mut buf).await.unwrap(), 4_096);
        assert_eq!(rx.buffered(), 10_000 - 4_096);
        assert!(rx.buf.capacity() >= READ_AHEAD);
        let mut rest = vec![0u8; 10_000];
        assert_eq!(rx.read(&mut rest).await.unwrap(), 10_000 - 4_096);
        // The next read finds the pipe empty: Pending, and the buffer is gone.
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(20), rx.read(&mut buf)).await;
        assert!(waited.is_err(), "read of an empty pipe returned");
        assert!(rx.buf.is_empty());
        assert_eq!(rx.buf.capacity(), 0);
    }

    #[test]
    fn reads_ahead_on_kernel_sockets_only() {
        assert!(pays_on::<tokio::net::TcpStream>());
        assert!(pays_on::<tokio::net::UnixStream>());
        assert!(!pays_on::<tokio::io::DuplexStream>());
        assert!(!pays_on::<ReadAhead<tokio::net::TcpStream>>());
    }

    #[tokio::test]
    async fn disabled_reads_pass_through_and_hold_no_buffer() {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let mut rx = ReadAhead::new(rx);
        tx.write_all(&[1u8; 9_000]).await.unwrap();
        let mut buf = [0u8; 4_096];
        assert_eq!(rx.read(&mut buf).await.unwrap(), 4_096);
        assert_eq!(rx.buffered(), 0);
        assert_eq!(rx.buf.capacity(), 0);
    }
}
