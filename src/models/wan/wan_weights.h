// The Wan 2.1 DiT's weights, under the original release's names (the engine's names). The
// diffusers layout is renamed into these by wan_name_map.h when loading.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "nn/layers.h"

namespace uspdit::models::wan {

struct WanAttentionWeights {
  nn::Linear q, k, v, o;
  at::Tensor norm_q, norm_k;  // RMSNorm weights over the whole dim (all heads together)
};

struct WanBlockWeights {
  at::Tensor modulation;     // [1, 6, dim] fp32
  WanAttentionWeights self_attn;
  at::Tensor norm3_weight, norm3_bias;  // affine LayerNorm before cross-attention (fp32)
  WanAttentionWeights cross_attn;
  nn::Linear ffn_in, ffn_out;
};

struct WanWeights {
  at::Tensor patch_weight, patch_bias;  // Conv3d [dim, in, pt, ph, pw]
  nn::Linear text_in, text_out;         // text_embedding.0 / .2
  nn::Linear time_in, time_out;         // time_embedding.0 / .2 (fp32)
  nn::Linear time_projection;           // time_projection.1 (fp32)
  std::vector<WanBlockWeights> blocks;
  at::Tensor head_modulation;           // [1, 2, dim] fp32
  nn::Linear head;                      // head.head
};

}  // namespace uspdit::models::wan
