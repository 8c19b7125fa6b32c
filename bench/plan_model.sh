#!/usr/bin/env bash
# Measures what bench/plan_model.md compares the planner's predictions with: each rank's peak RSS
# (max over the stages of the bench JSON) and the median denoising step, for `uspdit generate` on
# the tiny Wan and HunyuanVideo fixtures and on real-width random-weight pipelines (few layers),
# on 1, 2 and 4 ranks, 1 thread per rank. Each configuration runs REPEATS times (default 2) and
# the minimum is kept: other processes on a shared machine only ever add time.
#   WAN_BIG  a tools/make_random_wan_checkpoint.py --size 1.3b --layers 2 --pipeline --t5-layers 2 dir
#   HV_BIG   a tools/make_random_hv_checkpoint.py dir (2 double + 2 single blocks, 4 Llama layers)
# Prints one line per run: label ranks mesh peak_rss_bytes(rank 0..) median_step_s (appended to
# $OUT/runs.jsonl), or the preflight's refusal. The predictions: the same generate lines with
# --max-memory-gib 0.001 (refused before loading, with the predicted peaks); bench/plan_model.md.
# env: USPDIT_BIN (build/uspdit), OUT (out/plan_model), REPEATS, SKIP_BIG=1, RANKS ("1 2 4")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bin=${USPDIT_BIN:-$root/build/uspdit}
out=${OUT:-$root/out/plan_model}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpi=(mpirun --oversubscribe --bind-to none --mca btl self,vader,tcp --mca mpi_yield_when_idle 1)
prompt="A cat walks on the grass, realistic style."

run() {  # label, ranks, args...
  local label=$1 np=$2; shift 2
  for rep in $(seq "${REPEATS:-2}"); do
    rm -rf "$tmp/r"
    timeout 900 "${mpi[@]}" -np "$np" -x OMP_NUM_THREADS=1 "$bin" generate --no-progress --threads 1 \
      --bench_output "$tmp/r" --save_file "$tmp/v.mp4" "$@" >"$tmp/log" 2>&1 || {
      # the memory preflight refusing a run this machine cannot hold is a result, not a failure
      if grep -q "not enough memory" "$tmp/log"; then
        echo "$label $np refused: $(grep -m1 -o 'predicted peak [^;]*' "$tmp/log")"; return 0
      fi
      cat "$tmp/log"; exit 1; }
    python3 - "$label" "$np" "$tmp/r" "$out/runs.jsonl" <<'PY'
import json, pathlib, statistics, sys
label, np, res, sink = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3]), sys.argv[4]
doc = json.loads(next(res.glob("*.json")).read_text())
peaks = [max(s["peak_rss_bytes"] for s in r["stages"]) for r in doc["ranks"]]
steps = [t for run in doc.get("step_seconds", []) for t in run] or [doc["summary"]["step_seconds_median"]]
rec = {"label": label, "ranks": np, "mesh": doc["config"]["mesh"], "peak_rss_bytes": peaks,
       "step_seconds": statistics.median(steps)}
print(label, np, rec["mesh"], " ".join(f"{p / 2**30:.3f}GiB" for p in peaks), f"{rec['step_seconds']:.3f}s")
open(sink, "a").write(json.dumps(rec) + "\n")
PY
  done
}

wan_tiny=(--ckpt_dir "$root/tests/data/wan_t2v/original" --prompt "$prompt" --size 64*48 --frame_num 9
          --sample_steps 2 --base_seed 42 --dtype fp32 --text-dtype fp32)
hv_tiny=(--model-base "$root/tests/data/hv_t2v/original" --prompt "$prompt" --video-size 48 48 --video-length 17
         --infer-steps 2 --seed 42 --precision fp32 --vae-precision fp32 --text-encoder-precision fp32)
for np in ${RANKS:-1 2 4}; do
  # the tiny DiTs have 2 heads: Ulysses 2, Ring for the rest
  u=$((np > 1 ? 2 : 1)) r=$((np > 1 ? np / 2 : 1))
  run wan-tiny "$np" "${wan_tiny[@]}" --ulysses_degree "$u" --ring_degree "$r"
  run hv-tiny "$np" "${hv_tiny[@]}" --ulysses-degree "$u" --ring-degree "$r"
done
if [ "${SKIP_BIG:-0}" != 1 ]; then
  wan_big=(--ckpt_dir "${WAN_BIG:-/tmp/planner_wan13b}" --prompt "$prompt" --size 256*256 --frame_num 9
           --sample_steps 2 --base_seed 42 --dtype bf16 --text-dtype bf16 --warmup_steps 1)
  hv_big=(--model-base "${HV_BIG:-/tmp/hv_pipeline}" --prompt "$prompt" --video-size 256 256 --video-length 9
          --infer-steps 2 --seed 42 --vae-precision fp32 --warmup-steps 1)
  for np in ${RANKS:-1 2 4}; do
    # Ulysses over every rank (12 and 24 heads divide by 1, 2, 4)
    run wan-1.3b-2layers "$np" "${wan_big[@]}" --ulysses_degree "$np"
    run hv-2+2blocks "$np" "${hv_big[@]}" --ulysses-degree "$np"
  done
fi
