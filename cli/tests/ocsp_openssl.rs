//! `tls_policy::ocsp` against a real responder: `openssl ocsp` answers the request that
//! `request_der` builds (file mode, no network), and `validate_response` accepts its `good`
//! answer and refuses its `revoked` one; and `fetch` gets the answer from `openssl ocsp` serving
//! on a loopback port. It lives with the command's tests because one of them runs
//! `tls-policy check`.

use tls_policy_test_support as support;

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::tools::tool;

use tls_policy::ocsp::stapler::{run, Sink, Target};
use tls_policy::ocsp::{fetch::fetch, request_der, validate_response, OcspError};

struct Pki {
    ca: Vec<u8>,
    leaf: Vec<u8>,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

/// The DER content of an Authority Information Access extension naming one OCSP responder.
fn aia(url: &str) -> Vec<u8> {
    let mut desc = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    desc.extend([0x86, url.len() as u8]);
    desc.extend_from_slice(url.as_bytes());
    let mut seq = vec![0x30, desc.len() as u8];
    seq.extend(desc);
    let mut outer = vec![0x30, seq.len() as u8];
    outer.extend(seq);
    outer
}

/// A CA and a leaf (serial 0x12345678), the CA's certificate and key written as PEM in `dir`.
fn pki(dir: &Path) -> Pki {
    pki_with_responder(dir, None)
}

/// `pki`, the leaf naming `url` as its OCSP responder; the leaf's certificate and key are
/// written as `leaf.pem` and `leaf.key` in `dir` too.
fn pki_with_responder(dir: &Path, url: Option<&str>) -> Pki {
    let mut pki = ca(dir);
    pki.leaf = issue_leaf(&pki, dir, "leaf", 0x1234_5678, url);
    pki
}

/// The CA alone (no leaf yet), its certificate and key written as PEM in `dir`.
fn ca(dir: &Path) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "OCSP interop CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("ca.key"), ca_key.serialize_pem()).unwrap();
    Pki {
        ca: ca.der().to_vec(),
        leaf: Vec::new(),
        ca_params,
        ca_key,
    }
}

/// A leaf for `localhost` with `serial`, issued by the CA, naming `url` as its OCSP responder;
/// written as `<name>.pem` and `<name>.key` (mode 0600) in `dir`. Its DER.
fn issue_leaf(pki: &Pki, dir: &Path, name: &str, serial: u64, url: Option<&str>) -> Vec<u8> {
    let issuer = Issuer::from_params(&pki.ca_params, &pki.ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params.serial_number = Some(rcgen::SerialNumber::from(serial));
    if let Some(url) = url {
        leaf_params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                aia(url),
            ));
    }
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), leaf.pem()).unwrap();
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&key_path, leaf_key.serialize_pem()).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    leaf.der().to_vec()
}

/// `openssl ocsp` as a responder over files: the index line says the leaf's status.
fn answer(dir: &Path, pki: &Pki, index_line: &str) -> Vec<u8> {
    std::fs::write(dir.join("index.txt"), format!("{index_line}\n")).unwrap();
    std::fs::write(
        dir.join("req.der"),
        request_der(&pki.leaf, &pki.ca).unwrap(),
    )
    .unwrap();
    let output = Command::new("openssl")
        .current_dir(dir)
        .args([
            "ocsp",
            "-index",
            "index.txt",
            "-CA",
            "ca.pem",
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-reqin",
            "req.der",
            "-respout",
            "resp.der",
            "-ndays",
            "1",
        ])
        .output()
        .expect("run openssl ocsp");
    assert!(
        output.status.success(),
        "openssl ocsp: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(dir.join("resp.der")).unwrap()
}

#[test]
fn openssl_good_answer_is_accepted_and_revoked_refused() {
    if !tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());

    let good = answer(
        dir.path(),
        &pki,
        "V\t491231235959Z\t\t12345678\tunknown\t/CN=localhost",
    );
    let now = SystemTime::now();
    let valid = validate_response(&good, &pki.leaf, &pki.ca, now).expect("a good response");
    let next = valid.next_update.expect("-ndays 1 sets nextUpdate");
    assert!(next > now);

    let revoked = answer(
        dir.path(),
        &pki,
        "R\t491231235959Z\t260101000000Z\t12345678\tunknown\t/CN=localhost",
    );
    assert_eq!(
        validate_response(&revoked, &pki.leaf, &pki.ca, now),
        Err(OcspError::Revoked)
    );
}

/// Kills the responder (a child of this test) however the test ends.
struct Responder(std::process::Child);

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn fetch_gets_a_good_answer_from_openssl_ocsp_on_loopback() {
    if !tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let request = request_der(&pki.leaf, &pki.ca).unwrap();
    // `-port 0`: openssl ocsp takes a port of its own and prints it, so no other process can
    // take it between our pick and its bind; it keeps answering until dropped, so a request
    // lost to a slow, loaded machine is simply sent again.
    let (_responder, port) = start_responder(
        dir.path(),
        &["V\t491231235959Z\t\t12345678\tunknown\t/CN=localhost"],
        0,
        &["-ndays", "1"],
    );
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let answer = loop {
        match fetch(&url, &request, std::time::Duration::from_secs(10)).await {
            Ok(body) => break body,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("openssl ocsp on {url} not answering yet: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("openssl ocsp on {url} never answered: {e}"),
        }
    };
    validate_response(&answer, &pki.leaf, &pki.ca, SystemTime::now()).expect("a good response");
}

type Seen = Arc<Mutex<Vec<Option<Vec<u8>>>>>;

fn recording_sink() -> (Sink, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let sink: Sink = Arc::new(move |_cert: &[u8], staple: Option<Vec<u8>>| {
        record.lock().unwrap().push(staple);
        true
    });
    (sink, seen)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_stapler_hands_a_validated_response_to_the_sink() {
    if !tool("openssl") {
        return;
    }
    for _attempt in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/");
        let pki = pki_with_responder(dir.path(), Some(&url));
        std::fs::write(
            dir.path().join("index.txt"),
            "V\t491231235959Z\t\t12345678\tunknown\t/CN=localhost\n",
        )
        .unwrap();
        let _responder = Responder(
            Command::new("openssl")
                .current_dir(dir.path())
                .args([
                    "ocsp",
                    "-index",
                    "index.txt",
                    "-CA",
                    "ca.pem",
                    "-rsigner",
                    "ca.pem",
                ])
                .args(["-rkey", "ca.key", "-ndays", "1", "-port", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start openssl ocsp"),
        );
        let (sink, seen) = recording_sink();
        let target = Target {
            policy: "bolt".to_owned(),
            cert: pki.leaf.clone(),
            issuer: pki.ca.clone(),
        };
        // The first fetch may come before the responder listens: the backoff retries in 10 s.
        let task = tokio::spawn(run(target, sink, Duration::from_secs(2)));
        let deadline = std::time::Instant::now() + Duration::from_secs(25);
        while std::time::Instant::now() < deadline && seen.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        task.abort();
        let seen = seen.lock().unwrap().clone();
        let Some(Some(staple)) = seen.first() else {
            continue;
        };
        validate_response(staple, &pki.leaf, &pki.ca, SystemTime::now()).unwrap();
        return;
    }
    panic!("the stapler never stapled");
}

#[tokio::test]
async fn without_a_responder_the_stapler_staples_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // No OCSP URL: the task ends at once.
    let pki = pki(dir.path());
    let (sink, seen) = recording_sink();
    let target = Target {
        policy: "bolt".to_owned(),
        cert: pki.leaf.clone(),
        issuer: pki.ca.clone(),
    };
    tokio::time::timeout(
        Duration::from_secs(5),
        run(target, sink, Duration::from_secs(1)),
    )
    .await
    .expect("returns at once without a responder URL");
    assert!(seen.lock().unwrap().is_empty());

    // A responder URL where nothing listens: the task keeps trying and staples nothing.
    let url = format!("http://127.0.0.1:{}/", free_port());
    let pki = pki_with_responder(dir.path(), Some(&url));
    let (sink, seen) = recording_sink();
    let target = Target {
        policy: "bolt".to_owned(),
        cert: pki.leaf,
        issuer: pki.ca,
    };
    let task = tokio::spawn(run(target, sink, Duration::from_secs(1)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!task.is_finished(), "it keeps retrying");
    task.abort();
    assert!(seen.lock().unwrap().is_empty());
}

// === stapling served: TlsChannels, `openssl ocsp` on loopback, `openssl s_client -status` ===

use support::server::Server;
use support::STEP;
use tls_policy::config::Settings;
use tls_policy::{Backend, TlsChannels};

const GOOD: &str = "V\t491231235959Z\t\t12345678\tunknown\t/CN=localhost";
const REVOKED: &str = "R\t491231235959Z\t260101000000Z\t12345678\tunknown\t/CN=localhost";
/// The second leaf (a reload's new certificate), good.
/// (Another subject name: `openssl ocsp` wants the index's names unique.)
const GOOD_SECOND: &str = "V\t491231235959Z\t\t87654321\tunknown\t/CN=second";

/// The backends compiled in that staple (the rustls ones).
fn stapling_backends() -> Vec<Backend> {
    Backend::compiled()
        .iter()
        .copied()
        .filter(|b| b.capabilities().ocsp_stapling)
        .collect()
}

/// A home whose policy `p` serves `leaf.pem`/`leaf.key` (issuer found in `trusted/`), bound to
/// `bolt` with `dbms.connector.bolt.ocsp_stapling_enabled=true`, its leaf naming a responder on
/// loopback `port`.
struct Stapled {
    dir: tempfile::TempDir,
    port: u16,
    pki: Pki,
    config: std::path::PathBuf,
}

impl Stapled {
    /// The responder's port is a free one, nothing listening there (yet).
    fn new(with_url: bool) -> Stapled {
        Self::named(with_url, "p")
    }

    /// With the policy called `policy`.
    fn named(with_url: bool, policy: &str) -> Stapled {
        let dir = tempfile::tempdir().unwrap();
        let pki = ca(dir.path());
        Self::finish(dir, pki, port_for_later(), with_url, policy)
    }

    /// With `openssl ocsp` answering from `lines` (with `extra` arguments) already listening,
    /// on the port it took (`-port 0`: no race for a free port), which the leaf then names.
    fn serving(lines: &[&str], extra: &[&str]) -> (Stapled, Responder) {
        let dir = tempfile::tempdir().unwrap();
        let pki = ca(dir.path());
        let (responder, port) = start_responder(dir.path(), lines, 0, extra);
        (Self::finish(dir, pki, port, true, "p"), responder)
    }

    fn finish(
        dir: tempfile::TempDir,
        mut pki: Pki,
        port: u16,
        with_url: bool,
        policy: &str,
    ) -> Stapled {
        let url = format!("http://127.0.0.1:{port}/");
        pki.leaf = issue_leaf(
            &pki,
            dir.path(),
            "leaf",
            0x1234_5678,
            with_url.then_some(url.as_str()),
        );
        std::fs::create_dir(dir.path().join("trusted")).unwrap();
        std::fs::create_dir(dir.path().join("revoked")).unwrap();
        std::fs::copy(dir.path().join("ca.pem"), dir.path().join("trusted/ca.pem")).unwrap();
        let config = dir.path().join("neo4j.conf");
        std::fs::write(
            &config,
            format!(
                "dbms.ssl.policy.{policy}.base_directory={}\n\
                 dbms.ssl.policy.{policy}.private_key=leaf.key\n\
                 dbms.ssl.policy.{policy}.public_certificate=leaf.pem\n\
                 dbms.ssl.policy.{policy}.client_auth=NONE\n\
                 bolt.ssl_policy={policy}\n\
                 dbms.connector.bolt.ocsp_stapling_enabled=true\n",
                dir.path().display()
            ),
        )
        .unwrap();
        Stapled {
            dir,
            port,
            pki,
            config,
        }
    }

    fn settings(&self) -> Settings {
        Settings::from_file(&self.config, Some(self.dir.path())).unwrap()
    }

    /// `openssl ocsp` answering from `lines` on this home's port, with `extra` arguments;
    /// `None` when it could not listen there (the port taken meanwhile: the caller starts over).
    fn responder(&self, lines: &[&str], extra: &[&str]) -> Option<Responder> {
        try_start_responder(self.dir.path(), lines, self.port, extra).map(|(r, _)| r)
    }
}

/// A free loopback port below the kernel's ephemeral range, for a responder started later: a
/// port from the range, released, is soon someone's outgoing connection's on a busy machine
/// (it was, under another suite's connection flood), while below it only an explicit bind
/// can take it.
fn port_for_later() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .clamp(2048, 32768);
    let floor = low / 2;
    for _ in 0..1000 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let port = floor + (hasher.finish() % u64::from(low - floor)) as u16;
        // openssl ocsp listens on [::] where there is IPv6.
        let v6_free = std::net::TcpListener::bind(("::", port))
            .map_or_else(|e| e.kind() != std::io::ErrorKind::AddrInUse, |_| true);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() && v6_free {
            return port;
        }
    }
    panic!("no free port in {floor}..{low}");
}

/// Starts `openssl ocsp` in `dir` (CA files there) answering from an index of `lines` on
/// `port` (0: one the kernel picks), and waits (bounded) until it listens: its port.
fn start_responder(dir: &Path, lines: &[&str], port: u16, extra: &[&str]) -> (Responder, u16) {
    try_start_responder(dir, lines, port, extra).expect("openssl ocsp listens on a port it picks")
}

/// [`start_responder`]; `None` when it exits before listening (its port was taken).
fn try_start_responder(
    dir: &Path,
    lines: &[&str],
    port: u16,
    extra: &[&str],
) -> Option<(Responder, u16)> {
    let mut index = lines.join("\n");
    index.push('\n');
    std::fs::write(dir.join("index.txt"), index).unwrap();
    let (out, log) = (dir.join("responder.out"), dir.join("responder.log"));
    let mut responder = Responder(
        Command::new("openssl")
            .current_dir(dir)
            .args(["ocsp", "-index", "index.txt", "-CA", "ca.pem"])
            .args(["-rsigner", "ca.pem", "-rkey", "ca.key"])
            .args(["-port", &port.to_string()])
            .args(extra)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start openssl ocsp"),
    );
    // Listening, it prints `ACCEPT [::]:<port> PID=<pid>` on stdout, then `waiting for OCSP
    // client connections...` on stderr.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let accept = std::fs::read_to_string(&out).unwrap_or_default();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let listening = accept.lines().find_map(|line| {
            let address = line.strip_prefix("ACCEPT ")?.split_whitespace().next()?;
            address.rsplit(':').next()?.parse::<u16>().ok()
        });
        let waiting = text.contains("waiting for OCSP client connections");
        match listening {
            Some(port) => return Some((responder, port)),
            None if port != 0 && waiting => return Some((responder, port)),
            None => {}
        }
        if let Some(status) = responder.0.try_wait().unwrap() {
            eprintln!("openssl ocsp exited ({status}) before listening on {port}: {text}");
            return None;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "openssl ocsp not listening within 30 s: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (bounded by `within`) until the channel's staple satisfies `done`; the staple then.
async fn staple_until(
    channels: &TlsChannels,
    within: Duration,
    done: impl Fn(&Option<Vec<u8>>) -> bool,
) -> Option<Vec<u8>> {
    let acceptor = &channels.channel("bolt").unwrap().acceptor;
    let deadline = std::time::Instant::now() + within;
    loop {
        let staple = acceptor.ocsp_staple();
        if done(&staple) {
            return staple;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no such staple within {within:?} (now {:?} bytes)",
            staple.map(|s| s.len())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `openssl s_client -status` against the server: its output (bounded in time).
async fn s_client_status(server: &Server) -> String {
    let connect = server.addr.to_string();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("openssl")
            .args(["s_client", "-connect", &connect, "-servername", "localhost"])
            .arg("-status")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run openssl s_client")
    });
    let output = tokio::time::timeout(STEP, run)
        .await
        .expect("s_client finished in time")
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn says_good(output: &str) -> bool {
    output.contains("OCSP Response Status: successful") && output.contains("Cert Status: good")
}

fn says_none(output: &str) -> bool {
    output.contains("OCSP response: no response sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_status_is_stapled_and_seen_by_s_client() {
    if !tool("openssl") {
        return;
    }
    for backend in stapling_backends() {
        let (home, _responder) = Stapled::serving(&[GOOD], &["-ndays", "1"]);
        let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
        let staple = staple_until(&channels, STEP, Option::is_some)
            .await
            .unwrap();
        validate_response(&staple, &home.pki.leaf, &home.pki.ca, SystemTime::now())
            .expect("a valid staple");
        let server = Server::start(channels.channel("bolt").unwrap().acceptor.clone()).await;
        let output = s_client_status(&server).await;
        assert!(says_good(&output), "{backend}: {output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_status_is_not_stapled() {
    if !tool("openssl") {
        return;
    }
    for backend in stapling_backends() {
        // One answer, then the responder exits: once it has, the stapler has had its answer.
        let (home, mut responder) =
            Stapled::serving(&[REVOKED], &["-ndays", "1", "-nrequest", "1"]);
        let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while responder.0.try_wait().unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{backend}: never asked"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let acceptor = channels.channel("bolt").unwrap().acceptor.clone();
        assert_eq!(
            acceptor.ocsp_staple(),
            None,
            "{backend}: revoked is never stapled"
        );
        let server = Server::start(acceptor).await;
        let output = s_client_status(&server).await;
        assert!(says_none(&output), "{backend}: {output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_down_at_start_serves_without_then_with_a_staple() {
    if !tool("openssl") {
        return;
    }
    for backend in stapling_backends() {
        // The responder starts later on the port the leaf names: should something else take
        // it meanwhile, start over with another.
        for attempt in 1.. {
            let home = Stapled::new(true);
            let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
            let server = Server::start(channels.channel("bolt").unwrap().acceptor.clone()).await;
            let output = s_client_status(&server).await;
            assert!(
                says_none(&output),
                "{backend}: serving, no staple: {output}"
            );
            // Up now: the stapler's retry (10 s after the first failure, else 20 s after that)
            // gets it.
            let Some(_responder) = home.responder(&[GOOD], &["-ndays", "1"]) else {
                assert!(attempt < 5, "the responder's port was taken 5 times");
                continue;
            };
            staple_until(&channels, Duration::from_secs(45), Option::is_some).await;
            let output = s_client_status(&server).await;
            assert!(says_good(&output), "{backend}: {output}");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_lived_response_is_refreshed_before_it_expires() {
    if !tool("openssl") {
        return;
    }
    // Both backends at once: each waits half a minute.
    let mut runs = Vec::new();
    for backend in stapling_backends() {
        runs.push(tokio::spawn(async move {
            // nextUpdate one minute after thisUpdate: refreshed at half, 30 s in.
            let (home, _responder) = Stapled::serving(&[GOOD], &["-nmin", "1"]);
            let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
            let first = staple_until(&channels, STEP, Option::is_some)
                .await
                .unwrap();
            let valid =
                validate_response(&first, &home.pki.leaf, &home.pki.ca, SystemTime::now()).unwrap();
            let expires = valid.next_update.expect("-nmin sets nextUpdate");
            let second = staple_until(&channels, Duration::from_secs(50), |s| {
                s.as_ref().is_some_and(|s| *s != first)
            })
            .await
            .unwrap();
            assert!(
                SystemTime::now() < expires,
                "{backend}: refreshed before expiry"
            );
            let fresh = validate_response(&second, &home.pki.leaf, &home.pki.ca, SystemTime::now())
                .unwrap();
            assert!(
                fresh.next_update.unwrap() > expires,
                "{backend}: a newer response"
            );
        }));
    }
    for run in runs {
        run.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_a_new_certificate_staples_for_the_new_one() {
    if !tool("openssl") {
        return;
    }
    for backend in stapling_backends() {
        let (home, _responder) = Stapled::serving(&[GOOD, GOOD_SECOND], &["-ndays", "1"]);
        let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
        let first = staple_until(&channels, STEP, Option::is_some)
            .await
            .unwrap();
        validate_response(&first, &home.pki.leaf, &home.pki.ca, SystemTime::now()).unwrap();

        let url = format!("http://127.0.0.1:{}/", home.port);
        let second_leaf = issue_leaf(&home.pki, home.dir.path(), "leaf", 0x8765_4321, Some(&url));
        // From a thread outside the runtime, as the file watcher reloads.
        let reloading = channels.clone();
        std::thread::spawn(move || reloading.reload())
            .join()
            .unwrap()
            .expect("reload");
        let staple = staple_until(&channels, STEP, |s| {
            s.as_ref().is_some_and(|s| {
                validate_response(s, &second_leaf, &home.pki.ca, SystemTime::now()).is_ok()
            })
        })
        .await;
        assert!(staple.is_some(), "{backend}");
        let server = Server::start(channels.channel("bolt").unwrap().acceptor.clone()).await;
        let output = s_client_status(&server).await;
        assert!(says_good(&output), "{backend}: {output}");
        assert!(
            output.contains("Serial Number: 87654321"),
            "{backend}: {output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaf_without_an_ocsp_url_serves_without_a_staple() {
    if !tool("openssl") {
        return;
    }
    for backend in stapling_backends() {
        let home = Stapled::new(false);
        let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
        let server = Server::start(channels.channel("bolt").unwrap().acceptor.clone()).await;
        let output = s_client_status(&server).await;
        assert!(says_none(&output), "{backend}: {output}");
    }
}

#[test]
fn native_tls_refuses_stapling_naming_the_line_and_the_backends_that_can() {
    let Some(native) = Backend::compiled()
        .iter()
        .copied()
        .find(|b| !b.capabilities().ocsp_stapling)
    else {
        return;
    };
    let home = Stapled::new(true);
    let err = TlsChannels::load(&home.settings(), Some(native))
        .unwrap_err()
        .to_string();
    let at = format!(
        "{}:6: dbms.connector.bolt.ocsp_stapling_enabled",
        home.config.display()
    );
    assert!(err.starts_with(&at), "{err}");
    assert!(err.contains("rustls-aws-lc-rs and rustls-ring"), "{err}");
}

/// `tls-policy check` says stapling is on, where it was switched on and where the responder
/// is; with native-tls it fails, naming the line.
#[test]
fn check_says_stapling_is_on_and_where_the_responder_is() {
    let home = Stapled::new(true);
    let check = |backend: Backend| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tls-policy"))
            .args(["check", "--config"])
            .arg(&home.config)
            .args(["--backend", backend.name()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run tls-policy check");
        let deadline = std::time::Instant::now() + STEP;
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("tls-policy check did not finish within {STEP:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let line = format!(
        "on (dbms.connector.bolt.ocsp_stapling_enabled at {}:6): responder http://127.0.0.1:{}/",
        home.config.display(),
        home.port
    );
    for backend in Backend::compiled().iter().copied() {
        let (ok, stdout, stderr) = check(backend);
        assert!(stdout.contains(&line), "{backend}: {line:?} in {stdout}");
        if backend.capabilities().ocsp_stapling {
            assert!(ok, "{backend}: {stdout}{stderr}");
        } else {
            assert!(!ok, "{backend}: {stdout}");
            assert!(
                stderr.contains(&format!("cannot be served by the {backend} backend")),
                "{stderr}"
            );
        }
    }
}

/// The process-wide metrics recorder of this test binary.
fn snapshotter() -> &'static metrics_util::debugging::Snapshotter {
    static SNAPSHOTTER: std::sync::OnceLock<metrics_util::debugging::Snapshotter> =
        std::sync::OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::set_global_recorder(recorder).expect("the only recorder of this test binary");
        snapshotter
    })
}

/// Waits (bounded by `within`) until metric `name` with label `policy` (and `reason`, if
/// given) satisfies `done`.
async fn metric_until(
    name: &str,
    policy: &str,
    reason: Option<&str>,
    within: Duration,
    done: impl Fn(f64) -> bool,
) {
    use metrics_util::debugging::DebugValue;
    let deadline = std::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        for (key, _, _, value) in snapshotter().snapshot().into_vec() {
            let key = key.key();
            let label = |k: &str| {
                key.labels()
                    .find(|l| l.key() == k)
                    .map(|l| l.value().to_owned())
            };
            if key.name() != name
                || label("policy").as_deref() != Some(policy)
                || (reason.is_some() && label("reason").as_deref() != reason)
            {
                continue;
            }
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => continue,
            };
            if done(value) {
                return;
            }
            seen.push(value);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name}{{policy={policy}, reason={reason:?}}}: not as expected within {within:?}; \
             seen {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_give_the_response_age_the_time_to_next_update_and_failures_by_reason() {
    use tls_policy::observe::{
        OCSP_FETCH_FAILURES as FETCH_FAILURES, OCSP_NEXT_UPDATE as NEXT_UPDATE,
        OCSP_RESPONSE_AGE as RESPONSE_AGE,
    };
    if !tool("openssl") {
        return;
    }
    let _ = snapshotter();
    let Some(backend) = stapling_backends().first().copied() else {
        return;
    };
    for attempt in 1.. {
        let home = Stapled::named(true, "metrics_p");
        let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
        // Nothing listens yet: a failed connection.
        metric_until(FETCH_FAILURES, "metrics_p", Some("connect"), STEP, |n| {
            n >= 1.0
        })
        .await;
        let Some(_responder) = home.responder(&[GOOD], &["-ndays", "1"]) else {
            assert!(attempt < 5, "the responder's port was taken 5 times");
            continue;
        };
        staple_until(&channels, Duration::from_secs(45), Option::is_some).await;
        // A day ahead (give or take the seconds of the test), and a few seconds old.
        let day = 86_400.0;
        metric_until(NEXT_UPDATE, "metrics_p", None, STEP, |s| {
            s > day - 120.0 && s <= day
        })
        .await;
        metric_until(RESPONSE_AGE, "metrics_p", None, STEP, |s| {
            (0.0..120.0).contains(&s)
        })
        .await;
        break;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stapler_stops_when_the_channels_are_dropped() {
    let Some(backend) = stapling_backends().first().copied() else {
        return;
    };
    // A responder that takes the connection and answers nothing useful: the fetch fails and
    // the stapler retries 10 s later (MIN_BACKOFF), unless it was stopped.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let pki = ca(dir.path());
    let home = Stapled::finish(dir, pki, port, true, "p");
    let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
    let (first, _) = tokio::time::timeout(STEP, listener.accept())
        .await
        .expect("the stapler fetches at start")
        .unwrap();
    drop(first);
    let acceptor = channels.channel("bolt").unwrap().acceptor.clone();
    drop(channels);
    let again = tokio::time::timeout(
        tls_policy::ocsp::MIN_BACKOFF + Duration::from_secs(3),
        listener.accept(),
    )
    .await;
    assert!(again.is_err(), "the stapler still fetches after the drop");
    assert_eq!(acceptor.ocsp_staple(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_good_response_is_kept_while_refreshes_fail_and_dropped_when_it_expires() {
    if !tool("openssl") {
        return;
    }
    let mut runs = Vec::new();
    for backend in stapling_backends() {
        runs.push(tokio::spawn(async move {
            // One answer valid for a minute, then the responder is gone.
            let (home, mut responder) =
                Stapled::serving(&[GOOD], &["-nmin", "1", "-nrequest", "1"]);
            let channels = TlsChannels::load(&home.settings(), Some(backend)).unwrap();
            let first = staple_until(&channels, Duration::from_secs(30), Option::is_some)
                .await
                .unwrap();
            let _ = responder.0.wait();
            let valid =
                validate_response(&first, &home.pki.leaf, &home.pki.ca, SystemTime::now()).unwrap();
            let expires = valid.next_update.unwrap();
            // The refresh at half fails: the staple stays until its nextUpdate, then goes.
            let gone = staple_until(&channels, Duration::from_secs(75), |s| {
                let now = SystemTime::now();
                if now + Duration::from_secs(1) < expires {
                    assert_eq!(s.as_ref(), Some(&first), "{backend}: kept until it expires");
                }
                s.is_none()
            })
            .await;
            assert_eq!(gone, None);
            let late = SystemTime::now()
                .duration_since(expires)
                .unwrap_or_default();
            assert!(
                late < Duration::from_secs(3),
                "{backend}: dropped {late:?} late"
            );
        }));
    }
    for run in runs {
        run.await.unwrap();
    }
}
