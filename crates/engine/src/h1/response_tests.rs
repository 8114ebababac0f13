//! The response reader on bytes cut every way: heads and chunked bodies fed byte by byte and
//! at every split point, framings, limits and replies that are not HTTP.

use super::*;

/// Feeds `wire` to a decoder in pieces cut at `cuts`, as a connection would (unused bytes kept,
/// more appended): the body and how many bytes the framing took in all.
fn decode(framing: Framing, wire: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, usize), Error> {
    let mut decoder = Decoder::new(framing);
    let mut pending = Vec::new();
    let mut body = Vec::new();
    let mut used = 0;
    let mut fed = 0;
    let mut ends = cuts.to_vec();
    ends.push(wire.len());
    for end in ends {
        pending.extend_from_slice(&wire[fed..end]);
        fed = end;
        loop {
            match decoder.step(&pending)? {
                Step::Body { consumed, data } => {
                    body.extend_from_slice(&pending[data]);
                    pending.drain(..consumed);
                    used += consumed;
                }
                Step::Need => break,
                Step::Done { consumed } => return Ok((body, used + consumed)),
            }
        }
    }
    decoder.at_eof()?;
    Ok((body, used))
}

const CHUNKED: &[u8] = b"5;name=value\r\nhello\r\n7 \r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n";

#[test]
fn a_chunked_body_decodes_at_every_split_point() {
    for cut in 0..=CHUNKED.len() {
        let (body, used) = decode(Framing::Chunked, CHUNKED, &[cut]).unwrap();
        assert_eq!(body, b"hello, world", "cut at {cut}");
        assert_eq!(used, CHUNKED.len(), "cut at {cut}");
    }
}

#[test]
fn a_chunked_body_decodes_byte_by_byte() {
    let cuts: Vec<usize> = (1..CHUNKED.len()).collect();
    let (body, _) = decode(Framing::Chunked, CHUNKED, &cuts).unwrap();
    assert_eq!(body, b"hello, world");
}

#[test]
fn bytes_after_a_chunked_body_are_left_for_the_next_response() {
    let mut wire = CHUNKED.to_vec();
    wire.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    let (_, used) = decode(Framing::Chunked, &wire, &[]).unwrap();
    assert_eq!(used, CHUNKED.len());
}

#[test]
fn a_chunked_body_cut_short_is_incomplete() {
    let cut = &CHUNKED[..CHUNKED.len() - 3];
    assert!(matches!(
        decode(Framing::Chunked, cut, &[]),
        Err(Error::Closed)
    ));
}

#[test]
fn bad_chunk_sizes_are_parse_errors() {
    for wire in [
        &b"zz\r\n"[..],
        b"5\r\nhelloXX",
        b"fffffffffffffffff\r\n",
        b"5 junk\r\nhello\r\n0\r\n\r\n",
    ] {
        let result = decode(Framing::Chunked, wire, &[]);
        assert!(matches!(result, Err(Error::Parse(_))), "{wire:?}");
    }
}

#[test]
fn a_length_body_stops_at_its_length_at_every_split_point() {
    let wire = b"0123456789next";
    for cut in 0..=wire.len() {
        let (body, used) = decode(Framing::Length(10), wire, &[cut]).unwrap();
        assert_eq!(
            (body.as_slice(), used),
            (&b"0123456789"[..], 10),
            "cut {cut}"
        );
    }
    assert!(matches!(
        decode(Framing::Length(10), b"01234", &[]),
        Err(Error::Closed)
    ));
}

#[test]
fn a_close_delimited_body_is_everything_until_the_close() {
    let (body, _) = decode(Framing::Eof, b"all of it", &[3, 4]).unwrap();
    assert_eq!(body, b"all of it");
}

fn head(wire: &[u8], method: &Method) -> Head {
    parse_head(wire, method, true).unwrap().unwrap()
}

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-One: a\r\nX-One: b\r\n\r\nbody";

#[test]
fn a_head_parses_at_every_split_point_and_only_when_complete() {
    let complete = HEAD.len() - 4;
    for cut in 0..complete {
        assert!(
            parse_head(&HEAD[..cut], &Method::GET, true)
                .unwrap()
                .is_none(),
            "{cut}"
        );
    }
    let parsed = head(HEAD, &Method::GET);
    assert_eq!(parsed.len, complete);
    assert_eq!(parsed.parts.status, StatusCode::OK);
    assert_eq!(parsed.framing, Framing::Length(12));
    assert!(parsed.keep_alive);
    let values: Vec<_> = parsed.parts.headers.get_all("x-one").iter().collect();
    assert_eq!(values, ["a", "b"]);
}

#[test]
fn framing_follows_the_method_status_and_headers() {
    let cases: [(&[u8], Method, Framing); 7] = [
        (HEAD, Method::HEAD, Framing::Length(0)),
        (
            b"HTTP/1.1 204 No Content\r\n\r\n",
            Method::GET,
            Framing::Length(0),
        ),
        (
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
            Method::GET,
            Framing::Length(0),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
            Method::GET,
            Framing::Chunked,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            Method::GET,
            Framing::Eof,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n",
            Method::GET,
            Framing::Length(3),
        ),
        (b"HTTP/1.1 200 OK\r\n\r\n", Method::GET, Framing::Eof),
    ];
    for (wire, method, framing) in cases {
        assert_eq!(
            head(wire, &method).framing,
            framing,
            "{}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn conflicting_or_bad_lengths_are_parse_errors() {
    for wire in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    ] {
        assert!(matches!(
            parse_head(wire, &Method::GET, true),
            Err(Error::Parse(_))
        ));
    }
}

#[test]
fn keep_alive_follows_the_version_and_connection_header() {
    let cases: [(&[u8], bool); 5] = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        (
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        (
            b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        (b"HTTP/1.1 200 OK\r\n\r\n", false),
    ];
    for (wire, keep) in cases {
        assert_eq!(
            head(wire, &Method::GET).keep_alive,
            keep,
            "{}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn a_head_past_the_limits_is_too_large() {
    let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
    for n in 0..=MAX_HEADERS {
        wire.extend_from_slice(format!("x-h{n}: v\r\n").as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    assert!(matches!(
        parse_head(&wire, &Method::GET, true),
        Err(Error::TooLarge)
    ));
    let mut long = b"HTTP/1.1 200 OK\r\nx-long: ".to_vec();
    long.resize(MAX_HEAD_BYTES + 1, b'a');
    assert!(matches!(
        parse_head(&long, &Method::GET, true),
        Err(Error::TooLarge)
    ));
}

#[test]
fn garbage_is_a_parse_error() {
    for wire in [
        &b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..],
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"\x16\x03\x01\x02\x00",
    ] {
        assert!(
            matches!(parse_head(wire, &Method::GET, true), Err(Error::Parse(_))),
            "{wire:?}"
        );
    }
}

#[test]
fn headers_are_copied_only_when_wanted_or_for_a_429() {
    let parsed = parse_head(HEAD, &Method::GET, false).unwrap().unwrap();
    assert!(parsed.parts.headers.is_empty());
    assert_eq!(
        parsed.framing,
        Framing::Length(12),
        "framing reads the fields all the same"
    );
    let limited = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n";
    let parsed = parse_head(limited, &Method::GET, false).unwrap().unwrap();
    assert_eq!(parsed.parts.headers["retry-after"], "1");
}
