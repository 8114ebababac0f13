//! `stampede run --http-debug[=N]`: print the first N requests and responses to stderr, secrets
//! redacted by the engine, and by default cut the run to one user for one iteration, which is
//! what someone writing a scenario wants to see.
//!
//! Knows nothing of sockets: the engine hands over each exchange as plain data.

use std::io::Write as _;
use std::time::Duration;

use stampede_engine::{Exchange, HttpDebug};
use stampede_plan::{Load, Plan};

/// Flags of `stampede run` for seeing what is sent.
#[derive(Debug, Default, clap::Args)]
pub struct DebugArgs {
    /// Print the first N requests and responses (default 10) to stderr, secrets redacted, and
    /// run one user for one iteration.
    #[arg(long, value_name = "N", num_args = 0..=1, require_equals = true,
          default_missing_value = "10")]
    http_debug: Option<usize>,
    /// With --http-debug, keep the scenario's own load instead of one user for one iteration.
    #[arg(long, requires = "http_debug")]
    keep_load: bool,
}

impl DebugArgs {
    /// The plan to run: unchanged, or one user for one iteration of the first step.
    pub fn plan(&self, mut plan: Plan) -> Plan {
        if self.http_debug.is_none() || self.keep_load {
            return plan;
        }
        plan.steps.truncate(1);
        if let Some(step) = plan.steps.first_mut() {
            step.load = Load::Closed { users: 1 };
            step.iterations_per_user = Some(1);
            step.ramp = Duration::ZERO;
            step.ramp_down = Duration::ZERO;
            step.warmup = Duration::ZERO;
            step.cooldown = Duration::ZERO;
            step.label = "1 user, 1 iteration (--http-debug)".into();
        }
        plan
    }

    /// The engine's listener, when asked for.
    pub fn listener(&self) -> Option<HttpDebug> {
        let limit = self.http_debug?;
        Some(HttpDebug::new(limit, |exchange| {
            // Whole exchanges in one write, so two load threads never interleave lines.
            let _ = std::io::stderr().write_all(render(exchange).as_bytes());
        }))
    }
}

/// An exchange as curl -v shows one: `>` for what was sent, `<` for what came back.
pub fn render(exchange: &Exchange) -> String {
    let mut out = format!("* #{} {}\n", exchange.number, exchange.request);
    if !exchange.version.is_empty() {
        out.push_str(&format!(
            "> {} {} {}\n",
            exchange.method, exchange.target, exchange.version
        ));
        for (name, value) in &exchange.headers {
            out.push_str(&format!("> {name}: {value}\n"));
        }
        if !exchange.body.is_empty() {
            out.push_str(&format!(">\n> {}\n", exchange.body));
        }
    }
    match &exchange.response {
        Ok(response) => {
            out.push_str(&format!(
                "< {} {} ({})\n",
                exchange.version,
                response.status,
                stampede_metrics::format::value(
                    stampede_plan::Unit::Millis,
                    response.elapsed.as_secs_f64() * 1000.0
                )
            ));
            for (name, value) in &response.headers {
                out.push_str(&format!("< {name}: {value}\n"));
            }
            if !response.body.is_empty() {
                out.push_str(&format!("<\n< {}\n", response.body));
            }
        }
        Err(error) => out.push_str(&format!("! {error}\n")),
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_engine::{DebugResponse, REDACTED};

    #[test]
    fn an_exchange_reads_like_curl() {
        let exchange = Exchange {
            number: 1,
            request: "login".into(),
            method: "POST".into(),
            target: "/login".into(),
            version: "HTTP/1.1",
            headers: vec![("authorization".into(), REDACTED.into())],
            body: "{}".into(),
            response: Ok(DebugResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: "{\"token\":\"t\"}".into(),
                elapsed: Duration::from_micros(1500),
            }),
        };
        assert_eq!(
            render(&exchange),
            "* #1 login\n> POST /login HTTP/1.1\n> authorization: <redacted>\n>\n> {}\n\
             < HTTP/1.1 200 (1.5 ms)\n< content-type: application/json\n<\n< {\"token\":\"t\"}\n\n"
        );
    }

    #[test]
    fn debugging_cuts_the_run_to_one_user_once() {
        let step = stampede_plan::Step {
            label: "50 users".into(),
            load: Load::Closed { users: 50 },
            ramp: Duration::from_secs(10),
            ramp_from: 0,
            ramp_down: Duration::ZERO,
            warmup: Duration::ZERO,
            hold: Duration::from_secs(60),
            cooldown: Duration::from_secs(5),
            think: None,
            iterations_per_user: None,
        };
        let plan = Plan {
            steps: vec![step.clone(), step],
            ..Plan::default()
        };
        let args = DebugArgs {
            http_debug: Some(3),
            keep_load: false,
        };
        let cut = args.plan(plan.clone());
        assert_eq!(cut.steps.len(), 1);
        assert_eq!(cut.steps[0].load, Load::Closed { users: 1 });
        assert_eq!(cut.steps[0].iterations_per_user, Some(1));
        let kept = DebugArgs {
            http_debug: Some(3),
            keep_load: true,
        }
        .plan(plan);
        assert_eq!(kept.steps.len(), 2);
        assert!(DebugArgs::default().listener().is_none());
    }
}
