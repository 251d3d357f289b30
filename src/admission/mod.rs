//! Admission of accepted TCP connections, shared by [`crate::listener::Listener`] and the axum
//! `TlsListener`: bounds on connections waiting for their handshake, a wait for the first TLS
//! record that holds no handshake slot, then the handshake in a slot.
//!
//! The order, for one connection:
//!
//! 1. **At accept**, before a byte is read: the connection counts as *pending* unless the
//!    peer's address (an IPv4 address, or an IPv6 /64) has
//!    [`PendingLimits::max_pending_per_address`], or the channel has
//!    [`PendingLimits::max_pending`] and the peer's group is already among the largest; then it
//!    is closed at once and counted (`address_limit`, `pending_limit`). When the channel is full
//!    and the largest group holds more than the peer's would, that group's oldest pending
//!    connection is evicted (closed, `pending_limit`) to make room: a full channel shuts out no
//!    one but those who filled it.
//! 2. **First record**: the peer has [`PendingLimits::first_record_timeout`] to deliver its
//!    complete first TLS record (5-byte header and the length it announces, at most
//!    16384 + 2048 bytes). Nothing is read: the bytes wait in the kernel, so a silent or
//!    trickling peer costs a socket and a sleeping task, but no handshake slot and no buffer.
//!    Under `tls_level=OPTIONAL` a first byte other than 0x16 means plaintext. A peer that
//!    closes is refused with its reason (`peer_closed`). A header rustls's record layer would
//!    refuse (a content type TLS does not define, such as an SSLv2-framed ClientHello; a
//!    version other than 3.x; an empty or oversized record) is refused as soon as it shows
//!    (`not_tls`) and answered as the backend's library answers it (rustls: a decode_error
//!    alert), then closed with a FIN: what the peer sent is read and dropped first, at most
//!    64 KiB within a second, so the kernel sends no reset. A complete first record of
//!    another TLS content type (application data, change_cipher_spec, alert) goes to the
//!    acceptor, which answers it as on a bare accept loop (unexpected_message), counted as
//!    `not_tls` if refused.
//! 3. **Handshake**: a slot of `max_concurrent_handshakes` is taken and the handshake runs, the
//!    wait for the slot and the handshake together bounded by `handshake_timeout`.
//!
//! Before step 2, a connector with `proxy_protocol` on reads the PROXY protocol header (v1 or
//! v2) of connections from its `proxy_protocol_trusted` networks, within the same first-record
//! timeout; the client address it carries then stands for the peer's: in the connection's span
//! and logs, in the per-address bound (a trusted proxy's connection counts for the channel at
//! accept and for its client once the header is read), and in what the service is given. A
//! header from another source, a missing one from a trusted source, or a malformed one closes
//! the connection (`proxy_untrusted`, `proxy_missing`, `proxy_malformed`).
//!
//! The connection stops counting as pending when its handshake ends either way. The generic
//! [`crate::TlsLayer`] sees only an `AsyncRead + AsyncWrite` (no socket to peek at, no peer
//! address), so it keeps its own [`crate::layer::HandshakeLimits`] alone: a slot from the first
//! poll, under the handshake timeout.

mod admit;
mod answer;
mod first_record;
mod limits;
mod pending;
mod proxy_header;

pub(crate) use admit::{Admission, Admitted};
pub use limits::PendingLimits;
pub(crate) use pending::Pending;
pub(crate) use proxy_header::ProxyHeader;
