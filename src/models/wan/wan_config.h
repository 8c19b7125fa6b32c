// Wan 2.1 DiT hyper-parameters, from either layout's config.json.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace uspdit::models::wan {

struct WanConfig {
  int64_t dim = 1536;
  int64_t ffn_dim = 8960;
  int64_t freq_dim = 256;
  int64_t in_dim = 16;
  int64_t out_dim = 16;
  int64_t num_heads = 12;
  int64_t num_layers = 30;
  int64_t text_dim = 4096;
  int64_t text_len = 512;
  std::array<int64_t, 3> patch = {1, 2, 2};
  double eps = 1e-6;
  double rope_theta = 10000.0;
  bool qk_norm = true;
  bool cross_attn_norm = true;

  int64_t head_dim() const { return dim / num_heads; }
  int64_t patch_volume() const { return patch[0] * patch[1] * patch[2]; }
};

// The published sizes: "wan2.1-t2v-1.3b" and "wan2.1-t2v-14b". Throws UsageError otherwise.
WanConfig wan_preset(const std::string& name);

// Throws UsageError naming the field when the config is inconsistent (dim % heads, odd RoPE split...).
void validate(const WanConfig& config, const std::string& source);

}  // namespace uspdit::models::wan
