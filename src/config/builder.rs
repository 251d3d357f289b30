//! Settings in code: a typed builder that goes through the same validation as a config file.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tls_policy_backend::{CipherSuite, ClientAuth, TlsVersion};

use super::keys::{self, ConnectorSuffix, PolicySuffix, Target};
use super::model::{AllowedPeersReload, ConnectorKind, Settings, TlsLevel};
use super::resolve::{Draft, Duplicates};
use super::values::{self, ConnectorValue, PolicyValue, Setting};
use crate::error::{Error, Result, Source};

impl Settings {
    /// Starts building settings in code; see [`SettingsBuilder`].
    pub fn builder() -> SettingsBuilder {
        SettingsBuilder::default()
    }
}

/// Builds [`Settings`] in code, with the checks and defaults of a config file.
///
/// Every setter mirrors one config key; setters that take text parse it exactly as the file
/// does. Mistakes are collected and reported by [`build`](SettingsBuilder::build) as
/// [`Error::Config`] with [`Source::Builder`] and the key the setter stands for. Unlike a file,
/// setting the same thing twice is not an error: the later value wins.
///
/// ```
/// use std::path::Path;
/// use tls_policy::config::{Settings, TlsLevel};
/// use tls_policy::{ClientAuth, TlsVersion};
///
/// let settings = Settings::builder()
///     .home("/srv")
///     .policy("client", |p| {
///         p.base_directory("certificates/client")
///             .client_auth(ClientAuth::None)
///             .tls_versions([TlsVersion::Tls13])
///     })
///     .bind("bolt", "client")
///     .listen("bolt", "127.0.0.1:0")
///     .tls_level("bolt", TlsLevel::Optional)
///     .backend("rustls-ring")
///     .build()?;
///
/// let policy = settings.channel_policy("bolt").expect("bolt is bound");
/// assert_eq!(policy.public_certificate, Path::new("/srv/certificates/client/public.crt"));
/// assert_eq!(policy.tls_versions, [TlsVersion::Tls13]);
/// assert_eq!(settings.channels["bolt"].listen_address.as_deref(), Some("127.0.0.1:0"));
///
/// // The same rules as the file, e.g. a bound policy must be defined.
/// let err = Settings::builder().bind("bolt", "nope").build().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "builder: bolt.ssl_policy: channel `bolt` is bound to policy `nope`, which is not \
///      defined; define it with `dbms.ssl.policy.nope.base_directory=<directory>`"
/// );
/// # Ok::<(), tls_policy::Error>(())
/// ```
#[derive(Default)]
pub struct SettingsBuilder {
    home: Option<PathBuf>,
    settings: Vec<Setting>,
    /// The key as given to [`SettingsBuilder::set`], by index into `settings`: errors name it
    /// in that spelling (`server.bolt.tls_level`), not the canonical one.
    written: std::collections::BTreeMap<usize, String>,
    error: Option<Error>,
}

impl fmt::Debug for SettingsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettingsBuilder")
            .field("home", &self.home)
            .field("settings", &self.settings.len())
            .field("error", &self.error)
            .finish()
    }
}

impl SettingsBuilder {
    /// The directory relative paths resolve against (default: `.`, the working directory).
    pub fn home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// Defines or extends policy `name` (`dbms.ssl.policy.<name>.*`); `configure` sets its
    /// values. A policy needs a [`base_directory`](PolicyBuilder::base_directory).
    pub fn policy(
        mut self,
        name: impl Into<String>,
        configure: impl FnOnce(PolicyBuilder) -> PolicyBuilder,
    ) -> Self {
        let name = name.into();
        if !keys::is_valid_name(&name) {
            let key = format!("{}{name}", keys::POLICY_PREFIX);
            self.fail(
                key,
                format!(
                    "invalid policy name '{name}'; a policy name may contain only {}",
                    keys::NAME_RULE
                ),
            );
            return self;
        }
        let policy = configure(PolicyBuilder {
            name: name.clone(),
            values: Vec::new(),
            error: None,
        });
        if let Some(error) = policy.error {
            self.error.get_or_insert(error);
        } else if policy.values.is_empty() {
            let key = Target::Policy {
                policy: name.clone(),
                suffix: PolicySuffix::BaseDirectory,
            };
            self.fail(
                key.to_string(),
                format!("policy `{name}` has no base_directory: `{key}` is mandatory and defines the policy"),
            );
        }
        self.settings
            .extend(policy.values.into_iter().map(|value| Setting::Policy {
                policy: name.clone(),
                value,
            }));
        self
    }

    /// Secures `channel` with `policy` (`<channel>.ssl_policy`); `legacy` is the legacy system.
    /// Channels are named as in [`Settings::channels`]: `bolt`, `https`, `cluster`, `backup`, or
    /// the application's own.
    pub fn bind(mut self, channel: impl Into<String>, policy: impl AsRef<str>) -> Self {
        let channel = channel.into();
        if let Some(target) = self.channel_target(
            &channel,
            Target::Binding {
                channel: channel.clone(),
            },
        ) {
            self.parsed(&target, policy.as_ref());
        }
        self
    }

    /// The address `channel` listens on (`dbms.connector.<channel>.listen_address`): `host:port`,
    /// `[ipv6]:port`, or `:port` for the default listen address; port 0 picks a free port.
    pub fn listen(mut self, channel: impl Into<String>, address: impl AsRef<str>) -> Self {
        let channel = channel.into();
        let target = Target::Connector {
            channel: channel.clone(),
            suffix: ConnectorSuffix::ListenAddress,
        };
        if let Some(target) = self.channel_target(&channel, target) {
            self.parsed(&target, address.as_ref());
        }
        self
    }

    /// Whether `channel` takes TLS, plaintext or both (`dbms.connector.<channel>.tls_level`,
    /// default [`TlsLevel::Required`]).
    pub fn tls_level(self, channel: impl Into<String>, level: TlsLevel) -> Self {
        self.connector(
            channel.into(),
            ConnectorSuffix::TlsLevel,
            Ok(ConnectorValue::TlsLevel(level)),
        )
    }

    /// Whether `channel`'s connector is on (`dbms.connector.<channel>.enabled`, default `true`).
    /// Switched off, its listen address is ignored: the channel is not served, though its
    /// policy binding still stands.
    pub fn enabled(self, channel: impl Into<String>, enabled: bool) -> Self {
        self.connector(
            channel.into(),
            ConnectorSuffix::Enabled,
            Ok(ConnectorValue::Enabled(enabled)),
        )
    }

    /// What the `tls-policy` server speaks on `channel` (`dbms.connector.<channel>.kind`,
    /// default [`ConnectorKind::default_for`] the channel).
    pub fn kind(self, channel: impl Into<String>, kind: ConnectorKind) -> Self {
        self.connector(
            channel.into(),
            ConnectorSuffix::Kind,
            Ok(ConnectorValue::Kind(kind)),
        )
    }

    /// The ALPN protocols `channel`'s server side offers, in preference order
    /// (`dbms.connector.<channel>.alpn`, default [`ConnectorKind::default_alpn`] of its kind);
    /// empty for none. Each name is 1 to 255 printable ASCII characters.
    pub fn alpn<I, P>(self, channel: impl Into<String>, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let names: Vec<String> = protocols.into_iter().map(Into::into).collect();
        let parsed = if names.is_empty() {
            Ok(Vec::new())
        } else {
            values::alpn(&names.join(","))
        };
        self.connector(
            channel.into(),
            ConnectorSuffix::Alpn,
            parsed.map(ConnectorValue::Alpn),
        )
    }

    /// How long a peer may take to finish its handshake on `channel`
    /// (`dbms.connector.<channel>.handshake_timeout`, default
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`](super::DEFAULT_HANDSHAKE_TIMEOUT)); more than zero and at
    /// most one hour.
    pub fn handshake_timeout(self, channel: impl Into<String>, timeout: Duration) -> Self {
        let parsed = values::checked_handshake_timeout(timeout)
            .map(ConnectorValue::HandshakeTimeout)
            .map_err(|why| format!("invalid value {timeout:?}: {why}"));
        self.connector(channel.into(), ConnectorSuffix::HandshakeTimeout, parsed)
    }

    /// How many handshakes may be in progress at once on `channel`
    /// (`dbms.connector.<channel>.max_concurrent_handshakes`, default
    /// [`DEFAULT_MAX_CONCURRENT_HANDSHAKES`](super::DEFAULT_MAX_CONCURRENT_HANDSHAKES)); from 1
    /// to 1000000.
    pub fn max_concurrent_handshakes(self, channel: impl Into<String>, max: usize) -> Self {
        let parsed = values::checked_max_concurrent_handshakes(max)
            .map(ConnectorValue::MaxConcurrentHandshakes)
            .map_err(|why| format!("invalid value {max}: {why}; {}", values::concurrency_rule()));
        self.connector(
            channel.into(),
            ConnectorSuffix::MaxConcurrentHandshakes,
            parsed,
        )
    }

    /// How long a peer on `channel` may take, from accept, to send its complete first TLS record
    /// (`dbms.connector.<channel>.first_record_timeout`, default
    /// [`DEFAULT_FIRST_RECORD_TIMEOUT`](super::DEFAULT_FIRST_RECORD_TIMEOUT)); more than zero
    /// and at most one hour.
    pub fn first_record_timeout(self, channel: impl Into<String>, timeout: Duration) -> Self {
        self.timeout(
            channel.into(),
            ConnectorSuffix::FirstRecordTimeout,
            timeout,
            ConnectorValue::FirstRecordTimeout,
        )
    }

    /// How many connections on `channel` may wait for their handshake at once
    /// (`dbms.connector.<channel>.max_pending_handshakes`, default
    /// [`DEFAULT_MAX_PENDING_HANDSHAKES`](super::DEFAULT_MAX_PENDING_HANDSHAKES)); from 1 to
    /// 1000000.
    pub fn max_pending_handshakes(self, channel: impl Into<String>, max: usize) -> Self {
        self.count(
            channel.into(),
            ConnectorSuffix::MaxPendingHandshakes,
            max,
            ConnectorValue::MaxPendingHandshakes,
        )
    }

    /// How many connections from one source address (an IPv6 /64) on `channel` may wait for
    /// their handshake at once (`dbms.connector.<channel>.max_pending_per_address`, default
    /// [`DEFAULT_MAX_PENDING_PER_ADDRESS`](super::DEFAULT_MAX_PENDING_PER_ADDRESS)); from 1 to
    /// 1000000.
    pub fn max_pending_per_address(self, channel: impl Into<String>, max: usize) -> Self {
        self.count(
            channel.into(),
            ConnectorSuffix::MaxPendingPerAddress,
            max,
            ConnectorValue::MaxPendingPerAddress,
        )
    }

    /// How long a request's header may take to arrive on the HTTP channel `channel` of
    /// `tls-policy serve` (`dbms.connector.<channel>.http_header_read_timeout`, default
    /// [`DEFAULT_HTTP_HEADER_READ_TIMEOUT`](super::DEFAULT_HTTP_HEADER_READ_TIMEOUT)).
    pub fn http_header_read_timeout(self, channel: impl Into<String>, timeout: Duration) -> Self {
        self.timeout(
            channel.into(),
            ConnectorSuffix::HttpHeaderReadTimeout,
            timeout,
            ConnectorValue::HttpHeaderReadTimeout,
        )
    }

    /// How long an HTTP connection of `tls-policy serve` on `channel` may stay without a request
    /// in flight and without bytes before it is closed
    /// (`dbms.connector.<channel>.http_idle_timeout`, default
    /// [`DEFAULT_HTTP_IDLE_TIMEOUT`](super::DEFAULT_HTTP_IDLE_TIMEOUT)).
    pub fn http_idle_timeout(self, channel: impl Into<String>, timeout: Duration) -> Self {
        self.timeout(
            channel.into(),
            ConnectorSuffix::HttpIdleTimeout,
            timeout,
            ConnectorValue::HttpIdleTimeout,
        )
    }

    /// Reads a PROXY protocol header (`protocol`) on `channel`'s connections from `trusted`
    /// networks (`dbms.connector.<channel>.proxy_protocol` and `.proxy_protocol_trusted`,
    /// default `off`); a header from any other source closes the connection.
    pub fn proxy_protocol(
        self,
        channel: impl Into<String>,
        protocol: super::ProxyProtocol,
        trusted: impl IntoIterator<Item = super::Network>,
    ) -> Self {
        let channel = channel.into();
        let trusted: Vec<_> = trusted.into_iter().collect();
        let trusted = if trusted.is_empty() {
            Err("invalid value: no network; expected at least one".to_owned())
        } else {
            Ok(ConnectorValue::ProxyProtocolTrusted(trusted))
        };
        self.connector(
            channel.clone(),
            ConnectorSuffix::ProxyProtocol,
            Ok(ConnectorValue::ProxyProtocol(protocol)),
        )
        .connector(channel, ConnectorSuffix::ProxyProtocolTrusted, trusted)
    }

    /// A connector timeout, checked as the handshake timeout is.
    fn timeout(
        self,
        channel: String,
        suffix: ConnectorSuffix,
        timeout: Duration,
        value: fn(Duration) -> ConnectorValue,
    ) -> Self {
        let parsed = values::checked_handshake_timeout(timeout)
            .map(value)
            .map_err(|why| format!("invalid value {timeout:?}: {why}"));
        self.connector(channel, suffix, parsed)
    }

    /// A connector count, checked as the handshake cap is.
    fn count(
        self,
        channel: String,
        suffix: ConnectorSuffix,
        max: usize,
        value: fn(usize) -> ConnectorValue,
    ) -> Self {
        let parsed = values::checked_max_concurrent_handshakes(max)
            .map(value)
            .map_err(|why| format!("invalid value {max}: {why}; {}", values::concurrency_rule()));
        self.connector(channel, suffix, parsed)
    }

    /// The TLS backend by feature name (`dbms.ssl.backend`): `rustls-aws-lc-rs`, `rustls-ring`
    /// or `native-tls`; checked against the compiled-in backends when the backend is chosen.
    pub fn backend(mut self, name: impl AsRef<str>) -> Self {
        self.parsed(&Target::Backend, name.as_ref());
        self
    }

    /// Where the rustls backends take their record AEAD from (`dbms.ssl.record_cipher`):
    /// `fastest` (default) or `provider`.
    pub fn record_cipher(mut self, value: impl AsRef<str>) -> Self {
        self.parsed(&Target::RecordCipher, value.as_ref());
        self
    }

    /// The host a `:port` listen address completes with
    /// (`dbms.connectors.default_listen_address`, default `127.0.0.1`).
    pub fn default_listen_address(mut self, host: impl AsRef<str>) -> Self {
        self.parsed(&Target::DefaultListenAddress, host.as_ref());
        self
    }

    /// The legacy system's certificate subject
    /// (`dbms.connectors.default_advertised_address`, default `localhost`).
    pub fn default_advertised_address(mut self, host: impl AsRef<str>) -> Self {
        self.parsed(&Target::DefaultAdvertisedAddress, host.as_ref());
        self
    }

    /// The legacy system's directory (`dbms.directories.certificates`, default `certificates`);
    /// relative to home.
    pub fn certificates_directory(mut self, directory: impl Into<PathBuf>) -> Self {
        let directory = directory.into();
        match non_empty(directory) {
            Some(directory) => self
                .settings
                .push(Setting::CertificatesDirectory(directory)),
            None => self.fail(
                Target::CertificatesDirectory.to_string(),
                "empty value; expected a path".to_owned(),
            ),
        }
        self
    }

    /// Any setting by its config key and text value, exactly as a config line `key=value`
    /// (for example settings passed through from elsewhere). Unlike a file, a key outside
    /// tls-policy's namespaces is an error here.
    ///
    /// `server.<scope>.*` keys of a custom scope are read once the scope is declared, by
    /// [`SettingsBuilder::custom_scopes`] or `set("dbms.ssl.custom_scopes", …)`: declare it
    /// first.
    pub fn set(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let key = key.as_ref().trim();
        let custom_scopes = self.custom_scope_names();
        match keys::classify_with(key, &custom_scopes) {
            Ok(Some(target)) => match values::parse(&target, value.as_ref()) {
                Ok(setting) => {
                    self.written.insert(self.settings.len(), key.to_owned());
                    self.settings.push(setting);
                }
                Err(message) => self.fail(key.to_owned(), message),
            },
            Ok(None) => {
                let connector_suffixes = ConnectorSuffix::ALL.map(ConnectorSuffix::as_str);
                self.fail(
                    key.to_owned(),
                    format!(
                        "not a tls-policy setting; expected dbms.ssl.policy.<policy>.<suffix>, \
                         <channel>.ssl_policy, dbms.connector.<channel>.<suffix> (suffix {}), \
                         dbms.connectors.default_listen_address, \
                         dbms.connectors.default_advertised_address, \
                         dbms.directories.certificates, dbms.ssl.backend, \
                         dbms.ssl.record_cipher, dbms.security.tls_reload_enabled, or their 4.x/5.x spellings \
                         (server.bolt.*, server.https.*, dbms.default_listen_address, …)",
                        connector_suffixes.join(", ")
                    ),
                );
            }
            Err(message) => self.fail(key.to_owned(), message),
        }
        self
    }

    /// Checks everything and yields the settings, or the first mistake.
    pub fn build(self) -> Result<Settings> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let home = self.home.unwrap_or_else(|| PathBuf::from("."));
        let mut draft = Draft::new(home, Duplicates::LastWins);
        for (index, setting) in self.settings.into_iter().enumerate() {
            let key = match self.written.get(&index) {
                Some(key) => key.clone(),
                None => setting.target().to_string(),
            };
            draft.set(setting, Source::Builder, key)?;
        }
        draft.finish()
    }

    /// `dbms.ssl.custom_scopes` (**ours**, the 4.x/5.x scope form): the application's own
    /// scopes, each then switched on by `set("dbms.ssl.policy.<name>.enabled", "true")` and
    /// configured by `server.<name>.*` keys (or the channel setters), like `bolt`.
    ///
    /// ```
    /// use tls_policy::config::Settings;
    ///
    /// let settings = Settings::builder()
    ///     .custom_scopes(["grpc"])
    ///     .set("dbms.ssl.policy.grpc.enabled", "true")
    ///     .set("server.grpc.listen_address", "127.0.0.1:0")
    ///     .build()?;
    /// assert_eq!(settings.channels["grpc"].policy.as_deref(), Some("grpc"));
    /// assert_eq!(settings.channels["grpc"].key("listen_address"), "server.grpc.listen_address");
    /// # Ok::<(), tls_policy::Error>(())
    /// ```
    pub fn custom_scopes<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list: Vec<String> = names.into_iter().map(|n| n.as_ref().to_owned()).collect();
        self.parsed(&Target::CustomScopes, &list.join(","));
        self
    }

    /// The custom scopes declared so far (the last declaration wins, as in [`Self::build`]).
    fn custom_scope_names(&self) -> Vec<String> {
        self.settings
            .iter()
            .rev()
            .find_map(|setting| match setting {
                Setting::CustomScopes(names) => Some(names.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Records the `suffix` setting of `channel`, or the error naming its key.
    fn connector(
        mut self,
        channel: String,
        suffix: ConnectorSuffix,
        parsed: std::result::Result<ConnectorValue, String>,
    ) -> Self {
        let target = Target::Connector {
            channel: channel.clone(),
            suffix,
        };
        if let Some(target) = self.channel_target(&channel, target) {
            match parsed {
                Ok(value) => self.settings.push(Setting::Connector { channel, value }),
                Err(message) => self.fail(target.to_string(), message),
            }
        }
        self
    }

    /// `target`, if `channel` is a valid channel name; otherwise records the error.
    fn channel_target(&mut self, channel: &str, target: Target) -> Option<Target> {
        if keys::is_valid_name(channel) {
            Some(target)
        } else {
            self.fail(
                target.to_string(),
                format!(
                    "invalid channel name '{channel}'; a channel name may contain only {}",
                    keys::NAME_RULE
                ),
            );
            None
        }
    }

    /// Parses `raw` for `target` as a config file would, recording the setting or the error.
    fn parsed(&mut self, target: &Target, raw: &str) {
        match values::parse(target, raw) {
            Ok(setting) => self.settings.push(setting),
            Err(message) => self.fail(target.to_string(), message),
        }
    }

    fn fail(&mut self, key: String, message: String) {
        self.error.get_or_insert(Error::Config {
            source_location: Source::Builder,
            key,
            message,
        });
    }
}

/// The settings of one policy, inside [`SettingsBuilder::policy`]. Paths relative to home
/// (`base_directory`) or to the base directory (the others), as in a config file.
pub struct PolicyBuilder {
    name: String,
    values: Vec<PolicyValue>,
    error: Option<Error>,
}

impl fmt::Debug for PolicyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyBuilder")
            .field("name", &self.name)
            .field("values", &self.values.len())
            .field("error", &self.error)
            .finish()
    }
}

impl PolicyBuilder {
    /// `base_directory`: mandatory, defines the policy; relative to home.
    pub fn base_directory(self, dir: impl Into<PathBuf>) -> Self {
        self.path(
            PolicySuffix::BaseDirectory,
            dir.into(),
            PolicyValue::BaseDirectory,
        )
    }

    /// `private_key` (default `private.key`); relative to the base directory.
    pub fn private_key(self, file: impl Into<PathBuf>) -> Self {
        self.path(
            PolicySuffix::PrivateKey,
            file.into(),
            PolicyValue::PrivateKey,
        )
    }

    /// `private_key_password`: the password of an encrypted PKCS#8 key.
    pub fn private_key_password(self, password: impl AsRef<str>) -> Self {
        let parsed = values::password(password.as_ref()).map(PolicyValue::PrivateKeyPassword);
        self.push(PolicySuffix::PrivateKeyPassword, parsed)
    }

    /// `public_certificate` (default `public.crt`); relative to the base directory.
    pub fn public_certificate(self, file: impl Into<PathBuf>) -> Self {
        self.path(
            PolicySuffix::PublicCertificate,
            file.into(),
            PolicyValue::PublicCertificate,
        )
    }

    /// `trusted_dir` (default `trusted`); relative to the base directory.
    pub fn trusted_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.path(
            PolicySuffix::TrustedDir,
            dir.into(),
            PolicyValue::TrustedDir,
        )
    }

    /// `revoked_dir` (default `revoked`); relative to the base directory.
    pub fn revoked_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.path(
            PolicySuffix::RevokedDir,
            dir.into(),
            PolicyValue::RevokedDir,
        )
    }

    /// `client_auth` (default [`ClientAuth::Require`]).
    pub fn client_auth(self, client_auth: ClientAuth) -> Self {
        self.push(
            PolicySuffix::ClientAuth,
            Ok(PolicyValue::ClientAuth(client_auth)),
        )
    }

    /// `ciphers`, in preference order (default: the backend's own list); duplicates dropped,
    /// an empty list is an error. Names: [`CipherSuite::from_name`].
    pub fn ciphers(self, suites: impl IntoIterator<Item = CipherSuite>) -> Self {
        let parsed =
            values::normalize_ciphers(suites.into_iter().collect()).map(PolicyValue::Ciphers);
        self.push(PolicySuffix::Ciphers, parsed)
    }

    /// `tls_versions` (default TLS 1.2 and 1.3); sorted and deduplicated, an empty list is an
    /// error.
    pub fn tls_versions(self, versions: impl IntoIterator<Item = TlsVersion>) -> Self {
        let parsed = values::normalize_tls_versions(versions.into_iter().collect())
            .map(PolicyValue::TlsVersions);
        self.push(PolicySuffix::TlsVersions, parsed)
    }

    /// `allow_key_generation` (default `false`): create a self-signed pair at start-up when
    /// both files are missing. For development only.
    pub fn allow_key_generation(self, allow: bool) -> Self {
        self.push(
            PolicySuffix::AllowKeyGeneration,
            Ok(PolicyValue::AllowKeyGeneration(allow)),
        )
    }

    /// `trust_all` (default `false`): accept any peer certificate.
    pub fn trust_all(self, trust_all: bool) -> Self {
        self.push(PolicySuffix::TrustAll, Ok(PolicyValue::TrustAll(trust_all)))
    }

    /// `verify_hostname` (default `false`): client side, check the server's name.
    pub fn verify_hostname(self, verify: bool) -> Self {
        self.push(
            PolicySuffix::VerifyHostname,
            Ok(PolicyValue::VerifyHostname(verify)),
        )
    }

    /// `session_resumption` (default `true`): offer session resumption (a session cache and
    /// tickets) on the server side where the backend can; `false` makes every connection a
    /// full handshake.
    pub fn session_resumption(self, resume: bool) -> Self {
        self.push(
            PolicySuffix::SessionResumption,
            Ok(PolicyValue::SessionResumption(resume)),
        )
    }

    /// `session_ticket_keys` (default none): the file of session-ticket keys shared by every
    /// replica, so a session started on one resumes on another; relative to the base directory.
    /// Needs `session_resumption=true`; rustls backends only.
    pub fn session_ticket_keys(self, file: impl Into<PathBuf>) -> Self {
        self.path(
            PolicySuffix::SessionTicketKeys,
            file.into(),
            PolicyValue::SessionTicketKeys,
        )
    }

    /// `allowed_peers` (default unset: every peer whose certificate verifies): a comma list of
    /// `dns:`, `uri:`, `ip:`, `cn:`, `ou:`, `sha256:` and `spki-sha256:` patterns
    /// ([`crate::AllowedPeers`]); a pattern that cannot match is an error at [`SettingsBuilder::build`].
    pub fn allowed_peers(self, list: &str) -> Self {
        let parsed = values::allowed_peers(list).map(PolicyValue::AllowedPeers);
        self.push(PolicySuffix::AllowedPeers, parsed)
    }

    /// `allowed_peers_reload` (default [`AllowedPeersReload::NewHandshakes`]): whether a
    /// reload that changes `allowed_peers` also closes the live connections the new list
    /// refuses ([`AllowedPeersReload::All`]).
    pub fn allowed_peers_reload(self, mode: AllowedPeersReload) -> Self {
        self.push(
            PolicySuffix::AllowedPeersReload,
            Ok(PolicyValue::AllowedPeersReload(mode)),
        )
    }

    fn path(self, suffix: PolicySuffix, path: PathBuf, make: fn(PathBuf) -> PolicyValue) -> Self {
        let parsed = non_empty(path)
            .map(make)
            .ok_or_else(|| "empty value; expected a path".to_owned());
        self.push(suffix, parsed)
    }

    fn push(
        mut self,
        suffix: PolicySuffix,
        parsed: std::result::Result<PolicyValue, String>,
    ) -> Self {
        match parsed {
            Ok(value) => self.values.push(value),
            Err(message) => {
                let key = Target::Policy {
                    policy: self.name.clone(),
                    suffix,
                }
                .to_string();
                self.error.get_or_insert(Error::Config {
                    source_location: Source::Builder,
                    key,
                    message,
                });
            }
        }
        self
    }
}

fn non_empty(path: PathBuf) -> Option<PathBuf> {
    (!path.as_os_str().is_empty()).then_some(path)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    /// The same settings with every source replaced by [`Source::Builder`].
    fn without_sources(mut settings: Settings) -> Settings {
        for policy in settings.policies.values_mut() {
            for source in policy.sources.values_mut() {
                *source = Source::Builder;
            }
        }
        if let Some((_, source)) = &mut settings.backend {
            *source = Source::Builder;
        }
        for channel in settings.channels.values_mut() {
            for written in channel.written.values_mut() {
                written.source = Source::Builder;
            }
        }
        settings
    }

    #[test]
    fn builder_and_file_yield_equal_settings() {
        let text = "
dbms.ssl.policy.client.base_directory=certificates/client
dbms.ssl.policy.client.client_auth=NONE
dbms.ssl.policy.client.tls_versions=TLSv1.3
dbms.ssl.policy.cluster.base_directory=/etc/tls/cluster
dbms.ssl.policy.cluster.private_key=keys/node.key
dbms.ssl.policy.cluster.private_key_password=hunter2
dbms.ssl.policy.cluster.public_certificate=certs/node.crt
dbms.ssl.policy.cluster.trusted_dir=/etc/tls/ca
dbms.ssl.policy.cluster.revoked_dir=crl
dbms.ssl.policy.cluster.ciphers=TLS_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
dbms.ssl.policy.cluster.allow_key_generation=false
dbms.ssl.policy.cluster.trust_all=false
dbms.ssl.policy.cluster.verify_hostname=true
dbms.ssl.policy.cluster.session_resumption=false
bolt.ssl_policy=client
causal_clustering.ssl_policy=cluster
https.ssl_policy=legacy
dbms.connectors.default_listen_address=0.0.0.0
dbms.connectors.default_advertised_address=db.example.com
dbms.directories.certificates=/etc/neo4j/certificates
dbms.connector.bolt.listen_address=:7687
dbms.connector.bolt.tls_level=OPTIONAL
dbms.connector.https.listen_address=127.0.0.1:0
dbms.connector.https.kind=echo
dbms.connector.https.handshake_timeout=1500ms
dbms.connector.bolt.kind=http
dbms.connector.bolt.max_concurrent_handshakes=16
dbms.connector.backup.enabled=false
dbms.connector.backup.listen_address=:6362
dbms.connector.backup.handshake_timeout=1h
dbms.ssl.backend=rustls-ring
dbms.ssl.policy.backup.base_directory=backup
dbms.backup.ssl_policy=backup
";
        let from_file = Settings::parse(text, Path::new("neo4j.conf"), Path::new("/srv")).unwrap();
        let suite = |name| CipherSuite::from_name(name).unwrap();
        let built = Settings::builder()
            .home("/srv")
            .policy("client", |p| {
                p.base_directory("certificates/client")
                    .client_auth(ClientAuth::None)
                    .tls_versions([TlsVersion::Tls13])
            })
            .policy("cluster", |p| {
                p.base_directory("/etc/tls/cluster")
                    .private_key("keys/node.key")
                    .private_key_password("hunter2")
                    .public_certificate("certs/node.crt")
                    .trusted_dir("/etc/tls/ca")
                    .revoked_dir("crl")
                    .ciphers([
                        suite("TLS_AES_256_GCM_SHA384"),
                        suite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
                    ])
                    .allow_key_generation(false)
                    .trust_all(false)
                    .verify_hostname(true)
                    .session_resumption(false)
            })
            .policy("backup", |p| p.base_directory("backup"))
            .bind("backup", "backup")
            .enabled("backup", false)
            .listen("backup", ":6362")
            .handshake_timeout("backup", Duration::from_secs(3600))
            .bind("bolt", "client")
            .bind("cluster", "cluster")
            .bind("https", "legacy")
            .default_listen_address("0.0.0.0")
            .default_advertised_address("db.example.com")
            .certificates_directory("/etc/neo4j/certificates")
            .listen("bolt", ":7687")
            .tls_level("bolt", TlsLevel::Optional)
            .listen("https", "127.0.0.1:0")
            .kind("https", ConnectorKind::Echo)
            .handshake_timeout("https", Duration::from_millis(1500))
            .kind("bolt", ConnectorKind::Http)
            .max_concurrent_handshakes("bolt", 16)
            .backend("rustls-ring")
            .build()
            .unwrap();
        assert_eq!(built, without_sources(from_file));
        assert!(!built.policies["cluster"].session_resumption);
        assert!(built.policies["client"].session_resumption);
        assert_eq!(built.channels["backup"].listen_address, None);
        assert_eq!(built.channels["bolt"].kind, ConnectorKind::Http);
        assert_eq!(built.channels["bolt"].max_concurrent_handshakes, 16);
        assert_eq!(
            built.channels["https"].handshake_timeout,
            Duration::from_millis(1500)
        );
        assert_eq!(built.policies["cluster"].sources.len(), 11);
        assert_eq!(
            built.policies["cluster"].sources["trust_all"],
            Source::Builder
        );
    }

    #[test]
    fn set_takes_config_keys_and_text() {
        let built = Settings::builder()
            .home("/srv")
            .set("dbms.ssl.policy.p.base_directory", "p")
            .set("dbms.ssl.policy.p.client_auth", "optional")
            .set("causal_clustering.ssl_policy", "p")
            .build()
            .unwrap();
        assert_eq!(built.policies["p"].client_auth, ClientAuth::Optional);
        assert_eq!(built.channels["cluster"].policy.as_deref(), Some("p"));

        let err = Settings::builder()
            .set("dbms.memory.heap.max_size", "1G")
            .build()
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("builder: dbms.memory.heap.max_size: not a tls-policy setting"),
            "{err}"
        );
        let err = Settings::builder()
            .set("dbms.ssl.policy.p.privat_key", "k")
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("did you mean `private_key`?"),
            "{err}"
        );
    }

    #[test]
    fn later_values_win() {
        let built = Settings::builder()
            .policy("p", |p| p.base_directory("a").client_auth(ClientAuth::None))
            .policy("p", |p| p.base_directory("b"))
            .build()
            .unwrap();
        assert_eq!(built.home, Path::new("."));
        assert_eq!(built.policies["p"].base_directory, Path::new("./b"));
        assert_eq!(built.policies["p"].client_auth, ClientAuth::None);
    }

    #[test]
    fn builder_errors_name_the_key() {
        let cases: Vec<(SettingsBuilder, &str)> = vec![
            (
                Settings::builder().policy("client", |p| p.client_auth(ClientAuth::None)),
                "builder: dbms.ssl.policy.client.client_auth: policy `client` has no base_directory",
            ),
            (
                Settings::builder().policy("empty", |p| p),
                "builder: dbms.ssl.policy.empty.base_directory: policy `empty` has no base_directory",
            ),
            (
                Settings::builder().policy("legacy", |p| p.base_directory("x")),
                "builder: dbms.ssl.policy.legacy.base_directory: the policy name `legacy` is reserved",
            ),
            (
                Settings::builder().policy("a.b", |p| p.base_directory("x")),
                "builder: dbms.ssl.policy.a.b: invalid policy name 'a.b'",
            ),
            (
                Settings::builder().policy("p", |p| p.base_directory("x").tls_versions([])),
                "builder: dbms.ssl.policy.p.tls_versions: empty list",
            ),
            (
                Settings::builder().policy("p", |p| p.base_directory("x").ciphers([])),
                "builder: dbms.ssl.policy.p.ciphers: empty list",
            ),
            (
                Settings::builder().policy("p", |p| p.base_directory("")),
                "builder: dbms.ssl.policy.p.base_directory: empty value",
            ),
            (
                Settings::builder().policy("p", |p| p.base_directory("x").private_key_password("")),
                "builder: dbms.ssl.policy.p.private_key_password: empty value",
            ),
            (
                Settings::builder().bind("bolt", "client"),
                "builder: bolt.ssl_policy: channel `bolt` is bound to policy `client`, which is not defined",
            ),
            (
                Settings::builder().bind("bo lt", "client"),
                "builder: bo lt.ssl_policy: invalid channel name 'bo lt'",
            ),
            (
                Settings::builder().bind("backup", "a b"),
                "builder: dbms.backup.ssl_policy: invalid value 'a b'",
            ),
            (
                Settings::builder().listen("bolt", ":99999"),
                "builder: dbms.connector.bolt.listen_address: invalid value ':99999': port",
            ),
            (
                Settings::builder().listen("bolt", ":7687"),
                "builder: dbms.connector.bolt.listen_address: channel `bolt` listens with tls_level REQUIRED but no policy",
            ),
            (
                Settings::builder().handshake_timeout("bolt", Duration::ZERO),
                "builder: dbms.connector.bolt.handshake_timeout: invalid value 0ns: a \
                 timeout of 0 would cut every connection",
            ),
            (
                Settings::builder().handshake_timeout("bolt", Duration::from_secs(3601)),
                "builder: dbms.connector.bolt.handshake_timeout: invalid value 3601s: longer than 1h",
            ),
            (
                Settings::builder().max_concurrent_handshakes("bolt", 0),
                "builder: dbms.connector.bolt.max_concurrent_handshakes: invalid value 0: 0 would \
                 refuse every handshake; expected a whole number from 1 to 1000000",
            ),
            (
                Settings::builder().max_concurrent_handshakes("bolt", usize::MAX),
                "builder: dbms.connector.bolt.max_concurrent_handshakes: invalid value",
            ),
            (
                Settings::builder().kind("a.b", ConnectorKind::Http),
                "builder: dbms.connector.a.b.kind: invalid channel name 'a.b'",
            ),
            (
                Settings::builder().enabled("a b", false),
                "builder: dbms.connector.a b.enabled: invalid channel name 'a b'",
            ),
            (
                Settings::builder().set("dbms.connector.bolt.handshake_timeout", "10x"),
                "builder: dbms.connector.bolt.handshake_timeout: invalid value '10x'; expected a \
                 duration",
            ),
            (
                Settings::builder().set("dbms.connector.bolt.kinds", "http"),
                "builder: dbms.connector.bolt.kinds: unknown connector setting `kinds`; did you \
                 mean `kind`?",
            ),
            (
                Settings::builder().set("dbms.connector.bolt.advertised_address", "x:1"),
                "builder: dbms.connector.bolt.advertised_address: not a tls-policy setting; \
                 expected dbms.ssl.policy.<policy>.<suffix>, <channel>.ssl_policy, \
                 dbms.connector.<channel>.<suffix> (suffix enabled, listen_address, tls_level, \
                 kind, handshake_timeout, max_concurrent_handshakes, first_record_timeout, \
                 max_pending_handshakes, max_pending_per_address, http_header_read_timeout, \
                 http_idle_timeout, proxy_protocol, proxy_protocol_trusted, \
                 ocsp_stapling_enabled, alpn),",
            ),
            (
                Settings::builder().backend(""),
                "builder: dbms.ssl.backend: invalid value ''",
            ),
            (
                Settings::builder().default_listen_address("0.0.0.0:1"),
                "builder: dbms.connectors.default_listen_address: invalid value '0.0.0.0:1'",
            ),
            (
                Settings::builder().certificates_directory(""),
                "builder: dbms.directories.certificates: empty value",
            ),
        ];
        for (builder, expected) in cases {
            let err = builder.build().unwrap_err().to_string();
            assert!(
                err.starts_with(expected),
                "expected {expected}\n     got {err}"
            );
        }
    }

    #[test]
    fn plaintext_listener_needs_no_policy() {
        let built = Settings::builder()
            .listen("http", ":7474")
            .tls_level("http", TlsLevel::Disabled)
            .build()
            .unwrap();
        assert_eq!(
            built.channels["http"].listen_address.as_deref(),
            Some("127.0.0.1:7474")
        );
        assert!(built.policies.is_empty());
        let empty: BTreeMap<String, _> = BTreeMap::new();
        assert_eq!(Settings::builder().build().unwrap().policies, empty);
    }

    #[test]
    fn builder_defaults_and_limits() {
        let built = Settings::builder()
            .bind("https", "legacy")
            .handshake_timeout("bolt", Duration::from_micros(1))
            .max_concurrent_handshakes("bolt", 1)
            .max_concurrent_handshakes("app", 1_000_000)
            .handshake_timeout("app", Duration::from_secs(3600))
            .build()
            .unwrap();
        let https = &built.channels["https"];
        assert_eq!(https.kind, ConnectorKind::Http);
        assert_eq!(
            https.handshake_timeout,
            super::super::DEFAULT_HANDSHAKE_TIMEOUT
        );
        assert_eq!(
            https.max_concurrent_handshakes,
            super::super::DEFAULT_MAX_CONCURRENT_HANDSHAKES
        );
        assert_eq!(built.channels["bolt"].kind, ConnectorKind::Echo);
        assert_eq!(
            built.channels["bolt"].handshake_timeout,
            Duration::from_micros(1)
        );
        assert_eq!(built.channels["bolt"].max_concurrent_handshakes, 1);
        assert_eq!(built.channels["app"].max_concurrent_handshakes, 1_000_000);
        // Later values win, for connector settings too.
        let built = Settings::builder()
            .kind("bolt", ConnectorKind::Http)
            .kind("bolt", ConnectorKind::Echo)
            .enabled("bolt", true)
            .enabled("bolt", false)
            .listen("bolt", ":7687")
            .build()
            .unwrap();
        assert_eq!(built.channels["bolt"].kind, ConnectorKind::Echo);
        assert_eq!(built.channels["bolt"].listen_address, None);
    }

    #[test]
    fn builder_set_takes_the_new_keys() {
        let built = Settings::builder()
            .set("dbms.ssl.policy.p.base_directory", "p")
            .set("dbms.ssl.policy.p.session_resumption", "False")
            .set("dbms.connector.bolt.kind", "HTTP")
            .set("dbms.connector.bolt.handshake_timeout", "2m")
            .set("dbms.connector.bolt.max_concurrent_handshakes", "64")
            .build()
            .unwrap();
        let direct = Settings::builder()
            .policy("p", |p| p.base_directory("p").session_resumption(false))
            .kind("bolt", ConnectorKind::Http)
            .handshake_timeout("bolt", Duration::from_secs(120))
            .max_concurrent_handshakes("bolt", 64)
            .build()
            .unwrap();
        assert_eq!(built, direct);
    }

    #[test]
    fn builder_session_ticket_keys_match_the_file_and_need_resumption() {
        let from_file = Settings::parse(
            "dbms.ssl.policy.p.base_directory=p\ndbms.ssl.policy.p.session_ticket_keys=t.keys\n",
            Path::new("neo4j.conf"),
            Path::new("/srv"),
        )
        .unwrap();
        let built = Settings::builder()
            .home("/srv")
            .policy("p", |p| p.base_directory("p").session_ticket_keys("t.keys"))
            .build()
            .unwrap();
        assert_eq!(built, without_sources(from_file));
        assert_eq!(
            built.policies["p"].session_ticket_keys.as_deref(),
            Some(Path::new("/srv/p/t.keys"))
        );
        let e = Settings::builder()
            .policy("p", |p| {
                p.base_directory("p")
                    .session_resumption(false)
                    .session_ticket_keys("t.keys")
            })
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dbms.ssl.policy.p.session_ticket_keys")
                && e.contains("session_resumption=false"),
            "{e}"
        );
    }

    #[test]
    fn builder_set_reads_the_scope_form_like_a_file() {
        let built = Settings::builder()
            .home("/h")
            .set("dbms.ssl.policy.cluster.enabled", "true")
            .set("server.cluster.listen_address", ":6000")
            .set("server.default_listen_address", "0.0.0.0")
            .set("dbms.security.tls_reload_enabled", "false")
            .build()
            .unwrap();
        let parsed = Settings::parse(
            "dbms.ssl.policy.cluster.enabled=true\n\
             server.cluster.listen_address=:6000\n\
             server.default_listen_address=0.0.0.0\n\
             dbms.security.tls_reload_enabled=false\n",
            Path::new("x"),
            Path::new("/h"),
        )
        .unwrap();
        assert_eq!(without_sources(built), without_sources(parsed.clone()));
        assert_eq!(parsed.form, crate::config::ConfigForm::Scope);
        assert!(!parsed.tls_reload_enabled);
        let err = Settings::builder()
            .set("dbms.ssl.policy.bolt.enabled", "true")
            .bind("https", "bolt")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("this file mixes"), "{err}");
    }

    #[test]
    fn debug_hides_the_password() {
        let builder = Settings::builder().policy("p", |p| {
            p.base_directory("x").private_key_password("hunter2")
        });
        assert!(!format!("{builder:?}").contains("hunter2"));
    }
}
