// uspdit started by a real torchrun (the pip wheel's torch.distributed.run), as GPU users launch
// it: every rank reads its rank and local rank, connects to the agent's TCPStore as a client (the
// agent already serves MASTER_PORT; a second server there would fail), and only then meets the
// device decision. This machine has no GPU, so --device cuda must then stop on every rank with
// the no-GPU line and exit 2, and host tensors must be sent to mpirun.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "free_port.h"

namespace {

struct CommandRun {
  std::string output;
  int status = -1;
};

CommandRun run_shell(const std::string& command) {
  CommandRun r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  while (pipe && fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int raw = pipe ? pclose(pipe) : -1;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

using uspdit::testing::free_port;

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// torchrun --nproc_per_node 2 --no-python uspdit <args>, every rank logging its launch details.
CommandRun torchrun_two(int port, const std::string& args) {
  return run_shell("USPDIT_VERBOSE=1 OMP_NUM_THREADS=1 timeout 120 " USPDIT_VENV_PYTHON
                   " -m torch.distributed.run --nproc_per_node 2 --master_addr 127.0.0.1 --master_port " +
                   std::to_string(port) + " --no-python " USPDIT_BINARY " " + args);
}

class TorchrunLaunch : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not a skip: CI installs torchrun (scripts/test.sh sets USPDIT_SETUP_TORCHRUN=1).
    ASSERT_EQ(run_shell(USPDIT_VENV_PYTHON " -c 'import torch.distributed.run'").status, 0)
        << "torchrun cannot run from " USPDIT_VENV_PYTHON "; run USPDIT_SETUP_TORCHRUN=1 scripts/setup.sh";
    port_ = free_port();
    ASSERT_GT(port_, 0);
  }
  int port_ = -1;
};

TEST_F(TorchrunLaunch, RanksReachTheAgentStoreThenStopWithoutAGpu) {
  const auto r = torchrun_two(port_, "bench-attn --device cuda");
  const std::string store = "rendezvous client of torchrun's agent store at 127.0.0.1:" + std::to_string(port_);
  for (int rank = 0; rank < 2; ++rank) {
    const std::string r_ = std::to_string(rank);
    EXPECT_EQ(count(r.output, "torchrun rank " + r_ + "/2, local rank " + r_ + "/2, node 0: " + store), 1)
        << r.output;
    EXPECT_EQ(count(r.output, "[rank " + r_ + "] uspdit bench-attn: error: --device cuda, but"), 1) << r.output;
  }
  EXPECT_EQ(count(r.output, "use --device cpu"), 2) << r.output;
  EXPECT_EQ(count(r.output, "error:"), 2) << "one error line per rank:\n" << r.output;
  EXPECT_NE(r.status, 0);
  // torchrun's failure report carries each worker's exit code.
  EXPECT_GE(count(r.output, "exitcode  : 2"), 1) << r.output;
  // "1 " with its space: a rank stopped by the agent exits 143 (SIGTERM, core/interrupt.h).
  EXPECT_EQ(r.output.find("exitcode  : 1 "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Segmentation"), std::string::npos) << r.output;
}

TEST_F(TorchrunLaunch, HostTensorsAreSentToMpirun) {
  const auto r = torchrun_two(port_, "bench-attn --device auto");
  EXPECT_EQ(count(r.output, "mpirun -np 2"), 2) << r.output;
  EXPECT_GE(count(r.output, "exitcode  : 2"), 1) << r.output;
}

}  // namespace
