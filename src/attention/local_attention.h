// Attention on the tensors a rank holds, returning the log-sum-exp of every query row so that
// partial results over different key blocks can be merged exactly (ring attention).
//
// Layout: q [B, Sq, H, D], k and v [B, Sk, H, D] (tokens before heads, as the models hold them).
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

#include "attention/attention_kernels.h"

namespace uspdit::attention {

struct PartialAttention {
  at::Tensor out;  // [B, H, Sq, D], fp32
  at::Tensor lse;  // [B, H, Sq], fp32; rows with no attendable key hold kNoKeysLse and out 0
};

// Log-sum-exp standing for "no key attended": finite so that merging never forms inf - inf.
inline constexpr float kNoKeysLse = -1e30f;

// key_valid: [B, Sk] bool, true where the key may be attended; undefined = all keys valid.
// scale defaults to 1/sqrt(D). Computation runs in q's dtype; out and lse come back in fp32.
// The kernel is chosen per call (choose_attention_kernel, or USPDIT_ATTENTION_KERNEL). A mask on
// the device is applied as it is: the host never waits for the device here. A mask held on the
// CPU is read on the host: all valid drops it, none valid skips the kernel, and with B == 1 on a
// GPU the padded keys are removed from K/V (wherever they sit) so that no bias is needed.
PartialAttention attend_block(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& key_valid, std::optional<double> scale);

// attend_block with `kernel` forced (it must be able to run the call, else UsageError says why);
// nullopt chooses as attend_block does. For tests and benchmarks.
PartialAttention attend_block_with(std::optional<AttentionKernel> kernel, const at::Tensor& q,
                                   const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_valid,
                                   std::optional<double> scale);

// Merges partial results over disjoint key blocks, in fp32, by their log-sum-exp.
class AttentionAccumulator {
 public:
  void add(PartialAttention block);
  bool empty() const { return !out_.defined(); }
  // [B, Sq, H, D] in `dtype`.
  at::Tensor result(at::ScalarType dtype) const;
  const at::Tensor& lse() const { return lse_; }

 private:
  at::Tensor out_;
  at::Tensor lse_;
};

// Plain single-block attention [B,S,H,D] -> [B,S,H,D]: the reference every parallel path must equal.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& key_valid = {}, std::optional<double> scale = std::nullopt);

}  // namespace uspdit::attention
