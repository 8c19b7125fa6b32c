#include "io/safetensors_index.h"

#include <sys/stat.h>

#include <filesystem>

#include "core/error.h"
#include "io/json.h"
#include "io/mapped_file.h"

namespace uspdit::io {
namespace {

[[noreturn]] void fail_index(const std::string& path, const std::string& problem) {
  throw UsageError("checkpoint index " + path + ": " + problem);
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::shared_ptr<const SafetensorsIndex> SafetensorsIndex::open(const std::string& index_path) {
  std::shared_ptr<SafetensorsIndex> index(new SafetensorsIndex(index_path));
  const auto file = MappedFile::open(index_path);
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());
  const Json json = Json::parse(text, "checkpoint index " + index_path);
  const Json* map = json.find("weight_map");
  if (map == nullptr) fail_index(index_path, "no \"weight_map\" object");
  if (!map->is_object())
    fail_index(index_path, "\"weight_map\" is " + map->type_name() + ", expected an object");

  const std::filesystem::path folder = std::filesystem::path(index_path).parent_path();
  std::unordered_map<std::string, size_t> shard_number;
  for (size_t i = 0; i < map->size(); ++i) {
    const std::string& name = map->key(i);
    const Json& shard = map->item(i);
    if (!shard.is_string() || shard.as_string().empty())
      fail_index(index_path, "weight_map entry '" + name + "' is not a file name");
    auto [it, added] = shard_number.emplace(shard.as_string(), index->shard_paths_.size());
    if (added) {
      const std::string full = (folder / shard.as_string()).string();
      if (!is_regular_file(full)) {
        fail_index(index_path,
                   "shard '" + shard.as_string() + "' (holding '" + name + "') does not exist: " + full);
      }
      index->shard_paths_.push_back(full);
    }
    index->names_.push_back(name);
    index->shard_of_.emplace(name, it->second);
  }
  index->shards_.resize(index->shard_paths_.size());
  return index;
}

std::shared_ptr<const SafetensorsFile> SafetensorsIndex::shard(const std::string& name) const {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) missing_tensor(name);
  const size_t number = it->second;
  std::lock_guard<std::mutex> lock(mutex_);
  if (shards_[number] == nullptr) {
    try {
      shards_[number] = SafetensorsFile::open(shard_paths_[number]);
    } catch (const UsageError& e) {
      throw UsageError(std::string(e.what()) + " (a shard of " + path_ + ")");
    }
  }
  return shards_[number];
}

TensorSource::Location SafetensorsIndex::locate(const std::string& name) const {
  const auto file = shard(name);
  if (!file->contains(name)) {
    fail_index(path_,
               "shard " + file->label() + " does not contain '" + name + "', which the index places there");
  }
  return file->locate(name);
}

}  // namespace uspdit::io
