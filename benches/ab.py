#!/usr/bin/env python3
"""A/B wall time of two recoup builds on one ledger, runs alternated.

    benches/ab.py BASE_BIN BASE_POLICY NEW_BIN NEW_POLICY LEDGER [RUNS] [-- EXTRA NEW FLAGS]

Runs `recoup run --quiet` of the base build and of the new build by turns,
RUNS times each (default 31), on a machine as quiet as you can make it, and
prints for each: the median wall time, a trimmed mean (the middle 60 %), the
fastest run and the median CPU (user + sys), with the new build's difference
from the base. Wall time is read with a monotonic clock (not /usr/bin/time's
hundredths). Flags after `--` go to the new build only (e.g. `--no-outbox`
against a base that had no outbox). This is how the standing 5 % budget of
`recoup run` at 100,000 customers is checked (docs/performance.md).
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

args = sys.argv[1:]
extra = []
if "--" in args:
    i = args.index("--")
    args, extra = args[:i], args[i + 1:]
if len(args) < 5:
    sys.exit(__doc__)
base_bin, base_policy, new_bin, new_policy, ledger = args[:5]
runs = int(args[5]) if len(args) > 5 else 31
tmp = tempfile.mkdtemp(prefix="recoup-ab-")


def one(cmd, out):
    shutil.rmtree(out, ignore_errors=True)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd + ["--out", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def trimmed(v):
    v = sorted(v)
    k = len(v) // 5
    return statistics.mean(v[k:len(v) - k])


as_of = os.environ.get("AS_OF", "2026-11-16")
common = ["run", "--quiet", "--ledger", ledger, "--as-of", as_of]
results = {"base": [], "new": []}
try:
    for _ in range(runs):
        results["base"].append(one([base_bin] + common + ["--policy", base_policy], os.path.join(tmp, "base")))
        results["new"].append(one([new_bin] + common + ["--policy", new_policy] + extra, os.path.join(tmp, "new")))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
b = results["base"]
bw, bt, bc = statistics.median(w for w, _ in b), trimmed([w for w, _ in b]), statistics.median(c for _, c in b)
print(f"{runs} runs each, alternated; load average {os.getloadavg()[0]:.2f} at the end")
for name, v in results.items():
    w = [x for x, _ in v]
    c = [y for _, y in v]
    print(
        f"{name:5} wall median {statistics.median(w):.3f} s ({statistics.median(w) / bw - 1:+.1%})"
        f"  trimmed mean {trimmed(w):.3f} s ({trimmed(w) / bt - 1:+.1%})  fastest {min(w):.3f} s"
        f"  CPU median {statistics.median(c):.3f} s ({statistics.median(c) / bc - 1:+.1%})"
    )
