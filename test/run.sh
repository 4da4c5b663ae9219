#!/usr/bin/env bash
# The test command (npm test; npm run test:store with its folders): the test files under the folders given (by default
# every one but the kernel's, which npm run test:kernel runs as root), two at a time, each in a database of its own
# (test/helpers/isolate-db.ts); then the files that judge time (they say `@serial`: latencies, deadlines, budgets) one
# at a time, when no other file's work can be taken for theirs. Both groups run; the command fails if either did.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- test; fi
mapfile -t files < <(find "$@" -name '*.test.ts' -not -path 'test/kernel/*' | sort -u)
together=()
alone=()
for f in "${files[@]}"; do
  if grep -q '@serial' "$f"; then alone+=("$f"); else together+=("$f"); fi
done
run() { node --import tsx --import ./test/helpers/isolate-db.ts --test "$@"; }
rc=0
if [ ${#together[@]} -gt 0 ]; then run --test-concurrency="${TEST_CONCURRENCY:-2}" "${together[@]}" || rc=$?; fi
if [ ${#alone[@]} -gt 0 ]; then run --test-concurrency=1 "${alone[@]}" || rc=$?; fi
exit $rc
