#!/usr/bin/env bash
# Reproduces bench/hunyuan_t2v.md: per-stage times and per-stage peak memory of `uspdit generate`
# (HunyuanVideo text-to-video) on the CPU, from the benchmark JSON it writes (--bench_output).
#   1. the tiny fixture pipeline (tests/data/hv_t2v/original): 1 rank; 2 ranks Ulysses 2;
#      2 ranks CFG-parallel (--cfg-scale 3)
#   2. a real-width pipeline with random weights (Llama-3-8B widths with 4 layers, CLIP-L, a
#      2+2-block DiT at 3072/24 heads, the 884-16c-hy VAE), written once by
#      tools/make_random_hv_checkpoint.py into $BIG_DIR (default /tmp/hv_pipeline, ~6.4 GB):
#      1 rank × 2 threads and 2 ranks × 1 thread (Ulysses 2), 320×320, 9 frames, 2 steps,
#      bf16 DiT, fp16 text encoders, fp32 VAE (fp16 convolutions are slow on a CPU).
# env: SKIP_BUILD=1, SKIP_BIG=1, USPDIT_BIN, PYTHON (.venv-tools/bin/python)
source "$(dirname "$0")/common.sh"  # root, build, $tmp
cp "${USPDIT_BIN:-$root/build/uspdit}" "$tmp/uspdit"
py=${PYTHON:-$root/.venv-tools/bin/python}
mpi=(mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1)
echo "uspdit git $(git -C "$root" describe --always --dirty), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"

run() {  # label, ranks, threads, args...
  local label=$1 np=$2 threads=$3; shift 3
  echo "=== $label: $np rank(s) × $threads thread(s) (load $(cut -d' ' -f1 /proc/loadavg))"
  "${mpi[@]}" -np "$np" -x OMP_NUM_THREADS="$threads" "$tmp/uspdit" generate --no-progress --threads "$threads" \
    --bench_output "$tmp/results/$label" --save-file "$tmp/$label.mp4" "$@" 2>&1 | grep -v "^\[uspdit info" || true
  python3 - "$tmp/results/$label"/*.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{'stage':12} {'run':>3} {'seconds':>9}  peak GiB per rank   bytes sent per rank")
for i, s in enumerate(d["ranks"][0]["stages"]):
    peaks = " / ".join(f"{r['stages'][i]['peak_rss_bytes'] / 2**30:.2f}" for r in d["ranks"])
    sent = " / ".join(str(r["stages"][i]["bytes_sent"]) for r in d["ranks"])
    print(f"{s['name']:12} {s['repeat'] + 1:>3} {s['seconds']:9.3f}  {peaks:18} {sent}")
print("step seconds (median):", d["summary"]["step_seconds_median"])
PY
}

prompt="A cat walks on the grass, realistic style."
tiny=(--model-base "$root/tests/data/hv_t2v/original" --prompt "$prompt" --video-size 48 48 --video-length 17
      --infer-steps 4 --seed 42 --precision fp32 --vae-precision fp32 --text-encoder-precision fp32
      --warmup-steps 1 --n-repeats 3)
run tiny-1rank 1 1 "${tiny[@]}"
run tiny-ulysses2 2 1 "${tiny[@]}" --ulysses-degree 2
run tiny-cfg2 2 1 "${tiny[@]}" --cfg-scale 3 --use-cfg-parallel

if [ "${SKIP_BIG:-0}" != 1 ]; then
  big=${BIG_DIR:-/tmp/hv_pipeline}
  [ -f "$big/text_encoder/model.safetensors" ] || "$py" "$root/tools/make_random_hv_checkpoint.py" --out "$big"
  args=(--model-base "$big" --prompt "$prompt" --video-size 320 320 --video-length 9 --infer-steps 2 --seed 42
        --vae-precision fp32)
  run big-1rank 1 2 "${args[@]}"
  run big-ulysses2 2 1 "${args[@]}" --ulysses-degree 2
fi
