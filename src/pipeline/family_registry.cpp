#include "pipeline/family_registry.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/json.h"

namespace uspdit::pipeline {

// Each family's descriptor, defined in its family file.
ModelFamily hunyuan_video_descriptor();  // hv_family.cpp
ModelFamily wan21_descriptor();          // wan_family.cpp

const std::vector<ModelFamily>& model_families() {
  static const std::vector<ModelFamily> families = {hunyuan_video_descriptor(), wan21_descriptor()};
  return families;
}

namespace {

namespace fs = std::filesystem;

std::string canonical(std::string name) {
  for (char& ch : name)
    ch = ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

std::string class_name_in(const fs::path& config) {
  std::ifstream file(config);
  std::stringstream text;
  text << file.rdbuf();
  const auto json = io::Json::parse(text.str(), config.string());
  const io::Json* cls = json.find("_class_name");
  return cls && cls->is_string() ? cls->as_string() : "";
}

// "auto, hunyuanvideo or wan2.1 (wan2.1-t2v-14b, wan2.1-t2v-1.3b)"
std::string model_flag_choices() {
  std::string out = "auto";
  const auto& families = model_families();
  for (size_t i = 0; i < families.size(); ++i) {
    const auto& f = families[i];
    out += (i + 1 == families.size() ? " or " : ", ") + f.id;
    if (f.plan_models.size() > 1) {
      std::string variants;
      for (const auto& m : f.plan_models) variants += (variants.empty() ? "" : ", ") + m.name;
      out += " (" + variants + ")";
    }
  }
  return out;
}

}  // namespace

const ModelFamily* family_named(const std::string& model) {
  const std::string wanted = canonical(model);
  for (const auto& family : model_families()) {
    for (const auto& prefix : family.model_prefixes) {
      if (wanted.rfind(prefix, 0) == 0) return &family;
    }
    for (const auto& m : family.plan_models) {
      if (wanted == m.name) return &family;
      for (const auto& alias : m.aliases) {
        if (wanted == alias) return &family;
      }
    }
  }
  return nullptr;
}

const ModelFamily& detect_family(const std::string& path_text, const std::string& model_flag) {
  if (model_flag != "auto") {
    const ModelFamily* named = family_named(model_flag);
    require(named != nullptr, "--model " + model_flag + ": use " + model_flag_choices());
    return *named;
  }
  const fs::path path(path_text);
  require(fs::exists(path), "--ckpt-dir " + path_text + " does not exist");
  if (fs::is_directory(path)) {
    for (const fs::path& config : {path / "config.json", path / "transformer" / "config.json"}) {
      if (!fs::is_regular_file(config)) continue;
      const std::string cls = class_name_in(config);
      for (const auto& family : model_families()) {
        for (const auto& known : family.config_classes) {
          if (cls == known) return family;
        }
      }
    }
  }
  for (const auto& family : model_families()) {
    if (family.holds_files && family.holds_files(path)) return family;
  }
  std::string ids;
  for (const auto& family : model_families()) ids += (ids.empty() ? "--model " : " or --model ") + family.id;
  throw UsageError("cannot tell which DiT " + path_text +
                   " holds (no config.json with a known _class_name, no file a family recognises); pass " +
                   ids);
}

const std::vector<parallel::ModelSpec>& plan_models() {
  static const std::vector<parallel::ModelSpec> all = [] {
    std::vector<parallel::ModelSpec> out;
    for (const auto& family : model_families())
      out.insert(out.end(), family.plan_models.begin(), family.plan_models.end());
    return out;
  }();
  return all;
}

const parallel::ModelSpec* find_plan_model(const std::string& name) {
  const std::string wanted = canonical(name);
  for (const auto& spec : plan_models()) {
    if (spec.name == wanted) return &spec;
    for (const auto& alias : spec.aliases) {
      if (alias == wanted) return &spec;
    }
  }
  return nullptr;
}

std::string known_plan_model_names() {
  std::string names;
  for (const auto& spec : plan_models()) names += (names.empty() ? "" : ", ") + spec.name;
  return names;
}

}  // namespace uspdit::pipeline
