//! Reloading: re-read and validate a policy's files, compile them for every bound channel, and
//! swap them in together — or keep the material in service and report why.

use tls_policy_backend::{AllowedPeers, ServerPolicy};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::report::{
    AllowedPeersChange, PolicyReload, ReloadChange, ReloadError, ReloadFailure, ReloadReport,
};
use crate::channels::stapling_acceptors;
use crate::config::{AllowedPeersReload, Settings, LEGACY_POLICY};
use crate::load::legacy::legacy_key_path;
use crate::load::{bound_policy_would_generate, load_bound_policy};
use crate::{Acceptor, Error, TlsChannels};

impl TlsChannels {
    /// Re-reads every bound policy's key, chain, `trusted_dir`, `revoked_dir` and
    /// `session_ticket_keys` file, validates them
    /// as at start-up (permissions included), compiles them for the same backend and swaps each
    /// policy's new material into every clone of its channels' acceptors and of the connectors
    /// made by [`TlsChannels::connector`]: the next handshake or dial uses it; established
    /// connections keep their session. A stapling policy (`ocsp_stapling_enabled`) keeps its
    /// staple when the certificate is unchanged; with a new certificate it serves without one
    /// until its restarted background stapler fetches a response for it.
    ///
    /// Each policy is all-or-nothing: a broken one keeps serving its previous material, and is
    /// reported in [`ReloadError::failures`] (and logged with `tracing::error!`) while the others
    /// still reload. A reload never generates a key pair (`allow_key_generation` applies at
    /// start-up only). Reloads are serialised. This reads files and parses keys: from async
    /// code, call it through `tokio::task::spawn_blocking`.
    pub fn reload(&self) -> Result<ReloadReport, ReloadError> {
        self.reload_all(None)
    }

    /// Like [`TlsChannels::reload`], taking each bound policy's `allowed_peers` from
    /// `settings` (a config file read again, typically on SIGHUP): a narrowed list refuses new
    /// handshakes from peers it no longer admits, a widened one admits them. Established
    /// connections stay open, unless the new config says `allowed_peers_reload=all` for the
    /// policy: then those whose peer certificate the changed list refuses are closed (their
    /// next read or write fails; [`AllowedPeersChange::closed_live`] counts them). Every other setting of `settings` is not applied (a restart
    /// applies it). A policy missing from `settings` is refused, keeping what it serves; a
    /// policy whose files are broken keeps its previous material and its previous list.
    pub fn reload_with(&self, settings: &Settings) -> Result<ReloadReport, ReloadError> {
        self.reload_all(Some(settings))
    }

    fn reload_all(&self, settings: Option<&Settings>) -> Result<ReloadReport, ReloadError> {
        let mut reloaded = ReloadReport::default();
        let mut failures = Vec::new();
        for policy in self.reload.bound.keys() {
            let result = match settings.map(|settings| allowed_peers_in(settings, policy)) {
                None => self.reload_policy(policy),
                Some(Ok(update)) => self.reload_policy_logged(policy, Some(update)),
                Some(Err(error)) => {
                    log_failure(policy, &error);
                    Err(error)
                }
            };
            match result {
                Ok(done) => reloaded.policies.push(done),
                Err(error) => failures.push(ReloadFailure {
                    policy: policy.clone(),
                    error,
                }),
            }
        }
        if failures.is_empty() {
            Ok(reloaded)
        } else {
            Err(ReloadError { reloaded, failures })
        }
    }

    /// Reloads one policy, as [`TlsChannels::reload`] does each; an error names the setting and
    /// path of the broken file (or says that no channel here is bound to `policy`), and the
    /// policy keeps serving its previous material.
    pub fn reload_policy(&self, policy: &str) -> Result<PolicyReload, Error> {
        self.reload_policy_logged(policy, None)
    }

    /// Reloads `policy` with `allowed_peers` when given (else the list in force), and logs it.
    fn reload_policy_logged(
        &self,
        policy: &str,
        peers: Option<PeersUpdate>,
    ) -> Result<PolicyReload, Error> {
        let result = self.reload_policy_inner(policy, peers);
        match &result {
            Ok(done) => match done.change {
                ReloadChange::Replaced { .. } => tracing::info!(policy, "{done}"),
                ReloadChange::Unchanged { .. } => tracing::debug!(policy, "{done}"),
            },
            Err(error) => log_failure(policy, error),
        }
        result
    }

    fn reload_policy_inner(
        &self,
        policy: &str,
        peers: Option<PeersUpdate>,
    ) -> Result<PolicyReload, Error> {
        let state = &self.reload;
        let close_live = peers
            .as_ref()
            .is_some_and(|p| p.on_reload == AllowedPeersReload::All);
        let allowed_peers = peers.map(|p| p.list);
        let channels = state.bound.get(policy).ok_or_else(|| Error::Policy {
            policy: policy.to_owned(),
            setting: "ssl_policy",
            path: None,
            message: "cannot reload: no channel of these TlsChannels is bound to it".into(),
        })?;
        let mut serving = state.serving();
        refuse_generation(&state.settings, policy)?;
        let mut loaded = load_bound_policy(&state.settings, policy)?;
        // The list in force (the start-up one, or the last reload_with's) unless a new one is
        // given: a files-only reload never reverts it.
        let before = serving.get(policy).map(|p| p.allowed_peers.clone());
        if let Some(list) = allowed_peers.or_else(|| before.clone()) {
            loaded.policy.allowed_peers = list;
        }
        let mut peers_change = before
            .filter(|before| *before != loaded.policy.allowed_peers)
            .map(|before| AllowedPeersChange {
                before,
                after: loaded.policy.allowed_peers.clone(),
                closed_live: 0,
            });
        let previous_serial = serving
            .get(policy)
            .map(|p| leaf_serial(&p.cert_chain))
            .unwrap_or_default();
        let serial = leaf_serial(&loaded.policy.cert_chain);
        if let Some(current) = serving.get(policy) {
            refuse_revocation_off(&state.settings, current, &loaded.policy)?;
        }
        let change = match serving.get(policy) {
            Some(current) if same_material(current, &loaded.policy) => {
                ReloadChange::Unchanged { serial }
            }
            _ => {
                // Compile for every channel first; swap only when all compiled.
                let mut fresh: Vec<(&Acceptor, Acceptor)> = Vec::with_capacity(channels.len());
                for channel in channels {
                    let (Some(tls), Some(options)) =
                        (self.channels.get(channel), state.options.get(channel))
                    else {
                        continue;
                    };
                    fresh.push((
                        &tls.acceptor,
                        self.backend.server_with(
                            &loaded.policy,
                            options,
                            state.settings.record_cipher,
                        )?,
                    ));
                }
                // The connectors that dial with this policy follow it (compiled first too, so
                // a client side the backend cannot honour refuses the whole reload).
                let mut fresh_diallers = Vec::new();
                for (options, connector) in state.live_diallers(policy) {
                    let new = self.backend.client_with(
                        &loaded.policy,
                        &options,
                        state.settings.record_cipher,
                    )?;
                    fresh_diallers.push((connector, new));
                }
                // The staple in service stays with an unchanged certificate (a staple is only
                // taken for the certificate it was fetched for).
                if let Some(leaf) = loaded.policy.cert_chain.first() {
                    for (acceptor, new) in &fresh {
                        if let Some(staple) = acceptor.ocsp_staple() {
                            new.set_ocsp_staple(leaf.as_ref(), Some(staple));
                        }
                    }
                }
                for (acceptor, new) in &fresh {
                    acceptor.replace_with(new);
                }
                // Asked to (`allowed_peers_reload=all`): the changed list meets the live
                // connections too, once the new one is in force for every handshake.
                if let Some(change) = peers_change.as_mut().filter(|_| close_live) {
                    change.closed_live = fresh
                        .iter()
                        .map(|(acceptor, _)| acceptor.close_refused(change.after.as_ref()))
                        .sum();
                }
                for (connector, new) in &fresh_diallers {
                    connector.replace_with(new);
                }
                // A new certificate gets a new stapler (the old one stops); the same one keeps
                // its stapler.
                let stapling =
                    stapling_acceptors(policy, &state.settings, &state.options, &self.channels);
                if !stapling.is_empty() {
                    self.staplers
                        .start(&state.settings, &loaded.policy, stapling);
                }
                crate::observe::record_policy_expiry(&loaded.policy);
                log_ticket_keys(policy, serving.get(policy), &loaded.policy);
                serving.insert(policy.to_owned(), loaded.policy);
                ReloadChange::Replaced {
                    previous_serial,
                    serial,
                }
            }
        };
        Ok(PolicyReload {
            policy: policy.to_owned(),
            channels: channels.clone(),
            change,
            warnings: loaded.warnings,
            allowed_peers: peers_change,
        })
    }
}

/// A reload must not replace a vanished pair with a generated one: that is a start-up choice.
fn refuse_generation(settings: &crate::config::Settings, policy: &str) -> Result<(), Error> {
    if !bound_policy_would_generate(settings, policy) {
        return Ok(());
    }
    let path = if policy == LEGACY_POLICY {
        legacy_key_path(settings)
    } else {
        settings
            .policies
            .get(policy)
            .map(|p| p.private_key.clone())
            .unwrap_or_default()
    };
    Err(Error::Policy {
        policy: policy.to_owned(),
        setting: "private_key",
        path: Some(path),
        message: "neither the private key nor the certificate exists; a reload never generates \
                  a key pair (allow_key_generation applies at start-up only)"
            .into(),
    })
}

/// A reload never weakens a policy silently (spec §2, "Revocation"): one that would leave a
/// policy serving with CRLs without any (revocation checking off) is refused, and the policy
/// keeps its previous material, CRLs included. Turning revocation off is a deliberate act: a
/// restart does it.
fn refuse_revocation_off(
    settings: &crate::config::Settings,
    current: &ServerPolicy,
    loaded: &ServerPolicy,
) -> Result<(), Error> {
    if current.crls.is_empty() || !loaded.crls.is_empty() {
        return Ok(());
    }
    let path = settings
        .policies
        .get(&current.name)
        .map(|p| p.revoked_dir.clone());
    Err(Error::Policy {
        policy: current.name.clone(),
        setting: "revoked_dir",
        path,
        message: format!(
            "holds no CRL any more, which would switch revocation checking off (the policy \
             serves with {} CRL(s)); a reload never weakens a policy, so the previous material \
             and its CRLs stay in service: put a current CRL back, or restart to turn \
             revocation checking off deliberately",
            current.crls.len()
        ),
    })
}

/// Whether two loads hold the same key, chain, trust anchors, path links, CRLs and session-ticket
/// keys (a certificate moving between anchors and path links is a change).
fn same_material(a: &ServerPolicy, b: &ServerPolicy) -> bool {
    a.cert_chain == b.cert_chain
        && a.private_key.der.secret_der() == b.private_key.der.secret_der()
        && a.trusted == b.trusted
        && a.path_links == b.path_links
        && a.crls == b.crls
        && a.session_ticket_keys == b.session_ticket_keys
        && a.allowed_peers == b.allowed_peers
}

/// A policy's `allowed_peers` as a config read again gives it, and what to do to the live
/// connections when it changed.
struct PeersUpdate {
    list: Option<AllowedPeers>,
    on_reload: AllowedPeersReload,
}

/// The `allowed_peers` `settings` gives `policy`; an error when the policy is not in it.
fn allowed_peers_in(settings: &Settings, policy: &str) -> Result<PeersUpdate, Error> {
    if policy == LEGACY_POLICY {
        return Ok(PeersUpdate {
            list: None,
            on_reload: AllowedPeersReload::default(),
        });
    }
    match settings.policies.get(policy) {
        Some(p) => Ok(PeersUpdate {
            list: p.allowed_peers.clone(),
            on_reload: p.allowed_peers_reload,
        }),
        None => Err(Error::Policy {
            policy: policy.to_owned(),
            setting: "allowed_peers",
            path: None,
            message: "the new config has no such policy, so its allowed_peers cannot be \
             re-read; it keeps serving its previous material and list (removing a \
             policy takes a restart)"
                .into(),
        }),
    }
}

/// Says which key now seals session tickets when the shared keys changed (key names only:
/// they travel in every ticket; the secrets never reach a log).
fn log_ticket_keys(policy: &str, before: Option<&ServerPolicy>, after: &ServerPolicy) {
    let before = before.and_then(|p| p.session_ticket_keys.as_ref());
    let Some(keys) = &after.session_ticket_keys else {
        return;
    };
    if before != Some(keys) {
        tracing::info!(
            policy,
            keys = keys.len(),
            "session tickets now sealed with key {} ({} key(s) open them)",
            keys.current().name_hex(),
            keys.len()
        );
    }
}

/// The leaf's serial number as `:`-separated hex bytes, or `?` if it does not parse (the loader
/// already parsed it, so that does not happen).
fn leaf_serial(chain: &[rustls_pki_types::CertificateDer<'_>]) -> String {
    chain
        .first()
        .and_then(|leaf| X509Certificate::from_der(leaf.as_ref()).ok())
        .map(|(_, cert)| cert.raw_serial_as_string())
        .unwrap_or_else(|| "?".into())
}

/// Logs a refused reload with the policy, the setting and the path.
fn log_failure(policy: &str, error: &Error) {
    match error {
        Error::Policy {
            setting,
            path: Some(path),
            ..
        } => tracing::error!(
            policy,
            setting,
            path = %path.display(),
            "reload refused, still serving the previous material: {error}"
        ),
        Error::Policy { setting, .. } => tracing::error!(
            policy,
            setting,
            "reload refused, still serving the previous material: {error}"
        ),
        _ => tracing::error!(
            policy,
            "reload refused, still serving the previous material: {error}"
        ),
    }
}
