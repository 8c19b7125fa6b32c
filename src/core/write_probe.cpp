#include "core/write_probe.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace uspdit::core {

namespace fs = std::filesystem;

void probe_writable_directory(const fs::path& dir, const std::string& what) {
  const fs::path d = dir.empty() ? fs::path(".") : dir;
  std::error_code ec;
  require(fs::exists(d, ec), what + ": directory " + d.string() + " does not exist; create it first");
  require(fs::is_directory(d, ec), what + ": " + d.string() + " is not a directory");
  std::string name = (d / ".uspdit-write-probe-XXXXXX").string();
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  const int fd = ::mkstemp(buffer.data());
  if (fd < 0) {
    const int err = errno;
    throw UsageError(what + ": cannot create a file in " + d.string() + " (" + std::strerror(err) +
                     "); choose a writable directory");
  }
  ::close(fd);
  ::unlink(buffer.data());
}

fs::path nearest_existing(const fs::path& path) {
  std::error_code ec;
  fs::path p = path.empty() ? fs::path(".") : path;
  while (!fs::exists(p, ec)) {
    const fs::path parent = p.parent_path();
    if (parent.empty() || parent == p) return fs::path(".");
    p = parent;
  }
  return p;
}

}  // namespace uspdit::core
