//! The physical limits' terms: each rustls provider's AEAD alone in memory, and the library's own in-memory server handshake.
//!
//! Bulk TLS cannot beat plain TCP plus one sealing (or opening) pass over each byte at the
//! fastest AEAD's speed on this CPU: per server CPU-second, `1 / (1/plain + 1/aead)`. A full
//! handshake cannot beat a plain TCP connection plus the library's own server handshake with
//! no I/O at all: `1 / (1/tcp_connections + 1/in_memory_handshakes)`. This module measures the
//! second term of each; the runner measures plain TCP.
// Without a rustls provider (native-tls alone) there are no terms to measure: the helpers
// shared by the rustls paths go unused.
#![cfg_attr(
    not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")),
    allow(unused_imports, dead_code)
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::records::Direction;
use super::BenchError;

/// The TLS 1.3 AEADs measured alone: IANA code, id, label.
pub(crate) const AEAD_SUITES: [(u16, &str, &str); 3] = [
    (0x1301, "aes128gcm", "AES-128-GCM"),
    (0x1302, "aes256gcm", "AES-256-GCM"),
    (0x1303, "chacha20poly1305", "ChaCha20-Poly1305"),
];

/// The record size sealed and opened: a full TLS record of application data.
pub(crate) const RECORD: usize = 16 * 1024;

/// `seal` for the direction in which the server encrypts, `open` for the other.
pub(crate) fn aead_operation(direction: Direction) -> &'static str {
    match direction {
        Direction::ServerWrites => "seal",
        Direction::ServerReads => "open",
    }
}

#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
pub(crate) use imp::{aead_rate, in_memory_handshakes};

#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
mod imp {
    use super::*;
    use crate::client::rustls_client::client_config;
    use crate::client::ClientSpec;
    use crate::pki::{Identity, SERVER_NAME};
    use crate::server::raw_rustls_server_config;
    use crate::sys::thread_cpu;
    use rustls_pki_types::ServerName;
    use tls_policy::{Backend, TlsVersion};
    use tls_policy_rustls::rustls::crypto::cipher::{
        InboundOpaqueMessage, MessageDecrypter, MessageEncrypter, OutboundChunks,
        OutboundPlainMessage,
    };
    use tls_policy_rustls::rustls::{
        ClientConfig, ClientConnection, ConnectionTrafficSecrets, ContentType, ProtocolVersion,
        ServerConfig, ServerConnection, SupportedCipherSuite,
    };

    /// A record sealer and a record opener for the same key.
    type RecordKeys = (Box<dyn MessageEncrypter>, Box<dyn MessageDecrypter>);

    fn err(what: &str, error: impl std::fmt::Display) -> BenchError {
        BenchError::new(format!("{what}: {error}"))
    }

    /// Runs one handshake between `client` and `server` in memory; returns the CPU time (this
    /// thread's clock) spent in the server's calls (reading, processing, writing), the
    /// client's excluded.
    fn pump(
        client: &mut ClientConnection,
        server: &mut ServerConnection,
        buf: &mut Vec<u8>,
    ) -> Result<Duration, BenchError> {
        let clock = || thread_cpu().unwrap_or_default();
        let mut server_time = Duration::ZERO;
        for _ in 0..16 {
            buf.clear();
            while client.wants_write() {
                client.write_tls(buf).map_err(|e| err("client write", e))?;
            }
            let start = clock();
            let mut input = &buf[..];
            while !input.is_empty() {
                server
                    .read_tls(&mut input)
                    .map_err(|e| err("server read", e))?;
                server
                    .process_new_packets()
                    .map_err(|e| err("server handshake", e))?;
            }
            let mut out = Vec::new();
            while server.wants_write() {
                server
                    .write_tls(&mut out)
                    .map_err(|e| err("server write", e))?;
            }
            server_time += clock().saturating_sub(start);
            let mut input = &out[..];
            while !input.is_empty() {
                client
                    .read_tls(&mut input)
                    .map_err(|e| err("client read", e))?;
                client
                    .process_new_packets()
                    .map_err(|e| err("client handshake", e))?;
            }
            if !client.is_handshaking()
                && !server.is_handshaking()
                && !server.wants_write()
                && !client.wants_write()
            {
                return Ok(server_time);
            }
        }
        Err(BenchError::new(
            "the in-memory handshake did not finish in 16 flights",
        ))
    }

    fn server_name() -> Result<ServerName<'static>, BenchError> {
        ServerName::try_from(SERVER_NAME).map_err(|e| err("server name", e))
    }

    /// Full handshakes per second of the server's own time: rustls's `ServerConnection` (the
    /// raw baseline's configuration, the same certificate) against the benchmark client, no
    /// sockets, for about `window`.
    pub(crate) fn in_memory_handshakes(
        backend: Backend,
        version: TlsVersion,
        identity: &Identity,
        window: Duration,
    ) -> Result<f64, BenchError> {
        let server_config = raw_rustls_server_config(backend, identity)?;
        let client_config = client_config(
            backend,
            ClientSpec {
                version,
                suite: None,
                resume: false,
            },
            false,
        )?;
        let name = server_name()?;
        let mut buf = Vec::with_capacity(16 * 1024);
        let mut total = Duration::ZERO;
        let mut count = 0u64;
        let start = Instant::now();
        while start.elapsed() < window || count < 5 {
            let mut client = ClientConnection::new(Arc::clone(&client_config), name.clone())
                .map_err(|e| err("client", e))?;
            let server_start = thread_cpu().unwrap_or_default();
            let mut server =
                ServerConnection::new(Arc::clone(&server_config)).map_err(|e| err("server", e))?;
            let created = thread_cpu()
                .unwrap_or_default()
                .saturating_sub(server_start);
            total += created + pump(&mut client, &mut server, &mut buf)?;
            let drop_start = thread_cpu().unwrap_or_default();
            drop(server);
            total += thread_cpu().unwrap_or_default().saturating_sub(drop_start);
            count += 1;
        }
        Ok(count as f64 / total.as_secs_f64().max(1e-9))
    }

    /// Keys for `code` from a real in-memory handshake on `backend`'s provider: an encrypter
    /// (the server's sending key) and a decrypter for the same key (the client's receiving one).
    fn keys(backend: Backend, code: u16, identity: &Identity) -> Result<RecordKeys, BenchError> {
        let mut server_config = (*raw_rustls_server_config(backend, identity)?).clone();
        server_config.enable_secret_extraction = true;
        let server_config: Arc<ServerConfig> = Arc::new(server_config);
        let spec = ClientSpec {
            version: TlsVersion::Tls13,
            suite: Some(code),
            resume: false,
        };
        let mut client_config: ClientConfig = (*client_config(backend, spec, false)?).clone();
        client_config.enable_secret_extraction = true;
        let aead = client_config
            .crypto_provider()
            .cipher_suites
            .iter()
            .find_map(|suite| match suite {
                SupportedCipherSuite::Tls13(suite) if u16::from(suite.common.suite) == code => {
                    Some(suite.aead_alg)
                }
                _ => None,
            })
            .ok_or_else(|| BenchError::new(format!("{backend}: no TLS 1.3 suite {code:#06x}")))?;
        let mut client = ClientConnection::new(Arc::new(client_config), server_name()?)
            .map_err(|e| err("client", e))?;
        let mut server = ServerConnection::new(server_config).map_err(|e| err("server", e))?;
        pump(&mut client, &mut server, &mut Vec::new())?;
        let split = |secrets| match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv }
            | ConnectionTrafficSecrets::Aes256Gcm { key, iv }
            | ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => Ok((key, iv)),
            #[allow(unreachable_patterns)]
            _ => Err(BenchError::new("an AEAD the benchmark does not know")),
        };
        let (key, iv) = split(
            server
                .dangerous_extract_secrets()
                .map_err(|e| err("server secrets", e))?
                .tx
                .1,
        )?;
        let encrypter = aead.encrypter(key, iv);
        let (key, iv) = split(
            client
                .dangerous_extract_secrets()
                .map_err(|e| err("client secrets", e))?
                .rx
                .1,
        )?;
        Ok((encrypter, aead.decrypter(key, iv)))
    }

    fn plain(record: &[u8]) -> OutboundPlainMessage<'_> {
        OutboundPlainMessage {
            typ: ContentType::ApplicationData,
            version: ProtocolVersion::TLSv1_2,
            payload: OutboundChunks::Single(record),
        }
    }

    /// MB (10^6 bytes) per CPU-second that `backend`'s provider seals (`ServerWrites`) or
    /// opens (`ServerReads`) 16 KiB TLS 1.3 records of suite `code` through rustls's record
    /// layer (`MessageEncrypter`/`MessageDecrypter`), for about `window` on this thread. Opening
    /// decrypts in place, so each record is first copied from a sealed one; the copies' own
    /// time, measured alone, is subtracted.
    pub(crate) fn aead_rate(
        backend: Backend,
        code: u16,
        direction: Direction,
        identity: &Identity,
        window: Duration,
    ) -> Result<f64, BenchError> {
        let (mut encrypter, mut decrypter) = keys(backend, code, identity)?;
        let record = vec![0x5au8; RECORD];
        let clock = || thread_cpu().ok_or_else(|| BenchError::new("no thread CPU clock"));
        match direction {
            Direction::ServerWrites => {
                let start_wall = Instant::now();
                let before = clock()?;
                let mut seq = 0u64;
                while start_wall.elapsed() < window || seq < 64 {
                    for _ in 0..16 {
                        let sealed = encrypter
                            .encrypt(plain(&record), seq)
                            .map_err(|e| err("seal", e))?;
                        std::hint::black_box(&sealed);
                        seq += 1;
                    }
                }
                let cpu = clock()?.saturating_sub(before);
                Ok((seq as usize * RECORD) as f64 / cpu.as_secs_f64().max(1e-9) / 1e6)
            }
            Direction::ServerReads => {
                const SEALED: u64 = 64;
                let mut sealed = Vec::new();
                for seq in 0..SEALED {
                    let message = encrypter
                        .encrypt(plain(&record), seq)
                        .map_err(|e| err("seal", e))?;
                    sealed.push((
                        message.typ,
                        message.version,
                        message.payload.as_ref().to_vec(),
                    ));
                }
                let mut scratch = vec![0u8; sealed[0].2.len()];
                let start_wall = Instant::now();
                let before = clock()?;
                let mut opened = 0u64;
                while start_wall.elapsed() < window || opened < SEALED {
                    for _ in 0..16 {
                        let seq = opened % SEALED;
                        let (typ, version, payload) = &sealed[seq as usize];
                        scratch.copy_from_slice(payload);
                        let message = InboundOpaqueMessage::new(*typ, *version, &mut scratch);
                        let plain = decrypter
                            .decrypt(message, seq)
                            .map_err(|e| err("open", e))?;
                        std::hint::black_box(plain.payload.len());
                        opened += 1;
                    }
                }
                let cpu = clock()?.saturating_sub(before);
                // The copies alone.
                let copy_before = clock()?;
                for i in 0..opened {
                    scratch.copy_from_slice(&sealed[(i % SEALED) as usize].2);
                    std::hint::black_box(&scratch);
                }
                let copies = clock()?.saturating_sub(copy_before);
                let cpu = cpu.saturating_sub(copies);
                Ok((opened as usize * RECORD) as f64 / cpu.as_secs_f64().max(1e-9) / 1e6)
            }
        }
    }
}

/// The limit of one figure: `1 / (1/a + 1/b)` (two costs paid one after the other per unit).
pub(crate) fn serial(a: f64, b: f64) -> f64 {
    1.0 / (1.0 / a + 1.0 / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_costs_add() {
        assert!((serial(2.0, 2.0) - 1.0).abs() < 1e-12);
        assert!((serial(3000.0, 6000.0) - 2000.0).abs() < 1e-9);
    }

    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    #[test]
    fn the_terms_measure_something() {
        let certs = crate::Certificates::generate().expect("certificates");
        let backend = tls_policy::Backend::compiled()
            .iter()
            .copied()
            .find(|b| b.name().starts_with("rustls"))
            .expect("a rustls backend");
        for direction in Direction::BOTH {
            let rate = aead_rate(
                backend,
                0x1301,
                direction,
                &certs.ecdsa,
                Duration::from_millis(5),
            )
            .expect("aead rate");
            assert!(rate.is_finite() && rate > 1.0, "{direction:?}: {rate}");
        }
        let rate = in_memory_handshakes(
            backend,
            tls_policy::TlsVersion::Tls13,
            &certs.ecdsa,
            Duration::from_millis(5),
        )
        .expect("handshakes");
        assert!(rate.is_finite() && rate > 1.0, "{rate}");
    }
}
