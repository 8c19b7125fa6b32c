// A job that never hangs and never leaves a broken file, through the binary on 2 ranks under
// mpirun: a rank killed or stopped mid-run (USPDIT_FAULT, core/where.h), SIGTERM/SIGINT to the
// launcher, output folders that cannot be written and disks that fill. Every launch runs in its
// own process group under a hard deadline, so a regression fails the test instead of hanging CI.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "binary_run.h"
#include "video/video_writer.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v";
const std::string kTiny =
    " --ckpt_dir " + kFixture +
    "/original --prompt \"a cat\" --size 64*48 --frame_num 5 --sample_steps 3 --dtype fp32 "
    "--text-dtype fp32 --ulysses_degree 2 --no-progress";

struct Job {
  std::string output;
  int status = -1;  // mpirun's exit code, -1 when killed
  bool hit_deadline = false;
  double seconds = 0;              // launch to exit
  double seconds_after_mark = -1;  // from the line the test acted on to exit
  std::vector<pid_t> rank_pids;
};

// Runs `env mpirun -np 2 uspdit generate <args>`; `on_line(line, mpirun_pid)` sees each output
// line as it comes and returns true for the line whose time marks the scenario's start.
Job launch(const std::string& env, const std::string& args,
           const std::function<bool(const std::string&, pid_t)>& on_line = {}, double deadline_s = 90) {
  const std::string cmd =
      "exec env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 " + env +
      " mpirun --oversubscribe --bind-to none --mca btl self,vader,tcp -np 2 sh -c 'echo "
      "\"rank-pid $$\"; exec " USPDIT_BINARY " generate " +
      args + "' 2>&1";
  int out[2];
  if (pipe(out) != 0) return {};
  const auto start = Clock::now();
  const pid_t child = fork();
  if (child == 0) {
    setpgid(0, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    close(out[1]);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(child, child);
  close(out[1]);
  Job job;
  std::string pending;
  Clock::time_point mark{};
  bool marked = false;
  char buf[4096];
  while (true) {
    if (std::chrono::duration<double>(Clock::now() - start).count() > deadline_s) {
      job.hit_deadline = true;
      kill(-child, SIGKILL);
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      const std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      job.output += line + "\n";
      if (line.rfind("rank-pid ", 0) == 0) job.rank_pids.push_back(std::stoi(line.substr(9)));
      if (on_line && on_line(line, child) && !marked) {
        marked = true;
        mark = Clock::now();
      }
    }
  }
  close(out[0]);
  int raw = 0;
  waitpid(child, &raw, 0);
  const auto end = Clock::now();
  job.output += pending;
  job.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  job.seconds = std::chrono::duration<double>(end - start).count();
  if (marked) job.seconds_after_mark = std::chrono::duration<double>(end - mark).count();
  return job;
}

// A rank process is gone once it neither exists nor lingers as a zombie; give the launcher's
// reaping a moment.
bool all_gone(const std::vector<pid_t>& pids) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    bool alive = false;
    for (pid_t pid : pids) {
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string text;
      std::getline(stat, text);
      const auto close_paren = text.rfind(')');
      alive = alive || (!text.empty() && close_paren != std::string::npos && text[close_paren + 2] != 'Z');
    }
    if (!alive) return true;
    usleep(100 * 1000);
  }
  return false;
}

constexpr auto count = uspdit::testing::count_of;
constexpr auto fresh_dir = uspdit::testing::fresh_test_dir;

// Every file under dir, recursively (temporaries included).
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().filename().string());
  }
  return out;
}

void report(const char* scenario, const Job& job) {
  std::printf("[measured] %s: mpirun exited %d after %.2f s (%.2f s after the fault/signal)\n", scenario,
              job.status, job.seconds, job.seconds_after_mark);
}

bool is_fault_line(const std::string& line) {
  return line.find("fault injection:") != std::string::npos;
}

TEST(CliRobustness, AKilledRankEndsTheJobAndTheLauncherNamesIt) {
  if (!uspdit::video::mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  for (const std::string at : {"denoise:1", "decode:-1"}) {
    const auto dir = fresh_dir("robust_kill");
    const auto job = launch("USPDIT_FAULT=1:" + at + ":kill",
                            kTiny + " --save_file " + dir + "/out.mp4 --bench_output " + dir + "/bench",
                            [](const std::string& line, pid_t) { return is_fault_line(line); });
    report(("SIGKILL of rank 1 at " + at).c_str(), job);
    ASSERT_FALSE(job.hit_deadline) << job.output;
    EXPECT_NE(job.status, 0) << job.output;
    EXPECT_GE(count(job.output, "fault injection: kill at stage " + at.substr(0, at.find(':'))), 1)
        << job.output;
    // Open MPI's own line names the lost rank and its signal.
    EXPECT_TRUE(std::regex_search(job.output, std::regex("process rank 1 .* exited on signal 9")))
        << job.output;
    EXPECT_LT(job.seconds_after_mark, 60) << job.output;
    EXPECT_EQ(job.rank_pids.size(), 2u) << job.output;
    EXPECT_TRUE(all_gone(job.rank_pids)) << "an orphaned rank\n" << job.output;
    EXPECT_TRUE(files_in(dir).empty()) << job.output;
  }
}

TEST(CliRobustness, AStoppedRankTripsTheWatchdogWhichNamesItAndWhere) {
  if (!uspdit::video::mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  const auto dir = fresh_dir("robust_stop");
  constexpr double kTimeout = 2;
  const auto job =
      launch("USPDIT_FAULT=1:denoise:1:stop",
             kTiny + " --timeout 2 --save_file " + dir + "/out.mp4 --bench_output " + dir + "/bench",
             [](const std::string& line, pid_t) { return is_fault_line(line); });
  report("SIGSTOP of rank 1 at denoise step 1 (--timeout 2)", job);
  ASSERT_FALSE(job.hit_deadline) << job.output;
  EXPECT_EQ(job.status, 124) << "the watchdog's exit code through MPI_Abort\n" << job.output;
  // One line from rank 0: the collective, where, and who did not arrive (silent: stopped).
  EXPECT_TRUE(std::regex_search(
      job.output, std::regex("\\[rank 0\\] uspdit watchdog: [a-z_]+ #[0-9]+ on (the world|group "
                             "\\{0,1\\}) at stage denoise, step 1(, block [0-9]+)? has waited [0-9.]+ s "
                             "\\(--timeout 2\\); ranks that did not arrive: 1 \\(silent for [0-9.]+ s: "
                             "stopped or dead; last report [^)]*\\); aborting the job")))
      << job.output;
  EXPECT_EQ(count(job.output, "[rank 0] uspdit: terminated"), 0) << "one line from the rank that fired\n"
                                                                 << job.output;
  EXPECT_LT(job.seconds_after_mark, kTimeout + 8) << job.output;
  EXPECT_TRUE(all_gone(job.rank_pids)) << "an orphaned (stopped) rank\n" << job.output;
  EXPECT_TRUE(files_in(dir).empty()) << job.output;
}

// SIGTERM and SIGINT to mpirun while rank 1 is held at a denoising step: every rank stops with
// its own line (Open MPI passes both on as SIGTERM), no video, no report, no temporary.
TEST(CliRobustness, SignalsToTheLauncherStopEveryRankAndLeaveNothing) {
  if (!uspdit::video::mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  for (int sig : {SIGTERM, SIGINT}) {
    const auto dir = fresh_dir("robust_signal");
    const auto job = launch("USPDIT_FAULT=1:denoise:1:sleep",
                            kTiny + " --save_file " + dir + "/out.mp4 --bench_output " + dir + "/bench",
                            [sig](const std::string& line, pid_t mpirun) {
                              if (!is_fault_line(line)) return false;
                              kill(mpirun, sig);
                              return true;
                            });
    report(sig == SIGTERM ? "SIGTERM to mpirun mid-denoise" : "SIGINT to mpirun mid-denoise", job);
    ASSERT_FALSE(job.hit_deadline) << job.output;
    EXPECT_NE(job.status, 0) << job.output;
    EXPECT_EQ(count(job.output, "uspdit: terminated (SIGTERM); temporary outputs removed, no report written"),
              2)
        << job.output;
    EXPECT_LT(job.seconds_after_mark, 10) << job.output;
    EXPECT_TRUE(all_gone(job.rank_pids)) << job.output;
    EXPECT_TRUE(files_in(dir).empty()) << job.output;
  }
}

// A small tmpfs (root is needed to mount it, as for the read-only case).
class Tmpfs {
 public:
  Tmpfs(const std::string& dir, const std::string& options) : dir_(dir) {
    mounted_ = mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// Fills the file system under dir but for about `leave` bytes.
void fill_leaving(const std::string& dir, int64_t leave) {
  const auto space = fs::space(dir);
  std::ofstream filler(dir + "/filler", std::ios::binary);
  const std::string block(1024, 'x');
  for (int64_t left = static_cast<int64_t>(space.available) - leave; left > 0; left -= 1024) filler << block;
}

TEST(CliRobustness, UnwritableOutputsAreRefusedBeforeTheWeightsAndFullDisksLeaveNoFile) {
  if (!uspdit::video::mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  const auto base = fresh_dir("robust_disk");
  const auto good = base + "/good";
  fs::create_directories(good);

  // A read-only folder (a read-only mount: root's access(2) would call a 0555 folder writable).
  const auto ro = base + "/ro";
  fs::create_directories(ro);
  {
    Tmpfs mount_ro(ro, "size=64k,mode=0777");
    ASSERT_TRUE(mount_ro.mounted()) << "mounting a tmpfs needs root (CAP_SYS_ADMIN)";
    ASSERT_EQ(mount(nullptr, ro.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0);
    for (const std::string& flags : {" --save_file " + ro + "/out.mp4",
                                     " --save_file " + good + "/out.mp4 --bench_output " + ro + "/bench",
                                     " --save_file " + good + "/out.mp4 --save_frames " + ro + "/frames"}) {
      const auto job = launch("", kTiny + flags);
      ASSERT_FALSE(job.hit_deadline) << job.output;
      EXPECT_EQ(job.status, 2) << job.output;
      EXPECT_GE(count(job.output, "Read-only file system"), 2) << "a line on every rank\n" << job.output;
      EXPECT_EQ(count(job.output, "load_vae"), 0) << "refused before any weight is read\n" << job.output;
      EXPECT_TRUE(files_in(ro).empty() && files_in(good).empty()) << job.output;
    }
  }

  // A disk that fills while the video, then the report, is written.
  const auto full = base + "/full";
  fs::create_directories(full);
  Tmpfs small(full, "size=64k");
  ASSERT_TRUE(small.mounted()) << "mounting a tmpfs needs root (CAP_SYS_ADMIN)";
  fill_leaving(full, 4096);  // the 64x48x5 video takes about 14 kB
  const auto video = launch("", kTiny + " --save_file " + full + "/out.mp4");
  report("mp4 on a full disk", video);
  EXPECT_EQ(video.status, 1) << video.output;
  EXPECT_GE(count(video.output, "cannot write " + full + "/out.mp4, nothing was left under that name"), 2)
      << video.output;
  EXPECT_GE(count(video.output, "No space left on device"), 2) << "one line on every rank\n" << video.output;
  EXPECT_EQ(files_in(full), std::vector<std::string>{"filler"}) << video.output;

  fs::remove(full + "/filler");
  fill_leaving(full, 1024);  // the report's folder fits, the report does not
  const auto json = launch("", kTiny + " --save_file " + good + "/out.mp4 --bench_output " + full + "/bench");
  report("bench JSON on a full disk", json);
  EXPECT_EQ(json.status, 2) << json.output;
  EXPECT_GE(count(json.output, "No space left on device"), 2) << json.output;
  EXPECT_EQ(files_in(full), std::vector<std::string>{"filler"}) << json.output;
}

}  // namespace
