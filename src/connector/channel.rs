//! Building a [`TlsConnector`] for a configured channel: load its policy, compile the client side.

use tls_policy_backend::ClientOptions;

use super::TlsConnector;
use crate::channels::choose_backend;
use crate::config::{Settings, LEGACY_POLICY};
use crate::load::load_bound_policy;
use crate::{Backend, Error};

impl TlsConnector {
    /// A connector that dials peers of `channel` (`cluster`, `backup`, ...) with the policy the
    /// channel is bound to, as spec §3 asks: the same policy it is served with.
    ///
    /// The policy is loaded and validated as for serving (files, permissions, trust anchors),
    /// then its client side is compiled for `backend` (else `dbms.ssl.backend`, else the first
    /// compiled in): the policy's certificate is presented, servers are verified against
    /// `trusted_dir` and `revoked_dir` (or `trust_all`), and `verify_hostname=true` checks the
    /// server's certificate against the host dialled. The handshake timeout is the channel's
    /// `dbms.connector.<channel>.handshake_timeout`. No ALPN is offered.
    ///
    /// Errors: the channel is not bound to a policy, or is bound to the legacy system (it has
    /// no trusted certificates to verify a server with); the policy fails validation; or the
    /// backend cannot honour it (e.g. CRLs on native-tls), naming the setting.
    pub fn for_channel(
        settings: &Settings,
        channel: &str,
        backend: Option<Backend>,
    ) -> Result<TlsConnector, Error> {
        Self::for_channel_with(settings, channel, backend, &ClientOptions::default())
    }

    /// Like [`TlsConnector::for_channel`], offering `options.alpn_protocols`.
    pub fn for_channel_with(
        settings: &Settings,
        channel: &str,
        backend: Option<Backend>,
        options: &ClientOptions,
    ) -> Result<TlsConnector, Error> {
        let bound = settings
            .channels
            .get(channel)
            .and_then(|c| c.policy.as_deref());
        let Some(policy) = bound else {
            return Err(Error::Policy {
                policy: String::new(),
                setting: "ssl_policy",
                path: None,
                message: format!(
                    "channel '{channel}' is not bound to an SSL policy, so it cannot be dialled \
                     with TLS (set {}=<policy>)",
                    binding_key(channel)
                ),
            });
        };
        if policy == LEGACY_POLICY {
            return Err(Error::Policy {
                policy: policy.to_owned(),
                setting: "ssl_policy",
                path: None,
                message: format!(
                    "channel '{channel}' is bound to the legacy system, which has no trusted \
                     certificates to verify a server with; bind {} to a policy with a \
                     trusted_dir to dial it",
                    binding_key(channel)
                ),
            });
        }
        let backend = choose_backend(settings, backend)?;
        // load_bound_policy validates every file and logs the policy's warnings.
        let loaded = load_bound_policy(settings, policy)?;
        let connector = backend.client(&loaded.policy, options)?;
        let mut tls = TlsConnector::new(connector);
        if let Some(settings) = settings.channels.get(channel) {
            tls = tls.handshake_timeout(settings.handshake_timeout);
        }
        Ok(tls)
    }
}

/// The key that binds `channel` to a policy, as an operator writes it.
fn binding_key(channel: &str) -> String {
    match channel {
        "cluster" => "causal_clustering.ssl_policy".to_owned(),
        "backup" => "dbms.backup.ssl_policy".to_owned(),
        other => format!("{other}.ssl_policy"),
    }
}
