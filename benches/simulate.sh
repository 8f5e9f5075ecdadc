#!/usr/bin/env bash
# End-to-end timing of the what-if simulation against issue 5's targets:
#   1. 200 runs of a 13-week projection of the demo ledger (standard against
#      strict), 3 times: target "a few seconds";
#   2. one run and RUNS runs of a 13-week projection of a generated ledger of
#      CUSTOMERS customers (standard against lenient): target, 20 runs of
#      100,000 customers under 2 minutes.
#   benches/simulate.sh [CUSTOMERS] [RUNS]      (defaults: 100000 customers, 20 runs)
# Prints each command's wall time, CPU time and peak memory (/usr/bin/time),
# and the load average before and after: on a shared machine, quote figures
# taken when the load is that of the commands alone (about 2 on 2 cores).
# The ledger is generated once under target/bench-data/ (or $BENCH_DATA);
# the binary comes from $CARGO_TARGET_DIR when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-20}
as_of=2026-11-16
bin=${CARGO_TARGET_DIR:-target}/release/recoup
data=${BENCH_DATA:-target/bench-data}
dir=$data/ledger-$n
out=$data/simulate-out
cargo build --release --quiet --bin recoup
if [ ! -f "$dir/actions.csv" ]; then
  "$bin" generate --customers "$n" --seed 7 --as-of "$as_of" --out "$dir"
fi
echo "$(nproc) cores, RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-all}; load: $(cut -d' ' -f1-3 /proc/loadavg)"
timed() { # label, target seconds, command...
  local label=$1 target=$2; shift 2
  local t
  t=$( { /usr/bin/time -f '%e %U %S %M' "$@" >/dev/null; } 2>&1 | tail -1)
  read -r wall user sys kb <<<"$t"
  local verdict=""
  if [ "$target" != - ]; then
    verdict=$(python3 -c "print('met' if $wall < $target else 'NOT met')")
    verdict=" — target under ${target}s: $verdict"
  fi
  echo "$label: ${wall}s wall, ${user}s user + ${sys}s sys, $((kb / 1024)) MB peak$verdict"
}
simulate() { # label, target, ledger, variant, runs
  timed "$1" "$2" "$bin" simulate --ledger "$3" --as-of "$as_of" --baseline policies/standard \
    --variant "policies/$4" --out "$out" --horizon 13w --runs "$5" --seed 42 --quiet
}
for i in 1 2 3; do
  simulate "demo, 200 runs ($i)" 5 fixtures/demo strict 200
done
simulate "$n customers, 1 run" - "$dir" lenient 1
target=-
if [ "$n" = 100000 ] && [ "$runs" = 20 ]; then target=120; fi
simulate "$n customers, $runs runs" "$target" "$dir" lenient "$runs"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
