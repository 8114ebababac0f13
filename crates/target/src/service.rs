//! The per-connection hyper service: picks the fault, routes, answers, and counts.
//!
//! Requests answered from their head (`/health`, `/inbox`, ...) return an already-finished
//! future, so the hot endpoints allocate nothing beyond what hyper needs. Only a body to
//! read or a fault to wait out costs a boxed future.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};
use hyper::body::{Body as _, Incoming};
use hyper::service::Service;
use tokio::sync::Notify;

use crate::body::{self, BodyError};
use crate::faults::{self, Action, Rng};
use crate::handlers::{self, Handler};
use crate::metrics::Outcome;
use crate::respond::{self, Body};
use crate::routes::{self, Route};
use crate::state::State;

/// The service error that makes hyper close the connection without writing a response:
/// how the `close` and `stall` faults end, and how a request whose client vanished ends.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped without a response")]
pub(crate) struct Dropped;

type Answer = Result<Response<Body>, Dropped>;

/// One connection's service. The PRNG lives here, so fault draws touch no shared state.
pub(crate) struct Conn {
    state: Arc<State>,
    rng: Cell<Rng>,
    /// Notified to close this connection: how a slow event stream on it is let go.
    hangup: Arc<Notify>,
}

impl Conn {
    pub(crate) fn new(state: Arc<State>, hangup: Arc<Notify>) -> Self {
        let rng = Cell::new(state.connection_rng());
        Conn { state, rng, hangup }
    }

    /// Counts an answer known now and hands it to hyper without boxing.
    fn now(&self, route: Route, started: Instant, answer: Answer) -> Reply {
        self.state
            .metrics
            .record(route, outcome(&answer), started.elapsed());
        Reply::Ready(Some(answer))
    }

    /// Boxes an answer that needs waiting for, counting it when it is done.
    fn later<F>(&self, route: Route, started: Instant, answer: F) -> Reply
    where
        F: Future<Output = Answer> + Send + 'static,
    {
        let state = Arc::clone(&self.state);
        Reply::Boxed(Box::pin(async move {
            let answer = answer.await;
            state
                .metrics
                .record(route, outcome(&answer), started.elapsed());
            answer
        }))
    }
}

impl Service<Request<Incoming>> for Conn {
    type Response = Response<Body>;
    type Error = Dropped;
    type Future = Reply;

    fn call(&self, mut req: Request<Incoming>) -> Reply {
        let started = Instant::now();
        self.state.requests_served.fetch_add(1, Ordering::Relaxed);
        self.state.metrics.counters.count_version(req.version());
        // A cheap clone (reference counts, no copy) that frees `req` to be borrowed mutably
        // by the websocket upgrade while the path parameter is still in use.
        let uri = req.uri().clone();
        let (route, param) = routes::resolve(uri.path());

        // `/metrics` is how an operator sees the faults, so faults never apply to it.
        let action = if route == Route::Metrics {
            Ok(Action::Serve {
                delay: None,
                work: None,
                fail: false,
            })
        } else {
            let mut rng = self.rng.get();
            let action = faults::decide(&self.state.faults, uri.query(), &mut rng);
            self.rng.set(rng);
            action
        };
        let (delay, work, fail) = match action {
            Ok(Action::Serve { delay, work, fail }) => (delay, work, fail),
            Ok(Action::Close) => return self.now(route, started, Err(Dropped)),
            Ok(Action::Stall(hold)) => {
                return self.later(route, started, async move {
                    tokio::time::sleep(hold).await;
                    Err(Dropped)
                });
            }
            Err(err) => {
                let answer = respond::error_message(StatusCode::BAD_REQUEST, &err.to_string());
                return self.now(route, started, Ok(answer));
            }
        };

        let handler = if fail {
            Handler::Done(respond::injected_error())
        } else {
            handlers::start(&self.state, route, param, &mut req, &self.hangup)
        };
        // A body nobody reads would make hyper close the connection after answering; read
        // it first, unless the answer is that it is too large to read.
        let discard_body = match &handler {
            Handler::Done(response) => {
                !req.body().is_end_stream() && response.status() != StatusCode::PAYLOAD_TOO_LARGE
            }
            Handler::NeedsBody(_) => false,
        };
        match (delay, work, handler) {
            (None, None, Handler::Done(response)) if !discard_body => {
                self.now(route, started, Ok(response))
            }
            (delay, work, handler) => {
                let state = Arc::clone(&self.state);
                let waits = Waits { delay, work };
                let answer = answer_later(state, waits, handler, discard_body, req.into_body());
                self.later(route, started, answer)
            }
        }
    }
}

/// Time a request spends before it is answered: plain latency, then service time.
struct Waits {
    delay: Option<Duration>,
    work: Option<Duration>,
}

/// The rest of a request that cannot be answered at once: wait out the injected latency,
/// then read (or throw away) the body and answer.
async fn answer_later(
    state: Arc<State>,
    waits: Waits,
    handler: Handler,
    discard_body: bool,
    body: Incoming,
) -> Answer {
    if let Some(delay) = waits.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(work) = waits.work {
        // Queue for a worker, as a request would in a real server's thread pool; the
        // semaphore is fair, so the queue is first come, first served.
        let Ok(_worker) = state.workers.acquire().await else {
            return Err(Dropped);
        };
        tokio::time::sleep(work).await;
    }
    match handler {
        Handler::NeedsBody(job) => handlers::finish(&state, job, body).await,
        Handler::Done(response) => {
            if discard_body && let Err(BodyError::Aborted) = body::discard(body).await {
                return Err(Dropped);
            }
            Ok(response)
        }
    }
}

fn outcome(answer: &Answer) -> Outcome {
    match answer {
        Ok(response) => Outcome::Status(response.status()),
        Err(Dropped) => Outcome::Dropped,
    }
}

/// The future hyper polls for a response: finished at once, or boxed.
pub(crate) enum Reply {
    Ready(Option<Answer>),
    Boxed(Pin<Box<dyn Future<Output = Answer> + Send>>),
}

impl Future for Reply {
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        match self.get_mut() {
            // hyper never polls a finished future again; if it did, closing is the safe answer.
            Reply::Ready(answer) => Poll::Ready(answer.take().unwrap_or(Err(Dropped))),
            Reply::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}
