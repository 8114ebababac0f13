//! A tiny HTTP/1.1 client over `hyper::client::conn::http1`, enough to poke the target.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use stampede_target::{Config, Target};
use tokio::net::TcpStream;

/// The API key of `Config::default()`.
pub const KEY: &str = "demo-key";

/// A target with default settings, started on `127.0.0.1:0`.
pub fn target() -> Target {
    Target::start(Config::default()).expect("the target starts on 127.0.0.1:0")
}

/// One keep-alive connection to the target.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the body is UTF-8")
    }
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr)
            .await
            .expect("connects to the target");
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        Client { sender }
    }

    /// Sends one request; `Err` when the connection ends without a response.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Reply, hyper::Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "target");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .expect("a valid request");
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", path, headers, "")
            .await
            .expect("a response")
    }

    pub async fn post(&mut self, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        self.send("POST", path, headers, body)
            .await
            .expect("a response")
    }
}

/// `X-API-Key: demo-key`.
pub fn api_key() -> [(&'static str, &'static str); 1] {
    [("x-api-key", KEY)]
}

/// Writes `request` on a fresh connection and reads until the target closes it. `Ok` holds
/// every byte the target wrote; a reset with nothing read is `Ok` of nothing too, since both
/// mean "no response".
pub async fn raw_exchange(addr: SocketAddr, request: &str) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer).await {
        Ok(_) => Ok(answer),
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset && answer.is_empty() => {
            Ok(answer)
        }
        Err(err) => Err(err),
    }
}
