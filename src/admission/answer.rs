//! Refusing a first record the way the TLS library in use refuses it: its alert (or its
//! silence), then a close the peer sees as a FIN, not a reset.
//!
//! The refused bytes are still in the kernel's receive buffer (admission only peeks), and
//! closing a socket with unread bytes makes the kernel send a TCP RST, which may also discard
//! the alert before the peer reads it. So the alert is written, the sending side shut down
//! (FIN), and what the peer sent is read and dropped until it closes too, bounded by
//! [`DRAIN_BYTES`] and [`DRAIN_TIME`]; each read goes into a buffer on the stack of one
//! synchronous call, so a lingering connection holds no buffer. A bare tokio-rustls accept loop
//! answers the same inputs with the same bytes (tests/first_record_alerts.rs).

use std::io;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::first_record::BadStart;
use crate::Backend;
use tls_policy_backend::RecordLayer;

/// The most bytes read and dropped after the answer: a peer still sending past this is cut off
/// (the kernel then resets the connection, as it would for any server).
pub(crate) const DRAIN_BYTES: usize = 64 * 1024;

/// The longest wait for the peer to close after the answer.
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(1);

/// A fatal alert record: content type 21, record version 3.3, length 2, level fatal.
const fn fatal(description: u8) -> [u8; 7] {
    [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]
}

/// decode_error (50): what rustls sends for any record header it refuses.
const DECODE_ERROR: u8 = 50;
/// record_overflow (22): what OpenSSL sends for a record longer than TLS allows.
const RECORD_OVERFLOW: u8 = 22;
/// protocol_version (70): what OpenSSL sends for an SSLv2-framed ClientHello.
const PROTOCOL_VERSION: u8 = 70;

/// The alert `backend`'s library sends for `bad`, if it sends one; `None` too for a start
/// that is not answered at all (a peer that closed, a socket error).
pub(crate) fn alert(backend: Backend, bad: &BadStart) -> Option<[u8; 7]> {
    if backend.record_layer() == RecordLayer::OpenSsl {
        return openssl_alert(bad);
    }
    match bad {
        // rustls: every header its record layer refuses (unknown content type, version not
        // 3.x, empty or oversized record) is an InvalidMessage, answered with decode_error.
        BadStart::NotTls(..) | BadStart::BadLength(_) => Some(fatal(DECODE_ERROR)),
        BadStart::Closed | BadStart::ClosedMidRecord | BadStart::Io(_) => None,
    }
}

/// OpenSSL (3.x, as native-tls uses it on Linux and the openssl backend), measured on the same inputs: an SSLv2-framed
/// ClientHello (first byte's high bit set, message type 1) gets protocol_version in a record
/// of the hello's version; a record longer than 16384 + 2048 bytes gets record_overflow;
/// other bytes that do not look like TLS, and an empty record, get no alert.
fn openssl_alert(bad: &BadStart) -> Option<[u8; 7]> {
    match bad {
        BadStart::NotTls(bytes, n) if *n >= 1 && bytes[0] & 0x80 != 0 => {
            let mut alert = fatal(PROTOCOL_VERSION);
            // SSLv2 framing: 2 length bytes, msg_type 1 (client_hello), the version offered.
            if *n >= 5 && bytes[2] == 1 && bytes[3] == 3 {
                alert[2] = bytes[4].min(3);
                Some(alert)
            } else {
                None
            }
        }
        BadStart::BadLength(len) if *len > super::first_record::MAX_RECORD_LEN => {
            Some(fatal(RECORD_OVERFLOW))
        }
        _ => None,
    }
}

/// Whether `bad` leaves bytes worth answering or draining (the peer sent something).
pub(crate) fn sent_something(bad: &BadStart) -> bool {
    matches!(
        bad,
        BadStart::NotTls(..) | BadStart::BadLength(_) | BadStart::ClosedMidRecord
    )
}

/// Sends `alert` (if any) on `tcp`, shuts down its sending side, and reads and drops what the
/// peer sent until it closes, at most [`DRAIN_BYTES`] within [`DRAIN_TIME`]; then `tcp` is
/// dropped (closed). Errors end it early: the connection is being refused anyway.
pub(crate) async fn answer_and_close(mut tcp: TcpStream, alert: Option<[u8; 7]>) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    if let Some(alert) = alert {
        match tokio::time::timeout_at(deadline, tcp.write_all(&alert)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
    if tokio::time::timeout_at(deadline, tcp.shutdown())
        .await
        .is_err()
    {
        return;
    }
    let mut drained = 0usize;
    while drained < DRAIN_BYTES {
        match tokio::time::timeout_at(deadline, tcp.readable()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
        match drop_queued(&tcp) {
            Ok(0) => return,
            Ok(n) => drained += n,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// Reads and drops up to 4 KiB of what is queued on `tcp`; 0 at the peer's end of stream.
fn drop_queued(tcp: &TcpStream) -> io::Result<usize> {
    let mut scratch = [0u8; 4096];
    tcp.try_read(&mut scratch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_answers_every_refused_header_with_decode_error() {
        for backend in Backend::compiled() {
            if backend.record_layer() == RecordLayer::OpenSsl {
                continue;
            }
            let sslv2 = BadStart::NotTls([0x80, 0x2e, 0x01, 0x03, 0x01], 5);
            assert_eq!(
                alert(*backend, &sslv2),
                Some([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])
            );
            assert_eq!(
                alert(*backend, &BadStart::BadLength(0)),
                Some(fatal(DECODE_ERROR))
            );
            assert_eq!(alert(*backend, &BadStart::ClosedMidRecord), None);
        }
    }

    #[cfg(feature = "native-tls")]
    #[test]
    fn openssl_answers() {
        use crate::admission::first_record::MAX_RECORD_LEN;
        let sslv2 = BadStart::NotTls([0x80, 0x2e, 0x01, 0x03, 0x01], 5);
        assert_eq!(
            alert(Backend::NativeTls, &sslv2),
            Some([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 70])
        );
        let garbage = BadStart::NotTls(*b"GET /", 5);
        assert_eq!(alert(Backend::NativeTls, &garbage), None);
        assert_eq!(
            alert(Backend::NativeTls, &BadStart::BadLength(MAX_RECORD_LEN + 1)),
            Some(fatal(RECORD_OVERFLOW))
        );
        assert_eq!(alert(Backend::NativeTls, &BadStart::BadLength(0)), None);
    }
}
