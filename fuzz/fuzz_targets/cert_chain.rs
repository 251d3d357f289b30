//! Fuzzes the certificate parsers (a PEM chain, and a trusted file in PEM or DER): never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_policy::fuzzing::{parse_cert_chain, parse_cert_file, summarize_certificate};

fuzz_target!(|data: &[u8]| {
    if let Ok(chain) = parse_cert_chain(data) {
        assert!(!chain.is_empty());
        for cert in &chain {
            // What `check` and the validity warning read from a parsed certificate.
            let _ = summarize_certificate(cert);
        }
    }
    if let Ok(certs) = parse_cert_file(data.to_vec()) {
        assert!(!certs.is_empty());
    }
});
