//! Waiting, without reading, until a new connection's first TLS record has fully arrived.
//!
//! The record stays in the kernel's receive buffer: the acceptor later reads it from the same
//! `TcpStream`, and no user-space buffer is held per waiting connection. On unix each wake-up
//! peeks at up to 4 KiB (`MSG_PEEK`, into a buffer on the stack of that synchronous call): the
//! record header and, usually, the whole record; only a longer record needs a second call that
//! asks how many bytes are queued (`FIONREAD`). While the record is incomplete the check reports
//! `WouldBlock`, so tokio clears the socket's readiness and the task sleeps until more bytes
//! arrive (no spinning, no lost wake-up). Elsewhere only the first byte is waited for.
//!
//! The header is judged as rustls's record layer judges it, on as few bytes as rustls needs: a
//! content type TLS does not define (an SSLv2-framed ClientHello, a plaintext protocol) is
//! refused on the first byte, a version other than 3.x on the third, an empty record (other
//! than application data) or one of more than 16384 + 2048 bytes on the fifth. A complete
//! record of another TLS content type (alert, change_cipher_spec, application data,
//! heartbeat) is the acceptor's to answer, as it answers it on a bare accept loop.

use std::fmt;
use std::io;

use tokio::net::TcpStream;

/// The content type of a TLS record carrying a handshake message (a ClientHello opens with it).
pub(crate) const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// The content type of application data, the one record type TLS allows to be empty.
const TLS_APPLICATION_DATA: u8 = 0x17;

/// Whether `content_type` is one TLS defines (change_cipher_spec, alert, handshake,
/// application_data, heartbeat): rustls refuses any other on its first byte.
fn known_content_type(content_type: u8) -> bool {
    (0x14..=0x18).contains(&content_type)
}

/// A TLS record header's size: content type, version (2), length (2).
#[cfg_attr(not(unix), allow(dead_code))]
const HEADER_LEN: usize = 5;

/// The longest record a peer may announce: 2^14 bytes of data plus the 2048 bytes of expansion
/// TLS allows, as rustls and OpenSSL accept.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) const MAX_RECORD_LEN: usize = 16_384 + 2_048;

/// What the first bytes say, once there are enough of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FirstBytes {
    /// A complete TLS handshake record is queued: run the handshake.
    Tls,
    /// The first byte is not a TLS handshake record and plaintext is allowed (OPTIONAL).
    Plain,
    /// A complete record of another TLS content type (this byte) is queued: the acceptor
    /// answers it as the TLS library does (an unexpected_message alert, as a rule).
    OtherRecord(u8),
}

/// Why a connection's first bytes end it.
#[derive(Debug)]
pub(crate) enum BadStart {
    /// The peer closed before sending anything.
    Closed,
    /// The peer closed (its sending side) before its first record was complete.
    ClosedMidRecord,
    /// The header is not a TLS record's: a content type TLS does not define, or a version
    /// other than 3.x (bytes as received, up to 5).
    NotTls([u8; 5], usize),
    /// The header announces a record longer than TLS allows, or an empty one.
    BadLength(usize),
    /// Peeking failed (reset, ...).
    Io(io::Error),
}

impl fmt::Display for BadStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadStart::Closed => {
                f.write_str("the peer closed the connection before sending anything")
            }
            BadStart::ClosedMidRecord => f.write_str(
                "the peer closed the connection before its first TLS record was complete",
            ),
            BadStart::NotTls(bytes, n) => write!(
                f,
                "the first bytes are not a TLS record: {:02x?}",
                &bytes[..(*n).min(bytes.len())]
            ),
            BadStart::BadLength(len) => write!(
                f,
                "the first TLS record announces {len} bytes (a record holds 1 to {MAX_RECORD_LEN})"
            ),
            BadStart::Io(error) => write!(f, "reading the first bytes failed: {error}"),
        }
    }
}

/// What a header prefix (the bytes queued so far, up to 5) says.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(unix), allow(dead_code))]
enum Header {
    /// Nothing queued and the peer closed.
    Closed,
    /// Plaintext (OPTIONAL only).
    Plain,
    /// Not TLS.
    NotTls,
    /// A record header of this content type announcing this many bytes.
    Record(u8, usize),
    /// A plausible start; more bytes needed.
    Incomplete,
    /// A record header announcing an impossible length.
    BadLength(usize),
}

/// Reads a header prefix as rustls's record layer does: a content type TLS defines (under
/// OPTIONAL, anything but 0x16 is plaintext), version major 3, length 1..=[`MAX_RECORD_LEN`]
/// (application data may be empty); each judged as soon as its bytes are there.
#[cfg_attr(not(unix), allow(dead_code))]
fn header(prefix: &[u8], plaintext_allowed: bool) -> Header {
    let Some(&content_type) = prefix.first() else {
        return Header::Closed;
    };
    if content_type != TLS_HANDSHAKE_RECORD && plaintext_allowed {
        return Header::Plain;
    }
    if !known_content_type(content_type) {
        return Header::NotTls;
    }
    match prefix {
        [_, major, _, ..] if *major != 3 => Header::NotTls,
        [_, _, _, high, low, ..] => {
            let len = usize::from(u16::from_be_bytes([*high, *low]));
            let empty_allowed = content_type == TLS_APPLICATION_DATA;
            if len > MAX_RECORD_LEN || (len == 0 && !empty_allowed) {
                Header::BadLength(len)
            } else {
                Header::Record(content_type, len)
            }
        }
        _ => Header::Incomplete,
    }
}

/// Waits until `tcp`'s first TLS record has fully arrived (or, if `plaintext_allowed`, its
/// first byte shows plaintext), consuming nothing; a header rustls would refuse is refused as
/// soon as it shows. The caller bounds the wait in time.
#[cfg(unix)]
pub(crate) async fn first_record(
    tcp: &TcpStream,
    plaintext_allowed: bool,
) -> Result<FirstBytes, BadStart> {
    use tokio::io::Interest;
    loop {
        let ready = tcp.ready(Interest::READABLE).await.map_err(BadStart::Io)?;
        match tcp.try_io(Interest::READABLE, || inspect(tcp, plaintext_allowed)) {
            Ok(outcome) => return outcome,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                // Closed states are final in tokio's readiness: no more bytes will come, and
                // the next `ready` would return at once.
                if ready.is_read_closed() {
                    return Err(BadStart::ClosedMidRecord);
                }
            }
            Err(error) => return Err(BadStart::Io(error)),
        }
    }
}

/// How many bytes one peek looks at: a whole ClientHello (hybrid post-quantum key share
/// included) usually fits, so one `MSG_PEEK` shows it complete and `FIONREAD` is not needed.
/// The kernel copies only what is queued; the buffer is on the stack of this synchronous call,
/// never in a connection's future.
#[cfg(unix)]
const PEEK_LEN: usize = 4096;

/// One look at the queued bytes; `WouldBlock` while the record is incomplete.
#[cfg(unix)]
fn inspect(tcp: &TcpStream, plaintext_allowed: bool) -> io::Result<Result<FirstBytes, BadStart>> {
    let mut peeked = [0u8; PEEK_LEN];
    let (n, _) = rustix::net::recv(tcp, &mut peeked[..], rustix::net::RecvFlags::PEEK)?;
    let n = n.min(PEEK_LEN);
    let mut prefix = [0u8; HEADER_LEN];
    let shown = n.min(HEADER_LEN);
    prefix[..shown].copy_from_slice(&peeked[..shown]);
    Ok(match header(&prefix[..shown], plaintext_allowed) {
        Header::Closed => Err(BadStart::Closed),
        Header::Plain => Ok(FirstBytes::Plain),
        Header::NotTls => Err(BadStart::NotTls(prefix, shown)),
        Header::BadLength(len) => Err(BadStart::BadLength(len)),
        Header::Incomplete => return Err(io::ErrorKind::WouldBlock.into()),
        Header::Record(content_type, len) => {
            // The peek saw the whole record: no second syscall.
            let complete = n >= HEADER_LEN + len
                || rustix::io::ioctl_fionread(tcp)? >= (HEADER_LEN + len) as u64;
            if !complete {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            if content_type == TLS_HANDSHAKE_RECORD {
                Ok(FirstBytes::Tls)
            } else {
                Ok(FirstBytes::OtherRecord(content_type))
            }
        }
    })
}

/// Without `MSG_PEEK` and `FIONREAD` at hand: waits for the first byte only (the handshake
/// timeout then covers the rest of the record).
#[cfg(not(unix))]
pub(crate) async fn first_record(
    tcp: &TcpStream,
    plaintext_allowed: bool,
) -> Result<FirstBytes, BadStart> {
    let mut first = [0u8; 1];
    match tcp.peek(&mut first).await {
        Ok(0) => Err(BadStart::Closed),
        Ok(_) if first[0] == TLS_HANDSHAKE_RECORD => Ok(FirstBytes::Tls),
        Ok(_) if plaintext_allowed => Ok(FirstBytes::Plain),
        Ok(_) if known_content_type(first[0]) => Ok(FirstBytes::OtherRecord(first[0])),
        Ok(_) => Err(BadStart::NotTls([first[0], 0, 0, 0, 0], 1)),
        Err(error) => Err(BadStart::Io(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(header(&[], false), Header::Closed);
        assert_eq!(header(b"G", true), Header::Plain);
        assert_eq!(header(&[0x17], true), Header::Plain);
        // rustls refuses a content type it does not know on the first byte.
        assert_eq!(header(b"G", false), Header::NotTls);
        assert_eq!(header(&[0x80], false), Header::NotTls);
        assert_eq!(header(&[0x16], false), Header::Incomplete);
        assert_eq!(header(&[0x16, 0x03, 0x01, 0x00], true), Header::Incomplete);
        // The version is judged once both of its bytes are there.
        assert_eq!(header(&[0x16, 0x02], false), Header::Incomplete);
        assert_eq!(header(&[0x16, 0x02, 0x00], false), Header::NotTls);
        assert_eq!(header(&[0x17, 0x04, 0x03], false), Header::NotTls);
        assert_eq!(
            header(&[0x16, 0x03, 0x01, 0x02, 0x00], false),
            Header::Record(0x16, 512)
        );
        assert_eq!(
            header(&[0x16, 0x03, 0x01, 0x48, 0x00], false),
            Header::Record(0x16, MAX_RECORD_LEN)
        );
        assert_eq!(
            header(&[0x16, 0x03, 0x01, 0x48, 0x01], false),
            Header::BadLength(MAX_RECORD_LEN + 1)
        );
        assert_eq!(
            header(&[0x16, 0x03, 0x01, 0x00, 0x00], false),
            Header::BadLength(0)
        );
        assert_eq!(
            header(&[0x14, 0x03, 0x03, 0x00, 0x01], false),
            Header::Record(0x14, 1)
        );
        assert_eq!(
            header(&[0x15, 0x03, 0x03, 0x00, 0x00], false),
            Header::BadLength(0)
        );
        // Only application data may be empty.
        assert_eq!(
            header(&[0x17, 0x03, 0x03, 0x00, 0x00], false),
            Header::Record(0x17, 0)
        );
    }
}
