//! `cargo run --example demo` — a TLS echo server on auto-generated development certificates.
//!
//! It makes a development PKI in a temporary home, writes a `neo4j.conf` that defines policy
//! `demo` and binds channel `bolt` to it, and serves that channel on an ephemeral loopback port
//! through `TlsLayer`. Each connection first receives one line describing its TLS session, then
//! gets its bytes echoed. It prints the `openssl s_client` commands that reach it, and serves
//! until Ctrl-C.
//!
//! Options: `--backend NAME` (rustls-aws-lc-rs, rustls-ring, native-tls: those compiled in),
//! `--port N` (default 0: any free port).

use std::error::Error;
use std::net::SocketAddr;

use tls_policy::config::Settings;
use tls_policy::dev_pki::{DevPki, DevPkiOptions, WritePolicy};
use tls_policy::{Backend, TlsChannels, TlsInfo, TlsLayer, TlsStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, Layer, ServiceExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (backend, port) = parse_args()?;
    let home = tempfile::tempdir()?;
    let pki = DevPki::generate(&DevPkiOptions::default())?;
    pki.write_policy_dir(
        &home.path().join("certificates/demo"),
        &WritePolicy::default(),
    )?;
    let (client_cert, client_key) = pki.write_client(&pki.client, home.path())?;
    let root = home.path().join("root.pem");
    std::fs::write(&root, &pki.root.cert_pem)?;

    let client_auth = if backend.capabilities().client_auth {
        "OPTIONAL"
    } else {
        "NONE"
    };
    let config = home.path().join("neo4j.conf");
    std::fs::write(
        &config,
        format!(
            "dbms.ssl.policy.demo.base_directory=certificates/demo\n\
             dbms.ssl.policy.demo.client_auth={client_auth}\n\
             bolt.ssl_policy=demo\n"
        ),
    )?;
    let settings = Settings::from_file(&config, None)?;
    let channels = TlsChannels::load(&settings, Some(backend))?;
    let layer = channels.layer("bolt")?;

    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    println!("listening bolt {addr} policy=demo backend={backend} client_auth={client_auth}");
    println!("home (deleted on exit): {}", home.path().display());
    println!("try:");
    println!(
        "  openssl s_client -connect {addr} -servername localhost -CAfile {}",
        root.display()
    );
    if client_auth != "NONE" {
        println!(
            "  openssl s_client -connect {addr} -servername localhost -CAfile {} -cert {cert} -cert_chain {cert} -key {}",
            root.display(),
            client_key.display(),
            cert = client_cert.display(),
        );
    }
    println!("Ctrl-C stops it.");

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        eprintln!("accept: {error}");
                        continue;
                    }
                };
                tokio::spawn(serve(layer.clone(), tcp, peer));
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("stopped");
    Ok(())
}

async fn serve(layer: TlsLayer, tcp: TcpStream, peer: SocketAddr) {
    let service = layer.layer(service_fn(echo));
    if let Err(error) = service.oneshot(tcp).await {
        eprintln!("{peer}: {error}");
    }
}

async fn echo(mut tls: TlsStream<TcpStream>) -> std::io::Result<()> {
    let greeting = describe(tls.info());
    tls.write_all(greeting.as_bytes()).await?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tls.read(&mut buf).await {
            Ok(0) => return tls.shutdown().await,
            Ok(n) => n,
            // Most clients hang up without a close_notify: that is the end, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        tls.write_all(&buf[..n]).await?;
    }
}

fn describe(info: &TlsInfo) -> String {
    let version = info.protocol_version.map_or("unknown", |v| v.as_str());
    let suite = info.cipher_suite.map_or("unknown", |s| s.name());
    let peer = match info.peer_certificate() {
        None => "none".to_string(),
        Some(der) => x509_parser::parse_x509_certificate(der)
            .map(|(_, cert)| cert.subject().to_string())
            .unwrap_or_else(|_| "unparsable".into()),
    };
    format!(
        "hello from tls-policy: backend={} version={version} suite={suite} client_certificate={peer}\n",
        info.backend
    )
}

fn parse_args() -> Result<(Backend, u16), Box<dyn Error>> {
    let mut backend = Backend::default_backend()?;
    let mut port = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--backend" => {
                backend = Backend::from_name(&args.next().ok_or("--backend needs a name")?)?
            }
            "--port" => port = args.next().ok_or("--port needs a number")?.parse()?,
            other => {
                return Err(
                    format!("unknown argument {other}; use --backend NAME, --port N").into(),
                )
            }
        }
    }
    Ok((backend, port))
}
