//! Property: any valid capacity, throughput, burst or soak scenario lowers to steps whose holds
//! and cooldowns add up to the planned total, at increasing offsets, each step as written.

mod common;

use std::time::Duration;

use common::load;
use proptest::prelude::*;
use stampede_plan::{Load, Plan, Step, Think};

const REQUEST: &str = "\n[[request]]\nname = \"h\"\npath = \"/health\"\n";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The plan-wide invariants every kind keeps.
fn check_timeline(plan: &Plan) -> Result<(), TestCaseError> {
    let sum: Duration = plan.steps.iter().map(|s| s.hold + s.cooldown).sum();
    prop_assert_eq!(plan.total_duration(), sum);
    let offsets = plan.step_offsets();
    prop_assert_eq!(offsets.len(), plan.steps.len());
    prop_assert_eq!(offsets.first().copied(), Some(Duration::ZERO));
    for (pair, step) in offsets.windows(2).zip(&plan.steps) {
        prop_assert!(pair[0] < pair[1]);
        prop_assert_eq!(pair[1] - pair[0], step.hold + step.cooldown);
    }
    prop_assert_eq!(plan.steps.last().map(|s| s.cooldown), Some(Duration::ZERO));
    for step in &plan.steps {
        prop_assert!(step.ramp <= step.hold && step.warmup <= step.hold);
    }
    Ok(())
}

fn check_step(
    step: &Step,
    label: &str,
    load: Load,
    hold: Duration,
    cooldown: Duration,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(step.label.as_str(), label);
    prop_assert_eq!(&step.load, &load);
    prop_assert_eq!(step.hold, hold);
    prop_assert_eq!(step.cooldown, cooldown);
    Ok(())
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn capacity(users in prop::collection::btree_set(1u32..2000, 1..7), hold in 1u64..3600, ramp_pct in 0u64..=100, cooldown in 0u64..600) {
        // A sweep goes up: the counts are distinct and in order.
        let users: Vec<u32> = users.into_iter().collect();
        let ramp = hold * ramp_pct / 100;
        let source = format!("kind = \"capacity\"\nusers = [{}]\nhold = \"{hold}s\"\nramp = \"{ramp}s\"\nwarmup = \"{ramp}s\"\ncooldown = \"{cooldown}s\"\n{REQUEST}", list(&users));
        let plan = load(&source).unwrap();
        check_timeline(&plan)?;
        prop_assert_eq!(plan.steps.len(), users.len());
        for (i, (step, &n)) in plan.steps.iter().zip(&users).enumerate() {
            let cool = if i + 1 == users.len() { Duration::ZERO } else { secs(cooldown) };
            check_step(step, &format!("{n} users"), Load::Closed { users: n }, secs(hold), cool)?;
            prop_assert_eq!((step.ramp, step.warmup), (secs(ramp), secs(ramp)));
        }
        let n = users.len() as u64;
        prop_assert_eq!(plan.total_duration(), secs(n * hold + (n - 1) * cooldown));
    }

    #[test]
    fn throughput_over_rates(rates in prop::collection::vec(1u32..5000, 1..6), hold in 1u64..3600, cooldown in 0u64..600, max_users in 1u32..5000) {
        let source = format!("kind = \"throughput\"\nrates = [{}]\nhold = \"{hold}s\"\ncooldown = \"{cooldown}s\"\nmax-users = {max_users}\n{REQUEST}", list(&rates));
        let plan = load(&source).unwrap();
        check_timeline(&plan)?;
        prop_assert_eq!(plan.steps.len(), rates.len());
        for (i, (step, &rate)) in plan.steps.iter().zip(&rates).enumerate() {
            let cool = if i + 1 == rates.len() { Duration::ZERO } else { secs(cooldown) };
            let load = Load::Open { rate_per_s: f64::from(rate), max_users, max_backlog: 10_000 };
            check_step(step, &format!("{rate}/s"), load, secs(hold), cool)?;
        }
    }

    #[test]
    fn throughput_over_think_times(users in 1u32..1000, thinks in prop::collection::vec(0u64..120, 1..6), hold in 1u64..3600, cooldown in 0u64..600) {
        let quoted: Vec<String> = thinks.iter().map(|t| format!("\"{t}s\"")).collect();
        let source = format!("kind = \"throughput\"\nusers = {users}\nthink = [{}]\nhold = \"{hold}s\"\ncooldown = \"{cooldown}s\"\n{REQUEST}", quoted.join(", "));
        let plan = load(&source).unwrap();
        check_timeline(&plan)?;
        prop_assert_eq!(plan.steps.len(), thinks.len());
        for (step, &think) in plan.steps.iter().zip(&thinks) {
            prop_assert_eq!(&step.load, &Load::Closed { users });
            let expected = if think == 0 { Think::None } else { Think::Fixed(secs(think)) };
            prop_assert_eq!(step.think, Some(expected));
        }
    }

    #[test]
    fn burst(base in 1u32..500, burst in 1u32..5000, shape in 0u8..3, before in 1u64..600, burst_for in 1u64..600, after in 1u64..600) {
        let burst_key = ["burst-users", "burst-rate", "burst-requests"][usize::from(shape)];
        let source = format!("kind = \"burst\"\nusers = {base}\nbefore = \"{before}s\"\n{burst_key} = {burst}\nburst-for = \"{burst_for}s\"\nafter = \"{after}s\"\n{REQUEST}");
        let plan = load(&source).unwrap();
        check_timeline(&plan)?;
        prop_assert_eq!(plan.steps.len(), 3);
        let baseline = Load::Closed { users: base };
        let burst_load = match shape {
            0 => Load::Closed { users: burst },
            1 => Load::Open { rate_per_s: f64::from(burst), max_users: 1000, max_backlog: 10_000 },
            _ => Load::Burst { requests: burst },
        };
        check_step(&plan.steps[0], "before", baseline.clone(), secs(before), Duration::ZERO)?;
        check_step(&plan.steps[1], "burst", burst_load, secs(burst_for), Duration::ZERO)?;
        check_step(&plan.steps[2], "recovery", baseline, secs(after), Duration::ZERO)?;
        prop_assert_eq!(plan.total_duration(), secs(before + burst_for + after));
    }

    #[test]
    fn soak(users in 1u32..2000, hours in 0u64..24, minutes in 1u64..60, rate in prop::option::of(1u32..1000)) {
        let load_key = match rate { Some(r) => format!("rate = {r}"), None => format!("users = {users}") };
        let source = format!("kind = \"soak\"\n{load_key}\nduration = \"{hours}h {minutes}m\"\n{REQUEST}");
        let plan = load(&source).unwrap();
        check_timeline(&plan)?;
        let expected = match rate {
            Some(r) => Load::Open { rate_per_s: f64::from(r), max_users: 1000, max_backlog: 10_000 },
            None => Load::Closed { users },
        };
        prop_assert_eq!(plan.steps.len(), 1);
        prop_assert_eq!(&plan.steps[0].load, &expected);
        prop_assert_eq!(plan.total_duration(), secs(hours * 3600 + minutes * 60));
    }
}
