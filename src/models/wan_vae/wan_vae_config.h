// Wan-VAE (Wan 2.1) hyper-parameters: defaults of the release, diffusers' config.json
// (AutoencoderKLWan), or read back from the tensor shapes of a state dict (Wan2.1_VAE.pth ships
// without a config). Only the decoder side is used; its structure follows from the config.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace uspdit::io {
class Json;
}  // namespace uspdit::io

namespace uspdit::models::wan_vae {

struct WanVaeConfig {
  int64_t base_dim = 96, z_dim = 16;
  std::vector<int64_t> dim_mult{1, 2, 4, 4};
  int64_t num_res_blocks = 2;
  std::vector<bool> temporal_downsample{false, true, true};
  // Per-channel statistics of the latent space: decode maps DiT latents z to z·std + mean.
  std::vector<double> latents_mean{-0.7571, -0.7089, -0.9113, 0.1075,  -0.1745, 0.9653,  -0.1517, 1.5508,
                                   0.4134,  -0.0715, 0.5517,  -0.3632, -0.1922, -0.9497, 0.2503,  -0.2921};
  std::vector<double> latents_std{2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                                  3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160};
};

// One stage of the decoder, from the lowest resolution up: num_res_blocks + 1 residual blocks
// in_dim -> out_dim, then (all but the last stage) a 2x spatial upsample whose conv halves the
// channels, and with `temporal` a causal time conv that doubles the frames.
struct WanVaeStage {
  int64_t in_dim = 0, out_dim = 0;
  bool upsample = false, temporal = false;
};

// The decoder's stages (Wan 2.1: 384->384 (3d), 192->384 (3d), 192->192 (2d), 96->96).
std::vector<WanVaeStage> decoder_stages(const WanVaeConfig& config);
// Channels of the middle block (base_dim · dim_mult.back()).
int64_t middle_dim(const WanVaeConfig& config);

// Throws UsageError naming `source` and the field when the config is inconsistent.
void validate(const WanVaeConfig& config, const std::string& source);

// diffusers' AutoencoderKLWan config.json. Wan 2.2 variants (is_residual, patch_size) and
// attention in the up blocks (attn_scales) are refused with the reason.
WanVaeConfig wan_vae_config_from_json(const io::Json& json, const std::string& source);
WanVaeConfig read_wan_vae_config(const std::string& path);

// The decoder's config from tensor shapes by original (Wan 2.1) name; base_dim is the gcd of the
// stages' widths (96 for the release). The latent statistics are Wan 2.1's, so z_dim must be 16.
// `source` names the checkpoint in messages.
WanVaeConfig wan_vae_config_from_shapes(const std::map<std::string, std::vector<int64_t>>& shapes,
                                        const std::string& source);

}  // namespace uspdit::models::wan_vae
