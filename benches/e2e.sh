#!/usr/bin/env bash
# End-to-end timing on a generated ledger: load + validate + derive facts.
#   benches/e2e.sh [CUSTOMERS] [RUNS]      (defaults: 100000 customers, 5 runs)
# Prints each run's wall time, CPU share and peak memory (/usr/bin/time -v),
# then the medians. The ledger is generated once under target/bench-data/.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-5}
as_of=2026-11-16
dir=target/bench-data/ledger-$n
cargo build --release --quiet --bin recoup --example load_timing
if [ ! -f "$dir/actions.csv" ]; then
  ./target/release/recoup generate --customers "$n" --seed 7 --as-of "$as_of" --out "$dir"
fi
echo "ledger: $dir ($(du -shL "$dir" | cut -f1)), $(nproc) cores, RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-all}"
walls=(); mems=()
for i in $(seq "$runs"); do
  out=$( { /usr/bin/time -v ./target/release/examples/load_timing "$dir" ; } 2>&1 )
  wall=$(echo "$out" | awk -F': ' '/Elapsed \(wall clock\)/ {split($2,t,":"); print t[1]*60+t[2]}')
  mem=$(echo "$out" | awk -F': ' '/Maximum resident set size/ {print int($2/1024)}')
  cpu=$(echo "$out" | awk -F': ' '/Percent of CPU/ {print $2}')
  stages=$(echo "$out" | grep '^load ')
  echo "run $i: ${wall}s wall, ${cpu} CPU, ${mem} MB peak — $stages"
  walls+=("$wall"); mems+=("$mem")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: $(median "${walls[@]}")s wall, $(median "${mems[@]}") MB peak (load + validate + facts, $n customers)"
