// The HunyuanVideo transformer, sequence-parallel over a process mesh.
//
// Video tokens are cut into U·R chunks (uneven where they do not divide). The text stream (after
// the token refiner, which runs on every rank: it is small) either travels in chunks with the
// video ("split": when the text length divides U·R) or stays whole on every rank ("front"/
// "rear": attended once, see attention/usp.h). Every joint attention — both block types — goes
// through USP; padded text keys are never attended. The residual streams are fp32.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "models/hunyuan_video/hv_config.h"
#include "models/hunyuan_video/hv_weights.h"
#include "parallel/mesh.h"

namespace uspdit::cache {
class StepCache;
}  // namespace uspdit::cache

namespace uspdit::models::hunyuan_video {

struct HvInputs {
  at::Tensor hidden_states;           // [B, C, F, H, W]
  at::Tensor timestep;                // [B]
  at::Tensor encoder_hidden_states;   // [B, L, text_dim], right-padded
  at::Tensor encoder_attention_mask;  // [B, L], 1 = real token (any dtype); undefined = all real
  at::Tensor pooled_projections;      // [B, pooled_dim]
  at::Tensor guidance;                // [B] (guidance scale · 1000); needed when guidance_embed
  // Step caching (cache/step_cache.h): null runs every block. TeaCache's indicator is the
  // modulated image tokens entering double block 0 (this rank's tokens: summed over the group).
  cache::StepCache* cache = nullptr;
};

class HvModel {
 public:
  HvModel(HvConfig config, HvWeights weights);

  // Every rank of the mesh calls this with the same inputs and gets the whole output
  // [B, out_channels, F, H, W] in fp32. joint_strategy: "auto", "split", "front" or "rear".
  at::Tensor forward(parallel::ProcessMesh& mesh, const HvInputs& inputs,
                     const std::string& joint_strategy = "auto") const;

  const HvConfig& config() const { return config_; }

 private:
  // The token refiner. Its rows are divided among the ranks of `group` (projections and MLP on
  // a rank's own rows; K/V gathered for the attention over all text keys; rows gathered at the
  // end), so a 3072-wide refiner over 256 tokens is not computed in full on every rank.
  at::Tensor refine_text(const at::Tensor& text, const at::Tensor& text_valid, const at::Tensor& timestep,
                         parallel::Communicator& group) const;
  at::Tensor conditioning(const HvInputs& in) const;

  HvConfig config_;
  HvWeights w_;
};

}  // namespace uspdit::models::hunyuan_video
