//! `tls-policy demo`: three channels on development certificates in a temporary home, the
//! `curl` and `openssl s_client` commands that reach each, and `--self-test`, which runs them.
//!
//! Channels, all on 127.0.0.1 with a free port: `bolt` (echo, mutual TLS: `client_auth=REQUIRE`),
//! `https` (the JSON page describing the connection, `client_auth=OPTIONAL`) and `mixed` (echo,
//! `tls_level=OPTIONAL`: TLS and plaintext on one port). A backend that cannot ask for client
//! certificates (native-tls) runs every channel with `client_auth=NONE`, and says so.

mod probes;
mod self_test;
mod temp_home;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use super::serve::{init_logging, BoxError, Running, Signals};
use super::CliResult;
use probes::{probes, Probe};
use self_test::self_test;
use temp_home::TempHome;
use tls_policy::config::Settings;
use tls_policy::Backend;
use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};

/// How long live connections may go on once the demo stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `tls-policy demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The TLS backend: rustls-aws-lc-rs, rustls-ring, native-tls or openssl (those compiled in;
    /// default: the first).
    #[arg(long, value_name = "NAME")]
    pub backend: Option<Backend>,
    /// Run the printed curl and openssl commands, check each behaved as expected, and exit 0
    /// only if all did.
    #[arg(long)]
    pub self_test: bool,
}

/// Runs `tls-policy demo`.
pub async fn run(args: DemoArgs) -> CliResult {
    init_logging();
    let mut signals = Signals::register()?;
    let backend = match args.backend {
        Some(backend) => backend,
        None => Backend::default_backend()?,
    };
    let home = TempHome::create()?;
    let files = DemoFiles::write(home.path(), backend)?;
    let settings = Settings::from_file(&files.config, None)?;
    let running = Running::start(&settings, Some(backend), DRAIN_TIMEOUT).await?;
    running.print_listening()?;
    let probes = probes(running.listening(), &files);
    print!("{}", describe(home.path(), &files, backend, &probes));

    let code = if args.self_test {
        tokio::select! {
            passed = self_test(&probes, backend) => {
                if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            signal = signals.recv() => {
                eprintln!("{signal}: self-test interrupted");
                ExitCode::FAILURE
            }
        }
    } else {
        let signal = signals.recv().await;
        eprintln!("{signal}: stopping the demo");
        ExitCode::SUCCESS
    };
    running.stop().await?;
    drop(home);
    Ok(code)
}

// === the demo's files ===

/// What the demo wrote into its home.
#[derive(Debug)]
struct DemoFiles {
    config: PathBuf,
    ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    /// Whether the backend asks for client certificates (bolt REQUIRE, the others OPTIONAL).
    client_auth: bool,
}

impl DemoFiles {
    /// Development PKI, policy directory, client files and `neo4j.conf` under `home`.
    fn write(home: &Path, backend: Backend) -> Result<DemoFiles, BoxError> {
        let capabilities = backend.capabilities();
        let pki = DevPki::generate(&DevPkiOptions::default())?;
        pki.write_policy_dir(
            &home.join("certificates/demo"),
            &WritePolicy {
                with_crl: capabilities.crls,
            },
        )?;
        let (client_cert, client_key) = pki.write_client(&pki.client, &home.join("client"))?;
        let ca = home.join("ca.crt");
        fs::write(&ca, &pki.root.cert_pem)?;
        let client_auth = capabilities.client_auth;
        let (bolt_auth, web_auth) = if client_auth {
            ("REQUIRE", "OPTIONAL")
        } else {
            ("NONE", "NONE")
        };
        // A backend that never serves TLS 1.3 gets a policy that does not ask for it (no warning).
        let versions = if capabilities.tls13 {
            ""
        } else {
            "dbms.ssl.policy.bolt.tls_versions=TLSv1.2\n\
             dbms.ssl.policy.web.tls_versions=TLSv1.2\n\
             dbms.ssl.policy.mixed.tls_versions=TLSv1.2\n"
        };
        let config = home.join("neo4j.conf");
        fs::write(
            &config,
            format!(
                "# tls-policy demo (written to a temporary home, deleted on exit)\n\
                 dbms.ssl.policy.bolt.base_directory=certificates/demo\n\
                 dbms.ssl.policy.bolt.client_auth={bolt_auth}\n\
                 dbms.ssl.policy.web.base_directory=certificates/demo\n\
                 dbms.ssl.policy.web.client_auth={web_auth}\n\
                 # plaintext shares mixed's port, so its policy asks for no client certificate\n\
                 dbms.ssl.policy.mixed.base_directory=certificates/demo\n\
                 dbms.ssl.policy.mixed.client_auth=NONE\n\
                 bolt.ssl_policy=bolt\n\
                 https.ssl_policy=web\n\
                 mixed.ssl_policy=mixed\n\
                 dbms.connector.bolt.listen_address=127.0.0.1:0\n\
                 dbms.connector.https.listen_address=127.0.0.1:0\n\
                 dbms.connector.mixed.listen_address=127.0.0.1:0\n\
                 dbms.connector.mixed.tls_level=OPTIONAL\n\
                 {versions}"
            ),
        )?;
        Ok(DemoFiles {
            config,
            ca,
            client_cert,
            client_key,
            client_auth,
        })
    }
}

// === what the demo prints ===

/// The text after the `listening` lines: where the files are and how to reach each channel.
fn describe(home: &Path, files: &DemoFiles, backend: Backend, probes: &[Probe]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\ntls-policy demo on {backend}: development certificates in {} (deleted on exit)",
        home.display()
    );
    if !files.client_auth {
        let _ = writeln!(
            text,
            "note: {backend} cannot ask clients for certificates (it has no server-side \
             client-auth API), so every channel runs with client_auth=NONE: bolt is not mutual TLS \
             here. Use --backend rustls-aws-lc-rs or rustls-ring for mutual TLS."
        );
    }
    let mut channel = "";
    for probe in probes {
        if probe.channel != channel {
            channel = &probe.channel;
            let _ = writeln!(text, "\n{channel}: {}", channel_summary(channel, files));
        }
        let _ = writeln!(text, "  # {}\n  {}", probe.title, probe.command_line());
    }
    let _ = writeln!(
        text,
        "\nType a line into openssl s_client or curl telnet:// and it comes back. Ctrl-C stops the demo."
    );
    text
}

fn channel_summary(channel: &str, files: &DemoFiles) -> &'static str {
    match (channel, files.client_auth) {
        ("bolt", true) => "echo, mutual TLS (client_auth=REQUIRE)",
        ("bolt", false) => "echo over TLS (client_auth=NONE)",
        ("https", true) => "a JSON page describing the connection (client_auth=OPTIONAL)",
        ("https", false) => "a JSON page describing the connection (client_auth=NONE)",
        ("mixed", _) => "echo, TLS and plaintext on one port (tls_level=OPTIONAL)",
        _ => "",
    }
}
