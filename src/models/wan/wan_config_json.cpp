#include "models/wan/wan_config_json.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace uspdit::models::wan {
namespace {

class Fields {
 public:
  Fields(const io::Json& json, const std::string& source) : json_(json), source_(source) {}

  bool has(const char* key) const { return json_.find(key) && !json_.find(key)->is_null(); }

  int64_t integer(const char* key, int64_t fallback) const {
    const io::Json* v = json_.find(key);
    if (!v || v->is_null()) return fallback;
    require(v->is_int(), source_ + ": \"" + key + "\" must be an integer, got " + v->type_name());
    return v->as_int();
  }
  double number(const char* key, double fallback) const {
    const io::Json* v = json_.find(key);
    if (!v || v->is_null()) return fallback;
    require(v->is_number(), source_ + ": \"" + key + "\" must be a number, got " + v->type_name());
    return v->as_number();
  }
  std::string string(const char* key, const std::string& fallback) const {
    const io::Json* v = json_.find(key);
    if (!v || v->is_null()) return fallback;
    require(v->is_string(), source_ + ": \"" + key + "\" must be a string, got " + v->type_name());
    return v->as_string();
  }
  std::array<int64_t, 3> triple(const char* key, std::array<int64_t, 3> fallback) const {
    const io::Json* v = json_.find(key);
    if (!v || v->is_null()) return fallback;
    require(v->is_array() && v->size() == 3, source_ + ": \"" + key + "\" must be a list of 3 integers");
    for (size_t i = 0; i < 3; ++i) {
      require(v->item(i).is_int(), source_ + ": \"" + key + "\" must be a list of 3 integers");
      fallback[i] = v->item(i).as_int();
    }
    return fallback;
  }
  bool flag(const char* key, bool fallback) const {
    const io::Json* v = json_.find(key);
    if (!v || v->is_null()) return fallback;
    if (v->is_bool()) return v->as_bool();
    if (v->is_string()) return !v->as_string().empty();  // diffusers: qk_norm = "rms_norm_across_heads"
    throw UsageError(source_ + ": \"" + key + "\" must be a boolean");
  }

 private:
  const io::Json& json_;
  const std::string& source_;
};

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
  c.qk_norm = f.flag("qk_norm", c.qk_norm);
  c.cross_attn_norm = f.flag("cross_attn_norm", c.cross_attn_norm);
  require(c.qk_norm && c.cross_attn_norm, source + ": qk_norm and cross_attn_norm must be on (as in every Wan 2.1 release)");
  validate(c, source);
  return c;
}

WanConfig read_wan_config(const std::string& path) {
  std::ifstream file(path);
  require(file.good(), "cannot read " + path + " (a Wan checkpoint directory has config.json)");
  std::stringstream text;
  text << file.rdbuf();
  return wan_config_from_json(io::Json::parse(text.str(), path), path);
}

}  // namespace uspdit::models::wan
