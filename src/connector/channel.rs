//! Building a [`TlsConnector`] for a configured channel: load its policy, compile the client side.

use tls_policy_backend::ClientOptions;

use super::TlsConnector;
use crate::channels::choose_backend;

use crate::config::{binding_key, Settings, LEGACY_POLICY};
use crate::load::load_bound_policy;
use crate::{Backend, Error, TlsChannels};

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
    ///
    /// The connector keeps the material read now. To dial with what the policy holds after a
    /// reload (a rotated CA, a new CRL), build it with [`TlsChannels::connector`] instead.
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
        let policy = dial_policy(settings, channel)?;
        let backend = choose_backend(settings, backend)?;
        // load_bound_policy validates every file and logs the policy's warnings.
        let loaded = load_bound_policy(settings, policy)?;
        let connector = backend.client_with(&loaded.policy, options, settings.record_cipher)?;
        let mut tls = TlsConnector::new(connector);
        if let Some(settings) = settings.channels.get(channel) {
            tls = tls.handshake_timeout(settings.handshake_timeout);
        }
        Ok(tls)
    }
}

impl TlsChannels {
    /// A connector that dials peers of `channel` with the material its policy serves now, and
    /// **follows reloads**: after [`TlsChannels::reload`] (by API, file watching or SIGHUP)
    /// replaces the policy's trusted CAs, CRLs or certificate, the next dial of this connector
    /// and of every clone uses them; handshakes in flight keep what they started with.
    ///
    /// The backend is the channels' own; the handshake timeout is the channel's
    /// `dbms.connector.<channel>.handshake_timeout`. Errors as [`TlsConnector::for_channel`]:
    /// the channel is not bound to a policy or is bound to the legacy system, or the backend
    /// cannot honour the policy's client side (naming the setting). A reload whose new material
    /// this connector's backend cannot honour is refused as a whole, and the policy keeps
    /// serving and dialling with what it had.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tls_policy::config::Settings;
    /// use tls_policy::connector::Target;
    /// use tls_policy::TlsChannels;
    /// use tower::ServiceExt;
    ///
    /// let settings = Settings::from_file("neo4j.conf", None)?;
    /// let channels = TlsChannels::load(&settings, None)?;
    /// let _watch = channels.watch()?; // reload when the policy's files change
    /// let cluster = channels.connector("cluster")?;
    /// let stream = cluster.oneshot(Target::new("core-2.example.net", 6000)).await?;
    /// # let _ = stream; Ok(()) }
    /// ```
    pub fn connector(&self, channel: &str) -> Result<TlsConnector, Error> {
        self.connector_with(channel, &ClientOptions::default())
    }

    /// Like [`TlsChannels::connector`], offering `options.alpn_protocols`.
    pub fn connector_with(
        &self,
        channel: &str,
        options: &ClientOptions,
    ) -> Result<TlsConnector, Error> {
        let settings = &self.reload.settings;
        let policy = dial_policy(settings, channel)?;
        let connector = self
            .reload
            .register_dialler(policy, options, |material, options| {
                self.backend
                    .client_with(material, options, settings.record_cipher)
            })?;
        let mut tls = TlsConnector::new(connector);
        if let Some(settings) = settings.channels.get(channel) {
            tls = tls.handshake_timeout(settings.handshake_timeout);
        }
        Ok(tls)
    }
}

/// The policy `channel` is dialled with, or why it cannot be dialled: not bound, or bound to
/// the legacy system (no trusted certificates to verify a server with).
fn dial_policy<'a>(settings: &'a Settings, channel: &str) -> Result<&'a str, Error> {
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
                 with TLS (set {})",
                settings.binding_hint(channel)
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
                settings
                    .channels
                    .get(channel)
                    .map_or_else(|| binding_key(channel), |c| c.key_at("ssl_policy"))
            ),
        });
    }
    Ok(policy)
}
