//! `https://`, `[tls]`, `http`, `on-429`, named checks and the new threshold keys: what they
//! lower to, and the exact errors of files a run would refuse (a missing or non-PEM file, a key
//! that does not belong to its certificate), at their line and column.

mod common;

use std::path::Path;
use std::time::Duration;

use common::fake_env;
use rcgen::{CertificateParams, KeyPair};
use stampede_plan::{BaseUrl, HttpVersion, Metric, On429, Plan};
use stampede_scenario::{Diagnostics, Overrides, load_str_with_env};

fn load_in(dir: &Path, source: &str) -> Result<Plan, Diagnostics> {
    load_str_with_env(source, "t.toml", dir, &Overrides::default(), &fake_env)
}

const REQUEST: &str = "\n[[request]]\nname = \"health\"\npath = \"/health\"\n";

fn https(extra: &str) -> String {
    format!(
        "kind = \"smoke\"\nbase-url = \"https://127.0.0.1:8443\"\nusers = 1\nduration = \"1s\"\n{extra}{REQUEST}"
    )
}

/// A self-signed certificate and its key, and another key, as PEM files in `dir`.
fn pem_files(dir: &Path) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("client.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("client.key"), key.serialize_pem()).unwrap();
    let other = KeyPair::generate().unwrap();
    std::fs::write(dir.join("other.key"), other.serialize_pem()).unwrap();
    std::fs::write(dir.join("junk.pem"), "not a certificate\n").unwrap();
}

#[test]
fn an_https_base_url_with_tls_files_lowers_to_pem_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    pem_files(dir.path());
    let source = https(
        "http = 2\n[tls]\nca-file = \"ca.pem\"\nclient-cert = \"client.pem\"\nclient-key = \"client.key\"\nserver-name = \"api.internal\"\n",
    );
    let plan = load_in(dir.path(), &source).unwrap();
    let BaseUrl::Http(base) = &plan.base_url else {
        panic!("an http base")
    };
    assert_eq!(
        (base.port, base.url_for(true).as_str()),
        (8443, "https://127.0.0.1:8443")
    );
    assert_eq!(plan.http, HttpVersion::Http2);
    let tls = plan.tls.as_ref().expect("tls");
    assert!(
        tls.ca_pem
            .as_ref()
            .unwrap()
            .starts_with(b"-----BEGIN CERTIFICATE-----")
    );
    assert!(tls.client.is_some() && !tls.insecure);
    assert_eq!(tls.server_name.as_deref(), Some("api.internal"));
    assert!(plan.warnings.is_empty());
    // The key never shows, not even in the plan's Debug.
    assert!(!format!("{plan:?}").contains("PRIVATE KEY"));
    let described = stampede_scenario::describe(&plan);
    assert!(
        described
            .contains("tls       trusts the ca-file, client certificate, server name api.internal"),
        "{described}"
    );
}

#[test]
fn https_without_a_table_trusts_the_system_and_insecure_warns() {
    let plan = load_in(Path::new("."), &https("")).unwrap();
    assert_eq!(plan.tls, Some(stampede_plan::Tls::default()));
    assert_eq!(plan.http, HttpVersion::Auto);
    let plan = load_in(
        Path::new("."),
        &https("tls = { insecure = true }\nhttp = \"1.1\"\n"),
    )
    .unwrap();
    assert!(plan.tls.as_ref().unwrap().insecure);
    assert_eq!(plan.http, HttpVersion::Http1);
    assert_eq!(
        plan.warnings,
        [
            "TLS certificates are not checked (`insecure = true`): the traffic to https://127.0.0.1:8443 is encrypted, but to whoever answers"
        ]
    );
}

#[test]
fn tls_files_a_run_would_refuse_are_errors_at_their_place() {
    let dir = tempfile::tempdir().unwrap();
    pem_files(dir.path());
    let source = https(
        "[tls]\nca-file = \"junk.pem\"\nclient-cert = \"client.pem\"\nclient-key = \"other.key\"\nserver-name = \"bad name!\"\n",
    );
    let text = load_in(dir.path(), &source).unwrap_err().to_string();
    assert_eq!(
        text,
        r#"error: `junk.pem` holds no PEM certificate
  --> t.toml:6:11
   |
 6 | ca-file = "junk.pem"
   |           ^^^^^^^^^^
   = hint: a file of -----BEGIN CERTIFICATE----- blocks

error: `other.key` cannot sign for `client.pem`: keys may not be consistent: KeyMismatch
  --> t.toml:8:14
   |
 8 | client-key = "other.key"
   |              ^^^^^^^^^^^

error: `bad name!` is not a valid TLS server name
  --> t.toml:9:15
   |
 9 | server-name = "bad name!"
   |               ^^^^^^^^^^^
   = hint: a DNS name like "api.staging.example.com" or an IP address
"#
    );
    let missing = https("[tls]\nca-file = \"nowhere.pem\"\n");
    let text = load_in(dir.path(), &missing).unwrap_err().to_string();
    assert!(text.starts_with("error: cannot read ca-file `"), "{text}");
    assert!(
        text.contains("nowhere.pem`: ") && text.contains(" --> t.toml:6:11"),
        "{text}"
    );
    assert!(
        text.contains("hint: paths are relative to the scenario file"),
        "{text}"
    );
    let half = https("[tls]\nclient-cert = \"client.pem\"\n");
    let text = load_in(dir.path(), &half).unwrap_err().to_string();
    assert!(
        text.starts_with("error: mutual TLS needs both `client-cert` and `client-key`"),
        "{text}"
    );
}

#[test]
fn http_takes_strings_or_numbers_and_nothing_else() {
    for (value, version) in [
        ("\"1.1\"", HttpVersion::Http1),
        ("1.1", HttpVersion::Http1),
        ("2", HttpVersion::Http2),
        ("\"auto\"", HttpVersion::Auto),
    ] {
        let plan = load_in(Path::new("."), &https(&format!("http = {value}\n"))).unwrap();
        assert_eq!(plan.http, version, "{value}");
    }
    let text = load_in(Path::new("."), &https("http = \"3\"\n"))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("expected \"1.1\", \"2\" or \"auto\""),
        "{text}"
    );
}

#[test]
fn on_429_backoff_named_checks_and_new_thresholds() {
    let source = "kind = \"smoke\"\nusers = 1\nduration = \"1s\"\n\
        [defaults]\non-429 = \"backoff\"\nmax-backoff = \"10s\"\n\
        [thresholds]\nrate-limited = \"< 5%\"\nsuccess-rps = \"> 9\"\nwaiting-p95 = \"< 200ms\"\ntls-handshaking-p99 = \"< 50ms\"\n\
        [[request]]\nname = \"post\"\npath = \"/events\"\nexpect = [201, 429]\ncheck = { status = 201, name = \"created\" }\n\
        [[request]]\nname = \"counted\"\npath = \"/x\"\non-429 = \"count\"\ncheck = { status = 200, body-contains = \"ok\", name = \"healthy\", fail-request = true }\n\
        [[request]]\nname = \"default\"\npath = \"/y\"\ncheck = { status = 201 }\n";
    let plan = common::load(source).unwrap();
    let (post, counted, default) = (
        plan.options_for(0),
        plan.options_for(1),
        plan.options_for(2),
    );
    assert_eq!(
        post.on_429,
        On429::Backoff {
            max: Duration::from_secs(10)
        }
    );
    assert_eq!(counted.on_429, On429::Count);
    assert_eq!(post.checks[0].name, "created");
    assert!(!post.checks[0].fail_request);
    let names: Vec<&str> = counted.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["healthy: status in 200", "healthy: body contains \"ok\""]
    );
    assert!(counted.checks.iter().all(|c| c.fail_request));
    assert_eq!(default.checks[0].name, "status in 201");
    let metrics: Vec<Metric> = plan.thresholds.iter().map(|t| t.metric).collect();
    assert_eq!(
        metrics,
        [
            Metric::RateLimited,
            Metric::SuccessRps,
            Metric::TlsHandshakingP99,
            Metric::WaitingP95,
        ]
    );
    assert_eq!(plan.thresholds[0].condition.value, 0.05);
    assert_eq!(plan.thresholds[3].condition.value, 200.0);
    let text = common::errors(
        "kind = \"smoke\"\nusers = 1\nduration = \"1s\"\n[thresholds]\nwaiting-p95 = \"< 200\"\n[[request]]\nname = \"a\"\npath = \"/\"\n",
    );
    assert!(
        text.contains("a latency needs a unit, like \"< 200ms\""),
        "{text}"
    );
}

#[test]
fn json_keeps_numbers_escapes_strings_and_user_agent_defaults() {
    let source = "kind = \"smoke\"\nusers = 1\nduration = \"1s\"\n\
        [[request]]\nname = \"a\"\nmethod = \"POST\"\npath = \"/a\"\ncapture = { note = \"json:/note\" }\n\
        json = { id = \"${seq}\", vu = \"${vu}\", r = \"${rand:1..1}\", label = \"n-${seq}\", note = \"${note}\", uuid = \"${uuid}\" }\n\
        [[request]]\nname = \"b\"\npath = \"/b\"\nheaders = { user-agent = \"mine/1\" }\n";
    let plan = common::load(source).unwrap();
    let body = plan.requests[0].body.as_ref().unwrap();
    let mut ctx = Quoted;
    let text = body.render(&mut ctx);
    assert_eq!(
        text,
        r#"{"id":42,"label":"n-43","note":"say \"hi\"\n","r":1,"uuid":"ffffffff-ffff-4fff-bfff-ffffffffffff","vu":7}"#
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(json["id"].is_u64() && json["vu"].is_u64() && json["label"].is_string());
    let agent = |i: usize| {
        plan.requests[i]
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("user-agent"))
            .and_then(|h| h.value.as_static())
            .map(str::to_owned)
    };
    assert_eq!(
        agent(0),
        Some(format!("stampede/{}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(agent(1).as_deref(), Some("mine/1"));
}

/// A context whose `${seq}` counts from 42 and whose captured value needs escaping.
struct Quoted;

impl stampede_plan::Context for Quoted {
    fn vu(&self) -> u64 {
        7
    }
    fn iteration(&self) -> u64 {
        0
    }
    fn next_seq(&mut self) -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(42);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
    fn next_run_seq(&mut self) -> u64 {
        0
    }
    fn now_ms(&self) -> u64 {
        0
    }
    fn rand(&mut self, lo: i64, _: i64) -> i64 {
        lo
    }
    fn random_u128(&mut self) -> u128 {
        u128::MAX
    }
    fn data(&self, _: usize) -> &str {
        ""
    }
    fn capture(&self, _: usize) -> &str {
        "say \"hi\"\n"
    }
}
