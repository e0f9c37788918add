#!/usr/bin/env bash
# Cold-build cost of our facade in a build script, against what a user would pick instead
# to export spans: tracing + tracing-opentelemetry + opentelemetry-otlp (HTTP, reqwest
# blocking client, rustls). Each crate is built cold (own target dir, sources already
# fetched) with 2 jobs; the runs alternate so background load hits both alike.
#
#   bash benches/build_cost.sh [rounds]     # prints each time and the ratio
set -euo pipefail
rounds=${1:-1}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mk() { # name, build-dependencies, build.rs
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[build-dependencies]\n%s\n\n[workspace]\n' "$1" "$2" >"$work/$1/Cargo.toml"
  echo 'fn main() {}' >"$work/$1/src/main.rs"
  printf '%s\n' "$3" >"$work/$1/build.rs"
}

mk ours "trunk-ci-analytics = { path = \"$repo\" }" '
#[trunk_ci_analytics::track_event]
fn main() {
    step();
}

#[trunk_ci_analytics::track_event]
fn step() {}'

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

for c in ours otel; do (cd "$work/$c" && cargo fetch -q); done
declare -A total=([ours]=0 [otel]=0)
for r in $(seq "$rounds"); do
  for c in ours otel; do
    rm -rf "$work/$c/target"
    start=$(date +%s.%N)
    (cd "$work/$c" && cargo build -q -j2 --offline)
    t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    total[$c]=$(awk -v a="${total[$c]}" -v b="$t" 'BEGIN { print a + b }')
    printf 'round %d %-5s %6.1f s\n' "$r" "$c" "$t"
  done
done
awk -v a="${total[ours]}" -v b="${total[otel]}" 'BEGIN { printf "ours / tracing+opentelemetry-otlp = %.2f\n", a / b }'
