//! `tls-policy serve` (being built).

use super::CliResult;

/// Arguments of `tls-policy serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Runs `tls-policy serve`.
pub async fn run(_args: ServeArgs) -> CliResult {
    Err("tls-policy serve is not built yet".into())
}
