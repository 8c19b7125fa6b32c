// What one rank measured while generating: every stage's wall time, peak memory and bytes sent,
// and every denoising step's time. rank 0 gathers these into the benchmark report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cache/cache_record.h"

namespace uspdit::pipeline {

struct StageRecord {
  std::string name;  // "encode_text", "load_dit", "denoise", "decode", ...
  int repeat = 0;    // which of --n_repeats (stages run once have 0)
  double seconds = 0;
  int64_t peak_rss_bytes = 0;     // this stage's own peak (see core/memory.h reset_peak_rss)
  int64_t bytes_sent = 0;         // to other ranks, all communicators of the world
  int64_t peak_device_bytes = 0;  // GPU runs: the caching allocator's peak in this stage (0 on the CPU)
  int64_t device_free_bytes = 0;  // GPU runs: the driver's free memory at the stage's end
};

struct RunRecord {
  std::vector<StageRecord> stages;
  std::vector<std::vector<double>> step_seconds;  // [repeat][step]
  std::vector<double> warmup_step_seconds;
  // The last measured denoising run's step caching (method "none" when off); every branch's
  // pattern, also those another CFG-parallel group ran.
  cache::CacheRecord cache;

  double seconds_of(const std::string& stage, int repeat) const;  // 0 when absent
};

}  // namespace uspdit::pipeline
