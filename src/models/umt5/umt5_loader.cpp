// Name map, tensor specs and loading of the umt5 encoder from either layout.
#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/umt5/umt5_encoder.h"

namespace uspdit::models::umt5 {
namespace fs = std::filesystem;

namespace {

// The release ships no config: everything but these comes from tensor shapes.
constexpr const char* kOriginalFile = "models_t5_umt5-xxl-enc-bf16.pth";

std::string layer_prefix(int64_t i) { return "blocks." + std::to_string(i) + "."; }

// Engine name -> name in the file, for whichever layout the file has.
struct NameIndex {
  bool hf = false;
  std::map<std::string, std::string> file_name_of;
  std::vector<std::string> unmapped;  // file names no rule explains
};

NameIndex index_names(const io::TensorSource& source) {
  NameIndex idx;
  idx.hf = !source.contains("token_embedding.weight");
  const bool has_shared = source.contains("shared.weight");
  for (const auto& name : source.names()) {
    if (!idx.hf) {
      idx.file_name_of[name] = name;
      continue;
    }
    // save_pretrained writes only shared.weight; older files also carry the tied copy.
    if (name == "encoder.embed_tokens.weight" && has_shared) continue;
    const auto engine = hf_to_engine_name(name);
    if (engine.empty()) {
      idx.unmapped.push_back(name);
    } else {
      idx.file_name_of[engine] = name;
    }
  }
  return idx;
}

int64_t dim_of(const io::TensorSource& source, const std::string& name, size_t axis) {
  io::expect_tensor(source, name, "needed to infer the umt5 config from tensor shapes");
  const auto shape = source.info(name).shape;
  require(shape.size() == 2, "checkpoint " + source.label() + ": tensor '" + name + "' has shape " +
                                 io::shape_string(shape) + ", expected a matrix");
  return shape[axis];
}

// The original release has no config: sizes from shapes, the rest umt5-xxl's constants.
Umt5Config config_from_shapes(const io::TensorSource& source, const NameIndex& idx) {
  auto file = [&](const std::string& engine) {
    const auto it = idx.file_name_of.find(engine);
    return it == idx.file_name_of.end() ? engine : it->second;
  };
  Umt5Config c = umt5_xxl_config();
  c.vocab = dim_of(source, file("token_embedding.weight"), 0);
  c.dim = dim_of(source, file("token_embedding.weight"), 1);
  const int64_t attn_dim = dim_of(source, file("blocks.0.attn.q.weight"), 0);
  c.num_buckets = dim_of(source, file("blocks.0.pos_embedding.embedding.weight"), 0);
  c.num_heads = dim_of(source, file("blocks.0.pos_embedding.embedding.weight"), 1);
  c.ffn_dim = dim_of(source, file("blocks.0.ffn.fc1.weight"), 0);
  require(c.num_heads > 0 && attn_dim % c.num_heads == 0,
          "checkpoint " + source.label() + ": attention width " + std::to_string(attn_dim) +
              " is not a multiple of the " + std::to_string(c.num_heads) + " heads of the position bias table");
  c.head_dim = attn_dim / c.num_heads;
  static const std::regex kBlock(R"(^blocks\.([0-9]+)\.)");
  int64_t layers = 0;
  for (const auto& [engine, unused] : idx.file_name_of) {
    std::smatch m;
    if (std::regex_search(engine, m, kBlock)) layers = std::max<int64_t>(layers, std::stoll(m[1]) + 1);
  }
  c.num_layers = layers;
  validate(c, "checkpoint " + source.label());
  return c;
}

struct Located {
  std::string weights;      // file or folder for io::open_checkpoint
  std::string config_json;  // "" for the original layout
};

Located locate(const std::string& path) {
  require(fs::exists(path), "umt5 encoder: " + path + " does not exist");
  if (!fs::is_directory(path)) return {path, ""};
  fs::path dir = path;
  if (!fs::exists(dir / "config.json") && fs::exists(dir / "text_encoder" / "config.json")) dir /= "text_encoder";
  if (fs::exists(dir / "config.json")) return {dir.string(), (dir / "config.json").string()};
  if (fs::exists(dir / kOriginalFile)) return {(dir / kOriginalFile).string(), ""};
  throw UsageError("umt5 encoder: " + path + " holds neither config.json (HF UMT5EncoderModel) nor " + kOriginalFile +
                   " (Wan 2.1 release)");
}

}  // namespace

std::vector<TensorSpec> umt5_tensor_specs(const Umt5Config& c) {
  std::vector<TensorSpec> s;
  s.push_back({"token_embedding.weight", {c.vocab, c.dim}, false});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const auto p = layer_prefix(i);
    s.push_back({p + "norm1.weight", {c.dim}, true});
    for (const char* proj : {"q", "k", "v"}) s.push_back({p + "attn." + proj + ".weight", {c.attn_dim(), c.dim}, false});
    s.push_back({p + "attn.o.weight", {c.dim, c.attn_dim()}, false});
    s.push_back({p + "pos_embedding.embedding.weight", {c.num_buckets, c.num_heads}, true});
    s.push_back({p + "norm2.weight", {c.dim}, true});
    s.push_back({p + "ffn.gate.0.weight", {c.ffn_dim, c.dim}, false});
    s.push_back({p + "ffn.fc1.weight", {c.ffn_dim, c.dim}, false});
    s.push_back({p + "ffn.fc2.weight", {c.dim, c.ffn_dim}, false});
  }
  s.push_back({"norm.weight", {c.dim}, true});
  return s;
}

namespace {

// Per block: HF suffix after `encoder.block.N.` <-> engine suffix after `blocks.N.`.
struct BlockName {
  const char* hf;
  const char* engine;
};
constexpr BlockName kBlockNames[] = {
    {"layer.0.layer_norm.weight", "norm1.weight"},
    {"layer.0.SelfAttention.q.weight", "attn.q.weight"},
    {"layer.0.SelfAttention.k.weight", "attn.k.weight"},
    {"layer.0.SelfAttention.v.weight", "attn.v.weight"},
    {"layer.0.SelfAttention.o.weight", "attn.o.weight"},
    {"layer.0.SelfAttention.relative_attention_bias.weight", "pos_embedding.embedding.weight"},
    {"layer.1.layer_norm.weight", "norm2.weight"},
    {"layer.1.DenseReluDense.wi_0.weight", "ffn.gate.0.weight"},
    {"layer.1.DenseReluDense.wi_1.weight", "ffn.fc1.weight"},
    {"layer.1.DenseReluDense.wo.weight", "ffn.fc2.weight"},
};

}  // namespace

std::string hf_to_engine_name(const std::string& hf) {
  if (hf == "shared.weight" || hf == "encoder.embed_tokens.weight") return "token_embedding.weight";
  if (hf == "encoder.final_layer_norm.weight") return "norm.weight";
  static const std::regex kBlock(R"(^encoder\.block\.([0-9]+)\.(.+)$)");
  std::smatch m;
  if (!std::regex_match(hf, m, kBlock)) return "";
  for (const auto& n : kBlockNames) {
    if (m[2] == n.hf) return "blocks." + m[1].str() + "." + n.engine;
  }
  return "";
}

std::string engine_to_hf_name(const std::string& engine) {
  if (engine == "token_embedding.weight") return "shared.weight";
  if (engine == "norm.weight") return "encoder.final_layer_norm.weight";
  static const std::regex kBlock(R"(^blocks\.([0-9]+)\.(.+)$)");
  std::smatch m;
  if (!std::regex_match(engine, m, kBlock)) return "";
  for (const auto& n : kBlockNames) {
    if (m[2] == n.engine) return "encoder.block." + m[1].str() + "." + n.hf;
  }
  return "";
}

Umt5Weights assemble_umt5_weights(const Umt5Config& c, std::map<std::string, at::Tensor> tensors) {
  TensorTaker take(std::move(tensors));
  Umt5Weights w;
  w.embedding = take("token_embedding.weight");
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const auto p = layer_prefix(i);
    Umt5Layer l;
    l.norm1 = take(p + "norm1.weight");
    l.q = take(p + "attn.q.weight");
    l.k = take(p + "attn.k.weight");
    l.v = take(p + "attn.v.weight");
    l.o = take(p + "attn.o.weight");
    l.rel_bias = take(p + "pos_embedding.embedding.weight");
    l.norm2 = take(p + "norm2.weight");
    l.gate = take(p + "ffn.gate.0.weight");
    l.fc1 = take(p + "ffn.fc1.weight");
    l.fc2 = take(p + "ffn.fc2.weight");
    w.layers.push_back(std::move(l));
  }
  w.final_norm = take("norm.weight");
  return w;
}

Umt5Weights random_umt5_weights(const Umt5Config& config, at::ScalarType dtype, uint64_t seed, c10::Device device) {
  return assemble_umt5_weights(config, random_tensors(umt5_tensor_specs(config), dtype, seed, device));
}

Umt5Encoder Umt5Encoder::load(const std::string& path, at::ScalarType dtype, c10::Device device) {
  const auto where = locate(path);
  // A config we cannot run is reported before the weights are looked at.
  std::optional<Umt5Config> json_config;
  if (!where.config_json.empty()) json_config = read_umt5_config_json(where.config_json);
  const auto source = io::open_checkpoint(where.weights);
  const auto idx = index_names(*source);
  if (idx.hf) {
    require(!idx.file_name_of.empty(), "checkpoint " + source->label() +
                                           ": no umt5 encoder tensors (neither 'token_embedding.weight' of the "
                                           "Wan release nor 'shared.weight'/'encoder.block.*' of HF UMT5)");
  }
  const Umt5Config config = json_config ? *json_config : config_from_shapes(*source, idx);
  const char* layout = idx.hf ? "HF UMT5" : "Wan release";
  const std::string label = "checkpoint " + source->label() + " (" + layout + " layout, " + describe(config) + ")";

  const auto specs = umt5_tensor_specs(config);
  auto [missing, unexpected] = io::match_names(spec_names(specs), idx.file_name_of);
  // Missing tensors are named as the file's layout would call them.
  if (idx.hf) {
    for (auto& name : missing) name = engine_to_hf_name(name);
  }
  unexpected.insert(unexpected.begin(), idx.unmapped.begin(), idx.unmapped.end());
  require(missing.empty(), label + ": missing tensor" + (missing.size() > 1 ? "s " : " ") + io::quote_first_few(missing));
  require(unexpected.empty(), label + ": unexpected tensor" + (unexpected.size() > 1 ? "s " : " ") +
                                  io::quote_first_few(unexpected) + " (not part of the umt5 encoder with this config)");

  std::map<std::string, at::Tensor> tensors;
  core::DeviceUploader upload(device);
  const std::string context = "umt5 config: " + describe(config);
  for (const auto& spec : specs) {
    const auto& file_name = idx.file_name_of.at(spec.name);
    io::expect_shape(*source, file_name, spec.shape, context);
    const auto stored = source->info(file_name).dtype;
    require(at::isFloatingType(stored), "checkpoint " + source->label() + ": tensor '" + file_name + "' is " +
                                            io::dtype_name(stored) + ", expected a floating-point dtype");
    tensors[spec.name] = source->load(file_name, holding_dtype(spec, dtype), upload);
  }
  return Umt5Encoder(config, assemble_umt5_weights(config, std::move(tensors)));
}

}  // namespace uspdit::models::umt5
