#!/usr/bin/env bash
# The prepared GPU check (bench/gpu.md): on a machine with one NVIDIA GPU, no network and a
# preinstalled CUDA torch, builds the GPU variant against that torch and runs, each step under a
# timeout and continuing after failures:
#   env          the machine: nvidia-smi, driver, torch/CUDA/cuDNN/NCCL versions, cores, memory, libs
#   build        the CUDA variant (build-cuda/) of uspdit and the test binaries it runs
#   conformance  (a) every component against the committed references on the device: Wan and
#                    HunyuanVideo DiTs, text encoders, VAEs, both tiny text-to-video pipelines
#                    (USPDIT_TEST_DEVICE; fp32 with TF32 off <= 1e-4, bf16 within the CPU bounds)
#   kernels      (d) each attention kernel's output and LSE vs the math and the CPU kernel
#                    (Lq != Lk, head dim 128, batch 2 with uneven keys, empty blocks)
#   usp_np2/np4  (b) USP on 2 and 4 ranks sharing the GPU through the host-staged path == 1 rank
#   nccl         (c) the NCCL communicator on one rank under torchrun (+ its GPU-free unit tests)
#   bench_*      (e) a Wan 1.3B step at 480p bf16, a HunyuanVideo step, attention TFLOP/s at 32k
#                    tokens, and diffusers on the same GPU where it is installed
# and writes $OUT/report.md and $OUT/report.json (per step: pass/fail/skip, numbers, command,
# log). Exit status 1 if a step failed; a skipped step is listed, not a failure.
#
#   scripts/gpu_check.sh [--cpu] [--out DIR]     (default DIR: $OUT, else out/gpu_check)
#
# --cpu: the same steps on the CPU with tiny shapes and the existing CPU build (build/), no GPU
# and no build: scripts/test.sh runs it in CI so that this script cannot rot unnoticed.
# GPU mode budget: 9 minutes on 16 cores including the build (JOBS, default nproc).
# Missing Debian pieces (MPI, sentencepiece, ICU, GoogleTest, libpng) come from .gpu-debs/
# (scripts/gpu_pack_debs.sh, carried to the machine); FFmpeg is left out when absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=gpu
out=${OUT:-$root/out/gpu_check}
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) mode=cpu ;;
    --out) out=$2; shift ;;
    *) echo "usage: scripts/gpu_check.sh [--cpu] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
rm -f "$out"/logs/*.log "$out/steps.tsv" "$out/metrics.tsv"
: >"$out/steps.tsv"
: >"$out/metrics.tsv"
started=$SECONDS
# Every step's timeout is cut to what is left of the budget (9 minutes: the lent machine's), and a
# step with under 15 s left is skipped, so that the report is always written.
budget=${GPU_CHECK_BUDGET_S:-540}
deadline=$((started + budget))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# ---- bookkeeping --------------------------------------------------------------------------------

failed=0

# record STEP STATUS SECONDS REASON COMMAND
record() {
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\t'/ }" "${5//$'\t'/ }" >>"$out/steps.tsv"
  [ "$2" != fail ] || failed=1
  echo "[gpu_check] $1: $2${4:+ ($4)} in ${3}s"
}

# metric STEP KEY VALUE
metric() {
  local value
  value=$(head -1 <<<"${3//$'\t'/ }")
  [ -n "$value" ] || return 0
  printf '%s\t%s\t%s\n' "$1" "$2" "$value" >>"$out/metrics.tsv"
}

skip() {  # STEP REASON
  record "$1" skip 0 "$2" ""
}

# run_step STEP TIMEOUT_S COMMAND...: runs it with its output in logs/STEP.log; pass = exit 0.
run_step() {
  local step=$1 limit=$2 t0=$SECONDS rc=0 reason=""
  shift 2
  if [ $((deadline - SECONDS)) -lt 15 ]; then
    skip "$step" "out of time: the $budget s budget is spent"
    return 0
  fi
  [ "$limit" -le $((deadline - SECONDS)) ] || limit=$((deadline - SECONDS))
  { echo "\$ $*"; echo; } >"$out/logs/$step.log"
  timeout --kill-after=10 "$limit" "$@" >>"$out/logs/$step.log" 2>&1 || rc=$?
  [ $rc -ne 124 ] && [ $rc -ne 137 ] || reason="timed out after ${limit}s"
  [ $rc -eq 0 ] || reason=${reason:-"exit $rc"}
  record "$step" "$([ $rc -eq 0 ] && echo pass || echo fail)" $((SECONDS - t0)) "$reason" "$*"
  return 0
}

# The first number after PATTERN's capture in STEP's log (sed -n 's/PATTERN/\1/p').
grab() {
  sed -n "s/$2/\1/p" "$out/logs/$1.log" 2>/dev/null | head -1
}

# ---- the machine ------------------------------------------------------------------------------------

python_with_torch() {
  local candidates=("${PYTHON:-}" "$root/.venv/bin/python")
  if [ -f "$root/build/CMakeCache.txt" ]; then
    candidates+=("$(sed -n 's/^USPDIT_VENV:PATH=//p' "$root/build/CMakeCache.txt")/bin/python")
  fi
  candidates+=(python3)
  for py in "${candidates[@]}"; do
    [ -n "$py" ] && "$py" -c 'import torch' >/dev/null 2>&1 && { echo "$py"; return 0; }
  done
  echo python3
}

record_environment() {
  local py=$1 env_file=$out/environment.txt
  {
    echo "mode: $mode"
    echo "date: $(date -u +%FT%TZ)"
    echo "git: $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')"
    echo "os: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(nproc) cores"
    echo "memory: $(free -g 2>/dev/null | awk '/^Mem:/{print $2 " GiB total, " $7 " GiB available"}')"
    echo "disk free: $(df -h "$root" | awk 'NR==2{print $4}')"
    echo "compiler: $(c++ --version 2>/dev/null | head -1)"
    echo "cmake: $(cmake --version 2>/dev/null | head -1)"
    echo "ninja: $(ninja --version 2>/dev/null || echo absent)  ccache: $(ccache --version 2>/dev/null | head -1 || echo absent)"
    echo "mpirun: $(command -v mpirun || echo absent)"
    echo "python: $py"
    "$py" - <<'PY' 2>&1 | grep -v "Failed to initialize NumPy\|_conversion_method_template" || echo "torch: not importable"
import torch
def ask(what, f):  # one line each; a query that fails says why instead of ending the report
    try:
        print(f"{what}: {f()}")
    except Exception as e:
        print(f"{what}: ? ({type(e).__name__}: {str(e).splitlines()[0][:160]})")
ask("torch", lambda: f"{torch.__version__} at {torch.__file__.rsplit('/', 1)[0]}")
ask("torch cuda", lambda: torch.version.cuda)
ask("torch cudnn", lambda: torch.backends.cudnn.version())
ask("torch nccl", lambda: ".".join(map(str, torch.cuda.nccl.version())))
ask("cuda devices", lambda: torch.cuda.device_count())
for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
    ask(f"  gpu {i}", lambda: (lambda p: f"{p.name}, sm {p.major}{p.minor}, {p.total_memory / 2**30:.1f} GiB")(
        torch.cuda.get_device_properties(i)))
try:
    import diffusers
    print("diffusers:", diffusers.__version__)
except Exception:
    print("diffusers: absent")
PY
    echo "Debian packages (installed?):"
    for pkg in libopenmpi-dev openmpi-bin libsentencepiece-dev libicu-dev libgtest-dev libpng-dev zlib1g-dev \
               libavformat-dev libavcodec-dev libswscale-dev ninja-build ccache cmake; do
      printf '  %-22s %s\n' "$pkg" "$(dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null || echo absent)"
    done
    echo "nvidia-smi:"
    nvidia-smi 2>&1 | sed 's/^/  /' || echo "  absent"
  } >"$env_file"
  metric env gpu "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  metric env torch "$(sed -n 's/^torch: //p' "$env_file")"
  metric env torch_cuda "$(sed -n 's/^torch cuda: //p' "$env_file")"
  metric env torch_cudnn "$(sed -n 's/^torch cudnn: //p' "$env_file")"
  metric env torch_nccl "$(sed -n 's/^torch nccl: //p' "$env_file")"
  metric env diffusers "$(sed -n 's/^diffusers: //p' "$env_file")"
  metric env cores "$(nproc)"
  record env pass 0 "" "see environment.txt"
}

# ---- the build (GPU mode) -------------------------------------------------------------------------

# What the build needs from Debian and this machine lacks; each piece by a file it installs.
missing_debian_pieces() {
  command -v mpirun >/dev/null && command -v mpicxx >/dev/null || echo mpi
  pkg-config --exists sentencepiece 2>/dev/null || echo sentencepiece
  pkg-config --exists icu-uc icu-i18n 2>/dev/null || echo icu
  [ -e /usr/include/gtest/gtest.h ] || [ -e /usr/local/include/gtest/gtest.h ] || echo gtest
  [ -e /usr/include/png.h ] || [ -e /usr/include/libpng16/png.h ] || echo libpng
  [ -e /usr/include/zlib.h ] || echo zlib
}

# The lent machine's compiler may warn where ours does not: warnings stay warnings there.
cmake_args=(-DUSPDIT_WERROR=OFF)

# Unpacks .gpu-debs/ into .gpu-prefix/ and points the build and the run there. Appends CMake
# arguments to cmake_args; exports PATH, LD_LIBRARY_PATH, PKG_CONFIG_PATH, OPAL_PREFIX.
use_carried_debs() {
  local prefix=$root/.gpu-prefix deb multiarch=x86_64-linux-gnu
  rm -rf "$prefix"
  mkdir -p "$prefix"
  for deb in "$root"/.gpu-debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$prefix"
    else  # not Debian: a .deb is an ar archive holding data.tar.{xz,zst,gz}
      local member
      member=$(ar t "$deb" | grep '^data\.tar')
      case "$member" in
        *.xz) ar p "$deb" "$member" | tar -xJ -C "$prefix" ;;
        *.zst) ar p "$deb" "$member" | tar -x --zstd -C "$prefix" ;;
        *) ar p "$deb" "$member" | tar -xz -C "$prefix" ;;
      esac
    fi
  done
  local lib=$prefix/usr/lib/$multiarch
  # .pc files name /usr; make them name the prefix.
  sed -i "s|=/usr|=$prefix/usr|; s| /usr/| $prefix/usr/|g; s|-I/usr/|-I$prefix/usr/|g; s|-L/usr/|-L$prefix/usr/|g" \
    "$lib"/pkgconfig/*.pc
  export PKG_CONFIG_PATH=$lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export LD_LIBRARY_PATH=$lib:$lib/openmpi/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # The binaries find these libraries through LD_LIBRARY_PATH (exported for every step).
  cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix/usr")
  if ! command -v mpirun >/dev/null || ! command -v mpicxx >/dev/null; then
    # Debian's Open MPI relocated: OPAL_PREFIX re-roots its install paths (plugins, help files,
    # mca-params.conf, orted); FindMPI is told the headers and libraries instead of asking the
    # wrapper compiler, whose data file names /usr.
    export OPAL_PREFIX=$prefix/usr PATH=$prefix/usr/bin:$PATH
    # The names Debian's alternatives would have made (FindMPI asks pkg-config for mpi-cxx).
    ln -sf mpirun.openmpi "$prefix/usr/bin/mpirun"
    local pc
    for pc in mpi mpi-c mpi-cxx; do ln -sf "o$pc.pc" "$lib/pkgconfig/$pc.pc"; done
    cmake_args+=(-DMPI_SKIP_COMPILER_WRAPPER=ON
                 -DMPI_CXX_ADDITIONAL_INCLUDE_DIRS="$lib/openmpi/include"
                 -DMPI_CXX_LIB_NAMES="mpi_cxx;mpi" -DMPI_mpi_cxx_LIBRARY="$lib/openmpi/lib/libmpi_cxx.so"
                 -DMPI_mpi_LIBRARY="$lib/openmpi/lib/libmpi.so" -DMPIEXEC_EXECUTABLE="$prefix/usr/bin/mpirun")
  fi
  echo "unpacked $(ls "$root"/.gpu-debs/*.deb | wc -l) .debs into $prefix"
}

# ---- the steps ----------------------------------------------------------------------------------------

# Every test that compares a component with a committed reference (diffusers/transformers),
# single process; the multi-rank ForwardCommand cases are (b)'s business and need mpirun.
conformance_filter='WanConformance.*:HvConformance.*:Umt5Encoder.MatchesTransformers*:Umt5Encoder.TokenizerToEncoder'
conformance_filter+=':Umt5Encoder.Bf16*:WanVae.MatchesDiffusers*:WanVae.TiledDecode*:Fixture/WanT2vConformance.*'
# HunyuanVideo's text-to-video parts: both text encoders, the causal VAE (tiled too), the whole tiny
# pipeline in both layouts (the tokenizers are host code, but cheap: they run too).
conformance_filter+=':LlamaTextEncoder.*:ClipTextEncoder.*:HvVae.*:*HvT2vConformance.*:HvT2vFamily.*:HvT2vDiffusers.*'
conformance_filter+=':LlamaTokenizer.*:ClipTokenizer.*'
conformance_filter+='-*ForwardCommand*'
kernel_filter='AttentionKernelsOnGpu.*:MathKernel.*:AttendBlockOnMeta.*'

gtest_numbers() {  # STEP: passed/failed/skipped counts from a gtest log
  local log=$out/logs/$1.log
  metric "$1" tests_passed "$(grep -c '^\[       OK \]' "$log" || true)"
  metric "$1" tests_failed "$(grep -c '^\[  FAILED  \].*(' "$log" || true)"
  metric "$1" tests_skipped "$(grep -c '^\[  SKIPPED \].*(' "$log" || true)"
}

main() {
  local py bin tests gpu_tests device
  py=$(python_with_torch)
  record_environment "$py"

  if [ "$mode" = gpu ]; then
    device=cuda
    local torch_dir
    torch_dir=$("$py" -c 'import torch,os;print(os.path.dirname(torch.__file__))' 2>/dev/null || true)
    if [ -z "$torch_dir" ]; then
      record build fail 0 "no python with torch ($py)" ""
    else
      local missing
      missing=$(missing_debian_pieces | tr '\n' ' ')
      if [ -n "$missing" ] && ls "$root"/.gpu-debs/*.deb >/dev/null 2>&1; then
        echo "[gpu_check] absent here: $missing-> using the carried .gpu-debs"
        use_carried_debs >"$out/logs/debs.log" 2>&1 || echo "[gpu_check] unpacking .gpu-debs failed (logs/debs.log)"
      fi
      metric build debian_pieces_absent "${missing:-none}"
      run_step build 330 env BUILD_TYPE=cuda USPDIT_TORCH_DIR="$torch_dir" USPDIT_SKIP_APT=1 JOBS="${JOBS:-$(nproc)}" \
        TARGETS="uspdit uspdit_unit_tests uspdit_gpu_tests" USPDIT_CMAKE_ARGS="${cmake_args[*]}" "$root/scripts/build.sh"
      metric build mp4_writer "$(grep -q 'mp4 writer left out' "$out/logs/build.log" && echo 'left out (no FFmpeg)' || echo yes)"
    fi
    bin=$root/build-cuda/uspdit tests=$root/build-cuda/tests/uspdit_unit_tests
    gpu_tests=$root/build-cuda/tests/uspdit_gpu_tests
  else
    device=cpu
    bin=$root/build/uspdit tests=$root/build/tests/uspdit_unit_tests gpu_tests=""
    if [ -x "$bin" ] && [ -x "$tests" ]; then
      record build skip 0 "--cpu: reuses build/ (scripts/build.sh)" ""
    else
      record build fail 0 "--cpu needs build/uspdit and its unit tests: run scripts/build.sh" ""
    fi
  fi
  if [ ! -x "$bin" ] || [ ! -x "$tests" ]; then
    for step in conformance kernels usp_np2_fp32 usp_np4_fp32 usp_np2_bf16 usp_np4_bf16 nccl bench_wan bench_hunyuan \
      bench_attention diffusers_wan; do
      skip "$step" "no binaries: the build failed"
    done
    return 0
  fi
  # One thread per rank where ranks share the machine; a single process uses the cores.
  local threads
  threads=$(nproc)
  [ "$mode" = gpu ] || threads=2

  # (a) conformance on the device
  run_step conformance 240 env USPDIT_TEST_DEVICE=$device OMP_NUM_THREADS="$threads" "$tests" \
    --gtest_filter="$conformance_filter" --gtest_brief=0
  gtest_numbers conformance
  metric conformance wan_bf16_error "$(grep_num conformance 'rope128 bf16 max abs error vs fp32 reference: ')"
  metric conformance hunyuan_bf16_error "$(grep_num conformance 'real_like bf16 max abs error vs fp32 reference: ')"
  metric conformance umt5_bf16_error "$(grep_num conformance 'umt5 hf bf16 max abs error vs fp32 reference: ')"

  # (d) attention kernels vs the math and the CPU kernel
  run_step kernels 120 env USPDIT_TEST_DEVICE=$device OMP_NUM_THREADS="$threads" "$tests" \
    --gtest_filter="$kernel_filter"
  gtest_numbers kernels
  if [ "$mode" = cpu ]; then
    metric kernels note "no GPU: AttentionKernelsOnGpu skips; the math kernel is checked against the CPU kernel"
  fi
  grep '^\[ kernel   \]\|^\[ refused  \]' "$out/logs/kernels.log" 2>/dev/null | sed 's/^\[ [a-z]* *\] //' |
    awk '{print "kernels\tcase " NR "\t" $0}' >>"$out/metrics.tsv" || true

  # (b) USP on 2 and 4 ranks on one device, verified against 1 rank
  # The host-staged path in both modes: on the CPU its staging copies are real host copies, so the
  # dry run exercises the same communicator the GPU run uses (NCCL cannot put 2 ranks on 1 GPU).
  local comm=(--comm host-staged) mpi=(mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 -x OMP_NUM_THREADS=1)
  local attn_small=(--seq-len 1024 --heads 4 --head-dim 128 --text-len 64 --text-padding 7 --iters 2 --warmup 1)
  if [ "$mode" = gpu ]; then
    attn_small=(--seq-len 8190 --heads 12 --head-dim 128 --text-len 512 --text-padding 33 --iters 3 --warmup 1)
  fi
  if ! command -v mpirun >/dev/null; then
    local name
    for name in usp_np2_fp32 usp_np4_fp32 usp_np2_bf16 usp_np4_bf16; do
      skip "$name" "no mpirun on this machine (and none carried in .gpu-debs)"
    done
  else
    local dtype
    for dtype in fp32 bf16; do
      run_step "usp_np2_$dtype" 120 "${mpi[@]}" -np 2 "$bin" bench-attn --device $device "${comm[@]}" \
        --ulysses-degree 2 "${attn_small[@]}" --dtype $dtype --verify
      run_step "usp_np4_$dtype" 150 "${mpi[@]}" -np 4 "$bin" bench-attn --device $device "${comm[@]}" \
        --ulysses-degree 2 --ring-degree 2 "${attn_small[@]}" --dtype $dtype --verify
      metric "usp_np2_$dtype" max_abs_error "$(grab "usp_np2_$dtype" '^max abs error: \([^ ]*\).*')"
      metric "usp_np4_$dtype" max_abs_error "$(grab "usp_np4_$dtype" '^max abs error: \([^ ]*\).*')"
    done
  fi

  # (c) NCCL on one rank under torchrun (GPU); the same launch with CPU tensors in --cpu mode
  if ! "$py" -c 'import torch.distributed.run' >/dev/null 2>&1; then
    skip nccl "no torchrun: $py cannot import torch.distributed.run"
  else
    if [ -n "$gpu_tests" ] && [ -x "$gpu_tests" ]; then
      run_step nccl_unit 60 "$gpu_tests"
    fi
    run_step nccl 120 env OMP_NUM_THREADS="$threads" "$py" -m torch.distributed.run --standalone --nproc_per_node 1 \
      --no-python "$bin" bench-attn --device $device --verify "${attn_small[@]}" --dtype bf16
    metric nccl max_abs_error "$(grab nccl '^max abs error: \([^ ]*\).*')"
    [ "$mode" = gpu ] || metric nccl note "CPU tensors: MPI singleton under torchrun; NCCL itself needs a GPU"
  fi

  # (e) timings
  local wan hv attn
  if [ "$mode" = gpu ]; then
    wan=(--layers 2 --height 480 --width 832 --num-frames 81 --text-len 512 --dtype bf16 --iters 3 --warmup 1)
    hv=(--layers 1 --single-layers 1 --height 720 --width 1280 --num-frames 33 --text-len 256 --dtype bf16 --iters 3
        --warmup 1)
    attn=(--seq-len 32760 --heads 12 --head-dim 128 --dtype bf16 --iters 5 --warmup 2)
  else
    wan=(--layers 1 --height 64 --width 64 --num-frames 5 --text-len 32 --dtype bf16 --iters 1 --warmup 0)
    hv=(--layers 1 --single-layers 1 --height 32 --width 32 --num-frames 5 --text-len 16 --dtype bf16 --iters 1
        --warmup 0)
    attn=(--seq-len 1024 --heads 2 --head-dim 128 --dtype bf16 --iters 2 --warmup 1)
  fi
  run_step bench_wan 150 env OMP_NUM_THREADS="$threads" "$bin" bench dit --device $device \
    --model wan2.1-t2v-1.3b "${wan[@]}"
  metric bench_wan step_ms "$(grab bench_wan '^step time: \([0-9.]*\) ms.*')"
  metric bench_wan ms_per_layer "$(grab bench_wan '.*(\([0-9.]*\) ms per layer).*')"
  metric bench_wan shape "${wan[*]}"
  run_step bench_hunyuan 150 env OMP_NUM_THREADS="$threads" "$bin" bench dit --device $device \
    --model hunyuanvideo "${hv[@]}"
  metric bench_hunyuan step_ms "$(grab bench_hunyuan '^step time: \([0-9.]*\) ms.*')"
  metric bench_hunyuan ms_per_layer "$(grab bench_hunyuan '.*(\([0-9.]*\) ms per layer).*')"
  metric bench_hunyuan shape "${hv[*]}"
  run_step bench_attention 120 env OMP_NUM_THREADS="$threads" "$bin" bench-attn --device $device "${attn[@]}"
  local ms
  ms=$(grab bench_attention '^time per call: \([0-9.]*\) ms.*')
  metric bench_attention ms_per_call "$ms"
  # 4·B·H·L²·D: QKᵀ and PV, 2 flops per multiply-add each.
  [ -z "$ms" ] || metric bench_attention tflops "$(awk -v a="${attn[*]}" -v ms="$ms" 'BEGIN {
      n = split(a, w, " "); for (i = 1; i < n; ++i) v[w[i]] = w[i + 1]
      printf "%.1f", 4 * v["--heads"] * v["--seq-len"] ^ 2 * v["--head-dim"] / (ms / 1e3) / 1e12 }')"
  metric bench_attention shape "${attn[*]}"

  if "$py" -c 'import diffusers' >/dev/null 2>&1; then
    run_step diffusers_wan 200 env OMP_NUM_THREADS="$threads" "$py" "$root/tools/bench_dit_diffusers.py" \
      --device $device --model wan2.1-t2v-1.3b "${wan[@]}"
    metric diffusers_wan step_ms "$(grab diffusers_wan '^step time: \([0-9.]*\) ms.*')"
    run_step diffusers_hunyuan 200 env OMP_NUM_THREADS="$threads" "$py" "$root/tools/bench_dit_diffusers.py" \
      --device $device --model hunyuanvideo "${hv[@]}"
    metric diffusers_hunyuan step_ms "$(grab diffusers_hunyuan '^step time: \([0-9.]*\) ms.*')"
  else
    skip diffusers "diffusers is not installed for $py: no comparison on this machine"
  fi
}

grep_num() {  # STEP PREFIX: the number following PREFIX in the step's log
  grep -o "$2[0-9.e+-]*" "$out/logs/$1.log" 2>/dev/null | head -1 | sed "s/^$2//"
}

# ---- the report --------------------------------------------------------------------------------------

write_report() {
  local py
  py=$(command -v python3 || true)
  [ -n "$py" ] || { echo "[gpu_check] no python3: report.md/json not written (see steps.tsv)"; return 0; }
  "$py" - "$out" "$mode" "$((SECONDS - started))" <<'PY'
import json, os, sys
out, mode, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rows(name):
    path = os.path.join(out, name)
    return [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8", errors="replace") if line.strip()]
steps = [dict(step=s, status=st, seconds=int(t), reason=r, command=c, log=f"logs/{s}.log")
         for s, st, t, r, c in rows("steps.tsv")]
numbers = {}
for step, key, value in rows("metrics.tsv"):
    numbers.setdefault(step, {})[key] = value
for s in steps:
    s["numbers"] = numbers.get(s["step"], {})
counts = {k: sum(s["status"] == k for s in steps) for k in ("pass", "fail", "skip")}
report = dict(mode=mode, seconds=seconds, result="fail" if counts["fail"] else "pass", counts=counts, steps=steps,
              environment=open(os.path.join(out, "environment.txt"), errors="replace").read())
json.dump(report, open(os.path.join(out, "report.json"), "w"), indent=1)
md = [f"# uspdit GPU check ({mode} mode)", "",
      f"Result: **{report['result'].upper()}** — {counts['pass']} passed, {counts['fail']} failed, "
      f"{counts['skip']} skipped, {seconds} s in all.", "",
      "| step | status | s | numbers / reason |", "|---|---|---|---|"]
for s in steps:
    nums = "; ".join(f"{k}: {v}" for k, v in s["numbers"].items() if not k.startswith("case "))
    md.append(f"| {s['step']} | {s['status']} | {s['seconds']} | {'; '.join(x for x in (s['reason'], nums) if x)} |")
kernel_cases = [v for k, v in numbers.get("kernels", {}).items() if k.startswith("case ")]
if kernel_cases:
    md += ["", "Attention kernels (max abs error of output and LSE):", ""] + [f"- {c}" for c in kernel_cases]
md += ["", "Commands (logs in logs/STEP.log):", ""]
md += [f"- {s['step']}: `{s['command']}`" for s in steps if s["command"]]
md += ["", "Environment:", "", "```", report["environment"].rstrip(), "```", ""]
open(os.path.join(out, "report.md"), "w").write("\n".join(md))
print(f"[gpu_check] {report['result']}: {counts} in {seconds} s -> {out}/report.md, report.json")
PY
}

main
write_report
exit $failed
