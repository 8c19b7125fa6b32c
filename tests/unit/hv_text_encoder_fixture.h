// Shared by the HunyuanVideo text encoder tests: the committed fixtures
// (tools/make_hv_text_encoder_fixtures.py), a scratch folder, and catching one-line UsageErrors.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"

namespace uspdit::testing {

inline const std::string kHvTextData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/hv_text_encoders/";

// A tensor of outputs.safetensors, as stored.
inline at::Tensor hv_text_reference(const std::string& name) {
  return io::open_checkpoint(kHvTextData + "outputs.safetensors")->load(name);
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.cpu().to(at::kFloat) - b.cpu().to(at::kFloat)).abs().max().item<double>();
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// `text` with its only occurrence of `from` replaced (fails the test when there is none).
inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// A per-test scratch folder holding a copy of one fixture folder.
class ScratchCopy {
 public:
  explicit ScratchCopy(const std::string& fixture) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = std::filesystem::temp_directory_path() /
            ("uspdit_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    dir_ = root_ / fixture;
    std::filesystem::copy(kHvTextData + fixture, dir_);
  }
  ~ScratchCopy() { std::filesystem::remove_all(root_); }
  const std::filesystem::path& dir() const { return dir_; }
  std::string path() const { return dir_.string(); }

 private:
  std::filesystem::path root_, dir_;
};

// The message of the UsageError `fn` throws (one line), or a test failure when it throws none.
inline std::string usage_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  ADD_FAILURE() << "no UsageError";
  return "";
}

}  // namespace uspdit::testing
