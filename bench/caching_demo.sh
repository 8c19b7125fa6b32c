#!/usr/bin/env bash
# Reproduces bench/caching.md's "quality" table: step caching on a TRAINED model — the demo model
# (models/demo-shapes-t2v, 64x64, 17 frames, 20 UniPC steps, CFG 5, fp32) — for each method at the
# given settings: forwards reused, denoise time, and the PSNR of the decoded video against the
# same prompt and seed without caching (float video before 8-bit rounding, --save_video_tensor),
# over PROMPTS prompt/seed pairs.
# env: SKIP_BUILD=1, USPDIT_BIN, PYTHON (.venv-tools/bin/python), PROMPTS (8), THREADS (2)
source "$(dirname "$0")/common.sh"  # root, build, $tmp
py=${PYTHON:-$root/.venv-tools/bin/python}
bin=${USPDIT_BIN:-$root/build/uspdit}
n=${PROMPTS:-8}
prompts=("a red circle moving right" "one blue square slides up" "the green triangle drifting left"
         "a yellow circle going down" "a magenta square moving left" "one cyan triangle slides right"
         "the red square drifting up" "a blue triangle going down")
echo "uspdit git $(git -C "$root" describe --always --dirty), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "demo model, $n prompt/seed pairs, defaults from its generate_defaults.json, ${THREADS:-2} threads, 1 rank"
printf "%-40s %15s %12s %10s %10s\n" method forwards_reused denoise_s psnr_db min_psnr
method() {  # label, extra args...
  local label=$1; shift
  mkdir -p "$tmp/$label"
  for i in $(seq 0 $((n - 1))); do
    "$bin" generate --no-progress --threads "${THREADS:-2}" --prompt "${prompts[$((i % 8))]}" --base_seed $((500 + i)) \
      --save_file "$tmp/$label/$i.mp4" --save_video_tensor "$tmp/$label/$i.safetensors" \
      --bench_output "$tmp/$label/results$i" "$@" >"$tmp/$label/$i.log" 2>&1
  done
  "$py" - "$tmp" "$label" "$n" <<'PY'
import glob, json, sys
import numpy as np
from safetensors.numpy import load_file
tmp, label, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
reused = forwards = 0
seconds, psnr = [], []
for i in range(n):
    d = json.load(open(glob.glob(f"{tmp}/{label}/results{i}/*.json")[0]))
    seconds.append([s["seconds"] for s in d["ranks"][0]["stages"] if s["name"] == "denoise"][0])
    c = d["cache"]
    if c["method"] != "none":
        reused += c["forwards_reused"]
        forwards += c["forwards"]
    a = load_file(f"{tmp}/none/{i}.safetensors")["video"].astype(np.float64)
    b = load_file(f"{tmp}/{label}/{i}.safetensors")["video"].astype(np.float64)
    mse = np.mean(((a - b) / 2) ** 2)  # the video spans [-1, 1]: peak-to-peak 2
    psnr.append(float("inf") if mse == 0 else 10 * np.log10(1 / mse))
r = f"{reused}/{forwards}" if forwards else "-"
fin = [p for p in psnr if np.isfinite(p)]
mean = f"{np.mean(fin):.1f}" if fin else "inf"
low = f"{min(psnr):.1f}" if np.isfinite(min(psnr)) else "inf"
print(f"{label:<40} {r:>15} {np.mean(seconds):12.3f} {mean:>10} {low:>10}")
PY
  grep -ho "cache [a-z]*: cond [CR]*" "$tmp/$label"/0.log | sed 's/^/    /' || true
}
method none
method teacache-default --cache teacache
method "teacache-${TEA:-0.5}" --cache teacache --cache-threshold "${TEA:-0.5}"
method magcache-default --cache magcache
method fbcache-default --cache fbcache
method "fbcache-${FBC:-0.2}" --cache fbcache --cache-threshold "${FBC:-0.2}"
