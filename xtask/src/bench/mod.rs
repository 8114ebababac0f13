//! `cargo xtask bench`: stampede against wrk and oha on the same nginx, interleaved, reported
//! as ratios because absolute figures on shared machines mean little.
//!
//! nginx runs one worker on CPU 0 and counts the requests; each generator runs alone on CPU 1.
//! All traffic stays on 127.0.0.1 and every run is bounded in time. docs/performance.md says
//! how each figure is measured.

mod goals;
mod measure;
mod nginx;
mod oha;
mod options;
mod procfs;
mod results;
mod runner;
mod setup;
mod stats;
mod summary;
mod table;
mod tools;
mod wrk;

use std::process::Command;

use measure::Bench;
use options::Options;
use results::Results;
use tools::Tool;

/// Users in the scale run, and the steady rate of the soak.
const SCALE_USERS: u32 = 10_000;
const SOAK_RATE: u32 = 2_000;

pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    if options.help {
        print!("{}", options::HELP);
        return Ok(());
    }
    let root = crate::tidy::workspace_root();
    let dir = root.join("target/bench");
    let toolbox = setup::prepare(&root, &dir, &options)?;
    // Enough open files for the scale run's 10,000 connections on both ends, within what the
    // hard limit allows us to raise to.
    let nofile = procfs::nofile_hard_limit().unwrap_or(4_096).min(65_536);
    let nginx = nginx::Nginx::start(&toolbox.nginx, &root, &dir, nofile)?;
    eprintln!(
        "bench: nginx serving on {} (pid file in target/bench/nginx/)",
        nginx.url()
    );
    let bench = Bench {
        toolbox,
        nginx,
        ticks_per_second: procfs::clock_ticks_per_second(),
        nofile,
        logs: dir.join("logs"),
    };
    let mut results = Results {
        machine: machine(),
        date: date(),
        load_average: load_average(),
        duration_s: options.duration.as_secs_f64(),
        reps: options.reps,
        ..Results::default()
    };

    if results.load_average > 0.5 {
        eprintln!(
            "bench: warning: load average {:.2} before the first run; other work on these cores \
             will show in the figures (the ratios suffer less)",
            results.load_average
        );
    }
    for rep in 1..=options.reps {
        // Rotating the order keeps any one tool from always running first, or always right
        // after the same neighbour.
        let mut order = options.tools.clone();
        let shift = (rep as usize - 1) % order.len().max(1);
        order.rotate_left(shift);
        for &connections in &options.connections {
            for &tool in &order {
                let row = bench.closed(tool, connections, rep, options.duration)?;
                eprintln!(
                    "bench: rep {rep} {:>8} c={connections:<4} {:>9.0} rps {:>6.2} us/req",
                    tool.name(),
                    row.rps,
                    row.cpu_us_per_req
                );
                results.closed.push(row);
            }
        }
        for &rate in &options.open_rates {
            for &tool in order
                .iter()
                .filter(|t| matches!(t, Tool::Stampede | Tool::Oha))
            {
                let row = bench.open(tool, rate, rep, options.duration)?;
                eprintln!(
                    "bench: rep {rep} {:>8} q={rate:<6} {:>9.0} rps achieved",
                    tool.name(),
                    row.achieved_rps
                );
                results.open.push(row);
            }
        }
    }
    if options.scale && options.runs(Tool::Stampede) {
        if nofile < u64::from(SCALE_USERS) + 1_000 {
            eprintln!("bench: skipping the scale run: the open-file hard limit is only {nofile}");
        } else {
            eprintln!("bench: scale: {SCALE_USERS} users thinking 1 s, 20 s");
            results.scale = Some(bench.scale(SCALE_USERS)?);
        }
    }
    if options.soak && options.runs(Tool::Stampede) {
        eprintln!("bench: soak: stampede at {SOAK_RATE}/s for 10 minutes");
        results.soak = Some(bench.soak(SOAK_RATE)?);
    }
    drop(bench);

    let json_path = dir.join("bench.json");
    let json = serde_json::to_string_pretty(&results.to_json()).expect("plain JSON values");
    std::fs::write(&json_path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    print!("{}", table::render(&results));
    eprintln!("bench: wrote {}", json_path.display());
    Ok(())
}

/// `2 x AMD EPYC 7B13`: the core count and the CPU model from /proc/cpuinfo.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU");
    format!("{cores} x {model}")
}

/// The one-minute load average before the first run: how busy the machine was besides us.
fn load_average() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Now in UTC, from `date` since std has no calendar.
fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
