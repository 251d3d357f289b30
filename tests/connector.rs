//! The client side (spec §3: cluster and backup channels are dialled with their policy): our
//! `TlsConnector` against our `TlsLayer` server, for every pair of compiled-in backends that
//! can honour the policy, and the refusals where a backend cannot.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;
use tls_policy::config::Settings;
use tls_policy::connector::{ConnectError, Target, TlsConnector};
use tls_policy::{
    Backend, BackendError, ClientOptions, ClientTlsStream, Error, ServerOptions, TlsChannels,
    TlsVersion,
};
use tls_policy_dev_pki::{Crl, DevPki, DevPkiOptions, Issued, LeafSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use support::server::Server;
use support::{pki, STEP};

/// A second PKI nothing of ours trusts.
fn foreign_pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| DevPki::generate(&DevPkiOptions::default()).expect("generate foreign PKI"))
}

/// A home with one policy, `p`, bound to channel `cluster`.
struct PolicyHome {
    _dir: TempDir,
    settings: Settings,
}

/// Writes policy `p`: `identity` as its key pair, `trusted` in `trusted/`, `crls` in
/// `revoked/`, and `lines` as further `dbms.ssl.policy.p.*` settings.
fn home(identity: &Issued, trusted: &[&Issued], crls: &[&Crl], lines: &[&str]) -> PolicyHome {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("certificates/p");
    identity.write_files(&base).expect("key pair");
    std::fs::create_dir_all(base.join("trusted")).expect("trusted dir");
    std::fs::create_dir_all(base.join("revoked")).expect("revoked dir");
    for (i, cert) in trusted.iter().enumerate() {
        std::fs::write(base.join(format!("trusted/{i}.crt")), &cert.cert_pem).expect("trusted");
    }
    for (i, crl) in crls.iter().enumerate() {
        std::fs::write(base.join(format!("revoked/{i}.crl")), &crl.pem).expect("crl");
    }
    let mut text = format!(
        "dbms.ssl.policy.p.base_directory=certificates/p\n\
         dbms.ssl.policy.p.private_key={name}.key\n\
         dbms.ssl.policy.p.public_certificate={name}.crt\n\
         causal_clustering.ssl_policy=p\n",
        name = identity.name
    );
    for line in lines {
        text.push_str(&format!("dbms.ssl.policy.p.{line}\n"));
    }
    let config = dir.path().join("neo4j.conf");
    std::fs::write(&config, text).expect("config");
    let settings = Settings::from_file(&config, None).expect("config parses");
    PolicyHome {
        _dir: dir,
        settings,
    }
}

/// Serves channel `cluster` of `home` with `backend`, offering `alpn`.
async fn serve(home: &PolicyHome, backend: Backend, alpn: &[&[u8]]) -> Server {
    let options = ServerOptions {
        alpn_protocols: alpn.iter().map(|p| p.to_vec()).collect(),
        ..Default::default()
    };
    let channels = TlsChannels::load_with(&home.settings, Some(backend), |_| options.clone())
        .unwrap_or_else(|err| panic!("{backend} serves the policy: {err}"));
    Server::start(channels.channel("cluster").expect("bound").acceptor.clone()).await
}

/// The server side of a policy that `backend` can serve: mutual TLS where it can.
fn server_home(backend: Backend) -> PolicyHome {
    let pki = pki();
    let caps = backend.capabilities();
    let client_auth = if caps.client_auth {
        "client_auth=REQUIRE"
    } else {
        "client_auth=NONE"
    };
    let crls: &[&Crl] = if caps.crls {
        &[&pki.crl, &pki.root_crl]
    } else {
        &[]
    };
    // The intermediate issues the CRL of the client certificates, so it is trusted too (spec
    // rule 8: a CRL's issuer must be in trusted_dir).
    home(
        &pki.server,
        &[&pki.root, &pki.intermediate],
        crls,
        &[client_auth],
    )
}

/// The client side: presents the development client certificate, trusts our root.
fn client_home(lines: &[&str]) -> PolicyHome {
    let pki = pki();
    home(&pki.client, &[&pki.root], &[], lines)
}

fn connector(home: &PolicyHome, backend: Backend) -> TlsConnector {
    TlsConnector::for_channel(&home.settings, "cluster", Some(backend))
        .unwrap_or_else(|err| panic!("{backend} dials with the policy: {err}"))
}

/// Dials, sends a line and expects it echoed.
async fn ping(
    connector: &TlsConnector,
    target: Target,
) -> Result<ClientTlsStream<TcpStream>, ConnectError> {
    let mut stream = tokio::time::timeout(STEP, connector.connect(target))
        .await
        .expect("the connector gives up in time")?;
    tokio::time::timeout(STEP, async {
        stream.write_all(b"ping\n").await?;
        stream.flush().await?;
        let mut echoed = [0u8; 5];
        stream.read_exact(&mut echoed).await?;
        assert_eq!(&echoed, b"ping\n");
        Ok::<_, std::io::Error>(())
    })
    .await
    .expect("echo in time")
    .expect("echo");
    Ok(stream)
}

fn local(server: &Server, name: &str) -> Target {
    Target::new("127.0.0.1", server.addr.port()).with_server_name(name)
}

/// The rustls error inside a handshake failure, if any.
/// Why a dial failed, classified as the backend that ran it classifies it (any backend).
fn reason(backend: Backend, err: &ConnectError) -> Option<tls_policy::HandshakeFailure> {
    match err {
        ConnectError::Handshake { source, .. } => Some(
            tls_policy::observe::classify_handshake_error(backend, source),
        ),
        _ => None,
    }
}

fn rustls_error(err: &ConnectError) -> Option<&rustls::Error> {
    match err {
        ConnectError::Handshake { source, .. } => source.get_ref()?.downcast_ref(),
        _ => None,
    }
}

for_each_backend! {
    async fn mutual_tls_with_every_server_backend(client_backend: Backend) {
        let pki = pki();
        let client_home = client_home(&["verify_hostname=true"]);
        let options = ClientOptions { alpn_protocols: vec![b"h2".to_vec()], ..Default::default() };
        let connector = TlsConnector::for_channel_with(
            &client_home.settings, "cluster", Some(client_backend), &options,
        )
        .expect("client policy");
        assert_eq!(connector.client_connector().backend(), client_backend);
        assert_eq!(connector.client_connector().policy(), "p");

        for &server_backend in Backend::compiled() {
            let what = format!("{client_backend} client, {server_backend} server");
            let mut server = serve(&server_home(server_backend), server_backend, &[b"h2", b"http/1.1"]).await;
            let stream = ping(&connector, Target::new("localhost", server.addr.port()))
                .await
                .unwrap_or_else(|err| panic!("{what}: {err}"));
            let seen = server.outcome().await.unwrap_or_else(|err| panic!("{what}: {err}"));

            let info = stream.info();
            assert_eq!(info.backend, client_backend.name(), "{what}");
            assert_eq!(info.peer_certificate(), Some(&pki.server.cert_der), "{what}");
            let server_identity = info.peer_identity().expect("the server's identity");
            assert!(server_identity.dns_names.iter().any(|name| name == "localhost"), "{what}");
            assert_eq!(info.sni.as_deref(), Some("localhost"), "{what}");
            assert_eq!(info.alpn.as_deref(), Some(&b"h2"[..]), "{what}");
            assert_eq!(seen.alpn.as_deref(), Some(&b"h2"[..]), "{what}");
            if client_backend.capabilities().session_details {
                assert!(info.protocol_version.is_some() && info.cipher_suite.is_some(), "{what}");
                assert_eq!(info.peer_certificates, pki.server.chain_der(), "{what}");
            }
            if server_backend.capabilities().client_auth {
                // REQUIRE: the server verified the client's certificate.
                assert_eq!(seen.peer_certificate(), Some(&pki.client.cert_der), "{what}");
            }
            if server_backend.capabilities().tls13 {
                // Every client backend negotiates TLS 1.3 with a server that can.
                assert_eq!(seen.protocol_version, Some(TlsVersion::Tls13), "{what}");
            }
        }
    }

    async fn one_policy_serves_and_dials_the_channel(backend: Backend) {
        if !backend.capabilities().client_auth {
            return; // mutual TLS needs a server that asks for certificates
        }
        // Cluster style: the same home, the same policy, both directions.
        let pki = pki();
        let home = home(&pki.server, &[&pki.root, &pki.intermediate], &[&pki.crl, &pki.root_crl], &["client_auth=REQUIRE"]);
        let mut server = serve(&home, backend, &[]).await;
        ping(&connector(&home, backend), Target::new("localhost", server.addr.port()))
            .await
            .expect("mutual TLS with one policy");
        let seen = server.outcome().await.expect("server side");
        assert_eq!(seen.peer_certificate(), Some(&pki.server.cert_der));
    }

    async fn host_name_is_checked_only_with_verify_hostname(backend: Backend) {
        let server_backend = Backend::default_backend().expect("a backend");
        let server = serve(&home(&pki().server, &[&pki().root], &[], &["client_auth=NONE"]), server_backend, &[]).await;
        let strict = connector(&client_home(&["verify_hostname=true"]), backend);
        let lenient = connector(&client_home(&[]), backend);

        for good in ["localhost", "127.0.0.1"] {
            ping(&strict, local(&server, good)).await.unwrap_or_else(|err| panic!("{good}: {err}"));
        }
        let err = ping(&strict, local(&server, "wrong.example")).await.expect_err("a wrong name");
        assert!(matches!(err, ConnectError::Handshake { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(&server.addr.to_string()) && text.contains("wrong.example"), "{text}");
        if let Some(inner) = rustls_error(&err) {
            assert!(matches!(inner, rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. })), "{inner:?}");
        }

        let stream = ping(&lenient, local(&server, "wrong.example")).await.expect("no name check");
        assert_eq!(stream.info().sni.as_deref(), Some("wrong.example"));
    }

    async fn a_foreign_server_is_refused_even_without_hostname_check(backend: Backend) {
        let foreign = foreign_pki();
        let server = serve(&home(&foreign.server, &[&foreign.root], &[], &["client_auth=NONE"]), Backend::default_backend().expect("a backend"), &[]).await;
        let lenient = connector(&client_home(&[]), backend);
        let err = ping(&lenient, local(&server, "localhost")).await.expect_err("foreign chain");
        assert!(matches!(err, ConnectError::Handshake { .. }), "{err}");
        if let Some(inner) = rustls_error(&err) {
            // The foreign CAs carry the same names as ours, so webpki tries our root as their
            // issuer and finds the signature wrong; either way a chain error, not a name error.
            assert!(matches!(inner, rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature)), "{inner:?}");
        }

        // trust_all accepts it (and any name).
        let trusting = connector(&client_home(&["trust_all=true", "verify_hostname=true"]), backend);
        let stream = ping(&trusting, local(&server, "wrong.example")).await.expect("trust_all");
        assert_eq!(stream.info().peer_certificate(), Some(&foreign.server.cert_der));
    }

    async fn a_revoked_server_is_refused_or_the_crl_refused(backend: Backend) {
        let pki = pki();
        let revoked = pki
            .issue(&LeafSpec::server("revoked-server", ["localhost", "127.0.0.1"], time::Duration::days(30)))
            .expect("issue");
        let crl = pki.crl_revoking(&[revoked.serial]).expect("crl");
        let server = serve(&home(&revoked, &[&pki.root], &[], &["client_auth=NONE"]), Backend::default_backend().expect("a backend"), &[]).await;

        // Without the CRL the server passes: the control.
        ping(&connector(&client_home(&[]), backend), local(&server, "localhost")).await.expect("no CRL");

        // Only the intermediate is trusted (the anchor of a sub-tree): with the root beside it,
        // the intermediate would be a path link, which the root's CRL must cover too.
        let with_crl = home(&pki.client, &[&pki.intermediate], &[&crl], &[]);
        let dialer = TlsConnector::for_channel(&with_crl.settings, "cluster", Some(backend));
        if !backend.capabilities().crls {
            assert_unsupported(dialer, "revoked_dir", backend);
            return;
        }
        let err = ping(&dialer.expect("CRLs honoured"), local(&server, "localhost")).await.expect_err("revoked");
        assert_eq!(reason(backend, &err), Some(tls_policy::HandshakeFailure::Revoked), "{err}");
    }

    async fn a_cipher_list_is_honoured_or_refused(backend: Backend) {
        let server = serve(&home(&pki().server, &[&pki().root], &[], &["client_auth=NONE"]), Backend::default_backend().expect("a backend"), &[]).await;
        let home = client_home(&["ciphers=TLS_AES_256_GCM_SHA384", "tls_versions=TLSv1.3"]);
        let dialer = TlsConnector::for_channel(&home.settings, "cluster", Some(backend));
        if !backend.capabilities().cipher_list {
            assert_unsupported(dialer, "ciphers", backend);
            return;
        }
        let stream = ping(&dialer.expect("ciphers honoured"), local(&server, "localhost")).await.expect("handshake");
        assert_eq!(stream.info().cipher_suite.map(|s| s.name()), Some("TLS_AES_256_GCM_SHA384"));
    }

    async fn dial_failures_name_the_peer(backend: Backend) {
        let home = client_home(&[]);
        // Nobody listening.
        let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = closed.local_addr().expect("addr");
        drop(closed);
        let err = connector(&home, backend).connect(addr).await.expect_err("refused");
        assert!(matches!(err, ConnectError::Connect { .. }), "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");

        // A peer that accepts and never answers the ClientHello.
        let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = silent.local_addr().expect("addr");
        let holder = tokio::spawn(async move {
            let (tcp, _) = silent.accept().await.expect("accept");
            tokio::time::sleep(STEP).await;
            drop(tcp);
        });
        let short = connector(&home, backend).handshake_timeout(Duration::from_millis(300));
        let err = tokio::time::timeout(STEP, short.connect(addr)).await.expect("bounded").expect_err("stalled");
        assert!(matches!(err, ConnectError::HandshakeTimeout { .. }), "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        holder.abort();
    }

    async fn a_channel_connector_follows_reloads_of_its_policy(backend: Backend) {
        // The client's channel trusts our root; a rotation moves it to the foreign PKI, then a
        // CRL revokes the foreign server. One connector (and a clone made before the reloads)
        // dials throughout and always uses the policy's current material.
        let (ours, foreign) = (pki(), foreign_pki());
        let server_backend = Backend::default_backend().expect("a backend");
        let our_server = serve(&home(&ours.server, &[&ours.root], &[], &["client_auth=NONE"]), server_backend, &[]).await;
        let foreign_server = serve(&home(&foreign.server, &[&foreign.root], &[], &["client_auth=NONE"]), server_backend, &[]).await;

        // client_auth=NONE: every backend can serve this policy too, which loading compiles.
        let client = client_home(&["client_auth=NONE"]);
        let channels = TlsChannels::load(&client.settings, Some(backend))
            .unwrap_or_else(|err| panic!("{backend} loads the client policy: {err}"));
        let dialler = channels.connector("cluster").expect("a channel connector");
        let before = dialler.clone();
        ping(&dialler, local(&our_server, "localhost")).await.expect("our server before rotation");
        ping(&dialler, local(&foreign_server, "localhost")).await.expect_err("foreign server before rotation");

        // Rotate the trusted CA.
        let base = client.settings.policies["p"].base_directory.clone();
        std::fs::write(base.join("trusted/0.crt"), &foreign.root.cert_pem).expect("rotate CA");
        std::fs::write(base.join("trusted/1.crt"), &foreign.intermediate.cert_pem).expect("rotate CA");
        channels.reload().expect("the rotation reloads");
        for dialler in [&dialler, &before] {
            ping(dialler, local(&foreign_server, "localhost")).await.expect("foreign server after rotation");
            ping(dialler, local(&our_server, "localhost")).await.expect_err("our server after rotation");
        }

        // Add a CRL revoking the foreign server (and the root's, covering the intermediate).
        let revoking = foreign.crl_revoking(&[foreign.server.serial]).expect("crl");
        std::fs::write(base.join("revoked/0.crl"), &revoking.pem).expect("add CRL");
        std::fs::write(base.join("revoked/1.crl"), &foreign.root_crl.pem).expect("add CRL");
        let reloaded = channels.reload();
        if !backend.capabilities().crls {
            // The client side cannot honour CRLs: the reload is refused whole, and the
            // connector keeps dialling with what it had.
            let err = reloaded.expect_err("CRLs refused on this backend").to_string();
            assert!(err.contains("revoked_dir"), "{err}");
            ping(&dialler, local(&foreign_server, "localhost")).await.expect("old material kept");
            return;
        }
        reloaded.expect("the CRL reloads");
        for dialler in [&dialler, &before] {
            let err = ping(dialler, local(&foreign_server, "localhost")).await.expect_err("revoked server");
            assert_eq!(reason(backend, &err), Some(tls_policy::HandshakeFailure::Revoked), "{err}");
        }
        // A connector made now starts from the current material too.
        let fresh = channels.connector("cluster").expect("a channel connector");
        ping(&fresh, local(&foreign_server, "localhost")).await.expect_err("revoked server");
    }
}

fn assert_unsupported(result: Result<TlsConnector, Error>, setting: &str, backend: Backend) {
    match result {
        Err(Error::Backend {
            source:
                err @ BackendError::Unsupported {
                    setting: s,
                    backend: b,
                    ..
                },
            ..
        }) => {
            assert_eq!((s, b), (setting, backend.name()));
            assert!(
                err.to_string().contains("rustls"),
                "names the alternative: {err}"
            );
        }
        other => panic!("expected {setting} to be refused by {backend}, got {other:?}"),
    }
}

#[test]
fn channels_without_a_usable_policy_are_refused() {
    let home = client_home(&[]);
    match TlsConnector::for_channel(&home.settings, "backup", None) {
        Err(err @ Error::Policy { .. }) => {
            assert!(err.to_string().contains("dbms.backup.ssl_policy"), "{err}")
        }
        other => panic!("expected an unbound channel to be refused, got {other:?}"),
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("neo4j.conf");
    std::fs::write(&config, "dbms.backup.ssl_policy=legacy\n").expect("config");
    let settings = Settings::from_file(&config, None).expect("config parses");
    match TlsConnector::for_channel(&settings, "backup", None) {
        Err(err @ Error::Policy { .. }) => assert!(err.to_string().contains("legacy"), "{err}"),
        other => panic!("expected the legacy system to be refused for dialling, got {other:?}"),
    }
}
