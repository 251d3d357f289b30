//! Session-ticket keys shared by a fleet of servers: the neutral form of a `session_ticket_keys` file.

use std::fmt;

/// The length of one key in the file layout nginx and Envoy use: a 16-byte name, a 32-byte HMAC
/// secret and a 32-byte AES secret.
pub const TICKET_KEY_LEN: usize = 80;

/// One 80-byte session-ticket key: the name that tickets sealed under it carry in their first 16
/// bytes, and its two secrets. Its `Debug` shows the name only.
#[derive(Clone, PartialEq, Eq)]
pub struct TicketKey {
    name: [u8; 16],
    hmac_secret: [u8; 32],
    aes_secret: [u8; 32],
}

impl TicketKey {
    /// Splits 80 bytes into name (16), HMAC secret (32) and AES secret (32), as nginx and Envoy
    /// do.
    pub fn from_bytes(bytes: &[u8; TICKET_KEY_LEN]) -> TicketKey {
        let mut name = [0; 16];
        let mut hmac_secret = [0; 32];
        let mut aes_secret = [0; 32];
        name.copy_from_slice(&bytes[..16]);
        hmac_secret.copy_from_slice(&bytes[16..48]);
        aes_secret.copy_from_slice(&bytes[48..]);
        TicketKey {
            name,
            hmac_secret,
            aes_secret,
        }
    }

    /// The 80 bytes again, in the file's layout.
    pub fn to_bytes(&self) -> [u8; TICKET_KEY_LEN] {
        let mut out = [0; TICKET_KEY_LEN];
        out[..16].copy_from_slice(&self.name);
        out[16..48].copy_from_slice(&self.hmac_secret);
        out[48..].copy_from_slice(&self.aes_secret);
        out
    }

    /// The key name: public (every ticket carries it in the clear), it picks the key that opens
    /// a ticket.
    pub fn name(&self) -> &[u8; 16] {
        &self.name
    }

    /// The key name as lowercase hex, for messages.
    pub fn name_hex(&self) -> String {
        self.name.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The 32-byte HMAC secret (bytes 16..48 of the key). Secret: never log it.
    pub fn hmac_secret(&self) -> &[u8; 32] {
        &self.hmac_secret
    }

    /// The 32-byte AES secret (bytes 48..80 of the key). Secret: never log it.
    pub fn aes_secret(&self) -> &[u8; 32] {
        &self.aes_secret
    }
}

impl fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TicketKey({}, <redacted>)", self.name_hex())
    }
}

/// The keys of a `session_ticket_keys` file, in file order, never empty: the first seals new
/// tickets, every one opens tickets carrying its name. Its `Debug` shows the names only.
#[derive(Clone, PartialEq, Eq)]
pub struct TicketKeys {
    keys: Vec<TicketKey>,
}

impl TicketKeys {
    /// The keys in file order; `None` when `keys` is empty.
    pub fn new(keys: Vec<TicketKey>) -> Option<TicketKeys> {
        if keys.is_empty() {
            None
        } else {
            Some(TicketKeys { keys })
        }
    }

    /// The key that seals new tickets: the first in the file.
    pub fn current(&self) -> &TicketKey {
        &self.keys[0]
    }

    /// Every key, in file order (the current one first).
    pub fn keys(&self) -> &[TicketKey] {
        &self.keys
    }

    /// How many keys there are (at least one).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a `TicketKeys` holds at least one key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.keys).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips_and_debug_hides_secrets() {
        let mut raw = [0u8; TICKET_KEY_LEN];
        for (i, b) in raw.iter_mut().enumerate() {
            *b = i as u8;
        }
        let key = TicketKey::from_bytes(&raw);
        assert_eq!(key.to_bytes(), raw);
        assert_eq!(key.name()[0], 0);
        assert_eq!(key.hmac_secret()[0], 16);
        assert_eq!(key.aes_secret()[0], 48);
        let keys = TicketKeys::new(vec![key]).unwrap();
        let shown = format!("{keys:?}");
        assert!(
            shown.contains("000102030405060708090a0b0c0d0e0f"),
            "{shown}"
        );
        assert!(!shown.contains("101112"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(TicketKeys::new(Vec::new()).is_none());
    }
}
