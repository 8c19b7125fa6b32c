// `uspdit plan`'s predictions: for every valid configuration of a parallel::Plan, each rank's
// peak memory (memory_model.h) and the time per step and per run (time_model.h) on a hardware
// profile, whether it fits, and the recommendation: the fastest that fits (the traffic rule of
// parallel/plan.cpp breaks ties and stays the explanation).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "parallel/plan.h"
#include "planner/hardware_profiles.h"
#include "planner/memory_model.h"
#include "planner/model_profile.h"
#include "planner/time_model.h"

namespace uspdit::planner {

// generate's names for the run, as given (unset: the model's default).
struct RunFlags {
  std::optional<std::string> height, width, frames, steps;
  bool text_encoder_on_every_rank = false, offload = false, tiling = false, serial_vae = false;
  bool any() const { return height || width || frames || steps; }
};

// The model's default run with the flags applied and checked (UsageError naming the flag).
RunShape run_from_flags(const ModelProfile& model, const RunFlags& flags, bool guided, int dit_bytes);

struct PredictedRow {
  MemoryEstimate memory;
  TimeEstimate time;
  bool fits = true;
};

struct Predictions {
  HardwareProfile hardware;
  RunShape run;
  int64_t limit_bytes = 0;
  std::vector<PredictedRow> rows;  // one per plan.configurations
};

// What a rank holds before the first stage: a GPU's context is outside its free memory, but the
// cuBLAS/cuDNN workspaces and communicator buffers are not (1 GiB); on the CPU, the process after
// start-up (0.14 GiB measured) and the kernels' first allocations (48 MiB).
int64_t runtime_bytes(const HardwareProfile& hw);

// max_memory_gib: --max-memory-gib as given (default: the profile's memory).
Predictions predict(const parallel::Plan& plan, const ModelProfile& model, const RunShape& run,
                    const HardwareProfile& hw, const std::optional<std::string>& max_memory_gib);

// Marks the fastest configuration that fits as plan.recommended and extends plan.reason with the
// prediction. The traffic rule's choice stays when it fits and is within 10 % of the fastest (the
// model's resolution: it lets Ring hide perfectly), or when none fits.
void recommend_fastest_that_fits(parallel::Plan& plan, const Predictions& predicted);

}  // namespace uspdit::planner
