//! Writing an HTTP/1.1 request into a reused buffer: request line, headers, `content-length`
//! where hyper's client would send one, and the body, so that a small request leaves in one
//! write.
//!
//! Knows nothing of sockets or responses.

use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Method};

/// What the response reader needs to know of the request just written.
pub(crate) struct Written {
    /// A `HEAD` response has no body.
    pub(crate) method: Method,
    /// The request asked for `Connection: close`: the connection ends with this exchange.
    pub(crate) closes: bool,
}

/// Writes the request into `out` (cleared first): `target` is the origin form (path and query,
/// "/" when empty); `headers` go as they come (build.rs sets `Host`). A non-empty body gets a
/// `content-length` unless the request set one; an empty one gets none, for any method, as
/// hyper's client does (it sends a body only when the body is not at its end). A request whose
/// last transfer coding is chunked (RFC 9112 §6.1) has its body sent as one chunk and the last.
pub(crate) fn request<'h>(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    headers: impl IntoIterator<Item = (&'h HeaderName, &'h HeaderValue)>,
    body: &[u8],
) -> Written {
    out.clear();
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(if target.is_empty() {
        b"/"
    } else {
        target.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let (mut closes, mut chunked, mut has_length) = (false, false, false);
    for (name, value) in headers {
        if name == CONNECTION {
            closes |= value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"));
        } else if name == TRANSFER_ENCODING {
            // The last value's last coding is what frames the body.
            chunked = value
                .as_bytes()
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name == CONTENT_LENGTH {
            has_length = true;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let written = Written {
        method: method.clone(),
        closes,
    };
    if chunked {
        // The scenario framed the body itself: send it as it said, one chunk and the last.
        out.extend_from_slice(b"\r\n");
        if !body.is_empty() {
            let mut digits = itoa_buffer();
            out.extend_from_slice(format_hex(&mut digits, body.len()));
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        return written;
    }
    if !body.is_empty() && !has_length {
        out.extend_from_slice(b"content-length: ");
        let mut digits = itoa_buffer();
        out.extend_from_slice(format_len(&mut digits, body.len()));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    written
}

/// `n` in hexadecimal (a chunk size), written into the end of `digits`.
fn format_hex(digits: &mut [u8; 20], mut n: usize) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[n % 16];
        n /= 16;
        if n == 0 {
            return &digits[at..];
        }
    }
}

fn itoa_buffer() -> [u8; 20] {
    [0; 20]
}

/// `n` in decimal, written into the end of `digits`, without an allocation.
fn format_len(digits: &mut [u8; 20], mut n: usize) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &digits[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use http::header::HOST;

    fn written(
        method: Method,
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (String, Written) {
        let mut out = Vec::new();
        let written = request(&mut out, &method, target, headers, body);
        (String::from_utf8(out).unwrap(), written)
    }

    fn host() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("example.test:8080"));
        headers
    }

    #[test]
    fn a_get_is_its_line_and_headers_without_a_length() {
        let (text, written) = written(Method::GET, "/a/b?x=1&y=2", &host(), b"");
        assert_eq!(
            text,
            "GET /a/b?x=1&y=2 HTTP/1.1\r\nhost: example.test:8080\r\n\r\n"
        );
        assert!(!written.closes);
    }

    #[test]
    fn a_body_gets_its_length_and_an_empty_post_none() {
        let (text, _) = written(Method::POST, "/p", &host(), b"{\"a\":12345}");
        assert_eq!(
            text,
            "POST /p HTTP/1.1\r\nhost: example.test:8080\r\ncontent-length: 11\r\n\r\n{\"a\":12345}"
        );
        let (text, _) = written(Method::POST, "/p", &host(), b"");
        assert!(!text.contains("content-length"), "{text}");
    }

    #[test]
    fn a_length_the_request_set_is_not_doubled() {
        let mut headers = host();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("2"));
        let (text, _) = written(Method::PUT, "/", &headers, b"ab");
        assert_eq!(text.matches("content-length").count(), 1, "{text}");
    }

    #[test]
    fn a_body_the_request_says_is_chunked_goes_in_chunks() {
        let mut headers = host();
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("gzip, Chunked"));
        let body = vec![b'x'; 300];
        let (text, _) = written(Method::POST, "/p", &headers, &body);
        let expected = format!(
            "POST /p HTTP/1.1\r\nhost: example.test:8080\r\ntransfer-encoding: gzip, Chunked\r\n\r\n12c\r\n{}\r\n0\r\n\r\n",
            "x".repeat(300)
        );
        assert_eq!(text, expected);
        let (text, _) = written(Method::POST, "/p", &headers, b"");
        assert!(text.ends_with("Chunked\r\n\r\n0\r\n\r\n"), "{text}");
        assert!(!text.contains("content-length"), "{text}");
    }

    #[test]
    fn headers_rendered_per_request_follow_the_prepared_ones_and_frame_the_body_too() {
        let prepared = host();
        let rendered = [
            (
                HeaderName::from_static("x-trace"),
                HeaderValue::from_static("t-1"),
            ),
            (TRANSFER_ENCODING, HeaderValue::from_static("chunked")),
        ];
        let headers = prepared
            .iter()
            .chain(rendered.iter().map(|(name, value)| (name, value)));
        let mut out = Vec::new();
        request(&mut out, &Method::POST, "/p", headers, b"ab");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /p HTTP/1.1\r\nhost: example.test:8080\r\nx-trace: t-1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn an_empty_target_is_the_root() {
        let (text, _) = written(Method::GET, "", &host(), b"");
        assert!(text.starts_with("GET / HTTP/1.1\r\n"), "{text}");
    }

    #[test]
    fn connection_close_is_noted() {
        let mut headers = host();
        headers.insert(CONNECTION, HeaderValue::from_static("Close"));
        let (_, written) = written(Method::GET, "/", &headers, b"");
        assert!(written.closes);
    }

    #[test]
    fn lengths_are_written_in_decimal() {
        let mut digits = itoa_buffer();
        for n in [0, 7, 10, 999, 1_000_000, usize::MAX] {
            assert_eq!(format_len(&mut digits, n), n.to_string().as_bytes());
            assert_eq!(format_hex(&mut digits, n), format!("{n:x}").as_bytes());
        }
    }
}
