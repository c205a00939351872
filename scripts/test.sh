#!/usr/bin/env bash
# The whole test suite: set-up, type check, lint, unit tests, then the root-only integration
# tests that build real namespaces. Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

failed_steps=()
step() { local name=$1; shift; echo "== $name"; "$@" || failed_steps+=("$name"); }

step "typecheck" node_modules/.bin/tsc -p .
step "lint" node_modules/.bin/biome check src test testkit bench scripts

passed=0; failed=0
run_bun_tests() {
  local name=$1; shift
  local out; out=$(mktemp)
  echo "== $name"
  node_modules/.bin/bun test "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -Eo '^ *[0-9]+ pass$' "$out" | tail -1 | tr -dc 0-9); f=$(grep -Eo '^ *[0-9]+ fail$' "$out" | tail -1 | tr -dc 0-9)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" != 0 ] || [ -z "$p" ]; then failed_steps+=("$name"); fi
  rm -f "$out"
}

run_bun_tests "unit tests" src testkit bench
if [ "$(id -u)" = 0 ]; then
  # Two files at a time (every test builds its own namespaces, lab roots and ports; the slowest
  # start first, from timings.json); the files that assert how fast something happens run alone
  # afterwards, so a neighbour's load cannot stretch them.
  SERIAL=(agent-node-lifecycle agent-routes agent-etcd agent-readiness agent-dns pod-records ui-server-map
          store-sqlite store-watch-contract kernel-facts cni-add cluster-block-leases proxy-agent proxy-agent-resync)
  serial_files=(); for f in "${SERIAL[@]}"; do serial_files+=("test/integration/$f.test.ts"); done
  parallel_files=()
  for f in test/integration/*.test.ts; do [[ " ${serial_files[*]} " == *" $f "* ]] || parallel_files+=("$f"); done
  run_bun_tests "integration tests (two at a time)" --timeout 180000 --parallel=2 \
    --timings=test/integration/timings.json "${parallel_files[@]}"
  run_bun_tests "integration tests (timing-sensitive, alone)" --timeout 180000 "${serial_files[@]}"
else
  echo "integration tests need root (they build network namespaces): skipped"
  failed_steps+=("integration tests (not root)")
fi

echo
if ((${#failed_steps[@]})); then echo "failed steps: ${failed_steps[*]}"; fi
echo "tests: $passed passed, $failed failed"
[ ${#failed_steps[@]} = 0 ] && [ "$failed" = 0 ]
