//! Reading request bodies with a size cap, so one client cannot make the target buffer
//! gigabytes.

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

/// Largest `POST /webhooks/{name}` body.
pub(crate) const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;
/// Largest `POST /events` and `POST /login` body; events are kept in memory, so this
/// times `store_capacity` bounds the store.
pub(crate) const MAX_JSON_BYTES: usize = 64 * 1024;

/// Why a body could not be read.
pub(crate) enum BodyError {
    /// Longer than the cap: answered `413`.
    TooLarge,
    /// The client went away or sent a broken body: nobody to answer.
    Aborted,
}

/// True when `Content-Length` already says the body is over `limit`, so the target can
/// answer `413` without reading it.
pub(crate) fn declared_too_large(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64)
}

/// Reads the whole body, failing once it exceeds `limit` bytes.
pub(crate) async fn read(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Aborted),
    }
}

/// Reads and throws away a body the answer does not need (a `401`, a `429`, an injected
/// `500`), so hyper can keep the connection alive instead of closing it on unread bytes.
/// Gives up past `MAX_WEBHOOK_BYTES`; hyper then closes the connection after answering.
pub(crate) async fn discard(mut body: Incoming) -> Result<(), BodyError> {
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Aborted)?;
        if let Some(data) = frame.data_ref() {
            seen += data.len();
            if seen > MAX_WEBHOOK_BYTES {
                return Err(BodyError::TooLarge);
            }
        }
    }
    Ok(())
}
