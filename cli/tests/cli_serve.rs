//! `tls-policy serve` end to end, on every compiled-in backend: the listening lines, the JSON
//! page over curl (HTTP/1.1 and HTTP/2, with and without a client certificate), the drain on
//! SIGTERM, and broken configs.

mod serve_harness;
use support::for_each_backend;
use tls_policy_test_support as support;

use std::time::{Duration, Instant};

use serve_harness::{curl, curl_page, plaintext, run_to_end, tool, ServeHome, CLIENT_CN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

for_each_backend! {
    async fn every_channel_gets_one_listening_line(backend: Backend) {
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        assert_eq!(served.channels.len(), home.channels.len());
        for spec in &home.channels {
            let line = served.channel(spec.name);
            assert!(line.addr.ip().is_loopback() && line.addr.port() != 0, "{line:?}");
            assert_eq!(line.policy, spec.policy.unwrap_or("none"), "{line:?}");
            assert_eq!(line.backend, backend.name(), "{line:?}");
            assert_eq!(line.tls_level, spec.tls_level, "{line:?}");
        }
        let stdout = served.stdout.lock().unwrap().clone();
        assert_eq!(stdout.len(), home.channels.len(), "only the listening lines: {stdout:?}");
    }

    async fn curl_gets_the_page_over_http1_without_a_client_certificate(backend: Backend) {
        if !tool("curl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let page = curl_page(&home, served.addr("https"), &["--http1.1"]).await;
        assert_eq!(page["channel"], "https", "{page}");
        assert_eq!(page["policy"], "web", "{page}");
        assert_eq!(page["backend"], backend.name(), "{page}");
        assert_eq!(page["tls"], true, "{page}");
        assert_eq!(page["alpn"], "http/1.1", "{page}");
        assert!(page["client_certificate"].is_null(), "{page}");
        if backend.capabilities().session_details {
            assert!(matches!(page["protocol_version"].as_str(), Some("TLSv1.2" | "TLSv1.3")), "{page}");
            assert!(page["cipher_suite"].as_str().is_some_and(|s| s.starts_with("TLS_")), "{page}");
            assert_eq!(page["sni"], "localhost", "{page}");
        } else {
            // native-tls does not expose them: null, never a guess.
            for field in ["protocol_version", "cipher_suite", "sni"] {
                assert!(page[field].is_null(), "{field}: {page}");
            }
        }
    }

    async fn curl_with_a_client_certificate_sees_it_described(backend: Backend) {
        if !tool("curl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let cert = home.client_cert.display().to_string();
        let key = home.client_key.display().to_string();
        let page = curl_page(&home, served.addr("https"), &["--cert", &cert, "--key", &key]).await;
        assert_eq!(page["tls"], true, "{page}");
        if !backend.capabilities().client_auth {
            // client_auth=NONE: the server never asks, so curl sends nothing.
            assert!(page["client_certificate"].is_null(), "{page}");
            return;
        }
        let certificate = &page["client_certificate"];
        assert!(certificate["subject"].as_str().is_some_and(|s| s.contains(CLIENT_CN)), "{page}");
        assert!(certificate["issuer"].as_str().is_some_and(|s| s.contains("intermediate")), "{page}");
        assert!(certificate["serial"].as_str().is_some_and(|s| !s.is_empty()), "{page}");
        assert!(certificate["not_after"].as_str().is_some_and(|s| s.ends_with('Z')), "{page}");
    }

    async fn curl_http2_negotiates_h2_by_alpn(backend: Backend) {
        if !tool("curl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let page = curl_page(&home, served.addr("https"), &["--http2"]).await;
        assert_eq!(page["alpn"], "h2", "{page}");
        assert_eq!(page["tls"], true, "{page}");
    }

    async fn other_methods_get_405(backend: Backend) {
        if !tool("curl") {
            return;
        }
        let home = ServeHome::new(backend);
        let served = home.serve(&[]).await;
        let url = format!("https://localhost:{}/", served.addr("https").port());
        let ca = home.ca.display().to_string();
        let args: Vec<String> = ["--cacert", &ca, "-X", "POST", "-o", "/dev/null", "-w", "%{http_code}", &url]
            .iter().map(|s| s.to_string()).collect();
        let (status, stdout, stderr) = curl(&args).await;
        assert!(status.success(), "{stderr}");
        assert_eq!(stdout, "405");
    }

    async fn sigterm_stops_accepting_lets_live_connections_finish_and_exits_0(backend: Backend) {
        let home = ServeHome::new(backend);
        let mut served = home.serve(&["--drain-timeout", "30"]).await;
        let addr = served.addr("plain");
        let mut live = tokio::net::TcpStream::connect(addr).await.expect("connect");
        live.write_all(b"before\n").await.expect("write");
        let mut buf = [0u8; 7];
        tokio::time::timeout(support::STEP, live.read_exact(&mut buf)).await.expect("echo in time").expect("echo");

        served.signal("TERM");
        // The listener closes: new connections are refused (bounded wait for the close).
        let deadline = Instant::now() + support::STEP;
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            assert!(Instant::now() < deadline, "still accepting after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The live connection is still served well into the drain.
        tokio::time::sleep(Duration::from_millis(500)).await;
        live.write_all(b"during\n").await.expect("write during drain");
        tokio::time::timeout(support::STEP, live.read_exact(&mut buf)).await.expect("echo in time").expect("echo during drain");
        assert_eq!(&buf, b"during\n");
        // Once it closes, the process exits 0 at once, long before the 30 s drain timeout.
        let closed = Instant::now();
        drop(live);
        let status = served.exit(support::STEP).await;
        assert!(status.success(), "exit {status}\n{}", served.stderr());
        assert!(closed.elapsed() < Duration::from_secs(10));
        assert!(served.stderr().contains("SIGTERM"), "{}", served.stderr());
    }
}

#[tokio::test]
async fn a_plaintext_http_channel_serves_the_page_with_tls_false() {
    if !tool("curl") {
        return;
    }
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let served = home.serve(&[]).await;
    let url = format!("http://{}/", served.addr("api"));
    let (status, stdout, stderr) = curl(&[url]).await;
    assert!(status.success(), "{stderr}");
    let page: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(page["channel"], "api", "{page}");
    assert_eq!(page["tls"], false, "{page}");
    for field in [
        "policy",
        "protocol_version",
        "cipher_suite",
        "alpn",
        "sni",
        "client_certificate",
    ] {
        assert!(page[field].is_null(), "{field}: {page}");
    }
}

/// Reads from `tcp` until the server closes it; how long that took from `started` (`None`:
/// not within [`support::STEP`]).
async fn closed_after(tcp: &mut tokio::net::TcpStream, started: Instant) -> Option<Duration> {
    let mut buf = [0u8; 4096];
    let deadline = started + support::STEP;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

/// Waits until the serve process's stderr contains `needle`.
async fn logged(served: &serve_harness::Served, needle: &str) {
    let deadline = Instant::now() + support::STEP;
    while !served.stderr().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "{needle} is not logged:\n{}",
            served.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_configured_first_record_and_handshake_timeouts_cut_stalled_clients() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let served = home.serve(&[]).await;
    // Silent: cut at first_record_timeout=500ms on `quick` (the default is 5 s).
    let started = Instant::now();
    let mut silent = tokio::net::TcpStream::connect(served.addr("quick"))
        .await
        .expect("connect");
    let took = closed_after(&mut silent, started)
        .await
        .expect("silent client cut");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "cut after {took:?}"
    );
    logged(&served, "first_record_timeout").await;
    // A whole first record, then a stalled handshake: cut at handshake_timeout=500ms.
    let started = Instant::now();
    let mut stalled = tokio::net::TcpStream::connect(served.addr("quick"))
        .await
        .expect("connect");
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00])
        .await
        .expect("write");
    let took = closed_after(&mut stalled, started)
        .await
        .expect("stalled client cut");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "cut after {took:?}"
    );
    logged(&served, "handshake_timeout").await;
}

#[tokio::test]
async fn http_channels_cut_slow_headers_and_idle_connections() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let served = home.serve(&[]).await;
    let api = served.addr("api");
    // Half a header, never finished: cut at http_header_read_timeout=1s.
    let started = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(api).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let took = closed_after(&mut slow, started)
        .await
        .expect("slow header cut");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "slow header cut after {took:?}"
    );
    // HTTP/1.1 kept alive after one request: cut once idle (hyper's header-read timer runs
    // while it waits for the next request, so the 1 s header-read timeout comes first).
    let mut kept = tokio::net::TcpStream::connect(api).await.expect("connect");
    kept.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let took = closed_after(&mut kept, started)
        .await
        .expect("idle HTTP/1.1 cut");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(6),
        "idle HTTP/1.1 cut after {took:?}"
    );
    // HTTP/2 (prior knowledge) after one request: cut at http_idle_timeout=2s.
    let tcp = tokio::net::TcpStream::connect(api).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .expect("h2 handshake");
    let started = Instant::now();
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get("http://x/")
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .expect("request");
    let response = tokio::time::timeout(support::STEP, sender.send_request(request))
        .await
        .expect("answered in time")
        .expect("answered");
    assert_eq!(response.status(), hyper::StatusCode::OK);
    drop(response);
    let ended = tokio::time::timeout(support::STEP, driver).await;
    let took = started.elapsed();
    assert!(ended.is_ok(), "the idle HTTP/2 connection was never closed");
    assert!(
        took >= Duration::from_millis(1_800) && took < Duration::from_secs(8),
        "idle HTTP/2 cut after {took:?}"
    );
}

#[tokio::test]
async fn the_drain_timeout_cuts_connections_still_open() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let mut served = home.serve(&["--drain-timeout", "1"]).await;
    let mut live = tokio::net::TcpStream::connect(served.addr("plain"))
        .await
        .expect("connect");
    live.write_all(b"x").await.expect("write");
    let mut buf = [0u8; 1];
    tokio::time::timeout(support::STEP, live.read_exact(&mut buf))
        .await
        .expect("echo in time")
        .expect("echo");

    let signalled = Instant::now();
    served.signal("INT");
    let status = served.exit(support::STEP).await;
    assert!(status.success(), "exit {status}\n{}", served.stderr());
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "exited before the drain timeout: {took:?}"
    );
    assert!(took < Duration::from_secs(8), "drain took {took:?}");
    // The connection was dropped: EOF (or a reset), never a hang.
    let read = tokio::time::timeout(support::STEP, live.read(&mut buf))
        .await
        .expect("EOF in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(served.stderr().contains("SIGINT"), "{}", served.stderr());
}

/// Runs `serve` on `config` (bounded); returns (status, stdout, stderr).
async fn serve_config(
    dir: &std::path::Path,
    config: &str,
) -> (std::process::ExitStatus, String, String) {
    let path = dir.join("neo4j.conf");
    std::fs::write(&path, config).expect("write config");
    run_to_end(&[
        "serve".into(),
        "--config".into(),
        path.display().to_string(),
    ])
    .await
}

#[tokio::test]
async fn a_bad_value_exits_nonzero_naming_the_setting() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let (status, stdout, stderr) = serve_config(
        home.path(),
        "dbms.ssl.policy.p.base_directory=certificates/test\n\
         dbms.ssl.policy.p.client_auth=MAYBE\n\
         bolt.ssl_policy=p\n\
         dbms.connector.bolt.listen_address=127.0.0.1:0\n",
    )
    .await;
    assert!(!status.success());
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(
        stderr.contains("dbms.ssl.policy.p.client_auth") && stderr.contains("MAYBE"),
        "{stderr}"
    );
    assert!(
        stderr.contains("neo4j.conf:2"),
        "the line is named: {stderr}"
    );
}

#[tokio::test]
async fn a_missing_policy_directory_exits_nonzero_naming_it() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let (status, _, stderr) = serve_config(
        home.path(),
        "dbms.ssl.policy.p.base_directory=certificates/absent\n\
         bolt.ssl_policy=p\n\
         dbms.connector.bolt.listen_address=127.0.0.1:0\n",
    )
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("base_directory") && stderr.contains("certificates/absent"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_address_in_use_exits_nonzero_naming_the_channel() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let (status, stdout, stderr) = serve_config(
        home.path(),
        &format!(
            "dbms.connector.plain.tls_level=DISABLED\n\
             dbms.connector.plain.listen_address=127.0.0.1:{port}\n"
        ),
    )
    .await;
    assert!(!status.success());
    assert!(
        !stdout.contains("listening"),
        "nothing is served when one bind fails: {stdout}"
    );
    assert!(
        stderr.contains("channel 'plain'")
            && stderr.contains("dbms.connector.plain.listen_address"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_config_with_nothing_to_listen_on_is_an_error() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let (status, _, stderr) = serve_config(
        home.path(),
        "dbms.ssl.policy.p.base_directory=certificates/test\nbolt.ssl_policy=p\n",
    )
    .await;
    assert!(!status.success());
    assert!(stderr.contains("listen_address"), "{stderr}");
}

#[tokio::test]
async fn an_unknown_backend_is_refused_listing_the_compiled_ones() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let (status, _, stderr) = run_to_end(&[
        "serve".into(),
        "--config".into(),
        home.config.display().to_string(),
        "--backend".into(),
        "gnutls".into(),
    ])
    .await;
    assert!(!status.success());
    assert!(stderr.contains("gnutls"), "{stderr}");
    for backend in tls_policy::Backend::compiled() {
        assert!(stderr.contains(backend.name()), "{stderr}");
    }
}

#[tokio::test]
async fn plaintext_to_the_disabled_channel_echoes() {
    let home = ServeHome::new(tls_policy::Backend::default_backend().expect("a backend"));
    let served = home.serve(&[]).await;
    let got = plaintext(served.addr("plain"), "hello\n")
        .await
        .expect("plaintext exchange");
    assert_eq!(got, "hello\n");
}
