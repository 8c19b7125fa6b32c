// The TCPStore bootstrap that carries the NCCL unique id (and the start-up agreement) under torchrun. Several
// processes, started with the environment torchrun gives its workers, must all receive rank 0's bytes; a rank
// whose server never comes up, or whose root never publishes, must fail within its timeout.
//
// The ranks are this test binary itself, spawned with a marker variable that enables the child
// test. Spawning a fresh process (posix_spawn) rather than forking keeps the children clear of
// whatever threads libtorch or earlier tests left in this one.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "free_port.h"
#include "parallel/bootstrap.h"
#include "parallel/launch_env.h"

extern char** environ;

namespace uspdit::parallel {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChildVar = "USPDIT_TEST_TCP_STORE_CHILD";
constexpr const char* kSeedVar = "USPDIT_TEST_TCP_STORE_SEED";
constexpr size_t kBlobBytes = 128;  // sizeof(ncclUniqueId)

using uspdit::testing::free_port;

// Distinct bytes per seed and position, covering all 256 values, so a truncated, shifted or
// foreign id cannot pass for the right one.
std::vector<uint8_t> blob(int seed) {
  std::vector<uint8_t> out(kBlobBytes);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<uint8_t>(i * 131 + static_cast<size_t>(seed) * 17);
  return out;
}

LaunchEnv torchrun_env(int rank, int world_size, int master_port) {
  std::map<std::string, std::string> vars = {{"TORCHELASTIC_RUN_ID", "test"},
                                             {"RANK", std::to_string(rank)},
                                             {"WORLD_SIZE", std::to_string(world_size)},
                                             {"LOCAL_RANK", std::to_string(rank)},
                                             {"LOCAL_WORLD_SIZE", std::to_string(world_size)},
                                             {"GROUP_RANK", "0"},
                                             {"MASTER_ADDR", "127.0.0.1"},
                                             {"MASTER_PORT", std::to_string(master_port)}};
  return read_launch_env([vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

// ---- child side -------------------------------------------------------------------------------

// One rank, as torchrun would start it. Skipped unless spawned by the parent test below.
// DISABLED_: not a test of its own but the body of a spawned rank; the parent runs it with
// --gtest_also_run_disabled_tests, so a normal run neither runs nor reports it as skipped.
TEST(TcpStoreBootstrapChild, DISABLED_Rank) {
  if (std::getenv(kChildVar) == nullptr) return;
  const LaunchEnv env = read_launch_env(process_env());
  ASSERT_EQ(env.launcher, Launcher::kTorchrun);
  const int seed = std::atoi(std::getenv(kSeedVar));
  auto bootstrap = make_tcp_store_bootstrap(env, /*port_offset=*/1, 20s);
  // Non-root ranks pass bytes of the wrong size and value: only root's may arrive.
  const std::vector<uint8_t> decoy(7, 0xee);
  EXPECT_EQ(bootstrap->broadcast("nccl_id", env.rank == 0 ? blob(seed) : decoy, 0), blob(seed));
  // A second key from another root: keys are independent and any rank may be root.
  const int last = env.world_size - 1;
  EXPECT_EQ(bootstrap->broadcast("second", env.rank == last ? blob(seed + 1) : decoy, last), blob(seed + 1));
  // Every rank's bytes, of a different length each, reach every rank in rank order.
  auto piece = [seed](int rank) {
    auto bytes = blob(seed + 2 + rank);
    bytes.resize(1 + 37 * static_cast<size_t>(rank));
    return bytes;
  };
  const auto gathered = bootstrap->all_gather("each", piece(env.rank));
  ASSERT_EQ(static_cast<int>(gathered.size()), env.world_size);
  for (int rank = 0; rank < env.world_size; ++rank)
    EXPECT_EQ(gathered[rank], piece(rank)) << "from rank " << rank;
  if (env.rank == 0) {
    // Rank 0 serves the store: it stays up until the parent closes our stdin, which it does
    // once every other rank has exited, so no client loses the server mid-request.
    char c = 0;
    while (read(STDIN_FILENO, &c, 1) > 0) {
    }
  }
}

// ---- parent side ------------------------------------------------------------------------------

struct Child {
  pid_t pid = -1;
  std::string log_path;
  int status = -1;  // raw waitpid status, -1 while running
  bool killed = false;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Spawns this binary running only the child test as `rank`, output to a log file. stdin_fd, if
// >= 0, becomes the child's stdin.
Child spawn_rank(int rank, int world_size, int master_port, int seed, int stdin_fd) {
  Child child;
  child.log_path = ::testing::TempDir() + "uspdit_tcp_store_rank" + std::to_string(rank) + "_" +
                   std::to_string(getpid()) + ".log";
  const std::vector<std::pair<std::string, std::string>> set = {
      {kChildVar, "1"},
      {kSeedVar, std::to_string(seed)},
      {"TORCHELASTIC_RUN_ID", "test"},
      {"RANK", std::to_string(rank)},
      {"WORLD_SIZE", std::to_string(world_size)},
      {"LOCAL_RANK", std::to_string(rank)},
      {"LOCAL_WORLD_SIZE", std::to_string(world_size)},
      {"GROUP_RANK", "0"},
      {"MASTER_ADDR", "127.0.0.1"},
      {"MASTER_PORT", std::to_string(master_port)}};
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    // GTEST_* (sharding, XML output) would make the child skip its test or clobber our report.
    bool replaced = entry.rfind("GTEST_", 0) == 0;
    for (const auto& [name, value] : set) replaced = replaced || entry.rfind(name + "=", 0) == 0;
    if (!replaced) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : set) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe", filter = "--gtest_filter=TcpStoreBootstrapChild.*",
              disabled = "--gtest_also_run_disabled_tests";
  char* argv[] = {exe.data(), filter.data(), disabled.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, child.log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  if (posix_spawn(&child.pid, exe.c_str(), &actions, nullptr, argv, envp.data()) != 0) child.pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return child;
}

// Waits until `child` exits or the deadline passes; kills it in the latter case.
void reap(Child& child, std::chrono::steady_clock::time_point deadline) {
  while (child.pid > 0 && child.status == -1) {
    int status = 0;
    const pid_t done = waitpid(child.pid, &status, WNOHANG);
    if (done == child.pid) {
      child.status = status;
    } else if (std::chrono::steady_clock::now() > deadline) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, &status, 0);
      child.status = status;
      child.killed = true;
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
}

bool exited_ok(const Child& c) {
  return c.pid > 0 && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0;
}

void broadcast_across_processes(int world_size) {
  const int store_port = free_port();
  ASSERT_GT(store_port, 1) << "no free TCP port";
  const int master_port = store_port - 1;  // the bootstrap listens at MASTER_PORT + 1
  // Close-on-exec, so that only rank 0 (as its stdin) holds the read end and no child holds the
  // write end: closing ours is then the EOF rank 0 waits for.
  int rank0_stdin[2];
  ASSERT_EQ(pipe2(rank0_stdin, O_CLOEXEC), 0);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::vector<Child> children;
  for (int rank = 0; rank < world_size; ++rank) {
    children.push_back(
        spawn_rank(rank, world_size, master_port, /*seed=*/world_size, rank == 0 ? rank0_stdin[0] : -1));
  }
  close(rank0_stdin[0]);
  for (int rank = 1; rank < world_size; ++rank) reap(children[rank], deadline);
  close(rank0_stdin[1]);  // every client is done: let the server go
  reap(children[0], deadline);
  for (int rank = 0; rank < world_size; ++rank) {
    const Child& c = children[rank];
    EXPECT_TRUE(exited_ok(c)) << "rank " << rank << " of " << world_size << " failed (status " << c.status
                              << (c.killed ? ", killed at the 60 s deadline" : "") << "); its output:\n"
                              << read_file(c.log_path);
  }
  for (const Child& c : children) std::remove(c.log_path.c_str());
}

TEST(TcpStoreBootstrap, BroadcastReachesTwoRanks) {
  broadcast_across_processes(2);
}

TEST(TcpStoreBootstrap, BroadcastReachesThreeRanks) {
  broadcast_across_processes(3);
}

// Runs `body` on its own thread and reports the exception message it ended with, or that it
// still had not ended after `limit` (the thread is then left behind; the test has failed).
std::optional<std::string> failure_within(std::function<void()> body, std::chrono::seconds limit) {
  auto task = std::make_shared<std::packaged_task<void()>>(std::move(body));
  auto result = task->get_future();
  std::thread([task] { (*task)(); }).detach();
  if (result.wait_for(limit) != std::future_status::ready) return std::nullopt;
  try {
    result.get();
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::string("(no exception)");
}

TEST(TcpStoreBootstrap, MissingServerFailsWithinTimeout) {
  const int store_port = free_port();
  ASSERT_GT(store_port, 1);
  const LaunchEnv env = torchrun_env(/*rank=*/1, /*world_size=*/2, store_port - 1);  // no rank 0 anywhere
  const auto start = std::chrono::steady_clock::now();
  auto message = failure_within([env] { make_tcp_store_bootstrap(env, /*port_offset=*/1, 2s); }, 30s);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(message.has_value()) << "a client without a server hung instead of failing after 2 s";
  EXPECT_NE(message->find("cannot reach the rendezvous store at 127.0.0.1:" + std::to_string(store_port)),
            std::string::npos)
      << *message;
  EXPECT_LT(seconds, 15.0) << "the 2 s timeout took " << seconds << " s";
}

TEST(TcpStoreBootstrap, RootThatNeverPublishesFailsWithinTimeout) {
  const int store_port = free_port();
  ASSERT_GT(store_port, 1);
  const LaunchEnv env = torchrun_env(/*rank=*/0, /*world_size=*/2, store_port - 1);
  auto message = failure_within(
      [env] {
        auto bootstrap = make_tcp_store_bootstrap(env, /*port_offset=*/1, 2s);
        bootstrap->broadcast("nccl_id", {}, /*root=*/1);  // rank 1 never starts
      },
      30s);
  ASSERT_TRUE(message.has_value()) << "waiting for an absent root hung instead of failing after 2 s";
  EXPECT_NE(message->find("rank 1 never published 'nccl_id'"), std::string::npos) << *message;
}

}  // namespace
}  // namespace uspdit::parallel
