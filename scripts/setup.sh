#!/usr/bin/env bash
# Installs everything uspdit needs on a fresh Debian 12 machine, idempotently:
# Open MPI, Ninja, ccache, sentencepiece, ICU, FFmpeg and libpng from Debian, and libtorch from the pinned PyTorch wheel
# into a project-local virtual environment (.venv). The wheel is installed with
# --no-deps: the C++ build needs only its headers and libraries, never the NVIDIA wheels.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
TORCH_VERSION=${USPDIT_TORCH_VERSION:-2.15.0}

need_apt=()
# sentencepiece: the umt5 tokenizer; libicu-dev: HunyuanVideo's Llama 3 / CLIP tokenizers (Unicode
# regexes, NFC, lower-casing); libav*: the H.264/mp4 writer; libpng: PNG frames; iproute2: ip and
# tc for the namespace cluster of the CTest `cluster` (scripts/cluster.sh); clang-14 and
# libclang-rt-14-dev: libFuzzer and its sanitizer runtimes for scripts/fuzz.sh.
for pkg in openmpi-bin libopenmpi-dev ninja-build ccache cmake g++ pkg-config \
           libsentencepiece-dev libicu-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libpng-dev \
           iproute2 clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# USPDIT_SKIP_APT=1: no Debian installs (a machine without network, e.g. the lent GPU machine:
# scripts/gpu_check.sh brings what is missing as unpacked .debs and CMake leaves FFmpeg out).
if [ ${#need_apt[@]} -gt 0 ] && [ "${USPDIT_SKIP_APT:-0}" = 1 ]; then
  echo "[setup] not installing (USPDIT_SKIP_APT=1), absent here: ${need_apt[*]}"
elif [ ${#need_apt[@]} -gt 0 ]; then
  echo "[setup] installing from Debian: ${need_apt[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

# USPDIT_SKIP_TORCH=1: libtorch comes from elsewhere (scripts/build.sh with USPDIT_TORCH_DIR).
if [ "${USPDIT_SKIP_TORCH:-0}" = 1 ]; then
  echo "[setup] ok (torch not managed here)"
  exit 0
fi

venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating $venv"
  python3 -m venv "$venv"
fi
torch_dir=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/torch
with_deps=${USPDIT_TORCH_WITH_DEPS:-0}
if [ ! -f "$torch_dir/lib/libtorch_cpu.so" ] || [ "$(cat "$venv/.torch-version" 2>/dev/null)" != "$TORCH_VERSION" ] ||
   { [ "$with_deps" = 1 ] && [ ! -d "$torch_dir/../nvidia/cudnn" ]; }; then
  echo "[setup] installing torch==$TORCH_VERSION"
  deps=(--no-deps)
  # GPU machines: USPDIT_TORCH_WITH_DEPS=1 also installs the NVIDIA runtime wheels that
  # libtorch's CUDA backend loads (see cmake/TorchCuda.cmake, USPDIT_TORCH_CUDA).
  [ "$with_deps" = 1 ] && deps=()
  "$venv/bin/pip" install -q --disable-pip-version-check "${deps[@]}" "torch==$TORCH_VERSION"
  echo "$TORCH_VERSION" > "$venv/.torch-version"
fi
echo "[setup] ok: libtorch at $torch_dir"

# USPDIT_SETUP_TORCHRUN=1 (scripts/test.sh): `python -m torch.distributed.run` (torchrun) from
# .venv, for the tests that launch uspdit the way GPU users do. Importing torch needs the
# libraries its Python extension links that this machine's CUDA toolkit does not provide (or
# provides too old: NCCL 2.28 lacks symbols torch 2.15 binds), and typing_extensions: ~520 MB of
# the wheel's own pins, not its whole 4 GB of NVIDIA dependencies.
if [ "${USPDIT_SETUP_TORCHRUN:-0}" = 1 ] && ! "$venv/bin/python" -c "import torch.distributed.run" 2>/dev/null; then
  echo "[setup] installing what torchrun needs to import torch"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "typing_extensions==4.16.0" \
    "nvidia-nccl-cu13==2.30.7" "nvidia-cusparselt-cu13==0.8.1" "nvidia-nvshmem-cu13==3.7.2" "nvidia-cufile==1.20.0.107"
  "$venv/bin/python" -c "import torch.distributed.run" 2>/dev/null ||
    { echo "[setup] torchrun still cannot import torch from $venv (see: $venv/bin/python -c 'import torch')" >&2; exit 1; }
fi
