//! The rustls backend of tls-policy.
