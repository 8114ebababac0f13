//! One part of a run split n ways: a load thread's part of its process, and a process's part
//! of a run split across machines (`--segment i/n`). One formula deals users, arrivals, warm-up
//! requests and sequence numbers, so the parts always add up to the whole; a thread's part of a
//! segment is itself a `Share` of the run (`within`), so nothing downstream knows segments exist.

/// Part `index` of `count` equal parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub index: usize,
    pub count: usize,
}

impl Share {
    /// The whole: one part of one.
    pub const WHOLE: Share = Share { index: 0, count: 1 };

    /// Part `index` of this part split `count` ways, as a share of the whole. Items are dealt
    /// round-robin at both levels (item `g` to segment `g % n`, its `l`-th item `l = g / n` to
    /// thread `l % t`), which is the same as dealing item `g` to part `g % (n t)` numbered
    /// `segment + n * thread`: the threads of a segment hold exactly the segment's items, and
    /// every segment's arrivals interleave with the others'.
    pub fn within(self, inner: Share) -> Share {
        Share {
            index: self.index + self.count * inner.index,
            count: self.count * inner.count,
        }
    }

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
    fn a_segment_split_across_threads_holds_the_segments_items() {
        for segments in 1..=16 {
            for threads in 1..=4 {
                for total in [0u32, 1, 7, 50, 997, 1000] {
                    let mut sum = 0;
                    for s in 0..segments {
                        let segment = Share {
                            index: s,
                            count: segments,
                        };
                        let parts: u32 = (0..threads)
                            .map(|t| {
                                segment
                                    .within(Share {
                                        index: t,
                                        count: threads,
                                    })
                                    .of(total)
                            })
                            .sum();
                        assert_eq!(
                            parts,
                            segment.of(total),
                            "{total} {s}/{segments} x{threads}"
                        );
                        sum += parts;
                    }
                    assert_eq!(sum, total);
                }
            }
        }
        let fifty: Vec<u32> = (0..3)
            .map(|index| Share { index, count: 3 }.of(50))
            .collect();
        assert_eq!(fifty, [17, 17, 16]);
    }

    /// Users are numbered with `global` (a unique-per-vu data row is user `g`'s row): over every
    /// segment and thread the numbers are `0..users`, each once, so no two segments share a row.
    #[test]
    fn user_numbers_of_all_segments_are_the_plans_each_once() {
        for segments in [1, 2, 3, 7, 16] {
            for threads in [1, 2, 5] {
                let users = 103u32;
                let mut numbers: Vec<u64> = (0..segments)
                    .flat_map(|s| (0..threads).map(move |t| (s, t)))
                    .flat_map(|(s, t)| {
                        let part = Share {
                            index: s,
                            count: segments,
                        }
                        .within(Share {
                            index: t,
                            count: threads,
                        });
                        (0..u64::from(part.of(users))).map(move |l| part.global(l))
                    })
                    .collect();
                numbers.sort();
                assert_eq!(numbers, (0..u64::from(users)).collect::<Vec<_>>());
            }
        }
    }

    /// The open model's dispatcher takes arrivals `index, index + count, ...`: over every
    /// segment and thread the arrivals are each taken once, so the union is the plan's evenly
    /// spaced schedule.
    #[test]
    fn arrivals_of_all_segments_interleave_to_the_plan() {
        for segments in 1..=16 {
            for threads in [1, 3] {
                let planned = 1000u64;
                let mut taken = vec![0u8; planned as usize];
                for s in 0..segments {
                    for t in 0..threads {
                        let part = Share {
                            index: s,
                            count: segments,
                        }
                        .within(Share {
                            index: t,
                            count: threads,
                        });
                        let mut k = part.index as u64;
                        while k < planned {
                            taken[k as usize] += 1;
                            k += part.count as u64;
                        }
                    }
                }
                assert!(taken.iter().all(|&n| n == 1), "{segments} x {threads}");
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
