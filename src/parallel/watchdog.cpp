#include "parallel/watchdog.h"

#include <mpi.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include "core/interrupt.h"
#include "core/temporaries.h"
#include "core/where.h"
#include "parallel/peer_beacon.h"

namespace uspdit::parallel {
namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr uint32_t kMagic = 0x57505355;  // "USPW"
constexpr uint32_t kBeat = 0;
constexpr uint32_t kFire = 1;
constexpr int kRecentGroups = 8;

// One report between watchdog threads. Plain bytes: every rank runs the same build.
struct Report {
  uint32_t magic = kMagic;
  uint32_t kind = kBeat;
  int32_t rank = 0;
  uint32_t in_collective = 0;
  uint32_t group = 0;
  uint64_t sequence = 0;
  char op[24] = {};
  where::PackedPosition position;
  double waited_seconds = 0;
  // The last collective entered in each recently used group: how "arrived" is decided.
  struct Entered {
    uint32_t group = 0;
    uint64_t sequence = 0;
  } entered[kRecentGroups];
};

std::atomic<double> g_timeout{kDefaultCollectiveTimeoutSeconds};
std::atomic<Watchdog*> g_active{nullptr};

std::mutex& hooks_mutex() {
  static std::mutex m;
  return m;
}
std::map<int, std::function<void()>>& hooks() {
  static std::map<int, std::function<void()>> h;
  return h;
}

void end_job() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, kWatchdogExitCode);
  ::_exit(kWatchdogExitCode);
}

std::string seconds_text(double s) {
  std::ostringstream out;
  out.precision(s < 10 ? 2 : 3);
  out << s << " s";
  return out.str();
}

// "at stage denoise, step 3, block 7", or "before the first stage".
std::string at_position(const where::PackedPosition& packed) {
  const auto position = where::unpack(packed);
  const std::string text = where::describe(position);
  return position.stage.empty() && position.step < 0 && position.block < 0 ? text : "at " + text;
}

std::string group_text(uint32_t group, const std::vector<int>& members) {
  if (group == 0) return "the world";
  std::ostringstream out;
  out << "group {";
  for (size_t i = 0; i < members.size(); ++i) out << (i ? "," : "") << members[i];
  out << "}";
  return out.str();
}

}  // namespace

struct Watchdog::State {
  std::mutex mutex;
  bool in_collective = false;
  uint32_t group = 0;
  uint64_t sequence = 0;
  const char* op = "";
  std::shared_ptr<const std::vector<int>> members;
  Clock::time_point since;
  std::array<Report::Entered, kRecentGroups> entered{};
  int next_slot = 0;

  struct Peer {
    bool heard = false;
    Report last;
    Clock::time_point at;
  };
  std::vector<Peer> peers;
  PeerBeacon beacon;
  Seconds beat_interval{1.0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> fired{false};

  Report snapshot(int rank, uint32_t kind) {
    Report r;
    r.kind = kind;
    r.rank = rank;
    std::lock_guard<std::mutex> lock(mutex);
    r.in_collective = in_collective ? 1 : 0;
    r.group = group;
    r.sequence = sequence;
    std::strncpy(r.op, op, sizeof r.op - 1);
    r.position = where::pack(where::current());
    r.waited_seconds = in_collective ? Seconds(Clock::now() - since).count() : 0;
    std::copy(entered.begin(), entered.end(), r.entered);
    return r;
  }
};

void set_collective_timeout(double seconds) {
  g_timeout = std::max(0.0, seconds);
}
double collective_timeout() {
  return g_timeout;
}

int add_abort_hook(std::function<void()> hook) {
  static int next = 0;
  std::lock_guard<std::mutex> lock(hooks_mutex());
  hooks()[++next] = std::move(hook);
  return next;
}

void remove_abort_hook(int id) {
  std::lock_guard<std::mutex> lock(hooks_mutex());
  hooks().erase(id);
}

Watchdog* Watchdog::active() {
  return g_active.load();
}

Watchdog::Watchdog(Communicator& world, double timeout_seconds)
    : rank_(world.rank()), size_(world.size()), timeout_(timeout_seconds), state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.peers.resize(static_cast<size_t>(size_));
  // Beats often enough that a silent peer stands out well before the timeout, at most 1/s.
  s.beat_interval = Seconds(std::clamp(timeout_seconds / 8, 0.05, 1.0));
  const auto mine = s.beacon.address();
  auto send =
      at::from_blob(const_cast<uint8_t*>(mine.data()), {static_cast<int64_t>(mine.size())}, at::kByte);
  auto all = at::empty({static_cast<int64_t>(mine.size()) * size_}, at::kByte);
  const std::vector<int64_t> counts(static_cast<size_t>(size_), static_cast<int64_t>(mine.size()));
  world.host_all_gather_v(send, all, counts);
  std::vector<PeerBeacon::Address> addresses(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) std::memcpy(addresses[r].data(), all.data_ptr<uint8_t>() + r * 8, 8);
  s.beacon.set_peers(addresses, rank_);
  thread_ = std::thread([this] { run(); });
  g_active = this;
}

Watchdog::~Watchdog() {
  g_active = nullptr;
  state_->stopping = true;
  if (thread_.joinable()) thread_.join();
}

void Watchdog::enter(uint32_t group, uint64_t sequence, const char* op,
                     std::shared_ptr<const std::vector<int>> members) {
  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  s.in_collective = true;
  s.group = group;
  s.sequence = sequence;
  s.op = op;
  s.members = std::move(members);
  s.since = Clock::now();
  for (auto& e : s.entered) {
    if (e.group == group && e.sequence != 0) {
      e.sequence = sequence;
      return;
    }
  }
  s.entered[static_cast<size_t>(s.next_slot)] = {group, sequence};
  s.next_slot = (s.next_slot + 1) % kRecentGroups;
}

void Watchdog::leave() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->in_collective = false;
}

void Watchdog::run() {
  auto& s = *state_;
  auto next_beat = Clock::now();
  while (!s.stopping) {
    const auto now = Clock::now();
    if (now >= next_beat) {
      const Report beat = s.snapshot(rank_, kBeat);
      s.beacon.send_to_all(&beat, sizeof beat);
      next_beat = now + std::chrono::duration_cast<Clock::duration>(s.beat_interval);
    }
    Report in;
    const size_t n = s.beacon.receive(&in, sizeof in, 50);
    if (n == sizeof in && in.magic == kMagic && in.rank >= 0 && in.rank < size_ && in.rank != rank_) {
      in.op[sizeof in.op - 1] = '\0';  // printed as a C string; the position is read with strnlen
      auto& peer = s.peers[static_cast<size_t>(in.rank)];
      peer.heard = true;
      peer.last = in;
      peer.at = Clock::now();
      if (in.kind == kFire) fire(in.rank);
    }
    bool expired = false;
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      expired = timeout_.count() > 0 && s.in_collective && Clock::now() - s.since > timeout_;
    }
    if (expired) fire(rank_);
  }
}

void Watchdog::fire(int reported_by) {
  auto& s = *state_;
  if (s.fired.exchange(true)) return;
  const Report me = s.snapshot(rank_, kFire);
  // Tell the others first: each prints where it was before the launcher stops it.
  for (int i = 0; i < 3; ++i) s.beacon.send_to_all(&me, sizeof me);
  const auto now = Clock::now();
  std::ostringstream line;
  line << "[rank " << rank_ << "] uspdit watchdog: ";
  const std::string here = at_position(me.position);
  if (me.in_collective) {
    std::vector<int> members;
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      if (s.members) members = *s.members;
    }
    line << me.op << " #" << me.sequence << " on " << group_text(me.group, members) << " " << here
         << " has waited " << seconds_text(me.waited_seconds) << " (--timeout " << timeout_.count() << ")";
    std::ostringstream missing;
    int not_arrived = 0;
    for (int m : members) {
      if (m == rank_ || m < 0 || m >= size_) continue;
      const auto& peer = s.peers[static_cast<size_t>(m)];
      bool arrived = false;
      for (const auto& e : peer.last.entered) {
        arrived = arrived || (peer.heard && e.group == me.group && e.sequence >= me.sequence);
      }
      if (arrived) continue;
      missing << (not_arrived++ ? ", " : "") << m;
      if (!peer.heard) {
        missing << " (never heard from)";
        continue;
      }
      const double silent = Seconds(now - peer.at).count();
      const std::string there = at_position(peer.last.position);
      if (silent > 3 * s.beat_interval.count()) {
        missing << " (silent for " << seconds_text(silent) << ": stopped or dead; last report " << there
                << ")";
      } else if (peer.last.in_collective) {
        missing << " (alive " << there << ", in " << peer.last.op << " #" << peer.last.sequence
                << (peer.last.group == me.group ? " of this group)" : " of another group)");
      } else {
        missing << " (alive " << there << ", not in a collective)";
      }
    }
    line << "; ranks that did not arrive: "
         << (not_arrived ? missing.str()
                         : std::string("none (all entered it: the transport itself is stuck)"));
  } else {
    line << "rank " << reported_by << " reports a stalled collective; this rank was " << here
         << ", not in a collective";
  }
  line << "; aborting the job\n";
  core::remove_temporaries_now();
  core::silence_interrupt_line();  // the launcher's SIGTERM after MPI_Abort: this line is the one
  {
    std::lock_guard<std::mutex> lock(hooks_mutex());
    for (auto& [id, hook] : hooks()) hook();
  }
  const std::string text = line.str();
  const ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
  // The rank that saw the stall waits a moment so that the others' lines reach the log before
  // MPI_Abort has the launcher stop them.
  if (reported_by == rank_) ::usleep(500 * 1000);
  end_job();
}

}  // namespace uspdit::parallel
