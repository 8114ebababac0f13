//! The start check against real loopback servers and real processes: each way a monitor can
//! be unable to read its target is an error that names it, and a readable one passes.

use std::time::Duration;

use stampede_plan::{HttpBase, MetricsUrl, Monitor, MonitorProcess, Plan};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use stampede_metrics::Probe as _;

use crate::{Error, Watch, Watches};

const PROMETHEUS: &str = "# HELP process_resident_memory_bytes Resident memory.\n\
    # TYPE process_resident_memory_bytes gauge\n\
    process_resident_memory_bytes 5.2e+07\n\
    process_cpu_seconds_total 1.25\n\
    http_requests_total{code=\"200\",path=\"/\"} 17 1700000000000\n";

/// A server on 127.0.0.1:0 that answers every request with `status` and `body`.
async fn serve(status: &'static str, body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    port
}

fn plan_watching(monitor: Monitor) -> Plan {
    Plan {
        monitors: vec![monitor],
        ..Plan::default()
    }
}

fn scraping(port: u16, path: &str) -> Plan {
    plan_watching(Monitor {
        metrics: Some(MetricsUrl {
            server: HttpBase {
                host: "127.0.0.1".to_owned(),
                port,
                path_prefix: String::new(),
            },
            path: path.to_owned(),
        }),
        ..Monitor::default()
    })
}

fn watch_of(plan: &Plan) -> Watch {
    Watch::new(&plan.monitors[0], plan.interval, None).expect("something to watch")
}

async fn check(plan: &Plan) -> Result<(), Error> {
    watch_of(plan).check().await
}

#[tokio::test]
async fn prometheus_text_with_both_series_passes_and_samples() {
    let port = serve("200 OK", PROMETHEUS).await;
    let plan = scraping(port, "/metrics");
    let mut watch = watch_of(&plan);
    watch.check().await.expect("a readable endpoint");
    let sample = watch.read().await;
    assert_eq!(sample.rss_bytes, Some(52_000_000));
    assert!(!sample.failed);
}

#[tokio::test]
async fn html_is_refused_naming_the_url_without_its_query() {
    let port = serve("200 OK", "<!doctype html>\n<html><body>hi</body></html>\n").await;
    let err = check(&scraping(port, "/metrics?token=s3cret"))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "http://127.0.0.1:{port}/metrics?... does not answer with Prometheus text: \
             line 1 is `<!doctype html>`"
        )
    );
    assert!(!err.contains("s3cret"), "{err}");
}

#[tokio::test]
async fn json_and_empty_bodies_are_not_prometheus_text() {
    let json = serve("200 OK", "{\"rss\": 1}").await;
    let err = check(&scraping(json, "/")).await.unwrap_err();
    assert!(matches!(err, Error::NotPrometheus { .. }), "{err}");
    let empty = serve("200 OK", "# nothing here\n").await;
    let err = check(&scraping(empty, "/")).await.unwrap_err().to_string();
    assert!(err.ends_with("it holds no series"), "{err}");
}

#[tokio::test]
async fn a_404_names_the_status_and_the_url() {
    let port = serve("404 Not Found", "no").await;
    let err = check(&scraping(port, "/metrics")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot scrape http://127.0.0.1:{port}/metrics: status 404 Not Found")
    );
}

#[tokio::test]
async fn a_closed_port_is_refused_naming_the_url() {
    // Bound then dropped: nothing listens there any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = check(&scraping(port, "/metrics"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "cannot scrape http://127.0.0.1:{port}/metrics: cannot connect"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_series_is_named() {
    let port = serve("200 OK", "app_rss_bytes 1000\n").await;
    let err = check(&scraping(port, "/metrics")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "http://127.0.0.1:{port}/metrics has no series `process_resident_memory_bytes` \
             (the resident memory in bytes, `rss`)"
        )
    );
}

#[tokio::test]
async fn the_cpu_series_is_needed_only_without_a_process() {
    let port = serve("200 OK", "process_resident_memory_bytes 1000\n").await;
    let err = check(&scraping(port, "/m")).await.unwrap_err().to_string();
    assert!(err.contains("`process_cpu_seconds_total`"), "{err}");
    let mut both = scraping(port, "/m");
    both.monitors[0].process = Some(MonitorProcess::Pid(std::process::id()));
    check(&both).await.expect("/proc gives the CPU");
}

#[tokio::test]
async fn a_running_process_passes_and_a_missing_one_fails() {
    let own = plan_watching(Monitor {
        process: Some(MonitorProcess::Pid(std::process::id())),
        ..Monitor::default()
    });
    check(&own).await.expect("this process runs");
    let gone = plan_watching(Monitor {
        process: Some(MonitorProcess::Pid(u32::MAX)),
        ..Monitor::default()
    });
    let mut watch = watch_of(&gone);
    assert_eq!(watch.describe(), format!("PID {}", u32::MAX));
    let err = watch.check().await.unwrap_err();
    assert!(matches!(err, Error::NotRunning { .. }), "{err}");
    // Left out, it samples as failed, never as an idle target.
    watch.leave_out();
    let sample = watch.read().await;
    assert!(sample.failed);
    assert_eq!((sample.cpu_percent, sample.rss_bytes), (None, None));
}

#[tokio::test]
async fn a_pid_file_with_garbage_fails_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("stampede-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("garbage.pid");
    std::fs::write(&path, "not a pid\n").unwrap();
    let plan = plan_watching(Monitor {
        process: Some(MonitorProcess::PidFile(path.clone())),
        ..Monitor::default()
    });
    let err = check(&plan).await.unwrap_err().to_string();
    assert_eq!(err, format!("the pid-file {} holds no PID", path.display()));
    let missing = plan_watching(Monitor {
        process: Some(MonitorProcess::PidFile(dir.join("missing.pid"))),
        ..Monitor::default()
    });
    let err = check(&missing).await.unwrap_err().to_string();
    assert!(err.starts_with("cannot read the pid-file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_scrape_that_stops_answering_samples_as_failed() {
    let port = serve("200 OK", PROMETHEUS).await;
    let mut plan = scraping(port, "/metrics");
    plan.interval = Duration::from_millis(250);
    let mut watch = watch_of(&plan);
    assert!(!watch.read().await.failed);
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let mut gone = watch_of(&scraping(dead, "/metrics"));
    assert!(gone.read().await.failed);
}

#[tokio::test]
async fn several_monitors_sample_in_plan_order_under_their_names() {
    let port = serve("200 OK", PROMETHEUS).await;
    let mut plan = scraping(port, "/metrics");
    plan.monitors[0].name = Some("api".to_owned());
    plan.monitors.push(Monitor {
        name: Some("self".to_owned()),
        process: Some(MonitorProcess::Pid(std::process::id())),
        ..Monitor::default()
    });
    let mut watches = Watches::new(&plan, None).expect("two monitors");
    assert_eq!(watches.sources(), ["api", "self"]);
    let samples = watches.sample(Duration::ZERO).await;
    assert_eq!(samples.len(), 2);
    assert_eq!(
        (samples[0].source, samples[0].rss_bytes),
        (0, Some(52_000_000))
    );
    assert_eq!(samples[1].source, 1);
    assert!(
        samples[1]
            .rss_bytes
            .is_some_and(|b| b > 0 && b != 52_000_000)
    );
    // Nothing named and no builtin target yet: nothing to watch.
    assert!(Watches::new(&Plan::default(), None).is_none());
}

#[tokio::test]
async fn a_stuck_endpoint_is_a_failed_sample_and_does_not_hold_the_others_back() {
    // Accepts and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stuck = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let fine = serve("200 OK", PROMETHEUS).await;
    let mut plan = scraping(stuck, "/metrics");
    plan.interval = Duration::from_secs(5);
    plan.monitors
        .push(scraping(stuck, "/other").monitors.remove(0));
    plan.monitors
        .push(scraping(fine, "/metrics").monitors.remove(0));
    let mut watches = Watches::new(&plan, None).unwrap();
    let started = tokio::time::Instant::now();
    let samples = watches.sample(Duration::ZERO).await;
    // Each scrape gives up after 800 ms whatever the interval, and they wait together: two
    // stuck endpoints one after the other would take 1.6 s.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(took < Duration::from_millis(1400), "{took:?}");
    assert!(samples[0].failed && samples[1].failed);
    assert_eq!(
        (samples[2].failed, samples[2].rss_bytes),
        (false, Some(52_000_000))
    );
}
