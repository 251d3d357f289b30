//! One policy from the lines given for it, in either form: its draft, its defaults applied and
//! paths resolved, and the checks that need only the policy itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tls_policy_backend::{AllowedPeers, CipherSuite, ClientAuth, TlsVersion};

use super::keys::PolicySuffix;
use super::model::{AllowedPeersReload, PolicySettings};
use super::resolve::Origin;
use super::scope::PolicyDefaults;
use super::values::PolicyValue;
use crate::error::{Error, Source};

/// One policy's settings as given, before defaults.
#[derive(Default)]
pub(super) struct PolicyDraft {
    pub(super) base_directory: Option<PathBuf>,
    pub(super) private_key: Option<PathBuf>,
    pub(super) private_key_password: Option<String>,
    pub(super) public_certificate: Option<PathBuf>,
    pub(super) trusted_dir: Option<PathBuf>,
    pub(super) revoked_dir: Option<PathBuf>,
    pub(super) client_auth: Option<ClientAuth>,
    pub(super) ciphers: Option<Vec<CipherSuite>>,
    pub(super) tls_versions: Option<Vec<TlsVersion>>,
    pub(super) allow_key_generation: Option<bool>,
    pub(super) trust_all: Option<bool>,
    pub(super) verify_hostname: Option<bool>,
    pub(super) session_resumption: Option<bool>,
    pub(super) session_ticket_keys: Option<PathBuf>,
    pub(super) allowed_peers: Option<AllowedPeers>,
    pub(super) allowed_peers_reload: Option<AllowedPeersReload>,
    pub(super) enabled: Option<bool>,
    pub(super) origins: BTreeMap<PolicySuffix, Origin>,
}

impl PolicyDraft {
    pub(super) fn apply(&mut self, value: PolicyValue) {
        match value {
            PolicyValue::BaseDirectory(v) => self.base_directory = Some(v),
            PolicyValue::PrivateKey(v) => self.private_key = Some(v),
            PolicyValue::PrivateKeyPassword(v) => self.private_key_password = Some(v),
            PolicyValue::PublicCertificate(v) => self.public_certificate = Some(v),
            PolicyValue::TrustedDir(v) => self.trusted_dir = Some(v),
            PolicyValue::RevokedDir(v) => self.revoked_dir = Some(v),
            PolicyValue::ClientAuth(v) => self.client_auth = Some(v),
            PolicyValue::Ciphers(v) => self.ciphers = Some(v),
            PolicyValue::TlsVersions(v) => self.tls_versions = Some(v),
            PolicyValue::AllowKeyGeneration(v) => self.allow_key_generation = Some(v),
            PolicyValue::TrustAll(v) => self.trust_all = Some(v),
            PolicyValue::VerifyHostname(v) => self.verify_hostname = Some(v),
            PolicyValue::SessionResumption(v) => self.session_resumption = Some(v),
            PolicyValue::SessionTicketKeys(v) => self.session_ticket_keys = Some(v),
            PolicyValue::AllowedPeers(v) => self.allowed_peers = Some(v),
            PolicyValue::AllowedPeersReload(v) => self.allowed_peers_reload = Some(v),
            PolicyValue::Enabled(v) => self.enabled = Some(v),
        }
    }
}

/// One policy with defaults applied and paths resolved, or the problem (with its file order).
pub(super) fn resolve_policy(
    home: &std::path::Path,
    name: &str,
    draft: &PolicyDraft,
    defaults: &PolicyDefaults,
) -> std::result::Result<PolicySettings, (usize, Error)> {
    let Some(base_directory) = draft
        .base_directory
        .as_ref()
        .or(defaults.base_directory.as_ref())
    else {
        let first = draft.origins.values().min_by_key(|origin| origin.order());
        let message = format!(
            "policy `{name}` has no base_directory: `dbms.ssl.policy.{name}.base_directory` is \
             mandatory and defines the policy"
        );
        return Err(match first {
            Some(origin) => (origin.order(), origin.error(message)),
            None => (
                0,
                Error::Config {
                    source_location: Source::Builder,
                    key: format!("dbms.ssl.policy.{name}.base_directory"),
                    message,
                },
            ),
        });
    };
    ticket_keys_need_resumption(name, draft)?;
    only_pins_under_trust_all(draft)?;
    let base_directory = home.join(base_directory);
    let in_base = |path: &Option<PathBuf>, default: &str| match path {
        Some(path) => base_directory.join(path),
        None => base_directory.join(default),
    };
    Ok(PolicySettings {
        name: name.to_owned(),
        private_key: in_base(&draft.private_key, "private.key"),
        private_key_password: draft.private_key_password.clone(),
        public_certificate: in_base(&draft.public_certificate, "public.crt"),
        trusted_dir: in_base(&draft.trusted_dir, "trusted"),
        revoked_dir: in_base(&draft.revoked_dir, "revoked"),
        client_auth: draft.client_auth.unwrap_or(defaults.client_auth),
        ciphers: draft.ciphers.clone(),
        tls_versions: draft
            .tls_versions
            .clone()
            .unwrap_or_else(|| vec![TlsVersion::Tls12, TlsVersion::Tls13]),
        allow_key_generation: draft.allow_key_generation.unwrap_or(false),
        trust_all: draft.trust_all.unwrap_or(false),
        verify_hostname: draft.verify_hostname.unwrap_or(defaults.verify_hostname),
        session_resumption: draft.session_resumption.unwrap_or(true),
        session_ticket_keys: draft
            .session_ticket_keys
            .as_ref()
            .map(|file| base_directory.join(file)),
        allowed_peers: draft.allowed_peers.clone(),
        allowed_peers_reload: draft.allowed_peers_reload.unwrap_or_default(),
        sources: draft
            .origins
            .iter()
            .map(|(suffix, origin)| (suffix.as_str(), origin.source.clone()))
            .collect(),
        base_directory,
    })
}

/// `allowed_peers` naming identities under `trust_all=true` is refused at its line: no chain
/// is verified then, so anyone can present a certificate with any name, SAN or subject, and a
/// `dns:`/`uri:`/`ip:`/`cn:`/`ou:` pattern would look like a restriction and be none. Pins
/// (`sha256:`, `spki-sha256:`) still restrict, and are accepted.
fn only_pins_under_trust_all(draft: &PolicyDraft) -> std::result::Result<(), (usize, Error)> {
    let (Some(list), Some(true)) = (&draft.allowed_peers, draft.trust_all) else {
        return Ok(());
    };
    let Some(origin) = draft.origins.get(&PolicySuffix::AllowedPeers) else {
        return Ok(());
    };
    if list.only_pins() {
        return Ok(());
    }
    Err((
        origin.order(),
        origin.error(
            "trust_all=true verifies no certificate chain, so anyone can present a certificate \
             with any name, SAN or subject: only sha256: and spki-sha256: pins restrict peers \
             then (set trust_all=false to match names)"
                .to_owned(),
        ),
    ))
}

/// `session_ticket_keys` with `session_resumption=false` is a contradiction (tickets are a way
/// of resuming): refused at the `session_ticket_keys` line, naming both settings, rather than
/// ignored, so that a fleet never silently loses the resumption it was configured for.
fn ticket_keys_need_resumption(
    name: &str,
    draft: &PolicyDraft,
) -> std::result::Result<(), (usize, Error)> {
    if draft.session_ticket_keys.is_none() || draft.session_resumption != Some(false) {
        return Ok(());
    }
    let Some(origin) = draft.origins.get(&PolicySuffix::SessionTicketKeys) else {
        return Ok(());
    };
    let where_off = match draft.origins.get(&PolicySuffix::SessionResumption) {
        Some(Origin {
            source: Source::File { line, .. },
            ..
        }) => format!(" (line {line})"),
        _ => String::new(),
    };
    Err((
        origin.order(),
        origin.error(format!(
            "session-ticket keys are set, but `dbms.ssl.policy.{name}.session_resumption=false`\
             {where_off} switches resumption (and so tickets) off; remove one of the two"
        )),
    ))
}
