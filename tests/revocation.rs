//! Revocation fails closed (issue 8; spec §2 rule 8 and "Revocation"), on every compiled-in
//! backend: a certificate whose issuer has no current CRL is refused as `revocation_unknown`,
//! CRLs that are untrusted, forged or expired are load errors, a CRL that expires while serving
//! refuses what it covered, a reload never switches revocation off, and native-tls serves what
//! it can (client_auth=NONE) while refusing what it cannot (CRLs on its client side).
//!
//! Every PKI is generated at test time: the shared development PKI (`support::pki`: root,
//! intermediate, server, good and revoked clients, CRLs), a second one with the same names and
//! other keys (forged CRLs), and a stranger CA made with rcgen.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::client::Client;
use support::server::Server;
use support::{pki, STEP};
use tls_policy::config::Settings;
use tls_policy::connector::{ConnectError, Target, TlsConnector};
use tls_policy::observe::{CRL_NEXT_UPDATE, HANDSHAKES};
use tls_policy::{Backend, BackendError, Error, TlsChannels, TlsLayer};
use tls_policy_dev_pki::{DevPki, DevPkiOptions, Issued};

/// The intermediate CA's distinguished name, as error messages and the gauge's `crl` label
/// spell it.
const INTERMEDIATE_DN: &str =
    "CN=tls-policy development intermediate CA, O=tls-policy development (NOT FOR PRODUCTION)";

// === a process-wide metrics recorder ===

struct Recorded {
    snapshotter: Snapshotter,
    values: Mutex<BTreeMap<String, f64>>,
}

fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::set_global_recorder(recorder).expect("the only recorder of this test binary");
        Recorded {
            snapshotter,
            values: Mutex::new(BTreeMap::new()),
        }
    })
}

/// The value of metric `name` whose labels include all of `labels`: counters summed across
/// snapshots (each snapshot resets them), a gauge's last value set.
fn value(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let recorded = recorded();
    let mut values = recorded.values.lock().expect("values");
    for (key, _, _, value) in recorded.snapshotter.snapshot().into_vec() {
        let key = key.key();
        let mut id = key.name().to_string();
        for label in key.labels() {
            id.push_str(&format!("|{}={}", label.key(), label.value()));
        }
        match value {
            DebugValue::Counter(n) => *values.entry(id).or_default() += n as f64,
            // A snapshot resets a gauge to 0; 0 then means "not set since".
            DebugValue::Gauge(g) if g.into_inner() != 0.0 => {
                values.insert(id, g.into_inner());
            }
            _ => {}
        }
    }
    let matching: Vec<f64> = values
        .iter()
        .filter(|(id, _)| {
            id.split('|').next() == Some(name)
                && labels
                    .iter()
                    .all(|(k, v)| id.split('|').any(|part| part == format!("{k}={v}")))
        })
        .map(|(_, v)| *v)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// Waits (bounded) until `channel` has counted `count` handshakes refused for `reason`.
async fn expect_refusals(channel: &str, reason: &str, count: f64) {
    let labels = [
        ("channel", channel),
        ("outcome", "failed"),
        ("reason", reason),
    ];
    let deadline = Instant::now() + STEP;
    loop {
        let now = value(HANDSHAKES, &labels).unwrap_or(0.0);
        if now == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{HANDSHAKES}{labels:?} is {now}, expected {count}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// === policy homes ===

/// A home with one policy, named after the backend, bound to channels `bolt` and `cluster`.
struct PolicyHome {
    _dir: TempDir,
    base: PathBuf,
    settings: Settings,
}

/// Writes the policy: `identity` as its key pair, `trusted` in `trusted/`, each `(file, PEM)` of
/// `crls` in `revoked/`, and `lines` as further `dbms.ssl.policy.<policy>.*` settings.
fn home(
    policy: &str,
    identity: &Issued,
    trusted: &[&Issued],
    crls: &[(&str, &str)],
    lines: &[&str],
) -> PolicyHome {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("certificates/p");
    identity.write_files(&base).expect("key pair");
    std::fs::create_dir_all(base.join("trusted")).expect("trusted dir");
    std::fs::create_dir_all(base.join("revoked")).expect("revoked dir");
    for cert in trusted {
        std::fs::write(
            base.join(format!("trusted/{}.crt", cert.name)),
            &cert.cert_pem,
        )
        .expect("trusted");
    }
    for (file, pem) in crls {
        std::fs::write(base.join("revoked").join(file), pem).expect("crl");
    }
    let mut text = format!(
        "dbms.ssl.policy.{policy}.base_directory=certificates/p\n\
         dbms.ssl.policy.{policy}.private_key={name}.key\n\
         dbms.ssl.policy.{policy}.public_certificate={name}.crt\n\
         bolt.ssl_policy={policy}\n\
         causal_clustering.ssl_policy={policy}\n",
        name = identity.name
    );
    for line in lines {
        text.push_str(&format!("dbms.ssl.policy.{policy}.{line}\n"));
    }
    let config = dir.path().join("neo4j.conf");
    std::fs::write(&config, text).expect("config");
    let settings = Settings::from_file(&config, None).expect("config parses");
    PolicyHome {
        _dir: dir,
        base,
        settings,
    }
}

/// The server side of the matrix: `client_auth=REQUIRE` where the backend can ask for client
/// certificates, `NONE` elsewhere (native-tls).
fn server_home(backend: Backend, trusted: &[&Issued], crls: &[(&str, &str)]) -> PolicyHome {
    let client_auth = if backend.capabilities().client_auth {
        "client_auth=REQUIRE"
    } else {
        "client_auth=NONE"
    };
    home(backend.name(), &pki().server, trusted, crls, &[client_auth])
}

/// The root's (empty) and the intermediate's (revoking the revoked client) CRLs.
fn both_crls() -> [(&'static str, &'static str); 2] {
    let pki = pki();
    [
        ("root.crl", pki.root_crl.pem.as_str()),
        ("intermediate.crl", pki.crl.pem.as_str()),
    ]
}

/// Serves channel `bolt` of `channels`, its metrics labelled `channel`.
async fn serve(channels: &TlsChannels, channel: &str) -> Server {
    let acceptor = channels
        .channel("bolt")
        .expect("bolt bound")
        .acceptor
        .clone();
    recorded();
    Server::start_with(TlsLayer::new(acceptor).with_channel(channel)).await
}

fn load(home: &PolicyHome, backend: Backend) -> Result<TlsChannels, Error> {
    TlsChannels::load(&home.settings, Some(backend))
}

/// Expects the client to be refused and the server to report `reason`.
async fn assert_refused_for(server: &mut Server, client: Client<'_>, reason: &str) {
    let result = client.exchange(server.addr).await;
    assert!(
        result.is_err(),
        "refused as {reason}: the client got through"
    );
    let outcome = server.outcome().await.expect_err("the server refused");
    assert!(
        outcome.ends_with(&format!("({reason})")),
        "expected {reason}: {outcome}"
    );
}

/// The `revoked_dir` load error's path and message.
#[track_caller]
fn revoked_dir_error(result: Result<TlsChannels, Error>) -> (PathBuf, String) {
    match result {
        Err(Error::Policy {
            setting: "revoked_dir",
            path: Some(path),
            message,
            ..
        }) => (path, message),
        Err(other) => panic!("expected a revoked_dir error, got {other}"),
        Ok(_) => panic!("expected a revoked_dir error, the policy loaded"),
    }
}

// === the client side ===

/// Dials `target`, sends a line and expects it echoed.
async fn ping(connector: &TlsConnector, target: Target) -> Result<(), ConnectError> {
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
    Ok(())
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

// === tracing, to see native-tls's warning ===

/// Everything logged by this test binary so far: a global subscriber (installed once) writes
/// into a buffer. Global rather than scoped, so no callsite's cached interest can hide an event.
fn logs() -> String {
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    let buffer = BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        buffer
    });
    let text = String::from_utf8_lossy(&buffer.0.lock().expect("buffer")).into_owned();
    text
}

/// A second development PKI: the same names, other keys.
fn impostor_pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| DevPki::generate(&DevPkiOptions::default()).expect("generate PKI"))
}

/// A CA nothing trusts (`CN=tls-policy test stranger CA`), and an empty CRL it issued, PEM.
fn stranger_crl() -> String {
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer,
        KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "tls-policy test stranger CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer = Issuer::new(params, KeyPair::generate().expect("key"));
    let now = time::OffsetDateTime::now_utc();
    CertificateRevocationListParams {
        this_update: now - time::Duration::hours(1),
        next_update: now + time::Duration::days(30),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .expect("CRL")
    .pem()
    .expect("PEM")
}

for_each_backend! {
    // Only the root's CRL: the intermediate is covered, its clients are not. The old behaviour
    // let the revoked client in (a missing CRL counted as "not revoked").
    async fn an_issuer_without_a_crl_leaves_its_clients_refused_as_revocation_unknown(backend: Backend) {
        if !backend.capabilities().client_auth {
            eprintln!("{backend}: asks no client certificate, scenario skipped");
            return;
        }
        let p = pki();
        let home = server_home(backend, &[&p.root], &[("root.crl", &p.root_crl.pem)]);
        let channels = load(&home, backend).expect("the root's CRL loads");
        let channel = format!("{backend}-unknown");
        let mut server = serve(&channels, &channel).await;
        assert_refused_for(&mut server, Client::with_cert(&p.revoked_client), "revocation_unknown").await;
        assert_refused_for(&mut server, Client::with_cert(&p.client), "revocation_unknown").await;
        expect_refusals(&channel, "revocation_unknown", 2.0).await;
    }

    // Both CRLs: the intermediate's must be believed, so its issuer must be trusted (rule 8);
    // then the good client passes and the revoked one is refused as revoked.
    async fn with_every_issuers_crl_the_good_pass_and_the_revoked_are_revoked(backend: Backend) {
        let p = pki();
        let untrusted = server_home(backend, &[&p.root], &both_crls());
        let (path, message) = revoked_dir_error(load(&untrusted, backend));
        assert_eq!(path, untrusted.base.join("revoked/intermediate.crl"));
        assert!(message.contains(INTERMEDIATE_DN), "{message}");

        if !backend.capabilities().client_auth {
            return;
        }
        let policy = format!("{backend}-both");
        let home = home(&policy, &p.server, &[&p.root, &p.intermediate], &both_crls(), &["client_auth=REQUIRE"]);
        let channels = load(&home, backend).expect("both CRLs load");
        let channel = format!("{backend}-both");
        let mut server = serve(&channels, &channel).await;
        Client::with_cert(&p.client).exchange(server.addr).await.expect("good client");
        server.outcome().await.expect("good client accepted");
        assert_refused_for(&mut server, Client::with_cert(&p.revoked_client), "revoked").await;
        expect_refusals(&channel, "revoked", 1.0).await;
        expect_refusals(&channel, "revocation_unknown", 0.0).await;

        // A reload that brings the intermediate's next CRL sets its gauge anew.
        let next_update = time::OffsetDateTime::now_utc() + time::Duration::days(2);
        let next = p.crl_revoking_until(&[p.revoked_client.serial], next_update).expect("CRL");
        std::fs::write(home.base.join("revoked/intermediate.crl"), &next.pem).expect("new CRL");
        channels.reload().expect("a current CRL reloads");
        let left = value(CRL_NEXT_UPDATE, &[("policy", &policy), ("crl", INTERMEDIATE_DN)])
            .expect("the CRL gauge is set on reload");
        assert!((left - 2.0 * 86_400.0).abs() < 60.0, "{left}");
        assert_refused_for(&mut server, Client::with_cert(&p.revoked_client), "revoked").await;
    }

    async fn untrusted_forged_and_expired_crls_are_load_errors(backend: Backend) {
        let p = pki();
        let trusted: &[&Issued] = &[&p.root, &p.intermediate];

        // From a CA nothing trusts: the file and the issuer are named, with the way out.
        let stranger = stranger_crl();
        let home = server_home(backend, trusted, &[("root.crl", &p.root_crl.pem), ("stranger.crl", &stranger)]);
        let (path, message) = revoked_dir_error(load(&home, backend));
        assert_eq!(path, home.base.join("revoked/stranger.crl"));
        assert!(message.contains("CN=tls-policy test stranger CA"), "{message}");
        assert!(message.contains("put the issuing CA's certificate"), "{message}");

        // The intermediate's name, another key.
        let forged = &impostor_pki().crl.pem;
        let home = server_home(backend, trusted, &[("intermediate.crl", forged)]);
        let (path, message) = revoked_dir_error(load(&home, backend));
        assert_eq!(path, home.base.join("revoked/intermediate.crl"));
        assert!(message.contains(INTERMEDIATE_DN), "{message}");
        assert!(message.contains("signature does not verify"), "{message}");

        // Past its nextUpdate: the file and the date are named.
        let next_update = rcgen::date_time_ymd(2024, 3, 1);
        let expired = p.crl_revoking_until(&[p.revoked_client.serial], next_update).expect("CRL");
        let home = server_home(backend, trusted, &[("intermediate.crl", &expired.pem)]);
        let (path, message) = revoked_dir_error(load(&home, backend));
        assert_eq!(path, home.base.join("revoked/intermediate.crl"));
        assert!(message.contains("expired"), "{message}");
        assert!(message.contains("Mar  1 00:00:00 2024"), "{message}");
    }

    // The intermediate's CRL is current at load and expires seconds later: what it covered is
    // then refused as revocation_unknown. The gauge counted down to it.
    async fn a_crl_that_expires_while_serving_refuses_what_it_covered(backend: Backend) {
        if !backend.capabilities().client_auth {
            eprintln!("{backend}: asks no client certificate, scenario skipped");
            return;
        }
        let p = pki();
        let next_update = time::OffsetDateTime::now_utc() + time::Duration::seconds(5);
        let crl = p.crl_revoking_until(&[p.revoked_client.serial], next_update).expect("CRL");
        let home = server_home(
            backend,
            &[&p.root, &p.intermediate],
            &[("root.crl", &p.root_crl.pem), ("intermediate.crl", &crl.pem)],
        );
        let channels = load(&home, backend).expect("a current CRL loads");
        let channel = format!("{backend}-expiring");
        let mut server = serve(&channels, &channel).await;

        // The gauge, set at load, says how long is left.
        let recorded = tls_policy::observe::record_settings_expiry(&home.settings);
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        let left = value(CRL_NEXT_UPDATE, &[("policy", backend.name()), ("crl", INTERMEDIATE_DN)])
            .expect("the CRL gauge is set");
        assert!(left > 0.0 && left <= 5.0, "{left}");

        // While it is current the good client passes (unless this busy machine already took
        // nearly all of its life loading: then only the refusal below is checked).
        let expires_at = Instant::now() + Duration::from_secs_f64(left);
        if expires_at > Instant::now() + Duration::from_millis(1500) {
            Client::with_cert(&p.client).exchange(server.addr).await.expect("good client while the CRL is current");
            server.outcome().await.expect("accepted");
        } else {
            eprintln!("{backend}: the CRL expired too soon to check the good client before it");
        }

        // Wait (bounded) until the CRL is past its nextUpdate.
        let wait = expires_at.saturating_duration_since(Instant::now()) + Duration::from_millis(1500);
        assert!(wait < Duration::from_secs(8), "{wait:?}");
        tokio::time::sleep(wait).await;
        assert_refused_for(&mut server, Client::with_cert(&p.client), "revocation_unknown").await;
        expect_refusals(&channel, "revocation_unknown", 1.0).await;
    }

    // A reload that would leave revoked_dir empty is refused; the old CRLs stay enforced.
    async fn a_reload_that_removes_every_crl_is_refused_and_the_old_material_kept(backend: Backend) {
        let p = pki();
        let home = server_home(backend, &[&p.root, &p.intermediate], &both_crls());
        let channels = load(&home, backend).expect("loads");
        let channel = format!("{backend}-reload");
        let mut server = serve(&channels, &channel).await;
        let mutual = backend.capabilities().client_auth;
        if mutual {
            assert_refused_for(&mut server, Client::with_cert(&p.revoked_client), "revoked").await;
        }

        for (file, _) in both_crls() {
            std::fs::remove_file(home.base.join("revoked").join(file)).expect("remove CRL");
        }
        let refused = channels.reload().expect_err("a reload that switches revocation off");
        assert_eq!(refused.failures.len(), 1, "{refused}");
        match &refused.failures[0].error {
            Error::Policy { setting: "revoked_dir", path, message, .. } => {
                assert_eq!(path.as_deref(), Some(home.base.join("revoked").as_path()));
                assert!(message.contains("restart"), "{message}");
            }
            other => panic!("expected a revoked_dir refusal, got {other}"),
        }

        if mutual {
            assert_refused_for(&mut server, Client::with_cert(&p.revoked_client), "revoked").await;
            Client::with_cert(&p.client).exchange(server.addr).await.expect("good client");
        } else {
            Client::anonymous().exchange(server.addr).await.expect("still serving");
        }
        server.outcome().await.expect("served with the old material");
    }

    // The client side verifying a server: the server's issuer (the intermediate) has no CRL.
    async fn the_client_side_refuses_a_server_whose_issuer_has_no_crl(backend: Backend) {
        let p = pki();
        let server_backend = Backend::default_backend().expect("a backend");
        let server_home = home("server", &p.server, &[&p.root], &[], &["client_auth=NONE"]);
        let channels = load(&server_home, server_backend).expect("server loads");
        let server = serve(&channels, &format!("{backend}-dialled")).await;
        let target = Target::new("127.0.0.1", server.addr.port()).with_server_name("localhost");

        let only_root = home("client", &p.client, &[&p.root], &[("root.crl", &p.root_crl.pem)], &[]);
        let dialer = TlsConnector::for_channel(&only_root.settings, "cluster", Some(backend));
        if !backend.capabilities().crls {
            // native-tls has no CRL API on its client side: refused, never ignored.
            match dialer {
                Err(Error::Backend { source: BackendError::Unsupported { setting, .. }, .. }) => {
                    assert_eq!(setting, "revoked_dir");
                }
                other => panic!("expected revoked_dir to be refused, got {:?}", other.err()),
            }
            return;
        }
        let err = ping(&dialer.expect("client policy"), target.clone()).await.expect_err("refused");
        assert_eq!(reason(backend, &err), Some(tls_policy::HandshakeFailure::RevocationUnknown), "{err}");

        // With the intermediate's CRL (and the intermediate trusted), the server is known good.
        let both = home("client", &p.client, &[&p.root, &p.intermediate], &both_crls(), &[]);
        let dialer = TlsConnector::for_channel(&both.settings, "cluster", Some(backend)).expect("client policy");
        ping(&dialer, target).await.expect("the server's status is known");
    }

    // client_auth=NONE: no client certificate is asked for, so CRLs play no part and every
    // backend serves (native-tls used to refuse, and now says so once).
    async fn client_auth_none_with_crls_is_served(backend: Backend) {
        let p = pki();
        let policy = format!("{backend}-none");
        let home = home(&policy, &p.server, &[&p.root, &p.intermediate], &both_crls(), &["client_auth=NONE"]);
        logs();
        let channels = load(&home, backend).expect("a CRL with client_auth=NONE is served");
        if !backend.capabilities().crls {
            let logs = logs();
            assert!(
                logs.lines().any(|line| line.contains("play no part") && line.contains(&format!("policy={policy}"))),
                "{logs}"
            );
        }
        let mut server = serve(&channels, &format!("{backend}-none")).await;
        Client::anonymous().exchange(server.addr).await.expect("served");
        server.outcome().await.expect("handshake");
    }
}
