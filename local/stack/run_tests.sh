#!/usr/bin/env bash
# `make test`: the whole suite, in three parts.
# - The simulated-day tests (tests/integration/demo: whole trading days played at x180, their processes mostly
#   waiting on the simulated clock) run in the background from the start, which takes about ten minutes off.
# - Meanwhile the integration and unit tests run in the foreground.
# - The browser tests (tests/e2e) run last, alone: their few-second UI waits are not for a machine that is also
#   booting a demo's emulators.
# Every part must pass; the day tests' output is printed once they end.
# Usage: local/stack/run_tests.sh PYTEST
set -uo pipefail
pytest="$1"
days=tests/integration/demo
browser=tests/e2e
log=out/test/days.log
mkdir -p out/test
"$pytest" -q -p no:cacheprovider --basetemp=out/test/days-tmp "$days" >"$log" 2>&1 &
days_pid=$!
trap 'kill "$days_pid" 2>/dev/null; exit 130' INT TERM  # an interrupt stops every part, not just the current one
echo "== the simulated-day tests ($days) run in the background: $log"
"$pytest" -q tests --ignore="$days" --ignore="$browser"
rest=$?
echo "== waiting for the simulated-day tests ($days)"
wait "$days_pid"
day_rc=$?
cat "$log"
echo "== the browser tests ($browser)"
"$pytest" -q "$browser"
web=$?
if [ "$rest" -ne 0 ] || [ "$day_rc" -ne 0 ] || [ "$web" -ne 0 ]; then
    echo "make test FAILED: integration and unit tests exited $rest, simulated days $day_rc, browser $web" >&2
    exit 1
fi
echo "make test: every part passed"
