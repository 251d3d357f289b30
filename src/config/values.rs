//! Parsing setting values into typed settings, with errors that name the value and what is allowed.

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::time::Duration;

use tls_policy_backend::{AllowedPeers, CipherSuite, ClientAuth, RecordCipher, TlsVersion};

use super::keys::{self, ConnectorSuffix, PolicySuffix, Target};
use super::model::{AllowedPeersReload, ConnectorKind, TlsLevel};
use super::proxy::{self, Network, ProxyProtocol};
use super::suggest;

// === Setting ===

/// One setting with its value parsed: what a config line or a builder call contributes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Setting {
    /// `dbms.ssl.policy.<policy>.<suffix>=<value>`.
    Policy { policy: String, value: PolicyValue },
    /// `<channel>.ssl_policy=<policy>`.
    Binding { channel: String, policy: String },
    /// `dbms.connector.<channel>.<suffix>=<value>`.
    Connector {
        channel: String,
        value: ConnectorValue,
    },
    /// `dbms.connectors.default_listen_address`: a host.
    DefaultListenAddress(String),
    /// `dbms.connectors.default_advertised_address`: a host.
    DefaultAdvertisedAddress(String),
    /// `dbms.directories.certificates`.
    CertificatesDirectory(PathBuf),
    /// `dbms.ssl.backend`.
    Backend(String),
    /// `dbms.ssl.record_cipher`.
    RecordCipher(RecordCipher),
    /// `dbms.security.tls_reload_enabled`.
    TlsReloadEnabled(bool),
    /// `dbms.netty.ssl.provider`: `JDK`, `OPENSSL` or `OPENSSL_REFCNT`, as written upper-case.
    NettySslProvider(String),
    /// `dbms.ssl.custom_scopes`: the application's own scope names.
    CustomScopes(Vec<String>),
}

/// The value of one policy setting; the variant is the suffix.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PolicyValue {
    BaseDirectory(PathBuf),
    PrivateKey(PathBuf),
    PrivateKeyPassword(String),
    PublicCertificate(PathBuf),
    TrustedDir(PathBuf),
    RevokedDir(PathBuf),
    ClientAuth(ClientAuth),
    Ciphers(Vec<CipherSuite>),
    TlsVersions(Vec<TlsVersion>),
    AllowKeyGeneration(bool),
    TrustAll(bool),
    VerifyHostname(bool),
    SessionResumption(bool),
    SessionTicketKeys(PathBuf),
    AllowedPeers(AllowedPeers),
    AllowedPeersReload(AllowedPeersReload),
    Enabled(bool),
}

/// The value of one connector setting; the variant is the suffix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConnectorValue {
    Enabled(bool),
    ListenAddress(ListenAddress),
    TlsLevel(TlsLevel),
    Kind(ConnectorKind),
    HandshakeTimeout(Duration),
    MaxConcurrentHandshakes(usize),
    FirstRecordTimeout(Duration),
    MaxPendingHandshakes(usize),
    MaxPendingPerAddress(usize),
    HttpHeaderReadTimeout(Duration),
    HttpIdleTimeout(Duration),
    ProxyProtocol(ProxyProtocol),
    ProxyProtocolTrusted(Vec<Network>),
    /// Only `false` is accepted: OCSP stapling is not served yet.
    OcspStaplingEnabled(bool),
    /// The ALPN protocol names, in preference order; empty for `none`.
    Alpn(Vec<String>),
}

impl Setting {
    /// The setting this value is for.
    pub(crate) fn target(&self) -> Target {
        match self {
            Setting::Policy { policy, value } => Target::Policy {
                policy: policy.clone(),
                suffix: value.suffix(),
            },
            Setting::Binding { channel, .. } => Target::Binding {
                channel: channel.clone(),
            },
            Setting::Connector { channel, value } => Target::Connector {
                channel: channel.clone(),
                suffix: value.suffix(),
            },
            Setting::DefaultListenAddress(_) => Target::DefaultListenAddress,
            Setting::DefaultAdvertisedAddress(_) => Target::DefaultAdvertisedAddress,
            Setting::CertificatesDirectory(_) => Target::CertificatesDirectory,
            Setting::Backend(_) => Target::Backend,
            Setting::RecordCipher(_) => Target::RecordCipher,
            Setting::TlsReloadEnabled(_) => Target::TlsReloadEnabled,
            Setting::NettySslProvider(_) => Target::NettySslProvider,
            Setting::CustomScopes(_) => Target::CustomScopes,
        }
    }
}

impl PolicyValue {
    /// The suffix this value is for.
    pub(crate) fn suffix(&self) -> PolicySuffix {
        match self {
            PolicyValue::BaseDirectory(_) => PolicySuffix::BaseDirectory,
            PolicyValue::PrivateKey(_) => PolicySuffix::PrivateKey,
            PolicyValue::PrivateKeyPassword(_) => PolicySuffix::PrivateKeyPassword,
            PolicyValue::PublicCertificate(_) => PolicySuffix::PublicCertificate,
            PolicyValue::TrustedDir(_) => PolicySuffix::TrustedDir,
            PolicyValue::RevokedDir(_) => PolicySuffix::RevokedDir,
            PolicyValue::ClientAuth(_) => PolicySuffix::ClientAuth,
            PolicyValue::Ciphers(_) => PolicySuffix::Ciphers,
            PolicyValue::TlsVersions(_) => PolicySuffix::TlsVersions,
            PolicyValue::AllowKeyGeneration(_) => PolicySuffix::AllowKeyGeneration,
            PolicyValue::TrustAll(_) => PolicySuffix::TrustAll,
            PolicyValue::VerifyHostname(_) => PolicySuffix::VerifyHostname,
            PolicyValue::SessionResumption(_) => PolicySuffix::SessionResumption,
            PolicyValue::SessionTicketKeys(_) => PolicySuffix::SessionTicketKeys,
            PolicyValue::AllowedPeers(_) => PolicySuffix::AllowedPeers,
            PolicyValue::AllowedPeersReload(_) => PolicySuffix::AllowedPeersReload,
            PolicyValue::Enabled(_) => PolicySuffix::Enabled,
        }
    }
}

impl ConnectorValue {
    /// The suffix this value is for.
    pub(crate) fn suffix(&self) -> ConnectorSuffix {
        match self {
            ConnectorValue::Enabled(_) => ConnectorSuffix::Enabled,
            ConnectorValue::ListenAddress(_) => ConnectorSuffix::ListenAddress,
            ConnectorValue::TlsLevel(_) => ConnectorSuffix::TlsLevel,
            ConnectorValue::Kind(_) => ConnectorSuffix::Kind,
            ConnectorValue::HandshakeTimeout(_) => ConnectorSuffix::HandshakeTimeout,
            ConnectorValue::MaxConcurrentHandshakes(_) => ConnectorSuffix::MaxConcurrentHandshakes,
            ConnectorValue::FirstRecordTimeout(_) => ConnectorSuffix::FirstRecordTimeout,
            ConnectorValue::MaxPendingHandshakes(_) => ConnectorSuffix::MaxPendingHandshakes,
            ConnectorValue::MaxPendingPerAddress(_) => ConnectorSuffix::MaxPendingPerAddress,
            ConnectorValue::HttpHeaderReadTimeout(_) => ConnectorSuffix::HttpHeaderReadTimeout,
            ConnectorValue::HttpIdleTimeout(_) => ConnectorSuffix::HttpIdleTimeout,
            ConnectorValue::ProxyProtocol(_) => ConnectorSuffix::ProxyProtocol,
            ConnectorValue::ProxyProtocolTrusted(_) => ConnectorSuffix::ProxyProtocolTrusted,
            ConnectorValue::OcspStaplingEnabled(_) => ConnectorSuffix::OcspStaplingEnabled,
            ConnectorValue::Alpn(_) => ConnectorSuffix::Alpn,
        }
    }
}

/// Parses `raw` as the value of `target`; the error says what is wrong and what is allowed.
pub(crate) fn parse(target: &Target, raw: &str) -> Result<Setting, String> {
    let raw = raw.trim();
    Ok(match target {
        Target::Policy { policy, suffix } => Setting::Policy {
            policy: policy.clone(),
            value: policy_value(*suffix, raw)?,
        },
        Target::Binding { channel } => Setting::Binding {
            channel: channel.clone(),
            policy: policy_name(raw)?,
        },
        Target::Connector { channel, suffix } => Setting::Connector {
            channel: channel.clone(),
            value: connector_value(*suffix, raw)?,
        },
        Target::DefaultListenAddress => Setting::DefaultListenAddress(host(raw)?),
        Target::DefaultAdvertisedAddress => Setting::DefaultAdvertisedAddress(host(raw)?),
        Target::CertificatesDirectory => Setting::CertificatesDirectory(path(raw)?),
        Target::Backend => Setting::Backend(backend(raw)?),
        Target::RecordCipher => Setting::RecordCipher(record_cipher(raw)?),
        Target::TlsReloadEnabled => Setting::TlsReloadEnabled(boolean(raw)?),
        Target::NettySslProvider => Setting::NettySslProvider(netty_ssl_provider(raw)?),
        Target::CustomScopes => Setting::CustomScopes(custom_scopes(raw)?),
    })
}

fn policy_value(suffix: PolicySuffix, raw: &str) -> Result<PolicyValue, String> {
    Ok(match suffix {
        PolicySuffix::BaseDirectory => PolicyValue::BaseDirectory(path(raw)?),
        PolicySuffix::PrivateKey => PolicyValue::PrivateKey(path(raw)?),
        PolicySuffix::PrivateKeyPassword => PolicyValue::PrivateKeyPassword(password(raw)?),
        PolicySuffix::PublicCertificate => PolicyValue::PublicCertificate(path(raw)?),
        PolicySuffix::TrustedDir => PolicyValue::TrustedDir(path(raw)?),
        PolicySuffix::RevokedDir => PolicyValue::RevokedDir(path(raw)?),
        PolicySuffix::ClientAuth => PolicyValue::ClientAuth(client_auth(raw)?),
        PolicySuffix::Ciphers => PolicyValue::Ciphers(ciphers(raw)?),
        PolicySuffix::TlsVersions => PolicyValue::TlsVersions(tls_versions(raw)?),
        PolicySuffix::AllowKeyGeneration => PolicyValue::AllowKeyGeneration(boolean(raw)?),
        PolicySuffix::TrustAll => PolicyValue::TrustAll(boolean(raw)?),
        PolicySuffix::VerifyHostname => PolicyValue::VerifyHostname(boolean(raw)?),
        PolicySuffix::SessionResumption => PolicyValue::SessionResumption(boolean(raw)?),
        PolicySuffix::SessionTicketKeys => PolicyValue::SessionTicketKeys(path(raw)?),
        PolicySuffix::AllowedPeers => PolicyValue::AllowedPeers(allowed_peers(raw)?),
        PolicySuffix::AllowedPeersReload => {
            PolicyValue::AllowedPeersReload(allowed_peers_reload(raw)?)
        }
        PolicySuffix::Enabled => PolicyValue::Enabled(boolean(raw)?),
    })
}

fn connector_value(suffix: ConnectorSuffix, raw: &str) -> Result<ConnectorValue, String> {
    Ok(match suffix {
        ConnectorSuffix::Enabled => ConnectorValue::Enabled(boolean(raw)?),
        ConnectorSuffix::ListenAddress => ConnectorValue::ListenAddress(listen_address(raw)?),
        ConnectorSuffix::TlsLevel => ConnectorValue::TlsLevel(tls_level(raw)?),
        ConnectorSuffix::Kind => ConnectorValue::Kind(connector_kind(raw)?),
        ConnectorSuffix::HandshakeTimeout => {
            ConnectorValue::HandshakeTimeout(handshake_timeout(raw)?)
        }
        ConnectorSuffix::MaxConcurrentHandshakes => {
            ConnectorValue::MaxConcurrentHandshakes(max_concurrent_handshakes(raw)?)
        }
        // The other timeouts and counts follow the same rules as the handshake's.
        ConnectorSuffix::FirstRecordTimeout => {
            ConnectorValue::FirstRecordTimeout(handshake_timeout(raw)?)
        }
        ConnectorSuffix::MaxPendingHandshakes => {
            ConnectorValue::MaxPendingHandshakes(max_concurrent_handshakes(raw)?)
        }
        ConnectorSuffix::MaxPendingPerAddress => {
            ConnectorValue::MaxPendingPerAddress(max_concurrent_handshakes(raw)?)
        }
        ConnectorSuffix::HttpHeaderReadTimeout => {
            ConnectorValue::HttpHeaderReadTimeout(handshake_timeout(raw)?)
        }
        ConnectorSuffix::HttpIdleTimeout => {
            ConnectorValue::HttpIdleTimeout(handshake_timeout(raw)?)
        }
        ConnectorSuffix::ProxyProtocol => {
            ConnectorValue::ProxyProtocol(proxy::proxy_protocol(raw)?)
        }
        ConnectorSuffix::ProxyProtocolTrusted => {
            ConnectorValue::ProxyProtocolTrusted(proxy::networks(raw)?)
        }
        ConnectorSuffix::OcspStaplingEnabled => {
            ConnectorValue::OcspStaplingEnabled(ocsp_stapling(raw)?)
        }
        ConnectorSuffix::Alpn => ConnectorValue::Alpn(alpn(raw)?),
    })
}

/// What an ALPN list may be, for error messages.
const ALPN_RULE: &str = "expected a comma-separated list of ALPN protocol names in preference \
     order (e.g. `h2,http/1.1`; each 1 to 255 printable ASCII characters without spaces or \
     commas), or `none` for no ALPN";

/// `h2,http/1.1` (names in preference order, without duplicates) or `none`.
pub(crate) fn alpn(raw: &str) -> Result<Vec<String>, String> {
    if raw.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = Vec::new();
    for name in raw.split(',').map(str::trim) {
        checked_alpn_name(name)
            .map_err(|why| format!("invalid value '{raw}': {why}; {ALPN_RULE}"))?;
        if names.iter().any(|known| known == name) {
            return Err(format!(
                "invalid value '{raw}': `{name}` is listed twice; {ALPN_RULE}"
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// `name` if it is a protocol name a handshake can carry (RFC 7301: 1 to 255 bytes; here
/// printable ASCII, as every registered name is), otherwise what is wrong with it.
pub(crate) fn checked_alpn_name(name: &str) -> Result<&str, String> {
    if name.is_empty() {
        Err("an empty protocol name".to_owned())
    } else if name.len() > 255 {
        Err(format!(
            "a protocol name of {} bytes (at most 255)",
            name.len()
        ))
    } else if let Some(bad) = name.chars().find(|c| !c.is_ascii_graphic() || *c == ',') {
        Err(format!("`{name}` contains {bad:?}"))
    } else {
        Ok(name)
    }
}

// === scalar values ===

/// `grpc,metrics`: the application's own scope names, each a channel name not taken by the
/// framework (a scope already, the legacy system, or a 5.x `server.<name>.*` namespace of its
/// own such as `http`), without duplicates.
pub(crate) fn custom_scopes(raw: &str) -> Result<Vec<String>, String> {
    let rule = "expected a comma-separated list of channel names (letters, digits, '_' and '-'), \
                e.g. `grpc,metrics`";
    let mut names: Vec<String> = Vec::new();
    for name in raw.split(',').map(str::trim) {
        if !keys::is_valid_name(name) {
            return Err(if name.is_empty() {
                format!("invalid value '{raw}': an empty name; {rule}")
            } else {
                format!("invalid value '{raw}': `{name}` is not a channel name; {rule}")
            });
        }
        if keys::SCOPES.contains(&name) {
            return Err(format!(
                "invalid value '{raw}': `{name}` is one of the framework's scopes ({}) already; \
                 switch it on with `dbms.ssl.policy.{name}.enabled=true` and list only the \
                 application's own channels here",
                keys::SCOPES.join(", ")
            ));
        }
        if name == keys::LEGACY_POLICY || keys::FRAMEWORK_SERVER_NAMESPACES.contains(&name) {
            return Err(format!(
                "invalid value '{raw}': `{name}` is taken by the framework (`server.{name}.*` \
                 are its own settings{}); give the channel another name",
                if name == "http" {
                    ": the plaintext HTTP connector; HTTPS is the `https` scope"
                } else {
                    ""
                }
            ));
        }
        if names.iter().any(|known| known == name) {
            return Err(format!("invalid value '{raw}': `{name}` is listed twice"));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// A comma list of `allowed_peers` patterns; the error names the pattern that cannot match and
/// why (the caller adds the key and its `file:line`).
pub(crate) fn allowed_peers(raw: &str) -> Result<AllowedPeers, String> {
    raw.parse()
        .map_err(|error: tls_policy_backend::PatternError| error.to_string())
}

/// `new` or `all`, case-insensitive.
pub(crate) fn allowed_peers_reload(raw: &str) -> Result<AllowedPeersReload, String> {
    [AllowedPeersReload::NewHandshakes, AllowedPeersReload::All]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(raw.trim()))
        .ok_or_else(|| format!("invalid value '{raw}'; expected `new` or `all`"))
}

/// `NONE`, `OPTIONAL` or `REQUIRE`, case-insensitive.
pub(crate) fn client_auth(raw: &str) -> Result<ClientAuth, String> {
    [ClientAuth::None, ClientAuth::Optional, ClientAuth::Require]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(raw))
        .ok_or_else(|| format!("invalid value '{raw}'; expected one of NONE, OPTIONAL, REQUIRE"))
}

/// `REQUIRED`, `OPTIONAL` or `DISABLED`, case-insensitive.
pub(crate) fn tls_level(raw: &str) -> Result<TlsLevel, String> {
    [TlsLevel::Required, TlsLevel::Optional, TlsLevel::Disabled]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(raw))
        .ok_or_else(|| {
            format!("invalid value '{raw}'; expected one of REQUIRED, OPTIONAL, DISABLED")
        })
}

/// `fastest` or `provider`, case-insensitive.
pub(crate) fn record_cipher(raw: &str) -> Result<RecordCipher, String> {
    RecordCipher::from_name(raw).ok_or_else(|| {
        format!(
            "invalid value '{raw}'; expected one of {}",
            RecordCipher::ALL.map(RecordCipher::as_str).join(", ")
        )
    })
}

/// `http` or `echo`, case-insensitive.
pub(crate) fn connector_kind(raw: &str) -> Result<ConnectorKind, String> {
    [ConnectorKind::Http, ConnectorKind::Echo]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(raw))
        .ok_or_else(|| format!("invalid value '{raw}'; expected one of http, echo"))
}

/// The longest handshake timeout accepted.
pub(crate) const MAX_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// What a handshake timeout may be, for error messages.
const HANDSHAKE_TIMEOUT_RULE: &str = "expected a duration greater than 0 and at most 1h, written \
     as a whole number with a unit ms, s, m or h (e.g. 500ms, 10s, 2m); a bare number means \
     seconds";

/// A duration such as `500ms`, `10s`, `2m` or `1h` (a bare number is seconds), in
/// `(0, 1h]`.
pub(crate) fn handshake_timeout(raw: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid value '{raw}'; {HANDSHAKE_TIMEOUT_RULE}");
    let digits_end = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(digits_end);
    if number.is_empty() {
        return Err(invalid());
    }
    let millis_per_unit: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(invalid()),
    };
    // Digits only, so a parse failure means too large: larger than 1h either way.
    let millis = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(millis_per_unit))
        .unwrap_or(u64::MAX);
    checked_handshake_timeout(Duration::from_millis(millis))
        .map_err(|why| format!("invalid value '{raw}': {why}; {HANDSHAKE_TIMEOUT_RULE}"))
}

/// `timeout` if it is in `(0, 1h]`; otherwise what is wrong with it.
pub(crate) fn checked_handshake_timeout(timeout: Duration) -> Result<Duration, String> {
    if timeout.is_zero() {
        Err("a timeout of 0 would cut every connection".to_owned())
    } else if timeout > MAX_HANDSHAKE_TIMEOUT {
        Err("longer than 1h".to_owned())
    } else {
        Ok(timeout)
    }
}

/// The largest `max_concurrent_handshakes` accepted: far above what file-descriptor limits
/// allow, and far below what would overflow a semaphore.
pub(crate) const MAX_CONCURRENT_HANDSHAKES_LIMIT: usize = 1_000_000;

/// A whole number in `1..=1000000`.
pub(crate) fn max_concurrent_handshakes(raw: &str) -> Result<usize, String> {
    let invalid = |why: &str| format!("invalid value '{raw}'{why}; {}", concurrency_rule());
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(""));
    }
    // Digits only, so a parse failure means too large.
    let n = raw.parse::<usize>().unwrap_or(usize::MAX);
    checked_max_concurrent_handshakes(n).map_err(|why| invalid(&format!(": {why}")))
}

/// `n` if it is in `1..=1000000`; otherwise what is wrong with it.
pub(crate) fn checked_max_concurrent_handshakes(n: usize) -> Result<usize, String> {
    if n == 0 {
        Err("0 would refuse every handshake".to_owned())
    } else if n > MAX_CONCURRENT_HANDSHAKES_LIMIT {
        Err(format!("more than {MAX_CONCURRENT_HANDSHAKES_LIMIT}"))
    } else {
        Ok(n)
    }
}

/// What `max_concurrent_handshakes` may be, for error messages.
pub(crate) fn concurrency_rule() -> String {
    format!("expected a whole number from 1 to {MAX_CONCURRENT_HANDSHAKES_LIMIT}")
}

/// `true` or `false`, case-insensitive.
pub(crate) fn boolean(raw: &str) -> Result<bool, String> {
    if raw.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if raw.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("invalid value '{raw}'; expected true or false"))
    }
}

/// `true` or `false` (the framework's default): staple an OCSP response to the channel's
/// certificate. Served on the rustls backends; native-tls refuses it when the channels load.
pub(crate) fn ocsp_stapling(raw: &str) -> Result<bool, String> {
    boolean(raw)
}

/// The Netty SSL engines the framework offers: `JDK`, `OPENSSL`, `OPENSSL_REFCNT`,
/// case-insensitive (returned upper-case). The value plays no part here: `dbms.ssl.backend`
/// chooses the backend.
pub(crate) fn netty_ssl_provider(raw: &str) -> Result<String, String> {
    const PROVIDERS: [&str; 3] = ["JDK", "OPENSSL", "OPENSSL_REFCNT"];
    PROVIDERS
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(raw))
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "invalid value '{raw}'; expected one of {}",
                PROVIDERS.join(", ")
            )
        })
}

/// A non-empty path, kept as written (resolution happens once all settings are known).
pub(crate) fn path(raw: &str) -> Result<PathBuf, String> {
    if raw.is_empty() {
        Err("empty value; expected a path".to_owned())
    } else {
        Ok(PathBuf::from(raw))
    }
}

/// A non-empty password. Never echoed in errors.
pub(crate) fn password(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        Err(
            "empty value; expected the private key's password (or remove the line for an \
             unencrypted key)"
                .to_owned(),
        )
    } else {
        Ok(raw.to_owned())
    }
}

/// A backend name: checked against the compiled-in backends when the backend is chosen.
pub(crate) fn backend(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.contains(char::is_whitespace) {
        Err(format!(
            "invalid value '{raw}'; expected a backend name such as rustls-aws-lc-rs, \
             rustls-ring or native-tls"
        ))
    } else {
        Ok(raw.to_owned())
    }
}

/// The policy a channel is bound to: a name of letters, digits, `_` and `-`.
pub(crate) fn policy_name(raw: &str) -> Result<String, String> {
    if keys::is_valid_name(raw) {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "invalid value '{raw}'; expected a policy name ({})",
            keys::NAME_RULE
        ))
    }
}

// === tls_versions and ciphers ===

/// A comma-separated list of `TLSv1.2` and `TLSv1.3` (case-insensitive): ascending, deduplicated.
/// Older versions are refused as insecure.
pub(crate) fn tls_versions(raw: &str) -> Result<Vec<TlsVersion>, String> {
    let versions = list_items(raw)
        .map(tls_version)
        .collect::<Result<Vec<_>, _>>()?;
    normalize_tls_versions(versions)
}

fn tls_version(item: &str) -> Result<TlsVersion, String> {
    const ALLOWED: &str = "TLSv1.2, TLSv1.3";
    const INSECURE: &[&str] = &[
        "TLSv1",
        "TLSv1.0",
        "TLSv1.1",
        "SSLv3",
        "SSLv2",
        "SSLv2Hello",
    ];
    if let Some(version) = [TlsVersion::Tls12, TlsVersion::Tls13]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(item))
    {
        return Ok(version);
    }
    if INSECURE.iter().any(|v| v.eq_ignore_ascii_case(item)) {
        return Err(format!(
            "TLS version '{item}' is insecure, refused; allowed: {ALLOWED}"
        ));
    }
    Err(format!(
        "invalid TLS version '{item}'; expected a comma-separated list of {ALLOWED}"
    ))
}

/// Sorts and deduplicates `versions`; an empty list is an error.
pub(crate) fn normalize_tls_versions(
    mut versions: Vec<TlsVersion>,
) -> Result<Vec<TlsVersion>, String> {
    if versions.is_empty() {
        return Err("empty list; expected a comma-separated list of TLSv1.2, TLSv1.3".to_owned());
    }
    versions.sort();
    versions.dedup();
    Ok(versions)
}

/// A comma-separated list of IANA cipher suite names, in preference order, deduplicated.
pub(crate) fn ciphers(raw: &str) -> Result<Vec<CipherSuite>, String> {
    let suites = list_items(raw).map(cipher).collect::<Result<Vec<_>, _>>()?;
    normalize_ciphers(suites)
}

fn cipher(item: &str) -> Result<CipherSuite, String> {
    if let Some(suite) = CipherSuite::from_name(item) {
        return Ok(suite);
    }
    let mut message = format!("unknown cipher suite '{item}'");
    let upper = item.to_ascii_uppercase();
    if let Some(guess) = suggest::did_you_mean(&upper, CipherSuite::all().iter().map(|s| s.name()))
    {
        message.push_str(&format!("; did you mean `{guess}`?"));
    } else if item.contains('-') && !upper.starts_with("TLS_") {
        message.push_str(
            "; this looks like an OpenSSL name: use the IANA name, e.g. \
             TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 for ECDHE-RSA-AES128-GCM-SHA256",
        );
    } else {
        message.push_str(
            "; expected IANA names such as TLS_AES_128_GCM_SHA256 or \
             TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        );
    }
    Err(message)
}

/// Deduplicates `suites`, keeping the first of each; an empty list is an error.
pub(crate) fn normalize_ciphers(suites: Vec<CipherSuite>) -> Result<Vec<CipherSuite>, String> {
    let mut unique: Vec<CipherSuite> = Vec::with_capacity(suites.len());
    for suite in suites {
        if !unique.contains(&suite) {
            unique.push(suite);
        }
    }
    if unique.is_empty() {
        return Err(
            "empty list; expected a comma-separated list of IANA cipher suite names (or remove \
             the line for the backend's default)"
                .to_owned(),
        );
    }
    Ok(unique)
}

/// The non-blank items of a comma-separated list, trimmed.
fn list_items(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

// === addresses ===

/// A listen address as written: `host:port`, `[ipv6]:port`, or `:port` (no host: the default
/// listen address, known only once the whole config is read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListenAddress {
    /// The host, without brackets; `None` for `:port`.
    pub(crate) host: Option<String>,
    /// The port; 0 means any free port.
    pub(crate) port: u16,
}

impl ListenAddress {
    /// `host:port` (IPv6 hosts bracketed), the host defaulting to `default_host`.
    pub(crate) fn complete(&self, default_host: &str) -> String {
        let host = self.host.as_deref().unwrap_or(default_host);
        if host.contains(':') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Parses `host:port`, `[ipv6]:port` or `:port`, port in 0..=65535.
pub(crate) fn listen_address(raw: &str) -> Result<ListenAddress, String> {
    let expected = || format!("invalid value '{raw}'; expected host:port, [ipv6]:port or :port");
    let (host, port) = if let Some(bracketed) = raw.strip_prefix('[') {
        let (inside, rest) = bracketed.split_once(']').ok_or_else(expected)?;
        let port = rest.strip_prefix(':').ok_or_else(expected)?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "invalid value '{raw}': '{inside}' is not an IPv6 address"
            ));
        }
        (Some(inside.to_owned()), port)
    } else {
        let (host, port) = raw.rsplit_once(':').ok_or_else(expected)?;
        if host.contains(':') {
            return Err(format!(
                "invalid value '{raw}'; an IPv6 address must be in brackets, e.g. [::1]:7687"
            ));
        }
        if host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(format!("invalid value '{raw}': '{host}' is not a host"));
        }
        ((!host.is_empty()).then(|| host.to_owned()), port)
    };
    let port = port.parse::<u16>().map_err(|_| {
        format!("invalid value '{raw}': port '{port}' is not a number in 0..=65535")
    })?;
    Ok(ListenAddress { host, port })
}

/// A host without port: a name, an IPv4 address, or an IPv6 address (brackets optional, removed).
pub(crate) fn host(raw: &str) -> Result<String, String> {
    let host = match raw.strip_prefix('[') {
        Some(bracketed) => bracketed.strip_suffix(']').ok_or_else(|| {
            format!("invalid value '{raw}'; expected a host such as 0.0.0.0, localhost or [::]")
        })?,
        None => raw,
    };
    if host.is_empty()
        || host.contains(|c: char| c.is_whitespace() || c == '/' || c == '[' || c == ']')
    {
        return Err(format!(
            "invalid value '{raw}'; expected a host such as 0.0.0.0, localhost or [::]"
        ));
    }
    if host.contains(':') && host.parse::<Ipv6Addr>().is_err() {
        return Err(format!(
            "invalid value '{raw}'; expected a host without a port (the port belongs in \
             dbms.connector.<channel>.listen_address)"
        ));
    }
    Ok(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_auth_values() {
        assert_eq!(client_auth("NONE"), Ok(ClientAuth::None));
        assert_eq!(client_auth("optional"), Ok(ClientAuth::Optional));
        assert_eq!(client_auth("Require"), Ok(ClientAuth::Require));
        assert_eq!(
            client_auth("MAYBE").unwrap_err(),
            "invalid value 'MAYBE'; expected one of NONE, OPTIONAL, REQUIRE"
        );
        assert!(client_auth("REQUIRED").is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(boolean("true"), Ok(true));
        assert_eq!(boolean("FALSE"), Ok(false));
        assert_eq!(boolean("True"), Ok(true));
        let err = boolean("yes").unwrap_err();
        assert!(
            err.contains("'yes'") && err.contains("true or false"),
            "{err}"
        );
        assert!(boolean("").is_err());
    }

    #[test]
    fn tls_level_values() {
        assert_eq!(tls_level("REQUIRED"), Ok(TlsLevel::Required));
        assert_eq!(tls_level("optional"), Ok(TlsLevel::Optional));
        assert_eq!(tls_level("Disabled"), Ok(TlsLevel::Disabled));
        let err = tls_level("ON").unwrap_err();
        assert!(err.contains("REQUIRED, OPTIONAL, DISABLED"), "{err}");
    }

    #[test]
    fn connector_kinds() {
        assert_eq!(connector_kind("http"), Ok(ConnectorKind::Http));
        assert_eq!(connector_kind("ECHO"), Ok(ConnectorKind::Echo));
        assert_eq!(connector_kind("Http"), Ok(ConnectorKind::Http));
        assert_eq!(
            connector_kind("https").unwrap_err(),
            "invalid value 'https'; expected one of http, echo"
        );
        assert!(connector_kind("").is_err());
    }

    #[test]
    fn handshake_timeouts() {
        let ms = Duration::from_millis;
        for (raw, expected) in [
            ("10s", ms(10_000)),
            ("500ms", ms(500)),
            ("2m", ms(120_000)),
            ("1h", ms(3_600_000)),
            ("10", ms(10_000)),
            ("1", ms(1_000)),
            ("1ms", ms(1)),
            ("3600", ms(3_600_000)),
            ("3600000ms", ms(3_600_000)),
            ("60m", ms(3_600_000)),
            ("10 s", ms(10_000)),
            ("250MS", ms(250)),
            ("007s", ms(7_000)),
        ] {
            assert_eq!(handshake_timeout(raw), Ok(expected), "{raw}");
        }
    }

    #[test]
    fn bad_handshake_timeouts() {
        for (raw, why) in [
            ("0", "of 0 would cut every connection"),
            ("0ms", "of 0"),
            ("3601", "longer than 1h"),
            ("3600001ms", "longer than 1h"),
            ("61m", "longer than 1h"),
            ("2h", "longer than 1h"),
            ("99999999999999999999999s", "longer than 1h"),
            ("18446744073709551615h", "longer than 1h"),
            ("", ""),
            ("s", ""),
            ("-5s", ""),
            ("1.5s", ""),
            ("10sec", ""),
            ("10 seconds", ""),
            ("1d", ""),
            ("ten", ""),
            ("PT10S", ""),
        ] {
            let err = handshake_timeout(raw).unwrap_err();
            assert!(err.starts_with(&format!("invalid value '{raw}'")), "{err}");
            assert!(err.contains(why), "{raw}: {err}");
            assert!(
                err.contains("500ms, 10s, 2m") && err.contains("a bare number means seconds"),
                "lists the allowed forms: {err}"
            );
        }
        assert_eq!(
            checked_handshake_timeout(Duration::from_micros(1)),
            Ok(Duration::from_micros(1))
        );
        assert!(checked_handshake_timeout(Duration::ZERO).is_err());
        assert!(
            checked_handshake_timeout(MAX_HANDSHAKE_TIMEOUT + Duration::from_nanos(1)).is_err()
        );
        assert_eq!(
            checked_handshake_timeout(MAX_HANDSHAKE_TIMEOUT),
            Ok(MAX_HANDSHAKE_TIMEOUT)
        );
    }

    #[test]
    fn handshake_limits() {
        assert_eq!(max_concurrent_handshakes("1"), Ok(1));
        assert_eq!(max_concurrent_handshakes("1024"), Ok(1024));
        assert_eq!(max_concurrent_handshakes("1000000"), Ok(1_000_000));
        assert_eq!(
            max_concurrent_handshakes("0").unwrap_err(),
            "invalid value '0': 0 would refuse every handshake; expected a whole number from 1 \
             to 1000000"
        );
        for raw in ["1000001", "99999999999999999999999"] {
            let err = max_concurrent_handshakes(raw).unwrap_err();
            assert!(err.contains("more than 1000000"), "{raw}: {err}");
        }
        for raw in ["", "-1", "+5", "1.5", "1k", "ten", "1 000"] {
            let err = max_concurrent_handshakes(raw).unwrap_err();
            assert_eq!(
                err,
                format!("invalid value '{raw}'; expected a whole number from 1 to 1000000")
            );
        }
    }

    #[test]
    fn tls_versions_sorted_and_deduplicated() {
        use TlsVersion::*;
        assert_eq!(tls_versions("TLSv1.2,TLSv1.3"), Ok(vec![Tls12, Tls13]));
        assert_eq!(
            tls_versions(" TLSv1.3 , tlsv1.2 ,TLSv1.3"),
            Ok(vec![Tls12, Tls13])
        );
        assert_eq!(tls_versions("TLSv1.3"), Ok(vec![Tls13]));
        assert_eq!(tls_versions("TLSv1.2,"), Ok(vec![Tls12]));
    }

    #[test]
    fn old_tls_versions_are_refused() {
        for old in ["TLSv1", "TLSv1.1", "SSLv3", "tlsv1.0"] {
            let err = tls_versions(&format!("TLSv1.2,{old}")).unwrap_err();
            assert!(err.contains("insecure, refused"), "{old}: {err}");
            assert!(err.contains(old), "{err}");
        }
        let err = tls_versions("TLSv2").unwrap_err();
        assert!(err.contains("invalid TLS version 'TLSv2'"), "{err}");
        let err = tls_versions(" , ").unwrap_err();
        assert!(err.starts_with("empty list"), "{err}");
        assert!(normalize_tls_versions(vec![]).is_err());
    }

    #[test]
    fn ciphers_in_order_deduplicated() {
        let suites = ciphers(
            "TLS_AES_256_GCM_SHA384, tls_ecdhe_rsa_with_aes_128_gcm_sha256,TLS_AES_256_GCM_SHA384",
        )
        .unwrap();
        let names: Vec<_> = suites.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "TLS_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ]
        );
    }

    #[test]
    fn unknown_ciphers_are_named() {
        let err = ciphers("TLS_AES_128_GCM_SHA256,TLS_FOO_BAR").unwrap_err();
        assert!(
            err.starts_with("unknown cipher suite 'TLS_FOO_BAR'"),
            "{err}"
        );
        let err = ciphers("TLS_AES_128_GCM_SHA265").unwrap_err();
        assert!(
            err.contains("did you mean `TLS_AES_128_GCM_SHA256`?"),
            "{err}"
        );
        let err = ciphers("ECDHE-RSA-AES128-GCM-SHA256").unwrap_err();
        assert!(err.contains("OpenSSL name"), "{err}");
        let err = ciphers("").unwrap_err();
        assert!(err.starts_with("empty list"), "{err}");
    }

    #[test]
    fn listen_addresses() {
        let addr = |host: Option<&str>, port| ListenAddress {
            host: host.map(str::to_owned),
            port,
        };
        assert_eq!(
            listen_address("0.0.0.0:7687"),
            Ok(addr(Some("0.0.0.0"), 7687))
        );
        assert_eq!(
            listen_address("db.example.com:0"),
            Ok(addr(Some("db.example.com"), 0))
        );
        assert_eq!(listen_address(":7687"), Ok(addr(None, 7687)));
        assert_eq!(listen_address("[::1]:65535"), Ok(addr(Some("::1"), 65535)));
        assert_eq!(addr(None, 7687).complete("127.0.0.1"), "127.0.0.1:7687");
        assert_eq!(addr(None, 7687).complete("::"), "[::]:7687");
        assert_eq!(addr(Some("::1"), 1).complete("x"), "[::1]:1");
        assert_eq!(addr(Some("h"), 1).complete("x"), "h:1");
    }

    #[test]
    fn bad_listen_addresses() {
        for (raw, expect) in [
            ("localhost", "expected host:port"),
            ("", "expected host:port"),
            (":65536", "port '65536' is not a number in 0..=65535"),
            (":-1", "port '-1'"),
            ("host:http", "port 'http'"),
            ("::1:7687", "must be in brackets"),
            ("[::1]7687", "expected host:port"),
            ("[not-v6]:1", "not an IPv6 address"),
            ("a b:1", "is not a host"),
        ] {
            let err = listen_address(raw).unwrap_err();
            assert!(err.contains(expect), "{raw}: {err}");
            assert!(err.contains(&format!("'{raw}'")), "{raw}: {err}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(host("0.0.0.0"), Ok("0.0.0.0".into()));
        assert_eq!(host("localhost"), Ok("localhost".into()));
        assert_eq!(host("::"), Ok("::".into()));
        assert_eq!(host("[::1]"), Ok("::1".into()));
        assert!(host("").is_err());
        assert!(host("0.0.0.0:7687").unwrap_err().contains("without a port"));
        assert!(host("[::1").is_err());
    }

    #[test]
    fn names_paths_and_passwords() {
        assert_eq!(policy_name("client_policy-2"), Ok("client_policy-2".into()));
        assert!(policy_name("").is_err());
        assert!(policy_name("a.b").unwrap_err().contains("'a.b'"));
        assert_eq!(path("certificates/x"), Ok(PathBuf::from("certificates/x")));
        assert!(path("").is_err());
        assert!(password("").is_err());
        assert!(backend("rustls ring").is_err());
        assert_eq!(backend("rustls-ring"), Ok("rustls-ring".into()));
    }

    #[test]
    fn parse_dispatches_on_the_target() {
        let target = Target::Policy {
            policy: "p".into(),
            suffix: PolicySuffix::ClientAuth,
        };
        let setting = parse(&target, " none ").unwrap();
        assert_eq!(setting.target(), target);
        assert!(matches!(
            setting,
            Setting::Policy {
                value: PolicyValue::ClientAuth(ClientAuth::None),
                ..
            }
        ));
        let target = Target::Connector {
            channel: "bolt".into(),
            suffix: ConnectorSuffix::TlsLevel,
        };
        assert_eq!(parse(&target, "DISABLED").unwrap().target(), target);
    }
}
