//! Verdicts against targets that misbehave in the ways a dead deploy does: a run that showed
//! nothing worth passing fails (99) with the reason as its verdict line, whatever its thresholds.
//! The passing direction is `commands::exit_codes_passed_json_thresholds_failed_colour_and_usage`
//! and the refused-port case `run::an_unreachable_target_is_a_completed_run_that_fails_...`.
//! The same hand-made servers serve the quick run (`stampede run URL`).

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};

use crate::*;

/// A loopback server that accepts connections and answers every request with `answer`, or
/// never answers at all when `answer` is `None`. Each connection lives on its own thread until
/// the client closes it; the accept loop ends with the test process.
fn misbehaving_target(answer: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(connection) = connection else { return };
            std::thread::spawn(move || serve(connection, answer));
        }
    });
    url
}

/// Answers each request head read from `connection` (these clients send no bodies on GET).
fn serve(mut connection: TcpStream, answer: Option<&'static str>) {
    let mut buffer = [0u8; 4096];
    let mut pending = Vec::new();
    loop {
        let Ok(read) = connection.read(&mut buffer) else {
            return;
        };
        if read == 0 {
            return;
        }
        pending.extend_from_slice(&buffer[..read]);
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            if let Some(answer) = answer
                && connection.write_all(answer.as_bytes()).is_err()
            {
                return;
            }
        }
    }
}

fn smoke_against(target: &str, out: &Path) -> Output {
    Cmd::run("smoke")
        .args(&["--target", target])
        .set(&["duration=1s", "users=2", "grace=300ms"])
        .out(out)
        .one_thread()
        .output()
}

#[test]
fn a_hung_target_fails_for_want_of_an_answer() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = smoke_against(&misbehaving_target(None), out.path());
    let (stdout, _) = exited(&output, 99);
    assert!(
        stdout.contains("FAILED: no request succeeded: all 2 failed (2 still unanswered when the grace period ended)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("does not fail the run"),
        "no note contradicts the verdict: {stdout}"
    );
    let summary = summary_of(&run_dir(out.path(), "smoke"));
    assert_eq!(summary["verdict"], "failed");
    assert_eq!(summary["total"]["outcomes"]["abandoned"], 2, "{summary}");
    assert_eq!(summary["total"]["abandoned"], 2, "{summary}");
}

#[test]
fn a_target_that_only_rate_limits_fails_and_says_so() {
    let out = tempfile::tempdir().expect("tempdir");
    let limited = "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n";
    let output = smoke_against(&misbehaving_target(Some(limited)), out.path());
    let (stdout, _) = exited(&output, 99);
    assert!(
        stdout.contains("FAILED: no request succeeded: all ") && stdout.contains(" 429)"),
        "{stdout}"
    );
    let summary = summary_of(&run_dir(out.path(), "smoke"));
    let total = &summary["total"];
    assert!(total["requests"].as_u64() > Some(2), "{total}");
    assert_eq!(total["outcomes"]["429"], total["requests"], "{total}");
}

#[test]
fn a_target_that_answers_passes_the_same_run() {
    let out = tempfile::tempdir().expect("tempdir");
    let fine = "HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
    let output = smoke_against(&misbehaving_target(Some(fine)), out.path());
    exited(&output, 0);
    assert_eq!(
        summary_of(&run_dir(out.path(), "smoke"))["verdict"],
        "passed"
    );
}

#[test]
fn a_quick_run_against_a_url_reports_like_a_scenario_and_prints_its_toml() {
    let out = tempfile::tempdir().expect("tempdir");
    let fine = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    let url = format!("{}/health?deep=1", misbehaving_target(Some(fine)));
    let printed = stampede(&["run", &url, "-u", "3", "-d", "1s", "--print-scenario"]);
    let (toml, _) = exited(&printed, 0);
    assert!(toml.contains("users = 3\nduration = \"1s\""), "{toml}");
    assert!(toml.contains("path = \"/health?deep=1\""), "{toml}");
    assert!(
        !out.path().join("quick").exists(),
        "--print-scenario runs nothing"
    );

    let output = Cmd::run(&url)
        .args(&["-u", "3", "-d", "1s"])
        .one_thread()
        .out(out.path())
        .output();
    exited(&output, 0);
    let summary = summary_of(&run_dir(out.path(), "quick"));
    assert_eq!(summary["verdict"], "passed");
    assert!(summary["total"]["requests"].as_u64() > Some(3), "{summary}");

    // The quick flags mean nothing with a scenario: refused, not ignored.
    let refused = stampede(&["run", "smoke", "-u", "3"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("--users goes with a URL"),
        "{}",
        text(&refused.stderr)
    );
}
