#!/usr/bin/env bash
# What one full handshake costs the server, per path: instructions and allocations (callgrind)
# and syscalls (strace), each the difference between a run of N2 and one of N1 connections,
# divided by N2 - N1 (start-up cancels out). The client is a child process, not counted.
#
#   scripts/handshake_cost.sh [--tls12] [--ring] [--bare]     (needs valgrind and strace)
#
# Paths: inmem (rustls server handshake in memory), raw (tokio-rustls accept on TCP), layer
# (TlsLayer), serve (the Listener). --bare: no metrics recorder and no tracing subscriber.
set -euo pipefail
cd "$(dirname "$0")/.."
N1=${N1:-20}
N2=${N2:-120}
MODES=${MODES:-"inmem raw layer serve"}
# BIN: a binary built before (to compare two versions of the code side by side).
if [ -z "${BIN:-}" ]; then
    export CARGO_INCREMENTAL=0
    cargo build --quiet --release -p tls-policy-bench --example handshake_cost --features rustls-aws-lc-rs,rustls-ring
fi
bin=${BIN:-target/release/examples/handshake_cost}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Prints "instructions allocations" of one callgrind output file.
callgrind_counts() {
    python3 - "$1" <<'EOF'
import re, sys
names, total, allocs, current = {}, 0, 0, None
alloc_fns = {"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign"}
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3).strip()
        if m.group(1) == "cfn":
            current = names.get(m.group(2), "")
        continue
    if line.startswith("calls=") and current is not None:
        if current in alloc_fns:
            allocs += int(line.split("=")[1].split()[0])
        current = None
        continue
    if line.startswith("summary:") or line.startswith("totals:"):
        total = int(line.split(":")[1].split()[0])
print(total, allocs)
EOF
}

# Prints the number of syscalls of one strace -c output file.
strace_calls() {
    awk '$NF=="total" {print $4}' "$1"
}

printf '%-6s %14s %12s %10s\n' path instr/conn allocs/conn syscalls
for mode in $MODES; do
    declare -A ir al sc
    for n in $N1 $N2; do
        # Only the serving counts: start-up (aws-lc's jitter entropy, whose cost varies from
        # run to run, key generation) is left out.
        toggle=(--toggle-collect='tokio::runtime::runtime::Runtime::block_on*')
        if [ "$mode" = inmem ]; then
            toggle=(--toggle-collect='*server_step*' --toggle-collect='*server_new*')
        fi
        valgrind --tool=callgrind "${toggle[@]}" --callgrind-out-file="$scratch/cg.$mode.$n" \
            "$bin" "$mode" "$n" "$@" >/dev/null 2>"$scratch/vg.log" || { cat "$scratch/vg.log"; exit 1; }
        read -r ir[$n] al[$n] < <(callgrind_counts "$scratch/cg.$mode.$n")
        sc[$n]=0
        if [ "$mode" != inmem ]; then
            strace -c -o "$scratch/st.$mode.$n" "$bin" "$mode" "$n" "$@" >/dev/null
            sc[$n]=$(strace_calls "$scratch/st.$mode.$n")
        fi
    done
    d=$((N2 - N1))
    printf '%-6s %14d %12.1f %10.1f\n' "$mode" $(((ir[$N2] - ir[$N1]) / d)) \
        "$(echo "(${al[$N2]} - ${al[$N1]}) / $d" | bc -l)" "$(echo "(${sc[$N2]} - ${sc[$N1]}) / $d" | bc -l)"
    unset ir al sc
done
