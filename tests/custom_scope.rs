//! An application's own channel in the 5.x form, end to end: a `neo4j.conf` on disk declares
//! the custom scope `grpc` (`dbms.ssl.custom_scopes`), switches its policy on and configures
//! its connector with `server.grpc.*`; plain `TlsChannels::load` compiles it, and a TLS client
//! completes mutual TLS on it with the channel's declared ALPN, on every backend that can
//! authenticate clients (the others refuse the policy at load, naming the setting).

use tls_policy_test_support as support;

use std::time::Duration;

use tls_policy::config::{ConfigForm, Settings};
use tls_policy::{Backend, Error, TlsChannels};
use tls_policy_dev_pki::WritePolicy;

use support::client::Client;
use support::pki;
use support::server::Server;

/// A home whose `certificates/grpc` is the test PKI's server policy, and a 5.x `neo4j.conf`
/// with the custom scope `grpc` and nothing bound to the framework's scopes but `bolt`.
fn home(crl: bool) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    pki()
        .write_policy_dir(
            &dir.path().join("certificates/grpc"),
            &WritePolicy { with_crl: crl },
        )
        .expect("write policy directory");
    let config = dir.path().join("neo4j.conf");
    std::fs::write(
        &config,
        "server.memory.heap.max_size=1G\n\
         server.default_listen_address=127.0.0.1\n\
         server.bolt.enabled=false\n\
         server.http.enabled=true\n\
         server.http.listen_address=:7474\n\
         server.grpc.enabled=true\n\
         server.grpc.listen_address=:0\n\
         server.grpc.alpn=h2\n\
         server.grpc.handshake_timeout=5s\n\
         dbms.ssl.custom_scopes=grpc\n\
         dbms.ssl.policy.grpc.enabled=true\n",
    )
    .expect("write config");
    (dir, config)
}

#[tokio::test]
async fn a_custom_5x_scope_is_served_with_mutual_tls_and_its_alpn() {
    for &backend in Backend::compiled() {
        let capabilities = backend.capabilities();
        let (_dir, config) = home(capabilities.crls);
        let settings = Settings::from_file(&config, None).expect("the 5.x file loads");
        assert_eq!(settings.form, ConfigForm::Scope);
        let channel = &settings.channels["grpc"];
        assert_eq!(channel.policy.as_deref(), Some("grpc"));
        assert_eq!(channel.listen_address.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(channel.handshake_timeout, Duration::from_secs(5));
        let loaded = TlsChannels::load(&settings, Some(backend));
        if !capabilities.client_auth {
            // The scope's default client_auth=REQUIRE cannot be honoured: refused, not
            // served without client authentication.
            match loaded {
                Err(Error::Backend { ref policy, .. }) if policy == "grpc" => {}
                Err(other) => panic!("{backend:?}: refused for the wrong reason: {other}"),
                Ok(_) => panic!("{backend:?} served REQUIRE without client authentication"),
            }
            continue;
        }
        let channels = loaded.unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        let layer = channels.layer("grpc").expect("grpc is bound");
        let mut server = Server::start_with(layer).await;

        let mut client = Client::with_cert(&pki().client);
        client.alpn = vec![b"h2".to_vec()];
        let seen = client
            .exchange(server.addr)
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        assert_eq!(
            seen.alpn.as_deref(),
            Some(&b"h2"[..]),
            "{backend:?}: the channel's server.grpc.alpn"
        );
        let info = server
            .outcome()
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        assert_eq!(info.alpn.as_deref(), Some(&b"h2"[..]), "{backend:?}");
        assert!(
            info.peer_certificates
                .first()
                .is_some_and(|leaf| leaf.as_ref() == pki().client.cert_der.as_ref()),
            "{backend:?}: the client's certificate was verified"
        );

        // REQUIRE, the custom scope's default: a client without a certificate is refused.
        let anonymous = Client {
            alpn: vec![b"h2".to_vec()],
            ..Client::anonymous()
        };
        let _ = anonymous.exchange(server.addr).await;
        let refused = server.outcome().await;
        assert!(
            refused.is_err(),
            "{backend:?}: anonymous client served: {refused:?}"
        );
    }
}
