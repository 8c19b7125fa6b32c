// Bad configurations are refused on every rank, quickly, with exit code 2 and one line that
// names the fix. Runs the real binary under mpirun.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>

#include "binary_run.h"
#include "free_port.h"

namespace {

using CommandRun = uspdit::testing::ShellRun;
using uspdit::testing::run_shell;

// Launches `args` on np ranks; each rank echoes its own exit code.
CommandRun run_ranks(int np, const std::string& args) {
  return uspdit::testing::run_uspdit_ranks(np, args, 60);
}

constexpr auto count = uspdit::testing::count_of;

void expect_refused_on_every_rank(int np, const std::string& args, const std::string& message) {
  CommandRun r = run_ranks(np, args);
  EXPECT_EQ(count(r.output, "exit=2"), np) << r.output;
  EXPECT_GE(count(r.output, message), 1) << r.output;
  EXPECT_LT(r.seconds, 30.0) << "refusal took too long";
  // One error line per rank, never a stack trace or an MPI abort banner.
  EXPECT_EQ(count(r.output, "error:"), np) << r.output;
  EXPECT_EQ(r.output.find("MPI_ABORT"), std::string::npos) << r.output;
}

TEST(CliErrors, DegreesWhoseProductIsNotTheWorldSize) {
  expect_refused_on_every_rank(4, "bench-attn --ulysses-degree 3 --heads 24",
                               "ulysses 3 × ring 1 × cfg 1 = 3 ranks, but the job has 4");
}

TEST(CliErrors, HeadsNotDivisibleByUlysses) {
  expect_refused_on_every_rank(4, "bench-attn --ulysses_degree 4 --heads 6",
                               "ulysses degree 4 does not divide the 6 attention heads");
}

TEST(CliErrors, DegreeBelowOne) {
  expect_refused_on_every_rank(2, "bench-attn --ulysses-degree 0 --ring-degree 2", "must be >= 1");
}

TEST(CliErrors, TheMessageListsTheValidChoices) {
  CommandRun r = run_ranks(2, "bench-attn --ulysses-degree 2 --ring-degree 2 --heads 24");
  EXPECT_NE(r.output.find("Valid for this attention (24 heads) on 2 ranks"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("U=2 R=1, U=1 R=2"), std::string::npos) << r.output;
}

TEST(CliErrors, UnknownFlagIsRefused) {
  CommandRun r = run_shell(std::string(USPDIT_BINARY) + " bench-attn --ulysess-degree 2");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("unknown flag --ulysess-degree"), std::string::npos) << r.output;
}

// Both ranks of a torchrun-style launch (its environment, without the agent: rank 0 serves the
// rendezvous store), with host tensors and with --device cpu: each rank says to use mpirun.
TEST(CliErrors, CpuTensorsUnderTorchrunSayHowToLaunch) {
  for (const std::string device : {"auto", "cpu"}) {
    const int port = uspdit::testing::free_port();
    ASSERT_GT(port, 1);
    std::string ranks;
    for (int rank = 0; rank < 2; ++rank) {
      const std::string r = std::to_string(rank);
      ranks +=
          "(RANK=" + r + " LOCAL_RANK=" + r +
          " WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port - 1) +
          " TORCHELASTIC_RUN_ID=t timeout 30 " USPDIT_BINARY " bench-attn --device " + device +
          "; echo \"rank=" + r + " exit=$?\") & ";
    }
    CommandRun r = run_shell("(" + ranks + "wait)");
    EXPECT_EQ(count(r.output, "exit=2"), 2) << r.output;
    EXPECT_EQ(count(r.output, "mpirun -np 2"), 2) << r.output;
    EXPECT_EQ(count(r.output, "error:"), 2) << r.output;
  }
}

// This machine has no GPU (and the CPU build no GPU backend): --device cuda is refused by every
// rank on its own, before MPI starts, with the way out.
TEST(CliErrors, CudaWithoutAGpuIsRefusedOnEveryRank) {
  expect_refused_on_every_rank(2, "bench-attn --device cuda", "use --device cpu");
  expect_refused_on_every_rank(2,
                               "generate --device cuda --ckpt_dir " USPDIT_SOURCE_DIR
                               "/tests/data/wan_t2v/original "
                               "--prompt x --size 64*64 --frame_num 5 --sample_steps 1",
                               "use --device cpu");
  expect_refused_on_every_rank(2, "bench-attn --device tpu", "use auto, cuda or cpu");
}

TEST(CliErrors, VerifyPassesOnAGoodConfiguration) {
  CommandRun r = run_ranks(4,
                           "bench-attn --ulysses-degree 2 --ring-degree 2 --seq-len 203 --heads 4 "
                           "--head-dim 16 --text-len 9 --text-padding 2 --iters 1 --verify");
  EXPECT_EQ(count(r.output, "exit=0"), 4) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("max abs error: ([0-9.e+-]+)"))) << r.output;
  EXPECT_LE(std::stod(m[1]), 1e-5);
}

}  // namespace
