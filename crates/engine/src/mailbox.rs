//! Messages between paired users on one load thread: a sender notes each `${msg_id}` it sent
//! and when; the partner's stream looks each arriving event up here, which gives its end-to-end
//! latency on one clock; what is not seen within `expect-within` is counted lost.
//!
//! Partners run on the same thread (see `Share::of_paired`), so this needs no lock. A message
//! is expected only when the partner holds (or is reconnecting) its stream: a partner that
//! does not exist or has left cannot lose anything.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use stampede_metrics::StatsSet;
use stampede_plan::Plan;
use stampede_plan::template::MSG_ID_PREFIX;
use tokio::time::Instant;

use crate::share::Share;

struct Pending {
    receiver: u64,
    sent: Instant,
    deadline: Instant,
}

/// What became of an event that arrived on a paired stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// A message for this receiver, within `expect-within`: its end-to-end latency.
    OnTime(Duration),
    /// A message for this receiver, after `expect-within`: counted lost.
    Late,
    /// No message id we are waiting for (a heartbeat, a replay, someone else's message).
    Other,
}

pub(crate) struct Mailbox {
    /// The stream messages are expected on, and how soon.
    paired: Option<(usize, Duration)>,
    next: Cell<u64>,
    pending: RefCell<HashMap<u64, Pending>>,
    /// Users whose paired stream holder is running, by how many holders.
    listening: RefCell<HashMap<u64, u32>>,
}

impl Mailbox {
    pub(crate) fn new(plan: &Plan) -> Mailbox {
        let paired = plan
            .streams
            .iter()
            .position(|s| s.pairs)
            .map(|i| (i, plan.streams[i].expect_within));
        Mailbox {
            paired,
            next: Cell::new(0),
            pending: RefCell::new(HashMap::new()),
            listening: RefCell::new(HashMap::new()),
        }
    }

    /// The stream that pairs users, if any.
    pub(crate) fn paired(&self) -> Option<usize> {
        self.paired.map(|(index, _)| index)
    }

    /// The number of the next `${msg_id}`, unique over the run.
    pub(crate) fn next_id(&self, share: Share) -> u64 {
        let local = self.next.get();
        self.next.set(local + 1);
        share.global(local)
    }

    /// User `sender` handed messages `ids` to its connection at `at`; those its partner is
    /// listening for are counted as expected in `stats`.
    pub(crate) fn sent(&self, sender: u64, ids: &[u64], at: Instant, stats: &mut StatsSet) {
        let Some((index, within)) = self.paired else {
            return;
        };
        let receiver = sender ^ 1;
        if ids.is_empty() || !self.listening.borrow().contains_key(&receiver) {
            return;
        }
        if let Some(stream) = stats.streams.get_mut(index) {
            stream.expected += ids.len() as u64;
        }
        let mut pending = self.pending.borrow_mut();
        for &id in ids {
            let deadline = at + within;
            pending.insert(
                id,
                Pending {
                    receiver,
                    sent: at,
                    deadline,
                },
            );
        }
    }

    /// `user`'s paired stream holder starts (true) or ends (false).
    pub(crate) fn listen(&self, user: u64, on: bool) {
        let mut listening = self.listening.borrow_mut();
        let count = listening.entry(user).or_insert(0);
        if on {
            *count += 1;
        } else {
            *count = count.saturating_sub(1);
            if *count == 0 {
                listening.remove(&user);
            }
        }
    }

    /// An event with `data` arrived on `receiver`'s paired stream at `now`.
    pub(crate) fn arrived(&self, receiver: u64, data: &str, now: Instant) -> Arrival {
        let Some(id) = message_id(data) else {
            return Arrival::Other;
        };
        let mut pending = self.pending.borrow_mut();
        match pending.get(&id) {
            Some(p) if p.receiver == receiver => {}
            _ => return Arrival::Other,
        }
        let Some(p) = pending.remove(&id) else {
            return Arrival::Other;
        };
        if now > p.deadline {
            Arrival::Late
        } else {
            Arrival::OnTime(now - p.sent)
        }
    }

    /// The latest deadline of the messages `receiver` still waits for.
    pub(crate) fn waiting_until(&self, receiver: u64) -> Option<Instant> {
        self.pending
            .borrow()
            .values()
            .filter(|p| p.receiver == receiver)
            .map(|p| p.deadline)
            .max()
    }

    /// Counts the messages past their deadline at `now` as lost, into `stats`.
    pub(crate) fn sweep(&self, now: Instant, stats: &mut StatsSet) {
        let Some((index, _)) = self.paired else {
            return;
        };
        let mut lost = 0;
        self.pending.borrow_mut().retain(|_, p| {
            let expired = p.deadline < now;
            lost += u64::from(expired);
            !expired
        });
        if let Some(stream) = stats.streams.get_mut(index) {
            stream.lost += lost;
        }
    }

    /// Forgets messages still pending when a step starts: their step ended (cut short) before
    /// their deadline, so they were neither seen nor lost.
    pub(crate) fn forget(&self) {
        self.pending.borrow_mut().clear();
        self.listening.borrow_mut().clear();
    }
}

/// The number in the first `stampede-msg-N` of `data`.
pub(crate) fn message_id(data: &str) -> Option<u64> {
    let at = data.find(MSG_ID_PREFIX)? + MSG_ID_PREFIX.len();
    let digits = data[at..].bytes().take_while(u8::is_ascii_digit).count();
    data[at..at + digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_plan::{Stream, StreamKind, Template};

    fn plan() -> Plan {
        Plan {
            streams: vec![Stream {
                name: "inbox".into(),
                kind: StreamKind::Sse,
                path: Template::literal("/stream"),
                headers: Vec::new(),
                hold: None,
                expect_within: Duration::from_secs(1),
                pairs: true,
                send: None,
            }],
            ..Plan::default()
        }
    }

    #[test]
    fn message_ids_are_found_in_event_data() {
        assert_eq!(message_id(r#"{"body":{"m":"stampede-msg-42"}}"#), Some(42));
        assert_eq!(message_id("stampede-msg-"), None);
        assert_eq!(message_id("hello"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn partners_see_on_time_late_and_lost_messages() {
        let mailbox = Mailbox::new(&plan());
        let mut stats = StatsSet::with_streams(0, 1);
        let t0 = Instant::now();
        // Nobody listens yet: nothing is expected.
        mailbox.sent(4, &[1], t0, &mut stats);
        assert_eq!(mailbox.waiting_until(5), None);
        mailbox.listen(5, true);
        mailbox.sent(4, &[2, 3, 4], t0, &mut stats);
        assert_eq!(stats.streams[0].expected, 3);
        assert_eq!(mailbox.waiting_until(5), Some(t0 + Duration::from_secs(1)));
        let ms = Duration::from_millis;
        // Only the partner's stream counts it.
        assert_eq!(
            mailbox.arrived(6, "stampede-msg-2", t0 + ms(5)),
            Arrival::Other
        );
        assert_eq!(
            mailbox.arrived(5, "stampede-msg-2", t0 + ms(5)),
            Arrival::OnTime(ms(5))
        );
        assert_eq!(
            mailbox.arrived(5, "stampede-msg-2", t0 + ms(6)),
            Arrival::Other
        );
        assert_eq!(
            mailbox.arrived(5, "stampede-msg-3", t0 + ms(1001)),
            Arrival::Late
        );
        mailbox.sweep(t0 + ms(1000), &mut stats);
        assert_eq!(stats.streams[0].lost, 0);
        mailbox.sweep(t0 + ms(1001), &mut stats);
        assert_eq!(stats.streams[0].lost, 1);
        assert_eq!(mailbox.waiting_until(5), None);
    }
}
