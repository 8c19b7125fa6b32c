#include "core/temporaries.h"

#include <limits.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace uspdit::core {
namespace {

// Fixed slots so that the signal handler reads no heap and takes no lock: a slot's path is
// complete before `used` is set (release) and `used` is cleared before the path is reused.
struct Slot {
  std::atomic<bool> used{false};
  char path[PATH_MAX] = {};
};

Slot g_slots[kMaxTemporaries];
std::mutex g_writers;  // between threads that register (never taken in the handler)

}  // namespace

void remember_temporary(const std::string& path) {
  if (path.size() >= PATH_MAX) return;
  std::lock_guard<std::mutex> lock(g_writers);
  for (auto& slot : g_slots) {
    if (slot.used.load(std::memory_order_relaxed)) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.used.store(true, std::memory_order_release);
    return;
  }
}

void forget_temporary(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_writers);
  for (auto& slot : g_slots) {
    if (slot.used.load(std::memory_order_relaxed) && path == slot.path) {
      slot.used.store(false, std::memory_order_release);
      return;
    }
  }
}

void remove_temporaries_now() noexcept {
  for (auto& slot : g_slots) {
    if (slot.used.load(std::memory_order_acquire)) ::unlink(slot.path);
  }
}

}  // namespace uspdit::core
