//! nginx as an outside reference: one process with its own config, certificate and logs in a temporary directory, driven over HTTPS by the bench client.
//!
//! nginx runs with `master_process off` (one process serving, so its CPU time is the server's),
//! pinned to the servers' core, TLS 1.2 and 1.3, session tickets and the session cache off,
//! X25519 first (P-256 second: OpenSSL serves an ECDSA P-256 certificate over TLS 1.2 only to
//! a client that names that curve). `/hs` answers a one-byte body (the handshake figure: handshake,
//! one request, one response); `/bulk` serves a file from tmpfs (read from memory); `/upload`
//! discards a POSTed body. Its CPU time is read from `/proc/<pid>/schedstat` (nanoseconds on a
//! CPU), or `/proc/<pid>/stat` (utime + stime, in clock ticks) where that is missing.
// nginx is driven by the rustls client only: without a rustls provider it goes unused.
#![cfg_attr(
    not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")),
    allow(dead_code)
)]

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::pki::Certificates;
use super::BenchError;

/// The size of the file `/bulk` serves; a transfer is whole responses of it on one connection.
pub(crate) const BULK_FILE: u64 = 16 << 20;

/// The `nginx` binary: on `PATH`, else `/usr/sbin/nginx`.
pub(crate) fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|path| path.is_file())
    });
    on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/nginx");
        sbin.is_file().then_some(sbin)
    })
}

/// A running nginx; stopped (and its directory removed) when dropped.
pub(crate) struct Nginx {
    child: Child,
    dir: PathBuf,
    www: PathBuf,
    /// The ECDSA P-256 server.
    pub(crate) ecdsa: SocketAddr,
    /// The RSA-2048 server, where the run has an RSA certificate.
    pub(crate) rsa: Option<SocketAddr>,
    /// `nginx -v`'s answer, and the OpenSSL it was built with.
    pub(crate) version: String,
}

fn free_port() -> Result<SocketAddr, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|err| BenchError::new(format!("cannot pick a port for nginx: {err}")))?;
    listener
        .local_addr()
        .map_err(|err| BenchError::new(format!("cannot pick a port for nginx: {err}")))
}

fn server_block(addr: SocketAddr, cert: &Path, key: &Path, www: &Path) -> String {
    format!(
        "    server {{
        listen {addr} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets off;
        ssl_session_cache off;
        ssl_ecdh_curve X25519:prime256v1;
        keepalive_requests 100000;
        client_max_body_size 0;
        location = /hs {{ return 200 \"x\"; }}
        location = /bulk {{ root {www}; try_files /bulk =404; }}
        location = /upload {{ return 204; }}
    }}
",
        cert = cert.display(),
        key = key.display(),
        www = www.display(),
    )
}

impl Nginx {
    /// Starts `exe` serving `certs` on two free loopback ports, pinned to `pin` when given, and
    /// waits (at most 5 s) until it accepts connections.
    pub(crate) fn start(
        exe: &Path,
        certs: &Certificates,
        pin: Option<usize>,
    ) -> Result<Nginx, BenchError> {
        let version = Command::new(exe)
            .arg("-V")
            .stdin(Stdio::null())
            .output()
            .map(|out| {
                let text = String::from_utf8_lossy(&out.stderr).into_owned();
                let mut lines = text.lines();
                let name = lines
                    .next()
                    .unwrap_or("nginx")
                    .trim_start_matches("nginx version: ")
                    .to_owned();
                let openssl = text
                    .lines()
                    .find(|line| line.contains("OpenSSL"))
                    .map(|line| format!(" ({})", line.trim()))
                    .unwrap_or_default();
                format!("{name}{openssl}")
            })
            .map_err(|err| BenchError::new(format!("{}: {err}", exe.display())))?;
        let base = std::env::temp_dir().join(format!(
            "tls-policy-bench-nginx-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let mk = |path: &Path| {
            std::fs::create_dir_all(path)
                .map_err(|err| BenchError::new(format!("{}: {err}", path.display())))
        };
        mk(&base)?;
        mk(&base.join("logs"))?;
        // The file served from memory: tmpfs where there is one.
        let shm = Path::new("/dev/shm");
        let www = if shm.is_dir() {
            shm.join(base.file_name().unwrap_or_default())
        } else {
            base.join("www")
        };
        let mut dirs = NginxDirs {
            base: base.clone(),
            www: www.clone(),
            armed: true,
        };
        mk(&www)?;
        let write = |path: PathBuf, data: &[u8]| {
            std::fs::write(&path, data)
                .map_err(|err| BenchError::new(format!("{}: {err}", path.display())))
        };
        write(www.join("bulk"), &vec![0x5a; BULK_FILE as usize])?;
        write(base.join("ecdsa.crt"), certs.ecdsa.chain_pem.as_bytes())?;
        write(base.join("ecdsa.key"), certs.ecdsa.key_pem.as_bytes())?;
        let ecdsa = free_port()?;
        let mut servers = server_block(
            ecdsa,
            &base.join("ecdsa.crt"),
            &base.join("ecdsa.key"),
            &www,
        );
        let rsa = match &certs.rsa {
            Ok(rsa) => {
                write(base.join("rsa.crt"), rsa.chain_pem.as_bytes())?;
                write(base.join("rsa.key"), rsa.key_pem.as_bytes())?;
                let addr = free_port()?;
                servers.push_str(&server_block(
                    addr,
                    &base.join("rsa.crt"),
                    &base.join("rsa.key"),
                    &www,
                ));
                Some(addr)
            }
            Err(_) => None,
        };
        let config = format!(
            "master_process off;
daemon off;
worker_processes 1;
pid {pid};
error_log {log} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile off;
    open_file_cache max=16;
    client_body_temp_path {base}/body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
{servers}}}
",
            pid = base.join("nginx.pid").display(),
            log = base.join("logs/error.log").display(),
            base = base.display(),
        );
        write(base.join("nginx.conf"), config.as_bytes())?;
        let child = Command::new(exe)
            .arg("-p")
            .arg(&base)
            .arg("-c")
            .arg(base.join("nginx.conf"))
            .arg("-e")
            .arg(base.join("logs/error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| BenchError::new(format!("cannot start {}: {err}", exe.display())))?;
        // From here on `Nginx` removes them.
        dirs.armed = false;
        let nginx = Nginx {
            child,
            dir: base,
            www,
            ecdsa,
            rsa,
            version,
        };
        if let Some(cpu) = pin {
            let mut set = rustix::thread::CpuSet::new();
            set.set(cpu);
            if let Some(pid) = rustix::process::Pid::from_raw(nginx.pid() as i32) {
                let _ = rustix::thread::sched_setaffinity(Some(pid), &set);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for addr in std::iter::once(ecdsa).chain(rsa) {
            loop {
                if std::net::TcpStream::connect(addr).is_ok() {
                    break;
                }
                if Instant::now() > deadline {
                    let log = std::fs::read_to_string(nginx.dir.join("logs/error.log"))
                        .unwrap_or_default();
                    return Err(BenchError::new(format!(
                        "nginx did not listen on {addr} within 5 s: {}",
                        log.trim()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(nginx)
    }

    /// nginx's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The directories made before nginx runs, removed if starting fails.
struct NginxDirs {
    base: PathBuf,
    www: PathBuf,
    armed: bool,
}

impl Drop for NginxDirs {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_dir_all(&self.base);
            let _ = std::fs::remove_dir_all(&self.www);
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.www);
    }
}

/// A process's CPU time (all its threads): `/proc/<pid>/schedstat`'s first field, else
/// `/proc/<pid>/stat`'s utime + stime at 100 ticks a second.
pub(crate) fn process_cpu(pid: u32) -> Option<Duration> {
    if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/schedstat")) {
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        {
            return Some(Duration::from_nanos(ns));
        }
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Reads one HTTP/1.1 response (headers, then a `Content-Length` body, discarded) and returns
/// the body's length.
pub(crate) async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    scratch: &mut Vec<u8>,
) -> io::Result<u64> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "nginx closed the connection mid-response",
            ));
        }
        head.push(byte[0]);
        if head.len() > 16 * 1024 {
            return Err(io::Error::other("an HTTP response head over 16 KiB"));
        }
    }
    let head = String::from_utf8_lossy(&head);
    if !head.starts_with("HTTP/1.1 2") {
        return Err(io::Error::other(format!(
            "nginx answered {:?}",
            head.lines().next().unwrap_or_default()
        )));
    }
    let length: u64 = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    scratch.resize(256 * 1024, 0);
    let mut left = length;
    while left > 0 {
        let want = left.min(scratch.len() as u64) as usize;
        let n = stream.read(&mut scratch[..want]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "nginx closed the connection mid-body",
            ));
        }
        left -= n as u64;
    }
    Ok(length)
}

/// `GET /hs` on a kept-alive connection, and its answer.
pub(crate) async fn small_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    close: bool,
) -> io::Result<()> {
    let request: &[u8] = if close {
        b"GET /hs HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    } else {
        b"GET /hs HTTP/1.1\r\nHost: bench\r\n\r\n"
    };
    stream.write_all(request).await?;
    stream.flush().await?;
    read_response(stream, &mut Vec::new()).await.map(|_| ())
}

/// Server → client: whole `/bulk` responses until at least `bytes`; returns the bytes moved.
pub(crate) async fn download<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: u64,
) -> io::Result<u64> {
    let mut moved = 0;
    let mut scratch = Vec::new();
    while moved < bytes {
        stream
            .write_all(b"GET /bulk HTTP/1.1\r\nHost: bench\r\n\r\n")
            .await?;
        stream.flush().await?;
        moved += read_response(stream, &mut scratch).await?;
    }
    Ok(moved)
}

/// Client → server: one POST of `bytes` to `/upload`, then `GET /hs`, whose answer comes only
/// once nginx has read (and discarded) the whole body.
pub(crate) async fn upload<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: u64,
) -> io::Result<u64> {
    let head = format!("POST /upload HTTP/1.1\r\nHost: bench\r\nContent-Length: {bytes}\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    super::protocol::send_bytes(stream, bytes).await?;
    stream
        .write_all(b"GET /hs HTTP/1.1\r\nHost: bench\r\n\r\n")
        .await?;
    stream.flush().await?;
    let mut scratch = Vec::new();
    read_response(stream, &mut scratch).await?;
    read_response(stream, &mut scratch).await?;
    Ok(bytes)
}
