//! Compiles a [`ServerPolicy`] and [`ServerOptions`] into an OpenSSL server context.

use std::fmt;

use openssl::ssl::{
    AlpnError, SslContext, SslMethod, SslOptions, SslSessionCacheMode, SslVerifyMode,
};
use tls_policy_backend::{BackendError, ClientAuth, PeerGate, ServerOptions, ServerPolicy};

use crate::capabilities::{rejected, unsupported};
use crate::trust::Verifier;
use crate::{alpn, ciphers, identity};

/// A policy compiled for OpenSSL's server side: runs server handshakes. Cheap to clone
/// (reference counted).
#[derive(Clone)]
pub struct OpensslAcceptor {
    pub(crate) context: SslContext,
    pub(crate) verifier: Verifier,
    pub(crate) mode: SslVerifyMode,
}

impl OpensslAcceptor {
    /// The OpenSSL context every handshake starts from.
    pub fn context(&self) -> &SslContext {
        &self.context
    }
}

impl fmt::Debug for OpensslAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpensslAcceptor").finish_non_exhaustive()
    }
}

/// Refuses what this backend cannot honour, then builds the context.
pub(crate) fn build(
    policy: &ServerPolicy,
    options: &ServerOptions,
) -> Result<OpensslAcceptor, BackendError> {
    if options.ocsp_stapling {
        return Err(unsupported("ocsp_stapling_enabled", "true"));
    }
    if let Some(keys) = &policy.session_ticket_keys {
        let plural = if keys.len() == 1 { "" } else { "s" };
        return Err(unsupported(
            "session_ticket_keys",
            format!("{} shared key{plural}", keys.len()),
        ));
    }
    let mut builder = SslContext::builder(SslMethod::tls_server())
        .map_err(|err| rejected("private_key", err.to_string()))?;
    identity::configure(&mut builder, policy)?;
    ciphers::configure(&mut builder, policy)?;
    // The server's order of suites wins, as on the rustls backends.
    builder.set_options(SslOptions::CIPHER_SERVER_PREFERENCE | SslOptions::NO_RENEGOTIATION);

    // Sessions: the cache and tickets (TLS 1.2 tickets, TLS 1.3 PSK tickets), or neither.
    let context_id = format!("tls-policy:{}", policy.name);
    let sid = &context_id.as_bytes()[..context_id.len().min(32)];
    builder
        .set_session_id_context(sid)
        .map_err(|err| rejected("session_resumption", err.to_string()))?;
    if policy.session_resumption {
        builder.set_session_cache_mode(SslSessionCacheMode::SERVER);
    } else {
        builder.set_session_cache_mode(SslSessionCacheMode::OFF);
        builder.set_options(SslOptions::NO_TICKET);
        builder
            .set_num_tickets(0)
            .map_err(|err| rejected("session_resumption", err.to_string()))?;
    }

    if !options.alpn_protocols.is_empty() {
        let offered = alpn::wire(&options.alpn_protocols)?;
        builder.set_alpn_select_callback(move |_, client| {
            alpn::select(&offered, client).ok_or(AlpnError::NOACK)
        });
    }

    let gate = PeerGate::new(policy, options.peer_check.as_ref());
    if gate.is_some() && policy.client_auth == ClientAuth::None {
        // No client would send a certificate to match: the list could only be ignored (fail
        // open) or refuse everyone, so it is refused, as on the rustls backends.
        return Err(rejected(
            "allowed_peers",
            "client_auth=NONE asks clients for no certificate, so no client could be matched \
             against allowed_peers (or the application's peer check); set \
             client_auth=REQUIRE, or remove allowed_peers",
        ));
    }
    let (verifier, store) = Verifier::new(policy, gate)?;
    // A gate must see a certificate, so OPTIONAL acts as REQUIRE then (spec §2 allowed_peers).
    let mode = match policy.client_auth {
        ClientAuth::None => SslVerifyMode::NONE,
        ClientAuth::Optional if !verifier.gated() => SslVerifyMode::PEER,
        _ => SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
    };
    if mode != SslVerifyMode::NONE {
        for der in policy.trusted.iter().chain(&policy.path_links) {
            // The anchors' and path links' names in the CertificateRequest (as rustls sends
            // them), so clients pick the right certificate; a name OpenSSL cannot take is
            // only a hint lost.
            if let Ok(cert) = openssl::x509::X509::from_der(der.as_ref()) {
                let _ = builder.add_client_ca(&cert);
            }
        }
    }
    builder.set_cert_store(store);
    Ok(OpensslAcceptor {
        context: builder.build(),
        verifier,
        mode,
    })
}
