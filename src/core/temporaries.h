// The temporary files this process is writing (an mp4 or a report before its rename into
// place). A signal that ends the process (core/interrupt.h) or the watchdog's abort removes them,
// so a stopped job leaves no half-written file beside its outputs.
#pragma once

#include <string>

namespace uspdit::core {

// Registers `path` until the matching forget_temporary. At most kMaxTemporaries at once; more
// are written but not removed on a signal (a normal failure still removes them, see callers).
inline constexpr int kMaxTemporaries = 32;
void remember_temporary(const std::string& path);
void forget_temporary(const std::string& path);

// Unlinks every registered temporary. Async-signal-safe: only unlink(2) on fixed buffers.
void remove_temporaries_now() noexcept;

// RAII: remembered for the scope.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) { remember_temporary(path_); }
  ~TemporaryFile() { forget_temporary(path_); }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

 private:
  std::string path_;
};

}  // namespace uspdit::core
