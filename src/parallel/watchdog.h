// The collective watchdog: a job whose ranks stop meeting fails in --timeout seconds, on every
// rank, with one line naming the collective, the stage/step/block (core/where.h) and the ranks
// that did not arrive, instead of hanging until the launcher's or NCCL's own limit.
//
// How. Every collective of the world and its groups passes through WatchedCommunicator, which
// tells the watchdog when it enters and leaves, with the group's id and the collective's
// sequence number in that group (the same on every member: collectives run in the same order
// everywhere). A thread per rank sends that state to every other rank a few times per
// interval over a UDP side channel (peer_beacon.h), which keeps working while the data
// communicator is blocked. When this rank has been inside one collective for longer than the
// timeout, the thread compares: a member "arrived" when its last report shows it entered the
// same group's collective of that number (or a later one). It prints the line, tells the other
// ranks (they print theirs: each says where it was), removes temporary outputs, aborts the
// registered device communicators (NCCL: ncclCommAbort, so no kernel keeps the GPU) and ends the
// job: MPI_Abort under MPI (mpirun then stops every rank), _exit otherwise (torchrun's agent
// stops the rest). Exit code kWatchdogExitCode.
//
// What it cannot see: a rank that is alive but never calls the collective looks the same as a
// slow one until the timeout; the line then says where that rank is (stage, step, block).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "parallel/communicator.h"

namespace uspdit::parallel {

// Why 300 s. The watchdog times single collectives, not steps. The longest steady-state one,
// a Wan 14B 720p Ulysses all-to-all (75,600 tokens × 5120 × 2 bytes, about 0.8 GB over the group)
// takes under 10 s even on a 1 Gb/s link, and the step-to-step skew between ranks is a block's
// compute. What a collective can legitimately wait for is a slower peer's one-off work before
// it: loading a 14B checkpoint from a network file system, text encoding on the CPU
// (--t5_cpu), a decode. Five minutes covers those on ordinary storage; raise --timeout on slow
// storage, and --timeout 0 turns the watchdog off.
inline constexpr double kDefaultCollectiveTimeoutSeconds = 300;
// timeout(1)'s "timed out"; distinct from 1 (failure), 2 (usage) and check's 3 (flagged).
inline constexpr int kWatchdogExitCode = 124;

// The limit Runtime::start gives the watchdog (seconds; 0: none). Set from --timeout.
void set_collective_timeout(double seconds);
double collective_timeout();

// Device communicators that can be aborted from another thread (NCCL) register here; the
// watchdog calls every hook before ending the process. Returns an id for remove_abort_hook.
int add_abort_hook(std::function<void()> hook);
void remove_abort_hook(int id);

class Watchdog {
 public:
  // Collective over `world`: exchanges the side channel's addresses, then starts the thread.
  Watchdog(Communicator& world, double timeout_seconds);
  ~Watchdog();  // stops the thread
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // The running watchdog of this process, nullptr when none.
  static Watchdog* active();

  // `members`: the world ranks of the group, in group rank order.
  void enter(uint32_t group, uint64_t sequence, const char* op,
             std::shared_ptr<const std::vector<int>> members);
  void leave();
  int world_rank() const { return rank_; }

  struct State;  // (watchdog.cpp)

 private:
  void run();
  void fire(int reported_by);

  int rank_ = 0;
  int size_ = 1;
  std::chrono::duration<double> timeout_;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace uspdit::parallel
