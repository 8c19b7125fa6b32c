// Hostile input through the real binary: every case must end with its exit code and one line
// naming the problem on every rank, quickly, with nothing written — no output file, no
// temporary file (each case runs in an empty folder that is also its output folder, and that
// folder must still be empty afterwards). Single-rank cases run the binary directly; the cases
// whose refusal involves the ranks agreeing run 2 ranks under mpirun.
//
// Prompts: argv cannot carry a NUL byte and generate reads no prompt file, so a NUL never
// reaches a prompt through the binary; the tokenizers meet NUL bytes and invalid UTF-8 in
// fuzz/fuzz_tokenizers.cpp (the binary refuses invalid UTF-8 before any work, case below).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "binary_run.h"

namespace {

namespace fs = std::filesystem;

const std::string kWan = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v/original";

using Outcome = uspdit::testing::ShellRun;
using uspdit::testing::run_shell;
constexpr auto count = uspdit::testing::count_of;

// Files the cases point at: an empty file, a text file, a folder, a symlink loop, a folder with
// a config.json that is a folder.
struct Fixtures {
  fs::path dir = fs::path(::testing::TempDir()) / "hostile_fixtures";
  Fixtures() {
    fs::remove_all(dir);
    fs::create_directories(dir / "folder");
    std::ofstream(dir / "empty.pth").close();
    std::ofstream(dir / "text.pth") << "not a checkpoint\n";
    std::ofstream(dir / "empty.safetensors").close();
    fs::create_symlink(dir / "loop", dir / "loop");
    fs::create_directories(dir / "config_is_a_folder" / "config.json");
  }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

struct Case {
  const char* kind;     // what is hostile about it
  int ranks;            // 1: the binary directly; 2: under mpirun
  std::string env;      // variables the launch sees, e.g. a contradicting launcher's
  std::string command;  // after `uspdit`; OUT is replaced by the case's (empty) output folder
  int exit_code;
  std::string message;  // on every rank
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

struct Result {
  std::string command;  // as run, OUT replaced
  Outcome outcome;
  std::string left;  // what the run wrote into its output folder
};

Result run_case(const Case& c, int index) {
  const fs::path out = fs::path(::testing::TempDir()) / ("hostile_" + std::to_string(index));
  fs::remove_all(out);
  fs::create_directories(out);
  Result result;
  result.command = replace_all(c.command, "OUT", out.string());
  const std::string body = c.env + (c.env.empty() ? "" : " ") + USPDIT_BINARY " " + result.command +
                           "; echo \"rank=${OMPI_COMM_WORLD_RANK:-0} exit=$?\"";
  const std::string launch =
      c.ranks == 1 ? "cd " + out.string() + " && timeout 60 sh -c '" + body + "'"
                   : "cd " + out.string() +
                         " && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 mpirun "
                         "--oversubscribe --bind-to none -np " +
                         std::to_string(c.ranks) + " sh -c '" + body + "'";
  result.outcome = run_shell(launch);
  for (const auto& entry : fs::recursive_directory_iterator(out)) result.left += entry.path().string() + " ";
  fs::remove_all(out);
  return result;
}

void expect_refused(const Case& c, int index, const Result& result) {
  const Outcome& r = result.outcome;
  const std::string context = std::string("case ") + std::to_string(index) + " (" + c.kind + "): uspdit " +
                              result.command.substr(0, 300) + "\n" + r.output.substr(0, 4000);
  EXPECT_EQ(count(r.output, "exit=" + std::to_string(c.exit_code)), c.ranks) << context;
  EXPECT_EQ(count(r.output, c.message), c.ranks) << "the message on every rank\n" << context;
  // One line per rank, and nothing a crash or an abort prints.
  EXPECT_EQ(count(r.output, ": error: ") + count(r.output, ": failed: "), c.ranks) << context;
  for (const char* crash : {"terminate called", "Segmentation", "Aborted", "MPI_ABORT", "core dumped",
                            "Sanitizer", "runtime error:", "Traceback"}) {
    EXPECT_EQ(r.output.find(crash), std::string::npos) << crash << "\n" << context;
  }
  // Under a loaded CI machine (and ASan) a refusal still takes seconds, never a run's minutes.
  EXPECT_LT(r.seconds, 30.0) << "refused too slowly\n" << context;
  EXPECT_EQ(result.left, "") << "written by a refused run\n" << context;
}

TEST(CliHostile, EveryCaseIsRefusedWithOneLineOnEveryRankAndNothingWritten) {
  const Fixtures f;
  const std::string gen = "generate --ckpt_dir " + kWan +
                          " --prompt \"a cat\" --size 64*48 --frame_num 5 "
                          "--sample_steps 1 --save_file OUT/x.mp4 ";
  const std::string gen_bare = "generate --ckpt_dir " + kWan + " --save_file OUT/x.mp4 ";
  const std::vector<Case> cases = {
      // Flags: not a number, negative, zero, out of range, repeated, conflicting, unknown.
      {"non-numeric", 1, "", gen + "--fps fast", 2, "--fps needs an integer, got 'fast'"},
      {"non-numeric", 1, "", gen_bare + "--prompt x --sample_steps many", 2,
       "--sample_steps many: expected an integer"},
      {"negative", 1, "", gen + "--warmup_steps -1", 2, "--warmup_steps must be >= 0"},
      {"negative", 1, "", gen + "--base_seed -5", 2, "--base_seed/--seed must be >= 0"},
      {"zero", 1, "", gen_bare + "--prompt x --sample_steps 0", 2,
       "--sample_steps/--num_inference_steps must be >= 1"},
      {"zero", 1, "", gen + "--fps 0", 2, "--fps must be 1..240"},
      {"out of range", 1, "", gen + "--base_seed 99999999999999999999", 2,
       "--base-seed needs an integer, got '99999999999999999999'"},
      {"out of range", 1, "", gen + "--crf 1000", 2, "--crf must be"},
      {"not finite", 1, "", gen + "--sample_guide_scale inf", 2,
       "--sample_guide_scale/--guidance_scale must be"},
      {"not finite", 1, "", gen + "--sample_shift nan", 2, "--sample_shift must be"},
      {"repeated", 1, "", gen + "--fps 16 --fps 24", 2, "--fps is given twice"},
      {"two names of one flag", 1, "", gen + "--base_seed 1 --seed 3", 2,
       "--base-seed and --seed are two names of one setting"},
      {"conflicting", 2, "", gen + "--use_cfg_parallel --sample_guide_scale 1", 2,
       "--use_cfg_parallel needs classifier-free guidance"},
      {"conflicting", 2, "", gen + "--ulysses_degree 4", 2, "= 4 ranks, but the job has 2"},
      {"unknown, near a real one", 1, "", gen + "--sample_stpes 2", 2, "did you mean --sample-steps?"},
      {"another model's flag", 1, "", gen + "--video-size 720 1280", 2, "belongs to another model or mode"},
      {"not a flag", 1, "", "generate -v --ckpt_dir " + kWan, 2, "unexpected argument '-v'"},
      {"bad choice", 1, "", gen + "--dtype fp7", 2, "fp7"},
      {"bad output name", 1, "",
       "generate --ckpt_dir " + kWan + " --prompt x --size 64*48 --save_file OUT/x.avi", 2,
       "the video is written as .mp4"},
      {"missing output folder", 1, "",
       "generate --ckpt_dir " + kWan + " --prompt x --size 64*48 --save_file OUT/no/x.mp4", 2,
       "does not exist; create it first"},
      // Sizes that would need absurd memory: refused at once with the estimate.
      {"absurd size", 2, "", gen_bare + "--ulysses_degree 2 --prompt x --size 160000*160000 --frame_num 81",
       2, "more than this machine's"},
      {"absurd frames", 1, "", gen_bare + "--prompt x --size 64*48 --frame_num 400000001", 2,
       "more than this machine's"},
      {"overflowing size", 1, "", gen_bare + "--prompt x --size 9000000000000000000*9000000000000000000", 2,
       "more than this machine's"},
      {"overflowing size (HunyuanVideo)", 1, "",
       "generate --model-base " + std::string(USPDIT_SOURCE_DIR) +
           "/tests/data/hv_t2v/original --prompt x --video-size 9223372036854775807 16 --save-file OUT/x.mp4",
       2, "is beyond any video"},
      {"absurd attention", 1, "", "bench-attn --seq-len 4000000000 --heads 64 --head-dim 128", 2,
       "more than this machine's"},
      {"absurd DiT input", 1, "", "bench-dit --height 320000 --width 320000", 2, "more than this machine's"},
      // Prompts.
      {"empty prompt", 1, "", gen_bare + "--size 64*48 --prompt \"\"", 2, "--prompt is empty"},
      {"invalid UTF-8 prompt", 1, "", gen_bare + "--size 64*48 --prompt \"$(printf \"a\\377b\")\"", 2,
       "not valid UTF-8"},
      {"invalid UTF-8 negative prompt", 1, "", gen + "--negative_prompt \"$(printf \"\\300\\200\")\"", 2,
       "not valid UTF-8"},
      // Checkpoint paths.
      {"no such folder", 1, "", "generate --ckpt_dir " + f / "nowhere" + " --prompt x --save_file OUT/x.mp4",
       2, "/nowhere does not exist"},
      {"a file instead of a folder", 1, "",
       "generate --ckpt_dir " + f / "text.pth" + " --prompt x --save_file OUT/x.mp4", 2,
       "is not a directory"},
      {"symlink loop", 2, "", "generate --ckpt_dir " + f / "loop" + " --prompt x --save_file OUT/x.mp4", 2,
       "symbolic links"},
      {"an empty folder", 1, "", "generate --ckpt_dir " + f / "folder" + " --prompt x --save_file OUT/x.mp4",
       2, f / "folder"},
      {"a folder instead of config.json", 1, "",
       "generate --ckpt_dir " + f / "config_is_a_folder" + " --prompt x --save_file OUT/x.mp4", 2,
       "config.json"},
      {"a folder instead of a checkpoint file", 1, "", gen + "--vae_checkpoint " + f / "folder", 2,
       f / "folder"},
      {"not a checkpoint", 1, "", gen + "--vae_checkpoint " + f / "text.pth", 2,
       "is neither a PyTorch zip archive"},
      {"an empty file", 2, "", gen + "--t5_checkpoint " + f / "empty.pth", 2, f / "empty.pth"},
      {"an empty safetensors file", 1, "",
       "forward --ckpt-dir " + std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan/tiny/original --inputs " +
           f / "empty.safetensors" + " --output OUT/y.safetensors",
       2, f / "empty.safetensors"},
      // Launcher environments that contradict each other or themselves.
      {"stale torchrun variables under mpirun", 2, "RANK=0 WORLD_SIZE=4 LOCAL_WORLD_SIZE=4", gen, 2,
       "contradict"},
      {"rank outside the world", 1, "OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=2", gen, 2,
       "OMPI_COMM_WORLD_RANK=3 is outside OMPI_COMM_WORLD_SIZE=2"},
      {"non-numeric rank", 1, "SLURM_PROCID=first", gen, 2, "SLURM_PROCID='first' is not an integer"},
      {"torchrun without a rendezvous address", 1, "RANK=0 WORLD_SIZE=2 LOCAL_WORLD_SIZE=2", gen, 2,
       "MASTER_ADDR/MASTER_PORT"},
      {"unknown communication backend", 1, "USPDIT_COMM=carrier-pigeon", gen, 2, "carrier-pigeon"},
  };
  ASSERT_GE(cases.size(), 30u);
  // Three at a time: each case is mostly a process starting and libtorch loading.
  constexpr size_t kAtOnce = 3;
  for (size_t start = 0; start < cases.size(); start += kAtOnce) {
    std::vector<std::future<Result>> wave;
    for (size_t i = start; i < std::min(cases.size(), start + kAtOnce); ++i) {
      wave.push_back(std::async(std::launch::async, run_case, std::cref(cases[i]), static_cast<int>(i)));
    }
    for (size_t k = 0; k < wave.size(); ++k)
      expect_refused(cases[start + k], static_cast<int>(start + k), wave[k].get());
  }
}

// Long and unusual prompts are not errors: a 100 000-character prompt (the text encoder reads
// its first 512 tokens) and a negative prompt of nothing but emoji (100 000 bytes, each emoji
// an unknown token to umt5) make a video. The shell builds them, so argv carries them unquoted.
TEST(CliHostile, AHundredThousandCharacterPromptAndAnEmojiOnlyNegativePromptMakeAVideo) {
  const fs::path out = fs::path(::testing::TempDir()) / "hostile_long_prompt";
  fs::remove_all(out);
  fs::create_directories(out);
  const Outcome r = run_shell(
      "cd " + out.string() + " && timeout 120 " USPDIT_BINARY " generate --ckpt_dir " + kWan +
      " --size 64*48 --frame_num 5 --sample_steps 1 --save_file x.mp4"
      " --prompt \"$(head -c 100000 /dev/zero | tr '\\0' a)\""
      " --negative_prompt \"$(yes '\xf0\x9f\x90\xb1' | head -n 25000 | tr -d '\\n')\"; echo exit=$?");
  EXPECT_EQ(count(r.output, "exit=0"), 1) << r.output.substr(0, 4000);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(out)) files.push_back(entry.path().filename().string());
  EXPECT_EQ(files, std::vector<std::string>{"x.mp4"});
  fs::remove_all(out);
}

}  // namespace
