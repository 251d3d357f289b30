//! The `tls-policy` command: serve, check, init, demo, ticket-keys and bench (see `tls-policy --help`).

use clap::{Parser, Subcommand};

/// TLS channels from a neo4j.conf-style SSL policy config.
#[derive(Debug, Parser)]
#[command(name = "tls-policy", version, about)]
struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    command: Command,
}

/// The library's subcommands, and the benchmark.
#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Library(tls_policy::cli::Command),
    /// Compare the compiled-in backends, through our layer and raw, side by side.
    Bench(tls_policy_bench::cli::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tls_policy::cli::block_on(async move {
        match cli.command {
            Command::Library(command) => tls_policy::cli::run(command).await,
            Command::Bench(args) => tls_policy_bench::cli::run(args).await,
        }
    })
}
