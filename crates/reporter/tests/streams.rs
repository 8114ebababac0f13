//! Streams through the reporter: each interval's stream statistics become the `streams`
//! section of summary.json, `SSE` and `WS` rows in steps.csv, a line of the text summary and
//! judged `[thresholds.stream.NAME]` rules, and a replay of the record rebuilds them byte for
//! byte.

mod common;

use std::path::Path;

use common::{Ending, Owned, capacity_plan, events, run_events, sweep_load, threshold};
use stampede_metrics::StreamStats;
use stampede_plan::{Metric, Op, Plan, Scope, Stream, StreamKind, StreamSend, Template};
use stampede_reporter::{RECORD_FILE, Reporter, STEPS_FILE};

fn plan() -> Plan {
    let mut plan = capacity_plan();
    plan.streams = vec![Stream {
        name: "inbox".into(),
        kind: StreamKind::Sse,
        path: Template::literal("/stream"),
        headers: Vec::new(),
        hold: None,
        expect_within: std::time::Duration::from_secs(5),
        pairs: true,
        send: None,
    }];
    plan.streams.push(Stream {
        name: "chat".into(),
        kind: StreamKind::WebSocket,
        path: Template::literal("/ws"),
        pairs: false,
        send: Some(StreamSend {
            every: std::time::Duration::from_secs(1),
            body: Template::literal("hi"),
        }),
        ..plan.streams[0].clone()
    });
    plan.thresholds = vec![
        threshold(Metric::Lost, Op::Eq, 0.0, Scope::Stream(0)),
        threshold(Metric::E2eP95, Op::Lt, 500.0, Scope::Stream(0)),
        threshold(Metric::Disconnects, Op::Le, 3.0, Scope::Stream(0)),
        threshold(Metric::RttP95, Op::Lt, 500.0, Scope::Stream(1)),
        threshold(Metric::RttP95, Op::Gt, 500.0, Scope::Stream(1)),
    ];
    plan
}

/// Every interval of step `s`: 10 events, 8 paired messages seen at 50 + s ms, one lost in
/// the last step's intervals, a stream opened in each step's first interval and one
/// disconnect in the second; on the WebSocket, 4 messages sent and echoed at 20 ms.
fn with_streams(events: &mut [Owned]) {
    let mut seen_in_step = [0usize; 8];
    for event in events {
        if let Owned::StepEnded(end) = event {
            end.stream_peaks = vec![10 << end.index];
        }
        let Owned::Interval(snapshot) = event else {
            continue;
        };
        let n = seen_in_step[snapshot.step];
        seen_in_step[snapshot.step] += 1;
        let mut stream = StreamStats {
            events: 10,
            expected: 8,
            opened: u64::from(n == 0),
            disconnects: u64::from(n == 1),
            reconnects: u64::from(n == 1),
            ..StreamStats::default()
        };
        for _ in 0..8 {
            stream.e2e.record_us(50_000 + 1000 * snapshot.step as u64);
        }
        if n == 0 {
            stream.connect.record_us(300);
            stream.first_event.record_us(20_000);
        }
        if snapshot.step == 2 {
            stream.lost = 1;
            stream.expected += 1;
        }
        let mut chat = StreamStats {
            events: 4,
            sent: 4,
            opened: u64::from(n == 0),
            ..StreamStats::default()
        };
        for _ in 0..4 {
            chat.rtt.record_us(20_000);
        }
        snapshot.stats.streams = vec![stream, chat];
        snapshot.streams_open = vec![10 << snapshot.step, 3];
    }
}

fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != RECORD_FILE)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn stream_figures_reach_every_output_and_replay_byte_for_byte() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("checkout").join("r1");
    let plan = plan();
    let mut events = events(&plan, sweep_load, Ending::Completed);
    with_streams(&mut events);
    let summary = run_events(&plan, &dir, "r1", &events);

    let [inbox, chat] = summary.streams.as_slice() else {
        panic!("{:?}", summary.streams)
    };
    assert_eq!((inbox.name.as_str(), inbox.kind.as_str()), ("inbox", "SSE"));
    assert_eq!(inbox.steps.len(), 3);
    // Six intervals in each of three steps, warm-up intervals included in what the engine
    // sent; the figures count the measured ones (five per step).
    let measured: u64 = 3 * 5;
    assert_eq!(inbox.total.events, 10 * measured);
    assert_eq!(inbox.total.lost, 5);
    assert_eq!(inbox.total.delivered, 8 * measured);
    assert_eq!(inbox.total.disconnects, 3);
    // Each step's peak is the engine's; the run's is the largest step's.
    let peaks: Vec<u32> = inbox.steps.iter().map(|s| s.figures.peak_open).collect();
    assert_eq!((peaks, inbox.total.peak_open), (vec![10, 20, 40], 40));
    let e2e = inbox.total.e2e_ms.expect("e2e figures");
    assert!((52.0..52.1).contains(&e2e.p95), "{e2e:?}");

    let judged: Vec<(String, bool)> = summary
        .thresholds
        .iter()
        .map(|t| (t.describe(), t.passed))
        .collect();
    assert_eq!(
        judged,
        [
            ("lost == 0 (stream inbox)".to_owned(), false),
            ("e2e-p95 < 500 ms (stream inbox)".to_owned(), true),
            ("disconnects <= 3 (stream inbox)".to_owned(), true),
            ("rtt-p95 < 500 ms (stream chat)".to_owned(), true),
            ("rtt-p95 > 500 ms (stream chat)".to_owned(), false),
        ]
    );

    let steps = std::fs::read_to_string(dir.join(STEPS_FILE)).unwrap();
    let sse: Vec<&str> = steps
        .lines()
        .filter(|l| l.contains(",SSE,inbox,"))
        .collect();
    assert_eq!(sse.len(), 3, "{steps}");
    // 50 events; 5 lost and 1 disconnect; e2e 52 ms read back at the bucket top.
    assert!(
        sse[2].starts_with("3,40,SSE,inbox,50,6,52.031,"),
        "{}",
        sse[2]
    );
    assert!(
        summary.to_text().contains("stream inbox (SSE): "),
        "{}",
        summary.to_text()
    );
    assert_eq!((chat.name.as_str(), chat.kind.as_str()), ("chat", "WS"));
    assert_eq!(
        (chat.total.sent, chat.total.events),
        (4 * measured, 4 * measured)
    );
    let rtt = chat.total.rtt_ms.expect("rtt figures");
    assert!((20.0..20.1).contains(&rtt.p95), "{rtt:?}");
    let ws: Vec<&str> = steps.lines().filter(|l| l.contains(",WS,chat,")).collect();
    assert_eq!(ws.len(), 3, "{steps}");
    // 20 messages back, none lost; their round trip is the row's response time.
    assert!(ws[0].starts_with("1,10,WS,chat,20,0,20.015,"), "{}", ws[0]);
    assert!(
        summary
            .to_text()
            .contains(", 60 sent, rtt p50 20 ms p95 20 ms, 0 lost"),
        "{}",
        summary.to_text()
    );
    // timeseries.csv: each stream's columns on the Aggregated rows, empty on request rows.
    let series = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let header = series.lines().next().unwrap();
    assert!(
        header.ends_with(",Latency From,inbox Open,inbox Events/s,inbox e2e p95,inbox rtt p95,inbox Lost,chat Open,chat Events/s,chat e2e p95,chat rtt p95,chat Lost"),
        "{header}"
    );
    let last = series
        .lines()
        .rfind(|l| l.contains(",Aggregated,"))
        .unwrap();
    assert!(last.ends_with(",40,10,52.031,,1,3,4,,20.015,0"), "{last}");
    // The series keeps each stream per point, and the report draws it.
    let points = summary.series.points.len();
    assert_eq!(summary.series.streams.len(), points);
    let last = summary.series.streams.last().unwrap();
    assert_eq!((last[0].open, last[1].open, last[1].lost), (40, 3, 0));
    assert!(last[1].rtt_p95.is_some() && last[1].e2e_p95.is_none());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Open streams over time"));
    assert!(html.contains("Stream latency over time"));
    assert!(html.contains("chat rtt p95") && html.contains("inbox e2e p95"));
    let json = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(json.contains("\"streams\""));

    let written = contents(&dir);
    for (name, _) in &written {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    let replayed = Reporter::replay(&dir).unwrap();
    assert_eq!(replayed, summary);
    for ((name, want), (_, got)) in written.iter().zip(&contents(&dir)) {
        assert!(want == got, "{name} differs after the replay");
    }
}
