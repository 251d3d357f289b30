//! Criterion: TLS record encryption in memory (no sockets) through our `TlsStream` against the raw library, per backend, both directions, and by application write size.
//!
//! `cargo bench -p tls-policy-bench --bench records` (add `--features rustls-ring,native-tls` or
//! `--all-features` for the other backends).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tls_policy::Backend;
use tls_policy_bench::records::{Direction, InMemory};
use tls_policy_bench::{Certificates, Role};

/// Bytes moved per iteration.
const BYTES: u64 = 4 << 20;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Ours against raw, per backend and direction, with the application's default 64 KiB writes.
fn ours_vs_raw(c: &mut Criterion) {
    let runtime = runtime();
    let identity = Certificates::generate_ecdsa().expect("bench certificate");
    for backend in Backend::compiled() {
        let mut group = c.benchmark_group(format!("records/{backend}"));
        group.throughput(Throughput::Bytes(BYTES));
        for direction in Direction::BOTH {
            for role in [Role::Ours, Role::Raw] {
                let mut pair = runtime
                    .block_on(InMemory::connect(*backend, role, &identity))
                    .expect("in-memory pair");
                group.bench_function(BenchmarkId::new(direction.id(), role.name()), |b| {
                    b.iter(|| {
                        runtime
                            .block_on(pair.transfer(direction, BYTES))
                            .expect("transfer")
                    })
                });
            }
        }
        group.finish();
    }
}

/// Our stream with application writes of 1 KiB to 256 KiB: what the write size costs.
fn write_sizes(c: &mut Criterion) {
    let runtime = runtime();
    let identity = Certificates::generate_ecdsa().expect("bench certificate");
    let Some(backend) = Backend::compiled().first() else {
        return;
    };
    let mut group = c.benchmark_group(format!("write_size/{backend}"));
    group.throughput(Throughput::Bytes(BYTES));
    for chunk in [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10] {
        let mut pair = runtime
            .block_on(InMemory::connect(*backend, Role::Ours, &identity))
            .expect("in-memory pair");
        group.bench_function(BenchmarkId::from_parameter(chunk >> 10), |b| {
            b.iter(|| {
                runtime
                    .block_on(pair.transfer_in_chunks(Direction::ServerWrites, BYTES, chunk))
                    .expect("transfer")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ours_vs_raw, write_sizes);
criterion_main!(benches);
