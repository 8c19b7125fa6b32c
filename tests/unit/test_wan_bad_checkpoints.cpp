// Broken Wan checkpoints are refused by `uspdit forward` with exit code 2 and one line naming
// the file and the tensor: missing, unexpected, wrong shape, wrong dtype, and the file-level
// faults (truncated, corrupt header, missing shard).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/checkpoint.h"
#include "io/safetensors_writer.h"

namespace {
namespace fs = std::filesystem;

const fs::path kTiny = fs::path(USPDIT_SOURCE_DIR) / "tests/data/wan/tiny";

struct Result {
  int status;
  std::string output;
};

Result forward(const fs::path& ckpt) {
  std::string cmd = std::string(USPDIT_BINARY) + " forward --ckpt-dir " + ckpt.string() + " --inputs " +
                    (kTiny / "inputs.safetensors").string() + " --output " + (ckpt / "out.safetensors").string() +
                    " 2>&1";
  Result r{-1, ""};
  FILE* pipe = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  while (pipe && fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  int raw = pipe ? pclose(pipe) : -1;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

class WanBadCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("uspdit_badckpt_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy_file(kTiny / "original/config.json", dir_ / "config.json");
    auto source = uspdit::io::open_checkpoint((kTiny / "original").string());
    for (const auto& name : source->names()) tensors_.emplace_back(name, source->load(name));
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write() { uspdit::io::write_safetensors((dir_ / "diffusion_pytorch_model.safetensors").string(), tensors_); }
  at::Tensor& tensor(const std::string& name) {
    for (auto& [n, t] : tensors_)
      if (n == name) return t;
    throw std::logic_error(name);
  }
  void expect_refused(const std::string& needle) {
    auto r = forward(dir_);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "out.safetensors")) << "no output may be written";
  }

  fs::path dir_;
  std::vector<std::pair<std::string, at::Tensor>> tensors_;
};

TEST_F(WanBadCheckpoint, IntactCopyWorks) {
  write();
  auto r = forward(dir_);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "out.safetensors"));
}

TEST_F(WanBadCheckpoint, MissingTensor) {
  tensors_.erase(tensors_.begin() + 5);
  write();
  expect_refused("missing tensor");
}

TEST_F(WanBadCheckpoint, UnexpectedTensor) {
  tensors_.emplace_back("blocks.7.self_attn.q.weight", at::zeros({24, 24}));
  write();
  expect_refused("unexpected tensor 'blocks.7.self_attn.q.weight'");
}

TEST_F(WanBadCheckpoint, WrongShape) {
  tensor("blocks.1.ffn.0.weight") = at::zeros({31, 24});
  write();
  expect_refused("tensor 'blocks.1.ffn.0.weight' has shape [31, 24], expected [32, 24]");
}

TEST_F(WanBadCheckpoint, WrongDtype) {
  tensor("head.head.bias") = at::zeros({16}, at::kLong);
  write();
  expect_refused("tensor 'head.head.bias' is int64");
}

TEST_F(WanBadCheckpoint, TruncatedFile) {
  write();
  const auto file = dir_ / "diffusion_pytorch_model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 100);
  expect_refused("diffusion_pytorch_model.safetensors");
}

TEST_F(WanBadCheckpoint, CorruptHeader) {
  write();
  std::fstream f(dir_ / "diffusion_pytorch_model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(8);
  f.write("XXXX", 4);  // the JSON header now starts with garbage
  f.close();
  expect_refused("diffusion_pytorch_model.safetensors");
}

TEST_F(WanBadCheckpoint, MissingShard) {
  for (const auto& entry : fs::directory_iterator(kTiny / "original_sharded")) {
    fs::copy_file(entry.path(), dir_ / entry.path().filename(), fs::copy_options::overwrite_existing);
  }
  fs::remove(dir_ / "diffusion_pytorch_model-00002-of-00002.safetensors");
  expect_refused("diffusion_pytorch_model-00002-of-00002.safetensors");
}

}  // namespace
