#!/usr/bin/env bash
# The test run of `npm test`: every file except the VM ones in parallel, then the VM files one at
# a time; ends with one plain "N passed, N failed" line. With arguments it is plain `vitest run ARGS`.
set -u
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then exec npx vitest run "$@"; fi
out=.test-results
rm -rf "$out"; mkdir -p "$out"
RB_TEST_SET=unit npx vitest run --reporter=default --reporter=json --outputFile="$out/unit.json"; unit=$?
RB_TEST_SET=vm npx vitest run --reporter=default --reporter=json --outputFile="$out/vm.json"; vm=$?
node scripts/test-summary.cjs "$unit" "$out/unit.json" "$vm" "$out/vm.json"
[ $unit = 0 ] && [ $vm = 0 ]
