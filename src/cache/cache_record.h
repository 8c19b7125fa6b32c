// What a run's step caching did (StepCache's record): light, for the run record and the report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uspdit::cache {

// What a run's caching did, per branch and step: 'C' computed, 'R' reused, '.' not run.
struct CacheRecord {
  std::string method = "none";
  std::string settings;              // CacheConfig::describe()
  std::vector<std::string> pattern;  // [branch] → one character per step
  // [branch][step]: the relative L1 distance the decision read (TeaCache: before rescaling;
  // First-Block Cache), NaN where none was measured (schedule-only steps, MagCache).
  std::vector<std::vector<double>> distance;
  int num_blocks = 0;                // blocks of one forward
  int blocks_skipped_per_reuse = 0;  // all of them; First-Block Cache runs block 0 anyway
  int64_t residual_bytes = 0;        // this rank's stored residuals (and FBC's head residuals), at most

  int64_t forwards() const;  // branch forwards the run asked for ('C' + 'R')
  int64_t reused() const;    // 'R'
  int64_t block_passes() const { return forwards() * num_blocks; }  // a cacheless run's
  int64_t block_passes_saved() const { return reused() * blocks_skipped_per_reuse; }
  std::string summary() const;  // "cond CCRRC…, uncond …; 12/40 forwards reused, …"
};

}  // namespace uspdit::cache
