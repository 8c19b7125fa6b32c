#!/usr/bin/env bash
# Prepares, on a networked Debian 12 machine, the Debian packages the GPU build needs and a lent
# GPU machine may lack (it has no network: no apt there). They go into .gpu-debs/ (git-ignored),
# which travels with the `run` call (carry: [".gpu-debs"]); scripts/gpu_check.sh unpacks them into
# .gpu-prefix/ with dpkg-deb -x (or ar + tar) only when the machine lacks one of the pieces, and
# points CMake, pkg-config, PATH and the loader there.
#
# Carried: Open MPI (headers, mpirun/orted, runtime libs and what its plugins load), sentencepiece,
# ICU, GoogleTest, libpng + zlib headers. Not carried: FFmpeg: its runtime closure (x264, x265, aom,
# dav1d, codec2, icu, ...) is ~60 MiB, over the 64 MiB carry limit together with the rest, so the
# GPU build leaves the mp4 writer out (CMake USPDIT_WITH_VIDEO=AUTO) when FFmpeg is absent there.
# Not carried either: what every Debian/Ubuntu with g++ has (libc6, libstdc++6, libgcc-s1, zlib1g).
#   usage: scripts/gpu_pack_debs.sh [DIR]   (default .gpu-debs; prints the total size)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/.gpu-debs}

packages=(
  # build: headers, link-time libraries, pkg-config and CMake files
  libopenmpi-dev libsentencepiece-dev libgtest-dev libpng-dev zlib1g-dev
  # the HunyuanVideo tokenizers' ICU headers and link libraries (~10 MiB; its runtime libicu72 is below)
  libicu-dev
  # mpirun/orted and their help files and default MCA parameters
  openmpi-bin openmpi-common
  # run time: libmpi and everything it or its plugins (pmix, ucx, ofi, verbs, psm) load
  libopenmpi3 libpmix2 libhwloc15 libevent-core-2.1-7 libevent-pthreads-2.1-7 libevent-2.1-7
  libfabric1 libucx0 libibverbs1 ibverbs-providers librdmacm1 libnl-3-200 libnl-route-3-200
  libpsm2-2 libpsm-infinipath1 libnuma1 libmunge2 libltdl7 libxml2 libicu72 libgcrypt20
  libgpg-error0 libatomic1
  # run time: the tokenizer and PNG frames
  libsentencepiece0 libpng16-16
)

mkdir -p "$dir"
rm -f "$dir"/*.deb
# apt-get download writes into the current directory; as root it warns that _apt cannot
# sandbox the download, which is harmless here.
(cd "$dir" && apt-get download -q "${packages[@]}" >/dev/null 2> >(grep -v "unsandboxed" >&2))
echo "[gpu_pack_debs] $(ls "$dir"/*.deb | wc -l) packages, $(du -sh "$dir" | cut -f1) in $dir (carry limit 64 MiB)"
