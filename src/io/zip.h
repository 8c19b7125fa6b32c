// The central directory of a zip archive over a mapped file: entry names and where each
// entry's bytes are. torch.save (PyTorch >= 1.6) writes its checkpoints as zip archives whose
// entries are stored uncompressed, so a tensor's storage is a plain byte range of the file.
// ZIP64 is read too: real checkpoints are far above 4 GiB.
//
// Only what is needed to locate stored data is read; CRCs are not verified (that would read
// every byte of a 25 GB file before the first tensor is used).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/mapped_file.h"

namespace uspdit::io {

struct ZipEntry {
  std::string name;
  uint64_t offset = 0;  // of the entry's data in the file (after its local header)
  uint64_t size = 0;    // stored bytes
  uint16_t method = 0;  // 0 = stored; anything else is compressed
};

class ZipArchive {
 public:
  // Throws UsageError "<file>: <problem>" when the file is not a readable zip archive.
  explicit ZipArchive(std::shared_ptr<const MappedFile> file);

  const MappedFile& file() const { return *file_; }
  const std::shared_ptr<const MappedFile>& file_ptr() const { return file_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;

 private:
  void read_directory();

  std::shared_ptr<const MappedFile> file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

// True when the file starts like a zip archive ("PK\3\4").
bool looks_like_zip(const MappedFile& file);

}  // namespace uspdit::io
