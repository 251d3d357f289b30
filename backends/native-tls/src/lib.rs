//! The native-tls backend of tls-policy.
