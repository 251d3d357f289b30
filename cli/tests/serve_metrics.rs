//! `tls-policy serve --metrics ADDR` serves the Prometheus text format, on every compiled-in
//! backend: handshake outcomes, durations, certificate expiry and active connections.

mod serve_harness;
use support::for_each_backend;
use tls_policy_test_support as support;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use serve_harness::ServeHome;
use support::client::Client;
use support::STEP;

for_each_backend! {
    async fn serve_metrics_serves_the_prometheus_text_format(backend: Backend) {
        let home = ServeHome::new(backend);
        let mut served = home.serve(&["--metrics", "127.0.0.1:0"]).await;
        let deadline = Instant::now() + STEP;
        let url = loop {
            let line = served
                .stdout
                .lock()
                .expect("stdout")
                .iter()
                .find_map(|line| line.strip_prefix("metrics ").map(str::to_string));
            if let Some(url) = line {
                break url;
            }
            assert!(Instant::now() < deadline, "no metrics line:\n{}", served.stderr());
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let metrics_addr = url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("metrics line: {url}"))
            .to_string();

        Client::anonymous()
            .exchange(served.addr("noauth"))
            .await
            .expect("a handshake on noauth");
        let mut http = TcpStream::connect(served.addr("noauth")).await.expect("connect");
        http.write_all(b"GET / HTTP/1.1\r\n\r\n").await.expect("write");

        let wanted_ok = format!(
            "tls_policy_handshakes_total{{channel=\"noauth\",policy=\"none\",backend=\"{backend}\",outcome=\"ok\",reason=\"none\"}} 1"
        );
        let wanted_failed = "outcome=\"failed\",reason=\"not_tls\"} 1";
        let deadline = Instant::now() + STEP;
        let text = loop {
            let text = scrape(&metrics_addr).await;
            if text.contains(&wanted_ok) && text.contains(wanted_failed) {
                break text;
            }
            assert!(Instant::now() < deadline, "missing {wanted_ok} / {wanted_failed} in\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(text.contains("tls_policy_handshake_duration_seconds_bucket{"), "{text}");
        assert!(text.contains("tls_policy_certificate_expiry_seconds{policy=\"none\"}"), "{text}");
        assert!(text.contains("tls_policy_active_connections{channel=\"noauth\""), "{text}");
        served.signal("TERM");
        assert!(served.exit(STEP).await.success());
    }
}

/// GET /metrics over plain HTTP/1.1; returns the body.
async fn scrape(addr: &str) -> String {
    let response = tokio::time::timeout(STEP, async {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
            .await?;
        let mut response = String::new();
        tcp.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    })
    .await
    .expect("scrape in time")
    .expect("scrape");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}
