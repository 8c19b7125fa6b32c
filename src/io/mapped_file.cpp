#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace uspdit::io {
namespace {

// Runs [first, last) rounded inward to whole pages through madvise; advice is best effort.
void advise(const uint8_t* base, uint64_t size, uint64_t offset, uint64_t length, int advice, bool inward) {
  if (base == nullptr || length == 0 || offset >= size) return;
  if (length > size - offset) length = size - offset;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t first = offset;
  uint64_t last = offset + length;
  if (inward) {
    first = (first + page - 1) / page * page;
    last = last / page * page;
  } else {
    first = first / page * page;
  }
  if (first >= last) return;
  madvise(const_cast<uint8_t*>(base) + first, last - first, advice);
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UsageError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw UsageError("cannot read " + path + ": not a regular file");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  const uint8_t* data = nullptr;
  if (size > 0) {  // mmap of length 0 fails; an empty file is reported by the format readers
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw UsageError("cannot map " + path + ": " + std::strerror(err));
    }
    data = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
  return std::shared_ptr<const MappedFile>(new MappedFile(path, data, size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::will_need(uint64_t offset, uint64_t length) const {
  advise(data_, size_, offset, length, MADV_WILLNEED, false);
}

void MappedFile::release(uint64_t offset, uint64_t length) const {
  advise(data_, size_, offset, length, MADV_DONTNEED, true);
}

}  // namespace uspdit::io
