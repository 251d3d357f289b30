//! Every configured channel compiled for one backend: the entry point from a config to layers.
//!
//! ```no_run
//! use tls_policy::{config::Settings, TlsChannels};
//!
//! let settings = Settings::from_file("conf/neo4j.conf", None)?;
//! let channels = TlsChannels::load(&settings, None)?;
//! let bolt = channels.layer("bolt")?; // a tower Layer for the bolt channel
//! # let _ = bolt;
//! # Ok::<(), tls_policy::Error>(())
//! ```

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use tls_policy_backend::ServerOptions;

use crate::config::{Settings, StaplingSetting};
use crate::layer::HandshakeLimits;
use crate::load::{load_bound_policy, LoadedPolicy};
use crate::ocsp::serve::Staplers;
use crate::reload::ReloadState;
use crate::{Acceptor, Backend, Error, TlsLayer};

/// One channel's TLS, compiled: the policy it uses and its acceptor.
#[derive(Clone, Debug)]
pub struct ChannelTls {
    /// The channel name.
    pub channel: String,
    /// The policy's warnings from loading (group-readable key, trust_all, expired certificate...).
    pub warnings: Vec<String>,
    /// The compiled policy.
    pub acceptor: Acceptor,
}

/// The channels of a config that are bound to a policy, each compiled for one backend.
///
/// Each policy is loaded and validated once, however many channels share it. The settings and
/// listener options they were compiled with are kept, so that [`TlsChannels::reload`] and
/// [`TlsChannels::watch`] can re-read each policy's files and swap the new material into every
/// clone of its acceptors.
#[derive(Clone, Debug)]
pub struct TlsChannels {
    pub(crate) backend: Backend,
    pub(crate) channels: BTreeMap<String, ChannelTls>,
    pub(crate) reload: Arc<ReloadState>,
    /// The OCSP staplers of the stapling policies; they stop when the last clone is dropped.
    pub(crate) staplers: Arc<Staplers>,
}

impl TlsChannels {
    /// Loads, validates and compiles every bound channel of `settings`, each offering the ALPN
    /// protocols its `dbms.connector.<channel>.alpn` declares (default `h2,http/1.1` for the
    /// `https` channel and every channel of `kind=http`, none for the others).
    ///
    /// The backend is `backend` if given, else `dbms.ssl.backend`, else the first compiled in.
    pub fn load(settings: &Settings, backend: Option<Backend>) -> Result<Self, Error> {
        Self::load_with(settings, backend, |_| ServerOptions::default())
    }

    /// Like [`TlsChannels::load`], with per-channel listener options (ALPN, ...).
    ///
    /// Options that name ALPN protocols replace the channel's declared `alpn`; options with
    /// none keep it.
    ///
    /// A channel bound to `legacy` uses the legacy system (`neo4j.key` / `neo4j.cert` in
    /// `dbms.directories.certificates`, generated when both are missing; see
    /// `crate::load::legacy`). A policy with `allow_key_generation=true` and no key pair gets
    /// one generated for the loopback names, `dbms.connectors.default_advertised_address` and
    /// the listen hosts of the channels bound to it.
    pub fn load_with(
        settings: &Settings,
        backend: Option<Backend>,
        options_for: impl Fn(&str) -> ServerOptions,
    ) -> Result<Self, Error> {
        let backend = choose_backend(settings, backend)?;
        let mut loaded: BTreeMap<&str, LoadedPolicy> = BTreeMap::new();
        let mut channels = BTreeMap::new();
        let mut options = BTreeMap::new();
        for (name, channel) in &settings.channels {
            let Some(policy_name) = channel.policy.as_deref() else {
                continue;
            };
            let policy = match loaded.entry(policy_name) {
                Entry::Occupied(entry) => entry.into_mut(),
                // load_bound_policy logs the warnings.
                Entry::Vacant(entry) => entry.insert(load_bound_policy(settings, policy_name)?),
            };
            let mut channel_options = options_for(name);
            if channel_options.alpn_protocols.is_empty() {
                channel_options.alpn_protocols = channel.alpn_protocols();
            }
            if let Some(stapling) = &channel.ocsp_stapling {
                refuse_stapling_without_backend(backend, stapling)?;
                channel_options.ocsp_stapling = true;
            }
            let acceptor =
                backend.server_with(&policy.policy, &channel_options, settings.record_cipher)?;
            options.insert(name.clone(), channel_options);
            channels.insert(
                name.clone(),
                ChannelTls {
                    channel: name.clone(),
                    warnings: policy.warnings.clone(),
                    acceptor,
                },
            );
        }
        let staplers = Arc::new(Staplers::new());
        for (policy, loaded) in &loaded {
            let acceptors = stapling_acceptors(policy, settings, &options, &channels);
            if !acceptors.is_empty() {
                staplers.start(settings, &loaded.policy, acceptors);
            }
        }
        let serving = loaded
            .into_iter()
            .map(|(name, policy)| (name.to_owned(), policy.policy))
            .collect();
        if !channels.is_empty() {
            crate::observe::announce_record_aead(backend, settings.record_cipher);
        }
        let reload = Arc::new(ReloadState::new(settings.clone(), options, serving));
        Ok(TlsChannels {
            backend,
            channels,
            reload,
            staplers,
        })
    }

    /// The backend every channel was compiled for.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The settings the channels were loaded from (each channel's connector settings, its
    /// policy's settings), as kept for reloads.
    pub fn settings(&self) -> &Settings {
        &self.reload.settings
    }

    /// One channel's compiled TLS, if the channel is bound to a policy.
    pub fn channel(&self, channel: &str) -> Option<&ChannelTls> {
        self.channels.get(channel)
    }

    /// Every bound channel, by name.
    pub fn iter(&self) -> impl Iterator<Item = &ChannelTls> {
        self.channels.values()
    }

    /// A [`TlsLayer`] for `channel`; an error if the channel is not bound to a policy.
    ///
    /// The layer carries the channel's name (span field, metrics label) and its
    /// `handshake_timeout` and `max_concurrent_handshakes`.
    pub fn layer(&self, channel: &str) -> Result<TlsLayer, Error> {
        let limits = self.reload.settings.channels.get(channel).map(|settings| {
            HandshakeLimits::new(
                settings.handshake_timeout,
                settings.max_concurrent_handshakes,
            )
        });
        self.channel(channel)
            .map(|c| {
                let layer = TlsLayer::new(c.acceptor.clone()).with_channel(channel);
                match limits {
                    Some(limits) => layer.with_limits(limits),
                    None => layer,
                }
            })
            .ok_or_else(|| Error::Policy {
                policy: String::new(),
                setting: "ssl_policy",
                path: None,
                message: format!(
                    "channel '{channel}' is not bound to an SSL policy (set {})",
                    self.settings().binding_hint(channel)
                ),
            })
    }
}

/// The acceptors of `policy`'s channels compiled with OCSP stapling.
pub(crate) fn stapling_acceptors(
    policy: &str,
    settings: &Settings,
    options: &BTreeMap<String, ServerOptions>,
    channels: &BTreeMap<String, ChannelTls>,
) -> Vec<Acceptor> {
    channels
        .iter()
        .filter(|(name, _)| {
            settings
                .channels
                .get(*name)
                .and_then(|c| c.policy.as_deref())
                == Some(policy)
                && options.get(*name).is_some_and(|o| o.ocsp_stapling)
        })
        .map(|(_, tls)| tls.acceptor.clone())
        .collect()
}

/// `ocsp_stapling_enabled=true` on a backend that cannot staple: an error naming the line and
/// the backends that can (never a channel silently without the staple asked for).
pub fn refuse_stapling_without_backend(
    backend: Backend,
    stapling: &StaplingSetting,
) -> Result<(), Error> {
    if backend.capabilities().ocsp_stapling {
        return Ok(());
    }
    Err(Error::Config {
        source_location: stapling.source.clone(),
        key: stapling.key.clone(),
        message: format!(
            "OCSP stapling cannot be served by the {backend} backend (it does not staple); \
             the backends that can are rustls-aws-lc-rs and rustls-ring (choose one with \
             dbms.ssl.backend or --backend), or set it to false"
        ),
    })
}

/// Picks the backend: the caller's choice, else `dbms.ssl.backend` (an error naming the key's
/// `file:line` when that name is not compiled in), else the first compiled in.
pub fn choose_backend(settings: &Settings, explicit: Option<Backend>) -> Result<Backend, Error> {
    if let Some(backend) = explicit {
        return Ok(backend);
    }
    match &settings.backend {
        Some((name, source)) => Backend::from_name(name).map_err(|error| Error::Config {
            source_location: source.clone(),
            key: "dbms.ssl.backend".into(),
            message: error.to_string(),
        }),
        None => Backend::default_backend(),
    }
}
