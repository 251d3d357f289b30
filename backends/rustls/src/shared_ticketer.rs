//! Session tickets sealed with a fleet's shared keys (`session_ticket_keys`), the same bytes on
//! the aws-lc-rs and ring providers, so replicas on either resume each other's sessions.
//!
//! # The ticket
//!
//! ```text
//! ticket = key_name (16) || nonce (12) || AES-256-GCM(k, nonce, aad = key_name,
//!                                                    issued_at (8, big-endian unix seconds) || session)
//!                                        || tag (16)
//! k      = HKDF-SHA256(salt = key_name, ikm = hmac_secret || aes_secret,
//!                      info = "tls-policy session ticket v1 aes-256-gcm"), 32 bytes
//! ```
//!
//! - The first key of the file seals; the ticket's first 16 bytes pick the key that opens it, so
//!   every key of the file opens the tickets carrying its name.
//! - `k` is derived rather than taken from the AES secret: the same 80-byte key may also be
//!   given to nginx or Envoy, which use the AES secret with AES-256-CBC and the HMAC secret with
//!   HMAC-SHA256; a derived, domain-separated key never serves two constructions, uses all 64
//!   secret bytes, and is bound to the key's name.
//! - The nonce is random (the provider's system RNG). Random 96-bit nonces stay within the
//!   usual 2^-32 collision bound for about 2^32 tickets per key: rotate the file (for example
//!   daily, `tls-policy ticket-keys rotate`) well before a fleet issues that many.
//! - Lifetime: [`TICKET_LIFETIME`] (12 hours), told to clients and enforced here from
//!   `issued_at` (rustls itself does not check a ticket's age), allowing
//!   [`CLOCK_SKEW`] of clock skew between replicas for tickets from the future.
//!
//! Both providers run this one code (the [`provider_crypto!`] macro instantiates it over each
//! crate's `hkdf`, `aead` and `rand` modules, whose APIs are the same), so a ticket sealed on one
//! opens on the other.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::server::ProducesTickets;
use tls_policy_backend::{BackendError, TicketKey, TicketKeys};

/// How long a ticket resumes a session: 12 hours, in seconds.
pub(crate) const TICKET_LIFETIME: u32 = 12 * 60 * 60;
/// How far in the future a ticket's `issued_at` may be (another replica's clock): 5 minutes.
pub(crate) const CLOCK_SKEW: u64 = 5 * 60;

const NAME_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const ISSUED_AT_LEN: usize = 8;
const HKDF_INFO: &[u8] = b"tls-policy session ticket v1 aes-256-gcm";

/// The cryptography a ticket needs, from one provider crate.
pub(crate) trait TicketCrypto: Send + Sync + 'static {
    /// A key ready to seal and open.
    type Key: Send + Sync;
    /// The provider's name, for `Debug`.
    const NAME: &'static str;
    /// Derives the AES-256-GCM key of `key` (see the module documentation); `None` only if
    /// the provider refuses HKDF-SHA256 output of 32 bytes, which it never does.
    fn derive(key: &TicketKey) -> Option<Self::Key>;
    /// Fills `out` from the system RNG.
    fn fill_random(out: &mut [u8]) -> Option<()>;
    /// Encrypts `in_out` in place and appends the tag.
    fn seal(
        key: &Self::Key,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut Vec<u8>,
    ) -> Option<()>;
    /// Checks the tag and decrypts in place; the plaintext without the tag.
    fn open<'a>(
        key: &Self::Key,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &'a mut [u8],
    ) -> Option<&'a mut [u8]>;
}

/// Implements [`TicketCrypto`] for `$ty` over the provider crate `$krate` (aws-lc-rs and ring
/// share these APIs), so both run the same code.
macro_rules! provider_crypto {
    ($ty:ident, $krate:ident, $name:literal) => {
        /// [`TicketCrypto`] on the provider crate of the same name.
        pub(crate) struct $ty;

        impl TicketCrypto for $ty {
            type Key = $krate::aead::LessSafeKey;
            const NAME: &'static str = $name;

            fn derive(key: &TicketKey) -> Option<Self::Key> {
                let mut ikm = [0u8; 64];
                ikm[..32].copy_from_slice(key.hmac_secret());
                ikm[32..].copy_from_slice(key.aes_secret());
                let prk =
                    $krate::hkdf::Salt::new($krate::hkdf::HKDF_SHA256, key.name()).extract(&ikm);
                ikm.fill(0);
                let okm = prk.expand(&[HKDF_INFO], &$krate::aead::AES_256_GCM).ok()?;
                Some($krate::aead::LessSafeKey::new(
                    $krate::aead::UnboundKey::from(okm),
                ))
            }

            fn fill_random(out: &mut [u8]) -> Option<()> {
                use $krate::rand::SecureRandom;
                $krate::rand::SystemRandom::new().fill(out).ok()
            }

            fn seal(
                key: &Self::Key,
                nonce: [u8; NONCE_LEN],
                aad: &[u8],
                in_out: &mut Vec<u8>,
            ) -> Option<()> {
                key.seal_in_place_append_tag(
                    $krate::aead::Nonce::assume_unique_for_key(nonce),
                    $krate::aead::Aad::from(aad),
                    in_out,
                )
                .ok()
            }

            fn open<'a>(
                key: &Self::Key,
                nonce: [u8; NONCE_LEN],
                aad: &[u8],
                in_out: &'a mut [u8],
            ) -> Option<&'a mut [u8]> {
                key.open_in_place(
                    $krate::aead::Nonce::assume_unique_for_key(nonce),
                    $krate::aead::Aad::from(aad),
                    in_out,
                )
                .ok()
            }
        }
    };
}

#[cfg(feature = "aws-lc-rs")]
provider_crypto!(AwsLcRs, aws_lc_rs, "aws-lc-rs");
#[cfg(feature = "ring")]
provider_crypto!(Ring, ring, "ring");

/// A [`ProducesTickets`] over a fleet's keys: the first seals, each opens its own tickets.
pub(crate) struct SharedTicketer<C: TicketCrypto> {
    keys: Vec<([u8; NAME_LEN], C::Key)>,
    names: String,
    _crypto: PhantomData<C>,
}

impl<C: TicketCrypto> SharedTicketer<C> {
    /// Derives the ticket key of every key in `keys`.
    pub(crate) fn new(keys: &TicketKeys) -> Result<SharedTicketer<C>, BackendError> {
        let mut derived = Vec::with_capacity(keys.len());
        for key in keys.keys() {
            let sealing = C::derive(key).ok_or_else(|| BackendError::Rejected {
                setting: "session_ticket_keys",
                message: format!(
                    "{} cannot derive the ticket key of key {}",
                    C::NAME,
                    key.name_hex()
                ),
            })?;
            derived.push((*key.name(), sealing));
        }
        Ok(SharedTicketer {
            keys: derived,
            names: keys
                .keys()
                .iter()
                .map(TicketKey::name_hex)
                .collect::<Vec<_>>()
                .join(","),
            _crypto: PhantomData,
        })
    }

    /// The same, as rustls takes it.
    pub(crate) fn shared(keys: &TicketKeys) -> Result<Arc<dyn ProducesTickets>, BackendError> {
        Ok(Arc::new(SharedTicketer::<C>::new(keys)?))
    }

    fn seal_at(&self, plain: &[u8], now: u64) -> Option<Vec<u8>> {
        let (name, key) = self.keys.first()?;
        let mut nonce = [0u8; NONCE_LEN];
        C::fill_random(&mut nonce)?;
        let mut out =
            Vec::with_capacity(NAME_LEN + NONCE_LEN + ISSUED_AT_LEN + plain.len() + TAG_LEN);
        out.extend_from_slice(name);
        out.extend_from_slice(&nonce);
        let mut body = Vec::with_capacity(ISSUED_AT_LEN + plain.len() + TAG_LEN);
        body.extend_from_slice(&now.to_be_bytes());
        body.extend_from_slice(plain);
        C::seal(key, nonce, name, &mut body)?;
        out.extend_from_slice(&body);
        Some(out)
    }

    fn open_at(&self, ticket: &[u8], now: u64) -> Option<Vec<u8>> {
        if ticket.len() < NAME_LEN + NONCE_LEN + ISSUED_AT_LEN + TAG_LEN {
            return None;
        }
        let (name, rest) = ticket.split_at(NAME_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let (_, key) = self.keys.iter().find(|(known, _)| known[..] == *name)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let mut body = sealed.to_vec();
        let plain = C::open(key, nonce, name, &mut body)?;
        let (issued_at, session) = plain.split_at(ISSUED_AT_LEN);
        let issued_at = u64::from_be_bytes(issued_at.try_into().ok()?);
        let fresh = issued_at <= now.saturating_add(CLOCK_SKEW)
            && now <= issued_at.saturating_add(u64::from(TICKET_LIFETIME));
        fresh.then(|| session.to_vec())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

impl<C: TicketCrypto> ProducesTickets for SharedTicketer<C> {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        TICKET_LIFETIME
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.seal_at(plain, unix_now())
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.open_at(cipher, unix_now())
    }
}

impl<C: TicketCrypto> fmt::Debug for SharedTicketer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTicketer")
            .field("provider", &C::NAME)
            .field("key_names", &self.names)
            .field("lifetime", &TICKET_LIFETIME)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use tls_policy_backend::TICKET_KEY_LEN;

    use super::*;

    fn keys(seeds: &[u8]) -> TicketKeys {
        TicketKeys::new(
            seeds
                .iter()
                .map(|seed| {
                    let mut raw = [0u8; TICKET_KEY_LEN];
                    for (i, b) in raw.iter_mut().enumerate() {
                        *b = seed.wrapping_mul(17).wrapping_add(i as u8);
                    }
                    TicketKey::from_bytes(&raw)
                })
                .collect(),
        )
        .unwrap()
    }

    const NOW: u64 = 1_800_000_000;

    fn round_trip<C: TicketCrypto>() {
        let ticketer = SharedTicketer::<C>::new(&keys(&[1, 2])).unwrap();
        let ticket = ticketer.seal_at(b"session state", NOW).unwrap();
        assert_eq!(&ticket[..16], keys(&[1]).current().name());
        assert_eq!(ticket.len(), 16 + 12 + 8 + 13 + 16);
        assert_eq!(ticketer.open_at(&ticket, NOW).unwrap(), b"session state");
        // Two seals of one session differ (random nonce).
        assert_ne!(ticketer.seal_at(b"session state", NOW).unwrap(), ticket);
        assert!(ticketer
            .encrypt(b"x")
            .is_some_and(|t| ticketer.decrypt(&t).is_some()));
    }

    fn refusals<C: TicketCrypto>() {
        let ticketer = SharedTicketer::<C>::new(&keys(&[1, 2])).unwrap();
        let ticket = ticketer.seal_at(b"session state", NOW).unwrap();

        // A key not in the file: None.
        let stranger = SharedTicketer::<C>::new(&keys(&[3])).unwrap();
        assert_eq!(stranger.open_at(&ticket, NOW), None);

        // Every byte flipped in turn (name, nonce, body, tag): None, never a panic.
        for i in 0..ticket.len() {
            let mut tampered = ticket.clone();
            tampered[i] ^= 0x01;
            assert_eq!(ticketer.open_at(&tampered, NOW), None, "byte {i}");
        }
        // Truncated and empty tickets.
        for len in 0..ticket.len() {
            assert_eq!(ticketer.open_at(&ticket[..len], NOW), None, "len {len}");
        }

        // Past the lifetime, or too far in the future: None.
        let lifetime = u64::from(TICKET_LIFETIME);
        assert!(ticketer.open_at(&ticket, NOW + lifetime).is_some());
        assert_eq!(ticketer.open_at(&ticket, NOW + lifetime + 1), None);
        assert!(ticketer.open_at(&ticket, NOW - CLOCK_SKEW).is_some());
        assert_eq!(ticketer.open_at(&ticket, NOW - CLOCK_SKEW - 1), None);
    }

    fn rotation<C: TicketCrypto>() {
        // Before: [old]; after `rotate`: [new, old].
        let before = SharedTicketer::<C>::new(&keys(&[1])).unwrap();
        let after = SharedTicketer::<C>::new(&keys(&[9, 1])).unwrap();
        let old_ticket = before.seal_at(b"old", NOW).unwrap();
        assert_eq!(after.open_at(&old_ticket, NOW).unwrap(), b"old");
        let new_ticket = after.seal_at(b"new", NOW).unwrap();
        assert_eq!(&new_ticket[..16], keys(&[9]).current().name());
        // A replica not yet rotated cannot open the new key's tickets (a full handshake).
        assert_eq!(before.open_at(&new_ticket, NOW), None);
    }

    #[test]
    fn debug_shows_names_not_secrets() {
        #[cfg(feature = "aws-lc-rs")]
        let shown = format!("{:?}", SharedTicketer::<AwsLcRs>::new(&keys(&[1])).unwrap());
        #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
        let shown = format!("{:?}", SharedTicketer::<Ring>::new(&keys(&[1])).unwrap());
        assert!(shown.contains(&keys(&[1]).current().name_hex()), "{shown}");
        let secret = keys(&[1]).current().aes_secret()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        assert!(!shown.contains(&secret), "{shown}");
    }

    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn aws_lc_rs_round_trip_refusals_rotation() {
        round_trip::<AwsLcRs>();
        refusals::<AwsLcRs>();
        rotation::<AwsLcRs>();
    }

    #[cfg(feature = "ring")]
    #[test]
    fn ring_round_trip_refusals_rotation() {
        round_trip::<Ring>();
        refusals::<Ring>();
        rotation::<Ring>();
    }

    #[cfg(all(feature = "aws-lc-rs", feature = "ring"))]
    #[test]
    fn sealed_by_one_provider_opens_on_the_other() {
        let fleet = keys(&[4, 5]);
        let aws = SharedTicketer::<AwsLcRs>::new(&fleet).unwrap();
        let ring = SharedTicketer::<Ring>::new(&fleet).unwrap();
        let by_aws = aws.seal_at(b"from aws-lc-rs", NOW).unwrap();
        let by_ring = ring.seal_at(b"from ring", NOW).unwrap();
        assert_eq!(ring.open_at(&by_aws, NOW).unwrap(), b"from aws-lc-rs");
        assert_eq!(aws.open_at(&by_ring, NOW).unwrap(), b"from ring");
        // Same key, same nonce: the same bytes (the construction is deterministic but for it).
        let mut body_a = b"state".to_vec();
        let mut body_r = b"state".to_vec();
        let nonce = [7u8; NONCE_LEN];
        AwsLcRs::seal(&aws.keys[0].1, nonce, b"aad", &mut body_a).unwrap();
        Ring::seal(&ring.keys[0].1, nonce, b"aad", &mut body_r).unwrap();
        assert_eq!(body_a, body_r);
    }
}
