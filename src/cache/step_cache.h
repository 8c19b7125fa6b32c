// The DiT loop's step cache: once per forward it decides, for each batch row (one CFG branch
// each), whether the block stack runs or the residual stored on the branch's last computed step
// is added instead — TeaCache, MagCache or First-Block Cache (cache_config.h).
//
// The same decision on every rank and every mesh. MagCache reads no data; Wan's TeaCache reads the
// timestep embedding, which every rank holds whole. HunyuanVideo's TeaCache and First-Block Cache
// read this rank's tokens only: each rank sums |a − b| and |b| over its tokens in float64, the
// sums are all-gathered over the sequence-parallel group only (never across the CFG halves, whose
// branches decide on their own) and every rank adds them in the group's rank order. Every rank so
// adds the same numbers in the same order and takes bitwise the same decision without a further
// broadcast, and a ratio of sums (not a mean of per-rank means) is exact for uneven shards. That
// exchange is the one host synchronisation per forward.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cache/cache_config.h"
#include "cache/cache_record.h"
#include "parallel/communicator.h"

namespace uspdit::cache {

// Runs blocks [first, last) on the batch rows `rows` of the forward; x holds just those rows
// ([rows.size(), S_local, D], this rank's tokens) and the result has x's shape. The runner slices
// its own per-row inputs (modulation, text) by `rows`.
using BlockRunner =
    std::function<at::Tensor(const at::Tensor& x, const std::vector<int64_t>& rows, int first, int last)>;

// One forward's block stack as the cache drives it.
struct CachedStack {
  int num_blocks = 0;
  BlockRunner run;
  // TeaCache's indicator, batch first; called only by TeaCache. sharded: this rank's tokens of it
  // (summed over the sequence group); else the same on every rank.
  std::function<at::Tensor()> indicator;
  bool indicator_sharded = false;
};

class StepCache {
 public:
  StepCache(CacheConfig config, int steps, int branches);

  const CacheConfig& config() const { return config_; }
  // The pipeline, before each DiT forward: the step and each batch row's branch (0 cond, 1 uncond).
  void begin_forward(int step, std::vector<int> branch_of_row);
  // The DiT: x [B, S_local, D] entering block 0 → x leaving the last block, on this rank's tokens.
  // `sequence`: the sequence-parallel group of this branch.
  at::Tensor run(const at::Tensor& x, const CachedStack& stack, parallel::Communicator& sequence);

  const CacheRecord& record() const { return record_; }

 private:
  struct Branch {
    // TeaCache
    at::Tensor previous_indicator;
    double accumulated = 0.0;
    // MagCache
    double accumulated_ratio = 1.0, accumulated_error = 0.0;
    int accumulated_steps = 0;
    // TeaCache, MagCache: x_out − x_in; First-Block Cache: x_out − block-0 output
    at::Tensor residual;
    at::Tensor head_residual;  // First-Block Cache: block 0's residual on the last computed step
  };

  bool teacache_computes(Branch& b, double distance) const;
  bool magcache_computes(Branch& b, int branch) const;
  bool forced(int step) const;  // TeaCache's always-computed first and last steps
  // Per row: Σ|a − b| / Σ|b| over all of the row's elements (sharded: over the whole group).
  std::vector<double> relative_l1(const at::Tensor& a, const at::Tensor& b, bool sharded,
                                  parallel::Communicator& sequence) const;
  void note_distance(int64_t row, double distance);  // into the record, and the debug log
  void account(const std::vector<bool>& compute, int blocks_skipped_per_row, int num_blocks);

  CacheConfig config_;
  int steps_;
  int step_ = 0;
  std::vector<int> rows_;
  std::vector<Branch> branches_;
  CacheRecord record_;
};

}  // namespace uspdit::cache
