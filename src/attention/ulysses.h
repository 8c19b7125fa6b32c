// The two all-to-alls of DeepSpeed-Ulysses over a group of U ranks, with uneven token chunks.
#pragma once

#include <ATen/core/Tensor.h>

#include <span>

#include "parallel/communicator.h"

namespace uspdit::attention {

// Token-sharded -> head-sharded. x: [N, B, S_mine, H, D], N tensors packed together (Q, K, V
// travel in one call). chunk_lengths[j] = tokens held by group rank j. Returns
// [N, B, sum(chunk_lengths), H/U, D]: every token of this rank's H/U heads, in rank order.
at::Tensor ulysses_scatter_heads(parallel::Communicator& group, const at::Tensor& x,
                                 std::span<const int64_t> chunk_lengths);

// Head-sharded -> token-sharded, the inverse: y [B, sum(chunk_lengths), H/U, D] -> [B, S_mine, H, D].
at::Tensor ulysses_gather_heads(parallel::Communicator& group, const at::Tensor& y,
                                std::span<const int64_t> chunk_lengths);

}  // namespace uspdit::attention
