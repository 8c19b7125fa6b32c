// The HunyuanVideo DiT against diffusers' HunyuanVideoTransformer3DModel on the committed
// fixtures (tools/make_hunyuan_fixtures.py): both layouts, EMA weights, the fp8 release format,
// batch 2 with different text lengths, and `uspdit forward` on 2 ranks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "io/checkpoint.h"
#include "models/hunyuan_video/hv_loader.h"
#include "models/hunyuan_video/hv_model.h"
#include "device_under_test.h"

namespace uspdit::models::hunyuan_video {
namespace {

const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/hunyuan/";

struct Case {
  std::string weights;  // relative to kData
  std::string inputs, outputs;
  std::string key = "module";
};

double max_error(const Case& c, at::ScalarType dtype = at::kFloat, const std::string& strategy = "auto") {
  auto ckpt = locate_hv_checkpoint(kData + c.weights);
  HvModel model(ckpt.config, load_hv_weights(ckpt, ckpt.config, dtype, testing::device_under_test(), c.key));
  auto in = io::open_checkpoint(kData + c.inputs);
  const auto load = [&](const char* name) { return testing::on_device(in->load(name, at::kFloat)); };
  HvInputs x{load("hidden_states"),         load("timestep"),           load("encoder_hidden_states"),
             load("encoder_attention_mask"), load("pooled_projections"), load("guidance")};
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  auto out = model.forward(mesh, x, strategy).cpu();
  auto expected = io::open_checkpoint(kData + c.outputs)->load("sample", at::kFloat);
  EXPECT_EQ(out.sizes(), expected.sizes());
  return (out - expected).abs().max().item<double>();
}

TEST(HvConformance, MatchesDiffusersFp32) {
  for (const Case& c : {Case{"tiny/original", "tiny/inputs.safetensors", "tiny/outputs.safetensors"},
                        Case{"tiny/diffusers", "tiny/inputs.safetensors", "tiny/outputs.safetensors"},
                        Case{"real_like/original", "real_like/inputs.safetensors", "real_like/outputs.safetensors"},
                        Case{"real_like/diffusers", "real_like/inputs.safetensors", "real_like/outputs.safetensors"},
                        Case{"real_like/diffusers", "real_like/inputs_b2.safetensors", "real_like/outputs_b2.safetensors"}}) {
    EXPECT_LE(max_error(c), 1e-4) << c.weights << " " << c.inputs;
  }
}

TEST(HvConformance, EmaAndFp8Checkpoints) {
  EXPECT_LE(max_error({"tiny/original/ema_module.pt", "tiny/inputs.safetensors", "tiny/outputs_ema.safetensors", "ema"}),
            1e-4);
  EXPECT_LE(max_error({"tiny/original/mp_rank_00_model_states_fp8.pt", "tiny/inputs.safetensors",
                       "tiny/outputs_fp8.safetensors"}),
            1e-4);
  // The EMA output differs from the module's: the key really selects other weights.
  EXPECT_GT(max_error({"tiny/original/ema_module.pt", "tiny/inputs.safetensors", "tiny/outputs.safetensors", "ema"}),
            1e-2);
}

TEST(HvConformance, EveryJointStrategyOnOneRank) {
  for (const char* strategy : {"split", "front", "rear"}) {
    EXPECT_LE(max_error({"real_like/diffusers", "real_like/inputs_b2.safetensors", "real_like/outputs_b2.safetensors"},
                        at::kFloat, strategy),
              1e-4)
        << strategy;
  }
}

TEST(HvConformance, Bf16StaysClose) {
  const double err = max_error({"real_like/diffusers", "real_like/inputs.safetensors", "real_like/outputs.safetensors"},
                               at::kBFloat16);
  std::printf("real_like bf16 max abs error vs fp32 reference: %.4g\n", err);
  EXPECT_LE(err, 0.06);
}

TEST(HvConformance, ForwardCommandOnTwoRanks) {
  struct Run {
    const char* fixture;
    const char* layout;
    const char* inputs;
    const char* outputs;
    const char* flags;
  };
  for (const Run& run : {Run{"tiny", "diffusers", "inputs", "outputs", "--ulysses-degree 2"},
                         Run{"tiny", "original", "inputs", "outputs", "--ring-degree 2 --joint-strategy rear"},
                         Run{"real_like", "original", "inputs_b2", "outputs_b2", "--ring_degree 2"}}) {
    const std::string out = "/tmp/uspdit_hvfwd_" + std::to_string(::getpid()) + ".safetensors";
    const std::string cmd = std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 ") +
                            "mpirun --oversubscribe --bind-to none -np 2 " USPDIT_BINARY " forward --ckpt-dir " +
                            kData + run.fixture + "/" + run.layout + " --inputs " + kData + run.fixture + "/" +
                            run.inputs + ".safetensors --output " + out + " --threads 1 " + run.flags +
                            " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto got = io::open_checkpoint(out)->load("sample", at::kFloat);
    auto expected =
        io::open_checkpoint(kData + run.fixture + "/" + run.outputs + ".safetensors")->load("sample", at::kFloat);
    EXPECT_LE((got - expected).abs().max().item<double>(), 1e-4) << run.fixture << " " << run.flags;
    std::remove(out.c_str());
  }
}

}  // namespace
}  // namespace uspdit::models::hunyuan_video
