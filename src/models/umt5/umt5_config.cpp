#include "models/umt5/umt5_config.h"

#include <sstream>

#include "core/error.h"
#include "io/json.h"
#include "io/json_fields.h"

namespace uspdit::models::umt5 {

Umt5Config umt5_xxl_config() { return Umt5Config{}; }

Umt5Config read_umt5_config_json(const std::string& path) {
  const auto json = io::Json::parse_file(path);
  require(json.is_object(), path + ": expected a JSON object (an HF UMT5 config.json)");
  const io::JsonFields f(json, path);
  Umt5Config c;
  c.vocab = f.integer("vocab_size", c.vocab);
  c.dim = f.integer("d_model", c.dim);
  c.ffn_dim = f.integer("d_ff", c.ffn_dim);
  c.num_heads = f.integer("num_heads", c.num_heads);
  c.head_dim = f.integer("d_kv", c.head_dim);
  c.num_layers = f.integer("num_layers", c.num_layers);
  c.num_buckets = f.integer("relative_attention_num_buckets", c.num_buckets);
  c.max_distance = f.integer("relative_attention_max_distance", c.max_distance);
  c.eps = f.number("layer_norm_epsilon", c.eps);
  // umt5-xxl's FFN is gelu_tanh(wi_0 x) * wi_1 x; T5 v1.0's plain ReLU FFN has other tensors.
  f.expect("feed_forward_proj", "gated-gelu", "only umt5's gated GELU(tanh) feed-forward is implemented");
  if (f.has("dense_act_fn")) {
    const auto act = f.string("dense_act_fn", "gelu_new");
    require(act == "gelu_new" || act == "gelu_pytorch_tanh",
            path + ": dense_act_fn is '" + act + "', expected 'gelu_new' (GELU with the tanh approximation)");
  }
  validate(c, path);
  return c;
}

void validate(const Umt5Config& c, const std::string& where) {
  auto positive = [&](int64_t v, const char* name) {
    require(v > 0, where + ": " + name + " must be positive, got " + std::to_string(v));
  };
  positive(c.vocab, "vocab");
  positive(c.dim, "dim");
  positive(c.ffn_dim, "ffn_dim");
  positive(c.num_heads, "num_heads");
  positive(c.head_dim, "head_dim");
  positive(c.num_layers, "num_layers");
  positive(c.num_buckets, "num_buckets");
  // Bidirectional buckets: half per direction, half of those exact, so 4 | num_buckets.
  require(c.num_buckets % 4 == 0, where + ": num_buckets must be a multiple of 4, got " + std::to_string(c.num_buckets));
  require(c.max_distance > c.num_buckets / 4, where + ": max_distance must exceed num_buckets/4, got " +
                                                  std::to_string(c.max_distance));
  require(c.eps > 0, where + ": layer_norm_epsilon must be positive");
}

std::string describe(const Umt5Config& c) {
  std::ostringstream out;
  out << "dim " << c.dim << ", ffn " << c.ffn_dim << ", " << c.num_heads << " heads x " << c.head_dim << ", "
      << c.num_layers << " layers, vocab " << c.vocab;
  return out.str();
}

}  // namespace uspdit::models::umt5
