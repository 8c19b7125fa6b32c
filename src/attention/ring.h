// Ring attention over a group of R ranks: queries stay, K/V blocks travel around the ring
// (R-1 hops), the next block in flight while the current one is computed, partial results
// merged in fp32 by log-sum-exp.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <span>

#include "attention/local_attention.h"
#include "parallel/communicator.h"

namespace uspdit::attention {

// A K/V block that does not travel: replicated text keys, attended once by every ring rank.
struct InjectedBlock {
  at::Tensor k, v;       // [B, S, h, D]
  at::Tensor key_valid;  // [B, S] bool, or undefined
  bool at_front = true;  // attended before the first ring block ("front") or after the last ("rear")
};

struct RingTimings {
  double compute_seconds = 0;  // time inside attention kernels and merges
  double wait_seconds = 0;     // time blocked on transfers not yet finished
};

// q: [B, Sq, h, D]; kv: this rank's packed [2, B, S_mine, h, D]. block_lengths[j] = tokens in
// ring rank j's block; key_valid_of(j) is that block's [B, S_j] key mask (or undefined).
// Returns the accumulated (unnormalised-dtype fp32) result for every query row.
AttentionAccumulator ring_attention(parallel::Communicator& ring, const at::Tensor& q, const at::Tensor& kv,
                                    std::span<const int64_t> block_lengths,
                                    const std::function<at::Tensor(int)>& key_valid_of,
                                    const InjectedBlock* injected, std::optional<double> scale,
                                    RingTimings* timings = nullptr);

}  // namespace uspdit::attention
