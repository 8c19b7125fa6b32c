#include "cli/generate_preflight.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "parallel/agreement.h"
#include "planner/preflight.h"

namespace uspdit::cli {
namespace {

// What the CUDA context does not show as used yet: cuBLAS/cuDNN workspaces and the
// communicator's buffers, reserved on the device before the first stage.
constexpr int64_t kDeviceWorkspaceBytes = 1LL << 30;
// On the CPU the process's RSS now, plus what the first convolutions and GEMMs add to it
// (oneDNN's JIT kernels and scratchpads, the thread pool's stacks): 40-60 MiB measured on the
// tiny fixtures, whose weights are negligible (bench/plan_model.md).
constexpr int64_t kHostKernelWorkspaceBytes = 48LL << 20;

}  // namespace

MemoryCheckFlags read_memory_check_flags(core::Args& args) {
  MemoryCheckFlags flags;
  if (args.has("max-memory-gib")) {
    flags.max_memory_gib = args.get_double("max-memory-gib", 0);
    require(std::isfinite(*flags.max_memory_gib) && *flags.max_memory_gib > 0,
            "--max-memory-gib must be a positive number of GiB per rank (e.g. 70)");
  }
  flags.skip = args.flag("skip-memory-check");
  return flags;
}

void memory_preflight(parallel::Runtime& rt, const pipeline::T2vJob& job,
                      const pipeline::T2vSettings& settings, const parallel::ParallelDegrees& degrees,
                      const MemoryCheckFlags& flags) {
  if (flags.skip) return;
  const auto planned = job.planned_run(settings);
  if (!planned) return;
  parallel::run_agreed(rt.world(), [&] {
    planner::PreflightRequest q;
    q.model = planned->model;
    q.run = planned->run;
    q.mesh = degrees;
    q.on_host = rt.device() == core::host_device();
    if (q.on_host) {
      q.runtime_bytes = current_rss_bytes() + kHostKernelWorkspaceBytes;
      const int ranks_here = static_cast<int>(
          std::count(rt.nodes().node_of_rank.begin(), rt.nodes().node_of_rank.end(), rt.nodes().node_rank));
      q.limit_bytes = available_memory_bytes() / std::max(1, ranks_here);
      q.limit_from = "this node's available RAM / " + std::to_string(ranks_here) + " rank(s)";
    } else {
      q.runtime_bytes = kDeviceWorkspaceBytes;
      q.limit_bytes = core::device_memory(rt.device()).free;
      q.limit_from = "free memory of " + core::device_label(rt.device());
    }
    if (flags.max_memory_gib) {
      q.limit_bytes = static_cast<int64_t>(*flags.max_memory_gib * (1LL << 30));
      q.limit_from = "--max-memory-gib";
    }
    const auto result = planner::preflight(q);
    if (rt.rank() == 0) log::info("memory check: " + result.summary);
    require(result.fits, result.refusal);
  });
}

}  // namespace uspdit::cli
