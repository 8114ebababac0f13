//! The target: nginx with one worker on CPU 0, started from the repository's config and
//! stopped by its PID however the bench ends.
//!
//! nginx also does the counting: its `stub_status` request counter is the one referee all
//! generators share, so no tool's own (differently defined) request count enters a ratio.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::procfs;

/// The counters of one `stub_status` page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StubStatus {
    pub active_connections: u64,
    pub accepts: u64,
    pub requests: u64,
}

/// Parses nginx's `stub_status` body:
///
/// ```text
/// Active connections: 291
/// server accepts handled requests
///  16630948 16630948 31070465
/// Reading: 6 Writing: 179 Waiting: 106
/// ```
pub fn parse_stub_status(body: &str) -> Result<StubStatus, String> {
    let bad = || format!("not an nginx stub_status page: {body:?}");
    let mut lines = body.lines().map(str::trim).skip_while(|l| l.is_empty());
    let active = lines
        .next()
        .and_then(|l| l.strip_prefix("Active connections:"))
        .ok_or_else(bad)?;
    let active_connections = active.trim().parse().map_err(|_| bad())?;
    if lines.next() != Some("server accepts handled requests") {
        return Err(bad());
    }
    let counters: Vec<u64> = lines
        .next()
        .ok_or_else(bad)?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match counters[..] {
        [accepts, _handled, requests] => Ok(StubStatus {
            active_connections,
            accepts,
            requests,
        }),
        _ => Err(bad()),
    }
}

/// A running nginx; dropping it stops nginx, so an error or panic mid-bench leaves no server
/// behind.
pub struct Nginx {
    child: Child,
    pub port: u16,
    /// The same answers over TLS.
    pub tls_port: u16,
    /// The worker processes, whose CPU time says whether nginx was the limit of a run.
    workers: Vec<u32>,
}

/// Everything needed to start nginx, kept apart so the config text can be checked alone.
pub struct Config {
    pub port: u16,
    pub tls_port: u16,
    /// The self-signed certificate and its key, PEM.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// nginx's `-p` prefix: logs, pid file and temp folders live here.
    pub prefix: PathBuf,
    pub worker_connections: u64,
    pub nofile: u64,
}

impl Config {
    /// Fills the repository's template (`xtask/bench/nginx.conf`).
    pub fn render(&self, template: &str) -> String {
        template
            .replace("@PORT@", &self.port.to_string())
            .replace("@TLS_PORT@", &self.tls_port.to_string())
            .replace("@CERT@", &self.cert.display().to_string())
            .replace("@KEY@", &self.key.display().to_string())
            .replace("@PREFIX@", &self.prefix.display().to_string())
            .replace("@WORKER_CONNECTIONS@", &self.worker_connections.to_string())
            .replace("@NOFILE@", &self.nofile.to_string())
    }
}

impl Nginx {
    /// Writes the config to `bench_dir/nginx.conf` and starts nginx in the foreground (`daemon
    /// off`) as our child, then waits until `stub_status` answers.
    pub fn start(
        program: &Path,
        root: &Path,
        bench_dir: &Path,
        nofile: u64,
    ) -> Result<Nginx, String> {
        let template_path = root.join("xtask/bench/nginx.conf");
        let template = std::fs::read_to_string(&template_path)
            .map_err(|e| format!("cannot read {}: {e}", template_path.display()))?;
        let prefix = bench_dir.join("nginx");
        for dir in ["logs", "tmp"] {
            std::fs::create_dir_all(prefix.join(dir))
                .map_err(|e| format!("cannot create {}: {e}", prefix.join(dir).display()))?;
        }
        let (cert, key) = self_signed(&prefix)?;
        let [port, tls_port] = free_ports()?;
        let config = Config {
            port,
            tls_port,
            cert,
            key,
            prefix: prefix.clone(),
            // Room for the 10,000-user scale run plus the generators' 500.
            worker_connections: nofile.saturating_sub(100).clamp(1024, 20_000),
            nofile,
        };
        let conf_path = bench_dir.join("nginx.conf");
        std::fs::write(&conf_path, config.render(&template))
            .map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
        let error_log = prefix.join("logs/error.log");
        let child = Command::new(program)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&prefix)
            // Before reading the config nginx opens its compiled-in error log; point it here.
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nginx: {e}"))?;
        let mut nginx = Nginx {
            child,
            port: config.port,
            tls_port: config.tls_port,
            workers: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if nginx.status().is_ok() {
                nginx.workers = procfs::children(nginx.child.id());
                return Ok(nginx);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx did not answer on 127.0.0.1:{} within 10 s; see {}",
                    nginx.port,
                    error_log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn tls_url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.tls_port)
    }

    /// CPU time of nginx's workers, in clock ticks.
    pub fn worker_cpu_ticks(&self) -> u64 {
        self.workers
            .iter()
            .filter_map(|&pid| procfs::stat(pid).ok())
            .map(|s| s.cpu_ticks)
            .sum()
    }

    /// Fetches `stub_status` over a fresh loopback connection. That request and connection
    /// show up in the counters themselves: one request and one active connection.
    pub fn status(&self) -> Result<StubStatus, String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let fail = |e: std::io::Error| format!("cannot fetch stub_status from {addr}: {e}");
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(fail)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(fail)?;
        stream
            .write_all(
                b"GET /nginx_status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            )
            .map_err(fail)?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(fail)?;
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        parse_stub_status(body)
    }
}

impl Drop for Nginx {
    /// SIGTERM makes the master stop its worker, then itself; a master that will not go
    /// within five seconds is killed. Killing the master first would orphan the worker and
    /// keep the port bound.
    fn drop(&mut self) {
        if !procfs::stop(&mut self.child) {
            eprintln!(
                "bench: nginx (pid {}) did not stop on SIGTERM within 5 s; killed it",
                self.child.id()
            );
        }
    }
}

/// A P-256 certificate for localhost valid one day, and its key, made with `openssl` into
/// `prefix`: a new one each bench, so no key is ever kept in the repository.
fn self_signed(prefix: &Path) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key) = (prefix.join("cert.pem"), prefix.join("key.pem"));
    let output = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run openssl: {e}\nhint: apt-get install openssl"))?;
    if !output.status.success() {
        return Err(format!(
            "openssl could not make the bench's certificate: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok((cert, key))
}

/// Two ports the kernel just handed out on loopback (both held at once, so they differ);
/// nginx binds them a moment later. Also used for the demo target.
pub fn free_ports() -> Result<[u16; 2], String> {
    let bind = || {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| Ok((l.local_addr()?.port(), l)))
            .map_err(|e| format!("cannot find a free loopback port: {e}"))
    };
    let (first, _held) = bind()?;
    let (second, _) = bind()?;
    Ok([first, second])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from nginx 1.22.1 (note the trailing spaces nginx writes).
    const PAGE: &str = "Active connections: 291 \nserver accepts handled requests\n \
                        16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n";

    #[test]
    fn stub_status_counters() {
        let status = parse_stub_status(PAGE).unwrap();
        assert_eq!(
            status,
            StubStatus {
                active_connections: 291,
                accepts: 16_630_948,
                requests: 31_070_465
            }
        );
    }

    #[test]
    fn something_else_is_a_clear_error() {
        let err = parse_stub_status("<html>404 Not Found</html>").unwrap_err();
        assert!(err.contains("not an nginx stub_status page"), "{err}");
        let err =
            parse_stub_status("Active connections: 1\nserver accepts handled requests\n 1 2\n")
                .unwrap_err();
        assert!(err.contains("stub_status"), "{err}");
    }

    #[test]
    fn config_template_is_filled_in_completely() {
        let template = include_str!("../../bench/nginx.conf");
        let config = Config {
            port: 40123,
            tls_port: 40124,
            cert: PathBuf::from("/w/target/bench/nginx/cert.pem"),
            key: PathBuf::from("/w/target/bench/nginx/key.pem"),
            prefix: PathBuf::from("/w/target/bench/nginx"),
            worker_connections: 20_000,
            nofile: 20_000,
        };
        let text = config.render(template);
        assert!(!text.contains('@'), "unfilled placeholder in:\n{text}");
        assert!(text.contains("listen 127.0.0.1:40123"), "{text}");
        assert!(text.contains("worker_cpu_affinity 01;"), "{text}");
        assert!(text.contains("stub_status;"), "{text}");
        assert!(text.contains("listen 127.0.0.1:40124 ssl"), "{text}");
        assert!(
            text.contains("ssl_certificate /w/target/bench/nginx/cert.pem;"),
            "{text}"
        );
    }
}
