//! Measures, in memory, sealing and opening 16 KiB TLS records per rustls provider and per
//! backend under each `dbms.ssl.record_cipher` setting, and prints what each backend chose.
//!
//! `cargo run --release -p tls-policy-rustls --features aws-lc-rs,ring --example aead_choice`
//! (prefix `OPENSSL_ia32cap=~0x0:~0xc0030000` to hide AVX-512 from aws-lc, as on an AVX2-only
//! CPU; ring does not read it).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use tls_policy_rustls::aead_choice::measure;
use tls_policy_rustls::{RecordCipher, RustlsBackend};

/// Payload bytes per timed round.
const ROUND: usize = 4 << 20;
/// Rounds per figure; the best counts.
const ROUNDS: usize = 15;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let speeds = measure::speeds();
    println!(
        "start-up measurement (cached for the process) took {:.1} ms: {speeds:?}",
        start.elapsed().as_secs_f64() * 1e3
    );
    for backend in [RustlsBackend::aws_lc_rs(), RustlsBackend::ring()] {
        println!(
            "{:<17} fastest: {}",
            backend.name_str(),
            backend.record_aead()
        );
    }

    println!(
        "\nrecord AEAD alone, 16 KiB records, best of {ROUNDS} rounds of {} MiB:",
        ROUND >> 20
    );
    let families = [
        (
            "AES-256-GCM",
            rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_256_GCM_SHA384,
            rustls::crypto::ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
        ),
        (
            "CHACHA20-POLY1305",
            rustls::crypto::aws_lc_rs::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ),
    ];
    for (family, aws, ring) in families {
        let (aws_seal, aws_open) = aead_alone(aws)?;
        let (ring_seal, ring_open) = aead_alone(ring)?;
        println!(
            "  {family:<18} seal: aws-lc-rs {:>6.0} MB/s  ring {:>6.0} MB/s  aws/ring {:.2}   \
             open: aws-lc-rs {:>6.0} MB/s  ring {:>6.0} MB/s  aws/ring {:.2}",
            aws_seal / 1e6,
            ring_seal / 1e6,
            aws_seal / ring_seal,
            aws_open / 1e6,
            ring_open / 1e6,
            aws_open / ring_open
        );
    }

    println!("\nrustls connections in memory, TLS 1.3, 16 KiB records, best of {ROUNDS}:");
    let pki = Pki::new()?;
    for suite in ["TLS13_AES_128_GCM_SHA256", "TLS13_CHACHA20_POLY1305_SHA256"] {
        for backend in [RustlsBackend::aws_lc_rs(), RustlsBackend::ring()] {
            let mut row = Vec::new();
            for setting in [RecordCipher::Provider, RecordCipher::Fastest] {
                let backend = backend.clone().with_record_cipher(setting);
                let (seal, open) = connection(&pki, backend.provider(), suite)?;
                row.push((setting, seal, open));
            }
            let (_, own_seal, own_open) = row[0];
            let (_, fast_seal, fast_open) = row[1];
            println!(
                "  {suite:<31} {:<17} provider: seal {:>6.0} open {:>6.0} MB/s   fastest: seal \
                 {:>6.0} open {:>6.0} MB/s   fastest/provider: seal {:.2} open {:.2}",
                backend.name_str(),
                own_seal / 1e6,
                own_open / 1e6,
                fast_seal / 1e6,
                fast_open / 1e6,
                fast_seal / own_seal,
                fast_open / own_open
            );
        }
    }
    Ok(())
}

trait NameStr {
    fn name_str(&self) -> &'static str;
}

impl NameStr for RustlsBackend {
    fn name_str(&self) -> &'static str {
        use tls_policy_backend::TlsBackend;
        self.name()
    }
}

/// Seal and open rates of one suite's record encrypter, bytes per second.
fn aead_alone(suite: rustls::SupportedCipherSuite) -> Result<(f64, f64), &'static str> {
    let (mut encrypter, mut decrypter) = suite
        .tls13()
        .and_then(measure::record_layer)
        .ok_or("not a TLS 1.3 suite with a 256-bit key")?;
    let plain = vec![0x42u8; measure::RECORD];
    let records = ROUND / measure::RECORD;
    let (mut best_seal, mut best_open) = (Duration::MAX, Duration::MAX);
    // Sequence numbers only ever increase: aws-lc-rs's TLS record keys refuse a reused one.
    let mut next = 0u64;
    for _ in 0..ROUNDS {
        // Sealing as rustls does: each record into a fresh buffer, sent and dropped.
        let start = Instant::now();
        for _ in 0..records {
            let record = measure::seal(&mut *encrypter, &plain, next).ok_or("sealing failed")?;
            std::hint::black_box(&record);
            next += 1;
        }
        best_seal = best_seal.min(start.elapsed());
        // Opening in place, as rustls does, records sealed (untimed) for the purpose.
        let first = next;
        let mut sealed = Vec::with_capacity(records);
        for _ in 0..records {
            let record = measure::seal(&mut *encrypter, &plain, next).ok_or("sealing failed")?;
            sealed.push(record.payload.as_ref().to_vec());
            next += 1;
        }
        let start = Instant::now();
        for (i, record) in sealed.iter_mut().enumerate() {
            measure::open(&mut *decrypter, record, first + i as u64).ok_or("opening failed")?;
        }
        best_open = best_open.min(start.elapsed());
    }
    Ok((
        ROUND as f64 / best_seal.as_secs_f64(),
        ROUND as f64 / best_open.as_secs_f64(),
    ))
}

/// A CA and a server certificate for `localhost`.
struct Pki {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl Pki {
    fn new() -> Result<Pki, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        let key = KeyPair::generate()?;
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &ca)?;
        Ok(Pki {
            ca: ca.der().clone(),
            chain: vec![leaf.der().clone()],
            key: key.serialize_der(),
        })
    }
}

/// Server → client bulk over an in-memory rustls pair: the server's seal rate (plaintext in,
/// records out) and the client's open rate (records in, plaintext out), bytes per second.
fn connection(
    pki: &Pki,
    provider: &Arc<CryptoProvider>,
    suite: &str,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut only = (**provider).clone();
    only.cipher_suites
        .retain(|s| s.suite().as_str() == Some(suite));
    let only = Arc::new(only);
    let server = ServerConfig::builder_with_provider(only.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(
            pki.chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key.clone())),
        )?;
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone())?;
    let client = ClientConfig::builder_with_provider(only)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut server = ServerConnection::new(Arc::new(server))?;
    let mut client = ClientConnection::new(Arc::new(client), ServerName::try_from("localhost")?)?;
    let mut wire = Vec::new();
    while client.is_handshaking() || server.is_handshaking() {
        wire.clear();
        client.write_tls(&mut wire)?;
        server.read_tls(&mut &wire[..])?;
        server.process_new_packets()?;
        wire.clear();
        server.write_tls(&mut wire)?;
        client.read_tls(&mut &wire[..])?;
        client.process_new_packets()?;
    }
    let chunk = vec![0x42u8; 64 << 10];
    let mut sink = vec![0u8; 64 << 10];
    let (mut best_seal, mut best_open) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        let mut sent = 0;
        let (mut seal, mut open) = (Duration::ZERO, Duration::ZERO);
        while sent < ROUND {
            let start = Instant::now();
            server.writer().write_all(&chunk)?;
            wire.clear();
            while server.wants_write() {
                server.write_tls(&mut wire)?;
            }
            seal += start.elapsed();
            sent += chunk.len();
            let start = Instant::now();
            let mut input = &wire[..];
            while !input.is_empty() {
                client.read_tls(&mut input)?;
                client.process_new_packets()?;
                loop {
                    match client.reader().read(&mut sink) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(err) => return Err(err.into()),
                    }
                }
            }
            open += start.elapsed();
        }
        best_seal = best_seal.min(seal);
        best_open = best_open.min(open);
    }
    Ok((
        ROUND as f64 / best_seal.as_secs_f64(),
        ROUND as f64 / best_open.as_secs_f64(),
    ))
}
