//! `tls_policy::ocsp` against a real responder: `openssl ocsp` answers the request that
//! `request_der` builds (file mode, no network), and `validate_response` accepts its `good`
//! answer and refuses its `revoked` one; and `fetch` gets the answer from `openssl ocsp` serving
//! on a loopback port.

mod support;

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

/// `pki`, the leaf naming `url` as its OCSP responder.
fn pki_with_responder(dir: &Path, url: Option<&str>) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "OCSP interop CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("ca.key"), ca_key.serialize_pem()).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params.serial_number = Some(rcgen::SerialNumber::from(0x1234_5678_u64));
    if let Some(url) = url {
        leaf_params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                aia(url),
            ));
    }
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca: ca.der().to_vec(),
        leaf: leaf.der().to_vec(),
    }
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
    std::fs::write(
        dir.path().join("index.txt"),
        "V\t491231235959Z\t\t12345678\tunknown\t/CN=localhost\n",
    )
    .unwrap();
    let request = request_der(&pki.leaf, &pki.ca).unwrap();
    // OpenSSL 3.0's `-port` takes a number only (it listens on every interface); the test sends
    // to 127.0.0.1 alone. openssl ocsp needs a fixed port: take a free one from the kernel, release it, and try again
    // on the rare race where another process took it meanwhile.
    for _attempt in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
                .args(["-rkey", "ca.key", "-ndays", "1", "-nrequest", "1"])
                .args(["-port", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start openssl ocsp"),
        );
        let url = format!("http://127.0.0.1:{port}/");
        // The responder takes a moment to listen.
        let mut answer = None;
        for _ in 0..50 {
            match fetch(&url, &request, std::time::Duration::from_secs(5)).await {
                Ok(body) => {
                    answer = Some(body);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        let Some(answer) = answer else { continue };
        let now = SystemTime::now();
        validate_response(&answer, &pki.leaf, &pki.ca, now).expect("a good response");
        return;
    }
    panic!("openssl ocsp never answered on loopback");
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
