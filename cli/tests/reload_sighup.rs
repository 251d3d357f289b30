//! Reload through the real `tls-policy serve`: SIGHUP swaps the certificate, and
//! `dbms.security.tls_reload_enabled=false` turns watching and SIGHUP off.

mod serve_harness;
use support::for_each_backend;
use tls_policy_test_support as support;

use std::time::Duration;

use serve_harness::Served;
use support::reload::{handshake, install, new_server_cert, wait_for_leaf};
use support::{pki, Home, STEP};

for_each_backend! {
    async fn sighup_reloads_tls_policy_serve(backend: Backend) {
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
            home.config.display().to_string(),
            "--backend".into(),
            backend.name().into(),
            "--no-watch".into(),
        ];
        let mut served = Served::start(&args, 1).await;
        let addr = served.addr("bolt");
        assert_eq!(handshake(addr, None).await.expect("serving"), pki().server.cert_der);

        let new = new_server_cert("sighup");
        install(&home.base(), &new);
        // Without a watcher, nothing changes until the signal.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(handshake(addr, None).await.expect("serving"), pki().server.cert_der);

        served.signal("HUP");
        assert!(
            wait_for_leaf(addr, &new.cert_der, STEP).await,
            "SIGHUP did not reload within {STEP:?}\nstderr:\n{}",
            served.stderr()
        );
        assert!(served.stderr().contains("reloaded policy test"), "{}", served.stderr());

        served.signal("TERM");
        assert!(served.exit(STEP).await.success(), "{}", served.stderr());
    }
}

/// `dbms.security.tls_reload_enabled=false` (2025.03+): neither the watcher nor SIGHUP
/// reloads; the process says so and keeps serving the material it started with.
#[tokio::test]
async fn tls_reload_enabled_false_turns_watching_and_sighup_off() {
    let backend = tls_policy::Backend::default_backend().expect("a backend");
    let home = Home::new(backend, &["client_auth=NONE"]);
    let mut config = std::fs::read_to_string(&home.config).expect("config");
    config.push_str(
        "dbms.connector.bolt.listen_address=127.0.0.1:0\n\
         dbms.security.tls_reload_enabled=false\n",
    );
    std::fs::write(&home.config, config).expect("write config");
    let args: Vec<String> = vec![
        "serve".into(),
        "--config".into(),
        home.config.display().to_string(),
    ];
    let mut served = Served::start(&args, 1).await;
    let addr = served.addr("bolt");
    assert_eq!(
        handshake(addr, None).await.expect("serving"),
        pki().server.cert_der
    );

    install(&home.base(), &new_server_cert("no-reload"));
    served.signal("HUP");
    // Past the watcher's debounce (500 ms) and a SIGHUP reload's usual time.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        handshake(addr, None).await.expect("still serving"),
        pki().server.cert_der,
        "nothing reloaded\nstderr:\n{}",
        served.stderr()
    );
    let stderr = served.stderr();
    assert!(stderr.contains("hot reload off"), "{stderr}");
    assert!(stderr.contains("SIGHUP ignored"), "{stderr}");
    assert!(!stderr.contains("reloaded policy"), "{stderr}");

    served.signal("TERM");
    assert!(served.exit(STEP).await.success(), "{}", served.stderr());
}
