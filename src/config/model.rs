//! The typed settings a config file or the builder yields: policies, channels and connectors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tls_policy_backend::{AllowedPeers, CipherSuite, ClientAuth, RecordCipher, TlsVersion};

use super::proxy::{Network, ProxyProtocol};
use crate::error::Source;

/// Everything tls-policy reads from a config, with every path already resolved.
///
/// Made by [`Settings::from_file`], [`Settings::parse`] or [`Settings::builder`], which all apply
/// the same validation. `#[non_exhaustive]`: a new setting is a new field, so it cannot be
/// written as a struct literal outside this crate (its fields can still be read and changed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// The home directory relative paths resolve against.
    pub home: PathBuf,
    /// `dbms.ssl.backend`, if set: a backend feature name, validated when the backend is chosen.
    pub backend: Option<(String, Source)>,
    /// `dbms.ssl.record_cipher` (default `fastest`, **ours**): where the rustls backends take
    /// their record AEAD from when both rustls providers are compiled in: the faster on this
    /// CPU (`fastest`), or each provider's own (`provider`, for FIPS or an audit).
    pub record_cipher: RecordCipher,
    /// The defined policies, by name (`dbms.ssl.policy.<name>.*`).
    pub policies: BTreeMap<String, PolicySettings>,
    /// The channels, by name: bound by `<channel>.ssl_policy` or declared by `dbms.connector.<channel>.*`.
    pub channels: BTreeMap<String, ChannelSettings>,
    /// `dbms.connectors.default_listen_address` (default `127.0.0.1`).
    pub default_listen_address: String,
    /// `dbms.connectors.default_advertised_address` (default `localhost`).
    pub default_advertised_address: String,
    /// `dbms.directories.certificates` (5.x `server.directories.certificates`; default
    /// `certificates` under home): the legacy system's files, and in the scope form the
    /// directory each scope's `base_directory` defaults under.
    pub certificates_directory: PathBuf,
    /// Which form of the framework's configuration the policies were written in.
    pub form: ConfigForm,
    /// `dbms.ssl.custom_scopes` (**ours**; scope form): the application's own scopes, each a
    /// channel of that name whose policy `dbms.ssl.policy.<name>.enabled=true` switches on and
    /// whose connector `server.<name>.*` (or `dbms.connector.<name>.*`) configures.
    pub custom_scopes: Vec<String>,
    /// `dbms.security.tls_reload_enabled` (default `true`, **ours**): `false` turns hot reload
    /// (file watching and SIGHUP in `tls-policy serve`) off.
    pub tls_reload_enabled: bool,
    /// Every default applied here that differs from the framework's own, with the reason.
    pub default_differences: Vec<DefaultDifference>,
    /// Settings accepted with a warning (each `file:line: key: message`), also logged at load.
    pub warnings: Vec<String>,
}

/// The form of the framework's configuration a file is written in. One file holds one form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigForm {
    /// The 3.5 form: named policies (`dbms.ssl.policy.<name>.base_directory` defines one),
    /// bound to channels by `<channel>.ssl_policy=<name>`.
    Named,
    /// The 4.x/5.x form: `dbms.ssl.policy.<scope>.enabled=true` switches on the policy of a
    /// scope (`bolt`, `https`, `cluster`, `backup`, `fabric`, or one declared in
    /// `dbms.ssl.custom_scopes`), which is also its channel.
    Scope,
    /// No policy is configured (plaintext channels, or the legacy system only).
    NoPolicies,
}

impl ConfigForm {
    /// How `tls-policy check` names the form.
    pub fn describe(self) -> &'static str {
        match self {
            ConfigForm::Named => {
                "3.5 named-policy form (dbms.ssl.policy.<name>.*, bound by <channel>.ssl_policy)"
            }
            ConfigForm::Scope => {
                "4.x/5.x scope form (dbms.ssl.policy.<scope>.enabled=true; the scope is the channel)"
            }
            ConfigForm::NoPolicies => "no SSL policy configured",
        }
    }
}

/// A default this crate applies that differs from the framework's, as `tls-policy check` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DefaultDifference {
    /// The key whose default differs, as the file would spell it.
    pub key: String,
    /// The framework's default (per version, where it changed).
    pub framework: String,
    /// The default applied here.
    pub ours: String,
    /// Why.
    pub reason: String,
}

impl Settings {
    /// The settings of the policy bound to `channel`, if the channel is bound to a defined
    /// policy. `None` for an unknown or unbound channel, and for a channel bound to the legacy
    /// system ([`LEGACY_POLICY`](super::LEGACY_POLICY)), which has no `dbms.ssl.policy.*` settings.
    pub fn channel_policy(&self, channel: &str) -> Option<&PolicySettings> {
        let policy = self.channels.get(channel)?.policy.as_deref()?;
        self.policies.get(policy)
    }

    /// What to write in this file to give `channel` a policy, in the file's form: `dbms.ssl.policy.bolt.enabled=true` (scope form; an application's own channel is declared
    /// in `dbms.ssl.custom_scopes` first), or `bolt.ssl_policy=<policy>` (3.5 named form).
    pub fn binding_hint(&self, channel: &str) -> String {
        let scope = super::keys::SCOPES.contains(&channel)
            || self.custom_scopes.iter().any(|c| c == channel);
        match self.form {
            ConfigForm::Scope if scope => {
                format!("dbms.ssl.policy.{channel}.enabled=true")
            }
            ConfigForm::Scope => format!(
                "{}={channel} and dbms.ssl.policy.{channel}.enabled=true",
                super::keys::CUSTOM_SCOPES_KEY
            ),
            _ => format!("{}=<policy>", super::keys::binding_key(channel)),
        }
    }
}

/// One SSL policy's settings (`dbms.ssl.policy.<name>.<suffix>`), paths resolved, defaults applied.
///
/// Its `Debug` output never shows the key's password. Made by [`Settings::from_file`] or
/// [`SettingsBuilder::policy`](super::SettingsBuilder::policy) (a [`PolicyBuilder`](super::PolicyBuilder));
/// `#[non_exhaustive]` like [`Settings`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicySettings {
    /// The policy name.
    pub name: String,
    /// `base_directory` (mandatory), resolved against home.
    pub base_directory: PathBuf,
    /// `private_key` (default `private.key`), resolved against base_directory.
    pub private_key: PathBuf,
    /// `private_key_password`: the password of an encrypted PKCS#8 key.
    pub private_key_password: Option<String>,
    /// `public_certificate` (default `public.crt`), resolved against base_directory.
    pub public_certificate: PathBuf,
    /// `trusted_dir` (default `trusted`), resolved against base_directory.
    pub trusted_dir: PathBuf,
    /// `revoked_dir` (default `revoked`), resolved against base_directory.
    pub revoked_dir: PathBuf,
    /// `client_auth` (default `REQUIRE`).
    pub client_auth: ClientAuth,
    /// `ciphers` (default: the backend's own list).
    pub ciphers: Option<Vec<CipherSuite>>,
    /// `tls_versions` (default `TLSv1.2,TLSv1.3`), ascending, without duplicates.
    pub tls_versions: Vec<TlsVersion>,
    /// `allow_key_generation` (default `false`).
    pub allow_key_generation: bool,
    /// `trust_all` (default `false`).
    pub trust_all: bool,
    /// `verify_hostname` (default `false`).
    pub verify_hostname: bool,
    /// `session_resumption` (default `true`; **ours**): session cache and tickets on the server side.
    pub session_resumption: bool,
    /// `session_ticket_keys` (default none; **ours**): the session-ticket key file shared by a
    /// fleet, resolved against base_directory. `None`: each server makes its own ticket key.
    pub session_ticket_keys: Option<PathBuf>,
    /// `allowed_peers` (default unset: every peer whose certificate verifies; **ours**): the
    /// identities admitted, server and client side.
    pub allowed_peers: Option<AllowedPeers>,
    /// `allowed_peers_reload` (default `new`; **ours**): whether a reload that changes
    /// `allowed_peers` applies to new handshakes only, or also closes the established
    /// connections whose peer the new list refuses.
    pub allowed_peers_reload: AllowedPeersReload,
    /// Where each explicitly set suffix was written, for error messages.
    pub sources: BTreeMap<&'static str, Source>,
}

impl fmt::Debug for PolicySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySettings")
            .field("name", &self.name)
            .field("base_directory", &self.base_directory)
            .field("private_key", &self.private_key)
            .field(
                "private_key_password",
                &self.private_key_password.as_ref().map(|_| "<redacted>"),
            )
            .field("public_certificate", &self.public_certificate)
            .field("trusted_dir", &self.trusted_dir)
            .field("revoked_dir", &self.revoked_dir)
            .field("client_auth", &self.client_auth)
            .field("ciphers", &self.ciphers)
            .field("tls_versions", &self.tls_versions)
            .field("allow_key_generation", &self.allow_key_generation)
            .field("trust_all", &self.trust_all)
            .field("verify_hostname", &self.verify_hostname)
            .field("session_resumption", &self.session_resumption)
            .field("session_ticket_keys", &self.session_ticket_keys)
            .field("allowed_peers", &self.allowed_peers)
            .field("allowed_peers_reload", &self.allowed_peers_reload)
            .finish()
    }
}

/// What a reload that changes a policy's `allowed_peers` does to the connections already
/// established (`dbms.ssl.policy.<name>.allowed_peers_reload`).
///
/// ```
/// use tls_policy::config::AllowedPeersReload;
/// assert_eq!(AllowedPeersReload::default(), AllowedPeersReload::NewHandshakes);
/// assert_eq!(AllowedPeersReload::All.as_str(), "all");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AllowedPeersReload {
    /// `new` (the default): only new handshakes (and resumptions) meet the new list; live
    /// connections stay, as every other reloaded setting leaves them.
    #[default]
    NewHandshakes,
    /// `all`: besides, every live connection whose peer certificate the new list refuses is
    /// closed (its next read or write fails); connections the list still admits stay.
    All,
}

impl AllowedPeersReload {
    /// The value as written in a config: `new` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            AllowedPeersReload::NewHandshakes => "new",
            AllowedPeersReload::All => "all",
        }
    }
}

/// How a listener treats plaintext (`dbms.connector.<channel>.tls_level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TlsLevel {
    /// TLS only. The default.
    #[default]
    Required,
    /// TLS and plaintext on one port, told apart by the first byte.
    Optional,
    /// Plaintext only.
    Disabled,
}

impl TlsLevel {
    /// The config spelling: `REQUIRED`, `OPTIONAL` or `DISABLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsLevel::Required => "REQUIRED",
            TlsLevel::Optional => "OPTIONAL",
            TlsLevel::Disabled => "DISABLED",
        }
    }
}

impl fmt::Display for TlsLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One communication channel: its policy binding and its connector settings.
///
/// Made by [`Settings::from_file`] or the [`SettingsBuilder`](super::SettingsBuilder)'s
/// per-channel setters (`bind`, `listen`, `tls_level`, ...); `#[non_exhaustive]` like [`Settings`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelSettings {
    /// The channel name (`bolt`, `https`, `cluster`, `backup`, or the application's own).
    pub name: String,
    /// The bound policy name (`legacy` for the legacy system), if any.
    pub policy: Option<String>,
    /// `dbms.connector.<channel>.listen_address`, `host:port`, with `:port` completed from
    /// `dbms.connectors.default_listen_address`. `None` when not set, and when the connector is
    /// switched off with `dbms.connector.<channel>.enabled=false` (the channel is then not
    /// served, though its policy binding still stands).
    pub listen_address: Option<String>,
    /// `dbms.connector.<channel>.tls_level` (default `REQUIRED`).
    pub tls_level: TlsLevel,
    /// `dbms.connector.<channel>.kind`: what the `tls-policy` server speaks on it (default `http`
    /// for the `https` channel, `echo` for the others).
    pub kind: ConnectorKind,
    /// `dbms.connector.<channel>.alpn` (**ours**): the ALPN protocols the channel's server side
    /// offers, in preference order; empty for none. Default: `h2,http/1.1` for a channel whose
    /// `kind` is `http` (the `https` channel's default), none for the others (Bolt, cluster,
    /// backup and echo channels speak no ALPN protocol). A gRPC channel sets `alpn=h2`.
    /// [`crate::TlsChannels::load`] compiles it in; [`crate::TlsChannels::load_with`] options
    /// that name protocols replace it.
    pub alpn: Vec<String>,
    /// `dbms.connector.<channel>.handshake_timeout` (default 10 s): a peer that has not finished
    /// its handshake by then is cut (the listeners count it from the peer's first TLS record,
    /// the `TlsLayer` from the handshake's start; the wait for a slot included).
    pub handshake_timeout: Duration,
    /// `dbms.connector.<channel>.max_concurrent_handshakes` (default 1024): handshakes in
    /// progress at once on this channel.
    pub max_concurrent_handshakes: usize,
    /// `dbms.connector.<channel>.first_record_timeout` (default 5 s): from accept to the peer's
    /// complete first TLS record; the wait holds no handshake slot. A peer that has not sent it
    /// by then is cut.
    pub first_record_timeout: Duration,
    /// `dbms.connector.<channel>.max_pending_handshakes` (default 4096): connections accepted
    /// and not yet through their handshake, on this channel; past it a new connection is closed
    /// at once.
    pub max_pending_handshakes: usize,
    /// `dbms.connector.<channel>.max_pending_per_address` (default 256): the same, per source
    /// address (an IPv4 address, or an IPv6 /64).
    pub max_pending_per_address: usize,
    /// `dbms.connector.<channel>.http_header_read_timeout` (default 10 s; HTTP channels of
    /// `tls-policy serve`): how long a request's header may take to arrive.
    pub http_header_read_timeout: Duration,
    /// `dbms.connector.<channel>.http_idle_timeout` (default 60 s; HTTP channels of
    /// `tls-policy serve`): a connection with no request in flight and no bytes for this long
    /// is closed.
    pub http_idle_timeout: Duration,
    /// `dbms.connector.<channel>.proxy_protocol` (default `off`): whether connections from
    /// [`ChannelSettings::proxy_protocol_trusted`] open with a PROXY protocol header (v1, v2 or
    /// either), whose client address then stands for the peer's everywhere.
    pub proxy_protocol: ProxyProtocol,
    /// `dbms.connector.<channel>.proxy_protocol_trusted`: the networks (CIDR) whose connections
    /// must send the header; required when `proxy_protocol` is on. A header from any other
    /// source closes the connection.
    pub proxy_protocol_trusted: Vec<Network>,
    /// `ocsp_stapling_enabled=true` (4.2+ `dbms.connector.bolt.*`, 5.x `server.bolt.*`, which
    /// covers the `https` channel too): where it was set, the key as written; `None` when off
    /// (the default). The channel's policy then staples an OCSP response fetched in the
    /// background (rustls backends).
    pub ocsp_stapling: Option<StaplingSetting>,
    /// Each setting of this channel that was written, by suffix (`listen_address`,
    /// `tls_level`, …, and `ssl_policy` for the binding: `<channel>.ssl_policy` in the 3.5 form,
    /// `dbms.ssl.policy.<scope>.enabled` in the scope form): the key as written and where. Errors
    /// and messages about a setting name it from here, through [`ChannelSettings::key`].
    pub written: BTreeMap<&'static str, WrittenKey>,
    /// How this channel's connector keys are spelled: as its own lines are (the first one), or,
    /// with none, as the file's are (`server.*` keys anywhere: [`KeyForm::Server`]).
    pub key_form: KeyForm,
}

/// A setting as it was written: the key in the file's spelling, and its `file:line`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WrittenKey {
    /// The key as written (`server.https.listen_address`, `dbms.connector.https.listen_address`,
    /// `causal_clustering.transaction_listen_address`, `https.ssl_policy`, …).
    pub key: String,
    /// Its file and line (or the builder).
    pub source: crate::error::Source,
}

/// The family of key forms a channel's connector settings are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyForm {
    /// 3.5 and 4.x (and ours, for every channel): `dbms.connector.<channel>.<suffix>`, with the
    /// framework's own keys for the cluster and backup addresses
    /// (`causal_clustering.transaction_listen_address`, `dbms.backup.listen_address`).
    #[default]
    Connector,
    /// 5.x: `server.<channel>.<suffix>` for bolt, https and custom scopes
    /// (`server.cluster.listen_address`, `server.backup.*` for those); suffixes 5.x has no
    /// `server.*` key for keep `dbms.connector.<channel>.<suffix>`.
    Server,
}

/// Where OCSP stapling was switched on for a channel, for messages naming the line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StaplingSetting {
    /// The key as written (`server.bolt.ocsp_stapling_enabled`, ...).
    pub key: String,
    /// Its file and line (or the builder).
    pub source: crate::error::Source,
}

/// Default of `dbms.connector.<channel>.handshake_timeout`.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of `dbms.connector.<channel>.max_concurrent_handshakes`.
pub const DEFAULT_MAX_CONCURRENT_HANDSHAKES: usize = 1024;
/// Default of `dbms.connector.<channel>.first_record_timeout`.
pub const DEFAULT_FIRST_RECORD_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of `dbms.connector.<channel>.max_pending_handshakes`.
pub const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 4096;
/// Default of `dbms.connector.<channel>.max_pending_per_address`: generous for many clients
/// behind one NAT (each is pending only for the milliseconds of its handshake), small beside
/// [`DEFAULT_MAX_PENDING_HANDSHAKES`], so that one address cannot take the channel's share.
pub const DEFAULT_MAX_PENDING_PER_ADDRESS: usize = 256;
/// Default of `dbms.connector.<channel>.http_header_read_timeout`.
pub const DEFAULT_HTTP_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of `dbms.connector.<channel>.http_idle_timeout`.
pub const DEFAULT_HTTP_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the `tls-policy` server speaks on a channel (`dbms.connector.<channel>.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorKind {
    /// HTTP/1.1 and HTTP/2 (by ALPN): a JSON page describing the connection.
    Http,
    /// Echo every byte received.
    Echo,
}

impl ConnectorKind {
    /// The default for a channel: `http` for `https`, `echo` otherwise.
    pub fn default_for(channel: &str) -> ConnectorKind {
        if channel == "https" {
            ConnectorKind::Http
        } else {
            ConnectorKind::Echo
        }
    }

    /// The config spelling: `http` or `echo`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Http => "http",
            ConnectorKind::Echo => "echo",
        }
    }

    /// The ALPN protocols a channel of this kind offers unless `alpn` is set: `h2`,
    /// `http/1.1` for `http` (HTTP/2 clients, gRPC included, then get HTTP/2), none for `echo`.
    pub fn default_alpn(self) -> Vec<String> {
        match self {
            ConnectorKind::Http => vec!["h2".to_owned(), "http/1.1".to_owned()],
            ConnectorKind::Echo => Vec::new(),
        }
    }
}

impl ChannelSettings {
    /// The key of this channel's setting `suffix` (`listen_address`, `tls_level`, …,
    /// `ssl_policy`) as the file wrote it; for a setting not written, the key that would set it
    /// in this channel's [`KeyForm`] (`server.https.tls_level` for a 5.x channel,
    /// `dbms.connector.https.tls_level` for a 3.5/4.x one).
    ///
    /// ```
    /// use std::path::Path;
    /// use tls_policy::config::Settings;
    ///
    /// let text = "dbms.ssl.policy.https.enabled=true\nserver.https.enabled=true\n\
    ///             server.https.listen_address=:7473\n";
    /// let settings = Settings::parse(text, Path::new("neo4j.conf"), Path::new("/srv"))?;
    /// let https = &settings.channels["https"];
    /// assert_eq!(https.key("listen_address"), "server.https.listen_address");
    /// assert_eq!(https.written["listen_address"].source.to_string(), "neo4j.conf:3");
    /// assert_eq!(https.key("alpn"), "server.https.alpn", "not written: spelled like the rest");
    /// assert_eq!(https.key("ssl_policy"), "dbms.ssl.policy.https.enabled");
    /// # Ok::<(), tls_policy::Error>(())
    /// ```
    pub fn key(&self, suffix: &str) -> String {
        if let Some(written) = self.written.get(suffix) {
            return written.key.clone();
        }
        if suffix == "ssl_policy" {
            return super::keys::binding_key(&self.name);
        }
        super::keys::connector_key(&self.name, suffix, self.key_form)
    }

    /// `key (file:line)` for a written setting, the bare key otherwise: how messages outside
    /// the config name one of this channel's settings.
    pub fn key_at(&self, suffix: &str) -> String {
        match self.written.get(suffix) {
            Some(written) => format!("{} ({})", written.key, written.source),
            None => self.key(suffix),
        }
    }

    /// [`ChannelSettings::alpn`] as the wire names a backend's options take.
    pub fn alpn_protocols(&self) -> Vec<Vec<u8>> {
        self.alpn
            .iter()
            .map(|name| name.as_bytes().to_vec())
            .collect()
    }
}
