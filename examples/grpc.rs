//! `cargo run --example grpc --features tonic` — a gRPC service (the standard health service) with mutual TLS through tonic 0.14, on auto-generated development certificates.
//!
//! It generates a development PKI in a temporary directory and a config whose channel `grpc`
//! is bound to policy `grpc` (client certificates required where the backend can ask; ALPN
//! `h2` declared by `dbms.connector.grpc.alpn=h2`), serves `grpc.health.v1.Health` on
//! 127.0.0.1 through [`TlsIncoming`], then calls it once with a tonic client dialling over
//! [`GrpcConnector`] with the client certificate, and prints the `grpcurl` command that
//! reaches it. Ctrl-C stops it. The TLS part is the ten lines marked below.
//!
//! Arguments: `[PORT]` (default 0: any free port), `--backend NAME` (a compiled-in backend).

use std::error::Error;

use tls_policy::config::Settings;
use tls_policy::integration::tonic::{ConnectInfoLayer, GrpcConnector, TlsIncoming};
use tls_policy::{Backend, TlsChannels};
use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (backend, port) = parse_args()?;

    // Development certificates: the server's policy `grpc`, and a client policy `client` that
    // presents a client certificate and trusts the same root.
    let home = tempfile::tempdir()?;
    let pki = DevPki::generate(&DevPkiOptions::default())?;
    let caps = backend.capabilities();
    let with_crl = caps.crls;
    pki.write_policy_dir(
        &home.path().join("certificates/grpc"),
        &WritePolicy { with_crl },
    )?;
    let (client_cert, client_key) = pki.write_client(&pki.client, home.path())?;
    let root = home.path().join("root.pem");
    std::fs::write(&root, &pki.root.cert_pem)?;
    let client_dir = home.path().join("certificates/client");
    std::fs::create_dir_all(client_dir.join("trusted"))?;
    std::fs::create_dir_all(client_dir.join("revoked"))?;
    std::fs::copy(&client_cert, client_dir.join("public.crt"))?;
    std::fs::copy(&client_key, client_dir.join("private.key"))?;
    std::fs::copy(&root, client_dir.join("trusted/root.pem"))?;
    let client_auth = if caps.client_auth { "REQUIRE" } else { "NONE" };
    let config = home.path().join("neo4j.conf");
    std::fs::write(
        &config,
        format!(
            "dbms.ssl.policy.grpc.base_directory=certificates/grpc\n\
             dbms.ssl.policy.grpc.client_auth={client_auth}\n\
             grpc.ssl_policy=grpc\n\
             dbms.connector.grpc.listen_address=127.0.0.1:{port}\n\
             dbms.connector.grpc.alpn=h2\n\
             dbms.ssl.policy.client.base_directory=certificates/client\n\
             dbms.ssl.policy.client.client_auth=NONE\n\
             client.ssl_policy=client\n"
        ),
    )?;

    // --- the TLS part: load the policies, serve the channel, dial it ---
    let settings = Settings::from_file(&config, None)?;
    let channels = TlsChannels::load(&settings, Some(backend))?;
    let incoming = TlsIncoming::for_channel(&channels, "grpc").await?;
    let addr = incoming.local_addr().ok_or("the listener is bound")?;
    let (_reporter, health) = tonic_health::server::health_reporter();
    let server = tonic::transport::Server::builder()
        .layer(ConnectInfoLayer)
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = tokio::signal::ctrl_c().await;
        });
    let server = tokio::spawn(server);
    println!(
        "serving grpc.health.v1.Health on {addr} policy=grpc backend={backend} client_auth={client_auth}"
    );

    let connector = GrpcConnector::for_channel(&channels, "client")?.with_server_name("localhost");
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?;
    let mut client = HealthClient::new(endpoint.connect_with_connector(connector).await?);
    let reply = client.check(HealthCheckRequest::default()).await?;
    println!(
        "health check (client certificate sent, server client_auth={client_auth}): {:?}",
        reply.into_inner().status()
    );

    println!("try:");
    println!(
        "  grpcurl -cacert {} -cert {} -key {} -servername localhost {addr} grpc.health.v1.Health/Check",
        root.display(),
        client_cert.display(),
        client_key.display()
    );
    println!("Ctrl-C stops it.");
    server.await??;
    println!("stopped");
    Ok(())
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
