#include "models/llama/llama_config.h"

#include <sstream>

#include "core/error.h"
#include "io/json.h"
#include "io/json_fields.h"

namespace uspdit::models::llama {

LlamaConfig llava_llama3_8b_config() {
  LlamaConfig c;
  c.vocab_size = 128320;
  c.intermediate_size = 14336;
  c.num_kv_heads = 8;
  c.max_position_embeddings = 8192;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000.0;
  return c;
}

namespace {

// RoPE base from either spelling; anything but plain RoPE is refused.
double read_rope_theta(const io::JsonFields& f, const io::Json& json, double fallback) {
  const auto& path = f.source();
  require(!f.has("rope_scaling"), path +
                                      ": \"rope_scaling\" is set; only plain RoPE (rope_scaling: null, as in "
                                      "Llama-3-8B) is implemented");
  double theta = f.number("rope_theta", fallback);
  if (const io::Json* params = json.find("rope_parameters"); params != nullptr && !params->is_null()) {
    require(params->is_object(), path + ": \"rope_parameters\" must be an object");
    const io::JsonFields p(*params, path);
    const auto type = p.string("rope_type", "default");
    require(type == "default", path + ": rope_parameters.rope_type is '" + type +
                                   "'; only plain RoPE ('default', as in Llama-3-8B) is implemented");
    theta = p.number("rope_theta", theta);
  }
  return theta;
}

}  // namespace

LlamaConfig read_llama_config_json(const std::string& path) {
  const auto json = io::Json::parse_file(path, "the config.json of a Llama text encoder");
  require(json.is_object(), path + ": expected a JSON object (an HF LlamaConfig config.json)");
  const io::JsonFields f(json, path);
  require(!f.has("text_config"), path +
                                     ": a LLaVA (multimodal) config; point at the language model folder "
                                     "HunyuanVideo's preprocess_text_encoder_tokenizer_utils.py writes "
                                     "(ckpts/text_encoder)");
  f.expect("model_type", "llama", "expected 'llama' (a Llama text encoder's config.json)");
  LlamaConfig c;
  c.vocab_size = f.integer("vocab_size", c.vocab_size);
  c.hidden_size = f.integer("hidden_size", c.hidden_size);
  c.intermediate_size = f.integer("intermediate_size", c.intermediate_size);
  c.num_layers = f.integer("num_hidden_layers", c.num_layers);
  c.num_heads = f.integer("num_attention_heads", c.num_heads);
  c.num_kv_heads = f.integer("num_key_value_heads", c.num_heads);
  require(c.num_heads > 0, path + ": num_attention_heads must be positive");
  c.head_dim = f.integer("head_dim", c.hidden_size / c.num_heads);
  c.max_position_embeddings = f.integer("max_position_embeddings", c.max_position_embeddings);
  c.rms_norm_eps = f.number("rms_norm_eps", c.rms_norm_eps);
  c.rope_theta = read_rope_theta(f, json, c.rope_theta);
  c.act = nn::parse_activation(f.string("hidden_act", "silu"), path);
  require(!f.boolean("attention_bias", false),
          path + ": \"attention_bias\" is true; Llama's q/k/v/o have no bias");
  require(!f.boolean("mlp_bias", false), path + ": \"mlp_bias\" is true; Llama's MLP has no bias");
  validate(c, path);
  return c;
}

void validate(const LlamaConfig& c, const std::string& where) {
  auto positive = [&](int64_t v, const char* name) {
    require(v > 0, where + ": " + name + " must be positive, got " + std::to_string(v));
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.num_layers, "num_hidden_layers");
  positive(c.num_heads, "num_attention_heads");
  positive(c.num_kv_heads, "num_key_value_heads");
  positive(c.head_dim, "head_dim");
  positive(c.max_position_embeddings, "max_position_embeddings");
  require(c.num_heads % c.num_kv_heads == 0, where + ": num_attention_heads " + std::to_string(c.num_heads) +
                                                 " is not a multiple of num_key_value_heads " +
                                                 std::to_string(c.num_kv_heads));
  require(c.head_dim % 2 == 0, where + ": head_dim must be even for RoPE, got " + std::to_string(c.head_dim));
  require(c.rms_norm_eps > 0, where + ": rms_norm_eps must be positive");
  require(c.rope_theta > 0, where + ": rope_theta must be positive");
}

std::string describe(const LlamaConfig& c) {
  std::ostringstream out;
  out << "hidden " << c.hidden_size << ", " << c.num_layers << " layers, " << c.num_heads << " heads ("
      << c.num_kv_heads << " KV) x " << c.head_dim << ", ffn " << c.intermediate_size << ", vocab "
      << c.vocab_size;
  return out.str();
}

}  // namespace uspdit::models::llama
