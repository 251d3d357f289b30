#!/bin/sh
# Writes the seed corpora (fuzz/corpus/<target>/) from a freshly generated development PKI.
# The keys are throwaway and never committed: corpus/ is in .gitignore.
set -eu
cd "$(dirname "$0")"
cargo run --quiet --example seeds
