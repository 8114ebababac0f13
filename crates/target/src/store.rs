//! The in-memory event store behind `/events` and `/inbox`: capped, oldest evicted first,
//! so a 24-hour soak stays flat in memory.
//!
//! Ids are sequential and only the oldest event is ever removed, so the events in the deque
//! always have consecutive ids and a lookup is an index, not a search.

use std::collections::{BTreeSet, VecDeque};
use std::fmt::Write as _;

use bytes::Bytes;

const ID_PREFIX: &str = "evt_";

/// One stored event. Its id is implied by its place in the store.
struct Event {
    /// The request body, already checked to be a JSON object; written back verbatim.
    payload: Bytes,
    delivered: bool,
}

pub(crate) struct Store {
    events: VecDeque<Event>,
    /// Id of `events[0]`.
    first_id: u64,
    /// Ids of events not yet acknowledged, so `/inbox` never scans delivered ones.
    queued: BTreeSet<u64>,
    capacity: usize,
}

/// Parses an id as printed by the store (`evt_42`).
pub(crate) fn parse_id(text: &str) -> Option<u64> {
    let digits = text.strip_prefix(ID_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl Store {
    /// A store keeping at most `capacity` events (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Store {
            events: VecDeque::new(),
            first_id: 1,
            queued: BTreeSet::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Stores a queued event, evicting the oldest when full, and returns its id.
    pub(crate) fn insert(&mut self, payload: Bytes) -> u64 {
        if self.events.len() >= self.capacity && self.events.pop_front().is_some() {
            self.queued.remove(&self.first_id);
            self.first_id += 1;
        }
        let id = self.first_id + self.events.len() as u64;
        self.events.push_back(Event {
            payload,
            delivered: false,
        });
        self.queued.insert(id);
        id
    }

    fn get(&self, id: u64) -> Option<&Event> {
        let index = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.events.get(index)
    }

    /// Marks the event delivered; false when it is unknown or evicted.
    pub(crate) fn ack(&mut self, id: u64) -> bool {
        let Some(index) = id
            .checked_sub(self.first_id)
            .and_then(|index| usize::try_from(index).ok())
        else {
            return false;
        };
        match self.events.get_mut(index) {
            Some(event) => {
                event.delivered = true;
                self.queued.remove(&id);
                true
            }
            None => false,
        }
    }

    /// The event as JSON (`id`, `status`, `payload`), or `None` when unknown or evicted.
    pub(crate) fn event_json(&self, id: u64) -> Option<String> {
        let event = self.get(id)?;
        let mut out = String::with_capacity(event.payload.len() + 64);
        write_event(&mut out, id, event);
        Some(out)
    }

    /// `{"events":[...]}` with up to `limit` undelivered events, newest first.
    pub(crate) fn inbox_json(&self, limit: usize) -> String {
        let mut out = String::with_capacity(256);
        out.push_str(r#"{"events":["#);
        let newest = self.queued.iter().rev().take(limit);
        for (n, &id) in newest.enumerate() {
            if n > 0 {
                out.push(',');
            }
            if let Some(event) = self.get(id) {
                write_event(&mut out, id, event);
            }
        }
        out.push_str("]}");
        out
    }
}

/// The JSON of an acknowledgement or creation: `{"id":"evt_N","status":"..."}`.
pub(crate) fn status_json(id: u64, status: &str) -> String {
    format!(r#"{{"id":"{ID_PREFIX}{id}","status":"{status}"}}"#)
}

fn write_event(out: &mut String, id: u64, event: &Event) {
    let status = if event.delivered {
        "delivered"
    } else {
        "queued"
    };
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        r#"{{"id":"{ID_PREFIX}{id}","status":"{status}","payload":"#
    );
    // The payload was validated as UTF-8 JSON on the way in; the lossy path never runs.
    out.push_str(&String::from_utf8_lossy(&event.payload));
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(n: u64) -> Bytes {
        Bytes::from(format!(r#"{{"n":{n}}}"#))
    }

    #[test]
    fn oldest_events_are_evicted_at_capacity() {
        let mut store = Store::new(3);
        let ids: Vec<u64> = (0..5).map(|n| store.insert(payload(n))).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
        assert_eq!(store.len(), 3);
        assert_eq!(store.event_json(2), None);
        assert_eq!(
            store.event_json(3).as_deref(),
            Some(r#"{"id":"evt_3","status":"queued","payload":{"n":2}}"#)
        );
        assert_eq!(store.queued.len(), 3);
    }

    #[test]
    fn inbox_lists_undelivered_newest_first() {
        let mut store = Store::new(10);
        for n in 0..4 {
            store.insert(payload(n));
        }
        assert!(store.ack(4));
        assert!(!store.ack(99));
        assert!(!store.ack(0));
        let inbox = store.inbox_json(2);
        assert_eq!(
            inbox,
            r#"{"events":[{"id":"evt_3","status":"queued","payload":{"n":2}},{"id":"evt_2","status":"queued","payload":{"n":1}}]}"#
        );
        assert_eq!(store.inbox_json(0), r#"{"events":[]}"#);
    }

    #[test]
    fn ids_parse_only_in_their_printed_form() {
        assert_eq!(parse_id("evt_42"), Some(42));
        for text in [
            "42",
            "evt_",
            "evt_+1",
            "evt_-1",
            "evt_1x",
            "evt_99999999999999999999",
        ] {
            assert_eq!(parse_id(text), None, "{text}");
        }
    }
}
