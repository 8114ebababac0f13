//! `base-url` and request `url`s (http:// or https://): split once at load time, and kept on
//! loopback unless allowed.
//!
//! A load test aimed at the wrong host is an attack on someone else's server, so anything but
//! 127.0.0.0/8, ::1 and localhost needs `allow-remote = true` or `--allow-remote`.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::spanned::Spanned;
use stampede_plan::{BaseUrl, HttpBase};

use super::Lowerer;

pub(super) const LOOPBACK_HINT: &str = "stampede only aims at 127.0.0.0/8, ::1 or localhost unless told otherwise; \
     if you own that server, set `allow-remote = true` in the file or pass --allow-remote";

/// Splits `http(s)://host[:port][/prefix]`, or says what is wrong with it; true for https.
pub(crate) fn parse_base_url(text: &str) -> Result<(BaseUrl, bool), String> {
    let text = text.trim();
    if text == "builtin" {
        return Ok((BaseUrl::Builtin, false));
    }
    let (base, path, https) = split_scheme_url(text)?;
    if path.contains('?') || path.contains('#') {
        return Err(format!("base-url `{text}` cannot have a query or fragment"));
    }
    let base = BaseUrl::Http(HttpBase {
        path_prefix: path.trim_end_matches('/').to_owned(),
        ..base
    });
    Ok((base, https))
}

/// The host and port of an absolute `http://` URL, and the rest (path and query, "" when
/// none): for endpoints stampede reads over plain HTTP (a metrics URL).
pub(super) fn split_url(text: &str) -> Result<(HttpBase, String), String> {
    match split_scheme_url(text)? {
        (_, _, true) => Err(format!("`{text}`: only http:// is supported here")),
        (base, path, false) => Ok((base, path)),
    }
}

/// The host and port of an absolute `http://` or `https://` URL (port 80 or 443 by default),
/// the rest, and whether it is https.
pub(super) fn split_scheme_url(text: &str) -> Result<(HttpBase, String, bool), String> {
    let (rest, https) = if let Some(rest) = text.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = text.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err(format!(
            "`{text}` is not \"builtin\" or an http(s)://host[:port][/path] URL"
        ));
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(format!(
            "`{text}`: credentials in URLs are not supported; use a header"
        ));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: unclosed `[` in the host"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("`{text}` has no host"));
    }
    let port = match port {
        None if https => 443,
        None => 80,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("`{text}`: `{port}` is not a port number"))?,
    };
    let path = if path.starts_with('/') || path.is_empty() {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    Ok((
        HttpBase {
            host: host.to_ascii_lowercase(),
            port,
            path_prefix: String::new(),
        },
        path,
        https,
    ))
}

pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

impl Lowerer<'_> {
    /// base-url, and whether it is https.
    pub(super) fn base_url(
        &mut self,
        text: &Spanned<String>,
        allow_remote: bool,
    ) -> (BaseUrl, bool) {
        match parse_base_url(&text.value) {
            Ok((BaseUrl::Http(base), https)) if !allow_remote && !is_loopback(&base.host) => {
                self.sink.hint(
                    text.span.clone(),
                    format!("base-url host `{}` is not a loopback address", base.host),
                    LOOPBACK_HINT,
                );
                (BaseUrl::Http(base), https)
            }
            Ok((BaseUrl::Http(base), https)) => {
                self.check_authority(text.span.clone(), &base);
                if let Some(what) = super::checks::control(&base.path_prefix) {
                    self.sink
                        .error(text.span.clone(), format!("base-url's path holds {what}"));
                }
                (BaseUrl::Http(base), https)
            }
            Ok(base) => base,
            Err(message) => {
                self.sink.hint(
                    text.span.clone(),
                    message,
                    "base-url = \"builtin\", \"http://127.0.0.1:8080\" or \"https://127.0.0.1:8443\"",
                );
                (BaseUrl::Builtin, false)
            }
        }
    }

    /// A request's absolute `url`, as a path under base-url (one connection per user goes to
    /// one server, so the url must be on it).
    pub(super) fn url_as_path(&mut self, url: &Spanned<String>) -> Option<String> {
        let (target, path, https) = match split_scheme_url(url.value.trim()) {
            Ok(split) => split,
            Err(message) => {
                self.sink.error(url.span.clone(), message);
                return None;
            }
        };
        let base = match &self.base_url {
            BaseUrl::Http(base) => base.clone(),
            BaseUrl::Builtin => {
                self.sink.hint(
                    url.span.clone(),
                    "`url` cannot point at the builtin target, whose port is chosen at run time",
                    "use `path` instead",
                );
                return None;
            }
        };
        if target.host != base.host || target.port != base.port || https != self.base_https {
            let message = format!(
                "`url` must be on base-url's server `{}`",
                base.url_for(self.base_https)
            );
            let hint = if is_loopback(&target.host) {
                "each user keeps one connection, to base-url; point base-url at this server"
                    .to_owned()
            } else {
                LOOPBACK_HINT.to_owned()
            };
            self.sink.hint(url.span.clone(), message, hint);
            return None;
        }
        match path.strip_prefix(&base.path_prefix) {
            Some(rest)
                if base.path_prefix.is_empty()
                    || rest.is_empty()
                    || rest.starts_with(['/', '?']) =>
            {
                Some(if rest.is_empty() {
                    "/".to_owned()
                } else {
                    rest.to_owned()
                })
            }
            _ => {
                self.sink.error(
                    url.span.clone(),
                    format!("`url` is outside base-url's path `{}`", base.path_prefix),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_base_urls() {
        assert_eq!(parse_base_url("builtin"), Ok((BaseUrl::Builtin, false)));
        let Ok((BaseUrl::Http(base), false)) = parse_base_url("http://127.0.0.1:8080/api/") else {
            panic!()
        };
        assert_eq!(
            (base.host.as_str(), base.port, base.path_prefix.as_str()),
            ("127.0.0.1", 8080, "/api")
        );
        let Ok((BaseUrl::Http(base), false)) = parse_base_url("http://[::1]:9000") else {
            panic!()
        };
        assert_eq!((base.host.as_str(), base.port), ("::1", 9000));
        assert_eq!(base.authority(), "[::1]:9000");
        let Ok((BaseUrl::Http(base), true)) = parse_base_url("https://localhost/v1") else {
            panic!()
        };
        assert_eq!((base.port, base.path_prefix.as_str()), (443, "/v1"));
        assert_eq!(base.url_for(true), "https://localhost/v1");
        assert!(split_url("https://localhost/metrics").is_err());
        assert!(parse_base_url("http://localhost:0").is_err());
    }

    #[test]
    fn loopback_is_127_8_and_localhost() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("127.3.2.1"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("LOCALHOST"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("example.com"));
        assert!(!is_loopback("localhost.example.com"));
    }
}
