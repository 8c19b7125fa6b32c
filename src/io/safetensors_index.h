// A sharded safetensors checkpoint: `<name>.safetensors.index.json` whose "weight_map" maps
// every tensor to the shard file holding it (relative to the index's folder), as written by
// diffusers/transformers for models larger than one file (Wan 2.1 14B: 6 shards).
//
// Every shard named must exist when the index is opened (a half-finished download is reported
// at once, naming the shard); a shard's header is read only when one of its tensors is first
// asked for.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/safetensors.h"
#include "io/tensor_source.h"

namespace uspdit::io {

class SafetensorsIndex : public TensorSource {
 public:
  // Throws UsageError "checkpoint index <path>: <problem>".
  static std::shared_ptr<const SafetensorsIndex> open(const std::string& index_path);

  const std::string& label() const override { return path_; }
  // In weight_map order.
  const std::vector<std::string>& names() const override { return names_; }
  bool contains(const std::string& name) const override { return shard_of_.count(name) != 0; }
  // Full paths of the shards, in order of first appearance in weight_map.
  const std::vector<std::string>& shard_paths() const { return shard_paths_; }
  // The shard holding `name`, opened (and its header validated) on first use. Thread-safe.
  std::shared_ptr<const SafetensorsFile> shard(const std::string& name) const;

 protected:
  Location locate(const std::string& name) const override;

 private:
  explicit SafetensorsIndex(std::string path) : path_(std::move(path)) {}

  std::string path_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> shard_of_;  // tensor -> index into shard_paths_
  std::vector<std::string> shard_paths_;
  mutable std::mutex mutex_;
  mutable std::vector<std::shared_ptr<const SafetensorsFile>> shards_;  // opened lazily
};

}  // namespace uspdit::io
