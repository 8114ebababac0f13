//! Getting the tools: nginx and wrk from apt, oha from crates.io into target/bench/tools,
//! stampede built in release mode. Each step says what it does before it does it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::options::Options;
use super::tools::{self, Tool, Toolbox};

pub fn prepare(root: &Path, bench: &Path, options: &Options) -> Result<Toolbox, String> {
    for dir in ["logs", "scenarios", "results", "tools"] {
        std::fs::create_dir_all(bench.join(dir))
            .map_err(|e| format!("cannot create {}: {e}", bench.join(dir).display()))?;
    }
    need_all(
        &["taskset", "prlimit", "kill", "getconf"],
        "util-linux and procps",
    )?;
    if !runs("openssl", &["version"]) {
        return Err("openssl not found (it makes the https row's certificate)\n\
                    hint: apt-get install openssl"
            .to_owned());
    }
    let mut missing: Vec<&str> = Vec::new();
    // /usr/sbin is not on every PATH.
    let nginx = || tools::locate("nginx", &[Path::new("/usr/sbin/nginx")]);
    if !runs(&nginx().display().to_string(), &["-v"]) {
        missing.push("nginx");
    }
    if options.runs(Tool::Wrk) && !runs("wrk", &["-v"]) {
        missing.push("wrk");
    }
    if !missing.is_empty() {
        apt_install(&missing)?;
    }

    let oha_root = bench.join("tools");
    let mut oha = tools::locate("oha", &[&oha_root.join("bin/oha")]);
    if options.runs(Tool::Oha) && !runs(&oha.display().to_string(), &["--version"]) {
        eprintln!(
            "bench: oha not found; installing it (cargo install oha --locked --root {})",
            oha_root.display()
        );
        let status = Command::new(env!("CARGO"))
            .args(["install", "oha", "--locked", "--root"])
            .arg(&oha_root)
            .status()
            .map_err(|e| format!("cannot run cargo install: {e}"))?;
        if !status.success() {
            return Err(
                "cargo install oha failed\nhint: or leave oha out with --tools stampede,wrk"
                    .to_owned(),
            );
        }
        oha = oha_root.join("bin/oha");
    }
    let oha_help = Command::new(&oha)
        .arg("--help")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();

    let stampede = target_dir(root).join("release/stampede");
    if options.runs(Tool::Stampede) {
        eprintln!("bench: building stampede (cargo build --release -p stampede)");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "stampede"])
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo build: {e}"))?;
        if !status.success() {
            return Err("cargo build --release -p stampede failed\n\
                        hint: measure wrk and oha alone with --tools wrk,oha"
                .to_owned());
        }
    }
    Ok(Toolbox {
        nginx: nginx(),
        stampede,
        wrk: "wrk".into(),
        oha,
        oha_json_flag: tools::oha_json_flag(&String::from_utf8_lossy(&oha_help)),
        scenarios: bench.join("scenarios"),
        results: bench.join("results"),
    })
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (cargo passes it on to the xtask),
/// else the workspace's `target/`. The bench's files and the release build both live there.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Whether `program` starts at all (its exit code does not matter: `wrk -v` exits 1).
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn need_all(programs: &[&str], packages: &str) -> Result<(), String> {
    match programs.iter().find(|p| !runs(p, &["--version"])) {
        Some(p) => Err(format!("{p} not found\nhint: apt-get install {packages}")),
        None => Ok(()),
    }
}

fn apt_install(packages: &[&str]) -> Result<(), String> {
    let list = packages.join(" ");
    eprintln!("bench: {list} not found; installing (apt-get update && apt-get install -y {list})");
    let apt = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "apt-get {} failed\nhint: run `apt-get install -y {list}` as root, then retry",
                args.join(" ")
            ))
        }
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(packages);
    apt(&install)
}
