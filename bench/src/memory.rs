//! Memory per idle connection: a probe process serves, the benchmark process connects N idle clients, the probe reads its RSS before and after.
//!
//! Each probe is a fresh process (`tls-policy bench --memory-probe TARGET`) holding only the
//! server side, so that neither earlier measurements' freed heap nor the clients' state and
//! sockets count: its growth is the server's per-connection state (TLS session, buffers, task,
//! socket registration). It answers on stdout and takes commands on stdin, one line each:
//! first `{"addr":"127.0.0.1:port"}`; then `rss` → `{"rss":bytes,"greeted":n}`; `exit` or the
//! end of stdin → it exits. The clients keep only each connection's TCP socket.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::task::JoinSet;

use super::client::{self, ClientSpec, Connector, Idle};
use super::measure::STEP_TIMEOUT;
use super::pki::Certificates;
use super::server::{Engine, Listening, Role};
use super::sys::{raise_nofile, rss_bytes};
use super::BenchError;
use tls_policy::{Backend, TlsVersion};

/// Connections opened at once while filling up.
const OPENERS: usize = 64;
/// Connections opened and closed before the first reading, to warm the allocator and runtime.
const WARM_UP: usize = 256;
/// File descriptors kept free for everything else.
const SPARE_FDS: u64 = 512;

/// What a probe serves: one backend through our layer or raw, or plain TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeTarget {
    /// A backend, ours or raw.
    Tls(Backend, Role),
    /// Plain TCP.
    Tcp,
}

impl fmt::Display for ProbeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeTarget::Tls(backend, role) => write!(f, "{}:{backend}", role.name()),
            ProbeTarget::Tcp => f.write_str("tcp"),
        }
    }
}

impl FromStr for ProbeTarget {
    type Err = BenchError;

    /// `ours:<backend>`, `raw:<backend>` or `tcp`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "tcp" {
            return Ok(ProbeTarget::Tcp);
        }
        let (role, backend) = s.split_once(':').ok_or_else(|| {
            BenchError::new(format!(
                "memory probe target {s:?}: expected ours:<backend>, raw:<backend> or tcp"
            ))
        })?;
        let role = match role {
            "ours" => Role::Ours,
            "raw" => Role::Raw,
            other => {
                return Err(BenchError::new(format!(
                    "memory probe target {s:?}: {other:?} is neither ours nor raw"
                )))
            }
        };
        let backend = Backend::from_name(backend)
            .map_err(|err| BenchError::new(format!("memory probe target {s:?}: {err}")))?;
        Ok(ProbeTarget::Tls(backend, role))
    }
}

/// What one probe measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// The target, as [`ProbeTarget`] displays it.
    pub target: String,
    /// Idle connections held open at the second reading.
    pub connections: usize,
    /// Resident set size before opening them, bytes.
    pub rss_before: u64,
    /// Resident set size with all of them open and idle, bytes.
    pub rss_after: u64,
    /// `(rss_after - rss_before) / connections`.
    pub bytes_per_connection: f64,
    /// Anything that changed the plan (a lower file limit, for one).
    pub note: Option<String>,
}

/// Serves as a memory probe in this process until stdin ends (see the module docs). Meant for
/// a fresh process started by the benchmark.
pub fn run_probe(target: ProbeTarget) -> Result<(), BenchError> {
    // As many descriptors as this process may have: one per idle connection.
    let _ = raise_nofile(u64::MAX >> 1);
    let engine = match target {
        ProbeTarget::Tls(backend, role) => {
            let identity = Certificates::generate_ecdsa()?;
            Engine::build(backend, role, &identity)?
        }
        ProbeTarget::Tcp => Engine::Tcp,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| BenchError::new(format!("memory probe runtime: {err}")))?;
    runtime.block_on(async move {
        let server = Listening::start(&tokio::runtime::Handle::current(), engine)?;
        let mut out = tokio::io::stdout();
        let say = |line: String| line + "\n";
        let io_failed = |err: std::io::Error| BenchError::new(format!("memory probe stdio: {err}"));
        let hello = serde_json::json!({ "addr": server.addr.to_string() });
        out.write_all(say(hello.to_string()).as_bytes())
            .await
            .map_err(io_failed)?;
        out.flush().await.map_err(io_failed)?;
        let mut commands = BufReader::new(tokio::io::stdin()).lines();
        while let Some(command) = commands.next_line().await.map_err(io_failed)? {
            match command.trim() {
                "rss" => {
                    let answer = serde_json::json!({
                        "rss": rss_bytes().map_err(BenchError::new)?,
                        "greeted": server.greeted(),
                    });
                    out.write_all(say(answer.to_string()).as_bytes())
                        .await
                        .map_err(io_failed)?;
                    out.flush().await.map_err(io_failed)?;
                }
                "exit" => break,
                other => {
                    return Err(BenchError::new(format!(
                        "memory probe: unknown command {other:?}"
                    )))
                }
            }
        }
        Ok(())
    })
}

fn newest(backend: Backend) -> TlsVersion {
    Engine::versions(backend)
        .last()
        .copied()
        .unwrap_or(TlsVersion::Tls12)
}

async fn open(
    connector: &Connector,
    addr: SocketAddr,
    count: usize,
) -> Result<Vec<Idle>, BenchError> {
    let mut openers = JoinSet::new();
    for i in 0..OPENERS.min(count.max(1)) {
        let share =
            count / OPENERS.min(count.max(1)) + usize::from(i < count % OPENERS.min(count.max(1)));
        let connector = connector.clone();
        openers.spawn(async move {
            let mut held = Vec::with_capacity(share);
            for _ in 0..share {
                let idle = tokio::time::timeout(STEP_TIMEOUT, client::open_idle(&connector, addr))
                    .await
                    .map_err(|_| format!("no handshake with {addr} within {STEP_TIMEOUT:?}"))?
                    .map_err(|err| format!("connection to {addr}: {err}"))?;
                held.push(idle);
            }
            Ok::<_, String>(held)
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(done) = openers.join_next().await {
        let held = done
            .map_err(|err| BenchError::new(format!("memory probe opener: {err}")))?
            .map_err(|err| BenchError::new(format!("memory probe: {err}")))?;
        all.extend(held);
    }
    Ok(all)
}

/// The benchmark's side of a probe: the child process and its pipes.
struct Probe {
    target: ProbeTarget,
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

#[derive(Deserialize)]
struct Hello {
    addr: SocketAddr,
}

#[derive(Deserialize)]
struct Reading {
    rss: u64,
    greeted: usize,
}

impl Probe {
    fn failed(&self, what: impl fmt::Display) -> BenchError {
        BenchError::new(format!("memory probe {}: {what}", self.target))
    }

    async fn line(&mut self) -> Result<String, BenchError> {
        match tokio::time::timeout(STEP_TIMEOUT, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => Err(self.failed("ended without an answer")),
            Ok(Err(err)) => Err(self.failed(format!("reading its answer: {err}"))),
            Err(_) => Err(self.failed(format!("no answer within {STEP_TIMEOUT:?}"))),
        }
    }

    /// Asks for the probe's RSS and greeted-connection count.
    async fn read(&mut self) -> Result<Reading, BenchError> {
        self.stdin
            .write_all(b"rss\n")
            .await
            .map_err(|err| self.failed(format!("writing to it: {err}")))?;
        self.stdin
            .flush()
            .await
            .map_err(|err| self.failed(format!("writing to it: {err}")))?;
        let line = self.line().await?;
        serde_json::from_str(&line).map_err(|err| self.failed(format!("answer {line:?}: {err}")))
    }

    /// Waits until the probe has greeted `count` connections, then lets it settle and reads.
    async fn settled(&mut self, count: usize) -> Result<Reading, BenchError> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let reading = self.read().await?;
            if reading.greeted >= count {
                break;
            }
            if Instant::now() > deadline {
                return Err(self.failed(format!(
                    "greeted {} of {count} connections within {STEP_TIMEOUT:?}",
                    reading.greeted
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.read().await
    }
}

/// Starts a probe process `exe bench --memory-probe TARGET`, connects `connections` idle clients
/// to it from this process, and reports the probe's RSS growth per connection.
pub(crate) async fn spawn_probe(
    exe: &Path,
    target: ProbeTarget,
    connections: usize,
) -> Result<ProbeResult, BenchError> {
    let mut note = None;
    let wanted = (connections + WARM_UP) as u64 + SPARE_FDS;
    let limit = raise_nofile(wanted).unwrap_or(1024);
    let mut connections = connections;
    if limit < wanted {
        connections = (limit.saturating_sub(SPARE_FDS) as usize)
            .saturating_sub(WARM_UP)
            .max(1);
        note = Some(format!(
            "the open-file limit is {limit}: measured {connections} connections"
        ));
    }
    let (backend, version) = match target {
        // The newest version the backend serves: TLS 1.3, or TLS 1.2 on native-tls.
        ProbeTarget::Tls(backend, _) => (Some(backend), newest(backend)),
        ProbeTarget::Tcp => (None, TlsVersion::Tls13),
    };
    let connector = Connector::new(
        backend,
        ClientSpec {
            version,
            suite: None,
            resume: false,
        },
    )?;
    let mut child = tokio::process::Command::new(exe)
        .args(["bench", "--memory-probe", &target.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| {
            BenchError::new(format!(
                "memory probe {target}: cannot run {}: {err}",
                exe.display()
            ))
        })?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(BenchError::new(format!("memory probe {target}: no pipes")));
    };
    let mut probe = Probe {
        target,
        child,
        stdin,
        stdout: BufReader::new(stdout).lines(),
    };
    let hello = probe.line().await?;
    let hello: Hello = serde_json::from_str(&hello)
        .map_err(|err| probe.failed(format!("first line {hello:?}: {err}")))?;

    // Warm up: open and close a few hundred connections.
    drop(open(&connector, hello.addr, WARM_UP).await?);
    let before = probe.settled(WARM_UP).await?;
    let idle = open(&connector, hello.addr, connections).await?;
    let after = probe.settled(WARM_UP + connections).await?;
    let held = idle.len();

    let _ = probe.stdin.write_all(b"exit\n").await;
    let _ = probe.stdin.flush().await;
    drop(idle);
    match tokio::time::timeout(STEP_TIMEOUT, probe.child.wait()).await {
        Ok(Ok(status)) if status.success() => {}
        Ok(Ok(status)) => return Err(probe.failed(format!("exited with {status}"))),
        Ok(Err(err)) => return Err(probe.failed(format!("waiting for it: {err}"))),
        Err(_) => {
            let _ = probe.child.kill().await;
            return Err(probe.failed(format!("did not exit within {STEP_TIMEOUT:?}")));
        }
    }
    Ok(ProbeResult {
        target: target.to_string(),
        connections: held,
        rss_before: before.rss,
        rss_after: after.rss,
        bytes_per_connection: after.rss.saturating_sub(before.rss) as f64 / held.max(1) as f64,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip() {
        for backend in Backend::compiled() {
            for role in [Role::Ours, Role::Raw] {
                let target = ProbeTarget::Tls(*backend, role);
                assert_eq!(target.to_string().parse::<ProbeTarget>().unwrap(), target);
            }
        }
        assert_eq!("tcp".parse::<ProbeTarget>().unwrap(), ProbeTarget::Tcp);
        assert!("mine:rustls-ring".parse::<ProbeTarget>().is_err());
        assert!("ours:boringssl".parse::<ProbeTarget>().is_err());
    }
}
