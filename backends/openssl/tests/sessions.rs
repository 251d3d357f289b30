//! Session resumption on a real socket, driven by `openssl s_client` (`-sess_out`, then
//! `-sess_in`): resumed when `session_resumption=true`, a full handshake every time otherwise.
//! A missing `openssl` fails the test unless `TLS_POLICY_SKIP_MISSING_TOOLS=1`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{pki, policy, LIMIT};
use tls_policy_backend::{ClientAuth, ServerOptions, TlsBackend, TlsVersion};
use tls_policy_openssl::OpensslBackend;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::time::timeout;

fn openssl_installed() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        let skip = std::env::var("TLS_POLICY_SKIP_MISSING_TOOLS").is_ok_and(|v| v == "1");
        assert!(skip, "openssl is not installed (apt-get install -y openssl), or set TLS_POLICY_SKIP_MISSING_TOOLS=1");
        eprintln!("SKIPPED: openssl is not installed and TLS_POLICY_SKIP_MISSING_TOOLS=1");
    }
    found
}

/// Two `s_client` connections, the second offering the first's session; what each printed
/// (`None` for the second when the first got no session to offer).
async fn two_connections(resumption: bool, version: &str) -> (String, Option<String>) {
    let pki = pki();
    let mut server = policy(&pki.server);
    server.client_auth = ClientAuth::None;
    server.session_resumption = resumption;
    server.tls_versions = vec![TlsVersion::Tls12, TlsVersion::Tls13];
    let acceptor = OpensslBackend::new()
        .server(&server, &ServerOptions::default())
        .expect("compiles");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let serving = tokio::spawn(async move {
        for _ in 0..2 {
            let Ok(Ok((tcp, _))) = timeout(LIMIT, listener.accept()).await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok((mut tls, _)) = OpensslBackend::accept(&acceptor, tcp).await {
                    let mut buf = [0u8; 256];
                    // Until the client closes (bounded).
                    let _ = timeout(LIMIT, async {
                        while tls.read(&mut buf).await.is_ok_and(|n| n > 0) {}
                    })
                    .await;
                }
            });
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("root.pem");
    let pem = openssl::x509::X509::from_der(pki.root.as_ref())
        .unwrap()
        .to_pem()
        .unwrap();
    std::fs::File::create(&ca).unwrap().write_all(&pem).unwrap();
    let session = dir.path().join("session.pem");
    let version = version.to_owned();
    let saved = session.clone();
    let run = move |flag: &str| {
        let output = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-servername",
                "localhost",
            ])
            .arg("-CAfile")
            .arg(&ca)
            .arg(&version)
            .arg(flag)
            .arg(&session)
            .stdin(Stdio::null())
            .output()
            .expect("s_client runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let (first, second) = tokio::task::spawn_blocking(move || {
        let first = run("-sess_out");
        // s_client writes no file when the server gave no session id and no ticket.
        let second = saved.exists().then(|| run("-sess_in"));
        (first, second)
    })
    .await
    .expect("s_client task");
    serving.abort();
    (first, second)
}

#[tokio::test]
async fn tls12_sessions_resume_only_when_the_policy_allows() {
    if !openssl_installed() {
        return;
    }
    let (first, second) = two_connections(true, "-tls1_2").await;
    assert!(first.contains("New, TLSv1.2"), "first:\n{first}");
    let second = second.expect("a session to resume");
    assert!(second.contains("Reused, TLSv1.2"), "second:\n{second}");

    let (first, second) = two_connections(false, "-tls1_2").await;
    assert!(first.contains("New, TLSv1.2"), "first:\n{first}");
    if let Some(second) = second {
        assert!(
            second.contains("New, TLSv1.2"),
            "resumed although session_resumption=false:\n{second}"
        );
    }
}
