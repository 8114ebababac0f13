//! `GET /ws`: echo, broadcast to the other sockets, ping and pong, and the counters.

use futures_util::{SinkExt as _, StreamExt as _};
use http::StatusCode;
use stampede_target::Target;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Client, target};
use crate::metrics::sample;
use crate::sse_client::STREAM_GUARD;

type Socket = WebSocketStream<TcpStream>;

async fn connect(target: &Target) -> Socket {
    let stream = TcpStream::connect(target.addr()).await.expect("connects");
    let url = format!("ws://{}/ws", target.addr());
    let (socket, response) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("the websocket handshake succeeds");
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    socket
}

/// The next message, failing the test past the guard or at the end of the socket.
async fn next(socket: &mut Socket) -> Message {
    tokio::time::timeout(STREAM_GUARD, socket.next())
        .await
        .expect("a message before the guard")
        .expect("the socket is open")
        .expect("a valid message")
}

#[tokio::test]
async fn text_and_binary_messages_are_echoed() {
    let target = target();
    let mut socket = connect(&target).await;
    socket.send(Message::text("hello")).await.expect("sends");
    assert_eq!(next(&mut socket).await, Message::text("hello"));
    let bytes = vec![0u8, 1, 2, 255];
    socket
        .send(Message::binary(bytes.clone()))
        .await
        .expect("sends");
    assert_eq!(next(&mut socket).await, Message::binary(bytes));
}

#[tokio::test]
async fn pings_are_answered_with_pongs() {
    let target = target();
    let mut socket = connect(&target).await;
    socket
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .expect("sends");
    assert_eq!(
        next(&mut socket).await,
        Message::Pong(b"are you there".to_vec().into())
    );
}

#[tokio::test]
async fn broadcasts_reach_the_other_sockets() {
    let target = target();
    let mut sender = connect(&target).await;
    let mut listener = connect(&target).await;
    let text = r#"{"broadcast":true,"text":"to everyone"}"#;
    sender.send(Message::text(text)).await.expect("sends");
    assert_eq!(next(&mut sender).await, Message::text(text), "echoed too");
    assert_eq!(next(&mut listener).await, Message::text(text));

    // A message without the flag stays with its sender: the listener's next message is
    // the next broadcast, not it.
    sender
        .send(Message::text(r#"{"x":1}"#))
        .await
        .expect("sends");
    assert_eq!(next(&mut sender).await, Message::text(r#"{"x":1}"#));
    let again = r#"{"broadcast":true,"n":2}"#;
    sender.send(Message::text(again)).await.expect("sends");
    assert_eq!(next(&mut listener).await, Message::text(again));
    assert_eq!(next(&mut sender).await, Message::text(again));

    let mut client = Client::connect(target.addr()).await;
    let metrics = client.get("/metrics", &[]).await;
    let value = |series| sample(metrics.text(), series);
    assert_eq!(value("stampede_target_websockets_open"), 2.0);
    assert_eq!(value("stampede_target_ws_messages_received_total"), 3.0);
    assert_eq!(value("stampede_target_ws_messages_sent_total"), 5.0);
    assert_eq!(
        value(r#"stampede_target_requests_total{route="/ws",status="101"}"#),
        2.0
    );
}

#[tokio::test]
async fn a_plain_get_of_ws_is_400() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let reply = client.get("/ws", &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.json()["error"].is_string());
}
