// The Wan DiT against diffusers' WanTransformer3DModel on the committed fixtures
// (tools/make_wan_fixtures.py): both checkpoint layouts, a sharded checkpoint, batch 2.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "io/checkpoint.h"
#include "models/wan/wan_loader.h"
#include "models/wan/wan_model.h"
#include "device_under_test.h"

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
  WanModel model(ckpt.config, load_wan_weights(*source, ckpt.config, dtype, testing::device_under_test()));
  auto inputs = io::open_checkpoint(kData + c.fixture + "/" + c.inputs);
  WanInputs in{testing::on_device(inputs->load("hidden_states", at::kFloat)),
               testing::on_device(inputs->load("timestep", at::kFloat)),
               testing::on_device(inputs->load("encoder_hidden_states", at::kFloat))};
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  auto out = model.forward(mesh, in).cpu();
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

namespace uspdit::models::wan {
namespace {

// `uspdit forward` itself, on 2 ranks (Ulysses 2; and Ring 2 on the 1-head fixture), through
// both layouts: the output file equals diffusers' reference.
TEST(WanConformance, ForwardCommandOnTwoRanks) {
  struct Run {
    const char* fixture;
    const char* layout;
    const char* degrees;
  };
  for (const Run& run : {Run{"tiny", "diffusers", "--ulysses-degree 2"}, Run{"tiny", "original", "--ring-degree 2"},
                         Run{"rope128", "original", "--ring_degree 2"}}) {
    const std::string out = "/tmp/uspdit_fwd_" + std::to_string(::getpid()) + ".safetensors";
    const std::string cmd = std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 ") +
                            "mpirun --oversubscribe --bind-to none -np 2 " USPDIT_BINARY " forward --ckpt-dir " +
                            kData + run.fixture + "/" + run.layout + " --inputs " + kData + run.fixture +
                            "/inputs.safetensors --output " + out + " --threads 1 " + run.degrees + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto got = io::open_checkpoint(out)->load("sample", at::kFloat);
    auto expected = io::open_checkpoint(kData + run.fixture + "/outputs.safetensors")->load("sample", at::kFloat);
    EXPECT_LE((got - expected).abs().max().item<double>(), 1e-4) << run.fixture << " " << run.degrees;
    std::remove(out.c_str());
  }
}

}  // namespace
}  // namespace uspdit::models::wan
