// Unified Sequence Parallel attention: Ulysses all-to-all inside each Ulysses group, Ring
// across ring groups, on the 2-D mesh of parallel/mesh.h, with optional joint text tokens.
//
// Video tokens are cut into U·R chunks (parallel::SequenceSplit, uneven where the length does not
// divide): rank (ulysses u, ring r) holds chunk r·U + u. Joint text tokens either
//  - kSplit: are cut the same way and travel with the video chunk (no mask needed unless the
//    text has padding, whose keys are then masked everywhere), or
//  - kFront / kRear: are replicated on every rank; their K/V (sliced to the rank's heads) are
//    attended exactly once, before or after the ring; their queries are divided among the ring
//    ranks and the text output is gathered, so every rank ends with the same text output.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

#include "attention/ring.h"
#include "parallel/mesh.h"
#include "parallel/sequence_split.h"

namespace uspdit::attention {

enum class JointStrategy { kSplit, kFront, kRear };

// "split" | "front" | "rear" | "auto" (split when the text length divides U·R, else front).
// Throws UsageError on anything else.
JointStrategy parse_joint_strategy(const std::string& name, int64_t text_length, int sequence_degree);
const char* joint_strategy_name(JointStrategy strategy);

struct JointText {
  // kSplit: this rank's text chunk [B, Lt_c, H, D] (chunk r·U+u of SequenceSplit::even(Lt, U·R)).
  // kFront/kRear: all text tokens [B, Lt, H, D], identical on every rank.
  at::Tensor q, k, v;
  at::Tensor key_valid;  // [B, Lt] bool over ALL text tokens, true = real token; undefined = all real
  int64_t length = 0;    // Lt
  JointStrategy strategy = JointStrategy::kSplit;
};

struct UspOutput {
  at::Tensor out;       // [B, S_c, H, D]: this rank's video chunk
  at::Tensor text_out;  // kSplit: this rank's text chunk; kFront/kRear: all text [B, Lt, H, D]
  RingTimings ring;
};

struct UspOptions {
  std::optional<double> scale;  // default 1/sqrt(head_dim)
};

// q, k, v: this rank's video chunk [B, S_c, H, D] of a sequence cut by video_split (U·R parts).
UspOutput usp_attention(parallel::ProcessMesh& mesh, const at::Tensor& q, const at::Tensor& k,
                        const at::Tensor& v, const parallel::SequenceSplit& video_split,
                        const JointText* text, const UspOptions& options = {});

}  // namespace uspdit::attention
