#!/usr/bin/env bash
# What adopting us costs a build script, side by side in one run.
#
# 1. Cold build of a crate whose build.rs records three events (main and two steps) with:
#      ours     trunk-ci-analytics, default features (`upload`: reqwest, rustls, tokio)
#      light    trunk-ci-analytics, default-features = false
#      tracing  tracing + tracing-subscriber (default features), the same three spans
#      otel     tracing + tracing-opentelemetry + opentelemetry-otlp (HTTP, reqwest blocking
#               client, rustls): what a user would otherwise pick to export spans
#    each with its own target dir (sources already fetched), `-j2`, `--offline`, the crates
#    alternating within a round so background load hits all alike; and the crates in each
#    tree (`cargo tree`, normal and build edges, the crate itself left out). TIMINGS=1 also
#    prints each build's slowest units (`cargo build --timings`).
# 2. The wall time of that build script's process, under an uploading parent
#    (`trunk-ci-analytics exec`, uploading to the loopback test server) and alone: `ours`
#    hands its events to exec, `light` too; alone, `ours` sends them itself and `light`
#    spools them. With
#    BASELINE=<a checkout of an earlier commit>, the `ours` script built against it runs under
#    exec too: what a build script cost before one uploader per run (it sends by itself).
#    Median of CHILD_RUNS (default 30) runs each, timed by the shell around the process.
#
#   bash benches/build_cost.sh [rounds] [crates...]     # default: 1 round of ours light tracing otel
set -euo pipefail
rounds=${1:-1}
shift || true
crates=("$@")
[ ${#crates[@]} -gt 0 ] || crates=(ours light tracing otel)
child_runs=${CHILD_RUNS:-30}
# As a dependency from crates.io is built: cargo compiles path dependencies (ours, here)
# incrementally, which costs a cold build a third more of the library's compile time, and
# registry ones never.
export CARGO_INCREMENTAL=0
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

mk() { # name, build-dependencies, build.rs
    mkdir -p "$work/$1/src"
    printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[build-dependencies]\n%s\n\n[workspace]\n' "$1" "$2" >"$work/$1/Cargo.toml"
    echo 'fn main() {}' >"$work/$1/src/main.rs"
    printf '%s\n' "$3" >"$work/$1/build.rs"
}

tracked='
#[trunk_ci_analytics::track_event]
fn main() {
    generate();
    probe();
}

#[trunk_ci_analytics::track_event(kind = "codegen")]
fn generate() {}

#[trunk_ci_analytics::track_event(kind = "probe")]
fn probe() {}'

mk ours "trunk-ci-analytics = { path = \"$repo\" }" "$tracked"
mk light "trunk-ci-analytics = { path = \"$repo\", default-features = false }" "$tracked"
if [ -n "${BASELINE:-}" ]; then
    mk baseline "trunk-ci-analytics = { path = \"$BASELINE\" }" "$tracked"
fi

mk tracing 'tracing = "0.1"
tracing-subscriber = "0.3"' '
fn main() {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    run();
}

#[tracing::instrument]
fn run() {
    generate();
    probe();
}

#[tracing::instrument]
fn generate() {}

#[tracing::instrument]
fn probe() {}'

mk otel 'tracing = "0.1"
tracing-subscriber = { version = "0.3", default-features = false, features = ["registry"] }
tracing-opentelemetry = { version = "0.34", default-features = false }
opentelemetry = { version = "0.33", default-features = false, features = ["trace"] }
opentelemetry_sdk = { version = "0.33", default-features = false, features = ["trace"] }
opentelemetry-otlp = { version = "0.33", default-features = false, features = ["http-proto", "reqwest-blocking-client", "reqwest-rustls", "trace"] }' '
use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::layer::SubscriberExt;

fn main() {
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build().unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("build"));
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
    step();
    let _ = provider.shutdown();
}

#[tracing::instrument]
fn step() {}'

# The crates of `$1`'s tree, itself left out.
tree_size() {
    (cd "$work/$1" && cargo tree -q --offline -e normal,build --prefix none) |
        awk '{print $1, $2}' | sort -u | awk 'END { print NR - 1 }'
}

# The slowest units of the last `--timings` build in `$1`.
slowest() {
    python3 - "$work/$1/target/cargo-timings/cargo-timing.html" <<'EOF'
import json, re, sys
html = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", html, re.S).group(1))
for u in sorted(units, key=lambda u: -u["duration"])[:12]:
    print(f'    {u["duration"]:6.2f} s  {u["name"]} {u["version"]} {u.get("target", "").strip()}')
EOF
}

all=("${crates[@]}")
[ -z "${BASELINE:-}" ] || all+=(baseline)
for c in "${all[@]}"; do (cd "$work/$c" && cargo fetch -q); done
declare -A total
for c in "${crates[@]}"; do total[$c]=0; done
timings=()
[ "${TIMINGS:-0}" != 1 ] || timings=(--timings)
for r in $(seq "$rounds"); do
    for c in "${crates[@]}"; do
        rm -rf "$work/$c/target"
        start=$(date +%s.%N)
        (cd "$work/$c" && cargo build -q -j2 --offline "${timings[@]}")
        t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
        total[$c]=$(awk -v a="${total[$c]}" -v b="$t" 'BEGIN { print a + b }')
        printf 'round %d %-8s %6.1f s\n' "$r" "$c" "$t"
        [ "${TIMINGS:-0}" != 1 ] || slowest "$c"
    done
done
echo "cold build, mean of $rounds round(s), and the crates of each tree:"
for c in "${crates[@]}"; do
    printf '  %-8s %6.1f s  %3d crates\n' "$c" "$(awk -v a="${total[$c]}" -v n="$rounds" 'BEGIN { print a / n }')" "$(tree_size "$c")"
done
if [ -n "${total[light]:-}" ] && [ -n "${total[tracing]:-}" ]; then
    awk -v a="${total[light]}" -v b="${total[tracing]}" 'BEGIN { printf "light / tracing = %.2f (target <= 1.5)\n", a / b }'
fi
if [ -n "${total[ours]:-}" ] && [ -n "${total[otel]:-}" ]; then
    awk -v a="${total[ours]}" -v b="${total[otel]}" 'BEGIN { printf "ours / tracing+opentelemetry-otlp = %.2f\n", a / b }'
fi

# 2. The build script's process under an uploading parent.
scripted=()
for c in ours light; do [ -d "$work/$c/target" ] && scripted+=("$c"); done
if [ ${#scripted[@]} -eq 0 ]; then exit 0; fi
if [ -n "${BASELINE:-}" ]; then
    (cd "$work/baseline" && cargo build -q -j2 --offline)
    scripted+=(baseline)
fi
target=${CARGO_TARGET_DIR:-$repo/target}
(cd "$repo" && cargo build -q -j2 -p trunk-ci-analytics-cli -p trunk-ci-analytics-testserver --bins)
cli=$target/debug/trunk-ci-analytics
"$target/debug/trunk-ci-analytics-testserver" >"$work/server.log" &
server_pid=$!
until grep -q '^listening on ' "$work/server.log" 2>/dev/null; do sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/server.log")
export TRUNK_API_TOKEN=test-token TRUNK_PUBLIC_API_ADDRESS=$url TRUNK_REPO=acme/widgets
export TRUNK_SPOOL_DIR=$work/spool
# Runs the build script of `$1` CHILD_RUNS times from a shell; prints the median in ms.
runs() {
    local script
    script=$(ls "$work/$1"/target/debug/build/"$1"-*/build-script-build | head -1)
    bash -c 'for _ in $(seq "$1"); do
        s=$(date +%s%N); "$2" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000))
    done' _ "$child_runs" "$script" |
        sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }'
}
export -f runs
export work child_runs
echo "a build script's process with 3 events, wall time, median of $child_runs runs (ms):"
echo "  (alone: ours and baseline send by themselves, light spools for a later flush)"
for c in "${scripted[@]}"; do
    under=$("$cli" exec --name bench -- bash -c 'runs "$1"' _ "$c" 2>/dev/null)
    printf '  %-8s under exec %7s ms   alone %7s ms\n' "$c" "$under" "$(runs "$c")"
done
