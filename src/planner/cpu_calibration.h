// The CPU profile's rates, measured on this machine: a bf16/fp32 GEMM at a DiT block's shape and
// the attention kernel at a head's shape, each run for about a second, with the threads this
// process uses, and a block's elementwise kernels. Cached per (threads, dtype) in
// $XDG_CACHE_HOME/uspdit/cpu_rates2 (or ~/.cache/...), so `uspdit plan --gpu cpu` measures once;
// --calibrate measures again (the newest line wins).
#pragma once

#include <string>

#include "planner/hardware_profiles.h"

namespace uspdit::planner {

struct CpuRates {
  double gemm_flops = 0;
  double attention_flops = 0;
  double elementwise_per_s = 0;  // elements through norms, activations, casts, residual adds
  bool from_cache = false;
};

// dtype_bytes: 2 (bf16) or 4 (fp32).
CpuRates calibrate_cpu(int dtype_bytes, bool force);

// The CPU as a profile: the measured rates (achieved fraction 1 of what was measured), the
// machine's RAM, and shared-memory links (memcpy-speed MPI inside a node, 10 GbE between).
HardwareProfile cpu_profile(const CpuRates& rates);

}  // namespace uspdit::planner
