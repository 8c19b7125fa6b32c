#include "models/clip/clip_config.h"

#include <sstream>

#include "core/error.h"
#include "io/json.h"
#include "io/json_fields.h"

namespace uspdit::models::clip {

ClipTextConfig clip_vit_large_text_config() {
  ClipTextConfig c;
  c.hidden_size = 768;
  c.intermediate_size = 3072;
  c.num_heads = 12;
  c.eos_token_id = 2;
  return c;
}

ClipTextConfig read_clip_text_config_json(const std::string& path) {
  const auto json = io::Json::parse_file(path, "the config.json of a CLIP text encoder");
  require(json.is_object(),
          path + ": expected a JSON object (an HF CLIPTextConfig or CLIPConfig config.json)");
  const io::JsonFields top(json, path);
  const auto model_type = top.string("model_type", "clip_text_model");
  require(model_type == "clip_text_model" || model_type == "clip",
          path + ": \"model_type\" is '" + model_type +
              "', expected 'clip_text_model' or 'clip' (a CLIP text encoder)");
  const io::Json* text = &json;
  if (model_type == "clip") {
    text = json.find("text_config");
    require(text != nullptr && text->is_object(),
            path + ": a CLIPModel config without a \"text_config\" object");
  }
  const io::JsonFields f(*text, path);
  ClipTextConfig c;
  c.vocab_size = f.integer("vocab_size", c.vocab_size);
  c.hidden_size = f.integer("hidden_size", c.hidden_size);
  c.intermediate_size = f.integer("intermediate_size", c.intermediate_size);
  c.num_layers = f.integer("num_hidden_layers", c.num_layers);
  c.num_heads = f.integer("num_attention_heads", c.num_heads);
  c.max_position_embeddings = f.integer("max_position_embeddings", c.max_position_embeddings);
  c.layer_norm_eps = f.number("layer_norm_eps", c.layer_norm_eps);
  c.act = nn::parse_activation(f.string("hidden_act", "quick_gelu"), path);
  c.eos_token_id = f.integer("eos_token_id", c.eos_token_id);
  validate(c, path);
  return c;
}

void validate(const ClipTextConfig& c, const std::string& where) {
  auto positive = [&](int64_t v, const char* name) {
    require(v > 0, where + ": " + name + " must be positive, got " + std::to_string(v));
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.num_layers, "num_hidden_layers");
  positive(c.num_heads, "num_attention_heads");
  positive(c.max_position_embeddings, "max_position_embeddings");
  require(c.hidden_size % c.num_heads == 0, where + ": hidden_size " + std::to_string(c.hidden_size) +
                                                " is not a multiple of num_attention_heads " +
                                                std::to_string(c.num_heads));
  require(c.layer_norm_eps > 0, where + ": layer_norm_eps must be positive");
}

std::string describe(const ClipTextConfig& c) {
  std::ostringstream out;
  out << "hidden " << c.hidden_size << ", " << c.num_layers << " layers, " << c.num_heads << " heads, ffn "
      << c.intermediate_size << ", " << nn::activation_name(c.act) << ", vocab " << c.vocab_size << ", eos "
      << c.eos_token_id;
  return out.str();
}

}  // namespace uspdit::models::clip
