//! stampede against wrk and oha as ratios, and the goals of issue 17 judged from them.
//!
//! A ratio or a difference is taken within each repetition (the runs of one repetition sit
//! next to each other in time, so they share the machine's mood) and the median over
//! repetitions is what a goal is judged on.

use serde_json::{Value, json};

use super::results::{ClosedRow, Results};
use super::stats::Spread;
use super::tools::Tool;

/// stampede over another tool at one connection count, over http or TLS.
#[derive(Debug, Clone)]
pub struct Ratio {
    pub connections: u32,
    pub tls: bool,
    pub versus: Tool,
    pub rps: Option<Spread>,
    pub cpu_per_req: Option<Spread>,
}

impl Ratio {
    pub fn to_json(&self) -> Value {
        json!({
            "connections": self.connections,
            "tls": self.tls,
            "of": format!("stampede/{}", self.versus.name()),
            "rps": Spread::to_json(self.rps),
            "cpu_us_per_req": Spread::to_json(self.cpu_per_req),
        })
    }
}

/// `f(stampede's row, the other tool's row)` for each repetition that has both.
fn paired(
    results: &Results,
    tls: bool,
    connections: u32,
    versus: Tool,
    f: impl Fn(&ClosedRow, &ClosedRow) -> f64,
) -> Vec<f64> {
    let of = |tool: Tool, rep: u32| {
        results.closed.iter().find(|r| {
            r.tool == tool && r.tls == tls && r.connections == connections && r.rep == rep
        })
    };
    results
        .closed
        .iter()
        .filter(|r| r.tool == Tool::Stampede && r.tls == tls && r.connections == connections)
        .filter_map(|ours| Some(f(ours, of(versus, ours.rep)?)))
        .collect()
}

pub fn ratios(results: &Results) -> Vec<Ratio> {
    let mut out = Vec::new();
    for (tls, connections) in results.connection_counts() {
        for versus in [Tool::Wrk, Tool::Oha] {
            let rps = paired(results, tls, connections, versus, |a, b| a.rps / b.rps);
            let cpu = paired(results, tls, connections, versus, |a, b| {
                a.cpu_us_per_req / b.cpu_us_per_req
            });
            if !rps.is_empty() {
                out.push(Ratio {
                    connections,
                    tls,
                    versus,
                    rps: Spread::of(&rps),
                    cpu_per_req: Spread::of(&cpu),
                });
            }
        }
    }
    out
}

/// stampede's p50 less wrk's at `connections`, in microseconds, median over repetitions.
pub fn client_overhead_us(results: &Results, connections: u32) -> Option<Spread> {
    let diffs = paired(results, false, connections, Tool::Wrk, |a, b| {
        (a.p50_ms - b.p50_ms) * 1000.0
    });
    Spread::of(&diffs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Met,
    NotMet,
    /// Measured, but the goal does not apply (nginx, not the generator, was the limit).
    NotJudged,
    NotMeasured,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::NotMet => "not met",
            Status::NotJudged => "not judged",
            Status::NotMeasured => "not measured",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Goal {
    pub name: String,
    pub measured: String,
    pub status: Status,
}

impl Goal {
    fn judged(name: String, measured: Option<(String, bool)>) -> Goal {
        match measured {
            Some((measured, ok)) => Goal {
                name,
                measured,
                status: if ok { Status::Met } else { Status::NotMet },
            },
            None => Goal {
                name,
                measured: "-".to_owned(),
                status: Status::NotMeasured,
            },
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "goal": self.name, "measured": self.measured, "status": self.status.label() })
    }
}

pub const CPU_RATIO: f64 = 1.1;
pub const RPS_RATIO: f64 = 0.95;
/// nginx's worker busier than this in wrk's run: nginx, not the generator, set the rate.
pub const NGINX_LIMIT_BUSY: f64 = 0.9;
pub const OVERHEAD_US: f64 = 20.0;
pub const OPEN_P99_MS: f64 = 1.0;
pub const OPEN_LAG_US: f64 = 50.0;
pub const OPEN_JUDGED_RATES: [u32; 2] = [1_000, 5_000];
pub const HTTPS_CONNECTIONS: u32 = 50;
pub const KIB_PER_USER: f64 = 24.0;
pub const KIB_PER_NAME: f64 = 256.0;
pub const SLOPE_MIB_PER_HOUR: f64 = 1.0;

pub fn evaluate(results: &Results) -> Vec<Goal> {
    let ratios = ratios(results);
    let vs_wrk = |tls: bool, connections: u32| {
        ratios
            .iter()
            .find(|r| r.versus == Tool::Wrk && r.tls == tls && r.connections == connections)
    };
    let mut goals = Vec::new();
    for connections in [1, 50, 500] {
        let cpu = vs_wrk(false, connections).and_then(|r| r.cpu_per_req);
        goals.push(Goal::judged(
            format!("CPU/request <= {CPU_RATIO}x wrk at {}", plural(connections)),
            cpu.map(|s| (format!("{:.2}x", s.median), s.median <= CPU_RATIO)),
        ));
    }
    for connections in [1, 50, 500] {
        goals.push(rps_goal(results, vs_wrk(false, connections), connections));
    }
    for connections in [1, 50] {
        goals.push(overhead_goal(results, connections));
    }
    open_goals(results, &mut goals);
    let https = vs_wrk(true, HTTPS_CONNECTIONS).and_then(|r| r.cpu_per_req);
    let handshake = results
        .closed_summaries()
        .into_iter()
        .find(|s| s.tls && s.tool == Tool::Stampede)
        .and_then(|s| s.tls_handshake_ms)
        .map_or(String::new(), |h| {
            format!("; stampede's TLS handshake p50 {:.3} ms", h.median)
        });
    goals.push(Goal::judged(
        format!("https: CPU/request <= {CPU_RATIO}x wrk at {HTTPS_CONNECTIONS} connections"),
        https.map(|s| {
            (
                format!("{:.2}x{handshake}", s.median),
                s.median <= CPU_RATIO,
            )
        }),
    ));
    memory_goals(results, &mut goals);
    goals
}

/// RPS >= 0.95x wrk, judged only where nginx was not the limit in wrk's runs.
fn rps_goal(results: &Results, ratio: Option<&Ratio>, connections: u32) -> Goal {
    let name = format!(
        "RPS >= {RPS_RATIO}x wrk at {} where the generator is the limit",
        plural(connections)
    );
    let wrk_busy = results
        .closed_summaries()
        .into_iter()
        .find(|s| s.tool == Tool::Wrk && !s.tls && s.connections == connections)
        .and_then(|s| s.nginx_busy)
        .map(|s| s.median);
    let Some(rps) = ratio.and_then(|r| r.rps) else {
        return Goal::judged(name, None);
    };
    let busy = wrk_busy.map_or(String::new(), |b| {
        format!(" (nginx {:.0} % busy under wrk)", b * 100.0)
    });
    let measured = format!("{:.2}x{busy}", rps.median);
    if wrk_busy.is_some_and(|b| b >= NGINX_LIMIT_BUSY) {
        return Goal {
            name,
            measured,
            status: Status::NotJudged,
        };
    }
    Goal::judged(name, Some((measured, rps.median >= RPS_RATIO)))
}

fn overhead_goal(results: &Results, connections: u32) -> Goal {
    let p50 = |tool: Tool| {
        results
            .closed_summaries()
            .into_iter()
            .find(|s| s.tool == tool && !s.tls && s.connections == connections)
            .and_then(|s| s.p50_ms)
            .map(|s| s.median)
    };
    let measured = client_overhead_us(results, connections).map(|diff| {
        let text = format!(
            "stampede p50 {:.3} ms, wrk p50 {:.3} ms ({:+.0} us)",
            p50(Tool::Stampede).unwrap_or(f64::NAN),
            p50(Tool::Wrk).unwrap_or(f64::NAN),
            diff.median
        );
        (text, diff.median <= OVERHEAD_US)
    });
    Goal::judged(
        format!(
            "p50 <= wrk's p50 + {OVERHEAD_US} us at {}",
            plural(connections)
        ),
        measured,
    )
}

/// `1 connection`, `50 connections`.
fn plural(connections: u32) -> String {
    let s = if connections == 1 { "" } else { "s" };
    format!("{connections} connection{s}")
}

fn open_goals(results: &Results, goals: &mut Vec<Goal>) {
    for rate in OPEN_JUDGED_RATES {
        let rows: Vec<_> = results
            .open
            .iter()
            .filter(|r| r.tool == Tool::Stampede && r.target_rate == rate)
            .collect();
        let p99 = Spread::of(&rows.iter().map(|r| r.p99_ms).collect::<Vec<_>>());
        goals.push(Goal::judged(
            format!("p99 from the scheduled send <= {OPEN_P99_MS} ms at {rate}/s"),
            p99.map(|s| (format!("{:.3} ms", s.median), s.median <= OPEN_P99_MS)),
        ));
        let lag: Vec<f64> = rows
            .iter()
            .filter_map(|r| Some((r.p50_ms - r.p50_sent_ms?) * 1000.0))
            .collect();
        goals.push(Goal::judged(
            format!("corrected p50 - raw p50 <= {OPEN_LAG_US} us at {rate}/s"),
            Spread::of(&lag).map(|s| (format!("{:.0} us", s.median), s.median <= OPEN_LAG_US)),
        ));
    }
}

fn memory_goals(results: &Results, goals: &mut Vec<Goal>) {
    goals.push(Goal::judged(
        format!("<= {KIB_PER_USER} KiB per connected user at 10,000 users, all connected"),
        results.scale.as_ref().map(|s| {
            let per_user = s.kib_per_user();
            let all = s.connected >= u64::from(s.users);
            let text = format!("{per_user:.1} KiB, {}/{} connected", s.connected, s.users);
            (text, per_user <= KIB_PER_USER && all)
        }),
    ));
    goals.push(Goal::judged(
        format!("<= {KIB_PER_NAME} KiB per request name"),
        results.names.as_ref().map(|n| {
            let kib = n.kib_per_name();
            let [(few, _), (many, _)] = n.runs;
            (
                format!("{kib:.1} KiB ({few} vs {many} names)"),
                kib <= KIB_PER_NAME,
            )
        }),
    ));
    for kind in ["soak", "throughput"] {
        let soak = results.soak.iter().find(|s| s.kind == kind);
        goals.push(Goal::judged(
            format!("RSS slope < {SLOPE_MIB_PER_HOUR} MiB/h at 2,000/s, `{kind}` kind"),
            soak.and_then(|s| {
                let slope = s.slope_mib_per_hour?;
                let minutes = s.points.last().map_or(0.0, |p| p.0) / 60.0;
                let text = format!(
                    "{slope:+.2} MiB/h over {minutes:.0} min after the first {:.0} s{}",
                    s.settle_s,
                    s.pool_growth()
                );
                Some((text, slope < SLOPE_MIB_PER_HOUR))
            }),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::results::{NamesResult, OpenRow, ScaleResult, tests::sample};
    use super::*;

    #[test]
    fn ratios_pair_runs_of_the_same_repetition() {
        let ratios = ratios(&sample());
        // 50 connections vs wrk only: no oha runs, and no stampede run at 500.
        assert_eq!(ratios.len(), 1);
        let rps = ratios[0].rps.unwrap();
        assert_eq!((rps.min, rps.median, rps.max), (0.9, 0.95, 1.0));
        assert!((ratios[0].cpu_per_req.unwrap().median - 1.1875).abs() < 1e-9);
    }

    fn open_row(p50_ms: f64, p50_sent_ms: f64, p99_ms: f64) -> OpenRow {
        OpenRow {
            tool: Tool::Stampede,
            target_rate: 1_000,
            achieved_rps: 1_000.0,
            own_rate: None,
            cpu_us_per_req: 12.0,
            rss_mb: 5.0,
            p50_ms,
            p99_ms,
            p50_sent_ms: Some(p50_sent_ms),
            dropped: 0,
        }
    }

    #[test]
    fn goals_are_met_not_met_or_not_measured() {
        let mut results = sample();
        results.scale = Some(ScaleResult {
            users: 10_000,
            connected: 10_000,
            peak_rss_kib: 200_000,
            rps: 9_990.0,
        });
        results.names = Some(NamesResult {
            rate: 2_000,
            runs: [(1, 10_000), (200, 60_000)],
        });
        results.open.push(open_row(0.140, 0.100, 0.8));
        let goals = evaluate(&results);
        let status = |prefix: &str| {
            let goal = goals.iter().find(|g| g.name.starts_with(prefix)).unwrap();
            (goal.status, goal.measured.as_str())
        };
        assert_eq!(
            status("CPU/request <= 1.1x wrk at 50"),
            (Status::NotMet, "1.19x")
        );
        assert_eq!(
            status("CPU/request <= 1.1x wrk at 500").0,
            Status::NotMeasured
        );
        assert_eq!(
            status("RPS >= 0.95x wrk at 50").0,
            Status::Met,
            "0.95x with nginx half busy is judged and met"
        );
        assert_eq!(
            status("p50 <= wrk's p50 + 20 us at 50"),
            (
                Status::Met,
                "stampede p50 0.500 ms, wrk p50 0.500 ms (+0 us)"
            )
        );
        assert_eq!(
            status("p99 from the scheduled send <= 1 ms at 1000/s"),
            (Status::Met, "0.800 ms")
        );
        assert_eq!(
            status("corrected p50 - raw p50 <= 50 us at 1000/s"),
            (Status::Met, "40 us")
        );
        assert_eq!(
            status("corrected p50 - raw p50 <= 50 us at 5000/s").0,
            Status::NotMeasured
        );
        assert_eq!(
            status("<= 24 KiB per connected user"),
            (Status::Met, "20.0 KiB, 10000/10000 connected")
        );
        assert_eq!(
            status("<= 256 KiB per request name").1,
            "251.3 KiB (1 vs 200 names)"
        );
        assert_eq!(status("https").0, Status::NotMeasured);
        assert_eq!(status("RSS slope").0, Status::NotMeasured);
    }

    #[test]
    fn rps_is_not_judged_where_nginx_was_the_limit() {
        let mut results = sample();
        for row in results.closed.iter_mut().filter(|r| r.tool == Tool::Wrk) {
            row.nginx_busy = 0.97;
        }
        let goal = evaluate(&results)
            .into_iter()
            .find(|g| g.name.starts_with("RPS >= 0.95x wrk at 50"))
            .unwrap();
        assert_eq!(goal.status, Status::NotJudged);
        assert_eq!(goal.measured, "0.95x (nginx 97 % busy under wrk)");
    }
}
