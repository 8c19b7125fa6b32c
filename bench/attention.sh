#!/usr/bin/env bash
# Reproduces bench/attention.md: USP attention on CPU at 1, 2 and 4 ranks (one thread per rank)
# and the 1-rank × 2-thread run that 2 ranks × 1 thread is compared against.
# Usage: bench/attention.sh [extra bench-attn flags]   (builds first; prints everything)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$root/scripts/build.sh" >/dev/null
bin="$root/build/uspdit"
shape=(--seq-len "${SEQ_LEN:-4096}" --heads "${HEADS:-16}" --head-dim "${HEAD_DIM:-64}" --iters "${ITERS:-5}" --warmup 1 --verify)
mpi=(mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1)

run() {  # label, ranks, threads, degrees...
  local label=$1 np=$2 threads=$3; shift 3
  echo "=== $label: $np rank(s) × $threads thread(s) $*"
  if [ "$np" = 1 ]; then
    OMP_NUM_THREADS=$threads "$bin" bench-attn "${shape[@]}" --threads "$threads" "$@"
  else
    "${mpi[@]}" -np "$np" -x OMP_NUM_THREADS=1 "$bin" bench-attn "${shape[@]}" --threads "$threads" "$@"
  fi
}

run "single rank" 1 1
run "single rank, 2 threads" 1 2
run "Ulysses 2" 2 1 --ulysses-degree 2
run "Ring 2" 2 1 --ring-degree 2
run "Ulysses 4" 4 1 --ulysses-degree 4
run "Ring 4" 4 1 --ring-degree 4
run "USP 2x2" 4 1 --ulysses-degree 2 --ring-degree 2
run "USP 2x2, joint text 256 (split)" 4 1 --ulysses-degree 2 --ring-degree 2 --text-len 256 --text-padding 56 --joint-strategy split
run "USP 2x2, joint text 77 (front)" 4 1 --ulysses-degree 2 --ring-degree 2 --text-len 77 --text-padding 20 --joint-strategy front
