//! Gathering parsed settings into [`Settings`]: duplicates, defaults, paths, and cross-checks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tls_policy_backend::{ClientAuth, RecordCipher};

use super::keys::{
    connector_key, PolicySuffix, Target, CUSTOM_SCOPES_KEY, LEGACY_POLICY, SCOPES,
    SERVER_CONNECTORS, SERVER_PREFIX,
};
use super::model::{
    ChannelSettings, ConfigForm, ConnectorKind, KeyForm, PolicySettings, Settings, StaplingSetting,
    TlsLevel, WrittenKey, DEFAULT_FIRST_RECORD_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_HTTP_HEADER_READ_TIMEOUT, DEFAULT_HTTP_IDLE_TIMEOUT, DEFAULT_MAX_CONCURRENT_HANDSHAKES,
    DEFAULT_MAX_PENDING_HANDSHAKES, DEFAULT_MAX_PENDING_PER_ADDRESS,
};
use super::named::{self, unbound_scope_named_policies, undefined_policy};
use super::policies::{resolve_policy, PolicyDraft};
use super::proxy::{Network, ProxyProtocol};
use super::scope::{self, not_enabled_warning, scope_policy, Marker, PolicyDefaults};
use super::values::{ConnectorValue, ListenAddress, Setting};
use crate::error::{Error, Result, Source};

/// `dbms.connectors.default_listen_address` when not set.
pub(crate) const DEFAULT_LISTEN_ADDRESS: &str = "127.0.0.1";
/// `dbms.connectors.default_advertised_address` when not set.
pub(crate) const DEFAULT_ADVERTISED_ADDRESS: &str = "localhost";
/// `dbms.directories.certificates` when not set, under home.
pub(crate) const DEFAULT_CERTIFICATES_DIRECTORY: &str = "certificates";

/// What a second value for the same setting means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Duplicates {
    /// An error naming both places: in a file, a key given twice is a mistake.
    Refuse,
    /// The later value replaces the earlier: in code, setting again is overriding.
    LastWins,
}

/// Where a setting was written and the key it was written as.
#[derive(Clone, Debug)]
pub(super) struct Origin {
    pub(super) source: Source,
    pub(super) key: String,
}

impl Origin {
    pub(super) fn marker(&self) -> Marker<'_> {
        Marker {
            source: &self.source,
            key: &self.key,
        }
    }

    /// The key as written and where, as [`ChannelSettings::written`] keeps it.
    pub(super) fn written(&self) -> WrittenKey {
        WrittenKey {
            key: self.key.clone(),
            source: self.source.clone(),
        }
    }

    pub(super) fn error(&self, message: impl Into<String>) -> Error {
        Error::Config {
            source_location: self.source.clone(),
            key: self.key.clone(),
            message: message.into(),
        }
    }

    /// File order; builder settings all sort first, in call order.
    pub(super) fn order(&self) -> usize {
        match &self.source {
            Source::File { line, .. } => *line,
            Source::Builder => 0,
        }
    }
}

/// One channel's settings as given.
#[derive(Default)]
struct ChannelDraft {
    binding: Option<(String, Origin)>,
    enabled: Option<bool>,
    listen: Option<(ListenAddress, Origin)>,
    tls_level: Option<(TlsLevel, Origin)>,
    kind: Option<ConnectorKind>,
    handshake_timeout: Option<Duration>,
    max_concurrent_handshakes: Option<usize>,
    first_record_timeout: Option<Duration>,
    max_pending_handshakes: Option<usize>,
    max_pending_per_address: Option<usize>,
    http_header_read_timeout: Option<Duration>,
    http_idle_timeout: Option<Duration>,
    proxy_protocol: Option<(ProxyProtocol, Origin)>,
    proxy_protocol_trusted: Option<Vec<Network>>,
    ocsp_stapling: Option<(bool, Origin)>,
    alpn: Option<Vec<String>>,
    /// Every connector setting written, by suffix: the key as written and where.
    written: BTreeMap<&'static str, Origin>,
}

impl ChannelDraft {
    fn apply(&mut self, value: ConnectorValue, origin: Origin) {
        self.written.insert(value.suffix().as_str(), origin.clone());
        match value {
            ConnectorValue::Enabled(enabled) => self.enabled = Some(enabled),
            ConnectorValue::ListenAddress(address) => self.listen = Some((address, origin)),
            ConnectorValue::TlsLevel(level) => self.tls_level = Some((level, origin)),
            ConnectorValue::Kind(kind) => self.kind = Some(kind),
            ConnectorValue::HandshakeTimeout(timeout) => self.handshake_timeout = Some(timeout),
            ConnectorValue::MaxConcurrentHandshakes(n) => {
                self.max_concurrent_handshakes = Some(n);
            }
            ConnectorValue::FirstRecordTimeout(timeout) => {
                self.first_record_timeout = Some(timeout);
            }
            ConnectorValue::MaxPendingHandshakes(n) => self.max_pending_handshakes = Some(n),
            ConnectorValue::MaxPendingPerAddress(n) => self.max_pending_per_address = Some(n),
            ConnectorValue::HttpHeaderReadTimeout(timeout) => {
                self.http_header_read_timeout = Some(timeout);
            }
            ConnectorValue::HttpIdleTimeout(timeout) => self.http_idle_timeout = Some(timeout),
            ConnectorValue::ProxyProtocol(protocol) => {
                self.proxy_protocol = Some((protocol, origin));
            }
            ConnectorValue::ProxyProtocolTrusted(networks) => {
                self.proxy_protocol_trusted = Some(networks);
            }
            ConnectorValue::OcspStaplingEnabled(on) => self.ocsp_stapling = Some((on, origin)),
            ConnectorValue::Alpn(names) => self.alpn = Some(names),
        }
    }

    /// The listen address, unless the connector is switched off (`enabled=false`, or unset
    /// where `enabled_by_default` is false).
    fn served_listen(
        &self,
        channel: &str,
        enabled_by_default: bool,
    ) -> Option<&(ListenAddress, Origin)> {
        let listen = self.listen.as_ref()?;
        if !self.enabled.unwrap_or(enabled_by_default) {
            tracing::debug!(
                channel,
                key = %listen.1.key,
                "connector switched off with enabled=false: its listen_address is ignored"
            );
            return None;
        }
        Some(listen)
    }
}

/// Settings collected one at a time, turned into [`Settings`] by [`Draft::finish`].
pub(crate) struct Draft {
    home: PathBuf,
    duplicates: Duplicates,
    seen: BTreeMap<Target, Origin>,
    policies: BTreeMap<String, PolicyDraft>,
    channels: BTreeMap<String, ChannelDraft>,
    default_listen_address: Option<String>,
    default_advertised_address: Option<String>,
    certificates_directory: Option<PathBuf>,
    backend: Option<(String, Source)>,
    record_cipher: Option<RecordCipher>,
    tls_reload_enabled: Option<bool>,
    /// `dbms.ssl.custom_scopes`: the application's own scopes, and where they were declared.
    custom_scopes: Option<(Vec<String>, Origin)>,
    /// The first binding line: the named form.
    named_marker: Option<Origin>,
    /// Whether any 5.x `server.*` key was read.
    server_keys: bool,
    warnings: Vec<String>,
}

impl Draft {
    /// An empty draft whose relative paths will resolve against `home`.
    pub(crate) fn new(home: PathBuf, duplicates: Duplicates) -> Draft {
        Draft {
            home,
            duplicates,
            seen: BTreeMap::new(),
            policies: BTreeMap::new(),
            channels: BTreeMap::new(),
            default_listen_address: None,
            default_advertised_address: None,
            certificates_directory: None,
            backend: None,
            record_cipher: None,
            tls_reload_enabled: None,
            custom_scopes: None,
            named_marker: None,
            server_keys: false,
            warnings: Vec::new(),
        }
    }

    /// Adds one setting, written as `key` at `source`.
    pub(crate) fn set(&mut self, setting: Setting, source: Source, key: String) -> Result<()> {
        let origin = Origin { source, key };
        let target = setting.target();
        if let Target::Policy { policy, .. } = &target {
            if policy == LEGACY_POLICY {
                return Err(origin.error(named::reserved_legacy_name()));
            }
        }
        // Whether a policy line is of a scope is known only once the whole file is read
        // (`dbms.ssl.custom_scopes` may come later): see `Draft::form_markers`.
        if let Target::Binding { .. } = &target {
            self.named_marker.get_or_insert_with(|| origin.clone());
        }
        if origin.key.starts_with(SERVER_PREFIX) {
            self.server_keys = true;
        }
        if let Some(first) = self.seen.get(&target) {
            if self.duplicates == Duplicates::Refuse {
                let spelled = if first.key == origin.key {
                    String::new()
                } else {
                    format!(" as `{}`", first.key)
                };
                return Err(origin.error(format!(
                    "given twice: first at {}{spelled}, again at {}; keep one",
                    first.source, origin.source
                )));
            }
        }
        self.seen.insert(target, origin.clone());
        match setting {
            Setting::Policy { policy, value } => {
                let draft = self.policies.entry(policy).or_default();
                draft.origins.insert(value.suffix(), origin);
                draft.apply(value);
            }
            Setting::Binding { channel, policy } => {
                self.channels.entry(channel).or_default().binding = Some((policy, origin));
            }
            Setting::Connector { channel, value } => {
                self.channels
                    .entry(channel)
                    .or_default()
                    .apply(value, origin);
            }
            Setting::DefaultListenAddress(host) => self.default_listen_address = Some(host),
            Setting::DefaultAdvertisedAddress(host) => {
                self.default_advertised_address = Some(host);
            }
            Setting::CertificatesDirectory(dir) => self.certificates_directory = Some(dir),
            Setting::Backend(name) => self.backend = Some((name, origin.source)),
            Setting::RecordCipher(value) => self.record_cipher = Some(value),
            Setting::TlsReloadEnabled(enabled) => self.tls_reload_enabled = Some(enabled),
            Setting::NettySslProvider(provider) => self.warnings.push(format!(
                "{}: {}={provider}: accepted and ignored: it chooses the framework's Netty SSL \
                 engine; here `dbms.ssl.backend` (or --backend) chooses the TLS backend",
                origin.source, origin.key
            )),
            Setting::CustomScopes(names) => self.custom_scopes = Some((names, origin)),
        }
        Ok(())
    }

    /// Whether `name` is a scope: one of the framework's, or declared in `dbms.ssl.custom_scopes`.
    fn is_scope(&self, name: &str) -> bool {
        SCOPES.contains(&name)
            || self
                .custom_scopes
                .as_ref()
                .is_some_and(|(names, _)| names.iter().any(|n| n == name))
    }

    /// The custom scope names declared (none without `dbms.ssl.custom_scopes`).
    fn custom_scope_names(&self) -> &[String] {
        self.custom_scopes
            .as_ref()
            .map_or(&[], |(names, _)| names.as_slice())
    }

    /// The first line of each form, with the whole file read: the scope form's (an `enabled`
    /// line of a scope, or `dbms.ssl.custom_scopes`) and the named form's (a binding line, or a
    /// line of a policy whose name is not a scope). `enabled` on a name that is no scope is the
    /// error of the first such line.
    fn form_markers(&self) -> Result<(Option<&Origin>, Option<&Origin>)> {
        fn first<'a>(a: Option<&'a Origin>, b: &'a Origin) -> Option<&'a Origin> {
            match a {
                Some(a) if a.order() <= b.order() => Some(a),
                _ => Some(b),
            }
        }
        let mut scope_marker = self.custom_scopes.as_ref().map(|(_, origin)| origin);
        let mut named_marker = self.named_marker.as_ref();
        let mut not_a_scope: Option<(&str, &Origin)> = None;
        for (name, draft) in &self.policies {
            let enabled = draft.origins.get(&PolicySuffix::Enabled);
            if self.is_scope(name) {
                if let Some(origin) = enabled {
                    scope_marker = first(scope_marker, origin);
                }
                continue;
            }
            if let Some(origin) = enabled {
                if not_a_scope.is_none_or(|(_, o)| origin.order() < o.order()) {
                    not_a_scope = Some((name, origin));
                }
            }
            if let Some(origin) = draft.origins.values().min_by_key(|o| o.order()) {
                named_marker = first(named_marker, origin);
            }
        }
        if let Some((name, origin)) = not_a_scope {
            return Err(origin.error(scope::not_a_scope(name, self.custom_scope_names())));
        }
        Ok((scope_marker, named_marker))
    }

    /// Applies defaults, resolves paths and checks what needs the whole config: every policy
    /// has a base_directory, every bound policy exists, every TLS listener has a policy. Of
    /// several problems, the one written first is reported.
    pub(crate) fn finish(mut self) -> Result<Settings> {
        let (scope_marker, named_marker) = self.form_markers()?;
        let form = scope::decide_form(
            scope_marker.map(Origin::marker),
            named_marker.map(Origin::marker),
            !self.policies.is_empty(),
        )?;
        let custom_scopes = self.custom_scope_names().to_vec();
        let mut problems: Vec<(usize, Error)> = Vec::new();
        let mut warnings = std::mem::take(&mut self.warnings);
        let certificates_directory = self.home.join(
            self.certificates_directory
                .clone()
                .unwrap_or_else(|| DEFAULT_CERTIFICATES_DIRECTORY.into()),
        );

        let mut policies = BTreeMap::new();
        for (name, draft) in self.policies.iter() {
            let defaults = if form == ConfigForm::Scope {
                match scope_policy(name, draft, &certificates_directory) {
                    Ok(Some(defaults)) => defaults,
                    Ok(None) => {
                        warnings.extend(not_enabled_warning(name, draft));
                        continue;
                    }
                    Err(problem) => {
                        problems.push(problem);
                        continue;
                    }
                }
            } else {
                PolicyDefaults::named()
            };
            match resolve_policy(&self.home, name, draft, &defaults) {
                Ok(policy) => {
                    policies.insert(name.clone(), policy);
                }
                Err(problem) => problems.push(problem),
            }
        }
        if form == ConfigForm::Scope {
            // The scope is the channel: each enabled policy secures the channel of its name.
            for (name, draft) in &self.policies {
                if let (Some(true), Some(origin)) =
                    (draft.enabled, draft.origins.get(&PolicySuffix::Enabled))
                {
                    self.channels.entry(name.clone()).or_default().binding =
                        Some((name.clone(), origin.clone()));
                }
            }
            // A custom scope declared and never switched on secures nothing: said.
            if let Some((names, origin)) = &self.custom_scopes {
                for name in names {
                    if !self.policies.contains_key(name) {
                        warnings.push(format!(
                            "{}: {}: custom scope `{name}` is declared but its policy is not \
                             switched on (`dbms.ssl.policy.{name}.enabled=true` is missing), so \
                             channel `{name}` has no policy",
                            origin.source, origin.key
                        ));
                    }
                }
            }
        }

        let default_listen_address = self
            .default_listen_address
            .unwrap_or_else(|| DEFAULT_LISTEN_ADDRESS.to_owned());
        let mut channels = BTreeMap::new();
        let mut bolt_tls_level_default = None;
        if form == ConfigForm::Scope
            && self
                .channels
                .get("http")
                .is_some_and(|c| c.binding.is_none())
        {
            // 4.x/5.x: `http` is no scope, and the framework's HTTP connector is plaintext by
            // definition (HTTPS is the `https` scope): not a channel of ours, as 5.x's
            // `server.http.*` is not.
            tracing::debug!("scope form: dbms.connector.http.* is the framework's plaintext HTTP connector; ignored");
            self.channels.remove("http");
        }
        // 5.x `server.bolt.ocsp_stapling_enabled` covers the Bolt and HTTP(S) connectors.
        let bolt_stapling = self
            .channels
            .get("bolt")
            .and_then(|bolt| bolt.ocsp_stapling.clone())
            .filter(|(_, origin)| origin.key.starts_with("server."));
        if let (Some(stapling), Some(https)) = (bolt_stapling, self.channels.get_mut("https")) {
            https.ocsp_stapling.get_or_insert(stapling);
        }
        let file_form = if self.server_keys {
            KeyForm::Server
        } else {
            KeyForm::Connector
        };
        for (name, draft) in self.channels {
            let spelling = Spelling::of(&name, &draft, file_form, &custom_scopes);
            if form == ConfigForm::Scope && draft.binding.is_none() {
                problems.extend(mistyped_scope_channel(&name, &draft, &custom_scopes));
            }
            if let Some((policy, origin)) = &draft.binding {
                if policy != LEGACY_POLICY && !self.policies.contains_key(policy) {
                    problems.push((
                        origin.order(),
                        undefined_policy(name.as_str(), policy, origin, &policies),
                    ));
                }
            }
            if name == "bolt" && draft.binding.is_some() && draft.tls_level.is_none() {
                bolt_tls_level_default = Some(spelling.key(&name, &draft, "tls_level"));
            }
            problems.extend(plaintext_past_client_auth(&name, &draft, &policies, form));
            problems.extend(proxy_without_trusted(&name, &draft, &spelling));
            let (channel, problem) = resolve_channel(
                &name,
                draft,
                &default_listen_address,
                form,
                &spelling,
                &mut warnings,
            );
            problems.extend(problem);
            channels.insert(name, channel);
        }
        if form == ConfigForm::Named {
            warnings.extend(unbound_scope_named_policies(&policies, &channels));
        }

        if let Some((_, first)) = problems.into_iter().min_by_key(|(order, _)| *order) {
            return Err(first);
        }
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        let any_tls_channel = channels.values().any(|c| c.policy.is_some());
        Ok(Settings {
            default_differences: scope::default_differences(
                form,
                &policies,
                bolt_tls_level_default,
                any_tls_channel,
                self.tls_reload_enabled.is_some(),
            ),
            certificates_directory,
            home: self.home,
            backend: self.backend,
            record_cipher: self.record_cipher.unwrap_or_default(),
            policies,
            channels,
            default_listen_address,
            default_advertised_address: self
                .default_advertised_address
                .unwrap_or_else(|| DEFAULT_ADVERTISED_ADDRESS.to_owned()),
            form,
            custom_scopes,
            tls_reload_enabled: self.tls_reload_enabled.unwrap_or(true),
            warnings,
        })
    }
}

/// How one channel's keys are spelled in messages: its [`KeyForm`], and whether it is a custom
/// scope (whose settings need no `dbms.connector.` fallback).
struct Spelling {
    form: KeyForm,
    custom_scope: bool,
}

impl Spelling {
    /// The spelling of channel `name`: as its first connector line is written; with none, as
    /// the file's lines are, where the channel has `server.*` keys at all.
    fn of(name: &str, draft: &ChannelDraft, file_form: KeyForm, custom_scopes: &[String]) -> Self {
        let custom_scope = custom_scopes.iter().any(|c| c == name);
        let own = draft
            .written
            .values()
            .min_by_key(|origin| origin.order())
            .map(|origin| {
                if origin.key.starts_with(SERVER_PREFIX) {
                    KeyForm::Server
                } else {
                    KeyForm::Connector
                }
            });
        let has_server_keys = custom_scope
            || SERVER_CONNECTORS.contains(&name)
            || ["cluster", "backup"].contains(&name);
        let form = own.unwrap_or(if has_server_keys {
            file_form
        } else {
            KeyForm::Connector
        });
        Spelling { form, custom_scope }
    }

    /// The key of `suffix` for this channel: as written, or as this spelling writes it.
    fn key(&self, name: &str, draft: &ChannelDraft, suffix: &str) -> String {
        match draft.written.get(suffix) {
            Some(origin) => origin.key.clone(),
            None => connector_key(name, suffix, self.form),
        }
    }
}

/// One channel with defaults applied, and the problem (with its file order) of a TLS listener
/// without a policy.
fn resolve_channel(
    name: &str,
    draft: ChannelDraft,
    default_listen_address: &str,
    form: ConfigForm,
    spelling: &Spelling,
    warnings: &mut Vec<String>,
) -> (ChannelSettings, Option<(usize, Error)>) {
    let key = |suffix: &str| spelling.key(name, &draft, suffix);
    let tls_level = draft
        .tls_level
        .as_ref()
        .map(|(level, _)| *level)
        .unwrap_or_default();
    // 4.x/5.x: the HTTPS connector is off unless switched on (3.5 and ours: on).
    let enabled_by_default = !(form == ConfigForm::Scope && name == "https");
    if !enabled_by_default && draft.enabled.is_none() {
        if let Some((_, origin)) = &draft.listen {
            warnings.push(format!(
                "{}: {}: the https connector is off (in the 4.x/5.x form `{}` defaults to \
                 false), so this address is not served; set `{}=true` to serve HTTPS",
                origin.source,
                origin.key,
                key("enabled"),
                key("enabled"),
            ));
        }
    }
    let listen = draft.served_listen(name, enabled_by_default);
    let problem = match listen {
        Some((_, origin)) if tls_level != TlsLevel::Disabled && draft.binding.is_none() => {
            let binding_key = Target::Binding {
                channel: name.to_owned(),
            };
            let scope = SCOPES.contains(&name) || spelling.custom_scope;
            let how = match (form, scope) {
                (ConfigForm::Scope, true) => {
                    format!("switch its policy on with `dbms.ssl.policy.{name}.enabled=true`")
                }
                (ConfigForm::Scope, false) => format!(
                    "in the 4.x/5.x form an application's own channel is a custom scope: declare \
                     it with `{CUSTOM_SCOPES_KEY}={name}` and switch its policy on with \
                     `dbms.ssl.policy.{name}.enabled=true`"
                ),
                (ConfigForm::NoPolicies, true) => format!(
                    "switch its policy on with `dbms.ssl.policy.{name}.enabled=true` (4.x/5.x \
                     form) or bind one with `{binding_key}=<policy>` (3.5 form; `legacy` for \
                     the legacy system)"
                ),
                _ => format!(
                    "bind one with `{binding_key}=<policy>` (`legacy` for the legacy system)"
                ),
            };
            Some((
                origin.order(),
                origin.error(format!(
                    "channel `{name}` listens with tls_level {tls_level} but no policy is bound \
                     to it; {how}, or set `{}=DISABLED` for plaintext only",
                    key("tls_level")
                )),
            ))
        }
        _ => None,
    };
    let listen_address = listen.map(|(address, _)| address.complete(default_listen_address));
    let mut written: BTreeMap<&'static str, WrittenKey> = draft
        .written
        .iter()
        .map(|(suffix, origin)| (*suffix, origin.written()))
        .collect();
    if let Some((_, origin)) = &draft.binding {
        written.insert("ssl_policy", origin.written());
    }
    let kind = draft
        .kind
        .unwrap_or_else(|| ConnectorKind::default_for(name));
    let channel = ChannelSettings {
        name: name.to_owned(),
        policy: draft.binding.map(|(policy, _)| policy),
        listen_address,
        tls_level,
        kind,
        alpn: draft.alpn.unwrap_or_else(|| kind.default_alpn()),
        handshake_timeout: draft.handshake_timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT),
        max_concurrent_handshakes: draft
            .max_concurrent_handshakes
            .unwrap_or(DEFAULT_MAX_CONCURRENT_HANDSHAKES),
        first_record_timeout: draft
            .first_record_timeout
            .unwrap_or(DEFAULT_FIRST_RECORD_TIMEOUT),
        max_pending_handshakes: draft
            .max_pending_handshakes
            .unwrap_or(DEFAULT_MAX_PENDING_HANDSHAKES),
        max_pending_per_address: draft
            .max_pending_per_address
            .unwrap_or(DEFAULT_MAX_PENDING_PER_ADDRESS),
        http_header_read_timeout: draft
            .http_header_read_timeout
            .unwrap_or(DEFAULT_HTTP_HEADER_READ_TIMEOUT),
        http_idle_timeout: draft.http_idle_timeout.unwrap_or(DEFAULT_HTTP_IDLE_TIMEOUT),
        proxy_protocol: draft
            .proxy_protocol
            .map(|(protocol, _)| protocol)
            .unwrap_or_default(),
        proxy_protocol_trusted: draft.proxy_protocol_trusted.unwrap_or_default(),
        ocsp_stapling: draft
            .ocsp_stapling
            .filter(|(on, _)| *on)
            .map(|(_, origin)| StaplingSetting {
                key: origin.key,
                source: origin.source,
            }),
        written,
        key_form: spelling.form,
    };
    (channel, problem)
}

/// In the scope form, connector lines of a channel that is no scope but within a typo of one
/// (`dbms.connector.grcp.alpn` beside the custom scope `grpc`): they would configure a channel
/// nobody serves while the one meant stays unconfigured. Refused at the first such line.
/// (A channel far from every scope is the application's plaintext one, as ever.)
fn mistyped_scope_channel(
    name: &str,
    draft: &ChannelDraft,
    custom_scopes: &[String],
) -> Option<(usize, Error)> {
    if SCOPES.contains(&name) || custom_scopes.iter().any(|c| c == name) {
        return None;
    }
    let candidates = custom_scopes
        .iter()
        .map(String::as_str)
        .chain(SCOPES.iter().copied());
    let guess = super::suggest::closest(name, candidates, 2)
        .filter(|guess| super::suggest::edit_distance(name, guess) < guess.len().min(name.len()))?;
    let origin = draft.written.values().min_by_key(|origin| origin.order())?;
    let meant = origin
        .key
        .replacen(&format!(".{name}."), &format!(".{guess}."), 1);
    Some((
        origin.order(),
        origin.error(format!(
            "`{name}` is not a scope of this file (did you mean `{meant}`?); an application's \
             own channel in the 4.x/5.x form is declared with `{CUSTOM_SCOPES_KEY}={name}`"
        )),
    ))
}

/// `proxy_protocol` on without `proxy_protocol_trusted`: no source may send the header, so
/// every connection through the proxy would be refused. Refused at the `proxy_protocol` line.
fn proxy_without_trusted(
    channel: &str,
    draft: &ChannelDraft,
    spelling: &Spelling,
) -> Option<(usize, Error)> {
    let (protocol, origin) = draft.proxy_protocol.as_ref()?;
    if !protocol.is_on() || draft.proxy_protocol_trusted.is_some() {
        return None;
    }
    Some((
        origin.order(),
        origin.error(format!(
            "proxy_protocol={protocol} needs the networks its proxies connect from; set \
             `{}=<cidr>[,<cidr>...]` (e.g. 10.0.0.0/8)",
            spelling.key(channel, draft, "proxy_protocol_trusted")
        )),
    ))
}

/// `tls_level=OPTIONAL` on a channel whose policy authenticates clients is a contradiction: a
/// client that simply does not speak TLS presents no certificate and walks past `client_auth`.
/// Refused (spec §3, **ours**), naming both settings, at the `tls_level` line.
fn plaintext_past_client_auth(
    channel: &str,
    draft: &ChannelDraft,
    policies: &BTreeMap<String, PolicySettings>,
    form: ConfigForm,
) -> Option<(usize, Error)> {
    let (TlsLevel::Optional, origin) = draft.tls_level.as_ref()? else {
        return None;
    };
    let (policy_name, _) = draft.binding.as_ref()?;
    let policy = policies.get(policy_name)?;
    if policy.client_auth == ClientAuth::None {
        return None;
    }
    let client_auth_key = format!("dbms.ssl.policy.{policy_name}.client_auth");
    let where_set = match policy.sources.get(PolicySuffix::ClientAuth.as_str()) {
        Some(Source::Builder) => "set in code".to_owned(),
        Some(source) => format!("set at {source}"),
        None if form == ConfigForm::Scope => {
            format!("the framework's default for scope `{policy_name}`")
        }
        None => "the default".to_owned(),
    };
    let remedy = if form == ConfigForm::Scope {
        format!(
            "set `{client_auth_key}=NONE` to accept plaintext, or `{}=REQUIRED` for TLS only",
            origin.key
        )
    } else {
        format!(
            "use `{}=REQUIRED`, or bind the channel to a policy with client_auth=NONE \
             (`{client_auth_key}=NONE`)",
            origin.key
        )
    };
    Some((
        origin.order(),
        origin.error(format!(
            "channel `{channel}` accepts plaintext (tls_level=OPTIONAL), but its policy \
             `{policy_name}` authenticates clients (`{client_auth_key}={}`, {where_set}): a \
             client that does not speak TLS presents no certificate and would walk past client \
             authentication; {remedy}",
            policy.client_auth
        )),
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tls_policy_backend::TlsVersion;

    use super::*;

    use crate::config::test_support::{error, parse};

    /// One form of the framework's file: the lines that give the file its form and leave
    /// `channel` without a policy, and how that form spells the channel's keys.
    struct KeyCase {
        form: &'static str,
        head: &'static str,
        channel: &'static str,
        /// `listen_address`, `tls_level`, `proxy_protocol`, `proxy_protocol_trusted`, `enabled`.
        keys: [&'static str; 5],
    }

    const KEY_CASES: &[KeyCase] = &[
        KeyCase {
            form: "3.5",
            head: "dbms.ssl.policy.p.base_directory=p\nhttps.ssl_policy=p\n",
            channel: "bolt",
            keys: [
                "dbms.connector.bolt.listen_address",
                "dbms.connector.bolt.tls_level",
                "dbms.connector.bolt.proxy_protocol",
                "dbms.connector.bolt.proxy_protocol_trusted",
                "dbms.connector.bolt.enabled",
            ],
        },
        KeyCase {
            form: "4.x",
            head: "dbms.ssl.policy.https.enabled=true\n",
            channel: "bolt",
            keys: [
                "dbms.connector.bolt.listen_address",
                "dbms.connector.bolt.tls_level",
                "dbms.connector.bolt.proxy_protocol",
                "dbms.connector.bolt.proxy_protocol_trusted",
                "dbms.connector.bolt.enabled",
            ],
        },
        KeyCase {
            form: "5.x",
            head: "dbms.ssl.policy.https.enabled=true\n",
            channel: "bolt",
            keys: [
                "server.bolt.listen_address",
                "server.bolt.tls_level",
                "server.bolt.proxy_protocol",
                "server.bolt.proxy_protocol_trusted",
                "server.bolt.enabled",
            ],
        },
        KeyCase {
            form: "5.x custom scope",
            head: "dbms.ssl.custom_scopes=grpc\ndbms.ssl.policy.bolt.enabled=true\n",
            channel: "grpc",
            keys: [
                "server.grpc.listen_address",
                "server.grpc.tls_level",
                "server.grpc.proxy_protocol",
                "server.grpc.proxy_protocol_trusted",
                "server.grpc.enabled",
            ],
        },
        KeyCase {
            form: "4.x cluster",
            head: "dbms.ssl.policy.bolt.enabled=true\n",
            channel: "cluster",
            keys: [
                "causal_clustering.transaction_listen_address",
                "dbms.connector.cluster.tls_level",
                "dbms.connector.cluster.proxy_protocol",
                "dbms.connector.cluster.proxy_protocol_trusted",
                "dbms.connector.cluster.enabled",
            ],
        },
        KeyCase {
            form: "5.x cluster",
            head: "dbms.ssl.policy.bolt.enabled=true\n",
            channel: "cluster",
            keys: [
                "server.cluster.listen_address",
                "dbms.connector.cluster.tls_level",
                "dbms.connector.cluster.proxy_protocol",
                "dbms.connector.cluster.proxy_protocol_trusted",
                "dbms.connector.cluster.enabled",
            ],
        },
    ];

    #[test]
    fn errors_name_each_key_as_the_file_spells_it() {
        for case in KEY_CASES {
            let [listen, tls_level, proxy, trusted, enabled] = case.keys;
            let head_lines = case.head.lines().count();
            let at = |n: usize| format!("/etc/neo4j.conf:{}", head_lines + n);
            // A bad value: the key as written.
            let err = error(&format!("{}{tls_level}=MAYBE\n", case.head));
            assert_eq!(
                err,
                format!(
                    "{}: {tls_level}: invalid value 'MAYBE'; expected one of REQUIRED, \
                     OPTIONAL, DISABLED",
                    at(1)
                ),
                "{}",
                case.form
            );
            // A listener without a policy: at the address as written, the remedy in the
            // file's spelling.
            let err = error(&format!("{}{listen}=127.0.0.1:7000\n", case.head));
            assert!(
                err.starts_with(&format!(
                    "{}: {listen}: channel `{}` listens with tls_level REQUIRED",
                    at(1),
                    case.channel
                )),
                "{}: {err}",
                case.form
            );
            assert!(
                err.ends_with(&format!("or set `{tls_level}=DISABLED` for plaintext only")),
                "{}: {err}",
                case.form
            );
            // The PROXY protocol without its networks: the missing key in the file's spelling.
            let err = error(&format!("{}{tls_level}=DISABLED\n{proxy}=v2\n", case.head));
            assert_eq!(
                err,
                format!(
                    "{}: {proxy}: proxy_protocol=v2 needs the networks its proxies connect \
                     from; set `{trusted}=<cidr>[,<cidr>...]` (e.g. 10.0.0.0/8)",
                    at(2)
                ),
                "{}",
                case.form
            );
            // What the channel keeps: each key as written, with its line, and the unwritten
            // ones in the same spelling.
            let settings = parse(&format!(
                "{}{tls_level}=DISABLED\n{listen}=127.0.0.1:7000\n",
                case.head
            ))
            .unwrap();
            let channel = &settings.channels[case.channel];
            assert_eq!(channel.key("tls_level"), tls_level, "{}", case.form);
            assert_eq!(channel.key("listen_address"), listen, "{}", case.form);
            assert_eq!(
                channel.key_at("listen_address"),
                format!("{listen} ({})", at(2)),
                "{}",
                case.form
            );
            assert_eq!(channel.key("enabled"), enabled, "{}", case.form);
            assert_eq!(
                channel.key("proxy_protocol_trusted"),
                trusted,
                "{}",
                case.form
            );
        }
    }

    #[test]
    fn a_channel_without_lines_of_its_own_is_spelled_like_the_file() {
        let settings = parse(
            "dbms.ssl.policy.bolt.enabled=true\ndbms.ssl.policy.https.enabled=true\n\
             server.https.enabled=true\n",
        )
        .unwrap();
        let bolt = &settings.channels["bolt"];
        assert_eq!(bolt.key_form, KeyForm::Server);
        assert_eq!(bolt.key("tls_level"), "server.bolt.tls_level");
        assert_eq!(bolt.key("ssl_policy"), "dbms.ssl.policy.bolt.enabled");
        assert_eq!(
            settings.default_differences[4].key, "server.bolt.tls_level",
            "{:?}",
            settings.default_differences
        );
        let settings = parse("dbms.ssl.policy.p.base_directory=p\nbolt.ssl_policy=p\n").unwrap();
        let bolt = &settings.channels["bolt"];
        assert_eq!(bolt.key_form, KeyForm::Connector);
        assert_eq!(
            bolt.key("listen_address"),
            "dbms.connector.bolt.listen_address"
        );
        assert_eq!(
            bolt.key_at("ssl_policy"),
            "bolt.ssl_policy (/etc/neo4j.conf:2)"
        );
        assert_eq!(settings.binding_hint("grpc"), "grpc.ssl_policy=<policy>");
        let scope =
            parse("dbms.ssl.custom_scopes=grpc\ndbms.ssl.policy.bolt.enabled=true\n").unwrap();
        assert_eq!(
            scope.binding_hint("bolt"),
            "dbms.ssl.policy.bolt.enabled=true"
        );
        assert_eq!(
            scope.binding_hint("grpc"),
            "dbms.ssl.policy.grpc.enabled=true"
        );
        assert_eq!(
            scope.binding_hint("app"),
            "dbms.ssl.custom_scopes=app and dbms.ssl.policy.app.enabled=true"
        );
    }

    #[test]
    fn the_https_switch_warning_names_the_switch_as_the_file_spells_it() {
        for (listen, switch) in [
            ("server.https.listen_address", "server.https.enabled"),
            (
                "dbms.connector.https.listen_address",
                "dbms.connector.https.enabled",
            ),
        ] {
            let settings = parse(&format!(
                "dbms.ssl.policy.https.enabled=true\n{listen}=:7473\n"
            ))
            .unwrap();
            assert_eq!(
                settings.warnings,
                [format!(
                    "/etc/neo4j.conf:2: {listen}: the https connector is off (in the 4.x/5.x \
                     form `{switch}` defaults to false), so this address is not served; set \
                     `{switch}=true` to serve HTTPS"
                )]
            );
        }
    }

    #[test]
    fn builder_set_errors_name_the_key_as_given() {
        for key in ["server.bolt.tls_level", "dbms.connector.bolt.tls_level"] {
            let err = Settings::builder()
                .set(key, "MAYBE")
                .build()
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("builder: {key}: invalid value 'MAYBE'")),
                "{err}"
            );
        }
        let err = Settings::builder()
            .set("dbms.ssl.policy.https.enabled", "true")
            .set("server.bolt.listen_address", ":7687")
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("builder: server.bolt.listen_address: channel `bolt` listens"),
            "{err}"
        );
        assert!(err.contains("`server.bolt.tls_level=DISABLED`"), "{err}");
    }

    #[test]
    fn a_minimal_policy_gets_every_default() {
        let settings =
            parse("dbms.ssl.policy.client.base_directory=certificates/client\n").unwrap();
        let p = &settings.policies["client"];
        let base = Path::new("/var/lib/neo4j/certificates/client");
        assert_eq!(p.name, "client");
        assert_eq!(p.base_directory, base);
        assert_eq!(p.private_key, base.join("private.key"));
        assert_eq!(p.public_certificate, base.join("public.crt"));
        assert_eq!(p.trusted_dir, base.join("trusted"));
        assert_eq!(p.revoked_dir, base.join("revoked"));
        assert_eq!(p.private_key_password, None);
        assert_eq!(p.client_auth, ClientAuth::Require);
        assert_eq!(p.ciphers, None);
        assert_eq!(p.tls_versions, vec![TlsVersion::Tls12, TlsVersion::Tls13]);
        assert!(!p.allow_key_generation && !p.trust_all && !p.verify_hostname);
        assert!(p.session_resumption);
        assert_eq!(
            p.sources.keys().copied().collect::<Vec<_>>(),
            vec!["base_directory"]
        );
        assert_eq!(
            p.sources["base_directory"],
            Source::File {
                path: "/etc/neo4j.conf".into(),
                line: 1
            }
        );
        assert_eq!(settings.home, Path::new("/var/lib/neo4j"));
        assert_eq!(settings.backend, None);
        assert_eq!(settings.default_listen_address, "127.0.0.1");
        assert_eq!(settings.default_advertised_address, "localhost");
        assert_eq!(
            settings.certificates_directory,
            Path::new("/var/lib/neo4j/certificates")
        );
        assert!(settings.channels.is_empty());
    }

    #[test]
    fn every_policy_setting_is_read() {
        let settings = parse(
            "dbms.ssl.policy.p.base_directory=/etc/tls\n\
             dbms.ssl.policy.p.private_key=keys/server.key\n\
             dbms.ssl.policy.p.private_key_password=s3cret\n\
             dbms.ssl.policy.p.public_certificate=/elsewhere/server.crt\n\
             dbms.ssl.policy.p.trusted_dir=/etc/tls/ca\n\
             dbms.ssl.policy.p.revoked_dir=crl\n\
             dbms.ssl.policy.p.client_auth=optional\n\
             dbms.ssl.policy.p.ciphers=TLS_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n\
             dbms.ssl.policy.p.tls_versions=TLSv1.3\n\
             dbms.ssl.policy.p.allow_key_generation=TRUE\n\
             dbms.ssl.policy.p.trust_all=true\n\
             dbms.ssl.policy.p.verify_hostname=True\n\
             dbms.ssl.policy.p.session_resumption=FALSE\n",
        )
        .unwrap();
        let p = &settings.policies["p"];
        assert_eq!(p.base_directory, Path::new("/etc/tls"));
        assert_eq!(p.private_key, Path::new("/etc/tls/keys/server.key"));
        assert_eq!(p.private_key_password.as_deref(), Some("s3cret"));
        assert_eq!(p.public_certificate, Path::new("/elsewhere/server.crt"));
        assert_eq!(p.trusted_dir, Path::new("/etc/tls/ca"));
        assert_eq!(p.revoked_dir, Path::new("/etc/tls/crl"));
        assert_eq!(p.client_auth, ClientAuth::Optional);
        let ciphers: Vec<u16> = p.ciphers.iter().flatten().map(|c| c.code()).collect();
        assert_eq!(ciphers, vec![0x1301, 0xC02B]);
        assert_eq!(p.tls_versions, vec![TlsVersion::Tls13]);
        assert!(p.allow_key_generation && p.trust_all && p.verify_hostname);
        assert!(!p.session_resumption);
        assert_eq!(p.sources.len(), 13);
        assert_eq!(
            p.sources["verify_hostname"],
            Source::File {
                path: "/etc/neo4j.conf".into(),
                line: 12
            }
        );
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    #[test]
    fn session_ticket_keys_resolve_against_base_directory() {
        let settings = parse(
            "dbms.ssl.policy.p.base_directory=/etc/tls\n\
             dbms.ssl.policy.p.session_ticket_keys=ticket.keys\n\
             dbms.ssl.policy.q.base_directory=/etc/q\n\
             dbms.ssl.policy.q.session_ticket_keys=/run/secrets/fleet.keys\n",
        )
        .unwrap();
        assert_eq!(
            settings.policies["p"].session_ticket_keys.as_deref(),
            Some(Path::new("/etc/tls/ticket.keys"))
        );
        assert_eq!(
            settings.policies["q"].session_ticket_keys.as_deref(),
            Some(Path::new("/run/secrets/fleet.keys"))
        );
        assert_eq!(parse_default_keys(), None);
    }

    fn parse_default_keys() -> Option<PathBuf> {
        parse("dbms.ssl.policy.p.base_directory=/etc/tls\n")
            .unwrap()
            .policies["p"]
            .session_ticket_keys
            .clone()
    }

    #[test]
    fn allowed_peers_parse_in_every_form_and_by_the_builder() {
        let list = "uri:spiffe://example.org/ns/prod/sa/*, dns:*.internal, ip:10.0.0.0/8";
        let named = parse(&format!(
            "dbms.ssl.policy.p.base_directory=/etc/tls\ndbms.ssl.policy.p.allowed_peers={list}\n\
             bolt.ssl_policy=p\n"
        ))
        .unwrap();
        let p = &named.policies["p"];
        let parsed = p.allowed_peers.as_ref().expect("set");
        assert_eq!(parsed.patterns().len(), 3);
        assert_eq!(
            p.sources["allowed_peers"],
            Source::File {
                path: "/etc/neo4j.conf".into(),
                line: 2
            }
        );
        // 5.x (and 4.x) scope form: the same suffix under the scope.
        let scope = parse(&format!(
            "dbms.ssl.policy.bolt.enabled=true\ndbms.ssl.policy.bolt.allowed_peers={list}\n"
        ))
        .unwrap();
        assert_eq!(scope.policies["bolt"].allowed_peers.as_ref(), Some(parsed));
        // Unset: every verified peer.
        assert!(parse("dbms.ssl.policy.bolt.enabled=true\n")
            .unwrap()
            .policies["bolt"]
            .allowed_peers
            .is_none());
        let built = Settings::builder()
            .policy("p", |p| p.base_directory("/etc/tls").allowed_peers(list))
            .bind("bolt", "p")
            .build()
            .unwrap();
        assert_eq!(built.policies["p"].allowed_peers.as_ref(), Some(parsed));
        let e = Settings::builder()
            .policy("p", |p| {
                p.base_directory("/etc/tls").allowed_peers("dns:*.*.com")
            })
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dbms.ssl.policy.p.allowed_peers") && e.contains("dns:*.*.com"),
            "{e}"
        );
    }

    #[test]
    fn a_pattern_that_cannot_match_is_an_error_at_its_line() {
        for (pattern, reason) in [
            ("dns:ex*ample.com", "whole label"),
            ("dns:*.*.com", "leftmost"),
            ("ip:10.0.0.0/40", "prefix length"),
            ("ip:10.0.0.1/8", "host bits"),
            ("host:example.com", "unknown kind"),
            (
                "uri:spiffe://*.example.org/a",
                "never in the scheme or host",
            ),
            ("sha256:abcd", "64 hex digits"),
            ("", "empty"),
        ] {
            let e = error(&format!(
                "dbms.ssl.policy.p.base_directory=/etc/tls\n\
                 dbms.ssl.policy.p.allowed_peers=dns:ok.example,{pattern}\n"
            ));
            assert!(
                e.starts_with("/etc/neo4j.conf:2: dbms.ssl.policy.p.allowed_peers: "),
                "{pattern}: {e}"
            );
            assert!(e.contains(&format!("'{pattern}'")), "{pattern}: {e}");
            assert!(e.contains(reason), "{pattern}: {e}");
        }
        // The scope form says where too.
        let e =
            error("dbms.ssl.policy.bolt.enabled=true\ndbms.ssl.policy.bolt.allowed_peers=cn:*\n");
        assert!(
            e.starts_with("/etc/neo4j.conf:2: dbms.ssl.policy.bolt.allowed_peers: "),
            "{e}"
        );
        // A typo of the key is caught and the key suggested.
        let e = error(
            "dbms.ssl.policy.p.base_directory=/etc/tls\ndbms.ssl.policy.p.allowed_peer=cn:x\n",
        );
        assert!(e.contains("did you mean `allowed_peers`?"), "{e}");
    }

    #[test]
    fn names_under_trust_all_are_refused_and_pins_kept() {
        let e = error(
            "dbms.ssl.policy.p.base_directory=/etc/tls\n\
             dbms.ssl.policy.p.trust_all=true\n\
             dbms.ssl.policy.p.allowed_peers=cn:api\n",
        );
        assert!(
            e.starts_with("/etc/neo4j.conf:3: dbms.ssl.policy.p.allowed_peers: trust_all=true"),
            "{e}"
        );
        let pin = format!("spki-sha256:{}", "ab".repeat(32));
        let settings = parse(&format!(
            "dbms.ssl.policy.p.base_directory=/etc/tls\n\
             dbms.ssl.policy.p.trust_all=true\n\
             dbms.ssl.policy.p.allowed_peers={pin}\n"
        ))
        .unwrap();
        assert!(settings.policies["p"].allowed_peers.is_some());
    }

    #[test]
    fn session_ticket_keys_without_resumption_is_an_error() {
        let e = error(
            "dbms.ssl.policy.p.base_directory=/etc/tls\n\
             dbms.ssl.policy.p.session_resumption=false\n\
             dbms.ssl.policy.p.session_ticket_keys=ticket.keys\n",
        );
        assert!(
            e.starts_with("/etc/neo4j.conf:3: dbms.ssl.policy.p.session_ticket_keys: "),
            "{e}"
        );
        assert!(
            e.contains("dbms.ssl.policy.p.session_resumption=false` (line 2)"),
            "{e}"
        );
        let e = error(
            "dbms.ssl.policy.p.base_directory=/etc/tls\ndbms.ssl.policy.p.session_ticket_keys=\n",
        );
        assert!(
            e.contains("session_ticket_keys") && e.contains(":2:"),
            "{e}"
        );
        let e = error(
            "dbms.ssl.policy.p.base_directory=/etc/tls\ndbms.ssl.policy.p.session_ticket_key=k\n",
        );
        assert!(e.contains("did you mean `session_ticket_keys`?"), "{e}");
    }

    #[test]
    fn relative_base_directory_resolves_against_home() {
        let settings = Settings::parse(
            "dbms.ssl.policy.a.base_directory=certs/a\n\
             dbms.ssl.policy.b.base_directory=/abs/b\n\
             dbms.directories.certificates=my-certs\n",
            Path::new("neo4j.conf"),
            Path::new("/home/neo"),
        )
        .unwrap();
        assert_eq!(
            settings.policies["a"].base_directory,
            Path::new("/home/neo/certs/a")
        );
        assert_eq!(settings.policies["b"].base_directory, Path::new("/abs/b"));
        assert_eq!(
            settings.policies["b"].private_key,
            Path::new("/abs/b/private.key")
        );
        assert_eq!(
            settings.certificates_directory,
            Path::new("/home/neo/my-certs")
        );
    }

    #[test]
    fn a_key_given_twice_names_both_lines() {
        let err = error(
            "dbms.ssl.policy.p.base_directory=a\n\
             # comment\n\
             dbms.ssl.policy.p.base_directory=b\n",
        );
        assert_eq!(
            err,
            "/etc/neo4j.conf:3: dbms.ssl.policy.p.base_directory: given twice: first at \
             /etc/neo4j.conf:1, again at /etc/neo4j.conf:3; keep one"
        );
    }

    #[test]
    fn two_spellings_of_one_binding_are_a_duplicate() {
        let err = error(
            "dbms.ssl.policy.p.base_directory=a\n\
             cluster.ssl_policy=p\n\
             causal_clustering.ssl_policy=p\n",
        );
        assert!(
            err.starts_with("/etc/neo4j.conf:3: causal_clustering.ssl_policy: given twice"),
            "{err}"
        );
        assert!(
            err.contains("/etc/neo4j.conf:2 as `cluster.ssl_policy`"),
            "{err}"
        );
    }

    #[test]
    fn repeated_unrelated_keys_are_fine() {
        let settings = parse(
            "dbms.jvm.additional=-XX:+UseG1GC\n\
             dbms.jvm.additional=-XX:-OmitStackTraceInFastThrow\n",
        )
        .unwrap();
        assert!(settings.policies.is_empty());
    }

    #[test]
    fn bad_value_names_key_value_and_choices() {
        let mut text = String::from("dbms.ssl.policy.client.base_directory=c\n");
        text.push_str(&"# padding\n".repeat(10));
        text.push_str("dbms.ssl.policy.client.client_auth=MAYBE\n");
        assert_eq!(
            error(&text),
            "/etc/neo4j.conf:12: dbms.ssl.policy.client.client_auth: invalid value 'MAYBE'; \
             expected one of NONE, OPTIONAL, REQUIRE"
        );
    }

    #[test]
    fn tls_v1_1_is_refused() {
        let err = error(
            "dbms.ssl.policy.p.base_directory=a\ndbms.ssl.policy.p.tls_versions=TLSv1.1,TLSv1.2\n",
        );
        assert!(err.starts_with("/etc/neo4j.conf:2: dbms.ssl.policy.p.tls_versions: TLS version 'TLSv1.1' is insecure, refused"), "{err}");
    }

    #[test]
    fn unknown_cipher_is_named() {
        let err = error(
            "dbms.ssl.policy.p.base_directory=a\ndbms.ssl.policy.p.ciphers=TLS_AES_128_GCM_SHA256,RC4_FOREVER\n",
        );
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:2: dbms.ssl.policy.p.ciphers: unknown cipher suite 'RC4_FOREVER'"
            ),
            "{err}"
        );
    }

    #[test]
    fn unknown_suffix_suggests() {
        let err = error("dbms.ssl.policy.p.base_directory=a\ndbms.ssl.policy.p.privat_key=k\n");
        assert_eq!(
            err,
            "/etc/neo4j.conf:2: dbms.ssl.policy.p.privat_key: unknown policy setting \
             `privat_key`; did you mean `private_key`?"
        );
    }

    #[test]
    fn legacy_is_reserved() {
        let err = error("dbms.ssl.policy.legacy.base_directory=certificates\n");
        assert!(err.starts_with("/etc/neo4j.conf:1: dbms.ssl.policy.legacy.base_directory: the policy name `legacy` is reserved"), "{err}");
        assert!(err.contains("rename the policy"), "{err}");
    }

    #[test]
    fn legacy_is_always_available() {
        let settings =
            parse("bolt.ssl_policy=legacy\ndbms.connector.bolt.listen_address=:7687\n").unwrap();
        assert_eq!(settings.channels["bolt"].policy.as_deref(), Some("legacy"));
        assert!(settings.channel_policy("bolt").is_none());
    }

    #[test]
    fn undefined_policy_names_channel_and_policy() {
        let err = error(
            "dbms.ssl.policy.client_policy.base_directory=c\n\
             bolt.ssl_policy=client_polcy\n",
        );
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:2: bolt.ssl_policy: channel `bolt` is bound to policy \
                 `client_polcy`, which is not defined"
            ),
            "{err}"
        );
        assert!(err.contains("did you mean `client_policy`?"), "{err}");
    }

    #[test]
    fn missing_base_directory_names_the_policy() {
        let err = error(
            "dbms.ssl.policy.p.base_directory=a\n\
             dbms.ssl.policy.client.trust_all=false\n\
             dbms.ssl.policy.client.client_auth=NONE\n\
             bolt.ssl_policy=client\n",
        );
        assert_eq!(
            err,
            "/etc/neo4j.conf:2: dbms.ssl.policy.client.trust_all: policy `client` has no \
             base_directory: `dbms.ssl.policy.client.base_directory` is mandatory and defines \
             the policy"
        );
    }

    #[test]
    fn plaintext_cannot_walk_past_client_authentication() {
        // client_auth left at its default (REQUIRE).
        let err = error(
            "dbms.ssl.policy.p.base_directory=p\n\
             bolt.ssl_policy=p\n\
             dbms.connector.bolt.listen_address=:7687\n\
             dbms.connector.bolt.tls_level=OPTIONAL\n",
        );
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:4: dbms.connector.bolt.tls_level: channel `bolt` accepts \
                 plaintext (tls_level=OPTIONAL), but its policy `p` authenticates clients \
                 (`dbms.ssl.policy.p.client_auth=REQUIRE`, the default)"
            ),
            "{err}"
        );
        assert!(err.contains("tls_level=REQUIRED"), "{err}");
        // Written explicitly, even without a listen address: the place is named.
        let err = error(
            "dbms.ssl.policy.p.base_directory=p\n\
             dbms.ssl.policy.p.client_auth=optional\n\
             dbms.connector.bolt.tls_level=OPTIONAL\n\
             bolt.ssl_policy=p\n",
        );
        assert!(
            err.contains("(`dbms.ssl.policy.p.client_auth=OPTIONAL`, set at /etc/neo4j.conf:2)"),
            "{err}"
        );
        // NONE and the legacy system (client_auth NONE) may share a port with plaintext.
        for binding in ["p", "legacy"] {
            let text = format!(
                "dbms.ssl.policy.p.base_directory=p\n\
                 dbms.ssl.policy.p.client_auth=NONE\n\
                 bolt.ssl_policy={binding}\n\
                 dbms.connector.bolt.listen_address=:7687\n\
                 dbms.connector.bolt.tls_level=OPTIONAL\n"
            );
            assert_eq!(
                parse(&text).unwrap().channels["bolt"].tls_level,
                TlsLevel::Optional
            );
        }
    }

    #[test]
    fn the_first_problem_in_the_file_is_reported() {
        let err = error(
            "dbms.connector.bolt.listen_address=:7687\n\
             https.ssl_policy=nothing\n",
        );
        assert!(
            err.starts_with("/etc/neo4j.conf:1: dbms.connector.bolt.listen_address"),
            "{err}"
        );
    }

    #[test]
    fn channels_and_connectors() {
        let settings = parse(
            "dbms.ssl.policy.client.base_directory=certificates/client\n\
             dbms.ssl.policy.client.client_auth=NONE\n\
             dbms.ssl.policy.cluster.base_directory=certificates/cluster\n\
             bolt.ssl_policy=client\n\
             https.ssl_policy=client\n\
             causal_clustering.ssl_policy=cluster\n\
             dbms.backup.ssl_policy=cluster\n\
             metrics.ssl_policy=legacy\n\
             dbms.connectors.default_listen_address=0.0.0.0\n\
             dbms.connector.bolt.listen_address=:7687\n\
             dbms.connector.bolt.tls_level=OPTIONAL\n\
             dbms.connector.https.listen_address=[::1]:7473\n\
             dbms.connector.http.listen_address=localhost:7474\n\
             dbms.connector.http.tls_level=DISABLED\n",
        )
        .unwrap();
        let channel = |name: &str| settings.channels[name].clone();
        assert_eq!(
            channel("bolt"),
            ChannelSettings {
                name: "bolt".into(),
                policy: Some("client".into()),
                listen_address: Some("0.0.0.0:7687".into()),
                tls_level: TlsLevel::Optional,
                kind: ConnectorKind::Echo,
                alpn: Vec::new(),
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                max_concurrent_handshakes: DEFAULT_MAX_CONCURRENT_HANDSHAKES,
                first_record_timeout: DEFAULT_FIRST_RECORD_TIMEOUT,
                max_pending_handshakes: DEFAULT_MAX_PENDING_HANDSHAKES,
                max_pending_per_address: DEFAULT_MAX_PENDING_PER_ADDRESS,
                http_header_read_timeout: DEFAULT_HTTP_HEADER_READ_TIMEOUT,
                http_idle_timeout: DEFAULT_HTTP_IDLE_TIMEOUT,
                proxy_protocol: ProxyProtocol::Off,
                proxy_protocol_trusted: Vec::new(),
                ocsp_stapling: None,
                written: [
                    ("ssl_policy", "bolt.ssl_policy", 4),
                    ("listen_address", "dbms.connector.bolt.listen_address", 10),
                    ("tls_level", "dbms.connector.bolt.tls_level", 11),
                ]
                .into_iter()
                .map(|(suffix, key, line)| (
                    suffix,
                    WrittenKey {
                        key: key.to_owned(),
                        source: Source::File {
                            path: "/etc/neo4j.conf".into(),
                            line
                        }
                    }
                ))
                .collect(),
                key_form: KeyForm::Connector,
            }
        );
        assert_eq!(
            channel("https").listen_address.as_deref(),
            Some("[::1]:7473")
        );
        assert_eq!(channel("https").tls_level, TlsLevel::Required);
        assert_eq!(channel("https").kind, ConnectorKind::Http);
        assert_eq!(channel("http").kind, ConnectorKind::Echo);
        assert_eq!(channel("cluster").kind, ConnectorKind::Echo);
        assert_eq!(channel("cluster").policy.as_deref(), Some("cluster"));
        assert_eq!(channel("cluster").listen_address, None);
        assert_eq!(channel("backup").policy.as_deref(), Some("cluster"));
        assert_eq!(channel("metrics").policy.as_deref(), Some("legacy"));
        assert_eq!(channel("http").policy, None);
        assert_eq!(channel("http").tls_level, TlsLevel::Disabled);
        assert_eq!(settings.channels.len(), 6);
        assert_eq!(settings.default_listen_address, "0.0.0.0");
        assert_eq!(
            settings.channel_policy("https").map(|p| p.name.as_str()),
            Some("client")
        );
        assert_eq!(
            settings.channel_policy("backup").map(|p| p.name.as_str()),
            Some("cluster")
        );
        assert!(settings.channel_policy("http").is_none());
        assert!(settings.channel_policy("nope").is_none());
    }

    #[test]
    fn port_completion_uses_the_default_listen_address_wherever_it_is_written() {
        let settings = parse(
            "bolt.ssl_policy=legacy\n\
             dbms.connector.bolt.listen_address=:7687\n\
             dbms.connectors.default_listen_address=::\n",
        )
        .unwrap();
        assert_eq!(
            settings.channels["bolt"].listen_address.as_deref(),
            Some("[::]:7687")
        );
        let settings =
            parse("bolt.ssl_policy=legacy\ndbms.connector.bolt.listen_address=:7687\n").unwrap();
        assert_eq!(
            settings.channels["bolt"].listen_address.as_deref(),
            Some("127.0.0.1:7687")
        );
    }

    #[test]
    fn a_tls_listener_needs_a_policy() {
        for level in [
            "",
            "dbms.connector.bolt.tls_level=REQUIRED\n",
            "dbms.connector.bolt.tls_level=OPTIONAL\n",
        ] {
            let err = error(&format!(
                "{level}dbms.connector.bolt.listen_address=:7687\n"
            ));
            assert!(
                err.contains(
                    "dbms.connector.bolt.listen_address: channel `bolt` listens with tls_level"
                ),
                "{err}"
            );
            assert!(err.contains("bolt.ssl_policy=<policy>"), "{err}");
            assert!(err.contains("tls_level=DISABLED"), "{err}");
        }
        let err = error("dbms.connector.cluster.listen_address=:5000\n");
        assert!(
            err.contains("`causal_clustering.ssl_policy=<policy>`"),
            "{err}"
        );
        // A tls_level without an address opens no listener, so it needs no policy.
        assert!(parse("dbms.connector.bolt.tls_level=REQUIRED\n").is_ok());
    }

    #[test]
    fn connector_handshake_settings() {
        let settings = parse(
            "bolt.ssl_policy=legacy\n\
             dbms.connector.bolt.listen_address=:7687\n\
             dbms.connector.bolt.kind=HTTP\n\
             dbms.connector.bolt.handshake_timeout=500ms\n\
             dbms.connector.bolt.max_concurrent_handshakes=8\n\
             dbms.connector.https.kind=echo\n\
             dbms.connector.https.handshake_timeout=30\n\
             dbms.connector.app.handshake_timeout=2m\n",
        )
        .unwrap();
        let bolt = &settings.channels["bolt"];
        assert_eq!(bolt.kind, ConnectorKind::Http);
        assert_eq!(bolt.handshake_timeout, Duration::from_millis(500));
        assert_eq!(bolt.max_concurrent_handshakes, 8);
        let https = &settings.channels["https"];
        assert_eq!(https.kind, ConnectorKind::Echo);
        assert_eq!(https.handshake_timeout, Duration::from_secs(30));
        assert_eq!(
            https.max_concurrent_handshakes,
            DEFAULT_MAX_CONCURRENT_HANDSHAKES
        );
        let app = &settings.channels["app"];
        assert_eq!(app.handshake_timeout, Duration::from_secs(120));
        assert_eq!(app.kind, ConnectorKind::Echo);
        assert_eq!(app.policy, None);
        assert_eq!(app.listen_address, None);
    }

    #[test]
    fn connector_defaults() {
        let settings = parse("bolt.ssl_policy=legacy\nhttps.ssl_policy=legacy\n").unwrap();
        for (name, kind) in [
            ("bolt", ConnectorKind::Echo),
            ("https", ConnectorKind::Http),
        ] {
            let channel = &settings.channels[name];
            assert_eq!(channel.kind, kind, "{name}");
            assert_eq!(channel.kind, ConnectorKind::default_for(name));
            assert_eq!(channel.handshake_timeout, Duration::from_secs(10));
            assert_eq!(channel.max_concurrent_handshakes, 1024);
            assert_eq!(channel.first_record_timeout, Duration::from_secs(5));
            assert_eq!(channel.max_pending_handshakes, 4096);
            assert_eq!(channel.max_pending_per_address, 256);
            assert_eq!(channel.http_header_read_timeout, Duration::from_secs(10));
            assert_eq!(channel.http_idle_timeout, Duration::from_secs(60));
        }
        let set = parse(
            "bolt.ssl_policy=legacy\n\
             dbms.connector.bolt.first_record_timeout=750ms\n\
             dbms.connector.bolt.max_pending_handshakes=100\n\
             dbms.connector.bolt.max_pending_per_address=7\n\
             dbms.connector.bolt.http_header_read_timeout=3s\n\
             dbms.connector.bolt.http_idle_timeout=2m\n",
        )
        .unwrap();
        let bolt = &set.channels["bolt"];
        assert_eq!(bolt.first_record_timeout, Duration::from_millis(750));
        assert_eq!(bolt.max_pending_handshakes, 100);
        assert_eq!(bolt.max_pending_per_address, 7);
        assert_eq!(bolt.http_header_read_timeout, Duration::from_secs(3));
        assert_eq!(bolt.http_idle_timeout, Duration::from_secs(120));
    }

    #[test]
    fn alpn_is_declared_per_channel_with_a_default_per_kind() {
        let settings = parse(
            "bolt.ssl_policy=legacy\nhttps.ssl_policy=legacy\ngrpc.ssl_policy=legacy\n\
             web.ssl_policy=legacy\ndbms.connector.web.kind=http\n",
        )
        .unwrap();
        let alpn = |s: &Settings, c: &str| s.channels[c].alpn.clone();
        assert_eq!(alpn(&settings, "https"), ["h2", "http/1.1"]);
        assert_eq!(alpn(&settings, "web"), ["h2", "http/1.1"], "kind=http");
        assert!(alpn(&settings, "bolt").is_empty());
        assert!(alpn(&settings, "grpc").is_empty());
        let settings = parse(
            "grpc.ssl_policy=legacy\ndbms.connector.grpc.alpn=h2\n\
             https.ssl_policy=legacy\ndbms.connector.https.alpn=NONE\n\
             bolt.ssl_policy=legacy\nserver.bolt.alpn= http/1.1 , h2 \n",
        )
        .unwrap();
        assert_eq!(alpn(&settings, "grpc"), ["h2"]);
        assert!(alpn(&settings, "https").is_empty(), "none turns it off");
        assert_eq!(alpn(&settings, "bolt"), ["http/1.1", "h2"], "order kept");
        assert_eq!(settings.channels["grpc"].alpn_protocols(), [b"h2".to_vec()]);
        for (value, why) in [
            ("h2,,http/1.1", "an empty protocol name"),
            ("h2,h2", "`h2` is listed twice"),
            ("h 2", "`h 2` contains ' '"),
            ("", "an empty protocol name"),
        ] {
            let err = parse(&format!(
                "grpc.ssl_policy=legacy\ndbms.connector.grpc.alpn={value}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.starts_with(&format!(
                    "/etc/neo4j.conf:2: dbms.connector.grpc.alpn: invalid value '{value}': {why}"
                )),
                "{err}"
            );
        }
        let long = "x".repeat(256);
        let err = parse(&format!(
            "grpc.ssl_policy=legacy\ndbms.connector.grpc.alpn={long}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("256 bytes (at most 255)"), "{err}");
        let err = parse("dbms.connector.grpc.alpns=h2\n")
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("did you mean `alpn`?"), "{err}");
        let built = Settings::builder()
            .bind("grpc", "legacy")
            .alpn("grpc", ["h2"])
            .build()
            .unwrap();
        assert_eq!(built.channels["grpc"].alpn, ["h2"]);
        let err = Settings::builder()
            .alpn("grpc", ["h2", ""])
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("dbms.connector.grpc.alpn: invalid value"),
            "{err}"
        );
    }

    #[test]
    fn proxy_protocol_settings() {
        let settings = parse(
            "bolt.ssl_policy=legacy\n\
             dbms.connector.bolt.proxy_protocol=v2\n\
             dbms.connector.bolt.proxy_protocol_trusted=127.0.0.0/8, 10.0.0.1\n",
        )
        .unwrap();
        let bolt = &settings.channels["bolt"];
        assert_eq!(bolt.proxy_protocol, ProxyProtocol::V2);
        assert_eq!(bolt.proxy_protocol_trusted.len(), 2);
        let default = parse("bolt.ssl_policy=legacy\n").unwrap();
        assert_eq!(default.channels["bolt"].proxy_protocol, ProxyProtocol::Off);
        assert!(default.channels["bolt"].proxy_protocol_trusted.is_empty());
        for (text, expected) in [
            (
                "bolt.ssl_policy=legacy\ndbms.connector.bolt.proxy_protocol=any\n",
                "/etc/neo4j.conf:2: dbms.connector.bolt.proxy_protocol: proxy_protocol=any \
                 needs the networks",
            ),
            (
                "bolt.ssl_policy=legacy\ndbms.connector.bolt.proxy_protocol=v3\n",
                "/etc/neo4j.conf:2: dbms.connector.bolt.proxy_protocol: invalid value 'v3'",
            ),
            (
                "bolt.ssl_policy=legacy\ndbms.connector.bolt.proxy_protocol_trusted=10.0.0.0/40\n",
                "/etc/neo4j.conf:2: dbms.connector.bolt.proxy_protocol_trusted: invalid \
                 network '10.0.0.0/40'",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}");
        }
    }

    #[test]
    fn bad_connector_values_name_file_line_and_key() {
        for (line, expected) in [
            (
                "dbms.connector.bolt.kind=https",
                "/etc/neo4j.conf:2: dbms.connector.bolt.kind: invalid value 'https'; expected \
                 one of http, echo",
            ),
            (
                "dbms.connector.bolt.handshake_timeout=0",
                "/etc/neo4j.conf:2: dbms.connector.bolt.handshake_timeout: invalid value '0': a \
                 timeout of 0 would cut every connection; expected a duration greater \
                 than 0 and at most 1h",
            ),
            (
                "dbms.connector.bolt.first_record_timeout=5x",
                "/etc/neo4j.conf:2: dbms.connector.bolt.first_record_timeout: invalid value '5x'; \
                 expected a duration",
            ),
            (
                "dbms.connector.bolt.max_pending_handshakes=0",
                "/etc/neo4j.conf:2: dbms.connector.bolt.max_pending_handshakes: invalid value \
                 '0': 0 would refuse every handshake",
            ),
            (
                "dbms.connector.bolt.max_pending_per_address=-1",
                "/etc/neo4j.conf:2: dbms.connector.bolt.max_pending_per_address: invalid value \
                 '-1'; expected a whole number from 1 to 1000000",
            ),
            (
                "dbms.connector.https.http_idle_timeout=2h",
                "/etc/neo4j.conf:2: dbms.connector.https.http_idle_timeout: invalid value '2h': \
                 longer than 1h",
            ),
            (
                "dbms.connector.https.http_header_read_timeout=0s",
                "/etc/neo4j.conf:2: dbms.connector.https.http_header_read_timeout: invalid value \
                 '0s': a timeout of 0",
            ),
            (
                "dbms.connector.bolt.handshake_timeout=2h",
                "/etc/neo4j.conf:2: dbms.connector.bolt.handshake_timeout: invalid value '2h': \
                 longer than 1h;",
            ),
            (
                "dbms.connector.bolt.handshake_timeout=10 sec",
                "/etc/neo4j.conf:2: dbms.connector.bolt.handshake_timeout: invalid value '10 \
                 sec'; expected a duration",
            ),
            (
                "dbms.connector.bolt.max_concurrent_handshakes=0",
                "/etc/neo4j.conf:2: dbms.connector.bolt.max_concurrent_handshakes: invalid value \
                 '0': 0 would refuse every handshake; expected a whole number from 1 to 1000000",
            ),
            (
                "dbms.connector.bolt.max_concurrent_handshakes=lots",
                "/etc/neo4j.conf:2: dbms.connector.bolt.max_concurrent_handshakes: invalid value \
                 'lots'; expected a whole number",
            ),
            (
                "dbms.connector.bolt.enabled=no",
                "/etc/neo4j.conf:2: dbms.connector.bolt.enabled: invalid value 'no'; expected \
                 true or false",
            ),
            (
                "dbms.ssl.policy.p.session_resumption=off",
                "/etc/neo4j.conf:2: dbms.ssl.policy.p.session_resumption: invalid value 'off'; \
                 expected true or false",
            ),
            (
                "dbms.connector.bolt.handshake_timeot=10s",
                "/etc/neo4j.conf:2: dbms.connector.bolt.handshake_timeot: unknown connector \
                 setting `handshake_timeot`; did you mean `handshake_timeout`?",
            ),
            (
                "dbms.ssl.policy.p.session_resumptions=true",
                "/etc/neo4j.conf:2: dbms.ssl.policy.p.session_resumptions: unknown policy \
                 setting `session_resumptions`; did you mean `session_resumption`?",
            ),
        ] {
            let err = error(&format!("dbms.ssl.policy.p.base_directory=p\n{line}\n"));
            assert!(
                err.starts_with(expected),
                "expected {expected}\n     got {err}"
            );
        }
    }

    #[test]
    fn connector_settings_given_twice_are_refused() {
        let err = error(
            "dbms.connector.bolt.handshake_timeout=1s\n\
             dbms.connector.bolt.handshake_timeout=2s\n",
        );
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:2: dbms.connector.bolt.handshake_timeout: given twice"
            ),
            "{err}"
        );
        let err = error("dbms.connector.bolt.enabled=true\ndbms.connector.bolt.enabled=false\n");
        assert!(err.contains("given twice"), "{err}");
    }

    #[test]
    fn a_switched_off_connector_is_not_served() {
        let settings = parse(
            "dbms.ssl.policy.p.base_directory=p\n\
             bolt.ssl_policy=p\n\
             dbms.connector.bolt.enabled=false\n\
             dbms.connector.bolt.listen_address=:7687\n\
             dbms.connector.bolt.handshake_timeout=3s\n\
             dbms.connector.https.enabled=true\n\
             https.ssl_policy=p\n\
             dbms.connector.https.listen_address=:7473\n",
        )
        .unwrap();
        let bolt = &settings.channels["bolt"];
        assert_eq!(bolt.listen_address, None, "enabled=false: not served");
        assert_eq!(
            bolt.policy.as_deref(),
            Some("p"),
            "the binding still stands"
        );
        assert_eq!(
            settings.channel_policy("bolt").map(|p| p.name.as_str()),
            Some("p")
        );
        assert_eq!(bolt.handshake_timeout, Duration::from_secs(3));
        assert_eq!(
            settings.channels["https"].listen_address.as_deref(),
            Some("127.0.0.1:7473")
        );
    }

    #[test]
    fn a_switched_off_tls_connector_needs_no_policy() {
        // Without enabled=false this is the "listens with tls_level REQUIRED" error.
        let text = "dbms.connector.bolt.listen_address=:7687\n";
        assert!(error(text).contains("listens with tls_level REQUIRED"));
        let settings = parse(&format!("{text}dbms.connector.bolt.enabled=FALSE\n")).unwrap();
        assert_eq!(settings.channels["bolt"].listen_address, None);
        assert_eq!(settings.channels["bolt"].policy, None);
        // enabled=true changes nothing.
        let err = error(&format!("dbms.connector.bolt.enabled=true\n{text}"));
        assert!(err.contains("listens with tls_level REQUIRED"), "{err}");
    }

    #[test]
    fn backend_and_advertised_address() {
        let settings = parse(
            "dbms.ssl.backend=rustls-ring\n\
             dbms.connectors.default_advertised_address=db.example.com\n",
        )
        .unwrap();
        assert_eq!(
            settings.backend,
            Some((
                "rustls-ring".to_owned(),
                Source::File {
                    path: "/etc/neo4j.conf".into(),
                    line: 1
                }
            ))
        );
        assert_eq!(settings.default_advertised_address, "db.example.com");
    }
}
