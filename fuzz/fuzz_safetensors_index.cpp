// A *.safetensors.index.json of arbitrary bytes beside one valid shard: the index's weight_map
// (and the shard names in it) must be refused cleanly or resolve inside the shard.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "fuzz_touch.h"
#include "io/safetensors_index.h"

namespace {

namespace fs = std::filesystem;

// A folder of our own with shard.safetensors (one F32 tensor "w" of 2 elements).
fs::path make_folder() {
  const fs::path dir = fs::temp_directory_path() / ("uspdit-fuzz-index-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::ofstream shard(dir / "shard.safetensors", std::ios::binary);
  const uint64_t n = header.size();
  shard.write(reinterpret_cast<const char*>(&n), 8);
  shard << header;
  const float values[2] = {1.0f, 2.0f};
  shard.write(reinterpret_cast<const char*>(values), sizeof values);
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path dir = make_folder();
  static const std::string index = (dir / "model.safetensors.index.json").string();
  {
    std::ofstream out(index, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const auto idx = uspdit::io::SafetensorsIndex::open(index);
    for (const auto& name : idx->names()) {
      try {
        (void)idx->info(name);
        uspdit::fuzz::touch_every_byte(idx->view(name));
      } catch (const uspdit::UsageError&) {
      }
    }
  } catch (const uspdit::UsageError&) {
  }
  return 0;
}
