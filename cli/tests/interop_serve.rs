//! `tls-policy serve` against real clients on every compiled-in backend, where the backend can
//! honour the policy: `openssl s_client` for each tls_level, each client_auth mode and an
//! excluded TLS version; Python's `ssl` module; plaintext to a TLS-only port.

mod serve_harness;
use support::for_each_backend;
use tls_policy_test_support as support;

use serve_harness::{plaintext, python, s_client, s_client_identity, tool, Exchange, ServeHome};

/// Python's `ssl` module as a client: verifies with `cafile`, presents a certificate when one
/// is given, sends a line and prints the negotiated version and what came back.
const PYTHON_CLIENT: &str = r#"
import socket, ssl, sys
host, port, cafile, cert, key, version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
context = ssl.create_default_context(cafile=cafile)
if cert:
    context.load_cert_chain(cert, key)
if version == "1.2":
    context.maximum_version = ssl.TLSVersion.TLSv1_2
with socket.create_connection((host, port), timeout=8) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"hello from python\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = tls.recv(1024)
            if not chunk:
                break
            data += chunk
        print(tls.version())
        print(data.decode().strip())
"#;

fn no_identity() -> Vec<String> {
    Vec::new()
}

fn assert_echoed(exchange: &Exchange, what: &str) {
    assert!(
        exchange.echoed(),
        "{what}: expected the line back\n{}",
        exchange.output()
    );
}

fn assert_refused(exchange: &Exchange, what: &str) {
    assert!(
        matches!(exchange, Exchange::Ended(_)),
        "{what}: expected the server to refuse and the client to end\n{exchange:?}"
    );
}

for_each_backend! {
    async fn tls_level_required_serves_tls_and_refuses_plaintext(backend: Backend) {
        if !tool("openssl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let addr = served.addr("noauth");
        assert_echoed(&s_client(&home, addr, &no_identity()).await, "s_client on REQUIRED");
        let got = plaintext(addr, "hello plaintext\n").await.unwrap_or_default();
        assert!(!got.contains("hello plaintext"), "REQUIRED echoed plaintext: {got:?}");
        // The refusal touched that connection only.
        assert_echoed(&s_client(&home, addr, &no_identity()).await, "s_client after a plaintext client");
    }

    async fn tls_level_optional_serves_tls_and_plaintext_on_one_port(backend: Backend) {
        if !tool("openssl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let addr = served.addr("mixed");
        assert_echoed(&s_client(&home, addr, &no_identity()).await, "s_client on OPTIONAL");
        let got = plaintext(addr, "hello plaintext\n").await.expect("plaintext exchange");
        assert_eq!(got, "hello plaintext\n");
    }

    async fn tls_level_disabled_is_plaintext_only(backend: Backend) {
        if !tool("openssl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let addr = served.addr("plain");
        let got = plaintext(addr, "hello plaintext\n").await.expect("plaintext exchange");
        assert_eq!(got, "hello plaintext\n");
        // The ClientHello is echoed back as plaintext: no handshake completes.
        let exchange = s_client(&home, addr, &no_identity()).await;
        assert!(!exchange.echoed(), "a TLS session on a DISABLED port:\n{}", exchange.output());
    }

    async fn client_auth_none_accepts_clients_with_and_without_certificates(backend: Backend) {
        if !tool("openssl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let addr = served.addr("noauth");
        assert_echoed(&s_client(&home, addr, &no_identity()).await, "NONE, no certificate");
        let identity = s_client_identity(&home.client_cert, &home.client_key);
        assert_echoed(&s_client(&home, addr, &identity).await, "NONE, with a certificate");
    }

    async fn client_auth_optional_accepts_both_and_verifies_a_certificate_sent(backend: Backend) {
        if !tool("openssl") {
            return;
        }
        let home = ServeHome::new(backend);
        if !home.has("optauth") {
            eprintln!("{backend}: cannot ask for client certificates (client_auth OPTIONAL is refused at load)");
            return;
        }
        let served = home.serve(&[]).await;
        let addr = served.addr("optauth");
        assert_echoed(&s_client(&home, addr, &no_identity()).await, "OPTIONAL, no certificate");
        let identity = s_client_identity(&home.client_cert, &home.client_key);
        assert_echoed(&s_client(&home, addr, &identity).await, "OPTIONAL, good certificate");
        if backend.capabilities().crls {
            let revoked = s_client_identity(&home.revoked_cert, &home.revoked_key);
            assert_refused(&s_client(&home, addr, &revoked).await, "OPTIONAL, revoked certificate");
        }
    }

    async fn client_auth_require_is_mutual_tls(backend: Backend) {
        if !tool("openssl") {
            return;
        }
        let home = ServeHome::new(backend);
        if !home.has("bolt") {
            eprintln!("{backend}: cannot ask for client certificates (client_auth REQUIRE is refused at load)");
            return;
        }
        let mut served = home.serve(&[]).await;
        let addr = served.addr("bolt");
        let identity = s_client_identity(&home.client_cert, &home.client_key);
        assert_echoed(&s_client(&home, addr, &identity).await, "REQUIRE, good certificate");
        assert_refused(&s_client(&home, addr, &no_identity()).await, "REQUIRE, no certificate");
        if backend.capabilities().crls {
            let revoked = s_client_identity(&home.revoked_cert, &home.revoked_key);
            assert_refused(&s_client(&home, addr, &revoked).await, "REQUIRE, revoked certificate");
        }
        // Each refusal is logged with the peer address and the reason.
        let deadline = std::time::Instant::now() + support::STEP;
        while !served.stderr().contains("connection refused") {
            assert!(std::time::Instant::now() < deadline, "no refusal logged:\n{}", served.stderr());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let log = served.stderr();
        assert!(log.contains("peer=127.0.0.1:") && log.contains("TLS handshake failed"), "{log}");
        let status = { served.signal("TERM"); served.exit(support::STEP).await };
        assert!(status.success());
    }

    async fn a_tls_version_the_policy_excludes_is_refused(backend: Backend) {
        if !tool("openssl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let tls12 = served.addr("tls12");
        assert_echoed(&s_client(&home, tls12, &["-tls1_2".into()]).await, "TLSv1.2 policy, TLS 1.2 client");
        assert_refused(&s_client(&home, tls12, &["-tls1_3".into()]).await, "TLSv1.2 policy, TLS 1.3-only client");
        if home.has("tls13") {
            let tls13 = served.addr("tls13");
            assert_echoed(&s_client(&home, tls13, &["-tls1_3".into()]).await, "TLSv1.3 policy, TLS 1.3 client");
            assert_refused(&s_client(&home, tls13, &["-tls1_2".into()]).await, "TLSv1.3 policy, TLS 1.2-only client");
        }
    }

    async fn python_ssl_module_talks_to_each_policy(backend: Backend) {
        if !tool("python3") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let path = |p: &std::path::Path| p.display().to_string();
        let run = |channel: &str, cert: bool, version: &str| {
            let addr = served.addr(channel);
            vec![
                "127.0.0.1".to_string(),
                addr.port().to_string(),
                path(&home.ca),
                if cert { path(&home.client_cert) } else { String::new() },
                if cert { path(&home.client_key) } else { String::new() },
                version.to_string(),
            ]
        };
        // Mutual TLS where the backend can, else a server-authenticated session.
        let (channel, cert) = if home.has("bolt") { ("bolt", true) } else { ("noauth", false) };
        let (status, stdout, stderr) = python(PYTHON_CLIENT, &run(channel, cert, "any")).await;
        assert!(status.success(), "python ssl on {channel}: {stdout}{stderr}");
        let expected = if backend.capabilities().tls13 { "TLSv1.3" } else { "TLSv1.2" };
        assert_eq!(stdout.lines().collect::<Vec<_>>(), [expected, "hello from python"], "{stderr}");

        let (status, stdout, stderr) = python(PYTHON_CLIENT, &run("tls12", false, "any")).await;
        assert!(status.success(), "python ssl on tls12: {stdout}{stderr}");
        assert_eq!(stdout.lines().next(), Some("TLSv1.2"));

        if home.has("tls13") {
            let (status, stdout, stderr) = python(PYTHON_CLIENT, &run("tls13", false, "1.2")).await;
            assert!(!status.success(), "a TLS 1.2 python client got through a TLSv1.3 policy: {stdout}");
            assert!(stderr.contains("SSL"), "{stderr}");
        }
    }
}
