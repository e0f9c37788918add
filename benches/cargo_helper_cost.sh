#!/usr/bin/env bash
# What one compiled unit costs when cargo's work is recorded: the helper cargo runs as
# `RUSTC_WRAPPER` (the `trunk-ci-analytics` binary, release build) starts, appends a start
# line, runs the compiler, waits for it and appends an end line. Measured with a compiler
# that does nothing (`true`), so only the helper is left: N runs through the helper against
# N runs of `true` alone, inside a real recording (`exec` of a stand-in for cargo, which is
# what gives the helper its run directory).
#
#   bash benches/cargo_helper_cost.sh [runs]
set -euo pipefail
runs=${1:-500}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && cargo build -q --release -p trunk-ci-analytics-cli)
cli="$repo/target/release/trunk-ci-analytics"

# A stand-in for cargo: `exec` records it as cargo (its file name) and hands it the helper
# in RUSTC_WRAPPER; it runs the compiler both ways, as cargo would for a unit.
mkdir "$work/bin"
cat >"$work/bin/cargo" <<'SCRIPT'
#!/usr/bin/env bash
set -euo pipefail
runs=$1
compiler=$(type -P true) # the program, not the shell builtin
t0=$(date +%s%N)
for _ in $(seq "$runs"); do CARGO_CRATE_NAME=unit "$compiler" --crate-name unit; done
t1=$(date +%s%N)
for _ in $(seq "$runs"); do CARGO_CRATE_NAME=unit "$RUSTC_WRAPPER" "$compiler" --crate-name unit; done
t2=$(date +%s%N)
awk -v n="$runs" -v a="$((t1 - t0))" -v b="$((t2 - t1))" \
  'BEGIN { printf "compiler alone %.3f ms, through the helper %.3f ms: %.3f ms per unit\n", a / n / 1e6, b / n / 1e6, (b - a) / n / 1e6 }'
SCRIPT
chmod +x "$work/bin/cargo"
TRUNK_CI_ANALYTICS_LOG=error "$cli" exec -- "$work/bin/cargo" "$runs"
