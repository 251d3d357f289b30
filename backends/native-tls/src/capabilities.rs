//! What native-tls can honour of a policy, and the refusals for what it cannot (never a downgrade).
//!
//! native-tls is a lowest-common-denominator API over OpenSSL, Secure Transport and SChannel:
//!
//! - its server has no client-certificate API at all, so `client_auth=OPTIONAL|REQUIRE` is
//!   refused. With `client_auth=NONE` no client certificate is ever asked for, so
//!   `trusted_dir`, `revoked_dir` (CRLs) and `trust_all` play no part on the wire (the seed:
//!   they "will be ignored"): the policy is served, and a warning says so once;
//! - its client has no CRL API, so the client side refuses CRLs (see the `client` module);
//! - it has no cipher-suite API, so an explicit `ciphers` list cannot be honoured;
//! - it has no session-ticket key API, so a fleet's shared `session_ticket_keys` cannot be
//!   honoured (server side; the client side has no use for them);
//! - on OpenSSL its acceptor starts from `SslAcceptor::mozilla_intermediate`, which sets
//!   `SSL_OP_NO_TLSv1_3`; `max_protocol_version` cannot clear that option, so its server never
//!   negotiates TLS 1.3, and a `TLSv1.3`-only policy is refused (it would accept no client).
//! - for the same reason `allowed_peers` (and an application's `PeerCheck`) cannot admit
//!   clients by identity: refused on the server side, never ignored (the client side checks
//!   the server it dialled after the handshake, see the `client` module);
//! - it reports neither the negotiated version, nor the cipher suite, nor the SNI name;
//! - it has no OCSP stapling API, so `ocsp_stapling_enabled=true` is refused (a channel that
//!   silently went without the staple its operator asked for would be worse).

use native_tls::Protocol;
use tls_policy_backend::{BackendError, Capabilities, ClientAuth, ServerPolicy, TlsVersion};

/// The backend's name, which is its cargo feature name.
pub(crate) const NAME: &str = "native-tls";

/// The backends that can honour what this one refuses.
const ALTERNATIVE: &str = "rustls-aws-lc-rs or rustls-ring";

/// What native-tls can honour; see the module documentation for why.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    client_auth: false,
    crls: false,
    trust_all: false,
    cipher_list: false,
    tls13: false,
    alpn: true,
    session_details: false,
    post_quantum: false,
    ocsp_stapling: false,
    // Never asks for client certificates, so never refuses one by identity.
    access_denied_alert: false,
};

/// The protocol range to hand to `TlsAcceptorBuilder::{min,max}_protocol_version`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProtocolRange {
    /// The lowest version; always TLS 1.2 (older versions are never negotiated).
    pub(crate) min: Protocol,
    /// The highest version; `None` means the library's highest.
    pub(crate) max: Option<Protocol>,
}

/// Refuses, with [`BackendError::Unsupported`], the first setting of `policy` native-tls cannot
/// honour, and otherwise returns the protocol range to configure.
pub(crate) fn check(policy: &ServerPolicy) -> Result<ProtocolRange, BackendError> {
    match policy.client_auth {
        ClientAuth::None => {}
        other => return Err(unsupported("client_auth", other.as_str())),
    }
    if let Some(list) = &policy.allowed_peers {
        // No client certificates on this server, so no client could match: refused rather
        // than ignored (which would admit every client the operator meant to keep out).
        return Err(unsupported("allowed_peers", list.to_string()));
    }
    check_ciphers(policy)?;
    warn_unused_peer_verification(policy);
    if let Some(keys) = &policy.session_ticket_keys {
        let plural = if keys.len() == 1 { "" } else { "s" };
        return Err(unsupported(
            "session_ticket_keys",
            format!("{} shared key{plural}", keys.len()),
        ));
    }
    protocol_range(policy)
}

/// The server with `client_auth=NONE` never asks for a client certificate, so the policy's
/// CRLs and `trust_all` change nothing on the wire: serve, and say once that they play no part.
///
/// Once per process for each policy and state (CRL count, trust_all): a policy bound to several
/// channels is compiled for each, and a reload that changes nothing of the kind recompiles it.
fn warn_unused_peer_verification(policy: &ServerPolicy) {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};

    static WARNED: OnceLock<Mutex<HashSet<(String, usize, bool)>>> = OnceLock::new();
    let count = policy.crls.len();
    if count == 0 && !policy.trust_all {
        return;
    }
    let first = WARNED
        .get_or_init(Mutex::default)
        .lock()
        .map(|mut warned| warned.insert((policy.name.clone(), count, policy.trust_all)))
        .unwrap_or(true);
    if first {
        tracing::warn!(
            policy = %policy.name,
            backend = NAME,
            crls = count,
            trust_all = policy.trust_all,
            "client_auth=NONE: no client certificate is asked for, so trusted_dir, revoked_dir \
             ({count} CRL(s)) and trust_all play no part on this server; {ALTERNATIVE} can \
             verify clients with them"
        );
    }
}

/// Refuses revocation lists (the client side verifies servers and has no CRL API) and cipher
/// lists (no API on either side).
pub(crate) fn check_crls_and_ciphers(policy: &ServerPolicy) -> Result<(), BackendError> {
    if !policy.crls.is_empty() {
        let count = policy.crls.len();
        let plural = if count == 1 { "" } else { "s" };
        return Err(unsupported(
            "revoked_dir",
            format!("{count} revocation list{plural}"),
        ));
    }
    check_ciphers(policy)
}

/// Refuses a cipher list, which native-tls has no API for on either side.
fn check_ciphers(policy: &ServerPolicy) -> Result<(), BackendError> {
    if let Some(ciphers) = &policy.ciphers {
        let names: Vec<&str> = ciphers.iter().map(|suite| suite.name()).collect();
        return Err(unsupported("ciphers", names.join(",")));
    }
    Ok(())
}

/// Maps `tls_versions` onto native-tls, refusing a list it cannot serve.
fn protocol_range(policy: &ServerPolicy) -> Result<ProtocolRange, BackendError> {
    let tls12 = policy.tls_versions.contains(&TlsVersion::Tls12);
    let tls13 = policy.tls_versions.contains(&TlsVersion::Tls13);
    match (tls12, tls13) {
        (true, false) => Ok(ProtocolRange {
            min: Protocol::Tlsv12,
            max: Some(Protocol::Tlsv12),
        }),
        (true, true) => {
            tracing::warn!(
                policy = %policy.name,
                backend = NAME,
                "tls_versions=TLSv1.2,TLSv1.3: the native-tls server never negotiates TLSv1.3 \
                 (its OpenSSL acceptor disables it); only TLSv1.2 will be served; \
                 use {ALTERNATIVE} for TLSv1.3"
            );
            // `None`: the library's highest. If a future native-tls enables TLS 1.3 this starts
            // negotiating it, and the `tls13_is_never_negotiated` test says so.
            Ok(ProtocolRange {
                min: Protocol::Tlsv12,
                max: None,
            })
        }
        (false, true) => Err(unsupported("tls_versions", TlsVersion::Tls13.as_str())),
        (false, false) => Err(BackendError::Rejected {
            setting: "tls_versions",
            message: "no TLS version to negotiate".into(),
        }),
    }
}

pub(crate) fn unsupported(setting: &'static str, value: impl Into<String>) -> BackendError {
    BackendError::Unsupported {
        setting,
        value: value.into(),
        backend: NAME,
        alternative: ALTERNATIVE,
    }
}
