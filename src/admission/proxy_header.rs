//! Reading a PROXY protocol header (v1 text or v2 binary, parsed by the `ppp` crate) at the start
//! of a connection from a trusted proxy, consuming exactly its bytes and nothing of the TLS
//! stream behind it.
//!
//! The bytes are first looked at without being read (`MSG_PEEK`), only as far as needed to know
//! the header's version and length; then exactly the header is read. A peer outside the trusted
//! networks that opens with a header is refused; a peer inside them that does not is refused
//! too.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::config::{Network, ProxyProtocol};

/// The v2 signature: the first 12 bytes of every binary header.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The v2 fixed part: signature, version and command, family and protocol, length (2).
const V2_FIXED_LEN: usize = 16;
/// The longest v2 address and TLV block accepted (HAProxy's TCP headers hold tens of bytes).
const V2_MAX_PAYLOAD: usize = 4096;
/// The v1 opening.
const V1_PREFIX: &[u8; 6] = b"PROXY ";
/// The longest v1 header, CRLF included (the specification's bound).
const V1_MAX_LEN: usize = 107;

/// A connector's PROXY protocol setting: the versions read, and from which networks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProxyHeader {
    protocol: ProxyProtocol,
    trusted: Vec<Network>,
}

/// Why a connection's PROXY header (or its absence) ends it.
#[derive(Debug)]
pub(crate) enum ProxyRefusal {
    /// A header from a source outside the trusted networks.
    Untrusted,
    /// No header (or one of a version not accepted) from a trusted source.
    Missing(ProxyProtocol),
    /// A header that does not parse, or is too long.
    Malformed(String),
    /// The peer closed before sending anything (a TCP health check, say).
    Closed,
    /// The peer closed before its header was complete.
    ClosedMidHeader,
    /// Reading failed.
    Io(io::Error),
}

impl fmt::Display for ProxyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyRefusal::Untrusted => {
                f.write_str("a PROXY protocol header from a source outside proxy_protocol_trusted")
            }
            ProxyRefusal::Missing(protocol) => write!(
                f,
                "no PROXY protocol header ({protocol}) from a trusted proxy (proxy_protocol)"
            ),
            ProxyRefusal::Malformed(why) => write!(f, "malformed PROXY protocol header: {why}"),
            ProxyRefusal::Closed => {
                f.write_str("the peer closed the connection before sending anything")
            }
            ProxyRefusal::ClosedMidHeader => {
                f.write_str("the peer closed the connection before its PROXY header was complete")
            }
            ProxyRefusal::Io(error) => write!(f, "reading the PROXY header failed: {error}"),
        }
    }
}

/// What the bytes queued so far say.
#[derive(Debug, PartialEq, Eq)]
enum Start {
    /// A v1 header of this many bytes (CRLF included).
    V1(usize),
    /// A v2 header of this many bytes.
    V2(usize),
    /// Not a header.
    None,
    /// Could still be a header; more bytes needed.
    Incomplete,
    /// A header that cannot be valid.
    Bad(String),
}

/// Looks at a prefix of the stream.
fn start(prefix: &[u8]) -> Start {
    if prefix.is_empty() {
        return Start::Incomplete;
    }
    let v2_seen = prefix.len().min(V2_SIGNATURE.len());
    if prefix[..v2_seen] == V2_SIGNATURE[..v2_seen] {
        if prefix.len() < V2_FIXED_LEN {
            return Start::Incomplete;
        }
        let payload = usize::from(u16::from_be_bytes([prefix[14], prefix[15]]));
        if payload > V2_MAX_PAYLOAD {
            return Start::Bad(format!(
                "a v2 header announcing {payload} bytes (at most {V2_MAX_PAYLOAD} accepted)"
            ));
        }
        return Start::V2(V2_FIXED_LEN + payload);
    }
    let v1_seen = prefix.len().min(V1_PREFIX.len());
    if prefix[..v1_seen] == V1_PREFIX[..v1_seen] {
        let window = &prefix[..prefix.len().min(V1_MAX_LEN)];
        if let Some(cr) = window.windows(2).position(|pair| pair == b"\r\n") {
            return Start::V1(cr + 2);
        }
        if prefix.len() >= V1_MAX_LEN {
            return Start::Bad(format!("a v1 header without CRLF in {V1_MAX_LEN} bytes"));
        }
        return Start::Incomplete;
    }
    Start::None
}

impl ProxyHeader {
    /// Headers of `protocol` from the `trusted` networks.
    pub(crate) fn new(protocol: ProxyProtocol, trusted: Vec<Network>) -> Self {
        ProxyHeader { protocol, trusted }
    }

    /// Whether a header is read at all.
    pub(crate) fn is_on(&self) -> bool {
        self.protocol.is_on()
    }

    /// Whether `peer` is a trusted proxy (it must send the header).
    pub(crate) fn trusts(&self, peer: SocketAddr) -> bool {
        self.is_on() && self.trusted.iter().any(|net| net.contains(peer.ip()))
    }

    /// Reads `tcp`'s header when there must be one, refuses one where there must not; returns
    /// the client's address (the header's source, or `peer` for a v1 `UNKNOWN`, a v2 `LOCAL`
    /// or a non-IP family). The caller bounds the wait in time.
    pub(crate) async fn read(
        &self,
        tcp: &mut TcpStream,
        peer: SocketAddr,
    ) -> Result<SocketAddr, ProxyRefusal> {
        if !self.is_on() {
            return Ok(peer);
        }
        let trusted = self.trusts(peer);
        // Never `Start::Incomplete`: peek_start waits past it.
        let found = peek_start(tcp).await?;
        match (found, trusted) {
            (Start::None | Start::Incomplete, false) => Ok(peer),
            (_, false) => Err(ProxyRefusal::Untrusted),
            (Start::Bad(why), true) => Err(ProxyRefusal::Malformed(why)),
            (Start::V1(len), true) if self.protocol.accepts_v1() => {
                let bytes = read_exact(tcp, len).await?;
                parse_v1(&bytes, peer)
            }
            (Start::V2(len), true) if self.protocol.accepts_v2() => {
                let bytes = read_exact(tcp, len).await?;
                parse_v2(&bytes, peer)
            }
            (_, true) => Err(ProxyRefusal::Missing(self.protocol)),
        }
    }
}

/// Reads exactly `len` bytes (the header, already known to be queued or arriving).
async fn read_exact(tcp: &mut TcpStream, len: usize) -> Result<Vec<u8>, ProxyRefusal> {
    let mut bytes = vec![0u8; len];
    match tcp.read_exact(&mut bytes).await {
        Ok(_) => Ok(bytes),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
            Err(ProxyRefusal::ClosedMidHeader)
        }
        Err(error) => Err(ProxyRefusal::Io(error)),
    }
}

/// The client address in a v1 header.
fn parse_v1(bytes: &[u8], peer: SocketAddr) -> Result<SocketAddr, ProxyRefusal> {
    use ppp::v1::{Addresses, Header};
    let header = Header::try_from(bytes).map_err(|e| ProxyRefusal::Malformed(e.to_string()))?;
    Ok(match header.addresses {
        Addresses::Tcp4(a) => SocketAddr::from((a.source_address, a.source_port)),
        Addresses::Tcp6(a) => SocketAddr::from((a.source_address, a.source_port)),
        Addresses::Unknown => peer,
    })
}

/// The client address in a v2 header.
fn parse_v2(bytes: &[u8], peer: SocketAddr) -> Result<SocketAddr, ProxyRefusal> {
    use ppp::v2::{Addresses, Command, Header};
    let header = Header::try_from(bytes).map_err(|e| ProxyRefusal::Malformed(e.to_string()))?;
    if header.command == Command::Local {
        return Ok(peer);
    }
    Ok(match header.addresses {
        Addresses::IPv4(a) => SocketAddr::from((a.source_address, a.source_port)),
        Addresses::IPv6(a) => SocketAddr::from((a.source_address, a.source_port)),
        Addresses::Unspecified | Addresses::Unix(_) => peer,
    })
}

/// How many bytes are looked at: enough for a v1 header or a v2 fixed part.
const PEEK_LEN: usize = V1_MAX_LEN;

/// Waits until the queued bytes say what the connection opens with, consuming nothing.
#[cfg(unix)]
async fn peek_start(tcp: &TcpStream) -> Result<Start, ProxyRefusal> {
    use tokio::io::Interest;
    loop {
        let ready = tcp
            .ready(Interest::READABLE)
            .await
            .map_err(ProxyRefusal::Io)?;
        let looked = tcp.try_io(Interest::READABLE, || {
            let mut prefix = [0u8; PEEK_LEN];
            let (n, _) = rustix::net::recv(tcp, &mut prefix[..], rustix::net::RecvFlags::PEEK)?;
            let n = n.min(PEEK_LEN);
            if n == 0 {
                return Ok(None);
            }
            match start(&prefix[..n]) {
                Start::Incomplete => Err(io::ErrorKind::WouldBlock.into()),
                found => Ok(Some(found)),
            }
        });
        match looked {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => return Err(ProxyRefusal::Closed),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if ready.is_read_closed() {
                    return Err(ProxyRefusal::ClosedMidHeader);
                }
            }
            Err(error) => return Err(ProxyRefusal::Io(error)),
        }
    }
}

/// Without `MSG_PEEK` through rustix: tokio's peek, pausing briefly while incomplete.
#[cfg(not(unix))]
async fn peek_start(tcp: &TcpStream) -> Result<Start, ProxyRefusal> {
    loop {
        let mut prefix = [0u8; PEEK_LEN];
        let n = tcp.peek(&mut prefix).await.map_err(ProxyRefusal::Io)?;
        if n == 0 {
            return Err(ProxyRefusal::Closed);
        }
        match start(&prefix[..n]) {
            Start::Incomplete => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            found => return Ok(found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts() {
        assert_eq!(start(b""), Start::Incomplete);
        assert_eq!(start(&[0x16, 0x03, 0x01]), Start::None);
        assert_eq!(start(b"PRO"), Start::Incomplete);
        assert_eq!(start(b"PROXY TCP4 1.2.3.4"), Start::Incomplete);
        assert_eq!(start(b"PROXY UNKNOWN\r\n\x16"), Start::V1(15));
        assert_eq!(start(b"PROXZ"), Start::None);
        let mut long = b"PROXY ".to_vec();
        long.resize(V1_MAX_LEN, b'1');
        assert!(matches!(start(&long), Start::Bad(_)));
        assert_eq!(start(b"\r\n\r\n\0\r\n"), Start::Incomplete);
        let mut v2 = V2_SIGNATURE.to_vec();
        v2.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c]);
        assert_eq!(start(&v2), Start::V2(28));
        v2[14] = 0xff;
        assert!(matches!(start(&v2), Start::Bad(_)));
    }

    #[test]
    fn addresses() {
        let peer: SocketAddr = "127.0.0.1:9".parse().expect("peer");
        let v1 = b"PROXY TCP4 127.0.0.77 127.0.0.1 40000 443\r\n";
        assert_eq!(
            parse_v1(v1, peer).expect("v1"),
            "127.0.0.77:40000".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(parse_v1(b"PROXY UNKNOWN\r\n", peer).expect("unknown"), peer);
        assert!(parse_v1(b"PROXY TCP4 x y 1 2\r\n", peer).is_err());
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
        assert_eq!(parse_v2(&local, peer).expect("local"), peer);
        let mut proxied = V2_SIGNATURE.to_vec();
        proxied.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c, 127, 0, 0, 77, 127, 0, 0, 1]);
        proxied.extend_from_slice(&40000u16.to_be_bytes());
        proxied.extend_from_slice(&443u16.to_be_bytes());
        assert_eq!(
            parse_v2(&proxied, peer).expect("v2"),
            "127.0.0.77:40000".parse::<SocketAddr>().expect("addr")
        );
    }
}
