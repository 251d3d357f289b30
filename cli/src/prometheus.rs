//! `serve --metrics ADDR`: a Prometheus recorder and a plain-HTTP `/metrics` endpoint for it,
//! with the orchestrator's probes `/ready` and `/live` beside it.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use tls_policy::observe::{describe_metrics, HANDSHAKE_BUCKETS, HANDSHAKE_DURATION};

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The Prometheus text format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The address could not be bound.
    #[error("--metrics {address}: cannot listen: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// Why binding failed.
        source: io::Error,
    },
    /// The recorder could not be installed (another one already is).
    #[error("--metrics: cannot install the Prometheus recorder: {0}")]
    Recorder(String),
}

/// The process-wide Prometheus recorder and its `GET /metrics` endpoint (plain HTTP/1.1).
///
/// Dropping it stops the endpoint; the recorder stays installed.
#[derive(Debug)]
pub struct MetricsEndpoint {
    addr: SocketAddr,
    ready: Readiness,
    server: JoinHandle<()>,
    upkeep: JoinHandle<()>,
}

impl MetricsEndpoint {
    /// Installs the Prometheus recorder as the global `metrics` recorder and serves its text
    /// format at `http://<address>/metrics` (`host:port`; port 0 picks a free port).
    ///
    /// Must run inside a tokio runtime; call it before the listeners start so that they record
    /// into it.
    pub async fn start(address: &str) -> Result<MetricsEndpoint, MetricsError> {
        let tcp = TcpListener::bind(address)
            .await
            .map_err(|source| MetricsError::Bind {
                address: address.to_string(),
                source,
            })?;
        let addr = tcp.local_addr().map_err(|source| MetricsError::Bind {
            address: address.to_string(),
            source,
        })?;
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HANDSHAKE_DURATION.to_string()),
                &HANDSHAKE_BUCKETS,
            )
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|error| MetricsError::Recorder(error.to_string()))?;
        describe_metrics();
        let upkeep = tokio::spawn({
            let handle = handle.clone();
            async move {
                let mut every = tokio::time::interval(UPKEEP_EVERY);
                loop {
                    every.tick().await;
                    handle.run_upkeep();
                }
            }
        });
        let ready = Readiness::default();
        let server = tokio::spawn(serve(tcp, handle.clone(), ready.clone()));
        Ok(MetricsEndpoint {
            addr,
            ready,
            server,
            upkeep,
        })
    }

    /// `http://<ip>:<port>/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// What `/ready` answers: 200 once set ready, 503 before and after (from the moment a
    /// drain starts).
    pub fn readiness(&self) -> &Readiness {
        &self.ready
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.server.abort();
        self.upkeep.abort();
    }
}

/// What `/ready` adds below its status line: one line per problem that does not stop serving.
type NoteSource = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// Whether the process accepts connections, as `/ready` reports it (shared by clones; not
/// ready until set), and the notes it adds (problems that do not stop serving, such as a dead
/// file watch).
#[derive(Clone, Default)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
    notes: Arc<Mutex<Option<NoteSource>>>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("ready", &self.is_ready())
            .field("notes", &self.notes())
            .finish()
    }
}

impl Readiness {
    /// Sets whether `/ready` answers 200 (`true`) or 503.
    pub fn set(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether `/ready` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Sets where `/ready`'s notes come from: called at each probe, each line returned is
    /// added as `note: <line>` below the status line, with the status unchanged.
    pub fn set_notes(&self, notes: impl Fn() -> Vec<String> + Send + Sync + 'static) {
        *self.notes.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(notes));
    }

    /// The notes `/ready` adds now.
    pub fn notes(&self) -> Vec<String> {
        let source = self
            .notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        source.map(|notes| notes()).unwrap_or_default()
    }
}

/// Accepts scrapes until aborted; a failed accept or connection is logged and skipped.
async fn serve(tcp: TcpListener, handle: PrometheusHandle, ready: Readiness) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::debug!(%error, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let handle = handle.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handle = handle.clone();
                let ready = ready.clone();
                async move { Ok::<_, Infallible>(respond(&handle, &ready, &request)) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = served {
                tracing::debug!(%peer, %error, "metrics endpoint: connection failed");
            }
        });
    }
}

/// `GET /metrics`: the text format; `GET /ready`: 200 `ready` or 503 `not ready`, then a
/// `note: ...` line per [`Readiness::notes`]; `GET /live`: 200 `live`; anything else: 404 or 405.
fn respond(
    handle: &PrometheusHandle,
    readiness: &Readiness,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let get = matches!(*request.method(), Method::GET | Method::HEAD);
    let (status, body) = match (get, request.uri().path()) {
        (true, "/metrics") => {
            handle.run_upkeep();
            (StatusCode::OK, handle.render())
        }
        (true, "/ready") => {
            let (status, mut body) = if readiness.is_ready() {
                (StatusCode::OK, "ready\n".to_string())
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "not ready\n".to_string())
            };
            for note in readiness.notes() {
                body.push_str("note: ");
                body.push_str(&note);
                body.push('\n');
            }
            (status, body)
        }
        (true, "/live") => (StatusCode::OK, "live\n".to_string()),
        (false, "/metrics" | "/ready" | "/live") => {
            (StatusCode::METHOD_NOT_ALLOWED, "use GET\n".to_string())
        }
        _ => (
            StatusCode::NOT_FOUND,
            "metrics are at /metrics, probes at /ready and /live\n".to_string(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    response
}
