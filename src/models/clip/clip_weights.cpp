#include "models/clip/clip_weights.h"

#include <set>

namespace uspdit::models::clip {

namespace {

std::string layer_prefix(int64_t i) {
  return "encoder.layers." + std::to_string(i) + ".";
}

void add_norm_spec(std::vector<TensorSpec>& s, const std::string& name, int64_t dim) {
  s.push_back({name + ".weight", {dim}, false});
  s.push_back({name + ".bias", {dim}, false});
}

// Names a CLIP checkpoint may hold that the text tower never reads.
bool ignored_name(const std::string& name, const std::string& prefix) {
  if (name.starts_with("vision_model.") || name == "visual_projection.weight" ||
      name == "text_projection.weight" || name == "logit_scale") {
    return true;
  }
  // A buffer (arange of positions) older checkpoints saved.
  return name == prefix + "embeddings.position_ids";
}

}  // namespace

std::vector<TensorSpec> clip_text_tensor_specs(const ClipTextConfig& c) {
  std::vector<TensorSpec> s;
  s.push_back({"embeddings.token_embedding.weight", {c.vocab_size, c.hidden_size}, false});
  s.push_back({"embeddings.position_embedding.weight", {c.max_position_embeddings, c.hidden_size}, false});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const auto p = layer_prefix(i);
    add_norm_spec(s, p + "layer_norm1", c.hidden_size);
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      add_linear_spec(s, p + "self_attn." + proj, c.hidden_size, c.hidden_size);
    }
    add_norm_spec(s, p + "layer_norm2", c.hidden_size);
    add_linear_spec(s, p + "mlp.fc1", c.intermediate_size, c.hidden_size);
    add_linear_spec(s, p + "mlp.fc2", c.hidden_size, c.intermediate_size);
  }
  add_norm_spec(s, "final_layer_norm", c.hidden_size);
  return s;
}

ClipNameIndex index_clip_names(const std::vector<std::string>& file_names, const ClipTextConfig& c) {
  ClipNameIndex idx;
  for (const auto& name : file_names) {
    if (name.starts_with("text_model.")) {
      idx.prefix = "text_model.";
      break;
    }
  }
  std::set<std::string> known;
  for (const auto& spec : clip_text_tensor_specs(c)) known.insert(spec.name);
  for (const auto& name : file_names) {
    if (ignored_name(name, idx.prefix)) {
      idx.ignored.push_back(name);
      continue;
    }
    const bool prefixed = name.starts_with(idx.prefix);
    const auto engine = prefixed ? name.substr(idx.prefix.size()) : std::string();
    if (prefixed && known.count(engine) != 0) {
      idx.file_name_of[engine] = name;
    } else {
      idx.unexpected.push_back(name);
    }
  }
  return idx;
}

ClipTextWeights assemble_clip_text_weights(const ClipTextConfig& c,
                                           std::map<std::string, at::Tensor> tensors) {
  TensorTaker take(std::move(tensors));
  ClipTextWeights w;
  w.token_embedding = take("embeddings.token_embedding.weight");
  w.position_embedding = take("embeddings.position_embedding.weight");
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const auto p = layer_prefix(i);
    ClipLayer l;
    l.norm1_weight = take(p + "layer_norm1.weight");
    l.norm1_bias = take(p + "layer_norm1.bias");
    l.q = take.linear(p + "self_attn.q_proj");
    l.k = take.linear(p + "self_attn.k_proj");
    l.v = take.linear(p + "self_attn.v_proj");
    l.out = take.linear(p + "self_attn.out_proj");
    l.norm2_weight = take(p + "layer_norm2.weight");
    l.norm2_bias = take(p + "layer_norm2.bias");
    l.fc1 = take.linear(p + "mlp.fc1");
    l.fc2 = take.linear(p + "mlp.fc2");
    w.layers.push_back(std::move(l));
  }
  w.final_norm_weight = take("final_layer_norm.weight");
  w.final_norm_bias = take("final_layer_norm.bias");
  return w;
}

}  // namespace uspdit::models::clip
