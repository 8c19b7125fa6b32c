#include "models/wan/wan_config.h"

#include "core/error.h"

namespace uspdit::models::wan {

WanConfig wan_preset(const std::string& name) {
  WanConfig c;
  if (name == "wan2.1-t2v-1.3b") {
    c.dim = 1536, c.ffn_dim = 8960, c.num_heads = 12, c.num_layers = 30;
  } else if (name == "wan2.1-t2v-14b") {
    c.dim = 5120, c.ffn_dim = 13824, c.num_heads = 40, c.num_layers = 40;
  } else {
    throw UsageError("unknown Wan model '" + name + "': use wan2.1-t2v-1.3b or wan2.1-t2v-14b");
  }
  return c;
}

void validate(const WanConfig& c, const std::string& source) {
  auto fail = [&](const std::string& what) { throw UsageError(source + ": " + what); };
  if (c.dim < 1 || c.num_heads < 1 || c.num_layers < 0 || c.ffn_dim < 1 || c.in_dim < 1 || c.out_dim < 1 ||
      c.text_dim < 1 || c.freq_dim < 2) {
    fail("dim, num_heads, ffn_dim, in_dim, out_dim, text_dim and freq_dim must be positive");
  }
  if (c.dim % c.num_heads != 0) {
    fail("dim " + std::to_string(c.dim) + " is not divisible by num_heads " + std::to_string(c.num_heads));
  }
  if (c.head_dim() % 2 != 0 || (c.head_dim() / 6) * 2 % 2 != 0) {
    fail("head_dim " + std::to_string(c.head_dim()) + " must be even for the 3-D RoPE");
  }
  for (auto p : c.patch) {
    if (p < 1) fail("patch_size entries must be >= 1");
  }
}

}  // namespace uspdit::models::wan
