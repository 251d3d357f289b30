//! One sample of each kind of figure: handshakes in a time window, one bulk transfer, medians and percentiles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::client::{self, Connector};
use super::protocol::Request;
use super::server::{Listening, ServerThread};

/// Whose CPU time a handshake window is divided by: the benchmark's server thread, or another
/// process (nginx).
#[derive(Clone, Copy)]
pub(crate) enum Cpu<'a> {
    Thread(&'a ServerThread),
    // nginx is driven by the rustls client only.
    #[cfg_attr(
        not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")),
        allow(dead_code)
    )]
    Process(u32),
}

impl Cpu<'_> {
    async fn read(self) -> Option<Duration> {
        match self {
            Cpu::Thread(server) => server.cpu().await,
            Cpu::Process(pid) => super::nginx::process_cpu(pid),
        }
    }
}

/// Every single network step of the benchmark is bounded by this.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// What the clients saw in one handshake window.
#[derive(Clone, Debug, Default)]
pub(crate) struct HandshakeSample {
    /// Handshakes completed inside the window, per wall-clock second.
    pub(crate) per_s: f64,
    /// Handshakes completed per second of the server thread's CPU time.
    pub(crate) per_cpu_s: Option<f64>,
    /// Handshakes completed inside the window.
    pub(crate) completed: u64,
    /// How many of them resumed a session.
    pub(crate) resumed: u64,
    /// Each completed handshake's latency, from TCP connect to the server's greeting.
    pub(crate) latencies: Vec<Duration>,
    /// Failed handshakes, and the first failure.
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

/// Runs `concurrency` clients handshaking back to back against `addr`: each starts handshakes
/// until `window` has passed and finishes the one in flight. The rate is the handshakes
/// completed over the time from the start to the last completion (at least `window`), so a
/// slow build that completes few handshakes per window still measures something.
pub(crate) async fn handshakes(
    connector: &Connector,
    addr: SocketAddr,
    server: Cpu<'_>,
    window: Duration,
    concurrency: usize,
) -> HandshakeSample {
    let connector = Arc::new(connector.clone());
    let cpu_before = server.read().await;
    let start = Instant::now();
    let deadline = start + window;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let connector = Arc::clone(&connector);
        workers.spawn(async move { worker(&connector, addr, deadline).await });
    }
    let mut sample = HandshakeSample::default();
    let mut end = deadline;
    while let Some(done) = workers.join_next().await {
        let Ok(done) = done else { continue };
        sample.completed += done.completed;
        sample.resumed += done.resumed;
        sample.errors += done.errors;
        sample.latencies.extend(done.latencies);
        end = end.max(done.last_completion.unwrap_or(deadline));
        if sample.first_error.is_none() {
            sample.first_error = done.first_error;
        }
    }
    let cpu_after = server.read().await;
    let elapsed = end.duration_since(start).as_secs_f64();
    sample.per_s = sample.completed as f64 / elapsed;
    sample.per_cpu_s = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) if after > before => {
            Some(sample.completed as f64 / (after - before).as_secs_f64())
        }
        _ => None,
    };
    sample
}

#[derive(Default)]
struct WorkerCounts {
    completed: u64,
    resumed: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    last_completion: Option<Instant>,
}

async fn worker(connector: &Connector, addr: SocketAddr, deadline: Instant) -> WorkerCounts {
    let mut counts = WorkerCounts::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let outcome = tokio::time::timeout(STEP_TIMEOUT, client::handshake(connector, addr)).await;
        let finished = Instant::now();
        match outcome {
            Ok(Ok(resumed)) => {
                counts.completed += 1;
                counts.resumed += u64::from(resumed);
                counts.latencies.push(finished - started);
                counts.last_completion = Some(finished);
            }
            Ok(Err(err)) => {
                counts.errors += 1;
                counts.first_error.get_or_insert_with(|| err.to_string());
            }
            Err(_) => {
                counts.errors += 1;
                counts
                    .first_error
                    .get_or_insert_with(|| format!("no handshake within {STEP_TIMEOUT:?}"));
            }
        }
        if counts.errors > 100 {
            break;
        }
    }
    counts
}

/// One bulk transfer on a fresh connection: wall-clock throughput and the server's CPU time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BulkSample {
    /// Bytes per wall-clock second (from the request to the last byte or the acknowledgement).
    pub(crate) per_s: f64,
    /// Bytes per second of the server thread's CPU time spent on the transfer.
    pub(crate) per_cpu_s: Option<f64>,
}

/// Times `request` against `server` (draining older CPU reports first).
pub(crate) async fn bulk(
    connector: &Connector,
    server: &mut Listening,
    request: Request,
) -> Result<BulkSample, String> {
    server.drain_reports();
    let bytes = request.bytes() as f64;
    let budget = STEP_TIMEOUT * 3;
    let elapsed = tokio::time::timeout(budget, client::transfer(connector, server.addr, request))
        .await
        .map_err(|_| format!("transfer of {bytes} bytes took over {budget:?}"))?
        .map_err(|err| format!("transfer of {bytes} bytes failed: {err}"))?;
    let cpu = server.next_report(STEP_TIMEOUT).await;
    Ok(BulkSample {
        per_s: bytes / elapsed.as_secs_f64().max(1e-9),
        per_cpu_s: cpu
            .filter(|cpu| !cpu.is_zero())
            .map(|cpu| bytes / cpu.as_secs_f64()),
    })
}

/// How many bytes make a transfer of about `window` at `rate` bytes/s, within sane bounds.
pub(crate) fn bytes_for(rate: f64, window: Duration) -> u64 {
    const MIN: f64 = (4 << 20) as f64;
    const MAX: f64 = (16u64 << 30) as f64;
    let bytes = (rate * window.as_secs_f64()).clamp(MIN, MAX);
    // Whole mebibytes.
    (bytes as u64 >> 20) << 20
}

/// The median (the mean of the middle two for an even count); `NaN` for none.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The `p`-th percentile (0–100) of `values`, nearest rank; `None` for none.
pub(crate) fn percentile(values: &mut [Duration], p: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let mut values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(
            percentile(&mut values, 50.0),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            percentile(&mut values, 99.0),
            Some(Duration::from_millis(99))
        );
        assert_eq!(percentile(&mut [], 99.0), None);
    }

    #[test]
    fn transfer_sizes_are_bounded() {
        assert_eq!(bytes_for(0.0, Duration::from_secs(1)), 4 << 20);
        assert_eq!(bytes_for(1e12, Duration::from_secs(100)), 16 << 30);
        assert_eq!(bytes_for(100e6, Duration::from_secs(1)) >> 20, 95);
    }
}
