//! A first record the TLS library refuses is answered by the `Listener` as the library answers
//! it on a bare accept loop, and closed with a FIN, not a reset, on every compiled-in backend:
//! raw TCP clients send an SSLv2-framed ClientHello, garbage headers, a plaintext HTTP request,
//! an application-data record, a change_cipher_spec record, a handshake header of version 2 and
//! one of impossible length, each to our listener and to the reference side by side: a bare
//! tokio-rustls accept loop for the rustls backends, a bare OpenSSL one (python3's `ssl`, the
//! library native-tls uses) for native-tls. The alert bytes must be the same, and our side must
//! end with a clean close (read returns 0, not ECONNRESET). OPTIONAL still serves plaintext.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::io;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tower::service_fn;

use support::tools::tool;
use support::{pki, Home, STEP};
use tls_policy::listener::{Connection, Listener, ListenerConfig, TlsMode};
use tls_policy::Acceptor;

/// An SSLv2-framed ClientHello (2-byte header with the high bit set, msg_type 1, version 3.1,
/// 21 bytes of cipher specs, 16 of challenge), as old compatibility clients send it.
const SSLV2_HELLO: &str = "802e0103010015000000100100800300800700c0060040020080040080000039000038000035000033000032000004000005000a00";

/// Each first flight the library refuses: a name and the bytes (hex).
const INPUTS: [(&str, &str); 8] = [
    ("an SSLv2-framed ClientHello", SSLV2_HELLO),
    ("a garbage 5-byte header", "4242424242"),
    ("a header of 0xff bytes", "ffffffffff"),
    (
        "a plaintext HTTP request",
        "474554202f20485454502f312e310d0a486f73743a20610d0a0d0a",
    ),
    ("an application-data first record", "170303000568656c6c6f"),
    ("a change_cipher_spec first record", "140303000101"),
    (
        "a handshake header of version 2.0",
        "160200001000000000000000000000000000000000",
    ),
    (
        "a handshake header of oversized length",
        "16030348ff01000000",
    ),
];

/// How a connection ended, seen from the client.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// read returned 0.
    Fin,
    /// ECONNRESET (or a broken pipe while sending).
    Reset,
    /// Anything else, or no end within [`STEP`].
    Other(String),
}

/// Sends `bytes` to `addr` and reads until the connection ends: what came back, and how.
async fn probe(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, End) {
    let mut tcp = tokio::time::timeout(STEP, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    if let Err(error) = tcp.write_all(bytes).await {
        return (Vec::new(), end_of(&error));
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(STEP, tcp.read(&mut buf)).await {
            Err(_) => return (got, End::Other("no end within the step".into())),
            Ok(Ok(0)) => return (got, End::Fin),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(error)) => return (got, end_of(&error)),
        }
    }
}

fn end_of(error: &io::Error) -> End {
    match error.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => End::Reset,
        _ => End::Other(error.to_string()),
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Our side: a `Listener` for channel `bolt` in `mode`, echoing what it is sent.
async fn listen(mode: TlsMode) -> SocketAddr {
    let listener = Listener::bind("127.0.0.1:0", ListenerConfig::new("bolt", mode))
        .await
        .expect("bind");
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

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
) -> io::Result<()> {
    let mut buf = [0u8; 256];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
        stream.flush().await?;
    }
}

/// The reference for the rustls backends: tokio-rustls on a plain accept loop, nothing else.
async fn bare_rustls() -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(pki().server.chain_der(), pki().server.private_key_der())
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}

/// The reference for native-tls: OpenSSL (python3's `ssl`) on a plain accept loop, TLS 1.2 at
/// least as the policy says; it prints its port and exits when its stdin closes.
const BARE_OPENSSL: &str = r#"
import os, socket, ssl, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
while True:
    conn, _ = listener.accept()
    conn.settimeout(5)
    try:
        ctx.wrap_socket(conn, server_side=True).close()
    except Exception:
        conn.close()
"#;

/// Starts [`BARE_OPENSSL`] with the PKI's server certificate; the child and its port.
async fn bare_openssl(home: &Home) -> (tokio::process::Child, SocketAddr) {
    let (cert, key) = pki()
        .server
        .write_files(&home.path().join("bare"))
        .expect("write server files");
    let mut child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(BARE_OPENSSL)
        .arg(&cert)
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run python3");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(STEP, BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("python3 server starts in time")
        .expect("read its port");
    let port: u16 = line.trim().parse().expect("a port");
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Every input, to `ours` and to `reference`: the same bytes back, and ours closed with a FIN
/// (every input is tried; the failures are reported together).
async fn compare(backend: tls_policy::Backend, ours: SocketAddr, reference: SocketAddr) {
    let mut failures = Vec::new();
    for (what, input) in INPUTS {
        let input = hex(input);
        let (expected, reference_end) = probe(reference, &input).await;
        let (got, end) = probe(ours, &input).await;
        if got != expected {
            failures.push(format!(
                "{what}: we answered {got:02x?}, the bare library {expected:02x?} (it ended \
                 with {reference_end:?})"
            ));
        }
        if end != End::Fin {
            failures.push(format!(
                "{what}: our close (after {got:02x?}) is {end:?}, not a clean FIN"
            ));
        }
    }
    assert!(failures.is_empty(), "{backend:?}:\n{}", failures.join("\n"));
}

fn acceptor(home: &Home, backend: tls_policy::Backend) -> Acceptor {
    home.acceptor(backend).expect("the policy loads")
}

for_each_backend! {
    async fn refused_first_records_get_the_librarys_alert_and_a_clean_close(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let ours = listen(TlsMode::Required(acceptor(&home, backend))).await;
        if backend.record_layer() == tls_policy::RecordLayer::OpenSsl {
            if !tool("python3") {
                return;
            }
            let (_child, reference) = bare_openssl(&home).await;
            compare(backend, ours, reference).await;
        } else {
            compare(backend, ours, bare_rustls().await).await;
        }
        // More than one read's worth behind the refused header: drained, still a clean close
        // (a bare server that reads 4 KiB and closes would reset this one).
        let mut flood = vec![b'G'; 20_000];
        flood[..5].copy_from_slice(b"GET /");
        let (got, end) = probe(ours, &flood).await;
        assert_eq!(end, End::Fin, "{backend:?}: 20 000 plaintext bytes, then {got:02x?}");
        if backend.record_layer() != tls_policy::RecordLayer::OpenSsl {
            assert_eq!(got, hex("15030300020232"), "{backend:?}");
        }
    }

    async fn rustls_answers_are_the_measured_alerts(backend: Backend) {
        // The reference itself, pinned: rustls answers a refused header with decode_error and
        // a non-handshake first record with unexpected_message (record version 3.3), then a FIN.
        if backend.record_layer() == tls_policy::RecordLayer::OpenSsl {
            return;
        }
        let reference = bare_rustls().await;
        let decode_error = hex("15030300020232");
        let unexpected_message = hex("1503030002020a");
        for (what, input, alert) in [
            ("SSLv2", SSLV2_HELLO, &decode_error),
            ("garbage", "4242424242", &decode_error),
            ("application data", "170303000568656c6c6f", &unexpected_message),
            ("change_cipher_spec", "140303000101", &unexpected_message),
        ] {
            let (got, end) = probe(reference, &hex(input)).await;
            assert_eq!((&got, &end), (alert, &End::Fin), "bare rustls, {what}");
        }
    }

    async fn optional_still_serves_plaintext(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let ours = listen(TlsMode::Optional(acceptor(&home, backend))).await;
        let mut tcp = TcpStream::connect(ours).await.expect("connect");
        // A first record that would be refused under REQUIRE is plaintext here.
        let plain = hex("170303000568656c6c6f");
        tcp.write_all(&plain).await.expect("send");
        let mut back = vec![0u8; plain.len()];
        tokio::time::timeout(STEP, tcp.read_exact(&mut back))
            .await
            .expect("echo in time")
            .expect("echoed");
        assert_eq!(back, plain);
        // A 0x16 first byte is TLS under OPTIONAL too: a refused header is answered as such.
        let (got, end) = probe(ours, &hex("16030348ff01000000")).await;
        assert_eq!(end, End::Fin, "{got:02x?}");
        if backend.record_layer() != tls_policy::RecordLayer::OpenSsl {
            assert_eq!(got, hex("15030300020232"));
        }
    }
}
