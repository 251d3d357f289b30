//! Listening on a channel's address: TLS, plaintext or both on one port (`tls_level`).
