// The parsers read files (mmap), so each fuzz input is handed over as one: an in-memory file
// (memfd) rewritten per input and named by its /proc/self/fd path. No disk traffic.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace uspdit::fuzz {

class InputFile {
 public:
  InputFile() : fd_(memfd_create("uspdit-fuzz", 0)) {
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& write(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0 || (size && pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size)))
      std::abort();
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace uspdit::fuzz
