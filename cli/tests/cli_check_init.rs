//! `tls-policy init` and `tls-policy check`, run as the binary: init then check passes, and check
//! names the setting and the file for each kind of broken config.

use tls_policy_test_support as support;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::pki;
use tls_policy_dev_pki::WritePolicy;

/// How long one run of the binary may take.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What one run of the binary produced.
type Run = support::process::Finished;

/// Runs `tls-policy <args>`, killed after [`RUN_LIMIT`].
fn run(args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tls-policy"));
    command.args(args);
    support::process::run_within(&mut command, RUN_LIMIT, &format!("tls-policy {args:?}"))
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The config lines `init` printed (`key=value`, no comments).
fn printed_config(stdout: &str) -> String {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.contains(' ') && l.contains('='))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

// === init ===

#[test]
fn init_with_dev_certs_then_check_passes() {
    let home = tempfile::tempdir().unwrap();
    let init = run(&[
        "init",
        "--policy",
        "client",
        "--home",
        s(home.path()),
        "--dev-certs",
    ]);
    assert_eq!(init.code, 0, "{init:?}");
    let base = home.path().join("certificates/client");
    for file in [
        "private.key",
        "public.crt",
        "trusted/root.crt",
        "trusted/intermediate.crt",
        "revoked/intermediate.crl",
        "client/client.crt",
        "client/client.key",
        "client/ca.crt",
    ] {
        assert!(base.join(file).is_file(), "{file} written");
    }
    #[cfg(unix)]
    {
        assert_eq!(mode(&base.join("private.key")), 0o600);
        assert_eq!(mode(&base.join("client/client.key")), 0o600);
        for dir in ["", "trusted", "revoked"] {
            assert_eq!(
                mode(&base.join(dir)) & 0o022,
                0,
                "{dir}/ not writable by others"
            );
        }
    }
    assert!(init
        .stdout
        .contains("dbms.ssl.policy.client.base_directory=certificates/client"));
    assert!(
        init.stdout.contains("tls-policy check --config"),
        "{init:?}"
    );

    let config = home.path().join("neo4j.conf");
    fs::write(&config, printed_config(&init.stdout)).unwrap();
    let check = run(&["check", "--config", s(&config)]);
    assert_eq!(check.code, 0, "{check:?}");
    for wanted in [
        "channel bolt",
        "policy          client",
        "client_auth     REQUIRE",
        "subject         CN=localhost",
        "DNS:localhost",
        "IP:127.0.0.1",
        "days until expiry",
        "key type        EC P-256",
        "ciphers         backend default",
        "trusted_dir",
        // The root and the intermediate, which issues the CRL of revoked/intermediate.crl.
        "(2 certificate(s))",
        "(2 CRL(s))",
        "OK:",
    ] {
        assert!(check.stdout.contains(wanted), "{wanted:?} in {check:?}");
    }
}

#[test]
fn init_refuses_to_overwrite_a_key_without_force() {
    let home = tempfile::tempdir().unwrap();
    let args = [
        "init",
        "--policy",
        "p",
        "--home",
        s(home.path()),
        "--dev-certs",
    ];
    assert_eq!(run(&args).code, 0);
    let key = home.path().join("certificates/p/private.key");
    let before = fs::read(&key).unwrap();

    let again = run(&args);
    assert_ne!(again.code, 0, "{again:?}");
    assert!(
        again.stderr.contains("private.key") && again.stderr.contains("--force"),
        "{again:?}"
    );
    assert_eq!(fs::read(&key).unwrap(), before, "untouched");

    let mut forced = args.to_vec();
    forced.extend(["--force", "--hostname", "db.example.test"]);
    let forced = run(&forced);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert_ne!(fs::read(&key).unwrap(), before, "replaced");
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
}

#[test]
fn init_without_certs_makes_the_directories_and_check_names_the_missing_key() {
    let home = tempfile::tempdir().unwrap();
    let init = run(&["init", "--policy", "p", "--home", s(home.path())]);
    assert_eq!(init.code, 0, "{init:?}");
    assert!(home.path().join("certificates/p/trusted").is_dir());
    assert!(home.path().join("certificates/p/revoked").is_dir());
    assert!(!home.path().join("certificates/p/private.key").exists());

    let config = home.path().join("neo4j.conf");
    fs::write(&config, printed_config(&init.stdout)).unwrap();
    let check = run(&["check", "--config", s(&config)]);
    assert_ne!(check.code, 0, "{check:?}");
    assert!(
        check.stderr.contains("dbms.ssl.policy.p.private_key")
            && check.stderr.contains("certificates/p/private.key"),
        "{check:?}"
    );
}

#[test]
fn init_refuses_the_reserved_and_invalid_names() {
    let home = tempfile::tempdir().unwrap();
    let legacy = run(&["init", "--policy", "legacy", "--home", s(home.path())]);
    assert_ne!(legacy.code, 0);
    assert!(legacy.stderr.contains("reserved"), "{legacy:?}");
    let bad = run(&["init", "--policy", "a.b", "--home", s(home.path())]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("letters, digits"), "{bad:?}");
    assert!(!home.path().join("certificates").exists());
}

// === check on broken configs ===

/// A home with a working policy `test` (the shared PKI, CRLs included) bound to `bolt`, and
/// `conf` as its config (lines after the base directory).
fn broken_home(conf: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let home = tempfile::tempdir().unwrap();
    pki()
        .write_policy_dir(
            &home.path().join("certificates/test"),
            &WritePolicy::default(),
        )
        .unwrap();
    let config = home.path().join("neo4j.conf");
    fs::write(
        &config,
        format!(
            "dbms.ssl.policy.test.base_directory=certificates/test\nbolt.ssl_policy=test\n{conf}"
        ),
    )
    .unwrap();
    (home, config)
}

/// Runs check on the home after `prepare`, expecting failure and every `wanted` on stderr.
fn assert_check_fails(conf: &str, prepare: impl FnOnce(&Path), extra: &[&str], wanted: &[&str]) {
    let (home, config) = broken_home(conf);
    prepare(&home.path().join("certificates/test"));
    let mut args = vec!["check", "--config", s(&config)];
    args.extend_from_slice(extra);
    let check = run(&args);
    assert_ne!(check.code, 0, "{check:?}");
    for w in wanted {
        assert!(check.stderr.contains(w), "{w:?} on stderr: {check:?}");
    }
}

#[test]
fn check_passes_the_unbroken_home() {
    let (_home, config) = broken_home(
        "dbms.connector.metrics.listen_address=:9100\ndbms.connector.metrics.tls_level=DISABLED\n",
    );
    let check = run(&["check", "--config", s(&config)]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("channel metrics"), "{check:?}");
    assert!(check.stdout.contains("none (plaintext)"), "{check:?}");
    assert!(check.stdout.contains("backend  "), "{check:?}");
}

#[test]
fn check_names_a_missing_base_directory() {
    assert_check_fails(
        "",
        |base| fs::remove_dir_all(base).unwrap(),
        &[],
        &[
            "dbms.ssl.policy.test.base_directory",
            "set at",
            "certificates/test",
            "does not exist",
        ],
    );
}

#[test]
fn check_names_a_missing_key() {
    assert_check_fails(
        "",
        |base| fs::remove_file(base.join("private.key")).unwrap(),
        &[],
        &[
            "dbms.ssl.policy.test.private_key",
            "certificates/test/private.key",
            "does not exist",
        ],
    );
}

#[test]
fn check_names_a_garbage_key() {
    assert_check_fails(
        "",
        |base| fs::write(base.join("private.key"), "this is not a key\n").unwrap(),
        &[],
        &[
            "dbms.ssl.policy.test.private_key",
            "certificates/test/private.key",
        ],
    );
}

#[test]
fn check_names_a_key_that_does_not_match_the_certificate() {
    assert_check_fails(
        "",
        |base| fs::write(base.join("private.key"), &pki().client.key_pem).unwrap(),
        &[],
        &[
            "dbms.ssl.policy.test.private_key",
            "certificates/test/private.key",
            "match",
        ],
    );
}

#[test]
fn check_names_a_bad_file_in_trusted_dir() {
    assert_check_fails(
        "",
        |base| fs::write(base.join("trusted/bad.crt"), "garbage").unwrap(),
        &[],
        &["dbms.ssl.policy.test.trusted_dir", "trusted/bad.crt"],
    );
}

#[test]
fn check_names_a_bad_crl() {
    assert_check_fails(
        "",
        |base| fs::write(base.join("revoked/bad.crl"), "garbage").unwrap(),
        &[],
        &["dbms.ssl.policy.test.revoked_dir", "revoked/bad.crl"],
    );
}

#[test]
fn check_names_require_with_an_empty_trusted_dir() {
    assert_check_fails(
        "dbms.ssl.policy.test.client_auth=REQUIRE\n",
        |base| {
            for cert in fs::read_dir(base.join("trusted")).unwrap() {
                fs::remove_file(cert.unwrap().path()).unwrap();
            }
        },
        &[],
        &[
            "dbms.ssl.policy.test.client_auth",
            "neo4j.conf:3",
            "certificates/test/trusted",
        ],
    );
}

#[cfg(unix)]
#[test]
fn check_names_a_world_readable_key() {
    use std::os::unix::fs::PermissionsExt;
    assert_check_fails(
        "",
        |base| {
            fs::set_permissions(base.join("private.key"), fs::Permissions::from_mode(0o644))
                .unwrap()
        },
        &[],
        &[
            "dbms.ssl.policy.test.private_key",
            "certificates/test/private.key",
            "0644",
            "chmod 600",
        ],
    );
}

#[cfg(unix)]
#[test]
fn check_names_a_trusted_dir_others_can_write_to() {
    use std::os::unix::fs::PermissionsExt;
    assert_check_fails(
        "",
        |base| {
            fs::set_permissions(base.join("trusted"), fs::Permissions::from_mode(0o777)).unwrap()
        },
        &[],
        &[
            "dbms.ssl.policy.test.trusted_dir",
            "certificates/test/trusted",
            "writable by others (mode 0777)",
            "chmod o-w",
        ],
    );
}

#[test]
fn check_and_serve_refuse_plaintext_beside_client_authentication() {
    // Policy `test` keeps client_auth at its default, REQUIRE.
    let conf =
        "dbms.connector.bolt.listen_address=127.0.0.1:0\ndbms.connector.bolt.tls_level=OPTIONAL\n";
    let wanted = [
        "neo4j.conf:4: dbms.connector.bolt.tls_level",
        "accepts plaintext (tls_level=OPTIONAL)",
        "dbms.ssl.policy.test.client_auth=REQUIRE",
        "walk past client authentication",
    ];
    assert_check_fails(conf, |_| {}, &[], &wanted);
    let (_home, config) = broken_home(conf);
    let serve = run(&["serve", "--config", s(&config), "--no-watch"]);
    assert_eq!(serve.code, 1, "serve refuses to start: {serve:?}");
    for w in wanted {
        assert!(serve.stderr.contains(w), "{w:?} on stderr: {serve:?}");
    }
}

#[test]
fn check_names_an_unknown_suffix_with_file_and_line() {
    assert_check_fails(
        "dbms.ssl.policy.test.privat_key=x.key\n",
        |_| {},
        &[],
        &[
            "neo4j.conf:3",
            "dbms.ssl.policy.test.privat_key",
            "private_key",
        ],
    );
}

#[test]
fn check_names_a_duplicate_key() {
    assert_check_fails(
        "dbms.ssl.policy.test.base_directory=elsewhere\n",
        |_| {},
        &[],
        &[
            "neo4j.conf:1",
            "neo4j.conf:3",
            "dbms.ssl.policy.test.base_directory",
        ],
    );
}

#[test]
fn check_names_a_bad_value() {
    assert_check_fails(
        "dbms.ssl.policy.test.client_auth=MAYBE\n",
        |_| {},
        &[],
        &[
            "neo4j.conf:3",
            "dbms.ssl.policy.test.client_auth",
            "MAYBE",
            "REQUIRE",
        ],
    );
}

#[test]
fn check_names_an_undefined_policy() {
    assert_check_fails(
        "https.ssl_policy=nope\n",
        |_| {},
        &[],
        &["neo4j.conf:3", "https.ssl_policy", "nope"],
    );
}

#[test]
fn check_names_an_unknown_backend() {
    assert_check_fails(
        "",
        |_| {},
        &["--backend", "nonesuch"],
        &[
            "--backend",
            "unknown TLS backend 'nonesuch'",
            "compiled in are",
        ],
    );
    assert_check_fails(
        "dbms.ssl.backend=nonesuch\n",
        |_| {},
        &[],
        &["neo4j.conf:3", "dbms.ssl.backend", "nonesuch"],
    );
}

#[cfg(feature = "native-tls")]
#[test]
fn check_shows_a_backend_refusal() {
    assert_check_fails(
        "dbms.ssl.policy.test.client_auth=REQUIRE\n",
        // Without CRLs, which native-tls would refuse too: client_auth is the one refusal.
        |base| {
            for crl in fs::read_dir(base.join("revoked")).unwrap() {
                fs::remove_file(crl.unwrap().path()).unwrap();
            }
        },
        &["--backend", "native-tls"],
        &[
            "channel 'bolt'",
            "client_auth",
            "native-tls",
            "dbms.ssl.policy.test.client_auth, set at",
            "neo4j.conf:3",
        ],
    );
}

// === check and the legacy system ===

#[test]
fn check_never_generates_and_reports_the_legacy_pair() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("neo4j.conf");
    fs::write(
        &config,
        "bolt.ssl_policy=legacy\ndbms.connector.bolt.listen_address=127.0.0.1:7687\n",
    )
    .unwrap();
    let before = run(&["check", "--config", s(&config)]);
    assert_eq!(before.code, 0, "{before:?}");
    assert!(before.stdout.contains("will generate"), "{before:?}");
    assert!(
        !home.path().join("certificates").exists(),
        "check wrote nothing"
    );

    // Start-up generates the pair; check then describes it.
    let settings = tls_policy::config::Settings::from_file(&config, None).unwrap();
    tls_policy::TlsChannels::load(&settings, None).expect("legacy generates");
    let after = run(&["check", "--config", s(&config)]);
    assert_eq!(after.code, 0, "{after:?}");
    for wanted in [
        "policy          legacy",
        "client_auth     NONE",
        "none (legacy system)",
        "neo4j.key",
        "subject         CN=localhost",
        "days until expiry",
    ] {
        assert!(after.stdout.contains(wanted), "{wanted:?} in {after:?}");
    }
}

#[test]
fn check_names_the_reserved_legacy_name() {
    assert_check_fails(
        "dbms.ssl.policy.legacy.base_directory=certificates/test\n",
        |_| {},
        &[],
        &[
            "neo4j.conf:3",
            "dbms.ssl.policy.legacy.base_directory",
            "reserved",
            "rename",
        ],
    );
}

#[test]
fn check_reports_but_never_performs_key_generation() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("neo4j.conf");
    fs::write(
        &config,
        "dbms.ssl.policy.dev.base_directory=certificates/dev\n\
         dbms.ssl.policy.dev.allow_key_generation=true\n\
         bolt.ssl_policy=dev\n",
    )
    .unwrap();
    let check = run(&["check", "--config", s(&config)]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(
        check.stdout.contains("will generate")
            && check.stdout.contains("certificates/dev/private.key"),
        "{check:?}"
    );
    assert!(
        !home.path().join("certificates").exists(),
        "check wrote nothing"
    );
}

// === the scope form (4.x/5.x) ===

#[test]
fn init_form_5_writes_the_scope_form_and_check_reads_it() {
    for (form, policy, keys) in [
        (
            "5",
            "bolt",
            &["server.bolt.enabled=true", "server.bolt.listen_address="][..],
        ),
        (
            "4",
            "https",
            &[
                "dbms.connector.https.enabled=true",
                "dbms.connector.https.listen_address=",
            ][..],
        ),
    ] {
        let home = tempfile::tempdir().unwrap();
        let init = run(&[
            "init",
            "--policy",
            policy,
            "--form",
            form,
            "--home",
            s(home.path()),
            "--dev-certs",
        ]);
        assert_eq!(init.code, 0, "{init:?}");
        assert!(
            init.stdout
                .contains(&format!("dbms.ssl.policy.{policy}.enabled=true")),
            "{init:?}"
        );
        assert!(!init.stdout.contains("ssl_policy="), "{init:?}");
        for key in keys {
            assert!(init.stdout.contains(key), "{key} in {init:?}");
        }
        let config = home.path().join("neo4j.conf");
        fs::write(&config, printed_config(&init.stdout)).unwrap();
        let check = run(&["check", "--config", s(&config)]);
        assert_eq!(check.code, 0, "{check:?}");
        for wanted in [
            "form     4.x/5.x scope form".to_owned(),
            format!("channel {policy}"),
            format!("policy          {policy}"),
            "client_auth     REQUIRE".to_owned(),
            "defaults that differ from the framework's:".to_owned(),
            format!(
                "dbms.ssl.policy.{policy}.tls_versions: TLSv1.2,TLSv1.3 here, framework TLSv1.2 \
                 before 5.24"
            ),
            format!(
                "dbms.ssl.policy.{policy}.verify_hostname: true here, framework false before \
                 2025.01"
            ),
            "dbms.security.tls_reload_enabled: true here".to_owned(),
            "OK:".to_owned(),
        ] {
            assert!(check.stdout.contains(&wanted), "{wanted:?} in {check:?}");
        }
    }
}

#[test]
fn init_form_5_refuses_a_policy_that_is_not_a_scope() {
    let home = tempfile::tempdir().unwrap();
    let init = run(&[
        "init",
        "--policy",
        "client",
        "--form",
        "5",
        "--home",
        s(home.path()),
    ]);
    assert_eq!(init.code, 1, "{init:?}");
    assert!(init.stderr.contains("named after its scope"), "{init:?}");
}

#[test]
fn check_says_which_form_and_why_bolt_is_required() {
    let (home, config) = broken_home("");
    // The home's policy files, reached by the scope form's default base directory.
    fs::rename(
        home.path().join("certificates/test"),
        home.path().join("certificates/bolt"),
    )
    .unwrap();
    fs::write(
        &config,
        "dbms.ssl.policy.bolt.enabled=true\n\
         dbms.ssl.policy.bolt.client_auth=NONE\n\
         dbms.netty.ssl.provider=OPENSSL\n\
         server.bolt.listen_address=127.0.0.1:0\n",
    )
    .unwrap();
    let check = run(&["check", "--config", s(&config)]);
    assert_eq!(check.code, 0, "{check:?}");
    for wanted in [
        "form     4.x/5.x scope form",
        "server.bolt.tls_level: REQUIRED here, framework DISABLED (4.x, 5.x)",
        "warning  ",
        "dbms.netty.ssl.provider=OPENSSL: accepted and ignored",
        "tls_level       REQUIRED",
    ] {
        assert!(check.stdout.contains(wanted), "{wanted:?} in {check:?}");
    }
}

#[test]
fn check_refuses_a_mixed_file_naming_both_lines() {
    let (_home, config) = broken_home("");
    let text = fs::read_to_string(&config).unwrap();
    let lines = text.lines().count();
    fs::write(
        &config,
        format!("{text}dbms.ssl.policy.bolt.enabled=true\n"),
    )
    .unwrap();
    let check = run(&["check", "--config", s(&config)]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check.stderr.contains(&format!(
            "{}:{}: dbms.ssl.policy.bolt.enabled: this file mixes the 4.x/5.x scope form",
            s(&config),
            lines + 1
        )),
        "{check:?}"
    );
    assert!(check.stderr.contains("3.5 named-policy form"), "{check:?}");
}

#[test]
fn check_loads_the_complete_44_and_5x_files_with_real_certificates() {
    for fixture in ["neo4j-4.4.conf", "neo4j-5.26.conf"] {
        let home = tempfile::tempdir().unwrap();
        for scope in ["bolt", "https", "cluster", "backup"] {
            pki()
                .write_policy_dir(
                    &home.path().join("certificates").join(scope),
                    &WritePolicy::default(),
                )
                .unwrap();
        }
        let config = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/configs")
            .join(fixture);
        let check = run(&["check", "--config", s(&config), "--home", s(home.path())]);
        assert_eq!(check.code, 0, "{fixture}: {check:?}");
        for wanted in [
            "form     4.x/5.x scope form",
            "channel backup",
            "channel bolt",
            "channel cluster",
            "channel https",
            "OK: 4 channel(s), 4 with TLS, 4 of 4 policies loaded",
        ] {
            assert!(
                check.stdout.contains(wanted),
                "{fixture}: {wanted:?} in {check:?}"
            );
        }
    }
}

#[test]
fn check_names_the_scope_forms_default_base_directory_when_it_is_missing() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("neo4j.conf");
    fs::write(
        &config,
        "server.directories.certificates=tls\ndbms.ssl.policy.cluster.enabled=true\n",
    )
    .unwrap();
    let check = run(&["check", "--config", s(&config)]);
    assert_eq!(check.code, 1, "{check:?}");
    for wanted in [
        "policy 'cluster': base_directory",
        "tls/cluster",
        "directory does not exist",
        "`tls-policy init --policy cluster --dev-certs`",
        "dbms.ssl.policy.cluster.base_directory, not set: the scope form's default",
    ] {
        assert!(check.stderr.contains(wanted), "{wanted:?} in {check:?}");
    }
}

/// `check` says which implementation seals each rustls backend's records, under the setting.
#[test]
fn check_prints_the_record_aead_under_each_setting() {
    let rustls: Vec<&str> = tls_policy::Backend::compiled()
        .iter()
        .map(|b| b.name())
        .filter(|name| name.starts_with("rustls-"))
        .collect();
    for (line, setting) in [
        ("", "fastest"),
        ("dbms.ssl.record_cipher=provider\n", "provider"),
    ] {
        let (_home, config) = broken_home(line);
        let check = run(&["check", "--config", s(&config)]);
        assert_eq!(check.code, 0, "{check:?}");
        for backend in &rustls {
            let row = check
                .stdout
                .lines()
                .find(|l| l.contains(&format!(" {backend}")) && l.contains("AES-GCM from"))
                .unwrap_or_else(|| panic!("a records row for {backend}: {check:?}"));
            assert!(
                row.contains(&format!("dbms.ssl.record_cipher={setting}")),
                "{row}"
            );
            if setting == "provider" {
                let own = backend.trim_start_matches("rustls-");
                assert!(row.contains(&format!("AES-GCM from {own},")), "{row}");
            }
        }
        if rustls.is_empty() {
            assert!(!check.stdout.contains("records "), "{check:?}");
        }
    }
    assert_check_fails(
        "dbms.ssl.record_cipher=fips\n",
        |_| {},
        &[],
        &[
            "neo4j.conf:3",
            "dbms.ssl.record_cipher",
            "fastest, provider",
        ],
    );
}
