//! One part of a run split n ways: a load thread's part of its process, and (later) a process's
//! part of a run split across machines. One formula deals users, arrivals and sequence numbers,
//! so the parts always add up to the whole.

/// Part `index` of `count` equal parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub index: usize,
    pub count: usize,
}

impl Share {
    /// The whole: one part of one.
    pub const WHOLE: Share = Share { index: 0, count: 1 };

    /// This part's number of `total` items dealt round-robin (item `g` to part `g % count`):
    /// the parts add up to `total` and differ by at most one.
    pub fn of(self, total: u32) -> u32 {
        let (total, count, index) = (total as usize, self.count, self.index);
        (total / count + usize::from(index < total % count)) as u32
    }

    /// The run-wide number of this part's `local`-th item: parts hand out `index`,
    /// `index + count`, `index + 2 count`, ..., so numbers never collide and none is skipped
    /// once every part has handed out as many.
    pub fn global(self, local: u64) -> u64 {
        local * self.count as u64 + self.index as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_and_differ_by_at_most_one() {
        for count in 1..=16 {
            for total in 0..=1000u32 {
                let sizes: Vec<u32> = (0..count)
                    .map(|index| Share { index, count }.of(total))
                    .collect();
                assert_eq!(sizes.iter().sum::<u32>(), total, "{total} over {count}");
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "{total} over {count}: {sizes:?}");
            }
        }
    }

    #[test]
    fn global_numbers_interleave_without_collisions() {
        let count = 3;
        let mut seen: Vec<u64> = (0..count)
            .flat_map(|index| (0..4).map(move |local| Share { index, count }.global(local)))
            .collect();
        seen.sort();
        assert_eq!(seen, (0..12).collect::<Vec<_>>());
    }
}
