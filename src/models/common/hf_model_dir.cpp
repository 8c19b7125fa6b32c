#include "models/common/hf_model_dir.h"

#include <filesystem>

#include "core/error.h"

namespace uspdit::models {
namespace fs = std::filesystem;

namespace {

bool has_safetensors(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json")) return true;
  }
  return false;
}

}  // namespace

HfModelDir locate_hf_model_dir(const std::string& path, const std::string& subfolder,
                               const std::string& what) {
  require(fs::exists(path), what + ": " + path + " does not exist");
  require(fs::is_directory(path),
          what + ": " + path + " is not a folder (expected the save_pretrained folder with config.json)");
  fs::path dir = path;
  if (!fs::exists(dir / "config.json") && fs::exists(dir / subfolder / "config.json")) dir /= subfolder;
  require(fs::exists(dir / "config.json"), what + ": " + (dir / "config.json").string() +
                                               " does not exist (point at the save_pretrained folder, e.g. " +
                                               subfolder + "/)");
  HfModelDir out{dir.string(), (dir / "config.json").string(), dir.string()};
  if (has_safetensors(dir)) return out;
  // Older HF folders ship only the torch.save file.
  if (fs::exists(dir / "pytorch_model.bin")) {
    out.weights = (dir / "pytorch_model.bin").string();
    return out;
  }
  throw UsageError(what + ": " + dir.string() +
                   " has config.json but no weights (model.safetensors, model.safetensors.index.json or "
                   "pytorch_model.bin)");
}

}  // namespace uspdit::models
