//! `tls-policy check` prints a policy's `allowed_peers`, one pattern a line in canonical form
//! (or that it is unset), and fails on a pattern that cannot match anything, naming the
//! setting and its `file:line` (spec: `dbms.ssl.policy.<name>.allowed_peers`).

use tls_policy_test_support as support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::pki;
use tls_policy_dev_pki::WritePolicy;

/// How long one run of the binary may take.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Runs `tls-policy check --config <config>`, killed after [`RUN_LIMIT`]: exit code, stdout
/// and stderr.
fn check(config: &Path) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tls-policy"));
    command.arg("check").arg("--config").arg(config);
    let run = support::process::run_within(&mut command, RUN_LIMIT, "tls-policy check");
    (run.code, run.stdout, run.stderr)
}

/// A home with policy `test` (the shared development PKI) under `client_auth=REQUIRE`, bound
/// to `bolt`; `allowed_peers`, if given, is line 4 of its config (line 3 is blank).
fn home(allowed_peers: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().expect("tempdir");
    pki()
        .write_policy_dir(
            &home.path().join("certificates/test"),
            &WritePolicy::default(),
        )
        .expect("write policy directory");
    let mut text = String::from(
        "dbms.ssl.policy.test.base_directory=certificates/test\n\
         dbms.ssl.policy.test.client_auth=REQUIRE\n\n",
    );
    if let Some(list) = allowed_peers {
        text.push_str(&format!("dbms.ssl.policy.test.allowed_peers={list}\n"));
    }
    text.push_str("bolt.ssl_policy=test\n");
    let config = home.path().join("neo4j.conf");
    std::fs::write(&config, text).expect("write config");
    (home, config)
}

/// The report's `allowed_peers` row and the continuation rows under it (an empty name
/// column), values trimmed. A row is `  {name:<15} {value}`: the value starts at column 18.
fn allowed_rows(stdout: &str) -> Vec<&str> {
    const VALUE_AT: usize = 18;
    let mut lines = stdout.lines();
    let Some(first) = lines
        .by_ref()
        .find_map(|line| line.strip_prefix("  allowed_peers "))
    else {
        return Vec::new();
    };
    let mut rows = vec![first.trim()];
    for line in lines {
        match line.get(..VALUE_AT) {
            Some(name) if name.trim().is_empty() && line.len() > VALUE_AT => {
                rows.push(line[VALUE_AT..].trim());
            }
            _ => break,
        }
    }
    rows
}

#[test]
fn check_prints_allowed_peers_in_canonical_form() {
    let fingerprint = ["ab"; 32].join(":");
    let list = format!(
        "uri:spiffe://example.org/ns/prod/sa/*, dns:*.prod.internal ,ip:10.0.0.0/8,\
         IP:2001:db8::/32, cn:api, ou:payments, sha256:{fingerprint}, \
         spki-sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    );
    let (_home, config) = home(Some(&list));
    let (code, stdout, stderr) = check(&config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        allowed_rows(&stdout),
        [
            "uri:spiffe://example.org/ns/prod/sa/*".to_owned(),
            "dns:*.prod.internal".to_owned(),
            "ip:10.0.0.0/8".to_owned(),
            "ip:2001:db8::/32".to_owned(),
            "cn:api".to_owned(),
            "ou:payments".to_owned(),
            format!("sha256:{}", "AB".repeat(32)),
            format!("spki-sha256:{}", "0".repeat(64)),
        ],
        "{stdout}"
    );
}

#[test]
fn check_says_what_a_reload_does_to_live_connections() {
    let (_home, config) = home(Some("dns:api.internal"));
    let (code, stdout, stderr) = check(&config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("  peers on reload new: a changed list applies to new handshakes"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&config).expect("read config");
    std::fs::write(
        &config,
        format!("{text}dbms.ssl.policy.test.allowed_peers_reload=ALL\n"),
    )
    .expect("write config");
    let (code, stdout, stderr) = check(&config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("  peers on reload all: a reload that changes the list closes"),
        "{stdout}"
    );
    // The rows under allowed_peers stay its patterns only.
    assert_eq!(allowed_rows(&stdout), ["dns:api.internal"], "{stdout}");
    std::fs::write(
        &config,
        format!("{text}dbms.ssl.policy.test.allowed_peers_reload=some\n"),
    )
    .expect("write config");
    let (code, _, stderr) = check(&config);
    assert_ne!(code, 0);
    assert!(
        stderr.contains(
            "neo4j.conf:6: dbms.ssl.policy.test.allowed_peers_reload: invalid value 'some'"
        ),
        "{stderr}"
    );
}

#[test]
fn check_says_when_allowed_peers_is_unset() {
    let (_home, config) = home(None);
    let (code, stdout, stderr) = check(&config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        allowed_rows(&stdout),
        ["unset: every peer whose certificate verifies"],
        "{stdout}"
    );
}

#[test]
fn check_fails_on_a_bad_pattern_naming_file_and_line() {
    for (pattern, why) in [
        ("dns:a.*.example", "leftmost label"),
        ("ip:10.0.0.0/33", "prefix length"),
        ("email:x@example.org", "unknown kind of pattern"),
        ("uri:spiffe://example.org/ns/*x", "whole path segment"),
        ("sha256:abcd", "64 hex digits"),
    ] {
        let (_home, config) = home(Some(&format!("cn:api, {pattern}")));
        let (code, stdout, stderr) = check(&config);
        assert_ne!(code, 0, "{pattern}: check passed: {stdout}{stderr}");
        let wanted = [
            "neo4j.conf:4",
            "dbms.ssl.policy.test.allowed_peers",
            pattern,
            why,
        ];
        for w in wanted {
            assert!(
                stderr.contains(w),
                "{pattern}: {w:?} not on stderr: {stderr}"
            );
        }
    }
}
