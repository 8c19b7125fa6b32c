// Shared by the HunyuanVideo text-to-video tests: the committed tiny pipeline in both layouts
// (tests/data/hv_t2v, tools/make_hv_t2v_fixtures.py), opened and checked as generate does.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "models/hunyuan_video/hv_loader.h"
#include "pipeline/hv_t2v_files.h"
#include "pipeline/hv_t2v_request.h"

namespace uspdit::testing {

inline const std::string kHvT2vFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/hv_t2v";

// Largest |a − b| in double; a shape mismatch fails the test and reads as huge.
inline double hv_max_abs(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e9;
  return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

struct HvT2vFixture {
  pipeline::HvT2vFiles files;
  models::hunyuan_video::HvConfig dit;
  pipeline::HvT2vLoadSettings load;
};

// `folder` under tests/data/hv_t2v ("original", "diffusers", "diffusers_shift3"), every stage fp32.
inline HvT2vFixture open_hv_t2v_fixture(const std::string& folder) {
  HvT2vFixture f;
  f.load.model_base = kHvT2vFixture + "/" + folder;
  f.load.precision = f.load.vae_precision = f.load.text_encoder_precision = "fp32";
  f.files = pipeline::locate_hv_t2v_files(f.load);
  f.dit = models::hunyuan_video::locate_hv_checkpoint(f.files.dit).config;
  pipeline::check_hv_t2v_files(f.files, f.dit);
  return f;
}

// The VAE's [-1, 1] output of batch 0 as the references store frames: (x / 2 + 0.5).clamp(0, 1).
inline at::Tensor hv_frames01(const at::Tensor& video) {
  return (video[0] / 2 + 0.5).clamp(0, 1);
}

}  // namespace uspdit::testing
