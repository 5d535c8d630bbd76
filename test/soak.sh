#!/usr/bin/env bash
# make test-soak: the e2e packages SOAK_ROUNDS times (default 3) while a
# bounded load generator keeps every CPU busy, then the number of failures of
# each test. A test that fails here fails on a loaded machine: fix it, never
# retry it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${SOAK_ROUNDS:-3}"
timeout_per_round="${SOAK_ROUND_TIMEOUT:-45m}"
logs="$(mktemp -d "${TMPDIR:-/tmp}/kp-soak-XXXXXX")"

# The load: one busy loop per CPU, each ended by the trap and bounded in time
# by itself, so nothing outlives the soak.
load_pids=()
stop_load() { for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_load EXIT
for _ in $(seq "$(nproc)"); do
  timeout "$(( rounds * 50 ))m" sh -c 'while :; do :; done' &
  load_pids+=("$!")
done
echo "soak: $rounds round(s) of the e2e packages with $(nproc) busy loop(s) beside them; logs in $logs"

failed_rounds=0
for round in $(seq "$rounds"); do
  start=$(date +%s)
  if go test -count=1 -timeout "$timeout_per_round" ./test/... >"$logs/round-$round.log" 2>&1; then
    echo "soak: round $round passed in $(( $(date +%s) - start ))s"
  else
    failed_rounds=$((failed_rounds + 1))
    echo "soak: round $round FAILED in $(( $(date +%s) - start ))s (log: $logs/round-$round.log)"
  fi
done

echo "soak: failures per test over $rounds round(s):"
if ! grep -ho -- '--- FAIL: [^ ]*' "$logs"/round-*.log | sed 's/--- FAIL: //' | sort | uniq -c | sort -rn; then
  echo "  none"
fi
echo "soak: $(( rounds - failed_rounds )) passed, $failed_rounds failed"
[ "$failed_rounds" -eq 0 ]
