//! `[[stream]]` → [`Stream`]: names, kinds, paths and headers as requests have them, holds,
//! `expect-within`, `pairs` and a WebSocket's `send`, each problem at its place.

use std::time::Duration;

use stampede_plan::{Load, Plan, Stream, StreamKind, StreamSend, Template};

use super::checks;
use super::{Defaults, Lowerer};
use crate::file::{Common, StreamFile, StreamSendFile};
use crate::spanned::Spanned;

/// Streams a scenario may declare: each keeps its own histograms in every interval.
const MAX_STREAMS: usize = 16;

/// `expect-within` when a stream does not say.
const DEFAULT_EXPECT_WITHIN: Duration = Duration::from_secs(5);

impl Lowerer<'_> {
    pub(super) fn streams(&mut self, common: &Common, defaults: Defaults<'_>) -> Vec<Stream> {
        let Some(list) = &common.stream else {
            return Vec::new();
        };
        if list.len() > MAX_STREAMS {
            self.sink.hint(
                list.span.clone(),
                format!("more than {MAX_STREAMS} streams"),
                "each stream keeps its own statistics; hold fewer kinds of stream",
            );
        }
        let mut streams: Vec<Stream> = Vec::new();
        let mut paired_at = None;
        for file in list.iter() {
            let Some(name) = self.stream_name(file, &streams) else {
                continue;
            };
            let kind = self.stream_kind(file.kind.as_ref());
            let path = self.stream_path(file, &name);
            let headers = self.headers(
                defaults.and_then(|d| d.headers.as_ref()),
                file.headers.as_ref(),
            );
            let hold = file.hold.as_ref().map(|hold| self.positive(hold, "hold"));
            let expect_within = file
                .expect_within
                .as_ref()
                .map_or(DEFAULT_EXPECT_WITHIN, |d| self.positive(d, "expect-within"));
            let pairs = file.pairs.as_ref().is_some_and(|p| p.value);
            if let (true, Some(pairs_span)) = (pairs, file.pairs.as_ref().map(|p| &p.span)) {
                if paired_at.is_some() {
                    self.sink.error(
                        pairs_span.clone(),
                        "only one stream may pair users (`pairs = true`)",
                    );
                }
                paired_at = Some(pairs_span.clone());
            }
            let send = file
                .send
                .as_ref()
                .and_then(|send| self.stream_send(send, kind));
            streams.push(Stream {
                name,
                kind,
                path,
                headers,
                hold,
                expect_within,
                pairs,
                send,
            });
        }
        streams
    }

    /// The stream's name, checked and unique; `None` (reported) when it has none.
    fn stream_name(&mut self, file: &Spanned<StreamFile>, streams: &[Stream]) -> Option<String> {
        match &file.name {
            Some(name) if name.trim().is_empty() => {
                self.sink.error(name.span.clone(), "stream `name` is empty");
                None
            }
            Some(name) => {
                if let Err(message) = checks::safe_name(name) {
                    self.sink.error(name.span.clone(), message);
                }
                if streams.iter().any(|s| s.name == name.value) {
                    self.sink.error(
                        name.span.clone(),
                        format!("a stream named `{}` is declared twice", name.value),
                    );
                }
                Some(name.value.clone())
            }
            None => {
                self.sink.hint(
                    file.span.clone(),
                    "stream has no `name`",
                    "name = \"inbox\": names appear in results and thresholds",
                );
                None
            }
        }
    }

    /// `kind`: "sse", the default, or "websocket"; anything else is reported.
    fn stream_kind(&mut self, kind: Option<&Spanned<String>>) -> StreamKind {
        match kind {
            Some(kind) if kind.value == "websocket" => return StreamKind::WebSocket,
            Some(kind) if kind.value != "sse" => self.sink.hint(
                kind.span.clone(),
                format!("`{}` is not a stream kind", kind.value),
                "kind = \"sse\" or kind = \"websocket\"",
            ),
            _ => {}
        }
        StreamKind::Sse
    }

    /// `send`: a WebSocket's messages, both keys required.
    fn stream_send(
        &mut self,
        send: &Spanned<StreamSendFile>,
        kind: StreamKind,
    ) -> Option<StreamSend> {
        if kind != StreamKind::WebSocket {
            self.sink.hint(
                send.span.clone(),
                "only a WebSocket stream sends messages",
                "kind = \"websocket\"",
            );
            return None;
        }
        let example = "send = { every = \"1s\", body = '{\"id\":\"${msg_id}\"}' }";
        let (Some(every), Some(body)) = (&send.every, &send.body) else {
            self.sink.hint(
                send.span.clone(),
                "`send` needs `every` and `body`",
                example,
            );
            return None;
        };
        Some(StreamSend {
            every: self.positive(every, "every"),
            body: self.template(body),
        })
    }

    /// `path`, templated; required, and starting with `/`.
    fn stream_path(&mut self, file: &Spanned<StreamFile>, name: &str) -> Template {
        match &file.path {
            Some(path) => self.path_template(path),
            None => {
                self.sink.hint(
                    file.span.clone(),
                    format!("stream `{name}` has no `path`"),
                    "path = \"/stream\"",
                );
                Template::literal("/")
            }
        }
    }

    /// Streams are held by the users of closed-model steps; an arrival rate has no users that
    /// stay, so a rate-based scenario with streams is refused where the streams are declared.
    pub(super) fn check_stream_loads(&mut self, common: &Common, plan: &Plan) {
        let (Some(list), false) = (&common.stream, plan.streams.is_empty()) else {
            return;
        };
        if plan
            .steps
            .iter()
            .any(|step| matches!(step.load, Load::Open { .. }))
        {
            self.sink.hint(
                list.span.clone(),
                "streams are held by users, and an arrival rate has none that stay",
                "use `users` (capacity, soak or smoke) for a scenario with [[stream]]",
            );
        }
    }
}
