//! Property tests of the config parser: no panics on any text, errors that point into the input,
//! valid policies that round-trip through text, and unknown or repeated keys always refused.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::subsequence;

use tls_policy::config::Settings;
use tls_policy::{CipherSuite, ClientAuth, Error, Source, TlsVersion};

/// The file name errors are expected to carry.
const ORIGIN: &str = "/etc/neo4j/neo4j.conf";
/// What relative paths resolve against.
const HOME: &str = "/srv/neo4j";

/// A bounded case count: the whole file runs in seconds in a debug build.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn parse(text: &str) -> Result<Settings, Error> {
    Settings::parse(text, Path::new(ORIGIN), Path::new(HOME))
}

/// The line an error names, checking it names the input file.
fn error_line(error: &Error) -> Option<usize> {
    match error {
        Error::Config {
            source_location: Source::File { path, line },
            ..
        } => {
            assert_eq!(path, Path::new(ORIGIN), "{error}");
            Some(*line)
        }
        _ => None,
    }
}

/// Lines that look like a config: real prefixes and suffixes, typos, junk, comments, blanks.
fn config_like_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        "dbms\\.ssl\\.policy\\.[a-z_-]{0,6}\\.(base_directory|private_key|private_key_password|public_certificate|trusted_dir|revoked_dir|client_auth|ciphers|tls_versions|allow_key_generation|trust_all|verify_hostname|session_resumption|enabled|[a-z_]{0,12})",
        "[a-z]{0,8}\\.ssl_policy",
        "dbms\\.connector\\.[a-z]{0,6}\\.(enabled|listen_address|tls_level|kind|handshake_timeout|max_concurrent_handshakes|first_record_timeout|max_pending_handshakes|max_pending_per_address|http_header_read_timeout|http_idle_timeout|[a-z_]{0,10})",
        "dbms\\.(connectors\\.default_listen_address|connectors\\.default_advertised_address|directories\\.certificates|ssl\\.backend)",
        "[a-zA-Z0-9._-]{0,20}",
    ];
    let value = prop_oneof![
        "(NONE|OPTIONAL|REQUIRE|REQUIRED|DISABLED|true|false|TLSv1\\.[0-3]|TLS_AES_128_GCM_SHA256)",
        "[ -~]{0,30}",
        "[0-9]{0,12}(ms|s|m|h|)",
        ":[0-9]{0,6}",
        "\\PC{0,10}",
    ];
    prop_oneof![
        6 => (key, "[ \t]{0,2}=[ \t]{0,2}", value).prop_map(|(k, eq, v)| format!("{k}{eq}{v}")),
        1 => "#\\PC{0,20}",
        1 => "[ \t]{0,3}",
        1 => "\\PC{0,30}",
    ]
}

/// A config-like text: lines joined by `\n` or `\r\n`, maybe without a final newline.
fn config_like_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(config_like_line(), 0..12),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, trailing)| {
            let mut text = lines.join(if crlf { "\r\n" } else { "\n" });
            if trailing {
                text.push('\n');
            }
            text
        })
}

/// Checks what every parse must satisfy: Ok, or an error naming a line of the input.
fn check_parse(text: &str) -> Result<(), TestCaseError> {
    if let Err(error) = parse(text) {
        let line = error_line(&error);
        let lines = text.lines().count();
        prop_assert!(
            matches!(line, Some(l) if (1..=lines).contains(&l)),
            "error at {line:?}, input has {lines} lines: {error}"
        );
        let message = error.to_string();
        prop_assert!(message.starts_with(ORIGIN), "{message}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_text_never_panics_and_errors_point_into_it(text in any::<String>()) {
        check_parse(&text)?;
    }

    #[test]
    fn config_like_text_never_panics_and_errors_point_into_it(text in config_like_text()) {
        check_parse(&text)?;
    }
}

// === round trip ===

/// One path segment: no whitespace at the ends (values are trimmed), no `#` or `=` worries.
fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

/// A relative or absolute path of one to three segments.
fn path() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 1..4), any::<bool>()).prop_map(|(parts, absolute)| {
        let joined = parts.join("/");
        if absolute {
            format!("/{joined}")
        } else {
            joined
        }
    })
}

/// A value spelled in a random letter case (values are case-insensitive).
fn any_case(word: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.chars()
            .zip(upper)
            .map(|(c, up)| {
                if up {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

fn boolean() -> impl Strategy<Value = (bool, String)> {
    any::<bool>()
        .prop_flat_map(|b| any_case(if b { "true" } else { "false" }).prop_map(move |s| (b, s)))
}

/// Everything a policy can say, each setting present or not.
#[derive(Clone, Debug)]
struct PolicySpec {
    name: String,
    base_directory: String,
    private_key: Option<String>,
    private_key_password: Option<String>,
    public_certificate: Option<String>,
    trusted_dir: Option<String>,
    revoked_dir: Option<String>,
    client_auth: Option<ClientAuth>,
    ciphers: Option<Vec<CipherSuite>>,
    tls_versions: Option<Vec<TlsVersion>>,
    allow_key_generation: Option<(bool, String)>,
    trust_all: Option<(bool, String)>,
    verify_hostname: Option<(bool, String)>,
    session_resumption: Option<(bool, String)>,
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    let name = "[A-Za-z0-9_-]{1,12}".prop_filter("legacy is reserved", |n| n != "legacy");
    let client_auth = prop::sample::select(vec![
        ClientAuth::None,
        ClientAuth::Optional,
        ClientAuth::Require,
    ]);
    let suites = CipherSuite::all().to_vec();
    let ciphers = (1..=suites.len())
        .prop_flat_map(move |n| subsequence(suites.clone(), n))
        .prop_shuffle();
    let versions = subsequence(vec![TlsVersion::Tls12, TlsVersion::Tls13], 1..=2).prop_shuffle();
    let password = "[!-~]([ -~]{0,16}[!-~])?";
    (
        (
            name,
            path(),
            prop::option::of(path()),
            prop::option::of(password),
            prop::option::of(path()),
            prop::option::of(path()),
            prop::option::of(path()),
        ),
        (
            prop::option::of(client_auth),
            prop::option::of(ciphers),
            prop::option::of(versions),
            prop::option::of(boolean()),
            prop::option::of(boolean()),
            prop::option::of(boolean()),
            prop::option::of(boolean()),
        ),
    )
        .prop_map(
            |((name, base, key, password, cert, trusted, revoked), rest)| {
                let (client_auth, ciphers, tls_versions, generate, trust_all, verify, resume) =
                    rest;
                PolicySpec {
                    name,
                    base_directory: base,
                    private_key: key,
                    private_key_password: password,
                    public_certificate: cert,
                    trusted_dir: trusted,
                    revoked_dir: revoked,
                    client_auth,
                    ciphers,
                    tls_versions,
                    allow_key_generation: generate,
                    trust_all,
                    verify_hostname: verify,
                    session_resumption: resume,
                }
            },
        )
}

impl PolicySpec {
    /// The `suffix=value` lines of this policy.
    fn lines(&self) -> Vec<String> {
        let mut lines = vec![("base_directory", self.base_directory.clone())];
        let mut push = |suffix: &'static str, value: Option<String>| {
            if let Some(value) = value {
                lines.push((suffix, value));
            }
        };
        push("private_key", self.private_key.clone());
        push("private_key_password", self.private_key_password.clone());
        push("public_certificate", self.public_certificate.clone());
        push("trusted_dir", self.trusted_dir.clone());
        push("revoked_dir", self.revoked_dir.clone());
        push(
            "client_auth",
            self.client_auth.map(|c| c.as_str().to_owned()),
        );
        push(
            "ciphers",
            self.ciphers
                .as_ref()
                .map(|c| c.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")),
        );
        push(
            "tls_versions",
            self.tls_versions
                .as_ref()
                .map(|v| v.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")),
        );
        push(
            "allow_key_generation",
            self.allow_key_generation.clone().map(|b| b.1),
        );
        push("trust_all", self.trust_all.clone().map(|b| b.1));
        push("verify_hostname", self.verify_hostname.clone().map(|b| b.1));
        push(
            "session_resumption",
            self.session_resumption.clone().map(|b| b.1),
        );
        lines
            .into_iter()
            .map(|(suffix, value)| format!("dbms.ssl.policy.{}.{suffix}={value}", self.name))
            .collect()
    }

    /// Checks the parsed policy against what was written, defaults included.
    fn check(&self, settings: &Settings) -> Result<(), TestCaseError> {
        let policy = settings.policies.get(&self.name);
        prop_assert!(policy.is_some(), "policy {} missing", self.name);
        let Some(p) = policy else { return Ok(()) };
        let base = Path::new(HOME).join(&self.base_directory);
        let in_base = |value: &Option<String>, default: &str| -> PathBuf {
            base.join(value.as_deref().unwrap_or(default))
        };
        prop_assert_eq!(&p.name, &self.name);
        prop_assert_eq!(&p.base_directory, &base);
        prop_assert_eq!(&p.private_key, &in_base(&self.private_key, "private.key"));
        prop_assert_eq!(&p.private_key_password, &self.private_key_password);
        prop_assert_eq!(
            &p.public_certificate,
            &in_base(&self.public_certificate, "public.crt")
        );
        prop_assert_eq!(&p.trusted_dir, &in_base(&self.trusted_dir, "trusted"));
        prop_assert_eq!(&p.revoked_dir, &in_base(&self.revoked_dir, "revoked"));
        prop_assert_eq!(
            p.client_auth,
            self.client_auth.unwrap_or(ClientAuth::Require)
        );
        prop_assert_eq!(&p.ciphers, &self.ciphers);
        let mut versions = self
            .tls_versions
            .clone()
            .unwrap_or_else(|| vec![TlsVersion::Tls12, TlsVersion::Tls13]);
        versions.sort();
        prop_assert_eq!(&p.tls_versions, &versions);
        let flag =
            |value: &Option<(bool, String)>, default: bool| value.as_ref().map_or(default, |b| b.0);
        prop_assert_eq!(
            p.allow_key_generation,
            flag(&self.allow_key_generation, false)
        );
        prop_assert_eq!(p.trust_all, flag(&self.trust_all, false));
        prop_assert_eq!(p.verify_hostname, flag(&self.verify_hostname, false));
        prop_assert_eq!(p.session_resumption, flag(&self.session_resumption, true));
        Ok(())
    }
}

/// Two policies with distinct names, their lines shuffled together with comments and blanks.
fn round_trip_case() -> impl Strategy<Value = (Vec<PolicySpec>, Vec<String>)> {
    prop::collection::vec(policy_spec(), 1..3)
        .prop_map(|mut specs| {
            specs.sort_by(|a, b| a.name.cmp(&b.name));
            specs.dedup_by(|a, b| a.name == b.name);
            specs
        })
        .prop_flat_map(|specs| {
            let mut lines: Vec<String> = specs.iter().flat_map(PolicySpec::lines).collect();
            lines.push("# a comment".into());
            lines.push(String::new());
            lines.push("dbms.memory.heap.max_size=1G".into());
            (Just(specs), Just(lines).prop_shuffle())
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn valid_policies_round_trip_through_text((specs, lines) in round_trip_case()) {
        let text = lines.join("\n");
        let settings = parse(&text);
        prop_assert!(settings.is_ok(), "{:?}\n{text}", settings.err().map(|e| e.to_string()));
        let Ok(settings) = settings else { return Ok(()) };
        prop_assert_eq!(settings.policies.len(), specs.len());
        for spec in &specs {
            spec.check(&settings)?;
        }
    }
}

// === unknown suffixes and duplicates ===

const POLICY_SUFFIXES: &[&str] = &[
    "base_directory",
    "private_key",
    "private_key_password",
    "public_certificate",
    "trusted_dir",
    "revoked_dir",
    "client_auth",
    "ciphers",
    "tls_versions",
    "allow_key_generation",
    "trust_all",
    "verify_hostname",
    "session_resumption",
    "session_ticket_keys",
    // The scope form's switch: known, so never an unknown suffix.
    "enabled",
];

/// Comment and blank lines to pad a config with.
fn filler() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop_oneof!["#[ -~]{0,20}", "[ \t]{0,3}"], 0..4)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn unknown_policy_suffixes_are_errors_naming_the_key(
        name in "[A-Za-z0-9_-]{1,10}".prop_filter("legacy is reserved", |n| n != "legacy"),
        suffix in "[A-Za-z0-9_]{1,20}"
            .prop_filter("a known suffix", |s| !POLICY_SUFFIXES.contains(&s.as_str())),
        value in "[!-~]{1,10}",
        before in filler(),
        after in filler(),
    ) {
        let key = format!("dbms.ssl.policy.{name}.{suffix}");
        let mut lines = before.clone();
        lines.push(format!("dbms.ssl.policy.{name}.base_directory=certs"));
        lines.push(format!("{key}={value}"));
        lines.extend(after);
        let text = lines.join("\n");
        match parse(&text) {
            Ok(_) => prop_assert!(false, "`{key}` was accepted:\n{text}"),
            Err(error) => {
                let message = error.to_string();
                prop_assert_eq!(error_line(&error), Some(before.len() + 2), "{}", message);
                prop_assert!(
                    matches!(&error, Error::Config { key: k, .. } if *k == key),
                    "{message}"
                );
                prop_assert!(message.contains(&key), "{message}");
            }
        }
    }

    #[test]
    fn a_key_given_twice_names_both_lines(
        (key, first, second) in prop_oneof![
            (Just("dbms.ssl.policy.p.base_directory"), path(), path()),
            (Just("dbms.ssl.policy.p.client_auth"),
                prop::sample::select(vec!["NONE", "OPTIONAL", "REQUIRE"]).prop_map(String::from),
                prop::sample::select(vec!["NONE", "OPTIONAL", "REQUIRE"]).prop_map(String::from)),
            (Just("dbms.ssl.policy.p.tls_versions"), Just("TLSv1.3".to_owned()), Just("TLSv1.2".to_owned())),
            (Just("dbms.ssl.policy.p.trust_all"), any_case("false"), any_case("true")),
            (Just("bolt.ssl_policy"), Just("p".to_owned()), Just("p".to_owned())),
            (Just("dbms.connector.bolt.tls_level"), any_case("required"), any_case("disabled")),
            (Just("dbms.connector.bolt.handshake_timeout"), "[1-9][0-9]{0,2}(s|ms)", "[1-9]m"),
            (Just("dbms.connector.bolt.first_record_timeout"), "[1-9][0-9]{0,2}(s|ms)", "[1-9]m"),
            (Just("dbms.connector.bolt.max_pending_per_address"), "[1-9][0-9]{0,3}", "[1-9][0-9]{0,3}"),
        ],
        before in filler(),
        between in filler(),
        after in filler(),
    ) {
        let mut lines = before.clone();
        lines.push(format!("{key}={first}"));
        let first_line = lines.len();
        lines.extend(between);
        lines.push(format!("{key} = {second}"));
        let second_line = lines.len();
        lines.extend(after);
        if key != "dbms.ssl.policy.p.base_directory" {
            lines.push("dbms.ssl.policy.p.base_directory=certs".into());
        }
        let text = lines.join("\n");
        match parse(&text) {
            Ok(_) => prop_assert!(false, "`{key}` twice was accepted:\n{text}"),
            Err(error) => {
                let message = error.to_string();
                prop_assert_eq!(error_line(&error), Some(second_line), "{}", message);
                prop_assert!(message.contains(key), "{message}");
                prop_assert!(message.contains(&format!("{ORIGIN}:{first_line}")), "{message}");
                prop_assert!(message.contains(&format!("{ORIGIN}:{second_line}")), "{message}");
            }
        }
    }
}

// === the scope form (4.x/5.x) ===

/// The scopes and the `client_auth` each defaults to.
const SCOPES: [(&str, ClientAuth); 5] = [
    ("bolt", ClientAuth::Optional),
    ("https", ClientAuth::Optional),
    ("cluster", ClientAuth::Require),
    ("backup", ClientAuth::Require),
    ("fabric", ClientAuth::None),
];

/// One scope: switched on or off, with or without a client_auth, verify_hostname and
/// base_directory of its own.
#[derive(Clone, Debug)]
struct ScopeSpec {
    scope: &'static str,
    default_client_auth: ClientAuth,
    enabled: (bool, String),
    client_auth: Option<ClientAuth>,
    verify_hostname: Option<(bool, String)>,
    base_directory: Option<String>,
}

impl ScopeSpec {
    fn lines(&self) -> Vec<String> {
        let key = |suffix: &str| format!("dbms.ssl.policy.{}.{suffix}", self.scope);
        let mut lines = vec![format!("{}={}", key("enabled"), self.enabled.1)];
        if let Some(client_auth) = self.client_auth {
            lines.push(format!("{}={client_auth}", key("client_auth")));
        }
        if let Some((_, text)) = &self.verify_hostname {
            lines.push(format!("{}={text}", key("verify_hostname")));
        }
        if let Some(dir) = &self.base_directory {
            lines.push(format!("{}={dir}", key("base_directory")));
        }
        lines
    }

    fn check(&self, settings: &Settings, certificates: &Path) -> Result<(), TestCaseError> {
        let policy = settings.policies.get(self.scope);
        let channel = settings.channels.get(self.scope);
        if !self.enabled.0 {
            prop_assert!(policy.is_none(), "{} is off", self.scope);
            prop_assert!(channel.and_then(|c| c.policy.as_ref()).is_none());
            return Ok(());
        }
        let Some(policy) = policy else {
            return Err(TestCaseError::fail(format!("{} missing", self.scope)));
        };
        prop_assert_eq!(
            channel.and_then(|c| c.policy.as_deref()),
            Some(self.scope),
            "the scope is the channel"
        );
        prop_assert_eq!(
            policy.client_auth,
            self.client_auth.unwrap_or(self.default_client_auth)
        );
        prop_assert_eq!(
            policy.verify_hostname,
            self.verify_hostname.as_ref().is_none_or(|(b, _)| *b)
        );
        let base = match &self.base_directory {
            Some(dir) => Path::new(HOME).join(dir),
            None => certificates.join(self.scope),
        };
        prop_assert_eq!(&policy.base_directory, &base);
        prop_assert_eq!(
            &policy.tls_versions,
            &[TlsVersion::Tls12, TlsVersion::Tls13]
        );
        Ok(())
    }
}

fn scope_spec(
    scope: &'static str,
    default_client_auth: ClientAuth,
) -> impl Strategy<Value = ScopeSpec> {
    let client_auth = prop_oneof![
        Just(ClientAuth::None),
        Just(ClientAuth::Optional),
        Just(ClientAuth::Require)
    ];
    (
        boolean(),
        prop::option::of(client_auth),
        prop::option::of(boolean()),
        prop::option::of(path()),
    )
        .prop_map(
            move |(enabled, client_auth, verify_hostname, base_directory)| ScopeSpec {
                scope,
                default_client_auth,
                enabled,
                client_auth,
                verify_hostname,
                base_directory,
            },
        )
}

/// At least one scope switched on, every scope's lines shuffled with unrelated ones, and maybe
/// a certificates directory in its 3.5/4.x or 5.x spelling.
fn scope_case() -> impl Strategy<Value = (Vec<ScopeSpec>, Option<String>, Vec<String>)> {
    let specs = SCOPES.map(|(scope, auth)| scope_spec(scope, auth));
    (specs, prop::option::of(("(dbms|server)", path())))
        .prop_filter("one scope on", |(specs, _)| {
            specs.iter().any(|s| s.enabled.0)
        })
        .prop_flat_map(|(specs, certificates)| {
            let specs = specs.to_vec();
            let mut lines: Vec<String> = specs.iter().flat_map(ScopeSpec::lines).collect();
            if let Some((prefix, dir)) = &certificates {
                lines.push(format!("{prefix}.directories.certificates={dir}"));
            }
            lines.push("server.memory.heap.max_size=1G".into());
            lines.push("# a comment".into());
            (
                Just(specs),
                Just(certificates.map(|(_, dir)| dir)),
                Just(lines).prop_shuffle(),
            )
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn scope_form_files_load_each_enabled_scope_with_its_defaults(
        (specs, certificates, lines) in scope_case()
    ) {
        let text = lines.join("\n");
        let settings = parse(&text);
        prop_assert!(settings.is_ok(), "{:?}\n{text}", settings.err().map(|e| e.to_string()));
        let Ok(settings) = settings else { return Ok(()) };
        prop_assert_eq!(settings.form, tls_policy::config::ConfigForm::Scope);
        let certificates = Path::new(HOME).join(certificates.unwrap_or_else(|| "certificates".into()));
        for spec in &specs {
            spec.check(&settings, &certificates)?;
        }
    }

    #[test]
    fn a_binding_line_in_a_scope_form_file_is_refused_at_the_later_line(
        scope in prop::sample::select(vec!["bolt", "https", "cluster", "backup"]),
        channel in "[a-z]{1,8}",
        padding in 0usize..5,
        binding_first in any::<bool>(),
    ) {
        let enabled = format!("dbms.ssl.policy.{scope}.enabled=true");
        let binding = format!("{channel}.ssl_policy=p");
        let mut lines = vec!["dbms.memory.heap.max_size=1G".to_owned(); padding];
        if binding_first {
            lines.extend([binding, enabled]);
        } else {
            lines.extend([enabled, binding]);
        }
        let text = lines.join("\n");
        let error = parse(&text).expect_err("mixed forms");
        prop_assert_eq!(error_line(&error), Some(padding + 2), "{}", error);
        let message = error.to_string();
        prop_assert!(message.contains("this file mixes"), "{message}");
        prop_assert!(
            message.contains(&format!("{ORIGIN}:{}", padding + 1)),
            "names the other line: {message}"
        );
    }
}

// === keys as written; custom 5.x scopes ===

/// Connector suffixes with a value that parses, and one that does not, for each key form.
const CONNECTOR_VALUES: &[(&str, &str, &str)] = &[
    ("tls_level", "DISABLED", "MAYBE"),
    ("handshake_timeout", "3s", "soon"),
    ("max_concurrent_handshakes", "8", "lots"),
    ("alpn", "h2", "h2,h2"),
    ("kind", "echo", "smtp"),
    ("enabled", "true", "yes"),
];

/// The names a custom scope may not take: the framework's scopes and `server.*` namespaces,
/// and `legacy`.
const TAKEN_NAMES: &[&str] = &[
    "bolt",
    "https",
    "cluster",
    "backup",
    "fabric",
    "legacy",
    "http",
    "routing",
    "discovery",
    "memory",
    "metrics",
    "directories",
    "jvm",
    "logs",
    "config",
    "cypher",
    "databases",
    "db",
    "dbms",
    "dynamic",
    "groups",
    "panic",
    "query",
    "security",
    "tags",
    "threads",
];

/// A custom scope name: not one of [`TAKEN_NAMES`].
fn custom_scope_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{2,11}".prop_filter("a name of the framework's", |n| {
        !TAKEN_NAMES.contains(&n.as_str())
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// Every bad connector value names the key in the form the file wrote it, at its line;
    /// every good one is kept with that key.
    #[test]
    fn connector_errors_name_the_key_as_written(
        name in custom_scope_name(),
        form in prop::sample::select(vec!["dbms.connector", "server"]),
        (suffix, good, bad) in prop::sample::select(CONNECTOR_VALUES.to_vec()),
        declaration_last in any::<bool>(),
        padding in filler(),
    ) {
        let key = format!("{form}.{name}.{suffix}");
        let declaration = format!("dbms.ssl.custom_scopes={name}");
        let mut lines = padding.clone();
        if !declaration_last {
            lines.push(declaration.clone());
        }
        lines.push(format!("dbms.ssl.policy.{name}.enabled=true"));
        let at = lines.len() + 1;
        lines.push(format!("{key}={bad}"));
        if declaration_last {
            lines.push(declaration.clone());
        }
        let text = lines.join("\n");
        let error = parse(&text).expect_err("a bad value");
        prop_assert_eq!(error_line(&error), Some(at), "{}", error);
        prop_assert!(
            matches!(&error, Error::Config { key: k, .. } if *k == key),
            "{error}"
        );
        let text = text.replace(&format!("{key}={bad}"), &format!("{key}={good}"));
        let settings = parse(&text);
        prop_assert!(settings.is_ok(), "{:?}\n{text}", settings.err().map(|e| e.to_string()));
        let Ok(settings) = settings else { return Ok(()) };
        let channel = &settings.channels[&name];
        prop_assert_eq!(channel.policy.as_deref(), Some(name.as_str()));
        prop_assert_eq!(channel.key(suffix), key.clone());
        prop_assert_eq!(
            channel.written[suffix].source.to_string(),
            format!("{ORIGIN}:{at}")
        );
        // The other suffixes are named in the same spelling.
        prop_assert_eq!(channel.key("listen_address"), format!("{form}.{name}.listen_address"));
    }

    /// An undeclared name one typo away from a declared scope is never taken for a new channel.
    #[test]
    fn a_mistyped_custom_scope_is_an_error_with_a_suggestion(
        name in custom_scope_name(),
        at in 0usize..12,
        (suffix, good, _) in prop::sample::select(CONNECTOR_VALUES.to_vec()),
    ) {
        let mut typo: Vec<char> = name.chars().collect();
        let at = at % typo.len();
        typo[at] = if typo[at] == 'x' { 'y' } else { 'x' };
        let typo: String = typo.into_iter().collect();
        prop_assume!(typo != name && !TAKEN_NAMES.contains(&typo.as_str()));
        let text = format!(
            "dbms.ssl.custom_scopes={name}\ndbms.ssl.policy.{name}.enabled=true\n\
             server.{typo}.{suffix}={good}\n"
        );
        let error = parse(&text).expect_err("a typo");
        let message = error.to_string();
        prop_assert_eq!(error_line(&error), Some(3), "{}", message);
        prop_assert!(
            message.contains(&format!("did you mean `server.{name}.{suffix}`?")),
            "{message}"
        );
    }
}
