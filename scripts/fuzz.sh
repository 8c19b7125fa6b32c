#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/: clang, ASan + UBSan) in build-fuzz/ and runs each on its
# committed seed corpus (fuzz/corpus/<target>/), one target at a time.
#   scripts/fuzz.sh                 FUZZ_RUNS executions per target (default 1000000), each run
#                                   stopped after FUZZ_MAX_SECONDS (default: none) if sooner
#   scripts/fuzz.sh --smoke         FUZZ_SECONDS seconds per target (default 4): the CI run
#   scripts/fuzz.sh [...] NAME...   only those targets (args config_json safetensors
#                                   safetensors_index torch_zip tokenizers)
# New inputs the fuzzer finds go to build-fuzz/corpus/<target>/ (the committed seeds stay as
# they are); a crash is written to build-fuzz/crashes/ and fails the script. Each target's
# summary line ("Done N runs in S second(s)") is printed for bench/fuzz.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=runs
targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) mode=smoke ;;
    -*) echo "usage: scripts/fuzz.sh [--smoke] [TARGET...]" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(args config_json safetensors safetensors_index torch_zip tokenizers)
cxx=${FUZZ_CXX:-clang++-14}
command -v "$cxx" >/dev/null || { echo "[fuzz] $cxx not found (Debian: apt-get install clang-14)" >&2; exit 2; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
dir="$root/build-fuzz"
cmake -S "$root" -B "$dir" "${generator[@]}" "${launcher[@]}" -DCMAKE_CXX_COMPILER="$cxx" -DUSPDIT_FUZZ=ON \
  ${USPDIT_CMAKE_ARGS:-} >/dev/null
cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target $(printf 'fuzz_%s ' "${targets[@]}")
# Every ASan/UBSan finding is fatal. libFuzzer's own leak check (an input that leaves memory
# allocated) stays on.
export ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$dir/crashes"
for t in "${targets[@]}"; do
  work="$dir/corpus/$t"
  mkdir -p "$work"
  if [ "$mode" = smoke ]; then
    budget=(-max_total_time="${FUZZ_SECONDS:-4}")
  else
    budget=(-runs="${FUZZ_RUNS:-1000000}")
    [ -z "${FUZZ_MAX_SECONDS:-}" ] || budget+=(-max_total_time="$FUZZ_MAX_SECONDS")
  fi
  # Flags and prompts are short; files need room for a header and a few tensors.
  case "$t" in args) max_len=512 ;; tokenizers) max_len=1024 ;; *) max_len=4096 ;; esac
  log="$dir/fuzz_$t.log"
  start=$SECONDS
  if ! "$dir/fuzz/fuzz_$t" "${budget[@]}" -max_len="$max_len" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$dir/crashes/$t-" "$work" "$root/fuzz/corpus/$t" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "[fuzz] $t: FAILED (input in $dir/crashes/, log $log)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "[fuzz] $t: $runs executions in $((SECONDS - start)) s, no finding"
done
