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

    /// This part's number of `total` users dealt two by two (users 2p and 2p+1, partners,
    /// to part `p % count`), so partners always share a part.
    pub fn of_paired(self, total: u32) -> u32 {
        let pairs = total / 2;
        let odd_one_here = total % 2 == 1 && pairs as usize % self.count == self.index;
        self.of(pairs) * 2 + u32::from(odd_one_here)
    }

    /// The run-wide number of this part's `local`-th user when users are dealt in pairs.
    pub fn global_paired(self, local: u64) -> u64 {
        2 * self.global(local / 2) + local % 2
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
    fn paired_users_add_up_and_partners_share_a_part() {
        for count in 1..=8 {
            for total in 0..=200u32 {
                let mut owner = vec![usize::MAX; total as usize];
                for index in 0..count {
                    let share = Share { index, count };
                    for local in 0..u64::from(share.of_paired(total)) {
                        let user = share.global_paired(local) as usize;
                        assert!(user < total as usize, "{user} of {total} over {count}");
                        assert_eq!(owner[user], usize::MAX, "{user} dealt twice");
                        owner[user] = index;
                    }
                }
                assert!(owner.iter().all(|&o| o != usize::MAX), "{total}/{count}");
                for pair in owner.chunks(2) {
                    assert!(pair.iter().all(|&o| o == pair[0]), "{total}/{count}");
                }
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
