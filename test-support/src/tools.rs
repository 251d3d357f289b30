//! Real peers the interop tests drive (`openssl`, `curl`, `python3`): a missing one fails the
//! test, unless `TLS_POLICY_SKIP_MISSING_TOOLS=1` says to skip it, and then it says so.

use std::process::{Command, Stdio};

/// The environment variable that lets a test whose tool is missing skip (printing that it did)
/// instead of failing. Named in the README; never set by `scripts/test.sh` or CI.
pub const SKIP_MISSING_TOOLS: &str = "TLS_POLICY_SKIP_MISSING_TOOLS";

/// Whether `program` runs here. A missing program panics (the test fails), naming the package
/// to install; with `TLS_POLICY_SKIP_MISSING_TOOLS=1` it returns `false` after printing
/// `SKIPPED: ...`, and the caller returns early.
pub fn tool(program: &str) -> bool {
    let probe = match program {
        "openssl" => "version",
        // haproxy's `--version` exits 1; `-v` prints the version and exits 0.
        "haproxy" => "-v",
        "nginx" => "-v",
        _ => "--version",
    };
    let found = Command::new(program)
        .arg(probe)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if found {
        return true;
    }
    let skip = std::env::var(SKIP_MISSING_TOOLS).is_ok_and(|value| value == "1");
    assert!(
        skip,
        "{program} is not installed: this test drives it as a real peer. Install it \
         (scripts/test.sh does: apt-get install -y {program}), or set {SKIP_MISSING_TOOLS}=1 to \
         skip the tests that need it"
    );
    eprintln!("SKIPPED: {program} is not installed and {SKIP_MISSING_TOOLS}=1");
    false
}
