#!/usr/bin/env bash
# beside.sh FIRST SECOND: run FIRST in the background while SECOND runs, then show FIRST's output; fail when either
# failed. `make test` runs mypy beside the suite: its half minute of one core fits in the time the browser journeys
# spend waiting, instead of adding to the suite's.
set -uo pipefail
output="$(mktemp)"
trap 'rm -f "$output"' EXIT
$1 > "$output" 2>&1 &
first=$!
$2
second=$?
wait "$first"
first_status=$?
echo "--- $1 (run beside $2):"
cat "$output"
if [ "$first_status" -ne 0 ] || [ "$second" -ne 0 ]; then
    exit 1
fi
