#include "pipeline/wan_t2v_files.h"

#include <filesystem>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace uspdit::pipeline {
namespace fs = std::filesystem;

WanT2vFiles locate_wan_t2v_files(const std::string& ckpt_dir, const WanT2vFileOverrides& overrides) {
  require(fs::is_directory(ckpt_dir), "--ckpt_dir " + ckpt_dir + ": no such directory");
  const fs::path root(ckpt_dir);
  WanT2vFiles files;
  files.dit = ckpt_dir;
  const bool diffusers = fs::is_regular_file(root / "model_index.json") || fs::is_directory(root / "transformer");
  files.layout = diffusers ? "diffusers" : "original";
  const auto pick = [](const std::string& given, const fs::path& default_path) {
    return given.empty() ? default_path.string() : given;
  };
  if (diffusers) {
    files.text_encoder = pick(overrides.text_encoder, root / "text_encoder");
    files.tokenizer = pick(overrides.tokenizer, root / "tokenizer");
    files.vae = pick(overrides.vae, root / "vae");
  } else {
    files.text_encoder = pick(overrides.text_encoder, root / "models_t5_umt5-xxl-enc-bf16.pth");
    files.tokenizer = pick(overrides.tokenizer, root / "google" / "umt5-xxl");
    files.vae = pick(overrides.vae, root / "Wan2.1_VAE.pth");
  }
  // Report every missing part at once: a half-downloaded checkpoint usually misses several.
  std::vector<std::string> missing;
  const auto need = [&](const std::string& path, const char* what, const char* flag) {
    if (!fs::exists(path)) missing.push_back(std::string(what) + " " + path + " (or give " + flag + ")");
  };
  need(files.text_encoder, "text encoder", "--t5-checkpoint");
  need(files.tokenizer, "tokenizer", "--tokenizer");
  need(files.vae, "VAE", "--vae-checkpoint");
  if (!missing.empty()) {
    std::ostringstream msg;
    msg << ckpt_dir << " (" << files.layout << " layout) is missing: ";
    for (size_t i = 0; i < missing.size(); ++i) msg << (i ? "; " : "") << missing[i];
    throw UsageError(msg.str());
  }
  return files;
}

}  // namespace uspdit::pipeline
