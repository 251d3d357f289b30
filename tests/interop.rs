//! Real peers against every compiled-in backend: `openssl s_client` as the client.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use support::server::Server;
use support::{pki, Home, STEP};
use tls_policy::{BackendError, Error};
use tokio::io::AsyncWriteExt;

/// The `openssl` binary, or `None` when it is missing and skipping was asked for (see
/// [`support::tools::tool`]: otherwise a missing one fails the test).
fn openssl() -> Option<&'static str> {
    support::tools::tool("openssl").then_some("openssl")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write PEM");
    path
}

/// Runs `openssl s_client` against `port` with `extra` arguments; returns (success, output).
async fn s_client(dir: &Path, port: u16, extra: &[&str]) -> (bool, String) {
    let Some(openssl) = openssl() else {
        return (false, String::new());
    };
    let ca = write(dir, "root.pem", &pki().root.cert_pem);
    let mut child = tokio::process::Command::new(openssl)
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args([
            "-servername",
            "localhost",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(&ca)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn openssl s_client");
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(b"ping\n").await;
    drop(stdin);
    let output = tokio::time::timeout(STEP, child.wait_with_output())
        .await
        .expect("s_client finishes in time")
        .expect("s_client output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn client_files(dir: &Path) -> (PathBuf, PathBuf) {
    let p = pki();
    let chain = p.client.chain_pem();
    (
        write(dir, "client.pem", &chain),
        write(dir, "client.key", &p.client.key_pem),
    )
}

for_each_backend! {
    async fn openssl_s_client_verifies_the_chain_and_negotiates(backend: Backend) {
        if openssl().is_none() {
            return;
        }
        let home = Home::new(backend, &["client_auth=NONE"]);
        let mut server = Server::start(home.acceptor(backend).expect("policy loads")).await;
        let (ok, text) = s_client(home.path(), server.addr.port(), &[]).await;
        assert!(ok, "s_client failed:\n{text}");
        assert!(text.contains("Verify return code: 0 (ok)"), "chain not verified:\n{text}");
        server.outcome().await.expect("server side handshake");
    }

    async fn openssl_s_client_tls12_against_a_tls13_only_policy_is_refused(backend: Backend) {
        if openssl().is_none() {
            return;
        }
        let home = Home::new(backend, &["client_auth=NONE", "tls_versions=TLSv1.3"]);
        let acceptor = match home.acceptor(backend) {
            Ok(acceptor) => acceptor,
            Err(Error::Backend { source: BackendError::Unsupported { setting: "tls_versions", .. }, .. }) => return,
            Err(other) => panic!("unexpected: {other}"),
        };
        let mut server = Server::start(acceptor).await;
        let (ok, text) = s_client(home.path(), server.addr.port(), &["-tls1_2"]).await;
        assert!(!ok, "a TLS 1.2 client got through a TLS 1.3-only policy:\n{text}");
        assert!(server.outcome().await.is_err());
    }

    async fn openssl_s_client_mutual_tls(backend: Backend) {
        if openssl().is_none() {
            return;
        }
        let home = Home::new(backend, &["client_auth=REQUIRE"]);
        let acceptor = match home.acceptor(backend) {
            Ok(acceptor) => acceptor,
            Err(Error::Backend { source: BackendError::Unsupported { setting: "client_auth", .. }, .. }) => {
                assert!(!backend.capabilities().client_auth);
                return;
            }
            Err(other) => panic!("unexpected: {other}"),
        };
        let mut server = Server::start(acceptor).await;
        let (cert, key) = client_files(home.path());
        let cert = cert.to_string_lossy().into_owned();
        let key = key.to_string_lossy().into_owned();
        let (ok, text) = s_client(home.path(), server.addr.port(), &["-cert", &cert, "-cert_chain", &cert, "-key", &key]).await;
        assert!(ok, "mutual TLS with a good certificate failed:\n{text}");
        let info = server.outcome().await.expect("server side handshake");
        assert_eq!(info.peer_certificate(), Some(&pki().client.cert_der));

        let (_, text) = s_client(home.path(), server.addr.port(), &[]).await;
        assert!(server.outcome().await.is_err(), "no client certificate under REQUIRE was accepted:\n{text}");
    }
}
