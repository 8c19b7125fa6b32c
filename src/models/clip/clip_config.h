// The hyper-parameters of a CLIP text tower (HunyuanVideo's second text encoder: the text model of
// openai/clip-vit-large-patch14), from a CLIPTextModel config.json or a whole CLIPModel's
// (its text_config).
#pragma once

#include <cstdint>
#include <string>

#include "nn/activation.h"

namespace uspdit::models::clip {

// Defaults are transformers' CLIPTextConfig defaults, used for fields a config.json leaves out.
struct ClipTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 512;
  int64_t intermediate_size = 2048;
  int64_t num_layers = 12;
  int64_t num_heads = 8;
  int64_t max_position_embeddings = 77;
  double layer_norm_eps = 1e-5;
  nn::Activation act = nn::Activation::kQuickGelu;
  // 2 is the legacy value of the openai configs: pooling then takes input_ids.argmax(-1) (the
  // end-of-text id is the highest); any other value pools at its first occurrence.
  int64_t eos_token_id = 49407;

  int64_t head_dim() const { return hidden_size / num_heads; }
  bool legacy_pooling() const { return eos_token_id == 2; }
};

// openai/clip-vit-large-patch14's text tower (768 wide, 12 layers, 12 heads, eos_token_id 2).
ClipTextConfig clip_vit_large_text_config();

// model_type "clip_text_model" (a CLIPTextModel folder) or "clip" (a CLIPModel folder: its
// text_config). Refuses other models and activations, naming the field.
ClipTextConfig read_clip_text_config_json(const std::string& path);

void validate(const ClipTextConfig& config, const std::string& where);

// "hidden 768, 12 layers, 12 heads, ffn 3072, quick_gelu, vocab 49408, eos 2".
std::string describe(const ClipTextConfig& config);

}  // namespace uspdit::models::clip
