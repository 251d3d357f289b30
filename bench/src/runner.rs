//! The whole run: which figures for which backends, each measured ours and raw alternately over several rounds.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use super::client::{ClientSpec, Connector};
use super::cpu::Machine;
use super::measure::{self, bytes_for, percentile, Cpu, HandshakeSample};
use super::memory::{spawn_probe, ProbeTarget};
use super::nginx::Nginx;
use super::pki::{Certificates, KeyType};
use super::protocol::Request;
use super::records::{self, Direction, InMemory};
use super::report::{BackendInfo, Ceiling, Report, Row, Settings, Stat};
use super::server::{Engine, Listening, Role, ServerThread};
use super::sys::{pin_to_cpu, thread_cpu};
use super::{limits, BenchError};
use tls_policy::{Backend, TlsVersion};

/// How much to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// `quick` (about 90 s) or `full`: names the run in the report, and trims the nginx rows.
    pub quick: bool,
    /// The backends to compare.
    pub backends: Vec<Backend>,
    /// Rounds per figure; ours and raw alternate (ours first in even rounds, raw in odd ones).
    pub rounds: usize,
    /// Length of each handshake-rate and latency window.
    pub handshake_window: Duration,
    /// Target length of each bulk transfer (its size is calibrated per figure).
    pub bulk_window: Duration,
    /// Target length of each in-memory transfer.
    pub records_window: Duration,
    /// Clients handshaking at once for the handshake rates.
    pub handshake_concurrency: usize,
    /// Clients handshaking at once for the latency percentiles.
    pub latency_concurrency: usize,
    /// Idle connections held for the memory figure.
    pub memory_connections: usize,
    /// Memory probes per side.
    pub memory_rounds: usize,
    /// The `tls-policy` executable that runs memory probes in fresh processes; `None` skips the
    /// memory figures.
    pub probe_exe: Option<PathBuf>,
    /// The nginx binary measured as an outside reference; `None` skips those rows (the
    /// report says so).
    pub nginx: Option<PathBuf>,
    /// What the caller installed for the run (metrics recorder, tracing subscriber), for the
    /// report.
    pub observability: String,
}

impl Options {
    /// The quick run: about 90 s on two cores; 1,000 idle connections.
    pub fn quick() -> Options {
        Options {
            quick: true,
            backends: Backend::compiled().to_vec(),
            rounds: 3,
            handshake_window: Duration::from_millis(150),
            bulk_window: Duration::from_millis(100),
            records_window: Duration::from_millis(80),
            handshake_concurrency: 8,
            latency_concurrency: 32,
            memory_connections: 1_000,
            memory_rounds: 1,
            probe_exe: None,
            nginx: super::nginx::find(),
            observability: "nothing (no metrics recorder, no tracing subscriber)".to_owned(),
        }
    }

    /// The full run: 11 rounds of 0.5 s windows (many short alternating rounds resist bursts of
    /// other load better than a few long ones); 10,000 idle connections.
    pub fn full() -> Options {
        Options {
            quick: false,
            rounds: 11,
            handshake_window: Duration::from_millis(500),
            bulk_window: Duration::from_millis(300),
            records_window: Duration::from_millis(250),
            memory_connections: 10_000,
            memory_rounds: 2,
            ..Options::quick()
        }
    }
}

/// Where the run reports its progress (a progress bar, or nothing).
pub trait Progress: Send + Sync {
    /// The run has `total` figures to measure.
    fn begin(&self, total: u64);
    /// The next figure starts.
    fn step(&self, label: &str);
}

impl Progress for () {
    fn begin(&self, _total: u64) {}
    fn step(&self, _label: &str) {}
}

/// One figure to measure.
#[derive(Clone, Copy, Debug)]
enum Job {
    Handshakes {
        backend: Backend,
        version: TlsVersion,
        key: KeyType,
        resume: bool,
    },
    Latency {
        backend: Backend,
    },
    Bulk {
        backend: Backend,
        suite: Suite,
        direction: Direction,
    },
    Records {
        backend: Backend,
        direction: Direction,
    },
    Memory {
        backend: Backend,
    },
    TcpConnect,
    TcpBulk {
        direction: Direction,
    },
    TcpMemory,
    /// One rustls provider's AEAD alone in memory (`backend` names the provider).
    Aead {
        backend: Backend,
        suite: usize,
        direction: Direction,
    },
    /// The library's own server handshake in memory.
    InMemoryHandshakes {
        backend: Backend,
        version: TlsVersion,
        key: KeyType,
    },
    /// The `serve` listener against raw: full handshakes, ECDSA.
    ListenerHandshakes {
        backend: Backend,
        version: TlsVersion,
    },
    /// The `serve` listener against raw: bulk AES-128-GCM.
    ListenerBulk {
        backend: Backend,
        suite: Suite,
        direction: Direction,
    },
    /// Ours against nginx, full handshakes, the client offering X25519 alone.
    NginxHandshakes {
        backend: Backend,
        version: TlsVersion,
        key: KeyType,
    },
    /// Ours against nginx, bulk.
    NginxBulk {
        backend: Backend,
        suite: Suite,
        direction: Direction,
    },
}

/// A bulk cipher suite: its IANA code, the version it belongs to, its names.
#[derive(Clone, Copy, Debug)]
struct Suite {
    code: u16,
    version: TlsVersion,
    id: &'static str,
    label: &'static str,
}

/// AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305: TLS 1.3 suites where the backend serves TLS
/// 1.3, else the TLS 1.2 ECDHE-ECDSA ones.
fn bulk_suites(backend: Backend) -> [Suite; 3] {
    let suite = |code, version, id, label| Suite {
        code,
        version,
        id,
        label,
    };
    if backend.capabilities().tls13 {
        let v = TlsVersion::Tls13;
        [
            suite(0x1301, v, "aes128gcm", "AES-128-GCM"),
            suite(0x1302, v, "aes256gcm", "AES-256-GCM"),
            suite(0x1303, v, "chacha20poly1305", "ChaCha20-Poly1305"),
        ]
    } else {
        let v = TlsVersion::Tls12;
        [
            suite(0xc02b, v, "aes128gcm", "AES-128-GCM"),
            suite(0xc02c, v, "aes256gcm", "AES-256-GCM"),
            suite(0xcca9, v, "chacha20poly1305", "ChaCha20-Poly1305"),
        ]
    }
}

fn version_id(version: TlsVersion) -> (&'static str, &'static str) {
    match version {
        TlsVersion::Tls12 => ("tls12", "TLS 1.2"),
        TlsVersion::Tls13 => ("tls13", "TLS 1.3"),
    }
}

fn direction_label(direction: Direction) -> &'static str {
    match direction {
        Direction::ServerWrites => "server -> client",
        Direction::ServerReads => "client -> server",
    }
}

impl Job {
    fn label(&self) -> String {
        match *self {
            Job::Handshakes {
                backend,
                version,
                key,
                resume,
            } => format!(
                "{backend}: {} handshakes, {}, {}",
                if resume { "resumed" } else { "full" },
                version_id(version).1,
                key.label()
            ),
            Job::Latency { backend } => format!("{backend}: handshake latency"),
            Job::Bulk {
                backend,
                suite,
                direction,
            } => format!(
                "{backend}: bulk {} {}",
                suite.label,
                direction_label(direction)
            ),
            Job::Records { backend, direction } => {
                format!(
                    "{backend}: in-memory records {}",
                    direction_label(direction)
                )
            }
            Job::Memory { backend } => format!("{backend}: idle connections"),
            Job::TcpConnect => "plain TCP: connections".to_owned(),
            Job::TcpBulk { direction } => format!("plain TCP: bulk {}", direction_label(direction)),
            Job::TcpMemory => "plain TCP: idle connections".to_owned(),
            Job::Aead {
                backend,
                suite,
                direction,
            } => format!(
                "{}: AEAD alone, {} {}",
                provider_of(backend),
                limits::AEAD_SUITES[suite].2,
                limits::aead_operation(direction)
            ),
            Job::InMemoryHandshakes {
                backend,
                version,
                key,
            } => format!(
                "{backend}: in-memory server handshakes, {}, {}",
                version_id(version).1,
                key.label()
            ),
            Job::ListenerHandshakes { backend, version } => format!(
                "{backend}: serve listener, full handshakes, {}",
                version_id(version).1
            ),
            Job::ListenerBulk {
                backend,
                suite,
                direction,
            } => format!(
                "{backend}: serve listener, bulk {} {}",
                suite.label,
                direction_label(direction)
            ),
            Job::NginxHandshakes {
                backend,
                version,
                key,
            } => format!(
                "{backend}: vs nginx, full handshakes, {}, {}",
                version_id(version).1,
                key.label()
            ),
            Job::NginxBulk {
                backend,
                suite,
                direction,
            } => format!(
                "{backend}: vs nginx, bulk {} {}",
                suite.label,
                direction_label(direction)
            ),
        }
    }
}

/// Every figure for `backends`, grouped by backend, then the plain-TCP ceilings.
fn plan(options: &Options) -> Vec<Job> {
    let mut jobs = Vec::new();
    let nginx = options.nginx.is_some();
    for &backend in &options.backends {
        let versions: Vec<TlsVersion> = Engine::versions(backend).iter().rev().copied().collect();
        for &version in &versions {
            for key in [KeyType::EcdsaP256, KeyType::Rsa2048] {
                jobs.push(Job::Handshakes {
                    backend,
                    version,
                    key,
                    resume: false,
                });
            }
        }
        for &version in &versions {
            jobs.push(Job::Handshakes {
                backend,
                version,
                key: KeyType::EcdsaP256,
                resume: true,
            });
        }
        jobs.push(Job::Latency { backend });
        for suite in bulk_suites(backend) {
            for direction in Direction::BOTH {
                jobs.push(Job::Bulk {
                    backend,
                    suite,
                    direction,
                });
            }
        }
        for direction in Direction::BOTH {
            jobs.push(Job::Records { backend, direction });
        }
        for &version in &versions {
            jobs.push(Job::ListenerHandshakes { backend, version });
        }
        for direction in Direction::BOTH {
            jobs.push(Job::ListenerBulk {
                backend,
                suite: bulk_suites(backend)[0],
                direction,
            });
        }
        if is_rustls(backend) {
            for &version in &versions {
                for key in [KeyType::EcdsaP256, KeyType::Rsa2048] {
                    jobs.push(Job::InMemoryHandshakes {
                        backend,
                        version,
                        key,
                    });
                    // A quick run compares handshakes with nginx on ECDSA only.
                    if nginx && (key == KeyType::EcdsaP256 || !options.quick) {
                        jobs.push(Job::NginxHandshakes {
                            backend,
                            version,
                            key,
                        });
                    }
                }
            }
            if nginx {
                // A quick run compares bulk on AES-128-GCM only.
                let suites = bulk_suites(backend);
                let suites = if options.quick {
                    &suites[..1]
                } else {
                    &suites[..]
                };
                for &suite in suites {
                    for direction in Direction::BOTH {
                        jobs.push(Job::NginxBulk {
                            backend,
                            suite,
                            direction,
                        });
                    }
                }
            }
        }
        jobs.push(Job::Memory { backend });
    }
    // Every compiled-in rustls provider's AEADs: the fastest one on this CPU bounds every
    // backend's bulk figures.
    for &backend in Backend::compiled() {
        if is_rustls(backend) {
            for suite in 0..limits::AEAD_SUITES.len() {
                for direction in Direction::BOTH {
                    jobs.push(Job::Aead {
                        backend,
                        suite,
                        direction,
                    });
                }
            }
        }
    }
    jobs.push(Job::TcpConnect);
    for direction in Direction::BOTH {
        jobs.push(Job::TcpBulk { direction });
    }
    jobs.push(Job::TcpMemory);
    jobs
}

fn is_rustls(backend: Backend) -> bool {
    backend.name().starts_with("rustls")
}

/// The rustls provider a rustls backend runs on.
fn provider_of(backend: Backend) -> &'static str {
    backend.name().trim_start_matches("rustls-")
}

/// Ours first in even rounds, raw first in odd ones.
fn order(round: usize) -> [Role; 2] {
    if round % 2 == 0 {
        [Role::Ours, Role::Raw]
    } else {
        [Role::Raw, Role::Ours]
    }
}

/// What one figure's measurement yields.
enum Outcome {
    Rows(Vec<Row>),
    Ceiling(Ceiling),
    Term(Ceiling),
}

/// Runs the whole benchmark on the calling thread (plus one server thread) and reports.
pub fn run(options: &Options, progress: &dyn Progress) -> Result<Report, BenchError> {
    let started = Instant::now();
    let machine = Machine::detect();
    let certs = Certificates::generate()?;
    // One core each for the servers and the client, so that neither migrates onto the other's.
    let pinned = machine.logical_cpus >= 2;
    let server = ServerThread::start(pinned.then_some(0))?;
    let pinned = pinned && pin_to_cpu(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| BenchError::new(format!("cannot start the client runtime: {err}")))?;
    let mut notes = Vec::new();
    let (nginx, reference) = match &options.nginx {
        None => (None, "skipped: nginx not found".to_owned()),
        Some(exe) => match Nginx::start(exe, &certs, pinned.then_some(0)) {
            Ok(nginx) => {
                let version = format!(
                    "nginx {}, one process, tickets and session cache off, X25519",
                    nginx.version
                );
                (Some(nginx), version)
            }
            Err(err) => {
                notes.push(format!("nginx rows skipped: {err}"));
                (None, format!("skipped: {err}"))
            }
        },
    };
    let mut bench = Bench {
        options,
        certs,
        server,
        servers: HashMap::new(),
        notes,
        nginx,
    };
    if let Err(why) = &bench.certs.rsa {
        bench.notes.push(format!("RSA-2048 rows skipped: {why}"));
    }
    if options.backends.iter().any(|b| !is_rustls(*b)) {
        bench.notes.push(
            "native-tls: no in-memory handshake term (OpenSSL's handshake is not reachable \
             through native-tls without a stream), so its handshake rows have no share of a \
             limit; its bulk rows are held to the fastest rustls provider's AEAD"
                .to_owned(),
        );
    }
    if bench.nginx.is_some() {
        bench.notes.push(
            "nginx rows cover the rustls backends (the client is rustls; native-tls serves TLS \
             1.2 only)"
                .to_owned(),
        );
    }
    let jobs = plan(options);
    progress.begin(jobs.len() as u64);
    let mut rows = Vec::new();
    let mut ceilings = Vec::new();
    let mut limit_terms = Vec::new();
    for job in jobs {
        if bench.nginx.is_none()
            && matches!(job, Job::NginxHandshakes { .. } | Job::NginxBulk { .. })
        {
            continue;
        }
        progress.step(&job.label());
        match bench.job(&runtime, job) {
            Ok(Some(Outcome::Rows(mut new))) => rows.append(&mut new),
            Ok(Some(Outcome::Ceiling(ceiling))) => ceilings.push(ceiling),
            Ok(Some(Outcome::Term(term))) => limit_terms.push(term),
            Ok(None) => {}
            Err(err) => bench.notes.push(format!("{} failed: {err}", job.label())),
        }
        // Servers of a finished backend are not needed again.
        if let Job::Memory { backend } = job {
            bench.servers.retain(|(b, _, _), _| *b != backend);
        }
    }
    drop(bench.servers);
    drop(bench.nginx);
    let mut report = Report {
        tool: format!("tls-policy {} bench", env!("CARGO_PKG_VERSION")),
        machine,
        backends: options.backends.iter().map(|b| backend_info(*b)).collect(),
        settings: Settings {
            mode: if options.quick { "quick" } else { "full" },
            rounds: options.rounds,
            handshake_window_ms: options.handshake_window.as_millis(),
            bulk_window_ms: options.bulk_window.as_millis(),
            records_window_ms: options.records_window.as_millis(),
            handshake_concurrency: options.handshake_concurrency,
            latency_concurrency: options.latency_concurrency,
            memory_connections: options.memory_connections,
            pinned_threads: pinned,
            observability: options.observability.clone(),
        },
        rows,
        ceilings,
        limit_terms,
        shares: Vec::new(),
        reference,
        figures: Default::default(),
        comparisons: Vec::new(),
        targets: Vec::new(),
        notes: bench.notes,
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    report.finish();
    Ok(report)
}

/// The library, provider and client behind a backend, for the report's first lines.
pub fn backend_info(backend: Backend) -> BackendInfo {
    let (library, raw) = match backend.name() {
        "rustls-aws-lc-rs" => (
            "rustls 0.23 with the aws-lc-rs provider",
            "tokio-rustls, same provider (its own record AEAD)",
        ),
        "rustls-ring" => (
            "rustls 0.23 with the ring provider",
            "tokio-rustls, same provider (its own record AEAD)",
        ),
        _ => (
            "native-tls (OpenSSL on Linux), TLS 1.2 only",
            "tokio-native-tls",
        ),
    };
    BackendInfo {
        name: backend.name().to_owned(),
        library: library.to_owned(),
        raw: raw.to_owned(),
        client: Connector::describe(backend),
        record_aead: backend
            .record_aead(tls_policy::RecordCipher::Fastest)
            .map(|aead| aead.to_string()),
    }
}

struct Bench<'a> {
    options: &'a Options,
    certs: Certificates,
    server: ServerThread,
    servers: HashMap<(Backend, KeyType, Role), Listening>,
    notes: Vec<String>,
    nginx: Option<Nginx>,
}

impl Bench<'_> {
    fn job(&mut self, runtime: &Runtime, job: Job) -> Result<Option<Outcome>, BenchError> {
        match job {
            Job::Handshakes {
                backend,
                version,
                key,
                resume,
            } => {
                if self.certs.get(key).is_err() {
                    // Said once in the notes.
                    return Ok(None);
                }
                self.ensure_servers(backend, key)?;
                runtime
                    .block_on(self.handshakes(backend, version, key, resume))
                    .map(|row| Some(Outcome::Rows(vec![row])))
            }
            Job::Latency { backend } => {
                self.ensure_servers(backend, KeyType::EcdsaP256)?;
                runtime
                    .block_on(self.latency(backend))
                    .map(|rows| Some(Outcome::Rows(rows)))
            }
            Job::Bulk {
                backend,
                suite,
                direction,
            } => {
                self.ensure_servers(backend, KeyType::EcdsaP256)?;
                let row = runtime.block_on(bulk_row(
                    self.options,
                    &mut self.servers,
                    backend,
                    suite,
                    direction,
                ))?;
                Ok(Some(Outcome::Rows(vec![row])))
            }
            Job::Records { backend, direction } => runtime
                .block_on(self.records(backend, direction))
                .map(|row| Some(Outcome::Rows(vec![row]))),
            Job::Memory { backend } => runtime
                .block_on(self.memory(backend))
                .map(|row| row.map(|row| Outcome::Rows(vec![row]))),
            Job::TcpConnect => runtime
                .block_on(self.tcp_connect())
                .map(|c| Some(Outcome::Ceiling(c))),
            Job::TcpBulk { direction } => runtime
                .block_on(self.tcp_bulk(direction))
                .map(|c| Some(Outcome::Ceiling(c))),
            Job::TcpMemory => runtime
                .block_on(self.tcp_memory())
                .map(|c| c.map(Outcome::Ceiling)),
            Job::Aead {
                backend,
                suite,
                direction,
            } => self
                .aead(backend, suite, direction)
                .map(|t| Some(Outcome::Term(t))),
            Job::InMemoryHandshakes {
                backend,
                version,
                key,
            } => {
                if self.certs.get(key).is_err() {
                    return Ok(None);
                }
                self.in_memory_handshakes(backend, version, key)
                    .map(|t| Some(Outcome::Term(t)))
            }
            Job::ListenerHandshakes { backend, version } => {
                let key = KeyType::EcdsaP256;
                self.ensure_servers(backend, key)?;
                self.ensure_listener(backend, key)?;
                runtime
                    .block_on(self.handshakes_of(Role::Listener, backend, version, key, false))
                    .map(|row| Some(Outcome::Rows(vec![row])))
            }
            Job::ListenerBulk {
                backend,
                suite,
                direction,
            } => {
                let key = KeyType::EcdsaP256;
                self.ensure_servers(backend, key)?;
                self.ensure_listener(backend, key)?;
                let row = runtime.block_on(bulk_row_of(
                    Role::Listener,
                    self.options,
                    &mut self.servers,
                    backend,
                    suite,
                    direction,
                ))?;
                Ok(Some(Outcome::Rows(vec![row])))
            }
            Job::NginxHandshakes {
                backend,
                version,
                key,
            } => {
                if self.certs.get(key).is_err() {
                    return Ok(None);
                }
                self.ensure_servers(backend, key)?;
                runtime
                    .block_on(self.nginx_handshakes(backend, version, key))
                    .map(|row| Some(Outcome::Rows(vec![row])))
            }
            Job::NginxBulk {
                backend,
                suite,
                direction,
            } => {
                self.ensure_servers(backend, KeyType::EcdsaP256)?;
                runtime
                    .block_on(self.nginx_bulk(backend, suite, direction))
                    .map(|row| Some(Outcome::Rows(vec![row])))
            }
        }
    }

    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    fn aead(
        &self,
        backend: Backend,
        suite: usize,
        direction: Direction,
    ) -> Result<Ceiling, BenchError> {
        let (code, id, label) = limits::AEAD_SUITES[suite];
        let operation = limits::aead_operation(direction);
        let window = self.options.records_window;
        // Warm up.
        limits::aead_rate(backend, code, direction, &self.certs.ecdsa, window / 4)?;
        let mut rates = Vec::new();
        for _ in 0..self.options.rounds {
            rates.push(limits::aead_rate(
                backend,
                code,
                direction,
                &self.certs.ecdsa,
                window,
            )?);
        }
        let provider = provider_of(backend);
        Ok(Ceiling {
            metric: format!("aead_{}_{id}_{operation}", provider.replace('-', "_")),
            label: format!("{provider} {label} {operation}, 16 KiB records"),
            unit: "MB/CPU-s".to_owned(),
            value: Stat::new(rates),
            per_cpu: None,
        })
    }

    #[cfg(not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")))]
    fn aead(&self, _: Backend, _: usize, _: Direction) -> Result<Ceiling, BenchError> {
        Err(BenchError::new("no rustls provider compiled in"))
    }

    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    fn in_memory_handshakes(
        &self,
        backend: Backend,
        version: TlsVersion,
        key: KeyType,
    ) -> Result<Ceiling, BenchError> {
        let identity = self
            .certs
            .get(key)
            .map_err(|why| BenchError::new(why.to_owned()))?;
        let window = self.options.handshake_window;
        limits::in_memory_handshakes(backend, version, identity, window / 3)?;
        let mut rates = Vec::new();
        for _ in 0..self.options.rounds {
            rates.push(limits::in_memory_handshakes(
                backend, version, identity, window,
            )?);
        }
        let (vid, vlabel) = version_id(version);
        Ok(Ceiling {
            metric: format!(
                "in_memory_handshake_{}_{vid}_{}",
                backend.name().replace('-', "_"),
                key.id()
            ),
            label: format!(
                "{backend} in-memory server handshakes, {vlabel}, {}",
                key.label()
            ),
            unit: "hs/CPU-s".to_owned(),
            value: Stat::new(rates),
            per_cpu: None,
        })
    }

    #[cfg(not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")))]
    fn in_memory_handshakes(
        &self,
        _: Backend,
        _: TlsVersion,
        _: KeyType,
    ) -> Result<Ceiling, BenchError> {
        Err(BenchError::new("no rustls provider compiled in"))
    }

    #[cfg_attr(
        not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")),
        allow(dead_code)
    )]
    fn nginx(&self) -> Result<&Nginx, BenchError> {
        self.nginx
            .as_ref()
            .ok_or_else(|| BenchError::new("skipped: nginx not found"))
    }

    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    async fn nginx_handshakes(
        &self,
        backend: Backend,
        version: TlsVersion,
        key: KeyType,
    ) -> Result<Row, BenchError> {
        let nginx = self.nginx()?;
        let nginx_addr = match key {
            KeyType::EcdsaP256 => nginx.ecdsa,
            KeyType::Rsa2048 => nginx
                .rsa
                .ok_or_else(|| BenchError::new("nginx has no RSA certificate"))?,
        };
        let spec = ClientSpec {
            version,
            suite: None,
            resume: false,
        };
        let connectors = [
            super::client::rustls_client::connector_with(backend, spec, true)?,
            Connector::http_x25519(backend, spec)?,
        ];
        let addrs = [self.addr(backend, key, Role::Ours)?, nginx_addr];
        let cpu = |side: usize| {
            if side == 0 {
                Cpu::Thread(&self.server)
            } else {
                Cpu::Process(nginx.pid())
            }
        };
        let window = self.options.handshake_window;
        let concurrency = self.options.handshake_concurrency;
        for side in 0..2 {
            let warm = measure::handshakes(
                &connectors[side],
                addrs[side],
                cpu(side),
                window / 3,
                concurrency,
            )
            .await;
            check(&warm, backend, side_role(side))?;
        }
        let mut samples: [Vec<HandshakeSample>; 2] = [Vec::new(), Vec::new()];
        for round in 0..self.options.rounds {
            for role in order(round) {
                let side = side_index(role);
                let sample = measure::handshakes(
                    &connectors[side],
                    addrs[side],
                    cpu(side),
                    window,
                    concurrency,
                )
                .await;
                check(&sample, backend, role)?;
                samples[side].push(sample);
            }
        }
        let (vid, vlabel) = version_id(version);
        Ok(rate_row(
            backend,
            format!("nginx_handshake_full_{vid}_{}", key.id()),
            format!("vs nginx: full handshake, {vlabel}, {}", key.label()),
            "hs/s",
            "hs/CPU-s",
            &samples,
            Some(
                "raw = nginx; the same client, X25519 on both; nginx also parses a GET /hs and answers it"
                    .to_owned(),
            ),
        ))
    }

    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    async fn nginx_bulk(
        &mut self,
        backend: Backend,
        suite: Suite,
        direction: Direction,
    ) -> Result<Row, BenchError> {
        let spec = ClientSpec {
            version: suite.version,
            suite: Some(suite.code),
            resume: false,
        };
        let ours_connector = super::client::rustls_client::connector_with(backend, spec, true)?;
        let http = Connector::http_x25519(backend, spec)?;
        let (nginx_addr, nginx_pid) = {
            let nginx = self.nginx()?;
            (nginx.ecdsa, nginx.pid())
        };
        let key = KeyType::EcdsaP256;
        let failed = |side: &str, err: String| {
            BenchError::new(format!(
                "{backend} vs nginx ({side}) {}: {err}",
                suite.label
            ))
        };
        let listening = server_of(&mut self.servers, backend, key, Role::Ours)?;
        let warm = measure::bulk(&ours_connector, listening, request(direction, 8 << 20))
            .await
            .map_err(|err| failed("ours", err))?;
        nginx_transfer(&http, nginx_addr, nginx_pid, direction, 8 << 20)
            .await
            .map_err(|err| failed("nginx", err))?;
        let bytes = bytes_for(warm.per_s, self.options.bulk_window)
            .div_ceil(super::nginx::BULK_FILE)
            * super::nginx::BULK_FILE;
        let mut wall: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..self.options.rounds {
            for role in order(round) {
                let side = side_index(role);
                let sample = if side == 0 {
                    let listening = server_of(&mut self.servers, backend, key, Role::Ours)?;
                    measure::bulk(&ours_connector, listening, request(direction, bytes))
                        .await
                        .map_err(|err| failed("ours", err))?
                } else {
                    nginx_transfer(&http, nginx_addr, nginx_pid, direction, bytes)
                        .await
                        .map_err(|err| failed("nginx", err))?
                };
                wall[side].push(sample.per_s / 1e6);
                cpu[side].push(sample.per_cpu_s.map_or(f64::NAN, |v| v / 1e6));
            }
        }
        let note = match direction {
            Direction::ServerWrites => format!(
                "raw = nginx serving GET /bulk ({} MiB from tmpfs, repeated on one connection)",
                super::nginx::BULK_FILE >> 20
            ),
            Direction::ServerReads => {
                "raw = nginx discarding one POST body (`return 204`)".to_owned()
            }
        };
        Ok(Row::from_samples(
            backend.name(),
            format!("nginx_bulk_{}_{}", suite.id, direction.id()),
            format!(
                "vs nginx: bulk {} {}, {}",
                suite.label,
                version_id(suite.version).1,
                direction_label(direction)
            ),
            "MB/s",
            true,
            wall,
        )
        .with_per_cpu("MB/CPU-s", cpu)
        .with_note(Some(note)))
    }

    #[cfg(not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")))]
    async fn nginx_handshakes(
        &self,
        _: Backend,
        _: TlsVersion,
        _: KeyType,
    ) -> Result<Row, BenchError> {
        Err(BenchError::new("nginx rows need a rustls client"))
    }

    #[cfg(not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")))]
    async fn nginx_bulk(&mut self, _: Backend, _: Suite, _: Direction) -> Result<Row, BenchError> {
        Err(BenchError::new("nginx rows need a rustls client"))
    }

    /// Starts (once) ours and raw servers of `backend` with the `key` certificate.
    fn ensure_servers(&mut self, backend: Backend, key: KeyType) -> Result<(), BenchError> {
        let identity = self
            .certs
            .get(key)
            .map_err(|why| BenchError::new(why.to_owned()))?;
        for role in [Role::Ours, Role::Raw] {
            if self.servers.contains_key(&(backend, key, role)) {
                continue;
            }
            let engine = Engine::build(backend, role, identity)?;
            let listening = Listening::start(self.server.handle(), engine)?;
            self.servers.insert((backend, key, role), listening);
        }
        Ok(())
    }

    /// Starts (once) the `serve` listener of `backend` with the `key` certificate.
    fn ensure_listener(&mut self, backend: Backend, key: KeyType) -> Result<(), BenchError> {
        if self.servers.contains_key(&(backend, key, Role::Listener)) {
            return Ok(());
        }
        let identity = self
            .certs
            .get(key)
            .map_err(|why| BenchError::new(why.to_owned()))?;
        let engine = Engine::build(backend, Role::Listener, identity)?;
        let listening = Listening::start(self.server.handle(), engine)?;
        self.servers
            .insert((backend, key, Role::Listener), listening);
        Ok(())
    }

    fn addr(
        &self,
        backend: Backend,
        key: KeyType,
        role: Role,
    ) -> Result<std::net::SocketAddr, BenchError> {
        self.servers
            .get(&(backend, key, role))
            .map(|listening| listening.addr)
            .ok_or_else(|| BenchError::new(format!("no {} server for {backend}", role.name())))
    }

    async fn handshakes(
        &self,
        backend: Backend,
        version: TlsVersion,
        key: KeyType,
        resume: bool,
    ) -> Result<Row, BenchError> {
        self.handshakes_of(Role::Ours, backend, version, key, resume)
            .await
    }

    /// Handshakes of `ours` (our layer, or the `serve` listener) against raw.
    async fn handshakes_of(
        &self,
        ours: Role,
        backend: Backend,
        version: TlsVersion,
        key: KeyType,
        resume: bool,
    ) -> Result<Row, BenchError> {
        let spec = ClientSpec {
            version,
            suite: None,
            resume,
        };
        // One client config (and so one session cache) per side.
        let connectors = [
            Connector::new(Some(backend), spec)?,
            Connector::new(Some(backend), spec)?,
        ];
        let addrs = [
            self.addr(backend, key, ours)?,
            self.addr(backend, key, Role::Raw)?,
        ];
        let window = self.options.handshake_window;
        let concurrency = self.options.handshake_concurrency;
        // Warm up both (and fill the session caches).
        for (side, (connector, addr)) in connectors.iter().zip(addrs).enumerate() {
            let warm = measure::handshakes(
                connector,
                addr,
                Cpu::Thread(&self.server),
                window / 3,
                concurrency,
            )
            .await;
            check(&warm, backend, side_role(side))?;
        }
        let mut samples: [Vec<HandshakeSample>; 2] = [Vec::new(), Vec::new()];
        for round in 0..self.options.rounds {
            for role in order(round) {
                let side = side_index(role);
                let sample = measure::handshakes(
                    &connectors[side],
                    addrs[side],
                    Cpu::Thread(&self.server),
                    window,
                    concurrency,
                )
                .await;
                check(&sample, backend, role)?;
                samples[side].push(sample);
            }
        }
        let (vid, vlabel) = version_id(version);
        let kind = if resume { "resumed" } else { "full" };
        let metric = if resume {
            format!("handshake_resumed_{vid}")
        } else {
            format!("handshake_full_{vid}_{}", key.id())
        };
        let mut label = if resume {
            format!("resumed handshake, {vlabel}")
        } else {
            format!("{kind} handshake, {vlabel}, {}", key.label())
        };
        let metric = if ours == Role::Listener {
            label = format!("serve listener: {label}");
            format!("listener_{metric}")
        } else {
            metric
        };
        let resumed = |side: &[HandshakeSample]| {
            let completed: u64 = side.iter().map(|s| s.completed).sum();
            let resumed: u64 = side.iter().map(|s| s.resumed).sum();
            100.0 * resumed as f64 / completed.max(1) as f64
        };
        let (ours_resumed, raw_resumed) = (resumed(&samples[0]), resumed(&samples[1]));
        let note = if resume {
            Some(format!(
                "sessions resumed: ours {ours_resumed:.0}%, raw {raw_resumed:.0}%"
            ))
        } else if ours_resumed > 0.0 || raw_resumed > 0.0 {
            Some(format!(
                "unexpected resumptions: ours {ours_resumed:.0}%, raw {raw_resumed:.0}%"
            ))
        } else {
            None
        };
        Ok(rate_row(
            backend, metric, label, "hs/s", "hs/CPU-s", &samples, note,
        ))
    }

    async fn latency(&self, backend: Backend) -> Result<Vec<Row>, BenchError> {
        let version = *Engine::versions(backend)
            .last()
            .unwrap_or(&TlsVersion::Tls12);
        let spec = ClientSpec {
            version,
            suite: None,
            resume: false,
        };
        let connector = Connector::new(Some(backend), spec)?;
        let key = KeyType::EcdsaP256;
        let addrs = [
            self.addr(backend, key, Role::Ours)?,
            self.addr(backend, key, Role::Raw)?,
        ];
        let concurrency = self.options.latency_concurrency;
        let window = self.options.handshake_window * 2;
        let mut p50: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut p99: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..self.options.rounds {
            for role in order(round) {
                let side = side_index(role);
                let mut sample = measure::handshakes(
                    &connector,
                    addrs[side],
                    Cpu::Thread(&self.server),
                    window,
                    concurrency,
                )
                .await;
                check(&sample, backend, role)?;
                let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
                p50[side].push(ms(percentile(&mut sample.latencies, 50.0)));
                p99[side].push(ms(percentile(&mut sample.latencies, 99.0)));
            }
        }
        let (_, vlabel) = version_id(version);
        let row = |which: &str, values: [Vec<f64>; 2]| {
            Row::from_samples(
                backend.name(),
                format!("latency_{which}_c{concurrency}"),
                format!("handshake latency {which}, {concurrency} at once, {vlabel}"),
                "ms",
                false,
                values,
            )
        };
        Ok(vec![row("p50", p50), row("p99", p99)])
    }

    async fn records(&self, backend: Backend, direction: Direction) -> Result<Row, BenchError> {
        let identity = &self.certs.ecdsa;
        let failed = |role: Role, err: std::io::Error| {
            BenchError::new(format!(
                "{backend} ({}) in-memory transfer: {err}",
                role.name()
            ))
        };
        // Warm up both and calibrate the size on ours.
        let probe = 8u64 << 20;
        let mut rate = 0.0;
        for role in [Role::Ours, Role::Raw] {
            let mut pair = InMemory::connect(backend, role, identity).await?;
            let start = Instant::now();
            pair.transfer(direction, probe)
                .await
                .map_err(|err| failed(role, err))?;
            if role == Role::Ours {
                rate = probe as f64 / start.elapsed().as_secs_f64();
            }
        }
        let bytes = bytes_for(rate, self.options.records_window);
        let mut wall: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..self.options.rounds {
            for role in order(round) {
                let side = side_index(role);
                // A fresh pair each round: where its buffers land in memory can matter by a few
                // per cent, and should not stick to one side for a whole figure.
                let mut pair = InMemory::connect(backend, role, identity).await?;
                let cpu_before = thread_cpu();
                let start = Instant::now();
                pair.transfer(direction, bytes)
                    .await
                    .map_err(|err| failed(role, err))?;
                wall[side].push(bytes as f64 / start.elapsed().as_secs_f64() / 1e6);
                cpu[side].push(match (cpu_before, thread_cpu()) {
                    (Some(before), Some(after)) if after > before => {
                        bytes as f64 / (after - before).as_secs_f64() / 1e6
                    }
                    _ => f64::NAN,
                });
            }
        }
        let (_, _, suite) = records::suite(backend);
        Ok(Row::from_samples(
            backend.name(),
            format!("records_{}", direction.id()),
            format!("in-memory records, {}", direction_label(direction)),
            "MB/s",
            true,
            wall,
        )
        .with_per_cpu("MB/CPU-s", cpu)
        .with_note(Some(format!(
            "{suite} over tokio::io::duplex, {} MiB per sample, client and server on one thread",
            bytes >> 20
        ))))
    }

    async fn memory(&self, backend: Backend) -> Result<Option<Row>, BenchError> {
        let Some(exe) = &self.options.probe_exe else {
            return Err(BenchError::new(
                "memory probes need the tls-policy executable (run through `tls-policy bench`)",
            ));
        };
        let connections = self.options.memory_connections;
        let mut kib: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut notes = Vec::new();
        let mut held = connections;
        for round in 0..self.options.memory_rounds.max(1) {
            for role in order(round) {
                let result = spawn_probe(exe, ProbeTarget::Tls(backend, role), connections).await?;
                held = held.min(result.connections);
                if let Some(note) = result.note {
                    notes.push(note);
                }
                kib[side_index(role)].push(result.bytes_per_connection / 1024.0);
            }
        }
        let [ours, raw] = kib;
        let (ours, raw) = (Stat::new(ours), Stat::new(raw));
        notes.insert(
            0,
            format!(
                "{held} idle connections; the server process's RSS growth per connection{}",
                if held < 10_000 {
                    "; fewer than the 10,000 of a full run"
                } else {
                    ""
                }
            ),
        );
        notes.dedup();
        Ok(Some(Row {
            backend: backend.name().to_owned(),
            metric: "idle_memory".to_owned(),
            label: "memory per idle connection".to_owned(),
            unit: "KiB/conn".to_owned(),
            higher_is_better: false,
            ratio: ours.median / raw.median,
            ours,
            raw,
            per_cpu: None,
            note: Some(notes.join("; ")),
        }))
    }

    async fn tcp_connect(&mut self) -> Result<Ceiling, BenchError> {
        let listening = Listening::start(self.server.handle(), Engine::Tcp)?;
        let connector = Connector::new(None, tcp_spec())?;
        let window = self.options.handshake_window;
        let concurrency = self.options.handshake_concurrency;
        let _ = measure::handshakes(
            &connector,
            listening.addr,
            Cpu::Thread(&self.server),
            window / 3,
            concurrency,
        )
        .await;
        let mut rates = Vec::new();
        let mut cpu = Vec::new();
        for _ in 0..self.options.rounds {
            let sample = measure::handshakes(
                &connector,
                listening.addr,
                Cpu::Thread(&self.server),
                window,
                concurrency,
            )
            .await;
            if sample.completed == 0 {
                return Err(BenchError::new(format!(
                    "plain TCP: no connection completed ({})",
                    sample.first_error.unwrap_or_default()
                )));
            }
            rates.push(sample.per_s);
            cpu.push(sample.per_cpu_s.unwrap_or(f64::NAN));
        }
        Ok(Ceiling {
            metric: "tcp_connect".to_owned(),
            label: "connections (connect + 1 byte)".to_owned(),
            unit: "conn/s".to_owned(),
            value: Stat::new(rates),
            per_cpu: Some(("conn/CPU-s".to_owned(), Stat::new(cpu))),
        })
    }

    async fn tcp_bulk(&mut self, direction: Direction) -> Result<Ceiling, BenchError> {
        let mut listening = Listening::start(self.server.handle(), Engine::Tcp)?;
        let connector = Connector::new(None, tcp_spec())?;
        let warm = measure::bulk(&connector, &mut listening, request(direction, 8 << 20))
            .await
            .map_err(BenchError::new)?;
        let bytes = bytes_for(warm.per_s, self.options.bulk_window);
        let mut rates = Vec::new();
        let mut cpu = Vec::new();
        for _ in 0..self.options.rounds {
            let sample = measure::bulk(&connector, &mut listening, request(direction, bytes))
                .await
                .map_err(BenchError::new)?;
            rates.push(sample.per_s / 1e6);
            cpu.push(sample.per_cpu_s.map_or(f64::NAN, |v| v / 1e6));
        }
        Ok(Ceiling {
            metric: format!("tcp_bulk_{}", direction.id()),
            label: format!("bulk {}", direction_label(direction)),
            unit: "MB/s".to_owned(),
            value: Stat::new(rates),
            per_cpu: Some(("MB/CPU-s".to_owned(), Stat::new(cpu))),
        })
    }

    async fn tcp_memory(&self) -> Result<Option<Ceiling>, BenchError> {
        let Some(exe) = &self.options.probe_exe else {
            return Ok(None);
        };
        let connections = self.options.memory_connections;
        let mut kib = Vec::new();
        for _ in 0..self.options.memory_rounds.max(1) {
            let result = spawn_probe(exe, ProbeTarget::Tcp, connections).await?;
            kib.push(result.bytes_per_connection / 1024.0);
        }
        Ok(Some(Ceiling {
            metric: "tcp_idle_memory".to_owned(),
            label: "memory per idle connection (socket registration)".to_owned(),
            unit: "KiB/conn".to_owned(),
            value: Stat::new(kib),
            per_cpu: None,
        }))
    }
}

async fn bulk_row(
    options: &Options,
    servers: &mut HashMap<(Backend, KeyType, Role), Listening>,
    backend: Backend,
    suite: Suite,
    direction: Direction,
) -> Result<Row, BenchError> {
    bulk_row_of(Role::Ours, options, servers, backend, suite, direction).await
}

/// Bulk through `ours` (our layer, or the `serve` listener) against raw.
async fn bulk_row_of(
    ours_role: Role,
    options: &Options,
    servers: &mut HashMap<(Backend, KeyType, Role), Listening>,
    backend: Backend,
    suite: Suite,
    direction: Direction,
) -> Result<Row, BenchError> {
    let spec = ClientSpec {
        version: suite.version,
        suite: Some(suite.code),
        resume: false,
    };
    let connector = Connector::new(Some(backend), spec)?;
    let key = KeyType::EcdsaP256;
    let failed = |role: Role, err: String| {
        BenchError::new(format!(
            "{backend} ({}) {}: {err}",
            role.name(),
            suite.label
        ))
    };
    // Warm up both and calibrate the size on ours.
    let mut rate = 0.0;
    let serving = |role: Role| if role == Role::Ours { ours_role } else { role };
    for role in [Role::Ours, Role::Raw] {
        let listening = server_of(servers, backend, key, serving(role))?;
        let warm = measure::bulk(&connector, listening, request(direction, 8 << 20))
            .await
            .map_err(|err| failed(serving(role), err))?;
        if role == Role::Ours {
            rate = warm.per_s;
        }
    }
    let bytes = bytes_for(rate, options.bulk_window);
    let mut wall: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..options.rounds {
        for role in order(round) {
            let listening = server_of(servers, backend, key, serving(role))?;
            let sample = measure::bulk(&connector, listening, request(direction, bytes))
                .await
                .map_err(|err| failed(role, err))?;
            let side = side_index(role);
            wall[side].push(sample.per_s / 1e6);
            cpu[side].push(sample.per_cpu_s.map_or(f64::NAN, |v| v / 1e6));
        }
    }
    let listener = ours_role == Role::Listener;
    Ok(Row::from_samples(
        backend.name(),
        format!(
            "{}bulk_{}_{}",
            if listener { "listener_" } else { "" },
            suite.id,
            direction.id()
        ),
        format!(
            "{}bulk {} {}, {}",
            if listener { "serve listener: " } else { "" },
            suite.label,
            version_id(suite.version).1,
            direction_label(direction)
        ),
        "MB/s",
        true,
        wall,
    )
    .with_per_cpu("MB/CPU-s", cpu))
}

/// One transfer with nginx on a fresh connection (handshake and a first `GET /hs` outside the
/// timed part): bytes per wall-clock second and per second of nginx's CPU time.
#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
async fn nginx_transfer(
    connector: &Connector,
    addr: std::net::SocketAddr,
    pid: u32,
    direction: Direction,
    bytes: u64,
) -> Result<measure::BulkSample, String> {
    let Connector::RustlsHttp(tls, name) = connector else {
        return Err("not an HTTP client".to_owned());
    };
    let budget = measure::STEP_TIMEOUT * 3;
    let run = async {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let mut stream = tls.connect(name.clone(), tcp).await?;
        super::nginx::small_request(&mut stream, false).await?;
        let before = super::nginx::process_cpu(pid);
        let start = Instant::now();
        let moved = match direction {
            Direction::ServerWrites => super::nginx::download(&mut stream, bytes).await?,
            Direction::ServerReads => super::nginx::upload(&mut stream, bytes).await?,
        };
        let elapsed = start.elapsed();
        let after = super::nginx::process_cpu(pid);
        Ok::<_, std::io::Error>((moved, elapsed, before, after))
    };
    let (moved, elapsed, before, after) = tokio::time::timeout(budget, run)
        .await
        .map_err(|_| format!("transfer of {bytes} bytes took over {budget:?}"))?
        .map_err(|err| format!("transfer of {bytes} bytes failed: {err}"))?;
    let moved = moved as f64;
    Ok(measure::BulkSample {
        per_s: moved / elapsed.as_secs_f64().max(1e-9),
        per_cpu_s: match (before, after) {
            (Some(before), Some(after)) if after > before => {
                Some(moved / (after - before).as_secs_f64())
            }
            _ => None,
        },
    })
}

fn server_of(
    servers: &mut HashMap<(Backend, KeyType, Role), Listening>,
    backend: Backend,
    key: KeyType,
    role: Role,
) -> Result<&mut Listening, BenchError> {
    servers
        .get_mut(&(backend, key, role))
        .ok_or_else(|| BenchError::new(format!("no {} server for {backend}", role.name())))
}

fn request(direction: Direction, bytes: u64) -> Request {
    match direction {
        Direction::ServerWrites => Request::ServerSends(bytes),
        Direction::ServerReads => Request::ServerReceives(bytes),
    }
}

fn tcp_spec() -> ClientSpec {
    ClientSpec {
        version: TlsVersion::Tls13,
        suite: None,
        resume: false,
    }
}

fn side_index(role: Role) -> usize {
    match role {
        Role::Ours | Role::Listener => 0,
        Role::Raw => 1,
    }
}

fn side_role(side: usize) -> Role {
    if side == 0 {
        Role::Ours
    } else {
        Role::Raw
    }
}

/// Refuses a window in which nothing completed, or where failures were common.
fn check(sample: &HandshakeSample, backend: Backend, role: Role) -> Result<(), BenchError> {
    if sample.completed == 0 || sample.errors * 10 > sample.completed {
        return Err(BenchError::new(format!(
            "{backend} ({}): {} handshakes completed, {} failed{}",
            role.name(),
            sample.completed,
            sample.errors,
            sample
                .first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        )));
    }
    Ok(())
}

fn rate_row(
    backend: Backend,
    metric: String,
    label: String,
    unit: &str,
    cpu_unit: &str,
    samples: &[Vec<HandshakeSample>; 2],
    note: Option<String>,
) -> Row {
    let wall = |side: usize| samples[side].iter().map(|s| s.per_s).collect();
    let cpu = |side: usize| {
        samples[side]
            .iter()
            .map(|s| s.per_cpu_s.unwrap_or(f64::NAN))
            .collect()
    };
    Row::from_samples(
        backend.name(),
        metric,
        label,
        unit,
        true,
        [wall(0), wall(1)],
    )
    .with_per_cpu(cpu_unit, [cpu(0), cpu(1)])
    .with_note(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_covers_every_backend() {
        let options = Options::quick();
        let jobs = plan(&options);
        for backend in Backend::compiled() {
            let count = jobs
                .iter()
                .filter(|job| job.label().starts_with(backend.name()))
                .count();
            // rustls: 4 full + 2 resumed + latency + 6 bulk + 2 records + 2 + 2 listener
            // + 4 in-memory handshakes (+ 2 + 2 against nginx, quick) + memory = 24 (28);
            // openssl: the same without the rustls-only in-memory and nginx jobs = 20;
            // native-tls (TLS 1.2 only): 2 + 1 + 1 + 6 + 2 + 1 + 2 + 1 = 16.
            let nginx = if options.nginx.is_some() { 4 } else { 0 };
            let expected = match (is_rustls(*backend), backend.capabilities().tls13) {
                (true, _) => 24 + nginx,
                (false, true) => 20,
                (false, false) => 16,
            };
            assert_eq!(count, expected, "{backend}");
        }
        assert!(matches!(jobs.last(), Some(Job::TcpMemory)));
        assert_eq!(order(0), [Role::Ours, Role::Raw]);
        assert_eq!(order(1), [Role::Raw, Role::Ours]);
    }
}
