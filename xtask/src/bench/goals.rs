//! stampede against wrk and oha as ratios, and the goals of issue 8 judged from them.
//!
//! A ratio is taken within each repetition (the runs of one repetition sit next to each other
//! in time, so they share the machine's mood) and the median over repetitions is reported.

use serde_json::{Value, json};

use super::results::Results;
use super::stats::Spread;
use super::tools::Tool;

/// stampede over another tool at one connection count.
#[derive(Debug, Clone)]
pub struct Ratio {
    pub connections: u32,
    pub versus: Tool,
    pub rps: Option<Spread>,
    pub cpu_per_req: Option<Spread>,
}

impl Ratio {
    pub fn to_json(&self) -> Value {
        json!({
            "connections": self.connections,
            "of": format!("stampede/{}", self.versus.name()),
            "rps": Spread::to_json(self.rps),
            "cpu_us_per_req": Spread::to_json(self.cpu_per_req),
        })
    }
}

pub fn ratios(results: &Results) -> Vec<Ratio> {
    let mut out = Vec::new();
    for connections in results.connection_counts() {
        for versus in [Tool::Wrk, Tool::Oha] {
            let (mut rps, mut cpu) = (Vec::new(), Vec::new());
            for ours in results
                .closed
                .iter()
                .filter(|r| r.tool == Tool::Stampede && r.connections == connections)
            {
                let theirs = results.closed.iter().find(|r| {
                    r.tool == versus && r.connections == connections && r.rep == ours.rep
                });
                if let Some(theirs) = theirs {
                    rps.push(ours.rps / theirs.rps);
                    cpu.push(ours.cpu_us_per_req / theirs.cpu_us_per_req);
                }
            }
            if !rps.is_empty() {
                out.push(Ratio {
                    connections,
                    versus,
                    rps: Spread::of(&rps),
                    cpu_per_req: Spread::of(&cpu),
                });
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Met,
    NotMet,
    NotMeasured,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::NotMet => "not met",
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

pub const RSS_KIB_PER_USER: f64 = 32.0;
pub const OPEN_RATE: u32 = 5_000;
pub const OPEN_TOLERANCE: f64 = 0.005;
pub const SLOPE_MIB_PER_HOUR: f64 = 5.0;

pub fn evaluate(results: &Results) -> Vec<Goal> {
    let ratios = ratios(results);
    let vs_wrk = |connections: u32| {
        ratios
            .iter()
            .find(|r| r.versus == Tool::Wrk && r.connections == connections)
    };
    let mut goals = Vec::new();
    for connections in [50, 500] {
        let rps = vs_wrk(connections).and_then(|r| r.rps).map(|s| s.median);
        goals.push(Goal::judged(
            format!("RPS >= 1.0x wrk at {connections} connections"),
            rps.map(|x| (format!("{x:.2}x"), x >= 1.0)),
        ));
        let cpu = vs_wrk(connections)
            .and_then(|r| r.cpu_per_req)
            .map(|s| s.median);
        goals.push(Goal::judged(
            format!("CPU/request <= 1.1x wrk at {connections} connections"),
            cpu.map(|x| (format!("{x:.2}x"), x <= 1.1)),
        ));
    }
    goals.push(Goal::judged(
        format!("RSS <= {RSS_KIB_PER_USER} KiB per connected user, all users connected"),
        results.scale.as_ref().map(|s| {
            let per_user = s.kib_per_user();
            let all = s.connected >= u64::from(s.users);
            let text = format!("{per_user:.1} KiB, {}/{} connected", s.connected, s.users);
            (text, per_user <= RSS_KIB_PER_USER && all)
        }),
    ));
    let achieved: Vec<f64> = results
        .open
        .iter()
        .filter(|r| r.tool == Tool::Stampede && r.target_rate == OPEN_RATE)
        .map(|r| r.achieved_rps)
        .collect();
    goals.push(Goal::judged(
        format!(
            "achieved rate within {:.1} % of {OPEN_RATE}/s",
            OPEN_TOLERANCE * 100.0
        ),
        Spread::of(&achieved).map(|s| {
            let off = s.median / f64::from(OPEN_RATE) - 1.0;
            (
                format!("{:.0}/s ({:+.2} %)", s.median, off * 100.0),
                off.abs() <= OPEN_TOLERANCE,
            )
        }),
    ));
    goals.push(Goal::judged(
        format!("RSS slope < {SLOPE_MIB_PER_HOUR} MiB/h over the soak"),
        results
            .soak
            .as_ref()
            .and_then(|s| s.slope_mib_per_hour)
            .map(|slope| (format!("{slope:+.2} MiB/h"), slope < SLOPE_MIB_PER_HOUR)),
    ));
    goals
}

#[cfg(test)]
mod tests {
    use super::super::results::{OpenRow, ScaleResult, tests::sample};
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

    #[test]
    fn goals_are_met_not_met_or_not_measured() {
        let mut results = sample();
        results.scale = Some(ScaleResult {
            users: 10_000,
            connected: 10_000,
            peak_rss_kib: 200_000,
            rps: 9_990.0,
        });
        results.open.push(OpenRow {
            tool: Tool::Stampede,
            target_rate: 5_000,
            achieved_rps: 4_990.0,
            own_rate: None,
            cpu_us_per_req: 12.0,
            rss_mb: 5.0,
            p99_ms: 1.0,
        });
        let goals = evaluate(&results);
        let status: Vec<(&str, Status)> =
            goals.iter().map(|g| (g.name.as_str(), g.status)).collect();
        assert_eq!(
            status,
            [
                ("RPS >= 1.0x wrk at 50 connections", Status::NotMet),
                ("CPU/request <= 1.1x wrk at 50 connections", Status::NotMet),
                ("RPS >= 1.0x wrk at 500 connections", Status::NotMeasured),
                (
                    "CPU/request <= 1.1x wrk at 500 connections",
                    Status::NotMeasured
                ),
                (
                    "RSS <= 32 KiB per connected user, all users connected",
                    Status::Met
                ),
                ("achieved rate within 0.5 % of 5000/s", Status::Met),
                ("RSS slope < 5 MiB/h over the soak", Status::NotMeasured),
            ]
        );
        assert_eq!(goals[4].measured, "20.0 KiB, 10000/10000 connected");
        assert_eq!(goals[5].measured, "4990/s (-0.20 %)");
    }
}
