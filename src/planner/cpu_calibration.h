// The CPU profile's rates, measured on this machine with the threads this process uses: a
// bf16/fp32 GEMM at a DiT block's shape and the attention kernel as the blocks call it, each run
// for about a second, and the rate of everything else a block does — measured on a real block
// (a step of 2 blocks minus a step of 1, less the GEMM and attention the time model counts in
// that block), because a list of the block's elementwise kernels timed alone missed what runs
// between them. Cached per (threads, dtype) in $XDG_CACHE_HOME/uspdit/cpu_rates3 (or
// ~/.cache/...), so `uspdit plan --gpu cpu` measures once; --calibrate measures again (the newest
// line wins).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "planner/hardware_profiles.h"

namespace uspdit::planner {

struct CpuRates {
  double gemm_flops = 0;
  double attention_flops = 0;
  double elementwise_per_s = 0;  // elements through norms, activations, casts, residual adds
  bool from_cache = false;
};

// The calibration's block: Wan 2.1 1.3B's widths (1536 wide, 12 heads, MLP 8960) at 256x256, 13
// frames (1024 video tokens), 512 text tokens, batch 1, one rank.
inline constexpr const char* kCalibrationModel = "wan2.1-t2v-1.3b";
inline constexpr int64_t kCalibrationHeight = 256, kCalibrationWidth = 256, kCalibrationFrames = 13;

// Seconds of one denoising step of that model with `layers` blocks (random weights), in the dtype
// being calibrated, on this process alone. The planner cannot build a model; the caller (the CLI)
// can (pipeline/calibration_step.h).
using StepTimer = std::function<double(int layers)>;

// dtype_bytes: 2 (bf16) or 4 (fp32). time_step is called only when nothing is cached (or force).
CpuRates calibrate_cpu(int dtype_bytes, bool force, const StepTimer& time_step);

// The CPU as a profile: the measured rates (achieved fraction 1 of what was measured), the
// machine's RAM, and shared-memory links (memcpy-speed MPI inside a node, 10 GbE between).
HardwareProfile cpu_profile(const CpuRates& rates);

}  // namespace uspdit::planner
