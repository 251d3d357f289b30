//! `dbms.ssl.record_cipher`: the record AEAD each backend reports under each setting, a server
//! on the default (fastest) choice against every client backend under both settings, and the
//! setting's parse errors naming the line.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::path::Path;

use tempfile::TempDir;
use tls_policy::config::Settings;
use tls_policy::connector::{Target, TlsConnector};
use tls_policy::{Backend, RecordCipher, TlsChannels, TlsVersion};
use tls_policy_dev_pki::Issued;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::server::Server;
use support::{pki, STEP};

/// The crate a rustls backend is named after; `None` for native-tls.
fn own(backend: Backend) -> Option<&'static str> {
    match backend.name() {
        "rustls-aws-lc-rs" => Some("aws-lc-rs"),
        "rustls-ring" => Some("ring"),
        _ => None,
    }
}

const BOTH_RUSTLS: bool = cfg!(all(feature = "rustls-aws-lc-rs", feature = "rustls-ring"));

/// A home with policy `p` (`identity`, trusting `trusted`) bound to channel `cluster`, and
/// `extra` top-level lines.
fn home(identity: &Issued, trusted: &[&Issued], extra: &[&str]) -> (TempDir, Settings) {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("certificates/p");
    identity.write_files(&base).expect("key pair");
    std::fs::create_dir_all(base.join("trusted")).expect("trusted dir");
    std::fs::create_dir_all(base.join("revoked")).expect("revoked dir");
    for (i, cert) in trusted.iter().enumerate() {
        std::fs::write(base.join(format!("trusted/{i}.crt")), &cert.cert_pem).expect("trusted");
    }
    let mut text = format!(
        "dbms.ssl.policy.p.base_directory=certificates/p\n\
         dbms.ssl.policy.p.private_key={name}.key\n\
         dbms.ssl.policy.p.public_certificate={name}.crt\n\
         dbms.ssl.policy.p.client_auth=NONE\n\
         causal_clustering.ssl_policy=p\n",
        name = identity.name
    );
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    let config = dir.path().join("neo4j.conf");
    std::fs::write(&config, text).expect("config");
    let settings = Settings::from_file(&config, None).expect("config parses");
    (dir, settings)
}

for_each_backend! {
    async fn reports_the_record_aead_under_each_setting(backend: Backend) {
        let Some(own) = own(backend) else {
            // native-tls: OpenSSL picks its own implementation; nothing to choose or report.
            assert_eq!(backend.record_aead(RecordCipher::Fastest), None);
            assert_eq!(backend.record_aead(RecordCipher::Provider), None);
            return;
        };
        let pinned = backend.record_aead(RecordCipher::Provider).expect("a rustls backend reports");
        assert_eq!(pinned.setting, RecordCipher::Provider);
        assert_eq!(pinned.aes_gcm.implementation, own, "{pinned:?}");
        assert_eq!(pinned.chacha20_poly1305.implementation, own, "{pinned:?}");

        let fastest = backend.record_aead(RecordCipher::Fastest).expect("a rustls backend reports");
        assert_eq!(fastest.setting, RecordCipher::Fastest);
        if BOTH_RUSTLS {
            assert!(fastest.aes_gcm.reason.starts_with("measured"), "{fastest:?}");
            assert!(["aws-lc-rs", "ring"].contains(&fastest.aes_gcm.implementation));
        } else {
            assert_eq!(fastest.aes_gcm.implementation, own, "one provider: its own");
            assert_eq!(fastest.chacha20_poly1305.implementation, own);
        }
        // The default is fastest; the key pins.
        let pki = pki();
        let (_dir, settings) = home(&pki.server, &[&pki.root], &[]);
        assert_eq!(settings.record_cipher, RecordCipher::Fastest);
        let (_dir, settings) =
            home(&pki.server, &[&pki.root], &["dbms.ssl.record_cipher=provider"]);
        assert_eq!(settings.record_cipher, RecordCipher::Provider);
        // Announcing returns what the backend reports (and sets the gauge, logs the line).
        assert_eq!(
            tls_policy::observe::announce_record_aead(backend, settings.record_cipher),
            Some(pinned)
        );
    }

    async fn default_server_against_every_client_backend_and_setting(server_backend: Backend) {
        let pki = pki();
        let (_server_dir, server_settings) = home(&pki.server, &[&pki.root], &[]);
        let channels = TlsChannels::load(&server_settings, Some(server_backend))
            .unwrap_or_else(|err| panic!("{server_backend} serves: {err}"));
        let mut server =
            Server::start(channels.channel("cluster").expect("bound").acceptor.clone()).await;
        for &client_backend in Backend::compiled() {
            for setting in RecordCipher::ALL {
                let line = format!("dbms.ssl.record_cipher={setting}");
                let (_client_dir, client_settings) = home(&pki.client, &[&pki.root], &[&line]);
                let connector = TlsConnector::for_channel(
                    &client_settings,
                    "cluster",
                    Some(client_backend),
                )
                .unwrap_or_else(|err| panic!("{client_backend} dials: {err}"));
                let what = format!("{server_backend} server, {client_backend} {setting} client");
                let mut stream = tokio::time::timeout(
                    STEP,
                    connector.connect(Target::new("localhost", server.addr.port())),
                )
                .await
                .expect("connects in time")
                .unwrap_or_else(|err| panic!("{what}: {err}"));
                let seen = server.outcome().await.unwrap_or_else(|err| panic!("{what}: {err}"));
                // 1 MiB there and back, in 64 KiB writes.
                let payload: Vec<u8> = (0..1usize << 20).map(|i| (i % 253) as u8).collect();
                let echoed = tokio::time::timeout(STEP, async {
                    let (mut read, mut write) = tokio::io::split(&mut stream);
                    let writer = async {
                        for chunk in payload.chunks(64 << 10) {
                            write.write_all(chunk).await?;
                        }
                        write.flush().await
                    };
                    let reader = async {
                        let mut back = vec![0u8; payload.len()];
                        read.read_exact(&mut back).await.map(|_| back)
                    };
                    let (written, back) = tokio::join!(writer, reader);
                    written.and(back)
                })
                .await
                .expect("bulk transfer in time")
                .unwrap_or_else(|err| panic!("{what}: {err}"));
                assert!(echoed == payload, "{what}: echoed intact");
                let info = stream.info();
                if client_backend.capabilities().session_details
                    && server_backend.capabilities().session_details
                {
                    assert_eq!(info.cipher_suite, seen.cipher_suite, "{what}: one suite name");
                }
                if server_backend.capabilities().tls13 && client_backend.capabilities().tls13 {
                    assert_eq!(seen.protocol_version, Some(TlsVersion::Tls13), "{what}");
                }
            }
        }
    }
}

#[test]
fn invalid_value_and_typo_name_the_line() {
    let home = Path::new("/nonexistent-home");
    let origin = home.join("neo4j.conf");
    let err = Settings::parse("# a comment\ndbms.ssl.record_cipher=fast\n", &origin, home)
        .expect_err("an invalid value is refused")
        .to_string();
    for needle in [
        "neo4j.conf:2",
        "dbms.ssl.record_cipher",
        "'fast'",
        "fastest, provider",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    let err = Settings::parse("dbms.ssl.record_ciphers=provider\n", &origin, home)
        .expect_err("a misspelt key is refused")
        .to_string();
    for needle in [
        "neo4j.conf:1",
        "dbms.ssl.record_ciphers",
        "`dbms.ssl.record_cipher`",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    let err = Settings::parse(
        "dbms.ssl.record_cipher=provider\ndbms.ssl.record_cipher=fastest\n",
        &origin,
        home,
    )
    .expect_err("given twice is refused")
    .to_string();
    assert!(
        err.contains("neo4j.conf:2") && err.contains("given twice"),
        "{err}"
    );
    // Case and spaces as every other enumerated value.
    let settings =
        Settings::parse("dbms.ssl.record_cipher = Provider \n", &origin, home).expect("parses");
    assert_eq!(settings.record_cipher, RecordCipher::Provider);
}

#[test]
fn the_builder_takes_the_setting_through_the_same_checks() {
    let settings = Settings::builder()
        .record_cipher("provider")
        .build()
        .expect("builds");
    assert_eq!(settings.record_cipher, RecordCipher::Provider);
    let default = Settings::builder().build().expect("builds");
    assert_eq!(default.record_cipher, RecordCipher::Fastest);
    let err = Settings::builder()
        .record_cipher("quickest")
        .build()
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("dbms.ssl.record_cipher") && err.contains("'quickest'"),
        "{err}"
    );
}
