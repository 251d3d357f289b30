//! `cargo run --example axum --features axum` — HTTPS with axum 0.8 through `TlsListener`, on auto-generated development certificates.
//!
//! It generates a development PKI in a temporary directory, loads policy `https` (client
//! certificates asked for but optional where the backend can ask, ALPN `h2` and `http/1.1`),
//! serves an axum router on 127.0.0.1 and prints the `curl` commands that reach it. Each
//! request is answered with its connection's TLS version, cipher suite, ALPN and client
//! certificate subject, which the handler reads from `ConnectInfo<TlsConnectInfo>` (`peer_identity()`: no X.509 crate needed).
//! Ctrl-C stops it.
//!
//! Arguments: `[PORT]` (default 0: any free port), `--backend NAME` (a compiled-in backend).

use std::error::Error;
use std::net::Ipv4Addr;

use axum::extract::ConnectInfo;
use axum::http::Version;
use axum::routing::get;
use axum::serve::Listener;
use axum::Router;
use tls_policy::config::Settings;
use tls_policy::integration::axum::{TlsConnectInfo, TlsListener};
use tls_policy::{Backend, ServerOptions, TlsChannels};
use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (backend, port) = parse_args()?;

    // Development certificates and a config binding channel `https` to policy `https`.
    let home = tempfile::tempdir()?;
    let pki = DevPki::generate(&DevPkiOptions::default())?;
    let caps = backend.capabilities();
    pki.write_policy_dir(
        &home.path().join("certificates/https"),
        &WritePolicy {
            with_crl: caps.crls,
        },
    )?;
    let (client_cert, client_key) = pki.write_client(&pki.client, home.path())?;
    let root = home.path().join("root.pem");
    std::fs::write(&root, &pki.root.cert_pem)?;
    let client_auth = if caps.client_auth { "OPTIONAL" } else { "NONE" };
    let config = home.path().join("neo4j.conf");
    std::fs::write(
        &config,
        format!(
            "dbms.ssl.policy.https.base_directory=certificates/https\n\
             dbms.ssl.policy.https.client_auth={client_auth}\n\
             https.ssl_policy=https\n"
        ),
    )?;

    // The policy, compiled with ALPN so HTTP/2 clients get HTTP/2.
    let settings = Settings::from_file(&config, None)?;
    let http = ServerOptions {
        alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..Default::default()
    };
    let channels = TlsChannels::load_with(&settings, Some(backend), |_| http.clone())?;
    let https = channels
        .channel("https")
        .ok_or("channel https is not bound")?;

    let listener = TlsListener::bind((Ipv4Addr::LOCALHOST, port), https.acceptor.clone()).await?;
    let port = listener.local_addr()?.port();
    println!(
        "listening https 127.0.0.1:{port} policy=https backend={backend} client_auth={client_auth}"
    );
    println!("try:");
    let root = root.display();
    println!("  curl --cacert {root} https://localhost:{port}/");
    if caps.client_auth {
        println!(
            "  curl --cacert {root} --cert {} --key {} https://localhost:{port}/",
            client_cert.display(),
            client_key.display()
        );
    }
    println!("Ctrl-C stops it.");

    let app = Router::new().route("/", get(describe));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<TlsConnectInfo>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    println!("stopped");
    Ok(())
}

/// Answers with what the connection negotiated, one `key: value` per line.
async fn describe(ConnectInfo(conn): ConnectInfo<TlsConnectInfo>, version: Version) -> String {
    let tls = &conn.tls;
    let alpn = tls.alpn.as_deref().map(String::from_utf8_lossy);
    let client_certificate = match tls.peer_identity() {
        Some(peer) => peer.subject.clone(),
        None => "none".to_string(),
    };
    format!(
        "remote_addr: {}\nhttp_version: {version:?}\nbackend: {}\nprotocol_version: {}\n\
         cipher_suite: {}\nalpn: {}\nclient_certificate: {client_certificate}\n",
        conn.remote_addr,
        tls.backend,
        tls.protocol_version.map_or("unknown", |v| v.as_str()),
        tls.cipher_suite.map_or("unknown", |s| s.name()),
        alpn.as_deref().unwrap_or("none"),
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
            number if number.parse::<u16>().is_ok() => port = number.parse()?,
            other => {
                return Err(format!("unknown argument {other}; use [PORT] [--backend NAME]").into())
            }
        }
    }
    Ok((backend, port))
}
