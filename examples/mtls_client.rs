//! `cargo run --example mtls_client` — dial a cluster peer with mutual TLS, both ends from one policy.
//!
//! It makes a development PKI in a temporary home and writes a `neo4j.conf` whose policy
//! `cluster` (with `verify_hostname=true`) is bound to the `cluster` channel. It serves that
//! channel in-process on an ephemeral loopback port (an echo service behind `TlsLayer`), then
//! dials it with `TlsConnector::for_channel`: the same policy presents our certificate, verifies
//! the peer's against `trusted/` and `revoked/`, and checks that it is valid for `localhost`.
//! It prints what each side saw and exits.
//!
//! Options: `--backend NAME` picks the client's backend (rustls-aws-lc-rs, rustls-ring,
//! native-tls: those compiled in); the server uses the first compiled-in backend that can ask
//! for client certificates.

use std::error::Error;
use std::time::Duration;

use tls_policy::config::Settings;
use tls_policy::connector::{Target, TlsConnector};
use tls_policy::{Backend, TlsChannels, TlsInfo, TlsLayer, TlsStream};
use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, Layer, ServiceExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let client_backend = parse_args()?;
    let server_backend = Backend::compiled()
        .iter()
        .copied()
        .find(|backend| backend.capabilities().client_auth)
        .unwrap_or(client_backend);
    let mutual = server_backend.capabilities().client_auth;

    // One policy directory: key, certificate (valid for serverAuth and clientAuth), trusted root,
    // and CRLs where both backends can honour them.
    let home = tempfile::tempdir()?;
    let pki = DevPki::generate(&DevPkiOptions::default())?;
    let with_crl = client_backend.capabilities().crls && server_backend.capabilities().crls;
    pki.write_policy_dir(
        &home.path().join("certificates/cluster"),
        &WritePolicy { with_crl },
    )?;
    let config = home.path().join("neo4j.conf");
    std::fs::write(
        &config,
        format!(
            "dbms.ssl.policy.cluster.base_directory=certificates/cluster\n\
             dbms.ssl.policy.cluster.client_auth={}\n\
             dbms.ssl.policy.cluster.verify_hostname=true\n\
             causal_clustering.ssl_policy=cluster\n",
            if mutual { "REQUIRE" } else { "NONE" }
        ),
    )?;
    let settings = Settings::from_file(&config, None)?;

    // The peer: the cluster channel served in-process.
    let channels = TlsChannels::load(&settings, Some(server_backend))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(serve_one(listener, channels.layer("cluster")?));
    println!("server: cluster channel on 127.0.0.1:{port}, backend={server_backend}");

    // The client side of the same policy.
    let connector = TlsConnector::for_channel(&settings, "cluster", Some(client_backend))?
        .connect_timeout(Duration::from_secs(5));
    let mut stream = connector.oneshot(Target::new("localhost", port)).await?;
    println!("client: {}", describe(stream.info()));

    stream.write_all(b"hello over mutual TLS\n").await?;
    let mut echoed = String::new();
    let mut reader = BufReader::new(&mut stream);
    tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut echoed)).await??;
    print!("client: echoed back: {echoed}");
    stream.shutdown().await?;

    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Ok(info))) => println!("server: {}", describe(&info)),
        Ok(Ok(Err(error))) => return Err(error.into()),
        Ok(Err(join)) => return Err(join.into()),
        Err(_) => return Err("the server did not finish in time".into()),
    }
    Ok(())
}

/// Accepts one connection, echoes one line, and returns what its handshake negotiated.
async fn serve_one(listener: TcpListener, layer: TlsLayer) -> Result<TlsInfo, String> {
    let (tcp, _peer) = listener.accept().await.map_err(|e| e.to_string())?;
    let service = layer.layer(service_fn(|tls: TlsStream<TcpStream>| async move {
        let info = tls.info().clone();
        let mut reader = BufReader::new(tls);
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let mut tls = reader.into_inner();
        tls.write_all(line.as_bytes()).await?;
        tls.shutdown().await?;
        Ok::<_, std::io::Error>(info)
    }));
    service.oneshot(tcp).await.map_err(|e| e.to_string())
}

/// One line: backend, version, suite and the peer's certificate subject.
fn describe(info: &TlsInfo) -> String {
    let version = info.protocol_version.map_or("not reported", |v| v.as_str());
    let suite = info.cipher_suite.map_or("not reported", |s| s.name());
    let peer = match info.peer_identity() {
        Some(peer) => peer.subject.clone(),
        None => "none".to_string(),
    };
    format!(
        "backend={} version={version} suite={suite} peer_certificate={peer}",
        info.backend
    )
}

fn parse_args() -> Result<Backend, Box<dyn Error>> {
    let mut backend = Backend::default_backend()?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--backend" => {
                backend = Backend::from_name(&args.next().ok_or("--backend needs a name")?)?
            }
            other => return Err(format!("unknown argument '{other}' (try --backend NAME)").into()),
        }
    }
    Ok(backend)
}
