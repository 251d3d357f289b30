//! Compiles a policy's client side into a native-tls connector, refusing what it cannot honour.
//!
//! | setting | native-tls client |
//! |---|---|
//! | `private_key`, `public_certificate` | presented to servers that ask (`identity`) |
//! | `trusted_dir` | the only roots: `disable_built_in_roots(true)` + `add_root_certificate` |
//! | path links of `trusted_dir` | `add_root_certificate` too: native-tls has no intermediates API. OpenSSL completes chains from them and still ends each at a self-signed anchor; they are never checked for revocation, which is why any CRL is refused |
//! | `verify_hostname` | `danger_accept_invalid_hostnames(!verify_hostname)`; the chain is verified either way |
//! | `trust_all=true` | `danger_accept_invalid_certs(true)`: no chain check; OpenSSL still verifies the handshake signatures |
//! | `revoked_dir` with any CRL | refused: native-tls has no CRL API |
//! | `ciphers` | refused: no cipher-suite API |
//! | `tls_versions` | min/max protocol version; unlike its server, the client negotiates TLS 1.3 on OpenSSL |
//! | `client_auth`, `session_resumption` | server-side settings, unused here |
//! | `allowed_peers`, the channel's `PeerCheck` | after the handshake the server's leaf must pass them, else the connection is closed (`PermissionDenied`, holding a `PeerRefused`); native-tls has no verifier hook, so no alert is sent |

use std::fmt;

use native_tls::{Certificate, Protocol, TlsConnector};
use tls_policy_backend::{BackendError, ClientOptions, PeerGate, ServerPolicy, TlsVersion};

use crate::capabilities;
use crate::identity;

/// A policy compiled for the client side with native-tls: runs client handshakes. Cheap to clone
/// (reference counted).
#[derive(Clone)]
pub struct NativeTlsConnector(
    pub(crate) tokio_native_tls::TlsConnector,
    /// The `allowed_peers` and peer check the server's leaf must pass after the handshake.
    pub(crate) Option<PeerGate>,
);

impl NativeTlsConnector {
    /// The underlying tokio-native-tls connector.
    pub fn inner(&self) -> &tokio_native_tls::TlsConnector {
        &self.0
    }
}

impl fmt::Debug for NativeTlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeTlsConnector").finish_non_exhaustive()
    }
}

/// Refuses what the native-tls client cannot honour, then builds the connector.
pub(crate) fn build(
    policy: &ServerPolicy,
    options: &ClientOptions,
) -> Result<NativeTlsConnector, BackendError> {
    capabilities::check_crls_and_ciphers(policy)?;
    let (min, max) = protocol_range(policy)?;
    let alpn = alpn_protocols(options)?;
    let identity = identity::identity(policy)?;

    let mut builder = TlsConnector::builder();
    builder
        .identity(identity)
        .min_protocol_version(Some(min))
        .max_protocol_version(max)
        .disable_built_in_roots(true)
        .danger_accept_invalid_hostnames(!policy.verify_hostname);
    if policy.trust_all {
        builder.danger_accept_invalid_certs(true);
    } else {
        if policy.trusted.is_empty() {
            return Err(BackendError::Rejected {
                setting: "trusted_dir",
                message: "the client side verifies servers against the trusted certificates, \
                          and trusted_dir holds none (add the CA that issued the servers' \
                          certificates, or set trust_all=true)"
                    .into(),
            });
        }
        // Anchors, then path links: the store is the only way native-tls takes certificates
        // to complete a server's chain with.
        let anchors = policy
            .trusted
            .iter()
            .enumerate()
            .map(|(i, der)| ("trusted certificate", i, der));
        let links = policy
            .path_links
            .iter()
            .enumerate()
            .map(|(i, der)| ("path link", i, der));
        for (kind, index, der) in anchors.chain(links) {
            let cert =
                Certificate::from_der(der.as_ref()).map_err(|err| BackendError::Rejected {
                    setting: "trusted_dir",
                    message: format!(
                        "{kind} #{} cannot be added to the trust store: {err}",
                        index + 1
                    ),
                })?;
            builder.add_root_certificate(cert);
        }
    }
    if !alpn.is_empty() {
        builder.request_alpns(&alpn);
    }
    let connector = builder.build().map_err(|err| BackendError::Rejected {
        setting: "private_key",
        message: err.to_string(),
    })?;
    Ok(NativeTlsConnector(
        connector.into(),
        PeerGate::new(policy, options.peer_check.as_ref()),
    ))
}

/// Maps `tls_versions` onto the connector's minimum and maximum protocol versions.
fn protocol_range(policy: &ServerPolicy) -> Result<(Protocol, Option<Protocol>), BackendError> {
    let tls12 = policy.tls_versions.contains(&TlsVersion::Tls12);
    let tls13 = policy.tls_versions.contains(&TlsVersion::Tls13);
    match (tls12, tls13) {
        (true, false) => Ok((Protocol::Tlsv12, Some(Protocol::Tlsv12))),
        (true, true) => Ok((Protocol::Tlsv12, Some(Protocol::Tlsv13))),
        (false, true) => Ok((Protocol::Tlsv13, Some(Protocol::Tlsv13))),
        (false, false) => Err(BackendError::Rejected {
            setting: "tls_versions",
            message: "no TLS version to negotiate".into(),
        }),
    }
}

/// The ALPN protocols as the `&str`s native-tls wants: each non-empty, UTF-8, at most 255 bytes.
fn alpn_protocols(options: &ClientOptions) -> Result<Vec<&str>, BackendError> {
    options
        .alpn_protocols
        .iter()
        .map(|proto| {
            let rejected = |why: &str| BackendError::Rejected {
                setting: "alpn_protocols",
                message: format!("ALPN protocol {:?} {why}", String::from_utf8_lossy(proto)),
            };
            if proto.is_empty() || proto.len() > 255 {
                return Err(rejected("must be 1 to 255 bytes long"));
            }
            std::str::from_utf8(proto)
                .map_err(|_| rejected("is not UTF-8, which native-tls requires"))
        })
        .collect()
}
