//! What a reload needs, kept by `TlsChannels`: the settings and per-channel options the channels
//! were compiled with, the material each policy serves now, and the connectors that dial with it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tls_policy_backend::{ClientOptions, ServerOptions, ServerPolicy};

use crate::backend::WeakClientConnector;
use crate::config::Settings;
use crate::{ClientConnector, Error};

/// The inputs of a reload and the material in service, one lock serialising reloads.
pub(crate) struct ReloadState {
    /// The settings the channels were loaded from (paths resolved; not re-read).
    pub(crate) settings: Settings,
    /// Each bound channel's listener options (ALPN), as first compiled.
    pub(crate) options: BTreeMap<String, ServerOptions>,
    /// Each policy's bound channels, in name order.
    pub(crate) bound: BTreeMap<String, Vec<String>>,
    /// Each policy's material in service; held for the whole of a reload.
    serving: Mutex<BTreeMap<String, ServerPolicy>>,
    /// Each policy's connectors made by `TlsChannels::connector`, with the options they were
    /// compiled with; dropped connectors are pruned at the next registration or reload.
    diallers: Mutex<BTreeMap<String, Vec<Dialler>>>,
}

/// A connector that follows its policy's reloads, held weakly.
pub(crate) struct Dialler {
    /// The options it was compiled with (ALPN).
    pub(crate) options: ClientOptions,
    /// Its shared slot, while any clone of it lives.
    pub(crate) connector: WeakClientConnector,
}

impl ReloadState {
    /// Keeps `settings`, the channels' `options` and the policies `serving` now.
    pub(crate) fn new(
        settings: Settings,
        options: BTreeMap<String, ServerOptions>,
        serving: BTreeMap<String, ServerPolicy>,
    ) -> ReloadState {
        let mut bound: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for channel in options.keys() {
            if let Some(policy) = settings
                .channels
                .get(channel)
                .and_then(|c| c.policy.as_deref())
            {
                bound
                    .entry(policy.to_owned())
                    .or_default()
                    .push(channel.clone());
            }
        }
        ReloadState {
            settings,
            options,
            bound,
            serving: Mutex::new(serving),
            diallers: Mutex::new(BTreeMap::new()),
        }
    }

    /// Compiles a connector for `policy` from the material it serves now (with `compile`, given
    /// `options`) and registers it, so that reloads of the policy compile new material with the
    /// same options and swap it in. Holds the reload lock, so a reload cannot slip between
    /// reading the material and registering.
    pub(crate) fn register_dialler(
        &self,
        policy: &str,
        options: &ClientOptions,
        compile: impl FnOnce(&ServerPolicy, &ClientOptions) -> Result<ClientConnector, Error>,
    ) -> Result<ClientConnector, Error> {
        let serving = self.serving();
        let material = serving.get(policy).ok_or_else(|| Error::Policy {
            policy: policy.to_owned(),
            setting: "ssl_policy",
            path: None,
            message: "no channel of these TlsChannels serves this policy, so there is no \
                      material to dial with"
                .into(),
        })?;
        let connector = compile(material, options)?;
        let mut diallers = self.diallers();
        let registered = diallers.entry(policy.to_owned()).or_default();
        registered.retain(|dialler| dialler.connector.upgrade().is_some());
        registered.push(Dialler {
            options: options.clone(),
            connector: connector.downgrade(),
        });
        Ok(connector)
    }

    /// The live connectors of `policy`, with their options; dropped ones are forgotten. Call
    /// it with the reload lock ([`ReloadState::serving`]) held.
    pub(crate) fn live_diallers(&self, policy: &str) -> Vec<(ClientOptions, ClientConnector)> {
        let mut diallers = self.diallers();
        let Some(registered) = diallers.get_mut(policy) else {
            return Vec::new();
        };
        let mut live = Vec::with_capacity(registered.len());
        registered.retain(|dialler| match dialler.connector.upgrade() {
            Some(connector) => {
                live.push((dialler.options.clone(), connector));
                true
            }
            None => false,
        });
        live
    }

    fn diallers(&self) -> MutexGuard<'_, BTreeMap<String, Vec<Dialler>>> {
        self.diallers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the material in service; one reload at a time. A reload that panicked left the
    /// map consistent (it is written last), so a poisoned lock is still usable.
    pub(crate) fn serving(&self) -> MutexGuard<'_, BTreeMap<String, ServerPolicy>> {
        self.serving.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for ReloadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadState")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}
