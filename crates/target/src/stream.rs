//! The body of a `GET /stream` response: the backlog (replay or reset) first, then live
//! deliveries as the hub queues them, each held until its fan-out delay is over, with a
//! `: heartbeat` comment every heartbeat period, until `close_after` events or until the hub
//! cuts the stream off for being slow.
//!
//! Knows nothing of conversations or HTTP routing: it drains a queue into frames.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Frame;
use tokio::time::{Instant, Sleep};

use crate::counters::bump;
use crate::hub::{Backlog, Delivery, Subscription};
use crate::sse;
use crate::state::State;

/// The stream's body error: the hub cut it off because its queue was full. hyper then
/// aborts the response (HTTP/1.1: closes the connection; HTTP/2: resets the stream).
#[derive(Debug, thiserror::Error)]
#[error("event stream cut off: the consumer fell more than its buffer behind")]
pub(crate) struct CutOff;

type Next = Poll<Option<Result<Frame<Bytes>, CutOff>>>;

pub(crate) struct EventStream {
    state: Arc<State>,
    stream: u64,
    conversations: Vec<Box<str>>,
    subscription: Subscription,
    /// Frames to write before any live delivery; `bool` says whether it is a message (which
    /// counts toward `close_after`) or the reset notice.
    backlog: VecDeque<(Bytes, bool)>,
    /// A live delivery waiting out its fan-out delay; later ones wait behind it, so a
    /// stream's events keep their order.
    held: Option<(Pin<Box<Sleep>>, Bytes)>,
    heartbeat: Pin<Box<Sleep>>,
    heartbeat_every: Duration,
    /// Message events still to send before the stream ends (`?close_after=N`).
    remaining: Option<u64>,
}

impl EventStream {
    /// A stream for `subscription`, already counted as open in the hub and in the gauge;
    /// dropping it undoes both.
    pub(crate) fn new(
        state: Arc<State>,
        conversations: Vec<Box<str>>,
        mut subscription: Subscription,
        close_after: Option<u64>,
    ) -> Self {
        let backlog =
            match std::mem::replace(&mut subscription.backlog, Backlog::Replay(Vec::new())) {
                Backlog::Replay(frames) => frames.into_iter().map(|frame| (frame, true)).collect(),
                Backlog::Reset(frame) | Backlog::Position(frame) => {
                    VecDeque::from([(frame, false)])
                }
            };
        let heartbeat_every = state.hub.heartbeat().max(Duration::from_millis(1));
        state
            .metrics
            .counters
            .sse_streams_open
            .fetch_add(1, Ordering::Relaxed);
        EventStream {
            stream: subscription.stream,
            heartbeat: Box::pin(tokio::time::sleep(heartbeat_every)),
            state,
            conversations,
            subscription,
            backlog,
            held: None,
            heartbeat_every,
            remaining: close_after,
        }
    }

    pub(crate) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Next {
        if self.subscription.kicked.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(CutOff)));
        }
        if self.remaining == Some(0) {
            return Poll::Ready(None);
        }
        if let Some((frame, is_message)) = self.backlog.pop_front() {
            if is_message {
                self.sent_message();
                bump(&self.state.metrics.counters.deliveries_replayed);
            }
            return data(frame);
        }
        if self.heartbeat.as_mut().poll(cx).is_ready() {
            let next = Instant::now() + self.heartbeat_every;
            self.heartbeat.as_mut().reset(next);
            return data(Bytes::from_static(sse::HEARTBEAT));
        }
        match self.poll_delivery(cx) {
            Poll::Ready(Some(frame)) => {
                self.sent_message();
                bump(&self.state.metrics.counters.deliveries_sent);
                data(frame)
            }
            // The subscription holds a sender, so the queue never closes while the stream lives.
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The next live frame whose delay is over.
    fn poll_delivery(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            if let Some((sleep, _)) = &mut self.held {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                return Poll::Ready(self.held.take().map(|(_, frame)| frame));
            }
            match self.subscription.receiver.poll_recv(cx) {
                Poll::Ready(Some(Delivery {
                    due: Some(due),
                    frame,
                })) if due > Instant::now() => {
                    self.held = Some((Box::pin(tokio::time::sleep_until(due)), frame));
                }
                Poll::Ready(Some(delivery)) => return Poll::Ready(Some(delivery.frame)),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn sent_message(&mut self) {
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(1);
        }
    }
}

fn data(frame: Bytes) -> Next {
    Poll::Ready(Some(Ok(Frame::data(frame))))
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.state.hub.unsubscribe(self.stream, &self.conversations);
        self.state.hub.close_one();
        self.state
            .metrics
            .counters
            .sse_streams_open
            .fetch_sub(1, Ordering::Relaxed);
    }
}
