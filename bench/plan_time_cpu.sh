#!/usr/bin/env bash
# The planner's CPU time check (issue 14, bench/plan_model.md "Time on this machine"): calibrates
# this machine's rates (`plan --gpu cpu --calibrate`), then measures a real-width Wan 1.3B DiT step
# (2 blocks, 256x256x9, CFG as batch 2, bf16, 1 thread per rank) with `uspdit bench dit` on 1 rank
# and on 2 ranks (Ulysses 2), REPEATS times each (default 3; the minimum is kept: other processes
# only add time), and prints predicted against measured. Needs a quiet machine: 2 ranks x 1
# thread on 2 cores share them with anything else that runs.
# env: USPDIT_BIN (build/uspdit), REPEATS
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
bin=${USPDIT_BIN:-$root/build/uspdit}
mpi=(mpirun --oversubscribe --bind-to none --mca btl self,vader,tcp --mca mpi_yield_when_idle 1 -x OMP_NUM_THREADS)
shape=(--layers 2 --height 256 --width 256)

predicted() {  # ranks, calibrate flag -> seconds per step of the Ulysses-over-every-rank row
  "$bin" plan --model wan2.1-t2v-1.3b "${shape[@]}" --num_frames 9 --cfg --gpu cpu --gpus-per-node "$1" \
    --json $2 | python3 -c '
import json, sys
doc = json.load(sys.stdin)
u = int(sys.argv[1])
row = next(c for c in doc["configurations"] if c["ulysses_degree"] == u and c["cfg_degree"] == 1)
print("%.3f" % row["step_seconds"])' "$1"
}

measured() {  # ranks -> the fastest of REPEATS step times, seconds
  local times=""
  for _ in $(seq "${REPEATS:-3}"); do
    times+=" $("${mpi[@]}" -np "$1" "$bin" bench dit "${shape[@]}" --num-frames 9 --batch 2 --dtype bf16 \
      --threads 1 --iters 3 --warmup 1 --ulysses-degree "$1" | sed -n 's/^step time: \([0-9.]*\) ms.*/\1/p')"
  done
  python3 -c "import sys; print(f'{min(map(float, sys.argv[1:])) / 1e3:.3f}')" $times
}

predicted 1 --calibrate >/dev/null  # measure the rates once, on this quiet machine
echo "ranks predicted_s measured_s error"
for np in 1 2; do
  p=$(predicted "$np" "") m=$(measured "$np")
  python3 -c "print($np, $p, $m, f'{100 * ($p / $m - 1):+.0f}%')"
done
echo "rates (threads dtype_bytes gemm attention elementwise):"; tail -1 "${XDG_CACHE_HOME:-$HOME/.cache}/uspdit/cpu_rates3"
