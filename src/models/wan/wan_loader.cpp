#include "models/wan/wan_loader.h"

#include <filesystem>
#include <map>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/wan/wan_config_json.h"
#include "models/wan/wan_tensors.h"

namespace uspdit::models::wan {
namespace fs = std::filesystem;

WanCheckpoint locate_wan_checkpoint(const std::string& ckpt_dir) {
  require(fs::is_directory(ckpt_dir), "--ckpt-dir " + ckpt_dir + " is not a directory");
  WanCheckpoint ckpt;
  // A diffusers pipeline keeps the DiT in transformer/; the original release at the top.
  const fs::path pipeline_transformer = fs::path(ckpt_dir) / "transformer";
  ckpt.weights_dir = fs::is_regular_file(pipeline_transformer / "config.json") ? pipeline_transformer.string() : ckpt_dir;
  const fs::path config = fs::path(ckpt.weights_dir) / "config.json";
  require(fs::is_regular_file(config), "no config.json in " + ckpt.weights_dir +
                                           " (expected a Wan 2.1 checkpoint directory, original or diffusers layout)");
  ckpt.config = read_wan_config(config.string());
  return ckpt;
}

WanWeights load_wan_weights(const io::TensorSource& source, const WanConfig& config, at::ScalarType dtype,
                            c10::Device device) {
  const auto layout = detect_layout(source.names());
  // File name of every engine name the checkpoint has; names no rule explains are unexpected.
  std::map<std::string, std::string> file_name_of;
  for (const auto& name : source.names()) {
    file_name_of[layout == WanLayout::kDiffusers ? diffusers_to_engine_name(name) : name] = name;
  }
  const auto specs = wan_tensor_specs(config);
  const auto [missing, unexpected] = io::match_names(spec_names(specs), file_name_of);
  const std::string where = "checkpoint " + source.label() + " (" + layout_name(layout) + " layout, " +
                            std::to_string(config.num_layers) + " layers, dim " + std::to_string(config.dim) + ")";
  require(missing.empty(), where + ": missing tensor" + (missing.size() > 1 ? "s " : " ") + io::quote_first_few(missing) +
                               " (in the engine's names; is config.json for this checkpoint?)");
  require(unexpected.empty(), where + ": unexpected tensor" + (unexpected.size() > 1 ? "s " : " ") +
                                  io::quote_first_few(unexpected) + " (config.json says num_layers=" +
                                  std::to_string(config.num_layers) + "; is it the right config?)");

  std::map<std::string, at::Tensor> tensors;
  core::DeviceUploader upload(device);
  const std::string context = "config says dim=" + std::to_string(config.dim) + ", ffn_dim=" +
                              std::to_string(config.ffn_dim) + ", in_dim=" + std::to_string(config.in_dim);
  for (const auto& spec : specs) {
    const std::string& file_name = file_name_of.at(spec.name);
    io::expect_shape(source, file_name, spec.shape, context);
    const auto stored = source.info(file_name).dtype;
    require(at::isFloatingType(stored), "checkpoint " + source.label() + ": tensor '" + file_name + "' is " +
                                            io::dtype_name(stored) + ", expected a floating-point dtype");
    tensors[spec.name] = source.load(file_name, holding_dtype(spec, dtype), upload);
  }
  return assemble_wan_weights(config, std::move(tensors));
}

}  // namespace uspdit::models::wan
