// `uspdit generate`'s memory preflight: before any weight is read, the predicted per-rank peak
// (memory_model.h) against what a rank may use; when it does not fit, one line with the numbers
// and what would fit (another mesh on the same ranks, more ranks, bf16, offload, tiling, the text
// encoder on the host).
#pragma once

#include <cstdint>
#include <string>

#include "parallel/mesh.h"
#include "planner/memory_model.h"
#include "planner/model_profile.h"

namespace uspdit::planner {

struct PreflightRequest {
  ModelProfile model;
  RunShape run;
  parallel::ParallelDegrees mesh;
  int64_t runtime_bytes = 0;  // what the rank holds now (memory_model.h)
  int64_t limit_bytes = 0;    // what a rank may use
  std::string limit_from;     // "--max-memory-gib", "MemAvailable of this node / 2 ranks", ...
  bool on_host = true;        // the CPU (names --t5_cpu only on a GPU)
};

struct PreflightResult {
  MemoryEstimate estimate;
  bool fits = true;
  std::string summary;  // "predicted peak 3.1 GiB per rank (rank 0, denoise) of 24.0 GiB (...)"
  std::string refusal;  // when !fits: the whole one-line message, with what would fit
};

PreflightResult preflight(const PreflightRequest& request);

}  // namespace uspdit::planner
