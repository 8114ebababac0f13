//! Conversations and the event streams subscribed to them: message ids, the replay rings
//! behind `Last-Event-ID`, and the fan-out of each posted message with its delay, drop and
//! slow-consumer rules.
//!
//! Everything is bounded: a conversation keeps its last `replay` messages, all of them
//! together at most `MAX_REPLAY_BYTES` (past it the oldest message anywhere goes first), at
//! most `MAX_CONVERSATIONS` are tracked, a stream follows at most `MAX_STREAM_CONVERSATIONS`,
//! and each stream's queue holds `buffer` deliveries; a stream whose queue is full is cut
//! off rather than let grow. Knows nothing of HTTP: streams are queues, messages are bytes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::config::Streams;
use crate::faults::{self, Rng};
use crate::sse;
use crate::state::lock;

/// Conversations tracked at once. Past it, an idle one (no subscriber) is forgotten, the one
/// whose last message is oldest; if none is idle, new conversations are refused.
pub(crate) const MAX_CONVERSATIONS: usize = 10_000;

/// Bytes of message events kept for replay, across all conversations: with 64 KiB messages
/// and a ring of 256 in each of thousands of conversations, a count alone would allow
/// gigabytes.
pub(crate) const MAX_REPLAY_BYTES: usize = 64 * 1024 * 1024;

/// Conversations one stream may follow.
pub(crate) const MAX_STREAM_CONVERSATIONS: usize = 64;

/// Longest conversation id; ids are `[A-Za-z0-9_.-]`, so they need no escaping anywhere.
pub(crate) const MAX_CONVERSATION_ID_BYTES: usize = 64;

/// One queued delivery: the event's bytes, and when it may be written (the fan-out delay).
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) due: Option<Instant>,
    pub(crate) frame: Bytes,
}

/// What a new stream gets before live deliveries.
#[derive(Debug, PartialEq)]
pub(crate) enum Backlog {
    /// The messages after `Last-Event-ID`, oldest first (none without the header).
    Replay(Vec<Bytes>),
    /// `Last-Event-ID` is older than what is kept, or newer than anything sent: a `reset`
    /// event (with this frame) replaces the replay.
    Reset(Bytes),
    /// A stream opened without `Last-Event-ID`: an `id:` field alone, the newest message id.
    /// By the SSE spec it sets the client's last event id without dispatching an event, so a
    /// client that reconnects before any message reached it resumes without a gap.
    Position(Bytes),
}

/// A stream's place in the hub. Dropping it does not unsubscribe: call `Hub::unsubscribe`.
pub(crate) struct Subscription {
    pub(crate) stream: u64,
    pub(crate) receiver: mpsc::Receiver<Delivery>,
    /// Set when the hub cut the stream off for being slow.
    pub(crate) kicked: Arc<AtomicBool>,
    pub(crate) backlog: Backlog,
    /// Keeps the queue open while the stream lives, even when it follows no conversation
    /// (a heartbeat-only stream), so a closed queue never reads as "cut off".
    _open: mpsc::Sender<Delivery>,
}

/// Why a stream or a message was refused; both are answered `503`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    #[error("too many streams and websockets open")]
    TooManyOpen,
    #[error("too many conversations in use")]
    TooManyConversations,
}

/// What became of one posted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fanout {
    pub(crate) id: u64,
    pub(crate) queued: u64,
    pub(crate) dropped: u64,
    pub(crate) slow_consumers: u64,
}

pub(crate) struct Hub {
    inner: Mutex<Inner>,
    /// Event streams and websockets open, against `max_open`.
    open: AtomicUsize,
    knobs: Streams,
}

struct Inner {
    conversations: HashMap<Box<str>, Conversation>,
    /// The id of the last message posted; ids are global, so a stream following several
    /// conversations sees one increasing sequence.
    last_id: u64,
    /// The newest message id of any forgotten conversation: a resume from before it may
    /// have missed messages that are no longer known.
    forgotten_up_to: u64,
    next_stream: u64,
    rng: Rng,
    /// Bytes held by every ring, against `replay_budget` (`MAX_REPLAY_BYTES`).
    held_bytes: usize,
    replay_budget: usize,
    /// The id of each non-empty ring's oldest message, and its conversation: the first
    /// entry is the oldest message kept anywhere, the next to go when over budget.
    fronts: BTreeMap<u64, Box<str>>,
}

struct Conversation {
    /// The last messages, oldest first, with their ids.
    ring: VecDeque<(u64, Bytes)>,
    /// The newest id that fell out of `ring` (or was lost with a forgotten conversation).
    evicted_up_to: u64,
    subscribers: Vec<Subscriber>,
}

struct Subscriber {
    stream: u64,
    sender: mpsc::Sender<Delivery>,
    kicked: Arc<AtomicBool>,
    /// Closes the stream's connection, so a consumer that stopped reading is let go even
    /// though its writes are blocked.
    hangup: Arc<Notify>,
}

impl Hub {
    pub(crate) fn new(knobs: Streams, seed: u64) -> Self {
        Hub {
            inner: Mutex::new(Inner {
                conversations: HashMap::new(),
                last_id: 0,
                forgotten_up_to: 0,
                next_stream: 1,
                rng: Rng::new(seed),
                held_bytes: 0,
                replay_budget: MAX_REPLAY_BYTES,
                fronts: BTreeMap::new(),
            }),
            open: AtomicUsize::new(0),
            knobs: Streams {
                buffer: knobs.buffer.max(1),
                replay: knobs.replay.max(1),
                ..knobs
            },
        }
    }

    pub(crate) fn heartbeat(&self) -> std::time::Duration {
        self.knobs.heartbeat
    }

    /// Takes one of the `max_open` places for a stream or a websocket; `false` when all are
    /// taken. Give it back with `close_one`.
    pub(crate) fn open_one(&self) -> bool {
        let max = self.knobs.max_open;
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .is_ok()
    }

    pub(crate) fn close_one(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }

    /// Subscribes a new stream to `conversations` (already checked and deduplicated), with
    /// the replay after `last_event_id`. Replay and subscription happen under one lock, so
    /// no message falls between them.
    pub(crate) fn subscribe(
        &self,
        conversations: &[Box<str>],
        last_event_id: Option<u64>,
        hangup: Arc<Notify>,
    ) -> Result<Subscription, Refused> {
        let mut inner = lock(&self.inner);
        for name in conversations {
            inner.ensure(name, self.knobs.replay)?;
        }
        let backlog = match last_event_id {
            None => Backlog::Position(sse::id_only(inner.last_id)),
            Some(after) => inner.backlog(conversations, after),
        };
        let (sender, receiver) = mpsc::channel(self.knobs.buffer);
        let kicked = Arc::new(AtomicBool::new(false));
        let stream = inner.next_stream;
        inner.next_stream += 1;
        for name in conversations {
            if let Some(conversation) = inner.conversations.get_mut(name) {
                conversation.subscribers.push(Subscriber {
                    stream,
                    sender: sender.clone(),
                    kicked: Arc::clone(&kicked),
                    hangup: Arc::clone(&hangup),
                });
            }
        }
        Ok(Subscription {
            stream,
            receiver,
            kicked,
            backlog,
            _open: sender,
        })
    }

    /// Removes `stream` from the conversations it followed.
    pub(crate) fn unsubscribe(&self, stream: u64, conversations: &[Box<str>]) {
        let mut inner = lock(&self.inner);
        for name in conversations {
            if let Some(conversation) = inner.conversations.get_mut(name) {
                conversation.subscribers.retain(|s| s.stream != stream);
            }
        }
    }

    /// Posts `body` (JSON) to `conversation`: gives it the next id, keeps it for replay and
    /// queues it for every subscribed stream, drawing each delivery's delay and drop.
    pub(crate) fn publish(
        &self,
        conversation: &str,
        body: &str,
        server_ts_us: u64,
        now: Instant,
    ) -> Result<Fanout, Refused> {
        let mut inner = lock(&self.inner);
        inner.ensure(conversation, self.knobs.replay)?;
        inner.last_id += 1;
        let id = inner.last_id;
        let data = sse::message_data(id, conversation, server_ts_us, body);
        let frame = sse::event(id, "message", &data);
        let mut fanout = Fanout {
            id,
            queued: 0,
            dropped: 0,
            slow_consumers: 0,
        };
        inner.remember(conversation, id, frame.clone(), self.knobs.replay);
        let Inner {
            conversations, rng, ..
        } = &mut *inner;
        let Some(target) = conversations.get_mut(conversation) else {
            return Ok(fanout);
        };
        target
            .subscribers
            .retain(|subscriber| deliver(subscriber, &frame, &self.knobs, rng, now, &mut fanout));
        Ok(fanout)
    }
}

/// Queues `frame` for one subscriber; `false` removes the subscriber (gone or too slow).
fn deliver(
    subscriber: &Subscriber,
    frame: &Bytes,
    knobs: &Streams,
    rng: &mut Rng,
    now: Instant,
    fanout: &mut Fanout,
) -> bool {
    if subscriber.kicked.load(Ordering::Acquire) || subscriber.sender.is_closed() {
        return false;
    }
    if rng.chance(knobs.drop_ratio) {
        fanout.dropped += 1;
        return true;
    }
    let delivery = Delivery {
        due: faults::draw(knobs.fanout_delay, rng).map(|delay| now + delay),
        frame: frame.clone(),
    };
    match subscriber.sender.try_send(delivery) {
        Ok(()) => {
            fanout.queued += 1;
            true
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            subscriber.kicked.store(true, Ordering::Release);
            subscriber.hangup.notify_one();
            fanout.slow_consumers += 1;
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

impl Inner {
    /// Makes sure `name` is tracked, forgetting an idle conversation if the map is full.
    fn ensure(&mut self, name: &str, replay: usize) -> Result<(), Refused> {
        if self.conversations.contains_key(name) {
            return Ok(());
        }
        if self.conversations.len() >= MAX_CONVERSATIONS {
            self.forget_one_idle()?;
        }
        let conversation = Conversation {
            ring: VecDeque::with_capacity(replay.min(16)),
            // A conversation made anew cannot vouch for messages a forgotten one had.
            evicted_up_to: self.forgotten_up_to,
            subscribers: Vec::new(),
        };
        self.conversations.insert(name.into(), conversation);
        Ok(())
    }

    fn forget_one_idle(&mut self) -> Result<(), Refused> {
        let idle = self
            .conversations
            .iter()
            .filter(|(_, conversation)| conversation.subscribers.is_empty())
            .min_by_key(|(_, conversation)| conversation.newest_id())
            .map(|(name, conversation)| (name.clone(), conversation.newest_id()));
        let (name, newest) = idle.ok_or(Refused::TooManyConversations)?;
        if let Some(forgotten) = self.conversations.remove(&name) {
            if let Some((front, _)) = forgotten.ring.front() {
                self.fronts.remove(front);
            }
            let bytes: usize = forgotten.ring.iter().map(|(_, frame)| frame.len()).sum();
            self.held_bytes -= bytes;
        }
        self.forgotten_up_to = self.forgotten_up_to.max(newest);
        Ok(())
    }

    /// Keeps `frame` for replay in `name`, then lets go of what is past the conversation's
    /// count or the hub's byte budget, oldest first.
    fn remember(&mut self, name: &str, id: u64, frame: Bytes, replay: usize) {
        let Some(conversation) = self.conversations.get_mut(name) else {
            return;
        };
        if conversation.ring.is_empty() {
            self.fronts.insert(id, name.into());
        }
        self.held_bytes += frame.len();
        conversation.ring.push_back((id, frame));
        if conversation.ring.len() > replay {
            self.evict_oldest_of(name);
        }
        // Each turn removes one message, so this ends; the newest message itself may go
        // when it alone is over the budget.
        while self.held_bytes > self.replay_budget {
            let Some(oldest) = self.fronts.values().next().cloned() else {
                break;
            };
            self.evict_oldest_of(&oldest);
        }
    }

    fn evict_oldest_of(&mut self, name: &str) {
        let Some(conversation) = self.conversations.get_mut(name) else {
            return;
        };
        let Some((id, frame)) = conversation.ring.pop_front() else {
            return;
        };
        conversation.evicted_up_to = id;
        self.held_bytes -= frame.len();
        self.fronts.remove(&id);
        if let Some((next, _)) = conversation.ring.front() {
            self.fronts.insert(*next, name.into());
        }
    }

    /// The replay after `after` for a stream following `names`, or a reset when some of it
    /// is no longer kept (or `after` was never sent).
    fn backlog(&self, names: &[Box<str>], after: u64) -> Backlog {
        let kept = names.iter().all(|name| {
            self.conversations
                .get(name)
                .is_none_or(|conversation| conversation.evicted_up_to <= after)
        });
        if after > self.last_id || !kept {
            let data = format!(
                r#"{{"reason":"last event id {after} is too old or unknown; missed messages cannot be replayed","last_event_id":{after}}}"#
            );
            // The reset carries the newest id, so a client that reconnects after it resumes
            // from here instead of being reset again.
            return Backlog::Reset(sse::event(self.last_id, "reset", &data));
        }
        let mut replay: Vec<(u64, Bytes)> = names
            .iter()
            .filter_map(|name| self.conversations.get(name))
            .flat_map(|conversation| conversation.ring.iter())
            .filter(|(id, _)| *id > after)
            .cloned()
            .collect();
        replay.sort_unstable_by_key(|(id, _)| *id);
        Backlog::Replay(replay.into_iter().map(|(_, frame)| frame).collect())
    }
}

impl Conversation {
    fn newest_id(&self) -> u64 {
        self.ring.back().map_or(self.evicted_up_to, |(id, _)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(replay: usize, buffer: usize) -> Hub {
        let knobs = Streams {
            replay,
            buffer,
            ..Streams::default()
        };
        Hub::new(knobs, 1)
    }

    fn names(list: &[&str]) -> Vec<Box<str>> {
        list.iter().map(|name| (*name).into()).collect()
    }

    fn post(hub: &Hub, conversation: &str) -> Fanout {
        hub.publish(conversation, "{}", 0, Instant::now())
            .expect("posts")
    }

    fn ids(backlog: &Backlog) -> Vec<String> {
        let Backlog::Replay(frames) = backlog else {
            panic!("expected a replay, got {backlog:?}");
        };
        let first_line = |frame: &Bytes| {
            String::from_utf8_lossy(frame)
                .lines()
                .next()
                .map(str::to_owned)
        };
        frames.iter().filter_map(first_line).collect()
    }

    #[test]
    fn messages_reach_only_subscribed_streams() {
        let hub = hub(8, 8);
        let hangup = Arc::new(Notify::new());
        let mut a = hub
            .subscribe(&names(&["a"]), None, Arc::clone(&hangup))
            .unwrap();
        let mut b = hub.subscribe(&names(&["b"]), None, hangup).unwrap();
        assert_eq!(post(&hub, "a").queued, 1);
        assert_eq!(post(&hub, "c").queued, 0);
        let delivery = a.receiver.try_recv().expect("a got it");
        assert!(delivery.frame.starts_with(b"id: 1\nevent: message\n"));
        assert!(b.receiver.try_recv().is_err());
    }

    #[test]
    fn resume_replays_what_came_after_the_last_id_across_conversations() {
        let hub = hub(8, 8);
        for conversation in ["a", "b", "a", "c", "b"] {
            post(&hub, conversation);
        }
        let hangup = Arc::new(Notify::new());
        let resumed = hub.subscribe(&names(&["a", "b"]), Some(1), hangup).unwrap();
        assert_eq!(ids(&resumed.backlog), ["id: 2", "id: 3", "id: 5"]);
    }

    #[test]
    fn resume_from_before_the_ring_is_a_reset() {
        let hub = hub(2, 8);
        for _ in 0..5 {
            post(&hub, "a");
        }
        let hangup = Arc::new(Notify::new());
        let kept = hub
            .subscribe(&names(&["a"]), Some(3), Arc::clone(&hangup))
            .unwrap();
        assert_eq!(ids(&kept.backlog), ["id: 4", "id: 5"]);
        let too_old = hub
            .subscribe(&names(&["a"]), Some(2), Arc::clone(&hangup))
            .unwrap();
        let Backlog::Reset(frame) = too_old.backlog else {
            panic!("expected a reset");
        };
        assert!(frame.starts_with(b"id: 5\nevent: reset\n"), "{frame:?}");
        let unknown = hub.subscribe(&names(&["a"]), Some(99), hangup).unwrap();
        assert!(matches!(unknown.backlog, Backlog::Reset(_)));
    }

    #[test]
    fn a_full_queue_cuts_the_stream_off() {
        let hub = hub(8, 2);
        let hangup = Arc::new(Notify::new());
        let slow = hub
            .subscribe(&names(&["a"]), None, Arc::clone(&hangup))
            .unwrap();
        assert_eq!(post(&hub, "a").queued, 1);
        assert_eq!(post(&hub, "a").queued, 1);
        let third = post(&hub, "a");
        assert_eq!((third.queued, third.slow_consumers), (0, 1));
        assert!(slow.kicked.load(Ordering::Acquire));
        // Cut off once: later messages find no subscriber.
        assert_eq!(
            post(&hub, "a"),
            Fanout {
                id: 4,
                ..Fanout::default_for_test()
            }
        );
    }

    #[test]
    fn the_drop_ratio_discards_deliveries() {
        let knobs = Streams {
            drop_ratio: 1.0,
            ..Streams::default()
        };
        let hub = Hub::new(knobs, 1);
        let mut stream = hub
            .subscribe(&names(&["a"]), None, Arc::new(Notify::new()))
            .unwrap();
        let fanout = post(&hub, "a");
        assert_eq!((fanout.queued, fanout.dropped), (0, 1));
        assert!(stream.receiver.try_recv().is_err());
    }

    #[test]
    fn the_open_places_are_capped() {
        let knobs = Streams {
            max_open: 2,
            ..Streams::default()
        };
        let hub = Hub::new(knobs, 1);
        assert!(hub.open_one() && hub.open_one());
        assert!(!hub.open_one());
        hub.close_one();
        assert!(hub.open_one());
    }

    #[test]
    fn idle_conversations_are_forgotten_past_the_cap() {
        let hub = hub(4, 4);
        for n in 0..MAX_CONVERSATIONS {
            post(&hub, &format!("c{n}"));
        }
        post(&hub, "one-more");
        let inner = lock(&hub.inner);
        assert_eq!(inner.conversations.len(), MAX_CONVERSATIONS);
        assert!(!inner.conversations.contains_key("c0"), "the oldest goes");
        assert_eq!(inner.forgotten_up_to, 1);
    }

    #[test]
    fn replay_bytes_stay_within_the_budget_oldest_first() {
        let hub = hub(100, 8);
        let frame_bytes = {
            post(&hub, "a");
            lock(&hub.inner).held_bytes
        };
        lock(&hub.inner).replay_budget = frame_bytes * 3;
        for conversation in ["b", "a", "c", "b"] {
            post(&hub, conversation);
        }
        let inner = lock(&hub.inner);
        assert!(inner.held_bytes <= frame_bytes * 3, "{}", inner.held_bytes);
        let kept = |name: &str| -> Vec<u64> {
            inner.conversations[name]
                .ring
                .iter()
                .map(|(id, _)| *id)
                .collect()
        };
        // Ids 1 (a) and 2 (b) were the oldest; 3 (a), 4 (c) and 5 (b) remain.
        assert_eq!(
            (kept("a"), kept("b"), kept("c")),
            (vec![3], vec![5], vec![4])
        );
        assert_eq!(inner.conversations["b"].evicted_up_to, 2);
        let fronts: Vec<u64> = inner.fronts.keys().copied().collect();
        assert_eq!(fronts, [3, 4, 5]);
    }

    impl Fanout {
        fn default_for_test() -> Self {
            Fanout {
                id: 0,
                queued: 0,
                dropped: 0,
                slow_consumers: 0,
            }
        }
    }
}
