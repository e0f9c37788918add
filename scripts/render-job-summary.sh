#!/usr/bin/env bash
# Renders the GitHub job summary a run writes, the way GitHub shows it, to
# docs/job-summary.png: a real multi-process run (the scenario of tests/trace_file.rs: work
# on threads, a child process that inherits the context, a failure whose error text holds
# Markdown and HTML) appends its section to a GITHUB_STEP_SUMMARY file; a GitHub-flavoured
# Markdown renderer (markdown-it-py, installed into a throwaway virtualenv, never a
# dependency of the crates) turns it into HTML; headless Chromium takes the screenshot.
#
# Needs: cargo, python3, and Chromium (Debian: apt-get install -y chromium).
# Usage: scripts/render-job-summary.sh [output.png]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/docs/job-summary.png}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The run: the test binary's root entry, as tests/trace_file.rs starts it.
cd "$root"
bin="$(cargo test --test trace_file --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "trace_file":
        print(m["executable"])')"
env -u TRUNK_API_TOKEN -u TRUNK_CHAIN_ID -u TRUNK_PARENT_EVENT_ID -u TRUNK_PARENT_SEQUENCE_KEY \
  TRUNK_TEST_TRACE_ROLE=root GITHUB_STEP_SUMMARY="$work/summary.md" \
  "$bin" --exact trace_process_entry --ignored --nocapture --test-threads=1 >/dev/null 2>&1
test -s "$work/summary.md"

# GitHub-flavoured Markdown (tables, raw HTML such as <details>) to HTML.
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet markdown-it-py
"$work/venv/bin/python" - "$work/summary.md" "$work/summary.html" <<'PY'
import sys
from markdown_it import MarkdownIt

md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
body = md.render(open(sys.argv[1], encoding="utf-8").read())
# Open the <details> block so that the screenshot shows the tree too.
body = body.replace("<details>", "<details open>")
page = f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
       font-size: 14px; line-height: 1.5; color: #1f2328; background: #fff; margin: 0; }}
.box {{ max-width: 1060px; margin: 24px auto; border: 1px solid #d1d9e0; border-radius: 6px;
        padding: 16px 32px; }}
.title {{ font-weight: 600; color: #59636e; border-bottom: 1px solid #d1d9e0;
          margin: -16px -32px 16px; padding: 12px 32px; background: #f6f8fa; }}
h3 {{ font-size: 1.25em; margin: 16px 0; }}
table {{ border-collapse: collapse; margin: 0 0 16px; }}
th, td {{ border: 1px solid #d1d9e0; padding: 6px 13px; }}
tr:nth-child(2n) td {{ background: #f6f8fa; }}
th {{ font-weight: 600; }}
code, pre {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
             font-size: 12px; }}
pre {{ background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; }}
summary {{ cursor: pointer; margin-bottom: 8px; }}
</style></head><body><div class="box"><div class="title">ci summary</div>
{body}
</div></body></html>"""
open(sys.argv[2], "w", encoding="utf-8").write(page)
PY

chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$work/profile" --hide-scrollbars \
  --screenshot="$out" --window-size=1200,1000 "file://$work/summary.html" >/dev/null 2>&1
echo "wrote $out ($(wc -c <"$out") bytes)"
