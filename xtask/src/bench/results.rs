//! What a bench measured, one row per run, and its summary over repetitions as `bench.json`.

use serde_json::{Value, json};

use super::goals;
use super::stats::Spread;
use super::tools::Tool;

/// One closed-model run: a tool at N connections, over plain http or TLS.
#[derive(Debug, Clone)]
pub struct ClosedRow {
    pub tool: Tool,
    pub connections: u32,
    /// Against nginx's TLS server (the https row).
    pub tls: bool,
    pub rep: u32,
    /// Requests nginx counted per second of the steady-state window.
    pub rps: f64,
    pub cpu_us_per_req: f64,
    /// The generator's peak RSS (VmHWM) in MiB.
    pub rss_mb: f64,
    /// The tool's own latency percentiles.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The share of the window nginx's worker was busy: near 1, nginx was the limit.
    pub nginx_busy: f64,
    /// stampede's median TLS handshake (its `tls-handshaking` phase).
    pub tls_handshake_ms: Option<f64>,
}

/// One open-model run: a tool asked for a fixed rate.
#[derive(Debug, Clone)]
pub struct OpenRow {
    pub tool: Tool,
    pub target_rate: u32,
    /// What nginx counted per second of the steady-state window.
    pub achieved_rps: f64,
    /// What the tool says it achieved, when it says.
    pub own_rate: Option<f64>,
    pub cpu_us_per_req: f64,
    pub rss_mb: f64,
    /// From the scheduled send time, as an open model should measure it.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// stampede's p50 from the actual send: the corrected p50 less this is stampede's own
    /// dispatch lag when nothing queues.
    pub p50_sent_ms: Option<f64>,
    /// Arrivals stampede dropped for want of a free user.
    pub dropped: u64,
}

/// The same open-model load over 1 and over many request names: what a name costs.
#[derive(Debug, Clone)]
pub struct NamesResult {
    pub rate: u32,
    /// (request names, peak RSS in KiB), fewest names first.
    pub runs: [(u32, u64); 2],
}

impl NamesResult {
    /// The peak RSS difference over the names added, in KiB.
    pub fn kib_per_name(&self) -> f64 {
        let [(few, few_kib), (many, many_kib)] = self.runs;
        (many_kib as f64 - few_kib as f64) / f64::from(many.saturating_sub(few).max(1))
    }
}

/// One count of SSE streams held against the demo target.
#[derive(Debug, Clone)]
pub struct StreamRow {
    /// Users asked for, one stream each.
    pub users: u32,
    pub peak_open: u64,
    pub failed_opens: u64,
    pub disconnects: u64,
    pub expected: u64,
    pub lost: u64,
    pub events_per_s: f64,
    pub e2e_p50_ms: Option<f64>,
    pub peak_rss_kib: u64,
    /// stampede's CPU time in the measured window over the events received in it (the posts
    /// that caused them included).
    pub cpu_us_per_event: f64,
}

impl StreamRow {
    /// Every stream open at once, none failed or dropped, no message lost.
    pub fn holds(&self) -> bool {
        self.peak_open >= u64::from(self.users)
            && self.failed_opens == 0
            && self.disconnects == 0
            && self.lost == 0
    }

    pub fn kib_per_stream(&self) -> f64 {
        self.peak_rss_kib as f64 / self.peak_open.max(1) as f64
    }
}

/// Many thinking users: what each costs in memory, and whether all were connected.
#[derive(Debug, Clone)]
pub struct ScaleResult {
    pub users: u32,
    /// nginx's active connections mid-run, less the one asking.
    pub connected: u64,
    pub peak_rss_kib: u64,
    pub rps: f64,
}

impl ScaleResult {
    pub fn kib_per_user(&self) -> f64 {
        self.peak_rss_kib as f64 / self.connected.max(1) as f64
    }
}

/// A long run at a fixed rate with RSS sampled along the way.
#[derive(Debug, Clone)]
pub struct SoakResult {
    /// The scenario kind: `soak` or `throughput`.
    pub kind: &'static str,
    pub rate: u32,
    /// (seconds since start, RSS in MiB).
    pub points: Vec<(f64, f64)>,
    pub slope_mib_per_hour: Option<f64>,
    /// Samples before this many seconds are left out of the slope (allocator warming up).
    pub settle_s: f64,
    /// The open model's pool of users at `settle_s` and at the end: a pool that grew in the
    /// measured window (a stall piled up arrivals) raises the RSS by about 34 KiB a user.
    pub users: Option<(u64, u64)>,
}

impl SoakResult {
    /// ` (pool 19 -> 43 users)` when the pool grew in the measured window, else empty.
    pub fn pool_growth(&self) -> String {
        match self.users {
            Some((at_settle, at_end)) if at_end > at_settle => {
                format!(" (pool {at_settle} -> {at_end} users)")
            }
            _ => String::new(),
        }
    }
}

/// Everything one `cargo xtask bench` measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub machine: String,
    pub date: String,
    /// The one-minute load average when the bench started.
    pub load_average: f64,
    pub duration_s: f64,
    pub reps: u32,
    pub closed: Vec<ClosedRow>,
    pub open: Vec<OpenRow>,
    pub scale: Option<ScaleResult>,
    pub names: Option<NamesResult>,
    pub soak: Vec<SoakResult>,
    pub streams: Vec<StreamRow>,
    /// What bounds the stream counts tried: the open-file limit or the ephemeral ports.
    pub streams_ceiling: Option<(u32, String)>,
}

/// The closed-model rows of one tool at one connection count, summarised.
pub struct ClosedSummary {
    pub tool: Tool,
    pub connections: u32,
    pub tls: bool,
    pub rps: Option<Spread>,
    pub cpu_us_per_req: Option<Spread>,
    pub rss_mb: Option<Spread>,
    pub p50_ms: Option<Spread>,
    pub p99_ms: Option<Spread>,
    pub nginx_busy: Option<Spread>,
    pub tls_handshake_ms: Option<Spread>,
}

impl Results {
    /// (TLS, connection count) pairs measured, plain http first, fewest connections first.
    pub fn connection_counts(&self) -> Vec<(bool, u32)> {
        let mut counts: Vec<(bool, u32)> =
            self.closed.iter().map(|r| (r.tls, r.connections)).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }

    pub fn closed_summaries(&self) -> Vec<ClosedSummary> {
        let mut out = Vec::new();
        for (tls, connections) in self.connection_counts() {
            for tool in Tool::ALL {
                let rows: Vec<&ClosedRow> = self
                    .closed
                    .iter()
                    .filter(|r| r.tool == tool && r.connections == connections && r.tls == tls)
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                let spread = |f: fn(&ClosedRow) -> f64| {
                    Spread::of(&rows.iter().map(|r| f(r)).collect::<Vec<_>>())
                };
                out.push(ClosedSummary {
                    tool,
                    connections,
                    tls,
                    rps: spread(|r| r.rps),
                    cpu_us_per_req: spread(|r| r.cpu_us_per_req),
                    rss_mb: spread(|r| r.rss_mb),
                    p50_ms: spread(|r| r.p50_ms),
                    p99_ms: spread(|r| r.p99_ms),
                    nginx_busy: spread(|r| r.nginx_busy),
                    tls_handshake_ms: spread(|r| r.tls_handshake_ms.unwrap_or(f64::NAN)),
                });
            }
        }
        out
    }

    /// The open-model rows of one tool at one rate: (tool, rate, rows).
    pub fn open_groups(&self) -> Vec<(Tool, u32, Vec<&OpenRow>)> {
        let mut keys: Vec<(u32, Tool)> =
            self.open.iter().map(|r| (r.target_rate, r.tool)).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|(rate, tool)| {
                let rows = self
                    .open
                    .iter()
                    .filter(|r| r.tool == tool && r.target_rate == rate);
                (tool, rate, rows.collect())
            })
            .collect()
    }

    pub fn to_json(&self) -> Value {
        let closed: Vec<Value> = self
            .closed_summaries()
            .into_iter()
            .map(|s| {
                json!({
                    "tool": s.tool.name(),
                    "connections": s.connections,
                    "tls": s.tls,
                    "rps": Spread::to_json(s.rps),
                    "cpu_us_per_req": Spread::to_json(s.cpu_us_per_req),
                    "rss_mb": Spread::to_json(s.rss_mb),
                    "p50_ms": Spread::to_json(s.p50_ms),
                    "p99_ms": Spread::to_json(s.p99_ms),
                    "nginx_busy": Spread::to_json(s.nginx_busy),
                    "tls_handshake_ms": Spread::to_json(s.tls_handshake_ms),
                })
            })
            .collect();
        let open: Vec<Value> = self
            .open_groups()
            .into_iter()
            .map(|(tool, rate, rows)| {
                let spread = |f: fn(&OpenRow) -> Option<f64>| {
                    Spread::to_json(Spread::of(
                        &rows.iter().filter_map(|r| f(r)).collect::<Vec<_>>(),
                    ))
                };
                json!({
                    "tool": tool.name(),
                    "target_rate": rate,
                    "achieved_rps": spread(|r| Some(r.achieved_rps)),
                    "own_rate": spread(|r| r.own_rate),
                    "cpu_us_per_req": spread(|r| Some(r.cpu_us_per_req)),
                    "rss_mb": spread(|r| Some(r.rss_mb)),
                    "p50_ms": spread(|r| Some(r.p50_ms)),
                    "p99_ms": spread(|r| Some(r.p99_ms)),
                    "p50_sent_ms": spread(|r| r.p50_sent_ms),
                    "dropped": spread(|r| Some(r.dropped as f64)),
                })
            })
            .collect();
        let scale = self.scale.as_ref().map(|s| {
            json!({
                "users": s.users, "connected": s.connected, "peak_rss_kib": s.peak_rss_kib,
                "kib_per_user": s.kib_per_user(), "rps": s.rps,
            })
        });
        let soak: Vec<Value> = self
            .soak
            .iter()
            .map(|s| {
                json!({ "kind": s.kind, "rate": s.rate, "rss_mb": s.points,
                        "settle_s": s.settle_s, "slope_mib_per_hour": s.slope_mib_per_hour })
            })
            .collect();
        let names = self.names.as_ref().map(|n| {
            json!({ "rate": n.rate, "runs": n.runs.iter().map(|(names, kib)| {
                json!({ "names": names, "peak_rss_kib": kib })
            }).collect::<Vec<_>>(), "kib_per_name": n.kib_per_name() })
        });
        let streams: Vec<Value> = self
            .streams
            .iter()
            .map(|r| {
                json!({ "users": r.users, "peak_open": r.peak_open, "holds": r.holds(),
                        "failed_opens": r.failed_opens, "disconnects": r.disconnects,
                        "expected": r.expected, "lost": r.lost, "events_per_s": r.events_per_s,
                        "e2e_p50_ms": r.e2e_p50_ms, "peak_rss_kib": r.peak_rss_kib,
                        "kib_per_stream": r.kib_per_stream(),
                        "cpu_us_per_event": r.cpu_us_per_event })
            })
            .collect();
        json!({
            "machine": self.machine,
            "date": self.date,
            "load_average": self.load_average,
            "duration_s": self.duration_s,
            "reps": self.reps,
            "closed": closed,
            "ratios": goals::ratios(self).iter().map(goals::Ratio::to_json).collect::<Vec<_>>(),
            "open": open,
            "scale": scale,
            "names": names,
            "soak": soak,
            "streams": streams,
            "streams_ceiling": self.streams_ceiling.as_ref().map(|(n, why)| json!({ "users": n, "bound": why })),
            "goals": goals::evaluate(self).iter().map(goals::Goal::to_json).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    #[test]
    fn a_soak_says_when_its_pool_grew_in_the_measured_window() {
        let soak = |users| SoakResult {
            kind: "soak",
            rate: 2000,
            points: Vec::new(),
            slope_mib_per_hour: Some(16.1),
            settle_s: 200.0,
            users,
        };
        assert_eq!(soak(Some((19, 43))).pool_growth(), " (pool 19 -> 43 users)");
        assert_eq!(soak(Some((19, 19))).pool_growth(), "");
        assert_eq!(soak(None).pool_growth(), "");
    }

    /// Two reps of stampede and wrk at 50 connections, and one 500-connection wrk run.
    pub fn sample() -> Results {
        let row = |tool, connections, rep, rps, cpu| ClosedRow {
            tool,
            connections,
            tls: false,
            rep,
            rps,
            cpu_us_per_req: cpu,
            rss_mb: 4.0,
            p50_ms: 0.5,
            p99_ms: 2.0,
            nginx_busy: 0.5,
            tls_handshake_ms: None,
        };
        Results {
            machine: "2 x AMD EPYC".to_owned(),
            date: "2026-01-01T00:00:00Z".to_owned(),
            load_average: 0.5,
            duration_s: 10.0,
            reps: 2,
            closed: vec![
                row(Tool::Stampede, 50, 1, 100_000.0, 9.0),
                row(Tool::Wrk, 50, 1, 100_000.0, 8.0),
                row(Tool::Stampede, 50, 2, 90_000.0, 10.0),
                row(Tool::Wrk, 50, 2, 100_000.0, 8.0),
                row(Tool::Wrk, 500, 1, 95_000.0, 8.5),
            ],
            ..Results::default()
        }
    }

    #[test]
    fn summaries_group_by_connections_then_tool() {
        let summaries = sample().closed_summaries();
        let keys: Vec<(&str, u32)> = summaries
            .iter()
            .map(|s| (s.tool.name(), s.connections))
            .collect();
        assert_eq!(keys, [("stampede", 50), ("wrk", 50), ("wrk", 500)]);
        let rps = summaries[0].rps.unwrap();
        assert_eq!(
            (rps.min, rps.median, rps.max),
            (90_000.0, 95_000.0, 100_000.0)
        );
    }

    #[test]
    fn a_name_costs_the_rss_difference_over_the_names_added() {
        let names = NamesResult {
            rate: 2_000,
            runs: [(1, 20_000), (200, 40_000)],
        };
        assert!((names.kib_per_name() - 20_000.0 / 199.0).abs() < 1e-9);
    }

    #[test]
    fn a_stream_count_holds_only_when_nothing_went_wrong() {
        let row = StreamRow {
            users: 2_000,
            peak_open: 2_000,
            failed_opens: 0,
            disconnects: 0,
            expected: 100,
            lost: 0,
            events_per_s: 1_000.0,
            e2e_p50_ms: Some(0.4),
            peak_rss_kib: 40_000,
            cpu_us_per_event: 30.0,
        };
        assert!(row.holds());
        assert_eq!(row.kib_per_stream(), 20.0);
        let short = StreamRow {
            peak_open: 1_999,
            ..row.clone()
        };
        let lossy = StreamRow { lost: 1, ..row };
        assert!(!short.holds() && !lossy.holds());
    }

    #[test]
    fn json_has_min_median_max_per_figure() {
        let json = sample().to_json();
        assert_eq!(json["closed"][0]["tool"], "stampede");
        assert_eq!(json["closed"][0]["cpu_us_per_req"]["median"], 9.5);
        assert_eq!(json["closed"][0]["p99_ms"]["max"], 2.0);
        assert!(json["scale"].is_null());
    }
}
