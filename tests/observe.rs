//! Observability end to end: refused handshakes counted by reason on every compiled-in backend
//! (behind the `TlsLayer` and the listener), connections and bytes counted by the listener, and
//! `tls-policy serve --metrics` serving the Prometheus text format.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::service_fn;

use support::client::{Client, TLS13_ONLY};
use support::server::Server;
use support::{pki, Home, STEP};
use tls_policy::listener::{Connection, Listener, ListenerConfig, TlsMode};
use tls_policy::observe::{
    ACTIVE_CONNECTIONS, BYTES_READ, BYTES_WRITTEN, HANDSHAKES, PENDING_CONNECTIONS,
};
use tls_policy::{Backend, TlsLayer};

// === a process-wide recorder whose snapshots (which reset it) are summed ===

struct Recorded {
    snapshotter: Snapshotter,
    totals: Mutex<BTreeMap<String, f64>>,
}

fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::set_global_recorder(recorder).expect("the only recorder of this test binary");
        Recorded {
            snapshotter,
            totals: Mutex::new(BTreeMap::new()),
        }
    })
}

/// The value of metric `name` whose labels include every one of `labels` (summed over the
/// rest); counters and inc/dec gauges add up across snapshots.
fn value(name: &str, labels: &[(&str, &str)]) -> f64 {
    let recorded = recorded();
    let mut totals = recorded.totals.lock().expect("totals");
    for (key, _, _, value) in recorded.snapshotter.snapshot().into_vec() {
        let key = key.key();
        let mut id = key.name().to_string();
        for label in key.labels() {
            id.push_str(&format!("|{}={}", label.key(), label.value()));
        }
        let add = match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Gauge(g) => g.into_inner(),
            DebugValue::Histogram(samples) => samples.len() as f64,
        };
        *totals.entry(id).or_default() += add;
    }
    totals
        .iter()
        .filter(|(id, _)| {
            let mut parts = id.split('|');
            parts.next() == Some(name)
                && labels
                    .iter()
                    .all(|(k, v)| id.split('|').any(|part| part == format!("{k}={v}")))
        })
        .map(|(_, v)| *v)
        .sum()
}

/// Waits (bounded) until `name{labels}` reaches `expected`.
async fn expect_value(name: &str, labels: &[(&str, &str)], expected: f64) {
    let deadline = Instant::now() + STEP;
    loop {
        let now = value(name, labels);
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}{labels:?} is {now}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn expect_failure(channel: &str, reason: &str) {
    let labels = [
        ("channel", channel),
        ("outcome", "failed"),
        ("reason", reason),
    ];
    expect_value(HANDSHAKES, &labels, 1.0).await;
}

/// A layer server for `channel` on `backend` with `policy_lines`, or `None` (with a note) when
/// the backend cannot load such a policy.
async fn layer_server(backend: Backend, channel: &str, policy_lines: &[&str]) -> Option<Server> {
    recorded();
    let home = Home::new(backend, policy_lines);
    match home.acceptor(backend) {
        Ok(acceptor) => {
            let layer = TlsLayer::new(acceptor)
                .with_channel(channel)
                .handshake_timeout(Duration::from_millis(300));
            Some(Server::start_with(layer).await)
        }
        Err(error) => {
            eprintln!("{backend}: {policy_lines:?} not loadable, scenario skipped: {error}");
            None
        }
    }
}

// === handshake failures by reason ===

for_each_backend! {
    async fn unknown_ca_revoked_and_missing_client_certificates_are_told_apart(backend: Backend) {
        let channel = format!("{backend}-mtls");
        let Some(_server_needs) = backend.capabilities().client_auth.then_some(()) else {
            eprintln!("{backend}: no client certificates, scenario skipped");
            return;
        };
        let Some(mut server) = layer_server(backend, &channel, &["client_auth=REQUIRE"]).await else {
            return;
        };
        let p = pki();
        assert!(Client::with_cert(&p.foreign_client).exchange(server.addr).await.is_err());
        let outcome = server.outcome().await.expect_err("refused");
        assert!(outcome.contains("unknown_ca"), "{backend}: {outcome}");
        expect_failure(&channel, "unknown_ca").await;

        assert!(Client::anonymous().exchange(server.addr).await.is_err());
        let _ = server.outcome().await;
        expect_failure(&channel, "no_client_certificate").await;

        if backend.capabilities().crls {
            assert!(Client::with_cert(&p.revoked_client).exchange(server.addr).await.is_err());
            let _ = server.outcome().await;
            expect_failure(&channel, "revoked").await;
        }
        Client::with_cert(&p.client).exchange(server.addr).await.expect("a good client");
        expect_value(HANDSHAKES, &[("channel", &channel), ("outcome", "ok")], 1.0).await;
    }

    async fn protocol_version_not_tls_timeout_and_peer_closed_are_told_apart(backend: Backend) {
        let channel = format!("{backend}-plain-failures");
        let Some(mut server) =
            layer_server(backend, &channel, &["client_auth=NONE", "tls_versions=TLSv1.2"]).await
        else {
            return;
        };
        let addr = server.addr;

        assert!(Client::anonymous().versions(TLS13_ONLY).exchange(addr).await.is_err());
        let outcome = server.outcome().await.expect_err("refused");
        assert!(outcome.contains("protocol_version"), "{backend}: {outcome}");
        expect_failure(&channel, "protocol_version").await;

        let mut http = TcpStream::connect(addr).await.expect("connect");
        http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        let _ = server.outcome().await;
        expect_failure(&channel, "not_tls").await;
        drop(http);

        let _silent = TcpStream::connect(addr).await.expect("connect");
        let outcome = server.outcome().await.expect_err("cut");
        assert!(outcome.contains("timed out"), "{backend}: {outcome}");
        expect_failure(&channel, "timeout").await;

        // Half a ClientHello record, then the peer leaves.
        let mut leaving = TcpStream::connect(addr).await.expect("connect");
        leaving.write_all(&[0x16, 0x03, 0x01, 0x00, 0x80, 0x01]).await.expect("write");
        leaving.shutdown().await.expect("shutdown");
        drop(leaving);
        let _ = server.outcome().await;
        expect_failure(&channel, "peer_closed").await;
        assert_eq!(
            value(HANDSHAKES, &[("channel", &channel), ("outcome", "failed"), ("reason", "other")]),
            0.0,
            "{backend}: nothing unclassified"
        );
    }

    async fn the_listener_counts_handshakes_connections_and_bytes(backend: Backend) {
        recorded();
        let channel = format!("{backend}-listener");
        let home = Home::new(backend, &["client_auth=NONE"]);
        let acceptor = home.acceptor(backend).expect("acceptor");
        let config = ListenerConfig::new(channel.clone(), TlsMode::Required(acceptor))
            .with_first_record_timeout(Duration::from_millis(300))
            .with_handshake_timeout(Duration::from_millis(300));
        let listener = Listener::bind("127.0.0.1:0", config).await.expect("bind");
        let addr = listener.local_addr();
        let echo = service_fn(|mut conn: Connection<TcpStream>| async move {
            let mut buf = [0u8; 64];
            loop {
                let n = conn.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(());
                }
                conn.write_all(&buf[..n]).await?;
            }
        });
        let server = tokio::spawn(listener.serve(echo, std::future::pending()));
        let labels = [("channel", channel.as_str())];

        Client::anonymous().exchange(addr).await.expect("exchange");
        expect_value(HANDSHAKES, &[("channel", &channel), ("outcome", "ok")], 1.0).await;
        expect_value(BYTES_READ, &labels, 5.0).await;
        expect_value(BYTES_WRITTEN, &labels, 5.0).await;
        expect_value(ACTIVE_CONNECTIONS, &labels, 0.0).await;

        // Silent: pending until cut at the first-record timeout.
        let silent = TcpStream::connect(addr).await.expect("connect");
        expect_value(ACTIVE_CONNECTIONS, &labels, 1.0).await;
        expect_value(PENDING_CONNECTIONS, &labels, 1.0).await;
        expect_failure(&channel, "first_record_timeout").await;
        expect_value(ACTIVE_CONNECTIONS, &labels, 0.0).await;
        expect_value(PENDING_CONNECTIONS, &labels, 0.0).await;
        drop(silent);

        // A whole first record, then a stalled handshake: cut at the handshake timeout.
        let mut stalled = TcpStream::connect(addr).await.expect("connect");
        stalled
            .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00])
            .await
            .expect("write");
        expect_failure(&channel, "timeout").await;
        expect_value(PENDING_CONNECTIONS, &labels, 0.0).await;
        drop(stalled);

        let mut garbage = TcpStream::connect(addr).await.expect("connect");
        garbage.write_all(b"\x00\x01garbage\r\n").await.expect("write");
        expect_failure(&channel, "not_tls").await;

        // A TLS record, but not a handshake one: the acceptor answers it, still `not_tls`.
        let mut data = TcpStream::connect(addr).await.expect("connect");
        data.write_all(&[0x17, 0x03, 0x03, 0x00, 0x02, b'h', b'i'])
            .await
            .expect("write");
        let not_tls = [
            ("channel", channel.as_str()),
            ("outcome", "failed"),
            ("reason", "not_tls"),
        ];
        expect_value(HANDSHAKES, &not_tls, 2.0).await;
        server.abort();
    }
}

// === the axum TlsListener: the same admission, the same metrics ===

#[cfg(feature = "axum")]
mod axum_listener {
    use super::*;

    crate::for_each_backend! {
        async fn the_axum_listener_counts_like_the_listener(backend: Backend) {
            use tls_policy::integration::axum::{TlsConnectInfo, TlsListener};
            recorded();
            let channel = format!("{backend}-axum");
            let home = Home::new(backend, &["client_auth=NONE"]);
            let mut text = std::fs::read_to_string(&home.config).expect("config");
            text = text.replace("bolt.ssl_policy=test", &format!("{channel}.ssl_policy=test"));
            text.push_str(&format!(
                "dbms.connector.{channel}.listen_address=127.0.0.1:0\n\
                 dbms.connector.{channel}.first_record_timeout=300ms\n\
                 dbms.connector.{channel}.handshake_timeout=300ms\n\
                 dbms.connector.{channel}.max_pending_per_address=2\n"
            ));
            std::fs::write(&home.config, text).expect("config");
            let channels = tls_policy::TlsChannels::load(&home.settings().expect("parses"), Some(backend))
                .expect("loads");
            let listener = TlsListener::for_channel(&channels, &channel).await.expect("bound");
            let addr = axum::serve::Listener::local_addr(&listener).expect("addr");
            let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
            let server = tokio::spawn(async move {
                axum::serve(listener, app.into_make_service_with_connect_info::<TlsConnectInfo>()).await
            });
            let labels = [("channel", channel.as_str())];

            // A handshake (the client then sends no HTTP, which is axum's business).
            Client::anonymous().handshake(addr).await.expect("handshake");
            expect_value(HANDSHAKES, &[("channel", &channel), ("outcome", "ok")], 1.0).await;

            // Silent: pending until cut at the first-record timeout.
            let silent = TcpStream::connect(addr).await.expect("connect");
            expect_value(PENDING_CONNECTIONS, &labels, 1.0).await;
            expect_failure(&channel, "first_record_timeout").await;
            expect_value(PENDING_CONNECTIONS, &labels, 0.0).await;
            drop(silent);

            // A stalled handshake: cut at the handshake timeout.
            let mut stalled = TcpStream::connect(addr).await.expect("connect");
            stalled
                .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00])
                .await
                .expect("write");
            expect_failure(&channel, "timeout").await;
            drop(stalled);

            // Past the per-address bound: closed at once and counted.
            let held = [TcpStream::connect(addr).await.expect("connect"), TcpStream::connect(addr).await.expect("connect")];
            let third = TcpStream::connect(addr).await.expect("connect");
            expect_failure(&channel, "address_limit").await;
            drop((held, third));
            server.abort();
        }
    }
}
