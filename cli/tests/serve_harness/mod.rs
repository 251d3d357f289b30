//! Driving the real `tls-policy` binary: a home with one channel per tls_level and client_auth
//! mode, the `serve` process on port 0, its `listening` lines, and real clients (curl,
//! `openssl s_client`, python3) run with every wait bounded.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tls_policy::Backend;
use tls_policy_dev_pki::WritePolicy;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

#[allow(unused_imports)] // not every test file that includes the harness drives a real peer
pub use crate::support::tools::tool;
use crate::support::{pki, STEP};

/// The subject's common name of the PKI's good client certificate.
pub const CLIENT_CN: &str = "tls-policy development client";

// === the home ===

/// One channel of the test home: its name, bound policy, tls_level, and what it tests.
#[derive(Clone, Copy, Debug)]
pub struct ChannelSpec {
    pub name: &'static str,
    pub policy: Option<&'static str>,
    pub tls_level: &'static str,
    /// Further `dbms.connector.<name>.*` lines (suffix=value).
    pub extra: &'static [&'static str],
}

/// A temporary home holding the PKI (`certificates/test`), client files and a `neo4j.conf`
/// whose channels cover what `backend` can honour:
///
/// | channel | policy | client_auth | tls_versions | tls_level | kind |
/// |---|---|---|---|---|---|
/// | `https` | `web` | OPTIONAL (NONE on native-tls) | default | REQUIRED | http |
/// | `bolt` | `require` | REQUIRE (absent on native-tls) | default | REQUIRED | echo |
/// | `optauth` | `optional` | OPTIONAL (absent on native-tls) | default | REQUIRED | echo |
/// | `noauth` | `none` | NONE | default | REQUIRED | echo |
/// | `mixed` | `none` | NONE | default | OPTIONAL | echo |
/// | `plain` | — | — | — | DISABLED | echo |
/// | `tls12` | `tls12` | NONE | TLSv1.2 | REQUIRED | echo |
/// | `tls13` | `tls13` | NONE | TLSv1.3 (absent on native-tls) | REQUIRED | echo |
/// | `api` | — | — | — | DISABLED, `http_header_read_timeout=1s`, `http_idle_timeout=2s` | http (`kind=http`) |
/// | `quick` | `none` | NONE | default | REQUIRED, `handshake_timeout=500ms`, `first_record_timeout=500ms` | echo |
pub struct ServeHome {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub revoked_cert: PathBuf,
    pub revoked_key: PathBuf,
    pub channels: Vec<ChannelSpec>,
    pub backend: Backend,
}

impl ServeHome {
    pub fn new(backend: Backend) -> ServeHome {
        let caps = backend.capabilities();
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path();
        let p = pki();
        p.write_policy_dir(
            &home.join("certificates/test"),
            &WritePolicy {
                with_crl: caps.crls,
            },
        )
        .expect("write policy directory");
        let (client_cert, client_key) = p
            .write_client(&p.client, &home.join("clients"))
            .expect("write client files");
        let (revoked_cert, revoked_key) = p
            .write_client(&p.revoked_client, &home.join("clients"))
            .expect("write revoked client files");
        let ca = home.join("ca.crt");
        std::fs::write(&ca, &p.root.cert_pem).expect("write CA");

        let mut policies: Vec<(&str, &str)> = vec![
            ("none", "client_auth=NONE"),
            ("tls12", "client_auth=NONE\ntls_versions=TLSv1.2"),
        ];
        let web_auth = if caps.client_auth {
            policies.push(("require", "client_auth=REQUIRE"));
            policies.push(("optional", "client_auth=OPTIONAL"));
            "client_auth=OPTIONAL"
        } else {
            "client_auth=NONE"
        };
        policies.push(("web", web_auth));
        if caps.tls13 {
            policies.push(("tls13", "client_auth=NONE\ntls_versions=TLSv1.3"));
        }
        let defined = |name: &str| policies.iter().any(|(p, _)| *p == name);

        let all = [
            ChannelSpec {
                name: "https",
                policy: Some("web"),
                tls_level: "REQUIRED",
                extra: &[],
            },
            ChannelSpec {
                name: "bolt",
                policy: Some("require"),
                tls_level: "REQUIRED",
                extra: &[],
            },
            ChannelSpec {
                name: "optauth",
                policy: Some("optional"),
                tls_level: "REQUIRED",
                extra: &[],
            },
            ChannelSpec {
                name: "noauth",
                policy: Some("none"),
                tls_level: "REQUIRED",
                extra: &[],
            },
            ChannelSpec {
                name: "mixed",
                policy: Some("none"),
                tls_level: "OPTIONAL",
                extra: &[],
            },
            ChannelSpec {
                name: "plain",
                policy: None,
                tls_level: "DISABLED",
                extra: &[],
            },
            ChannelSpec {
                name: "tls12",
                policy: Some("tls12"),
                tls_level: "REQUIRED",
                extra: &[],
            },
            ChannelSpec {
                name: "tls13",
                policy: Some("tls13"),
                tls_level: "REQUIRED",
                extra: &[],
            },
            ChannelSpec {
                name: "api",
                policy: None,
                tls_level: "DISABLED",
                extra: &[
                    "kind=http",
                    "http_header_read_timeout=1s",
                    "http_idle_timeout=2s",
                ],
            },
            ChannelSpec {
                name: "quick",
                policy: Some("none"),
                tls_level: "REQUIRED",
                extra: &[
                    "handshake_timeout=500ms",
                    "max_concurrent_handshakes=4",
                    "first_record_timeout=500ms",
                ],
            },
        ];
        let channels: Vec<ChannelSpec> = all
            .into_iter()
            .filter(|c| c.policy.is_none_or(&defined))
            .collect();

        let mut text = String::from("# written by tests/serve_harness\n");
        for (name, lines) in &policies {
            text.push_str(&format!(
                "dbms.ssl.policy.{name}.base_directory=certificates/test\n"
            ));
            for line in lines.lines() {
                text.push_str(&format!("dbms.ssl.policy.{name}.{line}\n"));
            }
        }
        for channel in &channels {
            let name = channel.name;
            if let Some(policy) = channel.policy {
                text.push_str(&format!("{name}.ssl_policy={policy}\n"));
            }
            text.push_str(&format!(
                "dbms.connector.{name}.listen_address=127.0.0.1:0\n\
                 dbms.connector.{name}.tls_level={}\n",
                channel.tls_level
            ));
            for line in channel.extra {
                text.push_str(&format!("dbms.connector.{name}.{line}\n"));
            }
        }
        let config = home.join("neo4j.conf");
        std::fs::write(&config, text).expect("write config");
        ServeHome {
            dir,
            config,
            ca,
            client_cert,
            client_key,
            revoked_cert,
            revoked_key,
            channels,
            backend,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn has(&self, channel: &str) -> bool {
        self.channels.iter().any(|c| c.name == channel)
    }

    /// Starts `tls-policy serve` on this home with `extra` arguments; waits for its lines.
    pub async fn serve(&self, extra: &[&str]) -> Served {
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--config".into(),
            self.config.display().to_string(),
            "--backend".into(),
            self.backend.name().into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Served::start(&args, self.channels.len()).await
    }
}

// === the server process ===

/// One `listening` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listening {
    pub channel: String,
    pub addr: SocketAddr,
    pub policy: String,
    pub backend: String,
    pub tls_level: String,
}

/// Parses `listening <channel> <ip>:<port> policy=<p> backend=<b> tls_level=<l>`.
pub fn parse_listening(line: &str) -> Option<Listening> {
    let mut words = line.split(' ');
    if words.next()? != "listening" {
        return None;
    }
    let channel = words.next()?.to_string();
    let addr = words.next()?.parse().ok()?;
    let policy = words.next()?.strip_prefix("policy=")?.to_string();
    let backend = words.next()?.strip_prefix("backend=")?.to_string();
    let tls_level = words.next()?.strip_prefix("tls_level=")?.to_string();
    if words.next().is_some() {
        return None;
    }
    Some(Listening {
        channel,
        addr,
        policy,
        backend,
        tls_level,
    })
}

/// A running `tls-policy` process (killed on drop), its channels, and its stderr so far.
pub struct Served {
    pub child: Child,
    pub channels: BTreeMap<String, Listening>,
    /// Every stdout line, the listening lines included.
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Served {
    /// Spawns the binary with `args` and reads `expected` listening lines (bounded).
    ///
    /// `serve` gets `--shutdown-grace 0` unless `args` set it: a test not about the grace
    /// period should not wait for it after SIGTERM.
    pub async fn start(args: &[String], expected: usize) -> Served {
        Self::start_in(args, expected, None).await
    }

    /// Like [`Served::start`], with the process's working directory `dir` when given (to
    /// name the config by a path relative to it).
    pub async fn start_in(args: &[String], expected: usize, dir: Option<&Path>) -> Served {
        let mut args = args.to_vec();
        if args.first().map(String::as_str) == Some("serve")
            && !args.iter().any(|arg| arg == "--shutdown-grace")
        {
            args.extend(["--shutdown-grace".to_string(), "0".to_string()]);
        }
        let mut command = binary(&args);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let mut child = command.spawn().expect("spawn tls-policy");
        let stderr = collect_stderr(&mut child);
        let stdout_lines = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut channels = BTreeMap::new();
        let read = tokio::time::timeout(STEP, async {
            while channels.len() < expected {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        stdout_lines.lock().unwrap().push(line.clone());
                        if let Some(listening) = parse_listening(&line) {
                            channels.insert(listening.channel.clone(), listening);
                        }
                    }
                    _ => break,
                }
            }
        })
        .await;
        if read.is_err() || channels.len() < expected {
            let _ = child.start_kill();
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!(
                "expected {expected} listening lines, got {:?}\nstderr:\n{}",
                channels.keys().collect::<Vec<_>>(),
                stderr.lock().unwrap()
            );
        }
        keep_reading(lines, Arc::clone(&stdout_lines));
        Served {
            child,
            channels,
            stdout: stdout_lines,
            stderr,
        }
    }

    pub fn channel(&self, name: &str) -> &Listening {
        self.channels
            .get(name)
            .unwrap_or_else(|| panic!("no listening line for channel {name}"))
    }

    pub fn addr(&self, name: &str) -> SocketAddr {
        self.channel(name).addr
    }

    /// Sends `signal` (`TERM`, `INT`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("server still running");
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid} failed");
    }

    /// Waits (bounded by `limit`) for the process to exit.
    pub async fn exit(&mut self, limit: Duration) -> ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for tls-policy"),
            Err(_) => panic!(
                "tls-policy did not exit within {limit:?}\nstderr:\n{}",
                self.stderr()
            ),
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// The `tls-policy` binary with `args`, pipes for its output, killed on drop.
pub fn binary(args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tls-policy"));
    command
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs the binary to its end (bounded); returns (status, stdout, stderr).
pub async fn run_to_end(args: &[String]) -> (ExitStatus, String, String) {
    let output = tokio::time::timeout(STEP, binary(args).output())
        .await
        .expect("tls-policy finishes in time")
        .expect("run tls-policy");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Drains the child's stderr into a shared string (the server logs there; a full pipe would
/// block it).
fn collect_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    if let Some(stderr) = child.stderr.take() {
        let sink = Arc::clone(&text);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
    }
    text
}

fn keep_reading(
    mut lines: tokio::io::Lines<BufReader<ChildStdout>>,
    sink: Arc<Mutex<Vec<String>>>,
) {
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
}

// === real clients ===

/// What a client that was sent a line did with it.
#[derive(Debug)]
pub enum Exchange {
    /// The line came back.
    Echoed(String),
    /// The client ended without it coming back; its output.
    Ended(String),
    /// Neither within the limit; its output so far.
    Stalled(String),
}

impl Exchange {
    pub fn echoed(&self) -> bool {
        matches!(self, Exchange::Echoed(_))
    }

    pub fn output(&self) -> &str {
        match self {
            Exchange::Echoed(o) | Exchange::Ended(o) | Exchange::Stalled(o) => o,
        }
    }
}

/// A line no other output can contain.
pub fn token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "echo-check-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Spawns `program args`, writes a token line to its stdin (kept open: closing it ends
/// `s_client` before the echo arrives) and watches stdout for it.
pub async fn exchange(program: &str, args: &[String]) -> Exchange {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let stderr = collect_stderr(&mut child);
    let token = token();
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(format!("{token}\n").as_bytes()).await;
    let stdout = child.stdout.take().expect("stdout");
    let (seen, ended) = watch_for(stdout, &token).await;
    let _ = child.start_kill();
    let _ = tokio::time::timeout(STEP, child.wait()).await;
    drop(stdin);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let output = format!("{seen}\n--- stderr ---\n{}", stderr.lock().unwrap());
    match (seen.contains(&token), ended) {
        (true, _) => Exchange::Echoed(output),
        (false, true) => Exchange::Ended(output),
        (false, false) => Exchange::Stalled(output),
    }
}

/// Reads until `token` appears or the stream ends (bounded); returns (text, ended).
async fn watch_for(mut stdout: impl AsyncRead + Unpin, token: &str) -> (String, bool) {
    let mut seen = Vec::new();
    let ended = tokio::time::timeout(STEP, async {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
            if String::from_utf8_lossy(&seen).contains(token) {
                return false;
            }
        }
    })
    .await
    .unwrap_or(false);
    (String::from_utf8_lossy(&seen).into_owned(), ended)
}

/// `openssl s_client` arguments against `addr`, verifying with the home's CA, plus `extra`.
pub fn s_client_args(home: &ServeHome, addr: SocketAddr, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "s_client",
        "-connect",
        &addr.to_string(),
        "-servername",
        "localhost",
        "-verify_return_error",
        "-CAfile",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(home.ca.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The `-cert/-cert_chain/-key` arguments presenting `cert` and `key`.
pub fn s_client_identity(cert: &Path, key: &Path) -> Vec<String> {
    let cert = cert.display().to_string();
    vec![
        "-cert".into(),
        cert.clone(),
        "-cert_chain".into(),
        cert,
        "-key".into(),
        key.display().to_string(),
    ]
}

/// Runs `openssl s_client` and sends a line through it.
pub async fn s_client(home: &ServeHome, addr: SocketAddr, extra: &[String]) -> Exchange {
    let mut args = s_client_args(home, addr, &[]);
    args.extend(extra.iter().cloned());
    exchange("openssl", &args).await
}

/// Runs `curl` with `args` (bounded); returns (status, stdout, stderr).
pub async fn curl(args: &[String]) -> (ExitStatus, String, String) {
    let output = tokio::time::timeout(
        STEP,
        Command::new("curl")
            .args(["-sS", "--max-time", "8"])
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("curl finishes in time")
    .expect("run curl");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `curl --cacert CA [extra] https://localhost:PORT/`, parsed as JSON (the test fails otherwise).
pub async fn curl_page(home: &ServeHome, addr: SocketAddr, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<String> = vec!["--cacert".into(), home.ca.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(format!("https://localhost:{}/", addr.port()));
    let (status, stdout, stderr) = curl(&args).await;
    assert!(
        status.success(),
        "curl {args:?} failed ({status}):\n{stdout}{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// Runs `python3 -c script args...` (bounded); returns (status, stdout, stderr).
pub async fn python(script: &str, args: &[String]) -> (ExitStatus, String, String) {
    let output = tokio::time::timeout(
        STEP,
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("python3 finishes in time")
    .expect("run python3");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A plaintext TCP exchange: sends a line; returns what came back before EOF or a pause.
pub async fn plaintext(addr: SocketAddr, line: &str) -> std::io::Result<String> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.write_all(line.as_bytes()).await?;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() >= line.len() {
                    break;
                }
            }
            Ok(Err(error)) => {
                if got.is_empty() {
                    return Err(error);
                }
                break;
            }
        }
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}
