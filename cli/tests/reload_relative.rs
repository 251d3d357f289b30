//! `tls-policy serve --config neo4j.conf` run from the directory holding it (the README's form):
//! the file watcher picks up a chain renamed into place, on every compiled-in backend, and its
//! self-check reports each watched directory healthy on `/metrics` and `/ready`.

mod serve_harness;
use support::for_each_backend;
use tls_policy_test_support as support;

use std::time::{Duration, Instant};

use serve_harness::Served;
use support::reload::{handshake, install, new_server_cert, wait_for_leaf};
use support::{pki, Home, STEP};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

for_each_backend! {
    async fn serve_with_a_relative_config_path_reloads_a_renamed_chain(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let mut config = std::fs::read_to_string(&home.config).expect("config");
        config.push_str(
            "dbms.connector.bolt.listen_address=127.0.0.1:0\n\
             dbms.connector.bolt.tls_level=REQUIRED\n\
             dbms.connector.bolt.kind=echo\n",
        );
        std::fs::write(&home.config, config).expect("write config");
        let args: Vec<String> = vec![
            "serve".into(),
            "--config".into(),
            "neo4j.conf".into(),
            "--backend".into(),
            backend.name().into(),
            "--metrics".into(),
            "127.0.0.1:0".into(),
        ];
        let mut served = Served::start_in(&args, 1, Some(home.path())).await;
        let addr = served.addr("bolt");
        assert_eq!(handshake(addr, None).await.expect("serving"), pki().server.cert_der);
        let metrics = metrics_addr(&served).await;

        // The self-check saw the policy directory: gauge 1, no note on /ready.
        let base = home.base().canonicalize().expect("canonical base");
        let wanted = format!(
            "tls_policy_reload_watch_healthy{{directory=\"{}\"}} 1",
            base.display()
        );
        let deadline = Instant::now() + STEP;
        loop {
            let text = get(&metrics, "/metrics").await;
            if text.contains(&wanted) {
                break;
            }
            assert!(Instant::now() < deadline, "no {wanted} in\n{text}\nstderr:\n{}", served.stderr());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let ready = get(&metrics, "/ready").await;
        assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
        assert!(ready.ends_with("\r\n\r\nready\n"), "a note on /ready with healthy watches: {ready}");

        let new = new_server_cert("relative-serve");
        install(&home.base(), &new);
        assert!(
            wait_for_leaf(addr, &new.cert_der, STEP).await,
            "serve --config neo4j.conf (relative) did not reload a renamed chain\nstderr:\n{}",
            served.stderr()
        );
        assert!(served.stderr().contains("reloaded policy test"), "{}", served.stderr());
        served.signal("TERM");
        assert!(served.exit(STEP).await.success(), "{}", served.stderr());
    }
}

/// The metrics endpoint's `host:port`, from its `metrics` line (bounded).
async fn metrics_addr(served: &Served) -> String {
    let deadline = Instant::now() + STEP;
    loop {
        let line = served
            .stdout
            .lock()
            .expect("stdout")
            .iter()
            .find_map(|line| line.strip_prefix("metrics http://").map(str::to_string));
        if let Some(rest) = line {
            return rest.trim_end_matches("/metrics").to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no metrics line:\n{}",
            served.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// GET `path` over plain HTTP/1.1; returns the whole response.
async fn get(addr: &str, path: &str) -> String {
    tokio::time::timeout(STEP, async {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut response = String::new();
        tcp.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    })
    .await
    .expect("response in time")
    .expect("response")
}
