//! Where the load goes: a base URL split once at load time, so the engine never parses URLs.

/// Where the load goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseUrl {
    /// The embedded demo target, started in-process on a loopback port.
    Builtin,
    Http(HttpBase),
}

/// An `http://host:port/prefix` base, split once at load time so the engine never parses URLs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpBase {
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing slash ("" for none); request paths are appended to it.
    pub path_prefix: String,
}

impl HttpBase {
    /// The `Host` header value of a plain-HTTP base (an IPv6 host in brackets).
    pub fn authority(&self) -> String {
        self.authority_for(false)
    }

    /// The `Host` header value, without the port when it is the scheme's default (443 for
    /// https, 80 for http).
    pub fn authority_for(&self, https: bool) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if https { 443 } else { 80 };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    pub fn url(&self) -> String {
        self.url_for(false)
    }

    /// `https://..` or `http://..`, as the base URL was written.
    pub fn url_for(&self, https: bool) -> String {
        let scheme = if https { "https" } else { "http" };
        format!(
            "{scheme}://{}{}",
            self.authority_for(https),
            self.path_prefix
        )
    }
}

/// An `http://host:port/path` endpoint, split at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsUrl {
    /// Host and port (its `path_prefix` is empty).
    pub server: HttpBase,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl MetricsUrl {
    pub fn url(&self) -> String {
        format!("{}{}", self.server.url(), self.path)
    }
}
