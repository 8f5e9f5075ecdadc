#!/usr/bin/env bash
# End-to-end timing on a generated ledger:
#   1. load + validate + derive facts (examples/load_timing)
#   2. `recoup run` with policies/standard, stage times from manifest.json:
#      without the outbox (`--no-outbox`, the budget's measure), then by default
#   3. the I/O floor (examples/io_floor): the same files read into typed rows
#      and an output of the run's size written and synced, nothing else; then
#      the ratio of the run's median to the floor's
#   benches/e2e.sh [CUSTOMERS] [RUNS]      (defaults: 100000 customers, 5 runs)
# Prints each run's wall time, CPU share and peak memory (/usr/bin/time -v),
# then the medians. The ledger is generated once under target/bench-data/
# (or $BENCH_DATA); binaries come from $CARGO_TARGET_DIR when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-5}
as_of=2026-11-16
bin=${CARGO_TARGET_DIR:-target}/release
dir=${BENCH_DATA:-target/bench-data}/ledger-$n
out=${BENCH_DATA:-target/bench-data}/out-$n
cargo build --release --quiet --bin recoup --example load_timing --example io_floor
if [ ! -f "$dir/actions.csv" ]; then
  "$bin"/recoup generate --customers "$n" --seed 7 --as-of "$as_of" --out "$dir"
fi
echo "ledger: $dir ($(du -shL "$dir" | cut -f1)), $(nproc) cores, RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-all}"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # label, command...
  local label=$1; shift
  local walls=() mems=()
  for i in $(seq "$runs"); do
    out_txt=$( { /usr/bin/time -v "$@" >/dev/null; } 2>&1 )
    wall=$(echo "$out_txt" | awk -F': ' '/Elapsed \(wall clock\)/ {split($2,t,":"); print t[1]*60+t[2]}')
    mem=$(echo "$out_txt" | awk -F': ' '/Maximum resident set size/ {print int($2/1024)}')
    cpu=$(echo "$out_txt" | awk -F': ' '/Percent of CPU/ {print $2}')
    extra=$(echo "$out_txt" | grep -E '^(load|floor) ' || true)
    local o=$out; [ "$label" = run+outbox ] && o=$out-outbox
    if [[ "$label" == run* ]] && [ -f "$o/manifest.json" ]; then
      extra=$(python3 -c "import json;m=json.load(open('$o/manifest.json'));print(' '.join(f'{k} {v} ms' for k,v in m['timings_ms']))")
    fi
    echo "$label run $i: ${wall}s wall, ${cpu} CPU, ${mem} MB peak — $extra"
    walls+=("$wall"); mems+=("$mem")
  done
  last_median=$(median "${walls[@]}")
  echo "$label median: ${last_median}s wall, $(median "${mems[@]}") MB peak ($n customers)"
}
measure load+facts "$bin"/examples/load_timing "$dir"
# The plan alone (`--no-outbox`), comparable with the figures before the
# outbox was on by default (docs/performance.md), then the default run.
measure run "$bin"/recoup run --quiet --no-outbox --ledger "$dir" --policy policies/standard --as-of "$as_of" --out "$out"
run_median=$last_median
measure run+outbox "$bin"/recoup run --quiet --ledger "$dir" --policy policies/standard --as-of "$as_of" --out "$out-outbox"
bytes=$(cat "$out"/plan.csv "$out"/plan.jsonl "$out"/worklist.csv "$out"/summary.json | wc -c)
measure floor "$bin"/examples/io_floor "$dir" "$out-floor" "$bytes"
floor_median=$last_median
echo "run / I/O floor: $(python3 -c "print(f'{$run_median / $floor_median:.2f}')")x (target <= 2.5x)"
