//! The contract between `tls-policy` and its TLS backends: the [`TlsBackend`] trait and the
//! backend-neutral types that flow through it.
//!
//! Data flows one way: `tls-policy` parses a config into settings, loads and validates the files
//! into a [`ServerPolicy`] (all material in memory, keys decrypted, nothing left to read), and a
//! backend compiles that into its own acceptor (server side) or connector (client side, the same
//! policy: spec §3). A handshake yields the backend's stream and a [`TlsInfo`] describing what was
//! negotiated.

pub mod allowed_peers;
pub mod backend;
pub mod cipher_suite;
pub mod classify;
pub mod error;
pub mod identity;
pub mod info;
pub mod openssl_wording;
pub mod peer_gate;
pub mod policy;
pub mod record_cipher;
pub mod ticket_keys;

pub use allowed_peers::{AllowedPeers, PatternError, PeerPattern};
pub use backend::{Capabilities, RecordLayer, TlsBackend};
pub use cipher_suite::CipherSuite;
pub use classify::HandshakeFailure;
pub use error::BackendError;
pub use identity::{IdentityError, PeerIdentity};
pub use info::TlsInfo;
pub use peer_gate::{PeerCheck, PeerGate, PeerRefused, RefusedBy};
pub use policy::{
    ClientAuth, ClientOptions, Policy, PrivateKey, ServerOptions, ServerPolicy, TlsVersion,
};
pub use record_cipher::{AeadSource, RecordAead, RecordCipher};
pub use ticket_keys::{TicketKey, TicketKeys, TICKET_KEY_LEN};

/// Re-exported so backends and users name the same certificate and key types.
pub use rustls_pki_types as pki_types;
