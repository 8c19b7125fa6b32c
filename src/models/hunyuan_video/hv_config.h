// HunyuanVideo DiT hyper-parameters (HYVideo-T/2-cfgdistill and any consistent smaller config).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace uspdit::models::hunyuan_video {

struct HvConfig {
  int64_t hidden = 3072;
  int64_t heads = 24;
  double mlp_ratio = 4.0;          // double/single block MLP width = hidden · ratio
  int64_t double_blocks = 20;
  int64_t single_blocks = 40;
  int64_t refiner_blocks = 2;
  std::array<int64_t, 3> rope_axes = {16, 56, 56};
  double rope_theta = 256.0;
  std::array<int64_t, 3> patch = {1, 2, 2};
  int64_t in_channels = 16;
  int64_t out_channels = 16;
  int64_t text_dim = 4096;         // LLM hidden states
  int64_t pooled_dim = 768;        // CLIP pooled output
  bool guidance_embed = true;
  double eps = 1e-6;

  int64_t head_dim() const { return hidden / heads; }
  int64_t mlp_hidden() const { return static_cast<int64_t>(static_cast<double>(hidden) * mlp_ratio); }
  int64_t patch_volume() const { return patch[0] * patch[1] * patch[2]; }
};

// "hunyuanvideo" (HYVideo-T/2-cfgdistill). Throws UsageError otherwise.
HvConfig hv_preset(const std::string& name);

// Throws UsageError naming the field (hidden % heads, RoPE axes not summing to head_dim, ...).
void validate(const HvConfig& config, const std::string& source);

}  // namespace uspdit::models::hunyuan_video
