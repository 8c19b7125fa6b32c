// The Wan DiT against diffusers' WanTransformer3DModel on the committed fixtures
// (tools/make_wan_fixtures.py): both checkpoint layouts, a sharded checkpoint, batch 2.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dist/mesh.h"
#include "dist/self_communicator.h"
#include "io/checkpoint.h"
#include "models/wan/wan_loader.h"
#include "models/wan/wan_model.h"

namespace uspdit::models::wan {
namespace {

const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan/";

struct Case {
  const char* fixture;
  const char* layout;
  const char* inputs;
  const char* outputs;
};

double max_error(const Case& c, at::ScalarType dtype) {
  auto ckpt = locate_wan_checkpoint(kData + c.fixture + "/" + c.layout);
  auto source = io::open_checkpoint(ckpt.weights_dir);
  WanModel model(ckpt.config, load_wan_weights(*source, ckpt.config, dtype));
  auto inputs = io::open_checkpoint(kData + c.fixture + "/" + c.inputs);
  WanInputs in{inputs->load("hidden_states", at::kFloat), inputs->load("timestep", at::kFloat),
               inputs->load("encoder_hidden_states", at::kFloat)};
  dist::SelfCommunicator self;
  dist::ProcessMesh mesh(self, {1, 1, 1});
  auto out = model.forward(mesh, in);
  auto expected = io::open_checkpoint(kData + c.fixture + "/" + c.outputs)->load("sample", at::kFloat);
  EXPECT_EQ(out.sizes(), expected.sizes());
  return (out - expected).abs().max().item<double>();
}

TEST(WanConformance, MatchesDiffusersFp32) {
  for (const Case& c : {Case{"tiny", "original", "inputs.safetensors", "outputs.safetensors"},
                        Case{"tiny", "diffusers", "inputs.safetensors", "outputs.safetensors"},
                        Case{"tiny", "original_sharded", "inputs.safetensors", "outputs.safetensors"},
                        Case{"rope128", "original", "inputs.safetensors", "outputs.safetensors"},
                        Case{"rope128", "diffusers", "inputs.safetensors", "outputs.safetensors"},
                        Case{"rope128", "diffusers", "inputs_b2.safetensors", "outputs_b2.safetensors"}}) {
    EXPECT_LE(max_error(c, at::kFloat), 1e-4) << c.fixture << " " << c.layout << " " << c.inputs;
  }
}

TEST(WanConformance, Bf16StaysClose) {
  // bf16 matmuls against an fp32 reference: the error is bf16's (8-bit mantissa) over two
  // layers, not a wiring mistake, which would be O(1).
  const double err = max_error({"rope128", "diffusers", "inputs.safetensors", "outputs.safetensors"}, at::kBFloat16);
  EXPECT_LE(err, 0.06);
  std::printf("rope128 bf16 max abs error vs fp32 reference: %.4g\n", err);
}

}  // namespace
}  // namespace uspdit::models::wan
