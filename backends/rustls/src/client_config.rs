//! Compiles a policy's client side into a rustls [`ClientConfig`] on one backend's crypto provider.

use std::sync::Arc;

use rustls::client::Resumption;
use rustls::sign::SingleCertAndKey;
use rustls::ClientConfig;
use tls_policy_backend::{BackendError, ClientOptions, ServerPolicy};

use crate::provider::RustlsBackend;
use crate::{client_trust, peer_admission, server_config};

/// Builds the client config for `policy` with `backend`'s provider.
///
/// - `tls_versions` and `ciphers` map as on the server side (the same helpers); the list's
///   order is the client's preference.
/// - The policy's certificate chain and key are presented whenever a server asks for a
///   certificate; the key must match the first certificate of the chain.
/// - Servers are verified as [`client_trust`] describes (`trusted_dir`, `revoked_dir`,
///   `verify_hostname`, `trust_all`).
/// - `session_resumption=false` turns the client's session cache off too.
pub(crate) fn build(
    backend: &RustlsBackend,
    policy: &ServerPolicy,
    options: &ClientOptions,
) -> Result<ClientConfig, BackendError> {
    let name = tls_policy_backend::TlsBackend::name(backend);
    let versions = server_config::protocol_versions(&policy.tls_versions)?;
    let provider =
        server_config::select_ciphers(backend.provider(), policy.ciphers.as_deref(), name)?;
    server_config::check_versions_have_suites(&provider, &policy.tls_versions)?;
    check_alpn(options)?;

    let key = server_config::certified_key(&provider, policy, name)?;
    let verifier =
        peer_admission::gate_servers(policy, options, client_trust::build(policy, &provider)?);
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|err| BackendError::Rejected {
            setting: "tls_versions",
            message: err.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(key)));

    config.alpn_protocols = options.alpn_protocols.clone();
    if !policy.session_resumption {
        config.resumption = Resumption::disabled();
    }
    Ok(config)
}

/// Refuses an ALPN protocol the wire format cannot carry (1 to 255 bytes each).
fn check_alpn(options: &ClientOptions) -> Result<(), BackendError> {
    match options
        .alpn_protocols
        .iter()
        .find(|proto| proto.is_empty() || proto.len() > 255)
    {
        Some(proto) => Err(BackendError::Rejected {
            setting: "alpn_protocols",
            message: format!(
                "ALPN protocol {:?} must be 1 to 255 bytes long",
                String::from_utf8_lossy(proto)
            ),
        }),
        None => Ok(()),
    }
}
