//! The `tls-policy` command: serve, check, init, demo and bench (see `tls-policy --help`).

fn main() -> std::process::ExitCode {
    tls_policy::cli::main()
}
