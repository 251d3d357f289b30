#!/usr/bin/env bash
# Runs the whole test suite against every backend: installs the real TLS peers the interop
# tests drive (openssl, curl, python3, haproxy, Python's grpcio) and nginx (the benchmark's
# outside reference), then `cargo test --workspace --all-features`.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
command -v haproxy >/dev/null || need+=(haproxy)
dpkg -s nginx >/dev/null 2>&1 || need+=(nginx)
command -v pkg-config >/dev/null || need+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} (install them: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
fi

# tests/grpc.rs drives a real grpcio client (pip's wheel; Debian's python3 may need
# --break-system-packages, PEP 668).
if ! python3 -c 'import grpc' 2>/dev/null; then
  python3 -m pip install -q grpcio 2>/dev/null || python3 -m pip install -q --break-system-packages grpcio
fi

cargo test --workspace --all-features "$@"
