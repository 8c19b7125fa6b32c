// HunyuanVideo's second text encoder: the CLIP-L text tower, whose pooler_output (no projection)
// becomes the DiT's text_states_2. Computed as transformers' CLIPTextModel does in the run dtype
// (fp16 for HunyuanVideo, weights rounded from the fp32 checkpoint): token + learned position
// embedding; per layer LayerNorm, q/k/v with bias, SDPA with scale 1/sqrt(head_dim) under the
// causal mask plus the key-padding mask (each finfo.min, added), out-proj, residual; LayerNorm,
// fc2(act(fc1(x))), residual; final LayerNorm; the state at the end-of-text token.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>

#include "models/clip/clip_config.h"
#include "models/clip/clip_weights.h"

namespace uspdit::models::clip {

struct ClipTextOutput {
  at::Tensor last_hidden_state;  // [B, L, hidden] after final_layer_norm
  at::Tensor pooler_output;      // [B, hidden]
};

class ClipTextEncoder {
 public:
  ClipTextEncoder(ClipTextConfig config, ClipTextWeights weights);

  // `path`: a CLIPTextModel or CLIPModel save_pretrained folder (config.json + model.safetensors
  // or pytorch_model.bin; HunyuanVideo's ckpts/text_encoder_2 is openai/clip-vit-large-patch14),
  // or a diffusers pipeline root holding it as text_encoder_2/. Only text-tower tensors are read,
  // converted to `dtype` and uploaded to `device`. Problems: one-line UsageError naming the file.
  static ClipTextEncoder load(const std::string& path, at::ScalarType dtype, c10::Device device);

  // input_ids [B, L <= max_position_embeddings] int64 and attention_mask [B, L] (1 = token) or
  // undefined (diffusers passes none; causal attention makes the pooled state the same) -> both
  // outputs in the run dtype on the weights' device.
  ClipTextOutput encode(const at::Tensor& input_ids, const at::Tensor& attention_mask = {}) const;
  // encode(...).pooler_output: [B, hidden].
  at::Tensor pooled(const at::Tensor& input_ids, const at::Tensor& attention_mask = {}) const;

  const ClipTextConfig& config() const { return config_; }
  const ClipTextWeights& weights() const { return weights_; }
  at::ScalarType dtype() const { return weights_.token_embedding.scalar_type(); }

 private:
  ClipTextConfig config_;
  ClipTextWeights weights_;
};

// Where pooling reads each row: input_ids.argmax(-1) for the legacy eos_token_id 2, else the
// first position holding eos_token_id (0 when a row has none, as transformers' argmax gives).
at::Tensor clip_pool_positions(const at::Tensor& input_ids, const ClipTextConfig& config);

}  // namespace uspdit::models::clip
