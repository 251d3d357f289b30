//! What the OpenSSL backend can honour of a policy, and the refusals for what it cannot.
//!
//! OpenSSL carries the whole policy: client_auth `OPTIONAL`/`REQUIRE`, trust anchors and path
//! links, CRLs checked along the whole chain (fail closed), cipher lists for TLS 1.2 and 1.3,
//! TLS 1.3, session tickets and the session cache, ALPN, `allowed_peers` and the negotiated
//! parameters. What it refuses, never downgrades:
//!
//! - `session_ticket_keys` (a fleet's shared ticket keys): the openssl crate has no safe
//!   binding of `SSL_CTX_set_tlsext_ticket_key_cb`, and this workspace forbids `unsafe`;
//!   each process keeps OpenSSL's own ticket keys;
//! - `ocsp_stapling_enabled=true`: not implemented for this backend yet;
//! - post-quantum key exchange: the system OpenSSL (3.0) has no ML-KEM.
//!
//! And one difference on the wire: a client `allowed_peers` refuses gets the alert
//! `handshake_failure`, not `access_denied` (`Capabilities::access_denied_alert`).

use tls_policy_backend::{BackendError, Capabilities};

/// The backend's name, which is its cargo feature name.
pub(crate) const NAME: &str = "openssl";

/// The backends that can honour what this one refuses.
pub(crate) const ALTERNATIVE: &str = "rustls-aws-lc-rs or rustls-ring";

/// What the OpenSSL backend can honour; see the module documentation.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    client_auth: true,
    crls: true,
    trust_all: true,
    cipher_list: true,
    tls13: true,
    alpn: true,
    session_details: true,
    post_quantum: false,
    ocsp_stapling: false,
    // The verify callback can only fail with X509_V_ERR_APPLICATION_VERIFICATION, which
    // OpenSSL answers with handshake_failure; no public API sends access_denied.
    access_denied_alert: false,
};

/// A refusal of `setting=value` by this backend, naming the alternatives.
pub(crate) fn unsupported(setting: &'static str, value: impl Into<String>) -> BackendError {
    BackendError::Unsupported {
        setting,
        value: value.into(),
        backend: NAME,
        alternative: ALTERNATIVE,
    }
}

/// A rejection of the material of `setting` by OpenSSL, with what it said.
pub(crate) fn rejected(setting: &'static str, message: impl Into<String>) -> BackendError {
    BackendError::Rejected {
        setting,
        message: message.into(),
    }
}
