#include "core/log.h"

#include <cstdio>
#include <mutex>

namespace uspdit::log {
namespace {

int g_rank = 0;
int g_world = 1;
bool g_verbose = false;
std::mutex g_mutex;

void emit(const char* level, const std::string& line) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_world > 1) {
    std::fprintf(stderr, "[uspdit %s rank %d/%d] %s\n", level, g_rank, g_world, line.c_str());
  } else {
    std::fprintf(stderr, "[uspdit %s] %s\n", level, line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace

void set_rank(int rank, int world_size) {
  g_rank = rank;
  g_world = world_size;
}
void set_verbose(bool verbose) { g_verbose = verbose; }

void info(const std::string& line) {
  if (g_rank == 0) emit("info", line);
}
void warn(const std::string& line) { emit("warn", line); }
void error(const std::string& line) { emit("error", line); }
void debug(const std::string& line) {
  if (g_verbose) emit("debug", line);
}

}  // namespace uspdit::log
