// HunyuanVideo VAE (884-16c-hy, a causal 3-D VAE) hyper-parameters, from either config.json:
// the original release's (vae/config.json, AutoencoderKLCausal3D keys) or diffusers'
// (AutoencoderKLHunyuanVideo). Only the decoder side is used; its structure follows from the
// config. The original's sample_size / sample_tsize set the tile sizes (hv_vae_tiling.h);
// diffusers' config has neither, so the release's values (256 / 64) are assumed for it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uspdit::io {
class Json;
}  // namespace uspdit::io

namespace uspdit::models::hv_vae {

// Which config.json (and so which weight file) a VAE folder holds.
enum class HvVaeFamily { kOriginal, kDiffusers };
const char* family_name(HvVaeFamily family);

struct HvVaeConfig {
  int64_t latent_channels = 16, out_channels = 3;
  std::vector<int64_t> block_out_channels{128, 256, 512, 512};
  int64_t layers_per_block = 2;
  int64_t norm_num_groups = 32;
  int64_t time_compression_ratio = 4, spatial_compression_ratio = 8;
  double scaling_factor = 0.476986;  // decode input = latents / scaling_factor (no shift)
  bool mid_block_add_attention = true;
  int64_t sample_size = 256, sample_tsize = 64;  // output pixels / frames of one tile
};

// One up block of the decoder, lowest resolution first: layers_per_block + 1 resnets in -> out,
// then an UpsampleCausal3D when `upsample_space || upsample_time`.
struct HvVaeUpBlock {
  int64_t in_channels = 0, out_channels = 0;
  bool upsample_space = false, upsample_time = false;
};

// The reference's rule (time_compression_ratio 4): block i upsamples space iff
// i < log2(spatial ratio) and time iff i >= n - 1 - log2(time ratio) and it is not the last.
// Release: (1,2,2), (2,2,2), (2,2,2), none.
std::vector<HvVaeUpBlock> decoder_up_blocks(const HvVaeConfig& config);

// Throws UsageError naming `source` and the field when the config is not one this decoder runs.
void validate(const HvVaeConfig& config, const std::string& source);

// The family from _class_name, else from the keys (time_compression_ratio / sample_tsize are the
// original's, temporal_compression_ratio is diffusers').
HvVaeFamily detect_family(const io::Json& json, const std::string& source);
HvVaeConfig hv_vae_config_from_json(const io::Json& json, const std::string& source);
HvVaeConfig read_hv_vae_config(const std::string& path, HvVaeFamily* family = nullptr);

}  // namespace uspdit::models::hv_vae
