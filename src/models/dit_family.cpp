#include "models/dit_family.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/json.h"

namespace uspdit::models {
namespace fs = std::filesystem;
namespace {

std::string class_name_in(const fs::path& config) {
  std::ifstream file(config);
  std::stringstream text;
  text << file.rdbuf();
  const auto json = io::Json::parse(text.str(), config.string());
  const io::Json* cls = json.find("_class_name");
  return cls && cls->is_string() ? cls->as_string() : "";
}

}  // namespace

const char* family_name(DitFamily family) {
  return family == DitFamily::kWan21 ? "Wan 2.1" : "HunyuanVideo";
}

DitFamily detect_family(const std::string& ckpt_path, const std::string& model_flag) {
  if (model_flag.rfind("wan", 0) == 0) return DitFamily::kWan21;
  if (model_flag.rfind("hunyuan", 0) == 0) return DitFamily::kHunyuanVideo;
  require(model_flag == "auto", "--model " + model_flag + ": use auto, wan2.1 (wan2.1-t2v-1.3b, wan2.1-t2v-14b) or hunyuanvideo");
  const fs::path path(ckpt_path);
  require(fs::exists(path), "--ckpt-dir " + ckpt_path + " does not exist");
  if (fs::is_regular_file(path)) {
    if (path.extension() == ".pt" || path.extension() == ".pth") return DitFamily::kHunyuanVideo;
  } else {
    for (const fs::path& config : {path / "config.json", path / "transformer" / "config.json"}) {
      if (!fs::is_regular_file(config)) continue;
      const std::string cls = class_name_in(config);
      if (cls == "WanModel" || cls == "WanTransformer3DModel") return DitFamily::kWan21;
      if (cls == "HYVideoDiffusionTransformer" || cls == "HunyuanVideoTransformer3DModel") return DitFamily::kHunyuanVideo;
    }
    for (const fs::path& dir : {path, path / "transformers", path / "hunyuan-video-t2v-720p" / "transformers"}) {
      if (fs::exists(dir / "mp_rank_00_model_states.pt") || fs::exists(dir / "mp_rank_00_model_states_fp8.pt")) {
        return DitFamily::kHunyuanVideo;
      }
    }
  }
  throw UsageError("cannot tell which DiT " + ckpt_path +
                   " holds (no config.json with a known _class_name, no mp_rank_00_model_states.pt); "
                   "pass --model wan2.1 or --model hunyuanvideo");
}

}  // namespace uspdit::models
