//! Fuzzes the CRL parser (PEM with `X509 CRL` sections, or one DER CRL): never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_policy::fuzzing::parse_crl;

fuzz_target!(|data: &[u8]| {
    if let Ok(crls) = parse_crl(data.to_vec()) {
        assert!(!crls.is_empty());
    }
});
