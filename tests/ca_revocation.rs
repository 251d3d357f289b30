//! Revoking an intermediate CA (issue 17 part 1; spec §2 "Anchors and path links"), on every
//! compiled-in backend, with a PKI the `openssl` command makes at test time: a root, an
//! intermediate, server and client leaves under the intermediate, CRLs from `openssl ca`.
//!
//! With root and intermediate in trusted_dir, the intermediate is a path link: a root CRL that
//! lists it refuses its clients (server side) and its servers (client side) as `revoked`; a
//! client sending its leaf alone is completed from it; with no CRL from the root, its status is
//! unknown and its clients are refused (`revocation_unknown`). An intermediate trusted alone is
//! an anchor, as before. A real peer (`openssl s_client`) is refused too. native-tls asks for no
//! client certificate and has no CRL API on its client side: it refuses CRLs, and without them
//! completes a server's chain from the path link.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::openssl_pki::{Made, OpensslPki, Usage};
use support::server::Server;
use support::STEP;
use tls_policy::config::Settings;
use tls_policy::connector::{ConnectError, Target, TlsConnector};
use tls_policy::{Backend, BackendError, Error, TlsChannels};

const ROOT_CN: &str = "ca-revocation test root CA";
const INTERMEDIATE_CN: &str = "ca-revocation test intermediate CA";

/// The PKI of one test: root → intermediate → server and client leaves.
struct Tree {
    pki: OpensslPki,
    root: Made,
    intermediate: Made,
    server: Made,
    client: Made,
}

/// A fresh tree, or `None` when openssl is missing and the skip variable is set.
fn tree() -> Option<Tree> {
    let pki = OpensslPki::new()?;
    let root = pki.root("root", ROOT_CN);
    let intermediate = pki.intermediate("intermediate", INTERMEDIATE_CN, &root);
    let server = pki.leaf("server", "localhost", &intermediate, Usage::Server);
    let client = pki.leaf(
        "client",
        "ca-revocation test client",
        &intermediate,
        Usage::Client,
    );
    Some(Tree {
        pki,
        root,
        intermediate,
        server,
        client,
    })
}

impl Tree {
    /// The root's current CRL listing the intermediate.
    fn root_crl_revoking_the_intermediate(&self) -> String {
        self.pki.revoke(&self.root, &self.intermediate);
        self.pki.crl(&self.root)
    }
}

// === policy homes ===

/// A home with policy `p` bound to `bolt` (served) and `cluster` (dialled).
struct PolicyHome {
    _dir: TempDir,
    base: PathBuf,
    settings: Settings,
}

/// Writes policy `p`: `chain` (leaf first) as public.crt with the leaf's key, `trusted` in
/// `trusted/`, each `(file, PEM)` of `crls` in `revoked/`, and `lines` as further settings.
fn home(chain: &[&Made], trusted: &[&Made], crls: &[(&str, &str)], lines: &[&str]) -> PolicyHome {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("certificates/p");
    for sub in ["trusted", "revoked"] {
        std::fs::create_dir_all(base.join(sub)).expect("policy dirs");
    }
    let pem: String = chain.iter().map(|made| made.pem()).collect();
    std::fs::write(base.join("public.crt"), pem).expect("chain");
    let key = base.join("private.key");
    std::fs::write(&key, chain[0].key_pem()).expect("key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    for cert in trusted {
        std::fs::write(base.join(format!("trusted/{}.crt", cert.name)), cert.pem())
            .expect("trusted");
    }
    for (file, pem) in crls {
        std::fs::write(base.join("revoked").join(file), pem).expect("crl");
    }
    let mut text = String::from(
        "dbms.ssl.policy.p.base_directory=certificates/p\n\
         bolt.ssl_policy=p\n\
         causal_clustering.ssl_policy=p\n",
    );
    for line in lines {
        text.push_str(&format!("dbms.ssl.policy.p.{line}\n"));
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

fn load(home: &PolicyHome, backend: Backend) -> Result<TlsChannels, Error> {
    TlsChannels::load(&home.settings, Some(backend))
}

/// Serves channel `bolt` of `channels`.
async fn serve(channels: &TlsChannels) -> Server {
    let acceptor = channels
        .channel("bolt")
        .expect("bolt bound")
        .acceptor
        .clone();
    Server::start(acceptor).await
}

/// Whether `backend` verifies client certificates; says so when it does not.
fn verifies_clients(backend: Backend) -> bool {
    let can = backend.capabilities().client_auth;
    if !can {
        eprintln!("{backend}: asks no client certificate, server-side scenario skipped");
    }
    can
}

// === peers ===

/// A rustls (ring) client, independent of the backend under test: presents `chain` (leaf first)
/// with the leaf's key, trusts `root`, handshakes as `localhost`, and expects a line echoed.
async fn dial(addr: std::net::SocketAddr, chain: &[&Made], root: &Made) -> Result<(), String> {
    let certs: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|made| CertificateDer::from_pem_file(&made.cert).expect("certificate"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(&chain[0].key).expect("key");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&root.cert).expect("root"))
        .expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .expect("client identity");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tls.write_all(b"ping\n").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        let mut echoed = [0u8; 5];
        tls.read_exact(&mut echoed)
            .await
            .map_err(|e| format!("read: {e}"))?;
        Ok(())
    };
    tokio::time::timeout(STEP, exchange)
        .await
        .map_err(|_| "client timed out".to_owned())?
}

/// Expects `chain` to be served: the client's echo and the server's outcome.
async fn assert_served(server: &mut Server, chain: &[&Made], root: &Made) {
    dial(server.addr, chain, root).await.expect("served");
    server.outcome().await.expect("the server accepted");
}

/// Expects `chain` to be refused, and the server to say `reason`.
async fn assert_refused(server: &mut Server, chain: &[&Made], root: &Made, reason: &str) {
    let result = dial(server.addr, chain, root).await;
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

/// Dials `target` with `connector`, sends a line and expects it echoed.
async fn ping(connector: &TlsConnector, target: Target) -> Result<(), ConnectError> {
    let mut stream = tokio::time::timeout(STEP, connector.connect(target))
        .await
        .expect("the connector gives up in time")?;
    tokio::time::timeout(STEP, async {
        stream.write_all(b"ping\n").await?;
        stream.flush().await?;
        let mut echoed = [0u8; 5];
        stream.read_exact(&mut echoed).await?;
        Ok::<_, std::io::Error>(())
    })
    .await
    .expect("echo in time")
    .expect("echo");
    Ok(())
}

/// The certificate error inside a client-side handshake failure, if any.
/// Why a dial failed, classified as the backend that ran it classifies it (any backend).
fn reason(backend: Backend, err: &ConnectError) -> Option<tls_policy::HandshakeFailure> {
    match err {
        ConnectError::Handshake { source, .. } => Some(
            tls_policy::observe::classify_handshake_error(backend, source),
        ),
        _ => None,
    }
}

/// A server (the first rustls backend compiled in) presenting `chain`, with no client auth.
async fn server_presenting(tree: &Tree, chain: &[&Made]) -> (PolicyHome, Server) {
    let backend = Backend::compiled()
        .iter()
        .copied()
        .find(|b| b.capabilities().crls)
        .expect("a rustls backend to serve with");
    let home = home(chain, &[&tree.root], &[], &["client_auth=NONE"]);
    let channels = load(&home, backend).expect("server loads");
    let server = serve(&channels).await;
    (home, server)
}

fn target(server: &Server) -> Target {
    Target::new("127.0.0.1", server.addr.port()).with_server_name("localhost")
}

/// Runs `openssl s_client` against `addr` with `-cert`/`-key` of `client` (leaf only), bounded
/// in time; what it prints does not matter, the server's outcome does.
fn s_client(addr: std::net::SocketAddr, client: &Made, root: &Made) {
    let connect = addr.to_string();
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &connect,
            "-servername",
            "localhost",
            "-brief",
        ])
        .arg("-cert")
        .arg(&client.cert)
        .arg("-key")
        .arg(&client.key)
        .arg("-CAfile")
        .arg(&root.cert)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run openssl s_client");
    let deadline = Instant::now() + STEP;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("openssl s_client did not finish in {STEP:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A client certificate resolver that only records the CA names the server's
/// CertificateRequest lists, and sends no certificate.
#[derive(Debug, Default)]
struct RecordHints(std::sync::Mutex<Vec<Vec<u8>>>);

impl rustls::client::ResolvesClientCert for RecordHints {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        *self.0.lock().expect("hints") = root_hint_subjects.iter().map(|h| h.to_vec()).collect();
        None
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The CertificateRequest's CA names of the server at `addr` (which trusts `root`).
async fn certificate_request_names(addr: std::net::SocketAddr, root: &Made) -> Vec<Vec<u8>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&root.cert).expect("root"))
        .expect("root");
    let hints = Arc::new(RecordHints::default());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_cert_resolver(hints.clone());
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        // Refused (no certificate) once the names were seen; only the names matter here.
        if let Ok(mut tls) = connector.connect(name, tcp).await {
            let _ = tls.write_all(b"x").await;
            let mut byte = [0u8; 1];
            let _ = tls.read(&mut byte).await;
        }
    };
    tokio::time::timeout(STEP, attempt).await.expect("in time");
    let names = hints.0.lock().expect("hints").clone();
    names
}

/// The DER distinguished name (with its SEQUENCE) of `made`, as CertificateRequests carry it.
fn subject_of(made: &Made) -> Vec<u8> {
    let mut store = rustls::RootCertStore::empty();
    store
        .add(CertificateDer::from_pem_file(&made.cert).expect("certificate"))
        .expect("parses");
    store.subjects()[0].as_ref().to_vec()
}

for_each_backend! {
    // The CertificateRequest names the anchor and the path link, so a client whose certificate
    // the intermediate issued finds its issuer listed.
    async fn the_certificate_request_names_anchors_and_path_links(backend: Backend) {
        let Some(t) = tree() else { return };
        if !verifies_clients(backend) {
            return;
        }
        let home = home(&[&t.server, &t.intermediate], &[&t.root, &t.intermediate], &[],
            &["client_auth=REQUIRE"]);
        let channels = load(&home, backend).expect("loads");
        let mut server = serve(&channels).await;
        let names = certificate_request_names(server.addr, &t.root).await;
        let _ = server.outcome().await;
        let (root, intermediate) = (subject_of(&t.root), subject_of(&t.intermediate));
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&root) && names.contains(&intermediate), "{names:?}");
    }

    // Issue 17: root + intermediate trusted, the root's CRL lists the intermediate, the
    // intermediate's CRL is empty: the intermediate's good client is refused. The same client
    // is served while the root's CRL lists nothing, so the refusal is the revocation's doing.
    async fn a_root_crl_revoking_the_intermediate_refuses_its_clients(backend: Backend) {
        let Some(t) = tree() else { return };
        if !verifies_clients(backend) {
            return;
        }
        let root_crl = t.pki.crl(&t.root);
        let intermediate_crl = t.pki.crl(&t.intermediate);
        let trusted = [&t.root, &t.intermediate];
        let good = home(&[&t.server, &t.intermediate], &trusted,
            &[("root.crl", &root_crl), ("intermediate.crl", &intermediate_crl)],
            &["client_auth=REQUIRE"]);
        let channels = load(&good, backend).expect("loads");
        let mut server = serve(&channels).await;
        assert_served(&mut server, &[&t.client, &t.intermediate], &t.root).await;

        let revoking = t.root_crl_revoking_the_intermediate();
        let revoked = home(&[&t.server, &t.intermediate], &trusted,
            &[("root.crl", &revoking), ("intermediate.crl", &intermediate_crl)],
            &["client_auth=REQUIRE"]);
        let channels = load(&revoked, backend).expect("loads");
        let mut server = serve(&channels).await;
        assert_refused(&mut server, &[&t.client, &t.intermediate], &t.root, "revoked").await;
        // Sending the leaf alone changes nothing: the path link is the same intermediate.
        assert_refused(&mut server, &[&t.client], &t.root, "revoked").await;
    }

    // The same on the client side: a server whose chain goes through the revoked intermediate
    // is refused by TlsConnector, whether it sends the intermediate or not.
    async fn a_root_crl_revoking_the_intermediate_refuses_its_servers(backend: Backend) {
        let Some(t) = tree() else { return };
        let intermediate_crl = t.pki.crl(&t.intermediate);
        let root_crl = t.pki.crl(&t.root);
        let trusted = [&t.root, &t.intermediate];
        let (_full_home, full) = server_presenting(&t, &[&t.server, &t.intermediate]).await;
        let (_leaf_home, leaf_only) = server_presenting(&t, &[&t.server]).await;

        let good = home(&[&t.client], &trusted,
            &[("root.crl", &root_crl), ("intermediate.crl", &intermediate_crl)], &[]);
        let dialer = TlsConnector::for_channel(&good.settings, "cluster", Some(backend));
        if !backend.capabilities().crls {
            match dialer {
                Err(Error::Backend { source: BackendError::Unsupported { setting, .. }, .. }) => {
                    assert_eq!(setting, "revoked_dir");
                }
                other => panic!("expected revoked_dir to be refused, got {:?}", other.err()),
            }
            return;
        }
        let dialer = dialer.expect("client policy");
        ping(&dialer, target(&full)).await.expect("a good server with its chain");
        ping(&dialer, target(&leaf_only)).await.expect("a good server sending its leaf alone");

        let revoking = t.root_crl_revoking_the_intermediate();
        let revoked = home(&[&t.client], &trusted,
            &[("root.crl", &revoking), ("intermediate.crl", &intermediate_crl)], &[]);
        let dialer = TlsConnector::for_channel(&revoked.settings, "cluster", Some(backend))
            .expect("client policy");
        for server in [&full, &leaf_only] {
            let err = ping(&dialer, target(server)).await.expect_err("refused");
            assert_eq!(reason(backend, &err), Some(tls_policy::HandshakeFailure::Revoked), "{err}");
        }
    }

    // Root + intermediate trusted, current CRLs from both: a client that sends only its leaf is
    // verified through the path link and served.
    async fn a_leaf_only_client_is_completed_from_the_path_link(backend: Backend) {
        let Some(t) = tree() else { return };
        if !verifies_clients(backend) {
            return;
        }
        let (root_crl, intermediate_crl) = (t.pki.crl(&t.root), t.pki.crl(&t.intermediate));
        let with_crls = home(&[&t.server, &t.intermediate], &[&t.root, &t.intermediate],
            &[("root.crl", &root_crl), ("intermediate.crl", &intermediate_crl)],
            &["client_auth=REQUIRE"]);
        let channels = load(&with_crls, backend).expect("loads");
        let mut server = serve(&channels).await;
        assert_served(&mut server, &[&t.client], &t.root).await;
        assert_served(&mut server, &[&t.client, &t.intermediate], &t.root).await;

        // The same without any CRL (revocation off): still completed from the path link.
        let no_crls = home(&[&t.server, &t.intermediate], &[&t.root, &t.intermediate], &[],
            &["client_auth=REQUIRE"]);
        let channels = load(&no_crls, backend).expect("loads");
        let mut server = serve(&channels).await;
        assert_served(&mut server, &[&t.client], &t.root).await;
    }

    // The intermediate is a path link, but no CRL from the root covers it while revocation is
    // on: its status is unknown and its clients are refused (fail closed). Load says why.
    async fn a_path_link_without_a_root_crl_is_revocation_unknown(backend: Backend) {
        let Some(t) = tree() else { return };
        let intermediate_crl = t.pki.crl(&t.intermediate);
        let home = home(&[&t.server, &t.intermediate], &[&t.root, &t.intermediate],
            &[("intermediate.crl", &intermediate_crl)], &["client_auth=REQUIRE"]);
        let loaded = tls_policy::load::load_policy(&home.settings.policies["p"]).expect("loads");
        assert!(
            loaded.warnings.iter().any(|w| w.contains(INTERMEDIATE_CN)
                && w.contains(&format!("no CRL from 'CN={ROOT_CN}'"))
                && w.contains("revocation_unknown")),
            "{:?}", loaded.warnings
        );
        if !verifies_clients(backend) {
            return;
        }
        let channels = load(&home, backend).expect("loads");
        let mut server = serve(&channels).await;
        assert_refused(&mut server, &[&t.client, &t.intermediate], &t.root, "revocation_unknown").await;
        assert_refused(&mut server, &[&t.client], &t.root, "revocation_unknown").await;
    }

    // An operator trusting only the sub-tree (the intermediate alone, no root): the
    // intermediate is the anchor, its CRL covers its clients, as before.
    async fn an_intermediate_trusted_alone_is_the_anchor(backend: Backend) {
        let Some(t) = tree() else { return };
        let home = home(&[&t.server, &t.intermediate], &[&t.intermediate],
            &[("intermediate.crl", &t.pki.crl(&t.intermediate))], &["client_auth=REQUIRE"]);
        let loaded = tls_policy::load::load_policy(&home.settings.policies["p"]).expect("loads");
        assert_eq!(loaded.policy.trusted.len(), 1);
        assert!(loaded.policy.path_links.is_empty());
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        if !verifies_clients(backend) {
            return;
        }
        let channels = load(&home, backend).expect("loads");
        let mut server = serve(&channels).await;
        assert_served(&mut server, &[&t.client], &t.root).await;

        // The intermediate revokes its client: refused as revoked.
        t.pki.revoke(&t.intermediate, &t.client);
        std::fs::write(home.base.join("revoked/intermediate.crl"), t.pki.crl(&t.intermediate))
            .expect("new CRL");
        channels.reload().expect("reloads");
        assert_refused(&mut server, &[&t.client], &t.root, "revoked").await;
    }

    // A reload that turns the anchor into a path link (the root joins trusted_dir, with its CRL
    // listing the intermediate) refuses the intermediate's clients from then on.
    async fn a_reload_that_makes_the_intermediate_a_path_link_applies_the_root_crl(backend: Backend) {
        let Some(t) = tree() else { return };
        if !verifies_clients(backend) {
            return;
        }
        let home = home(&[&t.server, &t.intermediate], &[&t.intermediate],
            &[("intermediate.crl", &t.pki.crl(&t.intermediate))], &["client_auth=REQUIRE"]);
        let channels = load(&home, backend).expect("loads");
        let mut server = serve(&channels).await;
        assert_served(&mut server, &[&t.client], &t.root).await;

        std::fs::write(home.base.join("trusted/root.crt"), t.root.pem()).expect("root");
        std::fs::write(home.base.join("revoked/root.crl"), t.root_crl_revoking_the_intermediate())
            .expect("root CRL");
        channels.reload().expect("reloads");
        assert_refused(&mut server, &[&t.client], &t.root, "revoked").await;
    }

    // A real peer: openssl s_client with the certificate of a client the revoked intermediate
    // signed (its leaf alone) is refused as revoked; before the revocation it is served.
    async fn openssl_s_client_under_a_revoked_intermediate_is_refused(backend: Backend) {
        let Some(t) = tree() else { return };
        if !verifies_clients(backend) {
            return;
        }
        let intermediate_crl = t.pki.crl(&t.intermediate);
        let home = home(&[&t.server, &t.intermediate], &[&t.root, &t.intermediate],
            &[("root.crl", &t.pki.crl(&t.root)), ("intermediate.crl", &intermediate_crl)],
            &["client_auth=REQUIRE"]);
        let channels = load(&home, backend).expect("loads");
        let mut server = serve(&channels).await;
        let addr = server.addr;
        let (client, root) = (t.client.clone(), t.root.clone());
        tokio::task::spawn_blocking(move || s_client(addr, &client, &root)).await.expect("s_client");
        server.outcome().await.expect("s_client served before the revocation");

        std::fs::write(home.base.join("revoked/root.crl"), t.root_crl_revoking_the_intermediate())
            .expect("root CRL");
        channels.reload().expect("reloads");
        let (client, root) = (t.client.clone(), t.root.clone());
        tokio::task::spawn_blocking(move || s_client(addr, &client, &root)).await.expect("s_client");
        let outcome = server.outcome().await.expect_err("refused");
        assert!(outcome.ends_with("(revoked)"), "{outcome}");
    }

    // native-tls (and every backend) without CRLs: a server sending its leaf alone is verified
    // through the path link, and the root and intermediate are both needed for it.
    async fn without_crls_the_client_side_completes_a_leaf_only_server(backend: Backend) {
        let Some(t) = tree() else { return };
        let (_server_home, server) = server_presenting(&t, &[&t.server]).await;
        let linked = home(&[&t.client], &[&t.root, &t.intermediate], &[], &[]);
        let dialer = TlsConnector::for_channel(&linked.settings, "cluster", Some(backend))
            .expect("client policy");
        ping(&dialer, target(&server)).await.expect("completed from the path link");

        let root_only = home(&[&t.client], &[&t.root], &[], &[]);
        let dialer = TlsConnector::for_channel(&root_only.settings, "cluster", Some(backend))
            .expect("client policy");
        ping(&dialer, target(&server)).await.expect_err("no intermediate: the chain is incomplete");
    }
}
