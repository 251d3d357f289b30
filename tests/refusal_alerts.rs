//! Each refusal of a client certificate reaches the client as the specific TLS alert, before
//! the connection closes, on every rustls backend, behind both the `TlsLayer` and the
//! `Listener`, over TLS 1.2 and TLS 1.3: a real client (python3's `ssl`, i.e. OpenSSL) names the
//! alert it received; the policy admits only the good client (`allowed_peers`), so a verified
//! client outside that list is refused with `access_denied`. (native-tls serves no client certificates: a `REQUIRE` policy is refused
//! at load, which is checked here too.)

use support::for_each_backend;
use tls_policy_test_support as support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, Layer, ServiceExt};

use support::tools::tool;
use support::{pki, Home, STEP};
use tls_policy::listener::{Connection, Listener, ListenerConfig, TlsMode};
use tls_policy::{Acceptor, TlsLayer};
use tls_policy_dev_pki::{Issued, LeafSpec};

/// The client: handshakes, sends a line and reads it back, and prints `ok`, or the OpenSSL
/// reason of the alert it got (`alert <REASON>`), or the socket error.
const CLIENT: &str = r#"
import socket, ssl, sys
host, port, ca, version = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
v = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[version]
ctx.minimum_version = v
ctx.maximum_version = v
if len(sys.argv) > 6:
    ctx.load_cert_chain(sys.argv[5], sys.argv[6])
try:
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"ping\n")
            data = tls.recv(5)
            print("ok" if data == b"ping\n" else "closed %r" % data)
except ssl.SSLError as e:
    print("alert", e.reason, "|", e)
except OSError as e:
    print("oserror", e)
"#;

/// Where the policy is served.
#[derive(Clone, Copy, Debug)]
enum Target {
    Layer,
    Listener,
}

/// One refusal and the alert the client must name (OpenSSL's reason code).
struct Case {
    what: &'static str,
    identity: Option<&'static str>,
    alert: &'static str,
}

const CASES: [Case; 6] = [
    Case {
        what: "no client certificate under REQUIRE",
        identity: None,
        alert: "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    },
    Case {
        what: "a client certificate from an untrusted CA",
        identity: Some("foreign"),
        alert: "TLSV1_ALERT_UNKNOWN_CA",
    },
    Case {
        what: "a revoked client certificate",
        identity: Some("revoked"),
        alert: "SSLV3_ALERT_CERTIFICATE_REVOKED",
    },
    Case {
        what: "an expired client certificate",
        identity: Some("expired"),
        alert: "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    },
    Case {
        what: "a certificate not made for client authentication (no clientAuth EKU)",
        identity: Some("server-only"),
        alert: "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    },
    Case {
        what: "a verified client certificate outside allowed_peers",
        identity: Some("outsider"),
        alert: "TLSV1_ALERT_ACCESS_DENIED",
    },
];

/// The alert `backend` sends in `case` over TLS `version`: the case's, except where an
/// OpenSSL-based backend answers otherwise, as its library does: `handshake_failure` for a
/// missing certificate over TLS 1.2 (RFC 5246 §7.4.6; `certificate_required` exists from TLS
/// 1.3 on), and for a client `allowed_peers` refuses (`Capabilities::access_denied_alert`).
fn expected_alert(backend: tls_policy::Backend, case: &Case, version: &str) -> &'static str {
    let openssl = backend.record_layer() == tls_policy::RecordLayer::OpenSsl;
    let no_certificate_on_tls12 = case.identity.is_none() && version == "1.2" && openssl;
    let refused_by_the_list =
        case.alert == "TLSV1_ALERT_ACCESS_DENIED" && !backend.capabilities().access_denied_alert;
    if no_certificate_on_tls12 || refused_by_the_list {
        "SSLV3_ALERT_HANDSHAKE_FAILURE"
    } else {
        case.alert
    }
}

/// The one identity `allowed_peers` admits: the good client's common name.
const ALLOWED: &str = "allowed_peers=cn:tls-policy development client";

/// Writes the client identities the cases name into `dir`.
fn identities(dir: &Path) -> Vec<(&'static str, PathBuf, PathBuf)> {
    let server_only = pki()
        .issue(&LeafSpec {
            client_auth: false,
            ..LeafSpec::server("server-only", ["localhost"], time::Duration::days(3))
        })
        .expect("server-only certificate");
    // Same CA, valid, clientAuth: refused only by the allow-list.
    let outsider = pki()
        .issue(&LeafSpec::client(
            "outsider",
            "tls-policy outsider client",
            time::Duration::days(3),
        ))
        .expect("outsider certificate");
    let which: [(&str, &Issued); 6] = [
        ("good", &pki().client),
        ("foreign", &pki().foreign_client),
        ("revoked", &pki().revoked_client),
        ("expired", &pki().expired_client),
        ("server-only", &server_only),
        ("outsider", &outsider),
    ];
    which
        .into_iter()
        .map(|(name, issued)| {
            let (cert, key) = issued
                .write_files(&dir.join(name))
                .expect("write client files");
            (name, cert, key)
        })
        .collect()
}

/// Serves `acceptor` behind `target` on 127.0.0.1:0 (echo); the task ends with the test.
async fn serve(target: Target, acceptor: Acceptor) -> std::net::SocketAddr {
    match target {
        Target::Layer => {
            let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = tcp.local_addr().expect("addr");
            let layer = TlsLayer::new(acceptor);
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = tcp.accept().await else {
                        continue;
                    };
                    let service = layer.layer(service_fn(echo::<tls_policy::TlsStream<TcpStream>>));
                    tokio::spawn(async move {
                        let _ = service.oneshot(stream).await;
                    });
                }
            });
            addr
        }
        Target::Listener => {
            let config = ListenerConfig::new("bolt", TlsMode::Required(acceptor));
            let listener = Listener::bind("127.0.0.1:0", config).await.expect("bind");
            let addr = listener.local_addr();
            tokio::spawn(async move {
                listener
                    .serve(
                        service_fn(echo::<Connection<TcpStream>>),
                        std::future::pending::<()>(),
                    )
                    .await
            });
            addr
        }
    }
}

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
) -> std::io::Result<()> {
    let mut buf = [0u8; 64];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
        stream.flush().await?;
    }
}

/// Runs the python client against `addr`; its one line of output.
async fn client(
    addr: std::net::SocketAddr,
    ca: &Path,
    version: &str,
    identity: Option<&(PathBuf, PathBuf)>,
) -> String {
    let mut command = tokio::process::Command::new("python3");
    command
        .arg("-c")
        .arg(CLIENT)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(ca)
        .arg(version)
        .kill_on_drop(true);
    if let Some((cert, key)) = identity {
        command.arg(cert).arg(key);
    }
    let output = tokio::time::timeout(STEP, command.output())
        .await
        .expect("python3 client in time")
        .expect("run python3");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    )
}

for_each_backend! {
    async fn each_refusal_reaches_the_client_as_its_specific_alert(backend: Backend) {
        let home = Home::new(backend, &["client_auth=REQUIRE", ALLOWED]);
        if !backend.capabilities().client_auth {
            // native-tls: no client certificates at all, refused at load with the reason.
            let error = home.acceptor(backend).expect_err("REQUIRE cannot load on native-tls");
            assert!(error.to_string().contains("client"), "{error}");
            return;
        }
        if !tool("python3") {
            return;
        }
        let ca = home.path().join("ca.crt");
        std::fs::write(&ca, &pki().root.cert_pem).expect("write CA");
        let ids = identities(&home.path().join("clients"));
        let identity = |name: &str| {
            ids.iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, cert, key)| (cert.clone(), key.clone()))
        };
        let acceptor = home.acceptor(backend).expect("REQUIRE loads");
        for target in [Target::Layer, Target::Listener] {
            let addr = serve(target, acceptor.clone()).await;
            for version in ["1.2", "1.3"] {
                let good = client(addr, &ca, version, identity("good").as_ref()).await;
                assert_eq!(good, "ok", "{target:?} TLS {version}: the good client");
                for case in &CASES {
                    let id = case.identity.and_then(identity);
                    let seen = client(addr, &ca, version, id.as_ref()).await;
                    let alert = expected_alert(backend, case, version);
                    assert!(
                        seen.starts_with(&format!("alert {alert} ")),
                        "{target:?} TLS {version}, {}: the client saw {seen:?}, not the alert {alert}",
                        case.what,
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
