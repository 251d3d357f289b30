//! Loading a policy's files and validating them (spec §2) into a backend-neutral `ServerPolicy`.
