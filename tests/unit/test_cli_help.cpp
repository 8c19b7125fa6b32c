// `uspdit --version` and `uspdit <command> --help`: every command has a help listing its flags
// with meaning and default, and a flag a command reads but its help does not list fails every
// run of that command (Args::finish), so each path below reaching finish() proves its table.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct HelpRun {
  std::string output;
  int status = -1;
};

HelpRun run_uspdit(const std::string& args) {
  HelpRun r;
  FILE* pipe = popen(("timeout 60 " USPDIT_BINARY " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  while (pipe && fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int raw = pipe ? pclose(pipe) : -1;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

const char* const kCommands[] = {"generate", "forward", "plan", "check", "bench-attn", "bench dit"};

TEST(CliHelp, VersionNamesTheLibraries) {
  const HelpRun r = run_uspdit("--version");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("uspdit "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("libtorch "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("MPI: Open MPI v"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CUDA"), std::string::npos) << r.output;
}

TEST(CliHelp, EveryCommandHasOneWithDefaultsAndAliases) {
  for (const char* command : kCommands) {
    const HelpRun r = run_uspdit(std::string(command) + " --help");
    EXPECT_EQ(r.status, 0) << command << "\n" << r.output;
    EXPECT_EQ(r.output.rfind("usage: ", 0), 0u) << command << "\n" << r.output;
    EXPECT_NE(r.output.find("default: "), std::string::npos) << command << "\n" << r.output;
  }
  EXPECT_EQ(run_uspdit("plan -h").status, 0);
  // --help wins over whatever else is on the line, even flags that would be refused.
  const HelpRun generate = run_uspdit("generate --fps nope --help --bogus");
  EXPECT_EQ(generate.status, 0) << generate.output;
  for (const char* line :
       {"--ulysses-degree U   (also --ulysses-size)", "--sample-steps N   (also --num-inference-steps)",
        "--video-size H W", "default: 1280*720", "HunyuanVideo (sample_video.py names):"}) {
    EXPECT_NE(generate.output.find(line), std::string::npos) << line << "\n" << generate.output;
  }
}

// Each command run far enough to read all its flags (and then refused, or quick): a flag read
// without a help line would fail here with "does not list it".
TEST(CliHelp, EveryFlagACommandReadsIsInItsHelp) {
  const std::string data = USPDIT_SOURCE_DIR "/tests/data";
  const struct {
    std::string args;
    int status;
  } runs[] = {
      {"generate --ckpt_dir " + data + "/wan_t2v/original --prompt x --size 64*48 --frame_num 5 --fps 0", 2},
      {"generate --model-base " + data +
           "/hv_t2v/original --prompt x --video-size 64 64 --video-length 5 --fps 0",
       2},
      {"forward --ckpt-dir " + data + "/wan/tiny/original --inputs nowhere.safetensors", 2},
      {"plan --model wan2.1-t2v-1.3b --json", 0},
      {"bench-attn --seq-len 8 --heads 2 --head-dim 4 --iters 1 --warmup 0", 0},
      {"bench dit --layers 1 --height 16 --width 16 --num-frames 1 --text-len 4 --iters 1 --warmup 0", 0},
      {"check --iters 1 --bytes 1024", 0},
  };
  for (const auto& run : runs) {
    const HelpRun r = run_uspdit(run.args);
    EXPECT_EQ(r.status, run.status) << run.args << "\n" << r.output;
    EXPECT_EQ(r.output.find("does not list"), std::string::npos) << run.args << "\n" << r.output;
  }
}

TEST(CliHelp, AnUnknownFlagGetsTheNearestKnownOne) {
  const struct {
    const char* args;
    const char* suggestion;
  } cases[] = {
      {"plan --model wan2.1 --nodse 2", "did you mean --nodes?"},
      {"plan --model wan2.1 --gpus_per_nod 4", "did you mean --gpus-per-node?"},
      {"bench-attn --ulysses-degre 2", "did you mean --ulysses-degree?"},
      {"bench-attn --seq 8", "did you mean --seq-len?"},
      {"bench-attn --sequence-length 2", "`uspdit bench-attn --help` lists the flags"},
  };
  for (const auto& c : cases) {
    const HelpRun r = run_uspdit(c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.suggestion), std::string::npos) << c.args << "\n" << r.output;
  }
}

}  // namespace
