//! The client side: dialling a peer with a channel's policy (mutual TLS for cluster and backup).
