//! `tls-policy bench`: compares the compiled-in backends through our layer and raw, and prints the table.

use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use crate::{Options, ProbeTarget, Progress};
use tls_policy::Backend;

/// What `tls-policy bench` returns: its exit code, or an error printed to stderr (exit 1).
pub type CliResult = Result<ExitCode, Box<dyn std::error::Error + Send + Sync>>;

/// Arguments of `tls-policy bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A short run (about 90 s): 3 rounds of short windows, 1,000 idle connections instead
    /// of 10,000, nginx compared on ECDSA and AES-128-GCM only.
    #[arg(long)]
    pub quick: bool,
    /// Write every figure, and the `comparisons` array, as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw the ours/raw ratios as an SVG bar chart to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Measure only this backend (repeatable); default: every compiled-in one.
    #[arg(long = "backend", value_name = "NAME")]
    pub backends: Vec<String>,
    /// Rounds per figure (default: 3 with --quick, else 11).
    #[arg(long, value_name = "N")]
    pub rounds: Option<usize>,
    /// Idle connections for the memory figure (default: 1,000 with --quick, else 10,000).
    #[arg(long, value_name = "N")]
    pub connections: Option<usize>,
    /// Internal: serve as a memory probe (commands on stdin, answers on stdout).
    #[arg(long, value_name = "TARGET", hide = true)]
    pub memory_probe: Option<String>,
}

/// Runs `tls-policy bench`.
///
/// `observe` installs what `tls-policy serve --metrics` runs with (the command's Prometheus
/// recorder and tracing subscriber, which live in `tls-policy-cli`), so the figures include its
/// cost, and says what it installed: it is awaited once the arguments are read (never in a
/// memory probe), and what it returns is held until the run ends, as `serve` holds it.
pub async fn run<Held>(
    args: BenchArgs,
    observe: impl std::future::Future<Output = (Held, String)>,
) -> CliResult {
    if let Some(target) = &args.memory_probe {
        let target: ProbeTarget = target.parse()?;
        blocking(move || crate::run_probe(target)).await??;
        return Ok(ExitCode::SUCCESS);
    }

    let mut options = if args.quick {
        Options::quick()
    } else {
        Options::full()
    };
    if !args.backends.is_empty() {
        options.backends = args
            .backends
            .iter()
            .map(|name| Backend::from_name(name))
            .collect::<Result<_, _>>()?;
    }
    if let Some(rounds) = args.rounds {
        options.rounds = rounds.max(1);
    }
    if let Some(connections) = args.connections {
        options.memory_connections = connections.max(1);
    }
    options.probe_exe = std::env::current_exe().ok();
    // Held until the run ends, as `serve` holds it.
    let (_held, observability) = observe.await;
    options.observability = observability;

    // The first lines: the CPU's crypto paths and the backends in use.
    let machine = crate::Machine::detect();
    println!("{}", machine.summary());
    println!("{}", machine.libraries_line());
    for backend in &options.backends {
        let info = crate::backend_info(*backend);
        println!(
            "backend {}: {}; raw baseline: {}; load client: {}",
            info.name, info.library, info.raw, info.client
        );
        if let Some(aead) = &info.record_aead {
            println!("  ours seals records with: {aead}");
        }
    }
    println!(
        "{} run: {} rounds per figure, ours and raw alternating{}",
        if options.quick { "quick" } else { "full" },
        options.rounds,
        if options.quick {
            "; a full run (without --quick) takes several minutes"
        } else {
            ""
        }
    );
    println!();

    let bar = Bar::new();
    let report = blocking(move || {
        let result = crate::run(&options, &bar);
        bar.finish();
        result
    })
    .await??;

    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, crate::render_svg(&report))
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `work` on a thread of its own (the benchmark builds its own runtimes) and waits for it.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Box<dyn std::error::Error + Send + Sync>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench".into())
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    rx.await
        .map_err(|_| "the benchmark thread ended without an answer".into())
}

/// The progress bar on stderr (indicatif hides it when stderr is not a terminal).
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed:>4} {wide_msg}")
        {
            bar.set_style(style);
        }
        Bar(bar)
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn begin(&self, total: u64) {
        self.0.set_length(total);
    }

    fn step(&self, label: &str) {
        // The previous figure is done.
        if !self.0.message().is_empty() {
            self.0.inc(1);
        }
        self.0.set_message(label.to_owned());
    }
}
