//! The `tls-policy` command line: one subcommand per module, parsed with clap.

pub mod bench;
pub mod check;
pub mod demo;
mod echo;
mod http_idle;
mod http_page;
pub mod init;
pub mod serve;
pub mod ticket_keys;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What a subcommand returns: its exit code, or an error printed to stderr (exit 1).
pub type CliResult = Result<ExitCode, Box<dyn std::error::Error + Send + Sync>>;

/// TLS channels from a neo4j.conf-style SSL policy config.
#[derive(Debug, Parser)]
#[command(name = "tls-policy", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every channel that has a listen address, until SIGINT or SIGTERM.
    Serve(serve::ServeArgs),
    /// Validate a config in full, files included, and describe each channel.
    Check(check::CheckArgs),
    /// Create a policy's directories, optionally with development certificates.
    Init(init::InitArgs),
    /// Run the demo: development certificates, three channels, the commands that reach them.
    Demo(demo::DemoArgs),
    /// Compare the compiled-in backends, through our layer and raw, side by side.
    Bench(bench::BenchArgs),
    /// Create or rotate a session_ticket_keys file (80-byte keys shared by a fleet).
    TicketKeys(ticket_keys::TicketKeysArgs),
}

/// Parses the command line, runs the subcommand on a tokio runtime, and maps errors to exit 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::Init(args) => init::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::TicketKeys(args) => ticket_keys::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
