//! Hot reload, on every compiled-in backend: rotating the certificate under a stream of
//! handshakes loses none, broken material leaves the old one served, a new CRL revokes a client
//! on its next handshake, the file watcher and SIGHUP reload, live connections are untouched.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use tokio::io::AsyncWriteExt;

use support::reload::{connect, echo, handshake, install, new_server_cert, replace, wait_for_leaf};
use support::server::Server;
use support::{pki, Home, STEP};
use tls_policy::{Error, ReloadChange, ReloadError, ReloadReport, TlsChannels};
use tls_policy_dev_pki::LeafSpec;

/// Handshakes in the rotation test's stream.
const HANDSHAKES: usize = 200;

// === helpers ===

/// Loads the home's config for `backend`.
fn channels(home: &Home, backend: tls_policy::Backend) -> TlsChannels {
    TlsChannels::load(&home.settings().expect("config parses"), Some(backend)).expect("loads")
}

/// Serves channel `bolt` of `channels`.
async fn serve(channels: &TlsChannels) -> Server {
    Server::start(
        channels
            .channel("bolt")
            .expect("bolt bound")
            .acceptor
            .clone(),
    )
    .await
}

/// Reloads off the async threads, as the API asks.
async fn reload(channels: &TlsChannels) -> Result<ReloadReport, ReloadError> {
    let channels = channels.clone();
    tokio::task::spawn_blocking(move || channels.reload())
        .await
        .expect("reload task")
}

/// The refused policy's error.
fn only_failure(error: ReloadError) -> Error {
    assert!(error.reloaded.policies.is_empty(), "{error}");
    let mut failures = error.failures;
    assert_eq!(failures.len(), 1, "one policy, one failure");
    let failure = failures.remove(0);
    assert_eq!(failure.policy, "test");
    failure.error
}

// === tests ===

for_each_backend! {
    async fn rotating_the_certificate_under_a_stream_of_handshakes_loses_none(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let channels = channels(&home, backend);
        let server = serve(&channels).await;
        let addr = server.addr;
        let old = pki().server.cert_der.clone();
        let new = new_server_cert("rotated");

        let done = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&done);
        let stream = tokio::spawn(async move {
            let mut seen: Vec<(Instant, Result<CertificateDer<'static>, String>)> = Vec::new();
            for _ in 0..HANDSHAKES {
                let started = Instant::now();
                seen.push((started, handshake(addr, None).await));
                counter.fetch_add(1, Ordering::SeqCst);
            }
            seen
        });
        let deadline = Instant::now() + STEP;
        while done.load(Ordering::SeqCst) < HANDSHAKES / 4 {
            assert!(Instant::now() < deadline, "the handshake stream did not get going");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        install(&home.base(), &new);
        let report = reload(&channels).await.expect("reload succeeds");
        let swapped = Instant::now();
        let at_swap = done.load(Ordering::SeqCst);
        match &report.policy("test").expect("policy test reloaded").change {
            ReloadChange::Replaced { previous_serial, serial } => {
                assert_ne!(previous_serial, serial)
            }
            other => panic!("expected the certificate to be replaced, got {other:?}"),
        }

        let seen = tokio::time::timeout(Duration::from_secs(120), stream)
            .await
            .expect("the stream finishes in time")
            .expect("stream task");
        assert!(at_swap < HANDSHAKES, "the swap came after the whole stream; nothing was tested");
        let mut after = 0;
        for (i, (started, result)) in seen.iter().enumerate() {
            let leaf = result
                .as_ref()
                .unwrap_or_else(|e| panic!("handshake {i} of {HANDSHAKES} failed: {e}"));
            if *started > swapped {
                after += 1;
                assert_eq!(*leaf, new.cert_der, "handshake {i} began after the swap");
            } else {
                assert!(*leaf == old || *leaf == new.cert_der, "handshake {i}: unknown leaf");
            }
        }
        assert!(after > 0, "no handshake began after the swap");
        assert_eq!(seen[0].1.as_ref().ok(), Some(&old), "the stream began on the old certificate");
    }

    async fn a_broken_replacement_leaves_the_old_certificate_served(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let channels = channels(&home, backend);
        let server = serve(&channels).await;
        let old = pki().server.cert_der.clone();
        let base = home.base();

        // A key that does not parse.
        replace(
            &base.join("private.key"),
            b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        );
        match only_failure(reload(&channels).await.expect_err("garbage key refused")) {
            Error::Policy { policy, setting, path, .. } => {
                assert_eq!(policy, "test");
                assert_eq!(setting, "private_key");
                assert!(path.is_some_and(|p| p.ends_with("private.key")));
            }
            other => panic!("expected a private_key error, got {other:?}"),
        }
        assert_eq!(handshake(server.addr, None).await.expect("still serving"), old);

        // A new chain with the old key: they do not match.
        let new = new_server_cert("mismatched");
        replace(&base.join("private.key"), pki().server.key_pem.as_bytes());
        replace(&base.join("public.crt"), new.chain_pem().as_bytes());
        let error = only_failure(reload(&channels).await.expect_err("mismatch refused"));
        assert!(
            matches!(&error, Error::Policy { setting: "private_key", .. }),
            "expected a key/certificate mismatch, got {error:?}"
        );
        assert!(error.to_string().contains("does not match"), "{error}");
        assert_eq!(handshake(server.addr, None).await.expect("still serving"), old);

        // Once the matching key arrives, the next reload takes it.
        replace(&base.join("private.key"), new.key_pem.as_bytes());
        reload(&channels).await.expect("the repaired material reloads");
        assert_eq!(handshake(server.addr, None).await.expect("serving"), new.cert_der);
    }

    async fn a_new_crl_revokes_a_client_on_its_next_handshake(backend: Backend) {
        let caps = backend.capabilities();
        if !(caps.crls && caps.client_auth) {
            // native-tls asks no client certificate: a new CRL plays no part, the reload takes
            // it (with a warning) and the server keeps serving.
            let home = Home::with_crl(&["client_auth=NONE"], false);
            let channels = channels(&home, backend);
            let server = serve(&channels).await;
            replace(
                &home.base().join("revoked/intermediate.crl"),
                pki().crl.pem.as_bytes(),
            );
            reload(&channels).await.expect("a CRL plays no part without client_auth");
            assert_eq!(
                handshake(server.addr, None).await.expect("still serving"),
                pki().server.cert_der
            );
            return;
        }
        let home = Home::new(backend, &["client_auth=REQUIRE"]);
        let channels = channels(&home, backend);
        let server = serve(&channels).await;
        let client = pki()
            .issue(&LeafSpec::client("soon-revoked", "soon revoked", time::Duration::days(1)))
            .expect("issue client");
        handshake(server.addr, Some(&client)).await.expect("client accepted before the CRL");

        let crl = pki()
            .crl_revoking(&[pki().revoked_client.serial, client.serial])
            .expect("CRL");
        replace(&home.base().join("revoked/intermediate.crl"), crl.pem.as_bytes());
        let report = reload(&channels).await.expect("reload succeeds");
        assert!(matches!(
            report.policy("test").expect("policy test").change,
            ReloadChange::Replaced { .. }
        ));

        let refused = handshake(server.addr, Some(&client)).await;
        assert!(refused.is_err(), "the revoked client got through: {refused:?}");
        handshake(server.addr, Some(&pki().client))
            .await
            .expect("a good client is still accepted");
    }

    async fn the_file_watcher_reloads_without_an_api_call(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let channels = channels(&home, backend);
        let server = serve(&channels).await;
        let watcher = channels.watch_with(Duration::from_millis(200)).expect("watch");
        assert!(!watcher.directories().is_empty());

        let new = new_server_cert("watched");
        install(&home.base(), &new);
        assert!(
            wait_for_leaf(server.addr, &new.cert_der, STEP).await,
            "the watcher did not reload within {STEP:?}"
        );

        // Dropped, it no longer reloads.
        drop(watcher);
        let later = new_server_cert("unwatched");
        install(&home.base(), &later);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(handshake(server.addr, None).await.expect("serving"), new.cert_der);
    }

    async fn a_live_connection_keeps_working_across_a_swap(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let channels = channels(&home, backend);
        let server = serve(&channels).await;
        let (mut live, leaf) = connect(server.addr, None).await.expect("connect");
        echo(&mut live).await.expect("echo before the swap");
        assert_eq!(leaf, pki().server.cert_der);

        let new = new_server_cert("after-live");
        install(&home.base(), &new);
        reload(&channels).await.expect("reload succeeds");

        for _ in 0..3 {
            echo(&mut live).await.expect("the live connection still echoes");
        }
        let still = live.get_ref().1.peer_certificates().and_then(|c| c.first()).cloned();
        assert_eq!(still.as_ref(), Some(&pki().server.cert_der));
        assert_eq!(handshake(server.addr, None).await.expect("new connection"), new.cert_der);
        let _ = live.shutdown().await;
    }

    async fn an_unchanged_reload_swaps_nothing(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let channels = channels(&home, backend);
        let report = reload(&channels).await.expect("reload succeeds");
        let policy = report.policy("test").expect("policy test");
        assert!(matches!(policy.change, ReloadChange::Unchanged { .. }), "{policy}");
        assert_eq!(policy.channels, vec!["bolt".to_string()]);
    }
}
