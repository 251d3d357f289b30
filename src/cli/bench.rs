//! `tls-policy bench` (being built).

use super::CliResult;

/// Arguments of `tls-policy bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs `tls-policy bench`.
pub async fn run(_args: BenchArgs) -> CliResult {
    Err("tls-policy bench is not built yet".into())
}
