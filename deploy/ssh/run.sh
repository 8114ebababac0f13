#!/usr/bin/env bash
# One run split over the hosts given, by plain ssh: each host runs one segment starting at the
# same instant, then the records are copied back and merged here.
#   deploy/ssh/run.sh scenarios/smoke.toml host1 host2 host3
# Each host needs the stampede binary on its PATH and the same scenario file (copied here).
set -euo pipefail
scenario=$1; shift
hosts=("$@")
n=${#hosts[@]}
start_at=$(date -u -d '+30 sec' +%Y-%m-%dT%H:%M:%SZ)
remote_dir=stampede-$start_at
for i in "${!hosts[@]}"; do
  host=${hosts[$i]}
  ssh "$host" mkdir -p "$remote_dir"
  scp -q "$scenario" "$host:$remote_dir/scenario.toml"
  ssh "$host" stampede run "$remote_dir/scenario.toml" --segment "$((i + 1))/$n" \
    --start-at "$start_at" --out "$remote_dir/results" -q &
done
wait
for i in "${!hosts[@]}"; do
  mkdir -p "segments/$((i + 1))"
  scp -qr "${hosts[$i]}:$remote_dir/results" "segments/$((i + 1))/"
done
stampede merge segments/* --out "merged-$start_at"
