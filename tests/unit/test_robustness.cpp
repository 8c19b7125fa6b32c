// The pieces behind "never hangs, never leaves a broken file", in one process: the position the
// watchdog reports (core/where.h), the watchdog firing on a collective that does not return
// (parallel/watchdog.h, through WatchedCommunicator), the signal handlers and the temporaries
// they remove (core/interrupt.h, core/temporaries.h), and the output write probe.
#include <gtest/gtest.h>

#include <unistd.h>

#include <ATen/ATen.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/temporaries.h"
#include "core/where.h"
#include "core/write_probe.h"
#include "parallel/self_communicator.h"
#include "parallel/watchdog.h"
#include "parallel/watched_communicator.h"

namespace {

namespace fs = std::filesystem;

std::string touch(const std::string& name) {
  const auto path = (fs::path(::testing::TempDir()) / name).string();
  std::ofstream(path) << "partial";
  return path;
}

TEST(Where, DescribesOnlyWhatIsSet) {
  using uspdit::where::Position;
  EXPECT_EQ(uspdit::where::describe(Position{}), "before the first stage");
  EXPECT_EQ(uspdit::where::describe(Position{"denoise", 3, 7}), "stage denoise, step 3, block 7");
  EXPECT_EQ(uspdit::where::describe(Position{"decode", -1, -1}), "stage decode");
  uspdit::where::set_stage("denoise");
  uspdit::where::set_step(2);
  uspdit::where::set_block(5);
  uspdit::where::set_step(3);  // a new step clears the block
  EXPECT_EQ(uspdit::where::describe(uspdit::where::current()), "stage denoise, step 3");
  const auto back =
      uspdit::where::unpack(uspdit::where::pack(Position{"a_stage_name_longer_than_24_chars", 1, 2}));
  EXPECT_EQ(back.stage, "a_stage_name_longer_tha");  // 23 characters and the NUL
  EXPECT_EQ(back.step, 1);
  EXPECT_EQ(back.block, 2);
}

void die_by(int sig, const std::string& temporary) {
  uspdit::core::exit_cleanly_on_interrupt("[rank 9] ");
  uspdit::core::remember_temporary(temporary);
  std::raise(sig);
  std::abort();  // not reached
}

TEST(Interrupt, SigtermAndSigintExit143And130AndRemoveTemporaries) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto term = touch("interrupt_term.tmp");
  EXPECT_EXIT(die_by(SIGTERM, term), ::testing::ExitedWithCode(143),
              "\\[rank 9\\] uspdit: terminated \\(SIGTERM\\); temporary outputs removed");
  EXPECT_FALSE(fs::exists(term));
  const auto interrupted = touch("interrupt_int.tmp");
  EXPECT_EXIT(die_by(SIGINT, interrupted), ::testing::ExitedWithCode(130), "interrupted \\(SIGINT\\)");
  EXPECT_FALSE(fs::exists(interrupted));
  // Forgotten (renamed into place) files are not removed.
  const auto kept = touch("interrupt_kept.tmp");
  EXPECT_EXIT(
      {
        uspdit::core::TemporaryFile scoped(kept);
        uspdit::core::forget_temporary(kept);
        die_by(SIGTERM, touch("interrupt_other.tmp"));
      },
      ::testing::ExitedWithCode(143), "SIGTERM");
  EXPECT_TRUE(fs::exists(kept));
}

// A barrier that never returns in time: the world the watchdog sees is this one process.
class StuckCommunicator final : public uspdit::parallel::Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "stuck"; }
  bool accepts(const at::Tensor&) const override { return true; }
  c10::Device device() const override { return c10::Device(c10::DeviceType::CPU); }
  void all_to_all_v(const at::Tensor&, std::span<const int64_t>, at::Tensor&,
                    std::span<const int64_t>) override {}
  void all_gather_v(const at::Tensor& send, at::Tensor& recv, std::span<const int64_t>) override {
    recv.copy_(send);
  }
  std::unique_ptr<uspdit::parallel::PendingOp> send_recv_async(const at::Tensor&, int, at::Tensor&,
                                                               int) override {
    return nullptr;
  }
  void broadcast(at::Tensor&, int) override {}
  void all_reduce_max(at::Tensor&) override {}
  void all_reduce_sum(at::Tensor&) override {}
  void barrier() override { sleep(30); }
  std::unique_ptr<Communicator> split(int, int) override { return nullptr; }
};

void stall_under_watchdog(const std::string& temporary) {
  auto world = std::make_unique<StuckCommunicator>();
  uspdit::parallel::Watchdog dog(*world, 0.3);
  uspdit::parallel::WatchedCommunicator watched(std::move(world), 0, {0});
  uspdit::core::remember_temporary(temporary);
  uspdit::where::set_stage("decode");
  uspdit::where::set_step(4);
  watched.barrier();
}

TEST(Watchdog, AStalledCollectiveEndsTheProcessWithOneLineSayingWhere) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto temporary = touch("watchdog_video.tmp");
  EXPECT_EXIT(
      stall_under_watchdog(temporary), ::testing::ExitedWithCode(uspdit::parallel::kWatchdogExitCode),
      "\\[rank 0\\] uspdit watchdog: barrier #1 on the world at stage decode, step 4 has waited "
      "0\\.[3-9][0-9]* "
      "s \\(--timeout 0\\.3\\); ranks that did not arrive: none \\(all entered it: the transport itself is "
      "stuck\\); aborting the job");
  EXPECT_FALSE(fs::exists(temporary));
}

TEST(Watchdog, WatchedCommunicatorForwardsAndCountsIntoTheWrappedStats) {
  auto inner = std::make_unique<uspdit::parallel::SelfCommunicator>();
  auto* raw = inner.get();
  uspdit::parallel::WatchedCommunicator watched(std::move(inner), 0, {0});
  auto send = at::arange(4, at::kFloat);
  auto recv = at::zeros({4}, at::kFloat);
  const int64_t counts[1] = {4};
  watched.all_gather_v(send, recv, counts);
  EXPECT_TRUE(recv.equal(send));
  EXPECT_EQ(&watched.stats(), &raw->stats()) << "one traffic total per rank";
  auto group = watched.split(0, 0);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->size(), 1);
}

TEST(WriteProbe, RefusesMissingAndNonDirectoriesAndLeavesNothing) {
  const auto dir = fs::path(::testing::TempDir()) / "write_probe";
  fs::remove_all(dir);
  EXPECT_THROW(uspdit::core::probe_writable_directory(dir, "--save_file x"), uspdit::UsageError);
  fs::create_directories(dir);
  uspdit::core::probe_writable_directory(dir, "--save_file x");
  EXPECT_TRUE(fs::is_empty(dir)) << "the probe file is removed";
  std::ofstream(dir / "file") << "x";
  try {
    uspdit::core::probe_writable_directory(dir / "file", "--bench_output y");
    FAIL() << "a file is not a directory";
  } catch (const uspdit::UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--bench_output y: ", 0), 0u) << e.what();
  }
  EXPECT_EQ(uspdit::core::nearest_existing(dir / "a" / "b"), dir);
}

}  // namespace
