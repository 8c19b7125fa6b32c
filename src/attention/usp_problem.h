// A synthetic USP attention problem: the same global inputs on every rank (seeded), each
// rank's shard of them, the gathered parallel result, and the single-rank reference.
// `uspdit bench-attn`, the main demo job and the multi-rank tests all run through this.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "attention/usp.h"

namespace uspdit::attention {

struct AttnProblem {
  int64_t batch = 1;
  int64_t seq_len = 1024;   // video tokens
  int64_t heads = 24;
  int64_t head_dim = 64;
  int64_t text_len = 0;     // joint text tokens (0 = none)
  int64_t text_padding = 0; // trailing text tokens that are padding (masked), for batch row 0
  at::ScalarType dtype = at::kFloat;
  uint64_t seed = 0;
};

struct GlobalInputs {
  at::Tensor q, k, v;           // [B, L, H, D]
  at::Tensor text_q, text_k, text_v;  // [B, Lt, H, D] or undefined
  at::Tensor text_valid;        // [B, Lt] bool or undefined (no padding)
};

GlobalInputs make_global_inputs(const AttnProblem& problem);

struct ShardedInputs {
  parallel::SequenceSplit video_split;
  at::Tensor q, k, v;
  std::optional<JointText> text;
};

ShardedInputs shard_inputs(const GlobalInputs& global, const parallel::ProcessMesh& mesh,
                           JointStrategy strategy);

// Moves a rank's shard to the run's device (inputs are always made on the CPU, so that every
// device and every configuration starts from the same numbers).
void move_to(ShardedInputs& in, const at::Device& device);

struct GatheredOutput {
  at::Tensor video;  // [B, L, H, D]
  at::Tensor text;   // [B, Lt, H, D] or undefined
};

// Gathers every rank's output of one CFG branch (the sequence group) into global tensors.
GatheredOutput gather_output(parallel::ProcessMesh& mesh, const UspOutput& out, const ShardedInputs& in,
                             JointStrategy strategy);

// Single-rank attention over [video ; text] with the text mask: the reference.
GatheredOutput reference_output(const GlobalInputs& global);

// max |a - b| over video and text, in fp32. Padded text query rows are compared too.
double max_abs_error(const GatheredOutput& a, const GatheredOutput& b);

// Elements one rank sends per attention call, by the formulas of the USP papers
// (Ulysses 4·(U−1)/U·(L/P)·H·D, ring 2·(R−1)·(L/P)·H·D over the rank's H/U heads).
struct TrafficFormula {
  double ulysses_elements = 0;
  double ring_elements = 0;
};
TrafficFormula traffic_formula(int64_t batch, int64_t tokens, int64_t heads, int64_t head_dim,
                               int ulysses, int ring);

}  // namespace uspdit::attention
