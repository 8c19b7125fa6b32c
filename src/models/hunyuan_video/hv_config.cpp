#include "models/hunyuan_video/hv_config.h"

#include "core/error.h"

namespace uspdit::models::hunyuan_video {

HvConfig hv_preset(const std::string& name) {
  require(name == "hunyuanvideo" || name == "hunyuan-video" || name == "HYVideo-T/2-cfgdistill",
          "unknown HunyuanVideo model '" + name + "': use hunyuanvideo");
  return HvConfig{};
}

void validate(const HvConfig& c, const std::string& source) {
  auto fail = [&](const std::string& what) { throw UsageError(source + ": " + what); };
  if (c.hidden < 1 || c.heads < 1 || c.double_blocks < 0 || c.single_blocks < 0 || c.refiner_blocks < 0 ||
      c.in_channels < 1 || c.out_channels < 1 || c.text_dim < 1 || c.pooled_dim < 1 || c.mlp_ratio <= 0) {
    fail("sizes must be positive");
  }
  if (c.hidden % c.heads != 0) {
    fail("hidden_size " + std::to_string(c.hidden) + " is not divisible by heads_num " + std::to_string(c.heads));
  }
  if (c.rope_axes[0] + c.rope_axes[1] + c.rope_axes[2] != c.head_dim()) {
    fail("rope_dim_list sums to " + std::to_string(c.rope_axes[0] + c.rope_axes[1] + c.rope_axes[2]) +
         ", but head_dim is " + std::to_string(c.head_dim()));
  }
  for (auto a : c.rope_axes) {
    if (a % 2 != 0) fail("every rope_dim_list entry must be even");
  }
  for (auto p : c.patch) {
    if (p < 1) fail("patch_size entries must be >= 1");
  }
}

}  // namespace uspdit::models::hunyuan_video
