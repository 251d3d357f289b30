//! `cargo run --example hyper --features http` — HTTPS with hyper-util: `TlsLayer` secures each connection, `TlsInfoLayer` hands its TLS parameters to every request.
//!
//! It generates a development PKI in a temporary directory, loads policy `https` (client
//! certificates asked for but optional where the backend can ask, ALPN `h2` and `http/1.1`),
//! serves on 127.0.0.1 with hyper-util's auto (HTTP/1.1 + HTTP/2) connection builder and
//! prints the `curl` commands that reach it. Each request is answered with its connection's TLS
//! version, cipher suite, ALPN and client certificate subject, which the handler reads from
//! the request extension `Arc<TlsInfo>`. Ctrl-C stops it.
//!
//! Arguments: `[PORT]` (default 0: any free port), `--backend NAME` (a compiled-in backend).

use std::convert::Infallible;
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tls_policy::config::Settings;
use tls_policy::integration::http::TlsInfoLayer;
use tls_policy::{Backend, ServerOptions, TlsChannels, TlsInfo, TlsLayer, TlsStream};
use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, Layer, ServiceExt};

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

    // The policy, compiled with ALPN so HTTP/2 clients get HTTP/2, as a tower layer.
    let settings = Settings::from_file(&config, None)?;
    let http = ServerOptions {
        alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..Default::default()
    };
    let channels = TlsChannels::load_with(&settings, Some(backend), |_| http.clone())?;
    let tls = channels.layer("https")?;

    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
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

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    tokio::spawn(connection(tls.clone(), tcp, peer));
                }
                Err(error) => eprintln!("accept: {error}"),
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("stopped");
    Ok(())
}

/// One connection: the TLS handshake (bounded by the layer's timeout), then HTTP/1.1 or
/// HTTP/2 with the connection's `Arc<TlsInfo>` added to each request.
async fn connection(tls: TlsLayer, tcp: TcpStream, peer: SocketAddr) {
    let http = service_fn(|stream: TlsStream<TcpStream>| async move {
        let service = TlsInfoLayer::for_stream(&stream).layer(service_fn(describe));
        Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .await
    });
    if let Err(error) = tls.layer(http).oneshot(tcp).await {
        eprintln!("{peer}: {error}");
    }
}

/// Answers with what the connection negotiated, one `key: value` per line.
async fn describe(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(tls) = request.extensions().get::<Arc<TlsInfo>>() else {
        return Ok(Response::new(Full::from(
            "no TLS information on this request\n",
        )));
    };
    let alpn = tls.alpn.as_deref().map(String::from_utf8_lossy);
    let client_certificate = match tls.peer_identity() {
        Some(peer) => peer.subject.clone(),
        None => "none".to_string(),
    };
    let body = format!(
        "http_version: {:?}\nbackend: {}\nprotocol_version: {}\ncipher_suite: {}\nalpn: {}\n\
         client_certificate: {client_certificate}\n",
        request.version(),
        tls.backend,
        tls.protocol_version.map_or("unknown", |v| v.as_str()),
        tls.cipher_suite.map_or("unknown", |s| s.name()),
        alpn.as_deref().unwrap_or("none"),
    );
    Ok(Response::new(Full::from(body)))
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
