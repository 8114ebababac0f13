//! `cargo xtask bench`: stampede against wrk and oha on the same nginx, interleaved, reported
//! as ratios because absolute figures on shared machines mean little, with issue 17's goals
//! judged from them and issue 15's stream figures beside.
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
mod scenario;
mod setup;
mod stats;
mod streams;
mod summary;
mod table;
mod tools;
mod wrk;

use std::process::Command;

use measure::Bench;
use options::Options;
use results::Results;
use tools::Tool;

/// Users in the scale run, and the steady rate of the soaks and of the request-name runs.
const SCALE_USERS: u32 = 10_000;
const SOAK_RATE: u32 = 2_000;
/// The request-name cost: the same load over 1 and over this many names.
const MANY_NAMES: u32 = 200;
/// The first stream count tried; each next one doubles it.
const FIRST_STREAMS: u32 = 2_000;
/// Open files the bench asks for: the scale run's 10,000 connections and the streams' two
/// per user, on both ends.
const WANTED_NOFILE: u64 = 65_536;

pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    if options.help {
        print!("{}", options::HELP);
        return Ok(());
    }
    let root = crate::tidy::workspace_root();
    let dir = setup::target_dir(&root).join("bench");
    let toolbox = setup::prepare(&root, &dir, &options)?;
    let nofile = procfs::nofile_limit(WANTED_NOFILE);
    let nginx = nginx::Nginx::start(&toolbox.nginx, &root, &dir, nofile)?;
    eprintln!(
        "bench: nginx serving on {} and {} (config in {})",
        nginx.url(),
        nginx.tls_url(),
        dir.join("nginx.conf").display()
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
        repetition(&bench, &options, rep, &mut results)?;
    }
    if options.runs(Tool::Stampede) {
        stampede_only(&bench, &options, &mut results)?;
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

/// One repetition: every tool at every connection count, the https row, the open model.
fn repetition(
    bench: &Bench,
    options: &Options,
    rep: u32,
    results: &mut Results,
) -> Result<(), String> {
    // Rotating the order keeps any one tool from always running first, or always right after
    // the same neighbour.
    let mut order = options.tools.clone();
    let shift = (rep as usize - 1) % order.len().max(1);
    order.rotate_left(shift);
    let mut closed = |tool: Tool, connections: u32, tls: bool| -> Result<(), String> {
        let row = bench.closed(tool, connections, tls, rep, options.duration)?;
        eprintln!(
            "bench: rep {rep} {:>8} {:<5} c={connections:<4} {:>9.0} rps {:>6.2} us/req, p50 {:.3} ms",
            tool.name(),
            if tls { "https" } else { "http" },
            row.rps,
            row.cpu_us_per_req,
            row.p50_ms
        );
        results.closed.push(row);
        Ok(())
    };
    for &connections in &options.connections {
        for &tool in &order {
            closed(tool, connections, false)?;
        }
    }
    // oha is left out over TLS: the goal is wrk's cost, and oha would need --insecure.
    for &tool in order
        .iter()
        .filter(|t| matches!(t, Tool::Stampede | Tool::Wrk))
    {
        closed(tool, goals::HTTPS_CONNECTIONS, true)?;
    }
    for &rate in &options.open_rates {
        for &tool in order
            .iter()
            .filter(|t| matches!(t, Tool::Stampede | Tool::Oha))
        {
            let row = bench.open(tool, rate, rep, options.duration)?;
            eprintln!(
                "bench: rep {rep} {:>8} q={rate:<6} {:>9.0} rps achieved, p50 {:.3} ms, p99 {:.3} ms",
                tool.name(),
                row.achieved_rps,
                row.p50_ms,
                row.p99_ms
            );
            results.open.push(row);
        }
    }
    Ok(())
}

/// The runs only stampede makes: request-name cost, scale, streams and the soaks.
fn stampede_only(bench: &Bench, options: &Options, results: &mut Results) -> Result<(), String> {
    if !options.soak_only {
        eprintln!("bench: request names: 1 and {MANY_NAMES} names at {SOAK_RATE}/s");
        let names = bench.names(SOAK_RATE, 1, MANY_NAMES, options.duration)?;
        eprintln!("bench: {:.1} KiB per request name", names.kib_per_name());
        results.names = Some(names);
        if options.scale {
            scale(bench, results)?;
        }
        streams(bench, options, results)?;
    }
    if options.soak {
        soaks(bench, options.soak_minutes, results)?;
    }
    Ok(())
}

fn scale(bench: &Bench, results: &mut Results) -> Result<(), String> {
    if bench.nofile < u64::from(SCALE_USERS) + 1_000 {
        eprintln!(
            "bench: skipping the scale run: the open-file limit is only {}",
            bench.nofile
        );
    } else {
        eprintln!("bench: scale: {SCALE_USERS} users thinking 1 s, 20 s");
        results.scale = Some(bench.scale(SCALE_USERS)?);
    }
    Ok(())
}

/// Both soak kinds at once, as two processes: a slope is one process's RSS over time, which a
/// neighbour using a few percent of the other core does not change, and it halves the wait.
fn soaks(bench: &Bench, minutes: u64, results: &mut Results) -> Result<(), String> {
    eprintln!(
        "bench: soak: stampede's `soak` and `throughput` kinds side by side at {SOAK_RATE}/s \
         for {minutes} minutes"
    );
    let kinds = ["soak", "throughput"];
    let runs = std::thread::scope(|scope| {
        let handles: Vec<_> = kinds
            .map(|kind| scope.spawn(move || bench.soak(kind, SOAK_RATE, minutes)))
            .into_iter()
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a soak's thread panicked".into()))
            })
            .collect::<Vec<_>>()
    });
    for run in runs {
        results.soak.push(run?);
    }
    Ok(())
}

/// SSE streams against the demo target, doubling until a count does not hold.
fn streams(bench: &Bench, options: &Options, results: &mut Results) -> Result<(), String> {
    let (counts, ceiling, bound) = streams::counts(
        FIRST_STREAMS,
        options.stream_steps,
        bench.nofile,
        procfs::ephemeral_ports(),
    );
    results.streams_ceiling = Some((ceiling, bound));
    let target = streams::DemoTarget::start(&bench.toolbox.stampede, bench.nofile, &bench.logs)?;
    // Long enough that the largest count is open well before the measured window.
    let duration = options.duration.mul_f64(2.0);
    for users in counts {
        let row = bench.streams(&target, users, duration)?;
        eprintln!(
            "bench: streams {users:>6}: {} open, {:.1} KiB each, {:.1} us CPU per event{}",
            row.peak_open,
            row.kib_per_stream(),
            row.cpu_us_per_event,
            if row.holds() { "" } else { " (does not hold)" }
        );
        let holds = row.holds();
        results.streams.push(row);
        if !holds {
            break;
        }
    }
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
