#include "models/llama/llama_weights.h"

#include <regex>

#include "core/error.h"

namespace uspdit::models::llama {

namespace {

std::string layer_prefix(int64_t i) {
  return "layers." + std::to_string(i) + ".";
}

// Per decoder layer: suffix after `layers.N.`.
constexpr const char* kLayerSuffixes[] = {
    "input_layernorm.weight",  "self_attn.q_proj.weight", "self_attn.k_proj.weight",
    "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
    "mlp.gate_proj.weight",    "mlp.up_proj.weight",      "mlp.down_proj.weight",
};

bool known_engine_name(const std::string& name, const LlamaConfig& c) {
  if (name == "embed_tokens.weight" || name == "norm.weight") return true;
  static const std::regex kLayer(R"(^layers\.([0-9]+)\.(.+)$)");
  std::smatch m;
  if (!std::regex_match(name, m, kLayer) || std::stoll(m[1]) >= c.num_layers) return false;
  for (const char* suffix : kLayerSuffixes) {
    if (m[2] == suffix) return true;
  }
  return false;
}

}  // namespace

int64_t layers_for_skip(const LlamaConfig& c, int64_t skip) {
  require(skip >= 0 && skip <= c.num_layers,
          "llama text encoder: hidden_state_skip_layer " + std::to_string(skip) + " outside [0, " +
              std::to_string(c.num_layers) + "] (the model has " + std::to_string(c.num_layers) + " layers)");
  return skip == 0 ? c.num_layers : c.num_layers - skip;
}

std::vector<TensorSpec> llama_tensor_specs(const LlamaConfig& c, int64_t skip) {
  std::vector<TensorSpec> s;
  s.push_back({"embed_tokens.weight", {c.vocab_size, c.hidden_size}, false});
  for (int64_t i = 0; i < layers_for_skip(c, skip); ++i) {
    const auto p = layer_prefix(i);
    s.push_back({p + "input_layernorm.weight", {c.hidden_size}, false});
    s.push_back({p + "self_attn.q_proj.weight", {c.q_dim(), c.hidden_size}, false});
    s.push_back({p + "self_attn.k_proj.weight", {c.kv_dim(), c.hidden_size}, false});
    s.push_back({p + "self_attn.v_proj.weight", {c.kv_dim(), c.hidden_size}, false});
    s.push_back({p + "self_attn.o_proj.weight", {c.hidden_size, c.q_dim()}, false});
    s.push_back({p + "post_attention_layernorm.weight", {c.hidden_size}, false});
    s.push_back({p + "mlp.gate_proj.weight", {c.intermediate_size, c.hidden_size}, false});
    s.push_back({p + "mlp.up_proj.weight", {c.intermediate_size, c.hidden_size}, false});
    s.push_back({p + "mlp.down_proj.weight", {c.hidden_size, c.intermediate_size}, false});
  }
  if (skip == 0) s.push_back({"norm.weight", {c.hidden_size}, false});
  return s;
}

LlamaNameIndex index_llama_names(const std::vector<std::string>& file_names, const LlamaConfig& c) {
  LlamaNameIndex idx;
  // LlamaForCausalLM.save_pretrained (HunyuanVideo's preprocessing) prefixes the body with
  // `model.`; a bare LlamaModel (diffusers' text_encoder/) has no prefix.
  for (const auto& name : file_names) {
    if (name.starts_with("model.")) {
      idx.prefix = "model.";
      break;
    }
  }
  static const std::regex kInvFreq(R"(^(model\.)?layers\.[0-9]+\.self_attn\.rotary_emb\.inv_freq$)");
  for (const auto& name : file_names) {
    // The LM head and the RoPE buffers transformers < 4.31 saved are never read.
    if (name == "lm_head.weight" || std::regex_match(name, kInvFreq)) {
      idx.ignored.push_back(name);
      continue;
    }
    const bool prefixed = name.starts_with(idx.prefix);
    const auto engine = prefixed ? name.substr(idx.prefix.size()) : std::string();
    if (prefixed && known_engine_name(engine, c)) {
      idx.file_name_of[engine] = name;
    } else {
      idx.unexpected.push_back(name);
    }
  }
  return idx;
}

LlamaWeights assemble_llama_weights(const LlamaConfig& c, int64_t skip,
                                    std::map<std::string, at::Tensor> tensors) {
  TensorTaker take(std::move(tensors));
  LlamaWeights w;
  w.embed = take("embed_tokens.weight");
  for (int64_t i = 0; i < layers_for_skip(c, skip); ++i) {
    const auto p = layer_prefix(i);
    LlamaLayer l;
    l.input_norm = take(p + "input_layernorm.weight");
    l.q = take(p + "self_attn.q_proj.weight");
    l.k = take(p + "self_attn.k_proj.weight");
    l.v = take(p + "self_attn.v_proj.weight");
    l.o = take(p + "self_attn.o_proj.weight");
    l.post_norm = take(p + "post_attention_layernorm.weight");
    l.gate = take(p + "mlp.gate_proj.weight");
    l.up = take(p + "mlp.up_proj.weight");
    l.down = take(p + "mlp.down_proj.weight");
    w.layers.push_back(std::move(l));
  }
  if (skip == 0) w.final_norm = take("norm.weight");
  return w;
}

}  // namespace uspdit::models::llama
