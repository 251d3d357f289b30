//! `tls-policy demo` (being built).

use super::CliResult;

/// Arguments of `tls-policy demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Runs `tls-policy demo`.
pub async fn run(_args: DemoArgs) -> CliResult {
    Err("tls-policy demo is not built yet".into())
}
