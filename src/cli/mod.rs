//! The `tls-policy` command's subcommands that live in the library: one per module, parsed with clap.
//!
//! The binary is the `tls-policy-cli` package: it adds `bench` (the `tls-policy-bench`
//! package) beside these and calls [`run`] on a runtime made by [`block_on`].
pub mod check;
pub mod demo;
mod echo;
mod http_idle;
mod http_page;
pub mod init;
pub mod serve;
pub mod ticket_keys;

use std::process::ExitCode;

use clap::Subcommand;

/// What a subcommand returns: its exit code, or an error printed to stderr (exit 1).
pub type CliResult = Result<ExitCode, Box<dyn std::error::Error + Send + Sync>>;

/// The subcommands this library runs (`tls-policy-cli` flattens them into its own).
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
    /// Create or rotate a session_ticket_keys file (80-byte keys shared by a fleet).
    TicketKeys(ticket_keys::TicketKeysArgs),
}

/// Runs one subcommand.
pub async fn run(command: Command) -> CliResult {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Init(args) => init::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::TicketKeys(args) => ticket_keys::run(args).await,
    }
}

/// Runs `subcommand` on a new multi-threaded tokio runtime and maps errors to exit 1.
///
/// ```no_run
/// use tls_policy::cli::{block_on, run, Command};
/// # fn parsed() -> Command { unimplemented!() }
/// let code = block_on(run(parsed()));
/// ```
pub fn block_on(subcommand: impl std::future::Future<Output = CliResult>) -> ExitCode {
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
