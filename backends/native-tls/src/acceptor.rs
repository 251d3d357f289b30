//! Compiles a [`ServerPolicy`] and [`ServerOptions`] into a native-tls acceptor.

use std::fmt;

use native_tls::TlsAcceptor;
use tls_policy_backend::{BackendError, ServerOptions, ServerPolicy};

use crate::{capabilities, identity};

/// A policy compiled for native-tls: runs server handshakes. Cheap to clone (reference counted).
#[derive(Clone)]
pub struct NativeTlsAcceptor(pub(crate) tokio_native_tls::TlsAcceptor);

impl NativeTlsAcceptor {
    /// The underlying tokio-native-tls acceptor.
    pub fn inner(&self) -> &tokio_native_tls::TlsAcceptor {
        &self.0
    }
}

impl fmt::Debug for NativeTlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeTlsAcceptor").finish_non_exhaustive()
    }
}

/// Refuses what native-tls cannot honour, then builds the acceptor.
pub(crate) fn build(
    policy: &ServerPolicy,
    options: &ServerOptions,
) -> Result<NativeTlsAcceptor, BackendError> {
    let range = capabilities::check(policy)?;
    if options.ocsp_stapling {
        return Err(capabilities::unsupported("ocsp_stapling_enabled", "true"));
    }
    if options.peer_check.is_some() {
        return Err(capabilities::unsupported(
            "peer_check",
            "an application's rule for clients",
        ));
    }
    let alpn = alpn_protocols(options)?;
    let identity = identity::identity(policy)?;

    let mut builder = TlsAcceptor::builder(identity);
    builder
        .min_protocol_version(Some(range.min))
        .max_protocol_version(range.max);
    if !alpn.is_empty() {
        builder.accept_alpn(&alpn);
    }
    let acceptor = builder.build().map_err(|err| BackendError::Rejected {
        setting: "private_key",
        message: err.to_string(),
    })?;
    Ok(NativeTlsAcceptor(acceptor.into()))
}

/// The ALPN protocols as the `&str`s native-tls wants: each non-empty, UTF-8, at most 255 bytes.
fn alpn_protocols(options: &ServerOptions) -> Result<Vec<&str>, BackendError> {
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
