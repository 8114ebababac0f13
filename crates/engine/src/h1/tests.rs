//! The lean client against a scripted peer on an in-memory pipe: reuse, interim responses,
//! bodies of every framing, closes, resets, a large body through a small buffer.

use super::*;
use http::HeaderMap;
use http::header::HOST;
use tokio::io::DuplexStream;

fn pair() -> (Conn, DuplexStream) {
    let (client, server) = tokio::io::duplex(64 * 1024);
    (Conn::new(Box::new(client)), server)
}

fn get(conn: &mut Conn, method: Method) {
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("t"));
    conn.start(&method, "/x?y=1", &headers, b"");
}

/// Reads one request head off the pipe and hands it back as text.
async fn request(server: &mut DuplexStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            server.read(&mut byte).await.unwrap(),
            1,
            "the request ended early"
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// One exchange: the client's request, the peer's `reply` to it, the client's result.
async fn exchange(
    conn: &mut Conn,
    server: &mut DuplexStream,
    reply: &[u8],
    keep: usize,
) -> (Result<(http::response::Parts, u64), Error>, Vec<u8>) {
    let mut body = Vec::new();
    let mut head = None;
    let client = conn.exchange(&mut body, (keep, true), &mut head);
    let peer = async {
        let text = request(server).await;
        server.write_all(reply).await.unwrap();
        text
    };
    let (result, text) = tokio::join!(client, peer);
    assert!(
        text.starts_with("GET /x?y=1 HTTP/1.1\r\n") || text.starts_with("HEAD "),
        "{text}"
    );
    (result.map(|(parts, bytes, _)| (parts, bytes)), body)
}

/// One GET whose peer writes `reply` and hangs up: the client's result, the body kept and
/// whether a response head was seen.
async fn exchange_then_close(
    conn: &mut Conn,
    mut server: DuplexStream,
    reply: &[u8],
) -> (Result<(http::response::Parts, u64), Error>, Vec<u8>, bool) {
    get(conn, Method::GET);
    let mut body = Vec::new();
    let mut head = None;
    let client = conn.exchange(&mut body, (100, true), &mut head);
    let peer = async move {
        request(&mut server).await;
        server.write_all(reply).await.unwrap();
    };
    let (result, ()) = tokio::join!(client, peer);
    (
        result.map(|(parts, bytes, _)| (parts, bytes)),
        body,
        head.is_some(),
    )
}

#[tokio::test]
async fn a_connection_carries_one_response_after_another() {
    let (mut conn, mut server) = pair();
    for n in 0..3u8 {
        conn.ready().await.unwrap();
        get(&mut conn, Method::GET);
        let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr{n}");
        let (result, body) = exchange(&mut conn, &mut server, reply.as_bytes(), 100).await;
        let (parts, bytes) = result.unwrap();
        assert_eq!((parts.status.as_u16(), bytes), (200, 2));
        assert_eq!(body, format!("r{n}").as_bytes());
    }
}

#[tokio::test]
async fn interim_responses_are_skipped() {
    let (mut conn, mut server) = pair();
    get(&mut conn, Method::GET);
    let reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nk";
    let (result, body) = exchange(&mut conn, &mut server, reply, 100).await;
    assert_eq!(result.unwrap().0.status.as_u16(), 201);
    assert_eq!(body, b"k");
    conn.ready().await.unwrap();
}

#[tokio::test]
async fn head_204_and_304_have_no_body_and_keep_the_connection() {
    let (mut conn, mut server) = pair();
    let replies: [(Method, &[u8]); 3] = [
        (
            Method::HEAD,
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        ),
        (Method::GET, b"HTTP/1.1 204 No Content\r\n\r\n"),
        (
            Method::GET,
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
        ),
    ];
    for (method, reply) in replies {
        get(&mut conn, method);
        let (result, _) = exchange(&mut conn, &mut server, reply, 100).await;
        assert_eq!(result.unwrap().1, 0);
        conn.ready().await.unwrap();
    }
}

#[tokio::test]
async fn connection_close_ends_the_connection_after_its_response() {
    let (mut conn, mut server) = pair();
    get(&mut conn, Method::GET);
    let reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    let (result, body) = exchange(&mut conn, &mut server, reply, 100).await;
    assert_eq!(result.unwrap().1, 2);
    assert_eq!(body, b"ok");
    let err = conn.ready().await.unwrap_err();
    assert_eq!(err.outcome(), Outcome::Reset);
}

#[tokio::test]
async fn a_close_delimited_body_reads_to_the_close_and_ends_the_connection() {
    let (mut conn, server) = pair();
    let reply = b"HTTP/1.1 200 OK\r\n\r\nuntil the end";
    let (result, body, _) = exchange_then_close(&mut conn, server, reply).await;
    assert_eq!(result.unwrap().1, 13);
    assert_eq!(body, b"until the end");
    assert!(conn.ready().await.is_err());
}

#[tokio::test]
async fn a_peer_that_goes_away_mid_body_is_a_reset_after_the_head() {
    let (mut conn, server) = pair();
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart";
    let (result, _, head) = exchange_then_close(&mut conn, server, reply).await;
    let err = result.unwrap_err();
    assert_eq!(err.outcome(), Outcome::Reset);
    assert_eq!(
        err.to_string(),
        "connection closed before message completed"
    );
    assert!(head, "the head came before the body broke");
}

#[tokio::test]
async fn garbage_instead_of_http_is_other() {
    let (mut conn, mut server) = pair();
    get(&mut conn, Method::GET);
    let (result, _) = exchange(&mut conn, &mut server, b"SSH-2.0-OpenSSH\r\n\r\n", 100).await;
    assert_eq!(result.unwrap_err().outcome(), Outcome::Other);
}

#[tokio::test]
async fn a_head_over_the_limit_is_other() {
    let (mut conn, mut server) = pair();
    get(&mut conn, Method::GET);
    let mut reply = b"HTTP/1.1 200 OK\r\nx-big: ".to_vec();
    reply.resize(response::MAX_HEAD_BYTES + 10, b'a');
    let mut body = Vec::new();
    let mut head = None;
    let client = conn.exchange(&mut body, (100, true), &mut head);
    let peer = async move {
        request(&mut server).await;
        // The client stops reading at the limit; the peer's last write may then never finish.
        let _ = server.write_all(&reply).await;
        server
    };
    let (result, _server) = tokio::join!(client, peer);
    let err = result.unwrap_err();
    assert!(matches!(err, Error::TooLarge), "{err}");
    assert_eq!(err.outcome(), Outcome::Other);
}

#[tokio::test]
async fn bytes_on_an_idle_connection_or_a_close_make_it_not_ready() {
    let (mut conn, mut server) = pair();
    conn.ready().await.unwrap();
    server
        .write_all(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        .await
        .unwrap();
    assert!(conn.ready().await.is_err());
    let (mut conn, server) = pair();
    drop(server);
    assert_eq!(conn.ready().await.unwrap_err().outcome(), Outcome::Reset);
}

#[tokio::test]
async fn a_large_chunked_body_streams_through_a_bounded_buffer() {
    const TOTAL: usize = 5 * 1024 * 1024;
    let (mut conn, mut server) = pair();
    get(&mut conn, Method::GET);
    let mut body = Vec::new();
    let mut head = None;
    let client = conn.exchange(&mut body, (16, false), &mut head);
    let peer = async {
        request(&mut server).await;
        server
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let chunk = vec![b'z'; 10_000];
        let mut sent = 0;
        while sent < TOTAL {
            let n = chunk.len().min(TOTAL - sent);
            server
                .write_all(format!("{n:x}\r\n").as_bytes())
                .await
                .unwrap();
            server.write_all(&chunk[..n]).await.unwrap();
            server.write_all(b"\r\n").await.unwrap();
            sent += n;
        }
        server.write_all(b"0\r\n\r\n").await.unwrap();
    };
    let (result, ()) = tokio::join!(client, peer);
    assert_eq!(result.unwrap().1, TOTAL as u64);
    assert_eq!(body.len(), 16);
    assert!(conn.read.len() <= READ_BYTES, "the read buffer shrank back");
    conn.ready().await.unwrap();
}

#[tokio::test]
async fn a_body_writes_its_length_and_leaves_with_the_head() {
    let (mut conn, mut server) = pair();
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("t"));
    conn.start(&Method::POST, "/p", &headers, b"{}");
    let mut body = Vec::new();
    let mut head = None;
    let client = conn.exchange(&mut body, (100, true), &mut head);
    let peer = async {
        let text = request(&mut server).await;
        let mut sent = [0u8; 2];
        server.read_exact(&mut sent).await.unwrap();
        server
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        (text, sent)
    };
    let (result, (text, sent)) = tokio::join!(client, peer);
    result.unwrap();
    assert_eq!(
        text,
        "POST /p HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n"
    );
    assert_eq!(&sent, b"{}");
}
