//! The benchmark's results: every figure, the ours/raw comparisons, the targets, and the table people read.

use std::fmt::Write as _;

use serde::Serialize;

use super::cpu::Machine;
use super::measure::median;

/// Handshakes and bulk throughput through our layer: at least this fraction of raw.
pub const TARGET_NETWORK_RATIO: f64 = 0.97;
/// In-memory record encryption through our abstraction: at least this fraction of raw.
pub const TARGET_RECORDS_RATIO: f64 = 0.95;
/// Full handshakes per server CPU-second through our layer: at least this many times nginx's.
pub const TARGET_NGINX_HANDSHAKES: f64 = 2.0;
/// Memory per idle rustls connection through our layer: at most this many KiB.
pub const TARGET_IDLE_KIB: f64 = 24.0;

/// A figure's samples (one per round) and their median.
#[derive(Clone, Debug, Serialize)]
pub struct Stat {
    /// The median of `samples`.
    pub median: f64,
    /// One value per round, in the order measured.
    pub samples: Vec<f64>,
}

impl Stat {
    /// The median of `samples`.
    pub fn new(samples: Vec<f64>) -> Stat {
        Stat {
            median: median(&samples),
            samples,
        }
    }
}

/// The same figure normalised by the server thread's CPU time.
#[derive(Clone, Debug, Serialize)]
pub struct PerCpu {
    /// Its unit (`handshakes/CPU-s`, `MB/CPU-s`).
    pub unit: String,
    /// Through our layer.
    pub ours: Stat,
    /// The library used directly.
    pub raw: Stat,
    /// `ours.median / raw.median`.
    pub ratio: f64,
}

/// One figure of one backend, through our layer and raw.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The backend's name.
    pub backend: String,
    /// A stable identifier (`handshake_full_tls13_ecdsa_p256`, `bulk_aes128gcm_server_writes`, ...).
    pub metric: String,
    /// What people read (`full handshake, TLS 1.3, ECDSA P-256`).
    pub label: String,
    /// The unit of `ours` and `raw`.
    pub unit: String,
    /// Whether a larger value is better (throughput) or worse (latency, memory).
    pub higher_is_better: bool,
    /// Through our layer.
    pub ours: Stat,
    /// The library used directly.
    pub raw: Stat,
    /// `ours.median / raw.median`.
    pub ratio: f64,
    /// The figure per second of server CPU time, where it has one.
    pub per_cpu: Option<PerCpu>,
    /// Anything a reader should know (resumption rates, connection counts).
    pub note: Option<String>,
}

impl PerCpu {
    /// The figure per second of server CPU in `unit`, from `[ours, raw]` samples.
    pub fn from_samples(unit: &str, [ours, raw]: [Vec<f64>; 2]) -> PerCpu {
        let (ours, raw) = (Stat::new(ours), Stat::new(raw));
        PerCpu {
            unit: unit.to_owned(),
            ratio: ours.median / raw.median,
            ours,
            raw,
        }
    }
}

impl Row {
    /// A figure of `backend` from `[ours, raw]` samples in `unit`, with its ratio; no per-CPU
    /// figure and no note yet.
    pub fn from_samples(
        backend: &str,
        metric: String,
        label: String,
        unit: &str,
        higher_is_better: bool,
        [ours, raw]: [Vec<f64>; 2],
    ) -> Row {
        let (ours, raw) = (Stat::new(ours), Stat::new(raw));
        Row {
            backend: backend.to_owned(),
            metric,
            label,
            unit: unit.to_owned(),
            higher_is_better,
            ratio: ours.median / raw.median,
            ours,
            raw,
            per_cpu: None,
            note: None,
        }
    }

    /// The same figure per second of server CPU in `unit`, from `[ours, raw]` samples.
    pub fn with_per_cpu(mut self, unit: &str, samples: [Vec<f64>; 2]) -> Row {
        self.per_cpu = Some(PerCpu::from_samples(unit, samples));
        self
    }

    /// What a reader should know about the figure.
    pub fn with_note(mut self, note: Option<String>) -> Row {
        self.note = note;
        self
    }
}

/// A plain-TCP figure: the I/O ceiling of this machine's loopback.
#[derive(Clone, Debug, Serialize)]
pub struct Ceiling {
    /// A stable identifier (`tcp_connect`, `tcp_bulk_server_writes`, `tcp_idle_memory`).
    pub metric: String,
    /// What people read.
    pub label: String,
    /// The unit.
    pub unit: String,
    /// The value.
    pub value: Stat,
    /// Per server CPU-second, where it applies: its unit and value.
    pub per_cpu: Option<(String, Stat)>,
}

/// A figure as a share of its physical limit on this machine.
#[derive(Clone, Debug, Serialize)]
pub struct Share {
    /// The backend's name.
    pub backend: String,
    /// The figure (`bulk_aes128gcm_server_writes`, `handshake_full_tls13_ecdsa_p256`).
    pub metric: String,
    /// The limit per server CPU-second: `1 / (1/a + 1/b)` of its two terms.
    pub limit: f64,
    /// The limit's unit (`MB/CPU-s`, `hs/CPU-s`).
    pub unit: String,
    /// The two terms, named with their values.
    pub terms: String,
    /// Ours per CPU-second over the limit.
    pub ours: f64,
    /// Raw per CPU-second over the limit.
    pub raw: f64,
}

/// The absolute figures a user chooses a backend by, side by side (per server CPU-second for
/// rates; KiB per idle connection).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Figures {
    /// The columns: each backend through our layer and raw, then nginx and plain TCP.
    pub columns: Vec<String>,
    /// One line per figure.
    pub rows: Vec<FigureRow>,
}

/// One figure across [`Figures::columns`].
#[derive(Clone, Debug, Serialize)]
pub struct FigureRow {
    /// What it is (`full handshakes, TLS 1.3, ECDSA P-256`).
    pub label: String,
    /// Its unit (`hs/CPU-s`, `MB/CPU-s`, `KiB/conn`).
    pub unit: String,
    /// Whether more is better.
    pub higher_is_better: bool,
    /// One value per column (`NaN`, serialised as `null`, where not measured).
    pub values: Vec<Option<f64>>,
}

/// One ours-against-raw comparison: the array the chart and CI read.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The backend's name.
    pub backend: String,
    /// The figure (`..._per_cpu` for the CPU-normalised one).
    pub metric: String,
    /// Through our layer (median).
    pub ours: f64,
    /// The library used directly (median).
    pub raw: f64,
    /// `ours / raw`.
    pub ratio: f64,
    /// The unit of `ours` and `raw`.
    pub unit: String,
    /// Whether a larger value is better.
    pub higher_is_better: bool,
}

/// Whether one of the targets was met in this run.
#[derive(Clone, Debug, Serialize)]
pub struct TargetCheck {
    /// The target (`handshakes: ours/raw >= 0.97`).
    pub target: String,
    /// How many figures it applies to in this run.
    pub checked: usize,
    /// Whether all of them meet it (vacuously true when none were measured).
    pub met: bool,
    /// The figure furthest from it: `backend`, `metric`, value.
    pub worst: Option<(String, String, f64)>,
}

/// Which backend was measured with what.
#[derive(Clone, Debug, Serialize)]
pub struct BackendInfo {
    /// The backend's name.
    pub name: String,
    /// The TLS library and crypto provider behind it.
    pub library: String,
    /// What "raw" means for it.
    pub raw: String,
    /// The load-generating client used against it.
    pub client: String,
    /// Which implementation seals "ours"' records (rustls backends, `dbms.ssl.record_cipher`
    /// at its default `fastest`) and why; `None` for native-tls.
    pub record_aead: Option<String>,
}

/// How the run was set up.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// `quick` or `full`.
    pub mode: &'static str,
    /// Rounds per figure (ours and raw alternate within each).
    pub rounds: usize,
    /// Length of each handshake window, ms.
    pub handshake_window_ms: u128,
    /// Target length of each bulk transfer, ms.
    pub bulk_window_ms: u128,
    /// Target length of each in-memory transfer, ms.
    pub records_window_ms: u128,
    /// Clients handshaking at once for the handshake rates.
    pub handshake_concurrency: usize,
    /// Clients handshaking at once for the latency percentiles.
    pub latency_concurrency: usize,
    /// Idle connections held for the memory figure.
    pub memory_connections: usize,
    /// Whether the server thread runs pinned to CPU 0 and the client to CPU 1.
    pub pinned_threads: bool,
    /// What the process had installed while measuring, as a real service runs (`tls-policy
    /// serve --metrics`): the metrics recorder and the tracing subscriber.
    pub observability: String,
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `tls-policy` and its version.
    pub tool: String,
    /// The machine.
    pub machine: Machine,
    /// The backends compared.
    pub backends: Vec<BackendInfo>,
    /// The run's settings.
    pub settings: Settings,
    /// Every figure, ours and raw.
    pub rows: Vec<Row>,
    /// Plain TCP figures.
    pub ceilings: Vec<Ceiling>,
    /// The limits' other terms: each rustls provider's AEAD alone (`aead_<provider>_<suite>_
    /// <seal|open>`, MB/CPU-s) and the library's own in-memory server handshake
    /// (`in_memory_handshake_<backend>_<version>_<key>`, hs/CPU-s).
    pub limit_terms: Vec<Ceiling>,
    /// Every bulk and full-handshake figure as a share of its limit.
    pub shares: Vec<Share>,
    /// The outside reference: `nginx <version>`, or why it was skipped.
    pub reference: String,
    /// The absolute figures, side by side.
    pub figures: Figures,
    /// `{backend, metric, ours, raw, ratio}` for every row (and its per-CPU twin).
    pub comparisons: Vec<Comparison>,
    /// The targets.
    pub targets: Vec<TargetCheck>,
    /// Skipped or failed figures, and other remarks.
    pub notes: Vec<String>,
    /// How long the run took, seconds.
    pub elapsed_s: f64,
}

impl Report {
    /// Derives `comparisons` and `targets` from `rows`.
    pub fn finish(&mut self) {
        // Each nginx row says ours/raw for the same figure beside its ours/nginx.
        let beside: Vec<Option<f64>> = self
            .rows
            .iter()
            .map(|row| {
                let plain = row.metric.strip_prefix("nginx_")?;
                self.rows
                    .iter()
                    .find(|r| r.backend == row.backend && r.metric == plain)
                    .and_then(|r| r.per_cpu.as_ref())
                    .map(|cpu| cpu.ratio)
            })
            .collect();
        for (row, ratio) in self.rows.iter_mut().zip(beside) {
            if let Some(ratio) = ratio {
                let note = row.note.take().unwrap_or_default();
                row.note = Some(format!(
                    "{note}; ours/raw per CPU-s on the same figure: {ratio:.2}"
                ));
            }
        }
        self.comparisons = comparisons(&self.rows);
        self.targets = targets(&self.comparisons, &self.rows);
        self.shares = shares(&self.rows, &self.ceilings, &self.limit_terms);
        self.figures = self.figures();
    }

    /// Collects [`Figures`] from the rows and ceilings.
    fn figures(&self) -> Figures {
        let mut columns = Vec::new();
        for backend in &self.backends {
            columns.push(backend.name.clone());
            columns.push(format!("{} raw", backend.name));
        }
        columns.push("nginx".to_owned());
        columns.push("plain TCP".to_owned());
        let finite = |v: f64| v.is_finite().then_some(v);
        let per_cpu = |backend: &str, metric: &str| {
            self.rows
                .iter()
                .find(|r| r.backend == backend && r.metric == metric)
                .and_then(|r| r.per_cpu.as_ref())
        };
        let ceiling = |metric: &str| {
            self.ceilings.iter().find(|c| c.metric == metric).map(|c| {
                c.per_cpu
                    .as_ref()
                    .map_or(c.value.median, |(_, stat)| stat.median)
            })
        };
        let nginx = |metric: &str| {
            let values: Vec<f64> = self
                .rows
                .iter()
                .filter(|r| r.metric == format!("nginx_{metric}"))
                .filter_map(|r| r.per_cpu.as_ref().map(|c| c.raw.median))
                .collect();
            finite(median(&values))
        };
        let mut specs: Vec<(String, String, &str, String)> = Vec::new();
        for (vid, vlabel) in [("tls13", "TLS 1.3"), ("tls12", "TLS 1.2")] {
            for (kid, klabel) in [("ecdsa_p256", "ECDSA P-256"), ("rsa2048", "RSA-2048")] {
                specs.push((
                    format!("handshake_full_{vid}_{kid}"),
                    format!("full handshakes, {vlabel}, {klabel}"),
                    "hs/CPU-s",
                    "tcp_connect".to_owned(),
                ));
            }
        }
        for (sid, slabel) in [
            ("aes128gcm", "AES-128-GCM"),
            ("aes256gcm", "AES-256-GCM"),
            ("chacha20poly1305", "ChaCha20-Poly1305"),
        ] {
            for (did, dlabel) in [
                ("server_writes", "server -> client"),
                ("server_reads", "client -> server"),
            ] {
                specs.push((
                    format!("bulk_{sid}_{did}"),
                    format!("bulk {slabel}, {dlabel}"),
                    "MB/CPU-s",
                    format!("tcp_bulk_{did}"),
                ));
            }
        }
        let mut rows = Vec::new();
        for (metric, label, unit, tcp) in specs {
            let mut values = Vec::new();
            for backend in &self.backends {
                let cpu = per_cpu(&backend.name, &metric);
                values.push(cpu.and_then(|c| finite(c.ours.median)));
                values.push(cpu.and_then(|c| finite(c.raw.median)));
            }
            values.push(nginx(&metric));
            values.push(ceiling(&tcp).and_then(finite));
            if values.iter().any(Option::is_some) {
                rows.push(FigureRow {
                    label,
                    unit: unit.to_owned(),
                    higher_is_better: true,
                    values,
                });
            }
        }
        let mut values = Vec::new();
        for backend in &self.backends {
            let row = self
                .rows
                .iter()
                .find(|r| r.backend == backend.name && r.metric == "idle_memory");
            values.push(row.and_then(|r| finite(r.ours.median)));
            values.push(row.and_then(|r| finite(r.raw.median)));
        }
        values.push(None);
        values.push(ceiling("tcp_idle_memory").and_then(finite));
        rows.push(FigureRow {
            label: "memory per idle connection".to_owned(),
            unit: "KiB/conn".to_owned(),
            higher_is_better: false,
            values,
        });
        Figures { columns, rows }
    }

    /// The report as people read it: header lines, one table per backend, the ceilings, the
    /// targets.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} — {} run: {} rounds per figure, ours and raw alternating; medians; ratio = ours/raw",
            self.tool, self.settings.mode, self.settings.rounds
        );
        let _ = writeln!(out, "{}", self.machine.summary());
        let _ = writeln!(out, "{}", self.machine.libraries_line());
        let _ = writeln!(out, "outside reference: {}", self.reference);
        let _ = writeln!(
            out,
            "installed while measuring: {}",
            self.settings.observability
        );
        for backend in &self.backends {
            let _ = writeln!(
                out,
                "backend {}: {}; raw: {}; client: {}",
                backend.name, backend.library, backend.raw, backend.client
            );
            if let Some(aead) = &backend.record_aead {
                let _ = writeln!(out, "  ours seals records with: {aead}");
            }
        }
        for backend in &self.backends {
            let rows: Vec<&Row> = self
                .rows
                .iter()
                .filter(|row| row.backend == backend.name)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<52} {:>9} {:>10} {:>10} {:>6}  | {:>10} {:>10} {:>6}",
                backend.name, "unit", "ours", "raw", "ratio", "ours/CPU-s", "raw/CPU-s", "ratio"
            );
            for row in rows {
                let mut line = format!(
                    "  {:<50} {:>9} {:>10} {:>10} {:>6}",
                    row.label,
                    row.unit,
                    number(row.ours.median),
                    number(row.raw.median),
                    ratio(row.ratio, missed(row)),
                );
                if let Some(cpu) = &row.per_cpu {
                    let _ = write!(
                        line,
                        "  | {:>10} {:>10} {:>6}",
                        number(cpu.ours.median),
                        number(cpu.raw.median),
                        ratio(
                            cpu.ratio,
                            missed_ratio(&format!("{}_per_cpu", row.metric), cpu.ratio)
                        ),
                    );
                }
                let _ = writeln!(out, "{}", line.trim_end());
                if let Some(note) = &row.note {
                    let _ = writeln!(out, "      {note}");
                }
                if let Some(share) = self
                    .shares
                    .iter()
                    .find(|s| s.backend == row.backend && s.metric == row.metric)
                {
                    let _ = writeln!(
                        out,
                        "      of the limit {} {} ({}): ours {:.2}, raw {:.2}",
                        number(share.limit),
                        share.unit,
                        share.terms,
                        share.ours,
                        share.raw
                    );
                }
            }
        }
        if !self.ceilings.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "plain TCP (the I/O ceiling)");
            for ceiling in &self.ceilings {
                let mut line = format!(
                    "  {:<50} {:>9} {:>10}",
                    ceiling.label,
                    ceiling.unit,
                    number(ceiling.value.median)
                );
                if let Some((unit, stat)) = &ceiling.per_cpu {
                    let _ = write!(line, "   {} {unit}", number(stat.median));
                }
                let _ = writeln!(out, "{line}");
            }
        }
        if !self.figures.rows.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "figures to choose by (per server CPU-second; nginx and plain TCP as measured here)"
            );
            let mut head = format!("  {:<44} {:>9}", "", "unit");
            for column in &self.figures.columns {
                let _ = write!(head, " {:>16}", column);
            }
            let _ = writeln!(out, "{}", head.trim_end());
            for row in &self.figures.rows {
                let mut line = format!("  {:<44} {:>9}", row.label, row.unit);
                for value in &row.values {
                    let _ = write!(line, " {:>16}", value.map_or("-".to_owned(), number));
                }
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }
        if !self.limit_terms.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "limit terms (per CPU-second of the measuring thread, no I/O)"
            );
            for term in &self.limit_terms {
                let _ = writeln!(
                    out,
                    "  {:<50} {:>9} {:>10}",
                    term.label,
                    term.unit,
                    number(term.value.median)
                );
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "targets, checked on the per-CPU-second ratios (* marks a miss; wall-clock ratios also \
             measure the client on the other core and any other load)"
        );
        for target in &self.targets {
            let verdict = match (target.checked, target.met) {
                (0, _) => "not measured".to_owned(),
                (_, true) => "met".to_owned(),
                (_, false) => "MISSED".to_owned(),
            };
            let worst = target
                .worst
                .as_ref()
                .map(|(backend, metric, value)| {
                    format!(" (worst {}: {backend} {metric})", number(*value))
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<52} {verdict}, {} figures{worst}",
                target.target, target.checked
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        let _ = writeln!(out, "({:.0} s)", self.elapsed_s);
        out
    }
}

/// Each bulk figure over `1/(1/plain TCP + 1/fastest AEAD)` (the fastest provider for that
/// cipher and operation), each full handshake over `1/(1/TCP connections + 1/in-memory
/// handshakes of the same library, version and key)`.
fn shares(rows: &[Row], ceilings: &[Ceiling], terms: &[Ceiling]) -> Vec<Share> {
    let ceiling = |metric: &str| {
        ceilings
            .iter()
            .find(|c| c.metric == metric)
            .and_then(|c| c.per_cpu.as_ref())
            .map(|(_, stat)| stat.median)
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let mut out = Vec::new();
    for row in rows {
        let Some(cpu) = &row.per_cpu else { continue };
        let (limit, unit, names) = if let Some(rest) = row.metric.strip_prefix("bulk_") {
            // `aes128gcm_server_writes`.
            let Some((suite, direction)) = rest.split_once('_') else {
                continue;
            };
            let operation = if direction == "server_writes" {
                "seal"
            } else {
                "open"
            };
            let fastest = terms
                .iter()
                .filter(|t| {
                    t.metric.starts_with("aead_")
                        && t.metric.ends_with(&format!("_{suite}_{operation}"))
                })
                .max_by(|a, b| a.value.median.total_cmp(&b.value.median));
            let (Some(plain), Some(aead)) = (ceiling(&format!("tcp_bulk_{direction}")), fastest)
            else {
                continue;
            };
            (
                super::limits::serial(plain, aead.value.median),
                "MB/CPU-s",
                format!(
                    "plain TCP {}, {} {}",
                    number(plain),
                    aead.label,
                    number(aead.value.median)
                ),
            )
        } else if let Some(rest) = row.metric.strip_prefix("handshake_full_") {
            let term = terms.iter().find(|t| {
                t.metric
                    == format!(
                        "in_memory_handshake_{}_{rest}",
                        row.backend.replace('-', "_")
                    )
            });
            let (Some(plain), Some(term)) = (ceiling("tcp_connect"), term) else {
                continue;
            };
            (
                super::limits::serial(plain, term.value.median),
                "hs/CPU-s",
                format!(
                    "TCP connections {}, in-memory handshakes {}",
                    number(plain),
                    number(term.value.median)
                ),
            )
        } else {
            continue;
        };
        out.push(Share {
            backend: row.backend.clone(),
            metric: row.metric.clone(),
            limit,
            unit: unit.to_owned(),
            terms: names,
            ours: cpu.ours.median / limit,
            raw: cpu.raw.median / limit,
        });
    }
    out
}

fn comparisons(rows: &[Row]) -> Vec<Comparison> {
    let mut out = Vec::new();
    for row in rows {
        out.push(Comparison {
            backend: row.backend.clone(),
            metric: row.metric.clone(),
            ours: row.ours.median,
            raw: row.raw.median,
            ratio: row.ratio,
            unit: row.unit.clone(),
            higher_is_better: row.higher_is_better,
        });
        if let Some(cpu) = &row.per_cpu {
            out.push(Comparison {
                backend: row.backend.clone(),
                metric: format!("{}_per_cpu", row.metric),
                ours: cpu.ours.median,
                raw: cpu.raw.median,
                ratio: cpu.ratio,
                unit: cpu.unit.clone(),
                higher_is_better: row.higher_is_better,
            });
        }
    }
    out
}

/// The minimum ratio a comparison must reach, if it has a ratio target.
///
/// Targets are checked on the per-server-CPU-second figures (`..._per_cpu`): they measure what
/// our layer costs the server. The wall-clock figures are reported too, but on a two-core
/// machine with the client on the other core they also measure the client and any other load.
pub fn ratio_target(metric: &str) -> Option<f64> {
    let metric = metric.strip_suffix("_per_cpu")?;
    if metric.starts_with("nginx_handshake_") {
        Some(TARGET_NGINX_HANDSHAKES)
    } else if metric.starts_with("nginx_") {
        None
    } else if metric.starts_with("handshake_")
        || metric.starts_with("bulk_")
        || metric.starts_with("listener_")
    {
        Some(TARGET_NETWORK_RATIO)
    } else if metric.starts_with("records_") {
        Some(TARGET_RECORDS_RATIO)
    } else {
        None
    }
}

/// Whether `value` is below `threshold`, or not a number at all.
pub(crate) fn short_of(value: f64, threshold: f64) -> bool {
    !matches!(
        value.partial_cmp(&threshold),
        Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
    )
}

fn missed_ratio(metric: &str, ratio: f64) -> bool {
    ratio_target(metric).is_some_and(|target| short_of(ratio, target))
}

fn missed(row: &Row) -> bool {
    if row.metric == "idle_memory" && row.backend.starts_with("rustls") {
        // Over the limit, or not measured.
        return short_of(TARGET_IDLE_KIB, row.ours.median);
    }
    missed_ratio(&row.metric, row.ratio)
}

fn targets(comparisons: &[Comparison], rows: &[Row]) -> Vec<TargetCheck> {
    let ratio_check = |name: String, prefix: &str, threshold: f64| {
        let checked: Vec<&Comparison> = comparisons
            .iter()
            .filter(|c| c.metric.starts_with(prefix) && ratio_target(&c.metric).is_some())
            .collect();
        let worst = checked
            .iter()
            .min_by(|a, b| a.ratio.total_cmp(&b.ratio))
            .map(|c| (c.backend.clone(), c.metric.clone(), c.ratio));
        TargetCheck {
            target: name,
            checked: checked.len(),
            met: checked.iter().all(|c| !short_of(c.ratio, threshold)),
            worst,
        }
    };
    let memory: Vec<&Row> = rows
        .iter()
        .filter(|row| row.metric == "idle_memory" && row.backend.starts_with("rustls"))
        .collect();
    let memory_worst = memory
        .iter()
        .max_by(|a, b| a.ours.median.total_cmp(&b.ours.median))
        .map(|row| (row.backend.clone(), row.metric.clone(), row.ours.median));
    vec![
        ratio_check(
            format!("handshakes per CPU-s: ours/raw >= {TARGET_NETWORK_RATIO}"),
            "handshake_",
            TARGET_NETWORK_RATIO,
        ),
        ratio_check(
            format!("bulk per CPU-s: ours/raw >= {TARGET_NETWORK_RATIO}"),
            "bulk_",
            TARGET_NETWORK_RATIO,
        ),
        ratio_check(
            format!("in-memory records per CPU-s: ours/raw >= {TARGET_RECORDS_RATIO}"),
            "records_",
            TARGET_RECORDS_RATIO,
        ),
        ratio_check(
            format!("full handshakes per CPU-s: ours/nginx >= {TARGET_NGINX_HANDSHAKES}"),
            "nginx_handshake_",
            TARGET_NGINX_HANDSHAKES,
        ),
        TargetCheck {
            target: format!("idle rustls connection (ours) <= {TARGET_IDLE_KIB} KiB"),
            checked: memory.len(),
            met: memory.iter().all(|row| row.ours.median <= TARGET_IDLE_KIB),
            worst: memory_worst,
        },
    ]
}

/// A number for the table: thousands separators above 1,000, fewer decimals as it grows.
pub(crate) fn number(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    if value.abs() >= 1000.0 {
        let rounded = value.round() as i64;
        let digits = rounded.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if rounded < 0 {
            grouped.insert(0, '-');
        }
        grouped
    } else if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn ratio(value: f64, missed: bool) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    format!("{value:.2}{}", if missed { "*" } else { " " })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(backend: &str, metric: &str, ours: f64, raw: f64) -> Row {
        Row {
            backend: backend.into(),
            metric: metric.into(),
            label: metric.into(),
            unit: "x".into(),
            higher_is_better: true,
            ours: Stat::new(vec![ours]),
            raw: Stat::new(vec![raw]),
            ratio: ours / raw,
            per_cpu: None,
            note: None,
        }
    }

    #[test]
    fn numbers_read_at_a_glance() {
        assert_eq!(number(1234567.8), "1,234,568");
        assert_eq!(number(999.4), "999");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(0.5), "0.50");
        assert_eq!(number(f64::NAN), "-");
    }

    #[test]
    fn targets_find_the_worst_figure() {
        let mut rows = vec![
            row(
                "rustls-ring",
                "handshake_full_tls13_ecdsa_p256",
                96.0,
                100.0,
            ),
            row("rustls-ring", "bulk_aes128gcm_server_writes", 99.0, 100.0),
            row("rustls-ring", "records_server_writes", 96.0, 100.0),
            row("rustls-ring", "idle_memory", 20.0, 19.0),
        ];
        for row in &mut rows[..3] {
            row.per_cpu = Some(PerCpu {
                unit: "x/CPU-s".into(),
                ours: row.ours.clone(),
                raw: row.raw.clone(),
                ratio: row.ratio,
            });
        }
        let comparisons = comparisons(&rows);
        assert_eq!(comparisons.len(), 7);
        let checks = targets(&comparisons, &rows);
        assert_eq!(checks[0].checked, 1, "only the per-CPU figure is checked");
        assert!(!checks[0].met, "0.96 < 0.97");
        assert!(checks[1].met && checks[2].met && checks[3].met && checks[4].met);
        assert_eq!(checks[3].checked, 0, "no nginx figure");
        assert_eq!(checks[0].worst.as_ref().unwrap().2, 0.96);
        assert!(!missed(&rows[0]), "wall-clock ratios are not targets");
        assert!(!missed(&rows[3]));
        assert!(short_of(f64::NAN, 1.0) && !short_of(1.0, 1.0));
    }
}
