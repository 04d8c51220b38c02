#!/usr/bin/env bash
# Run the CI chain of examples/ci/judgekit-gate.yml locally on the example data: score -> gate.
#
# The judge is the scripted OpenAI-compatible test server (tests/server.py), started on 127.0.0.1 for the
# run: no API key, no model download, deterministic answers. With a real judge, replace
# "--judge openai/judge --api-base $URL" by e.g. "--judge openai/gpt-4o-mini --api-key-env OPENAI_API_KEY",
# or by "--judge local" (the bundled llama.cpp model, no key; needs judgekit[local] and is much slower).
#
# Usage (from anywhere):
#   examples/ci/run_gate_example.sh [OUT_DIR]       # outputs in OUT_DIR (default: a new temporary folder)
#   MAKE_BASELINE=1 examples/ci/run_gate_example.sh # rewrite examples/ci/baseline.json from the example data
#
# Environment:
#   JUDGEKIT_DEMO_PORT  port of the scripted judge (default 18765). The judge's identity includes its URL,
#                       so keep the port fixed: the committed baseline and the score cache refer to it.
#   JUDGEKIT_CACHE_DIR  the score cache folder (default ~/.cache/judgekit); keep it between runs and the
#                       second run makes zero judge calls.
#   PYTHON              the Python to use (default python3)
#
# Exit code: the gate's (0 pass, 1 a check failed, 2 usage or input error); 3 if the demo judge won't start.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
PORT="${JUDGEKIT_DEMO_PORT:-18765}"
OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/judgekit-gate-example.XXXXXX")}"
mkdir -p "$OUT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT"

judgekit() { "$PYTHON" -m judgekit "$@"; }

# --- 1. the demo judge (a real judge needs none of this) --------------------------------------------------
"$PYTHON" -m tests.server --port "$PORT" >"$OUT/judge-server.url" 2>"$OUT/judge-server.log" &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 1 100); do
  URL="$(head -n 1 "$OUT/judge-server.url" 2>/dev/null || true)"
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$URL" ]; then
  echo "run_gate_example: the scripted judge did not start on port $PORT:" >&2
  cat "$OUT/judge-server.log" >&2
  exit 3
fi
echo "judge: scripted test server at $URL"

# --- 2. score the candidate (the responses of the change under test) --------------------------------------
if [ "${MAKE_BASELINE:-0}" = "1" ]; then
  judgekit score --dataset examples/lamp_qa/dataset.json --responses examples/lamp_qa/responses.json \
    --judge openai/judge --api-base "$URL" --no-progress \
    --out examples/ci/baseline.json --log "$OUT/baseline.log.jsonl"
  echo "wrote examples/ci/baseline.json"
  exit 0
fi
judgekit score --dataset examples/lamp_qa/dataset.json --responses examples/lamp_qa/responses.json \
  --judge openai/judge --api-base "$URL" --no-progress --out "$OUT/candidate.json"

# --- 3. gate it against the stored baseline ----------------------------------------------------------------
set +e
judgekit gate --candidate "$OUT/candidate.json" --baseline examples/ci/baseline.json \
  --config examples/ci/judgekit-gate.yaml \
  --junit "$OUT/gate.xml" --summary "$OUT/gate.md" --json "$OUT/gate.json"
status=$?
set -e
echo "outputs: $OUT/{candidate.json,gate.xml,gate.md,gate.json}"
exit "$status"
