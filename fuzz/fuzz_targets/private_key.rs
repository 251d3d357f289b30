//! Fuzzes the bytes-level private key parser, without and with a password: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_policy::fuzzing::parse_private_key;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the password, so one corpus covers both paths.
    let (password, pem) = match data.split_first() {
        Some((0, rest)) => (None, rest),
        Some((1, rest)) => (Some("changeit"), rest),
        Some((_, rest)) => (Some(""), rest),
        None => (None, data),
    };
    if let Err(problem) = parse_private_key(pem, password) {
        assert!(matches!(
            problem.setting,
            "private_key" | "private_key_password"
        ));
    }
});
