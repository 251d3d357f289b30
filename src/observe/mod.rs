//! Observability: handshake failures classified by reason, `tracing` spans and events, and
//! metrics through the `metrics` facade, all named `tls_policy_*`.
//!
//! The [`crate::listener::Listener`] and the [`crate::TlsLayer`] record everything here on their
//! own; an application only installs a `metrics` recorder (or runs the command's
//! `tls-policy serve --metrics`) to see the numbers. Without a recorder every metric call is a
//! no-op.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `tls_policy_handshakes_total` | counter | `channel`, `policy`, `backend`, `outcome` (`ok`/`failed`), `reason` ([`HandshakeFailure::as_str`], `none` when ok) |
//! | `tls_policy_handshake_duration_seconds` | histogram | `channel`, `policy`, `backend`, `outcome` |
//! | `tls_policy_active_connections` | gauge | `channel`, `policy`, `backend` |
//! | `tls_policy_pending_connections` | gauge | `channel`, `policy`, `backend` (listener only: accepted, handshake not done) |
//! | `tls_policy_bytes_read_total` | counter | `channel`, `policy`, `backend` (listener only: plaintext bytes the service read) |
//! | `tls_policy_bytes_written_total` | counter | `channel`, `policy`, `backend` (listener only) |
//! | `tls_policy_certificate_expiry_seconds` | gauge | `policy`: seconds until the leaf certificate's notAfter (negative once expired) |
//! | `tls_policy_crl_next_update_seconds` | gauge | `policy`, `crl` (the CRL issuer's DN): seconds until that CRL's nextUpdate (negative once past: handshakes it covers then fail as `revocation_unknown`) |
//! | `tls_policy_reload_watch_healthy` | gauge | `directory`: 1 while the file watcher's self-check has seen events from it, 0 when the watch is dead or unverified ([`crate::Watcher::health`] says which) |
//! | `tls_policy_record_aead_info` | gauge | `backend`, `aead`, `implementation`, `setting`, `chosen_by`: always 1, which implementation seals the records ([`announce_record_aead`]) |
//! | `tls_policy_ocsp_response_age_seconds` | gauge | `policy`: seconds since the stapled OCSP response's `thisUpdate` (NaN: no staple) |
//! | `tls_policy_ocsp_next_update_seconds` | gauge | `policy`: seconds until the stapled response's `nextUpdate` (NaN: no staple, or none promised) |
//! | `tls_policy_ocsp_fetch_failures_total` | counter | `policy`, `reason` (why a fetch failed) |
//!
//! [`METRICS`] is the same list as data (name, kind, labels, help), and the only place the
//! names are spelled: every recorder takes its constants, and [`describe_metrics`] gives the
//! help lines to a recorder. features.md and this table are tested against it.

mod announce_aead;
mod catalog;
mod classify;
mod expiry;
mod log;
mod metrics;
mod throttle;

#[cfg(test)]
mod catalog_tests;

pub use announce_aead::announce_record_aead;
pub use catalog::{
    describe_metrics, metric, Metric, MetricKind, ACTIVE_CONNECTIONS, BYTES_READ, BYTES_WRITTEN,
    CERTIFICATE_EXPIRY, CRL_NEXT_UPDATE, HANDSHAKES, HANDSHAKE_BUCKETS, HANDSHAKE_DURATION,
    METRICS, OCSP_FETCH_FAILURES, OCSP_NEXT_UPDATE, OCSP_RESPONSE_AGE, PENDING_CONNECTIONS,
    RECORD_AEAD_INFO, RELOAD_WATCH_HEALTHY,
};
pub use classify::classify_handshake_error;
pub use expiry::{record_policy_expiry, record_settings_expiry};
pub use metrics::{ActiveConnection, ChannelMetrics, PendingConnection};
pub use throttle::REFUSAL_LINES_PER_SECOND;
pub(crate) use throttle::{RefusalLog, SUMMARY_EVERY};
pub use tls_policy_backend::HandshakeFailure;
