// `uspdit generate --max-memory-gib X --skip-memory-check`: the memory preflight before any
// weight is read (planner/preflight.h), with what a rank may use taken from the flag, the
// device's free memory or this node's available RAM shared by its ranks.
#pragma once

#include <optional>

#include "core/args.h"
#include "parallel/mesh.h"
#include "parallel/runtime.h"
#include "pipeline/t2v_job.h"

namespace uspdit::cli {

struct MemoryCheckFlags {
  std::optional<double> max_memory_gib;
  bool skip = false;
};

MemoryCheckFlags read_memory_check_flags(core::Args& args);

// On every rank (collective): logs the prediction on rank 0; throws UsageError (exit 2) on
// every rank with the numbers and what would fit when the predicted peak exceeds the limit.
void memory_preflight(parallel::Runtime& rt, const pipeline::T2vJob& job,
                      const pipeline::T2vSettings& settings, const parallel::ParallelDegrees& degrees,
                      const MemoryCheckFlags& flags);

}  // namespace uspdit::cli
