#include "models/hv_vae/hv_vae_config.h"

#include <cmath>

#include "core/error.h"
#include "io/json.h"
#include "io/json_fields.h"

namespace uspdit::models::hv_vae {
namespace {

// sample_size is an int, or [h, w] of which the original uses the first.
int64_t int_or_first(const io::JsonFields& f, const char* key, int64_t fallback) {
  const io::Json* v = f.find(key);
  if (v && v->is_array()) {
    require(v->size() >= 1 && v->item(0).is_int(),
            f.source() + ": field '" + key + "' must be an integer or [h, w]");
    return v->item(0).as_int();
  }
  return f.integer(key, fallback);
}

int64_t log2_exact(int64_t v) {
  int64_t n = 0;
  while (v > 1 && v % 2 == 0) v /= 2, ++n;
  return v == 1 ? n : -1;
}

}  // namespace

const char* family_name(HvVaeFamily family) {
  return family == HvVaeFamily::kOriginal ? "original AutoencoderKLCausal3D"
                                          : "diffusers AutoencoderKLHunyuanVideo";
}

std::vector<HvVaeUpBlock> decoder_up_blocks(const HvVaeConfig& c) {
  const auto n = static_cast<int64_t>(c.block_out_channels.size());
  const int64_t space_layers = log2_exact(c.spatial_compression_ratio);
  const int64_t time_layers = log2_exact(c.time_compression_ratio);
  std::vector<HvVaeUpBlock> blocks;
  int64_t channels = c.block_out_channels.back();
  for (int64_t i = 0; i < n; ++i) {
    HvVaeUpBlock b;
    b.in_channels = channels;
    b.out_channels = c.block_out_channels[static_cast<size_t>(n - 1 - i)];
    const bool last = i == n - 1;
    b.upsample_space = i < space_layers;
    b.upsample_time = i >= n - 1 - time_layers && !last;
    channels = b.out_channels;
    blocks.push_back(b);
  }
  return blocks;
}

void validate(const HvVaeConfig& c, const std::string& source) {
  auto bad = [&](const std::string& what) { throw UsageError(source + ": " + what); };
  if (c.latent_channels < 1) bad("latent_channels must be positive");
  if (c.out_channels != 3) bad("out_channels must be 3 (RGB)");
  if (c.block_out_channels.size() < 2) bad("block_out_channels needs at least 2 entries");
  if (c.layers_per_block < 0) bad("layers_per_block must be >= 0");
  if (c.norm_num_groups < 1) bad("norm_num_groups must be positive");
  for (auto ch : c.block_out_channels) {
    if (ch < 1 || ch % c.norm_num_groups != 0)
      bad("block_out_channels entries must be positive multiples of norm_num_groups " +
          std::to_string(c.norm_num_groups));
  }
  if (c.time_compression_ratio != 4)
    bad("time_compression_ratio must be 4 (the only one the reference decoder supports), got " +
        std::to_string(c.time_compression_ratio));
  const int64_t space_layers = log2_exact(c.spatial_compression_ratio);
  const auto n = static_cast<int64_t>(c.block_out_channels.size());
  if (space_layers < 0 || space_layers > n)
    bad("spatial_compression_ratio must be a power of 2 up to 2^len(block_out_channels), got " +
        std::to_string(c.spatial_compression_ratio));
  if (n < 3) bad("time_compression_ratio 4 needs at least 3 up blocks (block_out_channels of 3 or more)");
  if (!(c.scaling_factor > 0) || !std::isfinite(c.scaling_factor)) bad("scaling_factor must be positive");
  if (c.sample_size < 1 || c.sample_tsize < 1) bad("sample_size and sample_tsize must be positive");
}

HvVaeFamily detect_family(const io::Json& json, const std::string& source) {
  require(json.is_object(), source + ": expected a JSON object");
  io::JsonFields f(json, source);
  const std::string cls = f.string("_class_name", "");
  if (cls == "AutoencoderKLCausal3D") return HvVaeFamily::kOriginal;
  if (cls == "AutoencoderKLHunyuanVideo") return HvVaeFamily::kDiffusers;
  require(cls.empty(),
          source + ": _class_name is '" + cls +
              "', expected AutoencoderKLCausal3D (HunyuanVideo release) or AutoencoderKLHunyuanVideo "
              "(diffusers)");
  if (f.has("temporal_compression_ratio")) return HvVaeFamily::kDiffusers;
  require(f.has("time_compression_ratio") || f.has("sample_tsize"),
          source +
              ": no _class_name and neither time_compression_ratio (release) nor temporal_compression_ratio "
              "(diffusers): is this a HunyuanVideo VAE config?");
  return HvVaeFamily::kOriginal;
}

HvVaeConfig hv_vae_config_from_json(const io::Json& json, const std::string& source) {
  const HvVaeFamily family = detect_family(json, source);
  io::JsonFields f(json, source);
  HvVaeConfig c;
  c.latent_channels = f.integer("latent_channels", family == HvVaeFamily::kOriginal ? 4 : 16);
  c.out_channels = f.integer("out_channels", 3);
  c.block_out_channels =
      f.integers("block_out_channels",
                 family == HvVaeFamily::kOriginal ? std::vector<int64_t>{64} : c.block_out_channels);
  c.layers_per_block = f.integer("layers_per_block", family == HvVaeFamily::kOriginal ? 1 : 2);
  c.norm_num_groups = f.integer("norm_num_groups", c.norm_num_groups);
  const std::string act = f.string("act_fn", "silu");
  require(act == "silu" || act == "swish", source + ": act_fn is '" + act + "', only silu is supported");
  const char* ratio_key =
      family == HvVaeFamily::kOriginal ? "time_compression_ratio" : "temporal_compression_ratio";
  c.time_compression_ratio = f.integer(ratio_key, 4);
  c.spatial_compression_ratio = f.integer("spatial_compression_ratio", 8);
  c.scaling_factor =
      f.number("scaling_factor", family == HvVaeFamily::kOriginal ? 0.18215 : c.scaling_factor);
  c.mid_block_add_attention = f.boolean("mid_block_add_attention", true);
  require(
      !f.has("shift_factor") || f.number("shift_factor", 0.0) == 0.0,
      source + ": shift_factor is set; the HunyuanVideo VAE decodes latents / scaling_factor with no shift");
  if (family == HvVaeFamily::kOriginal) {
    // AutoencoderKLCausal3D's constructor defaults where the file is silent.
    c.sample_size = int_or_first(f, "sample_size", 32);
    c.sample_tsize = f.integer("sample_tsize", 64);
  }
  validate(c, source);
  return c;
}

HvVaeConfig read_hv_vae_config(const std::string& path, HvVaeFamily* family) {
  const auto json = io::Json::parse_file(path);
  if (family) *family = detect_family(json, path);
  return hv_vae_config_from_json(json, path);
}

}  // namespace uspdit::models::hv_vae
