//! Rolling restarts under an orchestrator: `serve --metrics` answers `/live` and `/ready`;
//! SIGTERM turns `/ready` to 503 at once while the channels keep accepting for
//! `--shutdown-grace`, then stops accepting; SIGINT skips the grace.

mod serve_harness;
use tls_policy_test_support as support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serve_harness::{ServeHome, Served};
use support::STEP;
use tls_policy::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The address of the `metrics http://<addr>/metrics` line (bounded wait).
async fn metrics_addr(served: &Served) -> SocketAddr {
    let deadline = Instant::now() + STEP;
    loop {
        let line = served
            .stdout
            .lock()
            .expect("stdout")
            .iter()
            .find_map(|line| line.strip_prefix("metrics http://").map(str::to_string));
        if let Some(rest) = line {
            return rest
                .strip_suffix("/metrics")
                .and_then(|addr| addr.parse().ok())
                .unwrap_or_else(|| panic!("metrics line: {rest}"));
        }
        assert!(
            Instant::now() < deadline,
            "no metrics line:\n{}",
            served.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `GET <path>` over plain HTTP/1.1; the status code.
async fn status(addr: SocketAddr, path: &str) -> u16 {
    let response = tokio::time::timeout(STEP, async {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut response = String::new();
        tcp.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    })
    .await
    .expect("probe in time")
    .expect("probe");
    response
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"))
}

/// Whether a new connection to the echo channel at `addr` is accepted and served.
async fn echoes(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(b"ping\n").await?;
        let mut buf = [0u8; 5];
        tcp.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(&buf == b"ping\n")
    };
    matches!(tokio::time::timeout(STEP, attempt).await, Ok(Ok(true)))
}

fn backend() -> Backend {
    Backend::default_backend().expect("a backend")
}

#[tokio::test]
async fn sigterm_turns_ready_to_503_at_once_and_stops_accepting_after_the_grace() {
    let home = ServeHome::new(backend());
    let grace = Duration::from_secs(3);
    let mut served = home
        .serve(&["--metrics", "127.0.0.1:0", "--shutdown-grace", "3"])
        .await;
    let metrics = metrics_addr(&served).await;
    let plain = served.addr("plain");
    assert_eq!(status(metrics, "/live").await, 200);
    assert_eq!(status(metrics, "/ready").await, 200);
    assert_eq!(status(metrics, "/nothing").await, 404);
    assert!(echoes(plain).await);

    served.signal("TERM");
    let signalled = Instant::now();
    // Not ready at once (the first probe that sees the signal; bounded well inside the grace).
    while status(metrics, "/ready").await != 503 {
        assert!(
            signalled.elapsed() < Duration::from_secs(1),
            "/ready still 200 after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status(metrics, "/live").await, 200);
    // New connections are still accepted and served during the grace.
    assert!(echoes(plain).await, "refused during the grace period");
    assert!(
        signalled.elapsed() < grace,
        "the checks outlasted the grace"
    );
    // After it, refused (bounded wait).
    let deadline = signalled + grace + STEP;
    while echoes(plain).await {
        assert!(
            Instant::now() < deadline,
            "still accepting long after the grace"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        signalled.elapsed() >= grace,
        "stopped before the grace ended"
    );
    let status = served.exit(STEP).await;
    assert!(status.success(), "exit {status}\n{}", served.stderr());
    assert!(
        served.stderr().contains("--shutdown-grace"),
        "{}",
        served.stderr()
    );
}

#[tokio::test]
async fn sigint_skips_the_grace() {
    let home = ServeHome::new(backend());
    let mut served = home
        .serve(&["--metrics", "127.0.0.1:0", "--shutdown-grace", "60"])
        .await;
    let plain = served.addr("plain");
    assert!(echoes(plain).await);
    served.signal("INT");
    let signalled = Instant::now();
    while echoes(plain).await {
        assert!(signalled.elapsed() < STEP, "still accepting after SIGINT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = served.exit(STEP).await;
    assert!(status.success(), "exit {status}\n{}", served.stderr());
    assert!(
        signalled.elapsed() < Duration::from_secs(30),
        "SIGINT waited for the grace"
    );
}
