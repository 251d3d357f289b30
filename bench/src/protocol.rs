//! The tiny wire protocol between the benchmark's clients and servers: a greeting, then transfer requests.
//!
//! After its handshake the server writes one greeting byte (so the client knows the server side
//! of the handshake is complete, session tickets included), then serves 9-byte requests until
//! the client hangs up: `S` + n (u64 LE) — the server sends n bytes; `R` + n — the server
//! receives n bytes and answers with one acknowledgement byte.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The byte the server writes once its handshake is done.
pub const GREETING: u8 = b'k';
/// The byte the server writes once it has received all of an `R` request's bytes.
pub const ACK: u8 = b'a';
/// The length of an encoded request.
pub const REQUEST_LEN: usize = 9;
/// The application's read and write size for bulk transfers, on both sides.
///
/// Chosen by measurement (BENCHMARKS.md): 64 KiB writes let rustls fill four full 16 KiB records
/// per call and hand them to the socket in one vectored write; smaller writes cost more calls,
/// larger ones gain nothing.
pub const CHUNK: usize = 64 * 1024;

/// The application's read size for bulk transfers, on both sides and for every stream.
///
/// As large as the rustls streams' own socket reads (`tls_policy_rustls::READ_AHEAD`), so that
/// plain TCP, the ceiling every TLS figure is held to, reads the kernel as cheaply as our
/// streams do: with 64 KiB reads plain TCP paid more kernel work per byte (window updates and
/// ACKs) than TLS over 256 KiB socket reads, and its "limit" came out below the TLS figures.
pub const READ_CHUNK: usize = 256 * 1024;

/// A transfer the client asks of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// The server sends this many bytes.
    ServerSends(u64),
    /// The server receives this many bytes, then acknowledges.
    ServerReceives(u64),
}

impl Request {
    /// The request on the wire.
    pub fn encode(self) -> [u8; REQUEST_LEN] {
        let (op, n) = match self {
            Request::ServerSends(n) => (b'S', n),
            Request::ServerReceives(n) => (b'R', n),
        };
        let mut out = [0u8; REQUEST_LEN];
        out[0] = op;
        out[1..].copy_from_slice(&n.to_le_bytes());
        out
    }

    /// Reads a request off the wire.
    pub fn decode(bytes: &[u8; REQUEST_LEN]) -> io::Result<Request> {
        let mut n = [0u8; 8];
        n.copy_from_slice(&bytes[1..]);
        let n = u64::from_le_bytes(n);
        match bytes[0] {
            b'S' => Ok(Request::ServerSends(n)),
            b'R' => Ok(Request::ServerReceives(n)),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bench protocol: unknown request byte {other:#04x}"),
            )),
        }
    }

    /// How many bytes the request moves.
    pub fn bytes(self) -> u64 {
        match self {
            Request::ServerSends(n) | Request::ServerReceives(n) => n,
        }
    }
}

/// Writes `n` bytes in [`CHUNK`]-sized writes, then flushes.
pub async fn send_bytes<S>(stream: &mut S, n: u64) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    send_in_chunks(stream, n, CHUNK).await
}

/// Writes `n` bytes in writes of `chunk` bytes, then flushes.
pub async fn send_in_chunks<S>(stream: &mut S, n: u64, chunk: usize) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let chunk = chunk.max(1);
    let buf = vec![0x5a_u8; chunk_for(n, chunk)];
    let mut left = n;
    while left > 0 {
        let len = chunk_for(left, chunk);
        stream.write_all(&buf[..len]).await?;
        left -= len as u64;
    }
    stream.flush().await
}

/// Reads exactly `n` bytes in reads of up to [`READ_CHUNK`] bytes.
pub async fn receive_bytes<S>(stream: &mut S, n: u64) -> io::Result<()>
where
    S: AsyncRead + Unpin,
{
    let mut buf = vec![0u8; chunk_for(n, READ_CHUNK)];
    let mut left = n;
    while left > 0 {
        let len = chunk_for(left, READ_CHUNK);
        let read = stream.read(&mut buf[..len]).await?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("bench protocol: the peer closed with {left} of {n} bytes still due"),
            ));
        }
        left -= read as u64;
    }
    Ok(())
}

/// Reads one byte and checks it is `expected`.
pub async fn expect_byte<S>(stream: &mut S, expected: u8) -> io::Result<()>
where
    S: AsyncRead + Unpin,
{
    let got = stream.read_u8().await?;
    if got == expected {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bench protocol: expected {expected:#04x}, got {got:#04x}"),
        ))
    }
}

fn chunk_for(n: u64, chunk: usize) -> usize {
    usize::try_from(n).map_or(chunk, |n| n.min(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for request in [Request::ServerSends(0), Request::ServerReceives(u64::MAX)] {
            assert_eq!(Request::decode(&request.encode()).unwrap(), request);
        }
        let mut bad = Request::ServerSends(1).encode();
        bad[0] = b'x';
        assert!(Request::decode(&bad).is_err());
    }

    #[tokio::test]
    async fn bytes_cross_a_pipe() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let n = 3 * CHUNK as u64 + 17;
        let (sent, received) = tokio::join!(send_bytes(&mut a, n), receive_bytes(&mut b, n));
        sent.unwrap();
        received.unwrap();
        drop(a);
        assert!(receive_bytes(&mut b, 1).await.is_err());
    }
}
