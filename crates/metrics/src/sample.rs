//! Short text samples of what a response said, for failure tables and check values: bounded in
//! size, printable, and safe to write into a CSV or a terminal.
//!
//! Samples come from responses, never from what was sent, so they hold no secret of the
//! scenario's; nothing here redacts. Knows nothing of HTTP.

/// How much of a failed response's body is kept.
pub const BODY_SAMPLE_BYTES: usize = 256;

/// How long a failing check's value may be.
pub const CHECK_VALUE_CHARS: usize = 200;

/// The first `max_bytes` of `bytes` as text: invalid UTF-8 replaced, control characters
/// escaped (`\n`, `\t`, `\u{1b}`), and `…` appended when something was cut.
pub fn printable(bytes: &[u8], max_bytes: usize) -> String {
    let cut = bytes.len() > max_bytes;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max_bytes)]);
    // A cut in the middle of a character leaves a replacement character that was not sent.
    let text = if cut {
        text.trim_end_matches('\u{fffd}')
    } else {
        &text
    };
    let mut out = escaped(text, usize::MAX);
    if cut {
        out.push('…');
    }
    out
}

/// `text` with control characters escaped, cut to `max_chars` characters (then `…`).
pub fn escaped(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    for (n, c) in text.chars().enumerate() {
        if n == max_chars {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_short_printable_and_marked_when_cut() {
        assert_eq!(
            printable(b"missing\nsig\x1b[0m", 256),
            "missing\\nsig\\u{1b}[0m"
        );
        assert_eq!(printable(b"abcdef", 3), "abc…");
        // A cut inside a two-byte character drops its first half.
        assert_eq!(printable("aé".as_bytes(), 2), "a…");
        assert_eq!(printable(&[0xff, b'x'], 256), "\u{fffd}x");
        assert_eq!(escaped("abcdef", 4), "abcd…");
        assert_eq!(escaped("abc", 3), "abc");
    }
}
