//! The `tls-policy` command: serve, check, init, demo, ticket-keys and bench (see `tls-policy --help`).
//!
//! One module per subcommand, parsed with clap, over the library's public API; `bench` is the
//! `tls-policy-bench` package.
mod check;
mod demo;
mod echo;
mod http_idle;
mod http_page;
mod init;
mod prometheus;
mod serve;
mod ticket_keys;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What a subcommand returns: its exit code, or an error printed to stderr (exit 1).
pub type CliResult = Result<ExitCode, Box<dyn std::error::Error + Send + Sync>>;

/// TLS channels from a neo4j.conf-style SSL policy config.
#[derive(Debug, Parser)]
#[command(name = "tls-policy", version, about)]
struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every channel that has a listen address, until SIGINT or SIGTERM.
    Serve(serve::ServeArgs),
    /// Validate a config in full, files included, and describe each channel.
    Check(check::CheckArgs),
    /// Create a policy's directories, optionally with development certificates.
    Init(init::InitArgs),
    /// Run the demo: development certificates, three channels, the commands that reach them.
    Demo(demo::DemoArgs),
    /// Create or rotate a session_ticket_keys file (80-byte keys shared by a fleet).
    TicketKeys(ticket_keys::TicketKeysArgs),
    /// Compare the compiled-in backends, through our layer and raw, side by side.
    Bench(tls_policy_bench::cli::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::Init(args) => init::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::TicketKeys(args) => ticket_keys::run(args).await,
            Command::Bench(args) => tls_policy_bench::cli::run(args, observe_like_serve()).await,
        }
    })
}

/// Installs what `tls-policy serve --metrics` runs with, so the benchmark's figures include its
/// cost: the Prometheus recorder (its endpoint on a loopback port nobody scrapes) and an
/// info-level tracing subscriber whose lines go to a sink, not the terminal. Says what it
/// installed.
async fn observe_like_serve() -> (Option<prometheus::MetricsEndpoint>, String) {
    let (endpoint, metrics) = match prometheus::MetricsEndpoint::start("127.0.0.1:0").await {
        Ok(endpoint) => (
            Some(endpoint),
            "the Prometheus metrics recorder of `serve --metrics`".to_owned(),
        ),
        Err(err) => (None, format!("no metrics recorder ({err})")),
    };
    let tracing = match tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .with_ansi(false)
        .try_init()
    {
        Ok(()) => "an info-level tracing subscriber writing to a sink".to_owned(),
        Err(_) => "the tracing subscriber already installed".to_owned(),
    };
    (endpoint, format!("{metrics}; {tracing}"))
}

/// Runs `subcommand` on a new multi-threaded tokio runtime and maps errors to exit 1.
fn block_on(subcommand: impl std::future::Future<Output = CliResult>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(subcommand) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
