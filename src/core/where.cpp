#include "core/where.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

namespace uspdit::where {
namespace {

std::mutex& position_mutex() {
  static std::mutex m;
  return m;
}

Position& position() {
  static Position p;
  return p;
}

struct Fault {
  std::string stage;
  int step = -1;
  std::string action;
  bool done = false;
};

// The launcher's rank, read before (or without) MPI: faults are armed per launch rank.
std::string launcher_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID", "RANK"}) {
    if (const char* value = std::getenv(var)) return value;
  }
  return "0";
}

std::optional<Fault> parse_fault() {
  const char* spec = std::getenv("USPDIT_FAULT");
  if (spec == nullptr || *spec == '\0') return std::nullopt;
  const std::string text = spec;
  const auto a = text.find(':');
  const auto b = a == std::string::npos ? a : text.find(':', a + 1);
  const auto c = b == std::string::npos ? b : text.find(':', b + 1);
  if (c == std::string::npos) {
    std::fprintf(stderr, "USPDIT_FAULT=%s ignored: expected RANK:STAGE:STEP:ACTION\n", spec);
    return std::nullopt;
  }
  if (text.substr(0, a) != launcher_rank()) return std::nullopt;
  Fault f;
  f.stage = text.substr(a + 1, b - a - 1);
  f.step = std::atoi(text.substr(b + 1, c - b - 1).c_str());
  f.action = text.substr(c + 1);
  return f;
}

std::optional<Fault>& fault() {
  static std::optional<Fault> f = parse_fault();
  return f;
}

// Called with the mutex released: the actions never return quickly.
void act(const Fault& f, const Position& at) {
  std::fprintf(stderr, "[rank %s] fault injection: %s at %s\n", launcher_rank().c_str(), f.action.c_str(),
               describe(at).c_str());
  std::fflush(stderr);
  if (f.action == "kill") std::raise(SIGKILL);
  if (f.action == "stop") std::raise(SIGSTOP);
  if (f.action == "sleep") {
    for (int i = 0; i < 120; ++i) ::sleep(1);
  }
}

template <typename Update>
void update(Update&& change) {
  Position now;
  std::optional<Fault> fire;
  {
    std::lock_guard<std::mutex> lock(position_mutex());
    change(position());
    now = position();
    auto& f = fault();
    if (f && !f->done && f->stage == now.stage && f->step == now.step && now.block < 0) {
      f->done = true;
      fire = *f;
    }
  }
  if (fire) act(*fire, now);
}

}  // namespace

void set_stage(const std::string& name) {
  update([&](Position& p) {
    p.stage = name;
    p.step = -1;
    p.block = -1;
  });
}

void set_step(int step) {
  update([&](Position& p) {
    p.step = step;
    p.block = -1;
  });
}

void set_block(int block) {
  update([&](Position& p) { p.block = block; });
}

Position current() {
  std::lock_guard<std::mutex> lock(position_mutex());
  return position();
}

std::string describe(const Position& p) {
  if (p.stage.empty() && p.step < 0 && p.block < 0) return "before the first stage";
  std::string out = p.stage.empty() ? "" : "stage " + p.stage;
  if (p.step >= 0) out += (out.empty() ? "" : ", ") + std::string("step ") + std::to_string(p.step);
  if (p.block >= 0) out += (out.empty() ? "" : ", ") + std::string("block ") + std::to_string(p.block);
  return out;
}

PackedPosition pack(const Position& p) {
  PackedPosition out;
  std::strncpy(out.stage, p.stage.c_str(), sizeof out.stage - 1);
  out.step = p.step;
  out.block = p.block;
  return out;
}

Position unpack(const PackedPosition& packed) {
  Position p;
  p.stage.assign(packed.stage, strnlen(packed.stage, sizeof packed.stage));
  p.step = packed.step;
  p.block = packed.block;
  return p;
}

}  // namespace uspdit::where
