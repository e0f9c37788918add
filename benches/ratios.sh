#!/usr/bin/env bash
# Runs the overhead benchmark once and prints every case as a ratio of fastrace's and
# tracing's per-span cost from that same run (absolute times on shared machines are noise).
#
#   bash benches/ratios.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p trunk-ci-analytics-benches --bench overhead -- --noplot "$@" >&2
python3 - <<'PY'
import json, os
base = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
def ns(group, case):
    with open(os.path.join(base, group, case, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]
call = {c: ns("call", c) for c in ["plain", "track_event_disabled", "track_event", "tracing", "fastrace"]}
print(f"{'case':28} {'ns/call':>8} {'÷fastrace':>10} {'÷tracing':>9}")
for c, v in call.items():
    print(f"call/{c:23} {v:8.2f} {v / call['fastrace']:10.2f} {v / call['tracing']:9.2f}")
print(f"disabled - plain: {call['track_event_disabled'] - call['plain']:+.2f} ns")
p = ns("paced", "track_event")
print(f"paced/track_event             {p:8.2f} {p / call['fastrace']:10.2f} {p / call['tracing']:9.2f}")
for g in ["depth3", "two_threads"]:
    d = {c: ns(g, c) for c in ["track_event", "tracing", "fastrace"]}
    for c, v in d.items():
        print(f"{g}/{c:21} {v:8.2f} {v / d['fastrace']:10.2f} {v / d['tracing']:9.2f}")
PY
