// HunyuanVideo DiT weights under the original release's names (the engine's names): fused
// q/k/v projections (`*_attn_qkv`, the single blocks' `linear1`), final modulation as
// (shift, scale). The diffusers layout is converted into these by the loader.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "nn/layers.h"

namespace uspdit::models::hunyuan_video {

struct MlpWeights {
  nn::Linear in, out;  // in: fc1, out: fc2
};

struct RefinerBlockWeights {
  at::Tensor norm1_weight, norm1_bias;  // affine LayerNorm (fp32)
  nn::Linear qkv, proj;
  at::Tensor norm2_weight, norm2_bias;
  MlpWeights mlp;                        // SiLU MLP, 4 · hidden
  nn::Linear modulation;                 // adaLN_modulation.1: gate_msa, gate_mlp
};

struct StreamWeights {  // one stream (img or txt) of a double block
  nn::Linear modulation;  // *_mod.linear: shift1, scale1, gate1, shift2, scale2, gate2
  nn::Linear qkv;
  at::Tensor q_norm, k_norm;  // per-head RMSNorm weights [head_dim] (fp32)
  nn::Linear proj;
  MlpWeights mlp;             // GELU(tanh) MLP
};

struct DoubleBlockWeights {
  StreamWeights img, txt;
};

struct SingleBlockWeights {
  nn::Linear linear1;  // [3·hidden + mlp_hidden, hidden]: q, k, v, mlp
  nn::Linear linear2;  // [hidden, hidden + mlp_hidden]
  at::Tensor q_norm, k_norm;
  nn::Linear modulation;  // shift, scale, gate
};

struct HvWeights {
  at::Tensor img_in_weight, img_in_bias;  // Conv3d [hidden, C, pt, ph, pw]
  nn::Linear txt_input, txt_t_in, txt_t_out, txt_c_in, txt_c_out;
  std::vector<RefinerBlockWeights> refiner;
  nn::Linear time_in, time_out, vector_in, vector_out, guidance_in, guidance_out;
  std::vector<DoubleBlockWeights> double_blocks;
  std::vector<SingleBlockWeights> single_blocks;
  nn::Linear final_linear, final_modulation;  // final_modulation: shift, scale
};

}  // namespace uspdit::models::hunyuan_video
