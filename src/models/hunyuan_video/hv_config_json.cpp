#include "models/hunyuan_video/hv_config_json.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/json_fields.h"
#include "models/hunyuan_video/hv_name_map.h"

namespace uspdit::models::hunyuan_video {
namespace {

using Fields = io::JsonFields;

// The release's patch_size: [pt, ph, pw] or one integer for all three.
std::array<int64_t, 3> patch_of(const Fields& f, const char* key, std::array<int64_t, 3> fallback) {
  const io::Json* v = f.find(key);
  if (v && v->is_int()) return {v->as_int(), v->as_int(), v->as_int()};
  return f.triple(key, fallback);
}

void read_original(const Fields& f, HvConfig& c) {
  c.hidden = f.integer("hidden_size", c.hidden);
  c.heads = f.integer("heads_num", c.heads);
  c.mlp_ratio = f.number("mlp_width_ratio", c.mlp_ratio);
  c.double_blocks = f.integer("mm_double_blocks_depth", c.double_blocks);
  c.single_blocks = f.integer("mm_single_blocks_depth", c.single_blocks);
  c.refiner_blocks = f.integer("token_refiner_depth", c.refiner_blocks);
  c.rope_axes = f.triple("rope_dim_list", c.rope_axes);
  c.rope_theta = f.number("rope_theta", c.rope_theta);
  c.patch = patch_of(f, "patch_size", c.patch);
  c.in_channels = f.integer("in_channels", c.in_channels);
  c.out_channels = f.integer("out_channels", c.in_channels);  // the release: None -> in_channels
  c.text_dim = f.integer("text_states_dim", c.text_dim);
  c.pooled_dim = f.integer("text_states_dim_2", c.pooled_dim);
  c.guidance_embed = f.boolean("guidance_embed", c.guidance_embed);
  f.expect("mlp_act_type", "gelu_tanh", "only gelu_tanh (the release's) is supported");
  f.expect("qk_norm_type", "rms", "only rms (the release's) is supported");
  f.expect("text_projection", "single_refiner",
           "only single_refiner (the release's token refiner) is supported");
  f.expect_true("qkv_bias", "the engine expects q/k/v biases (as in the release)");
  f.expect_true("qk_norm", "the engine expects q/k RMSNorm (as in the release)");
}

void read_diffusers(const Fields& f, const std::string& source, HvConfig& c) {
  require(!f.has("image_condition_type"),
          source + ": \"image_condition_type\" is '" + f.string("image_condition_type", "") +
              "': this is an image-to-video HunyuanVideo model; only text-to-video is supported");
  c.heads = f.integer("num_attention_heads", c.heads);
  c.hidden = c.heads * f.integer("attention_head_dim", HvConfig{}.head_dim());
  c.mlp_ratio = f.number("mlp_ratio", c.mlp_ratio);
  c.double_blocks = f.integer("num_layers", c.double_blocks);
  c.single_blocks = f.integer("num_single_layers", c.single_blocks);
  c.refiner_blocks = f.integer("num_refiner_layers", c.refiner_blocks);
  const int64_t p = f.integer("patch_size", c.patch[1]);
  c.patch = {f.integer("patch_size_t", c.patch[0]), p, p};
  c.rope_axes = f.triple("rope_axes_dim", c.rope_axes);
  c.rope_theta = f.number("rope_theta", c.rope_theta);
  c.in_channels = f.integer("in_channels", c.in_channels);
  c.out_channels = f.integer("out_channels", c.in_channels);  // diffusers: None -> in_channels
  c.text_dim = f.integer("text_embed_dim", c.text_dim);
  c.pooled_dim = f.integer("pooled_projection_dim", c.pooled_dim);
  c.guidance_embed = f.boolean("guidance_embeds", c.guidance_embed);
  f.expect("qk_norm", "rms_norm", "only rms_norm (HunyuanVideo's) is supported");
}

// "double_blocks.": 1 + the highest N of any "double_blocks.N.*" name (0 when there is none).
int64_t count_blocks(const std::vector<std::string>& names, const std::string& prefix) {
  int64_t count = 0;
  for (const auto& name : names) {
    if (name.rfind(prefix, 0) != 0) continue;
    size_t i = prefix.size();
    int64_t index = 0;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) &&
           index < (int64_t{1} << 40)) {
      index = index * 10 + (name[i++] - '0');
    }
    if (i > prefix.size() && i < name.size() && name[i] == '.') count = std::max(count, index + 1);
  }
  return count;
}

}  // namespace

HvConfig hv_config_from_json(const io::Json& json, const std::string& source) {
  require(json.is_object(), source + ": expected a JSON object");
  Fields f(json, source);
  const std::string cls = f.string("_class_name", "");
  HvConfig c = hv_preset("hunyuanvideo");
  if (cls == "HunyuanVideoTransformer3DModel" || (cls.empty() && f.has("num_attention_heads"))) {
    read_diffusers(f, source, c);
  } else if (cls == "HYVideoDiffusionTransformer" ||
             (cls.empty() && (f.has("hidden_size") || f.has("heads_num")))) {
    read_original(f, c);
  } else {
    throw UsageError(source + ": not a HunyuanVideo DiT config (_class_name '" + cls +
                     "'; expected HYVideoDiffusionTransformer or HunyuanVideoTransformer3DModel)");
  }
  validate(c, source);
  return c;
}

HvConfig read_hv_config(const std::string& path) {
  return hv_config_from_json(io::Json::parse_file(path, "a HunyuanVideo DiT config.json"), path);
}

HvConfig config_from_shapes(const io::TensorSource& source) {
  const std::string where = "checkpoint " + source.label();
  const std::string context =
      "needed to derive the config from the tensor shapes; or put a config.json beside it";
  require(detect_hv_layout(source.names()) == HvLayout::kOriginal,
          where + ": has diffusers names; a diffusers checkpoint needs its config.json");
  auto shape = [&](const std::string& name, size_t rank) {
    io::expect_tensor(source, name, context);
    const auto s = source.info(name).shape;
    require(s.size() == rank, where + ": tensor '" + name + "' has shape " + io::shape_string(s) +
                                  ", expected " + std::to_string(rank) + " dimensions");
    return s;
  };
  const auto& names = source.names();
  HvConfig c = hv_preset("hunyuanvideo");
  const auto img = shape("img_in.proj.weight", 5);
  c.hidden = img[0];
  c.in_channels = img[1];
  c.patch = {img[2], img[3], img[4]};
  c.text_dim = shape("txt_in.input_embedder.weight", 2)[1];
  c.pooled_dim = shape("vector_in.in_layer.weight", 2)[1];
  c.guidance_embed = source.contains("guidance_in.mlp.0.weight");
  c.double_blocks = count_blocks(names, "double_blocks.");
  c.single_blocks = count_blocks(names, "single_blocks.");
  c.refiner_blocks = count_blocks(names, "txt_in.individual_token_refiner.blocks.");
  require(c.hidden > 0 && c.patch_volume() > 0, where + ": img_in.proj.weight has an empty dimension");

  const int64_t final_rows = shape("final_layer.linear.weight", 2)[0];
  require(final_rows % c.patch_volume() == 0,
          where + ": final_layer.linear.weight has " + std::to_string(final_rows) +
              " rows, not a multiple of the patch volume " + std::to_string(c.patch_volume()) +
              " (from img_in.proj.weight)");
  c.out_channels = final_rows / c.patch_volume();

  // MLP width: a double block's fc1, else a single block's linear1 minus q, k, v.
  int64_t mlp = -1;
  std::string head_dim_from;
  if (c.double_blocks > 0) {
    mlp = shape("double_blocks.0.img_mlp.fc1.weight", 2)[0];
    head_dim_from = "double_blocks.0.img_attn_q_norm.weight";
  } else if (c.single_blocks > 0) {
    mlp = shape("single_blocks.0.linear1.weight", 2)[0] - 3 * c.hidden;
    head_dim_from = "single_blocks.0.q_norm.weight";
  }
  if (mlp >= 0) {
    require(mlp > 0, where + ": the MLP width derived from the shapes is " + std::to_string(mlp));
    c.mlp_ratio = static_cast<double>(mlp) / static_cast<double>(c.hidden);
    // mlp_hidden() truncates hidden · ratio: make sure it gives back exactly `mlp`.
    while (c.mlp_hidden() < mlp) c.mlp_ratio = std::nextafter(c.mlp_ratio, 2 * c.mlp_ratio);
  }
  const int64_t head_dim = head_dim_from.empty() ? HvConfig{}.head_dim() : shape(head_dim_from, 1)[0];
  require(head_dim > 0 && c.hidden % head_dim == 0,
          where + ": hidden size " + std::to_string(c.hidden) +
              " (img_in.proj.weight) is not a multiple of head_dim " + std::to_string(head_dim) +
              (head_dim_from.empty() ? "" : " (" + head_dim_from + ")") + "; put a config.json beside it");
  c.heads = c.hidden / head_dim;
  // The RoPE split over (t, h, w) is not in any shape; the release's is 16/56/56 of 128.
  require(head_dim == 128, where + ": head_dim is " + std::to_string(head_dim) + " (" + head_dim_from +
                               "), and the RoPE split (rope_dim_list) can be derived only for head_dim 128 "
                               "(16, 56, 56): put a config.json with rope_dim_list beside the checkpoint");
  c.rope_axes = {16, 56, 56};
  validate(c, where + " (config derived from the tensor shapes)");
  return c;
}

}  // namespace uspdit::models::hunyuan_video
