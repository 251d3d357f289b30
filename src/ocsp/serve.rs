//! OCSP stapling wired into serving: one background stapler per stapling policy, feeding every
//! acceptor of the policy's stapling channels, stopped with the channels, restarted on reload.
//!
//! The stapler runs on the tokio runtime the channels were loaded in (`tls-policy serve` and
//! library users alike); loaded outside one, the policy serves without a staple and says so.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tls_policy_backend::ServerPolicy;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::responder_urls;
use super::stapler::{run, Sink, Target};
use crate::config::{Settings, LEGACY_POLICY};
use crate::Acceptor;

/// The bound on one fetch (connect, request and answer); a responder that never answers costs
/// this, then the stapler backs off.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The staplers of one `TlsChannels`, by policy; dropping it stops them all.
#[derive(Debug)]
pub(crate) struct Staplers {
    /// The runtime the channels were loaded in: reloads come from other threads (the file
    /// watcher's), and their restarted staplers run there too.
    runtime: Option<tokio::runtime::Handle>,
    running: Mutex<BTreeMap<String, Running>>,
}

#[derive(Debug)]
struct Running {
    /// The end-entity certificate it staples for.
    cert: Vec<u8>,
    task: tokio::task::AbortHandle,
}

impl Drop for Staplers {
    fn drop(&mut self) {
        let running = self
            .running
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for (_, running) in std::mem::take(running) {
            running.task.abort();
        }
    }
}

impl Staplers {
    /// No stapler yet; they will run on the current tokio runtime, if any.
    pub(crate) fn new() -> Staplers {
        Staplers {
            runtime: tokio::runtime::Handle::try_current().ok(),
            running: Mutex::default(),
        }
    }

    /// Starts (or, with a new certificate, restarts) the stapler of `policy`, whose staple goes
    /// to every one of `acceptors` (the policy's stapling channels). With the certificate it
    /// already staples for, the running stapler carries on. Without an OCSP responder URL in
    /// the certificate, no issuer, or no tokio runtime, nothing is started and a warning says
    /// why (once per policy and certificate).
    pub(crate) fn start(
        &self,
        settings: &Settings,
        policy: &ServerPolicy,
        acceptors: Vec<Acceptor>,
    ) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(leaf) = policy.cert_chain.first() else {
            return;
        };
        if running
            .get(&policy.name)
            .is_some_and(|r| r.cert == leaf.as_ref() && !r.task.is_finished())
        {
            return;
        }
        if let Some(previous) = running.remove(&policy.name) {
            previous.task.abort();
        }
        let file = certificate_file(settings, &policy.name);
        let warn = |why: &str| warn_once(&policy.name, leaf.as_ref(), &file, why);
        match responder_urls(leaf.as_ref()) {
            Ok(urls) if !urls.is_empty() => {}
            Ok(_) => {
                return warn(
                    "the certificate names no OCSP responder (no OCSP URL in its Authority \
                     Information Access)",
                )
            }
            Err(error) => return warn(&error.to_string()),
        }
        let Some(issuer) = issuer_of(policy) else {
            return warn(
                "its issuer is neither the next certificate of the chain nor in trusted_dir, so \
                 no OCSP request can be made nor a response validated",
            );
        };
        let Some(runtime) = self
            .runtime
            .clone()
            .or_else(|| tokio::runtime::Handle::try_current().ok())
        else {
            return warn(
                "the channels were loaded outside a tokio runtime, so the background stapler \
                 cannot run",
            );
        };
        let target = Target {
            policy: policy.name.clone(),
            cert: leaf.to_vec(),
            issuer,
        };
        let sink: Sink = Arc::new(move |cert: &[u8], staple: Option<Vec<u8>>| {
            let mut applied = false;
            for acceptor in &acceptors {
                applied |= acceptor.set_ocsp_staple(cert, staple.clone());
            }
            applied
        });
        tracing::info!(
            policy = %policy.name,
            certificate = %file.display(),
            "OCSP stapling: fetching the certificate's status in the background"
        );
        let task = runtime
            .spawn(run(target, sink, FETCH_TIMEOUT))
            .abort_handle();
        running.insert(
            policy.name.clone(),
            Running {
                cert: leaf.to_vec(),
                task,
            },
        );
    }
}

/// The policy's certificate file, for messages.
pub(crate) fn certificate_file(settings: &Settings, policy: &str) -> PathBuf {
    if policy == LEGACY_POLICY {
        return crate::load::legacy::legacy_cert_path(settings);
    }
    settings
        .policies
        .get(policy)
        .map(|p| p.public_certificate.clone())
        .unwrap_or_default()
}

/// Serves without a staple, saying why once per policy and certificate.
fn warn_once(policy: &str, cert: &[u8], file: &std::path::Path, why: &str) {
    /// (policy, certificate DER) pairs already warned about.
    type Warned = HashSet<(String, Vec<u8>)>;
    static WARNED: OnceLock<Mutex<Warned>> = OnceLock::new();
    let first = WARNED
        .get_or_init(Mutex::default)
        .lock()
        .map(|mut warned| warned.insert((policy.to_owned(), cert.to_vec())))
        .unwrap_or(true);
    if first {
        tracing::warn!(
            policy,
            certificate = %file.display(),
            "OCSP stapling is on, but {why}: serving without a staple"
        );
    }
}

/// The issuer of the policy's leaf: the next certificate of the chain when it is the one, else
/// the certificate of trusted_dir (anchor or path link) whose subject is the leaf's issuer.
pub(crate) fn issuer_of(policy: &ServerPolicy) -> Option<Vec<u8>> {
    let leaf_der = policy.cert_chain.first()?;
    let (_, leaf) = X509Certificate::from_der(leaf_der.as_ref()).ok()?;
    let issuer_name = leaf.issuer().as_raw();
    policy
        .cert_chain
        .iter()
        .skip(1)
        .chain(&policy.trusted)
        .chain(&policy.path_links)
        .find(|candidate| {
            X509Certificate::from_der(candidate.as_ref())
                .is_ok_and(|(_, cert)| cert.subject().as_raw() == issuer_name)
        })
        .map(|issuer| issuer.to_vec())
}

/// What `check` says of a stapling policy: where its responder is, or why there is none
/// (public as [`crate::inspect::describe_stapling`]).
pub fn describe(policy: &ServerPolicy) -> String {
    let Some(leaf) = policy.cert_chain.first() else {
        return "no certificate".to_owned();
    };
    let urls = match responder_urls(leaf.as_ref()) {
        Ok(urls) if !urls.is_empty() => urls,
        Ok(_) => return "no OCSP responder URL in the certificate: no staple".to_owned(),
        Err(error) => return format!("{error}: no staple"),
    };
    if issuer_of(policy).is_none() {
        return format!(
            "responder {}, but the issuer is neither in the chain nor in trusted_dir: no staple",
            urls.join(", ")
        );
    }
    format!("responder {}", urls.join(", "))
}
