//! Complete `neo4j.conf` files of 3.5, 4.4 and 5.26, hundreds of unrelated settings included,
//! each loading to the channels and policies it describes; and broken copies of them, each
//! refused at the right line.
//!
//! The files are in `tests/configs/`, shaped after the framework's shipped default files.

use std::path::{Path, PathBuf};

use tls_policy::config::{ConfigForm, Settings, TlsLevel};
use tls_policy::{ClientAuth, TlsVersion};

/// The fixtures' directory.
fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

/// The home every fixture is read with (nothing is read from it).
const HOME: &str = "/var/lib/neo4j";

fn load(name: &str) -> Settings {
    let path = configs().join(name);
    Settings::from_file(&path, Some(Path::new(HOME)))
        .unwrap_or_else(|e| panic!("{name} does not load: {e}"))
}

/// How many `key=value` lines a file has (its settings, ours or not).
fn settings_in(name: &str) -> usize {
    std::fs::read_to_string(configs().join(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .count()
}

fn home(rest: &str) -> PathBuf {
    Path::new(HOME).join(rest)
}

fn listen(settings: &Settings, channel: &str) -> Option<String> {
    settings.channels[channel].listen_address.clone()
}

fn channel_names(settings: &Settings) -> Vec<&str> {
    settings.channels.keys().map(String::as_str).collect()
}

#[test]
fn a_complete_35_file_loads_its_named_policies() {
    let name = "neo4j-3.5.conf";
    assert!(settings_in(name) > 150, "a real-sized file");
    let s = load(name);
    assert_eq!(s.form, ConfigForm::Named);
    assert_eq!(
        s.policies.keys().collect::<Vec<_>>(),
        ["client_policy", "cluster_policy"]
    );
    assert_eq!(
        channel_names(&s),
        ["backup", "bolt", "cluster", "http", "https"]
    );
    // 3.5 reads `dbms.connector.http.enabled=true` as a channel: no address, no policy.
    assert_eq!(s.channels["http"].policy, None);
    assert_eq!(listen(&s, "http"), None);

    let client = &s.policies["client_policy"];
    assert_eq!(client.base_directory, home("certificates/client_policy"));
    assert_eq!(client.client_auth, ClientAuth::None);
    assert_eq!(client.tls_versions, [TlsVersion::Tls12, TlsVersion::Tls13]);
    assert!(!client.verify_hostname, "3.5's default");
    let cluster = &s.policies["cluster_policy"];
    assert_eq!(cluster.base_directory, home("certificates/cluster"));
    assert_eq!(cluster.client_auth, ClientAuth::Require);
    assert!(cluster.verify_hostname);
    assert_eq!(cluster.tls_versions, [TlsVersion::Tls12]);
    assert_eq!(cluster.ciphers.as_ref().map(Vec::len), Some(2));

    for (channel, policy) in [
        ("bolt", "client_policy"),
        ("https", "client_policy"),
        ("cluster", "cluster_policy"),
        ("backup", "cluster_policy"),
    ] {
        assert_eq!(s.channels[channel].policy.as_deref(), Some(policy));
    }
    assert_eq!(s.channels["bolt"].tls_level, TlsLevel::Optional);
    assert_eq!(listen(&s, "bolt").as_deref(), Some("0.0.0.0:7687"));
    assert_eq!(listen(&s, "https").as_deref(), Some("0.0.0.0:7473"));
    assert_eq!(listen(&s, "cluster").as_deref(), Some("0.0.0.0:6000"));
    assert_eq!(
        listen(&s, "backup"),
        None,
        "3.5's dbms.backup.address is not ours"
    );
    assert_eq!(s.default_advertised_address, "core1.graph.example.com");
    assert_eq!(s.certificates_directory, home("certificates"));
    assert!(s.tls_reload_enabled);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let differing: Vec<&str> = s
        .default_differences
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(
        differing,
        [
            "dbms.ssl.policy.client_policy.tls_versions",
            "dbms.security.tls_reload_enabled"
        ]
    );
}

#[test]
fn a_complete_44_file_loads_its_scopes() {
    let name = "neo4j-4.4.conf";
    assert!(settings_in(name) > 150, "a real-sized file");
    let s = load(name);
    assert_eq!(s.form, ConfigForm::Scope);
    assert_eq!(
        s.policies.keys().collect::<Vec<_>>(),
        ["backup", "bolt", "cluster", "https"],
        "fabric is commented out"
    );
    assert_eq!(channel_names(&s), ["backup", "bolt", "cluster", "https"]);
    for scope in ["backup", "bolt", "cluster", "https"] {
        assert_eq!(s.channels[scope].policy.as_deref(), Some(scope));
    }
    let p = |n: &str| &s.policies[n];
    assert_eq!(p("bolt").base_directory, home("certificates/bolt"));
    assert_eq!(
        p("https").base_directory,
        home("certificates/https"),
        "the default"
    );
    assert_eq!(
        p("backup").base_directory,
        home("certificates/backup"),
        "the default"
    );
    assert_eq!(
        p("cluster").trusted_dir,
        home("certificates/cluster/trusted")
    );
    assert_eq!(p("bolt").client_auth, ClientAuth::None);
    assert_eq!(p("https").client_auth, ClientAuth::None);
    assert_eq!(p("cluster").client_auth, ClientAuth::Require);
    assert_eq!(
        p("backup").client_auth,
        ClientAuth::Require,
        "the backup scope's default"
    );
    assert_eq!(p("cluster").tls_versions, [TlsVersion::Tls12]);
    assert_eq!(
        p("backup").tls_versions,
        [TlsVersion::Tls12, TlsVersion::Tls13]
    );
    assert!(p("backup").verify_hostname, "ours in the scope form");

    assert_eq!(s.channels["bolt"].tls_level, TlsLevel::Required);
    assert_eq!(listen(&s, "bolt").as_deref(), Some("0.0.0.0:7687"));
    assert_eq!(listen(&s, "https").as_deref(), Some("0.0.0.0:7473"));
    assert_eq!(listen(&s, "cluster").as_deref(), Some("0.0.0.0:6000"));
    assert_eq!(listen(&s, "backup").as_deref(), Some("0.0.0.0:6362"));
    assert!(
        !s.channels.contains_key("http"),
        "the plaintext HTTP connector is not ours"
    );
    assert_eq!(s.default_advertised_address, "core1.graph.example.com");
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(
        s.warnings[0].contains("dbms.netty.ssl.provider=JDK"),
        "{:?}",
        s.warnings
    );
    let differing: Vec<&str> = s
        .default_differences
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(
        differing,
        [
            "dbms.ssl.policy.backup.tls_versions",
            "dbms.ssl.policy.backup.verify_hostname",
            "dbms.ssl.policy.bolt.tls_versions",
            "dbms.ssl.policy.bolt.verify_hostname",
            "dbms.ssl.policy.cluster.verify_hostname",
            "dbms.ssl.policy.https.tls_versions",
            "dbms.ssl.policy.https.verify_hostname",
            "dbms.security.tls_reload_enabled",
        ],
        "bolt's tls_level is set, so no difference there"
    );
}

#[test]
fn a_complete_5x_file_loads_its_scopes_and_server_keys() {
    let name = "neo4j-5.26.conf";
    assert!(settings_in(name) > 150, "a real-sized file");
    let s = load(name);
    assert_eq!(s.form, ConfigForm::Scope);
    assert_eq!(channel_names(&s), ["backup", "bolt", "cluster", "https"]);
    for scope in ["backup", "bolt", "cluster", "https"] {
        assert_eq!(s.channels[scope].policy.as_deref(), Some(scope));
        assert_eq!(
            s.policies[scope].base_directory,
            home("certificates").join(scope)
        );
    }
    assert_eq!(s.policies["bolt"].client_auth, ClientAuth::None);
    assert_eq!(s.policies["https"].client_auth, ClientAuth::None);
    assert_eq!(s.policies["cluster"].client_auth, ClientAuth::Require);
    assert_eq!(s.policies["backup"].client_auth, ClientAuth::Require);
    assert_eq!(listen(&s, "bolt").as_deref(), Some("0.0.0.0:7687"));
    assert_eq!(listen(&s, "https").as_deref(), Some("0.0.0.0:7473"));
    assert_eq!(listen(&s, "cluster").as_deref(), Some("0.0.0.0:6000"));
    assert_eq!(listen(&s, "backup").as_deref(), Some("0.0.0.0:6362"));
    assert_eq!(s.default_advertised_address, "server1.graph.example.com");
    assert!(s.tls_reload_enabled);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let differing: Vec<&str> = s
        .default_differences
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(
        differing,
        [
            "dbms.ssl.policy.backup.tls_versions",
            "dbms.ssl.policy.backup.verify_hostname",
            "dbms.ssl.policy.bolt.verify_hostname",
            "dbms.ssl.policy.cluster.tls_versions",
            "dbms.ssl.policy.https.tls_versions",
            "dbms.ssl.policy.https.verify_hostname",
        ]
    );
    assert_eq!(s.channels["bolt"].ocsp_stapling, None, "written as false");

    // The same file with stapling on: 5.x's key covers Bolt and HTTPS, naming its line.
    let text = std::fs::read_to_string(configs().join(name)).unwrap();
    let line = line_of(&text, "server.bolt.ocsp_stapling_enabled");
    let dir = tempfile::tempdir().unwrap();
    let on = dir.path().join(name);
    std::fs::write(
        &on,
        text.replace(
            "server.bolt.ocsp_stapling_enabled=false",
            "server.bolt.ocsp_stapling_enabled=true",
        ),
    )
    .unwrap();
    let s = Settings::from_file(&on, Some(Path::new(HOME))).unwrap();
    for channel in ["bolt", "https"] {
        let stapling = s.channels[channel].ocsp_stapling.as_ref().expect(channel);
        assert_eq!(stapling.key, "server.bolt.ocsp_stapling_enabled");
        assert_eq!(
            stapling.source.to_string(),
            format!("{}:{line}", on.display())
        );
    }
    for channel in ["backup", "cluster"] {
        assert_eq!(s.channels[channel].ocsp_stapling, None, "{channel}");
    }
}

/// A broken file, the key of the line it must be refused at, and what the message must say.
struct Broken {
    file: &'static str,
    key: &'static str,
    says: &'static [&'static str],
    /// A second line the message must name (`key=` prefix of it).
    also_names: Option<&'static str>,
}

const BROKEN: &[Broken] = &[
    Broken {
        file: "3.5-with-scope-enabled.conf",
        key: "dbms.ssl.policy.bolt.enabled",
        says: &["this file mixes the 4.x/5.x scope form", "3.5 named-policy form"],
        also_names: Some("dbms.backup.ssl_policy"),
    },
    Broken {
        file: "3.5-undefined-policy.conf",
        key: "https.ssl_policy",
        says: &["policy `client_polcy`, which is not defined", "did you mean `client_policy`?"],
        also_names: None,
    },
    Broken {
        file: "4.4-mixed-forms.conf",
        key: "dbms.ssl.policy.bolt.enabled",
        says: &["this file mixes the 4.x/5.x scope form"],
        also_names: Some("bolt.ssl_policy"),
    },
    Broken {
        file: "4.4-allow-key-generation.conf",
        key: "dbms.ssl.policy.bolt.allow_key_generation",
        says: &["a setting of the 3.5 named form"],
        also_names: None,
    },
    Broken {
        file: "4.4-optional-bolt-with-client-auth.conf",
        key: "dbms.connector.bolt.tls_level",
        says: &[
            "(`dbms.ssl.policy.bolt.client_auth=OPTIONAL`, the framework's default for scope `bolt`)",
            "set `dbms.ssl.policy.bolt.client_auth=NONE` to accept plaintext, or \
             `dbms.connector.bolt.tls_level=REQUIRED` for TLS only",
        ],
        also_names: None,
    },
    Broken {
        file: "4.4-listen-address-twice.conf",
        key: "dbms.connectors.default_listen_address",
        says: &["given twice", "as `dbms.default_listen_address`"],
        also_names: Some("dbms.default_listen_address"),
    },
    Broken {
        file: "4.4-bad-netty-provider.conf",
        key: "dbms.netty.ssl.provider",
        says: &["invalid value 'BORINGSSL'; expected one of JDK, OPENSSL, OPENSSL_REFCNT"],
        also_names: None,
    },
    Broken {
        file: "5.26-typo-in-policy-suffix.conf",
        key: "dbms.ssl.policy.cluster.verify_hostnam",
        says: &["did you mean `verify_hostname`?"],
        also_names: None,
    },
    Broken {
        file: "5.26-typo-in-server-key.conf",
        key: "server.bolt.tls_levle",
        says: &["did you mean `tls_level`?"],
        also_names: None,
    },
    Broken {
        file: "5.26-enabled-not-a-scope.conf",
        key: "dbms.ssl.policy.client.enabled",
        says: &["`client` is not one"],
        also_names: None,
    },
    Broken {
        file: "5.26-bolt-policy-off.conf",
        key: "server.bolt.listen_address",
        says: &[
            "channel `bolt` listens with tls_level REQUIRED but no policy is bound",
            "`dbms.ssl.policy.bolt.enabled=true`",
        ],
        also_names: None,
    },
    Broken {
        file: "5.26-ocsp-stapling-not-boolean.conf",
        key: "server.bolt.ocsp_stapling_enabled",
        says: &["invalid value 'on'; expected true or false"],
        also_names: None,
    },
    Broken {
        file: "5.26-bad-client-auth.conf",
        key: "dbms.ssl.policy.https.client_auth",
        says: &["invalid value 'MAYBE'; expected one of NONE, OPTIONAL, REQUIRE"],
        also_names: None,
    },
    Broken {
        file: "5.26-bad-reload-switch.conf",
        key: "dbms.security.tls_reload_enabled",
        says: &["invalid value 'yes'; expected true or false"],
        also_names: None,
    },
];

/// The line number of the first line setting `key`.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim().starts_with(&format!("{key}=")))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no `{key}=` line"))
}

#[test]
fn broken_files_are_refused_at_the_right_line() {
    let dir = configs().join("broken");
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(on_disk, BROKEN.len(), "every broken file has a case");
    for case in BROKEN {
        let path = dir.join(case.file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().count() > 400, "{}: a complete file", case.file);
        let err = match Settings::from_file(&path, Some(Path::new(HOME))) {
            Ok(_) => panic!("{} loaded", case.file),
            Err(err) => err.to_string(),
        };
        let at = format!(
            "{}:{}: {}: ",
            path.display(),
            line_of(&text, case.key),
            case.key
        );
        assert!(
            err.starts_with(&at),
            "{}: expected {at}…\n got {err}",
            case.file
        );
        for says in case.says {
            assert!(err.contains(says), "{}: {says:?} in {err}", case.file);
        }
        if let Some(other) = case.also_names {
            let other = format!("{}:{}", path.display(), line_of(&text, other));
            assert!(
                err.contains(&other),
                "{}: names {other} in {err}",
                case.file
            );
        }
    }
}

/// The complete 5.26 file with an application's own gRPC channel as a custom scope, the lines
/// put where an operator would: the declaration and policy with the SSL section, the connector
/// with the other connectors.
fn with_custom_scope(extra_connector_line: &str) -> String {
    let text = std::fs::read_to_string(configs().join("neo4j-5.26.conf")).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if line.starts_with("server.https.advertised_address=") {
            out.push_str(
                "# The application's gRPC service, its own channel.\n\
                 server.grpc.enabled=true\n\
                 server.grpc.listen_address=:50051\n\
                 server.grpc.alpn=h2\n",
            );
            out.push_str(extra_connector_line);
            out.push('\n');
        }
        if line.starts_with("dbms.ssl.policy.bolt.enabled=") {
            out.push_str(
                "dbms.ssl.custom_scopes=grpc\n\
                 dbms.ssl.policy.grpc.enabled=true\n\
                 dbms.ssl.policy.grpc.client_auth=REQUIRE\n",
            );
        }
    }
    assert!(
        out.contains("server.grpc.enabled"),
        "the connector lines went in"
    );
    assert!(
        out.contains("dbms.ssl.custom_scopes"),
        "the policy lines went in"
    );
    out
}

#[test]
fn a_complete_5x_file_serves_a_custom_scope() {
    let text = with_custom_scope("server.grpc.handshake_timeout=5s");
    let path = Path::new("/etc/neo4j/neo4j.conf");
    let s = Settings::parse(&text, path, Path::new(HOME)).unwrap();
    assert_eq!(s.form, ConfigForm::Scope);
    assert_eq!(s.custom_scopes, ["grpc"]);
    assert_eq!(
        channel_names(&s),
        ["backup", "bolt", "cluster", "grpc", "https"]
    );
    let grpc = &s.channels["grpc"];
    assert_eq!(grpc.policy.as_deref(), Some("grpc"));
    assert_eq!(listen(&s, "grpc").as_deref(), Some("0.0.0.0:50051"));
    assert_eq!(grpc.alpn, ["h2"]);
    assert_eq!(grpc.handshake_timeout, std::time::Duration::from_secs(5));
    assert_eq!(
        s.policies["grpc"].base_directory,
        home("certificates").join("grpc")
    );
    assert_eq!(s.policies["grpc"].client_auth, ClientAuth::Require);
    assert_eq!(
        grpc.key_at("listen_address"),
        format!(
            "server.grpc.listen_address ({}:{})",
            path.display(),
            line_of(&text, "server.grpc.listen_address")
        )
    );
    // The rest of the file reads as before.
    let plain = load("neo4j-5.26.conf");
    for channel in ["backup", "bolt", "cluster", "https"] {
        assert_eq!(
            s.channels[channel].listen_address, plain.channels[channel].listen_address,
            "{channel}"
        );
    }
}

#[test]
fn a_complete_5x_file_with_a_custom_scope_refuses_its_typos_at_the_right_line() {
    for (extra, key, says) in [
        (
            "server.grcp.tls_level=REQUIRED",
            "server.grcp.tls_level",
            "did you mean `server.grpc.tls_level`?",
        ),
        (
            "server.grpc.tls_levle=REQUIRED",
            "server.grpc.tls_levle",
            "did you mean `tls_level`?",
        ),
        (
            "server.grpc.tls_level=MAYBE",
            "server.grpc.tls_level",
            "invalid value 'MAYBE'",
        ),
        (
            "server.grpc.proxy_protocol=v2",
            "server.grpc.proxy_protocol",
            "set `server.grpc.proxy_protocol_trusted=<cidr>[,<cidr>...]`",
        ),
    ] {
        let text = with_custom_scope(extra);
        let path = Path::new("/etc/neo4j/neo4j.conf");
        let err = Settings::parse(&text, path, Path::new(HOME))
            .unwrap_err()
            .to_string();
        let at = format!("{}:{}: {key}: ", path.display(), line_of(&text, key));
        assert!(err.starts_with(&at), "{extra}: expected {at}…\n got {err}");
        assert!(err.contains(says), "{extra}: {says:?} in {err}");
    }
}

#[test]
fn the_custom_scope_guide_example_loads() {
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/custom-scopes.md"),
    )
    .unwrap();
    let block = guide
        .split("```properties\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a properties block");
    let s = Settings::parse(block, Path::new("neo4j.conf"), Path::new(HOME)).unwrap();
    assert_eq!(s.custom_scopes, ["grpc"]);
    let grpc = &s.channels["grpc"];
    assert_eq!(grpc.policy.as_deref(), Some("grpc"));
    assert_eq!(grpc.listen_address.as_deref(), Some("127.0.0.1:50051"));
    assert_eq!(grpc.alpn, ["h2"]);
    assert_eq!(s.policies["grpc"].client_auth, ClientAuth::Require);
}
