//! `tls-policy check` lists a policy's trust anchors and path links separately (spec §2
//! "Anchors and path links"), with a PKI the `openssl` command makes at test time.

use tls_policy_test_support as support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::openssl_pki::{Made, OpensslPki, Usage};

/// How long one run of the binary may take.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Runs `tls-policy check --config <config>`, killed after [`RUN_LIMIT`]: exit code and stdout.
fn check(config: &Path) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tls-policy"));
    command.arg("check").arg("--config").arg(config);
    let run = support::process::run_within(&mut command, RUN_LIMIT, "tls-policy check");
    (run.code, run.stdout, run.stderr)
}

/// Writes policy `p` into `home`: `server` (with `intermediate`) as its pair, `trusted` in
/// `trusted/`, each `(file, PEM)` of `crls` in `revoked/`; returns the config file.
fn write_home(
    home: &Path,
    server: &Made,
    intermediate: &Made,
    trusted: &[&Made],
    crls: &[(&str, String)],
) -> std::path::PathBuf {
    let base = home.join("certificates/p");
    for sub in ["trusted", "revoked"] {
        std::fs::create_dir_all(base.join(sub)).expect("policy dirs");
    }
    std::fs::write(base.join("public.crt"), server.pem() + &intermediate.pem()).expect("chain");
    let key = base.join("private.key");
    std::fs::write(&key, server.key_pem()).expect("key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    for cert in trusted {
        std::fs::write(base.join(format!("trusted/{}.crt", cert.name)), cert.pem())
            .expect("trusted");
    }
    for (file, pem) in crls {
        std::fs::write(base.join("revoked").join(file), pem).expect("crl");
    }
    let config = home.join("neo4j.conf");
    std::fs::write(
        &config,
        "dbms.ssl.policy.p.base_directory=certificates/p\n\
         dbms.ssl.policy.p.client_auth=REQUIRE\n\
         bolt.ssl_policy=p\n",
    )
    .expect("config");
    config
}

/// The report's rows named `name` (`  anchor`, `  path link`), their values trimmed.
fn rows<'a>(stdout: &'a str, name: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(name))
        .filter(|rest| rest.starts_with(' '))
        .map(str::trim)
        .collect()
}

#[test]
fn check_lists_anchors_and_path_links() {
    let Some(pki) = OpensslPki::new() else { return };
    let root = pki.root("root", "check test root CA");
    let intermediate = pki.intermediate("intermediate", "check test intermediate CA", &root);
    let server = pki.leaf("server", "localhost", &intermediate, Usage::Server);
    let other = pki.root("other", "check test other root CA");

    // Root, intermediate and another root; the intermediate's CRL only.
    let home = tempfile::tempdir().expect("tempdir");
    let crls = [("intermediate.crl", pki.crl(&intermediate))];
    let config = write_home(
        home.path(),
        &server,
        &intermediate,
        &[&root, &intermediate, &other],
        &crls,
    );
    let (code, stdout, stderr) = check(&config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("(3 certificate(s))"), "{stdout}");
    let anchors = rows(&stdout, "anchor");
    assert_eq!(
        anchors,
        [
            "CN=check test other root CA (self-signed)",
            "CN=check test root CA (self-signed)"
        ],
        "{stdout}"
    );
    assert_eq!(
        rows(&stdout, "path link"),
        [
            "CN=check test intermediate CA (issued by CN=check test root CA; no CRL from its \
          issuer: every certificate below it is refused as revocation_unknown)"
        ],
        "{stdout}"
    );
    // No CRL from the root covers the path link: the warning says what will happen.
    assert!(
        stdout.lines().any(|line| line.contains("warning")
            && line.contains("no CRL from 'CN=check test root CA'")
            && line.contains("revocation_unknown")),
        "{stdout}"
    );

    // The root's CRL: the path link is covered; once it lists the intermediate, revoked.
    let home = tempfile::tempdir().expect("tempdir");
    let with_root = [crls[0].clone(), ("root.crl", pki.crl(&root))];
    let config = write_home(
        home.path(),
        &server,
        &intermediate,
        &[&root, &intermediate],
        &with_root,
    );
    let (code, stdout, stderr) = check(&config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        rows(&stdout, "path link"),
        [
            "CN=check test intermediate CA (issued by CN=check test root CA; not revoked: its \
          issuer's CRL covers it)"
        ],
        "{stdout}"
    );
    pki.revoke(&root, &intermediate);
    let revoking = [crls[0].clone(), ("root.crl", pki.crl(&root))];
    let config = write_home(
        home.path(),
        &server,
        &intermediate,
        &[&root, &intermediate],
        &revoking,
    );
    let (code, stdout, stderr) = check(&config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        rows(&stdout, "path link"),
        [
            "CN=check test intermediate CA (issued by CN=check test root CA; REVOKED by its \
          issuer's CRL: every certificate below it is refused)"
        ],
        "{stdout}"
    );

    // The intermediate alone: the anchor of its sub-tree, no path link.
    let home = tempfile::tempdir().expect("tempdir");
    let config = write_home(home.path(), &server, &intermediate, &[&intermediate], &crls);
    let (code, stdout, stderr) = check(&config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("(1 certificate(s))"), "{stdout}");
    assert_eq!(
        rows(&stdout, "anchor"),
        [
            "CN=check test intermediate CA (issued by CN=check test root CA, which is not in \
          trusted_dir: only this sub-tree is trusted)"
        ],
        "{stdout}"
    );
    assert!(rows(&stdout, "path link").is_empty(), "{stdout}");
}
