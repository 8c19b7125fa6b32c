// JSON as every config reader meets it: the parser, JsonFields' typed readers, and the model
// and scheduler config readers on the same bytes (they read files, hence InputFile).
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "fuzz_input_file.h"
#include "io/json.h"
#include "io/json_fields.h"
#include "models/clip/clip_config.h"
#include "models/llama/llama_config.h"
#include "models/umt5/umt5_config.h"
#include "sampling/diffusers_scheduler_config.h"

namespace {

void walk(const uspdit::io::Json& json, int depth) {
  if (depth > 64) return;
  (void)json.type_name();
  if (json.is_array() || json.is_object()) {
    for (size_t i = 0; i < json.size(); ++i) {
      if (json.is_object()) (void)json.key(i);
      walk(json.item(i), depth + 1);
    }
  }
}

template <class F>
void refused_or_fine(F&& f) {
  try {
    f();
  } catch (const uspdit::UsageError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uspdit::fuzz::InputFile file;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  refused_or_fine([&] {
    const auto json = uspdit::io::Json::parse(text, "fuzz.json");
    walk(json, 0);
    if (!json.is_object()) return;
    const std::string source = "fuzz.json";  // JsonFields keeps a reference to it
    const uspdit::io::JsonFields fields(json, source);
    refused_or_fine([&] { (void)fields.integer("num_layers", 1); });
    refused_or_fine([&] { (void)fields.number("shift", 1.0); });
    refused_or_fine([&] { (void)fields.string("_class_name", ""); });
    refused_or_fine([&] { (void)fields.boolean("flag", false); });
    refused_or_fine([&] { (void)fields.triple("patch_size", {1, 2, 2}); });
    refused_or_fine([&] { (void)fields.integers("dims", {}); });
    refused_or_fine([&] { (void)fields.numbers("scales", {}); });
    refused_or_fine([&] { (void)fields.booleans("flags", {}); });
  });
  const std::string& path = file.write(data, size);
  refused_or_fine([&] { (void)uspdit::models::umt5::read_umt5_config_json(path); });
  refused_or_fine([&] { (void)uspdit::models::clip::read_clip_text_config_json(path); });
  refused_or_fine([&] { (void)uspdit::models::llama::read_llama_config_json(path); });
  refused_or_fine([&] { (void)uspdit::sampling::read_diffusers_scheduler_config(path); });
  return 0;
}
