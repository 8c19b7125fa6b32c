// The umt5 encoder's hyper-parameters (google/umt5-xxl's encoder as Wan 2.1 uses it), from the
// real model's constants, an HF config.json, or the shapes of a state dict that ships none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uspdit::models::umt5 {

struct Umt5Config {
  int64_t vocab = 256384;
  int64_t dim = 4096;
  int64_t ffn_dim = 10240;
  int64_t num_heads = 64;
  int64_t head_dim = 64;
  int64_t num_layers = 24;
  int64_t num_buckets = 32;   // relative position buckets, bidirectional (half per direction)
  int64_t max_distance = 128;
  double eps = 1e-6;

  int64_t attn_dim() const { return num_heads * head_dim; }
};

// The real model's values (wan/modules/t5.py umt5_xxl, encoder only).
Umt5Config umt5_xxl_config();

// HF UMT5Config fields of `path` (config.json). Refuses a non-gated or non-GELU feed-forward,
// which this encoder does not implement, naming the field.
Umt5Config read_umt5_config_json(const std::string& path);

// Every consistency rule between the fields (positive sizes, even bucket count, ...); `where`
// names the source in the message.
void validate(const Umt5Config& config, const std::string& where);

// "dim 4096, ffn 10240, 64 heads x 64, 24 layers, vocab 256384".
std::string describe(const Umt5Config& config);

}  // namespace uspdit::models::umt5
