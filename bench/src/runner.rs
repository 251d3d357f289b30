//! The whole run: which figures for which backends, each measured ours and raw alternately over several rounds.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use super::client::{ClientSpec, Connector};
use super::cpu::Machine;
use super::measure::{self, bytes_for, percentile, HandshakeSample};
use super::memory::{spawn_probe, ProbeTarget};
use super::pki::{Certificates, KeyType};
use super::protocol::Request;
use super::records::{self, Direction, InMemory};
use super::report::{BackendInfo, Ceiling, PerCpu, Report, Row, Settings, Stat};
use super::server::{Engine, Listening, Role, ServerThread};
use super::sys::{pin_to_cpu, thread_cpu};
use super::BenchError;
use tls_policy::{Backend, TlsVersion};

/// How much to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// `quick` (under a minute) or `full`: only names the run in the report.
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
}

impl Options {
    /// The quick run: under a minute on two cores; 1,000 idle connections.
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
        }
    }
}

/// Every figure for `backends`, grouped by backend, then the plain-TCP ceilings.
fn plan(options: &Options) -> Vec<Job> {
    let mut jobs = Vec::new();
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
        jobs.push(Job::Memory { backend });
    }
    jobs.push(Job::TcpConnect);
    for direction in Direction::BOTH {
        jobs.push(Job::TcpBulk { direction });
    }
    jobs.push(Job::TcpMemory);
    jobs
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
    let mut bench = Bench {
        options,
        certs,
        server,
        servers: HashMap::new(),
        notes: Vec::new(),
    };
    if let Err(why) = &bench.certs.rsa {
        bench.notes.push(format!("RSA-2048 rows skipped: {why}"));
    }
    let jobs = plan(options);
    progress.begin(jobs.len() as u64);
    let mut rows = Vec::new();
    let mut ceilings = Vec::new();
    for job in jobs {
        progress.step(&job.label());
        match bench.job(&runtime, job) {
            Ok(Some(Outcome::Rows(mut new))) => rows.append(&mut new),
            Ok(Some(Outcome::Ceiling(ceiling))) => ceilings.push(ceiling),
            Ok(None) => {}
            Err(err) => bench.notes.push(format!("{} failed: {err}", job.label())),
        }
        // Servers of a finished backend are not needed again.
        if let Job::Memory { backend } = job {
            bench.servers.retain(|(b, _, _), _| *b != backend);
        }
    }
    drop(bench.servers);
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
        },
        rows,
        ceilings,
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
            "tokio-rustls, same provider",
        ),
        "rustls-ring" => (
            "rustls 0.23 with the ring provider",
            "tokio-rustls, same provider",
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
    }
}

struct Bench<'a> {
    options: &'a Options,
    certs: Certificates,
    server: ServerThread,
    servers: HashMap<(Backend, KeyType, Role), Listening>,
    notes: Vec<String>,
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
        }
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
            self.addr(backend, key, Role::Ours)?,
            self.addr(backend, key, Role::Raw)?,
        ];
        let window = self.options.handshake_window;
        let concurrency = self.options.handshake_concurrency;
        // Warm up both (and fill the session caches).
        for (side, (connector, addr)) in connectors.iter().zip(addrs).enumerate() {
            let warm =
                measure::handshakes(connector, addr, &self.server, window / 3, concurrency).await;
            check(&warm, backend, side_role(side))?;
        }
        let mut samples: [Vec<HandshakeSample>; 2] = [Vec::new(), Vec::new()];
        for round in 0..self.options.rounds {
            for role in order(round) {
                let side = side_index(role);
                let sample = measure::handshakes(
                    &connectors[side],
                    addrs[side],
                    &self.server,
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
        let label = if resume {
            format!("resumed handshake, {vlabel}")
        } else {
            format!("{kind} handshake, {vlabel}, {}", key.label())
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
                let mut sample =
                    measure::handshakes(&connector, addrs[side], &self.server, window, concurrency)
                        .await;
                check(&sample, backend, role)?;
                let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
                p50[side].push(ms(percentile(&mut sample.latencies, 50.0)));
                p99[side].push(ms(percentile(&mut sample.latencies, 99.0)));
            }
        }
        let (_, vlabel) = version_id(version);
        let row = |which: &str, values: [Vec<f64>; 2]| {
            let [ours, raw] = values;
            let (ours, raw) = (Stat::new(ours), Stat::new(raw));
            Row {
                backend: backend.name().to_owned(),
                metric: format!("latency_{which}_c{concurrency}"),
                label: format!("handshake latency {which}, {concurrency} at once, {vlabel}"),
                unit: "ms".to_owned(),
                higher_is_better: false,
                ratio: ours.median / raw.median,
                ours,
                raw,
                per_cpu: None,
                note: None,
            }
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
        let [ours, raw] = wall;
        let (ours, raw) = (Stat::new(ours), Stat::new(raw));
        let [ours_cpu, raw_cpu] = cpu;
        let (ours_cpu, raw_cpu) = (Stat::new(ours_cpu), Stat::new(raw_cpu));
        let (_, _, suite) = records::suite(backend);
        Ok(Row {
            backend: backend.name().to_owned(),
            metric: format!("records_{}", direction.id()),
            label: format!("in-memory records, {}", direction_label(direction)),
            unit: "MB/s".to_owned(),
            higher_is_better: true,
            ratio: ours.median / raw.median,
            ours,
            raw,
            per_cpu: Some(PerCpu {
                unit: "MB/CPU-s".to_owned(),
                ratio: ours_cpu.median / raw_cpu.median,
                ours: ours_cpu,
                raw: raw_cpu,
            }),
            note: Some(format!(
                "{suite} over tokio::io::duplex, {} MiB per sample, client and server on one thread",
                bytes >> 20
            )),
        })
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
            &self.server,
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
                &self.server,
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
    for role in [Role::Ours, Role::Raw] {
        let listening = server_of(servers, backend, key, role)?;
        let warm = measure::bulk(&connector, listening, request(direction, 8 << 20))
            .await
            .map_err(|err| failed(role, err))?;
        if role == Role::Ours {
            rate = warm.per_s;
        }
    }
    let bytes = bytes_for(rate, options.bulk_window);
    let mut wall: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..options.rounds {
        for role in order(round) {
            let listening = server_of(servers, backend, key, role)?;
            let sample = measure::bulk(&connector, listening, request(direction, bytes))
                .await
                .map_err(|err| failed(role, err))?;
            let side = side_index(role);
            wall[side].push(sample.per_s / 1e6);
            cpu[side].push(sample.per_cpu_s.map_or(f64::NAN, |v| v / 1e6));
        }
    }
    let [ours, raw] = wall;
    let (ours, raw) = (Stat::new(ours), Stat::new(raw));
    let [ours_cpu, raw_cpu] = cpu;
    let (ours_cpu, raw_cpu) = (Stat::new(ours_cpu), Stat::new(raw_cpu));
    Ok(Row {
        backend: backend.name().to_owned(),
        metric: format!("bulk_{}_{}", suite.id, direction.id()),
        label: format!(
            "bulk {} {}, {}",
            suite.label,
            version_id(suite.version).1,
            direction_label(direction)
        ),
        unit: "MB/s".to_owned(),
        higher_is_better: true,
        ratio: ours.median / raw.median,
        ours,
        raw,
        per_cpu: Some(PerCpu {
            unit: "MB/CPU-s".to_owned(),
            ratio: ours_cpu.median / raw_cpu.median,
            ours: ours_cpu,
            raw: raw_cpu,
        }),
        note: None,
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
        Role::Ours => 0,
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
    let wall = |side: usize| Stat::new(samples[side].iter().map(|s| s.per_s).collect());
    let cpu = |side: usize| {
        Stat::new(
            samples[side]
                .iter()
                .map(|s| s.per_cpu_s.unwrap_or(f64::NAN))
                .collect(),
        )
    };
    let (ours, raw) = (wall(0), wall(1));
    let (ours_cpu, raw_cpu) = (cpu(0), cpu(1));
    Row {
        backend: backend.name().to_owned(),
        metric,
        label,
        unit: unit.to_owned(),
        higher_is_better: true,
        ratio: ours.median / raw.median,
        ours,
        raw,
        per_cpu: Some(PerCpu {
            unit: cpu_unit.to_owned(),
            ratio: ours_cpu.median / raw_cpu.median,
            ours: ours_cpu,
            raw: raw_cpu,
        }),
        note,
    }
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
            // rustls: 4 full + 2 resumed + latency + 6 bulk + 2 records + memory = 16;
            // native-tls (TLS 1.2 only): 2 + 1 + 1 + 6 + 2 + 1 = 13.
            let expected = if backend.capabilities().tls13 { 16 } else { 13 };
            assert_eq!(count, expected, "{backend}");
        }
        assert!(matches!(jobs.last(), Some(Job::TcpMemory)));
        assert_eq!(order(0), [Role::Ours, Role::Raw]);
        assert_eq!(order(1), [Role::Raw, Role::Ours]);
    }
}
