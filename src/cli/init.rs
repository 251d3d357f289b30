//! `tls-policy init` (being built).

use super::CliResult;

/// Arguments of `tls-policy init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {}

/// Runs `tls-policy init`.
pub async fn run(_args: InitArgs) -> CliResult {
    Err("tls-policy init is not built yet".into())
}
