//! The parsers the `fuzz/` targets drive (feature `fuzzing`, for cargo-fuzz only): crate
//! internals, exposed under one module so the library's public API does not carry them.

pub use crate::load::certs::{parse_cert_chain, parse_cert_file, summarize_certificate};
pub use crate::load::crl::parse_crl;
pub use crate::load::key::parse_private_key;
