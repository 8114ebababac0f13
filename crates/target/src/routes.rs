//! Maps a request path to its route template, the bounded label used in metrics.

/// Every route the target knows, plus `Unmatched` for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Health,
    Ready,
    Login,
    CreateEvent,
    GetEvent,
    AckEvent,
    Inbox,
    Webhook,
    Stream,
    PostMessage,
    WebSocket,
    Metrics,
    Unmatched,
}

impl Route {
    /// All routes, in the order metrics are printed; `index()` points into it.
    pub(crate) const ALL: [Route; 13] = [
        Route::Health,
        Route::Ready,
        Route::Login,
        Route::CreateEvent,
        Route::GetEvent,
        Route::AckEvent,
        Route::Inbox,
        Route::Webhook,
        Route::Stream,
        Route::PostMessage,
        Route::WebSocket,
        Route::Metrics,
        Route::Unmatched,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The template used as the `route` label: never a raw path, so labels stay bounded.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Route::Health => "/health",
            Route::Ready => "/ready",
            Route::Login => "/login",
            Route::CreateEvent => "/events",
            Route::GetEvent => "/events/{id}",
            Route::AckEvent => "/events/{id}/ack",
            Route::Inbox => "/inbox",
            Route::Webhook => "/webhooks/{name}",
            Route::Stream => "/stream",
            Route::PostMessage => "/conversations/{id}/messages",
            Route::WebSocket => "/ws",
            Route::Metrics => "/metrics",
            Route::Unmatched => "unmatched",
        }
    }

    /// The one method each route answers, as sent in `Allow`; `None` for `Unmatched`.
    pub(crate) fn method(self) -> Option<&'static str> {
        match self {
            Route::Health
            | Route::Ready
            | Route::GetEvent
            | Route::Inbox
            | Route::Stream
            | Route::WebSocket
            | Route::Metrics => Some("GET"),
            Route::Login
            | Route::CreateEvent
            | Route::AckEvent
            | Route::Webhook
            | Route::PostMessage => Some("POST"),
            Route::Unmatched => None,
        }
    }
}

/// The route of `path` and its one path parameter (an event id, a webhook name or a
/// conversation id).
pub(crate) fn resolve(path: &str) -> (Route, Option<&str>) {
    match path {
        "/health" => return (Route::Health, None),
        "/ready" => return (Route::Ready, None),
        "/login" => return (Route::Login, None),
        "/events" => return (Route::CreateEvent, None),
        "/inbox" => return (Route::Inbox, None),
        "/metrics" => return (Route::Metrics, None),
        "/stream" => return (Route::Stream, None),
        "/ws" => return (Route::WebSocket, None),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/conversations/") {
        return match rest.split_once('/') {
            Some((id, "messages")) if !id.is_empty() => (Route::PostMessage, Some(id)),
            _ => (Route::Unmatched, None),
        };
    }
    if let Some(rest) = path.strip_prefix("/events/") {
        return match rest.split_once('/') {
            None if !rest.is_empty() => (Route::GetEvent, Some(rest)),
            Some((id, "ack")) if !id.is_empty() => (Route::AckEvent, Some(id)),
            _ => (Route::Unmatched, None),
        };
    }
    match path.strip_prefix("/webhooks/") {
        Some(name) if !name.is_empty() && !name.contains('/') => (Route::Webhook, Some(name)),
        _ => (Route::Unmatched, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_their_paths() {
        let cases = [
            ("/health", Route::Health, None),
            ("/events", Route::CreateEvent, None),
            ("/events/evt_1", Route::GetEvent, Some("evt_1")),
            ("/events/evt_1/ack", Route::AckEvent, Some("evt_1")),
            ("/webhooks/github", Route::Webhook, Some("github")),
            ("/events/", Route::Unmatched, None),
            ("/events/evt_1/nack", Route::Unmatched, None),
            ("/webhooks/a/b", Route::Unmatched, None),
            ("/healthz", Route::Unmatched, None),
            ("/stream", Route::Stream, None),
            ("/ws", Route::WebSocket, None),
            ("/conversations/c1/messages", Route::PostMessage, Some("c1")),
            ("/conversations//messages", Route::Unmatched, None),
            ("/conversations/c1", Route::Unmatched, None),
            ("/conversations/c1/messages/x", Route::Unmatched, None),
        ];
        for (path, route, param) in cases {
            assert_eq!(resolve(path), (route, param), "{path}");
        }
    }

    #[test]
    fn indexes_follow_the_printed_order() {
        for (i, route) in Route::ALL.iter().enumerate() {
            assert_eq!(route.index(), i);
        }
    }
}
