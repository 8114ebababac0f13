//! One request over a user's connection: wait for the response head to the request handed over,
//! read the body within the request's timeout, keep as much of it as someone needs, and note
//! when the head came.
//!
//! Knows nothing of statistics or checks: what happened goes back to the user, which records it.

use std::pin::Pin;
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::conn::{Broke, Driver};
use crate::h1;

/// A complete response.
pub(crate) struct Received {
    pub(crate) parts: http::response::Parts,
    /// Body bytes received (all of them, however many were kept).
    pub(crate) bytes: u64,
    /// When the response head arrived.
    pub(crate) head: Instant,
}

/// An exchange that did not complete.
pub(crate) struct Failed {
    pub(crate) broke: Broke,
    /// When the response head arrived, if it did before things went wrong.
    pub(crate) head: Option<Instant>,
}

/// Sends the request the lean connection has written and reads all of its response within
/// `timeout`, keeping the first `keep` bytes of its body in `body` (cleared first); the
/// response's headers are kept when `headers` asks (see [`h1::Conn::exchange`]).
pub(crate) async fn exchange_lean(
    conn: &mut h1::Conn,
    body: &mut Vec<u8>,
    (keep, headers): (usize, bool),
    timeout: Duration,
) -> Result<Received, Failed> {
    body.clear();
    let mut head = None;
    let exchange = conn.exchange(body, (keep, headers), &mut head);
    let result = tokio::time::timeout(timeout, exchange).await;
    match result {
        Ok(Ok((parts, bytes, head))) => Ok(Received { parts, bytes, head }),
        Ok(Err(err)) => Err(Failed {
            broke: Broke::Lean(err),
            head,
        }),
        Err(_) => Err(Failed {
            broke: Broke::Timeout(timeout),
            head,
        }),
    }
}

/// Waits for the response to a request already handed to the connection (`sending`, pinned by
/// the caller so that it is kept once) and reads all of it within `timeout`, keeping the first
/// `keep` bytes of its body in `body` (cleared first); `driver` moves the connection's bytes
/// meanwhile.
pub(crate) async fn exchange<S>(
    (sending, driver): (Pin<&mut S>, &mut Driver),
    body: &mut Vec<u8>,
    keep: usize,
    timeout: Duration,
) -> Result<Received, Failed>
where
    S: Future<Output = Result<http::Response<hyper::body::Incoming>, hyper::Error>>,
{
    body.clear();
    let mut head = None;
    let result = {
        let exchange = std::pin::pin!(async {
            let response = sending.await.map_err(Broke::Hyper)?;
            let arrived = Instant::now();
            head = Some(arrived);
            let (parts, mut incoming) = response.into_parts();
            let mut bytes = 0u64;
            while let Some(frame) = incoming.frame().await {
                let frame = frame.map_err(Broke::Hyper)?;
                if let Some(data) = frame.data_ref() {
                    bytes += data.len() as u64;
                    let room = keep.saturating_sub(body.len());
                    body.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Ok::<_, Broke>(Received {
                parts,
                bytes,
                head: arrived,
            })
        });
        match tokio::time::timeout(timeout, driver.drive(exchange)).await {
            Ok(result) => result,
            Err(_) => Err(Broke::Timeout(timeout)),
        }
    };
    result.map_err(|broke| Failed { broke, head })
}
