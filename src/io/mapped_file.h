// A whole file mapped read-only into memory: the one way checkpoint bytes are read.
//
// Checkpoints are tens of GB; mapping them costs no memory up front and lets tensors alias the
// file (zero-copy views) while a converting load touches one tensor's pages at a time. Every
// reader bounds-checks offsets against size() before touching data(), so truncated or corrupt
// files become UsageErrors, never out-of-bounds reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace uspdit::io {

class MappedFile {
 public:
  // Throws UsageError naming the path if it cannot be opened or is not a regular file.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  // True when [offset, offset + length) lies inside the file (overflow-safe).
  bool contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

  // Hints that [offset, offset + length) is about to be read in full (read-ahead).
  void will_need(uint64_t offset, uint64_t length) const;
  // Drops the pages wholly inside [offset, offset + length) from this process: after a tensor
  // was copied out they would otherwise stay resident until the file is closed, and a 25 GB
  // checkpoint would look like 25 GB of RSS. The mapping is read-only and file-backed, so a
  // later access (a live view) simply reads the page again.
  void release(uint64_t offset, uint64_t length) const;

 private:
  MappedFile(std::string path, const uint8_t* data, uint64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_;
  uint64_t size_;
};

}  // namespace uspdit::io
