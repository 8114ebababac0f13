//! `[monitor]` and `[[monitor]]`: sources, limits, names, `required`, and `--set monitor.KEY`.

mod common;

use common::{SMOKE, errors, load, load_with, set};
use stampede_plan::{Metric, MonitorLimit, MonitorProcess, Op, Scope};
use stampede_scenario::describe;

#[test]
fn monitor_lowers_to_sources_and_limits() {
    let plan = load(&format!(
        "{SMOKE}\n[monitor]\npid-file = \"run/app.pid\"\nmetrics-url = \"http://localhost:9100/metrics?x=1\"\n\
         series = {{ cpu-seconds = \"app_cpu_seconds_total\" }}\n\
         cpu = {{ warn = \"70%\", stop = \"180%\" }}\nrss = {{ warn = \"1.6GB\", stop = \"2GiB\" }}\n"
    ))
    .unwrap();
    let monitor = plan.monitors.into_iter().next().expect("a monitor");
    assert_eq!(
        monitor.process,
        Some(MonitorProcess::PidFile(
            common::fixtures().join("run/app.pid")
        ))
    );
    let metrics = monitor.metrics.expect("metrics-url");
    assert_eq!(metrics.url(), "http://localhost:9100/metrics?x=1");
    assert_eq!(metrics.server.authority(), "localhost:9100");
    assert_eq!(monitor.rss_series, "process_resident_memory_bytes");
    assert_eq!(monitor.cpu_seconds_series, "app_cpu_seconds_total");
    assert_eq!(
        monitor.cpu_percent,
        MonitorLimit {
            warn: Some(70.0),
            stop: Some(180.0)
        }
    );
    assert_eq!(
        monitor.rss_bytes,
        MonitorLimit {
            warn: Some(1.6e9),
            stop: Some(2.0 * 1024.0 * 1024.0 * 1024.0)
        }
    );
    let described = describe(
        &load(&format!(
            "{SMOKE}\n[monitor]\npid = 7\nrss = {{ stop = \"1.8GB\" }}\n"
        ))
        .unwrap(),
    );
    assert!(
        described.contains("monitor   pid 7, rss stop 1.8 GB"),
        "{described}"
    );
}

#[test]
fn a_monitor_is_required_by_default_only_when_it_has_limits() {
    let required = |extra: &str| {
        load(&format!("{SMOKE}\n[monitor]\npid = 7\n{extra}"))
            .unwrap()
            .monitors
            .into_iter()
            .next()
            .expect("a monitor")
            .required
    };
    assert!(!required(""));
    assert!(required("cpu = { warn = \"70%\" }\n"));
    assert!(required("rss = { stop = \"1GB\" }\n"));
    assert!(!required("rss = { stop = \"1GB\" }\nrequired = false\n"));
    assert!(required("required = true\n"));
    let set_off = load_with(
        SMOKE,
        &set(&[
            "monitor.pid=7",
            "monitor.rss.stop=1GB",
            "monitor.required=false",
        ]),
    )
    .unwrap();
    assert!(!set_off.monitors[0].required);
}

#[test]
fn several_monitors_each_have_a_name_and_their_own_limits() {
    let plan = load(&format!(
        "{SMOKE}\n[[monitor]]\nname = \"api\"\npid-file = \"run/api.pid\"\n\
         rss = {{ stop = \"1GB\" }}\n\n[[monitor]]\nname = \"redis\"\n\
         metrics-url = \"http://127.0.0.1:9121/metrics?token=x\"\ncpu = {{ warn = \"70%\" }}\n"
    ))
    .unwrap();
    let names: Vec<_> = plan.monitors.iter().map(|m| m.name.as_deref()).collect();
    assert_eq!(names, [Some("api"), Some("redis")]);
    assert_eq!(plan.monitors[0].rss_bytes.stop, Some(1e9));
    assert_eq!(plan.monitors[0].cpu_percent, MonitorLimit::default());
    assert_eq!(plan.monitors[1].cpu_percent.warn, Some(70.0));
    let described = describe(&plan);
    assert!(
        described
            .contains("monitor   redis: scrape http://127.0.0.1:9121/metrics?..., cpu warn 70%"),
        "{described}"
    );
    assert!(!described.contains("token"), "{described}");
}

#[test]
fn several_monitors_need_distinct_names_and_a_source() {
    let err = load(&format!(
        "{SMOKE}\n[[monitor]]\npid = 1\n\n[[monitor]]\nname = \"a\"\npid = 2\n\n\
         [[monitor]]\nname = \"a\"\npid = 3\n\n[[monitor]]\nname = \"b c\"\n\n\
         [[monitor]]\nname = \"d\"\n"
    ))
    .unwrap_err()
    .to_string();
    for expected in [
        "each [[monitor]] needs a `name`",
        "two monitors are called `a`",
        "`b c` is not a monitor name",
        "each [[monitor]] needs `pid`, `pid-file` or `metrics-url`",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn one_sourceless_monitor_watches_the_builtin_target_beside_a_process() {
    let plan = load(&format!(
        "{SMOKE}\n[[monitor]]\nname = \"api\"\ncpu = {{ warn = \"70%\" }}\n\n\
         [[monitor]]\nname = \"redis\"\npid-file = \"run/redis.pid\"\nrequired = false\n"
    ))
    .unwrap();
    let sources: Vec<(Option<&str>, bool)> = plan
        .monitors
        .iter()
        .map(|m| (m.name.as_deref(), m.process.is_some()))
        .collect();
    assert_eq!(sources, [(Some("api"), false), (Some("redis"), true)]);
    // Away from the builtin target, a monitor without a source watches nothing.
    let remote = SMOKE.replace("builtin", "http://127.0.0.1:8080");
    let err = errors(&format!(
        "{remote}\n[[monitor]]\nname = \"api\"\n\n[[monitor]]\nname = \"redis\"\npid = 2\n"
    ));
    assert!(
        err.contains("each [[monitor]] needs `pid`, `pid-file` or `metrics-url`"),
        "{err}"
    );
}

#[test]
fn monitor_keys_can_be_set_from_the_command_line() {
    // The builtin target needs no source: limits alone watch it.
    let plan = load_with(SMOKE, &set(&["monitor.pid=4242", "monitor.rss.stop=100MB"])).unwrap();
    let monitor = plan.monitors.into_iter().next().expect("a monitor");
    assert_eq!(monitor.process, Some(MonitorProcess::Pid(4242)));
    assert_eq!(monitor.rss_bytes.stop, Some(1e8));
    assert!(load(&format!("{SMOKE}\n[monitor]\ncpu = {{ stop = \"80%\" }}\n")).is_ok());
    // A remote metrics-url is allowed when the scenario allows remote hosts.
    let remote = load(&format!(
        "allow-remote = true\n{SMOKE}\n[monitor]\nmetrics-url = \"http://10.1.2.3:9100/metrics\"\n"
    ))
    .unwrap();
    assert!(remote.monitors[0].metrics.is_some());
}

#[test]
fn target_cpu_is_a_knee_level_a_stop_condition_and_a_run_threshold() {
    let sweep = "kind = \"capacity\"\nbase-url = \"builtin\"\nusers = [10, 20]\nhold = \"1m\"\n\
                 knee = { p95 = \"> 300ms\", target-cpu = \"> 70%\" }\n\
                 stop-when = { target-cpu = \">= 250%\" }\n\
                 [[request]]\nname = \"health\"\npath = \"/health\"\n\
                 [thresholds]\nper-step = true\ntarget-cpu = \"< 90%\"\n";
    let plan = load(sweep).unwrap();
    let level = |list: &[(Metric, stampede_plan::Condition)]| {
        list.iter()
            .find(|(m, _)| *m == Metric::TargetCpu)
            .map(|(_, c)| (c.op, c.value))
    };
    assert_eq!(level(&plan.knee_levels), Some((Op::Gt, 0.70)));
    // CPU is in percent of one core, so a level above 100% is two and a half cores.
    assert_eq!(level(&plan.stop_when), Some((Op::Ge, 2.5)));
    let threshold = &plan.thresholds[0];
    assert_eq!(
        (threshold.metric, threshold.condition.value, threshold.scope),
        (Metric::TargetCpu, 0.9, Scope::PerStep)
    );
}

#[test]
fn target_cpu_is_refused_per_request_in_a_window_and_with_nothing_watched() {
    let per_request = errors(&format!(
        "{SMOKE}\n[thresholds.request.health]\ntarget-cpu = \"< 70%\"\n"
    ));
    assert!(
        per_request.contains("`target-cpu` is the watched processes' CPU, not one request's"),
        "{per_request}"
    );
    let windowed = errors(&format!(
        "{SMOKE}\n[thresholds]\ntarget-cpu = {{ limit = \"< 70%\", window = \"30s\" }}\n"
    ));
    assert!(
        windowed.contains("is judged for each step or the run, not over a window")
            && windowed.contains("[monitor] cpu = { warn"),
        "{windowed}"
    );
    let unwatched = SMOKE.replace("builtin", "http://127.0.0.1:8080");
    let unwatched = errors(&format!(
        "{unwatched}\n[thresholds]\ntarget-cpu = \"< 70%\"\n"
    ));
    assert!(
        unwatched.contains("`target-cpu` reads the watched processes, and nothing is watched"),
        "{unwatched}"
    );
    // The same with a monitor of the process is accepted.
    let watched = SMOKE.replace("builtin", "http://127.0.0.1:8080");
    load(&format!(
        "{watched}\n[thresholds]\ntarget-cpu = \"< 70%\"\n[monitor]\npid = 1\n"
    ))
    .unwrap();
}
