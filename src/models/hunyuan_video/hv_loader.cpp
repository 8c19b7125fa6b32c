#include "models/hunyuan_video/hv_loader.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "io/torch_pickle.h"
#include "models/hunyuan_video/hv_config_json.h"
#include "models/hunyuan_video/hv_tensors.h"

namespace uspdit::models::hunyuan_video {
namespace fs = std::filesystem;

namespace {

constexpr const char* kOriginalFile = "mp_rank_00_model_states.pt";
constexpr const char* kFp8File = "mp_rank_00_model_states_fp8.pt";
// Where the release keeps the DiT below the directory a user may point at.
constexpr const char* kOriginalDirs[] = {"", "transformers", "hunyuan-video-t2v-720p/transformers"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// torch.save files are zip archives whatever their extension.
bool starts_like_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

bool wrapped(const io::PyValue& root) {
  return root.is(io::PyValue::Kind::kDict) && (root.find("module") != nullptr || root.find("ema") != nullptr);
}

std::shared_ptr<const io::TensorSource> open_torch(const std::shared_ptr<const io::TorchArchive>& archive,
                                                   const std::string& key) {
  // The release's loader indexes the key only when "module" or "ema" is at the top level.
  if (key == "module" && !wrapped(archive->root())) return io::TorchStateDict::open(archive, "");
  return io::TorchStateDict::open(archive, key);
}

// The scale file: a dict module name -> one-element tensor, possibly under a key.
std::shared_ptr<const io::TensorSource> open_scale_map(const std::string& path) {
  if (!starts_like_zip(path)) return io::open_checkpoint(path);
  const auto archive = io::TorchArchive::open(path);
  for (const char* key : io::kStateDictKeys) {
    const io::PyValue* inner = archive->root().find(key);
    if (inner != nullptr && inner->is(io::PyValue::Kind::kDict))
      return io::TorchStateDict::open(archive, key);
  }
  return io::TorchStateDict::open(archive, "");
}

std::string module_of(const std::string& name) {
  return ends_with(name, ".weight") ? name.substr(0, name.size() - 7) : name;
}

// Reads tensors onto the run's device, checking each one's dtype, dequantising float8 weights
// with their scale there (the fp8 bytes cross to the device, half the traffic of bf16).
class Reader {
 public:
  Reader(const io::TensorSource& source, const HvCheckpoint& ckpt, const std::vector<TensorSpec>& specs,
         c10::Device device)
      : source_(source), ckpt_(ckpt), upload_(device) {
    if (ckpt.fp8_map.empty()) return;
    scales_ = open_scale_map(ckpt.fp8_map);
    std::set<std::string> known;
    for (const auto& spec : specs) {
      known.insert(spec.name);
      known.insert(module_of(spec.name));
    }
    for (const auto& name : scales_->names()) {
      require(known.count(name) != 0,
              "fp8 scale file " + scales_->label() + ": scale '" + name +
                  "' names no tensor of the model (is it the scale file of this checkpoint?)");
    }
  }

  void check_dtype(const std::string& name) const {
    const auto stored = source_.info(name).dtype;
    require(at::isFloatingType(stored), "checkpoint " + source_.label() + ": tensor '" + name + "' is " +
                                            io::dtype_name(stored) + ", expected a floating-point dtype");
    if (at::isFloat8Type(stored)) scale_of(name);  // fails now, before anything is read
  }

  at::Tensor read(const std::string& name, at::ScalarType dtype) const {
    const auto stored = source_.info(name).dtype;
    if (!at::isFloat8Type(stored)) return source_.load(name, dtype, upload_);
    // The release's dequantisation (fp8_optimization.py): w.to(dtype) · scale; here in fp32.
    at::Tensor w = source_.load(name, stored, upload_).to(at::kFloat);
    w.mul_(scale_of(name));
    return dtype == at::kFloat ? w : w.to(dtype);
  }

 private:
  at::Tensor scale_of(const std::string& name) const {
    const std::string stored = io::dtype_name(source_.info(name).dtype);
    const std::string what = "checkpoint " + source_.label() + ": tensor '" + name + "' is " + stored;
    require(scales_ != nullptr,
            what + (ckpt_.torch_file ? " and there is no fp8 scale file (..._fp8_map.pt) beside it"
                                     : " with no scale: float8 weights are read only from the "
                                       "release's _fp8.pt with its _fp8_map.pt"));
    std::string key = module_of(name);
    if (!scales_->contains(key)) key = name;
    require(scales_->contains(key),
            what + " but the fp8 scale file " + scales_->label() + " has no scale '" + module_of(name) + "'");
    const auto info = scales_->info(key);
    require(at::isFloatingType(info.dtype) && !at::isFloat8Type(info.dtype) && info.numel() == 1,
            "fp8 scale file " + scales_->label() + ": scale '" + key + "' is " + io::dtype_name(info.dtype) +
                " " + io::shape_string(info.shape) + ", expected one floating-point number");
    return scales_->load(key, at::kFloat).reshape({});
  }

  const io::TensorSource& source_;
  const HvCheckpoint& ckpt_;
  mutable core::DeviceUploader upload_;
  std::shared_ptr<const io::TensorSource> scales_;
};

void report(const std::string& where, const std::vector<std::string>& missing,
            const std::vector<std::string>& unexpected, const HvConfig& c) {
  require(missing.empty(), where + ": missing tensor" + (missing.size() > 1 ? "s " : " ") +
                               io::quote_first_few(missing) + " (is the config for this checkpoint?)");
  require(unexpected.empty(), where + ": unexpected tensor" + (unexpected.size() > 1 ? "s " : " ") +
                                  io::quote_first_few(unexpected) + " (the config says " +
                                  std::to_string(c.double_blocks) + " double, " +
                                  std::to_string(c.single_blocks) + " single, " +
                                  std::to_string(c.refiner_blocks) + " refiner blocks, guidance " +
                                  (c.guidance_embed ? "on" : "off") + "; is it the right config?)");
}

std::string shape_context(const HvConfig& c) {
  std::ostringstream out;
  out << "config says hidden=" << c.hidden << ", heads=" << c.heads << ", mlp_ratio=" << c.mlp_ratio
      << ", in_channels=" << c.in_channels << ", out_channels=" << c.out_channels << ", patch=" << c.patch[0]
      << "x" << c.patch[1] << "x" << c.patch[2] << ", text_dim=" << c.text_dim
      << ", pooled_dim=" << c.pooled_dim;
  return out.str();
}

}  // namespace

HvCheckpoint locate_hv_checkpoint(const std::string& path) {
  std::error_code ec;
  require(fs::exists(path, ec), "checkpoint " + path + " does not exist");
  HvCheckpoint ckpt;
  fs::path weights;
  if (fs::is_directory(path, ec)) {
    for (const char* sub : kOriginalDirs) {
      const fs::path dir = fs::path(path) / sub;
      if (fs::is_regular_file(dir / kOriginalFile, ec)) {
        weights = dir / kOriginalFile;
      } else if (fs::is_regular_file(dir / kFp8File, ec)) {
        weights = dir / kFp8File;
      }
      if (!weights.empty()) break;
    }
    if (weights.empty()) {  // diffusers: the pipeline root or the transformer folder
      const fs::path transformer = fs::path(path) / "transformer";
      weights = fs::is_regular_file(transformer / "config.json", ec) ? transformer : fs::path(path);
      require(
          fs::is_regular_file(weights / "config.json", ec),
          "checkpoint " + path + ": neither the original HunyuanVideo release (" + kOriginalFile +
              ", also looked for in transformers/ and hunyuan-video-t2v-720p/transformers/) nor a diffusers "
              "folder (config.json, or transformer/config.json)");
      ckpt.config_file = (weights / "config.json").string();
    }
  } else {
    weights = path;
  }
  ckpt.weights = weights.string();

  if (!fs::is_directory(weights, ec)) {
    const std::string name = weights.filename().string();
    require(!ends_with(name, "_fp8_map.pt"),
            "checkpoint " + ckpt.weights + " is the fp8 scale file; give the _fp8.pt weights beside it");
    if (ends_with(name, "_fp8.pt")) {
      const fs::path map = weights.parent_path() / (name.substr(0, name.size() - 3) + "_map.pt");
      require(fs::is_regular_file(map, ec), "checkpoint " + ckpt.weights +
                                                " holds fp8 weights, but their scale file " + map.string() +
                                                " is missing: download it beside the weights (the release "
                                                "ships both), or drop --use-fp8");
      ckpt.fp8_map = map.string();
    }
    const fs::path beside = weights.parent_path() / "config.json";
    if (fs::is_regular_file(beside, ec)) ckpt.config_file = beside.string();
    ckpt.torch_file = starts_like_zip(ckpt.weights);
  }

  // The layout, and the config when no config.json is there. A file holding only "ema" is read
  // from it (the shapes are the same).
  std::shared_ptr<const io::TensorSource> source;
  if (ckpt.torch_file) {
    const auto archive = io::TorchArchive::open(ckpt.weights);
    const auto& root = archive->root();
    const bool ema_only = wrapped(root) && root.find("module") == nullptr;
    source = open_torch(archive, ema_only ? "ema" : "module");
  } else {
    source = io::open_checkpoint(ckpt.weights);
  }
  ckpt.layout = detect_hv_layout(source->names());
  if (!ckpt.config_file.empty()) {
    ckpt.config = read_hv_config(ckpt.config_file);
  } else {
    require(ckpt.layout == HvLayout::kOriginal,
            "checkpoint " + ckpt.weights + " has diffusers names but no config.json beside it");
    ckpt.config = config_from_shapes(*source);
  }
  return ckpt;
}

std::shared_ptr<const io::TensorSource> open_hv_source(const HvCheckpoint& ckpt, const std::string& key) {
  if (ckpt.torch_file) return open_torch(io::TorchArchive::open(ckpt.weights), key);
  require(key.empty() || key == "module",
          "checkpoint " + ckpt.weights + ": the key '" + key +
              "' selects a state dict inside the original release's .pt; this "
              "checkpoint is safetensors, which holds one set of weights");
  return io::open_checkpoint(ckpt.weights);
}

std::map<std::string, at::Tensor> load_hv_tensors(const HvCheckpoint& ckpt, const HvConfig& config,
                                                  at::ScalarType dtype, c10::Device device,
                                                  const std::string& key) {
  const auto source_ptr = open_hv_source(ckpt, key);
  const io::TensorSource& source = *source_ptr;
  const HvLayout layout = detect_hv_layout(source.names());
  const auto specs = hv_tensor_specs(config);
  const Reader reader(source, ckpt, specs, device);
  const std::string where = "checkpoint " + source.label() + " (" + layout_name(layout) +
                            " layout, config from " +
                            (ckpt.config_file.empty() ? "the tensor shapes" : ckpt.config_file) + ")";
  const std::string context = shape_context(config);
  std::map<std::string, at::Tensor> tensors;

  if (layout == HvLayout::kOriginal) {
    std::set<std::string> wanted;
    std::vector<std::string> missing, unexpected;
    for (const auto& spec : specs) {
      wanted.insert(spec.name);
      if (!source.contains(spec.name)) missing.push_back(spec.name);
    }
    for (const auto& name : source.names()) {
      if (!wanted.count(name)) unexpected.push_back(name);
    }
    report(where, missing, unexpected, config);
    for (const auto& spec : specs) {
      io::expect_shape(source, spec.name, spec.shape, context);
      reader.check_dtype(spec.name);
    }
    for (const auto& spec : specs) tensors[spec.name] = reader.read(spec.name, holding_dtype(spec, dtype));
    return tensors;
  }

  const auto recipes = hv_diffusers_recipes(config);
  std::set<std::string> used;
  std::vector<std::string> missing, unexpected;
  for (const auto& recipe : recipes) {
    for (const auto& part : recipe.parts) {
      used.insert(part.name);
      if (!source.contains(part.name)) missing.push_back(part.name);
    }
  }
  for (const auto& name : source.names()) {
    if (!used.count(name)) unexpected.push_back(name);
  }
  report(where, missing, unexpected, config);
  for (const auto& recipe : recipes) {
    for (const auto& part : recipe.parts) {
      io::expect_shape(source, part.name, part.shape, context);
      reader.check_dtype(part.name);
    }
  }
  for (size_t i = 0; i < recipes.size(); ++i) {
    const HvRecipe& recipe = recipes[i];
    const TensorSpec& spec = specs[i];
    const at::ScalarType hold = holding_dtype(spec, dtype);
    at::Tensor out;
    switch (recipe.op) {
      case HvOp::kRename:
        out = reader.read(recipe.parts.at(0).name, hold);
        break;
      case HvOp::kConcat: {
        out = at::empty(spec.shape, at::TensorOptions().dtype(hold).device(device));
        int64_t row = 0;
        for (const auto& part : recipe.parts) {
          out.narrow(0, row, part.shape[0]).copy_(reader.read(part.name, hold));
          row += part.shape[0];
        }
        break;
      }
      case HvOp::kSwapHalves: {
        const at::Tensor stored = reader.read(recipe.parts.at(0).name, hold);
        const int64_t half = spec.shape[0] / 2;
        out = at::cat({stored.narrow(0, half, half), stored.narrow(0, 0, half)}, 0);
        break;
      }
    }
    tensors[recipe.engine] = std::move(out);
  }
  return tensors;
}

HvWeights load_hv_weights(const HvCheckpoint& ckpt, const HvConfig& config, at::ScalarType dtype,
                          c10::Device device, const std::string& key) {
  return assemble_hv_weights(config, load_hv_tensors(ckpt, config, dtype, device, key));
}

}  // namespace uspdit::models::hunyuan_video
