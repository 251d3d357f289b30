//! Which setting a config key names: tls-policy's namespaces, strict inside, ignored outside.

use std::fmt;

use super::model::KeyForm;
use super::suggest;

/// `dbms.ssl.policy.<policy-name>.<suffix>`.
pub(crate) const POLICY_PREFIX: &str = "dbms.ssl.policy.";
/// `dbms.connector.<channel>.<suffix>`.
pub(crate) const CONNECTOR_PREFIX: &str = "dbms.connector.";
/// `<channel>.ssl_policy`.
const BINDING_SUFFIX: &str = ".ssl_policy";
/// The backend choice.
pub(crate) const BACKEND_KEY: &str = "dbms.ssl.backend";
/// Where the rustls backends take their record AEAD from (**ours**).
pub(crate) const RECORD_CIPHER_KEY: &str = "dbms.ssl.record_cipher";
/// The host a `:port` listen address completes with.
pub(crate) const DEFAULT_LISTEN_ADDRESS_KEY: &str = "dbms.connectors.default_listen_address";
/// The legacy system's certificate subject.
pub(crate) const DEFAULT_ADVERTISED_ADDRESS_KEY: &str =
    "dbms.connectors.default_advertised_address";
/// The legacy system's directory, and (scope form) the one scopes' base directories default under.
pub(crate) const CERTIFICATES_DIRECTORY_KEY: &str = "dbms.directories.certificates";
/// 2025.03+: `false` turns hot reload (file watching and SIGHUP) off.
pub(crate) const TLS_RELOAD_ENABLED_KEY: &str = "dbms.security.tls_reload_enabled";
/// The framework's choice of Netty SSL engine: accepted, with a warning.
pub(crate) const NETTY_SSL_PROVIDER_KEY: &str = "dbms.netty.ssl.provider";
/// **ours**: the application's own scopes of the 4.x/5.x scope form (`grpc,metrics`), each
/// then switched on by `dbms.ssl.policy.<name>.enabled=true` and configured by
/// `server.<name>.*` (or `dbms.connector.<name>.*`), like `bolt`.
pub(crate) const CUSTOM_SCOPES_KEY: &str = "dbms.ssl.custom_scopes";
/// 5.x: `server.<channel>.<suffix>`, for the channels in [`SERVER_CONNECTORS`] and the
/// declared custom scopes.
pub(crate) const SERVER_PREFIX: &str = "server.";
/// The 5.x connectors whose `server.<channel>.*` keys are read like `dbms.connector.<channel>.*`.
pub(crate) const SERVER_CONNECTORS: &[&str] = &["bolt", "https"];
/// The framework's own `server.<name>.*` namespaces that are not channels of ours (the
/// plaintext `http` connector, routing, discovery, memory, …): never read, never a typo of a
/// channel (`server.http.*` is not a mistyped `server.https.*`), and not a custom scope's name.
/// `cluster` and `backup` are here too: only their listen address and switch are read, as
/// fixed keys.
pub(crate) const FRAMEWORK_SERVER_NAMESPACES: &[&str] = &[
    "backup",
    "cluster",
    "config",
    "cypher",
    "databases",
    "db",
    "dbms",
    "directories",
    "discovery",
    "dynamic",
    "groups",
    "http",
    "jvm",
    "logs",
    "memory",
    "metrics",
    "panic",
    "query",
    "routing",
    "security",
    "tags",
    "threads",
];

/// The scopes of the 4.x/5.x scope form (`dbms.ssl.policy.<scope>.enabled=true`); each is also
/// the channel its policy secures.
pub const SCOPES: &[&str] = &["bolt", "https", "cluster", "backup", "fabric"];

/// The reserved name of the legacy SSL system's policy.
pub const LEGACY_POLICY: &str = "legacy";

/// Binding keys whose prefix is not the channel's name: `(key prefix, channel)`.
const CHANNEL_ALIASES: &[(&str, &str)] =
    &[("causal_clustering", "cluster"), ("dbms.backup", "backup")];

/// The keys outside the policy, binding and connector namespaces that tls-policy reads, with
/// their later spellings (4.x `dbms.*`, 5.x `server.*`), each naming the setting it sets.
const FIXED_KEYS: &[(&str, FixedKey)] = &[
    (BACKEND_KEY, FixedKey::Backend),
    (RECORD_CIPHER_KEY, FixedKey::RecordCipher),
    (DEFAULT_LISTEN_ADDRESS_KEY, FixedKey::DefaultListenAddress),
    (
        "dbms.default_listen_address",
        FixedKey::DefaultListenAddress,
    ),
    (
        "server.default_listen_address",
        FixedKey::DefaultListenAddress,
    ),
    (
        DEFAULT_ADVERTISED_ADDRESS_KEY,
        FixedKey::DefaultAdvertisedAddress,
    ),
    (
        "dbms.default_advertised_address",
        FixedKey::DefaultAdvertisedAddress,
    ),
    (
        "server.default_advertised_address",
        FixedKey::DefaultAdvertisedAddress,
    ),
    (CERTIFICATES_DIRECTORY_KEY, FixedKey::CertificatesDirectory),
    (
        "server.directories.certificates",
        FixedKey::CertificatesDirectory,
    ),
    (
        "causal_clustering.transaction_listen_address",
        FixedKey::Connector("cluster", ConnectorSuffix::ListenAddress),
    ),
    (
        "server.cluster.listen_address",
        FixedKey::Connector("cluster", ConnectorSuffix::ListenAddress),
    ),
    (
        "dbms.backup.listen_address",
        FixedKey::Connector("backup", ConnectorSuffix::ListenAddress),
    ),
    (
        "server.backup.listen_address",
        FixedKey::Connector("backup", ConnectorSuffix::ListenAddress),
    ),
    (
        "dbms.backup.enabled",
        FixedKey::Connector("backup", ConnectorSuffix::Enabled),
    ),
    (
        "server.backup.enabled",
        FixedKey::Connector("backup", ConnectorSuffix::Enabled),
    ),
    (TLS_RELOAD_ENABLED_KEY, FixedKey::TlsReloadEnabled),
    (NETTY_SSL_PROVIDER_KEY, FixedKey::NettySslProvider),
    (CUSTOM_SCOPES_KEY, FixedKey::CustomScopes),
];

/// What a key of [`FIXED_KEYS`] sets.
#[derive(Clone, Copy)]
enum FixedKey {
    Backend,
    RecordCipher,
    DefaultListenAddress,
    DefaultAdvertisedAddress,
    CertificatesDirectory,
    /// A connector setting written outside `dbms.connector.*` (cluster and backup listen
    /// addresses, the backup service's switch).
    Connector(&'static str, ConnectorSuffix),
    TlsReloadEnabled,
    NettySslProvider,
    CustomScopes,
}

impl FixedKey {
    fn target(self) -> Target {
        match self {
            FixedKey::Backend => Target::Backend,
            FixedKey::RecordCipher => Target::RecordCipher,
            FixedKey::DefaultListenAddress => Target::DefaultListenAddress,
            FixedKey::DefaultAdvertisedAddress => Target::DefaultAdvertisedAddress,
            FixedKey::CertificatesDirectory => Target::CertificatesDirectory,
            FixedKey::Connector(channel, suffix) => Target::Connector {
                channel: channel.to_owned(),
                suffix,
            },
            FixedKey::TlsReloadEnabled => Target::TlsReloadEnabled,
            FixedKey::NettySslProvider => Target::NettySslProvider,
            FixedKey::CustomScopes => Target::CustomScopes,
        }
    }
}

// === PolicySuffix ===

/// A setting of one policy: the `<suffix>` of `dbms.ssl.policy.<policy-name>.<suffix>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PolicySuffix {
    BaseDirectory,
    PrivateKey,
    PrivateKeyPassword,
    PublicCertificate,
    TrustedDir,
    RevokedDir,
    ClientAuth,
    Ciphers,
    TlsVersions,
    AllowKeyGeneration,
    TrustAll,
    VerifyHostname,
    SessionResumption,
    SessionTicketKeys,
    AllowedPeers,
    AllowedPeersReload,
    /// Scope form only: `dbms.ssl.policy.<scope>.enabled`.
    Enabled,
}

impl PolicySuffix {
    /// Every policy suffix, in the order of the spec's table (`enabled`, of the scope form, last).
    pub(crate) const ALL: [PolicySuffix; 17] = [
        PolicySuffix::BaseDirectory,
        PolicySuffix::PrivateKey,
        PolicySuffix::PrivateKeyPassword,
        PolicySuffix::PublicCertificate,
        PolicySuffix::TrustedDir,
        PolicySuffix::RevokedDir,
        PolicySuffix::ClientAuth,
        PolicySuffix::Ciphers,
        PolicySuffix::TlsVersions,
        PolicySuffix::AllowKeyGeneration,
        PolicySuffix::TrustAll,
        PolicySuffix::VerifyHostname,
        PolicySuffix::SessionResumption,
        PolicySuffix::SessionTicketKeys,
        PolicySuffix::AllowedPeers,
        PolicySuffix::AllowedPeersReload,
        PolicySuffix::Enabled,
    ];

    /// The suffix as written in a key.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PolicySuffix::BaseDirectory => "base_directory",
            PolicySuffix::PrivateKey => "private_key",
            PolicySuffix::PrivateKeyPassword => "private_key_password",
            PolicySuffix::PublicCertificate => "public_certificate",
            PolicySuffix::TrustedDir => "trusted_dir",
            PolicySuffix::RevokedDir => "revoked_dir",
            PolicySuffix::ClientAuth => "client_auth",
            PolicySuffix::Ciphers => "ciphers",
            PolicySuffix::TlsVersions => "tls_versions",
            PolicySuffix::AllowKeyGeneration => "allow_key_generation",
            PolicySuffix::TrustAll => "trust_all",
            PolicySuffix::VerifyHostname => "verify_hostname",
            PolicySuffix::SessionResumption => "session_resumption",
            PolicySuffix::SessionTicketKeys => "session_ticket_keys",
            PolicySuffix::AllowedPeers => "allowed_peers",
            PolicySuffix::AllowedPeersReload => "allowed_peers_reload",
            PolicySuffix::Enabled => "enabled",
        }
    }

    fn from_name(name: &str) -> Option<PolicySuffix> {
        PolicySuffix::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

// === ConnectorSuffix ===

/// A connector setting tls-policy reads: the `<suffix>` of `dbms.connector.<channel>.<suffix>`.
///
/// To read another connector setting, add a variant here and to [`ConnectorSuffix::ALL`]; its
/// near-misses then become errors too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ConnectorSuffix {
    Enabled,
    ListenAddress,
    TlsLevel,
    Kind,
    HandshakeTimeout,
    MaxConcurrentHandshakes,
    FirstRecordTimeout,
    MaxPendingHandshakes,
    MaxPendingPerAddress,
    HttpHeaderReadTimeout,
    HttpIdleTimeout,
    ProxyProtocol,
    ProxyProtocolTrusted,
    /// 4.2+ `dbms.connector.bolt.ocsp_stapling_enabled`, 5.x `server.bolt.ocsp_stapling_enabled`.
    OcspStaplingEnabled,
    /// **ours**: the ALPN protocols the channel's server side offers (`h2,http/1.1`).
    Alpn,
}

impl ConnectorSuffix {
    /// The connector suffixes tls-policy reads. Every other suffix belongs to the application
    /// (`advertised_address`, `thread_pool_min_size`, …) and is ignored, unless it is within a
    /// typo of one of these.
    pub(crate) const ALL: [ConnectorSuffix; 15] = [
        ConnectorSuffix::Enabled,
        ConnectorSuffix::ListenAddress,
        ConnectorSuffix::TlsLevel,
        ConnectorSuffix::Kind,
        ConnectorSuffix::HandshakeTimeout,
        ConnectorSuffix::MaxConcurrentHandshakes,
        ConnectorSuffix::FirstRecordTimeout,
        ConnectorSuffix::MaxPendingHandshakes,
        ConnectorSuffix::MaxPendingPerAddress,
        ConnectorSuffix::HttpHeaderReadTimeout,
        ConnectorSuffix::HttpIdleTimeout,
        ConnectorSuffix::ProxyProtocol,
        ConnectorSuffix::ProxyProtocolTrusted,
        ConnectorSuffix::OcspStaplingEnabled,
        ConnectorSuffix::Alpn,
    ];

    /// The suffix as written in a key.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectorSuffix::Enabled => "enabled",
            ConnectorSuffix::ListenAddress => "listen_address",
            ConnectorSuffix::TlsLevel => "tls_level",
            ConnectorSuffix::Kind => "kind",
            ConnectorSuffix::HandshakeTimeout => "handshake_timeout",
            ConnectorSuffix::MaxConcurrentHandshakes => "max_concurrent_handshakes",
            ConnectorSuffix::FirstRecordTimeout => "first_record_timeout",
            ConnectorSuffix::MaxPendingHandshakes => "max_pending_handshakes",
            ConnectorSuffix::MaxPendingPerAddress => "max_pending_per_address",
            ConnectorSuffix::HttpHeaderReadTimeout => "http_header_read_timeout",
            ConnectorSuffix::HttpIdleTimeout => "http_idle_timeout",
            ConnectorSuffix::ProxyProtocol => "proxy_protocol",
            ConnectorSuffix::ProxyProtocolTrusted => "proxy_protocol_trusted",
            ConnectorSuffix::OcspStaplingEnabled => "ocsp_stapling_enabled",
            ConnectorSuffix::Alpn => "alpn",
        }
    }

    /// Whether the framework's own 5.x connectors and services have this suffix too
    /// (`server.http.listen_address`, `server.metrics.enabled`), so that a `server.<name>.<suffix>`
    /// key of a name that is not ours is the framework's, not a mistake.
    fn is_framework_connector_setting(self) -> bool {
        matches!(
            self,
            ConnectorSuffix::Enabled | ConnectorSuffix::ListenAddress
        )
    }

    pub(crate) fn from_name(name: &str) -> Option<ConnectorSuffix> {
        ConnectorSuffix::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

// === Target ===

/// The setting a key names, whatever spelling the key used.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Target {
    /// `dbms.ssl.policy.<policy>.<suffix>`.
    Policy {
        policy: String,
        suffix: PolicySuffix,
    },
    /// `<channel>.ssl_policy` (and its aliases, such as `causal_clustering.ssl_policy`).
    Binding { channel: String },
    /// `dbms.connector.<channel>.<suffix>`.
    Connector {
        channel: String,
        suffix: ConnectorSuffix,
    },
    /// `dbms.connectors.default_listen_address`.
    DefaultListenAddress,
    /// `dbms.connectors.default_advertised_address`.
    DefaultAdvertisedAddress,
    /// `dbms.directories.certificates`.
    CertificatesDirectory,
    /// `dbms.ssl.backend`.
    Backend,
    /// `dbms.ssl.record_cipher`.
    RecordCipher,
    /// `dbms.security.tls_reload_enabled`.
    TlsReloadEnabled,
    /// `dbms.netty.ssl.provider`.
    NettySslProvider,
    /// `dbms.ssl.custom_scopes`.
    CustomScopes,
}

impl fmt::Display for Target {
    /// The canonical key of the setting, as the builder names it in errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Policy { policy, suffix } => {
                write!(f, "{POLICY_PREFIX}{policy}.{}", suffix.as_str())
            }
            Target::Binding { channel } => {
                let prefix = CHANNEL_ALIASES
                    .iter()
                    .find(|(_, c)| c == channel)
                    .map_or(channel.as_str(), |(prefix, _)| prefix);
                write!(f, "{prefix}{BINDING_SUFFIX}")
            }
            Target::Connector { channel, suffix } => {
                write!(f, "{CONNECTOR_PREFIX}{channel}.{}", suffix.as_str())
            }
            Target::DefaultListenAddress => f.write_str(DEFAULT_LISTEN_ADDRESS_KEY),
            Target::DefaultAdvertisedAddress => f.write_str(DEFAULT_ADVERTISED_ADDRESS_KEY),
            Target::CertificatesDirectory => f.write_str(CERTIFICATES_DIRECTORY_KEY),
            Target::Backend => f.write_str(BACKEND_KEY),
            Target::RecordCipher => f.write_str(RECORD_CIPHER_KEY),
            Target::TlsReloadEnabled => f.write_str(TLS_RELOAD_ENABLED_KEY),
            Target::NettySslProvider => f.write_str(NETTY_SSL_PROVIDER_KEY),
            Target::CustomScopes => f.write_str(CUSTOM_SCOPES_KEY),
        }
    }
}

/// The key that binds `channel` to a policy, as an operator writes it:
/// `causal_clustering.ssl_policy` for `cluster`, `dbms.backup.ssl_policy` for `backup`,
/// `<channel>.ssl_policy` otherwise.
pub fn binding_key(channel: &str) -> String {
    Target::Binding {
        channel: channel.to_owned(),
    }
    .to_string()
}

/// The key that sets connector `suffix` of `channel` in the spelling `form`: for
/// [`KeyForm::Server`], `server.<channel>.<suffix>` where that key is read (bolt, https, custom
/// scopes; `server.cluster.listen_address`, `server.backup.enabled`, …), for
/// [`KeyForm::Connector`] the framework's 3.5/4.x key (`causal_clustering.transaction_listen_address`,
/// `dbms.backup.listen_address`); otherwise `dbms.connector.<channel>.<suffix>`, which every
/// channel has.
pub(crate) fn connector_key(channel: &str, suffix: &str, form: KeyForm) -> String {
    let fixed = |server: bool| {
        FIXED_KEYS
            .iter()
            .filter(|(key, _)| key.starts_with(SERVER_PREFIX) == server)
            .find(|(_, fixed)| {
                matches!(fixed, FixedKey::Connector(c, s) if *c == channel && s.as_str() == suffix)
            })
            .map(|(key, _)| (*key).to_owned())
    };
    let spelled_elsewhere =
        CHANNEL_ALIASES.iter().any(|(_, c)| *c == channel) || channel == "fabric";
    let fallback = || format!("{CONNECTOR_PREFIX}{channel}.{suffix}");
    match form {
        KeyForm::Server if !spelled_elsewhere => format!("{SERVER_PREFIX}{channel}.{suffix}"),
        KeyForm::Server => fixed(true).unwrap_or_else(fallback),
        KeyForm::Connector => fixed(false).unwrap_or_else(fallback),
    }
}

/// Whether `name` is a valid policy or channel name: `[A-Za-z0-9_-]+`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What a name may contain, for error messages.
pub(crate) const NAME_RULE: &str = "letters, digits, '_' and '-'";

/// Classifies `key`: `Ok(Some(target))` for a setting tls-policy reads, `Ok(None)` for a key
/// outside its namespaces (to be ignored), `Err(message)` for a key inside them that is wrong.
/// No custom scope is declared (see [`classify_with`]).
#[cfg(test)]
pub(crate) fn classify(key: &str) -> Result<Option<Target>, String> {
    classify_with(key, &[])
}

/// [`classify`], with the custom scopes declared by `dbms.ssl.custom_scopes`: their
/// `server.<scope>.*` keys are read like `server.bolt.*`.
pub(crate) fn classify_with(key: &str, custom_scopes: &[String]) -> Result<Option<Target>, String> {
    if let Some(rest) = key.strip_prefix(POLICY_PREFIX) {
        return classify_policy(rest).map(Some);
    }
    if let Some(prefix) = key.strip_suffix(BINDING_SUFFIX) {
        return classify_binding(prefix).map(Some);
    }
    if let Some(rest) = key.strip_prefix(CONNECTOR_PREFIX) {
        return classify_connector(rest);
    }
    if let Some((_, fixed)) = FIXED_KEYS.iter().find(|(known, _)| *known == key) {
        return Ok(Some(fixed.target()));
    }
    if let Some(rest) = key.strip_prefix(SERVER_PREFIX) {
        if let Some((channel, suffix)) = rest.split_once('.') {
            if SERVER_CONNECTORS.contains(&channel) || custom_scopes.iter().any(|c| c == channel) {
                return classify_connector(rest);
            }
            if let Some(problem) = unknown_server_channel(channel, suffix, custom_scopes) {
                return Err(problem);
            }
        }
    }
    if let Some(rest) = key.strip_prefix("dbms.ssl.") {
        // `dbms.ssl.polcy.x.base_directory`: a mistyped policy key would otherwise be ignored.
        if let Some((head, _)) = rest.split_once('.') {
            if suggest::edit_distance(head, "policy") <= 2 {
                return Err(format!(
                    "unknown key; did you mean `{POLICY_PREFIX}{}`?",
                    &rest[head.len() + 1..]
                ));
            }
        }
    }
    if let Some(known) = suggest::closest(key, FIXED_KEYS.iter().map(|(known, _)| *known), 2) {
        return Err(format!("unknown key; did you mean `{known}`?"));
    }
    Ok(None)
}

/// `server.<channel>.<suffix>` where `<channel>` is neither a 5.x connector of ours nor a
/// declared custom scope: the framework's own keys (`server.http.*`, `server.routing.*`, …) and
/// anything whose suffix tls-policy does not read are not ours. The rest is an error: a channel
/// name within a typo of one we know (`server.grcp.alpn` for `grpc`), or a suffix only
/// tls-policy reads (`server.grpc.alpn` with `grpc` not declared: it would be ignored, so the
/// file would silently not say what it means).
fn unknown_server_channel(
    channel: &str,
    suffix_name: &str,
    custom_scopes: &[String],
) -> Option<String> {
    if FRAMEWORK_SERVER_NAMESPACES.contains(&channel) || suffix_name.contains('.') {
        return None;
    }
    let suffix = ConnectorSuffix::from_name(suffix_name)?;
    // Declared names first: of two as near, the one the file declared.
    let known = custom_scopes
        .iter()
        .map(String::as_str)
        .chain(SERVER_CONNECTORS.iter().copied());
    // A transposition (`blot`, `grcp`) is two edits: allowed from four letters on.
    let near = |known: &str| {
        suggest::edit_distance(channel, known) <= 2.min(known.len().saturating_sub(2)).max(1)
    };
    if let Some(guess) = known
        .into_iter()
        .filter(|k| near(k))
        .min_by_key(|k| suggest::edit_distance(channel, k))
    {
        return Some(format!(
            "unknown channel `{channel}`; did you mean `{SERVER_PREFIX}{guess}.{suffix_name}`?"
        ));
    }
    if suffix.is_framework_connector_setting() {
        // `server.<x>.listen_address`, `.enabled`: the framework's own connectors and services
        // have them too; not ours unless declared.
        return None;
    }
    Some(format!(
        "`{channel}` is not a channel of the 5.x form (`{SERVER_PREFIX}<channel>.*` is read for \
         bolt, https and the custom scopes declared in `{CUSTOM_SCOPES_KEY}`{}); to serve an \
         application's own channel `{channel}`, declare it with `{CUSTOM_SCOPES_KEY}={channel}` \
         and switch its policy on with `{POLICY_PREFIX}{channel}.enabled=true`",
        if custom_scopes.is_empty() {
            String::new()
        } else {
            format!(": {}", custom_scopes.join(", "))
        }
    ))
}

/// `<policy-name>.<suffix>`, after `dbms.ssl.policy.`.
fn classify_policy(rest: &str) -> Result<Target, String> {
    let Some((policy, suffix_name)) = rest.rsplit_once('.') else {
        return Err(format!(
            "incomplete policy key; expected `{POLICY_PREFIX}<policy-name>.<suffix>`, e.g. \
             `{POLICY_PREFIX}{rest}.base_directory`"
        ));
    };
    if !is_valid_name(policy) {
        return Err(format!(
            "invalid policy name '{policy}'; a policy name may contain only {NAME_RULE}"
        ));
    }
    match PolicySuffix::from_name(suffix_name) {
        Some(suffix) => Ok(Target::Policy {
            policy: policy.to_owned(),
            suffix,
        }),
        None => {
            let known = PolicySuffix::ALL.map(PolicySuffix::as_str);
            Err(
                match suggest::did_you_mean(suffix_name, known.iter().copied()) {
                    Some(guess) => {
                        format!("unknown policy setting `{suffix_name}`; did you mean `{guess}`?")
                    }
                    None => format!(
                        "unknown policy setting `{suffix_name}`; a policy has {}",
                        known.join(", ")
                    ),
                },
            )
        }
    }
}

/// The prefix of a `<prefix>.ssl_policy` key.
fn classify_binding(prefix: &str) -> Result<Target, String> {
    if let Some((_, channel)) = CHANNEL_ALIASES.iter().find(|(p, _)| *p == prefix) {
        return Ok(Target::Binding {
            channel: (*channel).to_owned(),
        });
    }
    if is_valid_name(prefix) {
        return Ok(Target::Binding {
            channel: prefix.to_owned(),
        });
    }
    Err(format!(
        "unknown channel binding; bind a channel with `<channel>.ssl_policy=<policy>`, where \
         <channel> is `bolt`, `https`, `causal_clustering` (cluster), `dbms.backup` (backup) or a \
         name of {NAME_RULE}"
    ))
}

/// `<channel>.<suffix>`, after `dbms.connector.`.
fn classify_connector(rest: &str) -> Result<Option<Target>, String> {
    let Some((channel, suffix_name)) = rest.split_once('.') else {
        return Ok(None);
    };
    if let Some(suffix) = ConnectorSuffix::from_name(suffix_name) {
        if !is_valid_name(channel) {
            return Err(format!(
                "invalid channel name '{channel}'; a channel name may contain only {NAME_RULE}"
            ));
        }
        return Ok(Some(Target::Connector {
            channel: channel.to_owned(),
            suffix,
        }));
    }
    let near_miss = ConnectorSuffix::ALL
        .into_iter()
        .map(ConnectorSuffix::as_str)
        .find(|known| {
            suggest::edit_distance(suffix_name, known) <= suggest::typo_budget(known).min(2)
        });
    if let Some(known) = near_miss {
        return Err(format!(
            "unknown connector setting `{suffix_name}`; did you mean `{known}`?"
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(policy: &str, suffix: PolicySuffix) -> Option<Target> {
        Some(Target::Policy {
            policy: policy.into(),
            suffix,
        })
    }

    fn binding(channel: &str) -> Option<Target> {
        Some(Target::Binding {
            channel: channel.into(),
        })
    }

    #[test]
    fn every_policy_suffix_is_recognised() {
        for suffix in PolicySuffix::ALL {
            let key = format!("dbms.ssl.policy.client.{}", suffix.as_str());
            assert_eq!(classify(&key), Ok(policy("client", suffix)));
            assert_eq!(policy("client", suffix).unwrap().to_string(), key);
        }
    }

    #[test]
    fn unknown_policy_suffix_suggests_the_closest() {
        let err = classify("dbms.ssl.policy.p.privat_key").unwrap_err();
        assert!(err.contains("did you mean `private_key`?"), "{err}");
        let err = classify("dbms.ssl.policy.p.client_authentication").unwrap_err();
        assert!(
            err.contains("unknown policy setting `client_authentication`"),
            "{err}"
        );
        assert!(err.contains("base_directory"), "lists the suffixes: {err}");
    }

    #[test]
    fn session_resumption_and_its_typos() {
        assert_eq!(
            classify("dbms.ssl.policy.p.session_resumption"),
            Ok(policy("p", PolicySuffix::SessionResumption))
        );
        let err = classify("dbms.ssl.policy.p.session_resumtion").unwrap_err();
        assert!(err.contains("did you mean `session_resumption`?"), "{err}");
        let err = classify("dbms.ssl.policy.p.sesion_resumption").unwrap_err();
        assert!(err.contains("did you mean `session_resumption`?"), "{err}");
    }

    #[test]
    fn the_scope_form_and_later_spellings() {
        assert_eq!(
            classify("dbms.ssl.policy.bolt.enabled"),
            Ok(policy("bolt", PolicySuffix::Enabled))
        );
        let err = classify("dbms.ssl.policy.bolt.enable").unwrap_err();
        assert!(err.contains("did you mean `enabled`?"), "{err}");
        let connector = |channel: &str, suffix| {
            Ok(Some(Target::Connector {
                channel: channel.into(),
                suffix,
            }))
        };
        for (key, expected) in [
            (
                "server.bolt.tls_level",
                connector("bolt", ConnectorSuffix::TlsLevel),
            ),
            (
                "server.bolt.enabled",
                connector("bolt", ConnectorSuffix::Enabled),
            ),
            (
                "server.bolt.listen_address",
                connector("bolt", ConnectorSuffix::ListenAddress),
            ),
            (
                "server.bolt.ocsp_stapling_enabled",
                connector("bolt", ConnectorSuffix::OcspStaplingEnabled),
            ),
            (
                "dbms.connector.bolt.ocsp_stapling_enabled",
                connector("bolt", ConnectorSuffix::OcspStaplingEnabled),
            ),
            (
                "server.https.enabled",
                connector("https", ConnectorSuffix::Enabled),
            ),
            (
                "server.https.listen_address",
                connector("https", ConnectorSuffix::ListenAddress),
            ),
            (
                "causal_clustering.transaction_listen_address",
                connector("cluster", ConnectorSuffix::ListenAddress),
            ),
            (
                "server.cluster.listen_address",
                connector("cluster", ConnectorSuffix::ListenAddress),
            ),
            (
                "dbms.backup.listen_address",
                connector("backup", ConnectorSuffix::ListenAddress),
            ),
            (
                "server.backup.listen_address",
                connector("backup", ConnectorSuffix::ListenAddress),
            ),
            (
                "dbms.default_listen_address",
                Ok(Some(Target::DefaultListenAddress)),
            ),
            (
                "server.default_listen_address",
                Ok(Some(Target::DefaultListenAddress)),
            ),
            (
                "dbms.default_advertised_address",
                Ok(Some(Target::DefaultAdvertisedAddress)),
            ),
            (
                "server.default_advertised_address",
                Ok(Some(Target::DefaultAdvertisedAddress)),
            ),
            (
                "server.directories.certificates",
                Ok(Some(Target::CertificatesDirectory)),
            ),
            (
                "dbms.security.tls_reload_enabled",
                Ok(Some(Target::TlsReloadEnabled)),
            ),
            (
                "dbms.netty.ssl.provider",
                Ok(Some(Target::NettySslProvider)),
            ),
            (
                "dbms.backup.enabled",
                connector("backup", ConnectorSuffix::Enabled),
            ),
            (
                "server.backup.enabled",
                connector("backup", ConnectorSuffix::Enabled),
            ),
        ] {
            assert_eq!(classify(key), expected, "{key}");
        }
        // The rest of a 5.x file is not ours.
        for other in [
            "server.bolt.advertised_address",
            "server.bolt.thread_pool_max_size",
            "server.bolt.telemetry.enabled",
            "server.http.listen_address",
            "server.http.enabled",
            "server.cluster.advertised_address",
            "server.cluster.raft.listen_address",
            "server.routing.listen_address",
            "server.memory.heap.max_size",
            "server.directories.data",
            "causal_clustering.raft_listen_address",
            "causal_clustering.discovery_listen_address",
            "dbms.backup.address",
        ] {
            assert_eq!(classify(other), Ok(None), "{other}");
        }
        // Their typos are errors with a suggestion.
        for (typo, known) in [
            ("server.bolt.tls_levle", "tls_level"),
            ("server.https.listen_adress", "listen_address"),
            (
                "server.default_listen_adress",
                "server.default_listen_address",
            ),
            (
                "dbms.security.tls_reload_enable",
                "dbms.security.tls_reload_enabled",
            ),
            (
                "server.directories.certificate",
                "server.directories.certificates",
            ),
        ] {
            let err = classify(typo).unwrap_err();
            assert!(err.contains(&format!("`{known}`")), "{typo}: {err}");
        }
    }

    #[test]
    fn policy_names() {
        assert!(classify("dbms.ssl.policy.base_directory").is_err());
        let err = classify("dbms.ssl.policy.a.b.base_directory").unwrap_err();
        assert!(err.contains("invalid policy name 'a.b'"), "{err}");
        assert_eq!(
            classify("dbms.ssl.policy.my-policy_2.trust_all"),
            Ok(policy("my-policy_2", PolicySuffix::TrustAll))
        );
    }

    #[test]
    fn channel_bindings() {
        assert_eq!(classify("bolt.ssl_policy"), Ok(binding("bolt")));
        assert_eq!(classify("https.ssl_policy"), Ok(binding("https")));
        assert_eq!(
            classify("causal_clustering.ssl_policy"),
            Ok(binding("cluster"))
        );
        assert_eq!(classify("dbms.backup.ssl_policy"), Ok(binding("backup")));
        assert_eq!(classify("my-app_1.ssl_policy"), Ok(binding("my-app_1")));
        let err = classify("dbms.connector.bolt.ssl_policy").unwrap_err();
        assert!(err.contains("<channel>.ssl_policy"), "{err}");
        assert!(classify(".ssl_policy").is_err());
        assert_eq!(
            binding("cluster").unwrap().to_string(),
            "causal_clustering.ssl_policy"
        );
        assert_eq!(
            binding("backup").unwrap().to_string(),
            "dbms.backup.ssl_policy"
        );
        assert_eq!(binding("app").unwrap().to_string(), "app.ssl_policy");
    }

    #[test]
    fn connector_keys() {
        assert_eq!(
            classify("dbms.connector.bolt.listen_address"),
            Ok(Some(Target::Connector {
                channel: "bolt".into(),
                suffix: ConnectorSuffix::ListenAddress
            }))
        );
        assert_eq!(
            classify("dbms.connector.https.tls_level"),
            Ok(Some(Target::Connector {
                channel: "https".into(),
                suffix: ConnectorSuffix::TlsLevel
            }))
        );
        for suffix in ConnectorSuffix::ALL {
            let key = format!("dbms.connector.app-1.{}", suffix.as_str());
            let target = Target::Connector {
                channel: "app-1".into(),
                suffix,
            };
            assert_eq!(target.to_string(), key);
            assert_eq!(classify(&key), Ok(Some(target)), "{key}");
        }
        for other in [
            "dbms.connector.bolt.advertised_address",
            "dbms.connector.bolt.thread_pool_min_size",
            "dbms.connector.bolt.thread_pool_max_size",
            "dbms.connector.bolt.thread_pool_keep_alive",
            "dbms.connector.bolt.unsupported_thread_pool_queue_size",
            "dbms.connector.http.type",
            "dbms.connector.bolt.encryption",
            "dbms.connector.bolt",
        ] {
            assert_eq!(classify(other), Ok(None), "{other}");
        }
        let err = classify("dbms.connector.bolt.listen_adress").unwrap_err();
        assert!(err.contains("did you mean `listen_address`?"), "{err}");
        let err = classify("dbms.connector.bolt.tls_levle").unwrap_err();
        assert!(err.contains("did you mean `tls_level`?"), "{err}");
        for (typo, known) in [
            ("kinds", "kind"),
            ("knd", "kind"),
            ("handshake_timout", "handshake_timeout"),
            ("handshake_timeouts", "handshake_timeout"),
            ("max_concurent_handshakes", "max_concurrent_handshakes"),
            ("max_concurrent_handshake", "max_concurrent_handshakes"),
            ("first_record_timout", "first_record_timeout"),
            ("max_pending_handshake", "max_pending_handshakes"),
            ("max_pending_per_adress", "max_pending_per_address"),
            ("http_idle_timout", "http_idle_timeout"),
            ("enable", "enabled"),
            ("enabeld", "enabled"),
        ] {
            let err = classify(&format!("dbms.connector.bolt.{typo}")).unwrap_err();
            assert_eq!(
                err,
                format!("unknown connector setting `{typo}`; did you mean `{known}`?")
            );
        }
        assert!(classify("dbms.connector.bo lt.tls_level").is_err());
    }

    #[test]
    fn fixed_keys_and_their_typos() {
        assert_eq!(classify("dbms.ssl.backend"), Ok(Some(Target::Backend)));
        assert_eq!(
            classify("dbms.connectors.default_listen_address"),
            Ok(Some(Target::DefaultListenAddress))
        );
        assert_eq!(
            classify("dbms.connectors.default_advertised_address"),
            Ok(Some(Target::DefaultAdvertisedAddress))
        );
        assert_eq!(
            classify("dbms.directories.certificates"),
            Ok(Some(Target::CertificatesDirectory))
        );
        let err = classify("dbms.ssl.backends").unwrap_err();
        assert!(err.contains("`dbms.ssl.backend`"), "{err}");
        let err = classify("dbms.ssl.polcy.client.base_directory").unwrap_err();
        assert!(
            err.contains("`dbms.ssl.policy.client.base_directory`"),
            "{err}"
        );
        let err = classify("dbms.directories.certificate").unwrap_err();
        assert!(err.contains("dbms.directories.certificates"), "{err}");
    }

    #[test]
    fn unrelated_keys_are_ignored() {
        for key in [
            "dbms.directories.data",
            "dbms.directories.import",
            "dbms.memory.heap.initial_size",
            "dbms.jvm.additional",
            "dbms.security.auth_enabled",
            "dbms.connectors.default_advertised_addresses_for_all",
            "ha.server_id",
            "wrapper.java.additional",
            "ssl_policy",
        ] {
            assert_eq!(classify(key), Ok(None), "{key}");
        }
    }
}
