//! `GET /ws`: the websocket handshake over hyper's upgrade, then an echo loop. Text and
//! binary messages come back to their sender; a text message that is a JSON object with
//! `"broadcast": true` also goes to every other open websocket. Pings are answered with
//! pongs (by tungstenite, flushed here).
//!
//! Each websocket's outbound queue is bounded by `Streams::buffer`; a peer whose queue is
//! full when a broadcast arrives is disconnected and counted as a slow consumer. Websockets
//! need no credentials. HTTP/2 websockets (RFC 8441) are not offered: `/ws` over HTTP/2 is
//! answered `400`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt as _, StreamExt as _};
use http::header::{
    CONNECTION, HeaderMap, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::debug;

use crate::counters::{add, bump};
use crate::respond::{self, Body};
use crate::state::{State, lock};

/// Largest message (and frame) accepted, so one client cannot make the target buffer
/// megabytes per socket.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The open websockets, by id, with their bounded outbound queues.
pub(crate) struct Room {
    peers: Mutex<HashMap<u64, Peer>>,
    next_id: AtomicU64,
    buffer: usize,
}

struct Peer {
    outbox: mpsc::Sender<Message>,
    kick: Arc<Notify>,
}

impl Room {
    pub(crate) fn new(buffer: usize) -> Self {
        Room {
            peers: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            buffer: buffer.max(1),
        }
    }

    /// Adds a peer; returns its id, its inbox and the notice that it has been cut off.
    fn join(&self) -> (u64, mpsc::Receiver<Message>, Arc<Notify>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (outbox, inbox) = mpsc::channel(self.buffer);
        let kick = Arc::new(Notify::new());
        let peer = Peer {
            outbox,
            kick: Arc::clone(&kick),
        };
        lock(&self.peers).insert(id, peer);
        (id, inbox, kick)
    }

    fn leave(&self, id: u64) {
        lock(&self.peers).remove(&id);
    }

    /// Queues `message` for every peer but `from`; returns how many were cut off as slow.
    fn broadcast(&self, from: u64, message: &Message) -> u64 {
        let mut slow = 0;
        lock(&self.peers).retain(|id, peer| {
            if *id == from {
                return true;
            }
            match peer.outbox.try_send(message.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    peer.kick.notify_one();
                    slow += 1;
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        slow
    }
}

/// Answers `GET /ws`: `101 Switching Protocols` for a valid websocket handshake, after
/// which the connection is served by a task of its own.
pub(crate) fn accept(state: &Arc<State>, req: &mut Request<Incoming>) -> Response<Body> {
    if req.version() != Version::HTTP_11 {
        return respond::error(
            StatusCode::BAD_REQUEST,
            r#"{"error":"websockets are served over HTTP/1.1 only"}"#,
        );
    }
    let Some(key) = handshake_key(req.headers()) else {
        return respond::error(
            StatusCode::BAD_REQUEST,
            r#"{"error":"expected a websocket handshake: Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key"}"#,
        );
    };
    if !state.hub.open_one() {
        return respond::error(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"too many streams and websockets open"}"#,
        );
    }
    let accept_key = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(req);
    // Join the room before answering, so a broadcast sent right after this client's
    // handshake completes already reaches it.
    let mut peer = Open::new(Arc::clone(state));
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => serve(&mut peer, upgraded).await,
            Err(err) => debug!(error = %err, "websocket upgrade failed"),
        }
    });
    let mut response = Response::new(Body::full(""));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(value) = HeaderValue::from_str(&accept_key) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

/// The `Sec-WebSocket-Key` of a valid handshake request, or `None`.
fn handshake_key(headers: &HeaderMap) -> Option<HeaderValue> {
    let has_token = |name, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|text| {
                text.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    let version_13 = headers
        .get(SEC_WEBSOCKET_VERSION)
        .is_some_and(|version| version.as_bytes() == b"13");
    if has_token(CONNECTION, "upgrade") && has_token(UPGRADE, "websocket") && version_13 {
        headers.get(SEC_WEBSOCKET_KEY).cloned()
    } else {
        None
    }
}

/// An open websocket: its place in the open count, the gauge and the room, all given back
/// when dropped.
struct Open {
    state: Arc<State>,
    id: u64,
    inbox: mpsc::Receiver<Message>,
    kick: Arc<Notify>,
}

impl Open {
    fn new(state: Arc<State>) -> Self {
        let counters = &state.metrics.counters;
        counters.websockets_open.fetch_add(1, Ordering::Relaxed);
        let (id, inbox, kick) = state.room.join();
        Open {
            state,
            id,
            inbox,
            kick,
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.state.room.leave(self.id);
        self.state.hub.close_one();
        let counters = &self.state.metrics.counters;
        counters.websockets_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one websocket until either side closes it or it is cut off as slow. The cut-off
/// wins even while a write to a client that stopped reading is blocked.
async fn serve(peer: &mut Open, upgraded: Upgraded) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let socket =
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
    let state = Arc::clone(&peer.state);
    tokio::select! {
        () = echo(&state, peer.id, &mut peer.inbox, socket) => {}
        // Counted where the queue overflowed; here the socket is only let go.
        () = peer.kick.notified() => debug!("cut off a slow websocket consumer"),
    }
}

/// The echo loop: answers what the client sends and forwards what other peers broadcast.
async fn echo(
    state: &State,
    id: u64,
    inbox: &mut mpsc::Receiver<Message>,
    mut socket: WebSocketStream<TokioIo<Upgraded>>,
) {
    let counters = &state.metrics.counters;
    loop {
        let sent = tokio::select! {
            queued = inbox.recv() => match queued {
                Some(message) => socket.send(message).await,
                None => break,
            },
            received = socket.next() => match received {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    bump(&counters.ws_messages_received);
                    if asks_for_broadcast(&message) {
                        let slow = state.room.broadcast(id, &message);
                        add(&counters.slow_ws_consumers, slow);
                    }
                    socket.send(message).await
                }
                // tungstenite has queued the pong (or the closing reply); send it now.
                Some(Ok(Message::Ping(_) | Message::Close(_))) => {
                    if socket.flush().await.is_err() {
                        break;
                    }
                    continue;
                }
                Some(Ok(Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Err(err)) => {
                    debug!(error = %err, "websocket ended with an error");
                    break;
                }
                None => break,
            },
        };
        if sent.is_err() {
            break;
        }
        bump(&counters.ws_messages_sent);
    }
}

/// True for a text message holding a JSON object whose `broadcast` is `true`.
fn asks_for_broadcast(message: &Message) -> bool {
    #[derive(Deserialize)]
    struct Flags {
        #[serde(default)]
        broadcast: bool,
    }
    let Message::Text(text) = message else {
        return false;
    };
    text.trim_start().starts_with('{')
        && serde_json::from_str::<Flags>(text).is_ok_and(|flags| flags.broadcast)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_objects_with_broadcast_true_are_broadcast() {
        let text = |s: &str| Message::text(s);
        assert!(asks_for_broadcast(&text(r#"{"broadcast":true,"x":[1]}"#)));
        for quiet in [
            r#"{"broadcast":false}"#,
            r#"{"broadcast":"yes"}"#,
            r#"{"x":1}"#,
            "broadcast",
            "[true]",
        ] {
            assert!(!asks_for_broadcast(&text(quiet)), "{quiet}");
        }
        assert!(!asks_for_broadcast(&Message::binary(
            &br#"{"broadcast":true}"#[..]
        )));
    }

    #[test]
    fn a_full_outbox_cuts_the_peer_off() {
        let room = Room::new(1);
        let (sender, _sender_inbox, _) = room.join();
        let (_reader, mut reader_inbox, reader_kick) = room.join();
        let message = Message::text("hi");
        assert_eq!(room.broadcast(sender, &message), 0);
        assert_eq!(room.broadcast(sender, &message), 1, "the second overflows");
        assert_eq!(room.broadcast(sender, &message), 0, "cut off once");
        assert!(reader_inbox.try_recv().is_ok());
        // The kick was stored for the peer's loop to see.
        let kicked = reader_kick.notified();
        tokio::pin!(kicked);
        assert!(futures_util::FutureExt::now_or_never(kicked).is_some());
    }
}
