//! Templated strings (`/users/${vu}/events?n=${rand:1..100}`), parsed once, rendered per request.
//!
//! Parsing happens at load time, so a malformed `${...}` is a validation error with a position,
//! and rendering is a walk over pre-split parts into a reused buffer: no parsing, no allocation on
//! the engine's per-request path.

use std::fmt::Write as _;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    /// Holds a secret (a value from `${env:..}`): never shown by `Debug` or `describe`.
    secret: bool,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.secret {
            f.write_str("Template(<redacted>)")
        } else {
            f.debug_struct("Template")
                .field("parts", &self.parts)
                .finish()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    Var(Var),
    /// A variable inside a JSON string (a `json` body): its text is JSON-escaped as it is
    /// written, so a captured value with a quote in it cannot break the document.
    JsonVar(Var),
}

/// A value filled in at render time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Var {
    /// A random version-4 UUID.
    Uuid,
    /// The user's own counter: 0, 1, 2.. for each user, without gaps.
    Seq,
    /// A counter unique over the run (unique, not consecutive: load threads interleave).
    RunSeq,
    /// The virtual user's number, from 0.
    Vu,
    /// The user's iteration number, from 0.
    Iteration,
    /// Wall-clock milliseconds since the Unix epoch.
    NowMs,
    /// A random integer in `[lo, hi]`.
    Rand { lo: i64, hi: i64 },
    /// A column of the user's current data row, by index.
    Data(usize),
    /// A value captured earlier by this user, by slot.
    Capture(usize),
    /// The user's pair: `vu / 2`, the same for partners 2k and 2k+1 (a shared conversation).
    Pair,
    /// The user's partner: `vu ^ 1` (user 2k's is 2k+1 and the other way round).
    Partner,
    /// A message id unique over the run, `stampede-msg-N`: sent in a request, it is expected
    /// on the partner's stream (`pairs = true`), where its end-to-end latency is measured.
    MsgId,
}

/// What a template needs from whoever renders it: the per-user state.
pub trait Context {
    fn vu(&self) -> u64;
    fn iteration(&self) -> u64;
    /// The next value of the user's own `${seq}`.
    fn next_seq(&mut self) -> u64;
    /// The next value of the run-wide `${run_seq}`.
    fn next_run_seq(&mut self) -> u64;
    fn now_ms(&self) -> u64;
    /// A random integer in `[lo, hi]`.
    fn rand(&mut self, lo: i64, hi: i64) -> i64;
    /// 16 random bytes for a UUID.
    fn random_u128(&mut self) -> u128;
    fn data(&self, column: usize) -> &str;
    fn capture(&self, slot: usize) -> &str;
    /// The next `${msg_id}` number; whoever renders for real notes it as sent.
    fn next_msg_id(&mut self) -> u64 {
        self.next_run_seq()
    }
}

/// What `${msg_id}` renders before its number: a receiver finds a message id by it.
pub const MSG_ID_PREFIX: &str = "stampede-msg-";

impl Template {
    pub fn literal(text: impl Into<String>) -> Template {
        let text = text.into();
        if text.is_empty() {
            return Template::default();
        }
        Template {
            parts: vec![Part::Lit(text)],
            secret: false,
        }
    }

    pub fn from_parts(parts: Vec<Part>) -> Template {
        Template {
            parts,
            secret: false,
        }
    }

    /// Marks the template as holding a secret, so it is never shown.
    pub fn into_secret(mut self) -> Template {
        self.secret = true;
        self
    }

    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// Whether the template has no variables.
    pub fn is_static(&self) -> bool {
        self.as_static().is_some()
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The text when the template has no variables: the engine then builds it once, not per
    /// request.
    pub fn as_static(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(text)] => Some(text),
            _ => None,
        }
    }

    /// Appends the rendered text to `out`.
    pub fn render_into(&self, ctx: &mut impl Context, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Lit(text) => out.push_str(text),
                Part::Var(var) => render_var(var, ctx, out),
                Part::JsonVar(Var::Data(column)) => json_escape_into(ctx.data(*column), out),
                Part::JsonVar(Var::Capture(slot)) => json_escape_into(ctx.capture(*slot), out),
                // Numbers and UUIDs never need escaping.
                Part::JsonVar(var) => render_var(var, ctx, out),
            }
        }
    }

    pub fn render(&self, ctx: &mut impl Context) -> String {
        let mut out = String::new();
        self.render_into(ctx, &mut out);
        out
    }
}

fn render_var(var: &Var, ctx: &mut impl Context, out: &mut String) {
    // Writing into a String cannot fail.
    let _ = match *var {
        Var::Uuid => write_uuid(ctx.random_u128(), out),
        Var::Seq => write!(out, "{}", ctx.next_seq()),
        Var::RunSeq => write!(out, "{}", ctx.next_run_seq()),
        Var::Vu => write!(out, "{}", ctx.vu()),
        Var::Iteration => write!(out, "{}", ctx.iteration()),
        Var::NowMs => write!(out, "{}", ctx.now_ms()),
        Var::Rand { lo, hi } => write!(out, "{}", ctx.rand(lo, hi)),
        Var::Data(column) => {
            out.push_str(ctx.data(column));
            Ok(())
        }
        Var::Capture(slot) => {
            out.push_str(ctx.capture(slot));
            Ok(())
        }
        Var::Pair => write!(out, "{}", ctx.vu() / 2),
        Var::Partner => write!(out, "{}", ctx.vu() ^ 1),
        Var::MsgId => write!(out, "{MSG_ID_PREFIX}{}", ctx.next_msg_id()),
    };
}

/// Appends `text` escaped for the inside of a JSON string (RFC 8259: quote, backslash and
/// control characters).
pub fn json_escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

impl Var {
    /// Whether the variable always renders as a whole number, so a JSON value that is only
    /// this variable can be written as a number.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Var::Seq
                | Var::RunSeq
                | Var::Vu
                | Var::Iteration
                | Var::NowMs
                | Var::Rand { .. }
                | Var::Pair
                | Var::Partner
        )
    }
}

/// Formats 128 random bits as an RFC 9562 version-4 UUID.
fn write_uuid(bits: u128, out: &mut String) -> std::fmt::Result {
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    write!(
        out,
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Context for Fixed {
        fn vu(&self) -> u64 {
            7
        }
        fn iteration(&self) -> u64 {
            3
        }
        fn next_seq(&mut self) -> u64 {
            42
        }
        fn next_run_seq(&mut self) -> u64 {
            4242
        }
        fn now_ms(&self) -> u64 {
            1_700_000_000_000
        }
        fn rand(&mut self, lo: i64, _hi: i64) -> i64 {
            lo
        }
        fn random_u128(&mut self) -> u128 {
            u128::MAX
        }
        fn data(&self, _column: usize) -> &str {
            "alice"
        }
        fn capture(&self, _slot: usize) -> &str {
            "t\"o\\k\n"
        }
    }

    #[test]
    fn renders_every_variable() {
        let template = Template::from_parts(vec![
            Part::Lit("/u/".into()),
            Part::Var(Var::Vu),
            Part::Lit("/".into()),
            Part::Var(Var::Iteration),
            Part::Lit("?s=".into()),
            Part::Var(Var::Seq),
            Part::Lit("&r=".into()),
            Part::Var(Var::Rand { lo: 5, hi: 9 }),
            Part::Lit("&d=".into()),
            Part::Var(Var::Data(0)),
            Part::Lit("&u=".into()),
            Part::Var(Var::RunSeq),
            Part::Lit("&t=".into()),
            Part::Var(Var::NowMs),
        ]);
        assert_eq!(
            template.render(&mut Fixed),
            "/u/7/3?s=42&r=5&d=alice&u=4242&t=1700000000000"
        );
        assert_eq!(template.as_static(), None);
        assert_eq!(Template::literal("/health").as_static(), Some("/health"));
    }

    #[test]
    fn json_variables_are_escaped_as_they_are_written() {
        let template = Template::from_parts(vec![
            Part::Lit("{\"c\":\"".into()),
            Part::JsonVar(Var::Capture(0)),
            Part::Lit("\",\"n\":".into()),
            Part::JsonVar(Var::Seq),
            Part::Lit("}".into()),
        ]);
        assert_eq!(template.render(&mut Fixed), r#"{"c":"t\"o\\k\n","n":42}"#);
        let mut out = String::new();
        json_escape_into("a\u{1}b", &mut out);
        assert_eq!(out, "a\\u0001b");
    }

    #[test]
    fn uuids_have_version_and_variant_bits() {
        let uuid = Template::from_parts(vec![Part::Var(Var::Uuid)]).render(&mut Fixed);
        assert_eq!(uuid, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
