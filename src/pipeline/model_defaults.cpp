#include "pipeline/model_defaults.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "io/json.h"
#include "io/json_fields.h"
#include "pipeline/wan_t2v_request.h"
#include "sampling/schedule.h"

namespace uspdit::pipeline {
namespace fs = std::filesystem;

std::string ModelDefaults::source() const {
  return std::string("folder: ") + kModelDefaultsFile;
}

namespace {

const std::set<std::string>& known_keys() {
  static const std::set<std::string> keys = {"name",          "size",
                                             "frame_num",     "sample_steps",
                                             "sample_shift",  "sample_guide_scale",
                                             "sample_solver", "negative_prompt",
                                             "trained_sizes", "dtype",
                                             "comment"};
  return keys;
}

std::string key_list() {
  std::string out;
  for (const auto& key : known_keys()) out += (out.empty() ? "" : ", ") + key;
  return out;
}

}  // namespace

ModelDefaults read_model_defaults(const std::string& ckpt_dir) {
  ModelDefaults d;
  const auto path = (fs::path(ckpt_dir) / kModelDefaultsFile).string();
  if (!fs::is_regular_file(path)) return d;
  d.file = path;
  const auto json = io::Json::parse_file(path);
  require(json.is_object(),
          path + ": expected a JSON object of generate's defaults, e.g. {\"size\": \"64*64\"}");
  for (size_t i = 0; i < json.size(); ++i) {
    require(known_keys().count(json.key(i)) == 1,
            path + ": unknown key \"" + json.key(i) + "\" (known: " + key_list() + ")");
  }
  const io::JsonFields f(json, d.file);
  const auto bad = [&](const std::string& key, const std::string& why) {
    throw UsageError(path + ": \"" + key + "\" " + why + "; fix the file or give the flag");
  };
  if (f.has("name")) d.name = f.string("name", "");
  if (f.has("size")) {
    int64_t w = 0, h = 0;
    try {
      parse_wan_size(f.string("size", ""), w, h);
    } catch (const UsageError&) {
      bad("size", "must be WIDTH*HEIGHT, e.g. \"64*64\"");
    }
    d.width = w, d.height = h;
  }
  if (f.has("frame_num")) {
    d.frames = f.integer("frame_num", 0);
    if (*d.frames < 1 || (*d.frames - 1) % 4 != 0) bad("frame_num", "must be 4n+1 (1, 5, 9, ...)");
  }
  if (f.has("sample_steps")) {
    const auto steps = f.integer("sample_steps", 0);
    if (steps < 1 || steps > 10000) bad("sample_steps", "must be 1..10000");
    d.steps = static_cast<int>(steps);
  }
  if (f.has("sample_shift")) {
    d.shift = f.number("sample_shift", 0);
    if (!(*d.shift > 0) || !std::isfinite(*d.shift)) bad("sample_shift", "must be > 0");
  }
  if (f.has("sample_guide_scale")) {
    d.guide_scale = f.number("sample_guide_scale", 0);
    if (!(*d.guide_scale >= 0) || !std::isfinite(*d.guide_scale)) bad("sample_guide_scale", "must be >= 0");
  }
  if (f.has("sample_solver")) {
    d.solver = f.string("sample_solver", "");
    try {
      (void)sampling::parse_solver(*d.solver);
    } catch (const UsageError&) {
      bad("sample_solver", "must be unipc, dpm++ or euler");
    }
  }
  if (f.has("dtype")) {
    d.dtype = f.string("dtype", "");
    if (*d.dtype != "fp32" && *d.dtype != "bf16" && *d.dtype != "fp16")
      bad("dtype", "must be fp32, bf16 or fp16");
  }
  if (f.has("negative_prompt")) d.negative_prompt = f.string("negative_prompt", "");
  if (const auto* sizes = f.find("trained_sizes")) {
    if (!sizes->is_array()) bad("trained_sizes", "must be a list like [\"64*64\"]");
    for (size_t i = 0; i < sizes->size(); ++i) {
      const auto& item = sizes->item(i);
      if (!item.is_string()) bad("trained_sizes", "must be a list of strings like \"64*64\"");
      int64_t w = 0, h = 0;
      try {
        parse_wan_size(item.as_string(), w, h);
      } catch (const UsageError&) {
        bad("trained_sizes", "item \"" + item.as_string() + "\" is not WIDTH*HEIGHT");
      }
      d.trained_sizes.emplace_back(w, h);
    }
  }
  return d;
}

std::string default_model_dir(const std::string& executable) {
  if (const char* env = std::getenv("USPDIT_DEFAULT_MODEL"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  fs::path exe = executable.empty() ? fs::read_symlink("/proc/self/exe", ec) : fs::path(executable);
  if (ec || exe.empty()) return "";
  // build/uspdit, build-asan/uspdit, <prefix>/bin/uspdit: the folder is at most three levels up.
  fs::path dir = fs::weakly_canonical(exe, ec).parent_path();
  for (int up = 0; up < 4 && !dir.empty(); ++up, dir = dir.parent_path()) {
    for (const auto& candidate :
         {dir / "models" / "demo-shapes-t2v", dir / "share" / "uspdit" / "models" / "demo-shapes-t2v"}) {
      if (fs::is_regular_file(candidate / kModelDefaultsFile, ec)) return candidate.string();
    }
    if (dir == dir.root_path()) break;
  }
  return "";
}

}  // namespace uspdit::pipeline
