//! `tls-policy check` (being built).

use super::CliResult;

/// Arguments of `tls-policy check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

/// Runs `tls-policy check`.
pub async fn run(_args: CheckArgs) -> CliResult {
    Err("tls-policy check is not built yet".into())
}
