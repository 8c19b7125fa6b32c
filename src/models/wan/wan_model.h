// The Wan 2.1 text-to-video transformer, sequence-parallel over a process mesh.
//
// Video tokens are cut into U·R chunks (parallel::SequenceSplit): each rank embeds the whole latent
// (a cheap convolution), keeps its chunk, runs every block on it — self-attention through USP,
// cross-attention to the replicated text locally (no communication), FFN row-wise — and the
// chunks are gathered after the head. The residual stream, norms, modulation and time
// embedding are fp32; matmuls run in the weights' dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include "models/wan/wan_config.h"
#include "models/wan/wan_weights.h"
#include "nn/rope3d.h"
#include "parallel/mesh.h"
#include "parallel/sequence_split.h"

namespace uspdit::cache {
class StepCache;
}  // namespace uspdit::cache

namespace uspdit::models::wan {

struct WanInputs {
  at::Tensor hidden_states;          // [B, in_dim, F, H, W] latents
  at::Tensor timestep;               // [B]
  at::Tensor encoder_hidden_states;  // [B, L, text_dim]
  // Step caching (cache/step_cache.h): null runs every block. Its TeaCache indicator is the
  // timestep embedding e, or the projection e0 with --use_ret_steps (replicated: no exchange).
  cache::StepCache* cache = nullptr;
};

class WanModel {
 public:
  WanModel(WanConfig config, WanWeights weights);

  // Every rank of the mesh's sequence group calls this with the same inputs; every rank returns
  // the whole output [B, out_dim, F, H, W] in fp32.
  at::Tensor forward(parallel::ProcessMesh& mesh, const WanInputs& inputs) const;

  const WanConfig& config() const { return config_; }

 private:
  // One block on this rank's tokens x [B, S_local, dim]; e0 [B, 6, dim], context [B, L, dim].
  at::Tensor block(const WanBlockWeights& blk, at::Tensor x, const at::Tensor& e0, const at::Tensor& context,
                   parallel::ProcessMesh& mesh, const nn::RopeTable& rope,
                   const parallel::SequenceSplit& split) const;

  WanConfig config_;
  WanWeights w_;
};

}  // namespace uspdit::models::wan
