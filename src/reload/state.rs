//! What a reload needs, kept by `TlsChannels`: the settings and per-channel options the channels
//! were compiled with, and the material each policy serves now.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tls_policy_backend::{ServerOptions, ServerPolicy};

use crate::config::Settings;

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
        }
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
