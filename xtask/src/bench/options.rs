//! `cargo xtask bench` flags.

use std::time::Duration;

use super::tools::Tool;

pub const HELP: &str = "\
usage: cargo xtask bench [--quick] [--reps N] [--soak] [--tools LIST]

Measures stampede against wrk and oha on nginx over loopback, interleaved, and prints ratios.
Writes target/bench/bench.json. Needs root the first time (apt-get install nginx wrk).

  --quick        1 repetition, 50 connections, 5 s runs, no scale or soak run (~2 minutes)
  --reps N       repetitions of every closed- and open-model run (default 3)
  --soak         add the 10-minute memory soak of stampede (off by default)
  --tools LIST   comma-separated subset of stampede,wrk,oha (default all three)
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
    pub tools: Vec<Tool>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            help: false,
            reps: 3,
            connections: vec![1, 50, 500],
            duration: Duration::from_secs(10),
            open_rates: vec![5_000, 20_000],
            scale: true,
            soak: false,
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
            options.connections = vec![50];
            options.duration = Duration::from_secs(5);
            options.scale = false;
            options.soak = false;
        }
        if let Some(reps) = reps {
            options.reps = reps;
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
    fn defaults_follow_the_issue() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            (o.reps, o.connections.as_slice(), o.duration.as_secs()),
            (3, &[1, 50, 500][..], 10)
        );
        assert!(o.scale && !o.soak);
    }

    #[test]
    fn quick_is_one_short_repetition_at_fifty() {
        let o = parse(&["--quick", "--soak"]).unwrap();
        assert_eq!(
            (o.reps, o.connections.as_slice(), o.duration.as_secs()),
            (1, &[50][..], 5)
        );
        assert!(!o.scale && !o.soak);
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
