// The Wan 2.1 text-to-video transformer, sequence-parallel over a process mesh.
//
// Video tokens are cut into U·R chunks (parallel::SequenceSplit): each rank embeds the whole latent
// (a cheap convolution), keeps its chunk, runs every block on it — self-attention through USP,
// cross-attention to the replicated text locally (no communication), FFN row-wise — and the
// chunks are gathered after the head. The residual stream, norms, modulation and time
// embedding are fp32; matmuls run in the weights' dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include "parallel/mesh.h"
#include "models/wan/wan_config.h"
#include "models/wan/wan_weights.h"

namespace uspdit::models::wan {

struct WanInputs {
  at::Tensor hidden_states;          // [B, in_dim, F, H, W] latents
  at::Tensor timestep;               // [B]
  at::Tensor encoder_hidden_states;  // [B, L, text_dim]
};

class WanModel {
 public:
  WanModel(WanConfig config, WanWeights weights);

  // Every rank of the mesh's sequence group calls this with the same inputs; every rank returns
  // the whole output [B, out_dim, F, H, W] in fp32.
  at::Tensor forward(parallel::ProcessMesh& mesh, const WanInputs& inputs) const;

  const WanConfig& config() const { return config_; }

 private:
  WanConfig config_;
  WanWeights w_;
};

}  // namespace uspdit::models::wan
