//! `tls-policy serve`: one listener per channel that has a listen address, until SIGINT or SIGTERM
//! (SIGTERM after a grace period during which `/ready` already says 503).

use std::error::Error;
use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;

use super::echo::echo;
use super::http_idle::HttpTimeouts;
use super::http_page::{serve_http, Page};
use super::CliResult;
use tls_policy::config::{ConnectorKind, Settings, TlsLevel};
use tls_policy::listener::{Connection, Listener, ListenerConfig, ServeSummary};
use tls_policy::{Backend, TlsChannels};

/// A boxed error, as the command line reports them.
pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// Arguments of `tls-policy serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The neo4j.conf-style config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The directory relative paths resolve against (default: the config file's directory).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The TLS backend, overriding dbms.ssl.backend: rustls-aws-lc-rs, rustls-ring, native-tls or
    /// openssl (those compiled in).
    #[arg(long, value_name = "NAME")]
    pub backend: Option<Backend>,
    /// Seconds live connections may take to finish after SIGINT or SIGTERM before they are dropped.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub drain_timeout: u64,
    /// Seconds between SIGTERM and the end of accepting: `/ready` answers 503 at once, so the
    /// load balancer stops sending new connections before the listeners close. SIGINT, or a
    /// second signal, skips the rest of it.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub shutdown_grace: u64,
    /// Serve metrics in the Prometheus text format at http://ADDR/metrics (plain HTTP;
    /// host:port, port 0 picks a free one), and the probes /ready (200 while accepting, 503
    /// before the channels listen and from the moment a shutdown starts; a `note:` line per
    /// dead or unverified file watch) and /live (200).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Do not watch the policies' files for changes; SIGHUP still reloads them.
    #[arg(long)]
    pub no_watch: bool,
}

/// Runs `tls-policy serve`.
pub async fn run(args: ServeArgs) -> CliResult {
    init_logging();
    raise_open_file_limit();
    // Registered first, so a signal that arrives as soon as the listening lines are out counts.
    let mut signals = Signals::register()?;
    let mut hangups = Hangups::register()?;
    let settings = Settings::from_file(&args.config, args.home.as_deref())?;
    let drain_timeout = Duration::from_secs(args.drain_timeout);
    // Installed before the listeners start, so that they record into it.
    let metrics = match args.metrics.as_deref() {
        Some(address) => Some(crate::prometheus::MetricsEndpoint::start(address).await?),
        None => None,
    };
    let running = Running::start(&settings, args.backend, drain_timeout).await?;
    running.print_listening()?;
    if let Some(metrics) = &metrics {
        tls_policy::observe::record_settings_expiry(&settings);
        println!("metrics {}", metrics.url());
        // Every channel listens from here on.
        metrics.readiness().set(true);
    }
    // Hot reload: the policies' files are watched (unless --no-watch), and SIGHUP re-reads them;
    // `dbms.security.tls_reload_enabled=false` turns both off.
    let reload = settings.tls_reload_enabled;
    if !reload {
        eprintln!(
            "hot reload off (dbms.security.tls_reload_enabled=false): files are not watched and \
             SIGHUP is ignored; restart to pick up new keys and certificates"
        );
    }
    let _watcher = if reload && !args.no_watch {
        let watched = running.watch().await;
        // A dead or unverified watch is a note on /ready, not a 503: every channel still
        // serves valid material, and taking each replica that shares the cause (the same
        // read-only mount, the same exhausted inotify limit) out of rotation at once would turn
        // stale-material risk into an outage. The alert belongs on
        // tls_policy_reload_watch_healthy == 0; the note says where to look.
        if let Some(metrics) = &metrics {
            match &watched {
                Ok(watcher) => {
                    let monitor = watcher.monitor();
                    metrics.readiness().set_notes(move || monitor.problems());
                }
                Err(error) => {
                    let note = format!("file watch not running ({error}); SIGHUP still reloads");
                    metrics.readiness().set_notes(move || vec![note.clone()]);
                }
            }
        }
        watched.ok()
    } else {
        None
    };
    let signal = loop {
        tokio::select! {
            signal = signals.recv() => break signal,
            () = hangups.recv() => {
                if reload {
                    running.reload(&args.config, args.home.as_deref()).await;
                } else {
                    tracing::warn!(
                        "SIGHUP ignored: dbms.security.tls_reload_enabled=false turns reload off"
                    );
                }
            }
        }
    };
    if let Some(metrics) = &metrics {
        metrics.readiness().set(false);
    }
    let grace = Duration::from_secs(args.shutdown_grace);
    if signal == "SIGTERM" && !grace.is_zero() {
        eprintln!(
            "{signal}: not ready (/ready answers 503); still accepting for {}s (--shutdown-grace)",
            grace.as_secs()
        );
        tokio::select! {
            () = tokio::time::sleep(grace) => {}
            again = signals.recv() => eprintln!("{again}: skipping the rest of the grace period"),
        }
    }
    eprintln!(
        "{signal}: no longer accepting; draining live connections (up to {}s)",
        drain_timeout.as_secs()
    );
    running.stop().await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the listener's events (refused handshakes, drains) to stderr; `RUST_LOG` may name a
/// level (`error`, `warn`, `info`, `debug`, `trace`; default `info`).
pub(crate) fn init_logging() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|level| level.trim().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    // A subscriber already set (tests, an embedding program) stays.
    let _ = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(io::stderr().is_terminal())
        .try_init();
}

/// Raises the soft limit on open files to the hard limit: each pending or open connection
/// holds a descriptor, and the pending bounds (4096 per channel by default) are meant to be
/// reached before the process runs out of descriptors, which would stall every channel.
fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(error) = setrlimit(Resource::Nofile, raised) {
                tracing::debug!(%error, "the open-file limit stays at {:?}", limit.current);
            }
        }
    }
}

// === Running ===

/// One served channel, as its `listening` line describes it.
#[derive(Clone, Debug)]
pub(crate) struct Listening {
    /// The channel name.
    pub(crate) channel: String,
    /// The address bound.
    pub(crate) addr: SocketAddr,
    /// The policy securing it (`None` when DISABLED).
    pub(crate) policy: Option<String>,
    /// The backend serving it.
    pub(crate) backend: Backend,
    /// Its TLS level.
    pub(crate) tls_level: TlsLevel,
    /// What it speaks.
    pub(crate) kind: ConnectorKind,
}

impl Listening {
    /// `listening <channel> <ip>:<port> policy=<policy or none> backend=<backend> tls_level=<level>`.
    pub(crate) fn line(&self) -> String {
        format!(
            "listening {} {} policy={} backend={} tls_level={}",
            self.channel,
            self.addr,
            self.policy.as_deref().unwrap_or("none"),
            self.backend,
            self.tls_level
        )
    }
}

/// Every channel of a config, bound and served, until [`Running::stop`].
#[derive(Debug)]
pub(crate) struct Running {
    channels: TlsChannels,
    listening: Vec<Listening>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<(String, ServeSummary)>,
}

impl Running {
    /// Compiles every bound channel for `backend` (each with its `alpn`),
    /// binds every channel that has a listen address — all before serving any — and serves them.
    pub(crate) async fn start(
        settings: &Settings,
        backend: Option<Backend>,
        drain_timeout: Duration,
    ) -> Result<Running, BoxError> {
        // Each channel offers its declared ALPN (`h2`, `http/1.1` on HTTP channels by default).
        let channels = TlsChannels::load(settings, backend)?;
        let mut bound = Vec::new();
        for channel in settings.channels.values() {
            let Some(address) = channel.listen_address.as_deref() else {
                continue;
            };
            let config =
                ListenerConfig::from_channel(channel, &channels)?.with_drain_timeout(drain_timeout);
            let listener = Listener::bind(address, config)
                .await
                .map_err(|e| e.naming_keys_of(settings, channel))?;
            let policy = listener
                .config()
                .tls()
                .acceptor()
                .map(|acceptor| acceptor.policy().to_string());
            let listening = Listening {
                channel: channel.name.clone(),
                addr: listener.local_addr(),
                policy,
                backend: channels.backend(),
                tls_level: listener.tls_level(),
                kind: channel.kind,
            };
            bound.push((listening, listener, HttpTimeouts::of(channel)));
        }
        if bound.is_empty() {
            return Err(
                "nothing to serve: no channel has dbms.connector.<channel>.listen_address \
                        (e.g. dbms.connector.bolt.listen_address=127.0.0.1:7687)"
                    .into(),
            );
        }

        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut listening = Vec::with_capacity(bound.len());
        for (description, listener, timeouts) in bound {
            let service = match description.kind {
                ConnectorKind::Http => ChannelService::Http(Arc::new(Page {
                    channel: description.channel.clone(),
                    policy: description.policy.clone(),
                    backend: description.backend.name(),
                    timeouts,
                })),
                ConnectorKind::Echo => ChannelService::Echo,
            };
            let mut stopped = stopped.clone();
            let shutdown = async move {
                // An error means the sender is gone, which also means stop.
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let channel = description.channel.clone();
            tasks.spawn(async move { (channel, listener.serve(service, shutdown).await) });
            listening.push(description);
        }
        Ok(Running {
            channels,
            listening,
            stop,
            tasks,
        })
    }

    /// Watches every policy's files and reloads a policy when they change (off the async
    /// threads: the watcher's self-check waits for its probes); an error (logged) when the
    /// watch cannot be set up, as SIGHUP still reloads.
    pub(crate) async fn watch(&self) -> Result<tls_policy::Watcher, String> {
        let channels = self.channels.clone();
        let watched = tokio::task::spawn_blocking(move || channels.watch())
            .await
            .map_err(|error| format!("the watcher's set-up task failed: {error}"))
            .and_then(|watched| watched.map_err(|error| error.to_string()));
        if let Err(error) = &watched {
            tracing::error!("not watching the policies' files ({error}); SIGHUP still reloads");
        }
        watched
    }

    /// Re-reads every policy's files and, from the config file, its `allowed_peers` (SIGHUP);
    /// each policy's outcome is logged by the reload, and a broken one keeps serving its
    /// previous material. A config file that no longer parses is logged, and the files are
    /// reloaded with the lists in force.
    pub(crate) async fn reload(&self, config: &Path, home: Option<&Path>) {
        let channels = self.channels.clone();
        let config = config.to_owned();
        let home = home.map(Path::to_owned);
        let task = move || match Settings::from_file(&config, home.as_deref()) {
            Ok(settings) => channels.reload_with(&settings),
            Err(error) => {
                tracing::error!(
                    "SIGHUP: {error}; allowed_peers stay as they are, the policies' files are \
                     reloaded"
                );
                channels.reload()
            }
        };
        match tokio::task::spawn_blocking(task).await {
            Ok(Ok(report)) => {
                tracing::info!(policies = report.policies.len(), "SIGHUP: reload done")
            }
            Ok(Err(error)) => tracing::warn!(
                refused = error.failures.len(),
                "SIGHUP: reload done; refused policies keep their previous material"
            ),
            Err(error) => tracing::error!("SIGHUP: the reload task failed: {error}"),
        }
    }

    /// The served channels, in channel-name order.
    pub(crate) fn listening(&self) -> &[Listening] {
        &self.listening
    }

    /// Prints one `listening` line per channel to stdout, flushed.
    pub(crate) fn print_listening(&self) -> io::Result<()> {
        let mut out = io::stdout().lock();
        for listening in &self.listening {
            writeln!(out, "{}", listening.line())?;
        }
        out.flush()
    }

    /// Stops accepting on every channel and waits for each one's drain.
    pub(crate) async fn stop(mut self) -> Result<(), BoxError> {
        self.stop.send_replace(true);
        while let Some(joined) = self.tasks.join_next().await {
            let (channel, summary) = joined?;
            tracing::info!(
                channel,
                accepted = summary.accepted,
                cut_at_drain = summary.cut_at_drain,
                "channel stopped"
            );
        }
        Ok(())
    }
}

// === ChannelService ===

/// What `serve` speaks on one channel: the JSON page or echo.
#[derive(Clone, Debug)]
enum ChannelService {
    Http(Arc<Page>),
    Echo,
}

impl Service<Connection<TcpStream>> for ChannelService {
    type Response = ();
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, connection: Connection<TcpStream>) -> Self::Future {
        match self {
            ChannelService::Http(page) => Box::pin(serve_http(connection, Arc::clone(page))),
            ChannelService::Echo => Box::pin(async move { Ok(echo(connection).await?) }),
        }
    }
}

// === Hangups ===

/// SIGHUP, which reloads the policies' files; registered up front, so it never kills the process.
#[derive(Debug)]
pub(crate) struct Hangups {
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Hangups {
    /// Starts listening for SIGHUP.
    pub(crate) fn register() -> io::Result<Hangups> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Hangups {
                hangup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Hangups {})
        }
    }

    /// Waits for the next SIGHUP (forever where there is none).
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.hangup.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        {
            std::future::pending::<()>().await;
        }
    }
}

// === Signals ===

/// SIGINT and SIGTERM (Ctrl-C elsewhere), registered up front.
#[derive(Debug)]
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening for the signals; from here on they no longer kill the process.
    pub(crate) fn register() -> io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// Waits for the next signal; returns its name.
    pub(crate) async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
