// Running the uspdit binary from a test: one shell command with its output (stderr merged), exit
// status and wall time; `uspdit ARGS` on N ranks under mpirun with each rank's exit line; and the
// small helpers the command-line tests share.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

namespace uspdit::testing {

struct ShellRun {
  std::string output;  // stdout and stderr, interleaved as written
  int status = -1;     // the exit code; -1 when the shell was killed by a signal
  double seconds = 0;
};

inline ShellRun run_shell(const std::string& command) {
  ShellRun r;
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  while (pipe && fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int raw = pipe ? pclose(pipe) : -1;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// `mpirun -np N uspdit ARGS` (ARGS starts with the command, e.g. "generate --ckpt_dir ..."), one
// thread per rank, bounded by `timeout_s`; every rank appends "rank=R exit=E" to the output.
inline ShellRun run_uspdit_ranks(int np, const std::string& args, int timeout_s = 300) {
  return run_shell("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 timeout " +
                   std::to_string(timeout_s) + " mpirun --oversubscribe --bind-to none -np " +
                   std::to_string(np) + " sh -c '" USPDIT_BINARY " " + args +
                   "; echo \"rank=$OMPI_COMM_WORLD_RANK exit=$?\"'");
}

// Occurrences of `needle` in `text` (overlapping ones too).
inline int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// An empty directory `name` under the test's temporary directory.
inline std::string fresh_test_dir(const std::string& name) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace uspdit::testing
