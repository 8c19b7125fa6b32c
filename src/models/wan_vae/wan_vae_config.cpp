#include "models/wan_vae/wan_vae_config.h"

#include <numeric>

#include "core/error.h"
#include "io/json.h"
#include "io/json_fields.h"

namespace uspdit::models::wan_vae {

std::vector<WanVaeStage> decoder_stages(const WanVaeConfig& c) {
  // Widths from the lowest resolution up: [base·mult.back()] + base·reversed(mult).
  std::vector<int64_t> dims{c.base_dim * c.dim_mult.back()};
  for (auto it = c.dim_mult.rbegin(); it != c.dim_mult.rend(); ++it) dims.push_back(c.base_dim * *it);
  std::vector<WanVaeStage> stages;
  const size_t n = c.dim_mult.size();
  for (size_t i = 0; i < n; ++i) {
    WanVaeStage s;
    // Every upsample conv halved the channels of the stage before (Wan 2.1's decoder).
    s.in_dim = i == 0 ? dims[0] : dims[i] / 2;
    s.out_dim = dims[i + 1];
    s.upsample = i + 1 != n;
    // The decoder upsamples in time where the encoder downsampled, in reverse order.
    s.temporal = s.upsample && c.temporal_downsample[n - 2 - i];
    stages.push_back(s);
  }
  return stages;
}

int64_t middle_dim(const WanVaeConfig& c) {
  return c.base_dim * c.dim_mult.back();
}

void validate(const WanVaeConfig& c, const std::string& source) {
  auto bad = [&](const std::string& what) { throw UsageError(source + ": " + what); };
  if (c.base_dim < 1 || c.z_dim < 1) bad("base_dim and z_dim must be positive");
  if (c.num_res_blocks < 0) bad("num_res_blocks must be >= 0");
  if (c.dim_mult.size() < 2) bad("dim_mult needs at least 2 entries");
  for (auto m : c.dim_mult) {
    if (m < 1) bad("dim_mult entries must be positive");
  }
  if (c.temporal_downsample.size() + 1 != c.dim_mult.size()) {
    bad("temperal_downsample needs len(dim_mult) - 1 = " + std::to_string(c.dim_mult.size() - 1) +
        " entries, has " + std::to_string(c.temporal_downsample.size()));
  }
  // Output frames 1 + 4(T-1) and 8x pixels: two temporal and three spatial upsamples.
  int64_t temporal = 0;
  for (bool t : c.temporal_downsample) temporal += t ? 1 : 0;
  if (temporal != 2 || c.dim_mult.size() != 4) {
    bad("only the Wan 2.1 layout is supported: 4 stages (dim_mult of 4 entries) with 2 temporal upsamples");
  }
  for (const auto& s : decoder_stages(c)) {
    if (s.upsample && s.out_dim % 2 != 0)
      bad("stage width " + std::to_string(s.out_dim) + " is odd; upsample halves it");
  }
  if (static_cast<int64_t>(c.latents_mean.size()) != c.z_dim ||
      static_cast<int64_t>(c.latents_std.size()) != c.z_dim) {
    bad("latents_mean and latents_std need z_dim = " + std::to_string(c.z_dim) + " entries each");
  }
  for (double s : c.latents_std) {
    if (!(s > 0)) bad("latents_std entries must be positive");
  }
}

WanVaeConfig wan_vae_config_from_json(const io::Json& json, const std::string& source) {
  require(json.is_object(), source + ": expected a JSON object");
  io::JsonFields f(json, source);
  const std::string cls = f.string("_class_name", "AutoencoderKLWan");
  require(cls == "AutoencoderKLWan",
          source + ": _class_name is '" + cls + "', expected AutoencoderKLWan (a Wan VAE)");
  require(!f.boolean("is_residual", false),
          source + ": is_residual=true is the Wan 2.2 VAE; only the Wan 2.1 VAE is supported");
  require(!f.has("patch_size"),
          source + ": patch_size is set (Wan 2.2 VAE); only the Wan 2.1 VAE is supported");
  const io::Json* attn_scales = f.find("attn_scales");
  require(!attn_scales || (attn_scales->is_array() && attn_scales->size() == 0),
          source + ": attn_scales must be empty (no attention in the Wan 2.1 up blocks)");
  require(f.integer("out_channels", 3) == 3, source + ": out_channels must be 3 (RGB)");
  WanVaeConfig c;
  c.base_dim = f.integer("base_dim", c.base_dim);
  // decoder_base_dim (Wan 2.2 option) replaces base_dim on the decoder side when set.
  c.base_dim = f.integer("decoder_base_dim", c.base_dim);
  c.z_dim = f.integer("z_dim", c.z_dim);
  c.dim_mult = f.integers("dim_mult", c.dim_mult);
  c.num_res_blocks = f.integer("num_res_blocks", c.num_res_blocks);
  c.temporal_downsample = f.booleans("temperal_downsample", c.temporal_downsample);
  c.latents_mean = f.numbers("latents_mean", c.latents_mean);
  c.latents_std = f.numbers("latents_std", c.latents_std);
  validate(c, source);
  return c;
}

WanVaeConfig read_wan_vae_config(const std::string& path) {
  return wan_vae_config_from_json(io::Json::parse_file(path), path);
}

WanVaeConfig wan_vae_config_from_shapes(const std::map<std::string, std::vector<int64_t>>& shapes,
                                        const std::string& source) {
  auto shape = [&](const std::string& name) -> const std::vector<int64_t>* {
    auto it = shapes.find(name);
    return it == shapes.end() ? nullptr : &it->second;
  };
  const auto* conv_in = shape("decoder.conv1.weight");
  require(conv_in && conv_in->size() == 5,
          source + ": no 5-D tensor 'decoder.conv1.weight' (is this a Wan 2.1 VAE, e.g. Wan2.1_VAE.pth?)");
  WanVaeConfig c;
  c.z_dim = (*conv_in)[1];
  // decoder.upsamples is one flat list: residual blocks, then a resample, per stage.
  std::vector<int64_t> stage_out;
  std::vector<bool> temporal;
  int64_t residuals_in_stage = 0, first_stage_residuals = -1;
  for (int k = 0;; ++k) {
    const std::string p = "decoder.upsamples." + std::to_string(k) + ".";
    if (const auto* conv = shape(p + "residual.2.weight"); conv && !conv->empty()) {
      if (residuals_in_stage == 0) stage_out.push_back((*conv)[0]);
      ++residuals_in_stage;
    } else if (shape(p + "resample.1.weight")) {
      temporal.push_back(shape(p + "time_conv.weight") != nullptr);
      if (first_stage_residuals < 0) first_stage_residuals = residuals_in_stage;
      residuals_in_stage = 0;
    } else {
      break;
    }
  }
  if (first_stage_residuals < 0) first_stage_residuals = residuals_in_stage;
  require(!stage_out.empty() && first_stage_residuals >= 1,
          source + ": no 'decoder.upsamples.N.residual.*' tensors (is this a Wan 2.1 VAE?)");
  c.num_res_blocks = first_stage_residuals - 1;
  int64_t base = 0;
  for (auto d : stage_out) base = std::gcd(base, d);
  c.base_dim = base;
  c.dim_mult.clear();
  for (auto it = stage_out.rbegin(); it != stage_out.rend(); ++it) c.dim_mult.push_back(*it / base);
  c.temporal_downsample.assign(temporal.rbegin(), temporal.rend());
  require(c.z_dim == 16,
          source + ": z_dim is " + std::to_string(c.z_dim) +
              " but the file has no config with latents_mean/latents_std (Wan 2.1's are for z_dim 16)");
  validate(c, source + " (config read from tensor shapes)");
  return c;
}

}  // namespace uspdit::models::wan_vae
