//! Chooses, per CPU, which rustls provider's record AEAD each of a rustls backend's cipher
//! suites uses, keeping everything else (the suite's hash, HKDF and PRF included) on its own
//! provider.
//!
//! Which provider seals records faster depends on the CPU, not on the provider's name: on an
//! AVX2 + VAES CPU without AVX-512 (AMD Zen 3, Intel client cores) ring's VAES-AVX2 AES-GCM is
//! about twice aws-lc's AES-NI path; with AVX-512 aws-lc's VAES-AVX512 path is about 1.7× ring.
//! CPU features alone cannot say it reliably (aws-lc honours `OPENSSL_ia32cap`, future versions
//! add paths), so the rule is a measurement: at the first use in a process, both providers seal
//! 16 KiB TLS 1.3 records through rustls's own record encrypters (AES-256-GCM standing for the
//! AES-GCM family, and ChaCha20-Poly1305), interleaved, for a few milliseconds; each provider's
//! best round counts (noise only ever slows a round down), and a
//! backend takes the other provider's suites of a family (AES-GCM, ChaCha20-Poly1305) only when
//! they are at least [`MARGIN`] faster than its own. The result is cached for the process.
//!
//! Only the suite's AEAD (and the QUIC packet protection that goes with it) is taken from the
//! other provider: the suite's hash, HKDF (TLS 1.3) and PRF (TLS 1.2), key exchange
//! (X25519MLKEM768 included), signature verification, key loading, randomness and session
//! tickets always stay on the backend's own provider. Taking the whole suite was measured to
//! cost ring's TLS 1.3 handshakes 12 % (aws-lc-rs's HKDF and hash through its C interface cost
//! more per small call than ring's), for nothing the records gain. With
//! [`RecordCipher::Provider`] (setting `dbms.ssl.record_cipher=provider`) nothing is mixed.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use tls_policy_backend::{AeadSource, RecordAead, RecordCipher};

/// How much faster (best round against best round) the other provider's AEAD must be before a
/// backend takes it: 10 %, so that measurement noise never flips a choice between two near-equal
/// implementations.
pub const MARGIN: f64 = 1.10;

/// The provider a backend is named after, as its crate name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Own {
    /// aws-lc-rs.
    #[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
    AwsLcRs,
    /// ring.
    #[cfg_attr(not(feature = "ring"), allow(dead_code))]
    Ring,
}

impl Own {
    fn name(self) -> &'static str {
        match self {
            Own::AwsLcRs => "aws-lc-rs",
            Own::Ring => "ring",
        }
    }
}

/// An AEAD family of rustls's suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(all(feature = "aws-lc-rs", feature = "ring")), allow(dead_code))]
enum Family {
    AesGcm,
    Chacha20Poly1305,
}

#[cfg_attr(not(all(feature = "aws-lc-rs", feature = "ring")), allow(dead_code))]
impl Family {
    fn of(suite: rustls::SupportedCipherSuite) -> Family {
        match suite.suite().as_str() {
            Some(name) if name.contains("CHACHA20") => Family::Chacha20Poly1305,
            _ => Family::AesGcm,
        }
    }
}

/// The provider a backend builds with under `setting`, and what its record AEAD is.
pub(crate) fn compose(
    own: Own,
    base: CryptoProvider,
    setting: RecordCipher,
) -> (Arc<CryptoProvider>, RecordAead) {
    match setting {
        RecordCipher::Provider => (Arc::new(base), pinned(own, setting)),
        RecordCipher::Fastest => fastest(own, base),
    }
}

/// Every family from the backend's own provider, and why.
fn pinned(own: Own, setting: RecordCipher) -> RecordAead {
    let reason = match setting {
        RecordCipher::Provider => "dbms.ssl.record_cipher=provider".to_owned(),
        RecordCipher::Fastest => "the only rustls provider compiled in".to_owned(),
    };
    let source = AeadSource {
        implementation: own.name(),
        reason,
    };
    RecordAead {
        setting,
        aes_gcm: source.clone(),
        chacha20_poly1305: source,
    }
}

#[cfg(not(all(feature = "aws-lc-rs", feature = "ring")))]
fn fastest(own: Own, base: CryptoProvider) -> (Arc<CryptoProvider>, RecordAead) {
    (Arc::new(base), pinned(own, RecordCipher::Fastest))
}

#[cfg(all(feature = "aws-lc-rs", feature = "ring"))]
fn fastest(own: Own, mut base: CryptoProvider) -> (Arc<CryptoProvider>, RecordAead) {
    let speeds = measure::speeds();
    let other = match own {
        Own::AwsLcRs => rustls::crypto::ring::default_provider(),
        Own::Ring => rustls::crypto::aws_lc_rs::default_provider(),
    };
    let other_name = match own {
        Own::AwsLcRs => Own::Ring,
        Own::Ring => Own::AwsLcRs,
    };
    let decide = |family: Family| -> (bool, AeadSource) {
        let (aws, ring) = match family {
            Family::AesGcm => speeds.aes_gcm,
            Family::Chacha20Poly1305 => speeds.chacha20_poly1305,
        };
        let (own_speed, other_speed) = match own {
            Own::AwsLcRs => (aws, ring),
            Own::Ring => (ring, aws),
        };
        let take_other = other_speed >= own_speed * MARGIN;
        let winner = if take_other { other_name } else { own };
        let reason = format!(
            "measured sealing 16 KiB records: aws-lc-rs {:.1} GB/s, ring {:.1} GB/s{}; cpu: {}",
            aws / 1e9,
            ring / 1e9,
            if take_other {
                format!(", {} ≥ {:.2}× its own", other_name.name(), MARGIN)
            } else {
                format!(", the other not ≥ {:.2}× faster", MARGIN)
            },
            cpu_features()
        );
        (
            take_other,
            AeadSource {
                implementation: winner.name(),
                reason,
            },
        )
    };
    let (other_aes, aes_gcm) = decide(Family::AesGcm);
    let (other_chacha, chacha20_poly1305) = decide(Family::Chacha20Poly1305);
    for suite in &mut base.cipher_suites {
        let take = match Family::of(*suite) {
            Family::AesGcm => other_aes,
            Family::Chacha20Poly1305 => other_chacha,
        };
        if !take {
            continue;
        }
        if let Some(replacement) = other
            .cipher_suites
            .iter()
            .find(|candidate| candidate.suite() == suite.suite())
        {
            *suite = with_aead_of(*suite, *replacement);
        }
    }
    (
        Arc::new(base),
        RecordAead {
            setting: RecordCipher::Fastest,
            aes_gcm,
            chacha20_poly1305,
        },
    )
}

/// `own` with the record AEAD (and QUIC packet protection) of `other`, the same suite from the
/// other provider; its hash, HKDF or PRF, key exchange and signature schemes stay `own`'s.
///
/// rustls names suites by `&'static` reference, so each combination is built once per process
/// and kept (a handful of small structs: at most one per suite and provider pair).
#[cfg(all(feature = "aws-lc-rs", feature = "ring"))]
fn with_aead_of(
    own: rustls::SupportedCipherSuite,
    other: rustls::SupportedCipherSuite,
) -> rustls::SupportedCipherSuite {
    use rustls::{CipherSuiteCommon, SupportedCipherSuite, Tls12CipherSuite, Tls13CipherSuite};
    use std::sync::Mutex;

    type Built = (usize, usize, SupportedCipherSuite);
    static BUILT: Mutex<Vec<Built>> = Mutex::new(Vec::new());
    let address = |suite: SupportedCipherSuite| match suite {
        SupportedCipherSuite::Tls13(suite) => suite as *const Tls13CipherSuite as usize,
        SupportedCipherSuite::Tls12(suite) => suite as *const Tls12CipherSuite as usize,
    };
    let key = (address(own), address(other));
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, _, suite)) = built.iter().find(|(a, b, _)| (*a, *b) == key) {
        return *suite;
    }
    let mixed = match (own, other) {
        (SupportedCipherSuite::Tls13(own), SupportedCipherSuite::Tls13(other)) => {
            SupportedCipherSuite::Tls13(Box::leak(Box::new(Tls13CipherSuite {
                common: CipherSuiteCommon {
                    suite: own.common.suite,
                    hash_provider: own.common.hash_provider,
                    confidentiality_limit: other.common.confidentiality_limit,
                },
                hkdf_provider: own.hkdf_provider,
                aead_alg: other.aead_alg,
                quic: other.quic,
            })))
        }
        (SupportedCipherSuite::Tls12(own), SupportedCipherSuite::Tls12(other)) => {
            SupportedCipherSuite::Tls12(Box::leak(Box::new(Tls12CipherSuite {
                common: CipherSuiteCommon {
                    suite: own.common.suite,
                    hash_provider: own.common.hash_provider,
                    confidentiality_limit: other.common.confidentiality_limit,
                },
                prf_provider: own.prf_provider,
                kx: own.kx,
                sign: own.sign,
                aead_alg: other.aead_alg,
            })))
        }
        // The same IANA code is never TLS 1.2 on one side and 1.3 on the other.
        _ => own,
    };
    built.push((key.0, key.1, mixed));
    mixed
}

/// The CPU features that decide the AES-GCM paths, for the reason text.
#[cfg_attr(not(all(feature = "aws-lc-rs", feature = "ring")), allow(dead_code))]
pub(crate) fn cpu_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let mut names = Vec::new();
        if std::arch::is_x86_feature_detected!("aes") {
            names.push("aes");
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            names.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("vaes") {
            names.push("vaes");
        }
        if std::arch::is_x86_feature_detected!("vpclmulqdq") {
            names.push("vpclmulqdq");
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            names.push("avx512f");
        }
        if names.is_empty() {
            "x86_64, no AES-NI".to_owned()
        } else {
            names.join("+")
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("aes") {
            "aarch64+aes+pmull".to_owned()
        } else {
            "aarch64, no crypto extensions".to_owned()
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        std::env::consts::ARCH.to_owned()
    }
}

/// The start-up measurement, once per process.
#[cfg(all(feature = "aws-lc-rs", feature = "ring"))]
pub mod measure {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use rustls::crypto::cipher::{
        AeadKey, InboundOpaqueMessage, Iv, MessageDecrypter, MessageEncrypter, OutboundChunks,
        OutboundOpaqueMessage, OutboundPlainMessage,
    };
    use rustls::{ContentType, ProtocolVersion, SupportedCipherSuite, Tls13CipherSuite};

    /// The payload of one record: a full TLS record, as bulk transfer sends.
    pub const RECORD: usize = 16 * 1024;
    /// Records sealed per round and provider.
    const RECORDS_PER_ROUND: usize = 8;
    /// Rounds per family; each provider's best counts.
    const ROUNDS: usize = 9;

    /// Bytes per second sealing 16 KiB records, `(aws-lc-rs, ring)`, per family.
    #[derive(Clone, Copy, Debug)]
    pub struct Speeds {
        /// TLS 1.3 AES-256-GCM (AES-128-GCM takes the same code path in both providers).
        pub aes_gcm: (f64, f64),
        /// TLS 1.3 ChaCha20-Poly1305.
        pub chacha20_poly1305: (f64, f64),
    }

    /// The process's measurement: taken at the first call (a few milliseconds), then cached.
    pub fn speeds() -> Speeds {
        static SPEEDS: OnceLock<Speeds> = OnceLock::new();
        *SPEEDS.get_or_init(|| Speeds {
            aes_gcm: race(
                rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_256_GCM_SHA384,
                rustls::crypto::ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
            ),
            chacha20_poly1305: race(
                rustls::crypto::aws_lc_rs::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
                rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            ),
        })
    }

    /// A record encrypter and decrypter of a TLS 1.3 `suite` with a 256-bit key (TLS 1.2
    /// suites seal with the same AEAD); `None` for a suite with another key length.
    ///
    /// rustls's public API builds keys of 32 bytes only, so AES-GCM is measured as AES-256-GCM:
    /// both providers run AES-128 and AES-256 through the same GCM code path (the rounds differ,
    /// the path does not), so the faster one is the same.
    pub fn record_layer(
        suite: &'static Tls13CipherSuite,
    ) -> Option<(Box<dyn MessageEncrypter>, Box<dyn MessageDecrypter>)> {
        if suite.aead_alg.key_len() != 32 {
            return None;
        }
        let key = || AeadKey::from([0x5a; 32]);
        let iv = || Iv::new([0xa5; 12]);
        Some((
            suite.aead_alg.encrypter(key(), iv()),
            suite.aead_alg.decrypter(key(), iv()),
        ))
    }

    /// Seals one record of `plain`, as rustls does (into a fresh buffer with room for the
    /// header); `None` if the encrypter refuses.
    pub fn seal(
        encrypter: &mut dyn MessageEncrypter,
        plain: &[u8],
        seq: u64,
    ) -> Option<OutboundOpaqueMessage> {
        let message = OutboundPlainMessage {
            typ: ContentType::ApplicationData,
            version: ProtocolVersion::TLSv1_2,
            payload: OutboundChunks::Single(plain),
        };
        encrypter.encrypt(message, seq).ok()
    }

    /// Opens a record sealed by [`seal`] in place; its plaintext length, `None` if it fails.
    pub fn open(
        decrypter: &mut dyn MessageDecrypter,
        sealed: &mut [u8],
        seq: u64,
    ) -> Option<usize> {
        let message = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            sealed,
        );
        decrypter
            .decrypt(message, seq)
            .ok()
            .map(|plain| plain.payload.len())
    }

    /// Times sealing with each suite in interleaved rounds; each one's best, in bytes per second.
    fn race(aws: SupportedCipherSuite, ring: SupportedCipherSuite) -> (f64, f64) {
        // Both providers' TLS13_* constants are TLS 1.3 suites.
        let (Some(aws), Some(ring)) = (aws.tls13(), ring.tls13()) else {
            return (0.0, 0.0);
        };
        let (Some(aws), Some(ring)) = (record_layer(aws), record_layer(ring)) else {
            return (0.0, 0.0);
        };
        let plain = vec![0x42u8; RECORD];
        let mut encrypters = [aws.0, ring.0];
        let mut best = [Duration::MAX; 2];
        let mut failed = [false; 2];
        let mut seq = 0u64;
        // One warm-up record each: first-use costs (key schedule, page faults) are not speed.
        for encrypter in &mut encrypters {
            std::hint::black_box(seal(&mut **encrypter, &plain, seq));
        }
        for round in 0..ROUNDS {
            // Alternate who goes first, so neither always runs right after a context switch.
            for i in 0..2 {
                let which = (i + round) % 2;
                let encrypter = &mut *encrypters[which];
                let start = Instant::now();
                for _ in 0..RECORDS_PER_ROUND {
                    seq += 1;
                    // A refused seal (none is expected) would look fast: it counts as zero speed.
                    if std::hint::black_box(seal(encrypter, std::hint::black_box(&plain), seq))
                        .is_none()
                    {
                        failed[which] = true;
                    }
                }
                best[which] = best[which].min(start.elapsed());
            }
        }
        let rate = |elapsed: Duration| {
            (RECORD * RECORDS_PER_ROUND) as f64 / elapsed.as_secs_f64().max(1e-9)
        };
        let speed = |i: usize| if failed[i] { 0.0 } else { rate(best[i]) };
        (speed(0), speed(1))
    }
}
