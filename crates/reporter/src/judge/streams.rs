//! `[thresholds.stream.NAME]`: each rule judged against its stream's figures over the run,
//! through `StreamFigures::value`, beside the request thresholds of [`super::thresholds`].

use stampede_plan::{Scope, Threshold};

use crate::judge::thresholds::result;
use crate::summary::stream::StreamSummary;
use crate::summary::threshold::{JudgedScope, ThresholdResult};

/// Judges the stream thresholds; a stream that never opened nor tried fails (no data).
pub fn evaluate(thresholds: &[Threshold], streams: &[StreamSummary]) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .filter_map(|threshold| {
            let Scope::Stream(index) = threshold.scope else {
                return None;
            };
            let stream = streams.get(index);
            let name = stream.map_or_else(|| format!("stream {index}"), |s| s.name.clone());
            let observed = stream.and_then(|s| s.total.value(threshold.metric));
            Some(result(threshold, JudgedScope::Stream { name }, observed))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::StreamFigures;
    use stampede_plan::{Condition, Metric, Op};

    fn rule(metric: Metric, op: Op, value: f64) -> Threshold {
        Threshold {
            metric,
            condition: Condition { op, value },
            warn: None,
            scope: Scope::Stream(0),
            live: None,
        }
    }

    #[test]
    fn stream_rules_read_the_streams_figures() {
        let inbox = StreamSummary {
            name: "inbox".into(),
            kind: "SSE".into(),
            total: StreamFigures {
                opened: 4,
                lost: 2,
                ..StreamFigures::default()
            },
            steps: Vec::new(),
        };
        let results = evaluate(
            &[
                rule(Metric::Lost, Op::Eq, 0.0),
                rule(Metric::Disconnects, Op::Lt, 1.0),
                rule(Metric::E2eP95, Op::Lt, 500.0),
            ],
            &[inbox],
        );
        let passed: Vec<_> = results.iter().map(|r| (r.passed, r.observed)).collect();
        assert_eq!(
            passed,
            [(false, Some(2.0)), (true, Some(0.0)), (false, None)]
        );
        assert_eq!(results[0].describe(), "lost == 0 (stream inbox)");
        assert!(
            evaluate(&[rule(Metric::Lost, Op::Eq, 0.0)], &[])
                .iter()
                .all(|r| !r.passed)
        );
    }
}
