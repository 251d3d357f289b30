//! Compiles a policy's client side into an OpenSSL client context.

use std::fmt;

use openssl::ssl::{SslContext, SslMethod, SslOptions, SslSessionCacheMode, SslVerifyMode};
use tls_policy_backend::{BackendError, ClientOptions, PeerGate, ServerPolicy};

use crate::capabilities::rejected;
use crate::trust::Verifier;
use crate::{alpn, ciphers, identity};

/// A policy's client side compiled for OpenSSL: runs client handshakes. Cheap to clone.
#[derive(Clone)]
pub struct OpensslConnector {
    pub(crate) context: SslContext,
    pub(crate) verifier: Verifier,
    pub(crate) verify_hostname: bool,
}

impl OpensslConnector {
    /// The OpenSSL context every handshake starts from.
    pub fn context(&self) -> &SslContext {
        &self.context
    }
}

impl fmt::Debug for OpensslConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpensslConnector")
            .field("verify_hostname", &self.verify_hostname)
            .finish_non_exhaustive()
    }
}

/// Builds the client context: the policy's certificate for servers that ask, servers verified
/// against `trusted_dir` (never the system roots), path links and CRLs like the server side
/// (or `trust_all`), versions and ciphers, ALPN.
pub(crate) fn build(
    policy: &ServerPolicy,
    options: &ClientOptions,
) -> Result<OpensslConnector, BackendError> {
    let mut builder = SslContext::builder(SslMethod::tls_client())
        .map_err(|err| rejected("private_key", err.to_string()))?;
    identity::configure(&mut builder, policy)?;
    ciphers::configure(&mut builder, policy)?;
    builder.set_options(SslOptions::NO_RENEGOTIATION);
    if !policy.session_resumption {
        builder.set_session_cache_mode(SslSessionCacheMode::OFF);
        builder.set_options(SslOptions::NO_TICKET);
    }
    if !options.alpn_protocols.is_empty() {
        builder
            .set_alpn_protos(&alpn::wire(&options.alpn_protocols)?)
            .map_err(|err| rejected("alpn_protocols", err.to_string()))?;
    }
    let gate = PeerGate::new(policy, options.peer_check.as_ref());
    let (verifier, store) = Verifier::new(policy, gate)?;
    builder.set_cert_store(store);
    builder.set_verify(SslVerifyMode::PEER);
    Ok(OpensslConnector {
        context: builder.build(),
        verifier,
        verify_hostname: policy.verify_hostname,
    })
}
