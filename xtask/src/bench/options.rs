//! `cargo xtask bench` flags.

use std::time::Duration;

use super::tools::Tool;

pub const HELP: &str = "\
usage: cargo xtask bench [--quick] [--reps N] [--soak | --soak-only] [--soak-minutes N] [--tools LIST]

Measures stampede against wrk and oha on nginx over loopback (http and https), interleaved,
judges issue 17's goals, and holds SSE streams against the demo target (issue 15).
Writes target/bench/bench.json. Needs root the first time (apt-get install nginx wrk).

  --quick            1 repetition of 5 s runs at 1 and 50 connections, 1,000/s and 5,000/s,
                     the https row, the request-name cost and 2,000 streams; no scale run
                     (~2-3 minutes)
  --reps N           repetitions of every closed- and open-model run (default 3)
  --soak             add the memory soaks: stampede's `soak` and `throughput` kinds at
                     2,000/s, side by side as two processes (off by default)
  --soak-only        only the memory soaks, nothing else
  --soak-minutes N   how long each soak lasts (default 30)
  --tools LIST       comma-separated subset of stampede,wrk,oha (default all three)
";

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub help: bool,
    pub reps: u32,
    pub connections: Vec<u32>,
    pub duration: Duration,
    pub open_rates: Vec<u32>,
    pub scale: bool,
    pub soak: bool,
    /// Only the soaks: no repetitions, request names, scale or streams.
    pub soak_only: bool,
    pub soak_minutes: u64,
    /// How many doubling stream counts to try from 2,000 (stopping at the first that fails).
    pub stream_steps: usize,
    pub tools: Vec<Tool>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            help: false,
            reps: 3,
            connections: vec![1, 50, 500],
            duration: Duration::from_secs(10),
            open_rates: vec![1_000, 5_000, 20_000],
            scale: true,
            soak: false,
            soak_only: false,
            soak_minutes: 30,
            stream_steps: 8,
            tools: Tool::ALL.to_vec(),
        };
        let mut reps = None;
        let mut quick = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => options.help = true,
                "--quick" => quick = true,
                "--soak" => options.soak = true,
                "--soak-only" => {
                    options.soak = true;
                    options.soak_only = true;
                }
                "--soak-minutes" => {
                    let value = args.next().ok_or("--soak-minutes needs a number")?;
                    let n: u64 = value
                        .parse()
                        .map_err(|_| format!("--soak-minutes {value:?} is not a number"))?;
                    options.soak_minutes = n.max(1);
                }
                "--reps" => {
                    let value = args.next().ok_or("--reps needs a number")?;
                    let n: u32 = value
                        .parse()
                        .map_err(|_| format!("--reps {value:?} is not a number"))?;
                    reps = Some(n.max(1));
                }
                "--tools" => {
                    let value = args.next().ok_or("--tools needs a list, e.g. wrk,oha")?;
                    options.tools = value
                        .split(',')
                        .map(|name| {
                            Tool::from_name(name.trim()).ok_or_else(|| {
                                format!("unknown tool {name:?} (stampede, wrk, oha)")
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                other => return Err(format!("unknown bench flag {other:?}\n\n{HELP}")),
            }
        }
        if quick {
            options.reps = 1;
            options.connections = vec![1, 50];
            options.duration = Duration::from_secs(5);
            options.open_rates = vec![1_000, 5_000];
            options.scale = false;
            options.soak = false;
            options.stream_steps = 1;
        }
        if let Some(reps) = reps {
            options.reps = reps;
        }
        if options.soak_only {
            if quick {
                return Err("--soak-only and --quick measure different things; pick one".into());
            }
            options.reps = 0;
        }
        Ok(options)
    }

    pub fn runs(&self, tool: Tool) -> bool {
        self.tools.contains(&tool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn soak_only_runs_nothing_but_the_soaks() {
        let o = parse(&["--soak-only", "--soak-minutes", "30"]).unwrap();
        assert!(o.soak && o.soak_only);
        assert_eq!((o.reps, o.soak_minutes), (0, 30));
        assert!(parse(&["--soak-only", "--quick"]).is_err());
        assert!(!parse(&["--soak"]).unwrap().soak_only);
    }

    #[test]
    fn defaults_follow_the_issue() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            (o.reps, o.connections.as_slice(), o.duration.as_secs()),
            (3, &[1, 50, 500][..], 10)
        );
        assert_eq!(o.open_rates, [1_000, 5_000, 20_000]);
        assert!(o.scale && !o.soak);
        assert_eq!(o.soak_minutes, 30);
    }

    #[test]
    fn quick_is_one_short_repetition() {
        let o = parse(&["--quick", "--soak"]).unwrap();
        assert_eq!(
            (o.reps, o.connections.as_slice(), o.duration.as_secs()),
            (1, &[1, 50][..], 5)
        );
        assert_eq!(
            (o.open_rates.as_slice(), o.stream_steps),
            (&[1_000, 5_000][..], 1)
        );
        assert!(!o.scale && !o.soak);
    }

    #[test]
    fn soak_minutes() {
        let o = parse(&["--soak", "--soak-minutes", "12"]).unwrap();
        assert!(o.soak);
        assert_eq!(o.soak_minutes, 12);
        assert!(
            parse(&["--soak-minutes", "x"])
                .unwrap_err()
                .contains("not a number")
        );
    }

    #[test]
    fn tools_and_reps() {
        let o = parse(&["--tools", "wrk,oha", "--reps", "5"]).unwrap();
        assert_eq!(
            (o.tools.as_slice(), o.reps),
            (&[Tool::Wrk, Tool::Oha][..], 5)
        );
        assert!(
            parse(&["--tools", "ab"])
                .unwrap_err()
                .contains("unknown tool")
        );
        assert!(
            parse(&["--fast"])
                .unwrap_err()
                .contains("unknown bench flag")
        );
    }
}
