// write_safetensors round-trips through the reader and never leaves a partial file behind.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "io/checkpoint.h"
#include "io/safetensors_writer.h"

namespace uspdit::io {
namespace {
namespace fs = std::filesystem;

TEST(SafetensorsWriter, RoundTripsNamesShapesDtypesAndValues) {
  const fs::path dir = fs::temp_directory_path() / ("uspdit_writer_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto path = (dir / "out.safetensors").string();
  auto a = at::arange(12, at::kFloat).view({3, 4});
  auto b = at::arange(5, at::kLong).to(at::kBFloat16);
  auto c = at::arange(6, at::kFloat).view({2, 3}).t();  // non-contiguous
  write_safetensors(path, {{"a", a}, {"b \"quoted\"", b}, {"c", c}});
  auto src = open_checkpoint(path);
  ASSERT_EQ(src->names(), (std::vector<std::string>{"a", "b \"quoted\"", "c"}));
  EXPECT_TRUE(at::equal(src->load("a"), a));
  EXPECT_EQ(src->info("b \"quoted\"").dtype, at::kBFloat16);
  EXPECT_TRUE(at::equal(src->load("b \"quoted\""), b));
  EXPECT_TRUE(at::equal(src->load("c"), c.contiguous()));
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename(), "out.safetensors") << "left behind: " << entry.path();
  }
  fs::remove_all(dir);
}

TEST(SafetensorsWriter, UnwritableDirectoryFailsWithoutAPartialFile) {
  EXPECT_THROW(write_safetensors("/nonexistent-dir/out.safetensors", {{"a", at::zeros({2})}}), std::runtime_error);
  EXPECT_FALSE(fs::exists("/nonexistent-dir"));
}

}  // namespace
}  // namespace uspdit::io
