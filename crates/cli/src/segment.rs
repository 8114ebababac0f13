//! `stampede run --segment i/n --start-at T`: the flags of a run split across processes.
//!
//! Segments never talk to each other: they agree by construction. The engine deals this
//! process its share of users, arrivals and data rows (`Share`), `--start-at` makes every
//! segment begin at the same wall-clock instant, and the run group defaults to a name derived
//! from that instant and the scenario's hash, so segments started from one command template
//! carry the same group without a coordinator.

use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use stampede_engine::Share;
use stampede_reporter::summary::ScaleOut;

/// The scale-out flags of `stampede run`.
#[derive(Debug, Default, clap::Args)]
pub struct SegmentArgs {
    /// Run only segment I of N of the scenario (users, arrivals and data rows dealt so the N
    /// segments add up to the plan); merge the N results with `stampede merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_segment)]
    segment: Option<Share>,
    /// Begin the first step at this instant (RFC 3339, e.g. 2026-11-30T20:00:00Z), waiting
    /// until then; every segment given the same instant starts together.
    #[arg(long, value_name = "RFC3339", conflicts_with = "start_in")]
    start_at: Option<humantime::Timestamp>,
    /// Begin the first step this long from now (e.g. 30s).
    #[arg(long, value_name = "DURATION")]
    start_in: Option<humantime::Duration>,
    /// The run group the segments share (default: derived from --start-at and the scenario's
    /// hash, so segments agree without talking to each other).
    #[arg(long, value_name = "ID")]
    group: Option<String>,
    /// The agreed start, read once by [`SegmentArgs::resolve`].
    #[arg(skip)]
    resolved: Option<SystemTime>,
}

impl SegmentArgs {
    /// This process's part of the run.
    pub fn share(&self) -> Share {
        self.segment.unwrap_or(Share::WHOLE)
    }

    /// Fixes the agreed start (`--start-in` counts from now) and checks the flags against the
    /// scenario's hash, before anything is written: the tag the results will carry.
    pub fn resolve(&mut self, sha256: &str) -> anyhow::Result<Option<ScaleOut>> {
        self.resolved = match (self.start_at, self.start_in) {
            (Some(at), _) => Some(at.into()),
            (None, Some(wait)) => Some(SystemTime::now() + Duration::from(wait)),
            (None, None) => None,
        };
        self.tag(sha256)
    }

    /// The agreed start, once resolved.
    pub fn start_at(&self) -> Option<SystemTime> {
        self.resolved
    }

    /// The tag a segment's results carry, or `None` for a whole run. Refuses a segment whose
    /// group cannot be agreed on (no `--group` and no `--start-at`).
    pub fn tag(&self, sha256: &str) -> anyhow::Result<Option<ScaleOut>> {
        let start_at = self.resolved;
        let Some(share) = self.segment else {
            return Ok(None);
        };
        let start_text = start_at.map(|at| humantime::format_rfc3339_seconds(at).to_string());
        let group = match (&self.group, self.start_at, &start_text) {
            (Some(group), _, _) => group.clone(),
            (None, Some(_), Some(at)) => default_group(at, sha256),
            _ => bail!(
                "segment {}/{} needs a run group: give --start-at (the same for every segment) \
                 or --group",
                share.index + 1,
                share.count
            ),
        };
        stampede_reporter::store::results::check_name(&group, "run group")
            .map_err(anyhow::Error::msg)
            .context("invalid --group")?;
        Ok(Some(ScaleOut {
            group,
            segments: share.count as u32,
            segment: Some(share.index as u32 + 1),
            start_at: start_text,
            ..ScaleOut::default()
        }))
    }
}

/// `20261130T200000Z-1a2b3c4d`: the agreed start and the start of the scenario's hash, both
/// the same in every segment of one run.
fn default_group(start_at: &str, sha256: &str) -> String {
    let start: String = start_at
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{start}-{}", &sha256[..sha256.len().min(8)])
}

/// `I/N` with 1 <= I <= N: segment numbers count from 1, as people do.
fn parse_segment(text: &str) -> Result<Share, String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not I/N (e.g. 2/4)"))?;
    let i: usize = i
        .trim()
        .parse()
        .map_err(|_| format!("`{i}` is not a segment number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a segment count"))?;
    if n == 0 || i == 0 || i > n || n > MAX_SEGMENTS {
        return Err(format!(
            "segment {i}/{n}: need 1 <= I <= N <= {MAX_SEGMENTS}"
        ));
    }
    Ok(Share {
        index: i - 1,
        count: n,
    })
}

/// More segments than this is a typo, not a deployment.
const MAX_SEGMENTS: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_count_from_one() {
        assert_eq!(parse_segment("2/4"), Ok(Share { index: 1, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "x/2", "3", "1/9999"] {
            assert!(parse_segment(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_group_is_the_same_for_every_segment_of_one_start() {
        let at = "2026-11-30T20:00:00Z";
        assert_eq!(default_group(at, "abcdef0123"), "20261130T200000Z-abcdef01");
    }
}
