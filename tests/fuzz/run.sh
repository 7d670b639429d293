#!/usr/bin/env bash
# Runs every libFuzzer target for FUZZ_SECONDS (default 60) at once, one per
# core, and prints each one's exec count. The seed corpus in corpus/ stays
# read-only: new inputs go to build-fuzz/corpus/, crashes to
# build-fuzz/artifacts/. Exits non-zero if any target found something.
#   usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -uo pipefail
build=${1:?build dir}
seconds=${2:-${FUZZ_SECONDS:-60}}
here="$(cd "$(dirname "$0")" && pwd)"

pids=()
fuzzers=(request_fuzzer response_fuzzer)
for fuzzer in "${fuzzers[@]}"; do
  kind=${fuzzer%_fuzzer}
  mkdir -p "$build/corpus/$kind" "$build/artifacts"
  "$build/tests/fuzz/$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -dict="$here/http.dict" -artifact_prefix="$build/artifacts/$kind-" \
    "$build/corpus/$kind" "$here/corpus/$kind" >"$build/$fuzzer.log" 2>&1 &
  pids+=($!)
done

status=0
for i in "${!fuzzers[@]}"; do
  fuzzer=${fuzzers[$i]}
  wait "${pids[$i]}"
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$fuzzer.log")
  if [[ $rc -eq 0 ]]; then
    echo "fuzz: $fuzzer: ${execs:-?} execs in ${seconds}s, no findings"
  else
    status=1
    echo "fuzz: $fuzzer FAILED (exit $rc, ${execs:-?} execs); log: $build/$fuzzer.log" >&2
    grep -A40 -E 'fuzz invariant broken|ERROR: (AddressSanitizer|libFuzzer)|runtime error' \
      "$build/$fuzzer.log" | head -80 >&2
    ls "$build/artifacts/" | sed 's/^/  artifact: /' >&2
  fi
done
exit $status
