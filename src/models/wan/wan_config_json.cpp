#include "models/wan/wan_config_json.h"


#include "core/error.h"
#include "io/json_fields.h"

namespace uspdit::models::wan {
namespace {

using Fields = io::JsonFields;

// Wan's norm switches: a boolean, or (diffusers' qk_norm) the name of the norm, on when non-empty.
bool enabled(const Fields& f, const char* key, bool fallback) {
  const io::Json* v = f.find(key);
  if (v && v->is_string()) return !v->as_string().empty();
  return f.boolean(key, fallback);
}

}  // namespace

WanConfig wan_config_from_json(const io::Json& json, const std::string& source) {
  require(json.is_object(), source + ": expected a JSON object");
  Fields f(json, source);
  const std::string cls = f.string("_class_name", "");
  WanConfig c;
  if (cls == "WanTransformer3DModel" || f.has("num_attention_heads")) {
    c.num_heads = f.integer("num_attention_heads", c.num_heads);
    c.dim = c.num_heads * f.integer("attention_head_dim", 128);
    c.in_dim = f.integer("in_channels", c.in_dim);
    c.out_dim = f.integer("out_channels", c.out_dim);
    c.text_dim = f.integer("text_dim", c.text_dim);
    require(!f.has("image_dim") && !f.has("added_kv_proj_dim"),
            source + ": this is an image-to-video Wan model (image_dim/added_kv_proj_dim set); only T2V is supported");
  } else if (cls == "WanModel" || f.has("num_heads")) {
    const std::string type = f.string("model_type", "t2v");
    require(type == "t2v", source + ": model_type '" + type + "' is not supported; only t2v");
    c.num_heads = f.integer("num_heads", c.num_heads);
    c.dim = f.integer("dim", c.dim);
    c.in_dim = f.integer("in_dim", c.in_dim);
    c.out_dim = f.integer("out_dim", c.out_dim);
    c.text_dim = f.integer("text_dim", c.text_dim);
    c.text_len = f.integer("text_len", c.text_len);
  } else {
    throw UsageError(source + ": not a Wan 2.1 DiT config (_class_name '" + cls +
                     "'; expected WanModel or WanTransformer3DModel)");
  }
  c.ffn_dim = f.integer("ffn_dim", c.ffn_dim);
  c.freq_dim = f.integer("freq_dim", c.freq_dim);
  c.num_layers = f.integer("num_layers", c.num_layers);
  c.eps = f.number("eps", c.eps);
  c.patch = f.triple("patch_size", c.patch);
  c.qk_norm = enabled(f, "qk_norm", c.qk_norm);
  c.cross_attn_norm = enabled(f, "cross_attn_norm", c.cross_attn_norm);
  require(c.qk_norm && c.cross_attn_norm, source + ": qk_norm and cross_attn_norm must be on (as in every Wan 2.1 release)");
  validate(c, source);
  return c;
}

WanConfig read_wan_config(const std::string& path) {
  return wan_config_from_json(io::Json::parse_file(path, "a Wan checkpoint directory has config.json"), path);
}

}  // namespace uspdit::models::wan
